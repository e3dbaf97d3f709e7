//! Shipping documents, pure functions from data to bytes: no I/O, no knowledge of the store.

pub mod label;

pub use label::{Address, LabelData, zpl, zpl_batch};
