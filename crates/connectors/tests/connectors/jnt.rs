//! J&T Express's replies in the shapes of its open-platform reference (fixtures in tests/fixtures/jnt), and anything
//! else, read into a waybill, scans or a clear error; never a panic.

use codflow_connectors::carriers::CarrierError;
use codflow_connectors::carriers::jnt::transformers::{Tenant, bill_code, push_events, read, trace, verify_push};
use proptest::prelude::*;

fn my() -> Tenant {
    Tenant::parse("my").unwrap()
}

#[test]
fn an_order_reply_gives_the_waybill_and_a_trace_reads_oldest_first_in_the_tenants_time() {
    let d = read(200, None, include_bytes!("../fixtures/jnt/add_order_reply.json")).unwrap();
    assert_eq!(bill_code(&d).as_deref(), Some("630002864925"));
    assert_eq!(d["sortingCode"], "02-C51-PRK309");
    let d = read(200, None, include_bytes!("../fixtures/jnt/trace_reply.json")).unwrap();
    let e = trace(&d, my()).unwrap();
    let codes: Vec<&str> = e.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["10", "94", "100"]);
    // 2024-04-10 15:19:00 at UTC+8 is 07:19:00 UTC.
    assert_eq!(e[0].at.unix_timestamp(), 1_712_733_540);
    assert_eq!(e[2].location.as_deref(), Some("Batu Gajah"));
    assert_eq!(e[1].location.as_deref(), None, "an empty city is no place");
    let th = trace(&d, Tenant::parse("th").unwrap()).unwrap();
    assert_eq!(th[0].at, e[0].at, "a scan with its own timeZone keeps it");
    assert_eq!((th[1].at - e[1].at).whole_hours(), 1, "without one, the tenant's clock (Thailand is UTC+7)");
}

#[test]
fn a_refused_signature_is_an_authorisation_error_and_a_named_field_is_kept() {
    assert_eq!(
        read(200, None, include_bytes!("../fixtures/jnt/signature_error_reply.json")),
        Err(CarrierError::Unauthorized)
    );
    match read(200, None, br#"{"code":"145003050","msg":"receiver.phone is required","data":null}"#).unwrap_err() {
        CarrierError::Rejected { field, code, .. } => {
            assert_eq!(field.as_deref(), Some("receiver.phone"));
            assert_eq!(code, "145003050");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(read(502, None, b"<html>bad gateway</html>"), Err(CarrierError::Unavailable(_))));
    assert_eq!(read(429, Some(2), b"slow down"), Err(CarrierError::RateLimited(Some(2))));
    assert!(matches!(read(200, None, b"{\"code\":\"1\",\"data\":"), Err(CarrierError::Malformed(_))));
    assert!(matches!(read(200, None, b"{\"msg\":\"no code\"}"), Err(CarrierError::Malformed(_))));
}

#[test]
fn a_push_is_read_only_with_its_digest() {
    let biz =
        r#"[{"billCode":"63","details":[{"scanTime":"2026-01-02 11:04:05","scanTypeCode":303,"desc":"Refused"}]}]"#;
    let body = form_urlencoded::Serializer::new(String::new()).append_pair("bizContent", biz).finish();
    let sig = codflow_sandbox_carrier::jnt::digest(biz, "key");
    assert!(verify_push("key", body.as_bytes(), &sig));
    assert!(!verify_push("key", b"bizContent=%5B%5D", &sig));
    assert!(!verify_push("key", b"other=1", &sig), "no bizContent, nothing to verify");
    let e = push_events(body.as_bytes(), my()).unwrap();
    assert_eq!((e[0].code.as_str(), e[0].tracking_number.as_str()), ("303", "63"));
    assert!(matches!(push_events(b"bizContent=%7B", my()), Err(CarrierError::Malformed(_))));
}

proptest! {
    #[test]
    fn any_reply_reads_to_data_or_an_error(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(d) = read(status, None, &body) {
            let _ = trace(&d, my());
            let _ = bill_code(&d);
        }
    }

    #[test]
    fn any_scan_reads_or_is_refused(code in ".{0,12}", at in ".{0,25}", zone in ".{0,12}") {
        let d = serde_json::json!([{"billCode": "63", "details": [{"scanTypeCode": code, "scanTime": at, "timeZone": zone}]}]);
        let _ = trace(&d, my());
    }

    #[test]
    fn any_push_body_reads_or_is_refused(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = verify_push("k", &body, "x");
        let _ = push_events(&body, my());
    }
}
