//! The pack station in headless Chromium, driven as a keyboard-wedge scanner drives it: codes typed as fast
//! key bursts ending in Enter into the one focused field; the scale's reading arrives from the station's device
//! (as `codflow scale-bridge` posts it); labels go to a local TCP printer that checks it receives ZPL.

use codflow_app::App;
use codflow_domain::{Actor, Role};
use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::json;

use crate::browser::Browser;
use crate::floor::{assert_valid_zpl, floor, printer};
use crate::helpers::{json_of, order, spawn_app_with_sandbox};

const ENTER: &str = "\u{E007}";

#[tokio::test]
async fn a_packer_works_a_day_at_the_station_with_scanner_and_scale_one_parcel_moved_one_held() {
    let app = spawn_app_with_sandbox(Engine::Sqlite).await;
    let p = printer().await;
    let light = json!({"code": "SBX-LIGHT", "name": "Light", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true}, "limits": {"max_weight_g": 500},
        "rate_card": {"currency": "SAR", "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 3,
            "bands": [{"from_g": 0, "to_g": 30000, "price": "15.00"}]}]}});
    let any = json!({"code": "SBX-ANY", "name": "Any", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true},
        "rate_card": {"currency": "SAR", "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 3,
            "bands": [{"from_g": 0, "to_g": 30000, "price": "35.00"}]}]}});
    floor(&app, Some(&p.addr), &[light, any]).await;
    for ext in ["DAY-1", "DAY-2", "DAY-3"] {
        json_of(app.post("/api/v1/orders", &order(ext, "LAMP-01", 1)).await, StatusCode::CREATED).await;
    }
    let device = json_of(app.post("/api/v1/stations/PS1/token", &json!({})).await, StatusCode::CREATED).await;
    let device = device["token"].as_str().unwrap().to_owned();
    let scale = |grams: i64| {
        let (c, url, token) = (app.client.clone(), app.url("/api/v1/floor/readings"), device.clone());
        async move {
            let r = c.post(url).bearer_auth(token).json(&json!({"weight_g": grams, "stable": true})).send().await;
            assert_eq!(r.unwrap().status(), StatusCode::CREATED);
        }
    };
    let admin = App::new(app.store.clone());
    admin
        .admin()
        .create_user("wang.wh", "long enough secret", Role::Warehouse, Actor::Worker("t".into()))
        .await
        .unwrap();
    admin.admin().create_user("li.ops", "long enough secret", Role::Ops, Actor::Worker("t".into())).await.unwrap();

    let base = app.url("");
    let b = Browser::start().await;
    b.log_in(&base, "wang.wh", "long enough secret").await;
    b.wait_for_url("/orders").await;
    // The morning's wave and its pick list.
    b.click(&b.find("nav a[href='/waves']").await).await;
    b.click(&b.find("#create-wave").await).await;
    b.wait_for_text("#flash", "W000001").await;
    assert_eq!(b.count("#waves tbody tr").await, 1);
    b.screenshot("59-waves").await;
    let pick = "const a = document.querySelector('#waves a'); \
                return fetch(a.href).then(async r => [r.status, r.headers.get('content-type')]);";
    assert_eq!(b.run(pick, json!([])).await, json!([200, "application/pdf"]));
    b.click(&b.find("nav a[href='/pack']").await).await;
    b.click(&b.find("#stations a").await).await;
    b.wait_for_url("station=PS1").await;
    let focused = "return document.activeElement && document.activeElement.id;";
    assert_eq!(b.run(focused, json!([])).await, "scan", "the scan field has the focus");

    // Parcel 1: open, a wrong item (alarm), then both scans of the lamp in one burst, weighed by the scale.
    let scan = b.find("#scan").await;
    b.type_into(&scan, &format!("DAY-1{ENTER}")).await;
    b.wait_for_text("#answer", "DAY-1").await;
    assert_eq!(b.attr(&b.find("#answer").await, "data-signal").await.as_deref(), Some("ok"));
    b.type_into(&b.find("#scan").await, &format!("MUG-02{ENTER}")).await;
    b.wait_for_text("#answer", "MUG-02").await;
    assert_eq!(b.attr(&b.find("#answer").await, "data-signal").await.as_deref(), Some("wrong"));
    b.screenshot("60-pack-wrong-item").await;
    b.type_into(&b.find("#scan").await, &format!("4006381333931{ENTER}")).await;
    b.wait_for_text("#answer", "scale").await;
    assert_eq!(b.attr(&b.find("#answer").await, "data-signal").await.as_deref(), Some("done"));
    assert_eq!(b.run(focused, json!([])).await, "scan", "still focused after each answer");
    scale(447).await;
    b.type_into(&b.find("#scan").await, ENTER).await;
    b.wait_for_text("#answer", "447").await;
    assert_eq!(b.attr(&b.find("#answer").await, "data-event").await.as_deref(), Some("passed"));
    let jobs = p.jobs(1).await;
    assert_eq!(jobs.len(), 1);
    assert_valid_zpl(&jobs[0]);
    assert_eq!(b.count("#papers a").await, 2, "a parcel crossing a border has its papers to print");
    b.screenshot("61-pack-passed").await;

    // Parcel 2: 530 g is beyond the light channel: moved and a new label printed. Two scans in one burst,
    // the second typed while the first answer is on its way.
    b.type_into(&b.find("#scan").await, &format!("DAY-2{ENTER}LAMP-OWN-1{ENTER}")).await;
    b.wait_for_text("#answer", "scale").await;
    scale(530).await;
    b.type_into(&b.find("#scan").await, ENTER).await;
    b.wait_for_text("#answer", "SBX-ANY").await;
    assert_eq!(b.attr(&b.find("#answer").await, "data-event").await.as_deref(), Some("rebooked"));
    assert_eq!(p.jobs(2).await.len(), 2);
    b.screenshot("62-pack-rebooked").await;

    // Parcel 3: far too heavy, typed by hand: held, nothing printed, a supervisor's button not offered.
    b.type_into(&b.find("#scan").await, &format!("DAY-3{ENTER}LAMP-01{ENTER}")).await;
    b.wait_for_text("#answer", "scale").await;
    b.type_into(&b.find("#weight").await, &format!("760{ENTER}")).await;
    b.wait_for_text("#answer", "760").await;
    assert_eq!(b.attr(&b.find("#answer").await, "data-signal").await.as_deref(), Some("wrong"));
    assert_eq!(b.count("#held").await, 1);
    assert_eq!(b.count("#release").await, 0, "the packer cannot release it");
    assert_eq!(p.jobs(3).await.len(), 2, "a held parcel prints nothing");
    b.screenshot("63-pack-held").await;
    let when =
        "return Array.from(document.querySelectorAll('#recent tbody tr td:last-child')).map(td => td.innerText);";
    let when = b.run(when, json!([])).await;
    assert!(
        when.as_array().unwrap().iter().all(|t| t.as_str().unwrap_or("").len() >= 16),
        "every row has its time: {when}"
    );
    let packs = json_of(app.get("/api/v1/pack?station=PS1").await, StatusCode::OK).await;
    let outcomes: Vec<&str> = packs.as_array().unwrap().iter().map(|p| p["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["intercepted", "rebooked", "passed"], "newest first");
    let manual = &packs[0];
    assert_eq!(manual["reading_source"], "manual", "a typed weight is recorded as typed");

    // The supervisor, in Chinese, releases it from the same screen.
    b.goto(&format!("{base}/logout")).await;
    let b2 = Browser::start().await;
    b.quit().await;
    b2.log_in(&base, "li.ops", "long enough secret").await;
    b2.wait_for_url("/orders").await;
    b2.click(&b2.find("#lang-switch option[value=zh]").await).await;
    b2.wait_for_text("nav", "打包台").await;
    b2.goto(&format!("{base}/pack?station=PS1")).await;
    b2.type_into(&b2.find("#scan").await, &format!("DAY-3{ENTER}")).await;
    b2.wait_for_text("#answer", "拦截").await;
    b2.screenshot("64-pack-held-zh").await;
    b2.run("document.querySelector('#release').removeAttribute('data-confirm');", json!([])).await;
    b2.click(&b2.find("#release").await).await;
    b2.wait_for_text("#answer", "放行").await;
    assert_eq!(p.jobs(3).await.len(), 3, "printed once released");
    b2.screenshot("65-pack-released-zh").await;

    // Sorting and the carrier's pickup: the three parcels into one bag, sealed, scanned onto the van.
    b2.goto(&format!("{base}/bags")).await;
    for ext in ["DAY-1", "DAY-2", "DAY-3"] {
        // Each scan posts the form and loads the page again: mark this page, and wait for a new one to be complete
        // before the next scan, so no keystroke lands on the page that is going away.
        b2.run("window.__scanned = true;", json!([])).await;
        b2.type_into(&b2.find("#scan").await, &format!("{ext}{ENTER}")).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while b2.run("return window.__scanned === true || document.readyState !== 'complete';", json!([])).await
            == json!(true)
        {
            assert!(std::time::Instant::now() < deadline, "the scan of {ext} never answered");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        b2.wait_for_text("#answer", "B00000").await;
    }
    b2.wait_for_text("#open-bags", "3").await;
    let bags = json_of(app.get("/api/v1/bags?status=open").await, StatusCode::OK).await;
    let counts: Vec<i64> = bags.as_array().unwrap().iter().map(|b| b["parcels"].as_i64().unwrap()).collect();
    assert_eq!(counts.iter().sum::<i64>(), 3, "every parcel bagged: {bags}");
    // Each close reloads the page: wait for one fewer open bag before the next, so a click never lands on the page
    // that is going away.
    loop {
        let open = b2.count("#open-bags button[value=close]").await;
        if open == 0 {
            break;
        }
        b2.click(&b2.find("#open-bags button[value=close]").await).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while b2.count("#open-bags button[value=close]").await >= open {
            assert!(std::time::Instant::now() < deadline, "the bag did not close");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        b2.wait_for_text("#flash", "B00000").await;
    }
    b2.screenshot("66-bags-closed-zh").await;
    b2.click(&b2.find("#pickup-sandbox").await).await;
    b2.wait_for_url("/handovers/").await;
    b2.wait_for_text("#carrier-manifest", "SBXMAN").await;
    let codes: Vec<String> = bags.as_array().unwrap().iter().map(|b| b["code"].as_str().unwrap().to_owned()).collect();
    for code in &codes {
        b2.type_into(&b2.find("#scan").await, &format!("{code}{ENTER}")).await;
        b2.wait_for_text("#answer", code).await;
        assert_eq!(b2.attr(&b2.find("#answer").await, "data-signal").await.as_deref(), Some("done"));
    }
    b2.wait_for_text("#pickup-facts", &format!("{} 袋中已交接 {} 袋", codes.len(), codes.len())).await;
    b2.screenshot("67-pickup-handed-over-zh").await;
    let manifest = "const a = document.querySelector('#pickup-facts a[href*=manifest-csv]'); \
                    return fetch(a.href).then(async r => [r.status, await r.text()]);";
    let m = b2.run(manifest, json!([])).await;
    assert_eq!(m[0], 200);
    assert_eq!(m[1].as_str().unwrap().lines().count(), 4, "a header and three parcels: {m}");
    // The floor's day in figures.
    b2.goto(&format!("{base}/dashboards/floor")).await;
    b2.wait_for_text("#per-station", "PS1").await;
    let total = b2.text(&b2.find("#per-station tbody tr td:last-child").await).await;
    assert_eq!(total, "3", "three parcels weighed at PS1 today");
    b2.wait_for_text("#held", "比商品重").await;
    assert!(b2.text(&b2.find("#savings").await).await.contains("1 个包裹"), "one parcel moved");
    b2.wait_for_text("#per-station thead", "全天合计").await;
    b2.screenshot("68-floor-dashboard-zh").await;
    b2.quit().await;
}

#[tokio::test]
async fn a_buyer_places_a_purchase_order_and_the_dock_receives_it_by_scanner_into_bins() {
    let app = crate::helpers::spawn_app(Engine::Sqlite).await;
    floor(&app, None, &[]).await;
    let admin = App::new(app.store.clone());
    for (name, role) in [("li.ops", Role::Ops), ("wang.wh", Role::Warehouse)] {
        admin.admin().create_user(name, "long enough secret", role, Actor::Worker("t".into())).await.unwrap();
    }
    let base = app.url("");
    let b = Browser::start().await;
    b.log_in(&base, "li.ops", "long enough secret").await;
    b.wait_for_url("/orders").await;
    b.click(&b.find("nav a[href='/inbound']").await).await;
    // A line typed wrong is named and nothing is placed; then the order is placed.
    b.type_into(&b.find("#po-form input[name=number]").await, "PO-77").await;
    b.type_into(&b.find("#po-form input[name=supplier]").await, "Yiwu Lighting").await;
    b.type_into(&b.find("#po-form textarea[name=lines]").await, "LAMP-01 ten").await;
    b.click(&b.find("#create-po").await).await;
    b.wait_for_text("#inbound-error", "Line 1").await;
    b.type_into(&b.find("#po-form input[name=number]").await, "PO-77").await;
    b.type_into(&b.find("#po-form input[name=supplier]").await, "Yiwu Lighting").await;
    b.type_into(&b.find("#po-form textarea[name=lines]").await, "LAMP-01 10\nMUG-02, 4").await;
    b.click(&b.find("#create-po").await).await;
    b.wait_for_text("#po-status", "open").await;
    assert_eq!(b.count("#po-lines tbody tr").await, 2);
    b.type_into(&b.find("#asn-form input[name=reference]").await, "SHIP-77").await;
    b.click(&b.find("#create-asn").await).await;
    b.wait_for_text("#po-flash", "SHIP-77").await;
    b.screenshot("69-purchase-order").await;
    // Orders from a supplier's spreadsheet: the good one placed, the bad line named.
    let dir = std::env::temp_dir().join(format!("codflow-po-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("orders.csv");
    std::fs::write(&csv, "po_number,supplier,warehouse,sku,quantity\nPO-78,Yiwu Lighting,SZ1,LAMP-01,5\nPO-79,Yiwu Lighting,SZ1,GHOST,1\n").unwrap();
    b.goto(&format!("{base}/inbound")).await;
    b.type_into(&b.find("#po-upload input[type=file]").await, csv.to_str().unwrap()).await;
    b.click(&b.find("#po-upload button").await).await;
    b.wait_for_text("#import-report", "1 placed").await;
    assert!(b.text(&b.find("#import-errors").await).await.contains("GHOST"));
    assert_eq!(json_of(app.get("/api/v1/purchase-orders/PO-78").await, StatusCode::OK).await["ordered"], 5);
    b.goto(&format!("{base}/logout")).await;
    let b2 = Browser::start().await;
    b.quit().await;

    // The dock, with a scanner: the notice, then bursts of barcodes; a broken mug counted as damaged.
    b2.log_in(&base, "wang.wh", "long enough secret").await;
    b2.wait_for_url("/orders").await;
    b2.click(&b2.find("nav a[href='/receive']").await).await;
    let focused = "return document.activeElement && document.activeElement.id;";
    assert_eq!(b2.run(focused, json!([])).await, "scan");
    b2.type_into(&b2.find("#scan").await, &format!("SHIP-77{ENTER}")).await;
    b2.wait_for_text("#answer", "SHIP-77").await;
    let burst: String = std::iter::repeat_n(format!("4006381333931{ENTER}"), 10).collect();
    b2.type_into(&b2.find("#scan").await, &burst).await;
    b2.wait_for_text("#answer", "all 10 counted").await;
    assert_eq!(b2.attr(&b2.find("#answer").await, "data-signal").await.as_deref(), Some("done"));
    b2.type_into(&b2.find("#scan").await, &format!("4006381333931{ENTER}")).await;
    b2.wait_for_text("#answer", "only 10 announced").await;
    assert_eq!(b2.attr(&b2.find("#answer").await, "data-signal").await.as_deref(), Some("wrong"));
    b2.type_into(&b2.find("#quantity").await, "\u{E003}-1").await;
    b2.type_into(&b2.find("#scan").await, &format!("LAMP-01{ENTER}")).await;
    b2.wait_for_text("#answer", "taken back to 10").await;
    b2.type_into(&b2.find("#scan").await, &format!("MUG-02{ENTER}MUG-02{ENTER}")).await;
    b2.wait_for_text("#answer", "2 of 4").await;
    b2.click(&b2.find("#condition option[value=damaged]").await).await;
    b2.type_into(&b2.find("#scan").await, &format!("MUG-02{ENTER}")).await;
    b2.wait_for_text("#answer", "1 damaged").await;
    assert_eq!(b2.run(focused, json!([])).await, "scan", "the focus is back on the scan field");
    b2.type_into(&b2.find("input[name='bin.MUG-02']").await, "B-07").await;
    b2.type_into(&b2.find("input[name='bin.LAMP-01']").await, "A-01").await;
    b2.screenshot("70-receiving").await;
    b2.run("document.querySelector('#close-receipt').removeAttribute('data-confirm');", json!([])).await;
    b2.click(&b2.find("#close-receipt").await).await;
    b2.wait_for_text("#answer", "12 good unit").await;
    assert!(b2.text(&b2.find("#answer").await).await.contains("MUG-02: 3 of 4, short"));
    b2.screenshot("71-received-with-task").await;
    let lamp = app.stock("LAMP-01").await;
    assert_eq!((lamp["on_hand"].as_i64(), lamp["location"].as_str()), (Some(60), Some("A-01")));
    let mug = app.stock("MUG-02").await;
    assert_eq!((mug["on_hand"].as_i64(), mug["location"].as_str()), (Some(52), Some("B-07")));

    // The purchase order in Chinese: partly received, its history worded.
    b2.click(&b2.find("#lang-switch option[value=zh]").await).await;
    b2.wait_for_text("nav", "收货").await;
    let po = json_of(app.get("/api/v1/purchase-orders/PO-77").await, StatusCode::OK).await;
    b2.goto(&format!("{base}/inbound/{}", po["id"].as_str().unwrap())).await;
    b2.wait_for_text("#po-status", "部分到货").await;
    b2.wait_for_text("#po-history", "收货完成").await;
    b2.screenshot("72-purchase-order-zh").await;
    b2.quit().await;
}
