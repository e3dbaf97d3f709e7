//! The commercial order: validated intake, totals, COD amount and the status machine of API.md.
//!
//! Over 600 lines because 170 of them are its unit tests.

use crate::text::max;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{
    AuditId, Country, Currency, Error, FieldErrors, Money, OrderId, Phone, ShopCode, Sku, TokenId, WarehouseCode,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    PendingReview,
    OnHold,
    Cancelled,
    Approved,
    Allocated,
    Backordered,
    Fulfilled,
    Closed,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::PendingReview,
        OrderStatus::OnHold,
        OrderStatus::Cancelled,
        OrderStatus::Approved,
        OrderStatus::Allocated,
        OrderStatus::Backordered,
        OrderStatus::Fulfilled,
        OrderStatus::Closed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::PendingReview => "pending_review",
            OrderStatus::OnHold => "on_hold",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Approved => "approved",
            OrderStatus::Allocated => "allocated",
            OrderStatus::Backordered => "backordered",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::invalid("status", format!("unknown order status {s:?}")))
    }

    /// The edges of the order machine. Holding or cancelling an allocated order is allowed: the caller must
    /// release its reservation in the same transaction.
    pub fn can_become(self, to: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, to),
            (PendingReview, Approved | OnHold | Cancelled)
                | (OnHold, Approved | Cancelled)
                | (Approved, Allocated | Backordered | OnHold | Cancelled)
                | (Backordered, Allocated | OnHold | Cancelled)
                | (Allocated, Fulfilled | OnHold | Cancelled)
                | (Fulfilled, Closed)
        )
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cod,
    Prepaid,
}

impl PaymentMethod {
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "cod" => Ok(PaymentMethod::Cod),
            "prepaid" => Ok(PaymentMethod::Prepaid),
            _ => Err(Error::invalid("payment_method", format!("{s:?} is not a payment method (cod or prepaid)"))),
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentMethod::Cod => "cod",
            PaymentMethod::Prepaid => "prepaid",
        }
    }
}

/// Who or what caused a change: every audit record names one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Token(TokenId),
    /// A person signed in to the console.
    User(crate::UserId),
    Rule(String),
    Worker(String),
    System,
}

impl Actor {
    pub fn to_stored(&self) -> String {
        match self {
            Actor::Token(t) => format!("token:{t}"),
            Actor::User(u) => format!("user:{u}"),
            Actor::Rule(r) => format!("rule:{r}"),
            Actor::Worker(w) => format!("worker:{w}"),
            Actor::System => "system".into(),
        }
    }
}

/// One state change: who, what, why, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: AuditId,
    pub entity: &'static str,
    pub entity_id: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub actor: Actor,
    pub reason: Option<String>,
    pub at: OffsetDateTime,
}

impl AuditRecord {
    /// A change to something other than an order's status: a stock count, a product, a warehouse.
    pub fn change(
        entity: &'static str,
        entity_id: String,
        action: &str,
        from: Option<String>,
        to: Option<String>,
        actor: Actor,
        at: OffsetDateTime,
    ) -> AuditRecord {
        AuditRecord {
            id: AuditId::generate(),
            entity,
            entity_id,
            action: action.to_owned(),
            from_status: from,
            to_status: to,
            actor,
            reason: None,
            at,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buyer {
    pub name: String,
    pub phone: Phone,
    pub email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Address {
    pub name: String,
    pub phone: Option<Phone>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Country,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine {
    pub sku: Sku,
    pub quantity: i64,
    pub unit_price: Money,
}

/// What review decides, and what a rule asks for. Declared from weakest to strongest: when several rules
/// match, the strongest wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Flag,
    BlockCod,
    Hold,
    Cancel,
}

impl Decision {
    pub const ALL: [Decision; 5] =
        [Decision::Approve, Decision::Flag, Decision::BlockCod, Decision::Hold, Decision::Cancel];

    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Flag => "flag",
            Decision::BlockCod => "block_cod",
            Decision::Hold => "hold",
            Decision::Cancel => "cancel",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        Self::ALL.into_iter().find(|d| d.as_str() == s).ok_or_else(|| {
            Error::invalid("action", format!("{s:?} is not an action (approve, hold, cancel, flag or block_cod)"))
        })
    }
}

/// One rule that matched an order, or failed on it, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub rule_id: String,
    pub name: String,
    pub action: Decision,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
}

/// The outcome of review, kept on the order so the decision can always be explained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub decision: Decision,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    pub reasons: Vec<String>,
    #[serde(default)]
    pub ruleset_version: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<RuleMatch>,
    #[serde(default)]
    pub risk: Option<crate::review::risk::RiskScore>,
    /// Set by `block_cod`: the order stands but must be paid before it ships.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prepayment_required: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub warehouse: WarehouseCode,
    pub channel: Option<crate::ChannelCode>,
    /// How the channel was chosen; None for orders allocated before channels existed.
    pub choice: Option<ChannelChoice>,
}

/// The ranking behind an order's channel, kept so that "why this channel?" always has an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelChoice {
    pub strategy: String,
    pub why: String,
    pub ranking: Vec<RankedChannel>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ineligible: Vec<IneligibleChannel>,
}

