//! WooCommerce REST API v3, order notes and order status:
//! https://woocommerce.github.io/woocommerce-rest-api-docs/#order-notes and #update-an-order.
//! Shipped is a note the buyer sees (carrier, tracking number, link); delivered is a private note and the
//! status `completed`. Authenticated with the store's consumer key and secret: over HTTPS as HTTP Basic; over
//! plain HTTP, where WooCommerce refuses Basic, as one-legged OAuth 1.0a signatures in the query
//! (https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication-over-http). Orders are pulled from https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders
//! (page numbers, `X-WP-TotalPages`) and stock is set on the product found by SKU
//! (https://woocommerce.github.io/woocommerce-rest-api-docs/#update-a-product).

pub mod transformers;

use std::time::Duration;

use base64::Engine as _;

use super::inbound::utc_naive;
use super::{
    Fulfilment, FulfilmentPush, OrderPull, PullPage, Receipt, SalesError, StockPush, base_url, client, fetch, id_text,
    json, numeric_order_id, pulled, reply, transport,
};
use transformers::{NewNote, Note, OrderStatus, ProductRef, StatusBody, StockBody, delivered_note, shipped_note};

const PAGE_SIZE: u32 = 100;

/// RFC 3986 percent-encoding, as OAuth 1.0a wants it: everything but letters, digits and `-._~`.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A value used once: the time in nanoseconds and a counter, hashed.
fn nonce() -> String {
    use sha2::Digest;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let digest = sha2::Sha256::digest(format!("{t}:{n}:{}", std::process::id()));
    codflow_domain::text::hex(&digest[..16])
}

/// Adds one-legged OAuth 1.0a (HMAC-SHA256) parameters and their signature to `url`'s query: the base string is
/// the method, the URL without its query, and every query parameter with the OAuth ones, each encoded and sorted;
/// the key is the consumer secret followed by `&`.
fn oauth1_sign(method: &str, url: &mut reqwest::Url, key: &str, secret: &str, timestamp: &str, nonce: &str) {
    use base64::Engine;
    use hmac::Mac;
    url.query_pairs_mut()
        .append_pair("oauth_consumer_key", key)
        .append_pair("oauth_nonce", nonce)
        .append_pair("oauth_signature_method", "HMAC-SHA256")
        .append_pair("oauth_timestamp", timestamp);
    let mut pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (enc(&k), enc(&v))).collect();
    pairs.sort();
    let normalized = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    let base_string = format!("{}&{}&{}", method.to_ascii_uppercase(), enc(base.as_str()), enc(&normalized));
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(format!("{}&", enc(secret)).as_bytes()) else {
        return;
    };
    mac.update(base_string.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    url.query_pairs_mut().append_pair("oauth_signature", &signature);
}

/// Webhooks: `X-WC-Webhook-*` headers, the signature an HMAC-SHA256 of the body, base64.
pub const WEBHOOK: super::Webhooks = super::Webhooks {
    topic: "x-wc-webhook-topic",
    delivery_id: "x-wc-webhook-delivery-id",
    signature: "x-wc-webhook-signature",
    verify: super::inbound::verify_signature,
    is_ping,
};

/// WooCommerce pings a new hook with `webhook_id=N`, form-encoded and unsigned, and disables the hook if it is
/// not answered 200.
pub fn is_ping(body: &[u8]) -> bool {
    body.starts_with(b"webhook_id=") && body.len() <= 64
}

#[derive(Clone)]
pub struct WooCommerce {
    client: reqwest::Client,
    base: reqwest::Url,
    key: String,
    secret: String,
    timeout_s: u64,
}

impl WooCommerce {
    pub fn new(base: &str, consumer_key: &str, consumer_secret: &str, timeout: Duration) -> Result<Self, SalesError> {
        if consumer_key.is_empty() || consumer_secret.is_empty() {
            return Err(SalesError::Config("a WooCommerce store needs consumer_key and consumer_secret".into()));
        }
        Ok(WooCommerce {
            client: client(timeout)?,
            base: base_url(base)?,
            key: consumer_key.to_owned(),
            secret: consumer_secret.to_owned(),
            timeout_s: timeout.as_secs().max(1),
        })
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut u = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        u.set_path(&format!("{prefix}/wp-json/wc/v3/{path}"));
        u
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        r: reqwest::RequestBuilder,
        order: &str,
    ) -> Result<T, SalesError> {
        let r = self.execute(r).await?;
        reply(r, order, self.timeout_s).await
    }

