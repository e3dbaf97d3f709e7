//! COD finance use cases: settlement profiles, importing a statement (read, matched, previewed or
//! committed with its ledger entries, cash states and finance tasks), and the ledger's balances.

use std::collections::{BTreeMap, HashMap};

use codflow_domain::anomaly::AnomalyKind;
use codflow_domain::finance::aging::{self, AgingRow};
use codflow_domain::finance::ledger::{self, Account, Entry, Posting};
use codflow_domain::finance::reconcile::{self, CodTerms, Expected, LineClass, LineMatch, Remitted, Tolerances};
use codflow_domain::finance::statement::{
    self, Field, LineError, NumberFormat, Profile, RowCondition, StatementKind, StatementLine,
};
use codflow_domain::finance::{fx, invoice};
use codflow_domain::money::{Currency, FxRate, Money};
use codflow_domain::order::ChannelChoice;
use codflow_domain::tracking::CodStatus;
use codflow_domain::{Actor, AuditRecord, OrderId, Role, ShipmentId, StatementId, TaskId};
use codflow_store::finance::{self as fstore, Posted};
pub use codflow_store::finance::{StatementRow, StoredLine, StoredPosting};
use codflow_store::logistics as lstore;
use codflow_store::review as rstore;
use codflow_store::tasks::{self as tstore, Task, TaskStatus};
use codflow_store::{Conn, commit, orders};
use sha2::{Digest, Sha256};
use time::{Date, Duration, OffsetDateTime};

use crate::error::ConflictKind;
use crate::{Error, Finance, Result};

mod files;
mod fx_rates;
mod import;
mod platforms;
mod receivables;
mod return_route;

pub use files::read_file;
pub use fx_rates::FxImport;
pub use return_route::RouteView;

/// How much of a long list a report shows; the rest is paged through the statement's lines.
const REPORT_LIMIT: usize = 100;

/// The profiles every installation has: the sandbox carrier's reports and generic layouts.
pub fn builtin_profiles() -> Vec<Profile> {
    let p = |name: &str, kind, cols: &[(Field, &str)], dates: &[&str], currency: Option<&str>| Profile {
        name: name.into(),
        kind,
        columns: cols.iter().map(|(f, h)| (*f, (*h).to_owned())).collect(),
        date_formats: dates.iter().map(|d| (*d).to_owned()).collect(),
        number: NumberFormat::default(),
        currency: currency.and_then(|c| codflow_domain::Currency::parse(c).ok()),
        deductions_negative: false,
        delimiter: None,
        skip_rows: 0,
        weight_in_kg: false,
        only_rows: Vec::new(),
    };
    use Field::*;
    vec![
        p(
            "sandbox-cod",
            StatementKind::CodRemittance,
            &[
                (Reference, "remittance_ref"),
                (TrackingNumber, "tracking_number"),
                (OrderRef, "reference"),
                (Date, "collected_at"),
                (Amount, "cod_amount"),
                (Currency, "currency"),
                (Fee, "cod_fee"),
                (Net, "net_amount"),
            ],
            &["YYYY-MM-DD"],
            None,
        ),
        p(
            "generic-cod",
            StatementKind::CodRemittance,
            &[
                (Reference, "remittance"),
                (TrackingNumber, "tracking_number"),
                (OrderRef, "order_ref"),
                (Date, "date"),
                (Currency, "currency"),
                (Amount, "collected"),
                (Fee, "cod_fee"),
                (Freight, "freight"),
                (Other, "other_fees"),
                (Net, "net"),
            ],
            &["YYYY-MM-DD", "DD/MM/YYYY", "DD.MM.YYYY"],
            None,
        ),
        p(
            "generic-payout",
            StatementKind::Payout,
            &[
                (Reference, "remittance"),
                (Date, "date"),
                (Currency, "currency"),
                (Amount, "gross"),
                (Fee, "fee"),
                (FxRate, "fx_rate"),
                (Settled, "settled"),
                (SettledCurrency, "settled_currency"),
            ],
            &["YYYY-MM-DD", "DD/MM/YYYY"],
            None,
        ),
        // Payoneer's account activity export (Activity → Transactions → Download, CSV). Its columns are those two
        // published importers read from real exports (the Lunch Money importer's `PayoneerAccount` and a ledger
        // prototype's design notes): Transaction Date (MM/DD/YYYY), Transaction Time, Time Zone, Transaction ID,
        // Description, Credit Amount, Debit Amount, Currency, Transfer Amount, Transfer Amount Currency, Status,
        // Additional Description, Store Name, Source, Target, Reference ID. A payer's reference reaches
        // Additional Description; only completed credits are payouts (withdrawals and fees are debits).
        Profile {
            number: NumberFormat { decimal: '.', thousands: Some(',') },
            only_rows: vec![
                RowCondition { column: "Status".into(), equals: Some("Completed".into()) },
                RowCondition { column: "Credit Amount".into(), equals: None },
            ],
            ..p(
                "payoneer-payout",
                StatementKind::Payout,
                &[
                    (Reference, "Additional Description"),
                    (Date, "Transaction Date"),
                    (Currency, "Currency"),
                    (Amount, "Credit Amount"),
                ],
                &["MM/DD/YYYY", "YYYY-MM-DD"],
                None,
            )
        },
        Profile {
            weight_in_kg: true,
            ..p(
                "sandbox-freight",
                StatementKind::FreightInvoice,
                &[
                    (Reference, "invoice_ref"),
                    (TrackingNumber, "tracking_number"),
                    (OrderRef, "reference"),
                    (Date, "booked_at"),
                    (BilledWeight, "billable_kg"),
                    (Amount, "freight"),
                    (Currency, "currency"),
                ],
                &["YYYY-MM-DD"],
                None,
            )
        },
        Profile {
            weight_in_kg: true,
            ..p(
                "generic-freight",
                StatementKind::FreightInvoice,
                &[
                    (Reference, "invoice"),
                    (TrackingNumber, "tracking_number"),
                    (OrderRef, "order_ref"),
                    (Date, "date"),
                    (BilledWeight, "billed_kg"),
                    (Zone, "zone"),
                    (Currency, "currency"),
                    (Amount, "total"),
                ],
                &["YYYY-MM-DD", "DD/MM/YYYY", "DD.MM.YYYY"],
                None,
            )
        },
    ]
}

