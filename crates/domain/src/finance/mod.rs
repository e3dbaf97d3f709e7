//! COD finance (DESIGN.md §4 "Reconciliation" and the COD machine): statements read through mapping
//! profiles, the matching of their lines to shipments and payouts, and the ledger of the cash.

pub mod aging;
pub mod forecast;
pub mod fx;
pub mod invoice;
pub mod ledger;
pub mod profit;
pub mod reconcile;
pub mod statement;
