//! `codflow-bench`, the load driver behind docs/BENCHMARKS.md. Each run starts from a fresh database and a
//! separate `codflow` server or import process, so the figures include everything a real deployment pays
//! for. It lives outside the `codflow` binary: it needs the test databases of `codflow-store`'s `testing`
//! feature, which production builds leave out.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod booking;
mod carriers;
mod dashboards;
mod floor;
mod packaging;
mod quotes;
mod reconcile;
mod returns;
mod tracking;
mod webhooks;
mod wire;

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use clap::{Parser, Subcommand};
use codflow_app::{App, peak_rss_kib};
use codflow_store::Engine;
use codflow_store::testing::TestDb;
use serde_json::json;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// HTTP order intake: a fresh server, N concurrent clients posting COD orders for a fixed time.
    Intake {
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// sqlite, or postgres (a fresh database on CODFLOW_TEST_PG, default the local server).
        #[arg(long, default_value = "sqlite")]
        engine: String,
        /// Run without review rules (the foundation's intake); by default the demo's twelve rules review
        /// every order.
        #[arg(long)]
        no_rules: bool,
    },
    /// Quotes: `POST /api/v1/rates` from N concurrent clients for a fixed time, against channels of six zones
    /// × ten weight bands.
    Quotes {
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        #[arg(long, default_value_t = 1)]
        channels: usize,
        #[arg(long, default_value = "sqlite")]
        engine: String,
    },
    /// Returns: parcels turned back by the carrier, then scanned in and graded sellable by receivers at once;
    /// the scan → restock latency.
    Returns {
        #[arg(long, default_value_t = 2_000)]
        parcels: usize,
        #[arg(long, default_value_t = 4)]
        receivers: usize,
        #[arg(long, default_value = "sqlite")]
        engine: String,
    },
    /// Box selection: a 10-item order over a 30-box catalogue priced through a channel's card, per order.
    Packaging {
        #[arg(long, default_value_t = 20_000)]
        orders: usize,
    },
    /// Booking: order → tracking number + label against a sandbox carrier process, at a concurrency, then
    /// bulk booking of many orders.
    Booking {
        #[arg(long, default_value_t = 20)]
        concurrency: usize,
        /// Orders per concurrent client.
        #[arg(long, default_value_t = 50)]
        per_client: usize,
        /// Orders for the bulk booking run.
        #[arg(long, default_value_t = 10_000)]
        bulk: usize,
        #[arg(long, default_value = "sqlite")]
        engine: String,
    },
    /// Tracking: carrier events through the batch API of a server on SQLite, then the anomaly sweep over
    /// a large book of active shipments.
    Tracking {
        /// Shipments whose journeys are sent as events (0 skips the ingestion run).
        #[arg(long, default_value_t = 20_000)]
        shipments: usize,
        /// Active shipments for the sweep run (0 skips it).
        #[arg(long, default_value_t = 1_000_000)]
        sweep_shipments: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        /// Events per request.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// Reconciliation: a COD remittance of one line per parcel against as many delivered shipments (SQLite).
    Reconcile {
        #[arg(long, default_value_t = 1_000_000)]
        shipments: usize,
        /// Run `codflow reconcile` as its own process on the seeded database (what a user runs) instead of
        /// importing in this process, and report that process's time and peak memory.
        #[arg(long)]
        cli: bool,
        /// Classify only (`--preview`): nothing recorded.
        #[arg(long)]
        preview: bool,
        /// Keep the remittance (`remittance.csv`), the shipments as an analyst would export them
        /// (`shipments.csv`) and the seeded database (`seeded.db`) in this folder, for `scripts/bench-compare`;
        /// a folder that already holds them is reused instead of seeding again.
        #[arg(long)]
        keep: Option<std::path::PathBuf>,
    },
    /// Dashboards: a book of orders over 90 days with outcomes and customs events, counted by the refresher
    /// from cold, then every dashboard page of a separate server timed over repeated requests (SQLite).
    Dashboards {
        #[arg(long, default_value_t = 1_000_000)]
        orders: usize,
        /// Timed requests per page (after three warm-up requests).
        #[arg(long, default_value_t = 30)]
        requests: usize,
    },
    /// Shop webhooks: signed Shopify orders/create deliveries from N concurrent clients for a fixed time
    /// (acceptance rate), then a paced run measuring the lag from receipt until the order is reviewed and
    /// allocated.
    Webhooks {
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Deliveries per second of the paced run.
        #[arg(long, default_value_t = 200)]
        rate: u64,
        #[arg(long, default_value = "sqlite")]
        engine: String,
    },
    /// The pack station: N stations packing at once (scan the parcel, scan each item, weigh, label to a TCP
    /// printer), scan → label latency with and without a re-rate that re-books with the sandbox carrier, and
    /// parcels per hour sustained.
    Floor {
        #[arg(long, default_value_t = 20)]
        stations: usize,
        /// Parcels each station packs.
        #[arg(long, default_value_t = 50)]
        per_station: usize,
        /// Parcels weighed heavy enough to move channel (voided and re-booked with the carrier).
        #[arg(long, default_value_t = 200)]
        rebooks: usize,
        /// Boxes and packing sizes, so each weighing prices its recommended box.
        #[arg(long)]
        boxes: bool,
        #[arg(long, default_value = "sqlite")]
        engine: String,
    },
    /// Carriers: each connector booking against its protocol on the sandbox carrier process (latency per
    /// booking), then signed 17TRACK and Ninja Van pushes taken by an application on SQLite (events per second).
    Carriers {
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long, default_value_t = 100)]
        per_client: usize,
        /// Parcels attached per push source (0 skips the push run).
        #[arg(long, default_value_t = 2000)]
        pushes: usize,
    },
    /// CSV import: writes a file of N two-line orders and imports it with `codflow import orders`.
    Import {
        #[arg(long, default_value_t = 100_000)]
        orders: usize,
        #[arg(long, default_value = "sqlite")]
        engine: String,
    },
}

