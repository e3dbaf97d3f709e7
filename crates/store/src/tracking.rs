//! Tracking: carrier code mappings, events, each booked shipment's progress, and the claims the poller and
//! the anomaly sweep make on it. Claims follow the booking queue's pattern (a lease written in one
//! conditional UPDATE), so any number of nodes run each poll and each evaluation once.
//!
//! Over 600 lines on purpose: the progress rows, the claims that lease them and the events they fold share
//! one table's invariants, which stay readable only side by side.

use std::collections::HashMap;

use codflow_domain::anomaly::{AnomalyKind, Progress};
use codflow_domain::{CodStatus, Currency, Money, OrderId, ShipmentId, ShipmentStatus};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::bulk::{Val, insert_values_counted, select_values};
use crate::db::{from_micros, micros};
use crate::{Error, Result};

// ------------------------------------------------------------------------------------------------ mappings

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub carrier: String,
    pub code: String,
    pub status: ShipmentStatus,
    pub description: String,
}

fn status_of(s: &str) -> Result<ShipmentStatus> {
    ShipmentStatus::parse(s).map_err(|_| Error::Corrupt(format!("shipment status {s:?}")))
}

pub async fn mappings(conn: &mut AnyConnection, carrier: Option<&str>) -> Result<Vec<Mapping>> {
    let rows = sqlx::query(
        "SELECT carrier, code, status, description FROM carrier_codes WHERE ($1 = '' OR carrier = $1) \
         ORDER BY carrier, code",
    )
    .bind(carrier.unwrap_or(""))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Mapping {
                carrier: r.try_get("carrier")?,
                code: r.try_get("code")?,
                status: status_of(&r.try_get::<String, _>("status")?)?,
                description: r.try_get("description")?,
            })
        })
        .collect()
}

pub async fn put_mapping(conn: &mut AnyConnection, m: &Mapping, at: OffsetDateTime) -> Result<()> {
    sqlx::query(
        "INSERT INTO carrier_codes (carrier, code, status, description, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (carrier, code) DO UPDATE SET status = excluded.status, description = excluded.description, \
         updated_at = excluded.updated_at",
    )
    .bind(&m.carrier)
    .bind(&m.code)
    .bind(m.status.to_string())
    .bind(&m.description)
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_mapping(conn: &mut AnyConnection, carrier: &str, code: &str) -> Result<bool> {
    let n = sqlx::query("DELETE FROM carrier_codes WHERE carrier = $1 AND code = $2")
        .bind(carrier)
        .bind(code)
        .execute(conn)
        .await?;
    Ok(n.rows_affected() > 0)
}

/// A code seen but not mapped: how often, when last, and what the carrier called it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmapped {
    pub carrier: String,
    pub code: String,
    pub count: i64,
    pub last_seen: OffsetDateTime,
    pub description: String,
}

pub async fn unmapped(conn: &mut AnyConnection) -> Result<Vec<Unmapped>> {
    let rows = sqlx::query(
        "SELECT carrier, code, COUNT(*) AS n, MAX(at) AS last_at, MAX(description) AS description \
         FROM tracking_events WHERE status = 'unknown' GROUP BY carrier, code ORDER BY carrier, code",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Unmapped {
                carrier: r.try_get("carrier")?,
                code: r.try_get("code")?,
                count: r.try_get("n")?,
                last_seen: from_micros(r.try_get("last_at")?),
                description: r.try_get("description")?,
            })
        })
        .collect()
}

