//! Naqel's SOAP shapes: the envelope and `ClientInfo`, `_ManifestShipmentDetails` built from a booking, and the
//! `Result`, sticker and `Tracking` records read back; SOAP faults and `HasError` results made into errors.

use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::carriers::xml::{Element, escape, parse};
use crate::carriers::{BookingRequest, CarrierError, CarrierEvent, excerpt, http_error};

use super::NaqelAccount;

/// Cities whose Naqel code is the one their airports carry; others are mapped on the account.
const CITIES: [(&str, &str); 4] = [("riyadh", "RUH"), ("jeddah", "JED"), ("dammam", "DMM"), ("madinah", "MED")];

pub fn envelope(method: &str, inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><{method} xmlns=\"http://tempuri.org/\">{inner}</{method}></soap:Body></soap:Envelope>"
    )
}

fn el(name: &str, value: &str) -> String {
    format!("<{name}>{}</{name}>", escape(value))
}

pub fn client_info(tag: &str, a: &NaqelAccount) -> String {
    format!(
        "<{tag}><ClientAddress>{}{}{}{}</ClientAddress><ClientContact>{}{}</ClientContact>{}{}{}</{tag}>",
        el("PhoneNumber", a.sender_phone.as_deref().unwrap_or("")),
        el("FirstAddress", a.sender_address.as_deref().unwrap_or("")),
        el("CountryCode", "KSA"),
        el("CityCode", &a.origin_city_code),
        el("Name", "codflow"),
        el("PhoneNumber", a.sender_phone.as_deref().unwrap_or("")),
        el("ClientID", a.client_id.trim()),
        el("Password", &a.password),
        el("Version", &a.version),
    )
}

/// Naqel's country code: KSA for Saudi Arabia, ISO alpha-3 otherwise.
fn country(alpha2: &str) -> String {
    match alpha2.to_ascii_uppercase().as_str() {
        "SA" => "KSA",
        "AE" => "ARE",
        "KW" => "KWT",
        "BH" => "BHR",
        "OM" => "OMN",
        "QA" => "QAT",
        "JO" => "JOR",
        "EG" => "EGY",
        other => return other.to_owned(),
    }
    .to_owned()
}

/// The consignee city's Naqel code: the account's own mapping, a built-in city, or a code given as the city.
pub fn city_code(city: &str, extra: Option<&str>) -> Option<String> {
    let wanted = city.trim().to_lowercase();
    let mapped = extra.into_iter().flat_map(|m| m.split(';')).filter_map(|pair| pair.split_once('='));
    for (name, code) in mapped {
        if name.trim().to_lowercase() == wanted && !code.trim().is_empty() {
            return Some(code.trim().to_uppercase());
        }
    }
    if let Some((_, code)) = CITIES.iter().find(|(name, _)| *name == wanted) {
        return Some((*code).to_owned());
    }
    let c = city.trim();
    (c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())).then(|| c.to_owned())
}

/// A decimal amount as Naqel writes it, refused (naming `field`) otherwise.
fn amount(s: &str, field: &str) -> Result<String, CarrierError> {
    let d: rust_decimal::Decimal = s.trim().parse().map_err(|_| CarrierError::Rejected {
        code: "invalid_amount".into(),
        message: format!("{s:?} is not an amount"),
        field: Some(field.into()),
    })?;
    Ok(d.normalize().to_string())
}

