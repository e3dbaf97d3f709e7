//! The demo's data, seeded through the app's own use cases as a seller would enter it: the shop (catalogue,
//! stock, rules, orders), its logistics (channels, duties, rates) and its money (statements with the mistakes
//! real carriers make). Lives with the binary, not in the crates that serve requests.

pub mod finance;
pub mod floor;
pub mod logistics;
pub mod returns;
pub mod shop;
