//! Orders, their lines, reservations and audit records.

use std::collections::HashMap;

use codflow_domain::{
    Address, Allocation, AuditRecord, Buyer, ChannelChoice, ChannelCode, Country, Currency, Money, Order, OrderId,
    OrderLine, OrderStatus, PaymentMethod, Phone, ProductId, Review, ShopCode, Sku, WarehouseCode, WarehouseId,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::bulk::{Val, insert_many, insert_values, insert_values_counted, row, update_values};
use crate::db::{from_micros, micros, placeholders, pow2_chunks};
use crate::{Error, Result};

mod rows;

use rows::{OrderFixed, OrderState, order_insert};

/// Inserts orders, skipping any whose (store, external_id) exists. Returns how many were actually inserted:
/// under concurrent duplicates exactly one writer counts each (the unique key decides, on both engines). A
/// count, not the ids back: on SQLite every returned row is a message of its own from the driver's thread.
pub async fn insert_orders(conn: &mut AnyConnection, orders: &[(&Order, Option<&WarehouseId>)]) -> Result<u64> {
    insert_values_counted(conn, order_insert(), SKIP_DUPLICATES, order_vals(orders)).await
}

const SKIP_DUPLICATES: &str = "ON CONFLICT (store, external_id) DO NOTHING";

fn order_vals(orders: &[(&Order, Option<&WarehouseId>)]) -> Vec<Val> {
    let width = OrderFixed::COLUMNS.len() + OrderState::COLUMNS.len();
    let mut vals = Vec::with_capacity(orders.len() * width);
    for (o, w) in orders {
        OrderFixed::of(o).push_vals(&mut vals);
        OrderState::of(o, *w).push_vals(&mut vals);
    }
    vals
}

/// New orders with their lines, reservations and audit records: [`insert_orders`] then, if every order was
/// new, [`insert_placed`]. Returns how many orders were inserted; when fewer than given (a duplicate), the
/// caller must roll back, since on PostgreSQL the rest may have been written. There it is one statement, the
/// lines and reservations kept to the orders it inserted (a duplicate's would break their foreign key).
pub async fn insert_new(
    conn: &mut AnyConnection,
    orders: &[(&Order, Option<&WarehouseId>)],
    lines: &[(&OrderId, &ProductId, &OrderLine)],
    reservations: &[(&OrderId, &WarehouseId, &ProductId, i64)],
    at: i64,
    audits: &[AuditRecord],
) -> Result<u64> {
    if crate::db::Engine::of(conn) == crate::db::Engine::Postgres {
        let [lh, rh, ah] = placed_heads();
        const OURS: &str = "WHERE order_id IN (SELECT id FROM i0)";
        let (o, l, r, a) =
            (order_vals(orders), line_vals(lines), reservation_vals(reservations, at), audit_vals(audits));
        const INSERTED: &str = "ON CONFLICT (store, external_id) DO NOTHING RETURNING id";
        let parts = [(order_insert(), INSERTED, &o[..]), (lh, OURS, &l[..]), (rh, OURS, &r[..]), (ah, "", &a[..])];
        if let Some(n) = crate::bulk::together(conn, &parts, true).await? {
            return Ok(n);
        }
    }
    let n = insert_orders(conn, orders).await?;
    if n == orders.len() as u64 {
        insert_placed(conn, lines, reservations, at, audits).await?;
    }
    Ok(n)
}

row!(
    /// One line of an order, numbered within it.
    LineRow {
        order_id: String,
        line_no: i64,
        product_id: String,
        sku: String,
        quantity: i64,
        unit_price_minor: i64,
    }
);

/// Lines of one or many orders: (order, product, line).
pub async fn insert_lines(conn: &mut AnyConnection, lines: &[(&OrderId, &ProductId, &OrderLine)]) -> Result<()> {
    insert_values(conn, &format!("INTO order_lines ({})", LineRow::LIST), "", line_vals(lines)).await?;
    Ok(())
}

fn line_vals(lines: &[(&OrderId, &ProductId, &OrderLine)]) -> Vec<Val> {
    let mut vals = Vec::with_capacity(lines.len() * LineRow::COLUMNS.len());
    let mut line_no = 0i64;
    let mut last: Option<&OrderId> = None;
    for (order, product, line) in lines {
        line_no = if last == Some(*order) { line_no + 1 } else { 0 };
        last = Some(*order);
        LineRow {
            order_id: order.to_string(),
            line_no,
            product_id: product.to_string(),
            sku: line.sku.to_string(),
            quantity: line.quantity,
            unit_price_minor: line.unit_price.minor,
        }
        .push_vals(&mut vals);
    }
    vals
}

/// What intake writes after the orders themselves: their lines, what they hold (reserved at `at`) and their
/// audit records, in as few round trips as the engine allows (see [`insert_many`]).
pub async fn insert_placed(
    conn: &mut AnyConnection,
    lines: &[(&OrderId, &ProductId, &OrderLine)],
    reservations: &[(&OrderId, &WarehouseId, &ProductId, i64)],
    at: i64,
    audits: &[AuditRecord],
) -> Result<()> {
    let [l, r, a] = placed_heads();
    insert_many(conn, vec![(l, line_vals(lines)), (r, reservation_vals(reservations, at)), (a, audit_vals(audits))])
        .await
}

fn placed_heads() -> &'static [String; 3] {
    static HEADS: std::sync::OnceLock<[String; 3]> = std::sync::OnceLock::new();
    HEADS.get_or_init(|| {
        [
            format!("INTO order_lines ({})", LineRow::LIST),
            format!("INTO reservations ({})", ReservationRow::LIST),
            format!("INTO audit_log ({})", AuditRow::LIST),
        ]
    })
}

