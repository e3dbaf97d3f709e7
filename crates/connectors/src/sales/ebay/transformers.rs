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
    #[serde(default)]
    pub payment_status: Option<String>,
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
        let payment = self.order_payment_status.as_deref().unwrap_or("");
        // eBay has no cash-on-delivery payment method: it takes every online payment itself (method `EBAY`), and
        // getOrders leaves out purchases awaiting an upfront payment. An unpaid order it does list, for shipping,
        // with no payment eBay took, is therefore paid offline: on these lanes, collected at the door.
        let paid_through_ebay = self
            .payment_summary
            .payments
            .iter()
            .any(|p| p.payment_method.as_deref() == Some("EBAY") && p.payment_status.as_deref() != Some("FAILED"));
        let shipped_to_buyer = self.fulfillment_start_instructions.iter().any(|i| i.shipping_step.is_some());
        let unpaid_offline = payment == "PENDING" && !paid_through_ebay && shipped_to_buyer;
        let cod = unpaid_offline || is_cod(&methods, cod_methods);
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

#[cfg(test)]
mod tests {
    use super::parse_order;
    use crate::sales::inbound::ShopState;

    fn order(status: &str, payments: serde_json::Value, ship: bool) -> Vec<u8> {
        let mut o = serde_json::json!({"orderId": "O-1", "orderPaymentStatus": status,
            "creationDate": "2026-11-20T10:00:00.000Z", "lastModifiedDate": "2026-11-20T10:01:00.000Z",
            "pricingSummary": {"total": {"value": "20.00", "currency": "SAR"}},
            "paymentSummary": {"payments": payments},
            "lineItems": [{"sku": "A", "quantity": 1, "lineItemCost": {"value": "20.00", "currency": "SAR"}}]});
        if ship {
            o["fulfillmentStartInstructions"] = serde_json::json!([{"shippingStep": {"shipTo": {"fullName": "A", "contactAddress": {"countryCode": "SA"}}}}]);
        }
        o.to_string().into_bytes()
    }

    #[test]
    fn an_unpaid_order_to_ship_with_no_payment_taken_by_ebay_is_cash_on_delivery() {
        let o = parse_order(&order("PENDING", serde_json::json!([]), true), &[]).unwrap();
        assert_eq!(o.input.payment_method.as_deref(), Some("cod"));
        assert!(matches!(o.state, ShopState::Open));
    }

    #[test]
    fn an_order_paid_through_ebay_is_prepaid_and_one_still_being_paid_waits() {
        let paid = serde_json::json!([{"paymentMethod": "EBAY", "paymentStatus": "PAID"}]);
        let o = parse_order(&order("PAID", paid, true), &[]).unwrap();
        assert_eq!(o.input.payment_method.as_deref(), Some("prepaid"));
        let pending = serde_json::json!([{"paymentMethod": "EBAY", "paymentStatus": "PENDING"}]);
        let o = parse_order(&order("PENDING", pending, true), &[]).unwrap();
        assert!(matches!(o.state, ShopState::NotReady(_)), "{:?}", o.state);
    }

    #[test]
    fn an_unpaid_order_for_pickup_is_not_taken_for_cash_on_delivery() {
        let o = parse_order(&order("PENDING", serde_json::json!([]), false), &[]).unwrap();
        assert_ne!(o.input.payment_method.as_deref(), Some("cod"));
    }
}
