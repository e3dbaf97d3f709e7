//! The carrier speaking Ninja Van's shipper API (api-docs.ninjavan.co; the paths its official and community SDKs
//! call): OAuth 2.0 client credentials at `POST /{cc}/2.0/oauth/access_token`, orders at `POST /{cc}/4.2/orders`
//! with the bearer token, cancel at `DELETE /{cc}/2.2/orders/{tracking}`, the waybill PDF at
//! `GET /{cc}/2.0/reports/waybill?tids=`, and order events as webhooks signed `X-Ninjavan-Hmac-Sha256`
//! (base64 of HMAC-SHA256 over the raw body with the client secret). Errors are
//! `{"error": {"code", "title", "message", "details": [{"reason", "field", "message"}]}}`.
//!
//! Ninja Van refuses a second order under a `requested_tracking_number` it already holds; so does this server.
//! Polling (`GET /{cc}/1.0/orders/tracking-events/{tracking}`) is this server's stand-in for the tracking look-up
//! Ninja Van offers shippers besides its webhooks; its shape follows the webhook events.
//!
//! The parcels are the sandbox's parcels, with Ninja Van's status names.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::{Amount, Carrier, CreateShipment, Party, Piece, amount_str, book_parcel, cancel_parcel, fmt};

pub const TEST_CLIENT_ID: &str = "codflow-nv-test";
pub const TEST_CLIENT_SECRET: &str = "codflow-nv-secret";
/// The countries Ninja Van serves, by the lower-case code in its paths.
const COUNTRIES: [&str; 6] = ["sg", "my", "th", "id", "vn", "ph"];

/// Ninja Van's status for a sandbox scan.
pub fn status(sandbox: &str) -> &'static str {
    match sandbox {
        "LBL" => "Pending Pickup",
        "PKP" => "Picked Up, In Transit To Origin Hub",
        "DEP" => "In Transit to Next Sorting Hub",
        "ARR-CUS" => "International Transit: Arrived at Destination Customs",
        "CUS-HLD-DOC" => "Customs Held: Documents Required",
        "CUS-HLD-DTY" => "Customs Held: Duties Unpaid",
        "CUS-HLD-INS" => "Customs Held: Inspection",
        "CUS-REL" => "Customs Cleared",
        "ARR-HUB" => "Arrived at Destination Hub",
        "OFD" => "On Vehicle for Delivery",
        "DLV" => "Delivered, Received by Customer",
        "COD" => "Delivered, COD Collected",
        "NDR-RF" => "Delivery Exception, Refused by Customer",
        "NDR-NH" => "Delivery Exception, Pending Reschedule",
        "RTS" => "Return to Sender Triggered",
        "RTD" => "Returned to Sender",
        "LST" => "Parcel Lost",
        "CAN" => "Cancelled",
        _ => "In Transit to Next Sorting Hub",
    }
}

/// `X-Ninjavan-Hmac-Sha256` for a body.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn error(status: StatusCode, title: &str, message: impl Into<String>, field: Option<&str>) -> Response {
    let message = message.into();
    let details: Vec<Value> =
        field.map(|f| json!({"reason": "INVALID_FIELD", "field": f, "message": message})).into_iter().collect();
    let body = json!({"error": {"code": status.as_u16() as u32 * 1000 + 80, "request_id": "req-sandbox", "title": title,
                                "message": message, "details": details}});
    (status, axum::Json(body)).into_response()
}

/// A refusal to answer instead of going on.
type Refusal = Box<Response>;

fn country(cc: &str) -> Result<(), Refusal> {
    if COUNTRIES.contains(&cc) {
        Ok(())
    } else {
        Err(Box::new(error(StatusCode::NOT_FOUND, "NOT_FOUND", format!("no Ninja Van system for {cc:?}"), None)))
    }
}

