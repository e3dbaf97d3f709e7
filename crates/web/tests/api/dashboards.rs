use codflow_domain::Role;
use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{error_paths, json_of, order, spawn_app};

codflow_store::on_both_engines!(dashboard_figures_are_filtered_grouped_and_refused_to_the_warehouse,);

async fn dashboard_figures_are_filtered_grouped_and_refused_to_the_warehouse(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-1", 50)]).await;
    for (i, outcome) in ["refused", "delivered", "delivered"].iter().enumerate() {
        let o = json_of(app.post("/api/v1/orders", &order(&format!("K-{i}"), "LAMP-1", 1)).await, StatusCode::CREATED)
            .await;
        let id = o["id"].as_str().unwrap();
        app.post(&format!("/api/v1/orders/{id}/outcome"), &json!({"outcome": outcome})).await;
    }
    let before = json_of(app.get("/api/v1/dashboards/sums?group=country").await, StatusCode::OK).await;
    assert_eq!(before["backlog"], 3, "three orders wait to be counted: {before}");
    let r = json_of(app.post("/api/v1/dashboards/refresh", &json!({})).await, StatusCode::OK).await;
    assert_eq!((r["refreshed"].as_i64(), r["backlog"].as_i64()), (Some(3), Some(0)));
    let sums = json_of(app.get("/api/v1/dashboards/sums?group=country,day").await, StatusCode::OK).await;
    let item = &sums["items"][0];
    assert_eq!(item["key"], json!({"country": "SA", "day": "2026-11-20"}));
    assert_eq!((item["metrics"]["orders"].as_i64(), item["metrics"]["refused"].as_i64()), (Some(3), Some(1)));
    assert_eq!(item["refusal_rate"], json!({"ppm": 333_333, "n": 3}));
    // A range that holds no order is empty; bad dates and groups are named.
    let none = json_of(app.get("/api/v1/dashboards/sums?group=country&to=2026-11-19").await, StatusCode::OK).await;
    assert_eq!(none["items"], json!([]));
    let e =
        json_of(app.get("/api/v1/dashboards/sums?from=yesterday&group=planet").await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(error_paths(&e), ["from"]);
    let e = json_of(app.get("/api/v1/dashboards/sums?group=planet").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["group"]);
    let viewer = app.get_as(app.token(Role::Viewer), "/api/v1/dashboards/scorecard").await;
    assert_eq!(viewer.status(), StatusCode::OK);
    let warehouse = app.get_as(app.token(Role::Warehouse), "/api/v1/dashboards/sums").await;
    assert_eq!(warehouse.status(), StatusCode::FORBIDDEN);
    // Weights are checked before they are kept.
    let bad =
        json!({"sign_in": 101, "transit": 0, "refusal": 0, "customs": 0, "exceptions": 0, "settlement": 0, "cost": 0});
    let e = json_of(app.put("/api/v1/settings/scorecard", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["sign_in"]);
}
