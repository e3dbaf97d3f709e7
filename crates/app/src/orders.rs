//! Order intake and the order actions. Every change is one transaction: the order, its reservation and
//! its audit records commit together or not at all.

use std::collections::{BTreeMap, HashMap};

use codflow_domain::allocation::{Stocked, candidate_warehouses};
use codflow_domain::review::Counts;
use codflow_domain::{
    Actor, Allocation, AuditRecord, ChannelCode, Country, Decision, FieldErrors, Money, NewOrder, Order, OrderId,
    OrderInput, OrderLine, OrderStatus, PaymentMethod, Product, ProductId, Sku, WarehouseCode, WarehouseId,
};
pub use codflow_store::orders::{CallsDue, OrderFilter, StoredAudit};
use codflow_store::{Conn, Store, catalogue, commit, micros, rollback};
use codflow_store::{orders, outbox};
use time::OffsetDateTime;

use crate::error::ConflictKind;
use crate::runtime::Ctx;
use crate::{Error, Intake, Result, logistics, review};

/// Whether intake made a new order or found the one already recorded for that (store, external id).
#[derive(Debug)]
pub enum IntakeOutcome {
    Created(Order),
    Existing(Order),
}

/// The paths of the lines whose SKU is not in `known`, if any.
pub(crate) fn resolve_skus(order: &NewOrder, known: &HashMap<Sku, ProductId>) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::default();
    for (i, l) in order.lines.iter().enumerate() {
        if !known.contains_key(&l.sku) {
            e.push(format!("lines[{i}].sku"), format!("unknown SKU {}", l.sku));
        }
    }
    if e.is_empty() { Ok(()) } else { Err(e) }
}

/// Remaining availability per (warehouse, product) while a batch is planned, and where each warehouse is.
struct Plan {
    available: HashMap<(WarehouseId, ProductId), i64>,
    warehouses: BTreeMap<WarehouseId, (WarehouseCode, Country)>,
}

impl Plan {
    async fn load(conn: &mut Conn, products: &[&ProductId]) -> Result<Plan> {
        let mut plan = Plan { available: HashMap::new(), warehouses: BTreeMap::new() };
        for r in catalogue::availability(conn, products).await? {
            plan.warehouses.insert(r.warehouse.clone(), (r.code, r.country));
            plan.available.insert((r.warehouse, r.product), r.available);
        }
        Ok(plan)
    }

    /// The warehouse that ships the whole demand, taking the units from the plan; None when none can.
    fn take(&mut self, demand: &[(ProductId, i64)], destination: Country) -> Option<(WarehouseId, WarehouseCode)> {
        let stock: Vec<Stocked<WarehouseId, ProductId>> = self
            .warehouses
            .iter()
            .flat_map(|(w, (_, country))| {
                demand.iter().filter_map(|(p, _)| {
                    let available = *self.available.get(&(w.clone(), p.clone()))?;
                    Some(Stocked { warehouse: w.clone(), country: *country, product: p.clone(), available })
                })
            })
            .collect();
        let w = candidate_warehouses(demand, &stock, destination).into_iter().next()?;
        for (p, q) in demand {
            if let Some(a) = self.available.get_mut(&(w.clone(), p.clone())) {
                *a -= q;
            }
        }
        let code = self.warehouses[&w].0.clone();
        Some((w, code))
    }
}

/// An order's demand as (product, quantity), sorted by product.
fn demand_of(order: &Order, products: &HashMap<Sku, ProductId>) -> Vec<(ProductId, i64)> {
    let mut d: Vec<(ProductId, i64)> = order.demand().into_iter().map(|(s, q)| (products[&s].clone(), q)).collect();
    d.sort();
    d
}

/// Moves an approved order to allocated (reserving in `warehouse`) or backordered, with the audit record.
fn settle(
    order: &mut Order,
    choice: Option<(WarehouseId, WarehouseCode)>,
    now: OffsetDateTime,
    audits: &mut Vec<AuditRecord>,
) -> Result<Option<WarehouseId>> {
    let worker = Actor::Worker("allocator".into());
    Ok(match choice {
        Some((w, code)) => {
            audits.push(order.transition(
                OrderStatus::Allocated,
                "allocate",
                worker,
                Some(format!("reserved in warehouse {code}")),
                now,
            )?);
            order.allocation = Some(Allocation { warehouse: code, channel: None, choice: None });
            Some(w)
        }
        None => {
            audits.push(order.transition(
                OrderStatus::Backordered,
                "backorder",
                worker,
                Some("no single warehouse holds every line".into()),
                now,
            )?);
            order.allocation = None;
            None
        }
    })
}

