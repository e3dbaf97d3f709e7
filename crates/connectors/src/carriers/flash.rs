//! Flash Express open API (open-api.flashexpress.com; its merchant API documents): form-encoded POSTs signed with
//! `sign` = upper-case hex SHA-256 of the non-empty parameters sorted by name (`k=v&…`), then `&key=` and the
//! merchant's secret; `mchId` and a fresh `nonceStr` on every call. Rates at `/open/v1/orders/estimate_rate`
//! (`estimatePrice` in satang, as Flash integrations call it). Orders at `/open/v3/orders` (grams, COD in
//! satang), cancel, routes (tracking) and the label PDF under `/open/v1/orders/{pno}/…`. Replies carry `code` 1 on
//! success.
//!
//! Flash takes no idempotency key and refuses an `outTradeNo` it already holds, so a repeat books nothing; an
//! unclear failure waits for a person, who finds the parcel in Flash's portal.

pub mod transformers;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{Booking, BookingRequest, CarrierError, CarrierEvent, ShipmentBooker, TrackingSource, transport};
use serde_json::{Value, json};

pub const CODE: &str = "flash";
pub const COMPANY: &str = "Flash Express";

static NONCE: AtomicU64 = AtomicU64::new(0);

#[derive(Clone)]
pub struct Flash {
    client: reqwest::Client,
    base: String,
    mch_id: String,
    secret: String,
    timeout_s: u64,
}

/// A reply: JSON, or the bytes of a file (the label).
enum Reply {
    Json(Value),
    File(Vec<u8>),
}

impl Flash {
    /// `base` is the API host, e.g. `https://open-api.flashexpress.com`.
    pub fn new(base: &str, mch_id: &str, secret: &str, timeout: Duration) -> Result<Flash, CarrierError> {
        reqwest::Url::parse(base).map_err(|e| CarrierError::Config(format!("Flash url {base:?}: {e}")))?;
        if mch_id.trim().is_empty() || secret.trim().is_empty() {
            return Err(CarrierError::Config("Flash Express needs a merchant id and a secret".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CarrierError::Config(format!("HTTP client: {e}")))?;
        Ok(Flash {
            client,
            base: base.trim_end_matches('/').to_owned(),
            mch_id: mch_id.to_owned(),
            secret: secret.to_owned(),
            timeout_s: timeout.as_secs().max(1),
        })
    }

    async fn call(&self, path: &str, mut params: BTreeMap<String, String>) -> Result<Reply, CarrierError> {
        let nonce = format!(
            "{}{}",
            time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000,
            NONCE.fetch_add(1, Ordering::Relaxed) % 1000
        );
        params.insert("mchId".into(), self.mch_id.clone());
        params.insert("nonceStr".into(), nonce);
        let sign = transformers::sign(&params, &self.secret);
        params.insert("sign".into(), sign);
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&params)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status().as_u16();
        let pdf = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/pdf"));
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        if pdf && status == 200 {
            return Ok(Reply::File(bytes.to_vec()));
        }
        transformers::read(status, retry, &bytes).map(Reply::Json)
    }

    async fn data(&self, path: &str, params: BTreeMap<String, String>) -> Result<Value, CarrierError> {
        match self.call(path, params).await? {
            Reply::Json(v) => Ok(v),
            Reply::File(_) => Err(CarrierError::Malformed(format!("Flash answered {path} with a file"))),
        }
    }
}

impl ShipmentBooker for Flash {
    async fn book(&self, req: &BookingRequest) -> Result<Booking, CarrierError> {
        let data = self.data("/open/v3/orders", transformers::order_params(req)?).await?;
        let pno = data["pno"].as_str().filter(|p| !p.is_empty());
        let pno = pno.ok_or_else(|| CarrierError::Malformed("Flash's order has no pno".into()))?.to_owned();
        let mut label = json!({"sort_code": data["sortCode"], "dst_store": data["dstStoreName"]});
        match self.call(&format!("/open/v1/orders/{pno}/small/pre_print"), BTreeMap::new()).await {
            Ok(Reply::File(pdf)) => {
                use base64::Engine as _;
                label["waybill_pdf_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(pdf));
            }
            Ok(Reply::Json(_)) => label["waybill_error"] = json!("Flash answered the label with JSON"),
            Err(e) => label["waybill_error"] = json!(e.to_string()),
        }
        let sort = data["sortCode"].as_str().map(str::to_owned);
        Ok(Booking { tracking_number: pno.clone(), carrier_ref: pno, sort_code: sort, label_data: label })
    }

    async fn cancel(&self, booking: &Booking) -> Result<(), CarrierError> {
        self.data(&format!("/open/v1/orders/{}/cancel", booking.tracking_number), BTreeMap::new()).await.map(|_| ())
    }
}

impl TrackingSource for Flash {
    async fn track(&self, pno: &str) -> Result<Vec<CarrierEvent>, CarrierError> {
        let data = self.data(&format!("/open/v1/orders/{pno}/routes"), BTreeMap::new()).await?;
        transformers::events(pno, &data)
    }
}

impl super::RateQuoter for Flash {
    async fn rate(&self, req: &super::RateRequest) -> Result<super::CarrierRate, CarrierError> {
        let data = self.data("/open/v1/orders/estimate_rate", transformers::rate_params(req)).await?;
        transformers::rate(&data)
    }
}
