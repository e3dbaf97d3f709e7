//! Matching a carrier's COD remittance against the shipments it should pay for, and a payment platform's
//! payouts against the remittances they carry (DESIGN.md §4 "Reconciliation"). Pure and in memory: the
//! store hands in what is expected, this classifies every line and every shipment.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::{Date, Duration};

use super::statement::StatementLine;
use crate::ids::ShipmentId;
use crate::money::{Currency, Money};

/// What became of one statement line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineClass {
    Matched,
    ShortPaid,
    OverPaid,
    /// The COD fee is above what the contract allows (the cash itself is right).
    FeeAboveContract,
    /// A shipment already paid for, by an earlier line of this statement or by another statement.
    Duplicate,
    /// Neither the tracking number nor the order reference is a shipment of ours.
    UnknownReference,
    CurrencyMismatch,
    /// Invoice: billed above the booked quote.
    Overcharged,
    /// Invoice: billed below the booked quote.
    Undercharged,
    /// Invoice: a shipment of ours with no booked quote to check against.
    Unquoted,
}

impl LineClass {
    pub const ALL: [LineClass; 10] = [
        LineClass::Matched,
        LineClass::ShortPaid,
        LineClass::OverPaid,
        LineClass::FeeAboveContract,
        LineClass::Duplicate,
        LineClass::UnknownReference,
        LineClass::CurrencyMismatch,
        LineClass::Overcharged,
        LineClass::Undercharged,
        LineClass::Unquoted,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            LineClass::Matched => "matched",
            LineClass::ShortPaid => "short_paid",
            LineClass::OverPaid => "over_paid",
            LineClass::FeeAboveContract => "fee_above_contract",
            LineClass::Duplicate => "duplicate",
            LineClass::UnknownReference => "unknown_reference",
            LineClass::CurrencyMismatch => "currency_mismatch",
            LineClass::Overcharged => "overcharged",
            LineClass::Undercharged => "undercharged",
            LineClass::Unquoted => "unquoted",
        }
    }

    pub fn parse(s: &str) -> Option<LineClass> {
        LineClass::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether finance has to look at it.
    pub fn is_discrepancy(&self) -> bool {
        *self != LineClass::Matched
    }

    /// Whether it needs a decision (a claim or a dispute), not only a look: a carrier billing less than
    /// quoted, or a parcel booked before quotes were kept, is listed but opens no task.
    pub fn needs_decision(&self) -> bool {
        self.is_discrepancy() && !matches!(self, LineClass::Undercharged | LineClass::Unquoted)
    }
}

/// The COD terms of a shipment's channel: the fee (basis points of the cash, with a minimum and maximum in
/// the COD currency's minor units) and how many days after delivery the carrier pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodTerms {
    pub fee_bp: i64,
    pub fee_min_minor: i64,
    pub fee_max_minor: Option<i64>,
    pub cycle_days: i64,
}

impl CodTerms {
    /// The fee the contract allows on `collected`, rounded half up.
    pub fn fee(&self, collected: Money) -> Money {
        let pct = (collected.minor.max(0) as i128 * self.fee_bp as i128 + 5_000).div_euclid(10_000) as i64;
        let capped = self.fee_max_minor.map_or(pct, |m| pct.min(m));
        Money::new(capped.max(self.fee_min_minor), collected.currency)
    }
}

/// A COD shipment the seller expects cash for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub shipment: ShipmentId,
    pub tracking_number: String,
    /// The order's reference as the carrier sees it (the sales channel's order number).
    pub order_ref: String,
    pub cod: Money,
    /// None while not delivered (a line for it is still matched: the carrier may report later).
    pub delivered_on: Option<Date>,
    pub terms: CodTerms,
    /// Already paid in full by an earlier statement.
    pub remitted: bool,
    /// Cash already received for it by earlier statements that paid short (in the COD currency's minor
    /// units): a later line for it is a top-up, not a duplicate.
    pub received_minor: i64,
}

