//! Inbound goods in the console: purchase orders (list, place, import, export), one order with its notices
//! (announce, cancel, close short, history), and the dock's receiving screen (the pack station's scan field:
//! a notice's reference or an order's number opens it, barcodes count, bins and close).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codflow_app::floor::{AsnInput, InboundImport, LineInput, PoInput, ReceiveOutcome};
use codflow_domain::inbound::{Asn, Condition, PoStatus};
use codflow_domain::{Actor, AsnId, Role, WarehouseCode};
use minijinja::Value;

use super::{Signed, redirect};
use crate::state::AppState;

/// Who places and ends purchase orders (the API's operators).
const BUYERS: &[Role] = &[Role::Ops];
/// Who announces and receives (the API's stock keepers).
const RECEIVERS: &[Role] = &[Role::Ops, Role::Warehouse];

fn explained(e: codflow_app::Error) -> String {
    crate::ApiError::from(e).explained()
}

/// Lines typed one per row as `SKU quantity` (a space, tab, comma or semicolon between).
fn typed_lines(signed: &Signed, text: &str) -> Result<Vec<LineInput>, String> {
    let mut out = Vec::new();
    for (i, row) in text.lines().enumerate().take(codflow_domain::inbound::MAX_LINES + 1) {
        let row = row.trim();
        if row.is_empty() {
            continue;
        }
        let mut parts = row.split(|c: char| c.is_whitespace() || c == ',' || c == ';').filter(|p| !p.is_empty());
        let (sku, qty) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let Ok(quantity) = qty.parse::<i64>() else {
            let n = (i + 1).to_string();
            return Err(signed.t_with("inbound-line-bad", &[("line", &n), ("text", row)]));
        };
        out.push(LineInput { sku: sku.to_owned(), quantity });
    }
    Ok(out)
}

fn asn_row(a: &Asn) -> Value {
    asn_row_in(a, &HashMap::new())
}

/// A notice as the screen shows it; `bins` are the SKUs' current bins, offered where no bin was named yet.
fn asn_row_in(a: &Asn, bins: &HashMap<String, String>) -> Value {
    let expected: i64 = a.lines.iter().map(|l| l.expected).sum();
    let good: i64 = a.lines.iter().map(|l| l.good).sum();
    let damaged: i64 = a.lines.iter().map(|l| l.damaged).sum();
    minijinja::context! {
        id => a.id.to_string(), reference => a.reference.to_string(), po => a.po_number.to_string(),
        po_id => a.po.to_string(), warehouse => a.warehouse.to_string(), status => a.status.as_str(),
        tracking => a.tracking, expected_on => a.expected_on.map(|d| d.to_string()), expected, good, damaged,
        received_at => a.received_at.map(|t| t.unix_timestamp()),
        lines => a.lines.iter().map(|l| minijinja::context! {
            sku => l.sku.to_string(), expected => l.expected, good => l.good, damaged => l.damaged,
            bin => l.bin.as_ref().map(|b| b.as_str().to_owned()).or_else(|| bins.get(l.sku.as_str()).cloned()),
            unexpected => l.expected == 0,
            complete => l.expected > 0 && l.good + l.damaged == l.expected,
            over => l.good + l.damaged > l.expected,
        }).collect::<Vec<_>>(),
    }
}

// ------------------------------------------------------------------------------------------- the list

pub async fn list(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(RECEIVERS) {
        return r;
    }
    let flash = q.get("created").map(|n| signed.t_with("inbound-created", &[("po", n)]));
    list_page(&s, &signed, &q, flash, None, None).await
}

