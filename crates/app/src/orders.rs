//! Order intake and the order actions. Every change is one transaction: the order, its reservation and
//! its audit records commit together or not at all.

use std::collections::HashMap;

use codflow_domain::allocation::{Stocked, candidate_warehouses};
use codflow_domain::{
    Actor, Allocation, AuditRecord, FieldErrors, NewOrder, Order, OrderId, OrderInput, OrderStatus,
    ProductId, Review, Sku, WarehouseId,
};
use codflow_store::orders;
pub use codflow_store::orders::OrderFilter;
use codflow_store::{Conn, catalogue, commit, micros, rollback};
use time::OffsetDateTime;

use crate::{App, Error, Result};

/// Whether intake made a new order or found the one already recorded for that (store, external id).
#[derive(Debug)]
pub enum Intake {
    Created(Order),
    Existing(Order),
}

/// The product id of every SKU an order names, or the paths of the lines whose SKU is unknown.
pub(crate) fn resolve_skus(
    order: &NewOrder,
    known: &HashMap<Sku, ProductId>,
) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::default();
    for (i, l) in order.lines.iter().enumerate() {
        if !known.contains_key(&l.sku) {
            e.push(format!("lines[{i}].sku"), format!("unknown SKU {}", l.sku));
        }
    }
    if e.is_empty() { Ok(()) } else { Err(e) }
}

/// Records a validated order with known SKUs inside the caller's transaction: insert, review, allocate.
/// Returns None, having written nothing, when the (store, external id) already exists.
pub(crate) async fn record(
    conn: &mut Conn,
    new: NewOrder,
    products: &HashMap<Sku, ProductId>,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Option<Order>> {
    let mut order = new.into_order(now)?;
    if !orders::insert_if_new(conn, &order).await? {
        return Ok(None);
    }
    let lines: Vec<(ProductId, &_)> = order
        .lines
        .iter()
        .map(|l| (products[&l.sku].clone(), l))
        .collect();
    orders::insert_lines(conn, &order.id, &lines).await?;
    let mut audits = vec![order.creation_audit(actor.clone())];
    // Until the review engine exists every order passes review at once; the record says so.
    order.review = Some(Review::auto_approved());
    audits.push(order.transition(
        OrderStatus::Approved,
        "approve",
        Actor::Rule("auto-approve".into()),
        Some("no review rules are configured".into()),
        now,
    )?);
    let warehouse = allocate(conn, &mut order, products, now, &mut audits).await?;
    orders::save_state(conn, &order, warehouse.as_ref()).await?;
    orders::insert_audit(conn, &audits).await?;
    Ok(Some(order))
}

/// Reserves the whole order in one warehouse that holds every line, or marks it backordered.
async fn allocate(
    conn: &mut Conn,
    order: &mut Order,
    products: &HashMap<Sku, ProductId>,
    now: OffsetDateTime,
    audits: &mut Vec<AuditRecord>,
) -> Result<Option<WarehouseId>> {
    // Sorted by product id: every transaction locks stock rows in the same order, so two multi-line
    // orders on PostgreSQL cannot deadlock each other.
    let mut demand: Vec<(ProductId, i64)> = order
        .demand()
        .into_iter()
        .map(|(s, q)| (products[&s].clone(), q))
        .collect();
    demand.sort();
    let ids: Vec<&ProductId> = demand.iter().map(|(p, _)| p).collect();
    let rows = catalogue::availability(conn, &ids).await?;
    let codes: HashMap<WarehouseId, _> = rows
        .iter()
        .map(|r| (r.warehouse.clone(), r.code.clone()))
        .collect();
    let stock: Vec<Stocked<WarehouseId, ProductId>> = rows
        .into_iter()
        .map(|r| Stocked {
            warehouse: r.warehouse,
            country: r.country,
            product: r.product,
            available: r.available,
        })
        .collect();
    let worker = Actor::Worker("allocator".into());
    'warehouses: for w in candidate_warehouses(&demand, &stock, order.shipping_address.country) {
        for (i, (p, q)) in demand.iter().enumerate() {
            if !catalogue::try_reserve(conn, &w, p, *q).await? {
                // Someone took the units since we looked (PostgreSQL); give back what this attempt took.
                for (p, q) in &demand[..i] {
                    catalogue::unreserve(conn, &w, p, *q).await?;
                }
                continue 'warehouses;
            }
        }
        for (p, q) in &demand {
            orders::insert_reservation(conn, &order.id, &w, p, *q, micros(now)).await?;
        }
        let code = codes[&w].clone();
        audits.push(order.transition(
            OrderStatus::Allocated,
            "allocate",
            worker,
            Some(format!("reserved in warehouse {code}")),
            now,
        )?);
        order.allocation = Some(Allocation {
            warehouse: code,
            channel: None,
        });
        return Ok(Some(w));
    }
    audits.push(order.transition(
        OrderStatus::Backordered,
        "backorder",
        worker,
        Some("no single warehouse holds every line".into()),
        now,
    )?);
    order.allocation = None;
    Ok(None)
}

