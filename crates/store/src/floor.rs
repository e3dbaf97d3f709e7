//! The warehouse floor: product barcodes, pack stations, packs and scale readings.

use codflow_domain::floor::{
    Bag, BagStatus, Barcode, Measure, Outcome, Pack, PackStatus, PrinterAddr, Reading, ReadingSource, Station,
    Verification, Wave,
};
use codflow_domain::{
    BagId, ChannelCode, Country, HandoverId, OrderId, PackId, Product, ProductId, ShipmentId, StationCode, TaskId,
    WarehouseCode, WarehouseId, WaveId,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::db::{from_micros, micros};
use crate::{Error, Result};

/// The product this code is on.
pub async fn product_by_barcode(conn: &mut AnyConnection, code: &str) -> Result<Option<Product>> {
    let row = sqlx::query(
        "SELECT p.id, p.sku, p.title, p.unit_weight_g, p.unit_cost_minor, p.unit_cost_currency, p.hs_code, \
         p.origin_country, p.category FROM product_barcodes b JOIN products p ON p.id = b.product_id WHERE b.code = $1",
    )
    .bind(code)
    .fetch_optional(conn)
    .await?;
    row.map(|r| crate::catalogue::product_from(&r)).transpose()
}

pub async fn barcodes_of(conn: &mut AnyConnection, product: &ProductId) -> Result<Vec<Barcode>> {
    let rows = sqlx::query("SELECT code FROM product_barcodes WHERE product_id = $1 ORDER BY code")
        .bind(product.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| Ok(Barcode::parse(&r.try_get::<String, _>("code")?)?)).collect()
}

/// The product a code already belongs to, when it is another one.
pub async fn barcode_owner(conn: &mut AnyConnection, code: &Barcode) -> Result<Option<ProductId>> {
    let row = sqlx::query("SELECT product_id FROM product_barcodes WHERE code = $1")
        .bind(code.as_str())
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok(ProductId::parse(&r.try_get::<String, _>("product_id")?)?)).transpose()
}

