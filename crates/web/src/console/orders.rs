//! Orders in the console: the list (filters, sort, counts, bulk actions on the ticked rows or on every row the
//! filters match, exports), and one order in full with the actions its state allows, its documents and its
//! timeline.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codflow_app::orders::{Action, OrderFilter};
use codflow_domain::{Actor, Country, Currency, Money, Order, OrderId, OrderStatus, Role, ShopCode};
use minijinja::Value;
use serde::Serialize;

use super::pages::{query_string, table_download};
use super::render::{Amount, secs};
use super::{Signed, redirect};
use crate::state::AppState;

/// Rows on one page of a list.
pub(super) const PAGE: i64 = 50;
/// Counts stop here; more shows as "10,000+".
pub(super) const COUNT_CAP: i64 = 10_000;
/// The most orders one bulk action takes ("every order matching" included).
const BULK_MAX: usize = 5_000;
/// The most rows one XLSX export holds (the whole list goes out as CSV, streamed).
const XLSX_MAX: usize = 100_000;
/// Who may change orders from the console.
const ACTORS: &[Role] = &[Role::Ops];

/// The filter keys of the orders list, kept in every link and form of the page.
pub(super) const FILTER_KEYS: &[&str] = &[
    "q",
    "status",
    "country",
    "shop",
    "placed_from",
    "placed_to",
    "sort",
    "why",
    "currency",
    "min_total",
    "max_total",
    "older_than_days",
];

/// Where the page is in its list: rows `from`..=`to` of `total` (when counted), and the next page's cursor.
#[derive(Serialize, Default)]
pub(super) struct PageInfo {
    pub from: i64,
    pub to: i64,
    pub total: i64,
    pub total_capped: bool,
    pub counted: bool,
    pub next: Option<String>,
}

impl PageInfo {
    pub fn new(q: &HashMap<String, String>, shown: usize, total: Option<i64>, next: Option<String>) -> PageInfo {
        let from = q.get("at").and_then(|a| a.parse::<i64>().ok()).filter(|a| *a >= 1).unwrap_or(1);
        let to = from + shown as i64 - 1;
        let (total, capped, counted) = match total {
            Some(t) => (t.max(to), t >= COUNT_CAP, true),
            None => (to, false, false),
        };
        PageInfo { from: if shown == 0 { 0 } else { from }, to: to.max(0), total, total_capped: capped, counted, next }
    }
}

/// A day written `YYYY-MM-DD` in the viewer's zone; the instant it starts.
pub(super) fn day_start(
    signed: &Signed,
    v: Option<&String>,
    field: &'static str,
) -> codflow_app::Result<Option<time::OffsetDateTime>> {
    let Some(v) = v.map(|v| v.trim()).filter(|v| !v.is_empty()) else { return Ok(None) };
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(v, &fmt)
        .map_err(|_| codflow_app::Error::invalid(field, "must be a date such as 2026-12-01"))?;
    Ok(Some(signed.0.zone.start_of(d)))
}

