//! Settlement profiles, imported statements with their lines as matched, and the COD ledger.

use std::collections::HashMap;

use codflow_domain::finance::aging::Open;
use codflow_domain::finance::invoice::Evidence;
use codflow_domain::finance::ledger::{Account, Entry, EntryKind};
use codflow_domain::finance::reconcile::{LineClass, LineMatch, Missing};
use codflow_domain::finance::statement::{LineError, Profile, StatementKind, StatementLine};
use codflow_domain::money::{Currency, Money};
use codflow_domain::tracking::CodStatus;
use codflow_domain::{OrderId, ShipmentId, StatementId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::{Date, OffsetDateTime};

use crate::db::{from_micros, micros};
use crate::orders::{Val, insert_values_counted};
use crate::{Error, Result};

pub async fn put_profile(conn: &mut AnyConnection, p: &Profile, at: OffsetDateTime) -> Result<bool> {
    let config = serde_json::to_string(p).map_err(|e| Error::Corrupt(format!("profile: {e}")))?;
    let updated = sqlx::query("UPDATE settlement_profiles SET kind = $2, config = $3, updated_at = $4 WHERE name = $1")
        .bind(&p.name)
        .bind(p.kind.as_str())
        .bind(&config)
        .bind(micros(at))
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if updated == 0 {
        sqlx::query(
            "INSERT INTO settlement_profiles (name, kind, config, builtin, updated_at) VALUES ($1, $2, $3, 0, $4)",
        )
        .bind(&p.name)
        .bind(p.kind.as_str())
        .bind(&config)
        .bind(micros(at))
        .execute(&mut *conn)
        .await?;
    }
    Ok(updated == 0)
}

fn profile_of(r: &AnyRow) -> Result<Profile> {
    let config: &str = r.try_get("config")?;
    serde_json::from_str(config).map_err(|e| Error::Corrupt(format!("settlement profile: {e}")))
}

pub async fn profile(conn: &mut AnyConnection, name: &str) -> Result<Option<Profile>> {
    sqlx::query("SELECT config FROM settlement_profiles WHERE name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(profile_of)
        .transpose()
}

pub async fn profiles(conn: &mut AnyConnection) -> Result<Vec<Profile>> {
    sqlx::query("SELECT config FROM settlement_profiles ORDER BY name")
        .fetch_all(conn)
        .await?
        .iter()
        .map(profile_of)
        .collect()
}

pub async fn delete_profile(conn: &mut AnyConnection, name: &str) -> Result<bool> {
    let n = sqlx::query("DELETE FROM settlement_profiles WHERE name = $1").bind(name).execute(conn).await?;
    Ok(n.rows_affected() > 0)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementRow {
    pub id: StatementId,
    pub kind: StatementKind,
    pub profile: String,
    pub carrier: Option<String>,
    pub file_name: String,
    pub content_hash: String,
    pub lines: i64,
    pub errors: i64,
    pub as_of: Date,
    pub imported_at: OffsetDateTime,
    pub imported_by: String,
}

const STATEMENT_COLS: &str =
    "id, kind, profile, carrier, file_name, content_hash, lines, errors, as_of, imported_at, imported_by";

fn statement_of(r: &AnyRow) -> Result<StatementRow> {
    let kind: &str = r.try_get("kind")?;
    Ok(StatementRow {
        id: StatementId::parse(r.try_get("id")?)?,
        kind: StatementKind::parse(kind)?,
        profile: r.try_get("profile")?,
        carrier: r.try_get("carrier")?,
        file_name: r.try_get("file_name")?,
        content_hash: r.try_get("content_hash")?,
        lines: r.try_get("lines")?,
        errors: r.try_get("errors")?,
        as_of: from_micros(r.try_get("as_of")?).date(),
        imported_at: from_micros(r.try_get("imported_at")?),
        imported_by: r.try_get("imported_by")?,
    })
}

pub async fn statement_by_hash(conn: &mut AnyConnection, hash: &str) -> Result<Option<StatementRow>> {
    let sql = format!("SELECT {STATEMENT_COLS} FROM statements WHERE content_hash = $1");
    sqlx::query(&sql).bind(hash).fetch_optional(conn).await?.as_ref().map(statement_of).transpose()
}

pub async fn statement(conn: &mut AnyConnection, id: &StatementId) -> Result<Option<StatementRow>> {
    let sql = format!("SELECT {STATEMENT_COLS} FROM statements WHERE id = $1");
    sqlx::query(&sql).bind(id.as_str()).fetch_optional(conn).await?.as_ref().map(statement_of).transpose()
}

/// Newest first, strictly before `before` when given.
pub async fn statements(
    conn: &mut AnyConnection,
    before: Option<&StatementId>,
    limit: i64,
) -> Result<Vec<StatementRow>> {
    let sql = format!("SELECT {STATEMENT_COLS} FROM statements WHERE ($1 = '' OR id < $1) ORDER BY id DESC LIMIT $2");
    let rows = sqlx::query(&sql).bind(before.map_or("", |b| b.as_str())).bind(limit).fetch_all(conn).await?;
    rows.iter().map(statement_of).collect()
}

/// Records a statement; false when one with the same content is already there (a concurrent import).
pub async fn insert_statement(conn: &mut AnyConnection, s: &StatementRow) -> Result<bool> {
    let sql = format!(
        "INSERT INTO statements ({STATEMENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (content_hash) DO NOTHING"
    );
    let n = sqlx::query(&sql)
        .bind(s.id.as_str())
        .bind(s.kind.as_str())
        .bind(&s.profile)
        .bind(s.carrier.as_deref())
        .bind(&s.file_name)
        .bind(&s.content_hash)
        .bind(s.lines)
        .bind(s.errors)
        .bind(micros(s.as_of.midnight().assume_utc()))
        .bind(micros(s.imported_at))
        .bind(&s.imported_by)
        .execute(conn)
        .await?;
    Ok(n.rows_affected() == 1)
}

const LINE_COLS: [&str; 21] = [
    "statement_id",
    "line",
    "tracking_number",
    "order_ref",
    "reference",
    "line_date",
    "currency",
    "amount_minor",
    "fee_minor",
    "freight_minor",
    "other_minor",
    "net_minor",
    "fx_rate",
    "settled_minor",
    "settled_currency",
    "class",
    "shipment_id",
    "expected_minor",
    "expected_currency",
    "difference_minor",
    "contract_fee_minor",
];

/// Rows bound per round of bulk inserts.
const BULK_CHUNK: usize = 20_000;

pub async fn insert_lines(
    conn: &mut AnyConnection,
    id: &StatementId,
    lines: &[(&StatementLine, &LineMatch)],
) -> Result<()> {
    let head = format!("INTO statement_lines ({})", LINE_COLS.join(", "));
    // A chunk at a time: a million lines' values at once would hold a gigabyte.
    for chunk in lines.chunks(BULK_CHUNK) {
        insert_values_counted(conn, &head, "", LINE_COLS.len(), line_values(id, chunk)).await?;
    }
    Ok(())
}

fn line_values(id: &StatementId, lines: &[(&StatementLine, &LineMatch)]) -> Vec<Val> {
    let mut vals = Vec::with_capacity(lines.len() * LINE_COLS.len());
    for (l, m) in lines {
        vals.extend([
            Val::from(id.as_str()),
            i64::from(l.line).into(),
            Val::OptText(l.tracking_number.clone()),
            Val::OptText(l.order_ref.clone()),
            Val::OptText(l.reference.clone()),
            Val::OptText(l.date.map(|d| d.to_string())),
            l.amount.currency.code().into(),
            l.amount.minor.into(),
            l.fee.minor.into(),
            l.freight.minor.into(),
            l.other.minor.into(),
            l.net.minor.into(),
            Val::OptText(l.fx_rate.map(|r| r.to_string())),
            Val::OptInt(l.settled.map(|s| s.minor)),
            Val::OptText(l.settled.map(|s| s.currency.code().to_owned())),
            m.class.as_str().into(),
            Val::OptText(m.shipment.as_ref().map(|s| s.to_string())),
            Val::OptInt(m.expected.map(|e| e.minor)),
            Val::OptText(m.expected.map(|e| e.currency.code().to_owned())),
            Val::OptInt(m.difference.map(|d| d.minor)),
            Val::OptInt(m.contract_fee.map(|f| f.minor)),
        ]);
    }
    vals
}

pub async fn insert_errors(conn: &mut AnyConnection, id: &StatementId, errors: &[LineError]) -> Result<()> {
    let mut vals = Vec::with_capacity(errors.len() * 4);
    for e in errors {
        vals.extend([
            Val::from(id.as_str()),
            i64::from(e.line).into(),
            e.field.as_str().into(),
            e.message.as_str().into(),
        ]);
    }
    insert_values_counted(conn, "INTO statement_errors (statement_id, line, field, message)", "", 4, vals).await?;
    Ok(())
}

pub async fn insert_missing(conn: &mut AnyConnection, id: &StatementId, missing: &[Missing]) -> Result<()> {
    let mut vals = Vec::with_capacity(missing.len() * 5);
    for m in missing {
        vals.extend([
            Val::from(id.as_str()),
            m.shipment.as_str().into(),
            m.expected.currency.code().into(),
            m.expected.minor.into(),
            Val::Text(m.due_on.to_string()),
        ]);
    }
    let head = "INTO statement_missing (statement_id, shipment_id, currency, expected_minor, due_on)";
    insert_values_counted(conn, head, "", 5, vals).await?;
    Ok(())
}

/// A stored line with its verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLine {
    pub line: i64,
    pub tracking_number: Option<String>,
    pub order_ref: Option<String>,
    pub reference: Option<String>,
    pub date: Option<String>,
    pub amount: Money,
    pub fee: Money,
    pub freight: Money,
    pub other: Money,
    pub net: Money,
    pub class: LineClass,
    pub shipment_id: Option<ShipmentId>,
    pub expected: Option<Money>,
    pub difference: Option<Money>,
    pub contract_fee: Option<Money>,
}

fn stored_line(r: &AnyRow) -> Result<StoredLine> {
    let c = Currency::parse(r.try_get("currency")?)?;
    let m = |col: &str| -> Result<Money> { Ok(Money::new(r.try_get(col)?, c)) };
    let om = |col: &str| -> Result<Option<Money>> { Ok(r.try_get::<Option<i64>, _>(col)?.map(|v| Money::new(v, c))) };
    let class: &str = r.try_get("class")?;
    Ok(StoredLine {
        line: r.try_get("line")?,
        tracking_number: r.try_get("tracking_number")?,
        order_ref: r.try_get("order_ref")?,
        reference: r.try_get("reference")?,
        date: r.try_get("line_date")?,
        amount: m("amount_minor")?,
        fee: m("fee_minor")?,
        freight: m("freight_minor")?,
        other: m("other_minor")?,
        net: m("net_minor")?,
        class: LineClass::parse(class).ok_or_else(|| Error::Corrupt(format!("line class {class:?}")))?,
        shipment_id: r.try_get::<Option<&str>, _>("shipment_id")?.map(ShipmentId::parse).transpose()?,
        expected: match r.try_get::<Option<&str>, _>("expected_currency")? {
            Some(ec) => {
                let ec = Currency::parse(ec)?;
                r.try_get::<Option<i64>, _>("expected_minor")?.map(|v| Money::new(v, ec))
            }
            None => om("expected_minor")?,
        },
        difference: om("difference_minor")?,
        contract_fee: om("contract_fee_minor")?,
    })
}

/// A statement's lines in line order after `after`, only of `class` when given.
pub async fn lines(
    conn: &mut AnyConnection,
    id: &StatementId,
    class: Option<LineClass>,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredLine>> {
    let sql = format!(
        "SELECT {} FROM statement_lines WHERE statement_id = $1 AND line > $2 AND ($3 = '' OR class = $3) \
         ORDER BY line LIMIT $4",
        LINE_COLS.join(", ")
    );
    let rows = sqlx::query(&sql)
        .bind(id.as_str())
        .bind(after)
        .bind(class.map_or("", |c| c.as_str()))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(stored_line).collect()
}

/// Lines, amounts and currency per class of a statement.
pub async fn class_totals(conn: &mut AnyConnection, id: &StatementId) -> Result<Vec<(LineClass, Currency, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT class, currency, COUNT(*) AS n, CAST(SUM(amount_minor) AS BIGINT) AS total FROM statement_lines \
         WHERE statement_id = $1 GROUP BY class, currency ORDER BY class, currency",
    )
    .bind(id.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let class: &str = r.try_get("class")?;
            Ok((
                LineClass::parse(class).ok_or_else(|| Error::Corrupt(format!("line class {class:?}")))?,
                Currency::parse(r.try_get("currency")?)?,
                r.try_get("n")?,
                r.try_get("total")?,
            ))
        })
        .collect()
}

pub async fn errors_of(conn: &mut AnyConnection, id: &StatementId, limit: i64) -> Result<Vec<LineError>> {
    let rows =
        sqlx::query("SELECT line, field, message FROM statement_errors WHERE statement_id = $1 ORDER BY line LIMIT $2")
            .bind(id.as_str())
            .bind(limit)
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(LineError {
                line: u32::try_from(r.try_get::<i64, _>("line")?).unwrap_or(u32::MAX),
                field: r.try_get("field")?,
                message: r.try_get("message")?,
            })
        })
        .collect()
}

