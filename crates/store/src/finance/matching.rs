//! What reconciliation reads and writes beside the statement: the parcels a file is matched against, the
//! invoice checks, the cash states moved, and what earlier statements paid.

use super::*;

/// A COD shipment as reconciliation needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodShipment {
    pub shipment_id: ShipmentId,
    pub order_id: OrderId,
    pub tracking_number: String,
    pub order_ref: String,
    pub channel: String,
    pub cod: Money,
    pub cod_status: CodStatus,
    pub delivered_at: Option<OffsetDateTime>,
}

#[derive(serde::Deserialize)]
struct PackedCod(String, String, String, String, String, i64, String, String, Option<i64>);

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

/// Every COD shipment of `carrier` that can still be paid for, read in key order a page at a time (each
/// page one JSON value, on both engines).
pub async fn cod_shipments(conn: &mut AnyConnection, carrier: &str) -> Result<Vec<CodShipment>> {
    const PAGE: i64 = 50_000;
    let row = "t.shipment_id, t.order_id, t.tracking_number, o.external_id, t.lane_channel, t.cod_minor, \
               t.cod_currency, t.cod_status, t.delivered_at";
    let sql = if crate::db::Engine::of(conn) == crate::db::Engine::Sqlite {
        format!(
            "SELECT '[' || group_concat(p, ',') || ']' AS page FROM (SELECT json_array({row}) AS p FROM tracking t \
             JOIN orders o ON o.id = t.order_id WHERE t.carrier = $1 AND t.cod_minor > 0 AND t.shipment_id > $2 \
             ORDER BY t.shipment_id LIMIT $3)"
        )
    } else {
        format!(
            "SELECT COALESCE(json_agg(p), '[]')::text AS page FROM (SELECT json_build_array({row}) AS p FROM tracking t \
             JOIN orders o ON o.id = t.order_id WHERE t.carrier = $1 AND t.cod_minor > 0 AND t.shipment_id > $2 \
             ORDER BY t.shipment_id LIMIT $3) s"
        )
    };
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let r = sqlx::query(&sql).bind(carrier).bind(&after).bind(PAGE).fetch_one(&mut *conn).await?;
        let Some(page) = r.try_get::<Option<&str>, _>("page")? else { break };
        let rows: Vec<PackedCod> =
            serde_json::from_str(page).map_err(|e| Error::Corrupt(format!("cod shipments: {e}")))?;
        let n = rows.len();
        for p in rows {
            let currency = Currency::parse(&p.6)?;
            out.push(CodShipment {
                shipment_id: ShipmentId::parse(&p.0)?,
                order_id: OrderId::parse(&p.1)?,
                tracking_number: p.2,
                order_ref: p.3,
                channel: p.4,
                cod: Money::new(p.5, currency),
                cod_status: CodStatus::parse(&p.7).map_err(|_| Error::Corrupt(format!("cod status {:?}", p.7)))?,
                delivered_at: p.8.map(from_micros),
            });
        }
        // The largest id read: the page's order is not promised by the aggregate.
        match out.iter().rev().take(n).map(|c| c.shipment_id.as_str()).max() {
            Some(last) if n as i64 == PAGE => after = last.to_owned(),
            _ => break,
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

/// Moves the cash of the shipments a remittance's lines paid on (short paid, or remitted), by statements over
/// the lines just written: a million shipments' keys are not sent back to the database.
pub async fn settle_from_lines(conn: &mut AnyConnection, id: &StatementId, at: OffsetDateTime) -> Result<u64> {
    const PAID: &str = "SELECT shipment_id FROM statement_lines WHERE statement_id = $1 \
        AND class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract')";
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
    let mut n = 0;
    let mut from = 0;
    // The parcels leave the open-COD sums as whole groups, before their rows change: every state a line
    // moves a parcel to (remitted, short paid) is outside both sums, so each parcel of the slice that was
    // open takes out what it added, once however many lines name it.
    let slice = "SELECT shipment_id FROM statement_lines WHERE statement_id = $1 AND line >= $2 AND line < $3 \
                 AND class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract')";
    let deltas = format!(
        "INSERT INTO cod_open_delta (kind, carrier, currency, channel, country, bucket, parcels, amount) \
         SELECT 'owed', carrier, cod_currency, lane_channel, '', delivered_at / 3600000000, -COUNT(*), \
                -CAST(SUM(cod_minor) AS BIGINT) FROM tracking \
          WHERE shipment_id IN ({slice}) AND cod_status IN ('expected', 'collected') \
            AND delivered_at IS NOT NULL AND cod_minor > 0 \
          GROUP BY carrier, cod_currency, lane_channel, delivered_at / 3600000000 \
         UNION ALL \
         SELECT 'travelling', '', cod_currency, lane_channel, lane_country, booked_at / 86400000000, -COUNT(*), \
                -CAST(SUM(cod_minor) AS BIGINT) FROM tracking \
          WHERE shipment_id IN ({slice}) AND cod_minor > 0 AND delivered_at IS NULL AND cod_status = 'pending' \
            AND status NOT IN ('returning', 'returned', 'lost', 'damaged', 'cancelled') \
          GROUP BY cod_currency, lane_channel, lane_country, booked_at / 86400000000"
    );
    bulk_cod_moves(conn, true).await?;
    while from <= last.unwrap_or(-1) {
        sqlx::query(&deltas).bind(id.as_str()).bind(from).bind(from + SLICE).execute(&mut *conn).await?;
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
    bulk_cod_moves(conn, false).await?;
    // Only shipments with an open "COD not remitted" task need looking at again (it closes itself); making a
    // million settled shipments due would hand the sweep a million evaluations for nothing.
    let sql =
        format!("UPDATE tracking SET due_at = $2 WHERE fired LIKE '%cod_not_remitted%' AND shipment_id IN ({PAID})");
    sqlx::query(&sql).bind(id.as_str()).bind(micros(at)).execute(conn).await?;
    Ok(n)
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
