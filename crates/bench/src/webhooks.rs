//! Webhook intake: how many signed shop deliveries a server accepts per second, and how long an accepted
//! order takes to be reviewed and allocated.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use codflow_connectors::sales::inbound::sign;
use codflow_store::testing::TestDb;
use codflow_store::{Engine, Store};
use serde_json::json;

use crate::{SKUS, Server, machine, percentile, seed_catalogue_http};
use codflow_app::peak_rss_kib;

const SECRET: &str = "bench-webhook-secret-0123456789";

/// A Shopify orders/create body for order `n`, serialised once.
fn delivery(n: u64) -> Vec<u8> {
    let sku = format!("BENCH-{:02}", n as usize % SKUS);
    serde_json::to_vec(&json!({
        "id": 10_000_000 + n, "name": format!("#{n}"), "created_at": "2026-11-20T10:00:00+03:00",
        "updated_at": "2026-11-20T10:00:05+03:00", "cancelled_at": null, "currency": "SAR", "presentment_currency": "SAR",
        "financial_status": "pending", "payment_gateway_names": ["Cash on Delivery (COD)"], "email": "buyer@example.com",
        "customer": {"first_name": "Noura", "last_name": "Al-Qahtani", "phone": format!("+9665{:08}", n % 100_000_000)},
        "shipping_address": {"name": "Noura Al-Qahtani", "address1": "King Fahd Rd 12", "city": "Riyadh",
            "province": "Riyadh Province", "zip": "12211", "country_code": "SA", "phone": format!("+9665{:08}", n % 100_000_000)},
        "line_items": [{"sku": sku, "quantity": 1, "price": "59.00", "grams": 300, "requires_shipping": true, "discount_allocations": []}],
        "shipping_lines": [{"price": "10.00"}], "total_price": "69.00", "current_total_price": "69.00"
    }))
    .expect("JSON")
}

async fn post(client: &reqwest::Client, url: &str, n: u64) -> Result<u64> {
    let body = delivery(n);
    let sig = sign(SECRET.as_bytes(), &body);
    let t = Instant::now();
    let r = client
        .post(url)
        .header("x-shopify-topic", "orders/create")
        .header("x-shopify-webhook-id", format!("bench-{n}"))
        .header("x-shopify-hmac-sha256", sig)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    if r.status() != 200 {
        bail!("HTTP {}", r.status());
    }
    let _ = r.bytes().await;
    Ok(t.elapsed().as_micros() as u64)
}

