//! Tasks: what the anomaly rules, shop syncs and reconciliation open for people, listed, assigned, snoozed,
//! commented and closed.

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use codflow_app::tasks::{Note, Task, TaskChange, TaskQuery};
use codflow_domain::TaskId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::{Page, rfc3339};
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, READERS, TASK_WORKERS};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/tasks", get(list_tasks))
        .route("/tasks/{id}", get(get_task).patch(patch_task))
        .route("/tasks/{id}/notes", post(add_note))
}

#[derive(Serialize, ToSchema)]
pub struct TaskDto {
    pub id: String,
    pub kind: String,
    pub shipment_id: Option<String>,
    pub order_id: Option<String>,
    pub role: String,
    pub status: String,
    pub title: String,
    pub due_at: String,
    pub assignee: Option<String>,
    pub opened_by: String,
    pub resolution: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
}

impl From<Task> for TaskDto {
    fn from(t: Task) -> Self {
        TaskDto {
            id: t.id.to_string(),
            kind: t.kind.as_str().into(),
            shipment_id: t.shipment_id.map(|s| s.to_string()),
            order_id: t.order_id.map(|s| s.to_string()),
            role: t.role.as_str().into(),
            status: t.status.as_str().into(),
            title: t.title,
            due_at: rfc3339(t.due_at),
            assignee: t.assignee,
            opened_by: t.opened_by,
            resolution: t.resolution,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
            closed_at: t.closed_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NoteDto {
    pub id: String,
    pub author: String,
    pub body: String,
    pub at: String,
}

impl From<Note> for NoteDto {
    fn from(n: Note) -> Self {
        NoteDto { id: n.id, author: n.author, body: n.body, at: rfc3339(n.at) }
    }
}

#[derive(Serialize, ToSchema)]
pub struct HistoryDto {
    pub action: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub actor: String,
    pub reason: Option<String>,
    pub at: String,
}

#[derive(Serialize, ToSchema)]
pub struct TaskDetailDto {
    #[serde(flatten)]
    pub task: TaskDto,
    pub notes: Vec<NoteDto>,
    pub history: Vec<HistoryDto>,
}

/// The query parameters of [`list_tasks`].
#[derive(serde::Deserialize, Default)]
pub struct TasksQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    shipment: Option<String>,
    #[serde(default)]
    order: Option<String>,
    #[serde(default)]
    overdue: Option<String>,
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks",
    params(("status" = Option<String>, Query, description = "open, in_progress, done, or active (not done)"),
        ("role" = Option<String>, Query), ("kind" = Option<String>, Query), ("assignee" = Option<String>, Query),
        ("shipment" = Option<String>, Query), ("order" = Option<String>, Query),
        ("overdue" = Option<bool>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<TaskDto>), (status = 422)))]
pub async fn list_tasks(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<TasksQuery>,
) -> ApiResult<Json<Page<TaskDto>>> {
    auth.require(READERS)?;
    let text = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let query = TaskQuery {
        status: text(&q.status),
        role: text(&q.role),
        kind: text(&q.kind),
        assignee: text(&q.assignee),
        shipment: text(&q.shipment),
        order: text(&q.order),
        overdue: q.overdue.as_deref() == Some("true"),
        by_due: false,
    };
    let (items, next_cursor) = s.app.tracking().tasks(&query, q.page.limit()?, q.page.cursor()).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = String, Path)),
    responses((status = 200, body = TaskDetailDto), (status = 404)))]
pub async fn get_task(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<TaskDetailDto>> {
    auth.require(READERS)?;
    let (t, notes, history) = s.app.tracking().task(&TaskId::from_path(&id)?).await?;
    Ok(Json(TaskDetailDto {
        task: t.into(),
        notes: notes.into_iter().map(Into::into).collect(),
        history: history
            .into_iter()
            .map(|h| HistoryDto {
                action: h.action,
                from: h.from_status,
                to: h.to_status,
                actor: h.actor,
                reason: h.reason,
                at: rfc3339(h.at),
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// open, in_progress or done.
    #[serde(default)]
    pub status: Option<String>,
    /// Who works on it; "" unassigns.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Why it is done.
    #[serde(default)]
    pub resolution: Option<String>,
    /// RFC 3339: out of the way until then (its due time moves there); later than now, within a year.
    #[serde(default)]
    pub snooze_until: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = String, Path)), request_body = TaskPatch,
    responses((status = 200, body = TaskDto), (status = 404), (status = 409), (status = 422)))]
pub async fn patch_task(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<TaskPatch>,
) -> ApiResult<Json<TaskDto>> {
    auth.require(TASK_WORKERS)?;
    let snooze_until = b
        .snooze_until
        .as_deref()
        .map(|v| {
            time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ApiError::field("snooze_until", "must be an RFC 3339 time such as 2026-12-07T09:00:00Z"))
        })
        .transpose()?;
    let change = TaskChange { status: b.status, assignee: b.assignee, resolution: b.resolution, snooze_until };
    Ok(Json(s.app.tracking().update_task(&TaskId::from_path(&id)?, change, auth.actor()).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    pub body: String,
}

#[utoipa::path(post, path = "/api/v1/tasks/{id}/notes", tag = "tasks", params(("id" = String, Path)), request_body = NoteBody,
    responses((status = 201, body = NoteDto), (status = 404), (status = 422)))]
pub async fn add_note(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<NoteBody>,
) -> ApiResult<(axum::http::StatusCode, Json<NoteDto>)> {
    auth.require(TASK_WORKERS)?;
    let n = s.app.tracking().add_task_note(&TaskId::from_path(&id)?, &b.body, auth.actor()).await?;
    Ok((axum::http::StatusCode::CREATED, Json(n.into())))
}
