//! Orders in from shops: signed webhooks, the inbox and its replays, the sync rules, pulls from every platform
//! against a local server answering as the platform documents, and the stock push.

use std::time::{Duration, Instant};

use codflow_connectors::sales::inbound::sign;
use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, spawn_app};
use crate::shop_fake::{Fake, Reply};

codflow_store::on_both_engines!(
    a_signed_shopify_order_becomes_one_cod_order_for_the_shops_total,
    an_update_before_its_create_makes_one_order_and_a_cancellation_gives_the_stock_back,
    a_bad_order_is_kept_with_its_error_and_holds_up_nothing,
    woocommerce_orders_arrive_once_paid_or_cash_on_delivery,
    a_shopify_pull_follows_the_cursor_and_waits_out_a_throttle,
    woocommerce_magento_amazon_and_ebay_pulls_read_every_page,
    stock_levels_are_pushed_to_shops_only_when_they_change,
    the_shops_page_shows_failed_deliveries_and_replays_one_with_its_form_token,
    a_pull_that_meets_garbage_or_refused_credentials_keeps_what_it_stored_and_says_why,
);

const SECRET: &str = "whsec_test_0123456789";

async fn shop(app: &TestApp, code: &str, platform: &str, base: &str, credentials: Value) {
    let body = json!({"code": code, "platform": platform, "name": code, "base_url": base,
        "credentials": credentials, "webhook_secret": SECRET, "push_fulfilment": false});
    json_of(app.post("/api/v1/stores", &body).await, StatusCode::CREATED).await;
}

async fn shopify_shop(app: &TestApp, base: &str) {
    shop(app, "shop-sa", "shopify", base, json!({"access_token": "shpat_test"})).await;
}

/// An order as Shopify's `orders/create` webhook delivers it (the REST resource's shape).
fn shopify_order(id: u64, updated_at: &str, sku: &str, quantity: i64) -> Value {
    let money = |a: &str| json!({"shop_money": {"amount": a, "currency_code": "SAR"}, "presentment_money": {"amount": a, "currency_code": "SAR"}});
    json!({
        "id": id, "name": format!("#{}", id % 10000), "order_number": id % 10000,
        "created_at": "2026-11-20T10:00:00+03:00", "processed_at": "2026-11-20T10:00:00+03:00",
        "updated_at": updated_at, "cancelled_at": null, "cancel_reason": null,
        "currency": "SAR", "presentment_currency": "SAR", "financial_status": "pending",
        "payment_gateway_names": ["Cash on Delivery (COD)"], "test": false,
        "email": "noura@example.com", "contact_email": "noura@example.com", "phone": null,
        "customer": {"id": 207119551, "first_name": "Noura", "last_name": "Al-Qahtani", "email": "noura@example.com", "phone": "+966501234567"},
        "shipping_address": {"first_name": "Noura", "last_name": "Al-Qahtani", "name": "Noura Al-Qahtani",
            "address1": "King Fahd Rd 12", "address2": null, "city": "Riyadh", "province": "Riyadh Province",
            "province_code": "01", "zip": "12211", "country": "Saudi Arabia", "country_code": "SA", "phone": "0501234567"},
        "line_items": [{"id": 466157049, "variant_id": 39072856, "title": "Lamp", "sku": sku, "quantity": quantity,
            "price": "59.00", "price_set": money("59.00"), "grams": 420, "requires_shipping": true,
            "total_discount": "0.00", "discount_allocations": [{"amount": "10.00", "amount_set": money("10.00"), "discount_application_index": 0}],
            "duties": [], "tax_lines": []}],
        "shipping_lines": [{"id": 369256396, "title": "Standard", "price": "25.00", "price_set": money("25.00")}],
        "total_price": format!("{}.00", 59 * quantity - 10 + 25), "current_total_price": format!("{}.00", 59 * quantity - 10 + 25),
        "total_tax": "0.00", "taxes_included": false
    })
}

/// The same order as the GraphQL Admin API's `orders` query (2026-10) answers it.
fn shopify_gql_order(id: u64, updated_at: &str, sku: &str, quantity: i64) -> Value {
    let money = |a: &str| json!({"shopMoney": {"amount": a, "currencyCode": "SAR"}, "presentmentMoney": {"amount": a, "currencyCode": "SAR"}});
    let total = format!("{}.00", 59 * quantity - 10 + 25);
    json!({
        "legacyResourceId": id.to_string(), "name": format!("#{}", id % 10000),
        "createdAt": "2026-11-20T07:00:00Z", "processedAt": "2026-11-20T07:00:00Z", "updatedAt": updated_at,
        "cancelledAt": null, "currencyCode": "SAR", "presentmentCurrencyCode": "SAR", "displayFinancialStatus": "PENDING",
        "paymentGatewayNames": ["Cash on Delivery (COD)"], "email": "noura@example.com", "phone": null,
        "customer": {"firstName": "Noura", "lastName": "Al-Qahtani"},
        "shippingAddress": {"firstName": "Noura", "lastName": "Al-Qahtani", "name": "Noura Al-Qahtani",
            "address1": "King Fahd Rd 12", "address2": null, "city": "Riyadh", "province": "Riyadh Province",
            "zip": "12211", "countryCodeV2": "SA", "phone": "0501234567"},
        "billingAddress": null,
        "shippingLines": {"nodes": [{"originalPriceSet": money("25.00")}]},
        "totalPriceSet": money(&total), "currentTotalPriceSet": money(&total),
        "lineItems": {"pageInfo": {"hasNextPage": false, "endCursor": null}, "nodes": [
            {"sku": sku, "quantity": quantity, "requiresShipping": true, "originalUnitPriceSet": money("59.00"),
             "discountAllocations": [{"allocatedAmountSet": money("10.00")}], "duties": []}]}
    })
}

/// The GraphQL request a fake Shopify received: its query and variables.
fn graphql_of(body: &str) -> (String, Value) {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    (v["query"].as_str().unwrap_or("").to_owned(), v["variables"].clone())
}

