//! What reconciliation reads and writes beside the statement: the parcels a file is matched against, the
//! invoice checks, the cash states moved, and what earlier statements paid.

use std::borrow::Cow;

use super::*;

/// A COD shipment as reconciliation needs it. Its order's reference is read with it only when asked (see
/// [`cod_order_refs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodShipment {
    pub shipment_id: ShipmentId,
    pub tracking_number: String,
    pub channel: String,
    pub cod: Money,
    pub cod_status: CodStatus,
    pub delivered_at: Option<OffsetDateTime>,
    /// A "COD not remitted" anomaly fired for it and still holds (settling it must let the sweep close it).
    pub overdue: bool,
    /// Its order's reference, when read with it (empty otherwise).
    pub order_ref: String,
}

/// A page row of [`cod_shipments`]: its text borrowed from the page where JSON did not escape it.
#[derive(serde::Deserialize)]
struct PackedCod<'a>(
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    i64,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    Option<i64>,
    i64,
    #[serde(borrow, default)] Option<Cow<'a, str>>,
);

/// Where a parcel read by [`cod_shipments`] stood in the open-COD sums (migration 0017's rules), kept small
/// so a carrier's million parcels can wait beside the matching. The channel is an index into
/// [`Standings`]' names.
#[derive(Clone, Copy, Debug)]
struct Standing {
    channel: u32,
    cod: Money,
    /// Owed: delivered, cash expected or collected; the hour it was delivered (micros / 3.6e9).
    owed_hour: Option<i64>,
    /// Not delivered and its cash pending: travelling unless its scan status is final (not read here).
    maybe_travelling: bool,
    overdue: bool,
}

/// The open-COD standing of each parcel [`cod_shipments`] read, in its order: recording a remittance takes
/// out of the sums what the parcels it settles added, from this, instead of looking each one up again.
#[derive(Debug, Default)]
pub struct Standings {
    channels: Vec<String>,
    each: Vec<Standing>,
}

impl Standings {
    pub fn push(&mut self, s: &CodShipment) {
        let channel = match self.channels.iter().position(|c| *c == s.channel) {
            Some(i) => i,
            None => {
                self.channels.push(s.channel.clone());
                self.channels.len() - 1
            }
        } as u32;
        let positive = s.cod.minor > 0;
        let owed = positive && matches!(s.cod_status, CodStatus::Expected | CodStatus::Collected);
        self.each.push(Standing {
            channel,
            cod: s.cod,
            owed_hour: s.delivered_at.filter(|_| owed).map(|d| micros(d).div_euclid(3_600_000_000)),
            maybe_travelling: positive && s.delivered_at.is_none() && s.cod_status == CodStatus::Pending,
            overdue: s.overdue,
        });
    }

    /// What settling the parcels at `paid` (positions in the order read, with their ids) changes beside
    /// their rows.
    pub fn settling<'a>(&self, paid: impl IntoIterator<Item = (usize, &'a ShipmentId)>) -> Settling {
        let mut owed: HashMap<(u32, Currency, i64), (i64, i64)> = HashMap::new();
        let mut out = Settling::default();
        for (i, id) in paid {
            let Some(s) = self.each.get(i) else { continue };
            if let Some(hour) = s.owed_hour {
                let e = owed.entry((s.channel, s.cod.currency, hour)).or_default();
                e.0 += 1;
                e.1 += s.cod.minor;
            }
            if s.maybe_travelling {
                out.travelling.push(id.clone());
            }
            if s.overdue {
                out.overdue.push(id.clone());
            }
        }
        out.owed = owed
            .into_iter()
            .map(|((c, currency, hour), (parcels, amount))| OwedGroup {
                channel: self.channels[c as usize].clone(),
                currency,
                hour,
                parcels,
                amount,
            })
            .collect();
        out.owed.sort_by(|a, b| (&a.channel, a.currency, a.hour).cmp(&(&b.channel, b.currency, b.hour)));
        out
    }
}

/// Parcels owed in one group of the open-COD sums (carrier, currency, channel, delivery hour).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwedGroup {
    pub channel: String,
    pub currency: Currency,
    pub hour: i64,
    pub parcels: i64,
    pub amount: i64,
}

