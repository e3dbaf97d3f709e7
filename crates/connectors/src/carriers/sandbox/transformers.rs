//! The sandbox carrier's wire shapes and their conversions.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::carriers::{
    Amount, Booking, BookingRequest, CarrierError, CarrierEvent, CarrierRate, NdrAction, Party, RateRequest,
};

#[derive(Serialize)]
pub struct WireAmount<'a> {
    amount: &'a str,
    currency: &'a str,
}

#[derive(Serialize)]
pub struct WireParty<'a> {
    name: &'a str,
    phone: Option<&'a str>,
    line1: &'a str,
    line2: Option<&'a str>,
    city: &'a str,
    region: Option<&'a str>,
    postal_code: Option<&'a str>,
    country: &'a str,
}

impl<'a> From<&'a Party> for WireParty<'a> {
    fn from(p: &'a Party) -> Self {
        WireParty {
            name: &p.name,
            phone: p.phone.as_deref(),
            line1: &p.line1,
            line2: p.line2.as_deref(),
            city: &p.city,
            region: p.region.as_deref(),
            postal_code: p.postal_code.as_deref(),
            country: &p.country,
        }
    }
}

#[derive(Serialize)]
pub struct WirePiece {
    weight_g: i64,
}

#[derive(Serialize)]
pub struct CreateShipment<'a> {
    reference: &'a str,
    service: &'a str,
    shipper: WireParty<'a>,
    consignee: WireParty<'a>,
    pieces: Vec<WirePiece>,
    cod: Option<WireAmount<'a>>,
    declared_value: WireAmount<'a>,
    incoterm: &'a str,
}

impl<'a> From<&'a BookingRequest> for CreateShipment<'a> {
    fn from(r: &'a BookingRequest) -> Self {
        CreateShipment {
            reference: &r.reference,
            service: &r.service,
            shipper: (&r.shipper).into(),
            consignee: (&r.consignee).into(),
            pieces: r.pieces.iter().map(|w| WirePiece { weight_g: *w }).collect(),
            cod: r.cod.as_ref().map(|c| WireAmount { amount: &c.amount, currency: &c.currency }),
            declared_value: WireAmount { amount: &r.declared_value.amount, currency: &r.declared_value.currency },
            incoterm: &r.incoterm,
        }
    }
}

#[derive(Deserialize, Serialize)]
pub struct WireLabel {
    pub sort_code: String,
    pub route: String,
    pub service: String,
    pub barcode: String,
}

#[derive(Deserialize)]
pub struct ShipmentReply {
    pub tracking_number: String,
    pub status: String,
    pub label: WireLabel,
}

impl TryFrom<ShipmentReply> for Booking {
    type Error = CarrierError;
    fn try_from(r: ShipmentReply) -> Result<Booking, CarrierError> {
        if r.tracking_number.trim().is_empty() || r.label.barcode != r.tracking_number {
            return Err(CarrierError::Malformed(format!(
                "tracking number {:?} and barcode {:?} disagree",
                r.tracking_number, r.label.barcode
            )));
        }
        let _ = r.status;
        Ok(Booking {
            carrier_ref: r.tracking_number.clone(),
            tracking_number: r.tracking_number,
            sort_code: Some(r.label.sort_code.clone()),
            label_data: serde_json::to_value(&r.label).map_err(|e| CarrierError::Malformed(e.to_string()))?,
        })
    }
}

#[derive(Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub field: Option<String>,
}

#[derive(Deserialize)]
pub struct ErrorReply {
    pub error: ErrorBody,
}

#[derive(Deserialize)]
pub struct WireEvent {
    code: String,
    description: String,
    #[serde(default)]
    location: Option<String>,
    at: String,
}

fn events(tracking: &str, evs: Vec<WireEvent>) -> Result<Vec<CarrierEvent>, CarrierError> {
    evs.into_iter()
        .enumerate()
        .map(|(i, e)| {
            let at = OffsetDateTime::parse(&e.at, &Rfc3339)
                .map_err(|_| CarrierError::Malformed(format!("events[{i}].at: {:?} is not an RFC 3339 time", e.at)))?;
            Ok(CarrierEvent {
                tracking_number: tracking.to_owned(),
                code: e.code,
                description: e.description,
                location: e.location,
                at,
            })
        })
        .collect()
}

#[derive(Deserialize)]
pub struct EventsReply {
    tracking_number: String,
    events: Vec<WireEvent>,
}

impl EventsReply {
    pub fn into_events(self) -> Result<Vec<CarrierEvent>, CarrierError> {
        events(&self.tracking_number, self.events)
    }
}

/// A webhook push: one parcel's new events.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Push {
    tracking_number: String,
    #[allow(dead_code)]
    reference: String,
    events: Vec<WireEvent>,
}