fn conflict(e: codflow_domain::Error) -> Error {
    match e {
        codflow_domain::Error::IllegalTransition { .. } => Error::Conflict {
            code: "illegal_transition",
            message: e.to_string(),
        },
        other => Error::Conflict {
            code: "conflict",
            message: other.to_string(),
        },
    }
}

pub enum Action {
    Approve,
    Hold,
    Cancel,
}

impl App {
    pub async fn create_order(&self, input: OrderInput, actor: Actor) -> Result<Intake> {
        let now = crate::now();
        let new = input.validate(now).map_err(Error::Invalid)?;
        let skus: Vec<&Sku> = new.lines.iter().map(|l| &l.sku).collect();
        let products = catalogue::product_ids(&mut *self.store.read().await?, &skus).await?;
        resolve_skus(&new, &products).map_err(Error::Invalid)?;
        let (store, external_id) = (new.store.clone(), new.external_id.clone());
        let mut tx = self.store.begin().await?;
        match record(&mut tx, new, &products, &actor, now).await? {
            Some(order) => {
                commit(tx).await?;
                Ok(Intake::Created(order))
            }
            None => {
                rollback(tx).await?;
                let existing =
                    orders::get_by_external(&mut *self.store.read().await?, &store, &external_id)
                        .await?;
                existing
                    .map(Intake::Existing)
                    .ok_or(Error::NotFound("order"))
            }
        }
    }

    pub async fn order(&self, id: &str) -> Result<Order> {
        let id = OrderId::parse(id).map_err(|_| Error::NotFound("order"))?;
        orders::get(&mut *self.store.read().await?, &id)
            .await?
            .ok_or(Error::NotFound("order"))
    }

    /// A page of orders, newest first, and the cursor of the next page when there is one.
    pub async fn orders(
        &self,
        mut filter: OrderFilter,
        limit: i64,
        cursor: Option<&str>,
    ) -> Result<(Vec<Order>, Option<String>)> {
        if let Some(c) = cursor {
            filter.before =
                Some(OrderId::parse(c).map_err(|_| {
                    Error::invalid("cursor", "is not a cursor from a previous page")
                })?);
        }
        let mut page = orders::list(&mut *self.store.read().await?, &filter, limit).await?;
        let next = if page.len() as i64 > limit {
            page.truncate(limit as usize);
            page.last().map(|o| o.id.to_string())
        } else {
            None
        };
        Ok((page, next))
    }

    pub async fn order_history(&self, id: &str) -> Result<Vec<orders::StoredAudit>> {
        let order = self.order(id).await?;
        Ok(orders::audit_of(&mut *self.store.read().await?, "order", order.id.as_str()).await?)
    }

    /// Approve, hold or cancel. Holding or cancelling an allocated order gives its stock back in the same
    /// transaction; approving re-runs allocation.
    pub async fn act_on_order(
        &self,
        id: &str,
        action: Action,
        actor: Actor,
        reason: Option<String>,
    ) -> Result<Order> {
        let id = OrderId::parse(id).map_err(|_| Error::NotFound("order"))?;
        let now = crate::now();
        let mut tx = self.store.begin().await?;
        let mut order = orders::get(&mut tx, &id)
            .await?
            .ok_or(Error::NotFound("order"))?;
        let mut audits = Vec::new();
        let (to, name) = match action {
            Action::Approve => (OrderStatus::Approved, "approve"),
            Action::Hold => (OrderStatus::OnHold, "hold"),
            Action::Cancel => (OrderStatus::Cancelled, "cancel"),
        };
        let was_allocated = order.status == OrderStatus::Allocated;
        audits.push(
            order
                .transition(to, name, actor, reason, now)
                .map_err(conflict)?,
        );
        let mut warehouse = None;
        if was_allocated {
            orders::release_reservations(&mut tx, &order.id).await?;
            order.allocation = None;
        }
        if to == OrderStatus::Approved {
            let skus: Vec<&Sku> = order.lines.iter().map(|l| &l.sku).collect();
            let products = catalogue::product_ids(&mut tx, &skus).await?;
            warehouse = allocate(&mut tx, &mut order, &products, now, &mut audits).await?;
        }
        orders::save_state(&mut tx, &order, warehouse.as_ref()).await?;
        orders::insert_audit(&mut tx, &audits).await?;
        commit(tx).await?;
        Ok(order)
    }
}

impl From<codflow_domain::Error> for Error {
    fn from(e: codflow_domain::Error) -> Self {
        match e {
            codflow_domain::Error::IllegalTransition { .. } => conflict(e),
            other => Error::invalid("", other.to_string()),
        }
    }
}
