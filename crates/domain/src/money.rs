//! Money as integer minor units of an ISO 4217 currency; conversion between currencies rounds exactly once.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::Error;

/// ISO 4217 active codes with their minor-unit digits. Most currencies have two; these are the others.
const ZERO_DIGITS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
    "XPF",
];
const THREE_DIGITS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
const FOUR_DIGITS: &[&str] = &["CLF", "UYW"];
const TWO_DIGITS: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BMD", "BND",
    "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CNY", "COP", "COU",
    "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR",
    "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU",
    "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS",
    "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD",
    "USN", "UYU", "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
];

/// An ISO 4217 currency that codflow knows the minor unit of. The minor digits follow from the code and
/// are looked up once, when it is parsed: every amount printed needs them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    digits: u8,
}

impl Currency {
    pub fn parse(code: &str) -> Result<Self, Error> {
        let Some(digits) = Self::digits_of(code) else {
            return Err(Error::invalid(
                "currency",
                format!("unknown currency {code:?} (expected an ISO 4217 code such as \"SAR\")"),
            ));
        };
        let b = code.as_bytes();
        Ok(Currency { code: [b[0], b[1], b[2]], digits })
    }

    fn digits_of(code: &str) -> Option<u8> {
        if code.len() != 3 {
            return None;
        }
        // Each table is in alphabetical order (a test holds it there): a binary search, not a walk through
        // 140 codes each time an amount is read.
        [(TWO_DIGITS, 2), (ZERO_DIGITS, 0), (THREE_DIGITS, 3), (FOUR_DIGITS, 4)]
            .iter()
            .find(|(list, _)| list.binary_search(&code).is_ok())
            .map(|(_, d)| *d)
    }

