//! Each bad request gets a clear problem+json naming the field, and writes nothing.

use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_paths, json_of, order, spawn_app};

codflow_store::on_both_engines!(
    malformed_json_is_refused,
    wrong_types_name_the_field,
    unknown_fields_are_refused_rather_than_ignored,
    an_unknown_sku_is_refused,
    zero_and_negative_quantities_are_refused,
    an_unknown_currency_is_refused,
    an_amount_with_more_decimals_than_the_currency_allows_is_refused,
    a_price_in_another_currency_than_the_order_is_refused,
    an_invalid_country_is_refused,
    a_missing_address_field_is_refused,
    a_body_over_the_limit_is_refused_with_413,
);

async fn assert_nothing_written(app: &TestApp) {
    assert!(app.all_orders().await.is_empty(), "a refused order was stored");
    assert_eq!(app.stock("LAMP-01").await["reserved"], 0);
}

async fn refused(engine: Engine, body: Value, expected_paths: &[&str]) -> Value {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let p = json_of(app.post("/api/v1/orders", &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(p["code"], "invalid_input");
    assert_eq!(p["status"], 422);
    assert_eq!(error_paths(&p), expected_paths, "{p}");
    for e in p["errors"].as_array().unwrap() {
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    assert_nothing_written(&app).await;
    p
}

async fn malformed_json_is_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    for body in ["{\"store\": ", "not json", "", "{\"store\": \"a\"", "{\"store\":\"a\"}}"] {
        let p = json_of(app.post_raw("/api/v1/orders", body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(p["code"], "malformed_json", "{body}: {p}");
    }
    assert_nothing_written(&app).await;
}

async fn wrong_types_name_the_field(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["lines"][0]["quantity"] = json!("two");
    let p = refused(engine, body, &["lines[0].quantity"]).await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("invalid type"), "{p}");
    let mut body = order("1", "LAMP-01", 1);
    body["shipping_fee"]["amount"] = json!(10.5);
    refused(engine, body, &["shipping_fee.amount"]).await;
}

async fn unknown_fields_are_refused_rather_than_ignored(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["lines"][0]["quantiy"] = json!(2);
    let p = refused(engine, body, &["lines[0].quantiy"]).await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("quantiy"), "{p}");
}

async fn an_unknown_sku_is_refused(engine: Engine) {
    let p = refused(engine, order("1", "NOPE-99", 1), &["lines[0].sku"]).await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("NOPE-99"));
}

async fn zero_and_negative_quantities_are_refused(engine: Engine) {
    refused(engine, order("1", "LAMP-01", 0), &["lines[0].quantity"]).await;
    refused(engine, order("1", "LAMP-01", -3), &["lines[0].quantity"]).await;
}

async fn an_unknown_currency_is_refused(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["currency"] = json!("XYZ");
    body["lines"][0]["unit_price"]["currency"] = json!("XYZ");
    body["shipping_fee"]["currency"] = json!("XYZ");
    refused(engine, body, &["currency", "lines[0].unit_price.currency", "shipping_fee.currency"]).await;
}

async fn an_amount_with_more_decimals_than_the_currency_allows_is_refused(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["lines"][0]["unit_price"]["amount"] = json!("59.001");
    let p = refused(engine, body, &["lines[0].unit_price.amount"]).await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("2 decimal digits"), "{p}");
}

async fn a_price_in_another_currency_than_the_order_is_refused(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["lines"][0]["unit_price"]["currency"] = json!("AED");
    refused(engine, body, &["lines[0].unit_price.currency"]).await;
}

async fn an_invalid_country_is_refused(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["shipping_address"]["country"] = json!("Saudi Arabia");
    // The address's national phone number cannot be read without a country either; both are reported.
    refused(engine, body, &["shipping_address.country", "shipping_address.phone"]).await;
}

async fn a_missing_address_field_is_refused(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["shipping_address"].as_object_mut().unwrap().remove("city");
    body["shipping_address"]["line1"] = json!("   ");
    let p = refused(engine, body, &["shipping_address.line1", "shipping_address.city"]).await;
    assert_eq!(p["errors"][1]["message"], "is required");
}

async fn a_body_over_the_limit_is_refused_with_413(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let mut body = order("1", "LAMP-01", 1);
    body["buyer"]["name"] = json!("x".repeat(codflow_web::BODY_LIMIT + 10));
    let p = json_of(app.post("/api/v1/orders", &body).await, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(p["code"], "payload_too_large");
    assert_nothing_written(&app).await;
}
