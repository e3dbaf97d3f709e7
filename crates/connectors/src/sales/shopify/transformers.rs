//! Shopify's fulfilment shapes: only the fields codflow reads or writes; unknown fields are ignored as the
//! API adds them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::sales::Fulfilment;

#[derive(Deserialize, Debug)]
pub struct Fulfillments {
    pub fulfillments: Vec<Fulfillment>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Fulfillment {
    pub id: u64,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub tracking_numbers: Vec<String>,
    #[serde(default)]
    pub shipment_status: Option<String>,
}

impl Fulfillments {
    /// The live fulfilment that carries this tracking number, if the shop has one.
    pub fn with_tracking(self, tracking: &str) -> Option<Fulfillment> {
        self.fulfillments.into_iter().find(|f| {
            f.status.as_deref() != Some("cancelled")
                && (f.tracking_number.as_deref() == Some(tracking) || f.tracking_numbers.iter().any(|t| t == tracking))
        })
    }
}

#[derive(Deserialize, Debug)]
pub struct FulfillmentOrders {
    pub fulfillment_orders: Vec<FulfillmentOrder>,
}

#[derive(Deserialize, Debug)]
pub struct FulfillmentOrder {
    pub id: u64,
    pub status: String,
}

impl FulfillmentOrders {
    /// Fulfilment orders that can still be fulfilled: all their lines go in the one parcel.
    pub fn open_ids(&self) -> Vec<u64> {
        self.fulfillment_orders
            .iter()
            .filter(|o| matches!(o.status.as_str(), "open" | "in_progress"))
            .map(|o| o.id)
            .collect()
    }
}

#[derive(Serialize)]
pub struct FulfillmentBody<'a> {
    fulfillment: NewFulfillment<'a>,
}

#[derive(Serialize)]
struct NewFulfillment<'a> {
    line_items_by_fulfillment_order: Vec<ByOrder>,
    tracking_info: TrackingInfo<'a>,
    /// codflow writes to the buyer itself, in their language; Shopify's email would say it twice.
    notify_customer: bool,
}

#[derive(Serialize)]
struct ByOrder {
    fulfillment_order_id: u64,
}

#[derive(Serialize)]
struct TrackingInfo<'a> {
    number: &'a str,
    url: &'a str,
    company: &'a str,
}

impl<'a> FulfillmentBody<'a> {
    pub fn new(ids: &[u64], f: &'a Fulfilment) -> Self {
        FulfillmentBody {
            fulfillment: NewFulfillment {
                line_items_by_fulfillment_order: ids.iter().map(|&id| ByOrder { fulfillment_order_id: id }).collect(),
                tracking_info: TrackingInfo { number: &f.tracking_number, url: &f.tracking_url, company: &f.company },
                notify_customer: false,
            },
        }
    }
}

#[derive(Deserialize, Debug)]
pub struct CreatedFulfillment {
    pub fulfillment: Created,
}

#[derive(Deserialize, Debug)]
pub struct Created {
    pub id: u64,
}

#[derive(Serialize)]
pub struct EventBody {
    event: NewEvent,
}

#[derive(Serialize)]
struct NewEvent {
    status: &'static str,
    happened_at: String,
}

impl EventBody {
    pub fn delivered(at: OffsetDateTime) -> Self {
        EventBody { event: NewEvent { status: "delivered", happened_at: at.format(&Rfc3339).unwrap_or_default() } }
    }
}

#[derive(Deserialize, Debug)]
pub struct CreatedEvent {
    pub fulfillment_event: Created,
}
