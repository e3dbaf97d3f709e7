//! The carrier speaking J&T Express's open platform (the "J&T Express Malaysia Open API" reference and the other
//! tenants that share it), one tenant per path: `/jnt/{cc}/api/…` with `cc` in my, ph, id, th, vn, sg. Every call
//! is a form-encoded POST with one field `bizContent` (JSON) and headers `apiAccount`, `timestamp` and `digest` =
//! base64(MD5(bizContent + privateKey)); `customerCode` and the business `password` inside `bizContent`.
//! `order/addOrder`, `order/getOrders`, `order/cancelOrder`, `order/printOrder` (base64 PDF) and
//! `logistics/trace`; replies `{"code": "1", "msg": "success", "data": …, "requestId"}`, the platform's
//! `145003…` codes for a missing or failed signature.
//!
//! Scan codes 10, 20, 30, 94, 100, 110, 172, 173, 200, 301, 303 and 304 are J&T's; 1 (order created), 2 (cancelled),
//! 31 (customs arrival) and 32 (customs released) are this server's own, and so are the business error codes
//! (J&T's reference does not list them).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use time::{OffsetDateTime, UtcOffset};

use crate::model::Event;
use crate::{Amount, Carrier, CreateShipment, Party, Piece, book_parcel, cancel_parcel};

pub const TEST_API_ACCOUNT: &str = "640826271705595946";
pub const TEST_PRIVATE_KEY: &str = "codflow-jnt-private-key";
pub const TEST_CUSTOMER_CODE: &str = "ITTEST0001";
pub const TEST_PASSWORD: &str = "codflow-jnt-password";

/// J&T's scan type (code, name) for a sandbox scan.
pub fn scan(sandbox: &str) -> (&'static str, &'static str) {
    match sandbox {
        "LBL" => ("1", "Order Created"),
        "PKP" => ("10", "Pick Up"),
        "DEP" => ("20", "Departure"),
        "ARR-CUS" => ("31", "Customs Arrival"),
        "CUS-HLD-DOC" | "CUS-HLD-DTY" | "CUS-HLD-INS" => ("304", "Customs"),
        "CUS-REL" => ("32", "Customs Released"),
        "ARR-HUB" => ("30", "Arrival"),
        "OFD" => ("94", "Delivery"),
        "DLV" => ("100", "Delivery Signature"),
        "COD" => ("200", "Collected"),
        "NDR-RF" => ("303", "Rejected"),
        "NDR-NH" => ("110", "Problematic"),
        "RTS" => ("172", "Return"),
        "RTD" => ("173", "Return Delivery Signature"),
        "LST" => ("301", "Lost"),
        "CAN" => ("2", "Order Cancelled"),
        _ => ("20", "Departure"),
    }
}

/// (alpha-2, currency, UTC offset hours) of a tenant.
fn tenant(cc: &str) -> Option<(&'static str, &'static str, i8)> {
    Some(match cc {
        "my" => ("MY", "MYR", 8),
        "ph" => ("PH", "PHP", 8),
        "sg" => ("SG", "SGD", 8),
        "id" => ("ID", "IDR", 7),
        "th" => ("TH", "THB", 7),
        "vn" => ("VN", "VND", 7),
        _ => return None,
    })
}

