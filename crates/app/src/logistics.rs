//! Channels, duty rules, quotes and channel choice. The configuration is read whole into memory with the
//! review snapshot (and reloaded when it changes), so quoting and allocating cost no queries.

use std::collections::{BTreeMap, HashMap};

use codflow_domain::rating::{
    Candidate, Channel, ChannelSpec, Contents, Destination, DutyRule, DutyRuleSpec, DutyTable, Fx, Incoterm,
    Ineligible, Item, LaneStats, MoneySpec, Parcel, Quote, QuoteRequest, Ranking, Strategy, apply_bp, rank,
};
use codflow_domain::review::{Counts, keys};
use codflow_domain::{
    Actor, AuditRecord, ChannelChoice, ChannelCode, Country, Currency, FieldErrors, FxRate, HsCode, IneligibleChannel,
    Money, Order, Product, RankedChannel, Sku,
};
use codflow_store::{Conn, commit, logistics as lstore, orders, review as rstore};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::error::ConflictKind;
use crate::{Error, Fulfilment, Result};

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

/// A quote request as the API and `codflow quote` take it.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuoteInput {
    pub destination: DestinationInput,
    pub parcels: Vec<ParcelInput>,
    pub goods_value: MoneySpec,
    #[serde(default)]
    pub cod_amount: Option<MoneySpec>,
    #[serde(default)]
    pub incoterm: Option<String>,
    #[serde(default)]
    pub items: Vec<ItemInput>,
    #[serde(default)]
    pub contents: Option<ContentsInput>,
    /// YYYY-MM-DD; today when absent.
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub strategy: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DestinationInput {
    pub country: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ParcelInput {
    pub weight_g: i64,
    #[serde(default)]
    pub length_cm: Option<i64>,
    #[serde(default)]
    pub width_cm: Option<i64>,
    #[serde(default)]
    pub height_cm: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    #[serde(default)]
    pub hs_code: Option<String>,
    pub value: MoneySpec,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContentsInput {
    #[serde(default)]
    pub batteries: bool,
    #[serde(default)]
    pub liquids: bool,
}

fn money(e: &mut FieldErrors, path: &str, m: &MoneySpec) -> Option<Money> {
    let c = e.take(format!("{path}.currency"), Currency::parse(&m.currency))?;
    let v = e.take(format!("{path}.amount"), Money::parse(&m.amount, c))?;
    if v.is_negative() {
        e.push(format!("{path}.amount"), "must not be negative");
    }
    Some(v)
}

pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

impl QuoteInput {
    pub fn parse(
        &self,
        default_incoterm: Incoterm,
        today: Date,
    ) -> Result<(QuoteRequest, Option<Strategy>), FieldErrors> {
        let mut e = FieldErrors::default();
        let d = &self.destination;
        let country = e.take("destination.country", Country::parse(&d.country));
        if self.parcels.is_empty() {
            e.push("parcels", "give at least one parcel");
        }
        if self.parcels.len() > 100 {
            e.push("parcels", "at most 100 parcels per shipment");
        }
        let mut parcels = Vec::new();
        for (i, p) in self.parcels.iter().enumerate() {
            let mut dim = |name: &str, v: Option<i64>| match v {
                Some(v) if !(1..=1000).contains(&v) => {
                    e.push(format!("parcels[{i}].{name}"), "must be 1 to 1000 cm");
                    0
                }
                v => v.unwrap_or(0),
            };
            let (l, w, h) = (dim("length_cm", p.length_cm), dim("width_cm", p.width_cm), dim("height_cm", p.height_cm));
            if !(1..=1_000_000).contains(&p.weight_g) {
                e.push(format!("parcels[{i}].weight_g"), "must be 1 to 1,000,000 grams");
            }
            parcels.push(Parcel { weight_g: p.weight_g, length_cm: l, width_cm: w, height_cm: h });
        }
        let goods = money(&mut e, "goods_value", &self.goods_value);
        let cod = self.cod_amount.as_ref().and_then(|m| money(&mut e, "cod_amount", m));
        let incoterm = match &self.incoterm {
            Some(s) => e.take("incoterm", Incoterm::parse(s)),
            None => Some(default_incoterm),
        };
        let items = self
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, it)| {
                let hs = match &it.hs_code {
                    Some(h) => Some(e.take(format!("items[{i}].hs_code"), HsCode::parse(h))?),
                    None => None,
                };
                Some(Item { hs_code: hs, value: money(&mut e, &format!("items[{i}].value"), &it.value)? })
            })
            .collect();
        let date = match &self.date {
            Some(s) => parse_date(s).or_else(|| {
                e.push("date", format!("{s:?} is not a date (YYYY-MM-DD)"));
                None
            }),
            None => Some(today),
        };
        let strategy = self.strategy.as_ref().and_then(|s| e.take("strategy", Strategy::parse(s)));
        let c = self.contents.unwrap_or_default();
        match (country, goods, incoterm, date) {
            (Some(country), Some(goods_value), Some(incoterm), Some(date)) if e.is_empty() => Ok((
                QuoteRequest {
                    destination: Destination {
                        country,
                        region: d.region.clone(),
                        city: d.city.clone(),
                        postal_code: d.postal_code.clone(),
                    },
                    parcels,
                    goods_value,
                    items,
                    cod,
                    incoterm,
                    contents: Contents { batteries: c.batteries, liquids: c.liquids },
                    date,
                },
                strategy,
            )),
            _ => Err(e),
        }
    }
}

