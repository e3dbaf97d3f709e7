//! Aramex's JSON shapes: PascalCase fields, weights in KG, amounts as numbers with a currency code, and
//! dates in the WCF form `/Date(1737018820000+0300)/`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::AramexAccount;
use crate::carriers::{
    Amount, Booking, BookingRequest, CarrierError, CarrierEvent, CarrierRate, ManifestRequest, Party, RateRequest,
};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClientInfo<'a> {
    user_name: &'a str,
    password: &'a str,
    version: &'static str,
    account_number: &'a str,
    account_pin: &'a str,
    account_entity: &'a str,
    account_country_code: &'a str,
    source: i64,
}

impl<'a> From<&'a AramexAccount> for ClientInfo<'a> {
    fn from(a: &'a AramexAccount) -> Self {
        ClientInfo {
            user_name: &a.user_name,
            password: &a.password,
            version: "v1.0",
            account_number: &a.account_number,
            account_pin: &a.account_pin,
            account_entity: &a.account_entity,
            account_country_code: &a.account_country_code,
            source: 24,
        }
    }
}

fn party(p: &Party, reference: &str, account: Option<&str>) -> Value {
    json!({
        "Reference1": reference,
        "AccountNumber": account.unwrap_or(""),
        "PartyAddress": {
            "Line1": p.line1, "Line2": p.line2.clone().unwrap_or_default(), "City": p.city,
            "StateOrProvinceCode": p.region.clone().unwrap_or_default(),
            "PostCode": p.postal_code.clone().unwrap_or_default(), "CountryCode": p.country
        },
        "Contact": {
            "PersonName": p.name, "CompanyName": p.name, "PhoneNumber1": p.phone.clone().unwrap_or_default(),
            "CellPhone": p.phone.clone().unwrap_or_default(), "EmailAddress": p.email.clone().unwrap_or_default()
        }
    })
}

/// Amounts go as JSON numbers; the decimal string is converted without floats' surprises for the
/// magnitudes a parcel has (JSON numbers are exact to 15 significant digits).
/// An amount that does not read as a plain decimal is refused: sent as 0, a COD parcel would be booked with
/// nothing to collect.
fn number(s: &str, field: &str) -> Result<Value, CarrierError> {
    let t = s.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    let plain = !whole.is_empty()
        && !frac.is_empty()
        && whole.len() <= 12
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    match t.parse::<f64>() {
        Ok(f) if plain && f.is_finite() => Ok(json!(f)),
        _ => Err(CarrierError::Rejected {
            code: "invalid_amount".into(),
            message: format!("{field} {s:?} is not an amount"),
            field: Some(field.into()),
        }),
    }
}

