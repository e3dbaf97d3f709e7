//! The carrier speaking Yanwen's open platform, as its public SDK integrations call it: `POST /yanwen/api/order`
//! with `user_id`, `method`, `format=json`, `timestamp`, `version=V1.0` and `sign` (lower-case hex MD5 of token +
//! user id + body + format + method + timestamp + version + token) in the query and the data as the JSON body;
//! methods `express.order.create`, `express.order.getlist`, `express.order.label.get`, `express.order.cancel`;
//! replies `{"success", "code", "message", "data"}`. Tracking at `GET /yanwen/api/tracking?nums=…` with the user id
//! as `Authorization`, as Yanwen's track API answers: `{"code": 0, "result": [{tracking_number, tracking_status,
//! checkpoints: [{time_stamp, time_zone, tracking_status, message, location}]}]}`.
//!
//! Checkpoint status PU10 (Yanwen acceptance) is Yanwen's; the others this server sends are its own, and so are
//! its error codes (the SDKs do not publish Yanwen's).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use time::UtcOffset;

use crate::model::Event;
use crate::{Amount, Carrier, CreateShipment, Party, Piece, book_parcel, cancel_parcel};

pub const TEST_USER_ID: &str = "100000";
pub const TEST_TOKEN: &str = "codflow-yanwen-token";

/// Yanwen's checkpoint status for a sandbox scan.
pub fn status(sandbox: &str) -> &'static str {
    match sandbox {
        "LBL" => "OR10",
        "PKP" => "PU10",
        "DEP" => "SC20",
        "ARR-CUS" => "CC10",
        "CUS-HLD-DOC" | "CUS-HLD-DTY" | "CUS-HLD-INS" => "CC20",
        "CUS-REL" => "CC30",
        "ARR-HUB" => "LM10",
        "OFD" => "LM20",
        "DLV" | "COD" => "LM40",
        "NDR-RF" => "LM50",
        "NDR-NH" => "LM51",
        "RTS" => "RT10",
        "RTD" => "RT20",
        "LST" => "EX10",
        "CAN" => "CA10",
        _ => "SC20",
    }
}

