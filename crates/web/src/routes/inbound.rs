//! Inbound goods over HTTP: purchase orders and ASNs (JSON and CSV), receiving by scan, put-away and closing a
//! receipt.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use codflow_app::floor::{AsnInput, InboundImport, LineInput, PoInput, PoSummary, PoView, Receipt, ReceiveOutcome};
use codflow_domain::inbound::{Asn, AsnLine, Condition, PoLine, PoStatus, PurchaseOrder};
use codflow_domain::{AsnId, Sku, WarehouseCode};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::{Page, rfc3339};
use crate::extract::{ApiJson, ApiQuery, Auth, OPERATORS, READERS, STOCK_KEEPERS, parse_json};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/purchase-orders", get(list_pos).post(create_po))
        .route("/purchase-orders/export", get(export_pos))
        .route("/purchase-orders/{id}", get(get_po))
        .route("/purchase-orders/{id}/cancel", post(cancel_po))
        .route("/purchase-orders/{id}/close", post(close_po))
        .route("/asns", get(list_asns).post(create_asn))
        .route("/asns/{id}", get(get_asn))
        .route("/asns/{id}/cancel", post(cancel_asn))
        .route("/asns/{id}/put-away", post(put_away))
        .route("/asns/{id}/close", post(close_receipt))
        .route("/receiving/scan", post(receive_scan))
}

/// The CSV uploads, under the larger body limit.
pub fn uploads() -> Router<Arc<AppState>> {
    Router::new().route("/purchase-orders/import", post(import_pos)).route("/asns/import", post(import_asns))
}

#[derive(Serialize, ToSchema)]
pub struct PoLineDto {
    pub sku: String,
    pub ordered: i64,
    /// Counted in good condition and stocked.
    pub received: i64,
    pub damaged: i64,
    pub outstanding: i64,
}

