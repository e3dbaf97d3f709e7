//! J&T Express's wire shapes: the `bizContent` JSON of each call, its digest, replies `{"code", "msg", "data"}`,
//! trace details with `scanTypeCode` and a local `scanTime` (the tenant's zone unless `timeZone` says otherwise),
//! and the form-encoded pushes.

use base64::Engine as _;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::carriers::{BookingRequest, CarrierError, CarrierEvent, Party, excerpt, http_error, utc_offset};

/// The platform's codes for a request it did not authenticate (empty or unknown account, no permission, bad digest).
const AUTH_CODES: [&str; 5] = ["145003051", "145003052", "145003010", "145003012", "145003030"];

/// The J&T tenant an account belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tenant {
    /// ISO 3166 alpha-3, as J&T writes countries.
    pub country3: &'static str,
    pub currency: &'static str,
    pub offset_hours: i8,
}

impl Tenant {
    pub fn parse(code: &str) -> Option<Tenant> {
        let (country3, currency, offset_hours) = match code.trim().to_ascii_lowercase().as_str() {
            "my" => ("MYS", "MYR", 8),
            "ph" => ("PHL", "PHP", 8),
            "sg" => ("SGP", "SGD", 8),
            "id" => ("IDN", "IDR", 7),
            "th" => ("THA", "THB", 7),
            "vn" => ("VNM", "VND", 7),
            _ => return None,
        };
        Some(Tenant { country3, currency, offset_hours })
    }
}