/// The carrier a built-in profile's statements come from.
fn builtin_carrier(profile: &str) -> Option<&'static str> {
    profile.starts_with("sandbox-").then_some("sandbox")
}

/// What an import is asked to do.
#[derive(Clone, Debug)]
pub struct ImportRequest {
    pub file_name: String,
    pub profile: String,
    /// The carrier a remittance comes from (a built-in sandbox profile implies it).
    pub carrier: Option<String>,
    /// Match and report without recording anything.
    pub preview: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassTotal {
    pub class: LineClass,
    pub currency: Currency,
    pub lines: i64,
    pub amount_minor: i64,
}

/// What an import found (or, for a file imported before, what it found then).
#[derive(Clone, Debug)]
pub struct StatementReport {
    /// None for a preview.
    pub statement: Option<StatementRow>,
    pub already_imported: bool,
    pub kind: StatementKind,
    pub profile: String,
    pub carrier: Option<String>,
    pub lines: i64,
    pub error_count: i64,
    pub errors: Vec<LineError>,
    /// Rows the profile's conditions left out, known when the file was just read (None when shown again).
    pub skipped: Option<usize>,
    pub classes: Vec<ClassTotal>,
    /// The first lines that are not a clean match.
    pub discrepancies: Vec<LineMatch>,
    pub missing_count: i64,
    pub missing: Vec<(ShipmentId, Money, String)>,
    pub tasks_opened: usize,
    /// Lines that paid an approved claim (matched by tracking number and amount): settled, no task.
    pub claims_settled: usize,
}

impl Finance {
    /// Built-in profiles first, then the seller's own.
    pub async fn settlement_profiles(&self) -> Result<Vec<(Profile, bool)>> {
        let mut conn = self.store.read().await?;
        let mut out: Vec<(Profile, bool)> = builtin_profiles().into_iter().map(|p| (p, true)).collect();
        out.extend(fstore::profiles(&mut conn).await?.into_iter().map(|p| (p, false)));
        Ok(out)
    }

