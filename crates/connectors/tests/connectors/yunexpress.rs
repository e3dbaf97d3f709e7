//! YunExpress's replies in the shapes of its OMS API documents (fixtures in tests/fixtures/yunexpress), and
//! anything else, read into an order, details or a clear error; never a panic.

use codflow_connectors::carriers::CarrierError;
use codflow_connectors::carriers::yunexpress::transformers::{created, events, read};
use proptest::prelude::*;

#[test]
fn a_created_order_gives_its_waybill_and_a_refused_one_names_its_field() {
    let items = read(200, None, include_bytes!("../fixtures/yunexpress/create_reply.json")).unwrap();
    assert_eq!(created(&items, "shp_01jd").unwrap()["WayBillNumber"], "YT2612345678901234");
    let items = read(200, None, include_bytes!("../fixtures/yunexpress/refused_reply.json")).unwrap();
    match created(&items, "shp_01jd").unwrap_err() {
        CarrierError::Rejected { field, .. } => assert_eq!(field.as_deref(), Some("Receiver.City")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn details_read_oldest_first_and_one_without_a_code_is_known_by_its_text() {
    let item = read(200, None, include_bytes!("../fixtures/yunexpress/track_reply.json")).unwrap();
    let e = events("YT2612345678901234", &item).unwrap();
    let codes: Vec<&str> = e.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["YT10", "Departed from the origin hub", "YT60"]);
    assert_eq!(read(401, None, b""), Err(CarrierError::Unauthorized));
    assert!(matches!(read(200, None, br#"{"Code":"1001","Message":"bad"}"#), Err(CarrierError::Rejected { .. })));
    assert!(matches!(read(200, None, b"<html>"), Err(CarrierError::Malformed(_))));
}

proptest! {
    #[test]
    fn any_reply_reads_to_data_or_an_error(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(v) = read(status, None, &body) {
            let _ = created(&v, "N");
            let _ = events("N", &v);
        }
    }

    #[test]
    fn any_detail_reads_or_is_refused(at in ".{0,30}", content in ".{0,70}", code in ".{0,8}") {
        let _ = events("N", &serde_json::json!({"OrderTrackingDetails": [{"ProcessDate": at, "ProcessContent": content, "TrackCode": code}]}));
    }
}
