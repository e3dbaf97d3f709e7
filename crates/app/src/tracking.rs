//! Tracking: carrier events come in by webhook, by poll or through the batch API; each is normalised
//! through the per-carrier mapping table (unknown codes are kept as `unknown`, counted and listed), stored
//! once per (shipment, event time, code), and folded in event time. The order and its cash follow the
//! shipment; anomaly rules open and close tasks; buyer messages go to the outbox. Everything for one batch
//! happens in one transaction, so a replay or a crash half-way leaves nothing half-applied.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use codflow_connectors::carriers::{CarrierError, CarrierEvent, TrackingSource};
use codflow_domain::anomaly::{self, AnomalyKind, AnomalySettings, Watch};
use codflow_domain::review::{keys, value_band_of};
use codflow_domain::tracking::{self as domain, TrackingEvent};
use codflow_domain::{Actor, AuditRecord, CodStatus, Order, OrderStatus, ShipmentId, ShipmentStatus, TaskId};
use codflow_store::tasks::{self as tstore, Task, TaskStatus};
use codflow_store::tracking::{self as store, StoredEvent};
pub use codflow_store::tracking::{Mapping, NdrRequest, Tracked, TrackedFilter, Unmapped};
use codflow_store::{Conn, Store, commit, logistics as lstore, orders, review as rstore};
use futures::future::join_all;
use time::{Duration, OffsetDateTime};

use crate::notify::Notification;
use crate::{App, Error, Result};

/// A carrier event as it arrives, before normalisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingEvent {
    pub tracking_number: String,
    /// When given, must be the shipment's carrier.
    pub carrier: Option<String>,
    pub code: String,
    pub description: String,
    pub location: Option<String>,
    pub at: OffsetDateTime,
}

impl From<CarrierEvent> for IncomingEvent {
    fn from(e: CarrierEvent) -> Self {
        IncomingEvent {
            tracking_number: e.tracking_number,
            carrier: None,
            code: e.code,
            description: e.description,
            location: e.location,
            at: e.at,
        }
    }
}

/// What a batch of events came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub received: usize,
    /// Stored for the first time.
    pub new: usize,
    /// Seen before (replays and repeats within the batch).
    pub duplicates: usize,
    /// Stored with status `unknown`: their code has no mapping yet.
    pub unmapped: usize,
    /// (index in the batch, why) for events that could not be attached to a shipment.
    pub rejected: Vec<(usize, String)>,
    pub tasks_opened: usize,
    pub tasks_closed: usize,
}

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub evaluated: usize,
    pub tasks_opened: usize,
    pub tasks_closed: usize,
}

/// How the poller works, as ops set it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollSettings {
    /// Poll interval while a parcel is at the door; twice that in customs, four times otherwise.
    pub poll_seconds: i64,
    /// Carriers that are polled (a carrier that pushes need not be).
    pub poll_carriers: Vec<String>,
    /// A parcel still not final this long after booking is no longer polled.
    pub max_age_days: i64,
}

/// Tracking settings, read in one query per batch.
pub(crate) struct Settings {
    pub anomaly: AnomalySettings,
    /// Poll interval while a parcel is at the door (out for delivery, failed); four times that otherwise.
    pub poll_every: Duration,
    pub poll_carriers: Vec<String>,
    /// A parcel still not final this long after booking is no longer polled.
    pub max_age: Duration,
    pub public_url: String,
    /// Settlement cycle per channel code.
    pub cycles: HashMap<String, i64>,
}

const KEYS: [&str; 5] = [
    "anomaly_thresholds",
    "tracking_poll_seconds",
    "tracking_poll_carriers",
    "tracking_max_age_days",
    "public_base_url",
];

pub(crate) async fn settings(conn: &mut Conn) -> Result<Settings> {
    let mut s = settings_without_cycles(conn).await?;
    s.cycles =
        lstore::channels(conn).await?.into_iter().map(|c| (c.code.to_string(), c.settlement_cycle_days)).collect();
    Ok(s)
}

/// Where the public tracking page lives.
pub(crate) async fn public_url(conn: &mut Conn) -> Result<String> {
    Ok(public_url_of(&rstore::settings_of(conn, &["public_base_url"]).await?))
}

fn public_url_of(found: &HashMap<String, String>) -> String {
    found.get("public_base_url").filter(|u| !u.is_empty()).cloned().unwrap_or_else(crate::documents::default_public_url)
}

/// The settings alone, for a caller that knows the one settlement cycle it needs (booking) and should not
/// parse every channel for it.
async fn settings_without_cycles(conn: &mut Conn) -> Result<Settings> {
    let found = rstore::settings_of(conn, &KEYS).await?;
    let anomaly = match found.get("anomaly_thresholds") {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| codflow_store::Error::Corrupt(format!("setting anomaly_thresholds: {e}")))?,
        None => AnomalySettings::default(),
    };
    let int = |k: &str, default: i64| crate::settings::int(&found, k, default);
    Ok(Settings {
        anomaly,
        poll_every: Duration::seconds(int("tracking_poll_seconds", 3600)?.max(1)),
        poll_carriers: found
            .get("tracking_poll_carriers")
            .map_or("aramex,sandbox", |v| v.as_str())
            .split(',')
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect(),
        max_age: Duration::days(int("tracking_max_age_days", 60)?.max(1)),
        public_url: public_url_of(&found),
        cycles: HashMap::new(),
    })
}

