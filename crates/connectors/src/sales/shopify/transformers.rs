//! Shopify's wire shapes: the GraphQL Admin API's queries, mutations and replies codflow uses, and the order as
//! webhooks deliver it. Only the fields codflow reads or writes; unknown fields are ignored as the API adds them.
//!
//! Over 600 lines on purpose: the wire shapes of one API, read beside Shopify's schema; 60 lines are tests.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::sales::Fulfilment;

// ---- The GraphQL envelope: https://shopify.dev/docs/api/usage/response-codes (errors come with HTTP 200) ----

#[derive(Serialize)]
pub struct Request<'a> {
    pub query: &'a str,
    pub variables: Value,
}

#[derive(Deserialize, Debug)]
pub struct Response<T> {
    #[serde(default = "none")]
    pub data: Option<T>,
    #[serde(default)]
    pub errors: Vec<GqlError>,
    #[serde(default)]
    pub extensions: Option<Value>,
}

/// How long until the cost bucket holds what the refused query asked for, from the reply's
/// `extensions.cost` (https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits).
pub fn throttle_wait(extensions: Option<&Value>) -> Option<std::time::Duration> {
    let cost = extensions?.get("cost")?;
    let need = cost.get("requestedQueryCost")?.as_f64()?;
    let status = cost.get("throttleStatus")?;
    let have = status.get("currentlyAvailable")?.as_f64()?;
    let rate = status.get("restoreRate")?.as_f64()?;
    (rate > 0.0).then(|| std::time::Duration::from_secs_f64(((need - have).max(0.0) / rate).clamp(0.05, 60.0)))
}

fn none<T>() -> Option<T> {
    None
}

#[derive(Deserialize, Debug)]
pub struct GqlError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub extensions: Option<ErrorExtensions>,
}

