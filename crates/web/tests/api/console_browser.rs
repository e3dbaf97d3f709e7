//! The console in headless Chromium, as people use it: log in, approve a held order, open every dashboard,
//! follow a chart to its orders, export them, act on a recommendation after its back-test; a viewer kept
//! out of the money pages. Screenshots land in target/tmp/screenshots.

use codflow_app::App;
use codflow_domain::{Actor, Role};
use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::json;

use crate::browser::Browser;
use crate::helpers::{TestApp, json_of, order, spawn_app};

#[tokio::test]
async fn people_work_the_console_in_a_real_browser_from_login_to_acting_on_a_recommendation() {
    let app = spawn_app(Engine::Sqlite).await;
    let data = seed(&app).await;
    let admin = App::new(app.store.clone());
    for (name, role) in [("ada.admin", Role::Admin), ("victor.viewer", Role::Viewer)] {
        admin.admin().create_user(name, "long enough secret", role, Actor::Worker("test".into())).await.unwrap();
    }
    let base = app.url("");
    let b = Browser::start().await;
    b.log_in(&base, "ada.admin", "long enough secret").await;
    b.wait_for_url("/orders").await;
    assert!(b.source().await.contains(&data.held), "the new order is listed");
    b.screenshot("01-orders").await;

    // Approve the held order from the review queue.
    b.goto(&format!("{base}/review")).await;
    b.click(&b.find(&format!("input[name=ids][value='{}']", data.held)).await).await;
    b.type_into(&b.find("input[name=reason]").await, "called the buyer, address confirmed").await;
    b.screenshot("02-review-queue").await;
    b.click(&b.find("button[value=approve]").await).await;
    b.wait_for_url("done=1").await;
    let held = json_of(app.get(&format!("/api/v1/orders/{}", data.held)).await, StatusCode::OK).await;
    assert_ne!(held["status"], "on_hold", "{held}");
    let history = json_of(app.get(&format!("/api/v1/orders/{}/history", data.held)).await, StatusCode::OK).await;
    assert!(history.to_string().contains("called the buyer"), "audited with the reason: {history}");

    // Every dashboard opens with its figures.
    app.post("/api/v1/dashboards/refresh", &json!({})).await;
    for (path, needle) in [
        ("/dashboards/cash", "COD receivable"),
        ("/dashboards/rejections?by=region", "Jazan"),
        ("/dashboards/profit", "Expected profit"),
        ("/dashboards/profit?by=sku", "Orders by expected profit per order"),
        ("/dashboards/customs", "Abnormal: held by customs"),
        ("/dashboards/carriers", "Weights"),
        ("/recommendations", "stop COD"),
    ] {
        b.goto(&format!("{base}{path}")).await;
        let page = b.source().await;
        assert!(page.contains(needle), "{path}: {needle} missing");
        let name = path.trim_start_matches('/').replace(['/', '?', '='], "-");
        b.screenshot(&format!("03-{name}")).await;
    }

    // Follow the worst region's bar to its orders: the refused parcels to Jazan, and only those.
    b.goto(&format!("{base}/dashboards/rejections?by=region&from=2026-11-01&to=2026-11-30")).await;
    let first = b.find("svg.chart a").await;
    let href = b.attr(&first, "href").await.unwrap_or_default();
    assert!(href.contains("region=Jazan") && href.contains("figure=refused"), "{href}");
    b.click(&b.find("svg.chart a rect").await).await;
    b.wait_for_url("figure=refused").await;
    assert_eq!(b.count("table tbody tr").await, data.refused_in_jazan);
    b.screenshot("04-orders-behind-a-bar").await;

    // Export the same orders as CSV with the page's own session.
    let csv = b.run("return fetch(document.getElementById('export-csv').href).then(r => r.text());", json!([])).await;
    let csv = csv.as_str().unwrap_or_default();
    assert_eq!(csv.lines().count(), data.refused_in_jazan + 1, "{csv}");
    assert!(csv.lines().skip(1).all(|l| l.contains(",Jazan,")), "{csv}");

    // The dashboard's own table exports with its filter and grouping.
    b.goto(&format!("{base}/dashboards/rejections?by=region&from=2026-11-01&to=2026-11-30")).await;
    let table = b.run("return fetch(document.querySelector('p.exports a').href).then(r => r.text());", json!([])).await;
    let table = table.as_str().unwrap_or_default();
    assert!(table.starts_with("region,shipped,delivered,refused"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("SA / Jazan,12,3,9,0,75.0000,12,")), "{table}");

    // Act on the recommendation: the back-test first, then the rule.
    b.goto(&format!("{base}/recommendations")).await;
    b.click(&b.find("ul.recs button").await).await;
    b.wait_for_url("/recommendations/preview").await;
    let preview = b.text(&b.find("#backtest").await).await;
    assert!(preview.contains("With the change"), "{preview}");
    b.screenshot("05-recommendation-backtest").await;
    b.click(&b.find("#confirm").await).await;
    b.wait_for_url("done=rul_").await;
    let rules = json_of(app.get("/api/v1/rules").await, StatusCode::OK).await;
    let made = rules.to_string();
    assert!(made.contains("Block COD: LAMP-1 in Jazan (SA)") && made.contains("block_cod"), "{made}");
    b.goto(&format!("{base}/recommendations")).await;
    assert!(!b.source().await.contains("LAMP-1 is refused"), "a recommendation acted on is not made again");

    // Log out; a viewer sees the operational dashboards but not the money pages.
    b.click(&b.find("#logout").await).await;
    b.wait_for_url("/login").await;
    b.log_in(&base, "victor.viewer", "long enough secret").await;
    b.wait_for_url("/orders").await;
    let nav = b.text(&b.find("nav").await).await;
    assert!(nav.contains("Rejections") && !nav.contains("Cash flow") && !nav.contains("Finance"), "{nav}");
    b.goto(&format!("{base}/dashboards/cash")).await;
    assert!(b.source().await.contains("not open to your role"));
    b.screenshot("06-viewer-refused").await;
    b.quit().await;
}

