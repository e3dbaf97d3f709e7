//! SP-API Orders v0 shapes: https://developer-docs.amazon.com/sp-api/docs/orders-api-v0-model. Fields are
//! PascalCase; amounts are `{"CurrencyCode": "SAR", "Amount": "59.00"}`.

use codflow_domain::FieldErrors;
use codflow_domain::order::{AddressInput, BuyerInput};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::sales::inbound::{
    Amount, Assembled, ChannelOrder, Draft, DraftLine, ShopState, assemble, first, is_cod, parse_json, rfc3339, text,
    timestamp,
};

#[derive(Deserialize, Debug)]
pub struct OrdersReply {
    pub payload: OrdersPayload,
}

#[derive(Deserialize, Debug)]
pub struct OrdersPayload {
    #[serde(rename = "Orders", default)]
    pub orders: Vec<serde_json::Value>,
    #[serde(rename = "NextToken", default)]
    pub next_token: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct ItemsReply {
    pub payload: ItemsPayload,
}

#[derive(Deserialize, Debug)]
pub struct ItemsPayload {
    #[serde(rename = "OrderItems", default)]
    pub order_items: Vec<serde_json::Value>,
    #[serde(rename = "NextToken", default)]
    pub next_token: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct AddressReply {
    pub payload: AddressPayload,
}

#[derive(Deserialize, Debug)]
pub struct AddressPayload {
    #[serde(rename = "ShippingAddress", default)]
    pub shipping_address: Option<serde_json::Value>,
}

#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(rename_all = "PascalCase")]
pub struct Money {
    pub amount: Amount,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Address {
    pub name: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub city: Option<String>,
    pub state_or_region: Option<String>,
    pub postal_code: Option<String>,
    pub country_code: Option<String>,
    pub phone: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Item {
    #[serde(default, rename = "SellerSKU")]
    pub seller_sku: Option<String>,
    pub quantity_ordered: i64,
    /// The price of the whole line (unit price × quantity).
    #[serde(default)]
    pub item_price: Option<Money>,
    #[serde(default)]
    pub item_tax: Option<Money>,
    #[serde(default)]
    pub promotion_discount: Option<Money>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "PascalCase")]
pub struct BuyerInfo {
    pub buyer_email: Option<String>,
    pub buyer_name: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct OrderTotal {
    #[serde(rename = "CurrencyCode")]
    pub currency_code: Option<String>,
    #[serde(rename = "Amount")]
    pub amount: Amount,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct Order {
    pub amazon_order_id: String,
    #[serde(default)]
    pub purchase_date: Option<String>,
    #[serde(default)]
    pub last_update_date: Option<String>,
    #[serde(default)]
    pub order_status: Option<String>,
    #[serde(default)]
    pub payment_method: Option<String>,
    #[serde(default)]
    pub payment_method_details: Vec<String>,
    #[serde(default)]
    pub order_total: Option<OrderTotal>,
    #[serde(default)]
    pub buyer_info: Option<BuyerInfo>,
    #[serde(default)]
    pub shipping_address: Option<Address>,
}

/// What a pull stores for one order.
#[derive(Deserialize, Debug)]
pub struct Whole {
    pub order: Order,
    #[serde(default)]
    pub items: Vec<Item>,
    #[serde(default)]
    pub address: Option<Address>,
}

fn amount(m: &Option<Money>) -> Decimal {
    m.map(|m| m.amount.0).unwrap_or_default()
}

impl Whole {
    pub fn map(self, cod_methods: &[String]) -> Result<ChannelOrder, FieldErrors> {
        let mut e = FieldErrors::default();
        let o = self.order;
        let lines: Vec<DraftLine> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| DraftLine {
                path: format!("items[{i}]"),
                sku: it.seller_sku.clone(),
                quantity: it.quantity_ordered,
                total: amount(&it.item_price) + amount(&it.item_tax) - amount(&it.promotion_discount),
            })
            .collect();
        let mut methods: Vec<String> = text(&o.payment_method).into_iter().collect();
        methods.extend(o.payment_method_details.iter().cloned());
        let cod = is_cod(&methods, cod_methods);
        let status = o.order_status.as_deref().unwrap_or("");
        let state = match status {
            "Canceled" | "Unfulfillable" => ShopState::Cancelled,
            "Pending" | "PendingAvailability" => ShopState::NotReady(format!("Amazon order status {status}")),
            _ => ShopState::Open,
        };
        // A Pending order normally lacks its total (and often its address) until Amazon has the payment: it
        // waits as not ready for its next update, whatever it still lacks.
        if let ShopState::NotReady(_) = state {
            let external_id = o.amazon_order_id.trim().to_owned();
            if !external_id.is_empty() {
                let updated =
                    timestamp(&mut FieldErrors::default(), "order.LastUpdateDate", &o.last_update_date, rfc3339);
                return Ok(ChannelOrder {
                    external_id,
                    updated_at: updated,
                    state,
                    input: codflow_domain::OrderInput::default(),
                    notes: Vec::new(),
                });
            }
        }
        let (currency, total) = match &o.order_total {
            Some(t) => (t.currency_code.clone(), t.amount.0),
            None => {
                e.push("order.OrderTotal", "is required");
                (None, Decimal::ZERO)
            }
        };
        let to = self.address.or(o.shipping_address).unwrap_or_default();
        let buyer = o.buyer_info.unwrap_or_default();
        let placed = timestamp(&mut e, "order.PurchaseDate", &o.purchase_date, rfc3339);
        let updated = timestamp(&mut e, "order.LastUpdateDate", &o.last_update_date, rfc3339);
        let a = Assembled {
            external_id: o.amazon_order_id.trim().to_owned(),
            placed_at: placed,
            cod,
            buyer: BuyerInput {
                name: first(&[&buyer.buyer_name, &to.name]),
                phone: text(&to.phone),
                email: text(&buyer.buyer_email),
            },
            address: AddressInput {
                name: text(&to.name),
                phone: text(&to.phone),
                line1: text(&to.address_line1),
                line2: text(&to.address_line2),
                city: text(&to.city),
                region: text(&to.state_or_region),
                postal_code: text(&to.postal_code),
                country: text(&to.country_code),
            },
        };
        assemble(a, Draft { currency, lines, total }, updated, state, e)
    }
}

pub fn parse_order(body: &[u8], cod_methods: &[String]) -> Result<ChannelOrder, FieldErrors> {
    parse_json::<Whole>(body)?.map(cod_methods)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_order_without_its_total_waits_as_not_ready_instead_of_failing() {
        let body = br#"{"order": {"AmazonOrderId": "408-1", "OrderStatus": "Pending", "PaymentMethod": "COD",
            "LastUpdateDate": "2026-12-01T10:00:00Z"}, "items": [], "address": null}"#;
        let o = parse_order(body, &["COD".to_owned()]).expect("not an error");
        assert_eq!(o.external_id, "408-1");
        assert!(matches!(o.state, ShopState::NotReady(ref why) if why.contains("Pending")), "{:?}", o.state);
        // Once Unshipped, the same order without a total is an error again, naming the field.
        let unshipped = br#"{"order": {"AmazonOrderId": "408-1", "OrderStatus": "Unshipped"}, "items": []}"#;
        let e = parse_order(unshipped, &[]).unwrap_err();
        assert!(e.0.iter().any(|f| f.path == "order.OrderTotal"), "{e:?}");
    }
}
