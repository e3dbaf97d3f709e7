//! Shops (sales channel stores) and the outbox of updates owed to them.

pub use codflow_domain::work::{Push, PushEvent};
use std::collections::HashSet;

use codflow_domain::shop::{Platform, ShopConfig};
use codflow_domain::{OrderId, PushId, ShipmentId, ShopCode, WarehouseCode};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::bulk::{insert_values, row};
use crate::db::{from_micros, micros};
pub use crate::outbox::Status;
use crate::{Error, Result};

/// A shop as stored: its settings and its secrets, sealed by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopRow {
    pub config: ShopConfig,
    pub credentials: Option<String>,
    pub webhook_secret: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const STORE_COLS: &str = "code, platform, name, base_url, credentials, webhook_secret, cod_gateways, \
    default_warehouse, push_fulfilment, enabled, created_at, updated_at";

fn store_from(r: &AnyRow) -> Result<ShopRow> {
    let gateways: String = r.try_get("cod_gateways")?;
    Ok(ShopRow {
        config: ShopConfig {
            code: ShopCode::parse(&r.try_get::<String, _>("code")?)?,
            platform: Platform::parse(&r.try_get::<String, _>("platform")?)?,
            name: r.try_get("name")?,
            base_url: r.try_get("base_url")?,
            cod_gateways: serde_json::from_str(&gateways)
                .map_err(|e| Error::Corrupt(format!("store cod_gateways {gateways:?}: {e}")))?,
            default_warehouse: r
                .try_get::<Option<String>, _>("default_warehouse")?
                .map(|w| WarehouseCode::parse(&w))
                .transpose()?,
            push_fulfilment: r.try_get::<i64, _>("push_fulfilment")? != 0,
            enabled: r.try_get::<i64, _>("enabled")? != 0,
        },
        credentials: r.try_get("credentials")?,
        webhook_secret: r.try_get("webhook_secret")?,
        created_at: from_micros(r.try_get("created_at")?),
        updated_at: from_micros(r.try_get("updated_at")?),
    })
}

pub async fn get(conn: &mut AnyConnection, code: &ShopCode) -> Result<Option<ShopRow>> {
    let r = sqlx::query(&format!("SELECT {STORE_COLS} FROM stores WHERE code = $1"))
        .bind(code.as_str())
        .fetch_optional(conn)
        .await?;
    r.as_ref().map(store_from).transpose()
}

pub async fn list(conn: &mut AnyConnection) -> Result<Vec<ShopRow>> {
    let rows = sqlx::query(&format!("SELECT {STORE_COLS} FROM stores ORDER BY code")).fetch_all(conn).await?;
    rows.iter().map(store_from).collect()
}

