//! Flash Express's replies in the shapes of its merchant API documents (fixtures in tests/fixtures/flash), and
//! anything else, read into a parcel number, routes or a clear error; never a panic.

use codflow_connectors::carriers::CarrierError;
use codflow_connectors::carriers::flash::transformers::{events, read};
use proptest::prelude::*;

#[test]
fn an_order_reply_gives_the_pno_and_routes_read_oldest_first_in_seconds_or_milliseconds() {
    let d = read(200, None, include_bytes!("../fixtures/flash/order_reply.json")).unwrap();
    assert_eq!(d["pno"], "TH01471234567");
    let d = read(200, None, include_bytes!("../fixtures/flash/routes_reply.json")).unwrap();
    let e = events("TH01471234567", &d).unwrap();
    let codes: Vec<&str> = e.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["RECEIVED", "DELIVERY_TICKET_CREATION_SCAN", "DELIVERY_CONFIRM"]);
    assert_eq!(e[0].at.unix_timestamp(), 1_772_420_000, "milliseconds read as seconds");
}

#[test]
fn a_refused_signature_is_an_authorisation_error_and_a_named_parameter_is_its_field() {
    assert_eq!(
        read(200, None, include_bytes!("../fixtures/flash/sign_error_reply.json")),
        Err(CarrierError::Unauthorized)
    );
    match read(200, None, br#"{"code":1000,"message":"dstPhone is required","data":null}"#).unwrap_err() {
        CarrierError::Rejected { field, .. } => assert_eq!(field.as_deref(), Some("dstPhone")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(read(502, None, b"<html>bad gateway</html>"), Err(CarrierError::Unavailable(_))));
    assert!(matches!(read(200, None, b"{\"code\":1,\"data\":"), Err(CarrierError::Malformed(_))));
}

proptest! {
    #[test]
    fn any_reply_reads_to_data_or_an_error(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(d) = read(status, None, &body) {
            let _ = events("P", &d);
        }
    }

    #[test]
    fn any_route_reads_or_is_refused(action in ".{0,20}", at in any::<i64>()) {
        let _ = events("P", &serde_json::json!({"routes": [{"routeAction": action, "routedAt": at}]}));
    }
}

proptest::proptest! {
    /// An estimate of any shape is a rate in THB or a clear error, never a panic or a negative price.
    #[test]
    fn an_estimate_reply_of_any_shape_is_a_rate_or_an_error(body in "\\PC{0,60}", satang in proptest::num::i64::ANY) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
            let _ = codflow_connectors::carriers::flash::transformers::rate(&v);
        }
        let r = codflow_connectors::carriers::flash::transformers::rate(&serde_json::json!({"estimatePrice": satang}));
        proptest::prop_assert_eq!(r.is_ok(), satang >= 0);
        if let Ok(r) = r {
            proptest::prop_assert_eq!(r.total.currency, "THB");
            let back: rust_decimal::Decimal = r.total.amount.parse().unwrap();
            proptest::prop_assert_eq!(back * rust_decimal::Decimal::from(100), rust_decimal::Decimal::from(satang));
        }
    }
}
