//! eBay Sell Fulfillment API, getOrders: https://developer.ebay.com/api-docs/sell/fulfillment/resources/order/methods/getOrders
//! (`filter=lastmodifieddate:[from..]`, `limit`/`offset` pages). Each call carries a user access token bought
//! with the store's refresh token (https://developer.ebay.com/api-docs/static/oauth-refresh-token-request.html).

pub mod transformers;

use std::time::Duration;

use super::oauth::RefreshToken;
use super::{OrderPull, PullPage, SalesError, base_url, client, fetch, id_text, json, pulled, transport};
use transformers::OrdersReply;

pub const DEFAULT_TOKEN_URL: &str = "https://api.ebay.com/identity/v1/oauth2/token";
const SCOPE: &str = "https://api.ebay.com/oauth/api_scope/sell.fulfillment";
const PAGE_SIZE: u32 = 200;

pub struct Ebay {
    client: reqwest::Client,
    base: reqwest::Url,
    token: RefreshToken,
    timeout_s: u64,
}

impl Ebay {
    pub fn new(
        base: &str,
        refresh_token: &str,
        client_id: &str,
        client_secret: &str,
        token_url: Option<&str>,
        timeout: Duration,
    ) -> Result<Ebay, SalesError> {
        if [refresh_token, client_id, client_secret].iter().any(|v| v.is_empty()) {
            return Err(SalesError::Config("an eBay store needs refresh_token, client_id and client_secret".into()));
        }
        let form = vec![("refresh_token", refresh_token.to_owned()), ("scope", SCOPE.to_owned())];
        Ok(Ebay {
            client: client(timeout)?,
            base: base_url(base)?,
            token: RefreshToken::new(
                base_url(token_url.unwrap_or(DEFAULT_TOKEN_URL))?,
                form,
                Some((client_id.to_owned(), client_secret.to_owned())),
            ),
            timeout_s: timeout.as_secs().max(1),
        })
    }
}

/// A time as eBay's filters take it: UTC with exactly three fractional digits (`2016-03-21T08:25:43.511Z`);
/// RFC 3339 with microseconds is not what the Fulfillment API documents.
fn ebay_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.format(&fmt).unwrap_or_default()
}

impl OrderPull for Ebay {
    async fn orders_page(&self, since: time::OffsetDateTime, cursor: Option<&str>) -> Result<PullPage, SalesError> {
        let offset: u32 = match cursor {
            Some(c) => c.parse().map_err(|_| SalesError::Config(format!("{c:?} is not an eBay offset")))?,
            None => 0,
        };
        let since = ebay_time(since);
        let mut u = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{prefix}/sell/fulfillment/v1/order"));
        u.query_pairs_mut()
            .append_pair("filter", &format!("lastmodifieddate:[{since}..]"))
            .append_pair("limit", &PAGE_SIZE.to_string())
            .append_pair("offset", &offset.to_string());
        let token = self.token.access_token(&self.client, self.timeout_s).await?;
        let r = self.client.get(u).bearer_auth(token).send().await.map_err(|e| transport(e, self.timeout_s))?;
        let (_, body) = fetch(r, "orders", self.timeout_s).await?;
        let reply: OrdersReply = json(&body)?;
        let after = u64::from(offset) + reply.orders.len() as u64;
        let next = (!reply.orders.is_empty() && after < reply.total).then(|| after.to_string());
        let orders = pulled(
            reply.orders,
            |o| id_text(&o["orderId"]),
            |o| o["lastModifiedDate"].as_str().and_then(super::inbound::rfc3339),
        )?;
        Ok(PullPage { orders, next })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn filter_times_are_utc_with_milliseconds() {
        let t = time::macros::datetime!(2026-12-01 13:25:43.511_987 +03:00);
        assert_eq!(super::ebay_time(t), "2026-12-01T10:25:43.511Z");
        assert_eq!(super::ebay_time(time::macros::datetime!(2026-12-01 10:00 UTC)), "2026-12-01T10:00:00.000Z");
    }
}