pub fn sign(token: &str, user_id: &str, data: &str, method: &str, timestamp: &str) -> String {
    let mut h = Md5::new();
    for part in [token, user_id, data, "json", method, timestamp, "V1.0", token] {
        h.update(part.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn reply(success: bool, code: &str, message: &str, data: Value) -> Response {
    axum::Json(json!({"success": success, "code": code, "message": message, "data": data})).into_response()
}

fn refuse(code: &str, message: &str) -> Response {
    reply(false, code, message, Value::Null)
}

fn waybill_of(sandbox: &str) -> String {
    let digits: String = sandbox.chars().filter(char::is_ascii_digit).collect();
    format!("YW{:0>10}", &digits[digits.len().saturating_sub(10)..])
}

fn text(v: &Value, path: &str) -> Result<String, String> {
    let mut cur = v;
    for p in path.split('.') {
        cur = &cur[p];
    }
    match cur {
        Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(format!("{path} is required")),
    }
}

fn order(v: &Value) -> Result<CreateShipment, String> {
    for k in [
        "channelId",
        "orderNumber",
        "receiverInfo.name",
        "receiverInfo.country",
        "receiverInfo.address",
        "receiverInfo.phone",
        "receiverInfo.city",
        "parcelInfo.currency",
    ] {
        text(v, k)?;
    }
    let grams = v["parcelInfo"]["totalWeight"].as_i64().filter(|g| (1..=30_000).contains(g));
    let grams = grams.ok_or("parcelInfo.totalWeight must be grams, 1 to 30000")?;
    let products = v["parcelInfo"]["productList"].as_array().map_or(0, Vec::len);
    if !(1..=5).contains(&products) {
        return Err("parcelInfo.productList must hold 1 to 5 products".into());
    }
    let r = &v["receiverInfo"];
    let opt = |x: &Value| x.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(CreateShipment {
        reference: text(v, "orderNumber")?,
        service: text(v, "channelId")?,
        shipper: Party {
            name: "Yanwen client".into(),
            phone: None,
            line1: None,
            line2: None,
            city: "Shenzhen".into(),
            region: None,
            postal_code: None,
            country: "CN".into(),
        },
        consignee: Party {
            name: text(v, "receiverInfo.name")?,
            phone: opt(&r["phone"]),
            line1: opt(&r["address"]),
            line2: None,
            city: text(v, "receiverInfo.city")?,
            region: opt(&r["state"]),
            postal_code: opt(&r["zipCode"]),
            country: text(v, "receiverInfo.country")?,
        },
        pieces: vec![Piece { weight_g: grams, length_cm: None, width_cm: None, height_cm: None }],
        cod: None,
        declared_value: Amount {
            amount: v["parcelInfo"]["totalPrice"].to_string(),
            currency: text(v, "parcelInfo.currency")?,
        },
        incoterm: None,
    })
}

fn parcel(c: &Carrier, waybill: &str) -> Option<String> {
    c.lock().aliases.get(waybill).cloned().filter(|_| waybill.starts_with("YW"))
}

pub(crate) async fn order_api(
    State(c): State<Arc<Carrier>>,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let (user, token) = &c.config.yanwen;
    if get("user_id") != user.as_str() {
        return refuse("1001", "user_id does not exist");
    }
    if get("format") != "json" || get("version") != "V1.0" || get("timestamp").is_empty() {
        return refuse("1000", "format json, version V1.0 and timestamp are required");
    }
    let data = String::from_utf8_lossy(&body);
    if get("sign") != sign(token, user, &data, get("method"), get("timestamp")) {
        return refuse("1002", "sign is invalid");
    }
    if let Some(f) = crate::protocol_fault(&c, "yanwen").await {
        return f;
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return refuse("1000", "the body is not JSON"),
    };
    let now = c.now();
    match get("method") {
        "express.order.create" => {
            let req = match order(&v) {
                Ok(r) => r,
                Err(m) => return refuse("2001", &m),
            };
            let key = format!("yw:{}", req.reference);
            let mut b = c.lock();
            if b.by_key.contains_key(&key) {
                return refuse("2002", &format!("orderNumber {} already exists", req.reference));
            }
            b.create_calls += 1;
            let number = req.reference.clone();
            let (t, _) = book_parcel(&c, &mut b, &key, req, now);
            let waybill = waybill_of(&t);
            b.aliases.insert(waybill.clone(), t);
            reply(
                true,
                "0",
                "success",
                json!({"waybillNumber": waybill, "orderNumber": number,
                "referenceNumber": "", "yanwenNumber": waybill}),
            )
        }
        "express.order.getlist" => {
            let b = c.lock();
            let list: Vec<Value> = v["listNumber"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str())
                .filter_map(|n| {
                    let t = b
                        .by_key
                        .get(&format!("yw:{n}"))
                        .or_else(|| b.aliases.get(n).filter(|_| n.starts_with("YW")))?;
                    Some(json!({"waybillNumber": waybill_of(t), "orderNumber": b.shipments.get(t)?.request.reference}))
                })
                .collect();
            reply(true, "0", "success", json!(list))
        }
        "express.order.label.get" => {
            let waybill = v["waybillNumber"].as_str().unwrap_or("");
            if parcel(&c, waybill).is_none() {
                return reply(
                    true,
                    "0",
                    "success",
                    json!({"waybillNumber": waybill, "isSuccess": false,
                    "errorMsg": format!("waybill {waybill} does not exist")}),
                );
            }
            let pdf = base64::engine::general_purpose::STANDARD.encode(crate::label_pdf(&format!("Yanwen {waybill}")));
            reply(
                true,
                "0",
                "success",
                json!({"waybillNumber": waybill, "isSuccess": true, "errorMsg": "",
                "base64String": pdf, "labelType": "10x10"}),
            )
        }
        "express.order.cancel" => {
            let waybill = v["waybillNumber"].as_str().unwrap_or("");
            let Some(t) = parcel(&c, waybill) else {
                return refuse("2004", &format!("waybill {waybill} does not exist"));
            };
            match cancel_parcel(&mut c.lock(), &t, now) {
                Ok(()) => reply(true, "0", "success", json!("cancelled")),
                Err(_) => refuse("2005", "the parcel was received by Yanwen and cannot be cancelled"),
            }
        }
        other => refuse("1003", &format!("method {other:?} does not exist")),
    }
}

pub(crate) async fn tracking(
    State(c): State<Arc<Carrier>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if auth != c.config.yanwen.0 {
        return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({"code": 401, "message": "unauthorized"})))
            .into_response();
    }
    if let Some(f) = crate::protocol_fault(&c, "yanwen").await {
        return f;
    }
    let now = c.now();
    let cn = UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC);
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let mut b = c.lock();
    let mut results = Vec::new();
    for n in q.get("nums").map(String::as_str).unwrap_or("").split(',').filter(|n| !n.is_empty()).take(40) {
        let Some(t) = b.aliases.get(n).filter(|_| n.starts_with("YW")).cloned() else {
            results.push(json!({"tracking_number": n, "tracking_status": "NOTFOUND", "checkpoints": []}));
            continue;
        };
        let s = b.shipments.get_mut(&t).expect("aliased parcels exist");
        s.tracking_requests += 1;
        let checkpoints: Vec<Value> = s
            .visible(now)
            .map(|e: &Event| {
                json!({"time_stamp": e.at.to_offset(cn).format(&fmt).unwrap_or_default(), "time_zone": "+8",
                       "tracking_status": status(e.code), "message": e.description, "location": e.location})
            })
            .collect();
        let last = checkpoints.last().and_then(|c| c["tracking_status"].as_str()).unwrap_or("OR10").to_owned();
        results.push(json!({"tracking_number": n, "tracking_status": last, "last_mile_tracking_expected": false,
                            "checkpoints": checkpoints}));
    }
    axum::Json(json!({"code": 0, "message": "success", "result": results, "elapsedMilliseconds": 1})).into_response()
}
