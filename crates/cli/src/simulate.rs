//! `codflow simulate`: replays the last N days of a seller's business through the real pipeline. Orders of
//! the demo's sixteen markets arrive every simulated day through intake (review, allocation, reservation),
//! are booked with a sandbox carrier process whose clock runs from N days ago, travel (its events pushed to a
//! webhook receiver of this process, and polled), open and close tasks, and are finally settled by the
//! carrier's remittance and invoice and a platform payout. Some regions refuse often, and the Gulf's express
//! channel is held in customs far more than its peers: what the dashboards and recommendations should find.

use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context, Result, anyhow};
use codflow_app::booking::BookOutcome;
use codflow_app::catalogue::StockChange;
use codflow_app::{App, Clock};
use codflow_domain::Actor;
use time::{Duration, OffsetDateTime};

fn by() -> Actor {
    Actor::Worker("simulation".into())
}

/// The sandbox carrier's model: the demo's lanes, refusing regions, and one misbehaving channel.
pub fn model() -> serde_json::Value {
    let regions: serde_json::Map<String, serde_json::Value> =
        crate::seed::shop::refusing_regions().into_iter().map(|(k, v)| (k, serde_json::json!(v))).collect();
    serde_json::json!({
        "default": {"delivery_rate": 0.82, "refusal_share": 0.7, "customs_hold_probability": 0.06,
                    "customs_hold_hours": 40, "transit_days": 5, "loss_rate": 0.004, "cod_fee_pct": 1.5},
        "countries": {
            "SA": {"delivery_rate": 0.8, "refusal_share": 0.7, "customs_hold_probability": 0.06, "customs_hold_hours": 36,
                   "transit_days": 5, "loss_rate": 0.004, "cod_fee_pct": 1.5},
            "AE": {"delivery_rate": 0.86, "refusal_share": 0.6, "customs_hold_probability": 0.05, "customs_hold_hours": 30,
                   "transit_days": 4, "loss_rate": 0.003, "cod_fee_pct": 1.5}
        },
        "services": {
            "SA/express": {"delivery_rate": 0.8, "refusal_share": 0.7, "customs_hold_probability": 0.4,
                           "customs_hold_hours": 110, "transit_days": 3, "loss_rate": 0.004, "cod_fee_pct": 1.5},
            "AE/express": {"delivery_rate": 0.86, "refusal_share": 0.6, "customs_hold_probability": 0.35,
                           "customs_hold_hours": 100, "transit_days": 3, "loss_rate": 0.003, "cod_fee_pct": 1.5}
        },
        "regions": regions
    })
}

pub struct Summary {
    pub orders: usize,
    pub booked: usize,
    pub seconds: f64,
}

/// What a simulation runs: its length, volume and randomness, and whether a lane goes through each carrier
/// codflow books with (their protocols served by the sandbox carrier process) beside the sandbox's own channels.
pub struct Plan {
    pub days: u32,
    pub per_day: usize,
    pub seed: u64,
    pub seconds_per_day: f64,
    pub carrier_lanes: bool,
}

