//! 4PX's wire shapes: snake_case fields, weights in grams, amounts as JSON numbers, times as
//! `yyyy-MM-dd HH:mm:ss` in the zone named beside them (UTC+8 when none is).

use md5::{Digest, Md5};
use serde_json::{Value, json};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::carriers::{
    Amount, Booking, BookingRequest, CarrierError, CarrierEvent, CarrierRate, Party, RateRequest, decimal_number,
    excerpt, http_error,
};

/// 4PX's error code for a `ref_no` already used: the booking exists.
pub const REF_NO_EXISTS: &str = "DS000010";
/// Gateway codes for a key, signature or timestamp it does not accept.
const AUTH_CODES: [&str; 3] = ["000011", "000012", "000013"];

pub fn sign(app_key: &str, method: &str, timestamp: &str, v: &str, body: &[u8], secret: &str) -> String {
    let mut h = Md5::new();
    h.update(format!("app_key{app_key}formatjsonmethod{method}timestamp{timestamp}v{v}").as_bytes());
    h.update(body);
    h.update(secret.as_bytes());
    codflow_domain::text::hex(&h.finalize())
}

/// The `data` of a reply, or the error it stands for.
pub fn read(status: u16, retry_after: Option<u64>, body: &[u8]) -> Result<Value, CarrierError> {
    if let Some(e) = http_error("4PX", status, retry_after, body) {
        return Err(e);
    }
    if !(200..300).contains(&status) {
        return Err(CarrierError::Rejected { code: status.to_string(), message: excerpt(body), field: None });
    }
    let reply: Value = serde_json::from_slice(body)
        .map_err(|e| CarrierError::Malformed(format!("4PX's reply is not JSON ({e}): {}", excerpt(body))))?;
    match reply.get("result").and_then(|r| r.as_str().map(str::to_owned).or_else(|| r.as_i64().map(|n| n.to_string())))
    {
        Some(r) if r == "1" => {
            let data = reply.get("data").cloned().unwrap_or(Value::Null);
            // Some 4PX methods send `data` as a JSON string.
            Ok(match data {
                Value::String(s) if s.starts_with(['{', '[']) => {
                    serde_json::from_str(&s).map_err(|e| CarrierError::Malformed(format!("4PX's data: {e}")))?
                }
                d => d,
            })
        }
        Some(r) if r == "0" => {
            let first = reply["errors"].as_array().and_then(|e| e.first());
            let code = first.and_then(|e| e["error_code"].as_str()).unwrap_or("").to_owned();
            let message = first
                .and_then(|e| e["error_msg"].as_str())
                .or_else(|| reply["msg"].as_str())
                .unwrap_or("4PX refused the request")
                .to_owned();
            if AUTH_CODES.contains(&code.as_str()) {
                return Err(CarrierError::Unauthorized);
            }
            let field = message.split_once(": ").map(|(f, _)| f).filter(|f| !f.contains(' ')).map(str::to_owned);
            Err(CarrierError::Rejected { code, message, field })
        }
        _ => Err(CarrierError::Malformed(format!("4PX's reply has no result: {}", excerpt(body)))),
    }
}

fn party(p: &Party) -> Value {
    let street: Vec<&str> =
        [Some(p.line1.as_str()), p.line2.as_deref()].into_iter().flatten().filter(|l| !l.is_empty()).collect();
    let (first, last) = p.name.trim().split_once(' ').unwrap_or((p.name.trim(), ""));
    json!({
        "first_name": first, "last_name": last, "phone": p.phone.clone().unwrap_or_default(),
        "email": p.email.clone().unwrap_or_default(), "post_code": p.postal_code.clone().unwrap_or_default(),
        "country": p.country, "state": p.region.clone().unwrap_or_default(), "city": p.city,
        "street": street.join(", "),
    })
}

pub fn create_body(req: &BookingRequest) -> Result<Value, CarrierError> {
    if req.cod.is_some() {
        return Err(CarrierError::Rejected {
            code: "cod_unsupported".into(),
            message: "4PX books no cash on delivery; send COD parcels through a last-mile carrier's channel".into(),
            field: Some("cod".into()),
        });
    }
    let declared = req
        .items
        .iter()
        .map(|i| {
            Ok(json!({
                "sku": i.sku, "declare_product_name_en": i.description, "declare_product_name_cn": i.description,
                "declare_product_code_qty": i.quantity.to_string(),
                "declare_unit_price_export": decimal_number(&i.unit_value, "items.unit_value")?,
                "currency_export": req.declared_value.currency,
                "declare_unit_price_import": decimal_number(&i.unit_value, "items.unit_value")?,
                "currency_import": req.declared_value.currency,
                "hscode_export": i.hs_code.clone().unwrap_or_default(),
                "hscode_import": i.hs_code.clone().unwrap_or_default(),
                "origin_country": i.origin_country.clone().unwrap_or_default(),
            }))
        })
        .collect::<Result<Vec<_>, CarrierError>>()?;
    let parcels: Vec<Value> = req
        .pieces
        .iter()
        .enumerate()
        .map(|(n, w)| {
            Ok(json!({
                "weight": w,
                // The whole declaration rides on the first parcel; the others carry their weight.
                "parcel_value": if n == 0 { decimal_number(&req.declared_value.amount, "declared_value")? } else { json!(0) },
                "currency": req.declared_value.currency,
                "include_battery": "N",
                "declare_product_info": if n == 0 { json!(declared) } else { json!([declared.first().cloned().unwrap_or(Value::Null)]) },
            }))
        })
        .collect::<Result<_, CarrierError>>()?;
    Ok(json!({
        "ref_no": req.idempotency_key,
        "business_type": "BDS",
        "duty_type": if req.incoterm.eq_ignore_ascii_case("DDP") { "P" } else { "U" },
        "cargo_type": "P",
        "logistics_service_info": {"logistics_product_code": req.service},
        "return_info": {"is_return_on_domestic": "Y", "is_return_on_oversea": "N"},
        "parcel_list": parcels,
        "is_insure": "N",
        "sender": party(&req.shipper),
        "recipient_info": party(&req.consignee),
        "deliver_type_info": {"deliver_type": "1"},
        "buyer_id": req.reference,
    }))
}

