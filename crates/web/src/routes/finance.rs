//! COD finance: settlement profiles, statements imported and reconciled, the ledger.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use codflow_app::finance::{ImportRequest, StatementReport, StatementRow, StoredLine, StoredPosting};
use codflow_domain::finance::reconcile::{LineClass, Tolerances};
use codflow_domain::finance::statement::{LineError, Profile};
use codflow_domain::money::Money;
use codflow_domain::{Actor, FieldErrors, Role, ShipmentId, StatementId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::{MoneyDto, Page, rfc3339};
use crate::extract::{ApiJson, ApiQuery, Auth, READERS, Upload};
use crate::routes::imports::multipart_error;
use crate::routes::logistics::{Download, download};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// Statements and profiles are finance's (and the admin's).
const FINANCE: &[Role] = &[Role::Finance];

fn invalid(path: &str, message: &str) -> ApiError {
    let mut f = FieldErrors::default();
    f.push(path, message);
    ApiError::Invalid(f)
}

/// A settlement profile as `PUT /api/v1/settlement-profiles/{name}` takes it (the name comes from the path).
/// Documents the body; the handler reads it into the domain's `Profile`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProfileBody {
    /// `cod_remittance`, `payout` or `freight_invoice`.
    #[schema(example = "cod_remittance")]
    kind: String,
    /// Field → the header text of its column (compared trimmed, without case). Fields: tracking_number,
    /// order_ref, reference, date, currency, amount, fee, freight, other, net, fx_rate, settled,
    /// settled_currency, billed_weight, zone.
    #[schema(value_type = Object, example = json!({"tracking_number": "AWB", "date": "Delivered", "amount": "COD Amount", "fee": "COD Fee", "net": "Net"}))]
    columns: std::collections::BTreeMap<String, String>,
    /// Patterns tried in order, from `YYYY`, `MM`, `DD`, `HH`, `mm`, `ss` and separators.
    #[schema(example = json!(["DD/MM/YYYY", "YYYY-MM-DD"]))]
    date_formats: Vec<String>,
    number: NumberFormatBody,
    /// The currency of every amount when the file has no currency column.
    #[schema(example = "SAR")]
    currency: Option<String>,
    /// Deductions (fee, freight, other) are written as negative numbers.
    deductions_negative: bool,
    /// One character; absent: detected from the header.
    delimiter: Option<String>,
    /// Rows before the header.
    skip_rows: u32,
    /// Invoice weights in kilograms (else grams).
    weight_in_kg: bool,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NumberFormatBody {
    /// `.` or `,`.
    #[schema(example = ".")]
    decimal: String,
    /// None, or one of `,` `.` ` ` `'` (not the decimal mark).
    thousands: Option<String>,
}

/// A statement upload (multipart/form-data).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct StatementUpload {
    /// The carrier's or platform's file: CSV or XLSX.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The settlement profile that reads it.
    profile: String,
    /// The carrier it is from, when the profile does not say.
    carrier: Option<String>,
    /// `true`: classify and report, record nothing.
    preview: Option<bool>,
}

/// An exchange-rate file (multipart/form-data).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RatesUpload {
    /// CSV with columns `from,to,as_of,rate[,source]`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileDto {
    /// The profile as stored (columns, date_formats, number, currency, ...).
    #[schema(value_type = Object)]
    pub profile: serde_json::Value,
    pub builtin: bool,
}

fn profile_dto(p: Profile, builtin: bool) -> ProfileDto {
    ProfileDto { profile: serde_json::to_value(p).unwrap_or_default(), builtin }
}

#[utoipa::path(get, path = "/api/v1/settlement-profiles", tag = "finance", responses((status = 200, body = Vec<ProfileDto>)))]
pub async fn profiles(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Vec<ProfileDto>>> {
    auth.require(READERS)?;
    Ok(Json(s.app.finance().settlement_profiles().await?.into_iter().map(|(p, b)| profile_dto(p, b)).collect()))
}

#[utoipa::path(get, path = "/api/v1/settlement-profiles/{name}", tag = "finance", params(("name" = String, Path)),
    responses((status = 200, body = ProfileDto), (status = 404)))]
pub async fn profile(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<Json<ProfileDto>> {
    auth.require(READERS)?;
    let (p, b) = s.app.finance().settlement_profile(&name).await?;
    Ok(Json(profile_dto(p, b)))
}

#[utoipa::path(put, path = "/api/v1/settlement-profiles/{name}", tag = "finance", params(("name" = String, Path)),
    request_body = ProfileBody,
    responses((status = 201, body = ProfileDto), (status = 200, body = ProfileDto), (status = 409, description = "a built-in name"), (status = 422)))]
