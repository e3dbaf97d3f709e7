//! The tracking aggregator AfterShip, speaking its Tracking API (developers.aftership.com, "Tracking API"; the
//! paths of its 2024-10 version): the `as-api-key` header; `POST /tracking/2024-10/trackings` with
//! `{"tracking_number", "slug"?}` (a number already followed answers 4003 "Tracking already exists"), `GET
//! /tracking/2024-10/trackings?tracking_numbers=` listing trackings with their `checkpoints` (`checkpoint_time`,
//! `message`, `location`, `tag`, `subtag`); replies `{"meta": {"code", "message", "type"}, "data": …}`. Webhooks
//! carry `{"event": "tracking_update", "msg": <tracking>}` signed `aftership-hmac-sha256`: base64 HMAC-SHA256 of
//! the body with the webhook secret.
//!
//! Tags are AfterShip's (Pending, InfoReceived, InTransit, OutForDelivery, AttemptFail, Delivered,
//! AvailableForPickup, Exception, Expired); the subtags for customs, returns and losses this server sends are its
//! own, in AfterShip's `Tag_NNN` shape.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::{Amount, Carrier, CreateShipment, Party, Piece, book_parcel, fmt};

pub const TEST_API_KEY: &str = "codflow-aftership-key";

/// AfterShip's tag and subtag for a sandbox scan.
pub fn tag(sandbox: &str) -> (&'static str, &'static str) {
    match sandbox {
        "LBL" => ("InfoReceived", "InfoReceived_001"),
        "PKP" => ("InTransit", "InTransit_002"),
        "DEP" => ("InTransit", "InTransit_007"),
        "ARR-CUS" => ("InTransit", "InTransit_006"),
        "CUS-HLD-DOC" | "CUS-HLD-DTY" | "CUS-HLD-INS" => ("Exception", "Exception_CUSTOMS"),
        "CUS-REL" => ("InTransit", "InTransit_005"),
        "ARR-HUB" => ("InTransit", "InTransit_003"),
        "OFD" => ("OutForDelivery", "OutForDelivery_001"),
        "DLV" | "COD" => ("Delivered", "Delivered_001"),
        "NDR-RF" => ("Exception", "Exception_REFUSED"),
        "NDR-NH" => ("AttemptFail", "AttemptFail_001"),
        "RTS" => ("Exception", "Exception_RETURNING"),
        "RTD" => ("Exception", "Exception_RETURNED"),
        "LST" => ("Exception", "Exception_LOST"),
        "CAN" => ("Exception", "Exception_CANCELLED"),
        _ => ("InTransit", "InTransit_001"),
    }
}

/// `aftership-hmac-sha256` for a body.
pub fn signature(secret: &str, body: &[u8]) -> String {
    crate::ninjavan::signature(secret, body)
}

fn meta(status: StatusCode, code: i64, message: &str, data: Value) -> Response {
    (status, axum::Json(json!({"meta": {"code": code, "message": message, "type": if code < 300 { "OK" } else { "BadRequest" }}, "data": data})))
        .into_response()
}

async fn gate(c: &Carrier, headers: &HeaderMap) -> Option<Response> {
    if headers.get("as-api-key").and_then(|v| v.to_str().ok()) != Some(c.config.aftership.as_str()) {
        return Some(meta(StatusCode::UNAUTHORIZED, 401, "Invalid API key.", json!({})));
    }
    crate::protocol_fault(c, "aftership").await
}

/// A tracking as AfterShip shows it, with every checkpoint so far, oldest first.
pub(crate) fn tracking(c: &Carrier, number: &str) -> Option<Value> {
    let t = {
        let b = c.lock();
        b.aliases.get(number).cloned().or_else(|| b.shipments.contains_key(number).then(|| number.to_owned()))?
    };
    let now = c.now();
    let mut b = c.lock();
    let s = b.shipments.get_mut(&t)?;
    s.tracking_requests += 1;
    let checkpoints: Vec<Value> = s
        .visible(now)
        .map(|e| {
            let (tag, subtag) = tag(e.code);
            json!({"checkpoint_time": fmt(e.at), "message": e.description, "location": e.location, "tag": tag, "subtag": subtag})
        })
        .collect();
    let latest = checkpoints.last().map_or(("Pending", "Pending_001"), |c| {
        (c["tag"].as_str().unwrap_or("Pending"), c["subtag"].as_str().unwrap_or("Pending_001"))
    });
    Some(json!({"id": format!("as-{number}"), "tracking_number": number, "slug": "sandbox-express", "tag": latest.0,
                "subtag": latest.1, "checkpoints": checkpoints}))
}

pub(crate) async fn create(State(c): State<Arc<Carrier>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(r) = gate(&c, &headers).await {
        return r;
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return meta(StatusCode::BAD_REQUEST, 4001, "Invalid JSON data.", json!({})),
    };
    let Some(number) = v["tracking_number"].as_str().filter(|n| (4..=50).contains(&n.len())).map(str::to_owned) else {
        return meta(StatusCode::BAD_REQUEST, 4005, "The value of `tracking_number` is invalid.", json!({}));
    };
    let now = c.now();
    {
        let mut b = c.lock();
        if b.aftership.contains(&number) {
            return meta(
                StatusCode::BAD_REQUEST,
                4003,
                "Tracking already exists.",
                json!({"tracking": {"tracking_number": number}}),
            );
        }
        if !b.shipments.contains_key(&number) && !b.aliases.contains_key(&number) {
            let req = CreateShipment {
                reference: number.clone(),
                service: "standard".into(),
                shipper: Party {
                    name: "Forwarder".into(),
                    phone: None,
                    line1: None,
                    line2: None,
                    city: "Shenzhen".into(),
                    region: None,
                    postal_code: None,
                    country: "CN".into(),
                },
                consignee: Party {
                    name: "Buyer".into(),
                    phone: None,
                    line1: None,
                    line2: None,
                    city: "Riyadh".into(),
                    region: None,
                    postal_code: None,
                    country: "SA".into(),
                },
                pieces: vec![Piece { weight_g: 500, length_cm: None, width_cm: None, height_cm: None }],
                cod: None,
                declared_value: Amount { amount: "0.00".into(), currency: "USD".into() },
                incoterm: None,
            };
            let (t, _) = book_parcel(&c, &mut b, &format!("aftership:{number}"), req, now);
            b.aliases.insert(number.clone(), t);
        }
        b.aftership.insert(number.clone());
    }
    let t = tracking(&c, &number).unwrap_or(Value::Null);
    meta(StatusCode::CREATED, 201, "Created", json!({"tracking": t}))
}

pub(crate) async fn list(
    State(c): State<Arc<Carrier>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&c, &headers).await {
        return r;
    }
    let numbers: Vec<String> =
        q.get("tracking_numbers").map(|n| n.split(',').map(str::to_owned).collect()).unwrap_or_default();
    let followed = c.lock().aftership.clone();
    let list: Vec<Value> = numbers.iter().filter(|n| followed.contains(*n)).filter_map(|n| tracking(&c, n)).collect();
    meta(StatusCode::OK, 200, "", json!({"trackings": list}))
}
