//! The carrier speaking YunExpress's (云途物流) OMS API (oms.api.yunexpress.com, its "API接口文档" and the SDKs built
//! on it): `Authorization: Basic base64(customer code & api secret)`; `POST /api/WayBill/CreateOrder` (a list of
//! orders; weight in KG; each answered in `Item[]` with `Success` and `Remark`), `GET /api/WayBill/GetOrder
//! ?OrderNumber=` (by the customer's order number or the waybill), `POST /api/WayBill/Delete`, `POST
//! /api/Label/Print` (label URLs), `GET /api/Tracking/GetTrackInfo?OrderNumber=`, `GET /api/Freight/GetPriceTrial`.
//! Replies `{"Item": …, "Code": "0000", "Message": …}`; another `Code` is a refusal.
//!
//! Of the tracking codes, YunExpress's documents describe the node texts, not a code list; the `TrackCode`s this
//! server sends are its own.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::{Amount, Carrier, CreateShipment, Party, Piece, amount_str, billable_kg, book_parcel, cancel_parcel, fmt};

pub const TEST_CUSTOMER: &str = "C88888";
pub const TEST_SECRET: &str = "codflow-yun-secret";

/// The tracking code this server gives a sandbox scan.
pub fn track_code(sandbox: &str) -> (&'static str, &'static str) {
    match sandbox {
        "LBL" => ("YT00", "Order information received"),
        "PKP" => ("YT10", "Picked up by YunExpress"),
        "DEP" => ("YT20", "Departed from the origin hub"),
        "ARR-CUS" => ("YT30", "Arrived at destination customs"),
        "CUS-HLD-DOC" => ("YT31", "Customs hold: documents required"),
        "CUS-HLD-DTY" => ("YT32", "Customs hold: duties unpaid"),
        "CUS-HLD-INS" => ("YT33", "Customs hold: inspection"),
        "CUS-REL" => ("YT35", "Customs cleared"),
        "ARR-HUB" => ("YT40", "Arrived at the last-mile hub"),
        "OFD" => ("YT50", "Out for delivery"),
        "DLV" | "COD" => ("YT60", "Delivered"),
        "NDR-RF" => ("YT71", "Delivery failed: refused"),
        "NDR-NH" => ("YT72", "Delivery failed: recipient not available"),
        "RTS" => ("YT80", "Returning to the shipper"),
        "RTD" => ("YT81", "Returned to the shipper"),
        "LST" => ("YT90", "Lost"),
        "CAN" => ("YT99", "Order deleted"),
        _ => ("YT25", "In transit"),
    }
}

fn reply(code: &str, message: &str, item: Value) -> Response {
    axum::Json(json!({"Item": item, "Code": code, "Message": message, "RequestId": "sbx", "TimeStamp": "0"}))
        .into_response()
}

async fn gate(c: &Carrier, headers: &HeaderMap) -> Option<Response> {
    let want = base64::engine::general_purpose::STANDARD
        .encode(format!("{}&{}", c.config.yunexpress.0, c.config.yunexpress.1));
    let got = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
    if got != Some(want.as_str()) {
        return Some(
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"Code": "401", "Message": "Authorization has been denied for this request."})),
            )
                .into_response(),
        );
    }
    crate::protocol_fault(c, "yunexpress").await
}

