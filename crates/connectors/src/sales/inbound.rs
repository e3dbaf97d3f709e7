//! Orders coming in from a shop, whatever the platform: the signature on a webhook, the platform-neutral
//! order each platform's payload maps to, and the arithmetic that keeps the buyer's total exact.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use codflow_domain::order::{AddressInput, BuyerInput, LineInput, MoneyInput};
use codflow_domain::{Currency, FieldErrors, OrderInput};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use sha2::Sha256;
use time::OffsetDateTime;

/// Largest payload a parser looks at; a shop's order is a few kilobytes.
pub const MAX_PAYLOAD: usize = 2 * 1024 * 1024;

/// Whether `header` is the base64 HMAC-SHA256 of `body` under `secret` (Shopify's `X-Shopify-Hmac-Sha256`,
/// WooCommerce's `X-WC-Webhook-Signature`). The comparison takes the same time wherever the bytes differ.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Ok(given) = STANDARD.decode(header.trim()) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The signature a platform puts on `body`; used by the demo's shops and by tests.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Where the shop says the order stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShopState {
    /// To be fulfilled.
    Open,
    /// Cancelled (or refunded, failed, deleted) in the shop.
    Cancelled,
    /// Not to be fulfilled yet: a prepaid order whose payment has not arrived. Why, in the shop's words.
    NotReady(String),
}

/// A shop's order mapped to codflow's intake, with what the mapping had to decide.
#[derive(Clone, Debug)]
pub struct ChannelOrder {
    /// The platform's id of the order: how codflow recognises it again and how it tells the shop later.
    pub external_id: String,
    /// When the shop last changed the order; an older version arriving later is ignored.
    pub updated_at: Option<OffsetDateTime>,
    pub state: ShopState,
    pub input: OrderInput,
    /// Decisions worth a line in the audit: folded duties, rounding moved to charges, and so on.
    pub notes: Vec<String>,
}

