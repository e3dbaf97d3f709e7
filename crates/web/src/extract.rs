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
    if let Some((path, c)) = control_character(bytes) {
        return Err(ApiError::field(path, format!("holds the control character U+{:04X}", c as u32)));
    }
    // Most bodies are good: read them plainly, and only for a bad one pay for tracking the path of every
    // value on a second reading that says where it went wrong.
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    if let Ok(v) = T::deserialize(&mut *de).and_then(|v| de.end().map(|()| v)) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut *de) {
        // Anything after the value (`{...}}`) makes the whole body malformed, not just ignorable.
        Ok(v) => de.end().map(|()| v).map_err(|e| ApiError::MalformedJson { detail: e.to_string() }),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let message = inner.to_string();
                    // serde appends " at line L column C"; the path says where already.
                    Err(field_error(&path, message.split(" at line ").next().unwrap_or(&message)))
                }
                _ => Err(ApiError::MalformedJson { detail: inner.to_string() }),
            }
        }
    }
}

/// The path of the first string (or key) that carries a control character other than tab, line feed and
/// carriage return, which JSON can only spell as an escape (`\u0000`). One rule for every body on both
/// engines: PostgreSQL cannot store NUL, and no field of ours has a use for the others.
fn control_character(bytes: &[u8]) -> Option<(String, char)> {
    // Only a backslash can start the escape, and most bodies have none: one `memchr` pass says so.
    if !bytes.contains(&b'\\') {
        return None;
    }
    let suspicious = bytes.windows(6).any(|w| {
        w[0] == b'\\'
            && w[1] == b'u'
            && w[2] == b'0'
            && w[3] == b'0'
            && (matches!(w[4], b'0' | b'1') && !(w[4] == b'0' && matches!(w[5], b'9' | b'a' | b'A' | b'd' | b'D')))
    });
    if !suspicious {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    fn bad(s: &str) -> Option<char> {
        s.chars().find(|c| (*c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
    }
    fn walk(v: &serde_json::Value, path: &str) -> Option<(String, char)> {
        match v {
            serde_json::Value::String(s) => bad(s).map(|c| (path.to_owned(), c)),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().find_map(|(i, item)| walk(item, &format!("{path}[{i}]")))
            }
            serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
                let at = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match bad(k) {
                    Some(c) => Some((at, c)),
                    None => walk(item, &at),
                }
            }),
            _ => None,
        }
    }
    walk(&value, "")
}

/// A deserialisation error at `path` (serde_path_to_error's, `.` for the root) as the field it is about: a
/// missing or repeated field is named by its own path, not its parent's, and no Rust type names are shown.
pub(crate) fn field_error(path: &str, message: &str) -> ApiError {
    let mut path = if path == "." { String::new() } else { path.to_owned() };
    let named = ["missing field `", "duplicate field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|m| m.split('`').next());
    if let Some(name) = named {
        path = if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
    }
    let mut f = FieldErrors::default();
    f.push(if path.is_empty() { "body".to_owned() } else { path }, plain_message(message));
    ApiError::Invalid(f)
}

fn plain_message(m: &str) -> String {
    let mut out = String::with_capacity(m.len());
    let mut rest = m;
    while let Some(at) = rest.find("struct ").or_else(|| rest.find("enum ")) {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let word = if after.starts_with("struct ") { "struct " } else { "enum " };
        let name_len =
            after[word.len()..].find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len() - word.len());
        out.push_str(if word == "struct " { "an object" } else { "one of the allowed values" });
        rest = &after[word.len() + name_len..];
    }
    out.push_str(rest);
    out
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

/// A query string read into `T` (a struct naming every parameter it takes): a value of the wrong shape,
/// or a parameter given twice, is a 422 naming the parameter. Parameters `T` does not name are ignored.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| field_error(&e.path().to_string(), &e.into_inner().to_string()))
    }
}

/// A file upload: multipart/form-data, or a 415 that says so (a JSON body sent to an upload endpoint is told
/// what to send instead of being refused for a missing boundary).
pub struct Upload(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ct.trim_start().to_ascii_lowercase().starts_with("multipart/form-data") {
            let got = if ct.is_empty() { "no content type".to_owned() } else { format!("{:.60}", ct) };
            return Err(ApiError::Rejected {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                detail: format!("send the file as multipart/form-data with a `file` field; got {got}"),
            });
        }
        axum::extract::Multipart::from_request(req, state).await.map(Upload).map_err(|r| ApiError::Rejected {
            status: r.status(),
            detail: format!("multipart/form-data: {}", r.body_text()),
        })
    }
}

