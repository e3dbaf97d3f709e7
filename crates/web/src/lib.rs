//! The HTTP edge: REST API v1, OpenAPI and Swagger UI, health and metrics. Wire types live here and
//! convert into the domain's; every failure leaves as problem+json through `ApiError`.

pub mod console;
pub mod dto;
pub mod error;
pub mod extract;
pub mod logistics_dto;
pub mod metrics;
pub mod openapi;
pub mod review_dto;
pub mod routes;
pub mod state;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use codflow_app::App;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use error::{ApiError, ApiResult};
pub use state::{AppState, Edge};

use routes::{
    access, catalogue, channel_sync, dashboards, documents, finance, imports, logistics, orders, profit, public,
    review, stores, system, tracking,
};

/// JSON bodies beyond this are refused with 413 before they are parsed.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// CSV imports are larger by nature.
pub const IMPORT_LIMIT: usize = 256 * 1024 * 1024;

#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&format!("req_{}", codflow_domain::ids::new_id_body())).ok().map(RequestId::new)
    }
}

async fn observe(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let resp = next.run(req).await;
    s.metrics.observe_request(&method, &route, resp.status().as_u16(), started.elapsed());
    resp
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

/// Every error leaves as problem+json: what the framework refuses before a handler runs (a path or query
/// that does not decode, a method the route does not take, a bad multipart body) comes as plain text or
/// nothing, and is rewritten here with its status kept.
async fn problems_only(req: Request, next: Next) -> Response {
    use axum::http::header::{ALLOW, CONTENT_TYPE};
    use axum::response::IntoResponse;
    let method = req.method().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let ct = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ["application/problem+json", "application/json", "text/html"].iter().any(|t| ct.starts_with(t)) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text =
        axum::body::to_bytes(body, 2048).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let err = if status.is_server_error() {
        ApiError::Internal(text)
    } else {
        let detail = match (status.as_u16(), text.trim()) {
            (405, _) => format!("this path does not take {method}"),
            (_, "") => status.canonical_reason().unwrap_or("bad request").to_lowercase(),
            (_, t) => t.chars().take(500).collect(),
        };
        ApiError::Rejected { status, detail }
    };
    let mut out = err.into_response();
    if let Some(allow) = parts.headers.get(ALLOW) {
        out.headers_mut().insert(ALLOW, allow.clone());
    }
    out
}

/// Whether percent-encoded text spells a control character other than tab, line feed or carriage return.
fn encodes_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3).any(|w| {
        w[0] == b'%'
            && match (w[1], w[2].to_ascii_lowercase()) {
                (b'0', c) => !matches!(c, b'9' | b'a' | b'd') && c.is_ascii_hexdigit(),
                (b'1', c) => c.is_ascii_hexdigit(),
                (b'7', b'f') => true,
                _ => false,
            }
    })
}

/// The name of the first `name=value` pair of a query or form whose name or value encodes a control
/// character.
fn control_in_pairs(pairs: &str) -> Option<String> {
    pairs.split('&').find(|p| encodes_control(p)).map(|p| {
        let name = p.split('=').next().unwrap_or("");
        if encodes_control(name) { "(a parameter's name)".to_owned() } else { name.chars().take(60).collect() }
    })
}

/// Control characters in a path, a query or a form are refused before any handler runs, the same on both
/// engines (see `extract::parse_json` for JSON bodies).
async fn refuse_control_characters(req: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    let refuse = |path: String| {
        let mut f = codflow_domain::FieldErrors::default();
        f.push(path, "holds a control character");
        ApiError::Invalid(f).into_response()
    };
    if encodes_control(req.uri().path()) {
        return refuse("path".into());
    }
    if let Some(name) = req.uri().query().and_then(control_in_pairs) {
        return refuse(format!("query.{name}"));
    }
    let form = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return ApiError::TooLarge.into_response();
    };
    if let Some(name) = std::str::from_utf8(&bytes).ok().and_then(control_in_pairs) {
        return refuse(name);
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

/// The layers every route sits behind: control characters refused, every error made problem+json, a
/// panic answered as a 500.
fn hardened<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes
        .layer(middleware::from_fn(refuse_control_characters))
        .layer(middleware::from_fn(problems_only))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
}