impl Settings {
    fn watch(&self, t: &Tracked) -> Watch {
        Watch {
            progress: t.progress,
            booked_at: t.booked_at,
            cod_open: t.cod_status.is_open(),
            settlement_cycle_days: self.cycles.get(&t.channel).copied().unwrap_or(14),
        }
    }

    fn thresholds(&self, t: &Tracked) -> &anomaly::Thresholds {
        self.anomaly.for_lane(&t.country, &t.channel)
    }

    /// When to poll next, None to stop: final, too old, or a carrier that is not polled.
    fn next_poll(&self, t: &Tracked, now: OffsetDateTime) -> Option<OffsetDateTime> {
        use ShipmentStatus::*;
        if !self.poll_carriers.contains(&t.carrier) || t.progress.status.is_final() || now - t.booked_at > self.max_age
        {
            return None;
        }
        let factor = match t.progress.status {
            OutForDelivery | DeliveryFailed(_) | AvailableForPickup => 1,
            CustomsHeld(_) | CustomsProcessing => 2,
            _ => 4,
        };
        Some(now + self.poll_every * factor)
    }

    pub fn eta(&self, t: &Tracked) -> OffsetDateTime {
        anomaly::eta(&self.watch(t), self.thresholds(t))
    }
}

/// The row tracking starts from when the carrier books a shipment.
pub(crate) async fn start(
    conn: &mut Conn,
    s: &lstore::Shipment,
    order: &Order,
    tracking_number: &str,
    settlement_cycle_days: i64,
    now: OffsetDateTime,
) -> Result<()> {
    let mut settings = settings_without_cycles(conn).await?;
    settings.cycles.insert(s.channel.to_string(), settlement_cycle_days);
    let mut t = Tracked {
        shipment_id: s.id.clone(),
        order_id: order.id.clone(),
        tracking_number: tracking_number.to_owned(),
        carrier: s.carrier.clone(),
        country: order.shipping_address.country.to_string(),
        channel: s.channel.to_string(),
        booked_at: now,
        progress: anomaly::Progress::booked(now),
        cod: s.cod,
        cod_status: if s.cod.minor > 0 { CodStatus::Pending } else { CodStatus::NotApplicable },
        fired: Vec::new(),
        due_at: None,
        poll_at: None,
        poll_errors: 0,
    };
    t.due_at = anomaly::next_check(&settings.watch(&t), settings.thresholds(&t), now);
    t.poll_at = settings.next_poll(&t, now);
    store::start(conn, &t, now).await?;
    Ok(())
}

/// Decides which anomalies now hold and which went away, in memory: tasks to open and kinds recovered go
/// to `out`, to be written with the rest of the batch; sets when to look again.
fn evaluate(t: &mut Tracked, settings: &Settings, now: OffsetDateTime, out: &mut Changes) {
    let th = settings.thresholds(t);
    let w = settings.watch(t);
    let active = anomaly::active(&w, th, now);
    for kind in &active {
        if t.fired.contains(kind) {
            continue;
        }
        t.fired.push(*kind);
        out.open.push(Task {
            id: TaskId::generate(),
            kind: *kind,
            shipment_id: Some(t.shipment_id.clone()),
            order_id: Some(t.order_id.clone()),
            role: kind.role(),
            status: TaskStatus::Open,
            title: format!("{} ({})", kind.title(), t.tracking_number),
            due_at: now + th.sla(*kind),
            assignee: None,
            opened_by: "anomaly".into(),
            resolution: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
        });
    }
    let recovered: Vec<AnomalyKind> = t.fired.iter().filter(|k| !active.contains(k)).copied().collect();
    for kind in recovered {
        t.fired.retain(|k| *k != kind);
        out.recovered.push((t.shipment_id.clone(), kind, t.progress.status));
    }
    t.due_at = anomaly::next_check(&w, th, now);
}

/// What applying events changes besides the events themselves, gathered while shipments are followed in
/// memory and written together by [`Changes::write`]: a statement per kind of change, not per shipment.
#[derive(Default)]
struct Changes {
    audits: Vec<AuditRecord>,
    messages: Vec<Notification>,
    /// The message templates, read once per batch when a first message is due.
    templates: Option<crate::tracking_messages::Compiled>,
    link_secret: Option<String>,
    /// The orders the batch needs (loaded up front), and which of them changed.
    orders: HashMap<codflow_domain::OrderId, Order>,
    dirty: BTreeSet<codflow_domain::OrderId>,
    warehouses: HashMap<codflow_domain::WarehouseCode, codflow_domain::WarehouseId>,
    opted_out: HashSet<String>,
    /// Orders whose reservations left the warehouse.
    ship: Vec<codflow_domain::OrderId>,
    restock: Vec<(codflow_domain::OrderId, codflow_domain::WarehouseId, String)>,
    outcomes: Vec<rstore::NewOutcome>,
    open: Vec<Task>,
    recovered: Vec<(ShipmentId, AnomalyKind, ShipmentStatus)>,
    tracked: Vec<Tracked>,
    /// Parcels delivered in this batch, for their shops to hear about.
    delivered: Vec<(codflow_domain::OrderId, ShipmentId, OffsetDateTime)>,
    /// Only anomalies and deadlines changed (a sweep): the progress columns are left alone.
    deadlines_only: bool,
}