/// One eligible channel's figures, amounts in minor units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedChannel {
    pub channel: String,
    pub zone: String,
    pub currency: String,
    pub total_minor: i64,
    pub base_currency: String,
    pub total_base_minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_profit_minor: Option<i64>,
    pub p_delivered_ppm: u64,
    pub samples: u64,
    pub transit_days: i64,
    pub billable_weight_g: i64,
    /// The quote's parts (freight, surcharges, fees, duties): what a freight invoice is audited against and
    /// an order's profit is figured from. Absent on orders allocated before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<crate::rating::Breakdown>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IneligibleChannel {
    pub channel: String,
    pub reason: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub store: ShopCode,
    pub external_id: String,
    pub placed_at: OffsetDateTime,
    pub currency: Currency,
    pub payment_method: PaymentMethod,
    pub buyer: Buyer,
    pub shipping_address: Address,
    pub lines: Vec<OrderLine>,
    pub shipping_fee: Money,
    pub total: Money,
    pub cod_amount: Money,
    pub status: OrderStatus,
    pub review: Option<Review>,
    pub allocation: Option<Allocation>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Order {
    /// Moves the order along the machine, refusing illegal edges, and returns the audit record of the move.
    pub fn transition(
        &mut self,
        to: OrderStatus,
        action: &str,
        actor: Actor,
        reason: Option<String>,
        at: OffsetDateTime,
    ) -> Result<AuditRecord, Error> {
        if !self.status.can_become(to) {
            return Err(Error::IllegalTransition { from: self.status.to_string(), to: to.to_string() });
        }
        let from = self.status;
        self.status = to;
        self.updated_at = at;
        Ok(AuditRecord {
            id: AuditId::generate(),
            entity: "order",
            entity_id: self.id.to_string(),
            action: action.to_owned(),
            from_status: Some(from.to_string()),
            to_status: Some(to.to_string()),
            actor,
            reason,
            at,
        })
    }

    /// The quantity wanted per SKU, with repeated lines of one SKU added up.
    pub fn demand(&self) -> BTreeMap<Sku, i64> {
        let mut d = BTreeMap::new();
        for l in &self.lines {
            *d.entry(l.sku.clone()).or_insert(0) += l.quantity;
        }
        d
    }

    pub fn creation_audit(&self, actor: Actor) -> AuditRecord {
        AuditRecord {
            id: AuditId::generate(),
            entity: "order",
            entity_id: self.id.to_string(),
            action: "create".into(),
            from_status: None,
            to_status: Some(self.status.to_string()),
            actor,
            reason: None,
            at: self.created_at,
        }
    }
}

