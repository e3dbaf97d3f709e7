//! Claims against carriers, and each carrier account's window for filing them.

use codflow_domain::claims::{BuyerStatement, ClaimReason, ClaimStatus, ClaimWindow, WindowFrom};
use codflow_domain::{CarrierAccountCode, ClaimId, Currency, Money, OrderId, ShipmentId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::bulk::Val;
use crate::db::{from_micros, micros};
use crate::{Error, Result};

/// A claim as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub id: ClaimId,
    pub shipment_id: ShipmentId,
    pub order_id: OrderId,
    pub tracking_number: String,
    pub carrier: String,
    pub reason: ClaimReason,
    pub status: ClaimStatus,
    pub claimed: Money,
    pub approved: Option<Money>,
    pub paid: Option<Money>,
    pub deadline: OffsetDateTime,
    pub carrier_ref: Option<String>,
    pub payment_ref: Option<String>,
    pub note: Option<String>,
    pub filed_at: Option<OffsetDateTime>,
    pub decided_at: Option<OffsetDateTime>,
    pub paid_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLS: &str = "id, shipment_id, order_id, tracking_number, carrier, reason, status, currency, claimed_minor, \
                    approved_minor, paid_minor, deadline, carrier_ref, payment_ref, note, filed_at, decided_at, paid_at, \
                    created_at, updated_at";

fn corrupt(what: &str, v: &str) -> Error {
    Error::Corrupt(format!("claim {what} {v:?}"))
}

fn claim_of(r: &AnyRow) -> Result<Claim> {
    let reason: String = r.try_get("reason")?;
    let status: String = r.try_get("status")?;
    let currency = Currency::parse(&r.try_get::<String, _>("currency")?)?;
    let money =
        |col: &str| -> Result<Option<Money>> { Ok(r.try_get::<Option<i64>, _>(col)?.map(|m| Money::new(m, currency))) };
    let at = |col: &str| -> Result<Option<OffsetDateTime>> { Ok(r.try_get::<Option<i64>, _>(col)?.map(from_micros)) };
    Ok(Claim {
        id: ClaimId::parse(&r.try_get::<String, _>("id")?)?,
        shipment_id: ShipmentId::parse(&r.try_get::<String, _>("shipment_id")?)?,
        order_id: OrderId::parse(&r.try_get::<String, _>("order_id")?)?,
        tracking_number: r.try_get("tracking_number")?,
        carrier: r.try_get("carrier")?,
        reason: ClaimReason::parse(&reason).map_err(|_| corrupt("reason", &reason))?,
        status: ClaimStatus::parse(&status).map_err(|_| corrupt("status", &status))?,
        claimed: Money::new(r.try_get("claimed_minor")?, currency),
        approved: money("approved_minor")?,
        paid: money("paid_minor")?,
        deadline: from_micros(r.try_get("deadline")?),
        carrier_ref: r.try_get("carrier_ref")?,
        payment_ref: r.try_get("payment_ref")?,
        note: r.try_get("note")?,
        filed_at: at("filed_at")?,
        decided_at: at("decided_at")?,
        paid_at: at("paid_at")?,
        created_at: from_micros(r.try_get("created_at")?),
        updated_at: from_micros(r.try_get("updated_at")?),
    })
}

/// Inserts a claim; false when the parcel already has one for this reason.
pub async fn insert(conn: &mut AnyConnection, c: &Claim) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO claims (id, shipment_id, order_id, tracking_number, carrier, reason, status, currency, \
         claimed_minor, deadline, note, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) ON CONFLICT (shipment_id, reason) DO NOTHING",
    )
    .bind(c.id.as_str())
    .bind(c.shipment_id.as_str())
    .bind(c.order_id.as_str())
    .bind(&c.tracking_number)
    .bind(&c.carrier)
    .bind(c.reason.as_str())
    .bind(c.status.as_str())
    .bind(c.claimed.currency.code())
    .bind(c.claimed.minor)
    .bind(micros(c.deadline))
    .bind(c.note.as_deref())
    .bind(micros(c.created_at))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn get(conn: &mut AnyConnection, id: &ClaimId) -> Result<Option<Claim>> {
    let r =
        sqlx::query(&format!("SELECT {COLS} FROM claims WHERE id = $1")).bind(id.as_str()).fetch_optional(conn).await?;
    r.as_ref().map(claim_of).transpose()
}

