//! Returns in the console: the list (filters, export), the receiving scan (one field, a tracking number),
//! and one return: what was shipped, grading every unit with its disposition, photos, giving up.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use codflow_app::floor::{RETURN_COLUMNS, ReturnView};
use codflow_domain::returns::{Disposition, GradeInput, Return, ReturnStatus};
use codflow_domain::{Actor, ReturnId, Role, WarehouseCode};
use minijinja::Value;

use super::orders::kept;
use super::pages::{query_string, table_download};
use super::render::Amount;
use super::{Signed, redirect};
use crate::state::AppState;

const PAGE: i64 = 100;
/// Who receives and grades (the API's stock keepers).
const RECEIVERS: &[Role] = &[Role::Ops, Role::Warehouse];
/// Who sets the liquidator's share and the holding cost the routes are weighed with.
const SETTERS: &[Role] = &[Role::Ops, Role::Finance];

fn explained(e: codflow_app::Error) -> String {
    crate::ApiError::from(e).explained()
}

fn row(r: &Return, now: time::OffsetDateTime) -> Value {
    minijinja::context! {
        id => r.id.to_string(), tracking => r.tracking_number, order_id => r.order_id.to_string(),
        carrier => r.carrier, country => r.country, warehouse => r.warehouse.to_string(),
        status => r.status.as_str(), overdue => r.is_overdue(now),
        started => r.started_at.unix_timestamp(),
        carrier_returned => r.carrier_returned_at.map(|t| t.unix_timestamp()),
        expected_by => r.expected_by.unix_timestamp(),
        received => r.received_at.map(|t| t.unix_timestamp()),
        received_warehouse => r.received_warehouse.as_ref().map(|w| w.to_string()),
    }
}

pub async fn list(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let now = s.app.clock().now();
    let get = |k: &str| q.get(k).map(String::as_str);
    let filter =
        match crate::routes::returns::filter_of(get("status"), get("carrier"), get("warehouse"), get("overdue"), now) {
            Ok(f) => f,
            Err(e) => return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &e.explained()),
        };
    if let Some(format) = q.get("format").filter(|f| *f == "csv" || *f == "xlsx") {
        return match s.app.floor().returns_rows(&filter).await {
            Ok(rows) => table_download("returns", format == "xlsx", &RETURN_COLUMNS, &rows),
            Err(e) => signed.fail(e),
        };
    }
    let after = q.get("after").and_then(|a| ReturnId::parse(a).ok());
    let list = match s.app.floor().returns(&filter, after.as_ref(), PAGE + 1).await {
        Ok(l) => l,
        Err(e) => return signed.fail(e),
    };
    let next = (list.len() as i64 > PAGE).then(|| list.get(PAGE as usize - 1).map(|r| r.id.to_string())).flatten();
    let rows: Vec<Value> = list.iter().take(PAGE as usize).map(|r| row(r, now)).collect();
    let months = match s.app.floor().return_months(6).await {
        Ok(m) => m,
        Err(e) => return signed.fail(e),
    };
    let months: Vec<Value> = months
        .iter()
        .map(|m| {
            minijinja::context! {
                carrier => m.carrier, month => m.month, started => m.started, said => m.carrier_returned,
                received => m.received, gap => (m.carrier_returned - m.received).max(0), lost => m.lost,
                expected => m.still_expected,
            }
        })
        .collect();
    let (rate_by, days) = match crate::routes::returns::rates_query(get("rate_by"), get("days")) {
        Ok(v) => v,
        Err(e) => return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &e.explained()),
    };
    let rates = match s.app.floor().return_rates(rate_by, days).await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let rates: Vec<Value> = rates
        .iter()
        .map(|r| {
            let lost: Vec<Amount> = r
                .written_off
                .iter()
                .filter_map(|(c, v)| {
                    codflow_domain::Currency::parse(c).ok().map(|c| Amount::from(codflow_domain::Money::new(*v, c)))
                })
                .collect();
            minijinja::context! {
                key => r.key, shipped => r.shipped, returned => r.returned, received => r.received,
                pct => crate::routes::returns::rate_pct(r.returned, r.shipped), lost,
            }
        })
        .collect();
    let pct = |bp: i64| format!("{}.{:02}", bp / 100, bp % 100);
    let damage: Vec<Value> = match s.app.fulfilment().damage_table().await {
        Ok(rows) => rows
            .into_iter()
            .map(|d| {
                minijinja::context! {
                    kind => d.kind.as_str(), category => d.category, parcels => d.parcels, damaged => d.damaged,
                    default_bp => d.default_bp, rate_bp => d.rate_bp,
                    default_pct => pct(d.default_bp), rate_pct => pct(d.rate_bp),
                }
            })
            .collect(),
        Err(e) => return signed.fail(e),
    };
    let settings = match s.app.finance().route_settings().await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let route_settings = minijinja::context! {
        liquidation_pct => pct(settings.liquidation_bp),
        holding_amount => settings.holding_currency.map(|c| codflow_domain::Money::new(settings.holding_cost_minor, c).amount_string()),
        holding_currency => settings.holding_currency.map(|c| c.to_string()),
    };
    let rate_key = match rate_by {
        codflow_app::floor::RateBy::Channel => "channel",
        codflow_app::floor::RateBy::Country => "country",
        codflow_app::floor::RateBy::Sku => "sku",
    };
    let keys = ["status", "carrier", "warehouse", "overdue"];
    let keep: Vec<(&str, &str)> = keys.iter().filter_map(|k| q.get(*k).map(|v| (*k, v.as_str()))).collect();
    let field = |k: &str| q.get(k).cloned().unwrap_or_default();
    let ctx = minijinja::context! {
        q => kept(&q, &keys),
        f => minijinja::context! { status => field("status"), carrier => field("carrier"), warehouse => field("warehouse"), overdue => field("overdue") },
        statuses => ReturnStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        rows, next, months, rates, rate_key, days, damage, route_settings,
        can_set => signed.refused(SETTERS).is_none(),
        saved => q.contains_key("saved"),
        filter_query => query_string(&keep),
        can_receive => signed.refused(RECEIVERS).is_none(),
    };
    signed.page(StatusCode::OK, "returns.html", &signed.t("nav-returns"), ctx)
}

