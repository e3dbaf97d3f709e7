//! The dashboards over the sums kept with the data: rejections, profit, customs and the carrier scorecard.
//! Every filter narrows every figure on a page, every figure links to the orders behind it, every table has
//! a grand total and downloads whole; charts are sorted by size with losses drawn left of zero.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_app::kpi::Filter;
use codflow_domain::kpi::{Dim, Metrics, Ratio, ScoreWeights};
use codflow_domain::{Money, Role};
use minijinja::Value;
use time::Date;

use super::chart::{self, Mark};
use super::pages::query_string;
use super::render::{Amount, group};
use super::{Signed, redirect};
use crate::state::AppState;

/// Who may read the operational dashboards (every role but warehouse); the money ones are finance's.
pub const DASHBOARD_READERS: &[Role] = &[Role::Ops, Role::Finance, Role::Viewer];
pub const MONEY_READERS: &[Role] = &[Role::Finance];

const DIMENSIONS: [&str; 8] = ["from", "to", "store", "country", "region", "channel", "carrier", "sku"];

fn day_of(d: Date) -> i64 {
    d.to_julian_day() as i64 - 2_440_588
}

pub(super) fn date_of(day: i64) -> Option<Date> {
    Date::from_julian_day((day + 2_440_588) as i32).ok()
}

/// The filter a dashboard request names, with the last 90 days when it names no dates.
pub fn filter_of(q: &HashMap<String, String>, today: Date) -> Filter {
    let mut f = exact_filter_of(q);
    let to = f.to_day.unwrap_or(day_of(today));
    f.to_day = Some(to);
    f.from_day = Some(f.from_day.unwrap_or(to - 90));
    f
}

/// The filter exactly as a request names it (no dates, no bound; a date that does not parse is ignored).
pub fn exact_filter_of(q: &HashMap<String, String>) -> Filter {
    crate::routes::dashboards::parse_filter(&crate::routes::dashboards::DashQuery::of_form(q)).0
}

/// The filter as query pairs, so links keep it.
fn pairs(f: &Filter) -> Vec<(&'static str, String)> {
    let d = |v: Option<i64>| v.and_then(date_of).map(|d| d.to_string()).unwrap_or_default();
    vec![
        ("from", d(f.from_day)),
        ("to", d(f.to_day)),
        ("store", f.store.clone().unwrap_or_default()),
        ("country", f.country.clone().unwrap_or_default()),
        ("region", f.region.clone().unwrap_or_default()),
        ("channel", f.channel.clone().unwrap_or_default()),
        ("carrier", f.carrier.clone().unwrap_or_default()),
        ("sku", f.sku.clone().unwrap_or_default()),
    ]
}

/// The orders behind a figure: the filter, narrowed by `narrow` (dimension, value), counting in `figure`.
pub fn orders_href(f: &Filter, narrow: &[(&str, &str)], figure: Option<&str>) -> String {
    let mut p = pairs(f);
    for (k, v) in narrow {
        if let Some(slot) = p.iter_mut().find(|(name, _)| name == k) {
            slot.1 = (*v).to_owned();
        }
    }
    let mut refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if let Some(fig) = figure {
        refs.push(("figure", fig));
    }
    format!("/orders?{}", query_string(&refs))
}

/// The filter (and grouping) as the template's query map: the form's values and the exports' links.
pub(super) fn filter_values(f: &Filter, by: Option<&str>) -> Value {
    let mut m: BTreeMap<&str, String> = pairs(f).into_iter().collect();
    if let Some(b) = by {
        m.insert("by", b.to_owned());
    }
    Value::from_serialize(&m)
}

