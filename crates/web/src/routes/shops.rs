//! Shops on sales platforms (secrets go in, never out) and the outbox of updates owed to them.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::dto::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Router, routing};
use codflow_app::shops::{Push, PushFilter, PushStatus, ShopView};
use codflow_domain::shop::ShopInput;
use codflow_domain::{FieldErrors, OrderId, PushId, Role, ShopCode};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::dto::{Page, rfc3339};
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, OPERATORS, READERS};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/stores", routing::get(list).post(create))
        .route("/stores/{code}", routing::get(get).put(put))
        .route("/channel-pushes", routing::get(pushes))
        .route("/channel-pushes/{id}/retry", routing::post(retry))
}

/// Only admins change shops: their credentials can act on the seller's storefront.
const NOBODY_BUT_ADMIN: &[Role] = &[];

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct StoreBody {
    pub code: Option<String>,
    /// `manual`, `shopify`, `woocommerce`, `magento`, `amazon` or `ebay`.
    pub platform: Option<String>,
    pub name: Option<String>,
    /// The shop's address, e.g. `https://my-shop.myshopify.com`.
    pub base_url: Option<String>,
    /// Shopify: `access_token` (optional `location_id`); WooCommerce: `consumer_key`, `consumer_secret`;
    /// Magento: `access_token`; Amazon: `refresh_token`, `client_id`, `client_secret`, `marketplace_id` (optional
    /// `token_url`); eBay: `refresh_token`, `client_id`, `client_secret` (optional `token_url`). Not needed by a
    /// shop that only sends webhooks. Stored sealed; never returned.
    pub credentials: Option<BTreeMap<String, String>>,
    /// The secret the platform signs its webhooks with. Stored sealed; never returned.
    pub webhook_secret: Option<String>,
    /// Payment names that mean cash on delivery (default per platform, e.g. Shopify's "Cash on Delivery (COD)").
    pub cod_gateways: Option<Vec<String>>,
    /// The warehouse whose free stock is pushed to the shop (default: the sum over all warehouses).
    pub default_warehouse: Option<String>,
    /// Tell the shop when parcels ship and arrive, and push stock levels (Shopify and WooCommerce).
    pub push_fulfilment: Option<bool>,
    pub enabled: Option<bool>,
}

