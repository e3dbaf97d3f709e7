//! Yanwen (燕文物流) open platform, as its public SDK integrations call it: `POST {base}/api/order?user_id=…&method=…
//! &format=json&timestamp=…&sign=…&version=V1.0` with the JSON data as the body, `sign` = lower-case hex MD5 of
//! token + user id + data + format + method + timestamp + version + token. Methods `express.order.create`
//! (`orderNumber` is our shipment id; grams; declared value), `express.order.getlist` (`listNumber`),
//! `express.order.label.get` (base64 PDF) and `express.order.cancel`; replies `{"success", "code", "message",
//! "data"}`. Tracking through Yanwen's track API: `GET …/api/tracking?nums=…` with the user id as
//! `Authorization`, checkpoints with `tracking_status`, a local `time_stamp` and its `time_zone`.
//!
//! Yanwen takes parcels prepaid only (COD is refused before any call). It takes no idempotency key, so the
//! connector first asks for our shipment id (`getlist`): a retry after a timeout finds the waybill made before.

pub mod transformers;

use std::time::Duration;

use super::{Booking, BookingRequest, CarrierError, CarrierEvent, ShipmentBooker, TrackingSource, transport};
use serde_json::{Value, json};

pub const CODE: &str = "yanwen";
pub const COMPANY: &str = "Yanwen";

#[derive(Clone)]
pub struct Yanwen {
    client: reqwest::Client,
    base: String,
    tracking_base: String,
    user_id: String,
    token: String,
    /// Yanwen's channel (product) id the account books on.
    channel_id: String,
    timeout_s: u64,
}

impl Yanwen {
    /// `base` is the platform host (`https://open.yw56.com.cn`); `tracking_base` the track API's host
    /// (`http://trackapi.yanwentech.com`), `base` when absent.
    pub fn new(
        base: &str,
        tracking_base: Option<&str>,
        user_id: &str,
        token: &str,
        channel_id: &str,
        timeout: Duration,
    ) -> Result<Yanwen, CarrierError> {
        let tracking_base = tracking_base.filter(|t| !t.trim().is_empty()).unwrap_or(base);
        for url in [base, tracking_base] {
            reqwest::Url::parse(url).map_err(|e| CarrierError::Config(format!("Yanwen url {url:?}: {e}")))?;
        }
        if user_id.trim().is_empty() || token.trim().is_empty() || channel_id.trim().is_empty() {
            return Err(CarrierError::Config("Yanwen needs a user id, an API token and a channel id".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CarrierError::Config(format!("HTTP client: {e}")))?;
        Ok(Yanwen {
            client,
            base: base.trim_end_matches('/').to_owned(),
            tracking_base: tracking_base.trim_end_matches('/').to_owned(),
            user_id: user_id.trim().to_owned(),
            token: token.to_owned(),
            channel_id: channel_id.trim().to_owned(),
            timeout_s: timeout.as_secs().max(1),
        })
    }

    async fn call(&self, method: &str, data: &Value) -> Result<Value, CarrierError> {
        let data = data.to_string();
        let timestamp = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).to_string();
        let sign = transformers::sign(&self.token, &self.user_id, &data, method, &timestamp);
        let r = self
            .client
            .post(format!("{}/api/order", self.base))
            .query(&[
                ("user_id", self.user_id.as_str()),
                ("method", method),
                ("format", "json"),
                ("timestamp", &timestamp),
                ("sign", &sign),
                ("version", transformers::VERSION),
            ])
            .header("content-type", "application/json")
            .body(data)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status().as_u16();
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        transformers::read(status, retry, &bytes)
    }
}

impl ShipmentBooker for Yanwen {
    async fn book(&self, req: &BookingRequest) -> Result<Booking, CarrierError> {
        let body = transformers::order(req, &self.channel_id)?;
        let found = self.call("express.order.getlist", &json!({"listNumber": [req.idempotency_key]})).await?;
        let waybill = match transformers::listed_waybill(&found, &req.idempotency_key) {
            Some(w) => w,
            None => transformers::created(&self.call("express.order.create", &body).await?)?,
        };
        let mut label = json!({});
        match self.call("express.order.label.get", &json!({"waybillNumber": waybill})).await {
            Ok(d) => match transformers::label(&d) {
                Ok(pdf) => label["waybill_pdf_base64"] = json!(pdf),
                Err(e) => label["waybill_error"] = json!(e.to_string()),
            },
            Err(e) => label["waybill_error"] = json!(e.to_string()),
        }
        Ok(Booking { tracking_number: waybill.clone(), carrier_ref: waybill, sort_code: None, label_data: label })
    }

    async fn cancel(&self, booking: &Booking) -> Result<(), CarrierError> {
        let data = json!({"waybillNumber": booking.tracking_number, "note": "Cancelled by the seller before pickup"});
        self.call("express.order.cancel", &data).await.map(|_| ())
    }
}

impl TrackingSource for Yanwen {
    async fn track(&self, waybill: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
        let r = self
            .client
            .get(format!("{}/api/tracking", self.tracking_base))
            .query(&[("nums", waybill)])
            .header("Authorization", &self.user_id)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status().as_u16();
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        transformers::tracking(waybill, status, retry, &bytes)
    }
}