/// Whether a change of progress touches the order (and so needs it loaded).
fn touches_order(before: &Tracked, t: &Tracked) -> bool {
    use ShipmentStatus::*;
    let (old, new) = (before.progress.status, t.progress.status);
    (before.progress.picked_up_at.is_none() && t.progress.picked_up_at.is_some())
        || (old != new && matches!(new, Delivered | Returning | Returned | OutForDelivery | DeliveryFailed(_)))
        || t.progress.failed_attempts > before.progress.failed_attempts
}

impl Changes {
    /// Loads, in a few queries, what following these shipments will read: their orders, the warehouses
    /// and which buyers opted out of messages.
    async fn load(&mut self, conn: &mut Conn, pairs: &[(Tracked, Tracked)]) -> Result<()> {
        let ids: Vec<codflow_domain::OrderId> = pairs
            .iter()
            .filter(|(before, t)| touches_order(before, t))
            .map(|(_, t)| t.order_id.clone())
            .filter(|id| !self.orders.contains_key(id))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        for o in orders::get_many(conn, &ids).await? {
            self.orders.insert(o.id.clone(), o);
        }
        if self.warehouses.is_empty() {
            self.warehouses = codflow_store::catalogue::warehouses(conn, None, 10_000)
                .await?
                .into_iter()
                .map(|w| (w.code, w.id))
                .collect();
        }
        let phones: Vec<&str> = self.orders.values().map(|o| o.buyer.phone.as_str()).collect();
        self.opted_out = rstore::list_members(conn, "notify_opt_out", &phones).await?;
        Ok(())
    }

    /// Writes everything gathered, then the shipments themselves.
    async fn write(mut self, conn: &mut Conn, now: OffsetDateTime, report: &mut IngestReport) -> Result<()> {
        let at = codflow_store::micros(now);
        if !self.ship.is_empty() {
            orders::ship_reservations_many(conn, &self.ship, at).await?;
        }
        for (order, warehouse, tn) in &self.restock {
            let units = orders::restock_lines(conn, order, warehouse, at).await?;
            let mut a = AuditRecord::change(
                "order",
                order.to_string(),
                "restock",
                None,
                None,
                Actor::Worker("tracking".into()),
                now,
            );
            a.reason = Some(format!("{units} units back on the shelf from return {tn}"));
            self.audits.push(a);
        }
        if !self.dirty.is_empty() {
            let saved: Vec<(&Order, Option<&codflow_domain::WarehouseId>)> = self
                .dirty
                .iter()
                .filter_map(|id| self.orders.get(id))
                .map(|o| (o, o.allocation.as_ref().and_then(|a| self.warehouses.get(&a.warehouse))))
                .collect();
            orders::save_states(conn, &saved).await?;
        }
        if !self.outcomes.is_empty() {
            rstore::record_outcomes(conn, &self.outcomes, "tracking", now).await?;
        }
        let opened = tstore::open_many(conn, &self.open).await?;
        for task in self.open.iter().filter(|t| opened.contains(&t.id)) {
            report.tasks_opened += 1;
            let mut a = AuditRecord::change(
                "task",
                task.id.to_string(),
                "open",
                None,
                Some("open".into()),
                Actor::Worker("anomaly".into()),
                now,
            );
            a.reason = Some(format!(
                "{} on {}",
                task.kind.as_str(),
                task.shipment_id.as_ref().map(|s| s.as_str()).unwrap_or("")
            ));
            self.audits.push(a);
        }
        if !self.recovered.is_empty() {
            let ships: Vec<ShipmentId> = self.recovered.iter().map(|(s, _, _)| s.clone()).collect();
            let why: HashMap<(&ShipmentId, AnomalyKind), ShipmentStatus> =
                self.recovered.iter().map(|(s, k, st)| ((s, *k), *st)).collect();
            let mut closed = Vec::new();
            for mut task in tstore::open_for_many(conn, &ships).await? {
                let Some(status) = task.shipment_id.as_ref().and_then(|s| why.get(&(s, task.kind))) else { continue };
                let from = task.status;
                task.status = TaskStatus::Done;
                task.resolution = Some("recovered".into());
                task.closed_at = Some(now);
                task.updated_at = now;
                let mut a = AuditRecord::change(
                    "task",
                    task.id.to_string(),
                    "close",
                    Some(from.as_str().into()),
                    Some("done".into()),
                    Actor::Worker("anomaly".into()),
                    now,
                );
                a.reason = Some(format!("the shipment recovered ({status})"));
                self.audits.push(a);
                closed.push(task);
            }
            report.tasks_closed += closed.len();
            tstore::update_many(conn, &closed).await?;
        }
        if self.deadlines_only {
            store::save_deadlines(conn, &self.tracked).await?;
        } else {
            store::save_many(conn, &self.tracked, now).await?;
        }
        if !self.delivered.is_empty() {
            let delivered: Vec<_> =
                self.delivered.iter().filter_map(|(o, s, at)| self.orders.get(o).map(|o| (o, s, *at))).collect();
            crate::stores::queue_delivered(conn, &delivered).await?;
        }
        orders::insert_audit(conn, &self.audits).await?;
        codflow_store::outbox::enqueue(conn, &self.messages).await?;
        Ok(())
    }
}