/// `CreateShipments` for one parcel; COD parcels use the `CODS` service.
pub fn create_body(info: &ClientInfo<'_>, r: &BookingRequest) -> Result<Value, CarrierError> {
    let weight_kg: f64 = r.pieces.iter().sum::<i64>() as f64 / 1000.0;
    let international = r.shipper.country != r.consignee.country;
    let items: Vec<Value> = r
        .items
        .iter()
        .enumerate()
        .map(|(n, i)| {
            let value = number(&i.unit_value, &format!("items[{n}].unit_value"))?;
            Ok(json!({"PackageType": "Box", "Quantity": i.quantity, "Weight": {"Unit": "KG", "Value": i.weight_g as f64 / 1000.0},
                   "Comments": i.description, "Reference": i.sku,
                   "CustomsValue": {"CurrencyCode": r.declared_value.currency, "Value": value},
                   "CommodityCode": i.hs_code.clone().unwrap_or_default(),
                   "GoodsOriginCountry": i.origin_country.clone().unwrap_or_default()}))
        })
        .collect::<Result<_, CarrierError>>()?;
    let cod = match r.cod.as_ref() {
        Some(c) => Some(json!({"CurrencyCode": c.currency, "Value": number(&c.amount, "cod.amount")?})),
        None => None,
    };
    let declared = number(&r.declared_value.amount, "declared_value.amount")?;
    Ok(json!({
        "ClientInfo": info,
        "LabelInfo": {"ReportID": 9201, "ReportType": "URL"},
        "Shipments": [{
            "Reference1": r.idempotency_key,
            "Reference2": r.reference,
            "Shipper": party(&r.shipper, &r.reference, Some(info.account_number)),
            "Consignee": party(&r.consignee, &r.reference, None),
            "ShippingDateTime": format!("/Date({})/", OffsetDateTime::now_utc().unix_timestamp() * 1000),
            "Details": {
                "ActualWeight": {"Unit": "KG", "Value": weight_kg},
                "ChargeableWeight": {"Unit": "KG", "Value": weight_kg},
                "DescriptionOfGoods": r.items.first().map(|i| i.description.clone()).unwrap_or_else(|| "Goods".into()),
                "GoodsOriginCountry": r.items.first().and_then(|i| i.origin_country.clone()).unwrap_or_else(|| r.shipper.country.clone()),
                "NumberOfPieces": r.pieces.len(),
                "ProductGroup": if international { "EXP" } else { "DOM" },
                "ProductType": r.service,
                "PaymentType": "P",
                "PaymentOptions": "",
                "Services": if cod.is_some() { "CODS" } else { "" },
                "CashOnDeliveryAmount": cod,
                "CustomsValueAmount": {"CurrencyCode": r.declared_value.currency, "Value": declared},
                "Items": items
            }
        }],
        "Transaction": {"Reference1": r.idempotency_key, "Reference2": "", "Reference3": "", "Reference4": "", "Reference5": ""}
    }))
}

/// `CalculateRate`: the same shipment details as a booking, priced before it exists.
pub fn rate_body(info: &ClientInfo<'_>, r: &RateRequest) -> Result<Value, CarrierError> {
    let weight_kg: f64 = r.pieces.iter().map(|p| p.weight_g).sum::<i64>() as f64 / 1000.0;
    let international = r.origin.country != r.destination.country;
    let address = |p: &Party| {
        json!({"Line1": p.line1, "City": p.city, "PostCode": p.postal_code.clone().unwrap_or_default(),
               "StateOrProvinceCode": p.region.clone().unwrap_or_default(), "CountryCode": p.country})
    };
    // Aramex takes one set of dimensions per shipment: the largest piece's, in centimetres.
    let dims = r.pieces.iter().filter_map(|p| p.dims_mm).max_by_key(|d| d[0] * d[1] * d[2]).map(|d| {
        json!({"Length": d[0] as f64 / 10.0, "Width": d[1] as f64 / 10.0, "Height": d[2] as f64 / 10.0, "Unit": "CM"})
    });
    let cod = match r.cod.as_ref() {
        Some(c) => Some(json!({"CurrencyCode": c.currency, "Value": number(&c.amount, "cod.amount")?})),
        None => None,
    };
    Ok(json!({
        "ClientInfo": info,
        "OriginAddress": address(&r.origin),
        "DestinationAddress": address(&r.destination),
        "ShipmentDetails": {
            "PaymentType": "P",
            "ProductGroup": if international { "EXP" } else { "DOM" },
            "ProductType": r.service,
            "ActualWeight": {"Unit": "KG", "Value": weight_kg},
            "ChargeableWeight": {"Unit": "KG", "Value": weight_kg},
            "NumberOfPieces": r.pieces.len(),
            "Dimensions": dims,
            "Services": if cod.is_some() { "CODS" } else { "" },
            "CashOnDeliveryAmount": cod
        },
        "PreferredCurrencyCode": r.currency,
        "Transaction": {"Reference1": "", "Reference2": "", "Reference3": "", "Reference4": "", "Reference5": ""}
    }))
}

fn wcf(t: OffsetDateTime) -> String {
    format!("/Date({})/", t.unix_timestamp() * 1000)
}

