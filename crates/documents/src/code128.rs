//! Code 128 (ISO/IEC 15417) symbols for tracking numbers: code set B for text, switching to code set C for
//! runs of digits, which halves their width (a typical tracking number has nine or more digits in a row).

use thiserror::Error;

/// Bar and space widths in modules of every symbol value, bar first; 103–105 are Start A/B/C, 106 is Stop
/// (which has a final 2-module bar). ISO/IEC 15417 table 1.
pub const PATTERNS: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213", "221312",
    "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132", "221231", "213212",
    "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211", "212123", "212321", "232121",
    "111323", "131123", "131321", "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331",
    "132131", "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131", "311123",
    "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111", "111224", "111422", "121124",
    "121421", "141122", "141221", "112214", "112412", "122114", "122411", "142112", "142211", "241211", "221114",
    "413111", "241112", "134111", "111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112",
    "421211", "212141", "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];

pub const START_B: u8 = 104;
pub const START_C: u8 = 105;
pub const STOP: u8 = 106;
/// In code set B this switches to C; in C it switches to B.
pub const CODE_C: u8 = 99;
pub const CODE_B: u8 = 100;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum Code128Error {
    #[error("nothing to encode")]
    Empty,
    #[error("character {0:?} at position {1} is not printable ASCII")]
    Unsupported(char, usize),
    #[error("{0} characters is longer than a label barcode can carry (at most 48)")]
    TooLong(usize),
}

/// Run length of ASCII digits starting at `i`.
fn digits_from(b: &[u8], i: usize) -> usize {
    b[i..].iter().take_while(|c| c.is_ascii_digit()).count()
}

/// The symbol values, start to check character (the stop symbol is not included).
pub fn symbols(data: &str) -> Result<Vec<u8>, Code128Error> {
    if data.is_empty() {
        return Err(Code128Error::Empty);
    }
    if let Some((i, c)) = data.chars().enumerate().find(|(_, c)| !(' '..='~').contains(c)) {
        return Err(Code128Error::Unsupported(c, i));
    }
    if data.len() > 48 {
        return Err(Code128Error::TooLong(data.len()));
    }
    let b = data.as_bytes();
    let mut out = Vec::with_capacity(b.len() + 4);
    // Code set C pays off for four or more digits at the start or end, six or more in the middle.
    let mut in_c = digits_from(b, 0) >= 4;
    out.push(if in_c { START_C } else { START_B });
    let mut i = 0;
    while i < b.len() {
        let run = digits_from(b, i);
        if in_c {
            if run >= 2 {
                out.push((b[i] - b'0') * 10 + (b[i + 1] - b'0'));
                i += 2;
                continue;
            }
            out.push(CODE_B);
            in_c = false;
        }
        let worth_c = if i + run == b.len() { run >= 4 } else { run >= 6 };
        if worth_c {
            // An odd run puts its first digit in B so that the rest pairs up.
            if run % 2 == 1 {
                out.push(b[i] - b' ');
                i += 1;
            }
            out.push(CODE_C);
            in_c = true;
            continue;
        }
        out.push(b[i] - b' ');
        i += 1;
    }
    let check = out.iter().enumerate().map(|(pos, &v)| v as u32 * (pos.max(1) as u32)).sum::<u32>() % 103;
    out.push(check as u8);
    Ok(out)
}

/// Bar/space widths in modules, bar first, including the stop symbol but not the quiet zones
/// (ten modules each side, which the caller leaves blank).
pub fn widths(data: &str) -> Result<Vec<u8>, Code128Error> {
    let mut syms = symbols(data)?;
    syms.push(STOP);
    Ok(syms.iter().flat_map(|&s| PATTERNS[s as usize].bytes().map(|w| w - b'0')).collect())
}

