use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{json_of, order, spawn_app};

codflow_store::on_both_engines!(
    a_new_cod_order_is_approved_allocated_and_reserves_its_stock,
    posting_the_same_order_again_returns_it_without_a_second_reservation,
    an_order_no_warehouse_can_fill_is_backordered,
    a_prepaid_order_has_a_zero_cod_amount,
    cancelling_releases_the_reservation_and_cannot_be_undone,
    holding_an_allocated_order_releases_stock_and_approving_allocates_again,
    illegal_transitions_answer_409_and_change_nothing,
    every_state_change_is_in_the_order_history,
    lists_filter_by_status_country_and_store_and_page_with_cursors,
    an_unknown_order_id_is_404,
    a_sku_refused_as_unknown_is_accepted_once_its_product_exists,
);

async fn a_new_cod_order_is_approved_allocated_and_reserves_its_stock(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let o = json_of(app.post("/api/v1/orders", &order("1001", "LAMP-01", 2)).await, StatusCode::CREATED).await;
    assert!(o["id"].as_str().unwrap().starts_with("ord_"));
    assert_eq!(o["status"], "allocated");
    assert_eq!(o["total"], json!({"amount": "128.00", "currency": "SAR"}));
    assert_eq!(o["cod_amount"], json!({"amount": "128.00", "currency": "SAR"}));
    // With no channels set up the order has its warehouse and no channel, nothing ranked.
    assert_eq!(
        o["allocation"],
        json!({"warehouse": "SZ1", "channel": null, "strategy": null, "why": null, "ranking": [], "ineligible": []})
    );
    assert_eq!(o["review"]["decision"], "approve");
    assert_eq!(o["buyer"]["phone"], "+966501234567");
    assert_eq!(o["shipping_address"]["phone"], "+966501234567", "national numbers are normalised to E.164");
    assert_eq!(o["lines"][0]["line_total"], json!({"amount": "118.00", "currency": "SAR"}));
    let fetched =
        json_of(app.get(&format!("/api/v1/orders/{}", o["id"].as_str().unwrap())).await, StatusCode::OK).await;
    assert_eq!(without_follow_up(fetched), o);
    assert_eq!(app.stock("LAMP-01").await["reserved"], 2);
}

async fn posting_the_same_order_again_returns_it_without_a_second_reservation(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let first = json_of(app.post("/api/v1/orders", &order("1001", "LAMP-01", 2)).await, StatusCode::CREATED).await;
    let again = json_of(app.post("/api/v1/orders", &order("1001", "LAMP-01", 2)).await, StatusCode::OK).await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(app.stock("LAMP-01").await["reserved"], 2);
    assert_eq!(app.all_orders().await.len(), 1);
    // The same external id in another store is another order.
    let mut other = order("1001", "LAMP-01", 2);
    other["store"] = json!("shopify-sa");
    json_of(app.post("/api/v1/orders", &other).await, StatusCode::CREATED).await;
}

async fn a_sku_refused_as_unknown_is_accepted_once_its_product_exists(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    // LAMP-01 is remembered from this order on; MUG-02 must not be remembered as missing.
    json_of(app.post("/api/v1/orders", &order("1", "LAMP-01", 1)).await, StatusCode::CREATED).await;
    let mut both = order("2", "LAMP-01", 1);
    both["lines"]
        .as_array_mut()
        .unwrap()
        .push(json!({"sku": "MUG-02", "quantity": 1, "unit_price": {"amount": "5.00", "currency": "SAR"}}));
    let refused = json_of(app.post("/api/v1/orders", &both).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(refused.to_string().contains("unknown SKU MUG-02"), "{refused}");
    let r = app
        .post(
            "/api/v1/products",
            &json!({"sku": "MUG-02", "title": "Mug", "unit_weight_g": 300, "unit_cost": {"amount": "3.00", "currency": "CNY"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app.put("/api/v1/stock/SZ1/MUG-02", &json!({"on_hand": 5})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let o = json_of(app.post("/api/v1/orders", &both).await, StatusCode::CREATED).await;
    assert_eq!(o["status"], "allocated");
    assert_eq!(app.stock("MUG-02").await["reserved"], 1);
    assert_eq!(app.stock("LAMP-01").await["reserved"], 2);
}

async fn an_order_no_warehouse_can_fill_is_backordered(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 1)]).await;
    let o = json_of(app.post("/api/v1/orders", &order("1", "LAMP-01", 2)).await, StatusCode::CREATED).await;
    assert_eq!(o["status"], "backordered");
    assert_eq!(o["allocation"], json!(null));
    assert_eq!(app.stock("LAMP-01").await["reserved"], 0);
}

async fn a_prepaid_order_has_a_zero_cod_amount(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 5)]).await;
    let mut body = order("p1", "LAMP-01", 1);
    body["payment_method"] = json!("prepaid");
    let o = json_of(app.post("/api/v1/orders", &body).await, StatusCode::CREATED).await;
    assert_eq!(o["cod_amount"], json!({"amount": "0.00", "currency": "SAR"}));
    assert_eq!(o["total"], json!({"amount": "69.00", "currency": "SAR"}));
}

