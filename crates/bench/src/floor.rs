//! `codflow-bench floor`: pack stations working at once against the sandbox carrier process and a label
//! printer on loopback (a TCP listener that counts whole ZPL jobs). Every parcel is booked first (as the
//! morning's booking run leaves them), then each station scans its parcels, scans each item, and weighs them
//! with a typed weight; the time from the weighing to the label accepted by the printer is the station's wait.
//! A second run weighs parcels over the cheap channel's weight limit: voided with the carrier, re-booked on the
//! next channel and printed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Result, ensure};
use codflow_app::App;
use codflow_app::floor::StationInput;
use codflow_domain::floor::{Measure, ReadingSource};
use codflow_domain::rating::ChannelSpec;
use codflow_domain::{OrderId, Sku, StationCode};
use codflow_store::testing::TestDb;
use serde_json::json;
use tokio::io::AsyncReadExt;

use crate::booking::{by, order, setup};
use crate::{percentile, spawn_sandbox};

/// A printer on loopback: counts the jobs that arrive whole.
async fn printer() -> Result<(String, Arc<AtomicUsize>)> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?.to_string();
    let jobs = Arc::new(AtomicUsize::new(0));
    let count = jobs.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                if s.read_to_end(&mut buf).await.is_ok() && buf.starts_with(b"^XA") {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    Ok((addr, jobs))
}

/// One parcel at `station`: open, verify, weigh at `permille` of its expected weight. Returns the whole
/// parcel's time and the weighing's (to the label at the printer), in microseconds, and the event.
async fn pack(app: &App, station: &StationCode, id: &OrderId, permille: i64) -> Result<(u64, u64, &'static str)> {
    let floor = app.floor();
    let t = Instant::now();
    let opened = floor.scan(station, id.as_str(), None, by()).await?;
    let pack = opened.pack.ok_or_else(|| anyhow::anyhow!("not opened: {}", opened.message))?;
    let mut expected = 20;
    for item in &pack.items {
        let p = app.catalogue().product(&Sku::parse(&item.sku)?).await?;
        expected += p.unit_weight_g * item.needed;
        for _ in 0..item.needed {
            floor.scan(station, &item.sku, Some(&pack.pack.id), by()).await?;
        }
    }
    let w = Instant::now();
    let m = Measure::parse(expected * permille / 1000, [Some(20), Some(15), Some(8)])?;
    let out = floor.weigh(&pack.pack.id, m, ReadingSource::Manual, by()).await?;
    Ok((t.elapsed().as_micros() as u64, w.elapsed().as_micros() as u64, out.event))
}

/// Boxes at SZ1 (a bag, a padded envelope, two cartons; each 20 g empty, as the typed weights allow) and a packing
/// size for every bench SKU: each weighing then prices its recommended box, with the damage rates it learns.
async fn boxes(app: &App) -> Result<()> {
    use codflow_domain::packaging::{BoxKind, BoxType, PackingAttrs};
    let sar = codflow_domain::Currency::parse("SAR")?;
    let sz1 = codflow_domain::WarehouseCode::parse("SZ1")?;
    for (code, kind, inner_mm, cost) in [
        ("BAG-M", BoxKind::Bag, [300, 250, 120], 30),
        ("ENV-M", BoxKind::PaddedEnvelope, [260, 200, 80], 60),
        ("C-S", BoxKind::Carton, [220, 170, 120], 90),
        ("C-M", BoxKind::Carton, [300, 250, 200], 150),
    ] {
        let b = BoxType {
            code: code.into(),
            kind,
            inner_mm,
            empty_weight_g: 20,
            cost: codflow_domain::Money::new(cost, sar),
            max_load_g: 20_000,
        };
        app.fulfilment().put_box(&sz1, b, by()).await?;
    }
    for k in 0..10i64 {
        let a = PackingAttrs {
            dims_mm: [150 + 10 * k, 100 + 5 * k, 60],
            fragile: k == 7,
            keep_upright: false,
            can_bag: true,
        };
        app.fulfilment().put_product_packing(&Sku::parse(&format!("BK-{k:02}"))?, a, by()).await?;
    }
    Ok(())
}

