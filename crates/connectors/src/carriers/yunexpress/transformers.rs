//! YunExpress's wire shapes: PascalCase orders with the receiver and declared parcels, weight in KG, replies
//! `{"Item", "Code", "Message"}`, tracking details with a process date, text and location.

use serde_json::{Value, json};

use crate::carriers::{
    Amount, BookingRequest, CarrierError, CarrierEvent, CarrierRate, RateRequest, decimal_number, excerpt, http_error,
};

pub fn order_body(req: &BookingRequest) -> Result<Value, CarrierError> {
    if req.cod.is_some() {
        return Err(CarrierError::Rejected {
            code: "cod_unsupported".into(),
            message: "YunExpress books no cash on delivery; send COD parcels through a last-mile carrier's channel"
                .into(),
            field: Some("cod".into()),
        });
    }
    let c = &req.consignee;
    let (first, last) = c.name.trim().split_once(' ').unwrap_or((c.name.trim(), ""));
    let parcels = req
        .items
        .iter()
        .map(|i| {
            Ok(json!({"EName": i.description, "CName": i.description, "SKU": i.sku, "Quantity": i.quantity,
                      "UnitPrice": decimal_number(&i.unit_value, "items.unit_value")?, "UnitWeight": i.weight_g as f64 / 1000.0,
                      "CurrencyCode": req.declared_value.currency, "HSCode": i.hs_code.clone().unwrap_or_default()}))
        })
        .collect::<Result<Vec<_>, CarrierError>>()?;
    Ok(json!({
        "CustomerOrderNumber": req.idempotency_key, "ShippingMethodCode": req.service, "PackageCount": req.pieces.len().max(1),
        "Weight": req.pieces.iter().sum::<i64>() as f64 / 1000.0,
        "Receiver": {"CountryCode": c.country, "FirstName": first, "LastName": last, "Street": c.line1,
                     "City": c.city, "State": c.region.clone().unwrap_or_default(), "Zip": c.postal_code.clone().unwrap_or_default(),
                     "Phone": c.phone.clone().unwrap_or_default(), "Email": c.email.clone().unwrap_or_default()},
        "Parcels": parcels,
        "OrderNumber2": req.reference,
    }))
}

pub fn read(status: u16, retry_after: Option<u64>, body: &[u8]) -> Result<Value, CarrierError> {
    if let Some(e) = http_error("YunExpress", status, retry_after, body) {
        return Err(e);
    }
    match status {
        200..=299 => {}
        _ => return Err(CarrierError::Rejected { code: status.to_string(), message: excerpt(body), field: None }),
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| CarrierError::Malformed(format!("YunExpress's reply is not JSON ({e}): {}", excerpt(body))))?;
    match v["Code"].as_str() {
        Some("0000") => Ok(v["Item"].clone()),
        Some(code) => Err(CarrierError::Rejected {
            code: code.to_owned(),
            message: v["Message"].as_str().unwrap_or("YunExpress refused the request").to_owned(),
            field: None,
        }),
        None => Err(CarrierError::Malformed(format!("YunExpress's reply has no Code: {}", excerpt(body)))),
    }
}

/// The order `number` of a CreateOrder reply, or why it was refused ("Receiver.City is required").
pub fn created(items: &Value, number: &str) -> Result<Value, CarrierError> {
    let item = items.as_array().and_then(|a| a.iter().find(|i| i["CustomerOrderNumber"] == number));
    let item = item.ok_or_else(|| CarrierError::Malformed(format!("YunExpress did not answer for order {number}")))?;
    if item["Success"].as_i64() == Some(1) {
        return Ok(item.clone());
    }
    let message = item["Remark"].as_str().unwrap_or("YunExpress refused the order").to_owned();
    let field = message
        .split_once(" is required")
        .or_else(|| message.split_once(": "))
        .map(|(f, _)| f)
        .filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'))
        .map(str::to_owned);
    Err(CarrierError::Rejected { code: "refused".into(), message, field })
}

pub fn events(number: &str, item: &Value) -> Result<Vec<CarrierEvent>, CarrierError> {
    let Some(details) = item["OrderTrackingDetails"].as_array() else {
        return if item.is_null() || item["OrderTrackingDetails"].is_null() {
            Ok(Vec::new())
        } else {
            Err(CarrierError::Malformed("YunExpress's OrderTrackingDetails is not a list".into()))
        };
    };
    let mut out = details
        .iter()
        .map(|d| {
            let at = d["ProcessDate"].as_str().unwrap_or("");
            let at = crate::carriers::zoned_time(at, "YunExpress ProcessDate")?;
            let content = d["ProcessContent"].as_str().unwrap_or("");
            // A detail without a code is known by its text.
            let code = d["TrackCode"]
                .as_str()
                .filter(|c| !c.is_empty())
                .map_or_else(|| content.chars().take(64).collect(), str::to_owned);
            if code.is_empty() {
                return Err(CarrierError::Malformed("a YunExpress detail with neither code nor text".into()));
            }
            Ok(CarrierEvent {
                tracking_number: number.to_owned(),
                code,
                description: content.to_owned(),
                location: d["ProcessLocation"].as_str().filter(|l| !l.is_empty()).map(str::to_owned),
                at,
            })
        })
        .collect::<Result<Vec<_>, CarrierError>>()?;
    out.sort_by_key(|e| e.at);
    Ok(out)
}

pub fn price_query(req: &RateRequest) -> Result<Vec<(&'static str, String)>, CarrierError> {
    if req.cod.is_some() {
        return Err(CarrierError::Rejected {
            code: "cod_unsupported".into(),
            message: "YunExpress quotes no cash on delivery".into(),
            field: Some("cod".into()),
        });
    }
    let grams: i64 = req.pieces.iter().map(|p| p.weight_g).sum();
    Ok(vec![
        ("CountryCode", req.destination.country.clone()),
        ("Weight", format!("{}.{:03}", grams / 1000, grams % 1000)),
        ("PackageType", "1".into()),
    ])
}

/// The quote of the channel's method (YunExpress quotes in CNY), else the first.
pub fn rate(items: &Value, service: &str) -> Result<CarrierRate, CarrierError> {
    let list = items.as_array().map(Vec::as_slice).unwrap_or(&[]);
    let item =
        list.iter().find(|i| i["Code"] == service).or_else(|| list.first()).ok_or_else(|| CarrierError::Rejected {
            code: "no_price".into(),
            message: "YunExpress has no price for this destination and weight".into(),
            field: None,
        })?;
    let fee = match &item["TotalFee"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(CarrierError::Malformed("YunExpress's price has no TotalFee".into())),
    };
    let total = Amount { amount: fee, currency: "CNY".into() };
    let days = item["DeliveryDays"].as_str().and_then(|d| d.split('-').next()).and_then(|d| d.trim().parse().ok());
    Ok(CarrierRate {
        charges: vec![("total".into(), total.clone())],
        total,
        billable_weight_g: None,
        transit_days: days,
    })
}