/// Chooses the allocated order's channel by the configured strategy and records the ranking and why.
fn pick_channel(
    order: &mut Order,
    products: &HashMap<Sku, Product>,
    counts: &HashMap<String, Counts>,
    revenue: Option<Money>,
    snapshot: &review::Snapshot,
    audits: &mut [AuditRecord],
) -> Option<i64> {
    let lg = snapshot.logistics();
    let base = snapshot.base();
    let req = logistics::request_for(order, products, lg.settings.incoterm);
    let cost = logistics::goods_cost(order, products, base, &lg.rates);
    let country = order.shipping_address.country;
    let stats = |c: &ChannelCode| logistics::lane_stats(counts, c, country);
    let (ranking, ineligible) = lg.choose(&req, base, revenue, cost, lg.settings.strategy, stats);
    let choice = logistics::choice_of(&ranking, &ineligible);
    if let Some(a) = order.allocation.as_mut() {
        a.channel = ranking.ranked.first().map(|r| r.quote.channel.clone());
        a.choice = Some(choice);
    }
    if let Some(last) = audits.last_mut() {
        let reason = last.reason.get_or_insert_with(String::new);
        reason.push_str("; ");
        reason.push_str(&ranking.why);
    }
    ranking.ranked.first().map(|_| req.parcels.iter().map(|p| p.weight_g).sum())
}

/// Takes the planned units from stock, in (warehouse, product) order: every writer locks stock rows in
/// the same order, so two transactions on PostgreSQL cannot deadlock. False when another writer took
/// units since the plan was read; the caller must then roll back.
async fn reserve_all(conn: &mut Conn, taken: &BTreeMap<(WarehouseId, ProductId), i64>) -> Result<bool> {
    let items: Vec<_> = taken.iter().map(|((w, p), q)| (w, p, *q)).collect();
    Ok(catalogue::try_reserve_all(conn, &items).await?)
}

/// Why a batch could not be recorded as planned.
pub(crate) enum Interference {
    /// Some (store, external id) already exists; nothing of the batch should be kept.
    Duplicate,
    /// Another writer took stock since the plan was read; a fresh attempt will see it.
    StockMoved,
}

