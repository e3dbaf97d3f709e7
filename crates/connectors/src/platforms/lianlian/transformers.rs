//! LianLian Global's wire shapes: keys (PEM or base64 DER), the `LLPAY-Signature` of requests and replies, the
//! transaction page and the receiving, and the payout statement built from receivings.

use base64::Engine as _;
use ring::signature::{self, RsaKeyPair};
use rust_decimal::Decimal;
use serde_json::Value;
use time::OffsetDateTime;

use crate::carriers::{CarrierError, excerpt, http_error};

/// How far a reply's epoch may be from ours.
const REPLY_WINDOW_S: i64 = 600;

/// The DER inside a PEM block (its line breaks kept or lost, as a one-line form field loses them) or bare base64.
fn der(pem_or_b64: &str, what: &str) -> Result<Vec<u8>, CarrierError> {
    // Between the `-----BEGIN …-----` and `-----END …-----` markers: the even pieces split on `-----`.
    let body: String = pem_or_b64.split("-----").step_by(2).flat_map(str::split_whitespace).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| CarrierError::Config(format!("the {what} is not PEM or base64")))
}

/// The seller's PKCS#8 RSA key.
pub fn private_key(pem: &str) -> Result<RsaKeyPair, CarrierError> {
    RsaKeyPair::from_pkcs8(&der(pem, "private key")?)
        .map_err(|e| CarrierError::Config(format!("the private key is not a PKCS#8 RSA key: {e}")))
}

/// One DER element at the start of `b`: (tag, contents, the rest).
fn element(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&first, mut b) = b.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let len = b[..n].iter().fold(0usize, |acc, &x| (acc << 8) | x as usize);
        b = &b[n..];
        len
    };
    (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
}

/// The PKCS#1 RSA key inside an X.509 SubjectPublicKeyInfo (what LianLian publishes), as ring verifies with.
pub fn public_key(pem: &str) -> Result<Vec<u8>, CarrierError> {
    let bad = || CarrierError::Config("LianLian's public key is not an X.509 RSA public key".into());
    let spki = der(pem, "public key")?;
    let (0x30, inner, _) = element(&spki).ok_or_else(bad)? else { return Err(bad()) };
    let (0x30, _, rest) = element(inner).ok_or_else(bad)? else { return Err(bad()) };
    let (0x03, bits, _) = element(rest).ok_or_else(bad)? else { return Err(bad()) };
    match bits.split_first() {
        Some((0, key)) if !key.is_empty() => Ok(key.to_vec()),
        _ => Err(bad()),
    }
}

/// The text a request's signature covers.
pub fn request_base(method: &str, path: &str, epoch: i64, body: &str, query: Option<&str>) -> String {
    let mut s = format!("{method}&{path}&{epoch}&{body}");
    if let Some(q) = query {
        s.push('&');
        s.push_str(&form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>());
    }
    s
}

/// `t={epoch},v={base64 RSA-SHA256}` for a request.
pub fn sign_request(
    key: &RsaKeyPair,
    method: &str,
    path: &str,
    epoch: i64,
    body: &str,
    query: Option<&str>,
) -> Result<String, CarrierError> {
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        request_base(method, path, epoch, body, query).as_bytes(),
        &mut sig,
    )
    .map_err(|_| CarrierError::Config("signing the request failed".into()))?;
    Ok(format!("t={epoch},v={}", base64::engine::general_purpose::STANDARD.encode(sig)))
}

/// The epoch and signature of an `LLPAY-Signature` header.
pub fn parse_signature(header: &str) -> Option<(i64, Vec<u8>)> {
    let mut epoch = None;
    let mut sig = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => epoch = t.parse().ok(),
            Some(("v", v)) => sig = base64::engine::general_purpose::STANDARD.decode(v).ok(),
            _ => {}
        }
    }
    Some((epoch?, sig?))
}

/// Whether a reply carries LianLian's signature over `epoch&body`, made within ten minutes of `now`.
pub fn verify_reply(lianlian_key: &[u8], header: Option<&str>, body: &[u8], now: i64) -> bool {
    let Some((epoch, sig)) = header.and_then(parse_signature) else { return false };
    if (now - epoch).abs() > REPLY_WINDOW_S {
        return false;
    }
    let mut signed = format!("{epoch}&").into_bytes();
    signed.extend_from_slice(body);
    signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, lianlian_key)
        .verify(&signed, &sig)
        .is_ok()
}

