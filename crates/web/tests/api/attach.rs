//! Parcels booked outside codflow attached by tracking number and followed through 17TRACK (its v2.2 protocol
//! served locally): one by one, from a forwarder's CSV, by poll and by signed push.

use std::time::{Duration, Instant};

use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, order, spawn_app};

codflow_store::on_both_engines!(
    a_forwarders_parcel_is_attached_and_followed_through_17track_by_poll_and_push,
    a_forwarders_export_attaches_good_lines_and_names_bad_ones,
    a_parcel_followed_through_aftership_moves_by_poll_and_by_its_signed_webhook,
);

async fn set_up(app: &TestApp, server: &str) {
    let account = json!({"code": "17track-main", "carrier": "17track", "name": "17TRACK", "base_url": format!("{server}/17track"),
        "credentials": {"api_token": codflow_sandbox_carrier::track17::TEST_TOKEN}, "webhook_secret": "17track-security-key"});
    json_of(app.post("/api/v1/carrier-accounts", &account).await, StatusCode::CREATED).await;
    json_of(app.put("/api/v1/settings", &json!({"base_currency": "SAR"})).await, StatusCode::OK).await;
    let duty = json!({"country": "SA", "effective_from": "2025-01-01", "duty_pct": "5", "vat_pct": "15",
        "duty_de_minimis": {"amount": {"amount": "1000", "currency": "SAR"}, "basis": "goods"}, "source": "test"});
    json_of(app.put("/api/v1/duty-rules", &duty).await, StatusCode::OK).await;
    let channel = json!({"code": "FWD-SA", "name": "Forwarder to Saudi", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true},
        "rate_card": {"currency": "SAR", "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 9,
            "bands": [{"from_g": 0, "to_g": 30000, "price": "25.00"}]}]}});
    json_of(app.post("/api/v1/channels", &channel).await, StatusCode::CREATED).await;
    app.seed(&[("LAMP-01", 50)]).await;
}

async fn placed(app: &TestApp, external: &str) -> String {
    let o = json_of(app.post("/api/v1/orders", &order(external, "LAMP-01", 1)).await, StatusCode::CREATED).await;
    o["id"].as_str().unwrap().to_owned()
}

async fn tracking_of(app: &TestApp, shipment: &str) -> Value {
    json_of(app.get(&format!("/api/v1/shipments/{shipment}/tracking")).await, StatusCode::OK).await
}

