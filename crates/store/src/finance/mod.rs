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

use crate::bulk::{Val, insert_values_counted};
use crate::db::{from_micros, micros};
use crate::{Error, Result};

mod ledger;
mod matching;
mod receivables;

pub use ledger::*;
pub use matching::*;
pub use receivables::*;

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
        insert_values_counted(conn, &head, "", line_values(id, chunk)).await?;
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
    insert_values_counted(conn, "INTO statement_errors (statement_id, line, field, message)", "", vals).await?;
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
    insert_values_counted(conn, head, "", vals).await?;
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