async fn hook(app: &TestApp, platform: &str, topic: &str, id: &str, body: &Value) -> reqwest::Response {
    let raw = serde_json::to_vec(body).unwrap();
    let sig = sign(SECRET.as_bytes(), &raw);
    let (t, i, s) = match platform {
        "shopify" => ("x-shopify-topic", "x-shopify-webhook-id", "x-shopify-hmac-sha256"),
        _ => ("x-wc-webhook-topic", "x-wc-webhook-delivery-id", "x-wc-webhook-signature"),
    };
    let code = if platform == "shopify" { "shop-sa" } else { "woo-ae" };
    app.client
        .post(app.url(&format!("/api/v1/webhooks/{platform}/{code}")))
        .header(t, topic)
        .header(i, id)
        .header(s, sig)
        .header("content-type", "application/json")
        .body(raw)
        .send()
        .await
        .unwrap()
}

async fn process(app: &TestApp) -> u64 {
    let r = json_of(app.post("/api/v1/inbox/process", &json!({})).await, StatusCode::OK).await;
    r["processed"].as_u64().unwrap()
}

async fn orders_of(app: &TestApp, store: &str) -> Vec<Value> {
    let page = json_of(app.get(&format!("/api/v1/orders?store={store}&limit=500")).await, StatusCode::OK).await;
    page["items"].as_array().unwrap().clone()
}

async fn inbox(app: &TestApp, store: &str) -> Vec<Value> {
    let page = json_of(app.get(&format!("/api/v1/stores/{store}/inbox?limit=500")).await, StatusCode::OK).await;
    page["items"].as_array().unwrap().clone()
}