/// A quote across every channel: the eligible ones ranked, the others with their reason.
pub struct QuoteResult {
    pub base: Currency,
    pub ranking: Ranking,
    pub ineligible: Vec<(ChannelCode, String, Ineligible)>,
    pub names: HashMap<ChannelCode, String>,
}

impl QuoteResult {
    /// Tags for each eligible channel: `cheapest`, `fastest`, `best_expected_profit`.
    pub fn tags(&self, q: &Quote) -> Vec<&'static str> {
        let r = &self.ranking.ranked;
        let mut t = Vec::new();
        if r.iter().map(|x| x.quote.total_base.minor).min() == Some(q.total_base.minor) {
            t.push("cheapest");
        }
        if r.iter().map(|x| x.quote.transit_days).min() == Some(q.transit_days) {
            t.push("fastest");
        }
        let best = r.iter().filter_map(|x| x.expected_profit.map(|p| (p.minor, &x.quote.channel))).max_by_key(|x| x.0);
        if best.is_some_and(|(_, c)| *c == q.channel) {
            t.push("best_expected_profit");
        }
        t
    }
}

/// One row of the rate-card CSV: a weight band of a zone, or a zone's first+additional price.
#[derive(Debug, Default, Deserialize, Serialize)]
struct RateRow {
    channel: String,
    zone: String,
    countries: String,
    regions: String,
    cities: String,
    postcodes: String,
    transit_days: String,
    from_g: String,
    to_g: String,
    price: String,
    first_g: String,
    first_price: String,
    additional_g: String,
    additional_price: String,
    max_g: String,
}

const RATE_HEADER: &[&str] = &[
    "channel",
    "zone",
    "countries",
    "regions",
    "cities",
    "postcodes",
    "transit_days",
    "from_g",
    "to_g",
    "price",
    "first_g",
    "first_price",
    "additional_g",
    "additional_price",
    "max_g",
];

fn split_list(s: &str) -> Vec<String> {
    s.split('|').map(str::trim).filter(|x| !x.is_empty()).map(str::to_owned).collect()
}

fn join_list(v: &[String]) -> String {
    v.join("|")
}

/// Rate-card CSV import outcome.
#[derive(Debug, PartialEq, Eq)]
pub struct RateImport {
    pub channels: usize,
    pub zones: usize,
    pub rows: usize,
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

