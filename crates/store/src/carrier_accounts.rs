//! Carrier accounts and their sealed credentials.

use codflow_domain::carrier_account::{CarrierAccount, Environment};
use codflow_domain::{CarrierAccountCode, CarrierCode};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::db::{from_micros, micros};
use crate::{Error, Result};

/// An account as stored: its settings and its secrets, sealed by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub account: CarrierAccount,
    pub credentials: Option<String>,
    pub webhook_secret: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLS: &str = "code, carrier, name, environment, base_url, credentials, webhook_secret, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<AccountRow> {
    let env: String = r.try_get("environment")?;
    Ok(AccountRow {
        account: CarrierAccount {
            code: CarrierAccountCode::parse(&r.try_get::<String, _>("code")?)?,
            carrier: CarrierCode::parse(&r.try_get::<String, _>("carrier")?)?,
            name: r.try_get("name")?,
            environment: Environment::parse(&env)
                .ok_or_else(|| Error::Corrupt(format!("carrier account environment {env:?}")))?,
            base_url: r.try_get("base_url")?,
        },
        credentials: r.try_get("credentials")?,
        webhook_secret: r.try_get("webhook_secret")?,
        created_at: from_micros(r.try_get("created_at")?),
        updated_at: from_micros(r.try_get("updated_at")?),
    })
}

pub async fn get(conn: &mut AnyConnection, code: &CarrierAccountCode) -> Result<Option<AccountRow>> {
    let r = sqlx::query(&format!("SELECT {COLS} FROM carrier_accounts WHERE code = $1"))
        .bind(code.as_str())
        .fetch_optional(conn)
        .await?;
    r.as_ref().map(from_row).transpose()
}

/// Every account, or a carrier's, by code.
pub async fn list(conn: &mut AnyConnection, carrier: Option<&str>) -> Result<Vec<AccountRow>> {
    let rows =
        sqlx::query(&format!("SELECT {COLS} FROM carrier_accounts WHERE ($1 = '' OR carrier = $1) ORDER BY code"))
            .bind(carrier.unwrap_or(""))
            .fetch_all(conn)
            .await?;
    rows.iter().map(from_row).collect()
}

/// Inserts or replaces an account; secrets left `None` keep what is stored.
pub async fn put(conn: &mut AnyConnection, a: &AccountRow) -> Result<()> {
    let c = &a.account;
    sqlx::query(&format!(
        "INSERT INTO carrier_accounts ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, environment = excluded.environment, \
         base_url = excluded.base_url, credentials = COALESCE(excluded.credentials, carrier_accounts.credentials), \
         webhook_secret = COALESCE(excluded.webhook_secret, carrier_accounts.webhook_secret), \
         updated_at = excluded.updated_at"
    ))
    .bind(c.code.as_str())
    .bind(c.carrier.as_str())
    .bind(&c.name)
    .bind(c.environment.as_str())
    .bind(&c.base_url)
    .bind(a.credentials.as_deref())
    .bind(a.webhook_secret.as_deref())
    .bind(micros(a.created_at))
    .bind(micros(a.updated_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// The channels that book through an account.
pub async fn channels_using(conn: &mut AnyConnection, code: &CarrierAccountCode) -> Result<Vec<String>> {
    let chans = crate::logistics::channels(conn).await?;
    Ok(chans.into_iter().filter(|c| c.carrier_account.as_ref() == Some(code)).map(|c| c.code.to_string()).collect())
}

pub async fn delete(conn: &mut AnyConnection, code: &CarrierAccountCode) -> Result<bool> {
    let r = sqlx::query("DELETE FROM carrier_accounts WHERE code = $1").bind(code.as_str()).execute(conn).await?;
    Ok(r.rows_affected() > 0)
}
