//! The inbox of shop orders (webhook deliveries and pulled orders, raw), each shop's pull position, and the
//! stock levels last told to each shop.

pub use codflow_domain::work::{Delivery, InboxStatus};
use codflow_domain::{InboxId, OrderId, ShopCode};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::bulk::{insert_values, row};
use crate::db::{from_micros, micros};
use crate::{Error, Result};

row!(
    /// A shop delivery as the inbox keeps it.
    DeliveryRow {
        id: String,
        store_code: String,
        source: String,
        topic: String,
        delivery_id: String,
        body: String,
        received_at: i64,
        status: String,
        attempts: i64,
        external_id: Option<String>,
        remote_updated_at: Option<i64>,
        order_id: Option<String>,
        outcome: Option<String>,
        error: Option<String>,
        processed_at: Option<i64>,
        notes: Option<String>,
    }
);

const COLS: &str = DeliveryRow::LIST;

impl DeliveryRow {
    fn of(d: &Delivery) -> DeliveryRow {
        DeliveryRow {
            id: d.id.to_string(),
            store_code: d.store.to_string(),
            source: d.source.clone(),
            topic: d.topic.clone(),
            delivery_id: d.delivery_id.clone(),
            body: d.body.clone(),
            received_at: micros(d.received_at),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            external_id: d.external_id.clone(),
            remote_updated_at: d.remote_updated_at.map(micros),
            order_id: d.order_id.as_ref().map(ToString::to_string),
            outcome: d.outcome.clone(),
            error: d.error.clone(),
            processed_at: d.processed_at.map(micros),
            notes: d.notes.clone(),
        }
    }
}

fn from_row(r: &AnyRow) -> Result<Delivery> {
    let status: String = r.try_get("status")?;
    Ok(Delivery {
        id: InboxId::parse(&r.try_get::<String, _>("id")?)?,
        store: ShopCode::parse(&r.try_get::<String, _>("store_code")?)?,
        source: r.try_get("source")?,
        topic: r.try_get("topic")?,
        delivery_id: r.try_get("delivery_id")?,
        body: r.try_get("body")?,
        received_at: from_micros(r.try_get("received_at")?),
        status: InboxStatus::parse(&status).ok_or_else(|| Error::Corrupt(format!("inbox status {status:?}")))?,
        attempts: r.try_get("attempts")?,
        external_id: r.try_get("external_id")?,
        remote_updated_at: r.try_get::<Option<i64>, _>("remote_updated_at")?.map(from_micros),
        order_id: r.try_get::<Option<String>, _>("order_id")?.map(|v| OrderId::parse(&v)).transpose()?,
        outcome: r.try_get("outcome")?,
        error: r.try_get("error")?,
        processed_at: r.try_get::<Option<i64>, _>("processed_at")?.map(from_micros),
        notes: r.try_get("notes")?,
    })
}

/// Stores deliveries; one whose (store, delivery id) is already here is left alone. Returns the delivery
/// ids that were new.
pub async fn receive(conn: &mut AnyConnection, items: &[Delivery]) -> Result<Vec<String>> {
    let mut vals = Vec::with_capacity(items.len() * DeliveryRow::COLUMNS.len());
    for d in items {
        DeliveryRow::of(d).push_vals(&mut vals);
    }
    if vals.is_empty() {
        return Ok(Vec::new());
    }
    let rows = insert_values(
        conn,
        &format!("INTO channel_inbox ({COLS})"),
        "ON CONFLICT (store_code, delivery_id) DO NOTHING RETURNING delivery_id",
        vals,
    )
    .await?;
    rows.iter().map(|r| Ok(r.try_get::<String, _>("delivery_id")?)).collect()
}