fn engine(s: &str) -> Result<Engine> {
    match s {
        "sqlite" => Ok(Engine::Sqlite),
        "postgres" => Ok(Engine::Postgres),
        other => bail!("unknown engine {other:?}: sqlite or postgres"),
    }
}

#[derive(Parser)]
#[command(name = "codflow-bench", version, about = "Load driver for codflow: fresh databases, real server processes")]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CODFLOW_LOG").unwrap_or_else(|_| "warn,codflow=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(cli.command))
}

async fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Intake { concurrency, seconds, engine: e, no_rules } => {
            intake(concurrency, seconds, engine(&e)?, !no_rules).await
        }
        BenchCommand::Quotes { concurrency, seconds, channels, engine: e } => {
            crate::quotes::quotes(concurrency, seconds, channels, engine(&e)?).await
        }
        BenchCommand::Import { orders, engine: e } => import(orders, engine(&e)?).await,
        BenchCommand::Webhooks { concurrency, seconds, rate, engine: e } => {
            crate::webhooks::webhooks(concurrency, seconds, rate, engine(&e)?).await
        }
        BenchCommand::Tracking { shipments, sweep_shipments, concurrency, batch } => {
            crate::tracking::tracking(shipments, sweep_shipments, concurrency, batch).await
        }
        BenchCommand::Dashboards { orders, requests } => crate::dashboards::dashboards(orders, requests).await,
        BenchCommand::Reconcile { shipments, cli, preview, keep } => {
            crate::reconcile::reconcile(shipments, cli, preview, keep).await
        }
        BenchCommand::Packaging { orders } => crate::packaging::packaging(orders),
        BenchCommand::Returns { parcels, receivers, engine: e } => {
            crate::returns::returns(parcels, receivers, engine(&e)?).await
        }
        BenchCommand::Floor { stations, per_station, rebooks, boxes, engine: e } => {
            crate::floor::floor(stations, per_station, rebooks, boxes, engine(&e)?).await
        }
        BenchCommand::Carriers { concurrency, per_client, pushes } => {
            crate::carriers::carriers(concurrency, per_client, pushes).await
        }
        BenchCommand::Booking { concurrency, per_client, bulk, engine: e } => {
            crate::booking::booking(concurrency, per_client, bulk, engine(&e)?).await
        }
    }
}

const SKUS: usize = 20;

