//! Booking allocated orders with their channel's carrier. A booking is first a `pending` shipment row
//! (committed with nothing else depending on the network), then a carrier call made outside any
//! transaction, then the answer recorded. The shipment id is the idempotency key, so a retry after a crash
//! or a timeout gets the booking the carrier already made. Pending rows are claimed with a lease, so any
//! number of workers (on any number of nodes) never book one shipment twice.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use codflow_connectors::carriers::{
    Amount, Booking, BookingRequest, Carrier, CarrierError, CustomsItem, Party, ShipmentBooker,
};
pub use codflow_connectors::carriers::{Amount as CarrierAmount, CarrierRate};
use codflow_domain::rating::Channel;
pub use codflow_domain::work::{BookingStatus, Shipment};
use codflow_domain::{Actor, AuditRecord, Money, Order, OrderId, OrderStatus, ShipmentId};
pub use codflow_store::logistics::ShipmentFilter;
use codflow_store::logistics::{self as lstore, Booked};
use codflow_store::{Conn, Store, catalogue, commit, orders};
use futures::future::join_all;
use time::{Duration, OffsetDateTime};

use crate::error::ConflictKind;
use crate::{Error, Fulfilment, Result};

/// The carriers this process can book with, by the name channels use.
#[derive(Clone, Default)]
pub struct Carriers {
    pub sandbox: Option<Carrier>,
    pub aramex: Option<Carrier>,
    /// The secret the sandbox carrier signs its event pushes with.
    pub sandbox_webhook_secret: Option<String>,
}