/// The oldest pending deliveries, in the order they arrived.
pub async fn pending(conn: &mut AnyConnection, limit: i64) -> Result<Vec<Delivery>> {
    let rows = sqlx::query(&format!("SELECT {COLS} FROM channel_inbox WHERE status = 'pending' ORDER BY id LIMIT $1"))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(conn: &mut AnyConnection, id: &InboxId) -> Result<Option<Delivery>> {
    let r = sqlx::query(&format!("SELECT {COLS} FROM channel_inbox WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// Records what processing a delivery came to.
pub async fn finish(conn: &mut AnyConnection, d: &Delivery) -> Result<()> {
    sqlx::query(
        "UPDATE channel_inbox SET status = $2, attempts = $3, external_id = $4, remote_updated_at = $5, \
         order_id = $6, outcome = $7, error = $8, processed_at = $9, notes = $10 WHERE id = $1",
    )
    .bind(d.id.as_str())
    .bind(d.status.as_str())
    .bind(d.attempts)
    .bind(d.external_id.clone())
    .bind(d.remote_updated_at.map(micros))
    .bind(d.order_id.as_ref().map(|o| o.as_str().to_owned()))
    .bind(d.outcome.clone())
    .bind(d.error.clone())
    .bind(d.processed_at.map(micros))
    .bind(d.notes.clone())
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest version of a shop order already applied (its remote change time), if any.
pub async fn newest_applied(
    conn: &mut AnyConnection,
    store: &ShopCode,
    external_id: &str,
) -> Result<Option<OffsetDateTime>> {
    let v: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(remote_updated_at) FROM channel_inbox WHERE store_code = $1 AND external_id = $2 \
         AND status = 'done' AND outcome <> 'stale'",
    )
    .bind(store.as_str())
    .bind(external_id)
    .fetch_one(conn)
    .await?;
    Ok(v.map(from_micros))
}

/// Deletes the deliveries done before `before`; returns how many.
pub async fn prune_done(conn: &mut AnyConnection, before: OffsetDateTime) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM channel_inbox WHERE status = 'done' AND processed_at < $1")
        .bind(micros(before))
        .execute(conn)
        .await?
        .rows_affected())
}

/// Puts a failed delivery back in the queue; false when it is not failed.
pub async fn retry(conn: &mut AnyConnection, id: &InboxId) -> Result<bool> {
    let n =
        sqlx::query("UPDATE channel_inbox SET status = 'pending', error = NULL WHERE id = $1 AND status = 'failed'")
            .bind(id.as_str())
            .execute(conn)
            .await?
            .rows_affected();
    Ok(n == 1)
}

/// A shop's deliveries, newest first, optionally of one status, before a cursor id.
pub async fn list(
    conn: &mut AnyConnection,
    store: &ShopCode,
    status: Option<InboxStatus>,
    before: Option<&InboxId>,
    limit: i64,
) -> Result<Vec<Delivery>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM channel_inbox WHERE store_code = $1 AND (CAST($2 AS TEXT) IS NULL OR status = $2) \
         AND (CAST($3 AS TEXT) IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
    ))
    .bind(store.as_str())
    .bind(status.map(|s| s.as_str()))
    .bind(before.map(|b| b.as_str().to_owned()))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// How a shop's inbox stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InboxCounts {
    pub pending: i64,
    pub failed: i64,
    pub done: i64,
    pub oldest_pending_at: Option<OffsetDateTime>,
    pub last_received_at: Option<OffsetDateTime>,
    pub last_processed_at: Option<OffsetDateTime>,
}

pub async fn counts(conn: &mut AnyConnection, store: &ShopCode) -> Result<InboxCounts> {
    let r = sqlx::query(
        "SELECT \
           SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending, \
           SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed, \
           SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END) AS done, \
           MIN(CASE WHEN status = 'pending' THEN received_at END) AS oldest, \
           MAX(received_at) AS last_received, MAX(processed_at) AS last_processed \
         FROM channel_inbox WHERE store_code = $1",
    )
    .bind(store.as_str())
    .fetch_one(conn)
    .await?;
    Ok(InboxCounts {
        pending: r.try_get::<Option<i64>, _>("pending")?.unwrap_or(0),
        failed: r.try_get::<Option<i64>, _>("failed")?.unwrap_or(0),
        done: r.try_get::<Option<i64>, _>("done")?.unwrap_or(0),
        oldest_pending_at: r.try_get::<Option<i64>, _>("oldest")?.map(from_micros),
        last_received_at: r.try_get::<Option<i64>, _>("last_received")?.map(from_micros),
        last_processed_at: r.try_get::<Option<i64>, _>("last_processed")?.map(from_micros),
    })
}

