//! SMSA's replies in the shapes of its API reference (fixtures in tests/fixtures/smsa), and anything else, read
//! into a booking, scans or a clear error; never a panic.

use codflow_connectors::carriers::CarrierError;
use codflow_connectors::carriers::smsa::transformers::{booking, events, read};
use proptest::prelude::*;

const CREATED: &str = include_str!("../fixtures/smsa/create_reply.json");
const TRACK: &str = include_str!("../fixtures/smsa/track_reply.json");
const INVALID: &str = include_str!("../fixtures/smsa/validation_error.json");

#[test]
fn a_booking_reply_gives_the_airway_bill_and_keeps_the_label() {
    let b = booking(&read(200, None, CREATED.as_bytes()).unwrap()).unwrap();
    assert_eq!(b.tracking_number, "231200021000");
    assert_eq!(b.label_data["waybill_pdf_base64"], "JVBERi0xLjQK");
}

#[test]
fn scans_newest_first_come_back_oldest_first_in_absolute_time() {
    let e = events("231200021000", &read(200, None, TRACK.as_bytes()).unwrap()).unwrap();
    let codes: Vec<&str> = e.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["OD", "DL"]);
    assert_eq!(e[1].at.unix_timestamp(), time::macros::datetime!(2026-03-03 12:20 UTC).unix_timestamp());
}

#[test]
fn a_validation_problem_names_its_field_and_is_not_retried() {
    match read(400, None, INVALID.as_bytes()).unwrap_err() {
        CarrierError::Rejected { field, message, .. } => {
            assert_eq!(field.as_deref(), Some("ConsigneeAddress.AddressLine1"));
            assert!(message.contains("minimum length of 10"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(read(401, None, b"Unauthorized"), Err(CarrierError::Unauthorized));
    assert!(matches!(read(503, None, b"<html>down</html>"), Err(CarrierError::Unavailable(_))));
    assert!(matches!(read(200, None, b"{\"sawb\":"), Err(CarrierError::Malformed(_))));
}

proptest! {
    #[test]
    fn any_reply_reads_to_data_or_an_error(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(v) = read(status, None, &body) {
            let _ = booking(&v);
            let _ = events("T", &v);
        }
    }

    #[test]
    fn any_scan_reads_or_is_refused(code in ".{0,6}", at in ".{0,25}", zone in ".{0,8}") {
        let v = serde_json::json!({"Scans": [{"ScanType": code, "ScanDateTime": at, "ScanTimeZone": zone}]});
        let _ = events("T", &v);
    }
}
