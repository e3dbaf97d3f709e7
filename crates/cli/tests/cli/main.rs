//! The `codflow` binary driven as a user would: real processes, real databases, real signals.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use codflow_app::App;
use codflow_app::catalogue::{ProductInput, WarehouseInput};
use codflow_domain::order::MoneyInput;
use codflow_store::testing::TestDb;
use codflow_store::{Engine, Store};
use sqlx::Row;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_codflow");
const HEADER: &str = "external_id,placed_at,currency,payment_method,buyer_name,buyer_phone,buyer_email,line1,line2,city,region,postal_code,country,sku,quantity,unit_price,shipping_fee";

mod booking;
mod channel_push;
mod dashboards;
mod finance;
mod scale_bridge;
mod tracking;

codflow_store::on_both_engines!(
    token_create_prints_a_working_secret_alone_on_the_last_line,
    import_prints_a_summary_and_row_errors_with_line_numbers,
    an_import_killed_half_way_and_run_again_leaves_every_order_exactly_once,
);

async fn seeded(engine: Engine, skus: &[&str]) -> (TestDb, Store) {
    let db = TestDb::new(engine).await;
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let app = App::new(store.clone());
    app.catalogue()
        .create_warehouse(
            WarehouseInput { code: Some("SZ1".into()), name: Some("Shenzhen".into()), country: Some("CN".into()) },
            codflow_domain::Actor::Worker("test".into()),
        )
        .await
        .unwrap();
    for sku in skus {
        app.catalogue()
            .create_product(
                ProductInput {
                    sku: Some((*sku).into()),
                    title: Some("Lamp".into()),
                    unit_weight_g: Some(400),
                    unit_cost: Some(MoneyInput { amount: "10.00".into(), currency: Some("CNY".into()) }),
                    hs_code: Some("940540".into()),
                    origin_country: Some("CN".into()),
                    ..Default::default()
                },
                codflow_domain::Actor::Worker("test".into()),
            )
            .await
            .unwrap();
        app.catalogue()
            .set_stock(
                &codflow_domain::WarehouseCode::parse("SZ1").unwrap(),
                &codflow_domain::Sku::parse(sku).unwrap(),
                codflow_app::catalogue::StockChange { on_hand: Some(1_000_000), location: None },
                codflow_domain::Actor::Worker("test".into()),
            )
            .await
            .unwrap();
    }
    (db, store)
}

fn row(ext: &str, sku: &str, qty: &str) -> String {
    format!(
        "{ext},2026-11-20T10:00:00Z,SAR,cod,Noura,0501234567,,King Fahd Rd 12,,Riyadh,Riyadh Province,12211,SA,{sku},{qty},59.00,10.00"
    )
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(store.reader()).await.unwrap().get::<i64, _>(0)
}

/// Reads the child's stdout until a line containing `needle`, within a deadline.
async fn read_until(lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>, needle: &str) -> Vec<String> {
    read_until_within(lines, needle, Duration::from_secs(60)).await
}

async fn read_until_within(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    needle: &str,
    within: Duration,
) -> Vec<String> {
    let mut seen = Vec::new();
    tokio::time::timeout(within, async {
        while let Some(l) = lines.next_line().await.unwrap() {
            let done = l.contains(needle);
            seen.push(l);
            if done {
                return;
            }
        }
        panic!("output ended before {needle:?}: {seen:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} within the deadline"));
    seen
}

async fn token_create_prints_a_working_secret_alone_on_the_last_line(engine: Engine) {
    let (db, _store) = seeded(engine, &[]).await;
    let out = Command::new(BIN)
        .args(["token", "create", "--role", "ops", "--name", "shop bot", "--database-url", &db.url])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let secret = stdout.lines().last().unwrap().to_owned();
    assert!(secret.starts_with("cf_") && secret.len() > 40, "{stdout}");

    let bad = Command::new(BIN)
        .args(["token", "create", "--role", "root", "--name", "x", "--database-url", &db.url])
        .output()
        .await
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role"));

    let mut server = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &db.url])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let seen = read_until(&mut lines, "listening on").await;
    let url = seen.last().unwrap().trim_start_matches("listening on ").to_owned();
    let status = |token: String| {
        let url = url.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{url}/api/v1/orders"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(secret.clone()).await, 200);
    assert_eq!(status(format!("{secret}x")).await, 401);
    server.kill().await.unwrap();
}

