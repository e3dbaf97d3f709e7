//! The dashboards' sums: the dirty-order queue the triggers fill, each order's last fact, and the daily sums
//! per lane, per SKU and per clearance hour that the refresher moves and the dashboards read.

use std::collections::{BTreeMap, HashMap};

use codflow_domain::kpi::{Delta, Dim, Dims, Fact, METRICS, Metrics};
use codflow_domain::{OrderId, ShipmentStatus};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::bulk::{Val, insert_values_counted};
use crate::db::{from_micros, params, pow2_chunks};
use crate::{Error, Result};

/// Up to `limit` dirty orders, oldest id first. On PostgreSQL the rows stay locked until the caller's
/// transaction ends, so two nodes never refresh the same order at once.
pub async fn take_dirty(conn: &mut AnyConnection, limit: i64) -> Result<Vec<OrderId>> {
    let lock = if crate::db::Engine::of(conn) == crate::db::Engine::Sqlite { "" } else { " FOR UPDATE SKIP LOCKED" };
    let rows = sqlx::query(&format!("SELECT order_id FROM kpi_dirty ORDER BY order_id LIMIT $1{lock}"))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok(OrderId::parse(&r.try_get::<String, _>(0)?)?)).collect()
}

pub async fn dirty_count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) FROM kpi_dirty").fetch_one(&mut *conn).await?.try_get(0)?)
}

/// Marks every order dirty: what a change of the lanes' customs limits needs.
pub async fn mark_all_dirty(conn: &mut AnyConnection) -> Result<()> {
    sqlx::query("INSERT INTO kpi_dirty (order_id) SELECT id FROM orders WHERE true ON CONFLICT DO NOTHING")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn by_ids<T>(
    conn: &mut AnyConnection,
    ids: &[OrderId],
    sql: impl Fn(&str) -> String,
    mut each: impl FnMut(&sqlx::any::AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for chunk in pow2_chunks(ids, 512) {
        let sql = sql(&params(conn, 0, chunk.len()));
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.push(each(&r)?);
        }
    }
    Ok(out)
}

/// What the refresher needs of an order besides the order itself.
#[derive(Debug, Default)]
pub struct Extra {
    pub parcel: Option<ParcelRow>,
    /// `Some(true)` delivered, `Some(false)` refused.
    pub outcome: Option<bool>,
    pub tasks: Vec<(OffsetDateTime, Option<OffsetDateTime>)>,
}

#[derive(Debug)]
pub struct ParcelRow {
    pub shipment: String,
    pub carrier: String,
    pub status: ShipmentStatus,
    pub booked_at: OffsetDateTime,
    pub picked_up_at: Option<OffsetDateTime>,
    pub delivered_at: Option<OffsetDateTime>,
    pub customs: Vec<(OffsetDateTime, ShipmentStatus)>,
}

fn status(s: &str) -> Result<ShipmentStatus> {
    ShipmentStatus::parse(s).map_err(|_| Error::Corrupt(format!("shipment status {s:?}")))
}

pub async fn extras(conn: &mut AnyConnection, ids: &[OrderId]) -> Result<HashMap<String, Extra>> {
    let mut out: HashMap<String, Extra> = HashMap::new();
    let parcels = by_ids(
        conn,
        ids,
        |p| {
            format!(
                "SELECT order_id, shipment_id, status, booked_at, picked_up_at, delivered_at, carrier FROM tracking \
                 WHERE order_id IN ({p}) ORDER BY booked_at"
            )
        },
        |r| {
            Ok((
                r.try_get::<String, _>(0)?,
                ParcelRow {
                    shipment: r.try_get(1)?,
                    carrier: r.try_get(6)?,
                    status: status(&r.try_get::<String, _>(2)?)?,
                    booked_at: from_micros(r.try_get(3)?),
                    picked_up_at: r.try_get::<Option<i64>, _>(4)?.map(from_micros),
                    delivered_at: r.try_get::<Option<i64>, _>(5)?.map(from_micros),
                    customs: Vec::new(),
                },
            ))
        },
    )
    .await?;
    let mut by_shipment: HashMap<String, String> = HashMap::new();
    for (order, p) in parcels {
        // The latest booking is the parcel that counts (a cancelled one may be followed by another).
        by_shipment.insert(p.shipment.clone(), order.clone());
        out.entry(order).or_default().parcel = Some(p);
    }
    let shipments: Vec<String> = by_shipment.keys().cloned().collect();
    for chunk in pow2_chunks(&shipments, 512) {
        let sql = format!(
            "SELECT shipment_id, at, status FROM tracking_events WHERE shipment_id IN ({}) \
             AND status LIKE 'customs%' ORDER BY shipment_id, at",
            params(conn, 0, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for s in chunk {
            q = q.bind(s.as_str());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let shipment: String = r.try_get(0)?;
            let Some(order) = by_shipment.get(&shipment) else { continue };
            if let Some(p) = out.get_mut(order).and_then(|e| e.parcel.as_mut()).filter(|p| p.shipment == shipment) {
                p.customs.push((from_micros(r.try_get(1)?), status(&r.try_get::<String, _>(2)?)?));
            }
        }
    }
    let outcomes = by_ids(
        conn,
        ids,
        |p| format!("SELECT order_id, outcome FROM order_outcomes WHERE order_id IN ({p})"),
        |r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)? == "delivered")),
    )
    .await?;
    for (order, delivered) in outcomes {
        out.entry(order).or_default().outcome = Some(delivered);
    }
    let tasks = by_ids(
        conn,
        ids,
        |p| format!("SELECT order_id, created_at, closed_at FROM tasks WHERE order_id IN ({p})"),
        |r| {
            Ok((
                r.try_get::<String, _>(0)?,
                from_micros(r.try_get(1)?),
                r.try_get::<Option<i64>, _>(2)?.map(from_micros),
            ))
        },
    )
    .await?;
    for (order, opened, closed) in tasks {
        out.entry(order).or_default().tasks.push((opened, closed));
    }
    Ok(out)
}

