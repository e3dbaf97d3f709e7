//! Fresh, throwaway databases for tests: every test gets its own SQLite file or PostgreSQL database, so
//! tests never share state and can run in parallel.

use std::path::PathBuf;

use sqlx::{Connection, Executor, PgConnection};

use crate::Engine;

/// The server tests create their PostgreSQL databases on (`CODFLOW_TEST_PG` overrides it).
pub fn postgres_admin_url() -> String {
    std::env::var("CODFLOW_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that is removed when dropped.
pub struct TestDb {
    pub url: String,
    engine: Engine,
    name: String,
    dir: Option<PathBuf>,
}

fn unique_name() -> String {
    format!("codflow_t_{}", codflow_domain::ids::new_id_body())
}

impl TestDb {
    pub async fn new(engine: Engine) -> TestDb {
        let name = unique_name();
        match engine {
            Engine::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("temp dir");
                let url = format!("sqlite://{}", dir.join("codflow.db").display());
                TestDb { url, engine, name, dir: Some(dir) }
            }
            Engine::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for this test: {e}"));
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create database");
                let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin);
                TestDb { url: format!("{base}/{name}"), engine, name, dir: None }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if self.engine == Engine::Postgres {
            let name = self.name.clone();
            // Drop runs inside the test's runtime; a plain thread with its own runtime avoids blocking it.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(mut c) = PgConnection::connect(&postgres_admin_url()).await {
                            let _ = c.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// Turns each named `async fn(Engine)` of the calling module into two tests, one per engine, each of which
/// is expected to make its own fresh database.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    super::$name($crate::Engine::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    super::$name($crate::Engine::Postgres).await
                }
            }
        )*
    };
}

/// Books every allocated order that has no shipment yet straight in the database, leaving what a carrier
/// booking leaves (a booked shipment with tracking number `prefix` + the order's external id, and its
/// tracking row due for evaluation): for benchmarks that need many tracked shipments without a carrier.
pub async fn book_allocated(
    conn: &mut sqlx::AnyConnection,
    carrier: &str,
    channel: &str,
    prefix: &str,
    booked_at: time::OffsetDateTime,
) -> crate::Result<u64> {
    let at = crate::micros(booked_at);
    let n = sqlx::query(
        "INSERT INTO shipments (id, order_id, channel, carrier, status, attempts, lease_until, tracking_number, \
         weight_g, pieces, cod_minor, cod_currency, created_at, updated_at, booked_at) \
         SELECT 'shp_' || substr(o.id, 5), o.id, $1, $2, 'booked', 1, 0, $3 || o.external_id, 500, 1, \
         o.cod_amount_minor, o.currency, $4, $4, $4 FROM orders o \
         WHERE o.status = 'allocated' AND NOT EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.id)",
    )
    .bind(channel)
    .bind(carrier)
    .bind(prefix)
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO tracking (shipment_id, order_id, tracking_number, carrier, lane_country, lane_channel, \
         booked_at, status, status_at, failed_attempts, cod_minor, cod_currency, cod_status, fired, due_at, \
         poll_errors, updated_at) \
         SELECT s.id, s.order_id, s.tracking_number, s.carrier, o.ship_country, s.channel, s.booked_at, \
         'label_created', s.booked_at, 0, s.cod_minor, s.cod_currency, \
         CASE WHEN s.cod_minor > 0 THEN 'pending' ELSE 'not_applicable' END, '', s.booked_at, 0, s.booked_at \
         FROM shipments s JOIN orders o ON o.id = s.order_id \
         WHERE s.carrier = $1 AND NOT EXISTS (SELECT 1 FROM tracking t WHERE t.shipment_id = s.id)",
    )
    .bind(carrier)
    .execute(&mut *conn)
    .await?;
    Ok(n)
}

