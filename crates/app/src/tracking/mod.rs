//! Tracking: carrier events come in by webhook, by poll or through the batch API; each is normalised
//! through the per-carrier mapping table (unknown codes are kept as `unknown`, counted and listed), stored
//! once per (shipment, event time, code), and folded in event time. The order and its cash follow the
//! shipment; anomaly rules open and close tasks; buyer messages go to the outbox. Everything for one batch
//! happens in one transaction, so a replay or a crash half-way leaves nothing half-applied.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use codflow_connectors::carriers::{CarrierEvent, TrackingSource};
use codflow_domain::anomaly::{self, AnomalyKind, AnomalySettings, Watch};
use codflow_domain::review::{keys, value_band_of};
use codflow_domain::tracking::{self as domain, TrackingEvent};
use codflow_domain::{
    Actor, AuditRecord, CarrierCode, CodStatus, Order, OrderStatus, ShipmentId, ShipmentStatus, TaskId,
};
use codflow_store::tasks::{self as tstore, Task, TaskStatus};
use codflow_store::tracking::{self as store, StoredEvent};
pub use codflow_store::tracking::{Mapping, NdrRequest, Tracked, TrackedFilter, Unmapped};
use codflow_store::{Conn, Store, commit, logistics as lstore, orders, review as rstore};
use futures::future::join_all;
use time::{Duration, OffsetDateTime};

use crate::notify::Notification;
use crate::{Error, Result, Tracking};

mod fold;
mod worker;

use fold::{Changes, all_events, apply, evaluate};
pub(crate) use fold::{ingest_in, start};
pub(crate) use worker::{SWEEP_CHUNK, poll_once, run_worker, sweep_once};

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
        // Every carrier and tracking source codflow speaks, unless the seller chose.
        poll_carriers: match found.get("tracking_poll_carriers") {
            Some(v) => v.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect(),
            None => codflow_domain::carrier_account::tracking_kinds().map(str::to_owned).collect(),
        },
        max_age: Duration::days(int("tracking_max_age_days", 60)?.max(1)),
        public_url: crate::settings::public_url_of(&found),
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

/// A shipment's tracking as the API shows it.
#[derive(Clone, Debug)]
pub struct TrackingView {
    pub tracked: Tracked,
    pub eta: OffsetDateTime,
    pub events: Vec<StoredEvent>,
    pub tasks: Vec<Task>,
    pub ndr: Vec<store::NdrRequest>,
}

impl Tracking {
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
    pub async fn carrier_webhook(
        &self,
        carrier: &CarrierCode,
        header: &(dyn Fn(&str) -> Option<String> + Sync),
        body: &[u8],
    ) -> Result<IngestReport> {
        // The carrier given at start with its secret, then every stored account of the carrier with one.
        let mut candidates = Vec::new();
        if let (Some(c), Some(secret)) =
            (self.carriers.of(carrier.as_str()), self.carriers.webhook_secret(carrier.as_str()))
        {
            candidates.push((c.clone(), secret.to_owned()));
        }
        candidates.extend(self.carriers.webhook_accounts(&mut *self.store.read().await?, carrier.as_str()).await?);
        let candidates: Vec<_> = candidates.into_iter().filter(|(c, _)| c.webhooks().is_some()).collect();
        if candidates.is_empty() {
            return Err(Error::NotFound("carrier webhook"));
        }
        let verified = candidates.iter().find_map(|(c, secret)| {
            let hooks = c.webhooks()?;
            let sig = header(hooks.signature_header())?;
            hooks.verify(secret, body, &sig).then_some(c)
        });
        let Some(hooks) = verified.and_then(|c| c.webhooks()) else {
            return Err(Error::Unauthorized);
        };
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
        let carriers = self.carriers.clone();
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
        let (store, ctx, carriers) = (self.store.clone(), self.ctx.clone(), self.carriers.clone());
        self.ctx.workers.spawn("tracking", move |stop| run_worker(store, carriers, ctx, stop));
    }

    pub async fn tracking(&self, shipment: &ShipmentId) -> Result<TrackingView> {
        let id = shipment.clone();
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

    /// How many tracked shipments `filter` matches, counting no further than `cap`.
    pub async fn count_tracked(&self, filter: &TrackedFilter, cap: i64) -> Result<i64> {
        Ok(store::count_matching(&mut *self.store.read().await?, filter, cap).await?)
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

    pub async fn delete_carrier_mapping(&self, carrier: &CarrierCode, code: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let found = store::delete_mapping(&mut tx, carrier.as_str(), code).await?;
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
