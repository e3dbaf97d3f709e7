//! Warehouses, products and stock levels.

use std::collections::HashMap;

use codflow_domain::{
    BinLocation, Country, Currency, HsCode, Money, Product, ProductId, Sku, StockLevel, Warehouse, WarehouseCode,
    WarehouseId,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::bulk::Val;
use crate::db::{micros, placeholders};
use crate::{Error, Result};

pub async fn insert_warehouse(conn: &mut AnyConnection, w: &Warehouse) -> Result<()> {
    sqlx::query("INSERT INTO warehouses (id, code, name, country, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(w.id.as_str())
        .bind(w.code.as_str())
        .bind(&w.name)
        .bind(w.country.code())
        .bind(micros(OffsetDateTime::now_utc()))
        .execute(conn)
        .await?;
    Ok(())
}

fn warehouse_from(row: &AnyRow) -> Result<Warehouse> {
    Ok(Warehouse {
        id: WarehouseId::parse(&row.try_get::<String, _>("id")?)?,
        code: WarehouseCode::parse(&row.try_get::<String, _>("code")?)?,
        name: row.try_get("name")?,
        country: Country::parse(&row.try_get::<String, _>("country")?)?,
    })
}

pub async fn warehouse_by_code(conn: &mut AnyConnection, code: &WarehouseCode) -> Result<Option<Warehouse>> {
    sqlx::query("SELECT id, code, name, country FROM warehouses WHERE code = $1")
        .bind(code.as_str())
        .fetch_optional(conn)
        .await?
        .map(|r| warehouse_from(&r))
        .transpose()
}

/// Warehouses by code, after `after` when given; `limit + 1` rows so the caller can tell a next page exists.
pub async fn warehouses(conn: &mut AnyConnection, after: Option<&WarehouseCode>, limit: i64) -> Result<Vec<Warehouse>> {
    sqlx::query("SELECT id, code, name, country FROM warehouses WHERE code > $1 ORDER BY code LIMIT $2")
        .bind(after.map(|c| c.as_str()).unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(warehouse_from)
        .collect()
}

const PRODUCT_COLS: &str =
    "id, sku, title, unit_weight_g, unit_cost_minor, unit_cost_currency, hs_code, origin_country, category";

pub(crate) fn product_from(row: &AnyRow) -> Result<Product> {
    let currency = Currency::parse(&row.try_get::<String, _>("unit_cost_currency")?)?;
    Ok(Product {
        id: ProductId::parse(&row.try_get::<String, _>("id")?)?,
        sku: Sku::parse(&row.try_get::<String, _>("sku")?)?,
        title: row.try_get("title")?,
        unit_weight_g: row.try_get("unit_weight_g")?,
        unit_cost: Money::new(row.try_get("unit_cost_minor")?, currency),
        hs_code: row.try_get::<Option<String>, _>("hs_code")?.map(|h| HsCode::parse(&h)).transpose()?,
        origin_country: row.try_get::<Option<String>, _>("origin_country")?.map(|c| Country::parse(&c)).transpose()?,
        category: row.try_get("category")?,
    })
}

pub async fn insert_product(conn: &mut AnyConnection, p: &Product) -> Result<()> {
    let now = micros(OffsetDateTime::now_utc());
    sqlx::query(&format!(
        "INSERT INTO products ({PRODUCT_COLS}, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)"
    ))
    .bind(p.id.as_str())
    .bind(p.sku.as_str())
    .bind(&p.title)
    .bind(p.unit_weight_g)
    .bind(p.unit_cost.minor)
    .bind(p.unit_cost.currency.code())
    .bind(p.hs_code.as_ref().map(|h| h.as_str().to_owned()))
    .bind(p.origin_country.map(|c| c.code().to_owned()))
    .bind(p.category.clone())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a product's attributes, keeping its id. Returns false when no product has that SKU.
pub async fn update_product(conn: &mut AnyConnection, p: &Product) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE products SET title = $2, unit_weight_g = $3, unit_cost_minor = $4, unit_cost_currency = $5, \
         hs_code = $6, origin_country = $7, category = $8, updated_at = $9 WHERE sku = $1",
    )
    .bind(p.sku.as_str())
    .bind(&p.title)
    .bind(p.unit_weight_g)
    .bind(p.unit_cost.minor)
    .bind(p.unit_cost.currency.code())
    .bind(p.hs_code.as_ref().map(|h| h.as_str().to_owned()))
    .bind(p.origin_country.map(|c| c.code().to_owned()))
    .bind(p.category.clone())
    .bind(micros(OffsetDateTime::now_utc()))
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn product_by_sku(conn: &mut AnyConnection, sku: &Sku) -> Result<Option<Product>> {
    sqlx::query(&format!("SELECT {PRODUCT_COLS} FROM products WHERE sku = $1"))
        .bind(sku.as_str())
        .fetch_optional(conn)
        .await?
        .map(|r| product_from(&r))
        .transpose()
}

/// Products by SKU, after `after` when given; `limit + 1` rows so the caller can tell a next page exists.
pub async fn products_page(conn: &mut AnyConnection, after: Option<&Sku>, limit: i64) -> Result<Vec<Product>> {
    sqlx::query(&format!("SELECT {PRODUCT_COLS} FROM products WHERE sku > $1 ORDER BY sku LIMIT $2"))
        .bind(after.map(|s| s.as_str()).unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?
        .iter()
        .map(product_from)
        .collect()
}

/// Every product, for work that needs the whole catalogue at once (an import resolving SKUs).
pub async fn products(conn: &mut AnyConnection) -> Result<Vec<Product>> {
    sqlx::query(&format!("SELECT {PRODUCT_COLS} FROM products ORDER BY sku"))
        .fetch_all(conn)
        .await?
        .iter()
        .map(product_from)
        .collect()
}

/// Products by id; unknown ids are left out.
pub async fn products_by_id(conn: &mut AnyConnection, ids: &[&ProductId]) -> Result<Vec<Product>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {PRODUCT_COLS} FROM products WHERE id IN ({})", placeholders(0, ids.len()));
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(id.as_str());
    }
    q.fetch_all(conn).await?.iter().map(product_from).collect()
}

/// Products by SKU; unknown SKUs are left out.
pub async fn products_by_sku(conn: &mut AnyConnection, skus: &[&Sku]) -> Result<Vec<Product>> {
    if skus.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {PRODUCT_COLS} FROM products WHERE sku IN ({})", placeholders(0, skus.len()));
    let mut q = sqlx::query(&sql);
    for s in skus {
        q = q.bind(s.as_str());
    }
    q.fetch_all(conn).await?.iter().map(product_from).collect()
}

/// Maps SKUs to product ids; SKUs with no product are absent from the result.
pub async fn product_ids(conn: &mut AnyConnection, skus: &[&Sku]) -> Result<HashMap<Sku, ProductId>> {
    if skus.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!("SELECT id, sku FROM products WHERE sku IN ({})", placeholders(0, skus.len()));
    let mut q = sqlx::query(&sql);
    for s in skus {
        q = q.bind(s.as_str());
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((Sku::parse(&r.try_get::<String, _>("sku")?)?, ProductId::parse(&r.try_get::<String, _>("id")?)?)))
        .collect()
}

pub async fn stock_level(conn: &mut AnyConnection, w: &WarehouseId, p: &ProductId) -> Result<Option<StockLevel>> {
    let row = sqlx::query("SELECT on_hand, reserved FROM stock WHERE warehouse_id = $1 AND product_id = $2")
        .bind(w.as_str())
        .bind(p.as_str())
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok(StockLevel { on_hand: r.try_get("on_hand")?, reserved: r.try_get("reserved")? })).transpose()
}

pub async fn stock_location(conn: &mut AnyConnection, w: &WarehouseId, p: &ProductId) -> Result<Option<BinLocation>> {
    let row = sqlx::query("SELECT location FROM stock WHERE warehouse_id = $1 AND product_id = $2")
        .bind(w.as_str())
        .bind(p.as_str())
        .fetch_optional(conn)
        .await?;
    match row.map(|r| r.try_get::<Option<String>, _>("location")).transpose()?.flatten() {
        Some(l) => Ok(Some(BinLocation::parse(&l)?)),
        None => Ok(None),
    }
}

/// Puts a SKU in a bin (or takes it out of one); a SKU not yet counted gets a stock row of zero.
pub async fn set_location(
    conn: &mut AnyConnection,
    w: &WarehouseId,
    p: &ProductId,
    location: Option<&BinLocation>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO stock (warehouse_id, product_id, on_hand, reserved, updated_at, location) VALUES ($1, $2, 0, 0, $3, $4) \
         ON CONFLICT (warehouse_id, product_id) DO UPDATE SET location = excluded.location, updated_at = excluded.updated_at",
    )
    .bind(w.as_str())
    .bind(p.as_str())
    .bind(micros(OffsetDateTime::now_utc()))
    .bind(location.map(BinLocation::as_str))
    .execute(conn)
    .await?;
    Ok(())
}

