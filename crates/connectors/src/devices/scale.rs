//! Serial scales. Two protocols, as their makers describe them:
//!
//! - **MT-SICS** (Mettler Toledo Standard Interface Command Set, level 0): the host sends `SI` (weight now)
//!   or `S` (next stable weight) ending in CR LF; the scale answers one line `S S <value> <unit>` (stable) or
//!   `S D <value> <unit>` (still moving), `S I` (busy), `S +` / `S -` (over / under range), or `ES`, `ET`,
//!   `EL` (syntax, transmission, logic error). Default line: 9600 baud, 8 data bits, no parity.
//! - **NCI SCP-12** (also NCI 3825/3835, used by Brecknell/Avery Weigh-Tronix POS scales): the host sends `W`
//!   CR; the scale answers `LF <weight><unit> CR [LF] <s1><s2> CR ETX`, or `LF <s1><s2> CR ETX` when it has no
//!   weight to give, or `LF ? CR` for a command it does not know. The two status characters carry flags in
//!   their low four bits: first — in motion, at zero, RAM error, EEPROM error; second — under capacity, over
//!   capacity, ROM error, calibration error. Default line: 9600 baud, 7 data bits, even parity.
//!
//! Weights are turned into whole grams (half up) without floating point. Every parser takes bounded input and
//! answers an error, never a panic, whatever bytes arrive.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// What a scale said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleReading {
    pub grams: i64,
    /// False while the weight is still moving.
    pub stable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    #[error("the scale is busy; try again")]
    Busy,
    #[error("the load is over the scale's range")]
    Overload,
    #[error("the reading is under the scale's range: zero the scale")]
    Underload,
    #[error("the scale refused the command ({0})")]
    Refused(&'static str),
    #[error("the scale reports a fault: {0}")]
    Fault(&'static str),
    #[error("not a reading: {0}")]
    Unreadable(String),
}

/// The protocols a bridge can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    MtSics,
    Scp12,
}

impl Protocol {
    pub fn parse(s: &str) -> Option<Protocol> {
        match s {
            "mt-sics" => Some(Protocol::MtSics),
            "scp-12" => Some(Protocol::Scp12),
            _ => None,
        }
    }

    /// The request for the current weight.
    pub fn request(&self) -> &'static [u8] {
        match self {
            Protocol::MtSics => b"SI\r\n",
            Protocol::Scp12 => b"W\r",
        }
    }

    /// The byte that ends one reply.
    pub fn terminator(&self) -> u8 {
        match self {
            Protocol::MtSics => b'\n',
            Protocol::Scp12 => 0x03,
        }
    }

    pub fn parse_reply(&self, frame: &[u8]) -> Result<ScaleReading, ScaleError> {
        match self {
            Protocol::MtSics => parse_mt_sics(frame),
            Protocol::Scp12 => parse_scp12(frame),
        }
    }
}

/// The longest reply either protocol sends; anything longer is noise on the line.
pub const MAX_FRAME: usize = 64;

fn unreadable(frame: &[u8]) -> ScaleError {
    let shown: String = String::from_utf8_lossy(&frame[..frame.len().min(MAX_FRAME)])
        .chars()
        .map(|c| if c.is_control() { '·' } else { c })
        .collect();
    ScaleError::Unreadable(format!("{shown:?}"))
}

/// Grams from a decimal value and a unit as scales write them.
fn grams(value: &str, unit: &str) -> Option<i64> {
    if value.is_empty() || value.len() > 16 {
        return None;
    }
    let v: Decimal = value.parse().ok()?;
    let per_unit = match unit.to_ascii_lowercase().as_str() {
        "g" => Decimal::ONE,
        "kg" => Decimal::from(1000),
        "mg" => Decimal::new(1, 3),
        "lb" => Decimal::new(45_359_237, 5),
        "oz" => Decimal::new(28_349_523_125, 9),
        _ => return None,
    };
    v.checked_mul(per_unit)?.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero).to_i64()
}

