//! Claims over HTTP: opening one for a lost or damaged parcel, its states to paid, its evidence pack, the
//! recovered-against-claimed figures per carrier, and each carrier account's filing window.

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use codflow_app::claims::{ClaimFilter, StoredClaim};
use codflow_domain::claims::{ClaimReason, ClaimStatus, ClaimWindow, WindowFrom};
use codflow_domain::{CarrierAccountCode, ClaimId, Currency, Money, ShipmentId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::{MoneyDto, Page, rfc3339};
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, READERS, TASK_WORKERS};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/claims", get(list).post(open))
        .route("/claims/by-carrier", get(by_carrier))
        .route("/claims/{id}", get(get_one))
        .route("/claims/{id}/file", post(file))
        .route("/claims/{id}/review", post(review))
        .route("/claims/{id}/decide", post(decide))
        .route("/claims/{id}/paid", post(paid))
        .route("/claims/{id}/evidence.pdf", get(evidence_pdf))
        .route("/claims/{id}/evidence.zip", get(evidence_zip))
        .route("/claims/{id}/statement-link", post(statement_link))
        .route("/claims/{id}/statement", get(statement))
        .route("/claims/{id}/statement/photos/{n}", get(statement_photo))
        .route("/carrier-accounts/{code}/claim-window", get(get_window).put(put_window))
}

#[derive(Serialize, ToSchema)]
pub struct ClaimDto {
    pub id: String,
    pub shipment_id: String,
    pub order_id: String,
    pub tracking_number: String,
    pub carrier: String,
    /// `lost`, `damaged` or `return_damaged`.
    pub reason: String,
    /// `draft`, `filed`, `in_review`, `approved`, `partly_approved`, `rejected` or `paid`.
    pub status: String,
    pub claimed: MoneyDto,
    pub approved: Option<MoneyDto>,
    pub paid: Option<MoneyDto>,
    /// The last moment the carrier accepts it.
    pub deadline: String,
    pub carrier_ref: Option<String>,
    pub payment_ref: Option<String>,
    pub note: Option<String>,
    pub filed_at: Option<String>,
    pub decided_at: Option<String>,
    pub paid_at: Option<String>,
    pub created_at: String,
}

impl From<StoredClaim> for ClaimDto {
    fn from(c: StoredClaim) -> Self {
        ClaimDto {
            id: c.id.to_string(),
            shipment_id: c.shipment_id.to_string(),
            order_id: c.order_id.to_string(),
            tracking_number: c.tracking_number,
            carrier: c.carrier,
            reason: c.reason.as_str().into(),
            status: c.status.as_str().into(),
            claimed: c.claimed.into(),
            approved: c.approved.map(Into::into),
            paid: c.paid.map(Into::into),
            deadline: rfc3339(c.deadline),
            carrier_ref: c.carrier_ref,
            payment_ref: c.payment_ref,
            note: c.note,
            filed_at: c.filed_at.map(rfc3339),
            decided_at: c.decided_at.map(rfc3339),
            paid_at: c.paid_at.map(rfc3339),
            created_at: rfc3339(c.created_at),
        }
    }
}

