//! `codflow bench tracking`: carrier events through the batch API of a separate server on SQLite (each
//! event normalised, folded, the order and cash followed, anomalies evaluated, buyer messages queued), then
//! the anomaly sweep over a large book of active shipments.
//!
//! The shipments are booked straight in the database from imported orders (the booking benchmark measures
//! the carrier side); everything measured runs the production code paths.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, anyhow, bail, ensure};
use codflow_app::App;
use codflow_app::tracking::PollSettings;
use codflow_domain::Actor;
use codflow_store::testing::{TestDb, book_allocated, spread_progress};
use codflow_store::{Engine, commit};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;

use crate::{SKUS, Server, machine, percentile, seed_catalogue};
use codflow_app::peak_rss_kib;

const PREFIX: &str = "SBX";

fn by() -> Actor {
    Actor::Worker("bench".into())
}

/// A database with `n` allocated COD orders (external ids 0..n), each booked with the sandbox carrier at
/// `booked_at` and tracked. Polling is off: the events come from the benchmark.
pub(crate) async fn seed(url: &str, n: usize, booked_at: OffsetDateTime) -> Result<App> {
    let app = crate::open(url).await?;
    seed_catalogue(&app).await?;
    app.tracking()
        .set_tracking_settings(PollSettings { poll_seconds: 3600, poll_carriers: vec![], max_age_days: 60 }, by())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let dir = std::env::temp_dir().join(format!("codflow-bench-{}", codflow_domain::ids::new_id_body()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("orders.csv");
    let placed = (booked_at - Duration::days(1)).format(&Rfc3339)?;
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        writeln!(w, "{}", codflow_app::import::COLUMNS.join(","))?;
        for i in 0..n {
            writeln!(
                w,
                "{i},{placed},SAR,cod,Noura Al-Qahtani,05{:08},,King Fahd Rd 12,,Riyadh,Riyadh Province,12211,SA,BENCH-{:02},1,59.00,10.00",
                i % 100_000_000,
                i % SKUS
            )?;
        }
    }
    crate::import_orders_file(&app, &dir, &file, n).await?;
    let mut tx = app.store.begin().await?;
    let booked = book_allocated(&mut tx, "sandbox", "SBX-SA-STD", PREFIX, booked_at).await?;
    commit(tx).await?;
    app.store.checkpoint().await?;
    ensure!(booked as usize == n, "booked {booked} of {n} orders");
    Ok(app)
}

/// The carrier codes one parcel goes through: most straight to the door, some held in customs first,
/// some not home once, some refused and sent back.
fn journey(i: usize) -> &'static [&'static str] {
    const PLAIN: &[&str] = &["PKP", "DEP", "ARR-CUS", "CUS-REL", "ARR-HUB", "OFD", "DLV"];
    const HELD: &[&str] = &["PKP", "DEP", "ARR-CUS", "CUS-HLD-DOC", "CUS-REL", "ARR-HUB", "OFD", "DLV"];
    const NOT_HOME: &[&str] = &["PKP", "DEP", "ARR-CUS", "CUS-REL", "ARR-HUB", "OFD", "NDR-NH", "OFD", "DLV"];
    const REFUSED: &[&str] = &["PKP", "DEP", "ARR-CUS", "CUS-REL", "ARR-HUB", "OFD", "NDR-RF", "RTS"];
    match i % 10 {
        7 => HELD,
        8 => NOT_HOME,
        9 => REFUSED,
        _ => PLAIN,
    }
}

#[derive(Default)]
struct Totals {
    new: u64,
    duplicates: u64,
    unmapped: u64,
    rejected: u64,
    tasks_opened: u64,
    tasks_closed: u64,
    latencies_us: Vec<u64>,
}

pub async fn tracking(shipments: usize, sweep_shipments: usize, concurrency: usize, batch: usize) -> Result<()> {
    println!("machine: {}", machine());
    if shipments > 0 {
        ingest(shipments, concurrency, batch).await?;
    }
    if sweep_shipments > 0 {
        sweep(sweep_shipments).await?;
    }
    Ok(())
}