/// The `codflow` binary the runs start: `CODFLOW_BIN`, or the one built beside this program.
fn me() -> Result<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("CODFLOW_BIN") {
        return Ok(p.into());
    }
    let here = std::env::current_exe().context("cannot find this program")?;
    let bin = here.with_file_name(format!("codflow{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(
        bin.exists(),
        "no codflow binary beside {} (build it with `cargo build --release -p codflow`, or set CODFLOW_BIN)",
        here.display()
    );
    Ok(bin)
}

/// The database at `url`, migrated, with an application over it.
async fn open(url: &str) -> Result<App> {
    let store = codflow_store::Store::connect(url).await.with_context(|| format!("cannot open the database {url}"))?;
    store.migrate().await.context("migrations failed")?;
    Ok(App::new(store))
}

/// A sandbox carrier process served by the `codflow` binary.
async fn spawn_sandbox(time_scale: f64) -> Result<codflow_sandbox_carrier::process::SandboxProcess> {
    Ok(codflow_sandbox_carrier::process::SandboxProcess::spawn(&me()?, time_scale, None, 7, None).await?)
}

async fn admin_token(url: &str) -> Result<String> {
    let out = tokio::process::Command::new(me()?)
        .args(["token", "create", "--role", "admin", "--name", "bench", "--database-url", url])
        .stderr(Stdio::null())
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .last()
        .map(str::to_owned)
        .filter(|_| out.status.success())
        .ok_or_else(|| anyhow!("token create failed"))
}

pub fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx] as f64 / 1000.0
}

/// `concurrency` clients, each calling `call(client, i)` again as soon as its last call returned, for
/// `seconds`: the latencies (µs, sorted) of the calls that succeeded, and how many failed.
pub(crate) async fn closed_loop<F, Fut>(concurrency: usize, seconds: u64, call: F) -> Result<(Vec<u64>, u64)>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let stop = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let call = call.clone();
            tokio::spawn(async move {
                let (mut lat, mut failures, mut i) = (Vec::new(), 0u64, 0);
                while Instant::now() < stop {
                    let t = Instant::now();
                    if call(w, i).await {
                        lat.push(t.elapsed().as_micros() as u64);
                    } else {
                        failures += 1;
                    }
                    i += 1;
                }
                (lat, failures)
            })
        })
        .collect();
    let (mut lat, mut failures) = (Vec::new(), 0);
    for w in workers {
        let (l, f) = w.await?;
        lat.extend(l);
        failures += f;
    }
    lat.sort_unstable();
    Ok((lat, failures))
}

/// `p50 … p90 … p99 … max …` in milliseconds of sorted microsecond latencies.
pub(crate) fn latency_line(sorted: &[u64]) -> String {
    format!(
        "p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        percentile(sorted, 0.5),
        percentile(sorted, 0.9),
        percentile(sorted, 0.99),
        percentile(sorted, 1.0)
    )
}

/// CPU time (user + system) a process has used so far, in milliseconds (`None` for this process means
/// `/proc` is not there). On a shared, noisy machine the CPU a request costs varies far less than the
/// requests a second.
pub(crate) fn cpu_ms(pid: Option<u32>) -> Option<u64> {
    let path = pid.map_or_else(|| "/proc/self/stat".to_owned(), |p| format!("/proc/{p}/stat"));
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces and parentheses; the fields counted from after its last `)`.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux reports in USER_HZ, 100 a second on every architecture it exports to user space.
    Some(ticks * 10)
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores, {cpu}")
}

/// Order `i` of client `worker` as JSON: one or two lines over the bench's SKUs, a phone of its own. Written
/// with `format!` rather than built as a `Value`: the driver shares the machine with the server it measures.
fn order_body(worker: usize, i: usize) -> String {
    let line = |k: usize| {
        format!(
            r#"{{"sku":"BENCH-{:02}","quantity":{},"unit_price":{{"amount":"59.00","currency":"SAR"}}}}"#,
            (worker * 7 + i * 3 + k) % SKUS,
            1 + (i + k) % 2
        )
    };
    let lines = if i.is_multiple_of(2) { line(0) } else { format!("{},{}", line(0), line(1)) };
    format!(
        r#"{{"store":"bench","external_id":"w{worker}-{i}","placed_at":"2026-11-20T10:00:00Z","currency":"SAR","payment_method":"cod","buyer":{{"name":"Noura Al-Qahtani","phone":"+9665{:08}","email":null}},"shipping_address":{{"name":"Noura Al-Qahtani","phone":null,"line1":"King Fahd Rd 12","line2":null,"city":"Riyadh","region":"Riyadh Province","postal_code":"12211","country":"SA"}},"lines":[{lines}],"shipping_fee":{{"amount":"10.00","currency":"SAR"}}}}"#,
        (worker * 100_000 + i) % 100_000_000
    )
}