/// The numbers 4PX gives an order.
pub struct Numbers {
    pub tracking: String,
    consignment: String,
    channel_no: Option<String>,
    ref_no: String,
}

impl Numbers {
    pub fn read(d: &Value) -> Result<Numbers, CarrierError> {
        let s = |k: &str| d[k].as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        let tracking =
            s("4px_tracking_no").ok_or_else(|| CarrierError::Malformed("4PX's order has no 4px_tracking_no".into()))?;
        Ok(Numbers {
            consignment: s("ds_consignment_no").unwrap_or_else(|| tracking.clone()),
            channel_no: s("logistics_channel_no"),
            ref_no: s("ref_no").unwrap_or_default(),
            tracking,
        })
    }

    pub fn into_booking(self, label: Result<Value, CarrierError>) -> Booking {
        let mut label_data = json!({"ref_no": self.ref_no, "logistics_channel_no": self.channel_no});
        match label {
            Ok(l) => {
                let url = l["label_url_info"]["logistics_label"].as_str().or_else(|| l["label_url"].as_str());
                label_data["label_url"] = json!(url);
            }
            Err(e) => label_data["label_error"] = json!(e.to_string()),
        }
        Booking { tracking_number: self.tracking, carrier_ref: self.consignment, sort_code: None, label_data }
    }
}

fn offset(zone: &str) -> UtcOffset {
    let z = zone.trim().trim_start_matches("UTC").trim_start_matches("GMT");
    let (sign, rest) = match z.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, z.trim_start_matches('+')),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    match (h.parse::<u8>(), m.parse::<u8>()) {
        (Ok(h @ 0..=14), Ok(m @ 0..=59)) => UtcOffset::from_hms(sign * h as i8, sign * m as i8, 0).unwrap_or(CHINA),
        _ => CHINA,
    }
}

const CHINA: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

fn at(text: &str, zone: &str) -> Result<OffsetDateTime, CarrierError> {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(text.trim(), f)
        .map(|t| t.assume_offset(offset(zone)))
        .map_err(|_| CarrierError::Malformed(format!("4PX event time {text:?} is not yyyy-MM-dd HH:mm:ss")))
}

/// The scans of `tr.order.tracking.get`, oldest first (4PX lists the newest first).
pub fn events(tracking_number: &str, data: &Value) -> Result<Vec<CarrierEvent>, CarrierError> {
    let Some(list) = data["trackingList"].as_array() else {
        return if data.is_null() || data["trackingList"].is_null() {
            Ok(Vec::new())
        } else {
            Err(CarrierError::Malformed("4PX's trackingList is not a list".into()))
        };
    };
    let mut out = list
        .iter()
        .map(|e| {
            let code = e["businessLinkCode"].as_str().filter(|c| !c.is_empty());
            let code = code.ok_or_else(|| CarrierError::Malformed("a 4PX scan without businessLinkCode".into()))?;
            Ok(CarrierEvent {
                tracking_number: tracking_number.to_owned(),
                code: code.to_owned(),
                description: e["trackingContent"].as_str().unwrap_or("").to_owned(),
                location: e["occurLocation"].as_str().filter(|l| !l.is_empty()).map(str::to_owned),
                at: at(e["occurDatetime"].as_str().unwrap_or(""), e["timeZone"].as_str().unwrap_or(""))?,
            })
        })
        .collect::<Result<Vec<_>, CarrierError>>()?;
    // Newest first on the wire; reversed before the stable sort so scans of the same second keep their order.
    out.reverse();
    out.sort_by_key(|e| e.at);
    Ok(out)
}

pub fn rate_body(req: &RateRequest) -> Result<Value, CarrierError> {
    if req.cod.is_some() {
        return Err(CarrierError::Rejected {
            code: "cod_unsupported".into(),
            message: "4PX quotes no cash on delivery".into(),
            field: Some("cod".into()),
        });
    }
    let weight: i64 = req.pieces.iter().map(|p| p.weight_g).sum();
    let mut body = json!({
        "country_code": req.destination.country, "weight": weight, "cargocode": "P",
        "logistics_product_code": [req.service],
    });
    if let Some([l, w, h]) = req.pieces.first().and_then(|p| p.dims_mm) {
        let cm = |mm: i64| json!((mm + 9) / 10);
        body["length"] = cm(l);
        body["width"] = cm(w);
        body["height"] = cm(h);
    }
    Ok(body)
}

