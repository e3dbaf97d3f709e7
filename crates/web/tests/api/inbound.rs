//! Inbound goods over the API: purchase orders and ASNs by JSON and CSV, receiving by scan, put-away, and the
//! receipt that raises stock and opens a task for what differs.

use codflow_domain::Role;
use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_paths, json_of, spawn_app};

codflow_store::on_both_engines!(
    a_purchase_order_is_received_by_scan_against_its_notice_and_stock_rises_with_it_as_the_reason,
    purchase_orders_and_notices_come_in_by_csv_replays_change_nothing_and_bad_lines_are_named,
    bad_input_at_the_dock_gets_a_clear_answer_and_loses_nothing,
);

/// SZ1 with LAMP-01 (barcode 4006381333931, 5 on hand in bin A-01) and MUG-02 (none, no bin).
async fn dock(app: &TestApp) {
    app.seed(&[("LAMP-01", 5), ("MUG-02", 0), ("PEN-03", 0)]).await;
    json_of(app.put("/api/v1/stock/SZ1/LAMP-01", &json!({"location": "A-01"})).await, StatusCode::OK).await;
    let body = json!({"barcodes": ["4006381333931"]});
    json_of(app.put("/api/v1/products/LAMP-01/barcodes", &body).await, StatusCode::OK).await;
}

async fn post_csv(app: &TestApp, path: &str, csv: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(app.token(Role::Ops))
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .expect("request")
}

async fn receive(app: &TestApp, body: Value) -> Value {
    json_of(app.post_as(app.token(Role::Warehouse), "/api/v1/receiving/scan", &body).await, StatusCode::OK).await
}

fn line<'a>(asn: &'a Value, sku: &str) -> &'a Value {
    asn["lines"].as_array().unwrap().iter().find(|l| l["sku"] == sku).unwrap_or_else(|| panic!("{sku} in {asn}"))
}