async fn list_page(
    s: &AppState,
    signed: &Signed,
    q: &HashMap<String, String>,
    flash: Option<String>,
    error: Option<String>,
    report: Option<(&str, InboundImport)>,
) -> Response {
    let status_raw = q.get("status").map(|v| v.trim()).unwrap_or("");
    let status = PoStatus::parse(status_raw);
    let cursor = q.get("cursor").map(String::as_str).filter(|c| !c.is_empty());
    let floor = s.app.floor();
    let (page, asns, warehouses) = match (
        floor.pos(status, cursor, 50).await,
        floor.open_asns(None, 50).await,
        s.app.catalogue().warehouses(200, None).await,
    ) {
        (Ok(p), Ok(a), Ok((w, _))) => (p, a, w),
        (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => return signed.fail(e),
    };
    let (rows, next) = page;
    let rows: Vec<Value> = rows
        .iter()
        .map(|p| {
            minijinja::context! {
                id => p.po.id.to_string(), number => p.po.number.to_string(), supplier => p.po.supplier,
                warehouse => p.po.warehouse.to_string(), status => p.po.status.as_str(),
                expected_on => p.po.expected_on.map(|d| d.to_string()), lines => p.lines, ordered => p.ordered,
                received => p.received, damaged => p.damaged,
                outstanding => (p.ordered - p.received - p.damaged).max(0),
            }
        })
        .collect();
    let report = report.map(|(kind, r)| {
        minijinja::context! {
            kind, created => r.created, unchanged => r.unchanged,
            errors => r.errors.iter().map(|e| minijinja::context! { line => e.line, field => e.field, message => e.message }).collect::<Vec<_>>(),
        }
    });
    let ctx = minijinja::context! {
        rows, next, flash, error, report, status => status.map(|s| s.as_str()),
        statuses => PoStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        asns => asns.iter().map(asn_row).collect::<Vec<_>>(),
        warehouses => warehouses.iter().map(|w| w.code.to_string()).collect::<Vec<_>>(),
        buyer => signed.0.role == Role::Admin || BUYERS.contains(&signed.0.role),
    };
    signed.page(StatusCode::OK, "inbound.html", &signed.t("nav-inbound"), ctx)
}

pub async fn create(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    if let Some(r) = signed.may_post(BUYERS, &field("csrf")) {
        return r;
    }
    let lines = match typed_lines(&signed, &field("lines")) {
        Ok(l) => l,
        Err(e) => return list_page(&s, &signed, &HashMap::new(), None, Some(e), None).await,
    };
    let opt = |k: &str| Some(field(k)).filter(|v| !v.is_empty());
    let input = PoInput {
        number: field("number"),
        supplier: field("supplier"),
        warehouse: field("warehouse"),
        expected_on: opt("expected_on"),
        note: opt("note"),
        lines,
    };
    match s.app.floor().create_po(input, Actor::User(signed.0.id.clone())).await {
        Ok((po, _)) => redirect(&format!("/inbound/{}", po.id)),
        Err(e) => list_page(&s, &signed, &HashMap::new(), None, Some(explained(e)), None).await,
    }
}

/// A CSV of purchase orders or of ASNs (`kind`), as the API's imports read them.
pub async fn upload(State(s): State<Arc<AppState>>, signed: Signed, form: Multipart) -> Response {
    if let Some(r) = signed.refused(RECEIVERS) {
        return r;
    }
    let up = match super::read_upload(&signed, form).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let kind = up.fields.get("kind").map_or("", String::as_str);
    if kind != "asns"
        && let Some(r) = signed.refused(BUYERS)
    {
        return r;
    }
    let Some(file) = up.file.filter(|f| !f.is_empty()) else {
        return signed.error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t("choose-file"));
    };
    let actor = Actor::User(signed.0.id.clone());
    let floor = s.app.floor();
    let (label, result) = if kind == "asns" {
        ("asns", floor.import_asns_csv(&file, actor).await)
    } else {
        ("pos", floor.import_pos_csv(&file, actor).await)
    };
    match result {
        Ok(r) => list_page(&s, &signed, &HashMap::new(), None, None, Some((label, r))).await,
        Err(e) => list_page(&s, &signed, &HashMap::new(), None, Some(explained(e)), None).await,
    }
}

pub async fn export(State(s): State<Arc<AppState>>, signed: Signed) -> Response {
    if let Some(r) = signed.refused(RECEIVERS) {
        return r;
    }
    match s.app.floor().pos_csv().await {
        Ok(csv) => {
            crate::routes::logistics::download("text/csv; charset=utf-8", "purchase-orders.csv", csv).into_response()
        }
        Err(e) => signed.fail(e),
    }
}

// ------------------------------------------------------------------------------------------- one order

pub async fn po(State(s): State<Arc<AppState>>, signed: Signed, Path(id): Path<String>) -> Response {
    if let Some(r) = signed.refused(RECEIVERS) {
        return r;
    }
    po_page(&s, &signed, &id, None, None).await
}

