//! The layer every route sits behind: a request id and a span, metrics, control characters refused before
//! any handler runs, every error made problem+json, a panic answered as a 500, and the security headers on
//! every response.

use std::sync::Arc;
use std::time::Instant;

#[cfg(test)]
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
#[cfg(test)]
use axum::middleware;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::{ApiError, AppState, BODY_LIMIT};

/// Every error leaves as problem+json: what the framework refuses before a handler runs (a path or query
/// that does not decode, a method the route does not take, a bad multipart body) comes as plain text or
/// nothing, and is rewritten here with its status kept.
async fn problems_only(method: &Method, resp: Response) -> Response {
    use axum::http::header::{ALLOW, CONTENT_TYPE};
    use axum::response::IntoResponse;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let ct = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ["application/problem+json", "application/json", "text/html"].iter().any(|t| ct.starts_with(t)) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text =
        axum::body::to_bytes(body, 2048).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let err = if status.is_server_error() {
        ApiError::Internal(text)
    } else {
        let detail = match (status.as_u16(), text.trim()) {
            (405, _) => format!("this path does not take {method}"),
            (_, "") => status.canonical_reason().unwrap_or("bad request").to_lowercase(),
            (_, t) => t.chars().take(500).collect(),
        };
        ApiError::Rejected { status, detail }
    };
    let mut out = err.into_response();
    if let Some(allow) = parts.headers.get(ALLOW) {
        out.headers_mut().insert(ALLOW, allow.clone());
    }
    out
}

/// Whether percent-encoded text spells a control character other than tab, line feed or carriage return.
fn encodes_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3).any(|w| {
        w[0] == b'%'
            && match (w[1], w[2].to_ascii_lowercase()) {
                (b'0', c) => !matches!(c, b'9' | b'a' | b'd') && c.is_ascii_hexdigit(),
                (b'1', c) => c.is_ascii_hexdigit(),
                (b'7', b'f') => true,
                _ => false,
            }
    })
}

/// The name of the first `name=value` pair of a query or form whose name or value encodes a control
/// character.
fn control_in_pairs(pairs: &str) -> Option<String> {
    pairs.split('&').find(|p| encodes_control(p)).map(|p| {
        let name = p.split('=').next().unwrap_or("");
        if encodes_control(name) { "(a parameter's name)".to_owned() } else { name.chars().take(60).collect() }
    })
}

/// Control characters in a path, a query or a form are refused before any handler runs, the same on both
/// engines (see `extract::parse_json` for JSON bodies).
async fn refuse_control_characters(req: Request, next: Next) -> Response {
    use axum::response::IntoResponse;
    let page = crate::console::wants_page(req.headers(), req.uri().path()).then(|| req.headers().clone());
    let refuse = |path: String| {
        if let Some(headers) = &page {
            return crate::console::refused_page(headers, &path);
        }
        let mut f = codflow_domain::FieldErrors::default();
        f.push(path, "holds a control character");
        ApiError::Invalid(f).into_response()
    };
    if encodes_control(req.uri().path()) {
        return refuse("path".into());
    }
    if let Some(name) = req.uri().query().and_then(control_in_pairs) {
        return refuse(format!("query.{name}"));
    }
    let form = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return ApiError::TooLarge.into_response();
    };
    if let Some(name) = std::str::from_utf8(&bytes).ok().and_then(control_in_pairs) {
        return refuse(name);
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

/// Control characters refused, every error made problem+json, a panic answered as a 500: the part of
/// [`edge`] that needs no state, as a layer of its own for tests of routers without one.
#[cfg(test)]
pub(crate) fn hardened<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes.layer(middleware::from_fn(guarded))
}

/// What [`hardened`] does, for [`edge`] to run inside itself.
async fn guarded(req: Request, next: Next) -> Response {
    use futures::FutureExt;
    let method = req.method().clone();
    let resp = match std::panic::AssertUnwindSafe(refuse_control_characters(req, next)).catch_unwind().await {
        Ok(resp) => resp,
        Err(cause) => panic_response(cause),
    };
    problems_only(&method, resp).await
}

