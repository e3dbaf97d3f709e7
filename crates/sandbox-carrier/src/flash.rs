//! The carrier speaking Flash Express's open API (open-api.flashexpress.com, its merchant API documents and the
//! integrations built on them): `application/x-www-form-urlencoded` POSTs carrying `mchId`, `nonceStr` and `sign`
//! = upper-case hex SHA-256 of the non-empty parameters sorted by name as `k=v&…`, then `&key=` and the merchant's
//! secret; `POST /open/v3/orders` (weight in grams, `codEnabled` and `codAmount` in satang), `POST
//! /open/v1/orders/{pno}/cancel`, `POST /open/v1/orders/{pno}/routes`, `POST /open/v1/orders/{pno}/small/pre_print`
//! (the label PDF), `POST /open/v1/orders/estimate_rate` (route, grams and centimetres → `estimatePrice` in
//! satang, the field integrations read). Replies `{"code": 1, "message": "success", "data": …}`; any other code is a
//! refusal.
//!
//! Route actions `RECEIVED`, `ARRIVAL_WAREHOUSE_SCAN`, `DELIVERY_TICKET_CREATION_SCAN`, `DELIVERY_CONFIRM` and
//! `CANCEL_PARCEL` are Flash's; the others this server sends are its own, named in Flash's style.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{Amount, Carrier, CreateShipment, Party, Piece, amount_str, book_parcel, cancel_parcel};

pub const TEST_MCH_ID: &str = "AA0001";
pub const TEST_SECRET: &str = "codflow-flash-secret";

/// Flash's route action for a sandbox scan.
pub fn action(sandbox: &str) -> &'static str {
    match sandbox {
        "LBL" => "CREATED",
        "PKP" => "RECEIVED",
        "DEP" => "DEPARTURE_GOODS_VAN_CK_SCAN",
        "ARR-CUS" => "CUSTOMS_ARRIVAL",
        "CUS-HLD-DOC" | "CUS-HLD-DTY" | "CUS-HLD-INS" => "CUSTOMS_DETAIN",
        "CUS-REL" => "CUSTOMS_RELEASE",
        "ARR-HUB" => "ARRIVAL_WAREHOUSE_SCAN",
        "OFD" => "DELIVERY_TICKET_CREATION_SCAN",
        "DLV" | "COD" => "DELIVERY_CONFIRM",
        "NDR-RF" => "DIFFICULTY_HANDOVER_REFUSED",
        "NDR-NH" => "DIFFICULTY_HANDOVER_NOT_HOME",
        "RTS" => "RETURN_TO_SENDER",
        "RTD" => "RETURN_CONFIRM",
        "LST" => "PARCEL_LOST",
        "CAN" => "CANCEL_PARCEL",
        _ => "CONTINUE_TRANSPORT",
    }
}

/// Flash's signature over form parameters (`sign` itself left out).
pub fn sign(params: &BTreeMap<String, String>, secret: &str) -> String {
    let joined: Vec<String> =
        params.iter().filter(|(k, v)| *k != "sign" && !v.trim().is_empty()).map(|(k, v)| format!("{k}={v}")).collect();
    let mut h = Sha256::new();
    h.update(format!("{}&key={secret}", joined.join("&")).as_bytes());
    h.finalize().iter().map(|b| format!("{b:02X}")).collect()
}

fn reply(code: i64, message: &str, data: Value) -> Response {
    axum::Json(json!({"code": code, "message": message, "data": data})).into_response()
}

