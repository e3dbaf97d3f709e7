//! Quotes on request: the input as the API takes it, read into a rating request, and every channel ranked.

use std::collections::HashMap;

use codflow_domain::rating::{
    Contents, Destination, Fx, Incoterm, Ineligible, Item, MoneySpec, Parcel, Quote, QuoteRequest, Ranking, Strategy,
};
use codflow_domain::{ChannelCode, Country, Currency, FieldErrors, HsCode, Money};
use codflow_store::review as rstore;
use serde::{Deserialize, Serialize};
use time::Date;

use super::lane_stats;
use crate::{Error, Fulfilment, Result};

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
    // The field's path is spelled out only for an error: every quote reads two amounts.
    let c = Currency::parse(&m.currency).map_err(|err| e.push(format!("{path}.currency"), err.to_string())).ok()?;
    let v = Money::parse(&m.amount, c).map_err(|err| e.push(format!("{path}.amount"), err.to_string())).ok()?;
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
        // The same rule for free text as an order's address: no control characters, an address's lengths.
        use codflow_domain::text::{line, max};
        for (path, value, most) in [
            ("destination.region", &d.region, max::REGION),
            ("destination.city", &d.city, max::CITY),
            ("destination.postal_code", &d.postal_code, max::POSTAL_CODE),
        ] {
            if let Some(v) = value {
                e.take(path, line(v, most));
            }
        }
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

impl Fulfilment {
    /// Quotes a shipment on every channel and ranks the eligible ones; the goods value is taken as the
    /// revenue when weighing expected profit.
    pub async fn quote(&self, input: &QuoteInput) -> Result<QuoteResult> {
        // Quoting reads only memory while the configuration and the lane counts are fresh: no connection
        // is taken (on SQLite each is a hop through the driver's thread).
        let mut conn: Option<codflow_store::ReadConn> = None;
        let snap = match self.ctx.review.fresh() {
            Some(s) => s,
            None => self.ctx.review.snapshot(conn.insert(self.store.read().await?)).await?,
        };
        let lg = snap.logistics();
        let (req, strategy) = input.parse(lg.settings.incoterm, self.clock().now().date()).map_err(Error::Invalid)?;
        let base = snap.base();
        let fx = lg.rates.as_slice();
        let revenue = fx.convert(req.goods_value, base, req.date).ok();
        let country = req.destination.country;
        let counts = match snap.lane_counts(country) {
            Some(c) => c,
            None => {
                let wanted: Vec<String> = lg.lane_keys(country).collect();
                let refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
                let conn = match &mut conn {
                    Some(c) => c,
                    None => conn.insert(self.store.read().await?),
                };
                snap.keep_lane_counts(country, rstore::counts(conn, &refs).await?)
            }
        };
        let stats = |c: &ChannelCode| lane_stats(&counts, c, country);
        let strategy = strategy.unwrap_or(lg.settings.strategy);
        let (ranking, inel) = lg.choose(&req, base, revenue, Money::zero(base), strategy, stats);
        let names = lg.channels.iter().map(|c| (c.code.clone(), c.name.clone())).collect();
        let ineligible = inel.into_iter().map(|(c, e)| (c.code.clone(), c.name.clone(), e)).collect();
        Ok(QuoteResult { base, ranking, ineligible, names })
    }
}
