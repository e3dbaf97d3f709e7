//! Strict request extractors: JSON errors name the path of the bad field, and every rejection is a problem.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use codflow_app::Principal;
use codflow_domain::{FieldErrors, Role};
use serde::de::DeserializeOwned;
use std::sync::Arc;

use crate::ApiError;
use crate::state::AppState;

/// A JSON body parsed into `T`, with syntax errors reported as malformed JSON and type errors under the
/// field's path (`lines[0].quantity`).
pub struct ApiJson<T>(pub T);

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut *de) {
        // Anything after the value (`{...}}`) makes the whole body malformed, not just ignorable.
        Ok(v) => de.end().map(|()| v).map_err(|e| ApiError::MalformedJson { detail: e.to_string() }),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let mut f = FieldErrors::default();
                    let message = inner.to_string();
                    // serde appends " at line L column C"; the path says where already.
                    let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
                    f.push(if path == "." { String::new() } else { path }, message);
                    Err(ApiError::Invalid(f))
                }
                _ => Err(ApiError::MalformedJson { detail: inner.to_string() }),
            }
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge
            } else {
                ApiError::MalformedJson { detail: r.body_text() }
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// The authenticated caller. Handlers say which roles they admit with `require`.
pub struct Auth(pub Principal);

impl Auth {
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.0.role == Role::Admin || roles.contains(&self.0.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden { role: self.0.role.as_str() })
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        match state.app.authenticate(secret).await? {
            Some(p) => Ok(Auth(p)),
            None => Err(ApiError::Unauthorized),
        }
    }
}

/// Roles that may read everything.
pub const READERS: &[Role] = &[Role::Ops, Role::Warehouse, Role::Finance, Role::Viewer];
/// Roles that may change orders and the catalogue.
pub const OPERATORS: &[Role] = &[Role::Ops];
/// Roles that may count stock.
pub const STOCK_KEEPERS: &[Role] = &[Role::Ops, Role::Warehouse];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::CreateOrder;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_body_is_either_an_order_or_a_named_problem(body in prop::collection::vec(any::<u8>(), 0..300)) {
            match parse_json::<CreateOrder>(&body) {
                Ok(_) | Err(ApiError::MalformedJson { .. }) => {}
                Err(ApiError::Invalid(f)) => prop_assert!(!f.0.is_empty()),
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }

        #[test]
        fn json_of_the_wrong_shape_names_a_path(v in proptest::arbitrary::any::<(Option<i64>, bool, String)>()) {
            let body = serde_json::json!({"external_id": v.0, "lines": [{"quantity": v.1, "sku": v.2}]}).to_string();
            match parse_json::<CreateOrder>(body.as_bytes()) {
                Err(ApiError::Invalid(f)) => prop_assert!(f.0.iter().all(|e| !e.path.is_empty())),
                other => prop_assert!(false, "expected a field error, got {:?}", other.err()),
            }
        }
    }
}
