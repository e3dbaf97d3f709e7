//! Free text as codflow accepts it: one rule on both engines (PostgreSQL cannot store NUL at all, SQLite
//! stores it and breaks every reader after), applied where text enters the domain. The limits are listed
//! in docs/SECURITY.md.

use time::{Date, Month, OffsetDateTime};

use crate::Error;

/// Maximum length in characters of each kind of field.
pub mod max {
    pub const NAME: usize = 200;
    pub const ADDRESS_LINE: usize = 300;
    pub const CITY: usize = 120;
    pub const REGION: usize = 120;
    pub const POSTAL_CODE: usize = 20;
    pub const EMAIL: usize = 254;
    pub const EXTERNAL_ID: usize = 128;
    /// A reason, note or comment someone types.
    pub const NOTE: usize = 2_000;
}

/// Bytes as lower-case hexadecimal, two digits each: token hashes, signatures, secrets. Written digit by
/// digit (a `format!` per byte cost the API's token check more than its SHA-256).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Whether a character may stand in one-line text: no C0/C1 control character (tab included), no
/// Unicode line or paragraph separator.
fn bad_in_line(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// Multi-line text (notes, addresses typed into a box) may also hold tabs and line breaks.
fn bad_in_block(c: char) -> bool {
    bad_in_line(c) && !matches!(c, '\t' | '\n' | '\r')
}

fn check(s: &str, max: usize, bad: fn(char) -> bool) -> Result<(), Error> {
    if let Some((i, c)) = s.chars().enumerate().find(|(_, c)| bad(*c)) {
        return Err(Error::invalid(
            "text",
            format!("holds the control character U+{:04X} at character {}", c as u32, i + 1),
        ));
    }
    let n = s.chars().count();
    if n > max {
        return Err(Error::invalid("text", format!("is longer than {max} characters ({n})")));
    }
    Ok(())
}

/// One-line text of at most `max` characters, without control characters.
pub fn line(s: &str, max: usize) -> Result<(), Error> {
    check(s, max, bad_in_line)
}

/// Text of at most `max` characters that may hold tabs and line breaks but no other control character.
pub fn block(s: &str, max: usize) -> Result<(), Error> {
    check(s, max, bad_in_block)
}

/// Text from a platform known to send stray control characters (shops' address fields pasted from other
/// programs): the control characters become spaces and runs of spaces one, so the order still arrives.
pub fn cleaned(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        let c = if bad_in_line(c) { ' ' } else { c };
        if c == ' ' {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// The first year a date codflow takes may fall in, and the last.
pub const FIRST_YEAR: i32 = 2000;
pub const LAST_YEAR: i32 = 2100;

/// A business date (an order placed, a rate's day, a statement's line) between 2000 and 2100.
pub fn date(d: Date) -> Result<Date, Error> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&d.year()) {
        Ok(d)
    } else {
        Err(Error::invalid("date", format!("{d} is not between {FIRST_YEAR} and {LAST_YEAR}")))
    }
}

/// A business time, by the same range as [`date`].
pub fn time(t: OffsetDateTime) -> Result<OffsetDateTime, Error> {
    date(t.date()).map(|_| t)
}

/// The earliest date taken, for filters that need a floor.
pub fn first_date() -> Date {
    Date::from_calendar_date(FIRST_YEAR, Month::January, 1).unwrap_or(Date::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_writes_every_byte_as_two_lower_case_digits() {
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&all), expected);
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x0f, 0xa0]), "0fa0");
    }

    #[test]
    fn nul_and_other_control_characters_are_refused_with_where_they_are() {
        let e = line("ab\0c", 10).unwrap_err().to_string();
        assert!(e.contains("U+0000") && e.contains("character 3"), "{e}");
        assert!(line("a\tb", 10).is_err());
        assert!(line("a\u{2028}b", 10).is_err());
        assert!(line("a\u{85}b", 10).is_err(), "C1 controls too");
        assert!(block("a\tb\r\nc", 10).is_ok());
        assert!(block("a\u{1b}b", 10).is_err());
        assert!(line("مرحبا 你好 é", 12).is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(line(&"ب".repeat(200), max::NAME).is_ok());
        let e = line(&"ب".repeat(201), max::NAME).unwrap_err().to_string();
        assert!(e.contains("longer than 200"), "{e}");
    }

    #[test]
    fn platform_text_is_cleaned_to_one_spaced_line() {
        assert_eq!(cleaned("King\0 Fahd\r\n\tRoad\u{7}"), "King Fahd Road ");
        assert!(line(&cleaned("x\0\u{1}\u{9f}y"), 10).is_ok());
    }

    #[test]
    fn dates_outside_the_business_range_are_refused() {
        use time::macros::date;
        assert!(date(date!(0000 - 01 - 01)).is_err());
        assert!(date(date!(1999 - 12 - 31)).is_err());
        assert!(date(date!(2101 - 01 - 01)).is_err());
        assert!(date(date!(2026 - 12 - 05)).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn cleaned_text_always_passes_as_a_line(s in "\\PC*|[\\x00-\\x1f\\x7f-\\x9f a-z]{0,50}") {
            let c = cleaned(&s);
            proptest::prop_assert!(line(&c, usize::MAX).is_ok());
        }
    }
}
