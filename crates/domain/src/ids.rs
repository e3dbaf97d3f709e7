//! Typed identifiers: a readable prefix plus a UUIDv7 in Crockford base32, so ids sort by creation time and a
//! shipment id can never be passed where an order id is expected.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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

/// Which bytes are Crockford symbols: ids are parsed for every row read in bulk, so a table, not a search.
const IS_CROCKFORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < CROCKFORD.len() {
        t[CROCKFORD[i] as usize] = true;
        i += 1;
    }
    t
};

fn valid_body(body: &str) -> bool {
    // 26 symbols carry 130 bits; the first may only use the top 3.
    body.len() == 26 && body.bytes().all(|b| IS_CROCKFORD[b as usize]) && body.as_bytes()[0] <= b'7'
}

/// The last value handed out, so ids made in the same millisecond still increase.
static LAST: Mutex<u128> = Mutex::new(0);

/// Random bits for ids: xorshift seeded once from the OS. Ids need to be unique and time-ordered, not
/// unpredictable (tokens use the OS generator directly), and a system call per id costs real time when
/// an import makes 400,000 of them.
fn next_random() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        x = (uuid::Uuid::now_v7().as_u128() as u64) | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    x
}

/// Generates a fresh body for an id: a UUIDv7 layout (48-bit Unix milliseconds, version, variant, random),
/// strictly increasing within this process.
pub fn new_id_body() -> String {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let random = ((next_random() as u128) << 64 | next_random() as u128) & ((1u128 << 74) - 1);
    let fresh =
        (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (random >> 62) << 64 | 0b10 << 62 | (random & ((1 << 62) - 1));
    let value = if fresh > *last { fresh } else { *last + 1 };
    *last = value;
    encode(value)
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
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
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
typed_id!(
    /// A person who signs in to the console (`usr_…`).
    UserId, "usr"
);
typed_id!(AuditId, "aud");
typed_id!(ImportId, "imp");
typed_id!(
    /// A review rule (`rul_…`); it keeps its id across versions of the ruleset.
    RuleId, "rul"
);
typed_id!(
    /// A parcel booked (or to be booked) with a carrier (`shp_…`).
    ShipmentId, "shp"
);
typed_id!(
    /// One outbound buyer message in the outbox (`ntf_…`); senders use it to deduplicate.
    NotificationId, "ntf"
);

typed_id!(
    /// One update for a sales channel in its outbox (`psh_…`): a parcel shipped or delivered.
    PushId, "psh"
);

typed_id!(
    /// One order payload received from a shop (`inb_…`): a webhook delivery or an order a pull found.
    InboxId, "inb"
);

typed_id!(
    /// A settlement statement imported (`stl_…`): a remittance, a payout or a freight invoice.
    StatementId, "stl"
);

typed_id!(
    /// A piece of work for a person (`tsk_…`), opened by an anomaly or by hand.
    TaskId, "tsk"
);
typed_id!(
    /// One parcel's work at a pack station (`pck_…`): its scans, its weighing, what the check decided.
    PackId, "pck"
);
typed_id!(
    /// Orders of one warehouse picked together (`wav_…`); its short code (`W000012`) is the pick ticket.
    WaveId, "wav"
);
typed_id!(
    /// A bag of packed parcels for one carrier, channel and destination (`bag_…`; its code `B000012` is on it).
    BagId, "bag"
);
typed_id!(
    /// A carrier pickup: the manifest of the closed bags it takes (`hnd_…`).
    HandoverId, "hnd"
);
typed_id!(
    /// What the seller ordered from a supplier for one warehouse (`po_…`).
    PurchaseOrderId, "po"
);
typed_id!(
    /// An advance shipping notice (`asn_…`): one supplier shipment against a purchase order, received by scan.
    AsnId, "asn"
);
typed_id!(
    /// A parcel coming back to the seller (`ret_…`): expected on the carrier's return scan, received by scan
    /// at a warehouse, graded and disposed of.
    ReturnId, "ret"
);
typed_id!(
    /// A claim against a carrier for a lost or damaged parcel (`clm_…`).
    ClaimId, "clm"
);

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
    fn ids_are_unique_and_increasing_even_within_one_millisecond() {
        let ids: Vec<String> = (0..50_000).map(|_| new_id_body()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn ids_carry_the_creation_time_in_their_leading_bits() {
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
        let body = new_id_body();
        let value = body.bytes().fold(0u128, |v, b| v << 5 | CROCKFORD.iter().position(|c| *c == b).unwrap() as u128);
        let stamped = value >> 80;
        assert!(stamped >= ms && stamped < ms + 1000, "{stamped} vs {ms}");
    }

    #[test]
    fn encoding_keeps_every_bit() {
        assert_eq!(encode(0), "00000000000000000000000000");
        assert_eq!(encode(u128::MAX), "7zzzzzzzzzzzzzzzzzzzzzzzzz");
        assert_ne!(encode(1), encode(2));
    }
}
