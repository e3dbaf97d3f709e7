//! What the dashboards count. Each order contributes one [`Fact`]: its dimensions (day placed, store, lane)
//! and a vector of counters. The database keeps each order's last fact and the sums of facts per day and
//! lane, and moves the sums by the difference between an order's old and new fact whenever the order or
//! its parcel changes, so a dashboard reads a few thousand pre-summed rows instead of every order.
//!
//! The same arithmetic turns the sums into rates, medians, a carrier's weighted score and the
//! recommendations that say what to change.
//!
//! Over 600 lines because 230 of them are its unit tests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ShipmentStatus;

/// What dashboard figures are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    Day,
    Store,
    Country,
    Region,
    Channel,
    Carrier,
    Sku,
}

impl Dim {
    pub const ALL: [Dim; 7] = [Dim::Day, Dim::Store, Dim::Country, Dim::Region, Dim::Channel, Dim::Carrier, Dim::Sku];

    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Day => "day",
            Dim::Store => "store",
            Dim::Country => "country",
            Dim::Region => "region",
            Dim::Channel => "channel",
            Dim::Carrier => "carrier",
            Dim::Sku => "sku",
        }
    }

    pub fn parse(s: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// The counters, in the order of [`METRICS`].
pub const METRICS: [&str; 26] = [
    "orders",
    "cod_orders",
    "shipped",
    "delivered",
    "refused",
    "returned",
    "lost",
    "customs_held",
    "customs_delayed",
    "cleared",
    "clearance_h",
    "transit_n",
    "transit_h",
    "cost_minor",
    "profit_minor",
    "tasks_closed",
    "task_h",
    "loss_orders",
    "profit_b0",
    "profit_b1",
    "profit_b2",
    "profit_b3",
    "profit_b4",
    "profit_b5",
    "profit_b6",
    "profit_b7",
];

/// Where the per-order distribution of expected profit is cut, in minor units of the base currency: orders
/// below the first bound count in `profit_b0`, at or above the last in `profit_b7`.
pub const PROFIT_BOUNDS: [i64; 7] = [-2_000, -500, 0, 500, 1_000, 2_000, 5_000];
const FIRST_BUCKET: usize = 18;

/// The bucket of [`PROFIT_BOUNDS`] an order's expected profit falls in.
pub fn profit_bucket(profit_minor: i64) -> usize {
    PROFIT_BOUNDS.iter().filter(|b| profit_minor >= **b).count()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Metrics(pub [i64; METRICS.len()]);

/// Facts stored before a counter was added have fewer: the missing ones are zero.
impl<'de> Deserialize<'de> for Metrics {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Vec::<i64>::deserialize(d)?;
        if v.len() > METRICS.len() {
            return Err(serde::de::Error::custom(format!("{} counters, at most {}", v.len(), METRICS.len())));
        }
        let mut m = [0i64; METRICS.len()];
        m[..v.len()].copy_from_slice(&v);
        Ok(Metrics(m))
    }
}

macro_rules! metric {
    ($($name:ident = $i:expr),* $(,)?) => {
        impl Metrics { $(pub fn $name(&self) -> i64 { self.0[$i] })* }
        const _: () = { $(assert!(konst_eq(METRICS[$i], stringify!($name)));)* };
    };
}

const fn konst_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

metric! {
    orders = 0, cod_orders = 1, shipped = 2, delivered = 3, refused = 4, returned = 5, lost = 6,
    customs_held = 7, customs_delayed = 8, cleared = 9, clearance_h = 10, transit_n = 11, transit_h = 12,
    cost_minor = 13, profit_minor = 14, tasks_closed = 15, task_h = 16, loss_orders = 17,
}

impl Metrics {
    pub fn add(&mut self, o: &Metrics) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
    }
    pub fn sub(&mut self, o: &Metrics) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a -= b;
        }
    }
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|v| *v == 0)
    }
    /// Parcels whose COD ended either way: what a refusal rate is out of.
    pub fn finished(&self) -> i64 {
        self.delivered() + self.refused()
    }
    pub fn refusal_rate(&self) -> Option<Ratio> {
        Ratio::of(self.refused(), self.finished())
    }
    pub fn sign_in_rate(&self) -> Option<Ratio> {
        Ratio::of(self.delivered(), self.finished())
    }
    pub fn return_rate(&self) -> Option<Ratio> {
        Ratio::of(self.returned(), self.shipped())
    }
    /// Held by customs, or longer in customs than the lane allows, out of every parcel shipped.
    pub fn customs_abnormal_rate(&self) -> Option<Ratio> {
        Ratio::of(self.customs_abnormal(), self.shipped())
    }
    pub fn customs_abnormal(&self) -> i64 {
        self.customs_held().max(self.customs_delayed())
    }
    pub fn mean_transit_days_x10(&self) -> Option<i64> {
        (self.transit_n() > 0).then(|| self.transit_h() * 10 / (24 * self.transit_n()))
    }
    pub fn mean_task_hours(&self) -> Option<i64> {
        (self.tasks_closed() > 0).then(|| self.task_h() / self.tasks_closed())
    }
    pub fn cost_per_parcel_minor(&self) -> Option<i64> {
        (self.shipped() > 0).then(|| self.cost_minor() / self.shipped())
    }
    /// Orders (not cancelled) per bucket of [`PROFIT_BOUNDS`].
    pub fn profit_distribution(&self) -> [i64; 8] {
        let mut out = [0; 8];
        out.copy_from_slice(&self.0[FIRST_BUCKET..FIRST_BUCKET + 8]);
        out
    }
}