    pub async fn settlement_profile(&self, name: &str) -> Result<(Profile, bool)> {
        if let Some(p) = builtin_profiles().into_iter().find(|p| p.name == name) {
            return Ok((p, true));
        }
        let mut conn = self.store.read().await?;
        fstore::profile(&mut conn, name).await?.map(|p| (p, false)).ok_or(Error::NotFound("settlement profile"))
    }

    /// Saves a seller's profile (created or replaced); built-in names are reserved.
    pub async fn put_settlement_profile(&self, p: Profile, actor: Actor) -> Result<bool> {
        p.validate().map_err(Error::Invalid)?;
        if builtin_profiles().iter().any(|b| b.name == p.name) {
            return Err(Error::Conflict {
                kind: ConflictKind::BuiltinProfile,
                message: format!("{} is a built-in profile; save yours under another name", p.name),
            });
        }
        let mut tx = self.store.begin().await?;
        let now = self.clock().now();
        let created = fstore::put_profile(&mut tx, &p, now).await?;
        let a = AuditRecord::change(
            "settlement_profile",
            p.name.clone(),
            if created { "create" } else { "update" },
            None,
            None,
            actor,
            now,
        );
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(created)
    }

    pub async fn delete_settlement_profile(&self, name: &str, actor: Actor) -> Result<()> {
        if builtin_profiles().iter().any(|b| b.name == name) {
            return Err(Error::Conflict {
                kind: ConflictKind::BuiltinProfile,
                message: format!("{name} is a built-in profile and cannot be deleted"),
            });
        }
        let mut tx = self.store.begin().await?;
        if !fstore::delete_profile(&mut tx, name).await? {
            return Err(Error::NotFound("settlement profile"));
        }
        let now = self.clock().now();
        let a = AuditRecord::change("settlement_profile", name.to_owned(), "delete", None, None, actor, now);
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(())
    }

    async fn report_of(&self, row: StatementRow, already: bool) -> Result<StatementReport> {
        let mut conn = self.store.read().await?;
        let classes = fstore::class_totals(&mut conn, &row.id)
            .await?
            .into_iter()
            .map(|(class, currency, lines, amount_minor)| ClassTotal { class, currency, lines, amount_minor })
            .collect();
        let mut discrepancies = Vec::new();
        for class in LineClass::ALL.into_iter().filter(|c| c.is_discrepancy()) {
            let left = REPORT_LIMIT.saturating_sub(discrepancies.len()) as i64;
            for l in fstore::lines(&mut conn, &row.id, Some(class), 0, left).await? {
                discrepancies.push(LineMatch {
                    line: u32::try_from(l.line).unwrap_or(u32::MAX),
                    class: l.class,
                    shipment: l.shipment_id,
                    expected: l.expected,
                    difference: l.difference,
                    contract_fee: l.contract_fee,
                });
            }
        }
        discrepancies.sort_by_key(|m| m.line);
        let missing = fstore::missing_of(&mut conn, &row.id, REPORT_LIMIT as i64).await?;
        Ok(StatementReport {
            already_imported: already,
            kind: row.kind,
            profile: row.profile.clone(),
            carrier: row.carrier.clone(),
            lines: row.lines,
            error_count: row.errors,
            errors: fstore::errors_of(&mut conn, &row.id, REPORT_LIMIT as i64).await?,
            skipped: None,
            classes,
            discrepancies,
            missing_count: fstore::missing_count(&mut conn, &row.id).await?,
            missing,
            tasks_opened: 0,
            claims_settled: 0,
            statement: Some(row),
        })
    }

    pub async fn statements(&self, before: Option<&StatementId>, limit: i64) -> Result<Vec<StatementRow>> {
        Ok(fstore::statements(&mut *self.store.read().await?, before, limit).await?)
    }

    pub async fn statement(&self, id: &StatementId) -> Result<StatementReport> {
        let row = fstore::statement(&mut *self.store.read().await?, id).await?.ok_or(Error::NotFound("statement"))?;
        self.report_of(row, false).await
    }

