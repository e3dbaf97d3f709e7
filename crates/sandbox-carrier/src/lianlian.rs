//! The seller's LianLian Global account, as LianLian's eWallet open API serves it (docs.lianlianglobal.com
//! "api-reference" and its Java SDK): `Authorization: Basic {token}`; requests signed `LLPAY-Signature:
//! t={epoch},v={base64 RSA-SHA256 over METHOD&path&epoch&body}` with the seller's key and checked here against the
//! seller's public key (five minutes either way); replies signed over `epoch&body` with LianLian's key.
//! `GET /lianlian/gateway/v1/ew-transactions` (JSON body: `page`, `page_size` up to 100, `type`, `status`,
//! `start_time`, `end_time` in ms) → `{"page_list", "total_count"}`; `GET /lianlian/gateway/v1/ew-receivings/{id}`.
//!
//! Each COD remittance the sandbox reports is paid into this account, one receiving per currency, its reference
//! the remittance's, less a 0.3 % receiving fee. Error bodies `{"code", "message"}` are this server's own (the SDK
//! does not publish LianLian's error codes).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use ring::signature::{self, RsaKeyPair};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::{Book, Carrier, amount_str};

pub const TEST_TOKEN: &str = "codflow-lianlian-token";
/// Keys made for these tests only (2048-bit RSA): the seller's pair and LianLian's pair.
pub const TEST_SELLER_PRIVATE_KEY: &str = include_str!("lianlian_keys/seller_private.pem");
pub const TEST_SELLER_PUBLIC_KEY: &str = include_str!("lianlian_keys/seller_public.pem");
pub const TEST_LIANLIAN_PRIVATE_KEY: &str = include_str!("lianlian_keys/lianlian_private.pem");
pub const TEST_LIANLIAN_PUBLIC_KEY: &str = include_str!("lianlian_keys/lianlian_public.pem");

const REQUEST_WINDOW_S: i64 = 300;

#[derive(Clone, Debug)]
pub struct Receiving {
    pub id: String,
    pub reference: String,
    pub currency: String,
    pub gross_minor: i64,
    pub fee_minor: i64,
    pub at: OffsetDateTime,
}

/// Pays a remittance into the account (once per reference and currency, however often it is reported).
pub(crate) fn receive(b: &mut Book, reference: &str, currency: &str, net_minor: i64, at: OffsetDateTime) {
    if net_minor <= 0 || b.receivings.iter().any(|r| r.reference == reference && r.currency == currency) {
        return;
    }
    let id = format!("LLR{:010}", b.receivings.len() + 1);
    let fee_minor = (net_minor * 3 + 999) / 1000;
    b.receivings.push(Receiving {
        id,
        reference: reference.into(),
        currency: currency.into(),
        gross_minor: net_minor,
        fee_minor,
        at,
    });
}

fn der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).flat_map(|l| l.split_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(body).unwrap_or_default()
}

/// The PKCS#1 key inside an X.509 public key (2048-bit RSA: a fixed 24-byte prefix).
fn pkcs1(spki: &[u8]) -> &[u8] {
    spki.get(24..).unwrap_or_default()
}

fn sign_reply(c: &Carrier, status: StatusCode, body: Value) -> Response {
    let body = body.to_string();
    let epoch = OffsetDateTime::now_utc().unix_timestamp();
    let header = match RsaKeyPair::from_pkcs8(&der(&c.config.lianlian.2)) {
        Ok(key) => {
            let mut sig = vec![0; key.public().modulus_len()];
            let signed = format!("{epoch}&{body}");
            let rng = ring::rand::SystemRandom::new();
            match key.sign(&signature::RSA_PKCS1_SHA256, &rng, signed.as_bytes(), &mut sig) {
                Ok(()) => format!("t={epoch},v={}", base64::engine::general_purpose::STANDARD.encode(sig)),
                Err(_) => String::new(),
            }
        }
        Err(_) => String::new(),
    };
    (status, [("content-type", "application/json"), ("LLPAY-Signature", header.as_str())], body).into_response()
}

fn refuse(c: &Carrier, status: StatusCode, code: &str, message: &str) -> Response {
    sign_reply(c, status, json!({"code": code, "message": message}))
}

