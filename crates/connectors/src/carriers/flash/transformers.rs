//! Flash Express's wire shapes: flat form parameters (`src…`/`dst…` addresses, grams, satang), replies
//! `{"code", "message", "data"}`, routes with `routeAction` and `routedAt` in Unix seconds.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::carriers::{BookingRequest, CarrierError, CarrierEvent, Party, excerpt, http_error};

/// Codes for a merchant or signature Flash does not accept.
const AUTH_CODES: [i64; 2] = [1001, 1002];
/// Flash's code for an `outTradeNo` it already holds.
const REPEATED: i64 = 1004;

pub fn sign(params: &BTreeMap<String, String>, secret: &str) -> String {
    let joined: Vec<String> =
        params.iter().filter(|(k, v)| *k != "sign" && !v.trim().is_empty()).map(|(k, v)| format!("{k}={v}")).collect();
    let mut h = Sha256::new();
    h.update(format!("{}&key={secret}", joined.join("&")).as_bytes());
    h.finalize().iter().map(|b| format!("{b:02X}")).collect()
}

fn party(out: &mut BTreeMap<String, String>, prefix: &str, p: &Party) {
    let mut put = |k: &str, v: String| {
        out.insert(format!("{prefix}{k}"), v);
    };
    put("Name", p.name.clone());
    put("Phone", p.phone.clone().unwrap_or_default());
    put("ProvinceName", p.region.clone().unwrap_or_else(|| p.city.clone()));
    put("CityName", p.city.clone());
    put("PostalCode", p.postal_code.clone().unwrap_or_default());
    put(
        "DetailAddress",
        [Some(p.line1.clone()), p.line2.clone()]
            .into_iter()
            .flatten()
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    );
}

/// Minor units of a decimal string with at most two decimals.
fn satang(s: &str) -> Option<i64> {
    let d: rust_decimal::Decimal = s.trim().parse().ok()?;
    let scaled = d.checked_mul(rust_decimal::Decimal::from(100))?;
    if scaled.fract() != rust_decimal::Decimal::ZERO || scaled <= rust_decimal::Decimal::ZERO {
        return None;
    }
    scaled.normalize().to_string().parse().ok()
}

pub fn order_params(req: &BookingRequest) -> Result<BTreeMap<String, String>, CarrierError> {
    let mut p = BTreeMap::new();
    p.insert("outTradeNo".into(), req.idempotency_key.clone());
    p.insert("expressCategory".into(), "1".into());
    p.insert("articleCategory".into(), "99".into());
    p.insert("weight".into(), req.pieces.iter().sum::<i64>().to_string());
    p.insert("remark".into(), req.reference.clone());
    party(&mut p, "src", &req.shipper);
    party(&mut p, "dst", &req.consignee);
    match &req.cod {
        Some(c) => {
            if c.currency != "THB" {
                return Err(CarrierError::Rejected {
                    code: "cod_currency".into(),
                    message: format!("Flash Express collects cash in THB, not {}", c.currency),
                    field: Some("cod".into()),
                });
            }
            let minor = satang(&c.amount).ok_or_else(|| CarrierError::Rejected {
                code: "invalid_amount".into(),
                message: format!("{:?} is not an amount in THB", c.amount),
                field: Some("cod".into()),
            })?;
            p.insert("codEnabled".into(), "1".into());
            p.insert("codAmount".into(), minor.to_string());
        }
        None => {
            p.insert("codEnabled".into(), "0".into());
        }
    }
    Ok(p)
}

/// `POST /open/v1/orders/estimate_rate`: the route's provinces, cities and postcodes, the weight in grams and the
/// size in centimetres (the largest piece's), standard service, the merchant's own price table.
pub fn rate_params(req: &crate::carriers::RateRequest) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    for (prefix, party) in [("src", &req.origin), ("dst", &req.destination)] {
        p.insert(format!("{prefix}ProvinceName"), party.region.clone().unwrap_or_else(|| party.city.clone()));
        p.insert(format!("{prefix}CityName"), party.city.clone());
        p.insert(format!("{prefix}PostalCode"), party.postal_code.clone().unwrap_or_default());
    }
    p.insert("weight".into(), req.pieces.iter().map(|x| x.weight_g).sum::<i64>().to_string());
    if let Some(d) = req.pieces.iter().filter_map(|x| x.dims_mm).max_by_key(|d| d[0] * d[1] * d[2]) {
        for (k, mm) in [("length", d[0]), ("width", d[1]), ("height", d[2])] {
            p.insert(k.into(), ((mm + 9) / 10).to_string());
        }
    }
    p.insert("expressCategory".into(), "1".into());
    p.insert("pricingTable".into(), "0".into());
    p
}