/// The bench warehouse and its SKUs, each with plenty of stock, through a server's API.
pub(crate) async fn seed_catalogue_http(client: &reqwest::Client, base: &str, auth: &str) -> Result<()> {
    let post = |path: &str, body: serde_json::Value| {
        client.post(format!("{base}{path}")).header("authorization", auth).json(&body).send()
    };
    post("/api/v1/warehouses", json!({"code": "SZ1", "name": "Shenzhen", "country": "CN"}))
        .await?
        .error_for_status()?;
    for k in 0..SKUS {
        let sku = format!("BENCH-{k:02}");
        post("/api/v1/products", json!({"sku": sku, "title": "Bench item", "unit_weight_g": 300, "unit_cost": {"amount": "12.00", "currency": "CNY"}}))
            .await?
            .error_for_status()?;
        client
            .put(format!("{base}/api/v1/stock/SZ1/{sku}"))
            .header("authorization", auth)
            .json(&json!({"on_hand": 1_000_000_000}))
            .send()
            .await?
            .error_for_status()?;
    }
    Ok(())
}

/// The review set-up of the demo: every template plus a prepayment and a flag rule, an exchange rate.
async fn seed_rules(client: &reqwest::Client, base: &str, auth: &str) -> Result<usize> {
    let post = |path: String, body: serde_json::Value| {
        client.post(format!("{base}{path}")).header("authorization", auth).json(&body).send()
    };
    client
        .put(format!("{base}/api/v1/fx-rates"))
        .header("authorization", auth)
        .json(&json!({"from": "SAR", "rate": "0.2666", "as_of": "2026-01-01", "source": "bench"}))
        .send()
        .await?
        .error_for_status()?;
    post("/api/v1/lists/cod_unsupported_regions/entries".into(), json!({"values": ["SA:Jizan Province"]}))
        .await?
        .error_for_status()?;
    let templates = [
        ("cod_unsupported_region", json!({})),
        ("blacklisted_destination", json!({})),
        ("blacklisted_phone", json!({})),
        ("region_refusal_rate", json!({"max_rate": 0.3, "min_samples": 10})),
        ("high_value", json!({"limit": "150.00"})),
        ("large_quantity", json!({"max_items": 5, "max_per_sku": 3})),
        ("refusing_phone", json!({"min_refusals": 2})),
        ("duplicate_24h", json!({})),
        ("sku_region_block", json!({"skus": ["BENCH-19"], "regions": ["kw"], "cod_only": false})),
        ("invalid_mobile", json!({})),
    ];
    for (key, params) in &templates {
        post(format!("/api/v1/rules/templates/{key}"), json!({"params": params})).await?.error_for_status()?;
    }
    for (condition, action) in [
        ("order.cod && risk.score > 0.45", "block_cod"),
        ("buyer.orders == 0 && order.total_base_minor > 8000", "flag"),
    ] {
        post(
            "/api/v1/rules".into(),
            json!({"name": action, "condition": condition, "action": action, "reason": "bench"}),
        )
        .await?
        .error_for_status()?;
    }
    Ok(templates.len() + 2)
}

/// Seconds of intake before the measured run.
const WARM_UP: u64 = 3;