/// The table as a download when the request asks for `format=csv|xlsx`.
pub(super) fn export(
    q: &HashMap<String, String>,
    name: &str,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> Option<Response> {
    match q.get("format").map(String::as_str) {
        Some("csv") => Some(super::pages::table_download(name, false, header, &rows)),
        Some("xlsx") => Some(super::pages::table_download(name, true, header, &rows)),
        _ => None,
    }
}

fn ratio_cells(r: Option<Ratio>) -> [String; 2] {
    match r {
        Some(r) => [format!("{}.{:04}", r.ppm / 10_000, r.ppm % 10_000), r.n.to_string()],
        None => [String::new(), "0".into()],
    }
}

fn pct(r: Option<Ratio>) -> String {
    r.map(|r| r.percent()).unwrap_or_else(|| "–".into())
}

fn count(n: i64) -> String {
    group(n.unsigned_abs(), n < 0)
}

/// A count and the orders behind it, for the templates' `linked` macro.
fn counted(n: i64, href: String) -> Value {
    minijinja::context! { n, href }
}

/// A chart drawn by [`chart`], whose every label and value is escaped where it is written.
fn svg(drawn: String) -> Value {
    Value::from_safe_string(drawn)
}

pub(super) fn today(s: &AppState) -> Date {
    s.app.clock().now().date()
}

/// The dimension a rejections table is grouped by, and the key columns it reads.
fn grouping(by: &str) -> (&'static str, &'static [Dim], bool) {
    match by {
        "region" => ("region", &[Dim::Country, Dim::Region], false),
        "sku" => ("sku", &[Dim::Sku], true),
        "channel" => ("channel", &[Dim::Channel], false),
        _ => ("country", &[Dim::Country], false),
    }
}

fn narrow_of<'a>(cols: &[Dim], key: &'a [String]) -> Vec<(&'static str, &'a str)> {
    cols.iter().map(|d| d.as_str()).zip(key.iter().map(String::as_str)).collect()
}

fn weekly(rows: &[(Vec<String>, Metrics)]) -> BTreeMap<i64, Metrics> {
    let mut weeks: BTreeMap<i64, Metrics> = BTreeMap::new();
    for (k, m) in rows {
        if let Some(day) = k.first().and_then(|d| d.parse::<i64>().ok()) {
            // Weeks start on Monday; 1970-01-01 was a Thursday.
            weeks.entry(day - (day + 3).rem_euclid(7)).or_default().add(m);
        }
    }
    weeks
}

fn sum<'a>(all: impl IntoIterator<Item = &'a Metrics>) -> Metrics {
    let mut total = Metrics::default();
    for m in all {
        total.add(m);
    }
    total
}

pub async fn rejections(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(DASHBOARD_READERS) {
        return r;
    }
    let f = filter_of(&q, today(&s));
    let (by, cols, by_sku) = grouping(q.get("by").map(String::as_str).unwrap_or("country"));
    let rows = match s.app.insights().kpi_sums(&f, cols, by_sku).await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    // By day each parcel counts once, also when grouped by SKU: the trend and the grand total read these.
    let (trend, total) = match s.app.insights().kpi_sums(&f, &[Dim::Day], false).await {
        Ok(r) => (weekly(&r), sum(r.iter().map(|(_, m)| m))),
        Err(e) => return signed.fail(e),
    };
    let mut rows: Vec<_> = rows.into_iter().filter(|(_, m)| m.shipped() > 0).collect();
    rows.sort_by(|a, b| {
        let rate = |m: &Metrics| m.refusal_rate().map(|r| r.ppm).unwrap_or(-1);
        rate(&b.1).cmp(&rate(&a.1)).then_with(|| a.0.cmp(&b.0))
    });
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, m)| {
            let [rr, rn] = ratio_cells(m.refusal_rate());
            let [tr, _] = ratio_cells(m.return_rate());
            let n = |v: i64| v.to_string();
            vec![k.join(" / "), n(m.shipped()), n(m.delivered()), n(m.refused()), n(m.returned()), rr, rn, tr]
        })
        .collect();
    let header = [by, "shipped", "delivered", "refused", "returned", "refusal_rate_pct", "finished", "return_rate_pct"];
    if let Some(r) = export(&q, "rejections", &header, table) {
        return r;
    }
    let refused_of = |r: Ratio| signed.t_with("refused-of-finished", &[("rate", &r.percent()), ("n", &count(r.n))]);
    let marks: Vec<Mark> = rows
        .iter()
        .filter_map(|(k, m)| {
            let r = m.refusal_rate()?;
            Some(Mark {
                label: k.join(" / "),
                value: r.ppm,
                text: refused_of(r),
                href: Some(orders_href(&f, &narrow_of(cols, k), Some("refused"))),
            })
        })
        .take(25)
        .collect();
    let trend_marks: Vec<Mark> = trend
        .iter()
        .filter_map(|(week, m)| {
            let r = m.refusal_rate()?;
            let start = date_of(*week)?;
            let mut wf = f.clone();
            wf.from_day = Some((*week).max(f.from_day.unwrap_or(*week)));
            wf.to_day = Some((week + 6).min(f.to_day.unwrap_or(week + 6)));
            Some(Mark {
                label: start.to_string(),
                value: r.ppm,
                // The line's axis prints the highest mark's text, so it is the bare rate.
                text: r.percent(),
                href: Some(orders_href(&wf, &[], Some("refused"))),
            })
        })
        .collect();
    let figures = |m: &Metrics, n: &[(&str, &str)]| {
        minijinja::context! {
            shipped => counted(m.shipped(), orders_href(&f, n, Some("shipped"))),
            delivered => counted(m.delivered(), orders_href(&f, n, Some("delivered"))),
            refused => counted(m.refused(), orders_href(&f, n, Some("refused"))),
            returned => counted(m.returned(), orders_href(&f, n, Some("returned"))),
            refusal_rate => pct(m.refusal_rate()),
            return_rate => pct(m.return_rate()),
        }
    };
    let shown: Vec<Value> = rows
        .iter()
        .map(|(k, m)| {
            minijinja::context! { key => k.join(" / "), ..figures(m, &narrow_of(cols, k)) }
        })
        .collect();
    let title = signed.t("refusal-rate");
    let ctx = minijinja::context! {
        f => filter_values(&f, Some(by)),
        options => ["country", "region", "sku", "channel"],
        rows => shown,
        total => figures(&total, &[]),
        bars => svg(chart::bars(&title, &chart::by_size(marks))),
        trend => svg(chart::line(&signed.t("trend-by-week"), &trend_marks)),
    };
    signed.page(StatusCode::OK, "rejections.html", &signed.t("nav-rejections"), ctx)
}

