//! Returns over HTTP: the list and its export, receiving by scan, grading, giving up, photos, and the
//! carrier's "returned" count against what was received.

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use codflow_app::floor::ReturnView;
use codflow_domain::returns::{GradeInput, ReturnStatus};
use codflow_domain::{ReturnId, WarehouseCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::{MoneyDto, Page, rfc3339};
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, READERS, STOCK_KEEPERS};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/returns", get(list))
        .route("/returns/export", get(export))
        .route("/returns/months", get(months))
        .route("/returns/rates", get(rates))
        .route("/returns/receive", post(receive))
        .route("/returns/{id}", get(get_one))
        .route("/returns/{id}/grade", post(grade))
        .route("/returns/{id}/give-up", post(give_up))
        .route("/returns/{id}/release", post(release))
        .route("/returns/{id}/photos/{n}", get(photo))
        .route("/returns/{id}/route", get(get_route).post(decide_route))
        .route("/settings/returns", get(route_settings).put(put_route_settings))
}

/// Photos are larger than JSON bodies: they sit with the uploads.
pub fn uploads() -> Router<Arc<AppState>> {
    Router::new().route("/returns/{id}/photos", post(add_photo))
}

#[derive(Serialize, ToSchema)]
pub struct ShippedDto {
    pub sku: String,
    pub quantity: i64,
    pub unit_cost: MoneyDto,
}

#[derive(Serialize, ToSchema)]
pub struct GradedDto {
    pub sku: String,
    /// `sellable`, `damaged`, `missing` or `wrong`.
    pub grade: String,
    pub quantity: i64,
    /// `restock`, `quarantine`, `refurbish` or `write_off`; none for missing units.
    pub disposition: Option<String>,
    pub bin: Option<String>,
    pub unit_cost: MoneyDto,
    /// Units of this line still held apart (quarantined or to refurbish).
    pub held: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ReturnDto {
    pub id: String,
    pub order_id: String,
    /// The order's reference in its shop (absent in lists).
    pub order_ref: Option<String>,
    pub shipment_id: String,
    pub tracking_number: String,
    pub carrier: String,
    pub channel: String,
    pub country: String,
    /// The warehouse that shipped it, where it is expected back.
    pub warehouse: String,
    /// `expected`, `received`, `closed` or `lost`.
    pub status: String,
    pub started_at: String,
    pub carrier_returned_at: Option<String>,
    pub expected_by: String,
    pub overdue: bool,
    pub received_at: Option<String>,
    pub received_warehouse: Option<String>,
    pub closed_at: Option<String>,
    pub note: Option<String>,
    /// The route decided while it was abroad (`reimport`, `hold_abroad`, `liquidate`), when one was.
    pub route: Option<String>,
    /// What was shipped in it (absent in lists).
    pub shipped: Option<Vec<ShippedDto>>,
    pub lines: Vec<GradedDto>,
    pub photos: i64,
}

impl ReturnDto {
    fn of(r: codflow_domain::returns::Return, now: time::OffsetDateTime) -> ReturnDto {
        ReturnDto {
            overdue: r.is_overdue(now),
            id: r.id.to_string(),
            order_id: r.order_id.to_string(),
            order_ref: None,
            shipment_id: r.shipment_id.to_string(),
            tracking_number: r.tracking_number,
            carrier: r.carrier,
            channel: r.channel,
            country: r.country,
            warehouse: r.warehouse.to_string(),
            status: r.status.as_str().into(),
            started_at: rfc3339(r.started_at),
            carrier_returned_at: r.carrier_returned_at.map(rfc3339),
            expected_by: rfc3339(r.expected_by),
            received_at: r.received_at.map(rfc3339),
            received_warehouse: r.received_warehouse.map(|w| w.to_string()),
            closed_at: r.closed_at.map(rfc3339),
            note: r.note,
            route: r.route.map(|x| x.as_str().into()),
            shipped: None,
            lines: r
                .lines
                .into_iter()
                .map(|l| GradedDto {
                    held: l.held(),
                    sku: l.sku.to_string(),
                    grade: l.grade.as_str().into(),
                    quantity: l.quantity,
                    disposition: l.disposition.map(|d| d.as_str().into()),
                    bin: l.bin,
                    unit_cost: l.unit_cost.into(),
                })
                .collect(),
            photos: r.photos,
        }
    }

