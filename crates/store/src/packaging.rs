//! Each warehouse's boxes and each product's packing size.

use std::collections::HashMap;

use codflow_domain::packaging::{BoxKind, BoxType, DamageCount, PackingAttrs};
use codflow_domain::{Currency, Money, PackId, Sku, WarehouseCode};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::db::micros;
use crate::{Error, Result};

const BOX_COLS: &str =
    "code, kind, length_mm, width_mm, height_mm, empty_weight_g, cost_minor, cost_currency, max_load_g";

fn box_of(r: &AnyRow) -> Result<BoxType> {
    let kind: String = r.try_get("kind")?;
    let currency: String = r.try_get("cost_currency")?;
    Ok(BoxType {
        code: r.try_get("code")?,
        kind: BoxKind::parse(&kind).map_err(|_| Error::Corrupt(format!("box kind {kind:?}")))?,
        inner_mm: [r.try_get("length_mm")?, r.try_get("width_mm")?, r.try_get("height_mm")?],
        empty_weight_g: r.try_get("empty_weight_g")?,
        cost: Money::new(r.try_get("cost_minor")?, Currency::parse(&currency)?),
        max_load_g: r.try_get("max_load_g")?,
    })
}

/// A warehouse's boxes, by code.
pub async fn boxes(conn: &mut AnyConnection, warehouse: &WarehouseCode) -> Result<Vec<BoxType>> {
    let rows = sqlx::query(&format!("SELECT {BOX_COLS} FROM boxes WHERE warehouse = $1 ORDER BY code"))
        .bind(warehouse.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(box_of).collect()
}

/// Adds or replaces a box; true when it is new.
pub async fn put_box(
    conn: &mut AnyConnection,
    warehouse: &WarehouseCode,
    b: &BoxType,
    at: OffsetDateTime,
) -> Result<bool> {
    let existed = sqlx::query("SELECT 1 FROM boxes WHERE warehouse = $1 AND code = $2")
        .bind(warehouse.as_str())
        .bind(&b.code)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    sqlx::query(&format!(
        "INSERT INTO boxes (warehouse, {BOX_COLS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (warehouse, code) DO UPDATE SET kind = excluded.kind, length_mm = excluded.length_mm, \
         width_mm = excluded.width_mm, height_mm = excluded.height_mm, empty_weight_g = excluded.empty_weight_g, \
         cost_minor = excluded.cost_minor, cost_currency = excluded.cost_currency, max_load_g = excluded.max_load_g, \
         updated_at = excluded.updated_at"
    ))
    .bind(warehouse.as_str())
    .bind(&b.code)
    .bind(b.kind.as_str())
    .bind(b.inner_mm[0])
    .bind(b.inner_mm[1])
    .bind(b.inner_mm[2])
    .bind(b.empty_weight_g)
    .bind(b.cost.minor)
    .bind(b.cost.currency.code())
    .bind(b.max_load_g)
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(!existed)
}

pub async fn delete_box(conn: &mut AnyConnection, warehouse: &WarehouseCode, code: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM boxes WHERE warehouse = $1 AND code = $2")
        .bind(warehouse.as_str())
        .bind(code)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

fn attrs_of(r: &AnyRow) -> Result<PackingAttrs> {
    Ok(PackingAttrs {
        dims_mm: [r.try_get("length_mm")?, r.try_get("width_mm")?, r.try_get("height_mm")?],
        fragile: r.try_get::<i64, _>("fragile")? != 0,
        keep_upright: r.try_get::<i64, _>("keep_upright")? != 0,
        can_bag: r.try_get::<i64, _>("can_bag")? != 0,
    })
}

/// How the given products pack, for those whose packing is known.
pub async fn packing(conn: &mut AnyConnection, skus: &[&Sku]) -> Result<HashMap<Sku, PackingAttrs>> {
    let mut out = HashMap::with_capacity(skus.len());
    for chunk in crate::db::pow2_chunks(skus, 512) {
        let q = format!(
            "SELECT sku, length_mm, width_mm, height_mm, fragile, keep_upright, can_bag FROM product_packing \
             WHERE sku IN ({})",
            crate::params(conn, 0, chunk.len())
        );
        let mut query = sqlx::query(&q);
        for s in chunk {
            query = query.bind(s.as_str());
        }
        for r in query.fetch_all(&mut *conn).await? {
            out.insert(Sku::parse(&r.try_get::<String, _>("sku")?)?, attrs_of(&r)?);
        }
    }
    Ok(out)
}

pub async fn put_packing(conn: &mut AnyConnection, sku: &Sku, a: &PackingAttrs, at: OffsetDateTime) -> Result<()> {
    sqlx::query(
        "INSERT INTO product_packing (sku, length_mm, width_mm, height_mm, fragile, keep_upright, can_bag, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (sku) DO UPDATE SET length_mm = excluded.length_mm, \
         width_mm = excluded.width_mm, height_mm = excluded.height_mm, fragile = excluded.fragile, \
         keep_upright = excluded.keep_upright, can_bag = excluded.can_bag, updated_at = excluded.updated_at",
    )
    .bind(sku.as_str())
    .bind(a.dims_mm[0])
    .bind(a.dims_mm[1])
    .bind(a.dims_mm[2])
    .bind(i64::from(a.fragile))
    .bind(i64::from(a.keep_upright))
    .bind(i64::from(a.can_bag))
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps the box a parcel was recommended at weighing: its kind, and every box's code.
pub async fn set_pack_box(conn: &mut AnyConnection, pack: &PackId, kind: BoxKind, codes: &str) -> Result<()> {
    sqlx::query("UPDATE packs SET box_kind = $1, box_codes = $2 WHERE id = $3")
        .bind(kind.as_str())
        .bind(codes)
        .bind(pack.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Parcels packed since `since` per box kind and per kind × product category, and how many came to harm: a
/// return line graded damaged (counted for that product's category) or a damage claim (for every category in
/// the parcel). A parcel counts once however many of its units were damaged.
pub async fn damage_counts(conn: &mut AnyConnection, since: OffsetDateTime) -> Result<Vec<DamageCount>> {
    const PACKED: &str = "p.box_kind IS NOT NULL AND p.status = 'packed' AND p.created_at >= $1";
    let harmed = "SELECT r.order_id, rl.product_id FROM returns r JOIN return_lines rl ON rl.return_id = r.id \
                  WHERE rl.grade = 'damaged' \
                  UNION SELECT c.order_id, l.product_id FROM claims c JOIN order_lines l ON l.order_id = c.order_id \
                  WHERE c.reason IN ('damaged', 'return_damaged')";
    let by_category = format!(
        "SELECT p.box_kind AS kind, pr.category AS category, COUNT(DISTINCT p.id) AS parcels, \
         COUNT(DISTINCT h.order_id) AS damaged \
         FROM packs p JOIN order_lines l ON l.order_id = p.order_id JOIN products pr ON pr.id = l.product_id \
         LEFT JOIN ({harmed}) h ON h.order_id = p.order_id AND h.product_id = l.product_id \
         WHERE {PACKED} AND pr.category IS NOT NULL GROUP BY p.box_kind, pr.category"
    );
    let by_kind = format!(
        "SELECT p.box_kind AS kind, COUNT(*) AS parcels, \
         CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM ({harmed}) h WHERE h.order_id = p.order_id) THEN 1 ELSE 0 END) \
         AS BIGINT) AS damaged \
         FROM packs p WHERE {PACKED} GROUP BY p.box_kind"
    );
    let at = micros(since);
    let mut out = Vec::new();
    for (sql, with_category) in [(by_kind, false), (by_category, true)] {
        for r in sqlx::query(&sql).bind(at).fetch_all(&mut *conn).await? {
            let kind: String = r.try_get("kind")?;
            let Ok(kind) = BoxKind::parse(&kind) else { continue };
            let damaged: Option<i64> = r.try_get("damaged")?;
            out.push(DamageCount {
                kind,
                category: if with_category { r.try_get("category")? } else { None },
                parcels: r.try_get("parcels")?,
                damaged: damaged.unwrap_or(0),
            });
        }
    }
    Ok(out)
}
