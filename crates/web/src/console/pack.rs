//! The pack station: the warehouse's main screen. One scan field always has the focus (a keyboard-wedge scanner
//! types a code and Enter); each answer is coloured and sounded by its signal; weighing takes the station's scale
//! reading (bridge, DWS, or the browser's own WebHID/WebSerial scale) or a typed weight. Works without scripts;
//! `pack.js` keeps the focus, queues fast scans, plays the tones and reads scales.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use codflow_app::floor::{LabelSent, PackView, ScanOutcome, Signal};
use codflow_domain::{Actor, PackId, Role, StationCode};
use minijinja::Value;

use super::Signed;
use crate::routes::floor::{WeighBody, weigh_with};
use crate::state::AppState;

/// Who packs (the API's stock keepers).
const PACKERS: &[Role] = &[Role::Ops, Role::Warehouse];
/// Who may let a parcel through that the station would not (override a scan, release a held parcel).
const SUPERVISORS: &[Role] = &[Role::Ops];

pub async fn station(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(PACKERS) {
        return r;
    }
    let code = q.get("station").map(|c| c.trim().to_owned()).unwrap_or_default();
    page(&s, &signed, &code, None, None).await
}

/// Every action of the screen is one form: a scan, a weighing, an override, a release, a reprint.
pub async fn act(State(s): State<Arc<AppState>>, signed: Signed, Form(f): Form<HashMap<String, String>>) -> Response {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let action = field("action");
    let roles = if matches!(action.as_str(), "override" | "release") { SUPERVISORS } else { PACKERS };
    if let Some(r) = signed.may_post(roles, &field("csrf")) {
        return r;
    }
    let code = field("station");
    let Ok(station) = StationCode::parse(&code) else {
        return page(&s, &signed, &code, None, None).await;
    };
    let actor = Actor::User(signed.0.id.clone());
    let pack = PackId::parse(&field("pack")).ok();
    let floor = s.app.floor();
    let number = |k: &str| -> Result<Option<i64>, String> {
        let v = field(k);
        if v.is_empty() {
            return Ok(None);
        }
        v.parse().map(Some).map_err(|_| signed.t_with("not-a-number", &[("field", k), ("value", &v)]))
    };
    let result: Result<ScanOutcome, String> = match (action.as_str(), &pack) {
        ("weigh", Some(id)) => match (number("weight_g"), number("length_cm"), number("width_cm"), number("height_cm"))
        {
            (Ok(weight_g), Ok(length_cm), Ok(width_cm), Ok(height_cm)) => {
                let source = (!field("source").is_empty()).then(|| field("source"));
                let body = WeighBody { weight_g, length_cm, width_cm, height_cm, source };
                weigh_with(&s, id, body, actor).await.map_err(|e| e.explained())
            }
            (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => Err(e),
        },
        ("override", Some(id)) => floor.override_verification(id, actor).await.map_err(explained),
        ("release", Some(id)) => floor.release(id, actor).await.map_err(explained),
        ("reprint", Some(id)) => floor.reprint(id).await.map_err(explained),
        _ => floor.scan(&station, &field("code"), pack.as_ref(), actor).await.map_err(explained),
    };
    match result {
        Ok(o) => page(&s, &signed, &code, Some(o), None).await,
        Err(message) => page(&s, &signed, &code, None, Some(message)).await,
    }
}

fn explained(e: codflow_app::Error) -> String {
    crate::ApiError::from(e).explained()
}

fn pack_value(v: &PackView) -> Value {
    let p = &v.pack;
    let items: Vec<Value> = v
        .items
        .iter()
        .map(|i| {
            minijinja::context! {
                sku => i.sku, title => i.title, needed => i.needed, scanned => i.scanned, bin => i.bin,
                done => i.scanned >= i.needed,
            }
        })
        .collect();
    let pdf = match &v.label {
        Some(LabelSent::Pdf(path)) => Some(path.clone()),
        _ => None,
    };
    let printer = match &v.label {
        Some(LabelSent::Printer(addr)) => Some(addr.clone()),
        _ => None,
    };
    minijinja::context! {
        id => p.id.to_string(), order_id => p.order_id.to_string(), order_ref => v.order_ref,
        tracking => v.tracking_number, channel => v.channel.to_string(), status => p.status.as_str(),
        items, weight_g => p.measure.map(|m| m.weight_g), outcome => p.outcome.map(|o| o.as_str()),
        task_id => p.task_id.as_ref().map(|t| t.to_string()), pdf, printer, customs => v.customs,
        shipment_id => p.shipment_id.to_string(),
        overridden_by => p.overridden_by,
        weighable => p.status == codflow_domain::floor::PackStatus::Verified,
        open => p.status == codflow_domain::floor::PackStatus::Open,
        held => p.status == codflow_domain::floor::PackStatus::Intercepted,
        packed => p.status == codflow_domain::floor::PackStatus::Packed,
    }
}

async fn page(
    s: &AppState,
    signed: &Signed,
    code: &str,
    outcome: Option<ScanOutcome>,
    error: Option<String>,
) -> Response {
    let floor = s.app.floor();
    let stations = match floor.stations().await {
        Ok(all) => all,
        Err(e) => return signed.fail(e),
    };
    let chosen = stations.iter().find(|st| st.code.as_str() == code).cloned();
    let station_list: Vec<Value> = stations
        .iter()
        .map(|st| minijinja::context! { code => st.code.to_string(), name => st.name, warehouse => st.warehouse.to_string() })
        .collect();
    let Some(station) = chosen else {
        let ctx = minijinja::context! { stations => station_list, station => Value::UNDEFINED, unknown => code };
        return signed.page(StatusCode::OK, "pack.html", &signed.t("nav-pack"), ctx);
    };
    // The parcel on screen: the one this answer is about, else the one still open at the station.
    let current = match outcome.as_ref().and_then(|o| o.pack.clone()) {
        Some(v) => Some(v),
        None => match floor.open_pack(&station.code).await {
            Ok(v) => v,
            Err(e) => return signed.fail(e),
        },
    };
    // The box to pack in, where the warehouse has boxes: a warehouse without any is not told about it.
    let box_advice = match &current {
        Some(v) => match s.app.fulfilment().packaging(&v.pack.order_id).await {
            Ok(r) => {
                let money = |m: codflow_domain::Money| format!("{} {}", m.amount_string(), m.currency);
                let codes: Vec<&str> = r.boxes.iter().map(|b| b.code.as_str()).collect();
                Some(minijinja::context! {
                    code => codes.join(" + "), total => money(r.total),
                    next => r.next_up.as_ref().map(|n| n.0.clone()), saves => r.next_up.map(|n| money(n.1)),
                })
            }
            Err(codflow_app::Error::Conflict { message, .. })
                if message == codflow_domain::packaging::NoFit::NoBoxes.to_string() =>
            {
                None
            }
            Err(codflow_app::Error::Conflict { message, .. }) => Some(minijinja::context! { why => message }),
            Err(e) => return signed.fail(e),
        },
        None => None,
    };
    let recent = match floor.pack_views(Some(&station.code), None, 10).await {
        Ok(r) => r,
        Err(e) => return signed.fail(e),
    };
    let recent: Vec<Value> = recent
        .iter()
        .map(|v| {
            let p = &v.pack;
            minijinja::context! {
                id => p.id.to_string(), order_id => p.order_id.to_string(), order_ref => v.order_ref,
                status => p.status.as_str(), outcome => p.outcome.map(|o| o.as_str()),
                weight_g => p.measure.map(|m| m.weight_g), at => p.updated_at.unix_timestamp(),
            }
        })
        .collect();
    let answer = match (&outcome, &error) {
        (Some(o), _) => {
            let mut params = o.params.clone();
            let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()).unwrap_or_default();
            // The reader's words for who acted and why a parcel is held; the carrier's own words stay as given.
            let me = format!("user:{}", signed.0.id);
            let cause = get("cause");
            let why = match cause.as_str() {
                "" | "rebook_failed" => get("why"),
                c => signed.t_with(&format!("hold-{c}"), &[("diff", &get("diff")), ("weight", &get("weight"))]),
            };
            for (k, v) in params.iter_mut() {
                match *k {
                    "by" if *v == me => *v = signed.0.username.clone(),
                    "why" => *v = why.clone(),
                    _ => {}
                }
            }
            let args: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let signal = match o.signal {
                Signal::Ok => "ok",
                Signal::Done => "done",
                Signal::Wrong => "wrong",
                Signal::Info => "info",
            };
            Some(
                minijinja::context! { signal, event => o.event, text => signed.t_with(&format!("scan-{}", o.event), &args) },
            )
        }
        (None, Some(message)) => Some(minijinja::context! { signal => "wrong", event => "refused", text => message }),
        (None, None) => None,
    };
    let ctx = minijinja::context! {
        stations => station_list,
        station => minijinja::context! {
            code => station.code.to_string(), name => station.name, warehouse => station.warehouse.to_string(),
            printer => station.printer.as_ref().map(|p| p.as_str().to_owned()),
        },
        answer,
        pack => current.as_ref().map(pack_value),
        box_advice,
        recent,
        supervisor => signed.0.role == Role::Admin || SUPERVISORS.contains(&signed.0.role),
    };
    signed.page(StatusCode::OK, "pack.html", &signed.t("nav-pack"), ctx)
}

