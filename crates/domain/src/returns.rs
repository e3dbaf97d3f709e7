//! Parcels coming back to the seller (RTO): a carrier's return scan only makes a return *expected*; stock
//! moves when the parcel is received by scan at a warehouse and each unit is graded and given a disposition.
//! What was lost on the way or written off is valued at the goods' cost.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{
    BinLocation, Currency, Error, FieldErrors, Money, OrderId, ProductId, ReturnId, ShipmentId, Sku, WarehouseCode,
};

/// Lines a grading may carry, and units per line.
pub const MAX_LINES: usize = 200;
pub const MAX_QUANTITY: i64 = 10_000;
/// Returns the lane's history cannot speak for yet wait this long.
pub const DEFAULT_RETURN_DAYS: i64 = 30;
/// The lane's own figure counts once this many returns on it were received.
const MIN_HISTORY: usize = 5;

word_enum!(
    /// Where a return stands.
    ReturnStatus, "status" {
        /// The carrier is bringing it back (or says it did); nothing is restocked yet.
        Expected => "expected",
        /// Scanned in at a warehouse, waiting to be graded.
        Received => "received",
        /// Graded: every unit restocked, held or written off.
        Closed => "closed",
        /// Given up on: it never arrived, its goods written off (it may still be received later).
        Lost => "lost",
    }
);

impl ReturnStatus {
    pub fn can_move_to(self, to: ReturnStatus) -> bool {
        use ReturnStatus::*;
        matches!((self, to), (Expected, Received | Lost) | (Lost, Received) | (Received, Closed))
    }
}

word_enum!(
    /// What a unit was found to be when the parcel was opened.
    Grade, "grade" {
        Sellable => "sellable",
        Damaged => "damaged",
        /// Shipped but not in the parcel.
        Missing => "missing",
        /// In the parcel but not what was shipped.
        Wrong => "wrong",
    }
);

word_enum!(
    /// Where a graded unit goes.
    Disposition, "disposition" {
        /// Back on a shelf, sellable.
        Restock => "restock",
        /// Held apart until someone decides.
        Quarantine => "quarantine",
        /// Held for repair or repacking, then sold.
        Refurbish => "refurbish",
        /// Thrown away or given up: its cost is lost.
        WriteOff => "write_off",
    }
);

impl Grade {
    /// What happens to these units when the grader does not say.
    pub fn default_disposition(self) -> Option<Disposition> {
        match self {
            Grade::Sellable => Some(Disposition::Restock),
            Grade::Damaged | Grade::Wrong => Some(Disposition::Quarantine),
            Grade::Missing => None,
        }
    }

    fn refuses(self, d: Disposition) -> Option<&'static str> {
        match (self, d) {
            (Grade::Damaged, Disposition::Restock) => {
                Some("damaged units cannot go back on the shelf: quarantine, refurbish or write them off")
            }
            (Grade::Missing, _) => Some("missing units are not here to dispose of; leave the disposition out"),
            _ => None,
        }
    }
}

/// A parcel coming back, and what grading found in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Return {
    pub id: ReturnId,
    pub order_id: OrderId,
    pub shipment_id: ShipmentId,
    pub tracking_number: String,
    pub carrier: String,
    pub channel: String,
    pub country: String,
    /// Where it is expected: the warehouse that shipped it.
    pub warehouse: WarehouseCode,
    pub status: ReturnStatus,
    /// The carrier's first return scan.
    pub started_at: OffsetDateTime,
    /// When the carrier said it was back with the seller.
    pub carrier_returned_at: Option<OffsetDateTime>,
    pub expected_by: OffsetDateTime,
    pub received_at: Option<OffsetDateTime>,
    pub received_warehouse: Option<WarehouseCode>,
    pub closed_at: Option<OffsetDateTime>,
    /// Whether its overdue task was opened.
    pub overdue_task: bool,
    /// The route decided for it, when one was.
    pub route: Option<Route>,
    pub note: Option<String>,
    pub lines: Vec<GradedLine>,
    pub photos: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Return {
    /// Expected and past its lane's usual return time.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        self.status == ReturnStatus::Expected && self.expected_by <= now
    }
}

/// One product of the parcel as it was shipped, with its cost per unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShippedLine {
    pub product: ProductId,
    pub sku: Sku,
    pub quantity: i64,
    pub unit_cost: Money,
}

/// A grading line as written by the grader.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct GradeInput {
    pub sku: String,
    pub grade: String,
    pub quantity: i64,
    pub disposition: Option<String>,
    pub bin: Option<String>,
}

/// A grading line checked against the parcel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GradedLine {
    pub product: ProductId,
    pub sku: Sku,
    pub grade: Grade,
    pub quantity: i64,
    pub disposition: Option<Disposition>,
    pub bin: Option<String>,
    pub unit_cost: Money,
    /// Held units (quarantined or to refurbish) since released to the shelf or written off.
    pub released: i64,
}