impl Carriers {
    pub(crate) fn webhook_secret(&self, name: &str) -> Option<&str> {
        match name {
            "sandbox" => self.sandbox_webhook_secret.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn of(&self, name: &str) -> Option<&Carrier> {
        match name {
            "sandbox" => self.sandbox.as_ref(),
            "aramex" => self.aramex.as_ref(),
            _ => None,
        }
    }
}

/// How long a worker may hold a booking before another may take it over.
const LEASE: Duration = Duration::seconds(60);
/// Retryable failures are tried this many times in all, then left for a person.
pub const MAX_ATTEMPTS: i64 = 5;
/// How many bookings one worker has in flight at once.
const CONCURRENCY: i64 = 20;

fn backoff(attempts: i64) -> Duration {
    Duration::seconds(5 * (1 << attempts.clamp(1, 6)))
}

/// Releases the booking side of an order being held or cancelled: a pending or failed booking is
/// cancelled with it; a booked one must be voided with the carrier first.
pub(crate) async fn release_for(conn: &mut Conn, order: &Order, now: OffsetDateTime) -> Result<()> {
    if let Some(s) = lstore::live_shipment(conn, &order.id).await? {
        if s.status == BookingStatus::Booked {
            return Err(Error::Conflict {
                kind: ConflictKind::ShipmentBooked,
                message: format!(
                    "shipment {} is booked as {}; cancel the shipment first",
                    s.id,
                    s.tracking_number.unwrap_or_default()
                ),
            });
        }
        lstore::mark_cancelled(conn, &s.id, now).await?;
    }
    Ok(())
}

/// A new pending shipment for an allocated order with a channel.
pub(crate) fn new_shipment(order: &Order, channel: &Channel, weight_g: i64, now: OffsetDateTime) -> Shipment {
    Shipment {
        id: ShipmentId::generate(),
        order_id: order.id.clone(),
        channel: channel.code.clone(),
        carrier: channel.carrier.clone(),
        status: BookingStatus::Pending,
        attempts: 0,
        tracking_number: None,
        carrier_ref: None,
        label: None,
        last_error: None,
        weight_g,
        pieces: 1,
        cod: order.cod_amount,
        sort_code: None,
        created_at: now,
        updated_at: now,
        booked_at: None,
    }
}

fn order_audit(order: &OrderId, action: &str, actor: Actor, reason: String, at: OffsetDateTime) -> AuditRecord {
    let mut a = AuditRecord::change("order", order.to_string(), action, None, None, actor, at);
    a.reason = Some(reason);
    a
}

fn amount(m: Money) -> Amount {
    Amount { amount: m.amount_string(), currency: m.currency.to_string() }
}

/// What the carrier is told, from the order, its warehouse and its products.
async fn request_of(conn: &mut Conn, s: &Shipment, order: &Order, channel: &Channel) -> Result<BookingRequest> {
    let wh_code = order.allocation.as_ref().map(|a| a.warehouse.clone()).ok_or(Error::NotFound("allocation"))?;
    let wh = catalogue::warehouse_by_code(conn, &wh_code).await?.ok_or(Error::NotFound("warehouse"))?;
    let products = crate::logistics::products_of(conn, order).await?;
    let a = &order.shipping_address;
    let items = order
        .lines
        .iter()
        .map(|l| {
            let p = products.get(&l.sku);
            CustomsItem {
                description: p.map_or_else(|| l.sku.to_string(), |p| p.title.clone()),
                sku: l.sku.to_string(),
                hs_code: p.and_then(|p| p.hs_code.as_ref().map(|h| h.as_str().to_owned())),
                origin_country: p.and_then(|p| p.origin_country.map(|c| c.to_string())),
                quantity: l.quantity,
                unit_value: l.unit_price.amount_string(),
                weight_g: p.map_or(0, |p| p.unit_weight_g),
            }
        })
        .collect();
    let goods: i64 = order.lines.iter().map(|l| l.unit_price.minor * l.quantity).sum();
    Ok(BookingRequest {
        idempotency_key: s.id.to_string(),
        reference: order.id.to_string(),
        service: channel.service.clone(),
        shipper: Party {
            name: wh.name.clone(),
            line1: wh.name.clone(),
            city: wh.name.clone(),
            country: wh.country.to_string(),
            ..Party::default()
        },
        consignee: Party {
            name: a.name.clone(),
            phone: Some(a.phone.as_ref().unwrap_or(&order.buyer.phone).as_str().to_owned()),
            email: order.buyer.email.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.to_string(),
        },
        pieces: vec![s.weight_g],
        cod: (s.cod.minor > 0).then(|| amount(s.cod)),
        declared_value: amount(Money::new(goods, order.currency)),
        incoterm: "DDP".into(),
        items,
    })
}

/// The message an order shows for a carrier error, saying what to do about it.
fn actionable(e: &CarrierError, attempts: i64, will_retry: bool) -> String {
    let what = match e {
        CarrierError::Rejected { field: Some(f), .. } => {
            format!("{e} (field {f}); correct the order and retry the booking")
        }
        CarrierError::Rejected { .. } => format!("{e}; correct the order or choose another channel, then retry"),
        CarrierError::Unauthorized => format!("{e}; check the carrier account settings, then retry"),
        CarrierError::Config(_) => format!("{e}; configure the carrier, then retry"),
        _ => e.to_string(),
    };
    if will_retry {
        format!("{what}; attempt {attempts} of {MAX_ATTEMPTS}, retrying automatically")
    } else if e.retryable() {
        format!("{what}; gave up after {attempts} attempts, retry the booking when the carrier is back")
    } else {
        what
    }
}

/// Makes the carrier call for a claimed shipment and records the answer. Never holds a transaction
/// across the call.
async fn perform(store: &Store, carriers: &Carriers, clock: &crate::Clock, s: Shipment) -> Result<Shipment> {
    let (order, channel, req) = {
        let mut conn = store.read().await?;
        let order = orders::get(&mut conn, &s.order_id).await?.ok_or(Error::NotFound("order"))?;
        let channel = lstore::channel(&mut conn, &s.channel).await?.ok_or(Error::NotFound("channel"))?;
        let req = request_of(&mut conn, &s, &order, &channel).await?;
        (order, channel, req)
    };
    let result = match carriers.of(&channel.carrier) {
        Some(c) => c.book(&req).await,
        None => Err(CarrierError::Config(format!("no {} carrier is configured in this process", channel.carrier))),
    };
    let now = clock.now();
    let worker = Actor::Worker("booking".into());
    let mut tx = store.begin().await?;
    match result {
        Ok(b) => {
            let label = serde_json::to_string(&b.label_data).unwrap_or_default();
            let booked = Booked {
                tracking_number: &b.tracking_number,
                carrier_ref: &b.carrier_ref,
                label: &label,
                sort_code: b.sort_code.as_deref(),
            };
            if lstore::mark_booked(&mut tx, &s.id, &booked, now).await? {
                let cycle = channel.settlement_cycle_days;
                crate::tracking::start(&mut tx, &s, &order, &b.tracking_number, cycle, clock.now()).await?;
                crate::shop_push::queue_shipped(&mut tx, &order, &s.id, clock.now()).await?;
                let why = format!("booked {} with {} as {}", s.id, channel.code, b.tracking_number);
                orders::insert_audit(&mut tx, &[order_audit(&order.id, "book", worker, why, now)]).await?;
            }
        }
        Err(e) => {
            let idempotent = carriers.of(&channel.carrier).is_some_and(|c| c.books_idempotently());
            let sticky = !idempotent && !matches!(e, CarrierError::Unavailable(_));
            let will_retry = e.retryable() && !sticky && s.attempts < MAX_ATTEMPTS;
            let msg = actionable(&e, s.attempts, will_retry);
            let retry_at = will_retry.then(|| now + backoff(s.attempts));
            lstore::mark_attempt_failed(&mut tx, &s.id, &msg, retry_at, now).await?;
            orders::insert_audit(&mut tx, &[order_audit(&order.id, "booking_failed", worker, msg, now)]).await?;
        }
    }
    let after = lstore::shipment(&mut tx, &s.id).await?.ok_or(Error::NotFound("shipment"))?;
    commit(tx).await?;
    Ok(after)
}

/// Claims due bookings and performs them, up to [`CONCURRENCY`] at once. Returns how many it took.
pub async fn book_due(store: &Store, carriers: &Carriers, now: OffsetDateTime) -> Result<usize> {
    book_due_at(store, carriers, &crate::Clock::default(), now).await
}

async fn book_due_at(store: &Store, carriers: &Carriers, clock: &crate::Clock, now: OffsetDateTime) -> Result<usize> {
    let claimed = {
        let mut tx = store.begin().await?;
        let c = lstore::claim_bookings(&mut tx, now, now + LEASE, CONCURRENCY).await?;
        commit(tx).await?;
        c
    };
    let n = claimed.len();
    for r in join_all(claimed.into_iter().map(|s| perform(store, carriers, clock, s))).await {
        if let Err(e) = r {
            tracing::error!(error = %e, "booking");
        }
    }
    Ok(n)
}

pub(crate) async fn run_worker(
    store: Store,
    carriers: Arc<Carriers>,
    ctx: Arc<crate::runtime::Ctx>,
    mut stop: crate::workers::Stop,
) {
    while !stop.requested() {
        match book_due_at(&store, &carriers, &ctx.clock, ctx.clock.now()).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "booking worker"),
        }
        if stop.pause(StdDuration::from_secs(2), Some(&ctx.book)).await {
            break;
        }
    }
}