/// A share as parts per million, with the count it was taken over: a rate without its sample size says
/// nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ratio {
    pub ppm: i64,
    pub n: i64,
}

impl Ratio {
    pub fn of(part: i64, whole: i64) -> Option<Ratio> {
        (whole > 0).then(|| Ratio { ppm: part * 1_000_000 / whole, n: whole })
    }
    /// One decimal place of a percentage, as text: `12.5%`.
    pub fn percent(&self) -> String {
        format!("{}.{}%", self.ppm / 10_000, (self.ppm / 1_000) % 10)
    }
}

/// Where an order's figures are summed: the day it was placed (days since 1970-01-01, UTC) and its lane.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dims {
    pub day: i64,
    pub store: String,
    pub country: String,
    pub region: String,
    pub channel: String,
    pub carrier: String,
}

/// One order's contribution: its counters, and the same per SKU it holds (counted once per order).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub dims: Dims,
    pub metrics: Metrics,
    pub skus: Vec<String>,
    /// Each SKU's share of the order's landed cost and expected profit (parallel to `skus`), split by the
    /// value of its lines. Empty in facts written before the split, which put no money on SKUs.
    #[serde(default)]
    pub sku_money: Vec<(i64, i64)>,
    /// Hours from the parcel's first customs scan to its release, once released.
    pub clearance_hours: Option<i64>,
}

/// What the refresher knows of an order when it computes its fact.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub placed_at: OffsetDateTime,
    pub store: String,
    pub country: String,
    pub region: String,
    pub channel: Option<String>,
    pub carrier: Option<String>,
    pub cod: bool,
    pub cancelled: bool,
    /// The order's lines as (SKU, line value in minor units of the order's currency).
    pub skus: Vec<(String, i64)>,
    pub parcel: Option<Parcel>,
    /// The recorded outcome: `Some(true)` delivered, `Some(false)` refused or returned.
    pub delivered: Option<bool>,
    /// Landed cost of the chosen channel and the expected profit at allocation, in the base currency.
    pub cost_minor: i64,
    pub profit_minor: i64,
    /// (opened, closed) of each task about the order.
    pub tasks: Vec<(OffsetDateTime, Option<OffsetDateTime>)>,
}

