//! Stock in the console: searched by SKU or title, low stock highlighted (or listed alone), a count adjusted
//! with its reason (kept on the SKU's history), every row exported.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_domain::catalogue::WarehouseCode;
use codflow_domain::{Actor, Role, Sku};
use minijinja::Value;
use serde::{Deserialize, Serialize};

use super::orders::kept;
use super::pages::{query_string, table_download};
use super::{Signed, redirect};
use crate::state::AppState;

const PAGE: i64 = 100;
/// Available units at or below which a row is highlighted when the page sets no threshold of its own.
const LOW_DEFAULT: i64 = 5;
/// Who counts stock: the warehouse, ops (and the admin).
const COUNTERS: &[Role] = &[Role::Warehouse, Role::Ops];

#[derive(Serialize)]
struct Row {
    warehouse: String,
    sku: String,
    title: String,
    on_hand: i64,
    reserved: i64,
    available: i64,
    bin: String,
    low: bool,
}

pub async fn list(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let low = match q.get("low").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => return signed.fail(codflow_app::Error::invalid("low", "must be a whole number of units")),
        },
    };
    let search = q.get("q").map(String::as_str).filter(|v| !v.trim().is_empty());
    if let Some(format) = q.get("format").filter(|f| *f == "csv" || *f == "xlsx") {
        return export(&s, &signed, low, search, format == "xlsx").await;
    }
    let after = q.get("after").and_then(|a| a.split_once('/'));
    let list = match s.app.catalogue().stock_rows(after, low, search, PAGE + 1).await {
        Ok(l) => l,
        Err(e) => return signed.fail(e),
    };
    let highlight = low.unwrap_or(LOW_DEFAULT);
    let rows: Vec<Row> = list
        .iter()
        .take(PAGE as usize)
        .map(|r| Row {
            warehouse: r.warehouse.clone(),
            sku: r.sku.clone(),
            title: r.title.clone(),
            on_hand: r.level.on_hand,
            reserved: r.level.reserved,
            available: r.level.available(),
            bin: r.location.clone().unwrap_or_default(),
            low: r.level.available() <= highlight,
        })
        .collect();
    let next = (list.len() as i64 > PAGE).then(|| rows.last().map(|r| format!("{}/{}", r.warehouse, r.sku))).flatten();
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let keep: Vec<(&str, &str)> = ["q", "low"].iter().filter_map(|k| q.get(*k).map(|v| (*k, v.as_str()))).collect();
    let ctx = minijinja::context! {
        q => kept(&q, &["q", "low"]),
        f => minijinja::context! { q => get("q"), low => get("low") },
        rows => Value::from_serialize(&rows),
        next,
        filter_query => query_string(&keep),
        highlight,
        can_adjust => signed.refused(COUNTERS).is_none(),
        flash => q.contains_key("saved").then(|| signed.t("saved")),
    };
    signed.page(StatusCode::OK, "stock.html", &signed.t("nav-stock"), ctx)
}

async fn export(s: &AppState, signed: &Signed, low: Option<i64>, search: Option<&str>, xlsx: bool) -> Response {
    let header = ["warehouse", "sku", "title", "on_hand", "reserved", "available", "bin"];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut after: Option<(String, String)> = None;
    loop {
        let page = match s
            .app
            .catalogue()
            .stock_rows(after.as_ref().map(|(w, k)| (w.as_str(), k.as_str())), low, search, 1000)
            .await
        {
            Ok(p) => p,
            Err(e) => return signed.fail(e),
        };
        let full = page.len() == 1000;
        after = page.last().map(|r| (r.warehouse.clone(), r.sku.clone()));
        rows.extend(page.into_iter().map(|r| {
            vec![
                r.warehouse,
                r.sku,
                r.title,
                r.level.on_hand.to_string(),
                r.level.reserved.to_string(),
                r.level.available().to_string(),
                r.location.unwrap_or_default(),
            ]
        }));
        if !full {
            break;
        }
    }
    table_download("stock", xlsx, &header, &rows)
}

#[derive(Deserialize)]
pub struct AdjustForm {
    csrf: String,
    warehouse: String,
    sku: String,
    on_hand: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

pub async fn adjust(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<AdjustForm>) -> Response {
    if let Some(r) = signed.may_post(COUNTERS, &f.csrf) {
        return r;
    }
    let parsed = (|| {
        let w = WarehouseCode::parse(&f.warehouse)
            .map_err(|_| codflow_app::Error::invalid("warehouse", "is not a warehouse"))?;
        let sku = Sku::parse(&f.sku).map_err(|_| codflow_app::Error::invalid("sku", "is not a SKU"))?;
        let n = f
            .on_hand
            .trim()
            .parse::<i64>()
            .map_err(|_| codflow_app::Error::invalid("on_hand", "must be a whole number of units"))?;
        Ok::<_, codflow_app::Error>((w, sku, n))
    })();
    let (w, sku, n) = match parsed {
        Ok(p) => p,
        Err(e) => return signed.fail(e),
    };
    let actor = Actor::User(signed.0.id.clone());
    match s.app.catalogue().adjust_stock(&w, &sku, n, &f.reason, actor).await {
        Ok(_) => {
            let back = if f.back.starts_with("/stock") { f.back.as_str() } else { "/stock" };
            let sep = if back.contains('?') { '&' } else { '?' };
            redirect(&format!("{back}{sep}saved=1"))
        }
        Err(e) => signed.fail(e),
    }
}
