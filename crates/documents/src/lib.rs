//! Shipping documents, pure functions from data to bytes: no I/O, no knowledge of the store.

pub mod bags;
pub mod claim;
pub mod code128;
pub mod customs;
pub mod dispute;
pub mod inspect;
pub mod label;
pub mod pdf;
pub mod picking;
mod table;

pub use customs::{
    CustomsDocument, CustomsLine, Party, commercial_invoice, commercial_invoices, packing_list, packing_lists,
};
pub use dispute::{DisputePacket, TimelineEntry, dispute_csv, dispute_pdf, disputes_pdf};
pub use label::{Address, LabelData, pdf as label_pdf, pdf_batch as labels_pdf, zpl, zpl_batch};
pub use picking::{PickLine, PickingList, picking_list, picking_lists};
