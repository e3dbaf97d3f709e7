//! Rules in the console: the ruleset in order with each rule's switch, order and edit; a form that keeps what
//! was typed through validate and back-test, a builder that writes the common conditions as CEL (amounts in
//! major units), and a back-test that sets the change beside the current ruleset.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_app::rules::RuleInput;
use codflow_domain::review::Rule;
use codflow_domain::review::backtest::{Economics, Report};
use codflow_domain::review::builder::Conditions;
use codflow_domain::{Actor, Money, Role, RuleId};

use super::pages::table_download;
use super::render::Amount;
use super::{Signed, redirect};
use crate::state::AppState;

/// Who changes the rules: ops (and the admin).
const EDITORS: &[Role] = &[Role::Ops];
const FORM_KEYS: &[&str] = &[
    "id",
    "name",
    "priority",
    "action",
    "reason",
    "condition",
    "b_countries",
    "b_amount",
    "b_currency",
    "b_skus",
    "b_risk",
    "b_refusals",
];

fn rule_rows(list: &[Rule]) -> Vec<minijinja::Value> {
    list.iter()
        .map(|r| {
            minijinja::context! {
                id => r.id.to_string(), name => r.name.clone(), priority => r.priority, enabled => r.enabled,
                action => r.action.as_str(), condition => r.condition.clone(), reason => r.reason.clone(),
            }
        })
        .collect()
}

async fn show(
    s: &AppState,
    signed: &Signed,
    form: HashMap<String, String>,
    outcome: minijinja::Value,
    status: StatusCode,
) -> Response {
    let (list, version) = match s.app.review().rules().await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let base = match s.app.review().base_currency().await {
        Ok(b) => b,
        Err(e) => return signed.fail(e),
    };
    let ctx = minijinja::context! {
        rules => rule_rows(&list),
        version,
        base => base.code(),
        form => form,
        outcome,
        can_edit => signed.refused(EDITORS).is_none(),
        actions => ["hold", "flag", "block_cod", "cancel", "approve"],
    };
    signed.page(status, "rules.html", &signed.t("nav-rules"), ctx)
}

pub async fn page(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(f) = q.get("format").filter(|f| *f == "csv" || *f == "xlsx") {
        let list = match s.app.review().rules().await {
            Ok(r) => r.0,
            Err(e) => return signed.fail(e),
        };
        let header = ["name", "priority", "enabled", "action", "condition", "reason"];
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.priority.to_string(),
                    r.enabled.to_string(),
                    r.action.as_str().to_owned(),
                    r.condition.clone(),
                    r.reason.clone(),
                ]
            })
            .collect();
        return table_download("rules", f == "xlsx", &header, &rows);
    }
    let mut form: HashMap<String, String> = HashMap::new();
    if let Some(id) = q.get("edit") {
        let rule = match RuleId::parse(id) {
            Ok(id) => s.app.review().rule(&id).await,
            Err(_) => Err(codflow_app::Error::NotFound("rule")),
        };
        match rule {
            Ok(r) => {
                form.insert("id".into(), r.id.to_string());
                form.insert("name".into(), r.name);
                form.insert("priority".into(), r.priority.to_string());
                form.insert("action".into(), r.action.as_str().into());
                form.insert("reason".into(), r.reason);
                form.insert("condition".into(), r.condition);
            }
            Err(e) => return signed.fail(e),
        }
    } else {
        form.insert("priority".into(), "100".into());
        form.insert("action".into(), "hold".into());
    }
    let saved = q.get("saved").map(|v| minijinja::context! { saved => v.clone() });
    show(&s, &signed, form, minijinja::Value::from_serialize(saved), StatusCode::OK).await
}

fn input(f: &HashMap<String, String>) -> RuleInput {
    let text = |k: &str| f.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    RuleInput {
        name: text("name"),
        priority: text("priority").and_then(|p| p.parse().ok()),
        enabled: None,
        condition: text("condition"),
        action: text("action"),
        reason: text("reason"),
        notify: None,
    }
}

fn problems(e: codflow_app::Error) -> Result<Vec<String>, codflow_app::Error> {
    match e {
        codflow_app::Error::Invalid(list) => Ok(list.0.iter().map(|e| e.to_string()).collect()),
        other => Err(other),
    }
}

/// A back-test's figures for the page.
fn figures(r: &Report, base: codflow_domain::Currency) -> minijinja::Value {
    minijinja::context! {
        replayed => r.orders_replayed,
        delivered => r.delivered,
        refused => r.refused,
        net => Amount::from(Money::new(r.net_effect_minor, base)),
        actions => r.actions.iter().map(|a| minijinja::context! {
            action => a.action.clone(), orders => a.orders, refused => a.refused, delivered => a.delivered,
        }).collect::<Vec<_>>(),
    }
}