impl From<StoreBody> for ShopInput {
    fn from(b: StoreBody) -> Self {
        ShopInput {
            code: b.code,
            platform: b.platform,
            name: b.name,
            base_url: b.base_url,
            credentials: b.credentials,
            webhook_secret: b.webhook_secret,
            cod_gateways: b.cod_gateways,
            default_warehouse: b.default_warehouse,
            push_fulfilment: b.push_fulfilment,
            enabled: b.enabled,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StoreDto {
    pub code: String,
    pub platform: String,
    pub name: String,
    pub base_url: Option<String>,
    pub has_credentials: bool,
    pub has_webhook_secret: bool,
    pub cod_gateways: Vec<String>,
    pub default_warehouse: Option<String>,
    pub push_fulfilment: bool,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ShopView> for StoreDto {
    fn from(v: ShopView) -> Self {
        let c = v.config;
        StoreDto {
            code: c.code.to_string(),
            platform: c.platform.as_str().into(),
            name: c.name,
            base_url: c.base_url,
            has_credentials: v.has_credentials,
            has_webhook_secret: v.has_webhook_secret,
            cod_gateways: c.cod_gateways,
            default_warehouse: c.default_warehouse.map(|w| w.to_string()),
            push_fulfilment: c.push_fulfilment,
            enabled: c.enabled,
            created_at: v.created_at.format(&Rfc3339).unwrap_or_default(),
            updated_at: v.updated_at.format(&Rfc3339).unwrap_or_default(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/stores", tag = "stores", responses((status = 200, body = Page<StoreDto>), (status = 401)))]
pub async fn list(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Page<StoreDto>>> {
    auth.require(READERS)?;
    Ok(Json(Page::whole(s.app.channels().shops().await?.into_iter().map(Into::into).collect())))
}

#[utoipa::path(post, path = "/api/v1/stores", tag = "stores", request_body = StoreBody,
    responses((status = 201, body = StoreDto), (status = 409, description = "code already used, or no secret key to seal credentials"), (status = 422)))]
pub async fn create(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<StoreBody>,
) -> ApiResult<(StatusCode, Json<StoreDto>)> {
    auth.require(NOBODY_BUT_ADMIN)?;
    let (view, _) = s.app.channels().put_shop(None, body.into(), auth.actor()).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

#[utoipa::path(get, path = "/api/v1/stores/{code}", tag = "stores", params(("code" = String, Path)),
    responses((status = 200, body = StoreDto), (status = 404)))]
pub async fn get(State(s): State<Arc<AppState>>, auth: Auth, Path(code): Path<String>) -> ApiResult<Json<StoreDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.channels().shop_view(&ShopCode::from_path(&code)?).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/stores/{code}", tag = "stores", params(("code" = String, Path)), request_body = StoreBody,
    responses((status = 200, body = StoreDto, description = "updated; fields left out keep their value"), (status = 201, body = StoreDto), (status = 422)))]
pub async fn put(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<StoreBody>,
) -> ApiResult<(StatusCode, Json<StoreDto>)> {
    auth.require(NOBODY_BUT_ADMIN)?;
    let (view, created) = s.app.channels().put_shop(Some(&code), body.into(), auth.actor()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(view.into())))
}

#[derive(Serialize, ToSchema)]
pub struct PushDto {
    pub id: String,
    pub store: String,
    pub order_id: String,
    pub shipment_id: String,
    /// `shipped` or `delivered`.
    pub event: String,
    pub event_at: String,
    /// `pending`, `sending`, `sent` or `dead` (gave up; retry once fixed).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    /// The shop's id of what the update created.
    pub remote_ref: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

impl From<Push> for PushDto {
    fn from(p: Push) -> Self {
        let ts = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        PushDto {
            id: p.id.to_string(),
            store: p.store.to_string(),
            order_id: p.order_id.to_string(),
            shipment_id: p.shipment_id.to_string(),
            event: p.event.as_str().into(),
            event_at: rfc3339(p.event_at),
            status: p.status.as_str().into(),
            attempts: p.attempts,
            next_attempt_at: rfc3339(p.next_attempt_at),
            last_error: p.last_error,
            remote_ref: p.remote_ref,
            created_at: rfc3339(p.created_at),
            sent_at: p.sent_at.map(ts),
        }
    }
}

/// The query parameters of [`pushes`].
#[derive(serde::Deserialize, Default)]
pub struct PushesQuery {
    #[serde(default)]
    order: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    store: Option<String>,
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/channel-pushes", tag = "stores",
    params(("status" = Option<String>, Query), ("store" = Option<String>, Query), ("order" = Option<String>, Query),
        ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<PushDto>, description = "updates owed to shops, newest first")))]
pub async fn pushes(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PushesQuery>,
) -> ApiResult<Json<Page<PushDto>>> {
    auth.require(READERS)?;
    let mut e = FieldErrors::default();
    let status = q.status.as_ref().filter(|v| !v.is_empty()).and_then(|v| {
        let s = PushStatus::parse(v);
        if s.is_none() {
            e.push("status", "must be pending, sending, sent or dead");
        }
        s
    });
    let store = q.store.as_ref().filter(|v| !v.is_empty()).and_then(|v| e.take("store", ShopCode::parse(v)));
    let order = q.order.as_ref().filter(|v| !v.is_empty()).and_then(|v| e.take("order", OrderId::parse(v)));
    let before = q.page.cursor().and_then(|c| e.take("cursor", PushId::parse(c)));
    if !e.is_empty() {
        return Err(ApiError::Invalid(e));
    }
    let (items, next_cursor) =
        s.app.channels().channel_pushes(PushFilter { status, store, order, before }, q.page.limit()?).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(post, path = "/api/v1/channel-pushes/{id}/retry", tag = "stores", params(("id" = String, Path)),
    responses((status = 204), (status = 409, description = "not given up")))]
pub async fn retry(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    auth.require(OPERATORS)?;
    s.app.channels().retry_channel_push(&PushId::from_path(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
