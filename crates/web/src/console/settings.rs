//! The admin's settings pages: the seller's details on documents and the public address, the base currency
//! and time zone, console users (created, switched off and on) and API tokens (created with their secret
//! shown once, revoked).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_app::documents::DocumentSettings;
use codflow_domain::{Actor, Country, Role, TokenId};

use super::render::secs;
use super::{Signed, redirect};
use crate::state::AppState;

async fn show(
    s: &AppState,
    signed: &Signed,
    flash: Option<String>,
    error: Option<String>,
    secret: Option<String>,
    status: StatusCode,
) -> Response {
    let (docs, users, tokens, base, zone) = match (
        s.app.fulfilment().document_settings().await,
        s.app.admin().users().await,
        s.app.admin().tokens().await,
        s.app.review().base_currency().await,
        s.app.admin().seller_time_zone().await,
    ) {
        (Ok(d), Ok(u), Ok(t), Ok(b), Ok(z)) => (d, u, t, b, z),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), ..) | (.., Err(e), _) | (.., Err(e)) => return signed.fail(e),
    };
    let ctx = minijinja::context! {
        docs => minijinja::context! {
            seller_name => docs.seller_name.clone(),
            seller_address => docs.seller_address.join("\n"),
            eori => docs.eori_number.clone().unwrap_or_default(),
            ioss => docs.ioss_number.clone().unwrap_or_default(),
            vat => docs.vat_numbers.iter().map(|(c, n)| format!("{}={n}", c.code())).collect::<Vec<_>>().join(", "),
            public_url => docs.public_base_url.clone(),
        },
        base => base.code(),
        zone => zone.name().to_owned(),
        users => users.iter().map(|(id, name, role, disabled)| minijinja::context! {
            id => id.to_string(), name => name.clone(), role => role.as_str(), disabled => *disabled,
            me => *id == signed.0.id,
        }).collect::<Vec<_>>(),
        tokens => tokens.iter().map(|t| minijinja::context! {
            id => t.id.to_string(), name => t.name.clone(), role => t.role.as_str(),
            created => secs(t.created_at), revoked => t.revoked_at.map(secs),
        }).collect::<Vec<_>>(),
        roles => Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        flash, error, secret,
    };
    signed.page(status, "settings.html", &signed.t("settings"), ctx)
}

pub async fn page(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(&[]) {
        return r;
    }
    show(&s, &signed, q.contains_key("saved").then(|| signed.t("saved")), None, None, StatusCode::OK).await
}

/// One settings form: its `section` says which.
pub async fn save(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Some(r) = signed.refused(&[]) {
        return r;
    }
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    if let Some(r) = signed.forged(&field("csrf")) {
        return r;
    }
    let actor = Actor::User(signed.0.id.clone());
    let done: codflow_app::Result<Option<String>> = match field("section").as_str() {
        "documents" => documents(&s, &f, actor).await.map(|_| None),
        "general" => {
            async {
                s.app.review().set_base_currency(&field("base_currency")).await?;
                s.app.admin().set_seller_time_zone(&field("time_zone"), actor).await?;
                Ok(None)
            }
            .await
        }
        "user-create" => match Role::parse(&field("role")) {
            Ok(role) => {
                s.app.admin().create_user(&field("username"), &field("password"), role, actor).await.map(|_| None)
            }
            Err(_) => Err(codflow_app::Error::invalid("role", "choose a role")),
        },
        "user-disable" | "user-enable" => {
            let disable = field("section") == "user-disable";
            if disable && field("username") == signed.0.username {
                Err(codflow_app::Error::invalid("username", "you cannot switch yourself off"))
            } else {
                s.app.admin().set_user_disabled(&field("username"), disable, actor).await.map(|_| None)
            }
        }
        "token-create" => match Role::parse(&field("role")) {
            Ok(role) => s.app.admin().create_token(role, &field("name")).await.map(|(_, secret)| Some(secret)),
            Err(_) => Err(codflow_app::Error::invalid("role", "choose a role")),
        },
        "token-revoke" => match TokenId::parse(&field("id")) {
            Ok(id) => s.app.admin().revoke_token(&id, actor).await.map(|_| None),
            Err(_) => Err(codflow_app::Error::NotFound("token")),
        },
        _ => Err(codflow_app::Error::invalid("section", "is not a settings form")),
    };
    match done {
        // A new token's secret is shown on this one page and never again.
        Ok(Some(secret)) => {
            show(&s, &signed, Some(signed.t("token-created")), None, Some(secret), StatusCode::OK).await
        }
        Ok(None) => redirect("/settings?saved=1"),
        Err(e @ (codflow_app::Error::Invalid(_) | codflow_app::Error::Conflict { .. })) => {
            let message = crate::ApiError::from(e).explained();
            show(&s, &signed, None, Some(message), None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => signed.fail(e),
    }
}

async fn documents(s: &AppState, f: &HashMap<String, String>, actor: Actor) -> codflow_app::Result<DocumentSettings> {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let mut vat = BTreeMap::new();
    for pair in field("vat").split([',', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
        let (c, n) = pair.split_once('=').ok_or_else(|| {
            codflow_app::Error::invalid("vat_numbers", "write each as COUNTRY=NUMBER, e.g. SA=300000000000003")
        })?;
        let c = Country::parse(&c.trim().to_uppercase())
            .map_err(|_| codflow_app::Error::invalid("vat_numbers", format!("{} is not a country code", c.trim())))?;
        vat.insert(c, n.trim().to_owned());
    }
    let settings = DocumentSettings {
        seller_name: field("seller_name"),
        seller_address: field("seller_address")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        eori_number: Some(field("eori")).filter(|v| !v.is_empty()),
        ioss_number: Some(field("ioss")).filter(|v| !v.is_empty()),
        vat_numbers: vat,
        public_base_url: field("public_url"),
    };
    s.app.fulfilment().set_document_settings(settings, actor).await
}
