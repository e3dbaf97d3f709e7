//! The console's pages, written as HTML with every value escaped.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use codflow_app::users::ConsoleUser;
use codflow_domain::finance::profit::Dimension;
use codflow_domain::{Country, OrderStatus, Role};
use codflow_store::orders::OrderFilter;
use serde::Deserialize;

use super::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, Signed, cookie, html, redirect, same, session_cookie, set_cookie};
use crate::state::AppState;

/// Finance pages are finance's (and the admin's); a viewer sees orders only.
const FINANCE: &[Role] = &[Role::Finance];
const PAGE: i64 = 50;
/// The most rows one CSV export holds.
const EXPORT_MAX: usize = 100_000;

fn esc(s: &str) -> String {
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

fn query_string(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2430}\
nav{display:flex;gap:1rem;align-items:center;padding:.6rem 1rem;background:#1d2430;flex-wrap:wrap}\
nav a,nav button{color:#fff;text-decoration:none;background:none;border:0;font:inherit;cursor:pointer}\
nav .who{margin-left:auto;color:#aab}main{padding:1rem;max-width:1200px}\
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;text-align:left}\
td.num{text-align:right}form.filters{display:flex;gap:.5rem;flex-wrap:wrap;margin-bottom:1rem}\
.err{color:#b00020}.muted{color:#667}@media(max-width:600px){td:nth-child(3),th:nth-child(3){display:none}}";

fn layout(user: &ConsoleUser, title: &str, body: &str) -> String {
    let mut nav = String::from("<a href=\"/orders\">Orders</a>");
    if matches!(user.role, Role::Admin | Role::Ops) {
        nav.push_str("<a href=\"/review\">Review queue</a>");
    }
    if matches!(user.role, Role::Admin | Role::Finance) {
        nav.push_str("<a href=\"/finance\">Finance</a>");
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t} · codflow</title>\
         <style>{STYLE}</style></head><body><nav><strong>codflow</strong>{nav}\
         <span class=\"who\">{u} ({r})</span>\
         <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{c}\">\
         <button type=\"submit\">Log out</button></form></nav><main><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title),
        u = esc(&user.username),
        r = user.role,
        c = esc(&user.csrf),
    )
}

pub(super) fn forbidden(user: &ConsoleUser) -> String {
    layout(user, "Not for your role", "<p>This page is not open to your role.</p>")
}

fn login_page(csrf: &str, message: Option<&str>) -> String {
    let msg = message.map(|m| format!("<p class=\"err\">{}</p>", esc(m))).unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Log in · codflow</title>\
         <style>{STYLE}</style></head><body><main><h1>codflow</h1>{msg}\
         <form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"csrf\" value=\"{c}\">\
         <p><label>Username <input name=\"username\" autocomplete=\"username\" required></label></p>\
         <p><label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label></p>\
         <p><button type=\"submit\">Log in</button></p></form></main></body></html>",
        c = esc(csrf)
    )
}

pub async fn login_form(Query(q): Query<HashMap<String, String>>) -> Response {
    let csrf = match codflow_app::users::random_hex(16) {
        Ok(c) => c,
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let message = q.contains_key("expired").then_some("Your session has ended; log in again.");
    let mut r = html(StatusCode::OK, login_page(&csrf, message));
    let (k, v) = set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600);
    r.headers_mut().append(k, v);
    r
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

pub async fn login(State(s): State<Arc<AppState>>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(&expected, &f.csrf) {
        return html(StatusCode::FORBIDDEN, login_page(&expected, Some("The form expired; try again.")));
    }
    match s.app.login(&f.username, &f.password).await {
        Ok(Some(l)) => {
            let mut r = redirect("/orders");
            let (k, v) = session_cookie(&l.secret);
            r.headers_mut().append(k, v);
            let (k, v) = set_cookie(LOGIN_CSRF_COOKIE, "", 0);
            r.headers_mut().append(k, v);
            r
        }
        Ok(None) => html(StatusCode::UNAUTHORIZED, login_page(&expected, Some("Wrong username or password."))),
        Err(e) => crate::ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<CsrfForm>) -> Response {
    if !same(&signed.0.csrf, &f.csrf) {
        return html(StatusCode::FORBIDDEN, forbidden(&signed.0));
    }
    if let Err(e) = s.app.logout(&signed.1).await {
        return crate::ApiError::from(e).into_response();
    }
    let mut r = redirect("/login");
    let (k, v) = set_cookie(SESSION_COOKIE, "", 0);
    r.headers_mut().append(k, v);
    r
}

fn order_filter(q: &HashMap<String, String>) -> OrderFilter {
    OrderFilter {
        status: q.get("status").and_then(|s| OrderStatus::parse(s).ok()),
        country: q.get("country").and_then(|c| Country::parse(c).ok()),
        search: q.get("q").cloned().filter(|v| !v.trim().is_empty()),
        ..OrderFilter::default()
    }
}

pub async fn orders(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let (list, next) = match s.app.orders(order_filter(&q), PAGE, q.get("cursor").map(String::as_str)).await {
        Ok(r) => r,
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let mut body = String::new();
    let statuses = ["", "on_hold", "allocated", "backordered", "shipped", "delivered", "cancelled", "returned"];
    let options: String = statuses
        .iter()
        .map(|st| {
            let sel = if *st == get("status") { " selected" } else { "" };
            format!("<option value=\"{st}\"{sel}>{}</option>", if st.is_empty() { "any status" } else { st })
        })
        .collect();
    let _ = write!(
        body,
        "<form class=\"filters\" method=\"get\" action=\"/orders\">\
         <input name=\"q\" placeholder=\"external id, phone (+…) or tracking number\" value=\"{q}\" size=\"34\">\
         <select name=\"status\">{options}</select>\
         <input name=\"country\" placeholder=\"country (SA)\" value=\"{c}\" size=\"8\">\
         <button type=\"submit\">Filter</button>\
         <a href=\"/orders.csv?{export}\">Export CSV</a></form>",
        q = esc(get("q")),
        c = esc(get("country")),
        export = esc(&query_string(&[("q", get("q")), ("status", get("status")), ("country", get("country"))])),
    );
    if list.is_empty() {
        body.push_str("<p class=\"muted\">No orders match.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th>Order</th><th>External id</th><th>Placed</th><th>Buyer phone</th>\
             <th>Country</th><th>Status</th><th class=\"num\">Total</th></tr></thead><tbody>",
        );
        for o in &list {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(o.id.as_str()),
                esc(&o.external_id),
                o.placed_at.date(),
                esc(o.buyer.phone.as_str()),
                o.shipping_address.country.code(),
                o.status.as_str(),
                esc(&o.total.to_string()),
            );
        }
        body.push_str("</tbody></table>");
    }
    if let Some(c) = next {
        let more =
            query_string(&[("q", get("q")), ("status", get("status")), ("country", get("country")), ("cursor", &c)]);
        let _ = write!(body, "<p><a href=\"/orders?{}\">Next page</a></p>", esc(&more));
    }
    html(StatusCode::OK, layout(&signed.0, "Orders", &body))
}

/// The orders the page's filters select, as CSV (at most 100,000 rows).
pub async fn orders_csv(
    State(s): State<Arc<AppState>>,
    _signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "order_id",
        "external_id",
        "placed_at",
        "buyer_phone",
        "country",
        "status",
        "total",
        "currency",
    ]);
    let mut cursor: Option<String> = None;
    let mut rows = 0usize;
    loop {
        let (list, next) = match s.app.orders(order_filter(&q), 500, cursor.as_deref()).await {
            Ok(r) => r,
            Err(e) => return crate::ApiError::from(e).into_response(),
        };
        for o in &list {
            let _ = w.write_record([
                o.id.as_str(),
                &o.external_id,
                &o.placed_at.date().to_string(),
                o.buyer.phone.as_str(),
                o.shipping_address.country.code(),
                o.status.as_str(),
                &o.total.amount_string(),
                o.total.currency.code(),
            ]);
        }
        rows += list.len();
        match next {
            Some(c) if rows < EXPORT_MAX => cursor = Some(c),
            _ => break,
        }
    }
    crate::routes::logistics::download("text/csv", "orders.csv", w.into_inner().unwrap_or_default()).into_response()
}

pub async fn finance(State(s): State<Arc<AppState>>, signed: Signed) -> Response {
    if let Some(r) = signed.refused(FINANCE) {
        return r;
    }
    let report = match s.app.profit_report(&Default::default(), Dimension::Country, |_| {}).await {
        Ok(r) => r,
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let aging = match s.app.receivables_aging().await {
        Ok(a) => a,
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let base = report.base_currency;
    let m = |v: i64| esc(&codflow_domain::Money::new(v, base).to_string());
    let mut body = format!(
        "<h2>Profit by country</h2><p class=\"muted\">{} orders; amounts in {base}.</p>\
         <table><thead><tr><th>Country</th><th class=\"num\">Orders</th><th class=\"num\">Settled</th>\
         <th class=\"num\">Loss-making</th><th class=\"num\">Expected profit</th><th class=\"num\">Actual profit</th></tr></thead><tbody>",
        report.orders
    );
    for g in &report.groups {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&g.key),
            g.orders,
            g.settled,
            g.loss_making,
            m(g.expected.profit),
            m(g.actual.profit)
        );
    }
    body.push_str("</tbody></table><h2>COD receivable</h2><table><thead><tr><th>Carrier</th><th>Currency</th>\
        <th class=\"num\">Parcels</th><th class=\"num\">Amount</th><th class=\"num\">Past cycle</th></tr></thead><tbody>");
    for r in &aging {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&r.carrier),
            r.currency,
            r.total.parcels,
            esc(&codflow_domain::Money::new(r.total.amount_minor, r.currency).to_string()),
            esc(&codflow_domain::Money::new(r.overdue.amount_minor, r.currency).to_string()),
        );
    }
    body.push_str("</tbody></table>");
    html(StatusCode::OK, layout(&signed.0, "Finance", &body))
}