async fn intake(concurrency: usize, seconds: u64, engine: Engine, rules: bool) -> Result<()> {
    let db = TestDb::new(engine).await;
    let server = Server::start(&db.url).await?;
    let (base, pid) = (server.base.clone(), server.pid);
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let token = server.token.clone();
    let auth = format!("Bearer {token}");
    seed_catalogue_http(&client, &base, &auth).await?;
    let rule_count = if rules { seed_rules(&client, &base, &auth).await? } else { 0 };
    let rss_before = peak_rss_kib(pid).unwrap_or(0);
    let addr = base.trim_start_matches("http://").to_owned();
    let request = |offset: usize| {
        let (host, token) = (addr.clone(), token.clone());
        move |w: usize, i: usize| wire::post_json(&host, "/api/v1/orders", &token, order_body(w + offset, i).as_bytes())
    };
    // A warm-up fills the tables first; on PostgreSQL their statistics are then gathered, as autovacuum would
    // have done on a server that has been taking orders (this machine's PostgreSQL runs without it).
    let warm = wire::drive(&addr, pid, concurrency, WARM_UP, 201, request(concurrency))?;
    ensure!(warm.failures == 0, "{} orders failed in the warm-up", warm.failures);
    if engine == Engine::Postgres {
        let store = codflow_store::Store::connect(&db.url).await?;
        store.analyze().await?;
        store.close().await;
    }
    let run = wire::drive(&addr, pid, concurrency, seconds, 201, request(0))?;
    let rss = peak_rss_kib(pid).unwrap_or(0);
    server.stop().await;
    let name = engine_name(engine);
    println!("## HTTP order intake, {name}, {concurrency} clients, {seconds} s, {rule_count} review rules");
    println!("warm-up:        {} orders in {WARM_UP} s before the clock started", warm.latencies.len());
    println!("machine:        {}", machine());
    println!("orders created: {} ({} failed)", run.latencies.len(), run.failures);
    println!("throughput:     {:.0} orders/s", run.latencies.len() as f64 / run.seconds);
    println!("latency ms:     {}", latency_line(&run.latencies));
    println!("CPU µs/order:   server {}, driver {}", run.cpu_per_call.0, run.cpu_per_call.1);
    println!("server peak RSS: {:.1} MiB (after seeding: {:.1} MiB)", rss as f64 / 1024.0, rss_before as f64 / 1024.0);
    Ok(())
}

async fn import(orders: usize, engine: Engine) -> Result<()> {
    let db = TestDb::new(engine).await;
    {
        let app = crate::open(&db.url).await?;
        seed_catalogue(&app).await?;
        app.store.close().await;
    }
    let dir = std::env::temp_dir().join(format!("codflow-bench-{}", codflow_domain::ids::new_id_body()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("orders.csv");
    {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        writeln!(w, "{}", codflow_app::import::COLUMNS.join(","))?;
        for n in 0..orders {
            for k in 0..2 {
                writeln!(
                    w,
                    "B{n},2026-11-20T10:00:00Z,SAR,cod,Noura Al-Qahtani,05{:08},,King Fahd Rd 12,,Riyadh,Riyadh Province,12211,SA,BENCH-{:02},{},59.00,10.00",
                    n % 100_000_000,
                    (n * 3 + k * 7) % SKUS,
                    1 + k
                )?;
            }
        }
    }
    let started = Instant::now();
    let out = tokio::process::Command::new(me()?)
        .args(["import", "orders"])
        .arg(&file)
        .args(["--database-url", &db.url])
        .stderr(Stdio::null())
        .output()
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("import failed: {text}");
    }
    let name = engine_name(engine);
    println!("## CSV import, {name}, {orders} orders ({} lines)", orders * 2);
    println!("machine:    {}", machine());
    println!("wall time:  {elapsed:.2} s including process start and migrations");
    println!("throughput: {:.0} orders/s", orders as f64 / elapsed);
    for l in
        text.lines().filter(|l| l.starts_with("created") || l.starts_with("peak memory") || l.starts_with("rejected"))
    {
        println!("{l}");
    }
    Ok(())
}

/// Imports a benchmark's order file as the store `bench` (checkpoints deferred, as a bulk load does), makes
/// sure all `n` orders landed, and removes the file's folder.
pub(crate) async fn import_orders_file(
    app: &codflow_app::App,
    dir: &std::path::Path,
    file: &std::path::Path,
    n: usize,
) -> Result<()> {
    app.store.defer_checkpoints();
    let reader = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(file)?);
    let opts = codflow_app::import::ImportOptions { store: "bench".into(), batch_size: 2000 };
    let by = codflow_domain::Actor::Worker("bench".into());
    let report = app.intake().import_orders(reader, &opts, by, &mut |_| {}).await.map_err(|e| anyhow!("{e}"))?;
    let _ = std::fs::remove_dir_all(dir);
    anyhow::ensure!(report.created as usize == n, "imported {} of {n} orders", report.created);
    Ok(())
}