pub async fn customs(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(DASHBOARD_READERS) {
        return r;
    }
    let f = filter_of(&q, today(&s));
    let cols: &[Dim] = &[Dim::Country, Dim::Channel];
    let rows = match s.app.insights().kpi_sums(&f, cols, false).await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let clearance = match s.app.insights().kpi_clearance(&f, cols).await {
        Ok(c) => c,
        Err(e) => return signed.fail(e),
    };
    let mut rows: Vec<_> = rows.into_iter().filter(|(k, m)| m.shipped() > 0 && !k[1].is_empty()).collect();
    rows.sort_by(|a, b| {
        let rate = |m: &Metrics| m.customs_abnormal_rate().map(|r| r.ppm).unwrap_or(-1);
        rate(&b.1).cmp(&rate(&a.1)).then_with(|| a.0.cmp(&b.0))
    });
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, m)| {
            let [ar, _] = ratio_cells(m.customs_abnormal_rate());
            let median = clearance.get(k).map(|(h, _)| h.to_string()).unwrap_or_default();
            let n = |v: i64| v.to_string();
            let (held, delayed, cleared) = (n(m.customs_held()), n(m.customs_delayed()), n(m.cleared()));
            vec![k[0].clone(), k[1].clone(), n(m.shipped()), held, delayed, ar, cleared, median]
        })
        .collect();
    let header =
        ["country", "channel", "shipped", "held", "delayed", "abnormal_rate_pct", "cleared", "median_clearance_h"];
    if let Some(r) = export(&q, "customs", &header, table) {
        return r;
    }
    let marks: Vec<Mark> = rows
        .iter()
        .filter_map(|(k, m)| {
            let r = m.customs_abnormal_rate()?;
            Some(Mark {
                label: k.join(" / "),
                value: r.ppm,
                text: signed.t_with("abnormal-of-shipped", &[("rate", &r.percent()), ("n", &count(r.n))]),
                href: Some(orders_href(&f, &narrow_of(cols, k), Some("customs_held"))),
            })
        })
        .take(25)
        .collect();
    let figures = |m: &Metrics, n: &[(&str, &str)]| {
        minijinja::context! {
            shipped => counted(m.shipped(), orders_href(&f, n, Some("shipped"))),
            held => counted(m.customs_held(), orders_href(&f, n, Some("customs_held"))),
            delayed => counted(m.customs_delayed(), orders_href(&f, n, Some("customs_delayed"))),
            rate => pct(m.customs_abnormal_rate()),
            cleared => m.cleared(),
        }
    };
    let total = sum(rows.iter().map(|(_, m)| m));
    let shown: Vec<Value> = rows
        .iter()
        .map(|(k, m)| {
            let median_h = clearance.get(k).map(|(h, _)| *h);
            minijinja::context! {
                country => k[0].clone(), channel => k[1].clone(), median_h, ..figures(m, &narrow_of(cols, k))
            }
        })
        .collect();
    let ctx = minijinja::context! {
        f => filter_values(&f, None),
        rows => shown,
        total => figures(&total, &[]),
        bars => svg(chart::bars(&signed.t("customs-abnormal"), &chart::by_size(marks))),
    };
    signed.page(StatusCode::OK, "customs.html", &signed.t("nav-customs"), ctx)
}