pub async fn put_profile(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(name): Path<String>,
    ApiJson(mut body): ApiJson<serde_json::Value>,
) -> ApiResult<(StatusCode, Json<ProfileDto>)> {
    auth.require(FINANCE)?;
    if let Some(o) = body.as_object_mut() {
        o.insert("name".into(), serde_json::Value::String(name));
    }
    let p: Profile = serde_path_to_error::deserialize(body)
        .map_err(|e| crate::extract::field_error(&e.path().to_string(), &e.inner().to_string()))?;
    let created = s.app.finance().put_settlement_profile(p.clone(), Actor::Token(auth.0.token)).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(profile_dto(p, false))))
}

#[utoipa::path(delete, path = "/api/v1/settlement-profiles/{name}", tag = "finance", params(("name" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn delete_profile(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    auth.require(FINANCE)?;
    s.app.finance().delete_settlement_profile(&name, Actor::Token(auth.0.token)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct StatementDto {
    pub id: String,
    /// `cod_remittance` or `payout`.
    pub kind: String,
    pub profile: String,
    pub carrier: Option<String>,
    pub file_name: String,
    /// SHA-256 of the file: the same file is imported once.
    pub content_hash: String,
    pub lines: i64,
    pub errors: i64,
    pub as_of: String,
    pub imported_at: String,
    pub imported_by: String,
}

impl From<StatementRow> for StatementDto {
    fn from(r: StatementRow) -> Self {
        StatementDto {
            id: r.id.to_string(),
            kind: r.kind.as_str().into(),
            profile: r.profile,
            carrier: r.carrier,
            file_name: r.file_name,
            content_hash: r.content_hash,
            lines: r.lines,
            errors: r.errors,
            as_of: r.as_of.to_string(),
            imported_at: rfc3339(r.imported_at),
            imported_by: r.imported_by,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LineErrorDto {
    pub line: u32,
    pub field: String,
    pub message: String,
}

impl From<LineError> for LineErrorDto {
    fn from(e: LineError) -> Self {
        LineErrorDto { line: e.line, field: e.field, message: e.message }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ClassTotalDto {
    pub class: String,
    pub lines: i64,
    pub amount: MoneyDto,
}

#[derive(Serialize, ToSchema)]
pub struct DiscrepancyDto {
    pub line: u32,
    pub class: String,
    pub shipment_id: Option<String>,
    pub expected: Option<MoneyDto>,
    pub difference: Option<MoneyDto>,
    pub contract_fee: Option<MoneyDto>,
}

#[derive(Serialize, ToSchema)]
pub struct MissingDto {
    pub shipment_id: String,
    pub expected: MoneyDto,
    pub due_on: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReportDto {
    /// Absent for a preview.
    pub statement: Option<StatementDto>,
    pub already_imported: bool,
    pub preview: bool,
    pub kind: String,
    pub profile: String,
    pub carrier: Option<String>,
    pub lines: i64,
    pub error_count: i64,
    /// The first lines refused, with line and field.
    pub errors: Vec<LineErrorDto>,
    /// Lines and amounts per class and currency: they add up to the statement's total.
    pub classes: Vec<ClassTotalDto>,
    pub discrepancies: Vec<DiscrepancyDto>,
    pub missing_count: i64,
    pub missing: Vec<MissingDto>,
    pub tasks_opened: usize,
}

fn report_dto(r: StatementReport, preview: bool) -> ReportDto {
    ReportDto {
        preview,
        already_imported: r.already_imported,
        kind: r.kind.as_str().into(),
        profile: r.profile,
        carrier: r.carrier,
        lines: r.lines,
        error_count: r.error_count,
        errors: r.errors.into_iter().map(Into::into).collect(),
        classes: r
            .classes
            .into_iter()
            .map(|c| ClassTotalDto {
                class: c.class.as_str().into(),
                lines: c.lines,
                amount: Money::new(c.amount_minor, c.currency).into(),
            })
            .collect(),
        discrepancies: r
            .discrepancies
            .into_iter()
            .map(|d| DiscrepancyDto {
                line: d.line,
                class: d.class.as_str().into(),
                shipment_id: d.shipment.map(|s| s.to_string()),
                expected: d.expected.map(Into::into),
                difference: d.difference.map(Into::into),
                contract_fee: d.contract_fee.map(Into::into),
            })
            .collect(),
        missing_count: r.missing_count,
        missing: r
            .missing
            .into_iter()
            .map(|(s, m, due)| MissingDto { shipment_id: s.to_string(), expected: m.into(), due_on: due })
            .collect(),
        tasks_opened: r.tasks_opened,
        statement: r.statement.map(Into::into),
    }
}

/// Imports a statement (multipart: `file`, `profile`, optionally `carrier` and `preview=true`). The same
/// file twice records nothing the second time and answers what the first import found.
#[utoipa::path(post, path = "/api/v1/statements", tag = "finance",
    request_body(content = StatementUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = ReportDto, description = "recorded"), (status = 200, body = ReportDto, description = "a preview, or a file imported before"),
        (status = 404, description = "no such profile"), (status = 422, description = "the header does not fit the profile"), (status = 413)))]
pub async fn import(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Upload(mut form): Upload,
) -> ApiResult<(StatusCode, Json<ReportDto>)> {
    auth.require(FINANCE)?;
    let mut file = None;
    let mut file_name = String::new();
    let (mut profile, mut carrier, mut preview) = (None, None, false);
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => {
                file_name = field.file_name().unwrap_or("statement.csv").to_owned();
                file = Some(field.bytes().await.map_err(multipart_error)?);
            }
            Some("profile") => profile = Some(field.text().await.map_err(multipart_error)?.trim().to_owned()),
            Some("carrier") => {
                carrier = Some(field.text().await.map_err(multipart_error)?.trim().to_owned()).filter(|c| !c.is_empty())
            }
            Some("preview") => {
                preview = match field.text().await.map_err(multipart_error)?.trim() {
                    "true" | "1" => true,
                    "false" | "0" | "" => false,
                    _ => return Err(invalid("preview", "true or false")),
                }
            }
            _ => {}
        }
    }
    let file = file.ok_or_else(|| invalid("file", "send the statement as the multipart field named file"))?;
    let profile = profile.ok_or_else(|| invalid("profile", "name the profile to read the file with"))?;
    let req = ImportRequest { file_name, profile, carrier, preview };
    let r = s.app.finance().import_statement_owned(Vec::from(file), req, Actor::Token(auth.0.token)).await?;
    let status = if preview || r.already_imported { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(report_dto(r, preview))))
}

#[derive(Serialize, ToSchema)]
pub struct FxImportDto {
    pub imported: usize,
    /// Lines refused, with line and field; the other lines were imported.
    pub errors: Vec<LineErrorDto>,
}

/// Imports exchange rates from a CSV file (multipart field `file`; columns `from,to,as_of,rate[,source]`).
/// A pair's rate for a day is replaced, so importing the same file twice changes nothing.
#[utoipa::path(post, path = "/api/v1/fx-rates/import", tag = "finance",
    request_body(content = RatesUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = FxImportDto), (status = 422, description = "no rate could be read"), (status = 413)))]
