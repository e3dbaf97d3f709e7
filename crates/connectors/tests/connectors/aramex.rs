//! The Aramex connector against a local server answering with the shapes of Aramex's Shipping and Tracking
//! services manuals, including their error replies.

use std::time::Duration;

use codflow_connectors::carriers::aramex::AramexAccount;
use codflow_connectors::carriers::{
    Amount, Aramex, BookingRequest, CarrierError, CustomsItem, Party, Piece, RateQuoter, RateRequest, ShipmentBooker,
    TrackingSource,
};
use codflow_connectors::sink::HttpSink;
use serde_json::Value;

fn account() -> AramexAccount {
    AramexAccount {
        user_name: "testingapi@aramex.com".into(),
        password: "secret".into(),
        account_number: "20016".into(),
        account_pin: "331421".into(),
        account_entity: "AMM".into(),
        account_country_code: "JO".into(),
        pickup: Default::default(),
    }
}

fn request() -> BookingRequest {
    BookingRequest {
        idempotency_key: "shp_01jd0000000000000000000000".into(),
        reference: "ord_01jd0000000000000000000000".into(),
        service: "PDX".into(),
        shipper: Party {
            name: "Dubai DC".into(),
            line1: "JAFZA".into(),
            city: "Dubai".into(),
            country: "AE".into(),
            ..Party::default()
        },
        consignee: Party {
            name: "Noura".into(),
            phone: Some("+966501234567".into()),
            line1: "King Fahd Rd 12".into(),
            city: "Riyadh".into(),
            postal_code: Some("12211".into()),
            country: "SA".into(),
            ..Party::default()
        },
        pieces: vec![1250],
        cod: Some(Amount { amount: "129.50".into(), currency: "SAR".into() }),
        declared_value: Amount { amount: "129.50".into(), currency: "SAR".into() },
        incoterm: "DDP".into(),
        items: vec![CustomsItem {
            description: "Desk lamp".into(),
            sku: "LAMP-01".into(),
            hs_code: Some("940540".into()),
            origin_country: Some("CN".into()),
            quantity: 1,
            unit_value: "129.50".into(),
            weight_g: 1250,
        }],
    }
}

async fn aramex(sink: &HttpSink) -> Aramex {
    Aramex::new(&sink.url("/ShippingAPI.V2"), account(), Duration::from_secs(2)).unwrap()
}

const CREATED: &str = r#"{"Transaction":{"Reference1":"shp_01jd0000000000000000000000","Reference2":"","Reference3":"","Reference4":"","Reference5":""},
 "Notifications":[],"HasErrors":false,
 "Shipments":[{"ID":"46032800516","Reference1":"shp_01jd0000000000000000000000","Reference2":"ord_01jd0000000000000000000000","Reference3":"",
   "ForeignHAWB":"","HasErrors":false,"Notifications":[],
   "ShipmentLabel":{"LabelURL":"https://ws.aramex.net/content/rpt_cache/46032800516.pdf","LabelFileContents":null},
   "ShipmentDetails":null,"ShipmentAttachments":[]}]}"#;

#[tokio::test]
async fn a_booking_sends_the_documented_request_and_reads_the_waybill() {
    let sink = HttpSink::start().await.unwrap();
    sink.reply_next("200 OK", CREATED);
    let b = aramex(&sink).await.book(&request()).await.unwrap();
    assert_eq!(b.tracking_number, "46032800516");
    assert_eq!(b.label_data["label_url"], "https://ws.aramex.net/content/rpt_cache/46032800516.pdf");
    let req = &sink.requests()[0];
    assert_eq!(req.path, "/ShippingAPI.V2/Shipping/Service_1_0.svc/json/CreateShipments");
    let body: Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body["ClientInfo"]["AccountNumber"], "20016");
    assert_eq!(body["ClientInfo"]["Version"], "v1.0");
    let s = &body["Shipments"][0];
    assert_eq!(s["Reference1"], "shp_01jd0000000000000000000000");
    assert_eq!(s["Details"]["ProductGroup"], "EXP");
    assert_eq!(s["Details"]["Services"], "CODS");
    assert_eq!(s["Details"]["CashOnDeliveryAmount"]["CurrencyCode"], "SAR");
    assert_eq!(s["Details"]["CashOnDeliveryAmount"]["Value"], 129.5);
    assert_eq!(s["Details"]["ActualWeight"]["Value"], 1.25);
    assert_eq!(s["Consignee"]["PartyAddress"]["CountryCode"], "SA");
    assert_eq!(s["Details"]["Items"][0]["CommodityCode"], "940540");
    assert!(s["ShippingDateTime"].as_str().unwrap().starts_with("/Date("));
}

