//! `codflow bench dashboards`: a book of orders placed over 90 days to 80 regions, 20 SKUs and three
//! channels of three carriers, booked, with outcomes, customs holds and clearance times spread over them; the
//! refresher counting every order from cold; then each dashboard page and API call of a separate server,
//! timed over repeated requests.

use std::io::Write;
use std::time::Instant;

use anyhow::{Result, anyhow, ensure};
use codflow_domain::{Actor, Role};
use codflow_store::testing::{TestDb, book_allocated, exec};
use codflow_store::{Engine, commit};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::{SKUS, Server, machine, percentile, seed_catalogue};
use codflow_app::peak_rss_kib;

const PREFIX: &str = "DSH";
const REGIONS: usize = 80;
const DAYS: i64 = 90;

fn by() -> Actor {
    Actor::Worker("bench".into())
}

async fn seed(url: &str, n: usize, now: OffsetDateTime) -> Result<codflow_app::App> {
    let app = crate::open(url).await?;
    seed_catalogue(&app).await?;
    let dir = std::env::temp_dir().join(format!("codflow-bench-{}", codflow_domain::ids::new_id_body()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("orders.csv");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        writeln!(w, "{}", codflow_app::import::COLUMNS.join(","))?;
        for i in 0..n {
            let placed = (now - Duration::days(1 + (i as i64 % DAYS)) - Duration::minutes((i % 1440) as i64))
                .format(&Rfc3339)?;
            writeln!(
                w,
                "{i},{placed},SAR,cod,Noura Al-Qahtani,05{:08},,King Fahd Rd 12,,City {r},Region {r:02},12211,SA,BENCH-{:02},1,59.00,10.00",
                i % 100_000_000,
                (i / 7) % SKUS,
                r = (i / 3) % REGIONS,
            )?;
        }
    }
    crate::import_orders_file(&app, &dir, &file, n).await?;
    let mut tx = app.store.begin().await?;
    // Three channels of three carriers; then every parcel's fate by its number: 72% delivered (at every time
    // of day), 18% refused and returned, the rest in transit (their COD still travelling); delivered cash of the
    // last two weeks still owed, older cash remitted; one in six held by customs, clearance times from 6 to 120 hours.
    exec(
        &mut tx,
        "UPDATE orders SET channel = CASE CAST(external_id AS BIGINT) % 3 WHEN 0 THEN 'SBX-SA-STD' \
         WHEN 1 THEN 'ARX-SA-EXP' ELSE 'SMS-SA-ECO' END",
    )
    .await?;
    let booked = book_allocated(&mut tx, "sandbox", "SBX-SA-STD", PREFIX, now - Duration::days(DAYS + 1)).await?;
    ensure!(booked as usize == n, "booked {booked} of {n} orders");
    let h = 3_600_000_000i64;
    let at = codflow_store::micros(now - Duration::days(DAYS + 1));
    let now_us = codflow_store::micros(now);
    exec(&mut tx, &format!(
        "UPDATE tracking SET \
           carrier = CASE CAST(substr(tracking_number, 4) AS BIGINT) % 3 WHEN 0 THEN 'sandbox' WHEN 1 THEN 'aramex' ELSE 'smsa' END, \
           lane_channel = CASE CAST(substr(tracking_number, 4) AS BIGINT) % 3 WHEN 0 THEN 'SBX-SA-STD' WHEN 1 THEN 'ARX-SA-EXP' ELSE 'SMS-SA-ECO' END, \
           status = CASE WHEN CAST(substr(tracking_number, 4) AS BIGINT) % 50 < 36 THEN 'delivered' \
                         WHEN CAST(substr(tracking_number, 4) AS BIGINT) % 50 < 45 THEN 'returned' ELSE 'in_transit' END, \
           picked_up_at = {at} + {h}, \
           delivered_at = CASE WHEN CAST(substr(tracking_number, 4) AS BIGINT) % 50 < 36 \
                               THEN {now_us} - (CAST(substr(tracking_number, 4) AS BIGINT) % 88 + 1) * 24 * {h} \
                                    - (CAST(substr(tracking_number, 4) AS BIGINT) % 1440) * 60000000 END, \
           cod_status = CASE WHEN CAST(substr(tracking_number, 4) AS BIGINT) % 50 >= 45 THEN 'pending' \
                             WHEN CAST(substr(tracking_number, 4) AS BIGINT) % 50 >= 36 THEN 'void' \
                             WHEN CAST(substr(tracking_number, 4) AS BIGINT) % 88 < 14 THEN 'expected' ELSE 'remitted' END, \
           due_at = NULL, poll_at = NULL"
    )).await?;
    exec(
        &mut tx,
        "INSERT INTO order_outcomes (order_id, outcome, at, actor, recorded_at) \
         SELECT order_id, CASE WHEN status = 'delivered' THEN 'delivered' ELSE 'refused' END, status_at, 'bench', status_at \
         FROM tracking WHERE status IN ('delivered', 'returned')",
    )
    .await?;
    for (offset, status) in [(0, "customs_processing"), (1, "customs_held:inspection"), (2, "customs_released")] {
        let when = if offset == 2 {
            format!("(CAST(substr(tracking_number, 4) AS BIGINT) % 115 + 6) * {h}")
        } else {
            format!("{offset} * {h}")
        };
        let held = if offset == 1 { "CAST(substr(tracking_number, 4) AS BIGINT) % 6 = 0" } else { "1 = 1" };
        exec(&mut tx, &format!(
            "INSERT INTO tracking_events (shipment_id, at, code, carrier, status, description, location, source, received_at) \
             SELECT shipment_id, {at} + 24 * {h} + {when}, 'C{offset}', carrier, '{status}', 'customs', NULL, 'bench', {at} \
             FROM tracking WHERE {held}"
        )).await?;
    }
    commit(tx).await?;
    app.store.checkpoint().await?;
    Ok(app)
}

/// A console session cookie for `user`.
async fn console_cookie(base: &str, user: &str, password: &str) -> Result<String> {
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let form = c.get(format!("{base}/login")).send().await?;
    let csrf = cookie_of(&form, "codflow_login_csrf").ok_or_else(|| anyhow!("no login csrf"))?;
    let r = c
        .post(format!("{base}/login"))
        .header("cookie", format!("codflow_login_csrf={csrf}"))
        .form(&[("username", user), ("password", password), ("csrf", &csrf)])
        .send()
        .await?;
    let session = cookie_of(&r, "codflow_session").ok_or_else(|| anyhow!("login failed: {}", r.status()))?;
    Ok(format!("codflow_session={session}"))
}

fn cookie_of(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap_or("").to_owned()))
}

