//! Inbound goods: purchase orders placed with suppliers, the advance shipping notices (ASN) of what each supplier
//! shipment carries, and what receiving counted against them. Stock rises only by what was counted in good
//! condition; short, over, damaged and unexpected items are discrepancies someone must follow up.

use time::{Date, OffsetDateTime};

use crate::{AsnId, AsnRef, BinLocation, Error, PoNumber, ProductId, PurchaseOrderId, Sku, WarehouseCode};

/// Most lines one purchase order or ASN carries.
pub const MAX_LINES: usize = 500;
/// Most units of one SKU on one line.
pub const MAX_QUANTITY: i64 = 1_000_000;

/// A quantity ordered or announced: 1 to [`MAX_QUANTITY`].
pub fn quantity(n: i64) -> Result<i64, Error> {
    if (1..=MAX_QUANTITY).contains(&n) {
        Ok(n)
    } else {
        Err(Error::invalid("quantity", format!("{n} is not a quantity (1 to {MAX_QUANTITY})")))
    }
}

/// A day written `YYYY-MM-DD`, between 2000 and 2100.
pub fn day(s: &str) -> Result<Date, Error> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d =
        Date::parse(s.trim(), fmt).map_err(|_| Error::invalid("date", format!("{s:?} is not a date (YYYY-MM-DD)")))?;
    crate::text::date(d)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoStatus {
    /// Placed; nothing received yet.
    Open,
    /// Some of it received.
    PartlyReceived,
    /// Every line received in full (good and damaged counted).
    Received,
    /// Closed by a person with lines still short: nothing more is expected.
    Closed,
    /// Withdrawn before anything arrived.
    Cancelled,
}

impl PoStatus {
    pub const ALL: [PoStatus; 5] =
        [PoStatus::Open, PoStatus::PartlyReceived, PoStatus::Received, PoStatus::Closed, PoStatus::Cancelled];

