//! The use-case areas of codflow, each a small cloneable struct over only what it depends on, all built once
//! by [`crate::Builder`]. Every service holds the store and the shared runtime (clock, doorbells, workers);
//! what else each needs is its own field.

use std::sync::Arc;

use codflow_store::Store;

use crate::runtime::{Clock, Ctx};
use crate::{auth, booking, channel_sync, intake, notify, packaging, shops, throttle};

macro_rules! service {
    ($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            pub(crate) store: Store,
            pub(crate) ctx: Arc<Ctx>,
            $(pub(crate) $field: $ty,)*
        }

        impl $name {
            pub fn clock(&self) -> &Clock {
                &self.ctx.clock
            }
        }
    };
}

service!(
    /// Users, console sessions and API tokens.
    Admin { tokens: Arc<auth::TokenCache>, logins: Arc<throttle::LoginGuard> }
);
service!(
    /// Warehouses, products and stock.
    Catalogue {}
);
service!(
    /// Orders: intake one by one (through the single writer) and from files, their history and the
    /// operator's actions on them.
    Intake { queue: intake::IntakeQueue, products: Arc<crate::catalogue::ProductIds> }
);
service!(
    /// Review rules and lists, the review queue, back-tests, the base currency and exchange rates.
    Review { intake: Intake }
);
service!(
    /// Channels, rate cards and duties, quotes and allocation settings, booking with the carriers, and the
    /// documents of booked parcels.
    Fulfilment { carriers: Arc<booking::Carriers>, damage: Arc<packaging::DamageCache> }
);
service!(
    /// Carrier events and the shipments they move, failed-delivery links, tasks, and buyer messages.
    Tracking { carriers: Arc<booking::Carriers>, senders: notify::Senders }
);
service!(
    /// Statements and reconciliation, the ledger, receivables, cash flow, profit and dispute packets.
    Finance { intake: Intake, fulfilment: Fulfilment, review: Review }
);
service!(
    /// Shops: their settings and sealed credentials, inbound orders (webhooks and pulls), stock levels and
    /// updates pushed back.
    Channels {
        sealer: Option<Arc<shops::Sealer>>,
        inbox: channel_sync::InboxWriter,
        intake: Intake,
    }
);
service!(
    /// Dashboards, the channel scorecard and recommendations.
    Insights { tracking: Tracking, review: Review, fulfilment: Fulfilment, finance: Finance }
);
service!(
    /// The warehouse floor: stations and their devices, product barcodes, and the pack station (scan, verify,
    /// weigh, check, re-rate or hold, print).
    Floor { fulfilment: Fulfilment }
);
