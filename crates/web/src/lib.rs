//! The HTTP edge: REST API v1, OpenAPI and Swagger UI, health and metrics. Wire types live here and
//! convert into the domain's; every failure leaves as problem+json through `ApiError`.

pub mod console;
pub mod dto;
mod edge;
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
    edge::hardened(routes)
        .layer(middleware::from_fn(edge::security_headers))
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