pub async fn missing_of(
    conn: &mut AnyConnection,
    id: &StatementId,
    limit: i64,
) -> Result<Vec<(ShipmentId, Money, String)>> {
    let rows = sqlx::query(
        "SELECT shipment_id, currency, expected_minor, due_on FROM statement_missing WHERE statement_id = $1 \
         ORDER BY shipment_id LIMIT $2",
    )
    .bind(id.as_str())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                ShipmentId::parse(r.try_get("shipment_id")?)?,
                Money::new(r.try_get("expected_minor")?, Currency::parse(r.try_get("currency")?)?),
                r.try_get("due_on")?,
            ))
        })
        .collect()
}

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
                 CAST(CASE WHEN EXISTS (SELECT 1 FROM statement_lines l JOIN statements st ON st.id = l.statement_id \
                   WHERE l.shipment_id = s.id AND st.kind = 'freight_invoice' \
                   AND l.class NOT IN ('duplicate', 'unknown_reference')) THEN 1 ELSE 0 END AS BIGINT) AS invoiced \
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
    const COLS: usize = 8;
    for chunk in checks.chunks(BULK_CHUNK) {
        let mut vals = Vec::with_capacity(chunk.len() * COLS);
        for (line, shipment, e) in chunk {
            vals.extend([
                Val::from(id.as_str()),
                i64::from(*line).into(),
                shipment.as_str().into(),
                e.declared_weight_g.into(),
                Val::OptInt(e.quoted_weight_g),
                Val::OptInt(e.billed_weight_g),
                Val::OptText(e.quoted_zone.clone()),
                Val::OptText(e.billed_zone.clone()),
            ]);
        }
        let head = "INTO invoice_checks (statement_id, line, shipment_id, declared_weight_g, quoted_weight_g, \
                    billed_weight_g, quoted_zone, billed_zone)";
        insert_values_counted(conn, head, "", COLS, vals).await?;
    }
    Ok(())
}

