//! eBay Fulfillment order shapes: https://developer.ebay.com/api-docs/sell/fulfillment/types/sel:Order.
//! Amounts are `{"value": "10.00", "currency": "USD"}`.

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
    #[serde(default)]
    pub orders: Vec<serde_json::Value>,
    #[serde(default)]
    pub total: u64,
}

#[derive(Deserialize, Debug)]
pub struct Money {
    pub value: Amount,
    #[serde(default)]
    pub currency: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Phone {
    pub phone_number: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContactAddress {
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub city: Option<String>,
    pub state_or_province: Option<String>,
    pub postal_code: Option<String>,
    pub country_code: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ShipTo {
    pub full_name: Option<String>,
    #[serde(default)]
    pub contact_address: ContactAddress,
    #[serde(default)]
    pub primary_phone: Phone,
    pub email: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ShippingStep {
    #[serde(default)]
    pub ship_to: ShipTo,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Instruction {
    #[serde(default)]
    pub shipping_step: Option<ShippingStep>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    pub discount_amount: Money,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    #[serde(default)]
    pub sku: Option<String>,
    pub quantity: i64,
    /// The item's price times the quantity, before discounts.
    pub line_item_cost: Money,
    #[serde(default)]
    pub applied_promotions: Vec<Promotion>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    #[serde(default)]
    pub payment_method: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
pub struct PaymentSummary {
    #[serde(default)]
    pub payments: Vec<Payment>,
}

#[derive(Deserialize, Debug)]
pub struct PricingSummary {
    pub total: Money,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct CancelStatus {
    pub cancel_state: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    pub full_name: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub primary_phone: Phone,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    pub username: Option<String>,
    #[serde(default)]
    pub buyer_registration_address: Registration,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: String,
    #[serde(default)]
    pub creation_date: Option<String>,
    #[serde(default)]
    pub last_modified_date: Option<String>,
    #[serde(default)]
    pub order_payment_status: Option<String>,
    #[serde(default)]
    pub cancel_status: CancelStatus,
    pub pricing_summary: PricingSummary,
    #[serde(default)]
    pub payment_summary: PaymentSummary,
    #[serde(default)]
    pub buyer: Buyer,
    #[serde(default)]
    pub fulfillment_start_instructions: Vec<Instruction>,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
}

impl Order {
    pub fn map(self, cod_methods: &[String]) -> Result<ChannelOrder, FieldErrors> {
        let mut e = FieldErrors::default();
        let lines = self
            .line_items
            .iter()
            .enumerate()
            .map(|(i, l)| DraftLine {
                path: format!("lineItems[{i}]"),
                sku: l.sku.clone(),
                quantity: l.quantity,
                total: l.line_item_cost.value.0
                    - l.applied_promotions.iter().map(|p| p.discount_amount.value.0).sum::<Decimal>(),
            })
            .collect();
        let methods: Vec<String> =
            self.payment_summary.payments.iter().filter_map(|p| text(&p.payment_method)).collect();
        let cod = is_cod(&methods, cod_methods);
        let payment = self.order_payment_status.as_deref().unwrap_or("");
        let state = if self.cancel_status.cancel_state.as_deref() == Some("CANCELED") {
            ShopState::Cancelled
        } else if !cod && matches!(payment, "PENDING" | "FAILED") {
            ShopState::NotReady(format!("payment {payment}"))
        } else {
            ShopState::Open
        };
        let ship = self
            .fulfillment_start_instructions
            .into_iter()
            .find_map(|i| i.shipping_step)
            .map(|s| s.ship_to)
            .unwrap_or_default();
        let reg = &self.buyer.buyer_registration_address;
        let placed = timestamp(&mut e, "creationDate", &self.creation_date, rfc3339);
        let updated = timestamp(&mut e, "lastModifiedDate", &self.last_modified_date, rfc3339);
        let a = Assembled {
            external_id: self.order_id.trim().to_owned(),
            placed_at: placed,
            cod,
            buyer: BuyerInput {
                name: first(&[&reg.full_name, &ship.full_name, &self.buyer.username]),
                phone: first(&[&ship.primary_phone.phone_number, &reg.primary_phone.phone_number]),
                email: first(&[&ship.email, &reg.email]),
            },
            address: AddressInput {
                name: text(&ship.full_name),
                phone: first(&[&ship.primary_phone.phone_number, &reg.primary_phone.phone_number]),
                line1: text(&ship.contact_address.address_line1),
                line2: text(&ship.contact_address.address_line2),
                city: text(&ship.contact_address.city),
                region: text(&ship.contact_address.state_or_province),
                postal_code: text(&ship.contact_address.postal_code),
                country: text(&ship.contact_address.country_code),
            },
        };
        let total = &self.pricing_summary.total;
        let draft = Draft { currency: total.currency.clone(), lines, total: total.value.0 };
        assemble(a, draft, updated, state, e)
    }
}

pub fn parse_order(body: &[u8], cod_methods: &[String]) -> Result<ChannelOrder, FieldErrors> {
    parse_json::<Order>(body)?.map(cod_methods)
}
