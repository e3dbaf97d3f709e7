//! Channels, duty rules, quotes and channel choice. The configuration is read whole into memory with the
//! review snapshot (and reloaded when it changes), so quoting and allocating cost no queries.

use std::collections::HashMap;

use codflow_domain::rating::{
    Candidate, Channel, ChannelSpec, Contents, Destination, DutyRule, DutyRuleSpec, DutyTable, Fx, Incoterm,
    Ineligible, Item, LaneStats, Parcel, QuoteRequest, Ranking, Strategy, apply_bp, rank,
};
use codflow_domain::review::{Counts, keys};
use codflow_domain::{
    Actor, AuditRecord, ChannelChoice, ChannelCode, Country, Currency, FieldErrors, FxRate, IneligibleChannel, Money,
    Order, Product, RankedChannel, Sku,
};
use codflow_store::{Conn, commit, logistics as lstore, orders, review as rstore};
use time::OffsetDateTime;

use crate::error::ConflictKind;
use crate::{Error, Fulfilment, Result};

mod quote;
mod rate_card;

pub use quote::{ContentsInput, DestinationInput, ItemInput, ParcelInput, QuoteInput, QuoteResult};
pub use rate_card::{RateImport, rate_csv};

/// How allocation chooses and what it assumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogisticsSettings {
    pub strategy: Strategy,
    pub incoterm: Incoterm,
    /// Book with the carrier as soon as an order is allocated.
    pub auto_book: bool,
    /// P(delivered) assumed for a channel with no history on a lane, in percent.
    pub delivery_prior_pct: i64,
}

impl LogisticsSettings {
    /// The delivery prior in parts per million, as ranking and forecasts use it.
    pub fn delivery_prior_ppm(&self) -> u64 {
        (self.delivery_prior_pct.clamp(0, 100) * 10_000) as u64
    }
}

impl Default for LogisticsSettings {
    fn default() -> Self {
        LogisticsSettings {
            strategy: Strategy::ExpectedProfit,
            incoterm: Incoterm::Ddp,
            auto_book: false,
            delivery_prior_pct: 85,
        }
    }
}

/// The logistics configuration as rating reads it.
pub struct Logistics {
    pub channels: Vec<Channel>,
    pub duties: DutyTable,
    pub rates: Vec<FxRate>,
    pub settings: LogisticsSettings,
}

impl Logistics {
    pub async fn load(conn: &mut Conn, rates: Vec<FxRate>) -> Result<Logistics> {
        let channels = lstore::channels(conn).await?;
        let duties = DutyTable(lstore::duty_rules(conn).await?);
        let settings = settings(conn).await?;
        Ok(Logistics { channels, duties, rates, settings })
    }

    /// The outcome-count keys of every enabled channel's lane to `country`.
    pub fn lane_keys(&self, country: Country) -> impl Iterator<Item = String> + '_ {
        self.channels.iter().filter(|c| c.enabled).map(move |c| keys::lane(c.code.as_str(), country))
    }

    /// Quotes every channel, then ranks the eligible ones. `stats` gives each channel's outcomes on the lane.
    pub fn choose(
        &self,
        req: &QuoteRequest,
        base: Currency,
        revenue: Option<Money>,
        goods_cost: Money,
        strategy: Strategy,
        stats: impl Fn(&ChannelCode) -> LaneStats,
    ) -> (Ranking, Vec<(&Channel, Ineligible)>) {
        let mut candidates = Vec::new();
        let mut ineligible = Vec::new();
        let fx = self.rates.as_slice();
        for ch in &self.channels {
            let q = ch.quote(req, &self.duties, fx, base).and_then(|q| {
                let conv = |minor| fx.convert(Money::new(minor, q.currency), base, req.date);
                Ok(Candidate {
                    return_cost: conv(apply_bp(q.breakdown.base, ch.card.return_bp))?,
                    cod_fee_base: conv(q.breakdown.cod_fee)?,
                    priority: ch.priority,
                    stats: stats(&ch.code),
                    quote: q,
                })
            });
            match q {
                Ok(c) => candidates.push(c),
                Err(e) => ineligible.push((ch, e)),
            }
        }
        let prior = self.settings.delivery_prior_ppm();
        (rank(candidates, strategy, revenue, goods_cost, prior), ineligible)
    }
}

