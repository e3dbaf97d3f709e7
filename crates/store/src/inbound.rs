//! Purchase orders, advance shipping notices and what receiving counted against them.

use codflow_domain::inbound::{Asn, AsnLine, AsnStatus, PoLine, PoStatus, PurchaseOrder};
use codflow_domain::{
    AsnId, AsnRef, BinLocation, PoNumber, ProductId, PurchaseOrderId, Sku, WarehouseCode, WarehouseId,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::{Date, OffsetDateTime};

use crate::db::{from_micros, micros};
use crate::{Error, Result};

fn day_text(d: Option<Date>) -> Option<String> {
    d.map(|d| d.to_string())
}

fn day_of(r: &AnyRow, col: &str) -> Result<Option<Date>> {
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| codflow_domain::inbound::day(&s).map_err(|e| Error::Corrupt(e.to_string()))).transpose()
}

const PO_COLUMNS: &str = "p.id, p.number, p.supplier, w.code AS warehouse, p.status, p.expected_on, p.note, \
                          p.created_at, p.updated_at";

fn po_from(r: &AnyRow, lines: Vec<PoLine>) -> Result<PurchaseOrder> {
    let status: String = r.try_get("status")?;
    Ok(PurchaseOrder {
        id: PurchaseOrderId::parse(&r.try_get::<String, _>("id")?)?,
        number: PoNumber::parse(&r.try_get::<String, _>("number")?)?,
        supplier: r.try_get("supplier")?,
        warehouse: WarehouseCode::parse(&r.try_get::<String, _>("warehouse")?)?,
        status: PoStatus::parse(&status).ok_or_else(|| Error::Corrupt(format!("purchase order status {status:?}")))?,
        expected_on: day_of(r, "expected_on")?,
        note: r.try_get("note")?,
        lines,
        created_at: from_micros(r.try_get("created_at")?),
        updated_at: from_micros(r.try_get("updated_at")?),
    })
}