pub async fn simulate(url: &str, plan: Plan) -> Result<Summary> {
    let Plan { days, per_day, seed, seconds_per_day, carrier_lanes } = plan;
    let started = Instant::now();
    let store = crate::connect(url).await?;
    // The shops' webhook secrets are sealed under the configured key, or one for this run only.
    let key = std::env::var("CODFLOW_SECRET_KEY").ok().and_then(|k| codflow_app::shops::Sealer::from_hex(&k));
    let key = key.unwrap_or_else(|| {
        codflow_app::shops::Sealer::from_hex(&codflow_app::shops::Sealer::generate_hex()).expect("a fresh key")
    });
    let today = OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT);
    let epoch = today - Duration::days(days as i64);
    let scale = 86_400.0 / seconds_per_day;
    let sb = crate::logistics::spawn_sandbox_from(scale, Some(model()), seed, Some(epoch)).await?;
    let sandbox = codflow_connectors::carriers::Sandbox::new(&sb.url, None, StdDuration::from_secs(10))
        .map_err(|e| anyhow!("{e}"))?;
    let secret = format!("sim-{}", codflow_domain::TaskId::generate());
    let carriers = codflow_app::booking::Carriers {
        sandbox: Some(codflow_connectors::carriers::Carrier::Sandbox(sandbox.clone())),
        sandbox_webhook_secret: Some(secret.clone()),
        ..Default::default()
    };
    let app = App::builder(store).carriers(carriers).secret_key(Some(key)).clock(Clock::frozen(epoch)).build();
    let shelf = prepare(&app, epoch).await?;
    let lanes = if carrier_lanes { crate::simulate_lanes::set_up(&app, &sb.url).await? } else { Vec::new() };
    // Both clocks start the past together, once the shop is seeded.
    sandbox.set_clock(epoch, scale).await.map_err(|e| anyhow!("{e}"))?;
    app.clock().run_from(epoch, scale);
    // A receiver for the carrier's pushes: this process serves the API on a port of its own.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server_app = app.clone();
    tokio::spawn(async move { codflow_web::serve(listener, server_app).await });
    let shop_secret = crate::simulate_shops::setup(&app).await?;
    let feed = Feed {
        client: reqwest::Client::new(),
        base: format!("http://{addr}"),
        shop_secret,
        seed,
        per_day,
        stepped: None,
    };
    sandbox
        .register_webhook(&format!("http://{addr}/api/v1/webhooks/carriers/sandbox"), &secret)
        .await
        .map_err(|e| anyhow!("cannot register the webhook with the sandbox carrier: {e}"))?;
    crate::simulate_lanes::register_pushes(&lanes, &sb.url, &feed.base).await?;
    let mut polled = vec!["sandbox".to_owned()];
    polled.extend(lanes.iter().map(|l| l.carrier.to_owned()));
    track_carriers_every(&app, 12, polled).await?;
    app.tracking().start_tracking_worker();
    app.insights().start_kpi_refresher();
    let bar = crate::progress_bar(days as u64, "{bar:40} day {pos}/{len} {msg} ({eta})");
    let (orders, booked) = run_days(&app, &feed, epoch, days, |orders, booked| {
        bar.inc(1);
        bar.set_message(format!("{orders} orders, {booked} booked"));
    })
    .await?;
    bar.finish_and_clear();
    let flow = started.elapsed().as_secs_f64();
    println!(
        "orders:       {orders} placed and {booked} booked over {days} simulated days in {flow:.1} s ({:.0} orders/s)",
        orders as f64 / flow
    );
    // The carrier's statements, once the last parcels have settled (at most a few simulated weeks).
    let finance =
        crate::seed::finance::demo_finance(&app, StdDuration::from_secs_f64((seconds_per_day * 40.0).max(20.0))).await;
    match finance {
        Ok(f) => println!(
            "settlements:  remittance of {} lines ({} finance tasks), {} and a freight invoice of {} lines",
            f.remittance.lines,
            f.remittance.tasks_opened,
            if f.payout.is_some() { "a USD payout" } else { "no payout" },
            f.invoice.lines
        ),
        Err(e) => eprintln!("warning: the carrier's statements were not imported: {e}"),
    }
    // What came back is scanned in and graded at the warehouse, and the lost parcels are claimed.
    match crate::seed::returns::seed_returns(&app).await {
        Ok(r) => println!(
            "returns:      {} returned parcels received and graded, {} held abroad, {} still expected; {} claims \
             for lost parcels, {} paid",
            r.graded, r.held_abroad, r.expected, r.claims, r.paid
        ),
        Err(e) => eprintln!("warning: the returns were not received: {e}"),
    }
    // The end of the simulated time: the carrier stops, the clock stops, the last anomalies are swept, and the
    // dashboards count what is left, so the figures printed are the final ones.
    drop(sb);
    app.clock().freeze(app.clock().now());
    shelf.restore(&app).await?;
    app.tracking().sweep().await.map_err(|e| anyhow!("{e}"))?;
    app.insights().refresh_kpis().await.map_err(|e| anyhow!("{e}"))?;
    println!("{}", report(&app).await?);
    if !lanes.is_empty() {
        println!("{}", crate::simulate_lanes::report(&app, &lanes).await?);
    }
    Ok(Summary { orders, booked, seconds: started.elapsed().as_secs_f64() })
}

