//! Aramex Shipping and Tracking JSON services, v1.0
//! (https://www.aramex.com/docs/default-source/resourses/resourcesdata/shipping-services-api-manual.pdf and
//! the Shipments Tracking API manual): `POST {base}/Shipping/Service_1_0.svc/json/CreateShipments` and
//! `POST {base}/Tracking/Service_1_0.svc/json/TrackShipments`, each carrying `ClientInfo` credentials; and the
//! Rate Calculator service, `POST {base}/RateCalculator/Service_1_0.svc/json/CalculateRate`. A pickup is
//! `Shipping/…/CreatePickup` with the booked waybills as `ExistingShipments` (the WSDL's `Pickup` type), undone by
//! `CancelPickup` with its GUID. Aramex publishes no call to void a waybill.
//! Aramex answers HTTP 200 with `HasErrors` and `Notifications` for refusals, so those are read first.
//!
//! Aramex has no idempotency key: the shipment id goes in `Reference1` and `Transaction.Reference1` so a
//! duplicate made by a retry after a timeout can be found and voided by the station; booking retries
//! against Aramex are therefore left to a person (see `retryable_bookings`).

pub mod transformers;

use std::time::Duration;

use super::{
    Booking, BookingRequest, CarrierError, CarrierEvent, CarrierManifest, CarrierRate, ManifestRequest, RateQuoter,
    RateRequest, ShipmentBooker, TrackingSource, excerpt, http_error, transport,
};
use transformers::{CancelPickupReply, ClientInfo, CreateReply, PickupReply, RateReply, TrackReply};

#[derive(Clone, Debug)]
pub struct AramexAccount {
    pub user_name: String,
    pub password: String,
    pub account_number: String,
    pub account_pin: String,
    pub account_entity: String,
    pub account_country_code: String,
    pub pickup: PickupPoint,
}

/// Where Aramex collects the account's parcels. A warehouse in codflow has no street address, so the account
/// (one per pickup point) carries it; without it pickups are refused before any call.
#[derive(Clone, Debug, Default)]
pub struct PickupPoint {
    pub contact: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub postcode: Option<String>,
}

/// The name channels, mappings and webhooks use for this carrier.
pub const CODE: &str = "aramex";
/// The company as buyers know it.
pub const COMPANY: &str = "Aramex";

#[derive(Clone)]
pub struct Aramex {
    client: reqwest::Client,
    base: String,
    account: AramexAccount,
    timeout_s: u64,
}

impl Aramex {
    /// `base` is up to `ShippingAPI.V2`, e.g. `https://ws.aramex.net/ShippingAPI.V2`.
    pub fn new(base: &str, account: AramexAccount, timeout: Duration) -> Result<Aramex, CarrierError> {
        reqwest::Url::parse(base).map_err(|e| CarrierError::Config(format!("Aramex url {base:?}: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CarrierError::Config(format!("HTTP client: {e}")))?;
        Ok(Aramex { client, base: base.trim_end_matches('/').to_owned(), account, timeout_s: timeout.as_secs().max(1) })
    }

    /// Aramex gives no idempotency: an ambiguous failure must not be retried blindly.
    pub fn retryable_bookings(&self) -> bool {
        false
    }

    fn info(&self) -> ClientInfo<'_> {
        ClientInfo::from(&self.account)
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, CarrierError> {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Accept", "application/json")
            .json(body)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status();
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        if let Some(e) = http_error(COMPANY, status.as_u16(), retry, &bytes) {
            return Err(e);
        }
        if !status.is_success() {
            return Err(CarrierError::Rejected {
                code: status.as_u16().to_string(),
                message: excerpt(&bytes),
                field: None,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| CarrierError::Malformed(e.to_string()))
    }
}

impl Aramex {
    /// Books a collection of a pickup's waybills; the manifest number is Aramex's pickup ID, and the GUID that
    /// cancels it is kept beside it (`ID/GUID`). Aramex takes no idempotency key, so the app sends a pickup once
    /// and a person retries a failed one.
    pub async fn submit_manifest(&self, req: &ManifestRequest) -> Result<CarrierManifest, CarrierError> {
        let now = time::OffsetDateTime::now_utc();
        let body = transformers::pickup_body(&self.info(), &self.account, req, now)?;
        let reply: PickupReply = self.call("/Shipping/Service_1_0.svc/json/CreatePickup", &body).await?;
        let (id, guid) = reply.into_pickup()?;
        Ok(CarrierManifest {
            number: format!("{id}/{guid}"),
            parcels: req.tracking_numbers.len() as i64,
            weight_g: req.weight_g,
        })
    }

    /// Cancels a pickup booked by [`Aramex::submit_manifest`], by the number it gave.
    pub async fn cancel_pickup(&self, manifest_number: &str, why: &str) -> Result<(), CarrierError> {
        let guid = manifest_number.split_once('/').map_or(manifest_number, |(_, g)| g);
        let body = transformers::cancel_pickup_body(&self.info(), guid, why);
        let reply: CancelPickupReply = self.call("/Shipping/Service_1_0.svc/json/CancelPickup", &body).await?;
        reply.into_result()
    }
}

impl RateQuoter for Aramex {
    async fn rate(&self, req: &RateRequest) -> Result<CarrierRate, CarrierError> {
        let body = transformers::rate_body(&self.info(), req)?;
        let reply: RateReply = self.call("/RateCalculator/Service_1_0.svc/json/CalculateRate", &body).await?;
        reply.into_rate()
    }
}

impl ShipmentBooker for Aramex {
    async fn book(&self, req: &BookingRequest) -> Result<Booking, CarrierError> {
        let body = transformers::create_body(&self.info(), req)?;
        let reply: CreateReply = self.call("/Shipping/Service_1_0.svc/json/CreateShipments", &body).await?;
        reply.into_booking()
    }

    async fn cancel(&self, booking: &Booking) -> Result<(), CarrierError> {
        Err(CarrierError::Rejected {
            code: "no_void".into(),
            message: format!(
                "Aramex has no call to void waybill {}; ask the Aramex station to cancel it before pickup",
                booking.tracking_number
            ),
            field: None,
        })
    }
}

impl TrackingSource for Aramex {
    async fn track(&self, tracking_number: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
        let body = transformers::track_body(&self.info(), tracking_number);
        let reply: TrackReply = self.call("/Tracking/Service_1_0.svc/json/TrackShipments", &body).await?;
        reply.into_events()
    }
}
