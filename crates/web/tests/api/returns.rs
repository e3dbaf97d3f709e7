use codflow_domain::Role;
use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::floor::{channel, floor, pack_one, printer};
use crate::helpers::{TestApp, error_paths, json_of};

codflow_store::on_both_engines!(
    a_refused_parcel_is_expected_back_received_by_scan_graded_and_only_then_restocked_with_its_loss_in_the_ledger,
    a_return_that_never_arrives_opens_a_task_and_given_up_writes_its_goods_off_until_it_turns_up,
    a_refused_parcel_held_abroad_is_sold_from_the_return_warehouse_to_the_next_order_there,
    damage_found_on_a_return_teaches_the_box_recommendation_to_choose_the_sturdier_box,
);

fn ago(d: Duration) -> String {
    (OffsetDateTime::now_utc() - d).format(&Rfc3339).unwrap()
}

pub(crate) async fn events(app: &TestApp, tn: &str, codes: &[(&str, Duration)]) {
    let events: Vec<Value> =
        codes.iter().map(|(c, d)| json!({"tracking_number": tn, "code": c, "at": ago(*d)})).collect();
    let r = json_of(app.post("/api/v1/tracking/events", &json!({"events": events})).await, StatusCode::OK).await;
    assert_eq!(r["new"], codes.len(), "{r}");
}

async fn as_warehouse(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.post_as(app.token(Role::Warehouse), path, body).await
}

async fn on_hand(app: &TestApp) -> (i64, i64) {
    let s = app.stock("LAMP-01").await;
    (s["on_hand"].as_i64().unwrap(), s["reserved"].as_i64().unwrap())
}

async fn order_status(app: &TestApp, id: &str) -> String {
    json_of(app.get(&format!("/api/v1/orders/{id}")).await, StatusCode::OK).await["status"].as_str().unwrap().to_owned()
}

