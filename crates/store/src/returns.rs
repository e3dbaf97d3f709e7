//! Returns: expected by tracking, received and graded at a warehouse, their photos.

use codflow_domain::returns::{Disposition, Grade, GradedLine, Return, ReturnStatus, Route};
use codflow_domain::{Currency, Money, OrderId, ProductId, ReturnId, ShipmentId, Sku, WarehouseCode, WarehouseId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::db::{from_micros, micros};
use crate::{Error, Result};

/// A return the carrier's scan announced.
#[derive(Clone, Debug)]
pub struct NewReturn {
    pub order_id: OrderId,
    pub shipment_id: ShipmentId,
    pub tracking_number: String,
    pub carrier: String,
    pub channel: String,
    pub country: String,
    pub warehouse: WarehouseId,
    pub started_at: OffsetDateTime,
    pub carrier_returned_at: Option<OffsetDateTime>,
}

const COLUMNS: &str = "r.id, r.order_id, r.shipment_id, r.tracking_number, r.carrier, r.channel, r.country, \
     w.code AS warehouse, r.status, r.started_at, r.carrier_returned_at, r.expected_by, r.received_at, \
     rw.code AS received_warehouse, r.closed_at, r.overdue_task, r.route, r.note, r.created_at, r.updated_at, \
     (SELECT COUNT(*) FROM return_photos p WHERE p.return_id = r.id) AS photos";
const FROM: &str =
    "FROM returns r JOIN warehouses w ON w.id = r.warehouse_id LEFT JOIN warehouses rw ON rw.id = r.received_warehouse";

fn corrupt(what: &str, v: &str) -> Error {
    Error::Corrupt(format!("return {what} {v:?}"))
}

fn opt_time(r: &AnyRow, col: &str) -> Result<Option<OffsetDateTime>> {
    Ok(r.try_get::<Option<i64>, _>(col)?.map(from_micros))
}

fn return_of(r: &AnyRow, lines: Vec<GradedLine>) -> Result<Return> {
    let status: String = r.try_get("status")?;
    let received: Option<String> = r.try_get("received_warehouse")?;
    let route: Option<String> = r.try_get("route")?;
    Ok(Return {
        id: ReturnId::parse(&r.try_get::<String, _>("id")?)?,
        order_id: OrderId::parse(&r.try_get::<String, _>("order_id")?)?,
        shipment_id: ShipmentId::parse(&r.try_get::<String, _>("shipment_id")?)?,
        tracking_number: r.try_get("tracking_number")?,
        carrier: r.try_get("carrier")?,
        channel: r.try_get("channel")?,
        country: r.try_get("country")?,
        warehouse: WarehouseCode::parse(&r.try_get::<String, _>("warehouse")?)?,
        status: ReturnStatus::parse(&status).map_err(|_| corrupt("status", &status))?,
        started_at: from_micros(r.try_get("started_at")?),
        carrier_returned_at: opt_time(r, "carrier_returned_at")?,
        expected_by: from_micros(r.try_get("expected_by")?),
        received_at: opt_time(r, "received_at")?,
        received_warehouse: received.as_deref().map(WarehouseCode::parse).transpose()?,
        closed_at: opt_time(r, "closed_at")?,
        overdue_task: r.try_get::<i64, _>("overdue_task")? != 0,
        route: route.as_deref().map(|v| Route::parse(v).map_err(|_| corrupt("route", v))).transpose()?,
        note: r.try_get("note")?,
        lines,
        photos: r.try_get("photos")?,
        created_at: from_micros(r.try_get("created_at")?),
        updated_at: from_micros(r.try_get("updated_at")?),
    })
}

fn line_of(r: &AnyRow) -> Result<GradedLine> {
    let grade: String = r.try_get("grade")?;
    let disposition: Option<String> = r.try_get("disposition")?;
    let currency: String = r.try_get("cost_currency")?;
    Ok(GradedLine {
        product: ProductId::parse(&r.try_get::<String, _>("product_id")?)?,
        sku: Sku::parse(&r.try_get::<String, _>("sku")?)?,
        grade: Grade::parse(&grade).map_err(|_| corrupt("grade", &grade))?,
        quantity: r.try_get("quantity")?,
        disposition: disposition
            .as_deref()
            .map(|d| Disposition::parse(d).map_err(|_| corrupt("disposition", d)))
            .transpose()?,
        bin: r.try_get("bin")?,
        unit_cost: Money::new(r.try_get("unit_cost")?, Currency::parse(&currency)?),
        released: r.try_get("released")?,
    })
}

async fn lines(conn: &mut AnyConnection, id: &str) -> Result<Vec<GradedLine>> {
    let rows = sqlx::query(
        "SELECT product_id, sku, grade, quantity, disposition, bin, unit_cost, cost_currency, released FROM return_lines \
         WHERE return_id = $1 ORDER BY seq",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(line_of).collect()
}

async fn one(conn: &mut AnyConnection, filter: &str, value: &str) -> Result<Option<Return>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} {FROM} WHERE {filter} = $1"))
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let id: String = row.try_get("id")?;
    let lines = lines(conn, &id).await?;
    return_of(&row, lines).map(Some)
}

