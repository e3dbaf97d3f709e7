//! The notification outbox and the seller's template edits.

pub use codflow_domain::work::{MessageChannel as Channel, Notification, SendStatus as Status};
use codflow_domain::{NotificationId, OrderId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::bulk::{insert_values, row};
use crate::db::{from_micros, micros};
use crate::{Error, Result};

row!(
    /// A buyer message as its table keeps it.
    NotificationRow {
        id: String,
        order_id: String,
        template: String,
        channel: String,
        event_key: String,
        recipient: String,
        language: String,
        subject: Option<String>,
        body: String,
        status: String,
        attempts: i64,
        next_attempt_at: i64,
        last_error: Option<String>,
        created_at: i64,
        sent_at: Option<i64>,
    }
);

const COLS: &str = NotificationRow::LIST;

impl NotificationRow {
    fn of(n: &Notification) -> NotificationRow {
        NotificationRow {
            id: n.id.to_string(),
            order_id: n.order_id.to_string(),
            template: n.template.clone(),
            channel: n.channel.as_str().to_owned(),
            event_key: n.event_key.clone(),
            recipient: n.recipient.clone(),
            language: n.language.clone(),
            subject: n.subject.clone(),
            body: n.body.clone(),
            status: n.status.as_str().to_owned(),
            attempts: n.attempts,
            next_attempt_at: micros(n.next_attempt_at),
            last_error: n.last_error.clone(),
            created_at: micros(n.created_at),
            sent_at: n.sent_at.map(micros),
        }
    }
}

fn from_row(r: &AnyRow) -> Result<Notification> {
    let bad = |what: &str, v: String| Error::Corrupt(format!("notification {what} {v:?}"));
    let channel: String = r.try_get("channel")?;
    let status: String = r.try_get("status")?;
    Ok(Notification {
        id: NotificationId::parse(&r.try_get::<String, _>("id")?)?,
        order_id: OrderId::parse(&r.try_get::<String, _>("order_id")?)?,
        template: r.try_get("template")?,
        channel: Channel::parse(&channel).ok_or_else(|| bad("channel", channel.clone()))?,
        event_key: r.try_get("event_key")?,
        recipient: r.try_get("recipient")?,
        language: r.try_get("language")?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        status: Status::parse(&status).ok_or_else(|| bad("status", status.clone()))?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: from_micros(r.try_get("next_attempt_at")?),
        last_error: r.try_get("last_error")?,
        created_at: from_micros(r.try_get("created_at")?),
        sent_at: r.try_get::<Option<i64>, _>("sent_at")?.map(from_micros),
    })
}

/// Queues messages in the caller's transaction; a message for an (order, template, channel) that is already
/// queued is not queued again.
pub async fn enqueue(conn: &mut AnyConnection, items: &[Notification]) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut vals = Vec::with_capacity(items.len() * NotificationRow::COLUMNS.len());
    for n in items {
        NotificationRow::of(n).push_vals(&mut vals);
    }
    insert_values(
        conn,
        &format!("INTO notifications ({COLS})"),
        "ON CONFLICT (order_id, template, channel, event_key) DO NOTHING",
        vals,
    )
    .await?;
    Ok(())
}

