//! Typed identifiers: a readable prefix plus a UUIDv7 in Crockford base32, so ids sort by creation time and a
//! shipment id can never be passed where an order id is expected.

use crate::Error;

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

fn encode(v: u128) -> String {
    let mut out = [0u8; 26];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 125 - 5 * i as i32;
        let idx = if shift >= 0 { (v >> shift) & 31 } else { (v << 3) & 31 };
        *slot = CROCKFORD[idx as usize];
    }
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

fn valid_body(body: &str) -> bool {
    // 26 symbols carry 130 bits; the first may only use the top 3.
    body.len() == 26 && body.bytes().all(|b| CROCKFORD.contains(&b)) && body.as_bytes()[0] <= b'7'
}

/// Generates a fresh time-ordered body for an id.
pub fn new_id_body() -> String {
    encode(uuid::Uuid::now_v7().as_u128())
}

macro_rules! typed_id {
    ($(#[$m:meta])* $name:ident, $prefix:literal) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                $name(format!("{}_{}", $prefix, new_id_body()))
            }

            pub fn parse(s: &str) -> Result<Self, Error> {
                match s.strip_prefix(concat!($prefix, "_")) {
                    Some(body) if valid_body(body) => Ok($name(s.to_owned())),
                    _ => Err(Error::invalid(
                        stringify!($name),
                        format!("{s:?} is not a {} id (expected {}_ followed by 26 characters)", $prefix, $prefix),
                    )),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

typed_id!(
    /// An order inside codflow (`ord_…`), distinct from the sales channel's external id.
    OrderId, "ord"
);
typed_id!(OrderLineId, "oln");
typed_id!(ProductId, "prd");
typed_id!(WarehouseId, "whs");
typed_id!(TokenId, "tok");
typed_id!(AuditId, "aud");
typed_id!(ImportId, "imp");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_carry_their_prefix() {
        let id = OrderId::generate();
        assert!(id.as_str().starts_with("ord_"));
        assert_eq!(OrderId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn ids_of_another_kind_are_refused() {
        let id = ProductId::generate();
        assert!(OrderId::parse(id.as_str()).is_err());
        assert!(OrderId::parse("ord_").is_err());
        assert!(OrderId::parse("ord_ZZZZZZZZZZZZZZZZZZZZZZZZZZ").is_err());
    }

    #[test]
    fn ids_generated_later_sort_after_earlier_ones() {
        let ids: Vec<OrderId> = (0..1000).map(|_| OrderId::generate()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn encoding_keeps_every_bit() {
        assert_eq!(encode(0), "00000000000000000000000000");
        assert_eq!(encode(u128::MAX), "7zzzzzzzzzzzzzzzzzzzzzzzzz");
        assert_ne!(encode(1), encode(2));
    }
}