/// `CreatePickup` for the waybills a pickup takes, at the account's pickup point: ready in half an hour,
/// collected within four hours, the point closing an hour after that.
pub fn pickup_body(
    info: &ClientInfo<'_>,
    account: &AramexAccount,
    req: &ManifestRequest,
    now: OffsetDateTime,
) -> Result<Value, CarrierError> {
    let p = &account.pickup;
    let missing = |v: &Option<String>, field: &str| match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err(CarrierError::Rejected {
            code: "pickup_point".into(),
            message: format!("the Aramex account has no {field}: add it to the account to book pickups"),
            field: Some(field.into()),
        }),
    };
    let (contact, phone) = (missing(&p.contact, "pickup_contact")?, missing(&p.phone, "pickup_phone")?);
    let (address, city) = (missing(&p.address, "pickup_address")?, missing(&p.city, "pickup_city")?);
    if req.tracking_numbers.is_empty() {
        return Err(CarrierError::Rejected {
            code: "empty_pickup".into(),
            message: "the pickup has no parcels".into(),
            field: None,
        });
    }
    let ready = now + time::Duration::minutes(30);
    let existing: Vec<Value> = req
        .tracking_numbers
        .iter()
        .map(|n| json!({"Number": n, "OriginEntity": info.account_entity, "ProductGroup": "EXP"}))
        .collect();
    Ok(json!({
        "ClientInfo": info,
        "LabelInfo": null,
        "Pickup": {
            "PickupAddress": {"Line1": address, "Line2": "", "Line3": "", "City": city,
                              "PostCode": p.postcode.clone().unwrap_or_default(),
                              "CountryCode": account.account_country_code},
            "PickupContact": {"PersonName": contact, "CompanyName": contact, "PhoneNumber1": phone,
                              "PhoneNumber2": "", "CellPhone": phone, "Type": ""},
            "PickupLocation": "Reception",
            "PickupDate": wcf(ready),
            "ReadyTime": wcf(ready),
            "LastPickupTime": wcf(ready + time::Duration::hours(4)),
            "ClosingTime": wcf(ready + time::Duration::hours(5)),
            "Comments": "",
            "Reference1": req.reference,
            "Reference2": "",
            "Vehicle": "",
            "Status": "Ready",
            "ExistingShipments": existing,
            "PickupItems": [{
                "ProductGroup": "EXP", "ProductType": "", "NumberOfShipments": req.tracking_numbers.len(),
                "PackageType": "Box", "Payment": "P",
                "ShipmentWeight": {"Unit": "KG", "Value": req.weight_g as f64 / 1000.0},
                "ShipmentVolume": null, "NumberOfPieces": req.tracking_numbers.len(),
                "CashAmount": null, "ExtraCharges": null, "ShipmentDimensions": null, "Comments": ""
            }]
        },
        "Transaction": {"Reference1": req.reference, "Reference2": "", "Reference3": "", "Reference4": "", "Reference5": ""}
    }))
}