/// A panic in a handler is a bug: it is logged and answered as any internal error, never as a dropped
/// connection.
fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    use axum::response::IntoResponse;
    let what = cause
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| cause.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    ApiError::Internal(format!("handler panicked: {what}")).into_response()
}

pub fn router(app: App) -> Router {
    router_with(app, Edge::default())
}

pub fn router_with(app: App, edge: Edge) -> Router {
    routes_with(Arc::new(AppState { app, metrics: Default::default(), edge }))
}

/// `/metrics` alone and without a token, over the same counters, for a listener of its own.
fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new().route("/metrics", get(system::open_metrics)).with_state(state)
}

fn routes_with(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/orders", post(orders::create).get(orders::list))
        .route("/orders/{id}", get(orders::get))
        .route("/orders/{id}/history", get(orders::history))
        .route("/orders/{id}/approve", post(orders::approve))
        .route("/orders/{id}/hold", post(orders::hold))
        .route("/orders/{id}/cancel", post(orders::cancel))
        .route("/warehouses", post(catalogue::create_warehouse).get(catalogue::list_warehouses))
        .route("/products", post(catalogue::create_product).get(catalogue::list_products))
        .route("/products/{sku}", get(catalogue::get_product).put(catalogue::put_product))
        .route("/stock/{warehouse_code}/{sku}", get(catalogue::get_stock).put(catalogue::put_stock))
        .route("/stock/{warehouse_code}/{sku}/history", get(catalogue::stock_history))
        .route("/orders/{id}/outcome", post(review::outcome))
        .route("/rules", get(review::list_rules).post(review::create_rule))
        .route("/rules/validate", post(review::validate_rule))
        .route("/rules/fields", get(review::fields))
        .route("/rules/templates", get(review::rule_templates))
        .route("/rules/templates/{key}", post(review::from_template))
        .route("/rules/export", get(review::export_rules))
        .route("/rules/import", post(review::import_rules))
        .route("/rules/versions", get(review::versions))
        .route("/rules/versions/{version}", get(review::version))
        .route("/rules/backtest", post(review::backtest))
        .route("/rules/{id}", get(review::get_rule).put(review::update_rule).delete(review::delete_rule))
        .route("/lists", get(review::lists).post(review::create_list))
        .route("/lists/{name}", delete(review::delete_list))
        .route("/lists/{name}/entries", get(review::entries).post(review::add_entries))
        .route("/lists/{name}/entries/{value}", delete(review::remove_entry))
        .route("/lists/{name}/export", get(review::export_entries))
        .route("/review-queue", get(review::queue))
        .route("/review-queue/approve", post(review::approve_many))
        .route("/review-queue/cancel", post(review::cancel_many))
        .route("/settings", get(review::settings).put(review::put_settings))
        .route("/fx-rates", get(review::fx_rates).put(review::put_fx_rate))
        .route("/notifications", get(review::notifications))
        .route("/notifications/{id}/retry", post(review::retry_notification))
        .route("/notification-templates", get(review::notification_templates))
        .route("/channels", get(logistics::list_channels).post(logistics::create_channel))
        .route("/channels/export", get(logistics::export_channels))
        .route(
            "/channels/{code}",
            get(logistics::get_channel).put(logistics::put_channel).delete(logistics::delete_channel),
        )
        .route("/duty-rules", get(logistics::duty_rules).put(logistics::put_duty_rule))
        .route("/duty-rules/{country}/{effective_from}", delete(logistics::delete_duty_rule))
        .route("/rates", post(logistics::rates))
        .route("/rates/{channel}/carrier", post(logistics::carrier_rate))
        .route("/settings/logistics", get(logistics::logistics_settings).put(logistics::put_logistics_settings))
        .route("/orders/{id}/book", post(logistics::book_order))
        .route("/orders/{id}/shipments", get(logistics::order_shipments))
        .route("/shipments", get(logistics::list_shipments))
        .route("/shipments/book", post(logistics::book_many))
        .route("/shipments/labels", post(documents::labels))
        .route("/shipments/commercial-invoices", post(documents::commercial_invoices))
        .route("/shipments/packing-lists", post(documents::packing_lists))
        .route("/picking-lists", post(documents::picking_list))
        .route("/settings/documents", get(documents::settings).put(documents::put_settings))
        .route("/shipments/{id}", get(logistics::get_shipment))
        .route("/shipments/{id}/cancel", post(logistics::cancel_shipment))
        .route("/shipments/{id}/retry", post(logistics::retry_shipment))
        .route("/shipments/{id}/label", get(documents::label))
        .route("/shipments/{id}/commercial-invoice", get(documents::commercial_invoice))
        .route("/shipments/{id}/packing-list", get(documents::packing_list))
        .route("/notification-templates/{name}/{language}", put(review::put_notification_template))
        .route("/shipments/{id}/tracking", get(tracking::shipment_tracking))
        .route("/tracking/events", post(tracking::post_events))
        .route("/tracking/shipments", get(tracking::tracked_shipments))
        .route("/tracking/mappings", get(tracking::mappings))
        .route("/tracking/mappings/{carrier}/{code}", put(tracking::put_mapping).delete(tracking::delete_mapping))
        .route("/tracking/unmapped", get(tracking::unmapped))
        .route("/tracking/thresholds", get(tracking::thresholds).put(tracking::put_thresholds))
        .route("/tracking/sweep", post(tracking::sweep))
        .route("/settings/tracking", get(tracking::tracking_settings).put(tracking::put_tracking_settings))
        .route("/tracking/poll", post(tracking::poll))
        .route("/tasks", get(tracking::list_tasks))
        .route("/tasks/{id}", get(tracking::get_task).patch(tracking::patch_task))
        .route("/tasks/{id}/notes", post(tracking::add_note))
        .route("/webhooks/carriers/{carrier}", post(tracking::carrier_webhook))
        .route("/stores", get(stores::list).post(stores::create))
        .route("/stores/{code}", get(stores::get).put(stores::put))
        .route("/stores/{code}/sync", get(channel_sync::status).post(channel_sync::pull))
        .route("/stores/{code}/inbox", get(channel_sync::inbox))
        .route("/stores/stock-push", post(channel_sync::push_stock))
        .route("/inbox/process", post(channel_sync::process))
        .route("/inbox/{id}", get(channel_sync::get_delivery))
        .route("/inbox/{id}/retry", post(channel_sync::retry))
        .route("/webhooks/shopify/{store_code}", post(channel_sync::shopify))
        .route("/webhooks/woocommerce/{store_code}", post(channel_sync::woocommerce))
        .route("/channel-pushes", get(stores::pushes))
        .route("/channel-pushes/{id}/retry", post(stores::retry))
        .route("/settlement-profiles", get(finance::profiles))
        .route(
            "/settlement-profiles/{name}",
            get(finance::profile).put(finance::put_profile).delete(finance::delete_profile),
        )
        .route("/statements", get(finance::list))
        .route("/statements/{id}", get(finance::get))
        .route("/statements/{id}/lines", get(finance::lines))
        .route("/statements/{id}/lines/{line}/dispute", get(finance::dispute))
        .route("/statements/{id}/disputes", get(finance::disputes))
        .route("/ledger/balances", get(finance::balances))
        .route("/finance/aging", get(finance::aging))
        .route("/finance/tolerances", get(finance::tolerances).put(finance::put_tolerances))
        .route("/finance/profit", get(profit::report))
        .route("/dashboards/sums", get(dashboards::sums))
        .route("/dashboards/clearance", get(dashboards::clearance))
        .route("/dashboards/scorecard", get(dashboards::scorecard))
        .route("/dashboards/refresh", post(dashboards::refresh))
        .route("/recommendations", get(dashboards::recommendations))
        .route("/recommendations/act", post(dashboards::act))
        .route("/settings/scorecard", get(dashboards::weights).put(dashboards::put_weights))
        .route("/settings/recommendations", get(dashboards::thresholds).put(dashboards::put_thresholds))
        .route("/finance/profit/orders", get(profit::orders_csv))
        .route("/finance/first-leg", get(profit::first_leg).put(profit::put_first_leg))
        .route("/finance/forecast", get(profit::forecast))
        .route("/statements/{id}/paid", put(profit::put_paid))
        .route("/orders/{id}/profit", get(profit::order_profit))
        .route("/shipments/{id}/ledger", get(finance::shipment_ledger))
        .route("/tokens", get(access::tokens))
        .route("/tokens/{id}", delete(access::revoke))
        .route("/users", get(access::users))
        .route("/users/{username}/disable", post(access::disable))
        .route("/users/{username}/enable", post(access::enable))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .merge(
            Router::new()
                .route("/imports/orders", post(imports::orders))
                .route("/statements", post(finance::import))
                .route("/fx-rates/import", post(finance::import_fx_rates))
                .route("/lists/{name}/import", post(review::import_entries))
                .route("/channels/import", post(logistics::import_channels))
                .layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        );
    let routes = Router::new()
        .nest("/api/v1", api)
        .route("/track/{tracking_number}", get(public::track))
        .route("/ndr/{token}", get(public::ndr_form).post(public::ndr_submit))
        .route("/healthz", get(system::healthz))
        .route("/metrics", get(system::metrics))
        .route("/api/openapi.json", get(system::openapi))
        .route("/api/docs", get(system::docs))
        .route("/api/docs/swagger-ui-bundle.js", get(system::swagger_js))
        .route("/api/docs/swagger-ui.css", get(system::swagger_css))
        .route("/api/docs/init.js", get(system::swagger_init))
        .merge(console::routes())
        .fallback(not_found);
    hardened(routes)
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(NewRequestId))
        .with_state(state)
}