pub async fn floor(
    stations: usize,
    per_station: usize,
    rebooks: usize,
    with_boxes: bool,
    engine: codflow_store::Engine,
) -> Result<()> {
    let sb = spawn_sandbox(1.0).await?;
    println!("machine: {}; engine {engine:?}; sandbox carrier {} (own process)", crate::machine(), sb.url);
    let db = TestDb::new(engine).await;
    let app = Arc::new(setup(&db, &sb.url).await?);
    // The cheapest channel carries up to 1 kg: a parcel weighed over it has to move.
    let lite: ChannelSpec = serde_json::from_value(json!({
        "code": "SBX-SA-LITE", "name": "Sandbox lite", "carrier": "sandbox", "service": "lite",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true}, "limits": {"max_weight_g": 1000},
        "rate_card": {"currency": "SAR", "weight_rounding_g": 100, "zones": [{"name": "all", "countries": ["SA"],
            "transit_days": 3, "bands": [{"from_g": 0, "to_g": 1000, "price": "9.00"}]}]}}))?;
    app.fulfilment().put_channels(&[lite], by()).await?;
    if with_boxes {
        boxes(&app).await?;
        println!("boxes: 4 at SZ1, a packing size for every SKU: each weighing prices its box");
    }
    let (addr, jobs) = printer().await?;
    let codes: Vec<StationCode> =
        (0..stations).map(|i| StationCode::parse(&format!("PS{i}"))).collect::<Result<_, _>>()?;
    for c in &codes {
        let input = StationInput { name: c.to_string(), warehouse: "SZ1".into(), printer: Some(addr.clone()) };
        app.floor().put_station(c, input, by()).await?;
    }
    // The morning's parcels, booked before packing: SKU BK-04 alone (920 g with its box) for the re-booking
    // run, any for the others.
    let total = stations * per_station;
    let mut plain = Vec::with_capacity(total);
    let mut heavy = Vec::with_capacity(rebooks);
    let mut n = 0;
    while plain.len() < total || heavy.len() < rebooks {
        let single_04 = n % 10 == 4 && n % 2 == 0;
        if (single_04 && heavy.len() < rebooks) || (!single_04 && plain.len() < total) {
            let o = match app.intake().create_order(order(n), by()).await? {
                codflow_app::orders::IntakeOutcome::Created(o) | codflow_app::orders::IntakeOutcome::Existing(o) => o,
            };
            if single_04 { heavy.push(o.id) } else { plain.push(o.id) }
        }
        n += 1;
    }
    let ids: Vec<String> = plain.iter().chain(&heavy).map(|i| i.to_string()).collect();
    let t = Instant::now();
    for chunk in ids.chunks(200) {
        app.fulfilment().book_orders(chunk, by()).await;
    }
    println!("booked {} parcels in {:.1} s before packing", ids.len(), t.elapsed().as_secs_f64());
    // Warm-up.
    let warm = plain.split_off(total - stations.min(total));
    for (i, id) in warm.iter().enumerate() {
        pack(&app, &codes[i % stations], id, 1_005).await?;
    }

    let plain = Arc::new(plain);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (s, code) in codes.iter().enumerate() {
        let (app, plain, code) = (app.clone(), plain.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for id in plain.iter().skip(s).step_by(stations) {
                let (whole, weigh, event) = pack(&app, &code, id, 1_005).await?;
                // A box can take a parcel over one of the card's weight steps: re-rated, printed all the same.
                ensure!(matches!(event, "passed" | "rerated"), "expected a label, got {event}");
                lat.push((whole, weigh));
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut whole = Vec::new();
    let mut weigh = Vec::new();
    for t in tasks {
        for (a, b) in t.await?? {
            whole.push(a);
            weigh.push(b);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    whole.sort_unstable();
    weigh.sort_unstable();
    println!(
        "{stations} stations: {} parcels in {secs:.1} s = {:.0} parcels/hour sustained (each: open, item scans, weigh, label)",
        whole.len(),
        whole.len() as f64 / secs * 3600.0,
    );
    println!(
        "weigh → label at the printer ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        percentile(&weigh, 0.5),
        percentile(&weigh, 0.9),
        percentile(&weigh, 0.99),
        percentile(&weigh, 1.0)
    );
    println!(
        "whole parcel (first scan → label) ms: p50 {:.2}  p99 {:.2}",
        percentile(&whole, 0.5),
        percentile(&whole, 0.99)
    );

    // Re-booking: 1,030 g on a 1 kg channel, one station at a time per parcel across the stations.
    let heavy = Arc::new(heavy);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (s, code) in codes.iter().enumerate() {
        let (app, heavy, code) = (app.clone(), heavy.clone(), code.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for id in heavy.iter().skip(s).step_by(stations) {
                let (_, weigh, event) = pack(&app, &code, id, 1_120).await?;
                ensure!(event == "rebooked", "expected a re-booking, got {event}");
                lat.push(weigh);
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut reb = Vec::new();
    for t in tasks {
        reb.extend(t.await??);
    }
    reb.sort_unstable();
    println!(
        "weigh → void + re-book with the carrier + new label at the printer, {} parcels in {:.1} s, ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        reb.len(),
        started.elapsed().as_secs_f64(),
        percentile(&reb, 0.5),
        percentile(&reb, 0.9),
        percentile(&reb, 0.99),
        percentile(&reb, 1.0)
    );
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    let printed_expected = total + rebooks;
    while jobs.load(Ordering::Relaxed) < printed_expected && Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    println!("labels the printer received whole: {} of {printed_expected}", jobs.load(Ordering::Relaxed));
    println!("peak RSS: {} MiB (codflow, in-process app)", codflow_app::peak_rss_kib(None).unwrap_or(0) / 1024);
    Ok(())
}
