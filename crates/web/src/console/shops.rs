//! The shops: how each one's orders are coming in (webhooks, pulls, backlog, lag), its failed deliveries with
//! a replay for each and a pull on demand; for the admin, connecting a shop and changing its settings and
//! secrets (typed in, sealed, never shown again: an empty secret field keeps the stored one).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_domain::shop::{Platform, ShopInput};
use codflow_domain::{Actor, Role, ShopCode};
use minijinja::Value;

use super::render::secs;
use super::{Signed, form_field as field, redirect};
use crate::state::AppState;

/// Deliveries shown on a shop's page at a time, and at most exported.
const PAGE: i64 = 50;
const EXPORT_CAP: usize = 100_000;

fn delivery_rows(items: &[codflow_app::channel_sync::Delivery]) -> Vec<Vec<String>> {
    items
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
        .collect()
}

/// Who connects shops and holds their secrets (the API's rule too).
const ADMIN: &[Role] = &[];

/// Times in exports as RFC 3339, as the API writes them.
fn rfc3339(t: Option<time::OffsetDateTime>) -> String {
    t.map(crate::dto::rfc3339).unwrap_or_default()
}

fn platforms() -> Vec<Value> {
    Platform::ALL
        .iter()
        .map(|p| {
            minijinja::context! {
                code => p.as_str(),
                fields => p.credential_fields(),
                optional => p.optional_credential_fields(),
                webhooks => p.has_webhooks(),
            }
        })
        .collect()
}

pub async fn shops(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let stores = match s.app.channels().shops().await {
        Ok(l) => l,
        Err(e) => return signed.fail(e),
    };
    let mut table = Vec::new();
    let mut rows = Vec::new();
    for st in &stores {
        let status = match s.app.channels().sync_status(&st.config.code).await {
            Ok(x) => x,
            Err(e) => return signed.fail(e),
        };
        let c = &st.config;
        table.push(vec![
            c.code.to_string(),
            c.name.clone(),
            c.platform.as_str().to_owned(),
            c.enabled.to_string(),
            status.inbox.pending.to_string(),
            status.inbox.failed.to_string(),
            status.inbox.done.to_string(),
            status.lag.whole_seconds().to_string(),
            rfc3339(status.inbox.last_received_at),
            rfc3339(status.pull.last_success_at),
            status.pull.last_error.clone().unwrap_or_default(),
        ]);
        rows.push(minijinja::context! {
            code => c.code.as_str(), name => c.name.clone(), platform => c.platform.as_str(), enabled => c.enabled,
            credentials => st.has_credentials, secret => st.has_webhook_secret,
            pending => status.inbox.pending, failed => status.inbox.failed, done => status.inbox.done,
            lag => status.lag.whole_seconds(),
            last_received => status.inbox.last_received_at.map(secs),
            last_pull => status.pull.last_success_at.map(secs),
            pull_error => status.pull.last_error,
        });
    }
    let header = [
        "store",
        "name",
        "platform",
        "enabled",
        "pending",
        "failed",
        "done",
        "lag_seconds",
        "last_received_at",
        "last_pull_at",
        "pull_error",
    ];
    if let Some(r) = super::dash::export(&q, "shops", &header, table) {
        return r;
    }
    let ctx = minijinja::context! {
        rows,
        platforms => platforms(),
        chosen => q.get("platform").and_then(|p| Platform::parse(p).ok()).map(|p| p.as_str()),
        is_admin => signed.0.role == Role::Admin,
    };
    signed.page(StatusCode::OK, "shops.html", &signed.t("nav-shops"), ctx)
}

pub async fn shop(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(shop) = ShopCode::parse(&code) else { return signed.fail(codflow_app::Error::NotFound("store")) };
    let (view, status) = match (s.app.channels().shop_view(&shop).await, s.app.channels().sync_status(&shop).await) {
        (Ok(v), Ok(st)) => (v, st),
        (Err(e), _) | (_, Err(e)) => return signed.fail(e),
    };
    let filter = q.get("status").map(String::as_str).filter(|v| !v.is_empty());
    if filter.is_some_and(|f| !["pending", "failed", "done"].contains(&f)) {
        return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("bad-delivery-status"));
    }
    let header = ["id", "source", "topic", "received_at", "status", "external_id", "outcome", "order", "error"];
    if q.contains_key("format") {
        // Every delivery the filter keeps, page after page (a shop's inbox is pruned, so this stays bounded).
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (items, next) = match s.app.channels().inbox(&shop, filter, 1000, cursor.as_deref()).await {
                Ok(x) => x,
                Err(e) => return signed.fail(e),
            };
            all.extend(items);
            match next {
                Some(n) if all.len() < EXPORT_CAP => cursor = Some(n),
                _ => break,
            }
        }
        if let Some(r) = super::dash::export(&q, &format!("deliveries-{}", shop.as_str()), &header, delivery_rows(&all))
        {
            return r;
        }
    }
    let cursor = q.get("cursor").map(String::as_str).filter(|c| !c.is_empty());
    let (items, next) = match s.app.channels().inbox(&shop, filter, PAGE, cursor).await {
        Ok(x) => x,
        Err(e) => return signed.fail(e),
    };
    let deliveries: Vec<Value> = items
        .iter()
        .map(|d| {
            minijinja::context! {
                id => d.id.as_str(), source => d.source.clone(), topic => d.topic.clone(),
                received => secs(d.received_at), status => d.status.as_str(),
                external_id => d.external_id.clone(), outcome => d.outcome.clone(),
                order => d.order_id.as_ref().map(|o| o.to_string()), error => d.error.clone(),
            }
        })
        .collect();
    let public = s.app.fulfilment().document_settings().await.map(|d| d.public_base_url).unwrap_or_default();
    let c = &view.config;
    let webhook = c.platform.has_webhooks().then(|| {
        format!("{}/api/v1/webhooks/{}/{}", public.trim_end_matches('/'), c.platform.as_str(), c.code.as_str())
    });
    let ctx = minijinja::context! {
        code => c.code.as_str(),
        name => c.name.clone(),
        platform => c.platform.as_str(),
        fields => c.platform.credential_fields(),
        optional => c.platform.optional_credential_fields(),
        has_webhooks => c.platform.has_webhooks(),
        base_url => c.base_url.clone().unwrap_or_default(),
        cod_gateways => c.cod_gateways.join(", "),
        warehouse => c.default_warehouse.as_ref().map(|w| w.to_string()).unwrap_or_default(),
        push => c.push_fulfilment,
        enabled => c.enabled,
        credentials => view.has_credentials,
        secret => view.has_webhook_secret,
        webhook,
        pending => status.inbox.pending, failed => status.inbox.failed, done => status.inbox.done,
        lag => status.lag.whole_seconds(),
        last_received => status.inbox.last_received_at.map(secs),
        last_pull => status.pull.last_success_at.map(secs),
        pull_error => status.pull.last_error.clone(),
        filter => filter.unwrap_or(""),
        deliveries,
        next,
        paged => cursor.is_some(),
        may_act => matches!(signed.0.role, Role::Admin | Role::Ops),
        is_admin => signed.0.role == Role::Admin,
        flash => q.get("saved").map(|_| signed.t("shop-saved")),
    };
    signed.page(StatusCode::OK, "shop.html", &signed.t_with("shop-title", &[("code", shop.as_str())]), ctx)
}

