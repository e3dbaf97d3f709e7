//! Wire types of channels, quotes, allocation and shipments. Channel and duty-rule bodies are the domain's
//! written form (`ChannelSpec`, `DutyRuleSpec`), documented in docs/LOGISTICS.md.

use codflow_app::booking::Shipment;
use codflow_app::logistics::{LogisticsSettings, QuoteResult};
use codflow_domain::rating::{Quote, Ranked};
use codflow_domain::{Allocation, Currency, Money};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::{MoneyDto, rfc3339};

fn money(minor: i64, currency: &str) -> MoneyDto {
    match Currency::parse(currency) {
        Ok(c) => Money::new(minor, c).into(),
        Err(_) => MoneyDto { amount: minor.to_string(), currency: currency.to_owned() },
    }
}

fn ppm(p: u64) -> String {
    format!("{}.{:04}", p / 1_000_000, p % 1_000_000 / 100)
}

#[derive(Serialize, ToSchema)]
pub struct RankedDto {
    pub channel: String,
    pub zone: String,
    pub total: MoneyDto,
    pub total_base: MoneyDto,
    pub expected_profit: Option<MoneyDto>,
    /// Smoothed probability of delivery on this lane, 0 to 1 (decimal string).
    pub p_delivered: String,
    /// Outcomes measured on this lane.
    pub samples: u64,
    pub transit_days: i64,
    pub billable_weight_g: i64,
}

#[derive(Serialize, ToSchema)]
pub struct IneligibleDto {
    pub channel: String,
    /// Stable: `overweight`, `cod_over_limit`, `no_ddp`, `no_batteries`, `country_not_covered`, ...
    pub reason: String,
    pub message: String,
}

