//! Who may call: API tokens (listed without secrets, revoked at once) and console users (disabled at
//! once, every session ended). Admins only.

use std::sync::Arc;

use crate::dto::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use codflow_domain::{FieldErrors, Role, TokenId};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::dto::Page;
use crate::extract::Auth;
use crate::state::AppState;
use crate::{ApiError, ApiResult};

/// The JSON routes of this resource, under `/api/v1`.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/tokens", get(tokens))
        .route("/tokens/{id}", delete(revoke))
        .route("/users", get(users))
        .route("/users/{username}/disable", post(disable))
        .route("/users/{username}/enable", post(enable))
}

const NOBODY_BUT_ADMIN: &[Role] = &[];

#[derive(Serialize, ToSchema)]
pub struct TokenDto {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: String,
    /// When the token was revoked; null while it works.
    pub revoked_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserDto {
    pub id: String,
    pub username: String,
    pub role: String,
    pub disabled: bool,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "access",
    responses((status = 200, body = Page<TokenDto>), (status = 401), (status = 403)))]
pub async fn tokens(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Page<TokenDto>>> {
    auth.require(NOBODY_BUT_ADMIN)?;
    let items = s
        .app
        .admin()
        .tokens()
        .await?
        .into_iter()
        .map(|t| TokenDto {
            id: t.id.to_string(),
            name: t.name,
            role: t.role.to_string(),
            created_at: rfc3339(t.created_at),
            revoked_at: t.revoked_at.map(rfc3339),
        })
        .collect();
    Ok(Json(Page { items, next_cursor: None }))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "access", params(("id" = String, Path)),
    responses((status = 204, description = "revoked: no request with it succeeds from now on"), (status = 401), (status = 403),
        (status = 404, description = "no such live token"), (status = 422)))]
pub async fn revoke(State(s): State<Arc<AppState>>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    auth.require(NOBODY_BUT_ADMIN)?;
    let id = TokenId::parse(&id).map_err(|e| {
        let mut f = FieldErrors::default();
        f.push("id", e.to_string());
        ApiError::Invalid(f)
    })?;
    s.app.admin().revoke_token(&id, auth.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/users", tag = "access",
    responses((status = 200, body = Page<UserDto>), (status = 401), (status = 403)))]
pub async fn users(State(s): State<Arc<AppState>>, auth: Auth) -> ApiResult<Json<Page<UserDto>>> {
    auth.require(NOBODY_BUT_ADMIN)?;
    let items = s
        .app
        .admin()
        .users()
        .await?
        .into_iter()
        .map(|(id, username, role, disabled)| UserDto {
            id: id.to_string(),
            username,
            role: role.to_string(),
            disabled,
        })
        .collect();
    Ok(Json(Page { items, next_cursor: None }))
}

async fn set_disabled(s: &AppState, auth: Auth, username: &str, disabled: bool) -> ApiResult<StatusCode> {
    auth.require(NOBODY_BUT_ADMIN)?;
    s.app.admin().set_user_disabled(username, disabled, auth.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/users/{username}/disable", tag = "access", params(("username" = String, Path)),
    responses((status = 204, description = "disabled: every session ended, logins refused"), (status = 401), (status = 403), (status = 404)))]
pub async fn disable(
    State(s): State<Arc<AppState>>,
    auth: Auth,
    Path(username): Path<String>,
) -> ApiResult<StatusCode> {
    set_disabled(&s, auth, &username, true).await
}

#[utoipa::path(post, path = "/api/v1/users/{username}/enable", tag = "access", params(("username" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)))]
pub async fn enable(State(s): State<Arc<AppState>>, auth: Auth, Path(username): Path<String>) -> ApiResult<StatusCode> {
    set_disabled(&s, auth, &username, false).await
}
