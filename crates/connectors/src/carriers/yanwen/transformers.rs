//! Yanwen's wire shapes: the signed query, order data (receiver, sender, parcel with its declared products), replies
//! `{"success", "code", "message", "data"}`, and the track API's results with their checkpoints.

use md5::{Digest, Md5};
use serde_json::{Value, json};
use time::PrimitiveDateTime;

use crate::carriers::{BookingRequest, CarrierError, CarrierEvent, Party, excerpt, http_error, utc_offset};

pub const VERSION: &str = "V1.0";

/// Lower-case hex MD5 of token + user id + data + format + method + timestamp + version + token.
pub fn sign(token: &str, user_id: &str, data: &str, method: &str, timestamp: &str) -> String {
    let mut h = Md5::new();
    for part in [token, user_id, data, "json", method, timestamp, VERSION, token] {
        h.update(part.as_bytes());
    }
    codflow_domain::text::hex(&h.finalize())
}

fn address(p: &Party) -> String {
    [Some(p.line1.as_str()), p.line2.as_deref()]
        .into_iter()
        .flatten()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The currencies Yanwen takes declared values in.
pub const CURRENCIES: [&str; 6] = ["USD", "EUR", "GBP", "CNY", "AUD", "CAD"];

pub fn order(req: &BookingRequest, channel_id: &str) -> Result<Value, CarrierError> {
    if req.cod.is_some() {
        return Err(CarrierError::Rejected {
            code: "cod_unsupported".into(),
            message: "Yanwen takes prepaid parcels only; book cash on delivery with a last-mile carrier".into(),
            field: Some("cod".into()),
        });
    }
    let currency = req.declared_value.currency.to_ascii_uppercase();
    if !CURRENCIES.contains(&currency.as_str()) {
        return Err(CarrierError::Rejected {
            code: "currency".into(),
            message: format!("Yanwen takes declared values in {}, not {currency}", CURRENCIES.join(", ")),
            field: Some("declared_value".into()),
        });
    }
    let c = &req.consignee;
    let products: Vec<Value> = req
        .items
        .iter()
        .take(5)
        .map(|i| {
            Ok(json!({"goodsNameCh": i.description, "goodsNameEn": i.description,
                      "price": crate::carriers::decimal_number(&i.unit_value, "items.unit_value")?,
                      "quantity": i.quantity, "weight": i.weight_g.max(1), "hscode": i.hs_code}))
        })
        .collect::<Result<_, CarrierError>>()?;
    Ok(json!({
        "channelId": channel_id, "orderSource": "codflow", "orderNumber": req.idempotency_key,
        "remark": req.reference,
        "receiverInfo": {"name": c.name, "country": c.country, "address": address(c), "phone": c.phone,
                         "state": c.region.clone().unwrap_or_else(|| c.city.clone()), "city": c.city,
                         "zipCode": c.postal_code, "email": c.email},
        "senderInfo": {"name": req.shipper.name, "phone": req.shipper.phone, "country": req.shipper.country,
                       "city": req.shipper.city, "address": address(&req.shipper), "zipCode": req.shipper.postal_code},
        "parcelInfo": {"hasBattery": 0, "currency": currency,
                       "totalPrice": crate::carriers::decimal_number(&req.declared_value.amount, "declared_value")?,
                       "totalQuantity": req.items.iter().map(|i| i.quantity).sum::<i64>().max(1),
                       "totalWeight": req.pieces.iter().sum::<i64>(), "productList": products},
    }))
}

pub fn read(status: u16, retry_after: Option<u64>, body: &[u8]) -> Result<Value, CarrierError> {
    if let Some(e) = http_error("Yanwen", status, retry_after, body) {
        return Err(e);
    }
    if !(200..=299).contains(&status) {
        return Err(CarrierError::Rejected { code: status.to_string(), message: excerpt(body), field: None });
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| CarrierError::Malformed(format!("Yanwen's reply is not JSON ({e}): {}", excerpt(body))))?;
    match v["success"].as_bool() {
        Some(true) => Ok(v["data"].clone()),
        Some(false) => {
            let message = v["message"].as_str().unwrap_or("Yanwen refused the request").to_owned();
            let code = match &v["code"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => "refused".into(),
            };
            let lower = message.to_lowercase();
            // Yanwen's messages for a bad signature or an unknown user.
            if lower.contains("sign") || lower.contains("user_id") || lower.contains("token") {
                return Err(CarrierError::Unauthorized);
            }
            let field =
                message.split_whitespace().next().filter(|f| f.contains('.') && f.is_ascii()).map(str::to_owned);
            Err(CarrierError::Rejected { code, message, field })
        }
        None => Err(CarrierError::Malformed(format!("Yanwen's reply has no success flag: {}", excerpt(body)))),
    }
}

fn waybill_ok(w: &str) -> bool {
    !w.is_empty() && w.len() <= 40 && w.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The waybill of an order already listed under our shipment id.
pub fn listed_waybill(data: &Value, order_number: &str) -> Option<String> {
    data.as_array()?
        .iter()
        .filter(|o| o["orderNumber"].as_str() == Some(order_number))
        .find_map(|o| o["waybillNumber"].as_str().filter(|w| waybill_ok(w)).map(str::to_owned))
}

pub fn created(data: &Value) -> Result<String, CarrierError> {
    data["waybillNumber"]
        .as_str()
        .filter(|w| waybill_ok(w))
        .map(str::to_owned)
        .ok_or_else(|| CarrierError::Malformed("Yanwen's order has no waybill number".into()))
}

/// The label as base64 (checked to decode to a PDF).
pub fn label(data: &Value) -> Result<String, CarrierError> {
    use base64::Engine as _;
    let d = data.as_array().and_then(|a| a.first()).unwrap_or(data);
    if d["isSuccess"].as_bool() == Some(false) {
        let m = d["errorMsg"].as_str().unwrap_or("Yanwen could not make the label");
        return Err(CarrierError::Rejected { code: "label".into(), message: m.to_owned(), field: None });
    }
    let b64 = d["base64String"].as_str().unwrap_or("").trim();
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| CarrierError::Malformed("Yanwen's label is not base64".into()))?;
    if !pdf.starts_with(b"%PDF-") {
        return Err(CarrierError::Malformed("Yanwen's label is not a PDF".into()));
    }
    Ok(b64.to_owned())
}

pub fn tracking(
    waybill: &str,
    status: u16,
    retry_after: Option<u64>,
    body: &[u8],
) -> Result<Vec<CarrierEvent>, CarrierError> {
    if let Some(e) = http_error("Yanwen", status, retry_after, body) {
        return Err(e);
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| CarrierError::Malformed(format!("Yanwen's tracking is not JSON ({e}): {}", excerpt(body))))?;
    if v["code"].as_i64() != Some(0) {
        let message = v["message"].as_str().unwrap_or("Yanwen refused the tracking request").to_owned();
        return Err(CarrierError::Rejected { code: v["code"].to_string(), message, field: None });
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let mut out = Vec::new();
    for r in v["result"].as_array().into_iter().flatten() {
        if r["tracking_number"].as_str() != Some(waybill) {
            continue;
        }
        if r["tracking_status"].as_str() == Some("NOTFOUND") {
            return Err(CarrierError::Rejected {
                code: "not_found".into(),
                message: format!("Yanwen has no tracking for {waybill}"),
                field: None,
            });
        }
        for c in r["checkpoints"].as_array().into_iter().flatten() {
            let code = c["tracking_status"].as_str().filter(|s| !s.is_empty());
            let code =
                code.ok_or_else(|| CarrierError::Malformed("a Yanwen checkpoint without tracking_status".into()))?;
            let at = c["time_stamp"].as_str().unwrap_or("");
            let local = PrimitiveDateTime::parse(at.trim(), &fmt)
                .map_err(|_| CarrierError::Malformed(format!("time_stamp {at:?} is not a local time")))?;
            let z = c["time_zone"].as_str().unwrap_or("+8");
            let offset =
                utc_offset(z).ok_or_else(|| CarrierError::Malformed(format!("time_zone {z:?} is not an offset")))?;
            out.push(CarrierEvent {
                tracking_number: waybill.to_owned(),
                code: code.chars().take(64).collect(),
                description: c["message"].as_str().unwrap_or("").to_owned(),
                location: c["location"].as_str().filter(|l| !l.is_empty()).map(str::to_owned),
                at: local.assume_offset(offset),
            });
        }
    }
    out.sort_by_key(|e: &CarrierEvent| e.at);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_is_md5_over_token_user_data_format_method_time_version_token() {
        // hashlib.md5(b't' + b'100000' + b'{}' + b'json' + b'express.order.create' + b'1' + b'V1.0' + b't').hexdigest()
        assert_eq!(sign("t", "100000", "{}", "express.order.create", "1"), "69620547541173a3a42477d13e978fbc");
    }
}
