//! Profit per order and its aggregates, and the first-leg costs they are figured with.

use std::collections::HashMap;
use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use codflow_app::profit::{OrderProfit, OrderProfitCsv, ProfitFilter, ProfitReport, groups_csv};
use codflow_domain::finance::profit::{Components, Dimension, Group};
use codflow_domain::money::{Currency, Money};
use codflow_domain::{FieldErrors, OrderId, Role};
use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;
use utoipa::ToSchema;

use crate::dto::{MoneyDto, rfc3339};
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath};
use crate::routes::logistics::download;
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/finance/profit", get(report))
        .route("/finance/profit/orders", get(orders_csv))
        .route("/finance/first-leg", get(first_leg).put(put_first_leg))
        .route("/finance/forecast", get(forecast))
        .route("/orders/{id}/profit", get(order_profit))
}

/// Profit is finance's (and the admin's) and the viewer's to read.
const PROFIT_READERS: &[Role] = &[Role::Finance, Role::Viewer];

#[derive(Serialize, ToSchema)]
pub struct ComponentsDto {
    /// Revenue: expected, the order total × P(delivered); actual, what the carrier collected.
    pub revenue: MoneyDto,
    pub product_cost: MoneyDto,
    pub first_leg: MoneyDto,
    /// Last-mile freight: invoiced if known, else deducted by the carrier, else quoted.
    pub last_mile: MoneyDto,
    pub duties_taxes: MoneyDto,
    /// The carrier's COD fee and the payment platform's share of fees.
    pub cod_fee: MoneyDto,
    pub return_cost: MoneyDto,
    /// Gain (positive) or loss on exchange at payout against the delivery day's rate.
    pub fx: MoneyDto,
    pub profit: MoneyDto,
}

