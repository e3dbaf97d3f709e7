use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use codflow_app::import::{ImportOptions, ImportReport};
use codflow_domain::FieldErrors;
use serde::Serialize;
use utoipa::ToSchema;

use crate::extract::{Auth, OPERATORS, Upload};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The upload routes of this resource, under `/api/v1` with the larger body limit.
pub fn uploads() -> Router<Arc<AppState>> {
    Router::new().route("/imports/orders", post(orders))
}

pub(crate) fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge
    } else {
        let mut f = FieldErrors::default();
        f.push("file", e.body_text());
        ApiError::Invalid(f)
    }
}

/// An order file upload (multipart/form-data).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct OrdersUpload {
    /// CSV, one row per order line, with the header `external_id,placed_at,currency,payment_method,buyer_name,
    /// buyer_phone,buyer_email,line1,line2,city,region,postal_code,country,sku,quantity,unit_price,shipping_fee`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The store the orders belong to (default `manual`).
    store: Option<String>,
}

impl From<ImportReport> for ImportReportDto {
    fn from(r: ImportReport) -> Self {
        ImportReportDto {
            orders_in_file: r.orders_in_file,
            created: r.created,
            already_present: r.already_present,
            rejected: r.rejected,
            allocated: r.allocated,
            backordered: r.backordered,
            errors: r
                .errors
                .into_iter()
                .map(|e| RowErrorDto { line: e.line, external_id: e.external_id, field: e.field, message: e.message })
                .collect(),
        }
    }
}

/// Imports an order CSV sent as multipart/form-data (`file`, and optionally `store`). Rows in error are
/// reported in the body; the good orders of the file are imported regardless.
#[utoipa::path(post, path = "/api/v1/imports/orders", tag = "imports",
    request_body(content = OrdersUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = ImportReportDto), (status = 422, description = "the header is wrong or no file was sent"), (status = 413)))]
pub async fn orders(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Upload(mut form): Upload,
) -> ApiResult<Json<ImportReportDto>> {
    auth.require(OPERATORS)?;
    let mut file = None;
    let mut opts = ImportOptions::default();
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => file = Some(field.bytes().await.map_err(multipart_error)?),
            Some("store") => opts.store = field.text().await.map_err(multipart_error)?.trim().to_owned(),
            _ => {}
        }
    }
    let file = file.ok_or_else(|| {
        let mut f = FieldErrors::default();
        f.push("file", "send the CSV as the multipart field named file");
        ApiError::Invalid(f)
    })?;
    let report = s.app.intake().import_orders(std::io::Cursor::new(file), &opts, auth.actor(), &mut |_| {}).await?;
    s.metrics.order_outcome("imported", report.created);
    Ok(Json(report.into()))
}

#[derive(Serialize, ToSchema)]
pub struct RowErrorDto {
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    pub external_id: Option<String>,
    /// The CSV column at fault, or empty when the whole row or order is.
    pub field: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportReportDto {
    pub orders_in_file: u64,
    pub created: u64,
    pub already_present: u64,
    pub rejected: u64,
    pub allocated: u64,
    pub backordered: u64,
    pub errors: Vec<RowErrorDto>,
}