/// The receiving scan: a tracking number scanned at a warehouse opens its return for grading.
pub async fn scan(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<HashMap<String, String>>) -> Response {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    if let Some(r) = signed.may_post(RECEIVERS, &field("csrf")) {
        return r;
    }
    let warehouse = field("warehouse");
    let answer = match WarehouseCode::parse(&warehouse) {
        Err(_) => Err(signed.t("returns-choose-warehouse")),
        Ok(w) => {
            s.app.floor().receive_return(&w, &field("code"), Actor::User(signed.0.id.clone())).await.map_err(explained)
        }
    };
    match answer {
        Ok((v, fresh)) => {
            let flash = if fresh { "received" } else { "already" };
            let back = query_string(&[("scanned", flash), ("warehouse", &warehouse)]);
            redirect(&format!("/returns/{}?{back}", v.ret.id))
        }
        Err(text) => scan_page(&s, &signed, &warehouse, Some(text)).await,
    }
}

pub async fn scan_form(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(RECEIVERS) {
        return r;
    }
    let warehouse = q.get("warehouse").map(|w| w.trim().to_owned()).unwrap_or_default();
    scan_page(&s, &signed, &warehouse, None).await
}

async fn scan_page(s: &AppState, signed: &Signed, warehouse: &str, error: Option<String>) -> Response {
    let warehouses = match s.app.catalogue().warehouses(200, None).await {
        Ok((w, _)) => w,
        Err(e) => return signed.fail(e),
    };
    let ctx = minijinja::context! {
        warehouse, error,
        warehouses => warehouses.iter().map(|w| w.code.to_string()).collect::<Vec<_>>(),
    };
    let status = if ctx.get_attr("error").is_ok_and(|e| !e.is_none()) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    signed.page(status, "return_scan.html", &signed.t("returns-scan"), ctx)
}

pub async fn one(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(id) = ReturnId::parse(&id) else { return signed.fail(codflow_app::Error::NotFound("return")) };
    let flash = match q.get("scanned").map(String::as_str) {
        Some("received") => Some(signed.t("returns-received")),
        Some("already") => Some(signed.t("returns-already")),
        _ => q.contains_key("saved").then(|| signed.t("saved")),
    };
    one_page(&s, &signed, &id, flash, None).await
}