/// What [`settle_from_lines`] changes beside the parcels' rows: the owed sums the settled parcels leave,
/// the parcels that may be leaving the travelling sums, and those with a "COD not remitted" anomaly to
/// look at again.
#[derive(Debug, Default)]
pub struct Settling {
    pub owed: Vec<OwedGroup>,
    pub travelling: Vec<ShipmentId>,
    pub overdue: Vec<ShipmentId>,
}

/// What earlier statements paid toward each of `shipments` (parcels paid short), in the parcel's COD
/// currency's minor units.
pub async fn received_toward(
    conn: &mut AnyConnection,
    shipments: &[(&ShipmentId, Currency)],
) -> Result<HashMap<ShipmentId, i64>> {
    let mut out = HashMap::new();
    for chunk in shipments.chunks(500) {
        let sql = format!(
            "SELECT shipment_id, currency, CAST(SUM(amount_minor) AS BIGINT) AS received FROM statement_lines \
              WHERE shipment_id IN ({}) AND class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract') \
              GROUP BY shipment_id, currency",
            crate::db::params(conn, 0, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for (id, _) in chunk {
            q = q.bind(id.as_str());
        }
        let wanted: HashMap<&str, Currency> = chunk.iter().map(|(id, c)| (id.as_str(), *c)).collect();
        for r in q.fetch_all(&mut *conn).await? {
            let id: &str = r.try_get("shipment_id")?;
            if wanted.get(id).is_some_and(|c| c.code() == r.try_get::<&str, _>("currency").unwrap_or("")) {
                *out.entry(ShipmentId::parse(id)?).or_insert(0) += r.try_get::<i64, _>("received")?;
            }
        }
    }
    Ok(out)
}

/// Every COD shipment of `carrier` that can still be paid for, in id order.
pub async fn cod_shipments(conn: &mut AnyConnection, carrier: &str) -> Result<Vec<CodShipment>> {
    let mut out = Vec::new();
    cod_shipments_into(conn, carrier, false, &mut out, |s| s).await?;
    Ok(out)
}

/// As [`cod_shipments`], each parcel handed to `each` as it is read and its result pushed on `out`, with
/// room made once: a carrier's million parcels are not held twice, as read and as the caller wants them.
/// With `order_refs`, each order's reference is read too (a join to `orders` that costs SQLite about half
/// again). Read a page at a time, each page one JSON value on both engines (one value handed over instead of
/// a row per parcel).
pub async fn cod_shipments_into<T>(
    conn: &mut AnyConnection,
    carrier: &str,
    order_refs: bool,
    out: &mut Vec<T>,
    mut each: impl FnMut(CodShipment) -> T,
) -> Result<()> {
    const PAGE: i64 = 50_000;
    let row = "t.shipment_id, t.tracking_number, t.lane_channel, t.cod_minor, t.cod_currency, t.cod_status, \
               t.delivered_at, CASE WHEN t.fired LIKE '%cod_not_remitted%' THEN 1 ELSE 0 END";
    let sql = if order_refs {
        cod_page_sql(conn, &format!("{row}, o.external_id"), "tracking t JOIN orders o ON o.id = t.order_id")
    } else {
        cod_page_sql(conn, row, "tracking t")
    };
    // Room made once where the table's size is known at no cost: growing a vector of a million parcels by
    // doubling copies it into freshly faulted pages each time. Room never written is never faulted in.
    out.reserve(usize::try_from(tracking_rows(conn).await?.unwrap_or(0)).unwrap_or(0));
    let mut after = String::new();
    let mut currencies: Vec<Currency> = Vec::new();
    loop {
        let r = sqlx::query(&sql).bind(carrier).bind(&after).bind(PAGE).fetch_one(&mut *conn).await?;
        let Some(page) = r.try_get::<Option<&str>, _>("page")? else { break };
        let mut rows: Vec<PackedCod> =
            serde_json::from_str(page).map_err(|e| Error::Corrupt(format!("cod shipments: {e}")))?;
        // Pages are ranges of ids one after another; within one the aggregate does not promise the order.
        if !rows.is_sorted_by(|a, b| a.0 < b.0) {
            rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        let full = rows.len() as i64 == PAGE;
        let last = rows.last().map(|p| p.0.to_string());
        for p in rows {
            let currency = match currencies.iter().find(|c| c.code() == p.4) {
                Some(c) => *c,
                None => {
                    let c = Currency::parse(&p.4)?;
                    currencies.push(c);
                    c
                }
            };
            out.push(each(CodShipment {
                shipment_id: ShipmentId::parse(&p.0)?,
                tracking_number: p.1.into_owned(),
                channel: p.2.into_owned(),
                cod: Money::new(p.3, currency),
                cod_status: CodStatus::parse(&p.5).map_err(|_| Error::Corrupt(format!("cod status {:?}", p.5)))?,
                delivered_at: p.6.map(from_micros),
                overdue: p.7 != 0,
                order_ref: p.8.map(Cow::into_owned).unwrap_or_default(),
            }));
        }
        match last {
            Some(last) if full => after = last,
            _ => break,
        }
    }
    Ok(())
}

/// Rows of `row` (a shipment id first) from `from` (`tracking t` and what it joins) for the COD parcels of
/// carrier `$1` after id `$2`, `$3` of them in id order, as one JSON array of arrays.
fn cod_page_sql(conn: &AnyConnection, row: &str, from: &str) -> String {
    let rows = format!(
        "FROM {from} WHERE t.carrier = $1 AND t.cod_minor > 0 AND t.shipment_id > $2 ORDER BY t.shipment_id LIMIT $3"
    );
    if crate::db::Engine::of(conn) == crate::db::Engine::Sqlite {
        format!("SELECT '[' || group_concat(p, ',') || ']' AS page FROM (SELECT json_array({row}) AS p {rows})")
    } else {
        format!("SELECT COALESCE(json_agg(p), '[]')::text AS page FROM (SELECT json_build_array({row}) AS p {rows}) s")
    }
}

/// The order references of `carrier`'s COD shipments whose order bears one of `refs`, as (shipment, the
/// order's external id). (Every parcel's reference comes with the parcels from [`cod_shipments_into`].)
pub async fn cod_order_refs(
    conn: &mut AnyConnection,
    carrier: &str,
    refs: &[&str],
) -> Result<Vec<(ShipmentId, String)>> {
    let mut out = Vec::new();
    for chunk in crate::db::pow2_chunks(refs, 512) {
        let sql = format!(
            "SELECT t.shipment_id, o.external_id FROM orders o JOIN tracking t ON t.order_id = o.id \
             WHERE o.external_id IN ({}) AND t.carrier = {} AND t.cod_minor > 0",
            crate::params(conn, 0, chunk.len()),
            crate::param(conn, chunk.len() + 1)
        );
        let mut q = sqlx::query(&sql);
        for k in chunk {
            q = q.bind(*k);
        }
        for r in q.bind(carrier).fetch_all(&mut *conn).await? {
            out.push((ShipmentId::parse(r.try_get::<&str, _>("shipment_id")?)?, r.try_get("external_id")?));
        }
    }
    Ok(out)
}

/// A shipment a freight invoice names, with what it was booked at.
#[derive(Clone, Debug)]
pub struct InvoicedShipment {
    pub shipment_id: ShipmentId,
    pub tracking_number: String,
    pub order_ref: String,
    pub channel: String,
    pub weight_g: i64,
    /// Our scale's reading at the pack station, when it was weighed there.
    pub measured_weight_g: Option<i64>,
    /// The order's channel choice as stored (JSON), with the quote of each channel ranked.
    pub choice: Option<String>,
    /// Billed by an earlier invoice.
    pub invoiced: bool,
}

/// The carrier's shipments named by an invoice, by tracking number or by the order's reference.
pub async fn invoiced_shipments(
    conn: &mut AnyConnection,
    carrier: &str,
    tracking_numbers: &[&str],
    order_refs: &[&str],
) -> Result<Vec<InvoicedShipment>> {
    let mut out: Vec<InvoicedShipment> = Vec::new();
    for (column, keys) in [("s.tracking_number", tracking_numbers), ("o.external_id", order_refs)] {
        for chunk in crate::db::pow2_chunks(keys, 512) {
            let sql = format!(
                "SELECT s.id, s.tracking_number, o.external_id, s.channel, s.weight_g, o.allocation, \
                 (SELECT p.weight_g FROM packs p WHERE p.shipment_id = s.id) AS measured_weight_g, \
                 CAST(CASE WHEN EXISTS (SELECT 1 FROM statement_lines l JOIN statements st ON st.id = l.statement_id \
                   WHERE l.shipment_id = s.id AND st.kind = 'freight_invoice' \
                   AND l.amount_minor >= 0 AND l.class NOT IN ('duplicate', 'unknown_reference')) THEN 1 ELSE 0 END \
                   AS BIGINT) AS invoiced \
                 FROM shipments s JOIN orders o ON o.id = s.order_id \
                 WHERE s.carrier = {} AND s.tracking_number IS NOT NULL AND {column} IN ({})",
                crate::param(conn, 1),
                crate::params(conn, 1, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(carrier);
            for k in chunk {
                q = q.bind(*k);
            }
            for r in q.fetch_all(&mut *conn).await? {
                out.push(InvoicedShipment {
                    shipment_id: ShipmentId::parse(r.try_get::<&str, _>("id")?)?,
                    tracking_number: r.try_get("tracking_number")?,
                    order_ref: r.try_get("external_id")?,
                    channel: r.try_get("channel")?,
                    weight_g: r.try_get("weight_g")?,
                    measured_weight_g: r.try_get("measured_weight_g")?,
                    choice: r.try_get("allocation")?,
                    invoiced: r.try_get::<i64, _>("invoiced")? != 0,
                });
            }
        }
    }
    out.sort_by(|a, b| a.shipment_id.as_str().cmp(b.shipment_id.as_str()));
    out.dedup_by(|a, b| a.shipment_id == b.shipment_id);
    Ok(out)
}

/// The evidence of an invoice's lines.
pub async fn insert_checks(
    conn: &mut AnyConnection,
    id: &StatementId,
    checks: &[(u32, &ShipmentId, &Evidence)],
) -> Result<()> {
    const COLS: usize = 9;
    for chunk in checks.chunks(BULK_CHUNK) {
        let mut vals = Vec::with_capacity(chunk.len() * COLS);
        for (line, shipment, e) in chunk {
            vals.extend([
                Val::from(id.as_str()),
                i64::from(*line).into(),
                shipment.as_str().into(),
                e.declared_weight_g.into(),
                Val::OptInt(e.measured_weight_g),
                Val::OptInt(e.quoted_weight_g),
                Val::OptInt(e.billed_weight_g),
                Val::OptText(e.quoted_zone.clone()),
                Val::OptText(e.billed_zone.clone()),
            ]);
        }
        let head = "INTO invoice_checks (statement_id, line, shipment_id, declared_weight_g, measured_weight_g, \
                    quoted_weight_g, billed_weight_g, quoted_zone, billed_zone)";
        insert_values_counted(conn, head, "", vals).await?;
    }
    Ok(())
}

/// The evidence kept for one invoice line (its amounts are on the statement line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceCheck {
    pub declared_weight_g: i64,
    pub measured_weight_g: Option<i64>,
    pub quoted_weight_g: Option<i64>,
    pub billed_weight_g: Option<i64>,
    pub quoted_zone: Option<String>,
    pub billed_zone: Option<String>,
}

pub async fn check_of(conn: &mut AnyConnection, id: &StatementId, line: i64) -> Result<Option<InvoiceCheck>> {
    let r = sqlx::query(
        "SELECT declared_weight_g, measured_weight_g, quoted_weight_g, billed_weight_g, quoted_zone, billed_zone \
         FROM invoice_checks \
         WHERE statement_id = $1 AND line = $2",
    )
    .bind(id.as_str())
    .bind(line)
    .fetch_optional(conn)
    .await?;
    r.map(|r| {
        Ok(InvoiceCheck {
            declared_weight_g: r.try_get("declared_weight_g")?,
            measured_weight_g: r.try_get("measured_weight_g")?,
            quoted_weight_g: r.try_get("quoted_weight_g")?,
            billed_weight_g: r.try_get("billed_weight_g")?,
            quoted_zone: r.try_get("quoted_zone")?,
            billed_zone: r.try_get("billed_zone")?,
        })
    })
    .transpose()
}

/// Whether [`settle_from_lines`] moves by the parcels' standing as read ([`Standings`]). On SQLite the
/// writer's transaction read the parcels and nothing else writes before it ends, so their standing as read
/// is their standing at the move. On PostgreSQL a delivery scan or the sweep may change a parcel between the
/// read and the move: the sums and the wake-up are taken from the rows as the move finds them, and no
/// standing need be kept.
pub fn settles_as_read(engine: crate::db::Engine) -> bool {
    engine == crate::db::Engine::Sqlite
}

/// Moves the cash of the shipments a remittance's lines paid on (short paid, or remitted), by statements over
/// the lines just written: a million shipments' keys are not sent back to the database. `settling` is what
/// those parcels stood at when read in this transaction ([`Standings::settling`]), used where
/// [`settles_as_read`].
pub async fn settle_from_lines(
    conn: &mut AnyConnection,
    id: &StatementId,
    carrier: &str,
    settling: &Settling,
    at: OffsetDateTime,
) -> Result<u64> {
    // A range of lines per statement: SQLite journals every page a statement changes until the statement
    // ends (in memory, as `temp_store` is), so one UPDATE over a million parcels held ~350 MiB of page
    // images; a slice at a time holds a slice's.
    const SLICE: i64 = 100_000;
    let last: Option<i64> =
        sqlx::query("SELECT CAST(MAX(line) AS BIGINT) AS last FROM statement_lines WHERE statement_id = $1")
            .bind(id.as_str())
            .fetch_one(&mut *conn)
            .await?
            .try_get("last")?;
    let as_read = settles_as_read(crate::db::Engine::of(conn));
    bulk_cod_moves(conn, true).await?;
    // The parcels leave the open-COD sums before their rows change: every state a line moves a parcel to
    // (remitted, short paid) is outside both sums, so each open parcel takes out what it added.
    if as_read {
        take_out_as_read(conn, carrier, settling).await?;
    }
    let slice_deltas = format!("{LEAVING} {} UNION ALL {}", owed_leaving(PAID_SLICE), travelling_leaving(PAID_SLICE));
    let owed: i64 = settling.owed.iter().map(|g| g.parcels).sum();
    let rebuild = owed_index_aside(conn, owed).await?;
    let mut n = 0;
    let mut from = 0;
    while from <= last.unwrap_or(-1) {
        if !as_read {
            sqlx::query(&slice_deltas).bind(id.as_str()).bind(from).bind(from + SLICE).execute(&mut *conn).await?;
        }
        n += sqlx::query(
            "UPDATE tracking SET cod_status = v.cod_status \
             FROM (SELECT shipment_id, CASE WHEN class = 'short_paid' THEN 'short_paid' ELSE 'remitted' END AS cod_status \
                   FROM statement_lines WHERE statement_id = $1 AND line >= $2 AND line < $3 \
                   AND class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract')) v \
             WHERE tracking.shipment_id = v.shipment_id",
        )
        .bind(id.as_str())
        .bind(from)
        .bind(from + SLICE)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        from += SLICE;
    }
    if let Some(sql) = rebuild {
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    bulk_cod_moves(conn, false).await?;
    // Only shipments with an open "COD not remitted" anomaly need looking at again (it closes itself); making
    // a million settled shipments due would hand the sweep a million evaluations for nothing.
    if as_read {
        for chunk in settling.overdue.chunks(500) {
            let sql = format!(
                "UPDATE tracking SET due_at = {} WHERE shipment_id IN ({})",
                crate::db::param(conn, 1),
                crate::db::params(conn, 1, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind(micros(at));
            for s in chunk {
                q = q.bind(s.as_str());
            }
            q.execute(&mut *conn).await?;
        }
    } else {
        let sql = format!(
            "UPDATE tracking SET due_at = $2 WHERE fired LIKE '%cod_not_remitted%' AND shipment_id IN ({PAID})"
        );
        sqlx::query(&sql).bind(id.as_str()).bind(micros(at)).execute(&mut *conn).await?;
    }
    Ok(n)
}

/// The statement's lines that paid a parcel, and a slice of them by line (`$2 <= line < $3`).
const PAID: &str = "SELECT shipment_id FROM statement_lines WHERE statement_id = $1 \
    AND class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract')";
const PAID_SLICE: &str = "SELECT shipment_id FROM statement_lines WHERE statement_id = $1 AND line >= $2 \
    AND line < $3 AND class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract')";

/// What parcels leaving the open-COD sums are written as: negative deltas, folded later like the trigger's.
const LEAVING: &str = "INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount)";

/// The owed groups the parcels `keys` selects (a subquery or a list of parameters) leave, by migration
/// 0017's rules, before their rows change.
fn owed_leaving(keys: &str) -> String {
    format!(
        "SELECT 'owed', carrier, cod_currency, lane_channel, '', delivered_at / 3600000000, -COUNT(*), \
                -CAST(SUM(cod_minor) AS BIGINT) FROM tracking \
          WHERE shipment_id IN ({keys}) AND cod_status IN ('expected', 'collected') \
            AND delivered_at IS NOT NULL AND cod_minor > 0 \
          GROUP BY carrier, cod_currency, lane_channel, delivered_at / 3600000000"
    )
}

/// As [`owed_leaving`] for the travelling groups.
fn travelling_leaving(keys: &str) -> String {
    format!(
        "SELECT 'travelling', '', cod_currency, lane_channel, lane_country, booked_at / 86400000000, -COUNT(*), \
                -CAST(SUM(cod_minor) AS BIGINT) FROM tracking \
          WHERE shipment_id IN ({keys}) AND cod_minor > 0 AND delivered_at IS NULL AND cod_status = 'pending' \
            AND status NOT IN ('returning', 'returned', 'lost', 'damaged', 'cancelled') \
          GROUP BY cod_currency, lane_channel, lane_country, booked_at / 86400000000"
    )
}

/// Takes the settled parcels out of the open-COD sums from their standing as read: the owed groups are
/// known; whether a parcel not yet delivered is travelling depends on its scan status, so those few are
/// asked for.
async fn take_out_as_read(conn: &mut AnyConnection, carrier: &str, settling: &Settling) -> Result<()> {
    let mut vals = Vec::with_capacity(settling.owed.len() * 8);
    for g in &settling.owed {
        vals.extend([
            Val::from("owed"),
            carrier.into(),
            g.currency.code().into(),
            g.channel.as_str().into(),
            "".into(),
            g.hour.into(),
            (-g.parcels).into(),
            (-g.amount).into(),
        ]);
    }
    insert_values_counted(conn, LEAVING.trim_start_matches("INSERT "), "", vals).await?;
    for chunk in settling.travelling.chunks(500) {
        let sql = format!("{LEAVING} {}", travelling_leaving(&crate::db::params(conn, 0, chunk.len())));
        let mut q = sqlx::query(&sql);
        for s in chunk {
            q = q.bind(s.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// On SQLite, when a move takes at least a tenth of `tracking`'s rows out of `tracking_owed_by_hour_of_day`,
/// drops the index for the move and returns the statement that builds it again: deleting a million entries
/// one by one took 1.5 s, building it from the parcels still owed 0.13 s (1M parcels, all moved), so the
/// drop pays from about a tenth. Inside the
/// writer's transaction, readers keep the index they see until it commits; a failure takes the drop back.
/// PostgreSQL keeps its index: dropping it would lock `tracking` against every reader until the commit.
async fn owed_index_aside(conn: &mut AnyConnection, owed: i64) -> Result<Option<String>> {
    if crate::db::Engine::of(conn) != crate::db::Engine::Sqlite || owed == 0 {
        return Ok(None);
    }
    if owed * 10 < tracking_rows(conn).await?.unwrap_or(0) {
        return Ok(None);
    }
    let definition = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'tracking_owed_by_hour_of_day'";
    let row = sqlx::query(definition).fetch_optional(&mut *conn).await?;
    let Some(sql) = row.map(|r| r.try_get::<String, _>("sql")).transpose()? else { return Ok(None) };
    // SQLite only
    sqlx::query("DROP INDEX tracking_owed_by_hour_of_day").execute(&mut *conn).await?;
    Ok(Some(sql))
}

/// At least as many as `tracking`'s rows, read from its largest rowid (no scan), on SQLite; `None` on
/// PostgreSQL.
async fn tracking_rows(conn: &mut AnyConnection) -> Result<Option<i64>> {
    if crate::db::Engine::of(conn) != crate::db::Engine::Sqlite {
        return Ok(None);
    }
    // SQLite only
    let q = sqlx::query("SELECT CAST(COALESCE(MAX(rowid), 0) AS BIGINT) AS n FROM tracking");
    Ok(Some(q.fetch_one(&mut *conn).await?.try_get("n")?))
}

/// Stands the open-COD trigger aside in this transaction while a bulk move keeps the sums itself (migration
/// 0046), or brings it back. A transaction that fails in between takes the switch back with it.
async fn bulk_cod_moves(conn: &mut AnyConnection, on: bool) -> Result<()> {
    let q = match (crate::db::Engine::of(conn), on) {
        // SQLite only
        (crate::db::Engine::Sqlite, true) => sqlx::query("INSERT INTO cod_open_bulk (held) VALUES (1)"),
        // SQLite only
        (crate::db::Engine::Sqlite, false) => sqlx::query("DELETE FROM cod_open_bulk"),
        (crate::db::Engine::Postgres, on) => {
            // PostgreSQL only
            sqlx::query("SELECT set_config('codflow.cod_open_bulk', $1, true)").bind(if on { "on" } else { "off" })
        }
    };
    q.execute(conn).await?;
    Ok(())
}

pub async fn missing_count(conn: &mut AnyConnection, id: &StatementId) -> Result<i64> {
    let r = sqlx::query("SELECT COUNT(*) AS n FROM statement_missing WHERE statement_id = $1")
        .bind(id.as_str())
        .fetch_one(conn)
        .await?;
    Ok(r.try_get("n")?)
}

/// For each reference, what the carrier's remittances under it paid (lines that paid a shipment of ours),
/// and whether a payout already carried it.
pub async fn remitted_by_reference(conn: &mut AnyConnection, refs: &[&str]) -> Result<Vec<(String, Money, bool)>> {
    let mut refs: Vec<&str> = refs.to_vec();
    refs.sort_unstable();
    refs.dedup();
    let mut remitted = Vec::new();
    let mut paid_out = std::collections::HashSet::new();
    for chunk in crate::db::pow2_chunks(&refs, 512) {
        let from = format!(
            "FROM statement_lines l JOIN statements s ON s.id = l.statement_id WHERE l.reference IN ({})",
            crate::params(conn, 0, chunk.len())
        );
        let sums = format!(
            "SELECT l.reference, l.currency, CAST(SUM(l.net_minor) AS BIGINT) AS net {from} \
             AND s.kind = 'cod_remittance' AND l.class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract') \
             GROUP BY l.reference, l.currency"
        );
        // Which of them a payout already carried: one pass, not a subquery per remittance line.
        let paid = format!(
            "SELECT DISTINCT l.reference, l.currency {from} AND s.kind = 'payout' AND l.class IN ('matched', 'short_paid', 'over_paid')"
        );
        let mut q = sqlx::query(&sums);
        for r in chunk {
            q = q.bind(*r);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let reference: String = r.try_get("reference")?;
            remitted.push((reference, Money::new(r.try_get("net")?, Currency::parse(r.try_get("currency")?)?)));
        }
        let mut q = sqlx::query(&paid);
        for r in chunk {
            q = q.bind(*r);
        }
        for r in q.fetch_all(&mut *conn).await? {
            paid_out.insert((r.try_get::<String, _>("reference")?, r.try_get::<String, _>("currency")?));
        }
    }
    Ok(remitted
        .into_iter()
        .map(|(r, net)| {
            let paid = paid_out.contains(&(r.clone(), net.currency.code().to_owned()));
            (r, net, paid)
        })
        .collect())
}

/// What each remittance reference paid, per currency and day its parcels were delivered: a payout converts
/// it at once, and the ledger values it at each day's rate.
pub async fn remitted_by_delivery_day(conn: &mut AnyConnection, refs: &[&str]) -> Result<Vec<(String, Money, Date)>> {
    let mut refs: Vec<&str> = refs.to_vec();
    refs.sort_unstable();
    refs.dedup();
    let mut out = Vec::new();
    for chunk in crate::db::pow2_chunks(&refs, 512) {
        let sql = format!(
            "SELECT l.reference, l.currency, t.delivered_at / 86400000000 AS day, CAST(SUM(l.net_minor) AS BIGINT) AS net \
             FROM statement_lines l JOIN statements s ON s.id = l.statement_id \
             JOIN tracking t ON t.shipment_id = l.shipment_id \
             WHERE l.reference IN ({}) AND s.kind = 'cod_remittance' AND t.delivered_at IS NOT NULL \
             AND l.class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract') \
             GROUP BY l.reference, l.currency, t.delivered_at / 86400000000",
            crate::params(conn, 0, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q.bind(*r);
        }
        for r in q.fetch_all(&mut *conn).await? {
            let day: i64 = r.try_get("day")?;
            let day = from_micros(day * 86_400_000_000).date();
            let net = Money::new(r.try_get("net")?, Currency::parse(r.try_get("currency")?)?);
            out.push((r.try_get("reference")?, net, day));
        }
    }
    Ok(out)
}
