//! Orders in from the seller's shops, exactly once, whatever order they arrive in.
//!
//! A webhook delivery is verified and stored raw in the inbox in the request, and acknowledged; a processor
//! turns inbox rows into orders. Pulls put every order a shop changed since the last pull in the same inbox,
//! so a webhook that never came is caught by the next pull and one that came twice is recognised by its
//! delivery id (or, across webhook and pull, by the shop's change time). A version older than one already
//! applied is ignored; an `updated` that arrives before its `create` creates the order from its full payload;
//! a cancellation releases the stock, or opens a task when the parcel is already booked; an order that cannot
//! be used (unknown SKU, bad field) is kept with its error and stalls nothing else.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration as StdDuration;

use codflow_connectors::sales::{ChannelOrder, ShopState, parse_delivery};
use codflow_domain::anomaly::AnomalyKind;
use codflow_domain::shop::{Platform, ShopConfig};
pub use codflow_domain::work::Delivery;

mod pull;

use codflow_domain::{Actor, FieldErrors, InboxId, OrderStatus, ShopCode, TaskId};
use codflow_store::channel_sync::{self as cs, InboxCounts, InboxStatus, SyncState};
use codflow_store::shops as sstore;
use codflow_store::{Store, commit, logistics as lstore, orders as ostore, tasks as tstore};
pub use pull::{PullReport, StockReport};
use sha2::{Digest, Sha256};
use time::Duration;
use tokio::sync::{mpsc, oneshot};

use crate::error::ConflictKind;
use crate::orders::{Action, IntakeOutcome};
use crate::shops::{context, hex};
use crate::{Channels, Error, Result};

/// A webhook request as the web layer hands it over.
pub struct WebhookDelivery<'a> {
    pub topic: Option<&'a str>,
    pub delivery_id: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