/// Reads symbols back from widths, checking the check character; what a scanner does. Tests use it on
/// bars recovered from rendered documents.
pub fn decode(widths: &[u8]) -> Option<String> {
    if widths.len() < 13 + 6 * 2 || !(widths.len() - 7).is_multiple_of(6) {
        return None;
    }
    let (body, stop) = widths.split_at(widths.len() - 7);
    if stop.iter().map(|w| (b'0' + w) as char).collect::<String>() != PATTERNS[STOP as usize] {
        return None;
    }
    let values: Vec<u8> = body
        .chunks(6)
        .map(|c| {
            let s: String = c.iter().map(|w| (b'0' + w) as char).collect();
            PATTERNS[..106].iter().position(|p| *p == s).map(|v| v as u8)
        })
        .collect::<Option<_>>()?;
    let (data, check) = values.split_at(values.len() - 1);
    let sum = data.iter().enumerate().map(|(pos, &v)| v as u32 * (pos.max(1) as u32)).sum::<u32>() % 103;
    if sum != check[0] as u32 {
        return None;
    }
    let mut in_c = match data[0] {
        START_B => false,
        START_C => true,
        _ => return None,
    };
    let mut s = String::new();
    for &v in &data[1..] {
        match (in_c, v) {
            (false, CODE_C) => in_c = true,
            (true, CODE_B) => in_c = false,
            (true, v) if v < 100 => s.push_str(&format!("{v:02}")),
            (false, v) if v < 95 => s.push((v + b' ') as char),
            _ => return None,
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use barcoders::sym::code128::Code128;
    use proptest::prelude::*;

    /// barcoders spells code sets as a leading character: Ɓ for B, Ć for C.
    fn reference_modules(syms: &[u8], data: &str) -> Vec<u8> {
        let mut spec = String::new();
        let b = data.as_bytes();
        let mut i = 0;
        let mut in_c = syms[0] == START_C;
        spec.push(if in_c { 'Ć' } else { 'Ɓ' });
        for &v in &syms[1..syms.len() - 1] {
            match (in_c, v) {
                (false, CODE_C) => {
                    spec.push('Ć');
                    in_c = true;
                }
                (true, CODE_B) => {
                    spec.push('Ɓ');
                    in_c = false;
                }
                (true, _) => {
                    spec.push_str(&data[i..i + 2]);
                    i += 2;
                }
                (false, _) => {
                    spec.push(b[i] as char);
                    i += 1;
                }
            }
        }
        Code128::new(&spec).unwrap().encode()
    }

    fn modules(widths: &[u8]) -> Vec<u8> {
        widths.iter().enumerate().flat_map(|(i, &w)| std::iter::repeat_n(u8::from(i % 2 == 0), w as usize)).collect()
    }

    #[test]
    fn every_pattern_is_eleven_modules_with_an_even_bar_total_and_all_differ() {
        for (v, p) in PATTERNS[..106].iter().enumerate() {
            let w: Vec<u32> = p.bytes().map(|b| (b - b'0') as u32).collect();
            assert_eq!(w.iter().sum::<u32>(), 11, "value {v}");
            assert_eq!((w[0] + w[2] + w[4]) % 2, 0, "value {v}");
        }
        let mut sorted = PATTERNS.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 107);
    }

    #[test]
    fn a_tracking_number_uses_code_set_c_for_its_digit_run() {
        let s = symbols("SB000000017CN").unwrap();
        assert_eq!(s[0], START_B);
        assert!(s.contains(&CODE_C) && s.contains(&CODE_B), "{s:?}");
        assert_eq!(s.len(), 13, "start, S, B, 0, C, four pairs, B, C, N, check");
        assert_eq!(symbols("1234567890").unwrap()[0], START_C);
    }

    #[test]
    fn bad_input_is_refused_with_the_position() {
        assert_eq!(symbols(""), Err(Code128Error::Empty));
        assert_eq!(symbols("AB\u{e9}"), Err(Code128Error::Unsupported('\u{e9}', 2)));
        assert!(matches!(symbols(&"9".repeat(49)), Err(Code128Error::TooLong(49))));
    }

    proptest! {
        #[test]
        fn our_modules_match_an_independent_encoder_and_decode_back(data in "[ -~]{1,40}") {
            let syms = symbols(&data).unwrap();
            let w = widths(&data).unwrap();
            prop_assert_eq!(modules(&w), reference_modules(&syms, &data));
            prop_assert_eq!(decode(&w), Some(data));
        }

        #[test]
        fn digit_heavy_data_round_trips(data in "[A-Z]{0,3}[0-9]{0,14}[A-Z]{0,3}[0-9]{0,5}") {
            prop_assume!(!data.is_empty());
            let w = widths(&data).unwrap();
            prop_assert_eq!(decode(&w), Some(data));
        }

        #[test]
        fn a_damaged_symbol_is_not_misread(data in "[A-Z0-9]{4,20}", at in 0usize..200, by in 1u8..3) {
            let mut w = widths(&data).unwrap();
            let at = at % w.len();
            w[at] = if w[at] + by <= 4 { w[at] + by } else { w[at] - by };
            if let Some(read) = decode(&w) {
                prop_assert_eq!(read, data);
            }
        }
    }
}
