//! The review queue: held orders, oldest first, paged with counts, filtered by reason or rule, country, amount
//! and age, with links to each order and the bulk actions above the table.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_domain::Role;
use minijinja::Value;

use super::Signed;
use super::orders::{FILTER_KEYS, OrderRow, PAGE, PageInfo, bulk_flash, kept, select_orders};
use crate::state::AppState;

/// Held orders are ops' (and the admin's) to decide.
pub(super) const REVIEWERS: &[Role] = &[Role::Ops];

pub async fn queue(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(mut q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(REVIEWERS) {
        return r;
    }
    q.insert("status".into(), "on_hold".into());
    q.entry("sort".into()).or_insert_with(|| "placed".into());
    let (list, next, total) =
        match select_orders(&s, &signed, &q, PAGE, q.get("cursor").map(String::as_str), true).await {
            Ok(r) => r,
            Err(e) => return signed.fail(e),
        };
    let ids: Vec<codflow_domain::OrderId> = list.iter().map(|o| o.id.clone()).collect();
    let calls = match s.app.intake().call_summaries(&ids).await {
        Ok(c) => c,
        Err(e) => return signed.fail(e),
    };
    let rows: Vec<OrderRow> = list
        .iter()
        .map(|o| {
            let mut row = OrderRow::from(o);
            if let Some(c) = calls.get(&row.id) {
                row.calls = c.calls;
                row.last_call = c.last_outcome.clone();
            }
            row
        })
        .collect();
    let page = PageInfo::new(&q, rows.len(), total, next);
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let filter: Vec<(&str, &str)> = FILTER_KEYS.iter().filter_map(|k| q.get(*k).map(|v| (*k, v.as_str()))).collect();
    let ctx = minijinja::context! {
        q => kept(&q, &["why", "country", "currency", "min_total", "max_total", "older_than_days", "sort", "calls"]),
        f => minijinja::context! {
            why => get("why"), country => get("country"), currency => get("currency"),
            min_total => get("min_total"), max_total => get("max_total"), older_than_days => get("older_than_days"),
            sort => get("sort"), calls => get("calls"),
        },
        rows => Value::from_serialize(&rows),
        page => Value::from_serialize(&page),
        filter_query => super::pages::query_string(&filter),
        flash => bulk_flash(&signed, &q),
    };
    signed.page(StatusCode::OK, "review.html", &signed.t("nav-review"), ctx)
}
