//! The warehouse floor: product barcodes, what a scanned code means, a parcel's measurements and the
//! weight check that decides whether it prints, is re-rated or is held.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use time::OffsetDateTime;

use crate::{Error, OrderId, PackId, ShipmentId, StationCode, WarehouseCode};

/// A barcode on a product: a GTIN (EAN-8, UPC-A, EAN-13, GTIN-14, check digit verified) or the seller's own
/// code (letters, digits and `-._/`, up to 48 characters). Kept as scanned, so the scan matches it exactly.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
#[serde(transparent)]
pub struct Barcode(String);

impl Barcode {
    pub fn parse(s: &str) -> Result<Barcode, Error> {
        let t = s.trim();
        if t.is_empty() || t.len() > 48 {
            return Err(Error::invalid("barcode", "a barcode is 1 to 48 characters"));
        }
        if let Some(c) = t.chars().find(|c| !(c.is_ascii_alphanumeric() || "-._/".contains(*c))) {
            return Err(Error::invalid(
                "barcode",
                format!("{c:?} is not allowed in a barcode (letters, digits, - . _ /)"),
            ));
        }
        if t.bytes().all(|b| b.is_ascii_digit()) && matches!(t.len(), 8 | 12 | 13 | 14) && !gtin_valid(t) {
            return Err(Error::invalid(
                "barcode",
                format!("{t} looks like a GTIN ({} digits) but its check digit is wrong", t.len()),
            ));
        }
        Ok(Barcode(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The GTIN whose digits before the check digit are `body` (7, 11, 12 or 13 digits), check digit added.
    pub fn gtin(body: &str) -> Result<Barcode, Error> {
        if !matches!(body.len(), 7 | 11 | 12 | 13) || !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("barcode", "a GTIN body is 7, 11, 12 or 13 digits"));
        }
        (0..10u8)
            .map(|d| format!("{body}{d}"))
            .find(|c| gtin_valid(c))
            .map(Barcode)
            .ok_or_else(|| Error::invalid("barcode", "no check digit fits"))
    }
}

impl std::fmt::Display for Barcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The GS1 check digit: digits weighted 3 and 1 alternately from the right (the check digit excluded).
fn gtin_valid(digits: &str) -> bool {
    let d: Vec<u32> = digits.bytes().map(|b| (b - b'0') as u32).collect();
    let (body, check) = d.split_at(d.len() - 1);
    let sum: u32 = body.iter().rev().enumerate().map(|(i, v)| if i % 2 == 0 { v * 3 } else { *v }).sum();
    (10 - sum % 10) % 10 == check[0]
}

/// The heaviest parcel the floor accepts, in grams: anything above is a misread scale, not a parcel.
pub const MAX_PARCEL_G: i64 = 150_000;
/// The longest side accepted, in centimetres.
pub const MAX_SIDE_CM: i64 = 300;

/// A parcel as measured: weight, and its sides when they were measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    pub weight_g: i64,
    /// Length, width, height in whole centimetres.
    pub dims_cm: Option<[i64; 3]>,
}

impl Measure {
    /// A reading in grams and optional sides; each refused with the field it came from.
    pub fn parse(weight_g: i64, dims: [Option<i64>; 3]) -> Result<Measure, Error> {
        if weight_g <= 0 {
            return Err(Error::invalid(
                "weight_g",
                format!("{weight_g} g is not a parcel's weight: put it on the scale"),
            ));
        }
        if weight_g > MAX_PARCEL_G {
            return Err(Error::invalid(
                "weight_g",
                format!(
                    "{weight_g} g is more than a parcel can weigh ({} kg); is the scale zeroed?",
                    MAX_PARCEL_G / 1000
                ),
            ));
        }
        let dims_cm = match dims {
            [None, None, None] => None,
            [Some(l), Some(w), Some(h)] => {
                for (field, v) in [("length_cm", l), ("width_cm", w), ("height_cm", h)] {
                    if !(1..=MAX_SIDE_CM).contains(&v) {
                        return Err(Error::invalid(
                            field,
                            format!("{v} cm is not a side of a parcel (1 to {MAX_SIDE_CM})"),
                        ));
                    }
                }
                Some([l, w, h])
            }
            _ => return Err(Error::invalid("length_cm", "give all three sides (length, width, height) or none")),
        };
        Ok(Measure { weight_g, dims_cm })
    }
}

