//! Tasks for people: opened by anomalies (at most one open per shipment and kind, enforced by a partial
//! unique index so concurrent nodes cannot open two) or by hand, worked through open → in progress → done.

use codflow_domain::anomaly::AnomalyKind;
pub use codflow_domain::work::{Note, Task, TaskStatus};
use codflow_domain::{OrderId, Role, ShipmentId, TaskId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::bulk::{Val, insert_values, row};
use crate::db::{from_micros, micros};
use crate::{Error, Result};

row!(
    /// What a task is opened with and keeps.
    TaskFixed {
        id: String,
        kind: String,
        shipment_id: Option<String>,
        order_id: Option<String>,
        role: String,
        title: String,
        opened_by: String,
        created_at: i64,
    }
);

row!(
    /// What working a task changes.
    TaskState {
        status: String,
        assignee: Option<String>,
        resolution: Option<String>,
        updated_at: i64,
        closed_at: Option<i64>,
        due_at: i64,
    }
);

impl TaskFixed {
    fn of(t: &Task) -> TaskFixed {
        TaskFixed {
            id: t.id.to_string(),
            kind: t.kind.as_str().to_owned(),
            shipment_id: t.shipment_id.as_ref().map(ToString::to_string),
            order_id: t.order_id.as_ref().map(ToString::to_string),
            role: t.role.as_str().to_owned(),
            title: t.title.clone(),
            opened_by: t.opened_by.clone(),
            created_at: micros(t.created_at),
        }
    }
}

impl TaskState {
    fn of(t: &Task) -> TaskState {
        TaskState {
            status: t.status.as_str().to_owned(),
            assignee: t.assignee.clone(),
            resolution: t.resolution.clone(),
            updated_at: micros(t.updated_at),
            closed_at: t.closed_at.map(micros),
            due_at: micros(t.due_at),
        }
    }
}

/// Every column of a task, for inserts and reads.
fn cols() -> &'static str {
    static COLS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COLS.get_or_init(|| TaskFixed::COLUMNS.iter().chain(TaskState::COLUMNS).copied().collect::<Vec<_>>().join(", "))
}

fn from_row(r: &AnyRow) -> Result<Task> {
    let s = |c: &str| r.try_get::<String, _>(c);
    let kind = s("kind")?;
    let status = s("status")?;
    Ok(Task {
        id: TaskId::parse(&s("id")?)?,
        kind: AnomalyKind::parse(&kind).map_err(|_| Error::Corrupt(format!("task kind {kind:?}")))?,
        shipment_id: r.try_get::<Option<String>, _>("shipment_id")?.map(|v| ShipmentId::parse(&v)).transpose()?,
        order_id: r.try_get::<Option<String>, _>("order_id")?.map(|v| OrderId::parse(&v)).transpose()?,
        role: Role::parse(&s("role")?)?,
        status: TaskStatus::parse(&status).ok_or_else(|| Error::Corrupt(format!("task status {status:?}")))?,
        title: s("title")?,
        due_at: from_micros(r.try_get("due_at")?),
        assignee: r.try_get("assignee")?,
        opened_by: s("opened_by")?,
        resolution: r.try_get("resolution")?,
        created_at: from_micros(r.try_get("created_at")?),
        updated_at: from_micros(r.try_get("updated_at")?),
        closed_at: r.try_get::<Option<i64>, _>("closed_at")?.map(from_micros),
    })
}

/// Opens many tasks at once; a task whose shipment already has one of its kind open is skipped. Returns
/// the ids that were opened.
pub async fn open_many(conn: &mut AnyConnection, tasks: &[Task]) -> Result<std::collections::HashSet<TaskId>> {
    let width = TaskFixed::COLUMNS.len() + TaskState::COLUMNS.len();
    let mut vals = Vec::with_capacity(tasks.len() * width);
    for t in tasks {
        TaskFixed::of(t).push_vals(&mut vals);
        TaskState::of(t).push_vals(&mut vals);
    }
    if vals.is_empty() {
        return Ok(Default::default());
    }
    let rows =
        insert_values(conn, &format!("INTO tasks ({})", cols()), "ON CONFLICT DO NOTHING RETURNING id", vals).await?;
    rows.iter().map(|r| Ok(TaskId::parse(&r.try_get::<String, _>("id")?)?)).collect()
}

