//! The Shopify and WooCommerce fulfilment adapters against a local server answering with the shapes of
//! Shopify's GraphQL Admin API (2026-10) fulfilment queries and mutations and WooCommerce's REST v3 order notes and orders.

use std::time::Duration;

use codflow_connectors::sales::{Fulfilment, FulfilmentPush, SalesError, Shopify, WooCommerce};
use codflow_connectors::sink::HttpSink;
use serde_json::{Value, json};
use time::macros::datetime;

fn parcel() -> Fulfilment {
    Fulfilment {
        order_ref: "450789469".into(),
        tracking_number: "SBX000123".into(),
        tracking_url: "https://track.example.com/track/SBX000123".into(),
        company: "Sandbox Express".into(),
        at: datetime!(2026-11-21 09:30 UTC),
    }
}

fn shopify(sink: &HttpSink) -> Shopify {
    Shopify::new(&sink.url(""), "shpat_test", Duration::from_secs(5)).unwrap()
}

fn body(r: &codflow_connectors::sink::Request) -> Value {
    serde_json::from_str(&r.body).unwrap()
}

const GRAPHQL: &str = "/admin/api/2026-10/graphql.json";

/// An order's fulfilments and fulfilment orders as the GraphQL Admin API answers `order(id:)`: a cancelled
/// fulfilment with the tracking number, and a live one whose display status is given (none: no fulfilment).
fn order_fulfilments(display_status: Option<&str>) -> String {
    let fulfillments = match display_status {
        None => json!([]),
        Some(d) => json!([
            {"id": "gid://shopify/Fulfillment/1022782888", "status": "CANCELLED", "displayStatus": "CANCELED",
             "trackingInfo": [{"number": "SBX000123"}]},
            {"id": "gid://shopify/Fulfillment/255858046", "status": "SUCCESS", "displayStatus": d,
             "trackingInfo": [{"number": "SBX000123"}]}
        ]),
    };
    json!({"data": {"order": {"fulfillments": fulfillments, "fulfillmentOrders": {"nodes": [
        {"id": "gid://shopify/FulfillmentOrder/1046000778", "status": "OPEN"},
        {"id": "gid://shopify/FulfillmentOrder/1046000779", "status": "CLOSED"}
    ]}}}, "extensions": {"cost": {"requestedQueryCost": 12, "actualQueryCost": 6}}})
    .to_string()
}

#[tokio::test]
async fn shopify_ships_the_open_fulfilment_orders_with_the_tracking_number_and_link() {
    let shop = HttpSink::start().await.unwrap();
    shop.reply_next("200 OK", &order_fulfilments(None));
    shop.reply_next(
        "200 OK",
        r#"{"data": {"fulfillmentCreate": {"fulfillment": {"id": "gid://shopify/Fulfillment/255858046"}, "userErrors": []}}}"#,
    );
    let r = shopify(&shop).shipped(&parcel()).await.unwrap();
    assert_eq!(r.remote_ref.as_deref(), Some("255858046"));
    assert!(!r.already_there);
    let reqs = shop.requests();
    let calls: Vec<(&str, &str)> = reqs.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
    assert_eq!(calls, [("POST", GRAPHQL), ("POST", GRAPHQL)]);
    assert!(reqs.iter().all(|r| r.header("X-Shopify-Access-Token") == Some("shpat_test")));
    assert_eq!(body(&reqs[0])["variables"], json!({"id": "gid://shopify/Order/450789469"}));
    let sent = body(&reqs[1]);
    assert!(sent["query"].as_str().unwrap().contains("fulfillmentCreate(fulfillment: $fulfillment)"));
    assert_eq!(
        sent["variables"],
        json!({"fulfillment": {
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1046000778"}],
            "trackingInfo": {"number": "SBX000123", "url": "https://track.example.com/track/SBX000123",
                             "company": "Sandbox Express"},
            "notifyCustomer": false}})
    );
}

#[tokio::test]
async fn shopify_replayed_shipping_finds_the_fulfilment_it_made_and_creates_nothing() {
    let shop = HttpSink::start().await.unwrap();
    shop.reply_next("200 OK", &order_fulfilments(Some("FULFILLED")));
    let r = shopify(&shop).shipped(&parcel()).await.unwrap();
    assert!(r.already_there);
    assert_eq!(r.remote_ref.as_deref(), Some("255858046"), "the live fulfilment, not the cancelled one");
    assert_eq!(shop.requests().len(), 1);
}