fn text(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn order(v: &Value) -> Result<CreateShipment, String> {
    let r = &v["Receiver"];
    for (o, k) in [
        (v, "CustomerOrderNumber"),
        (v, "ShippingMethodCode"),
        (r, "CountryCode"),
        (r, "FirstName"),
        (r, "Street"),
        (r, "City"),
        (r, "Phone"),
    ] {
        if text(o, k).trim().is_empty() {
            let path = if std::ptr::eq(o, r) { format!("Receiver.{k}") } else { k.to_owned() };
            return Err(format!("{path} is required"));
        }
    }
    let kg = v["Weight"].as_f64().filter(|w| *w > 0.0 && *w <= 30.0).ok_or("Weight: KG, above 0 and at most 30")?;
    let parcels = v["Parcels"].as_array().filter(|p| !p.is_empty()).ok_or("Parcels: one declared item or more")?;
    let currency = text(&parcels[0], "CurrencyCode");
    let opt = |s: String| (!s.is_empty()).then_some(s);
    Ok(CreateShipment {
        reference: text(v, "CustomerOrderNumber"),
        service: text(v, "ShippingMethodCode"),
        shipper: Party {
            name: "YunExpress shipper".into(),
            phone: None,
            line1: None,
            line2: None,
            city: "Shenzhen".into(),
            region: None,
            postal_code: None,
            country: "CN".into(),
        },
        consignee: Party {
            name: format!("{} {}", text(r, "FirstName"), text(r, "LastName")).trim().to_owned(),
            phone: opt(text(r, "Phone")),
            line1: opt(text(r, "Street")),
            line2: None,
            city: text(r, "City"),
            region: opt(text(r, "State")),
            postal_code: opt(text(r, "Zip")),
            country: text(r, "CountryCode"),
        },
        pieces: vec![Piece {
            weight_g: (kg * 1000.0).round() as i64,
            length_cm: None,
            width_cm: None,
            height_cm: None,
        }],
        cod: None,
        declared_value: Amount {
            amount: amount_str(0, if currency.len() == 3 { &currency } else { "USD" }),
            currency: if currency.len() == 3 { currency } else { "USD".into() },
        },
        incoterm: None,
    })
}

fn waybill(t: &str) -> String {
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    format!("YT26{:0>14}", &digits[digits.len().saturating_sub(14)..])
}

fn find(c: &Carrier, number: &str) -> Option<String> {
    let b = c.lock();
    b.aliases.get(number).cloned().or_else(|| b.by_key.get(&format!("yun:{number}")).cloned())
}

fn item(c: &Carrier, t: &str) -> Value {
    let b = c.lock();
    let s = &b.shipments[t];
    json!({"CustomerOrderNumber": s.request.reference, "WayBillNumber": waybill(t), "TrackingNumber": t,
           "Status": if s.cancelled { 0 } else { 1 }, "CreateTime": fmt(s.created_at)})
}

pub(crate) async fn create(State(c): State<Arc<Carrier>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(r) = gate(&c, &headers).await {
        return r;
    }
    let Ok(Value::Array(orders)) = serde_json::from_slice::<Value>(&body) else {
        return reply("1001", "The request body must be a list of orders.", Value::Null);
    };
    if orders.is_empty() || orders.len() > 10 {
        return reply("1001", "Send 1 to 10 orders at a time.", Value::Null);
    }
    let now = c.now();
    let mut items = Vec::new();
    for o in &orders {
        let number = text(o, "CustomerOrderNumber");
        let req = match order(o) {
            Ok(r) => r,
            Err(m) => {
                items.push(json!({"CustomerOrderNumber": number, "Success": 0, "Remark": m, "WayBillNumber": null}));
                continue;
            }
        };
        let key = format!("yun:{number}");
        let mut b = c.lock();
        if b.by_key.contains_key(&key) {
            items.push(json!({"CustomerOrderNumber": number, "Success": 0, "Remark": format!("订单号 {number} 已存在 (order number exists)"), "WayBillNumber": null}));
            continue;
        }
        b.create_calls += 1;
        let (t, _) = book_parcel(&c, &mut b, &key, req, now);
        b.aliases.insert(waybill(&t), t.clone());
        drop(b);
        let mut it = item(&c, &t);
        it["Success"] = json!(1);
        it["Remark"] = json!("");
        it["TrackType"] = json!("1");
        items.push(it);
    }
    reply("0000", "提交成功!", Value::Array(items))
}

pub(crate) async fn get_order(
    State(c): State<Arc<Carrier>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&c, &headers).await {
        return r;
    }
    let number = q.get("OrderNumber").cloned().unwrap_or_default();
    match find(&c, &number) {
        Some(t) => reply("0000", "查询成功", item(&c, &t)),
        None => reply("0000", "查询成功", Value::Null),
    }
}

