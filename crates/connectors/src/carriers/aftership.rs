//! AfterShip, the tracking aggregator, through its Tracking API (developers.aftership.com, version 2024-10): the
//! `as-api-key` header; `POST {base}/tracking/2024-10/trackings` to follow a number (4003 when it is followed
//! already), `GET {base}/tracking/2024-10/trackings?tracking_numbers=` for its checkpoints; webhooks
//! (`tracking_update`) signed `aftership-hmac-sha256`, base64 HMAC-SHA256 of the body with the webhook secret. A
//! tracking source only. An event's code is its checkpoint's subtag (`InTransit_002`), else its tag.

pub mod transformers;

use std::time::Duration;

use super::{CarrierError, CarrierEvent, TrackingSource, WebhookParser, transport};
use serde_json::{Value, json};

pub const CODE: &str = "aftership";
pub const COMPANY: &str = "AfterShip";

#[derive(Clone)]
pub struct AfterShip {
    client: reqwest::Client,
    base: String,
    key: String,
    timeout_s: u64,
}

impl AfterShip {
    /// `base` is the API host, e.g. `https://api.aftership.com`.
    pub fn new(base: &str, key: &str, timeout: Duration) -> Result<AfterShip, CarrierError> {
        reqwest::Url::parse(base).map_err(|e| CarrierError::Config(format!("AfterShip url {base:?}: {e}")))?;
        if key.trim().is_empty() {
            return Err(CarrierError::Config("AfterShip needs an API key".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CarrierError::Config(format!("HTTP client: {e}")))?;
        Ok(AfterShip {
            client,
            base: base.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            timeout_s: timeout.as_secs().max(1),
        })
    }

    async fn call(&self, r: reqwest::RequestBuilder) -> Result<Value, CarrierError> {
        let r = r.header("as-api-key", &self.key).send().await.map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status().as_u16();
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        transformers::read(status, retry, &bytes)
    }

    /// Asks AfterShip to follow a number; one it follows already is not an error.
    pub async fn register(&self, number: &str) -> Result<(), CarrierError> {
        let r = self
            .client
            .post(format!("{}/tracking/2024-10/trackings", self.base))
            .json(&json!({"tracking_number": number}));
        match self.call(r).await {
            Ok(_) => Ok(()),
            Err(CarrierError::Rejected { code, .. }) if code == transformers::ALREADY_FOLLOWED => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl TrackingSource for AfterShip {
    /// The number's checkpoints; a number AfterShip does not follow yet is followed from now and has none.
    async fn track(&self, number: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
        let r =
            self.client.get(format!("{}/tracking/2024-10/trackings", self.base)).query(&[("tracking_numbers", number)]);
        let data = self.call(r).await?;
        let found = data["trackings"].as_array().and_then(|l| l.iter().find(|t| t["tracking_number"] == number));
        match found {
            Some(t) => transformers::events(t),
            None => {
                self.register(number).await?;
                Ok(Vec::new())
            }
        }
    }
}

impl WebhookParser for AfterShip {
    fn signature_header(&self) -> &'static str {
        "aftership-hmac-sha256"
    }
    fn verify(&self, secret: &str, body: &[u8], signature: &str) -> bool {
        super::verify_base64_hmac(secret, body, signature)
    }
    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<CarrierEvent>, CarrierError> {
        let v: Value = serde_json::from_slice(body).map_err(|e| CarrierError::Malformed(e.to_string()))?;
        match v["event"].as_str() {
            Some("tracking_update") => transformers::events(&v["msg"]),
            Some(_) => Ok(Vec::new()),
            None => Err(CarrierError::Malformed("an AfterShip webhook without event".into())),
        }
    }
}
