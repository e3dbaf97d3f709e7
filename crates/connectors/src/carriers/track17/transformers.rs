//! 17TRACK's wire shapes: `{"code": 0, "data": {"accepted", "rejected"}}`, track info with providers and their
//! events (`time_iso`, `stage`, `sub_status`), and the push envelope `{"event", "data": {"number", "track_info"}}`.
//! An event's code is its sub-status (`InTransit_CustomsProcessing`), else its stage.

use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::carriers::{CarrierError, CarrierEvent, excerpt, http_error};

/// 17TRACK's error for a number not registered yet.
pub const NOT_REGISTERED: i64 = -18019902;
/// 17TRACK's error for a number registered twice.
pub const ALREADY_REGISTERED: i64 = -18019901;
/// Its error for an access key it does not know.
const INVALID_KEY: i64 = -18010002;

pub fn read(status: u16, retry_after: Option<u64>, body: &[u8]) -> Result<Value, CarrierError> {
    if let Some(e) = http_error("17TRACK", status, retry_after, body) {
        return Err(e);
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| CarrierError::Malformed(format!("17TRACK's reply is not JSON ({e}): {}", excerpt(body))))?;
    match v["code"].as_i64() {
        Some(0) if (200..300).contains(&status) => Ok(v["data"].clone()),
        Some(INVALID_KEY) => Err(CarrierError::Unauthorized),
        Some(code) => {
            let message =
                v["data"]["errors"][0]["message"].as_str().unwrap_or("17TRACK refused the request").to_owned();
            Err(CarrierError::Rejected { code: code.to_string(), message, field: None })
        }
        None => Err(CarrierError::Malformed(format!("17TRACK's reply has no code: {}", excerpt(body)))),
    }
}

/// The error 17TRACK gave `number`, if it rejected it.
pub fn rejection(data: &Value, number: &str) -> Option<(i64, String)> {
    data["rejected"].as_array()?.iter().find(|r| r["number"] == number).map(|r| {
        (r["error"]["code"].as_i64().unwrap_or(0), r["error"]["message"].as_str().unwrap_or("rejected").to_owned())
    })
}

fn at(e: &Value) -> Result<OffsetDateTime, CarrierError> {
    let s = e["time_utc"].as_str().or_else(|| e["time_iso"].as_str()).unwrap_or("");
    crate::carriers::zoned_time(s, "17TRACK event time")
}

/// Every provider's events of one track info, oldest first.
pub fn events(number: &str, info: &Value) -> Result<Vec<CarrierEvent>, CarrierError> {
    let mut out = Vec::new();
    let providers = info["tracking"]["providers"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    for p in providers {
        let Some(list) = p["events"].as_array() else { continue };
        for e in list.iter().rev() {
            let code = e["sub_status"]
                .as_str()
                .filter(|c| !c.is_empty())
                .or_else(|| e["stage"].as_str().filter(|c| !c.is_empty()));
            let code =
                code.ok_or_else(|| CarrierError::Malformed("a 17TRACK event without stage or sub_status".into()))?;
            out.push(CarrierEvent {
                tracking_number: number.to_owned(),
                code: code.chars().take(64).collect(),
                description: e["description"].as_str().unwrap_or("").to_owned(),
                location: e["location"].as_str().filter(|l| !l.is_empty()).map(str::to_owned),
                at: at(e)?,
            });
        }
    }
    out.sort_by_key(|e| e.at);
    Ok(out)
}

pub fn accepted_events(data: &Value, number: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
    let item = data["accepted"].as_array().and_then(|a| a.iter().find(|i| i["number"] == number));
    match item {
        Some(i) => events(number, &i["track_info"]),
        None => Err(CarrierError::Malformed(format!("17TRACK neither accepted nor rejected {number}"))),
    }
}

pub fn verify(key: &str, body: &[u8], signature: &str) -> bool {
    let mut h = Sha256::new();
    h.update(body);
    h.update(b"/");
    h.update(key.as_bytes());
    let expected: String = codflow_domain::text::hex(&h.finalize());
    let given = signature.trim().to_ascii_lowercase();
    // Compared in full, whatever differs first.
    expected.len() == given.len() && expected.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

pub fn push_events(body: &[u8]) -> Result<Vec<CarrierEvent>, CarrierError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| CarrierError::Malformed(e.to_string()))?;
    match v["event"].as_str() {
        Some("TRACKING_UPDATED") => {
            let number = v["data"]["number"].as_str().filter(|n| !n.is_empty());
            let number = number.ok_or_else(|| CarrierError::Malformed("a 17TRACK push without data.number".into()))?;
            events(number, &v["data"]["track_info"])
        }
        // TRACKING_STOPPED and the like carry no scans.
        Some(_) => Ok(Vec::new()),
        None => Err(CarrierError::Malformed("a 17TRACK push without event".into())),
    }
}
