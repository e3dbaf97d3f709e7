//! The warehouse floor over HTTP: pack stations and their device tokens, product barcodes, the weight rules,
//! the pack station (scan, weigh, override, release, reprint), and readings pushed by scales and DWS devices.

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use codflow_app::floor::{LabelSent, PackView, ReadingInput, ScanOutcome, StationInput, WaveView};
use codflow_domain::floor::{FloorRules, Measure, PackStatus, ReadingSource, Station};
use codflow_domain::{ChannelCode, PackId, Sku, StationCode, WarehouseCode, WaveId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::rfc3339;
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, OPERATORS, READERS, STOCK_KEEPERS};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/stations", get(list_stations))
        .route("/stations/{code}", get(get_station).put(put_station))
        .route("/stations/{code}/token", post(issue_token))
        .route("/products/{sku}/barcodes", get(get_barcodes).put(put_barcodes))
        .route("/floor/rules", get(get_rules).put(put_rules))
        .route("/floor/readings", post(post_reading))
        .route("/floor/stats", get(floor_stats))
        .route("/pack", get(list_packs))
        .route("/pack/scan", post(scan))
        .route("/pack/{id}", get(get_pack))
        .route("/pack/{id}/weigh", post(weigh))
        .route("/pack/{id}/override", post(override_verification))
        .route("/pack/{id}/release", post(release))
        .route("/pack/{id}/reprint", post(reprint))
        .route("/waves", get(list_waves).post(create_wave))
        .route("/waves/{id}", get(get_wave))
        .route("/waves/{id}/pick-list", get(wave_pick_list))
        .route("/bags", get(list_bags))
        .route("/bags/sort", post(sort))
        .route("/bags/{id}", get(get_bag))
        .route("/bags/{id}/close", post(close_bag))
        .route("/bags/{id}/label", get(bag_label))
        .route("/handovers", post(create_handover))
        .route("/handovers/{id}", get(get_handover))
        .route("/handovers/{id}/scan", post(handover_scan))
        .route("/handovers/{id}/send", post(send_manifest))
        .route("/handovers/{id}/manifest", get(manifest))
}

