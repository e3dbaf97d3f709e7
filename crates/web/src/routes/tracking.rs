//! Tracking API: the batch event endpoint for integrators, carrier webhooks, a shipment's timeline, the
//! carrier code mappings and the codes still unmapped, anomaly thresholds, the sweep and poll on demand,
//! and tasks.

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post, put};
use codflow_app::tracking::{IncomingEvent, IngestReport, Mapping, TrackingView};
use codflow_domain::anomaly::AnomalySettings;
use codflow_domain::{CarrierCode, FieldErrors, ShipmentId, ShipmentStatus};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::dto::{MoneyDto, Page, rfc3339};
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, OPERATORS, READERS};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/shipments/{id}/tracking", get(shipment_tracking))
        .route("/tracking/events", post(post_events))
        .route("/tracking/shipments", get(tracked_shipments))
        .route("/tracking/mappings", get(mappings))
        .route("/tracking/mappings/{carrier}/{code}", put(put_mapping).delete(delete_mapping))
        .route("/tracking/unmapped", get(unmapped))
        .route("/tracking/thresholds", get(thresholds).put(put_thresholds))
        .route("/tracking/sweep", post(sweep))
        .route("/settings/tracking", get(tracking_settings).put(put_tracking_settings))
        .route("/tracking/poll", post(poll))
        .route("/webhooks/carriers/{carrier}", post(carrier_webhook))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    pub tracking_number: String,
    /// When given, must be the shipment's carrier.
    #[serde(default)]
    pub carrier: Option<String>,
    /// The carrier's own event code.
    pub code: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    /// RFC 3339.
    pub at: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    pub events: Vec<EventIn>,
}

#[derive(Serialize, ToSchema)]
pub struct RejectedDto {
    pub index: usize,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct IngestDto {
    pub received: usize,
    pub new: usize,
    pub duplicates: usize,
    pub unmapped: usize,
    pub rejected: Vec<RejectedDto>,
    pub tasks_opened: usize,
    pub tasks_closed: usize,
    /// The acknowledgement a carrier's pushes wait for, for carriers that read one (J&T: `code` "1", `msg`
    /// "success", `data` "SUCCESS"; without it J&T sends the push again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<&'static str>,
}

impl From<IngestReport> for IngestDto {
    fn from(r: IngestReport) -> Self {
        IngestDto {
            received: r.received,
            new: r.new,
            duplicates: r.duplicates,
            unmapped: r.unmapped,
            rejected: r.rejected.into_iter().map(|(index, message)| RejectedDto { index, message }).collect(),
            tasks_opened: r.tasks_opened,
            tasks_closed: r.tasks_closed,
            code: None,
            msg: None,
            data: None,
        }
    }
}

const MAX_BATCH: usize = 5000;

/// Every field of every event is checked before anything is stored; one bad event refuses the batch with
/// its path (`events[3].at`), so a client fixes and resends the whole batch (replays are harmless).
fn parse_batch(b: EventBatch) -> Result<Vec<IncomingEvent>, ApiError> {
    let mut e = FieldErrors::default();
    if b.events.len() > MAX_BATCH {
        e.push("events", format!("at most {MAX_BATCH} events per request"));
        return Err(ApiError::Invalid(e));
    }
    let mut out = Vec::with_capacity(b.events.len());
    for (i, ev) in b.events.into_iter().enumerate() {
        let p = |f: &str| format!("events[{i}].{f}");
        let tn = ev.tracking_number.trim();
        if tn.is_empty() || tn.len() > 64 {
            e.push(p("tracking_number"), "must be 1 to 64 characters");
        }
        let code = ev.code.trim();
        if code.is_empty() || code.len() > 64 {
            e.push(p("code"), "must be 1 to 64 characters");
        }
        let at = match OffsetDateTime::parse(&ev.at, &Rfc3339) {
            Ok(t) => Some(t.to_offset(time::UtcOffset::UTC)),
            Err(_) => {
                e.push(p("at"), "must be an RFC 3339 time with its offset");
                None
            }
        };
        if ev.description.as_ref().is_some_and(|d| d.len() > 500) {
            e.push(p("description"), "must be at most 500 characters");
        }
        if let Some(at) = at {
            let at = at.replace_nanosecond(at.nanosecond() / 1000 * 1000).unwrap_or(at);
            out.push(IncomingEvent {
                tracking_number: tn.to_owned(),
                carrier: ev.carrier.filter(|c| !c.is_empty()),
                code: code.to_owned(),
                description: ev.description.unwrap_or_default(),
                location: ev.location.filter(|l| !l.is_empty()),
                at,
            });
        }
    }
    if e.is_empty() { Ok(out) } else { Err(ApiError::Invalid(e)) }
}

#[utoipa::path(post, path = "/api/v1/tracking/events", tag = "tracking", request_body = EventBatch,
    responses((status = 200, body = IngestDto), (status = 422, description = "a field of an event is invalid; nothing stored")))]
