//! Profit per order and its aggregates: the order, its quote, its shipment's fate and the statements that
//! paid or billed it, each converted to the base currency at its own date, handed to `finance::profit`.

use std::collections::HashMap;

use codflow_domain::finance::profit::{self, Components, Dimension, Facts, Group, Quoted, Reported, Stage};
use codflow_domain::money::{Currency, FxRate, Money};
use codflow_domain::order::{Order, PaymentMethod, RankedChannel};
use codflow_domain::rating::apply_bp;
use codflow_domain::{Actor, AuditRecord, OrderId};
use codflow_store::profit::{self as pstore, PayoutShare, ShipmentMoney};
use codflow_store::{catalogue, commit, logistics as lstore, orders, review as rstore};
use serde::Serialize;
use time::{Date, OffsetDateTime, Time};

use crate::{Error, Finance, Result};

/// The setting holding the first leg's cost per kilogram by warehouse code, in base-currency minor units.
const FIRST_LEG_KEY: &str = "first_leg_per_kg";
/// Orders read per page of a report.
const PAGE: i64 = 1_000;
/// How many orders a report names as skipped; the rest are counted.
const SKIPPED_SHOWN: usize = 50;

/// One order's profit as reported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrderProfit {
    pub order_id: OrderId,
    pub external_id: String,
    pub placed_at: OffsetDateTime,
    pub country: String,
    pub region: String,
    pub channel: String,
    pub stage: Stage,
    pub base_currency: Currency,
    pub expected: Option<Components>,
    pub actual: Option<Components>,
}

#[derive(Clone, Debug, Default)]
pub struct ProfitFilter {
    /// Orders placed on or after this day…
    pub from: Option<Date>,
    /// …and before this one.
    pub to: Option<Date>,
    pub country: Option<String>,
    pub channel: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProfitReport {
    pub base_currency: Currency,
    pub group_by: Dimension,
    pub groups: Vec<Group>,
    pub orders: i64,
    /// Orders left out because a fact could not be valued (no exchange rate, say), with why.
    pub skipped: i64,
    pub skipped_orders: Vec<(OrderId, String)>,
    /// The exchange rates that were missing, each with the earliest day an order needed it: adding a rate
    /// for that day (or before) brings those orders in.
    pub missing_rates: Vec<MissingRate>,
}

/// An exchange rate a report needed and did not find.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MissingRate {
    pub from: Currency,
    pub to: Currency,
    pub earliest: Date,
}

/// Everything a report needs besides the orders, read once.
struct Context {
    base: Currency,
    rates: Vec<FxRate>,
    /// Unit cost and weight by SKU.
    products: HashMap<String, (Money, i64)>,
    first_leg: HashMap<String, i64>,
    return_bp: HashMap<String, i64>,
    payouts: HashMap<(String, Currency), Vec<PayoutShare>>,
    /// Rates looked for in vain, by pair, with the earliest day needed.
    missing: std::sync::Mutex<std::collections::BTreeMap<(Currency, Currency), Date>>,
}

impl Context {
    /// Converts at the latest rate on or before `day`, quoted either way round.
    fn to_base(&self, m: Money, day: Date) -> std::result::Result<i64, String> {
        crate::finance::convert_either(&self.rates, m, self.base, day).map(|c| c.minor).ok_or_else(|| {
            if let Ok(mut missing) = self.missing.lock() {
                let earliest = missing.entry((m.currency, self.base)).or_insert(day);
                *earliest = (*earliest).min(day);
            }
            format!("no exchange rate between {} and {} on {day}", m.currency, self.base)
        })
    }

    fn missing_rates(&self) -> Vec<MissingRate> {
        let missing = self.missing.lock().map(|m| m.clone()).unwrap_or_default();
        missing.into_iter().map(|((from, to), earliest)| MissingRate { from, to, earliest }).collect()
    }
}

fn stage(order: &Order, s: Option<&ShipmentMoney>) -> Stage {
    let Some(s) = s else { return Stage::Open };
    match s.status.as_deref() {
        Some("delivered") if order.payment_method == PaymentMethod::Prepaid || !s.remitted.is_empty() => Stage::Settled,
        Some("delivered") => Stage::Delivered,
        Some("returned") => Stage::Returned,
        Some("lost" | "damaged") => Stage::Lost,
        _ => Stage::Open,
    }
}

fn chosen(order: &Order) -> Option<&RankedChannel> {
    let a = order.allocation.as_ref()?;
    let code = a.channel.as_ref()?;
    a.choice.as_ref()?.ranking.iter().find(|r| r.channel == code.as_str())
}