impl Push {
    pub fn into_events(self) -> Result<Vec<CarrierEvent>, CarrierError> {
        events(&self.tracking_number, self.events)
    }
}

#[derive(Serialize)]
pub struct RateDestination<'a> {
    country: &'a str,
    city: &'a str,
    postal_code: Option<&'a str>,
}

#[derive(Serialize)]
pub struct RatePiece {
    weight_g: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    length_cm: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width_cm: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height_cm: Option<i64>,
}

#[derive(Serialize)]
pub struct RateQuery<'a> {
    service: &'a str,
    destination: RateDestination<'a>,
    pieces: Vec<RatePiece>,
    cod: Option<WireAmount<'a>>,
}

/// Millimetres up to whole centimetres, as the sandbox measures.
fn cm(mm: i64) -> i64 {
    (mm + 9) / 10
}

impl<'a> From<&'a RateRequest> for RateQuery<'a> {
    fn from(r: &'a RateRequest) -> Self {
        RateQuery {
            service: &r.service,
            destination: RateDestination {
                country: &r.destination.country,
                city: &r.destination.city,
                postal_code: r.destination.postal_code.as_deref(),
            },
            pieces: r
                .pieces
                .iter()
                .map(|p| RatePiece {
                    weight_g: p.weight_g,
                    length_cm: p.dims_mm.map(|d| cm(d[0])),
                    width_cm: p.dims_mm.map(|d| cm(d[1])),
                    height_cm: p.dims_mm.map(|d| cm(d[2])),
                })
                .collect(),
            cod: r.cod.as_ref().map(|c| WireAmount { amount: &c.amount, currency: &c.currency }),
        }
    }
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Charge {
    name: String,
    amount: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct RateReply {
    currency: String,
    billable_kg: i64,
    charges: Vec<Charge>,
    total: String,
    transit_days: i64,
}

impl TryFrom<RateReply> for CarrierRate {
    type Error = CarrierError;
    fn try_from(r: RateReply) -> Result<Self, CarrierError> {
        if r.currency.len() != 3 || r.total.parse::<f64>().is_err() || r.billable_kg < 0 {
            return Err(CarrierError::Malformed(format!("rate reply with total {:?} {:?}", r.total, r.currency)));
        }
        let amount = |a: String| Amount { amount: a, currency: r.currency.clone() };
        Ok(CarrierRate {
            charges: r.charges.into_iter().map(|c| (c.name, amount(c.amount))).collect(),
            total: amount(r.total.clone()),
            billable_weight_g: Some(r.billable_kg * 1000),
            transit_days: u32::try_from(r.transit_days).ok(),
        })
    }
}

#[derive(Serialize)]
pub struct NdrBody<'a> {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<WireParty<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

impl<'a> From<&'a NdrAction> for NdrBody<'a> {
    fn from(a: &'a NdrAction) -> Self {
        let none = NdrBody { action: "return", address: None, phone: None, preferred_date: None, note: None };
        match a {
            NdrAction::Return => none,
            NdrAction::ChangeAddress(p) => NdrBody { action: "change_address", address: Some(p.into()), ..none },
            NdrAction::Reattempt { phone, day, note } => NdrBody {
                action: "reattempt",
                phone: phone.as_deref(),
                preferred_date: day.map(|d| d.to_string()),
                note: note.as_deref(),
                ..none
            },
        }
    }
}

#[derive(Serialize)]
pub struct HookSpec<'a> {
    pub url: &'a str,
    pub secret: &'a str,
}

/// The sandbox's clock control (`POST /v1/_clock`).
#[derive(Serialize)]
pub struct ClockSpec {
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    pub scale: f64,
}

#[derive(Deserialize)]
pub struct ClockReply {
    #[allow(dead_code)]
    pub scale: f64,
}

#[derive(Deserialize)]
pub struct HookReply {
    #[allow(dead_code)]
    pub id: i64,
}

/// `POST /v1/bags`
#[derive(Serialize)]
pub struct WireBag<'a> {
    pub reference: &'a str,
    pub destination_country: &'a str,
    pub tracking_numbers: &'a [String],
    pub weight_g: i64,
}

impl<'a> From<&'a super::super::BagRequest> for WireBag<'a> {
    fn from(b: &'a super::super::BagRequest) -> Self {
        WireBag {
            reference: &b.reference,
            destination_country: &b.destination_country,
            tracking_numbers: &b.tracking_numbers,
            weight_g: b.weight_g,
        }
    }
}

#[derive(Deserialize)]
pub struct BagReply {
    pub bag_number: String,
}

/// `POST /v1/manifests`
#[derive(Serialize)]
pub struct WireManifest<'a> {
    pub reference: &'a str,
    pub bag_numbers: &'a [String],
}

#[derive(Deserialize)]
pub struct ManifestReply {
    pub manifest_number: String,
    pub parcels: i64,
    pub weight_g: i64,
}