/// The evidence kept for one invoice line (its amounts are on the statement line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceCheck {
    pub declared_weight_g: i64,
    pub quoted_weight_g: Option<i64>,
    pub billed_weight_g: Option<i64>,
    pub quoted_zone: Option<String>,
    pub billed_zone: Option<String>,
}

pub async fn check_of(conn: &mut AnyConnection, id: &StatementId, line: i64) -> Result<Option<InvoiceCheck>> {
    let r = sqlx::query(
        "SELECT declared_weight_g, quoted_weight_g, billed_weight_g, quoted_zone, billed_zone FROM invoice_checks \
         WHERE statement_id = $1 AND line = $2",
    )
    .bind(id.as_str())
    .bind(line)
    .fetch_optional(conn)
    .await?;
    r.map(|r| {
        Ok(InvoiceCheck {
            declared_weight_g: r.try_get("declared_weight_g")?,
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
    while from <= last.unwrap_or(-1) {
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
    // Only shipments with an open "COD not remitted" task need looking at again (it closes itself); making a
    // million settled shipments due would hand the sweep a million evaluations for nothing.
    let sql =
        format!("UPDATE tracking SET due_at = $2 WHERE fired LIKE '%cod_not_remitted%' AND shipment_id IN ({PAID})");
    sqlx::query(&sql).bind(id.as_str()).bind(micros(at)).execute(conn).await?;
    Ok(n)
}

/// A ledger entry stored for want of another record of it (a payout, a write-off); deliveries and
/// remittance lines are posted by the `ledger` view from their own rows. Its key makes posting it again a
/// no-op.
pub struct Posted<'a> {
    pub key: String,
    pub entry: &'a Entry,
    pub shipment: Option<&'a ShipmentId>,
    pub statement: Option<&'a StatementId>,
    pub carrier: Option<&'a str>,
}

pub async fn post(conn: &mut AnyConnection, entries: &[Posted<'_>], at: OffsetDateTime) -> Result<u64> {
    const WIDTH: usize = 10;
    let mut vals = Vec::with_capacity(entries.len() * 3 * WIDTH);
    for e in entries {
        for (leg, p) in e.entry.postings.iter().enumerate() {
            vals.extend([
                Val::from(e.key.as_str()),
                (leg as i64).into(),
                e.entry.kind.as_str().into(),
                Val::OptText(e.shipment.map(|s| s.to_string())),
                Val::OptText(e.statement.map(|s| s.to_string())),
                Val::OptText(e.carrier.map(str::to_owned)),
                p.account.as_str().into(),
                p.amount.currency.code().into(),
                p.amount.minor.into(),
                micros(at).into(),
            ]);
        }
    }
    let head = "INTO ledger_postings (entry_key, leg, kind, shipment_id, statement_id, carrier, account, currency, \
                amount_minor, posted_at)";
    insert_values_counted(conn, head, "ON CONFLICT (entry_key, leg) DO NOTHING", WIDTH, vals).await
}

/// One leg as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPosting {
    pub entry_key: String,
    pub kind: EntryKind,
    pub account: Account,
    pub amount: Money,
    pub statement_id: Option<String>,
    pub posted_at: OffsetDateTime,
}

pub async fn postings_of(conn: &mut AnyConnection, shipment: &ShipmentId) -> Result<Vec<StoredPosting>> {
    let rows = sqlx::query(
        "SELECT entry_key, kind, account, currency, amount_minor, statement_id, posted_at FROM ledger \
         WHERE shipment_id = $1 ORDER BY posted_at, entry_key, leg",
    )
    .bind(shipment.as_str())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredPosting {
                entry_key: r.try_get("entry_key")?,
                kind: EntryKind::parse(r.try_get("kind")?)?,
                account: Account::parse(r.try_get("account")?)?,
                amount: Money::new(r.try_get("amount_minor")?, Currency::parse(r.try_get("currency")?)?),
                statement_id: r.try_get("statement_id")?,
                posted_at: from_micros(r.try_get("posted_at")?),
            })
        })
        .collect()
}

/// Balance per account, carrier and currency (carrier empty for legs without one).
pub async fn balances(conn: &mut AnyConnection) -> Result<Vec<(Account, String, Currency, i64)>> {
    let rows = sqlx::query(
        "SELECT account, COALESCE(carrier, '') AS carrier, currency, CAST(SUM(amount_minor) AS BIGINT) AS total FROM ledger \
         GROUP BY account, COALESCE(carrier, ''), currency ORDER BY account, carrier, currency",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                Account::parse(r.try_get("account")?)?,
                r.try_get("carrier")?,
                Currency::parse(r.try_get("currency")?)?,
                r.try_get("total")?,
            ))
        })
        .collect()
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