/// The list's filter from the page's query; a value that does not read is an error naming its field.
pub(super) fn order_filter(
    signed: &Signed,
    q: &HashMap<String, String>,
    now: time::OffsetDateTime,
) -> codflow_app::Result<OrderFilter> {
    let get = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let status = get("status")
        .map(|s| OrderStatus::parse(s).map_err(|_| codflow_app::Error::invalid("status", "is not an order status")))
        .transpose()?;
    let country = get("country")
        .map(|c| {
            Country::parse(c).map_err(|_| codflow_app::Error::invalid("country", "must be a country code such as SA"))
        })
        .transpose()?;
    let store = get("shop")
        .map(|c| ShopCode::parse(c).map_err(|_| codflow_app::Error::invalid("shop", "is not a shop code")))
        .transpose()?;
    let to = day_start(signed, q.get("placed_to"), "placed_to")?.map(|t| t + time::Duration::days(1));
    let by_total = match get("sort") {
        None | Some("-placed") => None,
        Some("placed") => None,
        Some("-total") => Some(true),
        Some("total") => Some(false),
        Some(_) => return Err(codflow_app::Error::invalid("sort", "must be placed, -placed, total or -total")),
    };
    let currency = get("currency")
        .map(|c| {
            Currency::parse(c)
                .map_err(|_| codflow_app::Error::invalid("currency", "must be a currency code such as SAR"))
        })
        .transpose()?;
    let amount = |field: &'static str| -> codflow_app::Result<Option<i64>> {
        let Some(v) = get(field) else { return Ok(None) };
        let Some(c) = currency else {
            return Err(codflow_app::Error::invalid("currency", "is needed with an amount"));
        };
        Money::parse(v, c)
            .map(|m| Some(m.minor))
            .map_err(|_| codflow_app::Error::invalid(field, "must be an amount such as 150 or 150.50"))
    };
    let (total_min, total_max) = (amount("min_total")?, amount("max_total")?);
    let older = get("older_than_days")
        .map(|d| {
            d.parse::<i64>().ok().filter(|d| (0..=3650).contains(d)).ok_or_else(|| {
                codflow_app::Error::invalid("older_than_days", "must be a number of days from 0 to 3650")
            })
        })
        .transpose()?;
    let mut to = to;
    if let Some(days) = older {
        let cut = now - time::Duration::days(days);
        to = Some(to.map_or(cut, |t| t.min(cut)));
    }
    let calls_due = match get("calls") {
        None => None,
        Some(which @ ("due" | "mine")) => Some(codflow_app::orders::CallsDue {
            before: now - codflow_app::calls::RETRY_AFTER,
            actor: (which == "mine").then(|| Actor::User(signed.0.id.clone()).to_stored()),
        }),
        Some(_) => return Err(codflow_app::Error::invalid("calls", "must be due or mine")),
    };
    Ok(OrderFilter {
        calls_due,
        reason: get("why").map(str::to_owned),
        total_currency: currency,
        total_min,
        total_max,
        status,
        country,
        store,
        search: get("q").map(str::to_owned),
        placed_from: day_start(signed, q.get("placed_from"), "placed_from")?,
        placed_to: to,
        oldest_first: get("sort") == Some("placed"),
        by_total,
        ..OrderFilter::default()
    })
}

/// A page of the orders a request selects: by the list's filters, or the orders behind a dashboard figure
/// (which are not counted).
pub(super) async fn select_orders(
    s: &AppState,
    signed: &Signed,
    q: &HashMap<String, String>,
    limit: i64,
    cursor: Option<&str>,
    count: bool,
) -> codflow_app::Result<(Vec<Order>, Option<String>, Option<i64>)> {
    if let Some(carrier) = q.get("owed_by").filter(|v| !v.trim().is_empty()) {
        let currency = Currency::parse(q.get("owed_currency").map(String::as_str).unwrap_or(""))
            .map_err(|_| codflow_app::Error::invalid("owed_currency", "a currency code (SAR) is needed"))?;
        let past_cycle = q.get("past_cycle").is_some_and(|v| !v.is_empty());
        let (l, n) = s.app.finance().owed_orders(carrier, currency, past_cycle, cursor, limit).await?;
        Ok((l, n, None))
    } else if super::dash::names_a_figure(q) {
        let f = super::dash::exact_filter_of(q);
        let figure = q.get("figure").map(String::as_str).filter(|v| !v.is_empty());
        let (l, n) = s.app.insights().orders_behind(&f, figure, cursor, limit).await?;
        Ok((l, n, None))
    } else {
        let filter = order_filter(signed, q, s.app.clock().now())?;
        let total = if count { Some(s.app.intake().count_orders(&filter, COUNT_CAP).await?) } else { None };
        let (l, n) = s.app.intake().orders(filter, limit, cursor).await?;
        Ok((l, n, total))
    }
}

#[derive(Serialize)]
pub(super) struct OrderRow {
    pub id: String,
    external_id: String,
    placed: i64,
    buyer: String,
    phone: String,
    shop: String,
    country: String,
    city: String,
    channel: String,
    status: &'static str,
    cod: Option<Amount>,
    total: Amount,
    reasons: String,
    /// Confirmation calls so far and how the last went (filled in by the review queue).
    pub calls: usize,
    pub last_call: Option<String>,
}

