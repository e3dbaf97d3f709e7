//! One order in full: its facts, lines, review, allocation, parcels with their documents, profit, the
//! actions its state allows (approve, hold, cancel, book, a confirmation call, a note) and its timeline in
//! time order with people by name.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codflow_app::calls::CallOutcome;
use codflow_app::documents::{CustomsKind, LabelFormat};
use codflow_app::orders::Action;
use codflow_domain::{Actor, Money, OrderId, OrderStatus, Role, ShipmentId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::render::{Amount, secs};
use super::{Signed, redirect};
use crate::extract::FromPath;
use crate::state::AppState;

/// One line of an order's timeline.
#[derive(Serialize)]
struct Step {
    at: i64,
    part: &'static str,
    what: String,
    who: String,
    #[serde(skip)]
    sort: OffsetDateTime,
}

#[derive(Serialize)]
struct Parcel {
    id: String,
    tracking: String,
    carrier: String,
    channel: String,
    status: &'static str,
    error: String,
    printable: bool,
    progress: String,
    cash: String,
    eta: Option<i64>,
}

#[derive(Serialize)]
struct Rank {
    channel: String,
    cost: Option<Amount>,
    profit: Option<Amount>,
    p_delivered: String,
    days: i64,
}

/// The name a stored actor (`user:…`, `rule:…`, `worker:…`) is shown by.
pub(super) fn who(actor: &str, names: &HashMap<String, String>, signed: &Signed) -> String {
    match actor.split_once(':') {
        Some(("user", id)) => names.get(id).cloned().unwrap_or_else(|| id.to_owned()),
        Some(("rule", r)) => signed.t_with("actor-rule", &[("rule", names.get(r).map_or(r, String::as_str))]),
        Some(("worker", w)) => signed.t_with("actor-worker", &[("worker", w)]),
        Some(("token", _)) => signed.t("actor-token"),
        _ => signed.t("actor-system"),
    }
}

fn part_of(action: &str) -> &'static str {
    match action {
        "review" | "approve" | "hold" | "cancel" | "call" => "review",
        "allocate" | "backorder" => "allocation",
        "fulfil" | "wave" | "bag" | "hand_over" => "warehouse",
        a if a.starts_with("pack_") => "warehouse",
        "note" => "note",
        _ => "order",
    }
}

