//! The outside world behind small traits. Each connector is its plumbing (`<name>.rs`) and, where it has a
//! wire format of its own, the wire types and conversions beside it (`<name>/transformers.rs`).

pub mod carriers;
pub mod devices;
pub mod notify;
pub mod platforms;
pub mod sales;
pub mod sink;

/// Hex text as bytes (signatures arrive as hex); None unless every pair is a hex byte.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}
