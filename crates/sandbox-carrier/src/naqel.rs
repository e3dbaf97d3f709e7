//! The carrier speaking Naqel Express's `XMLShippingService` (SOAP 1.1, `http://tempuri.org/`), as its WSDL's
//! public integrations call it, at `POST /naqel/XMLShippingService.asmx` with `SOAPAction`:
//! `CreateWaybill(_ManifestShipmentDetails)` → `Result {HasError, Message, WaybillNo, Key}` (a `RefNo` the client
//! already used is refused naming the waybill it has, as Naqel's service does), `GetWaybillSticker` → base64 PDF,
//! `TraceByWaybillNo` → `Tracking` records (`Date` in Saudi time), `CancelWaybill`. Credentials in `ClientInfo`;
//! a malformed envelope or an unknown action is a SOAP fault with HTTP 500, as ASMX answers.
//!
//! Event codes 1 (picked up), 5 (out for delivery), 7 (delivered), 9 (returning) and 221 (returned) are the ones
//! Naqel's integrations read; the others this server sends are its own (Naqel's code list is the client's).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use quick_xml::Reader;
use quick_xml::events::Event;
use time::UtcOffset;

use crate::model::Event as Scan;
use crate::{Amount, Carrier, CreateShipment, Party, Piece, book_parcel, cancel_parcel};

pub const TEST_CLIENT_ID: &str = "9021164";
pub const TEST_PASSWORD: &str = "codflow-naqel-password";

/// Naqel's (event code, activity) for a sandbox scan.
pub fn event(sandbox: &str) -> (&'static str, &'static str) {
    match sandbox {
        "LBL" => ("0", "Waybill data uploaded"),
        "PKP" => ("1", "Picked up"),
        "DEP" => ("2", "Departed origin station"),
        "ARR-CUS" => ("15", "Arrived at customs"),
        "CUS-HLD-DOC" | "CUS-HLD-DTY" | "CUS-HLD-INS" => ("16", "Held by customs"),
        "CUS-REL" => ("17", "Released by customs"),
        "ARR-HUB" => ("4", "Arrived at destination station"),
        "OFD" => ("5", "Out for delivery"),
        "DLV" | "COD" => ("7", "Delivered"),
        "NDR-RF" => ("21", "Consignee refused the shipment"),
        "NDR-NH" => ("22", "Consignee not available"),
        "RTS" => ("9", "Returning to the shipper"),
        "RTD" => ("221", "Returned to the shipper"),
        "LST" => ("31", "Shipment lost"),
        "CAN" => ("99", "Waybill cancelled"),
        _ => ("2", "In transit"),
    }
}

/// The texts of a SOAP request by path below the method element (`ClientInfo/ClientID`), and the method.
fn read(body: &[u8]) -> Option<(String, HashMap<String, String>)> {
    let mut reader = Reader::from_reader(body);
    let mut path: Vec<String> = Vec::new();
    let mut out = HashMap::new();
    let mut method = None;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                let name = e.name();
                let local = name.as_ref().rsplit(':').next()?.to_owned();
                path.push(local);
                if path.len() == 3 && path[1] == "Body" {
                    method = Some(path[2].clone());
                }
                if path.len() > 32 {
                    return None;
                }
            }
            Event::End(_) => {
                path.pop()?;
            }
            Event::Text(t) if path.len() > 3 => {
                let key = path[3..].join("/");
                out.entry(key).or_insert_with(String::new).push_str(&t.into_inner());
            }
            Event::GeneralRef(r) if path.len() > 3 => {
                let c = match &*r.into_inner() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                };
                out.entry(path[3..].join("/")).or_insert_with(String::new).push_str(c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Some((method?, out))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn envelope(method: &str, result: &str) -> Response {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><{method}Response xmlns=\"http://tempuri.org/\"><{method}Result>{result}</{method}Result></{method}Response></soap:Body></soap:Envelope>"
    );
    ([("content-type", "text/xml; charset=utf-8")], xml).into_response()
}