async fn a_forwarders_parcel_is_attached_and_followed_through_17track_by_poll_and_push(engine: Engine) {
    let server = codflow_sandbox_carrier::start(Default::default()).await.unwrap();
    let app = spawn_app(engine).await;
    set_up(&app, &server).await;
    placed(&app, "FWD-1").await;

    let body = json!({"order": "FWD-1", "carrier": "yunexpress", "tracking_number": "yt2612345678901",
                      "fee": {"amount": "18.40", "currency": "USD"}, "weight_g": 640});
    let a = json_of(app.post("/api/v1/shipments/attach", &body).await, StatusCode::CREATED).await;
    assert_eq!(a["source"], "17track", "codflow has no YunExpress connector: 17TRACK follows it");
    assert_eq!(a["shipment"]["status"], "booked");
    assert_eq!(a["shipment"]["tracking_number"], "YT2612345678901");
    assert_eq!(a["shipment"]["carrier"], "yunexpress");
    let again = json_of(app.post("/api/v1/shipments/attach", &body).await, StatusCode::OK).await;
    assert_eq!(again["shipment"]["id"], a["shipment"]["id"], "a replay attaches nothing new");
    let other = json!({"order": "FWD-1", "carrier": "yunexpress", "tracking_number": "YT 99/9"});
    let p = json_of(app.post("/api/v1/shipments/attach", &other).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(p.to_string().contains("tracking_number"), "{p}");
    let other = json!({"order": "FWD-1", "carrier": "yunexpress", "tracking_number": "YT2699999999"});
    let p = json_of(app.post("/api/v1/shipments/attach", &other).await, StatusCode::CONFLICT).await;
    assert_eq!(p["code"], "shipment_booked");

    // 17TRACK was told to follow it; a poll reads its scans, mapped by 17TRACK's sub-statuses.
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{server}/v1/_clock"))
        .json(&json!({"at": later, "scale": 1.0}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let mut tx = app.store.begin().await.unwrap();
    sqlx::query("UPDATE tracking SET poll_at = 0").execute(&mut *tx).await.unwrap();
    codflow_store::commit(tx).await.unwrap();
    let polled = json_of(app.post("/api/v1/tracking/poll", &json!({})).await, StatusCode::OK).await;
    assert_eq!(polled["shipments_polled"], 1);
    let sid = a["shipment"]["id"].as_str().unwrap();
    let tr = tracking_of(&app, sid).await;
    let codes: Vec<&str> = tr["events"].as_array().unwrap().iter().filter_map(|e| e["code"].as_str()).collect();
    assert_eq!(&codes[..2], ["InfoReceived", "InTransit_PickedUp"], "{tr}");
    assert!(tr["events"].as_array().unwrap().iter().all(|e| e["status"] != "unknown"), "{tr}");

    // Pushes: 17TRACK signs them with the account's key; the rest of the journey arrives without a poll.
    let hook = json!({"url": app.url("/api/v1/webhooks/carriers/17track"), "secret": "17track-security-key", "format": "17track"});
    let r = reqwest::Client::new().post(format!("{server}/v1/webhooks")).json(&hook).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(60))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    reqwest::Client::new()
        .post(format!("{server}/v1/_clock"))
        .json(&json!({"at": later, "scale": 1.0}))
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let done = loop {
        let tr = tracking_of(&app, sid).await;
        let n = tr["events"].as_array().unwrap().len();
        // The pushed events are stored as they arrive and folded into the parcel's status after: wait for both.
        let settled = ["delivered", "returned", "returning", "lost", "delivery_failed"]
            .contains(&tr["status"].as_str().unwrap_or(""));
        if n > codes.len() && tr["events"].as_array().unwrap().iter().any(|e| e["source"] == "webhook") && settled {
            break tr;
        }
        assert!(Instant::now() < deadline, "no push arrived: {tr}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        ["delivered", "returned", "returning", "lost", "delivery_failed"].contains(&done["status"].as_str().unwrap()),
        "{done}"
    );
    let forged =
        json!({"event": "TRACKING_UPDATED", "data": {"number": "YT2612345678901", "track_info": {}}}).to_string();
    let r = app
        .client
        .post(app.url("/api/v1/webhooks/carriers/17track"))
        .header("sign", codflow_sandbox_carrier::track17::sign(forged.as_bytes(), "a guess"))
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn a_forwarders_export_attaches_good_lines_and_names_bad_ones(engine: Engine) {
    let server = codflow_sandbox_carrier::start(Default::default()).await.unwrap();
    let app = spawn_app(engine).await;
    set_up(&app, &server).await;
    placed(&app, "FWD-2").await;
    placed(&app, "FWD-3").await;
    let csv = "tracking_number,order,carrier,weight_kg,fee,currency\n\
               YT2600000000002,FWD-2,yunexpress,0.65,18.40,USD\n\
               YT2600000000003,FWD-3,yunexpress,heavy,18.40,USD\n\
               YT2600000000004,NO-SUCH,yunexpress,0.5,,\n\
               \n\
               YT2600000000002,FWD-2,yunexpress,0.65,18.40,USD\n";
    let r = json_of(app.post_raw("/api/v1/shipments/import", csv).await, StatusCode::OK).await;
    assert_eq!(r["attached"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["unchanged"], 1, "the repeated line is a replay: {r}");
    let errors: Vec<(u64, &str)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(3, "weight_kg"), (4, "order")], "{r}");
    let sid = r["attached"][0][1].as_str().unwrap();
    let s = json_of(app.get(&format!("/api/v1/shipments/{sid}")).await, StatusCode::OK).await;
    assert_eq!(s["weight_g"], 650);
    // A file that is not a forwarder's export is refused whole, by its header.
    let p = json_of(app.post_raw("/api/v1/shipments/import", "awb;ref\n1;2\n").await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert!(p.to_string().contains("line 1"), "{p}");
    let p = json_of(app.post_raw("/api/v1/shipments/import", "").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(p.to_string().contains("empty"), "{p}");
}

async fn a_parcel_followed_through_aftership_moves_by_poll_and_by_its_signed_webhook(engine: Engine) {
    let server = codflow_sandbox_carrier::start(Default::default()).await.unwrap();
    let app = spawn_app(engine).await;
    set_up(&app, &server).await;
    let account = json!({"code": "aftership", "carrier": "aftership", "name": "AfterShip", "base_url": format!("{server}/aftership"),
        "credentials": {"api_key": codflow_sandbox_carrier::aftership::TEST_API_KEY}, "webhook_secret": "aftership-webhook-secret"});
    json_of(app.post("/api/v1/carrier-accounts", &account).await, StatusCode::CREATED).await;
    let t = json_of(app.post("/api/v1/carrier-accounts/aftership/test", &json!({})).await, StatusCode::OK).await;
    assert_eq!(t["outcome"], "connected", "{t}");
    placed(&app, "AS-1").await;
    let body = json!({"order": "AS-1", "carrier": "yanwen", "tracking_number": "UG123456789CN", "source": "aftership"});
    let a = json_of(app.post("/api/v1/shipments/attach", &body).await, StatusCode::CREATED).await;
    assert_eq!(a["source"], "aftership");
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    reqwest::Client::new()
        .post(format!("{server}/v1/_clock"))
        .json(&json!({"at": later, "scale": 1.0}))
        .send()
        .await
        .unwrap();
    let mut tx = app.store.begin().await.unwrap();
    sqlx::query("UPDATE tracking SET poll_at = 0").execute(&mut *tx).await.unwrap();
    codflow_store::commit(tx).await.unwrap();
    json_of(app.post("/api/v1/tracking/poll", &json!({})).await, StatusCode::OK).await;
    let sid = a["shipment"]["id"].as_str().unwrap();
    let tr = tracking_of(&app, sid).await;
    let codes: Vec<&str> = tr["events"].as_array().unwrap().iter().filter_map(|e| e["code"].as_str()).collect();
    assert_eq!(&codes[..2], ["InfoReceived_001", "InTransit_002"], "{tr}");
    assert_eq!(tr["status"], "in_transit", "{tr}");
    // Its webhook, signed aftership-hmac-sha256, brings the rest; a forged one is refused.
    let hook = json!({"url": app.url("/api/v1/webhooks/carriers/aftership"), "secret": "aftership-webhook-secret", "format": "aftership"});
    assert_eq!(
        reqwest::Client::new().post(format!("{server}/v1/webhooks")).json(&hook).send().await.unwrap().status(),
        StatusCode::CREATED
    );
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(60))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    reqwest::Client::new()
        .post(format!("{server}/v1/_clock"))
        .json(&json!({"at": later, "scale": 1.0}))
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let tr = tracking_of(&app, sid).await;
        if tr["events"].as_array().unwrap().iter().any(|e| e["source"] == "webhook") {
            assert!(tr["events"].as_array().unwrap().iter().all(|e| e["status"] != "unknown"), "{tr}");
            break;
        }
        assert!(Instant::now() < deadline, "no webhook arrived: {tr}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let forged =
        json!({"event": "tracking_update", "msg": {"tracking_number": "UG123456789CN", "checkpoints": []}}).to_string();
    let r = app
        .client
        .post(app.url("/api/v1/webhooks/carriers/aftership"))
        .header("aftership-hmac-sha256", codflow_sandbox_carrier::aftership::signature("a guess", forged.as_bytes()))
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