fn review_json(r: &Review) -> String {
    serde_json::to_string(r).unwrap_or_else(|_| "null".into())
}

fn choice_json(c: &ChannelChoice) -> String {
    serde_json::to_string(c).unwrap_or_else(|_| "null".into())
}

fn review_from(s: &str) -> Result<Review> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("review: {e}")))
}

/// Writes the order's current status, review, payment and allocation.
pub async fn save_state(conn: &mut AnyConnection, o: &Order, warehouse: Option<&WarehouseId>) -> Result<()> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let set: Vec<String> =
            OrderState::COLUMNS.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 2)).collect();
        format!("UPDATE orders SET {} WHERE id = $1", set.join(", "))
    });
    let mut vals = vec![Val::from(o.id.as_str())];
    OrderState::of(o, warehouse).push_vals(&mut vals);
    crate::bulk::execute(conn, sql, &vals).await?;
    Ok(())
}

/// [`save_state`] for many orders in a few statements.
pub async fn save_states(conn: &mut AnyConnection, orders: &[(&Order, Option<&WarehouseId>)]) -> Result<()> {
    let mut vals = Vec::with_capacity(orders.len() * (1 + OrderState::COLUMNS.len()));
    for (o, w) in orders {
        vals.push(Val::from(o.id.as_str()));
        OrderState::of(o, *w).push_vals(&mut vals);
    }
    update_values(conn, "orders", "id", OrderState::COLUMNS, vals).await?;
    Ok(())
}

row!(
    /// Units an order holds in a warehouse.
    ReservationRow {
        order_id: String,
        warehouse_id: String,
        product_id: String,
        quantity: i64,
        created_at: i64,
    }
);

/// What each order holds: (order, warehouse, product, quantity).
pub async fn insert_reservations(
    conn: &mut AnyConnection,
    rows: &[(&OrderId, &WarehouseId, &ProductId, i64)],
    at: i64,
) -> Result<()> {
    let head = format!("INTO reservations ({})", ReservationRow::LIST);
    insert_values(conn, &head, "", reservation_vals(rows, at)).await?;
    Ok(())
}

fn reservation_vals(rows: &[(&OrderId, &WarehouseId, &ProductId, i64)], at: i64) -> Vec<Val> {
    let mut vals = Vec::with_capacity(rows.len() * ReservationRow::COLUMNS.len());
    for (o, w, p, q) in rows {
        let row = ReservationRow {
            order_id: o.to_string(),
            warehouse_id: w.to_string(),
            product_id: p.to_string(),
            quantity: *q,
            created_at: at,
        };
        row.push_vals(&mut vals);
    }
    vals
}

