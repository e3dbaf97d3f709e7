pub mod access;
pub mod catalogue;
pub mod channel_sync;
pub mod dashboards;
pub mod documents;
pub mod finance;
pub mod imports;
pub mod logistics;
pub mod orders;
pub mod profit;
pub mod public;
pub mod review;
pub mod stores;
pub mod system;
pub mod tracking;

use std::collections::HashMap;

use codflow_domain::FieldErrors;

use crate::ApiError;

/// Parses `limit` (default 50, at most 500) for every list endpoint.
pub fn limit_of(q: &HashMap<String, String>) -> Result<i64, ApiError> {
    match q.get("limit") {
        None => Ok(50),
        Some(l) => match l.parse::<i64>() {
            Ok(n) if (1..=500).contains(&n) => Ok(n),
            _ => {
                let mut e = FieldErrors::default();
                e.push("limit", "must be a whole number from 1 to 500");
                Err(ApiError::Invalid(e))
            }
        },
    }
}

/// The `cursor` of a list request: the last key of the previous page, absent for the first page.
pub fn cursor_of(q: &HashMap<String, String>) -> Option<&str> {
    q.get("cursor").map(String::as_str).filter(|c| !c.is_empty())
}