/// Writes the builder's condition, validates, back-tests or saves the rule in the form; whatever happens
/// the form comes back as it was sent.
pub async fn submit(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.may_post(EDITORS, f.get("csrf").map(String::as_str).unwrap_or("")) {
        return r;
    }
    let mut form: HashMap<String, String> =
        FORM_KEYS.iter().filter_map(|k| f.get(*k).map(|v| (k.to_string(), v.clone()))).collect();
    let actor = Actor::User(signed.0.id.clone());
    let base = match s.app.review().base_currency().await {
        Ok(b) => b,
        Err(e) => return signed.fail(e),
    };
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let editing = f.get("id").filter(|v| !v.is_empty()).map(|id| RuleId::parse(id));
    let op = field("op");
    let outcome = match op {
        "build" => {
            let built = Conditions::parse(
                field("b_countries"),
                field("b_amount"),
                if field("b_currency").trim().is_empty() { base.code() } else { field("b_currency") },
                field("b_skus"),
                field("b_risk"),
                field("b_refusals"),
            );
            match built {
                Ok(c) => match c.to_cel(base) {
                    Some(cel) => {
                        form.insert("condition".into(), cel);
                        minijinja::context! { built => true }
                    }
                    None => minijinja::context! { errors => vec![signed.t("builder-empty")] },
                },
                Err(errs) => minijinja::context! {
                    errors => errs.into_iter().map(|(k, m)| format!("{k}: {m}")).collect::<Vec<_>>()
                },
            }
        }
        "validate" => match s.app.review().validate_rule(input(&f)).await {
            Ok(cost) => minijinja::context! { valid => cost },
            Err(e) => match problems(e) {
                Ok(errors) => minijinja::context! { errors },
                Err(e) => return signed.fail(e),
            },
        },
        "backtest" => {
            let rule = match input(&f).into_new_rule() {
                Ok(r) => r,
                Err(e) => {
                    return match problems(e) {
                        Ok(errors) => {
                            show(&s, &signed, form, minijinja::context! { errors }, StatusCode::UNPROCESSABLE_ENTITY)
                                .await
                        }
                        Err(e) => signed.fail(e),
                    };
                }
            };
            let current = match s.app.review().rules().await {
                Ok(r) => r.0,
                Err(e) => return signed.fail(e),
            };
            // The change: the edited rule replaces its old self; a new one joins the ruleset.
            let edited_id = editing.as_ref().and_then(|r| r.as_ref().ok()).cloned();
            let mut changed: Vec<Rule> =
                current.iter().filter(|r| Some(&r.id) != edited_id.as_ref()).cloned().collect();
            changed.push(rule);
            let since = s.app.clock().now() - time::Duration::days(365);
            let econ = Economics::usual(base);
            let before = s.app.review().backtest(Some(current), since, econ, |_, _| {}).await;
            let after = s.app.review().backtest(Some(changed), since, econ, |_, _| {}).await;
            match (before, after) {
                (Ok(b), Ok(a)) => minijinja::context! {
                    backtest => minijinja::context! {
                        current => figures(&b, base),
                        changed => figures(&a, base),
                        gain => Amount::from(Money::new(a.net_effect_minor - b.net_effect_minor, base)),
                    }
                },
                (Err(e), _) | (_, Err(e)) => match problems(e) {
                    Ok(errors) => minijinja::context! { errors },
                    Err(e) => return signed.fail(e),
                },
            }
        }
        "save" => {
            let saved = match &editing {
                Some(Ok(id)) => s.app.review().update_rule(id, input(&f), actor).await,
                Some(Err(_)) => Err(codflow_app::Error::NotFound("rule")),
                None => s.app.review().create_rule(input(&f), actor).await,
            };
            match saved {
                Ok((r, v)) => return redirect(&format!("/rules?saved={}&version={v}", r.id)),
                Err(e) => match problems(e) {
                    Ok(errors) => minijinja::context! { errors },
                    Err(e) => return signed.fail(e),
                },
            }
        }
        _ => minijinja::context! { errors => vec![signed.t("bulk-unknown-action")] },
    };
    let failed = outcome.get_attr("errors").is_ok_and(|v| !v.is_undefined());
    let status = if failed { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    show(&s, &signed, form, outcome, status).await
}

/// Switches a rule on or off, moves it up or down the order, or deletes it.
pub async fn change(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.may_post(EDITORS, f.get("csrf").map(String::as_str).unwrap_or("")) {
        return r;
    }
    let Some(id) = f.get("id").and_then(|id| RuleId::parse(id).ok()) else {
        return signed.fail(codflow_app::Error::NotFound("rule"));
    };
    let actor = Actor::User(signed.0.id.clone());
    let (list, _) = match s.app.review().rules().await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let Some(at) = list.iter().position(|r| r.id == id) else {
        return signed.fail(codflow_app::Error::NotFound("rule"));
    };
    let set = |enabled: Option<bool>, priority: Option<i32>| RuleInput { enabled, priority, ..RuleInput::default() };
    let done = match f.get("op").map(String::as_str) {
        Some("enable") => s.app.review().update_rule(&id, set(Some(true), None), actor).await.map(|_| ()),
        Some("disable") => s.app.review().update_rule(&id, set(Some(false), None), actor).await.map(|_| ()),
        Some("up") if at > 0 => {
            let p = list[at - 1].priority.saturating_sub(1);
            s.app.review().update_rule(&id, set(None, Some(p)), actor).await.map(|_| ())
        }
        Some("down") if at + 1 < list.len() => {
            let p = list[at + 1].priority.saturating_add(1);
            s.app.review().update_rule(&id, set(None, Some(p)), actor).await.map(|_| ())
        }
        Some("up" | "down") => Ok(()),
        Some("delete") => s.app.review().delete_rule(&id, actor).await.map(|_| ()),
        _ => Err(codflow_app::Error::invalid("op", "enable, disable, up, down or delete")),
    };
    match done {
        Ok(()) => redirect("/rules"),
        Err(e) => signed.fail(e),
    }
}