async fn one_page(
    s: &AppState,
    signed: &Signed,
    id: &ReturnId,
    flash: Option<String>,
    error: Option<String>,
) -> Response {
    let v: ReturnView = match s.app.floor().return_view(id).await {
        Ok(v) => v,
        Err(e) => return signed.fail(e),
    };
    let now = s.app.clock().now();
    let warehouse = v.ret.received_warehouse.clone().unwrap_or_else(|| v.ret.warehouse.clone());
    let mut shipped = Vec::new();
    for l in &v.shipped {
        let bin = match s.app.catalogue().stock(&warehouse, &l.sku).await {
            Ok(st) => st.location.map(|b| b.as_str().to_owned()),
            Err(codflow_app::Error::NotFound(_)) => None,
            Err(e) => return signed.fail(e),
        };
        shipped.push(minijinja::context! {
            sku => l.sku.to_string(), quantity => l.quantity, cost => Amount::from(l.unit_cost), bin,
        });
    }
    let lines: Vec<Value> = v
        .ret
        .lines
        .iter()
        .map(|l| {
            minijinja::context! {
                sku => l.sku.to_string(), grade => l.grade.as_str(), quantity => l.quantity,
                disposition => l.disposition.map(|d| d.as_str()), bin => l.bin,
                cost => Amount::from(codflow_domain::Money::new(l.unit_cost.minor * l.quantity, l.unit_cost.currency)),
                loss => l.is_loss(), held => l.held(),
            }
        })
        .collect();
    // The route only matters while the parcel is out; a missing exchange rate is said, not fatal.
    let (route, route_error) = if v.ret.status == ReturnStatus::Closed {
        (None, None)
    } else {
        match s.app.finance().return_route(id).await {
            Ok(r) => {
                let values: Vec<Value> = r
                    .advice
                    .values
                    .iter()
                    .map(|(k, m)| minijinja::context! { route => k.as_str(), value => Amount::from(codflow_domain::Money::new(*m, r.base)) })
                    .collect();
                let m = |v: i64| Amount::from(codflow_domain::Money::new(v, r.base));
                let facts = minijinja::context! {
                    goods => m(r.facts.goods_cost), freight => m(r.facts.return_freight), duties => m(r.facts.duties_again),
                    units => r.facts.units, demand => r.facts.local_demand,
                };
                let advised = r.advice.route.as_str();
                let decided = r.decided.map(|d| d.as_str());
                (Some(minijinja::context! { values, advised, decided, facts }), None)
            }
            Err(e @ codflow_app::Error::Conflict { .. }) => (None, Some(explained(e))),
            Err(e) => return signed.fail(e),
        }
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = minijinja::context! {
        route, route_error, routes => codflow_domain::returns::Route::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        r => row(&v.ret, now), order_ref => v.order_ref, note => v.ret.note, shipped, lines, flash, error,
        photos => (1..=v.ret.photos).collect::<Vec<_>>(),
        closed_at => v.ret.closed_at.map(|t| t.unix_timestamp()),
        can_act => signed.refused(RECEIVERS).is_none(),
        can_grade => v.ret.status == ReturnStatus::Received,
        can_give_up => v.ret.status == ReturnStatus::Expected,
        can_receive => v.ret.status.can_move_to(ReturnStatus::Received),
        dispositions => Disposition::ALL.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
        max_photos => codflow_app::floor::MAX_PHOTOS,
    };
    let title = signed.t_with("returns-one", &[("tracking", &v.ret.tracking_number)]);
    signed.page(status, "return.html", &title, ctx)
}

/// Grading (one row per shipped SKU: sellable, damaged, missing; one row for a wrong item) and giving up.
pub async fn act(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let form: HashMap<&str, &str> = f.iter().map(|(k, v)| (k.as_str(), v.trim())).collect();
    let field = |k: &str| form.get(k).copied().unwrap_or("");
    if let Some(r) = signed.may_post(RECEIVERS, field("csrf")) {
        return r;
    }
    let Ok(id) = ReturnId::parse(&id) else { return signed.fail(codflow_app::Error::NotFound("return")) };
    let actor = Actor::User(signed.0.id.clone());
    let floor = s.app.floor();
    let result = match field("action") {
        "give_up" => floor.give_up_return(&id, field("reason"), actor).await.map(|_| ()),
        "release" => match (field("quantity").parse::<i64>(), Disposition::parse(field("to"))) {
            (Ok(n), Ok(to)) => {
                let bin = Some(field("bin")).filter(|b| !b.is_empty());
                floor.release_held(&id, field("sku"), n, to, bin, actor).await.map(|_| ())
            }
            (Err(_), _) => Err(codflow_app::Error::invalid("quantity", "a whole number of units")),
            (_, Err(e)) => Err(codflow_app::Error::invalid("to", e.to_string())),
        },
        "route" => match codflow_domain::returns::Route::parse(field("route")) {
            Ok(r) => s.app.finance().decide_return_route(&id, r, actor).await.map(|_| ()),
            Err(e) => Err(codflow_app::Error::invalid("route", e.to_string())),
        },
        "grade" => match grading(&signed, &form) {
            Ok(lines) => {
                let note = Some(field("note")).filter(|n| !n.is_empty());
                floor.grade_return(&id, &lines, note, actor).await.map(|_| ())
            }
            Err(why) => return one_page(&s, &signed, &id, None, Some(why)).await,
        },
        _ => return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("bulk-unknown-action")),
    };
    match result {
        Ok(()) => redirect(&format!("/returns/{id}?saved=1")),
        Err(e) => one_page(&s, &signed, &id, None, Some(explained(e))).await,
    }
}

