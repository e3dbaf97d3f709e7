//! Ninja Van's wire shapes: snake_case, weights in kilograms, amounts as numbers in the country's currency,
//! statuses as phrases ("Delivered, Received by Customer"), which become codes by upper-casing and joining words.

use serde_json::{Value, json};

use crate::carriers::{BookingRequest, CarrierError, CarrierEvent, Party, excerpt, http_error};

/// The currency Ninja Van collects cash in, per system.
pub fn currency(cc: &str) -> &'static str {
    match cc {
        "sg" => "SGD",
        "my" => "MYR",
        "th" => "THB",
        "id" => "IDR",
        "vn" => "VND",
        _ => "PHP",
    }
}

/// The code a status phrase is mapped by: `Delivered, Received by Customer` → `DELIVERED_RECEIVED_BY_CUSTOMER`.
pub fn code(status: &str) -> String {
    let mut out = String::with_capacity(status.len());
    for w in status.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&w.to_ascii_uppercase());
    }
    out.truncate(64);
    out
}

/// Nine characters from the shipment id, the same on every attempt (FNV-1a, base 36).
pub fn requested_tracking_number(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    let digits = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..9)
        .map(|_| {
            let d = digits[(h % 36) as usize] as char;
            h /= 36;
            d
        })
        .collect()
}

fn party(p: &Party) -> Value {
    json!({"name": p.name, "phone_number": p.phone.clone().unwrap_or_default(), "email": p.email.clone().unwrap_or_default(),
           "address": {"address1": p.line1, "address2": p.line2.clone().unwrap_or_default(), "city": p.city,
                       "state": p.region.clone().unwrap_or_default(), "postcode": p.postal_code.clone().unwrap_or_default(),
                       "country": p.country}})
}

pub fn order_body(req: &BookingRequest, cc: &str) -> Result<Value, CarrierError> {
    let kg = req.pieces.iter().sum::<i64>() as f64 / 1000.0;
    let level = {
        let mut s = req.service.clone();
        if let Some(f) = s.get_mut(0..1) {
            f.make_ascii_uppercase();
        }
        s
    };
    let items: Vec<Value> = req
        .items
        .iter()
        .map(|i| json!({"item_description": i.description, "quantity": i.quantity, "is_dangerous_good": false}))
        .collect();
    let mut job = json!({"is_pickup_required": false, "dimensions": {"weight": kg}, "items": items,
                         "delivery_timeslot": {"start_time": "09:00", "end_time": "22:00", "timezone": "Asia/Singapore"}});
    if let Some(cod) = &req.cod {
        if cod.currency != currency(cc) {
            return Err(CarrierError::Rejected {
                code: "cod_currency".into(),
                message: format!(
                    "Ninja Van {} collects cash in {}, not {}",
                    cc.to_ascii_uppercase(),
                    currency(cc),
                    cod.currency
                ),
                field: Some("cod".into()),
            });
        }
        let d: rust_decimal::Decimal = cod.amount.trim().parse().map_err(|_| CarrierError::Rejected {
            code: "invalid_amount".into(),
            message: format!("{:?} is not an amount", cod.amount),
            field: Some("cod".into()),
        })?;
        job["cash_on_delivery"] =
            serde_json::from_str(&d.normalize().to_string()).map_err(|e| CarrierError::Malformed(e.to_string()))?;
    }
    Ok(json!({
        "service_type": "Parcel", "service_level": level,
        "requested_tracking_number": requested_tracking_number(&req.idempotency_key),
        "reference": {"merchant_order_number": req.reference},
        "from": party(&req.shipper), "to": party(&req.consignee), "parcel_job": job,
    }))
}

/// A reply's JSON, or the error it stands for.
pub fn read(status: u16, retry_after: Option<u64>, body: &[u8]) -> Result<Value, CarrierError> {
    if let Some(e) = http_error("Ninja Van", status, retry_after, body) {
        return Err(e);
    }
    match status {
        200..=299 => serde_json::from_slice(body)
            .map_err(|e| CarrierError::Malformed(format!("Ninja Van's reply is not JSON ({e}): {}", excerpt(body)))),
        _ => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let e = &v["error"];
            let title = e["title"].as_str().unwrap_or("");
            let message = e["message"].as_str().map(str::to_owned).unwrap_or_else(|| excerpt(body));
            let field =
                e["details"].as_array().and_then(|d| d.first()).and_then(|d| d["field"].as_str()).map(str::to_owned);
            if title == "DUPLICATE_TRACKING_ID" {
                return Err(CarrierError::Rejected {
                    code: "already_booked".into(),
                    message: format!(
                        "{message}: an earlier attempt booked this parcel; find it in Ninja Van's dashboard"
                    ),
                    field,
                });
            }
            Err(CarrierError::Rejected {
                code: if title.is_empty() { status.to_string() } else { title.to_owned() },
                message,
                field,
            })
        }
    }
}

pub fn verify(secret: &str, body: &[u8], signature: &str) -> bool {
    crate::carriers::verify_base64_hmac(secret, body, signature)
}

/// Events from one webhook body (an object) or a list of them, oldest first.
pub fn events(v: &Value) -> Result<Vec<CarrierEvent>, CarrierError> {
    let list: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => return Err(CarrierError::Malformed("Ninja Van events are neither an object nor a list".into())),
    };
    let mut out = list
        .into_iter()
        .map(|e| {
            let tracking = e["tracking_id"].as_str().filter(|t| !t.is_empty());
            let tracking =
                tracking.ok_or_else(|| CarrierError::Malformed("a Ninja Van event without tracking_id".into()))?;
            let status = e["status"].as_str().filter(|s| !s.is_empty());
            let status = status.ok_or_else(|| CarrierError::Malformed("a Ninja Van event without status".into()))?;
            Ok(CarrierEvent {
                tracking_number: tracking.to_owned(),
                code: code(status),
                description: status.to_owned(),
                location: e["location"].as_str().filter(|l| !l.is_empty()).map(str::to_owned),
                at: crate::carriers::zoned_time(e["timestamp"].as_str().unwrap_or(""), "Ninja Van event time")?,
            })
        })
        .collect::<Result<Vec<_>, CarrierError>>()?;
    out.sort_by_key(|e| e.at);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_phrases_become_codes_and_requested_numbers_are_stable() {
        assert_eq!(code("Delivered, Received by Customer"), "DELIVERED_RECEIVED_BY_CUSTOMER");
        assert_eq!(code("Picked Up, In Transit To Origin Hub"), "PICKED_UP_IN_TRANSIT_TO_ORIGIN_HUB");
        let a = requested_tracking_number("shp_01jd");
        assert_eq!(a.len(), 9);
        assert_eq!(a, requested_tracking_number("shp_01jd"));
        assert_ne!(a, requested_tracking_number("shp_01je"));
    }

    #[test]
    fn a_signature_verifies_only_for_its_secret_and_body() {
        // base64(HMAC-SHA256("s", '{"a":1}')), from Python's hmac module.
        let sig = "N76vZQ9wtA7JcGkpwunYNcvWNymYj0h4HmODoUchXwc=";
        assert!(verify("s", br#"{"a":1}"#, sig));
        assert!(!verify("t", br#"{"a":1}"#, sig));
        assert!(!verify("s", br#"{"a":2}"#, sig));
        assert!(!verify("s", br#"{"a":1}"#, "not base64!"));
    }
}