/// How far a weight may be from what was expected: the larger of an absolute and a relative margin, so a
/// 100 g parcel is not held for 12 g and a 10 kg one is not held for 200 g.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tolerance {
    pub grams: i64,
    pub percent: i64,
}

impl Tolerance {
    pub fn margin_g(&self, expected_g: i64) -> i64 {
        self.grams.max(expected_g.saturating_mul(self.percent) / 100)
    }

    pub fn allows(&self, expected_g: i64, actual_g: i64) -> bool {
        (actual_g - expected_g).abs() <= self.margin_g(expected_g)
    }

    fn check(&self, what: &str, errors: &mut Vec<String>) {
        if !(0..=MAX_PARCEL_G).contains(&self.grams) {
            errors.push(format!("{what}.grams: 0 to {MAX_PARCEL_G}"));
        }
        if !(0..=1000).contains(&self.percent) {
            errors.push(format!("{what}.percent: 0 to 1000"));
        }
    }
}

/// The floor's weight rules: the margin within which a parcel prints as booked, the wider one beyond which it
/// is held (most likely the wrong contents), what packaging adds, and how much better another channel must be
/// before a booked parcel is moved to it. Margins can be set per channel and per product category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FloorRules {
    pub tolerance: Tolerance,
    pub intercept: Tolerance,
    /// Grams the box and filling add to the units' weight when nothing better is known.
    pub packaging_g: i64,
    /// In the base currency's minor units: a re-rated parcel moves to another channel only when it is better
    /// than the booked one by more than this (expected profit, or cost under the cheapest strategy).
    pub rebook_margin_minor: i64,
    /// Hours after its label printed by which a parcel must be handed to its carrier; later, a task.
    #[serde(default = "default_cutoff")]
    pub pickup_cutoff_hours: i64,
    #[serde(default)]
    pub by_channel: BTreeMap<String, Tolerance>,
    #[serde(default)]
    pub by_category: BTreeMap<String, Tolerance>,
    /// Each carrier's daily pickup time at the warehouse (`"sandbox": "16:00"`, local time as the floor reads
    /// the clock): a wave can take only the orders that leave with the pickups up to a time.
    #[serde(default)]
    pub carrier_cutoffs: BTreeMap<String, String>,
}