pub fn read(status: u16, retry_after: Option<u64>, body: &[u8]) -> Result<Value, CarrierError> {
    if let Some(e) = http_error("LianLian", status, retry_after, body) {
        return Err(e);
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| CarrierError::Malformed(format!("LianLian's reply is not JSON ({e}): {}", excerpt(body))))?;
    if (200..=299).contains(&status) {
        return Ok(v);
    }
    let code = v["code"].as_str().map(str::to_owned).unwrap_or_else(|| status.to_string());
    let message = v["message"].as_str().unwrap_or("LianLian refused the request").to_owned();
    Err(CarrierError::Rejected { code, message, field: v["param"].as_str().map(str::to_owned) })
}

/// The transaction ids of a page of `ew-transactions` and the total LianLian holds.
pub fn transaction_page(v: &Value) -> Result<(Vec<String>, usize), CarrierError> {
    let list =
        v["page_list"].as_array().ok_or_else(|| CarrierError::Malformed("LianLian's page has no page_list".into()))?;
    let ids = list
        .iter()
        .filter(|t| t["type"] == "RECEIVING" && t["status"] == "COMPLETED")
        .map(|t| {
            let id = t["id"].as_str().filter(|i| !i.is_empty() && i.len() <= 64);
            let id = id.filter(|i| i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            id.map(str::to_owned)
                .ok_or_else(|| CarrierError::Malformed("a LianLian transaction without a usable id".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let total = v["total_count"].as_u64().unwrap_or(ids.len() as u64) as usize;
    Ok((ids, total))
}

/// Money that arrived in the seller's LianLian account from a payer (a carrier's remittance).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receiving {
    pub id: String,
    /// The payer's postscript: the carrier's remittance reference.
    pub reference: String,
    pub receive_amount: Decimal,
    pub receive_currency: String,
    pub fee: Decimal,
    /// What was credited, after the fee and any conversion.
    pub entry_amount: Decimal,
    pub entry_currency: String,
    pub created: OffsetDateTime,
}

fn decimal(v: &Value, field: &str) -> Result<Decimal, CarrierError> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null => return Ok(Decimal::ZERO),
        _ => return Err(CarrierError::Malformed(format!("LianLian's {field} is not an amount"))),
    };
    s.trim().parse().map_err(|_| CarrierError::Malformed(format!("LianLian's {field} {s:?} is not an amount")))
}

fn currency(v: &Value, field: &str) -> Result<String, CarrierError> {
    v.as_str()
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        .map(str::to_owned)
        .ok_or_else(|| CarrierError::Malformed(format!("LianLian's {field} is not a currency code")))
}

pub fn receiving(v: &Value) -> Result<Receiving, CarrierError> {
    let id = v["id"].as_str().filter(|i| !i.is_empty());
    let ms =
        v["create_time"].as_i64().ok_or_else(|| CarrierError::Malformed("a receiving without create_time".into()))?;
    Ok(Receiving {
        id: id.ok_or_else(|| CarrierError::Malformed("a receiving without an id".into()))?.to_owned(),
        reference: v["reference"].as_str().unwrap_or("").trim().to_owned(),
        receive_amount: decimal(&v["receive_amount"], "receive_amount")?,
        receive_currency: currency(&v["receive_currency"], "receive_currency")?,
        fee: decimal(&v["fee"], "fee")?,
        entry_amount: decimal(&v["entry_amount"], "entry_amount")?,
        entry_currency: currency(&v["entry_currency"], "entry_currency")?,
        created: OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
            .map_err(|_| CarrierError::Malformed(format!("create_time {ms} is out of range")))?,
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// The receivings as a payout statement in the built-in `generic-payout` layout: one line per receiving, the
/// rate applied being what was credited per unit received after the fee.
pub fn payout_csv(receivings: &[Receiving]) -> Vec<u8> {
    let mut out = String::from("remittance,date,currency,gross,fee,fx_rate,settled,settled_currency\n");
    for r in receivings {
        let net = r.receive_amount.checked_sub(r.fee).unwrap_or(Decimal::ZERO);
        let rate = match r.entry_amount.checked_div(net) {
            Some(rate) if net > Decimal::ZERO => rate.round_dp(6).normalize(),
            _ => Decimal::ONE,
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            csv_field(&r.reference),
            r.created.date(),
            r.receive_currency,
            r.receive_amount.normalize(),
            r.fee.normalize(),
            rate,
            r.entry_amount.normalize(),
            r.entry_currency
        ));
    }
    out.into_bytes()
}
