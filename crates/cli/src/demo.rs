//! `codflow serve --demo`: a fresh shop whose last month is first lived through the real pipeline at a day
//! per second (the simulation's markets, shops, sandbox carrier and refusing regions, at a smaller size),
//! so a newcomer lands on dashboards with a past within a minute. Then the carrier's statements arrive and
//! the demo's time, and its carrier's, slow to the real world's pace: a last hour of orders waits for
//! review and booking, parcels still on their way arrive over the next days.

use anyhow::{Context, Result, anyhow};
use codflow_app::App;
use codflow_connectors::carriers::Sandbox;
use time::{Duration, OffsetDateTime};

use crate::logistics::SandboxProcess;
use crate::simulate::{Feed, model, prepare, run_days};

/// How much faster than real time the demo's past is lived: a day per second.
const SPEED: f64 = 86_400.0;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Start on a fresh demo database (./codflow-demo.db unless --database-url is given) with a simulated
    /// past: warehouses, products, shops, carriers, rules, and a month of orders through the real pipeline.
    #[arg(long)]
    pub demo: bool,
    /// Simulated days the demo lives through before it opens (a second each).
    #[arg(long, default_value_t = 30, requires = "demo", value_parser = clap::value_parser!(u32).range(1..=365))]
    pub demo_days: u32,
    /// Orders a simulated day brings.
    #[arg(long, default_value_t = 80, requires = "demo", value_parser = clap::value_parser!(u64).range(1..=5000))]
    pub demo_orders_per_day: u64,
}

/// The demo's carrier started, before the shop is seeded: the application is built with this carrier.
pub struct DemoCarrier {
    pub carrier: Sandbox,
    epoch: OffsetDateTime,
}

/// The demo once its shop is seeded and its carrier runs, before its past is lived.
pub struct Demo {
    carrier: Sandbox,
    epoch: OffsetDateTime,
    days: u32,
    per_day: usize,
    shelf: crate::simulate::Shelf,
}

impl DemoCarrier {
    /// Starts the sandbox carrier at the start of the past. The carrier runs as long as the process returned
    /// is kept.
    pub async fn start(args: &DemoArgs) -> Result<(SandboxProcess, DemoCarrier)> {
        // The past ends when the demo starts; living it takes a little longer (time stands still while each
        // day's orders are handled), so the present begins at the real now, never ahead of it.
        let epoch = OffsetDateTime::now_utc() - Duration::days(args.demo_days as i64);
        let sandbox = crate::logistics::spawn_sandbox_from(SPEED, Some(model()), 7, Some(epoch)).await?;
        let carrier =
            Sandbox::new(&sandbox.url, None, std::time::Duration::from_secs(10)).map_err(|e| anyhow!("{e}"))?;
        Ok((sandbox, DemoCarrier { carrier, epoch }))
    }

    /// The application's clock: standing at the start of the past until the server answers and it begins.
    pub fn clock(&self) -> codflow_app::Clock {
        codflow_app::Clock::frozen(self.epoch)
    }

    /// Seeds the shop; the carrier's clock is put back to the start of the past, where the app's stands.
    pub async fn prepare(self, app: &App, args: &DemoArgs) -> Result<Demo> {
        let shelf = prepare(app, self.epoch).await?;
        crate::simulate::track_every(app, 12).await?;
        self.carrier.set_clock(self.epoch, SPEED).await.map_err(|e| anyhow!("{e}"))?;
        Ok(Demo {
            carrier: self.carrier,
            epoch: self.epoch,
            days: args.demo_days,
            per_day: args.demo_orders_per_day as usize,
            shelf,
        })
    }
}