async fn po_page(s: &AppState, signed: &Signed, id: &str, flash: Option<String>, error: Option<String>) -> Response {
    let floor = s.app.floor();
    let view = match floor.po_view(id).await {
        Ok(v) => v,
        Err(e) => return signed.fail(e),
    };
    let history = match floor.inbound_history(&view).await {
        Ok(h) => h,
        Err(e) => return signed.fail(e),
    };
    let names = match s.app.admin().user_names().await {
        Ok(n) => n,
        Err(e) => return signed.fail(e),
    };
    let history: Vec<Value> = history
        .iter()
        .map(|(about, a)| {
            minijinja::context! {
                at => a.at.unix_timestamp(), action => a.action, about,
                reason => a.reason,
                to => a.to_status.as_deref().map(|t| match PoStatus::parse(t) {
                    Some(st) => signed.t(&format!("po-status-{}", st.as_str())),
                    None => t.to_owned(),
                }),
                actor => super::order::who(&a.actor, &names, signed),
            }
        })
        .collect();
    let po = &view.po;
    let ctx = minijinja::context! {
        flash, error, history,
        po => minijinja::context! {
            id => po.id.to_string(), number => po.number.to_string(), supplier => po.supplier,
            warehouse => po.warehouse.to_string(), status => po.status.as_str(),
            expected_on => po.expected_on.map(|d| d.to_string()), note => po.note,
            lines => po.lines.iter().map(|l| minijinja::context! {
                sku => l.sku.to_string(), ordered => l.ordered, received => l.received, damaged => l.damaged,
                outstanding => l.outstanding(),
            }).collect::<Vec<_>>(),
            expects => po.status.expects_goods(),
            cancellable => po.status == PoStatus::Open,
            closable => po.status == PoStatus::PartlyReceived,
        },
        asns => view.asns.iter().map(asn_row).collect::<Vec<_>>(),
        buyer => signed.0.role == Role::Admin || BUYERS.contains(&signed.0.role),
    };
    signed.page(
        StatusCode::OK,
        "inbound_po.html",
        &signed.t_with("inbound-po-title", &[("po", po.number.as_str())]),
        ctx,
    )
}

pub async fn po_act(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let action = field("action");
    let roles = if matches!(action.as_str(), "cancel" | "close") { BUYERS } else { RECEIVERS };
    if let Some(r) = signed.may_post(roles, &field("csrf")) {
        return r;
    }
    let actor = Actor::User(signed.0.id.clone());
    let floor = s.app.floor();
    let result: Result<String, String> = match action.as_str() {
        "cancel" => floor
            .cancel_po(&id, &field("reason"), actor)
            .await
            .map(|_| signed.t("inbound-cancelled"))
            .map_err(explained),
        "close" => {
            floor.close_po(&id, &field("reason"), actor).await.map(|_| signed.t("inbound-closed")).map_err(explained)
        }
        "cancel_asn" => floor
            .cancel_asn(&field("asn"), actor)
            .await
            .map(|a| signed.t_with("inbound-asn-cancelled", &[("asn", a.reference.as_str())]))
            .map_err(explained),
        _ => match typed_lines(&signed, &field("lines")) {
            Err(e) => Err(e),
            Ok(lines) => {
                let opt = |k: &str| Some(field(k)).filter(|v| !v.is_empty());
                let input = AsnInput {
                    reference: field("reference"),
                    purchase_order: id.clone(),
                    tracking: opt("tracking"),
                    expected_on: opt("expected_on"),
                    lines,
                };
                floor
                    .create_asn(input, actor)
                    .await
                    .map(|(a, _)| signed.t_with("inbound-asn-created", &[("asn", a.reference.as_str())]))
                    .map_err(explained)
            }
        },
    };
    match result {
        Ok(flash) => po_page(&s, &signed, &id, Some(flash), None).await,
        Err(e) => po_page(&s, &signed, &id, None, Some(e)).await,
    }
}

// ------------------------------------------------------------------------------------------- the dock

pub async fn dock(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(RECEIVERS) {
        return r;
    }
    let warehouse = q.get("warehouse").map(|w| w.trim().to_owned()).unwrap_or_default();
    let asn = q.get("asn").and_then(|a| AsnId::parse(a.trim()).ok());
    dock_page(&s, &signed, &warehouse, asn, None, None).await
}

