//! Auditing a carrier's freight invoice against what each parcel was quoted when it was booked: the weight
//! billed against the weight declared and the quote's billable weight, the zone, and the amount against
//! the quote's freight and surcharges. An overcharge comes with its evidence, ready for a dispute.

use super::reconcile::{LineClass, LineMatch, ShipmentIndex, Tolerances};
use super::statement::StatementLine;
use crate::ids::ShipmentId;
use crate::money::{Currency, Money};
use crate::rating::Breakdown;

/// The quote a parcel was booked on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookedQuote {
    pub zone: String,
    pub billable_weight_g: i64,
    /// In the rate card's currency.
    pub breakdown: Breakdown,
    pub currency: crate::money::Currency,
}

impl BookedQuote {
    /// What the carrier invoices for the parcel: transport and surcharges. Its COD fee comes off the
    /// remittance and duties and taxes go to customs, so neither is on the freight invoice.
    pub fn invoiced(&self) -> Money {
        let b = &self.breakdown;
        Money::new(b.base + b.fuel + b.remote_area + b.oversize + b.ddp_fee, self.currency)
    }
}

/// A parcel of ours a freight invoice may bill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Booked {
    pub shipment: ShipmentId,
    pub tracking_number: String,
    pub order_ref: String,
    /// What we declared to the carrier.
    pub declared_weight_g: i64,
    /// What our scale read at the pack station, when the parcel was weighed there.
    pub measured_weight_g: Option<i64>,
    pub quote: Option<BookedQuote>,
    /// Already billed by an earlier invoice.
    pub invoiced: bool,
}

/// Why a line is what it is, in figures a carrier can check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub declared_weight_g: i64,
    /// Our scale's reading at packing: what a weight dispute rests on.
    pub measured_weight_g: Option<i64>,
    pub quoted_weight_g: Option<i64>,
    pub billed_weight_g: Option<i64>,
    pub quoted_zone: Option<String>,
    pub billed_zone: Option<String>,
    pub expected: Option<Money>,
    pub billed: Money,
}

impl Evidence {
    /// The findings in words, for a dispute.
    pub fn findings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(billed), Some(quoted)) = (self.billed_weight_g, self.quoted_weight_g)
            && billed > quoted
        {
            out.push(format!(
                "billed weight {billed} g above the booked billable weight {quoted} g (declared {} g)",
                self.declared_weight_g
            ));
        }
        if let (Some(billed), Some(measured)) = (self.billed_weight_g, self.measured_weight_g)
            && billed > measured
        {
            out.push(format!(
                "billed weight {billed} g above the {measured} g our scale read when the parcel was packed"
            ));
        }
        if let (Some(billed), Some(quoted)) = (&self.billed_zone, &self.quoted_zone)
            && !billed.trim().eq_ignore_ascii_case(quoted.trim())
        {
            out.push(format!("billed zone {billed:?}, booked zone {quoted:?}"));
        }
        if let Some(e) = self.expected
            && e.currency == self.billed.currency
            && e.minor != self.billed.minor
        {
            out.push(format!("billed {} for a quote of {}", self.billed, e));
        }
        out
    }
}

/// Classifies each invoice line against the parcels booked: matched within the amount tolerance,
/// overcharged, undercharged, billed twice, unknown, in another currency than the quote, or unquoted. The
/// verdicts depend on the line numbers, not on the order the lines are handed in.
pub fn audit(lines: &[StatementLine], booked: &[Booked], tol: Tolerances) -> Vec<(LineMatch, Option<Evidence>)> {
    audit_converting(lines, booked, tol, |_, _, _| None)
}