pub fn digest(biz_content: &str, private_key: &str) -> String {
    let mut h = Md5::new();
    h.update(biz_content.as_bytes());
    h.update(private_key.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

fn reply(code: &str, msg: &str, data: Value) -> Response {
    let id = format!("{:032x}", OffsetDateTime::now_utc().unix_timestamp_nanos());
    axum::Json(json!({"code": code, "msg": msg, "data": data, "requestId": id})).into_response()
}

type Refusal = Box<Response>;

/// The business JSON of a call, once the account, signature and credentials check out; then any injected fault.
async fn gate(c: &Carrier, cc: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, Refusal> {
    if tenant(cc).is_none() {
        return Err(Box::new(reply("145003050", &format!("Illegal parameters: no tenant {cc:?}"), Value::Null)));
    }
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (account, sig) = (header("apiAccount"), header("digest"));
    if account.is_empty() {
        return Err(Box::new(reply("145003051", "apiAccount is empty", Value::Null)));
    }
    if sig.is_empty() {
        return Err(Box::new(reply("145003052", "digest is empty", Value::Null)));
    }
    if header("timestamp").is_empty() {
        return Err(Box::new(reply("145003053", "timestamp is empty", Value::Null)));
    }
    let (want_account, key, customer, password) = &c.config.jnt;
    if &account != want_account {
        return Err(Box::new(reply("145003010", "API account does not exist", Value::Null)));
    }
    let Some(biz) = form_urlencoded::parse(body).find(|(k, _)| k == "bizContent").map(|(_, v)| v.into_owned()) else {
        return Err(Box::new(reply("145003050", "Illegal parameters: bizContent is required", Value::Null)));
    };
    if digest(&biz, key) != sig {
        return Err(Box::new(reply("145003030", "headers signature verification failed", Value::Null)));
    }
    if let Some(f) = crate::protocol_fault(c, "jnt").await {
        return Err(Box::new(f));
    }
    let v: Value = serde_json::from_str(&biz)
        .map_err(|_| Box::new(reply("145003050", "Illegal parameters: bizContent is not JSON", Value::Null)))?;
    if v["customerCode"].as_str() != Some(customer.as_str()) || v["password"].as_str() != Some(password.as_str()) {
        return Err(Box::new(reply("999001", "customerCode or password is incorrect", Value::Null)));
    }
    Ok(v)
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

fn alpha2(c3: &str) -> String {
    match c3 {
        "MYS" => "MY",
        "PHL" => "PH",
        "SGP" => "SG",
        "IDN" => "ID",
        "THA" => "TH",
        "VNM" => "VN",
        "CHN" => "CN",
        "SAU" => "SA",
        "ARE" => "AE",
        other => other,
    }
    .into()
}

fn party(v: &Value, who: &str) -> Result<Party, String> {
    for f in ["name", "phone", "address", "postCode", "countryCode"] {
        text(v, &format!("{who}.{f}"))?;
    }
    let p = &v[who];
    let opt = |k: &str| p[k].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(Party {
        name: text(v, &format!("{who}.name"))?,
        phone: opt("phone"),
        line1: opt("address"),
        line2: None,
        city: opt("city").unwrap_or_else(|| "Kuala Lumpur".into()),
        region: opt("prov"),
        postal_code: opt("postCode"),
        country: alpha2(p["countryCode"].as_str().unwrap_or("")),
    })
}

/// Hundredths of a decimal string within `[lo, hi]` hundredths.
fn hundredths(s: &str, lo: i64, hi: i64) -> Option<i64> {
    let (whole, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = whole.parse::<i64>().ok()?.checked_mul(100)? + format!("{frac:0<2}").parse::<i64>().ok()?;
    (lo..=hi).contains(&v).then_some(v)
}

fn order(v: &Value, currency: &str) -> Result<CreateShipment, String> {
    text(v, "txlogisticId")?;
    text(v, "receiver.city")?;
    let weight = text(v, "packageInfo.weight")?;
    let weight = hundredths(&weight, 1, 99_999).ok_or("packageInfo.weight: kilograms, 0.01 to 999.99")?;
    if v["items"].as_array().is_none_or(|a| a.is_empty()) {
        return Err("items is required".into());
    }
    let cod = match v["codInfo"]["codValue"].as_str() {
        Some(s) => {
            let minor = hundredths(s, 1, 99_999_999).ok_or("codInfo.codValue: 0.01 to 999999.99")?;
            Some(Amount { amount: format!("{}.{:02}", minor / 100, minor % 100), currency: currency.into() })
        }
        None => None,
    };
    Ok(CreateShipment {
        reference: text(v, "txlogisticId")?,
        service: v["expressType"].as_str().unwrap_or("EZ").into(),
        shipper: party(v, "sender")?,
        consignee: party(v, "receiver")?,
        pieces: vec![Piece { weight_g: weight * 10, length_cm: None, width_cm: None, height_cm: None }],
        cod,
        declared_value: Amount { amount: text(v, "packageInfo.packageValue")?, currency: currency.into() },
        incoterm: None,
    })
}

fn bill_code(sandbox: &str) -> String {
    let digits: String = sandbox.chars().filter(char::is_ascii_digit).collect();
    format!("63{:0>10}", &digits[digits.len().saturating_sub(10)..])
}

/// The sandbox parcel behind our shipment id.
fn by_txlogistic(c: &Carrier, id: &str) -> Option<(String, String)> {
    let b = c.lock();
    let t = b.by_key.get(&format!("jnt:{id}"))?.clone();
    let bill = b.aliases.iter().find(|(a, v)| **v == t && a.starts_with("63")).map(|(a, _)| a.clone())?;
    Some((bill, t))
}

pub(crate) async fn add_order(
    State(c): State<Arc<Carrier>>,
    Path(cc): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let v = match gate(&c, &cc, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let (_, currency, _) = tenant(&cc).expect("gate checked the tenant");
    let req = match order(&v, currency) {
        Ok(r) => r,
        Err(m) => return reply("145003050", &format!("Illegal parameters: {m}"), Value::Null),
    };
    let id = req.reference.clone();
    if by_txlogistic(&c, &id).is_some() {
        return reply("999002", &format!("txlogisticId {id} already exists"), Value::Null);
    }
    let now = c.now();
    let mut b = c.lock();
    b.create_calls += 1;
    let (t, _) = book_parcel(&c, &mut b, &format!("jnt:{id}"), req, now);
    let bill = bill_code(&t);
    b.aliases.insert(bill.clone(), t);
    reply(
        "1",
        "success",
        json!({"txlogisticId": id, "billCode": bill, "sortingCode": "02-C51-KUL001", "thirdSortingCode": "S01"}),
    )
}

pub(crate) async fn get_orders(
    State(c): State<Arc<Carrier>>,
    Path(cc): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let v = match gate(&c, &cc, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let id = v["txlogisticId"].as_str().unwrap_or("");
    match by_txlogistic(&c, id) {
        Some((bill, _)) => reply("1", "success", json!({"txlogisticId": id, "billCode": bill})),
        None => reply("999003", &format!("order {id:?} does not exist"), Value::Null),
    }
}

pub(crate) async fn cancel_order(
    State(c): State<Arc<Carrier>>,
    Path(cc): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let v = match gate(&c, &cc, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    if let Err(m) = text(&v, "reason") {
        return reply("145003050", &format!("Illegal parameters: {m}"), Value::Null);
    }
    let id = v["txlogisticId"].as_str().unwrap_or("");
    let Some((bill, t)) = by_txlogistic(&c, id) else {
        return reply("999003", &format!("order {id:?} does not exist"), Value::Null);
    };
    let now = c.now();
    match cancel_parcel(&mut c.lock(), &t, now) {
        Ok(()) => reply("1", "success", json!({"txlogisticId": id, "billCode": bill})),
        Err(_) => reply("999004", "the parcel has been picked up and cannot be cancelled", Value::Null),
    }
}

pub(crate) async fn print_order(
    State(c): State<Arc<Carrier>>,
    Path(cc): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let v = match gate(&c, &cc, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let id = v["txlogisticId"].as_str().unwrap_or("");
    let Some((bill, _)) = by_txlogistic(&c, id) else {
        return reply("999003", &format!("order {id:?} does not exist"), Value::Null);
    };
    let pdf = base64::engine::general_purpose::STANDARD.encode(crate::label_pdf(&format!("JT {bill}")));
    reply("1", "success", json!({"txlogisticId": id, "billCode": bill, "base64EncodeContent": pdf}))
}

/// The trace of a waybill in J&T's shape, its scans from `skip` on.
pub(crate) fn trace_of(c: &Carrier, cc: &str, bill: &str, skip: usize) -> Option<Value> {
    let offset = UtcOffset::from_hms(tenant(cc)?.2, 0, 0).ok()?;
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let now = c.now();
    let b = c.lock();
    let t = b.aliases.get(bill).filter(|_| bill.starts_with("63"))?;
    let s = b.shipments.get(t)?;
    let details: Vec<Value> = s
        .visible(now)
        .skip(skip)
        .map(|e: &Event| {
            let (code, name) = scan(e.code);
            json!({"scanTime": e.at.to_offset(offset).format(&fmt).unwrap_or_default(), "desc": e.description,
                   "scanTypeCode": code, "scanTypeName": name, "scanType": name, "scanNetworkCity": e.location})
        })
        .collect();
    Some(json!({"billCode": bill, "details": details}))
}

pub(crate) async fn trace(
    State(c): State<Arc<Carrier>>,
    Path(cc): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let v = match gate(&c, &cc, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let bill = match v["billCode"].as_str() {
        Some(b) => b.to_owned(),
        None => match v["txlogisticId"].as_str().and_then(|id| by_txlogistic(&c, id)) {
            Some((b, _)) => b,
            None => return reply("145003050", "Illegal parameters: billCode or txlogisticId is required", Value::Null),
        },
    };
    match trace_of(&c, &cc, &bill, 0) {
        Some(t) => {
            let mut b = c.lock();
            if let Some(s) = b.aliases.get(&bill).cloned().and_then(|t| b.shipments.get_mut(&t)) {
                s.tracking_requests += 1;
            }
            reply("1", "success", json!([t]))
        }
        None => reply("999003", &format!("waybill {bill:?} does not exist"), Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_hundredths_are_bounded_and_exact() {
        assert_eq!(hundredths("0.01", 1, 100), Some(1));
        assert_eq!(hundredths("12.5", 1, 10_000), Some(1250));
        assert_eq!(hundredths("1.005", 1, 10_000), None);
        assert_eq!(hundredths("0", 1, 100), None);
        assert_eq!(hundredths("-1", 1, 100), None);
        assert_eq!(hundredths("9999999999999999999", 1, i64::MAX), None);
    }
}