/// Moves the order and its cash along with the shipment, and queues the buyer's messages. The order must
/// have been loaded by [`Changes::load`].
async fn follow(
    conn: &mut Conn,
    before: &Tracked,
    t: &mut Tracked,
    settings: &Settings,
    actor: &Actor,
    now: OffsetDateTime,
    out: &mut Changes,
) -> Result<()> {
    use ShipmentStatus::*;
    let (old, new) = (before.progress.status, t.progress.status);
    let changed = old != new;
    if changed {
        let mut a = AuditRecord::change(
            "shipment",
            t.shipment_id.to_string(),
            "track",
            Some(old.to_string()),
            Some(new.to_string()),
            actor.clone(),
            now,
        );
        a.reason = Some(format!("carrier event at {}", t.progress.status_at));
        out.audits.push(a);
    }
    if let Some(c) = t.cod_status.follow(new).filter(|_| changed) {
        t.cod_status = c;
    }
    if !touches_order(before, t) {
        return Ok(());
    }
    let moved = before.progress.picked_up_at.is_none() && t.progress.picked_up_at.is_some();
    let delivered = changed && new == Delivered;
    // A parcel that came back counts as refused even when its refusal and return arrive in one batch (a poll
    // can see a whole journey at once, and the status folds straight to `returned`).
    let refused =
        changed && matches!(new, DeliveryFailed(codflow_domain::tracking::FailReason::Refused) | Returning | Returned);
    let returned = changed && new == Returned;
    let at_door = changed && new == OutForDelivery;
    let failed = t.progress.failed_attempts > before.progress.failed_attempts && matches!(new, DeliveryFailed(_));
    let Some(order) = out.orders.get_mut(&t.order_id) else {
        return Err(codflow_store::Error::Corrupt(format!("shipment {} has no order", t.shipment_id)).into());
    };
    let order_actor = Actor::Worker("tracking".into());
    let warehouse = order.allocation.as_ref().and_then(|a| out.warehouses.get(&a.warehouse)).cloned();
    if moved && order.status == OrderStatus::Allocated {
        out.ship.push(order.id.clone());
        let units: i64 = order.lines.iter().map(|l| l.quantity).sum();
        let why = format!("picked up as {} ({units} units left the warehouse)", t.tracking_number);
        out.audits.push(order.transition(OrderStatus::Fulfilled, "fulfil", order_actor.clone(), Some(why), now)?);
        out.dirty.insert(order.id.clone());
    }
    if delivered {
        out.delivered.push((order.id.clone(), t.shipment_id.clone(), t.progress.status_at));
    }
    if delivered || refused {
        let outcome = if delivered {
            codflow_domain::review::backtest::Outcome::Delivered
        } else {
            codflow_domain::review::backtest::Outcome::Refused
        };
        let keys = keys::of_outcome(order, &value_band_of(order.review.as_ref()));
        out.outcomes.push(rstore::NewOutcome { order: order.id.clone(), outcome, at: t.progress.status_at, keys });
    }
    let close = (delivered && order.payment_method == codflow_domain::PaymentMethod::Prepaid) || returned;
    if returned && let Some(w) = &warehouse {
        out.restock.push((order.id.clone(), w.clone(), t.tracking_number.clone()));
    }
    if close && order.status == OrderStatus::Fulfilled {
        let why = if returned { "returned to the warehouse" } else { "delivered, paid in advance" };
        out.audits.push(order.transition(OrderStatus::Closed, "close", order_actor, Some(why.into()), now)?);
        out.dirty.insert(order.id.clone());
    }
    let mut wanted: Vec<(&str, String)> = Vec::new();
    if moved {
        wanted.push(("shipment_shipped", String::new()));
    }
    if at_door {
        wanted.push(("shipment_out_for_delivery", t.progress.status_at.unix_timestamp().to_string()));
    }
    if failed && !matches!(new, DeliveryFailed(codflow_domain::tracking::FailReason::Refused)) {
        wanted.push(("shipment_delivery_failed", t.progress.failed_attempts.to_string()));
    }
    if delivered {
        wanted.push(("shipment_delivered", String::new()));
    }
    if wanted.is_empty() || out.opted_out.contains(order.buyer.phone.as_str()) {
        return Ok(());
    }
    if out.templates.is_none() {
        let merged = crate::notify::merged(codflow_store::outbox::templates(conn).await?);
        out.templates = Some(crate::tracking_messages::Compiled::new(merged));
    }
    if out.link_secret.is_none() && wanted.iter().any(|(w, _)| *w == "shipment_delivery_failed") {
        out.link_secret = Some(crate::tracking_messages::link_secret(conn).await?);
    }
    let (Some(order), Some(templates)) = (out.orders.get(&t.order_id), out.templates.as_ref()) else {
        return Ok(());
    };
    let eta = settings.eta(t);
    let ctx = crate::tracking_messages::MessageCtx { order, tracked: t, eta, public_url: &settings.public_url };
    let rendered = crate::tracking_messages::render(&ctx, templates, &wanted, out.link_secret.as_deref(), now);
    out.messages.extend(rendered);
    Ok(())
}

