//! WooCommerce REST API v3, order notes and order status:
//! https://woocommerce.github.io/woocommerce-rest-api-docs/#order-notes and #update-an-order.
//! Shipped is a note the buyer sees (carrier, tracking number, link); delivered is a private note and the
//! status `completed`. Authenticated with the store's consumer key and secret over HTTP Basic, which
//! WooCommerce accepts on HTTPS.

pub mod transformers;

use std::time::Duration;

use super::{Fulfilment, FulfilmentPush, Receipt, SalesError, base_url, client, numeric_order_id, reply, transport};
use transformers::{NewNote, Note, OrderStatus, StatusBody, delivered_note, shipped_note};

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