/// Gives back everything the order holds and forgets the reservation. Returns the units released.
pub async fn release_reservations(conn: &mut AnyConnection, order: &OrderId) -> Result<i64> {
    let rows = sqlx::query("SELECT warehouse_id, product_id, quantity FROM reservations WHERE order_id = $1")
        .bind(order.as_str())
        .fetch_all(&mut *conn)
        .await?;
    let mut released = 0;
    for r in &rows {
        let w = WarehouseId::parse(&r.try_get::<String, _>("warehouse_id")?)?;
        let p = ProductId::parse(&r.try_get::<String, _>("product_id")?)?;
        let q: i64 = r.try_get("quantity")?;
        crate::catalogue::unreserve(conn, &w, &p, q).await?;
        released += q;
    }
    sqlx::query("DELETE FROM reservations WHERE order_id = $1").bind(order.as_str()).execute(&mut *conn).await?;
    Ok(released)
}

/// [`ship_reservations`] for many orders at once: one stock update per (warehouse, product) however many
/// orders hold it. Returns the units shipped.
pub async fn ship_reservations_many(conn: &mut AnyConnection, orders: &[OrderId], at: i64) -> Result<i64> {
    let mut per_item: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for chunk in pow2_chunks(orders, 512) {
        let list = placeholders(0, chunk.len());
        let sql = format!("SELECT warehouse_id, product_id, quantity FROM reservations WHERE order_id IN ({list})");
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            *per_item.entry((r.try_get("warehouse_id")?, r.try_get("product_id")?)).or_default() +=
                r.try_get::<i64, _>("quantity")?;
        }
        let sql = format!("DELETE FROM reservations WHERE order_id IN ({list})");
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    let mut shipped = 0;
    for ((w, p), q) in per_item {
        sqlx::query(
            "UPDATE stock SET on_hand = on_hand - $3, reserved = reserved - $3, updated_at = $4 \
             WHERE warehouse_id = $1 AND product_id = $2",
        )
        .bind(w)
        .bind(p)
        .bind(q)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        shipped += q;
    }
    Ok(shipped)
}

row!(
    /// An audit record as the log keeps it (the actor in its stored form).
    AuditRow {
        id: String,
        entity: String,
        entity_id: String,
        action: String,
        from_status: Option<String>,
        to_status: Option<String>,
        actor: String,
        reason: Option<String>,
        at: i64,
    }
);

impl AuditRow {
    fn of(a: &AuditRecord) -> AuditRow {
        AuditRow {
            id: a.id.to_string(),
            entity: a.entity.to_owned(),
            entity_id: a.entity_id.clone(),
            action: a.action.clone(),
            from_status: a.from_status.clone(),
            to_status: a.to_status.clone(),
            actor: a.actor.to_stored(),
            reason: a.reason.clone(),
            at: micros(a.at),
        }
    }
}

pub async fn insert_audit(conn: &mut AnyConnection, records: &[AuditRecord]) -> Result<()> {
    insert_values(conn, &format!("INTO audit_log ({})", AuditRow::LIST), "", audit_vals(records)).await?;
    Ok(())
}

fn audit_vals(records: &[AuditRecord]) -> Vec<Val> {
    let mut vals = Vec::with_capacity(records.len() * AuditRow::COLUMNS.len());
    for a in records {
        AuditRow::of(a).push_vals(&mut vals);
    }
    vals
}

/// An audit record as read back, with the actor in its stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAudit {
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub actor: String,
    pub reason: Option<String>,
    pub at: time::OffsetDateTime,
}

/// The ids of `entity` with an audit record of `action` at or after `since`.
pub async fn audited_since(
    conn: &mut AnyConnection,
    entity: &str,
    action: &str,
    since: time::OffsetDateTime,
) -> Result<Vec<String>> {
    sqlx::query("SELECT DISTINCT entity_id FROM audit_log WHERE entity = $1 AND action = $2 AND at >= $3")
        .bind(entity)
        .bind(action)
        .bind(crate::db::micros(since))
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok(r.try_get("entity_id")?))
        .collect()
}

