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

mod collection {
    use std::time::Duration;

    use codflow_connectors::carriers::fourpx::{FourPxAccount, PickupPoint};
    use codflow_connectors::carriers::{
        Amount, BagRequest, BookingRequest, CarrierError, CustomsItem, FourPx, ManifestRequest, Manifests, Party,
        ShipmentBooker,
    };
    use serde_json::Value;

    async fn front(pickup: bool) -> (String, FourPx) {
        let cfg = codflow_sandbox_carrier::Config { api_key: Some("k".into()), ..Default::default() };
        let server = codflow_sandbox_carrier::start(cfg).await.unwrap();
        let account = FourPxAccount {
            app_key: codflow_sandbox_carrier::fourpx::TEST_APP_KEY.into(),
            app_secret: codflow_sandbox_carrier::fourpx::TEST_APP_SECRET.into(),
            access_token: None,
            pickup: if pickup {
                PickupPoint {
                    name: Some("Shenzhen DC".into()),
                    phone: Some("+8675512345678".into()),
                    province: Some("Guangdong".into()),
                    city: Some("Shenzhen".into()),
                    district: Some("Bao'an".into()),
                    address: Some("Fuhai Road 8, Warehouse 3".into()),
                    zip: Some("518000".into()),
                }
            } else {
                PickupPoint::default()
            },
        };
        let fourpx = FourPx::new(&format!("{server}/4px"), account, Duration::from_secs(3)).unwrap();
        (server, fourpx)
    }

    fn parcel(key: &str) -> BookingRequest {
        BookingRequest {
            idempotency_key: key.into(),
            reference: format!("ord-{key}"),
            service: "standard".into(),
            shipper: Party {
                name: "Shenzhen DC".into(),
                city: "Shenzhen".into(),
                country: "CN".into(),
                ..Party::default()
            },
            consignee: Party {
                name: "Jan Kowalski".into(),
                phone: Some("+48501234567".into()),
                line1: "Marszalkowska 10".into(),
                city: "Warszawa".into(),
                postal_code: Some("00-001".into()),
                country: "PL".into(),
                ..Party::default()
            },
            pieces: vec![600],
            cod: None,
            declared_value: Amount { amount: "25.00".into(), currency: "USD".into() },
            incoterm: "DDP".into(),
            items: vec![CustomsItem {
                description: "Desk lamp".into(),
                sku: "LAMP-01".into(),
                hs_code: Some("940540".into()),
                origin_country: Some("CN".into()),
                quantity: 1,
                unit_value: "25.00".into(),
                weight_g: 600,
            }],
        }
    }

    fn bag(reference: &str, tracking_numbers: Vec<String>) -> BagRequest {
        BagRequest { reference: reference.into(), destination_country: "PL".into(), tracking_numbers, weight_g: 1300 }
    }

    async fn bags(server: &str) -> Vec<Value> {
        let r =
            reqwest::Client::new().get(format!("{server}/v1/_stats")).header("X-Api-Key", "k").send().await.unwrap();
        r.json::<Value>().await.unwrap()["fourpx_bags"].as_array().cloned().unwrap_or_default()
    }

    #[tokio::test]
    async fn bags_are_grouped_for_4pxs_collection_then_a_pickup_is_booked_for_them() {
        let (server, fourpx) = front(true).await;
        let a = fourpx.book(&parcel("shp-a")).await.unwrap().tracking_number;
        let b = fourpx.book(&parcel("shp-b")).await.unwrap().tracking_number;
        let no = fourpx.register_bag(&bag("B000001", vec![a.clone(), b.clone()])).await.unwrap();
        assert!(no.starts_with("BC"), "{no}");
        // The same bag again is refused by 4PX: the app keeps the number it got and never sends it twice.
        match fourpx.register_bag(&bag("B000001", vec![a.clone()])).await {
            Err(e @ CarrierError::Rejected { .. }) => assert!(!e.retryable() && e.to_string().contains("B000001")),
            other => panic!("{other:?}"),
        }
        let m = ManifestRequest {
            reference: "hnd_1".into(),
            bag_numbers: vec![no.clone()],
            tracking_numbers: vec![a, b],
            weight_g: 1300,
        };
        let manifest = fourpx.submit_manifest(&m).await.unwrap();
        assert!(manifest.number.starts_with("CO"), "{manifest:?}");
        assert_eq!(manifest.parcels, 2);
        let held = bags(&server).await;
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!((held[0]["bag_no"].as_str(), held[0]["parcels"].as_i64()), (Some("B000001"), Some(2)));
        assert_eq!(held[0]["collect_no"], manifest.number.as_str(), "the pickup takes the bag");
        // Nothing left to collect: a second pickup is refused.
        assert!(matches!(fourpx.submit_manifest(&m).await, Err(CarrierError::Rejected { .. })));
    }

    #[tokio::test]
    async fn without_a_pickup_point_or_with_a_stranger_parcel_nothing_reaches_4px() {
        let (server, fourpx) = front(false).await;
        let a = fourpx.book(&parcel("shp-a")).await.unwrap().tracking_number;
        match fourpx.register_bag(&bag("B000001", vec![a])).await {
            Err(CarrierError::Rejected { field, .. }) => assert_eq!(field.as_deref(), Some("pickup_name")),
            other => panic!("{other:?}"),
        }
        let (server2, fourpx) = front(true).await;
        match fourpx.register_bag(&bag("B000002", vec!["4PX000000000".into()])).await {
            Err(CarrierError::Rejected { code, message, .. }) => {
                assert_eq!(code, "DS000020");
                assert!(message.contains("4PX000000000"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(bags(&server).await.is_empty() && bags(&server2).await.is_empty());
    }
}

proptest! {
    #[test]
    fn a_collection_reply_of_any_shape_gives_a_bag_number_or_an_error(body in "\\PC{0,80}", bag in "\\PC{0,8}") {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) {
            let _ = codflow_connectors::carriers::fourpx::transformers::bag_collect_no(&v, &bag);
        }
        let v = serde_json::json!({"bag_list": [{"bag_no": bag, "bag_collect_no": body}]});
        let got = codflow_connectors::carriers::fourpx::transformers::bag_collect_no(&v, &bag);
        prop_assert_eq!(got.is_ok(), !body.trim().is_empty());
    }
}