/// An ops agent in Chinese works the review queue (paging, a filter, a phone confirmation, approving every
/// matching order) and closes a task, without touching the API.
#[tokio::test]
async fn an_ops_agent_works_the_review_queue_and_a_task_in_chinese_in_a_real_browser() {
    let app = spawn_app(Engine::Sqlite).await;
    app.seed(&[("LAMP-1", 500)]).await;
    app.rule("true", "hold", "address to check").await;
    let mut ae = Vec::new();
    for i in 0..60 {
        let mut body = order(&format!("Q-{i:02}"), "LAMP-1", 1);
        if i >= 55 {
            body["shipping_address"]["country"] = "AE".into();
            body["buyer"]["name"] = "<b>Omar</b>".into();
        }
        let o = json_of(app.post("/api/v1/orders", &body).await, StatusCode::CREATED).await;
        if i >= 55 {
            ae.push(o["id"].as_str().unwrap().to_owned());
        }
    }
    crate::console_work::open_tasks(&app, 3).await;
    let admin = App::new(app.store.clone());
    admin.admin().create_user("li.ops", "long enough secret", Role::Ops, Actor::Worker("test".into())).await.unwrap();
    let base = app.url("");
    let b = Browser::start().await;
    b.log_in(&base, "li.ops", "long enough secret").await;
    b.wait_for_url("/orders").await;
    // Choosing the language submits the switch (the button is there for browsers without scripts).
    b.click(&b.find("#lang-switch option[value=zh]").await).await;
    b.wait_for_text("nav", "审单队列").await;
    b.screenshot("10-zh-orders").await;

    b.goto(&format!("{base}/review")).await;
    assert!(b.text(&b.find("#count").await).await.contains("第 1–50 条，共 60 条"));
    b.screenshot("11-zh-review-queue").await;
    b.type_into(&b.find("#f-country").await, "AE").await;
    b.click(&b.find("form.filters button").await).await;
    b.wait_for_url("country=AE").await;
    assert_eq!(b.count("#held tbody tr").await, 5);
    assert!(b.source().await.contains("&lt;b&gt;Omar&lt;/b&gt;"), "a buyer's markup stays text");

    // A confirmation call from the order's page approves it.
    b.click(&b.find(&format!("a[href='/orders/{}']", ae[0])).await).await;
    b.wait_for_url(&ae[0]).await;
    b.click(&b.find("#call-outcome option[value=confirmed]").await).await;
    b.click(&b.find("#call button").await).await;
    b.wait_for_text("#status", "已分配").await;
    b.screenshot("12-zh-order-after-call").await;

    // Every held Saudi order approved at once, from the first page.
    b.goto(&format!("{base}/review?country=SA")).await;
    b.click(&b.find("input[data-select-all]").await).await;
    assert_eq!(b.run("return document.querySelectorAll('input[name=ids]:checked').length;", json!([])).await, 50);
    b.click(&b.find("#all-matching").await).await;
    b.screenshot("13-zh-review-select-all-matching").await;
    b.click(&b.find("#approve-selected").await).await;
    b.wait_for_url("done=55").await;
    b.wait_for_text("#flash", "完成 55 条").await;
    b.goto(&format!("{base}/review")).await;
    assert!(b.text(&b.find("#count").await).await.contains("共 4 条"), "the four other AE orders are left");

    // A task claimed and closed with a resolution.
    b.goto(&format!("{base}/tasks")).await;
    b.screenshot("14-zh-tasks").await;
    b.click(&b.find("#tasks tbody a").await).await;
    b.wait_for_url("/tasks/tsk_").await;
    b.click(&b.find("#claim").await).await;
    b.wait_for_text("#assignee", "li.ops").await;
    b.type_into(&b.find("#resolution").await, "承运商已重新派送").await;
    b.click(&b.find("#close").await).await;
    b.wait_for_text("#task-status", "已完成").await;
    b.screenshot("15-zh-task-closed").await;
    b.goto(&format!("{base}/preferences")).await;
    b.screenshot("16-zh-preferences").await;
    b.goto(&format!("{base}/nowhere")).await;
    assert!(b.source().await.contains("此地址没有内容"));
    b.screenshot("17-zh-not-found").await;
    b.quit().await;
}

