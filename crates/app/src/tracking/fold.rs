//! Events folded into a shipment: its status, the order and cash that follow it, the anomaly deadlines, the
//! tasks and the buyer messages, all in the caller's transaction.

use super::*;

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
pub(super) fn evaluate(t: &mut Tracked, settings: &Settings, now: OffsetDateTime, out: &mut Changes) {
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
pub(super) struct Changes {
    pub(super) audits: Vec<AuditRecord>,
    pub(super) messages: Vec<Notification>,
    /// The message templates, read once per batch when a first message is due.
    pub(super) templates: Option<crate::tracking_messages::Compiled>,
    pub(super) link_secret: Option<String>,
    /// The orders the batch needs (loaded up front), and which of them changed.
    pub(super) orders: HashMap<codflow_domain::OrderId, Order>,
    pub(super) dirty: BTreeSet<codflow_domain::OrderId>,
    pub(super) warehouses: HashMap<codflow_domain::WarehouseCode, codflow_domain::WarehouseId>,
    pub(super) opted_out: HashSet<String>,
    /// Orders whose reservations left the warehouse.
    pub(super) ship: Vec<codflow_domain::OrderId>,
    /// Parcels the carrier started bringing back (or says it brought back): returns to expect.
    pub(super) returns: Vec<codflow_store::returns::NewReturn>,
    pub(super) outcomes: Vec<rstore::NewOutcome>,
    pub(super) open: Vec<Task>,
    pub(super) recovered: Vec<(ShipmentId, AnomalyKind, ShipmentStatus)>,
    pub(super) tracked: Vec<Tracked>,
    /// Parcels delivered in this batch, for their shops to hear about.
    pub(super) delivered: Vec<(codflow_domain::OrderId, ShipmentId, OffsetDateTime)>,
    /// Only anomalies and deadlines changed (a sweep): the progress columns are left alone.
    pub(super) deadlines_only: bool,
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
    pub(super) async fn load(&mut self, conn: &mut Conn, pairs: &[(Tracked, Tracked)]) -> Result<()> {
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
    pub(super) async fn write(mut self, conn: &mut Conn, now: OffsetDateTime, report: &mut IngestReport) -> Result<()> {
        let at = codflow_store::micros(now);
        if !self.ship.is_empty() {
            orders::ship_reservations_many(conn, &self.ship, at).await?;
        }
        let fresh = crate::floor::returns::expect_many(conn, &self.returns, now).await?;
        for (r, _) in self.returns.iter().zip(fresh).filter(|(_, new)| *new) {
            let mut a = AuditRecord::change(
                "order",
                r.order_id.to_string(),
                "return_expected",
                None,
                None,
                Actor::Worker("tracking".into()),
                now,
            );
            a.reason = Some(format!("{} is coming back: nothing restocked until it is received", r.tracking_number));
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
            crate::shop_push::queue_delivered(conn, &delivered).await?;
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
    // A parcel coming back is only expected: the order closes when the return is graded (or given up).
    if changed
        && matches!(new, Returning | Returned)
        && let Some(w) = &warehouse
    {
        out.returns.push(codflow_store::returns::NewReturn {
            order_id: order.id.clone(),
            shipment_id: t.shipment_id.clone(),
            tracking_number: t.tracking_number.clone(),
            carrier: t.carrier.clone(),
            channel: t.channel.clone(),
            country: t.country.clone(),
            warehouse: w.clone(),
            started_at: t.progress.status_at,
            carrier_returned_at: returned.then_some(t.progress.status_at),
        });
    }
    let close = delivered && order.payment_method == codflow_domain::PaymentMethod::Prepaid;
    if close && order.status == OrderStatus::Fulfilled {
        let why = "delivered, paid in advance";
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

pub(super) async fn all_events(conn: &mut Conn, id: &ShipmentId) -> Result<Vec<TrackingEvent>> {
    Ok(store::events_of(conn, id)
        .await?
        .into_iter()
        .map(|e| TrackingEvent { at: e.at, carrier_code: e.code, status: e.status })
        .collect())
}

/// Follows and evaluates shipments whose progress moved from `before` to the new one, and writes it all.
pub(super) async fn apply(
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