#[tokio::test]
async fn shopify_delivery_is_a_delivered_event_on_the_parcels_fulfilment_once() {
    let shop = HttpSink::start().await.unwrap();
    shop.reply_next("200 OK", &order_fulfilments(Some("IN_TRANSIT")));
    shop.reply_next(
        "200 OK",
        r#"{"data": {"fulfillmentEventCreate": {"fulfillmentEvent": {"id": "gid://shopify/FulfillmentEvent/944956395", "status": "DELIVERED"}, "userErrors": []}}}"#,
    );
    let r = shopify(&shop).delivered(&parcel()).await.unwrap();
    assert_eq!(r.remote_ref.as_deref(), Some("944956395"));
    let reqs = shop.requests();
    assert_eq!(
        body(&reqs[1])["variables"],
        json!({"fulfillmentEvent": {"fulfillmentId": "gid://shopify/Fulfillment/255858046", "status": "DELIVERED",
            "happenedAt": "2026-11-21T09:30:00Z"}})
    );

    // Shopify already shows it delivered: nothing is posted again.
    shop.reply_next("200 OK", &order_fulfilments(Some("DELIVERED")));
    assert!(shopify(&shop).delivered(&parcel()).await.unwrap().already_there);
    assert_eq!(shop.requests().len(), 3);

    // Delivered before the shipped update reached Shopify: retry later.
    shop.reply_next("200 OK", &order_fulfilments(None));
    let e = shopify(&shop).delivered(&parcel()).await.unwrap_err();
    assert!(matches!(e, SalesError::NotYet(_)) && e.retryable(), "{e:?}");
}

