//! COD finance use cases: settlement profiles, importing a statement (read, matched, previewed or
//! committed with its ledger entries, cash states and finance tasks), and the ledger's balances.

use std::collections::{BTreeMap, HashMap};

use codflow_domain::anomaly::AnomalyKind;
use codflow_domain::finance::aging::{self, AgingRow};
use codflow_domain::finance::ledger::{self, Account, Entry, Posting};
use codflow_domain::finance::reconcile::{self, CodTerms, Expected, LineClass, LineMatch, Remitted, Tolerances};
use codflow_domain::finance::statement::{self, Field, LineError, NumberFormat, Profile, StatementKind, StatementLine};
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
use crate::{App, Error, Result};

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
    pub classes: Vec<ClassTotal>,
    /// The first lines that are not a clean match.
    pub discrepancies: Vec<LineMatch>,
    pub missing_count: i64,
    pub missing: Vec<(ShipmentId, Money, String)>,
    pub tasks_opened: usize,
}

impl App {
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

    /// Reads a statement file through a profile, matches it, and (unless previewing) records it once:
    /// the lines with their verdicts, the ledger entries, the shipments' cash states and a finance task per
    /// difference. A file imported before returns what it found then.
    pub async fn import_statement(&self, body: &[u8], req: ImportRequest, actor: Actor) -> Result<StatementReport> {
        self.import_statement_owned(body.to_vec(), req, actor).await
    }

