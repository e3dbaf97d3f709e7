//! The carrier speaking Aramex's JSON services, v1.0 (its Shipping Services and Shipments Tracking API manuals,
//! and the WSDL of `ShippingAPI.V2/Shipping/Service_1_0.svc`): every call is a POST whose body carries
//! `ClientInfo` (user name, password, account number and PIN); refusals come as HTTP 200 with `HasErrors` and
//! `Notifications` [{`Code`, `Message`}]. Served under `/aramex/ShippingAPI.V2/`:
//! `Shipping/…/CreateShipments` (COD as `Services: "CODS"` with `CashOnDeliveryAmount`; the label as a URL),
//! `Shipping/…/CreatePickup` (a pickup of `ExistingShipments` at an address between `ReadyTime` and
//! `LastPickupTime`; answers `ProcessedPickup` {`ID`, `GUID`}), `Shipping/…/CancelPickup` (by `PickupGUID`),
//! `Tracking/…/TrackShipments` (`TrackingResults` [{`Key`, `Value`: updates}] with `UpdateCode`, WCF dates) and
//! `RateCalculator/…/CalculateRate` (`TotalAmount` in the preferred currency).
//!
//! Aramex's CreateShipments takes no idempotency key: the same request twice books two waybills, as here. Aramex
//! publishes no call to void a waybill. Its manuals do not show how bad credentials are answered; this server
//! answers 401. Of the update codes only `SH014` (record created) and `SH005` (delivered) appear in Aramex's
//! published samples; the others are this server's, named `SH9xx` so they cannot be mistaken for Aramex's.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::{OffsetDateTime, UtcOffset};

use crate::{Amount, Carrier, CreateShipment, Party, Piece, amount_str, book_parcel, parse_amount};

pub const TEST_USER: &str = "testingapi@codflow.test";
pub const TEST_PASSWORD: &str = "codflow-aramex-password";
pub const TEST_ACCOUNT: &str = "20016";
pub const TEST_PIN: &str = "331421";

/// Aramex's update code and English text for a sandbox scan.
pub fn update(sandbox: &str) -> (&'static str, &'static str) {
    match sandbox {
        "LBL" => ("SH014", "Record created."),
        "DLV" => ("SH005", "Delivered"),
        "PKP" => ("SH901", "Picked up from shipper"),
        "DEP" => ("SH902", "Departed origin facility"),
        "ARR-CUS" => ("SH903", "Arrived in destination country, customs clearance"),
        "CUS-HLD-DOC" => ("SH904", "Held by customs: documents required"),
        "CUS-HLD-DTY" => ("SH905", "Held by customs: duties unpaid"),
        "CUS-HLD-INS" => ("SH906", "Held by customs: inspection"),
        "CUS-REL" => ("SH907", "Released by customs"),
        "ARR-HUB" => ("SH908", "Arrived at delivery facility"),
        "OFD" => ("SH909", "Out for delivery"),
        "COD" => ("SH910", "Cash collected from consignee"),
        "NDR-RF" => ("SH911", "Refused by consignee"),
        "NDR-NH" => ("SH912", "Consignee not available"),
        "RTS" => ("SH913", "Returning to shipper"),
        "RTD" => ("SH914", "Returned to shipper"),
        "LST" => ("SH915", "Shipment lost"),
        "CAN" => ("SH916", "Shipment cancelled"),
        _ => ("SH900", "In transit"),
    }
}

fn refusal(code: &str, message: &str) -> Response {
    axum::Json(json!({"Transaction": null, "HasErrors": true,
                      "Notifications": [{"Code": code, "Message": message}]}))
    .into_response()
}

fn text(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The body, when it is a JSON object whose `ClientInfo` the carrier accepts; else the reply to give.
async fn gate(c: &Carrier, body: &[u8]) -> Result<Value, Response> {
    if let Some(r) = crate::protocol_fault(c, "aramex").await {
        return Err(r);
    }
    let v: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Err((StatusCode::BAD_REQUEST, "The request body is not a JSON object.").into_response()),
    };
    let info = &v["ClientInfo"];
    let (user, password, account, pin) = &c.config.aramex;
    let ok = text(info, "UserName") == *user
        && text(info, "Password") == *password
        && text(info, "AccountNumber") == *account
        && text(info, "AccountPin") == *pin;
    if !ok {
        return Err(
            (StatusCode::UNAUTHORIZED, "Invalid ClientInfo: user name, password, account or PIN").into_response()
        );
    }
    Ok(v)
}