/// Applies a batch in the caller's transaction.
pub(crate) async fn ingest_in(
    conn: &mut Conn,
    settings: &Settings,
    events: &[IncomingEvent],
    source: &str,
    now: OffsetDateTime,
) -> Result<(IngestReport, bool)> {
    let mapping: HashMap<(String, String), ShipmentStatus> =
        store::mappings(conn, None).await?.into_iter().map(|m| ((m.carrier, m.code), m.status)).collect();
    let mut numbers: Vec<&str> = events.iter().map(|e| e.tracking_number.as_str()).collect();
    numbers.sort_unstable();
    numbers.dedup();
    let mut tracked = store::by_numbers(conn, &numbers).await?;
    let mut report = IngestReport { received: events.len(), ..IngestReport::default() };
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let Some(t) = tracked.get(&e.tracking_number) else {
            report.rejected.push((i, format!("no shipment has tracking number {:?}", e.tracking_number)));
            continue;
        };
        if let Some(c) = e.carrier.as_deref().filter(|c| *c != t.carrier) {
            report.rejected.push((i, format!("{} is a {} shipment, not {c}", e.tracking_number, t.carrier)));
            continue;
        }
        // The store keeps microseconds; an event's identity must be what a later read returns.
        let at = e.at.replace_nanosecond(e.at.nanosecond() / 1000 * 1000).unwrap_or(e.at);
        if !seen.insert((t.shipment_id.clone(), at, e.code.clone())) {
            report.duplicates += 1;
            continue;
        }
        let status = mapping.get(&(t.carrier.clone(), e.code.clone())).copied().unwrap_or(ShipmentStatus::Unknown);
        rows.push(StoredEvent {
            shipment_id: t.shipment_id.clone(),
            at,
            code: e.code.clone(),
            carrier: t.carrier.clone(),
            status,
            description: e.description.clone(),
            location: e.location.clone(),
            source: source.to_owned(),
            received_at: now,
        });
    }
    let fresh: HashSet<(ShipmentId, OffsetDateTime, String)> =
        store::insert_events(conn, &rows).await?.into_iter().collect();
    report.new = fresh.len();
    report.duplicates += rows.len() - fresh.len();
    let mut by_shipment: BTreeMap<ShipmentId, Vec<TrackingEvent>> = BTreeMap::new();
    for r in rows {
        if !fresh.contains(&(r.shipment_id.clone(), r.at, r.code.clone())) {
            continue;
        }
        if r.status == ShipmentStatus::Unknown {
            report.unmapped += 1;
        }
        by_shipment.entry(r.shipment_id).or_default().push(TrackingEvent {
            at: r.at,
            carrier_code: r.code,
            status: r.status,
        });
    }
    let mut by_id: HashMap<ShipmentId, Tracked> = tracked.drain().map(|(_, t)| (t.shipment_id.clone(), t)).collect();
    let mut pairs = Vec::with_capacity(by_shipment.len());
    for (id, new) in by_shipment {
        let Some(mut t) = by_id.remove(&id) else { continue };
        let before = t.clone();
        t.progress = match domain::advance(t.progress, &new) {
            Some(p) => p,
            None => domain::progress_of(t.booked_at, &all_events(conn, &id).await?),
        };
        pairs.push((before, t));
    }
    let outcomes = pairs.iter().any(|(before, t)| {
        before.progress.status != t.progress.status
            && matches!(
                t.progress.status,
                ShipmentStatus::Delivered | ShipmentStatus::Returning | ShipmentStatus::DeliveryFailed(_)
            )
    });
    let actor = Actor::Worker(format!("tracking:{source}"));
    apply(conn, pairs, settings, &actor, now, &mut report).await?;
    Ok((report, outcomes))
}

async fn all_events(conn: &mut Conn, id: &ShipmentId) -> Result<Vec<TrackingEvent>> {
    Ok(store::events_of(conn, id)
        .await?
        .into_iter()
        .map(|e| TrackingEvent { at: e.at, carrier_code: e.code, status: e.status })
        .collect())
}

/// Follows and evaluates shipments whose progress moved from `before` to the new one, and writes it all.
async fn apply(
    conn: &mut Conn,
    pairs: Vec<(Tracked, Tracked)>,
    settings: &Settings,
    actor: &Actor,
    now: OffsetDateTime,
    report: &mut IngestReport,
) -> Result<()> {
    let mut out = Changes::default();
    out.load(conn, &pairs).await?;
    for (before, mut t) in pairs {
        follow(conn, &before, &mut t, settings, actor, now, &mut out).await?;
        evaluate(&mut t, settings, now, &mut out);
        out.tracked.push(t);
    }
    out.write(conn, now, report).await
}