#[derive(Clone, Debug)]
pub struct Parcel {
    pub status: ShipmentStatus,
    pub booked_at: OffsetDateTime,
    pub picked_up_at: Option<OffsetDateTime>,
    pub delivered_at: Option<OffsetDateTime>,
    /// Customs scans in event order: when, and the status they mapped to.
    pub customs: Vec<(OffsetDateTime, ShipmentStatus)>,
}

pub fn day_of(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().div_euclid(86_400)
}

fn hours(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    ((to - from).whole_minutes().max(0) + 30) / 60
}

/// The fact of one order, given how long the lane lets a parcel stay in customs before it counts as late.
pub fn fact(s: &Snapshot, customs_limit_hours: i64, now: OffsetDateTime) -> Fact {
    let mut m = [0i64; METRICS.len()];
    let mut clearance = None;
    m[0] = 1;
    m[1] = i64::from(s.cod && !s.cancelled);
    // Outcomes count whether codflow tracked the parcel or an integrator reported them.
    m[3] = i64::from(s.delivered == Some(true));
    m[4] = i64::from(s.delivered == Some(false));
    m[2] = i64::from(s.delivered.is_some());
    if let Some(p) = &s.parcel {
        use ShipmentStatus::*;
        m[2] = i64::from(!matches!(p.status, Cancelled) || s.delivered.is_some());
        m[5] = i64::from(matches!(p.status, Returning | Returned));
        m[6] = i64::from(matches!(p.status, Lost | Damaged));
        let first = p.customs.first().map(|c| c.0);
        let released = p.customs.iter().find(|c| c.1 == CustomsReleased).map(|c| c.0);
        m[7] = i64::from(p.customs.iter().any(|c| matches!(c.1, CustomsHeld(_))));
        if let Some(start) = first {
            let end = released.unwrap_or(now);
            m[8] = i64::from(hours(start, end) > customs_limit_hours);
            if let Some(r) = released {
                m[9] = 1;
                m[10] = hours(start, r);
                clearance = Some(m[10]);
            }
        }
        if let Some(d) = p.delivered_at {
            m[11] = 1;
            m[12] = hours(p.picked_up_at.unwrap_or(p.booked_at), d);
        }
        m[13] = if m[2] == 1 { s.cost_minor } else { 0 };
    }
    m[14] = if s.cancelled { 0 } else { s.profit_minor };
    m[17] = i64::from(m[14] < 0);
    if !s.cancelled {
        m[FIRST_BUCKET + profit_bucket(s.profit_minor)] = 1;
    }
    for (opened, closed) in &s.tasks {
        if let Some(c) = closed {
            m[15] += 1;
            m[16] += hours(*opened, *c);
        }
    }
    // One entry per SKU with the value of all its lines.
    let mut by_sku: BTreeMap<&str, i64> = BTreeMap::new();
    for (sku, value) in &s.skus {
        *by_sku.entry(sku.as_str()).or_default() += (*value).max(0);
    }
    let skus: Vec<String> = by_sku.keys().map(|k| (*k).to_owned()).collect();
    let weights: Vec<i64> = by_sku.values().copied().collect();
    let costs = crate::finance::profit::allocate(m[13], &weights);
    let profits = crate::finance::profit::allocate(m[14], &weights);
    Fact {
        dims: Dims {
            day: day_of(s.placed_at),
            store: s.store.clone(),
            country: s.country.clone(),
            region: s.region.clone(),
            channel: s.channel.clone().unwrap_or_default(),
            carrier: s.carrier.clone().unwrap_or_default(),
        },
        metrics: Metrics(m),
        skus,
        sku_money: costs.into_iter().zip(profits).collect(),
        clearance_hours: clearance,
    }
}