/// As [`audit`], for a carrier that invoices in another currency than its rate card: `convert(quote, to,
/// day)` gives the quote in the invoice's currency at the rate of the line's day (None without a rate, and
/// the line stays a currency mismatch). A converted quote is compared within the tolerance and one minor
/// unit more, the most the conversion's rounding can move it.
pub fn audit_converting(
    lines: &[StatementLine],
    booked: &[Booked],
    tol: Tolerances,
    convert: impl Fn(Money, Currency, Option<time::Date>) -> Option<Money>,
) -> Vec<(LineMatch, Option<Evidence>)> {
    let index = ShipmentIndex::new(booked.iter().map(|b| (b.tracking_number.as_str(), b.order_ref.as_str())));
    let mut order: Vec<&StatementLine> = lines.iter().collect();
    order.sort_by_key(|l| l.line);
    let mut billed = vec![false; booked.len()];
    order
        .into_iter()
        .map(|l| {
            let at = index.find(l);
            let mut m = LineMatch {
                line: l.line,
                class: LineClass::UnknownReference,
                shipment: None,
                expected: None,
                difference: None,
                contract_fee: None,
            };
            let Some(at) = at else { return (m, None) };
            let b = &booked[at];
            m.shipment = Some(b.shipment.clone());
            let q = b.quote.as_ref();
            let quoted = q.map(BookedQuote::invoiced);
            let converted =
                quoted.filter(|e| e.currency != l.amount.currency).and_then(|e| convert(e, l.amount.currency, l.date));
            let rounding = i64::from(converted.is_some());
            m.expected = converted.or(quoted);
            let evidence = Evidence {
                declared_weight_g: b.declared_weight_g,
                measured_weight_g: b.measured_weight_g,
                quoted_weight_g: q.map(|q| q.billable_weight_g),
                billed_weight_g: l.billed_weight_g,
                quoted_zone: q.map(|q| q.zone.clone()),
                billed_zone: l.zone.clone(),
                expected: m.expected,
                billed: l.amount,
            };
            // A credit (a negative line: a claim paid against the invoice, a refund) is no billing of the
            // parcel: it neither takes its one billing nor counts as billing it twice.
            if l.amount.minor < 0 {
                m.expected = None;
                m.difference = Some(l.amount);
                m.class = LineClass::Undercharged;
                return (m, Some(evidence));
            }
            m.class = if b.invoiced || std::mem::replace(&mut billed[at], true) {
                LineClass::Duplicate
            } else {
                match m.expected {
                    None => LineClass::Unquoted,
                    Some(e) if e.currency != l.amount.currency => LineClass::CurrencyMismatch,
                    Some(e) => {
                        let diff = l.amount.minor - e.minor;
                        m.difference = Some(Money::new(diff, e.currency));
                        if diff > tol.amount_minor + rounding {
                            LineClass::Overcharged
                        } else if diff < -(tol.amount_minor + rounding) {
                            LineClass::Undercharged
                        } else {
                            LineClass::Matched
                        }
                    }
                }
            };
            (m, Some(evidence))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sar(minor: i64) -> Money {
        Money::new(minor, Currency::parse("SAR").unwrap())
    }

    fn booked(n: usize) -> Vec<Booked> {
        (0..n)
            .map(|i| Booked {
                shipment: ShipmentId::generate(),
                tracking_number: format!("SBX{i}"),
                order_ref: format!("R{i}"),
                declared_weight_g: 800,
                measured_weight_g: None,
                quote: Some(BookedQuote {
                    zone: "sa".into(),
                    billable_weight_g: 1_000,
                    breakdown: Breakdown { base: 1_800, fuel: 200, cod_fee: 300, duties: 900, ..Breakdown::default() },
                    currency: Currency::parse("SAR").unwrap(),
                }),
                invoiced: false,
            })
            .collect()
    }

    fn line(n: u32, tn: &str, amount: Money, kg: i64) -> StatementLine {
        StatementLine {
            line: n,
            tracking_number: Some(tn.into()),
            order_ref: None,
            reference: Some("INV-1".into()),
            date: None,
            amount,
            fee: Money::zero(amount.currency),
            freight: amount,
            other: Money::zero(amount.currency),
            net: amount,
            fx_rate: None,
            settled: None,
            billed_weight_g: Some(kg * 1_000),
            zone: Some("sa".into()),
        }
    }

    #[test]
    fn a_weight_billed_above_our_scale_reading_is_a_finding_naming_the_reading() {
        let mut b = booked(2);
        b[0].measured_weight_g = Some(1_450);
        b[1].measured_weight_g = Some(2_100);
        let out = audit(&[line(2, "SBX0", sar(2_500), 2), line(3, "SBX1", sar(2_500), 2)], &b, Tolerances::default());
        let above = out[0].1.as_ref().unwrap().findings();
        assert!(above.iter().any(|f| f.contains("above the 1450 g our scale read")), "{above:?}");
        let not_above = out[1].1.as_ref().unwrap().findings();
        assert!(!not_above.iter().any(|f| f.contains("our scale")), "billed 2000 g, weighed 2100 g: {not_above:?}");
    }

    #[test]
    fn an_invoice_with_one_line_of_each_kind_is_classified_with_its_evidence() {
        let mut b = booked(5);
        b[3].quote = None;
        b[4].invoiced = true;
        let usd = Money::new(2_000, Currency::parse("USD").unwrap());
        let lines = vec![
            line(2, "SBX0", sar(2_000), 1),
            line(3, "SBX1", sar(2_500), 2),
            line(4, "SBX2", sar(1_900), 1),
            line(5, "SBX0", sar(2_000), 1),
            line(6, "NOPE", sar(2_000), 1),
            line(7, "SBX3", sar(2_000), 1),
            line(8, "SBX4", sar(2_000), 1),
            line(9, "SBX5", usd, 1),
        ];
        let mut b6 = booked(6);
        b6[..5].clone_from_slice(&b);
        let out = audit(&lines, &b6, Tolerances::default());
        let classes: Vec<LineClass> = out.iter().map(|(m, _)| m.class).collect();
        use LineClass::*;
        assert_eq!(
            classes,
            vec![
                Matched,
                Overcharged,
                Undercharged,
                Duplicate,
                UnknownReference,
                Unquoted,
                Duplicate,
                CurrencyMismatch
            ]
        );
        let (m, e) = &out[1];
        assert_eq!(m.expected, Some(sar(2_000)), "freight and fuel; not the COD fee nor duties");
        // The same invoice from a carrier billing in dollars: each quote is converted at the line's day's rate
        // (1 SAR = 0.2666 USD: 20.00 SAR is 5.33 USD, half up) and only a difference beyond the tolerance and
        // the rounding counts.
        let usd = |minor| Money::new(minor, Currency::parse("USD").unwrap());
        let at_rate = |m: Money, to: Currency, _day: Option<time::Date>| {
            (to.code() == "USD").then(|| Money::new((m.minor * 2666 + 5_000) / 10_000, to))
        };
        let dollars = vec![line(2, "SBX0", usd(533), 1), line(3, "SBX1", usd(534), 1), line(4, "SBX2", usd(600), 1)];
        let out = audit_converting(&dollars, &booked(3), Tolerances::default(), at_rate);
        let classes: Vec<LineClass> = out.iter().map(|(m, _)| m.class).collect();
        assert_eq!(classes, vec![Matched, Matched, Overcharged], "a cent of rounding is no overcharge");
        assert_eq!(out[2].0.expected, Some(usd(533)), "the quote in the invoice's currency");
        assert_eq!(out[2].0.difference, Some(usd(67)));
        let none = audit_converting(&dollars, &booked(3), Tolerances::default(), |_, _, _| None);
        assert!(none.iter().all(|(m, _)| m.class == CurrencyMismatch), "no rate: still a mismatch");
        assert_eq!(m.difference, Some(sar(500)));
        let findings = e.as_ref().unwrap().findings();
        assert_eq!(findings.len(), 2, "{findings:?}");
        assert!(
            findings[0].contains("2000 g above the booked billable weight 1000 g (declared 800 g)"),
            "{findings:?}"
        );
        assert!(findings[1].contains("billed 25.00 SAR for a quote of 20.00 SAR"), "{findings:?}");
        assert!(out[0].1.as_ref().unwrap().findings().is_empty());
    }

    proptest! {
        #[test]
        fn verdicts_do_not_depend_on_the_order_of_the_lines(
            picks in proptest::collection::vec((0usize..8, 1_500i64..2_500), 1..30),
            seed in any::<u64>(),
        ) {
            let b = booked(6);
            let lines: Vec<StatementLine> = picks
                .iter()
                .enumerate()
                .map(|(i, (k, amount))| line(i as u32 + 2, &format!("SBX{k}"), sar(*amount), 1))
                .collect();
            let forward = audit(&lines, &b, Tolerances::default());
            let mut shuffled = lines.clone();
            let n = shuffled.len();
            for i in 0..n {
                shuffled.swap(i, (seed as usize).wrapping_mul(i + 7) % n);
            }
            prop_assert_eq!(audit(&shuffled, &b, Tolerances::default()), forward.clone());
            // Every booked parcel is billed at most once outside duplicates.
            let mut firsts = std::collections::HashSet::new();
            for (m, _) in &forward {
                if !matches!(m.class, LineClass::Duplicate | LineClass::UnknownReference) {
                    prop_assert!(firsts.insert(m.shipment.clone()));
                }
            }
        }
    }

    #[test]
    fn a_credit_line_neither_bills_the_parcel_nor_is_a_duplicate() {
        let b = booked(1);
        let tol = Tolerances::default();
        let lines = [line(1, "SBX0", sar(-1_500), 1), line(2, "SBX0", sar(2_000), 1)];
        let out = audit(&lines, &b, tol);
        assert_eq!((out[0].0.class, out[0].0.difference), (LineClass::Undercharged, Some(sar(-1_500))));
        assert_eq!(out[1].0.class, LineClass::Matched, "the freight line after the credit is the parcel's billing");
    }
}