/// Serves until the process is asked to stop (Ctrl-C or SIGTERM), finishing requests in flight.
pub async fn serve(listener: tokio::net::TcpListener, app: App) -> std::io::Result<()> {
    serve_with(listener, app, Edge::default(), None).await
}

/// As [`serve`], meeting the outside as `edge` says, and serving `/metrics` without a token on
/// `metrics` when given.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: App,
    edge: Edge,
    metrics: Option<tokio::net::TcpListener>,
) -> std::io::Result<()> {
    let state = Arc::new(AppState { app, metrics: Default::default(), edge });
    if let Some(m) = metrics {
        let router = metrics_router(state.clone());
        tokio::spawn(async move { axum::serve(m, router).with_graceful_shutdown(shutdown()).await });
    }
    let service = routes_with(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown()).await
}

/// What every response carries: no sniffing, no framing, no referrer (signed buyer links live in paths),
/// and a content policy that runs only our own scripts.
async fn security_headers(req: Request, next: Next) -> Response {
    use axum::http::header;
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
        h.entry(k).or_insert(HeaderValue::from_static(v));
    };
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    resp
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn problem(r: Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
        let resp = r.oneshot(req).await.unwrap();
        let status = resp.status();
        let ct = resp.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
        assert_eq!(ct, "application/problem+json");
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn app() -> Router {
        async fn boom() -> &'static str {
            let s = "é";
            // The kind of bug the EORI check had: a byte slice inside a character.
            let cut = std::hint::black_box(1);
            &s[..cut]
        }
        async fn echo(axum::extract::Path(n): axum::extract::Path<u32>) -> String {
            n.to_string()
        }
        hardened(Router::new().route("/boom", get(boom)).route("/n/{n}", get(echo).post(echo)).fallback(not_found))
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_problem_json_without_its_cause() {
        let (status, p) = problem(app(), Request::get("/boom").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(p["code"], "internal");
        assert!(!p["detail"].as_str().unwrap().contains("byte index"), "{p}");
    }

    #[tokio::test]
    async fn refusals_before_any_handler_are_problem_json_too() {
        let (status, p) = problem(app(), Request::delete("/n/1").body(Body::empty()).unwrap()).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
        let (status, p) = problem(app(), Request::get("/n/notanumber").body(Body::empty()).unwrap()).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
        assert!(p["detail"].as_str().unwrap().contains("parse"), "{p}");
        let (status, p) = problem(app(), Request::get("/n/%FF%FE").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{p}");
        let (status, _) = problem(app(), Request::get("/nowhere").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn control_characters_in_paths_queries_and_forms_are_refused_naming_where() {
        let (status, p) = problem(app(), Request::get("/n/1?q=ok&name=a%00b").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p["errors"][0]["path"], "query.name");
        let (_, p) = problem(app(), Request::get("/n/%001").body(Body::empty()).unwrap()).await;
        assert_eq!(p["errors"][0]["path"], "path");
        let form = Request::post("/n/1")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("note=line%0D%0Aok&reason=x%1By"))
            .unwrap();
        let (_, p) = problem(app(), form).await;
        assert_eq!(p["errors"][0]["path"], "reason");
        assert!(encodes_control("%7f") && !encodes_control("%09%0A%0d%20%41"));
    }
}