fn components(c: &Components, base: Currency) -> ComponentsDto {
    let m = |v: i64| Money::new(v, base).into();
    ComponentsDto {
        revenue: m(c.revenue),
        product_cost: m(c.product_cost),
        first_leg: m(c.first_leg),
        last_mile: m(c.last_mile),
        duties_taxes: m(c.duties_taxes),
        cod_fee: m(c.cod_fee),
        return_cost: m(c.return_cost),
        fx: m(c.fx),
        profit: m(c.profit),
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrderProfitDto {
    pub order_id: String,
    pub external_id: String,
    pub placed_at: String,
    pub country: String,
    pub region: String,
    pub channel: String,
    /// open | delivered | settled | returned | lost
    pub stage: String,
    pub base_currency: String,
    /// On allocation, from the chosen channel's quote; absent for orders allocated without one.
    pub expected: Option<ComponentsDto>,
    /// Once the outcome is final and its cash (if any) arrived.
    pub actual: Option<ComponentsDto>,
}

impl From<OrderProfit> for OrderProfitDto {
    fn from(p: OrderProfit) -> Self {
        let b = p.base_currency;
        OrderProfitDto {
            order_id: p.order_id.to_string(),
            external_id: p.external_id,
            placed_at: rfc3339(p.placed_at),
            country: p.country,
            region: p.region,
            channel: p.channel,
            stage: p.stage.as_str().to_owned(),
            base_currency: b.code().to_owned(),
            expected: p.expected.as_ref().map(|c| components(c, b)),
            actual: p.actual.as_ref().map(|c| components(c, b)),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct GroupDto {
    pub key: String,
    pub orders: i64,
    /// Orders with an actual profit, and how many of them lost money.
    pub settled: i64,
    pub loss_making: i64,
    pub expected: ComponentsDto,
    pub actual: ComponentsDto,
}

#[derive(Serialize, ToSchema)]
pub struct SkippedDto {
    pub order_id: String,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProfitReportDto {
    pub base_currency: String,
    pub group_by: String,
    pub orders: i64,
    pub groups: Vec<GroupDto>,
    pub skipped: i64,
    /// The first 50 orders left out, with why.
    pub skipped_orders: Vec<SkippedDto>,
    /// Exchange rates the report needed and did not find, each with the earliest day an order needed it.
    pub missing_rates: Vec<MissingRateDto>,
}

#[derive(Serialize, ToSchema)]
pub struct MissingRateDto {
    pub from: String,
    pub to: String,
    /// A rate dated this day or earlier brings the orders in.
    pub earliest: String,
}

fn report_dto(r: ProfitReport) -> ProfitReportDto {
    let b = r.base_currency;
    let group = |g: &Group| GroupDto {
        key: g.key.clone(),
        orders: g.orders,
        settled: g.settled,
        loss_making: g.loss_making,
        expected: components(&g.expected, b),
        actual: components(&g.actual, b),
    };
    ProfitReportDto {
        base_currency: b.code().to_owned(),
        group_by: r.group_by.as_str().to_owned(),
        orders: r.orders,
        groups: r.groups.iter().map(group).collect(),
        skipped: r.skipped,
        skipped_orders: r
            .skipped_orders
            .into_iter()
            .map(|(id, reason)| SkippedDto { order_id: id.to_string(), reason })
            .collect(),
        missing_rates: r
            .missing_rates
            .iter()
            .map(|m| MissingRateDto {
                from: m.from.code().to_owned(),
                to: m.to.code().to_owned(),
                earliest: m.earliest.to_string(),
            })
            .collect(),
    }
}

/// The query parameters of the profit report and its order export.
#[derive(serde::Deserialize, Default)]
pub struct ProfitQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    group_by: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

/// The query parameters of the cash forecast.
#[derive(serde::Deserialize, Default)]
pub struct ForecastQuery {
    #[serde(default)]
    weeks: Option<String>,
    #[serde(default)]
    payment_terms_days: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

fn filter_of(q: &ProfitQuery) -> Result<ProfitFilter, ApiError> {
    let mut e = FieldErrors::default();
    let mut day = |k: &str, v: &Option<String>| {
        v.as_ref().and_then(|d| match Date::parse(d, format_description!("[year]-[month]-[day]")) {
            Ok(d) => Some(d),
            Err(_) => {
                e.push(k, "must be a date YYYY-MM-DD");
                None
            }
        })
    };
    let f = ProfitFilter {
        from: day("from", &q.from),
        to: day("to", &q.to),
        country: q.country.as_ref().map(|c| c.to_uppercase()),
        channel: q.channel.clone(),
    };
    if e.is_empty() { Ok(f) } else { Err(ApiError::Invalid(e)) }
}

/// One order's expected and actual profit in the base currency.
#[utoipa::path(get, path = "/api/v1/orders/{id}/profit", tag = "finance", params(("id" = String, Path)),
    responses((status = 200, body = OrderProfitDto), (status = 404)))]
pub async fn order_profit(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<OrderProfitDto>> {
    auth.require(PROFIT_READERS)?;
    Ok(Json(s.app.finance().order_profit(&OrderId::from_path(&id)?).await?.into()))
}

/// Profit of allocated orders grouped by SKU, country, region, channel or month; `format=csv` for the
/// groups as CSV.
#[utoipa::path(get, path = "/api/v1/finance/profit", tag = "finance",
    params(("group_by" = String, Query, description = "sku | country | region | channel | month (default country)"),
        ("from" = Option<String>, Query, description = "placed on or after, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "placed before, YYYY-MM-DD"),
        ("country" = Option<String>, Query), ("channel" = Option<String>, Query),
        ("format" = Option<String>, Query, description = "json (default) or csv")),
    responses((status = 200, body = ProfitReportDto), (status = 422)))]
pub async fn report(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ProfitQuery>,
) -> ApiResult<Response> {
    auth.require(PROFIT_READERS)?;
    let by = Dimension::parse(q.group_by.as_deref().unwrap_or("country"))
        .map_err(|e| codflow_app::Error::invalid("group_by", e.to_string()))?;
    let r = s.app.finance().profit_report(&filter_of(&q)?, by, |_| {}).await?;
    match q.format.as_deref() {
        Some("csv") => {
            Ok(download("text/csv", &format!("profit-by-{}.csv", by.as_str()), groups_csv(&r)?).into_response())
        }
        None | Some("json") => Ok(Json(report_dto(r)).into_response()),
        Some(_) => Err(invalid_format()),
    }
}

fn invalid_format() -> ApiError {
    let mut e = FieldErrors::default();
    e.push("format", "must be json or csv");
    ApiError::Invalid(e)
}

/// Every order's profit in the filter as CSV, expected and actual side by side.
#[utoipa::path(get, path = "/api/v1/finance/profit/orders", tag = "finance",
    params(("from" = Option<String>, Query), ("to" = Option<String>, Query), ("country" = Option<String>, Query),
        ("channel" = Option<String>, Query)),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422)))]
pub async fn orders_csv(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ProfitQuery>,
) -> ApiResult<Response> {
    auth.require(PROFIT_READERS)?;
    let mut csv = OrderProfitCsv::default();
    s.app.finance().profit_report(&filter_of(&q)?, Dimension::Country, |p| csv.push(p)).await?;
    Ok(download("text/csv", "profit-by-order.csv", csv.finish()?).into_response())
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirstLegDto {
    /// Per warehouse code: what the first leg (line haul, sea or air freight into the warehouse) costs per
    /// kilogram, in base-currency minor units. Each order's share is its parcel weight × this.
    pub per_kg_minor: HashMap<String, i64>,
}

#[utoipa::path(get, path = "/api/v1/finance/first-leg", tag = "finance", responses((status = 200, body = FirstLegDto)))]
pub async fn first_leg(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<FirstLegDto>> {
    auth.require(PROFIT_READERS)?;
    Ok(Json(FirstLegDto { per_kg_minor: s.app.finance().first_leg_costs().await? }))
}

#[utoipa::path(put, path = "/api/v1/finance/first-leg", tag = "finance", request_body = FirstLegDto,
    responses((status = 200, body = FirstLegDto), (status = 422)))]
pub async fn put_first_leg(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<FirstLegDto>,
) -> ApiResult<Json<FirstLegDto>> {
    auth.require(&[Role::Finance])?;
    let costs = s.app.finance().set_first_leg_costs(b.per_kg_minor, auth.actor()).await?;
    Ok(Json(FirstLegDto { per_kg_minor: costs }))
}

#[derive(Serialize, ToSchema)]
pub struct FlowsDto {
    pub currency: String,
    /// Delivered COD expected from carriers (one settlement cycle after delivery).
    pub delivered_in: MoneyDto,
    /// COD on parcels in transit × the lane's P(delivered), a transit time and a cycle later.
    pub in_transit_in: MoneyDto,
    /// Freight invoices falling due.
    pub freight_out: MoneyDto,
    pub net: MoneyDto,
}

#[derive(Serialize, ToSchema)]
pub struct WeekDto {
    /// The Monday the week starts on.
    pub week_start: String,
    #[serde(flatten)]
    pub flows: FlowsDto,
}

#[derive(Serialize, ToSchema)]
pub struct ForecastDto {
    pub weeks: Vec<WeekDto>,
    /// Already late today (also inside the first week's figures).
    pub overdue: Vec<FlowsDto>,
    /// Due after the last week shown.
    pub later: Vec<FlowsDto>,
}

fn flows(c: Currency, f: &codflow_domain::finance::forecast::Flows) -> FlowsDto {
    let m = |v: i64| Money::new(v, c).into();
    FlowsDto {
        currency: c.code().to_owned(),
        delivered_in: m(f.delivered_in),
        in_transit_in: m(f.in_transit_in),
        freight_out: m(f.freight_out),
        net: m(f.net()),
    }
}

fn number<T: std::str::FromStr>(value: &Option<String>, key: &str, default: T) -> Result<T, ApiError> {
    match value {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| {
            let mut e = FieldErrors::default();
            e.push(key, "must be a whole number");
            ApiError::Invalid(e)
        }),
    }
}

