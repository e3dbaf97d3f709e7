//! The tracking aggregator 17TRACK, speaking its Tracking API v2.2 (api.17track.net/track/v2.2, "API Doc v2.2"):
//! the `17token` header; `POST /register` and `POST /gettrackinfo`, each a list of `{"number", "carrier"?}`,
//! answering `{"code": 0, "data": {"accepted": [...], "rejected": [{"number", "error": {"code", "message"}}]}}`;
//! a number must be registered before its track info is given (`-18019902`), registering twice is refused
//! (`-18019901`). Track info carries 17TRACK's stage and sub-status taxonomy (`InTransit_PickedUp`,
//! `DeliveryFailure_Rejected`, `Exception_Returning`…). Pushes (`TRACKING_UPDATED`) are signed in the `sign`
//! header: hex SHA-256 of the body, `/`, and the account's security key.
//!
//! A number the sandbox booked (through any protocol) follows its own journey; any other number registered here
//! is given one from the seeded model, as a parcel a forwarder booked would have.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{Amount, Carrier, CreateShipment, Party, Piece, book_parcel, fmt};

pub const TEST_TOKEN: &str = "codflow-17track-token";

/// 17TRACK's stage and sub-status for a sandbox scan.
pub fn status(sandbox: &str) -> (&'static str, &'static str) {
    match sandbox {
        "LBL" => ("InfoReceived", "InfoReceived"),
        "PKP" => ("InTransit", "InTransit_PickedUp"),
        "DEP" => ("InTransit", "InTransit_Departure"),
        "ARR-CUS" => ("InTransit", "InTransit_CustomsProcessing"),
        "CUS-HLD-DOC" | "CUS-HLD-DTY" | "CUS-HLD-INS" => ("InTransit", "InTransit_CustomsRequiringInformation"),
        "CUS-REL" => ("InTransit", "InTransit_CustomsReleased"),
        "ARR-HUB" => ("InTransit", "InTransit_Arrival"),
        "OFD" => ("OutForDelivery", "OutForDelivery_Other"),
        "DLV" | "COD" => ("Delivered", "Delivered_Other"),
        "NDR-RF" => ("DeliveryFailure", "DeliveryFailure_Rejected"),
        "NDR-NH" => ("DeliveryFailure", "DeliveryFailure_NoBody"),
        "RTS" => ("Exception", "Exception_Returning"),
        "RTD" => ("Exception", "Exception_Returned"),
        "LST" => ("Exception", "Exception_Lost"),
        "CAN" => ("Exception", "Exception_Cancel"),
        _ => ("InTransit", "InTransit_Other"),
    }
}

/// The `sign` header of a push: hex SHA-256 over the body, `/` and the security key.
pub fn sign(body: &[u8], key: &str) -> String {
    let mut h = Sha256::new();
    h.update(body);
    h.update(b"/");
    h.update(key.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn gate(c: &Carrier, headers: &HeaderMap) -> Option<Response> {
    if headers.get("17token").and_then(|v| v.to_str().ok()) != Some(c.config.track17.as_str()) {
        let body =
            json!({"code": -18010002, "data": {"errors": [{"code": -18010002, "message": "Invalid access key."}]}});
        return Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response());
    }
    None
}

/// The reply refusing a request body.
fn bad(message: &str) -> Response {
    let body = json!({"code": -18010012, "data": {"errors": [{"code": -18010012, "message": message}]}});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

/// The numbers of a request body, or why it is refused.
fn numbers(body: &[u8]) -> Result<Vec<(String, Option<i64>)>, &'static str> {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
        return Err("The body must be a JSON list of numbers.");
    };
    if items.is_empty() || items.len() > 40 {
        return Err("Send 1 to 40 numbers at a time.");
    }
    items
        .iter()
        .map(|i| match i["number"].as_str() {
            Some(n) if (5..=50).contains(&n.len()) => Ok((n.to_owned(), i["carrier"].as_i64())),
            _ => Err("Each item needs a number of 5 to 50 characters."),
        })
        .collect()
}

fn parcel_of(c: &Carrier, number: &str) -> Option<String> {
    let b = c.lock();
    if b.shipments.contains_key(number) {
        return Some(number.to_owned());
    }
    b.aliases.get(number).cloned()
}

fn rejected(number: &str, code: i64, message: String) -> Value {
    json!({"number": number, "error": {"code": code, "message": message}})
}

fn reply(accepted: Vec<Value>, rejected: Vec<Value>) -> Response {
    axum::Json(json!({"code": 0, "data": {"accepted": accepted, "rejected": rejected}})).into_response()
}

