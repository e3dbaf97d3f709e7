//! What a rule condition can see of an order: the facts, computed once per order and read by every rule.

use std::borrow::Cow;

use super::expr::Ty;

/// Why a fact has no value for this order (for example no exchange rate to the base currency).
#[derive(Clone, Debug, PartialEq)]
pub struct Unavailable(pub String);

/// Refusal history of one key (a phone, a region, a SKU in a region, ...): outcomes known so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub delivered: i64,
    pub refused: i64,
}

impl Counts {
    pub fn samples(&self) -> i64 {
        self.delivered + self.refused
    }
    /// The raw refusal rate; 0 when nothing is known yet (read it with `samples`).
    pub fn rate(&self) -> f64 {
        if self.samples() == 0 { 0.0 } else { self.refused as f64 / self.samples() as f64 }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub total_minor: i64,
    pub currency: String,
    pub total_base_minor: Result<i64, Unavailable>,
    pub base_currency: String,
    pub cod: bool,
    pub payment_method: String,
    pub item_count: i64,
    pub line_count: i64,
    pub skus: Vec<String>,
    pub max_sku_quantity: i64,
    pub store: String,
    pub shipping_fee_minor: i64,
    pub country: String,
    pub region: String,
    pub city: String,
    pub postal_code: String,
    pub region_key: String,
    pub postcode_key: String,
    pub phone: String,
    pub phone_is_mobile: bool,
    pub email: String,
    pub buyer_orders: i64,
    pub buyer_delivered: i64,
    pub buyer_refusals: i64,
    pub buyer_orders_24h: i64,
    pub buyer_duplicates_24h: i64,
    pub region_refusal_rate: f64,
    pub region_samples: i64,
    pub sku_region_refusal_rate: f64,
    pub sku_region_samples: i64,
    pub risk_score: f64,
}

macro_rules! fields {
    ($($variant:ident => $path:literal, $ty:ident, $doc:literal;)*) => {
        /// A fact a condition may name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Field { $($variant),* }

        /// Every fact: its path in a condition, its type and what it means.
        pub const FIELDS: &[(Field, &str, Ty, &str)] = &[$((Field::$variant, $path, Ty::$ty, $doc)),*];
    };
}

fields! {
    TotalMinor => "order.total_minor", Int, "order total in minor units of the order currency";
    Currency => "order.currency", Str, "ISO 4217 code of the order currency";
    TotalBaseMinor => "order.total_base_minor", Int, "order total converted to the base currency, minor units";
    BaseCurrency => "order.base_currency", Str, "the seller's base currency";
    Cod => "order.cod", Bool, "true when the buyer pays cash on delivery";
    PaymentMethod => "order.payment_method", Str, "cod or prepaid";
    ItemCount => "order.item_count", Int, "units over all lines";
    LineCount => "order.line_count", Int, "number of lines";
    Skus => "order.skus", StrList, "the distinct SKUs of the order";
    MaxSkuQuantity => "order.max_sku_quantity", Int, "the largest quantity of one SKU";
    Store => "order.store", Str, "the store code the order came from";
    ShippingFeeMinor => "order.shipping_fee_minor", Int, "shipping fee charged to the buyer, minor units";
    Country => "dest.country", Str, "destination country, ISO 3166-1 alpha-2";
    Region => "dest.region", Str, "destination region or province as written; empty when not given";
    City => "dest.city", Str, "destination city as written";
    PostalCode => "dest.postal_code", Str, "destination postal code; empty when not given";
    RegionKey => "dest.region_key", Str, "lower-case 'country:region' (e.g. 'sa:jizan'), the form lists use";
    PostcodeKey => "dest.postcode_key", Str, "lower-case 'country:postcode' (e.g. 'sa:45142'), the form lists use";
    Phone => "buyer.phone", Str, "the buyer's phone in E.164";
    PhoneIsMobile => "buyer.phone_is_mobile", Bool, "the phone is a valid mobile number of the destination country";
    Email => "buyer.email", Str, "the buyer's email; empty when not given";
    BuyerOrders => "buyer.orders", Int, "earlier orders from this phone";
    BuyerDelivered => "buyer.delivered", Int, "earlier orders from this phone that were delivered";
    BuyerRefusals => "buyer.refusals", Int, "earlier orders from this phone that were refused or returned";
    BuyerOrders24h => "buyer.orders_24h", Int, "orders from this phone in the 24 hours before this one";
    BuyerDuplicates24h => "buyer.duplicates_24h", Int, "orders from this phone with the same SKUs in the 24 hours before";
    RegionRefusalRate => "hist.region_refusal_rate", Double, "share of known outcomes in the region that were refusals";
    RegionSamples => "hist.region_samples", Int, "known outcomes in the region";
    SkuRegionRefusalRate => "hist.sku_region_refusal_rate", Double, "highest refusal rate of the order's SKUs in the region";
    SkuRegionSamples => "hist.sku_region_samples", Int, "known outcomes behind hist.sku_region_refusal_rate";
    RiskScore => "risk.score", Double, "risk of refusal in [0, 1], explained on the order";
}

impl Field {
    pub fn by_path(path: &str) -> Option<Field> {
        FIELDS.iter().find(|f| f.1 == path).map(|f| f.0)
    }
    pub fn path(self) -> &'static str {
        FIELDS.iter().find(|f| f.0 == self).map(|f| f.1).unwrap_or("?")
    }
    pub fn ty(self) -> Ty {
        FIELDS.iter().find(|f| f.0 == self).map(|f| f.2).unwrap_or(Ty::Bool)
    }
    pub fn known_paths() -> String {
        FIELDS.iter().map(|f| f.1).collect::<Vec<_>>().join(", ")
    }
}

