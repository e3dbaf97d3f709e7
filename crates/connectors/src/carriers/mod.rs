//! Carriers behind small capabilities: live rates, booking (with cancel), tracking by pull, and webhook parsing. A
//! carrier declares the ones it has; [`Carrier`] picks the implementation for a channel's carrier name.

pub mod aftership;
pub mod aramex;
pub mod flash;
pub mod fourpx;
pub mod jnt;
pub mod naqel;
pub mod ninjavan;
pub mod sandbox;
pub mod smsa;
pub mod track17;
pub mod xml;
pub mod yanwen;
pub mod yunexpress;

use std::future::Future;

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use aftership::AfterShip;
pub use aramex::Aramex;
pub use flash::Flash;
pub use fourpx::FourPx;
pub use jnt::Jnt;
pub use naqel::Naqel;
pub use ninjavan::NinjaVan;
pub use sandbox::Sandbox;
pub use smsa::Smsa;
pub use track17::Track17;
pub use yanwen::Yanwen;
pub use yunexpress::YunExpress;

/// A postal party as carriers want it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
}

/// One line of the customs declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomsItem {
    pub description: String,
    pub sku: String,
    pub hs_code: Option<String>,
    pub origin_country: Option<String>,
    pub quantity: i64,
    /// Decimal string in `currency`.
    pub unit_value: String,
    pub weight_g: i64,
}

/// An amount as carriers take it: a decimal string and an ISO 4217 code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amount {
    pub amount: String,
    pub currency: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookingRequest {
    /// Stable across retries: the carrier uses it to return the booking it already made.
    pub idempotency_key: String,
    pub reference: String,
    pub service: String,
    pub shipper: Party,
    pub consignee: Party,
    /// Weight of each piece, grams.
    pub pieces: Vec<i64>,
    pub cod: Option<Amount>,
    pub declared_value: Amount,
    pub incoterm: String,
    pub items: Vec<CustomsItem>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Booking {
    pub tracking_number: String,
    /// The carrier's own id for the shipment, for cancel and support calls.
    pub carrier_ref: String,
    pub sort_code: Option<String>,
    /// What the carrier returned about the label, kept verbatim to reprint and audit.
    pub label_data: serde_json::Value,
}

/// One parcel of a rate request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub weight_g: i64,
    /// Length, width, height in millimetres, when measured.
    pub dims_mm: Option<[i64; 3]>,
}

/// What a carrier needs to price a shipment before it exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateRequest {
    pub service: String,
    pub origin: Party,
    pub destination: Party,
    pub pieces: Vec<Piece>,
    pub cod: Option<Amount>,
    /// The currency the price is wanted in; the carrier may answer in another.
    pub currency: String,
}

/// The carrier's own price: what its invoice will say, to compare with the rate card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierRate {
    pub total: Amount,
    /// Named parts of the total as the carrier lists them.
    pub charges: Vec<(String, Amount)>,
    pub billable_weight_g: Option<i64>,
    pub transit_days: Option<u32>,
}

/// A scan as the carrier reports it, before normalisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierEvent {
    pub tracking_number: String,
    pub code: String,
    pub description: String,
    pub location: Option<String>,
    pub at: time::OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarrierError {
    /// No answer in time. The carrier may have acted; retry with the same idempotency key.
    #[error("the carrier did not answer within {0} s")]
    Timeout(u64),
    /// The carrier is down or failing (5xx, connection refused): retry later.
    #[error("the carrier is unavailable: {0}")]
    Unavailable(String),
    /// The carrier refused the request; someone must fix the data (the field when the carrier names it).
    #[error("the carrier refused the shipment: {message}")]
    Rejected { code: String, message: String, field: Option<String> },
    /// The carrier answered something we cannot read. It may have acted; retry with the same key.
    #[error("the carrier's reply could not be read: {0}")]
    Malformed(String),
    #[error("the carrier's credentials were refused")]
    Unauthorized,
    /// The carrier asked us to slow down (seconds to wait when it said): nothing was done; retry later.
    #[error("the carrier limits how often it is called; try again later")]
    RateLimited(Option<u64>),
    #[error("{0}")]
    Config(String),
}

