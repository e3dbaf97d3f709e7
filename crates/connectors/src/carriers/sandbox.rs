//! The sandbox carrier's JSON API (docs/SANDBOX_CARRIER.md): `POST /v1/rates`, `POST /v1/shipments` with an
//! `Idempotency-Key`, `POST /v1/shipments/{tracking}/cancel`, `GET /v1/shipments/{tracking}/events`,
//! `GET /v1/reports/cod-remittance` and `/v1/reports/freight-invoice` (CSV), `POST /v1/bags` and
//! `POST /v1/manifests` (a pickup's bags, idempotent on our reference), and event pushes signed `X-Sandbox-Signature: sha256=<hex HMAC-SHA256 of the body>`.

pub mod transformers;

use std::time::Duration;

use hmac::{Hmac, Mac};

use crate::decode_hex;
use sha2::Sha256;

use super::{
    BagRequest, Booking, BookingRequest, CarrierError, CarrierEvent, CarrierManifest, CarrierRate,
    DeliveryInstructions, ManifestRequest, Manifests, NdrAction, RateQuoter, RateRequest, SettlementReport,
    SettlementReports, ShipmentBooker, TrackingSource, WebhookParser, transport,
};
use transformers::{
    BagReply, ClockReply, ClockSpec, CreateShipment, ErrorReply, EventsReply, HookReply, HookSpec, ManifestReply,
    NdrBody, Push, RateQuery, RateReply, ShipmentReply, WireBag, WireManifest,
};

/// The name channels, mappings and webhooks use for this carrier.
pub const CODE: &str = "sandbox";
/// The company as buyers know it.
pub const COMPANY: &str = "Sandbox Express";

#[derive(Clone)]
pub struct Sandbox {
    client: reqwest::Client,
    base: reqwest::Url,
    api_key: Option<String>,
    timeout_s: u64,
}

impl Sandbox {
    pub fn new(base: &str, api_key: Option<String>, timeout: Duration) -> Result<Sandbox, CarrierError> {
        let base = reqwest::Url::parse(base)
            .map_err(|e| CarrierError::Config(format!("sandbox carrier url {base:?}: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CarrierError::Config(format!("HTTP client: {e}")))?;
        Ok(Sandbox { client, base, api_key, timeout_s: timeout.as_secs().max(1) })
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut u = self.base.clone();
        u.set_path(path);
        u
    }

    fn auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.api_key {
            Some(k) => r.header("X-Api-Key", k),
            None => r,
        }
    }

    /// Reads a reply: the body on 2xx, the carrier's error otherwise.
    async fn reply<T: serde::de::DeserializeOwned>(&self, r: reqwest::Response) -> Result<T, CarrierError> {
        let status = r.status();
        if status.as_u16() == 429 {
            let after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
            return Err(CarrierError::RateLimited(after));
        }
        let body = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| CarrierError::Malformed(format!("{e} in {}", snippet(&body))));
        }
        if status.as_u16() == 401 {
            return Err(CarrierError::Unauthorized);
        }
        if status.is_server_error() {
            return Err(CarrierError::Unavailable(format!("HTTP {status}")));
        }
        match serde_json::from_slice::<ErrorReply>(&body) {
            Ok(e) => Err(CarrierError::Rejected { code: e.error.code, message: e.error.message, field: e.error.field }),
            Err(_) => {
                Err(CarrierError::Rejected { code: status.as_u16().to_string(), message: snippet(&body), field: None })
            }
        }
    }
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

impl RateQuoter for Sandbox {
    async fn rate(&self, req: &RateRequest) -> Result<CarrierRate, CarrierError> {
        let r = self
            .auth(self.client.post(self.url("/v1/rates")))
            .json(&RateQuery::from(req))
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let reply: RateReply = self.reply(r).await?;
        reply.try_into()
    }
}

impl ShipmentBooker for Sandbox {
    async fn book(&self, req: &BookingRequest) -> Result<Booking, CarrierError> {
        let r = self
            .auth(self.client.post(self.url("/v1/shipments")))
            .header("Idempotency-Key", &req.idempotency_key)
            .json(&CreateShipment::from(req))
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let reply: ShipmentReply = self.reply(r).await?;
        reply.try_into()
    }

