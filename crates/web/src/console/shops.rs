//! The shops page: how each shop's orders are coming in (webhooks, pulls, backlog, lag), the deliveries that
//! failed with their errors, a replay button for each and a pull on demand.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codflow_domain::Role;
use time::format_description::well_known::Rfc3339;

use super::ops::{Table, fail};
use super::pages::{esc, layout};
use super::{Signed, html, same};
use crate::state::AppState;

fn rfc3339(t: Option<time::OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

pub async fn shops(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let stores = match s.app.channels().shops().await {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let mut rows = Vec::new();
    let mut links = Vec::new();
    for st in &stores {
        let code = st.config.code.to_string();
        let status = match s.app.channels().sync_status(&st.config.code).await {
            Ok(x) => x,
            Err(e) => return fail(e),
        };
        links.push(Some(format!("/shops/{code}")));
        rows.push(vec![
            code,
            st.config.platform.as_str().to_owned(),
            st.config.enabled.to_string(),
            status.inbox.pending.to_string(),
            status.inbox.failed.to_string(),
            status.inbox.done.to_string(),
            status.lag.whole_seconds().to_string(),
            rfc3339(status.inbox.last_received_at),
            rfc3339(status.pull.last_success_at),
            status.pull.last_error.unwrap_or_default(),
        ]);
    }
    let t = Table {
        name: "shops",
        header: vec![
            "store",
            "platform",
            "enabled",
            "pending",
            "failed",
            "done",
            "lag_seconds",
            "last_received",
            "last_pull",
            "pull_error",
        ],
        rows,
        links,
    };
    if let Some(d) = t.download(&q) {
        return d;
    }
    let mut body = t.exports("/shops", &q);
    body.push_str(&t.html());
    html(StatusCode::OK, layout(&signed, "nav-shops", &body))
}

pub async fn shop(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(shop) = codflow_domain::ShopCode::parse(&code) else {
        return fail(codflow_app::Error::NotFound("store"));
    };
    let status = match s.app.channels().sync_status(&shop).await {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let filter = q.get("status").map(String::as_str).filter(|v| !v.is_empty());
    let (items, _) = match s.app.channels().inbox(&shop, filter, 500, None).await {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let t = Table {
        name: "deliveries",
        header: vec!["id", "source", "topic", "received", "status", "external_id", "outcome", "order", "error"],
        links: items.iter().map(|d| d.order_id.as_ref().map(|o| format!("/orders/{o}"))).collect(),
        rows: items
            .iter()
            .map(|d| {
                vec![
                    d.id.to_string(),
                    d.source.clone(),
                    d.topic.clone(),
                    rfc3339(Some(d.received_at)),
                    d.status.as_str().to_owned(),
                    d.external_id.clone().unwrap_or_default(),
                    d.outcome.clone().unwrap_or_default(),
                    d.order_id.as_ref().map(|o| o.to_string()).unwrap_or_default(),
                    d.error.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    };
    if let Some(d) = t.download(&q) {
        return d;
    }
    let csrf = esc(&signed.0.csrf);
    let mut body = String::new();
    let _ = write!(
        body,
        "<p id=\"sync\">{} · {} pending · {} failed · {} done · lag {} s · last delivery {} · last pull {}{}</p>",
        esc(status.store.platform.as_str()),
        status.inbox.pending,
        status.inbox.failed,
        status.inbox.done,
        status.lag.whole_seconds(),
        esc(&rfc3339(status.inbox.last_received_at)),
        esc(&rfc3339(status.pull.last_success_at)),
        status
            .pull
            .last_error
            .map(|e| format!(" · <span class=\"err\">pull failed: {}</span>", esc(&e)))
            .unwrap_or_default(),
    );
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/shops/{c}/pull\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\">Pull orders now</button></form>\
         <form class=\"filters\" method=\"get\" action=\"/shops/{c}\"><select name=\"status\">",
        c = esc(&code)
    );
    for v in ["", "pending", "failed", "done"] {
        let sel = if filter.unwrap_or("") == v { " selected" } else { "" };
        let _ = write!(body, "<option value=\"{v}\"{sel}>{}</option>", if v.is_empty() { "any status" } else { v });
    }
    body.push_str("</select><button type=\"submit\">Filter</button></form>");
    body.push_str(&t.exports(&format!("/shops/{code}"), &q));
    body.push_str(&t.html());
    let failed: Vec<_> = items.iter().filter(|d| d.status.as_str() == "failed").collect();
    if !failed.is_empty() {
        body.push_str(
            "<h2>Replay a failed delivery</h2><p class=\"muted\">Fix the cause first (add the SKU, say).</p>",
        );
        for d in failed {
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/shops/{c}/retry\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"id\" value=\"{id}\"><button type=\"submit\">Replay {id}</button> {err}</form>",
                c = esc(&code),
                id = esc(d.id.as_str()),
                err = esc(d.error.as_deref().unwrap_or(""))
            );
        }
    }
    html(StatusCode::OK, layout(&signed, &format!("Shop {code}"), &body))
}

fn field<'a>(f: &'a [(String, String)], k: &str) -> &'a str {
    f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// Ops and the admin only, and only with the form's token.
fn refused(signed: &Signed, f: &[(String, String)]) -> Option<Response> {
    if let Some(r) = signed.refused(&[Role::Ops]) {
        return Some(r);
    }
    (!same(&signed.0.csrf, field(f, "csrf"))).then(|| html(StatusCode::FORBIDDEN, super::pages::forbidden(signed)))
}

/// Replays one failed delivery.
pub async fn retry(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refused(&signed, &f) {
        return r;
    }
    let retried = match codflow_domain::InboxId::parse(field(&f, "id")) {
        Ok(id) => s.app.channels().retry_delivery(&id).await,
        Err(_) => Err(codflow_app::Error::NotFound("delivery")),
    };
    match retried {
        Ok(_) | Err(codflow_app::Error::Conflict { .. }) => super::redirect(&format!("/shops/{code}")),
        Err(e) => fail(e),
    }
}

/// Pulls the shop now.
pub async fn pull(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(shop) = codflow_domain::ShopCode::parse(&code) else {
        return fail(codflow_app::Error::NotFound("store"));
    };
    if let Some(r) = refused(&signed, &f) {
        return r;
    }
    match s.app.channels().pull_shop(&shop).await {
        Ok(_) => super::redirect(&format!("/shops/{code}")),
        Err(codflow_app::Error::Conflict { message, .. }) => html(
            StatusCode::CONFLICT,
            layout(&signed, &format!("Shop {code}"), &format!("<p class=\"err\">{}</p>", esc(&message))),
        ),
        Err(e) => fail(e).into_response(),
    }
}
