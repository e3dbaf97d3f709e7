use codflow_domain::Role;
use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{json_of, order, spawn_app};

codflow_store::on_both_engines!(
    requests_without_a_token_are_refused_with_401,
    an_unknown_token_is_refused_with_401,
    each_role_may_do_only_what_it_is_for,
);

async fn requests_without_a_token_are_refused_with_401(engine: Engine) {
    let app = spawn_app(engine).await;
    let r = app.client.get(app.url("/api/v1/orders")).send().await.unwrap();
    let p = json_of(r, StatusCode::UNAUTHORIZED).await;
    assert_eq!(p["code"], "unauthorized");
    assert_eq!(p["status"], 401);
}

async fn an_unknown_token_is_refused_with_401(engine: Engine) {
    let app = spawn_app(engine).await;
    let r = app.get_as("cf_0000000000000000000000000000000000000000000000000000000000000000", "/api/v1/orders").await;
    json_of(r, StatusCode::UNAUTHORIZED).await;
    let r = app
        .client
        .get(app.url("/api/v1/orders"))
        .header("authorization", format!("Basic {}", app.admin))
        .send()
        .await
        .unwrap();
    json_of(r, StatusCode::UNAUTHORIZED).await;
}

async fn each_role_may_do_only_what_it_is_for(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    // Reading is open to every role.
    for role in Role::ALL {
        let r = app.get_as(app.token(role), "/api/v1/orders").await;
        assert_eq!(r.status(), StatusCode::OK, "{role} cannot read orders");
    }
    // Creating orders: admin and ops only.
    for (role, expected) in [
        (Role::Ops, StatusCode::CREATED),
        (Role::Warehouse, StatusCode::FORBIDDEN),
        (Role::Finance, StatusCode::FORBIDDEN),
        (Role::Viewer, StatusCode::FORBIDDEN),
    ] {
        let r = app.post_as(app.token(role), "/api/v1/orders", &order(&format!("o-{role}"), "LAMP-01", 1)).await;
        let status = r.status();
        if expected == StatusCode::FORBIDDEN {
            let p = json_of(r, expected).await;
            assert_eq!(p["code"], "forbidden");
        } else {
            assert_eq!(status, expected, "{role}");
        }
    }
    // Counting stock: warehouse staff may, finance may not.
    let put = |token: String| {
        let c = app.client.clone();
        let url = app.url("/api/v1/stock/SZ1/LAMP-01");
        async move { c.put(url).bearer_auth(token).json(&json!({"on_hand": 12})).send().await.unwrap().status() }
    };
    assert_eq!(put(app.token(Role::Warehouse).to_owned()).await, StatusCode::OK);
    assert_eq!(put(app.token(Role::Finance).to_owned()).await, StatusCode::FORBIDDEN);
    // Only the ops order exists: forbidden requests wrote nothing.
    assert_eq!(app.all_orders().await.len(), 1);
}
