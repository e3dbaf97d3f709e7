//! Packaging: the box (or boxes) an order's items go in, chosen for the lowest total cost — the box itself, the
//! freight the channel charges for it (its volumetric divisor sees the box, not the items) and the damage to
//! expect in it — among the boxes the items fit.
//!
//! Fitting is geometric for cartons: each unit is placed, largest first, at the lowest free corner ("extreme
//! points") in one of its allowed orientations; an item to keep upright only turns about the vertical, and a
//! fragile one needs [`FRAGILE_PAD_MM`] of padding on every side. Bags and padded envelopes are flexible: every
//! unit's sides must fit the bag's, lying flat, and the units together fill at most [`FLEXIBLE_FILL_PCT`] of it;
//! an item to keep upright never goes in one, and a fragile item only in a padded envelope (its padding built in).

use serde::{Deserialize, Serialize};

use crate::{Currency, Error, FieldErrors, Money};

/// Padding around a fragile item in a carton, on every side.
pub const FRAGILE_PAD_MM: i64 = 20;
/// How full a bag or padded envelope may be, by volume.
pub const FLEXIBLE_FILL_PCT: i64 = 80;
/// Why a box the items fit was not priced.
const NOT_TAKEN: &str = "the channel does not take it";
/// The most units one recommendation places: beyond it an order is packed by hand.
pub const MAX_UNITS: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoxKind {
    Carton,
    Bag,
    PaddedEnvelope,
}

impl BoxKind {
    pub const ALL: [BoxKind; 3] = [BoxKind::Carton, BoxKind::Bag, BoxKind::PaddedEnvelope];

    pub fn as_str(self) -> &'static str {
        match self {
            BoxKind::Carton => "carton",
            BoxKind::Bag => "bag",
            BoxKind::PaddedEnvelope => "padded_envelope",
        }
    }

    pub fn parse(s: &str) -> Result<BoxKind, Error> {
        BoxKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::invalid("kind", "carton, bag or padded_envelope"))
    }

    /// Wall thickness on each side: the outer size is the inner size plus twice this.
    pub fn wall_mm(self) -> i64 {
        match self {
            BoxKind::Carton => 4,
            BoxKind::PaddedEnvelope => 3,
            BoxKind::Bag => 1,
        }
    }
}

/// A box a warehouse packs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoxType {
    pub code: String,
    pub kind: BoxKind,
    /// Inside length × width × height in millimetres; a carton's height is its vertical.
    pub inner_mm: [i64; 3],
    pub empty_weight_g: i64,
    pub cost: Money,
    pub max_load_g: i64,
}

impl BoxType {
    /// Refuses a box that could hold nothing or cannot be priced, naming every field.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        let code = self.code.trim();
        if code.is_empty() || code.len() > 32 || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            e.push("code", "1 to 32 letters, digits, '-', '_' or '.'");
        }
        for (i, d) in self.inner_mm.iter().enumerate() {
            if !(1..=3000).contains(d) {
                e.push(format!("inner_mm[{i}]"), "1 to 3,000 millimetres");
            }
        }
        if !(0..=100_000).contains(&self.empty_weight_g) {
            e.push("empty_weight_g", "0 to 100,000 grams");
        }
        if !(1..=1_000_000).contains(&self.max_load_g) {
            e.push("max_load_g", "1 to 1,000,000 grams");
        }
        if self.cost.minor < 0 {
            e.push("cost", "not negative");
        }
        if e.is_empty() { Ok(()) } else { Err(e) }
    }

    pub fn outer_mm(&self) -> [i64; 3] {
        let w = 2 * self.kind.wall_mm();
        [self.inner_mm[0] + w, self.inner_mm[1] + w, self.inner_mm[2] + w]
    }

    fn volume(&self) -> i128 {
        self.inner_mm.iter().map(|d| *d as i128).product()
    }
}

/// How a product packs: its size (length × width × height, the height vertical when it must stay upright) and its
/// handling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackingAttrs {
    pub dims_mm: [i64; 3],
    #[serde(default)]
    pub fragile: bool,
    #[serde(default)]
    pub keep_upright: bool,
    #[serde(default)]
    pub can_bag: bool,
}

