//! The dashboards: cash flow, rejections, profit, customs, the carrier scorecard and recommendations. Every
//! figure is read from the sums kept with the data and links to the orders behind it.
//!
//! Over 600 lines for now: hand-built HTML that the console's templates (issue 25) replace page by page.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codflow_app::kpi::Filter;
use codflow_app::kpi::{Preview, Recommendation};
use codflow_domain::kpi::{Dim, Metrics, Ratio, ScoreWeights};
use codflow_domain::{Currency, Money, Role};
use time::Date;

use super::chart::{self, Mark};
use super::pages::{esc, layout, query_string};
use super::{Signed, html, redirect, same};
use crate::state::AppState;

/// Who may read the operational dashboards (every role but warehouse); the money ones are finance's.
pub const DASHBOARD_READERS: &[Role] = &[Role::Ops, Role::Finance, Role::Viewer];
pub const MONEY_READERS: &[Role] = &[Role::Finance];

const DIMENSIONS: [&str; 8] = ["from", "to", "store", "country", "region", "channel", "carrier", "sku"];

fn day_of(d: Date) -> i64 {
    d.to_julian_day() as i64 - 2_440_588
}

fn date_of(day: i64) -> Option<Date> {
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

fn filter_form(action: &str, f: &Filter, extra: &str) -> String {
    let p = pairs(f);
    let v = |k: &str| p.iter().find(|(n, _)| *n == k).map(|(_, v)| esc(v)).unwrap_or_default();
    format!(
        "<form class=\"filters\" method=\"get\" action=\"{action}\">\
         <label>From <input type=\"date\" name=\"from\" value=\"{}\"></label>\
         <label>To <input type=\"date\" name=\"to\" value=\"{}\"></label>\
         <input name=\"store\" placeholder=\"store\" value=\"{}\" size=\"8\">\
         <input name=\"country\" placeholder=\"country\" value=\"{}\" size=\"6\">\
         <input name=\"channel\" placeholder=\"channel\" value=\"{}\" size=\"10\">{extra}\
         <button type=\"submit\">Apply</button></form>",
        v("from"),
        v("to"),
        v("store"),
        v("country"),
        v("channel"),
    )
}

/// The table as a download when the request asks for `format=csv|xlsx`.
fn export(q: &HashMap<String, String>, name: &str, header: &[&str], rows: Vec<Vec<String>>) -> Option<Response> {
    match q.get("format").map(String::as_str) {
        Some("csv") => Some(super::pages::table_download(name, false, header, &rows)),
        Some("xlsx") => Some(super::pages::table_download(name, true, header, &rows)),
        _ => None,
    }
}

/// Links to the page's table as CSV and XLSX, with the page's filter and grouping.
fn export_links(path: &str, f: &Filter, by: Option<&str>) -> String {
    let p = pairs(f);
    let link = |format: &str| {
        let mut refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Some(b) = by {
            refs.push(("by", b));
        }
        refs.push(("format", format));
        format!("{path}?{}", query_string(&refs))
    };
    format!(
        "<p class=\"exports\"><a href=\"{}\">Export CSV</a> · <a href=\"{}\">Export XLSX</a></p>",
        esc(&link("csv")),
        esc(&link("xlsx"))
    )
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

fn link(href: &str, text: impl std::fmt::Display) -> String {
    format!("<a href=\"{}\">{}</a>", esc(href), esc(&text.to_string()))
}

fn today(s: &AppState) -> Date {
    s.app.clock().now().date()
}

fn fail(e: impl Into<crate::ApiError>) -> Response {
    e.into().into_response()
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
        Err(e) => return fail(e),
    };
    let trend = match s.app.insights().kpi_sums(&f, &[Dim::Day], false).await {
        Ok(r) => weekly(&r),
        Err(e) => return fail(e),
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
            vec![
                k.join(" / "),
                m.shipped().to_string(),
                m.delivered().to_string(),
                m.refused().to_string(),
                m.returned().to_string(),
                rr,
                rn,
                tr,
            ]
        })
        .collect();
    let header = [by, "shipped", "delivered", "refused", "returned", "refusal_rate_pct", "finished", "return_rate_pct"];
    if let Some(r) = export(&q, "rejections", &header, table) {
        return r;
    }
    let options: String = ["country", "region", "sku", "channel"]
        .iter()
        .map(|o| format!("<option value=\"{o}\"{}>by {o}</option>", if *o == by { " selected" } else { "" }))
        .collect();
    let mut body = filter_form("/dashboards/rejections", &f, &format!("<select name=\"by\">{options}</select>"));
    body.push_str(&export_links("/dashboards/rejections", &f, Some(by)));
    let marks: Vec<Mark> = rows
        .iter()
        .filter_map(|(k, m)| {
            let r = m.refusal_rate()?;
            Some(Mark {
                label: k.join(" / "),
                value: r.ppm,
                text: format!("{} refused of {} finished", r.percent(), r.n),
                href: Some(orders_href(&f, &narrow_of(cols, k), Some("refused"))),
            })
        })
        .take(25)
        .collect();
    body.push_str("<h2>Refusal rate</h2>");
    body.push_str(&chart::bars("Refusal rate", &chart::by_size(marks)));
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
                text: format!("{} of {}", r.percent(), r.n),
                href: Some(orders_href(&wf, &[], Some("refused"))),
            })
        })
        .collect();
    body.push_str("<h2>Trend by week</h2>");
    body.push_str(&chart::line("Refusal rate by week", &trend_marks));
    let _ = write!(
        body,
        "<h2>By {by}</h2><table id=\"rejections\"><thead><tr><th>{by}</th><th class=\"num\">Shipped</th>\
         <th class=\"num\">Delivered</th><th class=\"num\">Refused</th><th class=\"num\">Returned</th>\
         <th class=\"num\">Refusal rate</th><th class=\"num\">Return rate</th></tr></thead><tbody>"
    );
    for (k, m) in &rows {
        let n = narrow_of(cols, k);
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&k.join(" / ")),
            link(&orders_href(&f, &n, Some("shipped")), m.shipped()),
            link(&orders_href(&f, &n, Some("delivered")), m.delivered()),
            link(&orders_href(&f, &n, Some("refused")), m.refused()),
            link(&orders_href(&f, &n, Some("returned")), m.returned()),
            pct(m.refusal_rate()),
            pct(m.return_rate()),
        );
    }
    body.push_str("</tbody></table><p class=\"muted\">Refusal rate: refused out of parcels whose COD ended (delivered or refused). Return rate: returned out of shipped.</p>");
    html(StatusCode::OK, layout(&signed, "nav-rejections", &body))
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
        Err(e) => return fail(e),
    };
    let clearance = match s.app.insights().kpi_clearance(&f, cols).await {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let rows: Vec<_> = rows.into_iter().filter(|(k, m)| m.shipped() > 0 && !k[1].is_empty()).collect();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(k, m)| {
            let [ar, _] = ratio_cells(m.customs_abnormal_rate());
            let median = clearance.get(k).map(|(h, _)| h.to_string()).unwrap_or_default();
            vec![
                k[0].clone(),
                k[1].clone(),
                m.shipped().to_string(),
                m.customs_held().to_string(),
                m.customs_delayed().to_string(),
                ar,
                m.cleared().to_string(),
                median,
            ]
        })
        .collect();
    let header =
        ["country", "channel", "shipped", "held", "delayed", "abnormal_rate_pct", "cleared", "median_clearance_h"];
    if let Some(r) = export(&q, "customs", &header, table) {
        return r;
    }
    let mut body = filter_form("/dashboards/customs", &f, "");
    body.push_str(&export_links("/dashboards/customs", &f, None));
    let marks: Vec<Mark> = rows
        .iter()
        .filter_map(|(k, m)| {
            let r = m.customs_abnormal_rate()?;
            Some(Mark {
                label: k.join(" / "),
                value: r.ppm,
                text: format!("{} of {} shipped", r.percent(), r.n),
                href: Some(orders_href(&f, &narrow_of(cols, k), Some("customs_held"))),
            })
        })
        .collect();
    body.push_str("<h2>Customs abnormality rate by lane and channel</h2>");
    body.push_str(&chart::bars("Customs abnormality rate", &chart::by_size(marks)));
    body.push_str(
        "<table id=\"customs\"><thead><tr><th>Country</th><th>Channel</th><th class=\"num\">Shipped</th>\
         <th class=\"num\">Held</th><th class=\"num\">Delayed</th><th class=\"num\">Abnormality rate</th>\
         <th class=\"num\">Cleared</th><th class=\"num\">Median clearance</th></tr></thead><tbody>",
    );
    for (k, m) in &rows {
        let n = narrow_of(cols, k);
        let median = clearance.get(k).map(|(h, _)| format!("{h} h")).unwrap_or_else(|| "–".into());
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&k[0]),
            esc(&k[1]),
            link(&orders_href(&f, &n, Some("shipped")), m.shipped()),
            link(&orders_href(&f, &n, Some("customs_held")), m.customs_held()),
            link(&orders_href(&f, &n, Some("customs_delayed")), m.customs_delayed()),
            pct(m.customs_abnormal_rate()),
            m.cleared(),
            median,
        );
    }
    body.push_str("</tbody></table><p class=\"muted\">Abnormal: held by customs, or in customs longer than the lane's limit (tracking thresholds). Clearance: first customs scan to release.</p>");
    html(StatusCode::OK, layout(&signed, "nav-customs", &body))
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
        Err(e) => return fail(e),
    };
    let base = match s.app.review().base_currency().await {
        Ok(b) => b,
        Err(e) => return fail(e),
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
                m.mean_transit_days_x10().map(|d| format!("{}.{}", d / 10, d % 10)).unwrap_or_default(),
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
    let mut body = filter_form("/dashboards/carriers", &f, "");
    body.push_str(&export_links("/dashboards/carriers", &f, None));
    let marks: Vec<Mark> = card
        .carriers
        .iter()
        .map(|r| Mark {
            label: r.key.clone(),
            value: r.score,
            text: format!("score {}", r.score),
            href: Some(orders_href(&f, &[("carrier", &r.key)], Some("shipped"))),
        })
        .collect();
    body.push_str("<h2>Score</h2>");
    body.push_str(&chart::bars("Carrier score", &chart::by_size(marks)));
    for (title, rows, dim) in [("Carriers", &card.carriers, "carrier"), ("Channels", &card.channels, "channel")] {
        let _ = write!(
            body,
            "<h2>{title}</h2><table id=\"{dim}s\"><thead><tr><th>{dim}</th><th class=\"num\">Shipped</th>\
             <th class=\"num\">Sign-in rate</th><th class=\"num\">Transit days</th><th class=\"num\">Refusal rate</th>\
             <th class=\"num\">Customs abnormal</th><th class=\"num\">Exception handling</th>\
             <th class=\"num\">Settlement cycle</th><th class=\"num\">Cost per parcel</th><th class=\"num\">Score</th>\
             </tr></thead><tbody>"
        );
        for r in rows.iter() {
            let m = &r.metrics;
            let _ = write!(
                body,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\"><strong>{}</strong></td></tr>",
                esc(&r.key),
                link(&orders_href(&f, &[(dim, &r.key)], Some("shipped")), m.shipped()),
                pct(m.sign_in_rate()),
                m.mean_transit_days_x10().map(|d| format!("{}.{}", d / 10, d % 10)).unwrap_or_else(|| "–".into()),
                pct(m.refusal_rate()),
                pct(m.customs_abnormal_rate()),
                m.mean_task_hours().map(|h| format!("{h} h")).unwrap_or_else(|| "–".into()),
                r.settlement_days.map(|d| format!("{d} d")).unwrap_or_else(|| "–".into()),
                m.cost_per_parcel_minor().map(|c| Money::new(c, base).to_string()).unwrap_or_else(|| "–".into()),
                r.score,
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("<h2>Main and backup per lane</h2><table id=\"lanes\"><thead><tr><th>Country</th><th>Main</th><th>Backup</th></tr></thead><tbody>");
    for l in &card.lanes {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&l.country),
            esc(&l.main),
            esc(l.backup.as_deref().unwrap_or("–"))
        );
    }
    body.push_str("</tbody></table>");
    let w = &card.weights;
    let fields = [
        ("sign_in", w.sign_in),
        ("transit", w.transit),
        ("refusal", w.refusal),
        ("customs", w.customs),
        ("exceptions", w.exceptions),
        ("settlement", w.settlement),
        ("cost", w.cost),
    ];
    let _ = write!(
        body,
        "<h2>Weights</h2><form method=\"post\" action=\"/dashboards/carriers/weights\" class=\"filters\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&signed.0.csrf)
    );
    for (name, v) in fields {
        let _ = write!(
            body,
            "<label>{name} <input name=\"{name}\" type=\"number\" min=\"0\" max=\"100\" value=\"{v}\" size=\"4\"></label>"
        );
    }
    body.push_str("<button type=\"submit\">Save weights</button></form>");
    html(StatusCode::OK, layout(&signed, "nav-carriers", &body))
}

pub async fn save_weights(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(&[Role::Ops]) {
        return r;
    }
    if !same(&signed.0.csrf, form.get("csrf").map(String::as_str).unwrap_or("")) {
        return html(StatusCode::FORBIDDEN, super::pages::forbidden(&signed));
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
        Err(codflow_app::Error::Invalid(errors)) => {
            let list: String = errors.0.iter().map(|e| format!("<li>{}</li>", esc(&e.to_string()))).collect();
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(&signed, "nav-carriers", &format!("<ul class=\"err\">{list}</ul>")),
            )
        }
        Err(e) => fail(e),
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
        Err(e) => return fail(e),
    };
    let base = match s.app.review().base_currency().await {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    // Months fold the daily rows; their links cover the month's days inside the filter.
    let rows: Vec<(String, Metrics, Filter)> = if by == "month" {
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
    let money = |v: i64| Money::new(v, base).to_string();
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
    let options: String = ["country", "channel", "store", "month", "sku"]
        .iter()
        .map(|o| format!("<option value=\"{o}\"{}>by {o}</option>", if *o == by { " selected" } else { "" }))
        .collect();
    let mut body = filter_form("/dashboards/profit", &f, &format!("<select name=\"by\">{options}</select>"));
    body.push_str(&export_links("/dashboards/profit", &f, Some(by)));
    let marks: Vec<Mark> = rows
        .iter()
        .map(|(k, m, nf)| Mark {
            label: k.clone(),
            value: m.profit_minor(),
            text: money(m.profit_minor()),
            href: Some(orders_href(nf, &[], None)),
        })
        .collect();
    let _ = write!(body, "<h2>Expected profit by {by} ({base})</h2>");
    body.push_str(&chart::bars("Expected profit", &chart::by_size(marks)));
    // Each order counts once in the distribution; by SKU an order is under several rows, so it is read by lane.
    let mut dist = [0i64; 8];
    let lanes = if by == "sku" {
        match s.app.insights().kpi_sums(&f, &[Dim::Country], false).await {
            Ok(r) => r.into_iter().map(|(_, m)| m).collect(),
            Err(e) => return fail(e),
        }
    } else {
        rows.iter().map(|(_, m, _)| *m).collect::<Vec<Metrics>>()
    };
    for m in &lanes {
        for (d, v) in dist.iter_mut().zip(m.profit_distribution()) {
            *d += v;
        }
    }
    let bound = |i: usize| Money::new(codflow_domain::kpi::PROFIT_BOUNDS[i], base).amount_string();
    let dist_marks: Vec<Mark> = dist
        .iter()
        .enumerate()
        .map(|(i, n)| Mark {
            label: match i {
                0 => format!("below {}", bound(0)),
                7 => format!("{} or more", bound(6)),
                _ => format!("{} to {}", bound(i - 1), bound(i)),
            },
            value: *n,
            text: format!("{n} orders"),
            href: Some(orders_href(&f, &[], Some(&format!("profit_b{i}")))),
        })
        .collect();
    let _ = write!(body, "<h2 id=\"distribution\">Orders by expected profit per order ({base})</h2>");
    body.push_str(&chart::bars("Orders by expected profit", &dist_marks));
    let _ = write!(
        body,
        "<table id=\"profit\"><thead><tr><th>{by}</th><th class=\"num\">Orders</th><th class=\"num\">Landed cost</th>\
         <th class=\"num\">Expected profit</th><th class=\"num\">Per order</th><th class=\"num\">Loss-makers</th></tr></thead><tbody>"
    );
    for (k, m, nf) in &rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(k),
            link(&orders_href(nf, &[], None), m.orders()),
            esc(&money(m.cost_minor())),
            esc(&money(m.profit_minor())),
            m.profit_per_order().map(|p| esc(&money(p))).unwrap_or_default(),
            link(&orders_href(nf, &[], Some("loss_orders")), m.loss_orders()),
        );
    }
    body.push_str(
        "</tbody></table><p class=\"muted\">Expected profit at allocation (P(delivered) × margin less freight, \
         duties and returns), in the base currency. Actual profit per settled order: <a href=\"/finance\">Finance</a>.</p>",
    );
    html(StatusCode::OK, layout(&signed, "nav-profit", &body))
}

