//! `codflow bench reconcile`: a carrier's COD remittance of one line per parcel matched against as many
//! delivered COD shipments on SQLite, end to end (file read, lines parsed through the profile, the
//! carrier's shipments loaded, every line classified, lines, ledger entries, cash states and finance tasks
//! written in one transaction).

use std::io::Write;
use std::time::Instant;

use anyhow::{Result, anyhow, ensure};
use codflow_app::finance::ImportRequest;
use codflow_domain::Actor;
use codflow_domain::finance::reconcile::LineClass;
use codflow_domain::rating::ChannelSpec;
use codflow_store::testing::{TestDb, deliver_all};
use codflow_store::{Engine, commit};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use codflow_app::peak_rss_kib;

pub async fn reconcile(n: usize, cli: bool, preview: bool, keep: Option<std::path::PathBuf>) -> Result<()> {
    let db = TestDb::new(Engine::Sqlite).await;
    let now = OffsetDateTime::now_utc();
    let t = Instant::now();
    // A folder kept by an earlier run holds its seeded database and remittance: a rerun starts from copies of
    // them instead of seeding a million shipments again.
    let kept = keep.as_ref().map(|d| (d.join("seeded.db"), d.join("remittance.csv")));
    let (app, file) = match &kept {
        Some((seeded, file)) if seeded.exists() && file.exists() => {
            let path = db.url.strip_prefix("sqlite://").ok_or_else(|| anyhow!("not a SQLite url: {}", db.url))?;
            std::fs::copy(seeded, path)?;
            println!(
                "reusing the database and remittance kept in {}",
                keep.as_ref().map_or("", |d| d.to_str().unwrap_or(""))
            );
            (crate::open(&db.url).await?, file.clone())
        }
        _ => seed_with_file(&db, n, now, keep.as_deref()).await?,
    };
    let size = std::fs::metadata(&file)?.len();
    println!(
        "{n} delivered COD shipments and a {:.1} MiB remittance ready in {:.1} s",
        size as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    if cli {
        // The seeding process lets go of the database first, as a user's shell would not hold it.
        drop(app);
        let exe = crate::me()?;
        let started = Instant::now();
        let out = tokio::process::Command::new(exe)
            .args(["reconcile", &file.to_string_lossy(), "--profile", "sandbox-cod", "--database-url", &db.url])
            .args(preview.then_some("--preview"))
            .output()
            .await?;
        let secs = started.elapsed().as_secs_f64();
        if keep.is_none() {
            let _ = std::fs::remove_file(&file);
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        ensure!(out.status.success(), "codflow reconcile failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        let what = if preview { " --preview" } else { "" };
        println!("## `codflow reconcile{what}` as its own process, SQLite, against {n} delivered shipments");
        print!("{stdout}");
        println!("process wall time: {secs:.2} s");
        return Ok(());
    }
    app.clock().freeze(now);
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let body = std::fs::read(&file)?;
    let req =
        ImportRequest { file_name: "remittance.csv".into(), profile: "sandbox-cod".into(), carrier: None, preview };
    let report = app
        .finance()
        .import_statement_owned(body, req, Actor::Worker("bench".into()))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let secs = started.elapsed().as_secs_f64();
    if keep.is_none() {
        let _ = std::fs::remove_file(&file);
    }
    println!("## Reconciliation, SQLite, {} lines against {n} delivered shipments", report.lines);
    for c in &report.classes {
        println!("  {:<20} {:>9} lines", c.class.as_str(), c.lines);
    }
    let matched: i64 = report.classes.iter().filter(|c| c.class == LineClass::Matched).map(|c| c.lines).sum();
    ensure!(matched as usize >= n * 9 / 10, "only {matched} lines matched");
    println!("  missing past their cycle: {}, finance tasks: {}", report.missing_count, report.tasks_opened);
    println!("end to end: {secs:.2} s ({:.0} lines/s)", report.lines as f64 / secs.max(1e-9));
    println!("peak RSS during the import: {:.1} MiB", peak_rss_kib(None).unwrap_or(0) as f64 / 1024.0);
    Ok(())
}

/// Seeds `n` delivered COD shipments and writes the carrier's remittance for them; with `keep`, the shipments
/// as an analyst would export them and a copy of the seeded database are left beside the remittance.
async fn seed_with_file(
    db: &TestDb,
    n: usize,
    now: OffsetDateTime,
    keep: Option<&std::path::Path>,
) -> Result<(codflow_app::App, std::path::PathBuf)> {
    let app = crate::tracking::seed(&db.url, n, now - Duration::days(30)).await?;
    let ch: ChannelSpec = serde_json::from_value(json!({
        "code": "SBX-SA-STD", "name": "Sandbox Saudi", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true}, "settlement_cycle_days": 7,
        "rate_card": {"currency": "SAR", "cod_fee": {"pct": "2"}, "zones": [{"name": "sa", "countries": ["SA"],
            "transit_days": 3, "bands": [{"from_g": 0, "to_g": 30000, "price": "20.00"}]}]}
    }))?;
    app.fulfilment().put_channels(&[ch], Actor::Worker("bench".into())).await.map_err(|e| anyhow!("{e}"))?;
    // Every parcel delivered three days after booking, its cash expected.
    let mut tx = app.store.begin().await?;
    let rows = deliver_all(&mut tx).await?;
    commit(tx).await?;
    app.store.checkpoint().await?;
    ensure!(rows.len() == n, "{} of {n} shipments tracked", rows.len());
    // The carrier's file: 97% paid right, 1% short by 5.00, 1% paid twice, 0.5% not ours, 0.5% left out.
    let file = match keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join("shipments.csv"))?);
            codflow_store::testing::export_cod_shipments(&mut *app.store.read().await?, &mut w).await?;
            w.flush()?;
            dir.join("remittance.csv")
        }
        None => std::env::temp_dir().join(format!("codflow-remittance-{}.csv", codflow_domain::ids::new_id_body())),
    };
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        writeln!(w, "remittance_ref,tracking_number,reference,collected_at,cod_amount,currency,cod_fee,net_amount")?;
        let money = |m: i64| format!("{}.{:02}", m / 100, m % 100);
        for (i, (tn, cod)) in rows.iter().enumerate() {
            let (tn, cod) = (tn.clone(), *cod);
            let (tn, reference, amount, times) = match i % 200 {
                0 | 1 => (tn, i.to_string(), cod - 500, 1),
                2 | 3 => (tn, i.to_string(), cod, 2),
                4 => (format!("XX{i}"), format!("X{i}"), cod, 1),
                5 => continue,
                _ => (tn, i.to_string(), cod, 1),
            };
            let fee = (amount * 200 + 5_000) / 10_000;
            for _ in 0..times {
                writeln!(
                    w,
                    "SBR-W48,{tn},{reference},2026-11-20T10:00:00Z,{},SAR,{},{}",
                    money(amount),
                    money(fee),
                    money(amount - fee)
                )?;
            }
        }
    }
    if let Some(dir) = keep {
        // Checkpointed above and only read since: the file alone is the whole database.
        let path = db.url.strip_prefix("sqlite://").ok_or_else(|| anyhow!("not a SQLite url: {}", db.url))?;
        std::fs::copy(path, dir.join("seeded.db"))?;
    }
    Ok((app, file))
}
