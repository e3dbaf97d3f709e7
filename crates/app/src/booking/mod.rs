//! Booking allocated orders with their channel's carrier. A booking is first a `pending` shipment row
//! (committed with nothing else depending on the network), then a carrier call made outside any
//! transaction, then the answer recorded. The shipment id is the idempotency key, so a retry after a crash
//! or a timeout gets the booking the carrier already made. Pending rows are claimed with a lease, so any
//! number of workers (on any number of nodes) never book one shipment twice.

use std::sync::Arc;

pub use codflow_connectors::carriers::{Amount as CarrierAmount, CarrierRate};
use codflow_connectors::carriers::{Booking, Carrier, ShipmentBooker, aramex, sandbox};
use codflow_domain::rating::Channel;
pub use codflow_domain::work::{BookingStatus, Shipment};
use codflow_domain::{Actor, AuditRecord, Order, OrderId, OrderStatus, ShipmentId};
pub use codflow_store::logistics::ShipmentFilter;

mod rates;
mod worker;

use codflow_store::logistics::{self as lstore};
use codflow_store::{Conn, commit, orders};
use futures::future::join_all;
pub use rates::CarrierQuote;
use time::OffsetDateTime;
pub(crate) use worker::run_worker;
use worker::{CONCURRENCY, LEASE, perform};
pub use worker::{MAX_ATTEMPTS, book_due};

use crate::error::ConflictKind;
use crate::{Error, Fulfilment, Result};

/// The carriers this process can book with, by the name channels use.
#[derive(Clone, Default)]
pub struct Carriers {
    pub sandbox: Option<Carrier>,
    pub aramex: Option<Carrier>,
    /// The secret the sandbox carrier signs its event pushes with.
    pub sandbox_webhook_secret: Option<String>,
    /// Opens stored accounts' credentials; the application's secret key, set when it is built.
    pub sealer: Option<Arc<crate::shops::Sealer>>,
    /// Connectors built from stored accounts.
    pub accounts: crate::carrier_accounts::BuiltAccounts,
}

impl Carriers {
    pub(crate) fn webhook_secret(&self, name: &str) -> Option<&str> {
        match name {
            sandbox::CODE => self.sandbox_webhook_secret.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn of(&self, name: &str) -> Option<&Carrier> {
        match name {
            sandbox::CODE => self.sandbox.as_ref(),
            aramex::CODE => self.aramex.as_ref(),
            _ => None,
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

    /// The order's live shipment, queued now if it has none; `weight_g` is the parcel's measured weight when
    /// it was weighed, else its units' weight is declared.
    async fn queue(&self, id: &OrderId, actor: &Actor, weight_g: Option<i64>) -> Result<Shipment> {
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
        let weight = match weight_g {
            Some(w) => w,
            None => order_weight(&mut tx, &order).await?,
        };
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
        self.book_weighing(order_id, actor, None).await
    }

    /// [`Self::book_order`] declaring a measured weight (a parcel re-booked at the pack station).
    pub(crate) async fn book_weighing(
        &self,
        order_id: &OrderId,
        actor: Actor,
        weight_g: Option<i64>,
    ) -> Result<Shipment> {
        let s = self.queue(order_id, &actor, weight_g).await?;
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
                Ok(id) => self.queue(&id, &actor, None).await,
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
                let carrier = {
                    let mut conn = self.store.read().await?;
                    let account = lstore::channel(&mut conn, &s.channel).await?.and_then(|c| c.carrier_account);
                    self.carriers.resolve(&mut conn, &s.carrier, account.as_ref()).await?
                }
                .map_err(|e| Error::Conflict { kind: ConflictKind::CarrierUnavailable, message: e.to_string() })?;
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