impl PackingAttrs {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        for (i, d) in self.dims_mm.iter().enumerate() {
            if !(1..=3000).contains(d) {
                e.push(format!("dims_mm[{i}]"), "1 to 3,000 millimetres");
            }
        }
        if self.can_bag && self.keep_upright {
            e.push("can_bag", "an item to keep upright cannot go in a bag");
        }
        if e.is_empty() { Ok(()) } else { Err(e) }
    }
}

/// One line of what is to be packed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackLine {
    pub sku: String,
    pub quantity: i64,
    pub unit_weight_g: i64,
    /// One unit's value, in the currency costs are compared in; what damage would lose.
    pub unit_value_minor: i64,
    /// None when the product's size is not known: then nothing can be recommended.
    pub attrs: Option<PackingAttrs>,
    pub category: Option<String>,
}

/// The damage to expect per box kind, in basis points of the goods' value, with exceptions per product
/// category; measured from returns and claims where there are any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DamageRates {
    pub by_kind: Vec<(BoxKind, i64)>,
    pub by_kind_and_category: Vec<(BoxKind, String, i64)>,
}

impl DamageRates {
    /// Rates before any are measured: cartons protect best, plain bags least.
    pub fn defaults() -> DamageRates {
        DamageRates {
            by_kind: vec![(BoxKind::Carton, 50), (BoxKind::PaddedEnvelope, 80), (BoxKind::Bag, 150)],
            by_kind_and_category: Vec::new(),
        }
    }

    /// Rates measured from `counts` (parcels packed per box kind, and per kind × category, and how many came to
    /// harm), each pulled toward what is known before it — a kind's rate toward [`DamageRates::defaults`], a
    /// category's toward its kind's — as if [`DAMAGE_PRIOR_PARCELS`] more parcels had behaved that way. A few
    /// damaged parcels barely move a rate; hundreds decide it.
    pub fn learned(counts: &[DamageCount]) -> DamageRates {
        let defaults = DamageRates::defaults();
        let by_kind: Vec<(BoxKind, i64)> = BoxKind::ALL
            .into_iter()
            .map(|k| {
                let prior = defaults.bp(k, None);
                let seen = counts.iter().find(|c| c.kind == k && c.category.is_none());
                (k, seen.map_or(prior, |c| c.smoothed(prior)))
            })
            .collect();
        let kinds = DamageRates { by_kind, by_kind_and_category: Vec::new() };
        let by_kind_and_category = counts
            .iter()
            .filter_map(|c| Some((c.kind, c.category.clone()?, c.smoothed(kinds.bp(c.kind, None)))))
            .collect();
        DamageRates { by_kind_and_category, ..kinds }
    }

    /// The rate for a box kind holding goods of `category`, in basis points.
    pub fn bp(&self, kind: BoxKind, category: Option<&str>) -> i64 {
        category
            .and_then(|c| self.by_kind_and_category.iter().find(|(k, cat, _)| *k == kind && cat == c))
            .map(|(_, _, bp)| *bp)
            .or_else(|| self.by_kind.iter().find(|(k, _)| *k == kind).map(|(_, bp)| *bp))
            .unwrap_or(0)
    }
}

/// How many parcels seen before a measured damage rate outweighs the rate it starts from.
pub const DAMAGE_PRIOR_PARCELS: i64 = 200;

/// Parcels packed in a kind of box — holding goods of `category`, or all of them when None — and how many of
/// them came to harm (a return graded damaged, a damage claim).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DamageCount {
    pub kind: BoxKind,
    pub category: Option<String>,
    pub parcels: i64,
    pub damaged: i64,
}

impl DamageCount {
    fn smoothed(&self, prior_bp: i64) -> i64 {
        let parcels = self.parcels.max(0) as i128;
        let damaged = self.damaged.clamp(0, self.parcels.max(0)) as i128;
        let n = parcels + DAMAGE_PRIOR_PARCELS as i128;
        ((damaged * 10_000 + DAMAGE_PRIOR_PARCELS as i128 * prior_bp as i128 + n / 2) / n) as i64
    }
}

/// A box filled for the order, priced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    pub code: String,
    pub kind: BoxKind,
    pub outer_mm: [i64; 3],
    /// The items and the box.
    pub weight_g: i64,
    pub skus: Vec<String>,
    pub box_cost: Money,
    pub freight: Money,
    pub expected_damage: Money,
    pub total: Money,
}