async fn cancelling_releases_the_reservation_and_cannot_be_undone(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 5)]).await;
    let o = json_of(app.post("/api/v1/orders", &order("1", "LAMP-01", 3)).await, StatusCode::CREATED).await;
    let id = o["id"].as_str().unwrap();
    let c = json_of(
        app.post(&format!("/api/v1/orders/{id}/cancel"), &json!({"reason": "buyer asked"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(c["status"], "cancelled");
    assert_eq!(c["allocation"], json!(null));
    assert_eq!(app.stock("LAMP-01").await, json!({"on_hand": 5, "reserved": 0, "available": 5}));
    let p = json_of(app.post(&format!("/api/v1/orders/{id}/approve"), &json!({})).await, StatusCode::CONFLICT).await;
    assert_eq!(p["code"], "illegal_transition");
    assert_eq!(app.stock("LAMP-01").await["reserved"], 0);
}

async fn holding_an_allocated_order_releases_stock_and_approving_allocates_again(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 5)]).await;
    let o = json_of(app.post("/api/v1/orders", &order("1", "LAMP-01", 3)).await, StatusCode::CREATED).await;
    let id = o["id"].as_str().unwrap();
    let h = json_of(
        app.post(&format!("/api/v1/orders/{id}/hold"), &json!({"reason": "address check"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(h["status"], "on_hold");
    assert_eq!(app.stock("LAMP-01").await["reserved"], 0);
    // An empty body is allowed: the reason is optional.
    let r =
        app.client.post(app.url(&format!("/api/v1/orders/{id}/approve"))).bearer_auth(&app.admin).send().await.unwrap();
    let a = json_of(r, StatusCode::OK).await;
    assert_eq!(a["status"], "allocated");
    assert_eq!(app.stock("LAMP-01").await["reserved"], 3);
}

async fn illegal_transitions_answer_409_and_change_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 5)]).await;
    let o = json_of(app.post("/api/v1/orders", &order("1", "LAMP-01", 1)).await, StatusCode::CREATED).await;
    let id = o["id"].as_str().unwrap();
    let p = json_of(app.post(&format!("/api/v1/orders/{id}/approve"), &json!({})).await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("allocated"), "{p}");
    let after = json_of(app.get(&format!("/api/v1/orders/{id}")).await, StatusCode::OK).await;
    assert_eq!(without_follow_up(after), o);
    assert_eq!(app.stock("LAMP-01").await["reserved"], 1);
}

async fn every_state_change_is_in_the_order_history(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 5)]).await;
    let o = json_of(app.post("/api/v1/orders", &order("1", "LAMP-01", 1)).await, StatusCode::CREATED).await;
    let id = o["id"].as_str().unwrap();
    json_of(app.post(&format!("/api/v1/orders/{id}/hold"), &json!({"reason": "call buyer"})).await, StatusCode::OK)
        .await;
    let h = json_of(app.get(&format!("/api/v1/orders/{id}/history")).await, StatusCode::OK).await;
    let steps: Vec<_> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["action"].as_str().unwrap(), a["to_status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        vec![("create", "pending_review"), ("review", "approved"), ("allocate", "allocated"), ("hold", "on_hold")]
    );
    let hold = &h[3];
    assert_eq!(hold["reason"], "call buyer");
    assert!(hold["actor"].as_str().unwrap().starts_with("token:tok_"), "{hold}");
    assert_eq!(h[1]["actor"], "rule:ruleset-v0", "with no rules the ruleset version decides");
}

async fn lists_filter_by_status_country_and_store_and_page_with_cursors(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 3)]).await;
    for i in 0..5 {
        let mut o = order(&format!("{i}"), "LAMP-01", 1);
        if i % 2 == 1 {
            o["shipping_address"]["country"] = json!("AE");
            o["buyer"]["phone"] = json!("+971501234567");
            o["shipping_address"]["phone"] = json!(null);
            o["store"] = json!("shopify-ae");
        }
        json_of(app.post("/api/v1/orders", &o).await, StatusCode::CREATED).await;
    }
    let count = |q: &'static str| {
        let app = &app;
        async move {
            json_of(app.get(&format!("/api/v1/orders?{q}")).await, StatusCode::OK).await["items"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(count("status=allocated").await, 3);
    assert_eq!(count("status=backordered").await, 2);
    assert_eq!(count("country=AE").await, 2);
    assert_eq!(count("store=shopify-ae&country=AE").await, 2);
    assert_eq!(count("store=manual&country=AE").await, 0);
    let page1 = json_of(app.get("/api/v1/orders?limit=2").await, StatusCode::OK).await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    assert_eq!(page1["items"][0]["external_id"], "4", "newest first");
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = json_of(app.get(&format!("/api/v1/orders?limit=2&cursor={cursor}")).await, StatusCode::OK).await;
    assert_eq!(page2["items"][0]["external_id"], "2");
    let page3 = json_of(
        app.get(&format!("/api/v1/orders?limit=2&cursor={}", page2["next_cursor"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page3["items"].as_array().unwrap().len(), 1);
    assert_eq!(page3["next_cursor"], json!(null));
    for bad in ["limit=0", "limit=501", "limit=x", "status=shipped", "country=XX", "cursor=nope"] {
        json_of(app.get(&format!("/api/v1/orders?{bad}")).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
}

async fn an_unknown_order_id_is_404(engine: Engine) {
    let app = spawn_app(engine).await;
    json_of(app.get("/api/v1/orders/ord_00000000000000000000000000").await, StatusCode::NOT_FOUND).await;
    json_of(app.get("/api/v1/orders/not-an-id").await, StatusCode::NOT_FOUND).await;
    json_of(app.post("/api/v1/orders/ord_00000000000000000000000000/cancel", &json!({})).await, StatusCode::NOT_FOUND)
        .await;
}

/// A single order also carries what followed its shipping; the rest must equal what was created.
fn without_follow_up(mut o: Value) -> Value {
    let m = o.as_object_mut().unwrap();
    assert_eq!(m.remove("delivery_instructions"), Some(json!([])));
    assert_eq!(m.remove("channel_updates"), Some(json!([])));
    o
}
