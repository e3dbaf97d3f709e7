//! Products, warehouses and stock levels.

use serde::Serialize;

use crate::{Country, Error, Money, ProductId, WarehouseId};

fn code_like(what: &'static str, s: &str, max: usize, extra: &[u8]) -> Result<String, Error> {
    let ok = !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b));
    if !ok {
        return Err(Error::invalid(
            what,
            format!(
                "{s:?} is not a valid {what}: 1–{max} characters of letters, digits{}",
                if extra.is_empty() { String::new() } else { format!(" and {:?}", String::from_utf8_lossy(extra)) }
            ),
        ));
    }
    Ok(s.to_owned())
}

macro_rules! code_type {
    ($(#[$m:meta])* $name:ident, $what:literal, $max:literal, $extra:expr) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);
        impl $name {
            pub fn parse(s: &str) -> Result<Self, Error> {
                code_like($what, s, $max, $extra).map($name)
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
    };
}

code_type!(
    /// A stock keeping unit as the seller writes it (`LAMP-01`).
    Sku, "sku", 64, b"-_./"
);
code_type!(
    /// A warehouse's short code (`SZ1`).
    WarehouseCode, "warehouse code", 32, b"-_"
);
code_type!(
    /// A logistics channel: one carrier service on one lane (`SBX-SA-STD`).
    ChannelCode, "channel code", 64, b"-_."
);
code_type!(
    /// The sales channel store an order came from (`manual`, `shopify-sa`).
    ShopCode, "store code", 64, b"-_."
);
code_type!(
    /// A pack station on the warehouse floor (`PS1`): a scanner, a scale and a label printer.
    StationCode, "station code", 32, b"-_"
);
code_type!(
    /// A purchase order's number as the seller and the supplier write it (`PO-2026-0042`).
    PoNumber, "purchase order number", 40, b"-_./"
);
code_type!(
    /// An advance shipping notice's reference: the supplier's shipment, as printed on its cartons.
    AsnRef, "ASN reference", 40, b"-_./"
);
code_type!(
    /// A carrier as channels, mappings and webhooks name it (`sandbox`, `aramex`).
    CarrierCode, "carrier code", 32, b"-_"
);
code_type!(
    /// One of the seller's accounts with a carrier (`4px-shenzhen`, `aramex-dxb`).
    CarrierAccountCode, "carrier account code", 48, b"-_."
);

/// A harmonized system code: 6 to 10 digits, dots and spaces ignored.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(transparent)]
pub struct HsCode(String);
impl HsCode {
    pub fn parse(s: &str) -> Result<Self, Error> {
        let digits: String = s.chars().filter(|c| *c != '.' && *c != ' ').collect();
        if !(6..=10).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("hs_code", format!("{s:?} is not an HS code (6 to 10 digits)")));
        }
        Ok(HsCode(digits))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a SKU sits in a warehouse ("A-01-03"): what a picker walks to. Letters, digits, space and
/// `-._/`, up to 32 characters, kept as written so it matches the signs on the shelves.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize)]
#[serde(transparent)]
pub struct BinLocation(String);
impl BinLocation {
    pub fn parse(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        if t.is_empty() || t.len() > 32 {
            return Err(Error::invalid("location", "a bin location is 1 to 32 characters"));
        }
        if let Some(c) = t.chars().find(|c| !(c.is_ascii_alphanumeric() || " -._/".contains(*c))) {
            return Err(Error::invalid(
                "location",
                format!("{c:?} is not allowed in a bin location (letters, digits, space, - . _ /)"),
            ));
        }
        Ok(BinLocation(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A non-empty line of text with a maximum length, trimmed.
pub fn required_text(what: &'static str, s: &str, max: usize) -> Result<String, Error> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Error::invalid(what, format!("{what} must not be empty")));
    }
    if t.chars().count() > max {
        return Err(Error::invalid(what, format!("{what} is longer than {max} characters")));
    }
    Ok(t.to_owned())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warehouse {
    pub id: WarehouseId,
    pub code: WarehouseCode,
    pub name: String,
    pub country: Country,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub sku: Sku,
    pub title: String,
    pub unit_weight_g: i64,
    pub unit_cost: Money,
    pub hs_code: Option<HsCode>,
    pub origin_country: Option<Country>,
    pub category: Option<String>,
}

pub fn weight_g(w: i64) -> Result<i64, Error> {
    if !(1..=1_000_000).contains(&w) {
        return Err(Error::invalid("weight", "a unit weight is 1 to 1,000,000 grams"));
    }
    Ok(w)
}

/// A warehouse's stock of one SKU. `available` is derived, never stored, so it cannot drift.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StockLevel {
    pub on_hand: i64,
    pub reserved: i64,
}

impl StockLevel {
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_locations_are_shelf_labels_not_free_text() {
        assert_eq!(BinLocation::parse(" A-01-03 ").unwrap().as_str(), "A-01-03");
        assert!(BinLocation::parse("").is_err());
        assert!(BinLocation::parse("A;DROP").is_err());
        assert!(BinLocation::parse(&"A".repeat(33)).is_err());
    }

    #[test]
    fn skus_allow_the_usual_punctuation_but_not_spaces() {
        assert!(Sku::parse("LAMP-01").is_ok());
        assert!(Sku::parse("a.b/c_d").is_ok());
        assert!(Sku::parse("LAMP 01").is_err());
        assert!(Sku::parse("").is_err());
    }

    #[test]
    fn hs_codes_ignore_dots() {
        assert_eq!(HsCode::parse("9405.40").unwrap().as_str(), "940540");
        assert!(HsCode::parse("94").is_err());
    }
}