pub async fn audit_of(conn: &mut AnyConnection, entity: &str, entity_id: &str) -> Result<Vec<StoredAudit>> {
    sqlx::query(
        "SELECT action, from_status, to_status, actor, reason, at FROM audit_log WHERE entity = $1 AND entity_id = $2 ORDER BY id",
    )
    .bind(entity)
    .bind(entity_id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(StoredAudit {
            action: r.try_get("action")?,
            from_status: r.try_get("from_status")?,
            to_status: r.try_get("to_status")?,
            actor: r.try_get("actor")?,
            reason: r.try_get("reason")?,
            at: from_micros(r.try_get("at")?),
        })
    })
    .collect()
}

const ORDER_COLS: &str = "o.id, o.store, o.external_id, o.status, o.placed_at, o.currency, o.payment_method, \
    o.buyer_name, o.buyer_phone, o.buyer_email, o.ship_name, o.ship_phone, o.ship_line1, o.ship_line2, o.ship_city, \
    o.ship_region, o.ship_postal_code, o.ship_country, o.shipping_fee_minor, o.total_minor, o.cod_amount_minor, \
    o.review, o.channel, o.allocation, o.created_at, o.updated_at, w.code AS warehouse_code";

fn order_from(row: &AnyRow, lines: Vec<OrderLine>) -> Result<Order> {
    let s = |c: &str| row.try_get::<String, _>(c);
    let os = |c: &str| row.try_get::<Option<String>, _>(c);
    let currency = Currency::parse(&s("currency")?)?;
    let money = |c: &str| -> Result<Money> { Ok(Money::new(row.try_get(c)?, currency)) };
    let status = OrderStatus::parse(&s("status")?)?;
    let allocation = os("warehouse_code")?
        .map(|w| -> Result<Allocation> {
            let choice = os("allocation")?
                .map(|c| serde_json::from_str(&c).map_err(|e| Error::Corrupt(format!("allocation: {e}"))))
                .transpose()?;
            let channel = os("channel")?.map(|c| ChannelCode::parse(&c)).transpose()?;
            Ok(Allocation { warehouse: WarehouseCode::parse(&w)?, channel, choice })
        })
        .transpose()?;
    Ok(Order {
        id: OrderId::parse(&s("id")?)?,
        store: ShopCode::parse(&s("store")?)?,
        external_id: s("external_id")?,
        placed_at: from_micros(row.try_get("placed_at")?),
        currency,
        payment_method: PaymentMethod::parse(&s("payment_method")?)?,
        buyer: Buyer {
            name: s("buyer_name")?,
            phone: Phone::from_stored(s("buyer_phone")?),
            email: os("buyer_email")?,
        },
        shipping_address: Address {
            name: s("ship_name")?,
            phone: os("ship_phone")?.map(Phone::from_stored),
            line1: s("ship_line1")?,
            line2: os("ship_line2")?,
            city: s("ship_city")?,
            region: os("ship_region")?,
            postal_code: os("ship_postal_code")?,
            country: Country::parse(&s("ship_country")?)?,
        },
        lines,
        shipping_fee: money("shipping_fee_minor")?,
        total: money("total_minor")?,
        cod_amount: money("cod_amount_minor")?,
        status,
        review: os("review")?.map(|r| review_from(&r)).transpose()?,
        allocation,
        created_at: from_micros(row.try_get("created_at")?),
        updated_at: from_micros(row.try_get("updated_at")?),
    })
}