    /// As [`App::import_statement`], taking the file: it is let go once parsed, so a large statement is
    /// not held twice while its lines are matched and written.
    pub async fn import_statement_owned(
        &self,
        body: Vec<u8>,
        req: ImportRequest,
        actor: Actor,
    ) -> Result<StatementReport> {
        let (profile, _) = self.settlement_profile(&req.profile).await?;
        let hash = crate::stores::hex(&Sha256::digest(&body));
        if let Some(done) = fstore::statement_by_hash(&mut *self.store.read().await?, &hash).await? {
            return self.report_of(done, true).await;
        }
        let carrier = req.carrier.clone().or_else(|| builtin_carrier(&profile.name).map(str::to_owned));
        if profile.kind != StatementKind::Payout && carrier.is_none() {
            return Err(Error::invalid("carrier", "name the carrier this statement comes from"));
        }
        let clock = std::time::Instant::now();
        tracing::debug!(phase = "start", rss_mib = rss_mib(), "statement import");
        let now = self.clock().now();
        let as_of = now.date();
        // A CSV is parsed on a blocking thread while the database loads the carrier's shipments: the two take
        // about as long and use different cores. A workbook is read whole before the write transaction opens:
        // inflating it and filling merged regions must never hold every other writer.
        let xlsx = codflow_sheets::is_xlsx(&body);
        let handle = {
            let profile = profile.clone();
            tokio::task::spawn_blocking(move || read_file(&profile, &body))
        };
        let parsing = if xlsx { Parsing::Done(joined(handle).await?) } else { Parsing::Running(handle) };
        let mut tx = self.store.begin().await?;
        let tol = tolerances(&mut tx).await?;
        let expected = match (profile.kind, carrier.as_deref()) {
            (StatementKind::CodRemittance, Some(c)) => Some(expected_of(&mut tx, c, as_of).await?),
            _ => None,
        };
        let parsed = match parsing {
            Parsing::Done(parsed) => parsed,
            Parsing::Running(handle) => joined(handle).await?,
        };
        // A file none of whose lines could be read records nothing: it is refused with its lines' reasons.
        if parsed.lines.is_empty() {
            let mut e = codflow_domain::FieldErrors::default();
            e.push("file", "no line of the file could be read");
            for l in parsed.errors.iter().take(REPORT_LIMIT) {
                e.push(format!("line {}: {}", l.line, l.field), &l.message);
            }
            return Err(Error::Invalid(e));
        }
        tracing::debug!(
            phase = "read and loaded",
            ms = clock.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "statement import"
        );
        let mut evidence = Vec::new();
        let (matches, missing) = match (expected, profile.kind, carrier.as_deref()) {
            (Some(expected), _, _) => {
                let out = reconcile::remittance(&parsed.lines, &expected, tol, as_of);
                (out.lines, out.missing)
            }
            (None, StatementKind::FreightInvoice, Some(carrier)) => {
                let booked = booked_of(&mut tx, carrier, &parsed.lines).await?;
                let rates = rstore::rates(&mut tx).await?;
                // A carrier invoicing in another currency than its card: each quote at the line's day's rate.
                let convert =
                    |m: Money, to: Currency, day: Option<Date>| convert_either(&rates, m, to, day.unwrap_or(as_of));
                let mut matches = Vec::with_capacity(parsed.lines.len());
                for (m, e) in invoice::audit_converting(&parsed.lines, &booked, tol, convert) {
                    if let (Some(e), Some(s)) = (e, m.shipment.clone()) {
                        evidence.push((m.line, s, e));
                    }
                    matches.push(m);
                }
                (matches, Vec::new())
            }
            _ => {
                let refs: Vec<&str> = parsed.lines.iter().filter_map(|l| l.reference.as_deref()).collect();
                let remitted: Vec<Remitted> = fstore::remitted_by_reference(&mut tx, &refs)
                    .await?
                    .into_iter()
                    .map(|(reference, net, paid_out)| Remitted { reference, net, paid_out })
                    .collect();
                (reconcile::payouts(&parsed.lines, &remitted, tol), Vec::new())
            }
        };
        tracing::debug!(
            phase = "matched",
            ms = clock.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "statement import"
        );
        let id = StatementId::generate();
        let row = StatementRow {
            id: id.clone(),
            kind: profile.kind,
            profile: profile.name.clone(),
            carrier: carrier.clone(),
            file_name: req.file_name.clone(),
            content_hash: hash,
            lines: parsed.lines.len() as i64,
            errors: parsed.errors.len() as i64,
            as_of,
            imported_at: now,
            imported_by: actor.to_stored(),
        };
        let pairs = paired(&parsed.lines, &matches);
        let mut report = StatementReport {
            statement: None,
            already_imported: false,
            kind: profile.kind,
            profile: profile.name.clone(),
            carrier: carrier.clone(),
            lines: row.lines,
            error_count: row.errors,
            errors: parsed.errors.iter().take(REPORT_LIMIT).cloned().collect(),
            classes: class_totals(&pairs),
            discrepancies: matches.iter().filter(|m| m.class.is_discrepancy()).take(REPORT_LIMIT).cloned().collect(),
            missing_count: missing.len() as i64,
            missing: missing
                .iter()
                .take(REPORT_LIMIT)
                .map(|m| (m.shipment.clone(), m.expected, m.due_on.to_string()))
                .collect(),
            tasks_opened: 0,
        };
        if req.preview {
            return Ok(report);
        }
        if !fstore::insert_statement(&mut tx, &row).await? {
            // The same file was committed meanwhile by another request.
            drop(tx);
            let done = fstore::statement_by_hash(&mut *self.store.read().await?, &row.content_hash).await?;
            return self.report_of(done.ok_or(Error::NotFound("statement"))?, true).await;
        }
        fstore::insert_lines(&mut tx, &id, &pairs).await?;
        tracing::debug!(
            phase = "lines written",
            ms = clock.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "statement import"
        );
        fstore::insert_errors(&mut tx, &id, &parsed.errors).await?;
        fstore::insert_missing(&mut tx, &id, &missing).await?;
        let booked =
            if profile.kind == StatementKind::Payout { delivery_rates(&mut tx, &pairs).await? } else { HashMap::new() };
        let payout_entries = payout_plan(&pairs, &booked)?;
        let posted: Vec<Posted> = payout_entries
            .iter()
            .map(|(line, entry)| Posted {
                key: format!("pay:{id}:{line}"),
                entry,
                shipment: None,
                statement: Some(&id),
                carrier: None,
            })
            .collect();
        fstore::post(&mut tx, &posted, now).await?;
        tracing::debug!(
            phase = "ledger written",
            ms = clock.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "statement import"
        );
        if profile.kind == StatementKind::CodRemittance {
            fstore::settle_from_lines(&mut tx, &id, now).await?;
        }
        let checks: Vec<(u32, &ShipmentId, &invoice::Evidence)> = evidence.iter().map(|(l, s, e)| (*l, s, e)).collect();
        fstore::insert_checks(&mut tx, &id, &checks).await?;
        tracing::debug!(
            phase = "cash states written",
            ms = clock.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "statement import"
        );
        let tasks = difference_tasks(&id, &pairs, now);
        let opened = tstore::open_many(&mut tx, &tasks).await?;
        report.tasks_opened = opened.len();
        let mut a = AuditRecord::change(
            "statement",
            id.to_string(),
            "import",
            None,
            Some(profile.kind.as_str().into()),
            actor,
            self.clock().now(),
        );
        a.reason = Some(format!(
            "{} ({} lines, {} refused, {} differences, {} missing)",
            req.file_name,
            row.lines,
            row.errors,
            matches.iter().filter(|m| m.class.is_discrepancy()).count(),
            missing.len()
        ));
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        tracing::debug!(
            phase = "committed",
            ms = clock.elapsed().as_millis() as u64,
            rss_mib = rss_mib(),
            "statement import"
        );
        report.statement = Some(row);
        Ok(report)
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
            classes,
            discrepancies,
            missing_count: fstore::missing_count(&mut conn, &row.id).await?,
            missing,
            tasks_opened: 0,
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
impl App {
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

/// The carrier's COD shipments as reconciliation expects them, with the COD terms of their channels. A
/// card's fee floor and cap are in the card's currency; each parcel's are in its COD currency at `day`'s
/// rate (without a rate, no floor or cap is assumed rather than a wrong one).
async fn expected_of(conn: &mut Conn, carrier: &str, day: Date) -> Result<Vec<Expected>> {
    let rates = rstore::rates(conn).await?;
    let cards: HashMap<String, (Currency, Option<codflow_domain::rating::CodFee>, i64)> = lstore::channels(conn)
        .await?
        .into_iter()
        .map(|c| (c.code.to_string(), (c.card.currency, c.card.cod_fee, c.settlement_cycle_days)))
        .collect();
    let default = CodTerms { fee_bp: 0, fee_min_minor: 0, fee_max_minor: None, cycle_days: 14 };
    let terms = |channel: &str, currency: Currency| {
        let Some(&(card, fee, cycle_days)) = cards.get(channel) else { return default };
        let conv = |minor: i64| convert_either(&rates, Money::new(minor, card), currency, day).map(|m| m.minor);
        CodTerms {
            fee_bp: fee.map_or(0, |f| f.bp),
            fee_min_minor: fee.and_then(|f| conv(f.min_minor)).unwrap_or(0),
            fee_max_minor: fee.and_then(|f| f.max_minor).and_then(conv),
            cycle_days,
        }
    };
    let shipments = fstore::cod_shipments(conn, carrier).await?;
    let short: Vec<(&ShipmentId, Currency)> = shipments
        .iter()
        .filter(|s| s.cod_status == CodStatus::ShortPaid)
        .map(|s| (&s.shipment_id, s.cod.currency))
        .collect();
    let received = fstore::received_toward(conn, &short).await?;
    let expected = shipments
        .into_iter()
        .map(|s| Expected {
            terms: terms(&s.channel, s.cod.currency),
            remitted: matches!(s.cod_status, CodStatus::Remitted | CodStatus::PaidOut),
            received_minor: received.get(&s.shipment_id).copied().unwrap_or(0),
            shipment: s.shipment_id,
            tracking_number: s.tracking_number,
            order_ref: s.order_ref,
            cod: s.cod,
            delivered_on: s.delivered_at.map(|d| d.date()),
        })
        .collect();
    Ok(expected)
}

/// `m` in `to` at the latest rate on or before `day`, quoted either way round; None without one.
pub(crate) fn convert_either(rates: &[FxRate], m: Money, to: Currency, day: Date) -> Option<Money> {
    use codflow_domain::rating::Fx;
    if m.currency == to || m.minor == 0 {
        return Some(Money::new(m.minor, to));
    }
    rates.rate_either(m.currency, to, day)?.convert(m).ok().map(|c| c.value)
}

/// The shipments an invoice names, each with the quote it was booked on (the booked channel's entry in the
/// order's ranking).
async fn booked_of(conn: &mut Conn, carrier: &str, lines: &[StatementLine]) -> Result<Vec<invoice::Booked>> {
    let tns: Vec<&str> = lines.iter().filter_map(|l| l.tracking_number.as_deref()).collect();
    let refs: Vec<&str> =
        lines.iter().filter(|l| l.tracking_number.is_none()).filter_map(|l| l.order_ref.as_deref()).collect();
    let rows = fstore::invoiced_shipments(conn, carrier, &tns, &refs).await?;
    Ok(rows
        .into_iter()
        .map(|s| {
            let choice: Option<ChannelChoice> = s.choice.as_deref().and_then(|c| serde_json::from_str(c).ok());
            let quote = choice.and_then(|c| {
                let r = c.ranking.into_iter().find(|r| r.channel == s.channel)?;
                Some(invoice::BookedQuote {
                    zone: r.zone,
                    billable_weight_g: r.billable_weight_g,
                    breakdown: r.breakdown?,
                    currency: Currency::parse(&r.currency).ok()?,
                })
            });
            invoice::Booked {
                shipment: s.shipment_id,
                tracking_number: s.tracking_number,
                order_ref: s.order_ref,
                declared_weight_g: s.weight_g,
                quote,
                invoiced: s.invoiced,
            }
        })
        .collect())
}

/// Each verdict beside its line. Both come in line order (the file's lines ascend; matching returns its
/// verdicts sorted by line), one verdict per line, so a merge pairs them without an index of a million lines.
fn paired<'a>(lines: &'a [StatementLine], matches: &'a [LineMatch]) -> Vec<(&'a StatementLine, &'a LineMatch)> {
    let ascending =
        lines.windows(2).all(|w| w[0].line < w[1].line) && matches.windows(2).all(|w| w[0].line < w[1].line);
    if !ascending {
        let by_line: HashMap<u32, &StatementLine> = lines.iter().map(|l| (l.line, l)).collect();
        return matches.iter().filter_map(|m| by_line.get(&m.line).map(|l| (*l, m))).collect();
    }
    let mut out = Vec::with_capacity(matches.len());
    let mut lines = lines.iter().peekable();
    for m in matches {
        while lines.next_if(|l| l.line < m.line).is_some() {}
        if let Some(l) = lines.next_if(|l| l.line == m.line) {
            out.push((l, m));
        }
    }
    out
}

fn pays_out(m: &LineMatch) -> bool {
    m.expected.is_some()
        && m.shipment.is_none()
        && matches!(m.class, LineClass::Matched | LineClass::ShortPaid | LineClass::OverPaid)
}

/// For each payout line converted into another currency, the rate its remittance was worth on its parcels'
/// delivery days (the ledger books the payout's gain or loss against it).
async fn delivery_rates(
    conn: &mut Conn,
    pairs: &[(&StatementLine, &LineMatch)],
) -> Result<HashMap<(String, Currency), FxRate>> {
    let converted: Vec<(&str, Currency, Currency)> = pairs
        .iter()
        .filter(|(_, m)| pays_out(m))
        .filter_map(|(l, _)| {
            let to = l.settled?.currency;
            (to != l.amount.currency).then_some((l.reference.as_deref()?, l.amount.currency, to))
        })
        .collect();
    if converted.is_empty() {
        return Ok(HashMap::new());
    }
    let refs: Vec<&str> = converted.iter().map(|(r, _, _)| *r).collect();
    let mut parts: HashMap<(String, Currency), Vec<(Money, Date)>> = HashMap::new();
    for (reference, net, day) in fstore::remitted_by_delivery_day(conn, &refs).await? {
        parts.entry((reference, net.currency)).or_default().push((net, day));
    }
    let rates = rstore::rates(conn).await?;
    let mut out = HashMap::new();
    for (reference, from, to) in converted {
        let Some(parts) = parts.get(&(reference.to_owned(), from)) else { continue };
        if let Some(rate) = ledger::delivery_rate(parts, to, &rates[..])? {
            out.insert((reference.to_owned(), from), rate);
        }
    }
    Ok(out)
}

/// A payout's entries: each line that pays a known remittance moves its cash to the bank, with the exchange
/// valued at the delivery days' rates when there are any.
fn payout_plan(
    pairs: &[(&StatementLine, &LineMatch)],
    booked: &HashMap<(String, Currency), FxRate>,
) -> Result<Vec<(u32, Entry)>> {
    let mut out = Vec::new();
    for (l, _) in pairs.iter().filter(|(_, m)| pays_out(m)) {
        let settled = l.settled.unwrap_or(l.net);
        let rate = l.reference.as_ref().and_then(|r| booked.get(&(r.clone(), l.amount.currency)));
        let e = Entry::paid_out(l.amount, l.fee, settled, rate)
            .map_err(|e| Error::invalid(&format!("lines[{}]", l.line), e.to_string()))?;
        out.push((l.line, e));
    }
    Ok(out)
}

fn class_totals(pairs: &[(&StatementLine, &LineMatch)]) -> Vec<ClassTotal> {
    let mut sums: BTreeMap<(LineClass, String), (i64, i64)> = BTreeMap::new();
    for (l, m) in pairs {
        let e = sums.entry((m.class, l.amount.currency.code().to_owned())).or_insert((0, 0));
        e.0 += 1;
        e.1 += l.amount.minor;
    }
    sums.into_iter()
        .filter_map(|((class, c), (n, total))| {
            Currency::parse(&c).ok().map(|currency| ClassTotal { class, currency, lines: n, amount_minor: total })
        })
        .collect()
}

/// A finance task per line that needs a decision (one per shipment at a time), and one for the lines that
/// name no shipment of ours.
fn difference_tasks(id: &StatementId, pairs: &[(&StatementLine, &LineMatch)], now: OffsetDateTime) -> Vec<Task> {
    let task = |shipment: Option<ShipmentId>, title: String| Task {
        id: TaskId::generate(),
        kind: AnomalyKind::SettlementDifference,
        shipment_id: shipment,
        order_id: None,
        role: Role::Finance,
        status: TaskStatus::Open,
        title,
        due_at: now + Duration::hours(72),
        assignee: None,
        opened_by: "reconciliation".into(),
        resolution: None,
        created_at: now,
        updated_at: now,
        closed_at: None,
    };
    let mut out = Vec::new();
    let mut unknown = 0;
    for (l, m) in pairs.iter().filter(|(_, m)| m.class.needs_decision()) {
        let Some(shipment) = m.shipment.clone() else {
            unknown += 1;
            continue;
        };
        let what = match (m.class, m.expected) {
            (LineClass::ShortPaid, Some(e)) => format!("short paid: {} of {}", l.amount, e),
            (LineClass::OverPaid, Some(e)) => format!("over paid: {} for {}", l.amount, e),
            (LineClass::FeeAboveContract, _) => format!(
                "COD fee {} above the contract's {}",
                l.fee,
                m.contract_fee.map_or_else(String::new, |f| f.to_string())
            ),
            (LineClass::CurrencyMismatch, Some(e)) => format!("paid in {} for {}", l.amount, e),
            (LineClass::Duplicate, _) => format!("paid or billed again: {}", l.amount),
            (LineClass::Overcharged, Some(e)) => format!("billed {} for a quote of {}", l.amount, e),
            (c, _) => c.as_str().to_owned(),
        };
        let tn = l.tracking_number.as_deref().or(l.order_ref.as_deref()).unwrap_or("");
        out.push(task(Some(shipment), format!("Settlement {id} line {}: {what} ({tn})", m.line)));
    }
    if unknown > 0 {
        out.push(task(None, format!("Settlement {id}: {unknown} lines name no shipment of ours")));
    }
    out
}

/// What an exchange-rate file did: the rates written (a pair's rate for a day is replaced) and the lines
/// refused.
#[derive(Clone, Debug)]
pub struct FxImport {
    pub imported: usize,
    pub errors: Vec<LineError>,
}

impl App {
    /// Imports exchange rates from a CSV file (`from,to,as_of,rate[,source]`); good lines land even when
    /// others are refused, and importing the same file again changes nothing.
    pub async fn import_fx_rates(&self, body: &[u8], file_name: &str, actor: Actor) -> Result<FxImport> {
        let mut refused = Vec::new();
        let read = if codflow_sheets::is_xlsx(body) {
            let rows = codflow_sheets::xlsx_rows(body, '.').map_err(|e| Error::invalid("file", e.to_string()))?;
            fx::read_rates(rows, file_name)
        } else {
            fx::read_rates(csv_rows(body, None, 0, &mut refused), file_name)
        };
        let (rates, mut errors) = read.map_err(|e| Error::invalid("file", e.to_string()))?;
        errors.extend(refused);
        errors.sort_by_key(|e| e.line);
        if rates.is_empty() {
            let mut e = codflow_domain::FieldErrors::default();
            e.push("file", "no exchange rate could be read");
            for l in errors.iter().take(REPORT_LIMIT) {
                e.push(format!("line {}: {}", l.line, l.field), &l.message);
            }
            return Err(Error::Invalid(e));
        }
        let now = self.clock().now();
        let mut tx = self.store.begin().await?;
        for r in &rates {
            rstore::put_rate(&mut tx, r, now).await?;
        }
        rstore::bump_review_generation(&mut tx, now).await?;
        let mut a = AuditRecord::change("fx_rates", file_name.to_owned(), "import", None, None, actor, now);
        a.reason = Some(format!("{} rates, {} lines refused", rates.len(), errors.len()));
        orders::insert_audit(&mut tx, &[a]).await?;
        commit(tx).await?;
        self.ctx.review.invalidate();
        Ok(FxImport { imported: rates.len(), errors })
    }
}

/// Splits a CSV file into cells (the delimiter as the profile says or as the header suggests), or an XLSX
/// workbook's first sheet, and reads it through the profile.
pub fn read_file(profile: &Profile, body: &[u8]) -> Result<statement::Parsed> {
    if codflow_sheets::is_xlsx(body) {
        let rows = codflow_sheets::xlsx_rows(body, profile.number.decimal)
            .map_err(|e| Error::invalid("file", e.to_string()))?;
        // Date cells come as YYYY-MM-DD whatever the sheet displays.
        let mut profile = profile.clone();
        if !profile.date_formats.iter().any(|f| f == "YYYY-MM-DD") {
            profile.date_formats.push("YYYY-MM-DD".into());
        }
        let rows = rows.into_iter().skip(profile.skip_rows);
        return statement::read(&profile, rows).map_err(|e| Error::invalid("file", e.to_string()));
    }
    let mut refused: Vec<LineError> = Vec::new();
    let rows = csv_rows(body, profile.delimiter, profile.skip_rows, &mut refused);
    let mut parsed = statement::read(profile, rows).map_err(|e| Error::invalid("file", e.to_string()))?;
    parsed.errors.extend(refused);
    parsed.errors.sort_by_key(|e| e.line);
    Ok(parsed)
}

/// The rows of a CSV file with their line numbers, as they are read: no BOM, the delimiter given or the
/// one that splits the header best, the first `skip` rows dropped. Rows that are not CSV or not UTF-8 go
/// to `refused` with their line.
fn csv_rows<'a>(
    body: &'a [u8],
    delimiter: Option<char>,
    skip: usize,
    refused: &'a mut Vec<LineError>,
) -> impl Iterator<Item = (u32, Vec<String>)> + 'a {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let delimiter = match delimiter {
        Some(d) => d as u8,
        None => detect_delimiter(body, skip),
    };
    let mut skip = skip;
    codflow_sheets::csv::Reader::new(body, delimiter).filter_map(move |r| {
        let rec = match r {
            Ok(rec) => rec,
            Err(e) => {
                let field = e.column.map_or_else(|| "file".to_owned(), |c| format!("column {c}"));
                refused.push(LineError { line: e.line as u32, field, message: e.message });
                return None;
            }
        };
        if skip > 0 {
            skip -= 1;
            return None;
        }
        Some((rec.line as u32, rec.fields))
    })
}