/// Inserts or replaces a shop; secrets left `None` keep what is stored.
pub async fn put(conn: &mut AnyConnection, s: &ShopRow) -> Result<()> {
    let c = &s.config;
    let gateways = serde_json::to_string(&c.cod_gateways).map_err(|e| Error::Corrupt(e.to_string()))?;
    sqlx::query(&format!(
        "INSERT INTO stores ({STORE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (code) DO UPDATE SET platform = excluded.platform, name = excluded.name, \
         base_url = excluded.base_url, credentials = COALESCE(excluded.credentials, stores.credentials), \
         webhook_secret = COALESCE(excluded.webhook_secret, stores.webhook_secret), \
         cod_gateways = excluded.cod_gateways, default_warehouse = excluded.default_warehouse, \
         push_fulfilment = excluded.push_fulfilment, enabled = excluded.enabled, updated_at = excluded.updated_at"
    ))
    .bind(c.code.as_str())
    .bind(c.platform.as_str())
    .bind(c.name.as_str())
    .bind(c.base_url.clone())
    .bind(s.credentials.clone())
    .bind(s.webhook_secret.clone())
    .bind(gateways)
    .bind(c.default_warehouse.as_ref().map(|w| w.as_str().to_owned()))
    .bind(i64::from(c.push_fulfilment))
    .bind(i64::from(c.enabled))
    .bind(micros(s.created_at))
    .bind(micros(s.updated_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether this shop wants to hear about its parcels.
pub async fn is_pushing(conn: &mut AnyConnection, code: &ShopCode) -> Result<bool> {
    let r = sqlx::query(&format!("SELECT 1 FROM stores WHERE code = $1 AND {PUSHING}"))
        .bind(code.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(r.is_some())
}

const PUSHING: &str = "enabled = 1 AND push_fulfilment = 1 AND platform IN ('shopify', 'woocommerce')";

/// Codes of the shops that want to hear about their parcels.
pub async fn pushing(conn: &mut AnyConnection) -> Result<HashSet<String>> {
    let rows = sqlx::query(&format!("SELECT code FROM stores WHERE {PUSHING}")).fetch_all(conn).await?;
    rows.iter().map(|r| Ok(r.try_get::<String, _>(0)?)).collect()
}

row!(
    /// An update owed to a shop as its queue keeps it.
    PushRow {
        id: String,
        store_code: String,
        order_id: String,
        shipment_id: String,
        event: String,
        event_at: i64,
        status: String,
        attempts: i64,
        next_attempt_at: i64,
        last_error: Option<String>,
        remote_ref: Option<String>,
        created_at: i64,
        sent_at: Option<i64>,
    }
);

const PUSH_COLS: &str = PushRow::LIST;

impl PushRow {
    fn of(p: &Push) -> PushRow {
        PushRow {
            id: p.id.to_string(),
            store_code: p.store.to_string(),
            order_id: p.order_id.to_string(),
            shipment_id: p.shipment_id.to_string(),
            event: p.event.as_str().to_owned(),
            event_at: micros(p.event_at),
            status: p.status.as_str().to_owned(),
            attempts: p.attempts,
            next_attempt_at: micros(p.next_attempt_at),
            last_error: p.last_error.clone(),
            remote_ref: p.remote_ref.clone(),
            created_at: micros(p.created_at),
            sent_at: p.sent_at.map(micros),
        }
    }
}

fn push_from(r: &AnyRow) -> Result<Push> {
    let bad = |what: &str, v: String| Error::Corrupt(format!("channel push {what} {v:?}"));
    let event: String = r.try_get("event")?;
    let status: String = r.try_get("status")?;
    Ok(Push {
        id: PushId::parse(&r.try_get::<String, _>("id")?)?,
        store: ShopCode::parse(&r.try_get::<String, _>("store_code")?)?,
        order_id: OrderId::parse(&r.try_get::<String, _>("order_id")?)?,
        shipment_id: ShipmentId::parse(&r.try_get::<String, _>("shipment_id")?)?,
        event: PushEvent::parse(&event).ok_or_else(|| bad("event", event.clone()))?,
        event_at: from_micros(r.try_get("event_at")?),
        status: Status::parse(&status).ok_or_else(|| bad("status", status.clone()))?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: from_micros(r.try_get("next_attempt_at")?),
        last_error: r.try_get("last_error")?,
        remote_ref: r.try_get("remote_ref")?,
        created_at: from_micros(r.try_get("created_at")?),
        sent_at: r.try_get::<Option<i64>, _>("sent_at")?.map(from_micros),
    })
}

/// Queues updates in the caller's transaction; one already queued for its (shipment, event) is kept.
pub async fn enqueue(conn: &mut AnyConnection, items: &[Push]) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut vals = Vec::with_capacity(items.len() * PushRow::COLUMNS.len());
    for p in items {
        PushRow::of(p).push_vals(&mut vals);
    }
    insert_values(
        conn,
        &format!("INTO channel_pushes ({PUSH_COLS})"),
        "ON CONFLICT (shipment_id, event) DO NOTHING",
        vals,
    )
    .await?;
    Ok(())
}

/// Claims up to `limit` due updates until `lease_until` and counts the attempt; a lease that ran out (its
/// sender died) is due again. The outer status test re-checks rows another node claimed meanwhile.
pub async fn claim_due(
    conn: &mut AnyConnection,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Push>> {
    let due = "status IN ('pending', 'sending') AND next_attempt_at <= $1";
    let rows = sqlx::query(&format!(
        "UPDATE channel_pushes SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2 \
         WHERE {due} AND id IN (SELECT id FROM channel_pushes WHERE {due} ORDER BY next_attempt_at LIMIT $3) \
         RETURNING {PUSH_COLS}"
    ))
    .bind(micros(now))
    .bind(micros(lease_until))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(push_from).collect()
}

pub async fn mark_sent(
    conn: &mut AnyConnection,
    id: &PushId,
    remote_ref: Option<&str>,
    at: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "UPDATE channel_pushes SET status = 'sent', sent_at = $2, remote_ref = $3, last_error = NULL WHERE id = $1",
    )
    .bind(id.as_str())
    .bind(micros(at))
    .bind(remote_ref)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt: due again at `retry_at`, or dead when that is None.
pub async fn mark_failed(
    conn: &mut AnyConnection,
    id: &PushId,
    error: &str,
    retry_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<()> {
    crate::outbox::mark_failed_in(conn, "channel_pushes", id.as_str(), error, retry_at, now).await
}

/// Puts a dead update back in the queue for another round of attempts.
pub async fn retry(conn: &mut AnyConnection, id: &PushId, now: OffsetDateTime) -> Result<bool> {
    crate::outbox::retry_in(conn, "channel_pushes", id.as_str(), now).await
}

#[derive(Debug, Default, Clone)]
pub struct PushFilter {
    pub status: Option<Status>,
    pub store: Option<ShopCode>,
    pub order: Option<OrderId>,
    pub before: Option<PushId>,
}

/// Newest first, `limit + 1` rows.
pub async fn list_pushes(conn: &mut AnyConnection, f: &PushFilter, limit: i64) -> Result<Vec<Push>> {
    let rows = sqlx::query(&format!(
        "SELECT {PUSH_COLS} FROM channel_pushes WHERE ($1 = '' OR status = $1) AND ($2 = '' OR store_code = $2) \
         AND ($3 = '' OR order_id = $3) AND ($4 = '' OR id < $4) ORDER BY id DESC LIMIT $5"
    ))
    .bind(f.status.map(|s| s.as_str()).unwrap_or(""))
    .bind(f.store.as_ref().map(|o| o.as_str()).unwrap_or(""))
    .bind(f.order.as_ref().map(|o| o.as_str()).unwrap_or(""))
    .bind(f.before.as_ref().map(|o| o.as_str()).unwrap_or(""))
    .bind(limit + 1)
    .fetch_all(conn)
    .await?;
    rows.iter().map(push_from).collect()
}