async fn lines_of(
    conn: &mut AnyConnection,
    ids: &[String],
    currencies: &HashMap<String, Currency>,
) -> Result<HashMap<String, Vec<OrderLine>>> {
    let mut out: HashMap<String, Vec<OrderLine>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for chunk in pow2_chunks(ids, 512) {
        let sql = format!(
            "SELECT order_id, sku, quantity, unit_price_minor FROM order_lines WHERE order_id IN ({}) \
             ORDER BY order_id, line_no",
            placeholders(0, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let order_id: String = r.try_get("order_id")?;
            let currency = *currencies.get(&order_id).ok_or_else(|| Error::Corrupt("line without order".into()))?;
            out.entry(order_id).or_default().push(OrderLine {
                sku: Sku::parse(&r.try_get::<String, _>("sku")?)?,
                quantity: r.try_get("quantity")?,
                unit_price: Money::new(r.try_get("unit_price_minor")?, currency),
            });
        }
    }
    Ok(out)
}

async fn hydrate(conn: &mut AnyConnection, rows: Vec<AnyRow>) -> Result<Vec<Order>> {
    let mut ids = Vec::with_capacity(rows.len());
    let mut currencies = HashMap::with_capacity(rows.len());
    for r in &rows {
        let id: String = r.try_get("id")?;
        currencies.insert(id.clone(), Currency::parse(&r.try_get::<String, _>("currency")?)?);
        ids.push(id);
    }
    let mut lines = lines_of(conn, &ids, &currencies).await?;
    rows.iter().zip(ids).map(|(r, id)| order_from(r, lines.remove(&id).unwrap_or_default())).collect()
}

pub async fn get(conn: &mut AnyConnection, id: &OrderId) -> Result<Option<Order>> {
    let rows = sqlx::query(&format!(
        "SELECT {ORDER_COLS} FROM orders o LEFT JOIN warehouses w ON w.id = o.warehouse_id WHERE o.id = $1"
    ))
    .bind(id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    Ok(hydrate(conn, rows).await?.pop())
}

/// Orders by id with their lines, a few hundred per query; ids not found are left out.
pub async fn get_many(conn: &mut AnyConnection, ids: &[OrderId]) -> Result<Vec<Order>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in pow2_chunks(ids, 512) {
        let sql = format!(
            "SELECT {ORDER_COLS} FROM orders o LEFT JOIN warehouses w ON w.id = o.warehouse_id WHERE o.id IN ({})",
            placeholders(0, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        let rows = q.fetch_all(&mut *conn).await?;
        out.extend(hydrate(conn, rows).await?);
    }
    Ok(out)
}

pub async fn get_by_external(conn: &mut AnyConnection, store: &ShopCode, external_id: &str) -> Result<Option<Order>> {
    let rows = sqlx::query(&format!(
        "SELECT {ORDER_COLS} FROM orders o LEFT JOIN warehouses w ON w.id = o.warehouse_id WHERE o.store = $1 AND o.external_id = $2"
    ))
    .bind(store.as_str())
    .bind(external_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(hydrate(conn, rows).await?.pop())
}

/// Which of these external ids a store already has.
pub async fn existing_external_ids(conn: &mut AnyConnection, store: &ShopCode, ids: &[&str]) -> Result<Vec<String>> {
    let numbered = crate::db::Engine::of(conn) != crate::db::Engine::Sqlite;
    let mut found = Vec::new();
    for chunk in ids.chunks(500) {
        let sql = if numbered {
            format!(
                "SELECT external_id FROM orders WHERE store = $1 AND external_id IN ({})",
                placeholders(1, chunk.len())
            )
        } else {
            // Anonymous placeholders bind in linear time on SQLite (see insert_values).
            format!(
                "SELECT external_id FROM orders WHERE store = ? AND external_id IN ({})",
                vec!["?"; chunk.len()].join(", ")
            )
        };
        // Not kept as a prepared statement: PostgreSQL would settle on a generic plan made while the table
        // was small (a scan), and keep scanning as it grows; unprepared, it is planned with the values.
        let mut q = sqlx::query(&sql).persistent(false).bind(store.as_str());
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&mut *conn).await? {
            found.push(r.try_get("external_id")?);
        }
    }
    Ok(found)
}

#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub country: Option<Country>,
    pub store: Option<ShopCode>,
    /// Paging cursor: orders after this one in the listing order.
    pub before: Option<OrderId>,
    /// Oldest first (the review queue) instead of newest first.
    pub oldest_first: bool,
    /// An external id, a buyer phone (E.164) or a tracking number, matched exactly.
    pub search: Option<String>,
    /// Held for a reason or by a rule whose words contain this text (case as written).
    pub reason: Option<String>,
    /// Placed at or after / before these instants.
    pub placed_from: Option<OffsetDateTime>,
    pub placed_to: Option<OffsetDateTime>,
    /// Orders in this currency whose total is at least / at most these minor units.
    pub total_currency: Option<codflow_domain::Currency>,
    pub total_min: Option<i64>,
    pub total_max: Option<i64>,
    /// By total (largest first when true) instead of by age; paged by `offset`, not by cursor.
    pub by_total: Option<bool>,
    pub offset: i64,
    /// Orders whose confirmation call is due: never called, or last called without an answer before this.
    pub calls_due: Option<CallsDue>,
}

/// Which confirmation calls are due: the last unanswered call before `before`, and, for one agent's list,
/// made by `actor` (an order never called is everyone's).
#[derive(Debug, Clone)]
pub struct CallsDue {
    pub before: OffsetDateTime,
    pub actor: Option<String>,
}

impl OrderFilter {
    /// The WHERE clause and its arguments; the paging cursor only when `paged`.
    fn conditions(&self, paged: bool) -> (String, Vec<Val>) {
        let mut conds = Vec::new();
        let mut args: Vec<Val> = Vec::new();
        let mut add = |cond: &str, v: Val| {
            args.push(v);
            conds.push(format!("{cond} ${}", args.len()));
        };
        if let Some(s) = self.status {
            add("o.status =", Val::Text(s.as_str().into()));
        }
        if let Some(c) = self.country {
            // Sorted by total without a status, the total's index should lead; written as an expression the
            // destination cannot take SQLite's planner to its own index and a sort of every order there.
            let by_total_alone = self.by_total.is_some() && self.status.is_none();
            let cond = if by_total_alone { "o.ship_country || '' =" } else { "o.ship_country =" };
            add(cond, Val::Text(c.code().into()));
        }
        if let Some(s) = &self.store {
            add("o.store =", Val::Text(s.as_str().into()));
        }
        if let (true, Some(b), None) = (paged, &self.before, self.by_total) {
            add(if self.oldest_first { "o.id >" } else { "o.id <" }, Val::Text(b.as_str().into()));
        }
        if let Some(t) = self.placed_from {
            add("o.placed_at >=", Val::Int(micros(t)));
        }
        if let Some(t) = self.placed_to {
            add("o.placed_at <", Val::Int(micros(t)));
        }
        if let Some(c) = self.total_currency {
            add("o.currency =", Val::Text(c.code().into()));
            if let Some(m) = self.total_min {
                add("o.total_minor >=", Val::Int(m));
            }
            if let Some(m) = self.total_max {
                add("o.total_minor <=", Val::Int(m));
            }
        }
        if let Some(due) = &self.calls_due {
            // The order's last call, by its time-ordered audit id; none when the order was never called.
            let last = |col: &str| {
                format!(
                    "(SELECT a.{col} FROM audit_log a WHERE a.entity = 'order' AND a.entity_id = o.id \
                     AND a.action = 'call' ORDER BY a.id DESC LIMIT 1)"
                )
            };
            args.push(Val::Int(micros(due.before)));
            let mut cond = format!(
                "({never} IS NULL OR ({outcome} = 'no_answer' AND {at} <= ${n}",
                never = last("id"),
                outcome = last("to_status"),
                at = last("at"),
                n = args.len()
            );
            if let Some(actor) = &due.actor {
                args.push(Val::Text(actor.clone()));
                cond.push_str(&format!(" AND {} = ${}", last("actor"), args.len()));
            }
            cond.push_str("))");
            conds.push(cond);
        }
        if let Some(r) = self.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            let escaped = r.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            args.push(Val::Text(format!("%{escaped}%")));
            // Lower-cased on both sides: SQLite's LIKE ignores ASCII case and PostgreSQL's does not.
            conds.push(format!("LOWER(o.review) LIKE LOWER(${}) ESCAPE '\\'", args.len()));
        }
        if let Some(q) = self.search.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let n = args.len();
            args.extend([Val::Text(q.to_owned()), Val::Text(q.to_owned()), Val::Text(q.to_owned())]);
            conds.push(format!(
                "(o.external_id = ${} OR o.buyer_phone = ${} OR o.id IN (SELECT order_id FROM shipments WHERE tracking_number = ${}))",
                n + 1,
                n + 2,
                n + 3
            ));
        }
        let filter = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
        (filter, args)
    }
}

