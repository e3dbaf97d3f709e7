//! Connectors against local servers that answer as the real services document.

mod aftership;
mod aramex;
mod conformance;
mod flash;
mod fourpx;
mod jnt;
mod lianlian;
mod naqel;
mod ninjavan;
mod order_payloads;
mod sales;
mod smsa;
mod track17;
mod yanwen;
mod yunexpress;
