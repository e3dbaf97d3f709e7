//! Tasks for people: list with filters, take, progress, close, reopen and annotate. Every change is in
//! the task's history (the audit log) with who and why.

use codflow_domain::anomaly::AnomalyKind;
pub use codflow_domain::work::{Note, Task, TaskStatus};
use codflow_domain::{Actor, AuditRecord, OrderId, Role, ShipmentId, TaskId};
use codflow_store::tasks as tstore;
pub use codflow_store::tasks::TaskFilter;
use codflow_store::{commit, orders};
use time::OffsetDateTime;

use crate::error::ConflictKind;
use crate::{Error, Result, Tracking};

/// What a person changes on a task; absent fields stay.
#[derive(Clone, Debug, Default)]
pub struct TaskChange {
    pub status: Option<String>,
    /// `Some("")` unassigns.
    pub assignee: Option<String>,
    pub resolution: Option<String>,
    /// Out of the way until then: the task's due time moves (it must be later than now).
    pub snooze_until: Option<OffsetDateTime>,
}

/// The raw filter values of a task list request.
#[derive(Clone, Debug, Default)]
pub struct TaskQuery {
    pub status: Option<String>,
    pub role: Option<String>,
    pub kind: Option<String>,
    pub assignee: Option<String>,
    pub shipment: Option<String>,
    pub order: Option<String>,
    pub overdue: bool,
    /// Soonest due first (paged by position) instead of newest first.
    pub by_due: bool,
}

