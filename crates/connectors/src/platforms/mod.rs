//! Payment platforms that carry the carriers' COD remittances to the seller's bank, read through their APIs into
//! payout statements the reconciliation imports.

pub mod lianlian;

pub use lianlian::LianLian;
