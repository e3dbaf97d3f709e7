//! The seller's general settings (the base currency).

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiResult;
use crate::extract::{ApiJson, Auth, READERS};
use crate::state::AppState;

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/settings", get(settings).put(put_settings))
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "review", responses((status = 200, body = SettingsDto)))]
pub async fn settings(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<SettingsDto>> {
    auth.require(READERS)?;
    Ok(Json(SettingsDto { base_currency: s.app.review().base_currency().await?.to_string() }))
}

#[utoipa::path(put, path = "/api/v1/settings", tag = "review", request_body = SettingsDto, responses((status = 200, body = SettingsDto)))]
pub async fn put_settings(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<SettingsDto>,
) -> ApiResult<Json<SettingsDto>> {
    auth.require(&[])?;
    Ok(Json(SettingsDto { base_currency: s.app.review().set_base_currency(&b.base_currency).await?.to_string() }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsDto {
    pub base_currency: String,
}