async fn import_prints_a_summary_and_row_errors_with_line_numbers(engine: Engine) {
    let (db, store) = seeded(engine, &["LAMP-01"]).await;
    let dir = tempdir();
    let file = dir.join("orders.csv");
    std::fs::write(
        &file,
        [HEADER.to_owned(), row("1", "LAMP-01", "2"), row("2", "LAMP-01", "x"), row("3", "GHOST", "1")].join("\n"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["import", "orders"])
        .arg(&file)
        .args(["--database-url", &db.url])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "rows in error make the exit code 2: {stdout}");
    assert!(stdout.contains("created:         1 (1 allocated, 0 backordered)"), "{stdout}");
    assert!(stdout.contains("rejected:        2"), "{stdout}");
    assert!(stdout.contains("line 3, quantity (order 2): \"x\" is not a whole number"), "{stdout}");
    assert!(stdout.contains("line 4, sku (order 3): unknown SKU GHOST"), "{stdout}");
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM orders").await, 1);

    std::fs::write(&file, "external_id,sku\n1,LAMP-01\n").unwrap();
    let out = Command::new(BIN)
        .args(["import", "orders"])
        .arg(&file)
        .args(["--database-url", &db.url])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing column(s) placed_at"));
    let _ = std::fs::remove_dir_all(dir);
}

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("codflow-cli-{}", codflow_domain::ids::new_id_body()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_big_file(path: &Path, orders: usize) {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "{HEADER}").unwrap();
    for n in 0..orders {
        writeln!(w, "{}", row(&format!("K{n}"), "LAMP-01", "1")).unwrap();
        writeln!(w, "{}", row(&format!("K{n}"), "LAMP-02", "2")).unwrap();
    }
}