/// The grading form's fields as lines: `sellable.SKU`, `damaged.SKU`, `missing.SKU` counts with
/// `sellable_to.SKU` and `damaged_to.SKU` dispositions and `bin.SKU`; a wrong item as `wrong_sku`,
/// `wrong_qty`, `wrong_to`. Empty and zero counts are left out.
fn grading(signed: &Signed, form: &HashMap<&str, &str>) -> Result<Vec<GradeInput>, String> {
    let mut skus: Vec<&str> = form.keys().filter_map(|k| k.strip_prefix("sku.")).collect();
    skus.sort_unstable();
    let count = |k: &str| -> Result<i64, String> {
        match form.get(k).copied().unwrap_or("") {
            "" => Ok(0),
            v => v.parse::<i64>().map_err(|_| signed.t_with("not-a-number", &[("field", k), ("value", v)])),
        }
    };
    let opt = |k: &str| form.get(k).copied().filter(|v| !v.is_empty()).map(str::to_owned);
    let mut lines = Vec::new();
    for sku in skus.iter().take(codflow_domain::returns::MAX_LINES) {
        for (grade, to) in [("sellable", "sellable_to"), ("damaged", "damaged_to"), ("missing", "")] {
            let n = count(&format!("{grade}.{sku}"))?;
            if n == 0 {
                continue;
            }
            let disposition = if to.is_empty() { None } else { opt(&format!("{to}.{sku}")) };
            let bin = (grade == "sellable" && disposition.as_deref().is_none_or(|d| d == "restock"))
                .then(|| opt(&format!("bin.{sku}")))
                .flatten();
            lines.push(GradeInput { sku: (*sku).to_owned(), grade: grade.into(), quantity: n, disposition, bin });
        }
    }
    if let Some(sku) = opt("wrong_sku") {
        let n = count("wrong_qty")?.max(1);
        lines.push(GradeInput { sku, grade: "wrong".into(), quantity: n, disposition: opt("wrong_to"), bin: None });
    }
    Ok(lines)
}

pub async fn add_photo(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    form: Multipart,
) -> Response {
    if let Some(r) = signed.refused(RECEIVERS) {
        return r;
    }
    let Ok(id) = ReturnId::parse(&id) else { return signed.fail(codflow_app::Error::NotFound("return")) };
    let up = match super::read_upload(&signed, form).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(file) = up.file.filter(|f| !f.is_empty()) else {
        return one_page(&s, &signed, &id, None, Some(signed.t("choose-file"))).await;
    };
    match s.app.floor().add_return_photo(&id, &file, Actor::User(signed.0.id.clone())).await {
        Ok(_) => redirect(&format!("/returns/{id}?saved=1")),
        Err(e) => one_page(&s, &signed, &id, None, Some(explained(e))).await,
    }
}

pub async fn photo(State(s): State<Arc<AppState>>, signed: Signed, Path((id, n)): Path<(String, String)>) -> Response {
    let (Ok(id), Ok(n)) = (ReturnId::parse(&id), n.parse::<i64>()) else {
        return signed.fail(codflow_app::Error::NotFound("photo"));
    };
    match s.app.floor().return_photo(&id, n).await {
        Ok((content_type, bytes)) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(e) => signed.fail(e),
    }
}

/// The liquidator's share (a percentage with up to two decimals) and the holding cost abroad per unit-month.
pub async fn save_settings(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    if let Some(r) = signed.may_post(SETTERS, &field("csrf")) {
        return r;
    }
    let bp = rust_decimal::Decimal::from_str_exact(&field("liquidation_pct"))
        .ok()
        .and_then(|d| (d * rust_decimal::Decimal::from(100)).trunc().to_string().parse::<i64>().ok());
    let Some(liquidation_bp) = bp else {
        return signed.error(StatusCode::UNPROCESSABLE_ENTITY, "liquidation_pct: a percentage such as 30 or 32.5");
    };
    let holding = match (field("holding_amount").as_str(), field("holding_currency").as_str()) {
        ("", _) => None,
        (amount, currency) => {
            match codflow_domain::Currency::parse(currency).and_then(|c| codflow_domain::Money::parse(amount, c)) {
                Ok(m) => Some(m),
                Err(e) => return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &format!("holding_cost: {e}")),
            }
        }
    };
    let settings = codflow_domain::returns::RouteSettings {
        liquidation_bp,
        holding_cost_minor: holding.map_or(0, |m| m.minor),
        holding_currency: holding.map(|m| m.currency),
    };
    match s.app.finance().set_route_settings(settings, Actor::User(signed.0.id.clone())).await {
        Ok(_) => redirect("/returns?saved=1#route-settings"),
        Err(e) => signed.error(StatusCode::UNPROCESSABLE_ENTITY, &explained(e)),
    }
}