pub(crate) async fn token(State(c): State<Arc<Carrier>>, Path(cc): Path<String>, body: axum::body::Bytes) -> Response {
    if let Err(r) = country(&cc) {
        return *r;
    }
    if let Some(f) = crate::protocol_fault(&c, "ninjavan").await {
        return f;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "REQUEST_ERR", "the body is not JSON", None);
    };
    let (id, secret) = (&c.config.ninjavan.0, &c.config.ninjavan.1);
    if v["grant_type"] != "client_credentials" {
        return error(
            StatusCode::BAD_REQUEST,
            "REQUEST_ERR",
            "grant_type must be client_credentials",
            Some("grant_type"),
        );
    }
    if v["client_id"].as_str() != Some(id) || v["client_secret"].as_str() != Some(secret) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "invalid client credentials", None);
    }
    let token = {
        let mut b = c.lock();
        b.serial += 1;
        let t = format!("nvtok-{}-{}", b.serial, b.nv_tokens.len());
        b.nv_tokens.insert(t.clone(), OffsetDateTime::now_utc() + time::Duration::hours(1));
        t
    };
    let expires = (OffsetDateTime::now_utc() + time::Duration::hours(1)).unix_timestamp();
    axum::Json(json!({"access_token": token, "expires": expires, "token_type": "bearer", "expires_in": 3600}))
        .into_response()
}

/// The bearer token checked, then any injected fault.
async fn gate(c: &Carrier, cc: &str, headers: &HeaderMap) -> Result<(), Refusal> {
    country(cc)?;
    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let valid = token.is_some_and(|t| c.lock().nv_tokens.get(t).is_some_and(|exp| *exp > OffsetDateTime::now_utc()));
    if !valid {
        return Err(Box::new(error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "missing or expired access token", None)));
    }
    if let Some(f) = crate::protocol_fault(c, "ninjavan").await {
        return Err(Box::new(f));
    }
    Ok(())
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
    let opt = |s: String| (!s.is_empty()).then_some(s);
    Party {
        name: text(v, &["name"]),
        phone: opt(text(v, &["phone_number"])),
        line1: opt(text(v, &["address", "address1"])),
        line2: opt(text(v, &["address", "address2"])),
        city: text(v, &["address", "city"]),
        region: opt(text(v, &["address", "state"])),
        postal_code: opt(text(v, &["address", "postcode"])),
        country: text(v, &["address", "country"]).to_ascii_uppercase(),
    }
}

fn order(v: &Value, cc: &str) -> Result<CreateShipment, (String, &'static str)> {
    let need = |path: &[&str], field: &'static str| {
        if text(v, path).trim().is_empty() { Err((format!("{field} is required"), field)) } else { Ok(()) }
    };
    need(&["requested_tracking_number"], "requested_tracking_number")?;
    need(&["to", "name"], "to.name")?;
    need(&["to", "phone_number"], "to.phone_number")?;
    need(&["to", "address", "address1"], "to.address.address1")?;
    need(&["to", "address", "city"], "to.address.city")?;
    let to = party(&v["to"]);
    if !to.country.eq_ignore_ascii_case(cc) {
        return Err((format!("this system delivers in {}", cc.to_ascii_uppercase()), "to.address.country"));
    }
    let weight = v["parcel_job"]["dimensions"]["weight"].as_f64().filter(|w| *w > 0.0 && *w <= 70.0);
    let weight = weight.ok_or(("kilograms, above 0 and at most 70".to_owned(), "parcel_job.dimensions.weight"))?;
    let currency = match cc {
        "sg" => "SGD",
        "my" => "MYR",
        "th" => "THB",
        "id" => "IDR",
        "vn" => "VND",
        _ => "PHP",
    };
    let cod = match &v["parcel_job"]["cash_on_delivery"] {
        Value::Null => None,
        Value::Number(n) => {
            let a = Amount { amount: n.to_string(), currency: currency.into() };
            crate::parse_amount(&a)
                .filter(|m| *m > 0)
                .ok_or(("a positive amount".to_owned(), "parcel_job.cash_on_delivery"))?;
            Some(a)
        }
        _ => return Err(("a number".into(), "parcel_job.cash_on_delivery")),
    };
    let from = party(&v["from"]);
    Ok(CreateShipment {
        reference: text(v, &["requested_tracking_number"]),
        service: text(v, &["service_level"]),
        shipper: if from.city.is_empty() {
            Party { city: "Shenzhen".into(), country: "CN".into(), ..from }
        } else {
            from
        },
        consignee: to,
        // Kilograms with grams' precision: the sandbox weighs in whole grams.
        pieces: vec![Piece {
            weight_g: (weight * 1000.0).round() as i64,
            length_cm: None,
            width_cm: None,
            height_cm: None,
        }],
        cod,
        declared_value: Amount { amount: amount_str(0, currency), currency: currency.into() },
        incoterm: None,
    })
}