/// Waves: the recent ones with their progress and pick lists, and a new one from a warehouse's waiting orders.
pub async fn waves(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(PACKERS) {
        return r;
    }
    let flash = q.get("created").map(|c| signed.t_with("wave-created", &[("wave", c)]));
    waves_page(&s, &signed, flash, None).await
}

pub async fn create_wave(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    if let Some(r) = signed.may_post(PACKERS, &field("csrf")) {
        return r;
    }
    let warehouse = match codflow_domain::WarehouseCode::parse(&field("warehouse")) {
        Ok(w) => w,
        Err(e) => return waves_page(&s, &signed, None, Some(e.to_string())).await,
    };
    let channel = match field("channel").as_str() {
        "" => None,
        c => match codflow_domain::ChannelCode::parse(c) {
            Ok(c) => Some(c),
            Err(e) => return waves_page(&s, &signed, None, Some(e.to_string())).await,
        },
    };
    let limit = match field("limit").as_str() {
        "" => 200,
        l => match l.parse() {
            Ok(n) => n,
            Err(_) => {
                let why = signed.t_with("not-a-number", &[("field", "limit"), ("value", l)]);
                return waves_page(&s, &signed, None, Some(why)).await;
            }
        },
    };
    let actor = Actor::User(signed.0.id.clone());
    let cutoff = Some(field("cutoff")).filter(|c| !c.is_empty());
    match s.app.floor().create_wave(&warehouse, channel.as_ref(), cutoff.as_deref(), limit, actor).await {
        Ok(v) => super::redirect(&format!("/waves?created={}", v.wave.code)),
        Err(e) => waves_page(&s, &signed, None, Some(explained(e))).await,
    }
}