const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 86_400_000_000;

/// Delivered COD parcels whose cash is still due, grouped by carrier, currency, channel and whole days since
/// delivery as of `now` (only those at least `at_least_days` old when given). Read from the sums kept by
/// hour of delivery (migration 0017), except the hours at now's time of day, whose parcels straddle a day
/// boundary and are read one by one through their index.
pub async fn open_receivables(
    conn: &mut AnyConnection,
    now: OffsetDateTime,
    at_least_days: Option<i64>,
) -> Result<Vec<Open>> {
    let now_us = micros(now);
    let before = at_least_days.map(|d| now_us - d * DAY_US).unwrap_or(i64::MAX);
    let hour_of_day = (now_us / HOUR_US) % 24;
    let mut open: std::collections::BTreeMap<(String, String, String, i64), (i64, i64)> = Default::default();
    let hours = sqlx::query(
        "SELECT carrier, currency, channel, bucket, CAST(SUM(parcels) AS BIGINT) AS parcels, \
                CAST(SUM(amount) AS BIGINT) AS amount \
           FROM (SELECT carrier, currency, channel, bucket, parcels, amount FROM cod_open WHERE kind = 'owed' \
                 UNION ALL \
                 SELECT carrier, currency, channel, bucket, parcels, amount FROM cod_open_delta WHERE kind = 'owed') u \
          WHERE bucket % 24 <> $1 AND bucket <= $2 \
          GROUP BY carrier, currency, channel, bucket",
    )
    .bind(hour_of_day)
    .bind(before.div_euclid(HOUR_US))
    .fetch_all(&mut *conn)
    .await?;
    for r in &hours {
        // Every parcel of an hour at another time of day than now is the same whole number of days old.
        let days = (now_us - r.try_get::<i64, _>("bucket")? * HOUR_US) / DAY_US;
        if at_least_days.is_some_and(|d| days < d) {
            continue;
        }
        let key = (r.try_get("carrier")?, r.try_get("currency")?, r.try_get("channel")?, days);
        let e = open.entry(key).or_default();
        e.0 += r.try_get::<i64, _>("parcels")?;
        e.1 += r.try_get::<i64, _>("amount")?;
    }
    let straddling = sqlx::query(
        "SELECT carrier, cod_currency AS currency, lane_channel AS channel, \
                (CAST($1 AS BIGINT) - delivered_at) / 86400000000 AS days, \
                COUNT(*) AS parcels, CAST(SUM(cod_minor) AS BIGINT) AS amount FROM tracking \
          WHERE cod_status IN ('expected', 'collected') AND delivered_at IS NOT NULL AND cod_minor > 0 \
            AND ((delivered_at / 3600000000) % 24) = $2 AND delivered_at <= $3 \
          GROUP BY carrier, cod_currency, lane_channel, (CAST($1 AS BIGINT) - delivered_at) / 86400000000",
    )
    .bind(now_us)
    .bind(hour_of_day)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    // A parcel paid short is owed what was not paid, as the ledger's receivable has it.
    let short = sqlx::query(
        "SELECT t.carrier, t.cod_currency AS currency, t.lane_channel AS channel, \
                (CAST($1 AS BIGINT) - t.delivered_at) / 86400000000 AS days, CAST(1 AS BIGINT) AS parcels, \
                t.cod_minor - CAST(COALESCE(SUM(l.amount_minor), 0) AS BIGINT) AS amount \
           FROM tracking t LEFT JOIN statement_lines l ON l.shipment_id = t.shipment_id \
                AND l.currency = t.cod_currency AND l.class IN ('matched', 'short_paid', 'over_paid', 'fee_above_contract') \
          WHERE t.cod_status = 'short_paid' AND t.delivered_at IS NOT NULL AND t.delivered_at <= $2 \
          GROUP BY t.shipment_id, t.carrier, t.cod_currency, t.lane_channel, t.delivered_at, t.cod_minor",
    )
    .bind(now_us)
    .bind(before)
    .fetch_all(&mut *conn)
    .await?;
    for r in straddling.iter().chain(&short) {
        let key = (r.try_get("carrier")?, r.try_get("currency")?, r.try_get("channel")?, r.try_get("days")?);
        let amount = r.try_get::<i64, _>("amount")?;
        if amount <= 0 {
            continue;
        }
        let e = open.entry(key).or_default();
        e.0 += r.try_get::<i64, _>("parcels")?;
        e.1 += amount;
    }
    open.into_iter()
        .filter(|(_, (parcels, _))| *parcels != 0)
        .map(|((carrier, currency, channel, days), (parcels, amount_minor))| {
            Ok(Open { carrier, currency: Currency::parse(&currency)?, channel, days, parcels, amount_minor })
        })
        .collect()
}