fn party(v: &Value) -> Party {
    let opt = |s: String| (!s.is_empty()).then_some(s);
    let a = &v["PartyAddress"];
    let who = &v["Contact"];
    Party {
        name: text(who, "PersonName"),
        phone: opt(text(who, "CellPhone")).or_else(|| opt(text(who, "PhoneNumber1"))),
        line1: opt(text(a, "Line1")),
        line2: opt(text(a, "Line2")),
        city: text(a, "City"),
        region: opt(text(a, "StateOrProvinceCode")),
        postal_code: opt(text(a, "PostCode")),
        country: text(a, "CountryCode"),
    }
}

/// A `Money` {`CurrencyCode`, `Value`} as an amount; None when absent, Err when unreadable.
fn money(v: &Value, field: &str) -> Result<Option<Amount>, (String, String)> {
    if v.is_null() {
        return Ok(None);
    }
    let currency = text(v, "CurrencyCode");
    let a = Amount { amount: text(v, "Value"), currency };
    match parse_amount(&a) {
        Some(_) if a.currency.len() == 3 => Ok(Some(a)),
        _ => Err((format!("ERR{field}"), format!("{field} is not an amount with a currency code"))),
    }
}

/// The shipment as the sandbox books it, or Aramex's notification code and message.
fn shipment(s: &Value) -> Result<CreateShipment, (String, String)> {
    let shipper = party(&s["Shipper"]);
    let consignee = party(&s["Consignee"]);
    for (who, p) in [("Shipper", &shipper), ("Consignee", &consignee)] {
        if p.city.is_empty() {
            return Err(("ERR06".into(), format!("{who} City is required")));
        }
        if p.country.len() != 2 {
            return Err(("ERR07".into(), format!("{who} CountryCode is not a valid country code")));
        }
        if p.name.is_empty() {
            return Err(("ERR08".into(), format!("{who} PersonName is required")));
        }
    }
    let d = &s["Details"];
    let kg = d["ActualWeight"]["Value"]
        .as_f64()
        .filter(|w| *w > 0.0 && *w <= 150.0)
        .ok_or_else(|| ("ERR12".to_owned(), "ActualWeight must be above 0 and at most 150 KG".to_owned()))?;
    let group = text(d, "ProductGroup");
    if group != "EXP" && group != "DOM" {
        return Err(("ERR13".into(), "ProductGroup is EXP or DOM".into()));
    }
    let cod = money(&d["CashOnDeliveryAmount"], "CashOnDeliveryAmount")?;
    let services = text(d, "Services");
    let cod = match (services.split(',').any(|s| s.trim() == "CODS"), cod) {
        (true, Some(a)) if parse_amount(&a).is_some_and(|m| m > 0) => Some(a),
        (true, _) => return Err(("ERR21".into(), "CODS needs a CashOnDeliveryAmount above 0".into())),
        (false, _) => None,
    };
    let declared = money(&d["CustomsValueAmount"], "CustomsValueAmount")?
        .unwrap_or_else(|| Amount { amount: "0".into(), currency: "USD".into() });
    Ok(CreateShipment {
        reference: text(s, "Reference1"),
        service: text(d, "ProductType"),
        shipper,
        consignee,
        pieces: vec![Piece {
            weight_g: (kg * 1000.0).round() as i64,
            length_cm: None,
            width_cm: None,
            height_cm: None,
        }],
        cod,
        declared_value: declared,
        incoterm: None,
    })
}

/// Eleven digits, as Aramex waybills have.
fn waybill(sandbox: &str) -> String {
    let digits: String = sandbox.chars().filter(char::is_ascii_digit).collect();
    format!("460{:0>8}", &digits[digits.len().saturating_sub(8)..])
}

fn host(headers: &HeaderMap) -> &str {
    headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1")
}

fn transaction(v: &Value) -> Value {
    v.get("Transaction").cloned().unwrap_or(Value::Null)
}