/// Claims up to `limit` due messages of the given channels until `lease_until` and counts the attempt. A message whose lease ran
/// out (its dispatcher died mid-send) is due again. The status test is repeated in the outer statement so
/// that on PostgreSQL a row claimed meanwhile by another node is re-checked and skipped.
pub async fn claim_due(
    conn: &mut AnyConnection,
    channels: &[Channel],
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Notification>> {
    if channels.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = channels.iter().map(|c| format!("'{}'", c.as_str())).collect();
    let due =
        format!("status IN ('pending', 'sending') AND next_attempt_at <= $1 AND channel IN ({})", names.join(", "));
    let sql = format!(
        "UPDATE notifications SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2 \
         WHERE {due} AND id IN (SELECT id FROM notifications WHERE {due} ORDER BY next_attempt_at LIMIT $3) \
         RETURNING {COLS}"
    );
    let rows = sqlx::query(&sql).bind(micros(now)).bind(micros(lease_until)).bind(limit).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

pub async fn mark_sent(conn: &mut AnyConnection, id: &NotificationId, at: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE notifications SET status = 'sent', sent_at = $2, last_error = NULL WHERE id = $1")
        .bind(id.as_str())
        .bind(micros(at))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a failed attempt: due again at `retry_at`, or dead when that is None.
pub async fn mark_failed(
    conn: &mut AnyConnection,
    id: &NotificationId,
    error: &str,
    retry_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<()> {
    mark_failed_in(conn, "notifications", id.as_str(), error, retry_at, now).await
}

/// A failed attempt in any outbox table of this shape (`status`, `last_error`, `next_attempt_at`, `attempts`).
pub(crate) async fn mark_failed_in(
    conn: &mut AnyConnection,
    table: &'static str,
    id: &str,
    error: &str,
    retry_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<()> {
    let (status, next) = match retry_at {
        Some(t) => (Status::Pending, t),
        None => (Status::Dead, now),
    };
    sqlx::query(&format!("UPDATE {table} SET status = $2, last_error = $3, next_attempt_at = $4 WHERE id = $1"))
        .bind(id)
        .bind(status.as_str())
        .bind(error)
        .bind(micros(next))
        .execute(conn)
        .await?;
    Ok(())
}

/// Puts a dead message back in the queue for one more round of attempts.
pub async fn retry(conn: &mut AnyConnection, id: &NotificationId, now: OffsetDateTime) -> Result<bool> {
    retry_in(conn, "notifications", id.as_str(), now).await
}

pub(crate) async fn retry_in(
    conn: &mut AnyConnection,
    table: &'static str,
    id: &str,
    now: OffsetDateTime,
) -> Result<bool> {
    let n = sqlx::query(&format!(
        "UPDATE {table} SET status = 'pending', attempts = 0, next_attempt_at = $2 WHERE id = $1 AND status = 'dead'"
    ))
    .bind(id)
    .bind(micros(now))
    .execute(conn)
    .await?;
    Ok(n.rows_affected() == 1)
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub status: Option<Status>,
    pub order: Option<OrderId>,
    pub before: Option<NotificationId>,
}

/// Newest first, `limit + 1` rows.
pub async fn list(conn: &mut AnyConnection, f: &Filter, limit: i64) -> Result<Vec<Notification>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM notifications WHERE ($1 = '' OR status = $1) AND ($2 = '' OR order_id = $2) \
         AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4"
    ))
    .bind(f.status.map(|s| s.as_str()).unwrap_or(""))
    .bind(f.order.as_ref().map(|o| o.as_str()).unwrap_or(""))
    .bind(f.before.as_ref().map(|o| o.as_str()).unwrap_or(""))
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTemplate {
    pub name: String,
    pub language: String,
    pub subject: String,
    pub body: String,
    pub sms: String,
}

pub async fn templates(conn: &mut AnyConnection) -> Result<Vec<StoredTemplate>> {
    let rows =
        sqlx::query("SELECT name, language, subject, body, sms FROM notification_templates ORDER BY name, language")
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredTemplate {
                name: r.try_get("name")?,
                language: r.try_get("language")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                sms: r.try_get("sms")?,
            })
        })
        .collect()
}

pub async fn put_template(conn: &mut AnyConnection, t: &StoredTemplate, at: OffsetDateTime) -> Result<()> {
    sqlx::query(
        "INSERT INTO notification_templates (name, language, subject, body, sms, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (name, language) DO UPDATE SET subject = excluded.subject, body = excluded.body, sms = excluded.sms, \
         updated_at = excluded.updated_at",
    )
    .bind(t.name.as_str())
    .bind(t.language.as_str())
    .bind(t.subject.as_str())
    .bind(t.body.as_str())
    .bind(t.sms.as_str())
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}