pub async fn of_shipment(conn: &mut AnyConnection, shipment: &ShipmentId) -> Result<Vec<Claim>> {
    let rows = sqlx::query(&format!("SELECT {COLS} FROM claims WHERE shipment_id = $1 ORDER BY id"))
        .bind(shipment.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(claim_of).collect()
}

/// Writes a claim's state after a move from `from`; false when it had moved meanwhile.
pub async fn update(conn: &mut AnyConnection, c: &Claim, from: ClaimStatus) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE claims SET status = $2, approved_minor = $3, paid_minor = $4, carrier_ref = $5, payment_ref = $6, \
         note = $7, filed_at = $8, decided_at = $9, paid_at = $10, updated_at = $11 WHERE id = $1 AND status = $12",
    )
    .bind(c.id.as_str())
    .bind(c.status.as_str())
    .bind(c.approved.map(|m| m.minor))
    .bind(c.paid.map(|m| m.minor))
    .bind(c.carrier_ref.as_deref())
    .bind(c.payment_ref.as_deref())
    .bind(c.note.as_deref())
    .bind(c.filed_at.map(micros))
    .bind(c.decided_at.map(micros))
    .bind(c.paid_at.map(micros))
    .bind(micros(c.updated_at))
    .bind(from.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// What a list of claims is narrowed to.
#[derive(Clone, Debug, Default)]
pub struct ClaimFilter {
    pub status: Option<ClaimStatus>,
    pub carrier: Option<String>,
}

/// Newest first, after the claim `after`.
pub async fn list(
    conn: &mut AnyConnection,
    f: &ClaimFilter,
    after: Option<&ClaimId>,
    limit: i64,
) -> Result<Vec<Claim>> {
    let mut sql = format!("SELECT {COLS} FROM claims WHERE 1 = 1");
    let mut binds: Vec<Val> = Vec::new();
    for (cond, v) in [
        ("status =", f.status.map(|s| Val::Text(s.as_str().into()))),
        ("carrier =", f.carrier.clone().map(Val::Text)),
        ("id <", after.map(|a| Val::Text(a.to_string()))),
    ] {
        if let Some(v) = v {
            binds.push(v);
            sql.push_str(&format!(" AND {cond} ${}", binds.len()));
        }
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {}", limit.clamp(1, 10_000)));
    let rows = crate::bulk::bind_all(sqlx::query(&sql), &binds).fetch_all(conn).await?;
    rows.iter().map(claim_of).collect()
}

/// Every claim a carrier agreed to pay and has not (a handful at any time), for matching a whole statement's
/// lines against them in memory: a query per line was a million queries for a million-line remittance.
pub async fn approved_unpaid(conn: &mut AnyConnection, carrier: &str) -> Result<Vec<Claim>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM claims WHERE carrier = $1 AND status IN ('approved', 'partly_approved') ORDER BY id"
    ))
    .bind(carrier)
    .fetch_all(conn)
    .await?;
    rows.iter().map(claim_of).collect()
}

/// Drafts whose deadline falls before `by` and that have no task yet.
pub async fn drafts_due(conn: &mut AnyConnection, by: OffsetDateTime, limit: i64) -> Result<Vec<Claim>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM claims WHERE status = 'draft' AND deadline_task = 0 AND deadline <= $1 ORDER BY deadline \
         LIMIT $2"
    ))
    .bind(micros(by))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(claim_of).collect()
}

