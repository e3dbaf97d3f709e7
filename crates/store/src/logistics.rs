//! Channels, duty rules and shipments. Channels and duty rules are stored in their written form (the
//! JSON of `ChannelSpec`/`DutyRuleSpec`) and parsed when loaded; a row that no longer parses is reported
//! as corrupt rather than skipped.

use codflow_domain::rating::{Channel, ChannelSpec, DutyRule, DutyRuleSpec};
pub use codflow_domain::work::{BookingStatus, Shipment};
use codflow_domain::{ChannelCode, Currency, Money, OrderId, ShipmentId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::db::{from_micros, micros};
use crate::{Error, Result};

fn channel_from(spec: &str) -> Result<Channel> {
    let spec: ChannelSpec = serde_json::from_str(spec).map_err(|e| Error::Corrupt(format!("channel: {e}")))?;
    spec.parse().map_err(|e| Error::Corrupt(format!("channel {}: {:?}", spec.code, e.0)))
}

/// Every channel, by priority (highest first) then code.
pub async fn channels(conn: &mut AnyConnection) -> Result<Vec<Channel>> {
    let rows = sqlx::query("SELECT spec FROM channels ORDER BY priority DESC, code").fetch_all(conn).await?;
    rows.iter().map(|r| channel_from(&r.try_get::<String, _>("spec")?)).collect()
}

pub async fn channel(conn: &mut AnyConnection, code: &ChannelCode) -> Result<Option<Channel>> {
    let row = sqlx::query("SELECT spec FROM channels WHERE code = $1").bind(code.as_str()).fetch_optional(conn).await?;
    row.map(|r| channel_from(&r.try_get::<String, _>("spec")?)).transpose()
}

/// Creates or replaces a channel; true when it was new.
pub async fn put_channel(conn: &mut AnyConnection, ch: &Channel, at: OffsetDateTime) -> Result<bool> {
    let spec = serde_json::to_string(&ch.to_spec()).map_err(|e| Error::Corrupt(e.to_string()))?;
    let existed = sqlx::query("SELECT 1 AS one FROM channels WHERE code = $1")
        .bind(ch.code.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    sqlx::query(
        "INSERT INTO channels (code, carrier, enabled, priority, spec, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (code) DO UPDATE SET carrier = excluded.carrier, \
         enabled = excluded.enabled, priority = excluded.priority, spec = excluded.spec, updated_at = excluded.updated_at",
    )
    .bind(ch.code.as_str())
    .bind(ch.carrier.as_str())
    .bind(ch.enabled as i64)
    .bind(ch.priority)
    .bind(spec)
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(!existed)
}

/// Removes a channel no shipment refers to. Ok(false) when there was no such channel.
pub async fn delete_channel(conn: &mut AnyConnection, code: &ChannelCode) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM channels WHERE code = $1").bind(code.as_str()).execute(conn).await?.rows_affected() > 0)
}

pub async fn channel_in_use(conn: &mut AnyConnection, code: &ChannelCode) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 AS one FROM shipments WHERE channel = $1 LIMIT 1")
        .bind(code.as_str())
        .fetch_optional(conn)
        .await?
        .is_some())
}

fn duty_from(spec: &str) -> Result<DutyRule> {
    let spec: DutyRuleSpec = serde_json::from_str(spec).map_err(|e| Error::Corrupt(format!("duty rule: {e}")))?;
    spec.parse().map_err(|e| Error::Corrupt(format!("duty rule {}: {:?}", spec.country, e.0)))
}

pub async fn duty_rules(conn: &mut AnyConnection) -> Result<Vec<DutyRule>> {
    let rows = sqlx::query("SELECT spec FROM duty_rules ORDER BY country, effective_from").fetch_all(conn).await?;
    rows.iter().map(|r| duty_from(&r.try_get::<String, _>("spec")?)).collect()
}

/// Creates or replaces the rule of a country effective from a day.
pub async fn put_duty_rule(conn: &mut AnyConnection, r: &DutyRule, at: OffsetDateTime) -> Result<()> {
    let spec = r.to_spec();
    let json = serde_json::to_string(&spec).map_err(|e| Error::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO duty_rules (country, effective_from, spec, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (country, effective_from) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
    )
    .bind(spec.country)
    .bind(spec.effective_from)
    .bind(json)
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_duty_rule(conn: &mut AnyConnection, country: &str, effective_from: &str) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM duty_rules WHERE country = $1 AND effective_from = $2")
        .bind(country)
        .bind(effective_from)
        .execute(conn)
        .await?
        .rows_affected()
        > 0)
}

const COLS: &str = "id, order_id, channel, carrier, status, attempts, tracking_number, carrier_ref, label, last_error, \
    weight_g, pieces, cod_minor, cod_currency, sort_code, created_at, updated_at, booked_at";