/// Expected COD inflows and freight outflows by week and currency; `format=csv` for a table.
#[utoipa::path(get, path = "/api/v1/finance/forecast", tag = "finance",
    params(("weeks" = Option<u32>, Query, description = "1 to 104, default 12"),
        ("payment_terms_days" = Option<i64>, Query, description = "days after receipt a freight invoice is due, default 30"),
        ("format" = Option<String>, Query, description = "json (default) or csv")),
    responses((status = 200, body = ForecastDto), (status = 422)))]
pub async fn forecast(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ForecastQuery>,
) -> ApiResult<Response> {
    auth.require(PROFIT_READERS)?;
    let f = s
        .app
        .finance()
        .cash_forecast(number(&q.weeks, "weeks", 12)?, number(&q.payment_terms_days, "payment_terms_days", 30)?)
        .await?;
    let dto = ForecastDto {
        weeks: f
            .weeks
            .iter()
            .map(|w| WeekDto { week_start: w.starts.to_string(), flows: flows(w.currency, &w.flows) })
            .collect(),
        overdue: f.overdue.iter().map(|(c, fl)| flows(*c, fl)).collect(),
        later: f.later.iter().map(|(c, fl)| flows(*c, fl)).collect(),
    };
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(dto).into_response()),
        Some("csv") => {
            let mut out = String::from("period,currency,delivered_in,in_transit_in,freight_out,net\n");
            let rows = dto.weeks.iter().map(|w| (w.week_start.as_str(), &w.flows));
            let rest = dto.overdue.iter().map(|f| ("overdue", f)).chain(dto.later.iter().map(|f| ("later", f)));
            for (period, f) in rows.chain(rest) {
                out.push_str(&format!(
                    "{period},{},{},{},{},{}\n",
                    f.currency, f.delivered_in.amount, f.in_transit_in.amount, f.freight_out.amount, f.net.amount
                ));
            }
            Ok(download("text/csv", "cash-forecast.csv", out.into_bytes()).into_response())
        }
        Some(_) => Err(invalid_format()),
    }
}
