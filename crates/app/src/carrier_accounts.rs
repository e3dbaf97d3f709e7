//! Carrier accounts as data: created and edited through the API and the console, credentials sealed at rest with
//! the key that seals shop secrets, and turned into connectors when a channel books or a parcel is tracked. The
//! accounts given on the command line stay as the first account of their carrier.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use codflow_connectors::carriers::aramex::{AramexAccount, PickupPoint};
use codflow_connectors::carriers::fourpx::{FourPxAccount, PickupPoint as FourPxPickup};
use codflow_connectors::carriers::jnt::{JntAccount, Sender as JntSender};
use codflow_connectors::carriers::naqel::NaqelAccount;
use codflow_connectors::carriers::ninjavan::NinjaVanAccount;
use codflow_connectors::carriers::{
    AfterShip, Aramex, Carrier, CarrierError, Flash, FourPx, Jnt, Naqel, NinjaVan, Sandbox, Smsa, Track17,
    TrackingSource, Yanwen, YunExpress,
};
use codflow_connectors::platforms::LianLian;
use codflow_domain::carrier_account::{CarrierAccount, CarrierAccountInput};
use codflow_domain::{Actor, AuditRecord, CarrierAccountCode};
use codflow_store::carrier_accounts::{self as astore, AccountRow};
use codflow_store::{Conn, commit, orders};
use time::OffsetDateTime;

use crate::booking::Carriers;
use crate::error::ConflictKind;
use crate::shops::Sealer;
use crate::{Error, Fulfilment, Result};

/// How long a carrier call through a stored account may take.
const TIMEOUT: StdDuration = StdDuration::from_secs(20);