pub async fn dashboards(orders: usize, requests: usize) -> Result<()> {
    println!("machine: {}", machine());
    let db = TestDb::new(Engine::Sqlite).await;
    let now = OffsetDateTime::now_utc();
    let t = Instant::now();
    let app = seed(&db.url, orders, now).await?;
    println!("seeded {orders} booked orders with outcomes and customs events in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let refreshed = app.insights().refresh_kpis().await.map_err(|e| anyhow!("{e}"))?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "refresher from cold: {refreshed} orders in {secs:.1} s ({:.0} orders/s), peak RSS {} MiB",
        refreshed as f64 / secs,
        peak_rss_kib(None).unwrap_or(0) / 1024
    );
    app.admin().create_user("bench.admin", "bench password 1", Role::Admin, by()).await.map_err(|e| anyhow!("{e}"))?;
    // One channel with a rate card behind the book's channel code, for the channel pages and the quote tester.
    let channel: codflow_domain::rating::ChannelSpec = serde_json::from_value(serde_json::json!({
        "code": "SBX-SA-STD", "name": "Sandbox SA", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true},
        "rate_card": {"currency": "SAR", "fuel_surcharge_pct": "8", "cod_fee": {"pct": "2", "min": "3.00"},
            "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 3,
                "bands": [{"from_g": 0, "to_g": 500, "price": "20.00"}, {"from_g": 500, "to_g": 30000, "price": "35.00"}]}]}
    }))?;
    app.fulfilment().put_channels(&[channel], by()).await.map_err(|e| anyhow!("{e}"))?;
    app.store.checkpoint().await?;
    app.store.close().await;
    drop(app);
    let server = Server::start(&db.url).await?;
    let cookie = console_cookie(&server.base, "bench.admin", "bench password 1").await?;
    let client = reqwest::Client::new();
    let pages = [
        ("console", "/dashboards/rejections?by=country"),
        ("console", "/dashboards/rejections?by=region"),
        ("console", "/dashboards/rejections?by=sku"),
        ("console", "/dashboards/rejections?by=channel"),
        ("console", "/dashboards/customs"),
        ("console", "/dashboards/carriers"),
        ("console", "/dashboards/profit?by=channel"),
        ("console", "/dashboards/profit?by=month"),
        ("console", "/dashboards/profit?by=sku"),
        ("console", "/dashboards/cash"),
        ("console", "/recommendations"),
        ("console", "/orders?figure=refused&country=SA&region=Region%2007&channel=SBX-SA-STD"),
        ("api", "/api/v1/dashboards/sums?group=sku,region"),
        ("api", "/api/v1/dashboards/clearance?group=country,channel"),
        // The working pages (issue 25): lists with their counts, filters and sorts.
        ("console", "/orders"),
        ("console", "/orders?status=fulfilled&country=SA"),
        ("console", "/orders?country=SA&sort=-total"),
        ("console", "/orders?placed_from=2000-01-01&shop=manual"),
        ("console", "/review"),
        ("console", "/tasks"),
        ("console", "/shipments"),
        ("console", "/shipments?status=delivered&country=SA"),
        ("console", "/stock"),
        ("console", "/settlements"),
        ("console", "/rules"),
        ("console", "/settings"),
        // The pages moved to templates last (issue 25).
        ("console", "/dashboards/cash?currency=SAR"),
        ("console", "/channels"),
        ("console", "/channels/SBX-SA-STD"),
        ("console", "/channels?country=SA&weight_g=700&goods=100.00&cod=150.00&currency=SAR&quote=1"),
        ("console", "/shops"),
        ("console", "/settings/messages?name=cod_unavailable&language=en"),
        ("console", "/settings/tracking"),
    ];
    println!("| page | p50 ms | p95 ms | max ms | bytes |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (kind, path) in pages {
        let mut lat = Vec::with_capacity(requests);
        let mut bytes = 0;
        for i in 0..requests + 3 {
            let req = client.get(format!("{}{path}", server.base));
            let req = if kind == "console" { req.header("cookie", &cookie) } else { req.bearer_auth(&server.token) };
            let t = Instant::now();
            let r = req.send().await?;
            ensure!(r.status().is_success(), "{path}: {}", r.status());
            bytes = r.bytes().await?.len();
            if i >= 3 {
                lat.push(t.elapsed().as_micros() as u64);
            }
        }
        lat.sort_unstable();
        println!(
            "| `{path}` | {:.1} | {:.1} | {:.1} | {bytes} |",
            percentile(&lat, 0.5),
            percentile(&lat, 0.95),
            percentile(&lat, 1.0)
        );
    }
    println!("server peak RSS before the export: {} MiB", peak_rss_kib(server.pid).unwrap_or(0) / 1024);
    // Every order as CSV, twice: streamed page by page, so the server's memory stays flat whatever the book's
    // size. The first export also fills the database's page caches; a second that leaves the peak where the
    // first put it shows the export itself holds nothing that grows with the rows.
    for round in ["first", "second"] {
        let t = Instant::now();
        let mut r = client.get(format!("{}/orders.csv", server.base)).header("cookie", &cookie).send().await?;
        ensure!(r.status().is_success(), "/orders.csv: {}", r.status());
        let (mut bytes, mut lines) = (0usize, 0usize);
        while let Some(chunk) = r.chunk().await? {
            bytes += chunk.len();
            lines += chunk.iter().filter(|b| **b == b'\n').count();
        }
        println!(
            "{round} export /orders.csv: {} rows, {} MiB in {:.1} s; server peak RSS after it: {} MiB (current {} MiB)",
            lines.saturating_sub(1),
            bytes / (1024 * 1024),
            t.elapsed().as_secs_f64(),
            peak_rss_kib(server.pid).unwrap_or(0) / 1024,
            current_rss_kib(server.pid).unwrap_or(0) / 1024
        );
    }
    // The finance page's first report: asked for once, then read until it is there.
    let t = Instant::now();
    let deadline = t + std::time::Duration::from_secs(600);
    loop {
        let page =
            client.get(format!("{}/finance", server.base)).header("cookie", &cookie).send().await?.text().await?;
        if page.contains("id=\"as-of\"") {
            break;
        }
        ensure!(Instant::now() < deadline, "/finance: no report after ten minutes");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    println!(
        "/finance: the first profit report over every order took {:.1} s off the request",
        t.elapsed().as_secs_f64()
    );
    // Its page, once a report is there: a view reads the last report, nothing more.
    let mut lat = Vec::with_capacity(requests);
    for _ in 0..requests {
        let t = Instant::now();
        let r = client.get(format!("{}/finance", server.base)).header("cookie", &cookie).send().await?;
        ensure!(r.status().is_success(), "/finance: {}", r.status());
        r.bytes().await?;
        lat.push(t.elapsed().as_micros() as u64);
    }
    lat.sort_unstable();
    println!(
        "| `/finance` | {:.1} | {:.1} | {:.1} | |",
        percentile(&lat, 0.5),
        percentile(&lat, 0.95),
        percentile(&lat, 1.0)
    );
    server.stop().await;
    Ok(())
}

/// The resident memory of process `pid` now (VmRSS), where `peak_rss_kib` gives its high-water mark.
fn current_rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok())
}