pub struct Reply;

impl Reply {
    /// The first product's estimate of `ds.xms.estimated_cost.get`: 4PX quotes in CNY.
    pub fn rate(data: &Value) -> Result<CarrierRate, CarrierError> {
        let first = data.as_array().and_then(|a| a.first()).ok_or_else(|| CarrierError::Rejected {
            code: "no_estimate".into(),
            message: "4PX has no price for this product and destination".into(),
            field: None,
        })?;
        let fee = match &first["lump_sum_fee"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(CarrierError::Malformed("4PX's estimate has no lump_sum_fee".into())),
        };
        let total = Amount { amount: fee, currency: "CNY".into() };
        let transit =
            first["timely"].as_str().and_then(|t| t.split(['-', '~']).next()).and_then(|d| d.trim().parse().ok());
        Ok(CarrierRate {
            charges: vec![("lump_sum".into(), total.clone())],
            total,
            billable_weight_g: first["charge_weight"].as_i64(),
            transit_days: transit,
        })
    }
}

/// 4PX's `pickup_info`, or the pickup-point field the account lacks.
fn pickup_info(p: &super::PickupPoint) -> Result<Value, CarrierError> {
    let need = |v: &Option<String>, field: &str| match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(CarrierError::Rejected {
            code: "pickup_point".into(),
            message: format!("the 4PX account has no {field}: add it to the account to send bags and pickups"),
            field: Some(field.into()),
        }),
    };
    let opt = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_owned();
    Ok(json!({
        "name": need(&p.name, "pickup_name")?, "phone": need(&p.phone, "pickup_phone")?, "country": "CN",
        "province": opt(&p.province), "city": need(&p.city, "pickup_city")?, "district": opt(&p.district),
        "street": "", "detail_address": need(&p.address, "pickup_address")?, "zip_code": opt(&p.zip)
    }))
}

/// `ds.xms.api.collect.create.big` for one bag: our bag code as `bag_no`, its parcels by their numbers.
pub fn collect_bag_body(p: &super::PickupPoint, req: &crate::carriers::BagRequest) -> Result<Value, CarrierError> {
    if req.tracking_numbers.is_empty() {
        return Err(CarrierError::Rejected {
            code: "empty_bag".into(),
            message: "the bag is empty".into(),
            field: None,
        });
    }
    let orders: Vec<Value> = req.tracking_numbers.iter().map(|n| json!({"ref_no": n})).collect();
    Ok(json!({"pickup_info": pickup_info(p)?, "bag_list": [{"bag_no": req.reference, "order_list": orders}]}))
}

/// The `bag_collect_no` 4PX gave our bag.
pub fn bag_collect_no(data: &Value, bag_no: &str) -> Result<String, CarrierError> {
    data["bag_list"]
        .as_array()
        .and_then(|l| l.iter().find(|b| b["bag_no"].as_str() == Some(bag_no)))
        .and_then(|b| b["bag_collect_no"].as_str())
        .filter(|n| !n.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| CarrierError::Malformed(format!("4PX's reply names no bag_collect_no for bag {bag_no}")))
}

/// `ds.xms.api.collect.create.order`: a pickup today, in China's calendar.
pub fn collect_order_body(p: &super::PickupPoint, now: time::OffsetDateTime) -> Result<Value, CarrierError> {
    let day = now.to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC)).date();
    let reserve = format!("{:04}-{:02}-{:02}", day.year(), day.month() as u8, day.day());
    Ok(json!({"reserve_time": reserve, "pickup_info": pickup_info(p)?}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_md5_of_the_parameters_the_body_and_the_secret() {
        // hashlib.md5(b'app_keykformatjsonmethodds.xms.order.createtimestamp1532592413187v1.0{"aa":"bb"}s')
        let s = sign("k", "ds.xms.order.create", "1532592413187", "1.0", br#"{"aa":"bb"}"#, "s");
        assert_eq!(s, "edd5cc2bdf6f29daf2699980ec3f2198");
    }

    #[test]
    fn event_times_read_in_the_zone_given_and_china_time_otherwise() {
        let t = at("2026-08-27 13:20:12", "UTC+02:00").unwrap();
        assert_eq!(t.offset(), UtcOffset::from_hms(2, 0, 0).unwrap());
        assert_eq!(at("2026-08-27 13:20:12", "").unwrap().offset(), CHINA);
        assert!(at("27/08/2026", "").is_err());
        assert_eq!(at("2026-08-27 13:20:12", "UTC--128").unwrap().offset(), CHINA, "a nonsense zone is China time");
        assert_eq!(at("2026-08-27 13:20:12", "GMT-5").unwrap().offset(), UtcOffset::from_hms(-5, 0, 0).unwrap());
    }
}