async fn a_signed_shopify_order_becomes_one_cod_order_for_the_shops_total(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    shopify_shop(&app, "https://shop-sa.myshopify.com").await;
    let order = shopify_order(450789469, "2026-11-20T10:00:05+03:00", "LAMP-01", 2);
    let r = json_of(hook(&app, "shopify", "orders/create", "wh-1", &order).await, StatusCode::OK).await;
    assert_eq!(r["status"], "stored");
    // The worker needs no prompting: the order appears within the deadline.
    let deadline = Instant::now() + Duration::from_secs(20);
    let made = loop {
        let o = orders_of(&app, "shop-sa").await;
        if !o.is_empty() {
            break o;
        }
        assert!(Instant::now() < deadline, "the delivery was not processed: {:?}", inbox(&app, "shop-sa").await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(made.len(), 1);
    let o = &made[0];
    assert_eq!(o["external_id"], "450789469");
    assert_eq!(o["payment_method"], "cod");
    // 2 × 59.00 less a 10.00 discount, plus 25.00 shipping: what the buyer owes and the courier collects.
    assert_eq!(o["total"], json!({"amount": "133.00", "currency": "SAR"}));
    assert_eq!(o["cod_amount"], json!({"amount": "133.00", "currency": "SAR"}));
    assert_eq!(o["lines"][0]["unit_price"]["amount"], "54.00");
    assert_eq!(o["shipping_address"]["country"], "SA");
    assert_eq!(o["shipping_address"]["city"], "Riyadh");
    assert_eq!(o["status"], "allocated");
    assert_eq!(app.stock("LAMP-01").await["reserved"], 2);

    // The same delivery again (Shopify retries on a slow answer): recognised, nothing stored twice.
    let r = json_of(hook(&app, "shopify", "orders/create", "wh-1", &order).await, StatusCode::OK).await;
    assert_eq!(r["status"], "duplicate");
    assert_eq!(inbox(&app, "shop-sa").await.len(), 1);
    // A replay under a new delivery id: stored, seen to be the version already applied.
    json_of(hook(&app, "shopify", "orders/updated", "wh-2", &order).await, StatusCode::OK).await;
    process(&app).await;
    let rows = inbox(&app, "shop-sa").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["outcome"], "unchanged", "{rows:?}");
    assert_eq!(rows[1]["outcome"], "created");
    // What the mapping decided is kept with the delivery.
    let notes = rows[1]["notes"].as_str().unwrap();
    assert!(notes.contains("25.00 SAR beyond the lines") && notes.contains("Shopify order #9469"), "{notes}");
    assert_eq!(orders_of(&app, "shop-sa").await.len(), 1);
    assert_eq!(app.stock("LAMP-01").await["reserved"], 2, "no second reservation");

    // A wrong signature, or none: 401 and nothing stored.
    let raw = serde_json::to_vec(&shopify_order(9, "2026-11-21T10:00:00Z", "LAMP-01", 1)).unwrap();
    for sig in [Some(sign(b"another-secret-entirely", &raw)), None] {
        let mut rq = app
            .client
            .post(app.url("/api/v1/webhooks/shopify/shop-sa"))
            .header("x-shopify-webhook-id", "wh-forged")
            .body(raw.clone());
        if let Some(s) = sig {
            rq = rq.header("x-shopify-hmac-sha256", s);
        }
        json_of(rq.send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    }
    assert_eq!(inbox(&app, "shop-sa").await.len(), 2);
    // The WooCommerce endpoint does not take a Shopify shop's deliveries, and a shop that does not exist is
    // answered exactly as a bad signature is, so codes cannot be probed.
    let forged = json_of(
        app.client
            .post(app.url("/api/v1/webhooks/shopify/shop-sa"))
            .header("x-shopify-hmac-sha256", sign(b"another-secret-entirely", &raw))
            .body(raw.clone())
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    for path in [
        "/api/v1/webhooks/woocommerce/shop-sa",
        "/api/v1/webhooks/shopify/no-such-shop",
        "/api/v1/webhooks/shopify/BAD%20CODE",
    ] {
        let r = app
            .client
            .post(app.url(path))
            .header("x-shopify-hmac-sha256", sign(b"another-secret-entirely", &raw))
            .body(raw.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(r, StatusCode::UNAUTHORIZED).await, forged, "{path}");
    }
    let status = json_of(app.get("/api/v1/stores/shop-sa/sync").await, StatusCode::OK).await;
    assert_eq!(
        (status["pending"].as_i64(), status["done"].as_i64(), status["failed"].as_i64()),
        (Some(0), Some(2), Some(0))
    );
    assert_eq!(status["lag_seconds"], 0);

    // Done deliveries are forgotten after 30 days; the order stays.
    let mut tx = app.store.begin().await.unwrap();
    let aged = codflow_store::testing::exec(
        &mut tx,
        "UPDATE channel_inbox SET processed_at = processed_at - 31 * 86400000000 WHERE delivery_id = 'wh-1'",
    )
    .await
    .unwrap();
    codflow_store::commit(tx).await.unwrap();
    assert_eq!(aged, 1);
    let pruned = codflow_app::App::new(app.store.clone()).channels().prune_inbox().await.unwrap();
    assert_eq!(pruned, 1);
    let rows = inbox(&app, "shop-sa").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["delivery_id"], "wh-2");
    assert_eq!(orders_of(&app, "shop-sa").await.len(), 1);
}

async fn an_update_before_its_create_makes_one_order_and_a_cancellation_gives_the_stock_back(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    shopify_shop(&app, "https://shop-sa.myshopify.com").await;
    let created = shopify_order(1001, "2026-11-20T10:00:05Z", "LAMP-01", 1);
    let mut updated = shopify_order(1001, "2026-11-20T10:30:00Z", "LAMP-01", 3);
    updated["note"] = json!("buyer asked for three");
    // The update overtakes the create.
    json_of(hook(&app, "shopify", "orders/updated", "u-1", &updated).await, StatusCode::OK).await;
    json_of(hook(&app, "shopify", "orders/create", "c-1", &created).await, StatusCode::OK).await;
    process(&app).await;
    let orders = orders_of(&app, "shop-sa").await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["lines"][0]["quantity"], 3, "the newer version wins");
    let rows = inbox(&app, "shop-sa").await;
    let outcome = |id: &str| rows.iter().find(|r| r["delivery_id"] == id).unwrap()["outcome"].clone();
    assert_eq!((outcome("u-1"), outcome("c-1")), (json!("created"), json!("stale")));
    assert_eq!(app.stock("LAMP-01").await["reserved"], 3);

    let mut cancelled = updated.clone();
    cancelled["updated_at"] = json!("2026-11-20T11:00:00Z");
    cancelled["cancelled_at"] = json!("2026-11-20T11:00:00Z");
    cancelled["cancel_reason"] = json!("customer");
    json_of(hook(&app, "shopify", "orders/cancelled", "x-1", &cancelled).await, StatusCode::OK).await;
    process(&app).await;
    let o = &orders_of(&app, "shop-sa").await[0];
    assert_eq!(o["status"], "cancelled");
    assert_eq!(app.stock("LAMP-01").await["reserved"], 0, "the reservation is released");
    let history =
        json_of(app.get(&format!("/api/v1/orders/{}/history", o["id"].as_str().unwrap())).await, StatusCode::OK).await;
    let text = history.to_string();
    assert!(text.contains("cancelled in the shop") && text.contains("shop:shop-sa"), "{text}");

    // Once the parcel is booked, a cancellation cannot simply release stock: a person must stop the parcel.
    json_of(
        hook(&app, "shopify", "orders/create", "c-2", &shopify_order(1002, "2026-11-20T10:00:00Z", "LAMP-01", 1)).await,
        StatusCode::OK,
    )
    .await;
    process(&app).await;
    let mut tx = app.store.begin().await.unwrap();
    let booked = codflow_store::testing::book_allocated(
        &mut tx,
        "sandbox",
        "SBX-SA-STD",
        "SBX",
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    codflow_store::commit(tx).await.unwrap();
    assert_eq!(booked, 1);
    let mut gone = shopify_order(1002, "2026-11-20T12:00:00Z", "LAMP-01", 1);
    gone["cancelled_at"] = json!("2026-11-20T12:00:00Z");
    json_of(hook(&app, "shopify", "orders/cancelled", "x-2", &gone).await, StatusCode::OK).await;
    process(&app).await;
    let o = orders_of(&app, "shop-sa").await.into_iter().find(|o| o["external_id"] == "1002").unwrap();
    assert_eq!(o["status"], "allocated", "a booked order is not cancelled behind the carrier's back");
    let tasks =
        json_of(app.get(&format!("/api/v1/tasks?order={}", o["id"].as_str().unwrap())).await, StatusCode::OK).await;
    let kinds: Vec<&str> = tasks["items"].as_array().unwrap().iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["cancelled_at_shop"], "{tasks}");
    let rows = inbox(&app, "shop-sa").await;
    assert_eq!(rows.iter().find(|r| r["delivery_id"] == "x-2").unwrap()["outcome"], "cancel_task_opened");
}

async fn a_bad_order_is_kept_with_its_error_and_holds_up_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    shopify_shop(&app, "https://shop-sa.myshopify.com").await;
    // Signed but not JSON.
    let raw = b"{\"id\": 77, \"line_items\": [".to_vec();
    let r = app
        .client
        .post(app.url("/api/v1/webhooks/shopify/shop-sa"))
        .header("x-shopify-webhook-id", "bad-1")
        .header("x-shopify-hmac-sha256", sign(SECRET.as_bytes(), &raw))
        .body(raw)
        .send()
        .await
        .unwrap();
    json_of(r, StatusCode::OK).await;
    json_of(
        hook(&app, "shopify", "orders/create", "unk-1", &shopify_order(2002, "2026-11-20T10:00:00Z", "NEW-SKU", 1))
            .await,
        StatusCode::OK,
    )
    .await;
    json_of(
        hook(&app, "shopify", "orders/create", "ok-1", &shopify_order(2003, "2026-11-20T10:00:00Z", "LAMP-01", 1))
            .await,
        StatusCode::OK,
    )
    .await;
    process(&app).await;
    let orders = orders_of(&app, "shop-sa").await;
    assert_eq!(orders.len(), 1, "the good order went through");
    assert_eq!(orders[0]["external_id"], "2003");
    let status = json_of(app.get("/api/v1/stores/shop-sa/sync").await, StatusCode::OK).await;
    assert_eq!(status["failed"], 2);
    let errors = status["errors"].as_array().unwrap();
    let unknown = errors.iter().find(|e| e["delivery_id"] == "unk-1").unwrap();
    assert!(unknown["error"].as_str().unwrap().contains("lines[0].sku: unknown SKU NEW-SKU"), "{unknown}");
    assert_eq!(unknown["external_id"], "2002");
    let broken = errors.iter().find(|e| e["delivery_id"] == "bad-1").unwrap();
    assert!(broken["error"].as_str().unwrap().contains("EOF"), "{broken}");
    // The payload is kept as it came.
    let one =
        json_of(app.get(&format!("/api/v1/inbox/{}", broken["id"].as_str().unwrap())).await, StatusCode::OK).await;
    assert_eq!(one["body"], "{\"id\": 77, \"line_items\": [");

    // Once the product exists, a replay of the failed delivery makes the order.
    app.post(
        "/api/v1/products",
        &json!({"sku": "NEW-SKU", "title": "Lamp", "unit_weight_g": 420, "unit_cost": {"amount": "12.00", "currency": "CNY"},
                "hs_code": "940540", "origin_country": "CN", "category": "home"}),
    )
    .await;
    let again = json_of(
        app.post(&format!("/api/v1/inbox/{}/retry", unknown["id"].as_str().unwrap()), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((again["status"].as_str(), again["outcome"].as_str()), (Some("done"), Some("created")), "{again}");
    assert_eq!(orders_of(&app, "shop-sa").await.len(), 2);
    // A delivery that is not failed cannot be retried.
    let e = json_of(
        app.post(&format!("/api/v1/inbox/{}/retry", unknown["id"].as_str().unwrap()), &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(e["code"], "not_failed");
    let bad =
        json_of(app.get("/api/v1/stores/shop-sa/inbox?status=maybe").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(bad["errors"][0]["path"], "status");
}

/// An order as WooCommerce's `order.created` webhook and `GET /wp-json/wc/v3/orders` give it.
fn woo_order(id: u64, status: &str, method: &str, modified: &str, sku: &str) -> Value {
    json!({
        "id": id, "parent_id": 0, "number": id.to_string(), "order_key": "wc_order_58d2d042d1d", "created_via": "checkout",
        "status": status, "currency": "AED", "date_created": "2026-11-20T14:00:00", "date_created_gmt": "2026-11-20T10:00:00",
        "date_modified": modified, "date_modified_gmt": modified, "discount_total": "0.00", "shipping_total": "15.00",
        "total": "114.50", "total_tax": "4.50", "prices_include_tax": false, "customer_id": 0,
        "billing": {"first_name": "Omar", "last_name": "Haddad", "company": "", "address_1": "Sheikh Zayed Rd 1",
            "address_2": "", "city": "Dubai", "state": "DU", "postcode": "", "country": "AE", "email": "omar@example.com", "phone": "+971501234567"},
        "shipping": {"first_name": "Omar", "last_name": "Haddad", "company": "", "address_1": "Sheikh Zayed Rd 1",
            "address_2": "Apt 4", "city": "Dubai", "state": "DU", "postcode": "", "country": "AE", "phone": ""},
        "payment_method": method, "payment_method_title": if method == "cod" { "Cash on delivery" } else { "Credit card" },
        "line_items": [{"id": 315, "name": "Lamp", "product_id": 93, "variation_id": 0, "quantity": 2, "tax_class": "",
            "subtotal": "90.00", "subtotal_tax": "4.50", "total": "90.00", "total_tax": "4.50", "sku": sku, "price": 45}],
        "shipping_lines": [{"id": 316, "method_title": "Flat rate", "method_id": "flat_rate", "total": "15.00", "total_tax": "0.00"}],
        "fee_lines": [], "coupon_lines": []
    })
}

async fn woocommerce_orders_arrive_once_paid_or_cash_on_delivery(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    shop(
        &app,
        "woo-ae",
        "woocommerce",
        "https://woo.example.com",
        json!({"consumer_key": "ck_x", "consumer_secret": "cs_x"}),
    )
    .await;
    // Saving a webhook in WooCommerce sends a form-encoded ping first, unsigned as WooCommerce sends it.
    let ping = b"webhook_id=12".to_vec();
    let r = app
        .client
        .post(app.url("/api/v1/webhooks/woocommerce/woo-ae"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(ping)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(r, StatusCode::OK).await["status"], "ping");
    json_of(
        hook(
            &app,
            "woocommerce",
            "order.created",
            "d-1",
            &woo_order(727, "processing", "cod", "2026-11-20T10:00:00", "LAMP-01"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // A card order not paid yet waits; once paid it comes in.
    json_of(
        hook(
            &app,
            "woocommerce",
            "order.created",
            "d-2",
            &woo_order(728, "pending", "stripe", "2026-11-20T10:00:00", "LAMP-01"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    process(&app).await;
    let orders = orders_of(&app, "woo-ae").await;
    assert_eq!(orders.len(), 1);
    let o = &orders[0];
    assert_eq!((o["external_id"].as_str(), o["payment_method"].as_str()), (Some("727"), Some("cod")));
    assert_eq!(o["cod_amount"], json!({"amount": "114.50", "currency": "AED"}));
    // Line totals with their tax: 2 × 47.25; the 15.00 shipping becomes the fee.
    assert_eq!(o["lines"][0]["unit_price"]["amount"], "47.25");
    assert_eq!(o["shipping_address"]["line2"], "Apt 4");
    json_of(
        hook(
            &app,
            "woocommerce",
            "order.updated",
            "d-3",
            &woo_order(728, "processing", "stripe", "2026-11-20T10:05:00", "LAMP-01"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    process(&app).await;
    let orders = orders_of(&app, "woo-ae").await;
    assert_eq!(orders.len(), 2);
    let paid = orders.iter().find(|o| o["external_id"] == "728").unwrap();
    assert_eq!(
        (paid["payment_method"].as_str(), paid["cod_amount"]["amount"].as_str()),
        (Some("prepaid"), Some("0.00"))
    );
    let rows = inbox(&app, "woo-ae").await;
    assert_eq!(rows.len(), 3, "the ping is not stored");
    assert!(rows.iter().any(|r| r["delivery_id"] == "d-2" && r["outcome"] == "not_ready"), "{rows:?}");
    // Deleting an order in WooCommerce sends its id alone: the order is cancelled and its stock released.
    let reserved = app.stock("LAMP-01").await["reserved"].as_i64().unwrap();
    json_of(hook(&app, "woocommerce", "order.deleted", "d-4", &json!({"id": 727})).await, StatusCode::OK).await;
    process(&app).await;
    let gone = orders_of(&app, "woo-ae").await.into_iter().find(|o| o["external_id"] == "727").unwrap();
    assert_eq!(gone["status"], "cancelled");
    assert_eq!(app.stock("LAMP-01").await["reserved"].as_i64().unwrap(), reserved - 2);
}

async fn a_shopify_pull_follows_the_cursor_and_waits_out_a_throttle(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 20)]).await;
    let fake = Fake::start(|r| {
        if r.headers.get("x-shopify-access-token").and_then(|v| v.to_str().ok()) != Some("shpat_test") {
            return Reply::status(401);
        }
        if (r.method.as_str(), r.path.as_str()) != ("POST", "/admin/api/2026-10/graphql.json") {
            return Reply::status(404);
        }
        let (query, vars) = graphql_of(&r.body);
        if !query.contains("orders(first: 15, after: $after, query: $query, sortKey: UPDATED_AT)") {
            return Reply::json(json!({"errors": [{"message": "Field 'orderz' doesn't exist on type 'QueryRoot'"}]}));
        }
        // The first call is refused: the cost bucket is empty.
        if r.seen == 0 {
            return Reply::json(json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": {"cost": {"requestedQueryCost": 752, "actualQueryCost": null,
                    "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 742, "restoreRate": 100.0}}}}));
        }
        match vars["after"].as_str() {
            None => Reply::json(json!({"data": {"orders": {"pageInfo": {"hasNextPage": true, "endCursor": "eyJsYXN0X2lkIjo1MDAyfQ"},
                "nodes": [shopify_gql_order(5001, "2026-11-20T10:00:00Z", "LAMP-01", 1), shopify_gql_order(5002, "2026-11-20T11:00:00Z", "LAMP-01", 1)]}}})),
            Some("eyJsYXN0X2lkIjo1MDAyfQ") => Reply::json(json!({"data": {"orders": {"pageInfo": {"hasNextPage": false, "endCursor": "eyJsYXN0X2lkIjo1MDAzfQ"},
                "nodes": [shopify_gql_order(5003, "2026-11-20T12:00:00Z", "LAMP-01", 2)]}}})),
            Some(_) => Reply::json(json!({"errors": [{"message": "Invalid cursor"}]})),
        }
    })
    .await;
    shopify_shop(&app, &fake.url).await;
    let r = json_of(app.post("/api/v1/stores/shop-sa/sync", &json!({})).await, StatusCode::OK).await;
    assert_eq!(r, json!({"pages": 2, "orders": 3, "new": 3, "rate_limited": 1, "error": null}));
    let orders = orders_of(&app, "shop-sa").await;
    let mut ids: Vec<&str> = orders.iter().map(|o| o["external_id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, ["5001", "5002", "5003"]);
    // Pulled orders read as their webhooks would: the buyer, the COD amount after the discount and shipping.
    let two = orders.iter().find(|o| o["external_id"] == "5003").unwrap();
    assert_eq!((two["payment_method"].as_str(), two["cod_amount"]["amount"].as_str()), (Some("cod"), Some("133.00")));
    let calls = fake.calls();
    let (_, first) = graphql_of(&calls[1].3);
    assert!(first["query"].as_str().unwrap().starts_with("updated_at:>='"), "{first}");
    assert!(first["after"].is_null());
    let (_, second) = graphql_of(&calls[2].3);
    assert_eq!(second["after"], "eyJsYXN0X2lkIjo1MDAyfQ");

    // A second pull finds the same versions: nothing new, nothing twice.
    let r = json_of(app.post("/api/v1/stores/shop-sa/sync", &json!({})).await, StatusCode::OK).await;
    assert_eq!(r["new"], 0);
    assert_eq!(orders_of(&app, "shop-sa").await.len(), 3);
    let s = json_of(app.get("/api/v1/stores/shop-sa/sync").await, StatusCode::OK).await;
    assert_eq!(s["pulled_until"], "2026-11-20T12:00:00Z");
    assert_eq!(s["pulled_total"], 3);
    assert!(s["last_success_at"].is_string() && s["last_error"].is_null(), "{s}");
    // The next pull starts ten minutes before the newest change seen.
    let (_, third) = graphql_of(&fake.calls().last().unwrap().3);
    assert_eq!(third["query"], "updated_at:>='2026-11-20T11:50:00Z'");
}

async fn woocommerce_magento_amazon_and_ebay_pulls_read_every_page(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 50)]).await;
    let fake = Fake::start(|r| match r.path.as_str() {
        "/wp-json/wc/v3/orders" => {
            let page: u32 = r.query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let o = woo_order(800 + u64::from(page), "processing", "cod", "2026-11-20T10:00:00", "LAMP-01");
            Reply::json(json!([o])).header("x-wp-total", "2").header("x-wp-totalpages", "2")
        }
        "/rest/V1/orders" => {
            let page: u64 = r.query.get("searchCriteria[currentPage]").and_then(|p| p.parse().ok()).unwrap_or(1);
            let items: Vec<Value> = (0..if page == 1 { 100 } else { 1 }).map(|i| magento_order(3000 + page * 1000 + i)).collect();
            Reply::json(json!({"items": items, "search_criteria": {}, "total_count": 101}))
        }
        "/auth/o2/token" => {
            assert!(r.body.contains("grant_type=refresh_token") && r.body.contains("client_id=amzn-client"), "{}", r.body);
            Reply::json(json!({"access_token": "Atza|token", "token_type": "bearer", "expires_in": 3600}))
        }
        "/orders/v0/orders" => {
            assert_eq!(r.headers.get("x-amz-access-token").unwrap(), "Atza|token");
            match r.query.get("NextToken") {
                None => Reply::json(json!({"payload": {"Orders": [amazon_order("402-0000001-0000001")], "NextToken": "tok2"}})),
                Some(_) => Reply::json(json!({"payload": {"Orders": [amazon_order("402-0000002-0000002")]}})),
            }
        }
        p if p.starts_with("/orders/v0/orders/") && p.ends_with("/orderItems") => Reply::json(json!({"payload": {
            "AmazonOrderId": "x", "OrderItems": [{"ASIN": "B00TEST", "SellerSKU": "LAMP-01", "OrderItemId": "1", "Title": "Lamp",
                "QuantityOrdered": 2, "QuantityShipped": 0, "ItemPrice": {"CurrencyCode": "SAR", "Amount": "118.00"},
                "ItemTax": {"CurrencyCode": "SAR", "Amount": "0.00"}, "PromotionDiscount": {"CurrencyCode": "SAR", "Amount": "8.00"}}]}})),
        p if p.starts_with("/orders/v0/orders/") && p.ends_with("/address") => Reply::json(json!({"payload": {"AmazonOrderId": "x",
            "ShippingAddress": {"Name": "Faisal", "AddressLine1": "Olaya St 5", "City": "Riyadh", "StateOrRegion": "Riyadh",
                "PostalCode": "12211", "CountryCode": "SA", "Phone": "+966501112222"}}})),
        "/identity/v1/oauth2/token" => {
            assert!(r.headers.get("authorization").unwrap().to_str().unwrap().starts_with("Basic "));
            Reply::json(json!({"access_token": "v^1.1#ebay", "expires_in": 7200, "token_type": "User Access Token"}))
        }
        "/sell/fulfillment/v1/order" => {
            // eBay documents UTC with milliseconds: `lastmodifieddate:[2016-03-21T08:25:43.511Z..]`.
            let f = &r.query["filter"];
            let since = f.strip_prefix("lastmodifieddate:[").and_then(|x| x.strip_suffix("..]")).unwrap_or("");
            assert!(since.len() == 24 && since.ends_with('Z') && since.as_bytes()[19] == b'.', "{f}");
            let offset: u64 = r.query.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
            Reply::json(json!({"href": "...", "total": 2, "limit": 200, "offset": offset,
                "orders": [ebay_order(&format!("12-0000{offset}-00001"))]}))
        }
        _ => Reply::status(404),
    })
    .await;
    shop(&app, "woo-ae", "woocommerce", &fake.url, json!({"consumer_key": "ck_x", "consumer_secret": "cs_x"})).await;
    shop(&app, "mage", "magento", &fake.url, json!({"access_token": "mage-token"})).await;
    let amazon_creds = json!({"refresh_token": "Atzr|r", "client_id": "amzn-client", "client_secret": "s",
        "marketplace_id": "A17E79C6D8DWNP", "token_url": format!("{}/auth/o2/token", fake.url)});
    shop(&app, "amz-sa", "amazon", &fake.url, amazon_creds).await;
    let ebay_creds = json!({"refresh_token": "v^1.1#r", "client_id": "ebay-client", "client_secret": "s",
        "token_url": format!("{}/identity/v1/oauth2/token", fake.url)});
    shop(&app, "ebay-sa", "ebay", &fake.url, ebay_creds).await;

    let woo = json_of(app.post("/api/v1/stores/woo-ae/sync", &json!({})).await, StatusCode::OK).await;
    assert_eq!((woo["pages"].as_u64(), woo["new"].as_u64()), (Some(2), Some(2)), "{woo}");
    let mage = json_of(app.post("/api/v1/stores/mage/sync", &json!({})).await, StatusCode::OK).await;
    assert_eq!((mage["pages"].as_u64(), mage["orders"].as_u64()), (Some(2), Some(101)), "{mage}");
    let amz = json_of(app.post("/api/v1/stores/amz-sa/sync", &json!({})).await, StatusCode::OK).await;
    assert_eq!((amz["pages"].as_u64(), amz["new"].as_u64()), (Some(2), Some(2)), "{amz}");
    let ebay = json_of(app.post("/api/v1/stores/ebay-sa/sync", &json!({})).await, StatusCode::OK).await;
    assert_eq!((ebay["pages"].as_u64(), ebay["new"].as_u64()), (Some(2), Some(2)), "{ebay}");

    assert_eq!(orders_of(&app, "woo-ae").await.len(), 2, "{:?}", inbox(&app, "woo-ae").await);
    let mage_orders = orders_of(&app, "mage").await;
    assert_eq!(mage_orders.len(), 101);
    let m = mage_orders.iter().find(|o| o["external_id"] == "4000").unwrap();
    assert_eq!((m["payment_method"].as_str(), m["cod_amount"]["amount"].as_str()), (Some("cod"), Some("79.90")));
    let amz_orders = orders_of(&app, "amz-sa").await;
    assert_eq!(amz_orders.len(), 2, "{:?}", inbox(&app, "amz-sa").await);
    let a = &amz_orders[0];
    assert_eq!((a["payment_method"].as_str(), a["total"]["amount"].as_str()), (Some("cod"), Some("125.00")));
    assert_eq!(a["lines"][0]["unit_price"]["amount"], "55.00");
    assert_eq!(a["shipping_address"]["line1"], "Olaya St 5");
    let ebay_orders = orders_of(&app, "ebay-sa").await;
    assert_eq!(ebay_orders.len(), 2);
    assert_eq!(ebay_orders[0]["cod_amount"], json!({"amount": "64.00", "currency": "SAR"}));
    // Magento's pages are numbered; the second request asked for page 2.
    let pages: Vec<String> = fake
        .calls()
        .iter()
        .filter(|c| c.1 == "/rest/V1/orders")
        .map(|c| c.2["searchCriteria[currentPage]"].clone())
        .collect();
    assert_eq!(pages, ["1", "2"]);
}

/// An order as Magento's `GET /rest/V1/orders` lists it.
fn magento_order(id: u64) -> Value {
    json!({
        "entity_id": id, "increment_id": format!("0000{id}"), "state": "processing", "status": "processing",
        "created_at": "2026-11-20 10:00:00", "updated_at": "2026-11-20 10:05:00",
        "order_currency_code": "SAR", "base_currency_code": "SAR", "grand_total": 79.9, "base_grand_total": 79.9,
        "shipping_amount": 20, "customer_email": "sara@example.com", "customer_firstname": "Sara", "customer_lastname": "Ali",
        "payment": {"method": "cashondelivery", "amount_ordered": 79.9},
        "items": [
            {"item_id": 1, "sku": "LAMP-01", "qty_ordered": 1, "price": 59.9, "row_total": 59.9, "discount_amount": 0, "tax_amount": 0, "product_type": "configurable"},
            {"item_id": 2, "sku": "LAMP-01", "qty_ordered": 1, "price": 0, "row_total": 0, "discount_amount": 0, "tax_amount": 0, "product_type": "simple", "parent_item_id": 1}
        ],
        "billing_address": {"firstname": "Sara", "lastname": "Ali", "street": ["Tahlia St 3"], "city": "Jeddah", "region": "Makkah",
            "postcode": "23435", "country_id": "SA", "telephone": "+966502223333", "email": "sara@example.com"},
        "extension_attributes": {"shipping_assignments": [{"shipping": {"address": {"firstname": "Sara", "lastname": "Ali",
            "street": ["Tahlia St 3", "Floor 2"], "city": "Jeddah", "region": "Makkah", "postcode": "23435", "country_id": "SA",
            "telephone": "+966502223333"}, "method": "flatrate_flatrate"}}]}
    })
}

/// A merchant-fulfilled order as SP-API getOrders lists it.
fn amazon_order(id: &str) -> Value {
    json!({"AmazonOrderId": id, "PurchaseDate": "2026-11-20T10:00:00Z", "LastUpdateDate": "2026-11-20T10:10:00Z",
        "OrderStatus": "Unshipped", "FulfillmentChannel": "MFN", "SalesChannel": "Amazon.sa", "ShipServiceLevel": "Std",
        "OrderTotal": {"CurrencyCode": "SAR", "Amount": "125.00"}, "NumberOfItemsShipped": 0, "NumberOfItemsUnshipped": 2,
        "PaymentMethod": "COD", "PaymentMethodDetails": ["COD"], "MarketplaceId": "A17E79C6D8DWNP", "OrderType": "StandardOrder",
        "IsPrime": false, "ShippingAddress": {"City": "Riyadh", "StateOrRegion": "Riyadh", "CountryCode": "SA", "PostalCode": "12211"}})
}

/// An order as eBay's getOrders lists it.
fn ebay_order(id: &str) -> Value {
    json!({"orderId": id, "legacyOrderId": "1234", "creationDate": "2026-11-20T10:00:00.000Z", "lastModifiedDate": "2026-11-20T10:01:00.000Z",
        "orderFulfillmentStatus": "NOT_STARTED", "orderPaymentStatus": "PENDING", "sellerId": "seller",
        "buyer": {"username": "buyer1", "buyerRegistrationAddress": {"fullName": "Khalid", "email": "k@example.com", "primaryPhone": {"phoneNumber": "+966503334444"}}},
        "pricingSummary": {"priceSubtotal": {"value": "54.00", "currency": "SAR"}, "deliveryCost": {"value": "10.00", "currency": "SAR"}, "total": {"value": "64.00", "currency": "SAR"}},
        "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
        "paymentSummary": {"payments": [], "totalDueSeller": {"value": "64.00", "currency": "SAR"}},
        "fulfillmentStartInstructions": [{"fulfillmentInstructionsType": "SHIP_TO", "shippingStep": {"shipTo": {"fullName": "Khalid",
            "contactAddress": {"addressLine1": "Prince Sultan Rd 9", "city": "Jeddah", "stateOrProvince": "Makkah", "postalCode": "23435", "countryCode": "SA"},
            "primaryPhone": {"phoneNumber": "+966503334444"}, "email": "k@example.com"}, "shippingServiceCode": "Standard"}}],
        "lineItems": [{"lineItemId": "1", "legacyItemId": "9", "sku": "LAMP-01", "title": "Lamp", "quantity": 1,
            "lineItemCost": {"value": "59.00", "currency": "SAR"}, "appliedPromotions": [{"discountAmount": {"value": "5.00", "currency": "SAR"}, "promotionId": "p"}],
            "total": {"value": "64.00", "currency": "SAR"}}]})
}

async fn stock_levels_are_pushed_to_shops_only_when_they_change(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10), ("MUG-02", 4)]).await;
    let fake = Fake::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/admin/api/2026-10/graphql.json") => {
            let (query, _) = graphql_of(&r.body);
            if query.contains("productVariants(first: 250") {
                Reply::json(json!({"data": {"productVariants": {"pageInfo": {"hasNextPage": false, "endCursor": null}, "nodes": [
                    {"sku": "LAMP-01", "inventoryItem": {"id": "gid://shopify/InventoryItem/808950810"}},
                    {"sku": "OTHER", "inventoryItem": {"id": "gid://shopify/InventoryItem/808950811"}}]}}}))
            } else if query.contains("locations(first: 50)") {
                Reply::json(json!({"data": {"locations": {"nodes": [
                    {"id": "gid://shopify/Location/655441490", "isActive": false},
                    {"id": "gid://shopify/Location/655441491", "isActive": true}]}}}))
            } else if query.contains("inventorySetQuantities(input: $input) @idempotent(key: $key)") {
                Reply::json(json!({"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/1"}, "userErrors": []}}}))
            } else {
                Reply::json(json!({"errors": [{"message": "unexpected query"}]}))
            }
        }
        ("GET", "/wp-json/wc/v3/products") => match r.query.get("sku").map(String::as_str) {
            Some("MUG-02") => Reply::json(json!([{"id": 794, "sku": "MUG-02", "manage_stock": true, "stock_quantity": 0}])),
            _ => Reply::json(json!([])),
        },
        ("PUT", "/wp-json/wc/v3/products/794") => Reply::json(json!({"id": 794, "stock_quantity": 4})),
        _ => Reply::status(404),
    })
    .await;
    for (code, platform, creds) in [
        ("shop-sa", "shopify", json!({"access_token": "shpat_test"})),
        ("woo-ae", "woocommerce", json!({"consumer_key": "ck_x", "consumer_secret": "cs_x"})),
    ] {
        let body =
            json!({"code": code, "platform": platform, "name": code, "base_url": fake.url, "credentials": creds});
        json_of(app.post("/api/v1/stores", &body).await, StatusCode::CREATED).await;
    }
    let r = json_of(app.post("/api/v1/stores/stock-push", &json!({})).await, StatusCode::OK).await;
    assert_eq!(r["shop-sa"], json!({"pushed": 1, "unknown": 1, "failed": 0}));
    assert_eq!(r["woo-ae"], json!({"pushed": 1, "unknown": 1, "failed": 0}));
    let is_set = |c: &crate::shop_fake::Call| graphql_of(&c.3).0.contains("inventorySetQuantities");
    let sets: Vec<Value> = fake
        .calls()
        .iter()
        .filter(|c| is_set(c) || c.0 == "PUT")
        .map(|c| serde_json::from_str(&c.3).unwrap())
        .collect();
    // Shopify: the available quantity at the active location, absolute, under a fresh idempotency key.
    let vars = &sets[0]["variables"];
    assert_eq!(
        vars["input"],
        json!({"name": "available", "reason": "correction", "quantities": [{"inventoryItemId": "gid://shopify/InventoryItem/808950810",
            "locationId": "gid://shopify/Location/655441491", "quantity": 10, "changeFromQuantity": null}]})
    );
    assert!(vars["key"].as_str().is_some_and(|k| k.starts_with("codflow-808950810-655441491-10-")), "{vars}");
    assert_eq!(sets[1], json!({"manage_stock": true, "stock_quantity": 4}));
    // Nothing changed: nothing sent.
    let r = json_of(app.post("/api/v1/stores/stock-push", &json!({})).await, StatusCode::OK).await;
    assert_eq!(r["shop-sa"]["pushed"], 0);
    // An order reserves two lamps: the shops hear of the eight left.
    let mut o = crate::helpers::order("S-1", "LAMP-01", 2);
    o["store"] = json!("manual");
    json_of(app.post("/api/v1/orders", &o).await, StatusCode::CREATED).await;
    let r = json_of(app.post("/api/v1/stores/stock-push", &json!({})).await, StatusCode::OK).await;
    assert_eq!(r["shop-sa"]["pushed"], 1);
    let last = fake.calls().into_iter().rfind(is_set).unwrap().3;
    assert_eq!(graphql_of(&last).1["input"]["quantities"][0]["quantity"], 8);
}

async fn the_shops_page_shows_failed_deliveries_and_replays_one_with_its_form_token(engine: Engine) {
    use crate::console::{browser, hidden_csrf, log_in, page, user};
    use reqwest::header::COOKIE;
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    shopify_shop(&app, "https://shop-sa.myshopify.com").await;
    json_of(
        hook(&app, "shopify", "orders/create", "unk-1", &shopify_order(3001, "2026-11-20T10:00:00Z", "MUG-9", 1)).await,
        StatusCode::OK,
    )
    .await;
    process(&app).await;
    user(&app, "olga", codflow_domain::Role::Ops).await;
    let c = browser();
    let (_, session) = log_in(&app, &c, "olga", "long enough secret").await;
    let cookie = format!("codflow_session={}", session.unwrap());
    let (status, list) = page(&c, &app, &cookie, "/shops").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("href=\"/shops/shop-sa\""), "{list}");
    let (_, csv) = page(&c, &app, &cookie, "/shops?format=csv").await;
    assert!(csv.lines().nth(1).unwrap().starts_with("shop-sa,shop-sa,shopify,true,0,1,0,"), "{csv}");
    let (_, one) = page(&c, &app, &cookie, "/shops/shop-sa?status=failed").await;
    assert!(one.contains("unknown SKU MUG-9") && one.contains(">Replay</button>"), "{one}");
    let id = one.split("name=\"id\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    // Without the form's token: refused.
    let r = c
        .post(app.url("/shops/shop-sa/retry"))
        .header(COOKIE, &cookie)
        .form(&[("csrf", "forged"), ("id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.post(
        "/api/v1/products",
        &json!({"sku": "MUG-9", "title": "Mug", "unit_weight_g": 300, "unit_cost": {"amount": "5.00", "currency": "CNY"},
                "hs_code": "691200", "origin_country": "CN", "category": "home"}),
    )
    .await;
    let csrf = hidden_csrf(&one);
    let r = c
        .post(app.url("/shops/shop-sa/retry"))
        .header(COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str()), ("id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(orders_of(&app, "shop-sa").await.len(), 1);
    let (_, after) = page(&c, &app, &cookie, "/shops/shop-sa").await;
    assert!(after.contains("failed 0 ·") && after.contains("created"), "{after}");
}

async fn a_pull_that_meets_garbage_or_refused_credentials_keeps_what_it_stored_and_says_why(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let fake = Fake::start(|r| match (r.path.as_str(), r.query.get("page").map(String::as_str)) {
        ("/wp-json/wc/v3/orders", Some("1")) if r.seen == 0 => Reply::status(429).header("retry-after", "0"),
        ("/wp-json/wc/v3/orders", Some("1")) => {
            Reply::json(json!([woo_order(901, "processing", "cod", "2026-11-20T10:00:00", "LAMP-01")]))
                .header("x-wp-totalpages", "2")
        }
        // The second page is cut off mid-answer.
        ("/wp-json/wc/v3/orders", Some("2")) => Reply::json(json!([])).with_body("[{\"id\": 902, \"status\""),
        ("/admin/api/2026-10/graphql.json", _) => Reply::status(401),
        _ => Reply::status(404),
    })
    .await;
    shop(&app, "woo-ae", "woocommerce", &fake.url, json!({"consumer_key": "ck_x", "consumer_secret": "cs_x"})).await;
    shopify_shop(&app, &fake.url).await;
    let r = json_of(app.post("/api/v1/stores/woo-ae/sync", &json!({})).await, StatusCode::OK).await;
    assert_eq!(
        (r["pages"].as_u64(), r["new"].as_u64(), r["rate_limited"].as_u64()),
        (Some(1), Some(1), Some(1)),
        "{r}"
    );
    assert!(r["error"].as_str().unwrap().contains("could not be read"), "{r}");
    // What the first page brought is kept and made into its order; the shop's status says what went wrong.
    assert_eq!(orders_of(&app, "woo-ae").await.len(), 1);
    let s = json_of(app.get("/api/v1/stores/woo-ae/sync").await, StatusCode::OK).await;
    assert!(s["last_error"].as_str().unwrap().contains("could not be read") && s["last_success_at"].is_null(), "{s}");
    let r = json_of(app.post("/api/v1/stores/shop-sa/sync", &json!({})).await, StatusCode::OK).await;
    assert!(r["error"].as_str().unwrap().contains("refused our credentials (HTTP 401)"), "{r}");
    // A shop without credentials cannot be pulled: a clear conflict.
    let body = json!({"code": "hooks-only", "platform": "shopify", "name": "Hooks only", "base_url": "https://h.example.com",
        "webhook_secret": SECRET, "push_fulfilment": false});
    json_of(app.post("/api/v1/stores", &body).await, StatusCode::CREATED).await;
    let e = json_of(app.post("/api/v1/stores/hooks-only/sync", &json!({})).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "store_not_pullable");
}
