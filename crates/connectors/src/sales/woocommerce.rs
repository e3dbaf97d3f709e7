//! WooCommerce REST API v3, order notes and order status:
//! https://woocommerce.github.io/woocommerce-rest-api-docs/#order-notes and #update-an-order.
//! Shipped is a note the buyer sees (carrier, tracking number, link); delivered is a private note and the
//! status `completed`. Authenticated with the store's consumer key and secret over HTTP Basic, which
//! WooCommerce accepts on HTTPS. Orders are pulled from https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders
//! (page numbers, `X-WP-TotalPages`) and stock is set on the product found by SKU
//! (https://woocommerce.github.io/woocommerce-rest-api-docs/#update-a-product).

pub mod transformers;

use std::time::Duration;

use super::inbound::utc_naive;
use super::{
    Fulfilment, FulfilmentPush, OrderPull, PullPage, Receipt, SalesError, StockPush, base_url, client, fetch, id_text,
    json, numeric_order_id, pulled, reply, transport,
};
use transformers::{NewNote, Note, OrderStatus, ProductRef, StatusBody, StockBody, delivered_note, shipped_note};

const PAGE_SIZE: u32 = 100;

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
        let r = r.basic_auth(&self.key, Some(&self.secret)).send().await.map_err(|e| transport(e, self.timeout_s))?;
        reply(r, order, self.timeout_s).await
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
        let r = self
            .client
            .get(u)
            .basic_auth(&self.key, Some(&self.secret))
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
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