/// What one booking request of a selection came to.
#[derive(Debug)]
pub enum BookOutcome {
    Done(Box<Shipment>),
    Refused { order: String, code: &'static str, message: String },
}

impl Fulfilment {
    /// The carriers this process talks to, as it was built with.
    pub fn carriers(&self) -> Arc<Carriers> {
        self.carriers.clone()
    }

    /// Starts the background booking worker; must be called inside a tokio runtime.
    pub fn start_booking_worker(&self) {
        let (store, ctx, carriers) = (self.store.clone(), self.ctx.clone(), self.carriers.clone());
        self.ctx.workers.spawn("booking", move |stop| run_worker(store, carriers, ctx, stop));
    }

    /// The order's live shipment, queued now if it has none.
    async fn queue(&self, id: &OrderId, actor: &Actor) -> Result<Shipment> {
        let mut tx = self.store.begin().await?;
        if let Some(s) = lstore::live_shipment(&mut tx, id).await? {
            return Ok(s);
        }
        let order = orders::get(&mut tx, id).await?.ok_or(Error::NotFound("order"))?;
        if order.status != OrderStatus::Allocated {
            return Err(Error::Conflict {
                kind: ConflictKind::NotAllocated,
                message: format!("order {id} is {}; only allocated orders are booked", order.status.as_str()),
            });
        }
        let code = order.allocation.as_ref().and_then(|a| a.channel.clone()).ok_or_else(|| Error::Conflict {
            kind: ConflictKind::NoChannel,
            message: format!(
                "order {id} has no channel: no channel could take it; add or widen a channel and reallocate"
            ),
        })?;
        let channel = lstore::channel(&mut tx, &code).await?.ok_or(Error::NotFound("channel"))?;
        let weight = order_weight(&mut tx, &order).await?;
        let s = new_shipment(&order, &channel, weight, self.clock().now());
        if !lstore::insert_shipment(&mut tx, &s).await? {
            // Another request queued it meanwhile.
            codflow_store::rollback(tx).await?;
            let mut conn = self.store.read().await?;
            return lstore::live_shipment(&mut conn, id).await?.ok_or(Error::NotFound("shipment"));
        }
        let why = format!("queued booking {} with {}", s.id, code);
        orders::insert_audit(&mut tx, &[order_audit(id, "queue_booking", actor.clone(), why, self.clock().now())])
            .await?;
        commit(tx).await?;
        Ok(s)
    }