impl GradedLine {
    /// Units still held apart, waiting for a decision.
    pub fn held(&self) -> i64 {
        match self.disposition {
            Some(Disposition::Quarantine | Disposition::Refurbish) => self.quantity - self.released,
            _ => 0,
        }
    }

    /// Whether these units' cost is lost: missing, or written off.
    pub fn is_loss(&self) -> bool {
        self.grade == Grade::Missing || self.disposition == Some(Disposition::WriteOff)
    }
}

/// Checks a grading against what was shipped: every shipped unit graded once as sellable, damaged or
/// missing, and anything else found in the parcel graded as wrong (a product `catalogue` knows). Errors name
/// the line and field; nothing is partly accepted.
pub fn grade(
    shipped: &[ShippedLine],
    catalogue: &HashMap<Sku, (ProductId, Money)>,
    input: &[GradeInput],
) -> Result<Vec<GradedLine>, FieldErrors> {
    let mut errors = FieldErrors::default();
    if input.is_empty() {
        errors.push("lines", "grade at least one line");
    }
    if input.len() > MAX_LINES {
        errors.push("lines", format!("at most {MAX_LINES} lines"));
        return Err(errors);
    }
    let by_sku: HashMap<&str, &ShippedLine> = shipped.iter().map(|l| (l.sku.as_str(), l)).collect();
    let mut out = Vec::with_capacity(input.len());
    let mut counted: BTreeMap<&str, i64> = BTreeMap::new();
    for (i, l) in input.iter().enumerate() {
        let at = |f: &str| format!("lines[{i}].{f}");
        let grade = errors.take(at("grade"), Grade::parse(&l.grade));
        let sku = errors.take(at("sku"), Sku::parse(&l.sku));
        if !(1..=MAX_QUANTITY).contains(&l.quantity) {
            errors.push(at("quantity"), format!("1 to {MAX_QUANTITY} units"));
        }
        let disposition = match &l.disposition {
            Some(d) => errors.take(at("disposition"), Disposition::parse(d)).map(Some),
            None => Some(grade.and_then(Grade::default_disposition)),
        };
        let bin = match &l.bin {
            Some(b) => errors.take(at("bin"), BinLocation::parse(b)).map(|b| Some(b.as_str().to_owned())),
            None => Some(None),
        };
        let (Some(grade), Some(sku), Some(disposition), Some(bin)) = (grade, sku, disposition, bin) else { continue };
        if l.disposition.is_some()
            && let Some(why) = disposition.and_then(|d| grade.refuses(d))
        {
            errors.push(at("disposition"), why);
            continue;
        }
        if bin.is_some() && disposition != Some(Disposition::Restock) {
            errors.push(at("bin"), "a bin is named only for units restocked");
            continue;
        }
        let known = by_sku.get(sku.as_str());
        let (product, unit_cost) = match (grade, known) {
            (Grade::Wrong, Some(_)) => {
                errors.push(at("grade"), format!("{sku} was shipped in this parcel: grade it sellable or damaged"));
                continue;
            }
            (Grade::Wrong, None) => match catalogue.get(&sku) {
                Some((p, c)) => (p.clone(), *c),
                None => {
                    errors.push(at("sku"), format!("{sku} is not a product in the catalogue"));
                    continue;
                }
            },
            (_, None) => {
                errors.push(at("sku"), format!("{sku} was not shipped in this parcel; grade it as wrong"));
                continue;
            }
            (_, Some(s)) => {
                *counted.entry(s.sku.as_str()).or_default() += l.quantity;
                (s.product.clone(), s.unit_cost)
            }
        };
        out.push(GradedLine { product, sku, grade, quantity: l.quantity, disposition, bin, unit_cost, released: 0 });
    }
    for s in shipped {
        let n = counted.get(s.sku.as_str()).copied().unwrap_or(0);
        if n > s.quantity {
            errors.push("lines", format!("{n} units of {} graded but {} were shipped", s.sku, s.quantity));
        } else if n < s.quantity && !errors.0.iter().any(|e| e.path.starts_with("lines[")) {
            errors.push(
                "lines",
                format!("{} of {} shipped but {n} graded: count the rest as missing", s.quantity, s.sku),
            );
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// The cost lost per currency: units missing or written off, at their cost.
pub fn loss(lines: &[GradedLine]) -> Result<Vec<Money>, Error> {
    let mut per: BTreeMap<Currency, Money> = BTreeMap::new();
    for l in lines.iter().filter(|l| l.is_loss()) {
        let v = l.unit_cost.checked_mul(l.quantity)?;
        let sum = per.entry(v.currency).or_insert_with(|| Money::zero(v.currency));
        *sum = sum.checked_add(v)?;
    }
    Ok(per.into_values().filter(|m| m.minor != 0).collect())
}

/// Units per disposition (missing units under none).
pub fn units_by_disposition(lines: &[GradedLine]) -> BTreeMap<Option<Disposition>, i64> {
    let mut out = BTreeMap::new();
    for l in lines {
        *out.entry(l.disposition).or_default() += l.quantity;
    }
    out
}

/// When a return that started at `started` should be back: after the lane's median return time once
/// enough returns on it were received (`past_days`, any order), else after [`DEFAULT_RETURN_DAYS`];
/// within 3 to 120 days either way.
pub fn expected_back(started: OffsetDateTime, past_days: &mut [i64]) -> OffsetDateTime {
    let days = if past_days.len() >= MIN_HISTORY {
        past_days.sort_unstable();
        past_days[past_days.len() / 2]
    } else {
        DEFAULT_RETURN_DAYS
    };
    started + Duration::days(days.clamp(3, 120))
}

word_enum!(
    /// Where a refused parcel abroad should go.
    Route, "route" {
        /// Back to the warehouse that shipped it.
        Reimport => "reimport",
        /// Into a return warehouse in the destination country, to be sold from there.
        HoldAbroad => "hold_abroad",
        /// Sold off locally for what a liquidator pays.
        Liquidate => "liquidate",
    }
);

/// What deciding a refused parcel's route weighs, in the base currency's minor units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RouteFacts {
    /// The goods' cost.
    pub goods_cost: i64,
    /// Bringing the parcel back to the warehouse that shipped it.
    pub return_freight: i64,
    /// Duties and taxes a new parcel to this country pays: saved on every unit sold from stock held there.
    pub duties_again: i64,
    pub units: i64,
    /// Units of these products sold into the country over the last 30 days.
    pub local_demand: i64,
    /// What a liquidator pays, in basis points of cost.
    pub liquidation_bp: i64,
    /// Keeping one unit in the return warehouse for the month it takes to sell (storage, handling).
    pub holding_cost: i64,
}

/// The three routes' values and the best of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteAdvice {
    pub route: Route,
    /// Each route's value: what the goods are worth to the seller after taking that route.
    pub values: Vec<(Route, i64)>,
}

/// Liquidators' usual price for returned consumer goods, when the seller has not set one: 30 % of cost.
pub const DEFAULT_LIQUIDATION_BP: i64 = 3_000;

/// What the seller sets for weighing a refused parcel's route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSettings {
    /// What a liquidator pays, in basis points of the goods' cost (0 to 10,000).
    pub liquidation_bp: i64,
    /// Keeping one unit in a return warehouse abroad for a month, in minor units of `holding_currency`.
    pub holding_cost_minor: i64,
    /// None until a holding cost is set.
    pub holding_currency: Option<Currency>,
}

