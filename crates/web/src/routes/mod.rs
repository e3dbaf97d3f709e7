pub mod access;
pub mod attach;
pub mod carrier_accounts;
pub mod catalogue;
pub mod channel_sync;
pub mod claims;
pub mod dashboards;
pub mod documents;
pub mod finance;
pub mod floor;
pub mod fx_rates;
pub mod imports;
pub mod inbound;
pub mod logistics;
pub mod notifications;
pub mod orders;
pub mod packaging;
pub mod profit;
pub mod public;
pub mod returns;
pub mod review;
pub mod settings;
pub mod shops;
pub mod statements;
pub mod system;
pub mod tasks;
pub mod tracking;

use crate::ApiError;

/// Parses `limit` (default 50, at most 500) for every list endpoint.
/// The paging parameters of a list: `limit` (1 to 500, default 50) and `cursor` (from the previous page).
#[derive(serde::Deserialize, Default, Debug)]
pub struct PageQuery {
    #[serde(default)]
    pub limit: Option<String>,
    #[serde(default)]
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit.as_deref() {
            None => Ok(50),
            Some(l) => match l.parse::<i64>() {
                Ok(n) if (1..=500).contains(&n) => Ok(n),
                _ => Err(ApiError::field("limit", "must be a whole number from 1 to 500")),
            },
        }
    }

    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }
}