impl Tracking {
    pub async fn tasks(&self, q: &TaskQuery, limit: i64, cursor: Option<&str>) -> Result<(Vec<Task>, Option<String>)> {
        let f = self.task_filter(q, if q.by_due { None } else { cursor })?;
        if q.by_due {
            // Listed by due time, pages go by position: the cursor is `@` and the rows already shown.
            let offset = match cursor {
                Some(c) => c
                    .strip_prefix('@')
                    .and_then(|n| n.parse::<i64>().ok())
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| Error::invalid("cursor", "is not a cursor from a previous page"))?,
                None => 0,
            };
            let f = TaskFilter { by_due: true, offset, ..f };
            let rows = tstore::list(&mut *self.store.read().await?, &f, limit + 1).await?;
            let (page, more) = crate::split_page(rows, limit, |t| t.id.to_string());
            return Ok((page, more.map(|_| format!("@{}", offset + limit))));
        }
        let rows = tstore::list(&mut *self.store.read().await?, &f, limit + 1).await?;
        Ok(crate::split_page(rows, limit, |t| t.id.to_string()))
    }

    /// How many tasks the query matches, by kind.
    pub async fn task_counts(&self, q: &TaskQuery) -> Result<Vec<(String, i64)>> {
        let f = self.task_filter(q, None)?;
        Ok(tstore::count_by_kind(&mut *self.store.read().await?, &f).await?)
    }

    fn task_filter(&self, q: &TaskQuery, cursor: Option<&str>) -> Result<TaskFilter> {
        let mut e = codflow_domain::FieldErrors::default();
        let mut f = TaskFilter::default();
        match q.status.as_deref() {
            None => {}
            Some("active") => f.active = true,
            Some(s) => f.status = e.take("status", TaskStatus::parse(s).ok_or_else(|| bad_status(s))),
        }
        f.role = q.role.as_deref().and_then(|r| e.take("role", Role::parse(r)));
        f.kind = q.kind.as_deref().and_then(|k| e.take("kind", AnomalyKind::parse(k)));
        f.assignee = q.assignee.clone();
        f.shipment = q.shipment.as_deref().and_then(|s| e.take("shipment", ShipmentId::parse(s)));
        f.order = q.order.as_deref().and_then(|s| e.take("order", OrderId::parse(s)));
        f.before = cursor.and_then(|c| e.take("cursor", TaskId::parse(c)));
        if q.overdue {
            f.overdue_at = Some(self.clock().now());
        }
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        Ok(f)
    }

    /// A task with its notes and history.
    pub async fn task(&self, id: &TaskId) -> Result<(Task, Vec<Note>, Vec<codflow_store::orders::StoredAudit>)> {
        let id = id.clone();
        let mut conn = self.store.read().await?;
        let t = tstore::get(&mut conn, &id).await?.ok_or(Error::NotFound("task"))?;
        let notes = tstore::notes(&mut conn, &id).await?;
        let history = orders::audit_of(&mut conn, "task", id.as_str()).await?;
        Ok((t, notes, history))
    }

    pub async fn update_task(&self, id: &TaskId, change: TaskChange, actor: Actor) -> Result<Task> {
        let id = id.clone();
        let mut e = codflow_domain::FieldErrors::default();
        let status =
            change.status.as_deref().and_then(|s| e.take("status", TaskStatus::parse(s).ok_or_else(|| bad_status(s))));
        if change.assignee.as_ref().is_some_and(|a| a.chars().count() > 100) {
            e.push("assignee", "is longer than 100 characters");
        }
        if change.resolution.as_ref().is_some_and(|r| r.chars().count() > 2000) {
            e.push("resolution", "is longer than 2000 characters");
        }
        let now = self.clock().now();
        if change.snooze_until.is_some_and(|u| u <= now || u > now + time::Duration::days(366)) {
            e.push("snooze_until", "must be later than now and within a year");
        }
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        let mut tx = self.store.begin().await?;
        let mut t = tstore::get(&mut tx, &id).await?.ok_or(Error::NotFound("task"))?;

        let from = t.status;
        let mut audits = Vec::new();
        if let Some(until) = change.snooze_until {
            let mut r = AuditRecord::change("task", id.to_string(), "snooze", None, None, actor.clone(), now);
            let when = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
            r.reason = Some(format!("due {} instead of {}", when(until), when(t.due_at)));
            audits.push(r);
            t.due_at = until;
        }
        if let Some(a) = change.assignee {
            let a = a.trim().to_owned();
            let new = (!a.is_empty()).then_some(a);
            if new != t.assignee {
                let mut r = AuditRecord::change("task", id.to_string(), "assign", None, None, actor.clone(), now);
                r.reason = Some(new.as_deref().map_or("unassigned".into(), |a| format!("assigned to {a}")));
                audits.push(r);
                t.assignee = new;
            }
        }
        if let Some(s) = status.filter(|s| *s != from) {
            if s == TaskStatus::Done {
                t.closed_at = Some(now);
                t.resolution = change.resolution.clone().or(Some("done".into()));
            } else if from == TaskStatus::Done {
                // Reopened: a person saw it is not over.
                t.closed_at = None;
                t.resolution = None;
            }
            if from == TaskStatus::Done && t.shipment_id.is_some() {
                let same_open = tstore::TaskFilter {
                    shipment: t.shipment_id.clone(),
                    kind: Some(t.kind),
                    active: true,
                    ..Default::default()
                };
                if !tstore::list(&mut tx, &same_open, 1).await?.is_empty() {
                    return Err(Error::Conflict {
                        kind: ConflictKind::TaskAlreadyOpen,
                        message: "another task of this kind is open for the shipment; work on that one".into(),
                    });
                }
            }
            let mut r = AuditRecord::change(
                "task",
                id.to_string(),
                "status",
                Some(from.as_str().into()),
                Some(s.as_str().into()),
                actor.clone(),
                now,
            );
            r.reason = change.resolution.clone();
            audits.push(r);
            t.status = s;
        }
        t.updated_at = now;
        tstore::update(&mut tx, &t).await?;
        orders::insert_audit(&mut tx, &audits).await?;
        commit(tx).await?;
        Ok(t)
    }

    pub async fn add_task_note(&self, id: &TaskId, body: &str, actor: Actor) -> Result<Note> {
        let id = id.clone();
        let body = body.trim();
        if body.is_empty() || body.chars().count() > 4000 {
            return Err(Error::invalid("body", "must be 1 to 4000 characters"));
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        tstore::get(&mut tx, &id).await?.ok_or(Error::NotFound("task"))?;
        let note = Note {
            id: codflow_domain::AuditId::generate().to_string(),
            author: actor.to_stored(),
            body: body.into(),
            at: now,
        };
        tstore::add_note(&mut tx, &id, &note).await?;
        commit(tx).await?;
        Ok(note)
    }
}

fn bad_status(s: &str) -> codflow_domain::Error {
    codflow_domain::Error::invalid("status", format!("{s:?} is not a task status (open, in_progress, done)"))
}