pub fn waybill(req: &BookingRequest, a: &NaqelAccount, now: OffsetDateTime) -> Result<String, CarrierError> {
    let c = &req.consignee;
    let city = city_code(&c.city, a.city_codes.as_deref()).ok_or_else(|| CarrierError::Rejected {
        code: "city_code".into(),
        message: format!("Naqel has no city code for {:?}: add it to the account's city_codes (Name=CODE)", c.city),
        field: Some("consignee.city".into()),
    })?;
    let (billing, cod) = match &req.cod {
        Some(cod) if cod.currency == "SAR" => ("5", amount(&cod.amount, "cod")?),
        Some(cod) => {
            return Err(CarrierError::Rejected {
                code: "cod_currency".into(),
                message: format!("Naqel collects cash in SAR through this API, not {}", cod.currency),
                field: Some("cod".into()),
            });
        }
        None => ("1", "0".into()),
    };
    let grams: i64 = req.pieces.iter().sum();
    let kg = format!("{}.{:03}", grams / 1000, grams % 1000);
    let declared = amount(&req.declared_value.amount, "declared_value")?;
    let goods: Vec<&str> = req.items.iter().map(|i| i.description.as_str()).collect();
    let address = [Some(c.line1.as_str()), c.line2.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(", ");
    let date = format!("{}-{:02}-{:02}", now.year(), now.month() as u8, now.day());
    Ok(format!(
        "<_ManifestShipmentDetails>{}<ConsigneeInfo>{}{}{}{}{}{}{}</ConsigneeInfo><_CommercialInvoice>{}{}{}{}{}{}</_CommercialInvoice>{}{}{}{}{}{}{}{}{}{}{}{}{}{}{}</_ManifestShipmentDetails>",
        client_info("ClientInfo", a),
        el("ConsigneeName", &c.name),
        el("Email", c.email.as_deref().unwrap_or("")),
        el("Mobile", c.phone.as_deref().unwrap_or("")),
        el("PhoneNumber", c.phone.as_deref().unwrap_or("")),
        el("Address", &address),
        el("CountryCode", &country(&c.country)),
        el("CityCode", &city),
        el("RefNo", &req.idempotency_key),
        el("InvoiceNo", &req.reference),
        el("InvoiceDate", &date),
        el("Consignee", &c.name),
        el("TotalCost", &declared),
        el("CurrencyCode", &req.declared_value.currency),
        el("CurrenyID", "1"),
        el("BillingType", billing),
        el("PicesCount", &req.pieces.len().max(1).to_string()),
        el("Weight", &kg),
        el("CODCharge", &cod),
        el("CreateBooking", "false"),
        el("isRTO", "false"),
        el("GeneratePiecesBarCodes", "false"),
        el("LoadTypeID", "36"),
        el("DeclareValue", &declared),
        el("GoodDesc", &goods.join(", ").chars().take(100).collect::<String>()),
        el("RefNo", &req.idempotency_key),
        el("InsuredValue", "0"),
        el("GoodsVATAmount", "0"),
        el("IsCustomDutyPayByConsignee", if req.incoterm.eq_ignore_ascii_case("DDP") { "false" } else { "true" }),
    ))
}

/// The `{method}Result` of a reply, after faults and HTTP errors.
pub fn read(method: &str, status: u16, retry_after: Option<u64>, body: &[u8]) -> Result<Element, CarrierError> {
    // ASMX answers a SOAP fault with HTTP 500: read it before the status says "outage".
    if let Ok(doc) = parse(body)
        && let Some(fault) = doc.find("Fault")
    {
        let code = fault.text_of("faultcode").unwrap_or("soap:Server");
        let message = fault.text_of("faultstring").unwrap_or("Naqel answered a SOAP fault").to_owned();
        return Err(if code.ends_with("Client") {
            CarrierError::Rejected { code: "soap_fault".into(), message, field: None }
        } else {
            CarrierError::Unavailable(format!("Naqel's service failed: {message}"))
        });
    }
    if let Some(e) = http_error("Naqel", status, retry_after, body) {
        return Err(e);
    }
    if !(200..=299).contains(&status) {
        return Err(CarrierError::Rejected { code: status.to_string(), message: excerpt(body), field: None });
    }
    let doc = parse(body)?;
    doc.find(&format!("{method}Result"))
        .cloned()
        .ok_or_else(|| CarrierError::Malformed(format!("Naqel's reply has no {method}Result: {}", excerpt(body))))
}

/// A `Result` with `HasError` true as an error: refused credentials by their message, else a refusal.
fn refusal(result: &Element) -> Option<CarrierError> {
    if !result.text_of("HasError").is_some_and(|h| h.eq_ignore_ascii_case("true")) {
        return None;
    }
    let message = result.text_of("Message").unwrap_or("Naqel refused the request").to_owned();
    let lower = message.to_lowercase();
    if lower.contains("password") || lower.contains("client id") || lower.contains("clientid") {
        return Some(CarrierError::Unauthorized);
    }
    Some(CarrierError::Rejected { code: "has_error".into(), message, field: None })
}

pub fn result_ok(result: &Element) -> Result<(), CarrierError> {
    refusal(result).map_or(Ok(()), Err)
}

/// The waybill a `CreateWaybill` made, or the one Naqel already holds for our `RefNo`.
pub fn created_waybill(result: &Element) -> Result<String, CarrierError> {
    if let Some(e) = refusal(result) {
        let message = result.text_of("Message").unwrap_or("");
        if message.contains("already uploaded") {
            let held: String = message.rsplit(':').next().unwrap_or("").trim().chars().take(20).collect();
            if !held.is_empty() && held.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(held);
            }
        }
        return Err(e);
    }
    result
        .text_of("WaybillNo")
        .filter(|w| *w != "0" && w.bytes().all(|b| b.is_ascii_digit()) && w.len() <= 20)
        .map(str::to_owned)
        .ok_or_else(|| CarrierError::Malformed("Naqel's result has no waybill number".into()))
}

