//! A user's own preferences (the name colleagues see, language, time zone), the language switch in the
//! header, and the seller's time zone (admin).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_app::users::Prefs;
use codflow_domain::{Actor, Role};
use serde::Deserialize;

use super::{Signed, redirect};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn form(State(s): State<Arc<AppState>>, signed: Signed, Query(q): Query<Shown>) -> Response {
    show(&s, &signed, q.saved.is_some().then(|| signed.t("saved")), None, &signed.0.prefs, StatusCode::OK).await
}

async fn show(
    s: &AppState,
    signed: &Signed,
    flash: Option<String>,
    error: Option<String>,
    prefs: &Prefs,
    status: StatusCode,
) -> Response {
    let seller = match s.app.admin().seller_time_zone().await {
        Ok(z) => z,
        Err(e) => return signed.fail(e),
    };
    let ctx = minijinja::context! {
        flash,
        error,
        prefs => minijinja::context! {
            display_name => prefs.display_name.clone(),
            locale => prefs.locale.clone(),
            time_zone => prefs.time_zone.clone(),
        },
        seller_zone => seller.name().to_owned(),
        is_admin => signed.0.role == Role::Admin,
    };
    signed.page(status, "prefs.html", &signed.t("preferences"), ctx)
}

#[derive(Deserialize)]
pub struct PrefsForm {
    csrf: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    time_zone: String,
}

pub async fn save(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<PrefsForm>) -> Response {
    if let Some(r) = signed.forged(&f.csrf) {
        return r;
    }
    let wanted = Prefs { display_name: f.display_name, locale: f.locale, time_zone: f.time_zone };
    match s.app.admin().set_prefs(&signed.0.id, wanted.clone()).await {
        Ok(_) => redirect("/preferences?saved=1"),
        Err(e) => {
            let message = crate::ApiError::from(e).explained();
            show(&s, &signed, None, Some(message), &wanted, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[derive(Deserialize)]
pub struct LanguageForm {
    csrf: String,
    locale: String,
    #[serde(default)]
    back: String,
}

/// Only a path on this site is a place to go back to (never `//elsewhere` or a full URL).
fn local(back: &str) -> &str {
    if back.starts_with('/') && !back.starts_with("//") && !back.contains('\\') { back } else { "/orders" }
}

pub async fn language(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<LanguageForm>) -> Response {
    if let Some(r) = signed.forged(&f.csrf) {
        return r;
    }
    let prefs = Prefs { locale: f.locale, ..signed.0.prefs.clone() };
    match s.app.admin().set_prefs(&signed.0.id, prefs).await {
        Ok(_) => redirect(local(&f.back)),
        Err(e) => signed.fail(e),
    }
}

#[derive(Deserialize)]
pub struct SellerForm {
    csrf: String,
    time_zone: String,
}

pub async fn seller(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<SellerForm>) -> Response {
    if let Some(r) = signed.may_post(&[], &f.csrf) {
        return r;
    }
    let actor = Actor::User(signed.0.id.clone());
    match s.app.admin().set_seller_time_zone(&f.time_zone, actor).await {
        Ok(_) => redirect("/preferences?saved=1"),
        Err(e) => {
            let message = crate::ApiError::from(e).explained();
            show(&s, &signed, None, Some(message), &signed.0.prefs, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_paths_on_this_site_are_followed_back() {
        assert_eq!(super::local("/review?cursor=x"), "/review?cursor=x");
        for bad in ["//evil.example", "https://evil.example", "/\\evil.example", "", "review"] {
            assert_eq!(super::local(bad), "/orders", "{bad}");
        }
    }
}