impl From<&Order> for OrderRow {
    fn from(o: &Order) -> OrderRow {
        OrderRow {
            id: o.id.to_string(),
            external_id: o.external_id.clone(),
            placed: secs(o.placed_at),
            buyer: o.buyer.name.clone(),
            phone: o.buyer.phone.to_string(),
            shop: o.store.to_string(),
            country: o.shipping_address.country.code().to_owned(),
            city: o.shipping_address.city.clone(),
            channel: o.allocation.as_ref().and_then(|a| a.channel.as_ref()).map(|c| c.to_string()).unwrap_or_default(),
            status: o.status.as_str(),
            cod: (o.cod_amount.minor != 0).then(|| o.cod_amount.into()),
            total: o.total.into(),
            reasons: o.review.as_ref().map(|r| r.reasons.join("; ")).unwrap_or_default(),
            calls: 0,
            last_call: None,
        }
    }
}

/// The query as a map for the templates' links, with only the keys the page keeps.
pub(super) fn kept(q: &HashMap<String, String>, keys: &[&str]) -> Value {
    let figure = super::dash::figure_pairs(q);
    let mut m: std::collections::BTreeMap<String, String> = keys
        .iter()
        .filter_map(|k| q.get(*k).filter(|v| !v.trim().is_empty()).map(|v| (k.to_string(), v.clone())))
        .collect();
    m.extend(figure.into_iter().map(|(k, v)| (k.to_owned(), v)));
    Value::from_serialize(m)
}

/// The flash line after a bulk action: how many were done and how many refused.
pub(super) fn bulk_flash(signed: &Signed, q: &HashMap<String, String>) -> Option<String> {
    let done = q.get("done")?;
    let failed = q.get("failed").map(String::as_str).unwrap_or("0");
    let (done, failed) = (done.parse::<u64>().ok()?, failed.parse::<u64>().ok()?);
    Some(signed.t_with("bulk-done", &[("done", &done.to_string()), ("failed", &failed.to_string())]))
}

pub async fn list(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (list, next, total) =
        match select_orders(&s, &signed, &q, PAGE, q.get("cursor").map(String::as_str), true).await {
            Ok(r) => r,
            Err(e) => return signed.fail(e),
        };
    let behind = if let Some(carrier) = q.get("owed_by").filter(|v| !v.trim().is_empty()) {
        Some(signed.t_with(
            if q.get("past_cycle").is_some_and(|v| !v.is_empty()) { "orders-owed-past-cycle" } else { "orders-owed" },
            &[("carrier", carrier), ("currency", q.get("owed_currency").map(String::as_str).unwrap_or(""))],
        ))
    } else {
        let figure = super::dash::figure_pairs(&q);
        (!figure.is_empty()).then(|| {
            let named: Vec<String> = figure.iter().map(|(k, v)| format!("{k} {v}")).collect();
            signed.t_with("orders-behind-figure", &[("figure", &named.join(", "))])
        })
    };
    let rows: Vec<OrderRow> = list.iter().map(OrderRow::from).collect();
    let keys: Vec<&str> = FILTER_KEYS.to_vec();
    let mut export_pairs: Vec<(&str, &str)> = keys.iter().filter_map(|k| q.get(*k).map(|v| (*k, v.as_str()))).collect();
    let figure = super::dash::figure_pairs(&q);
    export_pairs.extend(figure.iter().map(|(k, v)| (*k, v.as_str())));
    let export = query_string(&export_pairs);
    let page = PageInfo::new(&q, rows.len(), total, next);
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let ctx = minijinja::context! {
        q => kept(&q, FILTER_KEYS),
        f => minijinja::context! {
            q => get("q"), status => get("status"), country => get("country"), shop => get("shop"),
            placed_from => get("placed_from"), placed_to => get("placed_to"), sort => get("sort"),
        },
        statuses => OrderStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        rows => Value::from_serialize(&rows),
        page => Value::from_serialize(&page),
        behind,
        export,
        filter_query => export_query(&q),
        flash => bulk_flash(&signed, &q),
        can_act => signed.0.role == Role::Admin || ACTORS.contains(&signed.0.role),
    };
    signed.page(StatusCode::OK, "orders.html", &signed.t("nav-orders"), ctx)
}

