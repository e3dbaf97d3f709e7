//! 4PX's replies as its documents show them (fixtures in tests/fixtures/4px), and anything else a gateway can
//! send back, read into events or clear errors; never a panic.

use codflow_connectors::carriers::CarrierError;
use codflow_connectors::carriers::fourpx::transformers::{Numbers, events, read};
use proptest::prelude::*;

const CREATED: &str = include_str!("../fixtures/4px/order_create_reply.json");
const SIGN_ERROR: &str = include_str!("../fixtures/4px/sign_error_reply.json");
const TRACKING: &str = include_str!("../fixtures/4px/tracking_reply.json");

#[test]
fn an_order_reply_gives_4pxs_number_to_track_and_keeps_the_last_mile_number() {
    let data = read(200, None, CREATED.as_bytes()).unwrap();
    let b = Numbers::read(&data)
        .unwrap()
        .into_booking(Ok(serde_json::json!({"label_url_info": {"logistics_label": "https://x/l.pdf"}})));
    assert_eq!(b.tracking_number, "4PX3000123456789CN");
    assert_eq!(b.carrier_ref, "DS2611050001");
    assert_eq!(b.label_data["logistics_channel_no"], "SMSA290012345");
    assert_eq!(b.label_data["label_url"], "https://x/l.pdf");
}

#[test]
fn a_signature_refusal_is_an_authorisation_error_not_a_retry() {
    let e = read(200, None, SIGN_ERROR.as_bytes()).unwrap_err();
    assert_eq!(e, CarrierError::Unauthorized);
    assert!(!e.retryable());
}

#[test]
fn scans_listed_newest_first_in_their_own_zones_come_back_oldest_first_in_absolute_time() {
    let data = read(200, None, TRACKING.as_bytes()).unwrap();
    let ev = events("4PX3000123456789CN", &data).unwrap();
    let codes: Vec<&str> = ev.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["FPX_L_RPIF", "FPX_C_SPLS", "FPX_S_OK"]);
    assert_eq!(ev[2].at.unix_timestamp(), time::macros::datetime!(2026-08-27 10:20:12 UTC).unix_timestamp());
    assert_eq!(ev[0].location, None, "an empty location is none");
}

#[test]
fn html_pages_truncated_json_and_rate_limits_map_to_retryable_errors() {
    let html = b"<html><body><h1>502 Bad Gateway</h1></body></html>";
    assert!(matches!(read(502, None, html), Err(CarrierError::Unavailable(_))));
    assert!(matches!(read(200, None, html), Err(CarrierError::Malformed(_))));
    assert!(matches!(read(200, None, br#"{"result":"1","data":{"#), Err(CarrierError::Malformed(_))));
    assert_eq!(read(429, Some(2), b"slow down"), Err(CarrierError::RateLimited(Some(2))));
    assert!(matches!(read(200, None, br#"{"msg":"?"}"#), Err(CarrierError::Malformed(_))));
}

#[test]
fn a_refusal_names_the_field_4px_named() {
    let body = br#"{"result":"0","msg":"x","errors":[{"error_code":"DS000001","error_msg":"recipient_info.city: is required"}]}"#;
    match read(200, None, body).unwrap_err() {
        CarrierError::Rejected { code, field, .. } => {
            assert_eq!(code, "DS000001");
            assert_eq!(field.as_deref(), Some("recipient_info.city"));
        }
        other => panic!("{other:?}"),
    }
}

proptest! {
    #[test]
    fn any_reply_reads_to_data_or_an_error(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(d) = read(status, None, &body) {
            let _ = events("T", &d);
            let _ = Numbers::read(&d);
        }
    }

    #[test]
    fn any_tracking_list_reads_or_is_refused(code in ".{0,12}", at in ".{0,25}", zone in ".{0,12}") {
        let data = serde_json::json!({"trackingList": [{"businessLinkCode": code, "occurDatetime": at, "timeZone": zone}]});
        let _ = events("T", &data);
    }
}