pub async fn get(conn: &mut AnyConnection, id: &ReturnId) -> Result<Option<Return>> {
    one(conn, "r.id", id.as_str()).await
}

pub async fn of_shipment(conn: &mut AnyConnection, shipment: &ShipmentId) -> Result<Option<Return>> {
    one(conn, "r.shipment_id", shipment.as_str()).await
}

pub async fn by_tracking(conn: &mut AnyConnection, tracking_number: &str) -> Result<Option<Return>> {
    one(conn, "r.tracking_number", tracking_number).await
}

/// Days from the carrier's first return scan to receiving, for the last returns received on a lane.
pub async fn lane_days(conn: &mut AnyConnection, carrier: &str, country: &str) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT received_at - started_at AS took FROM returns WHERE carrier = $1 AND country = $2 \
         AND received_at IS NOT NULL ORDER BY received_at DESC LIMIT 50",
    )
    .bind(carrier)
    .bind(country)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok(r.try_get::<i64, _>("took")? / 86_400_000_000)).collect()
}

/// Records returns the carrier announced; a shipment already expected keeps its return, gaining the
/// carrier's "returned" time if it had none. Returns how many were new.
pub async fn expect(
    conn: &mut AnyConnection,
    r: &NewReturn,
    expected_by: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<bool> {
    let at = micros(now);
    let done = sqlx::query(
        "INSERT INTO returns (id, order_id, shipment_id, tracking_number, carrier, channel, country, warehouse_id, \
         status, started_at, carrier_returned_at, expected_by, overdue_task, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'expected', $9, $10, $11, 0, $12, $12) \
         ON CONFLICT (shipment_id) DO NOTHING",
    )
    .bind(ReturnId::generate().as_str())
    .bind(r.order_id.as_str())
    .bind(r.shipment_id.as_str())
    .bind(&r.tracking_number)
    .bind(&r.carrier)
    .bind(&r.channel)
    .bind(&r.country)
    .bind(r.warehouse.as_str())
    .bind(micros(r.started_at))
    .bind(r.carrier_returned_at.map(micros))
    .bind(micros(expected_by))
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if done == 0
        && let Some(back) = r.carrier_returned_at
    {
        sqlx::query(
            "UPDATE returns SET carrier_returned_at = $2, updated_at = $3 WHERE shipment_id = $1 \
             AND carrier_returned_at IS NULL",
        )
        .bind(r.shipment_id.as_str())
        .bind(micros(back))
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(done > 0)
}

/// Moves a return from one of `from` to `to`, stamping what the move means; false when it was not in `from`.
pub async fn set_status(
    conn: &mut AnyConnection,
    id: &ReturnId,
    from: &[ReturnStatus],
    to: ReturnStatus,
    received_at: Option<(&WarehouseId, OffsetDateTime)>,
    note: Option<&str>,
    now: OffsetDateTime,
) -> Result<bool> {
    let list: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let closed = matches!(to, ReturnStatus::Closed | ReturnStatus::Lost).then(|| micros(now));
    let sql = format!(
        "UPDATE returns SET status = $2, received_at = COALESCE($3, received_at), \
         received_warehouse = COALESCE($4, received_warehouse), closed_at = COALESCE($5, closed_at), \
         note = COALESCE($6, note), updated_at = $7 WHERE id = $1 AND status IN ({})",
        list.join(", ")
    );
    let n = sqlx::query(&sql)
        .bind(id.as_str())
        .bind(to.as_str())
        .bind(received_at.map(|(_, t)| micros(t)))
        .bind(received_at.map(|(w, _)| w.as_str().to_owned()))
        .bind(closed)
        .bind(note)
        .bind(micros(now))
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn insert_lines(conn: &mut AnyConnection, id: &ReturnId, lines: &[GradedLine]) -> Result<()> {
    for (seq, l) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO return_lines (return_id, seq, product_id, sku, grade, quantity, disposition, bin, unit_cost, \
             cost_currency) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id.as_str())
        .bind(seq as i64)
        .bind(l.product.as_str())
        .bind(l.sku.as_str())
        .bind(l.grade.as_str())
        .bind(l.quantity)
        .bind(l.disposition.map(|d| d.as_str()))
        .bind(l.bin.as_deref())
        .bind(l.unit_cost.minor)
        .bind(l.unit_cost.currency.code())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn set_route(conn: &mut AnyConnection, id: &ReturnId, route: Route, at: OffsetDateTime) -> Result<bool> {
    let n = sqlx::query("UPDATE returns SET route = $2, route_at = $3, updated_at = $3 WHERE id = $1")
        .bind(id.as_str())
        .bind(route.as_str())
        .bind(micros(at))
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Units of the given SKUs in orders to `country` placed since `since` (cancelled orders left out).
pub async fn units_ordered(
    conn: &mut AnyConnection,
    country: &str,
    skus: &[&Sku],
    since: OffsetDateTime,
) -> Result<i64> {
    if skus.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) AS n FROM order_lines l JOIN orders o ON o.id = l.order_id \
         WHERE o.ship_country = $1 AND o.placed_at >= $2 AND o.status <> 'cancelled' AND l.sku IN ({})",
        crate::db::placeholders(2, skus.len())
    );
    let mut q = sqlx::query(&sql).bind(country).bind(micros(since));
    for s in skus {
        q = q.bind(s.as_str());
    }
    Ok(q.fetch_one(conn).await?.try_get("n")?)
}

/// Releases up to `units` held units of the line `seq` (0-based, in grading order); false when it holds fewer.
pub async fn release(conn: &mut AnyConnection, id: &ReturnId, seq: usize, units: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE return_lines SET released = released + $3 WHERE return_id = $1 AND seq = $2 \
         AND disposition IN ('quarantine', 'refurbish') AND released + $3 <= quantity",
    )
    .bind(id.as_str())
    .bind(seq as i64)
    .bind(units)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// What a list of returns is narrowed to.
#[derive(Clone, Debug, Default)]
pub struct ReturnFilter {
    pub status: Option<ReturnStatus>,
    pub carrier: Option<String>,
    pub warehouse: Option<WarehouseCode>,
    /// Expected and past their expected date at this time.
    pub overdue_at: Option<OffsetDateTime>,
}

/// Newest first, after the return `after` (by id, which sorts by creation).
pub async fn list(
    conn: &mut AnyConnection,
    f: &ReturnFilter,
    after: Option<&ReturnId>,
    limit: i64,
) -> Result<Vec<Return>> {
    use crate::bulk::Val;
    let mut sql = format!("SELECT {COLUMNS} {FROM} WHERE 1 = 1");
    let mut binds: Vec<Val> = Vec::new();
    for (cond, v) in [
        ("r.status =", f.status.map(|s| Val::Text(s.as_str().into()))),
        ("r.carrier =", f.carrier.clone().map(Val::Text)),
        ("w.code =", f.warehouse.as_ref().map(|w| Val::Text(w.to_string()))),
        ("r.status = 'expected' AND r.expected_by <=", f.overdue_at.map(|t| Val::Int(micros(t)))),
        ("r.id <", after.map(|a| Val::Text(a.to_string()))),
    ] {
        if let Some(v) = v {
            binds.push(v);
            sql.push_str(&format!(" AND {cond} ${}", binds.len()));
        }
    }
    sql.push_str(&format!(" ORDER BY r.id DESC LIMIT {}", limit.clamp(1, 10_000)));
    let rows = crate::bulk::bind_all(sqlx::query(&sql), &binds).fetch_all(&mut *conn).await?;
    // The graded lines of the closed ones, in one query for the page.
    let mut closed: Vec<String> = Vec::new();
    for r in &rows {
        if r.try_get::<String, _>("status")? == "closed" {
            closed.push(r.try_get("id")?);
        }
    }
    let mut by_return: std::collections::HashMap<String, Vec<GradedLine>> = Default::default();
    for chunk in crate::db::pow2_chunks(&closed, 512) {
        let sql = format!(
            "SELECT return_id, product_id, sku, grade, quantity, disposition, bin, unit_cost, cost_currency, released \
             FROM return_lines WHERE return_id IN ({}) ORDER BY return_id, seq",
            crate::params(conn, 0, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for l in q.fetch_all(&mut *conn).await? {
            by_return.entry(l.try_get("return_id")?).or_default().push(line_of(&l)?);
        }
    }
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            return_of(r, by_return.remove(&id).unwrap_or_default())
        })
        .collect()
}

/// Expected returns past their date whose task was not opened yet.
pub async fn overdue_untasked(conn: &mut AnyConnection, now: OffsetDateTime, limit: i64) -> Result<Vec<Return>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} {FROM} WHERE r.status = 'expected' AND r.expected_by <= $1 AND r.overdue_task = 0 \
         ORDER BY r.expected_by LIMIT $2"
    ))
    .bind(micros(now))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| return_of(r, Vec::new())).collect()
}