async fn a_purchase_order_is_received_by_scan_against_its_notice_and_stock_rises_with_it_as_the_reason(engine: Engine) {
    let app = spawn_app(engine).await;
    dock(&app).await;
    let po = json!({"number": "PO-2026-001", "supplier": "Yiwu Lighting Co.", "warehouse": "SZ1",
        "expected_on": "2026-12-20", "lines": [{"sku": "LAMP-01", "quantity": 10}, {"sku": "MUG-02", "quantity": 4}]});
    let created =
        json_of(app.post_as(app.token(Role::Ops), "/api/v1/purchase-orders", &po).await, StatusCode::CREATED).await;
    assert_eq!((created["status"].as_str(), created["ordered"].as_i64()), (Some("open"), Some(14)), "{created}");
    let replay = json_of(app.post_as(app.token(Role::Ops), "/api/v1/purchase-orders", &po).await, StatusCode::OK).await;
    assert_eq!(replay["id"], created["id"], "the same order sent again is the same order");

    let asn = json!({"reference": "ASN-77", "purchase_order": "PO-2026-001", "tracking": "YT123",
        "lines": [{"sku": "LAMP-01", "quantity": 10}, {"sku": "MUG-02", "quantity": 4}]});
    let a = json_of(app.post_as(app.token(Role::Warehouse), "/api/v1/asns", &asn).await, StatusCode::CREATED).await;
    assert_eq!(a["status"], "expected");
    let open = json_of(app.get("/api/v1/asns?warehouse=SZ1").await, StatusCode::OK).await;
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");

    // The dock scans the notice, then cartons and items; a burst of 9 lamps by quantity, one by barcode.
    let opened = receive(&app, json!({"code": "ASN-77", "warehouse": "SZ1"})).await;
    assert_eq!((opened["signal"].as_str(), opened["event"].as_str()), (Some("ok"), Some("asn_opened")), "{opened}");
    let id = opened["asn"]["id"].as_str().unwrap().to_owned();
    assert_eq!(opened["asn"]["status"], "receiving");
    let nine = receive(&app, json!({"code": "LAMP-01", "asn": id, "quantity": 9})).await;
    assert_eq!((nine["event"].as_str(), nine["values"]["counted"].as_str()), (Some("counted"), Some("9")), "{nine}");
    let tenth = receive(&app, json!({"code": "4006381333931", "asn": id})).await;
    assert_eq!((tenth["signal"].as_str(), tenth["event"].as_str()), (Some("done"), Some("line_complete")), "{tenth}");
    let over = receive(&app, json!({"code": "4006381333931", "asn": id})).await;
    assert_eq!((over["signal"].as_str(), over["event"].as_str()), (Some("wrong"), Some("over")), "{over}");
    let back = receive(&app, json!({"code": "LAMP-01", "asn": id, "quantity": -1})).await;
    assert_eq!(
        (back["event"].as_str(), line(&back["asn"], "LAMP-01")["good"].as_i64()),
        (Some("taken_back"), Some(10))
    );
    // Mugs: two good, one broken, one missing. A pen nobody announced.
    receive(&app, json!({"code": "MUG-02", "asn": id, "quantity": 2})).await;
    let broken = receive(&app, json!({"code": "MUG-02", "asn": id, "condition": "damaged"})).await;
    assert_eq!((broken["signal"].as_str(), broken["event"].as_str()), (Some("wrong"), Some("counted_damaged")));
    let pen = receive(&app, json!({"code": "PEN-03", "asn": id})).await;
    assert_eq!((pen["signal"].as_str(), pen["event"].as_str()), (Some("wrong"), Some("unexpected")), "{pen}");
    assert_eq!(line(&pen["asn"], "PEN-03")["expected"], 0);

    // Mugs and pens have no bin yet: closing without one is refused and changes nothing.
    let r = app.post_as(app.token(Role::Warehouse), &format!("/api/v1/asns/{id}/close"), &json!({})).await;
    let problem = json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&problem), vec!["bins.MUG-02", "bins.PEN-03"], "{problem}");
    assert_eq!(app.stock("MUG-02").await["on_hand"], 0);
    let put = json!({"sku": "MUG-02", "bin": "B-07"});
    let after_put = json_of(
        app.post_as(app.token(Role::Warehouse), &format!("/api/v1/asns/{id}/put-away"), &put).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(line(&after_put, "MUG-02")["bin"], "B-07");

    let body = json!({"bins": {"PEN-03": "C-01"}});
    let receipt =
        json_of(app.post_as(app.token(Role::Warehouse), "/api/v1/asns/ASN-77/close", &body).await, StatusCode::OK)
            .await;
    assert_eq!(
        (receipt["asn"]["status"].as_str(), receipt["stocked"].as_i64()),
        (Some("received"), Some(13)),
        "{receipt}"
    );
    let kinds: Vec<(String, String, i64)> = receipt["discrepancies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["sku"].as_str().unwrap().into(), d["kind"].as_str().unwrap().into(), d["units"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("MUG-02".into(), "short".into(), 1),
            ("MUG-02".into(), "damaged".into(), 1),
            ("PEN-03".into(), "unexpected".into(), 1)
        ]
    );

    // Stock rose by the good units only, each SKU in its bin, with the notice as the reason.
    let lamp = app.stock("LAMP-01").await;
    assert_eq!((lamp["on_hand"].as_i64(), lamp["location"].as_str()), (Some(15), Some("A-01")), "{lamp}");
    let mug = app.stock("MUG-02").await;
    assert_eq!((mug["on_hand"].as_i64(), mug["location"].as_str()), (Some(2), Some("B-07")), "{mug}");
    assert_eq!(app.stock("PEN-03").await["on_hand"], 1);
    let h = json_of(app.get("/api/v1/stock/SZ1/LAMP-01/history").await, StatusCode::OK).await;
    let receive_entry = h.as_array().unwrap().iter().find(|a| a["action"] == "receive").expect("a receive entry");
    assert_eq!((receive_entry["from_status"].as_str(), receive_entry["to_status"].as_str()), (Some("5"), Some("15")));
    assert_eq!(receive_entry["reason"], "received on ASN ASN-77 of purchase order PO-2026-001");

    // One task for the warehouse names every difference.
    let task = receipt["task"].as_str().expect("a task");
    let t = json_of(app.get(&format!("/api/v1/tasks/{task}")).await, StatusCode::OK).await;
    let t = if t["task"].is_object() { t["task"].clone() } else { t };
    assert_eq!((t["kind"].as_str(), t["role"].as_str()), (Some("inbound_discrepancy"), Some("warehouse")), "{t}");
    let title = t["title"].as_str().unwrap();
    assert!(title.contains("MUG-02: 3 of 4, short") && title.contains("PEN-03: 1 not on the notice"), "{title}");

    // The purchase order counts what came (a pen it never ordered included) and is partly received.
    let po = json_of(app.get("/api/v1/purchase-orders/PO-2026-001").await, StatusCode::OK).await;
    assert_eq!(po["status"], "partly_received", "{po}");
    let mug_line = po["lines"].as_array().unwrap().iter().find(|l| l["sku"] == "MUG-02").unwrap();
    assert_eq!(
        (mug_line["received"].as_i64(), mug_line["damaged"].as_i64(), mug_line["outstanding"].as_i64()),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(po["asns"][0]["status"], "received");

    // Closing the receipt again changes nothing; the last mug never comes and the order is closed short.
    let again = app.post_as(app.token(Role::Warehouse), "/api/v1/asns/ASN-77/close", &json!({})).await;
    assert_eq!(json_of(again, StatusCode::CONFLICT).await["code"], "not_receivable");
    assert_eq!(app.stock("LAMP-01").await["on_hand"], 15);
    let cancel =
        app.post_as(app.token(Role::Ops), "/api/v1/purchase-orders/PO-2026-001/cancel", &json!({"reason": "x"})).await;
    assert_eq!(
        json_of(cancel, StatusCode::CONFLICT).await["code"],
        "not_receivable",
        "arrived goods cannot be cancelled"
    );
    let closed = app
        .post_as(
            app.token(Role::Ops),
            "/api/v1/purchase-orders/PO-2026-001/close",
            &json!({"reason": "supplier out of mugs"}),
        )
        .await;
    assert_eq!(json_of(closed, StatusCode::OK).await["status"], "closed");
    let scan_closed = receive(&app, json!({"code": "PO-2026-001"})).await;
    assert_eq!(
        (scan_closed["event"].as_str(), scan_closed["values"]["status"].as_str()),
        (Some("not_receivable"), Some("closed"))
    );

    // A second order received by its number alone: the dock makes the notice of what is outstanding.
    let po2 = json!({"number": "PO-2026-002", "supplier": "Yiwu Lighting Co.", "warehouse": "SZ1",
        "lines": [{"sku": "LAMP-01", "quantity": 3}]});
    json_of(app.post("/api/v1/purchase-orders", &po2).await, StatusCode::CREATED).await;
    let opened = receive(&app, json!({"code": "PO-2026-002"})).await;
    assert_eq!(
        (opened["event"].as_str(), opened["asn"]["reference"].as_str()),
        (Some("asn_opened"), Some("PO-2026-002/1"))
    );
    let id2 = opened["asn"]["id"].as_str().unwrap().to_owned();
    receive(&app, json!({"code": "4006381333931", "asn": id2, "quantity": 3})).await;
    let r2 = json_of(
        app.post_as(app.token(Role::Warehouse), &format!("/api/v1/asns/{id2}/close"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        r2["task"].is_null() && r2["discrepancies"].as_array().unwrap().is_empty(),
        "a whole receipt opens no task: {r2}"
    );
    assert_eq!(app.stock("LAMP-01").await["on_hand"], 18);
    let po2 = json_of(app.get("/api/v1/purchase-orders/PO-2026-002").await, StatusCode::OK).await;
    assert_eq!(po2["status"], "received");

    let list = json_of(app.get("/api/v1/purchase-orders?status=received").await, StatusCode::OK).await;
    let numbers: Vec<&str> = list["items"].as_array().unwrap().iter().map(|p| p["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, vec!["PO-2026-002"]);
    let export = app.get("/api/v1/purchase-orders/export").await;
    assert_eq!(export.status(), StatusCode::OK);
    let csv = export.text().await.unwrap();
    assert!(csv.starts_with("po_number,supplier,warehouse,status"), "{csv}");
    assert!(csv.contains("PO-2026-001,Yiwu Lighting Co.,SZ1,closed,2026-12-20,MUG-02,4,2,1,1"), "{csv}");
}

async fn purchase_orders_and_notices_come_in_by_csv_replays_change_nothing_and_bad_lines_are_named(engine: Engine) {
    let app = spawn_app(engine).await;
    dock(&app).await;
    let csv = "po_number,supplier,warehouse,expected_on,sku,quantity\n\
               PO-A,Shenzhen Mugs,SZ1,2026-12-24,MUG-02,100\n\
               PO-B,Yiwu Lighting,SZ1,,LAMP-01,20\n\
               PO-A,Shenzhen Mugs,SZ1,2026-12-24,LAMP-01,5\n\
               PO-C,Nobody,SZ1,,GHOST-9,1\n\
               PO-D,Yiwu Lighting,SZ1,2026-02-30,LAMP-01,two\n\
               PO-E,Yiwu Lighting,SZ1,,LAMP-01,4\n\
               PO-E,Other Supplier,SZ1,,MUG-02,4\n";
    let r = json_of(post_csv(&app, "/api/v1/purchase-orders/import", csv).await, StatusCode::OK).await;
    assert_eq!(r["created"], json!(["PO-A", "PO-B"]), "{r}");
    let errors: Vec<(i64, String)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_i64().unwrap(), e["field"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(errors, vec![(5, "sku".into()), (6, "quantity".into()), (8, "supplier".into())], "{r}");
    let a = json_of(app.get("/api/v1/purchase-orders/PO-A").await, StatusCode::OK).await;
    assert_eq!(
        (a["ordered"].as_i64(), a["expected_on"].as_str()),
        (Some(105), Some("2026-12-24")),
        "one order from non-adjacent rows"
    );
    for bad in ["PO-C", "PO-D", "PO-E"] {
        assert_eq!(
            app.get(&format!("/api/v1/purchase-orders/{bad}")).await.status(),
            StatusCode::NOT_FOUND,
            "{bad} did not land"
        );
    }
    let again = json_of(post_csv(&app, "/api/v1/purchase-orders/import", csv).await, StatusCode::OK).await;
    assert_eq!((again["created"].as_array().unwrap().len(), again["unchanged"].clone()), (0, json!(["PO-A", "PO-B"])));

    let changed = "po_number,supplier,warehouse,sku,quantity\nPO-B,Yiwu Lighting,SZ1,LAMP-01,25\n";
    let r = json_of(post_csv(&app, "/api/v1/purchase-orders/import", changed).await, StatusCode::OK).await;
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("already exists with other content"), "{r}");

    let asns = "asn_reference,po_number,tracking,sku,quantity\n\
                SHIP-1,PO-A,SF100,MUG-02,60\n\
                SHIP-1,PO-A,SF100,LAMP-01,5\n\
                SHIP-2,PO-A,SF101,PEN-03,1\n\
                SHIP-3,PO-NONE,,MUG-02,1\n";
    let r = json_of(post_csv(&app, "/api/v1/asns/import", asns).await, StatusCode::OK).await;
    assert_eq!(r["created"], json!(["SHIP-1"]), "{r}");
    let lines: Vec<i64> = r["errors"].as_array().unwrap().iter().map(|e| e["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, vec![4, 5], "{r}");
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("PEN-03 is not on purchase order PO-A"), "{r}");
    let ship = json_of(app.get("/api/v1/asns/SHIP-1").await, StatusCode::OK).await;
    assert_eq!((ship["tracking"].as_str(), line(&ship, "MUG-02")["expected"].as_i64()), (Some("SF100"), Some(60)));
    let replay = json_of(post_csv(&app, "/api/v1/asns/import", asns).await, StatusCode::OK).await;
    assert_eq!(replay["unchanged"], json!(["SHIP-1"]));

    for (file, needle) in [
        ("", "empty"),
        ("sku,quantity\nLAMP-01,1\n", "po_number"),
        ("po_number,supplier,warehouse,sku,quantity\n\"PO-X,unclosed", "line"),
    ] {
        let r = post_csv(&app, "/api/v1/purchase-orders/import", file).await;
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        let text = body.to_string();
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || !body["errors"].as_array().unwrap().is_empty(),
            "{file:?}: {text}"
        );
        assert!(text.contains(needle), "{file:?}: {text}");
    }
}

async fn bad_input_at_the_dock_gets_a_clear_answer_and_loses_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    dock(&app).await;
    let bad = json!({"number": "PO 1", "supplier": "", "warehouse": "NOPE", "expected_on": "tomorrow",
        "lines": [{"sku": "LAMP-01", "quantity": 0}, {"sku": "LAMP-01", "quantity": 2}, {"sku": "GHOST", "quantity": 1}]});
    let problem = json_of(app.post("/api/v1/purchase-orders", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let mut paths = error_paths(&problem);
    paths.sort();
    assert_eq!(
        paths,
        vec!["expected_on", "lines[0].quantity", "lines[1].sku", "lines[2].sku", "number", "supplier", "warehouse"],
        "{problem}"
    );
    let empty = json!({"number": "PO-1", "supplier": "S", "warehouse": "SZ1", "lines": []});
    assert_eq!(
        error_paths(
            &json_of(app.post("/api/v1/purchase-orders", &empty).await, StatusCode::UNPROCESSABLE_ENTITY).await
        ),
        vec!["lines"]
    );
    let viewer = app.post_as(app.token(Role::Viewer), "/api/v1/purchase-orders", &empty).await;
    assert_eq!(viewer.status(), StatusCode::FORBIDDEN);

    let po =
        json!({"number": "PO-1", "supplier": "S", "warehouse": "SZ1", "lines": [{"sku": "LAMP-01", "quantity": 2}]});
    json_of(app.post("/api/v1/purchase-orders", &po).await, StatusCode::CREATED).await;
    let other =
        json!({"number": "PO-1", "supplier": "T", "warehouse": "SZ1", "lines": [{"sku": "LAMP-01", "quantity": 2}]});
    assert_eq!(
        json_of(app.post("/api/v1/purchase-orders", &other).await, StatusCode::CONFLICT).await["code"],
        "purchase_order_exists"
    );
    let asn = json!({"reference": "N-1", "purchase_order": "PO-1", "lines": [{"sku": "MUG-02", "quantity": 1}]});
    let p = json_of(app.post("/api/v1/asns", &asn).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&p), vec!["lines[0].sku"], "only what was ordered can be announced");
    let asn = json!({"reference": "N-1", "purchase_order": "PO-1"});
    let n1 = json_of(app.post("/api/v1/asns", &asn).await, StatusCode::CREATED).await;
    assert_eq!(line(&n1, "LAMP-01")["expected"], 2, "no lines: everything outstanding");
    let id = n1["id"].as_str().unwrap();

    // Scans: garbage, an unknown code, a product with no notice open, another warehouse, a take-back of nothing.
    for body in [
        json!({"code": ""}),
        json!({"code": "a b"}),
        json!({"code": "x".repeat(65)}),
        json!({"code": "N-1", "quantity": 0}),
        json!({"code": "N-1", "condition": "wet"}),
        json!({"code": "N-1", "asn": "ord_1"}),
        json!({"code": "N-1", "extra": 1}),
    ] {
        let r = app.post_as(app.token(Role::Warehouse), "/api/v1/receiving/scan", &body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let unknown = receive(&app, json!({"code": "999999"})).await;
    assert_eq!((unknown["signal"].as_str(), unknown["event"].as_str()), (Some("wrong"), Some("unknown_code")));
    let first = receive(&app, json!({"code": "4006381333931"})).await;
    assert_eq!(first["event"], "scan_asn_first");
    let elsewhere = receive(&app, json!({"code": "N-1", "warehouse": "DXB"})).await;
    assert_eq!(elsewhere["event"], "other_warehouse");
    receive(&app, json!({"code": "N-1"})).await;
    let nothing = receive(&app, json!({"code": "LAMP-01", "asn": id, "quantity": -1})).await;
    assert_eq!((nothing["signal"].as_str(), nothing["event"].as_str()), (Some("wrong"), Some("cannot_take_back")));

    // Closing with nothing counted, a bad bin, or an unknown SKU in bins is refused; stock is untouched.
    let r = app.post(&format!("/api/v1/asns/{id}/close"), &json!({})).await;
    assert_eq!(json_of(r, StatusCode::CONFLICT).await["code"], "nothing_counted");
    receive(&app, json!({"code": "LAMP-01", "asn": id})).await;
    let r = app.post(&format!("/api/v1/asns/{id}/close"), &json!({"bins": {"LAMP-01": "A;DROP", "GHOST": "A"}})).await;
    let mut p = error_paths(&json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await);
    p.sort();
    assert_eq!(p, vec!["bins.GHOST", "bins.LAMP-01"]);
    let r = app.post_raw(&format!("/api/v1/asns/{id}/close"), "{not json").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.stock("LAMP-01").await["on_hand"], 5);
    let r = app.post(&format!("/api/v1/asns/{id}/cancel"), &json!({})).await;
    assert_eq!(json_of(r, StatusCode::CONFLICT).await["code"], "not_receivable", "counted notices are not cancelled");
    for path in ["/api/v1/asns/nope", "/api/v1/purchase-orders/nope", "/api/v1/asns/nope/close"] {
        let r = if path.ends_with("close") { app.post(path, &json!({})).await } else { app.get(path).await };
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = app.get("/api/v1/purchase-orders?status=lost").await;
    assert_eq!(error_paths(&json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await), vec!["status"]);

    // An order nothing arrived against is cancelled with its notices; it then expects nothing.
    let po3 =
        json!({"number": "PO-3", "supplier": "S", "warehouse": "SZ1", "lines": [{"sku": "MUG-02", "quantity": 2}]});
    json_of(app.post("/api/v1/purchase-orders", &po3).await, StatusCode::CREATED).await;
    json_of(
        app.post("/api/v1/asns", &json!({"reference": "N-3", "purchase_order": "PO-3"})).await,
        StatusCode::CREATED,
    )
    .await;
    let r = app.post("/api/v1/purchase-orders/PO-3/cancel", &json!({"reason": ""})).await;
    assert_eq!(error_paths(&json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await), vec!["reason"]);
    let c = json_of(
        app.post("/api/v1/purchase-orders/PO-3/cancel", &json!({"reason": "ordered twice"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((c["status"].as_str(), c["asns"].is_null()), (Some("cancelled"), true));
    let n3 = json_of(app.get("/api/v1/asns/N-3").await, StatusCode::OK).await;
    assert_eq!(n3["status"], "cancelled");
    let late = app.post("/api/v1/asns", &json!({"reference": "N-4", "purchase_order": "PO-3"})).await;
    assert_eq!(json_of(late, StatusCode::CONFLICT).await["code"], "not_receivable");
}