/// Gives the stored events of a code that was unknown their status; returns the shipments to fold again.
pub async fn renormalise(
    conn: &mut AnyConnection,
    carrier: &str,
    code: &str,
    status: ShipmentStatus,
) -> Result<Vec<ShipmentId>> {
    let rows = sqlx::query(
        "UPDATE tracking_events SET status = $3 WHERE carrier = $1 AND code = $2 AND status = 'unknown' \
         RETURNING shipment_id",
    )
    .bind(carrier)
    .bind(code)
    .bind(status.to_string())
    .fetch_all(conn)
    .await?;
    let mut ids: Vec<ShipmentId> =
        rows.iter().map(|r| Ok(ShipmentId::parse(&r.try_get::<String, _>("shipment_id")?)?)).collect::<Result<_>>()?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

// ------------------------------------------------------------------------------------------------ progress

/// A booked shipment as tracking sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracked {
    pub shipment_id: ShipmentId,
    pub order_id: OrderId,
    pub tracking_number: String,
    pub carrier: String,
    pub country: String,
    pub channel: String,
    pub booked_at: OffsetDateTime,
    pub progress: Progress,
    pub cod: Money,
    pub cod_status: CodStatus,
    /// Anomalies that fired and still hold.
    pub fired: Vec<AnomalyKind>,
    pub due_at: Option<OffsetDateTime>,
    pub poll_at: Option<OffsetDateTime>,
    pub poll_errors: i64,
}

const COLS: &str = "shipment_id, order_id, tracking_number, carrier, lane_country, lane_channel, booked_at, status, \
    status_at, last_scan_at, picked_up_at, delivered_at, failed_attempts, cod_minor, cod_currency, cod_status, fired, \
    due_at, poll_at, poll_errors";

fn fired_str(f: &[AnomalyKind]) -> String {
    f.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
}

/// `FOR UPDATE` on PostgreSQL, so two nodes applying events to one shipment take turns (SQLite has one
/// writer already).
fn lock(conn: &AnyConnection) -> &'static str {
    if crate::db::Engine::of(conn) == crate::db::Engine::Sqlite { "" } else { " ORDER BY shipment_id FOR UPDATE" }
}

/// The columns of [`COLS`] as one JSON array. SQLite hands every column of every row across threads as
/// an allocation of its own, so rows read in bulk (the sweep, a batch of events) come as one text value
/// each and are parsed here.
fn packed(conn: &AnyConnection) -> String {
    if crate::db::Engine::of(conn) == crate::db::Engine::Sqlite {
        format!("json_array({COLS}) AS packed")
    } else {
        format!("json_build_array({COLS})::text AS packed")
    }
}

#[derive(serde::Deserialize)]
struct Packed(
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    i64,
);

fn from_row(r: &AnyRow) -> Result<Tracked> {
    let text: &str = r.try_get("packed")?;
    unpack(serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("tracking row: {e}")))?)
}

/// `SELECT` of packed rows in bulk, `rest` being what follows `FROM tracking`. On SQLite the rows come
/// back as one text value (a JSON array of rows): its worker thread hands each row to the runtime through a
/// channel, a wake-up per row that cost more than reading the row.
fn select_bulk(conn: &AnyConnection, rest: &str) -> String {
    if crate::db::Engine::of(conn) == crate::db::Engine::Sqlite {
        format!(
            "SELECT '[' || group_concat(p, ',') || ']' AS packed FROM (SELECT json_array({COLS}) AS p FROM tracking {rest})"
        )
    } else {
        format!("SELECT json_build_array({COLS})::text AS packed FROM tracking {rest}")
    }
}

/// Reads what [`select_bulk`] returned, in the query's order.
fn from_bulk(conn: &AnyConnection, rows: Vec<AnyRow>) -> Result<Vec<Tracked>> {
    if crate::db::Engine::of(conn) != crate::db::Engine::Sqlite {
        return rows.iter().map(from_row).collect();
    }
    let Some(text) = rows.first().map(|r| r.try_get::<Option<&str>, _>("packed")).transpose()?.flatten() else {
        return Ok(Vec::new());
    };
    let all: Vec<Packed> = serde_json::from_str(text).map_err(|e| Error::Corrupt(format!("tracking rows: {e}")))?;
    all.into_iter().map(unpack).collect()
}

