//! Telling the shops: an order from a Shopify store and one from a WooCommerce store are booked with the
//! sandbox carrier process and delivered; each shop hears "shipped" (tracking number and link) and
//! "delivered" exactly once, through a rate limit, an outage and refused credentials fixed by a person.

use std::time::Duration as StdDuration;

use codflow_app::App;
use codflow_app::shops::{Push, PushFilter, PushStatus};
use codflow_connectors::sink::HttpSink;
use codflow_domain::shop::ShopInput;
use codflow_domain::{OrderId, ShopCode};
use codflow_store::Engine;
use serde_json::{Value, json};
use time::Duration;

use crate::booking::{ready_in, worker};
use crate::tracking::sandbox_with;

codflow_store::on_both_engines!(
    shop_orders_are_told_shipped_and_delivered_once_through_rate_limits_outages_and_bad_keys,
);

fn store(code: &str, platform: &str, url: String, credentials: &[(&str, &str)]) -> ShopInput {
    ShopInput {
        code: Some(code.into()),
        platform: Some(platform.into()),
        name: Some(format!("{platform} shop")),
        base_url: Some(url),
        credentials: Some(credentials.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
        ..Default::default()
    }
}

async fn pushes_of(app: &App, order: &str) -> Vec<Push> {
    let f = PushFilter { order: Some(OrderId::parse(order).unwrap()), ..Default::default() };
    let (mut items, _) = app.channels().channel_pushes(f, 100).await.unwrap();
    items.sort_by_key(|p| p.created_at);
    items
}

/// Runs the pusher (on a clock moved past any backoff) until `done` holds, within a deadline.
async fn push_until(app: &App, what: &str, done: impl AsyncFn() -> bool) {
    let deadline = std::time::Instant::now() + StdDuration::from_secs(60);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "{what} within the deadline");
        app.clock().advance(Duration::minutes(30));
        app.channels().push_channel_updates().await.unwrap();
    }
}

fn body(r: &codflow_connectors::sink::Request) -> Value {
    serde_json::from_str(&r.body).unwrap()
}