/// Finance, in Chinese, reads a carrier's remittance: previews it, records it, reads the summary by class,
/// narrows the lines to one class and fetches a line's dispute packet.
#[tokio::test]
async fn finance_reads_a_remittance_in_chinese_from_preview_to_dispute_packet_in_a_real_browser() {
    let app = spawn_app(Engine::Sqlite).await;
    let profile = json!({
        "kind": "cod_remittance",
        "columns": {"tracking_number": "AWB", "amount": "Collected", "fee": "Fee", "net": "Paid", "date": "Date"},
        "date_formats": ["DD/MM/YYYY"], "number": {"decimal": ",", "thousands": "."}, "currency": "SAR",
        "deductions_negative": true, "delimiter": ";", "skip_rows": 1, "weight_in_kg": false
    });
    let r = app.client.put(app.url("/api/v1/settlement-profiles/my-courier")).bearer_auth(&app.admin).json(&profile);
    assert_eq!(r.send().await.unwrap().status(), StatusCode::CREATED);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("statements");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("week48.csv");
    std::fs::write(&file, "My Courier week 48\nAWB;Date;Collected;Fee;Paid\nMC1;01/12/2026;1.250,00;-25,00;1.225,00\nMC2;02/12/2026;99,50;-2,00;97,50\n").unwrap();
    let admin = App::new(app.store.clone());
    admin
        .admin()
        .create_user("fang.fin", "long enough secret", Role::Finance, Actor::Worker("test".into()))
        .await
        .unwrap();
    let base = app.url("");
    let b = Browser::start().await;
    b.log_in(&base, "fang.fin", "long enough secret").await;
    b.wait_for_url("/orders").await;
    // Choosing the language submits the switch (the button is there for browsers without scripts).
    b.click(&b.find("#lang-switch option[value=zh]").await).await;
    b.wait_for_text("nav", "结算对账").await;
    b.goto(&format!("{base}/settlements")).await;
    b.type_into(&b.find("#upload input[type=file]").await, file.to_str().unwrap()).await;
    b.click(&b.find("#upload select option[value=my-courier]").await).await;
    b.type_into(&b.find("#upload input[name=carrier]").await, "mycourier").await;
    b.screenshot("20-zh-settlements-upload").await;
    b.click(&b.find("#upload button").await).await;
    b.wait_for_text("#preview-note", "尚未记录").await;
    b.wait_for_text("#summary", "未知单号").await;
    b.screenshot("21-zh-statement-preview").await;
    b.click(&b.find("#record").await).await;
    b.wait_for_url("/settlements/stl_").await;
    b.wait_for_text("#summary", "SAR 1,349.50").await;
    b.click(&b.find("#f-class option[value=unknown_reference]").await).await;
    b.click(&b.find("form.filters button").await).await;
    b.wait_for_url("class=unknown_reference").await;
    assert_eq!(b.count("#lines tbody tr").await, 2);
    b.screenshot("22-zh-statement-lines").await;
    let packet = b
        .run(
            "return fetch(document.querySelector('#lines a').href).then(r => r.status + ' ' + r.headers.get('content-type'));",
            json!([]),
        )
        .await;
    assert_eq!(packet.as_str().unwrap_or_default(), "200 application/pdf", "the dispute packet downloads");
    b.quit().await;
}