/// Everything every route passes through, as one layer: axum boxes and clones a route's whole stack of
/// layers for each request at each layer, so eight small layers cost more than the quote they carried.
/// In order: a request id (the caller's `x-request-id` kept if [usable](usable_request_id), a new one made
/// otherwise, sent back on the response), a `request` span that log lines inside it carry, the route's metrics, [`guarded`], and the
/// security headers.
pub(crate) async fn edge(State(s): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let id = match req.headers().get(&X_REQUEST_ID) {
        Some(id) if usable_request_id(id) => id.clone(),
        _ => {
            let id = new_request_id();
            req.headers_mut().insert(X_REQUEST_ID, id.clone());
            id
        }
    };
    let span = tracing::info_span!("request", method = %req.method(), uri = %req.uri(),
        request_id = id.to_str().unwrap_or(""));
    // Shared, not copied: the matched path is reference-counted and a standard method a plain value.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let started = Instant::now();
    let mut resp = guarded(req, next).instrument(span).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    s.metrics.observe_request(method.as_str(), route, resp.status().as_u16(), started.elapsed());
    let h = resp.headers_mut();
    for (name, value) in &SECURITY_HEADERS {
        h.entry(name).or_insert_with(|| value.clone());
    }
    h.entry(X_REQUEST_ID).or_insert(id);
    resp
}

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A caller's id is kept when it could be one: up to 128 visible ASCII characters. Anything else (70 KB of
/// text, bytes a log cannot print) is replaced, so it is never copied into every log line of the request.
fn usable_request_id(id: &HeaderValue) -> bool {
    (1..=128).contains(&id.len()) && id.as_bytes().iter().all(u8::is_ascii_graphic)
}

fn new_request_id() -> HeaderValue {
    let id = format!("req_{}", codflow_domain::ids::new_id_body());
    // The id is ASCII letters, digits and an underscore: always a valid header value.
    HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("req_unknown"))
}

/// A panic in a handler is a bug: it is logged and answered as any internal error, never as a dropped
/// connection.
fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> Response {
    use axum::response::IntoResponse;
    let what = cause
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| cause.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    ApiError::Internal(format!("handler panicked: {what}")).into_response()
}

/// What every response carries: no sniffing, no framing, no referrer (signed buyer links live in paths),
/// and a content policy that runs only our own scripts. Checked once, when compiled: `from_static` on each
/// response walked the policy's 200 bytes every time.
static SECURITY_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    async fn not_found() -> ApiError {
        ApiError::NotFound("route")
    }

    async fn problem(r: Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
        let resp = r.oneshot(req).await.unwrap();
        let status = resp.status();
        let ct = resp.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
        assert_eq!(ct, "application/problem+json");
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn app() -> Router {
        async fn boom() -> &'static str {
            let s = "é";
            // The kind of bug the EORI check had: a byte slice inside a character.
            let cut = std::hint::black_box(1);
            &s[..cut]
        }
        async fn echo(axum::extract::Path(n): axum::extract::Path<u32>) -> String {
            n.to_string()
        }
        hardened(Router::new().route("/boom", get(boom)).route("/n/{n}", get(echo).post(echo)).fallback(not_found))
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_problem_json_without_its_cause() {
        let (status, p) = problem(app(), Request::get("/boom").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(p["code"], "internal");
        assert!(!p["detail"].as_str().unwrap().contains("byte index"), "{p}");
    }

    #[tokio::test]
    async fn refusals_before_any_handler_are_problem_json_too() {
        let (status, p) = problem(app(), Request::delete("/n/1").body(Body::empty()).unwrap()).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
        let (status, p) = problem(app(), Request::get("/n/notanumber").body(Body::empty()).unwrap()).await;
        assert_eq!((status, p["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
        assert!(p["detail"].as_str().unwrap().contains("parse"), "{p}");
        let (status, p) = problem(app(), Request::get("/n/%FF%FE").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{p}");
        let (status, _) = problem(app(), Request::get("/nowhere").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn control_characters_in_paths_queries_and_forms_are_refused_naming_where() {
        let (status, p) = problem(app(), Request::get("/n/1?q=ok&name=a%00b").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p["errors"][0]["path"], "query.name");
        let (_, p) = problem(app(), Request::get("/n/%001").body(Body::empty()).unwrap()).await;
        assert_eq!(p["errors"][0]["path"], "path");
        let form = Request::post("/n/1")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("note=line%0D%0Aok&reason=x%1By"))
            .unwrap();
        let (_, p) = problem(app(), form).await;
        assert_eq!(p["errors"][0]["path"], "reason");
        assert!(encodes_control("%7f") && !encodes_control("%09%0A%0d%20%41"));
    }
}