/// The shop ready for simulated days from `epoch`: the demo's catalogue, channels and rules when the
/// database is empty, stock that never runs dry, and exchange rates reaching back to the first day. Returns
/// the shelf as it was, to put back once the past is lived.
pub async fn prepare(app: &App, epoch: OffsetDateTime) -> Result<Shelf> {
    if app.catalogue().warehouses(1, None).await.map_err(|e| anyhow!("{e}"))?.0.is_empty() {
        crate::seed::shop::seed_demo_shop(app)
            .await
            .context("seeding the shop's catalogue, channels and rules failed")?;
    }
    crate::seed::floor::set_up(app).await.context("setting up the pack stations failed")?;
    // Stock is topped up every day in a real shop; here the warehouse simply never runs dry while the past is
    // lived, and gets its own levels back afterwards.
    let (products, _) = app.catalogue().products(500, None).await.map_err(|e| anyhow!("{e}"))?;
    let mut shelf = Shelf(Vec::with_capacity(products.len()));
    for p in &products {
        let level = app
            .catalogue()
            .stock(&codflow_domain::WarehouseCode::parse("SZ1")?, &codflow_domain::Sku::parse(p.sku.as_str())?)
            .await
            .map_err(|e| anyhow!("{e}"))?
            .level;
        // A database a previous run left topped up keeps a shelf of the demo's usual size.
        let free = if level.on_hand >= NEVER_DRY / 2 { SHELF_AFTER_TOP_UP } else { level.available().max(0) };
        shelf.0.push((p.sku.to_string(), free));
        let change = StockChange { on_hand: Some(NEVER_DRY), location: None };
        app.catalogue()
            .set_stock(
                &codflow_domain::WarehouseCode::parse("SZ1")?,
                &codflow_domain::Sku::parse(p.sku.as_str())?,
                change,
                by(),
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    // Orders are valued in the base currency at the rate of their day: the shop's rates must reach back to
    // the first simulated day, or review holds every order it cannot value.
    let first_day = (epoch - Duration::days(1)).date();
    for rate in app.review().fx_rates().await.map_err(|e| anyhow!("{e}"))? {
        if rate.as_of > first_day {
            let back = codflow_domain::FxRate { as_of: first_day, source: "simulation".into(), ..rate };
            app.review().put_fx_rate(back).await.map_err(|e| anyhow!("{e}"))?;
        }
    }
    Ok(shelf)
}

const NEVER_DRY: i64 = 100_000_000;
/// Parcels of each simulated day packed and weighed at the stations.
const PACKED_PER_DAY: usize = 8;
const SHELF_AFTER_TOP_UP: i64 = 300;

/// What each SKU had free in the main warehouse before the simulation's top-up.
pub struct Shelf(Vec<(String, i64)>);

impl Shelf {
    /// Gives every SKU its own free stock back (beside what open orders hold), so the present shows the
    /// shop's shelves, not the simulation's bottomless ones.
    pub async fn restore(&self, app: &App) -> Result<()> {
        for (sku, free) in &self.0 {
            let level = app
                .catalogue()
                .stock(&codflow_domain::WarehouseCode::parse("SZ1")?, &codflow_domain::Sku::parse(sku)?)
                .await
                .map_err(|e| anyhow!("{e}"))?
                .level;
            let change = StockChange { on_hand: Some(level.reserved + free), location: None };
            app.catalogue()
                .set_stock(
                    &codflow_domain::WarehouseCode::parse("SZ1")?,
                    &codflow_domain::Sku::parse(sku)?,
                    change,
                    by(),
                )
                .await
                .map_err(|e| anyhow!("{e}"))?;
        }
        Ok(())
    }
}

/// Polls the sandbox carrier every `hours` of parcel time, backing up its pushes.
pub async fn track_every(app: &App, hours: i64) -> Result<()> {
    track_carriers_every(app, hours, vec!["sandbox".into()]).await
}

/// Polls `carriers` every `hours` of parcel time.
pub async fn track_carriers_every(app: &App, hours: i64, carriers: Vec<String>) -> Result<()> {
    let poll =
        codflow_app::tracking::PollSettings { poll_seconds: hours * 3600, poll_carriers: carriers, max_age_days: 60 };
    app.tracking().set_tracking_settings(poll, by()).await.map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// Where simulated days send their orders: the shops' webhooks at `base` (a server of this app), the rest
/// through intake.
pub struct Feed {
    pub client: reqwest::Client,
    pub base: String,
    pub shop_secret: String,
    pub seed: u64,
    pub per_day: usize,
    /// When set, time stands still while a day's orders are handled: the app's clock and this carrier's are
    /// stopped at the day's end and run on (at `scale`) only when the work is done, so a slow machine makes
    /// the past take longer rather than run ahead of its orders.
    pub stepped: Option<(codflow_connectors::carriers::Sandbox, f64)>,
}

/// Runs `days` simulated days from `epoch` as the app's clock reaches them: each day's orders arrive (shop
/// webhooks and intake), are reviewed and allocated, and whatever can be booked is. `on_day` hears the
/// running totals of orders placed and booked after each day; returns the same totals.
pub async fn run_days(
    app: &App,
    feed: &Feed,
    epoch: OffsetDateTime,
    days: u32,
    mut on_day: impl FnMut(usize, usize),
) -> Result<(usize, usize)> {
    let (mut orders, mut booked) = (0usize, 0usize);
    let per_day = feed.per_day;
    for d in 0..days as i64 {
        let day = epoch + Duration::days(d);
        // Each day's orders were placed the day before they are handled, so they are never in the future.
        let end = day + Duration::days(1);
        if let Some((carrier, scale)) = &feed.stepped {
            let from = app.clock().now();
            carrier.set_clock(from, *scale).await.map_err(|e| anyhow!("the carrier's clock: {e}"))?;
            app.clock().run_from(from, *scale);
        }
        while app.clock().now() < end {
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
        if let Some((carrier, _)) = &feed.stepped {
            app.clock().freeze(end);
            // The carrier's clock creeps at real speed while the day's orders are handled: seconds, not days.
            carrier.set_clock(end, 1.0).await.map_err(|e| anyhow!("the carrier's clock: {e}"))?;
        }
        let inputs = crate::seed::shop::simulated_orders(feed.seed, d as usize * per_day, day, per_day)
            .map_err(|e| anyhow!("day {d}: orders: {e}"))?;
        // The shops' orders arrive as their webhooks; the rest are keyed in or imported.
        let first_id = 1_000_000 + (d as u64) * per_day as u64;
        let (direct, hooked) =
            crate::simulate_shops::deliver(&feed.client, &feed.base, &feed.shop_secret, inputs, first_id)
                .await
                .with_context(|| format!("day {d}: shop webhooks"))?;
        let ids = crate::seed::shop::create_simulated(app, direct).await.with_context(|| format!("day {d}: orders"))?;
        app.channels().process_inbox().await.map_err(|e| anyhow!("day {d}: shop orders: {e}"))?;
        orders += ids.len() + hooked;
        let bookable = app.fulfilment().bookable_orders().await.map_err(|e| anyhow!("{e}"))?;
        let today: Vec<codflow_domain::OrderId> = app
            .fulfilment()
            .book_orders(&bookable, by())
            .await
            .into_iter()
            .filter_map(|r| match r {
                BookOutcome::Done(s) if s.tracking_number.is_some() => Some(s.order_id),
                _ => None,
            })
            .collect();
        booked += today.len();
        // Some of each day's parcels go through the pack stations, so the floor's pages have a past too.
        let sample = &today[..today.len().min(PACKED_PER_DAY)];
        crate::seed::floor::pack(app, sample, d as usize * PACKED_PER_DAY, false)
            .await
            .with_context(|| format!("day {d}: packing"))?;
        on_day(orders, booked);
    }
    Ok((orders, booked))
}

/// The figures a finished simulation prints, read back from the dashboards' own sums.
async fn report(app: &App) -> Result<String> {
    let sums = app.insights().kpi_sums(&Default::default(), &[], false).await.map_err(|e| anyhow!("{e}"))?;
    let m = sums.first().map(|(_, m)| *m).unwrap_or_default();
    let recs = app.insights().recommendations(&Default::default()).await.map_err(|e| anyhow!("{e}"))?;
    Ok(format!(
        "dashboards:   {} orders, {} shipped, {} delivered, {} refused ({}), {} held in customs; {} recommendations",
        m.orders(),
        m.shipped(),
        m.delivered(),
        m.refused(),
        m.refusal_rate().map(|r| r.percent()).unwrap_or_else(|| "–".into()),
        m.customs_held(),
        recs.len()
    ))
}
