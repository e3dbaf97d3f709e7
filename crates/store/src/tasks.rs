//! Tasks for people: opened by anomalies (at most one open per shipment and kind, enforced by a partial
//! unique index so concurrent nodes cannot open two) or by hand, worked through open → in progress → done.

use codflow_domain::anomaly::AnomalyKind;
pub use codflow_domain::work::{Note, Task, TaskStatus};
use codflow_domain::{OrderId, Role, ShipmentId, TaskId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::bulk::{Val, insert_values};
use crate::db::{from_micros, micros};
use crate::{Error, Result};

const COLS: &str = "id, kind, shipment_id, order_id, role, status, title, due_at, assignee, opened_by, resolution, \
    created_at, updated_at, closed_at";

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
    let mut vals = Vec::with_capacity(tasks.len() * 14);
    for t in tasks {
        vals.extend([
            Val::from(t.id.as_str()),
            t.kind.as_str().into(),
            t.shipment_id.as_ref().map(|s| s.as_str().to_owned()).into(),
            t.order_id.as_ref().map(|s| s.as_str().to_owned()).into(),
            t.role.as_str().into(),
            t.status.as_str().into(),
            t.title.as_str().into(),
            micros(t.due_at).into(),
            t.assignee.clone().into(),
            t.opened_by.as_str().into(),
            t.resolution.clone().into(),
            micros(t.created_at).into(),
            micros(t.updated_at).into(),
            t.closed_at.map(micros).into(),
        ]);
    }
    if vals.is_empty() {
        return Ok(Default::default());
    }
    let rows =
        insert_values(conn, &format!("INTO tasks ({COLS})"), "ON CONFLICT DO NOTHING RETURNING id", 14, vals).await?;
    rows.iter().map(|r| Ok(TaskId::parse(&r.try_get::<String, _>("id")?)?)).collect()
}

/// The tasks not done of any of these shipments.
pub async fn open_for_many(conn: &mut AnyConnection, shipments: &[ShipmentId]) -> Result<Vec<Task>> {
    let mut out = Vec::new();
    for chunk in crate::db::pow2_chunks(shipments, 512) {
        let sql = format!(
            "SELECT {COLS} FROM tasks WHERE shipment_id IN ({}) AND status <> 'done' ORDER BY id",
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
    let mut vals = Vec::with_capacity(tasks.len() * 7);
    for t in tasks {
        vals.extend([
            Val::from(t.id.as_str()),
            t.status.as_str().into(),
            t.assignee.clone().into(),
            t.resolution.clone().into(),
            micros(t.updated_at).into(),
            t.closed_at.map(micros).into(),
            micros(t.due_at).into(),
        ]);
    }
    let cols = ["status", "assignee", "resolution", "updated_at", "closed_at", "due_at"];
    crate::bulk::update_values(conn, "tasks", "id", &cols, vals).await?;
    Ok(())
}

pub async fn get(conn: &mut AnyConnection, id: &TaskId) -> Result<Option<Task>> {
    let sql = format!("SELECT {COLS} FROM tasks WHERE id = $1");
    sqlx::query(&sql).bind(id.as_str()).fetch_optional(conn).await?.as_ref().map(from_row).transpose()
}

/// Writes status, assignee and resolution back.
pub async fn update(conn: &mut AnyConnection, t: &Task) -> Result<()> {
    sqlx::query(
        "UPDATE tasks SET status = $2, assignee = $3, resolution = $4, updated_at = $5, closed_at = $6, due_at = $7 \
         WHERE id = $1",
    )
    .bind(t.id.as_str())
    .bind(t.status.as_str())
    .bind(t.assignee.as_deref())
    .bind(t.resolution.as_deref())
    .bind(micros(t.updated_at))
    .bind(t.closed_at.map(micros))
    .bind(micros(t.due_at))
    .execute(conn)
    .await?;
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
}

pub async fn list(conn: &mut AnyConnection, f: &TaskFilter, limit: i64) -> Result<Vec<Task>> {
    let mut sql = format!("SELECT {COLS} FROM tasks WHERE 1 = 1");
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
    if let Some(b) = &f.before {
        push("id <", b.to_string(), &mut sql);
    }
    if let Some(t) = f.overdue_at {
        sql.push_str(&format!(" AND status <> 'done' AND due_at <= {}", micros(t)));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", limit.clamp(1, 10_000)));
    let mut q = sqlx::query(&sql);
    for t in &texts {
        q = q.bind(t.as_str());
    }
    q.fetch_all(conn).await?.iter().map(from_row).collect()
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