pub async fn post_events(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<EventBatch>,
) -> ApiResult<Json<IngestDto>> {
    auth.require(OPERATORS)?;
    let events = parse_batch(b)?;
    Ok(Json(s.app.tracking().ingest_events(&events, "api").await?.into()))
}

#[utoipa::path(post, path = "/api/v1/webhooks/carriers/{carrier}", tag = "tracking", params(("carrier" = String, Path)),
    request_body(content = String, description = "the carrier's signed event push, as its protocol sends it"),
    responses((status = 200, body = IngestDto), (status = 401, description = "bad signature; nothing stored"), (status = 404)), security(()))]
pub async fn carrier_webhook(
    State(s): State<Arc<AppState>>,
    Path(carrier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<IngestDto>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    // A carrier name that does not read has no webhook, as an unknown one.
    let carrier = CarrierCode::parse(&carrier).map_err(|_| ApiError::NotFound("carrier webhook"))?;
    let mut report: IngestDto = s.app.tracking().carrier_webhook(&carrier, &header, &body).await?.into();
    if carrier.as_str() == "jnt" {
        (report.code, report.msg, report.data) = (Some("1"), Some("success"), Some("SUCCESS"));
    }
    Ok(Json(report))
}

#[derive(Serialize, ToSchema)]
pub struct EventDto {
    pub at: String,
    pub code: String,
    pub status: String,
    pub description: String,
    pub location: Option<String>,
    pub source: String,
}

#[derive(Serialize, ToSchema)]
pub struct NdrDto {
    pub attempt: i64,
    pub action: String,
    pub details: serde_json::Value,
    pub status: String,
    pub error: Option<String>,
    pub at: String,
}

/// A buyer's answer to a failed delivery of one of the order's shipments.
#[derive(Serialize, ToSchema)]
pub struct OrderNdrDto {
    pub shipment_id: String,
    #[serde(flatten)]
    pub answer: NdrDto,
}

impl From<codflow_app::tracking::NdrRequest> for NdrDto {
    fn from(n: codflow_app::tracking::NdrRequest) -> Self {
        NdrDto {
            attempt: n.attempt,
            action: n.action,
            details: serde_json::from_str(&n.details).unwrap_or(serde_json::Value::Null),
            status: n.status,
            error: n.error,
            at: rfc3339(n.created_at),
        }
    }
}

impl From<codflow_app::tracking::NdrRequest> for OrderNdrDto {
    fn from(n: codflow_app::tracking::NdrRequest) -> Self {
        OrderNdrDto { shipment_id: n.shipment_id.to_string(), answer: n.into() }
    }
}

/// A tracked shipment with its timeline, tasks and the buyer's answers to failed deliveries.
#[derive(Serialize, ToSchema)]
pub struct TrackingDto {
    #[serde(flatten)]
    pub shipment: TrackedDto,
    pub eta: String,
    pub events: Vec<EventDto>,
    pub tasks: Vec<crate::routes::tasks::TaskDto>,
    pub ndr: Vec<NdrDto>,
}

impl From<TrackingView> for TrackingDto {
    fn from(v: TrackingView) -> Self {
        TrackingDto {
            shipment: v.tracked.into(),
            eta: rfc3339(v.eta),
            events: v
                .events
                .into_iter()
                .map(|e| EventDto {
                    at: rfc3339(e.at),
                    code: e.code,
                    status: e.status.to_string(),
                    description: e.description,
                    location: e.location,
                    source: e.source,
                })
                .collect(),
            tasks: v.tasks.into_iter().map(Into::into).collect(),
            ndr: v.ndr.into_iter().map(Into::into).collect(),
        }
    }
}

/// A tracked shipment without its timeline, for lists.
#[derive(Serialize, ToSchema)]
pub struct TrackedDto {
    pub shipment_id: String,
    pub order_id: String,
    pub tracking_number: String,
    pub carrier: String,
    pub lane: String,
    pub status: String,
    pub status_at: String,
    pub picked_up_at: Option<String>,
    pub delivered_at: Option<String>,
    pub failed_attempts: i64,
    pub cod: MoneyDto,
    pub cod_status: String,
    /// The anomalies that hold now.
    pub anomalies: Vec<String>,
    pub next_check_at: Option<String>,
}

impl From<codflow_app::tracking::Tracked> for TrackedDto {
    fn from(t: codflow_app::tracking::Tracked) -> Self {
        TrackedDto {
            shipment_id: t.shipment_id.to_string(),
            order_id: t.order_id.to_string(),
            tracking_number: t.tracking_number,
            carrier: t.carrier,
            lane: format!("{}/{}", t.country, t.channel),
            status: t.progress.status.to_string(),
            status_at: rfc3339(t.progress.status_at),
            picked_up_at: t.progress.picked_up_at.map(rfc3339),
            delivered_at: t.progress.delivered_at.map(rfc3339),
            failed_attempts: t.progress.failed_attempts,
            cod: t.cod.into(),
            cod_status: t.cod_status.as_str().into(),
            anomalies: t.fired.iter().map(|k| k.as_str().to_owned()).collect(),
            next_check_at: t.due_at.map(rfc3339),
        }
    }
}

/// The query parameters of [`tracked_shipments`].
#[derive(serde::Deserialize, Default)]
pub struct TrackedQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/tracking/shipments", tag = "tracking",
    params(("status" = Option<String>, Query, description = "e.g. delivered, or delivery_failed for every reason"),
        ("country" = Option<String>, Query), ("channel" = Option<String>, Query),
        ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<TrackedDto>), (status = 422)))]