/// Newest first (or oldest, or by total). Fetches `limit + 1` rows so the caller can tell whether another
/// page exists.
pub async fn list(conn: &mut AnyConnection, f: &OrderFilter, limit: i64) -> Result<Vec<Order>> {
    let (filter, args) = f.conditions(true);
    let order = match f.by_total {
        Some(true) => "o.total_minor DESC, o.id DESC",
        Some(false) => "o.total_minor ASC, o.id ASC",
        None if f.oldest_first => "o.id ASC",
        None => "o.id DESC",
    };
    let offset = if f.by_total.is_some() { f.offset.max(0) } else { 0 };
    let sql = format!(
        "SELECT {ORDER_COLS} FROM orders o LEFT JOIN warehouses w ON w.id = o.warehouse_id {filter} ORDER BY {order} LIMIT ${} OFFSET ${}",
        args.len() + 1,
        args.len() + 2
    );
    let rows =
        crate::bulk::bind_all(sqlx::query(&sql), &args).bind(limit + 1).bind(offset).fetch_all(&mut *conn).await?;
    hydrate(conn, rows).await
}

/// The confirmation calls made to these orders, oldest first: (order id, outcome, actor, at).
pub async fn calls_of(
    conn: &mut AnyConnection,
    ids: &[OrderId],
) -> Result<Vec<(String, String, String, OffsetDateTime)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT entity_id, to_status, actor, at FROM audit_log WHERE entity = 'order' AND action = 'call' \
         AND entity_id IN ({}) ORDER BY id",
        list.join(", ")
    );
    let vals: Vec<Val> = ids.iter().map(|i| Val::Text(i.to_string())).collect();
    let rows = crate::bulk::bind_all(sqlx::query(&sql), &vals).fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("entity_id")?,
                r.try_get::<Option<String>, _>("to_status")?.unwrap_or_default(),
                r.try_get("actor")?,
                from_micros(r.try_get("at")?),
            ))
        })
        .collect()
}