pub(crate) async fn delete(State(c): State<Arc<Carrier>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(r) = gate(&c, &headers).await {
        return r;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let number = text(&v, "OrderNumber");
    let Some(t) = find(&c, &number) else {
        return reply("1002", &format!("Order {number} does not exist."), Value::Null);
    };
    let now = c.now();
    match cancel_parcel(&mut c.lock(), &t, now) {
        Ok(()) => reply("0000", "删除成功", json!({"OrderNumber": number})),
        Err(_) => reply("1003", "The order was received and cannot be deleted; ask for an intercept.", Value::Null),
    }
}

pub(crate) async fn label(State(c): State<Arc<Carrier>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(r) = gate(&c, &headers).await {
        return r;
    }
    let numbers: Vec<String> = serde_json::from_slice(&body).unwrap_or_default();
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let items: Vec<Value> = numbers
        .iter()
        .filter_map(|n| find(&c, n).map(|t| json!({"Url": format!("http://{host}/yunexpress/labels/{t}.pdf"), "OrderInfos": [{"CustomerOrderNumber": n, "Error": null, "Code": 100}]})))
        .collect();
    reply("0000", "提交成功", Value::Array(items))
}

pub(crate) async fn label_file(
    State(c): State<Arc<Carrier>>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Response {
    let t = file.trim_end_matches(".pdf");
    if !c.lock().shipments.contains_key(t) {
        return (StatusCode::NOT_FOUND, "no such label").into_response();
    }
    ([("content-type", "application/pdf")], crate::label_pdf(&format!("YunExpress {}", waybill(t)))).into_response()
}

pub(crate) async fn track(
    State(c): State<Arc<Carrier>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&c, &headers).await {
        return r;
    }
    let number = q.get("OrderNumber").cloned().unwrap_or_default();
    let Some(t) = find(&c, &number) else { return reply("1002", &format!("No tracking for {number}."), Value::Null) };
    let now = c.now();
    let mut b = c.lock();
    let s = b.shipments.get_mut(&t).expect("aliased parcels exist");
    s.tracking_requests += 1;
    let details: Vec<Value> = s
        .visible(now)
        .map(|e| {
            let (code, text) = track_code(e.code);
            json!({"ProcessDate": e.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                   "ProcessContent": text, "ProcessLocation": e.location, "TrackCode": code})
        })
        .collect();
    reply(
        "0000",
        "查询成功",
        json!({"WaybillNumber": waybill(&t), "TrackingNumber": t, "OrderTrackingDetails": details}),
    )
}

pub(crate) async fn price(
    State(c): State<Arc<Carrier>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&c, &headers).await {
        return r;
    }
    let country = q.get("CountryCode").cloned().unwrap_or_default();
    let Some(kg) = q.get("Weight").and_then(|w| w.parse::<f64>().ok()).filter(|w| *w > 0.0 && *w <= 30.0) else {
        return reply("1001", "Weight: KG, above 0 and at most 30", Value::Null);
    };
    if country.len() != 2 {
        return reply("1001", "CountryCode: a two-letter country code", Value::Null);
    }
    let piece = Piece { weight_g: (kg * 1000.0).round() as i64, length_cm: None, width_cm: None, height_cm: None };
    let lane = c.config.model.lane(&country);
    let fen = lane.freight_minor(billable_kg(std::slice::from_ref(&piece))) * 72 / 10;
    reply(
        "0000",
        "查询成功",
        json!([{"Code": "THPHR", "EName": "Standard", "TotalFee": amount_str(fen, "CNY"),
                                 "ShippingFee": amount_str(fen, "CNY"), "DeliveryDays": format!("{}-{}", lane.transit_days, lane.transit_days + 4)}]),
    )
}
