//! The carrier speaking 4PX's open platform (FOP) protocol, as 4PX documents it at open.4px.com ("API接入说明",
//! the `ds.xms.*` direct-shipping methods and `tr.order.tracking.get`) and as its official SDKs call it:
//!
//! - one gateway, `POST /4px/router/api/service`, the common parameters in the query (`app_key`, `format=json`,
//!   `method`, `timestamp` in ms, `v`, `sign`; `access_token` and `language` not signed), the business
//!   parameters as the JSON body;
//! - `sign` = lower-case hex MD5 of `app_key{k}format{f}method{m}timestamp{t}v{v}` + body + app secret;
//! - replies `{"result":"1"|"0","msg":…,"errors":[{"error_code","error_msg"}],"data":…}` on HTTP 200; an unknown
//!   method is an HTTP 500 text page from the gateway.
//!
//! The parcels it books are the sandbox's parcels: the same journeys, clock and reports, with 4PX's event codes
//! (`businessLinkCode`, dictionary "轨迹代码" at open.4px.com/v2/help/customdata). Where 4PX publishes no reply
//! (its call quota), the server answers what a gateway answers: HTTP 429 with `Retry-After`.
//!
//! Bags and pickups follow the seller-side collection methods 4PX lists on its open platform and its SDKs call
//! (`ds.xms.api.collect.create.big` "新增预约组包": a pickup address and bags by the seller's `bag_no`, each with
//! its parcels' numbers, answered with a `bag_collect_no` per bag; `ds.xms.api.collect.create.order` "创建揽收预约单":
//! a pickup booked for a day, answered with a `collect_no`; `ds.xms.api.collect.cancel.big`). 4PX does not publish
//! how a repeated `bag_no` or a booking's bags are tied together: here a `bag_no` is refused when it is
//! registered already, and a pickup collects every bag grouped and not yet collected.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use md5::{Digest, Md5};
use serde_json::{Value, json};
use time::{OffsetDateTime, UtcOffset};

use crate::{Amount, Carrier, CreateShipment, Party, Piece, amount_str, billable_kg, book_parcel, cancel_parcel};

/// The app key and secret the server accepts unless configured otherwise.
pub const TEST_APP_KEY: &str = "codflow-4px-test";
pub const TEST_APP_SECRET: &str = "codflow-4px-secret";

/// How far a request's timestamp may be from the server's clock (4PX: 10 minutes).
const CLOCK_SKEW_MS: i128 = 600_000;

/// The lower-case hex MD5 signature 4PX expects over the common parameters, the body and the secret.
pub fn sign(app_key: &str, method: &str, timestamp: &str, v: &str, body: &[u8], secret: &str) -> String {
    let mut h = Md5::new();
    h.update(format!("app_key{app_key}formatjsonmethod{method}timestamp{timestamp}v{v}").as_bytes());
    h.update(body);
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn ok(data: Value) -> Response {
    axum::Json(json!({"result": "1", "msg": "系统处理成功", "errors": [], "data": data})).into_response()
}

fn refused(code: &str, message: impl Into<String>) -> Response {
    let message = message.into();
    axum::Json(
        json!({"result": "0", "msg": message, "errors": [{"error_code": code, "error_msg": message}], "data": null}),
    )
    .into_response()
}

/// 4PX's event code for a sandbox scan.
fn event_code(sandbox: &str) -> &'static str {
    match sandbox {
        "LBL" => "FPX_L_RPIF",
        "PKP" => "FPX_C_SPLS",
        "DEP" => "FPX_C_ADFF",
        "ARR-CUS" => "FPX_M_ATA",
        "CUS-HLD-DOC" => "FPX_I_HCDOC",
        "CUS-HLD-DTY" => "FPX_I_HCTAX",
        "CUS-HLD-INS" => "FPX_I_HCINS",
        "CUS-REL" => "FPX_I_RC",
        "ARR-HUB" => "FPX_D_AAD",
        "OFD" => "FPX_D_SD",
        "DLV" | "COD" => "FPX_S_OK",
        "NDR-RF" => "FPX_D_FDRF",
        "NDR-NH" => "FPX_D_FDNH",
        "RTS" => "FPX_O_RTR",
        "RTD" => "FPX_O_RTOC",
        "LST" => "FPX_M_LOST",
        "CAN" => "FPX_O_CNL",
        _ => "FPX_M_IT",
    }
}

