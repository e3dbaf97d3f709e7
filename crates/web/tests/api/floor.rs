//! The warehouse floor over the API, against the sandbox carrier served over its own protocol and a label
//! printer that is a local TCP listener checking it receives whole ZPL jobs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use codflow_domain::Role;
use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use crate::helpers::{TestApp, error_paths, json_of, order, spawn_app_with_sandbox};

codflow_store::on_both_engines!(
    a_parcel_is_opened_verified_item_by_item_weighed_and_its_label_sent_to_the_printer,
    a_heavier_parcel_moves_to_the_channel_that_can_take_it_and_a_far_off_one_is_held_until_released,
    bad_input_at_the_station_gets_a_clear_answer_and_nothing_is_done_twice,
    a_dimensioning_device_weighs_a_parcel_by_its_waybill_with_its_stations_token,
    a_wave_batches_single_units_slots_the_rest_and_its_ticket_opens_its_parcels_in_turn,
    packed_parcels_are_bagged_by_destination_handed_over_on_a_manifest_and_one_left_behind_is_flagged,
    an_aramex_pickup_is_booked_with_the_handed_over_waybills_at_the_accounts_pickup_point,
    an_orders_box_is_recommended_from_the_warehouses_boxes_and_its_products_packing,
);

/// A label printer on a local port: every connection's bytes are one job.
pub struct Printer {
    pub addr: String,
    pub jobs: Arc<Mutex<Vec<String>>>,
}

pub async fn printer() -> Printer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let jobs = Arc::new(Mutex::new(Vec::new()));
    let sink = jobs.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let sink = sink.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                if s.read_to_end(&mut buf).await.is_ok() {
                    sink.lock().unwrap().push(String::from_utf8_lossy(&buf).into_owned());
                }
            });
        }
    });
    Printer { addr, jobs }
}

impl Printer {
    /// Waits (with a deadline) until `n` jobs have arrived and returns them.
    pub async fn jobs(&self, n: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.jobs.lock().unwrap().clone();
            if got.len() >= n || tokio::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A ZPL job as a printer accepts it: labels from `^XA` to `^XZ`, nothing outside them.
pub fn assert_valid_zpl(job: &str) {
    let job = job.trim();
    assert!(job.starts_with("^XA") && job.ends_with("^XZ"), "not a ZPL job: {job:.80}");
    assert_eq!(job.matches("^XA").count(), job.matches("^XZ").count(), "unbalanced labels");
    assert!(job.contains("^BC"), "a label carries its Code 128 barcode");
}

pub(crate) fn channel(code: &str, price: &str, max_weight_g: Option<i64>) -> Value {
    json!({"code": code, "name": code, "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true},
        "limits": {"max_weight_g": max_weight_g},
        "rate_card": {"currency": "SAR", "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 3,
            "bands": [{"from_g": 0, "to_g": 30000, "price": price}]}]}})
}

/// Warehouse SZ1 with LAMP-01 (420 g, barcode 4006381333931) and MUG-02, a station PS1 printing to `printer`,
/// and the channels given.
pub async fn floor(app: &TestApp, printer: Option<&str>, channels: &[Value]) {
    app.put("/api/v1/settings", &json!({"base_currency": "SAR"})).await;
    let duty =
        json!({"country": "SA", "effective_from": "2025-01-01", "duty_pct": "5", "vat_pct": "15", "source": "test"});
    json_of(app.put("/api/v1/duty-rules", &duty).await, StatusCode::OK).await;
    app.seed(&[("LAMP-01", 50), ("MUG-02", 50)]).await;
    for c in channels {
        json_of(app.post("/api/v1/channels", c).await, StatusCode::CREATED).await;
    }
    let body = json!({"barcodes": ["4006381333931", "LAMP-OWN-1"]});
    json_of(app.put("/api/v1/products/LAMP-01/barcodes", &body).await, StatusCode::OK).await;
    let st = json!({"name": "Pack 1", "warehouse": "SZ1", "printer": printer});
    json_of(app.put("/api/v1/stations/PS1", &st).await, StatusCode::CREATED).await;
}

pub async fn scan(app: &TestApp, code: &str, pack: Option<&str>) -> Value {
    let body = json!({"station": "PS1", "code": code, "pack": pack});
    json_of(app.post_as(app.token(Role::Warehouse), "/api/v1/pack/scan", &body).await, StatusCode::OK).await
}

async fn weigh(app: &TestApp, pack: &str, body: Value) -> Value {
    let r = app.post_as(app.token(Role::Warehouse), &format!("/api/v1/pack/{pack}/weigh"), &body).await;
    json_of(r, StatusCode::OK).await
}

async fn new_order(app: &TestApp, ext: &str, sku: &str, qty: i64) -> Value {
    let o = json_of(app.post("/api/v1/orders", &order(ext, sku, qty)).await, StatusCode::CREATED).await;
    assert_eq!(o["status"], "allocated", "{o}");
    o
}

async fn history_actions(app: &TestApp, order: &str) -> Vec<String> {
    let h = json_of(app.get(&format!("/api/v1/orders/{order}/history")).await, StatusCode::OK).await;
    h.as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap().to_owned()).collect()
}