/// Slack before a difference counts, from the settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tolerances {
    /// Cash short or over by at most this (minor units) still matches.
    pub amount_minor: i64,
    /// A fee above the contract by at most this still matches.
    pub fee_minor: i64,
    /// Days after the settlement cycle before a delivered parcel counts as missing.
    pub grace_days: i64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances { amount_minor: 0, fee_minor: 0, grace_days: 3 }
    }
}

/// One line's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineMatch {
    pub line: u32,
    pub class: LineClass,
    /// The shipment it was matched to (also for a duplicate or a mismatch).
    pub shipment: Option<ShipmentId>,
    pub expected: Option<Money>,
    /// What is wrong, when it can be said in one currency: for cash, what the line (with what earlier
    /// statements paid toward it) brings less the expected; for a fee above the contract, the fee less what
    /// the contract allows.
    pub difference: Option<Money>,
    /// The fee the contract allows, when the line's fee is above it.
    pub contract_fee: Option<Money>,
}

/// A delivered shipment the statement should have paid for and did not, past its cycle and the grace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    pub shipment: ShipmentId,
    pub expected: Money,
    pub due_on: Date,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// In line order.
    pub lines: Vec<LineMatch>,
    pub missing: Vec<Missing>,
    /// Beside each expected parcel: whether a line of this statement pays it (not as a duplicate), i.e.
    /// whether recording the statement moves its cash.
    pub paid: Vec<bool>,
}

impl Outcome {
    /// The statement's lines' amounts summed per class and currency.
    pub fn totals(&self, lines: &[StatementLine]) -> HashMap<(LineClass, Currency), i64> {
        let by_line: HashMap<u32, &StatementLine> = lines.iter().map(|l| (l.line, l)).collect();
        let mut out = HashMap::new();
        for m in &self.lines {
            if let Some(l) = by_line.get(&m.line) {
                *out.entry((m.class, l.amount.currency)).or_insert(0) += l.amount.minor;
            }
        }
        out
    }
}

/// Where a statement line's shipment stands among candidates: by tracking number, else by the order's
/// reference (carriers that lose the tracking number keep the seller's order number). An empty reference
/// is no reference: a candidate whose order reference was not read is found by its tracking number only.
pub(crate) struct ShipmentIndex<'a> {
    tracking: HashMap<&'a str, usize>,
    order_ref: HashMap<&'a str, usize>,
}

impl<'a> ShipmentIndex<'a> {
    /// From each candidate's (tracking number, order reference), in candidate order.
    pub(crate) fn new(keys: impl ExactSizeIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut index = ShipmentIndex { tracking: HashMap::with_capacity(keys.len()), order_ref: HashMap::new() };
        for (i, (tracking, order_ref)) in keys.enumerate() {
            index.tracking.insert(tracking, i);
            if !order_ref.is_empty() {
                index.order_ref.insert(order_ref, i);
            }
        }
        index
    }

    pub(crate) fn find(&self, l: &StatementLine) -> Option<usize> {
        l.tracking_number
            .as_deref()
            .and_then(|t| self.tracking.get(t))
            .or_else(|| l.order_ref.as_deref().and_then(|r| self.order_ref.get(r)))
            .copied()
    }
}

/// The shipments a remittance is matched against, indexed once. Their order references may be left empty
/// when read and given afterwards for only the references the file needs ([`Candidates::refs_unresolved`]):
/// most carriers' lines name the parcel by its tracking number, and reading a million orders' references
/// to find none of them used costs more than the matching.
pub struct Candidates<'a> {
    expected: &'a [Expected],
    index: ShipmentIndex<'a>,
}

impl<'a> Candidates<'a> {
    pub fn new(expected: &'a [Expected]) -> Self {
        let index = ShipmentIndex::new(expected.iter().map(|e| (e.tracking_number.as_str(), e.order_ref.as_str())));
        Candidates { expected, index }
    }