fn text(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    match cur {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn party(v: &Value) -> Party {
    let name = [text(v, &["first_name"]), text(v, &["last_name"])].join(" ").trim().to_owned();
    let opt = |s: String| (!s.is_empty()).then_some(s);
    Party {
        name,
        phone: opt(text(v, &["phone"])),
        line1: opt(text(v, &["street"])),
        line2: None,
        city: text(v, &["city"]),
        region: opt(text(v, &["state"])),
        postal_code: opt(text(v, &["post_code"])),
        country: text(v, &["country"]),
    }
}

/// The order as the sandbox books it, or the field 4PX would name and why.
fn order(body: &Value) -> Result<CreateShipment, (String, String)> {
    let need = |path: &[&str]| {
        let s = text(body, path);
        if s.trim().is_empty() { Err((path.join("."), "is required".to_owned())) } else { Ok(s) }
    };
    let reference = need(&["ref_no"])?;
    let service = need(&["logistics_service_info", "logistics_product_code"])?;
    need(&["recipient_info", "first_name"])?;
    need(&["recipient_info", "city"])?;
    need(&["recipient_info", "phone"])?;
    let country = need(&["recipient_info", "country"])?;
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(("recipient_info.country".into(), "a two-letter country code".into()));
    }
    if !matches!(text(body, &["duty_type"]).as_str(), "U" | "P") {
        return Err(("duty_type".into(), "U (DDU) or P (DDP)".into()));
    }
    let parcels = body["parcel_list"]
        .as_array()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ("parcel_list".to_owned(), "one parcel or more".to_owned()))?;
    let mut pieces = Vec::new();
    let mut value_minor = 0i64;
    let mut currency = String::new();
    for (i, p) in parcels.iter().enumerate() {
        let w = p["weight"].as_i64().filter(|w| (1..=70_000).contains(w));
        let w = w.ok_or_else(|| (format!("parcel_list[{i}].weight"), "grams, 1 to 70000".to_owned()))?;
        let dims = |k: &str| p[k].as_i64();
        pieces.push(Piece {
            weight_g: w,
            length_cm: dims("length"),
            width_cm: dims("width"),
            height_cm: dims("height"),
        });
        currency = text(p, &["currency"]);
        let value = text(p, &["parcel_value"]);
        let minor = crate::parse_amount(&Amount { amount: value.clone(), currency: currency.clone() });
        value_minor +=
            minor.ok_or_else(|| (format!("parcel_list[{i}].parcel_value"), format!("{value:?} is not an amount")))?;
        if p["declare_product_info"].as_array().is_none_or(|d| d.is_empty()) {
            return Err((format!("parcel_list[{i}].declare_product_info"), "one declared product or more".into()));
        }
    }
    let shipper = party(&body["sender"]);
    Ok(CreateShipment {
        reference,
        service,
        shipper: if shipper.city.is_empty() {
            Party { city: "Shenzhen".into(), country: "CN".into(), ..shipper }
        } else {
            shipper
        },
        consignee: party(&body["recipient_info"]),
        pieces,
        cod: None,
        declared_value: Amount { amount: amount_str(value_minor, &currency), currency },
        incoterm: Some(if text(body, &["duty_type"]) == "P" { "DDP".into() } else { "DDU".into() }),
    })
}

/// 4PX's numbers for a parcel the sandbox booked as `tracking`.
fn numbers(reference: &str, tracking: &str) -> Value {
    json!({
        "ref_no": reference,
        "4px_tracking_no": format!("4PX{}", tracking.trim_start_matches("SB")),
        "ds_consignment_no": format!("DS{}", &tracking[2..tracking.len().min(11)]),
        "logistics_channel_no": tracking,
        "label_barcode": tracking,
    })
}