/// The quote's parts in the base currency, at the rate the allocation itself used (its base total over
/// its total), so expected profit agrees with the ranking that chose the channel.
fn quoted(r: &RankedChannel, return_bp: Option<i64>) -> Option<Quoted> {
    let b = r.breakdown.as_ref()?;
    let to_base = |v: i64| {
        if r.total_minor == 0 { 0 } else { (v as i128 * r.total_base_minor as i128 / r.total_minor as i128) as i64 }
    };
    Some(Quoted {
        freight: to_base(b.base + b.fuel + b.remote_area + b.oversize + b.ddp_fee),
        cod_fee: to_base(b.cod_fee),
        duties_taxes: to_base(b.duties + b.taxes),
        return_freight: to_base(apply_bp(b.base, return_bp.unwrap_or(10_000))),
        p_delivered_ppm: r.p_delivered_ppm,
    })
}

/// What the order's allocation quoted, in the base currency, with the channel's return charge.
pub(crate) fn order_quote(order: &Order, return_bp: impl Fn(&str) -> Option<i64>) -> Option<Quoted> {
    chosen(order).and_then(|r| quoted(r, return_bp(&r.channel)))
}

fn facts(cx: &Context, order: &Order, s: Option<&ShipmentMoney>) -> std::result::Result<Facts, String> {
    let placed = order.placed_at.date();
    let day = s.and_then(|s| s.delivered_at).map(|t| t.date()).unwrap_or(placed);
    let mut goods = 0i64;
    let mut weight_g = 0i64;
    for l in &order.lines {
        let (cost, weight) =
            cx.products.get(l.sku.as_str()).ok_or_else(|| format!("SKU {} is not in the catalogue", l.sku))?;
        goods += cx.to_base(Money::new(cost.minor * l.quantity, cost.currency), placed)?;
        weight_g += weight * l.quantity;
    }
    let weight_g = s.map(|s| s.weight_g).unwrap_or(weight_g);
    let warehouse = order.allocation.as_ref().map(|a| a.warehouse.as_str().to_owned()).unwrap_or_default();
    let first_leg = cx.first_leg.get(&warehouse).map(|per_kg| per_kg * weight_g / 1_000).unwrap_or(0);
    let quote = chosen(order).and_then(|r| quoted(r, cx.return_bp.get(&r.channel).copied()));
    let mut f = Facts {
        stage: Some(stage(order, s)),
        revenue: cx.to_base(order.total, placed)?,
        goods_cost: goods,
        first_leg,
        quoted: quote,
        ..Facts::default()
    };
    let Some(s) = s else { return Ok(f) };
    if !s.remitted.is_empty() {
        let (mut collected, mut fee, mut other, mut freight, mut fx) = (0, 0, 0, 0, 0);
        for r in &s.remitted {
            collected += cx.to_base(r.amount, day)?;
            fee += cx.to_base(r.fee, day)?;
            other += cx.to_base(r.other, day)?;
            freight += cx.to_base(r.freight, day)?;
            // This parcel's share of what its reference's payouts gained in exchange and paid the platform.
            let key = r.reference.clone().map(|reference| (reference, r.net.currency));
            for p in key.and_then(|k| cx.payouts.get(&k)).into_iter().flatten() {
                let share = |m: Money| {
                    Money::new(profit::allocate(m.minor, &[r.net.minor, p.remitted_net - r.net.minor])[0], m.currency)
                };
                fx += cx.to_base(share(p.fx_gain), day)?;
                fee += cx.to_base(share(p.platform_fee), day)?;
            }
        }
        f.collected = Some(collected);
        f.cod_fee_charged = Some(fee);
        f.other_charged = other;
        f.freight_deducted = freight;
        f.fx = fx;
    }
    for m in &s.written_off {
        f.goods_written_off += cx.to_base(*m, day)?;
    }
    for m in &s.recovered {
        f.recovered += cx.to_base(*m, day)?;
    }
    if !s.invoiced.is_empty() {
        let mut billed = 0;
        for m in &s.invoiced {
            billed += cx.to_base(*m, day)?;
        }
        f.freight_invoiced = Some(billed);
    }
    Ok(f)
}

fn month(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}", t.year(), u8::from(t.month()))
}

impl Finance {
    async fn profit_context(&self) -> Result<Context> {
        let mut conn = self.store.read().await?;
        let base = self.review.base_currency().await?;
        Ok(Context {
            base,
            rates: rstore::rates(&mut conn).await?,
            products: catalogue::products(&mut conn)
                .await?
                .into_iter()
                .map(|p| (p.sku.to_string(), (p.unit_cost, p.unit_weight_g)))
                .collect(),
            first_leg: first_leg(&mut conn).await?,
            return_bp: lstore::channels(&mut conn)
                .await?
                .into_iter()
                .map(|c| (c.code.to_string(), c.card.return_bp))
                .collect(),
            payouts: pstore::payout_shares(&mut conn).await?,
            missing: Default::default(),
        })
    }