pub async fn import_fx_rates(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Upload(mut form): Upload,
) -> ApiResult<Json<FxImportDto>> {
    auth.require(&[Role::Finance, Role::Ops])?;
    let mut file = None;
    let mut file_name = String::new();
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        if field.name() == Some("file") {
            file_name = field.file_name().unwrap_or("rates.csv").to_owned();
            file = Some(field.bytes().await.map_err(multipart_error)?);
        }
    }
    let file = file.ok_or_else(|| invalid("file", "send the rates as the multipart field named file"))?;
    let r = s.app.finance().import_fx_rates(&file, &file_name, Actor::Token(auth.0.token)).await?;
    let errors = r.errors.into_iter().map(Into::into).collect();
    Ok(Json(FxImportDto { imported: r.imported, errors }))
}

/// The query parameters of [`list`].
#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/statements", tag = "finance",
    params(("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<StatementDto>)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<StatementDto>>> {
    auth.require(READERS)?;
    let limit = q.page.limit()?;
    let before =
        q.page.cursor().map(StatementId::parse).transpose().map_err(|_| invalid("cursor", "not a statement id"))?;
    let items = s.app.finance().statements(before.as_ref(), limit).await?;
    let next_cursor = (items.len() as i64 == limit).then(|| items.last().map(|r| r.id.to_string())).flatten();
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

/// The dispute packet of one statement line: the line, the expected amount and the contract's terms, the
/// invoice evidence and the parcel's tracking timeline.
/// The query parameters of [`dispute`].
#[derive(serde::Deserialize, Default)]
pub struct DisputeQuery {
    #[serde(default)]
    format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/statements/{id}/lines/{line}/dispute", tag = "finance",
    params(("id" = String, Path), ("line" = i64, Path), ("format" = Option<String>, Query, description = "pdf (default) or csv")),
    responses((status = 200, description = "PDF or CSV"), (status = 404), (status = 422, description = "unknown format")))]
pub async fn dispute(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((id, line)): Path<(String, i64)>,
    ApiQuery(q): ApiQuery<DisputeQuery>,
) -> ApiResult<Download> {
    auth.require(READERS)?;
    let csv = match q.format.as_deref() {
        None | Some("pdf") => false,
        Some("csv") => true,
        Some(_) => return Err(invalid("format", "pdf or csv")),
    };
    let d = s.app.finance().dispute_packet(&statement_id(&id)?, line, csv).await?;
    Ok(download(d.content_type, &d.filename, d.bytes))
}

/// Every line of a statement that needs a decision, a packet each, in one PDF.
#[utoipa::path(get, path = "/api/v1/statements/{id}/disputes", tag = "finance", params(("id" = String, Path)),
    responses((status = 200, description = "PDF"), (status = 404), (status = 409, description = "nothing to dispute")))]
