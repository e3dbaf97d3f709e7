//! Labels, customs documents, picking lists and the seller settings they print.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use codflow_app::documents::{CustomsKind, Document, DocumentSettings, LabelFormat};
use codflow_domain::{Country, FieldErrors};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::{ApiJson, ApiQuery, Auth, OPERATORS, READERS};
use crate::routes::logistics::{Download, download};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/shipments/labels", post(labels))
        .route("/shipments/commercial-invoices", post(commercial_invoices))
        .route("/shipments/packing-lists", post(packing_lists))
        .route("/picking-lists", post(picking_list))
        .route("/settings/documents", get(settings).put(put_settings))
        .route("/shipments/{id}/label", get(label))
        .route("/shipments/{id}/commercial-invoice", get(commercial_invoice))
        .route("/shipments/{id}/packing-list", get(packing_list))
}

pub(crate) fn file(d: Document) -> Download {
    download(d.content_type, &d.filename, d.bytes)
}

#[derive(Deserialize, ToSchema)]
pub struct LabelBatch {
    pub shipments: Vec<String>,
    /// `zpl` (default) or `pdf`.
    #[serde(default)]
    pub format: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ShipmentSelection {
    pub shipments: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct OrderSelection {
    pub orders: Vec<String>,
}

/// The query parameters of [`label`].
#[derive(serde::Deserialize, Default)]
pub struct LabelQuery {
    #[serde(default)]
    format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/shipments/{id}/label", tag = "documents",
    params(("id" = String, Path), ("format" = Option<String>, Query, description = "zpl (203 dpi, default) or pdf, both 4x6 inches")),
    responses((status = 200, description = "the label"), (status = 409, description = "not booked"), (status = 422, description = "unknown format")))]
pub async fn label(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LabelQuery>,
) -> ApiResult<Download> {
    auth.require(READERS)?;
    let format = LabelFormat::parse(q.format.as_deref())?;
    Ok(file(s.app.fulfilment().labels(std::slice::from_ref(&id), format).await?))
}

#[utoipa::path(post, path = "/api/v1/shipments/labels", tag = "documents", request_body = LabelBatch,
    responses((status = 200, description = "one ZPL stream or one PDF (a page per label) for the selection, in its order"),
        (status = 409, description = "a shipment is not booked"), (status = 422)))]
pub async fn labels(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<LabelBatch>,
) -> ApiResult<Download> {
    auth.require(READERS)?;
    let format = LabelFormat::parse(body.format.as_deref())?;
    Ok(file(s.app.fulfilment().labels(&body.shipments, format).await?))
}

#[utoipa::path(get, path = "/api/v1/shipments/{id}/commercial-invoice", tag = "documents", params(("id" = String, Path)),
    responses((status = 200, description = "PDF"), (status = 409, description = "not booked")))]
pub async fn commercial_invoice(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Download> {
    auth.require(READERS)?;
    Ok(file(s.app.fulfilment().customs_documents(std::slice::from_ref(&id), CustomsKind::CommercialInvoice).await?))
}

#[utoipa::path(get, path = "/api/v1/shipments/{id}/packing-list", tag = "documents", params(("id" = String, Path)),
    responses((status = 200, description = "PDF"), (status = 409, description = "not booked")))]
pub async fn packing_list(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Download> {
    auth.require(READERS)?;
    Ok(file(s.app.fulfilment().customs_documents(std::slice::from_ref(&id), CustomsKind::PackingList).await?))
}

#[utoipa::path(post, path = "/api/v1/shipments/commercial-invoices", tag = "documents", request_body = ShipmentSelection,
    responses((status = 200, description = "one PDF, each invoice on its own pages"), (status = 409), (status = 422)))]
pub async fn commercial_invoices(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<ShipmentSelection>,
) -> ApiResult<Download> {
    auth.require(READERS)?;
    Ok(file(s.app.fulfilment().customs_documents(&body.shipments, CustomsKind::CommercialInvoice).await?))
}

#[utoipa::path(post, path = "/api/v1/shipments/packing-lists", tag = "documents", request_body = ShipmentSelection,
    responses((status = 200, description = "one PDF, each list on its own pages"), (status = 409), (status = 422)))]
pub async fn packing_lists(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<ShipmentSelection>,
) -> ApiResult<Download> {
    auth.require(READERS)?;
    Ok(file(s.app.fulfilment().customs_documents(&body.shipments, CustomsKind::PackingList).await?))
}

#[utoipa::path(post, path = "/api/v1/picking-lists", tag = "documents", request_body = OrderSelection,
    responses((status = 200, description = "PDF: a list per warehouse, lines by bin location then SKU"),
        (status = 409, description = "an order has no warehouse"), (status = 422)))]
pub async fn picking_list(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<OrderSelection>,
) -> ApiResult<Download> {
    auth.require(READERS)?;
    Ok(file(s.app.fulfilment().picking_list(&body.orders).await?))
}

/// The seller's identity on customs documents, and the public tracking address on labels.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DocumentSettingsDto {
    #[serde(default)]
    pub seller_name: String,
    /// Up to 4 lines.
    #[serde(default)]
    pub seller_address: Vec<String>,
    #[serde(default)]
    pub eori_number: Option<String>,
    /// Printed as the importer's number for EU destinations under DDP.
    #[serde(default)]
    pub ioss_number: Option<String>,
    /// The seller's VAT/GST registration per destination country, printed as the importer's number there.
    #[serde(default)]
    pub vat_numbers: BTreeMap<String, String>,
    #[serde(default)]
    pub public_base_url: String,
}

impl From<DocumentSettings> for DocumentSettingsDto {
    fn from(s: DocumentSettings) -> Self {
        DocumentSettingsDto {
            seller_name: s.seller_name,
            seller_address: s.seller_address,
            eori_number: s.eori_number,
            ioss_number: s.ioss_number,
            vat_numbers: s.vat_numbers.into_iter().map(|(c, n)| (c.to_string(), n)).collect(),
            public_base_url: s.public_base_url,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/settings/documents", tag = "documents", responses((status = 200, body = DocumentSettingsDto)))]
pub async fn settings(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<DocumentSettingsDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.fulfilment().document_settings().await?.into()))
}

#[utoipa::path(put, path = "/api/v1/settings/documents", tag = "documents", request_body = DocumentSettingsDto,
    responses((status = 200, body = DocumentSettingsDto), (status = 422)))]
pub async fn put_settings(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<DocumentSettingsDto>,
) -> ApiResult<Json<DocumentSettingsDto>> {
    auth.require(OPERATORS)?;
    let mut e = FieldErrors::default();
    let mut vat_numbers = BTreeMap::new();
    for (c, n) in body.vat_numbers {
        if let Some(c) = e.take(format!("vat_numbers.{c}"), Country::parse(&c)) {
            vat_numbers.insert(c, n);
        }
    }
    if !e.is_empty() {
        return Err(ApiError::Invalid(e));
    }
    let settings = DocumentSettings {
        seller_name: body.seller_name,
        seller_address: body.seller_address,
        eori_number: body.eori_number,
        ioss_number: body.ioss_number,
        vat_numbers,
        public_base_url: body.public_base_url,
    };
    let saved = s.app.fulfilment().set_document_settings(settings, auth.actor()).await?;
    Ok(Json(saved.into()))
}