fn from_row(r: &AnyRow) -> Result<Shipment> {
    let s = |c: &str| r.try_get::<String, _>(c);
    let os = |c: &str| r.try_get::<Option<String>, _>(c);
    Ok(Shipment {
        id: ShipmentId::parse(&s("id")?)?,
        order_id: OrderId::parse(&s("order_id")?)?,
        channel: ChannelCode::parse(&s("channel")?)?,
        carrier: s("carrier")?,
        status: {
            let st = s("status")?;
            BookingStatus::parse(&st).ok_or_else(|| Error::Corrupt(format!("booking status {st:?}")))?
        },
        attempts: r.try_get("attempts")?,
        tracking_number: os("tracking_number")?,
        carrier_ref: os("carrier_ref")?,
        label: os("label")?,
        last_error: os("last_error")?,
        weight_g: r.try_get("weight_g")?,
        pieces: r.try_get("pieces")?,
        cod: Money::new(r.try_get("cod_minor")?, Currency::parse(&s("cod_currency")?)?),
        sort_code: os("sort_code")?,
        created_at: from_micros(r.try_get("created_at")?),
        updated_at: from_micros(r.try_get("updated_at")?),
        booked_at: r.try_get::<Option<i64>, _>("booked_at")?.map(from_micros),
    })
}

/// Queues a booking. Ok(false) when the order already has a live shipment (the unique index decides, so
/// two nodes queueing the same order at once make one row).
pub async fn insert_shipment(conn: &mut AnyConnection, s: &Shipment) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO shipments (id, order_id, channel, carrier, status, attempts, lease_until, weight_g, pieces, \
         cod_minor, cod_currency, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, 0, $6, $7, $8, $9, $10, $10) \
         ON CONFLICT DO NOTHING",
    )
    .bind(s.id.as_str())
    .bind(s.order_id.as_str())
    .bind(s.channel.as_str())
    .bind(s.carrier.as_str())
    .bind(s.status.as_str())
    .bind(s.weight_g)
    .bind(s.pieces)
    .bind(s.cod.minor)
    .bind(s.cod.currency.code())
    .bind(micros(s.created_at))
    .execute(conn)
    .await?;
    Ok(n.rows_affected() > 0)
}

pub async fn shipment(conn: &mut AnyConnection, id: &ShipmentId) -> Result<Option<Shipment>> {
    let sql = format!("SELECT {COLS} FROM shipments WHERE id = $1");
    sqlx::query(&sql).bind(id.as_str()).fetch_optional(conn).await?.as_ref().map(from_row).transpose()
}

/// The order's live shipment, if any.
pub async fn live_shipment(conn: &mut AnyConnection, order: &OrderId) -> Result<Option<Shipment>> {
    let sql = format!("SELECT {COLS} FROM shipments WHERE order_id = $1 AND status <> 'cancelled'");
    sqlx::query(&sql).bind(order.as_str()).fetch_optional(conn).await?.as_ref().map(from_row).transpose()
}

/// The shipment with this carrier tracking number (waybill), whatever its state.
pub async fn shipment_by_tracking(conn: &mut AnyConnection, tracking: &str) -> Result<Option<Shipment>> {
    let sql = format!("SELECT {COLS} FROM shipments WHERE tracking_number = $1");
    sqlx::query(&sql).bind(tracking).fetch_optional(conn).await?.as_ref().map(from_row).transpose()
}

pub async fn shipments_of(conn: &mut AnyConnection, order: &OrderId) -> Result<Vec<Shipment>> {
    let sql = format!("SELECT {COLS} FROM shipments WHERE order_id = $1 ORDER BY id");
    sqlx::query(&sql).bind(order.as_str()).fetch_all(conn).await?.iter().map(from_row).collect()
}

#[derive(Clone, Debug, Default)]
pub struct ShipmentFilter {
    pub status: Option<BookingStatus>,
    pub channel: Option<ChannelCode>,
    /// Newest first, strictly before this id.
    pub before: Option<ShipmentId>,
}

pub async fn list_shipments(conn: &mut AnyConnection, f: &ShipmentFilter, limit: i64) -> Result<Vec<Shipment>> {
    let mut sql = format!("SELECT {COLS} FROM shipments WHERE 1 = 1");
    let mut binds: Vec<String> = Vec::new();
    let mut add = |cond: &str, v: String, sql: &mut String| {
        binds.push(v);
        sql.push_str(&format!(" AND {cond} ${}", binds.len()));
    };
    if let Some(s) = f.status {
        add("status =", s.as_str().into(), &mut sql);
    }
    if let Some(c) = &f.channel {
        add("channel =", c.to_string(), &mut sql);
    }
    if let Some(b) = &f.before {
        add("id <", b.to_string(), &mut sql);
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", limit.clamp(1, 10_000)));
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b.as_str());
    }
    q.fetch_all(conn).await?.iter().map(from_row).collect()
}

