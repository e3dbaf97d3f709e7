//! Orders, their lines, reservations and audit records.

use std::collections::HashMap;

use codflow_domain::{
    Address, Allocation, AuditRecord, Buyer, Country, Currency, Decision, Money, Order, OrderId,
    OrderLine, OrderStatus, PaymentMethod, Phone, ProductId, Review, Sku, StoreCode, WarehouseCode,
    WarehouseId,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{from_micros, micros, placeholders};
use crate::{Error, Result};

/// Inserts the order unless one with the same (store, external_id) exists. Returns whether it was inserted;
/// under concurrent duplicates exactly one caller gets `true` (the unique key decides, on both engines).
pub async fn insert_if_new(conn: &mut AnyConnection, o: &Order) -> Result<bool> {
    let review = o.review.as_ref().map(review_json);
    let row = sqlx::query(
        "INSERT INTO orders (id, store, external_id, status, placed_at, currency, payment_method, buyer_name, \
         buyer_phone, buyer_email, ship_name, ship_phone, ship_line1, ship_line2, ship_city, ship_region, \
         ship_postal_code, ship_country, shipping_fee_minor, total_minor, cod_amount_minor, review, warehouse_id, \
         channel, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
         $22, NULL, NULL, $23, $24) ON CONFLICT (store, external_id) DO NOTHING RETURNING id",
    )
    .bind(o.id.as_str())
    .bind(o.store.as_str())
    .bind(&o.external_id)
    .bind(o.status.as_str())
    .bind(micros(o.placed_at))
    .bind(o.currency.code())
    .bind(o.payment_method.as_str())
    .bind(&o.buyer.name)
    .bind(o.buyer.phone.as_str())
    .bind(o.buyer.email.clone())
    .bind(&o.shipping_address.name)
    .bind(o.shipping_address.phone.as_ref().map(|p| p.as_str().to_owned()))
    .bind(&o.shipping_address.line1)
    .bind(o.shipping_address.line2.clone())
    .bind(&o.shipping_address.city)
    .bind(o.shipping_address.region.clone())
    .bind(o.shipping_address.postal_code.clone())
    .bind(o.shipping_address.country.code())
    .bind(o.shipping_fee.minor)
    .bind(o.total.minor)
    .bind(o.cod_amount.minor)
    .bind(review)
    .bind(micros(o.created_at))
    .bind(micros(o.updated_at))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

pub async fn insert_lines(
    conn: &mut AnyConnection,
    id: &OrderId,
    lines: &[(ProductId, &OrderLine)],
) -> Result<()> {
    // Bounded so a statement stays under SQLite's parameter limit.
    for (chunk_no, chunk) in lines.chunks(100).enumerate() {
        let values = (0..chunk.len())
            .map(|i| {
                let b = i * 5;
                format!(
                    "($1, ${}, ${}, ${}, ${}, ${})",
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO order_lines (order_id, line_no, product_id, sku, quantity, unit_price_minor) VALUES {values}"
        );
        let mut q = sqlx::query(&sql).bind(id.as_str());
        for (i, (product, line)) in chunk.iter().enumerate() {
            q = q
                .bind((chunk_no * 100 + i) as i64)
                .bind(product.as_str())
                .bind(line.sku.as_str())
                .bind(line.quantity)
                .bind(line.unit_price.minor);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

fn review_json(r: &Review) -> String {
    serde_json::to_string(r).unwrap_or_else(|_| "null".into())
}

fn review_from(s: &str) -> Result<Review> {
    let v: serde_json::Value =
        serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("review: {e}")))?;
    let strings = |k: &str| -> Vec<String> {
        v.get(k)
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let decision = match v.get("decision").and_then(|d| d.as_str()) {
        Some("approve") => Decision::Approve,
        Some("hold") => Decision::Hold,
        Some("cancel") => Decision::Cancel,
        other => return Err(Error::Corrupt(format!("review decision {other:?}"))),
    };
    Ok(Review {
        decision,
        rules: strings("rules"),
        reasons: strings("reasons"),
    })
}

/// Writes the order's current status, review and allocation.
pub async fn save_state(
    conn: &mut AnyConnection,
    o: &Order,
    warehouse: Option<&WarehouseId>,
) -> Result<()> {
    sqlx::query("UPDATE orders SET status = $2, review = $3, warehouse_id = $4, updated_at = $5 WHERE id = $1")
        .bind(o.id.as_str())
        .bind(o.status.as_str())
        .bind(o.review.as_ref().map(review_json))
        .bind(warehouse.map(|w| w.as_str().to_owned()))
        .bind(micros(o.updated_at))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_reservation(
    conn: &mut AnyConnection,
    order: &OrderId,
    w: &WarehouseId,
    p: &ProductId,
    quantity: i64,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO reservations (order_id, warehouse_id, product_id, quantity, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(order.as_str())
    .bind(w.as_str())
    .bind(p.as_str())
    .bind(quantity)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives back everything the order holds and forgets the reservation. Returns the units released.
pub async fn release_reservations(conn: &mut AnyConnection, order: &OrderId) -> Result<i64> {
    let rows = sqlx::query(
        "SELECT warehouse_id, product_id, quantity FROM reservations WHERE order_id = $1",
    )
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
    sqlx::query("DELETE FROM reservations WHERE order_id = $1")
        .bind(order.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(released)
}

pub async fn insert_audit(conn: &mut AnyConnection, records: &[AuditRecord]) -> Result<()> {
    for chunk in records.chunks(50) {
        let values = (0..chunk.len())
            .map(|i| {
                let b = i * 9;
                format!(
                    "({})",
                    (b + 1..=b + 9)
                        .map(|n| format!("${n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO audit_log (id, entity, entity_id, action, from_status, to_status, actor, reason, at) VALUES {values}"
        );
        let mut q = sqlx::query(&sql);
        for a in chunk {
            q = q
                .bind(a.id.as_str())
                .bind(a.entity)
                .bind(&a.entity_id)
                .bind(&a.action)
                .bind(a.from_status.clone())
                .bind(a.to_status.clone())
                .bind(a.actor.to_stored())
                .bind(a.reason.clone())
                .bind(micros(a.at));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
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

pub async fn audit_of(
    conn: &mut AnyConnection,
    entity: &str,
    entity_id: &str,
) -> Result<Vec<StoredAudit>> {
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
    o.review, o.channel, o.created_at, o.updated_at, w.code AS warehouse_code";

fn order_from(row: &AnyRow, lines: Vec<OrderLine>) -> Result<Order> {
    let s = |c: &str| row.try_get::<String, _>(c);
    let os = |c: &str| row.try_get::<Option<String>, _>(c);
    let currency = Currency::parse(&s("currency")?)?;
    let money = |c: &str| -> Result<Money> { Ok(Money::new(row.try_get(c)?, currency)) };
    let status = OrderStatus::parse(&s("status")?)?;
    let allocation = os("warehouse_code")?
        .map(|w| -> Result<Allocation> {
            Ok(Allocation {
                warehouse: WarehouseCode::parse(&w)?,
                channel: os("channel")?,
            })
        })
        .transpose()?;
    Ok(Order {
        id: OrderId::parse(&s("id")?)?,
        store: StoreCode::parse(&s("store")?)?,
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
    let sql = format!(
        "SELECT order_id, sku, quantity, unit_price_minor FROM order_lines WHERE order_id IN ({}) ORDER BY order_id, line_no",
        placeholders(0, ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id.as_str());
    }
    for r in q.fetch_all(conn).await? {
        let order_id: String = r.try_get("order_id")?;
        let currency = *currencies
            .get(&order_id)
            .ok_or_else(|| Error::Corrupt("line without order".into()))?;
        out.entry(order_id).or_default().push(OrderLine {
            sku: Sku::parse(&r.try_get::<String, _>("sku")?)?,
            quantity: r.try_get("quantity")?,
            unit_price: Money::new(r.try_get("unit_price_minor")?, currency),
        });
    }
    Ok(out)
}

async fn hydrate(conn: &mut AnyConnection, rows: Vec<AnyRow>) -> Result<Vec<Order>> {
    let mut ids = Vec::with_capacity(rows.len());
    let mut currencies = HashMap::with_capacity(rows.len());
    for r in &rows {
        let id: String = r.try_get("id")?;
        currencies.insert(
            id.clone(),
            Currency::parse(&r.try_get::<String, _>("currency")?)?,
        );
        ids.push(id);
    }
    let mut lines = lines_of(conn, &ids, &currencies).await?;
    rows.iter()
        .zip(ids)
        .map(|(r, id)| order_from(r, lines.remove(&id).unwrap_or_default()))
        .collect()
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

pub async fn get_by_external(
    conn: &mut AnyConnection,
    store: &StoreCode,
    external_id: &str,
) -> Result<Option<Order>> {
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
pub async fn existing_external_ids(
    conn: &mut AnyConnection,
    store: &StoreCode,
    ids: &[&str],
) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT external_id FROM orders WHERE store = $1 AND external_id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(&sql).bind(store.as_str());
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
    pub store: Option<StoreCode>,
    /// Only orders with an id below this one (newest first paging).
    pub before: Option<OrderId>,
}

/// Newest first. Fetches `limit + 1` rows so the caller can tell whether another page exists.
pub async fn list(conn: &mut AnyConnection, f: &OrderFilter, limit: i64) -> Result<Vec<Order>> {
    let mut conds = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let mut add = |cond: &str, v: String| {
        args.push(v);
        conds.push(format!("{cond} ${}", args.len()));
    };
    if let Some(s) = f.status {
        add("o.status =", s.as_str().into());
    }
    if let Some(c) = f.country {
        add("o.ship_country =", c.code().into());
    }
    if let Some(s) = &f.store {
        add("o.store =", s.as_str().into());
    }
    if let Some(b) = &f.before {
        add("o.id <", b.as_str().into());
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let sql = format!(
        "SELECT {ORDER_COLS} FROM orders o LEFT JOIN warehouses w ON w.id = o.warehouse_id {filter} ORDER BY o.id DESC LIMIT ${}",
        args.len() + 1
    );
    let mut q = sqlx::query(&sql);
    for a in &args {
        q = q.bind(a.as_str());
    }
    let rows = q.bind(limit + 1).fetch_all(&mut *conn).await?;
    hydrate(conn, rows).await
}

pub async fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM orders")
        .fetch_one(conn)
        .await?
        .try_get("n")?)
}