/// Shipments a sweep evaluates per transaction.
const SWEEP_CHUNK: i64 = 2000;

/// Evaluates up to `limit` shipments whose next deadline has passed, then up to `limit` more of a pending
/// re-evaluation pass. Returns how many it looked at.
pub(crate) async fn sweep_once(store: &Store, now: OffsetDateTime, limit: i64) -> Result<(usize, IngestReport)> {
    let mut tx = store.begin().await?;
    let settings = settings(&mut tx).await?;
    let mut due = store::due_locked(&mut tx, now, limit).await?;
    let seen: HashSet<ShipmentId> = due.iter().map(|t| t.shipment_id.clone()).collect();
    due.extend(
        store::next_reevaluation(&mut tx, limit, now).await?.into_iter().filter(|t| !seen.contains(&t.shipment_id)),
    );
    let n = due.len();
    let mut report = IngestReport::default();
    let mut out = Changes { deadlines_only: true, ..Changes::default() };
    for mut t in due {
        let before = (t.fired.clone(), t.due_at);
        evaluate(&mut t, &settings, now, &mut out);
        // Most of a re-evaluation pass finds nothing new; those rows are not written at all.
        if (&t.fired, t.due_at) != (&before.0, before.1) {
            out.tracked.push(t);
        }
    }
    out.write(&mut tx, now, &mut report).await?;
    commit(tx).await?;
    Ok((n, report))
}

/// Polls up to `limit` shipments that are due, through their carriers, and applies what they report.
pub(crate) async fn poll_once(
    store: &Store,
    carriers: &crate::booking::Carriers,
    now: OffsetDateTime,
    limit: i64,
) -> Result<usize> {
    let claimed = {
        let mut tx = store.begin().await?;
        let c = store::claim_polls(&mut tx, now, now + Duration::minutes(5), limit).await?;
        commit(tx).await?;
        c
    };
    if claimed.is_empty() {
        return Ok(0);
    }
    let results = join_all(claimed.iter().map(|t| async move {
        match carriers.of(&t.carrier) {
            Some(c) => c.track(&t.tracking_number).await,
            None => Err(CarrierError::Config(format!("no {} carrier is configured in this process", t.carrier))),
        }
    }))
    .await;
    let mut events = Vec::new();
    let mut failed = HashSet::new();
    for (t, r) in claimed.iter().zip(results) {
        match r {
            Ok(evs) => events.extend(evs.into_iter().map(IncomingEvent::from)),
            Err(e) => {
                tracing::warn!(tracking = %t.tracking_number, error = %e, "tracking poll failed");
                failed.insert(t.shipment_id.clone());
            }
        }
    }
    let mut tx = store.begin().await?;
    let settings = settings(&mut tx).await?;
    ingest_in(&mut tx, &settings, &events, "poll", now).await?;
    let ids: Vec<ShipmentId> = claimed.iter().map(|t| t.shipment_id.clone()).collect();
    for t in store::by_ids(&mut tx, &ids).await? {
        let (next, errors) = if failed.contains(&t.shipment_id) {
            let errors = t.poll_errors + 1;
            let backoff = Duration::minutes(5 * (1i64 << errors.clamp(1, 8)));
            (Some(now + backoff.min(settings.poll_every * 4)), errors)
        } else {
            (settings.next_poll(&t, now), 0)
        };
        store::set_poll(&mut tx, &t.shipment_id, next, errors).await?;
    }
    commit(tx).await?;
    Ok(claimed.len())
}

/// The tracking worker: polls and sweeps what is due, then waits a little or until rung.
pub(crate) async fn run_worker(
    store: Store,
    carriers: Arc<crate::booking::Carriers>,
    ctx: Arc<crate::orders::Ctx>,
    mut stop: crate::workers::Stop,
) {
    while !stop.requested() {
        let now = ctx.clock.now();
        let polled = poll_once(&store, &carriers, now, 50).await;
        let swept = sweep_once(&store, now, SWEEP_CHUNK).await;
        if let Err(e) = &polled {
            tracing::error!(error = %e, "tracking poller");
        }
        if let Err(e) = &swept {
            tracing::error!(error = %e, "anomaly sweep");
        }
        if matches!(polled, Ok(n) if n > 0) || matches!(swept, Ok((n, _)) if n > 0) {
            continue;
        }
        if stop.pause(StdDuration::from_secs(1), Some(&ctx.track)).await {
            break;
        }
    }
}

/// A shipment's tracking as the API shows it.
#[derive(Clone, Debug)]
pub struct TrackingView {
    pub tracked: Tracked,
    pub eta: OffsetDateTime,
    pub events: Vec<StoredEvent>,
    pub tasks: Vec<Task>,
    pub ndr: Vec<store::NdrRequest>,
}