/// The owner, in Chinese, reads every dashboard narrowed by a filter and acts on a recommendation once: the
/// same change confirmed a second time (a double click, the back button) makes nothing more.
#[tokio::test]
async fn the_owner_reads_each_dashboard_with_a_filter_and_acts_on_a_recommendation_once_in_chinese() {
    let app = spawn_app(Engine::Sqlite).await;
    seed(&app).await;
    let admin = App::new(app.store.clone());
    admin
        .admin()
        .create_user("wang.owner", "long enough secret", Role::Admin, Actor::Worker("test".into()))
        .await
        .unwrap();
    let base = app.url("");
    let b = Browser::start().await;
    b.log_in(&base, "wang.owner", "long enough secret").await;
    b.wait_for_url("/orders").await;
    b.click(&b.find("#lang-switch option[value=zh]").await).await;
    b.wait_for_text("nav", "审单队列").await;
    // Each dashboard with a filter: its headings in Chinese, its figures narrowed by the filter.
    for (path, needle) in [
        ("/dashboards/rejections?by=region&country=SA", "每周拒收率"),
        ("/dashboards/profit?by=sku&country=SA", "按单笔预期利润的订单分布"),
        ("/dashboards/customs?country=SA", "异常：被海关扣留"),
        ("/dashboards/carriers?country=SA", "评分权重"),
        ("/dashboards/cash?currency=SAR", "按承运商和账龄的代收货款应收"),
        ("/recommendations?country=SA", "建议在该地区停止货到付款"),
    ] {
        b.goto(&format!("{base}{path}")).await;
        let main = b.text(&b.find("main").await).await;
        assert!(main.contains(needle), "{path}: {needle} missing from {main}");
        for english in ["Shipped", "Refusal rate", "Export CSV", "Group by", "Expected profit", "Weights"] {
            assert!(!main.contains(english), "{path}: '{english}' left in English");
        }
        let name = path.trim_start_matches('/').replace(['/', '?', '=', '&'], "-");
        b.screenshot(&format!("30-zh-{name}")).await;
    }
    b.goto(&format!("{base}/dashboards/rejections?by=region&country=SA")).await;
    let sa = b.text(&b.find("#rejections").await).await;
    assert!(sa.contains("Jazan") && sa.contains("75.0%"), "{sa}");
    let total = b.text(&b.find("#total").await).await;
    assert!(total.contains("合计") && total.contains("20"), "the grand total counts every parcel: {total}");
    b.goto(&format!("{base}/dashboards/rejections?by=region&country=AE")).await;
    assert!(b.text(&b.find("main").await).await.contains("没有发货"), "a filter with nothing behind it says so");
    b.goto(&format!("{base}/dashboards/profit?country=AE")).await;
    assert_eq!(b.count("#profit").await, 0, "profit narrowed to a country with no orders");

    b.goto(&format!("{base}/recommendations?country=SA")).await;
    b.click(&b.find("ul.recs button").await).await;
    b.wait_for_url("/recommendations/preview").await;
    let preview_url = b.run("return location.href;", json!([])).await.as_str().unwrap_or_default().to_owned();
    let preview = b.text(&b.find("#backtest").await).await;
    assert!(preview.contains("当前规则") && preview.contains("修改后"), "{preview}");
    b.screenshot("31-zh-recommendation-preview").await;
    b.click(&b.find("#confirm").await).await;
    b.wait_for_url("done=rul_").await;
    assert!(b.text(&b.find("#flash").await).await.contains("已执行"));
    b.goto(&preview_url).await;
    b.click(&b.find("#confirm").await).await;
    b.wait_for_url("done=rul_").await;
    let rules = json_of(app.get("/api/v1/rules").await, StatusCode::OK).await;
    let made = rules.to_string().matches("Block COD: LAMP-1 in Jazan (SA)").count();
    assert_eq!(made, 1, "confirmed twice, made once: {rules}");
    b.goto(&format!("{base}/recommendations?country=SA")).await;
    assert!(!b.source().await.contains("LAMP-1 在 Jazan"), "a recommendation acted on is no longer listed");
    b.quit().await;
}