/// The bins of the given products in one warehouse; products without one are absent.
pub async fn locations(
    conn: &mut AnyConnection,
    w: &WarehouseId,
    products: &[ProductId],
) -> Result<HashMap<ProductId, BinLocation>> {
    if products.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT product_id, location FROM stock WHERE warehouse_id = $1 AND location IS NOT NULL AND product_id IN ({})",
        placeholders(1, products.len())
    );
    let mut q = sqlx::query(&sql).bind(w.as_str());
    for p in products {
        q = q.bind(p.as_str());
    }
    let mut out = HashMap::with_capacity(products.len());
    for r in q.fetch_all(conn).await? {
        let id: String = r.try_get("product_id")?;
        let loc: String = r.try_get("location")?;
        let id = ProductId::parse(&id)?;
        out.insert(id, BinLocation::parse(&loc)?);
    }
    Ok(out)
}

/// Sets the counted quantity, unless it is below what orders hold: then nothing changes and the answer
/// is false. The comparison is in the statement, so an order reserving at the same moment cannot slip
/// between a check and the write (the row is locked on PostgreSQL; SQLite has one writer).
pub async fn set_on_hand(conn: &mut AnyConnection, w: &WarehouseId, p: &ProductId, on_hand: i64) -> Result<bool> {
    let r = sqlx::query(
        "INSERT INTO stock (warehouse_id, product_id, on_hand, reserved, updated_at) VALUES ($1, $2, $3, 0, $4) \
         ON CONFLICT (warehouse_id, product_id) DO UPDATE SET on_hand = excluded.on_hand, updated_at = excluded.updated_at \
         WHERE stock.reserved <= excluded.on_hand",
    )
    .bind(w.as_str())
    .bind(p.as_str())
    .bind(on_hand)
    .bind(micros(OffsetDateTime::now_utc()))
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Available quantity per (warehouse, product) for the given products, with each warehouse's code and country.
pub struct Availability {
    pub warehouse: WarehouseId,
    pub code: WarehouseCode,
    pub country: Country,
    pub product: ProductId,
    pub available: i64,
}

pub async fn availability(conn: &mut AnyConnection, products: &[&ProductId]) -> Result<Vec<Availability>> {
    if products.is_empty() {
        return Ok(vec![]);
    }
    let sql = format!(
        "SELECT s.warehouse_id, w.code, w.country, s.product_id, s.on_hand - s.reserved AS available \
         FROM stock s JOIN warehouses w ON w.id = s.warehouse_id WHERE s.product_id IN ({}) ORDER BY w.code",
        placeholders(0, products.len())
    );
    let mut q = sqlx::query(&sql);
    for p in products {
        q = q.bind(p.as_str());
    }
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Availability {
                warehouse: WarehouseId::parse(&r.try_get::<String, _>("warehouse_id")?)?,
                code: WarehouseCode::parse(&r.try_get::<String, _>("code")?)?,
                country: Country::parse(&r.try_get::<String, _>("country")?)?,
                product: ProductId::parse(&r.try_get::<String, _>("product_id")?)?,
                available: r.try_get("available")?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()
}

/// Takes `quantity` from what is available, only if that much is there. The condition and the increment
/// are one statement, so two transactions can never both take the last unit (the row is locked on
/// PostgreSQL; SQLite has one writer). Returns whether the units were reserved.
pub async fn try_reserve(conn: &mut AnyConnection, w: &WarehouseId, p: &ProductId, quantity: i64) -> Result<bool> {
    try_reserve_all(conn, &[(w, p, quantity)]).await
}

/// Takes each `(warehouse, product, quantity)` from what is available where that much is there, all of
/// them in one statement (an intake batch touches a handful of rows, and each statement is a round trip):
/// returns whether every one was taken. On `false` some may have been, and the caller rolls back. Each
/// pair must appear once.
pub async fn try_reserve_all(conn: &mut AnyConnection, items: &[(&WarehouseId, &ProductId, i64)]) -> Result<bool> {
    if items.is_empty() {
        return Ok(true);
    }
    if crate::db::Engine::of(conn) == crate::db::Engine::Postgres {
        return try_reserve_all_pg(conn, items).await;
    }
    let at = micros(OffsetDateTime::now_utc());
    let vals = items
        .iter()
        .flat_map(|(w, p, q)| [Val::from(w.as_str()), Val::from(p.as_str()), Val::Int(*q), Val::Int(at)])
        .collect();
    let taken = crate::bulk::execute_values(conn, 4, vals, |groups| {
        format!(
            "WITH v (warehouse_id, product_id, quantity, at) AS (VALUES {groups}) \
             UPDATE stock SET reserved = stock.reserved + v.quantity, updated_at = v.at FROM v \
             WHERE stock.warehouse_id = v.warehouse_id AND stock.product_id = v.product_id \
             AND stock.on_hand - stock.reserved >= v.quantity"
        )
    })
    .await?;
    Ok(taken == items.len() as u64)
}

/// [`try_reserve_all`] on PostgreSQL: the items as one JSON parameter, so each statement has one shape and one
/// round trip whatever their number (a `VALUES` list split in powers of two took two or three of each).
async fn try_reserve_all_pg(conn: &mut AnyConnection, items: &[(&WarehouseId, &ProductId, i64)]) -> Result<bool> {
    let vals: Vec<Val> =
        items.iter().flat_map(|(w, p, q)| [Val::from(w.as_str()), Val::from(p.as_str()), Val::Int(*q)]).collect();
    let rows = crate::bulk::json_rows(&vals, &["warehouse_id", "product_id", "quantity"])?;
    // Every writer locks stock rows in key order; one UPDATE over many rows locks them in whatever order its
    // plan visits them, and two such orders can deadlock. So the rows are first locked in key order, in the same
    // statement: no row is updated before the count over every locked row exists, and a row another writer
    // changed meanwhile is re-read by the update itself (as any update of a row changed under it is) before
    // its condition is checked. PostgreSQL only.
    let taken = sqlx::query(
        "WITH v AS (SELECT * FROM json_to_recordset($1::text::json) AS x(warehouse_id TEXT, product_id TEXT, quantity BIGINT)), \
         locked AS (SELECT s.warehouse_id FROM stock s JOIN v ON s.warehouse_id = v.warehouse_id AND s.product_id = v.product_id \
         ORDER BY s.warehouse_id, s.product_id FOR UPDATE OF s) \
         UPDATE stock SET reserved = stock.reserved + v.quantity, updated_at = $2 FROM v, (SELECT COUNT(*) FROM locked) AS held \
         WHERE stock.warehouse_id = v.warehouse_id AND stock.product_id = v.product_id \
         AND stock.on_hand - stock.reserved >= v.quantity",
    )
    .bind(&rows)
    .bind(micros(OffsetDateTime::now_utc()))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(taken == items.len() as u64)
}

pub async fn unreserve(conn: &mut AnyConnection, w: &WarehouseId, p: &ProductId, quantity: i64) -> Result<()> {
    sqlx::query(
        "UPDATE stock SET reserved = reserved - $3, updated_at = $4 WHERE warehouse_id = $1 AND product_id = $2",
    )
    .bind(w.as_str())
    .bind(p.as_str())
    .bind(quantity)
    .bind(micros(OffsetDateTime::now_utc()))
    .execute(conn)
    .await?;
    Ok(())
}

/// One counted SKU in one warehouse, as the stock page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockRow {
    pub warehouse: String,
    pub sku: String,
    pub title: String,
    pub level: StockLevel,
    pub location: Option<String>,
}

/// Every stock row, by warehouse code then SKU, after `(warehouse, sku)`; `low` keeps only rows with at
/// most that many available.
pub async fn stock_rows(
    conn: &mut AnyConnection,
    after: Option<(&str, &str)>,
    low: Option<i64>,
    search: Option<&str>,
    limit: i64,
) -> Result<Vec<StockRow>> {
    let (aw, asku) = after.unwrap_or(("", ""));
    let pattern = search
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("%{}%", s.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")));
    let rows = sqlx::query(
        "SELECT w.code, p.sku, p.title, s.on_hand, s.reserved, s.location FROM stock s \
         JOIN warehouses w ON w.id = s.warehouse_id JOIN products p ON p.id = s.product_id \
         WHERE (w.code > $1 OR (w.code = $1 AND p.sku > $2)) AND ($3 < 0 OR s.on_hand - s.reserved <= $3) \
           AND ($4 = '' OR LOWER(p.sku) LIKE $4 ESCAPE '\\' OR LOWER(p.title) LIKE $4 ESCAPE '\\') \
         ORDER BY w.code, p.sku LIMIT $5",
    )
    .bind(aw)
    .bind(asku)
    .bind(low.unwrap_or(-1))
    .bind(pattern.unwrap_or_default())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StockRow {
                warehouse: r.try_get(0)?,
                sku: r.try_get(1)?,
                title: r.try_get(2)?,
                level: StockLevel { on_hand: r.try_get(3)?, reserved: r.try_get(4)? },
                location: r.try_get(5)?,
            })
        })
        .collect()
}