async fn a_parcel_is_opened_verified_item_by_item_weighed_and_its_label_sent_to_the_printer(engine: Engine) {
    let app = spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    // Billed by the started 420 g: a lamp fills a step exactly, so its box alone bills one step more.
    let mut sa = channel("SBX-SA", "20.00", None);
    sa["rate_card"]["weight_rounding_g"] = json!(420);
    floor(&app, Some(&p.addr), &[sa]).await;
    let o = new_order(&app, "F-100", "LAMP-01", 2).await;
    let oid = o["id"].as_str().unwrap();

    let opened = scan(&app, "F-100", None).await;
    assert_eq!((opened["signal"].as_str(), opened["event"].as_str()), (Some("ok"), Some("opened")), "{opened}");
    let pack = opened["pack"]["id"].as_str().unwrap().to_owned();
    assert_eq!(opened["pack"]["items"][0]["needed"], 2);
    assert!(opened["pack"]["tracking_number"].is_string(), "booked when opened: {opened}");

    let wrong = scan(&app, "MUG-02", Some(&pack)).await;
    assert_eq!((wrong["signal"].as_str(), wrong["event"].as_str()), (Some("wrong"), Some("wrong_item")));
    let one = scan(&app, "4006381333931", Some(&pack)).await;
    assert_eq!((one["event"].as_str(), one["values"]["scanned"].as_str()), (Some("counted"), Some("1")), "{one}");
    let e = json_of(
        app.post_as(app.token(Role::Warehouse), &format!("/api/v1/pack/{pack}/weigh"), &json!({"weight_g": 860})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(e["code"], "pack_not_ready", "one item still to scan: {e}");
    let done = scan(&app, "LAMP-OWN-1", None).await;
    assert_eq!((done["signal"].as_str(), done["event"].as_str()), (Some("done"), Some("verified")), "{done}");
    let extra = scan(&app, "LAMP-01", None).await;
    assert_eq!(extra["event"], "extra_item", "a third lamp is one too many: {extra}");

    // 2 × 420 g + 20 g of packaging expected; 851 g is within the margin.
    let w = weigh(&app, &pack, json!({"weight_g": 851})).await;
    assert_eq!((w["signal"].as_str(), w["event"].as_str()), (Some("done"), Some("passed")), "{w}");
    assert_eq!(w["pack"]["status"], "packed");
    assert_eq!(w["pack"]["label"], format!("printer:{}", p.addr));
    assert_eq!(w["pack"]["evidence"]["check"]["expected_g"], 860);
    assert_eq!(w["pack"]["reading_source"], "manual");
    let jobs = p.jobs(1).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_valid_zpl(&jobs[0]);
    assert!(jobs[0].contains(w["pack"]["tracking_number"].as_str().unwrap()), "the label of this parcel");
    // From Shenzhen to Riyadh it crosses a border: its commercial invoice and packing list are ready to print.
    let papers: Vec<&str> = w["pack"]["papers"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(papers.len(), 2, "{w}");
    for path in papers {
        let r = app.get_as(app.token(Role::Warehouse), path).await;
        assert_eq!(
            (r.status(), r.headers()["content-type"].to_str().unwrap().to_owned()),
            (StatusCode::OK, "application/pdf".into()),
            "{path}"
        );
    }

    let again = scan(&app, oid, None).await;
    assert_eq!((again["signal"].as_str(), again["event"].as_str()), (Some("wrong"), Some("already_packed")));
    let e = json_of(
        app.post_as(app.token(Role::Warehouse), &format!("/api/v1/pack/{pack}/weigh"), &json!({"weight_g": 851})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(e["code"], "pack_not_ready");
    assert_eq!(p.jobs(2).await.len(), 1, "nothing printed twice");
    let h = history_actions(&app, oid).await;
    for a in ["pack_open", "pack_alarm", "pack_verify", "pack_weigh"] {
        assert!(h.contains(&a.to_owned()), "{a} in {h:?}");
    }
    let listed = json_of(app.get("/api/v1/pack?station=PS1&status=packed").await, StatusCode::OK).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Five lamps are quoted at 2,100 g; with their box they weigh 2,120 g and bill a step higher: expected,
    // so printed as booked, not re-rated (as the pair above was).
    new_order(&app, "F-101", "LAMP-01", 5).await;
    let opened = scan(&app, "F-101", None).await;
    let pack5 = opened["pack"]["id"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        scan(&app, "4006381333931", Some(&pack5)).await;
    }
    let w = weigh(&app, &pack5, json!({"weight_g": 2118})).await;
    assert_eq!(w["event"], "passed", "{w}");
    assert_eq!(w["pack"]["evidence"]["check"]["cause"], "as_expected", "{w}");
}

async fn a_heavier_parcel_moves_to_the_channel_that_can_take_it_and_a_far_off_one_is_held_until_released(
    engine: Engine,
) {
    let app = spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-LIGHT", "15.00", Some(500)), channel("SBX-ANY", "35.00", None)]).await;
    let a = new_order(&app, "F-200", "LAMP-01", 1).await;
    assert_eq!(a["allocation"]["channel"], "SBX-LIGHT", "the cheaper channel first: {}", a["allocation"]);
    let b = new_order(&app, "F-201", "LAMP-01", 1).await;

    // Expected 440 g; 530 g is beyond the print margin (44 g) but not the hold margin (220 g), and over the
    // light channel's 500 g: it moves.
    let opened = scan(&app, "F-200", None).await;
    let pack = opened["pack"]["id"].as_str().unwrap().to_owned();
    let first_tracking = opened["pack"]["tracking_number"].as_str().unwrap().to_owned();
    scan(&app, "LAMP-01", Some(&pack)).await;
    let w = weigh(&app, &pack, json!({"weight_g": 530, "length_cm": 20, "width_cm": 15, "height_cm": 10})).await;
    assert_eq!((w["signal"].as_str(), w["event"].as_str()), (Some("done"), Some("rebooked")), "{w}");
    assert_eq!(w["pack"]["channel"], "SBX-ANY");
    let new_tracking = w["pack"]["tracking_number"].as_str().unwrap();
    assert_ne!(new_tracking, first_tracking, "a new label");
    let ev = &w["pack"]["evidence"];
    assert_eq!(ev["check"]["verdict"], "rerate");
    assert_eq!(ev["quote_before"]["channel"], "SBX-LIGHT");
    assert_eq!(ev["rebooked"]["channel"], "SBX-ANY");
    assert_eq!(ev["reading"]["dims_cm"], json!([20, 15, 10]));
    let ships =
        json_of(app.get(&format!("/api/v1/orders/{}/shipments", a["id"].as_str().unwrap())).await, StatusCode::OK)
            .await;
    let ships = &ships["items"];
    let states: Vec<(String, String)> = ships
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["channel"].as_str().unwrap().to_owned(), s["status"].as_str().unwrap().to_owned()))
        .collect();
    assert!(states.contains(&("SBX-LIGHT".into(), "cancelled".into())), "{states:?}");
    assert!(states.contains(&("SBX-ANY".into(), "booked".into())), "{states:?}");
    let booked = ships.as_array().unwrap().iter().find(|s| s["status"] == "booked").unwrap();
    assert_eq!(booked["weight_g"], 530, "declared to the carrier as weighed");
    let shipment =
        json_of(app.get(&format!("/api/v1/shipments/{}", booked["id"].as_str().unwrap())).await, StatusCode::OK).await;
    assert_eq!(shipment["measured"]["weight_g"], 530, "{shipment}");
    assert_eq!(shipment["measured"]["dims_cm"], json!([20, 15, 10]));
    assert_eq!(shipment["measured"]["outcome"], "rebooked");
    let order_now =
        json_of(app.get(&format!("/api/v1/orders/{}", a["id"].as_str().unwrap())).await, StatusCode::OK).await;
    assert_eq!(order_now["allocation"]["channel"], "SBX-ANY");
    let jobs = p.jobs(1).await;
    assert!(jobs[0].contains(new_tracking), "the new label printed");

    // 700 g where 440 g is expected: held, with a task for the warehouse.
    let opened = scan(&app, "F-201", None).await;
    let held_pack = opened["pack"]["id"].as_str().unwrap().to_owned();
    scan(&app, "4006381333931", Some(&held_pack)).await;
    let w = weigh(&app, &held_pack, json!({"weight_g": 700})).await;
    assert_eq!((w["signal"].as_str(), w["event"].as_str()), (Some("wrong"), Some("intercepted")), "{w}");
    assert_eq!(w["pack"]["status"], "intercepted");
    let task_id = w["pack"]["task_id"].as_str().unwrap().to_owned();
    let task = json_of(app.get(&format!("/api/v1/tasks/{task_id}")).await, StatusCode::OK).await;
    assert_eq!((task["kind"].as_str(), task["role"].as_str()), (Some("weight_intercepted"), Some("warehouse")));
    assert_eq!(p.jobs(2).await.len(), 1, "a held parcel prints nothing");
    let again = scan(&app, "F-201", None).await;
    assert_eq!(again["event"], "held");
    let r = app.post_as(app.token(Role::Warehouse), &format!("/api/v1/pack/{held_pack}/release"), &json!({})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a supervisor releases, not the packer");
    let rel = json_of(
        app.post_as(app.token(Role::Ops), &format!("/api/v1/pack/{held_pack}/release"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((rel["event"].as_str(), rel["pack"]["outcome"].as_str()), (Some("released"), Some("released")));
    assert_eq!(p.jobs(2).await.len(), 2);
    let task = json_of(app.get(&format!("/api/v1/tasks/{task_id}")).await, StatusCode::OK).await;
    assert_eq!(task["status"], "done");
    let e = json_of(
        app.post_as(app.token(Role::Ops), &format!("/api/v1/pack/{held_pack}/release"), &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(e["code"], "not_intercepted", "released once");
    let h = history_actions(&app, b["id"].as_str().unwrap()).await;
    assert_eq!(h.iter().filter(|a| *a == "pack_release").count(), 1, "{h:?}");
}

async fn bad_input_at_the_station_gets_a_clear_answer_and_nothing_is_done_twice(engine: Engine) {
    let app = spawn_app_with_sandbox(engine).await;
    // A printer address nobody listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    floor(&app, Some(&dead), &[channel("SBX-SA", "20.00", None)]).await;
    let unknown = scan(&app, "NOPE-404", None).await;
    assert_eq!((unknown["signal"].as_str(), unknown["event"].as_str()), (Some("wrong"), Some("unknown_code")));
    let product = scan(&app, "LAMP-01", None).await;
    assert_eq!(product["event"], "scan_parcel_first");
    for bad in ["", "   ", "a b", &"x".repeat(65)] {
        let e = json_of(
            app.post_as(app.token(Role::Warehouse), "/api/v1/pack/scan", &json!({"station": "PS1", "code": bad})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_paths(&e), ["code"], "{bad:?}");
    }
    let r = app.post_as(app.token(Role::Warehouse), "/api/v1/pack/scan", &json!({"station": "PS9", "code": "x"})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app.post_as(app.token(Role::Viewer), "/api/v1/pack/scan", &json!({"station": "PS1", "code": "x"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let cancelled = new_order(&app, "F-300", "LAMP-01", 1).await;
    let cid = cancelled["id"].as_str().unwrap();
    json_of(app.post(&format!("/api/v1/orders/{cid}/cancel"), &json!({"reason": "buyer"})).await, StatusCode::OK).await;
    let c = scan(&app, "F-300", None).await;
    assert_eq!((c["event"].as_str(), c["values"]["status"].as_str()), (Some("not_packable"), Some("cancelled")));

    let o = new_order(&app, "F-301", "LAMP-01", 1).await;
    let opened = scan(&app, "F-301", None).await;
    let pack = opened["pack"]["id"].as_str().unwrap().to_owned();
    let same = scan(&app, "F-301", None).await;
    assert_eq!((same["signal"].as_str(), same["event"].as_str()), (Some("info"), Some("already_open")));
    scan(&app, "LAMP-01", Some(&pack)).await;
    for (body, field) in [
        (json!({"weight_g": 0}), "weight_g"),
        (json!({"weight_g": -40}), "weight_g"),
        (json!({"weight_g": 900_000}), "weight_g"),
        (json!({"weight_g": 440, "length_cm": 10}), "length_cm"),
        (json!({"weight_g": 440, "length_cm": 10, "width_cm": 0, "height_cm": 5}), "width_cm"),
        (json!({"weight_g": 440, "source": "guess"}), "source"),
    ] {
        let r = app.post_as(app.token(Role::Warehouse), &format!("/api/v1/pack/{pack}/weigh"), &body).await;
        let e = json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_paths(&e), [field], "{body}");
    }
    let none = weigh(&app, &pack, json!({})).await;
    assert_eq!(none["event"], "no_reading", "no scale has sent anything: {none}");
    // The printer does not answer: the parcel is weighed and packed, its label not printed; scanning it again
    // tries the printer again, and weighing it again is refused.
    let w = weigh(&app, &pack, json!({"weight_g": 445})).await;
    assert_eq!((w["signal"].as_str(), w["event"].as_str()), (Some("wrong"), Some("print_failed")), "{w}");
    assert!(w["message"].as_str().unwrap().contains(&dead), "{w}");
    assert_eq!((w["pack"]["status"].as_str(), w["pack"]["printed_at"].as_str()), (Some("packed"), None));
    let p = printer().await;
    let st = json!({"name": "Pack 1", "warehouse": "SZ1", "printer": p.addr});
    json_of(app.put("/api/v1/stations/PS1", &st).await, StatusCode::OK).await;
    let again = scan(&app, o["id"].as_str().unwrap(), None).await;
    assert_eq!((again["signal"].as_str(), again["event"].as_str()), (Some("done"), Some("reprinted")), "{again}");
    assert_eq!(p.jobs(1).await.len(), 1);
    let weighs = history_actions(&app, o["id"].as_str().unwrap()).await.iter().filter(|a| *a == "pack_weigh").count();
    assert_eq!(weighs, 1, "weighed once");

    // Barcodes: a GTIN with a wrong check digit by index, one code on two products refused.
    let e = json_of(
        app.put("/api/v1/products/MUG-02/barcodes", &json!({"barcodes": ["OK-1", "4006381333932"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["barcodes[1]"]);
    let e = json_of(
        app.put("/api/v1/products/MUG-02/barcodes", &json!({"barcodes": ["4006381333931"]})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(e["code"], "barcode_taken");
    assert!(e["detail"].as_str().unwrap().contains("LAMP-01"), "{e}");
    let e = json_of(
        app.put("/api/v1/stations/PS2", &json!({"name": "", "warehouse": "NOPE", "printer": "http://x/"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let mut paths = error_paths(&e);
    paths.sort();
    assert_eq!(paths, ["name", "printer"], "{e}");
    let r = app
        .client
        .put(app.url("/api/v1/stations/PS2"))
        .bearer_auth(app.token(Role::Ops))
        .json(&json!({"name": "x", "warehouse": "SZ1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "stations are the admin's");
}

async fn a_dimensioning_device_weighs_a_parcel_by_its_waybill_with_its_stations_token(engine: Engine) {
    let app = spawn_app_with_sandbox(engine).await;
    floor(&app, None, &[channel("SBX-SA", "20.00", None)]).await;
    json_of(app.put("/api/v1/stations/PS2", &json!({"name": "Pack 2", "warehouse": "SZ1"})).await, StatusCode::CREATED)
        .await;
    let t1 = json_of(app.post("/api/v1/stations/PS1/token", &json!({})).await, StatusCode::CREATED).await;
    let t1 = t1["token"].as_str().unwrap().to_owned();
    let t2 = json_of(app.post("/api/v1/stations/PS2/token", &json!({})).await, StatusCode::CREATED).await;
    let t2 = t2["token"].as_str().unwrap().to_owned();
    let station = json_of(app.get("/api/v1/stations/PS1").await, StatusCode::OK).await;
    assert_eq!(station["has_device_token"], true);
    assert!(!station.to_string().contains(&t1), "never shown again");

    new_order(&app, "F-400", "LAMP-01", 1).await;
    let opened = scan(&app, "F-400", None).await;
    let pack = opened["pack"]["id"].as_str().unwrap().to_owned();
    let waybill = opened["pack"]["tracking_number"].as_str().unwrap().to_owned();
    scan(&app, "LAMP-01", Some(&pack)).await;

    let post = |token: String, body: Value| {
        let c = app.client.clone();
        let url = app.url("/api/v1/floor/readings");
        async move { c.post(url).bearer_auth(token).json(&body).send().await.unwrap() }
    };
    let r = post("cfd_nope".into(), json!({"weight_g": 450, "stable": true})).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = post(app.admin.clone(), json!({"weight_g": 450, "stable": true})).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "an API token is not a device token");
    let e = json_of(
        post(t2.clone(), json!({"station": "PS1", "weight_g": 450, "stable": true})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(e["detail"].as_str().unwrap().contains("PS2"), "{e}");
    let e = json_of(post(t1.clone(), json!({"weight_g": -3, "stable": true})).await, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(error_paths(&e), ["weight_g"]);

    // Still moving on the scale: not taken.
    json_of(post(t1.clone(), json!({"weight_g": 470, "stable": false})).await, StatusCode::CREATED).await;
    let moving = weigh(&app, &pack, json!({})).await;
    assert_eq!(moving["event"], "scale_moving", "{moving}");
    // A DWS reading for this waybill (from any station's device) wins over the scale.
    let dws = json!({"waybill": waybill, "weight_g": 452, "length_cm": 25, "width_cm": 18, "height_cm": 9,
                     "stable": true, "source": "dws"});
    json_of(post(t2, dws).await, StatusCode::CREATED).await;
    let w = weigh(&app, &pack, json!({})).await;
    assert_eq!((w["event"].as_str(), w["pack"]["reading_source"].as_str()), (Some("passed"), Some("dws")), "{w}");
    assert_eq!(w["pack"]["weight_g"], 452);
    assert_eq!(w["pack"]["dims_cm"], json!([25, 18, 9]));
    assert_eq!(
        w["pack"]["label"].as_str().unwrap(),
        format!("/api/v1/shipments/{}/label?format=pdf", w["pack"]["shipment_id"].as_str().unwrap()),
        "no printer at this station: the PDF opens in the browser"
    );
}

async fn a_wave_batches_single_units_slots_the_rest_and_its_ticket_opens_its_parcels_in_turn(engine: Engine) {
    let app = spawn_app_with_sandbox(engine).await;
    floor(&app, None, &[channel("SBX-SA", "20.00", None)]).await;
    json_of(app.put("/api/v1/stock/SZ1/LAMP-01", &json!({"location": "B-02-1"})).await, StatusCode::OK).await;
    let three = new_order(&app, "W-3", "LAMP-01", 3).await;
    new_order(&app, "W-1a", "LAMP-01", 1).await;
    let two = new_order(&app, "W-2", "MUG-02", 2).await;
    new_order(&app, "W-1b", "MUG-02", 1).await;
    let r = app.post_as(app.token(Role::Viewer), "/api/v1/waves", &json!({"warehouse": "SZ1"})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let e = json_of(
        app.post("/api/v1/waves", &json!({"warehouse": "SZ1", "limit": 0})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["limit"]);
    let r = app.post("/api/v1/waves", &json!({"warehouse": "NOPE"})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The sandbox carrier picks up at 14:00: a wave for the noon pickups has nothing, one for 14:00 has all.
    let mut rules = json_of(app.get("/api/v1/floor/rules").await, StatusCode::OK).await;
    rules["carrier_cutoffs"] = json!({"sandbox": "25:00"});
    let e = json_of(app.put("/api/v1/floor/rules", &rules).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(e.to_string().contains("carrier_cutoffs.sandbox"), "{e}");
    rules["carrier_cutoffs"] = json!({"sandbox": "14:00"});
    let saved = json_of(app.put("/api/v1/floor/rules", &rules).await, StatusCode::OK).await;
    assert_eq!(saved["carrier_cutoffs"]["sandbox"], "14:00");
    let noon = app.post("/api/v1/waves", &json!({"warehouse": "SZ1", "cutoff": "12:00"})).await;
    assert_eq!(json_of(noon, StatusCode::CONFLICT).await["code"], "nothing_to_pick");
    let e = json_of(
        app.post("/api/v1/waves", &json!({"warehouse": "SZ1", "cutoff": "9am"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["cutoff"]);

    let body = json!({"warehouse": "SZ1", "cutoff": "14:00"});
    let w = json_of(app.post_as(app.token(Role::Warehouse), "/api/v1/waves", &body).await, StatusCode::CREATED).await;
    let code = w["code"].as_str().unwrap().to_owned();
    assert_eq!(code, "W000001");
    let slots: Vec<(String, Value)> = w["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["order_ref"].as_str().unwrap().to_owned(), o["slot"].clone()))
        .collect();
    assert_eq!(
        slots[..2].iter().map(|s| &s.1).collect::<Vec<_>>(),
        [&Value::Null, &Value::Null],
        "single units first: {slots:?}"
    );
    assert_eq!(slots[2], ("W-3".to_owned(), json!(1)), "{slots:?}");
    assert_eq!(slots[3], ("W-2".to_owned(), json!(2)), "{slots:?}");
    let e = json_of(app.post("/api/v1/waves", &json!({"warehouse": "SZ1"})).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "nothing_to_pick", "every order is in a wave already");

    let id = w["id"].as_str().unwrap();
    let r = app.get(&format!("/api/v1/waves/{id}/pick-list")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let pdf = r.bytes().await.unwrap();
    let shown: Vec<String> = codflow_documents::inspect::pages(&pdf)
        .unwrap()
        .iter()
        .flat_map(|p| codflow_documents::inspect::texts(p))
        .collect();
    assert!(shown.iter().any(|t| t.contains("slot 1: W-3")), "{shown:?}");
    assert!(shown.contains(&"W000001".to_owned()) || shown.iter().any(|t| t.contains("W000001")), "{shown:?}");
    let lamp = shown.iter().position(|t| t == "LAMP-01").unwrap();
    assert_eq!(shown[lamp + 2], "4", "1 + 3 lamps on one line at B-02-1: {shown:?}");

    // The ticket opens the wave's parcels in turn; a slot opens its own.
    let first = scan(&app, &code, None).await;
    assert_eq!(
        (first["event"].as_str(), first["pack"]["order_ref"].as_str()),
        (Some("opened"), Some(slots[0].0.as_str()))
    );
    let slot2 = scan(&app, &format!("{code}-02"), None).await;
    assert_eq!(slot2["pack"]["order_id"], two["id"], "{slot2}");
    let none = scan(&app, &format!("{code}-09"), None).await;
    assert_eq!((none["signal"].as_str(), none["event"].as_str()), (Some("info"), Some("no_such_slot")));
    let unknown = scan(&app, "W999999", None).await;
    assert_eq!(unknown["event"], "unknown_code");
    let p = slot2["pack"]["id"].as_str().unwrap().to_owned();
    scan(&app, "MUG-02", Some(&p)).await;
    scan(&app, "MUG-02", Some(&p)).await;
    let w2 = weigh(&app, &p, json!({"weight_g": 860})).await;
    assert_eq!(w2["event"], "passed", "{w2}");
    let now = json_of(app.get(&format!("/api/v1/waves/{id}")).await, StatusCode::OK).await;
    assert_eq!(now["packed"], 1);
    let listed = json_of(app.get("/api/v1/waves").await, StatusCode::OK).await;
    assert_eq!(listed[0]["code"], code);
    let h = history_actions(&app, three["id"].as_str().unwrap()).await;
    assert!(h.contains(&"wave".to_owned()), "{h:?}");
}

/// Packs an order through the API: open, scan its lamps, weigh as expected. Returns the pack.
pub(crate) async fn pack_one(app: &TestApp, ext: &str, lamps: i64) -> Value {
    new_order(app, ext, "LAMP-01", lamps).await;
    let opened = scan(app, ext, None).await;
    let pack = opened["pack"]["id"].as_str().unwrap().to_owned();
    for _ in 0..lamps {
        scan(app, "LAMP-01", Some(&pack)).await;
    }
    let w = weigh(app, &pack, json!({"weight_g": 420 * lamps + 20})).await;
    assert_eq!(w["event"], "passed", "{w}");
    w["pack"].clone()
}

async fn packed_parcels_are_bagged_by_destination_handed_over_on_a_manifest_and_one_left_behind_is_flagged(
    engine: Engine,
) {
    let app = spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    let a = pack_one(&app, "G-1", 1).await;
    let b = pack_one(&app, "G-2", 2).await;
    let sort = |code: String| {
        let (c, url, t) = (app.client.clone(), app.url("/api/v1/bags/sort"), app.token(Role::Warehouse).to_owned());
        async move {
            json_of(c.post(url).bearer_auth(t).json(&json!({"code": code})).send().await.unwrap(), StatusCode::OK).await
        }
    };
    let first = sort(a["tracking_number"].as_str().unwrap().to_owned()).await;
    assert_eq!((first["event"].as_str(), first["bag"]["code"].as_str()), (Some("new_bag"), Some("B000001")), "{first}");
    let second = sort("G-2".into()).await;
    assert_eq!((second["event"].as_str(), second["bag"]["parcels"].as_i64()), (Some("bagged"), Some(2)), "{second}");
    assert_eq!(second["bag"]["weight_g"], 440 + 860);
    let again = sort("G-2".into()).await;
    assert_eq!((again["signal"].as_str(), again["event"].as_str()), (Some("info"), Some("already_bagged")));
    new_order(&app, "G-3", "LAMP-01", 1).await;
    let unpacked = sort("G-3".into()).await;
    assert_eq!((unpacked["signal"].as_str(), unpacked["event"].as_str()), (Some("wrong"), Some("not_packed")));
    let r = app.post_as(app.token(Role::Warehouse), "/api/v1/bags/sort", &json!({"code": ""})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let bag = first["bag"]["id"].as_str().unwrap().to_owned();
    let closed = json_of(app.post(&format!("/api/v1/bags/{bag}/close"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(closed["status"], "closed");
    let e = json_of(app.post(&format!("/api/v1/bags/{bag}/close"), &json!({})).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "bag_not_open");
    let zpl = app.get(&format!("/api/v1/bags/{bag}/label")).await.text().await.unwrap();
    assert_valid_zpl(&zpl);
    assert!(zpl.contains("^FDB000001^FS") && zpl.contains("2 parcels"), "{zpl}");
    let pdf = app.get(&format!("/api/v1/bags/{bag}/label?format=pdf")).await.bytes().await.unwrap();
    let page = &codflow_documents::inspect::pages(&pdf).unwrap()[0];
    assert_eq!(codflow_documents::inspect::barcode(page).as_deref(), Some("B000001"), "the list scans as its bag");
    // A fourth parcel after the bag closed starts a new bag of the same destination.
    let c = pack_one(&app, "G-4", 1).await;
    let fourth = sort("G-4".into()).await;
    assert_eq!(fourth["bag"]["code"], "B000002", "{fourth}");

    let h = json_of(app.post("/api/v1/handovers", &json!({"carrier": "sandbox"})).await, StatusCode::CREATED).await;
    assert_eq!((h["bags"].as_array().unwrap().len(), h["parcels"].as_i64()), (1, Some(2)), "only closed bags: {h}");
    let e = json_of(app.post("/api/v1/handovers", &json!({"carrier": "sandbox"})).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "nothing_to_hand_over");
    let hid = h["id"].as_str().unwrap();
    // The sandbox carrier took the bag and the pickup's manifest through its API.
    let carrier = app.carrier.clone().unwrap();
    let manifest_no = h["carrier_manifest"].as_str().expect("a manifest number").to_owned();
    assert!(h["carrier_error"].is_null() && h["carrier_api"] == true, "{h}");
    assert!(h["bags"][0]["carrier_bag"].as_str().unwrap().starts_with("SBXBAG"), "{h}");
    let at_carrier: Value =
        app.client.get(format!("{carrier}/v1/manifests/{manifest_no}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (at_carrier["manifest"]["reference"].as_str(), at_carrier["manifest"]["parcels"].as_i64()),
        (Some(hid), Some(2)),
        "{at_carrier}"
    );
    let mut carried: Vec<&str> =
        at_carrier["bags"][0]["tracking_numbers"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    carried.sort();
    let mut ours = vec![a["tracking_number"].as_str().unwrap(), b["tracking_number"].as_str().unwrap()];
    ours.sort();
    assert_eq!(carried, ours);
    let resent = json_of(app.post(&format!("/api/v1/handovers/{hid}/send"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(resent["carrier_manifest"], manifest_no.as_str(), "sending again changes nothing");
    let scan_bag = |code: &str| {
        let (c, url, t) = (
            app.client.clone(),
            app.url(&format!("/api/v1/handovers/{hid}/scan")),
            app.token(Role::Warehouse).to_owned(),
        );
        let body = json!({"code": code});
        async move { c.post(url).bearer_auth(t).json(&body).send().await.unwrap() }
    };
    let wrong = json_of(scan_bag("B000002").await, StatusCode::OK).await;
    assert_eq!(wrong["event"], "not_in_pickup", "the open bag is not in this pickup");
    let done = json_of(scan_bag("B000001").await, StatusCode::OK).await;
    assert_eq!((done["signal"].as_str(), done["bag"]["status"].as_str()), (Some("done"), Some("handed_over")));
    let twice = json_of(scan_bag("B000001").await, StatusCode::OK).await;
    assert_eq!(twice["signal"], "info");
    let h = history_actions(&app, a["order_id"].as_str().unwrap()).await;
    assert_eq!(h.iter().filter(|x| *x == "bag" || *x == "hand_over").count(), 2, "bagged and handed over once: {h:?}");
    let csv = app.get(&format!("/api/v1/handovers/{hid}/manifest?format=csv")).await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 3, "a header and one row per parcel: {csv}");
    for t in [&a["tracking_number"], &b["tracking_number"]] {
        assert!(csv.contains(t.as_str().unwrap()), "{csv}");
    }
    let pdf = app.get(&format!("/api/v1/handovers/{hid}/manifest")).await.bytes().await.unwrap();
    let shown: Vec<String> = codflow_documents::inspect::pages(&pdf)
        .unwrap()
        .iter()
        .flat_map(|p| codflow_documents::inspect::texts(p))
        .collect();
    assert!(shown.iter().any(|t| t == a["tracking_number"].as_str().unwrap()), "{shown:?}");

    // Past the cut-off, the parcel in the open bag (never handed over) opens a task; the handed-over ones do not.
    // (Checked before the second pickup below takes that bag.)
    let floor_app = codflow_app::App::new(app.store.clone());
    let opened = floor_app.floor().flag_missed_pickups(time::Duration::ZERO).await.unwrap();
    assert_eq!(opened, 1);
    let tasks = json_of(app.get("/api/v1/tasks?kind=missed_pickup").await, StatusCode::OK).await;
    assert_eq!(tasks["items"][0]["shipment_id"], c["shipment_id"], "{tasks}");
    assert_eq!(floor_app.floor().flag_missed_pickups(time::Duration::ZERO).await.unwrap(), 0, "one task per parcel");

    let stats = json_of(app.get("/api/v1/floor/stats").await, StatusCode::OK).await;
    assert_eq!((stats["bags_open"].as_i64(), stats["bags_awaiting_pickup"].as_i64()), (Some(1), Some(0)), "{stats}");

    // The carrier's API fails for the second pickup: the pickup stands with the reason, and a retry sends it.
    let bag2 = fourth["bag"]["id"].as_str().unwrap();
    json_of(app.post(&format!("/api/v1/bags/{bag2}/close"), &json!({})).await, StatusCode::OK).await;
    let fault = app
        .client
        .post(format!("{carrier}/v1/_faults"))
        .json(&json!({"kind": "error", "endpoint": "manifests"}))
        .send()
        .await
        .unwrap();
    assert!(fault.status().is_success());
    let h2 = json_of(app.post("/api/v1/handovers", &json!({"carrier": "sandbox"})).await, StatusCode::CREATED).await;
    assert!(h2["carrier_manifest"].is_null(), "{h2}");
    assert!(h2["carrier_error"].as_str().unwrap().contains("unavailable"), "{h2}");
    let h2id = h2["id"].as_str().unwrap();
    let sent = json_of(
        app.post_as(app.token(Role::Warehouse), &format!("/api/v1/handovers/{h2id}/send"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    let second_no = sent["carrier_manifest"].as_str().expect("sent on retry");
    assert!(sent["carrier_error"].is_null() && second_no != manifest_no, "{sent}");
    let r = app.client.get(format!("{carrier}/v1/manifests/{second_no}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let stats = json_of(app.get("/api/v1/floor/stats").await, StatusCode::OK).await;
    let weighed: i64 =
        stats["per_station_hour"].as_array().unwrap().iter().map(|r| r["parcels"].as_i64().unwrap()).sum();
    assert_eq!(weighed, 3, "{stats}");
    assert_eq!(stats["outcomes"]["passed"], 3);
    assert_eq!((stats["bags_open"].as_i64(), stats["bags_awaiting_pickup"].as_i64()), (Some(0), Some(1)), "{stats}");
    let e = json_of(app.get("/api/v1/floor/stats?date=2026-13-40").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["date"]);
    let other_day = json_of(app.get("/api/v1/floor/stats?date=2020-01-01").await, StatusCode::OK).await;
    assert_eq!(other_day["per_station_hour"], json!([]), "nothing weighed that day");
}

async fn an_aramex_pickup_is_booked_with_the_handed_over_waybills_at_the_accounts_pickup_point(engine: Engine) {
    let app = spawn_app_with_sandbox(engine).await;
    let server = app.carrier.clone().unwrap();
    let mut credentials = json!({
        "user_name": codflow_sandbox_carrier::aramex::TEST_USER, "password": codflow_sandbox_carrier::aramex::TEST_PASSWORD,
        "account_number": codflow_sandbox_carrier::aramex::TEST_ACCOUNT, "account_pin": codflow_sandbox_carrier::aramex::TEST_PIN,
        "account_entity": "RUH", "account_country_code": "SA"});
    let account = |credentials: &Value| {
        json!({"code": "aramex-ruh", "carrier": "aramex", "name": "Aramex Riyadh",
               "base_url": format!("{server}/aramex/ShippingAPI.V2"), "credentials": credentials})
    };
    json_of(app.post("/api/v1/carrier-accounts", &account(&credentials)).await, StatusCode::CREATED).await;
    let mut c = channel("ARX-SA", "20.00", None);
    c["carrier"] = json!("aramex");
    c["carrier_account"] = json!("aramex-ruh");
    floor(&app, None, &[c]).await;
    let a = pack_one(&app, "X-1", 1).await;
    let sorted = json_of(
        app.post_as(app.token(Role::Warehouse), "/api/v1/bags/sort", &json!({"code": "X-1"})).await,
        StatusCode::OK,
    )
    .await;
    let bag = sorted["bag"]["id"].as_str().unwrap().to_owned();
    json_of(app.post(&format!("/api/v1/bags/{bag}/close"), &json!({})).await, StatusCode::OK).await;

    // Without a pickup point the pickup is kept, with why Aramex was not asked; nothing reached Aramex.
    let h = json_of(app.post("/api/v1/handovers", &json!({"carrier": "aramex"})).await, StatusCode::CREATED).await;
    assert_eq!(h["carrier_api"], true, "{h}");
    assert!(h["carrier_manifest"].is_null(), "{h}");
    assert!(h["carrier_error"].as_str().unwrap().contains("pickup_contact"), "{h}");
    let stats = |server: String| async move {
        let r = reqwest::Client::new().get(format!("{server}/v1/_stats")).send().await.unwrap();
        r.json::<Value>().await.unwrap()["aramex_pickups"].clone()
    };
    assert_eq!(stats(server.clone()).await, json!([]));

    // With it, sending again books the collection of the bag's waybill, once.
    for (k, v) in [
        ("pickup_contact", "Riyadh DC"),
        ("pickup_phone", "+966112345678"),
        ("pickup_address", "Al Sulay, Warehouse 4"),
        ("pickup_city", "Riyadh"),
    ] {
        credentials[k] = json!(v);
    }
    let mut update = account(&credentials);
    update.as_object_mut().unwrap().remove("code");
    json_of(app.put("/api/v1/carrier-accounts/aramex-ruh", &update).await, StatusCode::OK).await;
    let hid = h["id"].as_str().unwrap();
    let sent = json_of(app.post(&format!("/api/v1/handovers/{hid}/send"), &json!({})).await, StatusCode::OK).await;
    let number = sent["carrier_manifest"].as_str().expect("Aramex's pickup").to_owned();
    assert!(sent["carrier_error"].is_null(), "{sent}");
    let again = json_of(app.post(&format!("/api/v1/handovers/{hid}/send"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(again["carrier_manifest"], number.as_str());
    let pickups = stats(server).await;
    assert_eq!(pickups.as_array().unwrap().len(), 1, "{pickups}");
    assert_eq!(pickups[0]["reference"], hid);
    assert_eq!(pickups[0]["waybills"], json!([a["tracking_number"]]));
    assert!(number.starts_with(pickups[0]["id"].as_str().unwrap()), "{number} {pickups}");
}

async fn an_orders_box_is_recommended_from_the_warehouses_boxes_and_its_products_packing(engine: Engine) {
    let app = spawn_app_with_sandbox(engine).await;
    floor(&app, None, &[channel("SBX-SA", "20.00", None)]).await;
    let carton = |inner: [i64; 3], cost: &str| {
        json!({"kind": "carton", "inner_mm": inner, "empty_weight_g": 150,
               "cost": {"amount": cost, "currency": "SAR"}, "max_load_g": 10000})
    };
    let r = app.put("/api/v1/warehouses/SZ1/boxes/S", &carton([220, 170, 120], "1.00")).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let m =
        json_of(app.put("/api/v1/warehouses/SZ1/boxes/M", &carton([300, 250, 200], "1.80")).await, StatusCode::CREATED)
            .await;
    assert_eq!(m["outer_mm"], json!([308, 258, 208]), "{m}");
    json_of(app.put("/api/v1/warehouses/SZ1/boxes/S", &carton([220, 170, 120], "0.90")).await, StatusCode::OK).await;
    let list = json_of(app.get("/api/v1/warehouses/SZ1/boxes").await, StatusCode::OK).await;
    assert_eq!(list.as_array().unwrap().iter().map(|b| b["code"].as_str().unwrap()).collect::<Vec<_>>(), ["M", "S"]);
    assert_eq!(list[1]["cost"]["amount"], "0.90");

    let o = new_order(&app, "P-1", "LAMP-01", 1).await;
    let id = o["id"].as_str().unwrap();
    let e = json_of(app.get(&format!("/api/v1/orders/{id}/packaging")).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "no_packing_plan");
    assert!(e["detail"].as_str().unwrap().contains("LAMP-01 has no packing size"), "{e}");
    json_of(app.get("/api/v1/products/LAMP-01/packing").await, StatusCode::NOT_FOUND).await;
    let lamp = json!({"dims_mm": [200, 150, 100]});
    let put_as =
        |token: String, path: &str, body: &Value| app.client.put(app.url(path)).bearer_auth(token).json(body).send();
    json_of(
        put_as(app.token(Role::Warehouse).to_owned(), "/api/v1/products/LAMP-01/packing", &lamp).await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let r = json_of(app.get(&format!("/api/v1/orders/{id}/packaging")).await, StatusCode::OK).await;
    assert_eq!(r["boxes"][0]["code"], "S", "{r}");
    assert_eq!(r["expected_weight_g"], 420 + 150);
    assert_eq!(r["next_up"]["code"], "M");
    // Fragile, the lamp needs its padding: the small carton no longer takes it.
    let fragile = json!({"dims_mm": [200, 150, 100], "fragile": true});
    json_of(app.put("/api/v1/products/LAMP-01/packing", &fragile).await, StatusCode::OK).await;
    let r = json_of(app.get(&format!("/api/v1/orders/{id}/packaging")).await, StatusCode::OK).await;
    assert_eq!(r["boxes"][0]["code"], "M", "{r}");
    assert_eq!(r["boxes"][0]["box_cost"], json!({"amount": "1.80", "currency": "SAR"}));
    let s = r["considered"].as_array().unwrap().iter().find(|c| c["code"] == "S").unwrap().clone();
    assert_eq!(s["why_not"], "LAMP-01 is larger than the box with its fragile padding");
    assert_eq!(
        json_of(app.get("/api/v1/products/LAMP-01/packing").await, StatusCode::OK).await,
        json!({"dims_mm": [200, 150, 100], "fragile": true, "keep_upright": false, "can_bag": false})
    );
    // The packer sees it at the pack station when the parcel is opened.
    let opened = scan(&app, "P-1", None).await;
    let pack = opened["pack"]["id"].as_str().expect("a pack opened").to_owned();
    crate::console::user(&app, "packer", Role::Warehouse).await;
    let c = crate::console::browser();
    let (_, session) = crate::console::log_in(&app, &c, "packer", "long enough secret").await;
    let cookie = format!("codflow_session={}", session.expect("a session"));
    let (status, html) = crate::console::page(&c, &app, &cookie, "/pack?station=PS1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"box-advice\">Box: M"), "{html}");
    // The weight check expects the lamp in that box: 420 g and the carton's 150 g, not the floor's 20 g allowance.
    scan(&app, "LAMP-01", Some(&pack)).await;
    let w = weigh(&app, &pack, json!({"weight_g": 570})).await;
    assert_eq!(w["event"], "passed", "{w}");

    // Bad input is refused by field and changes nothing.
    let bad = json!({"kind": "crate", "inner_mm": [0, 10, 10], "empty_weight_g": -1,
                     "cost": {"amount": "x", "currency": "SAR"}, "max_load_g": 0});
    let p = json_of(app.put("/api/v1/warehouses/SZ1/boxes/X", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&p), ["kind", "cost.amount"], "{p}");
    let p = json_of(
        app.put("/api/v1/warehouses/SZ1/boxes/X", &carton([0, 10, 10], "-1.00")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&p), ["inner_mm[0]", "cost"], "{p}");
    let p = json_of(
        app.put("/api/v1/warehouses/SZ1/boxes/bad%20code", &carton([10, 10, 10], "1.00")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&p), ["code"], "{p}");
    let r = app
        .client
        .put(app.url("/api/v1/warehouses/SZ1/boxes/X"))
        .bearer_auth(app.token(Role::Ops))
        .header("content-type", "application/json")
        .body("{\"kind\": \"carton\", \"extra\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    json_of(app.put("/api/v1/warehouses/NOPE/boxes/X", &carton([10, 10, 10], "1.00")).await, StatusCode::NOT_FOUND)
        .await;
    let p = json_of(
        app.put(
            "/api/v1/products/LAMP-01/packing",
            &json!({"dims_mm": [10, 10, 10], "keep_upright": true, "can_bag": true}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&p), ["can_bag"], "{p}");
    json_of(app.put("/api/v1/products/NOPE/packing", &lamp).await, StatusCode::NOT_FOUND).await;
    let viewer = app.token(Role::Viewer).to_owned();
    let r = put_as(viewer, "/api/v1/warehouses/SZ1/boxes/S", &carton([10, 10, 10], "1.00")).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let list = json_of(app.get("/api/v1/warehouses/SZ1/boxes").await, StatusCode::OK).await;
    assert_eq!(list.as_array().unwrap().len(), 2, "nothing was written: {list}");
    assert_eq!(app.delete("/api/v1/warehouses/SZ1/boxes/S").await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.delete("/api/v1/warehouses/SZ1/boxes/S").await.status(), StatusCode::NOT_FOUND);
}