fn unpack(p: Packed) -> Result<Tracked> {
    let t = |m: Option<i64>| m.map(from_micros);
    Ok(Tracked {
        shipment_id: ShipmentId::parse(&p.0)?,
        order_id: OrderId::parse(&p.1)?,
        tracking_number: p.2,
        carrier: p.3,
        country: p.4,
        channel: p.5,
        booked_at: from_micros(p.6),
        progress: Progress {
            status: status_of(&p.7)?,
            status_at: from_micros(p.8),
            last_scan_at: t(p.9),
            picked_up_at: t(p.10),
            delivered_at: t(p.11),
            failed_attempts: p.12,
        },
        cod: Money::new(p.13, Currency::parse(&p.14)?),
        cod_status: CodStatus::parse(&p.15).map_err(|_| Error::Corrupt(format!("cod status {:?}", p.15)))?,
        fired: p
            .16
            .split(',')
            .filter(|k| !k.is_empty())
            .map(|k| AnomalyKind::parse(k).map_err(|_| Error::Corrupt(format!("anomaly kind {k:?}"))))
            .collect::<Result<_>>()?,
        due_at: t(p.17),
        poll_at: t(p.18),
        poll_errors: p.19,
    })
}

/// Starts tracking a shipment the carrier has just booked.
pub async fn start(conn: &mut AnyConnection, t: &Tracked, at: OffsetDateTime) -> Result<()> {
    let p = &t.progress;
    sqlx::query(&format!(
        "INSERT INTO tracking ({COLS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14, $15, $16, $17, $18, $19, $20, $21) ON CONFLICT (shipment_id) DO NOTHING"
    ))
    .bind(t.shipment_id.as_str())
    .bind(t.order_id.as_str())
    .bind(&t.tracking_number)
    .bind(&t.carrier)
    .bind(&t.country)
    .bind(&t.channel)
    .bind(micros(t.booked_at))
    .bind(p.status.to_string())
    .bind(micros(p.status_at))
    .bind(p.last_scan_at.map(micros))
    .bind(p.picked_up_at.map(micros))
    .bind(p.delivered_at.map(micros))
    .bind(p.failed_attempts)
    .bind(t.cod.minor)
    .bind(t.cod.currency.code())
    .bind(t.cod_status.as_str())
    .bind(fired_str(&t.fired))
    .bind(t.due_at.map(micros))
    .bind(t.poll_at.map(micros))
    .bind(t.poll_errors)
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn by_shipment(conn: &mut AnyConnection, id: &ShipmentId) -> Result<Option<Tracked>> {
    let sql = format!("SELECT {} FROM tracking WHERE shipment_id = $1", packed(conn));
    sqlx::query(&sql).bind(id.as_str()).fetch_optional(conn).await?.as_ref().map(from_row).transpose()
}

pub async fn by_number(conn: &mut AnyConnection, number: &str) -> Result<Option<Tracked>> {
    let sql = format!("SELECT {} FROM tracking WHERE tracking_number = $1", packed(conn));
    sqlx::query(&sql).bind(number).fetch_optional(conn).await?.as_ref().map(from_row).transpose()
}

/// The rows whose `column` is one of `values`, locked for the caller's transaction.
async fn locked_in(conn: &mut AnyConnection, column: &str, values: &[&str]) -> Result<Vec<Tracked>> {
    let mut out = Vec::with_capacity(values.len());
    for chunk in crate::db::pow2_chunks(values, 512) {
        let sql =
            select_bulk(conn, &format!("WHERE {column} IN ({}){}", crate::params(conn, 0, chunk.len()), lock(conn)));
        let mut q = sqlx::query(&sql);
        for v in chunk {
            q = q.bind(*v);
        }
        let rows = q.fetch_all(&mut *conn).await?;
        out.extend(from_bulk(conn, rows)?);
    }
    Ok(out)
}

/// The shipments with these tracking numbers, locked for the caller's transaction; unknown numbers are
/// left out.
pub async fn by_numbers(conn: &mut AnyConnection, numbers: &[&str]) -> Result<HashMap<String, Tracked>> {
    let rows = locked_in(conn, "tracking_number", numbers).await?;
    Ok(rows.into_iter().map(|t| (t.tracking_number.clone(), t)).collect())
}

/// Locked like [`by_numbers`].
pub async fn by_ids(conn: &mut AnyConnection, ids: &[ShipmentId]) -> Result<Vec<Tracked>> {
    let ids: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
    locked_in(conn, "shipment_id", &ids).await
}

/// [`save`] for many shipments in a few statements.
pub async fn save_many(conn: &mut AnyConnection, rows: &[Tracked], at: OffsetDateTime) -> Result<()> {
    let mut vals = Vec::with_capacity(rows.len() * 11);
    for t in rows {
        let p = &t.progress;
        vals.extend([
            Val::from(t.shipment_id.as_str()),
            Val::Text(p.status.to_string()),
            micros(p.status_at).into(),
            p.last_scan_at.map(micros).into(),
            p.picked_up_at.map(micros).into(),
            p.delivered_at.map(micros).into(),
            p.failed_attempts.into(),
            t.cod_status.as_str().into(),
            Val::Text(fired_str(&t.fired)),
            t.due_at.map(micros).into(),
            micros(at).into(),
        ]);
    }
    let cols = [
        "status",
        "status_at",
        "last_scan_at",
        "picked_up_at",
        "delivered_at",
        "failed_attempts",
        "cod_status",
        "fired",
        "due_at",
        "updated_at",
    ];
    crate::bulk::update_values(conn, "tracking", "shipment_id", &cols, vals).await?;
    Ok(())
}

/// Writes only what an evaluation changes (the anomalies that hold and the next deadline), for many
/// shipments at once.
pub async fn save_deadlines(conn: &mut AnyConnection, rows: &[Tracked]) -> Result<()> {
    let mut vals = Vec::with_capacity(rows.len() * 3);
    for t in rows {
        vals.extend([Val::from(t.shipment_id.as_str()), Val::Text(fired_str(&t.fired)), t.due_at.map(micros).into()]);
    }
    crate::bulk::update_values(conn, "tracking", "shipment_id", &["fired", "due_at"], vals).await?;
    Ok(())
}

/// The next poll (None: stop polling) and the run of failed polls so far.
pub async fn set_poll(
    conn: &mut AnyConnection,
    id: &ShipmentId,
    poll_at: Option<OffsetDateTime>,
    errors: i64,
) -> Result<()> {
    sqlx::query("UPDATE tracking SET poll_at = $2, poll_errors = $3 WHERE shipment_id = $1")
        .bind(id.as_str())
        .bind(poll_at.map(micros))
        .bind(errors)
        .execute(conn)
        .await?;
    Ok(())
}

/// Claims up to `limit` rows whose `column` time has come by moving it to `lease_until`; the caller writes
/// the real next time when done, and a caller that dies leaves the row due again when the lease ends.
async fn claim(
    conn: &mut AnyConnection,
    column: &str,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Tracked>> {
    let due = format!("{column} IS NOT NULL AND {column} <= $1");
    let sql = format!(
        "UPDATE tracking SET {column} = $2 WHERE {due} AND shipment_id IN \
         (SELECT shipment_id FROM tracking WHERE {due} ORDER BY {column} LIMIT $3) RETURNING {}",
        packed(conn)
    );
    let rows = sqlx::query(&sql).bind(micros(now)).bind(micros(lease_until)).bind(limit).fetch_all(conn).await?;
    rows.iter().map(from_row).collect()
}

/// Up to `limit` shipments whose next anomaly deadline has passed, locked for the caller's transaction (on
/// PostgreSQL another node's sweep skips them; SQLite has one writer at a time). The caller writes each
/// row's next deadline before it commits.
pub async fn due_locked(conn: &mut AnyConnection, now: OffsetDateTime, limit: i64) -> Result<Vec<Tracked>> {
    let lock = if crate::db::Engine::of(conn) == crate::db::Engine::Sqlite { "" } else { " FOR UPDATE SKIP LOCKED" };
    let sql = select_bulk(conn, &format!("WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at LIMIT $2{lock}"));
    let rows = sqlx::query(&sql).bind(micros(now)).bind(limit).fetch_all(&mut *conn).await?;
    from_bulk(conn, rows)
}

/// Shipments whose next poll is due.
pub async fn claim_polls(
    conn: &mut AnyConnection,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Tracked>> {
    claim(conn, "poll_at", now, lease_until, limit).await
}

/// Shipments that can still raise an anomaly: not finished, or delivered with the cash still to come.
const ACTIVE: &str = "status NOT IN ('returned', 'cancelled') \
    AND (status <> 'delivered' OR cod_status IN ('expected', 'collected'))";

/// The settings key holding how far a re-evaluation pass has got (the last shipment id done).
const REEVALUATION: &str = "anomaly_reevaluation_after";

/// Starts a pass that evaluates every active shipment again, in shipment order, a chunk per sweep (after
/// thresholds change). Walking the table in key order reads it sequentially, where making every row due
/// would rewrite the deadline index twice per row.
pub async fn start_reevaluation(conn: &mut AnyConnection, at: OffsetDateTime) -> Result<()> {
    crate::review::set_setting(conn, REEVALUATION, "", at).await
}

/// The next `limit` shipments of a pending re-evaluation pass, locked for the caller's transaction; the
/// pass moves on (and ends after its last chunk). Empty when no pass is pending, or another node holds it.
pub async fn next_reevaluation(conn: &mut AnyConnection, limit: i64, at: OffsetDateTime) -> Result<Vec<Tracked>> {
    let (skip, lock) = if crate::db::Engine::of(conn) == crate::db::Engine::Sqlite {
        ("", "")
    } else {
        (" FOR UPDATE SKIP LOCKED", " FOR UPDATE")
    };
    let sql = format!("SELECT value FROM settings WHERE key = $1{skip}");
    let Some(after) = sqlx::query(&sql).bind(REEVALUATION).fetch_optional(&mut *conn).await? else {
        return Ok(Vec::new());
    };
    let after: String = after.try_get("value")?;
    let sql = select_bulk(conn, &format!("WHERE shipment_id > $1 AND {ACTIVE} ORDER BY shipment_id LIMIT $2{lock}"));
    let rows = sqlx::query(&sql).bind(&after).bind(limit).fetch_all(&mut *conn).await?;
    let rows = from_bulk(conn, rows)?;
    // SQLite's group_concat does not promise the subquery's order, so there the pass moves on from the
    // largest id read (ids compare bytewise there as in Rust); PostgreSQL's collation may not, so there it
    // moves on from the last row.
    let last = if crate::db::Engine::of(conn) == crate::db::Engine::Sqlite {
        rows.iter().map(|t| &t.shipment_id).max()
    } else {
        rows.last().map(|t| &t.shipment_id)
    };
    match last.filter(|_| rows.len() as i64 == limit) {
        Some(last) => crate::review::set_setting(conn, REEVALUATION, last.as_str(), at).await?,
        None => {
            sqlx::query("DELETE FROM settings WHERE key = $1").bind(REEVALUATION).execute(&mut *conn).await?;
        }
    }
    Ok(rows)
}

#[derive(Clone, Debug, Default)]
pub struct TrackedFilter {
    pub status: Option<String>,
    pub country: Option<String>,
    pub channel: Option<String>,
    /// Newest first, strictly before this shipment id.
    pub before: Option<ShipmentId>,
    /// Booked at or after / before these instants.
    pub booked_from: Option<OffsetDateTime>,
    pub booked_to: Option<OffsetDateTime>,
}

impl TrackedFilter {
    /// The conditions after `WHERE 1 = 1` and their values; the paging cursor only when `paged`.
    fn conditions(&self, paged: bool) -> (String, Vec<Val>) {
        let mut sql = String::new();
        let mut binds: Vec<Val> = Vec::new();
        // A status without its reason (`delivery_failed`) matches every reason.
        if let Some(s) = &self.status {
            binds.push(Val::Text(s.clone()));
            binds.push(Val::Text(format!("{s}:%")));
            sql.push_str(&format!(" AND (status = ${} OR status LIKE ${})", binds.len() - 1, binds.len()));
        }
        let before = if paged { self.before.as_ref().map(|b| Val::Text(b.to_string())) } else { None };
        for (col, v) in [
            ("lane_country =", self.country.clone().map(Val::Text)),
            ("lane_channel =", self.channel.clone().map(Val::Text)),
            ("shipment_id <", before),
            ("booked_at >=", self.booked_from.map(|t| Val::Int(micros(t)))),
            ("booked_at <", self.booked_to.map(|t| Val::Int(micros(t)))),
        ] {
            if let Some(v) = v {
                binds.push(v);
                sql.push_str(&format!(" AND {col} ${}", binds.len()));
            }
        }
        (sql, binds)
    }
}

pub async fn list(conn: &mut AnyConnection, f: &TrackedFilter, limit: i64) -> Result<Vec<Tracked>> {
    let (conds, binds) = f.conditions(true);
    let sql = format!(
        "SELECT {} FROM tracking WHERE 1 = 1{conds} ORDER BY shipment_id DESC LIMIT {}",
        packed(conn),
        limit.clamp(1, 10_000)
    );
    crate::bulk::bind_all(sqlx::query(&sql), &binds).fetch_all(conn).await?.iter().map(from_row).collect()
}

/// How many tracked shipments the filter matches (ignoring the page), counting no further than `cap`.
pub async fn count_matching(conn: &mut AnyConnection, f: &TrackedFilter, cap: i64) -> Result<i64> {
    let (conds, binds) = f.conditions(false);
    let sql = format!("SELECT COUNT(*) AS n FROM (SELECT 1 FROM tracking WHERE 1 = 1{conds} LIMIT {}) c", cap.max(1));
    Ok(crate::bulk::bind_all(sqlx::query(&sql), &binds).fetch_one(conn).await?.try_get("n")?)
}

// ------------------------------------------------------------------------------------------------ events

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub shipment_id: ShipmentId,
    pub at: OffsetDateTime,
    pub code: String,
    pub carrier: String,
    pub status: ShipmentStatus,
    pub description: String,
    pub location: Option<String>,
    /// `webhook`, `poll` or `api`.
    pub source: String,
    pub received_at: OffsetDateTime,
}

/// Stores events; returns the (shipment, time, code) of those that were new. Replays return nothing.
pub async fn insert_events(
    conn: &mut AnyConnection,
    events: &[StoredEvent],
) -> Result<Vec<(ShipmentId, OffsetDateTime, String)>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    // Replays are found first (usually none, so nothing comes back), and only new events are inserted:
    // reading back every inserted key costs a row hand-over per event. A concurrent writer inserting one of
    // them meanwhile (PostgreSQL) makes the insert fail on the key instead of folding it twice; the caller
    // retries the batch.
    let mut keys = Vec::with_capacity(events.len() * 3);
    for e in events {
        keys.extend([Val::from(e.shipment_id.as_str()), micros(e.at).into(), e.code.as_str().into()]);
    }
    let seen = select_values(
        conn,
        "v (s, a, c)",
        "SELECT t.shipment_id, t.at, t.code FROM v JOIN tracking_events t ON t.shipment_id = v.s AND t.at = v.a \
         AND t.code = v.c",
        3,
        keys,
    )
    .await?;
    let mut stored = std::collections::HashSet::with_capacity(seen.len());
    for r in &seen {
        stored.insert((
            r.try_get::<String, _>("shipment_id")?,
            r.try_get::<i64, _>("at")?,
            r.try_get::<String, _>("code")?,
        ));
    }
    let fresh: Vec<&StoredEvent> = events
        .iter()
        .filter(|e| !stored.contains(&(e.shipment_id.as_str().to_owned(), micros(e.at), e.code.clone())))
        .collect();
    let mut vals = Vec::with_capacity(fresh.len() * 9);
    for e in &fresh {
        vals.extend([
            Val::from(e.shipment_id.as_str()),
            micros(e.at).into(),
            e.code.as_str().into(),
            e.carrier.as_str().into(),
            Val::Text(e.status.to_string()),
            e.description.as_str().into(),
            e.location.clone().into(),
            e.source.as_str().into(),
            micros(e.received_at).into(),
        ]);
    }
    if !fresh.is_empty() {
        insert_values_counted(
            conn,
            "INTO tracking_events (shipment_id, at, code, carrier, status, description, location, source, received_at)",
            "",
            vals,
        )
        .await?;
    }
    Ok(fresh.into_iter().map(|e| (e.shipment_id.clone(), e.at, e.code.clone())).collect())
}

/// A shipment's events in event time.
pub async fn events_of(conn: &mut AnyConnection, id: &ShipmentId) -> Result<Vec<StoredEvent>> {
    let rows = sqlx::query(
        "SELECT shipment_id, at, code, carrier, status, description, location, source, received_at \
         FROM tracking_events WHERE shipment_id = $1 ORDER BY at, code",
    )
    .bind(id.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredEvent {
                shipment_id: ShipmentId::parse(&r.try_get::<String, _>("shipment_id")?)?,
                at: from_micros(r.try_get("at")?),
                code: r.try_get("code")?,
                carrier: r.try_get("carrier")?,
                status: status_of(&r.try_get::<String, _>("status")?)?,
                description: r.try_get("description")?,
                location: r.try_get("location")?,
                source: r.try_get("source")?,
                received_at: from_micros(r.try_get("received_at")?),
            })
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------ NDR

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NdrRequest {
    pub shipment_id: ShipmentId,
    /// Which failed attempt it answers (1 for the first).
    pub attempt: i64,
    pub action: String,
    /// What the buyer gave, as JSON (address, phone, day, cash ready).
    pub details: String,
    /// `sent` or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub created_at: OffsetDateTime,
}

/// Records an answer; false when that attempt was answered already.
pub async fn insert_ndr(conn: &mut AnyConnection, n: &NdrRequest) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO ndr_requests (shipment_id, attempt, action, details, status, error, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (shipment_id, attempt) DO NOTHING",
    )
    .bind(n.shipment_id.as_str())
    .bind(n.attempt)
    .bind(&n.action)
    .bind(&n.details)
    .bind(&n.status)
    .bind(n.error.as_deref())
    .bind(micros(n.created_at))
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn set_ndr_result(
    conn: &mut AnyConnection,
    id: &ShipmentId,
    attempt: i64,
    status: &str,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE ndr_requests SET status = $3, error = $4 WHERE shipment_id = $1 AND attempt = $2")
        .bind(id.as_str())
        .bind(attempt)
        .bind(status)
        .bind(error)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn ndr_of(conn: &mut AnyConnection, id: &ShipmentId) -> Result<Vec<NdrRequest>> {
    let rows = sqlx::query(
        "SELECT shipment_id, attempt, action, details, status, error, created_at FROM ndr_requests \
         WHERE shipment_id = $1 ORDER BY attempt",
    )
    .bind(id.as_str())
    .fetch_all(conn)
    .await?;
    ndr_rows(&rows)
}

/// The buyer's answers for every shipment of an order, oldest first.
pub async fn ndr_of_order(conn: &mut AnyConnection, order: &OrderId) -> Result<Vec<NdrRequest>> {
    let rows = sqlx::query(
        "SELECT n.shipment_id, n.attempt, n.action, n.details, n.status, n.error, n.created_at FROM ndr_requests n \
         JOIN shipments s ON s.id = n.shipment_id WHERE s.order_id = $1 ORDER BY n.created_at, n.attempt",
    )
    .bind(order.as_str())
    .fetch_all(conn)
    .await?;
    ndr_rows(&rows)
}

fn ndr_rows(rows: &[AnyRow]) -> Result<Vec<NdrRequest>> {
    rows.iter()
        .map(|r| {
            Ok(NdrRequest {
                shipment_id: ShipmentId::parse(&r.try_get::<String, _>("shipment_id")?)?,
                attempt: r.try_get("attempt")?,
                action: r.try_get("action")?,
                details: r.try_get("details")?,
                status: r.try_get("status")?,
                error: r.try_get("error")?,
                created_at: from_micros(r.try_get("created_at")?),
            })
        })
        .collect()
}
