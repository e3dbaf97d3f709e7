//! COD finance: settlement profiles, statements imported and reconciled, the ledger.

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use codflow_app::finance::StoredPosting;
use codflow_domain::ShipmentId;
use codflow_domain::finance::reconcile::Tolerances;
use codflow_domain::finance::statement::Profile;
use codflow_domain::money::Money;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::{MoneyDto, rfc3339};
use crate::extract::{ApiJson, Auth, FINANCE, READERS};
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/settlement-profiles", get(profiles))
        .route("/settlement-profiles/{name}", get(profile).put(put_profile).delete(delete_profile))
        .route("/ledger/balances", get(balances))
        .route("/finance/aging", get(aging))
        .route("/finance/tolerances", get(tolerances).put(put_tolerances))
        .route("/shipments/{id}/ledger", get(shipment_ledger))
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
    /// At most 8 conditions a row must meet to be read: `column` holds `equals` (trimmed, without case), or
    /// anything when `equals` is absent. Rows failing one are skipped and counted (`skipped` in the report).
    #[schema(value_type = Option<Vec<Object>>, example = json!([{"column": "Status", "equals": "Completed"}, {"column": "Credit Amount"}]))]
    only_rows: Option<Vec<serde_json::Value>>,
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
    let created = s.app.finance().put_settlement_profile(p.clone(), auth.actor()).await?;
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
    s.app.finance().delete_settlement_profile(&name, auth.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
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
    Ok(Json(s.app.finance().set_reconcile_tolerances(t, auth.actor()).await?.into()))
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