/// The sandbox parcel a 4PX number (its own, the channel number or the customer's ref_no) stands for.
fn find(c: &Carrier, request_no: &str) -> Option<String> {
    let b = c.lock();
    if b.shipments.contains_key(request_no) {
        return Some(request_no.to_owned());
    }
    if let Some(t) = request_no.strip_prefix("4PX").map(|t| format!("SB{t}")).filter(|t| b.shipments.contains_key(t)) {
        return Some(t);
    }
    b.by_key.get(&format!("4px:{request_no}")).cloned()
}

fn local(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC));
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year(), t.month() as u8, t.day(), t.hour(), t.minute(), t.second())
}

/// A bag grouped for collection through `ds.xms.api.collect.create.big`.
pub(crate) struct CollectBag {
    pub bag_no: String,
    pub parcels: Vec<String>,
    pub cancelled: bool,
    /// The pickup booked for it, once one is.
    pub collect_no: Option<String>,
}

/// Why a collection call's pickup point is refused, if it is.
fn pickup_refusal(body: &Value) -> Option<Response> {
    let p = &body["pickup_info"];
    ["name", "phone", "city", "detail_address"]
        .into_iter()
        .find(|f| text(p, &[f]).is_empty())
        .map(|f| refused("DS000001", format!("pickup_info.{f}: required")))
}

fn collect(c: &Carrier, method: &str, body: &Value) -> Response {
    match method {
        "ds.xms.api.collect.create.big" => {
            if let Some(r) = pickup_refusal(body) {
                return r;
            }
            let bags = body["bag_list"].as_array().cloned().unwrap_or_default();
            if bags.is_empty() || bags.len() > 50 {
                return refused("DS000001", "bag_list: 1 to 50 bags");
            }
            let mut wanted = Vec::with_capacity(bags.len());
            for (i, bag) in bags.iter().enumerate() {
                let bag_no = text(bag, &["bag_no"]);
                let numbers: Vec<String> = bag["order_list"]
                    .as_array()
                    .map(|l| l.iter().map(|o| text(o, &["ref_no"])).collect())
                    .unwrap_or_default();
                if bag_no.is_empty() || numbers.is_empty() {
                    return refused("DS000001", format!("bag_list[{i}]: a bag_no and at least one order"));
                }
                let mut parcels = Vec::with_capacity(numbers.len());
                for n in numbers {
                    match find(c, &n) {
                        Some(t) => parcels.push(t),
                        None => return refused("DS000020", format!("ref_no {n} does not exist (单号不存在)")),
                    }
                }
                wanted.push((bag_no, parcels));
            }
            let mut b = c.lock();
            if let Some((n, _)) =
                wanted.iter().find(|(n, _)| b.fourpx_bags.values().any(|x| !x.cancelled && x.bag_no == *n))
            {
                return refused("DS000040", format!("bag_no {n} is registered already (袋号已存在)"));
            }
            let mut out = Vec::with_capacity(wanted.len());
            for (bag_no, parcels) in wanted {
                b.serial += 1;
                let no = format!("BC{:010}", b.serial);
                out.push(json!({"bag_collect_no": no, "bag_no": bag_no}));
                b.fourpx_bags.insert(no, CollectBag { bag_no, parcels, cancelled: false, collect_no: None });
            }
            ok(json!({"bag_list": out}))
        }
        "ds.xms.api.collect.cancel.big" => {
            let no = text(body, &["bag_collect_no"]);
            let mut b = c.lock();
            match b.fourpx_bags.get_mut(&no) {
                Some(bag) if bag.collect_no.is_none() => {
                    bag.cancelled = true;
                    ok(Value::Null)
                }
                Some(_) => refused("DS000050", format!("bag {no} is booked for collection (已预约揽收)")),
                None => refused("DS000020", format!("bag_collect_no {no} does not exist")),
            }
        }
        _ => {
            // ds.xms.api.collect.create.order
            if let Some(r) = pickup_refusal(body) {
                return r;
            }
            let day = text(body, &["reserve_time"]);
            let today = c.now().to_offset(UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC)).date();
            let format = time::macros::format_description!("[year]-[month]-[day]");
            match time::Date::parse(&day, &format) {
                Ok(d) if d >= today => {}
                _ => return refused("DS000001", "reserve_time: a day (yyyy-MM-dd), today or later in China"),
            }
            let mut b = c.lock();
            b.serial += 1;
            let no = format!("CO{:010}", b.serial);
            let mut taken = 0;
            for bag in b.fourpx_bags.values_mut().filter(|x| !x.cancelled && x.collect_no.is_none()) {
                bag.collect_no = Some(no.clone());
                taken += 1;
            }
            if taken == 0 {
                return refused("DS000060", "no bag is waiting for collection (无待揽收大包)");
            }
            ok(json!({"collect_no": no}))
        }
    }
}

