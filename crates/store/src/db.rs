//! Connecting to either engine and running the embedded migrations.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once, Weak};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Row, Transaction};
use time::OffsetDateTime;

use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine behind a connection: the one place the driver's name is read, so every dialect choice
    /// elsewhere matches on this enum.
    pub fn of(conn: &sqlx::AnyConnection) -> Engine {
        match conn.backend_name() {
            "SQLite" => Engine::Sqlite,
            _ => Engine::Postgres,
        }
    }
}

/// The persistence handle. On SQLite all writes go through one connection, so write transactions queue
/// in the pool instead of failing with SQLITE_BUSY, while reads run in parallel on the others (WAL).
/// On PostgreSQL both handles are the same pool.
#[derive(Clone, Debug)]
pub struct Store {
    engine: Engine,
    write: AnyPool,
    read: AnyPool,
    /// SQLite: the background checkpointer's switch (see [`checkpointer`]).
    checkpoints: Option<Arc<Checkpoints>>,
}

#[derive(Debug, Default)]
struct Checkpoints {
    paused: AtomicBool,
    closed: AtomicBool,
}

/// How often the checkpointer looks at the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// Copies committed pages from the WAL back into the SQLite file from a connection of its own, so the one
/// writer never stops to do it (SQLite's automatic checkpoint runs inside the commit that crosses the
/// threshold, and with its fsync it was an eighth of the writer's time under load). A passive checkpoint
/// never blocks the writer or the readers; once it has caught up the writer starts the WAL over. Ends when
/// the store is closed or dropped.
fn checkpointer(opts: AnyConnectOptions, state: Weak<Checkpoints>) {
    tokio::spawn(async move {
        let mut conn: Option<AnyConnection> = None;
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            match state.upgrade() {
                None => return,
                Some(s) if s.closed.load(Ordering::Relaxed) => return,
                Some(s) if s.paused.load(Ordering::Relaxed) => continue,
                Some(_) => {}
            }
            if conn.is_none() {
                match AnyConnection::connect_with(&opts).await {
                    Ok(mut c) => match c.execute("PRAGMA busy_timeout = 10000").await {
                        Ok(_) => conn = Some(c),
                        Err(e) => tracing::warn!(error = %e, "checkpointer: cannot set up its connection"),
                    },
                    Err(e) => tracing::warn!(error = %e, "checkpointer: cannot connect"),
                }
            }
            if let Some(c) = conn.as_mut()
                && let Err(e) = c.execute("PRAGMA wal_checkpoint(PASSIVE)").await
            {
                tracing::warn!(error = %e, "checkpointer: checkpoint failed");
                conn = None;
            }
        }
    });
}