    /// The order references of the lines no candidate's tracking number names, each once: the only ones
    /// matching can use.
    pub fn refs_unresolved<'l>(&self, lines: &'l [StatementLine]) -> Vec<&'l str> {
        let mut out: Vec<&str> = lines
            .iter()
            .filter(|l| l.tracking_number.as_deref().is_none_or(|t| !self.index.tracking.contains_key(t)))
            .filter_map(|l| l.order_ref.as_deref())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Gives candidates their order references, as (position among the candidates, reference). Where two
    /// candidates share a reference the later position is found, as when every reference is read with them.
    pub fn add_order_refs(&mut self, refs: &'a [(usize, String)]) {
        let mut refs: Vec<&(usize, String)> =
            refs.iter().filter(|(at, r)| *at < self.expected.len() && !r.is_empty()).collect();
        refs.sort_by_key(|(at, _)| *at);
        for (at, r) in refs {
            self.index.order_ref.insert(r.as_str(), *at);
        }
    }

    /// Classifies every line (see [`remittance`]).
    pub fn remittance(&self, lines: &[StatementLine], tol: Tolerances, as_of: Date) -> Outcome {
        classify(&self.index, lines, self.expected, tol, as_of)
    }
}

/// Classifies every line of a remittance against the shipments expected, and lists the delivered shipments
/// it leaves unpaid past their cycle as of `as_of`. The result depends on the lines' numbers, not on the
/// order they are handed in: of two lines for one shipment the earlier line is paid and the later one a
/// duplicate.
pub fn remittance(lines: &[StatementLine], expected: &[Expected], tol: Tolerances, as_of: Date) -> Outcome {
    Candidates::new(expected).remittance(lines, tol, as_of)
}

fn classify(
    index: &ShipmentIndex,
    lines: &[StatementLine],
    expected: &[Expected],
    tol: Tolerances,
    as_of: Date,
) -> Outcome {
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|i| lines[*i].line);
    let mut paid = vec![false; expected.len()];
    let mut out = Vec::with_capacity(lines.len());
    for i in order {
        let l = &lines[i];
        let Some(at) = index.find(l) else {
            out.push(LineMatch {
                line: l.line,
                class: LineClass::UnknownReference,
                shipment: None,
                expected: None,
                difference: None,
                contract_fee: None,
            });
            continue;
        };
        let e = &expected[at];
        let mut m = LineMatch {
            line: l.line,
            class: LineClass::Matched,
            shipment: Some(e.shipment.clone()),
            expected: Some(e.cod),
            difference: None,
            contract_fee: None,
        };
        if e.remitted || paid[at] {
            m.class = LineClass::Duplicate;
        } else if l.amount.currency != e.cod.currency {
            m.class = LineClass::CurrencyMismatch;
        } else {
            paid[at] = true;
            // A top-up for a parcel paid short before counts with what came then.
            let diff = e.received_minor + l.amount.minor - e.cod.minor;
            m.difference = Some(Money::new(diff, e.cod.currency));
            let allowed = e.terms.fee(l.amount);
            let fee_above = l.fee.minor > allowed.minor + tol.fee_minor;
            if diff < -tol.amount_minor {
                m.class = LineClass::ShortPaid;
            } else if diff > tol.amount_minor {
                m.class = LineClass::OverPaid;
            } else if fee_above {
                m.class = LineClass::FeeAboveContract;
                m.difference = Some(Money::new(l.fee.minor - allowed.minor, e.cod.currency));
            }
            if fee_above {
                m.contract_fee = Some(allowed);
            }
        }
        out.push(m);
    }
    let missing = expected
        .iter()
        .zip(&paid)
        .filter(|(e, paid)| !**paid && !e.remitted)
        .filter_map(|(e, _)| {
            let due_on = e.delivered_on? + Duration::days(e.terms.cycle_days + tol.grace_days);
            (due_on < as_of).then(|| Missing { shipment: e.shipment.clone(), expected: e.cod, due_on })
        })
        .collect();
    Outcome { lines: out, missing, paid }
}