/// The label PDF of a sticker reply, as base64 (checked to decode to a PDF).
pub fn sticker(result: &Element) -> Result<String, CarrierError> {
    use base64::Engine as _;
    let b64: String = result.text.split_whitespace().collect();
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(&b64)
        .map_err(|_| CarrierError::Malformed("Naqel's sticker is not base64".into()))?;
    if !pdf.starts_with(b"%PDF-") {
        return Err(CarrierError::Malformed("Naqel's sticker is not a PDF".into()));
    }
    Ok(b64)
}

/// Naqel's `Date`: Saudi time (UTC+3) unless it carries its own offset.
fn date(s: &str) -> Result<OffsetDateTime, CarrierError> {
    if let Ok(t) = crate::carriers::zoned_time(s, "Date") {
        return Ok(t);
    }
    let fmt =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
    let local = PrimitiveDateTime::parse(s.trim(), &fmt)
        .map_err(|_| CarrierError::Malformed(format!("Date {s:?} is not a time")))?;
    Ok(local.assume_offset(UtcOffset::from_hms(3, 0, 0).unwrap_or(UtcOffset::UTC)))
}

pub fn events(waybill: &str, result: &Element) -> Result<Vec<CarrierEvent>, CarrierError> {
    let mut out = Vec::new();
    for t in result.children_named("Tracking") {
        if t.text_of("HasError").is_some_and(|h| h.eq_ignore_ascii_case("true")) || t.text_of("ErrorMessage").is_some()
        {
            let message = t.text_of("ErrorMessage").unwrap_or("Naqel has no tracking for this waybill").to_owned();
            return Err(CarrierError::Rejected { code: "not_found".into(), message, field: None });
        }
        let code =
            t.text_of("EventCode").ok_or_else(|| CarrierError::Malformed("a Naqel record without EventCode".into()))?;
        let at = t.text_of("Date").ok_or_else(|| CarrierError::Malformed("a Naqel record without Date".into()))?;
        out.push(CarrierEvent {
            tracking_number: waybill.to_owned(),
            code: code.chars().take(64).collect(),
            description: t.text_of("Activity").unwrap_or("").to_owned(),
            location: t.text_of("HubCode").map(str::to_owned),
            at: date(at)?,
        });
    }
    out.sort_by_key(|e| e.at);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cities_map_from_the_account_the_built_in_list_or_a_code() {
        assert_eq!(city_code("Riyadh", None).as_deref(), Some("RUH"));
        assert_eq!(city_code(" jeddah ", None).as_deref(), Some("JED"));
        assert_eq!(city_code("Abha", Some("Tabuk=TUU; Abha=AHB")).as_deref(), Some("AHB"));
        assert_eq!(city_code("TIF", None).as_deref(), Some("TIF"));
        assert_eq!(city_code("Taif", None), None);
    }

    #[test]
    fn a_repeated_ref_no_answers_the_waybill_naqel_already_holds() {
        let r = parse(b"<R><HasError>true</HasError><Message>This waybill with RefNo shp_1 already uploaded to our system, please check this waybill no :31234567</Message></R>").unwrap();
        assert_eq!(created_waybill(&r).unwrap(), "31234567");
        let r = parse(b"<R><HasError>true</HasError><Message>Wrong client id or password</Message></R>").unwrap();
        assert_eq!(created_waybill(&r), Err(CarrierError::Unauthorized));
    }
}
