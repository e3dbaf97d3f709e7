//! Shopify over the GraphQL Admin API, version 2026-10 (https://shopify.dev/docs/api/admin-graphql/2026-10;
//! versions are supported for a year: https://shopify.dev/docs/api/usage/versioning). Every call is a POST
//! to `/admin/api/2026-10/graphql.json` with `X-Shopify-Access-Token`.
//! - Shipped: the order's open fulfilment orders fulfilled with the tracking number and link
//!   (`fulfillmentCreate`); delivered: a `DELIVERED` event on that fulfilment (`fulfillmentEventCreate`).
//! - Pulled: `orders` changed since a time, by cursor (https://shopify.dev/docs/api/usage/pagination-graphql),
//!   each turned into the shape webhooks deliver so one mapper reads both.
//! - Stock: `inventorySetQuantities` of the `available` quantity at the shop's location, with the idempotency
//!   key the API requires from 2026-04.
//!
//! Errors: HTTP statuses as usual (401/403 credentials, 429, 5xx); GraphQL's own errors arrive with HTTP 200,
//! `THROTTLED` (the cost bucket is empty) as a rate limit, `ACCESS_DENIED` as refused credentials; a mutation's
//! `userErrors` are a refusal.

pub mod transformers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::inbound::rfc3339;
use super::{
    Fulfilment, FulfilmentPush, OrderPull, PullPage, Receipt, SalesError, StockPush, base_url, client, fetch, id_text,
    json, numeric_order_id, pulled, transport,
};
use transformers::{
    EventCreated, FulfillmentCreated, LocationsData, OneOrderData, OrderData, OrdersData, QuantitiesSet, Request,
    Response, VariantsData, legacy_id, user_errors,
};

pub const API_VERSION: &str = "2026-10";

/// Webhooks: https://shopify.dev/docs/apps/build/webhooks/subscribe/https (HMAC-SHA256 of the body, base64).
pub const WEBHOOK: super::Webhooks = super::Webhooks {
    topic: "x-shopify-topic",
    delivery_id: "x-shopify-webhook-id",
    signature: "x-shopify-hmac-sha256",
    verify: super::inbound::verify_signature,
    // Shopify sends no ping: a subscription is confirmed by its first delivery.
    is_ping: |_| false,
};

#[derive(Clone)]
pub struct Shopify {
    client: reqwest::Client,
    base: reqwest::Url,
    token: String,
    timeout_s: u64,
    location: Option<u64>,
    /// SKU → inventory item id, read once from the variants.
    items: Arc<Mutex<Option<HashMap<String, String>>>>,
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

    fn url(&self) -> reqwest::Url {
        let mut u = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        u.set_path(&format!("{prefix}/admin/api/{API_VERSION}/graphql.json"));
        u
    }

    /// One GraphQL call; `what` names the order or SKU it is about, for errors.
    async fn graphql<T: serde::de::DeserializeOwned>(
        &self,
        query: &str,
        variables: serde_json::Value,
        what: &str,
    ) -> Result<T, SalesError> {
        let r = self
            .client
            .post(self.url())
            .header("X-Shopify-Access-Token", &self.token)
            .json(&Request { query, variables })
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        let (_, body) = fetch(r, what, self.timeout_s).await?;
        let reply: Response<T> = json(&body)?;
        if let Some(e) = reply.errors.first() {
            let code = e.extensions.as_ref().and_then(|x| x.code.as_deref()).unwrap_or("");
            return Err(match code {
                // The bucket refills at its restore rate: wait until it holds what the query costs.
                "THROTTLED" => SalesError::RateLimited {
                    retry_after: transformers::throttle_wait(reply.extensions.as_ref())
                        .or(Some(Duration::from_secs(1))),
                },
                "ACCESS_DENIED" => SalesError::Unauthorized(403),
                "INTERNAL_SERVER_ERROR" => SalesError::Unavailable(e.message.clone()),
                _ => SalesError::Rejected { status: 400, message: format!("{code} {}", e.message).trim().to_owned() },
            });
        }
        reply.data.ok_or_else(|| SalesError::Malformed("a GraphQL reply without data or errors".into()))
    }

    async fn fulfilments_of(&self, order: &str) -> Result<transformers::OrderFulfilments, SalesError> {
        let id = format!("gid://shopify/Order/{order}");
        let d: OrderData = self.graphql(transformers::ORDER_FULFILMENTS, json!({"id": id}), order).await?;
        d.order.ok_or_else(|| SalesError::UnknownOrder(order.to_owned()))
    }

    async fn inventory_item(&self, sku: &str) -> Result<Option<String>, SalesError> {
        if let Some(map) = self.items.lock().expect("inventory cache").as_ref() {
            return Ok(map.get(sku).cloned());
        }
        let mut map = HashMap::new();
        let mut after: Option<String> = None;
        loop {
            let d: VariantsData = self.graphql(transformers::VARIANTS, json!({"after": after}), sku).await?;
            for v in d.product_variants.nodes {
                if let (Some(sku), Some(item)) = (v.sku.filter(|s| !s.is_empty()), v.inventory_item) {
                    map.insert(sku, item.id);
                }
            }
            match d.product_variants.page_info {
                Some(p) if p.has_next_page && p.end_cursor.is_some() => after = p.end_cursor,
                _ => break,
            }
        }
        let found = map.get(sku).cloned();
        *self.items.lock().expect("inventory cache") = Some(map);
        Ok(found)
    }

