//! The common rule conditions written for people who do not write CEL: destinations, an amount above a
//! figure in major units, SKUs, a risk score, earlier refusals. Each part that is filled in becomes one
//! clause; the clauses are joined with `&&` into the condition shown beside the form.

use crate::Country;
use crate::money::{Currency, Money};

/// What a person filled in; empty parts say nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    pub countries: Vec<Country>,
    /// An order total strictly above this: in the base currency (compared with the converted total) or in
    /// another currency (only orders in that currency match).
    pub total_above: Option<Money>,
    pub skus: Vec<String>,
    /// A risk score above this, in thousandths (700 means 0.700).
    pub risk_above_milli: Option<u32>,
    pub refusals_above: Option<u32>,
}

impl Conditions {
    /// Reads the form's text: countries and SKUs separated by commas or spaces, an amount such as 150 or
    /// 150.50, a risk score between 0 and 1. Every problem is named by its field.
    pub fn parse(
        countries: &str,
        amount: &str,
        currency: &str,
        skus: &str,
        risk: &str,
        refusals: &str,
    ) -> Result<Conditions, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let words = |s: &str| {
            s.split([',', ' ', '\n', ';'])
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let mut c = Conditions::default();
        for w in words(countries) {
            match Country::parse(&w.to_uppercase()) {
                Ok(country) => c.countries.push(country),
                Err(_) => errors.push(("countries", format!("{w} is not a country code such as SA"))),
            }
        }
        if !amount.trim().is_empty() {
            match Currency::parse(currency.trim()) {
                Ok(cur) => match Money::parse(amount.trim(), cur) {
                    Ok(m) if m.minor >= 0 => c.total_above = Some(m),
                    _ => errors.push(("amount", format!("{} is not an amount such as 150 or 150.50", amount.trim()))),
                },
                Err(_) => errors.push(("currency", "name the amount's currency, such as SAR".to_owned())),
            }
        }
        for w in words(skus) {
            if w.len() > 64 || w.chars().any(|ch| ch.is_control() || ch == '"' || ch == '\\') {
                errors.push(("skus", format!("{w:.20} is not a SKU")));
            } else {
                c.skus.push(w);
            }
        }
        if !risk.trim().is_empty() {
            match risk.trim().parse::<rust_decimal::Decimal>() {
                Ok(r) if r >= rust_decimal::Decimal::ZERO && r <= rust_decimal::Decimal::ONE => {
                    let milli = (r * rust_decimal::Decimal::from(1000)).round();
                    c.risk_above_milli = milli.to_string().parse().ok();
                }
                _ => errors.push(("risk", "a risk score between 0 and 1, such as 0.7".to_owned())),
            }
        }
        if !refusals.trim().is_empty() {
            match refusals.trim().parse::<u32>() {
                Ok(n) if n <= 1000 => c.refusals_above = Some(n),
                _ => errors.push(("refusals", "a number of earlier refusals, such as 1".to_owned())),
            }
        }
        if errors.is_empty() { Ok(c) } else { Err(errors) }
    }

    /// The CEL condition, `base` being the seller's base currency; None when nothing is filled in.
    pub fn to_cel(&self, base: Currency) -> Option<String> {
        let quoted = |items: Vec<String>| items.iter().map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(", ");
        let mut clauses = Vec::new();
        if !self.countries.is_empty() {
            clauses.push(format!(
                "dest.country in [{}]",
                quoted(self.countries.iter().map(|c| c.code().to_owned()).collect())
            ));
        }
        if let Some(m) = self.total_above {
            if m.currency == base {
                clauses.push(format!("order.total_base_minor > {}", m.minor));
            } else {
                clauses.push(format!("(order.currency == \"{}\" && order.total_minor > {})", m.currency, m.minor));
            }
        }
        if !self.skus.is_empty() {
            clauses.push(format!("order.skus.exists(s, s in [{}])", quoted(self.skus.clone())));
        }
        if let Some(r) = self.risk_above_milli {
            clauses.push(format!("risk.score > {}.{:03}", r / 1000, r % 1000));
        }
        if let Some(n) = self.refusals_above {
            clauses.push(format!("buyer.refusals > {n}"));
        }
        (!clauses.is_empty()).then(|| clauses.join(" && "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sar() -> Currency {
        Currency::parse("SAR").unwrap()
    }

    #[test]
    fn each_filled_part_is_one_clause_with_amounts_in_minor_units() {
        let c = Conditions::parse("sa, AE", "150", "SAR", "LAMP-1 MUG-2", "0.7", "1").unwrap();
        assert_eq!(
            c.to_cel(sar()).unwrap(),
            "dest.country in [\"SA\", \"AE\"] && order.total_base_minor > 15000 && \
             order.skus.exists(s, s in [\"LAMP-1\", \"MUG-2\"]) && risk.score > 0.700 && buyer.refusals > 1"
        );
        let kwd = Conditions::parse("", "20.5", "KWD", "", "", "").unwrap();
        assert_eq!(kwd.to_cel(sar()).unwrap(), "(order.currency == \"KWD\" && order.total_minor > 20500)");
        assert_eq!(Conditions::default().to_cel(sar()), None);
    }

    #[test]
    fn every_bad_part_is_named() {
        let e = Conditions::parse("Saudi", "lots", "SAR", "A\"B", "2", "-1").unwrap_err();
        let fields: Vec<&str> = e.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["countries", "amount", "skus", "risk", "refusals"]);
        let e = Conditions::parse("", "10", "", "", "", "").unwrap_err();
        assert_eq!(e[0].0, "currency");
    }
}