#[tokio::test]
async fn an_amount_that_is_not_a_decimal_is_refused_before_anything_is_sent() {
    let sink = HttpSink::start().await.unwrap();
    for (bad, field) in [("12,50", "cod.amount"), ("", "cod.amount"), ("1e3", "cod.amount"), ("NaN", "cod.amount")] {
        let mut r = request();
        r.cod = Some(Amount { amount: bad.into(), currency: "SAR".into() });
        match aramex(&sink).await.book(&r).await {
            Err(CarrierError::Rejected { code, field: Some(f), .. }) => {
                assert_eq!((code.as_str(), f.as_str()), ("invalid_amount", field), "{bad:?}");
            }
            other => panic!("{bad:?}: expected a refusal, got {other:?}"),
        }
    }
    let mut r = request();
    r.items[0].unit_value = "abc".into();
    let e = aramex(&sink).await.book(&r).await.unwrap_err();
    assert!(matches!(e, CarrierError::Rejected { field: Some(ref f), .. } if f == "items[0].unit_value"), "{e:?}");
    assert!(sink.requests().is_empty(), "nothing reached the carrier");
}

#[tokio::test]
async fn a_refusal_in_the_notifications_becomes_a_rejection_with_aramexs_codes() {
    let sink = HttpSink::start().await.unwrap();
    sink.reply_next(
        "200 OK",
        r#"{"Transaction":null,"Notifications":[],"HasErrors":true,
            "Shipments":[{"ID":null,"HasErrors":true,"ShipmentLabel":null,
              "Notifications":[{"Code":"ERR52","Message":"Consignee - Phone Number 1 is required"},
                               {"Code":"ERR06","Message":"City is invalid"}]}]}"#,
    );
    let e = aramex(&sink).await.book(&request()).await.unwrap_err();
    match &e {
        CarrierError::Rejected { code, message, .. } => {
            assert_eq!(code, "ERR52");
            assert!(message.contains("Phone Number 1 is required") && message.contains("ERR06"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.retryable());
    // A top-level error with no shipment (bad credentials are reported this way).
    sink.reply_next(
        "200 OK",
        r#"{"Transaction":null,"HasErrors":true,"Shipments":[],
            "Notifications":[{"Code":"ERR01","Message":"Invalid username or password"}]}"#,
    );
    let e = aramex(&sink).await.book(&request()).await.unwrap_err();
    assert!(matches!(&e, CarrierError::Rejected { code, .. } if code == "ERR01"), "{e:?}");
}

#[tokio::test]
async fn server_errors_and_garbage_are_told_apart_from_refusals() {
    let sink = HttpSink::start().await.unwrap();
    sink.fail_next(1);
    let e = aramex(&sink).await.book(&request()).await.unwrap_err();
    assert!(matches!(e, CarrierError::Unavailable(_)), "{e:?}");
    sink.reply_next("200 OK", r#"{"HasErrors": false, "Shipments": [{"#);
    let e = aramex(&sink).await.book(&request()).await.unwrap_err();
    assert!(matches!(e, CarrierError::Malformed(_)), "{e:?}");
    sink.reply_next("200 OK", r#"{"HasErrors": false, "Notifications": [], "Shipments": []}"#);
    let e = aramex(&sink).await.book(&request()).await.unwrap_err();
    assert!(matches!(e, CarrierError::Malformed(_)), "{e:?}");
    // Aramex gives no idempotency key, so its bookings are never retried blindly.
    assert!(!aramex(&sink).await.retryable_bookings());
}

#[tokio::test]
async fn tracking_reads_wcf_dates_in_time_order_and_refuses_bad_ones() {
    let sink = HttpSink::start().await.unwrap();
    sink.reply_next(
        "200 OK",
        r#"{"Transaction":null,"Notifications":[],"HasErrors":false,"NonExistingWaybills":[],
            "TrackingResults":[{"Key":"46032800516","Value":[
              {"WaybillNumber":"46032800516","UpdateCode":"SH005","UpdateDescription":"Delivered","UpdateDateTime":"/Date(1737400000000+0300)/",
               "UpdateLocation":"Riyadh, Saudi Arabia","Comments":"","ProblemCode":"","GrossWeight":"1.25","ChargeableWeight":"1.25","WeightUnit":"KG"},
              {"WaybillNumber":"46032800516","UpdateCode":"SH014","UpdateDescription":"Record created.","UpdateDateTime":"/Date(1737018820000+0400)/",
               "UpdateLocation":"Dubai, United Arab Emirates","Comments":"","ProblemCode":"","GrossWeight":"1.25","ChargeableWeight":"1.25","WeightUnit":"KG"}]}]}"#,
    );
    let events = aramex(&sink).await.track("46032800516").await.unwrap();
    assert_eq!(events.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(), ["SH014", "SH005"]);
    assert_eq!(events[0].at.unix_timestamp(), 1737018820);
    let body: Value = serde_json::from_str(&sink.requests()[0].body).unwrap();
    assert_eq!(body["Shipments"][0], "46032800516");
    sink.reply_next(
        "200 OK",
        r#"{"HasErrors":false,"Notifications":[],"TrackingResults":[{"Key":"1","Value":[
            {"WaybillNumber":"1","UpdateCode":"SH005","UpdateDescription":"Delivered","UpdateDateTime":"yesterday"}]}]}"#,
    );
    let e = aramex(&sink).await.track("1").await.unwrap_err();
    assert!(matches!(&e, CarrierError::Malformed(m) if m.contains("UpdateDateTime")), "{e:?}");
}

