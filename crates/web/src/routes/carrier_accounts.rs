//! Carrier accounts: many per carrier, credentials sealed (they go in, never out), a connection test.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::dto::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Router, routing};
use codflow_app::carrier_accounts::{AccountView, ConnectionTest};
use codflow_domain::carrier_account::{CarrierAccountInput, credential_fields};
use codflow_domain::{CarrierAccountCode, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::{Page, rfc3339};
use crate::extract::{ApiJson, ApiQuery, Auth, FromPath, READERS};
use crate::state::AppState;
use crate::{ApiResult, routes::PageQuery};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/carrier-accounts", routing::get(list).post(create))
        .route("/carrier-accounts/{code}", routing::get(get).put(put).delete(delete))
        .route("/carrier-accounts/{code}/test", routing::post(test))
}

/// Only admins change carrier accounts: their credentials book and cancel parcels on the seller's contract.
const NOBODY_BUT_ADMIN: &[Role] = &[];

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CarrierAccountBody {
    /// Letters, digits, `-`, `_`, `.`; up to 48 (`4px-shenzhen`).
    pub code: Option<String>,
    /// `sandbox`, `aramex` or `4px`; fixed once created.
    pub carrier: Option<String>,
    pub name: Option<String>,
    /// `test` (the default) or `production`.
    pub environment: Option<String>,
    /// The carrier API's address for this environment, e.g. `https://open-test.4px.com`.
    pub base_url: Option<String>,
    /// Given whole. sandbox: `api_key` (optional); aramex: `user_name`, `password`, `account_number`,
    /// `account_pin`, `account_entity`, `account_country_code`; 4px: `app_key`, `app_secret`, `access_token`
    /// (optional). Stored sealed; never returned; left out on an update, the stored ones stay.
    pub credentials: Option<BTreeMap<String, String>>,
    /// The secret the carrier signs its pushes with. Stored sealed; never returned.
    pub webhook_secret: Option<String>,
}

impl From<CarrierAccountBody> for CarrierAccountInput {
    fn from(b: CarrierAccountBody) -> Self {
        CarrierAccountInput {
            code: b.code,
            carrier: b.carrier,
            name: b.name,
            environment: b.environment,
            base_url: b.base_url,
            credentials: b.credentials,
            webhook_secret: b.webhook_secret,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CarrierAccountDto {
    pub code: String,
    pub carrier: String,
    pub name: String,
    pub environment: String,
    pub base_url: String,
    pub has_credentials: bool,
    pub has_webhook_secret: bool,
    /// The credential names this carrier takes (`required` ones must be given on create).
    pub credential_fields: Vec<CredentialFieldDto>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CredentialFieldDto {
    pub name: String,
    pub required: bool,
    /// A secret (never shown back) rather than an identifier such as an account number.
    pub secret: bool,
}

impl From<AccountView> for CarrierAccountDto {
    fn from(v: AccountView) -> Self {
        let a = v.account;
        let fields = credential_fields(a.carrier.as_str()).unwrap_or(&[]);
        CarrierAccountDto {
            code: a.code.to_string(),
            carrier: a.carrier.to_string(),
            name: a.name,
            environment: a.environment.as_str().into(),
            base_url: a.base_url,
            has_credentials: v.has_credentials,
            has_webhook_secret: v.has_webhook_secret,
            credential_fields: fields
                .iter()
                .map(|f| CredentialFieldDto { name: f.name.into(), required: f.required, secret: f.secret })
                .collect(),
            created_at: rfc3339(v.created_at),
            updated_at: rfc3339(v.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConnectionTestDto {
    pub ok: bool,
    /// `connected`, `credentials_refused`, `unreachable` or `misconfigured`.
    pub outcome: String,
    pub message: String,
}

impl From<ConnectionTest> for ConnectionTestDto {
    fn from(t: ConnectionTest) -> Self {
        ConnectionTestDto { ok: t.ok, outcome: t.outcome.into(), message: t.message }
    }
}

/// The query parameters of [`list`].
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    carrier: Option<String>,
    #[serde(flatten)]
    _page: PageQuery,
}

#[utoipa::path(get, path = "/api/v1/carrier-accounts", tag = "carrier accounts",
    params(("carrier" = Option<String>, Query, description = "only this carrier's accounts")),
    responses((status = 200, body = Page<CarrierAccountDto>), (status = 401)))]
pub async fn list(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<CarrierAccountDto>>> {
    auth.require(READERS)?;
    let rows = s.app.fulfilment().carrier_accounts(q.carrier.as_deref()).await?;
    Ok(Json(Page::whole(rows.into_iter().map(Into::into).collect())))
}

#[utoipa::path(post, path = "/api/v1/carrier-accounts", tag = "carrier accounts", request_body = CarrierAccountBody,
    responses((status = 201, body = CarrierAccountDto), (status = 409, description = "code already used, or no secret key to seal credentials"), (status = 422)))]
pub async fn create(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    ApiJson(body): ApiJson<CarrierAccountBody>,
) -> ApiResult<(StatusCode, Json<CarrierAccountDto>)> {
    auth.require(NOBODY_BUT_ADMIN)?;
    let (view, _) = s.app.fulfilment().put_carrier_account(None, body.into(), auth.actor()).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

#[utoipa::path(get, path = "/api/v1/carrier-accounts/{code}", tag = "carrier accounts", params(("code" = String, Path)),
    responses((status = 200, body = CarrierAccountDto), (status = 404)))]
pub async fn get(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<CarrierAccountDto>> {
    auth.require(READERS)?;
    Ok(Json(s.app.fulfilment().carrier_account(&CarrierAccountCode::from_path(&code)?).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/carrier-accounts/{code}", tag = "carrier accounts", params(("code" = String, Path)),
    request_body = CarrierAccountBody,
    responses((status = 200, body = CarrierAccountDto, description = "updated; fields left out keep their value"), (status = 201, body = CarrierAccountDto), (status = 422)))]
pub async fn put(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<CarrierAccountBody>,
) -> ApiResult<(StatusCode, Json<CarrierAccountDto>)> {
    auth.require(NOBODY_BUT_ADMIN)?;
    let (view, created) = s.app.fulfilment().put_carrier_account(Some(&code), body.into(), auth.actor()).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(view.into())))
}

#[utoipa::path(delete, path = "/api/v1/carrier-accounts/{code}", tag = "carrier accounts", params(("code" = String, Path)),
    responses((status = 204), (status = 404), (status = 409, description = "a channel books through it")))]
pub async fn delete(State(s): State<Arc<AppState>>, auth: Auth, Path(code): Path<String>) -> ApiResult<StatusCode> {
    auth.require(NOBODY_BUT_ADMIN)?;
    s.app.fulfilment().delete_carrier_account(&CarrierAccountCode::from_path(&code)?, auth.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/carrier-accounts/{code}/test", tag = "carrier accounts", params(("code" = String, Path)),
    responses((status = 200, body = ConnectionTestDto, description = "what the carrier answered; nothing is booked"), (status = 404)))]
pub async fn test(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<ConnectionTestDto>> {
    auth.require(NOBODY_BUT_ADMIN)?;
    Ok(Json(s.app.fulfilment().test_carrier_account(&CarrierAccountCode::from_path(&code)?).await?.into()))
}
