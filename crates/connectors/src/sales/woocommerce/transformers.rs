//! WooCommerce's order note and status shapes, and the texts codflow writes.

use serde::{Deserialize, Serialize};

use crate::sales::Fulfilment;

#[derive(Deserialize, Debug)]
pub struct Note {
    pub id: u64,
    #[serde(default)]
    pub note: String,
}

#[derive(Serialize)]
pub struct NewNote<'a> {
    pub note: &'a str,
    /// A customer note is shown to the buyer on their order page and emailed by WooCommerce.
    pub customer_note: bool,
}

#[derive(Deserialize, Debug)]
pub struct OrderStatus {
    pub status: String,
}

#[derive(Serialize)]
pub struct StatusBody {
    pub status: &'static str,
}

/// The same parcel always gives the same text, which is how a retry recognises its own note.
pub fn shipped_note(f: &Fulfilment) -> String {
    format!("Shipped with {}, tracking number {}: {}", f.company, f.tracking_number, f.tracking_url)
}

pub fn delivered_note(f: &Fulfilment) -> String {
    format!("Delivered by {}, tracking number {}", f.company, f.tracking_number)
}
