//! The pure core of codflow: values that cannot be built invalid, and the rules over them. No I/O here.

/// A closed set of words: an enum with its written forms, `parse` naming the field and the choices, `ALL` and
/// `Display`. Declared before the modules so each can use it.
macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Result<$name, Error> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    Error::invalid($what, format!("{s:?} is not one of {}", names.join(", ")))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod allocation;
pub mod anomaly;
pub mod auth;
pub mod carrier_account;
pub mod catalogue;
pub mod claims;
pub mod country;
pub mod error;
pub mod finance;
pub mod floor;
pub mod ids;
pub mod inbound;
pub mod kpi;
pub mod money;
pub mod order;
pub mod packaging;
pub mod phone;
pub mod rating;
pub mod returns;
pub mod review;
pub mod shop;
pub mod text;
pub mod tracking;
pub mod work;
pub mod zone;

pub use auth::{Role, Username};
pub use catalogue::{
    AsnRef, BinLocation, CarrierAccountCode, CarrierCode, ChannelCode, HsCode, PoNumber, Product, ShopCode, Sku,
    StationCode, StockLevel, Warehouse, WarehouseCode,
};
pub use country::Country;
pub use error::{Error, FieldError, FieldErrors};
pub use ids::{
    AsnId, AuditId, BagId, ClaimId, HandoverId, ImportId, InboxId, NotificationId, OrderId, PackId, ProductId,
    PurchaseOrderId, PushId, ReturnId, RuleId, ShipmentId, StatementId, TaskId, TokenId, UserId, WarehouseId, WaveId,
};
pub use money::{Converted, Currency, FxRate, Money};
pub use order::{
    Actor, Address, Allocation, AuditRecord, Buyer, ChannelChoice, Decision, IneligibleChannel, NewOrder, Order,
    OrderInput, OrderLine, OrderStatus, PaymentMethod, RankedChannel, Review, RuleMatch,
};
pub use phone::Phone;
pub use tracking::{CodStatus, ShipmentStatus};