pub(crate) async fn settings(conn: &mut Conn) -> Result<LogisticsSettings> {
    let d = LogisticsSettings::default();
    let found =
        rstore::settings_of(conn, &["allocation_strategy", "incoterm", "auto_book", "delivery_prior_pct"]).await?;
    use crate::settings::stored;
    Ok(LogisticsSettings {
        strategy: stored(&found, "allocation_strategy", d.strategy, |s| Strategy::parse(s).ok())?,
        incoterm: stored(&found, "incoterm", d.incoterm, |s| Incoterm::parse(s).ok())?,
        auto_book: stored(&found, "auto_book", d.auto_book, |s| s.parse().ok())?,
        delivery_prior_pct: stored(&found, "delivery_prior_pct", d.delivery_prior_pct, |s| s.parse().ok())?,
    })
}

/// The order's products by SKU, in one query.
pub async fn products_of(conn: &mut Conn, order: &Order) -> Result<HashMap<Sku, Product>> {
    let skus: Vec<&Sku> = order.lines.iter().map(|l| &l.sku).collect();
    Ok(codflow_store::catalogue::products_by_sku(conn, &skus).await?.into_iter().map(|p| (p.sku.clone(), p)).collect())
}

/// A channel's recorded outcomes on the lane to `country`, from outcome counts keyed by [`keys::lane`].
pub fn lane_stats(counts: &HashMap<String, Counts>, channel: &ChannelCode, country: Country) -> LaneStats {
    counts.get(&keys::lane(channel.as_str(), country)).map_or(LaneStats::default(), |c| LaneStats {
        delivered: c.delivered.max(0) as u64,
        failed: c.refused.max(0) as u64,
    })
}

/// What an order ships as: one parcel of its lines' weight (dimensions are measured at packing), its goods
/// value and per-line values for duties, COD when it is paid at the door.
pub fn request_for(order: &Order, products: &HashMap<Sku, Product>, incoterm: Incoterm) -> QuoteRequest {
    let mut weight = 0;
    let mut contents = Contents::default();
    let mut items = Vec::with_capacity(order.lines.len());
    let mut goods = 0;
    for l in &order.lines {
        let value = l.unit_price.minor * l.quantity;
        goods += value;
        let p = products.get(&l.sku);
        if let Some(p) = p {
            weight += p.unit_weight_g * l.quantity;
            let cat = p.category.as_deref().unwrap_or("").to_ascii_lowercase();
            contents.batteries |= cat.contains("batter");
            contents.liquids |= cat.contains("liquid");
        }
        items.push(Item { hs_code: p.and_then(|p| p.hs_code.clone()), value: Money::new(value, order.currency) });
    }
    let a = &order.shipping_address;
    QuoteRequest {
        destination: Destination {
            country: a.country,
            region: a.region.clone(),
            city: Some(a.city.clone()),
            postal_code: a.postal_code.clone(),
        },
        parcels: vec![Parcel { weight_g: weight, length_cm: 0, width_cm: 0, height_cm: 0 }],
        goods_value: Money::new(goods, order.currency),
        items,
        cod: (order.cod_amount.minor > 0).then_some(order.cod_amount),
        incoterm,
        contents,
        date: order.placed_at.date(),
    }
}

/// The units' cost in the base currency, or zero where a rate is missing (profit is then overstated, not
/// refused: allocation still has to happen).
pub fn goods_cost(order: &Order, products: &HashMap<Sku, Product>, base: Currency, fx: &[FxRate]) -> Money {
    let day = order.placed_at.date();
    let minor = order
        .lines
        .iter()
        .filter_map(|l| {
            let p = products.get(&l.sku)?;
            let m = p.unit_cost.checked_mul(l.quantity).ok()?;
            fx.convert(m, base, day).ok().map(|m| m.minor)
        })
        .sum();
    Money::new(minor, base)
}

