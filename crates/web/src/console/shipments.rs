//! Shipments in the console: filtered by status, channel, country and booking dates, with their order,
//! destination, COD and cash columns; nothing ticked until someone ticks it; labels printed for the ticked
//! parcels or for every parcel the filters match; every matching row exported.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codflow_app::documents::LabelFormat;
use codflow_app::tracking::{Tracked, TrackedFilter};
use codflow_domain::Role;
use minijinja::Value;
use serde::Serialize;

use super::Signed;
use super::orders::{COUNT_CAP, PAGE, PageInfo, kept};
use super::pages::{query_string, table_download};
use super::render::{Amount, secs};
use crate::state::AppState;

const KEYS: &[&str] = &["status", "channel", "country", "booked_from", "booked_to"];
/// Shipment statuses by their stem (a reason after `:` is matched by the stem).
pub(super) const STATUSES: &[&str] = &[
    "label_created",
    "picked_up",
    "in_transit",
    "customs_processing",
    "customs_held",
    "customs_released",
    "out_for_delivery",
    "delivery_failed",
    "available_for_pickup",
    "delivered",
    "returning",
    "returned",
    "lost",
    "damaged",
    "cancelled",
    "unknown",
];
/// The most labels one batch prints.
const BATCH_MAX: usize = 2_000;

#[derive(Serialize)]
struct Row {
    id: String,
    order: String,
    tracking: String,
    carrier: String,
    channel: String,
    country: String,
    status: String,
    status_stem: String,
    cod: Option<Amount>,
    cash: &'static str,
    booked: i64,
}

fn row(t: &Tracked) -> Row {
    let status = t.progress.status.to_string();
    Row {
        id: t.shipment_id.to_string(),
        order: t.order_id.to_string(),
        tracking: t.tracking_number.clone(),
        carrier: t.carrier.clone(),
        channel: t.channel.clone(),
        country: t.country.clone(),
        status_stem: status.split(':').next().unwrap_or("").to_owned(),
        status,
        cod: (t.cod.minor != 0).then(|| t.cod.into()),
        cash: t.cod_status.as_str(),
        booked: secs(t.booked_at),
    }
}

fn filter_of(signed: &Signed, q: &HashMap<String, String>) -> codflow_app::Result<TrackedFilter> {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if get("status").is_some_and(|s| !STATUSES.contains(&s.split(':').next().unwrap_or(""))) {
        return Err(codflow_app::Error::invalid("status", "is not a shipment status"));
    }
    let day = |k: &'static str| super::orders::day_start(signed, q.get(k), k);
    Ok(TrackedFilter {
        status: get("status"),
        country: get("country").map(|c| c.to_uppercase()),
        channel: get("channel"),
        booked_from: day("booked_from")?,
        booked_to: day("booked_to")?.map(|t| t + time::Duration::days(1)),
        ..TrackedFilter::default()
    })
}

pub async fn list(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let filter = match filter_of(&signed, &q) {
        Ok(f) => f,
        Err(e) => return signed.fail(e),
    };
    if let Some(format) = q.get("format").filter(|f| *f == "csv" || *f == "xlsx") {
        return export(&s, &signed, filter, format == "xlsx").await;
    }
    let total = match s.app.tracking().count_tracked(&filter, COUNT_CAP).await {
        Ok(n) => n,
        Err(e) => return signed.fail(e),
    };
    let (list, next) = match s.app.tracking().tracked_shipments(filter, PAGE, q.get("cursor").map(String::as_str)).await
    {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let rows: Vec<Row> = list.iter().map(row).collect();
    let page = PageInfo::new(&q, rows.len(), Some(total), next);
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let pairs: Vec<(&str, &str)> = KEYS.iter().filter_map(|k| q.get(*k).map(|v| (*k, v.as_str()))).collect();
    let ctx = minijinja::context! {
        q => kept(&q, KEYS),
        f => minijinja::context! {
            status => get("status"), channel => get("channel"), country => get("country"),
            booked_from => get("booked_from"), booked_to => get("booked_to"),
        },
        statuses => STATUSES,
        rows => Value::from_serialize(&rows),
        page => Value::from_serialize(&page),
        filter_query => query_string(&pairs),
        can_print => signed.refused(PRINTERS).is_none(),
    };
    signed.page(StatusCode::OK, "shipments.html", &signed.t("nav-shipments"), ctx)
}

/// Every shipment the filters select, as CSV or XLSX.
async fn export(s: &AppState, signed: &Signed, filter: TrackedFilter, xlsx: bool) -> Response {
    let header =
        ["tracking_number", "order", "carrier", "channel", "country", "status", "cod", "currency", "cash", "booked_at"];
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (list, next) = match s.app.tracking().tracked_shipments(filter.clone(), 1000, cursor.as_deref()).await {
            Ok(r) => r,
            Err(e) => return signed.fail(e),
        };
        for t in &list {
            let booked = signed.0.zone.local(t.booked_at);
            rows.push(vec![
                t.tracking_number.clone(),
                t.order_id.to_string(),
                t.carrier.clone(),
                t.channel.clone(),
                t.country.clone(),
                t.progress.status.to_string(),
                t.cod.amount_string(),
                t.cod.currency.code().to_owned(),
                t.cod_status.as_str().to_owned(),
                format!("{} {:02}:{:02}", booked.date(), booked.hour(), booked.minute()),
            ]);
        }
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    table_download("shipments", xlsx, &header, &rows)
}

/// Who prints labels: the warehouse, ops (and the admin).
const PRINTERS: &[Role] = &[Role::Warehouse, Role::Ops];

/// One file with the labels of the ticked shipments, or of every shipment the filters match.
pub async fn labels(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<Vec<(String, String)>>) -> Response {
    if let Some(r) = signed.refused(PRINTERS) {
        return r;
    }
    let field = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).unwrap_or("");
    if let Some(r) = signed.forged(field("csrf")) {
        return r;
    }
    let ids: Vec<String> = if field("all_matching") == "1" {
        let q: HashMap<String, String> = form_urlencoded::parse(field("filter").as_bytes()).into_owned().collect();
        let filter = match filter_of(&signed, &q) {
            Ok(f) => f,
            Err(e) => return signed.fail(e),
        };
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (list, next) = match s.app.tracking().tracked_shipments(filter.clone(), 1000, cursor.as_deref()).await {
                Ok(r) => r,
                Err(e) => return signed.fail(e),
            };
            ids.extend(list.iter().map(|t| t.shipment_id.to_string()));
            match next {
                Some(c) if ids.len() < BATCH_MAX => cursor = Some(c),
                _ => break,
            }
        }
        ids.truncate(BATCH_MAX);
        ids
    } else {
        f.iter().filter(|(n, _)| n == "ids").map(|(_, v)| v.clone()).take(BATCH_MAX).collect()
    };
    if ids.is_empty() {
        return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("labels-none-ticked"));
    }
    let format = if field("format") == "zpl" { LabelFormat::Zpl } else { LabelFormat::Pdf };
    match s.app.fulfilment().labels(&ids, format).await {
        Ok(d) => crate::routes::logistics::download(d.content_type, &d.filename, d.bytes).into_response(),
        Err(e) => signed.fail(e),
    }
}