pub async fn tracked_shipments(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<TrackedQuery>,
) -> ApiResult<Json<Page<TrackedDto>>> {
    auth.require(READERS)?;
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let mut e = FieldErrors::default();
    if let Some(st) = text(&q.status).filter(|st| ShipmentStatus::parse(st).is_err()) {
        e.push("status", format!("{st:?} is not a shipment status"));
    }
    if !e.is_empty() {
        return Err(ApiError::Invalid(e));
    }
    let filter = codflow_app::tracking::TrackedFilter {
        status: text(&q.status),
        country: text(&q.country).map(|c| c.to_uppercase()),
        channel: text(&q.channel),
        ..Default::default()
    };
    let (items, next_cursor) = s.app.tracking().tracked_shipments(filter, q.page.limit()?, q.page.cursor()).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/shipments/{id}/tracking", tag = "tracking", params(("id" = String, Path)),
    responses((status = 200, body = TrackingDto), (status = 404, description = "unknown or not booked")))]
pub async fn shipment_tracking(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<TrackingDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.tracking().tracking(&ShipmentId::from_path(&id)?).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct MappingDto {
    pub carrier: String,
    pub code: String,
    pub status: String,
    pub description: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingBody {
    /// `status` or `status:reason` of the taxonomy (`customs_held:documentation`).
    pub status: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MappedDto {
    pub mapping: MappingDto,
    /// Shipments whose stored events took the new status.
    pub shipments_updated: usize,
}

fn mapping_dto(m: Mapping) -> MappingDto {
    MappingDto { carrier: m.carrier, code: m.code, status: m.status.to_string(), description: m.description }
}

/// The query parameters of [`mappings`].
#[derive(serde::Deserialize, Default)]
pub struct MappingsQuery {
    #[serde(default)]
    carrier: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/tracking/mappings", tag = "tracking", params(("carrier" = Option<String>, Query)),
    responses((status = 200, body = [MappingDto])))]
pub async fn mappings(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<MappingsQuery>,
) -> ApiResult<Json<Vec<MappingDto>>> {
    auth.require(READERS)?;
    let list = s.app.tracking().carrier_mappings(q.carrier.as_deref()).await?;
    Ok(Json(list.into_iter().map(mapping_dto).collect()))
}

#[utoipa::path(put, path = "/api/v1/tracking/mappings/{carrier}/{code}", tag = "tracking",
    params(("carrier" = String, Path), ("code" = String, Path)), request_body = MappingBody,
    responses((status = 200, body = MappedDto), (status = 422)))]
pub async fn put_mapping(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((carrier, code)): Path<(String, String)>,
    ApiJson(b): ApiJson<MappingBody>,
) -> ApiResult<Json<MappedDto>> {
    auth.require(OPERATORS)?;
    let status = ShipmentStatus::parse(&b.status).map_err(|e| {
        let mut f = FieldErrors::default();
        f.push("status", e.to_string());
        ApiError::Invalid(f)
    })?;
    let m = Mapping { carrier, code, status, description: b.description.unwrap_or_default() };
    let n = s.app.tracking().put_carrier_mapping(m.clone(), auth.actor()).await?;
    Ok(Json(MappedDto { mapping: mapping_dto(m), shipments_updated: n }))
}