pub async fn insert_po(conn: &mut AnyConnection, po: &PurchaseOrder, warehouse: &WarehouseId) -> Result<()> {
    sqlx::query(
        "INSERT INTO purchase_orders (id, number, supplier, warehouse_id, status, expected_on, note, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(po.id.as_str())
    .bind(po.number.as_str())
    .bind(&po.supplier)
    .bind(warehouse.as_str())
    .bind(po.status.as_str())
    .bind(day_text(po.expected_on))
    .bind(po.note.as_deref())
    .bind(micros(po.created_at))
    .bind(micros(po.updated_at))
    .execute(&mut *conn)
    .await?;
    for l in &po.lines {
        sqlx::query(
            "INSERT INTO purchase_order_lines (po_id, product_id, ordered, received, damaged) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(po.id.as_str())
        .bind(l.product.as_str())
        .bind(l.ordered)
        .bind(l.received)
        .bind(l.damaged)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn po_lines(conn: &mut AnyConnection, id: &str) -> Result<Vec<PoLine>> {
    let rows = sqlx::query(
        "SELECT l.product_id, p.sku, l.ordered, l.received, l.damaged FROM purchase_order_lines l \
         JOIN products p ON p.id = l.product_id WHERE l.po_id = $1 ORDER BY p.sku",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PoLine {
                product: ProductId::parse(&r.try_get::<String, _>("product_id")?)?,
                sku: Sku::parse(&r.try_get::<String, _>("sku")?)?,
                ordered: r.try_get("ordered")?,
                received: r.try_get("received")?,
                damaged: r.try_get("damaged")?,
            })
        })
        .collect()
}

async fn po_where(conn: &mut AnyConnection, column: &str, value: &str) -> Result<Option<PurchaseOrder>> {
    let sql = format!(
        "SELECT {PO_COLUMNS} FROM purchase_orders p JOIN warehouses w ON w.id = p.warehouse_id WHERE p.{column} = $1"
    );
    let Some(row) = sqlx::query(&sql).bind(value).fetch_optional(&mut *conn).await? else { return Ok(None) };
    let id: String = row.try_get("id")?;
    let lines = po_lines(conn, &id).await?;
    po_from(&row, lines).map(Some)
}

pub async fn po(conn: &mut AnyConnection, id: &PurchaseOrderId) -> Result<Option<PurchaseOrder>> {
    po_where(conn, "id", id.as_str()).await
}

pub async fn po_by_number(conn: &mut AnyConnection, number: &PoNumber) -> Result<Option<PurchaseOrder>> {
    po_where(conn, "number", number.as_str()).await
}

/// A purchase order in a list: the order without its lines, and their totals.
#[derive(Clone, Debug)]
pub struct PoSummary {
    pub po: PurchaseOrder,
    pub lines: i64,
    pub ordered: i64,
    pub received: i64,
    pub damaged: i64,
}

/// Purchase orders newest first (by id), optionally of one status, after the cursor `after` (an id).
pub async fn pos(
    conn: &mut AnyConnection,
    status: Option<PoStatus>,
    after: Option<&PurchaseOrderId>,
    limit: i64,
) -> Result<Vec<PoSummary>> {
    let sql = format!(
        "SELECT {PO_COLUMNS}, COUNT(l.product_id) AS n, CAST(COALESCE(SUM(l.ordered), 0) AS BIGINT) AS ordered, \
         CAST(COALESCE(SUM(l.received), 0) AS BIGINT) AS received, \
         CAST(COALESCE(SUM(l.damaged), 0) AS BIGINT) AS damaged \
         FROM purchase_orders p JOIN warehouses w ON w.id = p.warehouse_id \
         LEFT JOIN purchase_order_lines l ON l.po_id = p.id \
         WHERE ($1 = '' OR p.status = $1) AND ($2 = '' OR p.id < $2) \
         GROUP BY p.id, p.number, p.supplier, w.code, p.status, p.expected_on, p.note, p.created_at, p.updated_at \
         ORDER BY p.id DESC LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(status.map_or("", |s| s.as_str()))
        .bind(after.map_or("", |a| a.as_str()))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(PoSummary {
                po: po_from(r, Vec::new())?,
                lines: r.try_get("n")?,
                ordered: r.try_get("ordered")?,
                received: r.try_get("received")?,
                damaged: r.try_get("damaged")?,
            })
        })
        .collect()
}

/// Moves a purchase order from `from` to `to`; false when it was no longer in `from`.
pub async fn set_po_status(
    conn: &mut AnyConnection,
    id: &PurchaseOrderId,
    from: PoStatus,
    to: PoStatus,
    at: OffsetDateTime,
) -> Result<bool> {
    let r = sqlx::query("UPDATE purchase_orders SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
        .bind(to.as_str())
        .bind(micros(at))
        .bind(id.as_str())
        .bind(from.as_str())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Adds what one ASN counted to its purchase order's lines; a SKU the order did not have gets a line with what
/// arrived as its ordered quantity, so the order's totals stay whole.
pub async fn add_po_counts(
    conn: &mut AnyConnection,
    po: &PurchaseOrderId,
    product: &ProductId,
    good: i64,
    damaged: i64,
) -> Result<()> {
    let r = sqlx::query(
        "UPDATE purchase_order_lines SET received = received + $1, damaged = damaged + $2 \
         WHERE po_id = $3 AND product_id = $4",
    )
    .bind(good)
    .bind(damaged)
    .bind(po.as_str())
    .bind(product.as_str())
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 && good + damaged > 0 {
        sqlx::query(
            "INSERT INTO purchase_order_lines (po_id, product_id, ordered, received, damaged) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(po.as_str())
        .bind(product.as_str())
        .bind(good + damaged)
        .bind(good)
        .bind(damaged)
        .execute(conn)
        .await?;
    }
    Ok(())
}

const ASN_COLUMNS: &str = "a.id, a.reference, a.po_id, p.number AS po_number, w.code AS warehouse, a.status, \
                           a.tracking, a.expected_on, a.created_at, a.updated_at, a.received_at";
const ASN_FROM: &str = "asns a JOIN purchase_orders p ON p.id = a.po_id JOIN warehouses w ON w.id = p.warehouse_id";

fn asn_from(r: &AnyRow, lines: Vec<AsnLine>) -> Result<Asn> {
    let status: String = r.try_get("status")?;
    Ok(Asn {
        id: AsnId::parse(&r.try_get::<String, _>("id")?)?,
        reference: AsnRef::parse(&r.try_get::<String, _>("reference")?)?,
        po: PurchaseOrderId::parse(&r.try_get::<String, _>("po_id")?)?,
        po_number: PoNumber::parse(&r.try_get::<String, _>("po_number")?)?,
        warehouse: WarehouseCode::parse(&r.try_get::<String, _>("warehouse")?)?,
        status: AsnStatus::parse(&status).ok_or_else(|| Error::Corrupt(format!("ASN status {status:?}")))?,
        tracking: r.try_get("tracking")?,
        expected_on: day_of(r, "expected_on")?,
        lines,
        created_at: from_micros(r.try_get("created_at")?),
        updated_at: from_micros(r.try_get("updated_at")?),
        received_at: r.try_get::<Option<i64>, _>("received_at")?.map(from_micros),
    })
}

pub async fn insert_asn(conn: &mut AnyConnection, asn: &Asn) -> Result<()> {
    sqlx::query(
        "INSERT INTO asns (id, reference, po_id, status, tracking, expected_on, created_at, updated_at, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)",
    )
    .bind(asn.id.as_str())
    .bind(asn.reference.as_str())
    .bind(asn.po.as_str())
    .bind(asn.status.as_str())
    .bind(asn.tracking.as_deref())
    .bind(day_text(asn.expected_on))
    .bind(micros(asn.created_at))
    .bind(micros(asn.updated_at))
    .execute(&mut *conn)
    .await?;
    for l in &asn.lines {
        sqlx::query(
            "INSERT INTO asn_lines (asn_id, product_id, expected, good, damaged, bin) VALUES ($1, $2, $3, 0, 0, NULL)",
        )
        .bind(asn.id.as_str())
        .bind(l.product.as_str())
        .bind(l.expected)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn asn_lines(conn: &mut AnyConnection, id: &str) -> Result<Vec<AsnLine>> {
    let rows = sqlx::query(
        "SELECT l.product_id, p.sku, l.expected, l.good, l.damaged, l.bin FROM asn_lines l \
         JOIN products p ON p.id = l.product_id WHERE l.asn_id = $1 ORDER BY p.sku",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AsnLine {
                product: ProductId::parse(&r.try_get::<String, _>("product_id")?)?,
                sku: Sku::parse(&r.try_get::<String, _>("sku")?)?,
                expected: r.try_get("expected")?,
                good: r.try_get("good")?,
                damaged: r.try_get("damaged")?,
                bin: r.try_get::<Option<String>, _>("bin")?.map(|b| BinLocation::parse(&b)).transpose()?,
            })
        })
        .collect()
}

async fn asn_where(conn: &mut AnyConnection, column: &str, value: &str) -> Result<Option<Asn>> {
    let sql = format!("SELECT {ASN_COLUMNS} FROM {ASN_FROM} WHERE a.{column} = $1");
    let Some(row) = sqlx::query(&sql).bind(value).fetch_optional(&mut *conn).await? else { return Ok(None) };
    let id: String = row.try_get("id")?;
    let lines = asn_lines(conn, &id).await?;
    asn_from(&row, lines).map(Some)
}

pub async fn asn(conn: &mut AnyConnection, id: &AsnId) -> Result<Option<Asn>> {
    asn_where(conn, "id", id.as_str()).await
}

pub async fn asn_by_ref(conn: &mut AnyConnection, reference: &AsnRef) -> Result<Option<Asn>> {
    asn_where(conn, "reference", reference.as_str()).await
}

/// A purchase order's ASNs, oldest first, with their lines.
pub async fn asns_of_po(conn: &mut AnyConnection, po: &PurchaseOrderId) -> Result<Vec<Asn>> {
    let sql = format!("SELECT {ASN_COLUMNS} FROM {ASN_FROM} WHERE a.po_id = $1 ORDER BY a.id");
    let rows = sqlx::query(&sql).bind(po.as_str()).fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: String = r.try_get("id")?;
        let lines = asn_lines(conn, &id).await?;
        out.push(asn_from(r, lines)?);
    }
    Ok(out)
}

/// ASNs still to receive (expected or receiving), oldest expected day first, without their lines.
pub async fn open_asns(conn: &mut AnyConnection, warehouse: Option<&WarehouseCode>, limit: i64) -> Result<Vec<Asn>> {
    let sql = format!(
        "SELECT {ASN_COLUMNS} FROM {ASN_FROM} WHERE a.status IN ('expected', 'receiving') \
         AND ($1 = '' OR w.code = $1) ORDER BY COALESCE(a.expected_on, '9999'), a.id LIMIT $2"
    );
    let rows = sqlx::query(&sql).bind(warehouse.map_or("", |w| w.as_str())).bind(limit).fetch_all(conn).await?;
    rows.iter().map(|r| asn_from(r, Vec::new())).collect()
}

/// Changes one SKU's count on an ASN by `good` and `damaged` (either may be negative, to take a count back);
/// a SKU the notice did not name gets a line announced as zero. False when a count would fall below zero.
pub async fn count(
    conn: &mut AnyConnection,
    asn: &AsnId,
    product: &ProductId,
    good: i64,
    damaged: i64,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE asn_lines SET good = good + $1, damaged = damaged + $2 \
         WHERE asn_id = $3 AND product_id = $4 AND good + $1 >= 0 AND damaged + $2 >= 0",
    )
    .bind(good)
    .bind(damaged)
    .bind(asn.as_str())
    .bind(product.as_str())
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 1 {
        return Ok(true);
    }
    if good < 0 || damaged < 0 {
        return Ok(false);
    }
    let r = sqlx::query(
        "INSERT INTO asn_lines (asn_id, product_id, expected, good, damaged, bin) VALUES ($1, $2, 0, $3, $4, NULL) \
         ON CONFLICT (asn_id, product_id) DO NOTHING",
    )
    .bind(asn.as_str())
    .bind(product.as_str())
    .bind(good)
    .bind(damaged)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn set_bin(
    conn: &mut AnyConnection,
    asn: &AsnId,
    product: &ProductId,
    bin: Option<&BinLocation>,
) -> Result<()> {
    sqlx::query("UPDATE asn_lines SET bin = $1 WHERE asn_id = $2 AND product_id = $3")
        .bind(bin.map(|b| b.as_str()))
        .bind(asn.as_str())
        .bind(product.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves an ASN from one of `from` to `to`; false when it was in none of them.
pub async fn set_asn_status(
    conn: &mut AnyConnection,
    id: &AsnId,
    from: &[AsnStatus],
    to: AsnStatus,
    at: OffsetDateTime,
) -> Result<bool> {
    // The statuses are the enum's own words, never input: written into the statement as a list.
    let from: Vec<String> = from.iter().map(|f| format!("'{}'", f.as_str())).collect();
    let received = (to == AsnStatus::Received).then(|| micros(at));
    let sql = format!(
        "UPDATE asns SET status = $1, updated_at = $2, received_at = COALESCE($3, received_at) \
         WHERE id = $4 AND status IN ({})",
        from.join(", ")
    );
    let r = sqlx::query(&sql).bind(to.as_str()).bind(micros(at)).bind(received).bind(id.as_str()).execute(conn).await?;
    Ok(r.rows_affected() == 1)
}

/// Adds good units to the stock of a warehouse (a row is made when the SKU had none there). Returns the count
/// before and after, read from the write itself so a concurrent change cannot slip between.
pub async fn add_stock(
    conn: &mut AnyConnection,
    warehouse: &WarehouseId,
    product: &ProductId,
    units: i64,
    at: OffsetDateTime,
) -> Result<(i64, i64)> {
    let after: i64 = sqlx::query_scalar(
        "INSERT INTO stock (warehouse_id, product_id, on_hand, reserved, updated_at) VALUES ($1, $2, $3, 0, $4) \
         ON CONFLICT (warehouse_id, product_id) DO UPDATE SET on_hand = stock.on_hand + excluded.on_hand, \
         updated_at = excluded.updated_at RETURNING on_hand",
    )
    .bind(warehouse.as_str())
    .bind(product.as_str())
    .bind(units)
    .bind(micros(at))
    .fetch_one(conn)
    .await?;
    Ok((after - units, after))
}