/// A time of day written `HH:MM`, as minutes after midnight.
pub fn time_of_day(s: &str) -> Result<u16, Error> {
    let bad = || Error::invalid("time", format!("{s:?} is not a time of day (HH:MM)"));
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl FloorRules {
    /// The carriers whose daily pickup is at or before `minutes` after midnight.
    pub fn carriers_cut_off_by(&self, minutes: u16) -> Vec<&str> {
        self.carrier_cutoffs
            .iter()
            .filter(|(_, t)| time_of_day(t).is_ok_and(|c| c <= minutes))
            .map(|(c, _)| c.as_str())
            .collect()
    }
}

fn default_cutoff() -> i64 {
    24
}

impl Default for FloorRules {
    fn default() -> Self {
        FloorRules {
            tolerance: Tolerance { grams: 30, percent: 10 },
            intercept: Tolerance { grams: 100, percent: 50 },
            packaging_g: 20,
            rebook_margin_minor: 100,
            pickup_cutoff_hours: default_cutoff(),
            by_channel: BTreeMap::new(),
            by_category: BTreeMap::new(),
            carrier_cutoffs: BTreeMap::new(),
        }
    }
}

impl FloorRules {
    pub fn validate(self) -> Result<FloorRules, Error> {
        let mut errors = Vec::new();
        self.tolerance.check("tolerance", &mut errors);
        self.intercept.check("intercept", &mut errors);
        for (k, t) in self.by_channel.iter().chain(&self.by_category) {
            t.check(k, &mut errors);
        }
        if self.intercept.grams < self.tolerance.grams || self.intercept.percent < self.tolerance.percent {
            errors.push("intercept: must be at least as wide as tolerance".into());
        }
        if !(0..=10_000).contains(&self.packaging_g) {
            errors.push("packaging_g: 0 to 10000".into());
        }
        if !(1..=24 * 14).contains(&self.pickup_cutoff_hours) {
            errors.push("pickup_cutoff_hours: 1 to 336".into());
        }
        if self.rebook_margin_minor < 0 {
            errors.push("rebook_margin_minor: not negative".into());
        }
        for (carrier, t) in &self.carrier_cutoffs {
            if let Err(e) = time_of_day(t) {
                errors.push(format!("carrier_cutoffs.{carrier}: {e}"));
            }
        }
        if self.by_channel.len() + self.by_category.len() + self.carrier_cutoffs.len() > 1000 {
            errors.push("by_channel, by_category: at most 1000 entries".into());
        }
        match errors.is_empty() {
            true => Ok(self),
            false => Err(Error::invalid("floor", errors.join("; "))),
        }
    }

    /// The print margin for a parcel on `channel` holding these categories: the channel's own, else the
    /// tightest of its categories', else the default.
    pub fn tolerance_for<'a>(&self, channel: &str, categories: impl IntoIterator<Item = &'a str>) -> Tolerance {
        if let Some(t) = self.by_channel.get(channel) {
            return *t;
        }
        categories
            .into_iter()
            .filter_map(|c| self.by_category.get(&c.to_ascii_lowercase()))
            .min_by_key(|t| (t.grams, t.percent))
            .copied()
            .unwrap_or(self.tolerance)
    }
}

/// What the weight check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// As expected and as quoted: print the label.
    Within,
    /// Off by more than the print margin, or heavier by volume than quoted: quote every channel again.
    Rerate,
    /// So far off that the contents are likely wrong: hold the parcel for a person.
    Intercept,
}

/// Why the check decided what it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    AsExpected,
    Heavier,
    Lighter,
    /// The weight is as expected but the parcel bills heavier than quoted: its measured sides (volumetric
    /// weight), or its box taking it over one of the card's weight steps.
    BillsHeavier,
}

impl Cause {
    pub fn as_str(&self) -> &'static str {
        match self {
            Cause::AsExpected => "as_expected",
            Cause::Heavier => "heavier",
            Cause::Lighter => "lighter",
            Cause::BillsHeavier => "bills_heavier",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WeightCheck {
    pub expected_g: i64,
    pub measured_g: i64,
    pub diff_g: i64,
    pub margin_g: i64,
    pub intercept_margin_g: i64,
    /// Billable weight as quoted at allocation and as the booked channel bills the measured parcel.
    pub quoted_billable_g: i64,
    pub measured_billable_g: i64,
    pub verdict: Verdict,
    pub cause: Cause,
}

/// Decides a weighed parcel: `expected_g` is its units plus packaging, the billable weights are the booked
/// channel's for the parcel as quoted and as measured.
pub fn check(
    expected_g: i64,
    measured_g: i64,
    quoted_billable_g: i64,
    measured_billable_g: i64,
    tolerance: Tolerance,
    intercept: Tolerance,
) -> WeightCheck {
    let diff_g = measured_g - expected_g;
    let off = if diff_g > 0 { Cause::Heavier } else { Cause::Lighter };
    let (verdict, cause) = if !intercept.allows(expected_g, measured_g) {
        (Verdict::Intercept, off)
    } else if !tolerance.allows(expected_g, measured_g) {
        (Verdict::Rerate, off)
    } else if measured_billable_g > quoted_billable_g + tolerance.margin_g(quoted_billable_g) {
        (Verdict::Rerate, Cause::BillsHeavier)
    } else {
        (Verdict::Within, Cause::AsExpected)
    };
    WeightCheck {
        expected_g,
        measured_g,
        diff_g,
        margin_g: tolerance.margin_g(expected_g),
        intercept_margin_g: intercept.margin_g(expected_g),
        quoted_billable_g,
        measured_billable_g,
        verdict,
        cause,
    }
}

/// Where a parcel stands at the pack station.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackStatus {
    /// Opened by a scan; items are being verified.
    Open,
    /// Every item scanned (or a supervisor overrode it): waiting for its weight.
    Verified,
    /// Weighed and its label sent: ready for the bag.
    Packed,
    /// Held by the weight check (or the carrier refused the re-booking): a task says what to do.
    Intercepted,
}

impl PackStatus {
    pub const ALL: [PackStatus; 4] =
        [PackStatus::Open, PackStatus::Verified, PackStatus::Packed, PackStatus::Intercepted];