/// A remittance a payout may carry: its reference and what the carrier said it paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remitted {
    pub reference: String,
    pub net: Money,
    /// Already carried by an earlier payout.
    pub paid_out: bool,
}

/// Classifies each payout line against the remittances by reference: the third leg of the three-way match
/// (delivered → remitted by the carrier → paid out by the platform). A payout's gross is what the
/// remittance said; its fee and rate are the platform's.
/// The words a payout line's reference may name its remittance by: the whole text, then each word of it, as a
/// payer's reference sits inside a bank's or wallet's description ("Payment from SMSA, ref REM-2026-11-01.").
pub fn reference_words(text: &str) -> impl Iterator<Item = &str> {
    let whole = text.trim();
    std::iter::once(whole).chain(
        whole
            .split(|c: char| c.is_whitespace() || ",;:()[]{}#\"'".contains(c))
            .map(|w| w.trim_end_matches('.'))
            .filter(move |w| !w.is_empty() && *w != whole),
    )
}

/// Gives each payout line whose reference is not a remittance's the remittance one of its words names (the
/// first), so that the line is matched, and recorded, as paying that remittance.
pub fn resolve_payout_references(lines: &mut [StatementLine], remitted: &[Remitted]) {
    let known: std::collections::HashSet<&str> = remitted.iter().map(|r| r.reference.as_str()).collect();
    for l in lines {
        let Some(text) = l.reference.as_deref() else { continue };
        if known.contains(text) {
            continue;
        }
        let named = reference_words(text).find(|w| known.contains(w)).map(str::to_owned);
        if named.is_some() {
            l.reference = named;
        }
    }
}

