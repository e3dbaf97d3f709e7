//! Tracking: carrier events come in by webhook, by poll or through the batch API; each is normalised
//! through the per-carrier mapping table (unknown codes are kept as `unknown`, counted and listed), stored
//! once per (shipment, event time, code), and folded in event time. The order and its cash follow the
//! shipment; anomaly rules open and close tasks; buyer messages go to the outbox. Everything for one batch
//! happens in one transaction, so a replay or a crash half-way leaves nothing half-applied.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use codflow_connectors::carriers::{CarrierError, CarrierEvent, TrackingSource, WebhookParser};
use codflow_domain::anomaly::{self, AnomalyKind, AnomalySettings, Watch};
use codflow_domain::review::{keys, value_band_of};
use codflow_domain::tracking::{self as domain, TrackingEvent};
use codflow_domain::{Actor, AuditRecord, CodStatus, Order, OrderStatus, ShipmentId, ShipmentStatus, TaskId};
use codflow_store::tasks::{self as tstore, Task, TaskStatus};
use codflow_store::tracking::{self as store, StoredEvent};
pub use codflow_store::tracking::{Mapping, Tracked, TrackedFilter, Unmapped};
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

/// The settings alone, for a caller that knows the one settlement cycle it needs (booking) and should not
/// parse every channel for it.
async fn settings_without_cycles(conn: &mut Conn) -> Result<Settings> {
    let found = rstore::settings_of(conn, &KEYS).await?;
    let anomaly = match found.get("anomaly_thresholds") {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| codflow_store::Error::Corrupt(format!("setting anomaly_thresholds: {e}")))?,
        None => AnomalySettings::default(),
    };
    let int = |k: &str, default: i64| found.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(default);
    Ok(Settings {
        anomaly,
        poll_every: Duration::seconds(int("tracking_poll_seconds", 3600).max(1)),
        poll_carriers: found
            .get("tracking_poll_carriers")
            .map_or("aramex,sandbox", |v| v.as_str())
            .split(',')
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect(),
        max_age: Duration::days(int("tracking_max_age_days", 60).max(1)),
        public_url: found
            .get("public_base_url")
            .filter(|u| !u.is_empty())
            .cloned()
            .unwrap_or_else(|| crate::documents::DEFAULT_PUBLIC_URL.into()),
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

/// Opens tasks for anomalies that now hold and closes those whose condition went away; sets when to look
/// again.
async fn evaluate(
    conn: &mut Conn,
    t: &mut Tracked,
    settings: &Settings,
    now: OffsetDateTime,
    audits: &mut Vec<AuditRecord>,
    report: &mut IngestReport,
) -> Result<()> {
    let th = settings.thresholds(t);
    let w = settings.watch(t);
    let active = anomaly::active(&w, th, now);
    for kind in &active {
        if t.fired.contains(kind) {
            continue;
        }
        t.fired.push(*kind);
        let task = Task {
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
        };
        if tstore::open(conn, &task).await? {
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
            a.reason = Some(format!("{} on {}", kind.as_str(), t.shipment_id));
            audits.push(a);
        }
    }
    let recovered: Vec<AnomalyKind> = t.fired.iter().filter(|k| !active.contains(k)).copied().collect();
    for kind in recovered {
        t.fired.retain(|k| *k != kind);
        for mut task in tstore::open_for(conn, &t.shipment_id).await?.into_iter().filter(|x| x.kind == kind) {
            let from = task.status;
            task.status = TaskStatus::Done;
            task.resolution = Some("recovered".into());
            task.closed_at = Some(now);
            task.updated_at = now;
            tstore::update(conn, &task).await?;
            report.tasks_closed += 1;
            let mut a = AuditRecord::change(
                "task",
                task.id.to_string(),
                "close",
                Some(from.as_str().into()),
                Some("done".into()),
                Actor::Worker("anomaly".into()),
                now,
            );
            a.reason = Some(format!("the shipment recovered ({})", t.progress.status));
            audits.push(a);
        }
    }
    t.due_at = anomaly::next_check(&w, th, now);
    Ok(())
}

/// What applying events writes besides the shipment: audit records and outbox messages.
#[derive(Default)]
struct Changes {
    audits: Vec<AuditRecord>,
    messages: Vec<Notification>,
    /// The message templates, read once per batch when a first message is due.
    templates: Option<BTreeMap<(String, String), crate::notify::StoredTemplate>>,
}

/// Moves the order and its cash along with the shipment, and queues the buyer's messages.
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
    let Changes { audits, messages, templates } = out;
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
        audits.push(a);
    }
    if let Some(c) = t.cod_status.follow(new).filter(|_| changed) {
        t.cod_status = c;
    }
    let moved = before.progress.picked_up_at.is_none() && t.progress.picked_up_at.is_some();
    let delivered = changed && new == Delivered;
    let refused = changed && matches!(new, DeliveryFailed(codflow_domain::tracking::FailReason::Refused) | Returning);
    let returned = changed && new == Returned;
    let at_door = changed && new == OutForDelivery;
    let failed = t.progress.failed_attempts > before.progress.failed_attempts && matches!(new, DeliveryFailed(_));
    if !(moved || delivered || refused || returned || at_door || failed) {
        return Ok(());
    }
    let Some(mut order) = orders::get(conn, &t.order_id).await? else {
        return Err(codflow_store::Error::Corrupt(format!("shipment {} has no order", t.shipment_id)).into());
    };
    let order_actor = Actor::Worker("tracking".into());
    let warehouse = order_warehouse(conn, &order).await?;
    if moved && order.status == OrderStatus::Allocated {
        let units = orders::ship_reservations(conn, &order.id, codflow_store::micros(now)).await?;
        let why = format!("picked up as {} ({units} units left the warehouse)", t.tracking_number);
        audits.push(order.transition(OrderStatus::Fulfilled, "fulfil", order_actor.clone(), Some(why), now)?);
        orders::save_state(conn, &order, warehouse.as_ref()).await?;
    }
    if delivered || refused {
        let outcome = if delivered {
            codflow_domain::review::backtest::Outcome::Delivered
        } else {
            codflow_domain::review::backtest::Outcome::Refused
        };
        let keys = keys::of_outcome(&order, &value_band_of(order.review.as_ref()));
        let at = t.progress.status_at;
        rstore::record_outcome(conn, &order.id, outcome, at, &actor.to_stored(), &keys, now).await?;
    }
    let close = (delivered && order.payment_method == codflow_domain::PaymentMethod::Prepaid) || returned;
    if returned && let Some(w) = &warehouse {
        let units = orders::restock_lines(conn, &order.id, w, codflow_store::micros(now)).await?;
        let mut a = AuditRecord::change("order", order.id.to_string(), "restock", None, None, order_actor.clone(), now);
        a.reason = Some(format!("{units} units back on the shelf from return {}", t.tracking_number));
        audits.push(a);
    }
    if close && order.status == OrderStatus::Fulfilled {
        let why = if returned { "returned to the warehouse" } else { "delivered, paid in advance" };
        audits.push(order.transition(OrderStatus::Closed, "close", order_actor, Some(why.into()), now)?);
        orders::save_state(conn, &order, warehouse.as_ref()).await?;
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
    if wanted.is_empty() {
        return Ok(());
    }
    let templates = match templates {
        Some(t) => t,
        None => templates.insert(crate::notify::merged(codflow_store::outbox::templates(conn).await?)),
    };
    let eta = settings.eta(t);
    let ctx = crate::tracking_messages::MessageCtx { order: &order, tracked: t, eta, public_url: &settings.public_url };
    messages.extend(crate::tracking_messages::render(conn, &ctx, templates, &wanted, now).await?);
    Ok(())
}

async fn order_warehouse(conn: &mut Conn, order: &Order) -> Result<Option<codflow_domain::WarehouseId>> {
    let Some(code) = order.allocation.as_ref().map(|a| a.warehouse.clone()) else { return Ok(None) };
    Ok(codflow_store::catalogue::warehouse_by_code(conn, &code).await?.map(|w| w.id))
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
    let mut out = Changes::default();
    let actor = Actor::Worker(format!("tracking:{source}"));
    let mut outcomes = false;
    let by_id: HashMap<ShipmentId, String> =
        tracked.values().map(|t| (t.shipment_id.clone(), t.tracking_number.clone())).collect();
    for (id, new) in by_shipment {
        let Some(t) = by_id.get(&id).and_then(|n| tracked.get_mut(n)) else { continue };
        let before = t.clone();
        t.progress = match domain::advance(t.progress, &new) {
            Some(p) => p,
            None => {
                let all: Vec<TrackingEvent> = store::events_of(conn, &id)
                    .await?
                    .into_iter()
                    .map(|e| TrackingEvent { at: e.at, carrier_code: e.code, status: e.status })
                    .collect();
                domain::progress_of(t.booked_at, &all)
            }
        };
        follow(conn, &before, t, settings, &actor, now, &mut out).await?;
        outcomes |= before.progress.status != t.progress.status
            && matches!(
                t.progress.status,
                ShipmentStatus::Delivered | ShipmentStatus::Returning | ShipmentStatus::DeliveryFailed(_)
            );
        evaluate(conn, t, settings, now, &mut out.audits, &mut report).await?;
        store::save(conn, t, now).await?;
    }
    orders::insert_audit(conn, &out.audits).await?;
    codflow_store::outbox::enqueue(conn, &out.messages).await?;
    Ok((report, outcomes))
}

/// Evaluates up to `limit` shipments whose next deadline has passed. Returns how many it looked at.
pub(crate) async fn sweep_once(store: &Store, now: OffsetDateTime, limit: i64) -> Result<(usize, IngestReport)> {
    let mut tx = store.begin().await?;
    let settings = settings(&mut tx).await?;
    let claimed = store::claim_due(&mut tx, now, now + Duration::minutes(5), limit).await?;
    let mut report = IngestReport::default();
    let mut audits = Vec::new();
    for mut t in claimed.iter().cloned() {
        evaluate(&mut tx, &mut t, &settings, now, &mut audits, &mut report).await?;
        store::save(&mut tx, &t, now).await?;
    }
    orders::insert_audit(&mut tx, &audits).await?;
    commit(tx).await?;
    Ok((claimed.len(), report))
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
pub(crate) async fn run_worker(store: Store, carriers: Arc<crate::booking::Carriers>, ctx: Arc<crate::orders::Ctx>) {
    loop {
        let now = ctx.clock.now();
        let polled = poll_once(&store, &carriers, now, 50).await;
        let swept = sweep_once(&store, now, 1000).await;
        if let Err(e) = &polled {
            tracing::error!(error = %e, "tracking poller");
        }
        if let Err(e) = &swept {
            tracing::error!(error = %e, "anomaly sweep");
        }
        if matches!(polled, Ok(n) if n > 0) || matches!(swept, Ok((n, _)) if n > 0) {
            continue;
        }
        let _ = tokio::time::timeout(StdDuration::from_secs(1), ctx.track.notified()).await;
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
        let mut tx = self.store.begin().await?;
        let settings = settings(&mut tx).await?;
        let (report, outcomes) = ingest_in(&mut tx, &settings, events, source, now).await?;
        commit(tx).await?;
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
        let codflow_connectors::carriers::Carrier::Sandbox(sb) = c else {
            return Err(Error::NotFound("carrier webhook"));
        };
        if !signature.is_some_and(|s| sb.verify(secret, body, s)) {
            return Err(Error::Unauthorized);
        }
        let events = sb.parse_webhook(body).map_err(|e| Error::invalid("body", e.to_string()))?;
        let events: Vec<IncomingEvent> = events.into_iter().map(IncomingEvent::from).collect();
        self.ingest_events(&events, "webhook").await
    }

    /// Runs the anomaly sweep now at the app's clock, until nothing is due.
    pub async fn sweep(&self) -> Result<SweepReport> {
        let now = self.clock().now();
        let mut total = SweepReport::default();
        loop {
            let (n, r) = sweep_once(&self.store, now, 1000).await?;
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
        tokio::spawn(async move { run_worker(store, carriers, ctx).await });
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
        let mut out = Changes::default();
        out.audits.push({
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
        });
        let mut report = IngestReport::default();
        for mut t in store::by_ids(&mut tx, &affected).await? {
            let before = t.clone();
            let all: Vec<TrackingEvent> = store::events_of(&mut tx, &t.shipment_id)
                .await?
                .into_iter()
                .map(|e| TrackingEvent { at: e.at, carrier_code: e.code, status: e.status })
                .collect();
            t.progress = domain::progress_of(t.booked_at, &all);
            follow(&mut tx, &before, &mut t, &settings, &actor, now, &mut out).await?;
            evaluate(&mut tx, &mut t, &settings, now, &mut out.audits, &mut report).await?;
            store::save(&mut tx, &t, now).await?;
        }
        orders::insert_audit(&mut tx, &out.audits).await?;
        codflow_store::outbox::enqueue(&mut tx, &out.messages).await?;
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
        store::reschedule_all(&mut tx, now).await?;
        commit(tx).await?;
        self.ctx.track.notify_one();
        Ok(s)
    }
}
