//! Sales channels: orders in (webhook payloads and pulls through each platform's API, mapped to codflow's
//! intake), and out: telling the shop a parcel left (with its tracking number and link), that it arrived, and
//! how much stock is left. Each platform is its plumbing (`<name>.rs`) and its wire types
//! (`<name>/transformers.rs`).

pub mod amazon;
pub mod ebay;
pub mod inbound;
pub mod magento;
mod oauth;
pub mod shopify;
pub mod woocommerce;

use codflow_domain::FieldErrors;
use codflow_domain::shop::Platform;
pub use inbound::{ChannelOrder, ShopState};

/// How a platform sends webhooks, declared by its connector: where it puts a delivery's topic, id and
/// signature (header names, lower case), how the signature is checked, and which bodies are only a ping.
#[derive(Debug)]
pub struct Webhooks {
    pub topic: &'static str,
    pub delivery_id: &'static str,
    pub signature: &'static str,
    /// Whether `signature` signs `body` under the shop's `secret`.
    pub verify: fn(secret: &[u8], body: &[u8], signature: &str) -> bool,
    /// Whether `body` is the platform's ping, which carries no order.
    pub is_ping: fn(body: &[u8]) -> bool,
}

/// The webhooks `platform` sends; None for platforms that are pulled only.
pub fn webhooks(platform: codflow_domain::shop::Platform) -> Option<&'static Webhooks> {
    use codflow_domain::shop::Platform;
    match platform {
        Platform::Shopify => Some(&shopify::WEBHOOK),
        Platform::WooCommerce => Some(&woocommerce::WEBHOOK),
        _ => None,
    }
}

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

/// One order as a pull found it: the platform's own JSON, kept whole so a failed mapping can be looked at
/// and replayed later.
#[derive(Clone, Debug)]
pub struct Pulled {
    pub external_id: String,
    pub updated_at: Option<time::OffsetDateTime>,
    pub body: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
pub struct PullPage {
    pub orders: Vec<Pulled>,
    /// Where the next page starts; None on the last page.
    pub next: Option<String>,
}

/// Pulls the orders a shop changed, page by page, oldest change first where the platform can sort.
pub trait OrderPull: Send + Sync {
    /// The page at `cursor` (None: the first) of the orders changed after `since`.
    fn orders_page(
        &self,
        since: time::OffsetDateTime,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<PullPage, SalesError>> + Send;
}

/// Sets a product's sellable quantity in the shop, so an item sold on another channel stops selling here.
pub trait StockPush: Send + Sync {
    /// Returns false when the shop has no product with this SKU.
    fn set_stock(&self, sku: &str, available: i64) -> impl Future<Output = Result<bool, SalesError>> + Send;
}

/// Maps one order payload of `platform` (a webhook body or one pulled order) to codflow's intake.
pub fn parse_order(platform: Platform, body: &[u8], cod_names: &[String]) -> Result<ChannelOrder, FieldErrors> {
    match platform {
        Platform::Shopify => shopify::transformers::parse_order(body, cod_names),
        Platform::WooCommerce => woocommerce::transformers::parse_order(body, cod_names),
        Platform::Magento => magento::transformers::parse_order(body, cod_names),
        Platform::Amazon => amazon::transformers::parse_order(body, cod_names),
        Platform::Ebay => ebay::transformers::parse_order(body, cod_names),
        Platform::Manual => {
            let mut e = FieldErrors::default();
            e.push("platform", "a manual store receives no platform orders");
            Err(e)
        }
    }
}

/// Maps one stored delivery: as [`parse_order`], except that a deletion (WooCommerce `order.deleted`,
/// Shopify `orders/delete`) carries only the order's id and means the order is gone: a cancellation.
pub fn parse_delivery(
    platform: Platform,
    topic: &str,
    body: &[u8],
    cod_names: &[String],
) -> Result<ChannelOrder, FieldErrors> {
    let deletion =
        matches!((platform, topic), (Platform::WooCommerce, "order.deleted") | (Platform::Shopify, "orders/delete"));
    match parse_order(platform, body, cod_names) {
        Err(_) if deletion => inbound::deleted(body),
        Ok(mut o) if deletion => {
            o.state = ShopState::Cancelled;
            Ok(o)
        }
        other => other,
    }
}

/// A shop to pull orders from, by platform.
pub enum Puller {
    Shopify(Shopify),
    WooCommerce(WooCommerce),
    Magento(magento::Magento),
    Amazon(amazon::Amazon),
    Ebay(ebay::Ebay),
}

impl OrderPull for Puller {
    async fn orders_page(&self, since: time::OffsetDateTime, cursor: Option<&str>) -> Result<PullPage, SalesError> {
        match self {
            Puller::Shopify(s) => s.orders_page(since, cursor).await,
            Puller::WooCommerce(s) => s.orders_page(since, cursor).await,
            Puller::Magento(s) => s.orders_page(since, cursor).await,
            Puller::Amazon(s) => s.orders_page(since, cursor).await,
            Puller::Ebay(s) => s.orders_page(since, cursor).await,
        }
    }
}

impl StockPush for SalesChannel {
    async fn set_stock(&self, sku: &str, available: i64) -> Result<bool, SalesError> {
        match self {
            SalesChannel::Shopify(s) => s.set_stock(sku, available).await,
            SalesChannel::WooCommerce(s) => s.set_stock(sku, available).await,
        }
    }
}

/// Splits a page of orders (JSON objects) into pulled orders, reading each one's id and change time.
pub(crate) fn pulled(
    orders: Vec<serde_json::Value>,
    id_of: impl Fn(&serde_json::Value) -> Option<String>,
    updated_of: impl Fn(&serde_json::Value) -> Option<time::OffsetDateTime>,
) -> Result<Vec<Pulled>, SalesError> {
    orders
        .into_iter()
        .map(|o| {
            let external_id =
                id_of(&o).ok_or_else(|| SalesError::Malformed(format!("an order without an id: {}", short(&o))))?;
            let updated_at = updated_of(&o);
            let body = serde_json::to_vec(&o).map_err(|e| SalesError::Malformed(e.to_string()))?;
            Ok(Pulled { external_id, updated_at, body })
        })
        .collect()
}

fn short(v: &serde_json::Value) -> String {
    let s = v.to_string();
    s.chars().take(200).collect()
}

/// The order id of a payload that did not map, when one can be read (any platform's id field, also inside a
/// pulled Amazon order), so its errors show against it.
pub fn order_id_of(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["id", "entity_id", "orderId", "AmazonOrderId"]
        .iter()
        .find_map(|k| id_text(v.get(*k).or_else(|| v.get("order").and_then(|o| o.get(*k)))?))
        .map(|id| id.chars().take(100).collect())
}

/// A JSON value as an id: numbers and strings both occur.
pub(crate) fn id_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
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
    let (_, body) = fetch(r, order_ref, timeout_s).await?;
    json(&body)
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, SalesError> {
    serde_json::from_slice(body).map_err(|e| SalesError::Malformed(format!("{e} in {}", snippet(body))))
}

/// Reads a reply's headers and body on 2xx, the error the status means otherwise.
pub(crate) async fn fetch(
    r: reqwest::Response,
    order_ref: &str,
    timeout_s: u64,
) -> Result<(reqwest::header::HeaderMap, Vec<u8>), SalesError> {
    let status = r.status();
    let headers = r.headers().clone();
    let wait = retry_after(&headers);
    let body = r.bytes().await.map_err(|e| transport(e, timeout_s))?.to_vec();
    match status.as_u16() {
        200..=299 => Ok((headers, body)),
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
