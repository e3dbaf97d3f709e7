//! Phone numbers normalised to E.164, because the buyer's phone is the key for risk history and blacklists:
//! "0501234567" typed in Riyadh and "+966 50 123 4567" must be the same buyer.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Country, Error};

/// Calling code, whether national numbers carry a leading trunk '0', and the national significant number length.
struct Plan {
    country: &'static str,
    code: &'static str,
    trunk_zero: bool,
    nsn: (usize, usize),
}

const fn p(country: &'static str, code: &'static str, trunk_zero: bool, min: usize, max: usize) -> Plan {
    Plan { country, code, trunk_zero, nsn: (min, max) }
}

const PLANS: &[Plan] = &[
    p("SA", "966", true, 8, 9),
    p("AE", "971", true, 8, 9),
    p("KW", "965", false, 8, 8),
    p("OM", "968", false, 8, 8),
    p("QA", "974", false, 7, 8),
    p("BH", "973", false, 8, 8),
    p("JO", "962", true, 8, 9),
    p("EG", "20", true, 9, 10),
    p("IQ", "964", true, 9, 10),
    p("TH", "66", true, 8, 9),
    p("VN", "84", true, 9, 10),
    p("MY", "60", true, 8, 10),
    p("ID", "62", true, 8, 12),
    p("PH", "63", true, 8, 10),
    p("SG", "65", false, 8, 8),
    p("MX", "52", false, 10, 10),
    p("CO", "57", false, 8, 10),
    p("CL", "56", false, 8, 9),
    p("PE", "51", false, 8, 9),
    p("BR", "55", false, 10, 11),
    p("AR", "54", true, 10, 11),
    p("PL", "48", false, 9, 9),
    p("RO", "40", true, 9, 9),
    p("CZ", "420", false, 9, 9),
    p("HU", "36", false, 8, 9),
    p("BG", "359", true, 8, 9),
    p("GR", "30", false, 10, 10),
    p("CN", "86", true, 10, 11),
    p("HK", "852", false, 8, 8),
    p("TW", "886", true, 8, 9),
    p("JP", "81", true, 9, 10),
    p("KR", "82", true, 8, 10),
    p("IN", "91", true, 10, 10),
    p("PK", "92", true, 9, 10),
    p("BD", "880", true, 8, 10),
    p("TR", "90", true, 10, 10),
    p("MA", "212", true, 9, 9),
    p("DZ", "213", true, 8, 9),
    p("TN", "216", false, 8, 8),
    p("NG", "234", true, 8, 10),
    p("KE", "254", true, 9, 9),
    p("ZA", "27", true, 9, 9),
    p("GB", "44", true, 9, 10),
    p("DE", "49", true, 6, 11),
    p("FR", "33", true, 9, 9),
    p("ES", "34", false, 9, 9),
    p("IT", "39", false, 6, 11),
    p("NL", "31", true, 9, 9),
    p("US", "1", false, 10, 10),
    p("CA", "1", false, 10, 10),
    p("AU", "61", true, 9, 9),
];

/// Leading digits and length of mobile numbers (national significant number) in the COD markets, where the
/// courier must be able to call or message the buyer. Countries not listed accept any number of their plan.
const MOBILE: &[(&str, &[&str], usize, usize)] = &[
    ("SA", &["5"], 9, 9),
    ("AE", &["5"], 9, 9),
    ("KW", &["5", "6", "9", "4"], 8, 8),
    ("OM", &["7", "9"], 8, 8),
    ("QA", &["3", "5", "6", "7"], 8, 8),
    ("BH", &["3", "6"], 8, 8),
    ("JO", &["7"], 9, 9),
    ("EG", &["1"], 10, 10),
    ("IQ", &["7"], 10, 10),
    ("TH", &["6", "8", "9"], 9, 9),
    ("VN", &["3", "5", "7", "8", "9"], 9, 9),
    ("MY", &["1"], 9, 10),
    ("ID", &["8"], 9, 12),
    ("PH", &["9"], 10, 10),
    ("SG", &["8", "9"], 8, 8),
    ("MX", &[""], 10, 10),
    ("CO", &["3"], 10, 10),
    ("CL", &["9"], 9, 9),
    ("PE", &["9"], 9, 9),
    ("BR", &[""], 11, 11),
    ("PL", &["4", "5", "6", "7", "8"], 9, 9),
    ("RO", &["7"], 9, 9),
    ("GR", &["69"], 10, 10),
];

/// A phone number in E.164 form (`+966501234567`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

