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

// ---- Orders in: https://shopify.dev/docs/api/admin-rest/2025-01/resources/order ----

use codflow_domain::FieldErrors;
use codflow_domain::order::{AddressInput, BuyerInput};
use rust_decimal::Decimal;

use crate::sales::inbound::{
    Amount, Assembled, ChannelOrder, Draft, DraftLine, ShopState, assemble, first, is_cod, join_name, parse_json,
    rfc3339, text, timestamp,
};

/// An amount in the shop's currency and in the buyer's (presentment) currency.
#[derive(Deserialize, Debug, Default)]
pub struct MoneySet {
    #[serde(default)]
    pub shop_money: Option<MoneyBag>,
    #[serde(default)]
    pub presentment_money: Option<MoneyBag>,
}

#[derive(Deserialize, Debug)]
pub struct MoneyBag {
    pub amount: Amount,
    #[serde(default)]
    pub currency_code: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
pub struct Address {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub zip: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
pub struct Customer {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct Allocation {
    pub amount: Amount,
    #[serde(default)]
    pub amount_set: Option<MoneySet>,
}

#[derive(Deserialize, Debug)]
pub struct Duty {
    #[serde(default)]
    pub price_set: Option<MoneySet>,
}

#[derive(Deserialize, Debug)]
pub struct LineItem {
    #[serde(default)]
    pub sku: Option<String>,
    pub quantity: i64,
    pub price: Amount,
    #[serde(default)]
    pub price_set: Option<MoneySet>,
    /// Weight of one unit as the shop knows it; codflow weighs by its own catalogue.
    #[serde(default)]
    pub grams: Option<i64>,
    #[serde(default)]
    pub requires_shipping: Option<bool>,
    #[serde(default)]
    pub discount_allocations: Vec<Allocation>,
    #[serde(default)]
    pub duties: Vec<Duty>,
}

#[derive(Deserialize, Debug)]
pub struct ShippingLine {
    pub price: Amount,
    #[serde(default)]
    pub price_set: Option<MoneySet>,
}

/// The order as webhooks (orders/create, orders/updated, orders/cancelled) and `orders.json` give it.
#[derive(Deserialize, Debug)]
pub struct Order {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub processed_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub cancelled_at: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub presentment_currency: Option<String>,
    #[serde(default)]
    pub financial_status: Option<String>,
    #[serde(default)]
    pub payment_gateway_names: Vec<String>,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub contact_email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub customer: Option<Customer>,
    #[serde(default)]
    pub shipping_address: Option<Address>,
    #[serde(default)]
    pub billing_address: Option<Address>,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    #[serde(default)]
    pub shipping_lines: Vec<ShippingLine>,
    #[serde(default)]
    pub total_price: Option<Amount>,
    #[serde(default)]
    pub total_price_set: Option<MoneySet>,
    /// The total after edits and refunds: what the buyer still owes on delivery.
    #[serde(default)]
    pub current_total_price: Option<Amount>,
    #[serde(default)]
    pub current_total_price_set: Option<MoneySet>,
}

/// An orders page: `{"orders": [...]}`.
#[derive(Deserialize, Debug)]
pub struct OrdersPage {
    pub orders: Vec<serde_json::Value>,
}

/// The amount in the buyer's currency: the presentment amount when the shop sent the set, else the plain
/// amount, which Shopify gives in the shop's currency and is only right when both currencies are the same.
fn pick(plain: Amount, set: &Option<MoneySet>, presentment: bool) -> Decimal {
    let bag = set.as_ref().and_then(|s| if presentment { s.presentment_money.as_ref() } else { s.shop_money.as_ref() });
    bag.map(|b| b.amount.0).unwrap_or(plain.0)
}

impl Order {
    pub fn updated(&self) -> Option<time::OffsetDateTime> {
        self.updated_at.as_deref().and_then(rfc3339)
    }