/// The tasks not done of any of these shipments.
pub async fn open_for_many(conn: &mut AnyConnection, shipments: &[ShipmentId]) -> Result<Vec<Task>> {
    let mut out = Vec::new();
    for chunk in crate::db::pow2_chunks(shipments, 512) {
        let sql = format!(
            "SELECT {} FROM tasks WHERE shipment_id IN ({}) AND status <> 'done' ORDER BY id",
            cols(),
            crate::db::params(conn, 0, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for s in chunk {
            q = q.bind(s.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push(from_row(&r)?);
        }
    }
    Ok(out)
}

/// [`update`] for many tasks.
pub async fn update_many(conn: &mut AnyConnection, tasks: &[Task]) -> Result<()> {
    let mut vals = Vec::with_capacity(tasks.len() * (1 + TaskState::COLUMNS.len()));
    for t in tasks {
        vals.push(Val::from(t.id.as_str()));
        TaskState::of(t).push_vals(&mut vals);
    }
    crate::bulk::update_values(conn, "tasks", "id", TaskState::COLUMNS, vals).await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &TaskId) -> Result<Option<Task>> {
    let sql = format!("SELECT {} FROM tasks WHERE id = $1", cols());
    sqlx::query(&sql).bind(id.as_str()).fetch_optional(conn).await?.as_ref().map(from_row).transpose()
}

/// Writes status, assignee and resolution back.
pub async fn update(conn: &mut AnyConnection, t: &Task) -> Result<()> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let mut vals = vec![Val::from(t.id.as_str())];
    TaskState::of(t).push_vals(&mut vals);
    crate::bulk::execute(conn, SQL.get_or_init(|| TaskState::update_sql("tasks", "id")), &vals).await?;
    Ok(())
}

#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub status: Option<TaskStatus>,
    /// Everything not done.
    pub active: bool,
    pub role: Option<Role>,
    pub kind: Option<AnomalyKind>,
    pub assignee: Option<String>,
    pub shipment: Option<ShipmentId>,
    pub order: Option<OrderId>,
    pub overdue_at: Option<OffsetDateTime>,
    /// Newest first, strictly before this id.
    pub before: Option<TaskId>,
    /// Soonest due first, paged by `offset` (the cursor is then ignored).
    pub by_due: bool,
    pub offset: i64,
}

pub async fn list(conn: &mut AnyConnection, f: &TaskFilter, limit: i64) -> Result<Vec<Task>> {
    let (mut sql, texts) = filtered(f, &format!("SELECT {} FROM tasks WHERE 1 = 1", cols()));
    if f.by_due {
        sql.push_str(&format!(
            " ORDER BY due_at ASC, id ASC LIMIT {} OFFSET {}",
            limit.clamp(1, 10_000),
            f.offset.max(0)
        ));
    } else {
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", limit.clamp(1, 10_000)));
    }
    let mut q = sqlx::query(&sql);
    for t in &texts {
        q = q.bind(t.as_str());
    }
    q.fetch_all(conn).await?.iter().map(from_row).collect()
}

/// How many tasks the filter matches, by kind (the cursor and order ignored).
pub async fn count_by_kind(conn: &mut AnyConnection, f: &TaskFilter) -> Result<Vec<(String, i64)>> {
    let unpaged = TaskFilter { before: None, ..f.clone() };
    let (mut sql, texts) = filtered(&unpaged, "SELECT kind, COUNT(*) AS n FROM tasks WHERE 1 = 1");
    sql.push_str(" GROUP BY kind ORDER BY kind");
    let mut q = sqlx::query(&sql);
    for t in &texts {
        q = q.bind(t.as_str());
    }
    q.fetch_all(conn).await?.iter().map(|r| Ok((r.try_get("kind")?, r.try_get("n")?))).collect()
}

/// `head` with the filter's conditions appended, and their arguments.
fn filtered(f: &TaskFilter, head: &str) -> (String, Vec<String>) {
    let mut sql = head.to_owned();
    let mut texts: Vec<String> = Vec::new();
    let mut push = |cond: &str, v: String, sql: &mut String| {
        texts.push(v);
        sql.push_str(&format!(" AND {cond} ${}", texts.len()));
    };
    if let Some(s) = f.status {
        push("status =", s.as_str().into(), &mut sql);
    }
    if f.active {
        sql.push_str(" AND status <> 'done'");
    }
    if let Some(r) = f.role {
        push("role =", r.as_str().into(), &mut sql);
    }
    if let Some(k) = f.kind {
        push("kind =", k.as_str().into(), &mut sql);
    }
    if let Some(a) = &f.assignee {
        push("assignee =", a.clone(), &mut sql);
    }
    if let Some(s) = &f.shipment {
        push("shipment_id =", s.to_string(), &mut sql);
    }
    if let Some(o) = &f.order {
        push("order_id =", o.to_string(), &mut sql);
    }
    if let (Some(b), false) = (&f.before, f.by_due) {
        push("id <", b.to_string(), &mut sql);
    }
    if let Some(t) = f.overdue_at {
        sql.push_str(&format!(" AND status <> 'done' AND due_at <= {}", micros(t)));
    }
    (sql, texts)
}

pub async fn add_note(conn: &mut AnyConnection, task: &TaskId, n: &Note) -> Result<()> {
    sqlx::query("INSERT INTO task_notes (task_id, id, author, body, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(task.as_str())
        .bind(&n.id)
        .bind(&n.author)
        .bind(&n.body)
        .bind(micros(n.at))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn notes(conn: &mut AnyConnection, task: &TaskId) -> Result<Vec<Note>> {
    let rows = sqlx::query("SELECT id, author, body, at FROM task_notes WHERE task_id = $1 ORDER BY id")
        .bind(task.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Note {
                id: r.try_get("id")?,
                author: r.try_get("author")?,
                body: r.try_get("body")?,
                at: from_micros(r.try_get("at")?),
            })
        })
        .collect()
}