    /// One order's expected and (once known) actual profit.
    pub async fn order_profit(&self, id: &codflow_domain::OrderId) -> Result<OrderProfit> {
        let order = self.intake.order(id).await?;
        let cx = self.profit_context().await?;
        let money = pstore::shipment_money(&mut *self.store.read().await?, &[&order.id]).await?;
        let f = facts(&cx, &order, money.first()).map_err(|e| Error::invalid("order", e))?;
        Ok(order_profit(&cx, &order, &f))
    }

    /// Profit of the allocated orders placed in the filter's range, grouped by `by`, streamed a page at a
    /// time; `each` hears every order's profit as it is figured (for exports).
    pub async fn profit_report(
        &self,
        filter: &ProfitFilter,
        by: Dimension,
        mut each: impl FnMut(&OrderProfit) + Send,
    ) -> Result<ProfitReport> {
        let cx = self.profit_context().await?;
        let mut conn = self.store.read().await?;
        let since = filter.from.map(|d| d.with_time(Time::MIDNIGHT).assume_utc()).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let until = filter.to.map(|d| d.with_time(Time::MIDNIGHT).assume_utc());
        let mut report = ProfitReport {
            base_currency: cx.base,
            group_by: by,
            groups: Vec::new(),
            orders: 0,
            skipped: 0,
            skipped_orders: Vec::new(),
            missing_rates: Vec::new(),
        };
        let mut reported: Vec<Reported> = Vec::new();
        let mut after: Option<(OffsetDateTime, OrderId)> = None;
        'pages: loop {
            let page = orders::by_placed(&mut conn, since, after.as_ref().map(|(t, id)| (*t, id)), PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some((last.placed_at, last.id.clone()));
            let ids: Vec<&OrderId> = page.iter().map(|o| &o.id).collect();
            let money: HashMap<OrderId, ShipmentMoney> =
                pstore::shipment_money(&mut conn, &ids).await?.into_iter().map(|s| (s.order_id.clone(), s)).collect();
            for o in &page {
                if until.is_some_and(|u| o.placed_at >= u) {
                    break 'pages;
                }
                let channel = o.allocation.as_ref().and_then(|a| a.channel.as_ref()).map(|c| c.to_string());
                let s = money.get(&o.id);
                if (channel.is_none() && s.is_none())
                    || filter.country.as_ref().is_some_and(|c| c != o.shipping_address.country.code())
                    || filter.channel.as_ref().is_some_and(|c| Some(c) != channel.as_ref())
                {
                    continue;
                }
                let f = match facts(&cx, o, s) {
                    Ok(f) => f,
                    Err(why) => {
                        report.skipped += 1;
                        if report.skipped_orders.len() < SKIPPED_SHOWN {
                            report.skipped_orders.push((o.id.clone(), why));
                        }
                        continue;
                    }
                };
                let p = order_profit(&cx, o, &f);
                each(&p);
                report.orders += 1;
                reported.push(Reported {
                    country: p.country,
                    region: p.region,
                    channel: p.channel,
                    month: month(o.placed_at),
                    skus: o.lines.iter().map(|l| (l.sku.to_string(), l.unit_price.minor * l.quantity)).collect(),
                    expected: p.expected,
                    actual: p.actual,
                });
            }
        }
        report.groups = profit::aggregate(&reported, by);
        report.missing_rates = cx.missing_rates();
        Ok(report)
    }

    /// The first leg's cost per kilogram by warehouse code, in base-currency minor units.
    pub async fn first_leg_costs(&self) -> Result<HashMap<String, i64>> {
        first_leg(&mut *self.store.read().await?).await
    }

    /// Replaces the first-leg costs (known warehouses, non-negative), audited.
    pub async fn set_first_leg_costs(&self, costs: HashMap<String, i64>, actor: Actor) -> Result<HashMap<String, i64>> {
        let mut conn = self.store.read().await?;
        let known: Vec<String> =
            catalogue::warehouses(&mut conn, None, 10_000).await?.into_iter().map(|w| w.code.to_string()).collect();
        drop(conn);
        let mut e = codflow_domain::FieldErrors::default();
        for (code, v) in &costs {
            if !known.contains(code) {
                e.push(format!("costs.{code}"), "is not a warehouse");
            } else if *v < 0 {
                e.push(format!("costs.{code}"), "must not be negative");
            }
        }
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let before = first_leg(&mut tx).await?;
        let json = serde_json::to_string(&costs.iter().collect::<std::collections::BTreeMap<_, _>>())
            .map_err(|e| Error::Internal(codflow_store::Error::Corrupt(e.to_string())))?;
        rstore::set_setting(&mut tx, FIRST_LEG_KEY, &json, now).await?;
        let a = AuditRecord::change(
            "settings",
            FIRST_LEG_KEY.to_owned(),
            "update",
            Some(format!("{before:?}")),
            Some(json),
            actor,
            now,
        );
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(costs)
    }
}