pub async fn mark_tasked(conn: &mut AnyConnection, id: &ReturnId) -> Result<()> {
    sqlx::query("UPDATE returns SET overdue_task = 1 WHERE id = $1").bind(id.as_str()).execute(conn).await?;
    Ok(())
}

/// One carrier's month: what it said came back against what the warehouses received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthCount {
    pub carrier: String,
    /// `YYYY-MM` of the carrier's first return scan.
    pub month: String,
    pub started: i64,
    pub carrier_returned: i64,
    pub received: i64,
    pub lost: i64,
    pub still_expected: i64,
}

/// Returns per carrier and month of their first scan, since `from`.
pub async fn month_counts(conn: &mut AnyConnection, from: OffsetDateTime) -> Result<Vec<MonthCount>> {
    let rows = sqlx::query(
        "SELECT carrier, started_at, CASE WHEN carrier_returned_at IS NULL THEN 0 ELSE 1 END AS said, \
         CASE WHEN received_at IS NULL THEN 0 ELSE 1 END AS got, status FROM returns WHERE started_at >= $1",
    )
    .bind(micros(from))
    .fetch_all(conn)
    .await?;
    let mut per: std::collections::BTreeMap<(String, String), MonthCount> = Default::default();
    for r in &rows {
        let carrier: String = r.try_get("carrier")?;
        let at = from_micros(r.try_get("started_at")?);
        let month = format!("{:04}-{:02}", at.year(), u8::from(at.month()));
        let (said, got): (i64, i64) = (r.try_get("said")?, r.try_get("got")?);
        let status: String = r.try_get("status")?;
        let m = per.entry((carrier.clone(), month.clone())).or_insert_with(|| MonthCount {
            carrier,
            month,
            started: 0,
            carrier_returned: 0,
            received: 0,
            lost: 0,
            still_expected: 0,
        });
        m.started += 1;
        m.carrier_returned += said;
        m.received += got;
        m.lost += i64::from(status == "lost");
        m.still_expected += i64::from(status == "expected");
    }
    Ok(per.into_values().collect())
}

