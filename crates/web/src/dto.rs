//! The wire shapes API v1 shares across resources (money, pages, times); each resource's own are beside its
//! handlers in `routes/`. Requests are strict (unknown fields are refused, so a typo cannot silently
//! drop data); they convert into the domain's input types, which do the checking.

use codflow_domain::Money;
use codflow_domain::order::MoneyInput;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// An amount as a decimal string with at most the currency's minor digits, and an ISO 4217 currency.
#[derive(Deserialize, Serialize, ToSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct MoneyDto {
    #[schema(example = "129.50")]
    pub amount: String,
    #[schema(example = "SAR")]
    pub currency: String,
}

impl From<Money> for MoneyDto {
    fn from(m: Money) -> Self {
        MoneyDto { amount: m.amount_string(), currency: m.currency.code().to_owned() }
    }
}

impl MoneyDto {
    /// The amount in its currency, or a 422 naming `field`.
    pub fn money(&self, field: &'static str) -> Result<Money, crate::ApiError> {
        let c = codflow_domain::Currency::parse(self.currency.trim())
            .map_err(|e| crate::ApiError::field(field, e.to_string()))?;
        Money::parse(self.amount.trim(), c).map_err(|e| crate::ApiError::field(field, e.to_string()))
    }
}

impl From<MoneyDto> for MoneyInput {
    fn from(m: MoneyDto) -> Self {
        MoneyInput { amount: m.amount, currency: Some(m.currency) }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> Page<T> {
    /// A list short enough to come whole: the list shape, with no next page.
    pub fn whole(items: Vec<T>) -> Self {
        Page { items, next_cursor: None }
    }
}

/// A JSON response. axum's own writes through a 128-byte `BytesMut` a token at a time (a reserve and a
/// copy per key, quote and comma, and the buffer regrown as it fills); a quote's kilobyte went through
/// that about three hundred times. Serialized into one `Vec` sized for a typical answer, handed to the
/// body without a copy.
pub struct Json<T>(pub T);

impl<T: Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        use axum::http::{HeaderValue, header};
        let mut buf = Vec::with_capacity(1024);
        match serde_json::to_writer(&mut buf, &self.0) {
            Ok(()) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], buf).into_response(),
            Err(e) => {
                crate::ApiError::Internal(format!("the answer could not be written as JSON: {e}")).into_response()
            }
        }
    }
}