/// Makes `codes` the product's whole set of barcodes. The caller has checked none belongs to another product.
pub async fn set_barcodes(
    conn: &mut AnyConnection,
    product: &ProductId,
    codes: &[Barcode],
    at: OffsetDateTime,
) -> Result<()> {
    sqlx::query("DELETE FROM product_barcodes WHERE product_id = $1")
        .bind(product.as_str())
        .execute(&mut *conn)
        .await?;
    for c in codes {
        sqlx::query("INSERT INTO product_barcodes (code, product_id, created_at) VALUES ($1, $2, $3)")
            .bind(c.as_str())
            .bind(product.as_str())
            .bind(micros(at))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

fn station_from(r: &AnyRow) -> Result<Station> {
    Ok(Station {
        code: StationCode::parse(&r.try_get::<String, _>("code")?)?,
        name: r.try_get("name")?,
        warehouse: WarehouseCode::parse(&r.try_get::<String, _>("warehouse")?)?,
        printer: r.try_get::<Option<String>, _>("printer")?.map(|p| PrinterAddr::parse(&p)).transpose()?,
        has_token: r.try_get::<Option<String>, _>("token_hash")?.is_some(),
        created_at: from_micros(r.try_get("created_at")?),
        updated_at: from_micros(r.try_get("updated_at")?),
    })
}

pub async fn station(conn: &mut AnyConnection, code: &StationCode) -> Result<Option<Station>> {
    sqlx::query(
        "SELECT code, name, warehouse, printer, token_hash, created_at, updated_at FROM stations WHERE code = $1",
    )
    .bind(code.as_str())
    .fetch_optional(conn)
    .await?
    .map(|r| station_from(&r))
    .transpose()
}

pub async fn stations(conn: &mut AnyConnection) -> Result<Vec<Station>> {
    sqlx::query("SELECT code, name, warehouse, printer, token_hash, created_at, updated_at FROM stations ORDER BY code")
        .fetch_all(conn)
        .await?
        .iter()
        .map(station_from)
        .collect()
}

/// The station whose device token hashes to this.
pub async fn station_by_token(conn: &mut AnyConnection, token_hash: &str) -> Result<Option<Station>> {
    sqlx::query(
        "SELECT code, name, warehouse, printer, token_hash, created_at, updated_at FROM stations WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?
    .map(|r| station_from(&r))
    .transpose()
}

/// Creates or changes a station; its device token is left as it is. True when it was created.
pub async fn put_station(conn: &mut AnyConnection, s: &Station) -> Result<bool> {
    let changed =
        sqlx::query("UPDATE stations SET name = $1, warehouse = $2, printer = $3, updated_at = $4 WHERE code = $5")
            .bind(&s.name)
            .bind(s.warehouse.as_str())
            .bind(s.printer.as_ref().map(|p| p.as_str()))
            .bind(micros(s.updated_at))
            .bind(s.code.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if changed == 1 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO stations (code, name, warehouse, printer, token_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, NULL, $5, $6)",
    )
    .bind(s.code.as_str())
    .bind(&s.name)
    .bind(s.warehouse.as_str())
    .bind(s.printer.as_ref().map(|p| p.as_str()))
    .bind(micros(s.created_at))
    .bind(micros(s.updated_at))
    .execute(conn)
    .await?;
    Ok(true)
}

pub async fn set_station_token(
    conn: &mut AnyConnection,
    code: &StationCode,
    hash: Option<&str>,
    at: OffsetDateTime,
) -> Result<bool> {
    Ok(sqlx::query("UPDATE stations SET token_hash = $1, updated_at = $2 WHERE code = $3")
        .bind(hash)
        .bind(micros(at))
        .bind(code.as_str())
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

const PACK_COLS: &str = "id, order_id, shipment_id, station, status, verification, overridden_by, weight_g, length_cm, \
     width_cm, height_cm, reading_source, outcome, evidence, task_id, packed_by, printed_at, created_at, updated_at";

fn pack_from(r: &AnyRow) -> Result<Pack> {
    let status: String = r.try_get("status")?;
    let verification: String = r.try_get("verification")?;
    let weight: Option<i64> = r.try_get("weight_g")?;
    let dims = [r.try_get("length_cm")?, r.try_get("width_cm")?, r.try_get("height_cm")?];
    let source: Option<String> = r.try_get("reading_source")?;
    let outcome: Option<String> = r.try_get("outcome")?;
    Ok(Pack {
        id: PackId::parse(&r.try_get::<String, _>("id")?)?,
        order_id: OrderId::parse(&r.try_get::<String, _>("order_id")?)?,
        shipment_id: ShipmentId::parse(&r.try_get::<String, _>("shipment_id")?)?,
        station: StationCode::parse(&r.try_get::<String, _>("station")?)?,
        status: PackStatus::parse(&status).ok_or_else(|| Error::Corrupt(format!("pack status {status:?}")))?,
        verification: serde_json::from_str::<Verification>(&verification)
            .map_err(|e| Error::Corrupt(format!("pack verification: {e}")))?,
        overridden_by: r.try_get("overridden_by")?,
        measure: weight.map(|w| Measure::parse(w, dims)).transpose()?,
        source: source
            .map(|s| ReadingSource::parse(&s).ok_or_else(|| Error::Corrupt(format!("reading source {s:?}"))))
            .transpose()?,
        outcome: outcome
            .map(|s| Outcome::parse(&s).ok_or_else(|| Error::Corrupt(format!("pack outcome {s:?}"))))
            .transpose()?,
        evidence: r.try_get("evidence")?,
        task_id: r.try_get::<Option<String>, _>("task_id")?.map(|t| TaskId::parse(&t)).transpose()?,
        packed_by: r.try_get("packed_by")?,
        printed_at: r.try_get::<Option<i64>, _>("printed_at")?.map(from_micros),
        created_at: from_micros(r.try_get("created_at")?),
        updated_at: from_micros(r.try_get("updated_at")?),
    })
}

/// The pack row's values in `PACK_COLS` order, for insert and update alike.
fn bind_pack<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    p: &'q Pack,
) -> Result<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>> {
    let dims = p.measure.and_then(|m| m.dims_cm);
    let verification = serde_json::to_string(&p.verification).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok(q.bind(p.id.as_str())
        .bind(p.order_id.as_str())
        .bind(p.shipment_id.as_str())
        .bind(p.station.as_str())
        .bind(p.status.as_str())
        .bind(verification)
        .bind(p.overridden_by.as_deref())
        .bind(p.measure.map(|m| m.weight_g))
        .bind(dims.map(|d| d[0]))
        .bind(dims.map(|d| d[1]))
        .bind(dims.map(|d| d[2]))
        .bind(p.source.map(|s| s.as_str()))
        .bind(p.outcome.map(|o| o.as_str()))
        .bind(p.evidence.as_deref())
        .bind(p.task_id.as_ref().map(|t| t.as_str()))
        .bind(p.packed_by.as_str())
        .bind(p.printed_at.map(micros))
        .bind(micros(p.created_at))
        .bind(micros(p.updated_at)))
}

/// Inserts a pack; false when the order already has one (another scan opened it meanwhile).
pub async fn insert_pack(conn: &mut AnyConnection, p: &Pack) -> Result<bool> {
    let q = sqlx::query(
        "INSERT INTO packs (id, order_id, shipment_id, station, status, verification, overridden_by, weight_g, \
         length_cm, width_cm, height_cm, reading_source, outcome, evidence, task_id, packed_by, printed_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $19) ON CONFLICT (order_id) DO NOTHING",
    );
    Ok(bind_pack(q, p)?.execute(conn).await?.rows_affected() == 1)
}

/// Writes a pack back, only if it still has the `updated_at` it was read with: two stations acting on one
/// parcel at once cannot both win. False when it had moved.
pub async fn update_pack(conn: &mut AnyConnection, p: &Pack, read_at: OffsetDateTime) -> Result<bool> {
    let q = sqlx::query(
        "UPDATE packs SET id = $1, order_id = $2, shipment_id = $3, station = $4, status = $5, verification = $6, \
         overridden_by = $7, weight_g = $8, length_cm = $9, width_cm = $10, height_cm = $11, reading_source = $12, \
         outcome = $13, evidence = $14, task_id = $15, packed_by = $16, printed_at = $17, created_at = $18, \
         updated_at = $19 WHERE id = $20 AND updated_at = $21",
    );
    Ok(bind_pack(q, p)?.bind(p.id.as_str()).bind(micros(read_at)).execute(conn).await?.rows_affected() == 1)
}

/// The pack whose `column` (one of its id columns, named by the callers below) holds `value`.
async fn pack_where(conn: &mut AnyConnection, column: &'static str, value: &str) -> Result<Option<Pack>> {
    sqlx::query(&format!("SELECT {PACK_COLS} FROM packs WHERE {column} = $1"))
        .bind(value)
        .fetch_optional(conn)
        .await?
        .map(|r| pack_from(&r))
        .transpose()
}

pub async fn pack(conn: &mut AnyConnection, id: &PackId) -> Result<Option<Pack>> {
    pack_where(conn, "id", id.as_str()).await
}

pub async fn pack_of_order(conn: &mut AnyConnection, order: &OrderId) -> Result<Option<Pack>> {
    pack_where(conn, "order_id", order.as_str()).await
}

pub async fn pack_of_shipment(conn: &mut AnyConnection, shipment: &ShipmentId) -> Result<Option<Pack>> {
    pack_where(conn, "shipment_id", shipment.as_str()).await
}

/// Packs, newest first: of one station and/or in one status when given.
pub async fn packs(
    conn: &mut AnyConnection,
    station: Option<&StationCode>,
    status: Option<PackStatus>,
    limit: i64,
) -> Result<Vec<Pack>> {
    sqlx::query(&format!(
        "SELECT {PACK_COLS} FROM packs WHERE ($1 = '' OR station = $1) AND ($2 = '' OR status = $2) \
         ORDER BY updated_at DESC, id DESC LIMIT $3"
    ))
    .bind(station.map(|s| s.as_str()).unwrap_or(""))
    .bind(status.map(|s| s.as_str()).unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(pack_from)
    .collect()
}

pub async fn insert_reading(conn: &mut AnyConnection, r: &Reading) -> Result<()> {
    let dims = r.measure.dims_cm;
    sqlx::query(
        "INSERT INTO scale_readings (id, station, waybill, weight_g, length_cm, width_cm, height_cm, stable, source, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&r.id)
    .bind(r.station.as_str())
    .bind(r.waybill.as_deref())
    .bind(r.measure.weight_g)
    .bind(dims.map(|d| d[0]))
    .bind(dims.map(|d| d[1]))
    .bind(dims.map(|d| d[2]))
    .bind(r.stable as i64)
    .bind(r.source.as_str())
    .bind(micros(r.at))
    .execute(conn)
    .await?;
    Ok(())
}

fn reading_from(r: &AnyRow) -> Result<Reading> {
    let source: String = r.try_get("source")?;
    let dims = [r.try_get("length_cm")?, r.try_get("width_cm")?, r.try_get("height_cm")?];
    Ok(Reading {
        id: r.try_get("id")?,
        station: StationCode::parse(&r.try_get::<String, _>("station")?)?,
        waybill: r.try_get("waybill")?,
        measure: Measure::parse(r.try_get("weight_g")?, dims)?,
        stable: r.try_get::<i64, _>("stable")? != 0,
        source: ReadingSource::parse(&source).ok_or_else(|| Error::Corrupt(format!("reading source {source:?}")))?,
        at: from_micros(r.try_get("at")?),
    })
}

/// The station's newest reading at or after `since`.
pub async fn latest_reading(
    conn: &mut AnyConnection,
    station: &StationCode,
    since: OffsetDateTime,
) -> Result<Option<Reading>> {
    sqlx::query(
        "SELECT id, station, waybill, weight_g, length_cm, width_cm, height_cm, stable, source, at FROM scale_readings \
         WHERE station = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT 1",
    )
    .bind(station.as_str())
    .bind(micros(since))
    .fetch_optional(conn)
    .await?
    .map(|r| reading_from(&r))
    .transpose()
}

/// The newest reading a device sent for this waybill (a DWS names the parcel it measured).
pub async fn reading_for_waybill(conn: &mut AnyConnection, waybill: &str) -> Result<Option<Reading>> {
    sqlx::query(
        "SELECT id, station, waybill, weight_g, length_cm, width_cm, height_cm, stable, source, at FROM scale_readings \
         WHERE waybill = $1 ORDER BY at DESC, id DESC LIMIT 1",
    )
    .bind(waybill)
    .fetch_optional(conn)
    .await?
    .map(|r| reading_from(&r))
    .transpose()
}

/// Orders whose shop order number is this, in any shop (at most `limit`).
pub async fn orders_by_external(conn: &mut AnyConnection, external_id: &str, limit: i64) -> Result<Vec<OrderId>> {
    let rows = sqlx::query("SELECT id FROM orders WHERE external_id = $1 ORDER BY id LIMIT $2")
        .bind(external_id)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| Ok(OrderId::parse(&r.try_get::<String, _>("id")?)?)).collect()
}

fn wave_from(r: &AnyRow) -> Result<Wave> {
    Ok(Wave {
        id: WaveId::parse(&r.try_get::<String, _>("id")?)?,
        code: r.try_get("code")?,
        warehouse: WarehouseCode::parse(&r.try_get::<String, _>("warehouse")?)?,
        channel: r.try_get::<Option<String>, _>("channel")?.map(|c| ChannelCode::parse(&c)).transpose()?,
        created_by: r.try_get("created_by")?,
        created_at: from_micros(r.try_get("created_at")?),
    })
}

/// Allocated orders of a warehouse (on one of `channels`, any when empty) in no wave and not packed, oldest
/// first. Channel codes hold no comma, so the list travels as one bound text both engines search alike.
pub async fn wave_candidates(
    conn: &mut AnyConnection,
    warehouse: &WarehouseId,
    channels: &[ChannelCode],
    limit: i64,
) -> Result<Vec<OrderId>> {
    let list = channels.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",");
    let rows = sqlx::query(
        "SELECT o.id FROM orders o WHERE o.status = 'allocated' AND o.warehouse_id = $1 \
         AND ($2 = '' OR (',' || $2 || ',') LIKE ('%,' || o.channel || ',%')) \
         AND NOT EXISTS (SELECT 1 FROM wave_orders w WHERE w.order_id = o.id) \
         AND NOT EXISTS (SELECT 1 FROM packs p WHERE p.order_id = o.id) ORDER BY o.id LIMIT $3",
    )
    .bind(warehouse.as_str())
    .bind(list)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok(OrderId::parse(&r.try_get::<String, _>("id")?)?)).collect()
}

/// The next number of a counter (`wave`, `bag`); the row stays locked until the transaction ends.
async fn next_number(conn: &mut AnyConnection, name: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("UPDATE counters SET n = n + 1 WHERE name = $1 RETURNING n")
        .bind(name)
        .fetch_one(conn)
        .await?)
}

/// The next wave code: `W` and six digits.
pub async fn next_wave_code(conn: &mut AnyConnection) -> Result<String> {
    Ok(format!("W{:06}", next_number(conn, "wave").await?))
}

/// Inserts a wave and its orders (with their slots, in picking order). False when one of the orders was put in
/// another wave meanwhile (the caller rolls back).
pub async fn insert_wave(conn: &mut AnyConnection, w: &Wave, orders: &[(OrderId, Option<i64>)]) -> Result<bool> {
    sqlx::query(
        "INSERT INTO waves (id, code, warehouse, channel, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(w.id.as_str())
    .bind(&w.code)
    .bind(w.warehouse.as_str())
    .bind(w.channel.as_ref().map(|c| c.as_str()))
    .bind(&w.created_by)
    .bind(micros(w.created_at))
    .execute(&mut *conn)
    .await?;
    for (i, (order, slot)) in orders.iter().enumerate() {
        let n = sqlx::query(
            "INSERT INTO wave_orders (wave_id, order_id, slot, position) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(w.id.as_str())
        .bind(order.as_str())
        .bind(*slot)
        .bind(i as i64)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

pub async fn wave(conn: &mut AnyConnection, id: &WaveId) -> Result<Option<Wave>> {
    sqlx::query("SELECT id, code, warehouse, channel, created_by, created_at FROM waves WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .map(|r| wave_from(&r))
        .transpose()
}

pub async fn wave_by_code(conn: &mut AnyConnection, code: &str) -> Result<Option<Wave>> {
    sqlx::query("SELECT id, code, warehouse, channel, created_by, created_at FROM waves WHERE code = $1")
        .bind(code)
        .fetch_optional(conn)
        .await?
        .map(|r| wave_from(&r))
        .transpose()
}

/// Waves, newest first.
pub async fn waves(conn: &mut AnyConnection, limit: i64) -> Result<Vec<Wave>> {
    sqlx::query("SELECT id, code, warehouse, channel, created_by, created_at FROM waves ORDER BY id DESC LIMIT $1")
        .bind(limit)
        .fetch_all(conn)
        .await?
        .iter()
        .map(wave_from)
        .collect()
}

/// A wave's orders in picking order, each with its slot and its pack's status when it has been packed.
pub async fn wave_orders(
    conn: &mut AnyConnection,
    id: &WaveId,
) -> Result<Vec<(OrderId, Option<i64>, Option<PackStatus>)>> {
    let rows = sqlx::query(
        "SELECT w.order_id, w.slot, p.status FROM wave_orders w LEFT JOIN packs p ON p.order_id = w.order_id \
         WHERE w.wave_id = $1 ORDER BY w.position",
    )
    .bind(id.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let status: Option<String> = r.try_get("status")?;
            Ok((
                OrderId::parse(&r.try_get::<String, _>("order_id")?)?,
                r.try_get("slot")?,
                status
                    .map(|s| PackStatus::parse(&s).ok_or_else(|| Error::Corrupt(format!("pack status {s:?}"))))
                    .transpose()?,
            ))
        })
        .collect()
}

const BAG_COLS: &str = "b.id, b.code, b.warehouse, b.carrier, b.channel, b.country, b.status, b.handover_id, b.created_at, \
     b.closed_at, b.handed_at, b.carrier_ref, (SELECT COUNT(*) FROM bag_parcels x WHERE x.bag_id = b.id) AS parcels, \
     CAST((SELECT COALESCE(SUM(x.weight_g), 0) FROM bag_parcels x WHERE x.bag_id = b.id) AS BIGINT) AS weight_g";

fn bag_from(r: &AnyRow) -> Result<Bag> {
    let status: String = r.try_get("status")?;
    Ok(Bag {
        id: BagId::parse(&r.try_get::<String, _>("id")?)?,
        code: r.try_get("code")?,
        warehouse: WarehouseCode::parse(&r.try_get::<String, _>("warehouse")?)?,
        carrier: r.try_get("carrier")?,
        channel: ChannelCode::parse(&r.try_get::<String, _>("channel")?)?,
        country: Country::parse(&r.try_get::<String, _>("country")?)?,
        status: BagStatus::parse(&status).ok_or_else(|| Error::Corrupt(format!("bag status {status:?}")))?,
        handover: r.try_get::<Option<String>, _>("handover_id")?.map(|h| HandoverId::parse(&h)).transpose()?,
        parcels: r.try_get("parcels")?,
        weight_g: r.try_get("weight_g")?,
        created_at: from_micros(r.try_get("created_at")?),
        closed_at: r.try_get::<Option<i64>, _>("closed_at")?.map(from_micros),
        handed_at: r.try_get::<Option<i64>, _>("handed_at")?.map(from_micros),
        carrier_ref: r.try_get("carrier_ref")?,
    })
}

/// The open bag for this key, if there is one.
pub async fn open_bag(
    conn: &mut AnyConnection,
    warehouse: &WarehouseCode,
    carrier: &str,
    channel: &ChannelCode,
    country: Country,
) -> Result<Option<Bag>> {
    sqlx::query(&format!(
        "SELECT {BAG_COLS} FROM bags b WHERE b.status = 'open' AND b.warehouse = $1 AND b.carrier = $2 \
         AND b.channel = $3 AND b.country = $4 ORDER BY b.id LIMIT 1"
    ))
    .bind(warehouse.as_str())
    .bind(carrier)
    .bind(channel.as_str())
    .bind(country.code())
    .fetch_optional(conn)
    .await?
    .map(|r| bag_from(&r))
    .transpose()
}

pub async fn insert_bag(conn: &mut AnyConnection, b: &Bag) -> Result<()> {
    let code = if b.code.is_empty() { format!("B{:06}", next_number(conn, "bag").await?) } else { b.code.clone() };
    sqlx::query(
        "INSERT INTO bags (id, code, warehouse, carrier, channel, country, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7)",
    )
    .bind(b.id.as_str())
    .bind(code)
    .bind(b.warehouse.as_str())
    .bind(&b.carrier)
    .bind(b.channel.as_str())
    .bind(b.country.code())
    .bind(micros(b.created_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds a parcel to a bag; false when it is in a bag already.
pub async fn add_to_bag(
    conn: &mut AnyConnection,
    bag: &BagId,
    shipment: &ShipmentId,
    weight_g: i64,
    at: OffsetDateTime,
) -> Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO bag_parcels (bag_id, shipment_id, weight_g, added_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(bag.as_str())
    .bind(shipment.as_str())
    .bind(weight_g)
    .bind(micros(at))
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

pub async fn bag(conn: &mut AnyConnection, id: &BagId) -> Result<Option<Bag>> {
    sqlx::query(&format!("SELECT {BAG_COLS} FROM bags b WHERE b.id = $1"))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .map(|r| bag_from(&r))
        .transpose()
}

pub async fn bag_by_code(conn: &mut AnyConnection, code: &str) -> Result<Option<Bag>> {
    sqlx::query(&format!("SELECT {BAG_COLS} FROM bags b WHERE b.code = $1"))
        .bind(code)
        .fetch_optional(conn)
        .await?
        .map(|r| bag_from(&r))
        .transpose()
}

/// The bag a parcel is in.
pub async fn bag_of_shipment(conn: &mut AnyConnection, shipment: &ShipmentId) -> Result<Option<Bag>> {
    sqlx::query(&format!(
        "SELECT {BAG_COLS} FROM bags b JOIN bag_parcels p ON p.bag_id = b.id WHERE p.shipment_id = $1"
    ))
    .bind(shipment.as_str())
    .fetch_optional(conn)
    .await?
    .map(|r| bag_from(&r))
    .transpose()
}

/// Bags in a status (all when None), newest first; of one handover when given.
pub async fn bags(
    conn: &mut AnyConnection,
    status: Option<BagStatus>,
    handover: Option<&HandoverId>,
    limit: i64,
) -> Result<Vec<Bag>> {
    sqlx::query(&format!(
        "SELECT {BAG_COLS} FROM bags b WHERE ($1 = '' OR b.status = $1) AND ($2 = '' OR b.handover_id = $2) \
         ORDER BY b.id DESC LIMIT $3"
    ))
    .bind(status.map(|s| s.as_str()).unwrap_or(""))
    .bind(handover.map(|h| h.as_str()).unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(bag_from)
    .collect()
}

/// Moves a bag from one status to another (with the time of the move); false when it was not in `from`.
pub async fn move_bag(
    conn: &mut AnyConnection,
    id: &BagId,
    from: BagStatus,
    to: BagStatus,
    at: OffsetDateTime,
) -> Result<bool> {
    let sql = match to {
        BagStatus::Closed => "UPDATE bags SET status = $1, closed_at = $2 WHERE id = $3 AND status = $4",
        _ => "UPDATE bags SET status = $1, handed_at = $2 WHERE id = $3 AND status = $4",
    };
    Ok(sqlx::query(sql)
        .bind(to.as_str())
        .bind(micros(at))
        .bind(id.as_str())
        .bind(from.as_str())
        .execute(conn)
        .await?
        .rows_affected()
        == 1)
}

/// A bag's parcels: shipment, tracking number, the order's reference, weight.
pub async fn bag_parcels(conn: &mut AnyConnection, id: &BagId) -> Result<Vec<(ShipmentId, String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT p.shipment_id, s.tracking_number, o.external_id, p.weight_g FROM bag_parcels p \
         JOIN shipments s ON s.id = p.shipment_id JOIN orders o ON o.id = s.order_id WHERE p.bag_id = $1 ORDER BY p.added_at, p.shipment_id",
    )
    .bind(id.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                ShipmentId::parse(&r.try_get::<String, _>("shipment_id")?)?,
                r.try_get::<Option<String>, _>("tracking_number")?.unwrap_or_default(),
                r.try_get("external_id")?,
                r.try_get("weight_g")?,
            ))
        })
        .collect()
}

/// A carrier pickup takes every closed bag of the carrier not yet in a pickup. Returns how many it took.
/// The orders whose parcels are in a bag.
pub async fn bag_orders(conn: &mut AnyConnection, id: &BagId) -> Result<Vec<OrderId>> {
    let rows = sqlx::query(
        "SELECT s.order_id FROM bag_parcels p JOIN shipments s ON s.id = p.shipment_id WHERE p.bag_id = $1 ORDER BY s.order_id",
    )
    .bind(id.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok(OrderId::parse(&r.try_get::<String, _>("order_id")?)?)).collect()
}

pub async fn insert_handover(
    conn: &mut AnyConnection,
    id: &HandoverId,
    carrier: &str,
    by: &str,
    at: OffsetDateTime,
) -> Result<u64> {
    sqlx::query("INSERT INTO handovers (id, carrier, created_by, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id.as_str())
        .bind(carrier)
        .bind(by)
        .bind(micros(at))
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query("UPDATE bags SET handover_id = $1 WHERE carrier = $2 AND status = 'closed' AND handover_id IS NULL")
        .bind(id.as_str())
        .bind(carrier)
        .execute(conn)
        .await?
        .rows_affected())
}

/// A pickup as stored: its carrier, who made it and when, and what the carrier's API answered for it.
#[derive(Clone, Debug)]
pub struct HandoverRow {
    pub carrier: String,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub carrier_ref: Option<String>,
    pub carrier_error: Option<String>,
}

pub async fn handover(conn: &mut AnyConnection, id: &HandoverId) -> Result<Option<HandoverRow>> {
    let r =
        sqlx::query("SELECT carrier, created_by, created_at, carrier_ref, carrier_error FROM handovers WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(conn)
            .await?;
    r.map(|r| {
        Ok(HandoverRow {
            carrier: r.try_get("carrier")?,
            created_by: r.try_get("created_by")?,
            created_at: from_micros(r.try_get("created_at")?),
            carrier_ref: r.try_get("carrier_ref")?,
            carrier_error: r.try_get("carrier_error")?,
        })
    })
    .transpose()
}

/// Records the carrier's manifest number, or why sending it failed.
pub async fn set_handover_carrier(
    conn: &mut AnyConnection,
    id: &HandoverId,
    carrier_ref: Option<&str>,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE handovers SET carrier_ref = COALESCE($1, carrier_ref), carrier_error = $2 WHERE id = $3")
        .bind(carrier_ref)
        .bind(error)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_bag_carrier_ref(conn: &mut AnyConnection, id: &BagId, carrier_ref: &str) -> Result<()> {
    sqlx::query("UPDATE bags SET carrier_ref = $1 WHERE id = $2")
        .bind(carrier_ref)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Packed and printed parcels of a warehouse not in a handed-over bag, packed before `before`: what missed
/// its pickup.
pub async fn unhanded(
    conn: &mut AnyConnection,
    before: OffsetDateTime,
    limit: i64,
) -> Result<Vec<(OrderId, ShipmentId)>> {
    let rows = sqlx::query(
        "SELECT k.order_id, k.shipment_id FROM packs k WHERE k.status = 'packed' AND k.printed_at IS NOT NULL \
         AND k.printed_at < $1 AND NOT EXISTS (SELECT 1 FROM bag_parcels p JOIN bags b ON b.id = p.bag_id \
         WHERE p.shipment_id = k.shipment_id AND b.status = 'handed_over') ORDER BY k.printed_at LIMIT $2",
    )
    .bind(micros(before))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                OrderId::parse(&r.try_get::<String, _>("order_id")?)?,
                ShipmentId::parse(&r.try_get::<String, _>("shipment_id")?)?,
            ))
        })
        .collect()
}

/// Packs whose label printed (or that were held) in [from, to), for the floor's dashboard.
pub async fn packs_between(
    conn: &mut AnyConnection,
    from: OffsetDateTime,
    to: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Pack>> {
    sqlx::query(&format!(
        "SELECT {PACK_COLS} FROM packs WHERE updated_at >= $1 AND updated_at < $2 AND status IN ('packed', 'intercepted') \
         ORDER BY updated_at LIMIT $3"
    ))
    .bind(micros(from))
    .bind(micros(to))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(pack_from)
    .collect()
}