    /// Books one order now and waits for the carrier's answer. An order already booked answers with its
    /// shipment; a carrier error is recorded on the shipment (failed or pending a retry) and returned in it.
    pub async fn book_order(&self, order_id: &OrderId, actor: Actor) -> Result<Shipment> {
        let s = self.queue(order_id, &actor).await?;
        if s.status != BookingStatus::Pending {
            return Ok(s);
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let claimed = lstore::claim_one(&mut tx, &s.id, now, now + LEASE).await?;
        let s = lstore::shipment(&mut tx, &s.id).await?.ok_or(Error::NotFound("shipment"))?;
        commit(tx).await?;
        if !claimed {
            return self.await_booking(s).await;
        }
        perform(&self.store, &self.carriers(), &self.ctx.clock, s).await
    }

    /// Another caller (a request, the worker) is booking this shipment: wait for its result, as long as a
    /// carrier call may take, so every caller answers with the tracking number or the failure. Past that,
    /// 409 `booking_in_progress` says where to look.
    async fn await_booking(&self, s: Shipment) -> Result<Shipment> {
        let deadline = tokio::time::Instant::now() + LEASE.unsigned_abs();
        let attempts = s.attempts;
        let mut current = s;
        // Pending with one more attempt counted is a result too: the carrier failed and a retry is planned.
        while current.status == BookingStatus::Pending && current.attempts == attempts {
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Conflict {
                    kind: ConflictKind::BookingInProgress,
                    message: format!(
                        "shipment {} is being booked by another request; GET /api/v1/shipments/{} shows the result",
                        current.id, current.id
                    ),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let mut conn = self.store.read().await?;
            current = lstore::shipment(&mut conn, &current.id).await?.ok_or(Error::NotFound("shipment"))?;
        }
        Ok(current)
    }

    /// Books a selection, several at once; each order's outcome is reported on its own.
    pub async fn book_orders(&self, ids: &[String], actor: Actor) -> Vec<BookOutcome> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(CONCURRENCY as usize) {
            let results = join_all(chunk.iter().map(|id| async {
                let id = OrderId::parse(id).map_err(|_| Error::NotFound("order"))?;
                self.book_order(&id, actor.clone()).await
            }))
            .await;
            for (id, r) in chunk.iter().zip(results) {
                out.push(match r {
                    Ok(s) => BookOutcome::Done(Box::new(s)),
                    Err(Error::Conflict { kind, message }) => {
                        BookOutcome::Refused { order: id.clone(), code: kind.code(), message }
                    }
                    Err(Error::NotFound(what)) => BookOutcome::Refused {
                        order: id.clone(),
                        code: "not_found",
                        message: format!("{what} not found"),
                    },
                    Err(Error::Invalid(f)) => BookOutcome::Refused {
                        order: id.clone(),
                        code: "invalid_input",
                        message: f.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                    },
                    // The cause (a database's words) goes to the log, never to the caller.
                    Err(e) => {
                        tracing::error!(order = %id, error = %e, "booking failed");
                        BookOutcome::Refused {
                            order: id.clone(),
                            code: "internal",
                            message: "something went wrong on our side; it has been logged".into(),
                        }
                    }
                });
            }
        }
        out
    }

    /// Queues bookings for the background worker and wakes it.
    pub async fn queue_bookings(&self, ids: &[String], actor: Actor) -> Vec<Result<Shipment>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(match OrderId::parse(id) {
                Ok(id) => self.queue(&id, &actor).await,
                Err(_) => Err(Error::NotFound("order")),
            });
        }
        self.ctx.book.notify_one();
        out
    }

