//! How a console page leaves: its template rendered in the viewer's language and time zone inside the one
//! layout, and errors as HTML pages (never problem+json in a browser).

use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use codflow_domain::Role;
use codflow_domain::zone::Zone;
use minijinja::Value;
use serde::Serialize;

use super::i18n::Lang;
use super::render::{Frame, render};
use super::{Signed, html};

#[derive(Serialize)]
pub(super) struct NavItem {
    pub href: &'static str,
    pub key: &'static str,
}

/// The pages a role works in, in the order of a day's work.
pub(super) fn nav_for(role: Role) -> Vec<NavItem> {
    let item = |href, key| NavItem { href, key };
    let mut nav = vec![item("/orders", "nav-orders")];
    if matches!(role, Role::Admin | Role::Ops) {
        nav.push(item("/review", "nav-review"));
    }
    nav.extend([item("/tasks", "nav-tasks"), item("/shipments", "nav-shipments"), item("/stock", "nav-stock")]);
    if matches!(role, Role::Admin | Role::Ops | Role::Warehouse) {
        nav.extend([
            item("/waves", "nav-waves"),
            item("/pack", "nav-pack"),
            item("/bags", "nav-bags"),
            item("/receive", "nav-receive"),
            item("/returns", "nav-returns"),
            item("/inbound", "nav-inbound"),
            item("/dashboards/floor", "nav-floor-dashboard"),
        ]);
    }
    if matches!(role, Role::Admin | Role::Finance) {
        nav.extend([
            item("/settlements", "nav-settlements"),
            item("/claims", "nav-claims"),
            item("/finance", "nav-finance"),
            item("/dashboards/cash", "nav-cash"),
            item("/dashboards/profit", "nav-profit"),
        ]);
    }
    if role == Role::Ops {
        nav.push(item("/claims", "nav-claims"));
    }
    nav.extend([
        item("/channels", "nav-channels"),
        item("/carrier-accounts", "nav-carrier-accounts"),
        item("/shops", "nav-shops"),
        item("/rules", "nav-rules"),
    ]);
    if matches!(role, Role::Admin | Role::Ops) {
        nav.push(item("/settings/messages", "nav-messages"));
    }
    if role == Role::Admin {
        nav.push(item("/settings", "settings"));
    }
    if role != Role::Warehouse {
        nav.extend([
            item("/dashboards/rejections", "nav-rejections"),
            item("/dashboards/customs", "nav-customs"),
            item("/dashboards/carriers", "nav-carriers"),
            item("/recommendations", "nav-recommendations"),
        ]);
    }
    nav
}

#[derive(Serialize)]
struct UserView<'a> {
    name: &'a str,
    role: &'a str,
    csrf: &'a str,
}

impl Signed {
    /// The values the layout reads for this user.
    fn layout_values(&self, title: &str) -> Value {
        let here = self.3.split('?').next().unwrap_or("/").to_owned();
        minijinja::context! {
            title => title,
            user => Value::from_serialize(UserView {
                name: self.0.shown_name(),
                role: self.0.role.as_str(),
                csrf: &self.0.csrf,
            }),
            nav => Value::from_serialize(nav_for(self.0.role)),
            here => here,
            back => self.3.clone(),
        }
    }

    /// The message under `key` in this user's language.
    pub(super) fn t(&self, key: &str) -> String {
        self.2.text(key, &[])
    }

    pub(super) fn t_with(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.2.text(key, args)
    }

    /// `template` with the page's values `ctx`, titled `title` (already in the user's language).
    pub(super) fn render_page(&self, template: &str, title: &str, ctx: Value) -> Result<String, minijinja::Error> {
        let frame = Frame { lang: self.2, zone: &self.0.zone };
        render(template, &frame, minijinja::context! { ..ctx, ..self.layout_values(title) })
    }