impl App {
    /// Applies a batch of events from `source` (`api`, `webhook`, `poll`).
    pub async fn ingest_events(&self, events: &[IncomingEvent], source: &str) -> Result<IngestReport> {
        let now = self.clock().now();
        let mut attempt = 0;
        let (report, outcomes) = loop {
            attempt += 1;
            let mut tx = self.store.begin().await?;
            let settings = settings(&mut tx).await?;
            match ingest_in(&mut tx, &settings, events, source, now).await {
                Ok(r) => {
                    commit(tx).await?;
                    break r;
                }
                // Another node stored one of these events between our look-up and our insert: the next
                // attempt sees it as a replay.
                Err(Error::Internal(e)) if e.is_unique_violation() && attempt < 3 => {
                    codflow_store::rollback(tx).await?;
                }
                Err(e) => return Err(e),
            }
        };
        if outcomes {
            self.ctx.review.invalidate();
        }
        self.ctx.wake.notify_one();
        Ok(report)
    }

    /// A signed push from a carrier: verified on the raw body, then applied. A bad signature stores nothing.
    pub async fn carrier_webhook(&self, carrier: &str, signature: Option<&str>, body: &[u8]) -> Result<IngestReport> {
        let carriers = self.carriers();
        let (Some(c), Some(secret)) = (carriers.of(carrier), carriers.webhook_secret(carrier)) else {
            return Err(Error::NotFound("carrier webhook"));
        };
        let Some(hooks) = c.webhooks() else {
            return Err(Error::NotFound("carrier webhook"));
        };
        if !signature.is_some_and(|s| hooks.verify(secret, body, s)) {
            return Err(Error::Unauthorized);
        }
        let events = hooks.parse_webhook(body).map_err(|e| Error::invalid("body", e.to_string()))?;
        let events: Vec<IncomingEvent> = events.into_iter().map(IncomingEvent::from).collect();
        self.ingest_events(&events, "webhook").await
    }

    /// Runs the anomaly sweep now at the app's clock, until nothing is due.
    pub async fn sweep(&self) -> Result<SweepReport> {
        let now = self.clock().now();
        let mut total = SweepReport::default();
        loop {
            let (n, r) = sweep_once(&self.store, now, SWEEP_CHUNK).await?;
            total.evaluated += n;
            total.tasks_opened += r.tasks_opened;
            total.tasks_closed += r.tasks_closed;
            if n == 0 {
                return Ok(total);
            }
        }
    }

