//! Ninja Van's replies and pushes in the shapes its documents and SDK fixtures show (tests/fixtures/ninjavan), and
//! anything else, read into data or clear errors; never a panic.

use codflow_connectors::carriers::CarrierError;
use codflow_connectors::carriers::ninjavan::transformers::{events, read};
use proptest::prelude::*;

const ORDER: &str = include_str!("../fixtures/ninjavan/order_reply.json");
const DELIVERED: &str = include_str!("../fixtures/ninjavan/webhook_delivered.json");
const INVALID: &str = include_str!("../fixtures/ninjavan/validation_error.json");

#[test]
fn an_order_reply_carries_the_tracking_number() {
    let v = read(200, None, ORDER.as_bytes()).unwrap();
    assert_eq!(v["tracking_number"], "NINJA123");
}

#[test]
fn a_v1_push_with_a_compact_offset_reads_to_one_delivered_event() {
    let v: serde_json::Value = serde_json::from_str(DELIVERED).unwrap();
    let e = events(&v).unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].code, "DELIVERED_RECEIVED_BY_CUSTOMER");
    assert_eq!(e[0].tracking_number, "NINJA123");
    assert_eq!(e[0].at.unix_timestamp(), time::macros::datetime!(2025-02-27 07:32:10 UTC).unix_timestamp());
}

#[test]
fn a_validation_error_names_its_field_and_is_not_retried() {
    match read(400, None, INVALID.as_bytes()).unwrap_err() {
        e @ CarrierError::Rejected { .. } => {
            assert!(!e.retryable());
            let CarrierError::Rejected { field, code, .. } = e else { unreachable!() };
            assert_eq!((field.as_deref(), code.as_str()), (Some("to.phone_number"), "REQUEST_ERR"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(read(502, None, b"<html>Bad Gateway</html>"), Err(CarrierError::Unavailable(_))));
    assert!(matches!(read(200, None, b"{\"tracking_number\":"), Err(CarrierError::Malformed(_))));
    assert_eq!(read(401, None, b""), Err(CarrierError::Unauthorized));
}

proptest! {
    #[test]
    fn any_reply_reads_to_data_or_an_error(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(v) = read(status, None, &body) {
            let _ = events(&v);
        }
    }

    #[test]
    fn any_push_reads_or_is_refused(id in ".{0,20}", status in ".{0,40}", at in ".{0,30}") {
        let v = serde_json::json!({"tracking_id": id, "status": status, "timestamp": at});
        let _ = events(&v);
        let _ = events(&serde_json::json!([v, 1, null]));
    }
}