/// The page's filters as a query string (what "every order matching" means to a bulk action).
fn export_query(q: &HashMap<String, String>) -> String {
    let pairs: Vec<(&str, &str)> = FILTER_KEYS.iter().filter_map(|k| q.get(*k).map(|v| (*k, v.as_str()))).collect();
    query_string(&pairs)
}

/// Approves, holds, cancels, books or prints the labels of the ticked orders, or of every order the
/// filters match when "all matching" is ticked; each order succeeds or fails on its own.
pub async fn bulk(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<Vec<(String, String)>>) -> Response {
    let field = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
    if let Some(r) = signed.forged(field("csrf")) {
        return r;
    }
    let action = field("action");
    let printing = action == "labels";
    let allowed: &[Role] = if printing { &[Role::Ops, Role::Warehouse] } else { ACTORS };
    if let Some(r) = signed.refused(allowed) {
        return r;
    }
    let filter_q: HashMap<String, String> = form_urlencoded::parse(field("filter").as_bytes()).into_owned().collect();
    let ids: Vec<String> = if field("all_matching") == "1" {
        match every_matching(&s, &signed, &filter_q).await {
            Ok(ids) => ids,
            Err(e) => return signed.fail(e),
        }
    } else {
        f.iter().filter(|(n, _)| n == "ids").map(|(_, v)| v.clone()).take(BULK_MAX).collect()
    };
    if ids.is_empty() {
        return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("bulk-none-ticked"));
    }
    let actor = Actor::User(signed.0.id.clone());
    let reason = Some(field("reason").trim().to_owned()).filter(|r| !r.is_empty());
    let (done, failed) = match action {
        "approve" | "hold" | "cancel" => {
            if action != "approve" && reason.is_none() {
                return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("reason-needed"));
            }
            let act = match action {
                "approve" => Action::Approve,
                "hold" => Action::Hold,
                _ => Action::Cancel,
            };
            let mut ok = 0usize;
            for id in &ids {
                let Ok(id) = OrderId::parse(id) else { continue };
                if s.app.intake().act_on_order(&id, act, actor.clone(), reason.clone()).await.is_ok() {
                    ok += 1;
                }
            }
            (ok, ids.len() - ok)
        }
        "book" => {
            let out = s.app.fulfilment().book_orders(&ids, actor).await;
            let ok = out.iter().filter(|o| matches!(o, codflow_app::booking::BookOutcome::Done(_))).count();
            (ok, ids.len() - ok)
        }
        "labels" => return labels_of_orders(&s, &signed, &ids).await,
        _ => return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("bulk-unknown-action")),
    };
    let back = field("back");
    let back = if back.starts_with('/') && !back.starts_with("//") { back } else { "/orders" };
    let (path, query) = back.split_once('?').unwrap_or((back, ""));
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, _)| !["done", "failed", "cursor", "at"].contains(&k.as_str()))
        .collect();
    pairs.push(("done".into(), done.to_string()));
    pairs.push(("failed".into(), failed.to_string()));
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    redirect(&format!("{path}?{}", query_string(&refs)))
}

/// Every order the list's filters match, up to the bulk limit.
async fn every_matching(
    s: &AppState,
    signed: &Signed,
    q: &HashMap<String, String>,
) -> codflow_app::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (list, next, _) = select_orders(s, signed, q, 500, cursor.as_deref(), false).await?;
        ids.extend(list.iter().map(|o| o.id.to_string()));
        match next {
            Some(c) if ids.len() < BULK_MAX => cursor = Some(c),
            _ => break,
        }
    }
    ids.truncate(BULK_MAX);
    Ok(ids)
}

