//! The `codflow` binary (API.md "CLI").

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod demo;
mod finance;
mod logistics;
mod scale_bridge;
mod seed;
mod simulate;
mod simulate_lanes;
mod simulate_shops;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use codflow_app::App;
use codflow_app::import::ImportOptions;
use codflow_domain::{Actor, Role};
use codflow_store::Store;

use args::{Cli, Command, Db, ImportCommand, RulesCommand, ServeArgs, TokenCommand, UserCommand};

/// The database at `url`, migrated.
async fn connect(url: &str) -> Result<Store> {
    let store = Store::connect(url).await.with_context(|| format!("cannot open the database {url}"))?;
    store.migrate().await.context("migrations failed")?;
    Ok(store)
}

/// An application over the database at `url` with no carriers, key or senders (one-shot commands).
async fn open(url: &str) -> Result<App> {
    Ok(App::new(connect(url).await?))
}

/// A progress bar on a terminal, nothing otherwise (logs and CI stay clean).
pub fn progress_bar(len: u64, template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if std::io::stderr().is_terminal() {
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

fn parse_rfc3339(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

async fn serve(args: ServeArgs) -> Result<()> {
    let ServeArgs {
        db,
        listen,
        demo: demo_args,
        senders: sender_args,
        carriers: carrier_args,
        secrets,
        no_shop_sync,
        metrics,
    } = args;
    let demo_args = &demo_args;
    let shop_sync = !no_shop_sync;
    let demo = demo_args.demo;
    let url = if demo && db.database_url.is_none() {
        for f in ["codflow-demo.db", "codflow-demo.db-wal", "codflow-demo.db-shm"] {
            let _ = std::fs::remove_file(f);
        }
        "sqlite://codflow-demo.db".to_owned()
    } else {
        db.url()
    };
    let store = connect(&url).await?;
    if !store.statistics_kept().await? {
        eprintln!(
            "warning: PostgreSQL's autovacuum is off, so no table statistics are gathered and lookups slow down as \
             tables grow; turn it on (autovacuum = on) or run ANALYZE regularly"
        );
    }
    let sealer = match secrets.sealer(&url)? {
        Some(k) => Some(k),
        // The demo's shops have webhook secrets; a key for this run seals them.
        None if demo => Some(
            codflow_app::shops::Sealer::from_hex(&codflow_app::shops::Sealer::generate_hex()).expect("a fresh key"),
        ),
        None => {
            eprintln!(
                "warning: no secret key (CODFLOW_SECRET_KEY or --secret-key-file): shops with credentials cannot be saved"
            );
            None
        }
    };
    let listener =
        tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let public_url = public_url(carrier_args.public_url.as_deref(), addr)?;
    codflow_app::documents::set_public_url_default(&public_url);
    let mut sender_args = sender_args;
    // The demo delivers its buyer messages to receivers of its own, so the outbox really sends.
    let _sinks = if demo && sender_args.smtp_url.is_none() && sender_args.sms_url.is_none() {
        let mail = codflow_connectors::sink::SmtpSink::start().await?;
        let sms = codflow_connectors::sink::HttpSink::start().await?;
        sender_args.smtp_url = Some(mail.url());
        sender_args.sms_url = Some(sms.url("/2010-04-01/Accounts/ACdemo/Messages.json"));
        println!("demo mail:    {} (local SMTP receiver)", mail.url());
        println!("demo SMS:     {} (local SMS receiver)", sms.url("/"));
        Some((mail, sms))
    } else {
        None
    };
    let mut carrier_args = carrier_args;
    // The demo books against a sandbox carrier process of its own, whose clock starts where the demo's past
    // does and runs a day per second until the past has been lived.
    let demo_carrier = if demo {
        anyhow::ensure!(
            carrier_args.sandbox_carrier_url.is_none(),
            "--demo starts a sandbox carrier of its own; leave out --sandbox-carrier-url"
        );
        let (sandbox, d) = demo::DemoCarrier::start(demo_args).await.context("starting the demo's carrier failed")?;
        carrier_args.sandbox_carrier_url = Some(sandbox.url.clone());
        println!("demo carrier: {} (sandbox carrier process)", sandbox.url);
        if carrier_args.sandbox_webhook_secret.is_none() {
            carrier_args.sandbox_webhook_secret = Some(format!("demo-{}", codflow_domain::TaskId::generate()));
        }
        Some((sandbox, d))
    } else {
        None
    };
    let carriers = carrier_args.carriers()?;
    if let (Some(codflow_connectors::carriers::Carrier::Sandbox(sb)), Some(secret)) =
        (&carriers.sandbox, &carriers.sandbox_webhook_secret)
    {
        let base = carrier_args.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        let hook = format!("{}/api/v1/webhooks/carriers/sandbox", base.trim_end_matches('/'));
        match sb.register_webhook(&hook, secret).await {
            Ok(()) => println!("tracking:     sandbox carrier pushes events to {hook}"),
            Err(e) => {
                eprintln!("warning: could not register the sandbox webhook ({e}); tracking falls back to polling")
            }
        }
    }
    let mut builder = App::builder(store).carriers(carriers).secret_key(sealer).senders(sender_args.senders()?);
    if let Some((_, d)) = &demo_carrier {
        builder = builder.clock(d.clock());
    }
    let app = builder.build();
    let demo_run = match demo_carrier {
        Some((sandbox, d)) => Some((sandbox, d.prepare(&app, demo_args).await.context("starting the demo failed")?)),
        None => None,
    };
    app.channels().start_channel_pusher();
    if shop_sync {
        app.channels().start_channel_sync(codflow_app::channel_sync::SyncSchedule {
            first_pull_after: std::time::Duration::from_secs(30),
            pull_every: std::time::Duration::from_secs(300),
            stock_every: std::time::Duration::from_secs(60),
        });
    }
    app.tracking().start_dispatcher();
    app.fulfilment().start_booking_worker();
    app.tracking().start_tracking_worker();
    app.insights().start_kpi_refresher();
    app.floor().start_floor_sweeper();
    // The demo's carrier process lives as long as the server; its past runs beside it.
    let (_demo_carrier, demo) = demo_run.unzip();
    if let Some(demo) = demo {
        let base = format!("http://{addr}");
        let demo_app = app.clone();
        println!(
            "demo:         living the last {} days at a day per second, {} orders a day (dashboards fill as it goes)",
            demo_args.demo_days, demo_args.demo_orders_per_day
        );
        tokio::spawn(async move {
            if let Err(e) = demo.run(&demo_app, base).await {
                eprintln!("warning: the demo's simulated past stopped: {e:#}");
            }
        });
        let (_, token) = app.admin().create_token(Role::Admin, "demo admin").await?;
        // A console login for the demo; the password is as random as the token and shown only here.
        let password = codflow_app::users::random_hex(10)?;
        app.admin().create_user("admin", &password, Role::Admin, Actor::Worker("demo".into())).await?;
        println!("console:      http://{addr}/ (user admin, password {password})");
        println!("codflow demo: {url}");
        println!("API docs:     http://{addr}/api/docs");
        println!("try:          curl -H 'Authorization: Bearer {token}' http://{addr}/api/v1/orders?limit=5");
        println!("admin token:  {token}");
    }
    let edge = codflow_web::Edge { public_url: Some(public_url), metrics_token: metrics.metrics_token };
    let metrics_listener = match metrics.metrics_listen {
        Some(at) => {
            let l = tokio::net::TcpListener::bind(&at).await.with_context(|| format!("cannot listen on {at}"))?;
            println!("metrics on:   http://{}/metrics (no token needed there)", l.local_addr()?);
            Some(l)
        }
        None => None,
    };
    println!("listening on http://{addr}");
    let workers = app.clone();
    // On SIGTERM or Ctrl-C the listener stops accepting and in-flight requests finish; then the workers finish
    // the round they are in (a booking at the carrier is recorded) and the database is closed.
    codflow_web::serve_with(listener, app, edge, metrics_listener).await?;
    println!("stopping:     requests done; letting the workers finish their round");
    let left = workers.shutdown(SHUTDOWN_DEADLINE).await;
    if left.is_empty() {
        println!("stopped");
    } else {
        eprintln!("warning: stopped with workers cut off at the deadline: {}", left.join(", "));
    }
    Ok(())
}

/// How long a stopping server waits for its workers' rounds (a carrier call is bounded by its own timeout).
const SHUTDOWN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// The address buyers and carriers reach this server at: `--public-url`, or the listen address. Refused
/// when it is not an http(s) address; a warning when nobody outside this machine can reach it.
fn public_url(given: Option<&str>, addr: std::net::SocketAddr) -> Result<String> {
    let url = given.map(|u| u.trim().trim_end_matches('/').to_owned()).unwrap_or_else(|| format!("http://{addr}"));
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest.filter(|r| !r.is_empty()) else {
        anyhow::bail!("--public-url {url:?} must be an http:// or https:// address");
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').filter(|(h, p)| !h.ends_with(']') || !p.is_empty()).map_or(host, |(h, _)| h);
    let local = ["localhost", "127.", "[::1]", "0.0.0.0", "[::]", "::1"].iter().any(|l| host.starts_with(l));
    if local {
        eprintln!(
            "warning: tracking links, label QR codes and buyer messages point at {url}, which nobody outside this \
             machine can reach; set --public-url (CODFLOW_PUBLIC_URL) to the address buyers and carriers use"
        );
    }
    Ok(url)
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
    app.store.defer_checkpoints();
    // The import appends; a 16 MiB page cache keeps its pace and its peak memory well under 200 MB.
    app.store.set_writer_cache_kib(16_384).await?;
    let result = app.intake().import_orders(reader, &opts, Actor::Worker("cli-import".into()), &mut progress).await;
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
    if let Some(kib) = codflow_app::peak_rss_kib(None) {
        println!("peak memory:     {:.1} MiB", kib as f64 / 1024.0);
    }
    for e in &report.errors {
        let order = e.external_id.as_deref().map(|x| format!(" (order {x})")).unwrap_or_default();
        let field = if e.field.is_empty() { String::new() } else { format!(", {}", e.field) };
        println!("line {}{field}{order}: {}", e.line, e.message);
    }
    Ok(if report.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

async fn rules(command: RulesCommand) -> Result<ExitCode> {
    let fail = |e: codflow_app::Error| -> Result<ExitCode> {
        match e {
            codflow_app::Error::Invalid(f) => {
                for e in f.0 {
                    eprintln!("error: {}: {}", e.path, e.message);
                }
                Ok(ExitCode::from(1))
            }
            other => Err(anyhow::anyhow!("{other}")),
        }
    };
    let read_file = |path: &PathBuf| -> Result<codflow_app::rules::RulesFile> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let de = &mut serde_json::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| anyhow::anyhow!("{}: {} at {}", path.display(), e.inner(), e.path()))
    };
    match command {
        RulesCommand::Export { output, db } => {
            let app = open(&db.url()).await?;
            let file = app.review().export_rules().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let json = serde_json::to_string_pretty(&file)?;
            match output {
                Some(p) => {
                    std::fs::write(&p, json + "\n").with_context(|| format!("cannot write {}", p.display()))?;
                    eprintln!(
                        "wrote {} rules (ruleset version {}) to {}",
                        file.rules.len(),
                        file.version.unwrap_or(0),
                        p.display()
                    );
                }
                None => println!("{json}"),
            }
        }
        RulesCommand::Import { file, db } => {
            let rules = read_file(&file)?;
            let app = open(&db.url()).await?;
            let n = rules.rules.len();
            match app.review().import_rules(rules, Actor::Worker("cli".into())).await {
                Ok(v) => println!("imported {n} rules as ruleset version {v}"),
                Err(e) => return fail(e),
            }
        }
        RulesCommand::Backtest { ruleset, since, refusal_cost, margin_percent, db } => {
            let rules = ruleset.as_ref().map(read_file).transpose()?.map(|f| f.rules);
            let app = open(&db.url()).await?;
            let base = app.review().base_currency().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let cost = refusal_cost.map(|amount| codflow_web::dto::MoneyDto { amount, currency: base.to_string() });
            let (since, economics) = match codflow_web::routes::review::backtest_terms(
                since.as_deref(),
                cost,
                margin_percent.as_deref(),
                base,
            ) {
                Ok(t) => t,
                Err(codflow_web::ApiError::Invalid(f)) => return fail(codflow_app::Error::Invalid(f)),
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            };
            let bar = indicatif::ProgressBar::new(0);
            if std::io::stderr().is_terminal() {
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} orders read")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
            } else {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let report = match app
                .review()
                .backtest(rules, since, economics, |done, total| {
                    bar.set_length(total);
                    bar.set_position(done);
                })
                .await
            {
                Ok(r) => r,
                Err(e) => return fail(e),
            };
            bar.finish_and_clear();
            print_report(&report, base);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &codflow_domain::review::backtest::Report, base: codflow_domain::Currency) {
    let money = |m: i64| codflow_domain::Money::new(m, base).to_string();
    println!("orders replayed: {} ({} delivered, {} refused)", r.orders_replayed, r.delivered, r.refused);
    println!(
        "{:<10} {:>8} {:>9} {:>8} {:>18} {:>22} {:>16}",
        "action", "orders", "delivered", "refused", "refusals avoided", "revenue forgone", "net effect"
    );
    for a in &r.actions {
        println!(
            "{:<10} {:>8} {:>9} {:>8} {:>18} {:>22} {:>16}",
            a.action,
            a.orders,
            a.delivered,
            a.refused,
            a.refusals_avoided,
            money(a.delivered_revenue_forgone_minor),
            money(a.net_effect_minor)
        );
    }
    println!("net effect on profit: {}", money(r.net_effect_minor));
    if r.without_base_value > 0 {
        println!(
            "note: {} delivered orders had no exchange rate to {base} and are left out of revenue",
            r.without_base_value
        );
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve(*args).await?,
        Command::SandboxCarrier { listen, seed, time_scale, model, api_key, exit_with_stdin, start } => {
            if exit_with_stdin {
                tokio::spawn(async {
                    let mut sink = tokio::io::sink();
                    let _ = tokio::io::copy(&mut tokio::io::stdin(), &mut sink).await;
                    std::process::exit(0);
                });
            }
            logistics::sandbox_carrier(listen, seed, time_scale, model, api_key, start).await?
        }
        Command::Quote { args, db } => return logistics::quote(&open(&db.url()).await?, args).await,
        Command::Book { orders, all, carriers, db } => {
            let app = App::builder(connect(&db.url()).await?).carriers(carriers.carriers()?).build();
            return logistics::book(&app, orders, all).await;
        }
        Command::Rules { command } => return rules(command).await,
        Command::Migrate { db } => {
            open(&db.url()).await?;
            println!("migrations applied to {}", db.url());
        }
        Command::Token { command: TokenCommand::Create { role, name, db } } => {
            let role = Role::parse(&role).map_err(|e| anyhow::anyhow!("{e}"))?;
            let app = open(&db.url()).await?;
            let (id, secret) = app.admin().create_token(role, &name).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!("created token {id} ({role}, {name}); the secret below is shown only now:");
            println!("{secret}");
        }
        Command::Token { command: TokenCommand::List { db } } => {
            let app = open(&db.url()).await?;
            for t in app.admin().tokens().await.map_err(|e| anyhow::anyhow!("{e}"))? {
                let revoked = t.revoked_at.map_or_else(|| "live".to_owned(), |r| format!("revoked {r}"));
                println!("{}\t{}\t{}\t{}\t{revoked}", t.id, t.role, t.name, t.created_at);
            }
        }
        Command::Token { command: TokenCommand::Revoke { id, db } } => {
            let id = codflow_domain::TokenId::parse(&id).map_err(|e| anyhow::anyhow!("{e}"))?;
            let app = open(&db.url()).await?;
            match app.admin().revoke_token(&id, Actor::Worker("cli".into())).await {
                Ok(()) => println!("revoked token {id}"),
                Err(codflow_app::Error::NotFound(_)) => {
                    eprintln!("error: no live token {id}");
                    return Ok(ExitCode::from(1));
                }
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            }
        }
        Command::User { command: c @ (UserCommand::Disable { .. } | UserCommand::Enable { .. }) } => {
            let (username, db, disabled) = match c {
                UserCommand::Disable { username, db } => (username, db, true),
                UserCommand::Enable { username, db } | UserCommand::Create { username, db, .. } => {
                    (username, db, false)
                }
            };
            let app = open(&db.url()).await?;
            match app.admin().set_user_disabled(&username, disabled, Actor::Worker("cli".into())).await {
                Ok(_) => println!("{} user {username}", if disabled { "disabled" } else { "enabled" }),
                Err(codflow_app::Error::NotFound(_)) => {
                    eprintln!("error: no user {username}");
                    return Ok(ExitCode::from(1));
                }
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            }
        }
        Command::User { command: UserCommand::Create { username, role, db } } => {
            let role = Role::parse(&role).map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut password = String::new();
            std::io::stdin().read_line(&mut password).context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let app = open(&db.url()).await?;
            match app.admin().create_user(&username, password, role, Actor::Worker("cli".into())).await {
                Ok(id) => println!("created user {username} ({role}), {id}"),
                Err(codflow_app::Error::Invalid(e)) => {
                    for f in e.0 {
                        eprintln!("error: {}: {}", f.path, f.message);
                    }
                    return Ok(ExitCode::from(1));
                }
                Err(codflow_app::Error::Conflict { message, .. }) => {
                    eprintln!("error: {message}");
                    return Ok(ExitCode::from(1));
                }
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            }
        }
        Command::Import { command: ImportCommand::Orders { file, store, batch_size, db } } => {
            return import_orders(file, store, batch_size, db).await;
        }
        Command::Import { command: ImportCommand::FxRates { file, db } } => {
            return finance::import_fx_rates(file, db).await;
        }
        Command::Reconcile(args) => return finance::reconcile(args).await,
        Command::Profiles { command } => return finance::profiles(command).await,
        Command::ScaleBridge(a) => scale_bridge::run(a).await?,
        Command::Simulate { days, orders_per_day, seed, seconds_per_day, carrier_lanes, db } => {
            if !(0.05..=3600.0).contains(&seconds_per_day) || days == 0 || orders_per_day == 0 {
                anyhow::bail!("--days and --orders-per-day must be above 0, --seconds-per-day between 0.05 and 3600");
            }
            let plan = simulate::Plan { days, per_day: orders_per_day, seed, seconds_per_day, carrier_lanes };
            let s = simulate::simulate(&db.url(), plan).await?;
            println!(
                "simulated:    {days} days, {} orders ({} booked) in {:.1} s: {:.0} simulated orders/s",
                s.orders,
                s.booked,
                s.seconds,
                s.orders as f64 / s.seconds
            );
        }
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
