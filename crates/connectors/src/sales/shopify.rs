//! Shopify Admin REST API, fulfilments: https://shopify.dev/docs/api/admin-rest/2025-01/resources/fulfillment
//! and fulfillment events: https://shopify.dev/docs/api/admin-rest/2025-01/resources/fulfillmentevent.
//! A fulfilment is created against the order's open fulfilment orders with the tracking number and link;
//! delivery is a `delivered` event on that fulfilment. Authenticated with `X-Shopify-Access-Token`.

pub mod transformers;

use std::time::Duration;

use super::{Fulfilment, FulfilmentPush, Receipt, SalesError, base_url, client, numeric_order_id, reply, transport};
use transformers::{CreatedEvent, CreatedFulfillment, EventBody, FulfillmentBody, FulfillmentOrders, Fulfillments};

pub const API_VERSION: &str = "2025-01";

#[derive(Clone)]
pub struct Shopify {
    client: reqwest::Client,
    base: reqwest::Url,
    token: String,
    timeout_s: u64,
}

impl Shopify {
    pub fn new(base: &str, access_token: &str, timeout: Duration) -> Result<Shopify, SalesError> {
        if access_token.is_empty() {
            return Err(SalesError::Config("a Shopify store needs an access_token".into()));
        }
        Ok(Shopify {
            client: client(timeout)?,
            base: base_url(base)?,
            token: access_token.to_owned(),
            timeout_s: timeout.as_secs().max(1),
        })
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut u = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        u.set_path(&format!("{prefix}/admin/api/{API_VERSION}/{path}"));
        u
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str, order: &str) -> Result<T, SalesError> {
        let r = self
            .client
            .get(self.url(path))
            .header("X-Shopify-Access-Token", &self.token)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        reply(r, order, self.timeout_s).await
    }

    async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        order: &str,
        body: &B,
    ) -> Result<T, SalesError> {
        let r = self
            .client
            .post(self.url(path))
            .header("X-Shopify-Access-Token", &self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        reply(r, order, self.timeout_s).await
    }

    async fn fulfillments(&self, order: &str) -> Result<Fulfillments, SalesError> {
        self.get(&format!("orders/{order}/fulfillments.json"), order).await
    }
}

impl FulfilmentPush for Shopify {
    async fn shipped(&self, f: &Fulfilment) -> Result<Receipt, SalesError> {
        let order = numeric_order_id(f, "Shopify")?;
        // A retry after a lost answer finds the fulfilment the first attempt made.
        if let Some(done) = self.fulfillments(order).await?.with_tracking(&f.tracking_number) {
            return Ok(Receipt { remote_ref: Some(done.id.to_string()), already_there: true });
        }
        let open: FulfillmentOrders = self.get(&format!("orders/{order}/fulfillment_orders.json"), order).await?;
        let ids = open.open_ids();
        if ids.is_empty() {
            return Err(SalesError::Rejected {
                status: 0,
                message: format!("order {order} has no open fulfillment order (fulfilled or cancelled in Shopify)"),
            });
        }
        let created: CreatedFulfillment = self.post("fulfillments.json", order, &FulfillmentBody::new(&ids, f)).await?;
        Ok(Receipt { remote_ref: Some(created.fulfillment.id.to_string()), already_there: false })
    }

    async fn delivered(&self, f: &Fulfilment) -> Result<Receipt, SalesError> {
        let order = numeric_order_id(f, "Shopify")?;
        let Some(ful) = self.fulfillments(order).await?.with_tracking(&f.tracking_number) else {
            return Err(SalesError::NotYet(format!(
                "order {order} has no fulfillment with tracking number {} yet",
                f.tracking_number
            )));
        };
        if ful.shipment_status.as_deref() == Some("delivered") {
            return Ok(Receipt { remote_ref: Some(ful.id.to_string()), already_there: true });
        }
        let path = format!("orders/{order}/fulfillments/{}/events.json", ful.id);
        let ev: CreatedEvent = self.post(&path, order, &EventBody::delivered(f.at)).await?;
        Ok(Receipt { remote_ref: Some(ev.fulfillment_event.id.to_string()), already_there: false })
    }
}