/// Held orders are ops' (and the admin's) to decide.
const REVIEWERS: &[Role] = &[Role::Ops];

pub async fn review_queue(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(REVIEWERS) {
        return r;
    }
    let (held, _) = match s.app.review_queue(200, None).await {
        Ok(r) => r,
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let mut body = String::new();
    if let Some(n) = q.get("done") {
        let failed = q.get("failed").map(String::as_str).unwrap_or("0");
        let _ = write!(body, "<p>{} decided, {} refused (already decided elsewhere).</p>", esc(n), esc(failed));
    }
    if held.is_empty() {
        body.push_str("<p class=\"muted\">No order is waiting for review.</p>");
        return html(StatusCode::OK, layout(&signed.0, "Review queue", &body));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/review\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <table><thead><tr><th></th><th>Order</th><th>Placed</th><th>Country</th><th class=\"num\">Total</th>\
         <th>Why it is held</th></tr></thead><tbody>",
        esc(&signed.0.csrf)
    );
    for o in &held {
        let reasons = o.review.as_ref().map(|r| r.reasons.join("; ")).unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td><input type=\"checkbox\" name=\"ids\" value=\"{id}\"></td><td>{id}<br><span class=\"muted\">{ext}</span></td>\
             <td>{placed}</td><td>{country}</td><td class=\"num\">{total}</td><td>{reasons}</td></tr>",
            id = esc(o.id.as_str()),
            ext = esc(&o.external_id),
            placed = o.placed_at.date(),
            country = o.shipping_address.country.code(),
            total = esc(&o.total.to_string()),
            reasons = esc(&reasons),
        );
    }
    body.push_str(
        "</tbody></table><p><label>Reason <input name=\"reason\" size=\"40\" required></label> \
         <button name=\"action\" value=\"approve\">Approve selected</button> \
         <button name=\"action\" value=\"cancel\">Cancel selected</button></p></form>",
    );
    html(StatusCode::OK, layout(&signed.0, "Review queue", &body))
}

/// Approves or cancels the ticked orders with one reason; each is decided on its own.
pub async fn decide(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<Vec<(String, String)>>) -> Response {
    if let Some(r) = signed.refused(REVIEWERS) {
        return r;
    }
    let field = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
    if !same(&signed.0.csrf, field("csrf")) {
        return html(StatusCode::FORBIDDEN, forbidden(&signed.0));
    }
    let approve = match field("action") {
        "approve" => true,
        "cancel" => false,
        _ => {
            return html(
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(&signed.0, "Review queue", "<p class=\"err\">Choose approve or cancel.</p>"),
            );
        }
    };
    let reason = field("reason").trim();
    if reason.is_empty() {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            layout(&signed.0, "Review queue", "<p class=\"err\">Give a reason.</p>"),
        );
    }
    let ids: Vec<String> = f.iter().filter(|(n, _)| n == "ids").map(|(_, v)| v.clone()).collect();
    let actor = codflow_domain::Actor::User(signed.0.id.clone());
    let results = s.app.decide_many(&ids, approve, Some(reason.to_owned()), actor).await;
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    redirect(&format!("/review?done={}&failed={failed}", results.len() - failed))
}