/// One MT-SICS reply line (with or without its CR LF).
pub fn parse_mt_sics(line: &[u8]) -> Result<ScaleReading, ScaleError> {
    if line.len() > MAX_FRAME || !line.is_ascii() {
        return Err(unreadable(line));
    }
    let text = std::str::from_utf8(line).map_err(|_| unreadable(line))?.trim_end_matches(['\r', '\n']);
    let mut parts = text.split_ascii_whitespace();
    match (parts.next(), parts.next()) {
        (Some("ES"), None) => Err(ScaleError::Refused("syntax error")),
        (Some("ET"), None) => Err(ScaleError::Refused("transmission error")),
        (Some("EL"), None) => Err(ScaleError::Refused("logical error")),
        (Some("S" | "SI"), Some("I")) => Err(ScaleError::Busy),
        (Some("S" | "SI"), Some("+")) => Err(ScaleError::Overload),
        (Some("S" | "SI"), Some("-")) => Err(ScaleError::Underload),
        (Some("S" | "SI"), Some(flag @ ("S" | "D"))) => {
            let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(unreadable(line));
            };
            let g = grams(value, unit).ok_or_else(|| unreadable(line))?;
            if g < 0 {
                return Err(ScaleError::Underload);
            }
            Ok(ScaleReading { grams: g, stable: flag == "S" })
        }
        _ => Err(unreadable(line)),
    }
}

/// One SCP-12 reply, from its LF to its ETX (bytes before the LF are line noise and skipped).
pub fn parse_scp12(frame: &[u8]) -> Result<ScaleReading, ScaleError> {
    if frame.len() > MAX_FRAME {
        return Err(unreadable(frame));
    }
    let start = frame.iter().position(|b| *b == b'\n').ok_or_else(|| unreadable(frame))?;
    let body = &frame[start + 1..];
    let body = body.strip_suffix(&[0x03]).unwrap_or(body);
    if body == b"?\r" {
        return Err(ScaleError::Refused("unknown command"));
    }
    let parts: Vec<&[u8]> =
        body.split(|b| *b == b'\r').map(|p| p.strip_prefix(b"\n").unwrap_or(p)).filter(|p| !p.is_empty()).collect();
    let (weight, status) = match parts.as_slice() {
        [status] => (None, *status),
        [weight, status] => (Some(*weight), *status),
        _ => return Err(unreadable(frame)),
    };
    let [s1, s2] = status else { return Err(unreadable(frame)) };
    if !(0x30..=0x3f).contains(s1) || !(0x30..=0x3f).contains(s2) {
        return Err(unreadable(frame));
    }
    let (s1, s2) = (s1 & 0x0f, s2 & 0x0f);
    if s1 & 0b0100 != 0 {
        return Err(ScaleError::Fault("RAM error"));
    }
    if s1 & 0b1000 != 0 {
        return Err(ScaleError::Fault("EEPROM error"));
    }
    if s2 & 0b0100 != 0 {
        return Err(ScaleError::Fault("ROM error"));
    }
    if s2 & 0b1000 != 0 {
        return Err(ScaleError::Fault("calibration error"));
    }
    if s2 & 0b0010 != 0 {
        return Err(ScaleError::Overload);
    }
    if s2 & 0b0001 != 0 {
        return Err(ScaleError::Underload);
    }
    let moving = s1 & 0b0001 != 0;
    let Some(weight) = weight else {
        return if moving { Ok(ScaleReading { grams: 0, stable: false }) } else { Err(ScaleError::Busy) };
    };
    let text = std::str::from_utf8(weight).map_err(|_| unreadable(frame))?;
    if text.len() < 3 || !text.is_char_boundary(text.len() - 2) {
        return Err(unreadable(frame));
    }
    let (value, unit) = text.split_at(text.len() - 2);
    let g = grams(value.trim(), unit.trim()).ok_or_else(|| unreadable(frame))?;
    if g < 0 {
        return Err(ScaleError::Underload);
    }
    Ok(ScaleReading { grams: g, stable: !moving })
}

/// Cuts a byte stream into replies at the protocol's terminator, holding at most [`MAX_FRAME`] bytes of an
/// unfinished one: a line that never ends is dropped and reported, not buffered without bound.
#[derive(Debug)]
pub struct Frames {
    end: u8,
    buf: Vec<u8>,
    overflowed: bool,
}

impl Frames {
    pub fn new(protocol: Protocol) -> Frames {
        Frames { end: protocol.terminator(), buf: Vec::with_capacity(MAX_FRAME), overflowed: false }
    }