    pub fn as_str(&self) -> &'static str {
        match self {
            PoStatus::Open => "open",
            PoStatus::PartlyReceived => "partly_received",
            PoStatus::Received => "received",
            PoStatus::Closed => "closed",
            PoStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<PoStatus> {
        PoStatus::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Goods may still arrive against it (and ASNs be announced).
    pub fn expects_goods(&self) -> bool {
        matches!(self, PoStatus::Open | PoStatus::PartlyReceived)
    }

    /// What a purchase order that still expects goods becomes once its lines stand as they do.
    pub fn from_lines(lines: &[PoLine]) -> PoStatus {
        if lines.iter().all(|l| l.counted() >= l.ordered) {
            PoStatus::Received
        } else if lines.iter().any(|l| l.counted() > 0) {
            PoStatus::PartlyReceived
        } else {
            PoStatus::Open
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsnStatus {
    /// Announced, not yet at the dock.
    Expected,
    /// Being counted at the dock.
    Receiving,
    /// Counted and put away; stock has risen.
    Received,
    /// The shipment will not come.
    Cancelled,
}

impl AsnStatus {
    pub const ALL: [AsnStatus; 4] =
        [AsnStatus::Expected, AsnStatus::Receiving, AsnStatus::Received, AsnStatus::Cancelled];

    pub fn as_str(&self) -> &'static str {
        match self {
            AsnStatus::Expected => "expected",
            AsnStatus::Receiving => "receiving",
            AsnStatus::Received => "received",
            AsnStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<AsnStatus> {
        AsnStatus::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Counts may still change.
    pub fn is_open(&self) -> bool {
        matches!(self, AsnStatus::Expected | AsnStatus::Receiving)
    }
}

/// The condition a counted unit arrived in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    Good,
    Damaged,
}

impl Condition {
    pub fn as_str(&self) -> &'static str {
        match self {
            Condition::Good => "good",
            Condition::Damaged => "damaged",
        }
    }

    pub fn parse(s: &str) -> Result<Condition, Error> {
        match s.trim() {
            "" | "good" => Ok(Condition::Good),
            "damaged" => Ok(Condition::Damaged),
            other => Err(Error::invalid("condition", format!("{other:?} is not a condition (good or damaged)"))),
        }
    }
}

/// One SKU of a purchase order: ordered, and what its received ASNs counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoLine {
    pub product: ProductId,
    pub sku: Sku,
    pub ordered: i64,
    pub received: i64,
    pub damaged: i64,
}

impl PoLine {
    pub fn counted(&self) -> i64 {
        self.received + self.damaged
    }

    /// Units not yet arrived (never below zero).
    pub fn outstanding(&self) -> i64 {
        (self.ordered - self.counted()).max(0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurchaseOrder {
    pub id: PurchaseOrderId,
    pub number: PoNumber,
    pub supplier: String,
    pub warehouse: WarehouseCode,
    pub status: PoStatus,
    pub expected_on: Option<Date>,
    pub note: Option<String>,
    pub lines: Vec<PoLine>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// One SKU of an ASN: announced (zero when it arrived unannounced), counted good and damaged, and the bin the
/// good units were put away to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsnLine {
    pub product: ProductId,
    pub sku: Sku,
    pub expected: i64,
    pub good: i64,
    pub damaged: i64,
    pub bin: Option<BinLocation>,
}

impl AsnLine {
    pub fn counted(&self) -> i64 {
        self.good + self.damaged
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asn {
    pub id: AsnId,
    pub reference: AsnRef,
    pub po: PurchaseOrderId,
    pub po_number: PoNumber,
    pub warehouse: WarehouseCode,
    pub status: AsnStatus,
    /// The supplier's or forwarder's tracking number of the shipment, when known.
    pub tracking: Option<String>,
    pub expected_on: Option<Date>,
    pub lines: Vec<AsnLine>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub received_at: Option<OffsetDateTime>,
}

/// What receiving found that differs from the notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Discrepancy {
    /// Fewer units than announced (good and damaged together).
    Short { sku: Sku, expected: i64, counted: i64 },
    /// More units than announced.
    Over { sku: Sku, expected: i64, counted: i64 },
    /// Units that arrived damaged: not put on sale.
    Damaged { sku: Sku, units: i64 },
    /// A SKU the notice did not name.
    Unexpected { sku: Sku, units: i64 },
}

impl Discrepancy {
    pub fn kind(&self) -> &'static str {
        match self {
            Discrepancy::Short { .. } => "short",
            Discrepancy::Over { .. } => "over",
            Discrepancy::Damaged { .. } => "damaged",
            Discrepancy::Unexpected { .. } => "unexpected",
        }
    }

    pub fn sku(&self) -> &Sku {
        match self {
            Discrepancy::Short { sku, .. }
            | Discrepancy::Over { sku, .. }
            | Discrepancy::Damaged { sku, .. }
            | Discrepancy::Unexpected { sku, .. } => sku,
        }
    }

    /// The units by which the count differs (always positive).
    pub fn units(&self) -> i64 {
        match self {
            Discrepancy::Short { expected, counted, .. } => expected - counted,
            Discrepancy::Over { expected, counted, .. } => counted - expected,
            Discrepancy::Damaged { units, .. } | Discrepancy::Unexpected { units, .. } => *units,
        }
    }
}

impl std::fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Discrepancy::Short { sku, expected, counted } => write!(f, "{sku}: {counted} of {expected}, short"),
            Discrepancy::Over { sku, expected, counted } => write!(f, "{sku}: {counted} of {expected}, over"),
            Discrepancy::Damaged { sku, units } => write!(f, "{sku}: {units} damaged"),
            Discrepancy::Unexpected { sku, units } => write!(f, "{sku}: {units} not on the notice"),
        }
    }
}

/// Every difference between an ASN's notice and its count, line by line in SKU order.
pub fn discrepancies(lines: &[AsnLine]) -> Vec<Discrepancy> {
    let mut out = Vec::new();
    let mut sorted: Vec<&AsnLine> = lines.iter().collect();
    sorted.sort_by(|a, b| a.sku.cmp(&b.sku));
    for l in sorted {
        let counted = l.counted();
        if l.expected == 0 {
            if counted > 0 {
                out.push(Discrepancy::Unexpected { sku: l.sku.clone(), units: counted });
            }
        } else if counted < l.expected {
            out.push(Discrepancy::Short { sku: l.sku.clone(), expected: l.expected, counted });
        } else if counted > l.expected {
            out.push(Discrepancy::Over { sku: l.sku.clone(), expected: l.expected, counted });
        }
        if l.damaged > 0 {
            out.push(Discrepancy::Damaged { sku: l.sku.clone(), units: l.damaged });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(sku: &str, expected: i64, good: i64, damaged: i64) -> AsnLine {
        AsnLine { product: ProductId::generate(), sku: Sku::parse(sku).unwrap(), expected, good, damaged, bin: None }
    }

    fn po_line(ordered: i64, received: i64, damaged: i64) -> PoLine {
        PoLine { product: ProductId::generate(), sku: Sku::parse("A").unwrap(), ordered, received, damaged }
    }

    #[test]
    fn a_count_equal_to_the_notice_has_no_discrepancy() {
        assert!(discrepancies(&[line("A", 10, 10, 0), line("B", 3, 3, 0)]).is_empty());
    }

    #[test]
    fn short_over_damaged_and_unexpected_are_each_named_with_their_units() {
        let found = discrepancies(&[line("D", 0, 2, 0), line("A", 10, 7, 1), line("B", 3, 5, 0), line("C", 4, 4, 0)]);
        let got: Vec<(String, &str, i64)> = found.iter().map(|d| (d.sku().to_string(), d.kind(), d.units())).collect();
        assert_eq!(
            got,
            vec![
                ("A".into(), "short", 2),
                ("A".into(), "damaged", 1),
                ("B".into(), "over", 2),
                ("D".into(), "unexpected", 2)
            ]
        );
        assert_eq!(found[0].to_string(), "A: 8 of 10, short");
    }

    #[test]
    fn damaged_units_count_towards_the_notice_but_are_still_a_discrepancy() {
        let found = discrepancies(&[line("A", 5, 3, 2)]);
        assert_eq!(found, vec![Discrepancy::Damaged { sku: Sku::parse("A").unwrap(), units: 2 }]);
    }

    #[test]
    fn a_purchase_order_is_received_when_every_line_is_counted_in_full() {
        assert_eq!(PoStatus::from_lines(&[po_line(5, 0, 0), po_line(2, 0, 0)]), PoStatus::Open);
        assert_eq!(PoStatus::from_lines(&[po_line(5, 4, 0), po_line(2, 0, 0)]), PoStatus::PartlyReceived);
        assert_eq!(PoStatus::from_lines(&[po_line(5, 4, 1), po_line(2, 3, 0)]), PoStatus::Received);
        assert_eq!(po_line(5, 4, 0).outstanding(), 1);
        assert_eq!(po_line(2, 3, 0).outstanding(), 0);
    }

    #[test]
    fn quantities_days_and_conditions_are_strict() {
        assert!(quantity(0).is_err());
        assert!(quantity(-3).is_err());
        assert!(quantity(MAX_QUANTITY + 1).is_err());
        assert_eq!(quantity(12).unwrap(), 12);
        assert!(day("2026-02-30").is_err());
        assert!(day("12/05/2026").is_err());
        assert_eq!(day(" 2026-12-24 ").unwrap().to_string(), "2026-12-24");
        assert_eq!(Condition::parse("").unwrap(), Condition::Good);
        assert!(Condition::parse("broken").is_err());
        for s in PoStatus::ALL {
            assert_eq!(PoStatus::parse(s.as_str()), Some(s));
        }
        for s in AsnStatus::ALL {
            assert_eq!(AsnStatus::parse(s.as_str()), Some(s));
        }
    }
}