/// An account as the API shows it: whether it has secrets, never what they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountView {
    pub account: CarrierAccount,
    pub has_credentials: bool,
    pub has_webhook_secret: bool,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl From<AccountRow> for AccountView {
    fn from(r: AccountRow) -> Self {
        AccountView {
            has_credentials: r.credentials.is_some(),
            has_webhook_secret: r.webhook_secret.is_some(),
            account: r.account,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// What a connection test found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionTest {
    pub ok: bool,
    /// `connected`, `credentials_refused`, `unreachable` or `misconfigured`.
    pub outcome: &'static str,
    pub message: String,
}

fn context(code: &CarrierAccountCode, field: &str) -> String {
    format!("carrier-account:{code}:{field}")
}

/// Connectors built from stored accounts, kept while the account is unchanged.
#[derive(Clone, Default)]
pub struct BuiltAccounts(Arc<Mutex<HashMap<String, (OffsetDateTime, Carrier)>>>);

/// The company behind a carrier or platform code, for people to read.
pub fn company(code: &str) -> &str {
    match code {
        "lianlian" => "LianLian Global",
        other => codflow_connectors::carriers::company(other),
    }
}

/// The connector for an account and its opened credentials.
pub fn connector(a: &CarrierAccount, creds: &BTreeMap<String, String>) -> std::result::Result<Carrier, CarrierError> {
    let get = |k: &str| creds.get(k).cloned().unwrap_or_default();
    let opt = |k: &str| creds.get(k).cloned().filter(|v| !v.trim().is_empty());
    match a.carrier.as_str() {
        "sandbox" => Ok(Carrier::Sandbox(Sandbox::new(&a.base_url, creds.get("api_key").cloned(), TIMEOUT)?)),
        "aramex" => {
            let account = AramexAccount {
                user_name: get("user_name"),
                password: get("password"),
                account_number: get("account_number"),
                account_pin: get("account_pin"),
                account_entity: get("account_entity"),
                account_country_code: get("account_country_code"),
                pickup: PickupPoint {
                    contact: opt("pickup_contact"),
                    phone: opt("pickup_phone"),
                    address: opt("pickup_address"),
                    city: opt("pickup_city"),
                    postcode: opt("pickup_postcode"),
                },
            };
            Ok(Carrier::Aramex(Aramex::new(&a.base_url, account, TIMEOUT)?))
        }
        "4px" => {
            let account = FourPxAccount {
                app_key: get("app_key"),
                app_secret: get("app_secret"),
                access_token: creds.get("access_token").cloned().filter(|t| !t.is_empty()),
                pickup: FourPxPickup {
                    name: opt("pickup_name"),
                    phone: opt("pickup_phone"),
                    province: opt("pickup_province"),
                    city: opt("pickup_city"),
                    district: opt("pickup_district"),
                    address: opt("pickup_address"),
                    zip: opt("pickup_zip"),
                },
            };
            Ok(Carrier::FourPx(FourPx::new(&a.base_url, account, TIMEOUT)?))
        }
        "ninjavan" => {
            let account = NinjaVanAccount {
                client_id: get("client_id"),
                client_secret: get("client_secret"),
                country: get("country"),
            };
            Ok(Carrier::NinjaVan(NinjaVan::new(&a.base_url, account, TIMEOUT)?))
        }
        "smsa" => Ok(Carrier::Smsa(Smsa::new(&a.base_url, &get("api_key"), TIMEOUT)?)),
        "17track" => Ok(Carrier::Track17(Track17::new(&a.base_url, &get("api_token"), TIMEOUT)?)),
        "aftership" => Ok(Carrier::AfterShip(AfterShip::new(&a.base_url, &get("api_key"), TIMEOUT)?)),
        "flash" => Ok(Carrier::Flash(Flash::new(&a.base_url, &get("mch_id"), &get("secret"), TIMEOUT)?)),
        "yunexpress" => {
            Ok(Carrier::YunExpress(YunExpress::new(&a.base_url, &get("customer_code"), &get("api_secret"), TIMEOUT)?))
        }
        "jnt" => {
            let account = JntAccount {
                api_account: get("api_account"),
                private_key: get("private_key"),
                customer_code: get("customer_code"),
                password: get("password"),
                country: get("country"),
                sender: JntSender {
                    phone: creds.get("sender_phone").cloned().filter(|v| !v.is_empty()),
                    address: creds.get("sender_address").cloned().filter(|v| !v.is_empty()),
                    postcode: creds.get("sender_postcode").cloned().filter(|v| !v.is_empty()),
                },
            };
            Ok(Carrier::Jnt(Jnt::new(&a.base_url, account, TIMEOUT)?))
        }
        "naqel" => {
            let account = NaqelAccount {
                client_id: get("client_id"),
                password: get("password"),
                version: get("version"),
                origin_city_code: get("origin_city_code"),
                sender_phone: opt("sender_phone"),
                sender_address: opt("sender_address"),
                city_codes: opt("city_codes"),
            };
            Ok(Carrier::Naqel(Naqel::new(&a.base_url, account, TIMEOUT)?))
        }
        "yanwen" => Ok(Carrier::Yanwen(Yanwen::new(
            &a.base_url,
            creds.get("tracking_url").map(String::as_str),
            &get("user_id"),
            &get("api_token"),
            &get("channel_id"),
            TIMEOUT,
        )?)),
        "lianlian" => Err(CarrierError::Config(
            "LianLian Global is a payment platform: its receivings are imported as payout statements under finance"
                .into(),
        )),
        other => Err(CarrierError::Config(format!("codflow has no connector for carrier {other:?}"))),
    }
}

impl Carriers {
    /// The connector a channel of `carrier` books and tracks through: its `account` when it names one, else the
    /// carrier given on the command line, else the carrier's first stored account. The outer error is the
    /// store's; the inner one says why there is no connector.
    pub(crate) async fn resolve(
        &self,
        conn: &mut Conn,
        carrier: &str,
        account: Option<&CarrierAccountCode>,
    ) -> Result<std::result::Result<Carrier, CarrierError>> {
        let row = match account {
            Some(code) => match astore::get(conn, code).await? {
                Some(r) => r,
                None => return Ok(Err(CarrierError::Config(format!("carrier account {code} does not exist")))),
            },
            None => {
                if let Some(c) = self.of(carrier) {
                    return Ok(Ok(c.clone()));
                }
                match astore::list(conn, Some(carrier)).await?.into_iter().next() {
                    Some(r) => r,
                    None => {
                        return Ok(Err(CarrierError::Config(format!(
                            "no {carrier} carrier account: add one under carrier accounts"
                        ))));
                    }
                }
            }
        };
        if row.account.carrier.as_str() != carrier {
            return Ok(Err(CarrierError::Config(format!(
                "carrier account {} is a {} account, not {carrier}",
                row.account.code, row.account.carrier
            ))));
        }
        Ok(self.build(&row))
    }

    /// The carrier's stored accounts that have a webhook secret, with the secret opened.
    pub(crate) async fn webhook_accounts(&self, conn: &mut Conn, carrier: &str) -> Result<Vec<(Carrier, String)>> {
        let rows = astore::list(conn, Some(carrier)).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let secret = self
                    .sealer
                    .as_deref()?
                    .open(r.webhook_secret.as_deref()?, &context(&r.account.code, "webhook_secret"))?;
                Some((self.build(r).ok()?, secret))
            })
            .collect())
    }

    fn build(&self, row: &AccountRow) -> std::result::Result<Carrier, CarrierError> {
        let key = row.account.code.to_string();
        let mut built = self.accounts.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, c)) = built.get(&key)
            && *at == row.updated_at
        {
            return Ok(c.clone());
        }
        let c = connector(&row.account, &self.open_credentials(row)?)?;
        built.insert(key, (row.updated_at, c.clone()));
        Ok(c)
    }

    /// The account's credentials, opened with this server's secret key.
    fn open_credentials(&self, row: &AccountRow) -> std::result::Result<BTreeMap<String, String>, CarrierError> {
        Ok(match (&row.credentials, self.sealer.as_deref()) {
            (None, _) => BTreeMap::new(),
            (Some(sealed), Some(k)) => k
                .open(sealed, &context(&row.account.code, "credentials"))
                .and_then(|plain| serde_json::from_str(&plain).ok())
                .ok_or_else(|| {
                    CarrierError::Config(format!(
                        "the credentials of carrier account {} do not open with this server's secret key",
                        row.account.code
                    ))
                })?,
            (Some(_), None) => {
                return Err(CarrierError::Config("this server has no secret key to open carrier credentials".into()));
            }
        })
    }

    /// The payment platform behind a LianLian Global account.
    pub(crate) fn platform(&self, row: &AccountRow) -> std::result::Result<LianLian, CarrierError> {
        if row.account.carrier.as_str() != "lianlian" {
            return Err(CarrierError::Config(format!("account {} is not a payment platform's", row.account.code)));
        }
        let creds = self.open_credentials(row)?;
        let get = |k: &str| creds.get(k).cloned().unwrap_or_default();
        LianLian::new(&row.account.base_url, &get("token"), &get("private_key"), &get("lianlian_public_key"), TIMEOUT)
    }
}

