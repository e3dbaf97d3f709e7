use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use utoipa::OpenApi;

use crate::dto::Health;
use crate::openapi::ApiDoc;
use crate::state::AppState;

#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render())
}

pub async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

const SWAGGER_JS: &str = include_str!("../../assets/swagger/swagger-ui-bundle.js");
const SWAGGER_CSS: &str = include_str!("../../assets/swagger/swagger-ui.css");

pub async fn docs() -> Html<&'static str> {
    Html(
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>codflow API v1</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css"></head><body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui"});</script></body></html>"##,
    )
}

pub async fn swagger_js() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript"), (header::CACHE_CONTROL, "public, max-age=86400")], SWAGGER_JS)
}

pub async fn swagger_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css"), (header::CACHE_CONTROL, "public, max-age=86400")], SWAGGER_CSS)
}