pub(crate) async fn create(State(c): State<Arc<Carrier>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let v = match gate(&c, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let list = v["Shipments"].as_array().cloned().unwrap_or_default();
    if list.is_empty() || list.len() > 50 {
        return refusal("ERR01", "Shipments: between 1 and 50 shipments");
    }
    let now = c.now();
    let mut processed = Vec::new();
    let mut any_error = false;
    for s in &list {
        let out = match shipment(s) {
            Ok(req) => {
                let reference = req.reference.clone();
                let t = {
                    let mut b = c.lock();
                    b.create_calls += 1;
                    // No idempotency: every accepted shipment is a new waybill.
                    let key = format!("aramex:{}#{}", reference, b.create_calls);
                    let (t, _) = book_parcel(&c, &mut b, &key, req, now);
                    b.aliases.insert(waybill(&t), t.clone());
                    t
                };
                let n = waybill(&t);
                json!({"ID": n, "Reference1": reference, "Reference2": text(s, "Reference2"), "Reference3": "",
                       "ForeignHAWB": "", "HasErrors": false, "Notifications": [],
                       "ShipmentLabel": {"LabelURL": format!("http://{}/aramex/labels/{n}.pdf", host(&headers)),
                                         "LabelFileContents": null},
                       "ShipmentDetails": null, "ShipmentAttachments": []})
            }
            Err((code, message)) => {
                any_error = true;
                json!({"ID": null, "Reference1": text(s, "Reference1"), "HasErrors": true,
                       "Notifications": [{"Code": code, "Message": message}], "ShipmentLabel": null})
            }
        };
        processed.push(out);
    }
    axum::Json(json!({"Transaction": transaction(&v), "Notifications": [], "HasErrors": any_error,
                      "Shipments": processed}))
    .into_response()
}

pub(crate) async fn label(State(c): State<Arc<Carrier>>, Path(file): Path<String>) -> Response {
    let n = file.trim_end_matches(".pdf");
    if !c.lock().aliases.contains_key(n) {
        return (StatusCode::NOT_FOUND, "no such label").into_response();
    }
    ([("content-type", "application/pdf")], crate::label_pdf(&format!("Aramex {n}"))).into_response()
}

fn wcf(t: OffsetDateTime, offset: UtcOffset) -> String {
    let (h, m, _) = offset.as_hms();
    let sign = if h < 0 || m < 0 { '-' } else { '+' };
    format!("/Date({}{sign}{:02}{:02})/", t.unix_timestamp() * 1000, h.unsigned_abs(), m.unsigned_abs())
}

pub(crate) async fn track(State(c): State<Arc<Carrier>>, body: axum::body::Bytes) -> Response {
    let v = match gate(&c, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let numbers: Vec<String> = v["Shipments"]
        .as_array()
        .map(|a| a.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if numbers.is_empty() || numbers.len() > 50 {
        return refusal("ERR01", "Shipments: between 1 and 50 waybill numbers");
    }
    let now = c.now();
    let dubai = UtcOffset::from_hms(4, 0, 0).unwrap_or(UtcOffset::UTC);
    let mut results = Vec::new();
    let mut missing = Vec::new();
    let mut b = c.lock();
    for n in numbers {
        let Some(t) = b.aliases.get(&n).cloned() else {
            missing.push(n);
            continue;
        };
        let s = b.shipments.get_mut(&t).expect("aliased parcels exist");
        s.tracking_requests += 1;
        // Aramex lists the newest update first.
        let mut updates: Vec<Value> = s
            .visible(now)
            .map(|e| {
                let (code, text) = update(e.code);
                json!({"WaybillNumber": n, "UpdateCode": code, "UpdateDescription": text,
                       "UpdateDateTime": wcf(e.at, dubai), "UpdateLocation": e.location,
                       "Comments": "", "ProblemCode": "", "GrossWeight": "", "ChargeableWeight": "", "WeightUnit": "KG"})
            })
            .collect();
        updates.reverse();
        results.push(json!({"Key": n, "Value": updates}));
    }
    drop(b);
    axum::Json(json!({"Transaction": transaction(&v), "HasErrors": false,
                      "Notifications": [], "NonExistingWaybills": missing, "TrackingResults": results}))
    .into_response()
}

pub(crate) async fn rate(State(c): State<Arc<Carrier>>, body: axum::body::Bytes) -> Response {
    let v = match gate(&c, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let d = &v["ShipmentDetails"];
    let Some(kg) = d["ActualWeight"]["Value"].as_f64().filter(|w| *w > 0.0 && *w <= 150.0) else {
        return refusal("ERR12", "ActualWeight must be above 0 and at most 150 KG");
    };
    let country = text(&v["DestinationAddress"], "CountryCode");
    if country.len() != 2 {
        return refusal("ERR07", "DestinationAddress CountryCode is not a valid country code");
    }
    let piece = Piece { weight_g: (kg * 1000.0).round() as i64, length_cm: None, width_cm: None, height_cm: None };
    let cents = c.config.model.lane(&country).freight_minor(crate::billable_kg(std::slice::from_ref(&piece)));
    // Quotes in US dollars when asked, else in dirhams at the peg (3.6725 AED to the dollar).
    let (currency, minor) = match text(&v, "PreferredCurrencyCode").as_str() {
        "USD" => ("USD", cents),
        _ => ("AED", cents * 36725 / 10000),
    };
    let total: Value = serde_json::from_str(&amount_str(minor, currency)).unwrap_or(Value::Null);
    axum::Json(json!({"Transaction": transaction(&v), "Notifications": [], "HasErrors": false,
                      "TotalAmount": {"CurrencyCode": currency, "Value": total}}))
    .into_response()
}

/// A pickup booked through `CreatePickup`.
pub(crate) struct Pickup {
    pub id: String,
    pub reference: String,
    pub waybills: Vec<String>,
    pub cancelled: bool,
}

/// A WCF date (`/Date(ms)/`, `/Date(ms+hhmm)/`) in `field`.
fn wcf_time(v: &Value, field: &str) -> Option<OffsetDateTime> {
    let s = text(v, field);
    let inner = s.strip_prefix("/Date(")?.strip_suffix(")/")?;
    let end = inner.get(1..)?.find(['+', '-']).map_or(inner.len(), |i| i + 1);
    let ms: i64 = inner.get(..end)?.parse().ok()?;
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok()
}

pub(crate) async fn create_pickup(State(c): State<Arc<Carrier>>, body: axum::body::Bytes) -> Response {
    let v = match gate(&c, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let p = &v["Pickup"];
    let address = &p["PickupAddress"];
    if text(address, "Line1").is_empty() || text(address, "City").is_empty() || text(address, "CountryCode").len() != 2
    {
        return refusal("ERR32", "PickupAddress needs Line1, City and a CountryCode");
    }
    if text(&p["PickupContact"], "PersonName").is_empty() || text(&p["PickupContact"], "PhoneNumber1").is_empty() {
        return refusal("ERR33", "PickupContact needs PersonName and PhoneNumber1");
    }
    let mut times = Vec::with_capacity(3);
    for field in ["ReadyTime", "LastPickupTime", "ClosingTime"] {
        match wcf_time(p, field) {
            Some(t) => times.push(t),
            None => return refusal("ERR31", &format!("{field} is not a /Date(ms)/ value")),
        }
    }
    let (ready, last, closing) = (times[0], times[1], times[2]);
    if !(ready < last && last <= closing) {
        return refusal("ERR34", "ReadyTime must come before LastPickupTime, and LastPickupTime by ClosingTime");
    }
    let waybills: Vec<String> =
        p["ExistingShipments"].as_array().map(|a| a.iter().map(|s| text(s, "Number")).collect()).unwrap_or_default();
    let mut b = c.lock();
    if let Some(unknown) = waybills.iter().find(|n| !b.aliases.contains_key(*n)) {
        return refusal("ERR35", &format!("ExistingShipments: waybill {unknown} is not a shipment of this account"));
    }
    b.serial += 1;
    let id = format!("{:08}", 10_000_000 + b.serial);
    let guid = format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", b.serial, b.serial % 0xffff, 0, 0, b.serial);
    b.aramex_pickups
        .insert(guid.clone(), Pickup { id: id.clone(), reference: text(p, "Reference1"), waybills, cancelled: false });
    axum::Json(json!({"Transaction": transaction(&v), "Notifications": [], "HasErrors": false,
                      "ProcessedPickup": {"ID": id, "GUID": guid, "Reference1": text(p, "Reference1"),
                                          "Reference2": text(p, "Reference2"), "ProcessedShipments": []}}))
    .into_response()
}

pub(crate) async fn cancel_pickup(State(c): State<Arc<Carrier>>, body: axum::body::Bytes) -> Response {
    let v = match gate(&c, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let guid = text(&v, "PickupGUID");
    let mut b = c.lock();
    match b.aramex_pickups.get_mut(&guid) {
        Some(p) => {
            p.cancelled = true;
            axum::Json(json!({"Transaction": transaction(&v), "Notifications": [], "HasErrors": false,
                              "Message": format!("Pickup {} cancelled", p.id)}))
            .into_response()
        }
        None => refusal("ERR36", &format!("PickupGUID {guid} is not a pickup of this account")),
    }
}