/// A box looked at for the whole order, and why it was not chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Considered {
    pub code: String,
    /// The total in the one box, when everything fits it.
    pub total: Option<Money>,
    pub why_not: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recommendation {
    pub boxes: Vec<Packed>,
    pub total: Money,
    /// The next larger box everything fits, and how much more the order would cost in it.
    pub next_up: Option<(String, Money)>,
    pub considered: Vec<Considered>,
    /// What the weight check expects: the items and the boxes.
    pub expected_weight_g: i64,
}

/// Why nothing could be recommended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoFit {
    #[error("{0} has no packing size: give the product its dimensions")]
    UnknownSize(String),
    #[error("{0} fits none of the warehouse's boxes")]
    FitsNoBox(String),
    #[error("the warehouse has no boxes")]
    NoBoxes,
    #[error("{0} units are more than a recommendation plans ({MAX_UNITS}); pack by hand")]
    TooManyUnits(usize),
    #[error("the channel prices none of the boxes the items fit: {0}")]
    Unpriced(String),
}

#[derive(Clone, Debug)]
struct Unit {
    sku: String,
    dims: [i64; 3],
    weight_g: i64,
    value_minor: i64,
    fragile: bool,
    upright: bool,
    can_bag: bool,
    category: Option<String>,
}

impl Unit {
    fn volume(&self) -> i128 {
        self.dims.iter().map(|d| *d as i128).product()
    }
}

/// The orientations a unit may take in a carton, with its fragile padding: (x, y, z), z vertical.
fn orientations(u: &Unit) -> Vec<[i64; 3]> {
    let pad = if u.fragile { 2 * FRAGILE_PAD_MM } else { 0 };
    let [l, w, h] = u.dims.map(|d| d + pad);
    let mut all = if u.upright {
        vec![[l, w, h], [w, l, h]]
    } else {
        vec![[l, w, h], [w, l, h], [l, h, w], [h, l, w], [w, h, l], [h, w, l]]
    };
    all.sort_unstable();
    all.dedup();
    all
}

#[derive(Clone, Copy)]
struct Placed {
    at: [i64; 3],
    size: [i64; 3],
}

fn overlaps(a: &Placed, b: &Placed) -> bool {
    (0..3).all(|i| a.at[i] < b.at[i] + b.size[i] && b.at[i] < a.at[i] + a.size[i])
}

/// Whether `units` fit the box, and why not.
fn fits(b: &BoxType, units: &[&Unit]) -> Result<(), String> {
    let load: i64 = units.iter().map(|u| u.weight_g).sum();
    if load > b.max_load_g {
        return Err(format!("{load} g is over its {} g load", b.max_load_g));
    }
    match b.kind {
        BoxKind::Carton => fits_carton(b, units),
        BoxKind::Bag | BoxKind::PaddedEnvelope => fits_flexible(b, units),
    }
}

fn fits_carton(b: &BoxType, units: &[&Unit]) -> Result<(), String> {
    let room = b.inner_mm;
    let mut order: Vec<&Unit> = units.to_vec();
    order.sort_by(|a, b| b.volume().cmp(&a.volume()).then_with(|| a.sku.cmp(&b.sku)));
    let mut placed: Vec<Placed> = Vec::with_capacity(order.len());
    let mut points: Vec<[i64; 3]> = vec![[0, 0, 0]];
    for u in order {
        let options = orientations(u);
        if !options.iter().any(|s| (0..3).all(|i| s[i] <= room[i])) {
            let why = if u.fragile {
                " with its fragile padding"
            } else if u.upright {
                " standing upright"
            } else {
                ""
            };
            return Err(format!("{} is larger than the box{why}", u.sku));
        }
        // The lowest, then nearest corner first: items settle down and back.
        points.sort_by_key(|p| (p[2], p[1], p[0]));
        let spot = points.iter().enumerate().find_map(|(pi, p)| {
            options.iter().find_map(|s| {
                let cand = Placed { at: *p, size: *s };
                let inside = (0..3).all(|i| p[i] + s[i] <= room[i]);
                (inside && !placed.iter().any(|q| overlaps(&cand, q))).then_some((pi, cand))
            })
        });
        let Some((pi, c)) = spot else {
            return Err(format!("{} does not fit beside the other items", u.sku));
        };
        points.swap_remove(pi);
        for i in 0..3 {
            let mut p = c.at;
            p[i] += c.size[i];
            if p[i] < room[i] {
                points.push(p);
            }
        }
        placed.push(c);
    }
    Ok(())
}