    /// As [`Signed::render_page`], as a response with `status`.
    pub(super) fn page(&self, status: StatusCode, template: &str, title: &str, ctx: Value) -> Response {
        match self.render_page(template, title, ctx) {
            Ok(body) => html(status, body),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), template, "rendering a console page");
                drawing_failed()
            }
        }
    }

    /// The refusal of a form whose token is not this session's (a forged or expired form), None when it is.
    pub(super) fn forged(&self, token: &str) -> Option<Response> {
        (!super::same(&self.0.csrf, token)).then(|| self.error(StatusCode::FORBIDDEN, &self.t("form-expired")))
    }

    /// The refusal of a form post: not for this user's role (403 page), or its token is not the session's.
    pub(super) fn may_post(&self, roles: &[Role], token: &str) -> Option<Response> {
        self.refused(roles).or_else(|| self.forged(token))
    }

    /// An error page: what went wrong in words, with the status that says so.
    pub(super) fn error(&self, status: StatusCode, message: &str) -> Response {
        self.page(status, "error.html", &self.t(title_key(status)), minijinja::context! { message, detail => "" })
    }

    /// An application error as an HTML page with the status the API would give it.
    pub(super) fn fail(&self, e: impl Into<crate::ApiError>) -> Response {
        let e: crate::ApiError = e.into();
        let status = e.status();
        let message = match status {
            StatusCode::NOT_FOUND => self.t("error-not-found"),
            s if s.is_server_error() => {
                tracing::error!(error = %e, "a console page failed");
                self.t("error-internal")
            }
            _ => e.explained(),
        };
        self.error(status, &message)
    }
}

/// A page whose template failed (a bug, logged): a bare page, still HTML, rather than the API's problem.
fn drawing_failed() -> Response {
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        "<!doctype html><meta charset=\"utf-8\"><title>codflow</title><p>This page could not be drawn; it has been logged. \
         <a href=\"/orders\">Orders</a></p>"
            .to_owned(),
    )
}

fn title_key(status: StatusCode) -> &'static str {
    match status.as_u16() {
        403 => "error-forbidden-title",
        404 => "error-not-found-title",
        s if s >= 500 => "error-internal-title",
        _ => "error-title",
    }
}

/// The language of a visitor who is not signed in: what the browser asks for.
pub(super) fn browser_lang(headers: &HeaderMap) -> Lang {
    headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).map_or(Lang::En, Lang::negotiate)
}

/// A page for a visitor who is not signed in (the login form, a page that does not exist).
pub(super) fn public_page(lang: Lang, status: StatusCode, template: &str, title: &str, ctx: Value) -> Response {
    let zone = Zone::utc();
    let frame = Frame { lang, zone: &zone };
    let all =
        minijinja::context! { ..minijinja::context! { title, user => Value::from(()), back => "/orders" }, ..ctx };
    match render(template, &frame, all) {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), template, "rendering a console page");
            drawing_failed()
        }
    }
}

/// Whether a refusal of this request should be a page: a browser asking for something outside the API.
pub fn wants_page(headers: &HeaderMap, path: &str) -> bool {
    let browser =
        headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    browser && !path.starts_with("/api")
}

/// A request the edge refuses before any handler (a control character in its address or form), as a page in
/// the browser's language naming where the character is.
pub fn refused_page(headers: &HeaderMap, field: &str) -> Response {
    let lang = browser_lang(headers);
    let ctx = minijinja::context! { message => lang.text("control-character", &[("field", field)]), detail => "" };
    public_page(lang, StatusCode::UNPROCESSABLE_ENTITY, "error.html", &lang.text("error-title", &[]), ctx)
}

/// The answer for a path nothing serves, when a browser asked: an HTML page, inside the console's frame and
/// in the user's language when they are signed in, else in the browser's.
pub async fn not_found_page(s: &crate::state::AppState, headers: &HeaderMap, uri: &axum::http::Uri) -> Response {
    let session = match super::cookie(headers, super::SESSION_COOKIE) {
        // No cookie, no session to look up: a stranger's 404 costs no query.
        Some(secret) => s.app.admin().console_session(&secret).await.ok().flatten().map(|u| (u, secret)),
        None => None,
    };
    if let Some((u, secret)) = session {
        let lang = Lang::parse(&u.prefs.locale).unwrap_or_else(|| browser_lang(headers));
        let here = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let signed = Signed(u, secret, lang, here);
        return signed.error(StatusCode::NOT_FOUND, &signed.t("error-not-found"));
    }
    let lang = browser_lang(headers);
    let ctx = minijinja::context! { message => lang.text("error-not-found", &[]), detail => "" };
    public_page(lang, StatusCode::NOT_FOUND, "error.html", &lang.text("error-not-found-title", &[]), ctx)
}