fn money(field: &'static str, m: &MoneyDto) -> Result<Money, ApiError> {
    m.money(field)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ClaimsQuery {
    #[serde(flatten)]
    page: crate::routes::PageQuery,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    carrier: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/claims", tag = "claims",
    params(("status" = Option<String>, Query), ("carrier" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = Page<ClaimDto>, description = "newest first"), (status = 422)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ClaimsQuery>,
) -> ApiResult<Json<Page<ClaimDto>>> {
    auth.require(READERS)?;
    let nonempty = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let status = nonempty(&q.status)
        .map(|s| ClaimStatus::parse(&s).map_err(|e| ApiError::field("status", e.to_string())))
        .transpose()?;
    let carrier = nonempty(&q.carrier)
        .map(|c| {
            codflow_domain::CarrierCode::parse(&c)
                .map(|c| c.to_string())
                .map_err(|e| ApiError::field("carrier", e.to_string()))
        })
        .transpose()?;
    let after = q.page.cursor().map(|c| ClaimId::parse(c).map_err(|_| ApiError::field("cursor", "not a cursor")));
    let after = after.transpose()?;
    let limit = q.page.limit()?;
    let items = s.app.finance().claims(&ClaimFilter { status, carrier }, after.as_ref(), limit).await?;
    let next_cursor = (items.len() as i64 == limit).then(|| items.last().map(|c| c.id.to_string())).flatten();
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenClaimBody {
    pub shipment_id: String,
    /// `lost` (the parcel is lost), `damaged` (reported damaged, or delivered damaged) or `return_damaged`
    /// (its return was graded with damaged or missing units).
    pub reason: String,
    /// In the order's currency; by default the declared value of what was lost.
    pub amount: Option<MoneyDto>,
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/claims", tag = "claims", request_body = OpenClaimBody,
    responses((status = 201, body = ClaimDto, description = "a draft, with the carrier's deadline"),
        (status = 404, description = "no such shipment"),
        (status = 409, description = "claim_not_allowed: the parcel does not fit the reason, or the window closed; claim_exists"),
        (status = 422)))]
pub async fn open(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(b): ApiJson<OpenClaimBody>,
) -> ApiResult<(StatusCode, Json<ClaimDto>)> {
    auth.require(TASK_WORKERS)?;
    let shipment =
        ShipmentId::parse(b.shipment_id.trim()).map_err(|e| ApiError::field("shipment_id", e.to_string()))?;
    let reason = ClaimReason::parse(b.reason.trim()).map_err(|e| ApiError::field("reason", e.to_string()))?;
    let amount = b.amount.as_ref().map(|m| money("amount", m)).transpose()?;
    let c = s.app.finance().open_claim(&shipment, reason, amount, b.note.as_deref(), auth.actor()).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

#[utoipa::path(get, path = "/api/v1/claims/{id}", tag = "claims", params(("id" = String, Path)),
    responses((status = 200, body = ClaimDto), (status = 404)))]
pub async fn get_one(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<ClaimDto>> {
    let id = ClaimId::from_path(&id)?;
    auth.require(READERS)?;
    Ok(Json(s.app.finance().claim(&id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileBody {
    /// The carrier's number for the claim.
    pub carrier_ref: String,
}

#[utoipa::path(post, path = "/api/v1/claims/{id}/file", tag = "claims", params(("id" = String, Path)), request_body = FileBody,
    responses((status = 200, body = ClaimDto), (status = 404), (status = 409, description = "not a draft, or past the deadline"), (status = 422)))]
pub async fn file(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<FileBody>,
) -> ApiResult<Json<ClaimDto>> {
    let id = ClaimId::from_path(&id)?;
    auth.require(TASK_WORKERS)?;
    Ok(Json(s.app.finance().file_claim(&id, &b.carrier_ref, auth.actor()).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/claims/{id}/review", tag = "claims", params(("id" = String, Path)),
    responses((status = 200, body = ClaimDto), (status = 404), (status = 409)))]
pub async fn review(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<ClaimDto>> {
    let id = ClaimId::from_path(&id)?;
    auth.require(TASK_WORKERS)?;
    Ok(Json(s.app.finance().review_claim(&id, auth.actor()).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    /// What the carrier agreed to pay: all of the claim, part of it, or zero (rejected).
    pub approved: MoneyDto,
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/claims/{id}/decide", tag = "claims", params(("id" = String, Path)), request_body = DecideBody,
    responses((status = 200, body = ClaimDto, description = "approved, partly_approved or rejected; what was approved is booked as owed"),
        (status = 404), (status = 409), (status = 422)))]
pub async fn decide(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<DecideBody>,
) -> ApiResult<Json<ClaimDto>> {
    let id = ClaimId::from_path(&id)?;
    auth.require(TASK_WORKERS)?;
    let approved = money("approved", &b.approved)?;
    Ok(Json(s.app.finance().decide_claim(&id, approved, b.note.as_deref(), auth.actor()).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimPaidBody {
    pub amount: MoneyDto,
    /// Where the money came: the remittance, credit note or transfer reference.
    pub reference: String,
}

#[utoipa::path(post, path = "/api/v1/claims/{id}/paid", tag = "claims", params(("id" = String, Path)), request_body = ClaimPaidBody,
    responses((status = 200, body = ClaimDto, description = "paid: the bank debited, the receivable cleared"), (status = 404), (status = 409), (status = 422)))]
pub async fn paid(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ClaimPaidBody>,
) -> ApiResult<Json<ClaimDto>> {
    let id = ClaimId::from_path(&id)?;
    auth.require(TASK_WORKERS)?;
    let amount = money("amount", &b.amount)?;
    Ok(Json(s.app.finance().claim_paid(&id, amount, &b.reference, auth.actor()).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/claims/{id}/evidence.pdf", tag = "claims", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", description = "the evidence pack"), (status = 404)))]
pub async fn evidence_pdf(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::response::Response> {
    let id = ClaimId::from_path(&id)?;
    auth.require(READERS)?;
    let pdf = s.app.finance().claim_pdf(&id).await?;
    Ok(crate::routes::logistics::download("application/pdf", &format!("claim-{id}.pdf"), pdf).into_response())
}

#[utoipa::path(get, path = "/api/v1/claims/{id}/evidence.zip", tag = "claims", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/zip", description = "the PDF, the timeline as CSV and the return's photos"), (status = 404)))]
pub async fn evidence_zip(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::response::Response> {
    let id = ClaimId::from_path(&id)?;
    auth.require(READERS)?;
    let zip = s.app.finance().claim_zip(&id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"claim-{id}.zip\"")),
        ],
        zip,
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct CarrierClaimsDto {
    pub carrier: String,
    pub claims: i64,
    pub open: i64,
    pub rejected: i64,
    pub claimed: MoneyDto,
    pub approved: MoneyDto,
    pub paid: MoneyDto,
    /// How fast the carrier answers, against the promise of a decision within 24 hours of filing and the money
    /// within 3 days of the decision.
    pub review: ReviewSpeedDto,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewSpeedDto {
    /// Filed claims decided.
    pub decided: i64,
    pub decided_within_24h: i64,
    /// Mean hours from filing to decision, one decimal; null before any decision.
    pub mean_review_hours: Option<String>,
    /// Filed, undecided and more than 24 hours old now.
    pub overdue: i64,
    /// Decided claims paid, and those paid within 3 days of the decision.
    pub paid: i64,
    pub paid_within_3d: i64,
}

#[utoipa::path(get, path = "/api/v1/claims/by-carrier", tag = "claims",
    responses((status = 200, body = Vec<CarrierClaimsDto>, description = "per carrier and currency: claimed, approved and paid")))]
pub async fn by_carrier(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Vec<CarrierClaimsDto>>> {
    auth.require(READERS)?;
    let rows = s.app.finance().claims_by_carrier().await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let c = Currency::parse(&r.currency).map_err(|e| ApiError::from(codflow_app::Error::from(e)))?;
        let mean_review_hours = r.mean_review_hours();
        out.push(CarrierClaimsDto {
            carrier: r.carrier,
            claims: r.claims,
            open: r.open,
            rejected: r.rejected,
            claimed: Money::new(r.claimed_minor, c).into(),
            approved: Money::new(r.approved_minor, c).into(),
            paid: Money::new(r.paid_minor, c).into(),
            review: ReviewSpeedDto {
                decided: r.decided,
                decided_within_24h: r.decided_in_24h,
                mean_review_hours,
                overdue: r.review_overdue,
                paid: r.paid,
                paid_within_3d: r.paid_in_3d,
            },
        });
    }
    Ok(Json(out))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimWindowBody {
    /// Days the carrier allows for filing a claim, 1 to 365.
    #[schema(example = 30)]
    pub days: i64,
    /// `booking` or `last_scan`: what the days count from.
    #[schema(example = "last_scan")]
    pub from: String,
}

#[utoipa::path(get, path = "/api/v1/carrier-accounts/{code}/claim-window", tag = "claims", params(("code" = String, Path)),
    responses((status = 200, body = ClaimWindowBody), (status = 404)))]
pub async fn get_window(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<ClaimWindowBody>> {
    let code = CarrierAccountCode::from_path(&code)?;
    auth.require(READERS)?;
    let w = s.app.finance().claim_window(&code).await?;
    Ok(Json(ClaimWindowBody { days: w.days, from: w.from.as_str().into() }))
}

#[utoipa::path(put, path = "/api/v1/carrier-accounts/{code}/claim-window", tag = "claims", params(("code" = String, Path)),
    request_body = ClaimWindowBody, responses((status = 200, body = ClaimWindowBody), (status = 404), (status = 422)))]
pub async fn put_window(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<ClaimWindowBody>,
) -> ApiResult<Json<ClaimWindowBody>> {
    let code = CarrierAccountCode::from_path(&code)?;
    auth.require(crate::extract::OPERATORS)?;
    let from = WindowFrom::parse(b.from.trim()).map_err(|e| ApiError::field("from", e.to_string()))?;
    let w = ClaimWindow::new(b.days, from).map_err(|e| ApiError::field("days", e.to_string()))?;
    s.app.finance().set_claim_window(&code, w, auth.actor()).await?;
    Ok(Json(ClaimWindowBody { days: w.days, from: w.from.as_str().into() }))
}

#[derive(Serialize, ToSchema)]
pub struct StatementLinkDto {
    /// The buyer's page: send it to them by message or e-mail. It opens without an account.
    pub url: String,
    pub expires_at: String,
}

#[utoipa::path(post, path = "/api/v1/claims/{id}/statement-link", tag = "claims", params(("id" = String, Path)),
    responses((status = 201, body = StatementLinkDto, description = "a signed link for the buyer's statement, valid 14 days"), (status = 404),
        (status = 409, description = "`claim_not_allowed` (the claim is paid or rejected) or `already_answered` (the buyer gave their statement)")))]
pub async fn statement_link(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<StatementLinkDto>)> {
    let id = ClaimId::from_path(&id)?;
    auth.require(TASK_WORKERS)?;
    let (url, expires_at) = s.app.finance().claim_statement_link(&id, auth.actor()).await?;
    Ok((StatusCode::CREATED, Json(StatementLinkDto { url, expires_at: rfc3339(expires_at) })))
}

#[derive(Serialize, ToSchema)]
pub struct BuyerStatementDto {
    /// The buyer's account in their own words.
    pub description: String,
    /// The name they typed as signature.
    pub signed_name: String,
    /// The language of the page they answered on: en, ar, es or zh.
    pub language: String,
    pub submitted_at: String,
    /// Photos sent with it, read at `/claims/{id}/statement/photos/{n}` from 1.
    pub photos: i64,
}

#[utoipa::path(get, path = "/api/v1/claims/{id}/statement", tag = "claims", params(("id" = String, Path)),
    responses((status = 200, body = BuyerStatementDto), (status = 404, description = "no such claim, or no statement yet")))]
pub async fn statement(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<BuyerStatementDto>> {
    let id = ClaimId::from_path(&id)?;
    auth.require(READERS)?;
    let st = s.app.finance().claim_statement(&id).await?.ok_or(ApiError::NotFound("statement"))?;
    Ok(Json(BuyerStatementDto {
        description: st.description,
        signed_name: st.signed_name,
        language: st.language,
        submitted_at: rfc3339(st.submitted_at),
        photos: st.photos,
    }))
}

#[utoipa::path(get, path = "/api/v1/claims/{id}/statement/photos/{n}", tag = "claims",
    params(("id" = String, Path), ("n" = i64, Path)),
    responses((status = 200, content_type = "image/*", description = "a photo the buyer sent"), (status = 404)))]
pub async fn statement_photo(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult<axum::response::Response> {
    let id = ClaimId::from_path(&id)?;
    auth.require(READERS)?;
    let n: i64 = n.parse().map_err(|_| ApiError::NotFound("photo"))?;
    let (content_type, bytes) = s.app.finance().claim_statement_photo(&id, n).await?;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}