/// The candidate that splits the header line into the most cells.
fn detect_delimiter(body: &[u8], skip_rows: usize) -> u8 {
    let header = body.split(|b| *b == b'\n').nth(skip_rows).unwrap_or(body);
    [b',', b';', b'\t', b'|'].into_iter().max_by_key(|d| header.iter().filter(|b| *b == d).count()).unwrap_or(b',')
}

/// Resident memory now, for the import's phase log (Linux; 0 elsewhere).
fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096 / 1_048_576)
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

impl App {
    /// Delivered cash not yet remitted, by carrier and currency, in age buckets, with what is past each
    /// channel's settlement cycle.
    pub async fn receivables_aging(&self) -> Result<Vec<AgingRow>> {
        let mut conn = self.store.read().await?;
        let cycles = settlement_cycles(&mut conn).await?;
        let open = fstore::open_receivables(&mut conn, self.clock().now(), None).await?;
        Ok(aging::age(&open, |c| cycles.get(c).copied()))
    }

    /// The orders behind an aging row: `carrier`'s delivered COD parcels in `currency` whose cash is still
    /// owed, or with `past_cycle` only those aging counts overdue; newest first, a page at a time.
    pub async fn owed_orders(
        &self,
        carrier: &str,
        currency: Currency,
        past_cycle: bool,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<(Vec<codflow_domain::Order>, Option<String>)> {
        let before = cursor.map(OrderId::parse).transpose().map_err(|_| Error::invalid("cursor", "not a cursor"))?;
        let mut conn = self.store.read().await?;
        let cycles = if past_cycle { Some(settlement_cycles(&mut conn).await?) } else { None };
        let cycles = cycles.as_ref().map(|c| (c, aging::DEFAULT_CYCLE_DAYS));
        let now = self.clock().now();
        let ids = fstore::owed_orders(&mut conn, carrier, currency, now, cycles, before.as_ref(), limit + 1).await?;
        let mut orders = orders::get_many(&mut conn, &ids).await?;
        orders.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(crate::split_page(orders, limit, |o| o.id.to_string()))
    }

    /// What is past its channel's settlement cycle, by carrier and currency (`overdue` of each row; the
    /// buckets count only parcels older than the shortest cycle). Reads the old slice of the receivables
    /// alone, so it stays cheap however much recent cash is owed.
    pub async fn overdue_receivables(&self) -> Result<Vec<AgingRow>> {
        let mut conn = self.store.read().await?;
        let cycles = settlement_cycles(&mut conn).await?;
        let shortest =
            cycles.values().copied().min().unwrap_or(aging::DEFAULT_CYCLE_DAYS).min(aging::DEFAULT_CYCLE_DAYS);
        let open = fstore::open_receivables(&mut conn, self.clock().now(), Some(shortest.max(0) + 1)).await?;
        let mut rows = aging::age(&open, |c| cycles.get(c).copied());
        rows.retain(|r| r.overdue.parcels > 0);
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u32) -> StatementLine {
        let sar = Currency::parse("SAR").unwrap();
        StatementLine {
            line: n,
            tracking_number: Some(format!("T{n}")),
            order_ref: None,
            reference: None,
            date: None,
            amount: Money::new(100, sar),
            fee: Money::zero(sar),
            freight: Money::zero(sar),
            other: Money::zero(sar),
            net: Money::new(100, sar),
            fx_rate: None,
            settled: None,
            billed_weight_g: None,
            zone: None,
        }
    }

    fn verdict(n: u32) -> LineMatch {
        LineMatch {
            line: n,
            class: LineClass::UnknownReference,
            shipment: None,
            expected: None,
            difference: None,
            contract_fee: None,
        }
    }

    #[test]
    fn every_verdict_is_paired_with_its_own_line_in_order_or_not() {
        let lines: Vec<StatementLine> = [2, 3, 5, 8].map(line).to_vec();
        let verdicts: Vec<LineMatch> = [2, 3, 5, 8].map(verdict).to_vec();
        let got: Vec<(u32, u32)> = paired(&lines, &verdicts).iter().map(|(l, m)| (l.line, m.line)).collect();
        assert_eq!(got, vec![(2, 2), (3, 3), (5, 5), (8, 8)]);
        // Lines out of order (never from a file, but not assumed): still each with its own.
        let shuffled: Vec<StatementLine> = [5, 2, 8, 3].map(line).to_vec();
        let got: Vec<(u32, u32)> = paired(&shuffled, &verdicts).iter().map(|(l, m)| (l.line, m.line)).collect();
        assert_eq!(got, vec![(2, 2), (3, 3), (5, 5), (8, 8)]);
    }
}
