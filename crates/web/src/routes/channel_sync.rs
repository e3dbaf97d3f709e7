//! Orders in from shops: the signed webhook endpoints of API.md, each shop's sync status, its inbox of
//! deliveries (with replay), a pull on demand, and the stock push.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use codflow_app::channel_sync::{Delivery, PullReport, Received, StockReport, SyncStatus, WebhookDelivery};
use codflow_domain::shop::Platform;
use codflow_domain::{InboxId, ShopCode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiResult;
use crate::dto::{Page, rfc3339};
use crate::extract::{ApiQuery, Auth, FromPath, OPERATORS, READERS};
use crate::state::AppState;

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/stores/{code}/sync", get(status).post(pull))
        .route("/stores/{code}/inbox", get(inbox))
        .route("/stores/stock-push", post(push_stock))
        .route("/inbox/process", post(process))
        .route("/inbox/{id}", get(get_delivery))
        .route("/inbox/{id}/retry", post(retry))
        .route("/webhooks/shopify/{store_code}", post(shopify))
        .route("/webhooks/woocommerce/{store_code}", post(woocommerce))
}

#[derive(Serialize, ToSchema)]
pub struct ReceivedDto {
    /// `stored`, `duplicate` (already received: nothing stored again) or `ping`.
    pub status: String,
}

async fn receive(
    s: &AppState,
    platform: Platform,
    code: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Json<ReceivedDto>> {
    let d = WebhookDelivery::from_headers(platform, |name| headers.get(name).and_then(|v| v.to_str().ok()), body);
    let status = match s.app.channels().receive_shop_webhook(platform, code, d).await? {
        Received::Stored => "stored",
        Received::Duplicate => "duplicate",
        Received::Ping => "ping",
    };
    Ok(Json(ReceivedDto { status: status.into() }))
}

#[utoipa::path(post, path = "/api/v1/webhooks/shopify/{store_code}", tag = "stores", params(("store_code" = String, Path)),
    request_body(content = String, description = "the Shopify order JSON (orders/create, orders/updated, orders/cancelled)"),
    responses((status = 200, body = ReceivedDto, description = "stored (or recognised as a duplicate by X-Shopify-Webhook-Id); processed from the inbox"),
        (status = 401, description = "X-Shopify-Hmac-Sha256 does not verify, or there is no such Shopify shop (the same answer); nothing stored"), (status = 409, description = "the shop is disabled"), (status = 413)), security(()))]
pub async fn shopify(
    State(s): State<Arc<AppState>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ReceivedDto>> {
    receive(&s, Platform::Shopify, &code, &headers, &body).await
}

#[utoipa::path(post, path = "/api/v1/webhooks/woocommerce/{store_code}", tag = "stores", params(("store_code" = String, Path)),
    request_body(content = String, description = "the WooCommerce order JSON (order.created, order.updated, order.deleted)"),
    responses((status = 200, body = ReceivedDto, description = "stored (or recognised as a duplicate by X-WC-Webhook-Delivery-ID)"),
        (status = 401, description = "X-WC-Webhook-Signature does not verify, or there is no such WooCommerce shop (the same answer); nothing stored. WooCommerce's unsigned ping (`webhook_id=N`) is answered 200 `ping`"), (status = 409, description = "the shop is disabled"), (status = 413)), security(()))]