pub async fn mark_tasked(conn: &mut AnyConnection, id: &ClaimId) -> Result<()> {
    sqlx::query("UPDATE claims SET deadline_task = 1 WHERE id = $1").bind(id.as_str()).execute(conn).await?;
    Ok(())
}

/// A carrier account's window for filing claims; None when there is no such account.
pub async fn window(conn: &mut AnyConnection, account: &CarrierAccountCode) -> Result<Option<ClaimWindow>> {
    let r = sqlx::query("SELECT claim_window_days, claim_window_from FROM carrier_accounts WHERE code = $1")
        .bind(account.as_str())
        .fetch_optional(conn)
        .await?;
    r.map(|r| {
        let from: String = r.try_get("claim_window_from")?;
        let from = WindowFrom::parse(&from).map_err(|_| Error::Corrupt(format!("claim window from {from:?}")))?;
        Ok(ClaimWindow { days: r.try_get("claim_window_days")?, from })
    })
    .transpose()
}

/// The window of the carrier's first account, when it has one.
pub async fn first_window(conn: &mut AnyConnection, carrier: &str) -> Result<Option<ClaimWindow>> {
    let code: Option<String> =
        sqlx::query_scalar("SELECT code FROM carrier_accounts WHERE carrier = $1 ORDER BY code LIMIT 1")
            .bind(carrier)
            .fetch_optional(&mut *conn)
            .await?;
    match code {
        Some(c) => window(conn, &CarrierAccountCode::parse(&c)?).await,
        None => Ok(None),
    }
}

/// Sets an account's window; false when there is no such account.
pub async fn set_window(
    conn: &mut AnyConnection,
    account: &CarrierAccountCode,
    w: ClaimWindow,
    at: OffsetDateTime,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE carrier_accounts SET claim_window_days = $2, claim_window_from = $3, updated_at = $4 WHERE code = $1",
    )
    .bind(account.as_str())
    .bind(w.days)
    .bind(w.from.as_str())
    .bind(micros(at))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Per carrier and currency: claims, what was claimed, approved and paid, how many were rejected, and how fast
/// the carrier answered against the seeds' promise (a decision within 24 hours of filing, the money within 3
/// days of the decision).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierClaims {
    pub carrier: String,
    pub currency: String,
    pub claims: i64,
    pub open: i64,
    pub rejected: i64,
    pub claimed_minor: i64,
    pub approved_minor: i64,
    pub paid_minor: i64,
    /// Filed claims decided, those decided within 24 hours, and their summed review time in seconds.
    pub decided: i64,
    pub decided_in_24h: i64,
    pub review_seconds: i64,
    /// Filed claims still undecided more than 24 hours after filing.
    pub review_overdue: i64,
    /// Approved claims paid, and those paid within 3 days of the decision.
    pub paid: i64,
    pub paid_in_3d: i64,
}

impl CarrierClaims {
    /// The mean time from filing to decision in hours, to one decimal; None before any decision.
    pub fn mean_review_hours(&self) -> Option<String> {
        (self.decided > 0).then(|| {
            let tenths = (self.review_seconds * 10 + self.decided * 1800) / (self.decided * 3600);
            format!("{}.{}", tenths / 10, tenths % 10)
        })
    }
}

const DAY_MICROS: i64 = 86_400_000_000;

