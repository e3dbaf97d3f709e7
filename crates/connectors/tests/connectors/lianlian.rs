//! LianLian Global's signatures and replies (fixtures in tests/fixtures/lianlian, shaped as its SDK's models):
//! requests signed so the seller's public key verifies them, replies accepted only with LianLian's signature in
//! time, receivings read into payout lines; anything else a clear error, never a panic.

use codflow_connectors::carriers::CarrierError;
use codflow_connectors::platforms::lianlian::transformers::{
    parse_signature, payout_csv, private_key, public_key, read, receiving, request_base, sign_request,
    transaction_page, verify_reply,
};
use codflow_sandbox_carrier::lianlian as keys;
use proptest::prelude::*;
use ring::signature;

#[test]
fn a_request_is_signed_over_method_path_time_and_body_with_the_sellers_key() {
    let key = private_key(keys::TEST_SELLER_PRIVATE_KEY).unwrap();
    let body = r#"{"page":1,"page_size":100}"#;
    let header = sign_request(&key, "GET", "/gateway/v1/ew-transactions", 1_733_385_600, body, None).unwrap();
    let (epoch, sig) = parse_signature(&header).unwrap();
    assert_eq!(epoch, 1_733_385_600);
    let seller = public_key(keys::TEST_SELLER_PUBLIC_KEY).unwrap();
    let verify = |text: &str| {
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &seller)
            .verify(text.as_bytes(), &sig)
            .is_ok()
    };
    assert!(verify(&format!("GET&/gateway/v1/ew-transactions&1733385600&{body}")));
    assert!(!verify(&format!("GET&/gateway/v1/ew-transactions&1733385601&{body}")), "the time is signed");
    assert_eq!(request_base("GET", "/p", 1, "", Some("a=1&b=2")), "GET&/p&1&&a%3D1%26b%3D2");
    // A key pasted into a one-line field has lost its line breaks; it reads the same.
    assert!(private_key(&keys::TEST_SELLER_PRIVATE_KEY.replace('\n', "")).is_ok());
    assert_eq!(public_key(&keys::TEST_SELLER_PUBLIC_KEY.replace('\n', " ")).unwrap(), seller);
}

#[test]
fn a_reply_is_taken_only_with_lianlians_signature_made_within_ten_minutes() {
    let lianlian = private_key(keys::TEST_LIANLIAN_PRIVATE_KEY).unwrap();
    let public = public_key(keys::TEST_LIANLIAN_PUBLIC_KEY).unwrap();
    let body = br#"{"page_list":[],"total_count":0}"#;
    let sign = |epoch: i64, body: &[u8]| {
        let mut text = format!("{epoch}&").into_bytes();
        text.extend_from_slice(body);
        let mut sig = vec![0; lianlian.public().modulus_len()];
        lianlian.sign(&signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), &text, &mut sig).unwrap();
        use base64::Engine as _;
        format!("t={epoch},v={}", base64::engine::general_purpose::STANDARD.encode(sig))
    };
    let now = 1_733_385_600;
    assert!(verify_reply(&public, Some(&sign(now - 30, body)), body, now));
    assert!(!verify_reply(&public, Some(&sign(now - 30, body)), br#"{"page_list":[],"total_count":9}"#, now));
    assert!(!verify_reply(&public, Some(&sign(now - 601, body)), body, now), "too old");
    assert!(!verify_reply(&public, None, body, now), "unsigned");
    let seller = public_key(keys::TEST_SELLER_PUBLIC_KEY).unwrap();
    assert!(!verify_reply(&seller, Some(&sign(now, body)), body, now), "signed by someone else");
}

#[test]
fn receivings_are_read_from_the_page_and_become_payout_lines_naming_their_remittance() {
    let page = read(200, None, include_bytes!("../fixtures/lianlian/transactions_page.json")).unwrap();
    let (ids, total) = transaction_page(&page).unwrap();
    assert_eq!((ids, total), (vec!["2024120500012345".to_owned()], 2), "withdrawals are not receivings");
    let r = receiving(&read(200, None, include_bytes!("../fixtures/lianlian/receiving.json")).unwrap()).unwrap();
    assert_eq!((r.reference.as_str(), r.receive_currency.as_str()), ("SMSA-REM-2024-11-28", "SAR"));
    let csv = String::from_utf8(payout_csv(&[r])).unwrap();
    assert_eq!(
        csv,
        "remittance,date,currency,gross,fee,fx_rate,settled,settled_currency\n\
         SMSA-REM-2024-11-28,2024-12-05,SAR,15230.4,45.69,1,15184.71,SAR\n"
    );
}

#[test]
fn refusals_and_broken_keys_are_clear_errors() {
    assert_eq!(read(401, None, br#"{"code":"UNAUTHORIZED","message":"bad token"}"#), Err(CarrierError::Unauthorized));
    match read(400, None, br#"{"code":"INVALID_PARAMETER","message":"page_size 1 to 100","param":"page_size"}"#) {
        Err(CarrierError::Rejected { field, .. }) => assert_eq!(field.as_deref(), Some("page_size")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(read(502, None, b"<html>bad gateway</html>"), Err(CarrierError::Unavailable(_))));
    assert!(matches!(read(200, None, b"{\"page_list\":"), Err(CarrierError::Malformed(_))));
    assert!(matches!(
        private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
        Err(CarrierError::Config(_))
    ));
    assert!(
        matches!(public_key(keys::TEST_SELLER_PRIVATE_KEY), Err(CarrierError::Config(_))),
        "a private key is no public key"
    );
}

proptest! {
    #[test]
    fn any_reply_reads_to_a_page_a_receiving_or_an_error(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(v) = read(status, None, &body) {
            let _ = transaction_page(&v);
            let _ = receiving(&v);
        }
    }

    #[test]
    fn any_key_or_signature_header_is_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..400), header in ".{0,80}") {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let _ = public_key(&b64);
        let _ = private_key(&b64);
        let _ = parse_signature(&header);
        let _ = verify_reply(&bytes, Some(&header), &bytes, 0);
    }

    #[test]
    fn extreme_amounts_make_a_statement_without_overflowing(a in any::<i64>(), b in any::<i64>(), scale in 0u32..28) {
        let d = |x: i64| rust_decimal::Decimal::new(x, scale).to_string();
        let v = serde_json::json!({"id": "x", "receive_amount": d(a), "receive_currency": "SAR", "fee": d(b),
            "entry_amount": d(b), "entry_currency": "SAR", "create_time": 0});
        let _ = payout_csv(&[receiving(&v).unwrap()]);
    }

    #[test]
    fn any_receiving_fields_read_or_are_refused(amount in ".{0,12}", currency in ".{0,4}", at in any::<i64>()) {
        let v = serde_json::json!({"id": "x", "receive_amount": amount, "receive_currency": currency, "fee": amount,
            "entry_amount": amount, "entry_currency": currency, "create_time": at});
        if let Ok(r) = receiving(&v) {
            let _ = payout_csv(&[r]);
        }
    }
}
