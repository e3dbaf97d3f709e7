//! The console: server-rendered pages behind a login, no JavaScript needed. Sessions live in an HttpOnly,
//! SameSite=Strict cookie; every form carries the session's CSRF token (the login form a token of its own,
//! double-submitted in a cookie), and a POST without the right one is refused.

mod carrier_accounts;
mod cash;
mod channels;
mod chart;
mod claims;
mod dash;
mod finance;
pub(crate) mod i18n;
mod inbound;
mod opsettings;
mod order;
mod orders;
mod pack;
mod pages;
mod prefs;
mod recs;
mod render;
mod returns;
mod review;
mod rules;
mod settings;
mod settlements;
mod shipments;
mod shops;
mod stock;
mod tasks;
mod view;

pub use finance::ProfitSnapshot;
pub use settlements::Pending;
pub use view::{not_found_page, refused_page, wants_page};

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use codflow_app::users::{ConsoleUser, SESSION_TTL};
use codflow_domain::Role;

use crate::state::AppState;

const SESSION_COOKIE: &str = "codflow_session";
const LOGIN_CSRF_COOKIE: &str = "codflow_login_csrf";

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(|| async { redirect("/orders") }))
        .route("/console/console.css", get(|| async { asset("text/css", include_str!("../../templates/console.css")) }))
        .route(
            "/console/console.js",
            get(|| async { asset("text/javascript", include_str!("../../templates/console.js")) }),
        )
        .route("/console/pack.js", get(|| async { asset("text/javascript", include_str!("../../templates/pack.js")) }))
        .route("/pack", get(pack::station).post(pack::act))
        .route("/waves", get(pack::waves).post(pack::create_wave))
        .route("/waves/{id}/pick-list", get(pack::wave_pick_list))
        .route("/bags", get(pack::bags).post(pack::bags_act))
        .route("/dashboards/floor", get(pack::floor_dashboard))
        .route("/handovers/{id}", get(pack::handover).post(pack::handover_scan))
        .route("/floor-docs/{kind}/{id}", get(pack::floor_document))
        .route("/inbound", get(inbound::list).post(inbound::create))
        .route("/inbound.csv", get(inbound::export))
        .route(
            "/inbound/upload",
            axum::routing::post(inbound::upload).layer(axum::extract::DefaultBodyLimit::max(crate::IMPORT_LIMIT)),
        )
        .route("/inbound/{id}", get(inbound::po).post(inbound::po_act))
        .route("/receive", get(inbound::dock).post(inbound::dock_act))
        .route("/claims", get(claims::list).post(claims::open))
        .route("/claims/{id}", get(claims::one).post(claims::act))
        .route("/claims/{id}/{doc}", get(claims::evidence))
        .route("/claims/{id}/statement/photos/{n}", get(claims::statement_photo))
        .route("/returns", get(returns::list))
        .route("/returns/scan", get(returns::scan_form).post(returns::scan))
        .route("/returns/settings", axum::routing::post(returns::save_settings))
        .route("/returns/{id}", get(returns::one).post(returns::act))
        .route(
            "/returns/{id}/photos",
            axum::routing::post(returns::add_photo)
                .layer(axum::extract::DefaultBodyLimit::max(codflow_app::floor::MAX_PHOTO_BYTES + 64 * 1024)),
        )
        .route("/returns/{id}/photos/{n}", get(returns::photo))
        .route("/preferences", get(prefs::form).post(prefs::save))
        .route("/settings", get(settings::page).post(settings::save))
        .route("/preferences/language", axum::routing::post(prefs::language))
        .route("/preferences/seller", axum::routing::post(prefs::seller))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", axum::routing::post(pages::logout))
        .route("/orders", get(orders::list))
        .route("/orders.csv", get(orders::csv))
        .route("/orders.xlsx", get(orders::xlsx))
        .route("/orders/bulk", axum::routing::post(orders::bulk))
        .route("/orders/{id}", get(order::page))
        .route("/orders/{id}/act", axum::routing::post(order::act))
        .route("/shipments/{id}/{document}", get(order::document))
        .route("/tasks", get(tasks::list))
        .route("/tasks/bulk", axum::routing::post(tasks::bulk))
        .route("/tasks/{id}", get(tasks::page))
        .route("/tasks/{id}/act", axum::routing::post(tasks::act))
        .route("/stock", get(stock::list))
        .route("/stock/adjust", axum::routing::post(stock::adjust))
        .route("/shipments", get(shipments::list))
        .route("/shipments/labels", axum::routing::post(shipments::labels))
        .route("/settlements", get(settlements::list))
        .route(
            "/settlements/upload",
            axum::routing::post(settlements::upload).layer(axum::extract::DefaultBodyLimit::max(crate::IMPORT_LIMIT)),
        )
        .route("/settlements/record", axum::routing::post(settlements::record_previewed))
        .route("/settlements/{id}", get(settlements::statement))
        .route("/settlements/{id}/disputes", get(settlements::disputes))
        .route("/settlements/{id}/lines/{line}/dispute", get(settlements::dispute))
        .route("/rules", get(rules::page).post(rules::submit))
        .route("/rules/change", axum::routing::post(rules::change))
        .route("/settings/messages", get(opsettings::messages).post(opsettings::save_message))
        .route("/settings/tracking", get(opsettings::tracking).post(opsettings::save_tracking))
        .route("/channels", get(channels::list))
        .route("/channels/rates.csv", get(channels::rates_csv))
        .route(
            "/channels/rates",
            axum::routing::post(channels::upload_rates)
                .layer(axum::extract::DefaultBodyLimit::max(crate::IMPORT_LIMIT)),
        )
        .route("/channels/{code}", get(channels::page).post(channels::save))
        .route("/channels/{code}/rows", axum::routing::post(channels::save_rows))
        .route("/carrier-accounts", get(carrier_accounts::list))
        .route("/carrier-accounts/add", axum::routing::post(carrier_accounts::add))
        .route("/carrier-accounts/{code}", get(carrier_accounts::page).post(carrier_accounts::save))
        .route("/carrier-accounts/{code}/test", axum::routing::post(carrier_accounts::test))
        .route("/carrier-accounts/{code}/delete", axum::routing::post(carrier_accounts::delete))
        .route("/shops", get(shops::shops))
        .route("/shops/connect", axum::routing::post(shops::connect))
        .route("/shops/{code}", get(shops::shop).post(shops::save))
        .route("/shops/{code}/retry", axum::routing::post(shops::retry))
        .route("/shops/{code}/pull", axum::routing::post(shops::pull))
        .route("/finance", get(finance::page))
        .route("/finance/fx-rate", axum::routing::post(finance::put_rate))
        .route("/review", get(review::queue).post(pages::decide))
        .route("/dashboards/cash", get(cash::cash))
        .route("/dashboards/rejections", get(dash::rejections))
        .route("/dashboards/profit", get(dash::profit))
        .route("/dashboards/customs", get(dash::customs))
        .route("/dashboards/carriers", get(dash::carriers))
        .route("/dashboards/carriers/weights", axum::routing::post(dash::save_weights))
        .route("/recommendations", get(recs::recommendations))
        .route("/recommendations/preview", get(recs::preview))
        .route("/recommendations/act", axum::routing::post(recs::act))
}