pub async fn page(State(s): State<Arc<AppState>>, signed: Signed, Path(id): Path<String>) -> Response {
    let o = match OrderId::from_path(&id) {
        Ok(id) => match s.app.intake().order(&id).await {
            Ok(o) => o,
            Err(e) => return signed.fail(e),
        },
        Err(e) => return signed.fail(e),
    };
    let (history, shipments, mut names) = match (
        s.app.intake().order_history(&o.id).await,
        s.app.fulfilment().shipments_of_order(&o.id).await,
        s.app.admin().user_names().await,
    ) {
        (Ok(h), Ok(sh), Ok(n)) => (h, sh, n),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return signed.fail(e),
    };
    // Rules by name too (a deleted rule keeps its id).
    if let Ok((rules, _)) = s.app.review().rules().await {
        names.extend(rules.into_iter().map(|r| (r.id.to_string(), r.name)));
    }
    let status_word = |st: &str| signed.2.lookup(&format!("order-status-{st}")).unwrap_or(st).to_owned();
    let mut steps: Vec<Step> = history
        .iter()
        .map(|a| {
            let moved = match (&a.from_status, &a.to_status, a.action.as_str()) {
                (_, Some(t), "call") => signed.2.lookup(&format!("call-{t}")).unwrap_or(t).to_owned(),
                (Some(f), Some(t), _) => format!("{} → {}", status_word(f), status_word(t)),
                (None, Some(t), _) => status_word(t),
                _ => String::new(),
            };
            let action = signed.2.lookup(&format!("action-{}", a.action)).unwrap_or(&a.action).to_owned();
            let mut what = if moved.is_empty() { action } else { format!("{action}: {moved}") };
            if let Some(r) = &a.reason {
                what.push_str(" — ");
                what.push_str(r);
            }
            Step { at: secs(a.at), part: part_of(&a.action), what, who: who(&a.actor, &names, &signed), sort: a.at }
        })
        .collect();
    let mut parcels = Vec::new();
    for sh in &shipments {
        let at = sh.booked_at.unwrap_or(sh.created_at);
        let booked_what = signed.t_with(
            "step-booking",
            &[
                ("status", &signed.t(&format!("booking-status-{}", sh.status.as_str()))),
                ("carrier", &sh.carrier),
                ("channel", sh.channel.as_str()),
                ("tracking", sh.tracking_number.as_deref().unwrap_or("–")),
            ],
        );
        steps.push(Step { at: secs(at), part: "booking", what: booked_what, who: signed.t("actor-booking"), sort: at });
        let mut parcel = Parcel {
            id: sh.id.to_string(),
            tracking: sh.tracking_number.clone().unwrap_or_default(),
            carrier: sh.carrier.clone(),
            channel: sh.channel.to_string(),
            status: sh.status.as_str(),
            error: sh.last_error.clone().unwrap_or_default(),
            printable: sh.tracking_number.is_some(),
            progress: String::new(),
            cash: String::new(),
            eta: None,
        };
        if let Ok(t) = s.app.tracking().tracking(&sh.id).await {
            for e in &t.events {
                let mut what = format!("{} ({}: {})", e.status, e.code, e.description);
                if let Some(l) = &e.location {
                    what.push_str(&format!(" · {l}"));
                }
                steps.push(Step {
                    at: secs(e.at),
                    part: "tracking",
                    what,
                    who: format!("{} · {}", e.carrier, e.source),
                    sort: e.at,
                });
            }
            for task in &t.tasks {
                let what = format!("{} ({})", task.title, signed.t(&format!("task-status-{}", task.status.as_str())));
                steps.push(Step {
                    at: secs(task.created_at),
                    part: "task",
                    what,
                    who: who(&task.opened_by, &names, &signed),
                    sort: task.created_at,
                });
            }
            parcel.progress = t.tracked.progress.status.to_string();
            parcel.cash = t.tracked.cod_status.as_str().to_owned();
            parcel.eta = Some(secs(t.eta));
        }
        if let Ok(postings) = s.app.finance().shipment_ledger(&sh.id).await {
            for p in postings {
                let what = format!("{}: {} {}", p.kind.as_str(), p.account.as_str(), p.amount);
                let who = p.statement_id.unwrap_or_else(|| signed.t("actor-ledger"));
                steps.push(Step { at: secs(p.posted_at), part: "money", what, who, sort: p.posted_at });
            }
        }
        parcels.push(parcel);
    }
    steps.sort_by_key(|s| s.sort);
    let profit = s.app.finance().order_profit(&o.id).await.ok().map(|p| {
        let m = |v: i64| Amount::from(Money::new(v, p.base_currency));
        minijinja::context! {
            expected => p.expected.as_ref().map(|c| m(c.profit)),
            actual => p.actual.as_ref().map(|c| m(c.profit)),
            stage => p.stage.as_str(),
        }
    });
    let allocation = o.allocation.as_ref().map(|a| {
        let ranking: Vec<Rank> = a
            .choice
            .iter()
            .flat_map(|c| c.ranking.iter())
            .map(|r| {
                let base = codflow_domain::Currency::parse(&r.base_currency).ok();
                let m = |v: i64| base.map(|b| Amount::from(Money::new(v, b)));
                Rank {
                    channel: r.channel.clone(),
                    cost: m(r.total_base_minor),
                    profit: r.expected_profit_minor.and_then(m),
                    p_delivered: format!("{}.{}%", r.p_delivered_ppm / 10_000, (r.p_delivered_ppm / 1_000) % 10),
                    days: r.transit_days,
                }
            })
            .collect();
        minijinja::context! {
            warehouse => a.warehouse.to_string(),
            channel => a.channel.as_ref().map(|c| c.to_string()),
            why => a.choice.as_ref().map(|c| c.why.clone()),
            ranking => minijinja::Value::from_serialize(&ranking),
        }
    });
    let live_booking = shipments.iter().any(|sh| sh.status.as_str() != "cancelled");
    let may_act = signed.0.role == Role::Admin || signed.0.role == Role::Ops;
    let held = matches!(o.status, OrderStatus::OnHold | OrderStatus::PendingReview);
    let calls = history.iter().filter(|a| a.action == "call").count();
    let lines: Vec<_> = o
        .lines
        .iter()
        .map(|l| minijinja::context! { sku => l.sku.to_string(), quantity => l.quantity, unit => Amount::from(l.unit_price) })
        .collect();
    let ctx = minijinja::context! {
        o => minijinja::context! {
            id => o.id.to_string(),
            external_id => o.external_id.clone(),
            status => o.status.as_str(),
            shop => o.store.to_string(),
            placed => secs(o.placed_at),
            buyer => o.buyer.name.clone(),
            phone => o.buyer.phone.to_string(),
            email => o.buyer.email.clone(),
            ship_name => o.shipping_address.name.clone(),
            line1 => o.shipping_address.line1.clone(),
            line2 => o.shipping_address.line2.clone(),
            city => o.shipping_address.city.clone(),
            region => o.shipping_address.region.clone(),
            country => o.shipping_address.country.code(),
            total => Amount::from(o.total),
            cod => Amount::from(o.cod_amount),
            shipping_fee => Amount::from(o.shipping_fee),
            payment => o.payment_method.as_str(),
        },
        lines,
        review => o.review.as_ref().map(|r| minijinja::context! {
            decision => r.decision.as_str(),
            version => r.ruleset_version,
            reasons => r.reasons.clone(),
        }),
        allocation,
        parcels => minijinja::Value::from_serialize(&parcels),
        profit,
        steps => minijinja::Value::from_serialize(&steps),
        can => minijinja::context! {
            approve => may_act && o.status.can_become(OrderStatus::Approved),
            hold => may_act && o.status.can_become(OrderStatus::OnHold),
            cancel => may_act && o.status.can_become(OrderStatus::Cancelled),
            book => may_act && o.status == OrderStatus::Allocated && !live_booking,
            call => may_act && held,
            note => may_act,
        },
        calls,
        call_outcomes => CallOutcome::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        no_answer_limit => codflow_app::calls::NO_ANSWER_LIMIT,
    };
    let title = signed.t_with("order-title", &[("external_id", &o.external_id)]);
    signed.page(StatusCode::OK, "order.html", &title, ctx)
}

