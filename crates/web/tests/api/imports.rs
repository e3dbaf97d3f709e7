use codflow_store::Engine;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::helpers::{TestApp, error_paths, json_of, spawn_app};

codflow_store::on_both_engines!(
    an_import_creates_each_order_once_even_when_run_twice,
    bad_rows_are_reported_with_line_and_field_while_good_orders_land,
    a_file_with_missing_columns_is_refused_whole,
    an_import_without_a_file_is_refused,
);

pub const HEADER: &str = "external_id,placed_at,currency,payment_method,buyer_name,buyer_phone,buyer_email,line1,line2,city,region,postal_code,country,sku,quantity,unit_price,shipping_fee";

fn row(ext: &str, sku: &str, qty: &str, price: &str) -> String {
    format!(
        "{ext},2026-11-20T10:00:00Z,SAR,cod,Noura,0501234567,,King Fahd Rd 12,,Riyadh,Riyadh Province,12211,SA,{sku},{qty},{price},10.00"
    )
}

async fn upload(app: &TestApp, csv: String) -> reqwest::Response {
    let form = Form::new().part("file", Part::text(csv).file_name("orders.csv")).text("store", "csv-shop");
    app.client.post(app.url("/api/v1/imports/orders")).bearer_auth(&app.admin).multipart(form).send().await.unwrap()
}

async fn an_import_creates_each_order_once_even_when_run_twice(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 100), ("LAMP-02", 100)]).await;
    let csv = [
        HEADER.to_owned(),
        row("A1", "LAMP-01", "2", "59.00"),
        row("A1", "LAMP-02", "1", "20.00"),
        row("A2", "LAMP-01", "1", "59.00"),
    ]
    .join("\n");
    let r = json_of(upload(&app, csv.clone()).await, StatusCode::OK).await;
    assert_eq!(
        (r["orders_in_file"].as_u64(), r["created"].as_u64(), r["allocated"].as_u64()),
        (Some(2), Some(2), Some(2))
    );
    let again = json_of(upload(&app, csv).await, StatusCode::OK).await;
    assert_eq!((again["created"].as_u64(), again["already_present"].as_u64()), (Some(0), Some(2)));
    let orders = app.all_orders().await;
    assert_eq!(orders.len(), 2);
    let a1 = orders.iter().find(|o| o["external_id"] == "A1").unwrap();
    assert_eq!(a1["store"], "csv-shop");
    assert_eq!(a1["lines"].as_array().unwrap().len(), 2);
    assert_eq!(a1["total"]["amount"], "148.00");
    assert_eq!(app.stock("LAMP-01").await["reserved"], 3);
}

async fn bad_rows_are_reported_with_line_and_field_while_good_orders_land(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 100)]).await;
    let csv = [
        HEADER.to_owned(),
        row("G1", "LAMP-01", "1", "59.00"),
        row("B1", "LAMP-01", "0", "59.00"),
        row("G2", "LAMP-01", "1", "59.00"),
        row("B2", "LAMP-01", "1", "59.005"),
        row("B2", "NOPE", "1", "1.00"),
        "B3,2026-11-20T10:00:00Z,SAR,cod,Noura,0501234567,,Rd 1,,Riyadh,,,SA,LAMP-01,1".to_owned(),
        row("G3", "LAMP-01", "1", "59.00"),
    ]
    .join("\n");
    let r = json_of(upload(&app, csv).await, StatusCode::OK).await;
    assert_eq!(r["created"], 3);
    assert_eq!(r["rejected"], 2);
    let errors: Vec<(u64, String)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(errors, vec![(3, "quantity".into()), (5, "unit_price".into()), (6, "sku".into()), (7, String::new())]);
    let mut ids: Vec<String> =
        app.all_orders().await.iter().map(|o| o["external_id"].as_str().unwrap().to_owned()).collect();
    ids.sort();
    assert_eq!(ids, vec!["G1", "G2", "G3"], "no part of a bad order landed");
}

async fn a_file_with_missing_columns_is_refused_whole(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 100)]).await;
    let csv = "external_id,currency,sku,quantity\nA1,SAR,LAMP-01,1\n".to_owned();
    let p: Value = json_of(upload(&app, csv).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&p), vec!["header"]);
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("missing column(s) placed_at"), "{p}");
    assert!(app.all_orders().await.is_empty());
}

async fn an_import_without_a_file_is_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    let form = Form::new().text("store", "x");
    let r = app
        .client
        .post(app.url("/api/v1/imports/orders"))
        .bearer_auth(&app.admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let p = json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&p), vec!["file"]);
}