/// Records validated orders with known SKUs in the caller's transaction: insert, review, allocate, audit and
/// queue buyer messages, in a handful of statements whatever the batch size. On `Err(Interference)` the
/// caller rolls back. Orders of one batch are reviewed as if they arrived one after another.
pub(crate) async fn record_batch(
    conn: &mut Conn,
    ctx: &Ctx,
    news: Vec<(NewOrder, &Actor)>,
    products: &HashMap<Sku, ProductId>,
    now: OffsetDateTime,
) -> Result<std::result::Result<Vec<Order>, Interference>> {
    let actors: Vec<&Actor> = news.iter().map(|(_, a)| *a).collect();
    let mut orders = news.into_iter().map(|(n, _)| n.into_order(now)).collect::<std::result::Result<Vec<_>, _>>()?;
    let snapshot = ctx.review.snapshot(conn).await?;
    let histories = review::histories(conn, &orders, &snapshot).await?;
    let mut wanted: Vec<&ProductId> = orders.iter().flat_map(|o| o.lines.iter().map(|l| &products[&l.sku])).collect();
    wanted.sort();
    wanted.dedup();
    let mut plan = Plan::load(conn, &wanted).await?;
    let mut audits = Vec::with_capacity(orders.len() * 3);
    let mut taken: BTreeMap<(WarehouseId, ProductId), i64> = BTreeMap::new();
    let mut held: Vec<(usize, WarehouseId, ProductId, i64)> = Vec::new();
    let mut shipped_from = Vec::with_capacity(orders.len());
    let mut messages = Vec::new();
    let mut templates = None;
    let mut shop_names: HashMap<codflow_domain::ShopCode, String> = HashMap::new();
    let mut details: Option<HashMap<Sku, Product>> = None;
    let mut to_book = Vec::new();
    let mut history_counts = Vec::with_capacity(orders.len());
    let mut base_totals = Vec::with_capacity(orders.len());
    for (i, (order, (history, base))) in orders.iter_mut().zip(histories).enumerate() {
        base_totals.push(base.as_ref().ok().copied());
        audits.push(order.creation_audit(actors[i].clone()));
        let (rv, verdict) = review::decide(order, &history, base, &snapshot);
        history_counts.push(history.counts);
        let decisive = verdict.matches.iter().find(|m| m.action == rv.decision);
        let actor = match decisive {
            Some(m) => Actor::Rule(m.rule_id.clone()),
            None => Actor::Rule(format!("ruleset-v{}", snapshot.ruleset().version)),
        };
        audits.push(order.transition(review::status_after(&rv), "review", actor, Some(rv.reasons.join("; ")), now)?);
        let note = match (verdict.notification(), decisive) {
            (Some((t, m)), _) if m.action == rv.decision => Some((t.to_owned(), m.clone())),
            (_, Some(m)) if rv.decision == Decision::BlockCod => Some(("prepayment_required".to_owned(), m.clone())),
            _ => None,
        };
        if let Some((template, m)) = note {
            if templates.is_none() {
                templates = Some(crate::notify::merged(outbox::templates(conn).await?));
            }
            if let Some(t) = &templates {
                // Buyers know the shop by its name, not its code; read once per shop in a batch.
                if !shop_names.contains_key(&order.store) {
                    let name = codflow_store::shops::get(conn, &order.store).await?.map(|r| r.config.name);
                    let name = name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| order.store.to_string());
                    shop_names.insert(order.store.clone(), name);
                }
                let shop = shop_names.get(&order.store).map_or("", String::as_str);
                messages.extend(crate::notify::messages_for(order, shop, &template, &m, t, now));
            }
        }
        order.review = Some(rv);
        if order.status != OrderStatus::Approved {
            shipped_from.push(None);
            continue;
        }
        let demand = demand_of(order, products);
        let choice = plan.take(&demand, order.shipping_address.country);
        if let Some((w, _)) = &choice {
            for (p, q) in demand {
                *taken.entry((w.clone(), p.clone())).or_insert(0) += q;
                held.push((i, w.clone(), p, q));
            }
        }
        shipped_from.push(settle(order, choice, now, &mut audits)?);
        if order.allocation.is_some() && !snapshot.logistics().channels.is_empty() {
            if details.is_none() {
                let ids: Vec<&ProductId> = products.values().collect();
                details = Some(
                    catalogue::products_by_id(conn, &ids).await?.into_iter().map(|p| (p.sku.clone(), p)).collect(),
                );
            }
            let details = details.as_ref().expect("loaded above");
            let weight = pick_channel(order, details, &history_counts[i], base_totals[i], &snapshot, &mut audits);
            let lg = snapshot.logistics();
            if let (true, Some(w), Some(code)) =
                (lg.settings.auto_book, weight, order.allocation.as_ref().and_then(|a| a.channel.as_ref()))
                && let Some(ch) = lg.channels.iter().find(|c| c.code == *code)
            {
                to_book.push(crate::booking::new_shipment(order, ch, w, now));
            }
        }
    }
    // Orders first: their unique keys decide duplicates before anything else is kept. In key order, so two
    // writers meeting each other's duplicates wait on them in one order and cannot deadlock.
    let mut rows: Vec<(&Order, Option<&WarehouseId>)> =
        orders.iter().zip(&shipped_from).map(|(o, w)| (o, w.as_ref())).collect();
    rows.sort_unstable_by(|a, b| (&a.0.store, &a.0.external_id).cmp(&(&b.0.store, &b.0.external_id)));
    let lines: Vec<(&OrderId, &ProductId, &OrderLine)> =
        orders.iter().flat_map(|o| o.lines.iter().map(move |l| (&o.id, &products[&l.sku], l))).collect();
    let reservations: Vec<_> = held.iter().map(|(i, w, p, q)| (&orders[*i].id, w, p, *q)).collect();
    if orders::insert_new(conn, &rows, &lines, &reservations, micros(now), &audits).await? != orders.len() as u64 {
        return Ok(Err(Interference::Duplicate));
    }
    outbox::enqueue(conn, &messages).await?;
    for s in &to_book {
        codflow_store::logistics::insert_shipment(conn, s).await?;
    }
    // Stock last: its rows are the ones every writer shares, so the locks the reservation takes are held
    // only from here to the commit. The plan may have been read before another writer's commit; the
    // reservation takes the units only if they are still there.
    if !reserve_all(conn, &taken).await? {
        return Ok(Err(Interference::StockMoved));
    }
    if !to_book.is_empty() {
        ctx.book.notify_one();
    }
    Ok(Ok(orders))
}