    pub async fn channel(&self, code: &str) -> Result<Channel> {
        let code = ChannelCode::parse(code).map_err(|_| Error::NotFound("channel"))?;
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

    pub async fn delete_channel(&self, code: &str, actor: Actor) -> Result<()> {
        let code = ChannelCode::parse(code).map_err(|_| Error::NotFound("channel"))?;
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

    /// Every channel's rate card as CSV rows (see the header).
    pub async fn export_rate_csv(&self) -> Result<String> {
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
        let csv_err = |e: csv::Error| Error::invalid("csv", e.to_string());
        w.write_record(RATE_HEADER).map_err(csv_err)?;
        for ch in self.channels().await? {
            let spec = ch.to_spec();
            for z in &spec.rate_card.zones {
                let base = RateRow {
                    channel: spec.code.clone(),
                    zone: z.name.clone(),
                    countries: join_list(&z.countries),
                    regions: join_list(&z.regions),
                    cities: join_list(&z.cities),
                    postcodes: join_list(&z.postcodes),
                    transit_days: z.transit_days.to_string(),
                    ..Default::default()
                };
                if let Some(s) = &z.steps {
                    let row = RateRow {
                        first_g: s.first_g.to_string(),
                        first_price: s.first_price.clone(),
                        additional_g: s.additional_g.to_string(),
                        additional_price: s.additional_price.clone(),
                        max_g: s.max_g.map(|m| m.to_string()).unwrap_or_default(),
                        ..base
                    };
                    w.serialize(row).map_err(csv_err)?;
                } else {
                    for b in &z.bands {
                        let row = RateRow {
                            from_g: b.from_g.to_string(),
                            to_g: b.to_g.to_string(),
                            price: b.price.clone(),
                            channel: base.channel.clone(),
                            zone: base.zone.clone(),
                            countries: base.countries.clone(),
                            regions: base.regions.clone(),
                            cities: base.cities.clone(),
                            postcodes: base.postcodes.clone(),
                            transit_days: base.transit_days.clone(),
                            ..Default::default()
                        };
                        w.serialize(row).map_err(csv_err)?;
                    }
                }
            }
        }
        String::from_utf8(w.into_inner().map_err(|e| Error::invalid("csv", e.to_string()))?)
            .map_err(|e| Error::invalid("csv", e.to_string()))
    }

    /// Replaces the zones of the channels named in a rate-card CSV, all or nothing. Errors name the line
    /// (`line 3.price`); the header must be exactly the exported one.
    pub async fn import_rate_csv(&self, data: &[u8], actor: Actor) -> Result<RateImport> {
        let mut r = codflow_sheets::csv::Reader::new(data, b',');
        let header = match r.next_record() {
            Some(Ok(h)) => csv::StringRecord::from(h.fields),
            Some(Err(e)) => return Err(Error::invalid("header", e.to_string())),
            None => return Err(Error::invalid("header", "line 1: the file is empty")),
        };
        if header.iter().collect::<Vec<_>>() != RATE_HEADER {
            return Err(Error::invalid("header", format!("expected the columns {}", RATE_HEADER.join(","))));
        }
        let mut e = FieldErrors::default();
        // channel → zone → (zone spec, band rows)
        let mut by_channel: BTreeMap<String, Vec<codflow_domain::rating::ZoneSpec>> = BTreeMap::new();
        let mut rows = 0;
        for rec in r {
            let (line, row) = match rec {
                Ok(rec) => (rec.line, csv::StringRecord::from(rec.fields).deserialize::<RateRow>(Some(&header))),
                Err(err) => {
                    e.push(format!("line {}", err.line), err.message);
                    continue;
                }
            };
            let row = match row {
                Ok(row) => row,
                Err(err) => {
                    e.push(format!("line {line}"), err.to_string());
                    continue;
                }
            };
            rows += 1;
            let int = |e: &mut FieldErrors, name: &str, v: &str| -> Option<i64> {
                v.trim()
                    .parse()
                    .map_err(|_| e.push(format!("line {line}.{name}"), format!("{v:?} is not a whole number")))
                    .ok()
            };
            let Some(transit_days) = int(&mut e, "transit_days", &row.transit_days) else { continue };
            let zones = by_channel.entry(row.channel.clone()).or_default();
            let zone = match zones.iter_mut().find(|z| z.name == row.zone) {
                Some(z) => z,
                None => {
                    zones.push(codflow_domain::rating::ZoneSpec {
                        name: row.zone.clone(),
                        countries: split_list(&row.countries),
                        regions: split_list(&row.regions),
                        cities: split_list(&row.cities),
                        postcodes: split_list(&row.postcodes),
                        transit_days,
                        bands: Vec::new(),
                        steps: None,
                    });
                    zones.last_mut().expect("just pushed")
                }
            };
            if row.first_g.trim().is_empty() {
                let (Some(from_g), Some(to_g)) = (int(&mut e, "from_g", &row.from_g), int(&mut e, "to_g", &row.to_g))
                else {
                    continue;
                };
                zone.bands.push(codflow_domain::rating::BandSpec { from_g, to_g, price: row.price.trim().to_owned() });
            } else {
                let (Some(first_g), Some(additional_g)) =
                    (int(&mut e, "first_g", &row.first_g), int(&mut e, "additional_g", &row.additional_g))
                else {
                    continue;
                };
                let max_g = if row.max_g.trim().is_empty() { None } else { int(&mut e, "max_g", &row.max_g) };
                zone.steps = Some(codflow_domain::rating::StepSpec {
                    first_g,
                    first_price: row.first_price.trim().to_owned(),
                    additional_g,
                    additional_price: row.additional_price.trim().to_owned(),
                    max_g,
                });
            }
        }
        let mut specs = Vec::new();
        let existing: HashMap<String, Channel> =
            self.channels().await?.into_iter().map(|c| (c.code.to_string(), c)).collect();
        for (code, zones) in by_channel {
            let Some(ch) = existing.get(&code) else {
                e.push(format!("channel {code}"), "no such channel; create it first (the CSV holds rates only)");
                continue;
            };
            let mut spec = ch.to_spec();
            spec.rate_card.zones = zones;
            if let Err(errs) = spec.parse() {
                for f in errs.0 {
                    e.push(format!("channel {code}.{}", f.path), f.message);
                }
            }
            specs.push(spec);
        }
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        let zones = specs.iter().map(|s| s.rate_card.zones.len()).sum();
        let n = specs.len();
        if n > 0 {
            self.put_channels(&specs, actor).await?;
        }
        Ok(RateImport { channels: n, zones, rows })
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

    /// Quotes a shipment on every channel and ranks the eligible ones; the goods value is taken as the
    /// revenue when weighing expected profit.
    pub async fn quote(&self, input: &QuoteInput) -> Result<QuoteResult> {
        let mut conn = self.store.read().await?;
        let snap = self.ctx.review.snapshot(&mut conn).await?;
        let lg = snap.logistics();
        let (req, strategy) = input.parse(lg.settings.incoterm, self.clock().now().date()).map_err(Error::Invalid)?;
        let base = snap.base();
        let fx = lg.rates.as_slice();
        let revenue = fx.convert(req.goods_value, base, req.date).ok();
        let wanted: Vec<String> = lg.lane_keys(req.destination.country).collect();
        let refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let counts = rstore::counts(&mut conn, &refs).await?;
        let country = req.destination.country;
        let stats = |c: &ChannelCode| lane_stats(&counts, c, country);
        let strategy = strategy.unwrap_or(lg.settings.strategy);
        let (ranking, inel) = lg.choose(&req, base, revenue, Money::zero(base), strategy, stats);
        let names = lg.channels.iter().map(|c| (c.code.clone(), c.name.clone())).collect();
        let ineligible = inel.into_iter().map(|(c, e)| (c.code.clone(), c.name.clone(), e)).collect();
        Ok(QuoteResult { base, ranking, ineligible, names })
    }
}