fn fits_flexible(b: &BoxType, units: &[&Unit]) -> Result<(), String> {
    let mut room = b.inner_mm;
    room.sort_unstable_by(|x, y| y.cmp(x));
    let mut volume: i128 = 0;
    for u in units {
        if u.upright {
            return Err(format!("{} must stay upright: a carton only", u.sku));
        }
        if u.fragile && b.kind == BoxKind::Bag {
            return Err(format!("{} is fragile: not in a plain bag", u.sku));
        }
        let padded = u.fragile && b.kind == BoxKind::PaddedEnvelope;
        if !(u.can_bag || padded) {
            return Err(format!("{} cannot go in a bag", u.sku));
        }
        let mut s = u.dims;
        s.sort_unstable_by(|x, y| y.cmp(x));
        if (0..3).any(|i| s[i] > room[i]) {
            return Err(format!("{} is larger than the bag", u.sku));
        }
        volume += u.volume();
    }
    if volume * 100 > b.volume() * FLEXIBLE_FILL_PCT as i128 {
        return Err(format!("the items would fill more than {FLEXIBLE_FILL_PCT} % of it"));
    }
    Ok(())
}

/// What the channel charges for a box: its outer size and weight in, the freight out (None when it cannot
/// take it). Costs are compared in `currency`; `convert` brings a box's cost into it.
pub struct Pricing<'a> {
    pub currency: Currency,
    pub freight: &'a dyn Fn([i64; 3], i64) -> Option<Money>,
    pub convert: &'a dyn Fn(Money) -> Option<Money>,
    pub damage: &'a DamageRates,
}

fn price(b: &BoxType, units: &[&Unit], p: &Pricing<'_>) -> Result<Packed, String> {
    let weight_g = units.iter().map(|u| u.weight_g).sum::<i64>() + b.empty_weight_g;
    let outer = b.outer_mm();
    let freight = (p.freight)(outer, weight_g).ok_or_else(|| NOT_TAKEN.to_owned())?;
    let box_cost = (p.convert)(b.cost).ok_or_else(|| format!("no rate from {} to {}", b.cost.currency, p.currency))?;
    let damage_minor: i64 = units
        .iter()
        .map(|u| {
            let bp = p.damage.bp(b.kind, u.category.as_deref());
            (u.value_minor as i128 * bp as i128 / 10_000) as i64
        })
        .sum();
    let expected_damage = Money::new(damage_minor, p.currency);
    let total = Money::new(box_cost.minor + freight.minor + damage_minor, p.currency);
    Ok(Packed {
        code: b.code.clone(),
        kind: b.kind,
        outer_mm: outer,
        weight_g,
        skus: units.iter().map(|u| u.sku.clone()).collect(),
        box_cost,
        freight,
        expected_damage,
        total,
    })
}

fn units_of(lines: &[PackLine]) -> Result<Vec<Unit>, NoFit> {
    let count: i64 = lines.iter().map(|l| l.quantity.max(0)).sum();
    if count as usize > MAX_UNITS {
        return Err(NoFit::TooManyUnits(count as usize));
    }
    let mut units = Vec::with_capacity(count as usize);
    for l in lines {
        let a = l.attrs.ok_or_else(|| NoFit::UnknownSize(l.sku.clone()))?;
        for _ in 0..l.quantity.max(0) {
            units.push(Unit {
                sku: l.sku.clone(),
                dims: a.dims_mm,
                weight_g: l.unit_weight_g,
                value_minor: l.unit_value_minor,
                fragile: a.fragile,
                upright: a.keep_upright,
                can_bag: a.can_bag,
                category: l.category.clone(),
            });
        }
    }
    Ok(units)
}