impl Fulfilment {
    pub async fn carrier_accounts(&self, carrier: Option<&str>) -> Result<Vec<AccountView>> {
        let rows = astore::list(&mut *self.store.read().await?, carrier).await?;
        Ok(rows.into_iter().map(AccountView::from).collect())
    }

    pub async fn carrier_account(&self, code: &CarrierAccountCode) -> Result<AccountView> {
        let row = astore::get(&mut *self.store.read().await?, code).await?;
        row.map(AccountView::from).ok_or(Error::NotFound("carrier account"))
    }

    /// Creates (`path_code` None) or changes an account; secrets left out keep their value.
    pub async fn put_carrier_account(
        &self,
        path_code: Option<&str>,
        input: CarrierAccountInput,
        actor: Actor,
    ) -> Result<(AccountView, bool)> {
        let mut tx = self.store.begin().await?;
        let wanted = path_code.map(str::to_owned).or_else(|| input.code.clone()).unwrap_or_default();
        let existing = match CarrierAccountCode::parse(wanted.trim()) {
            Ok(c) => astore::get(&mut tx, &c).await?,
            Err(_) => None,
        };
        if path_code.is_none()
            && let Some(x) = &existing
        {
            let code = &x.account.code;
            return Err(Error::conflict(
                ConflictKind::CarrierAccountExists,
                format!("carrier account {code} exists; PUT /api/v1/carrier-accounts/{code} to change it"),
            ));
        }
        let change = input
            .validate(path_code, existing.as_ref().map(|x| (&x.account, x.credentials.is_some())))
            .map_err(Error::Invalid)?;
        let needs_key = change.credentials.is_some() || change.webhook_secret.is_some();
        let sealer = self.carriers.sealer.clone();
        if needs_key && sealer.is_none() {
            return Err(Error::conflict(
                ConflictKind::NoSecretKey,
                "this server has no secret key to seal credentials with; set CODFLOW_SECRET_KEY or --secret-key-file",
            ));
        }
        let code = change.account.code.clone();
        let seal = |k: &Sealer, plain: &str, field: &str| k.seal(plain, &context(&code, field));
        let credentials = match (&change.credentials, sealer.as_deref()) {
            (Some(c), Some(k)) => Some(seal(k, &serde_json::to_string(c).unwrap_or_default(), "credentials")),
            _ => None,
        };
        let webhook_secret = match (&change.webhook_secret, sealer.as_deref()) {
            (Some(s), Some(k)) => Some(seal(k, s, "webhook_secret")),
            _ => None,
        };
        let now = self.clock().now();
        let row = AccountRow {
            account: change.account,
            credentials,
            webhook_secret,
            created_at: existing.as_ref().map_or(now, |x| x.created_at),
            updated_at: now,
        };
        astore::put(&mut tx, &row).await?;
        let created = existing.is_none();
        let mut changed: Vec<&str> = Vec::new();
        if change.credentials.is_some() {
            changed.push("credentials");
        }
        if change.webhook_secret.is_some() {
            changed.push("webhook secret");
        }
        let what = format!("{} {} at {}", row.account.carrier, row.account.environment.as_str(), row.account.base_url);
        let mut a = AuditRecord::change(
            "carrier_account",
            code.to_string(),
            if created { "create" } else { "update" },
            None,
            Some(what),
            actor,
            now,
        );
        // The audit names which secrets changed, never their values.
        a.reason = (!changed.is_empty()).then(|| format!("set {}", changed.join(" and ")));
        orders::insert_audit(&mut tx, &[a]).await?;
        let stored = astore::get(&mut tx, &code).await?.ok_or(Error::NotFound("carrier account"))?;
        commit(tx).await?;
        Ok((stored.into(), created))
    }