    pub fn as_str(&self) -> &'static str {
        match self {
            PackStatus::Open => "open",
            PackStatus::Verified => "verified",
            PackStatus::Packed => "packed",
            PackStatus::Intercepted => "intercepted",
        }
    }

    pub fn parse(s: &str) -> Option<PackStatus> {
        PackStatus::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Where a weight came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingSource {
    /// A scale read by the browser (WebHID, WebSerial) or by `codflow scale-bridge`.
    Scale,
    /// A dimensioning device (DWS) pushing weight and sides.
    Dws,
    /// Typed by a person: allowed, always audited.
    Manual,
}

impl ReadingSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            ReadingSource::Scale => "scale",
            ReadingSource::Dws => "dws",
            ReadingSource::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<ReadingSource> {
        [ReadingSource::Scale, ReadingSource::Dws, ReadingSource::Manual].into_iter().find(|r| r.as_str() == s)
    }
}

/// The items of a parcel as verified so far: per SKU, how many it needs and how many were scanned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub lines: Vec<VerifyLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyLine {
    pub sku: String,
    pub needed: i64,
    pub scanned: i64,
}

/// What one item scan did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemScan {
    /// Counted; `done` when it was the last item the parcel needed.
    Counted { sku: String, done: bool },
    /// The SKU belongs to the parcel but all its units are already scanned.
    Extra { sku: String },
    /// A product that is not in this parcel.
    Wrong { sku: String },
}

impl Verification {
    pub fn complete(&self) -> bool {
        self.lines.iter().all(|l| l.scanned >= l.needed)
    }

    pub fn count(&mut self, sku: &str) -> ItemScan {
        match self.lines.iter_mut().find(|l| l.sku == sku) {
            None => ItemScan::Wrong { sku: sku.to_owned() },
            Some(l) if l.scanned >= l.needed => ItemScan::Extra { sku: sku.to_owned() },
            Some(l) => {
                l.scanned += 1;
                ItemScan::Counted { sku: sku.to_owned(), done: self.complete() }
            }
        }
    }
}

/// Where a station's labels go: a network label printer speaking raw ZPL over TCP (`host` or `host:port`,
/// port 9100 when none is given).
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(transparent)]
pub struct PrinterAddr(String);