    /// Sends a request with the store's keys, as WooCommerce takes them on the request's scheme.
    async fn execute(&self, r: reqwest::RequestBuilder) -> Result<reqwest::Response, SalesError> {
        let mut req = r.build().map_err(|e| transport(e, self.timeout_s))?;
        if req.url().scheme() == "https" {
            let basic = format!("{}:{}", self.key, self.secret);
            let value = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(basic));
            if let Ok(v) = reqwest::header::HeaderValue::from_str(&value) {
                req.headers_mut().insert(reqwest::header::AUTHORIZATION, v);
            }
        } else {
            let timestamp = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
            let nonce = nonce();
            let method = req.method().as_str().to_owned();
            oauth1_sign(&method, req.url_mut(), &self.key, &self.secret, &timestamp, &nonce);
        }
        self.client.execute(req).await.map_err(|e| transport(e, self.timeout_s))
    }

    /// Adds `text` to the order's notes unless it is there already (a retry after a lost answer).
    async fn note_once(&self, order: &str, text: &str, customer: bool) -> Result<Receipt, SalesError> {
        let path = format!("orders/{order}/notes");
        let notes: Vec<Note> = self.send(self.client.get(self.url(&path)), order).await?;
        if let Some(n) = notes.iter().find(|n| n.note.trim() == text) {
            return Ok(Receipt { remote_ref: Some(n.id.to_string()), already_there: true });
        }
        let body = NewNote { note: text, customer_note: customer };
        let made: Note = self.send(self.client.post(self.url(&path)).json(&body), order).await?;
        Ok(Receipt { remote_ref: Some(made.id.to_string()), already_there: false })
    }
}

impl FulfilmentPush for WooCommerce {
    async fn shipped(&self, f: &Fulfilment) -> Result<Receipt, SalesError> {
        let order = numeric_order_id(f, "WooCommerce")?;
        self.note_once(order, &shipped_note(f), true).await
    }

    async fn delivered(&self, f: &Fulfilment) -> Result<Receipt, SalesError> {
        let order = numeric_order_id(f, "WooCommerce")?;
        let note = self.note_once(order, &delivered_note(f), false).await?;
        let path = format!("orders/{order}");
        let now: OrderStatus = self.send(self.client.get(self.url(&path)), order).await?;
        if now.status == "completed" {
            return Ok(note);
        }
        let done: OrderStatus =
            self.send(self.client.put(self.url(&path)).json(&StatusBody { status: "completed" }), order).await?;
        if done.status != "completed" {
            return Err(SalesError::Rejected {
                status: 200,
                message: format!("order {order} stayed {:?} after setting it completed", done.status),
            });
        }
        Ok(Receipt { remote_ref: note.remote_ref, already_there: false })
    }
}

impl OrderPull for WooCommerce {
    async fn orders_page(&self, since: time::OffsetDateTime, cursor: Option<&str>) -> Result<PullPage, SalesError> {
        let page: u32 = match cursor {
            Some(c) => c.parse().map_err(|_| SalesError::Config(format!("{c:?} is not a WooCommerce page number")))?,
            None => 1,
        };
        let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        let since = since.to_offset(time::UtcOffset::UTC).format(&fmt).unwrap_or_default();
        let mut u = self.url("orders");
        u.query_pairs_mut()
            .append_pair("modified_after", &since)
            .append_pair("dates_are_gmt", "true")
            .append_pair("orderby", "modified")
            .append_pair("order", "asc")
            .append_pair("per_page", &PAGE_SIZE.to_string())
            .append_pair("page", &page.to_string());
        let r = self.execute(self.client.get(u)).await?;
        let (headers, body) = fetch(r, "orders", self.timeout_s).await?;
        let total_pages: u32 = headers
            .get("x-wp-totalpages")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1);
        let orders: Vec<serde_json::Value> = json(&body)?;
        let next = (page < total_pages && !orders.is_empty()).then(|| (page + 1).to_string());
        let orders = pulled(orders, |o| id_text(&o["id"]), |o| o["date_modified_gmt"].as_str().and_then(utc_naive))?;
        Ok(PullPage { orders, next })
    }
}

impl StockPush for WooCommerce {
    async fn set_stock(&self, sku: &str, available: i64) -> Result<bool, SalesError> {
        let mut u = self.url("products");
        u.query_pairs_mut().append_pair("sku", sku);
        let found: Vec<ProductRef> = self.send(self.client.get(u), sku).await?;
        let Some(p) = found.into_iter().next() else { return Ok(false) };
        let body = StockBody { manage_stock: true, stock_quantity: available };
        let _: ProductRef =
            self.send(self.client.put(self.url(&format!("products/{}", p.id))).json(&body), sku).await?;
        Ok(true)
    }
}

#[cfg(test)]
mod oauth_tests {
    use super::*;

    #[test]
    fn a_plain_http_request_is_signed_as_oauth_1a_describes() {
        // Expected signature computed independently (Python's hmac, hashlib and urllib.parse.quote).
        let mut url = reqwest::Url::parse(
            "http://shop.example.com/wp-json/wc/v3/orders?per_page=100&modified_after=2026-12-01T10:00:00",
        )
        .unwrap();
        oauth1_sign("GET", &mut url, "ck_abc", "cs_secret", "1764583200", "n0nce");
        let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["oauth_signature"], "HPKnyLNtLoAnvcTxC/fwN7+LIPPxzx+rnZajacct+ZA=");
        assert_eq!(q["oauth_consumer_key"], "ck_abc");
        assert_eq!(q["oauth_signature_method"], "HMAC-SHA256");
        assert_eq!(enc("a b/é~"), "a%20b%2F%C3%A9~");
        assert_ne!(nonce(), nonce());
    }
}
