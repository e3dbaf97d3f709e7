//! Logistics: channels and their rate cards, duty rules, quotes, allocation settings and booking.

pub mod dto;

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::routing::{delete, get, post};
use codflow_app::booking::{BookOutcome, BookingStatus, ShipmentFilter};
use codflow_app::logistics::{LogisticsSettings, QuoteInput};
use codflow_domain::rating::{ChannelSpec, DutyRuleSpec, Incoterm, Strategy};
use codflow_domain::{ChannelCode, FieldErrors, OrderId, ShipmentId};

use crate::dto::Page;
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, OPERATORS, READERS, STOCK_KEEPERS, parse_json};
use crate::state::AppState;
use crate::{ApiError, ApiResult};
use dto::*;

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/channels", get(list_channels).post(create_channel))
        .route("/channels/export", get(export_channels))
        .route("/channels/{code}", get(get_channel).put(put_channel).delete(delete_channel))
        .route("/duty-rules", get(duty_rules).put(put_duty_rule))
        .route("/duty-rules/{country}/{effective_from}", delete(delete_duty_rule))
        .route("/rates", post(rates))
        .route("/rates/{channel}/carrier", post(carrier_rate))
        .route("/settings/logistics", get(logistics_settings).put(put_logistics_settings))
        .route("/orders/{id}/book", post(book_order))
        .route("/orders/{id}/shipments", get(order_shipments))
        .route("/shipments", get(list_shipments))
        .route("/shipments/book", post(book_many))
        .route("/shipments/{id}", get(get_shipment))
        .route("/shipments/{id}/cancel", post(cancel_shipment))
        .route("/shipments/{id}/retry", post(retry_shipment))
}

/// The upload routes of this resource, under `/api/v1` with the larger body limit.
pub fn uploads() -> Router<Arc<AppState>> {
    Router::new().route("/channels/import", post(import_channels))
}

pub(crate) type Download = ([(HeaderName, String); 2], Vec<u8>);

pub(crate) fn download(content_type: &str, filename: &str, body: Vec<u8>) -> Download {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        body,
    )
}

#[utoipa::path(get, path = "/api/v1/channels", tag = "logistics",
    responses((status = 200, description = "every channel in its written form (see docs/LOGISTICS.md)")))]
pub async fn list_channels(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<serde_json::Value>> {
    auth.require(READERS)?;
    let items: Vec<ChannelSpec> = s.app.fulfilment().channels().await?.iter().map(|c| c.to_spec()).collect();
    Ok(Json(serde_json::json!({ "items": items, "next_cursor": null })))
}

#[utoipa::path(post, path = "/api/v1/channels", tag = "logistics", request_body = ChannelSpec,
    responses((status = 201, description = "created"), (status = 409, description = "a channel with this code exists"), (status = 422)))]
pub async fn create_channel(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(spec): ApiJson<ChannelSpec>,
) -> ApiResult<(StatusCode, Json<ChannelSpec>)> {
    auth.require(OPERATORS)?;
    // A code that does not read is refused below, by the spec's own validation.
    let existing = match ChannelCode::parse(&spec.code) {
        Ok(code) => s.app.fulfilment().channel(&code).await.ok(),
        Err(_) => None,
    };
    if existing.is_some() {
        return Err(ApiError::Conflict {
            kind: codflow_app::ConflictKind::ChannelExists,
            message: format!("channel {} exists; PUT /api/v1/channels/{} replaces it", spec.code, spec.code),
        });
    }
    let mut out = s.app.fulfilment().put_channels(std::slice::from_ref(&spec), auth.actor()).await?;
    Ok((StatusCode::CREATED, Json(out.remove(0).0.to_spec())))
}

#[utoipa::path(get, path = "/api/v1/channels/{code}", tag = "logistics", params(("code" = String, Path)),
    responses((status = 200, description = "the channel"), (status = 404)))]
pub async fn get_channel(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<ChannelSpec>> {
    auth.require(READERS)?;
    Ok(Json(s.app.fulfilment().channel(&ChannelCode::from_path(&code)?).await?.to_spec()))
}

#[utoipa::path(put, path = "/api/v1/channels/{code}", tag = "logistics", params(("code" = String, Path)), request_body = ChannelSpec,
    responses((status = 200, description = "replaced"), (status = 201, description = "created"), (status = 422)))]
