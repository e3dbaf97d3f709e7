//! Magento 2 / Adobe Commerce REST, orders: https://developer.adobe.com/commerce/webapi/rest/tutorials/orders/
//! and search criteria: https://developer.adobe.com/commerce/webapi/rest/use-rest/performing-searches/.
//! Authenticated with an integration's access token as a bearer token.

pub mod transformers;

use std::time::Duration;

use super::inbound::utc_naive;
use super::{OrderPull, PullPage, SalesError, base_url, client, fetch, id_text, json, pulled, transport};
use transformers::SearchResult;

const PAGE_SIZE: u32 = 100;

pub struct Magento {
    client: reqwest::Client,
    base: reqwest::Url,
    token: String,
    timeout_s: u64,
}

impl Magento {
    pub fn new(base: &str, access_token: &str, timeout: Duration) -> Result<Magento, SalesError> {
        if access_token.is_empty() {
            return Err(SalesError::Config("a Magento store needs an access_token".into()));
        }
        Ok(Magento {
            client: client(timeout)?,
            base: base_url(base)?,
            token: access_token.to_owned(),
            timeout_s: timeout.as_secs().max(1),
        })
    }
}

impl OrderPull for Magento {
    async fn orders_page(&self, since: time::OffsetDateTime, cursor: Option<&str>) -> Result<PullPage, SalesError> {
        let page: u32 = match cursor {
            Some(c) => c.parse().map_err(|_| SalesError::Config(format!("{c:?} is not a Magento page number")))?,
            None => 1,
        };
        let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        let since = since.to_offset(time::UtcOffset::UTC).format(&fmt).unwrap_or_default();
        let mut u = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{prefix}/rest/V1/orders"));
        let f = "searchCriteria[filter_groups][0][filters][0]";
        u.query_pairs_mut()
            .append_pair(&format!("{f}[field]"), "updated_at")
            .append_pair(&format!("{f}[value]"), &since)
            .append_pair(&format!("{f}[condition_type]"), "gt")
            .append_pair("searchCriteria[sortOrders][0][field]", "updated_at")
            .append_pair("searchCriteria[sortOrders][0][direction]", "ASC")
            .append_pair("searchCriteria[pageSize]", &PAGE_SIZE.to_string())
            .append_pair("searchCriteria[currentPage]", &page.to_string());
        let r = self.client.get(u).bearer_auth(&self.token).send().await.map_err(|e| transport(e, self.timeout_s))?;
        let (_, body) = fetch(r, "orders", self.timeout_s).await?;
        let result: SearchResult = json(&body)?;
        // Magento answers a page past the end with the last page again: stop on the count, not on emptiness.
        let seen = u64::from(page) * u64::from(PAGE_SIZE);
        let next = (seen < result.total_count && !result.items.is_empty()).then(|| (page + 1).to_string());
        let orders =
            pulled(result.items, |o| id_text(&o["entity_id"]), |o| o["updated_at"].as_str().and_then(utc_naive))?;
        Ok(PullPage { orders, next })
    }
}
