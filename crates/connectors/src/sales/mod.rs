//! Sales channels, outbound: telling the shop a parcel left (with its tracking number and link) and that it
//! arrived. Each platform is its plumbing (`<name>.rs`) and its wire types (`<name>/transformers.rs`).

pub mod shopify;
pub mod woocommerce;

use std::future::Future;
use std::time::Duration;

pub use shopify::Shopify;
pub use woocommerce::WooCommerce;

/// One parcel of a shop's order, as the shop is told about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fulfilment {
    /// The platform's own id of the order (the order's external id in codflow).
    pub order_ref: String,
    pub tracking_number: String,
    /// Where the buyer follows the parcel: codflow's public tracking page.
    pub tracking_url: String,
    /// The carrier's name as the buyer should see it.
    pub company: String,
    pub at: time::OffsetDateTime,
}

/// What the shop gave back: its id for what was created, kept for support and audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub remote_ref: Option<String>,
    /// True when the shop already had this update (a retry after a lost answer): nothing was created twice.
    pub already_there: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SalesError {
    #[error("the shop did not answer within {0} s")]
    Timeout(u64),
    /// 5xx or no connection: try later.
    #[error("the shop is unavailable: {0}")]
    Unavailable(String),
    /// 429: try after the delay the shop asked for.
    #[error("the shop is rate limiting us")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the shop refused our credentials (HTTP {0})")]
    Unauthorized(u16),
    /// The shop does not know the order (or it was deleted there).
    #[error("the shop has no order {0}")]
    UnknownOrder(String),
    /// The shop refused the update; a person must look.
    #[error("the shop refused the update: HTTP {status}: {message}")]
    Rejected { status: u16, message: String },
    /// The shop is not ready for this update yet (delivered before the fulfilment exists there).
    #[error("{0}")]
    NotYet(String),
    #[error("the shop's reply could not be read: {0}")]
    Malformed(String),
    #[error("{0}")]
    Config(String),
}

impl SalesError {
    /// Whether trying again unchanged may succeed.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            SalesError::Timeout(_)
                | SalesError::Unavailable(_)
                | SalesError::RateLimited { .. }
                | SalesError::NotYet(_)
                | SalesError::Malformed(_)
        )
    }

    /// The earliest the shop wants to hear from us again, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SalesError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// Tells a shop about its orders' parcels. Both calls are safe to repeat: a retry after a lost answer finds
/// what the first call made instead of making it again.
pub trait FulfilmentPush: Send + Sync {
    fn shipped(&self, f: &Fulfilment) -> impl Future<Output = Result<Receipt, SalesError>> + Send;
    fn delivered(&self, f: &Fulfilment) -> impl Future<Output = Result<Receipt, SalesError>> + Send;
}

/// A shop, by platform.
#[derive(Clone)]
pub enum SalesChannel {
    Shopify(Shopify),
    WooCommerce(WooCommerce),
}

impl FulfilmentPush for SalesChannel {
    async fn shipped(&self, f: &Fulfilment) -> Result<Receipt, SalesError> {
        match self {
            SalesChannel::Shopify(s) => s.shipped(f).await,
            SalesChannel::WooCommerce(s) => s.shipped(f).await,
        }
    }
    async fn delivered(&self, f: &Fulfilment) -> Result<Receipt, SalesError> {
        match self {
            SalesChannel::Shopify(s) => s.delivered(f).await,
            SalesChannel::WooCommerce(s) => s.delivered(f).await,
        }
    }
}

pub(crate) fn transport(e: reqwest::Error, timeout_s: u64) -> SalesError {
    if e.is_timeout() {
        SalesError::Timeout(timeout_s)
    } else if e.is_decode() || e.is_body() {
        SalesError::Malformed(e.to_string())
    } else {
        SalesError::Unavailable(e.to_string())
    }
}

/// `Retry-After` as seconds (Shopify sends decimals such as "2.0"); an HTTP date is not honoured.
pub(crate) fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse::<f64>().ok()?;
    (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v.min(3600.0)))
}

/// Reads a reply: the JSON body on 2xx, the error the status means otherwise.
pub(crate) async fn reply<T: serde::de::DeserializeOwned>(
    r: reqwest::Response,
    order_ref: &str,
    timeout_s: u64,
) -> Result<T, SalesError> {
    let status = r.status();
    let wait = retry_after(r.headers());
    let body = r.bytes().await.map_err(|e| transport(e, timeout_s))?;
    match status.as_u16() {
        200..=299 => {
            serde_json::from_slice(&body).map_err(|e| SalesError::Malformed(format!("{e} in {}", snippet(&body))))
        }
        401 | 403 => Err(SalesError::Unauthorized(status.as_u16())),
        404 => Err(SalesError::UnknownOrder(order_ref.to_owned())),
        429 => Err(SalesError::RateLimited { retry_after: wait }),
        500..=599 => Err(SalesError::Unavailable(format!("HTTP {status}"))),
        s => Err(SalesError::Rejected { status: s, message: snippet(&body) }),
    }
}

pub(crate) fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
}

/// Both platforms number their orders; anything else was not an order from this shop.
pub(crate) fn numeric_order_id<'a>(f: &'a Fulfilment, platform: &str) -> Result<&'a str, SalesError> {
    let id = f.order_ref.as_str();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SalesError::Rejected {
            status: 0,
            message: format!("external id {id:?} is not a {platform} order id (a number)"),
        });
    }
    Ok(id)
}

pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, SalesError> {
    reqwest::Client::builder().timeout(timeout).build().map_err(|e| SalesError::Config(format!("HTTP client: {e}")))
}

pub(crate) fn base_url(base: &str) -> Result<reqwest::Url, SalesError> {
    let u = reqwest::Url::parse(base).map_err(|e| SalesError::Config(format!("shop URL {base:?}: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(SalesError::Config(format!("shop URL {base:?} must be http(s)://host")));
    }
    Ok(u)
}
