//! The finance page: profit by country with totals, largest first, losses as negative amounts; the orders
//! left out for a missing exchange rate, named with a form to enter each rate; COD the carriers still owe,
//! linked to the parcels behind each figure.
//!
//! Actual profit is worked out order by order from what each parcel's money became (a pass over every order:
//! over eight minutes of one core at a million), so the page shows the last report computed, with the time it
//! is as of. A view starts a new computation when the report is older than [`FRESH_FOR`] (or ten times what the
//! last one took, so a large book spends at most a tenth of a core on it) or something it counts was changed
//! here (a rate entered), and waits for it up to [`WAIT_FOR`]: a seller with a few thousand orders always sees
//! it fresh, a large one sees the previous figures at once and the new ones on a later view.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_app::profit::ProfitReport;
use codflow_domain::finance::profit::Dimension;
use codflow_domain::{Money, Role};
use serde::Deserialize;

use super::render::Amount;
use super::{Signed, redirect};
use crate::state::AppState;

/// Finance pages are finance's (and the admin's).
const FINANCE: &[Role] = &[Role::Finance];

/// How long a report counts as fresh.
const FRESH_FOR: Duration = Duration::from_secs(10 * 60);
/// How long a view waits for a report being computed before it shows the previous one.
const WAIT_FOR: Duration = Duration::from_secs(2);

/// The last profit report computed for the finance page, and the computation under way, if any.
#[derive(Default)]
pub struct ProfitSnapshot {
    state: Mutex<SnapshotState>,
    done: tokio::sync::Notify,
}

#[derive(Default)]
struct SnapshotState {
    /// The report, when it was worked out (shown) and finished (for its age), and how long it took.
    report: Option<(Arc<ProfitReport>, time::OffsetDateTime, Instant, Duration)>,
    computing: bool,
    stale: bool,
}

impl ProfitSnapshot {
    /// The next view recomputes (something the report counts has changed).
    pub fn invalidate(&self) {
        self.lock().stale = true;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SnapshotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The freshest report there is within [`WAIT_FOR`], starting a computation when the last is old or stale
    /// and none is under way; None while the first one is still being computed.
    async fn current(
        s: &Arc<AppState>,
    ) -> Result<Option<(Arc<ProfitReport>, time::OffsetDateTime, bool)>, codflow_app::Error> {
        let snap = &s.profit;
        let waiting = snap.done.notified();
        tokio::pin!(waiting);
        let start = {
            let mut st = snap.lock();
            let old =
                st.report.as_ref().is_none_or(|(_, _, at, took)| at.elapsed() > FRESH_FOR.max(*took * 10)) || st.stale;
            let start = old && !st.computing;
            if start {
                st.computing = true;
                st.stale = false;
            }
            waiting.as_mut().enable();
            start
        };
        if start {
            let state = Arc::clone(s);
            tokio::spawn(async move {
                let started = Instant::now();
                let computed = state.app.finance().profit_report(&Default::default(), Dimension::Country, |_| {}).await;
                let at = state.app.clock().now();
                let mut st = state.profit.lock();
                st.computing = false;
                match computed {
                    Ok(r) => st.report = Some((Arc::new(r), at, Instant::now(), started.elapsed())),
                    Err(e) => tracing::error!(error = %e, "the finance page's profit report"),
                }
                drop(st);
                state.profit.done.notify_waiters();
            });
        }
        let computing = snap.lock().computing;
        if computing {
            let _ = tokio::time::timeout(WAIT_FOR, waiting).await;
        }
        let st = snap.lock();
        Ok(st.report.as_ref().map(|(r, at, ..)| (Arc::clone(r), *at, st.computing)))
    }
}

#[derive(Deserialize, Default)]
pub struct Shown {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn page(State(s): State<Arc<AppState>>, signed: Signed, Query(q): Query<Shown>) -> Response {
    if let Some(r) = signed.refused(FINANCE) {
        return r;
    }
    let (report, as_of, refreshing) = match ProfitSnapshot::current(&s).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            let ctx = minijinja::context! { message => signed.t("profit-computing"), detail => "" };
            return signed.page(StatusCode::OK, "error.html", &signed.t("nav-finance"), ctx);
        }
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
        as_of => super::render::secs(as_of),
        refreshing,
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
        Ok(_) => {
            s.profit.invalidate();
            redirect("/finance?saved=1")
        }
        Err(e) => signed.fail(e),
    }
}