/// The last fact of each of these orders that has one.
pub async fn facts(conn: &mut AnyConnection, ids: &[OrderId]) -> Result<HashMap<String, Fact>> {
    let rows = by_ids(
        conn,
        ids,
        |p| format!("SELECT order_id, fact FROM kpi_facts WHERE order_id IN ({p})"),
        |r| {
            let fact: String = r.try_get(1)?;
            let fact: Fact = serde_json::from_str(&fact).map_err(|e| Error::Corrupt(format!("kpi fact: {e}")))?;
            Ok((r.try_get::<String, _>(0)?, fact))
        },
    )
    .await?;
    Ok(rows.into_iter().collect())
}

const DIMS: [&str; 6] = ["day", "store", "country", "region", "channel", "carrier"];

fn dim_vals(d: &Dims) -> [Val; 6] {
    [
        d.day.into(),
        d.store.as_str().into(),
        d.country.as_str().into(),
        d.region.as_str().into(),
        d.channel.as_str().into(),
        d.carrier.as_str().into(),
    ]
}

fn additive(table: &str, keys: &[&str], cols: &[&str]) -> String {
    let set = cols.iter().map(|c| format!("{c} = {table}.{c} + excluded.{c}")).collect::<Vec<_>>().join(", ");
    format!("ON CONFLICT ({}) DO UPDATE SET {set}", keys.join(", "))
}