pub type Tx = Transaction<'static, Any>;
pub type ReadConn = sqlx::pool::PoolConnection<Any>;
/// A write connection a hot writer keeps between its transactions (see [`Store::begin_kept`]).
pub type KeptConn = Option<sqlx::pool::PoolConnection<Any>>;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "foundation", include_str!("../migrations/0001_foundation.sql")),
    (2, "review", include_str!("../migrations/0002_review.sql")),
    (3, "logistics", include_str!("../migrations/0003_logistics.sql")),
    (4, "documents", include_str!("../migrations/0004_documents.sql")),
    (5, "tracking", include_str!("../migrations/0005_tracking.sql")),
    (6, "stores", include_str!("../migrations/0006_stores.sql")),
    (7, "finance", include_str!("../migrations/0007_finance.sql")),
    (8, "ledger_view", include_str!("../migrations/0008_ledger_view.sql")),
    (9, "invoice_audit", include_str!("../migrations/0009_invoice_audit.sql")),
    (10, "forecast", include_str!("../migrations/0010_forecast.sql")),
    (11, "console", include_str!("../migrations/0011_console.sql")),
    (12, "kpi", include_str!("../migrations/0012_kpi.sql")),
    (13, "channel_sync", include_str!("../migrations/0013_channel_sync.sql")),
    (14, "kpi_sku_money", include_str!("../migrations/0014_kpi_sku_money.sql")),
    (15, "kpi_profit_distribution", include_str!("../migrations/0015_kpi_profit_distribution.sql")),
    (16, "inbox_notes", include_str!("../migrations/0016_inbox_notes.sql")),
    (17, "cod_open", include_str!("../migrations/0017_cod_open.sql")),
    (18, "expected_currency", include_str!("../migrations/0018_expected_currency.sql")),
    (19, "short_paid", include_str!("../migrations/0019_short_paid.sql")),
    (20, "console_prefs", include_str!("../migrations/0020_console_prefs.sql")),
    (21, "order_list_indexes", include_str!("../migrations/0021_order_list_indexes.sql")),
    (22, "floor", include_str!("../migrations/0022_floor.sql")),
    (23, "waves", include_str!("../migrations/0023_waves.sql")),
    (24, "bags", include_str!("../migrations/0024_bags.sql")),
    (25, "inbound", include_str!("../migrations/0025_inbound.sql")),
    (26, "carrier_manifests", include_str!("../migrations/0026_carrier_manifests.sql")),
    (27, "counters", include_str!("../migrations/0027_counters.sql")),
    (28, "carrier_accounts", include_str!("../migrations/0028_carrier_accounts.sql")),
    (29, "ninjavan_codes", include_str!("../migrations/0029_ninjavan_codes.sql")),
    (30, "smsa_codes", include_str!("../migrations/0030_smsa_codes.sql")),
    (31, "track17_codes", include_str!("../migrations/0031_17track_codes.sql")),
    (32, "flash_codes", include_str!("../migrations/0032_flash_codes.sql")),
    (33, "yunexpress_codes", include_str!("../migrations/0033_yunexpress_codes.sql")),
    (34, "aftership_codes", include_str!("../migrations/0034_aftership_codes.sql")),
    (35, "jnt_codes", include_str!("../migrations/0035_jnt_codes.sql")),
    (36, "naqel_codes", include_str!("../migrations/0036_naqel_codes.sql")),
    (37, "yanwen_codes", include_str!("../migrations/0037_yanwen_codes.sql")),
    (38, "aramex_codes", include_str!("../migrations/0038_aramex_codes.sql")),
    (39, "packaging", include_str!("../migrations/0039_packaging.sql")),
    (40, "returns", include_str!("../migrations/0040_returns.sql")),
    (41, "claims", include_str!("../migrations/0041_claims.sql")),
    (42, "return_routes", include_str!("../migrations/0042_return_routes.sql")),
    (43, "return_holds", include_str!("../migrations/0043_return_holds.sql")),
    (44, "pack_boxes", include_str!("../migrations/0044_pack_boxes.sql")),
    (45, "claim_statements", include_str!("../migrations/0045_claim_statements.sql")),
    (46, "cod_open_bulk", include_str!("../migrations/0046_cod_open_bulk.sql")),
];

/// Keeps the lines of `sql` meant for `engine`: text between `-- sqlite:begin` and `-- sqlite:end` (or the
/// same for `postgres`) is for that engine alone.
fn for_engine(sql: &str, engine: Engine) -> String {
    let mine = match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    let mut out = String::with_capacity(sql.len());
    let mut skipping = false;
    for line in sql.lines() {
        let t = line.trim();
        if let Some(tag) = t.strip_prefix("-- ").and_then(|t| t.strip_suffix(":begin")) {
            skipping = tag != mine;
            continue;
        }
        if t.strip_prefix("-- ").and_then(|t| t.strip_suffix(":end")).is_some() {
            skipping = false;
            continue;
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

static DRIVERS: Once = Once::new();

/// Turns `sqlite://PATH` into a URL that creates the file when missing; other URLs pass through.
fn normalise_url(url: &str) -> Result<(Engine, String)> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        if rest.contains(":memory:") {
            return Err(Error::Url(
                "an in-memory SQLite database cannot be shared by the reader and writer pools; use a file".into(),
            ));
        }
        let with_mode = if rest.contains("mode=") {
            url.to_owned()
        } else if rest.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        Ok((Engine::Sqlite, with_mode))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Engine::Postgres, url.to_owned()))
    } else {
        Err(Error::Url(url.to_owned()))
    }
}