/// base64(MD5(bizContent + privateKey)), the `digest` header of every call and push.
pub fn digest(biz_content: &str, private_key: &str) -> String {
    let mut h = Md5::new();
    h.update(biz_content.as_bytes());
    h.update(private_key.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// ISO alpha-2 to J&T's alpha-3 for the countries its lanes reach; others are refused by name.
fn country3(alpha2: &str) -> Result<&'static str, CarrierError> {
    Ok(match alpha2.to_ascii_uppercase().as_str() {
        "MY" => "MYS",
        "PH" => "PHL",
        "SG" => "SGP",
        "ID" => "IDN",
        "TH" => "THA",
        "VN" => "VNM",
        "CN" => "CHN",
        "HK" => "HKG",
        "SA" => "SAU",
        "AE" => "ARE",
        "MX" => "MEX",
        "BR" => "BRA",
        other => {
            return Err(CarrierError::Rejected {
                code: "country".into(),
                message: format!("J&T Express does not take parcels to or from {other:?} through this API"),
                field: Some("country".into()),
            });
        }
    })
}

fn party(p: &Party, with_region: bool) -> Result<Value, CarrierError> {
    let address = [Some(p.line1.as_str()), p.line2.as_deref()]
        .into_iter()
        .flatten()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let mut v = json!({
        "name": p.name, "phone": p.phone.clone().unwrap_or_default(), "countryCode": country3(&p.country)?,
        "address": address, "postCode": p.postal_code.clone().unwrap_or_default(),
    });
    if with_region {
        v["prov"] = json!(p.region.clone().unwrap_or_else(|| p.city.clone()));
        v["city"] = json!(p.city);
        v["area"] = json!(p.city);
    }
    Ok(v)
}

/// Grams as J&T's kilograms with two decimals, rounded up (J&T bills from 0.01 kg).
fn kg(grams: i64) -> String {
    let hundredths = (grams.max(1) + 9) / 10;
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// A positive decimal amount as J&T writes it, refused (naming `field`) otherwise.
fn amount(s: &str, field: &str) -> Result<String, CarrierError> {
    let d: rust_decimal::Decimal = s.trim().parse().map_err(|_| CarrierError::Rejected {
        code: "invalid_amount".into(),
        message: format!("{s:?} is not an amount"),
        field: Some(field.into()),
    })?;
    if d <= rust_decimal::Decimal::ZERO {
        return Err(CarrierError::Rejected {
            code: "invalid_amount".into(),
            message: format!("{field} must be above zero, not {s}"),
            field: Some(field.into()),
        });
    }
    Ok(d.normalize().to_string())
}

pub fn order_body(req: &BookingRequest, tenant: Tenant, now: OffsetDateTime) -> Result<Value, CarrierError> {
    let missing = |v: &Option<String>| v.as_deref().is_none_or(|c| c.trim().is_empty());
    for (gap, field, what) in [
        (missing(&req.shipper.postal_code), "sender_postcode", "the sender's postcode"),
        (missing(&req.shipper.phone), "sender_phone", "the sender's phone"),
    ] {
        if gap {
            return Err(CarrierError::Config(format!(
                "J&T Express needs {what}: set {field} on the J&T carrier account"
            )));
        }
    }
    if missing(&req.consignee.postal_code) {
        return Err(CarrierError::Rejected {
            code: "postal_code".into(),
            message: "J&T Express needs the buyer's postcode".into(),
            field: Some("consignee.postal_code".into()),
        });
    }
    let grams: i64 = req.pieces.iter().sum();
    let domestic = req.consignee.country.eq_ignore_ascii_case(&req.shipper.country);
    let items: Vec<Value> = req
        .items
        .iter()
        .map(|i| {
            Ok(json!({"itemName": i.description.chars().take(100).collect::<String>(),
                      "englishName": i.description.chars().take(100).collect::<String>(),
                      "number": i.quantity.to_string(), "weight": i.weight_g.max(1).to_string(),
                      "itemValue": amount(&i.unit_value, "items.unit_value")?, "itemCurrency": req.declared_value.currency}))
        })
        .collect::<Result<_, CarrierError>>()?;
    let mut body = json!({
        "txlogisticId": req.idempotency_key, "actionType": "add", "serviceType": "1", "payType": "PP_PM",
        "expressType": if req.service.len() == 2 && req.service.bytes().all(|b| b.is_ascii_uppercase()) { req.service.as_str() } else { "EZ" },
        "sender": party(&req.shipper, !req.shipper.country.eq_ignore_ascii_case(&tenant.country3[..2]))?,
        "receiver": party(&req.consignee, true)?,
        "items": items,
        "packageInfo": {"packageQuantity": req.pieces.len().max(1).to_string(), "weight": kg(grams),
                        "packageValue": amount(&req.declared_value.amount, "declared_value")?, "goodsType": "ITN8"},
        "sendStartTime": now.to_offset(UtcOffset::from_hms(tenant.offset_hours, 0, 0).unwrap_or(UtcOffset::UTC))
            .format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"))
            .map_err(|e| CarrierError::Config(e.to_string()))?,
        "remark": req.reference.chars().take(200).collect::<String>(),
    });
    if req.pieces.len() > 1 {
        body["multipleVotes"] = req.pieces.iter().map(|g| json!({"actualWeight": kg(*g)})).collect();
    }
    if !domestic {
        let total: String = amount(&req.declared_value.amount, "declared_value")?;
        body["customsInfo"] = json!({"number": req.items.iter().map(|i| i.quantity).sum::<i64>().max(1).to_string(),
            "weight": kg(grams), "totalValue": total, "unitPrice": total, "currency": req.declared_value.currency,
            "customsCode": req.items.iter().find_map(|i| i.hs_code.clone()).unwrap_or_default()});
    }
    if let Some(c) = &req.cod {
        if !c.currency.eq_ignore_ascii_case(tenant.currency) {
            return Err(CarrierError::Rejected {
                code: "cod_currency".into(),
                message: format!("this J&T account collects cash in {}, not {}", tenant.currency, c.currency),
                field: Some("cod".into()),
            });
        }
        body["codInfo"] = json!({"codValue": amount(&c.amount, "cod")?});
    }
    Ok(body)
}

pub fn read(status: u16, retry_after: Option<u64>, body: &[u8]) -> Result<Value, CarrierError> {
    if let Some(e) = http_error("J&T", status, retry_after, body) {
        return Err(e);
    }
    if !(200..=299).contains(&status) {
        return Err(CarrierError::Rejected { code: status.to_string(), message: excerpt(body), field: None });
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| CarrierError::Malformed(format!("J&T's reply is not JSON ({e}): {}", excerpt(body))))?;
    let code = match &v["code"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(CarrierError::Malformed(format!("J&T's reply has no code: {}", excerpt(body)))),
    };
    if code == "1" {
        return Ok(v["data"].clone());
    }
    if AUTH_CODES.contains(&code.as_str()) {
        return Err(CarrierError::Unauthorized);
    }
    let message = v["msg"].as_str().unwrap_or("J&T refused the request").to_owned();
    // J&T names the field first in its validation messages: "receiver.phone is required", after the platform's
    // "Illegal parameters: " when it is the platform that checked.
    let field = message
        .trim_start_matches("Illegal parameters: ")
        .split([' ', ':'])
        .next()
        .filter(|f| !f.is_empty() && f.contains(|c: char| c.is_ascii_lowercase()))
        .filter(|f| f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'))
        .filter(|_| message.contains(" is ") || message.contains(": "))
        .map(str::to_owned);
    Err(CarrierError::Rejected { code, message, field })
}

/// The waybill of an order or query reply.
pub fn bill_code(data: &Value) -> Option<String> {
    let d = if let Some(first) = data.as_array().and_then(|a| a.first()) { first } else { data };
    d["billCode"].as_str().filter(|b| !b.is_empty()).map(str::to_owned)
}

pub enum Label {
    Pdf(Vec<u8>),
    Url(String),
}

pub fn label(data: &Value) -> Result<Label, CarrierError> {
    if let Some(b64) = data["base64EncodeContent"].as_str().filter(|s| !s.is_empty()) {
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| CarrierError::Malformed(format!("J&T's label is not base64: {e}")))?;
        return Ok(Label::Pdf(pdf));
    }
    match data["urlContent"].as_str().filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
        Some(u) => Ok(Label::Url(u.to_owned())),
        None => Err(CarrierError::Malformed("J&T's print reply has neither a PDF nor a URL".into())),
    }
}

fn scan_time(s: &str, time_zone: Option<&str>, tenant: Tenant) -> Result<OffsetDateTime, CarrierError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let local = PrimitiveDateTime::parse(s.trim(), &fmt)
        .map_err(|_| CarrierError::Malformed(format!("scanTime {s:?} is not YYYY-MM-DD HH:mm:ss")))?;
    let offset = match time_zone.filter(|z| !z.trim().is_empty()) {
        Some(z) => utc_offset(z).ok_or_else(|| CarrierError::Malformed(format!("timeZone {z:?} is not an offset")))?,
        None => UtcOffset::from_hms(tenant.offset_hours, 0, 0).unwrap_or(UtcOffset::UTC),
    };
    Ok(local.assume_offset(offset))
}