async fn call(c: &Carrier, method: &str, body: &Value, base: &str) -> Response {
    match method {
        "ds.xms.api.collect.create.big" | "ds.xms.api.collect.cancel.big" | "ds.xms.api.collect.create.order" => {
            collect(c, method, body)
        }
        "ds.xms.order.create" => {
            let req = match order(body) {
                Ok(r) => r,
                Err((field, why)) => return refused("DS000001", format!("{field}: {why}")),
            };
            let key = format!("4px:{}", req.reference);
            let now = c.now();
            let mut b = c.lock();
            if b.by_key.contains_key(&key) {
                return refused("DS000010", format!("ref_no {} already exists (客户单号已存在)", req.reference));
            }
            b.create_calls += 1;
            let reference = req.reference.clone();
            let (tracking, _) = book_parcel(c, &mut b, &key, req, now);
            ok(numbers(&reference, &tracking))
        }
        "ds.xms.order.get" => {
            let no = text(body, &["request_no"]);
            match find(c, &no) {
                Some(t) => {
                    let b = c.lock();
                    let s = &b.shipments[&t];
                    let mut d = numbers(&s.request.reference, &t);
                    d["consignment_status"] = json!(if s.cancelled { "X" } else { "P" });
                    ok(json!([d]))
                }
                None => ok(json!([])),
            }
        }
        "ds.xms.label.get" => {
            let no = text(body, &["request_no"]);
            match find(c, &no) {
                Some(t) => ok(json!({"label_url_info": {"logistics_label": format!("{base}/4px/labels/{t}.pdf")}})),
                None => refused("DS000020", format!("request_no {no} does not exist (单号不存在)")),
            }
        }
        "ds.xms.order.cancel" => {
            let no = text(body, &["request_no"]);
            let Some(t) = find(c, &no) else {
                return refused("DS000020", format!("request_no {no} does not exist (单号不存在)"));
            };
            let now = c.now();
            match cancel_parcel(&mut c.lock(), &t, now) {
                Ok(()) => ok(json!({"request_no": no})),
                Err(_) => {
                    refused("DS000030", "the parcel was received by 4PX and cannot be cancelled (已交货不可取消)")
                }
            }
        }
        "tr.order.tracking.get" => {
            let no = text(body, &["deliveryOrderNo"]);
            let Some(t) = find(c, &no) else {
                return refused("TR000001", format!("no tracking for {no} (无轨迹信息)"));
            };
            let now = c.now();
            let mut b = c.lock();
            let s = b.shipments.get_mut(&t).expect("found above");
            s.tracking_requests += 1;
            // 4PX lists the newest scan first.
            let list: Vec<Value> = s
                .visible(now)
                .map(|e| {
                    json!({"businessLinkCode": event_code(e.code), "occurDatetime": local(e.at), "timeZone": "UTC+08:00",
                           "occurLocation": e.location, "trackingContent": e.description})
                })
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            ok(json!({"deliveryOrderNo": no, "trackingList": list}))
        }
        "ds.xms.estimated_cost.get" => {
            let country = text(body, &["country_code"]);
            let Some(weight) = body["weight"].as_i64().filter(|w| (1..1_000_000).contains(w)) else {
                return refused("DS000001", "weight: grams, 1 to 999999");
            };
            if country.len() != 2 {
                return refused("DS000001", "country_code: a two-letter country code");
            }
            let piece = Piece {
                weight_g: weight,
                length_cm: body["length"].as_i64(),
                width_cm: body["width"].as_i64(),
                height_cm: body["height"].as_i64(),
            };
            let kg = billable_kg(std::slice::from_ref(&piece));
            let lane = c.config.model.lane(&country);
            // 4PX quotes in CNY: the sandbox's USD freight at 7.2 CNY per USD, to the fen.
            let fen = lane.freight_minor(kg) * 72 / 10;
            ok(json!([{
                "logistics_product_code": text(body, &["logistics_product_code"]),
                "charge_weight": kg * 1000,
                "lump_sum_fee": amount_str(fen, "CNY"),
                "timely": format!("{}-{}", lane.transit_days, lane.transit_days + 3),
            }]))
        }
        other => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/html; charset=utf-8")],
            format!("<html><body><h1>ApiException</h1><p>API接口不存在: {other}</p></body></html>"),
        )
            .into_response(),
    }
}