impl From<&PoLine> for PoLineDto {
    fn from(l: &PoLine) -> Self {
        PoLineDto {
            sku: l.sku.to_string(),
            ordered: l.ordered,
            received: l.received,
            damaged: l.damaged,
            outstanding: l.outstanding(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AsnLineDto {
    pub sku: String,
    /// Announced; 0 for an item that arrived without being announced.
    pub expected: i64,
    pub good: i64,
    pub damaged: i64,
    /// Where the good units were (or will be) put away.
    pub bin: Option<String>,
}

impl From<&AsnLine> for AsnLineDto {
    fn from(l: &AsnLine) -> Self {
        AsnLineDto {
            sku: l.sku.to_string(),
            expected: l.expected,
            good: l.good,
            damaged: l.damaged,
            bin: l.bin.as_ref().map(|b| b.as_str().to_owned()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AsnDto {
    pub id: String,
    pub reference: String,
    pub purchase_order: String,
    pub purchase_order_id: String,
    pub warehouse: String,
    /// expected, receiving, received or cancelled.
    pub status: String,
    pub tracking: Option<String>,
    pub expected_on: Option<String>,
    pub lines: Vec<AsnLineDto>,
    pub created_at: String,
    pub received_at: Option<String>,
}

impl From<Asn> for AsnDto {
    fn from(a: Asn) -> Self {
        AsnDto {
            id: a.id.to_string(),
            reference: a.reference.to_string(),
            purchase_order: a.po_number.to_string(),
            purchase_order_id: a.po.to_string(),
            warehouse: a.warehouse.to_string(),
            status: a.status.as_str().into(),
            tracking: a.tracking,
            expected_on: a.expected_on.map(|d| d.to_string()),
            lines: a.lines.iter().map(Into::into).collect(),
            created_at: rfc3339(a.created_at),
            received_at: a.received_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PoDto {
    pub id: String,
    pub number: String,
    pub supplier: String,
    pub warehouse: String,
    /// open, partly_received, received, closed or cancelled.
    pub status: String,
    pub expected_on: Option<String>,
    pub note: Option<String>,
    pub ordered: i64,
    pub received: i64,
    pub damaged: i64,
    /// Present on a single purchase order; lists carry the totals only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<PoLineDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asns: Option<Vec<AsnDto>>,
    pub created_at: String,
    pub updated_at: String,
}

fn po_dto(
    po: PurchaseOrder,
    totals: (i64, i64, i64),
    lines: Option<Vec<PoLineDto>>,
    asns: Option<Vec<AsnDto>>,
) -> PoDto {
    PoDto {
        id: po.id.to_string(),
        number: po.number.to_string(),
        supplier: po.supplier,
        warehouse: po.warehouse.to_string(),
        status: po.status.as_str().into(),
        expected_on: po.expected_on.map(|d| d.to_string()),
        note: po.note,
        ordered: totals.0,
        received: totals.1,
        damaged: totals.2,
        lines,
        asns,
        created_at: rfc3339(po.created_at),
        updated_at: rfc3339(po.updated_at),
    }
}

fn totals(lines: &[PoLine]) -> (i64, i64, i64) {
    lines.iter().fold((0, 0, 0), |t, l| (t.0 + l.ordered, t.1 + l.received, t.2 + l.damaged))
}

impl From<PurchaseOrder> for PoDto {
    fn from(po: PurchaseOrder) -> Self {
        let lines = po.lines.iter().map(Into::into).collect();
        let t = totals(&po.lines);
        po_dto(po, t, Some(lines), None)
    }
}

impl From<PoView> for PoDto {
    fn from(v: PoView) -> Self {
        let mut dto: PoDto = v.po.into();
        dto.asns = Some(v.asns.into_iter().map(Into::into).collect());
        dto
    }
}

impl From<PoSummary> for PoDto {
    fn from(s: PoSummary) -> Self {
        po_dto(s.po, (s.ordered, s.received, s.damaged), None, None)
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    pub sku: String,
    pub quantity: i64,
}

fn lines(body: Vec<LineBody>) -> Vec<LineInput> {
    body.into_iter().map(|l| LineInput { sku: l.sku, quantity: l.quantity }).collect()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoBody {
    pub number: String,
    pub supplier: String,
    /// The receiving warehouse's code.
    pub warehouse: String,
    /// YYYY-MM-DD
    #[serde(default)]
    pub expected_on: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    pub lines: Vec<LineBody>,
}

#[utoipa::path(post, path = "/api/v1/purchase-orders", tag = "inbound", request_body = PoBody,
    responses((status = 201, body = PoDto, description = "placed"), (status = 200, body = PoDto, description = "the same order sent again: as stored"),
        (status = 409, description = "purchase_order_exists: the number is taken by other content"), (status = 422)))]
pub async fn create_po(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<PoBody>,
) -> ApiResult<(StatusCode, Json<PoDto>)> {
    auth.require(OPERATORS)?;
    let input = PoInput {
        number: b.number,
        supplier: b.supplier,
        warehouse: b.warehouse,
        expected_on: b.expected_on,
        note: b.note,
        lines: lines(b.lines),
    };
    let (po, created) = s.app.floor().create_po(input, auth.actor()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(po.into())))
}

/// The query parameters of [`list_pos`].
#[derive(Deserialize, Default)]
pub struct PosQuery {
    #[serde(flatten)]
    page: crate::routes::PageQuery,
    #[serde(default)]
    status: Option<String>,
}

fn po_status(raw: Option<&str>) -> Result<Option<PoStatus>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => PoStatus::parse(s).map(Some).ok_or_else(|| {
            ApiError::field("status", format!("{s:?} is not open, partly_received, received, closed or cancelled"))
        }),
    }
}

#[utoipa::path(get, path = "/api/v1/purchase-orders", tag = "inbound",
    params(("status" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<PoDto>), (status = 422)))]
pub async fn list_pos(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PosQuery>,
) -> ApiResult<Json<Page<PoDto>>> {
    auth.require(READERS)?;
    let status = po_status(q.status.as_deref())?;
    let (items, next_cursor) = s.app.floor().pos(status, q.page.cursor(), q.page.limit()?).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/purchase-orders/export", tag = "inbound",
    responses((status = 200, content_type = "text/csv", description = "one row per purchase order line: ordered, received, damaged, outstanding")))]
pub async fn export_pos(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<crate::routes::logistics::Download> {
    auth.require(READERS)?;
    let csv = s.app.floor().pos_csv().await?;
    Ok(crate::routes::logistics::download("text/csv; charset=utf-8", "purchase-orders.csv", csv))
}

#[utoipa::path(get, path = "/api/v1/purchase-orders/{id}", tag = "inbound", params(("id" = String, Path, description = "its id or number")),
    responses((status = 200, body = PoDto, description = "with its lines and ASNs"), (status = 404)))]
pub async fn get_po(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<PoDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.floor().po_view(&id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/purchase-orders/{id}/cancel", tag = "inbound", params(("id" = String, Path)), request_body = ReasonBody,
    responses((status = 200, body = PoDto), (status = 404), (status = 409, description = "not_receivable: something has arrived; close it instead"), (status = 422)))]
pub async fn cancel_po(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> ApiResult<Json<PoDto>> {
    auth.require(OPERATORS)?;
    Ok(Json(s.app.floor().cancel_po(&id, &b.reason, auth.actor()).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/purchase-orders/{id}/close", tag = "inbound", params(("id" = String, Path)), request_body = ReasonBody,
    responses((status = 200, body = PoDto, description = "closed short: nothing more expected"), (status = 404), (status = 409), (status = 422)))]
pub async fn close_po(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> ApiResult<Json<PoDto>> {
    auth.require(OPERATORS)?;
    Ok(Json(s.app.floor().close_po(&id, &b.reason, auth.actor()).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct InboundLineErrorDto {
    pub line: u64,
    pub field: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct InboundImportDto {
    /// Numbers (or references) created by this file.
    pub created: Vec<String>,
    /// Already present with the same content: a replay changes nothing.
    pub unchanged: Vec<String>,
    /// Bad lines: their document did not land; the others did.
    pub errors: Vec<InboundLineErrorDto>,
}

impl From<InboundImport> for InboundImportDto {
    fn from(r: InboundImport) -> Self {
        InboundImportDto {
            created: r.created,
            unchanged: r.unchanged,
            errors: r
                .errors
                .into_iter()
                .map(|e| InboundLineErrorDto { line: e.line, field: e.field, message: e.message })
                .collect(),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/purchase-orders/import", tag = "inbound",
    request_body(content = String, content_type = "text/csv", description = "header `po_number,supplier,warehouse,expected_on,note,sku,quantity` (expected_on and note optional); rows with the same po_number form one order"),
    responses((status = 200, body = InboundImportDto), (status = 422, description = "the file itself is unreadable (header, encoding)")))]
pub async fn import_pos(State(s): State<Arc<AppState>>, auth: Auth, body: Bytes) -> ApiResult<Json<InboundImportDto>> {
    auth.require(OPERATORS)?;
    Ok(Json(s.app.floor().import_pos_csv(&body, auth.actor()).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/asns/import", tag = "inbound",
    request_body(content = String, content_type = "text/csv", description = "header `asn_reference,po_number,tracking,expected_on,sku,quantity` (tracking and expected_on optional)"),
    responses((status = 200, body = InboundImportDto), (status = 422)))]
pub async fn import_asns(State(s): State<Arc<AppState>>, auth: Auth, body: Bytes) -> ApiResult<Json<InboundImportDto>> {
    auth.require(STOCK_KEEPERS)?;
    Ok(Json(s.app.floor().import_asns_csv(&body, auth.actor()).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AsnBody {
    pub reference: String,
    /// The purchase order's number or id.
    pub purchase_order: String,
    #[serde(default)]
    pub tracking: Option<String>,
    /// YYYY-MM-DD
    #[serde(default)]
    pub expected_on: Option<String>,
    /// What this shipment carries; absent or empty: everything still outstanding on the purchase order.
    #[serde(default)]
    pub lines: Vec<LineBody>,
}

#[utoipa::path(post, path = "/api/v1/asns", tag = "inbound", request_body = AsnBody,
    responses((status = 201, body = AsnDto), (status = 200, body = AsnDto, description = "the same notice sent again"),
        (status = 409, description = "asn_exists, or not_receivable: the purchase order expects nothing more"), (status = 422)))]
pub async fn create_asn(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<AsnBody>,
) -> ApiResult<(StatusCode, Json<AsnDto>)> {
    auth.require(STOCK_KEEPERS)?;
    let input = AsnInput {
        reference: b.reference,
        purchase_order: b.purchase_order,
        tracking: b.tracking,
        expected_on: b.expected_on,
        lines: lines(b.lines),
    };
    let (asn, created) = s.app.floor().create_asn(input, auth.actor()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(asn.into())))
}

/// The query parameters of [`list_asns`].
#[derive(Deserialize, Default)]
pub struct AsnsQuery {
    #[serde(default)]
    warehouse: Option<String>,
}

fn warehouse(raw: Option<&str>) -> Result<Option<WarehouseCode>, ApiError> {
    raw.map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| WarehouseCode::parse(w).map_err(|e| ApiError::field("warehouse", e.to_string())))
        .transpose()
}

#[utoipa::path(get, path = "/api/v1/asns", tag = "inbound", params(("warehouse" = Option<String>, Query)),
    responses((status = 200, body = Vec<AsnDto>, description = "notices still to receive, oldest expected first (without lines)")))]
pub async fn list_asns(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<AsnsQuery>,
) -> ApiResult<Json<Vec<AsnDto>>> {
    auth.require(READERS)?;
    let w = warehouse(q.warehouse.as_deref())?;
    Ok(Json(s.app.floor().open_asns(w.as_ref(), 500).await?.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/api/v1/asns/{id}", tag = "inbound", params(("id" = String, Path, description = "its id or reference")),
    responses((status = 200, body = AsnDto), (status = 404)))]
pub async fn get_asn(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<AsnDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.floor().find_asn(&id).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/asns/{id}/cancel", tag = "inbound", params(("id" = String, Path)),
    responses((status = 200, body = AsnDto), (status = 404), (status = 409, description = "not_receivable: counts exist")))]
pub async fn cancel_asn(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<AsnDto>> {
    auth.require(STOCK_KEEPERS)?;
    Ok(Json(s.app.floor().cancel_asn(&id, auth.actor()).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveScanBody {
    /// What the scanner read: an ASN reference, a purchase order number, or a product's barcode or SKU.
    pub code: String,
    /// The notice the dock has open (products are counted into it).
    #[serde(default)]
    pub asn: Option<String>,
    /// The dock's warehouse: a notice of another warehouse is refused.
    #[serde(default)]
    pub warehouse: Option<String>,
    /// Units this scan counts (default 1); negative takes a count back.
    #[serde(default)]
    pub quantity: Option<i64>,
    /// good (default) or damaged.
    #[serde(default)]
    pub condition: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiveDto {
    /// ok, done, wrong or info: what the dock sounds.
    pub signal: String,
    /// A stable code: asn_opened, counted, counted_damaged, line_complete, over, unexpected, taken_back,
    /// cannot_take_back, unknown_code, scan_asn_first, already_received, not_receivable, other_warehouse,
    /// nothing_outstanding.
    pub event: String,
    pub values: BTreeMap<String, String>,
    pub message: String,
    pub asn: Option<AsnDto>,
}

impl From<ReceiveOutcome> for ReceiveDto {
    fn from(o: ReceiveOutcome) -> Self {
        ReceiveDto {
            signal: serde_json::to_value(o.signal).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            event: o.event.into(),
            values: o.params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            message: o.message,
            asn: o.asn.map(Into::into),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/receiving/scan", tag = "inbound", request_body = ReceiveScanBody,
    responses((status = 200, body = ReceiveDto, description = "what the scan did, unknown codes and over-counts included"), (status = 422)))]
pub async fn receive_scan(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<ReceiveScanBody>,
) -> ApiResult<Json<ReceiveDto>> {
    auth.require(STOCK_KEEPERS)?;
    let asn = match b.asn.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => Some(AsnId::parse(a).map_err(|_| ApiError::field("asn", "is not an ASN id"))?),
        None => None,
    };
    let w = warehouse(b.warehouse.as_deref())?;
    let condition = Condition::parse(b.condition.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::field("condition", e.to_string()))?;
    let out = s
        .app
        .floor()
        .receive_scan(w.as_ref(), asn.as_ref(), &b.code, b.quantity.unwrap_or(1), condition, auth.actor())
        .await?;
    Ok(Json(out.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutAwayBody {
    pub sku: String,
    pub bin: String,
}

#[utoipa::path(post, path = "/api/v1/asns/{id}/put-away", tag = "inbound", params(("id" = String, Path, description = "its id or reference")), request_body = PutAwayBody,
    responses((status = 200, body = AsnDto), (status = 404), (status = 409), (status = 422)))]
pub async fn put_away(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PutAwayBody>,
) -> ApiResult<Json<AsnDto>> {
    auth.require(STOCK_KEEPERS)?;
    let id = s.app.floor().find_asn(&id).await?.id;
    let sku = Sku::parse(b.sku.trim()).map_err(|e| ApiError::field("sku", e.to_string()))?;
    Ok(Json(s.app.floor().put_away(&id, &sku, &b.bin, auth.actor()).await?.into()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CloseReceiptBody {
    /// Bins by SKU for lines with good units not yet put away (else the SKU's own bin in the warehouse).
    #[serde(default)]
    pub bins: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptDto {
    pub asn: AsnDto,
    /// Good units added to stock.
    pub stocked: i64,
    pub discrepancies: Vec<ReceiptDiscrepancyDto>,
    /// The inbound_discrepancy task opened, when anything differs.
    pub task: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptDiscrepancyDto {
    /// short, over, damaged or unexpected.
    pub kind: String,
    pub sku: String,
    pub units: i64,
    pub message: String,
}

impl From<Receipt> for ReceiptDto {
    fn from(r: Receipt) -> Self {
        ReceiptDto {
            asn: r.asn.into(),
            stocked: r.stocked,
            discrepancies: r
                .discrepancies
                .iter()
                .map(|d| ReceiptDiscrepancyDto {
                    kind: d.kind().into(),
                    sku: d.sku().to_string(),
                    units: d.units(),
                    message: d.to_string(),
                })
                .collect(),
            task: r.task.map(|t| t.to_string()),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/asns/{id}/close", tag = "inbound", params(("id" = String, Path, description = "its id or reference")), request_body = CloseReceiptBody,
    responses((status = 200, body = ReceiptDto, description = "received: stock risen, the purchase order updated, differences in a task"),
        (status = 404), (status = 409, description = "nothing_counted, or not_receivable: already received or cancelled"),
        (status = 422, description = "a line with good units has no bin")))]
pub async fn close_receipt(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<ReceiptDto>> {
    auth.require(STOCK_KEEPERS)?;
    let b: CloseReceiptBody =
        if body.iter().all(u8::is_ascii_whitespace) { Default::default() } else { parse_json(&body)? };
    let id = s.app.floor().find_asn(&id).await?.id;
    Ok(Json(s.app.floor().close_receipt(&id, &b.bins, auth.actor()).await?.into()))
}