pub async fn put_channel(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
    ApiJson(spec): ApiJson<ChannelSpec>,
) -> ApiResult<(StatusCode, Json<ChannelSpec>)> {
    auth.require(OPERATORS)?;
    if spec.code != code {
        return Err(ApiError::field(
            "code",
            format!("the body's code {:?} differs from the path's {code:?}", spec.code),
        ));
    }
    let (ch, created) = s.app.fulfilment().put_channels(std::slice::from_ref(&spec), auth.actor()).await?.remove(0);
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(ch.to_spec())))
}

#[utoipa::path(delete, path = "/api/v1/channels/{code}", tag = "logistics", params(("code" = String, Path)),
    responses((status = 204), (status = 409, description = "the channel has shipments; disable it instead")))]
pub async fn delete_channel(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
) -> ApiResult<StatusCode> {
    auth.require(OPERATORS)?;
    s.app.fulfilment().delete_channel(&ChannelCode::from_path(&code)?, auth.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The query parameters of [`export_channels`].
#[derive(serde::Deserialize, Default)]
pub struct ExportChannelsQuery {
    #[serde(default)]
    format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/channels/export", tag = "logistics", params(("format" = Option<String>, Query, description = "json (default): whole channels; csv: rate-card rows")),
    responses((status = 200, description = "a file")))]
pub async fn export_channels(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ExportChannelsQuery>,
) -> ApiResult<Download> {
    auth.require(READERS)?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => {
            let specs: Vec<ChannelSpec> = s.app.fulfilment().channels().await?.iter().map(|c| c.to_spec()).collect();
            let body = serde_json::to_vec_pretty(&specs).map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok(download("application/json", "channels.json", body))
        }
        "csv" => Ok(download(
            "text/csv; charset=utf-8",
            "rate-cards.csv",
            s.app.fulfilment().export_rate_csv().await?.into_bytes(),
        )),
        other => Err(ApiError::field("format", format!("{other:?} is not json or csv"))),
    }
}

#[utoipa::path(post, path = "/api/v1/channels/import", tag = "logistics",
    request_body(content((Vec<codflow_domain::rating::ChannelSpec> = "application/json"), (String = "text/csv")),
        description = "an array of channels as GET /api/v1/channels/export gives them, or rate-card rows as CSV"),
    responses((status = 200, description = "JSON (an array of channels, created or replaced) or CSV (rate-card rows replacing the zones of existing channels), all or nothing"), (status = 422)))]
pub async fn import_channels(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(OPERATORS)?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("text/csv") {
        let r = s.app.fulfilment().import_rate_csv(&body, auth.actor()).await?;
        return Ok(Json(serde_json::json!({"channels": r.channels, "zones": r.zones, "rows": r.rows})));
    }
    let specs: Vec<ChannelSpec> = parse_json(&body)?;
    let out = s.app.fulfilment().put_channels(&specs, auth.actor()).await?;
    let created = out.iter().filter(|(_, c)| *c).count();
    Ok(Json(serde_json::json!({"channels": out.len(), "created": created, "updated": out.len() - created})))
}

#[utoipa::path(get, path = "/api/v1/duty-rules", tag = "logistics", responses((status = 200, description = "every country's dated duty and VAT rules")))]
pub async fn duty_rules(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<serde_json::Value>> {
    auth.require(READERS)?;
    let items: Vec<DutyRuleSpec> = s.app.fulfilment().duty_rules().await?.iter().map(|r| r.to_spec()).collect();
    Ok(Json(serde_json::json!({ "items": items, "next_cursor": null })))
}

#[utoipa::path(put, path = "/api/v1/duty-rules", tag = "logistics", request_body = DutyRuleSpec,
    responses((status = 200, description = "created or replaced by (country, effective_from)"), (status = 422)))]
pub async fn put_duty_rule(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(spec): ApiJson<DutyRuleSpec>,
) -> ApiResult<Json<DutyRuleSpec>> {
    auth.require(OPERATORS)?;
    let r = s.app.fulfilment().put_duty_rules(std::slice::from_ref(&spec), auth.actor()).await?;
    Ok(Json(r[0].to_spec()))
}

