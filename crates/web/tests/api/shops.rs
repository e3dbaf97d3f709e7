use codflow_domain::Role;
use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;

use crate::helpers::{error_paths, json_of, spawn_app};

codflow_store::on_both_engines!(
    a_store_keeps_its_credentials_sealed_and_never_gives_them_back,
    a_store_is_checked_field_by_field_and_only_an_admin_may_change_it,
    the_channel_push_list_filters_and_refuses_unknown_statuses,
);

async fn a_store_keeps_its_credentials_sealed_and_never_gives_them_back(engine: Engine) {
    let app = spawn_app(engine).await;
    let body = json!({"code": "shop-sa", "platform": "shopify", "name": "Saudi shop",
        "base_url": "https://shop-sa.myshopify.com/", "credentials": {"access_token": "shpat_supersecret"},
        "webhook_secret": "whsec_0123456789abcdef"});
    let made = json_of(app.post("/api/v1/stores", &body).await, StatusCode::CREATED).await;
    assert_eq!(made["base_url"], "https://shop-sa.myshopify.com");
    assert_eq!((made["has_credentials"].as_bool(), made["has_webhook_secret"].as_bool()), (Some(true), Some(true)));
    assert_eq!(made["cod_gateways"], json!(["Cash on Delivery (COD)", "cash_on_delivery"]));
    assert_eq!(made["push_fulfilment"], true);
    let text = app.get("/api/v1/stores").await.text().await.unwrap();
    assert!(!text.contains("shpat_supersecret") && !text.contains("whsec_0123"), "{text}");
    let row = sqlx::query("SELECT credentials, webhook_secret FROM stores WHERE code = 'shop-sa'")
        .fetch_one(app.store.reader())
        .await
        .unwrap();
    let (creds, secret): (String, String) = (row.get(0), row.get(1));
    assert!(creds.starts_with("v1:") && !creds.contains("shpat"), "sealed at rest: {creds}");
    assert!(!secret.contains("whsec"));
    let audit = sqlx::query("SELECT COALESCE(reason, '') FROM audit_log WHERE entity = 'store'")
        .fetch_all(app.store.reader())
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    let reason: String = audit[0].get(0);
    assert_eq!(reason, "set credentials and webhook secret", "the audit names what changed, not the values");

    // Again under the same code: a conflict, nothing changed.
    let again = json_of(app.post("/api/v1/stores", &body).await, StatusCode::CONFLICT).await;
    assert_eq!(again["code"], "store_exists");
    // An update names only what changes; the credentials stay.
    let renamed = json_of(app.put("/api/v1/stores/shop-sa", &json!({"name": "KSA shop"})).await, StatusCode::OK).await;
    assert_eq!((renamed["name"].as_str(), renamed["has_credentials"].as_bool()), (Some("KSA shop"), Some(true)));
    let still: String = sqlx::query("SELECT credentials FROM stores WHERE code = 'shop-sa'")
        .fetch_one(app.store.reader())
        .await
        .unwrap()
        .get(0);
    assert_eq!(still, creds);
    let one = json_of(app.get("/api/v1/stores/shop-sa").await, StatusCode::OK).await;
    assert_eq!(one, renamed);
    json_of(app.get("/api/v1/stores/nope").await, StatusCode::NOT_FOUND).await;
}

async fn a_store_is_checked_field_by_field_and_only_an_admin_may_change_it(engine: Engine) {
    let app = spawn_app(engine).await;
    let bad = json!({"code": "woo sa", "platform": "woocommerce", "base_url": "ftp://shop",
        "credentials": {"consumer_key": "ck", "access_token": "x"}, "webhook_secret": "short"});
    let e = json_of(app.post("/api/v1/stores", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let paths = error_paths(&e);
    for p in ["code", "name", "base_url", "credentials.access_token", "credentials.consumer_secret", "webhook_secret"] {
        assert!(paths.contains(&p.to_owned()), "{p} in {paths:?}");
    }
    let unknown = json!({"code": "m", "platform": "manual", "name": "Manual", "colour": "red"});
    json_of(app.post("/api/v1/stores", &unknown).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let wrong_path = json!({"code": "other", "platform": "manual", "name": "Manual"});
    let e = json_of(app.put("/api/v1/stores/mine", &wrong_path).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["code"]);
    let manual = json!({"platform": "manual", "name": "Phone orders"});
    let made = json_of(app.put("/api/v1/stores/phone", &manual).await, StatusCode::CREATED).await;
    assert_eq!((made["push_fulfilment"].as_bool(), made["has_credentials"].as_bool()), (Some(false), Some(false)));
    for role in [Role::Ops, Role::Finance, Role::Viewer] {
        let r = app
            .client
            .put(app.url("/api/v1/stores/phone"))
            .bearer_auth(app.token(role))
            .json(&manual)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{role:?}");
    }
    let listed = json_of(app.get_as(app.token(Role::Viewer), "/api/v1/stores").await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1), "{listed}");
    assert!(listed["next_cursor"].is_null());
}

async fn the_channel_push_list_filters_and_refuses_unknown_statuses(engine: Engine) {
    let app = spawn_app(engine).await;
    // A single order carries its follow-up (none yet); lists leave it out.
    app.seed(&[("LAMP-01", 10)]).await;
    let order =
        json_of(app.post("/api/v1/orders", &crate::helpers::order("F-1", "LAMP-01", 1)).await, StatusCode::CREATED)
            .await;
    let one =
        json_of(app.get(&format!("/api/v1/orders/{}", order["id"].as_str().unwrap())).await, StatusCode::OK).await;
    assert_eq!((&one["delivery_instructions"], &one["channel_updates"]), (&json!([]), &json!([])));
    let list = json_of(app.get("/api/v1/orders").await, StatusCode::OK).await;
    assert!(list["items"][0].get("channel_updates").is_none());
    let empty = json_of(app.get("/api/v1/channel-pushes?status=dead&store=shop-sa").await, StatusCode::OK).await;
    assert_eq!(empty, json!({"items": [], "next_cursor": null}));
    let e =
        json_of(app.get("/api/v1/channel-pushes?status=lost&order=x").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["status", "order"]);
    let r = app.post("/api/v1/channel-pushes/psh_01jd0000000000000000000000/retry", &json!({})).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = app.post("/api/v1/channel-pushes/nope/retry", &json!({})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
