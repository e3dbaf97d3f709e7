//! `codflow-bench returns`: refused parcels coming back. Parcels are booked with the sandbox carrier process
//! and turned back by tracking events (picked up, returning, returned): nothing is restocked. Then receivers
//! working at once scan each parcel in and grade it sellable; the time from the scan to the units back on
//! the shelf is the receiver's wait. Stock is checked to be where it started.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, ensure};
use codflow_app::tracking::IncomingEvent;
use codflow_domain::returns::GradeInput;
use codflow_domain::{Sku, WarehouseCode};
use codflow_store::testing::TestDb;
use time::Duration;

use crate::booking::{by, order, setup};
use crate::{percentile, spawn_sandbox};

async fn on_hand(app: &codflow_app::App, w: &WarehouseCode) -> Result<i64> {
    let mut sum = 0;
    for k in 0..10 {
        sum += app.catalogue().stock(w, &Sku::parse(&format!("BK-{k:02}"))?).await?.level.on_hand;
    }
    Ok(sum)
}

pub async fn returns(parcels: usize, receivers: usize, engine: codflow_store::Engine) -> Result<()> {
    let sb = spawn_sandbox(1.0).await?;
    println!("machine: {}; engine {engine:?}; sandbox carrier {} (own process)", crate::machine(), sb.url);
    let db = TestDb::new(engine).await;
    let app = Arc::new(setup(&db, &sb.url).await?);
    let sz1 = WarehouseCode::parse("SZ1")?;
    let before = on_hand(&app, &sz1).await?;
    let mut ids = Vec::with_capacity(parcels);
    for n in 0..parcels {
        match app.intake().create_order(order(n), by()).await? {
            codflow_app::orders::IntakeOutcome::Created(o) | codflow_app::orders::IntakeOutcome::Existing(o) => {
                ids.push(o.id.to_string())
            }
        }
    }
    for chunk in ids.chunks(200) {
        app.fulfilment().book_orders(chunk, by()).await;
    }
    let mut parcels_out = Vec::with_capacity(parcels);
    for id in &ids {
        let shipments = app.fulfilment().shipments_of_order(&codflow_domain::OrderId::parse(id)?).await?;
        let tn =
            shipments.into_iter().find_map(|s| s.tracking_number).ok_or_else(|| anyhow::anyhow!("{id} not booked"))?;
        parcels_out.push(tn);
    }
    let now = app.clock().now();
    let t = Instant::now();
    for chunk in parcels_out.chunks(500) {
        let mut events = Vec::with_capacity(chunk.len() * 3);
        for tn in chunk {
            for (code, hours) in [("PKP", 72), ("RTS", 24), ("RTD", 2)] {
                events.push(IncomingEvent {
                    tracking_number: tn.clone(),
                    carrier: None,
                    code: code.into(),
                    description: String::new(),
                    location: None,
                    at: now - Duration::hours(hours),
                });
            }
        }
        app.tracking().ingest_events(&events, "api").await?;
    }
    let shipped = on_hand(&app, &sz1).await?;
    println!(
        "{parcels} parcels booked, picked up and turned back by the carrier in {:.1} s; on hand {before} → {shipped} (nothing restocked on the carrier's word)",
        t.elapsed().as_secs_f64()
    );
    ensure!(shipped < before, "the parcels left the shelf");

    let parcels_out = Arc::new(parcels_out);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for r in 0..receivers {
        let (app, parcels_out, sz1) = (app.clone(), parcels_out.clone(), sz1.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for tn in parcels_out.iter().skip(r).step_by(receivers) {
                let t = Instant::now();
                let (v, fresh) = app.floor().receive_return(&sz1, tn, by()).await?;
                ensure!(fresh, "{tn} received twice");
                let scanned = t.elapsed().as_micros() as u64;
                let lines: Vec<GradeInput> = v
                    .shipped
                    .iter()
                    .map(|l| GradeInput {
                        sku: l.sku.to_string(),
                        grade: "sellable".into(),
                        quantity: l.quantity,
                        ..Default::default()
                    })
                    .collect();
                app.floor().grade_return(&v.ret.id, &lines, None, by()).await?;
                lat.push((scanned, t.elapsed().as_micros() as u64));
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut scan = Vec::new();
    let mut whole = Vec::new();
    for t in tasks {
        for (a, b) in t.await?? {
            scan.push(a);
            whole.push(b);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    scan.sort_unstable();
    whole.sort_unstable();
    let after = on_hand(&app, &sz1).await?;
    ensure!(after == before, "restocked {after}, started with {before}");
    println!(
        "{receivers} receivers: {} returns in {secs:.1} s = {:.0} returns/hour (scan in, grade sellable, restock)",
        whole.len(),
        whole.len() as f64 / secs * 3600.0
    );
    println!(
        "receiving scan ms: p50 {:.2}  p99 {:.2};  scan → graded and restocked ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        percentile(&scan, 0.5),
        percentile(&scan, 0.99),
        percentile(&whole, 0.5),
        percentile(&whole, 0.9),
        percentile(&whole, 0.99),
        percentile(&whole, 1.0)
    );
    println!("stock back where it started: {after} units on hand");
    println!("peak RSS: {} MiB (codflow, in-process app)", codflow_app::peak_rss_kib(None).unwrap_or(0) / 1024);
    Ok(())
}
