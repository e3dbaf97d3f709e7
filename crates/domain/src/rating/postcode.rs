//! Postcode lists as carriers publish them: exact codes, prefixes (`122*`) and numeric ranges
//! (`12000-12999`). Spaces and case are ignored, so `sw1a 1aa` matches `SW1A1AA`.

use std::fmt;

use crate::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostcodeRule {
    Exact(String),
    Prefix(String),
    /// Inclusive; only codes of the same number of digits match, so `01000-01999` does not take `1500`.
    Range {
        lo: u64,
        hi: u64,
        digits: usize,
    },
}

fn canon(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

fn ok_chars(s: &str) -> bool {
    !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl PostcodeRule {
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::invalid("postcode", format!("{s:?} is not a postcode rule: {why}"));
        let c = canon(s);
        if let Some(p) = c.strip_suffix('*') {
            return if ok_chars(p) { Ok(PostcodeRule::Prefix(p.to_owned())) } else { Err(bad("bad prefix before *")) };
        }
        if let Some((a, b)) = c.split_once('-')
            && !a.is_empty()
            && a.bytes().all(|x| x.is_ascii_digit())
            && b.bytes().all(|x| x.is_ascii_digit())
        {
            if a.len() != b.len() || a.len() > 12 {
                return Err(bad("both ends of a range need the same number of digits (at most 12)"));
            }
            let (lo, hi) = (a.parse().map_err(|_| bad("range"))?, b.parse().map_err(|_| bad("range"))?);
            if lo > hi {
                return Err(bad("the range starts after it ends"));
            }
            return Ok(PostcodeRule::Range { lo, hi, digits: a.len() });
        }
        if ok_chars(&c) { Ok(PostcodeRule::Exact(c)) } else { Err(bad("letters, digits and - only")) }
    }

    pub fn matches(&self, postcode: &str) -> bool {
        let pc = postcode.trim();
        let eq = |a: &str, b: &str| {
            let mut x = a.chars().filter(|c| !c.is_whitespace());
            let mut y = b.chars();
            loop {
                match (x.next(), y.next()) {
                    (None, None) => return true,
                    (Some(p), Some(q)) if p.eq_ignore_ascii_case(&q) => {}
                    _ => return false,
                }
            }
        };
        match self {
            PostcodeRule::Exact(e) => eq(pc, e),
            PostcodeRule::Prefix(p) => {
                let c = canon(pc);
                c.starts_with(p.as_str())
            }
            PostcodeRule::Range { lo, hi, digits } => {
                pc.len() == *digits
                    && pc.bytes().all(|b| b.is_ascii_digit())
                    && pc.parse().is_ok_and(|n: u64| n >= *lo && n <= *hi)
            }
        }
    }
}

impl fmt::Display for PostcodeRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PostcodeRule::Exact(e) => f.write_str(e),
            PostcodeRule::Prefix(p) => write!(f, "{p}*"),
            PostcodeRule::Range { lo, hi, digits } => write!(f, "{lo:0digits$}-{hi:0digits$}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(s: &str) -> PostcodeRule {
        PostcodeRule::parse(s).unwrap()
    }

    #[test]
    fn exact_codes_ignore_spaces_and_case() {
        assert!(r("SW1A 1AA").matches("sw1a1aa"));
        assert!(!r("SW1A 1AA").matches("SW1A 1AB"));
    }

    #[test]
    fn prefixes_match_the_start_only() {
        assert!(r("122*").matches("12211"));
        assert!(!r("122*").matches("11221"));
    }

    #[test]
    fn ranges_are_inclusive_and_need_the_same_digit_count() {
        let rule = r("01000-01999");
        assert!(rule.matches("01000") && rule.matches("01999") && rule.matches("01500"));
        assert!(!rule.matches("1500") && !rule.matches("02000") && !rule.matches("0150A"));
        assert_eq!(rule.to_string(), "01000-01999");
    }

    #[test]
    fn malformed_rules_are_refused_with_the_reason() {
        for bad in ["", "*", "12-1", "2000-1000", "12$45", "abcdefghij klmnopqrstu"] {
            assert!(PostcodeRule::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(PostcodeRule::parse("2000-1000").unwrap_err().to_string().contains("starts after it ends"));
    }

    proptest! {
        #[test]
        fn a_rule_written_back_parses_to_itself(s in "[0-9A-Z]{1,8}\\*?|[0-9]{5}-[0-9]{5}") {
            if let Ok(rule) = PostcodeRule::parse(&s) {
                prop_assert_eq!(PostcodeRule::parse(&rule.to_string()).unwrap(), rule);
            }
        }

        #[test]
        fn matching_never_panics(rule in "\\PC{0,12}", code in "\\PC{0,12}") {
            if let Ok(rule) = PostcodeRule::parse(&rule) {
                let _ = rule.matches(&code);
            }
        }
    }
}
