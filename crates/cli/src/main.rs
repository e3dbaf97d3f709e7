//! The `codflow` binary (API.md "CLI").

mod bench;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use codflow_app::App;
use codflow_app::import::ImportOptions;
use codflow_domain::{Actor, Role};
use codflow_store::Store;

const DEFAULT_DB: &str = "sqlite://codflow.db";

#[derive(Parser)]
#[command(name = "codflow", version, about = "Order-to-cash for cross-border DDP + COD sellers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Db {
    /// sqlite://PATH or postgres://...; DATABASE_URL when absent, else sqlite://codflow.db
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
}

impl Db {
    fn url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| DEFAULT_DB.into())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server (migrations run first).
    Serve {
        #[command(flatten)]
        db: Db,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Start on a fresh demo database (./codflow-demo.db unless --database-url is given) full of
        /// realistic warehouses, products, stock and orders.
        #[arg(long)]
        demo: bool,
    },
    /// Apply the database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: Db,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Import data from files.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Measure throughput, latency and memory (see docs/BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token; the secret is printed once, alone on the last line.
    Create {
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Import an order CSV (one row per order line).
    Orders {
        file: PathBuf,
        #[arg(long, default_value = "manual")]
        store: String,
        /// Orders per transaction.
        #[arg(long, default_value_t = 500)]
        batch_size: usize,
        #[command(flatten)]
        db: Db,
    },
}

async fn open(url: &str) -> Result<App> {
    let store = Store::connect(url).await.with_context(|| format!("cannot open the database {url}"))?;
    store.migrate().await.context("migrations failed")?;
    Ok(App::new(store))
}

/// Peak resident memory of this process, from the kernel's own accounting.
pub fn peak_rss_kib(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".into(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn serve(db: Db, listen: String, demo: bool) -> Result<()> {
    let url = if demo && db.database_url.is_none() {
        for f in ["codflow-demo.db", "codflow-demo.db-wal", "codflow-demo.db-shm"] {
            let _ = std::fs::remove_file(f);
        }
        "sqlite://codflow-demo.db".to_owned()
    } else {
        db.url()
    };
    let app = open(&url).await?;
    let listener =
        tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    if demo {
        let s = app.seed_demo(400).await.context("seeding the demo data failed")?;
        let (_, token) = app.create_token(Role::Admin, "demo admin").await?;
        println!("codflow demo: {} warehouses, {} products, {} orders in {url}", s.warehouses, s.products, s.orders);
        println!("API docs:     http://{addr}/api/docs");
        println!("try:          curl -H 'Authorization: Bearer {token}' http://{addr}/api/v1/orders?limit=5");
        println!("admin token:  {token}");
    }
    println!("listening on http://{addr}");
    codflow_web::serve(listener, app).await?;
    Ok(())
}

async fn import_orders(file: PathBuf, store: String, batch_size: usize, db: Db) -> Result<ExitCode> {
    let app = open(&db.url()).await?;
    let f = std::fs::File::open(&file).with_context(|| format!("cannot open {}", file.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let interactive = std::io::stderr().is_terminal();
    let bar = indicatif::ProgressBar::new(size);
    if interactive {
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut progress = |p: codflow_app::import::Progress| {
        bar.set_position(p.bytes_read);
        bar.set_message(format!("{} orders", p.orders_done));
        if !interactive {
            // One line per committed batch, for logs and for whoever watches the process.
            eprintln!("progress: {} orders, {} of {size} bytes", p.orders_done, p.bytes_read);
        }
    };
    let reader = std::io::BufReader::with_capacity(256 * 1024, f);
    let opts = ImportOptions { store, batch_size };
    let started = std::time::Instant::now();
    app.store.defer_checkpoints().await?;
    let result = app.import_orders(reader, &opts, Actor::Worker("cli-import".into()), &mut progress).await;
    app.store.checkpoint().await?;
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(codflow_app::Error::Invalid(e)) => {
            for f in e.0 {
                eprintln!("error: {}", f.message);
            }
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    let secs = started.elapsed().as_secs_f64();
    println!("orders in file:  {}", report.orders_in_file);
    println!(
        "created:         {} ({} allocated, {} backordered)",
        report.created, report.allocated, report.backordered
    );
    println!("already present: {}", report.already_present);
    println!("rejected:        {}", report.rejected);
    println!("elapsed:         {secs:.2} s ({:.0} orders/s)", report.orders_in_file as f64 / secs.max(1e-9));
    if let Some(kib) = peak_rss_kib(None) {
        println!("peak memory:     {:.1} MiB", kib as f64 / 1024.0);
    }
    for e in &report.errors {
        let order = e.external_id.as_deref().map(|x| format!(" (order {x})")).unwrap_or_default();
        let field = if e.field.is_empty() { String::new() } else { format!(", {}", e.field) };
        println!("line {}{field}{order}: {}", e.line, e.message);
    }
    Ok(if report.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve { db, listen, demo } => serve(db, listen, demo).await?,
        Command::Migrate { db } => {
            open(&db.url()).await?;
            println!("migrations applied to {}", db.url());
        }
        Command::Token { command: TokenCommand::Create { role, name, db } } => {
            let role = Role::parse(&role).map_err(|e| anyhow::anyhow!("{e}"))?;
            let app = open(&db.url()).await?;
            let (id, secret) = app.create_token(role, &name).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!("created token {id} ({role}, {name}); the secret below is shown only now:");
            println!("{secret}");
        }
        Command::Import { command: ImportCommand::Orders { file, store, batch_size, db } } => {
            return import_orders(file, store, batch_size, db).await;
        }
        Command::Bench { command } => bench::run(command).await?,
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CODFLOW_LOG").unwrap_or_else(|_| "warn,codflow=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
