//! Magento's order shapes (`salesOrderRepositoryV1`): only what codflow reads.

use codflow_domain::FieldErrors;
use codflow_domain::order::{AddressInput, BuyerInput};
use serde::Deserialize;

use crate::sales::inbound::{
    Amount, Assembled, ChannelOrder, Draft, DraftLine, ShopState, assemble, first, is_cod, join_name, parse_json, text,
    timestamp, utc_naive,
};

#[derive(Deserialize, Debug)]
pub struct SearchResult {
    pub items: Vec<serde_json::Value>,
    #[serde(default)]
    pub total_count: u64,
}

#[derive(Deserialize, Debug, Default)]
pub struct Address {
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    #[serde(default)]
    pub street: Vec<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postcode: Option<String>,
    pub country_id: Option<String>,
    pub telephone: Option<String>,
    pub email: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct Item {
    #[serde(default)]
    pub sku: Option<String>,
    pub qty_ordered: Amount,
    #[serde(default)]
    pub row_total: Amount,
    #[serde(default)]
    pub discount_amount: Amount,
    #[serde(default)]
    pub tax_amount: Amount,
    /// A configurable product's child line repeats its parent; the parent carries the price.
    #[serde(default)]
    pub parent_item_id: Option<u64>,
}

#[derive(Deserialize, Debug)]
pub struct Payment {
    #[serde(default)]
    pub method: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
pub struct Shipping {
    #[serde(default)]
    pub address: Option<Address>,
}

#[derive(Deserialize, Debug, Default)]
pub struct Assignment {
    #[serde(default)]
    pub shipping: Option<Shipping>,
}

#[derive(Deserialize, Debug, Default)]
pub struct Extension {
    #[serde(default)]
    pub shipping_assignments: Vec<Assignment>,
}

#[derive(Deserialize, Debug)]
pub struct Order {
    pub entity_id: u64,
    #[serde(default)]
    pub increment_id: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub order_currency_code: Option<String>,
    pub grand_total: Amount,
    #[serde(default)]
    pub customer_firstname: Option<String>,
    #[serde(default)]
    pub customer_lastname: Option<String>,
    #[serde(default)]
    pub customer_email: Option<String>,
    #[serde(default)]
    pub payment: Option<Payment>,
    #[serde(default)]
    pub items: Vec<Item>,
    #[serde(default)]
    pub billing_address: Option<Address>,
    #[serde(default)]
    pub extension_attributes: Option<Extension>,
}

impl Order {
    pub fn map(self, cod_methods: &[String]) -> Result<ChannelOrder, FieldErrors> {
        let mut e = FieldErrors::default();
        let mut lines = Vec::new();
        for (i, it) in self.items.iter().enumerate() {
            if it.parent_item_id.is_some() {
                continue;
            }
            let qty = it.qty_ordered.0;
            if qty.fract() != rust_decimal::Decimal::ZERO {
                e.push(format!("items[{i}].qty_ordered"), format!("{qty} is not a whole number of units"));
                continue;
            }
            lines.push(DraftLine {
                path: format!("items[{i}]"),
                sku: it.sku.clone(),
                quantity: i64::try_from(qty.mantissa() / 10i128.pow(qty.scale())).unwrap_or(-1),
                total: it.row_total.0 - it.discount_amount.0 + it.tax_amount.0,
            });
        }
        let method: Vec<String> = self.payment.as_ref().and_then(|p| text(&p.method)).into_iter().collect();
        let cod = is_cod(&method, cod_methods);
        let state = match self.state.as_deref().unwrap_or("") {
            "canceled" | "closed" => ShopState::Cancelled,
            "pending_payment" | "payment_review" if !cod => {
                ShopState::NotReady("prepaid order awaiting payment".into())
            }
            _ => ShopState::Open,
        };
        let bill = self.billing_address.unwrap_or_default();
        let ship = self
            .extension_attributes
            .and_then(|x| x.shipping_assignments.into_iter().find_map(|a| a.shipping.and_then(|s| s.address)))
            .unwrap_or_default();
        let to = if ship.street.is_empty() { &bill } else { &ship };
        let placed = timestamp(&mut e, "created_at", &self.created_at, utc_naive);
        let updated = timestamp(&mut e, "updated_at", &self.updated_at, utc_naive);
        let a = Assembled {
            external_id: self.entity_id.to_string(),
            placed_at: placed,
            cod,
            buyer: BuyerInput {
                name: join_name(&self.customer_firstname, &self.customer_lastname)
                    .or_else(|| join_name(&bill.firstname, &bill.lastname)),
                phone: first(&[&to.telephone, &bill.telephone]),
                email: first(&[&self.customer_email, &bill.email]),
            },
            address: AddressInput {
                name: join_name(&to.firstname, &to.lastname),
                phone: first(&[&to.telephone, &bill.telephone]),
                line1: to.street.first().cloned(),
                line2: (to.street.len() > 1).then(|| to.street[1..].join(", ")),
                city: text(&to.city),
                region: text(&to.region),
                postal_code: text(&to.postcode),
                country: text(&to.country_id),
            },
        };
        let draft = Draft { currency: self.order_currency_code, lines, total: self.grand_total.0 };
        let mut out = assemble(a, draft, updated, state, e)?;
        if let Some(n) = text(&self.increment_id) {
            out.notes.push(format!("Magento order {n}"));
        }
        Ok(out)
    }
}

pub fn parse_order(body: &[u8], cod_methods: &[String]) -> Result<ChannelOrder, FieldErrors> {
    parse_json::<Order>(body)?.map(cod_methods)
}