impl CarrierError {
    /// Whether trying again (with the same idempotency key) may succeed without anyone changing anything.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            CarrierError::Timeout(_)
                | CarrierError::Unavailable(_)
                | CarrierError::Malformed(_)
                | CarrierError::RateLimited(_)
        )
    }
}

pub trait RateQuoter: Send + Sync {
    fn rate(&self, req: &RateRequest) -> impl Future<Output = Result<CarrierRate, CarrierError>> + Send;
}

pub trait ShipmentBooker: Send + Sync {
    fn book(&self, req: &BookingRequest) -> impl Future<Output = Result<Booking, CarrierError>> + Send;
    /// Voids a booked label. Carriers refuse once the parcel is picked up.
    fn cancel(&self, booking: &Booking) -> impl Future<Output = Result<(), CarrierError>> + Send;
}

pub trait TrackingSource: Send + Sync {
    fn track(&self, tracking_number: &str) -> impl Future<Output = Result<Vec<CarrierEvent>, CarrierError>> + Send;
}

/// What to do after a failed delivery (a non-delivery report, NDR).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NdrAction {
    /// Try again, optionally with a phone to call and a day the buyer will be in.
    Reattempt {
        phone: Option<String>,
        day: Option<time::Date>,
        note: Option<String>,
    },
    ChangeAddress(Party),
    Return,
}

/// Sends delivery instructions after a failed attempt.
pub trait DeliveryInstructions: Send + Sync {
    fn instruct(
        &self,
        tracking_number: &str,
        action: &NdrAction,
    ) -> impl Future<Output = Result<(), CarrierError>> + Send;
}

/// The settlement files a carrier publishes, as bytes for a settlement profile to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettlementReport {
    /// The COD cash collected and what is remitted of it.
    CodRemittance,
    /// The freight billed for the parcels booked.
    FreightInvoice,
}

pub trait SettlementReports: Send + Sync {
    /// The report for events in `[from, to)`.
    fn settlement_report(
        &self,
        report: SettlementReport,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<u8>, CarrierError>> + Send;
}

/// A bag of booked parcels for one destination, registered with the carrier before its pickup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BagRequest {
    /// Our bag's code: the carrier answers the same bag when it is sent again.
    pub reference: String,
    pub destination_country: String,
    pub tracking_numbers: Vec<String>,
    pub weight_g: i64,
}

/// A pickup's manifest: the carrier's numbers of the bags it takes (where it takes bags), and the parcels in
/// them (for a carrier whose pickup lists waybills).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestRequest {
    /// Our pickup's id: the carrier answers the same manifest when it is sent again.
    pub reference: String,
    pub bag_numbers: Vec<String>,
    pub tracking_numbers: Vec<String>,
    pub weight_g: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierManifest {
    pub number: String,
    pub parcels: i64,
    pub weight_g: i64,
}

/// Bags and manifests sent to the carrier ahead of its pickup, where its API takes them.
pub trait Manifests: Send + Sync {
    /// Registers a bag; returns the carrier's bag number.
    fn register_bag(&self, req: &BagRequest) -> impl Future<Output = Result<String, CarrierError>> + Send;
    fn submit_manifest(
        &self,
        req: &ManifestRequest,
    ) -> impl Future<Output = Result<CarrierManifest, CarrierError>> + Send;
}

/// Turns a verified push into events; `Err` when the body is not the carrier's event shape.
pub trait WebhookParser {
    /// The request header the carrier puts its signature in.
    fn signature_header(&self) -> &'static str;
    fn verify(&self, secret: &str, body: &[u8], signature: &str) -> bool;
    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<CarrierEvent>, CarrierError>;
}

/// A decimal string as a JSON number, refused (naming `field`) when it is not a plain decimal.
pub(crate) fn decimal_number(s: &str, field: &str) -> Result<serde_json::Value, CarrierError> {
    let d: rust_decimal::Decimal = s.trim().parse().map_err(|_| CarrierError::Rejected {
        code: "invalid_amount".into(),
        message: format!("{s:?} is not an amount"),
        field: Some(field.into()),
    })?;
    serde_json::from_str(&d.normalize().to_string()).map_err(|e| CarrierError::Malformed(e.to_string()))
}