impl Store {
    pub async fn connect(url: &str) -> Result<Store> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let (engine, url) = normalise_url(url)?;
        let opts = AnyConnectOptions::from_str(&url)?;
        match engine {
            Engine::Sqlite => {
                // The one writer keeps a larger page cache: it touches the indexes of every table a batch
                // writes, and a miss is a read system call copying the page in.
                // A connection to a file cannot go stale as a socket can: pinging it before each use (the
                // pool's default) only costs a hop through the driver's thread.
                let pragmas = |pool: AnyPoolOptions, cache_kib: i64, autocheckpoint: i64| {
                    pool.test_before_acquire(false).after_connect(move |conn, _| {
                        Box::pin(async move {
                            // WAL lets readers proceed during a write; NORMAL sync is durable across
                            // process crashes (the case the import must survive) and far faster than FULL.
                            conn.execute(
                                format!(
                                    "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                                     PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                                     PRAGMA cache_size = -{cache_kib}; PRAGMA temp_store = MEMORY; \
                                     PRAGMA wal_autocheckpoint = {autocheckpoint};"
                                )
                                .as_str(),
                            )
                            .await?;
                            Ok(())
                        })
                    })
                };
                let write = pragmas(AnyPoolOptions::new().max_connections(1).min_connections(1), 65_536, 0)
                    .acquire_timeout(Duration::from_secs(60))
                    .connect_with(opts.clone())
                    .await?;
                let read =
                    pragmas(AnyPoolOptions::new().max_connections(4), 16_384, 1000).connect_with(opts.clone()).await?;
                let checkpoints = Arc::new(Checkpoints::default());
                checkpointer(opts, Arc::downgrade(&checkpoints));
                Ok(Store { engine, write, read, checkpoints: Some(checkpoints) })
            }
            Engine::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(60))
                    .connect_with(opts)
                    .await?;
                Ok(Store { engine, write: pool.clone(), read: pool, checkpoints: None })
            }
        }
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// A write transaction. On SQLite it takes the write lock at once (BEGIN IMMEDIATE), so another
    /// process writing the same file makes this wait instead of failing half way through.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.engine {
            Engine::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Engine::Postgres => self.write.begin().await?,
        })
    }

    /// A write transaction on the connection in `kept`, taken from the pool if there is none. On PostgreSQL a
    /// writer that runs hundreds of transactions a second on one backend finds its statements prepared and
    /// their plans settled there (a pool hands out its sixteen in turn, so each plans every shape afresh).
    /// SQLite has one write connection, which nobody may keep: there this is [`Store::begin`]. The keeper
    /// must drop the connection when idle, since closing the store waits for it (and on an error, so that a
    /// broken one is not tried again).
    pub async fn begin_kept<'a>(&self, kept: &'a mut KeptConn) -> Result<Transaction<'a, Any>> {
        if self.engine == Engine::Sqlite {
            return self.begin().await;
        }
        let conn = match kept {
            Some(c) => c,
            None => kept.insert(self.write.acquire().await?),
        };
        Ok(conn.begin().await?)
    }

    /// For a bulk load in a process of its own: no WAL checkpoints until `checkpoint`, so the load keeps
    /// both cores. Durability is unchanged (commits never fsync under synchronous=NORMAL); only the WAL grows
    /// meanwhile. No-op on PostgreSQL.
    pub fn defer_checkpoints(&self) {
        if let Some(c) = &self.checkpoints {
            c.paused.store(true, Ordering::Relaxed);
        }
    }

    /// Sets the writer's page cache (KiB) for this process, for a bulk load with a memory budget: appends
    /// need few cached pages, the default is sized for the random index updates of tracking. No-op on
    /// PostgreSQL.
    pub async fn set_writer_cache_kib(&self, kib: i64) -> Result<()> {
        if self.engine == Engine::Sqlite {
            let sql = format!("PRAGMA cache_size = -{}", kib.max(1_024));
            self.write.acquire().await?.execute(sql.as_str()).await?;
        }
        Ok(())
    }

    /// Copies the WAL back into the database file and truncates it; resumes background checkpoints.
    pub async fn checkpoint(&self) -> Result<()> {
        if let Some(c) = &self.checkpoints {
            self.write.acquire().await?.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
            c.paused.store(false, Ordering::Relaxed);
        }
        Ok(())
    }

    /// False when PostgreSQL's autovacuum is off: then no table's statistics are ever gathered, the planner
    /// takes every growing table for a small one, and lookups by phone or order id turn into scans that slow
    /// intake as the tables grow. Always true on SQLite, whose planner does not need them.
    pub async fn statistics_kept(&self) -> Result<bool> {
        Ok(match self.engine {
            Engine::Sqlite => true,
            Engine::Postgres => {
                // PostgreSQL only.
                let on: String = sqlx::query("SHOW autovacuum").fetch_one(&self.read).await?.try_get(0)?;
                on == "on"
            }
        })
    }

    /// Gathers every table's statistics now (PostgreSQL's `ANALYZE`), as autovacuum does by itself once
    /// enough rows have changed. No-op on SQLite.
    pub async fn analyze(&self) -> Result<()> {
        if self.engine == Engine::Postgres {
            self.write.acquire().await?.execute("ANALYZE").await?;
        }
        Ok(())
    }

    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// A connection for reads outside any write transaction.
    pub async fn read(&self) -> Result<ReadConn> {
        Ok(self.read.acquire().await?)
    }

    pub async fn close(&self) {
        if let Some(c) = &self.checkpoints {
            c.closed.store(true, Ordering::Relaxed);
        }
        self.write.close().await;
        self.read.close().await;
    }

    /// Applies every embedded migration not yet recorded, each in its own transaction.
    pub async fn migrate(&self) -> Result<()> {
        let mut conn = self.write.acquire().await?;
        if self.engine == Engine::Postgres {
            // Several nodes may start at once; one migrates, the others wait and then find nothing to do.
            conn.execute("SELECT pg_advisory_lock(7405512)").await?;
        }
        let result = async {
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .await?;
            for (version, name, sql) in MIGRATIONS {
                let done: Option<(i64,)> = sqlx::query_as("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(*version)
                    .fetch_optional(&mut *conn)
                    .await?;
                if done.is_some() {
                    continue;
                }
                let sql = for_engine(sql, self.engine);
                let sql = match self.engine {
                    Engine::Sqlite => sql.replace("/*sqlite:WITHOUT ROWID*/", "WITHOUT ROWID"),
                    Engine::Postgres => sql,
                };
                let mut tx = conn.begin().await?;
                let applied = async {
                    sqlx::raw_sql(&sql).execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
                        .bind(*version)
                        .bind(*name)
                        .bind(micros(OffsetDateTime::now_utc()))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await
                }
                .await;
                applied.map_err(|source| Error::Migration { version: *version, name, source })?;
                tracing::info!(version, name, "applied migration");
            }
            Ok::<_, Error>(())
        }
        .await;
        if self.engine == Engine::Postgres {
            conn.execute("SELECT pg_advisory_unlock(7405512)").await?;
        }
        result
    }
}

