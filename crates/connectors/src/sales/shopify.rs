//! Shopify Admin REST API, fulfilments: https://shopify.dev/docs/api/admin-rest/2025-01/resources/fulfillment
//! and fulfillment events: https://shopify.dev/docs/api/admin-rest/2025-01/resources/fulfillmentevent.
//! A fulfilment is created against the order's open fulfilment orders with the tracking number and link;
//! delivery is a `delivered` event on that fulfilment. Authenticated with `X-Shopify-Access-Token`.
//! Orders are pulled from https://shopify.dev/docs/api/admin-rest/2025-01/resources/order#get-orders (cursor
//! pagination through the `Link` header: https://shopify.dev/docs/api/usage/pagination-rest) and stock is set with
//! https://shopify.dev/docs/api/admin-rest/2025-01/resources/inventorylevel#post-inventory-levels-set.

pub mod transformers;

use std::time::Duration;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::inbound::rfc3339;
use super::{
    Fulfilment, FulfilmentPush, OrderPull, PullPage, Receipt, SalesError, StockPush, base_url, client, fetch, id_text,
    json, numeric_order_id, pulled, reply, transport,
};
use transformers::{
    CreatedEvent, CreatedFulfillment, EventBody, FulfillmentBody, FulfillmentOrders, Fulfillments, Locations,
    OrdersPage, ProductsPage, SetLevel,
};

pub const API_VERSION: &str = "2025-01";

#[derive(Clone)]
pub struct Shopify {
    client: reqwest::Client,
    base: reqwest::Url,
    token: String,
    timeout_s: u64,
    location: Option<u64>,
    /// SKU → inventory item, read once from the product list.
    items: Arc<Mutex<Option<HashMap<String, u64>>>>,
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
            location: None,
            items: Arc::default(),
        })
    }

    /// The location stock levels are set at (default: the shop's first active location).
    pub fn at_location(mut self, location: Option<u64>) -> Self {
        self.location = location;
        self
    }

    async fn get_page(&self, u: reqwest::Url) -> Result<(Option<String>, Vec<u8>), SalesError> {
        let r = self
            .client
            .get(u)
            .header("X-Shopify-Access-Token", &self.token)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let (headers, body) = fetch(r, "orders", self.timeout_s).await?;
        Ok((next_page_info(&headers), body))
    }

    async fn inventory_item(&self, sku: &str) -> Result<Option<u64>, SalesError> {
        if let Some(map) = self.items.lock().expect("inventory cache").as_ref() {
            return Ok(map.get(sku).copied());
        }
        let mut map = HashMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut u = self.url("products.json");
            u.query_pairs_mut().append_pair("limit", "250").append_pair("fields", "id,variants");
            if let Some(c) = &cursor {
                u.query_pairs_mut().append_pair("page_info", c);
            }
            let (next, body) = self.get_page(u).await?;
            let page: ProductsPage = json(&body)?;
            for v in page.products.into_iter().flat_map(|p| p.variants) {
                if let (Some(sku), Some(item)) = (v.sku.filter(|s| !s.is_empty()), v.inventory_item_id) {
                    map.insert(sku, item);
                }
            }
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        let found = map.get(sku).copied();
        *self.items.lock().expect("inventory cache") = Some(map);
        Ok(found)
    }

    async fn location_id(&self) -> Result<u64, SalesError> {
        if let Some(l) = self.location {
            return Ok(l);
        }
        let l: Locations = self.get("locations.json", "locations").await?;
        l.locations.into_iter().find(|l| l.active.unwrap_or(true)).map(|l| l.id).ok_or_else(|| SalesError::Rejected {
            status: 0,
            message: "the shop has no active location to hold stock".into(),
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

/// The `page_info` of the `rel="next"` link, if there is a next page.
fn next_page_info(h: &reqwest::header::HeaderMap) -> Option<String> {
    let link = h.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let url = part.split('<').nth(1)?.split('>').next()?;
        let url = reqwest::Url::parse(url).ok()?;
        url.query_pairs().find(|(k, _)| k == "page_info").map(|(_, v)| v.into_owned())
    })
}

impl OrderPull for Shopify {
    async fn orders_page(&self, since: time::OffsetDateTime, cursor: Option<&str>) -> Result<PullPage, SalesError> {
        let mut u = self.url("orders.json");
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("limit", "250");
            match cursor {
                // With page_info Shopify refuses every other filter: the cursor carries them.
                Some(c) => {
                    q.append_pair("page_info", c);
                }
                None => {
                    let since = since.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                    q.append_pair("status", "any")
                        .append_pair("updated_at_min", &since)
                        .append_pair("order", "updated_at asc");
                }
            }
        }
        let (next, body) = self.get_page(u).await?;
        let page: OrdersPage = json(&body)?;
        let orders = pulled(page.orders, |o| id_text(&o["id"]), |o| o["updated_at"].as_str().and_then(rfc3339))?;
        Ok(PullPage { orders, next })
    }
}

impl StockPush for Shopify {
    async fn set_stock(&self, sku: &str, available: i64) -> Result<bool, SalesError> {
        let Some(item) = self.inventory_item(sku).await? else { return Ok(false) };
        let location = self.location_id().await?;
        let body = SetLevel { location_id: location, inventory_item_id: item, available };
        let _: serde_json::Value = self.post("inventory_levels/set.json", sku, &body).await?;
        Ok(true)
    }
}