impl PrinterAddr {
    pub fn parse(s: &str) -> Result<PrinterAddr, Error> {
        let t = s.trim();
        let bad = |why: &str| Error::invalid("printer", format!("{t:?} is not a printer address: {why}"));
        let (host, port) = match t.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.starts_with('[') => {
                let port: u16 = p.parse().map_err(|_| bad("the port is a number from 1 to 65535"))?;
                if port == 0 {
                    return Err(bad("the port is a number from 1 to 65535"));
                }
                (h, port)
            }
            _ => (t, 9100),
        };
        let inner = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let ok = !inner.is_empty()
            && inner.len() <= 253
            && inner.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c));
        if !ok {
            return Err(bad("give a host name or IP address, and a port if not 9100"));
        }
        Ok(PrinterAddr(format!("{host}:{port}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A pack station: where its labels print and whether a device token (scale bridge, DWS) is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Station {
    pub code: StationCode,
    pub name: String,
    pub warehouse: WarehouseCode,
    pub printer: Option<PrinterAddr>,
    pub has_token: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What became of a weighed parcel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Within the margin: printed as booked.
    Passed,
    /// Beyond the margin, but the booked channel is still the right one: printed, with the new expected charge
    /// recorded for the freight invoice.
    Rerated,
    /// Voided with its carrier and booked on a better (or the only possible) channel: a new label.
    Rebooked,
    Intercepted,
    /// Held, then let go by a supervisor (audited) and printed.
    Released,
}

impl Outcome {
    pub const ALL: [Outcome; 5] =
        [Outcome::Passed, Outcome::Rerated, Outcome::Rebooked, Outcome::Intercepted, Outcome::Released];

    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Rerated => "rerated",
            Outcome::Rebooked => "rebooked",
            Outcome::Intercepted => "intercepted",
            Outcome::Released => "released",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// One order's work at a pack station.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pack {
    pub id: PackId,
    pub order_id: OrderId,
    /// The live shipment: after a re-booking, the new one.
    pub shipment_id: ShipmentId,
    pub station: StationCode,
    pub status: PackStatus,
    pub verification: Verification,
    /// Who let the label print without every item scanned.
    pub overridden_by: Option<String>,
    pub measure: Option<Measure>,
    pub source: Option<ReadingSource>,
    pub outcome: Option<Outcome>,
    /// JSON: the readings, the check, the quotes before and after.
    pub evidence: Option<String>,
    pub task_id: Option<crate::TaskId>,
    pub packed_by: String,
    pub printed_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Orders of one warehouse (and channel, when given) picked together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wave {
    pub id: crate::WaveId,
    /// `W` and six digits: printed on the pick ticket, scanned at the pack station.
    pub code: String,
    pub warehouse: WarehouseCode,
    pub channel: Option<crate::ChannelCode>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

/// A wave's ticket or one of its sort slots as scanned: `W000012` or `W000012-03`.
pub fn wave_ticket(code: &str) -> Option<(&str, Option<i64>)> {
    let (wave, slot) = match code.split_once('-') {
        Some((w, s)) => (w, Some(s)),
        None => (code, None),
    };
    let ok = wave.len() == 7 && wave.starts_with('W') && wave[1..].bytes().all(|b| b.is_ascii_digit());
    match (ok, slot) {
        (false, _) => None,
        (true, None) => Some((wave, None)),
        (true, Some(s)) if (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some((wave, s.parse().ok()))
        }
        _ => None,
    }
}

/// The sort slots of a wave's orders: each order of several units gets the next slot, single units none
/// (they are picked as one batch and need no sorting).
pub fn slots(units: &[i64]) -> Vec<Option<i64>> {
    let mut next = 0;
    units
        .iter()
        .map(|u| {
            (*u > 1).then(|| {
                next += 1;
                next
            })
        })
        .collect()
}

/// Where a bag stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BagStatus {
    /// Taking parcels of its key.
    Open,
    /// Sealed with its label: waiting for the carrier's pickup.
    Closed,
    /// Scanned onto the carrier's vehicle.
    HandedOver,
}

impl BagStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            BagStatus::Open => "open",
            BagStatus::Closed => "closed",
            BagStatus::HandedOver => "handed_over",
        }
    }

    pub fn parse(s: &str) -> Option<BagStatus> {
        [BagStatus::Open, BagStatus::Closed, BagStatus::HandedOver].into_iter().find(|b| b.as_str() == s)
    }
}

