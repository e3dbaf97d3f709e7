//! Queueing updates for the shops that want them (shipped, delivered), in the caller's transaction. The
//! pusher that sends them lives with the shops (`stores.rs`); booking and tracking only queue.

use codflow_domain::{Order, ShipmentId};
use codflow_store::Conn;
use codflow_store::shops::{self as sstore, Push, PushEvent};
use time::OffsetDateTime;

use crate::Result;

/// Queues a "shipped" update for the order's shop when it wants one, in the caller's transaction.
pub(crate) async fn queue_shipped(
    conn: &mut Conn,
    order: &Order,
    shipment: &ShipmentId,
    at: OffsetDateTime,
) -> Result<bool> {
    if !sstore::is_pushing(conn, &order.store).await? {
        return Ok(false);
    }
    let p = Push::new(order.store.clone(), order.id.clone(), shipment.clone(), PushEvent::Shipped, at);
    sstore::enqueue(conn, &[p]).await?;
    Ok(true)
}

/// Queues "delivered" updates for the orders whose shops want them; `delivered` holds each order with its
/// shipment and the time of delivery.
pub(crate) async fn queue_delivered(
    conn: &mut Conn,
    delivered: &[(&Order, &ShipmentId, OffsetDateTime)],
) -> Result<bool> {
    if delivered.is_empty() {
        return Ok(false);
    }
    let pushing = sstore::pushing(conn).await?;
    let items: Vec<Push> = delivered
        .iter()
        .filter(|(o, _, _)| pushing.contains(o.store.as_str()))
        .map(|(o, s, at)| Push::new(o.store.clone(), o.id.clone(), (*s).clone(), PushEvent::Delivered, *at))
        .collect();
    sstore::enqueue(conn, &items).await?;
    Ok(!items.is_empty())
}
