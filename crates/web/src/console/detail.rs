//! One order in full (its timeline of review, allocation, booking, tracking, money and audit), and the task
//! queue of the signed-in user's role.

use codflow_domain::OrderId;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codflow_domain::{Money, Role};
use time::OffsetDateTime;

use super::pages::{esc, layout, query_string, table_download};
use super::{Signed, html};
use crate::state::AppState;

fn fail(e: impl Into<crate::ApiError>) -> Response {
    e.into().into_response()
}

fn when(t: OffsetDateTime) -> String {
    format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute())
}

/// One line of an order's timeline: when, what part of the flow, what happened, who did it.
struct Step {
    at: OffsetDateTime,
    part: &'static str,
    what: String,
    who: String,
}

pub async fn order(State(s): State<Arc<AppState>>, signed: Signed, Path(id): Path<String>) -> Response {
    let found = match OrderId::parse(&id) {
        Ok(id) => s.app.intake().order(&id).await,
        Err(_) => Err(codflow_app::Error::NotFound("order")),
    };
    let o = match found {
        Ok(o) => o,
        Err(codflow_app::Error::NotFound(_)) => {
            return html(StatusCode::NOT_FOUND, layout(&signed.0, "Order", "<p class=\"err\">No such order.</p>"));
        }
        Err(e) => return fail(e),
    };
    let history = match s.app.intake().order_history(&o.id).await {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let shipments = match s.app.fulfilment().shipments_of_order(&o.id).await {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let mut steps: Vec<Step> = history
        .iter()
        .map(|a| Step {
            at: a.at,
            part: match a.action.as_str() {
                "review" | "approve" | "hold" | "cancel" => "review",
                "allocate" | "backorder" => "allocation",
                "fulfil" => "warehouse",
                _ => "order",
            },
            what: format!(
                "{}{}{}",
                a.action,
                match (&a.from_status, &a.to_status) {
                    (Some(f), Some(t)) => format!(": {f} → {t}"),
                    (None, Some(t)) => format!(": {t}"),
                    _ => String::new(),
                },
                a.reason.as_ref().map(|r| format!(" — {r}")).unwrap_or_default()
            ),
            who: a.actor.clone(),
        })
        .collect();
    let mut body = String::new();
    let money = |m: &Money| esc(&m.to_string());
    let _ = write!(
        body,
        "<table class=\"facts\"><tbody><tr><th>Order</th><td>{id}</td><th>Status</th><td><strong id=\"status\">{status}</strong></td></tr>\
         <tr><th>Store / external id</th><td>{store} / {ext}</td><th>Placed</th><td>{placed}</td></tr>\
         <tr><th>Destination</th><td>{city}, {region}, {country}</td><th>Buyer phone</th><td>{phone}</td></tr>\
         <tr><th>Total</th><td>{total}</td><th>Cash on delivery</th><td>{cod}</td></tr></tbody></table>",
        id = esc(o.id.as_str()),
        status = o.status.as_str(),
        store = esc(o.store.as_str()),
        ext = esc(&o.external_id),
        placed = when(o.placed_at),
        city = esc(&o.shipping_address.city),
        region = esc(o.shipping_address.region.as_deref().unwrap_or("")),
        country = o.shipping_address.country.code(),
        phone = esc(o.buyer.phone.as_str()),
        total = money(&o.total),
        cod = money(&o.cod_amount),
    );
    body.push_str("<h2>Lines</h2><table><thead><tr><th>SKU</th><th class=\"num\">Quantity</th><th class=\"num\">Unit price</th></tr></thead><tbody>");
    for l in &o.lines {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(l.sku.as_str()),
            l.quantity,
            money(&l.unit_price)
        );
    }
    body.push_str("</tbody></table>");
    if let Some(r) = &o.review {
        let _ = write!(
            body,
            "<h2>Review</h2><p>Decision <strong>{}</strong> by ruleset version {}: {}</p>",
            esc(r.decision.as_str()),
            r.ruleset_version.map(|v| v.to_string()).unwrap_or_else(|| "–".into()),
            esc(&r.reasons.join("; "))
        );
    }
    if let Some(a) = &o.allocation {
        let _ = write!(
            body,
            "<h2>Allocation</h2><p>Warehouse {}, channel {}.</p>",
            esc(a.warehouse.as_str()),
            esc(a.channel.as_ref().map(|c| c.as_str()).unwrap_or("none"))
        );
        if let Some(c) = &a.choice {
            let _ = write!(
                body,
                "<p>{}</p><table><thead><tr><th>Channel</th><th class=\"num\">Landed cost</th><th class=\"num\">Expected profit</th><th class=\"num\">P(delivered)</th><th class=\"num\">Transit days</th></tr></thead><tbody>",
                esc(&c.why)
            );
            for r in &c.ranking {
                let base = codflow_domain::Currency::parse(&r.base_currency).ok();
                let m = |v: i64| base.map(|b| Money::new(v, b).to_string()).unwrap_or_else(|| v.to_string());
                let _ = write!(
                    body,
                    "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}.{}%</td><td class=\"num\">{}</td></tr>",
                    esc(&r.channel),
                    esc(&m(r.total_base_minor)),
                    esc(&r.expected_profit_minor.map(m).unwrap_or_default()),
                    r.p_delivered_ppm / 10_000,
                    (r.p_delivered_ppm / 1_000) % 10,
                    r.transit_days
                );
            }
            body.push_str("</tbody></table>");
        }
    }
    for sh in &shipments {
        steps.push(Step {
            at: sh.booked_at.unwrap_or(sh.created_at),
            part: "booking",
            what: format!(
                "{} with {} on {}{}{}",
                sh.status.as_str(),
                sh.carrier,
                sh.channel,
                sh.tracking_number.as_ref().map(|t| format!(", tracking number {t}")).unwrap_or_default(),
                sh.last_error.as_ref().map(|e| format!(" — {e}")).unwrap_or_default()
            ),
            who: "booking".into(),
        });
        if let Ok(t) = s.app.tracking().tracking(&sh.id).await {
            for e in &t.events {
                steps.push(Step {
                    at: e.at,
                    part: "tracking",
                    what: format!(
                        "{} ({}: {}){}",
                        e.status,
                        e.code,
                        e.description,
                        e.location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default()
                    ),
                    who: format!("{} via {}", e.carrier, e.source),
                });
            }
            for task in &t.tasks {
                steps.push(Step {
                    at: task.created_at,
                    part: "task",
                    what: format!("{} ({})", task.title, task.status.as_str()),
                    who: task.opened_by.clone(),
                });
            }
            let _ = write!(
                body,
                "<h2>Parcel {}</h2><p>{} · cash {} · expected by {}</p>",
                esc(&t.tracked.tracking_number),
                t.tracked.progress.status,
                t.tracked.cod_status.as_str(),
                t.eta.date()
            );
        }
        if let Ok(postings) = s.app.finance().shipment_ledger(&sh.id).await {
            for p in postings {
                steps.push(Step {
                    at: p.posted_at,
                    part: "money",
                    what: format!("{}: {} {}", p.kind.as_str(), p.account.as_str(), p.amount),
                    who: p.statement_id.unwrap_or_else(|| "ledger".into()),
                });
            }
        }
    }
    if let Ok(p) = s.app.finance().order_profit(&o.id).await {
        let m = |v: i64| Money::new(v, p.base_currency).to_string();
        let _ = write!(
            body,
            "<h2>Profit</h2><p>Expected {} · actual {} ({})</p>",
            esc(&p.expected.as_ref().map(|c| m(c.profit)).unwrap_or_else(|| "–".into())),
            esc(&p.actual.as_ref().map(|c| m(c.profit)).unwrap_or_else(|| "not final yet".into())),
            p.stage.as_str()
        );
    }
    steps.sort_by_key(|s| s.at);
    body.push_str("<h2>Timeline</h2><table id=\"timeline\"><thead><tr><th>When</th><th>Part</th><th>What</th><th>Who</th></tr></thead><tbody>");
    for st in &steps {
        let _ = write!(
            body,
            "<tr class=\"{part}\"><td>{}</td><td>{part}</td><td>{}</td><td>{}</td></tr>",
            when(st.at),
            esc(&st.what),
            esc(&st.who),
            part = st.part
        );
    }
    body.push_str("</tbody></table>");
    html(StatusCode::OK, layout(&signed.0, &format!("Order {}", o.external_id), &body))
}

/// Tasks are for the role they name; the admin sees every role's.
pub async fn tasks(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let role = match signed.0.role {
        Role::Admin => q.get("role").filter(|r| !r.is_empty()).cloned(),
        r => Some(r.as_str().to_owned()),
    };
    let status = q.get("status").filter(|v| !v.is_empty()).cloned();
    let query = codflow_app::tasks::TaskQuery { role: role.clone(), status: status.clone(), ..Default::default() };
    let (list, _) = match s.app.tracking().tasks(&query, 500, None).await {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let now = s.app.clock().now();
    let header = ["task", "kind", "role", "status", "order", "due", "sla", "title"];
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|t| {
            let sla = if t.status == codflow_app::tasks::TaskStatus::Done {
                "done"
            } else if t.due_at < now {
                "overdue"
            } else if t.due_at < now + time::Duration::hours(4) {
                "due_soon"
            } else {
                "on_time"
            };
            vec![
                t.id.to_string(),
                t.kind.as_str().to_owned(),
                t.role.as_str().to_owned(),
                t.status.as_str().to_owned(),
                t.order_id.as_ref().map(|o| o.to_string()).unwrap_or_default(),
                when(t.due_at),
                sla.to_owned(),
                t.title.clone(),
            ]
        })
        .collect();
    match q.get("format").map(String::as_str) {
        Some("csv") => return table_download("tasks", false, &header, &rows),
        Some("xlsx") => return table_download("tasks", true, &header, &rows),
        _ => {}
    }
    let keep = [("role", role.as_deref().unwrap_or("")), ("status", status.as_deref().unwrap_or(""))];
    let mut body = format!(
        "<form class=\"filters\" method=\"get\" action=\"/tasks\"><select name=\"status\">{}</select>{}\
         <button type=\"submit\">Filter</button> <a href=\"/tasks?{csv}\">Export CSV</a> <a href=\"/tasks?{xlsx}\">Export XLSX</a></form>",
        ["", "open", "in_progress", "done"]
            .iter()
            .map(|v| format!(
                "<option value=\"{v}\"{}>{}</option>",
                if Some(*v) == status.as_deref() { " selected" } else { "" },
                if v.is_empty() { "any status" } else { v }
            ))
            .collect::<String>(),
        if signed.0.role == Role::Admin {
            format!(
                "<input name=\"role\" placeholder=\"role\" value=\"{}\" size=\"8\">",
                esc(role.as_deref().unwrap_or(""))
            )
        } else {
            String::new()
        },
        csv = esc(&query_string(&[keep[0], keep[1], ("format", "csv")])),
        xlsx = esc(&query_string(&[keep[0], keep[1], ("format", "xlsx")])),
    );
    if rows.is_empty() {
        body.push_str("<p class=\"muted\">No task waits for your role.</p>");
    } else {
        body.push_str("<table id=\"tasks\"><thead><tr><th>Due</th><th>Task</th><th>Kind</th><th>Status</th><th>Order</th></tr></thead><tbody>");
        for r in &rows {
            let order = if r[4].is_empty() {
                String::new()
            } else {
                format!("<a href=\"/orders/{o}\">{o}</a>", o = esc(&r[4]))
            };
            let _ = write!(
                body,
                "<tr class=\"sla-{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{order}</td></tr>",
                r[6],
                esc(&r[5]),
                esc(&r[7]),
                esc(&r[1]),
                esc(&r[3]),
            );
        }
        body.push_str("</tbody></table><p class=\"muted\">Red: past due. Amber: due within four hours.</p>");
    }
    html(StatusCode::OK, layout(&signed.0, "Tasks", &body))
}
