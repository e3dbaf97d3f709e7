//! Payout statements read from a payment platform's API (LianLian Global): the receivings of a period become
//! the payout lines of the remittances they carried, imported like a payout file.

use codflow_connectors::carriers::CarrierError;
use codflow_domain::{Actor, CarrierAccountCode};
use codflow_store::carrier_accounts as astore;
use time::{Date, Duration};

use super::{ImportRequest, StatementReport};
use crate::error::ConflictKind;
use crate::{Error, Finance, Result};

/// The longest period one read covers.
const MAX_DAYS: i64 = 93;

impl Finance {
    /// Reads the completed receivings of `[from, to)` from the platform behind `account` and imports them as a
    /// payout statement (`preview`: matched and reported, nothing recorded). The same period read again gives
    /// the same statement, which is answered as already imported.
    pub async fn import_platform_statement(
        &self,
        account: &CarrierAccountCode,
        from: Date,
        to: Date,
        preview: bool,
        actor: Actor,
    ) -> Result<StatementReport> {
        if to <= from || to - from > Duration::days(MAX_DAYS) {
            return Err(Error::invalid("to", format!("must be after from and at most {MAX_DAYS} days later")));
        }
        let row = astore::get(&mut *self.store.read().await?, account).await?.ok_or(Error::NotFound("account"))?;
        if row.account.carrier.as_str() != "lianlian" {
            return Err(Error::invalid("account", format!("{account} is not a payment platform's account")));
        }
        let platform = self
            .fulfilment
            .carriers
            .platform(&row)
            .map_err(|e| Error::Conflict { kind: ConflictKind::CarrierNotConfigured, message: e.to_string() })?;
        let receivings =
            platform.receivings(from.midnight().assume_utc(), to.midnight().assume_utc()).await.map_err(|e| {
                let kind = match e {
                    CarrierError::Unauthorized | CarrierError::Rejected { .. } | CarrierError::Config(_) => {
                        ConflictKind::CarrierRefused
                    }
                    _ => ConflictKind::CarrierUnavailable,
                };
                Error::Conflict { kind, message: format!("LianLian Global: {e}") }
            })?;
        if receivings.is_empty() {
            return Err(Error::invalid(
                "from",
                format!("LianLian Global shows no completed receivings from {from} to {to}"),
            ));
        }
        let body = codflow_connectors::platforms::lianlian::transformers::payout_csv(&receivings);
        let req = ImportRequest {
            file_name: format!("lianlian-{account}-{from}-{to}.csv"),
            profile: "generic-payout".into(),
            carrier: None,
            preview,
        };
        self.import_statement_owned(body, req, actor).await
    }
}
