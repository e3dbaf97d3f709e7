//! SMSA Express e-commerce API (ecomapis.smsaexpress.com; sandbox ecomapis-sandbox.azurewebsites.net), as its API
//! reference lists it: the `apikey` header; `POST /api/shipment/b2c/new` (COD in the destination currency, the
//! label as base64 PDF in the reply); `GET /api/shipment/b2c/query/{awb}`; `GET /api/track/single/{awb}` and
//! `GET /api/track/reference/{reference}`.
//!
//! SMSA takes no idempotency key, so the connector first asks for our shipment id as a reference: a retry after a
//! timeout finds the parcel the first attempt made instead of booking another. SMSA has no call to void a B2C
//! shipment and no rates API.

pub mod transformers;

use std::time::Duration;

use super::{Booking, BookingRequest, CarrierError, CarrierEvent, ShipmentBooker, TrackingSource, transport};
use serde_json::Value;

pub const CODE: &str = "smsa";
pub const COMPANY: &str = "SMSA Express";

#[derive(Clone)]
pub struct Smsa {
    client: reqwest::Client,
    base: String,
    api_key: String,
    timeout_s: u64,
}

impl Smsa {
    /// `base` is the API host, e.g. `https://ecomapis.smsaexpress.com`.
    pub fn new(base: &str, api_key: &str, timeout: Duration) -> Result<Smsa, CarrierError> {
        reqwest::Url::parse(base).map_err(|e| CarrierError::Config(format!("SMSA url {base:?}: {e}")))?;
        if api_key.trim().is_empty() {
            return Err(CarrierError::Config("SMSA needs an API key".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CarrierError::Config(format!("HTTP client: {e}")))?;
        Ok(Smsa {
            client,
            base: base.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            timeout_s: timeout.as_secs().max(1),
        })
    }

    /// The reply's JSON; `None` for a 404 (nothing under that number).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, CarrierError> {
        let mut r = self.client.request(method, format!("{}{path}", self.base)).header("apikey", &self.api_key);
        if let Some(b) = body {
            r = r.json(b);
        }
        let r = r.send().await.map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status().as_u16();
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        if status == 404 {
            return Ok(None);
        }
        transformers::read(status, retry, &bytes).map(Some)
    }

    async fn booking_of(&self, awb: &str) -> Result<Booking, CarrierError> {
        let q = self.call(reqwest::Method::GET, &format!("/api/shipment/b2c/query/{awb}"), None).await?;
        let q = q.ok_or_else(|| CarrierError::Malformed(format!("SMSA tracks {awb} but cannot find its shipment")))?;
        transformers::booking(&q)
    }
}

impl ShipmentBooker for Smsa {
    async fn book(&self, req: &BookingRequest) -> Result<Booking, CarrierError> {
        let found =
            self.call(reqwest::Method::GET, &format!("/api/track/reference/{}", req.idempotency_key), None).await?;
        if let Some(awb) = found.as_ref().and_then(|f| f["AWBNumber"].as_str()).filter(|a| !a.is_empty()) {
            return self.booking_of(awb).await;
        }
        let body = transformers::create_body(req, time::OffsetDateTime::now_utc())?;
        let created = self.call(reqwest::Method::POST, "/api/shipment/b2c/new", Some(&body)).await?;
        transformers::booking(
            &created.ok_or_else(|| CarrierError::Unavailable("SMSA answered 404 to a booking".into()))?,
        )
    }

    async fn cancel(&self, booking: &Booking) -> Result<(), CarrierError> {
        Err(CarrierError::Rejected {
            code: "no_void".into(),
            message: format!(
                "SMSA has no call to void shipment {}; ask SMSA to cancel it before pickup",
                booking.tracking_number
            ),
            field: None,
        })
    }
}

impl TrackingSource for Smsa {
    async fn track(&self, tracking_number: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
        match self.call(reqwest::Method::GET, &format!("/api/track/single/{tracking_number}"), None).await? {
            Some(v) => transformers::events(tracking_number, &v),
            None => Err(CarrierError::Rejected {
                code: "not_found".into(),
                message: format!("SMSA knows no shipment {tracking_number}"),
                field: None,
            }),
        }
    }
}
