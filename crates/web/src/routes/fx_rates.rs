//! Exchange rates: listed, set one by one, imported from a file.

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use codflow_domain::{FxRate, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::Page;
use crate::extract::{ApiJson, Auth, READERS, Upload};
use crate::routes::imports::multipart_error;
use crate::routes::statements::LineErrorDto;
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/fx-rates", get(fx_rates).put(put_fx_rate))
}

/// The upload routes of this resource, under `/api/v1` with the larger body limit.
pub fn uploads() -> Router<Arc<AppState>> {
    Router::new().route("/fx-rates/import", post(import_fx_rates))
}

#[utoipa::path(get, path = "/api/v1/fx-rates", tag = "review", responses((status = 200, body = Page<FxRateDto>), (status = 401)))]
pub async fn fx_rates(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Page<FxRateDto>>> {
    auth.require(READERS)?;
    Ok(Json(Page::whole(s.app.review().fx_rates().await?.into_iter().map(Into::into).collect())))
}

#[utoipa::path(put, path = "/api/v1/fx-rates", tag = "review", request_body = FxRateDto, responses((status = 200, body = FxRateDto)))]
pub async fn put_fx_rate(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<FxRateDto>,
) -> ApiResult<Json<FxRateDto>> {
    auth.require(&[codflow_domain::Role::Finance, codflow_domain::Role::Ops])?;
    let r = s.app.review().put_fx_rate_text(&b.from, b.to.as_deref(), &b.rate, &b.as_of, &b.source).await?;
    Ok(Json(r.into()))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FxRateDto {
    pub from: String,
    /// The base currency when absent.
    pub to: Option<String>,
    #[schema(example = "0.2666")]
    pub rate: String,
    #[schema(example = "2026-11-20")]
    pub as_of: String,
    pub source: String,
}

/// An exchange-rate file (multipart/form-data).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RatesUpload {
    /// CSV with columns `from,to,as_of,rate[,source]`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[derive(Serialize, ToSchema)]
pub struct FxImportDto {
    pub imported: usize,
    /// Lines refused, with line and field; the other lines were imported.
    pub errors: Vec<LineErrorDto>,
}

/// Imports exchange rates from a CSV file (multipart field `file`; columns `from,to,as_of,rate[,source]`).
/// A pair's rate for a day is replaced, so importing the same file twice changes nothing.
#[utoipa::path(post, path = "/api/v1/fx-rates/import", tag = "finance",
    request_body(content = RatesUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = FxImportDto), (status = 422, description = "no rate could be read"), (status = 413)))]
pub async fn import_fx_rates(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Upload(mut form): Upload,
) -> ApiResult<Json<FxImportDto>> {
    auth.require(&[Role::Finance, Role::Ops])?;
    let mut file = None;
    let mut file_name = String::new();
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        if field.name() == Some("file") {
            file_name = field.file_name().unwrap_or("rates.csv").to_owned();
            file = Some(field.bytes().await.map_err(multipart_error)?);
        }
    }
    let file = file.ok_or_else(|| ApiError::field("file", "send the rates as the multipart field named file"))?;
    let r = s.app.finance().import_fx_rates(&file, &file_name, auth.actor()).await?;
    let errors = r.errors.into_iter().map(Into::into).collect();
    Ok(Json(FxImportDto { imported: r.imported, errors }))
}

impl From<FxRate> for FxRateDto {
    fn from(r: FxRate) -> Self {
        FxRateDto {
            from: r.from.to_string(),
            to: Some(r.to.to_string()),
            rate: r.rate.to_string(),
            as_of: r.as_of.to_string(),
            source: r.source,
        }
    }
}
