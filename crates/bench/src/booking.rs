//! `codflow bench booking`: order acceptance to tracking number and label against a sandbox carrier
//! process on loopback, at a fixed concurrency, then bulk booking of many allocated orders.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use codflow_app::App;
use codflow_app::booking::{BookOutcome, BookingStatus, Carriers};
use codflow_app::catalogue::{ProductInput, WarehouseInput};
use codflow_connectors::carriers::{Carrier, Sandbox};
use codflow_domain::order::{AddressInput, BuyerInput, LineInput, MoneyInput};
use codflow_domain::rating::{ChannelSpec, DutyRuleSpec};
use codflow_domain::{Actor, OrderInput};
use codflow_store::Store;
use codflow_store::testing::TestDb;
use serde_json::json;

use crate::spawn_sandbox;

pub(crate) fn by() -> Actor {
    Actor::Worker("bench".into())
}

pub(crate) fn order(n: usize) -> OrderInput {
    let cities = [
        ("Riyadh", "Riyadh Province", "12211"),
        ("Jeddah", "Makkah Province", "21442"),
        ("Dammam", "Eastern Province", "32241"),
    ];
    let (city, region, pc) = cities[n % 3];
    OrderInput {
        store: Some("bench".into()),
        external_id: Some(format!("b{n}")),
        placed_at: Some("2026-11-20T10:00:00Z".into()),
        currency: Some("SAR".into()),
        payment_method: Some("cod".into()),
        buyer: BuyerInput {
            name: Some("Noura".into()),
            phone: Some(format!("+9665{:08}", n % 100_000_000)),
            email: None,
        },
        shipping_address: AddressInput {
            name: Some("Noura".into()),
            line1: Some("King Fahd Rd 12".into()),
            city: Some(city.into()),
            region: Some(region.into()),
            postal_code: Some(pc.into()),
            country: Some("SA".into()),
            ..Default::default()
        },
        lines: vec![LineInput {
            sku: Some(format!("BK-{:02}", n % 10)),
            quantity: Some(1 + (n % 2) as i64),
            unit_price: Some(MoneyInput { amount: "59.00".into(), currency: None }),
        }],
        shipping_fee: None,
    }
}

pub(crate) async fn setup(db: &TestDb, carrier_url: &str) -> Result<App> {
    let store = Store::connect(&db.url).await?;
    store.migrate().await?;
    let sandbox = Sandbox::new(carrier_url, None, std::time::Duration::from_secs(10))?;
    let carriers = Carriers { sandbox: Some(Carrier::Sandbox(sandbox)), ..Default::default() };
    let app = App::builder(store).carriers(carriers).build();
    app.review().set_base_currency("SAR").await?;
    app.catalogue()
        .create_warehouse(
            WarehouseInput { code: Some("SZ1".into()), name: Some("Shenzhen".into()), country: Some("CN".into()) },
            by(),
        )
        .await?;
    for k in 0..10 {
        let sku = format!("BK-{k:02}");
        app.catalogue()
            .create_product(
                ProductInput {
                    sku: Some(sku.clone()),
                    title: Some("Lamp".into()),
                    unit_weight_g: Some(300 + k * 150),
                    unit_cost: Some(MoneyInput { amount: "40.00".into(), currency: Some("SAR".into()) }),
                    hs_code: Some("940540".into()),
                    origin_country: Some("CN".into()),
                    category: Some("home".into()),
                },
                by(),
            )
            .await?;
        app.catalogue()
            .set_stock(
                &codflow_domain::WarehouseCode::parse("SZ1")?,
                &codflow_domain::Sku::parse(&sku)?,
                codflow_app::catalogue::StockChange { on_hand: Some(10_000_000), location: None },
                by(),
            )
            .await?;
    }
    let channels: Vec<ChannelSpec> = ["STD", "EXP", "ECO"]
        .iter()
        .enumerate()
        .map(|(i, s)| {
            serde_json::from_value(json!({
                "code": format!("SBX-SA-{s}"), "name": format!("Sandbox {s}"), "carrier": "sandbox", "service": s.to_lowercase(),
                "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true},
                "rate_card": {"currency": "SAR", "weight_rounding_g": 100, "fuel_surcharge_pct": "8", "cod_fee": {"pct": "2", "min": "3.00"},
                  "zones": [{"name": "metro", "cities": ["Riyadh", "Jeddah"], "transit_days": 2 + i,
                             "bands": [{"from_g": 0, "to_g": 1000, "price": format!("{}.00", 18 + i * 3)}, {"from_g": 1000, "to_g": 30000, "price": format!("{}.00", 30 + i * 3)}]},
                            {"name": "rest", "countries": ["SA"], "transit_days": 4 + i,
                             "bands": [{"from_g": 0, "to_g": 30000, "price": format!("{}.00", 35 + i * 3)}]}]}
            }))
            .expect("bench channels are well-formed")
        })
        .collect();
    app.fulfilment().put_channels(&channels, by()).await?;
    let duty: DutyRuleSpec = serde_json::from_value(
        json!({"country": "SA", "effective_from": "2025-01-01", "duty_pct": "5", "vat_pct": "15",
        "duty_de_minimis": {"amount": {"amount": "1000", "currency": "SAR"}, "basis": "goods"}}),
    )?;
    app.fulfilment().put_duty_rules(&[duty], by()).await?;
    Ok(app)
}

