//! Use cases of codflow: each one validates through the domain, owns its transaction, and writes the
//! audit trail with the change.

pub mod auth;
pub mod booking;
pub mod cashflow;
pub mod catalogue;
pub mod channel_sync;
pub mod disputes;
pub mod documents;
pub mod error;
pub mod finance;
pub mod import;
pub mod intake;
pub mod kpi;
pub mod logistics;
pub mod ndr;
pub mod notify;
pub mod orders;
pub mod profit;
pub mod review;
pub mod rules;
mod settings;
pub mod stores;
pub mod tasks;
pub mod throttle;
pub mod tracking;
mod tracking_messages;
pub mod users;
pub mod workers;

pub use auth::{Principal, hash_token};
pub use error::{ConflictKind, Error, Result};

use codflow_store::Store;

pub struct App {
    pub store: Store,
    tokens: std::sync::Arc<auth::TokenCache>,
    logins: std::sync::Arc<throttle::LoginGuard>,
    intake: intake::IntakeQueue,
    ctx: std::sync::Arc<orders::Ctx>,
    carriers: std::sync::RwLock<std::sync::Arc<booking::Carriers>>,
    sealer: std::sync::RwLock<Option<std::sync::Arc<stores::Sealer>>>,
    inbox: channel_sync::InboxWriter,
}

/// The current time at the precision the store keeps (microseconds), so what a use case returns equals
/// what a later read returns.
pub fn now() -> time::OffsetDateTime {
    let t = time::OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// The time every use case writes and decides by (orders, audit records, bookings, tracking, tasks and their
/// workers), so timelines stay in order. The system clock in production; tests freeze and advance it to put
/// anomalies at their thresholds; the demo runs it as fast as its sandbox carrier.
#[derive(Debug)]
pub struct Clock(std::sync::RwLock<ClockMode>);

#[derive(Clone, Copy, Debug)]
enum ClockMode {
    System,
    Frozen(time::OffsetDateTime),
    Scaled { start: std::time::Instant, epoch: time::OffsetDateTime, scale: f64 },
}

impl Default for Clock {
    fn default() -> Self {
        Clock(std::sync::RwLock::new(ClockMode::System))
    }
}

impl Clock {
    pub fn now(&self) -> time::OffsetDateTime {
        let mode = self.0.read().map(|m| *m).unwrap_or(ClockMode::System);
        let t = match mode {
            ClockMode::System => return now(),
            ClockMode::Frozen(t) => t,
            ClockMode::Scaled { start, epoch, scale } => {
                epoch + time::Duration::seconds_f64(start.elapsed().as_secs_f64() * scale)
            }
        };
        t.replace_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
    }

    fn set(&self, m: ClockMode) {
        if let Ok(mut g) = self.0.write() {
            *g = m;
        }
    }

    /// Stops the clock at `t`.
    pub fn freeze(&self, t: time::OffsetDateTime) {
        self.set(ClockMode::Frozen(t));
    }

    /// Moves the clock on (freezing it where it lands).
    pub fn advance(&self, by: time::Duration) {
        let t = self.now() + by;
        self.freeze(t);
    }

    /// Reads `epoch` now and runs `scale` times faster than real time from there (a simulation replaying
    /// past days).
    pub fn run_from(&self, epoch: time::OffsetDateTime, scale: f64) {
        self.set(ClockMode::Scaled { start: std::time::Instant::now(), epoch, scale });
    }
}

/// Cuts a `limit + 1` row result to one page, with the cursor of the next page when there is one.
pub(crate) fn split_page<T>(
    mut rows: Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        let next = rows.last().map(cursor_of);
        (rows, next)
    } else {
        (rows, None)
    }
}

impl App {
    /// Must be called inside a tokio runtime: it starts the intake writer task.
    pub fn new(store: Store) -> App {
        let ctx = std::sync::Arc::new(orders::Ctx::default());
        let intake = intake::IntakeQueue::start(store.clone(), ctx.clone());
        let inbox = channel_sync::InboxWriter::start(store.clone());
        App {
            inbox,
            store,
            tokens: Default::default(),
            logins: Default::default(),
            intake,
            ctx,
            carriers: Default::default(),
            sealer: Default::default(),
        }
    }

    pub fn clock(&self) -> &Clock {
        &self.ctx.clock
    }

    /// Another handle on the same application (store, clock, caches, intake, carriers and sealer as set
    /// now), for a background task while the first is being served.
    pub fn handle(&self) -> App {
        App {
            store: self.store.clone(),
            tokens: self.tokens.clone(),
            logins: self.logins.clone(),
            intake: self.intake.clone(),
            inbox: self.inbox.clone(),
            ctx: self.ctx.clone(),
            carriers: std::sync::RwLock::new(self.carriers()),
            sealer: std::sync::RwLock::new(self.sealer.read().ok().and_then(|s| s.clone())),
        }
    }

    /// Starts the worker that sends queued buyer messages; must be called inside a tokio runtime.
    pub fn start_dispatcher(&self, senders: notify::Senders) {
        let wake = self.ctx.clone();
        let store = self.store.clone();
        self.ctx.workers.spawn("outbox", move |stop| notify::run_dispatcher(store, senders, wake, stop));
    }

    /// Stops the background workers (each finishes the round it is in), waiting up to `deadline`, then
    /// closes the database (on SQLite, the last connection's close checkpoints the WAL into the file).
    /// Returns the workers that were still running at the deadline.
    pub async fn shutdown(&self, deadline: std::time::Duration) -> Vec<&'static str> {
        let left = self.ctx.workers.stop(deadline).await;
        self.store.close().await;
        left
    }
}