/// A file sent from a console form with its small fields (the CSRF token, a kind), the token already checked.
struct Upload {
    file: Option<axum::body::Bytes>,
    fields: std::collections::HashMap<String, String>,
}

/// Reads a console upload: the part named `file` whole, every other part as text of at most 200 characters.
/// A malformed form or a forged token is the response to send instead.
async fn read_upload(signed: &Signed, mut form: axum::extract::Multipart) -> Result<Upload, Response> {
    let mut up = Upload { file: None, fields: Default::default() };
    loop {
        match form.next_field().await {
            Ok(Some(field)) => match field.name().map(str::to_owned) {
                Some(n) if n == "file" => match field.bytes().await {
                    Ok(b) => up.file = Some(b),
                    Err(e) => return Err(signed.fail(crate::routes::imports::multipart_error(e))),
                },
                Some(n) => {
                    let v: String = field.text().await.unwrap_or_default().chars().take(200).collect();
                    up.fields.insert(n, v);
                }
                None => {}
            },
            Ok(None) => break,
            Err(e) => return Err(signed.fail(crate::routes::imports::multipart_error(e))),
        }
    }
    if let Some(r) = signed.forged(up.fields.get("csrf").map_or("", String::as_str)) {
        return Err(r);
    }
    Ok(up)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let cache = (axum::http::header::CACHE_CONTROL, "max-age=3600");
    (StatusCode::OK, [(CONTENT_TYPE, content_type), cache], body).into_response()
}

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_owned())]).into_response()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A console cookie: HttpOnly and SameSite=Strict always, Secure when the server is reached over HTTPS
/// (`--public-url https://…`).
fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> (axum::http::HeaderName, HeaderValue) {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    (SET_COOKIE, HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("")))
}