/// The orders of `carrier`'s delivered COD parcels in `currency` whose cash is still owed (a short payment's
/// rest included), newest first before `before`; with `cycles`, only those past their channel's settlement
/// cycle (whole days since delivery above the cycle, `default_cycle` for channels not listed), as aging
/// counts them overdue.
#[allow(clippy::too_many_arguments)]
pub async fn owed_orders(
    conn: &mut AnyConnection,
    carrier: &str,
    currency: Currency,
    now: OffsetDateTime,
    cycles: Option<(&HashMap<String, i64>, i64)>,
    before: Option<&OrderId>,
    limit: i64,
) -> Result<Vec<OrderId>> {
    let mut vals: Vec<Val> = vec![carrier.into(), currency.code().into()];
    let mut sql = format!(
        "SELECT DISTINCT order_id FROM tracking WHERE carrier = {} AND cod_currency = {} \
           AND cod_status IN ('expected', 'collected', 'short_paid') AND delivered_at IS NOT NULL AND cod_minor > 0",
        crate::db::param(conn, 1),
        crate::db::param(conn, 2)
    );
    if let Some((cycles, default_cycle)) = cycles {
        vals.push(micros(now).into());
        let now_at = crate::db::param(conn, vals.len());
        let mut case = String::from("CASE");
        for (channel, days) in cycles {
            vals.push(channel.as_str().into());
            let c = crate::db::param(conn, vals.len());
            vals.push((*days).into());
            let _ = std::fmt::Write::write_fmt(
                &mut case,
                format_args!(" WHEN lane_channel = {c} THEN {}", crate::db::param(conn, vals.len())),
            );
        }
        vals.push(default_cycle.into());
        let _ = std::fmt::Write::write_fmt(&mut case, format_args!(" ELSE {} END", crate::db::param(conn, vals.len())));
        sql.push_str(&format!(" AND delivered_at <= {now_at} - ({case} + 1) * {DAY_US}"));
    }
    if let Some(b) = before {
        vals.push(b.as_str().into());
        sql.push_str(&format!(" AND order_id < {}", crate::db::param(conn, vals.len())));
    }
    vals.push(limit.max(1).into());
    sql.push_str(&format!(" ORDER BY order_id DESC LIMIT {}", crate::db::param(conn, vals.len())));
    let rows = crate::kpi::bind(sqlx::query(&sql), vals).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok(OrderId::parse(&r.try_get::<String, _>(0)?)?)).collect()
}