#[utoipa::path(delete, path = "/api/v1/duty-rules/{country}/{effective_from}", tag = "logistics",
    params(("country" = String, Path), ("effective_from" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_duty_rule(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((country, from)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    auth.require(OPERATORS)?;
    s.app.fulfilment().delete_duty_rule(&country, &from, auth.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/rates", tag = "logistics", request_body = QuoteInput,
    responses((status = 200, body = QuoteDto), (status = 422)))]
pub async fn rates(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(input): ApiJson<QuoteInput>,
) -> ApiResult<Json<QuoteDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.fulfilment().quote(&input).await?.into()))
}

/// The query parameters of [`carrier_rate`].
#[derive(serde::Deserialize, Default)]
pub struct CarrierRateQuery {
    #[serde(default)]
    warehouse: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/rates/{channel}/carrier", tag = "logistics",
    params(("channel" = String, Path), ("warehouse" = Option<String>, Query, description = "ship from (default: the first warehouse by code)")),
    request_body(content = QuoteInput, description = "the same body as POST /api/v1/rates"),
    responses((status = 200, body = CarrierQuoteDto), (status = 404, description = "no such channel"),
        (status = 409, description = "the carrier is not configured, refused or is unavailable"), (status = 422)))]
pub async fn carrier_rate(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(channel): Path<String>,
    ApiQuery(q): ApiQuery<CarrierRateQuery>,
    ApiJson(input): ApiJson<QuoteInput>,
) -> ApiResult<Json<CarrierQuoteDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.fulfilment().carrier_quote(&channel, q.warehouse.as_deref(), &input).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/settings/logistics", tag = "logistics", responses((status = 200, body = LogisticsSettingsDto)))]
pub async fn logistics_settings(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<LogisticsSettingsDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.fulfilment().logistics_settings().await?.into()))
}

#[utoipa::path(put, path = "/api/v1/settings/logistics", tag = "logistics", request_body = LogisticsSettingsDto,
    responses((status = 200, body = LogisticsSettingsDto), (status = 422)))]
pub async fn put_logistics_settings(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<LogisticsSettingsDto>,
) -> ApiResult<Json<LogisticsSettingsDto>> {
    auth.require(OPERATORS)?;
    let mut e = FieldErrors::default();
    let strategy = e.take("strategy", Strategy::parse(&body.strategy));
    let incoterm = e.take("incoterm", Incoterm::parse(&body.incoterm));
    let (Some(strategy), Some(incoterm)) = (strategy, incoterm) else { return Err(ApiError::Invalid(e)) };
    let settings = LogisticsSettings {
        strategy,
        incoterm,
        auto_book: body.auto_book,
        delivery_prior_pct: body.delivery_prior_pct,
    };
    s.app.fulfilment().set_logistics_settings(&settings, auth.actor()).await?;
    Ok(Json(settings.into()))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/book", tag = "logistics", params(("id" = String, Path)),
    responses((status = 200, body = ShipmentDto, description = "the order's shipment: booked, or failed/pending with the carrier's error in last_error"),
        (status = 409, description = "the order is not allocated or has no channel")))]
