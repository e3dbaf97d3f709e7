//! 17TRACK, the tracking aggregator, through its Tracking API v2.2 ("API Doc v2.2" at api.17track.net): the
//! `17token` header; `POST {base}/track/v2.2/register` and `POST {base}/track/v2.2/gettrackinfo`, lists of
//! numbers answered as `accepted` and `rejected`; pushes (`TRACKING_UPDATED`) signed in the `sign` header with the
//! hex SHA-256 of the body, `/` and the account's security key. A tracking source only: it follows parcels booked
//! anywhere, by their number, in 17TRACK's stage and sub-status taxonomy.

pub mod transformers;

use std::time::Duration;

use super::{CarrierError, CarrierEvent, TrackingSource, WebhookParser, transport};
use serde_json::{Value, json};

pub const CODE: &str = "17track";
pub const COMPANY: &str = "17TRACK";

#[derive(Clone)]
pub struct Track17 {
    client: reqwest::Client,
    base: String,
    token: String,
    timeout_s: u64,
}

impl Track17 {
    /// `base` is the API host, e.g. `https://api.17track.net`.
    pub fn new(base: &str, token: &str, timeout: Duration) -> Result<Track17, CarrierError> {
        reqwest::Url::parse(base).map_err(|e| CarrierError::Config(format!("17TRACK url {base:?}: {e}")))?;
        if token.trim().is_empty() {
            return Err(CarrierError::Config("17TRACK needs an API token".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CarrierError::Config(format!("HTTP client: {e}")))?;
        Ok(Track17 {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            timeout_s: timeout.as_secs().max(1),
        })
    }

    async fn call(&self, path: &str, body: &Value) -> Result<Value, CarrierError> {
        let r = self
            .client
            .post(format!("{}/track/v2.2/{path}", self.base))
            .header("17token", &self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status().as_u16();
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        transformers::read(status, retry, &bytes)
    }

    /// Asks 17TRACK to follow a number; one it already follows is not an error.
    pub async fn register(&self, number: &str) -> Result<(), CarrierError> {
        let data = self.call("register", &json!([{"number": number}])).await?;
        match transformers::rejection(&data, number) {
            None | Some((transformers::ALREADY_REGISTERED, _)) => Ok(()),
            Some((code, message)) => {
                Err(CarrierError::Rejected { code: code.to_string(), message, field: Some("tracking_number".into()) })
            }
        }
    }
}

impl TrackingSource for Track17 {
    /// The number's events; a number 17TRACK does not follow yet is registered and has none so far.
    async fn track(&self, number: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
        let data = self.call("gettrackinfo", &json!([{"number": number}])).await?;
        match transformers::rejection(&data, number) {
            Some((transformers::NOT_REGISTERED, _)) => {
                self.register(number).await?;
                Ok(Vec::new())
            }
            Some((code, message)) => Err(CarrierError::Rejected { code: code.to_string(), message, field: None }),
            None => transformers::accepted_events(&data, number),
        }
    }
}

impl WebhookParser for Track17 {
    fn signature_header(&self) -> &'static str {
        "sign"
    }
    fn verify(&self, secret: &str, body: &[u8], signature: &str) -> bool {
        transformers::verify(secret, body, signature)
    }
    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<CarrierEvent>, CarrierError> {
        transformers::push_events(body)
    }
}