    /// Polls every shipment due now (at the app's clock). Returns how many were polled.
    pub async fn poll_tracking(&self) -> Result<usize> {
        let now = self.clock().now();
        let carriers = self.carriers();
        let mut total = 0;
        loop {
            let n = poll_once(&self.store, &carriers, now, 50).await?;
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
    }

    /// Starts the tracking worker (poller and anomaly sweep); call inside a tokio runtime.
    pub fn start_tracking_worker(&self) {
        let (store, ctx, carriers) = (self.store.clone(), self.ctx.clone(), self.carriers());
        self.ctx.workers.spawn("tracking", move |stop| run_worker(store, carriers, ctx, stop));
    }

    pub async fn tracking(&self, shipment: &str) -> Result<TrackingView> {
        let id = ShipmentId::parse(shipment).map_err(|_| Error::NotFound("shipment"))?;
        let mut conn = self.store.read().await?;
        let tracked = store::by_shipment(&mut conn, &id).await?.ok_or(Error::NotFound("tracking"))?;
        self.view(&mut conn, tracked).await
    }

    pub async fn tracking_by_number(&self, number: &str) -> Result<TrackingView> {
        let mut conn = self.store.read().await?;
        let tracked = store::by_number(&mut conn, number).await?.ok_or(Error::NotFound("tracking"))?;
        self.view(&mut conn, tracked).await
    }

    async fn view(&self, conn: &mut Conn, tracked: Tracked) -> Result<TrackingView> {
        let settings = settings(conn).await?;
        let events = store::events_of(conn, &tracked.shipment_id).await?;
        let filter = tstore::TaskFilter { shipment: Some(tracked.shipment_id.clone()), ..Default::default() };
        let tasks = tstore::list(conn, &filter, 100).await?;
        let ndr = store::ndr_of(conn, &tracked.shipment_id).await?;
        Ok(TrackingView { eta: settings.eta(&tracked), tracked, events, tasks, ndr })
    }

    pub async fn tracked_shipments(
        &self,
        mut filter: TrackedFilter,
        limit: i64,
        cursor: Option<&str>,
    ) -> Result<(Vec<Tracked>, Option<String>)> {
        if let Some(c) = cursor {
            filter.before = Some(
                ShipmentId::parse(c).map_err(|_| Error::invalid("cursor", "is not a cursor from a previous page"))?,
            );
        }
        let rows = store::list(&mut *self.store.read().await?, &filter, limit + 1).await?;
        Ok(crate::split_page(rows, limit, |t| t.shipment_id.to_string()))
    }

    // -------------------------------------------------------------------------------------- mappings

    pub async fn carrier_mappings(&self, carrier: Option<&str>) -> Result<Vec<Mapping>> {
        Ok(store::mappings(&mut *self.store.read().await?, carrier).await?)
    }

    /// Maps a carrier code; events already stored with it as unknown take the status and their shipments
    /// are folded again.
    pub async fn put_carrier_mapping(&self, m: Mapping, actor: Actor) -> Result<usize> {
        let mut e = codflow_domain::FieldErrors::default();
        if m.carrier.is_empty() || m.carrier.len() > 32 {
            e.push("carrier", "must be 1 to 32 characters");
        }
        if m.code.is_empty() || m.code.len() > 64 {
            e.push("code", "must be 1 to 64 characters");
        }
        if m.status == ShipmentStatus::Unknown {
            e.push("status", "map the code to a status other than unknown (or delete the mapping)");
        }
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        store::put_mapping(&mut tx, &m, now).await?;
        let affected = store::renormalise(&mut tx, &m.carrier, &m.code, m.status).await?;
        let settings = settings(&mut tx).await?;
        let audit = {
            let mut a = AuditRecord::change(
                "carrier_code",
                format!("{}/{}", m.carrier, m.code),
                "map",
                None,
                Some(m.status.to_string()),
                actor.clone(),
                now,
            );
            a.reason = Some(format!("{} events re-normalised", affected.len()));
            a
        };
        orders::insert_audit(&mut tx, &[audit]).await?;
        let mut pairs = Vec::new();
        for mut t in store::by_ids(&mut tx, &affected).await? {
            let before = t.clone();
            t.progress = domain::progress_of(t.booked_at, &all_events(&mut tx, &t.shipment_id).await?);
            pairs.push((before, t));
        }
        apply(&mut tx, pairs, &settings, &actor, now, &mut IngestReport::default()).await?;
        commit(tx).await?;
        Ok(affected.len())
    }

    pub async fn delete_carrier_mapping(&self, carrier: &str, code: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let found = store::delete_mapping(&mut tx, carrier, code).await?;
        commit(tx).await?;
        if found { Ok(()) } else { Err(Error::NotFound("mapping")) }
    }

    pub async fn unmapped_codes(&self) -> Result<Vec<Unmapped>> {
        Ok(store::unmapped(&mut *self.store.read().await?).await?)
    }

    // -------------------------------------------------------------------------------------- poller settings

    pub async fn tracking_settings(&self) -> Result<PollSettings> {
        let s = settings_without_cycles(&mut *self.store.read().await?).await?;
        Ok(PollSettings {
            poll_seconds: s.poll_every.whole_seconds(),
            poll_carriers: s.poll_carriers,
            max_age_days: s.max_age.whole_days(),
        })
    }

    /// Saves how the poller works; shipments already scheduled keep their next poll, later ones follow
    /// the new settings.
    pub async fn set_tracking_settings(&self, p: PollSettings, actor: Actor) -> Result<PollSettings> {
        let mut e = codflow_domain::FieldErrors::default();
        if !(60..=7 * 86_400).contains(&p.poll_seconds) {
            e.push("poll_seconds", "must be between 60 (a minute) and 604800 (a week)");
        }
        if !(1..=365).contains(&p.max_age_days) {
            e.push("max_age_days", "must be between 1 and 365");
        }
        for (i, c) in p.poll_carriers.iter().enumerate() {
            if c.is_empty()
                || c.len() > 32
                || !c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                e.push(format!("poll_carriers[{i}]"), "must be a carrier code (lower-case letters, digits, _)");
            }
        }
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        for (k, v) in [
            ("tracking_poll_seconds", p.poll_seconds.to_string()),
            ("tracking_poll_carriers", p.poll_carriers.join(",")),
            ("tracking_max_age_days", p.max_age_days.to_string()),
        ] {
            rstore::set_setting(&mut tx, k, &v, now).await?;
        }
        let what = format!(
            "poll every {} s: {}; stop after {} days",
            p.poll_seconds,
            p.poll_carriers.join(", "),
            p.max_age_days
        );
        let record = AuditRecord::change("settings", "tracking".into(), "update", None, Some(what), actor, now);
        orders::insert_audit(&mut tx, &[record]).await?;
        commit(tx).await?;
        Ok(p)
    }

    // -------------------------------------------------------------------------------------- thresholds

    pub async fn anomaly_settings(&self) -> Result<AnomalySettings> {
        Ok(settings(&mut *self.store.read().await?).await?.anomaly)
    }

    /// Replaces the thresholds; every active shipment is evaluated again on the next sweep.
    pub async fn set_anomaly_settings(&self, s: AnomalySettings) -> Result<AnomalySettings> {
        s.validate().map_err(Error::Invalid)?;
        let json = serde_json::to_string(&s).map_err(|e| codflow_store::Error::Corrupt(e.to_string()))?;
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        rstore::set_setting(&mut tx, "anomaly_thresholds", &json, now).await?;
        store::start_reevaluation(&mut tx, now).await?;
        // Customs limits decide which parcels the dashboards count as delayed.
        codflow_store::kpi::mark_all_dirty(&mut tx).await?;
        commit(tx).await?;
        self.ctx.track.notify_one();
        Ok(s)
    }
}
