//! The carrier speaking SMSA Express's e-commerce REST API (ecomapis.smsaexpress.com, its API reference and the
//! integrations built on it): the `apikey` header on every call; `POST /api/shipment/b2c/new` (addresses, COD in
//! the destination currency, weight in KG, the label as base64 PDF in `waybills[].awbFile`);
//! `GET /api/shipment/b2c/query/{awb}`; `GET /api/track/single/{awb}` and `GET /api/track/reference/{ref}`
//! (scans with `ScanType`, `ScanDescription`, `ScanDateTime` and `ScanTimeZone`); `GET /api/track/statuslookup`
//! (every scan code with its English and Arabic text). Validation errors come as ASP.NET problem details
//! (`{"title", "status": 400, "errors": {"Field": ["…"]}}`). SMSA publishes no call to void a B2C shipment.
//!
//! Of the scan codes only `DL` and `OD` appear in SMSA's published samples; the others are this server's and are
//! listed by its status look-up, as SMSA's own look-up lists SMSA's.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use time::UtcOffset;

use crate::{Amount, Carrier, CreateShipment, Party, Piece, amount_str, book_parcel};

pub const TEST_API_KEY: &str = "codflow-smsa-test-key";

/// SMSA's scan code and English text for a sandbox scan.
pub fn scan(sandbox: &str) -> (&'static str, &'static str) {
    match sandbox {
        "LBL" => ("DA", "Data received"),
        "PKP" => ("PU", "Picked up"),
        "DEP" => ("DF", "Departed facility"),
        "ARR-CUS" => ("CI", "In customs clearance"),
        "CUS-HLD-DOC" => ("HD", "Held by customs: documents required"),
        "CUS-HLD-DTY" => ("HT", "Held by customs: duties unpaid"),
        "CUS-HLD-INS" => ("HI", "Held by customs: inspection"),
        "CUS-REL" => ("CR", "Released by customs"),
        "ARR-HUB" => ("AF", "Arrived at delivery facility"),
        "OFD" => ("OD", "Out for Delivery"),
        "DLV" => ("DL", "Delivered"),
        "COD" => ("CP", "Cash collected"),
        "NDR-RF" => ("RF", "Refused by consignee"),
        "NDR-NH" => ("NA", "Consignee not available"),
        "RTS" => ("RT", "Returning to shipper"),
        "RTD" => ("RS", "Returned to shipper"),
        "LST" => ("LS", "Lost"),
        "CAN" => ("CX", "Cancelled"),
        _ => ("IT", "In transit"),
    }
}

const ALL: [&str; 19] = [
    "LBL",
    "PKP",
    "DEP",
    "ARR-CUS",
    "CUS-HLD-DOC",
    "CUS-HLD-DTY",
    "CUS-HLD-INS",
    "CUS-REL",
    "ARR-HUB",
    "OFD",
    "DLV",
    "COD",
    "NDR-RF",
    "NDR-NH",
    "RTS",
    "RTD",
    "LST",
    "CAN",
    "?",
];

fn problem(status: StatusCode, title: &str, errors: Value) -> Response {
    (
        status,
        axum::Json(json!({"type": "https://tools.ietf.org/html/rfc7231#section-6.5.1", "title": title,
                               "status": status.as_u16(), "errors": errors})),
    )
        .into_response()
}

fn invalid(field: &str, message: &str) -> Response {
    problem(StatusCode::BAD_REQUEST, "One or more validation errors occurred.", json!({field: [message]}))
}

async fn gate(c: &Carrier, headers: &HeaderMap) -> Option<Response> {
    if headers.get("apikey").and_then(|v| v.to_str().ok()) != Some(c.config.smsa.as_str()) {
        return Some((StatusCode::UNAUTHORIZED, "Unauthorized: invalid apikey").into_response());
    }
    crate::protocol_fault(c, "smsa").await
}