    /// Puts a failed booking back in the queue.
    pub async fn retry_booking(&self, shipment: &ShipmentId, actor: Actor) -> Result<Shipment> {
        let id = shipment.clone();
        let mut tx = self.store.begin().await?;
        let s = lstore::shipment(&mut tx, &id).await?.ok_or(Error::NotFound("shipment"))?;
        if !lstore::requeue(&mut tx, &id, self.clock().now()).await? {
            return Err(Error::Conflict {
                kind: ConflictKind::NotFailed,
                message: format!("shipment {id} is {}; only failed bookings are retried", s.status.as_str()),
            });
        }
        let why = format!("retry booking {id}");
        orders::insert_audit(&mut tx, &[order_audit(&s.order_id, "retry_booking", actor, why, self.clock().now())])
            .await?;
        commit(tx).await?;
        self.ctx.book.notify_one();
        self.shipment(shipment).await
    }

    /// Cancels a shipment: a booked label is voided with the carrier first (outside any transaction); if the
    /// carrier refuses, nothing changes here and its reason is returned.
    pub async fn cancel_shipment(&self, shipment: &ShipmentId, actor: Actor) -> Result<Shipment> {
        let s = self.shipment(shipment).await?;
        match s.status {
            BookingStatus::Cancelled => return Ok(s),
            BookingStatus::Booked => {
                let carriers = self.carriers();
                let carrier = carriers.of(&s.carrier).ok_or_else(|| Error::Conflict {
                    kind: ConflictKind::CarrierUnavailable,
                    message: format!("no {} carrier is configured in this process", s.carrier),
                })?;
                let booking = Booking {
                    tracking_number: s.tracking_number.clone().unwrap_or_default(),
                    carrier_ref: s.carrier_ref.clone().unwrap_or_default(),
                    sort_code: s.sort_code.clone(),
                    label_data: serde_json::Value::Null,
                };
                carrier.cancel(&booking).await.map_err(|e| Error::Conflict {
                    kind: ConflictKind::CarrierRefusedCancel,
                    message: format!("the carrier did not void {}: {e}", booking.tracking_number),
                })?;
            }
            BookingStatus::Pending | BookingStatus::Failed => {}
        }
        let mut tx = self.store.begin().await?;
        lstore::mark_cancelled(&mut tx, &s.id, self.clock().now()).await?;
        let why = format!(
            "cancelled shipment {}{}",
            s.id,
            s.tracking_number.as_ref().map(|t| format!(" ({t})")).unwrap_or_default()
        );
        orders::insert_audit(&mut tx, &[order_audit(&s.order_id, "cancel_shipment", actor, why, self.clock().now())])
            .await?;
        commit(tx).await?;
        self.shipment(shipment).await
    }

    pub async fn shipment(&self, id: &ShipmentId) -> Result<Shipment> {
        let id = id.clone();
        lstore::shipment(&mut *self.store.read().await?, &id).await?.ok_or(Error::NotFound("shipment"))
    }

    pub async fn shipments_of_order(&self, order: &OrderId) -> Result<Vec<Shipment>> {
        let id = order.clone();
        Ok(lstore::shipments_of(&mut *self.store.read().await?, &id).await?)
    }

    pub async fn shipments(
        &self,
        mut filter: ShipmentFilter,
        limit: i64,
        cursor: Option<&str>,
    ) -> Result<(Vec<Shipment>, Option<String>)> {
        if let Some(c) = cursor {
            filter.before = Some(
                ShipmentId::parse(c).map_err(|_| Error::invalid("cursor", "is not a cursor from a previous page"))?,
            );
        }
        let rows = lstore::list_shipments(&mut *self.store.read().await?, &filter, limit + 1).await?;
        Ok(crate::split_page(rows, limit, |s| s.id.to_string()))
    }

    /// Shipments by id for batch documents, in the order given; any unknown id is an error naming it.
    pub async fn shipments_by_id(&self, ids: &[String]) -> Result<Vec<Shipment>> {
        let mut parsed = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            parsed.push(ShipmentId::parse(id).map_err(|e| Error::invalid(&format!("shipments[{i}]"), e.to_string()))?);
        }
        let found = lstore::shipments_by_id(&mut *self.store.read().await?, &parsed).await?;
        if let Some((i, missing)) = parsed.iter().enumerate().find(|(_, id)| !found.iter().any(|s| s.id == **id)) {
            return Err(Error::invalid(&format!("shipments[{i}]"), format!("no shipment {missing}")));
        }
        Ok(found)
    }

    /// Allocated orders with a channel that have no live shipment, oldest first.
    pub async fn bookable_orders(&self) -> Result<Vec<String>> {
        let ids = lstore::bookable_orders(&mut *self.store.read().await?, 1_000_000).await?;
        Ok(ids.into_iter().map(|i| i.to_string()).collect())
    }
}