/// The bench warehouse and its SKUs, each with plenty of stock.
pub(crate) async fn seed_catalogue(app: &codflow_app::App) -> Result<()> {
    let by = || codflow_domain::Actor::Worker("bench".into());
    app.catalogue()
        .create_warehouse(
            codflow_app::catalogue::WarehouseInput {
                code: Some("SZ1".into()),
                name: Some("Shenzhen".into()),
                country: Some("CN".into()),
            },
            by(),
        )
        .await
        .map_err(|e| anyhow!("{e}"))?;
    for k in 0..SKUS {
        let sku = format!("BENCH-{k:02}");
        app.catalogue()
            .create_product(
                codflow_app::catalogue::ProductInput {
                    sku: Some(sku.clone()),
                    title: Some("Bench item".into()),
                    unit_weight_g: Some(300),
                    unit_cost: Some(codflow_domain::order::MoneyInput {
                        amount: "12.00".into(),
                        currency: Some("CNY".into()),
                    }),
                    ..Default::default()
                },
                by(),
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
        app.catalogue()
            .set_stock(
                &codflow_domain::WarehouseCode::parse("SZ1")?,
                &codflow_domain::Sku::parse(&sku)?,
                codflow_app::catalogue::StockChange { on_hand: Some(1_000_000_000), location: None },
                by(),
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    Ok(())
}

/// The admin token made for each database, so a second server on it reuses it.
static TOKENS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, String>>> =
    std::sync::LazyLock::new(Default::default);

/// The secret key of each database's servers, so a second server opens what the first sealed.
static KEYS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, String>>> =
    std::sync::LazyLock::new(Default::default);

/// A `codflow serve` of its own on a free port, killed when dropped.
pub(crate) struct Server {
    pub base: String,
    pub pid: Option<u32>,
    pub token: String,
    child: tokio::process::Child,
}

impl Server {
    pub async fn start(db_url: &str) -> Result<Server> {
        Server::start_with(db_url, &[]).await
    }

    /// A server with extra `serve` arguments.
    pub async fn start_with(db_url: &str, extra: &[&str]) -> Result<Server> {
        let exe = me()?;
        let status = tokio::process::Command::new(&exe)
            .args(["migrate", "--database-url", db_url])
            .stdout(Stdio::null())
            .status()
            .await?;
        if !status.success() {
            bail!("migrate failed");
        }
        let token = match TOKENS.lock().ok().and_then(|t| t.get(db_url).cloned()) {
            Some(t) => t,
            None => admin_token(db_url).await?,
        };
        if let Ok(mut t) = TOKENS.lock() {
            t.insert(db_url.to_owned(), token.clone());
        }
        let key = match KEYS.lock().ok().and_then(|k| k.get(db_url).cloned()) {
            Some(k) => k,
            None => codflow_app::shops::Sealer::generate_hex(),
        };
        if let Ok(mut k) = KEYS.lock() {
            k.insert(db_url.to_owned(), key.clone());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = tokio::process::Command::new(&exe)
            .args(["serve", "--database-url", db_url, "--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            // A key of its own, so shops with secrets can be set up.
            .env("CODFLOW_SECRET_KEY", key)
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let server = Server { base: format!("http://127.0.0.1:{port}"), pid: child.id(), token, child };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while client.get(format!("{}/healthz", server.base)).send().await.is_err() {
            if Instant::now() > deadline {
                bail!("the server did not come up within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(server)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The engine as the reports name it.
fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "SQLite",
        Engine::Postgres => "PostgreSQL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_intake_body_is_an_order_of_one_or_two_lines_with_its_own_external_id() {
        for (w, i, lines) in [(0, 0, 1), (3, 7, 2), (31, 100_001, 2)] {
            let order: serde_json::Value = serde_json::from_str(&order_body(w, i)).expect("valid JSON");
            assert_eq!(order["external_id"], format!("w{w}-{i}"));
            assert_eq!(order["lines"].as_array().map(Vec::len), Some(lines));
            assert!(order["lines"][0]["sku"].as_str().is_some_and(|s| s.starts_with("BENCH-")));
            assert_eq!(order["buyer"]["phone"].as_str().map(str::len), Some(13));
        }
    }
}
