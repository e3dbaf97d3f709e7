//! Use cases of codflow: each one validates through the domain, owns its transaction, and writes the
//! audit trail with the change.

pub mod attach;
pub mod auth;
pub mod booking;
pub mod calls;
pub mod carrier_accounts;
pub mod cashflow;
pub mod catalogue;
pub mod channel_sync;
pub mod claim_statement;
pub mod claims;
pub mod disputes;
pub mod documents;
pub mod error;
pub mod finance;
pub mod floor;
pub mod import;
pub mod intake;
pub mod kpi;
pub mod logistics;
pub mod ndr;
pub mod notify;
pub mod orders;
pub mod packaging;
pub mod profit;
pub mod review;
pub mod rules;
mod runtime;
mod services;
mod settings;
mod shop_push;
pub mod shops;
pub mod tasks;
pub mod throttle;
pub mod tracking;
mod tracking_messages;
pub mod users;
pub mod workers;

pub use auth::{Principal, hash_token};
pub use error::{ConflictKind, Error, Result};
pub use runtime::{Clock, now, peak_rss_kib};
pub use services::{Admin, Catalogue, Channels, Finance, Floor, Fulfilment, Insights, Intake, Review, Tracking};

use std::sync::Arc;

use codflow_store::Store;

/// One running application: its services over one store, the carriers and keys it was built with, and the
/// workers it has started. Cloning gives another handle on the same application (a background task's, a
/// server's); nothing in it is replaced after [`Builder::build`].
#[derive(Clone)]
pub struct App {
    pub store: Store,
    ctx: Arc<runtime::Ctx>,
    admin: Admin,
    catalogue: Catalogue,
    intake: Intake,
    review: Review,
    fulfilment: Fulfilment,
    tracking: Tracking,
    finance: Finance,
    channels: Channels,
    insights: Insights,
    floor: Floor,
}

/// Everything an [`App`] depends on, given before it starts: the carriers it books with, the key that seals
/// shop credentials, the senders of buyer messages and the clock.
pub struct Builder {
    store: Store,
    carriers: booking::Carriers,
    sealer: Option<shops::Sealer>,
    senders: notify::Senders,
    clock: Clock,
}

impl Builder {
    pub fn carriers(mut self, carriers: booking::Carriers) -> Builder {
        self.carriers = carriers;
        self
    }

    /// Without a key, shops with credentials cannot be saved.
    pub fn secret_key(mut self, sealer: Option<shops::Sealer>) -> Builder {
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
        let store = self.store;
        let queue = intake::IntakeQueue::start(store.clone(), ctx.clone());
        let inbox = channel_sync::InboxWriter::start(store.clone());
        let sealer = self.sealer.map(Arc::new);
        let carriers = Arc::new(booking::Carriers { sealer: sealer.clone(), ..self.carriers });
        let (s, c) = (store.clone(), ctx.clone());
        let intake = Intake { store: s.clone(), ctx: c.clone(), queue, products: Default::default() };
        let review = Review { store: s.clone(), ctx: c.clone(), intake: intake.clone() };
        let fulfilment =
            Fulfilment { store: s.clone(), ctx: c.clone(), carriers: carriers.clone(), damage: Default::default() };
        let tracking = Tracking { store: s.clone(), ctx: c.clone(), carriers, senders: self.senders };
        let finance = Finance {
            store: s.clone(),
            ctx: c.clone(),
            intake: intake.clone(),
            fulfilment: fulfilment.clone(),
            review: review.clone(),
        };
        let floor = Floor { store: s.clone(), ctx: c.clone(), fulfilment: fulfilment.clone() };
        App {
            floor,
            admin: Admin { store: s.clone(), ctx: c.clone(), tokens: Default::default(), logins: Default::default() },
            catalogue: Catalogue { store: s.clone(), ctx: c.clone() },
            channels: Channels { store: s.clone(), ctx: c.clone(), sealer, inbox, intake: intake.clone() },
            insights: Insights {
                store: s,
                ctx: c,
                tracking: tracking.clone(),
                review: review.clone(),
                fulfilment: fulfilment.clone(),
                finance: finance.clone(),
            },
            intake,
            review,
            fulfilment,
            tracking,
            finance,
            store,
            ctx,
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

    pub fn admin(&self) -> &Admin {
        &self.admin
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    pub fn intake(&self) -> &Intake {
        &self.intake
    }

    pub fn review(&self) -> &Review {
        &self.review
    }

    pub fn fulfilment(&self) -> &Fulfilment {
        &self.fulfilment
    }

    pub fn tracking(&self) -> &Tracking {
        &self.tracking
    }

    pub fn finance(&self) -> &Finance {
        &self.finance
    }

    pub fn channels(&self) -> &Channels {
        &self.channels
    }

    pub fn insights(&self) -> &Insights {
        &self.insights
    }

    pub fn floor(&self) -> &Floor {
        &self.floor
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