async fn waves_page(s: &AppState, signed: &Signed, flash: Option<String>, error: Option<String>) -> Response {
    let floor = s.app.floor();
    let (list, warehouses, channels) = match (
        floor.waves(50).await,
        s.app.catalogue().warehouses(200, None).await,
        s.app.fulfilment().channels().await,
    ) {
        (Ok(l), Ok((w, _)), Ok(c)) => (l, w, c),
        (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => return signed.fail(e),
    };
    let rows: Vec<Value> = list
        .iter()
        .map(|v| {
            let slotted = v.orders.iter().filter(|o| o.slot.is_some()).count();
            minijinja::context! {
                id => v.wave.id.to_string(), code => v.wave.code, warehouse => v.wave.warehouse.to_string(),
                channel => v.wave.channel.as_ref().map(|c| c.to_string()), orders => v.orders.len(),
                singles => v.orders.len() - slotted, slotted, packed => v.packed, held => v.held,
                left => v.orders.len() - v.packed - v.held, at => v.wave.created_at.unix_timestamp(),
            }
        })
        .collect();
    let ctx = minijinja::context! {
        rows, flash, error,
        warehouses => warehouses.iter().map(|w| w.code.to_string()).collect::<Vec<_>>(),
        channels => channels.iter().map(|c| c.code.to_string()).collect::<Vec<_>>(),
    };
    signed.page(StatusCode::OK, "waves.html", &signed.t("nav-waves"), ctx)
}

pub async fn wave_pick_list(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    use axum::response::IntoResponse;
    if let Some(r) = signed.refused(PACKERS) {
        return r;
    }
    let Ok(id) = codflow_domain::WaveId::parse(&id) else {
        return signed.fail(codflow_app::Error::NotFound("wave"));
    };
    match s.app.floor().wave_pick_list(&id).await {
        Ok(d) => crate::routes::logistics::download(d.content_type, &d.filename, d.bytes).into_response(),
        Err(e) => signed.fail(e),
    }
}

/// Sorting: a scan field for packed parcels, the open bags (close, label, list), the closed ones waiting for
/// their carrier (a pickup per carrier), each pickup's bags scanned as they leave.
pub async fn bags(State(s): State<Arc<AppState>>, signed: Signed) -> Response {
    if let Some(r) = signed.refused(PACKERS) {
        return r;
    }
    bags_page(&s, &signed, None, None).await
}

pub async fn bags_act(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    if let Some(r) = signed.may_post(PACKERS, &field("csrf")) {
        return r;
    }
    let actor = Actor::User(signed.0.id.clone());
    let floor = s.app.floor();
    match field("action").as_str() {
        "close" => match codflow_domain::BagId::parse(&field("bag")) {
            Ok(id) => match floor.close_bag(&id, actor).await {
                Ok(b) => bags_page(&s, &signed, Some(signed.t_with("bag-closed", &[("bag", &b.code)])), None).await,
                Err(e) => bags_page(&s, &signed, None, Some((explained(e), "wrong"))).await,
            },
            Err(_) => signed.fail(codflow_app::Error::NotFound("bag")),
        },
        "pickup" => match floor.create_handover(&field("carrier"), actor).await {
            Ok(h) => super::redirect(&format!("/handovers/{}", h.id)),
            Err(e) => bags_page(&s, &signed, None, Some((explained(e), "wrong"))).await,
        },
        _ => match floor.sort(&field("code"), actor).await {
            Ok(o) => {
                let args: Vec<(&str, &str)> = o.params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let text = signed.t_with(&format!("sort-{}", o.event), &args);
                bags_page(&s, &signed, None, Some((text, signal_word(o.signal)))).await
            }
            Err(e) => bags_page(&s, &signed, None, Some((explained(e), "wrong"))).await,
        },
    }
}

pub(super) fn signal_word(signal: Signal) -> &'static str {
    match signal {
        Signal::Ok => "ok",
        Signal::Done => "done",
        Signal::Wrong => "wrong",
        Signal::Info => "info",
    }
}

