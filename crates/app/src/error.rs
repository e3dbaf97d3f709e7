use codflow_domain::FieldErrors;

/// What a use case can answer besides success. The web layer maps each to one status and stable code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A signature or signed link that does not verify.
    #[error("the signature does not match")]
    Unauthorized,
    #[error("{message}")]
    Conflict { kind: ConflictKind, message: String },
    /// Cannot be done right now, through no fault of the request (the server is stopping, the system's
    /// randomness failed): try again later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Something inside failed that the caller cannot fix (a worker thread died, hashing failed).
    #[error("failed: {0}")]
    Failed(String),
    /// Too many attempts (logins): try again after the given seconds.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("internal error: {0}")]
    Internal(#[from] codflow_store::Error),
}

/// Why a request conflicts with the state it met. Each kind has one stable code in the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConflictKind {
    AlreadyAnswered,
    BarcodeTaken,
    BagNotOpen,
    BookingInProgress,
    BuiltinList,
    BuiltinProfile,
    Busy,
    CarrierAccountExists,
    CarrierAccountInUse,
    CarrierNotConfigured,
    CarrierRefused,
    CarrierRefusedCancel,
    CarrierUnavailable,
    ChannelExists,
    ClaimExists,
    ClaimNotAllowed,
    ChannelInUse,
    IllegalTransition,
    LinkExpired,
    ListExists,
    ListInUse,
    NoChannel,
    NoSecretKey,
    NoWarehouse,
    NotAllocated,
    NotAwaitingAnswer,
    NotIntercepted,
    NothingToHandOver,
    NothingCounted,
    NoCarrierApi,
    NoExchangeRate,
    NoPackingPlan,
    PoExists,
    AsnExists,
    NotReceivable,
    NothingToPick,
    PackNotReady,
    NotBooked,
    NotDead,
    NotFailed,
    NotStored,
    NothingToDispute,
    ProductExists,
    ShipmentBooked,
    StockBelowReserved,
    ShopDisabled,
    ShopExists,
    ShopNotPullable,
    TaskAlreadyOpen,
    UsernameTaken,
    WarehouseExists,
}

impl ConflictKind {
    pub fn code(self) -> &'static str {
        match self {
            ConflictKind::AlreadyAnswered => "already_answered",
            ConflictKind::BarcodeTaken => "barcode_taken",
            ConflictKind::NotIntercepted => "not_intercepted",
            ConflictKind::NothingToHandOver => "nothing_to_hand_over",
            ConflictKind::NothingCounted => "nothing_counted",
            ConflictKind::NoCarrierApi => "no_carrier_api",
            ConflictKind::NoExchangeRate => "no_exchange_rate",
            ConflictKind::NoPackingPlan => "no_packing_plan",
            ConflictKind::PoExists => "purchase_order_exists",
            ConflictKind::AsnExists => "asn_exists",
            ConflictKind::NotReceivable => "not_receivable",
            ConflictKind::NothingToPick => "nothing_to_pick",
            ConflictKind::PackNotReady => "pack_not_ready",
            ConflictKind::BagNotOpen => "bag_not_open",
            ConflictKind::BookingInProgress => "booking_in_progress",
            ConflictKind::BuiltinList => "builtin_list",
            ConflictKind::BuiltinProfile => "builtin_profile",
            ConflictKind::Busy => "busy",
            ConflictKind::CarrierAccountExists => "carrier_account_exists",
            ConflictKind::CarrierAccountInUse => "carrier_account_in_use",
            ConflictKind::CarrierNotConfigured => "carrier_not_configured",
            ConflictKind::CarrierRefused => "carrier_refused",
            ConflictKind::CarrierRefusedCancel => "carrier_refused_cancel",
            ConflictKind::CarrierUnavailable => "carrier_unavailable",
            ConflictKind::ChannelExists => "channel_exists",
            ConflictKind::ChannelInUse => "channel_in_use",
            ConflictKind::IllegalTransition => "illegal_transition",
            ConflictKind::LinkExpired => "link_expired",
            ConflictKind::ClaimExists => "claim_exists",
            ConflictKind::ClaimNotAllowed => "claim_not_allowed",
            ConflictKind::ListExists => "list_exists",
            ConflictKind::ListInUse => "list_in_use",
            ConflictKind::NoChannel => "no_channel",
            ConflictKind::NoSecretKey => "no_secret_key",
            ConflictKind::NoWarehouse => "no_warehouse",
            ConflictKind::NotAllocated => "not_allocated",
            ConflictKind::NotAwaitingAnswer => "not_awaiting_answer",
            ConflictKind::NotBooked => "not_booked",
            ConflictKind::NotDead => "not_dead",
            ConflictKind::NotFailed => "not_failed",
            ConflictKind::NotStored => "not_stored",
            ConflictKind::NothingToDispute => "nothing_to_dispute",
            ConflictKind::ProductExists => "product_exists",
            ConflictKind::ShipmentBooked => "shipment_booked",
            ConflictKind::StockBelowReserved => "stock_below_reserved",
            ConflictKind::ShopDisabled => "store_disabled",
            ConflictKind::ShopExists => "store_exists",
            ConflictKind::ShopNotPullable => "store_not_pullable",
            ConflictKind::TaskAlreadyOpen => "task_already_open",
            ConflictKind::UsernameTaken => "username_taken",
            ConflictKind::WarehouseExists => "warehouse_exists",
        }
    }
}

impl Error {
    pub fn conflict(kind: ConflictKind, message: impl Into<String>) -> Self {
        Error::Conflict { kind, message: message.into() }
    }

    pub fn invalid(path: &str, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::default();
        e.push(path, message);
        Error::Invalid(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