fn rate_request() -> RateRequest {
    let r = request();
    RateRequest {
        service: "PDX".into(),
        origin: r.shipper,
        destination: r.consignee,
        pieces: vec![Piece { weight_g: 1250, dims_mm: Some([300, 200, 105]) }, Piece { weight_g: 400, dims_mm: None }],
        cod: r.cod,
        currency: "SAR".into(),
    }
}

#[tokio::test]
async fn a_rate_request_prices_the_parcel_with_the_rate_calculator() {
    let sink = HttpSink::start().await.unwrap();
    sink.reply_next(
        "200 OK",
        r#"{"Transaction":{"Reference1":"","Reference2":"","Reference3":"","Reference4":"","Reference5":""},
            "Notifications":[],"HasErrors":false,"TotalAmount":{"CurrencyCode":"SAR","Value":118.35},
            "RateDetails":{"Amount":95.0,"OtherAmount1":0,"OtherAmount2":0,"OtherAmount3":8.35,"OtherAmount4":0,
                           "OtherAmount5":15.0,"TotalAmountBeforeTax":118.35,"TaxAmount":0}}"#,
    );
    let rate = aramex(&sink).await.rate(&rate_request()).await.unwrap();
    assert_eq!(rate.total, Amount { amount: "118.35".into(), currency: "SAR".into() });
    let req = &sink.requests()[0];
    assert_eq!(req.path, "/ShippingAPI.V2/RateCalculator/Service_1_0.svc/json/CalculateRate");
    let body: Value = serde_json::from_str(&req.body).unwrap();
    let d = &body["ShipmentDetails"];
    assert_eq!(d["ActualWeight"]["Value"], 1.65, "both pieces");
    assert_eq!(d["NumberOfPieces"], 2);
    assert_eq!(d["ProductGroup"], "EXP");
    assert_eq!(d["Dimensions"]["Length"], 30.0);
    assert_eq!(d["Services"], "CODS");
    assert_eq!(body["DestinationAddress"]["CountryCode"], "SA");
    assert_eq!(body["PreferredCurrencyCode"], "SAR");
}

#[tokio::test]
async fn a_rate_refusal_or_a_reply_without_a_total_is_reported_as_such() {
    let sink = HttpSink::start().await.unwrap();
    sink.reply_next(
        "200 OK",
        r#"{"Transaction":null,"HasErrors":true,"TotalAmount":null,
            "Notifications":[{"Code":"ERR61","Message":"Destination City is not covered"}]}"#,
    );
    let e = aramex(&sink).await.rate(&rate_request()).await.unwrap_err();
    assert!(
        matches!(&e, CarrierError::Rejected { code, message, .. } if code == "ERR61" && message.contains("not covered")),
        "{e:?}"
    );
    sink.reply_next("200 OK", r#"{"HasErrors":false,"Notifications":[]}"#);
    let e = aramex(&sink).await.rate(&rate_request()).await.unwrap_err();
    assert!(matches!(&e, CarrierError::Malformed(m) if m.contains("TotalAmount")), "{e:?}");
    sink.reply_next(
        "200 OK",
        r#"{"HasErrors":false,"Notifications":[],"TotalAmount":{"CurrencyCode":"SAR","Value":-3}}"#,
    );
    let e = aramex(&sink).await.rate(&rate_request()).await.unwrap_err();
    assert!(matches!(e, CarrierError::Malformed(_)), "{e:?}");
}