/// Whether the tracking triggers have appended open-COD deltas not yet folded (a read, so an idle refresher
/// need not take the writer).
pub async fn cod_deltas_waiting(conn: &mut AnyConnection) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM cod_open_delta LIMIT 1").fetch_optional(conn).await?.is_some())
}

/// Folds the open-COD deltas the tracking triggers appended into the sums; returns 0 when there were none
/// (otherwise the deltas folded on SQLite, the sum rows moved on PostgreSQL).
/// One folder at a time (an advisory lock on PostgreSQL; SQLite has one writer).
pub async fn fold_cod_open(conn: &mut AnyConnection) -> Result<u64> {
    const COLUMNS: &str = "kind, carrier, currency, channel, country, bucket";
    let upsert = format!(
        "INSERT INTO cod_open ({COLUMNS}, parcels, amount) \
         SELECT {COLUMNS}, CAST(SUM(parcels) AS BIGINT), CAST(SUM(amount) AS BIGINT) FROM {{source}} GROUP BY {COLUMNS} \
         ON CONFLICT ({COLUMNS}) DO UPDATE SET parcels = cod_open.parcels + excluded.parcels, \
                                             amount = cod_open.amount + excluded.amount"
    );
    let folded = if crate::db::Engine::of(conn) == crate::db::Engine::Sqlite {
        sqlx::query(&upsert.replace("{source}", "cod_open_delta")).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM cod_open_delta").execute(&mut *conn).await?.rows_affected()
    } else {
        sqlx::query("SELECT pg_advisory_xact_lock(73017)").execute(&mut *conn).await?;
        // The rows deleted are exactly the rows summed: a delta committed meanwhile waits for the next fold.
        let sql =
            format!("WITH moved AS (DELETE FROM cod_open_delta RETURNING *) {}", upsert.replace("{source}", "moved"));
        sqlx::query(&sql).execute(&mut *conn).await?.rows_affected()
    };
    if folded > 0 {
        sqlx::query("DELETE FROM cod_open WHERE parcels = 0 AND amount = 0").execute(&mut *conn).await?;
    }
    Ok(folded)
}