/// Order input exactly as an integrator or a CSV file gave it, before anything is trusted.
#[derive(Clone, Debug, Default)]
pub struct OrderInput {
    pub store: Option<String>,
    pub external_id: Option<String>,
    pub placed_at: Option<String>,
    pub currency: Option<String>,
    pub payment_method: Option<String>,
    pub buyer: BuyerInput,
    pub shipping_address: AddressInput,
    pub lines: Vec<LineInput>,
    pub shipping_fee: Option<MoneyInput>,
}

#[derive(Clone, Debug, Default)]
pub struct BuyerInput {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct AddressInput {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

impl BuyerInput {
    /// As sent by a shop platform: control characters in its text become spaces (see [`crate::text::cleaned`]).
    pub fn cleaned(self) -> Self {
        let c = |o: Option<String>| o.map(|s| crate::text::cleaned(&s));
        Self { name: c(self.name), phone: c(self.phone), email: c(self.email) }
    }
}

impl AddressInput {
    /// As sent by a shop platform: control characters in its text become spaces (see [`crate::text::cleaned`]).
    pub fn cleaned(self) -> Self {
        let c = |o: Option<String>| o.map(|s| crate::text::cleaned(&s));
        Self {
            name: c(self.name),
            phone: c(self.phone),
            line1: c(self.line1),
            line2: c(self.line2),
            city: c(self.city),
            region: c(self.region),
            postal_code: c(self.postal_code),
            country: c(self.country),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct LineInput {
    pub sku: Option<String>,
    pub quantity: Option<i64>,
    pub unit_price: Option<MoneyInput>,
}

#[derive(Clone, Debug, Default)]
pub struct MoneyInput {
    pub amount: String,
    /// Absent means "the order's currency" (CSV files carry one currency column per order).
    pub currency: Option<String>,
}

fn opt_text(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A field that must be present and must parse: records "is required" or the parse error under `path`.
fn parsed<T>(
    e: &mut FieldErrors,
    path: String,
    v: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, Error>,
) -> Option<T> {
    match opt_text(v) {
        None => {
            e.push(path, "is required");
            None
        }
        Some(s) => e.take(path, parse(&s)),
    }
}

fn required(errs: &mut FieldErrors, path: &str, v: Option<String>, max: usize) -> Option<String> {
    let Some(s) = v else {
        errs.push(path, "is required");
        return None;
    };
    let t = s.trim();
    if t.is_empty() {
        errs.push(path, "must not be empty");
        None
    } else {
        errs.take(path, crate::text::line(t, max)).map(|()| t.to_owned())
    }
}

/// Text that may be left out; when given, one line of at most `max` characters.
fn optional(errs: &mut FieldErrors, path: &str, v: Option<String>, max: usize) -> Option<String> {
    let t = opt_text(v)?;
    errs.take(path, crate::text::line(&t, max)).map(|()| t)
}

fn money_in(errs: &mut FieldErrors, path: &str, m: &MoneyInput, order_currency: Option<Currency>) -> Option<Money> {
    let currency = match &m.currency {
        Some(c) => errs.take(format!("{path}.currency"), Currency::parse(c))?,
        None => order_currency?,
    };
    if let Some(oc) = order_currency
        && oc != currency
    {
        errs.push(format!("{path}.currency"), format!("currency {currency} differs from the order's currency {oc}"));
        return None;
    }
    let money = errs.take(format!("{path}.amount"), Money::parse(&m.amount, currency))?;
    if money.is_negative() {
        errs.push(format!("{path}.amount"), "must not be negative");
        return None;
    }
    Some(money)
}

/// What intake needs to create an order; everything in it has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    pub store: ShopCode,
    pub external_id: String,
    pub placed_at: OffsetDateTime,
    pub currency: Currency,
    pub payment_method: PaymentMethod,
    pub buyer: Buyer,
    pub shipping_address: Address,
    pub lines: Vec<OrderLine>,
    pub shipping_fee: Money,
}

pub const MAX_LINES: usize = 500;

impl OrderInput {
    /// Checks every field and reports all problems at once, each under its JSON path.
    pub fn validate(self, now: OffsetDateTime) -> Result<NewOrder, FieldErrors> {
        let mut e = FieldErrors::default();
        let store = match opt_text(self.store) {
            None => e.take("store", ShopCode::parse("manual")),
            Some(s) => e.take("store", ShopCode::parse(&s)),
        };
        let external_id = required(&mut e, "external_id", self.external_id, max::EXTERNAL_ID);
        let placed_at = match opt_text(self.placed_at) {
            None => Some(now),
            Some(s) => match OffsetDateTime::parse(&s, &Rfc3339) {
                Ok(t) => e.take("placed_at", crate::text::time(t.to_offset(time::UtcOffset::UTC))),
                Err(_) => {
                    e.push("placed_at", format!("{s:?} is not an RFC 3339 time such as 2026-11-20T10:00:00Z"));
                    None
                }
            },
        };
        let currency = parsed(&mut e, "currency".into(), self.currency, Currency::parse);
        let payment_method = parsed(&mut e, "payment_method".into(), self.payment_method, PaymentMethod::parse);
        let a = self.shipping_address;
        let country = parsed(&mut e, "shipping_address.country".into(), a.country, Country::parse);
        let buyer_name = required(&mut e, "buyer.name", self.buyer.name, max::NAME);
        let buyer_phone = parsed(&mut e, "buyer.phone".into(), self.buyer.phone, |p| Phone::parse(p, country));
        let buyer_email = optional(&mut e, "buyer.email", self.buyer.email, max::EMAIL);
        if let Some(m) = &buyer_email
            && (!m.contains('@') || m.contains(char::is_whitespace))
        {
            e.push("buyer.email", format!("{m:?} is not an email address"));
        }
        let addr_name = required(&mut e, "shipping_address.name", a.name, max::NAME);
        let addr_phone = opt_text(a.phone).and_then(|p| e.take("shipping_address.phone", Phone::parse(&p, country)));
        let line1 = required(&mut e, "shipping_address.line1", a.line1, max::ADDRESS_LINE);
        let line2 = optional(&mut e, "shipping_address.line2", a.line2, max::ADDRESS_LINE);
        let city = required(&mut e, "shipping_address.city", a.city, max::CITY);
        let region = optional(&mut e, "shipping_address.region", a.region, max::REGION);
        let postal_code = optional(&mut e, "shipping_address.postal_code", a.postal_code, max::POSTAL_CODE);
        if self.lines.is_empty() {
            e.push("lines", "an order needs at least one line");
        }
        if self.lines.len() > MAX_LINES {
            e.push("lines", format!("an order has at most {MAX_LINES} lines"));
        }
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            let p = format!("lines[{i}]");
            let sku = parsed(&mut e, format!("{p}.sku"), l.sku, Sku::parse);
            let quantity = match l.quantity {
                None => {
                    e.push(format!("{p}.quantity"), "is required");
                    None
                }
                Some(q) if q <= 0 => {
                    e.push(format!("{p}.quantity"), "must be at least 1");
                    None
                }
                Some(q) if q > 100_000 => {
                    e.push(format!("{p}.quantity"), "must be at most 100000");
                    None
                }
                Some(q) => Some(q),
            };
            let price = match &l.unit_price {
                None => {
                    e.push(format!("{p}.unit_price"), "is required");
                    None
                }
                Some(m) => money_in(&mut e, &format!("{p}.unit_price"), m, currency),
            };
            if let (Some(sku), Some(quantity), Some(unit_price)) = (sku, quantity, price) {
                lines.push(OrderLine { sku, quantity, unit_price });
            }
        }
        let shipping_fee = match (&self.shipping_fee, currency) {
            (None, Some(c)) => Some(Money::zero(c)),
            (None, None) => None,
            (Some(m), c) => money_in(&mut e, "shipping_fee", m, c),
        };
        let built = (|| {
            Some(NewOrder {
                store: store?,
                external_id: external_id?,
                placed_at: placed_at?,
                currency: currency?,
                payment_method: payment_method?,
                buyer: Buyer { name: buyer_name?, phone: buyer_phone?, email: buyer_email },
                shipping_address: Address {
                    name: addr_name?,
                    phone: addr_phone,
                    line1: line1?,
                    line2,
                    city: city?,
                    region,
                    postal_code,
                    country: country?,
                },
                lines,
                shipping_fee: shipping_fee?,
            })
        })();
        match built {
            Some(o) if e.is_empty() => {
                if let Err(err) = o.total() {
                    e.push("lines", err.to_string());
                    return Err(e);
                }
                Ok(o)
            }
            _ => Err(e),
        }
    }
}

impl NewOrder {
    pub fn total(&self) -> Result<Money, Error> {
        let mut t = self.shipping_fee;
        for l in &self.lines {
            t = t.checked_add(l.unit_price.checked_mul(l.quantity)?)?;
        }
        Ok(t)
    }

    /// Builds the order as intake first records it: not yet reviewed.
    pub fn into_order(self, now: OffsetDateTime) -> Result<Order, Error> {
        let total = self.total()?;
        let cod_amount = match self.payment_method {
            PaymentMethod::Cod => total,
            PaymentMethod::Prepaid => Money::zero(self.currency),
        };
        Ok(Order {
            id: OrderId::generate(),
            store: self.store,
            external_id: self.external_id,
            placed_at: self.placed_at,
            currency: self.currency,
            payment_method: self.payment_method,
            buyer: self.buyer,
            shipping_address: self.shipping_address,
            lines: self.lines,
            shipping_fee: self.shipping_fee,
            total,
            cod_amount,
            status: OrderStatus::PendingReview,
            review: None,
            allocation: None,
            created_at: now,
            updated_at: now,
        })
    }
}

/// A valid COD order to Riyadh, for tests to start from and change.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    pub(crate) fn input() -> OrderInput {
        OrderInput {
            store: Some("manual".into()),
            external_id: Some("1001".into()),
            placed_at: Some("2026-11-20T10:00:00Z".into()),
            currency: Some("SAR".into()),
            payment_method: Some("cod".into()),
            buyer: BuyerInput { name: Some("Noura A.".into()), phone: Some("0501234567".into()), email: None },
            shipping_address: AddressInput {
                name: Some("Noura A.".into()),
                line1: Some("King Fahd Rd 12".into()),
                city: Some("Riyadh".into()),
                country: Some("SA".into()),
                ..Default::default()
            },
            lines: vec![LineInput {
                sku: Some("LAMP-01".into()),
                quantity: Some(2),
                unit_price: Some(MoneyInput { amount: "59.00".into(), currency: Some("SAR".into()) }),
            }],
            shipping_fee: Some(MoneyInput { amount: "10.00".into(), currency: Some("SAR".into()) }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::input;
    use super::*;
    use proptest::prelude::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    #[test]
    fn a_valid_cod_order_totals_its_lines_and_fee_and_collects_the_total() {
        let o = input().validate(now()).unwrap().into_order(now()).unwrap();
        assert_eq!(o.total.minor, 2 * 5900 + 1000);
        assert_eq!(o.cod_amount, o.total);
        assert_eq!(o.buyer.phone.as_str(), "+966501234567");
        assert_eq!(o.status, OrderStatus::PendingReview);
    }

    #[test]
    fn a_prepaid_order_collects_nothing_on_delivery() {
        let mut i = input();
        i.payment_method = Some("prepaid".into());
        let o = i.validate(now()).unwrap().into_order(now()).unwrap();
        assert_eq!(o.cod_amount.minor, 0);
        assert_eq!(o.cod_amount.currency.code(), "SAR");
    }

    fn paths(i: OrderInput) -> Vec<String> {
        i.validate(now()).unwrap_err().0.into_iter().map(|e| e.path).collect()
    }

    #[test]
    fn every_bad_field_is_reported_under_its_path() {
        let mut i = input();
        i.lines[0].quantity = Some(0);
        i.shipping_address.country = Some("XX".into());
        i.shipping_address.city = None;
        i.currency = Some("ZZZ".into());
        let p = paths(i);
        for want in ["lines[0].quantity", "shipping_address.country", "shipping_address.city", "currency"] {
            assert!(p.contains(&want.to_string()), "{want} missing from {p:?}");
        }
    }

    #[test]
    fn a_line_priced_in_another_currency_is_refused() {
        let mut i = input();
        i.lines[0].unit_price = Some(MoneyInput { amount: "1.00".into(), currency: Some("AED".into()) });
        assert_eq!(paths(i), vec!["lines[0].unit_price.currency"]);
    }

    #[test]
    fn an_amount_with_too_many_decimals_is_refused() {
        let mut i = input();
        i.lines[0].unit_price = Some(MoneyInput { amount: "59.001".into(), currency: None });
        assert_eq!(paths(i), vec!["lines[0].unit_price.amount"]);
    }

    #[test]
    fn negative_quantities_and_prices_are_refused() {
        let mut i = input();
        i.lines[0].quantity = Some(-2);
        i.shipping_fee = Some(MoneyInput { amount: "-1".into(), currency: None });
        assert_eq!(paths(i), vec!["lines[0].quantity", "shipping_fee.amount"]);
    }

    #[test]
    fn an_order_without_lines_is_refused() {
        let mut i = input();
        i.lines.clear();
        assert_eq!(paths(i), vec!["lines"]);
    }

    #[test]
    fn illegal_transitions_are_refused_and_legal_ones_are_audited() {
        let mut o = input().validate(now()).unwrap().into_order(now()).unwrap();
        let err = o.transition(OrderStatus::Fulfilled, "fulfil", Actor::System, None, now()).unwrap_err();
        assert!(matches!(err, Error::IllegalTransition { .. }));
        assert_eq!(o.status, OrderStatus::PendingReview);
        let a =
            o.transition(OrderStatus::OnHold, "hold", Actor::Rule("r1".into()), Some("check".into()), now()).unwrap();
        assert_eq!(a.from_status.as_deref(), Some("pending_review"));
        assert_eq!(a.to_status.as_deref(), Some("on_hold"));
        assert_eq!(a.actor.to_stored(), "rule:r1");
        assert_eq!(a.reason.as_deref(), Some("check"));
    }

    #[test]
    fn final_states_have_no_way_out() {
        for from in [OrderStatus::Cancelled, OrderStatus::Closed] {
            for to in OrderStatus::ALL {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn the_machine_matches_the_documented_edges() {
        use OrderStatus::*;
        let expected: &[(OrderStatus, &[OrderStatus])] = &[
            (PendingReview, &[Approved, OnHold, Cancelled]),
            (OnHold, &[Approved, Cancelled]),
            (Approved, &[Allocated, Backordered, OnHold, Cancelled]),
            (Backordered, &[Allocated, OnHold, Cancelled]),
            (Allocated, &[Fulfilled, OnHold, Cancelled]),
            (Fulfilled, &[Closed]),
        ];
        for (from, tos) in expected {
            for to in OrderStatus::ALL {
                assert_eq!(from.can_become(to), tos.contains(&to), "{from} -> {to}");
            }
        }
    }

    fn any_status() -> impl Strategy<Value = OrderStatus> {
        prop::sample::select(OrderStatus::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn any_walk_through_the_machine_only_takes_allowed_edges(steps in prop::collection::vec(any_status(), 0..30)) {
            let mut o = input().validate(now()).unwrap().into_order(now()).unwrap();
            let mut audits = 0;
            for to in steps {
                let before = o.status;
                match o.transition(to, "step", Actor::System, None, now()) {
                    Ok(_) => { prop_assert!(before.can_become(to)); audits += 1; }
                    Err(_) => { prop_assert!(!before.can_become(to)); prop_assert_eq!(o.status, before); }
                }
            }
            prop_assert!(audits <= 30);
        }

        #[test]
        fn statuses_round_trip_through_their_names(s in any_status()) {
            prop_assert_eq!(OrderStatus::parse(s.as_str()).unwrap(), s);
        }
    }
}