fn optional(f: &[(String, String)], k: &str) -> Option<String> {
    Some(field(f, k).trim().to_owned()).filter(|v| !v.is_empty())
}

/// The shop's settings as its form gives them. Secrets typed in replace the stored ones; left empty, the
/// stored ones are kept (a form never shows a secret back).
fn input_of(f: &[(String, String)], platform: Platform, creating: bool) -> ShopInput {
    let mut credentials = BTreeMap::new();
    for k in platform.credential_fields().iter().chain(platform.optional_credential_fields()) {
        if let Some(v) = optional(f, &format!("cred_{k}")) {
            credentials.insert((*k).to_owned(), v);
        }
    }
    let gateways: Vec<String> =
        field(f, "cod_gateways").split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_owned).collect();
    ShopInput {
        code: creating.then(|| field(f, "code").trim().to_owned()),
        platform: Some(platform.as_str().to_owned()),
        name: optional(f, "name"),
        base_url: optional(f, "base_url"),
        credentials: (!credentials.is_empty()).then_some(credentials),
        webhook_secret: optional(f, "webhook_secret"),
        cod_gateways: if creating && gateways.is_empty() { None } else { Some(gateways) },
        default_warehouse: optional(f, "warehouse"),
        push_fulfilment: Some(field(f, "push") == "1"),
        enabled: Some(field(f, "enabled") == "1"),
    }
}

/// Connects a new shop (admin).
pub async fn connect(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<Vec<(String, String)>>) -> Response {
    if let Some(r) = signed.may_post(ADMIN, field(&f, "csrf")) {
        return r;
    }
    let platform = match Platform::parse(field(&f, "platform")) {
        Ok(p) => p,
        Err(_) => return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("choose-platform")),
    };
    let input = input_of(&f, platform, true);
    match s.app.channels().put_shop(None, input, Actor::User(signed.0.id.clone())).await {
        Ok((view, _)) => redirect(&format!("/shops/{}?saved=1", view.config.code.as_str())),
        Err(e) => signed.fail(e),
    }
}

/// Changes a shop's settings and secrets (admin).
pub async fn save(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = signed.may_post(ADMIN, field(&f, "csrf")) {
        return r;
    }
    let Ok(shop) = ShopCode::parse(&code) else { return signed.fail(codflow_app::Error::NotFound("store")) };
    let platform = match s.app.channels().shop_view(&shop).await {
        Ok(v) => v.config.platform,
        Err(e) => return signed.fail(e),
    };
    let input = input_of(&f, platform, false);
    match s.app.channels().put_shop(Some(shop.as_str()), input, Actor::User(signed.0.id.clone())).await {
        Ok(_) => redirect(&format!("/shops/{}?saved=1", shop.as_str())),
        Err(e) => signed.fail(e),
    }
}

/// Replays one failed delivery (ops and the admin).
pub async fn retry(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = signed.may_post(&[Role::Ops], field(&f, "csrf")) {
        return r;
    }
    let retried = match codflow_domain::InboxId::parse(field(&f, "id")) {
        Ok(id) => s.app.channels().retry_delivery(&id).await,
        Err(_) => Err(codflow_app::Error::NotFound("delivery")),
    };
    match retried {
        Ok(_) | Err(codflow_app::Error::Conflict { .. }) => redirect(&format!("/shops/{code}")),
        Err(e) => signed.fail(e),
    }
}

/// Pulls the shop now (ops and the admin).
pub async fn pull(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let Ok(shop) = ShopCode::parse(&code) else { return signed.fail(codflow_app::Error::NotFound("store")) };
    if let Some(r) = signed.may_post(&[Role::Ops], field(&f, "csrf")) {
        return r;
    }
    match s.app.channels().pull_shop(&shop).await {
        Ok(_) => redirect(&format!("/shops/{}", shop.as_str())),
        Err(e) => signed.fail(e),
    }
}