pub fn allocation_dto(a: Allocation) -> AllocationDto {
    let c = a.choice;
    AllocationDto {
        warehouse: a.warehouse.to_string(),
        channel: a.channel.map(|c| c.to_string()),
        strategy: c.as_ref().map(|c| c.strategy.clone()),
        why: c.as_ref().map(|c| c.why.clone()),
        ranking: c
            .as_ref()
            .map(|c| {
                c.ranking
                    .iter()
                    .map(|r| RankedDto {
                        channel: r.channel.clone(),
                        zone: r.zone.clone(),
                        total: money(r.total_minor, &r.currency),
                        total_base: money(r.total_base_minor, &r.base_currency),
                        expected_profit: r.expected_profit_minor.map(|p| money(p, &r.base_currency)),
                        p_delivered: ppm(r.p_delivered_ppm),
                        samples: r.samples,
                        transit_days: r.transit_days,
                        billable_weight_g: r.billable_weight_g,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        ineligible: c
            .map(|c| {
                c.ineligible
                    .into_iter()
                    .map(|i| IneligibleDto { channel: i.channel, reason: i.reason, message: i.message })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct BreakdownDto {
    pub base: MoneyDto,
    pub fuel: MoneyDto,
    pub remote_area: MoneyDto,
    pub oversize: MoneyDto,
    pub cod_fee: MoneyDto,
    pub ddp_fee: MoneyDto,
    pub duties: MoneyDto,
    pub taxes: MoneyDto,
}

#[derive(Serialize, ToSchema)]
pub struct QuoteLineDto {
    pub channel: String,
    pub name: String,
    pub zone: String,
    pub actual_weight_g: i64,
    pub volumetric_weight_g: i64,
    pub billable_weight_g: i64,
    pub breakdown: BreakdownDto,
    pub total: MoneyDto,
    pub total_base: MoneyDto,
    pub transit_days: i64,
    /// `cheapest`, `fastest`, `best_expected_profit`.
    pub tags: Vec<String>,
    pub expected_profit: Option<MoneyDto>,
    pub p_delivered: String,
    /// Which de minimis thresholds and rates applied.
    pub duty_notes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct QuoteDto {
    pub base_currency: String,
    pub strategy: String,
    pub why: String,
    /// Eligible channels, best first by the strategy.
    pub quotes: Vec<QuoteLineDto>,
    pub ineligible: Vec<IneligibleDto>,
}

fn line(r: &QuoteResult, x: &Ranked) -> QuoteLineDto {
    let q: &Quote = &x.quote;
    let m = |v: i64| MoneyDto::from(Money::new(v, q.currency));
    let b = q.breakdown;
    QuoteLineDto {
        channel: q.channel.to_string(),
        name: r.names.get(&q.channel).cloned().unwrap_or_default(),
        zone: q.zone.clone(),
        actual_weight_g: q.actual_weight_g,
        volumetric_weight_g: q.volumetric_weight_g,
        billable_weight_g: q.billable_weight_g,
        breakdown: BreakdownDto {
            base: m(b.base),
            fuel: m(b.fuel),
            remote_area: m(b.remote_area),
            oversize: m(b.oversize),
            cod_fee: m(b.cod_fee),
            ddp_fee: m(b.ddp_fee),
            duties: m(b.duties),
            taxes: m(b.taxes),
        },
        total: q.total().into(),
        total_base: q.total_base.into(),
        transit_days: q.transit_days,
        tags: r.tags(q).into_iter().map(str::to_owned).collect(),
        expected_profit: x.expected_profit.map(Into::into),
        p_delivered: ppm(x.p_delivered_ppm),
        duty_notes: q.duty_notes.clone(),
    }
}

impl From<QuoteResult> for QuoteDto {
    fn from(r: QuoteResult) -> Self {
        QuoteDto {
            base_currency: r.base.to_string(),
            strategy: r.ranking.strategy.as_str().to_owned(),
            why: r.ranking.why.clone(),
            quotes: r.ranking.ranked.iter().map(|x| line(&r, x)).collect(),
            ineligible: r
                .ineligible
                .iter()
                .map(|(c, _, e)| IneligibleDto {
                    channel: c.to_string(),
                    reason: e.reason.as_str().to_owned(),
                    message: e.message.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogisticsSettingsDto {
    /// `expected_profit` (default), `cheapest`, `fastest` or `priority`.
    pub strategy: String,
    /// `DDP` (default) or `DAP`.
    pub incoterm: String,
    /// Book with the carrier as soon as intake allocates an order.
    pub auto_book: bool,
    /// P(delivered) assumed on a lane with no history, percent.
    pub delivery_prior_pct: i64,
}

impl From<LogisticsSettings> for LogisticsSettingsDto {
    fn from(s: LogisticsSettings) -> Self {
        LogisticsSettingsDto {
            strategy: s.strategy.as_str().into(),
            incoterm: s.incoterm.as_str().into(),
            auto_book: s.auto_book,
            delivery_prior_pct: s.delivery_prior_pct,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ShipmentDto {
    pub id: String,
    pub order_id: String,
    pub channel: String,
    pub carrier: String,
    /// `pending` (queued or retrying), `booked`, `failed` (needs a person), `cancelled`.
    pub status: String,
    pub attempts: i64,
    pub tracking_number: Option<String>,
    /// The last carrier error, phrased as what to do about it.
    pub last_error: Option<String>,
    pub weight_g: i64,
    pub pieces: i64,
    pub cod_amount: MoneyDto,
    pub sort_code: Option<String>,
    pub label: Option<serde_json::Value>,
    pub created_at: String,
    pub booked_at: Option<String>,
    /// What the pack station measured (one shipment's own read only): the weight a freight dispute rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<MeasuredDto>,
}

/// A parcel as weighed at the pack station.
#[derive(Serialize, ToSchema)]
pub struct MeasuredDto {
    pub pack_id: String,
    pub weight_g: i64,
    pub dims_cm: Option<[i64; 3]>,
    /// scale, dws or manual.
    pub source: Option<String>,
    /// passed, rerated, rebooked, intercepted or released.
    pub outcome: Option<String>,
}

impl From<Shipment> for ShipmentDto {
    fn from(s: Shipment) -> Self {
        ShipmentDto {
            id: s.id.to_string(),
            order_id: s.order_id.to_string(),
            channel: s.channel.to_string(),
            carrier: s.carrier,
            status: s.status.as_str().into(),
            attempts: s.attempts,
            tracking_number: s.tracking_number,
            last_error: s.last_error,
            weight_g: s.weight_g,
            pieces: s.pieces,
            cod_amount: s.cod.into(),
            sort_code: s.sort_code,
            label: s.label.and_then(|l| serde_json::from_str::<serde_json::Value>(&l).ok()),
            created_at: rfc3339(s.created_at),
            booked_at: s.booked_at.map(rfc3339),
            measured: None,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookMany {
    pub orders: Vec<String>,
    /// Wait for each carrier answer (default) or queue them for the background worker.
    #[serde(default = "yes")]
    pub wait: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize, ToSchema)]
pub struct BookResultDto {
    pub order_id: String,
    pub shipment: Option<ShipmentDto>,
    pub error: Option<BookErrorDto>,
}

#[derive(Serialize, ToSchema)]
pub struct BookErrorDto {
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChargeDto {
    pub name: String,
    pub amount: MoneyDto,
}

/// The carrier's own price for the parcel beside the rate card's.
#[derive(Serialize, ToSchema)]
pub struct CarrierQuoteDto {
    pub channel: String,
    pub carrier: String,
    pub total: MoneyDto,
    pub charges: Vec<ChargeDto>,
    pub billable_weight_g: Option<i64>,
    pub transit_days: Option<u32>,
    /// The card's shipping charges (without duties and taxes); null when the channel cannot take the parcel.
    pub card_shipping: Option<MoneyDto>,
    /// Carrier total minus card shipping, when both are in one currency: positive means the card undercharges.
    pub difference: Option<MoneyDto>,
}

impl From<codflow_app::booking::CarrierQuote> for CarrierQuoteDto {
    fn from(q: codflow_app::booking::CarrierQuote) -> Self {
        let dto = |a: &codflow_app::booking::CarrierAmount| MoneyDto {
            amount: a.amount.clone(),
            currency: a.currency.clone(),
        };
        let carrier_money =
            Currency::parse(&q.rate.total.currency).ok().and_then(|c| Money::parse(&q.rate.total.amount, c).ok());
        let difference = match (carrier_money, q.card_shipping) {
            (Some(c), Some(card)) if c.currency == card.currency => {
                Some(Money::new(c.minor - card.minor, c.currency).into())
            }
            _ => None,
        };
        CarrierQuoteDto {
            channel: q.channel.to_string(),
            carrier: q.carrier,
            total: dto(&q.rate.total),
            charges: q.rate.charges.iter().map(|(n, a)| ChargeDto { name: n.clone(), amount: dto(a) }).collect(),
            billable_weight_g: q.rate.billable_weight_g,
            transit_days: q.rate.transit_days,
            card_shipping: q.card_shipping.map(Into::into),
            difference,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AllocationDto {
    pub warehouse: String,
    pub channel: Option<String>,
    /// The strategy that chose the channel (`expected_profit`, `cheapest`, `fastest`, `priority`).
    pub strategy: Option<String>,
    /// Why the channel won, in words.
    pub why: Option<String>,
    /// Every eligible channel, best first.
    pub ranking: Vec<crate::routes::logistics::dto::RankedDto>,
    /// Channels that could not take the order, with the reason.
    pub ineligible: Vec<crate::routes::logistics::dto::IneligibleDto>,
}
