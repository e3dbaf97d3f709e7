//! LianLian Global's eWallet open API (docs.lianlianglobal.com "api-reference"; its official Java SDK,
//! `LLGlobal/lgas-openapi-sdk`): `Authorization: Basic {token}`; every request signed in `LLPAY-Signature:
//! t={epoch},v={signature}`, the signature base64 RSA-SHA256 (PKCS#1 v1.5) with the seller's key over
//! `METHOD&path&epoch&body` (and `&` + the URL-encoded query when there is one); every reply signed by LianLian over
//! `epoch&body` and checked against LianLian's public key (refused when the epoch is more than ten minutes off).
//! `GET /gateway/v1/ew-transactions` (a JSON body: `page`, `page_size`, `type`, `status`, `start_time`,
//! `end_time` in milliseconds) lists transactions; `GET /gateway/v1/ew-receivings/{id}` gives a receiving's
//! amounts, fee and `reference` (the payer's postscript: the carrier's remittance reference).
//!
//! codflow reads completed receivings: each is one payout line of the remittance it names. Only reads are made,
//! so a repeat is harmless; the statement built from them is the same bytes for the same period, so importing it
//! again is recognised as already imported.

pub mod transformers;

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::carriers::{CarrierError, transport};
pub use transformers::Receiving;

/// The most transactions one page holds.
const PAGE: usize = 100;
/// Pages read at most for one period: a runaway listing stops with an error rather than reading forever.
const MAX_PAGES: usize = 200;

pub struct LianLian {
    client: reqwest::Client,
    base: String,
    token: String,
    key: ring::signature::RsaKeyPair,
    lianlian_key: Vec<u8>,
    timeout_s: u64,
}

impl LianLian {
    /// `base` is the API host (`https://global-api.lianlianpay.com`); `private_key` the seller's PKCS#8 key and
    /// `lianlian_public_key` LianLian's X.509 key, both PEM or bare base64.
    pub fn new(
        base: &str,
        token: &str,
        private_key: &str,
        lianlian_public_key: &str,
        timeout: Duration,
    ) -> Result<LianLian, CarrierError> {
        reqwest::Url::parse(base).map_err(|e| CarrierError::Config(format!("LianLian url {base:?}: {e}")))?;
        if token.trim().is_empty() {
            return Err(CarrierError::Config("LianLian Global needs an API token".into()));
        }
        let key = transformers::private_key(private_key)?;
        let lianlian_key = transformers::public_key(lianlian_public_key)?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| CarrierError::Config(format!("HTTP client: {e}")))?;
        Ok(LianLian {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            key,
            lianlian_key,
            timeout_s: timeout.as_secs().max(1),
        })
    }

    async fn get(&self, path: &str, body: Option<&Value>) -> Result<Value, CarrierError> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let epoch = OffsetDateTime::now_utc().unix_timestamp();
        let signature = transformers::sign_request(&self.key, "GET", path, epoch, &body, None)?;
        let mut r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Basic {}", self.token))
            .header("LLPAY-Signature", signature);
        if !body.is_empty() {
            r = r.header("content-type", "application/json").body(body);
        }
        let r = r.send().await.map_err(|e| transport(e, self.timeout_s))?;
        let status = r.status().as_u16();
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        let signed = r.headers().get("LLPAY-Signature").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = r.bytes().await.map_err(|e| transport(e, self.timeout_s))?;
        let v = transformers::read(status, retry, &bytes)?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if !transformers::verify_reply(&self.lianlian_key, signed.as_deref(), &bytes, now) {
            return Err(CarrierError::Malformed(
                "LianLian's reply is not signed by LianLian's key (or its signature is out of date)".into(),
            ));
        }
        Ok(v)
    }

    /// The completed receivings created in `[from, to)`, oldest first.
    pub async fn receivings(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Vec<Receiving>, CarrierError> {
        let ms = |t: OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
        let mut ids = Vec::new();
        for page in 1..=MAX_PAGES {
            let q = json!({"page": page, "page_size": PAGE, "type": "RECEIVING", "status": "COMPLETED",
                           "start_time": ms(from), "end_time": ms(to) - 1});
            let v = self.get("/gateway/v1/ew-transactions", Some(&q)).await?;
            let (list, total) = transformers::transaction_page(&v)?;
            let got = list.len();
            ids.extend(list);
            if got < PAGE || ids.len() >= total {
                // A receiving that moved between pages while they were read is listed twice; it is one line.
                ids.sort();
                ids.dedup();
                let mut out = Vec::with_capacity(ids.len());
                for id in &ids {
                    let v = self.get(&format!("/gateway/v1/ew-receivings/{id}"), None).await?;
                    out.push(transformers::receiving(&v)?);
                }
                out.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
                return Ok(out);
            }
        }
        Err(CarrierError::Malformed(format!("LianLian listed more than {} pages of receivings", MAX_PAGES)))
    }
}
