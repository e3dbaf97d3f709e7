use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{error_paths, json_of, order, spawn_app};

codflow_store::on_both_engines!(
    warehouses_are_created_once_per_code,
    products_are_created_read_and_replaced_by_sku,
    stock_reports_on_hand_reserved_and_available,
    stock_cannot_be_counted_below_what_orders_hold,
    unknown_warehouses_and_skus_are_404,
    every_stock_count_is_kept_with_who_counted_and_the_previous_figure,
    catalogue_lists_page_by_sku_and_code_with_limit_and_cursor,
);

async fn warehouses_are_created_once_per_code(engine: Engine) {
    let app = spawn_app(engine).await;
    let body = json!({"code": "SZ1", "name": "Shenzhen", "country": "CN"});
    let w = json_of(app.post("/api/v1/warehouses", &body).await, StatusCode::CREATED).await;
    assert_eq!(w["code"], "SZ1");
    assert!(w["id"].as_str().unwrap().starts_with("whs_"));
    let p = json_of(app.post("/api/v1/warehouses", &body).await, StatusCode::CONFLICT).await;
    assert_eq!(p["code"], "warehouse_exists");
    let p = json_of(
        app.post("/api/v1/warehouses", &json!({"code": "X", "name": "n", "country": "ZZ"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&p), vec!["country"]);
    let list = json_of(app.get("/api/v1/warehouses").await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn products_are_created_read_and_replaced_by_sku(engine: Engine) {
    let app = spawn_app(engine).await;
    let body = json!({"sku": "LAMP-01", "title": "Lamp", "unit_weight_g": 420, "unit_cost": {"amount": "12.50", "currency": "CNY"},
                      "hs_code": "9405.40", "origin_country": "CN", "category": "home"});
    let p = json_of(app.post("/api/v1/products", &body).await, StatusCode::CREATED).await;
    assert_eq!(p["unit_cost"], json!({"amount": "12.50", "currency": "CNY"}));
    assert_eq!(p["hs_code"], "940540");
    json_of(app.post("/api/v1/products", &body).await, StatusCode::CONFLICT).await;
    let mut changed = body.clone();
    changed["title"] = json!("Lamp, warm white");
    let u = json_of(app.put("/api/v1/products/LAMP-01", &changed).await, StatusCode::OK).await;
    assert_eq!(u["id"], p["id"], "an update keeps the product's id");
    assert_eq!(json_of(app.get("/api/v1/products/LAMP-01").await, StatusCode::OK).await["title"], "Lamp, warm white");
    let mut other = body.clone();
    other["sku"] = json!("LAMP-02");
    json_of(app.put("/api/v1/products/LAMP-02", &other).await, StatusCode::CREATED).await;
    let p = json_of(app.put("/api/v1/products/LAMP-03", &other).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&p), vec!["sku"]);
    let bad =
        json!({"sku": "bad sku", "title": "", "unit_weight_g": 0, "unit_cost": {"amount": "1.234", "currency": "CNY"}});
    let p = json_of(app.post("/api/v1/products", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&p), vec!["sku", "title", "unit_weight_g", "unit_cost.amount"]);
    assert_eq!(json_of(app.get("/api/v1/products").await, StatusCode::OK).await["items"].as_array().unwrap().len(), 2);
}

async fn stock_reports_on_hand_reserved_and_available(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    assert_eq!(app.stock("LAMP-01").await, json!({"on_hand": 10, "reserved": 0, "available": 10}));
    json_of(app.post("/api/v1/orders", &order("1", "LAMP-01", 3)).await, StatusCode::CREATED).await;
    assert_eq!(app.stock("LAMP-01").await, json!({"on_hand": 10, "reserved": 3, "available": 7}));
    let s = json_of(app.put("/api/v1/stock/SZ1/LAMP-01", &json!({"on_hand": 25})).await, StatusCode::OK).await;
    assert_eq!(s, json!({"on_hand": 25, "reserved": 3, "available": 22}));
}

async fn stock_cannot_be_counted_below_what_orders_hold(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    json_of(app.post("/api/v1/orders", &order("1", "LAMP-01", 4)).await, StatusCode::CREATED).await;
    let p = json_of(app.put("/api/v1/stock/SZ1/LAMP-01", &json!({"on_hand": 3})).await, StatusCode::CONFLICT).await;
    assert_eq!(p["code"], "stock_below_reserved");
    let p =
        json_of(app.put("/api/v1/stock/SZ1/LAMP-01", &json!({"on_hand": -1})).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(error_paths(&p), vec!["on_hand"]);
    assert_eq!(app.stock("LAMP-01").await["on_hand"], 10);
}

async fn unknown_warehouses_and_skus_are_404(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 1)]).await;
    json_of(app.get("/api/v1/stock/NOPE/LAMP-01").await, StatusCode::NOT_FOUND).await;
    json_of(app.get("/api/v1/stock/SZ1/NOPE").await, StatusCode::NOT_FOUND).await;
    json_of(app.put("/api/v1/stock/SZ1/NOPE", &json!({"on_hand": 1})).await, StatusCode::NOT_FOUND).await;
    json_of(app.get("/api/v1/products/NOPE").await, StatusCode::NOT_FOUND).await;
}

async fn every_stock_count_is_kept_with_who_counted_and_the_previous_figure(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let keeper = app.token(codflow_domain::Role::Warehouse).to_owned();
    let r = app
        .client
        .put(app.url("/api/v1/stock/SZ1/LAMP-01"))
        .bearer_auth(&keeper)
        .json(&json!({"on_hand": 7}))
        .send()
        .await
        .unwrap();
    json_of(r, StatusCode::OK).await;
    // A refused count leaves no trace.
    json_of(app.put("/api/v1/stock/SZ1/LAMP-01", &json!({"on_hand": -1})).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    let h = json_of(app.get("/api/v1/stock/SZ1/LAMP-01/history").await, StatusCode::OK).await;
    let counts: Vec<(Option<&str>, &str)> =
        h.as_array().unwrap().iter().map(|a| (a["from_status"].as_str(), a["to_status"].as_str().unwrap())).collect();
    assert_eq!(counts, vec![(Some("0"), "10"), (Some("10"), "7")]);
    assert!(h[1]["actor"].as_str().unwrap().starts_with("token:tok_"));
    assert_ne!(h[0]["actor"], h[1]["actor"], "the warehouse token made the second count");
    json_of(app.get("/api/v1/stock/SZ1/NOPE/history").await, StatusCode::NOT_FOUND).await;
}

async fn catalogue_lists_page_by_sku_and_code_with_limit_and_cursor(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("C-3", 1), ("A-1", 1), ("B-2", 1)]).await;
    json_of(
        app.post("/api/v1/warehouses", &json!({"code": "DXB1", "name": "Dubai", "country": "AE"})).await,
        StatusCode::CREATED,
    )
    .await;
    let skus = |page: &serde_json::Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|p| p["sku"].as_str().unwrap().to_owned()).collect()
    };
    let first = json_of(app.get("/api/v1/products?limit=2").await, StatusCode::OK).await;
    assert_eq!(skus(&first), vec!["A-1", "B-2"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json_of(app.get(&format!("/api/v1/products?limit=2&cursor={cursor}")).await, StatusCode::OK).await;
    assert_eq!(skus(&second), vec!["C-3"]);
    assert_eq!(second["next_cursor"], json!(null));
    let all = json_of(app.get("/api/v1/products").await, StatusCode::OK).await;
    assert_eq!(skus(&all).len(), 3, "the default limit is 50");

    let w = json_of(app.get("/api/v1/warehouses?limit=1").await, StatusCode::OK).await;
    assert_eq!(w["items"][0]["code"], "DXB1");
    let rest = json_of(
        app.get(&format!("/api/v1/warehouses?cursor={}", w["next_cursor"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rest["items"][0]["code"], "SZ1");

    for bad in ["/api/v1/products?limit=0", "/api/v1/products?cursor=no%20spaces", "/api/v1/warehouses?limit=501"] {
        json_of(app.get(bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
}