/// The gateway: checks the common parameters and the signature, applies injected faults, then the method.
pub(crate) async fn service(
    State(c): State<Arc<Carrier>>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let p = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    for k in ["app_key", "format", "method", "timestamp", "v", "sign"] {
        if p(k).is_empty() {
            return refused("000001", format!("missing common parameter {k} (缺少公共参数)"));
        }
    }
    let (key, secret) = (&c.config.fourpx.0, &c.config.fourpx.1);
    if p("app_key") != key {
        return refused("000011", "app_key does not exist (app_key不存在)");
    }
    let sent: i128 = p("timestamp").parse().unwrap_or(0);
    let now_ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    if (now_ms - sent).abs() > CLOCK_SKEW_MS {
        return refused("000013", "timestamp expired (时间戳已过期)");
    }
    if sign(p("app_key"), p("method"), p("timestamp"), p("v"), &body, secret) != p("sign").to_ascii_lowercase() {
        return refused("000012", "sign verify failed (签名验证失败)");
    }
    if let Some(f) = crate::protocol_fault(&c, "4px").await {
        return f;
    }
    let parsed: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return refused("000002", "the body is not a JSON object (业务参数格式错误)"),
        }
    };
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    call(&c, p("method"), &parsed, &format!("http://{host}")).await
}

/// A label as 4PX links it: a one-page PDF carrying the tracking number.
pub(crate) async fn label(State(c): State<Arc<Carrier>>, Path(file): Path<String>) -> Response {
    let t = file.trim_end_matches(".pdf");
    if !c.lock().shipments.contains_key(t) {
        return (StatusCode::NOT_FOUND, "no such label").into_response();
    }
    ([("content-type", "application/pdf")], crate::label_pdf(&format!("4PX {t}"))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_parameters_in_order_then_the_body_then_the_secret() {
        let s = sign("k", "ds.xms.order.create", "1532592413187", "1.0", br#"{"aa":"bb"}"#, "s");
        // hashlib.md5(b'app_keykformatjsonmethodds.xms.order.createtimestamp1532592413187v1.0{"aa":"bb"}s')
        let expected = "edd5cc2bdf6f29daf2699980ec3f2198";
        assert_eq!(s, expected);
        assert_eq!(s.len(), 32);
        assert_ne!(s, sign("k", "ds.xms.order.create", "1532592413187", "1.0", br#"{"aa":"bc"}"#, "s"));
    }
}