/// The counters per SKU: every order-level counter except money and tasks, which belong to the order (an
/// order's money is put on its SKUs by [`Fact::sku_money`]).
pub fn sku_metrics(m: &Metrics) -> Metrics {
    let mut out = *m;
    for i in 13..FIRST_BUCKET {
        out.0[i] = 0;
    }
    out
}

impl Metrics {
    /// Mean expected profit per order that was not cancelled, in minor units of the base currency.
    pub fn profit_per_order(&self) -> Option<i64> {
        (self.orders() > 0).then(|| self.profit_minor() / self.orders())
    }
}

/// The changes to the summed rows that replacing `old` by `new` makes: per lane, per SKU and lane, and per
/// clearance hour. Rows whose change is zero are left out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delta {
    pub lanes: BTreeMap<Dims, Metrics>,
    pub skus: BTreeMap<(Dims, String), Metrics>,
    pub clearance: BTreeMap<(Dims, i64), i64>,
}

impl Delta {
    pub fn apply(&mut self, old: Option<&Fact>, new: &Fact) {
        if let Some(o) = old {
            self.one(o, -1);
        }
        self.one(new, 1);
    }

    fn one(&mut self, f: &Fact, sign: i64) {
        let signed = |m: &Metrics| {
            let mut out = *m;
            for v in out.0.iter_mut() {
                *v *= sign;
            }
            out
        };
        let m = signed(&f.metrics);
        self.lanes.entry(f.dims.clone()).or_default().add(&m);
        let per_sku = sku_metrics(&m);
        for (i, s) in f.skus.iter().enumerate() {
            let mut mine = per_sku;
            if let Some((cost, profit)) = f.sku_money.get(i) {
                mine.0[13] = cost * sign;
                mine.0[14] = profit * sign;
                // A loss-making order is a loss-maker under each of its SKUs.
                mine.0[17] = m.0[17];
            }
            self.skus.entry((f.dims.clone(), s.clone())).or_default().add(&mine);
        }
        if let Some(h) = f.clearance_hours {
            *self.clearance.entry((clearance_dims(&f.dims), h)).or_default() += sign;
        }
    }

    /// Drops the rows an old and a new fact cancelled out.
    pub fn prune(&mut self) {
        self.lanes.retain(|_, m| !m.is_zero());
        self.skus.retain(|_, m| !m.is_zero());
        self.clearance.retain(|_, n| *n != 0);
    }
}

/// Clearance times are kept per day, store, country and channel (not region or carrier).
pub fn clearance_dims(d: &Dims) -> Dims {
    Dims { region: String::new(), carrier: String::new(), ..d.clone() }
}

/// The median of counts per value (hours → parcels), or None when there are none.
pub fn median(hist: &BTreeMap<i64, i64>) -> Option<i64> {
    let total: i64 = hist.values().sum();
    if total <= 0 {
        return None;
    }
    let mid = (total + 1) / 2;
    let mut seen = 0;
    for (v, n) in hist {
        seen += n;
        if seen >= mid {
            return Some(*v);
        }
    }
    None
}

/// How much each measure counts in a carrier's score, in whole points (they need not add up to 100).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ScoreWeights {
    pub sign_in: i64,
    pub transit: i64,
    pub refusal: i64,
    pub customs: i64,
    pub exceptions: i64,
    pub settlement: i64,
    pub cost: i64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights { sign_in: 30, transit: 15, refusal: 15, customs: 15, exceptions: 5, settlement: 10, cost: 10 }
    }
}

impl ScoreWeights {
    pub fn check(&self) -> crate::FieldErrors {
        let mut errors = crate::FieldErrors::default();
        let all = [
            ("sign_in", self.sign_in),
            ("transit", self.transit),
            ("refusal", self.refusal),
            ("customs", self.customs),
            ("exceptions", self.exceptions),
            ("settlement", self.settlement),
            ("cost", self.cost),
        ];
        for (name, v) in all {
            if !(0..=100).contains(&v) {
                errors.push(name, "must be between 0 and 100");
            }
        }
        if all.iter().all(|(_, v)| *v == 0) {
            errors.push("sign_in", "at least one weight must be above 0");
        }
        errors
    }
}