fn bag_row(b: &codflow_domain::floor::Bag) -> Value {
    minijinja::context! {
        id => b.id.to_string(), code => b.code, carrier => b.carrier, channel => b.channel.to_string(),
        country => b.country.to_string(), parcels => b.parcels, weight_g => b.weight_g, status => b.status.as_str(),
        carrier_bag => b.carrier_ref,
        handover => b.handover.as_ref().map(|h| h.to_string()),
    }
}

async fn bags_page(
    s: &AppState,
    signed: &Signed,
    flash: Option<String>,
    answer: Option<(String, &'static str)>,
) -> Response {
    use codflow_domain::floor::BagStatus;
    let floor = s.app.floor();
    let (open, closed) =
        match (floor.bags(Some(BagStatus::Open), 200).await, floor.bags(Some(BagStatus::Closed), 200).await) {
            (Ok(o), Ok(c)) => (o, c),
            (Err(e), _) | (_, Err(e)) => return signed.fail(e),
        };
    let mut carriers: Vec<String> = closed.iter().filter(|b| b.handover.is_none()).map(|b| b.carrier.clone()).collect();
    carriers.sort();
    carriers.dedup();
    let answer = answer.map(|(text, signal)| minijinja::context! { text, signal });
    let ctx = minijinja::context! {
        flash, answer,
        open => open.iter().map(bag_row).collect::<Vec<_>>(),
        closed => closed.iter().map(bag_row).collect::<Vec<_>>(),
        carriers,
    };
    signed.page(StatusCode::OK, "bags.html", &signed.t("nav-bags"), ctx)
}

/// A pickup: its bags, each scanned onto the vehicle, and its manifest.
pub async fn handover(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    if let Some(r) = signed.refused(PACKERS) {
        return r;
    }
    let Ok(id) = codflow_domain::HandoverId::parse(&id) else {
        return signed.fail(codflow_app::Error::NotFound("handover"));
    };
    handover_page(&s, &signed, &id, None).await
}

pub async fn handover_scan(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let field = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    if let Some(r) = signed.may_post(PACKERS, &field("csrf")) {
        return r;
    }
    let Ok(id) = codflow_domain::HandoverId::parse(&id) else {
        return signed.fail(codflow_app::Error::NotFound("handover"));
    };
    let actor = Actor::User(signed.0.id.clone());
    if field("action") == "send" {
        let answer = match s.app.floor().send_manifest(&id, actor).await {
            Ok(h) => match (&h.carrier_ref, &h.carrier_error) {
                (Some(n), _) => (signed.t_with("handover-sent", &[("manifest", n)]), "done"),
                (None, why) => {
                    (signed.t_with("handover-send-failed", &[("why", why.as_deref().unwrap_or(""))]), "wrong")
                }
            },
            Err(e) => (explained(e), "wrong"),
        };
        return handover_page(&s, &signed, &id, Some(answer)).await;
    }
    let answer = match s.app.floor().hand_over(&id, &field("code"), actor).await {
        Ok(o) => {
            let args: Vec<(&str, &str)> = o.params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            (signed.t_with(&format!("sort-{}", o.event), &args), signal_word(o.signal))
        }
        Err(e) => (explained(e), "wrong"),
    };
    handover_page(&s, &signed, &id, Some(answer)).await
}

async fn handover_page(
    s: &AppState,
    signed: &Signed,
    id: &codflow_domain::HandoverId,
    answer: Option<(String, &'static str)>,
) -> Response {
    let answer = answer.map(|(text, signal)| minijinja::context! { text, signal });
    let h = match s.app.floor().handover(id).await {
        Ok(h) => h,
        Err(e) => return signed.fail(e),
    };
    let done = h.bags.iter().filter(|b| b.status == codflow_domain::floor::BagStatus::HandedOver).count();
    let ctx = minijinja::context! {
        answer, id => h.id.to_string(), carrier => h.carrier, at => h.created_at.unix_timestamp(),
        bags => h.bags.iter().map(bag_row).collect::<Vec<_>>(), done, total => h.bags.len(),
        parcels => h.bags.iter().map(|b| b.parcels).sum::<i64>(),
        carrier_api => h.carrier_api, carrier_manifest => h.carrier_ref, carrier_error => h.carrier_error,
    };
    signed.page(StatusCode::OK, "handover.html", &signed.t("nav-handover"), ctx)
}

/// A bag's label (ZPL) or list (PDF), and a pickup's manifest (PDF, CSV), for the signed-in floor.
pub async fn floor_document(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    axum::extract::Path((kind, id)): axum::extract::Path<(String, String)>,
) -> Response {
    use axum::response::IntoResponse;
    if let Some(r) = signed.refused(PACKERS) {
        return r;
    }
    let floor = s.app.floor();
    let doc = match kind.as_str() {
        "bag-label" | "bag-list" => match codflow_domain::BagId::parse(&id) {
            Ok(id) => floor.bag_document(&id, kind == "bag-list").await,
            Err(_) => Err(codflow_app::Error::NotFound("bag")),
        },
        "manifest-pdf" | "manifest-csv" => match codflow_domain::HandoverId::parse(&id) {
            Ok(id) => floor.manifest_document(&id, kind == "manifest-csv").await,
            Err(_) => Err(codflow_app::Error::NotFound("handover")),
        },
        _ => Err(codflow_app::Error::NotFound("document")),
    };
    match doc {
        Ok(d) => crate::routes::logistics::download(d.content_type, &d.filename, d.bytes).into_response(),
        Err(e) => signed.fail(e),
    }
}

/// The floor's day: parcels per station and hour, outcomes, why parcels were held, what re-rating saved, bags
/// waiting for their carrier. `?date=YYYY-MM-DD` (UTC day), today by default.
pub async fn floor_dashboard(
    State(s): State<Arc<AppState>>,
    signed: Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = signed.refused(PACKERS) {
        return r;
    }
    let today = super::dash::today(&s);
    let day = match q.get("date").map(String::as_str).filter(|d| !d.is_empty()) {
        None => today,
        Some(d) => match time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")) {
            Ok(d) => d,
            Err(_) => {
                return signed
                    .error(StatusCode::UNPROCESSABLE_ENTITY, &signed.t_with("floor-bad-date", &[("value", d)]));
            }
        },
    };
    let from = day.midnight().assume_utc();
    let (stats, base) =
        match (s.app.floor().stats(from, from + time::Duration::days(1)).await, s.app.review().base_currency().await) {
            (Ok(st), Ok(b)) => (st, b),
            (Err(e), _) | (_, Err(e)) => return signed.fail(e),
        };
    let hours: Vec<u8> = {
        let mut h: Vec<u8> = stats.per_station_hour.keys().map(|(_, h)| *h).collect();
        h.sort_unstable();
        h.dedup();
        h
    };
    let stations: Vec<Value> = stats
        .per_station
        .iter()
        .map(|(st, total)| {
            let cells: Vec<i64> =
                hours.iter().map(|h| stats.per_station_hour.get(&(st.clone(), *h)).copied().unwrap_or(0)).collect();
            minijinja::context! { station => st, cells, total => total }
        })
        .collect();
    let ctx = minijinja::context! {
        date => day.to_string(), hours => hours.iter().map(|h| format!("{h:02}:00")).collect::<Vec<_>>(), stations,
        outcomes => stats.outcomes.iter().map(|(k, v)| minijinja::context! { outcome => k, n => v }).collect::<Vec<_>>(),
        held => stats.held_by_cause.iter().map(|(k, v)| minijinja::context! { cause => k, n => v }).collect::<Vec<_>>(),
        savings => minijinja::context! { minor => stats.rerate_savings_minor, currency => base.code(), digits => base.minor_digits() },
        moved => stats.moved, bags_open => stats.bags_open, bags_waiting => stats.bags_awaiting_pickup,
        parcels_waiting => stats.parcels_awaiting_pickup,
    };
    signed.page(StatusCode::OK, "floor_dashboard.html", &signed.t("nav-floor-dashboard"), ctx)
}