/// The request checked: token, then signature over `GET&path&epoch&body`, then any injected fault.
async fn gate(c: &Carrier, headers: &HeaderMap, path: &str, body: &[u8]) -> Result<(), Response> {
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
    if header("authorization") != format!("Basic {}", c.config.lianlian.0) {
        return Err(refuse(c, StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "the token is not valid"));
    }
    let mut epoch = None;
    let mut sig = None;
    for part in header("llpay-signature").split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => epoch = t.parse::<i64>().ok(),
            Some(("v", v)) => sig = base64::engine::general_purpose::STANDARD.decode(v).ok(),
            _ => {}
        }
    }
    let (Some(epoch), Some(sig)) = (epoch, sig) else {
        return Err(refuse(
            c,
            StatusCode::UNAUTHORIZED,
            "INVALID_SIGNATURE",
            "LLPAY-Signature is missing or unreadable",
        ));
    };
    if (OffsetDateTime::now_utc().unix_timestamp() - epoch).abs() > REQUEST_WINDOW_S {
        return Err(refuse(c, StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE", "the signature's time is out of date"));
    }
    let mut signed = format!("GET&{path}&{epoch}&").into_bytes();
    signed.extend_from_slice(body);
    let key = der(&c.config.lianlian.1);
    let ok = signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, pkcs1(&key))
        .verify(&signed, &sig)
        .is_ok();
    if !ok {
        return Err(refuse(c, StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE", "the signature does not verify"));
    }
    if let Some(f) = crate::protocol_fault(c, "lianlian").await {
        return Err(f);
    }
    Ok(())
}

pub(crate) async fn transactions(
    State(c): State<Arc<Carrier>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = gate(&c, &headers, "/gateway/v1/ew-transactions", &body).await {
        return r;
    }
    let q: Value = match serde_json::from_slice(&body) {
        Ok(q) => q,
        Err(_) => return refuse(&c, StatusCode::BAD_REQUEST, "INVALID_PARAMETER", "the body is not JSON"),
    };
    let (Some(page), Some(size)) = (q["page"].as_u64(), q["page_size"].as_u64()) else {
        return refuse(&c, StatusCode::BAD_REQUEST, "INVALID_PARAMETER", "page and page_size are required");
    };
    if page == 0 || !(1..=100).contains(&size) {
        return refuse(&c, StatusCode::BAD_REQUEST, "INVALID_PARAMETER", "page from 1, page_size 1 to 100");
    }
    let ms = |r: &Receiving| (r.at.unix_timestamp_nanos() / 1_000_000) as i64;
    let from = q["start_time"].as_i64().unwrap_or(i64::MIN);
    let to = q["end_time"].as_i64().unwrap_or(i64::MAX);
    let wanted = |r: &&Receiving| {
        ms(r) >= from
            && ms(r) <= to
            && q["type"].as_str().is_none_or(|t| t == "RECEIVING")
            && q["status"].as_str().is_none_or(|s| s == "COMPLETED")
    };
    let b = c.lock();
    let all: Vec<&Receiving> = b.receivings.iter().filter(wanted).collect();
    let list: Vec<Value> = all
        .iter()
        .skip(((page - 1) * size) as usize)
        .take(size as usize)
        .map(|r| {
            json!({"id": r.id, "request_id": null, "business_order_id": r.id, "type": "RECEIVING", "status": "COMPLETED",
                   "amount": amount_str(r.gross_minor, &r.currency), "currency": r.currency,
                   "name": "Sandbox Express", "create_time": ms(r)})
        })
        .collect();
    let total = all.len();
    drop(b);
    sign_reply(&c, StatusCode::OK, json!({"page_list": list, "total_count": total}))
}

pub(crate) async fn receiving(
    State(c): State<Arc<Carrier>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = gate(&c, &headers, &format!("/gateway/v1/ew-receivings/{id}"), &body).await {
        return r;
    }
    let found = c.lock().receivings.iter().find(|r| r.id == id).cloned();
    let Some(r) = found else {
        return refuse(&c, StatusCode::NOT_FOUND, "NOT_FOUND", &format!("no receiving {id}"));
    };
    let ms = (r.at.unix_timestamp_nanos() / 1_000_000) as i64;
    sign_reply(
        &c,
        StatusCode::OK,
        json!({"id": r.id, "business_order_id": r.id, "creditor_name": "Sandbox Express",
               "receive_currency": r.currency, "receive_amount": amount_str(r.gross_minor, &r.currency),
               "fee": amount_str(r.fee_minor, &r.currency), "entry_currency": r.currency,
               "entry_amount": amount_str(r.gross_minor - r.fee_minor, &r.currency), "memo": "",
               "reference": r.reference, "account_id": "LLA0001", "virtual_account_no": "LL00000001",
               "status": "COMPLETED", "create_time": ms}),
    )
}