/// A money amount as platforms write it: a decimal string ("59.00") or a JSON number (59.0), read through
/// its shortest decimal form so 59.99 stays 59.99. Never stored as a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Amount(pub Decimal);

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Amount;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a decimal amount as a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Amount, E> {
                let t = v.trim();
                if t.is_empty() {
                    return Ok(Amount(Decimal::ZERO));
                }
                Decimal::from_str(t).map(Amount).map_err(|_| E::custom(format!("{v:?} is not a decimal amount")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Amount, E> {
                Ok(Amount(Decimal::from(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Amount, E> {
                Ok(Amount(Decimal::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Amount, E> {
                if !v.is_finite() {
                    return Err(E::custom("not a finite amount"));
                }
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses a platform payload, naming the JSON path and position of the first problem.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, FieldErrors> {
    let mut e = FieldErrors::default();
    if body.len() > MAX_PAYLOAD {
        e.push("body", format!("{} bytes is more than the {MAX_PAYLOAD} an order may take", body.len()));
        return Err(e);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let path = if path == "." { "body".to_owned() } else { path };
        e.push(path, format!("{inner}"));
        e
    })
}

pub(crate) fn text(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The first present, non-empty value.
pub(crate) fn first(options: &[&Option<String>]) -> Option<String> {
    options.iter().find_map(|o| text(o))
}

pub(crate) fn join_name(first_name: &Option<String>, last_name: &Option<String>) -> Option<String> {
    let n = [text(first_name), text(last_name)].into_iter().flatten().collect::<Vec<_>>().join(" ");
    (!n.is_empty()).then_some(n)
}

pub(crate) fn timestamp(
    e: &mut FieldErrors,
    path: &str,
    v: &Option<String>,
    parse: fn(&str) -> Option<OffsetDateTime>,
) -> Option<OffsetDateTime> {
    let s = text(v)?;
    let t = parse(&s);
    if t.is_none() {
        e.push(path, format!("{s:?} is not a date and time"));
    }
    t
}

pub(crate) fn rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// "2026-11-20T10:00:00" without an offset, as WooCommerce's `_gmt` fields and Magento's "2026-11-20 10:00:00"
/// write UTC.
pub(crate) fn utc_naive(s: &str) -> Option<OffsetDateTime> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let s = s.replacen(' ', "T", 1);
    let s = s.split('.').next().unwrap_or("");
    time::PrimitiveDateTime::parse(s, fmt).ok().map(|t| t.assume_utc()).or_else(|| rfc3339(s))
}

/// One line of the order before prices are split into units.
pub(crate) struct DraftLine {
    pub path: String,
    pub sku: Option<String>,
    pub quantity: i64,
    /// What the buyer pays for the whole line after its discounts.
    pub total: Decimal,
}

/// What the buyer owes, line by line and in all, in one currency.
pub(crate) struct Draft {
    pub currency: Option<String>,
    pub lines: Vec<DraftLine>,
    /// Everything the buyer owes: lines, shipping, taxes not included in prices, duties, fees, less discounts.
    pub total: Decimal,
}

fn minor_units(d: Decimal, digits: u32) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    let scaled = d.checked_mul(Decimal::from(10i64.pow(digits)))?;
    scaled.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero).to_i64()
}

fn render(minor: i64, digits: u32) -> String {
    Decimal::new(minor, digits).to_string()
}

impl Draft {
    /// Lines at their discounted unit price; whatever else the buyer owes (shipping, duties, taxes added on top,
    /// the cents a discount left when split into units) goes in the shipping fee, so the order's total, and with
    /// it the cash the courier collects, is exactly the shop's total.
    pub fn into_lines(self, e: &mut FieldErrors, notes: &mut Vec<String>) -> (Vec<LineInput>, Option<MoneyInput>) {
        let Some(code) = self.currency.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
            e.push("currency", "is required");
            return (Vec::new(), None);
        };
        let digits = match Currency::parse(code) {
            Ok(c) => c.minor_digits(),
            Err(err) => {
                e.push("currency", err.to_string());
                return (Vec::new(), None);
            }
        };
        let money = |minor: i64| MoneyInput { amount: render(minor, digits), currency: Some(code.to_owned()) };
        let mut lines = Vec::new();
        let mut goods: i64 = 0;
        for l in self.lines {
            if l.quantity <= 0 {
                e.push(format!("{}.quantity", l.path), format!("{} is not a positive quantity", l.quantity));
                continue;
            }
            let sku = l.sku.as_deref().map(str::trim).filter(|s| !s.is_empty());
            if sku.is_none() {
                e.push(format!("{}.sku", l.path), "is empty: codflow matches lines to products by SKU");
                continue;
            }
            let Some(line_total) = minor_units(l.total, digits).filter(|m| *m >= 0) else {
                e.push(format!("{}.total", l.path), format!("{} is not an amount codflow can hold", l.total));
                continue;
            };
            let unit = line_total / l.quantity;
            goods = goods.saturating_add(unit * l.quantity);
            lines.push(LineInput {
                sku: sku.map(str::to_owned),
                quantity: Some(l.quantity),
                unit_price: Some(money(unit)),
            });
        }
        if lines.is_empty() && e.is_empty() {
            e.push("line_items", "the order has no line that ships");
        }
        let Some(total) = minor_units(self.total, digits) else {
            e.push("total", format!("{} is not an amount codflow can hold", self.total));
            return (lines, None);
        };
        let rest = total - goods;
        if rest < 0 {
            e.push("total", format!("{} is less than the lines' {}", render(total, digits), render(goods, digits)));
            return (lines, None);
        }
        if rest > 0 {
            notes.push(format!(
                "{} {code} beyond the lines (shipping, duties, taxes, rounding) is charged as the shipping fee",
                render(rest, digits)
            ));
        }
        (lines, Some(money(rest)))
    }
}

/// Whether any of the order's payment names is one of the store's cash-on-delivery names (case and spacing
/// ignored).
pub(crate) fn is_cod(payment_names: &[String], cod_names: &[String]) -> bool {
    let norm = |s: &str| s.trim().to_lowercase();
    payment_names.iter().any(|p| cod_names.iter().any(|c| norm(c) == norm(p)))
}

/// The fields every platform fills the same way.
pub(crate) struct Assembled {
    pub external_id: String,
    pub placed_at: Option<OffsetDateTime>,
    pub cod: bool,
    pub buyer: BuyerInput,
    pub address: AddressInput,
}

pub(crate) fn assemble(
    a: Assembled,
    draft: Draft,
    updated_at: Option<OffsetDateTime>,
    state: ShopState,
    mut e: FieldErrors,
) -> Result<ChannelOrder, FieldErrors> {
    let mut notes = Vec::new();
    let currency = draft.currency.clone();
    let (lines, shipping_fee) = draft.into_lines(&mut e, &mut notes);
    if a.external_id.is_empty() {
        e.push("id", "is required");
    }
    if !e.is_empty() {
        return Err(e);
    }
    let placed = a.placed_at.or(updated_at).map(|t| t.format(&time::format_description::well_known::Rfc3339));
    Ok(ChannelOrder {
        input: OrderInput {
            store: None,
            external_id: Some(a.external_id.clone()),
            placed_at: placed.and_then(Result::ok),
            currency,
            payment_method: Some(if a.cod { "cod" } else { "prepaid" }.to_owned()),
            // Shops pass on what buyers paste, control characters included; cleaned rather than refused.
            buyer: a.buyer.cleaned(),
            shipping_address: a.address.cleaned(),
            lines,
            shipping_fee,
        },
        external_id: a.external_id,
        updated_at,
        state,
        notes,
    })
}

/// A deletion notice: `{"id": …}` and nothing else worth reading.
pub(crate) fn deleted(body: &[u8]) -> Result<ChannelOrder, FieldErrors> {
    #[derive(serde::Deserialize)]
    struct Deleted {
        id: serde_json::Value,
    }
    let d: Deleted = parse_json(body)?;
    let Some(id) = super::id_text(&d.id) else {
        let mut e = FieldErrors::default();
        e.push("id", "is not an order id");
        return Err(e);
    };
    Ok(ChannelOrder {
        external_id: id,
        updated_at: None,
        state: ShopState::Cancelled,
        input: OrderInput::default(),
        notes: vec!["deleted in the shop".into()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_and_secret() {
        let sig = sign(b"secret-secret-16", b"{\"id\":1}");
        assert!(verify_signature(b"secret-secret-16", b"{\"id\":1}", &sig));
        assert!(!verify_signature(b"secret-secret-16", b"{\"id\":2}", &sig));
        assert!(!verify_signature(b"another-secret-1", b"{\"id\":1}", &sig));
        assert!(!verify_signature(b"secret-secret-16", b"{\"id\":1}", "not base64!"));
    }

    #[test]
    fn a_discount_that_does_not_split_into_units_keeps_the_total_exact() {
        let d = Draft {
            currency: Some("SAR".into()),
            lines: vec![DraftLine {
                path: "l[0]".into(),
                sku: Some("A".into()),
                quantity: 3,
                total: Decimal::new(1000, 2),
            }],
            total: Decimal::new(1500, 2),
        };
        let (mut e, mut notes) = (FieldErrors::default(), Vec::new());
        let (lines, fee) = d.into_lines(&mut e, &mut notes);
        assert!(e.is_empty());
        assert_eq!(lines[0].unit_price.as_ref().unwrap().amount, "3.33");
        // 3 × 3.33 = 9.99; the 15.00 total leaves 5.01 for shipping and the cent.
        assert_eq!(fee.unwrap().amount, "5.01");
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn amounts_read_as_strings_or_numbers_without_float_error() {
        let a: Vec<Amount> = serde_json::from_str(r#"["59.99", 59.99, 12, ""]"#).unwrap();
        assert_eq!(a[0].0, Decimal::new(5999, 2));
        assert_eq!(a[1].0, Decimal::new(5999, 2));
        assert_eq!(a[2].0, Decimal::from(12));
        assert_eq!(a[3].0, Decimal::ZERO);
    }
}
