//! Amazon Selling Partner API, Orders v0: https://developer-docs.amazon.com/sp-api/docs/orders-api-v0-reference
//! (getOrders with `LastUpdatedAfter` and `NextToken`, getOrderItems, getOrderAddress), merchant-fulfilled
//! orders only (`FulfillmentChannels=MFN`): Amazon ships its own. Each call carries an access token from
//! Login with Amazon (https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api).
//! A pulled order is the order, its items and its address together, as one JSON object.

pub mod transformers;

use std::time::Duration;

use super::oauth::RefreshToken;
use super::{OrderPull, PullPage, Pulled, SalesError, base_url, client, fetch, json, transport};
use transformers::{AddressReply, ItemsReply, OrdersReply};

pub const DEFAULT_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";

pub struct Amazon {
    client: reqwest::Client,
    base: reqwest::Url,
    marketplace: String,
    token: RefreshToken,
    timeout_s: u64,
}

pub struct AmazonCredentials<'a> {
    pub refresh_token: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub marketplace_id: &'a str,
    pub token_url: Option<&'a str>,
}

impl Amazon {
    pub fn new(base: &str, c: AmazonCredentials<'_>, timeout: Duration) -> Result<Amazon, SalesError> {
        if [c.refresh_token, c.client_id, c.client_secret, c.marketplace_id].iter().any(|v| v.is_empty()) {
            return Err(SalesError::Config(
                "an Amazon store needs refresh_token, client_id, client_secret and marketplace_id".into(),
            ));
        }
        let token_url = base_url(c.token_url.unwrap_or(DEFAULT_TOKEN_URL))?;
        let form = vec![
            ("refresh_token", c.refresh_token.to_owned()),
            ("client_id", c.client_id.to_owned()),
            ("client_secret", c.client_secret.to_owned()),
        ];
        Ok(Amazon {
            client: client(timeout)?,
            base: base_url(base)?,
            marketplace: c.marketplace_id.to_owned(),
            token: RefreshToken::new(token_url, form, None),
            timeout_s: timeout.as_secs().max(1),
        })
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<u8>, SalesError> {
        let token = self.token.access_token(&self.client, self.timeout_s).await?;
        let mut u = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{prefix}{path}"));
        u.query_pairs_mut().extend_pairs(query);
        let r = self
            .client
            .get(u)
            .header("x-amz-access-token", token)
            .send()
            .await
            .map_err(|e| transport(e, self.timeout_s))?;
        Ok(fetch(r, path, self.timeout_s).await?.1)
    }

    /// The order with its items (every page of them) and its shipping address.
    async fn whole(&self, order: serde_json::Value) -> Result<Pulled, SalesError> {
        let Some(id) = order["AmazonOrderId"].as_str().map(str::to_owned) else {
            return Err(SalesError::Malformed("an order without AmazonOrderId".into()));
        };
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let q: Vec<(&str, &str)> = next.as_deref().map(|n| vec![("NextToken", n)]).unwrap_or_default();
            let page: ItemsReply = json(&self.get(&format!("/orders/v0/orders/{id}/orderItems"), &q).await?)?;
            items.extend(page.payload.order_items);
            match page.payload.next_token {
                Some(n) if !n.is_empty() => next = Some(n),
                _ => break,
            }
        }
        let address: AddressReply = json(&self.get(&format!("/orders/v0/orders/{id}/address"), &[]).await?)?;
        let updated_at = order["LastUpdateDate"].as_str().and_then(super::inbound::rfc3339);
        let whole = serde_json::json!({"order": order, "items": items, "address": address.payload.shipping_address});
        let body = serde_json::to_vec(&whole).map_err(|e| SalesError::Malformed(e.to_string()))?;
        Ok(Pulled { external_id: id, updated_at, body })
    }
}

impl OrderPull for Amazon {
    async fn orders_page(&self, since: time::OffsetDateTime, cursor: Option<&str>) -> Result<PullPage, SalesError> {
        let since = since.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let q: Vec<(&str, &str)> = match cursor {
            Some(c) => vec![("MarketplaceIds", &self.marketplace), ("NextToken", c)],
            None => vec![
                ("MarketplaceIds", &self.marketplace),
                ("LastUpdatedAfter", &since),
                ("FulfillmentChannels", "MFN"),
                ("MaxResultsPerPage", "100"),
            ],
        };
        let reply: OrdersReply = json(&self.get("/orders/v0/orders", &q).await?)?;
        let mut orders = Vec::with_capacity(reply.payload.orders.len());
        for o in reply.payload.orders {
            orders.push(self.whole(o).await?);
        }
        let next = reply.payload.next_token.filter(|n| !n.is_empty());
        Ok(PullPage { orders, next })
    }
}