    /// Feeds bytes; returns the complete replies, and an error for each run of noise that was dropped.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<Vec<u8>, ScaleError>> {
        let mut out = Vec::new();
        for &b in bytes {
            if b == self.end {
                if self.overflowed {
                    out.push(Err(ScaleError::Unreadable(format!("a reply longer than {MAX_FRAME} bytes"))));
                } else {
                    let mut frame = std::mem::take(&mut self.buf);
                    frame.push(b);
                    out.push(Ok(frame));
                }
                self.buf.clear();
                self.overflowed = false;
            } else if self.buf.len() >= MAX_FRAME {
                self.overflowed = true;
            } else {
                self.buf.push(b);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn mt_sics_replies_read_as_grams_with_their_stability() {
        assert_eq!(parse_mt_sics(b"S S     350.4 g\r\n"), Ok(ScaleReading { grams: 350, stable: true }));
        assert_eq!(parse_mt_sics(b"S D      0.3505 kg\r\n"), Ok(ScaleReading { grams: 351, stable: false }));
        assert_eq!(parse_mt_sics(b"S S 1.00 lb"), Ok(ScaleReading { grams: 454, stable: true }));
        assert_eq!(parse_mt_sics(b"S I\r\n"), Err(ScaleError::Busy));
        assert_eq!(parse_mt_sics(b"S +\r\n"), Err(ScaleError::Overload));
        assert_eq!(parse_mt_sics(b"S S    -2.0 g\r\n"), Err(ScaleError::Underload));
        assert_eq!(parse_mt_sics(b"ES\r\n"), Err(ScaleError::Refused("syntax error")));
        assert!(matches!(parse_mt_sics(b"S S 12 parsecs"), Err(ScaleError::Unreadable(_))));
        assert!(matches!(parse_mt_sics(b"S S 1e9999 g"), Err(ScaleError::Unreadable(_))));
    }

    #[test]
    fn scp12_replies_read_with_motion_and_faults_from_the_status_bits() {
        assert_eq!(parse_scp12(b"\n0001.50LB\r\n00\r\x03"), Ok(ScaleReading { grams: 680, stable: true }));
        assert_eq!(parse_scp12(b"\n 0.350KG\r10\r\x03"), Ok(ScaleReading { grams: 350, stable: false }));
        assert_eq!(parse_scp12(b"\n 0.350KG\r\n10\r\x03"), Ok(ScaleReading { grams: 350, stable: false }));
        assert_eq!(parse_scp12(b"\n 0.350KG\r\n02\r\x03"), Err(ScaleError::Overload));
        assert_eq!(parse_scp12(b"\n10\r\x03"), Ok(ScaleReading { grams: 0, stable: false }));
        assert_eq!(parse_scp12(b"\n01\r\x03"), Err(ScaleError::Underload));
        assert_eq!(parse_scp12(b"\n?\r"), Err(ScaleError::Refused("unknown command")));
        assert_eq!(parse_scp12(b"\n00\r\x03"), Err(ScaleError::Busy));
        assert_eq!(parse_scp12(b"\n 0.350KG\r\n40\r\x03"), Err(ScaleError::Fault("RAM error")));
        assert!(matches!(parse_scp12(b"no line feed"), Err(ScaleError::Unreadable(_))));
    }

    #[test]
    fn frames_split_a_stream_and_drop_a_line_that_never_ends() {
        let mut f = Frames::new(Protocol::MtSics);
        let got = f.push(b"S S 1 g\r\nS D 2");
        assert_eq!(got, vec![Ok(b"S S 1 g\r\n".to_vec())]);
        assert_eq!(f.push(b" g\r\n"), vec![Ok(b"S D 2 g\r\n".to_vec())]);
        let noise = vec![b'x'; 1000];
        assert!(f.push(&noise).is_empty());
        let got = f.push(b"\n");
        assert!(matches!(got.as_slice(), [Err(ScaleError::Unreadable(_))]), "{got:?}");
        assert_eq!(f.push(b"S S 3 g\n"), vec![Ok(b"S S 3 g\n".to_vec())]);
    }

    proptest! {
        #[test]
        fn no_bytes_make_either_parser_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_mt_sics(&bytes);
            let _ = parse_scp12(&bytes);
            let mut f = Frames::new(Protocol::Scp12);
            for r in f.push(&bytes) {
                prop_assert!(r.map(|fr| fr.len() <= MAX_FRAME + 1).unwrap_or(true));
            }
        }

        #[test]
        fn a_written_mt_sics_reading_reads_back(g in 0i64..150_000, stable: bool) {
            let line = format!("S {} {:>10}.{} g\r\n", if stable { "S" } else { "D" }, g / 10, g % 10);
            let r = parse_mt_sics(line.as_bytes()).unwrap();
            prop_assert_eq!(r.stable, stable);
            prop_assert_eq!(r.grams, (g + 5) / 10);
        }
    }
}
