//! An order as its table row: what intake fixes and what review, allocation and actions change, each a named row
//! with one conversion from the order.

use codflow_domain::{Order, WarehouseId};

use super::{choice_json, review_json};
use crate::bulk::row;
use crate::db::micros;

row!(
    /// What an order is given at intake and never changes.
    OrderFixed {
        id: String,
        store: String,
        external_id: String,
        placed_at: i64,
        currency: String,
        buyer_name: String,
        buyer_phone: String,
        buyer_email: Option<String>,
        ship_name: String,
        ship_phone: Option<String>,
        ship_line1: String,
        ship_line2: Option<String>,
        ship_city: String,
        ship_region: Option<String>,
        ship_postal_code: Option<String>,
        ship_country: String,
        shipping_fee_minor: i64,
        total_minor: i64,
        created_at: i64,
    }
);

row!(
    /// What review, allocation and the operator's actions change on an order; written at intake and by every
    /// save of its state.
    OrderState {
        status: String,
        review: Option<String>,
        warehouse_id: Option<String>,
        updated_at: i64,
        payment_method: String,
        cod_amount_minor: i64,
        channel: Option<String>,
        allocation: Option<String>,
    }
);

impl OrderFixed {
    pub(super) fn of(o: &Order) -> OrderFixed {
        let a = &o.shipping_address;
        OrderFixed {
            id: o.id.to_string(),
            store: o.store.to_string(),
            external_id: o.external_id.clone(),
            placed_at: micros(o.placed_at),
            currency: o.currency.code().to_owned(),
            buyer_name: o.buyer.name.clone(),
            buyer_phone: o.buyer.phone.as_str().to_owned(),
            buyer_email: o.buyer.email.clone(),
            ship_name: a.name.clone(),
            ship_phone: a.phone.as_ref().map(|p| p.as_str().to_owned()),
            ship_line1: a.line1.clone(),
            ship_line2: a.line2.clone(),
            ship_city: a.city.clone(),
            ship_region: a.region.clone(),
            ship_postal_code: a.postal_code.clone(),
            ship_country: a.country.code().to_owned(),
            shipping_fee_minor: o.shipping_fee.minor,
            total_minor: o.total.minor,
            created_at: micros(o.created_at),
        }
    }
}

impl OrderState {
    pub(super) fn of(o: &Order, warehouse: Option<&WarehouseId>) -> OrderState {
        OrderState {
            status: o.status.as_str().to_owned(),
            review: o.review.as_ref().map(review_json),
            warehouse_id: warehouse.map(|w| w.as_str().to_owned()),
            updated_at: micros(o.updated_at),
            payment_method: o.payment_method.as_str().to_owned(),
            cod_amount_minor: o.cod_amount.minor,
            channel: o.allocation.as_ref().and_then(|a| a.channel.as_ref().map(|c| c.to_string())),
            allocation: o.allocation.as_ref().and_then(|a| a.choice.as_ref()).map(choice_json),
        }
    }
}

/// `INTO orders (…)` with every column an insert writes.
pub(super) fn order_insert() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let cols: Vec<&str> = OrderFixed::COLUMNS.iter().chain(OrderState::COLUMNS).copied().collect();
        format!("INTO orders ({})", cols.join(", "))
    })
}