impl Demo {
    /// Lives the demo's past through the server at `base` (which must be serving `app`), then brings it to
    /// the present; prints what happened as it goes.
    pub async fn run(self, app: &App, base: String) -> Result<()> {
        let client = reqwest::Client::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while client.get(format!("{base}/healthz")).send().await.is_err() {
            anyhow::ensure!(std::time::Instant::now() < deadline, "the server did not come up");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let shop_secret = crate::simulate_shops::setup(app).await?;
        let stepped = Some((self.carrier.clone(), SPEED));
        let feed = Feed { client, base, shop_secret, seed: 7, per_day: self.per_day, stepped };
        let (orders, booked) = run_days(app, &feed, self.epoch, self.days, |_, _| {}).await?;
        let hooked = shop_orders(app).await?;
        println!(
            "simulation:   {orders} orders over {} simulated days, {booked} booked with the sandbox carrier",
            self.days
        );
        println!(
            "shops:        {hooked} of them from the demo's Shopify and WooCommerce shops, as signed webhooks; \
             see /api/v1/stores/shopify-main/sync"
        );
        // From here on the demo lives at the real world's pace, from wherever its past ended.
        let at = app.clock().now().max(OffsetDateTime::now_utc());
        present(app, &self.carrier, at).await?;
        self.shelf.restore(app).await?;
        let (reviewed, held) =
            crate::seed::shop::seed_demo_today(app).await.context("the demo's last hour of orders")?;
        println!("review:       {reviewed} new orders reviewed by the demo rules, {held} held for a person");
        match crate::seed::floor::seed_floor(app, 16).await {
            Ok(f) => println!(
                "floor:        {} parcels packed and weighed at stations PS1 and PS2 ({} re-rated), {} held for \
                 their weight; see {}/pack?station=PS1",
                f.packed, f.rerated, f.held, feed.base
            ),
            Err(e) => eprintln!("warning: the demo's pack stations were not seeded: {e}"),
        }
        match crate::seed::floor::seed_inbound(app).await {
            Ok(n) => println!(
                "inbound:      {n} purchase orders, one shipment received at the dock (short and damaged), one \
                 expected; see {}/inbound",
                feed.base
            ),
            Err(e) => eprintln!("warning: the demo's purchase orders were not seeded: {e}"),
        }
        match crate::seed::floor::seed_packaging(app).await {
            Ok(n) => println!(
                "packaging:    {n} boxes in SZ1 and every product's packing size: each parcel opened at a pack \
                 station shows its box; see /api/v1/orders/{{id}}/packaging"
            ),
            Err(e) => eprintln!("warning: the demo's boxes were not seeded: {e}"),
        }
        match crate::seed::returns::seed_returns(app).await {
            Ok(r) => println!(
                "returns:      {} returned parcels scanned in and graded at SZ1, {} held abroad at RUH-R, {} still \
                 expected; {} claims for lost parcels, {} paid; see {}/returns and {}/claims",
                r.graded, r.held_abroad, r.expected, r.claims, r.paid, feed.base, feed.base
            ),
            Err(e) => eprintln!("warning: the demo's returns and claims were not seeded: {e}"),
        }
        // The carrier's statements cover what it collected in the simulated month.
        match crate::seed::finance::demo_finance(app, std::time::Duration::ZERO).await {
            Ok(f) => println!(
                "finance:      carrier remittance ({} lines, {} finance tasks), {} and a freight invoice ({} lines) \
                 imported; see /api/v1/statements",
                f.remittance.lines,
                f.remittance.tasks_opened,
                if f.payout.is_some() { "a USD payout" } else { "no payout" },
                f.invoice.lines
            ),
            Err(e) => eprintln!("warning: the demo's settlement statements were not imported: {e}"),
        }
        app.insights().refresh_kpis().await.map_err(|e| anyhow!("{e}"))?;
        println!("demo ready:   dashboards at {}/dashboards/cash; the demo's clock now runs in real time", feed.base);
        Ok(())
    }
}

/// The carrier's clock and the app's, both at `at` and at real speed, set together so they stay agreed.
async fn present(app: &App, sandbox: &Sandbox, at: OffsetDateTime) -> Result<()> {
    sandbox.set_clock(at, 1.0).await.map_err(|e| anyhow!("cannot slow the sandbox carrier's clock: {e}"))?;
    app.clock().run_from(at, 1.0);
    // Polling backs up the carrier's pushes; every six hours of real time.
    crate::simulate::track_every(app, 6).await
}

async fn shop_orders(app: &App) -> Result<i64> {
    let mut n = 0;
    for shop in [crate::simulate_shops::SHOPIFY, crate::simulate_shops::WOO] {
        n += app
            .channels()
            .sync_status(&codflow_domain::ShopCode::parse(shop)?)
            .await
            .map_err(|e| anyhow!("{e}"))?
            .inbox
            .done;
    }
    Ok(n)
}