fn details(bill: &str, details: &Value, tenant: Tenant) -> Result<Vec<CarrierEvent>, CarrierError> {
    let Some(list) = details.as_array() else {
        return if details.is_null() {
            Ok(Vec::new())
        } else {
            Err(CarrierError::Malformed("J&T's details is not a list".into()))
        };
    };
    list.iter()
        .map(|d| {
            let code = match &d["scanTypeCode"] {
                Value::String(s) if !s.is_empty() => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(CarrierError::Malformed("a J&T scan without scanTypeCode".into())),
            };
            let at =
                d["scanTime"].as_str().ok_or_else(|| CarrierError::Malformed("a J&T scan without scanTime".into()))?;
            let place = [d["scanNetworkCity"].as_str(), d["scanNetworkName"].as_str()]
                .into_iter()
                .flatten()
                .find(|p| !p.is_empty());
            Ok(CarrierEvent {
                tracking_number: bill.to_owned(),
                code: code.chars().take(64).collect(),
                description: d["desc"].as_str().or(d["scanTypeName"].as_str()).unwrap_or("").to_owned(),
                location: place.map(str::to_owned),
                at: scan_time(at, d["timeZone"].as_str(), tenant)?,
            })
        })
        .collect()
}

/// The scans of a trace reply or a push: a list of `{billCode, details}` (or one such object), oldest first.
pub fn trace(data: &Value, tenant: Tenant) -> Result<Vec<CarrierEvent>, CarrierError> {
    let parcels: Vec<&Value> = match data {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![data],
        Value::Null => Vec::new(),
        _ => return Err(CarrierError::Malformed("J&T's trace is neither a list nor an object".into())),
    };
    let mut out = Vec::new();
    for p in parcels {
        let bill = p["billCode"].as_str().filter(|b| !b.is_empty());
        let bill = bill.ok_or_else(|| CarrierError::Malformed("a J&T trace without billCode".into()))?;
        out.extend(details(bill, &p["details"], tenant)?);
    }
    out.sort_by_key(|e| e.at);
    Ok(out)
}

/// The `bizContent` field of a form body.
fn biz_content(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body).find(|(k, _)| k == "bizContent").map(|(_, v)| v.into_owned())
}

pub fn verify_push(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(biz) = biz_content(body) else { return false };
    let expected = digest(&biz, secret);
    // Constant time: a push's digest is a credential.
    expected.len() == signature.trim().len()
        && expected.bytes().zip(signature.trim().bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

pub fn push_events(body: &[u8], tenant: Tenant) -> Result<Vec<CarrierEvent>, CarrierError> {
    let biz = biz_content(body).ok_or_else(|| CarrierError::Malformed("J&T's push has no bizContent".into()))?;
    let v: Value = serde_json::from_str(&biz)
        .map_err(|e| CarrierError::Malformed(format!("J&T's push bizContent is not JSON: {e}")))?;
    trace(&v, tenant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_base64_of_md5_over_content_then_key() {
        // base64.b64encode(hashlib.md5(b'{"a":1}' + b"k").digest())
        assert_eq!(digest("{\"a\":1}", "k"), "m0Pf3GjsQ/nSb68qVc3hDw==");
    }

    #[test]
    fn weights_round_up_to_hundredths_of_a_kilo() {
        assert_eq!(kg(1), "0.01");
        assert_eq!(kg(1001), "1.01");
        assert_eq!(kg(250), "0.25");
    }
}
