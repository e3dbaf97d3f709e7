//! The console's pages, written as HTML with every value escaped.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use codflow_app::orders::OrderFilter;
use codflow_app::users::ConsoleUser;
use codflow_domain::finance::profit::Dimension;
use codflow_domain::{Country, OrderStatus, Role};
use serde::Deserialize;

use super::{LOGIN_CSRF_COOKIE, SESSION_COOKIE, Signed, cookie, html, redirect, same, session_cookie, set_cookie};
use crate::extract::ClientAddr;
use crate::state::AppState;

/// Finance pages are finance's (and the admin's); a viewer sees orders only.
const FINANCE: &[Role] = &[Role::Finance];
const PAGE: i64 = 50;
/// The most rows one CSV export holds.
const EXPORT_MAX: usize = 100_000;

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

pub(super) fn query_string(pairs: &[(&str, &str)]) -> String {
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
nav a,nav button,nav strong{color:#fff;text-decoration:none;background:none;border:0;font:inherit;cursor:pointer}\
nav .who{margin-left:auto;color:#aab}main{padding:1rem;max-width:1200px}\
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e6ea;text-align:left}\
td.num{text-align:right}form.filters{display:flex;gap:.5rem;flex-wrap:wrap;margin-bottom:1rem}\
.err{color:#b00020}.warn{background:#fff4e0;border-left:4px solid #e09000;padding:.5em .8em}.muted{color:#667}.ok{color:#1e7b34}\
tr.sla-overdue td:first-child{color:#b00020;font-weight:bold}tr.sla-due_soon td:first-child{color:#b26a00;font-weight:bold}\
table.facts th{width:12rem;color:#556}.alert{border-left:4px solid #c0392b;background:#fdf0ee;padding:.4rem .8rem;margin:.5rem 0}\
svg.chart{max-width:760px;display:block;margin:.5rem 0}svg.chart a:hover rect,svg.chart a:hover circle{opacity:.7}\
ul.recs li{border-bottom:1px solid #e3e6ea;padding:.3rem 0}ul.recs form{display:inline}@media(max-width:600px){td:nth-child(3),th:nth-child(3){display:none}}";

pub(super) fn layout(user: &ConsoleUser, title: &str, body: &str) -> String {
    let mut nav = String::from(
        "<a href=\"/orders\">Orders</a><a href=\"/tasks\">Tasks</a><a href=\"/shipments\">Shipments</a>\
         <a href=\"/stock\">Stock</a><a href=\"/channels\">Channels</a><a href=\"/shops\">Shops</a><a href=\"/rules\">Rules</a>",
    );
    if matches!(user.role, Role::Admin | Role::Ops) {
        nav.push_str("<a href=\"/review\">Review queue</a>");
    }
    if matches!(user.role, Role::Admin | Role::Finance) {
        nav.push_str(
            "<a href=\"/finance\">Finance</a><a href=\"/dashboards/cash\">Cash flow</a>\
            <a href=\"/dashboards/profit\">Profit</a>",
        );
    }
    if user.role != Role::Warehouse {
        nav.push_str(
            "<a href=\"/dashboards/rejections\">Rejections</a><a href=\"/dashboards/customs\">Customs</a>\
             <a href=\"/dashboards/carriers\">Carriers</a><a href=\"/recommendations\">Recommendations</a>",
        );
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

pub async fn login_form(State(s): State<Arc<AppState>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let csrf = match codflow_app::users::random_hex(16) {
        Ok(c) => c,
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let message = q.contains_key("expired").then_some("Your session has ended; log in again.");
    let mut r = html(StatusCode::OK, login_page(&csrf, message));
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
    if expected.is_empty() || !same(&expected, &f.csrf) {
        return html(StatusCode::FORBIDDEN, login_page(&expected, Some("The form expired; try again.")));
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
        Ok(None) => html(StatusCode::UNAUTHORIZED, login_page(&expected, Some("Wrong username or password."))),
        Err(codflow_app::Error::RateLimited { retry_after_secs }) => {
            let message = format!("Too many failed logins; try again in {retry_after_secs} seconds.");
            let mut r = html(StatusCode::TOO_MANY_REQUESTS, login_page(&expected, Some(&message)));
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
    if !same(&signed.0.csrf, &f.csrf) {
        return html(StatusCode::FORBIDDEN, forbidden(&signed.0));
    }
    if let Err(e) = s.app.admin().logout(&signed.1).await {
        return crate::ApiError::from(e).into_response();
    }
    let mut r = redirect("/login");
    let (k, v) = set_cookie(SESSION_COOKIE, "", 0, s.edge.secure_cookies());
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

/// A page of the orders a request selects: by the plain filters, or the orders behind a dashboard figure.
async fn select_orders(
    s: &AppState,
    q: &HashMap<String, String>,
    limit: i64,
    cursor: Option<&str>,
) -> codflow_app::Result<(Vec<codflow_domain::Order>, Option<String>)> {
    if let Some(carrier) = q.get("owed_by").filter(|v| !v.trim().is_empty()) {
        let currency = codflow_domain::Currency::parse(q.get("owed_currency").map(String::as_str).unwrap_or(""))
            .map_err(|_| codflow_app::Error::invalid("owed_currency", "a currency code (SAR) is needed"))?;
        let past_cycle = q.get("past_cycle").is_some_and(|v| !v.is_empty());
        s.app.finance().owed_orders(carrier, currency, past_cycle, cursor, limit).await
    } else if super::dash::names_a_figure(q) {
        let f = super::dash::exact_filter_of(q);
        s.app
            .insights()
            .orders_behind(&f, q.get("figure").map(String::as_str).filter(|v| !v.is_empty()), cursor, limit)
            .await
    } else {
        s.app.intake().orders(order_filter(q), limit, cursor).await
    }
}

pub async fn orders(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let (list, next) = match select_orders(&s, &q, PAGE, q.get("cursor").map(String::as_str)).await {
        Ok(r) => r,
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let figure = super::dash::figure_pairs(&q);
    let figure_refs: Vec<(&str, &str)> = figure.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut body = String::new();
    if let Some(carrier) = q.get("owed_by").filter(|v| !v.trim().is_empty()) {
        let _ = write!(
            body,
            "<p id=\"behind\">Delivered COD parcels whose cash {} still owes in {}{}. <a href=\"/orders\">All orders</a></p>",
            esc(carrier),
            esc(get("owed_currency")),
            if get("past_cycle").is_empty() { "" } else { ", past their settlement cycle" }
        );
    } else if !figure.is_empty() {
        let named: Vec<String> = figure.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = write!(
            body,
            "<p id=\"behind\">The orders behind a figure: {}. <a href=\"/orders\">All orders</a></p>",
            esc(&named.join(", "))
        );
    }
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
         <a href=\"/orders.csv?{export}\" id=\"export-csv\">Export CSV</a> \
         <a href=\"/orders.xlsx?{export}\" id=\"export-xlsx\">Export XLSX</a></form>",
        q = esc(get("q")),
        c = esc(get("country")),
        export = esc(&query_string(
            &[("q", get("q")), ("status", get("status")), ("country", get("country"))]
                .into_iter()
                .chain(figure_refs.iter().copied().filter(|(k, _)| *k != "country"))
                .collect::<Vec<_>>()
        )),
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
                "<tr><td><a href=\"/orders/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(&o.external_id),
                o.placed_at.date(),
                esc(o.buyer.phone.as_str()),
                o.shipping_address.country.code(),
                o.status.as_str(),
                esc(&o.total.to_string()),
                id = esc(o.id.as_str()),
            );
        }
        body.push_str("</tbody></table>");
    }
    if let Some(c) = next {
        let more = query_string(
            &[("q", get("q")), ("status", get("status")), ("country", get("country")), ("cursor", &c)]
                .into_iter()
                .chain(figure_refs.iter().copied().filter(|(k, _)| *k != "country"))
                .collect::<Vec<_>>(),
        );
        let _ = write!(body, "<p><a href=\"/orders?{}\">Next page</a></p>", esc(&more));
    }
    html(StatusCode::OK, layout(&signed.0, "Orders", &body))
}

/// A table as a download: CSV, or XLSX when `xlsx`; the header first.
pub(super) fn table_download(name: &str, xlsx: bool, header: &[&str], rows: &[Vec<String>]) -> Response {
    if xlsx {
        use codflow_sheets::Out;
        let mut all: Vec<Vec<Out>> = vec![header.iter().map(|h| Out::Text(h)).collect()];
        for r in rows {
            all.push(r.iter().map(|v| Out::Text(v)).collect());
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

/// The orders the page's filters select (at most 100,000 rows), as CSV or XLSX.
async fn orders_export(s: &AppState, q: &HashMap<String, String>, xlsx: bool) -> Response {
    let header =
        ["order_id", "external_id", "placed_at", "buyer_phone", "country", "region", "status", "total", "currency"];
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (list, next) = match select_orders(s, q, 500, cursor.as_deref()).await {
            Ok(r) => r,
            Err(e) => return crate::ApiError::from(e).into_response(),
        };
        for o in &list {
            rows.push(vec![
                o.id.to_string(),
                o.external_id.clone(),
                o.placed_at.date().to_string(),
                o.buyer.phone.to_string(),
                o.shipping_address.country.code().to_owned(),
                o.shipping_address.region.clone().unwrap_or_default(),
                o.status.as_str().to_owned(),
                o.total.amount_string(),
                o.total.currency.code().to_owned(),
            ]);
        }
        match next {
            Some(c) if rows.len() < EXPORT_MAX => cursor = Some(c),
            _ => break,
        }
    }
    table_download("orders", xlsx, &header, &rows)
}

pub async fn orders_csv(
    State(s): State<Arc<AppState>>,
    _signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    orders_export(&s, &q, false).await
}

pub async fn orders_xlsx(
    State(s): State<Arc<AppState>>,
    _signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    orders_export(&s, &q, true).await
}

pub async fn finance(State(s): State<Arc<AppState>>, signed: Signed) -> Response {
    if let Some(r) = signed.refused(FINANCE) {
        return r;
    }
    let report = match s.app.finance().profit_report(&Default::default(), Dimension::Country, |_| {}).await {
        Ok(r) => r,
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let aging = match s.app.finance().receivables_aging().await {
        Ok(a) => a,
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let base = report.base_currency;
    let m = |v: i64| esc(&codflow_domain::Money::new(v, base).to_string());
    let mut body = String::new();
    if report.skipped > 0 {
        let rates: Vec<String> = report
            .missing_rates
            .iter()
            .map(|r| format!("{} to {} dated {} or earlier", r.from, r.to, r.earliest))
            .collect();
        let _ = write!(
            body,
            "<p class=\"warn\" id=\"missing-rates\">{} orders are left out of these figures: no exchange rate{}. \
             Add the rates (API <code>PUT /api/v1/fx-rates</code> or <code>POST /api/v1/fx-rates/import</code>) \
             and they are counted.</p>",
            report.skipped,
            if rates.is_empty() { String::new() } else { format!(" {}", esc(&rates.join("; "))) }
        );
    }
    let _ = write!(
        body,
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
    let (held, _) = match s.app.review().review_queue(200, None).await {
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
    let results = s.app.review().decide_many(&ids, approve, Some(reason.to_owned()), actor).await;
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    redirect(&format!("/review?done={}&failed={failed}", results.len() - failed))
}