/// Splits `items` into pieces whose lengths are powers of two (at most `max`, which should be one too).
/// Bulk statements are built for the rows at hand and preparing one with thousands of parameters costs
/// milliseconds; with power-of-two shapes only a dozen or so per statement ever exist, so they all stay
/// in the connection's statement cache and are prepared once.
pub fn pow2_chunks<T>(items: &[T], max: usize) -> Vec<&[T]> {
    let max = if max.is_power_of_two() { max } else { max.next_power_of_two() / 2 }.max(1);
    let mut out = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let n = rest.len().min(max);
        let n = if n.is_power_of_two() { n } else { n.next_power_of_two() / 2 };
        let (piece, tail) = rest.split_at(n);
        out.push(piece);
        rest = tail;
    }
    out
}

pub fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

pub fn from_micros(m: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(m as i128 * 1000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `$1, $2, …` starting after `offset` placeholders, for IN lists built at run time.
pub fn placeholders(offset: usize, n: usize) -> String {
    (offset + 1..=offset + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Parameters for a run-time list of `n` values after `offset` others: `$k` on PostgreSQL, bare `?` on
/// SQLite (where numbered parameters bind in quadratic time; see `bulk::insert_values`). A query using
/// this must use the same style for all its parameters: [`param`] gives the single ones.
pub fn params(conn: &sqlx::AnyConnection, offset: usize, n: usize) -> String {
    match Engine::of(conn) {
        Engine::Sqlite => vec!["?"; n].join(", "),
        Engine::Postgres => placeholders(offset, n),
    }
}

/// The `i`-th parameter (1-based) in the style of [`params`].
pub fn param(conn: &sqlx::AnyConnection, i: usize) -> String {
    match Engine::of(conn) {
        Engine::Sqlite => "?".into(),
        Engine::Postgres => format!("${i}"),
    }
}

pub async fn commit(tx: Transaction<'_, Any>) -> Result<()> {
    Ok(tx.commit().await?)
}

pub async fn rollback(tx: Transaction<'_, Any>) -> Result<()> {
    Ok(tx.rollback().await?)
}

#[cfg(test)]
mod tests {
    use super::pow2_chunks;

    #[test]
    fn bulk_statements_come_in_power_of_two_shapes_that_cover_every_item_once() {
        for n in 0..3000usize {
            let items: Vec<usize> = (0..n).collect();
            let pieces = pow2_chunks(&items, 1000);
            assert!(pieces.iter().all(|p| p.len().is_power_of_two() && p.len() <= 512), "{n}");
            let joined: Vec<usize> = pieces.concat();
            assert_eq!(joined, items);
        }
    }
}