/// Where a shop's pull stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncState {
    pub pulled_until: Option<OffsetDateTime>,
    pub last_pull_at: Option<OffsetDateTime>,
    pub last_success_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub last_error_at: Option<OffsetDateTime>,
    pub pulled_total: i64,
}

pub async fn sync_state(conn: &mut AnyConnection, store: &ShopCode) -> Result<SyncState> {
    let r = sqlx::query(
        "SELECT pulled_until, last_pull_at, last_success_at, last_error, last_error_at, pulled_total \
         FROM channel_sync WHERE store_code = $1",
    )
    .bind(store.as_str())
    .fetch_optional(conn)
    .await?;
    let Some(r) = r else { return Ok(SyncState::default()) };
    let t = |c: &str| -> Result<Option<OffsetDateTime>> { Ok(r.try_get::<Option<i64>, _>(c)?.map(from_micros)) };
    Ok(SyncState {
        pulled_until: t("pulled_until")?,
        last_pull_at: t("last_pull_at")?,
        last_success_at: t("last_success_at")?,
        last_error: r.try_get("last_error")?,
        last_error_at: t("last_error_at")?,
        pulled_total: r.try_get("pulled_total")?,
    })
}

pub async fn save_sync(conn: &mut AnyConnection, store: &ShopCode, s: &SyncState) -> Result<()> {
    sqlx::query(
        "INSERT INTO channel_sync (store_code, pulled_until, last_pull_at, last_success_at, last_error, last_error_at, \
         pulled_total) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (store_code) DO UPDATE SET \
         pulled_until = excluded.pulled_until, last_pull_at = excluded.last_pull_at, \
         last_success_at = excluded.last_success_at, last_error = excluded.last_error, \
         last_error_at = excluded.last_error_at, pulled_total = excluded.pulled_total",
    )
    .bind(store.as_str())
    .bind(s.pulled_until.map(micros))
    .bind(s.last_pull_at.map(micros))
    .bind(s.last_success_at.map(micros))
    .bind(s.last_error.clone())
    .bind(s.last_error_at.map(micros))
    .bind(s.pulled_total)
    .execute(conn)
    .await?;
    Ok(())
}

/// The stock level a shop was last told for each SKU.
pub async fn pushed_stock(conn: &mut AnyConnection, store: &ShopCode) -> Result<Vec<(String, Option<i64>, String)>> {
    let rows = sqlx::query("SELECT sku, pushed, status FROM channel_stock WHERE store_code = $1")
        .bind(store.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("sku")?, r.try_get("pushed")?, r.try_get("status")?))).collect()
}

pub async fn save_stock(
    conn: &mut AnyConnection,
    store: &ShopCode,
    sku: &str,
    pushed: Option<i64>,
    status: &str,
    error: Option<&str>,
    at: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO channel_stock (store_code, sku, pushed, status, error, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (store_code, sku) DO UPDATE SET pushed = excluded.pushed, status = excluded.status, \
         error = excluded.error, updated_at = excluded.updated_at",
    )
    .bind(store.as_str())
    .bind(sku)
    .bind(pushed)
    .bind(status)
    .bind(error)
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Units free to sell per SKU: in one warehouse, or summed over all of them when `warehouse` is None.
pub async fn available_by_sku(conn: &mut AnyConnection, warehouse: Option<&str>) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT p.sku, CAST(SUM(s.on_hand - s.reserved) AS BIGINT) AS available FROM stock s \
         JOIN warehouses w ON w.id = s.warehouse_id JOIN products p ON p.id = s.product_id \
         WHERE ($1 = '' OR w.code = $1) GROUP BY p.sku ORDER BY p.sku",
    )
    .bind(warehouse.unwrap_or(""))
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("sku")?, r.try_get::<i64, _>("available")?.max(0)))).collect()
}