/// `data.estimatePrice`, in satang, as the rate in THB.
pub fn rate(data: &Value) -> Result<crate::carriers::CarrierRate, CarrierError> {
    let satang = match &data["estimatePrice"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|v| *v >= 0)
    .ok_or_else(|| CarrierError::Malformed(format!("Flash's estimate has no estimatePrice in satang: {data}")))?;
    Ok(crate::carriers::CarrierRate {
        total: crate::carriers::Amount {
            amount: format!("{}.{:02}", satang / 100, satang % 100),
            currency: "THB".into(),
        },
        charges: Vec::new(),
        billable_weight_g: None,
        transit_days: None,
    })
}

pub fn read(status: u16, retry_after: Option<u64>, body: &[u8]) -> Result<Value, CarrierError> {
    if let Some(e) = http_error("Flash", status, retry_after, body) {
        return Err(e);
    }
    match status {
        200..=299 => {}
        _ => return Err(CarrierError::Rejected { code: status.to_string(), message: excerpt(body), field: None }),
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| CarrierError::Malformed(format!("Flash's reply is not JSON ({e}): {}", excerpt(body))))?;
    let code = v["code"].as_i64().or_else(|| v["code"].as_str().and_then(|c| c.parse().ok()));
    match code {
        Some(1) => Ok(v["data"].clone()),
        Some(c) if AUTH_CODES.contains(&c) => Err(CarrierError::Unauthorized),
        Some(c) => {
            let message = v["message"].as_str().unwrap_or("Flash refused the request").to_owned();
            // Flash names the parameter first: "dstPhone is required", "weight: grams, 1 to 50000".
            let field = message
                .split_once(" is required")
                .or_else(|| message.split_once(": "))
                .map(|(f, _)| f)
                .filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_alphanumeric()))
                .map(str::to_owned);
            if c == REPEATED {
                return Err(CarrierError::Rejected {
                    code: "already_booked".into(),
                    message: format!("{message}: an earlier attempt booked this parcel; find it in Flash's portal"),
                    field: Some("outTradeNo".into()),
                });
            }
            Err(CarrierError::Rejected { code: c.to_string(), message, field })
        }
        None => Err(CarrierError::Malformed(format!("Flash's reply has no code: {}", excerpt(body)))),
    }
}

pub fn events(pno: &str, data: &Value) -> Result<Vec<CarrierEvent>, CarrierError> {
    let Some(routes) = data["routes"].as_array() else {
        return if data["routes"].is_null() {
            Ok(Vec::new())
        } else {
            Err(CarrierError::Malformed("Flash's routes is not a list".into()))
        };
    };
    let mut out = routes
        .iter()
        .map(|r| {
            let action = r["routeAction"].as_str().filter(|a| !a.is_empty());
            let action = action.ok_or_else(|| CarrierError::Malformed("a Flash route without routeAction".into()))?;
            let secs = r["routedAt"]
                .as_i64()
                .ok_or_else(|| CarrierError::Malformed("a Flash route without routedAt".into()))?;
            // Milliseconds in some of Flash's replies, seconds in others.
            let secs = if secs > 100_000_000_000 { secs / 1000 } else { secs };
            Ok(CarrierEvent {
                tracking_number: pno.to_owned(),
                code: action.chars().take(64).collect(),
                description: r["message"].as_str().unwrap_or("").to_owned(),
                location: None,
                at: OffsetDateTime::from_unix_timestamp(secs)
                    .map_err(|_| CarrierError::Malformed(format!("routedAt {secs} is out of range")))?,
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
    fn the_signature_leaves_out_empty_values_and_sign_itself() {
        let p: BTreeMap<String, String> =
            [("nonceStr", "1526461166805"), ("mchId", "AA0001"), ("remark", ""), ("sign", "x")]
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect();
        // hashlib.sha256(b"mchId=AA0001&nonceStr=1526461166805&key=k").hexdigest().upper()
        assert_eq!(sign(&p, "k"), "83133023A883A7264DCE2A65A2C74B315C188827EFC3751578836F4EEB0EAEFD");
    }

    #[test]
    fn cod_goes_in_satang_exactly() {
        assert_eq!(satang("129.50"), Some(12950));
        assert_eq!(satang("0.01"), Some(1));
        assert_eq!(satang("1.005"), None);
        assert_eq!(satang("-5"), None);
        assert_eq!(satang("lots"), None);
    }
}