    pub fn code(&self) -> &str {
        // Only ASCII letters from the tables above are ever stored.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// How many decimal digits the currency's minor unit has (2 for SAR, 3 for KWD, 0 for VND).
    pub fn minor_digits(&self) -> u32 {
        u32::from(self.digits)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
impl FromStr for Currency {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Currency::parse(s)
    }
}
impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}
impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount of one currency in its minor units (halalas, fils, cents).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// Parses a plain decimal string ("129.50", "-3", "0.125" for KWD). Refuses more decimals than the
    /// currency has, exponents, signs other than a leading '-', spaces and thousands separators.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, Error> {
        let bad = |why: &str| Error::invalid("amount", format!("invalid amount {amount:?}: {why}"));
        let (negative, body) = match amount.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, amount),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (body, None),
        };
        if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected digits with an optional '.' and decimals"));
        }
        let frac = frac_part.unwrap_or("");
        if frac_part.is_some() && frac.is_empty() {
            return Err(bad("no digits after the decimal point"));
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected digits with an optional '.' and decimals"));
        }
        let digits = currency.minor_digits();
        if frac.len() as u32 > digits {
            return Err(bad(&format!("{currency} has {digits} decimal digit{}", if digits == 1 { "" } else { "s" })));
        }
        let mut minor: i64 = 0;
        let scaled = int_part
            .bytes()
            .chain(frac.bytes())
            .chain(std::iter::repeat_n(b'0', (digits - frac.len() as u32) as usize));
        for b in scaled {
            minor =
                minor.checked_mul(10).and_then(|m| m.checked_add((b - b'0') as i64)).ok_or_else(|| bad("too large"))?;
        }
        Ok(Money::new(if negative { -minor } else { minor }, currency))
    }

    /// The amount as a decimal string with exactly the currency's minor digits.
    pub fn amount_string(&self) -> String {
        // Written backwards into a buffer: every answer prints money, and `format!` costs several times this.
        let digits = self.currency.minor_digits() as usize;
        let mut abs = self.minor.unsigned_abs();
        let mut buf = [0u8; 24];
        let mut i = buf.len();
        let mut k = 0;
        loop {
            if k == digits && digits > 0 {
                i -= 1;
                buf[i] = b'.';
            }
            i -= 1;
            buf[i] = b'0' + (abs % 10) as u8;
            abs /= 10;
            if abs == 0 && k >= digits {
                break;
            }
            k += 1;
        }
        if self.minor < 0 {
            i -= 1;
            buf[i] = b'-';
        }
        // Only ASCII digits, a point and a sign were written.
        std::str::from_utf8(&buf[i..]).unwrap_or("0").to_owned()
    }

    fn same_currency(&self, other: &Money) -> Result<(), Error> {
        if self.currency != other.currency {
            return Err(Error::CurrencyMismatch {
                expected: self.currency.to_string(),
                found: other.currency.to_string(),
            });
        }
        Ok(())
    }

    pub fn checked_add(self, other: Money) -> Result<Money, Error> {
        self.same_currency(&other)?;
        let minor = self.minor.checked_add(other.minor).ok_or(Error::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, Error> {
        self.same_currency(&other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or(Error::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_mul(self, factor: i64) -> Result<Money, Error> {
        let minor = self.minor.checked_mul(factor).ok_or(Error::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }

    fn as_decimal(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.minor_digits())
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_string(), self.currency)
    }
}

/// An exchange rate with its provenance: 1 unit of `from` buys `rate` units of `to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FxRate {
    pub from: Currency,
    pub to: Currency,
    pub rate: Decimal,
    pub as_of: Date,
    pub source: String,
}

/// The result of a conversion, keeping the rate it used so the figure can be explained later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    pub original: Money,
    pub value: Money,
    pub rate: FxRate,
}

impl FxRate {
    pub fn new(
        from: Currency,
        to: Currency,
        rate: Decimal,
        as_of: Date,
        source: impl Into<String>,
    ) -> Result<Self, Error> {
        if rate <= Decimal::ZERO {
            return Err(Error::invalid("fx_rate", "an exchange rate must be positive"));
        }
        Ok(FxRate { from, to, rate, as_of, source: source.into() })
    }

    /// The same rate read the other way (to → from), for converting back where only one direction is quoted.
    pub fn inverse(&self) -> Result<Self, Error> {
        let rate = Decimal::ONE.checked_div(self.rate).ok_or(Error::Overflow)?;
        FxRate::new(self.to, self.from, rate, self.as_of, format!("{} (inverse)", self.source))
    }

    /// Converts exactly, then rounds once to the target's minor unit, halves away from zero (the
    /// commercial convention; banker's rounding would surprise a finance team reading a statement).
    pub fn convert(&self, money: Money) -> Result<Converted, Error> {
        if money.currency != self.from {
            return Err(Error::CurrencyMismatch { expected: self.from.to_string(), found: money.currency.to_string() });
        }
        let exact = money.as_decimal().checked_mul(self.rate).ok_or(Error::Overflow)?;
        let digits = self.to.minor_digits();
        let rounded = exact.round_dp_with_strategy(digits, RoundingStrategy::MidpointAwayFromZero);
        let minor = rounded.checked_mul(Decimal::from(10i64.pow(digits))).ok_or(Error::Overflow)?;
        let minor =
            i64::try_from(minor.trunc().mantissa() / 10i128.pow(minor.trunc().scale())).map_err(|_| Error::Overflow)?;
        Ok(Converted { original: money, value: Money::new(minor, self.to), rate: self.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    #[test]
    fn currencies_know_their_minor_digits() {
        assert_eq!(cur("SAR").minor_digits(), 2);
        assert_eq!(cur("KWD").minor_digits(), 3);
        assert_eq!(cur("VND").minor_digits(), 0);
        assert_eq!(cur("CLP").minor_digits(), 0);
    }

    #[test]
    fn unknown_and_lowercase_currencies_are_refused() {
        for bad in ["sar", "XYZ", "", "SARR", "S A"] {
            assert!(Currency::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn amounts_parse_into_minor_units() {
        assert_eq!(Money::parse("129.50", cur("SAR")).unwrap().minor, 12950);
        assert_eq!(Money::parse("129.5", cur("SAR")).unwrap().minor, 12950);
        assert_eq!(Money::parse("7", cur("SAR")).unwrap().minor, 700);
        assert_eq!(Money::parse("1.125", cur("KWD")).unwrap().minor, 1125);
        assert_eq!(Money::parse("250000", cur("VND")).unwrap().minor, 250000);
        assert_eq!(Money::parse("-3.10", cur("AED")).unwrap().minor, -310);
    }

    #[test]
    fn amounts_with_more_decimals_than_the_currency_allows_are_refused() {
        let e = Money::parse("1.005", cur("SAR")).unwrap_err();
        assert!(e.to_string().contains("SAR has 2 decimal digits"), "{e}");
        assert!(Money::parse("1.5", cur("VND")).is_err());
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for bad in ["", ".5", "1.", "1e3", "+1", " 1", "1,000.00", "abc", "1.2.3", "--1", "99999999999999999999"] {
            assert!(Money::parse(bad, cur("USD")).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn adding_different_currencies_is_refused() {
        let a = Money::new(100, cur("SAR"));
        let b = Money::new(100, cur("AED"));
        assert!(matches!(a.checked_add(b), Err(Error::CurrencyMismatch { .. })));
    }

    #[test]
    fn conversion_rounds_half_away_from_zero_once() {
        let rate = FxRate::new(cur("USD"), cur("SAR"), "3.75".parse().unwrap(), date!(2026 - 11 - 20), "test").unwrap();
        // 0.01 USD * 3.75 = 0.0375 SAR -> 0.04
        assert_eq!(rate.convert(Money::new(1, cur("USD"))).unwrap().value.minor, 4);
        // 0.02 USD * 3.75 = 0.075 -> 0.08 (banker's would give 0.08 too); 0.06*3.75=0.225 -> 0.23
        assert_eq!(rate.convert(Money::new(6, cur("USD"))).unwrap().value.minor, 23);
        assert_eq!(rate.convert(Money::new(-6, cur("USD"))).unwrap().value.minor, -23);
        let to_vnd =
            FxRate::new(cur("USD"), cur("VND"), "25432.5".parse().unwrap(), date!(2026 - 11 - 20), "test").unwrap();
        assert_eq!(to_vnd.convert(Money::new(100, cur("USD"))).unwrap().value.minor, 25433);
        let to_kwd =
            FxRate::new(cur("USD"), cur("KWD"), "0.30712".parse().unwrap(), date!(2026 - 11 - 20), "test").unwrap();
        assert_eq!(to_kwd.convert(Money::new(1000, cur("USD"))).unwrap().value.minor, 3071);
    }

    #[test]
    fn conversion_refuses_money_in_the_wrong_currency_and_non_positive_rates() {
        let rate = FxRate::new(cur("USD"), cur("SAR"), Decimal::ONE, date!(2026 - 11 - 20), "t").unwrap();
        assert!(rate.convert(Money::new(1, cur("EUR"))).is_err());
        assert!(FxRate::new(cur("USD"), cur("SAR"), Decimal::ZERO, date!(2026 - 11 - 20), "t").is_err());
    }

    #[test]
    fn every_currency_has_the_minor_digits_of_its_table() {
        for (list, digits) in [(ZERO_DIGITS, 0), (TWO_DIGITS, 2), (THREE_DIGITS, 3), (FOUR_DIGITS, 4)] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "the {digits}-digit table is out of order");
            for code in list {
                assert_eq!(cur(code).minor_digits(), digits, "{code}");
            }
        }
    }

    fn any_currency() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec!["SAR", "KWD", "VND", "USD", "CLF", "THB", "BHD", "CLP"]).prop_map(cur)
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_gives_back_the_same_money(minor in any::<i64>().prop_filter("no MIN", |m| *m != i64::MIN), c in any_currency()) {
            let m = Money::new(minor, c);
            prop_assert_eq!(Money::parse(&m.amount_string(), c).unwrap(), m);
            // The same text as the plain arithmetic would print.
            let scale = 10u64.pow(c.minor_digits());
            let (sign, abs) = (if m.minor < 0 { "-" } else { "" }, m.minor.unsigned_abs());
            let plain = if c.minor_digits() == 0 {
                format!("{sign}{abs}")
            } else {
                format!("{sign}{}.{:0w$}", abs / scale, abs % scale, w = c.minor_digits() as usize)
            };
            prop_assert_eq!(m.amount_string(), plain);
        }

        #[test]
        fn addition_is_commutative_and_subtraction_undoes_it(a in -1_000_000_000_000i64..1_000_000_000_000, b in -1_000_000_000_000i64..1_000_000_000_000, c in any_currency()) {
            let (x, y) = (Money::new(a, c), Money::new(b, c));
            prop_assert_eq!(x.checked_add(y).unwrap(), y.checked_add(x).unwrap());
            prop_assert_eq!(x.checked_add(y).unwrap().checked_sub(y).unwrap(), x);
        }

        #[test]
        fn overflow_is_an_error_not_a_wrap(a in any::<i64>(), b in any::<i64>()) {
            let c = cur("USD");
            let r = Money::new(a, c).checked_add(Money::new(b, c));
            prop_assert_eq!(r.is_ok(), a.checked_add(b).is_some());
        }

        #[test]
        fn conversion_is_within_half_a_minor_unit_of_the_exact_value(minor in -10_000_000_000i64..10_000_000_000, rate_milli in 1u32..100_000_000, from in any_currency(), to in any_currency()) {
            let rate = Decimal::new(rate_milli as i64, 4);
            let fx = FxRate::new(from, to, rate, time::macros::date!(2026-01-01), "p").unwrap();
            let got = fx.convert(Money::new(minor, from)).unwrap().value;
            let exact = Decimal::new(minor, from.minor_digits()) * rate * Decimal::from(10i64.pow(to.minor_digits()));
            let diff = (Decimal::from(got.minor) - exact).abs();
            prop_assert!(diff <= Decimal::new(5, 1), "diff {diff}");
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in ".{0,24}") {
            let _ = Money::parse(&s, cur("SAR"));
            let _ = Currency::parse(&s);
        }
    }
}