pub async fn disputes(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Download> {
    auth.require(READERS)?;
    let d = s.app.finance().dispute_packets(&statement_id(&id)?).await?;
    Ok(download(d.content_type, &d.filename, d.bytes))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TolerancesDto {
    /// Cash short or over by at most this (minor units) still matches.
    pub amount_tolerance_minor: i64,
    /// A COD fee above the contract by at most this still matches.
    pub fee_tolerance_minor: i64,
    /// Days after a channel's settlement cycle before a delivered parcel counts as missing.
    pub grace_days: i64,
}

impl From<Tolerances> for TolerancesDto {
    fn from(t: Tolerances) -> Self {
        TolerancesDto {
            amount_tolerance_minor: t.amount_minor,
            fee_tolerance_minor: t.fee_minor,
            grace_days: t.grace_days,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/finance/tolerances", tag = "finance", responses((status = 200, body = TolerancesDto)))]
pub async fn tolerances(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<TolerancesDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.finance().reconcile_tolerances().await?.into()))
}

#[utoipa::path(put, path = "/api/v1/finance/tolerances", tag = "finance", request_body = TolerancesDto,
    responses((status = 200, body = TolerancesDto), (status = 422)))]
pub async fn put_tolerances(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<TolerancesDto>,
) -> ApiResult<Json<TolerancesDto>> {
    auth.require(FINANCE)?;
    let t = Tolerances {
        amount_minor: b.amount_tolerance_minor,
        fee_minor: b.fee_tolerance_minor,
        grace_days: b.grace_days,
    };
    Ok(Json(s.app.finance().set_reconcile_tolerances(t, Actor::Token(auth.0.token)).await?.into()))
}

fn statement_id(id: &str) -> Result<StatementId, ApiError> {
    StatementId::parse(id).map_err(|_| ApiError::NotFound("statement"))
}

#[utoipa::path(get, path = "/api/v1/statements/{id}", tag = "finance", params(("id" = String, Path)),
    responses((status = 200, body = ReportDto), (status = 404)))]
pub async fn get(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<ReportDto>> {
    auth.require(READERS)?;
    Ok(Json(report_dto(s.app.finance().statement(&statement_id(&id)?).await?, false)))
}

#[derive(Serialize, ToSchema)]
pub struct LineDto {
    pub line: i64,
    pub class: String,
    pub tracking_number: Option<String>,
    pub order_ref: Option<String>,
    pub reference: Option<String>,
    pub date: Option<String>,
    pub amount: MoneyDto,
    pub fee: MoneyDto,
    pub freight: MoneyDto,
    pub other: MoneyDto,
    pub net: MoneyDto,
    pub shipment_id: Option<String>,
    pub expected: Option<MoneyDto>,
    pub difference: Option<MoneyDto>,
    pub contract_fee: Option<MoneyDto>,
}

impl From<StoredLine> for LineDto {
    fn from(l: StoredLine) -> Self {
        LineDto {
            line: l.line,
            class: l.class.as_str().into(),
            tracking_number: l.tracking_number,
            order_ref: l.order_ref,
            reference: l.reference,
            date: l.date,
            amount: l.amount.into(),
            fee: l.fee.into(),
            freight: l.freight.into(),
            other: l.other.into(),
            net: l.net.into(),
            shipment_id: l.shipment_id.map(|s| s.to_string()),
            expected: l.expected.map(Into::into),
            difference: l.difference.map(Into::into),
            contract_fee: l.contract_fee.map(Into::into),
        }
    }
}

/// The query parameters of [`lines`].
#[derive(serde::Deserialize, Default)]
pub struct LinesQuery {
    #[serde(default)]
    class: Option<String>,
    #[serde(flatten)]
    page: crate::routes::PageQuery,
}

#[utoipa::path(get, path = "/api/v1/statements/{id}/lines", tag = "finance",
    params(("id" = String, Path), ("class" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query, description = "the last line number of the previous page")),
    responses((status = 200, body = Page<LineDto>), (status = 404)))]
