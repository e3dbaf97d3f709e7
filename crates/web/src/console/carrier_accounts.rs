//! Carrier accounts in the console: the list (with exports), for the admin an account added by carrier (its own
//! credential fields, typed in, sealed, never shown again), changed, tested against the carrier, removed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_domain::carrier_account::{CarrierAccountInput, PUSHING, account_kinds, credential_fields};
use codflow_domain::{Actor, CarrierAccountCode, Role};
use minijinja::Value;

use super::{Signed, form_field as field, redirect};
use crate::state::AppState;

/// Who adds and changes accounts (the API's rule too).
const ADMIN: &[Role] = &[];

/// A credential's name as a form label: `api_account` → "Api account".
fn label(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn carriers() -> Vec<Value> {
    account_kinds()
        .map(|c| {
            let fields = credential_fields(c).unwrap_or(&[]);
            let of = |required: bool| {
                fields
                    .iter()
                    .filter(|f| f.required == required)
                    .map(|f| minijinja::context! { name => f.name, label => label(f.name), secret => f.secret })
                    .collect::<Vec<_>>()
            };
            minijinja::context! {
                code => c, company => codflow_app::carrier_accounts::company(c),
                required => of(true), optional => of(false), pushes => PUSHING.contains(&c),
            }
        })
        .collect()
}

/// The form as the API's input: empty fields keep what is stored; credentials go whole when any is typed.
fn input_of(f: &[(String, String)], creating: bool) -> CarrierAccountInput {
    let text = |k: &str| Some(field(f, k).trim().to_owned()).filter(|v| !v.is_empty());
    let creds: BTreeMap<String, String> = f
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("cred_")?.to_owned(), v.trim().to_owned())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    CarrierAccountInput {
        code: if creating { Some(field(f, "code").trim().to_owned()) } else { None },
        carrier: if creating { Some(field(f, "carrier").to_owned()) } else { None },
        name: text("name"),
        environment: text("environment"),
        base_url: text("base_url"),
        credentials: (!creds.is_empty() || creating).then_some(creds).filter(|c| !c.is_empty() || creating),
        webhook_secret: text("webhook_secret"),
    }
}

pub async fn list(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let accounts = match s.app.fulfilment().carrier_accounts(None).await {
        Ok(a) => a,
        Err(e) => return signed.fail(e),
    };
    let header = ["code", "carrier", "name", "environment", "base_url", "credentials", "webhook_secret", "updated_at"];
    let table: Vec<Vec<String>> = accounts
        .iter()
        .map(|a| {
            vec![
                a.account.code.to_string(),
                a.account.carrier.to_string(),
                a.account.name.clone(),
                a.account.environment.as_str().into(),
                a.account.base_url.clone(),
                a.has_credentials.to_string(),
                a.has_webhook_secret.to_string(),
                crate::dto::rfc3339(a.updated_at),
            ]
        })
        .collect();
    if let Some(r) = super::dash::export(&q, "carrier-accounts", &header, table) {
        return r;
    }
    let rows: Vec<Value> = accounts
        .iter()
        .map(|a| {
            minijinja::context! {
                code => a.account.code.as_str(), carrier => a.account.carrier.as_str(), name => a.account.name.clone(),
                environment => a.account.environment.as_str(), base_url => a.account.base_url.clone(),
                credentials => a.has_credentials, secret => a.has_webhook_secret,
            }
        })
        .collect();
    let chosen = q.get("carrier").filter(|c| account_kinds().any(|k| k == c.as_str())).cloned();
    let tested = q.get("tested").map(|code| {
        minijinja::context! { code => code.clone(), ok => q.get("ok").is_some_and(|v| v == "1"),
        message => q.get("message").cloned().unwrap_or_default() }
    });
    let ctx = minijinja::context! {
        rows, carriers => carriers(), chosen, tested,
        is_admin => signed.0.role == Role::Admin,
        flash => q.get("saved").map(|_| signed.t("carrier-account-saved")),
    };
    signed.page(StatusCode::OK, "carrier_accounts.html", &signed.t("nav-carrier-accounts"), ctx)
}

pub async fn add(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<Vec<(String, String)>>) -> Response {
    if let Some(r) = signed.may_post(ADMIN, field(&f, "csrf")) {
        return r;
    }
    match s.app.fulfilment().put_carrier_account(None, input_of(&f, true), Actor::User(signed.0.id.clone())).await {
        Ok((v, _)) => redirect(&format!("/carrier-accounts/{}?saved=1", v.account.code.as_str())),
        Err(e) => signed.fail(e),
    }
}

pub async fn page(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(code) = CarrierAccountCode::parse(&code) else {
        return signed.fail(codflow_app::Error::NotFound("carrier account"));
    };
    let a = match s.app.fulfilment().carrier_account(&code).await {
        Ok(a) => a,
        Err(e) => return signed.fail(e),
    };
    let fields = credential_fields(a.account.carrier.as_str()).unwrap_or(&[]);
    let ctx = minijinja::context! {
        code => code.as_str(), carrier => a.account.carrier.as_str(), name => a.account.name.clone(),
        company => codflow_app::carrier_accounts::company(a.account.carrier.as_str()),
        pushes => PUSHING.contains(&a.account.carrier.as_str()),
        environment => a.account.environment.as_str(), base_url => a.account.base_url.clone(),
        credentials => a.has_credentials, secret => a.has_webhook_secret,
        fields => fields
            .iter()
            .map(|f| minijinja::context! { name => f.name, label => label(f.name), required => f.required, secret => f.secret })
            .collect::<Vec<_>>(),
        is_admin => signed.0.role == Role::Admin,
        flash => q.get("saved").map(|_| signed.t("carrier-account-saved")),
    };
    signed.page(
        StatusCode::OK,
        "carrier_account.html",
        &format!("{} · {}", signed.t("nav-carrier-accounts"), code),
        ctx,
    )
}

pub async fn save(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = signed.may_post(ADMIN, field(&f, "csrf")) {
        return r;
    }
    match s
        .app
        .fulfilment()
        .put_carrier_account(Some(&code), input_of(&f, false), Actor::User(signed.0.id.clone()))
        .await
    {
        Ok((v, _)) => redirect(&format!("/carrier-accounts/{}?saved=1", v.account.code.as_str())),
        Err(e) => signed.fail(e),
    }
}

pub async fn test(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = signed.may_post(ADMIN, field(&f, "csrf")) {
        return r;
    }
    let Ok(code) = CarrierAccountCode::parse(&code) else {
        return signed.fail(codflow_app::Error::NotFound("carrier account"));
    };
    match s.app.fulfilment().test_carrier_account(&code).await {
        Ok(t) => {
            let q = serde_urlencoded::to_string([
                ("tested", code.as_str()),
                ("ok", if t.ok { "1" } else { "0" }),
                (
                    "message",
                    &signed.t_with(&format!("connection-{}", t.outcome.replace('_', "-")), &[("detail", &t.message)]),
                ),
            ])
            .unwrap_or_default();
            redirect(&format!("/carrier-accounts?{q}#tested"))
        }
        Err(e) => signed.fail(e),
    }
}

pub async fn delete(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(code): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = signed.may_post(ADMIN, field(&f, "csrf")) {
        return r;
    }
    let Ok(code) = CarrierAccountCode::parse(&code) else {
        return signed.fail(codflow_app::Error::NotFound("carrier account"));
    };
    match s.app.fulfilment().delete_carrier_account(&code, Actor::User(signed.0.id.clone())).await {
        Ok(()) => redirect("/carrier-accounts"),
        Err(e) => signed.fail(e),
    }
}