    fn of_view(v: ReturnView, now: time::OffsetDateTime) -> ReturnDto {
        let mut d = ReturnDto::of(v.ret, now);
        d.order_ref = Some(v.order_ref);
        d.shipped = Some(
            v.shipped
                .into_iter()
                .map(|s| ShippedDto { sku: s.sku.to_string(), quantity: s.quantity, unit_cost: s.unit_cost.into() })
                .collect(),
        );
        d
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReturnsQuery {
    #[serde(flatten)]
    page: crate::routes::PageQuery,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    carrier: Option<String>,
    #[serde(default)]
    warehouse: Option<String>,
    #[serde(default)]
    overdue: Option<String>,
}

/// The filter a query names; its fields' errors say which.
pub fn filter_of(
    status: Option<&str>,
    carrier: Option<&str>,
    warehouse: Option<&str>,
    overdue: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<codflow_app::floor::ReturnFilter, ApiError> {
    let nonempty = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let status = nonempty(status)
        .map(|s| ReturnStatus::parse(&s).map_err(|e| ApiError::field("status", e.to_string())))
        .transpose()?;
    let carrier = nonempty(carrier)
        .map(|c| {
            codflow_domain::CarrierCode::parse(&c)
                .map(|c| c.to_string())
                .map_err(|e| ApiError::field("carrier", e.to_string()))
        })
        .transpose()?;
    let warehouse = nonempty(warehouse)
        .map(|w| WarehouseCode::parse(&w).map_err(|e| ApiError::field("warehouse", e.to_string())))
        .transpose()?;
    let overdue_at = match nonempty(overdue).as_deref() {
        None | Some("false") => None,
        Some("true") => Some(now),
        Some(_) => return Err(ApiError::field("overdue", "true or false")),
    };
    Ok(codflow_app::floor::ReturnFilter { status, carrier, warehouse, overdue_at })
}

#[utoipa::path(get, path = "/api/v1/returns", tag = "returns",
    params(("status" = Option<String>, Query, description = "expected, received, closed or lost"),
        ("carrier" = Option<String>, Query), ("warehouse" = Option<String>, Query, description = "the warehouse it is expected at"),
        ("overdue" = Option<bool>, Query, description = "only expected returns past their expected date"),
        ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<ReturnDto>, description = "newest first"), (status = 422)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReturnsQuery>,
) -> ApiResult<Json<Page<ReturnDto>>> {
    auth.require(READERS)?;
    let now = s.app.clock().now();
    let f = filter_of(q.status.as_deref(), q.carrier.as_deref(), q.warehouse.as_deref(), q.overdue.as_deref(), now)?;
    let after = q.page.cursor().map(|c| ReturnId::parse(c).map_err(|_| ApiError::field("cursor", "not a cursor")));
    let after = after.transpose()?;
    let limit = q.page.limit()?;
    let items = s.app.floor().returns(&f, after.as_ref(), limit).await?;
    let next_cursor = (items.len() as i64 == limit).then(|| items.last().map(|r| r.id.to_string())).flatten();
    Ok(Json(Page { items: items.into_iter().map(|r| ReturnDto::of(r, now)).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/returns/export", tag = "returns",
    params(("status" = Option<String>, Query), ("carrier" = Option<String>, Query), ("warehouse" = Option<String>, Query), ("overdue" = Option<bool>, Query)),
    responses((status = 200, content_type = "text/csv", description = "one row per graded line; a return not graded yet is one row"), (status = 422)))]
pub async fn export(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReturnsQuery>,
) -> ApiResult<crate::routes::logistics::Download> {
    auth.require(READERS)?;
    let now = s.app.clock().now();
    let f = filter_of(q.status.as_deref(), q.carrier.as_deref(), q.warehouse.as_deref(), q.overdue.as_deref(), now)?;
    let csv = s.app.floor().returns_csv(&f).await?;
    Ok(crate::routes::logistics::download("text/csv; charset=utf-8", "returns.csv", csv))
}

#[derive(Serialize, ToSchema)]
pub struct ReturnMonthDto {
    pub carrier: String,
    /// `YYYY-MM` of the carrier's first return scan.
    pub month: String,
    /// Returns that started that month.
    pub started: i64,
    /// Of those, the ones the carrier scanned as returned to the seller.
    pub carrier_returned: i64,
    /// Of those, the ones scanned in at a warehouse.
    pub received: i64,
    /// Said returned by the carrier but not received.
    pub returned_not_received: i64,
    pub lost: i64,
    pub still_expected: i64,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MonthsQuery {
    #[serde(default)]
    months: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/returns/months", tag = "returns",
    params(("months" = Option<i64>, Query, description = "how far back, 1 to 36 (default 12)")),
    responses((status = 200, body = Vec<ReturnMonthDto>, description = "per carrier and month: what the carrier said came back against what was received"), (status = 422)))]
pub async fn months(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<MonthsQuery>,
) -> ApiResult<Json<Vec<ReturnMonthDto>>> {
    auth.require(READERS)?;
    let months = match q.months.as_deref() {
        None => 12,
        Some(m) => match m.parse::<i64>() {
            Ok(n) if (1..=36).contains(&n) => n,
            _ => return Err(ApiError::field("months", "a whole number from 1 to 36")),
        },
    };
    let rows = s.app.floor().return_months(months).await?;
    Ok(Json(
        rows.into_iter()
            .map(|m| ReturnMonthDto {
                returned_not_received: (m.carrier_returned - m.received).max(0),
                carrier: m.carrier,
                month: m.month,
                started: m.started,
                carrier_returned: m.carrier_returned,
                received: m.received,
                lost: m.lost,
                still_expected: m.still_expected,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/returns/{id}", tag = "returns", params(("id" = String, Path, description = "the return's id, or its parcel's tracking number")),
    responses((status = 200, body = ReturnDto), (status = 404)))]
pub async fn get_one(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<ReturnDto>> {
    auth.require(READERS)?;
    let now = s.app.clock().now();
    let v = match ReturnId::parse(&id) {
        Ok(id) => s.app.floor().return_view(&id).await?,
        Err(_) if id.len() <= 64 => s.app.floor().return_of_tracking(&id).await?,
        Err(_) => return Err(ApiError::NotFound("return")),
    };
    Ok(Json(ReturnDto::of_view(v, now)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveBody {
    /// The warehouse the parcel is scanned in at (a return warehouse abroad, or the one that shipped it).
    #[schema(example = "SZ1")]
    pub warehouse: String,
    /// The parcel's tracking number, as scanned.
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReceivedReturnDto {
    /// False when it had been received before: nothing changed.
    pub received_now: bool,
    #[serde(rename = "return")]
    pub ret: ReturnDto,
}

#[utoipa::path(post, path = "/api/v1/returns/receive", tag = "returns", request_body = ReceiveBody,
    responses((status = 200, body = ReceivedReturnDto),
        (status = 409, description = "not_receivable: the parcel was delivered or never left"),
        (status = 422, description = "an unknown tracking number or warehouse")))]
pub async fn receive(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<ReceiveBody>,
) -> ApiResult<Json<ReceivedReturnDto>> {
    auth.require(STOCK_KEEPERS)?;
    let w = WarehouseCode::parse(b.warehouse.trim()).map_err(|e| ApiError::field("warehouse", e.to_string()))?;
    let (v, received_now) = s.app.floor().receive_return(&w, &b.code, auth.actor()).await?;
    Ok(Json(ReceivedReturnDto { received_now, ret: ReturnDto::of_view(v, s.app.clock().now()) }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeLineBody {
    pub sku: String,
    /// `sellable`, `damaged`, `missing` (shipped, not in the parcel) or `wrong` (in the parcel, not shipped).
    pub grade: String,
    pub quantity: i64,
    /// `restock`, `quarantine`, `refurbish` or `write_off`. Default: sellable → restock, damaged and wrong →
    /// quarantine; none for missing units. Damaged units are never restocked.
    pub disposition: Option<String>,
    /// The bin restocked units go to.
    pub bin: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeBody {
    /// Every shipped unit once (sellable, damaged or missing), and anything else found as wrong.
    pub lines: Vec<GradeLineBody>,
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/returns/{id}/grade", tag = "returns", params(("id" = String, Path)), request_body = GradeBody,
    responses((status = 200, body = ReturnDto, description = "graded and closed: stock and the ledger moved"),
        (status = 404), (status = 409, description = "illegal_transition: not received, or graded already"),
        (status = 422, description = "each line's bad field, or units graded that were not shipped")))]
pub async fn grade(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<GradeBody>,
) -> ApiResult<Json<ReturnDto>> {
    let id = ReturnId::from_path(&id)?;
    auth.require(STOCK_KEEPERS)?;
    let lines: Vec<GradeInput> = b
        .lines
        .into_iter()
        .map(|l| GradeInput {
            sku: l.sku,
            grade: l.grade,
            quantity: l.quantity,
            disposition: l.disposition,
            bin: l.bin,
        })
        .collect();
    let v = s.app.floor().grade_return(&id, &lines, b.note.as_deref(), auth.actor()).await?;
    Ok(Json(ReturnDto::of_view(v, s.app.clock().now())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GiveUpBody {
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/returns/{id}/give-up", tag = "returns", params(("id" = String, Path)), request_body = GiveUpBody,
    responses((status = 200, body = ReturnDto, description = "lost: its goods written off at cost, its order closed; it can still be received later"),
        (status = 404), (status = 409, description = "illegal_transition: only an expected return can be given up"), (status = 422)))]
pub async fn give_up(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<GiveUpBody>,
) -> ApiResult<Json<ReturnDto>> {
    let id = ReturnId::from_path(&id)?;
    auth.require(STOCK_KEEPERS)?;
    let v = s.app.floor().give_up_return(&id, &b.reason, auth.actor()).await?;
    Ok(Json(ReturnDto::of_view(v, s.app.clock().now())))
}

#[derive(Serialize, ToSchema)]
pub struct PhotoDto {
    pub number: i64,
}

#[utoipa::path(post, path = "/api/v1/returns/{id}/photos", tag = "returns", params(("id" = String, Path)),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "a JPEG, PNG or WebP image, at most 2 MiB"),
    responses((status = 201, body = PhotoDto), (status = 404), (status = 422, description = "not an image, too large, or too many photos")))]
pub async fn add_photo(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<PhotoDto>)> {
    let id = ReturnId::from_path(&id)?;
    auth.require(STOCK_KEEPERS)?;
    let number = s.app.floor().add_return_photo(&id, &body, auth.actor()).await?;
    Ok((StatusCode::CREATED, Json(PhotoDto { number })))
}

#[utoipa::path(get, path = "/api/v1/returns/{id}/photos/{n}", tag = "returns", params(("id" = String, Path), ("n" = i64, Path)),
    responses((status = 200, content_type = "image/jpeg", description = "the photo as uploaded"), (status = 404)))]
pub async fn photo(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult<axum::response::Response> {
    let id = ReturnId::from_path(&id)?;
    auth.require(READERS)?;
    let n: i64 = n.parse().map_err(|_| ApiError::NotFound("photo"))?;
    let (content_type, bytes) = s.app.floor().return_photo(&id, n).await?;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct RouteValueDto {
    /// `reimport`, `hold_abroad` or `liquidate`.
    pub route: String,
    /// What the goods are worth to the seller after this route, in the base currency.
    pub value: MoneyDto,
}

#[derive(Serialize, ToSchema)]
pub struct RouteDto {
    /// The route advised: the highest value (holding abroad only when strictly better).
    pub advised: String,
    pub values: Vec<RouteValueDto>,
    /// The route decided, when one was.
    pub decided: Option<String>,
    pub goods_cost: MoneyDto,
    pub return_freight: MoneyDto,
    /// Duties and taxes a new parcel to this country pays, saved on every unit sold from stock there.
    pub duties_again: MoneyDto,
    pub units: i64,
    /// Units of these products ordered to the country over the last 30 days (this order left out).
    pub local_demand: i64,
    pub liquidation_bp: i64,
    /// A month's holding of one unit abroad (`/settings/returns`), in the base currency.
    pub holding_cost: MoneyDto,
}

impl From<codflow_app::finance::RouteView> for RouteDto {
    fn from(v: codflow_app::finance::RouteView) -> Self {
        let m = |minor: i64| MoneyDto::from(codflow_domain::Money::new(minor, v.base));
        RouteDto {
            advised: v.advice.route.as_str().into(),
            values: v
                .advice
                .values
                .iter()
                .map(|(r, value)| RouteValueDto { route: r.as_str().into(), value: m(*value) })
                .collect(),
            decided: v.decided.map(|r| r.as_str().into()),
            goods_cost: m(v.facts.goods_cost),
            return_freight: m(v.facts.return_freight),
            duties_again: m(v.facts.duties_again),
            units: v.facts.units,
            local_demand: v.facts.local_demand,
            liquidation_bp: v.facts.liquidation_bp,
            holding_cost: m(v.facts.holding_cost),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/returns/{id}/route", tag = "returns", params(("id" = String, Path)),
    responses((status = 200, body = RouteDto, description = "re-import, hold abroad or liquidate, weighed in the base currency"),
        (status = 404), (status = 409, description = "no_exchange_rate: the goods' cost cannot be put in the base currency")))]
pub async fn get_route(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<RouteDto>> {
    let id = ReturnId::from_path(&id)?;
    auth.require(READERS)?;
    Ok(Json(s.app.finance().return_route(&id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteBody {
    /// `reimport`, `hold_abroad` or `liquidate`.
    pub route: String,
}

#[utoipa::path(post, path = "/api/v1/returns/{id}/route", tag = "returns", params(("id" = String, Path)), request_body = RouteBody,
    responses((status = 200, body = RouteDto), (status = 404), (status = 409, description = "the return is closed"), (status = 422)))]
pub async fn decide_route(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RouteBody>,
) -> ApiResult<Json<RouteDto>> {
    let id = ReturnId::from_path(&id)?;
    auth.require(STOCK_KEEPERS)?;
    let route =
        codflow_domain::returns::Route::parse(b.route.trim()).map_err(|e| ApiError::field("route", e.to_string()))?;
    Ok(Json(s.app.finance().decide_return_route(&id, route, auth.actor()).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct ReturnRateDto {
    /// The channel, the destination country or the SKU.
    pub key: String,
    /// Parcels picked up (units, for SKUs).
    pub shipped: i64,
    /// Parcels (units) the carrier turned back.
    pub returned: i64,
    pub received: i64,
    /// Returned over shipped, in percent with one decimal; absent when nothing was shipped.
    pub rate_pct: Option<String>,
    /// Goods the returns lost or wrote off, at cost, per currency.
    pub written_off: Vec<MoneyDto>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RatesQuery {
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    days: Option<String>,
}

/// `by` and `days` of a return-rate query, their errors by field.
pub fn rates_query(by: Option<&str>, days: Option<&str>) -> Result<(codflow_app::floor::RateBy, i64), ApiError> {
    use codflow_app::floor::RateBy;
    let by = match by.map(str::trim).unwrap_or("channel") {
        "" | "channel" => RateBy::Channel,
        "country" => RateBy::Country,
        "sku" => RateBy::Sku,
        _ => return Err(ApiError::field("by", "channel, country or sku")),
    };
    let days = match days.map(str::trim).filter(|d| !d.is_empty()) {
        None => 90,
        Some(d) => match d.parse::<i64>() {
            Ok(n) if (1..=730).contains(&n) => n,
            _ => return Err(ApiError::field("days", "a whole number from 1 to 730")),
        },
    };
    Ok((by, days))
}

pub fn rate_pct(returned: i64, shipped: i64) -> Option<String> {
    (shipped > 0).then(|| {
        let permille = (returned as i128 * 1000 + shipped as i128 / 2) / shipped as i128;
        format!("{}.{}", permille / 10, permille % 10)
    })
}

#[utoipa::path(get, path = "/api/v1/returns/rates", tag = "returns",
    params(("by" = Option<String>, Query, description = "channel (default), country or sku"), ("days" = Option<i64>, Query, description = "1 to 730, default 90")),
    responses((status = 200, body = Vec<ReturnRateDto>), (status = 422)))]
pub async fn rates(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<RatesQuery>,
) -> ApiResult<Json<Vec<ReturnRateDto>>> {
    auth.require(READERS)?;
    let (by, days) = rates_query(q.by.as_deref(), q.days.as_deref())?;
    let rows = s.app.floor().return_rates(by, days).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let mut written_off = Vec::new();
        for (c, v) in &r.written_off {
            let c = codflow_domain::Currency::parse(c).map_err(|e| ApiError::from(codflow_app::Error::from(e)))?;
            written_off.push(codflow_domain::Money::new(*v, c).into());
        }
        out.push(ReturnRateDto {
            rate_pct: rate_pct(r.returned, r.shipped),
            key: r.key,
            shipped: r.shipped,
            returned: r.returned,
            received: r.received,
            written_off,
        });
    }
    Ok(Json(out))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    pub sku: String,
    pub quantity: i64,
    /// `restock` (onto the receiving warehouse's shelf) or `write_off` (at cost).
    pub to: String,
    pub bin: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/returns/{id}/release", tag = "returns", params(("id" = String, Path)), request_body = ReleaseBody,
    responses((status = 200, body = ReturnDto, description = "held units restocked or written off"), (status = 404),
        (status = 422, description = "fewer units held than asked, or a bad field")))]
pub async fn release(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReleaseBody>,
) -> ApiResult<Json<ReturnDto>> {
    let id = ReturnId::from_path(&id)?;
    auth.require(STOCK_KEEPERS)?;
    let to =
        codflow_domain::returns::Disposition::parse(b.to.trim()).map_err(|e| ApiError::field("to", e.to_string()))?;
    let v = s.app.floor().release_held(&id, b.sku.trim(), b.quantity, to, b.bin.as_deref(), auth.actor()).await?;
    Ok(Json(ReturnDto::of_view(v, s.app.clock().now())))
}

/// What a refused parcel's route is weighed with, besides its own facts.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSettingsBody {
    /// What a liquidator pays, in basis points of the goods' cost (0 to 10,000; 3,000 until set).
    #[schema(example = 3000)]
    pub liquidation_bp: i64,
    /// Keeping one unit in a return warehouse abroad for a month (storage, handling); null or zero for none.
    pub holding_cost: Option<MoneyDto>,
}

fn settings_body(s: codflow_domain::returns::RouteSettings) -> RouteSettingsBody {
    RouteSettingsBody {
        liquidation_bp: s.liquidation_bp,
        holding_cost: s.holding_currency.map(|c| codflow_domain::Money::new(s.holding_cost_minor, c).into()),
    }
}

#[utoipa::path(get, path = "/api/v1/settings/returns", tag = "returns", responses((status = 200, body = RouteSettingsBody)))]
pub async fn route_settings(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<RouteSettingsBody>> {
    auth.require(READERS)?;
    Ok(Json(settings_body(s.app.finance().route_settings().await?)))
}

#[utoipa::path(put, path = "/api/v1/settings/returns", tag = "returns", request_body = RouteSettingsBody,
    responses((status = 200, body = RouteSettingsBody), (status = 422, description = "a share outside 0–10,000, a negative or malformed holding cost")))]
pub async fn put_route_settings(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<RouteSettingsBody>,
) -> ApiResult<Json<RouteSettingsBody>> {
    auth.require(&[codflow_domain::Role::Ops, codflow_domain::Role::Finance])?;
    let holding = b.holding_cost.as_ref().map(|m| m.money("holding_cost")).transpose()?;
    let settings = codflow_domain::returns::RouteSettings {
        liquidation_bp: b.liquidation_bp,
        holding_cost_minor: holding.map_or(0, |m| m.minor),
        holding_currency: holding.map(|m| m.currency),
    };
    Ok(Json(settings_body(s.app.finance().set_route_settings(settings, auth.actor()).await?)))
}