fn days_x10(d: i64) -> String {
    format!("{}.{}", d / 10, d % 10)
}

pub async fn carriers(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(DASHBOARD_READERS) {
        return r;
    }
    let f = filter_of(&q, today(&s));
    let card = match s.app.insights().scorecard(&f).await {
        Ok(c) => c,
        Err(e) => return signed.fail(e),
    };
    let base = match s.app.review().base_currency().await {
        Ok(b) => b,
        Err(e) => return signed.fail(e),
    };
    let table: Vec<Vec<String>> = card
        .carriers
        .iter()
        .map(|r| ("carrier", r))
        .chain(card.channels.iter().map(|r| ("channel", r)))
        .map(|(kind, r)| {
            let m = &r.metrics;
            vec![
                kind.to_owned(),
                r.key.clone(),
                m.shipped().to_string(),
                ratio_cells(m.sign_in_rate())[0].clone(),
                m.mean_transit_days_x10().map(days_x10).unwrap_or_default(),
                ratio_cells(m.refusal_rate())[0].clone(),
                ratio_cells(m.customs_abnormal_rate())[0].clone(),
                m.mean_task_hours().map(|h| h.to_string()).unwrap_or_default(),
                r.settlement_days.map(|d| d.to_string()).unwrap_or_default(),
                m.cost_per_parcel_minor().map(|c| Money::new(c, base).amount_string()).unwrap_or_default(),
                r.score.to_string(),
            ]
        })
        .collect();
    let header = [
        "kind",
        "key",
        "shipped",
        "sign_in_rate_pct",
        "transit_days",
        "refusal_rate_pct",
        "customs_abnormal_pct",
        "exception_hours",
        "settlement_days",
        "cost_per_parcel",
        "score",
    ];
    if let Some(r) = export(&q, "scorecard", &header, table) {
        return r;
    }
    let marks: Vec<Mark> = card
        .carriers
        .iter()
        .map(|r| Mark {
            label: r.key.clone(),
            value: r.score,
            text: r.score.to_string(),
            href: Some(orders_href(&f, &[("carrier", &r.key)], Some("shipped"))),
        })
        .collect();
    let rows_of = |rows: &[codflow_app::kpi::ScoreRow], dim: &str| -> Vec<Value> {
        rows.iter()
            .map(|r| {
                let m = &r.metrics;
                minijinja::context! {
                    key => r.key.clone(),
                    shipped => counted(m.shipped(), orders_href(&f, &[(dim, &r.key)], Some("shipped"))),
                    sign_in => pct(m.sign_in_rate()),
                    transit => m.mean_transit_days_x10().map(days_x10),
                    refusal => pct(m.refusal_rate()),
                    customs => pct(m.customs_abnormal_rate()),
                    task_h => m.mean_task_hours(),
                    cycle => r.settlement_days,
                    cost => m.cost_per_parcel_minor().map(|c| Amount::from(Money::new(c, base))),
                    score => r.score,
                }
            })
            .collect()
    };
    let lanes: Vec<Value> = card
        .lanes
        .iter()
        .map(|l| minijinja::context! { country => l.country.clone(), main => l.main.clone(), backup => l.backup.clone() })
        .collect();
    let w = &card.weights;
    let weights: Vec<Value> = [
        ("sign_in", w.sign_in),
        ("transit", w.transit),
        ("refusal", w.refusal),
        ("customs", w.customs),
        ("exceptions", w.exceptions),
        ("settlement", w.settlement),
        ("cost", w.cost),
    ]
    .into_iter()
    .map(|(name, value)| minijinja::context! { name, value })
    .collect();
    let claims = match s.app.finance().claims_by_carrier().await {
        Ok(c) => super::claims::carrier_rows(&c),
        Err(e) => return signed.fail(e),
    };
    let ctx = minijinja::context! {
        f => filter_values(&f, None),
        claims,
        bars => svg(chart::bars(&signed.t("score"), &chart::by_size(marks))),
        carriers => rows_of(&card.carriers, "carrier"),
        channels => rows_of(&card.channels, "channel"),
        lanes,
        weights,
        may_weigh => matches!(signed.0.role, Role::Admin | Role::Ops),
    };
    signed.page(StatusCode::OK, "carriers.html", &signed.t("nav-carriers"), ctx)
}