impl Phone {
    /// Accepts international forms (`+966…`, `00966…`) anywhere, and national forms (`0501234567`,
    /// `501234567`, `966501234567`) when the country the number was given for is known.
    pub fn parse(raw: &str, default_country: Option<Country>) -> Result<Self, Error> {
        let bad = |why: &str| Error::invalid("phone", format!("invalid phone {raw:?}: {why}"));
        let trimmed = raw.trim();
        let (international, rest) = if let Some(r) = trimmed.strip_prefix('+') {
            (true, r)
        } else if let Some(r) = trimmed.strip_prefix("00") {
            (true, r)
        } else {
            (false, trimmed)
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => {
                    return Err(bad("only digits, spaces, '-', '.', '(' and ')' may follow an optional '+'"));
                }
            }
        }
        if digits.is_empty() {
            return Err(bad("no digits"));
        }
        let e164 = if international {
            let plan = PLANS.iter().find(|p| digits.starts_with(p.code));
            if let Some(plan) = plan {
                let nsn = &digits[plan.code.len()..];
                // Some people write the trunk zero after the country code (+966 050...).
                let nsn =
                    if plan.trunk_zero && nsn.len() > plan.nsn.1 { nsn.strip_prefix('0').unwrap_or(nsn) } else { nsn };
                if nsn.len() < plan.nsn.0 || nsn.len() > plan.nsn.1 {
                    return Err(bad(&format!(
                        "a {} number has {}–{} digits after +{}",
                        plan.country, plan.nsn.0, plan.nsn.1, plan.code
                    )));
                }
                format!("{}{}", plan.code, nsn)
            } else {
                digits
            }
        } else {
            let country =
                default_country.ok_or_else(|| bad("a national number needs a country; write it with +country code"))?;
            let plan = PLANS
                .iter()
                .find(|p| p.country == country.code())
                .ok_or_else(|| bad(&format!("write numbers for {country} in international form (+country code)")))?;
            let nsn = if plan.trunk_zero { digits.strip_prefix('0').unwrap_or(&digits) } else { digits.as_str() };
            let nsn = if nsn.len() > plan.nsn.1 && nsn.starts_with(plan.code) { &nsn[plan.code.len()..] } else { nsn };
            if nsn.len() < plan.nsn.0 || nsn.len() > plan.nsn.1 {
                return Err(bad(&format!(
                    "a {} number has {}–{} digits without the trunk prefix",
                    plan.country, plan.nsn.0, plan.nsn.1
                )));
            }
            format!("{}{}", plan.code, nsn)
        };
        if !(8..=15).contains(&e164.len()) {
            return Err(bad("E.164 numbers have 8 to 15 digits"));
        }
        if e164.starts_with('0') {
            return Err(bad("country codes never start with 0"));
        }
        Ok(Phone(format!("+{e164}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a mobile number of `country` (the right calling code and, where the plan is known, a
    /// mobile prefix and length).
    pub fn is_mobile_of(&self, country: Country) -> bool {
        let Some(plan) = PLANS.iter().find(|p| p.country == country.code()) else { return false };
        let Some(nsn) = self.0[1..].strip_prefix(plan.code) else { return false };
        match MOBILE.iter().find(|m| m.0 == plan.country) {
            Some((_, prefixes, min, max)) => {
                (*min..=*max).contains(&nsn.len()) && prefixes.iter().any(|p| nsn.starts_with(p))
            }
            None => (plan.nsn.0..=plan.nsn.1).contains(&nsn.len()),
        }
    }

    /// Rebuilds a value that was normalised before it was stored.
    pub fn from_stored(s: String) -> Self {
        Phone(s)
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl Serialize for Phone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Phone::parse(&s, None).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sa() -> Option<Country> {
        Some(Country::parse("SA").unwrap())
    }

    #[test]
    fn one_saudi_mobile_written_five_ways_is_one_number() {
        for raw in [
            "+966501234567",
            "+966 50 123 4567",
            "00966501234567",
            "0501234567",
            "501234567",
            "966501234567",
            "+966 050 123 4567",
        ] {
            assert_eq!(Phone::parse(raw, sa()).unwrap().as_str(), "+966501234567", "{raw}");
        }
    }

    #[test]
    fn national_numbers_of_other_markets_normalise() {
        let c = |s| Some(Country::parse(s).unwrap());
        assert_eq!(Phone::parse("081 234 5678", c("TH")).unwrap().as_str(), "+66812345678");
        assert_eq!(Phone::parse("0912345678", c("VN")).unwrap().as_str(), "+84912345678");
        assert_eq!(Phone::parse("55 1234 5678", c("MX")).unwrap().as_str(), "+525512345678");
        assert_eq!(Phone::parse("512 345 678", c("PL")).unwrap().as_str(), "+48512345678");
        assert_eq!(Phone::parse("9999 1234", c("KW")).unwrap().as_str(), "+96599991234");
    }

    #[test]
    fn garbage_and_wrong_lengths_are_refused() {
        for raw in ["", "+", "abc", "+966 50", "05012345678901", "+966-50-ABC", "+0123456789", "12345"] {
            assert!(Phone::parse(raw, sa()).is_err(), "{raw} accepted");
        }
    }

    #[test]
    fn mobile_numbers_are_told_from_landlines_and_foreign_numbers() {
        let c = |s| Country::parse(s).unwrap();
        let p = |s| Phone::parse(s, None).unwrap();
        assert!(p("+966501234567").is_mobile_of(c("SA")));
        assert!(!p("+966112345678").is_mobile_of(c("SA")), "Riyadh landline");
        assert!(!p("+971501234567").is_mobile_of(c("SA")), "a UAE number for a Saudi address");
        assert!(p("+66812345678").is_mobile_of(c("TH")));
        assert!(!p("+6621234567").is_mobile_of(c("TH")));
    }

    #[test]
    fn a_national_number_without_a_country_is_refused() {
        assert!(Phone::parse("0501234567", None).is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_results_are_e164(s in ".{0,30}") {
            if let Ok(p) = Phone::parse(&s, sa()) {
                let d = &p.as_str()[1..];
                prop_assert!(p.as_str().starts_with('+'));
                prop_assert!(d.bytes().all(|b| b.is_ascii_digit()) && (8..=15).contains(&d.len()));
            }
        }

        #[test]
        fn a_normalised_number_parses_to_itself(n in 500_000_000u64..599_999_999) {
            let p = Phone::parse(&format!("0{n}"), sa()).unwrap();
            prop_assert_eq!(Phone::parse(p.as_str(), None).unwrap(), p);
        }
    }
}