fn session_cookie(secret: &str, secure: bool) -> (axum::http::HeaderName, HeaderValue) {
    set_cookie(SESSION_COOKIE, secret, SESSION_TTL.whole_seconds(), secure)
}

/// Compares two tokens in time that does not depend on where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn html(status: StatusCode, body: String) -> Response {
    (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// A signed-in user, the session's secret, the language pages are written in for them (theirs, else the
/// browser's) and the path and query the request asked for. A request without a live session is sent to the
/// login page.
pub struct Signed(pub ConsoleUser, pub String, pub i18n::Lang, pub String);

impl FromRequestParts<Arc<AppState>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else { return Err(redirect("/login")) };
        match s.app.admin().console_session(&secret).await {
            Ok(Some(u)) => {
                let lang = i18n::Lang::parse(&u.prefs.locale).unwrap_or_else(|| view::browser_lang(&parts.headers));
                let here = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
                Ok(Signed(u, secret, lang, here))
            }
            Ok(None) => Err(redirect("/login?expired=1")),
            Err(e) => Err(crate::ApiError::from(e).into_response()),
        }
    }
}

impl Signed {
    /// The 403 page when the page is not for this user's role (admin may see every page).
    fn refused(&self, roles: &[Role]) -> Option<Response> {
        (self.0.role != Role::Admin && !roles.contains(&self.0.role))
            .then(|| self.error(StatusCode::FORBIDDEN, &self.t("error-forbidden")))
    }
}

/// A posted form's field (the first of that name), empty when absent.
pub(super) fn form_field<'a>(f: &'a [(String, String)], k: &str) -> &'a str {
    f.iter().find(|(n, _)| n == k).map_or("", |(_, v)| v.as_str())
}

#[cfg(test)]
mod cookie_tests {
    use super::*;
    use crate::Edge;

    #[test]
    fn cookies_are_secure_exactly_when_the_server_is_reached_over_https() {
        let edge = |u: &str| Edge { public_url: Some(u.into()), metrics_token: None };
        assert!(edge("https://cod.example.com").secure_cookies());
        assert!(edge(" HTTPS://cod.example.com").secure_cookies());
        assert!(!edge("http://10.0.0.5:8080").secure_cookies());
        assert!(!Edge::default().secure_cookies());
        let (_, v) = session_cookie("s3cret", true);
        let v = v.to_str().unwrap();
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Strict") && v.ends_with("; Secure"), "{v}");
        let (_, v) = session_cookie("s3cret", false);
        assert!(!v.to_str().unwrap().contains("Secure"));
    }
}