pub fn payouts(lines: &[StatementLine], remitted: &[Remitted], tol: Tolerances) -> Vec<LineMatch> {
    // A remittance in several currencies is paid out once per currency.
    let mut by_ref: HashMap<&str, Vec<&Remitted>> = HashMap::new();
    for r in remitted {
        by_ref.entry(r.reference.as_str()).or_default().push(r);
    }
    let mut order: Vec<&StatementLine> = lines.iter().collect();
    order.sort_by_key(|l| l.line);
    let mut seen: HashMap<(&str, Currency), ()> = HashMap::new();
    order
        .into_iter()
        .map(|l| {
            let r =
                l.reference.as_deref().and_then(|x| by_ref.get(x)).and_then(|rs| {
                    rs.iter().find(|r| r.net.currency == l.amount.currency).or_else(|| rs.first()).copied()
                });
            let mut m = LineMatch {
                line: l.line,
                class: LineClass::UnknownReference,
                shipment: None,
                expected: r.map(|r| r.net),
                difference: None,
                contract_fee: None,
            };
            let Some(r) = r else { return m };
            m.class = if r.net.currency != l.amount.currency {
                LineClass::CurrencyMismatch
            } else if r.paid_out || seen.insert((r.reference.as_str(), r.net.currency), ()).is_some() {
                LineClass::Duplicate
            } else {
                let diff = l.amount.minor - r.net.minor;
                m.difference = Some(Money::new(diff, r.net.currency));
                if diff < -tol.amount_minor {
                    LineClass::ShortPaid
                } else if diff > tol.amount_minor {
                    LineClass::OverPaid
                } else {
                    LineClass::Matched
                }
            };
            m
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn sar(minor: i64) -> Money {
        Money::new(minor, Currency::parse("SAR").unwrap())
    }

    const TERMS: CodTerms = CodTerms { fee_bp: 200, fee_min_minor: 500, fee_max_minor: None, cycle_days: 7 };

    fn expected(n: usize) -> Vec<Expected> {
        (0..n)
            .map(|i| Expected {
                shipment: ShipmentId::generate(),
                tracking_number: format!("SBX{i}"),
                order_ref: format!("#{i}"),
                cod: sar(10_000 + i as i64 * 100),
                delivered_on: Some(date!(2026 - 07 - 01)),
                terms: TERMS,
                remitted: false,
                received_minor: 0,
            })
            .collect()
    }

    fn line(n: u32, tracking: &str, amount: Money, fee: i64) -> StatementLine {
        StatementLine {
            line: n,
            tracking_number: Some(tracking.into()),
            order_ref: None,
            reference: Some("R1".into()),
            date: None,
            amount,
            fee: Money::new(fee, amount.currency),
            freight: Money::zero(amount.currency),
            other: Money::zero(amount.currency),
            net: Money::new(amount.minor - fee, amount.currency),
            fx_rate: None,
            settled: None,
            billed_weight_g: None,
            zone: None,
        }
    }

    #[test]
    fn a_statement_with_one_line_of_each_kind_is_classified_line_by_line() {
        let mut exp = expected(8);
        exp[6].remitted = true;
        let usd = Money::new(10_400, Currency::parse("USD").unwrap());
        let lines = vec![
            line(2, "SBX0", sar(10_000), 500),
            line(3, "SBX1", sar(9_000), 500),
            line(4, "SBX2", sar(10_300), 500),
            line(5, "SBX3", sar(10_300), 900),
            line(6, "SBX0", sar(10_000), 500),
            line(7, "NOPE", sar(10_000), 500),
            line(8, "SBX4", usd, 500),
            line(9, "SBX6", sar(10_600), 500),
            StatementLine { tracking_number: None, order_ref: Some("#5".into()), ..line(10, "", sar(10_500), 500) },
        ];
        let out = remittance(&lines, &exp, Tolerances::default(), date!(2026 - 07 - 20));
        let classes: Vec<(u32, &str)> = out.lines.iter().map(|m| (m.line, m.class.as_str())).collect();
        assert_eq!(
            classes,
            vec![
                (2, "matched"),
                (3, "short_paid"),
                (4, "over_paid"),
                (5, "fee_above_contract"),
                (6, "duplicate"),
                (7, "unknown_reference"),
                (8, "currency_mismatch"),
                (9, "duplicate"),
                (10, "matched"),
            ]
        );
        assert_eq!(out.lines[1].difference, Some(sar(-1_100)));
        // 2% of 103.00 is 2.06, under the floor of 5.00; a fee of 9.00 is 4.00 above the contract.
        assert_eq!(out.lines[3].contract_fee, Some(sar(500)));
        assert_eq!(out.lines[3].difference, Some(sar(400)));
        // The mismatch keeps the parcel's expected amount in the parcel's own currency.
        assert_eq!(out.lines[6].expected, Some(sar(10_400)));
        assert_eq!(out.lines[6].difference, None);
        // SBX4 was paid in the wrong currency and SBX7 not at all: both are missing past 1 July + 7 + 3 days.
        let missing: Vec<&ShipmentId> = out.missing.iter().map(|m| &m.shipment).collect();
        assert_eq!(missing, vec![&exp[4].shipment, &exp[7].shipment]);
        assert_eq!(out.missing[0].due_on, date!(2026 - 07 - 11));
        let early = remittance(&lines, &exp, Tolerances::default(), date!(2026 - 07 - 11));
        assert!(early.missing.is_empty(), "nothing is missing until its cycle and grace have passed");
        // Recording moves the cash of the parcels paid once by this statement: not the one in another
        // currency, not the one remitted before, not the one left out.
        assert_eq!(out.paid, vec![true, true, true, true, false, true, false, false]);
    }

    #[test]
    fn a_top_up_for_a_parcel_paid_short_before_completes_it_instead_of_being_a_duplicate() {
        let mut exp = expected(3);
        // 100.00 owed, 89.00 came on an earlier statement.
        exp[0].received_minor = 8_900;
        // 101.00 owed, paid in full before.
        exp[1].remitted = true;
        exp[1].received_minor = 10_100;
        // 102.00 owed, 50.00 came before.
        exp[2].received_minor = 5_000;
        let lines =
            vec![line(2, "SBX0", sar(1_100), 500), line(3, "SBX1", sar(100), 500), line(4, "SBX2", sar(2_000), 500)];
        let out = remittance(&lines, &exp, Tolerances::default(), date!(2026 - 07 - 05));
        let classes: Vec<&str> = out.lines.iter().map(|m| m.class.as_str()).collect();
        assert_eq!(classes, ["matched", "duplicate", "short_paid"]);
        assert_eq!(out.lines[0].difference, Some(sar(0)));
        // 50.00 + 20.00 of 102.00: still 32.00 short.
        assert_eq!(out.lines[2].difference, Some(sar(-3_200)));
    }

    #[test]
    fn the_contract_fee_has_a_floor_and_a_ceiling() {
        let t = CodTerms { fee_bp: 250, fee_min_minor: 300, fee_max_minor: Some(2_000), cycle_days: 7 };
        assert_eq!(t.fee(sar(10_000)).minor, 300);
        assert_eq!(t.fee(sar(50_000)).minor, 1_250);
        assert_eq!(t.fee(sar(500_000)).minor, 2_000);
    }

    #[test]
    fn a_payout_is_matched_to_the_remittance_it_names() {
        let remitted = vec![
            Remitted { reference: "R1".into(), net: sar(100_000), paid_out: false },
            Remitted { reference: "R2".into(), net: sar(50_000), paid_out: true },
            Remitted { reference: "R3".into(), net: sar(70_000), paid_out: false },
        ];
        let p = |n: u32, r: &str, m: Money| StatementLine { reference: Some(r.into()), ..line(n, "", m, 0) };
        let out = payouts(
            &[p(2, "R1", sar(100_000)), p(3, "R2", sar(50_000)), p(4, "R3", sar(69_000)), p(5, "R9", sar(1))],
            &remitted,
            Tolerances::default(),
        );
        let classes: Vec<&str> = out.iter().map(|m| m.class.as_str()).collect();
        assert_eq!(classes, vec!["matched", "duplicate", "short_paid", "unknown_reference"]);
    }

    #[test]
    fn a_payout_naming_its_remittance_inside_a_description_is_matched_by_that_word() {
        let remitted = vec![
            Remitted { reference: "REM-2026-11-01".into(), net: sar(100_000), paid_out: false },
            Remitted { reference: "R2".into(), net: sar(5_000), paid_out: false },
        ];
        let p = |n: u32, r: &str| StatementLine { reference: Some(r.into()), ..line(n, "", sar(100_000), 0) };
        let mut lines = vec![
            p(2, "Payment from SMSA, ref REM-2026-11-01."),
            p(3, "REM-2026-11-0"),
            p(4, "Payment from SMSA (PREM-2026-11-01)"),
            p(5, "  REM-2026-11-01  "),
        ];
        resolve_payout_references(&mut lines, &remitted);
        assert_eq!(lines[0].reference.as_deref(), Some("REM-2026-11-01"), "recorded as paying it");
        assert_eq!(lines[2].reference.as_deref(), Some("Payment from SMSA (PREM-2026-11-01)"), "left as it was");
        let out = payouts(&lines, &remitted, Tolerances::default());
        let classes: Vec<&str> = out.iter().map(|m| m.class.as_str()).collect();
        assert_eq!(classes, vec!["matched", "unknown_reference", "unknown_reference", "duplicate"]);
    }

    #[test]
    fn a_remittance_in_several_currencies_is_paid_out_once_per_currency() {
        let aed = |m: i64| Money::new(m, Currency::parse("AED").unwrap());
        let usd = Money::new(100, Currency::parse("USD").unwrap());
        let remitted = vec![
            Remitted { reference: "R1".into(), net: sar(100_000), paid_out: false },
            Remitted { reference: "R1".into(), net: aed(40_000), paid_out: false },
        ];
        let p = |n: u32, m: Money| StatementLine { reference: Some("R1".into()), ..line(n, "", m, 0) };
        let out = payouts(
            &[p(2, aed(40_000)), p(3, sar(100_000)), p(4, sar(100_000)), p(5, usd)],
            &remitted,
            Tolerances::default(),
        );
        let classes: Vec<&str> = out.iter().map(|m| m.class.as_str()).collect();
        assert_eq!(classes, vec!["matched", "matched", "duplicate", "currency_mismatch"]);
    }

    fn arb_lines() -> impl Strategy<Value = Vec<StatementLine>> {
        proptest::collection::vec((0usize..12, 9_000i64..11_500, 0i64..800, any::<bool>()), 0..30).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (t, amount, fee, usd))| {
                    let m = if usd { Money::new(amount, Currency::parse("USD").unwrap()) } else { sar(amount) };
                    line(i as u32 + 2, &format!("SBX{t}"), m, fee)
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn order_references_looked_up_for_only_the_unresolved_lines_give_the_verdict_of_all_read(
            picks in proptest::collection::vec((0usize..14, any::<bool>(), 9_000i64..11_000), 0..30),
            shared in 0usize..10,
        ) {
            // Candidates 0..10; two share an order reference (the later wins); lines name a candidate by
            // tracking number, by reference, by a tracking number of no candidate with a reference, or not at all.
            let mut all = expected(10);
            all[shared].order_ref = all[9].order_ref.clone();
            let lines: Vec<StatementLine> = picks
                .iter()
                .enumerate()
                .map(|(i, (at, by_ref, amount))| {
                    let l = line(i as u32 + 2, &format!("SBX{at}"), sar(*amount), 0);
                    let order_ref = Some(format!("#{}", at % 12));
                    match (at, by_ref) {
                        (0..10, false) => l,
                        (0..10, true) => StatementLine { tracking_number: None, order_ref, ..l },
                        (_, true) => StatementLine { tracking_number: Some(format!("X{at}")), order_ref, ..l },
                        (_, false) => StatementLine { order_ref: None, ..l },
                    }
                })
                .collect();
            let tol = Tolerances::default();
            let as_of = date!(2026 - 08 - 01);
            let want = remittance(&lines, &all, tol, as_of);
            let mut unread = all.clone();
            for e in &mut unread {
                e.order_ref = String::new();
            }
            let mut c = Candidates::new(&unread);
            let refs = c.refs_unresolved(&lines);
            for r in &refs {
                prop_assert!(lines.iter().any(|l| l.order_ref.as_deref() == Some(*r)));
            }
            // What the store answers: every candidate bearing one of the references asked for.
            let found: Vec<(usize, String)> =
                all.iter().enumerate().filter(|(_, e)| refs.contains(&e.order_ref.as_str())).map(|(i, e)| (i, e.order_ref.clone())).collect();
            c.add_order_refs(&found);
            prop_assert_eq!(c.remittance(&lines, tol, as_of), want);
        }

        #[test]
        fn the_verdict_does_not_depend_on_line_order_and_the_classes_add_up_to_the_total(
            lines in arb_lines(),
            seed in any::<u64>(),
        ) {
            let exp = expected(10);
            let tol = Tolerances { amount_minor: 50, fee_minor: 0, grace_days: 3 };
            let as_of = date!(2026 - 08 - 01);
            let a = remittance(&lines, &exp, tol, as_of);
            let mut shuffled = lines.clone();
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let b = remittance(&shuffled, &exp, tol, as_of);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(a.lines.len(), lines.len());
            let mut total: HashMap<Currency, i64> = HashMap::new();
            for l in &lines {
                *total.entry(l.amount.currency).or_insert(0) += l.amount.minor;
            }
            let mut classified: HashMap<Currency, i64> = HashMap::new();
            for ((_, c), v) in a.totals(&lines) {
                *classified.entry(c).or_insert(0) += v;
            }
            prop_assert_eq!(total, classified);
            // Reconciling again gives the same verdict.
            prop_assert_eq!(remittance(&lines, &exp, tol, as_of), a);
        }
    }
}
