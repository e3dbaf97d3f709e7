use std::sync::Arc;

use crate::dto::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::openapi::ApiDoc;
use crate::state::AppState;
use crate::{ApiError, ApiResult};

#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)), security(()))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text format"),
        (status = 401, description = "no API token (any role) and not the metrics token (`--metrics-token`); `--metrics-listen` serves it without one on an address of its own")))]
pub async fn metrics(State(s): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    let metrics_token =
        s.edge.metrics_token.as_deref().is_some_and(|t| !t.is_empty() && crate::console::same(t, bearer));
    if !metrics_token && (bearer.is_empty() || s.app.admin().authenticate(bearer).await?.is_none()) {
        return Err(ApiError::Unauthorized);
    }
    Ok(open_metrics(State(s)).await)
}

/// `/metrics` without a token, for a listener of its own (`--metrics-listen`) that only the monitoring
/// network reaches.
pub async fn open_metrics(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render())
}

pub async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

const SWAGGER_JS: &str = include_str!("../../assets/swagger/swagger-ui-bundle.js");
const SWAGGER_CSS: &str = include_str!("../../assets/swagger/swagger-ui.css");

/// Swagger UI's start, served as a file so the page runs no inline script (see the content policy).
pub async fn swagger_init() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript")],
        "window.ui = SwaggerUIBundle({url: \"/api/openapi.json\", dom_id: \"#swagger-ui\"});",
    )
}

pub async fn docs() -> Html<&'static str> {
    Html(
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>codflow API v1</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css"></head><body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>"##,
    )
}

pub async fn swagger_js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript"), (header::CACHE_CONTROL, "public, max-age=86400")], SWAGGER_JS)
}

pub async fn swagger_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css"), (header::CACHE_CONTROL, "public, max-age=86400")], SWAGGER_CSS)
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
}