pub async fn woocommerce(
    State(s): State<Arc<AppState>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ReceivedDto>> {
    receive(&s, Platform::WooCommerce, &code, &headers, &body).await
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: String,
    pub store: String,
    /// `webhook` or `pull`.
    pub source: String,
    pub topic: String,
    pub delivery_id: String,
    pub received_at: String,
    /// `pending`, `done` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub external_id: Option<String>,
    pub remote_updated_at: Option<String>,
    pub order_id: Option<String>,
    /// What processing did: `created`, `existing`, `seen`, `unchanged`, `stale`, `cancelled`,
    /// `already_cancelled`, `cancel_task_opened`, `cancelled_before_intake` or `not_ready`.
    pub outcome: Option<String>,
    pub error: Option<String>,
    pub processed_at: Option<String>,
    /// What the mapping decided (duties folded into the fee, leftover cents, the shop's order name), a line each.
    pub notes: Option<String>,
    /// The payload as received; only on the single-delivery endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

fn delivery(d: Delivery, with_body: bool) -> DeliveryDto {
    DeliveryDto {
        id: d.id.to_string(),
        store: d.store.to_string(),
        source: d.source,
        topic: d.topic,
        delivery_id: d.delivery_id,
        received_at: rfc3339(d.received_at),
        status: d.status.as_str().into(),
        attempts: d.attempts,
        external_id: d.external_id,
        remote_updated_at: d.remote_updated_at.map(rfc3339),
        order_id: d.order_id.map(|o| o.to_string()),
        outcome: d.outcome,
        error: d.error,
        processed_at: d.processed_at.map(rfc3339),
        notes: d.notes,
        body: with_body.then_some(d.body),
    }
}

#[derive(Serialize, ToSchema)]
pub struct SyncDto {
    pub store: String,
    pub platform: String,
    pub pending: i64,
    pub failed: i64,
    pub done: i64,
    /// Seconds the oldest unprocessed delivery has waited.
    pub lag_seconds: i64,
    pub last_received_at: Option<String>,
    pub last_processed_at: Option<String>,
    pub last_pull_at: Option<String>,
    /// The last pull that went to the end.
    pub last_success_at: Option<String>,
    /// The newest change in the shop a pull has seen.
    pub pulled_until: Option<String>,
    pub pulled_total: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub errors: Vec<DeliveryDto>,
}

impl From<SyncStatus> for SyncDto {
    fn from(s: SyncStatus) -> Self {
        SyncDto {
            store: s.store.code.to_string(),
            platform: s.store.platform.as_str().into(),
            pending: s.inbox.pending,
            failed: s.inbox.failed,
            done: s.inbox.done,
            lag_seconds: s.lag.whole_seconds(),
            last_received_at: s.inbox.last_received_at.map(rfc3339),
            last_processed_at: s.inbox.last_processed_at.map(rfc3339),
            last_pull_at: s.pull.last_pull_at.map(rfc3339),
            last_success_at: s.pull.last_success_at.map(rfc3339),
            pulled_until: s.pull.pulled_until.map(rfc3339),
            pulled_total: s.pull.pulled_total,
            last_error: s.pull.last_error,
            last_error_at: s.pull.last_error_at.map(rfc3339),
            errors: s.errors.into_iter().map(|d| delivery(d, false)).collect(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/stores/{code}/sync", tag = "stores", params(("code" = String, Path)),
    responses((status = 200, body = SyncDto, description = "how the shop's orders are coming in"), (status = 404)))]
pub async fn status(State(s): State<Arc<AppState>>, auth: Auth, Path(code): Path<String>) -> ApiResult<Json<SyncDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.channels().sync_status(&ShopCode::from_path(&code)?).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct PullDto {
    pub pages: usize,
    pub orders: usize,
    /// Orders (or versions of them) not seen before.
    pub new: usize,
    /// How many times the shop asked us to slow down.
    pub rate_limited: u32,
    pub error: Option<String>,
}

impl From<PullReport> for PullDto {
    fn from(r: PullReport) -> Self {
        PullDto { pages: r.pages, orders: r.orders, new: r.new, rate_limited: r.rate_limited, error: r.error }
    }
}

#[utoipa::path(post, path = "/api/v1/stores/{code}/sync", tag = "stores", params(("code" = String, Path)),
    responses((status = 200, body = PullDto, description = "pulled the orders changed since the last pull and processed them"),
        (status = 409, description = "the shop cannot be pulled (manual, no credentials, disabled)"), (status = 404)))]
pub async fn pull(State(s): State<Arc<AppState>>, auth: Auth, Path(code): Path<String>) -> ApiResult<Json<PullDto>> {
    auth.require(OPERATORS)?;
    Ok(Json(s.app.channels().pull_shop(&ShopCode::from_path(&code)?).await?.into()))
}

/// The query parameters of [`inbox`].
#[derive(serde::Deserialize, Default)]
pub struct InboxQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/stores/{code}/inbox", tag = "stores",
    params(("code" = String, Path), ("status" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<DeliveryDto>, description = "the shop's deliveries, newest first"), (status = 404), (status = 422)))]
pub async fn inbox(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult<Json<Page<DeliveryDto>>> {
    auth.require(READERS)?;
    let status = q.status.as_deref().filter(|v| !v.is_empty());
    let (items, next_cursor) =
        s.app.channels().inbox(&ShopCode::from_path(&code)?, status, q.page.limit()?, q.page.cursor()).await?;
    Ok(Json(Page { items: items.into_iter().map(|d| delivery(d, false)).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/inbox/{id}", tag = "stores", params(("id" = String, Path)),
    responses((status = 200, body = DeliveryDto, description = "one delivery with its payload"), (status = 404)))]
pub async fn get_delivery(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<DeliveryDto>> {
    auth.require(READERS)?;
    Ok(Json(delivery(s.app.channels().inbox_delivery(&InboxId::from_path(&id)?).await?, true)))
}

#[utoipa::path(post, path = "/api/v1/inbox/{id}/retry", tag = "stores", params(("id" = String, Path)),
    responses((status = 200, body = DeliveryDto, description = "processed again"), (status = 409, description = "not failed"), (status = 404)))]
pub async fn retry(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<DeliveryDto>> {
    auth.require(OPERATORS)?;
    Ok(Json(delivery(s.app.channels().retry_delivery(&InboxId::from_path(&id)?).await?, false)))
}

#[derive(Serialize, ToSchema)]
pub struct StockPushDto {
    pub pushed: usize,
    /// SKUs the shop does not sell.
    pub unknown: usize,
    pub failed: usize,
}

#[utoipa::path(post, path = "/api/v1/stores/stock-push", tag = "stores",
    responses((status = 200, body = BTreeMap<String, StockPushDto>, description = "per shop: stock levels sent now")))]
pub async fn push_stock(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<BTreeMap<String, StockPushDto>>> {
    auth.require(OPERATORS)?;
    let out = s.app.channels().push_stock_levels().await?;
    Ok(Json(
        out.into_iter()
            .map(|(k, StockReport { pushed, unknown, failed })| (k, StockPushDto { pushed, unknown, failed }))
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ProcessedDto {
    pub processed: usize,
}

#[utoipa::path(post, path = "/api/v1/inbox/process", tag = "stores",
    responses((status = 200, body = ProcessedDto, description = "processed every waiting delivery now (the worker does it on its own within seconds)")))]
pub async fn process(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<ProcessedDto>> {
    auth.require(OPERATORS)?;
    Ok(Json(ProcessedDto { processed: s.app.channels().process_inbox().await? }))
}