/// Spreads tracking rows booked by [`book_allocated`] (numeric external ids after `prefix`) over the
/// states a live book of parcels is in — waiting for pickup, in transit, in customs, at the door, failed
/// once, delivered with cash expected — with scan times that make some of each overdue, and makes every
/// one due for evaluation at `now`.
pub async fn spread_progress(
    conn: &mut sqlx::AnyConnection,
    prefix: &str,
    now: time::OffsetDateTime,
) -> crate::Result<u64> {
    const H: i64 = 3_600_000_000;
    const D: i64 = 24 * H;
    let now = crate::micros(now);
    // b = 0..19 picks the state; j (0..24 h) spreads the times so deadlines keep falling due.
    let sql = format!(
        "UPDATE tracking SET \
           booked_at = CASE WHEN x.b < 4 THEN {now} - (x.b + 1) * {D} ELSE {now} - 5 * {D} END - x.j, \
           status = CASE WHEN x.b < 4 THEN 'label_created' WHEN x.b < 10 THEN 'in_transit' \
             WHEN x.b = 10 THEN 'customs_processing' WHEN x.b = 11 THEN 'customs_held:documentation' \
             WHEN x.b < 14 THEN 'out_for_delivery' WHEN x.b = 14 THEN 'delivery_failed:not_home' \
             ELSE 'delivered' END, \
           status_at = x.scan, \
           last_scan_at = CASE WHEN x.b < 4 THEN NULL ELSE x.scan END, \
           picked_up_at = CASE WHEN x.b < 4 THEN NULL ELSE {now} - 4 * {D} - x.j END, \
           delivered_at = CASE WHEN x.b < 15 THEN NULL ELSE x.scan END, \
           failed_attempts = CASE WHEN x.b = 14 THEN 1 ELSE 0 END, \
           cod_status = CASE WHEN x.b >= 15 AND tracking.cod_minor > 0 THEN 'expected' ELSE tracking.cod_status END, \
           fired = '', due_at = {now} \
         FROM (SELECT y.shipment_id, y.b, y.j, \
                 CASE WHEN y.b < 4 THEN {now} - (y.b + 1) * {D} WHEN y.b < 10 THEN {now} - (y.b - 4) * {D} \
                   WHEN y.b < 12 THEN {now} - 2 * {D} WHEN y.b < 15 THEN {now} - 3 * {H} \
                   ELSE {now} - (y.b - 15) * 5 * {D} END - y.j AS scan \
               FROM (SELECT shipment_id, CAST(substr(tracking_number, {start}) AS BIGINT) % 20 AS b, \
                       (CAST(substr(tracking_number, {start}) AS BIGINT) / 20 % 1440) * 60000000 AS j \
                     FROM tracking WHERE tracking_number LIKE $1) y) x \
         WHERE tracking.shipment_id = x.shipment_id",
        start = prefix.len() + 1
    );
    Ok(sqlx::query(&sql).bind(format!("{prefix}%")).execute(conn).await?.rows_affected())
}

/// Benchmarks: every tracked shipment delivered three days after booking with its cash expected; returns
/// each one's (tracking number, COD in minor units) in shipment order.
pub async fn deliver_all(conn: &mut sqlx::AnyConnection) -> crate::Result<Vec<(String, i64)>> {
    use sqlx::Row;
    sqlx::query(
        "UPDATE tracking SET status = 'delivered', status_at = booked_at + 259200000000, \
         delivered_at = booked_at + 259200000000, picked_up_at = booked_at, cod_status = 'expected', due_at = NULL",
    )
    .execute(&mut *conn)
    .await?;
    let rows =
        sqlx::query("SELECT tracking_number, cod_minor FROM tracking ORDER BY shipment_id").fetch_all(conn).await?;
    rows.iter().map(|r| Ok((r.try_get("tracking_number")?, r.try_get("cod_minor")?))).collect()
}

/// Every COD shipment as a finance analyst's export would list it (tracking number, the order's reference, COD
/// in minor units, currency, cash state and delivery time in RFC 3339), for the reconciliation comparison
/// with other tools.
pub async fn export_cod_shipments(conn: &mut sqlx::AnyConnection, out: &mut impl std::io::Write) -> crate::Result<u64> {
    use sqlx::Row;
    let io = |e: std::io::Error| crate::Error::Database(sqlx::Error::Io(e));
    writeln!(out, "tracking_number,order_ref,cod_minor,currency,cod_status,delivered_at").map_err(io)?;
    let (mut n, mut after) = (0, String::new());
    loop {
        let rows = sqlx::query(
            "SELECT t.shipment_id, t.tracking_number, o.external_id, t.cod_minor, t.cod_currency, t.cod_status, \
                    t.delivered_at FROM tracking t JOIN orders o ON o.id = t.order_id \
              WHERE t.cod_minor > 0 AND t.shipment_id > $1 ORDER BY t.shipment_id LIMIT 50000",
        )
        .bind(&after)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get(0)?;
        for r in &rows {
            let delivered = r
                .try_get::<Option<i64>, _>(6)?
                .map(crate::from_micros)
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_default();
            writeln!(
                out,
                "{},{},{},{},{},{delivered}",
                r.try_get::<String, _>(1)?,
                r.try_get::<String, _>(2)?,
                r.try_get::<i64, _>(3)?,
                r.try_get::<String, _>(4)?,
                r.try_get::<String, _>(5)?,
            )
            .map_err(io)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Runs one statement of a benchmark's or test's own making; returns the rows it changed.
pub async fn exec(conn: &mut sqlx::AnyConnection, sql: &str) -> crate::Result<u64> {
    Ok(sqlx::query(sql).execute(&mut *conn).await?.rows_affected())
}

/// Every webhook delivery's id, the microseconds from receipt to the end of its processing, and its outcome:
/// for the webhook benchmark.
pub async fn webhook_lags(conn: &mut sqlx::AnyConnection) -> crate::Result<Vec<(String, Option<i64>, Option<String>)>> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT delivery_id, processed_at - received_at AS lag, outcome FROM channel_inbox WHERE source = 'webhook'",
    )
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}
