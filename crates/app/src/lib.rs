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
mod runtime;
mod settings;
mod shop_push;
pub mod stores;
pub mod tasks;
pub mod throttle;
pub mod tracking;
mod tracking_messages;
pub mod users;
pub mod workers;

pub use auth::{Principal, hash_token};
pub use error::{ConflictKind, Error, Result};
pub use runtime::{Clock, now, peak_rss_kib};

use std::sync::Arc;

use codflow_store::Store;

/// One running application: the use cases over its store, the carriers and keys it was built with, and the
/// workers it has started. Cloning gives another handle on the same application (a background task's, a
/// server's); nothing in it is replaced after [`Builder::build`].
#[derive(Clone)]
pub struct App {
    pub store: Store,
    tokens: Arc<auth::TokenCache>,
    logins: Arc<throttle::LoginGuard>,
    intake: intake::IntakeQueue,
    ctx: Arc<runtime::Ctx>,
    carriers: Arc<booking::Carriers>,
    sealer: Option<Arc<stores::Sealer>>,
    senders: notify::Senders,
    inbox: channel_sync::InboxWriter,
}

/// Everything an [`App`] depends on, given before it starts: the carriers it books with, the key that seals
/// shop credentials, the senders of buyer messages and the clock.
pub struct Builder {
    store: Store,
    carriers: booking::Carriers,
    sealer: Option<stores::Sealer>,
    senders: notify::Senders,
    clock: Clock,
}

impl Builder {
    pub fn carriers(mut self, carriers: booking::Carriers) -> Builder {
        self.carriers = carriers;
        self
    }

    /// Without a key, shops with credentials cannot be saved.
    pub fn secret_key(mut self, sealer: Option<stores::Sealer>) -> Builder {
        self.sealer = sealer;
        self
    }

    /// A channel without a sender keeps its messages queued.
    pub fn senders(mut self, senders: notify::Senders) -> Builder {
        self.senders = senders;
        self
    }

    pub fn clock(mut self, clock: Clock) -> Builder {
        self.clock = clock;
        self
    }

    /// Must be called inside a tokio runtime: it starts the intake and shop-inbox writer tasks. Workers are
    /// started separately (`start_*`), so a test or a one-shot command runs only those it needs.
    pub fn build(self) -> App {
        let ctx = Arc::new(runtime::Ctx::new(self.clock));
        let intake = intake::IntakeQueue::start(self.store.clone(), ctx.clone());
        let inbox = channel_sync::InboxWriter::start(self.store.clone());
        App {
            inbox,
            store: self.store,
            tokens: Default::default(),
            logins: Default::default(),
            intake,
            ctx,
            carriers: Arc::new(self.carriers),
            sealer: self.sealer.map(Arc::new),
            senders: self.senders,
        }
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
    pub fn builder(store: Store) -> Builder {
        Builder {
            store,
            carriers: Default::default(),
            sealer: None,
            senders: Default::default(),
            clock: Clock::default(),
        }
    }

    /// An application with no carriers, no key and no senders (one-shot commands, tests); must be called
    /// inside a tokio runtime.
    pub fn new(store: Store) -> App {
        App::builder(store).build()
    }

    pub fn clock(&self) -> &Clock {
        &self.ctx.clock
    }

    /// Starts the worker that sends queued buyer messages with the senders it was built with; must be called
    /// inside a tokio runtime.
    pub fn start_dispatcher(&self) {
        let wake = self.ctx.clone();
        let (store, senders) = (self.store.clone(), self.senders.clone());
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
