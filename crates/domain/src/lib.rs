//! The pure core of codflow: values that cannot be built invalid, and the rules over them. No I/O here.

pub mod allocation;
pub mod anomaly;
pub mod auth;
pub mod carrier_account;
pub mod catalogue;
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
    AsnId, AuditId, BagId, HandoverId, ImportId, InboxId, NotificationId, OrderId, PackId, ProductId, PurchaseOrderId,
    PushId, ReturnId, RuleId, ShipmentId, StatementId, TaskId, TokenId, UserId, WarehouseId, WaveId,
};
pub use money::{Converted, Currency, FxRate, Money};
pub use order::{
    Actor, Address, Allocation, AuditRecord, Buyer, ChannelChoice, Decision, IneligibleChannel, NewOrder, Order,
    OrderInput, OrderLine, OrderStatus, PaymentMethod, RankedChannel, Review, RuleMatch,
};
pub use phone::Phone;
pub use tracking::{CodStatus, ShipmentStatus};
