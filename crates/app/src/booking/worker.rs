//! The booking worker: claims due bookings with a lease, calls the carrier outside any transaction and
//! records the answer, retrying what can be retried with a backoff.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use codflow_connectors::carriers::{Amount, BookingRequest, CarrierError, CustomsItem, Party, ShipmentBooker};
use codflow_domain::rating::Channel;
use codflow_domain::{Actor, Money, Order};
use codflow_store::logistics::{self as lstore, Booked};
use codflow_store::{Conn, Store, catalogue, commit, orders};
use futures::future::join_all;
use time::{Duration, OffsetDateTime};

use super::{Carriers, Shipment, order_audit};
use crate::{Error, Result};

/// How long a worker may hold a booking before another may take it over.
pub(super) const LEASE: Duration = Duration::seconds(60);
/// Retryable failures are tried this many times in all, then left for a person.
pub const MAX_ATTEMPTS: i64 = 5;
/// How many bookings one worker has in flight at once.
pub(super) const CONCURRENCY: i64 = 20;

fn backoff(attempts: i64) -> Duration {
    Duration::seconds(5 * (1 << attempts.clamp(1, 6)))
}

pub(super) fn amount(m: Money) -> Amount {
    Amount { amount: m.amount_string(), currency: m.currency.to_string() }
}

/// The order's prices in the currency a carrier takes customs values in, when it takes only some: the first of
/// them, at the newest stored rate on or before `day`. Without a rate they stay as they are and the carrier's
/// refusal names the currency.
async fn customs_prices(
    conn: &mut Conn,
    order: &Order,
    accepted: Option<&[&str]>,
    day: time::Date,
) -> Result<Option<Vec<Money>>> {
    let Some(accepted) = accepted else { return Ok(None) };
    if accepted.contains(&order.currency.to_string().as_str()) {
        return Ok(None);
    }
    let Some(to) = accepted.first().and_then(|c| codflow_domain::Currency::parse(c).ok()) else { return Ok(None) };
    let rates = codflow_store::review::rates(conn).await?;
    Ok(order
        .lines
        .iter()
        .map(|l| crate::finance::convert_either(&rates, l.unit_price, to, day))
        .collect::<Option<Vec<Money>>>())
}

/// What the carrier is told, from the order, its warehouse and its products; `prices` are the lines' unit
/// prices in the currency the carrier takes customs values in, when not the order's.
async fn request_of(
    conn: &mut Conn,
    s: &Shipment,
    order: &Order,
    channel: &Channel,
    prices: Option<Vec<Money>>,
) -> Result<BookingRequest> {
    let wh_code = order.allocation.as_ref().map(|a| a.warehouse.clone()).ok_or(Error::NotFound("allocation"))?;
    let wh = catalogue::warehouse_by_code(conn, &wh_code).await?.ok_or(Error::NotFound("warehouse"))?;
    let products = crate::logistics::products_of(conn, order).await?;
    let a = &order.shipping_address;
    let unit = |i: usize| prices.as_ref().and_then(|p| p.get(i).copied()).unwrap_or(order.lines[i].unit_price);
    let items = order
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let p = products.get(&l.sku);
            CustomsItem {
                description: p.map_or_else(|| l.sku.to_string(), |p| p.title.clone()),
                sku: l.sku.to_string(),
                hs_code: p.and_then(|p| p.hs_code.as_ref().map(|h| h.as_str().to_owned())),
                origin_country: p.and_then(|p| p.origin_country.map(|c| c.to_string())),
                quantity: l.quantity,
                unit_value: unit(i).amount_string(),
                weight_g: p.map_or(0, |p| p.unit_weight_g),
            }
        })
        .collect();
    let goods: i64 = order.lines.iter().enumerate().map(|(i, l)| unit(i).minor * l.quantity).sum();
    let goods_currency = prices.as_ref().and_then(|p| p.first()).map_or(order.currency, |m| m.currency);
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
        declared_value: amount(Money::new(goods, goods_currency)),
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
pub(super) async fn perform(store: &Store, carriers: &Carriers, clock: &crate::Clock, s: Shipment) -> Result<Shipment> {
    let (order, channel, req, carrier) = {
        let mut conn = store.read().await?;
        let order = orders::get(&mut conn, &s.order_id).await?.ok_or(Error::NotFound("order"))?;
        let channel = lstore::channel(&mut conn, &s.channel).await?.ok_or(Error::NotFound("channel"))?;
        let carrier = carriers.resolve(&mut conn, &channel.carrier, channel.carrier_account.as_ref()).await?;
        let accepted = carrier.as_ref().ok().and_then(|c| c.declared_currencies());
        let prices = customs_prices(&mut conn, &order, accepted, clock.now().date()).await?;
        let req = request_of(&mut conn, &s, &order, &channel, prices).await?;
        (order, channel, req, carrier)
    };
    let result = match &carrier {
        Ok(c) => c.book(&req).await,
        Err(e) => Err(e.clone()),
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
            let idempotent = carrier.as_ref().is_ok_and(|c| c.books_idempotently());
            let sticky = !idempotent && !matches!(e, CarrierError::Unavailable(_) | CarrierError::RateLimited(_));
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