async fn an_import_killed_half_way_and_run_again_leaves_every_order_exactly_once(engine: Engine) {
    const ORDERS: usize = 10_000;
    let (db, store) = seeded(engine, &["LAMP-01", "LAMP-02"]).await;
    let dir = tempdir();
    let file = dir.join("big.csv");
    write_big_file(&file, ORDERS);

    // Small batches, so the process is killed between commits with most of the file still to do.
    let mut child = Command::new(BIN)
        .args(["import", "orders"])
        .arg(&file)
        .args(["--database-url", &db.url, "--batch-size", "50"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut progress = BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(l) = progress.next_line().await.unwrap() {
            if l.starts_with("progress:") {
                return;
            }
        }
        panic!("the import ended without reporting progress");
    })
    .await
    .expect("progress within the deadline");
    child.start_kill().unwrap(); // SIGKILL: no chance to clean up
    let status = child.wait().await.unwrap();
    assert!(!status.success(), "the import was killed, not finished");

    let landed = scalar(&store, "SELECT COUNT(*) FROM orders").await;
    assert!(landed > 0 && landed < ORDERS as i64, "killed half way: {landed} orders had landed");
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM order_lines").await, 2 * landed, "no order is partial");

    let out = Command::new(BIN)
        .args(["import", "orders"])
        .arg(&file)
        .args(["--database-url", &db.url])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains(&format!("already present: {landed}")), "{stdout}");

    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM orders").await, ORDERS as i64);
    assert_eq!(scalar(&store, "SELECT COUNT(DISTINCT external_id) FROM orders").await, ORDERS as i64);
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM order_lines").await, 2 * ORDERS as i64);
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM orders WHERE status = 'allocated'").await, ORDERS as i64);
    // Each order holds 1 + 2 units; nothing reserved twice, nothing lost.
    assert_eq!(scalar(&store, "SELECT CAST(SUM(reserved) AS BIGINT) FROM stock").await, 3 * ORDERS as i64);
    assert_eq!(scalar(&store, "SELECT CAST(SUM(quantity) AS BIGINT) FROM reservations").await, 3 * ORDERS as i64);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_lives_a_simulated_month_then_runs_in_real_time_with_every_screen_filled() {
    let dir = tempdir();
    let mut server = Command::new(BIN)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .current_dir(&dir)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let seen = read_until(&mut lines, "listening on").await;
    let token = seen.iter().find_map(|l| l.strip_prefix("admin token:")).expect("admin token line").trim().to_owned();
    let carrier =
        seen.iter().find_map(|l| l.strip_prefix("demo carrier:")).expect("carrier line").split_whitespace().next();
    let carrier = carrier.unwrap().to_owned();
    let url = seen.last().unwrap().trim_start_matches("listening on ").to_owned();
    assert!(dir.join("codflow-demo.db").exists(), "the demo runs on its own SQLite file");
    let client = reqwest::Client::new();
    let get = |path: &str| {
        let req = client.get(format!("{url}{path}")).bearer_auth(&token);
        async move { req.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    // The console answers while the past is being lived.
    let r = client.get(format!("{url}/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // A simulated month at a day per second (slower in a debug build on a small machine), then the present.
    let past = read_until_within(&mut lines, "demo ready:", Duration::from_secs(300)).await;
    let simulated = past.iter().find_map(|l| l.strip_prefix("simulation:")).expect("a simulation line");
    let placed: usize = simulated.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(placed, 30 * 80, "{simulated}");
    let shops = past.iter().find(|l| l.starts_with("shops:")).expect("a shops line");
    assert!(shops.contains("Shopify and WooCommerce"), "{shops}");
    for shop in ["shopify-main", "woo-gulf"] {
        let sync = get(&format!("/api/v1/stores/{shop}/sync")).await;
        assert!(sync["done"].as_i64().unwrap() > 100 && sync["pending"] == 0, "{shop}: {sync}");
        assert_eq!(sync["failed"], 0, "{sync}");
    }
    // From here the carrier's clock (and the demo's) keep the real world's pace, from the real now on.
    let carrier_now = || {
        let carrier = carrier.clone();
        async move {
            let stats: serde_json::Value =
                reqwest::get(format!("{carrier}/v1/_stats")).await.unwrap().json().await.unwrap();
            let at = stats["now"].as_str().unwrap();
            (
                time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap(),
                std::time::Instant::now(),
            )
        }
    };
    let (present, since) = carrier_now().await;
    let lead = present - time::OffsetDateTime::now_utc();
    assert!(
        lead > -time::Duration::minutes(1) && lead < time::Duration::days(1),
        "the carrier's clock is {lead} from now"
    );
    // Every day of the month has its orders on the dashboards.
    let days = get("/api/v1/dashboards/sums?group=day").await;
    let days = days["items"].as_array().unwrap();
    assert!(days.len() >= 30, "{} days", days.len());
    let total = |k: &str| days.iter().map(|d| d["metrics"][k].as_i64().unwrap()).sum::<i64>();
    assert_eq!(total("orders"), (30 * 80 + 60) as i64, "the month's orders and today's hour");
    assert!(total("delivered") > 1000 && total("refused") > 100 && total("customs_held") > 20, "{days:?}");
    let mut orders = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(&format!("/api/v1/orders?limit=500&cursor={cursor}")).await;
        orders.extend(page["items"].as_array().unwrap().clone());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert!(orders.len() >= 200, "a few hundred orders: {}", orders.len());
    let mut countries: Vec<&str> = orders.iter().map(|o| o["shipping_address"]["country"].as_str().unwrap()).collect();
    countries.sort();
    countries.dedup();
    assert_eq!(countries.len(), 16, "{countries:?}");
    let currencies: std::collections::HashSet<&str> = orders.iter().map(|o| o["currency"].as_str().unwrap()).collect();
    for c in ["SAR", "KWD", "VND", "MXN", "PLN"] {
        assert!(currencies.contains(c), "{c} missing");
    }
    assert!(orders.iter().any(|o| o["status"] == "backordered") && orders.iter().any(|o| o["status"] == "allocated"));
    // An allocated order of SZ1 is recommended a box of SZ1's, with the box's weight in what the scale expects.
    let sz1 = orders
        .iter()
        .find(|o| {
            o["status"] == "allocated" && o["allocation"]["warehouse"] == "SZ1" && !o["allocation"]["channel"].is_null()
        })
        .expect("an allocated order of SZ1");
    let advice = get(&format!("/api/v1/orders/{}/packaging", sz1["id"].as_str().unwrap())).await;
    let chosen = advice["boxes"][0]["code"].as_str().unwrap_or_else(|| panic!("{advice}"));
    assert!(["ENV-M", "BAG-M", "C-S", "C-T", "C-M", "C-L", "C-XL"].contains(&chosen), "{advice}");
    assert!(advice["expected_weight_g"].as_i64().unwrap() > 0, "{advice}");
    // The month's refused parcels: most scanned in and graded (one with a unit written off), the rest expected;
    // lost parcels have their claims, one paid.
    let closed = get("/api/v1/returns?status=closed&limit=500").await;
    let closed = closed["items"].as_array().unwrap();
    assert!(!closed.is_empty(), "graded returns");
    assert!(closed.iter().any(|r| r["lines"].as_array().unwrap().iter().any(|l| l["disposition"] == "write_off")));
    let waiting = get("/api/v1/returns?status=expected").await;
    assert!(!waiting["items"].as_array().unwrap().is_empty(), "returns still expected");
    // One refused in Saudi Arabia was held at the return warehouse in Riyadh: its goods are stock there.
    let held: Vec<&serde_json::Value> = closed.iter().filter(|r| r["received_warehouse"] == "RUH-R").collect();
    assert_eq!(held.len(), 1, "one held abroad");
    assert_eq!(held[0]["route"], "hold_abroad", "{}", held[0]);
    let sku = held[0]["lines"][0]["sku"].as_str().unwrap();
    let there = get(&format!("/api/v1/stock/RUH-R/{sku}")).await;
    assert!(there["on_hand"].as_i64().unwrap() >= 1, "{there}");
    let claims = get("/api/v1/claims?status=paid").await;
    assert_eq!(claims["items"].as_array().unwrap().len(), 1, "{claims}");
    let products = get("/api/v1/products").await;
    assert!(products["items"].as_array().unwrap().len() >= 30);
    // Every rate profit needs is there, the yuan the goods were bought in included: nothing is left out for it.
    let profit = get("/api/v1/finance/profit").await;
    assert_eq!(profit["missing_rates"], serde_json::json!([]), "{}", profit["skipped_orders"]);
    assert!(profit["orders"].as_i64().unwrap() > 1000, "{}", profit["orders"]);
    // The shelves are the shop's own again once the past is lived, not the simulation's bottomless ones.
    for p in products["items"].as_array().unwrap().iter().take(5) {
        let stock = get(&format!("/api/v1/stock/SZ1/{}", p["sku"].as_str().unwrap())).await;
        let (on_hand, reserved) = (stock["on_hand"].as_i64().unwrap(), stock["reserved"].as_i64().unwrap());
        assert!(on_hand >= reserved && on_hand - reserved <= 1_000, "{p}: {stock}");
    }
    // Review is switched on with the ready-made rules: held orders wait with their reasons, and the outbox
    // delivers buyer messages to the demo's own receivers.
    let rules = get("/api/v1/rules").await;
    assert!(rules["items"].as_array().unwrap().len() >= 10, "every template is switched on");
    let queue = get("/api/v1/review-queue").await;
    let held = queue["items"].as_array().unwrap();
    assert!(!held.is_empty(), "the queue has held orders");
    assert!(held.iter().all(|o| !o["review"]["reasons"][0].as_str().unwrap_or("").is_empty()));
    assert!(orders.iter().any(|o| o["status"] == "cancelled" && o["review"]["decision"] == "cancel"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let sent = get("/api/v1/notifications?status=sent").await;
        if !sent["items"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no buyer message was sent");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The demo books orders with the sandbox carrier process it started, and their labels print.
    let booked = get("/api/v1/shipments?status=booked").await;
    let first = booked["items"].as_array().unwrap().first().cloned().expect("the demo booked shipments");
    let tracking = first["tracking_number"].as_str().unwrap().to_owned();
    let label = client
        .get(format!("{url}/api/v1/shipments/{}/label", first["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(label.contains(&format!("^FD{tracking}^FS")), "{label}");
    // The label's QR code and printed address lead to the public tracking page of this server.
    let qr = label.split("^FDMA,").nth(1).and_then(|r| r.split("^FS").next()).expect("a QR code").to_owned();
    assert_eq!(qr, format!("{url}/track/{tracking}"));
    let page = client.get(&qr).send().await.unwrap();
    assert_eq!(page.status(), 200, "{qr}");
    let bytes = |path: String| {
        let req = client.get(format!("{url}{path}")).bearer_auth(&token);
        async move {
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.bytes().await.unwrap().to_vec()
        }
    };
    let sid = first["id"].as_str().unwrap();
    let pdf = bytes(format!("/api/v1/shipments/{sid}/label?format=pdf")).await;
    let page = &codflow_documents::inspect::pages(&pdf).unwrap()[0];
    assert_eq!(codflow_documents::inspect::barcode(page), Some(tracking.clone()));
    let invoice = bytes(format!("/api/v1/shipments/{sid}/commercial-invoice")).await;
    let shown: Vec<String> = codflow_documents::inspect::pages(&invoice)
        .unwrap()
        .iter()
        .flat_map(|p| codflow_documents::inspect::texts(p))
        .collect();
    assert!(shown.iter().any(|t| t == "Demo Trading Co., Ltd."), "{shown:?}");
    // The demo's stock has bins, so its picking list walks them.
    let allocated: Vec<&str> =
        orders.iter().filter(|o| o["status"] == "allocated").filter_map(|o| o["id"].as_str()).take(20).collect();
    let r = client
        .post(format!("{url}/api/v1/picking-lists"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"orders": allocated}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let pick = r.bytes().await.unwrap();
    let shown: Vec<String> = codflow_documents::inspect::pages(&pick)
        .unwrap()
        .iter()
        .flat_map(|p| codflow_documents::inspect::texts(p))
        .collect();
    assert!(
        shown.iter().any(|t| t.starts_with("A-") || t.starts_with("B-") || t.starts_with("C-") || t.starts_with("D-")),
        "{shown:?}"
    );
    // Parcels live a day per second in the demo: within a minute every path has happened, tasks are open,
    // and the public page shows a real timeline.
    let items = |v: serde_json::Value| v["items"].as_array().cloned().unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let delivered = loop {
        let delivered = items(get("/api/v1/tracking/shipments?status=delivered&limit=500").await);
        let refused = items(get("/api/v1/tracking/shipments?status=returning&limit=500").await).len()
            + items(get("/api/v1/tracking/shipments?status=returned&limit=500").await).len();
        let lost = items(get("/api/v1/tracking/shipments?status=lost&limit=500").await).len();
        let held = items(get("/api/v1/tasks?kind=customs_held&limit=500").await).len();
        let retried = delivered.iter().filter(|s| s["failed_attempts"].as_i64().unwrap_or(0) > 0).count();
        let seen = [delivered.len(), refused, lost, held, retried];
        if seen.iter().all(|n| *n > 0) {
            break delivered;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every path yet (delivered, refused, lost, held in customs, failed then delivered): {seen:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert!(!items(get("/api/v1/tasks?status=open").await).is_empty(), "tasks wait for people");
    let tn = delivered[0]["tracking_number"].as_str().unwrap();
    // One clock: the order's own history (intake, review, booking, delivery) runs in order, and ends no later
    // than its parcel's delivery.
    let history = get(&format!("/api/v1/orders/{}/history", delivered[0]["order_id"].as_str().unwrap())).await;
    let at = |v: &serde_json::Value| {
        time::OffsetDateTime::parse(v.as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
    };
    let times: Vec<time::OffsetDateTime> = history.as_array().unwrap().iter().map(|h| at(&h["at"])).collect();
    assert!(times.len() >= 3 && times.windows(2).all(|w| w[0] <= w[1]), "{history}");
    assert!(times[0] <= at(&delivered[0]["delivered_at"]), "{history} {}", delivered[0]);
    let page = client.get(format!("{url}/track/{tn}")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Delivered") && page.matches("<li><time").count() >= 6, "{page}");
    // Once the parcels have settled, the carrier's statements arrive with a mistake of each kind.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    let statements = loop {
        let s = items(get("/api/v1/statements").await);
        if s.len() >= 3 {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "the demo's statements did not arrive: {s:?}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let classes = |kind: &'static str| {
        let id = statements.iter().find(|s| s["kind"] == kind).map(|s| s["id"].as_str().unwrap().to_owned());
        let get = &get;
        async move {
            let r = get(&format!("/api/v1/statements/{}", id.expect(kind))).await;
            let found: Vec<String> =
                r["classes"].as_array().unwrap().iter().map(|c| c["class"].as_str().unwrap().to_owned()).collect();
            (found, r)
        }
    };
    let (remitted, r) = classes("cod_remittance").await;
    for c in ["matched", "short_paid", "duplicate", "unknown_reference", "currency_mismatch"] {
        assert!(remitted.contains(&c.to_owned()), "{c} missing from {r}");
    }
    assert!(r["missing_count"].as_i64().unwrap() >= 1, "a parcel left out: {r}");
    // The carrier's clean lines match its contract: only the planted mistakes stand out.
    let lines_of = |class: &str| {
        r["classes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["class"] == class)
            .map(|c| c["lines"].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!([lines_of("short_paid"), lines_of("fee_above_contract"), lines_of("duplicate")], [1, 1, 1], "{r}");
    assert_eq!(r["error_count"], 0, "{r}");
    let (paid, r) = classes("payout").await;
    assert!(!paid.is_empty() && paid.iter().all(|c| c == "matched"), "{r}");
    let (billed, r) = classes("freight_invoice").await;
    for c in ["overcharged", "duplicate", "unknown_reference"] {
        assert!(billed.contains(&c.to_owned()), "{c} missing from {r}");
    }
    let gain = get("/api/v1/ledger/balances").await;
    assert!(gain.to_string().contains("fx_gain_loss"), "the payout booked its exchange: {gain}");
    // All the above took seconds of real time, and as much passed on the carrier's clock (not days).
    let (later, until) = carrier_now().await;
    let real = time::Duration::try_from(until - since).unwrap();
    assert!(later - present < real + time::Duration::minutes(1), "{} passed in {real}", later - present);
    server.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_creates_the_schema_once_and_a_bad_url_is_a_clear_error() {
    let db = TestDb::new(Engine::Sqlite).await;
    for _ in 0..2 {
        let out = Command::new(BIN).args(["migrate", "--database-url", &db.url]).output().await.unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let store = Store::connect(&db.url).await.unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../store/migrations")).unwrap().count();
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM schema_migrations").await, files as i64, "each migration once");
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM orders").await, 0);

    let out = Command::new(BIN).args(["migrate", "--database-url", "mysql://nope"]).output().await.unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("use sqlite://PATH or postgres://"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_export_import_and_backtest_work_from_the_command_line() {
    let (db, store) = seeded(Engine::Sqlite, &["LAMP-01"]).await;
    let app = App::new(store.clone());
    // Riyadh refused three parcels, Jeddah paid for three.
    for n in 0..6 {
        let csv_city = if n % 2 == 0 { ("Riyadh", "Riyadh Province") } else { ("Jeddah", "Makkah Province") };
        let input = codflow_domain::OrderInput {
            store: Some("manual".into()),
            external_id: Some(format!("h{n}")),
            placed_at: Some(format!("2026-11-0{}T10:00:00Z", n + 1)),
            currency: Some("SAR".into()),
            payment_method: Some("cod".into()),
            buyer: codflow_domain::order::BuyerInput {
                name: Some("Noura".into()),
                phone: Some(format!("+96650999200{n}")),
                email: None,
            },
            shipping_address: codflow_domain::order::AddressInput {
                name: Some("Noura".into()),
                line1: Some("King Fahd Rd 12".into()),
                city: Some(csv_city.0.into()),
                region: Some(csv_city.1.into()),
                country: Some("SA".into()),
                ..Default::default()
            },
            lines: vec![codflow_domain::order::LineInput {
                sku: Some("LAMP-01".into()),
                quantity: Some(1),
                unit_price: Some(MoneyInput { amount: "59.00".into(), currency: Some("SAR".into()) }),
            }],
            shipping_fee: None,
        };
        let codflow_app::orders::IntakeOutcome::Created(o) =
            app.intake().create_order(input, codflow_domain::Actor::Worker("test".into())).await.unwrap()
        else {
            panic!("not created")
        };
        let outcome = if n % 2 == 0 { "refused" } else { "delivered" };
        app.review().record_outcome(&o.id, outcome, None, codflow_domain::Actor::Worker("test".into())).await.unwrap();
    }
    app.review().set_base_currency("SAR").await.unwrap();
    let dir = tempdir();
    let file = dir.join("rules.json");
    let run = |args: Vec<String>| {
        let url = db.url.clone();
        async move { Command::new(BIN).args(&args).args(["--database-url", &url]).output().await.unwrap() }
    };
    let out = run(vec!["rules".into(), "export".into(), "--output".into(), file.display().to_string()]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut exported: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(exported["rules"], serde_json::json!([]));
    exported["rules"] = serde_json::json!([{"id": "rul_00000000000000000000000001", "name": "Riyadh", "priority": 1,
        "enabled": true, "condition": "dest.region == 'Riyadh Province'", "action": "cancel", "reason": "Riyadh refuses"}]);
    std::fs::write(&file, exported.to_string()).unwrap();

    let out = run(vec![
        "rules".into(),
        "backtest".into(),
        "--ruleset".into(),
        file.display().to_string(),
        "--refusal-cost".into(),
        "50.00".into(),
    ])
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("orders replayed: 6 (3 delivered, 3 refused)"), "{text}");
    let cancel = text.lines().find(|l| l.starts_with("cancel")).unwrap_or_else(|| panic!("{text}"));
    let cols: Vec<&str> = cancel.split_whitespace().collect();
    assert_eq!(&cols[..5], ["cancel", "3", "0", "3", "3"], "{cancel}");
    assert!(text.contains("net effect on profit: 150.00 SAR"), "{text}");

    let out = run(vec!["rules".into(), "import".into(), file.display().to_string()]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("as ruleset version 1"));
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM rules").await, 1);

    let mut broken = exported.clone();
    broken["rules"][0]["condition"] = serde_json::json!("dest.region ==");
    std::fs::write(&file, broken.to_string()).unwrap();
    let out = run(vec!["rules".into(), "import".into(), file.display().to_string()]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rules[0].condition: line 1, column 15"), "{err}");
    assert_eq!(scalar(&store, "SELECT MAX(version) FROM ruleset_versions").await, 1, "a bad file changes nothing");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_user_is_created_with_a_password_from_standard_input_once() {
    use tokio::io::AsyncWriteExt;
    let db = TestDb::new(Engine::Sqlite).await;
    let create = |password: &'static str| {
        let url = db.url.clone();
        async move {
            let mut child = Command::new(BIN)
                .args(["user", "create", "--username", "amina", "--role", "ops", "--database-url", &url])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(password.as_bytes()).await.unwrap();
            child.wait_with_output().await.unwrap()
        }
    };
    let short = create("short\n").await;
    assert_eq!(short.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&short.stderr).contains("password"), "{short:?}");
    let out = create("a long enough password\n").await;
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("created user amina (ops)"));
    let store = Store::connect(&db.url).await.unwrap();
    let app = App::new(store);
    assert!(app.admin().login("amina", "a long enough password", None).await.unwrap().is_some());
    assert!(app.admin().login("amina", "short", None).await.unwrap().is_none());
    let again = create("a long enough password\n").await;
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("amina is taken"));
}