pub async fn lines(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<LinesQuery>,
) -> ApiResult<Json<Page<LineDto>>> {
    auth.require(READERS)?;
    let limit = q.page.limit()?;
    let class = match q.class.as_ref().filter(|c| !c.is_empty()) {
        Some(c) => Some(LineClass::parse(c).ok_or_else(|| {
            invalid(
                "class",
                "matched, short_paid, over_paid, fee_above_contract, duplicate, unknown_reference or currency_mismatch",
            )
        })?),
        None => None,
    };
    let after = match q.page.cursor() {
        Some(c) => c.parse::<i64>().map_err(|_| invalid("cursor", "a line number"))?,
        None => 0,
    };
    let items = s.app.finance().statement_lines(&statement_id(&id)?, class, after, limit).await?;
    let next_cursor = (items.len() as i64 == limit).then(|| items.last().map(|l| l.line.to_string())).flatten();
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[derive(Serialize, ToSchema)]
pub struct BalanceDto {
    pub account: String,
    /// Empty for legs that belong to no carrier (payouts).
    pub carrier: String,
    /// Debit positive.
    pub balance: MoneyDto,
}

#[utoipa::path(get, path = "/api/v1/ledger/balances", tag = "finance", responses((status = 200, body = Vec<BalanceDto>)))]
pub async fn balances(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Vec<BalanceDto>>> {
    auth.require(READERS)?;
    Ok(Json(
        s.app
            .finance()
            .ledger_balances()
            .await?
            .into_iter()
            .map(|(a, carrier, c, v)| BalanceDto {
                account: a.as_str().into(),
                carrier,
                balance: Money::new(v, c).into(),
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct PostingDto {
    pub entry: String,
    pub kind: String,
    pub account: String,
    /// Debit positive.
    pub amount: MoneyDto,
    pub statement_id: Option<String>,
    pub posted_at: String,
}

impl From<StoredPosting> for PostingDto {
    fn from(p: StoredPosting) -> Self {
        PostingDto {
            entry: p.entry_key,
            kind: p.kind.as_str().into(),
            account: p.account.as_str().into(),
            amount: p.amount.into(),
            statement_id: p.statement_id,
            posted_at: rfc3339(p.posted_at),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/shipments/{id}/ledger", tag = "finance", params(("id" = String, Path)),
    responses((status = 200, body = Vec<PostingDto>)))]
pub async fn shipment_ledger(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<PostingDto>>> {
    auth.require(READERS)?;
    let id = ShipmentId::parse(&id).map_err(|_| ApiError::NotFound("shipment"))?;
    Ok(Json(s.app.finance().shipment_ledger(&id).await?.into_iter().map(Into::into).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct BucketDto {
    /// Days since delivery: `0-7`, `8-14`, `15-30`, `31-60`, `61+`.
    pub days: String,
    pub parcels: i64,
    pub amount: MoneyDto,
}

#[derive(Serialize, ToSchema)]
pub struct AgingDto {
    pub carrier: String,
    pub currency: String,
    pub buckets: Vec<BucketDto>,
    /// Past the channel's settlement cycle.
    pub overdue_parcels: i64,
    pub overdue: MoneyDto,
    pub parcels: i64,
    pub total: MoneyDto,
}

/// Delivered COD not yet remitted, by carrier and currency, in age buckets.
#[utoipa::path(get, path = "/api/v1/finance/aging", tag = "finance", responses((status = 200, body = Vec<AgingDto>)))]
pub async fn aging(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Vec<AgingDto>>> {
    auth.require(READERS)?;
    let rows = s.app.finance().receivables_aging().await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| {
                let c = r.currency;
                AgingDto {
                    carrier: r.carrier,
                    currency: c.code().to_owned(),
                    buckets: codflow_domain::finance::aging::BUCKETS
                        .iter()
                        .zip(r.buckets)
                        .map(|((name, _, _), b)| BucketDto {
                            days: (*name).into(),
                            parcels: b.parcels,
                            amount: Money::new(b.amount_minor, c).into(),
                        })
                        .collect(),
                    overdue_parcels: r.overdue.parcels,
                    overdue: Money::new(r.overdue.amount_minor, c).into(),
                    parcels: r.total.parcels,
                    total: Money::new(r.total.amount_minor, c).into(),
                }
            })
            .collect(),
    ))
}