pub async fn save_weights(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.may_post(&[Role::Ops], form.get("csrf").map(String::as_str).unwrap_or("")) {
        return r;
    }
    let n = |k: &str| form.get(k).and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(-1);
    let w = ScoreWeights {
        sign_in: n("sign_in"),
        transit: n("transit"),
        refusal: n("refusal"),
        customs: n("customs"),
        exceptions: n("exceptions"),
        settlement: n("settlement"),
        cost: n("cost"),
    };
    match s.app.insights().set_score_weights(w, &codflow_domain::Actor::User(signed.0.id.clone())).await {
        Ok(_) => redirect("/dashboards/carriers"),
        Err(e) => signed.fail(e),
    }
}

pub async fn profit(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(MONEY_READERS) {
        return r;
    }
    let f = filter_of(&q, today(&s));
    let asked = q.get("by").map(String::as_str);
    let by = ["channel", "store", "month", "sku"].into_iter().find(|b| asked == Some(*b)).unwrap_or("country");
    let dim = Dim::parse(by).unwrap_or(Dim::Country);
    let cols: &[Dim] = if by == "month" { &[Dim::Day] } else { std::slice::from_ref(&dim) };
    // By SKU, each order's money is split over its SKUs by line value; the order counts once per SKU.
    let raw = match s.app.insights().kpi_sums(&f, cols, by == "sku").await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let base = match s.app.review().base_currency().await {
        Ok(b) => b,
        Err(e) => return signed.fail(e),
    };
    // Months fold the daily rows; their links cover the month's days inside the filter.
    let mut rows: Vec<(String, Metrics, Filter)> = if by == "month" {
        let mut months: BTreeMap<String, (Metrics, i64, i64)> = BTreeMap::new();
        for (k, m) in &raw {
            let Some(day) = k[0].parse::<i64>().ok() else { continue };
            let Some(d) = date_of(day) else { continue };
            let e =
                months.entry(format!("{}-{:02}", d.year(), d.month() as u8)).or_insert((Metrics::default(), day, day));
            e.0.add(m);
            e.1 = e.1.min(day);
            e.2 = e.2.max(day);
        }
        months
            .into_iter()
            .map(|(k, (m, lo, hi))| (k, m, Filter { from_day: Some(lo), to_day: Some(hi), ..f.clone() }))
            .collect()
    } else {
        raw.into_iter()
            .map(|(k, m)| {
                let mut nf = f.clone();
                let v = Some(k[0].clone());
                match by {
                    "channel" => nf.channel = v,
                    "store" => nf.store = v,
                    "sku" => nf.sku = v,
                    _ => nf.country = v,
                }
                (k[0].clone(), m, nf)
            })
            .collect()
    };
    if by != "month" {
        rows.sort_by(|a, b| b.1.profit_minor().cmp(&a.1.profit_minor()).then_with(|| a.0.cmp(&b.0)));
    }
    let money = |v: i64| Amount::from(Money::new(v, base));
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, m, _)| {
            vec![
                k.clone(),
                m.orders().to_string(),
                Money::new(m.cost_minor(), base).amount_string(),
                Money::new(m.profit_minor(), base).amount_string(),
                m.loss_orders().to_string(),
            ]
        })
        .collect();
    let header = [by, "orders", "landed_cost", "expected_profit", "loss_makers"];
    if let Some(r) = export(&q, "profit", &header, table) {
        return r;
    }
    let shown_money = |v: i64| super::render::format_money(v, base.code(), base.minor_digits());
    let marks: Vec<Mark> = rows
        .iter()
        .map(|(k, m, nf)| Mark {
            label: k.clone(),
            value: m.profit_minor(),
            text: shown_money(m.profit_minor()),
            href: Some(orders_href(nf, &[], None)),
        })
        .collect();
    let marks = if by == "month" { marks } else { chart::by_size(marks) };
    // Each order counts once in the distribution and the grand total; by SKU an order is under several rows,
    // so they are read by lane.
    let lanes = if by == "sku" {
        match s.app.insights().kpi_sums(&f, &[Dim::Country], false).await {
            Ok(r) => r.into_iter().map(|(_, m)| m).collect(),
            Err(e) => return signed.fail(e),
        }
    } else {
        rows.iter().map(|(_, m, _)| *m).collect::<Vec<Metrics>>()
    };
    let mut dist = [0i64; 8];
    for m in &lanes {
        for (d, v) in dist.iter_mut().zip(m.profit_distribution()) {
            *d += v;
        }
    }
    let total = sum(&lanes);
    let bound = |i: usize| shown_money(codflow_domain::kpi::PROFIT_BOUNDS[i]);
    let dist_marks: Vec<Mark> = dist
        .iter()
        .enumerate()
        .map(|(i, n)| Mark {
            label: match i {
                0 => signed.t_with("profit-below", &[("amount", &bound(0))]),
                7 => signed.t_with("profit-at-least", &[("amount", &bound(6))]),
                _ => signed.t_with("profit-between", &[("low", &bound(i - 1)), ("high", &bound(i))]),
            },
            value: *n,
            text: signed.t_with("n-orders", &[("n", &count(*n))]),
            href: Some(orders_href(&f, &[], Some(&format!("profit_b{i}")))),
        })
        .collect();
    let figures = |m: &Metrics, nf: &Filter| {
        minijinja::context! {
            orders => counted(m.orders(), orders_href(nf, &[], None)),
            cost => money(m.cost_minor()),
            profit => money(m.profit_minor()),
            per_order => m.profit_per_order().map(money),
            losses => counted(m.loss_orders(), orders_href(nf, &[], Some("loss_orders"))),
        }
    };
    let shown: Vec<Value> =
        rows.iter().map(|(k, m, nf)| minijinja::context! { key => k.clone(), ..figures(m, nf) }).collect();
    let ctx = minijinja::context! {
        f => filter_values(&f, Some(by)),
        options => ["country", "channel", "store", "month", "sku"],
        base => base.code(),
        rows => shown,
        total => figures(&total, &f),
        bars => svg(chart::bars(&signed.t("expected-profit"), &marks)),
        distribution => svg(chart::bars(&signed.t("orders"), &dist_marks)),
    };
    signed.page(StatusCode::OK, "profit.html", &signed.t("nav-profit"), ctx)
}