impl<'a> WebhookDelivery<'a> {
    /// A delivery as `platform` sends it: its topic, id and signature read from the headers it uses
    /// (`header` looks one up by its lower-case name).
    pub fn from_headers(platform: Platform, header: impl Fn(&str) -> Option<&'a str>, body: &'a [u8]) -> Self {
        match codflow_connectors::sales::webhooks(platform) {
            Some(h) => WebhookDelivery {
                topic: header(h.topic),
                delivery_id: header(h.delivery_id),
                signature: header(h.signature),
                body,
            },
            None => WebhookDelivery { topic: None, delivery_id: None, signature: None, body },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    Stored,
    /// The same delivery was stored before (the platform retried, or someone replayed it).
    Duplicate,
    /// WooCommerce's test delivery when a webhook is saved: answered, nothing stored.
    Ping,
}

/// Most deliveries written in one transaction.
const MAX_BATCH: usize = 512;
/// Deliveries taken per processing round.
const PROCESS_BATCH: i64 = 256;
/// How long a done delivery is kept: long past any platform's retries (Shopify retries for 48 hours).
pub const INBOX_KEEP: Duration = Duration::days(30);
/// After this many failed attempts at storing its order (database trouble), a delivery waits for a person.
const MAX_ATTEMPTS: i64 = 5;

struct Job {
    delivery: Delivery,
    reply: oneshot::Sender<Result<bool>>,
}

/// Group commit for the inbox: every delivery that arrives while the previous batch commits goes in the next
/// transaction, so a burst of webhooks costs a few transactions, not one each.
#[derive(Clone)]
pub(crate) struct InboxWriter {
    tx: mpsc::Sender<Job>,
}

impl InboxWriter {
    pub(crate) fn start(store: Store) -> InboxWriter {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_inbox(store, rx));
        InboxWriter { tx }
    }

    /// Stores the delivery; false when that (store, delivery id) was already stored.
    async fn submit(&self, delivery: Delivery) -> Result<bool> {
        let (reply, answer) = oneshot::channel();
        let stopped = || Error::Unavailable("the server is stopping; try again".into());
        self.tx.send(Job { delivery, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write_inbox(store: Store, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let batch = std::mem::take(&mut jobs);
        // Two copies of one delivery in a batch: the first is stored, the others are its duplicates.
        let mut seen = std::collections::HashSet::new();
        let (firsts, repeats): (Vec<Job>, Vec<Job>) =
            batch.into_iter().partition(|j| seen.insert((j.delivery.store.clone(), j.delivery.delivery_id.clone())));
        let rows: Vec<Delivery> = firsts.iter().map(|j| j.delivery.clone()).collect();
        let stored = async {
            let mut tx = store.begin().await?;
            let new = cs::receive(&mut tx, &rows).await?;
            commit(tx).await?;
            Ok::<_, codflow_store::Error>(new)
        }
        .await;
        match stored {
            Ok(new) => {
                let new: std::collections::HashSet<String> = new.into_iter().collect();
                for j in firsts {
                    let _ = j.reply.send(Ok(new.contains(&j.delivery.delivery_id)));
                }
                for j in repeats {
                    let _ = j.reply.send(Ok(false));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "storing shop deliveries");
                for j in firsts.into_iter().chain(repeats) {
                    let _ = j.reply.send(Err(Error::Conflict {
                        kind: ConflictKind::NotStored,
                        message: "the delivery could not be stored; the shop will retry it".into(),
                    }));
                }
            }
        }
    }
}

/// What processing one delivery came to.
#[derive(Debug)]
enum Applied {
    Done {
        outcome: &'static str,
        order: Option<codflow_domain::OrderId>,
    },
    Failed(String),
    /// Could not be tried (database trouble): left pending for the next round.
    Later(String),
}

fn describe(e: &FieldErrors) -> String {
    e.0.iter().map(|f| format!("{}: {}", f.path, f.message)).collect::<Vec<_>>().join("; ")
}

/// When the sync worker pulls shops and pushes stock.
#[derive(Clone, Copy, Debug)]
pub struct SyncSchedule {
    /// The first pull and stock push after start (catching up on what was missed while down).
    pub first_pull_after: StdDuration,
    pub pull_every: StdDuration,
    pub stock_every: StdDuration,
}

/// How a shop's order sync stands, for its status page and API.
#[derive(Clone, Debug)]
pub struct SyncStatus {
    pub store: ShopConfig,
    pub inbox: InboxCounts,
    pub pull: SyncState,
    /// How long the oldest delivery not yet processed has waited (zero when none waits).
    pub lag: Duration,
    /// The newest failed deliveries, for a person to fix and replay.
    pub errors: Vec<Delivery>,
}

impl Channels {
    /// Verifies and stores one webhook delivery of a shop (`platform` names the endpoint it came to).
    pub async fn receive_shop_webhook(
        &self,
        platform: Platform,
        code: &str,
        d: WebhookDelivery<'_>,
    ) -> Result<Received> {
        // A platform's ping stores nothing, so it is answered for any code: a ping cannot tell a shop that
        // exists from one that does not.
        // Pulled-only platforms have no webhooks: nothing they are sent can be verified.
        let Some(hooks) = codflow_connectors::sales::webhooks(platform) else { return Err(Error::Unauthorized) };
        if (hooks.is_ping)(d.body) {
            return Ok(Received::Ping);
        }
        // An unknown shop is answered exactly as a bad signature, so shop codes cannot be probed.
        let code = ShopCode::parse(code).map_err(|_| Error::Unauthorized)?;
        let row = sstore::get(&mut *self.store.read().await?, &code).await?.ok_or(Error::Unauthorized)?;
        if row.config.platform != platform {
            return Err(Error::Unauthorized);
        }
        let secret = match (row.webhook_secret.as_deref(), self.sealer()) {
            (Some(sealed), Some(k)) => k.open(sealed, &context(&code, "webhook_secret")),
            _ => None,
        };
        // Without a secret nothing can be verified, so nothing is accepted.
        let Some(secret) = secret else { return Err(Error::Unauthorized) };
        if !d.signature.is_some_and(|s| (hooks.verify)(secret.as_bytes(), d.body, s)) {
            return Err(Error::Unauthorized);
        }
        if !row.config.enabled {
            return Err(Error::Conflict {
                kind: ConflictKind::ShopDisabled,
                message: format!("store {code} is disabled"),
            });
        }
        let delivery_id = d
            .delivery_id
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(200).collect::<String>())
            .unwrap_or_else(|| format!("sha256:{}", hex(&Sha256::digest(d.body))));
        let topic = d.topic.map(str::trim).filter(|t| !t.is_empty()).unwrap_or("unknown");
        let body = String::from_utf8_lossy(d.body).into_owned();
        let delivery = Delivery::new(
            code,
            "webhook",
            &topic.chars().take(100).collect::<String>(),
            &delivery_id,
            body,
            self.ctx.clock.now(),
        );
        let new = self.inbox.submit(delivery).await?;
        if new {
            self.ctx.inbox.notify_one();
        }
        Ok(if new { Received::Stored } else { Received::Duplicate })
    }

    /// Starts the worker that turns stored deliveries into orders, pulls every shop that can be pulled and
    /// pushes changed stock levels on `schedule`; must be called inside a tokio runtime.
    pub fn start_channel_sync(&self, schedule: SyncSchedule) {
        let app = self.clone();
        self.ctx.workers.spawn("shop sync", move |mut stop| async move {
            let start = tokio::time::Instant::now();
            let mut next_pull = start + schedule.first_pull_after;
            let mut next_stock = start + schedule.first_pull_after;
            while !stop.requested() {
                if let Err(e) = app.process_inbox().await {
                    tracing::error!(error = %e, "shop order processor");
                }
                let now = tokio::time::Instant::now();
                if now >= next_pull {
                    next_pull = now + schedule.pull_every;
                    if let Err(e) = app.pull_all().await {
                        tracing::error!(error = %e, "shop order pulls");
                    }
                }
                if now >= next_stock {
                    next_stock = now + schedule.stock_every;
                    if let Err(e) = app.push_stock_levels().await {
                        tracing::error!(error = %e, "shop stock push");
                    }
                    if let Err(e) = app.prune_inbox().await {
                        tracing::error!(error = %e, "pruning the shop inbox");
                    }
                }
                if stop.pause(StdDuration::from_secs(2), Some(&app.ctx.inbox)).await {
                    break;
                }
            }
        });
    }

    /// Processes every pending delivery; returns how many it finished (done or failed).
    pub async fn process_inbox(&self) -> Result<usize> {
        let _round = self.ctx.inbox_round.lock().await;
        let mut total = 0;
        loop {
            let batch = cs::pending(&mut *self.store.read().await?, PROCESS_BATCH).await?;
            if batch.is_empty() {
                return Ok(total);
            }
            let configs: HashMap<ShopCode, ShopConfig> = sstore::list(&mut *self.store.read().await?)
                .await?
                .into_iter()
                .map(|r| (r.config.code.clone(), r.config))
                .collect();
            // One shop order's deliveries in arrival order, one after another; different orders side by side,
            // so intake can commit them together.
            let mut groups: BTreeMap<(ShopCode, String), Vec<(Delivery, ChannelOrder)>> = BTreeMap::new();
            let mut finished = 0;
            let mut stuck = 0;
            for mut d in batch {
                let Some(cfg) = configs.get(&d.store) else {
                    self.finish(d, Applied::Failed("the store is gone".into())).await?;
                    finished += 1;
                    continue;
                };
                match parse_delivery(cfg.platform, &d.topic, d.body.as_bytes(), &cfg.cod_gateways) {
                    Ok(co) => {
                        d.external_id = Some(co.external_id.clone());
                        d.remote_updated_at = co.updated_at;
                        d.notes = (!co.notes.is_empty()).then(|| co.notes.join("\n"));
                        groups.entry((d.store.clone(), co.external_id.clone())).or_default().push((d, co))
                    }
                    Err(e) => {
                        d.external_id = codflow_connectors::sales::order_id_of(d.body.as_bytes());
                        self.finish(d, Applied::Failed(describe(&e))).await?;
                        finished += 1;
                    }
                }
            }
            let runs = groups.into_values().map(|deliveries| async move {
                let mut n = (0usize, 0usize);
                for (d, co) in deliveries {
                    let applied = self.apply(&d, co).await;
                    let later = matches!(applied, Applied::Later(_));
                    if self.finish(d, applied).await.is_err() || later {
                        n.1 += 1;
                        // Later deliveries of this order wait, so they are never applied out of order.
                        break;
                    }
                    n.0 += 1;
                }
                n
            });
            for (done, later) in futures::future::join_all(runs).await {
                finished += done;
                stuck += later;
            }
            total += finished;
            if finished == 0 && stuck > 0 {
                // Everything left hit database trouble; the worker tries again on its next round.
                return Ok(total);
            }
        }
    }

    async fn apply(&self, d: &Delivery, co: ChannelOrder) -> Applied {
        match self.apply_inner(d, co).await {
            Ok(a) => a,
            Err(Error::Invalid(e)) => Applied::Failed(describe(&e)),
            Err(Error::NotFound(what)) => Applied::Failed(format!("{what} not found")),
            // Contention passes; anything else (a transition the order's state refuses) will not.
            Err(
                Error::Conflict { kind: ConflictKind::Busy | ConflictKind::NotStored, message }
                | Error::Unavailable(message),
            ) => Applied::Later(message),
            Err(Error::Conflict { message, .. }) => Applied::Failed(message),
            Err(e) => Applied::Later(e.to_string()),
        }
    }

    async fn apply_inner(&self, d: &Delivery, co: ChannelOrder) -> Result<Applied> {
        let newest = cs::newest_applied(&mut *self.store.read().await?, &d.store, &co.external_id).await?;
        if let (Some(newest), Some(this)) = (newest, co.updated_at)
            && this <= newest
        {
            return Ok(Applied::Done { outcome: if this < newest { "stale" } else { "unchanged" }, order: None });
        }
        let existing = ostore::get_by_external(&mut *self.store.read().await?, &d.store, &co.external_id).await?;
        // A shop's changes are recorded as its worker's.
        let actor = Actor::Worker(format!("shop:{}", d.store));
        match (existing, co.state) {
            (None, ShopState::Cancelled) => Ok(Applied::Done { outcome: "cancelled_before_intake", order: None }),
            (None, ShopState::NotReady(_)) => Ok(Applied::Done { outcome: "not_ready", order: None }),
            (None, ShopState::Open) => {
                let mut input = co.input;
                input.store = Some(d.store.to_string());
                match self.intake.create_order(input, actor).await? {
                    IntakeOutcome::Created(o) => Ok(Applied::Done { outcome: "created", order: Some(o.id) }),
                    IntakeOutcome::Existing(o) => Ok(Applied::Done { outcome: "existing", order: Some(o.id) }),
                }
            }
            (Some(o), ShopState::Cancelled) => {
                if o.status == OrderStatus::Cancelled {
                    return Ok(Applied::Done { outcome: "already_cancelled", order: Some(o.id) });
                }
                let live = lstore::live_shipment(&mut *self.store.read().await?, &o.id).await?;
                let shipped = matches!(o.status, OrderStatus::Fulfilled | OrderStatus::Closed);
                if live.is_some() || shipped {
                    self.open_cancel_task(&o, live.map(|s| s.id)).await?;
                    return Ok(Applied::Done { outcome: "cancel_task_opened", order: Some(o.id) });
                }
                self.intake.act_on_order(&o.id, Action::Cancel, actor, Some("cancelled in the shop".into())).await?;
                Ok(Applied::Done { outcome: "cancelled", order: Some(o.id) })
            }
            // Changes other than a cancellation (an edited address, a note) are not carried over once the
            // order is in codflow: it may already be reviewed, allocated or booked on what it said.
            (Some(o), _) => Ok(Applied::Done { outcome: "seen", order: Some(o.id) }),
        }
    }

    async fn open_cancel_task(
        &self,
        o: &codflow_domain::Order,
        shipment: Option<codflow_domain::ShipmentId>,
    ) -> Result<()> {
        let now = self.ctx.clock.now();
        let kind = AnomalyKind::CancelledAtShop;
        let th = codflow_domain::anomaly::Thresholds::default();
        let task = tstore::Task {
            id: TaskId::generate(),
            kind,
            shipment_id: shipment,
            order_id: Some(o.id.clone()),
            role: kind.role(),
            status: tstore::TaskStatus::Open,
            title: kind.title().to_owned(),
            due_at: now + th.sla(kind),
            assignee: None,
            opened_by: "channel-sync".into(),
            resolution: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
        };
        let mut tx = self.store.begin().await?;
        tstore::open_many(&mut tx, &[task]).await?;
        commit(tx).await?;
        Ok(())
    }

    async fn finish(&self, mut d: Delivery, applied: Applied) -> Result<()> {
        d.attempts += 1;
        d.processed_at = Some(self.ctx.clock.now());
        match applied {
            Applied::Done { outcome, order } => {
                d.status = InboxStatus::Done;
                d.outcome = Some(outcome.to_owned());
                d.order_id = order;
                d.error = None;
            }
            Applied::Failed(e) => {
                d.status = InboxStatus::Failed;
                d.error = Some(e);
            }
            Applied::Later(e) => {
                d.status = if d.attempts >= MAX_ATTEMPTS { InboxStatus::Failed } else { InboxStatus::Pending };
                d.error = Some(e);
            }
        }
        let mut tx = self.store.begin().await?;
        cs::finish(&mut tx, &d).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Forgets the payloads of deliveries done more than [`INBOX_KEEP`] ago; failed ones stay until replayed.
    pub async fn prune_inbox(&self) -> Result<u64> {
        let before = self.ctx.clock.now() - INBOX_KEEP;
        let mut tx = self.store.begin().await?;
        let n = cs::prune_done(&mut tx, before).await?;
        commit(tx).await?;
        Ok(n)
    }

    pub async fn sync_status(&self, code: &ShopCode) -> Result<SyncStatus> {
        let code = code.clone();
        let mut conn = self.store.read().await?;
        let row = sstore::get(&mut conn, &code).await?.ok_or(Error::NotFound("store"))?;
        let inbox = cs::counts(&mut conn, &code).await?;
        let pull = cs::sync_state(&mut conn, &code).await?;
        let errors = cs::list(&mut conn, &code, Some(InboxStatus::Failed), None, 20).await?;
        let now = self.ctx.clock.now();
        let lag = inbox.oldest_pending_at.map(|t| (now - t).max(Duration::ZERO)).unwrap_or(Duration::ZERO);
        Ok(SyncStatus { store: row.config, inbox, pull, lag, errors })
    }

    /// A shop's deliveries, newest first.
    pub async fn inbox(
        &self,
        code: &ShopCode,
        status: Option<&str>,
        limit: i64,
        cursor: Option<&str>,
    ) -> Result<(Vec<Delivery>, Option<String>)> {
        let code = code.clone();
        let status = status
            .map(|s| {
                InboxStatus::parse(s)
                    .ok_or_else(|| Error::invalid("status", format!("{s:?} is not pending, done or failed")))
            })
            .transpose()?;
        let before = cursor
            .map(|c| InboxId::parse(c).map_err(|_| Error::invalid("cursor", "is not a cursor from a previous page")))
            .transpose()?;
        let mut conn = self.store.read().await?;
        sstore::get(&mut conn, &code).await?.ok_or(Error::NotFound("store"))?;
        let rows = cs::list(&mut conn, &code, status, before.as_ref(), limit + 1).await?;
        Ok(crate::split_page(rows, limit, |d| d.id.to_string()))
    }

    pub async fn inbox_delivery(&self, id: &InboxId) -> Result<Delivery> {
        let id = id.clone();
        cs::get(&mut *self.store.read().await?, &id).await?.ok_or(Error::NotFound("delivery"))
    }

    /// Puts a failed delivery back in the queue (after the SKU was added, say) and processes it now.
    pub async fn retry_delivery(&self, id: &InboxId) -> Result<Delivery> {
        let id = id.clone();
        let mut tx = self.store.begin().await?;
        let ok = cs::retry(&mut tx, &id).await?;
        commit(tx).await?;
        if !ok {
            cs::get(&mut *self.store.read().await?, &id).await?.ok_or(Error::NotFound("delivery"))?;
            return Err(Error::Conflict {
                kind: ConflictKind::NotFailed,
                message: "only a failed delivery can be retried".into(),
            });
        }
        self.process_inbox().await?;
        self.inbox_delivery(&id).await
    }
}