/// How often a use case re-runs after losing a stock race on PostgreSQL before giving up.
const ATTEMPTS: usize = 20;

fn busy() -> Error {
    Error::Conflict {
        kind: ConflictKind::Busy,
        message: "stock changed under this request too many times; try again".into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Approve,
    Hold,
    Cancel,
}

/// Records one validated order in its own transaction, re-running it if it loses a stock race.
pub(crate) async fn record_one(
    store: &Store,
    ctx: &Ctx,
    new: NewOrder,
    products: &HashMap<Sku, ProductId>,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<IntakeOutcome> {
    for _ in 0..ATTEMPTS {
        let mut tx = store.begin().await?;
        match record_batch(&mut tx, ctx, vec![(new.clone(), actor)], products, now).await? {
            Ok(mut created) => {
                commit(tx).await?;
                ctx.wake.notify_one();
                return created.pop().map(IntakeOutcome::Created).ok_or(Error::NotFound("order"));
            }
            Err(Interference::Duplicate) => {
                rollback(tx).await?;
                let existing = orders::get_by_external(&mut *store.read().await?, &new.store, &new.external_id).await?;
                return existing.map(IntakeOutcome::Existing).ok_or(Error::NotFound("order"));
            }
            Err(Interference::StockMoved) => rollback(tx).await?,
        }
    }
    Err(busy())
}

impl Intake {
    pub async fn create_order(&self, input: OrderInput, actor: Actor) -> Result<IntakeOutcome> {
        let now = self.clock().now();
        let new = input.validate(now).map_err(Error::Invalid)?;
        let skus: Vec<&Sku> = new.lines.iter().map(|l| &l.sku).collect();
        let products = self.products.resolve(&self.store, &skus).await?;
        resolve_skus(&new, &products).map_err(Error::Invalid)?;
        self.queue.submit(new, products, actor, now).await
    }

    pub async fn order(&self, id: &OrderId) -> Result<Order> {
        let id = id.clone();
        orders::get(&mut *self.store.read().await?, &id).await?.ok_or(Error::NotFound("order"))
    }

    /// A page of orders, newest first, and the cursor of the next page when there is one.
    pub async fn orders(
        &self,
        mut filter: OrderFilter,
        limit: i64,
        cursor: Option<&str>,
    ) -> Result<(Vec<Order>, Option<String>)> {
        let bad = || Error::invalid("cursor", "is not a cursor from a previous page");
        if filter.by_total.is_some() {
            // Listings by total page by position: the cursor is `@` and the number of rows already shown.
            filter.offset = match cursor {
                Some(c) => {
                    c.strip_prefix('@').and_then(|n| n.parse::<i64>().ok()).filter(|n| *n >= 0).ok_or_else(bad)?
                }
                None => 0,
            };
            let offset = filter.offset;
            let rows = orders::list(&mut *self.store.read().await?, &filter, limit).await?;
            let (page, more) = crate::split_page(rows, limit, |o| o.id.to_string());
            return Ok((page, more.map(|_| format!("@{}", offset + limit))));
        }
        if let Some(c) = cursor {
            filter.before = Some(OrderId::parse(c).map_err(|_| bad())?);
        }
        let rows = orders::list(&mut *self.store.read().await?, &filter, limit).await?;
        Ok(crate::split_page(rows, limit, |o| o.id.to_string()))
    }

    /// How many orders `filter` matches, counting no further than `cap` (a count past it shows as "cap+").
    pub async fn count_orders(&self, filter: &OrderFilter, cap: i64) -> Result<i64> {
        Ok(orders::count_matching(&mut *self.store.read().await?, filter, cap).await?)
    }

    pub async fn order_history(&self, id: &OrderId) -> Result<Vec<orders::StoredAudit>> {
        let order = self.order(id).await?;
        Ok(orders::audit_of(&mut *self.store.read().await?, "order", order.id.as_str()).await?)
    }

    /// Approve, hold or cancel. Holding or cancelling an allocated order gives its stock back in the same
    /// transaction; approving re-runs allocation.
    pub async fn act_on_order(
        &self,
        id: &OrderId,
        action: Action,
        actor: Actor,
        reason: Option<String>,
    ) -> Result<Order> {
        let id = id.clone();
        for _ in 0..ATTEMPTS {
            let now = self.clock().now();
            let mut tx = self.store.begin().await?;
            let mut order = orders::get(&mut tx, &id).await?.ok_or(Error::NotFound("order"))?;
            let (to, name) = match action {
                Action::Approve => (OrderStatus::Approved, "approve"),
                Action::Hold => (OrderStatus::OnHold, "hold"),
                Action::Cancel => (OrderStatus::Cancelled, "cancel"),
            };
            let was_allocated = order.status == OrderStatus::Allocated;
            let mut audits = vec![order.transition(to, name, actor.clone(), reason.clone(), now)?];
            if was_allocated {
                orders::release_reservations(&mut tx, &order.id).await?;
                order.allocation = None;
            }
            let mut warehouse = None;
            let must_prepay = order.review.as_ref().is_some_and(|r| r.prepayment_required);
            if to == OrderStatus::Approved && must_prepay && order.payment_method == PaymentMethod::Cod {
                // Review blocked cash on delivery; approving it means the buyer paid in advance.
                order.payment_method = PaymentMethod::Prepaid;
                order.cod_amount = Money::zero(order.currency);
            }
            if to == OrderStatus::Approved {
                let skus: Vec<&Sku> = order.lines.iter().map(|l| &l.sku).collect();
                let products = catalogue::product_ids(&mut tx, &skus).await?;
                let demand = demand_of(&order, &products);
                let ids: Vec<&ProductId> = demand.iter().map(|(p, _)| p).collect();
                let choice = Plan::load(&mut tx, &ids).await?.take(&demand, order.shipping_address.country);
                if let Some((w, _)) = &choice {
                    let taken = demand.iter().map(|(p, q)| ((w.clone(), p.clone()), *q)).collect();
                    if !reserve_all(&mut tx, &taken).await? {
                        rollback(tx).await?;
                        continue;
                    }
                    let rows: Vec<_> = demand.iter().map(|(p, q)| (&order.id, w, p, *q)).collect();
                    orders::insert_reservations(&mut tx, &rows, micros(now)).await?;
                }
                warehouse = settle(&mut order, choice, now, &mut audits)?;
                if order.allocation.is_some() {
                    let snapshot = self.ctx.review.snapshot(&mut tx).await?;
                    if !snapshot.logistics().channels.is_empty() {
                        let ids: Vec<&ProductId> = products.values().collect();
                        let details: HashMap<Sku, Product> = catalogue::products_by_id(&mut tx, &ids)
                            .await?
                            .into_iter()
                            .map(|p| (p.sku.clone(), p))
                            .collect();
                        let wanted: Vec<String> =
                            snapshot.logistics().lane_keys(order.shipping_address.country).collect();
                        let refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
                        let counts = codflow_store::review::counts(&mut tx, &refs).await?;
                        let revenue = review::to_base(&order, snapshot.base(), snapshot.rates()).ok();
                        pick_channel(&mut order, &details, &counts, revenue, &snapshot, &mut audits);
                        // Auto-booking applies to intake; an order approved by hand is booked by hand or in bulk.
                    }
                }
            }
            if was_allocated && to != OrderStatus::Approved {
                crate::booking::release_for(&mut tx, &order, now).await?;
            }
            orders::save_state(&mut tx, &order, warehouse.as_ref()).await?;
            orders::insert_audit(&mut tx, &audits).await?;
            commit(tx).await?;
            return Ok(order);
        }
        Err(busy())
    }
}

impl From<codflow_domain::Error> for Error {
    fn from(e: codflow_domain::Error) -> Self {
        match e {
            codflow_domain::Error::IllegalTransition { .. } => {
                Error::Conflict { kind: ConflictKind::IllegalTransition, message: e.to_string() }
            }
            other => Error::invalid("", other.to_string()),
        }
    }
}