pub async fn book_order(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ShipmentDto>> {
    auth.require(STOCK_KEEPERS)?;
    Ok(Json(s.app.fulfilment().book_order(&OrderId::from_path(&id)?, auth.actor()).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/shipments", tag = "logistics", params(("id" = String, Path)),
    responses((status = 200, body = Page<ShipmentDto>), (status = 401), (status = 404)))]
pub async fn order_shipments(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Page<ShipmentDto>>> {
    auth.require(READERS)?;
    Ok(Json(Page::whole(
        s.app.fulfilment().shipments_of_order(&OrderId::from_path(&id)?).await?.into_iter().map(Into::into).collect(),
    )))
}

#[utoipa::path(post, path = "/api/v1/shipments/book", tag = "logistics", request_body = BookMany,
    responses((status = 200, body = Vec<BookResultDto>)))]
pub async fn book_many(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<BookMany>,
) -> ApiResult<Json<Vec<BookResultDto>>> {
    auth.require(STOCK_KEEPERS)?;
    if body.orders.len() > 10_000 {
        return Err(ApiError::field("orders", "at most 10,000 orders per request"));
    }
    let results = if body.wait {
        s.app
            .fulfilment()
            .book_orders(&body.orders, auth.actor())
            .await
            .into_iter()
            .zip(&body.orders)
            .map(|(r, id)| match r {
                BookOutcome::Done(sh) => {
                    BookResultDto { order_id: id.clone(), shipment: Some((*sh).into()), error: None }
                }
                BookOutcome::Refused { order, code, message } => BookResultDto {
                    order_id: order,
                    shipment: None,
                    error: Some(BookErrorDto { code: code.into(), message }),
                },
            })
            .collect()
    } else {
        s.app
            .fulfilment()
            .queue_bookings(&body.orders, auth.actor())
            .await
            .into_iter()
            .zip(&body.orders)
            .map(|(r, id)| match r {
                Ok(sh) => BookResultDto { order_id: id.clone(), shipment: Some(sh.into()), error: None },
                Err(e) => {
                    let e = ApiError::from(e);
                    BookResultDto {
                        order_id: id.clone(),
                        shipment: None,
                        error: Some(BookErrorDto { code: e.code().into(), message: e.detail() }),
                    }
                }
            })
            .collect()
    };
    Ok(Json(results))
}

/// The query parameters of [`list_shipments`].
#[derive(serde::Deserialize, Default)]
pub struct ListShipmentsQuery {
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/shipments", tag = "logistics",
    params(("status" = Option<String>, Query), ("channel" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<ShipmentDto>)))]
pub async fn list_shipments(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListShipmentsQuery>,
) -> ApiResult<Json<Page<ShipmentDto>>> {
    auth.require(READERS)?;
    let mut f = ShipmentFilter::default();
    let mut e = FieldErrors::default();
    if let Some(st) = q.status.as_ref() {
        f.status = BookingStatus::parse(st);
        if f.status.is_none() {
            e.push("status", "pending, booked, failed or cancelled");
        }
    }
    if let Some(c) = q.channel.as_ref() {
        f.channel = e.take("channel", codflow_domain::ChannelCode::parse(c));
    }
    if !e.is_empty() {
        return Err(ApiError::Invalid(e));
    }
    let (items, next_cursor) = s.app.fulfilment().shipments(f, q.page.limit()?, q.page.cursor()).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/shipments/{id}", tag = "logistics", params(("id" = String, Path)),
    responses((status = 200, body = ShipmentDto), (status = 404)))]
pub async fn get_shipment(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ShipmentDto>> {
    auth.require(READERS)?;
    let id = ShipmentId::from_path(&id)?;
    let mut dto: ShipmentDto = s.app.fulfilment().shipment(&id).await?.into();
    dto.measured = s.app.floor().pack_of_shipment(&id).await?.and_then(|p| {
        let m = p.measure?;
        Some(MeasuredDto {
            pack_id: p.id.to_string(),
            weight_g: m.weight_g,
            dims_cm: m.dims_cm,
            source: p.source.map(|s| s.as_str().into()),
            outcome: p.outcome.map(|o| o.as_str().into()),
        })
    });
    Ok(Json(dto))
}

#[utoipa::path(post, path = "/api/v1/shipments/{id}/cancel", tag = "logistics", params(("id" = String, Path)),
    responses((status = 200, body = ShipmentDto), (status = 409, description = "the carrier refused to void the label")))]
pub async fn cancel_shipment(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ShipmentDto>> {
    auth.require(STOCK_KEEPERS)?;
    Ok(Json(s.app.fulfilment().cancel_shipment(&ShipmentId::from_path(&id)?, auth.actor()).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/shipments/{id}/retry", tag = "logistics", params(("id" = String, Path)),
    responses((status = 200, body = ShipmentDto), (status = 409, description = "only failed bookings are retried")))]
pub async fn retry_shipment(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ShipmentDto>> {
    auth.require(STOCK_KEEPERS)?;
    Ok(Json(s.app.fulfilment().retry_booking(&ShipmentId::from_path(&id)?, auth.actor()).await?.into()))
}
