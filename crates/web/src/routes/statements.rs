//! Settlement statements: imported (or previewed) and reconciled, listed, read line by line, disputed, and
//! marked paid.

use std::sync::Arc;

use crate::dto::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Router, routing};
use codflow_app::finance::{ImportRequest, StatementReport, StatementRow, StoredLine};
use codflow_domain::finance::reconcile::LineClass;
use codflow_domain::finance::statement::LineError;
use codflow_domain::money::Money;
use codflow_domain::{FieldErrors, Role, StatementId};
use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;
use utoipa::ToSchema;

use crate::dto::{MoneyDto, Page, rfc3339};
use crate::extract::{ApiJson, ApiQuery, Auth, FINANCE, READERS, Upload};
use crate::routes::imports::multipart_error;
use crate::routes::logistics::{Download, download};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/statements", routing::get(list))
        .route("/statements/{id}", routing::get(get))
        .route("/statements/{id}/lines", routing::get(lines))
        .route("/statements/{id}/lines/{line}/dispute", routing::get(dispute))
        .route("/statements/{id}/disputes", routing::get(disputes))
        .route("/statements/{id}/paid", routing::put(put_paid))
        .route("/statements/platform", routing::post(import_platform))
}

/// The upload routes of this resource, under `/api/v1` with the larger body limit.
pub fn uploads() -> Router<Arc<AppState>> {
    Router::new().route("/statements", routing::post(import))
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

#[derive(Serialize, ToSchema)]
pub struct LineErrorDto {
    pub line: u32,
    pub field: String,
    pub message: String,
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
    /// Rows the profile's `only_rows` conditions left out (a wallet export's withdrawals, fees, pending
    /// transfers); absent when an import already recorded is shown again.
    pub skipped: Option<usize>,
    /// Lines and amounts per class and currency: they add up to the statement's total.
    pub classes: Vec<ClassTotalDto>,
    pub discrepancies: Vec<DiscrepancyDto>,
    pub missing_count: i64,
    pub missing: Vec<MissingDto>,
    pub tasks_opened: usize,
    /// Lines that paid an approved claim (by tracking number and amount): recorded as its payment.
    pub claims_settled: usize,
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
        skipped: r.skipped,
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
        claims_settled: r.claims_settled,
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
    let (file, req) = read_upload(&mut form, &mut Vec::new()).await?;
    let preview = req.preview;
    let r = s.app.finance().import_statement_owned(file, req, auth.actor()).await?;
    let status = if preview || r.already_imported { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(report_dto(r, preview))))
}

/// A payout statement to read from a payment platform's API.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformImport {
    /// The platform's account (a `lianlian` account under carrier accounts).
    pub account: String,
    /// The first day read (`YYYY-MM-DD`, UTC).
    pub from: String,
    /// The day after the last day read; at most 93 days after `from`.
    pub to: String,
    /// `true`: classify and report, record nothing.
    #[serde(default)]
    pub preview: bool,
}

/// Reads the completed receivings of a period from LianLian Global (signed requests, signed replies checked)
/// and imports them as a payout statement, one line per remittance carried. The same period read again answers
/// what the first import found.
#[utoipa::path(post, path = "/api/v1/statements/platform", tag = "finance", request_body = PlatformImport,
    responses((status = 201, body = ReportDto, description = "recorded"), (status = 200, body = ReportDto, description = "a preview, or a period imported before"),
        (status = 404, description = "no such account"), (status = 409, description = "the platform refused the credentials or is unavailable"),
        (status = 422, description = "bad dates, not a platform account, or nothing received in the period")))]
pub async fn import_platform(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<PlatformImport>,
) -> ApiResult<(StatusCode, Json<ReportDto>)> {
    auth.require(FINANCE)?;
    let mut errors = FieldErrors::default();
    let day = |field: &str, v: &str, errors: &mut FieldErrors| {
        let d = Date::parse(v, format_description!("[year]-[month]-[day]")).ok();
        if d.is_none() {
            errors.push(field, "a date as YYYY-MM-DD");
        }
        d
    };
    let from = day("from", &body.from, &mut errors);
    let to = day("to", &body.to, &mut errors);
    let account = codflow_domain::CarrierAccountCode::parse(&body.account);
    if account.is_err() {
        errors.push("account", "an account code");
    }
    let (Some(from), Some(to), Ok(account)) = (from, to, account) else { return Err(ApiError::Invalid(errors)) };
    let r = s.app.finance().import_platform_statement(&account, from, to, body.preview, auth.actor()).await?;
    let status = if body.preview || r.already_imported { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(report_dto(r, body.preview))))
}

/// A statement upload's file and what to do with it; other short text fields (a form's token) are kept in
/// `other`.
pub(crate) async fn read_upload(
    form: &mut axum::extract::Multipart,
    other: &mut Vec<(String, String)>,
) -> ApiResult<(Vec<u8>, ImportRequest)> {
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
                    _ => return Err(ApiError::field("preview", "true or false")),
                }
            }
            Some(name) if other.len() < 8 => {
                let name = name.chars().take(40).collect();
                let text: String = field.text().await.map_err(multipart_error)?.chars().take(200).collect();
                other.push((name, text));
            }
            _ => {}
        }
    }
    let file = file.ok_or_else(|| ApiError::field("file", "send the statement as the multipart field named file"))?;
    let profile = profile.ok_or_else(|| ApiError::field("profile", "name the profile to read the file with"))?;
    Ok((Vec::from(file), ImportRequest { file_name, profile, carrier, preview }))
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
    let before = q
        .page
        .cursor()
        .map(StatementId::parse)
        .transpose()
        .map_err(|_| ApiError::field("cursor", "not a statement id"))?;
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
        Some(_) => return Err(ApiError::field("format", "pdf or csv")),
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
            ApiError::field(
                "class",
                "matched, short_paid, over_paid, fee_above_contract, duplicate, unknown_reference or currency_mismatch",
            )
        })?),
        None => None,
    };
    let after = match q.page.cursor() {
        Some(c) => c.parse::<i64>().map_err(|_| ApiError::field("cursor", "a line number"))?,
        None => 0,
    };
    let items = s.app.finance().statement_lines(&statement_id(&id)?, class, after, limit).await?;
    let next_cursor = (items.len() as i64 == limit).then(|| items.last().map(|l| l.line.to_string())).flatten();
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaidBody {
    /// The day the invoice was paid (YYYY-MM-DD), or null to mark it unpaid again.
    pub paid_on: Option<String>,
}

/// Marks a freight invoice paid (it leaves the forecast's outflows) or unpaid again.
#[utoipa::path(put, path = "/api/v1/statements/{id}/paid", tag = "finance", params(("id" = String, Path)),
    request_body = PaidBody, responses((status = 204), (status = 404), (status = 422)))]
pub async fn put_paid(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PaidBody>,
) -> ApiResult<axum::http::StatusCode> {
    auth.require(&[Role::Finance])?;
    let id = codflow_domain::StatementId::parse(&id).map_err(|_| ApiError::NotFound("freight invoice"))?;
    let paid_on = match b.paid_on {
        None => None,
        Some(d) => Some(Date::parse(&d, format_description!("[year]-[month]-[day]")).map_err(|_| {
            let mut e = FieldErrors::default();
            e.push("paid_on", "must be a date YYYY-MM-DD or null");
            ApiError::Invalid(e)
        })?),
    };
    s.app.finance().set_invoice_paid(&id, paid_on, auth.actor()).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
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

impl From<LineError> for LineErrorDto {
    fn from(e: LineError) -> Self {
        LineErrorDto { line: e.line, field: e.field, message: e.message }
    }
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