/// Adds a photo; returns its number.
pub async fn add_photo(
    conn: &mut AnyConnection,
    id: &ReturnId,
    content_type: &str,
    base64: &str,
    at: OffsetDateTime,
) -> Result<i64> {
    let seq: i64 =
        sqlx::query("SELECT CAST(COALESCE(MAX(seq), 0) + 1 AS BIGINT) AS n FROM return_photos WHERE return_id = $1")
            .bind(id.as_str())
            .fetch_one(&mut *conn)
            .await?
            .try_get("n")?;
    sqlx::query("INSERT INTO return_photos (return_id, seq, content_type, data, taken_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id.as_str())
        .bind(seq)
        .bind(content_type)
        .bind(base64)
        .bind(micros(at))
        .execute(conn)
        .await?;
    Ok(seq)
}

/// A photo's content type and base64 data.
pub async fn photo(conn: &mut AnyConnection, id: &ReturnId, seq: i64) -> Result<Option<(String, String)>> {
    let row = sqlx::query("SELECT content_type, data FROM return_photos WHERE return_id = $1 AND seq = $2")
        .bind(id.as_str())
        .bind(seq)
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((r.try_get("content_type")?, r.try_get("data")?))).transpose()
}

/// How returns are grouped in the return-rate report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateBy {
    Channel,
    Country,
    Sku,
}