pub fn cancel_pickup_body(info: &ClientInfo<'_>, guid: &str, why: &str) -> Value {
    json!({"ClientInfo": info, "PickupGUID": guid, "Comments": why,
           "Transaction": {"Reference1": "", "Reference2": "", "Reference3": "", "Reference4": "", "Reference5": ""}})
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessedPickup {
    #[serde(rename = "ID")]
    pub id: Option<String>,
    #[serde(rename = "GUID")]
    pub guid: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct PickupReply {
    pub has_errors: bool,
    #[serde(default)]
    pub notifications: Vec<Notification>,
    pub processed_pickup: Option<ProcessedPickup>,
}

impl PickupReply {
    /// Aramex's pickup ID and GUID.
    pub fn into_pickup(self) -> Result<(String, String), CarrierError> {
        if self.has_errors {
            return Err(refused(&self.notifications));
        }
        let p = self.processed_pickup.ok_or_else(|| CarrierError::Malformed("no ProcessedPickup".into()))?;
        match (p.id.filter(|i| !i.trim().is_empty()), p.guid.filter(|g| !g.trim().is_empty())) {
            (Some(id), Some(guid)) => Ok((id, guid)),
            _ => Err(CarrierError::Malformed("ProcessedPickup without ID or GUID".into())),
        }
    }
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct CancelPickupReply {
    pub has_errors: bool,
    #[serde(default)]
    pub notifications: Vec<Notification>,
}

impl CancelPickupReply {
    pub fn into_result(self) -> Result<(), CarrierError> {
        if self.has_errors { Err(refused(&self.notifications)) } else { Ok(()) }
    }
}

pub fn track_body(info: &ClientInfo<'_>, waybill: &str) -> Value {
    json!({"ClientInfo": info, "Shipments": [waybill], "GetLastTrackingUpdateOnly": false,
           "Transaction": {"Reference1": "", "Reference2": "", "Reference3": "", "Reference4": "", "Reference5": ""}})
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Notification {
    pub code: String,
    pub message: String,
}

fn refused(n: &[Notification]) -> CarrierError {
    let first = n.first();
    CarrierError::Rejected {
        code: first.map_or_else(|| "HasErrors".into(), |n| n.code.clone()),
        message: if n.is_empty() {
            "Aramex reported errors without details".into()
        } else {
            n.iter().map(|n| format!("{}: {}", n.code, n.message)).collect::<Vec<_>>().join("; ")
        },
        field: None,
    }
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct ShipmentLabel {
    #[serde(rename = "LabelURL")]
    pub label_url: Option<String>,
    pub label_file_contents: Option<Value>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessedShipment {
    #[serde(rename = "ID")]
    pub id: Option<String>,
    pub has_errors: bool,
    #[serde(default)]
    pub notifications: Vec<Notification>,
    pub shipment_label: Option<ShipmentLabel>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct CreateReply {
    pub has_errors: bool,
    #[serde(default)]
    pub notifications: Vec<Notification>,
    #[serde(default)]
    pub shipments: Vec<ProcessedShipment>,
}

impl CreateReply {
    pub fn into_booking(self) -> Result<Booking, CarrierError> {
        let s = self.shipments.into_iter().next();
        match s {
            Some(s) if !s.has_errors => {
                let id =
                    s.id.filter(|i| !i.trim().is_empty())
                        .ok_or_else(|| CarrierError::Malformed("shipment without ID".into()))?;
                let url = s.shipment_label.and_then(|l| l.label_url);
                Ok(Booking {
                    tracking_number: id.clone(),
                    carrier_ref: id,
                    sort_code: None,
                    label_data: json!({"label_url": url}),
                })
            }
            Some(s) => Err(refused(&s.notifications)),
            None if self.has_errors => Err(refused(&self.notifications)),
            None => Err(CarrierError::Malformed("no shipment in the reply".into())),
        }
    }
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct TrackingUpdate {
    pub waybill_number: String,
    pub update_code: String,
    pub update_description: String,
    pub update_date_time: String,
    #[serde(default)]
    pub update_location: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct TrackingResult {
    pub key: String,
    pub value: Vec<TrackingUpdate>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct TrackReply {
    pub has_errors: bool,
    #[serde(default)]
    pub notifications: Vec<Notification>,
    #[serde(default)]
    pub tracking_results: Vec<TrackingResult>,
}

/// `/Date(1737018820000)/` or `/Date(1737018820000+0300)/`: milliseconds since the epoch (UTC); the
/// offset only says where the scan happened.
pub fn wcf_date(s: &str) -> Option<OffsetDateTime> {
    let inner = s.strip_prefix("/Date(")?.strip_suffix(")/")?;
    // A leading minus is the sign of the milliseconds; a later + or - starts the offset.
    let end = inner.get(1..)?.find(['+', '-']).map_or(inner.len(), |i| i + 1);
    let ms: i64 = inner.get(..end)?.parse().ok()?;
    let offset = inner.get(end..)?;
    let valid_offset =
        offset.is_empty() || (offset.len() == 5 && offset.as_bytes()[1..].iter().all(|b| b.is_ascii_digit()));
    if !valid_offset {
        return None;
    }
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).ok()
}

impl TrackReply {
    pub fn into_events(self) -> Result<Vec<CarrierEvent>, CarrierError> {
        if self.has_errors {
            return Err(refused(&self.notifications));
        }
        let mut out = Vec::new();
        for r in self.tracking_results {
            for (i, u) in r.value.into_iter().enumerate() {
                let at = wcf_date(&u.update_date_time).ok_or_else(|| {
                    CarrierError::Malformed(format!(
                        "{}[{i}].UpdateDateTime: {:?} is not a /Date(ms)/ value",
                        r.key, u.update_date_time
                    ))
                })?;
                out.push(CarrierEvent {
                    tracking_number: u.waybill_number,
                    code: u.update_code,
                    description: u.update_description,
                    location: u.update_location,
                    at,
                });
            }
        }
        out.sort_by_key(|e| e.at);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn wcf_date_parsing_never_panics(s in "\\PC{0,30}") {
            let _ = wcf_date(&s);
            let _ = wcf_date(&format!("/Date({s})/"));
        }
    }

    proptest::proptest! {
        #[test]
        fn pickup_replies_of_any_shape_never_panic(
            id in proptest::option::of("\\PC{0,12}"), guid in proptest::option::of("\\PC{0,40}"),
            errors in proptest::bool::ANY, junk in proptest::collection::vec(proptest::num::u8::ANY, 0..64)
        ) {
            let body = json!({"HasErrors": errors, "Notifications": [], "ProcessedPickup": {"ID": id, "GUID": guid}});
            if let Ok(r) = serde_json::from_value::<PickupReply>(body) {
                let out = r.into_pickup();
                proptest::prop_assert!(out.is_err() || !errors);
            }
            let _ = serde_json::from_slice::<PickupReply>(&junk).map(PickupReply::into_pickup);
            let _ = serde_json::from_slice::<CancelPickupReply>(&junk).map(CancelPickupReply::into_result);
        }
    }

    #[test]
    fn wcf_dates_read_with_and_without_an_offset() {
        assert_eq!(wcf_date("/Date(1737018820000)/").unwrap().unix_timestamp(), 1737018820);
        assert_eq!(wcf_date("/Date(1737018820000+0300)/").unwrap().unix_timestamp(), 1737018820);
        assert_eq!(wcf_date("/Date(-1000)/").unwrap().unix_timestamp(), -1);
        for bad in ["", "/Date()/", "/Date(abc)/", "1737018820000", "/Date(1+)/"] {
            assert!(wcf_date(bad).is_none(), "{bad:?}");
        }
    }
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Money {
    pub currency_code: String,
    /// Kept as JSON wrote it, so no float rounding creeps into the amount.
    pub value: serde_json::Number,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct RateReply {
    pub has_errors: bool,
    #[serde(default)]
    pub notifications: Vec<Notification>,
    pub total_amount: Option<Money>,
}

impl RateReply {
    pub fn into_rate(self) -> Result<CarrierRate, CarrierError> {
        if self.has_errors {
            return Err(refused(&self.notifications));
        }
        let total =
            self.total_amount.ok_or_else(|| CarrierError::Malformed("CalculateRate without TotalAmount".into()))?;
        let amount = total.value.to_string();
        if total.currency_code.len() != 3 || amount.starts_with('-') || amount.contains(['e', 'E']) {
            return Err(CarrierError::Malformed(format!("TotalAmount {amount} {:?}", total.currency_code)));
        }
        Ok(CarrierRate {
            total: Amount { amount, currency: total.currency_code },
            charges: Vec::new(),
            billable_weight_g: None,
            transit_days: None,
        })
    }
}