    pub fn map(self, cod_gateways: &[String]) -> Result<ChannelOrder, FieldErrors> {
        let mut e = FieldErrors::default();
        let shop_currency = text(&self.currency);
        let currency = text(&self.presentment_currency).or(shop_currency.clone());
        let presentment = currency != shop_currency;
        if presentment && self.total_price_set.is_none() && self.current_total_price_set.is_none() {
            e.push("total_price_set", "is required when the presentment currency differs from the shop's");
        }
        let mut lines = Vec::new();
        let mut goods = Decimal::ZERO;
        let mut duties = Decimal::ZERO;
        for (i, l) in self.line_items.iter().enumerate() {
            let price = pick(l.price, &l.price_set, presentment);
            let discount: Decimal =
                l.discount_allocations.iter().map(|a| pick(a.amount, &a.amount_set, presentment)).sum();
            let line_total = price * Decimal::from(l.quantity) - discount;
            duties += l
                .duties
                .iter()
                .filter_map(|d| d.price_set.as_ref())
                .map(|s| set_amount(s, presentment))
                .sum::<Decimal>();
            // Gift cards and digital goods do not travel in the parcel.
            if l.requires_shipping == Some(false) || l.quantity == 0 {
                continue;
            }
            goods += line_total;
            lines.push(DraftLine {
                path: format!("line_items[{i}]"),
                sku: l.sku.clone(),
                quantity: l.quantity,
                total: line_total,
            });
        }
        let total = match (&self.current_total_price, &self.current_total_price_set) {
            (Some(p), s) => pick(*p, s, presentment),
            (None, Some(s)) => set_amount(s, presentment),
            (None, None) => match (&self.total_price, &self.total_price_set) {
                (Some(p), s) => pick(*p, s, presentment),
                (None, Some(s)) => set_amount(s, presentment),
                (None, None) => {
                    let shipping: Decimal =
                        self.shipping_lines.iter().map(|s| pick(s.price, &s.price_set, presentment)).sum();
                    goods + shipping + duties
                }
            },
        };
        let ship = self.shipping_address.unwrap_or_default();
        let bill = self.billing_address.unwrap_or_default();
        let customer = self.customer.unwrap_or_default();
        let mut gateways = self.payment_gateway_names.clone();
        gateways.extend(text(&self.gateway));
        let cod = is_cod(&gateways, cod_gateways);
        let financial = self.financial_status.as_deref().unwrap_or("");
        let state = if self.cancelled_at.as_deref().is_some_and(|s| !s.trim().is_empty()) {
            ShopState::Cancelled
        } else if !cod && matches!(financial, "pending" | "voided" | "expired") {
            ShopState::NotReady(format!("prepaid order with financial status {financial}"))
        } else {
            ShopState::Open
        };
        let placed = timestamp(&mut e, "processed_at", &self.processed_at, rfc3339)
            .or_else(|| timestamp(&mut e, "created_at", &self.created_at, rfc3339));
        let updated = timestamp(&mut e, "updated_at", &self.updated_at, rfc3339);
        let a = Assembled {
            external_id: self.id.to_string(),
            placed_at: placed,
            cod,
            buyer: BuyerInput {
                name: join_name(&customer.first_name, &customer.last_name)
                    .or_else(|| first(&[&ship.name]))
                    .or_else(|| join_name(&ship.first_name, &ship.last_name)),
                phone: first(&[&ship.phone, &self.phone, &customer.phone, &bill.phone]),
                email: first(&[&self.email, &self.contact_email, &customer.email]),
            },
            address: AddressInput {
                name: first(&[&ship.name]).or_else(|| join_name(&ship.first_name, &ship.last_name)),
                phone: first(&[&ship.phone, &self.phone, &customer.phone, &bill.phone]),
                line1: text(&ship.address1),
                line2: text(&ship.address2),
                city: text(&ship.city),
                region: text(&ship.province),
                postal_code: text(&ship.zip),
                country: text(&ship.country_code),
            },
        };
        let mut out = assemble(a, Draft { currency, lines, total }, updated, state, e)?;
        if duties > Decimal::ZERO {
            out.notes.push(format!(
                "the buyer paid {duties} in duties at checkout (DDP); they are part of the total collected"
            ));
        }
        if let Some(n) = text(&self.name) {
            out.notes.push(format!("Shopify order {n}"));
        }
        Ok(out)
    }
}

fn set_amount(s: &MoneySet, presentment: bool) -> Decimal {
    let bag = if presentment { s.presentment_money.as_ref() } else { s.shop_money.as_ref() };
    bag.or(s.shop_money.as_ref()).map(|b| b.amount.0).unwrap_or_default()
}

/// Reads one order payload (a webhook body or one order of a page).
pub fn parse_order(body: &[u8], cod_gateways: &[String]) -> Result<ChannelOrder, FieldErrors> {
    parse_json::<Order>(body)?.map(cod_gateways)
}

#[derive(Deserialize, Debug)]
pub struct ProductsPage {
    pub products: Vec<Product>,
}

#[derive(Deserialize, Debug)]
pub struct Product {
    #[serde(default)]
    pub variants: Vec<Variant>,
}

#[derive(Deserialize, Debug)]
pub struct Variant {
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub inventory_item_id: Option<u64>,
}

#[derive(Deserialize, Debug)]
pub struct Locations {
    pub locations: Vec<Location>,
}

#[derive(Deserialize, Debug)]
pub struct Location {
    pub id: u64,
    #[serde(default)]
    pub active: Option<bool>,
}

#[derive(Serialize, Debug)]
pub struct SetLevel {
    pub location_id: u64,
    pub inventory_item_id: u64,
    pub available: i64,
}
