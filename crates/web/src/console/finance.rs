//! The finance page: profit by country with totals, largest first, losses as negative amounts; the orders
//! left out for a missing exchange rate, named with a form to enter each rate; COD the carriers still owe,
//! linked to the parcels behind each figure.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_domain::finance::profit::Dimension;
use codflow_domain::{Money, Role};
use serde::Deserialize;

use super::render::Amount;
use super::{Signed, redirect};
use crate::state::AppState;

/// Finance pages are finance's (and the admin's).
const FINANCE: &[Role] = &[Role::Finance];

#[derive(Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn page(State(s): State<Arc<AppState>>, signed: Signed, Query(q): Query<Shown>) -> Response {
    if let Some(r) = signed.refused(FINANCE) {
        return r;
    }
    let report = match s.app.finance().profit_report(&Default::default(), Dimension::Country, |_| {}).await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let aging = match s.app.finance().receivables_aging().await {
        Ok(a) => a,
        Err(e) => return signed.fail(e),
    };
    let base = report.base_currency;
    let m = |v: i64| Amount::from(Money::new(v, base));
    let mut groups = report.groups.clone();
    groups.sort_by(|a, b| b.actual.profit.cmp(&a.actual.profit).then(b.expected.profit.cmp(&a.expected.profit)));
    let sum = |f: &dyn Fn(&codflow_domain::finance::profit::Group) -> i64| groups.iter().map(f).sum::<i64>();
    let rows: Vec<_> = groups
        .iter()
        .map(|g| {
            minijinja::context! {
                key => g.key.clone(), orders => g.orders, settled => g.settled, loss_making => g.loss_making,
                expected => m(g.expected.profit), actual => m(g.actual.profit),
            }
        })
        .collect();
    let totals = minijinja::context! {
        orders => sum(&|g| g.orders), settled => sum(&|g| g.settled), loss_making => sum(&|g| g.loss_making),
        expected => m(sum(&|g| g.expected.profit)), actual => m(sum(&|g| g.actual.profit)),
    };
    let missing: Vec<_> = report
        .missing_rates
        .iter()
        .map(|r| minijinja::context! { from => r.from.code(), to => r.to.code(), earliest => r.earliest.to_string() })
        .collect();
    let owed: Vec<_> = aging
        .iter()
        .map(|r| {
            let money = |minor: i64| Amount::from(Money::new(minor, r.currency));
            minijinja::context! {
                carrier => r.carrier.clone(), currency => r.currency.code(), parcels => r.total.parcels,
                amount => money(r.total.amount_minor), overdue => money(r.overdue.amount_minor),
                overdue_parcels => r.overdue.parcels,
            }
        })
        .collect();
    let ctx = minijinja::context! {
        base => base.code(),
        orders => report.orders,
        skipped => report.skipped,
        missing,
        rows,
        totals,
        owed,
        flash => q.saved.map(|_| signed.t("rate-saved")),
    };
    signed.page(StatusCode::OK, "finance.html", &signed.t("nav-finance"), ctx)
}

#[derive(Deserialize)]
pub struct RateForm {
    csrf: String,
    from: String,
    to: String,
    rate: String,
    as_of: String,
    #[serde(default)]
    source: String,
}

/// Enters one exchange rate from the finance page; the figures count the orders it brings in at once.
pub async fn put_rate(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<RateForm>) -> Response {
    if let Some(r) = signed.may_post(&[Role::Finance, Role::Ops], &f.csrf) {
        return r;
    }
    let source = if f.source.trim().is_empty() { format!("entered by {}", signed.0.username) } else { f.source };
    match s.app.review().put_fx_rate_text(&f.from, Some(&f.to), &f.rate, &f.as_of, &source).await {
        Ok(_) => redirect("/finance?saved=1"),
        Err(e) => signed.fail(e),
    }
}