/// The order's shipping weight: its units' weights.
pub(crate) async fn order_weight(conn: &mut Conn, order: &Order) -> Result<i64> {
    let products = crate::logistics::products_of(conn, order).await?;
    Ok(order.lines.iter().map(|l| products.get(&l.sku).map_or(0, |p| p.unit_weight_g) * l.quantity).sum())
}

/// A carrier's live price for a parcel beside what the channel's rate card says, so finance can catch a
/// card that drifted from the carrier's tariff before the freight invoice does.
#[derive(Clone, Debug)]
pub struct CarrierQuote {
    pub channel: codflow_domain::ChannelCode,
    pub carrier: String,
    pub rate: CarrierRate,
    /// The card's shipping charges (everything but duties and taxes) when the channel can take the parcel.
    pub card_shipping: Option<Money>,
}

impl Fulfilment {
    /// Asks the channel's carrier to price the quote request, shipping from `warehouse` (or the first
    /// warehouse by code).
    pub async fn carrier_quote(
        &self,
        channel: &str,
        warehouse: Option<&str>,
        input: &crate::logistics::QuoteInput,
    ) -> Result<CarrierQuote> {
        use codflow_connectors::carriers::{Piece, RateQuoter, RateRequest};
        let code = codflow_domain::ChannelCode::parse(channel).map_err(|e| Error::invalid("channel", e.to_string()))?;
        let ours = self.quote(input).await?;
        let mut conn = self.store.read().await?;
        let ch = lstore::channel(&mut conn, &code).await?.ok_or(Error::NotFound("channel"))?;
        let (req, _) = input
            .parse(crate::logistics::settings(&mut conn).await?.incoterm, self.clock().now().date())
            .map_err(Error::Invalid)?;
        let wh = match warehouse {
            Some(w) => {
                let w =
                    codflow_domain::WarehouseCode::parse(w).map_err(|e| Error::invalid("warehouse", e.to_string()))?;
                catalogue::warehouse_by_code(&mut conn, &w).await?.ok_or(Error::NotFound("warehouse"))?
            }
            None => {
                catalogue::warehouses(&mut conn, None, 1).await?.into_iter().next().ok_or_else(|| Error::Conflict {
                    kind: ConflictKind::NoWarehouse,
                    message: "create a warehouse to ship from first".into(),
                })?
            }
        };
        drop(conn);
        let carriers = self.carriers();
        let Some(carrier) = carriers.of(&ch.carrier) else {
            return Err(Error::Conflict {
                kind: ConflictKind::CarrierNotConfigured,
                message: format!("carrier {} of channel {code} is not configured in this process", ch.carrier),
            });
        };
        let d = &req.destination;
        let rate_req = RateRequest {
            service: ch.service.clone(),
            origin: Party {
                name: wh.name.clone(),
                city: wh.name.clone(),
                country: wh.country.to_string(),
                ..Party::default()
            },
            destination: Party {
                city: d.city.clone().unwrap_or_default(),
                region: d.region.clone(),
                postal_code: d.postal_code.clone(),
                country: d.country.to_string(),
                ..Party::default()
            },
            pieces: req
                .parcels
                .iter()
                .map(|p| Piece {
                    weight_g: p.weight_g,
                    dims_mm: (p.length_cm > 0 && p.width_cm > 0 && p.height_cm > 0)
                        .then(|| [p.length_cm * 10, p.width_cm * 10, p.height_cm * 10]),
                })
                .collect(),
            cod: req.cod.map(amount),
            currency: ch.card.currency.to_string(),
        };
        let rate = carrier.rate(&rate_req).await.map_err(|e| Error::Conflict {
            kind: if e.retryable() { ConflictKind::CarrierUnavailable } else { ConflictKind::CarrierRefused },
            message: e.to_string(),
        })?;
        let card_shipping = ours.ranking.ranked.iter().find(|r| r.quote.channel == code).map(|r| {
            let b = &r.quote.breakdown;
            Money::new(b.total() - b.duties - b.taxes, r.quote.currency)
        });
        Ok(CarrierQuote { channel: code, carrier: ch.carrier.clone(), rate, card_shipping })
    }
}