/// One carrier's or channel's measures for the scorecard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreInput {
    pub metrics: Metrics,
    pub settlement_days: Option<i64>,
}

/// Scores every candidate 0–100 against the best and worst among them on each measure (a measure nobody
/// has data for counts for nobody), then weighs the measures. Higher is better.
pub fn scores(inputs: &[ScoreInput], w: &ScoreWeights) -> Vec<i64> {
    // Each measure: value per candidate, and whether higher is better.
    let measures: [(i64, Vec<Option<i64>>, bool); 7] = [
        (w.sign_in, inputs.iter().map(|i| i.metrics.sign_in_rate().map(|r| r.ppm)).collect(), true),
        (w.transit, inputs.iter().map(|i| i.metrics.mean_transit_days_x10()).collect(), false),
        (w.refusal, inputs.iter().map(|i| i.metrics.refusal_rate().map(|r| r.ppm)).collect(), false),
        (w.customs, inputs.iter().map(|i| i.metrics.customs_abnormal_rate().map(|r| r.ppm)).collect(), false),
        (w.exceptions, inputs.iter().map(|i| i.metrics.mean_task_hours()).collect(), false),
        (w.settlement, inputs.iter().map(|i| i.settlement_days).collect(), false),
        (w.cost, inputs.iter().map(|i| i.metrics.cost_per_parcel_minor()).collect(), false),
    ];
    let mut points = vec![0i64; inputs.len()];
    let mut weights = vec![0i64; inputs.len()];
    for (weight, values, higher_better) in measures {
        let known: Vec<i64> = values.iter().flatten().copied().collect();
        let (Some(lo), Some(hi)) = (known.iter().min(), known.iter().max()) else { continue };
        for (i, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            let s = if hi == lo {
                100
            } else if higher_better {
                (v - lo) * 100 / (hi - lo)
            } else {
                (hi - v) * 100 / (hi - lo)
            };
            points[i] += s * weight;
            weights[i] += weight;
        }
    }
    points.iter().zip(weights).map(|(p, w)| if w > 0 { p / w } else { 0 }).collect()
}

/// When a figure becomes a recommendation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct RecommendationThresholds {
    /// A SKU × region refusal rate above this (percent) …
    pub refusal_pct: i64,
    /// … over at least this many finished parcels.
    pub min_parcels: i64,
    /// A channel whose customs abnormality rate is at least this many times its peers' on the lane.
    pub customs_factor: i64,
    /// … with at least this many parcels shipped on the lane.
    pub min_shipped: i64,
}

impl Default for RecommendationThresholds {
    fn default() -> Self {
        RecommendationThresholds { refusal_pct: 30, min_parcels: 20, customs_factor: 2, min_shipped: 20 }
    }
}

/// A SKU × region whose refusal rate says: stop offering COD for it there.
pub fn refusal_hotspots(
    rows: &[((String, String, String), Metrics)],
    t: &RecommendationThresholds,
) -> Vec<((String, String, String), Ratio)> {
    let mut out: Vec<_> = rows
        .iter()
        .filter_map(|(k, m)| {
            let r = m.refusal_rate()?;
            (r.n >= t.min_parcels && r.ppm > t.refusal_pct * 10_000).then(|| (k.clone(), r))
        })
        .collect();
    out.sort_by(|a, b| b.1.ppm.cmp(&a.1.ppm).then_with(|| a.0.cmp(&b.0)));
    out
}

/// Sums keyed by (country, channel).
pub type LaneRow = ((String, String), Metrics);