/// Packed parcels of one warehouse, carrier, channel and destination country, sealed together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bag {
    pub id: crate::BagId,
    /// `B` and six digits: on its label as a barcode.
    pub code: String,
    pub warehouse: WarehouseCode,
    pub carrier: String,
    pub channel: crate::ChannelCode,
    pub country: crate::Country,
    pub status: BagStatus,
    pub handover: Option<crate::HandoverId>,
    pub parcels: i64,
    pub weight_g: i64,
    pub created_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    pub handed_at: Option<OffsetDateTime>,
    /// The carrier's number for the bag, once its API took it.
    pub carrier_ref: Option<String>,
}

/// A reading sent by a scale or a dimensioning device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reading {
    pub id: String,
    pub station: StationCode,
    pub waybill: Option<String>,
    pub measure: Measure,
    pub stable: bool,
    pub source: ReadingSource,
    pub at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtins_are_checked_and_own_codes_are_kept_as_written() {
        assert!(Barcode::parse("4006381333931").is_ok());
        assert!(Barcode::parse("036000291452").is_ok());
        assert!(Barcode::parse("96385074").is_ok());
        assert_eq!(Barcode::gtin("400638133393").unwrap().as_str(), "4006381333931");
        let e = Barcode::parse("4006381333932").unwrap_err();
        assert!(e.to_string().contains("check digit"), "{e}");
        assert_eq!(Barcode::parse(" LAMP-01/A ").unwrap().as_str(), "LAMP-01/A");
        assert!(Barcode::parse("12345").is_ok(), "digits that are not a GTIN length are the seller's own");
        assert!(Barcode::parse("A B").is_err());
        assert!(Barcode::parse("").is_err());
        assert!(Barcode::parse(&"9".repeat(49)).is_err());
    }

    #[test]
    fn a_measure_refuses_zero_negative_absurd_and_half_given_sides() {
        assert!(Measure::parse(350, [None, None, None]).is_ok());
        for w in [0, -5, MAX_PARCEL_G + 1] {
            let e = Measure::parse(w, [None, None, None]).unwrap_err();
            assert!(matches!(e, Error::Invalid { what: "weight_g", .. }), "{e}");
        }
        assert!(Measure::parse(350, [Some(10), None, None]).unwrap_err().to_string().contains("all three"));
        let e = Measure::parse(350, [Some(10), Some(0), Some(5)]).unwrap_err();
        assert!(matches!(e, Error::Invalid { what: "width_cm", .. }), "{e}");
        assert_eq!(Measure::parse(350, [Some(30), Some(20), Some(10)]).unwrap().dims_cm, Some([30, 20, 10]));
    }

    #[test]
    fn the_issue_example_is_held_a_moderate_difference_is_rerated_a_small_one_prints() {
        let r = FloorRules::default();
        // Declared 200 g, actual 350 g.
        assert_eq!(check(200, 350, 200, 350, r.tolerance, r.intercept).verdict, Verdict::Intercept);
        assert_eq!(check(200, 250, 200, 250, r.tolerance, r.intercept).verdict, Verdict::Rerate);
        let ok = check(200, 215, 200, 215, r.tolerance, r.intercept);
        assert_eq!((ok.verdict, ok.cause), (Verdict::Within, Cause::AsExpected));
        let lighter = check(1000, 850, 1000, 900, r.tolerance, r.intercept);
        assert_eq!((lighter.verdict, lighter.cause), (Verdict::Rerate, Cause::Lighter));
        let bulky = check(200, 210, 500, 1500, r.tolerance, r.intercept);
        assert_eq!((bulky.verdict, bulky.cause), (Verdict::Rerate, Cause::BillsHeavier));
    }

    #[test]
    fn margins_take_the_larger_of_grams_and_percent_and_the_channel_beats_categories() {
        let t = Tolerance { grams: 30, percent: 10 };
        assert_eq!(t.margin_g(100), 30);
        assert_eq!(t.margin_g(10_000), 1000);
        let mut r = FloorRules::default();
        r.by_category.insert("fragile".into(), Tolerance { grams: 5, percent: 1 });
        r.by_category.insert("apparel".into(), Tolerance { grams: 50, percent: 20 });
        r.by_channel.insert("SBX-X".into(), Tolerance { grams: 100, percent: 30 });
        assert_eq!(r.tolerance_for("OTHER", ["Apparel", "Fragile"]).grams, 5);
        assert_eq!(r.tolerance_for("SBX-X", ["Fragile"]).grams, 100);
        assert_eq!(r.tolerance_for("OTHER", ["toys"]), r.tolerance);
    }

    #[test]
    fn rules_that_make_no_sense_are_refused_by_field() {
        let r = FloorRules { intercept: Tolerance { grams: 10, percent: 5 }, packaging_g: -1, ..Default::default() };
        let e = FloorRules::validate(r).unwrap_err().to_string();
        assert!(e.contains("intercept") && e.contains("packaging_g"), "{e}");
    }

    #[test]
    fn verification_counts_each_unit_once_and_names_wrong_and_extra_items() {
        let mut v = Verification {
            lines: vec![
                VerifyLine { sku: "A".into(), needed: 2, scanned: 0 },
                VerifyLine { sku: "B".into(), needed: 1, scanned: 0 },
            ],
        };
        assert_eq!(v.count("A"), ItemScan::Counted { sku: "A".into(), done: false });
        assert_eq!(v.count("C"), ItemScan::Wrong { sku: "C".into() });
        assert_eq!(v.count("A"), ItemScan::Counted { sku: "A".into(), done: false });
        assert_eq!(v.count("A"), ItemScan::Extra { sku: "A".into() });
        assert_eq!(v.count("B"), ItemScan::Counted { sku: "B".into(), done: true });
        assert!(v.complete());
    }

    #[test]
    fn printer_addresses_default_to_port_9100_and_refuse_urls() {
        assert_eq!(PrinterAddr::parse("10.0.0.7").unwrap().as_str(), "10.0.0.7:9100");
        assert_eq!(PrinterAddr::parse("zebra-1.local:6101").unwrap().as_str(), "zebra-1.local:6101");
        assert_eq!(PrinterAddr::parse("[::1]:9100").unwrap().as_str(), "[::1]:9100");
        for bad in ["", "http://x/", "x:0", "x:99999", "a b"] {
            assert!(PrinterAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wave_tickets_and_slots_read_strictly_and_only_multi_unit_orders_get_a_slot() {
        assert_eq!(wave_ticket("W000012"), Some(("W000012", None)));
        assert_eq!(wave_ticket("W000012-03"), Some(("W000012", Some(3))));
        for bad in ["W12", "X000012", "W000012-", "W000012-1234", "W00001a", "W000012-x"] {
            assert_eq!(wave_ticket(bad), None, "{bad}");
        }
        assert_eq!(slots(&[1, 3, 1, 2]), vec![None, Some(1), None, Some(2)]);
    }

    #[test]
    fn every_pack_status_reads_back() {
        for s in PackStatus::ALL {
            assert_eq!(PackStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ReadingSource::parse("dws"), Some(ReadingSource::Dws));
        assert_eq!(PackStatus::parse("Packed"), None);
    }

    #[test]
    fn carriers_are_cut_off_by_their_pickup_time_of_day() {
        assert_eq!(time_of_day("14:30").unwrap(), 870);
        for bad in ["24:00", "9:00", "09:60", "noon", ""] {
            assert!(time_of_day(bad).is_err(), "{bad}");
        }
        let mut r = FloorRules::default();
        r.carrier_cutoffs.insert("sandbox".into(), "14:00".into());
        r.carrier_cutoffs.insert("aramex".into(), "17:30".into());
        assert_eq!(r.carriers_cut_off_by(14 * 60), vec!["sandbox"]);
        assert_eq!(r.carriers_cut_off_by(18 * 60), vec!["aramex", "sandbox"]);
        assert!(r.carriers_cut_off_by(60).is_empty());
        r.carrier_cutoffs.insert("x".into(), "7pm".into());
        assert!(r.validate().is_err());
    }
}