    async fn location_id(&self) -> Result<String, SalesError> {
        if let Some(l) = self.location {
            return Ok(format!("gid://shopify/Location/{l}"));
        }
        let d: LocationsData = self.graphql(transformers::LOCATIONS, json!({}), "locations").await?;
        d.locations.nodes.into_iter().find(|l| l.is_active.unwrap_or(true)).map(|l| l.id).ok_or_else(|| {
            SalesError::Rejected { status: 0, message: "the shop has no active location to hold stock".into() }
        })
    }
}

fn refused(errors: &[transformers::UserError]) -> Option<SalesError> {
    user_errors(errors).map(|message| SalesError::Rejected { status: 422, message })
}

impl FulfilmentPush for Shopify {
    async fn shipped(&self, f: &Fulfilment) -> Result<Receipt, SalesError> {
        let order = numeric_order_id(f, "Shopify")?;
        let now = self.fulfilments_of(order).await?;
        // A retry after a lost answer finds the fulfilment the first attempt made.
        if let Some(done) = now.with_tracking(&f.tracking_number) {
            return Ok(Receipt { remote_ref: Some(legacy_id(&done.id).to_owned()), already_there: true });
        }
        let ids = now.open_ids();
        if ids.is_empty() {
            return Err(SalesError::Rejected {
                status: 0,
                message: format!("order {order} has no open fulfillment order (fulfilled or cancelled in Shopify)"),
            });
        }
        let vars = transformers::fulfillment_input(&ids, f);
        let d: FulfillmentCreated = self.graphql(transformers::FULFILLMENT_CREATE, vars, order).await?;
        let payload = d.fulfillment_create.ok_or_else(|| SalesError::Malformed("no fulfillmentCreate".into()))?;
        if let Some(e) = refused(&payload.user_errors) {
            return Err(e);
        }
        let created = payload.fulfillment.ok_or_else(|| SalesError::Malformed("no fulfillment created".into()))?;
        Ok(Receipt { remote_ref: Some(legacy_id(&created.id).to_owned()), already_there: false })
    }

    async fn delivered(&self, f: &Fulfilment) -> Result<Receipt, SalesError> {
        let order = numeric_order_id(f, "Shopify")?;
        let now = self.fulfilments_of(order).await?;
        let Some(ful) = now.with_tracking(&f.tracking_number) else {
            return Err(SalesError::NotYet(format!(
                "order {order} has no fulfillment with tracking number {} yet",
                f.tracking_number
            )));
        };
        if ful.display_status.as_deref() == Some("DELIVERED") {
            return Ok(Receipt { remote_ref: Some(legacy_id(&ful.id).to_owned()), already_there: true });
        }
        let vars = transformers::delivered_event(&ful.id, f.at);
        let d: EventCreated = self.graphql(transformers::FULFILLMENT_EVENT_CREATE, vars, order).await?;
        let payload = d.fulfillment_event_create.ok_or_else(|| SalesError::Malformed("no event created".into()))?;
        if let Some(e) = refused(&payload.user_errors) {
            return Err(e);
        }
        let ev = payload.fulfillment_event.ok_or_else(|| SalesError::Malformed("no fulfillment event".into()))?;
        Ok(Receipt { remote_ref: Some(legacy_id(&ev.id).to_owned()), already_there: false })
    }
}

impl OrderPull for Shopify {
    async fn orders_page(&self, since: time::OffsetDateTime, cursor: Option<&str>) -> Result<PullPage, SalesError> {
        let since = since.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let vars = json!({"query": format!("updated_at:>='{since}'"), "after": cursor});
        let d: OrdersData = self.graphql(&transformers::orders_query(), vars, "orders").await?;
        let mut orders = Vec::with_capacity(d.orders.nodes.len());
        for o in d.orders.nodes {
            let whole = if o.lines_cut() {
                let id = format!("gid://shopify/Order/{}", id_text(&o.legacy_resource_id).unwrap_or_default());
                let one: OneOrderData = self.graphql(&transformers::order_query(), json!({"id": id}), "orders").await?;
                one.order.unwrap_or(o)
            } else {
                o
            };
            if whole.lines_cut() {
                return Err(SalesError::Rejected {
                    status: 0,
                    message: format!(
                        "Shopify order {} has more than 250 lines; codflow cannot read it whole",
                        id_text(&whole.legacy_resource_id).unwrap_or_default()
                    ),
                });
            }
            orders.push(whole.to_rest());
        }
        let orders = pulled(orders, |o| id_text(&o["id"]), |o| o["updated_at"].as_str().and_then(rfc3339))?;
        let next = d.orders.page_info.filter(|p| p.has_next_page).and_then(|p| p.end_cursor);
        Ok(PullPage { orders, next })
    }
}

impl StockPush for Shopify {
    async fn set_stock(&self, sku: &str, available: i64) -> Result<bool, SalesError> {
        let Some(item) = self.inventory_item(sku).await? else { return Ok(false) };
        let location = self.location_id().await?;
        // Each set is absolute, so a replay is harmless; the key makes Shopify apply one request once.
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let key = format!("codflow-{}-{}-{available}-{nanos}", legacy_id(&item), legacy_id(&location));
        let vars = transformers::set_available(&item, &location, available, &key);
        let d: QuantitiesSet = self.graphql(transformers::SET_QUANTITIES, vars, sku).await?;
        if let Some(e) = d.inventory_set_quantities.as_ref().and_then(|p| refused(&p.user_errors)) {
            return Err(e);
        }
        Ok(true)
    }
}
