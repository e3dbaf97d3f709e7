//! The double-entry ledger: postings written per statement and read per shipment or as balances.

use super::*;

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
    insert_values_counted(conn, head, "ON CONFLICT (entry_key, leg) DO NOTHING", vals).await
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