async fn shop_orders_are_told_shipped_and_delivered_once_through_rate_limits_outages_and_bad_keys(engine: Engine) {
    let model = json!({"default": {"delivery_rate": 1.0, "refusal_share": 0.0, "customs_hold_probability": 0.0,
        "loss_rate": 0.0, "transit_days": 2}});
    let sb = sandbox_with("1000000", Some(model)).await;
    let (_db, app, ids) =
        ready_in(engine, &sb.url, &[("shop-sa", "450789469"), ("woo-sa", "727"), ("manual", "M-1")]).await;
    let shopify = HttpSink::start().await.unwrap();
    let woo = HttpSink::start().await.unwrap();
    let s = store("shop-sa", "shopify", shopify.url(""), &[("access_token", "shpat_live")]);
    app.channels().put_shop(None, s, worker()).await.unwrap();
    let w = store("woo-sa", "woocommerce", woo.url(""), &[("consumer_key", "ck_old"), ("consumer_secret", "cs_old")]);
    app.channels().put_shop(None, w, worker()).await.unwrap();

    // Shopify rate-limits the first attempt and is down for the second; the third goes through.
    shopify.reply_next_with(
        "429 Too Many Requests",
        &[("Retry-After", "2.0")],
        r#"{"errors":"Exceeded 2 calls per second for api client."}"#,
    );
    shopify.reply_next("503 Service Unavailable", r#"{"errors":"Service Unavailable"}"#);
    shopify.reply_next(
        "200 OK",
        r#"{"data": {"order": {"fulfillments": [], "fulfillmentOrders": {"nodes": [{"id": "gid://shopify/FulfillmentOrder/1046000778", "status": "OPEN"}]}}}}"#,
    );
    shopify.reply_next(
        "200 OK",
        r#"{"data": {"fulfillmentCreate": {"fulfillment": {"id": "gid://shopify/Fulfillment/255858046"}, "userErrors": []}}}"#,
    );
    // WooCommerce refuses the keys it was given.
    woo.reply_next("401 Unauthorized", r#"{"code":"woocommerce_rest_cannot_view","message":"Sorry, you cannot list resources.","data":{"status":401}}"#);

    let mut tracking = Vec::new();
    for id in &ids {
        let s = app.fulfilment().book_order(&codflow_domain::OrderId::parse(id).unwrap(), worker()).await.unwrap();
        tracking.push((s.id.to_string(), s.tracking_number.clone().expect("booked")));
    }
    assert!(pushes_of(&app, &ids[2]).await.is_empty(), "a manual store's order has no shop to tell");

    push_until(&app, "Shopify hears the parcel shipped", async || {
        pushes_of(&app, &ids[0]).await.first().is_some_and(|p| p.status == PushStatus::Sent)
    })
    .await;
    let shipped = &pushes_of(&app, &ids[0]).await[0];
    assert_eq!((shipped.attempts, shipped.remote_ref.as_deref()), (3, Some("255858046")));
    let reqs = shopify.requests();
    let create =
        reqs.iter().find(|r| body(r)["query"].as_str().is_some_and(|q| q.contains("fulfillmentCreate("))).unwrap();
    let (shp, tn) = &tracking[0];
    assert_eq!(shipped.shipment_id.to_string(), *shp);
    let info = &body(create)["variables"]["fulfillment"]["trackingInfo"];
    assert_eq!(info["number"], tn.as_str());
    assert_eq!(info["url"], format!("http://localhost:8080/track/{tn}"));
    assert_eq!(create.header("X-Shopify-Access-Token"), Some("shpat_live"));

    // Refused credentials are not retried blindly: the update waits for a person.
    push_until(&app, "WooCommerce's refusal is dead-lettered", async || {
        pushes_of(&app, &ids[1]).await.first().is_some_and(|p| p.status == PushStatus::Dead)
    })
    .await;
    let dead = pushes_of(&app, &ids[1]).await.remove(0);
    assert!(dead.last_error.as_deref().is_some_and(|e| e.contains("credentials")), "{dead:?}");
    let history = app.intake().order_history(&codflow_domain::OrderId::parse(&ids[1]).unwrap()).await.unwrap();
    assert!(history.iter().any(|a| a.action == "channel_push_failed"), "{history:?}");
    // The seller puts in the right keys and retries.
    let fix = ShopInput {
        credentials: Some(
            [("consumer_key", "ck_new"), ("consumer_secret", "cs_new")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into(),
        ),
        ..Default::default()
    };
    app.channels().put_shop(Some("woo-sa"), fix, worker()).await.unwrap();
    woo.reply_next("200 OK", "[]");
    woo.reply_next("201 Created", r#"{"id": 281, "note": "shipped", "customer_note": true}"#);
    app.channels().retry_channel_push(&dead.id).await.unwrap();
    push_until(&app, "WooCommerce hears the parcel shipped", async || {
        pushes_of(&app, &ids[1]).await.first().is_some_and(|p| p.status == PushStatus::Sent)
    })
    .await;
    let note = woo.requests().into_iter().find(|r| r.method == "POST").unwrap();
    assert!(body(&note)["note"].as_str().unwrap().contains(&tracking[1].1));
    // The local shop speaks plain HTTP, so the keys go as OAuth 1.0a signatures in the query, not Basic.
    let key_of = |r: &codflow_connectors::sink::Request| {
        r.path.split(['?', '&']).find_map(|p| p.strip_prefix("oauth_consumer_key=")).map(str::to_owned)
    };
    assert!(note.header("Authorization").is_none(), "no Basic credentials over plain HTTP");
    assert!(note.path.contains("oauth_signature="), "{}", note.path);
    assert_eq!(key_of(&woo.requests()[0]).as_deref(), Some("ck_old"));
    assert_eq!(key_of(&note).as_deref(), Some("ck_new"), "the new keys are used");

    // The parcels arrive; each shop hears it once.
    shopify.reply_next(
        "200 OK",
        &json!({"data": {"order": {"fulfillments": [{"id": "gid://shopify/Fulfillment/255858046", "status": "SUCCESS",
            "displayStatus": "FULFILLED", "trackingInfo": [{"number": tn}]}], "fulfillmentOrders": {"nodes": []}}}})
        .to_string(),
    );
    shopify.reply_next(
        "200 OK",
        r#"{"data": {"fulfillmentEventCreate": {"fulfillmentEvent": {"id": "gid://shopify/FulfillmentEvent/944956395", "status": "DELIVERED"}, "userErrors": []}}}"#,
    );
    woo.reply_next("200 OK", "[]");
    woo.reply_next("201 Created", r#"{"id": 290, "note": "delivered", "customer_note": false}"#);
    woo.reply_next("200 OK", r#"{"id": 727, "status": "processing"}"#);
    woo.reply_next("200 OK", r#"{"id": 727, "status": "completed"}"#);
    let deadline = std::time::Instant::now() + StdDuration::from_secs(60);
    loop {
        app.clock().advance(Duration::hours(6));
        app.tracking().poll_tracking().await.unwrap();
        let mut delivered = 0;
        for (shp, _) in &tracking {
            delivered += usize::from(
                app.tracking()
                    .tracking(&codflow_domain::ShipmentId::parse(shp).unwrap())
                    .await
                    .unwrap()
                    .tracked
                    .progress
                    .status
                    .status_str()
                    == "delivered",
            );
        }
        if delivered == tracking.len() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the sandbox delivered every parcel");
    }
    push_until(&app, "both shops hear of the delivery", async || {
        let mut sent = 0;
        for id in &ids[..2] {
            let p = pushes_of(&app, id).await;
            sent += p.iter().filter(|p| p.event.as_str() == "delivered" && p.status == PushStatus::Sent).count();
        }
        sent == 2
    })
    .await;
    let event = shopify.requests().pop().unwrap();
    assert!(event.path.ends_with("/admin/api/2026-10/graphql.json"), "{}", event.path);
    let delivered = &body(&event)["variables"]["fulfillmentEvent"];
    assert_eq!(
        (delivered["fulfillmentId"].as_str(), delivered["status"].as_str()),
        (Some("gid://shopify/Fulfillment/255858046"), Some("DELIVERED"))
    );
    let complete = woo.requests().pop().unwrap();
    assert_eq!((complete.method.as_str(), body(&complete)), ("PUT", json!({"status": "completed"})));
    assert_eq!((shopify.scripted_left(), woo.scripted_left()), (0, 0));

    // Polling again and running the pusher again tells nobody anything twice.
    let (before_s, before_w) = (shopify.requests().len(), woo.requests().len());
    app.clock().advance(Duration::hours(6));
    app.tracking().poll_tracking().await.unwrap();
    assert_eq!(app.channels().push_channel_updates().await.unwrap(), 0);
    assert_eq!((shopify.requests().len(), woo.requests().len()), (before_s, before_w));
    let all = app
        .channels()
        .channel_pushes(PushFilter { store: Some(ShopCode::parse("shop-sa").unwrap()), ..Default::default() }, 100)
        .await
        .unwrap()
        .0;
    assert_eq!(all.len(), 2, "one shipped and one delivered update for the Shopify order");
    let shown: Vec<&str> = app
        .channels()
        .order_follow_up(&codflow_domain::OrderId::parse(&ids[0]).unwrap())
        .await
        .unwrap()
        .pushes
        .iter()
        .map(|p| p.event.as_str())
        .collect();
    assert_eq!(shown, ["shipped", "delivered"], "the order shows what its shop was told, in order");
}