pub(crate) async fn register(State(c): State<Arc<Carrier>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Some(r) = gate(&c, &headers) {
        return r;
    }
    if let Some(r) = crate::protocol_fault(&c, "17track").await {
        return r;
    }
    let list = match numbers(&body) {
        Ok(l) => l,
        Err(m) => return bad(m),
    };
    let now = c.now();
    let (mut ok, mut refused) = (Vec::new(), Vec::new());
    for (number, carrier) in list {
        let mut b = c.lock();
        if b.track17.contains(&number) {
            let m = format!("The tracking number '{number}' has been registered, don't need to repeat registration.");
            refused.push(rejected(&number, -18019901, m));
            continue;
        }
        if !b.shipments.contains_key(&number) && !b.aliases.contains_key(&number) {
            // A parcel booked elsewhere: its journey from the model, on the default lane.
            let req = CreateShipment {
                reference: number.clone(),
                service: "standard".into(),
                shipper: Party { name: "Forwarder".into(), city: "Shenzhen".into(), country: "CN".into(), ..party() },
                consignee: Party { name: "Buyer".into(), city: "Riyadh".into(), country: "SA".into(), ..party() },
                pieces: vec![Piece { weight_g: 500, length_cm: None, width_cm: None, height_cm: None }],
                cod: None,
                declared_value: Amount { amount: "0.00".into(), currency: "USD".into() },
                incoterm: None,
            };
            let (t, _) = book_parcel(&c, &mut b, &format!("17track:{number}"), req, now);
            b.aliases.insert(number.clone(), t);
        }
        b.track17.insert(number.clone());
        ok.push(json!({"origin": 1, "number": number, "carrier": carrier.unwrap_or(3011)}));
    }
    reply(ok, refused)
}

fn party() -> Party {
    Party {
        name: String::new(),
        phone: None,
        line1: None,
        line2: None,
        city: String::new(),
        region: None,
        postal_code: None,
        country: String::new(),
    }
}

/// 17TRACK's track info for a parcel at `now`: the latest status and every event, newest first.
pub(crate) fn track_info(c: &Carrier, number: &str) -> Option<Value> {
    let t = parcel_of(c, number)?;
    let now = c.now();
    let mut b = c.lock();
    let s = b.shipments.get_mut(&t)?;
    s.tracking_requests += 1;
    let events: Vec<Value> = s
        .visible(now)
        .map(|e| {
            let (stage, sub) = status(e.code);
            json!({"time_iso": fmt(e.at), "time_utc": fmt(e.at), "description": e.description, "location": e.location,
                   "stage": stage, "sub_status": sub})
        })
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let latest = events.first().cloned();
    let (stage, sub) = latest.as_ref().map_or(("NotFound", "NotFound_Other"), |e| {
        (e["stage"].as_str().unwrap_or("NotFound"), e["sub_status"].as_str().unwrap_or("NotFound_Other"))
    });
    Some(json!({
        "latest_status": {"status": stage, "sub_status": sub, "sub_status_descr": null},
        "latest_event": latest,
        "tracking": {"providers": [{"provider": {"key": 3011, "name": "Sandbox Express", "country": "CN"},
                                    "latest_sync_status": "Success", "events": events}]}
    }))
}

pub(crate) async fn gettrackinfo(
    State(c): State<Arc<Carrier>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(r) = gate(&c, &headers) {
        return r;
    }
    if let Some(r) = crate::protocol_fault(&c, "17track").await {
        return r;
    }
    let list = match numbers(&body) {
        Ok(l) => l,
        Err(m) => return bad(m),
    };
    let (mut ok, mut refused) = (Vec::new(), Vec::new());
    for (number, carrier) in list {
        if !c.lock().track17.contains(&number) {
            let m = format!("The tracking number '{number}' does not register, please register first.");
            refused.push(rejected(&number, -18019902, m));
            continue;
        }
        match track_info(&c, &number) {
            Some(info) => {
                ok.push(json!({"number": number, "carrier": carrier.unwrap_or(3011), "tag": "", "track_info": info}))
            }
            None => refused.push(rejected(&number, -18019909, format!("No tracking information for '{number}'."))),
        }
    }
    reply(ok, refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_push_signature_is_the_sha256_of_body_slash_key() {
        // hashlib.sha256(b'{"event":"TRACKING_UPDATED"}/k').hexdigest()
        assert_eq!(
            sign(br#"{"event":"TRACKING_UPDATED"}"#, "k"),
            "459f350518d77fe1fbd9f8c5652b2d5f309f249f5326e9135f3b13afeb466485"
        );
    }
}
