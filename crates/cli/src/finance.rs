//! `codflow reconcile`: a settlement file matched against the shipments, with a summary table.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use codflow_app::finance::{ImportRequest, StatementReport};
use codflow_domain::Actor;
use codflow_domain::money::Money;

use crate::Db;

#[derive(clap::Args)]
pub struct ReconcileArgs {
    /// A CSV statement: a carrier's COD remittance or a payment platform's payout.
    file: PathBuf,
    /// The mapping profile (built in: sandbox-cod, generic-cod, generic-payout; or one of yours).
    #[arg(long)]
    profile: String,
    /// The carrier a remittance comes from (implied by the sandbox profiles).
    #[arg(long)]
    carrier: Option<String>,
    /// Show what would match without recording anything.
    #[arg(long)]
    preview: bool,
    #[command(flatten)]
    db: Db,
}

pub async fn reconcile(args: ReconcileArgs) -> Result<ExitCode> {
    let app = crate::open(&args.db.url()).await?;
    let body = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let bar = indicatif::ProgressBar::new_spinner();
    if std::io::stderr().is_terminal() {
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar.set_message(format!("reconciling {} ({} bytes)", args.file.display(), body.len()));
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = std::time::Instant::now();
    let req = ImportRequest {
        file_name: args.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        profile: args.profile,
        carrier: args.carrier,
        preview: args.preview,
    };
    let result = app.finance().import_statement_owned(body, req, Actor::Worker("cli-reconcile".into())).await;
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(codflow_app::Error::Invalid(e)) => {
            for f in e.0 {
                eprintln!("error: {}: {}", f.path, f.message);
            }
            return Ok(ExitCode::from(1));
        }
        Err(codflow_app::Error::NotFound(what)) => {
            eprintln!("error: {what} not found");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    };
    print!("{}", summary(&report));
    println!("elapsed: {:.2} s", started.elapsed().as_secs_f64());
    if let Some(kib) = codflow_app::peak_rss_kib(None) {
        println!("peak memory: {:.1} MiB", kib as f64 / 1024.0);
    }
    Ok(ExitCode::SUCCESS)
}

/// The report as a person reads it at a terminal.
pub fn summary(r: &StatementReport) -> String {
    let mut out = String::new();
    let head = match (&r.statement, r.already_imported) {
        (Some(s), true) => {
            format!("statement {} was imported before ({}); nothing changed", s.id, s.imported_at.date())
        }
        (Some(s), false) => format!("statement {} recorded", s.id),
        (None, _) => "preview: nothing recorded".to_owned(),
    };
    out.push_str(&format!(
        "{head}\n{} {} · profile {}",
        r.kind.as_str(),
        r.carrier.as_deref().unwrap_or("-"),
        r.profile
    ));
    out.push_str(&format!(" · {} lines read, {} refused", r.lines, r.error_count));
    if let Some(n) = r.skipped.filter(|n| *n > 0) {
        out.push_str(&format!(", {n} left out by the profile"));
    }
    out.push_str("\n\n");
    out.push_str(&format!("{:<20} {:>8} {:>10} {:>18}\n", "class", "currency", "lines", "amount"));
    for c in &r.classes {
        let amount = Money::new(c.amount_minor, c.currency).amount_string();
        out.push_str(&format!("{:<20} {:>8} {:>10} {:>18}\n", c.class.as_str(), c.currency.code(), c.lines, amount));
    }
    if !r.discrepancies.is_empty() {
        out.push_str("\ndifferences (first ones):\n");
        for d in r.discrepancies.iter().take(20) {
            let diff = d.difference.map(|m| format!(" ({})", m)).unwrap_or_default();
            let ship = d.shipment.as_ref().map_or("-".to_owned(), |s| s.to_string());
            out.push_str(&format!("  line {:>7}  {:<20} {}{diff}\n", d.line, d.class.as_str(), ship));
        }
    }
    if r.missing_count > 0 {
        out.push_str(&format!("\ndelivered and missing past their cycle: {}\n", r.missing_count));
        for (s, m, due) in r.missing.iter().take(10) {
            out.push_str(&format!("  {s}  {m}  due {due}\n"));
        }
    }
    if !r.errors.is_empty() {
        out.push_str("\nrefused lines (first ones):\n");
        for e in r.errors.iter().take(20) {
            out.push_str(&format!("  line {:>7}  {}: {}\n", e.line, e.field, e.message));
        }
    }
    if r.tasks_opened > 0 {
        out.push_str(&format!("\nfinance tasks opened: {}\n", r.tasks_opened));
    }
    out
}

pub async fn import_fx_rates(file: PathBuf, db: Db) -> Result<ExitCode> {
    let app = crate::open(&db.url()).await?;
    let body = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    match app.finance().import_fx_rates(&body, &name, Actor::Worker("cli-import".into())).await {
        Ok(r) => {
            for e in &r.errors {
                eprintln!("line {}: {}: {}", e.line, e.field, e.message);
            }
            println!("{} rates imported, {} lines refused", r.imported, r.errors.len());
            Ok(if r.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        Err(codflow_app::Error::Invalid(e)) => {
            for f in e.0 {
                eprintln!("error: {}: {}", f.path, f.message);
            }
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(clap::Subcommand)]
pub enum ProfilesCommand {
    /// List the settlement profiles, built-in ones first.
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Print a profile as JSON (the shape `put` reads back).
    Show {
        name: String,
        #[command(flatten)]
        db: Db,
    },
    /// Add or replace one of your profiles from a JSON file (its `name` inside; `--name` overrides it).
    Put {
        file: PathBuf,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        db: Db,
    },
    /// Delete one of your profiles (built-in ones stay).
    Delete {
        name: String,
        #[command(flatten)]
        db: Db,
    },
}

fn refused(e: codflow_app::Error) -> Result<ExitCode> {
    match e {
        codflow_app::Error::Invalid(e) => {
            for f in e.0 {
                eprintln!("error: {}: {}", f.path, f.message);
            }
            Ok(ExitCode::from(1))
        }
        codflow_app::Error::NotFound(what) => {
            eprintln!("error: {what} not found");
            Ok(ExitCode::from(1))
        }
        codflow_app::Error::Conflict { message, .. } => {
            eprintln!("error: {message}");
            Ok(ExitCode::from(1))
        }
        e => Err(anyhow::anyhow!("{e}")),
    }
}

pub async fn profiles(command: ProfilesCommand) -> Result<ExitCode> {
    let worker = || Actor::Worker("cli-profiles".into());
    match command {
        ProfilesCommand::List { db } => {
            let app = crate::open(&db.url()).await?;
            let all = match app.finance().settlement_profiles().await {
                Ok(p) => p,
                Err(e) => return refused(e),
            };
            println!("{:<24} {:<16} {:<8} columns", "name", "kind", "builtin");
            for (p, builtin) in all {
                let cols: Vec<&str> = p.columns.values().map(String::as_str).collect();
                println!("{:<24} {:<16} {:<8} {}", p.name, p.kind.as_str(), builtin, cols.join(", "));
            }
        }
        ProfilesCommand::Show { name, db } => {
            let app = crate::open(&db.url()).await?;
            match app.finance().settlement_profile(&name).await {
                Ok((p, _)) => println!("{}", serde_json::to_string_pretty(&p)?),
                Err(e) => return refused(e),
            }
        }
        ProfilesCommand::Put { file, name, db } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let mut v: serde_json::Value = match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("error: {} line {} column {}: {e}", file.display(), e.line(), e.column());
                    return Ok(ExitCode::from(1));
                }
            };
            if let (Some(o), Some(n)) = (v.as_object_mut(), name) {
                o.insert("name".into(), serde_json::Value::String(n));
            }
            let p: codflow_domain::finance::statement::Profile = match serde_path_to_error::deserialize(v) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {}: {}", e.path(), e.inner());
                    return Ok(ExitCode::from(1));
                }
            };
            let app = crate::open(&db.url()).await?;
            let name = p.name.clone();
            match app.finance().put_settlement_profile(p, worker()).await {
                Ok(created) => println!("profile {name} {}", if created { "created" } else { "replaced" }),
                Err(e) => return refused(e),
            }
        }
        ProfilesCommand::Delete { name, db } => {
            let app = crate::open(&db.url()).await?;
            match app.finance().delete_settlement_profile(&name, worker()).await {
                Ok(()) => println!("profile {name} deleted"),
                Err(e) => return refused(e),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