    async fn cancel(&self, booking: &Booking) -> Result<(), CarrierError> {
        let path = format!("/v1/shipments/{}/cancel", booking.tracking_number);
        let r = self.auth(self.client.post(self.url(&path))).send().await.map_err(|e| transport(e, self.timeout_s))?;
        let _: ShipmentReply = self.reply(r).await?;
        Ok(())
    }
}

impl Manifests for Sandbox {
    async fn register_bag(&self, req: &BagRequest) -> Result<String, CarrierError> {
        let r = self
            .auth(self.client.post(self.url("/v1/bags")))
            .json(&WireBag::from(req))
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let reply: BagReply = self.reply(r).await?;
        Ok(reply.bag_number)
    }

    async fn submit_manifest(&self, req: &ManifestRequest) -> Result<CarrierManifest, CarrierError> {
        let body = WireManifest { reference: &req.reference, bag_numbers: &req.bag_numbers };
        let r = self
            .auth(self.client.post(self.url("/v1/manifests")))
            .json(&body)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let reply: ManifestReply = self.reply(r).await?;
        Ok(CarrierManifest { number: reply.manifest_number, parcels: reply.parcels, weight_g: reply.weight_g })
    }
}

impl TrackingSource for Sandbox {
    async fn track(&self, tracking_number: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
        let path = format!("/v1/shipments/{tracking_number}/events");
        let r = self.auth(self.client.get(self.url(&path))).send().await.map_err(|e| transport(e, self.timeout_s))?;
        let reply: EventsReply = self.reply(r).await?;
        reply.into_events()
    }
}

impl DeliveryInstructions for Sandbox {
    async fn instruct(&self, tracking_number: &str, action: &NdrAction) -> Result<(), CarrierError> {
        let path = format!("/v1/shipments/{tracking_number}/ndr");
        let r = self
            .auth(self.client.post(self.url(&path)))
            .json(&NdrBody::from(action))
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let _: ShipmentReply = self.reply(r).await?;
        Ok(())
    }
}

impl Sandbox {
    /// Asks the carrier to push every event to `url`, signed with `secret`.
    pub async fn register_webhook(&self, url: &str, secret: &str) -> Result<(), CarrierError> {
        let r = self
            .auth(self.client.post(self.url("/v1/webhooks")))
            .json(&HookSpec { url, secret })
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let _: HookReply = self.reply(r).await?;
        Ok(())
    }

    /// Sets the sandbox's clock to `at`, running `scale` times faster than real time from now on.
    pub async fn set_clock(&self, at: time::OffsetDateTime, scale: f64) -> Result<(), CarrierError> {
        let r = self
            .auth(self.client.post(self.url("/v1/_clock")))
            .json(&ClockSpec { at, scale })
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let _: ClockReply = self.reply(r).await?;
        Ok(())
    }
}

impl SettlementReports for Sandbox {
    async fn settlement_report(
        &self,
        report: SettlementReport,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
    ) -> Result<Vec<u8>, CarrierError> {
        let path = match report {
            SettlementReport::CodRemittance => "/v1/reports/cod-remittance",
            SettlementReport::FreightInvoice => "/v1/reports/freight-invoice",
        };
        let rfc = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| CarrierError::Config(format!("report period: {e}")))
        };
        let mut url = self.url(path);
        url.query_pairs_mut().append_pair("from", &rfc(from)?).append_pair("to", &rfc(to)?);
        let r = self.auth(self.client.get(url)).send().await.map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status();
        let body = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        match status.as_u16() {
            200..=299 => Ok(body.to_vec()),
            401 | 403 => Err(CarrierError::Unauthorized),
            500..=599 => Err(CarrierError::Unavailable(format!("{status}: {}", snippet(&body)))),
            _ => Err(CarrierError::Malformed(format!("{status}: {}", snippet(&body)))),
        }
    }
}

impl WebhookParser for Sandbox {
    fn signature_header(&self) -> &'static str {
        "x-sandbox-signature"
    }
    fn verify(&self, secret: &str, body: &[u8], signature: &str) -> bool {
        let Some(hex) = signature.strip_prefix("sha256=") else { return false };
        let Some(expected) = decode_hex(hex) else { return false };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
        mac.update(body);
        // Constant-time comparison.
        mac.verify_slice(&expected).is_ok()
    }

    fn parse_webhook(&self, body: &[u8]) -> Result<Vec<CarrierEvent>, CarrierError> {
        let push: Push = serde_json::from_slice(body).map_err(|e| CarrierError::Malformed(e.to_string()))?;
        push.into_events()
    }
}