/// How many orders the filter matches (ignoring the page), counting no further than `cap`.
pub async fn count_matching(conn: &mut AnyConnection, f: &OrderFilter, cap: i64) -> Result<i64> {
    let (filter, args) = f.conditions(false);
    let sql = format!("SELECT COUNT(*) AS n FROM (SELECT 1 FROM orders o {filter} LIMIT ${}) c", args.len() + 1);
    Ok(crate::bulk::bind_all(sqlx::query(&sql), &args).bind(cap).fetch_one(conn).await?.try_get("n")?)
}

/// Orders placed at or after `since`, by (placed_at, id), after the cursor; for replays such as back-tests.
pub async fn by_placed(
    conn: &mut AnyConnection,
    since: OffsetDateTime,
    after: Option<(OffsetDateTime, &OrderId)>,
    limit: i64,
) -> Result<Vec<Order>> {
    let (t, id) = after.map(|(t, id)| (micros(t), id.as_str())).unwrap_or((micros(since) - 1, ""));
    let rows = sqlx::query(&format!(
        "SELECT {ORDER_COLS} FROM orders o LEFT JOIN warehouses w ON w.id = o.warehouse_id \
         WHERE o.placed_at >= $1 AND (o.placed_at > $2 OR (o.placed_at = $2 AND o.id > $3)) \
         ORDER BY o.placed_at, o.id LIMIT $4"
    ))
    .bind(micros(since))
    .bind(t)
    .bind(id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    hydrate(conn, rows).await
}

pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM orders").fetch_one(conn).await?.try_get("n")?)
}

/// Orders of any store with this external id (at most two: one is an answer, two are ambiguous).
pub async fn by_external_any(conn: &mut AnyConnection, external_id: &str) -> Result<Vec<Order>> {
    let rows = sqlx::query(&format!(
        "SELECT {ORDER_COLS} FROM orders o LEFT JOIN warehouses w ON w.id = o.warehouse_id WHERE o.external_id = $1 \
         ORDER BY o.id LIMIT 2"
    ))
    .bind(external_id)
    .fetch_all(&mut *conn)
    .await?;
    hydrate(conn, rows).await
}
