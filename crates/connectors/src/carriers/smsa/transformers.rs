//! SMSA's wire shapes: PascalCase addresses, weight in KG, amounts as numbers, scans in local time with their zone,
//! validation errors as ASP.NET problem details.

use serde_json::{Value, json};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::carriers::{
    Booking, BookingRequest, CarrierError, CarrierEvent, Party, decimal_number, excerpt, http_error,
};

fn address(p: &Party) -> Value {
    json!({"ContactName": p.name, "ContactPhoneNumber": p.phone.clone().unwrap_or_default(), "Country": p.country,
           "City": p.city, "AddressLine1": p.line1, "AddressLine2": p.line2.clone().unwrap_or_default(),
           "District": p.region.clone().unwrap_or_default(), "PostalCode": p.postal_code.clone().unwrap_or_default()})
}

pub fn create_body(req: &BookingRequest, now: OffsetDateTime) -> Result<Value, CarrierError> {
    let currency = req.cod.as_ref().map_or(req.declared_value.currency.as_str(), |c| c.currency.as_str());
    let cod = match &req.cod {
        Some(c) => decimal_number(&c.amount, "cod")?,
        None => json!(0),
    };
    let kg = req.pieces.iter().sum::<i64>() as f64 / 1000.0;
    let contents: Vec<&str> = req.items.iter().map(|i| i.description.as_str()).collect();
    let mut body = json!({
        "ConsigneeAddress": address(&req.consignee), "ShipperAddress": address(&req.shipper),
        "OrderNumber": req.idempotency_key, "DeclaredValue": decimal_number(&req.declared_value.amount, "declared_value")?,
        "CODAmount": cod, "Parcels": req.pieces.len().max(1), "ShipmentCurrency": currency,
        "ShipDate": format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", now.year(), now.month() as u8, now.day(), now.hour(), now.minute(), now.second()),
        "WaybillType": "PDF", "Weight": kg, "WeightUnit": "KG",
        "ContentDescription": contents.join(", ").chars().take(100).collect::<String>(),
        "VatPaid": true, "DutyPaid": req.incoterm.eq_ignore_ascii_case("DDP"),
    });
    // SMSA's services are codes (EDDL, EIDL…); a channel's plain service name leaves SMSA's default.
    if req.service.len() == 4 && req.service.bytes().all(|b| b.is_ascii_uppercase()) {
        body["ServiceCode"] = json!(req.service);
    }
    Ok(body)
}

pub fn read(status: u16, retry_after: Option<u64>, body: &[u8]) -> Result<Value, CarrierError> {
    if let Some(e) = http_error("SMSA", status, retry_after, body) {
        return Err(e);
    }
    match status {
        200..=299 => serde_json::from_slice(body)
            .map_err(|e| CarrierError::Malformed(format!("SMSA's reply is not JSON ({e}): {}", excerpt(body)))),
        _ => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let first = v["errors"].as_object().and_then(|e| e.iter().next());
            let field = first.map(|(k, _)| k.clone());
            let message = first
                .and_then(|(k, m)| {
                    m.as_array().and_then(|a| a.first()).and_then(|m| m.as_str()).map(|m| format!("{k}: {m}"))
                })
                .or_else(|| v["title"].as_str().map(str::to_owned))
                .or_else(|| v["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| excerpt(body));
            Err(CarrierError::Rejected { code: status.to_string(), message, field })
        }
    }
}

/// The airway bill and label of a create or query reply.
pub fn booking(v: &Value) -> Result<Booking, CarrierError> {
    let awb = v["sawb"].as_str().or_else(|| v["waybills"][0]["awb"].as_str()).filter(|a| !a.is_empty());
    let awb = awb.ok_or_else(|| CarrierError::Malformed("SMSA's reply has no airway bill".into()))?;
    let file = v["waybills"][0]["awbFile"].as_str();
    Ok(Booking {
        tracking_number: awb.to_owned(),
        carrier_ref: awb.to_owned(),
        sort_code: None,
        label_data: json!({"waybill_pdf_base64": file, "parcels": v["shipmentParcelsCount"]}),
    })
}

fn scan_time(local: &str, zone: &str) -> Result<OffsetDateTime, CarrierError> {
    let bad = || CarrierError::Malformed(format!("SMSA scan time {local:?} {zone:?} does not read"));
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let t = PrimitiveDateTime::parse(local.get(..19).ok_or_else(bad)?, f).map_err(|_| bad())?;
    let (sign, rest) = match zone.trim().strip_prefix('-') {
        Some(r) => (-1i8, r),
        None => (1, zone.trim().trim_start_matches('+')),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let offset = match (h.parse::<u8>(), m.parse::<u8>()) {
        (Ok(h @ 0..=14), Ok(m @ 0..=59)) => {
            UtcOffset::from_hms(sign * h as i8, sign * m as i8, 0).map_err(|_| bad())?
        }
        // SMSA's own zone when none is given: Saudi Arabia.
        _ if zone.trim().is_empty() => UtcOffset::from_hms(3, 0, 0).map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    Ok(t.assume_offset(offset))
}

pub fn events(tracking_number: &str, v: &Value) -> Result<Vec<CarrierEvent>, CarrierError> {
    let Some(scans) = v["Scans"].as_array() else {
        return if v["Scans"].is_null() {
            Ok(Vec::new())
        } else {
            Err(CarrierError::Malformed("SMSA's Scans is not a list".into()))
        };
    };
    let mut out = scans
        .iter()
        .map(|s| {
            let code = s["ScanType"].as_str().filter(|c| !c.is_empty());
            let code = code.ok_or_else(|| CarrierError::Malformed("an SMSA scan without ScanType".into()))?;
            Ok(CarrierEvent {
                tracking_number: tracking_number.to_owned(),
                code: code.to_owned(),
                description: s["ScanDescription"].as_str().unwrap_or("").to_owned(),
                location: s["City"].as_str().filter(|c| !c.is_empty()).map(str::to_owned),
                at: scan_time(s["ScanDateTime"].as_str().unwrap_or(""), s["ScanTimeZone"].as_str().unwrap_or(""))?,
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
    fn scan_times_read_in_their_zone_and_riyadh_time_without_one() {
        let t = scan_time("2026-03-01T10:00:00", "+03:00").unwrap();
        assert_eq!(t.unix_timestamp(), time::macros::datetime!(2026-03-01 07:00 UTC).unix_timestamp());
        assert_eq!(scan_time("2026-03-01T10:00:00.123", "").unwrap().offset(), UtcOffset::from_hms(3, 0, 0).unwrap());
        assert!(scan_time("2026-03-01T10:00:00", "+99:00").is_err());
        assert!(scan_time("yesterday", "+03:00").is_err());
    }
}