/// The warehouse, in Chinese, ticks parcels and prints their labels, then every parcel matching across pages.
#[tokio::test]
async fn the_warehouse_prints_a_batch_of_labels_for_ticked_and_for_all_matching_parcels_in_chinese() {
    let app = spawn_app(Engine::Sqlite).await;
    app.seed(&[("LAMP-1", 100)]).await;
    for i in 0..55 {
        let body = order(&format!("W-{i:02}"), "LAMP-1", 1);
        assert_eq!(app.post("/api/v1/orders", &body).await.status(), StatusCode::CREATED);
    }
    let mut tx = app.store.begin().await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let booked = codflow_store::testing::book_allocated(&mut tx, "sandbox", "SBX-SA-STD", "SBX", now).await.unwrap();
    codflow_store::commit(tx).await.unwrap();
    assert_eq!(booked, 55);
    let admin = App::new(app.store.clone());
    admin
        .admin()
        .create_user("zhou.wh", "long enough secret", Role::Warehouse, Actor::Worker("test".into()))
        .await
        .unwrap();
    let base = app.url("");
    let b = Browser::start().await;
    b.log_in(&base, "zhou.wh", "long enough secret").await;
    b.wait_for_url("/orders").await;
    b.click(&b.find("#lang-switch option[value=zh]").await).await;
    b.wait_for_text("nav", "运单").await;
    b.goto(&format!("{base}/shipments")).await;
    assert!(b.text(&b.find("main").await).await.contains("打印面单"), "the warehouse works in Chinese");
    assert_eq!(b.run("return document.querySelectorAll('input[name=ids]:checked').length;", json!([])).await, 0);
    let boxes = b
        .run(
            "return Array.from(document.querySelectorAll('input[name=ids]')).slice(0, 3).map(e => e.value);",
            json!([]),
        )
        .await;
    for id in boxes.as_array().unwrap() {
        b.click(&b.find(&format!("input[name=ids][value='{}']", id.as_str().unwrap())).await).await;
    }
    b.screenshot("40-warehouse-ticked").await;
    // The form as the print button would send it, read back by the page's own session.
    let print = "const f = document.getElementById('batch-form'); const d = new URLSearchParams(new FormData(f)); \
                 d.append('format', arguments[0]); \
                 return fetch(f.action, {method: 'POST', body: d}).then(async r => [r.status, r.headers.get('content-type'), await r.text()]);";
    let pdf = b.run(print, json!(["pdf"])).await;
    assert_eq!(pdf[0], 200, "{pdf}");
    assert_eq!(pdf[1], "application/pdf");
    let zpl = b.run(print, json!(["zpl"])).await;
    assert_eq!(zpl[2].as_str().unwrap_or_default().matches("^XA").count(), 3, "one label per ticked parcel");
    b.click(&b.find("input[data-select-all=ids]").await).await;
    assert_eq!(b.run("return document.querySelectorAll('input[name=ids]:checked').length;", json!([])).await, 50);
    b.click(&b.find("#all-matching").await).await;
    b.screenshot("41-warehouse-all-matching").await;
    let zpl = b.run(print, json!(["zpl"])).await;
    assert_eq!(
        zpl[2].as_str().unwrap_or_default().matches("^XA").count(),
        55,
        "every matching parcel, past the first page"
    );
    b.quit().await;
}