fn fault(code: &str, message: &str) -> Response {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:{code}</faultcode><faultstring>{}</faultstring><detail /></soap:Fault></soap:Body></soap:Envelope>",
        escape(message)
    );
    (StatusCode::INTERNAL_SERVER_ERROR, [("content-type", "text/xml; charset=utf-8")], xml).into_response()
}

fn result(method: &str, has_error: bool, message: &str, waybill: &str) -> Response {
    envelope(
        method,
        &format!(
            "<HasError>{has_error}</HasError><Message>{}</Message><WaybillNo>{}</WaybillNo><Key>0</Key>",
            escape(message),
            escape(waybill)
        ),
    )
}

fn waybill_of(sandbox: &str) -> String {
    let digits: String = sandbox.chars().filter(char::is_ascii_digit).collect();
    format!("3{:0>7}", &digits[digits.len().saturating_sub(7)..])
}

fn order(f: &HashMap<String, String>) -> Result<CreateShipment, String> {
    let get =
        |k: &str| f.get(&format!("_ManifestShipmentDetails/{k}")).map(|v| v.trim().to_owned()).unwrap_or_default();
    for k in [
        "ConsigneeInfo/ConsigneeName",
        "ConsigneeInfo/PhoneNumber",
        "ConsigneeInfo/Address",
        "ConsigneeInfo/CityCode",
        "RefNo",
    ] {
        if get(k).is_empty() {
            return Err(format!("{} is required", k.rsplit('/').next().unwrap_or(k)));
        }
    }
    let kg: f64 = get("Weight").parse().map_err(|_| "Weight must be a number of kilograms".to_owned())?;
    if !(0.001..=1000.0).contains(&kg) {
        return Err("Weight must be between 0.001 and 1000 kilograms".into());
    }
    let cod = match get("BillingType").as_str() {
        "5" => {
            let cod = Amount { amount: get("CODCharge"), currency: "SAR".into() };
            if crate::parse_amount(&cod).is_none_or(|minor| minor <= 0) {
                return Err("CODCharge must be an amount above zero for cash on delivery (BillingType 5)".into());
            }
            Some(cod)
        }
        "1" | "2" => None,
        other => return Err(format!("BillingType {other:?} is not 1 (prepaid) or 5 (cash on delivery)")),
    };
    let country = match get("ConsigneeInfo/CountryCode").as_str() {
        "KSA" | "" => "SA".to_owned(),
        other => other.chars().take(2).collect(),
    };
    let city = get("ConsigneeInfo/CityCode");
    Ok(CreateShipment {
        reference: get("RefNo"),
        service: "standard".into(),
        shipper: Party {
            name: "Naqel client".into(),
            phone: None,
            line1: None,
            line2: None,
            city: "Riyadh".into(),
            region: None,
            postal_code: None,
            country: "SA".into(),
        },
        consignee: Party {
            name: get("ConsigneeInfo/ConsigneeName"),
            phone: Some(get("ConsigneeInfo/PhoneNumber")),
            line1: Some(get("ConsigneeInfo/Address")),
            line2: None,
            city: match city.as_str() {
                "RUH" => "Riyadh".into(),
                "JED" => "Jeddah".into(),
                "DMM" => "Dammam".into(),
                _ => city.clone(),
            },
            region: None,
            postal_code: None,
            country,
        },
        pieces: vec![Piece {
            weight_g: (kg * 1000.0).round() as i64,
            length_cm: None,
            width_cm: None,
            height_cm: None,
        }],
        cod,
        declared_value: Amount { amount: get("DeclareValue"), currency: "SAR".into() },
        incoterm: None,
    })
}

fn parcel(c: &Carrier, waybill: &str) -> Option<String> {
    c.lock().aliases.get(waybill).cloned().filter(|_| waybill.starts_with('3') && waybill.len() == 8)
}