    pub async fn statement_lines(
        &self,
        id: &StatementId,
        class: Option<LineClass>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<StoredLine>> {
        let mut conn = self.store.read().await?;
        fstore::statement(&mut conn, id).await?.ok_or(Error::NotFound("statement"))?;
        Ok(fstore::lines(&mut conn, id, class, after, limit).await?)
    }

    /// Balances per account, carrier and currency.
    pub async fn ledger_balances(&self) -> Result<Vec<(Account, String, Currency, i64)>> {
        Ok(fstore::balances(&mut *self.store.read().await?).await?)
    }

    pub async fn shipment_ledger(&self, id: &ShipmentId) -> Result<Vec<StoredPosting>> {
        Ok(fstore::postings_of(&mut *self.store.read().await?, id).await?)
    }
}

/// Tolerances from the settings (minor units and days), with defaults.
impl Finance {
    /// The slack reconciliation allows before a difference counts.
    pub async fn reconcile_tolerances(&self) -> Result<Tolerances> {
        tolerances(&mut *self.store.read().await?).await
    }

    /// Sets the tolerances (non-negative; a grace of at most a year), audited.
    pub async fn set_reconcile_tolerances(&self, t: Tolerances, actor: Actor) -> Result<Tolerances> {
        let mut e = codflow_domain::FieldErrors::default();
        for (path, v, max) in [
            ("amount_tolerance_minor", t.amount_minor, i64::MAX),
            ("fee_tolerance_minor", t.fee_minor, i64::MAX),
            ("grace_days", t.grace_days, 365),
        ] {
            if !(0..=max).contains(&v) {
                e.push(path, if max == 365 { "must be 0 to 365 days" } else { "must not be negative" });
            }
        }
        if !e.is_empty() {
            return Err(Error::Invalid(e));
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        let before = tolerances(&mut tx).await?;
        for (k, v) in TOLERANCE_KEYS.iter().zip([t.amount_minor, t.fee_minor, t.grace_days]) {
            rstore::set_setting(&mut tx, k, &v.to_string(), now).await?;
        }
        let a = AuditRecord::change(
            "settings",
            "reconcile_tolerances".to_owned(),
            "update",
            Some(format!("{before:?}")),
            Some(format!("{t:?}")),
            actor,
            now,
        );
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        Ok(t)
    }
}

const TOLERANCE_KEYS: [&str; 3] =
    ["reconcile_amount_tolerance_minor", "reconcile_fee_tolerance_minor", "reconcile_grace_days"];

enum Parsing {
    Done(statement::Parsed),
    Running(tokio::task::JoinHandle<Result<statement::Parsed>>),
}

/// The result of work on a blocking thread; its panic goes on in the caller.
async fn joined<T>(h: tokio::task::JoinHandle<Result<T>>) -> Result<T> {
    match h.await {
        Ok(r) => r,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

async fn tolerances(conn: &mut Conn) -> Result<Tolerances> {
    let keys = TOLERANCE_KEYS;
    let found = rstore::settings_of(conn, &keys).await?;
    let d = Tolerances::default();
    let int = |k: &str, default: i64| crate::settings::int(&found, k, default).map(|v| v.max(0));
    Ok(Tolerances {
        amount_minor: int(keys[0], d.amount_minor)?,
        fee_minor: int(keys[1], d.fee_minor)?,
        grace_days: int(keys[2], d.grace_days)?,
    })
}

/// `m` in `to` at the latest rate on or before `day`, quoted either way round; None without one.
pub(crate) fn convert_either(rates: &[FxRate], m: Money, to: Currency, day: Date) -> Option<Money> {
    use codflow_domain::rating::Fx;
    if m.currency == to || m.minor == 0 {
        return Some(Money::new(m.minor, to));
    }
    rates.rate_either(m.currency, to, day)?.convert(m).ok().map(|c| c.value)
}

/// Each channel's settlement cycle in days, by channel code.
pub(crate) async fn settlement_cycles(conn: &mut Conn) -> Result<HashMap<String, i64>> {
    Ok(lstore::channels(conn).await?.into_iter().map(|c| (c.code.to_string(), c.settlement_cycle_days)).collect())
}

/// What stored postings (a shipment's, say) add up to per account and currency.
pub fn totals(postings: &[StoredPosting]) -> BTreeMap<(Account, Currency), i64> {
    let legs: Vec<Posting> = postings.iter().map(|p| Posting { account: p.account, amount: p.amount }).collect();
    ledger::balances(&legs)
}
