//! The outside world behind small traits. Each connector is its plumbing (`<name>.rs`) and, where it has a
//! wire format of its own, the wire types and conversions beside it (`<name>/transformers.rs`).

pub mod carriers;
pub mod notify;
pub mod sink;