/// Every field on every page has a label a screen reader can read out (a `<label>` or an `aria-label`).
#[tokio::test]
async fn every_input_on_every_page_has_a_label() {
    let app = spawn_app(Engine::Sqlite).await;
    let data = seed(&app).await;
    let channel = json!({"code": "SBX-SA", "name": "Sandbox SA", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true},
        "rate_card": {"currency": "SAR", "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 3,
            "bands": [{"from_g": 0, "to_g": 30000, "price": "20.00"}]}]}});
    assert_eq!(app.post("/api/v1/channels", &channel).await.status(), StatusCode::CREATED);
    let admin = App::new(app.store.clone());
    admin
        .admin()
        .create_user("ada.admin", "long enough secret", Role::Admin, Actor::Worker("test".into()))
        .await
        .unwrap();
    let base = app.url("");
    let b = Browser::start().await;
    b.log_in(&base, "ada.admin", "long enough secret").await;
    b.wait_for_url("/orders").await;
    let unlabelled = "return Array.from(document.querySelectorAll('input, select, textarea'))\
        .filter(e => !['hidden', 'submit', 'button'].includes(e.type))\
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))\
        .map(e => e.outerHTML.slice(0, 160));";
    let order = format!("/orders/{}", data.held);
    for path in [
        "/orders",
        order.as_str(),
        "/review",
        "/tasks",
        "/shipments",
        "/stock",
        "/settlements",
        "/finance",
        "/dashboards/cash",
        "/dashboards/profit",
        "/dashboards/rejections",
        "/dashboards/customs",
        "/dashboards/carriers",
        "/recommendations",
        "/channels",
        "/channels/SBX-SA",
        "/channels?country=SA&weight_g=500&goods=10.00&currency=SAR&quote=1",
        "/shops",
        "/shops?platform=woocommerce",
        "/carrier-accounts",
        "/carrier-accounts?carrier=4px",
        "/rules",
        "/settings",
        "/settings/messages?name=cod_unavailable&language=en",
        "/settings/tracking",
        "/preferences",
    ] {
        b.goto(&format!("{base}{path}")).await;
        let missing = b.run(unlabelled, json!([])).await;
        assert_eq!(missing, json!([]), "{path}: fields without a label");
    }
    b.quit().await;
}

struct Seeded {
    held: String,
    refused_in_jazan: usize,
}