impl Default for RouteSettings {
    fn default() -> Self {
        RouteSettings { liquidation_bp: DEFAULT_LIQUIDATION_BP, holding_cost_minor: 0, holding_currency: None }
    }
}

impl RouteSettings {
    pub fn check(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        if !(0..=10_000).contains(&self.liquidation_bp) {
            e.push("liquidation_bp", "0 to 10,000 basis points of the goods' cost");
        }
        if self.holding_cost_minor < 0 || self.holding_cost_minor > 1_000_000_000 {
            e.push("holding_cost", "not negative, and at most 10,000,000 in the currency");
        }
        if e.is_empty() { Ok(()) } else { Err(e) }
    }
}

/// Weighs the routes: re-import keeps the goods less the freight back; holding abroad keeps the share the
/// country's demand will sell within a month, with the duties a new parcel would pay saved, less a month's
/// holding cost for each of those units, the rest liquidated there; liquidating gets the liquidator's price. Holding abroad is the riskier route, so it is
/// chosen only when strictly better; between the others a tie goes to re-importing.
pub fn advise(f: &RouteFacts) -> RouteAdvice {
    let liquidation = |v: i64| (v as i128 * f.liquidation_bp.clamp(0, 10_000) as i128 / 10_000) as i64;
    let units = f.units.max(1);
    let sold = f.local_demand.clamp(0, units);
    let share = |v: i64| (v as i128 * sold as i128 / units as i128) as i64;
    let hold = share(f.goods_cost + f.duties_again) + liquidation(f.goods_cost - share(f.goods_cost))
        - f.holding_cost.max(0) * sold;
    let values = vec![
        (Route::HoldAbroad, hold),
        (Route::Reimport, f.goods_cost - f.return_freight),
        (Route::Liquidate, liquidation(f.goods_cost)),
    ];
    let preference = [Route::Reimport, Route::Liquidate, Route::HoldAbroad];
    let value = |r: Route| values.iter().find(|v| v.0 == r).map_or(i64::MIN, |v| v.1);
    let route = preference.into_iter().fold(Route::Reimport, |best, r| if value(r) > value(best) { r } else { best });
    RouteAdvice { route, values }
}

#[cfg(test)]
mod tests;