/// The stored form of a ranking.
pub fn choice_of(ranking: &Ranking, ineligible: &[(&Channel, Ineligible)]) -> ChannelChoice {
    ChannelChoice {
        strategy: ranking.strategy.as_str().to_owned(),
        why: ranking.why.clone(),
        ranking: ranking
            .ranked
            .iter()
            .map(|r| RankedChannel {
                channel: r.quote.channel.to_string(),
                zone: r.quote.zone.clone(),
                currency: r.quote.currency.to_string(),
                total_minor: r.quote.breakdown.total(),
                base_currency: r.quote.total_base.currency.to_string(),
                total_base_minor: r.quote.total_base.minor,
                expected_profit_minor: r.expected_profit.map(|m| m.minor),
                p_delivered_ppm: r.p_delivered_ppm,
                samples: r.samples,
                transit_days: r.quote.transit_days,
                billable_weight_g: r.quote.billable_weight_g,
                breakdown: Some(r.quote.breakdown),
            })
            .collect(),
        ineligible: ineligible
            .iter()
            .map(|(c, e)| IneligibleChannel {
                channel: c.code.to_string(),
                reason: e.reason.as_str().to_owned(),
                message: e.message.clone(),
            })
            .collect(),
    }
}

fn audit(
    entity: &'static str,
    id: &str,
    action: &str,
    to: Option<String>,
    actor: Actor,
    at: OffsetDateTime,
) -> AuditRecord {
    AuditRecord::change(entity, id.to_owned(), action, None, to, actor, at)
}

impl Fulfilment {
    async fn logistics_changed(&self, conn: &mut Conn) -> Result<()> {
        rstore::bump_review_generation(conn, self.clock().now()).await?;
        Ok(())
    }

    pub async fn channels(&self) -> Result<Vec<Channel>> {
        Ok(lstore::channels(&mut *self.store.read().await?).await?)
    }

    pub async fn channel(&self, code: &ChannelCode) -> Result<Channel> {
        let code = code.clone();
        lstore::channel(&mut *self.store.read().await?, &code).await?.ok_or(Error::NotFound("channel"))
    }