#[tokio::test]
async fn shopify_rate_limits_refused_tokens_outages_and_garbage_are_told_apart() {
    let shop = HttpSink::start().await.unwrap();
    // GraphQL's cost bucket is empty: HTTP 200 with a THROTTLED error.
    shop.reply_next(
        "200 OK",
        r#"{"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}], "extensions": {"cost": {"requestedQueryCost": 12, "actualQueryCost": null, "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 4, "restoreRate": 100.0}}}}"#,
    );
    let e = shopify(&shop).shipped(&parcel()).await.unwrap_err();
    // 12 points asked, 4 left, 100 restored a second: 80 ms until the query fits.
    let SalesError::RateLimited { retry_after: Some(wait) } = e.clone() else { panic!("{e:?}") };
    assert_eq!(wait.as_millis(), 80);
    assert!(e.retryable());

    shop.reply_next_with("429 Too Many Requests", &[("Retry-After", "2.0")], r#"{"errors":"Exceeded the rate limit"}"#);
    let e = shopify(&shop).shipped(&parcel()).await.unwrap_err();
    assert_eq!(e, SalesError::RateLimited { retry_after: Some(Duration::from_secs(2)) });

    shop.reply_next(
        "401 Unauthorized",
        r#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#,
    );
    let e = shopify(&shop).shipped(&parcel()).await.unwrap_err();
    assert_eq!(e, SalesError::Unauthorized(401));
    assert!(!e.retryable());

    shop.reply_next(
        "200 OK",
        r#"{"errors": [{"message": "Access denied for order field. Required access: `read_orders` access scope.", "extensions": {"code": "ACCESS_DENIED"}}]}"#,
    );
    assert_eq!(shopify(&shop).shipped(&parcel()).await.unwrap_err(), SalesError::Unauthorized(403));

    // An order the shop does not have comes back as null.
    shop.reply_next("200 OK", r#"{"data": {"order": null}}"#);
    assert_eq!(shopify(&shop).shipped(&parcel()).await.unwrap_err(), SalesError::UnknownOrder("450789469".into()));

    shop.reply_next("502 Bad Gateway", "<html>bad gateway</html>");
    assert!(matches!(shopify(&shop).shipped(&parcel()).await.unwrap_err(), SalesError::Unavailable(_)));

    shop.reply_next("200 OK", r#"{"data": {"order": {"fulfillments": [{"id": 7}]}}}"#);
    let e = shopify(&shop).shipped(&parcel()).await.unwrap_err();
    assert!(matches!(e, SalesError::Malformed(_)) && e.retryable(), "{e:?}");

    shop.reply_next("200 OK", &order_fulfilments(None));
    shop.reply_next(
        "200 OK",
        r#"{"data": {"fulfillmentCreate": {"fulfillment": null, "userErrors": [{"field": ["fulfillment", "lineItemsByFulfillmentOrder"], "message": "Fulfillment order 1046000778 has an unfulfillable status= closed."}]}}}"#,
    );
    let e = shopify(&shop).shipped(&parcel()).await.unwrap_err();
    assert!(
        matches!(&e, SalesError::Rejected { status: 422, message }
            if message == "fulfillment.lineItemsByFulfillmentOrder: Fulfillment order 1046000778 has an unfulfillable status= closed."),
        "{e:?}"
    );
    assert!(!e.retryable());
    assert_eq!(shop.scripted_left(), 0);

    let before = shop.requests().len();
    let not_shopify = Fulfilment { order_ref: "W-1001".into(), ..parcel() };
    let e = shopify(&shop).shipped(&not_shopify).await.unwrap_err();
    assert!(matches!(e, SalesError::Rejected { .. }) && !e.retryable(), "{e:?}");
    assert_eq!(shop.requests().len(), before, "nothing is sent for an order that cannot be Shopify's");
}

fn woo(sink: &HttpSink) -> WooCommerce {
    WooCommerce::new(&sink.url("/shop"), "ck_test", "cs_test", Duration::from_secs(5)).unwrap()
}

const SHIPPED_NOTE: &str =
    "Shipped with Sandbox Express, tracking number SBX000123: https://track.example.com/track/SBX000123";

#[tokio::test]
async fn woocommerce_shipping_is_one_customer_note_with_the_tracking_link() {
    let shop = HttpSink::start().await.unwrap();
    shop.reply_next("200 OK", r#"[{"id": 280, "author": "system", "note": "Order status changed from Pending payment to Processing.", "customer_note": false}]"#);
    shop.reply_next(
        "201 Created",
        &json!({"id": 281, "author": "system", "date_created": "2026-11-21T09:30:00", "note": SHIPPED_NOTE,
                "customer_note": true})
        .to_string(),
    );
    let r = woo(&shop).shipped(&parcel()).await.unwrap();
    assert_eq!(r.remote_ref.as_deref(), Some("281"));
    let reqs = shop.requests();
    assert_eq!((reqs[0].method.as_str(), bare(&reqs[0].path)), ("GET", "/shop/wp-json/wc/v3/orders/450789469/notes"));
    assert_eq!((reqs[1].method.as_str(), bare(&reqs[1].path)), ("POST", "/shop/wp-json/wc/v3/orders/450789469/notes"));
    assert_eq!(body(&reqs[1]), json!({"note": SHIPPED_NOTE, "customer_note": true}));
    // The local shop speaks plain HTTP: the keys go as OAuth 1.0a signatures, never as Basic credentials.
    assert!(reqs.iter().all(|r| r.header("Authorization").is_none()
        && r.path.contains("oauth_consumer_key=ck_test")
        && r.path.contains("oauth_signature_method=HMAC-SHA256")
        && r.path.contains("oauth_signature=")));

    // A retry after a lost answer sees its note and adds no second one (the buyer would get two emails).
    shop.reply_next("200 OK", &json!([{"id": 281, "note": SHIPPED_NOTE, "customer_note": true}]).to_string());
    let again = woo(&shop).shipped(&parcel()).await.unwrap();
    assert!(again.already_there);
    assert_eq!(shop.requests().len(), 3);
}

/// A request's path without its query (where OAuth 1.0a puts its signature).
fn bare(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

#[tokio::test]
async fn woocommerce_delivery_adds_a_private_note_and_completes_the_order() {
    let shop = HttpSink::start().await.unwrap();
    shop.reply_next("200 OK", "[]");
    shop.reply_next(
        "201 Created",
        r#"{"id": 290, "note": "Delivered by Sandbox Express, tracking number SBX000123", "customer_note": false}"#,
    );
    shop.reply_next("200 OK", r#"{"id": 450789469, "status": "processing", "currency": "SAR", "total": "128.00"}"#);
    shop.reply_next("200 OK", r#"{"id": 450789469, "status": "completed", "currency": "SAR", "total": "128.00"}"#);
    let r = woo(&shop).delivered(&parcel()).await.unwrap();
    assert_eq!(r.remote_ref.as_deref(), Some("290"));
    let reqs = shop.requests();
    assert_eq!(body(&reqs[1])["customer_note"], false);
    assert_eq!((reqs[3].method.as_str(), bare(&reqs[3].path)), ("PUT", "/shop/wp-json/wc/v3/orders/450789469"));
    assert_eq!(body(&reqs[3]), json!({"status": "completed"}));

    // A shop whose status hook refuses the change is reported, not taken as done.
    shop.reply_next("200 OK", r#"[{"id": 290, "note": "Delivered by Sandbox Express, tracking number SBX000123"}]"#);
    shop.reply_next("200 OK", r#"{"id": 450789469, "status": "on-hold"}"#);
    shop.reply_next("200 OK", r#"{"id": 450789469, "status": "on-hold"}"#);
    let e = woo(&shop).delivered(&parcel()).await.unwrap_err();
    assert!(matches!(e, SalesError::Rejected { .. }), "{e:?}");
}

#[tokio::test]
async fn a_shop_without_credentials_or_with_a_bad_address_is_refused_before_any_call() {
    assert!(matches!(Shopify::new("https://x.myshopify.com", "", Duration::from_secs(1)), Err(SalesError::Config(_))));
    assert!(matches!(Shopify::new("ftp://x", "t", Duration::from_secs(1)), Err(SalesError::Config(_))));
    assert!(matches!(WooCommerce::new("https://x", "ck", "", Duration::from_secs(1)), Err(SalesError::Config(_))));
}