fn order_profit(cx: &Context, o: &Order, f: &Facts) -> OrderProfit {
    OrderProfit {
        order_id: o.id.clone(),
        external_id: o.external_id.clone(),
        placed_at: o.placed_at,
        country: o.shipping_address.country.code().to_owned(),
        region: o.shipping_address.region.clone().unwrap_or_default(),
        channel: o.allocation.as_ref().and_then(|a| a.channel.as_ref()).map(|c| c.to_string()).unwrap_or_default(),
        stage: f.stage.unwrap_or(Stage::Open),
        base_currency: cx.base,
        expected: profit::expected(f),
        actual: profit::actual(f),
    }
}

async fn first_leg(conn: &mut codflow_store::Conn) -> Result<HashMap<String, i64>> {
    match rstore::setting(conn, FIRST_LEG_KEY).await? {
        None => Ok(HashMap::new()),
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| Error::Internal(codflow_store::Error::Corrupt(format!("{FIRST_LEG_KEY}: {e}")))),
    }
}

const PARTS: [&str; 9] =
    ["revenue", "product_cost", "first_leg", "last_mile", "duties_taxes", "cod_fee", "return_cost", "fx", "profit"];

fn parts(c: &Components) -> [i64; 9] {
    [c.revenue, c.product_cost, c.first_leg, c.last_mile, c.duties_taxes, c.cod_fee, c.return_cost, c.fx, c.profit]
}

fn amounts(c: Option<&Components>, base: Currency) -> Vec<String> {
    match c {
        Some(c) => parts(c).iter().map(|v| Money::new(*v, base).amount_string()).collect(),
        None => vec![String::new(); PARTS.len()],
    }
}

fn header(first: &[&str]) -> Vec<String> {
    let mut h: Vec<String> = first.iter().map(|s| (*s).to_owned()).collect();
    h.extend(PARTS.iter().map(|p| format!("expected_{p}")));
    h.extend(PARTS.iter().map(|p| format!("actual_{p}")));
    h
}

/// Writes one row per order's profit, amounts in the base currency with its decimals.
pub struct OrderProfitCsv {
    w: csv::Writer<Vec<u8>>,
    error: Option<csv::Error>,
}

impl Default for OrderProfitCsv {
    fn default() -> Self {
        let mut w = csv::Writer::from_writer(Vec::new());
        let error = w
            .write_record(header(&[
                "order_id",
                "external_id",
                "placed_at",
                "country",
                "region",
                "channel",
                "stage",
                "currency",
            ]))
            .err();
        OrderProfitCsv { w, error }
    }
}

impl OrderProfitCsv {
    pub fn push(&mut self, p: &OrderProfit) {
        if self.error.is_some() {
            return;
        }
        let mut row = vec![
            p.order_id.to_string(),
            p.external_id.clone(),
            p.placed_at.date().to_string(),
            p.country.clone(),
            p.region.clone(),
            p.channel.clone(),
            p.stage.as_str().to_owned(),
            p.base_currency.code().to_owned(),
        ];
        row.extend(amounts(p.expected.as_ref(), p.base_currency));
        row.extend(amounts(p.actual.as_ref(), p.base_currency));
        self.error = self.w.write_record(row.iter().map(|c| codflow_sheets::csv::neutralised(c).into_owned())).err();
    }

    pub fn finish(self) -> Result<Vec<u8>> {
        let corrupt = |e: String| Error::Internal(codflow_store::Error::Corrupt(e));
        if let Some(e) = self.error {
            return Err(corrupt(e.to_string()));
        }
        self.w.into_inner().map_err(|e| corrupt(e.to_string()))
    }
}

/// The report's groups as CSV, one row per group.
pub fn groups_csv(r: &ProfitReport) -> Result<Vec<u8>> {
    let corrupt = |e: csv::Error| Error::Internal(codflow_store::Error::Corrupt(e.to_string()));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header(&[r.group_by.as_str(), "orders", "settled", "loss_making", "currency"])).map_err(corrupt)?;
    for g in &r.groups {
        let mut row = vec![
            g.key.clone(),
            g.orders.to_string(),
            g.settled.to_string(),
            g.loss_making.to_string(),
            r.base_currency.code().to_owned(),
        ];
        row.extend(amounts(Some(&g.expected), r.base_currency));
        row.extend(amounts(Some(&g.actual), r.base_currency));
        w.write_record(row.iter().map(|c| codflow_sheets::csv::neutralised(c).into_owned())).map_err(corrupt)?;
    }
    w.into_inner().map_err(|e| Error::Internal(codflow_store::Error::Corrupt(e.to_string())))
}