/// The cheapest way to pack `lines` in the warehouse's `boxes`: one box when everything fits one, else as few of
/// the largest box as hold it (each then shrunk to the cheapest box its share fits).
pub fn recommend(lines: &[PackLine], boxes: &[BoxType], p: &Pricing<'_>) -> Result<Recommendation, NoFit> {
    if boxes.is_empty() {
        return Err(NoFit::NoBoxes);
    }
    let units = units_of(lines)?;
    let all: Vec<&Unit> = units.iter().collect();
    let mut considered = Vec::with_capacity(boxes.len());
    let mut single: Vec<(&BoxType, Packed)> = Vec::new();
    for b in boxes {
        match fits(b, &all).and_then(|()| price(b, &all, p)) {
            Ok(packed) => {
                considered.push(Considered { code: b.code.clone(), total: Some(packed.total), why_not: None });
                single.push((b, packed));
            }
            Err(why) => considered.push(Considered { code: b.code.clone(), total: None, why_not: Some(why) }),
        }
    }
    let by_cost = |a: &(&BoxType, Packed), b: &(&BoxType, Packed)| {
        a.1.total.minor.cmp(&b.1.total.minor).then(a.0.volume().cmp(&b.0.volume())).then(a.0.code.cmp(&b.0.code))
    };
    if let Some(best) = single.iter().min_by(|a, b| by_cost(a, b)) {
        let next_up = single
            .iter()
            .filter(|(b, _)| b.volume() > best.0.volume())
            .min_by(|a, b| a.0.volume().cmp(&b.0.volume()).then(by_cost(a, b)))
            .map(|(b, packed)| (b.code.clone(), Money::new(packed.total.minor - best.1.total.minor, p.currency)));
        for c in considered.iter_mut().filter(|c| c.code != best.0.code && c.total.is_some()) {
            c.why_not = Some("costs more in all".into());
        }
        let boxes = vec![best.1.clone()];
        return Ok(Recommendation {
            expected_weight_g: best.1.weight_g,
            total: best.1.total,
            boxes,
            next_up,
            considered,
        });
    }
    if considered.iter().all(|c| c.why_not.as_deref() == Some(NOT_TAKEN)) {
        return Err(NoFit::Unpriced(boxes.iter().map(|b| b.code.as_str()).collect::<Vec<_>>().join(", ")));
    }
    split(&units, boxes, p, considered)
}

/// Several boxes: units, largest first, into the first open box of the roomiest kind they fit, a new one when
/// none takes them; then each box's share into the cheapest box it fits.
fn split(
    units: &[Unit],
    boxes: &[BoxType],
    p: &Pricing<'_>,
    considered: Vec<Considered>,
) -> Result<Recommendation, NoFit> {
    let mut order: Vec<&Unit> = units.iter().collect();
    order.sort_by(|a, b| b.volume().cmp(&a.volume()).then_with(|| a.sku.cmp(&b.sku)));
    let mut roomy: Vec<&BoxType> = boxes.iter().collect();
    roomy.sort_by(|a, b| b.volume().cmp(&a.volume()).then(a.code.cmp(&b.code)));
    let mut shares: Vec<(&BoxType, Vec<&Unit>)> = Vec::new();
    for u in order {
        let mut put = false;
        for (b, share) in shares.iter_mut() {
            share.push(u);
            if fits(b, share).is_ok() {
                put = true;
                break;
            }
            share.pop();
        }
        if !put {
            let b = roomy.iter().find(|b| fits(b, &[u]).is_ok()).ok_or_else(|| NoFit::FitsNoBox(u.sku.clone()))?;
            shares.push((b, vec![u]));
        }
    }
    let mut packed = Vec::with_capacity(shares.len());
    for (_, share) in &shares {
        let best = boxes
            .iter()
            .filter(|b| fits(b, share).is_ok())
            .filter_map(|b| price(b, share, p).ok())
            .min_by(|a, b| a.total.minor.cmp(&b.total.minor).then(a.code.cmp(&b.code)))
            .ok_or_else(|| NoFit::Unpriced(share.iter().map(|u| u.sku.as_str()).collect::<Vec<_>>().join(", ")))?;
        packed.push(best);
    }
    let total = Money::new(packed.iter().map(|b| b.total.minor).sum(), p.currency);
    Ok(Recommendation {
        expected_weight_g: packed.iter().map(|b| b.weight_g).sum(),
        total,
        boxes: packed,
        next_up: None,
        considered,
    })
}

#[cfg(test)]
mod tests;