async fn a_refused_parcel_is_expected_back_received_by_scan_graded_and_only_then_restocked_with_its_loss_in_the_ledger(
    engine: Engine,
) {
    let app = crate::helpers::spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    let pack = pack_one(&app, "R-1", 3).await;
    let tn = pack["tracking_number"].as_str().unwrap().to_owned();
    let order = pack["order_id"].as_str().unwrap().to_owned();
    events(&app, &tn, &[("PKP", Duration::hours(50)), ("RTS", Duration::hours(30))]).await;

    // Returning: expected, nothing restocked, the order still out.
    let list = json_of(app.get("/api/v1/returns?status=expected").await, StatusCode::OK).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let id = items[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(items[0]["tracking_number"], tn.as_str());
    assert_eq!(items[0]["warehouse"], "SZ1");
    assert!(items[0]["carrier_returned_at"].is_null());
    assert_eq!(on_hand(&app).await, (47, 0));
    // The carrier says it is back: still nothing on the shelf until the warehouse scans it.
    events(&app, &tn, &[("RTD", Duration::hours(2))]).await;
    let r = json_of(app.get(&format!("/api/v1/returns/{id}")).await, StatusCode::OK).await;
    assert!(r["carrier_returned_at"].is_string(), "{r}");
    assert_eq!(r["status"], "expected");
    assert_eq!(
        r["shipped"],
        json!([{"sku": "LAMP-01", "quantity": 3, "unit_cost": {"amount": "12.00", "currency": "CNY"}}])
    );
    assert_eq!(on_hand(&app).await, (47, 0));
    assert_eq!(order_status(&app, &order).await, "fulfilled");
    // By tracking number too.
    let same = json_of(app.get(&format!("/api/v1/returns/{tn}")).await, StatusCode::OK).await;
    assert_eq!(same["id"], id.as_str());

    // Bad scans: an unknown parcel, an unknown warehouse, grading before receiving. Nothing changes.
    let e = json_of(
        as_warehouse(&app, "/api/v1/returns/receive", &json!({"warehouse": "SZ1", "code": "NOPE-123"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["code"]);
    assert!(e.to_string().contains("no parcel with tracking number NOPE-123"), "{e}");
    let e = json_of(
        as_warehouse(&app, "/api/v1/returns/receive", &json!({"warehouse": "XX9", "code": tn})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["warehouse"]);
    let grade_path = format!("/api/v1/returns/{id}/grade");
    let all_sellable = json!({"lines": [{"sku": "LAMP-01", "grade": "sellable", "quantity": 3}]});
    let e = json_of(as_warehouse(&app, &grade_path, &all_sellable).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "illegal_transition", "{e}");
    let list = json_of(app.get("/api/v1/returns").await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Garbage in the query is named.
    let e = json_of(app.get("/api/v1/returns?status=gone&overdue=maybe").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e)[0], "status");
    // A viewer cannot receive.
    let r =
        app.post_as(app.token(Role::Viewer), "/api/v1/returns/receive", &json!({"warehouse": "SZ1", "code": tn})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Received by scan; a second scan changes nothing.
    let got = json_of(
        as_warehouse(&app, "/api/v1/returns/receive", &json!({"warehouse": "SZ1", "code": format!(" {tn} ")})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((got["received_now"].as_bool(), got["return"]["status"].as_str()), (Some(true), Some("received")));
    assert_eq!(got["return"]["received_warehouse"], "SZ1");
    let again = json_of(
        as_warehouse(&app, "/api/v1/returns/receive", &json!({"warehouse": "SZ1", "code": tn})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["received_now"], false);
    assert_eq!(on_hand(&app).await, (47, 0));

    // Grading more than was shipped, or less, or a damaged unit restocked: refused, nothing moves.
    let over = json!({"lines": [{"sku": "LAMP-01", "grade": "sellable", "quantity": 4}]});
    let e = json_of(as_warehouse(&app, &grade_path, &over).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(e.to_string().contains("4 units of LAMP-01 graded but 3 were shipped"), "{e}");
    let bad = json!({"lines": [{"sku": "LAMP-01", "grade": "sellable", "quantity": 2},
        {"sku": "LAMP-01", "grade": "damaged", "quantity": 1, "disposition": "restock"},
        {"sku": "MUG-02", "grade": "sellable", "quantity": 1}]});
    let e = json_of(as_warehouse(&app, &grade_path, &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["lines[1].disposition", "lines[2].sku"]);
    let unknown = json!({"lines": [], "extra": 1});
    json_of(as_warehouse(&app, &grade_path, &unknown).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(on_hand(&app).await, (47, 0));

    // A photo of the damage: an image is kept and read back, anything else refused.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let photo_path = format!("/api/v1/returns/{id}/photos");
    let r = app
        .client
        .post(app.url(&photo_path))
        .bearer_auth(app.token(Role::Warehouse))
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(r, StatusCode::CREATED).await["number"], 1);
    let back = app.get(&format!("{photo_path}/1")).await;
    assert_eq!(back.headers()["content-type"], "image/png");
    assert_eq!(back.bytes().await.unwrap().to_vec(), png);
    let e = json_of(app.post_raw(&photo_path, "not an image").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["photo"]);

    // Graded: one back on the shelf (to a bin), one damaged and written off, one missing; a stray mug found.
    let graded = json!({"note": "box crushed", "lines": [
        {"sku": "LAMP-01", "grade": "sellable", "quantity": 1, "bin": "R-01"},
        {"sku": "LAMP-01", "grade": "damaged", "quantity": 1, "disposition": "write_off"},
        {"sku": "LAMP-01", "grade": "missing", "quantity": 1},
        {"sku": "MUG-02", "grade": "wrong", "quantity": 1}]});
    let done = json_of(as_warehouse(&app, &grade_path, &graded).await, StatusCode::OK).await;
    assert_eq!(done["status"], "closed");
    assert_eq!(done["note"], "box crushed");
    let dispositions: Vec<&Value> = done["lines"].as_array().unwrap().iter().map(|l| &l["disposition"]).collect();
    assert_eq!(dispositions, [&json!("restock"), &json!("write_off"), &Value::Null, &json!("quarantine")]);
    assert_eq!(on_hand(&app).await, (48, 0));
    let mug = app.stock("MUG-02").await;
    assert_eq!(mug["on_hand"], 50, "a quarantined unit is not sellable stock");
    assert_eq!(order_status(&app, &order).await, "closed");
    // The damaged and the missing lamp leave the books at cost (2 × 12.00 CNY), balanced.
    let legs = json_of(
        app.get(&format!("/api/v1/shipments/{}/ledger", pack["shipment_id"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    let of = |account: &str| -> Vec<Value> {
        legs.as_array().unwrap().iter().filter(|l| l["account"] == account).map(|l| l["amount"].clone()).collect()
    };
    assert_eq!(of("goods_written_off"), [json!({"amount": "24.00", "currency": "CNY"})], "{legs}");
    assert_eq!(of("inventory"), [json!({"amount": "-24.00", "currency": "CNY"})], "{legs}");
    // The quarantined mug is released onto the shelf later; nothing more is held, so a second release is refused.
    assert_eq!(done["lines"][3]["held"], 1);
    let release = format!("/api/v1/returns/{id}/release");
    let e = json_of(
        as_warehouse(&app, &release, &json!({"sku": "MUG-02", "quantity": 1, "to": "quarantine"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["to"]);
    let e = json_of(
        as_warehouse(&app, &release, &json!({"sku": "MUG-02", "quantity": 2, "to": "restock"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(e.to_string().contains("1 units of MUG-02 are held"), "{e}");
    let out = json_of(
        as_warehouse(&app, &release, &json!({"sku": "MUG-02", "quantity": 1, "to": "restock", "bin": "M-2"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(out["lines"][3]["held"], 0);
    assert_eq!(app.stock("MUG-02").await["on_hand"], 51);
    json_of(
        as_warehouse(&app, &release, &json!({"sku": "MUG-02", "quantity": 1, "to": "write_off"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // Graded once.
    let e = json_of(as_warehouse(&app, &grade_path, &all_sellable).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "illegal_transition");
    assert_eq!(on_hand(&app).await, (48, 0));

    // The export carries one row per graded line; the month count sets the carrier's word against ours.
    let csv = app.get("/api/v1/returns/export").await.text().await.unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(rows[0].starts_with("return_id,tracking_number,order,carrier"), "{csv}");
    assert!(rows.iter().any(|r| r.ends_with("LAMP-01,damaged,1,write_off")), "{csv}");
    let months = json_of(app.get("/api/v1/returns/months").await, StatusCode::OK).await;
    assert_eq!(months[0]["carrier"], "sandbox");
    assert_eq!(
        (&months[0]["started"], &months[0]["carrier_returned"], &months[0]["received"]),
        (&json!(1), &json!(1), &json!(1))
    );
    json_of(app.get("/api/v1/returns/months?months=99").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    // The return rate per channel (parcels) and per SKU (units), with what was lost at cost.
    let by_channel = json_of(app.get("/api/v1/returns/rates").await, StatusCode::OK).await;
    assert_eq!(
        by_channel,
        json!([{"key": "SBX-SA", "shipped": 1, "returned": 1, "received": 1, "rate_pct": "100.0",
                "written_off": [{"amount": "24.00", "currency": "CNY"}]}])
    );
    let by_sku = json_of(app.get("/api/v1/returns/rates?by=sku&days=30").await, StatusCode::OK).await;
    assert_eq!(
        (&by_sku[0]["key"], &by_sku[0]["shipped"], &by_sku[0]["returned"]),
        (&json!("LAMP-01"), &json!(3), &json!(3))
    );
    assert_eq!(by_sku[0]["written_off"], json!([{"amount": "24.00", "currency": "CNY"}]));
    let e = json_of(app.get("/api/v1/returns/rates?by=moon&days=0").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["by"]);
}

async fn a_return_that_never_arrives_opens_a_task_and_given_up_writes_its_goods_off_until_it_turns_up(engine: Engine) {
    let app = crate::helpers::spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    let pack = pack_one(&app, "R-2", 2).await;
    let tn = pack["tracking_number"].as_str().unwrap().to_owned();
    let order = pack["order_id"].as_str().unwrap().to_owned();
    // Turned back 45 days ago: with no history on the lane it was due in 30.
    events(&app, &tn, &[("PKP", Duration::days(50)), ("RTS", Duration::days(45))]).await;
    let r = &json_of(app.get("/api/v1/returns?overdue=true").await, StatusCode::OK).await["items"][0];
    assert_eq!(r["overdue"], true, "{r}");
    let id = r["id"].as_str().unwrap().to_owned();
    json_of(app.post("/api/v1/tracking/sweep", &json!({})).await, StatusCode::OK).await;
    let tasks = json_of(app.get("/api/v1/tasks?kind=return_overdue").await, StatusCode::OK).await;
    let open: Vec<&Value> =
        tasks["items"].as_array().unwrap().iter().filter(|t| t["kind"] == "return_overdue").collect();
    assert_eq!(open.len(), 1, "{tasks}");
    assert_eq!(open[0]["role"], "warehouse");
    // A second sweep opens no second task.
    json_of(app.post("/api/v1/tracking/sweep", &json!({})).await, StatusCode::OK).await;
    let again = json_of(app.get("/api/v1/tasks?kind=return_overdue").await, StatusCode::OK).await;
    assert_eq!(again["items"].as_array().unwrap().iter().filter(|t| t["kind"] == "return_overdue").count(), 1);

    let give_up = format!("/api/v1/returns/{id}/give-up");
    let e =
        json_of(as_warehouse(&app, &give_up, &json!({"reason": " "})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["reason"]);
    let lost =
        json_of(as_warehouse(&app, &give_up, &json!({"reason": "carrier cannot find it"})).await, StatusCode::OK).await;
    assert_eq!(lost["status"], "lost");
    assert_eq!(order_status(&app, &order).await, "closed");
    let ledger = format!("/api/v1/shipments/{}/ledger", pack["shipment_id"].as_str().unwrap());
    let sum = |legs: &Value| -> i64 {
        legs.as_array()
            .unwrap()
            .iter()
            .filter(|l| l["account"] == "goods_written_off")
            .map(|l| (l["amount"]["amount"].as_str().unwrap().parse::<f64>().unwrap() * 100.0).round() as i64)
            .sum()
    };
    assert_eq!(sum(&json_of(app.get(&ledger).await, StatusCode::OK).await), 2400);
    // The task closed with the return.
    let after = json_of(app.get("/api/v1/tasks?kind=return_overdue&status=open").await, StatusCode::OK).await;
    assert_eq!(
        after["items"].as_array().unwrap().iter().filter(|t| t["kind"] == "return_overdue").count(),
        0,
        "{after}"
    );
    let e = json_of(as_warehouse(&app, &give_up, &json!({"reason": "again"})).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "illegal_transition");

    // It turns up after all: received and graded sellable, the write-off is reversed and the lamps restocked.
    let got = json_of(
        as_warehouse(&app, "/api/v1/returns/receive", &json!({"warehouse": "SZ1", "code": tn})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["return"]["status"], "received");
    let all = json!({"lines": [{"sku": "LAMP-01", "grade": "sellable", "quantity": 2}]});
    json_of(as_warehouse(&app, &format!("/api/v1/returns/{id}/grade"), &all).await, StatusCode::OK).await;
    assert_eq!(on_hand(&app).await, (50, 0));
    assert_eq!(sum(&json_of(app.get(&ledger).await, StatusCode::OK).await), 0);
}

/// A warehouse worker's returns in headless Chromium: the list, the receiving scan (a wrong code answered,
/// the parcel's code opening its return), grading with a damaged unit written off, and the closed return.
#[tokio::test]
async fn a_returned_parcel_is_scanned_in_and_graded_at_the_console() {
    use codflow_app::App;
    use codflow_domain::Actor;

    use crate::browser::Browser;
    const ENTER: &str = "\u{E007}";

    let app = crate::helpers::spawn_app_with_sandbox(Engine::Sqlite).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    let pack = pack_one(&app, "RB-1", 3).await;
    let tn = pack["tracking_number"].as_str().unwrap().to_owned();
    events(&app, &tn, &[("PKP", Duration::hours(50)), ("RTS", Duration::hours(30)), ("RTD", Duration::hours(2))]).await;
    App::new(app.store.clone())
        .admin()
        .create_user("wang.wh", "long enough secret", Role::Warehouse, Actor::Worker("t".into()))
        .await
        .unwrap();

    let base = app.url("");
    let b = Browser::start().await;
    b.log_in(&base, "wang.wh", "long enough secret").await;
    b.wait_for_url("/orders").await;
    b.click(&b.find("nav a[href='/returns']").await).await;
    b.wait_for_url("/returns").await;
    assert_eq!(b.count("#returns tbody tr").await, 1);
    assert!(b.text(&b.find("#return-months").await).await.contains("sandbox"));
    b.screenshot("76-returns").await;
    b.click(&b.find("#scan-returns").await).await;
    b.wait_for_url("/returns/scan").await;
    let focused = "return document.activeElement && document.activeElement.id;";
    assert_eq!(b.run(focused, json!([])).await, "scan", "the scan field has the focus");
    b.type_into(&b.find("#scan").await, &format!("NOPE-1{ENTER}")).await;
    b.wait_for_text("#answer", "NOPE-1").await;
    // Before it is scanned in, its route is weighed (the goods' yuan put in riyal at the rate entered).
    let rate = json!({"from": "CNY", "to": "SAR", "rate": "0.52", "as_of": "2026-01-01", "source": "test"});
    json_of(app.put("/api/v1/fx-rates", &rate).await, StatusCode::OK).await;
    let id = json_of(app.get(&format!("/api/v1/returns/{tn}")).await, StatusCode::OK).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.goto(&format!("{base}/returns/{id}")).await;
    assert_eq!(b.count("#route tbody tr").await, 3);
    b.screenshot("79-return-route").await;
    b.goto(&format!("{base}/returns/scan")).await;
    b.type_into(&b.find("#scan").await, &format!("{tn}{ENTER}")).await;
    b.wait_for_url("scanned=received").await;
    assert_eq!(b.attr(&b.find("#return").await, "data-status").await.as_deref(), Some("received"));
    b.screenshot("77-return-grading").await;
    let set =
        "for (const [n, v] of arguments[0]) { document.querySelector(`[name=\"${n}\"]`).value = v; } return true;";
    let values = json!([
        ["sellable.LAMP-01", "2"],
        ["damaged.LAMP-01", "1"],
        ["damaged_to.LAMP-01", "quarantine"],
        ["bin.LAMP-01", "R-07"]
    ]);
    b.run(set, json!([values])).await;
    b.click(&b.find("#grade").await).await;
    b.wait_for_url("saved=1").await;
    assert_eq!(b.attr(&b.find("#return").await, "data-status").await.as_deref(), Some("closed"));
    assert_eq!(b.count("#graded tbody tr").await, 2);
    b.screenshot("78-return-graded").await;
    assert_eq!(on_hand(&app).await, (49, 0));
    // The quarantined lamp turns out fine: released onto the shelf.
    assert_eq!(b.count(".release-form").await, 1);
    b.click(&b.find(".release-form button").await).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b.count(".release-form").await > 0 {
        assert!(std::time::Instant::now() < deadline, "the held lamp was not released");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Damage by kind of box: every kind listed at its default until parcels packed in it come back damaged.
    b.goto(&format!("{base}/returns")).await;
    assert_eq!(b.count("#damage-rates tbody tr").await, 3);
    assert!(b.text(&b.find("#damage-rates").await).await.contains("1.50 %"), "a bag's default");
    // The route's settings are shown; a warehouse user cannot change them.
    let share = b.find("#route-settings-form input[name=liquidation_pct]").await;
    assert_eq!(b.attr(&share, "value").await.as_deref(), Some("30.00"));
    assert_eq!(b.count("#route-settings-form button").await, 0);
    b.quit().await;
    assert_eq!(on_hand(&app).await, (50, 0));
}

async fn a_refused_parcel_held_abroad_is_sold_from_the_return_warehouse_to_the_next_order_there(engine: Engine) {
    let app = crate::helpers::spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    let w = json!({"code": "RUH-R", "name": "Riyadh returns", "country": "SA"});
    json_of(app.post("/api/v1/warehouses", &w).await, StatusCode::CREATED).await;
    // Demand in Saudi Arabia for lamps: two orders besides the refused one.
    for ext in ["D-1", "D-2"] {
        json_of(app.post("/api/v1/orders", &crate::helpers::order(ext, "LAMP-01", 1)).await, StatusCode::CREATED).await;
    }
    let pack = pack_one(&app, "H-1", 2).await;
    let tn = pack["tracking_number"].as_str().unwrap().to_owned();
    events(&app, &tn, &[("PKP", Duration::hours(80)), ("NDR-RF", Duration::hours(10)), ("RTS", Duration::hours(9))])
        .await;
    let id = json_of(app.get(&format!("/api/v1/returns/{tn}")).await, StatusCode::OK).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let route = format!("/api/v1/returns/{id}/route");

    // The goods cost yuan; without a rate they cannot be weighed in riyal.
    let e = json_of(app.get(&route).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "no_exchange_rate", "{e}");
    let rate = json!({"from": "CNY", "to": "SAR", "rate": "0.52", "as_of": "2026-01-01", "source": "test"});
    json_of(app.put("/api/v1/fx-rates", &rate).await, StatusCode::OK).await;
    let advice = json_of(app.get(&route).await, StatusCode::OK).await;
    // 2 lamps at 12.00 CNY = 12.48 SAR; two more lamps ordered there this month.
    assert_eq!(advice["goods_cost"], json!({"amount": "12.48", "currency": "SAR"}), "{advice}");
    assert_eq!((advice["units"].as_i64(), advice["local_demand"].as_i64()), (Some(2), Some(2)));
    assert_eq!(advice["advised"], "hold_abroad", "{advice}");
    // Storage abroad priced at 20.00 a unit-month outweighs holding; the liquidator's share is the seller's.
    let settings = "/api/v1/settings/returns";
    assert_eq!(
        json_of(app.get(settings).await, StatusCode::OK).await,
        json!({"liquidation_bp": 3000, "holding_cost": null})
    );
    let bad = json!({"liquidation_bp": 12000, "holding_cost": {"amount": "-1.00", "currency": "SAR"}});
    let e = json_of(app.put(settings, &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["liquidation_bp", "holding_cost"], "{e}");
    let e = json_of(
        app.put(settings, &json!({"liquidation_bp": 3000, "holding_cost": {"amount": "x", "currency": "SAR"}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["holding_cost"]);
    let viewer = app
        .client
        .put(app.url(settings))
        .bearer_auth(app.token(Role::Viewer))
        .json(&json!({"liquidation_bp": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(viewer.status(), StatusCode::FORBIDDEN);
    let dear = json!({"liquidation_bp": 5000, "holding_cost": {"amount": "20.00", "currency": "SAR"}});
    json_of(app.put(settings, &dear).await, StatusCode::OK).await;
    let costly = json_of(app.get(&route).await, StatusCode::OK).await;
    assert_eq!(
        (costly["holding_cost"]["amount"].as_str(), costly["liquidation_bp"].as_i64()),
        (Some("20.00"), Some(5000))
    );
    assert_ne!(costly["advised"], "hold_abroad", "{costly}");
    let liquidate = costly["values"].as_array().unwrap().iter().find(|v| v["route"] == "liquidate").unwrap().clone();
    assert_eq!(liquidate["value"]["amount"], "6.24", "half of 12.48: {costly}");
    json_of(app.put(settings, &json!({"liquidation_bp": 3000, "holding_cost": null})).await, StatusCode::OK).await;
    let e = json_of(app.post(&route, &json!({"route": "sideways"})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["route"]);
    let decided = json_of(as_warehouse(&app, &route, &json!({"route": "hold_abroad"})).await, StatusCode::OK).await;
    assert_eq!(decided["decided"], "hold_abroad");

    // Received and graded at the return warehouse in Riyadh: its lamps are stock there.
    let got = json_of(
        as_warehouse(&app, "/api/v1/returns/receive", &json!({"warehouse": "RUH-R", "code": tn})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["return"]["received_warehouse"], "RUH-R");
    let all = json!({"lines": [{"sku": "LAMP-01", "grade": "sellable", "quantity": 2, "bin": "A-1"}]});
    json_of(as_warehouse(&app, &format!("/api/v1/returns/{id}/grade"), &all).await, StatusCode::OK).await;
    let ruh = json_of(app.get("/api/v1/stock/RUH-R/LAMP-01").await, StatusCode::OK).await;
    assert_eq!((ruh["on_hand"].as_i64(), ruh["location"].as_str()), (Some(2), Some("A-1")), "{ruh}");
    let e = json_of(as_warehouse(&app, &route, &json!({"route": "reimport"})).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "illegal_transition");

    // The next Saudi order ships from Riyadh, not from Shenzhen.
    let next =
        json_of(app.post("/api/v1/orders", &crate::helpers::order("N-1", "LAMP-01", 1)).await, StatusCode::CREATED)
            .await;
    assert_eq!(next["allocation"]["warehouse"], "RUH-R", "{next}");
}

async fn damage_found_on_a_return_teaches_the_box_recommendation_to_choose_the_sturdier_box(engine: Engine) {
    let app = crate::helpers::spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    // One lamp (59.00 SAR, category "home") fits either, and both bill the same freight (35.24 with its duties).
    // The bag costs 0.20 and expects about 1.5 % damage (0.87), the carton 0.90 and 0.5 % (0.29): the bag is
    // cheaper in all.
    let kind_box = |kind: &str, inner: [i64; 3], cost: &str| {
        json!({"kind": kind, "inner_mm": inner, "empty_weight_g": 20,
               "cost": {"amount": cost, "currency": "SAR"}, "max_load_g": 10000})
    };
    json_of(
        app.put("/api/v1/warehouses/SZ1/boxes/BAG", &kind_box("bag", [260, 200, 120], "0.20")).await,
        StatusCode::CREATED,
    )
    .await;
    json_of(
        app.put("/api/v1/warehouses/SZ1/boxes/C", &kind_box("carton", [220, 170, 120], "0.90")).await,
        StatusCode::CREATED,
    )
    .await;
    let lamp = json!({"dims_mm": [200, 150, 100], "can_bag": true});
    json_of(app.put("/api/v1/products/LAMP-01/packing", &lamp).await, StatusCode::OK).await;

    let pack = pack_one(&app, "DM-1", 1).await;
    let tn = pack["tracking_number"].as_str().unwrap().to_owned();
    let rates = json_of(app.get("/api/v1/packaging/damage-rates").await, StatusCode::OK).await;
    let row = |rates: &Value, kind: &str, category: Option<&str>| {
        rates.as_array().unwrap().iter().find(|r| r["kind"] == kind && r["category"].as_str() == category).cloned()
    };
    let bag = row(&rates, "bag", None).unwrap();
    assert_eq!(
        (bag["parcels"].as_i64(), bag["damaged"].as_i64(), bag["rate_bp"].as_i64()),
        (Some(1), Some(0), Some(149))
    );
    assert_eq!(row(&rates, "carton", None).unwrap()["parcels"], 0, "every kind is listed: {rates}");
    let next =
        json_of(app.post("/api/v1/orders", &crate::helpers::order("DM-2", "LAMP-01", 1)).await, StatusCode::CREATED)
            .await;
    let packaging = format!("/api/v1/orders/{}/packaging", next["id"].as_str().unwrap());
    let r = json_of(app.get(&packaging).await, StatusCode::OK).await;
    assert_eq!((r["boxes"][0]["code"].as_str(), r["total"]["amount"].as_str()), (Some("BAG"), Some("36.31")), "{r}");

    // It comes back with the lamp broken.
    events(&app, &tn, &[("PKP", Duration::hours(50)), ("RTS", Duration::hours(30))]).await;
    let body = json!({"warehouse": "SZ1", "code": tn});
    let got = json_of(as_warehouse(&app, "/api/v1/returns/receive", &body).await, StatusCode::OK).await;
    let id = got["return"]["id"].as_str().unwrap().to_owned();
    let broken = json!({"lines": [{"sku": "LAMP-01", "grade": "damaged", "quantity": 1, "disposition": "quarantine"}]});
    json_of(as_warehouse(&app, &format!("/api/v1/returns/{id}/grade"), &broken).await, StatusCode::OK).await;

    // Bags measured 1 damaged in 1: (10,000 + 200 × 150) / 201 = 199 bp; homeware in bags starts from there,
    // (10,000 + 200 × 199) / 201 = 248 bp (1.46 on the lamp): the carton is now the cheaper box.
    let r = json_of(app.get(&packaging).await, StatusCode::OK).await;
    assert_eq!((r["boxes"][0]["code"].as_str(), r["total"]["amount"].as_str()), (Some("C"), Some("36.43")), "{r}");
    let bag_now = r["considered"].as_array().unwrap().iter().find(|c| c["code"] == "BAG").unwrap().clone();
    assert_eq!(bag_now["total"]["amount"], "36.90", "0.20 + 35.24 + 1.46: {r}");
    let rates = json_of(app.get("/api/v1/packaging/damage-rates").await, StatusCode::OK).await;
    let bag = row(&rates, "bag", None).unwrap();
    assert_eq!(
        (bag["damaged"].as_i64(), bag["rate_bp"].as_i64(), bag["default_bp"].as_i64()),
        (Some(1), Some(199), Some(150))
    );
    let home = row(&rates, "bag", Some("home")).unwrap();
    assert_eq!(
        (home["parcels"].as_i64(), home["damaged"].as_i64(), home["rate_bp"].as_i64()),
        (Some(1), Some(1), Some(248))
    );
    let csv = app.get("/api/v1/packaging/damage-rates/export").await.text().await.unwrap();
    assert!(csv.starts_with("kind,category,parcels,damaged,default_bp,rate_bp\n"), "{csv}");
    assert!(csv.contains("bag,home,1,1,150,248"), "{csv}");
}
