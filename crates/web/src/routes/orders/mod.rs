//! Orders: intake one by one, reading and listing, their history and the operator's actions on them.

pub mod dto;

use std::sync::Arc;

use crate::dto::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Router, routing};
use codflow_app::orders::{Action, IntakeOutcome, OrderFilter};
use codflow_domain::{Country, FieldErrors, OrderId, OrderInput, OrderStatus, ShopCode};
use dto::{ActionBody, AuditDto, CreateOrder, OrderDto};

use crate::dto::Page;
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, OPERATORS, READERS, parse_json};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/orders", routing::post(create).get(list))
        .route("/orders/{id}", routing::get(get))
        .route("/orders/{id}/history", routing::get(history))
        .route("/orders/{id}/approve", routing::post(approve))
        .route("/orders/{id}/hold", routing::post(hold))
        .route("/orders/{id}/cancel", routing::post(cancel))
}

/// Creates an order, or returns the one already recorded for this (store, external_id).
#[utoipa::path(post, path = "/api/v1/orders", request_body = CreateOrder, tag = "orders",
    responses((status = 201, body = OrderDto, description = "created"), (status = 200, body = OrderDto, description = "already present"),
              (status = 422, description = "invalid input"), (status = 401), (status = 403)))]
pub async fn create(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateOrder>,
) -> ApiResult<(StatusCode, Json<OrderDto>)> {
    auth.require(OPERATORS)?;
    let input: OrderInput = body.into();
    match s.app.intake().create_order(input, auth.actor()).await {
        Ok(IntakeOutcome::Created(o)) => {
            s.metrics.order_outcome(if o.status == OrderStatus::Allocated { "allocated" } else { "backordered" }, 1);
            Ok((StatusCode::CREATED, Json(o.into())))
        }
        Ok(IntakeOutcome::Existing(o)) => {
            s.metrics.order_outcome("duplicate", 1);
            Ok((StatusCode::OK, Json(o.into())))
        }
        Err(e) => {
            if matches!(e, codflow_app::Error::Invalid(_)) {
                s.metrics.order_outcome("invalid", 1);
            }
            Err(e.into())
        }
    }
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderDto), (status = 404)))]
pub async fn get(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<OrderDto>> {
    auth.require(READERS)?;
    let id = OrderId::from_path(&id)?;
    let mut dto: OrderDto = s.app.intake().order(&id).await?.into();
    let follow = s.app.channels().order_follow_up(&id).await?;
    dto.delivery_instructions = Some(follow.ndr.into_iter().map(Into::into).collect());
    dto.channel_updates = Some(follow.pushes.into_iter().map(Into::into).collect());
    Ok(Json(dto))
}

/// The query parameters of [`list`].
#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    store: Option<String>,
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders",
    params(("status" = Option<String>, Query), ("country" = Option<String>, Query), ("store" = Option<String>, Query),
           ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<OrderDto>)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<OrderDto>>> {
    auth.require(READERS)?;
    let mut e = FieldErrors::default();
    let limit = q.page.limit()?;
    let filter = OrderFilter {
        status: q.status.as_ref().filter(|v| !v.is_empty()).and_then(|v| e.take("status", OrderStatus::parse(v))),
        country: q.country.as_ref().filter(|v| !v.is_empty()).and_then(|v| e.take("country", Country::parse(v))),
        store: q.store.as_ref().filter(|v| !v.is_empty()).and_then(|v| e.take("store", ShopCode::parse(v))),
        before: None,
        oldest_first: false,
        search: q.q.as_ref().filter(|v| !v.trim().is_empty()).cloned(),
        ..OrderFilter::default()
    };
    if !e.is_empty() {
        return Err(ApiError::Invalid(e));
    }
    let (orders, next_cursor) = s.app.intake().orders(filter, limit, q.page.cursor()).await?;
    Ok(Json(Page { items: orders.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/history", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = Vec<AuditDto>, description = "every state change: who, what, why, when")))]
pub async fn history(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<AuditDto>>> {
    auth.require(READERS)?;
    Ok(Json(s.app.intake().order_history(&OrderId::from_path(&id)?).await?.into_iter().map(Into::into).collect()))
}

async fn act(s: Arc<AppState>, auth: Auth, id: String, body: Bytes, action: Action) -> ApiResult<Json<OrderDto>> {
    auth.require(OPERATORS)?;
    // The body is optional: an empty one means no reason given.
    let body: ActionBody =
        if body.iter().all(u8::is_ascii_whitespace) { ActionBody::default() } else { parse_json(&body)? };
    let reason = body.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    Ok(Json(s.app.intake().act_on_order(&OrderId::from_path(&id)?, action, auth.actor(), reason).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/approve", tag = "orders", params(("id" = String, Path)), request_body = ActionBody,
    responses((status = 200, body = OrderDto), (status = 409, description = "not allowed from the current status")))]
pub async fn approve(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<OrderDto>> {
    act(s, auth, id, body, Action::Approve).await
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/hold", tag = "orders", params(("id" = String, Path)), request_body = ActionBody,
    responses((status = 200, body = OrderDto), (status = 409, description = "not allowed from the current status")))]
pub async fn hold(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<OrderDto>> {
    act(s, auth, id, body, Action::Hold).await
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", params(("id" = String, Path)), request_body = ActionBody,
    responses((status = 200, body = OrderDto), (status = 409, description = "not allowed from the current status")))]
pub async fn cancel(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<OrderDto>> {
    act(s, auth, id, body, Action::Cancel).await
}