/// A channel on a lane (country) whose customs trouble is at least `customs_factor` times that of the other
/// channels on the lane together. Returns (country, channel, its rate, the peers' rate).
pub fn customs_laggards(rows: &[LaneRow], t: &RecommendationThresholds) -> Vec<(String, String, Ratio, Ratio)> {
    let mut by_lane: BTreeMap<&str, Vec<&LaneRow>> = BTreeMap::new();
    for r in rows {
        by_lane.entry(r.0.0.as_str()).or_default().push(r);
    }
    let mut out = Vec::new();
    for (country, chans) in by_lane {
        for me in &chans {
            if me.1.shipped() < t.min_shipped {
                continue;
            }
            let mut peers = Metrics::default();
            for other in chans.iter().filter(|o| o.0.1 != me.0.1) {
                peers.add(&other.1);
            }
            let (Some(mine), Some(theirs)) = (me.1.customs_abnormal_rate(), peers.customs_abnormal_rate()) else {
                continue;
            };
            if theirs.n < t.min_shipped || mine.ppm == 0 {
                continue;
            }
            if mine.ppm >= theirs.ppm.max(1) * t.customs_factor {
                out.push((country.to_owned(), me.0.1.clone(), mine, theirs));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn snapshot() -> Snapshot {
        Snapshot {
            placed_at: datetime!(2026-11-01 10:00 UTC),
            store: "shop".into(),
            country: "SA".into(),
            region: "Riyadh".into(),
            channel: Some("sbx-sa".into()),
            carrier: Some("sandbox".into()),
            cod: true,
            cancelled: false,
            skus: vec![("B".into(), 1_000), ("A".into(), 500), ("B".into(), 500)],
            parcel: None,
            delivered: None,
            cost_minor: 1_500,
            profit_minor: 2_000,
            tasks: vec![],
        }
    }

    #[test]
    fn a_refused_parcel_held_in_customs_counts_as_refused_held_and_late() {
        let mut s = snapshot();
        s.parcel = Some(Parcel {
            status: ShipmentStatus::Returned,
            booked_at: datetime!(2026-11-01 12:00 UTC),
            picked_up_at: Some(datetime!(2026-11-02 12:00 UTC)),
            delivered_at: None,
            customs: vec![
                (datetime!(2026-11-03 00:00 UTC), ShipmentStatus::CustomsProcessing),
                (datetime!(2026-11-03 06:00 UTC), ShipmentStatus::parse("customs_held:inspection").unwrap()),
                (datetime!(2026-11-06 00:00 UTC), ShipmentStatus::CustomsReleased),
            ],
        });
        s.delivered = Some(false);
        let f = fact(&s, 48, datetime!(2026-11-10 00:00 UTC));
        let m = f.metrics;
        assert_eq!((m.shipped(), m.delivered(), m.refused(), m.returned()), (1, 0, 1, 1));
        assert_eq!((m.customs_held(), m.customs_delayed(), m.cleared(), m.clearance_h()), (1, 1, 1, 72));
        assert_eq!(f.clearance_hours, Some(72));
        assert_eq!(f.skus, vec!["A".to_string(), "B".to_string()]);
        assert_eq!(m.cost_minor(), 1_500);
        // A's lines are worth 5.00 of 20.00: a quarter of the cost and of the profit.
        assert_eq!(f.sku_money, vec![(375, 500), (1_125, 1_500)]);
        assert_eq!(f.dims.day, day_of(datetime!(2026-11-01 00:00 UTC)));
    }

    #[test]
    fn a_parcel_still_in_customs_past_the_limit_is_late_but_not_cleared() {
        let mut s = snapshot();
        s.parcel = Some(Parcel {
            status: ShipmentStatus::CustomsProcessing,
            booked_at: datetime!(2026-11-01 12:00 UTC),
            picked_up_at: None,
            delivered_at: None,
            customs: vec![(datetime!(2026-11-03 00:00 UTC), ShipmentStatus::CustomsProcessing)],
        });
        let early = fact(&s, 48, datetime!(2026-11-04 00:00 UTC)).metrics;
        let late = fact(&s, 48, datetime!(2026-11-06 00:00 UTC)).metrics;
        assert_eq!((early.customs_delayed(), late.customs_delayed(), late.cleared()), (0, 1, 0));
    }

    #[test]
    fn an_outcome_reported_without_a_parcel_counts_as_shipped_and_refused() {
        let mut s = snapshot();
        s.delivered = Some(false);
        let m = fact(&s, 48, datetime!(2026-11-04 00:00 UTC)).metrics;
        assert_eq!((m.shipped(), m.refused(), m.delivered(), m.cost_minor()), (1, 1, 0, 0));
    }

    #[test]
    fn an_orders_money_is_put_on_its_skus_and_a_fact_without_the_split_puts_none() {
        let f = fact(&snapshot(), 48, datetime!(2026-11-04 00:00 UTC));
        let mut d = Delta::default();
        d.apply(None, &f);
        let on = |sku: &str| d.skus.iter().find(|((_, s), _)| s == sku).map(|(_, m)| m.profit_minor()).unwrap();
        assert_eq!((on("A"), on("B")), (500, 1_500));
        // A fact stored before the split is replaced by one with it: the SKUs gain exactly their share.
        let old = Fact { sku_money: vec![], ..f.clone() };
        let mut d = Delta::default();
        d.apply(Some(&old), &f);
        d.prune();
        let on = |sku: &str| d.skus.iter().find(|((_, s), _)| s == sku).map(|(_, m)| m.profit_minor()).unwrap();
        assert_eq!((on("A"), on("B")), (500, 1_500));
        assert!(d.lanes.is_empty());
    }

    proptest! {
        #[test]
        fn a_split_always_adds_up_and_follows_the_weights(total in -1_000_000i64..1_000_000, weights in prop::collection::vec(0i64..10_000, 1..6)) {
            let parts = crate::finance::profit::allocate(total, &weights);
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
            let sum: i64 = weights.iter().sum();
            if sum > 0 {
                for (p, w) in parts.iter().zip(&weights) {
                    let exact = total as f64 * *w as f64 / sum as f64;
                    prop_assert!((*p as f64 - exact).abs() < 1.0 + 1e-9, "{p} vs {exact}");
                }
            }
        }
    }

    #[test]
    fn each_order_counts_once_in_its_profit_bucket_and_old_facts_read_with_empty_buckets() {
        assert_eq!(
            (profit_bucket(-2_001), profit_bucket(-2_000), profit_bucket(0), profit_bucket(5_000)),
            (0, 1, 3, 7)
        );
        let f = fact(&snapshot(), 48, datetime!(2026-11-04 00:00 UTC));
        // 20.00 of expected profit: the 20–50 bucket.
        assert_eq!(f.metrics.profit_distribution(), [0, 0, 0, 0, 0, 0, 1, 0]);
        let mut cancelled = snapshot();
        cancelled.cancelled = true;
        assert_eq!(fact(&cancelled, 48, datetime!(2026-11-04 00:00 UTC)).metrics.profit_distribution(), [0; 8]);
        let old: Metrics = serde_json::from_str(&format!("{:?}", [1i64; 18])).unwrap();
        assert_eq!((old.orders(), old.loss_orders(), old.profit_distribution()), (1, 1, [0; 8]));
        assert!(serde_json::from_str::<Metrics>(&format!("{:?}", [0i64; 27])).is_err());
    }

    #[test]
    fn replacing_a_fact_by_itself_changes_no_sum() {
        let s = snapshot();
        let f = fact(&s, 48, datetime!(2026-11-04 00:00 UTC));
        let mut d = Delta::default();
        d.apply(Some(&f), &f);
        d.prune();
        assert_eq!(d, Delta::default());
    }

    #[test]
    fn the_median_is_the_middle_parcel() {
        let h: BTreeMap<i64, i64> = [(10, 1), (20, 1), (30, 3)].into();
        assert_eq!(median(&h), Some(30));
        let h: BTreeMap<i64, i64> = [(10, 2), (20, 1), (30, 1)].into();
        assert_eq!(median(&h), Some(10));
        assert_eq!(median(&BTreeMap::new()), None);
    }

    #[test]
    fn a_region_refusing_a_sku_often_enough_is_a_hotspot_and_a_small_sample_is_not() {
        let m = |d, r| {
            let mut x = Metrics::default();
            x.0[3] = d;
            x.0[4] = r;
            x
        };
        let rows = vec![
            (("LAMP".to_string(), "SA".to_string(), "Jazan".to_string()), m(12, 18)),
            (("LAMP".to_string(), "SA".to_string(), "Riyadh".to_string()), m(90, 10)),
            (("MUG".to_string(), "SA".to_string(), "Jazan".to_string()), m(2, 8)),
        ];
        let hot = refusal_hotspots(&rows, &RecommendationThresholds::default());
        assert_eq!(hot.len(), 1);
        assert_eq!(hot[0].0.2, "Jazan");
        assert_eq!(hot[0].1, Ratio { ppm: 600_000, n: 30 });
    }

    #[test]
    fn a_channel_twice_as_often_held_as_its_peers_on_a_lane_is_a_laggard() {
        let m = |shipped, held| {
            let mut x = Metrics::default();
            x.0[2] = shipped;
            x.0[7] = held;
            x
        };
        let rows = vec![
            (("SA".to_string(), "slow".to_string()), m(100, 30)),
            (("SA".to_string(), "fast".to_string()), m(100, 10)),
            (("AE".to_string(), "only".to_string()), m(100, 50)),
        ];
        let out = customs_laggards(&rows, &RecommendationThresholds::default());
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].0.as_str(), out[0].1.as_str()), ("SA", "slow"));
    }

    #[test]
    fn the_best_carrier_on_every_measure_scores_100() {
        let mk = |delivered, refused, cost| {
            let mut x = Metrics::default();
            x.0[2] = delivered + refused;
            x.0[3] = delivered;
            x.0[4] = refused;
            x.0[13] = cost;
            ScoreInput { metrics: x, settlement_days: Some(7) }
        };
        let s = scores(&[mk(90, 10, 1000), mk(70, 30, 3000)], &ScoreWeights::default());
        // The worse one still earns the measures where both are equal: settlement (10) and customs (15) of 80.
        assert_eq!(s, vec![100, (100 * 10 + 100 * 15) / 80]);
    }

    proptest! {
        #[test]
        fn summed_deltas_equal_the_sum_of_the_final_facts(
            changes in proptest::collection::vec((0usize..6, 0i64..3, 0i64..4, any::<bool>(), 0i64..200), 1..40)
        ) {
            // Orders change in any order, several times; the sums must end as the sum of each order's last fact.
            let mut last: BTreeMap<usize, Fact> = BTreeMap::new();
            let mut sums = Delta::default();
            for (order, day, region, delivered, clearance) in changes {
                let mut s = snapshot();
                s.placed_at += time::Duration::days(day);
                s.region = format!("R{region}");
                s.delivered = Some(delivered);
                s.parcel = Some(Parcel {
                    status: ShipmentStatus::Delivered,
                    booked_at: s.placed_at,
                    picked_up_at: None,
                    delivered_at: Some(s.placed_at + time::Duration::hours(clearance)),
                    customs: vec![
                        (s.placed_at, ShipmentStatus::CustomsProcessing),
                        (s.placed_at + time::Duration::hours(clearance), ShipmentStatus::CustomsReleased),
                    ],
                });
                let f = fact(&s, 48, s.placed_at);
                sums.apply(last.get(&order), &f);
                last.insert(order, f);
            }
            sums.prune();
            let mut expected = Delta::default();
            for f in last.values() {
                expected.apply(None, f);
            }
            expected.prune();
            prop_assert_eq!(sums, expected);
        }
    }
}
