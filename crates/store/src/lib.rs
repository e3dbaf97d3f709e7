//! Persistence for codflow. One implementation over sqlx's `Any` driver serves SQLite (embedded default)
//! and PostgreSQL: the SQL is kept to what both engines (and PostgreSQL-compatible distributed engines)
//! accept. Functions take a connection or transaction; the use case owns begin and commit.

pub mod bulk;
pub mod carrier_accounts;
pub mod catalogue;
pub mod channel_sync;
pub mod claims;
pub mod db;
pub mod error;
pub mod finance;
pub mod floor;
pub mod inbound;
pub mod kpi;
pub mod logistics;
pub mod orders;
pub mod outbox;
pub mod packaging;
pub mod profit;
pub mod returns;
pub mod review;
pub mod shops;
pub mod tasks;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tokens;
pub mod tracking;
pub mod users;

pub use db::{Engine, KeptConn, ReadConn, Store, Tx, commit, from_micros, micros, param, params, rollback};
pub use error::{Error, Result};
pub use sqlx::AnyConnection as Conn;