/// Moves the sums by `delta`, stores the new facts and takes the orders off the dirty queue, in the caller's
/// transaction.
pub async fn apply(conn: &mut AnyConnection, delta: &Delta, new: &[(OrderId, Fact)]) -> Result<()> {
    let metric_cols: Vec<&str> = METRICS.to_vec();
    let lane_cols: Vec<&str> = DIMS.iter().chain(METRICS.iter()).copied().collect();
    let mut vals = Vec::with_capacity(delta.lanes.len() * lane_cols.len());
    for (d, m) in &delta.lanes {
        vals.extend(dim_vals(d));
        vals.extend(m.0.iter().map(|v| Val::Int(*v)));
    }
    if !vals.is_empty() {
        let head = format!("INTO kpi_daily ({})", lane_cols.join(", "));
        insert_values_counted(conn, &head, &additive("kpi_daily", &DIMS, &metric_cols), vals).await?;
    }
    let sku_keys: Vec<&str> = DIMS.iter().copied().chain(["sku"]).collect();
    let sku_cols: Vec<&str> = sku_keys.iter().chain(METRICS.iter()).copied().collect();
    let mut vals = Vec::with_capacity(delta.skus.len() * sku_cols.len());
    for ((d, sku), m) in &delta.skus {
        vals.extend(dim_vals(d));
        vals.push(sku.as_str().into());
        vals.extend(m.0.iter().map(|v| Val::Int(*v)));
    }
    if !vals.is_empty() {
        let head = format!("INTO kpi_sku_daily ({})", sku_cols.join(", "));
        insert_values_counted(conn, &head, &additive("kpi_sku_daily", &sku_keys, &metric_cols), vals).await?;
    }
    let mut vals = Vec::with_capacity(delta.clearance.len() * 6);
    for ((d, hours), n) in &delta.clearance {
        vals.extend([
            Val::Int(d.day),
            d.store.as_str().into(),
            d.country.as_str().into(),
            d.channel.as_str().into(),
            (*hours).into(),
            (*n).into(),
        ]);
    }
    if !vals.is_empty() {
        let keys = ["day", "store", "country", "channel", "hours"];
        insert_values_counted(
            conn,
            "INTO kpi_clearance (day, store, country, channel, hours, parcels)",
            &additive("kpi_clearance", &keys, &["parcels"]),
            vals,
        )
        .await?;
    }
    let mut vals = Vec::with_capacity(new.len() * 9);
    for (id, f) in new {
        let json = serde_json::to_string(f).map_err(|e| Error::Corrupt(format!("kpi fact: {e}")))?;
        vals.push(id.as_str().into());
        vals.extend(dim_vals(&f.dims));
        vals.push(flags_of(&f.metrics).into());
        vals.push(json.into());
    }
    if !vals.is_empty() {
        insert_values_counted(
            conn,
            "INTO kpi_facts (order_id, day, store, country, region, channel, carrier, flags, fact)",
            "ON CONFLICT (order_id) DO UPDATE SET day = excluded.day, store = excluded.store, \
             country = excluded.country, region = excluded.region, channel = excluded.channel, \
             carrier = excluded.carrier, flags = excluded.flags, fact = excluded.fact",
            vals,
        )
        .await?;
    }
    let ids: Vec<OrderId> = new.iter().map(|(id, _)| id.clone()).collect();
    clear_dirty(conn, &ids).await
}