#[utoipa::path(delete, path = "/api/v1/tracking/mappings/{carrier}/{code}", tag = "tracking",
    params(("carrier" = String, Path), ("code" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_mapping(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((carrier, code)): Path<(String, String)>,
) -> ApiResult<axum::http::StatusCode> {
    auth.require(OPERATORS)?;
    let carrier = CarrierCode::parse(&carrier).map_err(|_| ApiError::NotFound("mapping"))?;
    s.app.tracking().delete_carrier_mapping(&carrier, &code).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct UnmappedDto {
    pub carrier: String,
    pub code: String,
    pub count: i64,
    pub last_seen: String,
    pub description: String,
}

#[utoipa::path(get, path = "/api/v1/tracking/unmapped", tag = "tracking", responses((status = 200, body = [UnmappedDto])))]
pub async fn unmapped(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Vec<UnmappedDto>>> {
    auth.require(READERS)?;
    let list = s.app.tracking().unmapped_codes().await?;
    Ok(Json(
        list.into_iter()
            .map(|u| UnmappedDto {
                carrier: u.carrier,
                code: u.code,
                count: u.count,
                last_seen: rfc3339(u.last_seen),
                description: u.description,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/tracking/thresholds", tag = "tracking",
    responses((status = 200, body = AnomalySettings, description = "default thresholds and lane overrides")))]
pub async fn thresholds(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<AnomalySettings>> {
    auth.require(READERS)?;
    Ok(Json(s.app.tracking().anomaly_settings().await?))
}

#[utoipa::path(put, path = "/api/v1/tracking/thresholds", tag = "tracking", request_body = AnomalySettings,
    responses((status = 200, description = "saved; every active shipment is evaluated again"), (status = 422)))]
pub async fn put_thresholds(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<AnomalySettings>,
) -> ApiResult<Json<AnomalySettings>> {
    auth.require(OPERATORS)?;
    Ok(Json(s.app.tracking().set_anomaly_settings(b).await?))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackingSettingsDto {
    /// Poll interval while a parcel is at the door (out for delivery, failed); twice that in customs, four
    /// times otherwise. 60 to 604800.
    pub poll_seconds: i64,
    /// Carriers that are polled; a carrier that pushes its events need not be.
    pub poll_carriers: Vec<String>,
    /// A parcel still not final this many days after booking is no longer polled.
    pub max_age_days: i64,
}

impl From<codflow_app::tracking::PollSettings> for TrackingSettingsDto {
    fn from(p: codflow_app::tracking::PollSettings) -> Self {
        TrackingSettingsDto {
            poll_seconds: p.poll_seconds,
            poll_carriers: p.poll_carriers,
            max_age_days: p.max_age_days,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/settings/tracking", tag = "tracking", responses((status = 200, body = TrackingSettingsDto)))]
pub async fn tracking_settings(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<TrackingSettingsDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.tracking().tracking_settings().await?.into()))
}

#[utoipa::path(put, path = "/api/v1/settings/tracking", tag = "tracking", request_body = TrackingSettingsDto,
    responses((status = 200, body = TrackingSettingsDto), (status = 422)))]
pub async fn put_tracking_settings(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<TrackingSettingsDto>,
) -> ApiResult<Json<TrackingSettingsDto>> {
    auth.require(OPERATORS)?;
    let p = codflow_app::tracking::PollSettings {
        poll_seconds: b.poll_seconds,
        poll_carriers: b.poll_carriers.into_iter().map(|c| c.trim().to_owned()).collect(),
        max_age_days: b.max_age_days,
    };
    Ok(Json(s.app.tracking().set_tracking_settings(p, auth.actor()).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct SweepDto {
    pub shipments_evaluated: usize,
    pub tasks_opened: usize,
    pub tasks_closed: usize,
}

#[utoipa::path(post, path = "/api/v1/tracking/sweep", tag = "tracking", responses((status = 200, body = SweepDto)))]
pub async fn sweep(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<SweepDto>> {
    auth.require(OPERATORS)?;
    let r = s.app.tracking().sweep().await?;
    Ok(Json(SweepDto { shipments_evaluated: r.evaluated, tasks_opened: r.tasks_opened, tasks_closed: r.tasks_closed }))
}

#[derive(Serialize, ToSchema)]
pub struct PollDto {
    pub shipments_polled: usize,
}

#[utoipa::path(post, path = "/api/v1/tracking/poll", tag = "tracking", responses((status = 200, body = PollDto)))]
pub async fn poll(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<PollDto>> {
    auth.require(OPERATORS)?;
    Ok(Json(PollDto { shipments_polled: s.app.tracking().poll_tracking().await? }))
}
