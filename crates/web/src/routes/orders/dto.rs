//! Wire shapes of orders: the intake body, the order as the API returns it, its actions and its history.

use codflow_domain::order::{AddressInput, BuyerInput, LineInput};
use codflow_domain::{Order, OrderInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::{MoneyDto, rfc3339};
use crate::routes::logistics::dto::{AllocationDto, allocation_dto};
use crate::routes::review::dto::ReviewDto;

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct BuyerDto {
    pub name: Option<String>,
    #[schema(example = "+966501234567")]
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AddressDto {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    #[schema(example = "SA")]
    pub country: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineDto {
    #[schema(example = "LAMP-01")]
    pub sku: Option<String>,
    pub quantity: Option<i64>,
    pub unit_price: Option<MoneyDto>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    /// The sales channel store; `manual` when absent.
    pub store: Option<String>,
    pub external_id: Option<String>,
    /// RFC 3339; now when absent.
    pub placed_at: Option<String>,
    pub currency: Option<String>,
    /// `cod` or `prepaid`.
    pub payment_method: Option<String>,
    pub buyer: Option<BuyerDto>,
    pub shipping_address: Option<AddressDto>,
    pub lines: Option<Vec<LineDto>>,
    pub shipping_fee: Option<MoneyDto>,
}

impl From<CreateOrder> for OrderInput {
    fn from(o: CreateOrder) -> Self {
        let b = o.buyer.unwrap_or_default();
        let a = o.shipping_address.unwrap_or_default();
        OrderInput {
            store: o.store,
            external_id: o.external_id,
            placed_at: o.placed_at,
            currency: o.currency,
            payment_method: o.payment_method,
            buyer: BuyerInput { name: b.name, phone: b.phone, email: b.email },
            shipping_address: AddressInput {
                name: a.name,
                phone: a.phone,
                line1: a.line1,
                line2: a.line2,
                city: a.city,
                region: a.region,
                postal_code: a.postal_code,
                country: a.country,
            },
            lines: o
                .lines
                .unwrap_or_default()
                .into_iter()
                .map(|l| LineInput { sku: l.sku, quantity: l.quantity, unit_price: l.unit_price.map(Into::into) })
                .collect(),
            shipping_fee: o.shipping_fee.map(Into::into),
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderLineDto {
    pub sku: String,
    pub quantity: i64,
    pub unit_price: MoneyDto,
    pub line_total: MoneyDto,
}

#[derive(Serialize, ToSchema)]
pub struct AddressOut {
    pub name: String,
    pub phone: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
}

#[derive(Serialize, ToSchema)]
pub struct BuyerOut {
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderDto {
    #[schema(example = "ord_06f7k3y0s1h5v9r2m4b8c0d2e4")]
    pub id: String,
    pub store: String,
    pub external_id: String,
    /// pending_review, on_hold, cancelled, approved, allocated, backordered, fulfilled, closed
    pub status: String,
    pub payment_method: String,
    pub placed_at: String,
    pub currency: String,
    pub buyer: BuyerOut,
    pub shipping_address: AddressOut,
    pub lines: Vec<OrderLineDto>,
    pub shipping_fee: MoneyDto,
    pub total: MoneyDto,
    /// Zero when prepaid.
    pub cod_amount: MoneyDto,
    pub review: Option<ReviewDto>,
    pub allocation: Option<AllocationDto>,
    pub created_at: String,
    pub updated_at: String,
    /// On a single order only: the buyer's answers to failed deliveries, as sent to the carrier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_instructions: Option<Vec<crate::routes::tracking::OrderNdrDto>>,
    /// On a single order only: what its shop was told (shipped, delivered) and whether it arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_updates: Option<Vec<crate::routes::shops::PushDto>>,
}

impl From<Order> for OrderDto {
    fn from(o: Order) -> Self {
        let a = o.shipping_address;
        OrderDto {
            id: o.id.to_string(),
            store: o.store.to_string(),
            external_id: o.external_id,
            status: o.status.to_string(),
            payment_method: o.payment_method.as_str().into(),
            placed_at: rfc3339(o.placed_at),
            currency: o.currency.to_string(),
            buyer: BuyerOut { name: o.buyer.name, phone: o.buyer.phone.to_string(), email: o.buyer.email },
            shipping_address: AddressOut {
                name: a.name,
                phone: a.phone.map(|p| p.to_string()),
                line1: a.line1,
                line2: a.line2,
                city: a.city,
                region: a.region,
                postal_code: a.postal_code,
                country: a.country.to_string(),
            },
            lines: o
                .lines
                .into_iter()
                .map(|l| OrderLineDto {
                    sku: l.sku.to_string(),
                    quantity: l.quantity,
                    unit_price: l.unit_price.into(),
                    line_total: l.unit_price.checked_mul(l.quantity).unwrap_or(l.unit_price).into(),
                })
                .collect(),
            shipping_fee: o.shipping_fee.into(),
            total: o.total.into(),
            cod_amount: o.cod_amount.into(),
            review: o.review.map(|r| ReviewDto {
                decision: r.decision.as_str().into(),
                rules: r.rules,
                reasons: r.reasons,
                ruleset_version: r.ruleset_version,
                prepayment_required: r.prepayment_required,
                matches: r.matches.into_iter().map(Into::into).collect(),
                risk: r.risk.map(Into::into),
            }),
            allocation: o.allocation.map(allocation_dto),
            created_at: rfc3339(o.created_at),
            updated_at: rfc3339(o.updated_at),
            delivery_instructions: None,
            channel_updates: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditDto {
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    /// `token:tok_…`, `rule:…`, `worker:…` or `system`.
    pub actor: String,
    pub reason: Option<String>,
    pub at: String,
}

impl From<codflow_app::orders::StoredAudit> for AuditDto {
    fn from(a: codflow_app::orders::StoredAudit) -> Self {
        AuditDto {
            action: a.action,
            from_status: a.from_status,
            to_status: a.to_status,
            actor: a.actor,
            reason: a.reason,
            at: rfc3339(a.at),
        }
    }
}
