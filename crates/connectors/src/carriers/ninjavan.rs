//! Ninja Van's shipper API (api-docs.ninjavan.co, and the paths its SDKs call): OAuth 2.0 client credentials
//! (`POST {base}/{cc}/2.0/oauth/access_token`, the token kept until a minute before it expires and fetched again
//! once when refused), orders (`POST {base}/{cc}/4.2/orders`, with `cash_on_delivery` in the country's currency),
//! cancel (`DELETE {base}/{cc}/2.2/orders/{tracking}`), the waybill PDF (`GET {base}/{cc}/2.0/reports/waybill`),
//! order events by webhook (`X-Ninjavan-Hmac-Sha256`: base64 HMAC-SHA256 of the raw body with the client secret)
//! and by look-up (`GET {base}/{cc}/1.0/orders/tracking-events/{tracking}`).
//!
//! Ninja Van takes no idempotency key. Our `requested_tracking_number` is derived from the shipment id, so a
//! repeat after an unclear failure is refused as a duplicate instead of booking twice; such a failure waits for
//! a person, who finds the parcel in Ninja Van's dashboard.

pub mod transformers;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{
    Booking, BookingRequest, CarrierError, CarrierEvent, ShipmentBooker, TrackingSource, WebhookParser, transport,
};
use serde_json::{Value, json};

pub const CODE: &str = "ninjavan";
pub const COMPANY: &str = "Ninja Van";

#[derive(Clone, Debug)]
pub struct NinjaVanAccount {
    pub client_id: String,
    pub client_secret: String,
    /// The Ninja Van system the account belongs to: `sg`, `my`, `th`, `id`, `vn` or `ph`.
    pub country: String,
}

#[derive(Clone)]
pub struct NinjaVan {
    client: reqwest::Client,
    base: String,
    account: NinjaVanAccount,
    timeout_s: u64,
    token: Arc<Mutex<Option<(String, Instant)>>>,
}

enum Body<'a> {
    None,
    Json(&'a Value),
}

impl NinjaVan {
    /// `base` is the API host, e.g. `https://api.ninjavan.co` (sandbox: `https://api-sandbox.ninjavan.co`).
    pub fn new(base: &str, account: NinjaVanAccount, timeout: Duration) -> Result<NinjaVan, CarrierError> {
        reqwest::Url::parse(base).map_err(|e| CarrierError::Config(format!("Ninja Van url {base:?}: {e}")))?;
        let cc = account.country.to_ascii_lowercase();
        if !["sg", "my", "th", "id", "vn", "ph"].contains(&cc.as_str()) {
            return Err(CarrierError::Config(format!(
                "Ninja Van has no system for {:?} (sg, my, th, id, vn, ph)",
                account.country
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CarrierError::Config(format!("HTTP client: {e}")))?;
        Ok(NinjaVan {
            client,
            base: format!("{}/{cc}", base.trim_end_matches('/')),
            account: NinjaVanAccount { country: cc, ..account },
            timeout_s: timeout.as_secs().max(1),
            token: Arc::new(Mutex::new(None)),
        })
    }

    async fn fetch_token(&self) -> Result<String, CarrierError> {
        let body = json!({"client_id": self.account.client_id, "client_secret": self.account.client_secret,
                          "grant_type": "client_credentials"});
        let r = self
            .client
            .post(format!("{}/2.0/oauth/access_token", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status().as_u16();
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        let v = transformers::read(status, retry, &bytes)?;
        let token = v["access_token"].as_str().filter(|t| !t.is_empty());
        let token =
            token.ok_or_else(|| CarrierError::Malformed("Ninja Van's token reply has no access_token".into()))?;
        let life = v["expires_in"].as_u64().unwrap_or(300).clamp(60, 86_400);
        let until = Instant::now() + Duration::from_secs(life - 60);
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some((token.to_owned(), until));
        Ok(token.to_owned())
    }

    async fn bearer(&self, fresh: bool) -> Result<String, CarrierError> {
        if !fresh {
            let held = self.token.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some((t, until)) = held
                && until > Instant::now()
            {
                return Ok(t);
            }
        }
        self.fetch_token().await
    }

    /// One call with the bearer token; a refused token is fetched again once.
    async fn call(&self, method: reqwest::Method, path: &str, body: Body<'_>) -> Result<(u16, Vec<u8>), CarrierError> {
        for fresh in [false, true] {
            let token = self.bearer(fresh).await?;
            let mut r = self.client.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(token);
            if let Body::Json(v) = body {
                r = r.json(v);
            }
            let r = r.send().await.map_err(|e| transport(e, self.timeout_s))?;
            let status = r.status().as_u16();
            if status == 401 && !fresh {
                continue;
            }
            if status == 429 {
                let after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
                return Err(CarrierError::RateLimited(after));
            }
            let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
            return Ok((status, bytes.to_vec()));
        }
        Err(CarrierError::Unauthorized)
    }

    async fn json_call(&self, method: reqwest::Method, path: &str, body: Body<'_>) -> Result<Value, CarrierError> {
        let (status, bytes) = self.call(method, path, body).await?;
        transformers::read(status, None, &bytes)
    }
}

impl ShipmentBooker for NinjaVan {
    async fn book(&self, req: &BookingRequest) -> Result<Booking, CarrierError> {
        let body = transformers::order_body(req, &self.account.country)?;
        let reply = self.json_call(reqwest::Method::POST, "/4.2/orders", Body::Json(&body)).await?;
        let tracking = reply["tracking_number"].as_str().filter(|t| !t.is_empty());
        let tracking =
            tracking.ok_or_else(|| CarrierError::Malformed("Ninja Van's order has no tracking_number".into()))?;
        let mut label = json!({"requested_tracking_number": body["requested_tracking_number"]});
        // The waybill is asked for once the order exists; without it the parcel is still booked.
        match self.call(reqwest::Method::GET, &format!("/2.0/reports/waybill?tids={tracking}&h=0"), Body::None).await {
            Ok((200, pdf)) if pdf.starts_with(b"%PDF") => {
                use base64::Engine as _;
                label["waybill_pdf_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(&pdf));
            }
            Ok((status, _)) => label["waybill_error"] = json!(format!("HTTP {status}")),
            Err(e) => label["waybill_error"] = json!(e.to_string()),
        }
        Ok(Booking {
            tracking_number: tracking.to_owned(),
            carrier_ref: tracking.to_owned(),
            sort_code: None,
            label_data: label,
        })
    }

    async fn cancel(&self, booking: &Booking) -> Result<(), CarrierError> {
        self.json_call(reqwest::Method::DELETE, &format!("/2.2/orders/{}", booking.tracking_number), Body::None)
            .await
            .map(|_| ())
    }
}

impl TrackingSource for NinjaVan {
    async fn track(&self, tracking_number: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
        let v = self
            .json_call(reqwest::Method::GET, &format!("/1.0/orders/tracking-events/{tracking_number}"), Body::None)
            .await?;
        transformers::events(&v["events"])
    }
}

impl WebhookParser for NinjaVan {
    fn signature_header(&self) -> &'static str {
        "x-ninjavan-hmac-sha256"
    }
    fn verify(&self, secret: &str, body: &[u8], signature: &str) -> bool {
        transformers::verify(secret, body, signature)
    }
    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<CarrierEvent>, CarrierError> {
        let v: Value = serde_json::from_slice(body).map_err(|e| CarrierError::Malformed(e.to_string()))?;
        transformers::events(&v)
    }
}