/// Whether a request for the orders page names a dashboard figure or dimension beyond what the plain
/// order filters know (status, country, search), and so lists the orders behind a figure.
/// The keys naming an aging row's orders: the carrier owing, the currency and whether only past the cycle.
pub const OWED_KEYS: [&str; 3] = ["owed_by", "owed_currency", "past_cycle"];

/// The orders behind an aging row (all that is owed, or what is past the settlement cycle).
pub fn owed_href(carrier: &str, currency: codflow_domain::Currency, past_cycle: bool) -> String {
    let pairs =
        [("owed_by", carrier), ("owed_currency", currency.code()), ("past_cycle", if past_cycle { "1" } else { "" })];
    format!("/orders?{}", super::pages::query_string(&pairs))
}

pub fn names_a_figure(q: &HashMap<String, String>) -> bool {
    q.get("owed_by").is_some_and(|v| !v.trim().is_empty())
        || q.iter()
            .any(|(k, v)| !v.trim().is_empty() && k != "country" && (DIMENSIONS.contains(&k.as_str()) || k == "figure"))
}

/// The dashboard keys of a request, for links and exports that must keep them.
pub fn figure_pairs(q: &HashMap<String, String>) -> Vec<(&'static str, String)> {
    DIMENSIONS
        .iter()
        .chain(["figure"].iter())
        .chain(OWED_KEYS.iter())
        .filter_map(|k| q.get(*k).filter(|v| !v.trim().is_empty()).map(|v| (*k, v.clone())))
        .collect()
}