pub(crate) async fn service(State(c): State<Arc<Carrier>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let Some((method, f)) = read(&body) else { return fault("Client", "Server was unable to read request.") };
    let action = headers.get("soapaction").and_then(|v| v.to_str().ok()).unwrap_or("").trim_matches('"').to_owned();
    if !action.is_empty() && action != format!("http://tempuri.org/{method}") {
        return fault("Client", &format!("Server did not recognize the value of HTTP Header SOAPAction: {action}."));
    }
    let info = if method == "GetWaybillSticker" {
        "clientInfo"
    } else if method == "CreateWaybill" {
        "_ManifestShipmentDetails/ClientInfo"
    } else {
        "ClientInfo"
    };
    let field = |k: &str| f.get(&format!("{info}/{k}")).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (id, password) = &c.config.naqel;
    if &field("ClientID") != id || &field("Password") != password {
        return result(&method, true, "Wrong client id or password", "0");
    }
    if let Some(r) = crate::protocol_fault(&c, "naqel").await {
        return r;
    }
    let now = c.now();
    match method.as_str() {
        "CreateWaybill" => {
            let req = match order(&f) {
                Ok(r) => r,
                Err(m) => return result(&method, true, &m, "0"),
            };
            let key = format!("naqel:{}", req.reference);
            let mut b = c.lock();
            if let Some(t) = b.by_key.get(&key).cloned() {
                let held = waybill_of(&t);
                let m = format!(
                    "This waybill with RefNo {} already uploaded to our system, please check this waybill no :{held}",
                    req.reference
                );
                return result(&method, true, &m, "0");
            }
            b.create_calls += 1;
            let (t, _) = book_parcel(&c, &mut b, &key, req, now);
            let waybill = waybill_of(&t);
            b.aliases.insert(waybill.clone(), t);
            result(&method, false, "Waybill created", &waybill)
        }
        "GetWaybillSticker" => {
            let waybill = f.get("WaybillNo").cloned().unwrap_or_default();
            if parcel(&c, waybill.trim()).is_none() {
                return fault("Server", &format!("No waybill {}", waybill.trim()));
            }
            let pdf = base64::engine::general_purpose::STANDARD
                .encode(crate::label_pdf(&format!("Naqel {}", waybill.trim())));
            envelope(&method, &pdf)
        }
        "CancelWaybill" => {
            let waybill = f.get("WaybillNo").cloned().unwrap_or_default();
            let Some(t) = parcel(&c, waybill.trim()) else { return result(&method, true, "Waybill not found", "0") };
            match cancel_parcel(&mut c.lock(), &t, now) {
                Ok(()) => result(&method, false, "Waybill cancelled", waybill.trim()),
                Err(_) => result(&method, true, "The shipment was picked up and cannot be cancelled", waybill.trim()),
            }
        }
        "TraceByWaybillNo" => {
            let waybill = f.get("WaybillNo").cloned().unwrap_or_default().trim().to_owned();
            let Some(t) = parcel(&c, &waybill) else {
                return envelope(
                    &method,
                    "<Tracking><HasError>true</HasError><ErrorMessage>No tracking information for this waybill</ErrorMessage></Tracking>",
                );
            };
            let ksa = UtcOffset::from_hms(3, 0, 0).unwrap_or(UtcOffset::UTC);
            let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
            let mut b = c.lock();
            let s = b.shipments.get_mut(&t).expect("aliased parcels exist");
            s.tracking_requests += 1;
            let records: String = s
                .visible(now)
                .map(|e: &Scan| {
                    let (code, activity) = event(e.code);
                    format!(
                        "<Tracking><WaybillNo>{waybill}</WaybillNo><Date>{}</Date><Activity>{}</Activity><EventCode>{code}</EventCode><HubCode>{}</HubCode><HasError>false</HasError></Tracking>",
                        e.at.to_offset(ksa).format(&fmt).unwrap_or_default(),
                        escape(activity),
                        escape(&e.location)
                    )
                })
                .collect();
            envelope(&method, &records)
        }
        other => fault("Client", &format!("Server did not recognize the method {other}.")),
    }
}