/// The address the connection came from, where the server was started with connection info (`serve`);
/// tests that serve the router bare have none.
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let info = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientAddr(info.map(|c| c.0.ip())))
    }
}

/// The authenticated caller. Handlers say which roles they admit with `require`.
pub struct Auth(pub Principal);

/// An id or code from the request path read into its type; one that does not read names nothing that exists
/// (404, as an unknown one would).
pub trait FromPath: Sized {
    fn from_path(raw: &str) -> Result<Self, ApiError>;
}

macro_rules! from_path {
    ($($t:ident => $what:literal),* $(,)?) => {
        $(impl FromPath for codflow_domain::$t {
            fn from_path(raw: &str) -> Result<Self, ApiError> {
                codflow_domain::$t::parse(raw).map_err(|_| ApiError::NotFound($what))
            }
        })*
    };
}

from_path!(
    OrderId => "order",
    ShipmentId => "shipment",
    TaskId => "task",
    NotificationId => "notification",
    InboxId => "delivery",
    PushId => "channel push",
    RuleId => "rule",
    ShopCode => "store",
    CarrierAccountCode => "carrier account",
    ChannelCode => "channel",
    Sku => "product",
    WarehouseCode => "warehouse",
    StationCode => "station",
    PackId => "pack",
    WaveId => "wave",
    BagId => "bag",
    HandoverId => "handover",
    ReturnId => "return",
    ClaimId => "claim",
);

impl Auth {
    /// Who acts, as the audit trail records it.
    pub fn actor(&self) -> codflow_domain::Actor {
        codflow_domain::Actor::Token(self.0.token.clone())
    }

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
        match state.app.admin().authenticate(secret).await? {
            Some(p) => Ok(Auth(p)),
            None => Err(ApiError::Unauthorized),
        }
    }
}

/// Roles that may read everything.
pub const READERS: &[Role] = &[Role::Ops, Role::Warehouse, Role::Finance, Role::Viewer];
/// Roles that may change orders and the catalogue.
pub const OPERATORS: &[Role] = &[Role::Ops];
/// Who works the task lists.
pub const TASK_WORKERS: &[Role] = &[Role::Ops, Role::Finance, Role::Warehouse];
/// Statements, profiles and exchange rates are finance's (and the admin's).
pub const FINANCE: &[Role] = &[Role::Finance];
/// Roles that may count stock.
pub const STOCK_KEEPERS: &[Role] = &[Role::Ops, Role::Warehouse];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::orders::dto::CreateOrder;
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

    fn field_errors(body: &str) -> Vec<(String, String)> {
        match parse_json::<CreateOrder>(body.as_bytes()) {
            Err(ApiError::Invalid(f)) => f.0.into_iter().map(|e| (e.path, e.message)).collect(),
            other => panic!("expected field errors, got {:?}", other.err()),
        }
    }

    #[test]
    fn a_control_character_anywhere_is_refused_under_its_path() {
        let e = field_errors(r#"{"buyer": {"name": "ok"}, "lines": [{"sku": "A\u0000"}]}"#);
        assert_eq!(e, vec![("lines[0].sku".to_owned(), "holds the control character U+0000".to_owned())]);
        let e = field_errors(r#"{"shipping_address": {"line1": "x\u001b"}}"#);
        assert_eq!(e[0].0, "shipping_address.line1");
        // Tabs and line breaks are ordinary text at this layer.
        assert!(control_character(br#"{"a": "x\t\n\r", "b": "\\u0000"}"#).is_none());
    }

    #[test]
    fn a_missing_field_is_named_by_its_own_path_without_type_names() {
        let e = field_errors(r#"{"shipping_fee": {"currency": "SAR"}}"#);
        assert_eq!(e[0].0, "shipping_fee.amount", "{e:?}");
        let e = field_errors(r#"{"shipping_fee": 5}"#);
        assert!(!e[0].1.contains("struct") && e[0].1.contains("an object"), "{e:?}");
    }
}
