//! Tasks in the console: the role's queue sorted by due time with counts per kind, filters by kind, role,
//! assignee, status and due; claim, assign, comment, snooze and close, one at a time or on the ticked rows.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_app::tasks::{Task, TaskChange, TaskQuery, TaskStatus};
use codflow_domain::anomaly::AnomalyKind;
use codflow_domain::{Actor, Role, TaskId};
use minijinja::Value;
use serde::Serialize;
use time::OffsetDateTime;

use super::orders::{PAGE, PageInfo, bulk_flash, kept};
use super::pages::{query_string, table_download};
use super::render::secs;
use super::{Signed, redirect};
use crate::extract::FromPath;
use crate::state::AppState;

const KEYS: &[&str] = &["kind", "role", "assignee", "status", "due"];
/// The longest snooze offered from the console, in hours.
const SNOOZE_MAX_HOURS: i64 = 24 * 30;

#[derive(Serialize)]
struct TaskRow {
    id: String,
    kind: &'static str,
    role: &'static str,
    status: &'static str,
    title: String,
    order: Option<String>,
    assignee: Option<String>,
    due: i64,
    sla: &'static str,
}

fn sla(t: &Task, now: OffsetDateTime) -> &'static str {
    if t.status == TaskStatus::Done {
        "done"
    } else if t.due_at < now {
        "overdue"
    } else if t.due_at < now + time::Duration::hours(4) {
        "due_soon"
    } else {
        "on_time"
    }
}

/// The query behind the page: the user's own role unless they are the admin; active tasks unless asked.
fn task_query(signed: &Signed, q: &HashMap<String, String>) -> TaskQuery {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let role = match signed.0.role {
        Role::Admin => get("role"),
        r => Some(r.as_str().to_owned()),
    };
    let status = match get("status").as_deref() {
        None => Some("active".to_owned()),
        Some("any") => None,
        Some(s) => Some(s.to_owned()),
    };
    let assignee = match get("assignee").as_deref() {
        Some("me") => Some(signed.0.username.clone()),
        _ => get("assignee"),
    };
    TaskQuery {
        status,
        role,
        kind: get("kind"),
        assignee,
        overdue: get("due").as_deref() == Some("overdue"),
        by_due: true,
        ..TaskQuery::default()
    }
}

pub async fn list(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let query = task_query(&signed, &q);
    let now = s.app.clock().now();
    if let Some(format) = q.get("format").filter(|f| *f == "csv" || *f == "xlsx") {
        return export(&s, &signed, &query, format == "xlsx", now).await;
    }
    let (list, next) = match s.app.tracking().tasks(&query, PAGE, q.get("cursor").map(String::as_str)).await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let by_kind_query = TaskQuery { kind: None, ..query.clone() };
    let counts = match s.app.tracking().task_counts(&by_kind_query).await {
        Ok(c) => c,
        Err(e) => return signed.fail(e),
    };
    let total =
        counts.iter().filter(|(k, _)| query.kind.as_deref().is_none_or(|want| want == k)).map(|(_, n)| n).sum::<i64>();
    let rows: Vec<TaskRow> = list.iter().map(|t| row(t, now)).collect();
    let page = PageInfo::new(&q, rows.len(), Some(total), next);
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let export: Vec<(&str, &str)> = KEYS.iter().filter_map(|k| q.get(*k).map(|v| (*k, v.as_str()))).collect();
    let ctx = minijinja::context! {
        q => kept(&q, KEYS),
        f => minijinja::context! {
            kind => get("kind"), role => get("role"), assignee => get("assignee"), status => get("status"), due => get("due"),
        },
        kinds => AnomalyKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        counts => counts.iter().map(|(k, n)| minijinja::context! { kind => k, n => n }).collect::<Vec<_>>(),
        rows => Value::from_serialize(&rows),
        page => Value::from_serialize(&page),
        export => query_string(&export),
        is_admin => signed.0.role == Role::Admin,
        flash => bulk_flash(&signed, &q),
    };
    signed.page(StatusCode::OK, "tasks.html", &signed.t("nav-tasks"), ctx)
}

fn row(t: &Task, now: OffsetDateTime) -> TaskRow {
    TaskRow {
        id: t.id.to_string(),
        kind: t.kind.as_str(),
        role: t.role.as_str(),
        status: t.status.as_str(),
        title: t.title.clone(),
        order: t.order_id.as_ref().map(|o| o.to_string()),
        assignee: t.assignee.clone(),
        due: secs(t.due_at),
        sla: sla(t, now),
    }
}

/// Every task the filters select (not one page), as CSV or XLSX.
async fn export(s: &AppState, signed: &Signed, query: &TaskQuery, xlsx: bool, now: OffsetDateTime) -> Response {
    let header = ["task", "kind", "role", "status", "assignee", "order", "due", "sla", "title"];
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (list, next) = match s.app.tracking().tasks(query, 1000, cursor.as_deref()).await {
            Ok(r) => r,
            Err(e) => return signed.fail(e),
        };
        for t in &list {
            let due = signed.0.zone.local(t.due_at);
            rows.push(vec![
                t.id.to_string(),
                t.kind.as_str().to_owned(),
                t.role.as_str().to_owned(),
                t.status.as_str().to_owned(),
                t.assignee.clone().unwrap_or_default(),
                t.order_id.as_ref().map(|o| o.to_string()).unwrap_or_default(),
                format!("{} {:02}:{:02}", due.date(), due.hour(), due.minute()),
                sla(t, now).to_owned(),
                t.title.clone(),
            ]);
        }
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    table_download("tasks", xlsx, &header, &rows)
}