#[derive(Serialize, ToSchema)]
pub struct StationDto {
    pub code: String,
    pub name: String,
    pub warehouse: String,
    /// `host:port` of the ZPL label printer; absent when labels open as PDF in the browser.
    pub printer: Option<String>,
    /// Whether a device token (scale bridge, DWS) is set; the token itself is shown only when issued.
    pub has_device_token: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Station> for StationDto {
    fn from(s: Station) -> Self {
        StationDto {
            code: s.code.to_string(),
            name: s.name,
            warehouse: s.warehouse.to_string(),
            printer: s.printer.map(|p| p.as_str().to_owned()),
            has_device_token: s.has_token,
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StationBody {
    pub name: String,
    pub warehouse: String,
    #[serde(default)]
    pub printer: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/stations", tag = "floor", responses((status = 200, body = Vec<StationDto>)))]
pub async fn list_stations(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Vec<StationDto>>> {
    auth.require(READERS)?;
    Ok(Json(s.app.floor().stations().await?.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/api/v1/stations/{code}", tag = "floor", params(("code" = String, Path)),
    responses((status = 200, body = StationDto), (status = 404)))]
pub async fn get_station(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<StationDto>> {
    let code = StationCode::from_path(&code)?;
    auth.require(READERS)?;
    Ok(Json(s.app.floor().station(&code).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/stations/{code}", tag = "floor", params(("code" = String, Path)), request_body = StationBody,
    responses((status = 200, body = StationDto, description = "changed"), (status = 201, body = StationDto, description = "created"), (status = 422)))]
pub async fn put_station(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<StationBody>,
) -> ApiResult<(StatusCode, Json<StationDto>)> {
    auth.require(&[])?;
    let code = StationCode::parse(&code).map_err(|e| ApiError::field("code", e.to_string()))?;
    let input = StationInput { name: body.name, warehouse: body.warehouse, printer: body.printer };
    let (station, created) = s.app.floor().put_station(&code, input, auth.actor()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(station.into())))
}

#[derive(Serialize, ToSchema)]
pub struct DeviceTokenDto {
    pub station: String,
    /// Shown once: give it to `codflow scale-bridge --token` or the DWS device. Issuing another revokes it.
    pub token: String,
}

#[utoipa::path(post, path = "/api/v1/stations/{code}/token", tag = "floor", params(("code" = String, Path)),
    responses((status = 201, body = DeviceTokenDto), (status = 404)))]
pub async fn issue_token(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
) -> ApiResult<(StatusCode, Json<DeviceTokenDto>)> {
    let code = StationCode::from_path(&code)?;
    auth.require(&[])?;
    let token = s.app.floor().issue_station_token(&code, auth.actor()).await?;
    Ok((StatusCode::CREATED, Json(DeviceTokenDto { station: code.to_string(), token })))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BarcodesDto {
    /// Every barcode of the product: GTINs (check digit verified) or the seller's own codes.
    pub barcodes: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/products/{sku}/barcodes", tag = "floor", params(("sku" = String, Path)),
    responses((status = 200, body = BarcodesDto), (status = 404)))]
pub async fn get_barcodes(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(sku): Path<String>,
) -> ApiResult<Json<BarcodesDto>> {
    let sku = Sku::from_path(&sku)?;
    auth.require(READERS)?;
    let codes = s.app.floor().barcodes(&sku).await?;
    Ok(Json(BarcodesDto { barcodes: codes.iter().map(|b| b.to_string()).collect() }))
}

#[utoipa::path(put, path = "/api/v1/products/{sku}/barcodes", tag = "floor", params(("sku" = String, Path)),
    request_body = BarcodesDto,
    responses((status = 200, body = BarcodesDto), (status = 404), (status = 409, description = "a code is on another product"), (status = 422)))]
pub async fn put_barcodes(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(sku): Path<String>,
    ApiJson(body): ApiJson<BarcodesDto>,
) -> ApiResult<Json<BarcodesDto>> {
    let sku = Sku::from_path(&sku)?;
    auth.require(STOCK_KEEPERS)?;
    let codes = s.app.floor().set_barcodes(&sku, &body.barcodes, auth.actor()).await?;
    Ok(Json(BarcodesDto { barcodes: codes.iter().map(|b| b.to_string()).collect() }))
}

#[utoipa::path(get, path = "/api/v1/floor/rules", tag = "floor", responses((status = 200, body = FloorRules)))]
pub async fn get_rules(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<FloorRules>> {
    auth.require(READERS)?;
    Ok(Json(s.app.floor().floor_rules().await?))
}

#[utoipa::path(put, path = "/api/v1/floor/rules", tag = "floor", request_body = FloorRules,
    responses((status = 200, body = FloorRules), (status = 422)))]
pub async fn put_rules(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<FloorRules>,
) -> ApiResult<Json<FloorRules>> {
    auth.require(OPERATORS)?;
    Ok(Json(s.app.floor().set_floor_rules(body, auth.actor()).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingBody {
    /// The station the device serves; must be the token's when given.
    #[serde(default)]
    pub station: Option<String>,
    /// The parcel's waybill when the device read it (a DWS does).
    #[serde(default)]
    pub waybill: Option<String>,
    pub weight_g: i64,
    #[serde(default)]
    pub length_cm: Option<i64>,
    #[serde(default)]
    pub width_cm: Option<i64>,
    #[serde(default)]
    pub height_cm: Option<i64>,
    /// False while the scale is still moving; only stable readings weigh a parcel.
    pub stable: bool,
    /// `scale` (default) or `dws`.
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReadingDto {
    pub id: String,
    pub station: String,
    pub waybill: Option<String>,
    pub weight_g: i64,
    pub dims_cm: Option<[i64; 3]>,
    pub stable: bool,
    pub source: String,
    pub at: String,
}

/// Readings come from devices, which hold a station's device token (`cfd_…`), not an API token.
#[utoipa::path(post, path = "/api/v1/floor/readings", tag = "floor", request_body = ReadingBody,
    security(("bearer" = [])),
    responses((status = 201, body = ReadingDto), (status = 401, description = "not a station's device token"),
        (status = 409, description = "the token is another station's"), (status = 422)))]
pub async fn post_reading(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReadingBody>,
) -> ApiResult<(StatusCode, Json<ReadingDto>)> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)?;
    let station = match s.app.floor().station_of_token(token).await {
        Ok(st) => st,
        Err(codflow_app::Error::Unauthorized) => return Err(ApiError::Unauthorized),
        Err(e) => return Err(e.into()),
    };
    let input = ReadingInput {
        station: body.station,
        waybill: body.waybill,
        weight_g: body.weight_g,
        length_cm: body.length_cm,
        width_cm: body.width_cm,
        height_cm: body.height_cm,
        stable: body.stable,
        source: body.source,
    };
    let r = s.app.floor().record_reading(&station, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(ReadingDto {
            id: r.id,
            station: r.station.to_string(),
            waybill: r.waybill,
            weight_g: r.measure.weight_g,
            dims_cm: r.measure.dims_cm,
            stable: r.stable,
            source: r.source.as_str().into(),
            at: rfc3339(r.at),
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct PackItemDto {
    pub sku: String,
    pub title: String,
    pub needed: i64,
    pub scanned: i64,
    /// Where the picker finds it in the order's warehouse.
    pub bin: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PackDto {
    pub id: String,
    pub order_id: String,
    pub order_ref: String,
    pub shipment_id: String,
    pub tracking_number: Option<String>,
    pub channel: String,
    pub station: String,
    /// open, verified, packed or intercepted.
    pub status: String,
    pub items: Vec<PackItemDto>,
    pub overridden_by: Option<String>,
    pub weight_g: Option<i64>,
    pub dims_cm: Option<[i64; 3]>,
    /// scale, dws or manual.
    pub reading_source: Option<String>,
    /// passed, rerated, rebooked, intercepted or released.
    pub outcome: Option<String>,
    /// The readings, the weight check and the quotes before and after, as recorded.
    #[schema(value_type = Object)]
    pub evidence: Option<serde_json::Value>,
    pub task_id: Option<String>,
    pub packed_by: String,
    pub printed_at: Option<String>,
    /// Where this answer sent the label: `printer:host:port`, or the PDF's path to open.
    pub label: Option<String>,
    /// The papers that travel with a parcel crossing a border (commercial invoice, packing list), as paths to
    /// their PDFs; empty for a domestic parcel.
    pub papers: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<PackView> for PackDto {
    fn from(v: PackView) -> Self {
        let p = v.pack;
        PackDto {
            id: p.id.to_string(),
            order_id: p.order_id.to_string(),
            order_ref: v.order_ref,
            shipment_id: p.shipment_id.to_string(),
            tracking_number: v.tracking_number,
            channel: v.channel.to_string(),
            station: p.station.to_string(),
            status: p.status.as_str().into(),
            items: v
                .items
                .into_iter()
                .map(|i| PackItemDto { sku: i.sku, title: i.title, needed: i.needed, scanned: i.scanned, bin: i.bin })
                .collect(),
            overridden_by: p.overridden_by,
            weight_g: p.measure.map(|m| m.weight_g),
            dims_cm: p.measure.and_then(|m| m.dims_cm),
            reading_source: p.source.map(|s| s.as_str().into()),
            outcome: p.outcome.map(|o| o.as_str().into()),
            evidence: p.evidence.and_then(|e| serde_json::from_str(&e).ok()),
            task_id: p.task_id.map(|t| t.to_string()),
            packed_by: p.packed_by,
            printed_at: p.printed_at.map(rfc3339),
            label: v.label.map(|l| match l {
                LabelSent::Printer(a) => format!("printer:{a}"),
                LabelSent::Pdf(path) => path,
            }),
            papers: if v.customs {
                ["commercial-invoice", "packing-list"]
                    .iter()
                    .map(|d| format!("/api/v1/shipments/{}/{d}", p.shipment_id))
                    .collect()
            } else {
                Vec::new()
            },
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ScanDto {
    /// ok, done, wrong or info: what the station sounds.
    pub signal: String,
    /// A stable code for what happened (opened, counted, verified, wrong_item, unknown_code, passed, rebooked,
    /// intercepted, print_failed, …).
    pub event: String,
    /// The values the message is made of, by name.
    pub values: std::collections::BTreeMap<String, String>,
    pub message: String,
    pub pack: Option<PackDto>,
}

impl From<ScanOutcome> for ScanDto {
    fn from(o: ScanOutcome) -> Self {
        ScanDto {
            signal: serde_json::to_value(o.signal).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            event: o.event.into(),
            values: o.params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            message: o.message,
            pack: o.pack.map(Into::into),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanBody {
    pub station: String,
    /// What the scanner read: an order id, a shop order number, a waybill, a pack id, or an item's barcode or SKU.
    pub code: String,
    /// The parcel the station has open, when it has one (items are counted into it).
    #[serde(default)]
    pub pack: Option<String>,
}

fn station_code(raw: &str) -> Result<StationCode, ApiError> {
    StationCode::parse(raw.trim()).map_err(|e| ApiError::field("station", e.to_string()))
}

#[utoipa::path(post, path = "/api/v1/pack/scan", tag = "floor", request_body = ScanBody,
    responses((status = 200, body = ScanDto, description = "what the scan did, wrong items and unknown codes included"),
        (status = 404, description = "no such station"), (status = 422)))]
pub async fn scan(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<ScanBody>,
) -> ApiResult<Json<ScanDto>> {
    auth.require(STOCK_KEEPERS)?;
    let station = station_code(&body.station)?;
    let pack = match body.pack.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Some(PackId::parse(p).map_err(|_| ApiError::field("pack", "is not a pack id"))?),
        None => None,
    };
    Ok(Json(s.app.floor().scan(&station, &body.code, pack.as_ref(), auth.actor()).await?.into()))
}

/// The query parameters of [`list_packs`].
#[derive(Deserialize, Default)]
pub struct PacksQuery {
    #[serde(default)]
    station: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/pack", tag = "floor",
    params(("station" = Option<String>, Query), ("status" = Option<String>, Query, description = "open, verified, packed or intercepted"),
        ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<PackDto>), (status = 422)))]
pub async fn list_packs(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PacksQuery>,
) -> ApiResult<Json<Vec<PackDto>>> {
    auth.require(READERS)?;
    let station = q.station.as_deref().filter(|s| !s.is_empty()).map(station_code).transpose()?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(st) => Some(PackStatus::parse(st).ok_or_else(|| {
            ApiError::field("status", format!("{st:?} is not a pack status (open, verified, packed, intercepted)"))
        })?),
        None => None,
    };
    let page = crate::routes::PageQuery { limit: q.limit, cursor: None };
    let packs = s.app.floor().pack_views(station.as_ref(), status, page.limit()?).await?;
    Ok(Json(packs.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/api/v1/pack/{id}", tag = "floor", params(("id" = String, Path)),
    responses((status = 200, body = PackDto), (status = 404)))]
pub async fn get_pack(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<PackDto>> {
    let id = PackId::from_path(&id)?;
    auth.require(READERS)?;
    Ok(Json(s.app.floor().pack_view(&id).await?.into()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct WeighBody {
    /// Typed by the packer (audited as manual). Leave it out to take the station's newest stable reading from
    /// its scale (bridge, browser) or a DWS reading for the parcel's waybill.
    #[serde(default)]
    pub weight_g: Option<i64>,
    #[serde(default)]
    pub length_cm: Option<i64>,
    #[serde(default)]
    pub width_cm: Option<i64>,
    #[serde(default)]
    pub height_cm: Option<i64>,
    /// `manual` (default when a weight is given) or `scale` when the browser read it from the scale itself.
    #[serde(default)]
    pub source: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/pack/{id}/weigh", tag = "floor", params(("id" = String, Path)), request_body = WeighBody,
    responses((status = 200, body = ScanDto, description = "passed, rerated, rebooked, intercepted, or why it could not be weighed"),
        (status = 404), (status = 409, description = "items still to scan, or already weighed"), (status = 422)))]
pub async fn weigh(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WeighBody>,
) -> ApiResult<Json<ScanDto>> {
    let id = PackId::from_path(&id)?;
    auth.require(STOCK_KEEPERS)?;
    Ok(Json(weigh_with(&s, &id, body, auth.actor()).await?.into()))
}

/// A weighing as the API and the console ask for it: typed, or from the station's devices.
pub async fn weigh_with(
    s: &AppState,
    id: &PackId,
    body: WeighBody,
    actor: codflow_domain::Actor,
) -> Result<ScanOutcome, ApiError> {
    let floor = s.app.floor();
    let Some(weight) = body.weight_g else {
        return Ok(floor.weigh_from_devices(id, actor).await?);
    };
    let measure = Measure::parse(weight, [body.length_cm, body.width_cm, body.height_cm]).map_err(|e| match e {
        codflow_domain::Error::Invalid { what, message } => ApiError::field(what, message),
        other => ApiError::field("weight_g", other.to_string()),
    })?;
    let source = match body.source.as_deref().unwrap_or("manual") {
        "manual" => ReadingSource::Manual,
        "scale" => ReadingSource::Scale,
        other => return Err(ApiError::field("source", format!("{other:?} is not manual or scale"))),
    };
    Ok(floor.weigh(id, measure, source, actor).await?)
}

#[utoipa::path(post, path = "/api/v1/pack/{id}/override", tag = "floor", params(("id" = String, Path)),
    responses((status = 200, body = ScanDto), (status = 404), (status = 409)))]
pub async fn override_verification(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ScanDto>> {
    let id = PackId::from_path(&id)?;
    auth.require(OPERATORS)?;
    Ok(Json(s.app.floor().override_verification(&id, auth.actor()).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/pack/{id}/release", tag = "floor", params(("id" = String, Path)),
    responses((status = 200, body = ScanDto), (status = 404), (status = 409, description = "not held")))]
pub async fn release(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<ScanDto>> {
    let id = PackId::from_path(&id)?;
    auth.require(OPERATORS)?;
    Ok(Json(s.app.floor().release(&id, auth.actor()).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/pack/{id}/reprint", tag = "floor", params(("id" = String, Path)),
    responses((status = 200, body = ScanDto), (status = 404), (status = 409, description = "not packed")))]
pub async fn reprint(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<ScanDto>> {
    let id = PackId::from_path(&id)?;
    auth.require(STOCK_KEEPERS)?;
    Ok(Json(s.app.floor().reprint(&id).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct WaveOrderDto {
    pub order_id: String,
    pub order_ref: String,
    /// The sort slot of an order of several units; absent for single units, picked as one batch.
    pub slot: Option<i64>,
    pub units: i64,
    /// The order's pack status once it reached a station (open, verified, packed, intercepted).
    pub pack: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WaveDto {
    pub id: String,
    /// The pick ticket: scanned at the pack station it opens the wave's next parcel; `CODE-N` opens slot N.
    pub code: String,
    pub warehouse: String,
    pub channel: Option<String>,
    pub orders: Vec<WaveOrderDto>,
    pub packed: usize,
    pub held: usize,
    pub created_by: String,
    pub created_at: String,
}

impl From<WaveView> for WaveDto {
    fn from(v: WaveView) -> Self {
        WaveDto {
            id: v.wave.id.to_string(),
            code: v.wave.code,
            warehouse: v.wave.warehouse.to_string(),
            channel: v.wave.channel.map(|c| c.to_string()),
            orders: v
                .orders
                .into_iter()
                .map(|o| WaveOrderDto {
                    order_id: o.order_id.to_string(),
                    order_ref: o.order_ref,
                    slot: o.slot,
                    units: o.units,
                    pack: o.pack.map(|p| p.as_str().into()),
                })
                .collect(),
            packed: v.packed,
            held: v.held,
            created_by: v.wave.created_by,
            created_at: rfc3339(v.wave.created_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaveBody {
    pub warehouse: String,
    /// Only orders allocated to this channel.
    #[serde(default)]
    pub channel: Option<String>,
    /// At most this many orders, oldest first (1 to 1000, default 200).
    #[serde(default)]
    pub limit: Option<i64>,
    /// `HH:MM`: only orders whose carrier's daily pickup (`carrier_cutoffs` in the floor rules) is at or
    /// before this time.
    #[serde(default)]
    pub cutoff: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/waves", tag = "floor", request_body = WaveBody,
    responses((status = 201, body = WaveDto), (status = 404, description = "no such warehouse"),
        (status = 409, description = "nothing waits for a wave"), (status = 422)))]
pub async fn create_wave(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<WaveBody>,
) -> ApiResult<(StatusCode, Json<WaveDto>)> {
    auth.require(STOCK_KEEPERS)?;
    let warehouse =
        WarehouseCode::parse(body.warehouse.trim()).map_err(|e| ApiError::field("warehouse", e.to_string()))?;
    let channel = match body.channel.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Some(ChannelCode::parse(c).map_err(|e| ApiError::field("channel", e.to_string()))?),
        None => None,
    };
    let cutoff = body.cutoff.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let v = s
        .app
        .floor()
        .create_wave(&warehouse, channel.as_ref(), cutoff, body.limit.unwrap_or(200), auth.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(v.into())))
}

#[utoipa::path(get, path = "/api/v1/waves", tag = "floor", responses((status = 200, body = Vec<WaveDto>)))]
pub async fn list_waves(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Vec<WaveDto>>> {
    auth.require(READERS)?;
    Ok(Json(s.app.floor().waves(50).await?.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/api/v1/waves/{id}", tag = "floor", params(("id" = String, Path)),
    responses((status = 200, body = WaveDto), (status = 404)))]
pub async fn get_wave(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<WaveDto>> {
    auth.require(READERS)?;
    let id = WaveId::from_path(&id)?;
    Ok(Json(s.app.floor().wave(&id).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/waves/{id}/pick-list", tag = "floor", params(("id" = String, Path)),
    responses((status = 200, description = "the pick list (PDF): by bin, single units added up, sorted orders by slot"), (status = 404)))]
pub async fn wave_pick_list(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<crate::routes::logistics::Download> {
    auth.require(READERS)?;
    let id = WaveId::from_path(&id)?;
    Ok(crate::routes::documents::file(s.app.floor().wave_pick_list(&id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct BagDto {
    pub id: String,
    /// On its label as Code 128; scanned at handover.
    pub code: String,
    pub warehouse: String,
    pub carrier: String,
    pub channel: String,
    pub country: String,
    /// open, closed or handed_over.
    pub status: String,
    pub handover_id: Option<String>,
    pub parcels: i64,
    pub weight_g: i64,
    pub created_at: String,
    pub closed_at: Option<String>,
    pub handed_at: Option<String>,
    /// The carrier's number for the bag, once its API took it.
    pub carrier_bag: Option<String>,
}

impl From<codflow_domain::floor::Bag> for BagDto {
    fn from(b: codflow_domain::floor::Bag) -> Self {
        BagDto {
            id: b.id.to_string(),
            code: b.code,
            warehouse: b.warehouse.to_string(),
            carrier: b.carrier,
            channel: b.channel.to_string(),
            country: b.country.to_string(),
            status: b.status.as_str().into(),
            handover_id: b.handover.map(|h| h.to_string()),
            parcels: b.parcels,
            weight_g: b.weight_g,
            created_at: rfc3339(b.created_at),
            closed_at: b.closed_at.map(rfc3339),
            handed_at: b.handed_at.map(rfc3339),
            carrier_bag: b.carrier_ref,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SortDto {
    /// ok, done, wrong or info.
    pub signal: String,
    /// bagged, new_bag, already_bagged, not_packed, unknown_code, handed_over, not_in_pickup.
    pub event: String,
    pub values: std::collections::BTreeMap<String, String>,
    pub message: String,
    pub bag: Option<BagDto>,
}

impl From<codflow_app::floor::SortOutcome> for SortDto {
    fn from(o: codflow_app::floor::SortOutcome) -> Self {
        SortDto {
            signal: serde_json::to_value(o.signal).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            event: o.event.into(),
            values: o.params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            message: o.message,
            bag: o.bag.map(Into::into),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// What the scanner read: a parcel (waybill, order, pack id) at sorting, a bag's code at handover.
    pub code: String,
}

#[utoipa::path(post, path = "/api/v1/bags/sort", tag = "floor", request_body = CodeBody,
    responses((status = 200, body = SortDto, description = "which bag the parcel went into, or why not"), (status = 422)))]
pub async fn sort(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<Json<SortDto>> {
    auth.require(STOCK_KEEPERS)?;
    Ok(Json(s.app.floor().sort(&body.code, auth.actor()).await?.into()))
}

/// The query parameters of [`list_bags`].
#[derive(Deserialize, Default)]
pub struct BagsQuery {
    #[serde(default)]
    status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/bags", tag = "floor",
    params(("status" = Option<String>, Query, description = "open, closed or handed_over")),
    responses((status = 200, body = Vec<BagDto>), (status = 422)))]
pub async fn list_bags(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<BagsQuery>,
) -> ApiResult<Json<Vec<BagDto>>> {
    auth.require(READERS)?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(st) => Some(codflow_domain::floor::BagStatus::parse(st).ok_or_else(|| {
            ApiError::field("status", format!("{st:?} is not a bag status (open, closed, handed_over)"))
        })?),
        None => None,
    };
    Ok(Json(s.app.floor().bags(status, 200).await?.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/api/v1/bags/{id}", tag = "floor", params(("id" = String, Path)),
    responses((status = 200, body = BagDto), (status = 404)))]
pub async fn get_bag(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<BagDto>> {
    auth.require(READERS)?;
    let id = codflow_domain::BagId::from_path(&id)?;
    Ok(Json(s.app.floor().bag(&id).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/bags/{id}/close", tag = "floor", params(("id" = String, Path)),
    responses((status = 200, body = BagDto), (status = 404), (status = 409, description = "not open")))]
pub async fn close_bag(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<BagDto>> {
    auth.require(STOCK_KEEPERS)?;
    let id = codflow_domain::BagId::from_path(&id)?;
    Ok(Json(s.app.floor().close_bag(&id, auth.actor()).await?.into()))
}

/// The query parameters of the bag's and the manifest's documents.
#[derive(Deserialize, Default)]
pub struct FormatQuery {
    #[serde(default)]
    format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/bags/{id}/label", tag = "floor",
    params(("id" = String, Path), ("format" = Option<String>, Query, description = "zpl (the 4x6 bag label, default) or pdf (the bagging list)")),
    responses((status = 200, description = "the bag label or bagging list"), (status = 404), (status = 422)))]
pub async fn bag_label(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<FormatQuery>,
) -> ApiResult<crate::routes::logistics::Download> {
    auth.require(READERS)?;
    let id = codflow_domain::BagId::from_path(&id)?;
    let pdf = match q.format.as_deref().unwrap_or("zpl") {
        "zpl" => false,
        "pdf" => true,
        other => return Err(ApiError::field("format", format!("{other:?} is not zpl or pdf"))),
    };
    Ok(crate::routes::documents::file(s.app.floor().bag_document(&id, pdf).await?))
}

#[derive(Serialize, ToSchema)]
pub struct HandoverDto {
    pub id: String,
    pub carrier: String,
    pub bags: Vec<BagDto>,
    pub parcels: i64,
    /// Bags scanned onto the vehicle so far.
    pub handed_over: usize,
    pub created_by: String,
    pub created_at: String,
    /// Whether the carrier takes bags and manifests through its API (else the PDF manifest travels with the
    /// driver).
    pub carrier_api: bool,
    /// The carrier's manifest number, once its API took the pickup.
    pub carrier_manifest: Option<String>,
    /// Why sending to the carrier's API failed; `POST /api/v1/handovers/{id}/send` tries again.
    pub carrier_error: Option<String>,
}

impl From<codflow_app::floor::HandoverView> for HandoverDto {
    fn from(h: codflow_app::floor::HandoverView) -> Self {
        HandoverDto {
            id: h.id.to_string(),
            carrier: h.carrier,
            parcels: h.bags.iter().map(|b| b.parcels).sum(),
            handed_over: h.bags.iter().filter(|b| b.status == codflow_domain::floor::BagStatus::HandedOver).count(),
            bags: h.bags.into_iter().map(Into::into).collect(),
            created_by: h.created_by,
            created_at: rfc3339(h.created_at),
            carrier_api: h.carrier_api,
            carrier_manifest: h.carrier_ref,
            carrier_error: h.carrier_error,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverBody {
    /// The carrier collecting (as its channels name it): every closed bag of it not yet in a pickup.
    pub carrier: String,
}

#[utoipa::path(post, path = "/api/v1/handovers", tag = "floor", request_body = HandoverBody,
    responses((status = 201, body = HandoverDto), (status = 409, description = "no closed bag waits"), (status = 422)))]
pub async fn create_handover(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<HandoverBody>,
) -> ApiResult<(StatusCode, Json<HandoverDto>)> {
    auth.require(STOCK_KEEPERS)?;
    Ok((StatusCode::CREATED, Json(s.app.floor().create_handover(&body.carrier, auth.actor()).await?.into())))
}

#[utoipa::path(get, path = "/api/v1/handovers/{id}", tag = "floor", params(("id" = String, Path)),
    responses((status = 200, body = HandoverDto), (status = 404)))]
pub async fn get_handover(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<HandoverDto>> {
    auth.require(READERS)?;
    let id = codflow_domain::HandoverId::from_path(&id)?;
    Ok(Json(s.app.floor().handover(&id).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/handovers/{id}/send", tag = "floor", params(("id" = String, Path)),
    responses((status = 200, body = HandoverDto, description = "sent (carrier_manifest), or not again (carrier_error says why)"),
        (status = 404), (status = 409, description = "no_carrier_api: the carrier takes no manifests through its API")))]
pub async fn send_manifest(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<HandoverDto>> {
    auth.require(STOCK_KEEPERS)?;
    let id = codflow_domain::HandoverId::from_path(&id)?;
    Ok(Json(s.app.floor().send_manifest(&id, auth.actor()).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/handovers/{id}/scan", tag = "floor", params(("id" = String, Path)), request_body = CodeBody,
    responses((status = 200, body = SortDto), (status = 404)))]
pub async fn handover_scan(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<Json<SortDto>> {
    auth.require(STOCK_KEEPERS)?;
    let id = codflow_domain::HandoverId::from_path(&id)?;
    Ok(Json(s.app.floor().hand_over(&id, &body.code, auth.actor()).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/handovers/{id}/manifest", tag = "floor",
    params(("id" = String, Path), ("format" = Option<String>, Query, description = "pdf (default) or csv")),
    responses((status = 200, description = "the manifest"), (status = 404), (status = 422)))]
pub async fn manifest(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<FormatQuery>,
) -> ApiResult<crate::routes::logistics::Download> {
    auth.require(READERS)?;
    let id = codflow_domain::HandoverId::from_path(&id)?;
    let csv = match q.format.as_deref().unwrap_or("pdf") {
        "pdf" => false,
        "csv" => true,
        other => return Err(ApiError::field("format", format!("{other:?} is not pdf or csv"))),
    };
    Ok(crate::routes::documents::file(s.app.floor().manifest_document(&id, csv).await?))
}

#[derive(Serialize, ToSchema)]
pub struct StationHourDto {
    pub station: String,
    /// Hour of the day (UTC), 0–23.
    pub hour: u8,
    pub parcels: i64,
}

#[derive(Serialize, ToSchema)]
pub struct FloorStatsDto {
    pub date: String,
    pub per_station_hour: Vec<StationHourDto>,
    /// passed, rerated, rebooked, intercepted, released → parcels.
    pub outcomes: std::collections::BTreeMap<String, i64>,
    /// heavier, lighter, no_channel, rebook_failed → parcels held (still held or released since).
    pub held_by_cause: std::collections::BTreeMap<String, i64>,
    pub moved: i64,
    /// What moving parcels saved against their booked channel at the measured weight, in the base currency.
    pub rerate_savings: crate::dto::MoneyDto,
    pub bags_open: i64,
    pub bags_awaiting_pickup: i64,
    pub parcels_awaiting_pickup: i64,
}

/// The query parameters of [`floor_stats`].
#[derive(Deserialize, Default)]
pub struct StatsQuery {
    #[serde(default)]
    date: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/floor/stats", tag = "floor",
    params(("date" = Option<String>, Query, description = "YYYY-MM-DD (UTC day); today by default")),
    responses((status = 200, body = FloorStatsDto), (status = 422)))]
pub async fn floor_stats(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<FloorStatsDto>> {
    auth.require(READERS)?;
    let day = match q.date.as_deref().filter(|d| !d.is_empty()) {
        None => s.app.clock().now().date(),
        Some(d) => time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| ApiError::field("date", format!("{d:?} is not a day (YYYY-MM-DD)")))?,
    };
    let from = day.midnight().assume_utc();
    let st = s.app.floor().stats(from, from + time::Duration::days(1)).await?;
    let base = s.app.review().base_currency().await?;
    Ok(Json(FloorStatsDto {
        date: day.to_string(),
        per_station_hour: st
            .per_station_hour
            .iter()
            .map(|((station, hour), n)| StationHourDto { station: station.clone(), hour: *hour, parcels: *n })
            .collect(),
        outcomes: st.outcomes.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        held_by_cause: st.held_by_cause.clone(),
        moved: st.moved,
        rerate_savings: codflow_domain::Money::new(st.rerate_savings_minor, base).into(),
        bags_open: st.bags_open,
        bags_awaiting_pickup: st.bags_awaiting_pickup,
        parcels_awaiting_pickup: st.parcels_awaiting_pickup,
    }))
}