pub async fn clear_dirty(conn: &mut AnyConnection, ids: &[OrderId]) -> Result<()> {
    for chunk in pow2_chunks(ids, 512) {
        let sql = format!("DELETE FROM kpi_dirty WHERE order_id IN ({})", params(conn, 0, chunk.len()));
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Which rows a dashboard sums: placed between two days (inclusive) and, optionally, one store, country,
/// region, channel, carrier or SKU.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub from_day: Option<i64>,
    pub to_day: Option<i64>,
    pub store: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
    pub channel: Option<String>,
    pub carrier: Option<String>,
    pub sku: Option<String>,
}

impl Filter {
    fn conds(&self, conn: &AnyConnection, with_sku: bool, with_region: bool) -> (String, Vec<Val>) {
        let mut conds = Vec::new();
        let mut vals = Vec::new();
        let mut add = |c: &str, v: Val| {
            vals.push(v);
            conds.push(format!("{c} {}", crate::db::param(conn, vals.len())));
        };
        if let Some(d) = self.from_day {
            add("day >=", d.into());
        }
        if let Some(d) = self.to_day {
            add("day <=", d.into());
        }
        let texts = [
            ("store", &self.store, true),
            ("country", &self.country, true),
            ("region", &self.region, with_region),
            ("channel", &self.channel, true),
            ("carrier", &self.carrier, with_region),
            ("sku", &self.sku, with_sku),
        ];
        for (col, v, applies) in texts {
            if let (Some(v), true) = (v, applies) {
                add(&format!("{col} ="), v.as_str().into());
            }
        }
        let w = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
        (w, vals)
    }
}

pub(crate) fn bind<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    vals: Vec<Val>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for v in vals {
        q = match v {
            Val::Int(i) => q.bind(i),
            Val::Text(s) => q.bind(s),
            Val::OptText(s) => q.bind(s),
            Val::OptInt(i) => q.bind(i),
        };
    }
    q
}

/// What clearance times can be grouped by (the columns `kpi_clearance` keeps).
pub const CLEARANCE_DIMS: [Dim; 4] = [Dim::Day, Dim::Store, Dim::Country, Dim::Channel];

/// Sums of every counter grouped by `group` (dimension columns, plus `sku` when `by_sku`), over the rows
/// the filter selects. The SKU sums are read from the per-SKU table, where an order counts once per SKU.
pub async fn sums(
    conn: &mut AnyConnection,
    f: &Filter,
    group: &[Dim],
    by_sku: bool,
) -> Result<Vec<(Vec<String>, Metrics)>> {
    if group.contains(&Dim::Sku) && !by_sku {
        return Err(Error::Corrupt("dashboard sums are grouped by SKU from the per-SKU table only".into()));
    }
    // The dashboard tables name their columns after the dimensions.
    let group: Vec<&str> = group.iter().map(|g| g.as_str()).collect();
    let by_sku = by_sku || f.sku.is_some();
    let table = if by_sku { "kpi_sku_daily" } else { "kpi_daily" };
    let (w, vals) = f.conds(conn, by_sku, true);
    let keys = group.iter().map(|g| format!("CAST({g} AS TEXT)")).collect::<Vec<_>>();
    let sums = METRICS.iter().map(|m| format!("CAST(SUM({m}) AS BIGINT)")).collect::<Vec<_>>().join(", ");
    let select = if keys.is_empty() { sums.clone() } else { format!("{}, {sums}", keys.join(", ")) };
    let group_by = if group.is_empty() { String::new() } else { format!("GROUP BY {}", group.join(", ")) };
    let sql = format!("SELECT {select} FROM {table} {w} {group_by}");
    let rows = bind(sqlx::query(&sql), vals).fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let key = (0..group.len()).map(|i| r.try_get::<String, _>(i)).collect::<std::result::Result<Vec<_>, _>>()?;
        let mut m = Metrics::default();
        for (i, v) in m.0.iter_mut().enumerate() {
            *v = r.try_get::<Option<i64>, _>(group.len() + i)?.unwrap_or(0);
        }
        if key.is_empty() && m.is_zero() {
            continue;
        }
        out.push((key, m));
    }
    Ok(out)
}

