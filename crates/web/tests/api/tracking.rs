use codflow_domain::Role;
use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{error_paths, json_of, spawn_app};

codflow_store::on_both_engines!(
    per_lane_thresholds_are_saved_and_read_back_on_every_engine,
    tracking_settings_are_validated_saved_and_read_back,
    a_batch_of_events_is_checked_field_by_field_before_anything_is_stored,
    the_tracked_shipments_list_filters_by_status_and_refuses_unknown_ones,
);

async fn per_lane_thresholds_are_saved_and_read_back_on_every_engine(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    // An order exists, so saving thresholds has dashboard sums to mark for recounting.
    json_of(app.post("/api/v1/orders", &crate::helpers::order("t-1", "LAMP-01", 1)).await, StatusCode::CREATED).await;
    let mut t = json_of(app.get("/api/v1/tracking/thresholds").await, StatusCode::OK).await;
    t["lanes"]["SA"] = t["default"].clone();
    t["lanes"]["SA"]["customs_held_hours"] = json!(96);
    let saved = json_of(app.put("/api/v1/tracking/thresholds", &t).await, StatusCode::OK).await;
    assert_eq!(saved["lanes"]["SA"]["customs_held_hours"], 96);
    assert_eq!(json_of(app.get("/api/v1/tracking/thresholds").await, StatusCode::OK).await, saved);
    t["lanes"]["Saudi"] = t["default"].clone();
    let e = json_of(app.put("/api/v1/tracking/thresholds", &t).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["lanes.Saudi"]);
}

async fn tracking_settings_are_validated_saved_and_read_back(engine: Engine) {
    let app = spawn_app(engine).await;
    let defaults = json_of(app.get("/api/v1/settings/tracking").await, StatusCode::OK).await;
    let every: Vec<&str> = codflow_domain::carrier_account::tracking_kinds().collect();
    assert!(every.contains(&"17track") && every.contains(&"4px"), "{every:?}");
    assert_eq!(defaults, json!({"poll_seconds": 3600, "poll_carriers": every, "max_age_days": 60}));
    let bad = json!({"poll_seconds": 5, "poll_carriers": ["sandbox", "Not A Code"], "max_age_days": 0});
    let e = json_of(app.put("/api/v1/settings/tracking", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["poll_seconds", "max_age_days", "poll_carriers[1]"]);
    let unknown = json!({"poll_seconds": 600, "poll_carriers": [], "max_age_days": 30, "poll": 1});
    json_of(app.put("/api/v1/settings/tracking", &unknown).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let good = json!({"poll_seconds": 900, "poll_carriers": [" aramex "], "max_age_days": 30});
    let saved = json_of(app.put("/api/v1/settings/tracking", &good).await, StatusCode::OK).await;
    assert_eq!(saved, json!({"poll_seconds": 900, "poll_carriers": ["aramex"], "max_age_days": 30}));
    assert_eq!(json_of(app.get("/api/v1/settings/tracking").await, StatusCode::OK).await, saved);
    let viewer = app.token(Role::Viewer).to_owned();
    let r = reqwest::Client::new()
        .put(app.url("/api/v1/settings/tracking"))
        .bearer_auth(&viewer)
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn a_batch_of_events_is_checked_field_by_field_before_anything_is_stored(engine: Engine) {
    let app = spawn_app(engine).await;
    let ev = |tn: &str, at: &str| json!({"tracking_number": tn, "code": "PKP", "at": at});
    let bad = json!({"events": [ev("SB1", "2026-11-20T10:00:00Z"), ev("", "yesterday"), ev("SB3", "2026-11-20")]});
    let e = json_of(app.post("/api/v1/tracking/events", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["events[1].tracking_number", "events[1].at", "events[2].at"]);
    let too_many: Vec<Value> = (0..5001).map(|i| ev(&format!("SB{i}"), "2026-11-20T10:00:00Z")).collect();
    let e = json_of(
        app.post("/api/v1/tracking/events", &json!({"events": too_many})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["events"]);
    // Well-formed events for parcels nobody booked are reported one by one; nothing else happens.
    let unknown =
        json!({"events": [ev("SB-NOPE-1", "2026-11-20T10:00:00+03:00"), ev("SB-NOPE-2", "2026-11-20T11:00:00Z")]});
    let r = json_of(app.post("/api/v1/tracking/events", &unknown).await, StatusCode::OK).await;
    assert_eq!(r["received"], 2);
    assert_eq!(r["new"], 0);
    let rejected: Vec<u64> = r["rejected"].as_array().unwrap().iter().map(|x| x["index"].as_u64().unwrap()).collect();
    assert_eq!(rejected, [0, 1]);
    assert!(r["rejected"][0]["message"].as_str().unwrap().contains("SB-NOPE-1"));
    let unmapped = json_of(app.get("/api/v1/tracking/unmapped").await, StatusCode::OK).await;
    assert_eq!(unmapped, json!([]));
    let warehouse = app.token(Role::Warehouse).to_owned();
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/tracking/events"))
        .bearer_auth(&warehouse)
        .json(&unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn the_tracked_shipments_list_filters_by_status_and_refuses_unknown_ones(engine: Engine) {
    let app = spawn_app(engine).await;
    let e =
        json_of(app.get("/api/v1/tracking/shipments?status=teleported").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["status"]);
    for status in ["delivered", "delivery_failed", "customs_held:documentation"] {
        let page = json_of(app.get(&format!("/api/v1/tracking/shipments?status={status}")).await, StatusCode::OK).await;
        assert_eq!(page["items"], json!([]), "{status}");
    }
}
