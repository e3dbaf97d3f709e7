//! WooCommerce's order note and status shapes, and the texts codflow writes.

use serde::{Deserialize, Serialize};

use crate::sales::Fulfilment;

#[derive(Deserialize, Debug)]
pub struct Note {
    pub id: u64,
    #[serde(default)]
    pub note: String,
}

#[derive(Serialize)]
pub struct NewNote<'a> {
    pub note: &'a str,
    /// A customer note is shown to the buyer on their order page and emailed by WooCommerce.
    pub customer_note: bool,
}

#[derive(Deserialize, Debug)]
pub struct OrderStatus {
    pub status: String,
}

#[derive(Serialize)]
pub struct StatusBody {
    pub status: &'static str,
}

/// The same parcel always gives the same text, which is how a retry recognises its own note.
pub fn shipped_note(f: &Fulfilment) -> String {
    format!("Shipped with {}, tracking number {}: {}", f.company, f.tracking_number, f.tracking_url)
}

pub fn delivered_note(f: &Fulfilment) -> String {
    format!("Delivered by {}, tracking number {}", f.company, f.tracking_number)
}

// ---- Orders in: https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties ----

use codflow_domain::FieldErrors;
use codflow_domain::order::{AddressInput, BuyerInput};
use rust_decimal::Decimal;

use crate::sales::inbound::{
    Amount, Assembled, ChannelOrder, Draft, DraftLine, ShopState, assemble, first, is_cod, join_name, parse_json, text,
    timestamp, utc_naive,
};

#[derive(Deserialize, Debug, Default)]
pub struct Address {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub address_1: Option<String>,
    pub address_2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct LineItem {
    #[serde(default)]
    pub sku: Option<String>,
    pub quantity: i64,
    /// The line after discounts, without tax.
    pub total: Amount,
    #[serde(default)]
    pub total_tax: Amount,
}

#[derive(Deserialize, Debug)]
pub struct Order {
    pub id: u64,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub date_created_gmt: Option<String>,
    #[serde(default)]
    pub date_modified_gmt: Option<String>,
    #[serde(default)]
    pub payment_method: Option<String>,
    #[serde(default)]
    pub payment_method_title: Option<String>,
    pub total: Amount,
    #[serde(default)]
    pub billing: Option<Address>,
    #[serde(default)]
    pub shipping: Option<Address>,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
}

impl Order {
    pub fn updated(&self) -> Option<time::OffsetDateTime> {
        self.date_modified_gmt.as_deref().and_then(utc_naive)
    }

    pub fn map(self, cod_methods: &[String]) -> Result<ChannelOrder, FieldErrors> {
        let mut e = FieldErrors::default();
        let lines = self
            .line_items
            .iter()
            .enumerate()
            .map(|(i, l)| DraftLine {
                path: format!("line_items[{i}]"),
                sku: l.sku.clone(),
                quantity: l.quantity,
                total: l.total.0 + l.total_tax.0,
            })
            .collect();
        let mut methods: Vec<String> = text(&self.payment_method).into_iter().collect();
        methods.extend(text(&self.payment_method_title));
        let cod = is_cod(&methods, cod_methods);
        let status = self.status.as_deref().unwrap_or("");
        let state = match status {
            "cancelled" | "refunded" | "failed" | "trash" => ShopState::Cancelled,
            "pending" | "on-hold" | "checkout-draft" if !cod => {
                ShopState::NotReady(format!("prepaid order with status {status}: not paid yet"))
            }
            _ => ShopState::Open,
        };
        let ship = self.shipping.unwrap_or_default();
        let bill = self.billing.unwrap_or_default();
        let placed = timestamp(&mut e, "date_created_gmt", &self.date_created_gmt, utc_naive);
        let updated = timestamp(&mut e, "date_modified_gmt", &self.date_modified_gmt, utc_naive);
        let shipping_has_street = text(&ship.address_1).is_some();
        let to = if shipping_has_street { &ship } else { &bill };
        let a = Assembled {
            external_id: self.id.to_string(),
            placed_at: placed,
            cod,
            buyer: BuyerInput {
                name: join_name(&bill.first_name, &bill.last_name)
                    .or_else(|| join_name(&ship.first_name, &ship.last_name)),
                phone: first(&[&ship.phone, &bill.phone]),
                email: text(&bill.email),
            },
            address: AddressInput {
                name: join_name(&to.first_name, &to.last_name),
                phone: first(&[&ship.phone, &bill.phone]),
                line1: text(&to.address_1),
                line2: text(&to.address_2),
                city: text(&to.city),
                region: text(&to.state),
                postal_code: text(&to.postcode),
                country: text(&to.country),
            },
        };
        let total: Decimal = self.total.0;
        let mut out = assemble(a, Draft { currency: self.currency, lines, total }, updated, state, e)?;
        if !shipping_has_street {
            out.notes.push("no shipping address: shipped to the billing address".into());
        }
        if let Some(n) = text(&self.number) {
            out.notes.push(format!("WooCommerce order {n}"));
        }
        Ok(out)
    }
}

/// Reads one order payload (a webhook body or one order of a page).
pub fn parse_order(body: &[u8], cod_methods: &[String]) -> Result<ChannelOrder, FieldErrors> {
    parse_json::<Order>(body)?.map(cod_methods)
}

#[derive(Deserialize, Debug)]
pub struct ProductRef {
    pub id: u64,
}

#[derive(Serialize, Debug)]
pub struct StockBody {
    pub manage_stock: bool,
    pub stock_quantity: i64,
}