/// A fact's value as the evaluator sees it.
pub(super) enum FactValue<'a> {
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(Cow<'a, str>),
    StrList(&'a [String]),
}

impl Facts {
    pub(super) fn get(&self, f: Field) -> Result<FactValue<'_>, Unavailable> {
        use FactValue::*;
        fn s(v: &str) -> Result<FactValue<'_>, Unavailable> {
            Ok(FactValue::Str(Cow::Borrowed(v)))
        }
        match f {
            Field::TotalMinor => Ok(Int(self.total_minor)),
            Field::Currency => s(&self.currency),
            Field::TotalBaseMinor => self.total_base_minor.clone().map(Int),
            Field::BaseCurrency => s(&self.base_currency),
            Field::Cod => Ok(Bool(self.cod)),
            Field::PaymentMethod => s(&self.payment_method),
            Field::ItemCount => Ok(Int(self.item_count)),
            Field::LineCount => Ok(Int(self.line_count)),
            Field::Skus => Ok(StrList(&self.skus)),
            Field::MaxSkuQuantity => Ok(Int(self.max_sku_quantity)),
            Field::Store => s(&self.store),
            Field::ShippingFeeMinor => Ok(Int(self.shipping_fee_minor)),
            Field::Country => s(&self.country),
            Field::Region => s(&self.region),
            Field::City => s(&self.city),
            Field::PostalCode => s(&self.postal_code),
            Field::RegionKey => s(&self.region_key),
            Field::PostcodeKey => s(&self.postcode_key),
            Field::Phone => s(&self.phone),
            Field::PhoneIsMobile => Ok(Bool(self.phone_is_mobile)),
            Field::Email => s(&self.email),
            Field::BuyerOrders => Ok(Int(self.buyer_orders)),
            Field::BuyerDelivered => Ok(Int(self.buyer_delivered)),
            Field::BuyerRefusals => Ok(Int(self.buyer_refusals)),
            Field::BuyerOrders24h => Ok(Int(self.buyer_orders_24h)),
            Field::BuyerDuplicates24h => Ok(Int(self.buyer_duplicates_24h)),
            Field::RegionRefusalRate => Ok(Double(self.region_refusal_rate)),
            Field::RegionSamples => Ok(Int(self.region_samples)),
            Field::SkuRegionRefusalRate => Ok(Double(self.sku_region_refusal_rate)),
            Field::SkuRegionSamples => Ok(Int(self.sku_region_samples)),
            Field::RiskScore => Ok(Double(self.risk_score)),
        }
    }
}