/// One PDF with the labels of the orders' booked parcels.
async fn labels_of_orders(s: &AppState, signed: &Signed, ids: &[String]) -> Response {
    let mut shipments = Vec::new();
    for id in ids {
        let Ok(id) = OrderId::parse(id) else { continue };
        match s.app.fulfilment().shipments_of_order(&id).await {
            Ok(list) => {
                shipments.extend(list.into_iter().filter(|sh| sh.tracking_number.is_some()).map(|sh| sh.id.to_string()))
            }
            Err(e) => return signed.fail(e),
        }
    }
    if shipments.is_empty() {
        return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("labels-none-booked"));
    }
    match s.app.fulfilment().labels(&shipments, codflow_app::documents::LabelFormat::Pdf).await {
        Ok(d) => crate::routes::logistics::download(d.content_type, &d.filename, d.bytes).into_response(),
        Err(e) => signed.fail(e),
    }
}

/// The orders the page's filters select, as CSV (every row, streamed page by page) or XLSX (typed cells,
/// numbers and dates as such, up to [`XLSX_MAX`] rows).
async fn export(s: Arc<AppState>, signed: Signed, q: HashMap<String, String>, xlsx: bool) -> Response {
    const HEADER: [&str; 13] = [
        "order_id",
        "external_id",
        "placed_at",
        "buyer_name",
        "buyer_phone",
        "shop",
        "country",
        "region",
        "channel",
        "status",
        "total",
        "cod_amount",
        "currency",
    ];
    let zone = signed.0.zone.clone();
    let cells = move |o: &Order| -> Vec<String> {
        let placed = zone.local(o.placed_at);
        vec![
            o.id.to_string(),
            o.external_id.clone(),
            format!("{} {:02}:{:02}", placed.date(), placed.hour(), placed.minute()),
            o.buyer.name.clone(),
            o.buyer.phone.to_string(),
            o.store.to_string(),
            o.shipping_address.country.code().to_owned(),
            o.shipping_address.region.clone().unwrap_or_default(),
            o.allocation.as_ref().and_then(|a| a.channel.as_ref()).map(|c| c.to_string()).unwrap_or_default(),
            o.status.as_str().to_owned(),
            o.total.amount_string(),
            o.cod_amount.amount_string(),
            o.total.currency.code().to_owned(),
        ]
    };
    if xlsx {
        let mut rows = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (list, next, _) = match select_orders(&s, &signed, &q, 1000, cursor.as_deref(), false).await {
                Ok(r) => r,
                Err(e) => return signed.fail(e),
            };
            rows.extend(list.iter().map(&cells));
            match next {
                Some(c) if rows.len() < XLSX_MAX => cursor = Some(c),
                _ => break,
            }
        }
        rows.truncate(XLSX_MAX);
        return table_download("orders", true, &HEADER, &rows);
    }
    // Checked before streaming starts, so a bad filter is an error page rather than a broken file.
    if let Err(e) = select_orders(&s, &signed, &q, 1, None, false).await {
        return signed.fail(e);
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(HEADER);
        let mut cursor: Option<String> = None;
        loop {
            let (list, next, _) = match select_orders(&s, &signed, &q, 1000, cursor.as_deref(), false).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "an orders export stopped");
                    let _ = tx.send(Err(std::io::Error::other("export stopped"))).await;
                    return;
                }
            };
            for o in &list {
                let _ = w.write_record(cells(o).iter().map(|c| codflow_sheets::csv::neutralised(c).into_owned()));
            }
            let chunk =
                std::mem::replace(&mut w, csv::Writer::from_writer(Vec::new())).into_inner().unwrap_or_default();
            if tx.send(Ok(chunk)).await.is_err() {
                return;
            }
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    });
    let stream = futures_stream(rx);
    let mut r = axum::body::Body::from_stream(stream).into_response();
    let h = r.headers_mut();
    h.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/csv; charset=utf-8"));
    h.insert(
        axum::http::header::CONTENT_DISPOSITION,
        axum::http::HeaderValue::from_static("attachment; filename=\"orders.csv\""),
    );
    r
}

fn futures_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

pub async fn csv(State(s): State<Arc<AppState>>, signed: Signed, Query(q): Query<HashMap<String, String>>) -> Response {
    export(s, signed, q, false).await
}

pub async fn xlsx(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    export(s, signed, q, true).await
}