#[derive(Deserialize, Debug)]
pub struct ErrorExtensions {
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct UserError {
    #[serde(default)]
    pub field: Option<Vec<String>>,
    #[serde(default)]
    pub message: String,
}

/// The user errors of a mutation, as one message (`field: message; …`).
pub fn user_errors(errors: &[UserError]) -> Option<String> {
    (!errors.is_empty()).then(|| {
        errors
            .iter()
            .map(|e| match &e.field {
                Some(f) if !f.is_empty() => format!("{}: {}", f.join("."), e.message),
                _ => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// The number at the end of a global id (`gid://shopify/Fulfillment/255858046` → `255858046`).
pub fn legacy_id(gid: &str) -> &str {
    gid.rsplit('/').next().unwrap_or(gid)
}

#[derive(Deserialize, Debug, Clone)]
pub struct PageInfo {
    #[serde(rename = "hasNextPage")]
    pub has_next_page: bool,
    #[serde(rename = "endCursor", default)]
    pub end_cursor: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct Nodes<T> {
    pub nodes: Vec<T>,
    #[serde(rename = "pageInfo", default)]
    pub page_info: Option<PageInfo>,
}

// ---- Fulfilments: https://shopify.dev/docs/api/admin-graphql/2026-10/mutations/fulfillmentCreate ----

pub const ORDER_FULFILMENTS: &str = "query OrderFulfilments($id: ID!) { order(id: $id) { \
    fulfillments(first: 50) { id status displayStatus trackingInfo(first: 10) { number } } \
    fulfillmentOrders(first: 50) { nodes { id status } } } }";

pub const FULFILLMENT_CREATE: &str = "mutation FulfillmentCreate($fulfillment: FulfillmentInput!) { \
    fulfillmentCreate(fulfillment: $fulfillment) { fulfillment { id } userErrors { field message } } }";

pub const FULFILLMENT_EVENT_CREATE: &str = "mutation FulfillmentEventCreate($fulfillmentEvent: FulfillmentEventInput!) { \
    fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent) { fulfillmentEvent { id status } userErrors { field message } } }";

#[derive(Deserialize, Debug)]
pub struct OrderData {
    pub order: Option<OrderFulfilments>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct OrderFulfilments {
    #[serde(default)]
    pub fulfillments: Vec<Fulfillment>,
    pub fulfillment_orders: Nodes<FulfillmentOrder>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Fulfillment {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub display_status: Option<String>,
    #[serde(default)]
    pub tracking_info: Vec<TrackingNumber>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct TrackingNumber {
    #[serde(default)]
    pub number: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct FulfillmentOrder {
    pub id: String,
    pub status: String,
}

impl OrderFulfilments {
    /// The live fulfilment that carries this tracking number, if the shop has one.
    pub fn with_tracking(&self, tracking: &str) -> Option<&Fulfillment> {
        self.fulfillments.iter().find(|f| {
            f.status.as_deref() != Some("CANCELLED")
                && f.tracking_info.iter().any(|t| t.number.as_deref() == Some(tracking))
        })
    }

    /// Fulfilment orders that can still be fulfilled: all their lines go in the one parcel.
    pub fn open_ids(&self) -> Vec<&str> {
        self.fulfillment_orders
            .nodes
            .iter()
            .filter(|o| matches!(o.status.as_str(), "OPEN" | "IN_PROGRESS"))
            .map(|o| o.id.as_str())
            .collect()
    }
}

/// The fulfilment for `ids` with the parcel's tracking. codflow writes to the buyer itself, in their
/// language; Shopify's email would say it twice.
pub fn fulfillment_input(ids: &[&str], f: &Fulfilment) -> Value {
    json!({"fulfillment": {
        "lineItemsByFulfillmentOrder": ids.iter().map(|id| json!({"fulfillmentOrderId": id})).collect::<Vec<_>>(),
        "trackingInfo": {"number": f.tracking_number, "url": f.tracking_url, "company": f.company},
        "notifyCustomer": false,
    }})
}

pub fn delivered_event(fulfillment: &str, at: OffsetDateTime) -> Value {
    json!({"fulfillmentEvent": {
        "fulfillmentId": fulfillment,
        "status": "DELIVERED",
        "happenedAt": at.format(&Rfc3339).unwrap_or_default(),
    }})
}

#[derive(Deserialize, Debug)]
pub struct Created {
    pub id: String,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentCreated {
    pub fulfillment_create: Option<CreatedPayload>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPayload {
    #[serde(default)]
    pub fulfillment: Option<Created>,
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct EventCreated {
    pub fulfillment_event_create: Option<EventPayload>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct EventPayload {
    #[serde(default)]
    pub fulfillment_event: Option<Created>,
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

// ---- Orders pulled: https://shopify.dev/docs/api/admin-graphql/2026-10/queries/orders ----

/// The fields of an order codflow reads, in the GraphQL Admin API's names.
const ORDER_FIELDS: &str = "legacyResourceId name createdAt processedAt updatedAt cancelledAt currencyCode \
    presentmentCurrencyCode displayFinancialStatus paymentGatewayNames email phone \
    customer { firstName lastName } \
    shippingAddress { firstName lastName name address1 address2 city province zip countryCodeV2 phone } \
    billingAddress { phone } \
    shippingLines(first: 5) { nodes { originalPriceSet { ...Money } } } \
    totalPriceSet { ...Money } currentTotalPriceSet { ...Money }";

const LINE_FIELDS: &str = "sku quantity requiresShipping originalUnitPriceSet { ...Money } \
    discountAllocations { allocatedAmountSet { ...Money } } duties { price { ...Money } }";

const MONEY: &str =
    "fragment Money on MoneyBag { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }";

/// Orders changed since a time, oldest change first. A page stays under the single-query cost limit of
/// 1,000 points (https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits): 15 orders of up
/// to 50 lines each; an order with more lines is read again on its own.
pub fn orders_query() -> String {
    format!(
        "query Orders($query: String!, $after: String) {{ orders(first: 15, after: $after, query: $query, sortKey: UPDATED_AT) {{ \
         pageInfo {{ hasNextPage endCursor }} nodes {{ {ORDER_FIELDS} lineItems(first: 50) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE_FIELDS} }} }} }} }} }} {MONEY}"
    )
}

/// One order with up to 250 lines, for the rare order a page could not hold whole.
pub fn order_query() -> String {
    format!(
        "query Order($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} lineItems(first: 250) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE_FIELDS} }} }} }} }} {MONEY}"
    )
}

#[derive(Deserialize, Debug)]
pub struct OrdersData {
    pub orders: Nodes<GqlOrder>,
}

#[derive(Deserialize, Debug)]
pub struct OneOrderData {
    pub order: Option<GqlOrder>,
}

#[derive(Deserialize, Debug, Default, Clone)]
pub struct GqlMoney {
    #[serde(default)]
    pub amount: Option<Value>,
    #[serde(rename = "currencyCode", default)]
    pub currency_code: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct GqlMoneyBag {
    #[serde(default)]
    pub shop_money: Option<GqlMoney>,
    #[serde(default)]
    pub presentment_money: Option<GqlMoney>,
}

impl GqlMoneyBag {
    /// The REST shape: `(amount in the shop's currency, {shop_money, presentment_money})`.
    fn rest(&self) -> (Value, Value) {
        let bag = |m: &Option<GqlMoney>| {
            m.as_ref().map(|m| json!({"amount": m.amount, "currency_code": m.currency_code})).unwrap_or(Value::Null)
        };
        let plain = self.shop_money.as_ref().and_then(|m| m.amount.clone()).unwrap_or(Value::Null);
        (plain, json!({"shop_money": bag(&self.shop_money), "presentment_money": bag(&self.presentment_money)}))
    }
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct GqlAddress {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub name: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub zip: Option<String>,
    pub country_code_v2: Option<String>,
    pub phone: Option<String>,
}

#[derive(Deserialize, Debug, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct GqlCustomer {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct GqlAllocation {
    pub allocated_amount_set: GqlMoneyBag,
}

#[derive(Deserialize, Debug, Clone)]
pub struct GqlDuty {
    pub price: GqlMoneyBag,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct GqlLine {
    #[serde(default)]
    pub sku: Option<String>,
    pub quantity: Value,
    #[serde(default)]
    pub requires_shipping: Option<bool>,
    pub original_unit_price_set: GqlMoneyBag,
    #[serde(default)]
    pub discount_allocations: Vec<GqlAllocation>,
    #[serde(default)]
    pub duties: Vec<GqlDuty>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct GqlShippingLine {
    #[serde(rename = "originalPriceSet")]
    pub original_price_set: GqlMoneyBag,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct GqlOrder {
    pub legacy_resource_id: Value,
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
    pub currency_code: Option<String>,
    #[serde(default)]
    pub presentment_currency_code: Option<String>,
    #[serde(default)]
    pub display_financial_status: Option<String>,
    #[serde(default)]
    pub payment_gateway_names: Vec<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub customer: Option<GqlCustomer>,
    #[serde(default)]
    pub shipping_address: Option<GqlAddress>,
    #[serde(default)]
    pub billing_address: Option<GqlAddress>,
    pub line_items: Nodes<GqlLine>,
    #[serde(default)]
    pub shipping_lines: Option<Nodes<GqlShippingLine>>,
    #[serde(default)]
    pub total_price_set: Option<GqlMoneyBag>,
    #[serde(default)]
    pub current_total_price_set: Option<GqlMoneyBag>,
}

impl GqlOrder {
    /// Whether the page left some of this order's lines out.
    pub fn lines_cut(&self) -> bool {
        self.line_items.page_info.as_ref().is_some_and(|p| p.has_next_page)
    }

    /// The order in the shape webhooks deliver it (the REST resource's names), so one mapper reads every
    /// order whichever way it came.
    pub fn to_rest(&self) -> Value {
        let address = |a: &Option<GqlAddress>| {
            a.as_ref()
                .map(|a| {
                    json!({"first_name": a.first_name, "last_name": a.last_name, "name": a.name, "address1": a.address1,
                        "address2": a.address2, "city": a.city, "province": a.province, "zip": a.zip,
                        "country_code": a.country_code_v2, "phone": a.phone})
                })
                .unwrap_or(Value::Null)
        };
        let lines: Vec<Value> = self
            .line_items
            .nodes
            .iter()
            .map(|l| {
                let (price, price_set) = l.original_unit_price_set.rest();
                let discounts: Vec<Value> = l
                    .discount_allocations
                    .iter()
                    .map(|d| {
                        let (amount, amount_set) = d.allocated_amount_set.rest();
                        json!({"amount": amount, "amount_set": amount_set})
                    })
                    .collect();
                let duties: Vec<Value> = l.duties.iter().map(|d| json!({"price_set": d.price.rest().1})).collect();
                json!({"sku": l.sku, "quantity": l.quantity, "price": price, "price_set": price_set,
                    "requires_shipping": l.requires_shipping, "discount_allocations": discounts, "duties": duties})
            })
            .collect();
        let shipping: Vec<Value> = self
            .shipping_lines
            .iter()
            .flat_map(|s| &s.nodes)
            .map(|s| {
                let (price, price_set) = s.original_price_set.rest();
                json!({"price": price, "price_set": price_set})
            })
            .collect();
        let total = |b: &Option<GqlMoneyBag>| b.as_ref().map(GqlMoneyBag::rest).unwrap_or((Value::Null, Value::Null));
        let (total_price, total_price_set) = total(&self.total_price_set);
        let (current_total_price, current_total_price_set) = total(&self.current_total_price_set);
        let id = match &self.legacy_resource_id {
            Value::String(s) => s.trim().parse::<u64>().map(Value::from).unwrap_or(Value::String(s.clone())),
            other => other.clone(),
        };
        let customer = self.customer.as_ref().map(|c| json!({"first_name": c.first_name, "last_name": c.last_name}));
        json!({
            "id": id, "name": self.name, "created_at": self.created_at, "processed_at": self.processed_at,
            "updated_at": self.updated_at, "cancelled_at": self.cancelled_at, "currency": self.currency_code,
            "presentment_currency": self.presentment_currency_code,
            "financial_status": self.display_financial_status.as_ref().map(|s| s.to_ascii_lowercase()),
            "payment_gateway_names": self.payment_gateway_names, "email": self.email, "phone": self.phone,
            "customer": customer, "shipping_address": address(&self.shipping_address),
            "billing_address": address(&self.billing_address), "line_items": lines, "shipping_lines": shipping,
            "total_price": total_price, "total_price_set": total_price_set,
            "current_total_price": current_total_price, "current_total_price_set": current_total_price_set,
        })
    }
}

// ---- Stock: https://shopify.dev/docs/api/admin-graphql/2026-10/mutations/inventorySetQuantities ----

pub const VARIANTS: &str = "query Variants($after: String) { productVariants(first: 250, after: $after) { \
    pageInfo { hasNextPage endCursor } nodes { sku inventoryItem { id } } } }";

pub const LOCATIONS: &str = "query Locations { locations(first: 50) { nodes { id isActive } } }";

/// The idempotency key is required from 2026-04 on; the quantity is absolute, so no compare-and-set.
pub const SET_QUANTITIES: &str = "mutation SetAvailable($input: InventorySetQuantitiesInput!, $key: String!) { \
    inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { field message } } }";

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct VariantsData {
    pub product_variants: Nodes<Variant>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub inventory_item: Option<Created>,
}

#[derive(Deserialize, Debug)]
pub struct LocationsData {
    pub locations: Nodes<Location>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub id: String,
    #[serde(default)]
    pub is_active: Option<bool>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct QuantitiesSet {
    pub inventory_set_quantities: Option<SetPayload>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct SetPayload {
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

pub fn set_available(item: &str, location: &str, available: i64, key: &str) -> Value {
    json!({
        "input": {"name": "available", "reason": "correction",
                  "quantities": [{"inventoryItemId": item, "locationId": location, "quantity": available,
                                  "changeFromQuantity": null}]},
        "key": key,
    })
}

// ---- Orders in: webhooks deliver https://shopify.dev/docs/api/webhooks?reference=orders (the REST resource's shape);
// pulled orders are turned into the same shape by `GqlOrder::to_rest`. ----

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

#[cfg(test)]
mod tests {
    use super::*;

    /// An order node as the `orders` query answers it (2026-10): buyer paying in SAR in a USD shop, a
    /// discount and duties on the line, one shipping line.
    fn node() -> Value {
        let money = |shop: &str, buyer: &str| json!({"shopMoney": {"amount": shop, "currencyCode": "USD"}, "presentmentMoney": {"amount": buyer, "currencyCode": "SAR"}});
        json!({
            "legacyResourceId": "450789469", "name": "#1001", "createdAt": "2026-11-20T10:00:00Z",
            "processedAt": "2026-11-20T10:00:00Z", "updatedAt": "2026-11-20T10:05:00Z", "cancelledAt": null,
            "currencyCode": "USD", "presentmentCurrencyCode": "SAR", "displayFinancialStatus": "PENDING",
            "paymentGatewayNames": ["Cash on Delivery (COD)"], "email": "noura@example.com", "phone": null,
            "customer": {"firstName": "Noura", "lastName": "Al-Qahtani"},
            "shippingAddress": {"firstName": "Noura", "lastName": "Al-Qahtani", "name": "Noura Al-Qahtani",
                "address1": "King Fahd Rd 12", "address2": null, "city": "Riyadh", "province": "Riyadh Province",
                "zip": "12211", "countryCodeV2": "SA", "phone": "+966501234567"},
            "billingAddress": {"phone": null},
            "shippingLines": {"nodes": [{"originalPriceSet": money("2.67", "10.00")}]},
            "totalPriceSet": money("31.73", "119.00"), "currentTotalPriceSet": money("31.73", "119.00"),
            "lineItems": {"pageInfo": {"hasNextPage": false, "endCursor": "eyJs"}, "nodes": [
                {"sku": "LAMP-01", "quantity": 2, "requiresShipping": true, "originalUnitPriceSet": money("15.73", "59.00"),
                 "discountAllocations": [{"allocatedAmountSet": money("2.67", "10.00")}],
                 "duties": [{"price": money("2.67", "10.00")}]},
                {"sku": "GIFT", "quantity": 1, "requiresShipping": false, "originalUnitPriceSet": money("0.00", "0.00"),
                 "discountAllocations": [], "duties": []}
            ]}
        })
    }

    #[test]
    fn a_pulled_order_reads_as_its_webhook_would() {
        let o: GqlOrder = serde_json::from_value(node()).unwrap();
        assert!(!o.lines_cut());
        let rest = o.to_rest();
        assert_eq!((rest["id"].clone(), rest["financial_status"].clone()), (json!(450789469u64), json!("pending")));
        let mapped = parse_order(&serde_json::to_vec(&rest).unwrap(), &["Cash on Delivery (COD)".to_owned()]).unwrap();
        assert_eq!(mapped.external_id, "450789469");
        assert!(matches!(mapped.state, ShopState::Open), "COD is open though unpaid: {:?}", mapped.state);
        let input = mapped.input;
        assert_eq!((input.currency.as_deref(), input.payment_method.as_deref()), (Some("SAR"), Some("cod")));
        // In the buyer's riyals: 2 × 59.00 − 10.00 for the lamp; the gift card does not travel.
        assert_eq!(input.lines.len(), 1);
        assert_eq!(input.lines[0].sku.as_deref(), Some("LAMP-01"));
        assert_eq!(input.shipping_address.country.as_deref(), Some("SA"));
        assert_eq!(input.buyer.name.as_deref(), Some("Noura Al-Qahtani"));
        assert!(mapped.notes.iter().any(|n| n.contains("10.00 in duties")), "{:?}", mapped.notes);
        assert!(mapped.notes.iter().any(|n| n.contains("#1001")), "{:?}", mapped.notes);
    }

    #[test]
    fn an_order_with_lines_beyond_the_page_says_so_and_ids_read_from_gids() {
        let mut n = node();
        n["lineItems"]["pageInfo"]["hasNextPage"] = json!(true);
        assert!(serde_json::from_value::<GqlOrder>(n).unwrap().lines_cut());
        assert_eq!(legacy_id("gid://shopify/Fulfillment/255858046"), "255858046");
        let errs = [
            UserError { field: Some(vec!["fulfillment".into(), "trackingInfo".into()]), message: "is invalid".into() },
            UserError { field: None, message: "order is closed".into() },
        ];
        assert_eq!(user_errors(&errs).as_deref(), Some("fulfillment.trackingInfo: is invalid; order is closed"));
        assert_eq!(user_errors(&[]), None);
    }
}
