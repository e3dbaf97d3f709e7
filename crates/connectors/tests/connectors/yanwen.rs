//! Yanwen's replies in the shapes its SDK integrations and track API give (fixtures in tests/fixtures/yanwen), and
//! anything else, read into a waybill, checkpoints or a clear error; never a panic.

use codflow_connectors::carriers::CarrierError;
use codflow_connectors::carriers::yanwen::transformers::{created, label, listed_waybill, read, tracking};
use proptest::prelude::*;
use serde_json::json;

#[test]
fn an_order_reply_gives_the_waybill_and_checkpoints_read_in_their_own_zone() {
    let d = read(200, None, include_bytes!("../fixtures/yanwen/create_reply.json")).unwrap();
    assert_eq!(created(&d).unwrap(), "UG123456789YP");
    let e =
        tracking("00340434281410767138", 200, None, include_bytes!("../fixtures/yanwen/tracking_reply.json")).unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].code, "PU10");
    // 18:52:19 at UTC+8 is 10:52:19 UTC.
    assert_eq!(e[0].at.unix_timestamp(), 1_565_866_339);
    assert_eq!(e[0].location, None, "an empty location is none");
    let other = tracking("NOT-THIS-ONE", 200, None, include_bytes!("../fixtures/yanwen/tracking_reply.json")).unwrap();
    assert!(other.is_empty(), "only the asked number's checkpoints");
}

#[test]
fn a_listed_order_is_found_by_our_shipment_id_and_refusals_are_clear() {
    let listed = json!([{"waybillNumber": "YW0000000001", "orderNumber": "shp_1"}, {"waybillNumber": "YW2", "orderNumber": "x"}]);
    assert_eq!(listed_waybill(&listed, "shp_1").as_deref(), Some("YW0000000001"));
    assert_eq!(listed_waybill(&listed, "shp_2"), None);
    assert_eq!(
        read(200, None, br#"{"success":false,"code":"1002","message":"sign is invalid"}"#),
        Err(CarrierError::Unauthorized)
    );
    match read(200, None, br#"{"success":false,"code":"2001","message":"receiverInfo.city is required"}"#) {
        Err(CarrierError::Rejected { field, .. }) => assert_eq!(field.as_deref(), Some("receiverInfo.city")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(read(503, None, b"<html>down</html>"), Err(CarrierError::Unavailable(_))));
    assert!(matches!(read(200, None, b"{\"success\":true,\"data\":"), Err(CarrierError::Malformed(_))));
    let not_pdf = json!({"isSuccess": true, "base64String": "bm90IGEgcGRm"});
    assert!(matches!(label(&not_pdf), Err(CarrierError::Malformed(_))));
    let refused = json!({"isSuccess": false, "errorMsg": "channel does not print"});
    assert!(matches!(label(&refused), Err(CarrierError::Rejected { .. })));
    let nf = br#"{"code":0,"result":[{"tracking_number":"X","tracking_status":"NOTFOUND","checkpoints":[]}]}"#;
    assert!(matches!(tracking("X", 200, None, nf), Err(CarrierError::Rejected { .. })));
}

proptest! {
    #[test]
    fn any_reply_reads_to_data_or_an_error(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(d) = read(status, None, &body) {
            let _ = created(&d);
            let _ = label(&d);
            let _ = listed_waybill(&d, "x");
        }
        let _ = tracking("x", status, None, &body);
    }

    #[test]
    fn any_checkpoint_reads_or_is_refused(at in ".{0,25}", zone in ".{0,8}", status in ".{0,8}") {
        let body = json!({"code": 0, "result": [{"tracking_number": "x", "checkpoints": [{"time_stamp": at, "time_zone": zone, "tracking_status": status}]}]});
        let _ = tracking("x", 200, None, body.to_string().as_bytes());
    }
}
