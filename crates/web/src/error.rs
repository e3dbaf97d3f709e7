//! The one mapping from every failure to an RFC 9457 problem+json response with a stable `code`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use codflow_domain::FieldErrors;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON")]
    MalformedJson { detail: String },
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("missing or unknown token")]
    Unauthorized,
    #[error("bad signature")]
    BadSignature,
    #[error("role not allowed")]
    Forbidden { role: &'static str },
    #[error("not found")]
    NotFound(&'static str),
    #[error("conflict")]
    Conflict { kind: codflow_app::ConflictKind, message: String },
    /// Not now, through no fault of the request: 503 with a Retry-After.
    #[error("unavailable")]
    Unavailable(String),
    #[error("body too large")]
    TooLarge,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// A request the framework refused before a handler saw it (undecodable path or query, wrong method,
    /// bad multipart, wrong content type), kept with its status.
    #[error("request refused")]
    Rejected { status: StatusCode, detail: String },
    #[error("internal error")]
    Internal(String),
}

impl From<codflow_app::Error> for ApiError {
    fn from(e: codflow_app::Error) -> Self {
        match e {
            codflow_app::Error::Invalid(f) => ApiError::Invalid(f),
            codflow_app::Error::NotFound(what) => ApiError::NotFound(what),
            codflow_app::Error::Unauthorized => ApiError::BadSignature,
            codflow_app::Error::Conflict { kind, message } => ApiError::Conflict { kind, message },
            codflow_app::Error::Unavailable(why) => ApiError::Unavailable(why),
            codflow_app::Error::Failed(why) => ApiError::Internal(why),
            codflow_app::Error::RateLimited { retry_after_secs } => ApiError::TooManyRequests { retry_after_secs },
            codflow_app::Error::Internal(e) => ApiError::Internal(e.to_string()),
        }
    }
}

#[derive(Serialize)]
struct PathError {
    path: String,
    message: String,
}

#[derive(Serialize)]
struct Problem {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: String,
    code: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<PathError>,
}

impl ApiError {
    /// A 422 naming one field.
    pub fn field(path: impl Into<String>, message: impl Into<String>) -> ApiError {
        let mut f = FieldErrors::default();
        f.push(path, message);
        ApiError::Invalid(f)
    }

    /// The stable machine code, as in the problem document.
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    /// The human explanation, as in the problem document.
    pub fn detail(&self) -> String {
        self.parts().3
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// What went wrong in one line for a person: each field's problem for invalid input, else the detail.
    pub(crate) fn explained(&self) -> String {
        match self {
            ApiError::Invalid(f) => {
                f.0.iter().map(|e| format!("{}: {}", e.path, e.message)).collect::<Vec<_>>().join("; ")
            }
            _ => self.parts().3,
        }
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str, String) {
        match self {
            ApiError::MalformedJson { detail } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "malformed_json", "Malformed JSON", detail.clone())
            }
            ApiError::Invalid(f) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                "Invalid input",
                format!("{} field{} failed validation", f.0.len(), if f.0.len() == 1 { "" } else { "s" }),
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                "send a valid token as 'Authorization: Bearer <token>' (codflow token create)".into(),
            ),
            ApiError::BadSignature => (
                StatusCode::UNAUTHORIZED,
                "bad_signature",
                "Unauthorized",
                "the signature does not match the body; nothing was stored".into(),
            ),
            ApiError::Forbidden { role } => {
                (StatusCode::FORBIDDEN, "forbidden", "Forbidden", format!("the {role} role may not do this"))
            }
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", "Not found", format!("no such {what}")),
            ApiError::Conflict { kind, message } => (StatusCode::CONFLICT, kind.code(), "Conflict", message.clone()),
            ApiError::Unavailable(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                format!("{why}; try again shortly"),
            ),
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
                "the request body is larger than this endpoint accepts".into(),
            ),
            ApiError::TooManyRequests { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Too many requests",
                format!("too many attempts; try again in {retry_after_secs} s"),
            ),
            ApiError::Rejected { status, detail } => {
                let (code, title) = match status.as_u16() {
                    404 => ("not_found", "Not found"),
                    405 => ("method_not_allowed", "Method not allowed"),
                    406 => ("not_acceptable", "Not acceptable"),
                    408 => ("request_timeout", "Request timeout"),
                    411 => ("length_required", "Length required"),
                    413 => ("payload_too_large", "Payload too large"),
                    415 => ("unsupported_media_type", "Unsupported media type"),
                    422 => ("invalid_input", "Invalid input"),
                    429 => ("too_many_requests", "Too many requests"),
                    _ => ("bad_request", "Bad request"),
                };
                (*status, code, title, detail.clone())
            }
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
                "something went wrong on our side; it has been logged".into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            // The cause goes to the log only: it may name tables, queries or data.
            tracing::error!(error = %e, "internal error");
        }
        let (status, code, title, detail) = self.parts();
        let retry_after = match self {
            ApiError::TooManyRequests { retry_after_secs } => Some(retry_after_secs.max(1)),
            ApiError::Unavailable(_) => Some(5),
            _ => None,
        };
        let errors = match self {
            ApiError::Invalid(f) => f.0.into_iter().map(|e| PathError { path: e.path, message: e.message }).collect(),
            _ => vec![],
        };
        let body = Problem {
            kind: format!("https://codflow.dev/problems/{code}"),
            title,
            status: status.as_u16(),
            detail,
            code,
            errors,
        };
        let mut resp = (status, Json(body)).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
