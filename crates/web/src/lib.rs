//! The HTTP edge: REST API v1, OpenAPI and Swagger UI, health and metrics. Wire types live here and
//! convert into the domain's; every failure leaves as problem+json through `ApiError`.

pub mod console;
pub mod dto;
mod edge;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod state;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::middleware;
use axum::routing::get;
use codflow_app::App;

pub use error::{ApiError, ApiResult};
pub use state::{AppState, Edge};

use routes::{
    access, catalogue, channel_sync, dashboards, documents, finance, floor, fx_rates, imports, inbound, logistics,
    notifications, orders, profit, public, review, settings, shops, statements, system, tasks, tracking,
};

/// JSON bodies beyond this are refused with 413 before they are parsed.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// CSV imports are larger by nature.
pub const IMPORT_LIMIT: usize = 256 * 1024 * 1024;

/// A path nothing serves: an HTML page for a browser outside the API, problem+json for everyone else.
async fn not_found(
    State(s): State<Arc<AppState>>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if console::wants_page(&headers, uri.path()) {
        return console::not_found_page(&s, &headers, &uri).await;
    }
    ApiError::NotFound("route").into_response()
}

pub fn router(app: App) -> Router {
    router_with(app, Edge::default())
}

pub fn router_with(app: App, edge: Edge) -> Router {
    routes_with(Arc::new(AppState {
        app,
        metrics: Default::default(),
        edge,
        pending: Default::default(),
        profit: Default::default(),
    }))
}

/// `/metrics` alone and without a token, over the same counters, for a listener of its own.
fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new().route("/metrics", get(system::open_metrics)).with_state(state)
}

fn routes_with(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .merge(orders::router())
        .merge(catalogue::router())
        .merge(review::router())
        .merge(settings::router())
        .merge(fx_rates::router())
        .merge(notifications::router())
        .merge(logistics::router())
        .merge(documents::router())
        .merge(tracking::router())
        .merge(tasks::router())
        .merge(shops::router())
        .merge(crate::routes::carrier_accounts::router())
        .merge(crate::routes::attach::router())
        .merge(channel_sync::router())
        .merge(finance::router())
        .merge(statements::router())
        .merge(profit::router())
        .merge(dashboards::router())
        .merge(access::router())
        .merge(floor::router())
        .merge(inbound::router())
        .merge(crate::routes::packaging::router())
        .merge(crate::routes::returns::router())
        .merge(crate::routes::claims::router())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .merge(
            Router::new()
                .merge(imports::uploads())
                .merge(statements::uploads())
                .merge(fx_rates::uploads())
                .merge(review::uploads())
                .merge(logistics::uploads())
                .merge(inbound::uploads())
                .merge(crate::routes::returns::uploads())
                .layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        );
    let routes = Router::new()
        .nest("/api/v1", api)
        .route("/track/{tracking_number}", get(public::track))
        .route("/ndr/{token}", get(public::ndr_form).post(public::ndr_submit))
        .route(
            "/claim-statement/{token}",
            get(public::statement_get).post(public::statement_post).layer(DefaultBodyLimit::max(
                codflow_domain::claims::MAX_STATEMENT_PHOTOS * codflow_app::floor::MAX_PHOTO_BYTES + 64 * 1024,
            )),
        )
        .route("/healthz", get(system::healthz))
        .route("/metrics", get(system::metrics))
        .route("/api/openapi.json", get(system::openapi))
        .route("/api/docs", get(system::docs))
        .route("/api/docs/swagger-ui-bundle.js", get(system::swagger_js))
        .route("/api/docs/swagger-ui.css", get(system::swagger_css))
        .route("/api/docs/init.js", get(system::swagger_init))
        .merge(console::routes())
        .fallback(not_found);
    routes.layer(middleware::from_fn_with_state(state.clone(), edge::edge)).with_state(state)
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
    let stop = stop_signal();
    let state = Arc::new(AppState {
        app,
        metrics: Default::default(),
        edge,
        pending: Default::default(),
        profit: Default::default(),
    });
    if let Some(m) = metrics {
        let router = metrics_router(state.clone());
        let stop = stop.clone();
        tokio::spawn(async move { axum::serve(m, router).with_graceful_shutdown(stopped(stop)).await });
    }
    let service = routes_with(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(stopped(stop)).await
}

/// Listens for Ctrl-C and SIGTERM from now on (a SIGTERM that arrives while the routes are still being built
/// is not lost to the default action, which would end the process without letting the workers finish) and
/// answers every receiver once one arrives.
fn stop_signal() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::spawn(async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async {
            match term.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
        let _ = tx.send(true);
    });
    rx
}

async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
