//! Aramex Shipping and Tracking JSON services, v1.0
//! (https://www.aramex.com/docs/default-source/resourses/resourcesdata/shipping-services-api-manual.pdf and
//! the Shipments Tracking API manual): `POST {base}/Shipping/Service_1_0.svc/json/CreateShipments` and
//! `POST {base}/Tracking/Service_1_0.svc/json/TrackShipments`, each carrying `ClientInfo` credentials; and the
//! Rate Calculator service, `POST {base}/RateCalculator/Service_1_0.svc/json/CalculateRate`.
//! Aramex answers HTTP 200 with `HasErrors` and `Notifications` for refusals, so those are read first.
//!
//! Aramex has no idempotency key: the shipment id goes in `Reference1` and `Transaction.Reference1` so a
//! duplicate made by a retry after a timeout can be found and voided by the station; booking retries
//! against Aramex are therefore left to a person (see `retryable_bookings`).

pub mod transformers;

use std::time::Duration;

use super::{
    Booking, BookingRequest, CarrierError, CarrierEvent, CarrierRate, RateQuoter, RateRequest, ShipmentBooker,
    TrackingSource, transport,
};
use transformers::{ClientInfo, CreateReply, RateReply, TrackReply};

#[derive(Clone, Debug)]
pub struct AramexAccount {
    pub user_name: String,
    pub password: String,
    pub account_number: String,
    pub account_pin: String,
    pub account_entity: String,
    pub account_country_code: String,
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
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        if status.is_server_error() {
            return Err(CarrierError::Unavailable(format!("HTTP {status}")));
        }
        if status.as_u16() == 401 || status.as_u16() == 403 {
            return Err(CarrierError::Unauthorized);
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned();
            return Err(CarrierError::Rejected { code: status.as_u16().to_string(), message: text, field: None });
        }
        serde_json::from_slice(&bytes).map_err(|e| CarrierError::Malformed(e.to_string()))
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