/// Shipments by id, in the order asked; unknown ids are left out.
pub async fn shipments_by_id(conn: &mut AnyConnection, ids: &[ShipmentId]) -> Result<Vec<Shipment>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {COLS} FROM shipments WHERE id IN ({})", crate::params(conn, 0, ids.len()));
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id.as_str());
    }
    let mut found: Vec<Shipment> = q.fetch_all(conn).await?.iter().map(from_row).collect::<Result<_>>()?;
    found.sort_by_key(|s| ids.iter().position(|i| *i == s.id));
    Ok(found)
}

/// Claims up to `limit` pending bookings until `lease_until` and counts the attempt. A booking whose lease ran
/// out (its worker died mid-call) is due again; the carrier sees the same idempotency key. The status test is
/// repeated in the outer statement so that on PostgreSQL a row another node claimed meanwhile is skipped.
pub async fn claim_bookings(
    conn: &mut AnyConnection,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Shipment>> {
    let due = "status = 'pending' AND lease_until <= $1";
    let sql = format!(
        "UPDATE shipments SET attempts = attempts + 1, lease_until = $2 \
         WHERE {due} AND id IN (SELECT id FROM shipments WHERE {due} ORDER BY id LIMIT $3) RETURNING {COLS}"
    );
    let rows = sqlx::query(&sql).bind(micros(now)).bind(micros(lease_until)).bind(limit).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// Claims one shipment for an explicit booking call, whatever its lease: false when it is not pending or
/// another caller holds a live lease on it.
pub async fn claim_one(
    conn: &mut AnyConnection,
    id: &ShipmentId,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE shipments SET attempts = attempts + 1, lease_until = $3 \
         WHERE id = $1 AND status = 'pending' AND lease_until <= $2",
    )
    .bind(id.as_str())
    .bind(micros(now))
    .bind(micros(lease_until))
    .execute(conn)
    .await?;
    Ok(n.rows_affected() > 0)
}

/// What the carrier answered to a booking.
pub struct Booked<'a> {
    pub tracking_number: &'a str,
    pub carrier_ref: &'a str,
    pub label: &'a str,
    pub sort_code: Option<&'a str>,
}

/// Records a booking made, only if the shipment is still pending (a cancel in between wins).
pub async fn mark_booked(
    conn: &mut AnyConnection,
    id: &ShipmentId,
    b: &Booked<'_>,
    at: OffsetDateTime,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE shipments SET status = 'booked', tracking_number = $2, carrier_ref = $3, label = $4, sort_code = $5, \
         last_error = NULL, booked_at = $6, updated_at = $6 WHERE id = $1 AND status = 'pending'",
    )
    .bind(id.as_str())
    .bind(b.tracking_number)
    .bind(b.carrier_ref)
    .bind(b.label)
    .bind(b.sort_code)
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(n.rows_affected() > 0)
}

/// Records a failed attempt. `retry_at` keeps it pending for the worker to try again then; None marks it
/// failed, waiting for a person.
pub async fn mark_attempt_failed(
    conn: &mut AnyConnection,
    id: &ShipmentId,
    error: &str,
    retry_at: Option<OffsetDateTime>,
    at: OffsetDateTime,
) -> Result<()> {
    let (status, lease) = match retry_at {
        Some(t) => ("pending", micros(t)),
        None => ("failed", 0),
    };
    sqlx::query(
        "UPDATE shipments SET status = $2, lease_until = $3, last_error = $4, updated_at = $5 \
         WHERE id = $1 AND status = 'pending'",
    )
    .bind(id.as_str())
    .bind(status)
    .bind(lease)
    .bind(error)
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts a failed booking back in the queue, due now.
pub async fn requeue(conn: &mut AnyConnection, id: &ShipmentId, at: OffsetDateTime) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE shipments SET status = 'pending', lease_until = 0, updated_at = $2 WHERE id = $1 AND status = 'failed'",
    )
    .bind(id.as_str())
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(n.rows_affected() > 0)
}

pub async fn mark_cancelled(conn: &mut AnyConnection, id: &ShipmentId, at: OffsetDateTime) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE shipments SET status = 'cancelled', updated_at = $2 WHERE id = $1 AND status <> 'cancelled'",
    )
    .bind(id.as_str())
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(n.rows_affected() > 0)
}

/// Allocated orders with a channel and no live shipment, oldest first.
pub async fn bookable_orders(conn: &mut AnyConnection, limit: i64) -> Result<Vec<OrderId>> {
    let rows = sqlx::query(
        "SELECT o.id FROM orders o WHERE o.status = 'allocated' AND o.channel IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM shipments s WHERE s.order_id = o.id AND s.status <> 'cancelled') ORDER BY o.id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok(OrderId::parse(&r.try_get::<String, _>("id")?)?)).collect()
}
