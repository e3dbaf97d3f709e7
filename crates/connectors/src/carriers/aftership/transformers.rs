//! AfterShip's wire shapes: `{"meta": {"code", "message"}, "data"}`, trackings with `checkpoints`
//! (`checkpoint_time`, `message`, `location`, `tag`, `subtag`).

use serde_json::Value;

use crate::carriers::{CarrierError, CarrierEvent, excerpt, http_error};

/// AfterShip's meta code for a number it follows already.
pub const ALREADY_FOLLOWED: &str = "4003";

pub fn read(status: u16, retry_after: Option<u64>, body: &[u8]) -> Result<Value, CarrierError> {
    if let Some(e) = http_error("AfterShip", status, retry_after, body) {
        return Err(e);
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| CarrierError::Malformed(format!("AfterShip's reply is not JSON ({e}): {}", excerpt(body))))?;
    let code = v["meta"]["code"]
        .as_i64()
        .ok_or_else(|| CarrierError::Malformed(format!("AfterShip's reply has no meta.code: {}", excerpt(body))))?;
    if (200..300).contains(&code) && (200..300).contains(&status) {
        return Ok(v["data"].clone());
    }
    let message = v["meta"]["message"].as_str().unwrap_or("AfterShip refused the request").to_owned();
    let field = message.split('`').nth(1).map(str::to_owned);
    Err(CarrierError::Rejected { code: code.to_string(), message, field })
}

/// A tracking's checkpoints, oldest first.
pub fn events(tracking: &Value) -> Result<Vec<CarrierEvent>, CarrierError> {
    let number = tracking["tracking_number"].as_str().filter(|n| !n.is_empty());
    let number =
        number.ok_or_else(|| CarrierError::Malformed("an AfterShip tracking without tracking_number".into()))?;
    let Some(list) = tracking["checkpoints"].as_array() else {
        return if tracking["checkpoints"].is_null() {
            Ok(Vec::new())
        } else {
            Err(CarrierError::Malformed("AfterShip's checkpoints is not a list".into()))
        };
    };
    let mut out = list
        .iter()
        .map(|c| {
            let code =
                c["subtag"].as_str().filter(|s| !s.is_empty()).or_else(|| c["tag"].as_str().filter(|s| !s.is_empty()));
            let code = code.ok_or_else(|| CarrierError::Malformed("an AfterShip checkpoint without tag".into()))?;
            let at = c["checkpoint_time"].as_str().unwrap_or("");
            let at = crate::carriers::zoned_time(at, "AfterShip checkpoint_time")?;
            Ok(CarrierEvent {
                tracking_number: number.to_owned(),
                code: code.chars().take(64).collect(),
                description: c["message"].as_str().unwrap_or("").to_owned(),
                location: c["location"].as_str().filter(|l| !l.is_empty()).map(str::to_owned),
                at,
            })
        })
        .collect::<Result<Vec<_>, CarrierError>>()?;
    out.sort_by_key(|e| e.at);
    Ok(out)
}