fn tracking_of(cc: &str, requested: &str) -> String {
    format!("NV{}{}", cc.to_ascii_uppercase(), requested)
}

pub(crate) async fn create(
    State(c): State<Arc<Carrier>>,
    Path(cc): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = gate(&c, &cc, &headers).await {
        return *r;
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return error(StatusCode::BAD_REQUEST, "REQUEST_ERR", "the body is not a JSON object", None),
    };
    let req = match order(&v, &cc) {
        Ok(r) => r,
        Err((m, field)) => return error(StatusCode::BAD_REQUEST, "REQUEST_ERR", m, Some(field)),
    };
    let requested = req.reference.clone();
    let key = format!("nv:{cc}:{requested}");
    let now = c.now();
    let mut b = c.lock();
    if b.by_key.contains_key(&key) {
        return error(
            StatusCode::BAD_REQUEST,
            "DUPLICATE_TRACKING_ID",
            format!("requested_tracking_number {requested} is already used"),
            Some("requested_tracking_number"),
        );
    }
    b.create_calls += 1;
    let (sandbox_no, _) = book_parcel(&c, &mut b, &key, req, now);
    let tracking = tracking_of(&cc, &requested);
    b.aliases.insert(tracking.clone(), sandbox_no);
    let mut reply = v.clone();
    reply["tracking_number"] = json!(tracking);
    (StatusCode::OK, axum::Json(reply)).into_response()
}

fn sandbox_number(c: &Carrier, tracking: &str) -> Option<String> {
    c.lock().aliases.get(tracking).cloned()
}

pub(crate) async fn cancel(
    State(c): State<Arc<Carrier>>,
    Path((cc, tracking)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&c, &cc, &headers).await {
        return *r;
    }
    let Some(t) = sandbox_number(&c, &tracking) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", format!("order {tracking} not found"), None);
    };
    let now = c.now();
    match cancel_parcel(&mut c.lock(), &t, now) {
        Ok(()) => {
            axum::Json(json!({"trackingId": tracking, "status": "Cancelled", "updatedAt": fmt(now)})).into_response()
        }
        Err(_) => {
            error(StatusCode::BAD_REQUEST, "REQUEST_ERR", "the order was picked up and cannot be cancelled", None)
        }
    }
}

pub(crate) async fn waybill(
    State(c): State<Arc<Carrier>>,
    Path(cc): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&c, &cc, &headers).await {
        return *r;
    }
    let tids = q.get("tids").cloned().unwrap_or_default();
    if tids.is_empty() || tids.split(',').any(|t| sandbox_number(&c, t).is_none()) {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", format!("no waybill for {tids:?}"), Some("tids"));
    }
    ([("content-type", "application/pdf")], crate::label_pdf(&format!("Ninja Van {tids}"))).into_response()
}

/// One order event as Ninja Van's v2 webhooks carry it.
pub fn event_body(tracking: &str, reference: &str, e: &crate::model::Event, previous: Option<&str>) -> Value {
    json!({"tracking_id": tracking, "shipper_order_ref_no": reference, "timestamp": fmt(e.at),
           "status": status(e.code), "previous_status": previous, "is_parcel_on_rts_leg": matches!(e.code, "RTS" | "RTD"),
           "comments": e.description, "location": e.location})
}

pub(crate) async fn events(
    State(c): State<Arc<Carrier>>,
    Path((cc, tracking)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&c, &cc, &headers).await {
        return *r;
    }
    let Some(t) = sandbox_number(&c, &tracking) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", format!("order {tracking} not found"), None);
    };
    let now = c.now();
    let mut b = c.lock();
    let s = b.shipments.get_mut(&t).expect("aliased parcels exist");
    s.tracking_requests += 1;
    let mut previous = None;
    let mut list = Vec::new();
    for e in s.visible(now) {
        list.push(event_body(&tracking, &s.request.reference, e, previous));
        previous = Some(status(e.code));
    }
    axum::Json(json!({"tracking_id": tracking, "events": list})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_signature_is_base64_of_the_hmac_of_the_raw_body() {
        // python3: base64.b64encode(hmac.new(b"s", b'{"a":1}', hashlib.sha256).digest())
        assert_eq!(signature("s", br#"{"a":1}"#), "N76vZQ9wtA7JcGkpwunYNcvWNymYj0h4HmODoUchXwc=");
    }
}