#[derive(Deserialize)]
pub struct ActForm {
    csrf: String,
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
}

/// One action on one order from its page; back to the page, which shows what changed.
pub async fn act(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    if let Some(r) = signed.may_post(&[Role::Ops], &f.csrf) {
        return r;
    }
    let id = match OrderId::from_path(&id) {
        Ok(id) => id,
        Err(e) => return signed.fail(e),
    };
    let actor = Actor::User(signed.0.id.clone());
    let reason = Some(f.reason.trim().to_owned()).filter(|r| !r.is_empty());
    let done = match f.action.as_str() {
        "approve" | "hold" | "cancel" => {
            if f.action != "approve" && reason.is_none() {
                return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("reason-needed"));
            }
            let act = match f.action.as_str() {
                "approve" => Action::Approve,
                "hold" => Action::Hold,
                _ => Action::Cancel,
            };
            s.app.intake().act_on_order(&id, act, actor, reason).await.map(|_| ())
        }
        "book" => s.app.fulfilment().book_order(&id, actor).await.map(|_| ()),
        "note" => s.app.intake().add_order_note(&id, &f.note, actor).await,
        "call" => match CallOutcome::parse(&f.outcome) {
            Ok(outcome) => s.app.intake().record_call(&id, outcome, &f.note, actor).await.map(|_| ()),
            Err(e) => Err(e),
        },
        _ => return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("bulk-unknown-action")),
    };
    match done {
        Ok(()) => redirect(&format!("/orders/{id}")),
        Err(e) => signed.fail(e),
    }
}

/// A parcel's document for the signed-in user: its label (PDF or ZPL), commercial invoice or packing list.
pub async fn document(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path((id, doc)): Path<(String, String)>,
) -> Response {
    let id = match ShipmentId::from_path(&id) {
        Ok(id) => id.to_string(),
        Err(e) => return signed.fail(e),
    };
    let ids = std::slice::from_ref(&id);
    let made = match doc.as_str() {
        "label.pdf" => s.app.fulfilment().labels(ids, LabelFormat::Pdf).await,
        "label.zpl" => s.app.fulfilment().labels(ids, LabelFormat::Zpl).await,
        "commercial-invoice.pdf" => s.app.fulfilment().customs_documents(ids, CustomsKind::CommercialInvoice).await,
        "packing-list.pdf" => s.app.fulfilment().customs_documents(ids, CustomsKind::PackingList).await,
        _ => return signed.fail(codflow_app::Error::NotFound("document")),
    };
    match made {
        Ok(d) => crate::routes::logistics::download(d.content_type, &d.filename, d.bytes).into_response(),
        Err(e) => signed.fail(e),
    }
}
