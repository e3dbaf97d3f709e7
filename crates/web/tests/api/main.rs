//! API tests: each spawns the app on port 0 with a fresh database, on SQLite and on PostgreSQL.

mod browser;
mod helpers;
mod shop_fake;

mod access;
mod attach;
mod auth;
mod bad_input;
mod carrier_accounts;
mod catalogue;
mod channels;
mod claims;
mod concurrency;
mod console;
mod console_browser;
mod console_work;
mod dashboards;
mod documents;
mod finance;
mod floor;
mod floor_browser;
mod generated;
mod imports;
mod inbound;
mod logistics;
mod orders;
mod outbox;
mod returns;
mod review;
mod shops;
mod system;
mod tracking;