/// Every action of the dock is one form: a scan (with its quantity and condition) or closing the receipt.
pub async fn dock_act(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    if let Some(r) = signed.may_post(RECEIVERS, &field("csrf")) {
        return r;
    }
    let warehouse = field("warehouse");
    let wcode = WarehouseCode::parse(&warehouse).ok();
    let asn = AsnId::parse(&field("asn")).ok();
    let actor = Actor::User(signed.0.id.clone());
    let floor = s.app.floor();
    if field("action") == "close" {
        let Some(id) = asn else { return signed.fail(codflow_app::Error::NotFound("ASN")) };
        let bins: BTreeMap<String, String> = f
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("bin.").map(|sku| (sku.to_owned(), v.trim().to_owned())))
            .filter(|(_, v)| !v.is_empty())
            .take(codflow_domain::inbound::MAX_LINES)
            .collect();
        return match floor.close_receipt(&id, &bins, actor).await {
            Ok(r) => {
                let mut text = signed
                    .t_with("recv-closed", &[("asn", r.asn.reference.as_str()), ("units", &r.stocked.to_string())]);
                if !r.discrepancies.is_empty() {
                    let listed: Vec<String> = r.discrepancies.iter().map(|d| discrepancy_words(&signed, d)).collect();
                    text = format!("{text} {}", signed.t_with("recv-discrepancies", &[("list", &listed.join("; "))]));
                }
                let signal = if r.discrepancies.is_empty() { "done" } else { "wrong" };
                let answer =
                    minijinja::context! { signal, event => "closed", text, task => r.task.map(|t| t.to_string()) };
                dock_page(&s, &signed, &warehouse, None, Some(answer), None).await
            }
            Err(e) => dock_page(&s, &signed, &warehouse, Some(id), None, Some(explained(e))).await,
        };
    }
    let quantity = match field("quantity").as_str() {
        "" => 1,
        q => match q.parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                let why = signed.t_with("not-a-number", &[("field", "quantity"), ("value", q)]);
                return dock_page(&s, &signed, &warehouse, asn, None, Some(why)).await;
            }
        },
    };
    let condition = Condition::parse(&field("condition")).unwrap_or(Condition::Good);
    match floor.receive_scan(wcode.as_ref(), asn.as_ref(), &field("code"), quantity, condition, actor).await {
        Ok(o) => {
            let open = o.asn.as_ref().filter(|a| a.status.is_open()).map(|a| a.id.clone()).or(asn);
            let answer = answer_of(&signed, &o);
            dock_page(&s, &signed, &warehouse, open, Some(answer), None).await
        }
        Err(e) => dock_page(&s, &signed, &warehouse, asn, None, Some(explained(e))).await,
    }
}

/// A difference a receipt found, in the reader's words.
fn discrepancy_words(signed: &Signed, d: &codflow_domain::inbound::Discrepancy) -> String {
    use codflow_domain::inbound::Discrepancy as D;
    let sku = d.sku().to_string();
    let units = d.units().to_string();
    match d {
        D::Short { expected, counted, .. } | D::Over { expected, counted, .. } => signed.t_with(
            &format!("recv-disc-{}", d.kind()),
            &[("sku", &sku), ("expected", &expected.to_string()), ("counted", &counted.to_string())],
        ),
        D::Damaged { .. } | D::Unexpected { .. } => {
            signed.t_with(&format!("recv-disc-{}", d.kind()), &[("sku", &sku), ("units", &units)])
        }
    }
}

fn answer_of(signed: &Signed, o: &ReceiveOutcome) -> Value {
    let mut params = o.params.clone();
    if o.event == "not_receivable"
        && let Some((_, v)) = params.iter_mut().find(|(k, _)| *k == "status")
    {
        *v = signed.t(&format!("po-status-{v}"));
    }
    let args: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let signal = super::pack::signal_word(o.signal);
    minijinja::context! { signal, event => o.event, text => signed.t_with(&format!("recv-{}", o.event), &args) }
}

async fn dock_page(
    s: &AppState,
    signed: &Signed,
    warehouse: &str,
    asn: Option<AsnId>,
    answer: Option<Value>,
    error: Option<String>,
) -> Response {
    let floor = s.app.floor();
    let wcode = WarehouseCode::parse(warehouse).ok();
    let (warehouses, waiting) =
        match (s.app.catalogue().warehouses(200, None).await, floor.open_asns(wcode.as_ref(), 50).await) {
            (Ok((w, _)), Ok(a)) => (w, a),
            (Err(e), _) | (_, Err(e)) => return signed.fail(e),
        };
    let current = match asn {
        Some(id) => match floor.find_asn(id.as_str()).await {
            Ok(a) if a.status.is_open() => Some(a),
            Ok(_) | Err(codflow_app::Error::NotFound(_)) => None,
            Err(e) => return signed.fail(e),
        },
        None => None,
    };
    // Where each SKU already sits is offered as its bin, so a receipt of known SKUs closes without typing.
    let mut bins = HashMap::new();
    if let Some(a) = &current {
        for l in a.lines.iter().filter(|l| l.bin.is_none()) {
            match s.app.catalogue().stock(&a.warehouse, &l.sku).await {
                Ok(st) => {
                    if let Some(b) = st.location {
                        bins.insert(l.sku.to_string(), b.as_str().to_owned());
                    }
                }
                Err(e) => return signed.fail(e),
            }
        }
    }
    let answer =
        answer.or_else(|| error.map(|text| minijinja::context! { signal => "wrong", event => "refused", text }));
    let ctx = minijinja::context! {
        warehouse, answer,
        warehouses => warehouses.iter().map(|w| w.code.to_string()).collect::<Vec<_>>(),
        waiting => waiting.iter().map(asn_row).collect::<Vec<_>>(),
        asn => current.as_ref().map(|a| asn_row_in(a, &bins)),
    };
    signed.page(StatusCode::OK, "receive.html", &signed.t("nav-receive"), ctx)
}