/// The start of a reply body, on one line, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The error an HTTP status means whatever the carrier's body says: refused credentials, a rate limit, an
/// outage. None for the statuses whose body the carrier's own reader must read.
pub(crate) fn http_error(carrier: &str, status: u16, retry_after: Option<u64>, body: &[u8]) -> Option<CarrierError> {
    match status {
        401 | 403 => Some(CarrierError::Unauthorized),
        429 => Some(CarrierError::RateLimited(retry_after)),
        500..=599 => Some(CarrierError::Unavailable(format!("{carrier} answered HTTP {status}: {}", excerpt(body)))),
        _ => None,
    }
}

/// A time with its zone, as carriers write it (RFC 3339, or ISO 8601 with a compact offset such as `+0800`);
/// `what` names the field in the error.
pub(crate) fn zoned_time(s: &str, what: &str) -> Result<time::OffsetDateTime, CarrierError> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    time::OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(s, &Iso8601::DEFAULT))
        .map_err(|_| CarrierError::Malformed(format!("{what} {s:?} is not a time with its zone")))
}

/// A UTC offset as carriers write one beside a local time: `+8`, `-3`, `+05:30`, `GMT+08:00`, `UTC+7`.
pub(crate) fn utc_offset(s: &str) -> Option<time::UtcOffset> {
    let s = s.trim().trim_start_matches("GMT").trim_start_matches("UTC");
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1i8, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => (1, s),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    time::UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

/// Whether `signature` is the base64 HMAC-SHA256 of `body` under `secret` (Ninja Van's and AfterShip's pushes).
pub(crate) fn verify_base64_hmac(secret: &str, body: &[u8], signature: &str) -> bool {
    use base64::Engine as _;
    let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Maps transport failures of reqwest to what callers act on.
pub(crate) fn transport(e: reqwest::Error, timeout_s: u64) -> CarrierError {
    if e.is_timeout() {
        CarrierError::Timeout(timeout_s)
    } else if e.is_decode() || e.is_body() {
        CarrierError::Malformed(e.to_string())
    } else {
        CarrierError::Unavailable(e.to_string())
    }
}

/// The company behind a carrier code, as a shop shows it to the buyer; the code itself for a carrier
/// codflow has no connector for.
pub fn company(code: &str) -> &str {
    match code {
        aramex::CODE => aramex::COMPANY,
        fourpx::CODE => fourpx::COMPANY,
        flash::CODE => flash::COMPANY,
        jnt::CODE => jnt::COMPANY,
        naqel::CODE => naqel::COMPANY,
        yanwen::CODE => yanwen::COMPANY,
        yunexpress::CODE => yunexpress::COMPANY,
        ninjavan::CODE => ninjavan::COMPANY,
        smsa::CODE => smsa::COMPANY,
        track17::CODE => track17::COMPANY,
        aftership::CODE => aftership::COMPANY,
        sandbox::CODE => sandbox::COMPANY,
        other => other,
    }
}

fn tracking_only() -> CarrierError {
    CarrierError::Config("a tracking source only follows parcels; book them with their carrier".into())
}

/// The carrier of a channel, by name.
#[derive(Clone)]
pub enum Carrier {
    Sandbox(Sandbox),
    Aramex(Aramex),
    FourPx(FourPx),
    NinjaVan(NinjaVan),
    Smsa(Smsa),
    Flash(Flash),
    YunExpress(YunExpress),
    Jnt(Jnt),
    Naqel(Naqel),
    Yanwen(Yanwen),
    /// A tracking source only: it follows parcels booked elsewhere.
    Track17(Track17),
    AfterShip(AfterShip),
}

impl Carrier {
    /// Whether the carrier returns the booking it already made when a request is repeated with the same
    /// idempotency key. One that does not could book twice on a retry after an unclear failure, so such
    /// failures wait for a person.
    pub fn books_idempotently(&self) -> bool {
        match self {
            Carrier::Sandbox(_) => true,
            // Aramex's CreateShipments takes no idempotency key.
            Carrier::Aramex(_) => false,
            // Our shipment id is 4PX's unique ref_no; a repeat finds the order made before.
            Carrier::FourPx(_) => true,
            // No idempotency key: a repeat is refused as a duplicate, so an unclear failure waits for a person.
            Carrier::NinjaVan(_) => false,
            // The connector looks our shipment id up as SMSA's reference before booking.
            Carrier::Smsa(_) => true,
            // No idempotency key: a repeated outTradeNo is refused, so an unclear failure waits for a person.
            Carrier::Flash(_) => false,
            // Our shipment id is its CustomerOrderNumber, looked up before booking.
            Carrier::YunExpress(_) => true,
            // Our shipment id is its txlogisticId, looked up before booking.
            Carrier::Jnt(_) => true,
            // A repeated RefNo (our shipment id) is answered with the waybill Naqel already holds.
            Carrier::Naqel(_) => true,
            // Our shipment id is its orderNumber, listed (getlist) before booking.
            Carrier::Yanwen(_) => true,
            Carrier::Track17(_) | Carrier::AfterShip(_) => false,
        }
    }

    /// Whether the carrier hears of a pickup through its API ([`Manifests::submit_manifest`]).
    pub fn takes_manifests(&self) -> bool {
        match self {
            Carrier::Sandbox(_) => true,
            // CreatePickup: a collection of the waybills already booked, at the account's pickup address.
            Carrier::Aramex(_) => true,
            // Bags grouped for collection, then a pickup booked for the day.
            Carrier::FourPx(_) => true,
            // Ninja Van collects from the seller on its own pickup; no bag or manifest call for shippers.
            Carrier::NinjaVan(_) => false,
            Carrier::Smsa(_) => false,
            Carrier::Flash(_) => false,
            Carrier::YunExpress(_) => false,
            // J&T collects from the seller on its own pickup; the open platform has no bag call.
            Carrier::Jnt(_) => false,
            // Naqel's pickups are booked apart (CreateBooking); no bag or manifest call.
            Carrier::Naqel(_) => false,
            Carrier::Yanwen(_) => false,
            Carrier::Track17(_) | Carrier::AfterShip(_) => false,
        }
    }

    /// The currencies the carrier takes customs values in, when it does not take any: the booking converts a
    /// parcel's declared value into the first of them.
    pub fn declared_currencies(&self) -> Option<&'static [&'static str]> {
        match self {
            Carrier::Yanwen(_) => Some(&yanwen::transformers::CURRENCIES),
            _ => None,
        }
    }

    /// Whether the carrier registers bags before the pickup ([`Manifests::register_bag`]); one that takes
    /// manifests but not bags is told the parcels themselves.
    pub fn takes_bags(&self) -> bool {
        matches!(self, Carrier::Sandbox(_) | Carrier::FourPx(_))
    }

    /// How the carrier's pushed events are verified and read, when it pushes any.
    pub fn webhooks(&self) -> Option<&dyn WebhookParser> {
        match self {
            Carrier::Sandbox(c) => Some(c),
            Carrier::NinjaVan(c) => Some(c),
            Carrier::Track17(c) => Some(c),
            Carrier::AfterShip(c) => Some(c),
            Carrier::Jnt(c) => Some(c),
            Carrier::Naqel(_)
            | Carrier::Yanwen(_)
            | Carrier::Aramex(_)
            | Carrier::FourPx(_)
            | Carrier::Smsa(_)
            | Carrier::Flash(_)
            | Carrier::YunExpress(_) => None,
        }
    }
}

impl RateQuoter for Carrier {
    async fn rate(&self, req: &RateRequest) -> Result<CarrierRate, CarrierError> {
        match self {
            Carrier::Sandbox(c) => c.rate(req).await,
            Carrier::Aramex(c) => c.rate(req).await,
            Carrier::FourPx(c) => c.rate(req).await,
            Carrier::NinjaVan(_) => {
                let _ = req;
                Err(CarrierError::Config("Ninja Van publishes no rates API for shippers; use the rate card".into()))
            }
            Carrier::Smsa(_) => Err(CarrierError::Config("SMSA has no rates API; use the rate card".into())),
            Carrier::Flash(c) => c.rate(req).await,
            Carrier::YunExpress(c) => c.rate(req).await,
            Carrier::Jnt(_) => {
                Err(CarrierError::Config("J&T's open platform has no rates call; use the rate card".into()))
            }
            Carrier::Naqel(_) => {
                Err(CarrierError::Config("Naqel's shipping service has no rates call; use the rate card".into()))
            }
            Carrier::Yanwen(_) => {
                Err(CarrierError::Config("Yanwen's rates are not read through codflow; use the rate card".into()))
            }
            Carrier::Track17(_) | Carrier::AfterShip(_) => Err(tracking_only()),
        }
    }
}

impl ShipmentBooker for Carrier {
    async fn book(&self, req: &BookingRequest) -> Result<Booking, CarrierError> {
        match self {
            Carrier::Sandbox(c) => c.book(req).await,
            Carrier::Aramex(c) => c.book(req).await,
            Carrier::FourPx(c) => c.book(req).await,
            Carrier::NinjaVan(c) => c.book(req).await,
            Carrier::Smsa(c) => c.book(req).await,
            Carrier::Flash(c) => c.book(req).await,
            Carrier::YunExpress(c) => c.book(req).await,
            Carrier::Jnt(c) => c.book(req).await,
            Carrier::Naqel(c) => c.book(req).await,
            Carrier::Yanwen(c) => c.book(req).await,
            Carrier::Track17(_) | Carrier::AfterShip(_) => Err(tracking_only()),
        }
    }
    async fn cancel(&self, booking: &Booking) -> Result<(), CarrierError> {
        match self {
            Carrier::Sandbox(c) => c.cancel(booking).await,
            Carrier::Aramex(c) => c.cancel(booking).await,
            Carrier::FourPx(c) => c.cancel(booking).await,
            Carrier::NinjaVan(c) => c.cancel(booking).await,
            Carrier::Smsa(c) => c.cancel(booking).await,
            Carrier::Flash(c) => c.cancel(booking).await,
            Carrier::YunExpress(c) => c.cancel(booking).await,
            Carrier::Jnt(c) => c.cancel(booking).await,
            Carrier::Naqel(c) => c.cancel(booking).await,
            Carrier::Yanwen(c) => c.cancel(booking).await,
            Carrier::Track17(_) | Carrier::AfterShip(_) => Err(tracking_only()),
        }
    }
}

impl DeliveryInstructions for Carrier {
    async fn instruct(&self, tracking_number: &str, action: &NdrAction) -> Result<(), CarrierError> {
        match self {
            Carrier::Sandbox(c) => c.instruct(tracking_number, action).await,
            Carrier::Aramex(_) => Err(CarrierError::Config(
                "Aramex takes delivery instructions through its portal; record them there".into(),
            )),
            Carrier::FourPx(_) => Err(CarrierError::Config(
                "4PX hands delivery to a last-mile carrier; give instructions through 4PX's portal".into(),
            )),
            Carrier::NinjaVan(_) => Err(CarrierError::Config(
                "Ninja Van takes delivery instructions in its dashboard; record them there".into(),
            )),
            Carrier::Smsa(_) => {
                Err(CarrierError::Config("SMSA takes delivery instructions by phone or its portal".into()))
            }
            Carrier::Track17(_) | Carrier::AfterShip(_) => Err(tracking_only()),
            Carrier::Flash(_) => {
                Err(CarrierError::Config("Flash Express takes delivery instructions in its portal".into()))
            }
            Carrier::YunExpress(_) => Err(CarrierError::Config(
                "YunExpress hands delivery to a last-mile carrier; give instructions through YunExpress".into(),
            )),
            Carrier::Jnt(_) => {
                Err(CarrierError::Config("J&T Express takes delivery instructions in its VIP portal".into()))
            }
            Carrier::Naqel(_) => {
                Err(CarrierError::Config("Naqel takes delivery instructions by its call centre".into()))
            }
            Carrier::Yanwen(_) => Err(CarrierError::Config(
                "Yanwen hands delivery to a last-mile carrier; give instructions through Yanwen".into(),
            )),
        }
    }
}

impl TrackingSource for Carrier {
    async fn track(&self, tracking_number: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
        match self {
            Carrier::Sandbox(c) => c.track(tracking_number).await,
            Carrier::Aramex(c) => c.track(tracking_number).await,
            Carrier::FourPx(c) => c.track(tracking_number).await,
            Carrier::NinjaVan(c) => c.track(tracking_number).await,
            Carrier::Smsa(c) => c.track(tracking_number).await,
            Carrier::Flash(c) => c.track(tracking_number).await,
            Carrier::YunExpress(c) => c.track(tracking_number).await,
            Carrier::Jnt(c) => c.track(tracking_number).await,
            Carrier::Naqel(c) => c.track(tracking_number).await,
            Carrier::Yanwen(c) => c.track(tracking_number).await,
            Carrier::Track17(c) => c.track(tracking_number).await,
            Carrier::AfterShip(c) => c.track(tracking_number).await,
        }
    }
}

impl Manifests for Carrier {
    async fn register_bag(&self, req: &BagRequest) -> Result<String, CarrierError> {
        match self {
            Carrier::Sandbox(c) => c.register_bag(req).await,
            Carrier::Aramex(_) => Err(CarrierError::Config("Aramex takes no bags through its API".into())),
            Carrier::FourPx(c) => c.register_bag(req).await,
            Carrier::NinjaVan(_) => Err(CarrierError::Config("Ninja Van takes no bags through its API".into())),
            Carrier::Smsa(_) => Err(CarrierError::Config("SMSA takes no bags through its API".into())),
            Carrier::Flash(_) => Err(CarrierError::Config("Flash Express takes no bags through codflow".into())),
            Carrier::YunExpress(_) => Err(CarrierError::Config("YunExpress bags are not sent through codflow".into())),
            Carrier::Jnt(_) => Err(CarrierError::Config("J&T Express takes no bags through its open platform".into())),
            Carrier::Naqel(_) => Err(CarrierError::Config("Naqel takes no bags through its API".into())),
            Carrier::Yanwen(_) => Err(CarrierError::Config("Yanwen bags are not sent through codflow".into())),
            Carrier::Track17(_) | Carrier::AfterShip(_) => Err(tracking_only()),
        }
    }
    async fn submit_manifest(&self, req: &ManifestRequest) -> Result<CarrierManifest, CarrierError> {
        match self {
            Carrier::Sandbox(c) => c.submit_manifest(req).await,
            Carrier::Aramex(c) => c.submit_manifest(req).await,
            Carrier::FourPx(c) => c.submit_manifest(req).await,
            Carrier::NinjaVan(_) => Err(CarrierError::Config("Ninja Van takes no manifests through its API".into())),
            Carrier::Smsa(_) => Err(CarrierError::Config("SMSA takes no manifests through its API".into())),
            Carrier::Flash(_) => Err(CarrierError::Config("Flash Express takes no manifests through codflow".into())),
            Carrier::YunExpress(_) => {
                Err(CarrierError::Config("YunExpress manifests are not sent through codflow".into()))
            }
            Carrier::Jnt(_) => {
                Err(CarrierError::Config("J&T Express takes no manifests through its open platform".into()))
            }
            Carrier::Naqel(_) => Err(CarrierError::Config("Naqel takes no manifests through its API".into())),
            Carrier::Yanwen(_) => Err(CarrierError::Config("Yanwen manifests are not sent through codflow".into())),
            Carrier::Track17(_) | Carrier::AfterShip(_) => Err(tracking_only()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_as_carriers_write_them() {
        let h = |h: i8, m: i8| time::UtcOffset::from_hms(h, m, 0).ok();
        assert_eq!(utc_offset("GMT+08:00"), h(8, 0));
        assert_eq!(utc_offset("+7"), h(7, 0));
        assert_eq!(utc_offset("8"), h(8, 0));
        assert_eq!(utc_offset("-3"), h(-3, 0));
        assert_eq!(utc_offset("+5:30"), h(5, 30));
        assert_eq!(utc_offset("UTC-03:30"), h(-3, -30));
        assert_eq!(utc_offset("+99"), None);
        assert_eq!(utc_offset("Asia/Kuala_Lumpur"), None);
    }
}
