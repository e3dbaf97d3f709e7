use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;

/// Every officially assigned ISO 3166-1 alpha-2 code.
const CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS \
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ \
FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT \
JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP \
MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE \
RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV \
TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// An ISO 3166-1 alpha-2 country.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    pub fn parse(code: &str) -> Result<Self, Error> {
        let known = code.len() == 2
            && code.bytes().all(|b| b.is_ascii_uppercase())
            && CODES.as_bytes().chunks(3).any(|c| c[..2] == *code.as_bytes());
        if !known {
            return Err(Error::invalid(
                "country",
                format!("unknown country {code:?} (expected an ISO 3166-1 alpha-2 code such as \"SA\")"),
            ));
        }
        let b = code.as_bytes();
        Ok(Country([b[0], b[1]]))
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
impl Serialize for Country {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}
impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Country::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_cod_markets_are_known_countries() {
        for c in ["SA", "AE", "KW", "OM", "QA", "BH", "TH", "VN", "MY", "ID", "PH", "MX", "CO", "CL", "PL", "RO", "CN"]
        {
            assert_eq!(Country::parse(c).unwrap().code(), c);
        }
    }

    #[test]
    fn every_listed_code_is_known_and_its_neighbours_spellings_are_not() {
        assert_eq!(CODES.len() % 3, 2, "two letters a code, one space between");
        for c in CODES.split(' ') {
            assert_eq!(Country::parse(c).unwrap().code(), c);
        }
        // A code straddling two listed ones ("D A" of "AD AE") is no code.
        assert!(Country::parse("DA").is_err() && Country::parse("EA").is_err());
    }

    #[test]
    fn lowercase_unknown_and_alpha3_codes_are_refused() {
        for c in ["sa", "XX", "SAU", "", "S"] {
            assert!(Country::parse(c).is_err(), "{c} accepted");
        }
    }
}