/// Waits until the inbox has nothing pending; returns how long that took.
async fn drain(store: &Store) -> Result<Duration> {
    let t = Instant::now();
    loop {
        let shop = codflow_domain::ShopCode::parse("bench-shop").map_err(|e| anyhow::anyhow!("{e}"))?;
        let pending = codflow_store::channel_sync::counts(&mut *store.read().await?, &shop).await?.pending;
        if pending == 0 {
            return Ok(t.elapsed());
        }
        if t.elapsed() > Duration::from_secs(1800) {
            bail!("{pending} deliveries still pending after 30 min");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Milliseconds from receipt to the order reviewed and allocated, for deliveries `bench-{from}` onwards.
async fn lags(store: &Store, from: u64) -> Result<(Vec<u64>, i64)> {
    let rows = codflow_store::testing::webhook_lags(&mut *store.read().await?).await?;
    let mut lag = Vec::new();
    let mut not_created = 0;
    for (id, us, outcome) in rows {
        let n: u64 = id.trim_start_matches("bench-").parse().unwrap_or(0);
        if n < from {
            continue;
        }
        if outcome.as_deref() != Some("created") {
            not_created += 1;
            continue;
        }
        lag.push(us.unwrap_or(0).max(0) as u64);
    }
    lag.sort_unstable();
    Ok((lag, not_created))
}

pub async fn webhooks(concurrency: usize, seconds: u64, rate: u64, engine: Engine) -> Result<()> {
    let db = TestDb::new(engine).await;
    // The receiver alone first: what a burst of deliveries costs to verify, store and acknowledge.
    let server = Server::start_with(&db.url, &["--no-shop-sync"]).await?;
    let store = Store::connect(&db.url).await?;
    let (base, pid) = (server.base.clone(), server.pid);
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let auth = format!("Bearer {}", server.token);
    seed_catalogue_http(&client, &base, &auth).await?;
    client
        .post(format!("{base}/api/v1/stores"))
        .header("authorization", &auth)
        .json(&json!({"code": "bench-shop", "platform": "shopify", "name": "Bench shop", "base_url": "https://bench.myshopify.com",
            "credentials": {"access_token": "shpat_bench"}, "webhook_secret": SECRET, "push_fulfilment": false}))
        .send()
        .await?
        .error_for_status()?;
    let url = Arc::new(format!("{base}/api/v1/webhooks/shopify/bench-shop"));

    // Saturation: every client posts as fast as it is answered.
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let stop = started + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, next) = (client.clone(), url.clone(), next.clone());
            tokio::spawn(async move {
                let (mut lat, mut failed) = (Vec::new(), 0u64);
                while Instant::now() < stop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    match post(&client, &url, n).await {
                        Ok(us) => lat.push(us),
                        Err(_) => failed += 1,
                    }
                }
                (lat, failed)
            })
        })
        .collect();
    let (mut lat, mut failed) = (Vec::new(), 0);
    for w in workers {
        let (l, f) = w.await?;
        lat.extend(l);
        failed += f;
    }
    let accept_s = started.elapsed().as_secs_f64();
    let receiver_rss = peak_rss_kib(pid).unwrap_or(0);
    server.stop().await;
    lat.sort_unstable();
    // Then a full server on the same database works the backlog off and takes the paced stream.
    let server = Server::start(&db.url).await?;
    let pid = server.pid;
    let url = Arc::new(format!("{}/api/v1/webhooks/shopify/bench-shop", server.base));
    let backlog_started = Instant::now();
    let drained = drain(&store).await?;
    let backlog_rate = lat.len() as f64 / backlog_started.elapsed().as_secs_f64();
    let (_, sat_bad) = lags(&store, 0).await?;
    let sent = next.load(std::sync::atomic::Ordering::Relaxed);

    // Paced: a steady stream, as a busy shop sends, to see the lag an order waits when the server keeps up.
    let from = sent;
    let paced_n = rate * 10;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let mut posts = Vec::new();
    for i in 0..paced_n {
        tick.tick().await;
        let (client, url) = (client.clone(), url.clone());
        posts.push(tokio::spawn(async move { post(&client, &url, from + i).await }));
    }
    for p in posts {
        if p.await?.is_err() {
            failed += 1;
        }
    }
    drain(&store).await?;
    let (paced_lag, paced_bad) = lags(&store, from).await?;
    let rss = peak_rss_kib(pid).unwrap_or(0);
    server.stop().await;
    let name = crate::engine_name(engine);
    let ms = |v: &[u64], p: f64| percentile(v, p);
    println!("## Shop webhook intake, {name}, {concurrency} clients, {seconds} s");
    println!("machine:           {}", machine());
    println!("accepted:          {} deliveries ({failed} failed) in {accept_s:.1} s", lat.len());
    println!(
        "acceptance rate:   {:.0} deliveries/s (signature checked, stored, acknowledged)",
        lat.len() as f64 / accept_s
    );
    println!(
        "answer ms:         p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    println!("receiver peak RSS: {:.1} MiB", receiver_rss as f64 / 1024.0);
    println!(
        "backlog:           {} deliveries made into orders (reviewed, allocated) in {:.1} s by a full server: {backlog_rate:.0} orders/s ({sat_bad} not created)",
        lat.len(),
        drained.as_secs_f64()
    );
    println!(
        "lag at {rate}/s:     p50 {:.1} ms  p95 {:.1} ms  max {:.1} ms over {} deliveries ({paced_bad} not created)",
        ms(&paced_lag, 0.5),
        ms(&paced_lag, 0.95),
        ms(&paced_lag, 1.0),
        paced_lag.len()
    );
    println!("server peak RSS:   {:.1} MiB", rss as f64 / 1024.0);
    Ok(())
}