/// Parcels per clearance hour, grouped by `group` (any of day, store, country, channel).
pub async fn clearance(
    conn: &mut AnyConnection,
    f: &Filter,
    group: &[Dim],
) -> Result<Vec<(Vec<String>, BTreeMap<i64, i64>)>> {
    if let Some(bad) = group.iter().find(|g| !CLEARANCE_DIMS.contains(g)) {
        return Err(Error::Corrupt(format!("cannot group clearance times by {}", bad.as_str())));
    }
    // The dashboard tables name their columns after the dimensions.
    let group: Vec<&str> = group.iter().map(|g| g.as_str()).collect();
    let (w, vals) = f.conds(conn, false, false);
    let keys: Vec<String> = group.iter().map(|g| format!("CAST({g} AS TEXT)")).collect();
    let select =
        keys.iter().cloned().chain(["hours".into(), "CAST(SUM(parcels) AS BIGINT)".into()]).collect::<Vec<_>>();
    let group_by = group.iter().copied().chain(["hours"]).collect::<Vec<_>>().join(", ");
    let sql = format!("SELECT {} FROM kpi_clearance {w} GROUP BY {group_by}", select.join(", "));
    let rows = bind(sqlx::query(&sql), vals).fetch_all(&mut *conn).await?;
    let mut out: BTreeMap<Vec<String>, BTreeMap<i64, i64>> = BTreeMap::new();
    for r in rows {
        let key = (0..group.len()).map(|i| r.try_get::<String, _>(i)).collect::<std::result::Result<Vec<_>, _>>()?;
        let hours: i64 = r.try_get(group.len())?;
        let n: i64 = r.try_get(group.len() + 1)?;
        if n != 0 {
            *out.entry(key).or_default().entry(hours).or_default() += n;
        }
    }
    Ok(out.into_iter().collect())
}

/// The figures an order's fact can be listed by, each a bit of `kpi_facts.flags`.
pub const FLAGS: [&str; 17] = [
    "shipped",
    "delivered",
    "refused",
    "returned",
    "lost",
    "customs_held",
    "customs_delayed",
    "cod_orders",
    "loss_orders",
    "profit_b0",
    "profit_b1",
    "profit_b2",
    "profit_b3",
    "profit_b4",
    "profit_b5",
    "profit_b6",
    "profit_b7",
];

/// Where each of [`FLAGS`] stands in [`METRICS`], looked up once rather than for every fact.
static FLAG_METRICS: std::sync::LazyLock<[usize; FLAGS.len()]> =
    std::sync::LazyLock::new(|| FLAGS.map(|name| METRICS.iter().position(|m| *m == name).unwrap_or(0)));

fn flags_of(m: &Metrics) -> i64 {
    FLAG_METRICS.iter().enumerate().fold(0, |acc, (bit, &i)| if m.0[i] != 0 { acc | (1 << bit) } else { acc })
}

/// The ids of the orders behind a figure: those whose fact matches the filter and, when given, counts in
/// `flag`; newest first, before `before`.
pub async fn orders_behind(
    conn: &mut AnyConnection,
    f: &Filter,
    flag: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<OrderId>> {
    let (w, mut vals) = f.conds(conn, false, true);
    let mut conds = vec![];
    if !w.is_empty() {
        conds.push(w.trim_start_matches("WHERE ").to_owned());
    }
    if let Some(sku) = &f.sku {
        vals.push(sku.as_str().into());
        conds.push(format!(
            "kpi_facts.order_id IN (SELECT order_id FROM order_lines WHERE sku = {})",
            crate::db::param(conn, vals.len())
        ));
    }
    if let Some(name) = flag {
        let bit = FLAGS.iter().position(|m| *m == name).ok_or_else(|| Error::Corrupt(format!("no figure {name}")))?;
        conds.push(format!("(flags & {}) <> 0", 1i64 << bit));
    }
    if let Some(b) = before {
        vals.push(b.into());
        conds.push(format!("kpi_facts.order_id < {}", crate::db::param(conn, vals.len())));
    }
    vals.push(limit.max(1).into());
    let sql = format!(
        "SELECT order_id FROM kpi_facts {} ORDER BY order_id DESC LIMIT {}",
        if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) },
        crate::db::param(conn, vals.len())
    );
    let rows = bind(sqlx::query(&sql), vals).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok(OrderId::parse(&r.try_get::<String, _>(0)?)?)).collect()
}