/// The form, checked: merchant and signature first, then any injected fault.
async fn gate(c: &Carrier, body: &[u8]) -> Result<BTreeMap<String, String>, Box<Response>> {
    let params: BTreeMap<String, String> = match serde_urlencoded_lite(body) {
        Some(p) => p,
        None => return Err(Box::new(reply(1000, "the body is not a form", Value::Null))),
    };
    if params.get("mchId").map(String::as_str) != Some(c.config.flash.0.as_str()) {
        return Err(Box::new(reply(1001, "mchId does not exist", Value::Null)));
    }
    if params.get("nonceStr").is_none_or(|n| n.is_empty()) {
        return Err(Box::new(reply(1000, "nonceStr is required", Value::Null)));
    }
    if params.get("sign").map(|s| s.to_ascii_uppercase()) != Some(sign(&params, &c.config.flash.1)) {
        return Err(Box::new(reply(1002, "sign error", Value::Null)));
    }
    if let Some(f) = crate::protocol_fault(c, "flash").await {
        return Err(Box::new(f));
    }
    Ok(params)
}

/// A form body as name → value (percent-decoding, `+` as space).
fn serde_urlencoded_lite(body: &[u8]) -> Option<BTreeMap<String, String>> {
    let text = std::str::from_utf8(body).ok()?;
    let decode = |s: &str| -> Option<String> {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                    out.push(u8::from_str_radix(h, 16).ok()?);
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

fn party(p: &BTreeMap<String, String>, prefix: &str, country: &str) -> Party {
    let get = |k: &str| p.get(&format!("{prefix}{k}")).cloned().unwrap_or_default();
    let opt = |s: String| (!s.is_empty()).then_some(s);
    Party {
        name: get("Name"),
        phone: opt(get("Phone")),
        line1: opt(get("DetailAddress")),
        line2: None,
        city: get("CityName"),
        region: opt(get("ProvinceName")),
        postal_code: opt(get("PostalCode")),
        country: country.into(),
    }
}

fn order(p: &BTreeMap<String, String>) -> Result<CreateShipment, String> {
    for k in [
        "outTradeNo",
        "dstName",
        "dstPhone",
        "dstProvinceName",
        "dstCityName",
        "dstPostalCode",
        "dstDetailAddress",
        "weight",
    ] {
        if p.get(k).is_none_or(|v| v.trim().is_empty()) {
            return Err(format!("{k} is required"));
        }
    }
    let weight: i64 =
        p["weight"].parse().ok().filter(|w| (1..=50_000).contains(w)).ok_or("weight: grams, 1 to 50000")?;
    let cod = match p.get("codEnabled").map(String::as_str) {
        Some("1") => {
            let satang: i64 = p
                .get("codAmount")
                .and_then(|a| a.parse().ok())
                .filter(|a| *a > 0)
                .ok_or("codAmount: satang, above 0")?;
            Some(Amount { amount: amount_str(satang, "THB"), currency: "THB".into() })
        }
        None | Some("0") => None,
        Some(_) => return Err("codEnabled: 0 or 1".into()),
    };
    Ok(CreateShipment {
        reference: p["outTradeNo"].clone(),
        service: p.get("expressCategory").cloned().unwrap_or_else(|| "1".into()),
        shipper: Party { city: "Bangkok".into(), ..party(p, "src", "TH") },
        consignee: party(p, "dst", "TH"),
        pieces: vec![Piece { weight_g: weight, length_cm: None, width_cm: None, height_cm: None }],
        cod,
        declared_value: Amount { amount: "0.00".into(), currency: "THB".into() },
        incoterm: None,
    })
}

fn pno(sandbox: &str) -> String {
    let digits: String = sandbox.chars().filter(char::is_ascii_digit).collect();
    format!("TH0147{:0>8}", &digits[digits.len().saturating_sub(8)..])
}

pub(crate) async fn create(State(c): State<Arc<Carrier>>, body: axum::body::Bytes) -> Response {
    let p = match gate(&c, &body).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let req = match order(&p) {
        Ok(r) => r,
        Err(m) => return reply(1000, &m, Value::Null),
    };
    let key = format!("flash:{}", req.reference);
    let now = c.now();
    let mut b = c.lock();
    if b.by_key.contains_key(&key) {
        return reply(1004, &format!("outTradeNo {} is repeated", req.reference), Value::Null);
    }
    b.create_calls += 1;
    let out = req.reference.clone();
    let (t, _) = book_parcel(&c, &mut b, &key, req, now);
    let pno = pno(&t);
    b.aliases.insert(pno.clone(), t);
    reply(
        1,
        "success",
        json!({"pno": pno, "outTradeNo": out, "mchId": c.config.flash.0, "sortCode": "BKK-01", "dstStoreName": "Flash Bangkok"}),
    )
}

fn parcel(c: &Carrier, pno: &str) -> Option<String> {
    c.lock().aliases.get(pno).cloned().filter(|_| pno.starts_with("TH"))
}

pub(crate) async fn cancel(
    State(c): State<Arc<Carrier>>,
    Path(pno): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = gate(&c, &body).await {
        return *r;
    }
    let Some(t) = parcel(&c, &pno) else { return reply(1010, &format!("pno {pno} does not exist"), Value::Null) };
    let now = c.now();
    match cancel_parcel(&mut c.lock(), &t, now) {
        Ok(()) => reply(1, "success", Value::Null),
        Err(_) => reply(1011, "the parcel was received and cannot be cancelled", Value::Null),
    }
}

pub(crate) async fn routes(
    State(c): State<Arc<Carrier>>,
    Path(pno): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = gate(&c, &body).await {
        return *r;
    }
    let Some(t) = parcel(&c, &pno) else { return reply(1010, &format!("pno {pno} does not exist"), Value::Null) };
    let now = c.now();
    let mut b = c.lock();
    let s = b.shipments.get_mut(&t).expect("aliased parcels exist");
    s.tracking_requests += 1;
    let list: Vec<Value> = s
        .visible(now)
        .map(|e| json!({"routedAt": e.at.unix_timestamp(), "routeAction": action(e.code), "message": e.description, "state": 1}))
        .collect();
    reply(1, "success", json!({"pno": pno, "routes": list}))
}

pub(crate) async fn label(State(c): State<Arc<Carrier>>, Path(pno): Path<String>, body: axum::body::Bytes) -> Response {
    if let Err(r) = gate(&c, &body).await {
        return *r;
    }
    if parcel(&c, &pno).is_none() {
        return (
            StatusCode::OK,
            axum::Json(json!({"code": 1010, "message": format!("pno {pno} does not exist"), "data": null})),
        )
            .into_response();
    }
    ([("content-type", "application/pdf")], crate::label_pdf(&format!("Flash {pno}"))).into_response()
}

pub(crate) async fn estimate_rate(State(c): State<Arc<Carrier>>, body: axum::body::Bytes) -> Response {
    let p = match gate(&c, &body).await {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let Some(grams) = p.get("weight").and_then(|w| w.parse::<i64>().ok()).filter(|w| (1..=50_000).contains(w)) else {
        return reply(1000, "weight: grams, 1 to 50000", Value::Null);
    };
    if p.get("dstPostalCode").is_none_or(|v| v.trim().is_empty()) {
        return reply(1000, "dstPostalCode is required", Value::Null);
    }
    let cm = |k: &str| p.get(k).and_then(|v| v.parse::<i64>().ok());
    let piece = Piece { weight_g: grams, length_cm: cm("length"), width_cm: cm("width"), height_cm: cm("height") };
    // Flash prices in baht: the sandbox's freight for Thailand at 36 baht to the dollar, in satang.
    let satang = c.config.model.lane("TH").freight_minor(crate::billable_kg(std::slice::from_ref(&piece))) * 36;
    reply(1, "success", json!({"estimatePrice": satang, "weight": grams}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_sha256_of_sorted_non_empty_parameters_and_the_key() {
        let p: BTreeMap<String, String> =
            [("nonceStr", "1526461166805"), ("mchId", "AA0001"), ("remark", ""), ("sign", "x")]
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect();
        // hashlib.sha256(b"mchId=AA0001&nonceStr=1526461166805&key=k").hexdigest().upper()
        assert_eq!(sign(&p, "k"), "83133023A883A7264DCE2A65A2C74B315C188827EFC3751578836F4EEB0EAEFD");
    }
}