pub async fn cash(State(s): State<Arc<AppState>>, signed: Signed) -> Response {
    if let Some(r) = signed.refused(MONEY_READERS) {
        return r;
    }
    let (aging, forecast) = match s.app.finance().cash_position(12, 30).await {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let mut body = String::new();
    let overdue: Vec<_> = aging.iter().filter(|r| r.overdue.parcels > 0).collect();
    if !overdue.is_empty() {
        body.push_str("<div class=\"alert\"><strong>Overdue remittances</strong><ul>");
        for r in &overdue {
            let _ = write!(
                body,
                "<li>{}: {} on {} parcels past the settlement cycle — <a href=\"/recommendations\">dispute</a></li>",
                esc(&r.carrier),
                esc(&Money::new(r.overdue.amount_minor, r.currency).to_string()),
                r.overdue.parcels
            );
        }
        body.push_str("</ul></div>");
    }
    body.push_str(
        "<h2>COD receivable by carrier and age</h2><table id=\"aging\"><thead><tr><th>Carrier</th><th>Currency</th>",
    );
    for b in codflow_domain::finance::aging::BUCKETS {
        let _ = write!(body, "<th class=\"num\">{}</th>", esc(b.0));
    }
    body.push_str("<th class=\"num\">Past cycle</th><th class=\"num\">Total</th></tr></thead><tbody>");
    for r in &aging {
        let m = |v: i64| esc(&Money::new(v, r.currency).to_string());
        let _ = write!(body, "<tr><td>{}</td><td>{}</td>", esc(&r.carrier), r.currency);
        for b in &r.buckets {
            let _ = write!(body, "<td class=\"num\">{}</td>", m(b.amount_minor));
        }
        let _ = write!(
            body,
            "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            link(&owed_href(&r.carrier, r.currency, true), Money::new(r.overdue.amount_minor, r.currency)),
            link(&owed_href(&r.carrier, r.currency, false), Money::new(r.total.amount_minor, r.currency))
        );
    }
    body.push_str("</tbody></table>");
    let mut by_currency: BTreeMap<Currency, Vec<(Mark, Mark)>> = BTreeMap::new();
    for w in &forecast.weeks {
        let m = |v: i64| Money::new(v, w.currency).to_string();
        let inflow = w.flows.delivered_in + w.flows.in_transit_in;
        by_currency.entry(w.currency).or_default().push((
            Mark { label: w.starts.to_string(), value: inflow, text: format!("in {}", m(inflow)), href: None },
            Mark {
                label: w.starts.to_string(),
                value: w.flows.freight_out,
                text: format!("out {}", m(w.flows.freight_out)),
                href: None,
            },
        ));
    }
    body.push_str("<h2>Forecast by week</h2><p class=\"muted\">Green: COD expected in (delivered, and in transit × P(delivered)); red: freight invoices falling due.</p>");
    for (c, pairs) in &by_currency {
        let _ = write!(body, "<h3>{c}</h3>");
        body.push_str(&chart::columns(&format!("Cash forecast in {c}"), ("COD in", "freight out"), pairs));
    }
    // Ledger balances sum every posting of every parcel (a pass over the whole book), so they are not shown
    // here; the API serves them (/api/v1/ledger/balances).
    body.push_str("<p class=\"muted\">Statements and their differences: <a href=\"/settlements\">Settlements</a>.</p>");
    html(StatusCode::OK, layout(&signed, "nav-cash", &body))
}

fn rec_field(r: &Recommendation) -> String {
    esc(&serde_json::to_string(r).unwrap_or_default())
}

fn rec_of(form: &HashMap<String, String>) -> Option<Recommendation> {
    serde_json::from_str(form.get("rec")?).ok()
}

fn may_act(role: Role, r: &Recommendation) -> bool {
    match r {
        Recommendation::Dispute { .. } => matches!(role, Role::Admin | Role::Finance),
        _ => matches!(role, Role::Admin | Role::Ops),
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
        Err(e) => return fail(e),
    };
    let mut body = filter_form("/recommendations", &f, "");
    if let Some(done) = q.get("done") {
        let _ = write!(body, "<p class=\"ok\">Done: {}</p>", esc(done));
    }
    if recs.is_empty() {
        body.push_str("<p class=\"muted\">Nothing to recommend for this period.</p>");
    }
    body.push_str("<ul class=\"recs\">");
    for r in &recs {
        let evidence = match r {
            Recommendation::BlockCod { sku, country, region, .. } => {
                orders_href(&f, &[("sku", sku), ("country", country), ("region", region)], Some("refused"))
            }
            Recommendation::LowerPriority { channel, country, .. } => {
                orders_href(&f, &[("channel", channel), ("country", country)], Some("customs_held"))
            }
            Recommendation::Dispute { carrier, currency, .. } => match codflow_domain::Currency::parse(currency) {
                Ok(c) => owed_href(carrier, c, true),
                Err(_) => "/finance".to_owned(),
            },
        };
        let act = if may_act(signed.0.role, r) {
            format!(
                "<form method=\"get\" action=\"/recommendations/preview\"><input type=\"hidden\" name=\"rec\" value=\"{}\">\
                 <button type=\"submit\">Review and act</button></form>",
                rec_field(r)
            )
        } else {
            String::new()
        };
        let _ =
            write!(body, "<li><p>{}</p><p>{} {act}</p></li>", esc(&r.title()), link(&evidence, "the orders behind it"));
    }
    body.push_str("</ul>");
    html(StatusCode::OK, layout(&signed, "nav-recommendations", &body))
}

pub async fn preview(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(r) = rec_of(&q) else {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            layout(&signed, "title-recommendation", "<p class=\"err\">Unknown recommendation.</p>"),
        );
    };
    if !may_act(signed.0.role, &r) {
        return html(StatusCode::FORBIDDEN, super::pages::forbidden(&signed));
    }
    let p = match s.app.insights().preview(&r).await {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let mut body = format!("<p>{}</p>", esc(&r.title()));
    match &p {
        Preview::Rule { before, after } => {
            let row = |name: &str, rep: &codflow_domain::review::backtest::Report| {
                let stopped: i64 = rep.actions.iter().filter(|a| a.action != "approve").map(|a| a.orders).sum();
                let refused: i64 = rep.actions.iter().filter(|a| a.action != "approve").map(|a| a.refused).sum();
                format!(
                    "<tr><td>{name}</td><td class=\"num\">{}</td><td class=\"num\">{stopped}</td><td class=\"num\">{refused}</td>\
                     <td class=\"num\">{}</td></tr>",
                    rep.orders_replayed,
                    esc(&codflow_domain::Currency::parse(&rep.base_currency)
                        .map(|c| Money::new(rep.net_effect_minor, c).to_string())
                        .unwrap_or_default())
                )
            };
            let _ = write!(
                body,
                "<h2>Back-test over the last year</h2><table id=\"backtest\"><thead><tr><th>Rules</th>\
                 <th class=\"num\">Orders replayed</th><th class=\"num\">Held, blocked or cancelled</th>\
                 <th class=\"num\">of which refused</th><th class=\"num\">Net effect</th></tr></thead><tbody>{}{}</tbody></table>",
                row("as they are", before),
                row("with the new rule", after)
            );
        }
        Preview::Priority { channel, from, to } => {
            let _ = write!(body, "<p>The priority of {} goes from {from} to {to}.</p>", esc(channel));
        }
        Preview::Task { title } => {
            let _ = write!(body, "<p>A finance task is opened: {}</p>", esc(title));
        }
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/recommendations/act\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"rec\" value=\"{}\"><button type=\"submit\" id=\"confirm\">Make this change</button> \
         <a href=\"/recommendations\">Back</a></form>",
        esc(&signed.0.csrf),
        rec_field(&r)
    );
    html(StatusCode::OK, layout(&signed, "title-review-change", &body))
}

pub async fn act(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !same(&signed.0.csrf, form.get("csrf").map(String::as_str).unwrap_or("")) {
        return html(StatusCode::FORBIDDEN, super::pages::forbidden(&signed));
    }
    let Some(r) = rec_of(&form) else {
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            layout(&signed, "title-recommendation", "<p class=\"err\">Unknown recommendation.</p>"),
        );
    };
    if !may_act(signed.0.role, &r) {
        return html(StatusCode::FORBIDDEN, super::pages::forbidden(&signed));
    }
    match s.app.insights().act_on(&r, codflow_domain::Actor::User(signed.0.id.clone())).await {
        Ok(made) => redirect(&format!("/recommendations?{}", query_string(&[("done", &made)]))),
        Err(e) => fail(e),
    }
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