    /// Creates or replaces channels, all or none; paths of errors are prefixed with `[i].` when several.
    pub async fn put_channels(&self, specs: &[ChannelSpec], actor: Actor) -> Result<Vec<(Channel, bool)>> {
        let mut errors = FieldErrors::default();
        let mut parsed = Vec::with_capacity(specs.len());
        for (i, s) in specs.iter().enumerate() {
            match s.parse() {
                Ok(c) => parsed.push(c),
                Err(e) => {
                    for f in e.0 {
                        let path = if specs.len() == 1 { f.path } else { format!("[{i}].{}", f.path) };
                        errors.push(path, f.message);
                    }
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in parsed.iter().enumerate() {
            if !seen.insert(c.code.clone()) {
                errors.push(format!("[{i}].code"), format!("channel {} appears twice", c.code));
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let mut tx = self.store.begin().await?;
        for (i, c) in parsed.iter().enumerate() {
            let Some(code) = &c.carrier_account else { continue };
            let path = if parsed.len() == 1 { "carrier_account".to_owned() } else { format!("[{i}].carrier_account") };
            match codflow_store::carrier_accounts::get(&mut tx, code).await? {
                None => errors.push(path, format!("no carrier account {code}")),
                Some(a) if a.account.carrier.as_str() != c.carrier => errors.push(
                    path,
                    format!("{code} is a {} account; this channel's carrier is {}", a.account.carrier, c.carrier),
                ),
                Some(_) => {}
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let mut out = Vec::with_capacity(parsed.len());
        let mut audits = Vec::new();
        for c in parsed {
            let created = lstore::put_channel(&mut tx, &c, self.clock().now()).await?;
            let what = format!("{} via {} {}, {} zones", c.name, c.carrier, c.service, c.card.zones.len());
            audits.push(audit(
                "channel",
                c.code.as_str(),
                if created { "create" } else { "update" },
                Some(what),
                actor.clone(),
                self.clock().now(),
            ));
            out.push((c, created));
        }
        orders::insert_audit(&mut tx, &audits).await?;
        self.logistics_changed(&mut tx).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(out)
    }

    pub async fn delete_channel(&self, code: &ChannelCode, actor: Actor) -> Result<()> {
        let code = code.clone();
        let mut tx = self.store.begin().await?;
        if lstore::channel_in_use(&mut tx, &code).await? {
            return Err(Error::Conflict {
                kind: ConflictKind::ChannelInUse,
                message: format!("channel {code} has shipments; disable it instead of deleting it"),
            });
        }
        if !lstore::delete_channel(&mut tx, &code).await? {
            return Err(Error::NotFound("channel"));
        }
        orders::insert_audit(&mut tx, &[audit("channel", code.as_str(), "delete", None, actor, self.clock().now())])
            .await?;
        self.logistics_changed(&mut tx).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(())
    }

    pub async fn duty_rules(&self) -> Result<Vec<DutyRule>> {
        Ok(lstore::duty_rules(&mut *self.store.read().await?).await?)
    }

    pub async fn put_duty_rules(&self, specs: &[DutyRuleSpec], actor: Actor) -> Result<Vec<DutyRule>> {
        let mut errors = FieldErrors::default();
        let mut parsed = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            match s.parse() {
                Ok(r) => parsed.push(r),
                Err(e) => e.0.into_iter().for_each(|f| {
                    errors.push(if specs.len() == 1 { f.path } else { format!("[{i}].{}", f.path) }, f.message)
                }),
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let mut tx = self.store.begin().await?;
        let mut audits = Vec::new();
        for r in &parsed {
            lstore::put_duty_rule(&mut tx, r, self.clock().now()).await?;
            let s = r.to_spec();
            let what = format!("duty {}%, VAT {}% from {}", s.duty_pct, s.vat_pct, s.effective_from);
            audits.push(audit(
                "duty_rule",
                &format!("{}@{}", s.country, s.effective_from),
                "put",
                Some(what),
                actor.clone(),
                self.clock().now(),
            ));
        }
        orders::insert_audit(&mut tx, &audits).await?;
        self.logistics_changed(&mut tx).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(parsed)
    }

    pub async fn delete_duty_rule(&self, country: &str, effective_from: &str, actor: Actor) -> Result<()> {
        let mut tx = self.store.begin().await?;
        if !lstore::delete_duty_rule(&mut tx, country, effective_from).await? {
            return Err(Error::NotFound("duty rule"));
        }
        let id = format!("{country}@{effective_from}");
        orders::insert_audit(&mut tx, &[audit("duty_rule", &id, "delete", None, actor, self.clock().now())]).await?;
        self.logistics_changed(&mut tx).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(())
    }

    pub async fn logistics_settings(&self) -> Result<LogisticsSettings> {
        settings(&mut *self.store.read().await?).await
    }

    pub async fn set_logistics_settings(&self, s: &LogisticsSettings, actor: Actor) -> Result<()> {
        if !(0..=100).contains(&s.delivery_prior_pct) {
            return Err(Error::invalid("delivery_prior_pct", "must be 0 to 100"));
        }
        let mut tx = self.store.begin().await?;
        let now = self.clock().now();
        rstore::set_setting(&mut tx, "allocation_strategy", s.strategy.as_str(), now).await?;
        rstore::set_setting(&mut tx, "incoterm", s.incoterm.as_str(), now).await?;
        rstore::set_setting(&mut tx, "auto_book", if s.auto_book { "true" } else { "false" }, now).await?;
        rstore::set_setting(&mut tx, "delivery_prior_pct", &s.delivery_prior_pct.to_string(), now).await?;
        let what = format!(
            "strategy {}, incoterm {}, auto-book {}, prior {}%",
            s.strategy.as_str(),
            s.incoterm.as_str(),
            s.auto_book,
            s.delivery_prior_pct
        );
        orders::insert_audit(
            &mut tx,
            &[audit("settings", "logistics", "update", Some(what), actor, self.clock().now())],
        )
        .await?;
        self.logistics_changed(&mut tx).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(())
    }
}
