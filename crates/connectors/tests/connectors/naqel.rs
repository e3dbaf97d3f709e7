//! Naqel's SOAP replies in the shapes of its XMLShippingService (fixtures in tests/fixtures/naqel), and anything
//! else, read into a waybill, scans or a clear error — SOAP faults included; never a panic.

use codflow_connectors::carriers::CarrierError;
use codflow_connectors::carriers::naqel::transformers::{created_waybill, events, read, sticker};
use proptest::prelude::*;

#[test]
fn a_created_waybill_and_its_trace_read_oldest_first_in_saudi_time() {
    let r = read("CreateWaybill", 200, None, include_bytes!("../fixtures/naqel/create_reply.xml")).unwrap();
    assert_eq!(created_waybill(&r).unwrap(), "31234567");
    let r = read("TraceByWaybillNo", 200, None, include_bytes!("../fixtures/naqel/trace_reply.xml")).unwrap();
    let e = events("31234567", &r).unwrap();
    let codes: Vec<&str> = e.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["1", "5", "7"]);
    // 2024-03-04T09:01:00 in Riyadh (UTC+3) is 06:01 UTC.
    assert_eq!(e[0].at.unix_timestamp(), 1_709_532_060);
    assert_eq!(e[0].description, "Shipment picked up & received at station");
    assert_eq!(e[2].location.as_deref(), Some("RUH"));
}

#[test]
fn soap_faults_outages_and_unknown_waybills_are_clear_errors() {
    match read("CreateWaybill", 500, None, include_bytes!("../fixtures/naqel/fault.xml")) {
        Err(e @ CarrierError::Rejected { .. }) => {
            assert!(!e.retryable());
            assert!(e.to_string().contains("unable to read request"), "{e}");
        }
        other => panic!("a client fault is a refusal: {other:?}"),
    }
    let server_fault = br#"<soap:Envelope xmlns:soap="s"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>Timeout expired</faultstring></soap:Fault></soap:Body></soap:Envelope>"#;
    assert!(matches!(read("CreateWaybill", 500, None, server_fault), Err(CarrierError::Unavailable(_))));
    assert!(matches!(
        read("CreateWaybill", 502, None, b"<html><body>Bad gateway</body></html>"),
        Err(CarrierError::Unavailable(_))
    ));
    assert!(matches!(
        read("CreateWaybill", 200, None, b"<soap:Envelope><soap:Body><CreateWay"),
        Err(CarrierError::Malformed(_))
    ));
    assert!(matches!(read("CreateWaybill", 200, None, b"{\"json\": true}"), Err(CarrierError::Malformed(_))));
    let none = br#"<Envelope><Body><TraceByWaybillNoResponse><TraceByWaybillNoResult><Tracking><HasError>true</HasError><ErrorMessage>No tracking information</ErrorMessage></Tracking></TraceByWaybillNoResult></TraceByWaybillNoResponse></Body></Envelope>"#;
    let r = read("TraceByWaybillNo", 200, None, none).unwrap();
    assert!(matches!(events("1", &r), Err(CarrierError::Rejected { .. })));
    let bad_sticker =
        br#"<Envelope><Body><R><GetWaybillStickerResult>bm90IGEgcGRm</GetWaybillStickerResult></R></Body></Envelope>"#;
    let r = read("GetWaybillSticker", 200, None, bad_sticker).unwrap();
    assert!(matches!(sticker(&r), Err(CarrierError::Malformed(_))), "base64 of something that is not a PDF");
}

proptest! {
    #[test]
    fn any_reply_reads_to_a_result_or_an_error(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(r) = read("CreateWaybill", status, None, &body) {
            let _ = created_waybill(&r);
            let _ = events("1", &r);
            let _ = sticker(&r);
        }
    }

    #[test]
    fn any_record_reads_or_is_refused(code in ".{0,10}", date in ".{0,30}", activity in ".{0,30}") {
        let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let xml = format!("<E><B><TraceByWaybillNoResult><Tracking><EventCode>{}</EventCode><Date>{}</Date><Activity>{}</Activity></Tracking></TraceByWaybillNoResult></B></E>", esc(&code), esc(&date), esc(&activity));
        if let Ok(r) = read("TraceByWaybillNo", 200, None, xml.as_bytes()) {
            let _ = events("1", &r);
        }
    }
}