pub async fn booking(concurrency: usize, per_worker: usize, bulk: usize, engine: codflow_store::Engine) -> Result<()> {
    let sb = spawn_sandbox(1.0).await?;
    println!("machine: {}; engine {engine:?}; sandbox carrier {} (own process)", crate::machine(), sb.url);
    let db = TestDb::new(engine).await;
    let app = Arc::new(setup(&db, &sb.url).await?);
    // Warm-up: caches, connections, the carrier's first booking.
    for n in 0..20 {
        one(&app, 1_000_000 + n).await?;
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_worker);
            for i in 0..per_worker {
                let t = Instant::now();
                one(&app, w * per_worker + i).await?;
                lat.push(t.elapsed().as_micros() as u64);
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_unstable();
    println!(
        "order → tracking number + ZPL label, {concurrency} concurrent: {} orders in {secs:.1} s = {:.0} orders/s",
        lat.len(),
        lat.len() as f64 / secs
    );
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        crate::percentile(&lat, 0.5),
        crate::percentile(&lat, 0.9),
        crate::percentile(&lat, 0.99),
        crate::percentile(&lat, 1.0)
    );
    // Bulk: accept the orders first, then book them all the way `codflow book --all` does.
    let base = 10_000_000;
    for chunk in (0..bulk).collect::<Vec<_>>().chunks(500) {
        for n in chunk {
            app.intake().create_order(order(base + n), by()).await?;
        }
    }
    let ids = app.fulfilment().bookable_orders().await?;
    let t = Instant::now();
    let mut booked = 0;
    for chunk in ids.chunks(200) {
        booked += app
            .fulfilment()
            .book_orders(chunk, by())
            .await
            .into_iter()
            .filter(|r| matches!(r, BookOutcome::Done(s) if s.status == BookingStatus::Booked))
            .count();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "bulk booking: {booked} of {} orders booked in {secs:.1} s = {:.0} orders/s",
        ids.len(),
        ids.len() as f64 / secs
    );
    println!("peak RSS: {} MiB (codflow, in-process app)", codflow_app::peak_rss_kib(None).unwrap_or(0) / 1024);
    Ok(())
}

/// One order from acceptance to its label.
async fn one(app: &App, n: usize) -> Result<()> {
    let o = match app.intake().create_order(order(n), by()).await? {
        codflow_app::orders::IntakeOutcome::Created(o) | codflow_app::orders::IntakeOutcome::Existing(o) => o,
    };
    let s = app.fulfilment().book_order(&o.id, by()).await?;
    let zpl = app.fulfilment().labels_zpl(&[s.id.to_string()]).await.context("label")?;
    anyhow::ensure!(zpl.contains("^BC"), "no barcode on the label");
    Ok(())
}