    /// Removes an account no channel books through.
    pub async fn delete_carrier_account(&self, code: &CarrierAccountCode, actor: Actor) -> Result<()> {
        let mut tx = self.store.begin().await?;
        if astore::get(&mut tx, code).await?.is_none() {
            return Err(Error::NotFound("carrier account"));
        }
        let using = astore::channels_using(&mut tx, code).await?;
        if !using.is_empty() {
            return Err(Error::conflict(
                ConflictKind::CarrierAccountInUse,
                format!(
                    "channels {} book through carrier account {code}; point them elsewhere first",
                    using.join(", ")
                ),
            ));
        }
        astore::delete(&mut tx, code).await?;
        let now = self.clock().now();
        let a = AuditRecord::change("carrier_account", code.to_string(), "delete", None, None, actor, now);
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Calls the carrier with the account's endpoint and credentials: a tracking look-up of a number that does
    /// not exist, which every carrier answers without booking anything.
    pub async fn test_carrier_account(&self, code: &CarrierAccountCode) -> Result<ConnectionTest> {
        let row = astore::get(&mut *self.store.read().await?, code).await?.ok_or(Error::NotFound("carrier account"))?;
        let test = |ok, outcome, message: String| ConnectionTest { ok, outcome, message };
        if row.account.carrier.as_str() == "lianlian" {
            // A listing of the last minute's receivings reads nothing of consequence.
            let to = time::OffsetDateTime::now_utc();
            let listed = match self.carriers.platform(&row) {
                Ok(p) => p.receivings(to - time::Duration::minutes(1), to).await.map(|_| ()),
                Err(e) => Err(e),
            };
            return Ok(match listed {
                Ok(()) => {
                    test(true, "connected", "LianLian Global answered, signed, and accepted the credentials".into())
                }
                Err(CarrierError::Unauthorized) => {
                    test(false, "credentials_refused", "LianLian Global refused the token or signature".into())
                }
                Err(e @ CarrierError::Config(_)) => test(false, "misconfigured", e.to_string()),
                Err(e) => test(false, "unreachable", e.to_string()),
            });
        }
        let carrier = match self.carriers.build(&row) {
            Ok(c) => c,
            Err(e) => return Ok(ConnectionTest { ok: false, outcome: "misconfigured", message: e.to_string() }),
        };
        Ok(match carrier.track("CODFLOW-CONNECTION-TEST").await {
            Ok(_) | Err(CarrierError::Rejected { .. }) => {
                test(true, "connected", format!("{} answered and accepted the credentials", row.account.carrier))
            }
            Err(CarrierError::Unauthorized) => {
                test(false, "credentials_refused", format!("{} refused the credentials", row.account.carrier))
            }
            Err(e @ CarrierError::Config(_)) => test(false, "misconfigured", e.to_string()),
            Err(e) => test(false, "unreachable", e.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codflow_domain::carrier_account::{CARRIERS, Environment, PUSHING, TRACKING_SOURCES, credential_fields};

    /// A value each credential field accepts.
    fn creds(kind: &str) -> BTreeMap<String, String> {
        credential_fields(kind)
            .unwrap_or(&[])
            .iter()
            .map(|f| {
                let v = match f.name {
                    "client_id" if kind == "naqel" => "9021164",
                    "country" => "my",
                    "tracking_url" => "http://127.0.0.1:9",
                    _ => "x",
                };
                (f.name.to_owned(), v.to_owned())
            })
            .collect()
    }

    #[test]
    fn the_kinds_said_to_push_are_exactly_those_whose_connector_reads_pushes() {
        for kind in CARRIERS.into_iter().chain(TRACKING_SOURCES) {
            let a = CarrierAccount {
                code: CarrierAccountCode::parse("acct").unwrap(),
                carrier: codflow_domain::CarrierCode::parse(kind).unwrap(),
                name: "x".into(),
                environment: Environment::Test,
                base_url: "http://127.0.0.1:9".into(),
            };
            let c = connector(&a, &creds(kind)).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(c.webhooks().is_some(), PUSHING.contains(&kind), "{kind}");
        }
    }
}