/// The Aramex protocol server of the sandbox carrier, and a connector on it with a pickup point or without.
async fn front(pickup: bool) -> (String, Aramex) {
    let cfg = codflow_sandbox_carrier::Config { api_key: Some("k".into()), ..Default::default() };
    let server = codflow_sandbox_carrier::start(cfg).await.unwrap();
    let mut a = account();
    a.user_name = codflow_sandbox_carrier::aramex::TEST_USER.into();
    a.password = codflow_sandbox_carrier::aramex::TEST_PASSWORD.into();
    if pickup {
        a.pickup = codflow_connectors::carriers::aramex::PickupPoint {
            contact: Some("Dubai DC".into()),
            phone: Some("+97141234567".into()),
            address: Some("JAFZA South, Warehouse 7".into()),
            city: Some("Dubai".into()),
            postcode: None,
        };
    }
    let base = format!("{server}/aramex/ShippingAPI.V2");
    (server.clone(), Aramex::new(&base, a, Duration::from_secs(3)).unwrap())
}

async fn pickups(server: &str) -> Vec<Value> {
    let r = reqwest::Client::new().get(format!("{server}/v1/_stats")).header("X-Api-Key", "k").send().await.unwrap();
    r.json::<Value>().await.unwrap()["aramex_pickups"].as_array().cloned().unwrap_or_default()
}

fn manifest(reference: &str, tracking_numbers: Vec<String>) -> codflow_connectors::carriers::ManifestRequest {
    codflow_connectors::carriers::ManifestRequest {
        reference: reference.into(),
        bag_numbers: Vec::new(),
        tracking_numbers,
        weight_g: 2500,
    }
}

#[tokio::test]
async fn a_pickup_books_aramex_collection_of_the_waybills_and_can_be_cancelled() {
    let (server, aramex) = front(true).await;
    let mut waybills = Vec::new();
    for key in ["shp_a", "shp_b"] {
        let mut r = request();
        r.idempotency_key = key.into();
        waybills.push(aramex.book(&r).await.unwrap().tracking_number);
    }
    let m = aramex.submit_manifest(&manifest("hnd_1", waybills.clone())).await.unwrap();
    let (id, guid) = m.number.split_once('/').expect("ID/GUID");
    assert!(!id.is_empty() && guid.len() == 36, "{}", m.number);
    assert_eq!(m.parcels, 2);
    let booked = pickups(&server).await;
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0]["id"], id);
    assert_eq!(booked[0]["reference"], "hnd_1");
    assert_eq!(booked[0]["waybills"], serde_json::json!(waybills));
    assert_eq!(booked[0]["cancelled"], false);

    aramex.cancel_pickup(&m.number, "bags not ready").await.unwrap();
    assert_eq!(pickups(&server).await[0]["cancelled"], true);
    match aramex.cancel_pickup("1/00000000-0000-4000-8000-000000000000", "x").await {
        Err(CarrierError::Rejected { code, .. }) => assert_eq!(code, "ERR36"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_pickup_without_a_pickup_point_or_with_a_stranger_waybill_is_refused_and_books_nothing() {
    let (server, aramex) = front(false).await;
    let n = aramex.book(&request()).await.unwrap().tracking_number;
    match aramex.submit_manifest(&manifest("hnd_1", vec![n.clone()])).await {
        Err(e @ CarrierError::Rejected { .. }) => {
            assert!(!e.retryable());
            assert!(e.to_string().contains("pickup_contact"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let (server2, aramex) = front(true).await;
    match aramex.submit_manifest(&manifest("hnd_2", vec!["46099999999".into()])).await {
        Err(CarrierError::Rejected { code, message, .. }) => {
            assert_eq!(code, "ERR35");
            assert!(message.contains("46099999999"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(pickups(&server).await.is_empty() && pickups(&server2).await.is_empty());
}