/// Orders to two Saudi regions with known outcomes (Jazan refuses most), one held for review.
async fn seed(app: &TestApp) -> Seeded {
    app.seed(&[("LAMP-1", 500)]).await;
    app.rule("dest.city == \"Hold City\"", "hold", "address to check").await;
    let thresholds = json!({"refusal_pct": 30, "min_parcels": 5, "customs_factor": 2, "min_shipped": 20});
    json_of(app.put("/api/v1/settings/recommendations", &thresholds).await, StatusCode::OK).await;
    let mut refused_in_jazan = 0;
    for i in 0..20 {
        let mut body = order(&format!("B-{i}"), "LAMP-1", 1);
        let jazan = i < 12;
        if jazan {
            body["shipping_address"]["region"] = "Jazan".into();
            body["shipping_address"]["city"] = "Jizan".into();
        }
        body["buyer"]["phone"] = format!("+9665012300{i:02}").into();
        let o = json_of(app.post("/api/v1/orders", &body).await, StatusCode::CREATED).await;
        let refused = jazan && i < 9;
        refused_in_jazan += usize::from(refused);
        let outcome = if refused { "refused" } else { "delivered" };
        let id = o["id"].as_str().unwrap();
        app.post(&format!("/api/v1/orders/{id}/outcome"), &json!({"outcome": outcome})).await;
    }
    let mut body = order("B-HOLD", "LAMP-1", 1);
    body["shipping_address"]["city"] = "Hold City".into();
    let o = json_of(app.post("/api/v1/orders", &body).await, StatusCode::CREATED).await;
    assert_eq!(o["status"], "on_hold");
    let r = app.post("/api/v1/dashboards/refresh", &json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    Seeded { held: o["id"].as_str().unwrap().to_owned(), refused_in_jazan }
}

#[tokio::test]
async fn an_admin_adds_a_4px_account_tests_it_and_points_a_channel_at_it() {
    let server = codflow_sandbox_carrier::start(Default::default()).await.unwrap();
    let app = spawn_app(Engine::Sqlite).await;
    let channel = json!({"code": "4PX-SA", "name": "4PX Saudi", "carrier": "4px", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": false, "ddp": true},
        "rate_card": {"currency": "SAR", "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 7,
            "bands": [{"from_g": 0, "to_g": 30000, "price": "30.00"}]}]}});
    assert_eq!(app.post("/api/v1/channels", &channel).await.status(), StatusCode::CREATED);
    let admin = App::new(app.store.clone());
    admin
        .admin()
        .create_user("ada.admin", "long enough secret", Role::Admin, Actor::Worker("test".into()))
        .await
        .unwrap();
    let base = app.url("");
    let b = Browser::start().await;
    b.log_in(&base, "ada.admin", "long enough secret").await;
    b.wait_for_url("/orders").await;
    b.click(&b.find("nav a[href='/carrier-accounts']").await).await;
    b.wait_for_text("main", "No carrier accounts yet").await;
    b.goto(&format!("{base}/carrier-accounts?carrier=4px#add")).await;
    b.type_into(&b.find("#add-form input[name=code]").await, "4px-sz").await;
    b.type_into(&b.find("#add-form input[name=name]").await, "4PX Shenzhen").await;
    b.type_into(&b.find("#add-form input[name=base_url]").await, &format!("{server}/4px")).await;
    b.type_into(&b.find("#add-form input[name=cred_app_key]").await, codflow_sandbox_carrier::fourpx::TEST_APP_KEY)
        .await;
    b.type_into(&b.find("#add-form input[name=cred_app_secret]").await, "a wrong secret").await;
    b.screenshot("73-carrier-account-add").await;
    b.click(&b.find("#add-account").await).await;
    b.wait_for_url("/carrier-accounts/4px-sz").await;
    assert!(!b.source().await.contains("a wrong secret"), "secrets are never shown back");
    // The test names the refused secret; typed again, it connects.
    b.click(&b.find("#test-account").await).await;
    b.wait_for_text("#tested", "credentials refused").await;
    b.goto(&format!("{base}/carrier-accounts/4px-sz")).await;
    b.type_into(&b.find("#account-form input[name=cred_app_key]").await, codflow_sandbox_carrier::fourpx::TEST_APP_KEY)
        .await;
    b.type_into(
        &b.find("#account-form input[name=cred_app_secret]").await,
        codflow_sandbox_carrier::fourpx::TEST_APP_SECRET,
    )
    .await;
    b.click(&b.find("#save-account").await).await;
    b.wait_for_text(".flash", "saved").await;
    b.screenshot("74a-carrier-account-edit").await;
    b.click(&b.find("#test-account").await).await;
    b.wait_for_text("#tested", "connected").await;
    b.screenshot("74-carrier-accounts").await;
    // The channel books through the account from now on.
    b.goto(&format!("{base}/channels/4PX-SA")).await;
    b.run("document.querySelector('#carrier-account').value = '4px-sz';", json!([])).await;
    b.click(&b.find("#save-channel").await).await;
    b.wait_for_text("main", "(4px-sz)").await;
    b.screenshot("75-channel-account").await;
    let ch = json_of(app.get("/api/v1/channels/4PX-SA").await, StatusCode::OK).await;
    assert_eq!(ch["carrier_account"], "4px-sz");
    b.quit().await;
}
