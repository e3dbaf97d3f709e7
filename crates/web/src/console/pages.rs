//! Logging in and out, the review queue's decision, and what the console's pages share: the one HTML escaper,
//! query strings and typed downloads.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::i18n::Lang;
use super::view::browser_lang;
use super::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, Signed, cookie, redirect, same, session_cookie, set_cookie};
use crate::extract::ClientAddr;
use crate::state::AppState;

pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` percent-encoded for a URL's query or path: everything but the unreserved characters.
pub(super) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(super) fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn login_page(lang: Lang, status: StatusCode, csrf: &str, message: Option<&str>) -> Response {
    let ctx = minijinja::context! { csrf, message };
    super::view::public_page(lang, status, "login.html", &lang.text("log-in", &[]), ctx)
}

pub async fn login_form(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let csrf = match codflow_app::users::random_hex(16) {
        Ok(c) => c,
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let lang = browser_lang(&headers);
    let message = q.contains_key("expired").then(|| lang.text("login-expired", &[]));
    let mut r = login_page(lang, StatusCode::OK, &csrf, message.as_deref());
    let (k, v) = set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, s.edge.secure_cookies());
    r.headers_mut().append(k, v);
    r
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

pub async fn login(
    State(s): State<Arc<AppState>>,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let lang = browser_lang(&headers);
    if expected.is_empty() || !same(&expected, &f.csrf) {
        return login_page(lang, StatusCode::FORBIDDEN, &expected, Some(&lang.text("form-expired", &[])));
    }
    match s.app.admin().login(&f.username, &f.password, from).await {
        Ok(Some(l)) => {
            let mut r = redirect("/orders");
            let (k, v) = session_cookie(&l.secret, s.edge.secure_cookies());
            r.headers_mut().append(k, v);
            let (k, v) = set_cookie(LOGIN_CSRF_COOKIE, "", 0, s.edge.secure_cookies());
            r.headers_mut().append(k, v);
            r
        }
        Ok(None) => login_page(lang, StatusCode::UNAUTHORIZED, &expected, Some(&lang.text("login-wrong", &[]))),
        Err(codflow_app::Error::RateLimited { retry_after_secs }) => {
            let message = lang.text("login-throttled", &[("seconds", &retry_after_secs.to_string())]);
            let mut r = login_page(lang, StatusCode::TOO_MANY_REQUESTS, &expected, Some(&message));
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            r
        }
        Err(e) => crate::ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<CsrfForm>) -> Response {
    if let Some(r) = signed.forged(&f.csrf) {
        return r;
    }
    if let Err(e) = s.app.admin().logout(&signed.1).await {
        return crate::ApiError::from(e).into_response();
    }
    let mut r = redirect("/login");
    let (k, v) = set_cookie(SESSION_COOKIE, "", 0, s.edge.secure_cookies());
    r.headers_mut().append(k, v);
    r
}

/// A cell of an exported workbook by what its column holds: days and times as dates, amounts as numbers
/// shown with two decimals, counts as numbers, and identifiers (ids, tracking numbers, phones, SKUs, codes)
/// always as text, whatever digits they are made of.
fn typed<'a>(column: &str, v: &'a str) -> codflow_sheets::Out<'a> {
    use codflow_sheets::Out;
    const TEXT: &[&str] = &["id", "number", "phone", "sku", "code", "postal", "title", "name", "ref", "file", "bin"];
    const MONEY: &[&str] = &["total", "amount", "cod", "profit", "cost", "fee", "revenue", "price", "paid", "owed"];
    if TEXT.iter().any(|t| column.contains(t)) || v.is_empty() {
        return Out::Text(v);
    }
    let day = time::macros::format_description!("[year]-[month]-[day]");
    let minute = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    if let Ok(d) = time::Date::parse(v, &day) {
        return Out::Date(d);
    }
    if let Ok(t) = time::PrimitiveDateTime::parse(v, &minute) {
        return Out::DateTime(t);
    }
    let numeric = {
        let digits = v.strip_prefix('-').unwrap_or(v);
        !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && digits.matches('.').count() <= 1
    };
    match (numeric, MONEY.iter().any(|m| column.contains(m))) {
        (true, true) => Out::Amount(v),
        (true, false) => Out::Number(v),
        _ => Out::Text(v),
    }
}

/// A table as a download: CSV, or XLSX when `xlsx`; the header first.
pub(super) fn table_download(name: &str, xlsx: bool, header: &[&str], rows: &[Vec<String>]) -> Response {
    if xlsx {
        use codflow_sheets::Out;
        let mut all: Vec<Vec<Out>> = vec![header.iter().map(|h| Out::Text(h)).collect()];
        for r in rows {
            all.push(r.iter().enumerate().map(|(i, v)| typed(header.get(i).copied().unwrap_or(""), v)).collect());
        }
        return match codflow_sheets::write_xlsx(name, &all) {
            Ok(bytes) => crate::routes::logistics::download(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &format!("{name}.xlsx"),
                bytes,
            )
            .into_response(),
            Err(e) => {
                tracing::error!(error = %e, "writing an XLSX export");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        };
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(r.iter().map(|c| codflow_sheets::csv::neutralised(c).into_owned()));
    }
    crate::routes::logistics::download("text/csv", &format!("{name}.csv"), w.into_inner().unwrap_or_default())
        .into_response()
}

/// Approves or cancels the ticked orders with one reason; each is decided on its own.
pub async fn decide(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<Vec<(String, String)>>) -> Response {
    if let Some(r) = signed.refused(super::review::REVIEWERS) {
        return r;
    }
    let field = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
    if let Some(r) = signed.forged(field("csrf")) {
        return r;
    }
    let approve = match field("action") {
        "approve" => true,
        "cancel" => false,
        _ => return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("bulk-unknown-action")),
    };
    let reason = field("reason").trim();
    if reason.is_empty() {
        return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("reason-needed"));
    }
    let ids: Vec<String> = f.iter().filter(|(n, _)| n == "ids").map(|(_, v)| v.clone()).collect();
    let actor = codflow_domain::Actor::User(signed.0.id.clone());
    let results = s.app.review().decide_many(&ids, approve, Some(reason.to_owned()), actor).await;
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    redirect(&format!("/review?done={}&failed={failed}", results.len() - failed))
}

#[cfg(test)]
mod tests {
    use codflow_sheets::Out;

    #[test]
    fn exported_cells_are_typed_by_their_column_and_identifiers_stay_text() {
        assert!(matches!(super::typed("total", "69.00"), Out::Amount("69.00")));
        assert!(matches!(super::typed("on_hand", "12"), Out::Number("12")));
        assert!(matches!(super::typed("placed_at", "2026-12-06 10:30"), Out::DateTime(_)));
        assert!(matches!(super::typed("as_of", "2026-12-06"), Out::Date(_)));
        for (column, v) in
            [("tracking_number", "001234"), ("sku", "12345"), ("buyer_phone", "+966501"), ("order_id", "7")]
        {
            assert!(matches!(super::typed(column, v), Out::Text(_)), "{column}");
        }
        assert!(matches!(super::typed("total", "1e9"), Out::Text("1e9")));
    }
}