pub async fn by_carrier(conn: &mut AnyConnection, now: OffsetDateTime) -> Result<Vec<CarrierClaims>> {
    let rows = sqlx::query(
        "SELECT carrier, currency, COUNT(*) AS claims, \
         CAST(SUM(CASE WHEN status IN ('rejected', 'paid') THEN 0 ELSE 1 END) AS BIGINT) AS open, \
         CAST(SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS BIGINT) AS rejected, \
         CAST(SUM(claimed_minor) AS BIGINT) AS claimed, CAST(SUM(COALESCE(approved_minor, 0)) AS BIGINT) AS approved, \
         CAST(SUM(COALESCE(paid_minor, 0)) AS BIGINT) AS paid_minor, \
         CAST(SUM(CASE WHEN filed_at IS NOT NULL AND decided_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS decided, \
         CAST(SUM(CASE WHEN decided_at - filed_at <= $1 THEN 1 ELSE 0 END) AS BIGINT) AS decided_in_24h, \
         CAST(SUM(CASE WHEN filed_at IS NOT NULL AND decided_at IS NOT NULL THEN (decided_at - filed_at) / 1000000 \
         ELSE 0 END) AS BIGINT) AS review_seconds, \
         CAST(SUM(CASE WHEN filed_at IS NOT NULL AND decided_at IS NULL AND filed_at < $2 THEN 1 ELSE 0 END) \
         AS BIGINT) AS review_overdue, \
         CAST(SUM(CASE WHEN paid_at IS NOT NULL AND decided_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS paid, \
         CAST(SUM(CASE WHEN paid_at - decided_at <= $3 THEN 1 ELSE 0 END) AS BIGINT) AS paid_in_3d \
         FROM claims GROUP BY carrier, currency ORDER BY carrier, currency",
    )
    .bind(DAY_MICROS)
    .bind(micros(now) - DAY_MICROS)
    .bind(3 * DAY_MICROS)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CarrierClaims {
                carrier: r.try_get("carrier")?,
                currency: r.try_get("currency")?,
                claims: r.try_get("claims")?,
                open: r.try_get("open")?,
                rejected: r.try_get("rejected")?,
                claimed_minor: r.try_get("claimed")?,
                approved_minor: r.try_get("approved")?,
                paid_minor: r.try_get("paid_minor")?,
                decided: r.try_get("decided")?,
                decided_in_24h: r.try_get("decided_in_24h")?,
                review_seconds: r.try_get("review_seconds")?,
                review_overdue: r.try_get("review_overdue")?,
                paid: r.try_get("paid")?,
                paid_in_3d: r.try_get("paid_in_3d")?,
            })
        })
        .collect()
}

/// Keeps the buyer's statement on a claim; false when the claim already has one (the first stands).
pub async fn insert_statement(conn: &mut AnyConnection, claim: &ClaimId, s: &BuyerStatement) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO claim_statements (claim_id, description, signed_name, language, photos, submitted_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (claim_id) DO NOTHING",
    )
    .bind(claim.as_str())
    .bind(&s.description)
    .bind(&s.signed_name)
    .bind(&s.language)
    .bind(s.photos)
    .bind(micros(s.submitted_at))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn statement(conn: &mut AnyConnection, claim: &ClaimId) -> Result<Option<BuyerStatement>> {
    let row = sqlx::query(
        "SELECT description, signed_name, language, photos, submitted_at FROM claim_statements WHERE claim_id = $1",
    )
    .bind(claim.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(BuyerStatement {
            description: r.try_get("description")?,
            signed_name: r.try_get("signed_name")?,
            language: r.try_get("language")?,
            photos: r.try_get("photos")?,
            submitted_at: from_micros(r.try_get("submitted_at")?),
        })
    })
    .transpose()
}

/// One photo sent with the buyer's statement, `seq` from 1, its bytes as base64.
pub async fn add_photo(
    conn: &mut AnyConnection,
    claim: &ClaimId,
    seq: i64,
    content_type: &str,
    data: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO claim_photos (claim_id, seq, content_type, data) VALUES ($1, $2, $3, $4)")
        .bind(claim.as_str())
        .bind(seq)
        .bind(content_type)
        .bind(data)
        .execute(conn)
        .await?;
    Ok(())
}

/// The content type and base64 data of the buyer's photo `seq`.
pub async fn photo(conn: &mut AnyConnection, claim: &ClaimId, seq: i64) -> Result<Option<(String, String)>> {
    let row = sqlx::query("SELECT content_type, data FROM claim_photos WHERE claim_id = $1 AND seq = $2")
        .bind(claim.as_str())
        .bind(seq)
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((r.try_get("content_type")?, r.try_get("data")?))).transpose()
}