/// One change to one task from a form: claim, assign, snooze, close, reopen or comment.
async fn change_one(
    s: &AppState,
    signed: &Signed,
    id: &TaskId,
    f: &HashMap<String, String>,
) -> codflow_app::Result<()> {
    let actor = Actor::User(signed.0.id.clone());
    let field = |k: &str| f.get(k).map(|v| v.trim()).unwrap_or("");
    let change = match field("action") {
        "claim" => TaskChange {
            assignee: Some(signed.0.username.clone()),
            status: Some("in_progress".into()),
            ..TaskChange::default()
        },
        "assign" => TaskChange { assignee: Some(field("assignee").to_owned()), ..TaskChange::default() },
        "snooze" => {
            let hours = field("hours")
                .parse::<i64>()
                .ok()
                .filter(|h| (1..=SNOOZE_MAX_HOURS).contains(h))
                .ok_or_else(|| codflow_app::Error::invalid("hours", "must be a number of hours from 1 to 720"))?;
            let until = s.app.clock().now() + time::Duration::hours(hours);
            TaskChange { snooze_until: Some(until), ..TaskChange::default() }
        }
        "close" => {
            let resolution = field("resolution");
            if resolution.is_empty() {
                return Err(codflow_app::Error::invalid("resolution", "say how it was resolved"));
            }
            TaskChange { status: Some("done".into()), resolution: Some(resolution.to_owned()), ..TaskChange::default() }
        }
        "reopen" => TaskChange { status: Some("open".into()), ..TaskChange::default() },
        "comment" => {
            s.app.tracking().add_task_note(id, field("note"), actor).await?;
            return Ok(());
        }
        _ => return Err(codflow_app::Error::invalid("action", "is not a task action")),
    };
    s.app.tracking().update_task(id, change, actor).await.map(|_| ())
}

fn allowed(signed: &Signed) -> Option<Response> {
    signed.refused(&[Role::Ops, Role::Finance, Role::Warehouse])
}

/// The ticked tasks, each changed on its own; back to the list with how many were done.
pub async fn bulk(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<Vec<(String, String)>>) -> Response {
    if let Some(r) = allowed(&signed) {
        return r;
    }
    let single: HashMap<String, String> = f.iter().filter(|(k, _)| k != "ids").cloned().collect();
    if let Some(r) = signed.forged(single.get("csrf").map(String::as_str).unwrap_or("")) {
        return r;
    }
    let ids: Vec<&String> = f.iter().filter(|(k, _)| k == "ids").map(|(_, v)| v).take(500).collect();
    if ids.is_empty() {
        return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("bulk-none-ticked"));
    }
    let mut done = 0usize;
    let mut first_error = None;
    for id in &ids {
        let Ok(id) = TaskId::parse(id) else { continue };
        match change_one(&s, &signed, &id, &single).await {
            Ok(()) => done += 1,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let (0, Some(e)) = (done, first_error) {
        return signed.fail(e);
    }
    let back: HashMap<String, String> = single
        .get("back")
        .and_then(|b| b.split_once('?'))
        .map(|(_, q)| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let mut pairs: Vec<(&str, &str)> = KEYS.iter().filter_map(|k| back.get(*k).map(|v| (*k, v.as_str()))).collect();
    let (done_s, failed_s) = (done.to_string(), (ids.len() - done).to_string());
    pairs.extend([("done", done_s.as_str()), ("failed", failed_s.as_str())]);
    redirect(&format!("/tasks?{}", query_string(&pairs)))
}

/// One task in full: its facts, notes and history, with every action.
pub async fn page(State(s): State<Arc<AppState>>, signed: Signed, Path(id): Path<String>) -> Response {
    let id = match TaskId::from_path(&id) {
        Ok(id) => id,
        Err(e) => return signed.fail(e),
    };
    let (t, notes, history) = match s.app.tracking().task(&id).await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let names = s.app.admin().user_names().await.unwrap_or_default();
    let by = |actor: &str| match actor.split_once(':') {
        Some(("user", id)) => names.get(id).cloned().unwrap_or_else(|| id.to_owned()),
        _ => actor.to_owned(),
    };
    let now = s.app.clock().now();
    let ctx = minijinja::context! {
        task => Value::from_serialize(row(&t, now)),
        resolution => t.resolution.clone(),
        shipment => t.shipment_id.as_ref().map(|s| s.to_string()),
        notes => notes.iter().map(|n| minijinja::context! { at => secs(n.at), who => by(&n.author), body => n.body.clone() }).collect::<Vec<_>>(),
        history => history.iter().map(|h| minijinja::context! {
            at => secs(h.at), who => by(&h.actor), action => h.action.clone(),
            to => h.to_status.clone(), reason => h.reason.clone(),
        }).collect::<Vec<_>>(),
        may_act => allowed(&signed).is_none(),
    };
    signed.page(StatusCode::OK, "task.html", &t.title, ctx)
}

pub async fn act(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = allowed(&signed) {
        return r;
    }
    if let Some(r) = signed.forged(f.get("csrf").map(String::as_str).unwrap_or("")) {
        return r;
    }
    let id = match TaskId::from_path(&id) {
        Ok(id) => id,
        Err(e) => return signed.fail(e),
    };
    match change_one(&s, &signed, &id, &f).await {
        Ok(()) => redirect(&format!("/tasks/{id}")),
        Err(e) => signed.fail(e),
    }
}