fn text(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn party(v: &Value) -> Party {
    let opt = |s: String| (!s.is_empty()).then_some(s);
    Party {
        name: text(v, "ContactName"),
        phone: opt(text(v, "ContactPhoneNumber")),
        line1: opt(text(v, "AddressLine1")),
        line2: opt(text(v, "AddressLine2")),
        city: text(v, "City"),
        region: opt(text(v, "District")),
        postal_code: opt(text(v, "PostalCode")),
        country: text(v, "Country"),
    }
}

/// The shipment as the sandbox books it, or the field SMSA would name and why.
fn shipment(v: &Value) -> Result<CreateShipment, (String, String)> {
    let to = &v["ConsigneeAddress"];
    let len = |o: &Value, k: &str, lo: usize, hi: usize, field: &str| {
        let n = text(o, k).chars().count();
        if (lo..=hi).contains(&n) {
            Ok(())
        } else {
            Err((field.to_owned(), format!("between {lo} and {hi} characters")))
        }
    };
    len(to, "ContactName", 5, 150, "ConsigneeAddress.ContactName")?;
    len(to, "AddressLine1", 10, 100, "ConsigneeAddress.AddressLine1")?;
    len(to, "City", 3, 50, "ConsigneeAddress.City")?;
    len(to, "ContactPhoneNumber", 5, 20, "ConsigneeAddress.ContactPhoneNumber")?;
    if text(to, "Country").len() != 2 {
        return Err(("ConsigneeAddress.Country".to_owned(), "an ISO country code".to_owned()));
    }
    if text(v, "OrderNumber").is_empty() {
        return Err(("OrderNumber".to_owned(), "required".to_owned()));
    }
    let currency = text(v, "ShipmentCurrency");
    if currency.len() != 3 {
        return Err(("ShipmentCurrency".to_owned(), "an ISO currency code".to_owned()));
    }
    let kg = v["Weight"]
        .as_f64()
        .filter(|w| *w > 0.0 && *w <= 70.0)
        .ok_or_else(|| ("Weight".to_owned(), "above 0 and at most 70 KG".to_owned()))?;
    let cod_text = text(v, "CODAmount");
    let cod = match crate::parse_amount(&Amount {
        amount: if cod_text.is_empty() { "0".into() } else { cod_text.clone() },
        currency: currency.clone(),
    }) {
        Some(0) => None,
        Some(_) => Some(Amount { amount: cod_text, currency: currency.clone() }),
        None => return Err(("CODAmount".to_owned(), "an amount in the shipment currency".to_owned())),
    };
    let from = party(&v["ShipperAddress"]);
    Ok(CreateShipment {
        reference: text(v, "OrderNumber"),
        service: text(v, "ServiceCode"),
        shipper: if from.city.is_empty() {
            Party { city: "Riyadh".into(), country: "SA".into(), ..from }
        } else {
            from
        },
        consignee: party(to),
        pieces: vec![Piece {
            weight_g: (kg * 1000.0).round() as i64,
            length_cm: None,
            width_cm: None,
            height_cm: None,
        }],
        cod,
        declared_value: Amount { amount: amount_str(0, &currency), currency },
        incoterm: None,
    })
}

fn awb(sandbox: &str) -> String {
    // Twelve digits, as SMSA's airway bills have.
    let digits: String = sandbox.chars().filter(char::is_ascii_digit).collect();
    format!("2312{:0>8}", &digits[digits.len().saturating_sub(8)..])
}

fn reply(c: &Carrier, t: &str) -> Value {
    let label = base64::engine::general_purpose::STANDARD.encode(crate::label_pdf(&format!("SMSA {}", awb(t))));
    let b = c.lock();
    let s = &b.shipments[t];
    json!({"sawb": awb(t), "createDate": crate::fmt(s.created_at), "shipmentParcelsCount": 1,
           "waybills": [{"awb": awb(t), "awbFile": label}]})
}

pub(crate) async fn create(State(c): State<Arc<Carrier>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(r) = gate(&c, &headers).await {
        return r;
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return problem(StatusCode::BAD_REQUEST, "The request body is not valid JSON.", json!({})),
    };
    let req = match shipment(&v) {
        Ok(r) => r,
        Err((field, why)) => return invalid(&field, &why),
    };
    let key = format!("smsa:{}", req.reference);
    let now = c.now();
    let t = {
        let mut b = c.lock();
        if let Some(t) = b.by_key.get(&key).cloned() {
            drop(b);
            return invalid(
                "OrderNumber",
                &format!("a shipment with order number {} exists: {}", req.reference, awb(&t)),
            );
        }
        b.create_calls += 1;
        let (t, _) = book_parcel(&c, &mut b, &key, req, now);
        b.aliases.insert(awb(&t), t.clone());
        t
    };
    axum::Json(reply(&c, &t)).into_response()
}

fn scans(c: &Carrier, t: &str) -> Value {
    let now = c.now();
    let mut b = c.lock();
    let s = b.shipments.get_mut(t).expect("aliased parcels exist");
    s.tracking_requests += 1;
    let riyadh = UtcOffset::from_hms(3, 0, 0).unwrap_or(UtcOffset::UTC);
    let list: Vec<Value> = s
        .visible(now)
        .map(|e| {
            let (code, desc) = scan(e.code);
            let local = e.at.to_offset(riyadh);
            json!({"ScanType": code, "ScanDescription": desc, "City": e.location,
                   "ScanDateTime": format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", local.year(), local.month() as u8,
                                           local.day(), local.hour(), local.minute(), local.second()),
                   "ScanTimeZone": "+03:00"})
        })
        .collect();
    let delivered = s.visible(now).any(|e| e.code == "DLV");
    json!({"AWBNumber": awb(t), "Reference": s.request.reference, "isDelivered": delivered, "Scans": list})
}

pub(crate) async fn track(State(c): State<Arc<Carrier>>, Path(n): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = gate(&c, &headers).await {
        return r;
    }
    let t = c.lock().aliases.get(&n).cloned();
    match t {
        Some(t) => axum::Json(scans(&c, &t)).into_response(),
        None => (StatusCode::NOT_FOUND, axum::Json(json!({"message": format!("AWB {n} not found")}))).into_response(),
    }
}

pub(crate) async fn by_reference(State(c): State<Arc<Carrier>>, Path(r): Path<String>, headers: HeaderMap) -> Response {
    if let Some(resp) = gate(&c, &headers).await {
        return resp;
    }
    let t = c.lock().by_key.get(&format!("smsa:{r}")).cloned();
    match t {
        Some(t) => axum::Json(scans(&c, &t)).into_response(),
        None => {
            (StatusCode::NOT_FOUND, axum::Json(json!({"message": format!("reference {r} not found")}))).into_response()
        }
    }
}

pub(crate) async fn query(State(c): State<Arc<Carrier>>, Path(n): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = gate(&c, &headers).await {
        return r;
    }
    let t = c.lock().aliases.get(&n).cloned();
    match t {
        Some(t) => axum::Json(reply(&c, &t)).into_response(),
        None => (StatusCode::NOT_FOUND, axum::Json(json!({"message": format!("AWB {n} not found")}))).into_response(),
    }
}

pub(crate) async fn status_lookup(State(c): State<Arc<Carrier>>, headers: HeaderMap) -> Response {
    if let Some(r) = gate(&c, &headers).await {
        return r;
    }
    let list: Vec<Value> =
        ALL.iter().map(|s| scan(s)).map(|(code, en)| json!({"Code": code, "ScanDescEN": en})).collect();
    axum::Json(list).into_response()
}
