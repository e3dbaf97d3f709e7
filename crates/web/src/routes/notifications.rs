//! Buyer messages: the outbox and its retries, and the templates they are written from.

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use codflow_app::notify::{Filter, Notification, Status, StoredTemplate};
use codflow_domain::{FieldErrors, NotificationId, OrderId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::dto::{Page, rfc3339};
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, OPERATORS, READERS};
use crate::routes::review::dto::*;
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/notifications", get(notifications))
        .route("/notifications/{id}/retry", post(retry_notification))
        .route("/notification-templates", get(notification_templates))
        .route("/notification-templates/{name}/{language}", put(put_notification_template))
}

/// The query parameters of [`notifications`].
#[derive(serde::Deserialize, Default)]
pub struct NotificationsQuery {
    #[serde(default)]
    order: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "review",
    params(("status" = Option<String>, Query), ("order" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<NotificationDto>, description = "the outbox, newest first")))]
pub async fn notifications(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<NotificationsQuery>,
) -> ApiResult<Json<Page<NotificationDto>>> {
    auth.require(READERS)?;
    let mut e = FieldErrors::default();
    let status = q.status.as_ref().filter(|v| !v.is_empty()).and_then(|v| {
        let s = Status::parse(v);
        if s.is_none() {
            e.push("status", "must be pending, sending, sent or dead");
        }
        s
    });
    let order = q.order.as_ref().filter(|v| !v.is_empty()).and_then(|v| e.take("order", OrderId::parse(v)));
    let before = q.page.cursor().and_then(|c| e.take("cursor", codflow_domain::NotificationId::parse(c)));
    if !e.is_empty() {
        return Err(ApiError::Invalid(e));
    }
    let (items, next_cursor) =
        s.app.tracking().notifications(Filter { status, order, before }, q.page.limit()?).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/retry", tag = "review", params(("id" = String, Path)),
    responses((status = 204), (status = 409, description = "not dead-lettered")))]
pub async fn retry_notification(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    auth.require(OPERATORS)?;
    s.app.tracking().retry_notification(&NotificationId::from_path(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/notification-templates", tag = "review", responses((status = 200, body = Vec<TemplateDto>)))]
pub async fn notification_templates(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Vec<TemplateDto>>> {
    auth.require(READERS)?;
    Ok(Json(s.app.tracking().notification_templates().await?.into_iter().map(Into::into).collect()))
}

#[utoipa::path(put, path = "/api/v1/notification-templates/{name}/{language}", tag = "review",
    params(("name" = String, Path), ("language" = String, Path)), request_body = TemplateBody,
    responses((status = 200, body = TemplateDto), (status = 422, description = "template syntax error, by part and line")))]
pub async fn put_notification_template(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((name, language)): Path<(String, String)>,
    ApiJson(b): ApiJson<TemplateBody>,
) -> ApiResult<Json<TemplateDto>> {
    auth.require(OPERATORS)?;
    let t = StoredTemplate { name, language, subject: b.subject, body: b.body, sms: b.sms };
    Ok(Json(s.app.tracking().put_notification_template(t).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: String,
    pub order_id: String,
    pub template: String,
    pub channel: String,
    pub recipient: String,
    pub language: String,
    pub subject: Option<String>,
    pub body: String,
    /// pending, sending, sent or dead.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TemplateDto {
    pub name: String,
    pub language: String,
    pub subject: String,
    pub body: String,
    pub sms: String,
}

impl From<Notification> for NotificationDto {
    fn from(n: Notification) -> Self {
        NotificationDto {
            id: n.id.to_string(),
            order_id: n.order_id.to_string(),
            template: n.template,
            channel: n.channel.as_str().into(),
            recipient: n.recipient,
            language: n.language,
            subject: n.subject,
            body: n.body,
            status: n.status.as_str().into(),
            attempts: n.attempts,
            next_attempt_at: rfc3339(n.next_attempt_at),
            last_error: n.last_error,
            created_at: rfc3339(n.created_at),
            sent_at: n.sent_at.map(rfc3339),
        }
    }
}

impl From<StoredTemplate> for TemplateDto {
    fn from(t: StoredTemplate) -> Self {
        TemplateDto { name: t.name, language: t.language, subject: t.subject, body: t.body, sms: t.sms }
    }
}
