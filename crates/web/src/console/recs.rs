//! Recommendations drawn from the dashboards' sums: each in the reader's language with the orders behind
//! it, a preview of the change (a back-test against the current rules, a priority, a task) and the change
//! made once however often it is confirmed.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_app::kpi::{Preview, Recommendation};
use codflow_domain::review::backtest::Report;
use codflow_domain::{Currency, Money, Role};
use minijinja::Value;

use super::dash::{DASHBOARD_READERS, filter_of, filter_values, orders_href, owed_href, today};
use super::pages::query_string;
use super::render::{Amount, format_money, group};
use super::{Signed, redirect};
use crate::state::AppState;

fn may_act(role: Role, r: &Recommendation) -> bool {
    match r {
        Recommendation::Dispute { .. } => matches!(role, Role::Admin | Role::Finance),
        _ => matches!(role, Role::Admin | Role::Ops),
    }
}

/// The recommendation as the form carries it between the list, the preview and the act.
fn carried(r: &Recommendation) -> String {
    serde_json::to_string(r).unwrap_or_default()
}

fn read(field: Option<&String>) -> Option<Recommendation> {
    serde_json::from_str(field?).ok()
}

/// What the recommendation says, in the reader's language.
fn text_of(signed: &Signed, r: &Recommendation) -> String {
    match r {
        Recommendation::BlockCod { sku, country, region, refusal } => signed.t_with(
            "rec-block-cod",
            &[
                ("sku", sku),
                ("rate", &refusal.percent()),
                ("region", if region.trim().is_empty() { country } else { region }),
                ("country", country),
                ("n", &group(refusal.n.unsigned_abs(), false)),
            ],
        ),
        Recommendation::LowerPriority { channel, country, abnormal, peers } => signed.t_with(
            "rec-lower-priority",
            &[("channel", channel), ("rate", &abnormal.percent()), ("country", country), ("peers", &peers.percent())],
        ),
        Recommendation::Dispute { carrier, currency, parcels, amount_minor } => {
            let digits = Currency::parse(currency).map(|c| c.minor_digits()).unwrap_or(2);
            signed.t_with(
                "rec-dispute",
                &[
                    ("carrier", carrier),
                    ("amount", &format_money(*amount_minor, currency, digits)),
                    ("parcels", &group(parcels.unsigned_abs(), false)),
                ],
            )
        }
    }
}

pub async fn recommendations(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(DASHBOARD_READERS) {
        return r;
    }
    let f = filter_of(&q, today(&s));
    let recs = match s.app.insights().recommendations(&f).await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let shown: Vec<Value> = recs
        .iter()
        .map(|r| {
            let evidence = match r {
                Recommendation::BlockCod { sku, country, region, .. } => {
                    orders_href(&f, &[("sku", sku), ("country", country), ("region", region)], Some("refused"))
                }
                Recommendation::LowerPriority { channel, country, .. } => {
                    orders_href(&f, &[("channel", channel), ("country", country)], Some("customs_held"))
                }
                Recommendation::Dispute { carrier, currency, .. } => match Currency::parse(currency) {
                    Ok(c) => owed_href(carrier, c, true),
                    Err(_) => "/finance".to_owned(),
                },
            };
            minijinja::context! {
                text => text_of(&signed, r),
                evidence,
                json => carried(r),
                may_act => may_act(signed.0.role, r),
            }
        })
        .collect();
    let flash = q.get("done").map(|made| signed.t_with("rec-done", &[("made", made)]));
    let ctx = minijinja::context! { f => filter_values(&f, None), recs => shown, flash };
    signed.page(StatusCode::OK, "recommendations.html", &signed.t("nav-recommendations"), ctx)
}

fn backtest_row(name: &str, rep: &Report) -> Value {
    let stopped: i64 = rep.actions.iter().filter(|a| a.action != "approve").map(|a| a.orders).sum();
    let refused: i64 = rep.actions.iter().filter(|a| a.action != "approve").map(|a| a.refused).sum();
    let net = Currency::parse(&rep.base_currency).ok().map(|c| Amount::from(Money::new(rep.net_effect_minor, c)));
    minijinja::context! { name, replayed => rep.orders_replayed, stopped, refused, net }
}

pub async fn preview(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(r) = read(q.get("rec")) else {
        return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("rec-unknown"));
    };
    if !may_act(signed.0.role, &r) {
        return signed.error(StatusCode::FORBIDDEN, &signed.t("error-forbidden"));
    }
    let p = match s.app.insights().preview(&r).await {
        Ok(p) => p,
        Err(e) => return signed.fail(e),
    };
    let (rule, priority, task) = match &p {
        Preview::Rule { before, after } => {
            (Some(vec![backtest_row("bt-current", before), backtest_row("bt-changed", after)]), None, None)
        }
        Preview::Priority { channel, from, to } => {
            (None, Some(minijinja::context! { channel => channel.clone(), from => *from, to => *to }), None)
        }
        Preview::Task { .. } => (None, None, Some(signed.t_with("task-to-open", &[("title", &text_of(&signed, &r))]))),
    };
    let ctx = minijinja::context! { text => text_of(&signed, &r), json => carried(&r), rule, priority, task };
    signed.page(StatusCode::OK, "recommendation.html", &signed.t("title-review-change"), ctx)
}

pub async fn act(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.forged(form.get("csrf").map(String::as_str).unwrap_or("")) {
        return r;
    }
    let Some(r) = read(form.get("rec")) else {
        return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("rec-unknown"));
    };
    if !may_act(signed.0.role, &r) {
        return signed.error(StatusCode::FORBIDDEN, &signed.t("error-forbidden"));
    }
    match s.app.insights().act_on(&r, codflow_domain::Actor::User(signed.0.id.clone())).await {
        Ok(made) => redirect(&format!("/recommendations?{}", query_string(&[("done", &made)]))),
        Err(e) => signed.fail(e),
    }
}