/// One group's parcels (units, for SKUs) sent and returned since a date, and what its returns lost at cost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReturnRate {
    pub key: String,
    pub shipped: i64,
    pub returned: i64,
    pub received: i64,
    /// Goods written off at cost, per currency.
    pub written_off: Vec<(String, i64)>,
}

/// Return rates per channel, destination country or SKU, over what was picked up (or turned back) since
/// `from`. Parcels count for channels and countries, units for SKUs; the cost lost is the ledger's for
/// channels and countries, the grading's (missing or written-off units at cost) for SKUs.
pub async fn rates(conn: &mut AnyConnection, by: RateBy, from: OffsetDateTime) -> Result<Vec<ReturnRate>> {
    let at = micros(from);
    let (sent, back, lost) = match by {
        RateBy::Channel | RateBy::Country => {
            let (tk, rk) =
                if by == RateBy::Channel { ("lane_channel", "channel") } else { ("lane_country", "country") };
            (
                format!("SELECT {tk} AS k, COUNT(*) AS n FROM tracking WHERE picked_up_at >= $1 GROUP BY {tk}"),
                format!(
                    "SELECT {rk} AS k, COUNT(*) AS n, CAST(SUM(CASE WHEN received_at IS NULL THEN 0 ELSE 1 END) AS BIGINT) AS got \
                     FROM returns WHERE started_at >= $1 GROUP BY {rk}"
                ),
                format!(
                    "SELECT r.{rk} AS k, p.currency, CAST(SUM(p.amount_minor) AS BIGINT) AS v FROM ledger_postings p \
                     JOIN returns r ON r.shipment_id = p.shipment_id WHERE p.account = 'goods_written_off' \
                     AND r.started_at >= $1 GROUP BY r.{rk}, p.currency"
                ),
            )
        }
        RateBy::Sku => (
            "SELECT l.sku AS k, CAST(SUM(l.quantity) AS BIGINT) AS n FROM tracking t JOIN order_lines l \
             ON l.order_id = t.order_id WHERE t.picked_up_at >= $1 GROUP BY l.sku"
                .to_owned(),
            "SELECT l.sku AS k, CAST(SUM(l.quantity) AS BIGINT) AS n, \
             CAST(SUM(CASE WHEN r.received_at IS NULL THEN 0 ELSE l.quantity END) AS BIGINT) AS got \
             FROM returns r JOIN order_lines l ON l.order_id = r.order_id WHERE r.started_at >= $1 GROUP BY l.sku"
                .to_owned(),
            "SELECT l.sku AS k, l.cost_currency AS currency, CAST(SUM(l.quantity * l.unit_cost) AS BIGINT) AS v \
             FROM return_lines l JOIN returns r ON r.id = l.return_id WHERE r.started_at >= $1 \
             AND (l.grade = 'missing' OR l.disposition = 'write_off') GROUP BY l.sku, l.cost_currency"
                .to_owned(),
        ),
    };
    let mut per: std::collections::BTreeMap<String, ReturnRate> = Default::default();
    for r in sqlx::query(&sent).bind(at).fetch_all(&mut *conn).await? {
        let k: String = r.try_get("k")?;
        per.entry(k.clone()).or_insert_with(|| ReturnRate { key: k, ..Default::default() }).shipped = r.try_get("n")?;
    }
    for r in sqlx::query(&back).bind(at).fetch_all(&mut *conn).await? {
        let k: String = r.try_get("k")?;
        let e = per.entry(k.clone()).or_insert_with(|| ReturnRate { key: k, ..Default::default() });
        e.returned = r.try_get("n")?;
        e.received = r.try_get("got")?;
    }
    for r in sqlx::query(&lost).bind(at).fetch_all(&mut *conn).await? {
        let k: String = r.try_get("k")?;
        let e = per.entry(k.clone()).or_insert_with(|| ReturnRate { key: k, ..Default::default() });
        e.written_off.push((r.try_get("currency")?, r.try_get("v")?));
    }
    Ok(per.into_values().collect())
}