async fn ingest(n: usize, concurrency: usize, batch: usize) -> Result<()> {
    let db = TestDb::new(Engine::Sqlite).await;
    let booked_at = OffsetDateTime::now_utc() - Duration::days(2);
    let t = Instant::now();
    let app = seed(&db.url, n, booked_at).await?;
    app.store.close().await;
    drop(app);
    println!("seeded {n} booked COD orders in {:.1} s", t.elapsed().as_secs_f64());
    let server = Server::start(&db.url).await?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let auth = format!("Bearer {}", server.token);
    let rss_before = peak_rss_kib(server.pid).unwrap_or(0);
    // Events arrive stage by stage, the way a carrier's scan feed does: every parcel's n-th scan before
    // any parcel's (n+1)-th, in batches that mix many parcels.
    let stages = (0..n).map(|i| journey(i).len()).max().unwrap_or(0);
    let mut sent = 0usize;
    let totals = Arc::new(Mutex::new(Totals::default()));
    let started = Instant::now();
    for stage in 0..stages {
        let events: Vec<Value> = (0..n)
            .filter_map(|i| {
                journey(i).get(stage).map(|code| {
                    let at = booked_at + Duration::hours(4 * (stage as i64 + 1)) + Duration::seconds((i % 3600) as i64);
                    json!({"tracking_number": format!("{PREFIX}{i}"), "code": code, "at": at.format(&Rfc3339).unwrap_or_default(),
                           "location": "Riyadh", "description": "scan"})
                })
            })
            .collect();
        sent += events.len();
        let queue: Arc<Mutex<Vec<Value>>> =
            Arc::new(Mutex::new(events.chunks(batch).map(|c| json!({ "events": c })).collect()));
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (client, base, auth, queue, totals) =
                    (client.clone(), server.base.clone(), auth.clone(), queue.clone(), totals.clone());
                tokio::spawn(async move {
                    loop {
                        let Some(body) = queue.lock().await.pop() else { return Ok::<_, anyhow::Error>(()) };
                        let t = Instant::now();
                        let resp = client
                            .post(format!("{base}/api/v1/tracking/events"))
                            .header("authorization", &auth)
                            .json(&body)
                            .send()
                            .await?;
                        let status = resp.status();
                        let r: Value = resp.json().await?;
                        if !status.is_success() {
                            bail!("batch refused with {status}: {r}");
                        }
                        let us = t.elapsed().as_micros() as u64;
                        let mut tot = totals.lock().await;
                        tot.latencies_us.push(us);
                        let n = |k: &str| r[k].as_u64().unwrap_or(0);
                        tot.new += n("new");
                        tot.duplicates += n("duplicates");
                        tot.unmapped += n("unmapped");
                        tot.tasks_opened += n("tasks_opened");
                        tot.tasks_closed += n("tasks_closed");
                        tot.rejected += r["rejected"].as_array().map_or(0, |a| a.len() as u64);
                    }
                })
            })
            .collect();
        for w in workers {
            w.await??;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let rss = peak_rss_kib(server.pid).unwrap_or(0);
    let mut tot = std::mem::take(&mut *totals.lock().await);
    ensure!(
        tot.new as usize == sent && tot.rejected == 0,
        "{} of {sent} events stored, {} rejected",
        tot.new,
        tot.rejected
    );
    server.stop().await;
    // The last parcel is read back, so a run that stored events without applying them cannot pass.
    let last = n - 1;
    let app = crate::open(&db.url).await?;
    let view = app.tracking().tracking_by_number(&format!("{PREFIX}{last}")).await.map_err(|e| anyhow!("{e}"))?;
    let order = app.intake().order(&view.tracked.order_id).await.map_err(|e| anyhow!("{e}"))?;
    tot.latencies_us.sort_unstable();
    let lat = &tot.latencies_us;
    println!("## Tracking event ingestion, SQLite, batch API, {concurrency} clients, {batch} events per request");
    println!("shipments:      {n}");
    println!(
        "events:         {sent} stored ({} duplicates, {} unmapped), {} tasks opened, {} closed",
        tot.duplicates, tot.unmapped, tot.tasks_opened, tot.tasks_closed
    );
    println!("throughput:     {:.0} events/s ({secs:.1} s)", sent as f64 / secs);
    println!(
        "request ms:     p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        percentile(lat, 0.5),
        percentile(lat, 0.9),
        percentile(lat, 0.99),
        percentile(lat, 1.0)
    );
    println!("server peak RSS: {:.1} MiB (after start: {:.1} MiB)", rss as f64 / 1024.0, rss_before as f64 / 1024.0);
    println!(
        "last parcel ({}): shipment {}, order {}, cash {}",
        journey(last).join(" "),
        view.tracked.progress.status,
        order.status,
        view.tracked.cod_status.as_str()
    );
    Ok(())
}

async fn sweep(n: usize) -> Result<()> {
    let db = TestDb::new(Engine::Sqlite).await;
    let now = OffsetDateTime::now_utc();
    let t = Instant::now();
    let app = seed(&db.url, n, now - Duration::days(5)).await?;
    app.clock().freeze(now);
    let mut tx = app.store.begin().await?;
    let spread = spread_progress(&mut tx, PREFIX, now).await?;
    commit(tx).await?;
    app.store.checkpoint().await?;
    println!("seeded {spread} active shipments in {:.1} s", t.elapsed().as_secs_f64());
    // The peak that matters is the sweep's, not the import's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    println!("## Anomaly sweep, SQLite, {n} active shipments (in-process, one worker)");
    let first = timed("every shipment due (first sweep)", &app).await?;
    ensure!(first.evaluated == n, "the first sweep evaluated {} of {n}", first.evaluated);
    app.clock().advance(Duration::hours(1));
    timed("an hour later (what fell due)", &app).await?;
    let mut s = app.tracking().anomaly_settings().await.map_err(|e| anyhow!("{e}"))?;
    s.default.no_scan_in_transit_hours = 96;
    let t = Instant::now();
    app.tracking().set_anomaly_settings(s).await.map_err(|e| anyhow!("{e}"))?;
    println!("threshold change saved (a re-evaluation pass started) in {:.2} s", t.elapsed().as_secs_f64());
    timed("re-evaluation of every active shipment after the change", &app).await?;
    println!("peak RSS during the sweeps: {:.1} MiB", peak_rss_kib(None).unwrap_or(0) as f64 / 1024.0);
    Ok(())
}

async fn timed(label: &str, app: &App) -> Result<codflow_app::tracking::SweepReport> {
    let t = Instant::now();
    let r = app.tracking().sweep().await.map_err(|e| anyhow!("{e}"))?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{label}: {} evaluated in {secs:.2} s ({:.0}/s), {} tasks opened, {} closed",
        r.evaluated,
        r.evaluated as f64 / secs.max(1e-9),
        r.tasks_opened,
        r.tasks_closed
    );
    Ok(r)
}
