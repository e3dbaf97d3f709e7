//! `codflow sandbox-carrier`, `codflow quote`, `codflow book`, and the carrier settings of `serve`.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use codflow_app::App;
use codflow_app::booking::{BookOutcome, BookingStatus, Carriers};
use codflow_app::logistics::{ContentsInput, DestinationInput, ItemInput, ParcelInput, QuoteInput};
use codflow_connectors::carriers::aramex::AramexAccount;
use codflow_connectors::carriers::{Aramex, Carrier, Sandbox};
use codflow_domain::Actor;
use codflow_domain::rating::MoneySpec;

/// Where carriers are reached. Without them bookings wait in the queue; `--demo` starts a sandbox carrier.
#[derive(clap::Args, Clone, Default)]
pub struct CarrierArgs {
    /// Base URL of a sandbox carrier (`codflow sandbox-carrier`).
    #[arg(long, env = "CODFLOW_SANDBOX_CARRIER_URL")]
    pub sandbox_carrier_url: Option<String>,
    #[arg(long, env = "CODFLOW_SANDBOX_CARRIER_KEY", hide_env_values = true)]
    pub sandbox_carrier_key: Option<String>,
    /// Aramex services base, e.g. https://ws.aramex.net/ShippingAPI.V2
    #[arg(long, env = "CODFLOW_ARAMEX_URL")]
    pub aramex_url: Option<String>,
    /// user:password:account_number:account_pin:account_entity:account_country_code
    #[arg(long, env = "CODFLOW_ARAMEX_ACCOUNT", hide_env_values = true)]
    pub aramex_account: Option<String>,
    /// The secret the sandbox carrier signs event pushes with; with it, `serve` registers its webhook.
    #[arg(long, env = "CODFLOW_SANDBOX_WEBHOOK_SECRET", hide_env_values = true)]
    pub sandbox_webhook_secret: Option<String>,
    /// The address carriers reach this server at (for webhook registration); default http://LISTEN.
    #[arg(long, env = "CODFLOW_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds to wait for a carrier's answer.
    #[arg(long, env = "CODFLOW_CARRIER_TIMEOUT", default_value_t = 10)]
    pub carrier_timeout: u64,
}

impl CarrierArgs {
    pub fn carriers(&self) -> Result<Carriers> {
        let t = Duration::from_secs(self.carrier_timeout.max(1));
        let sandbox = match &self.sandbox_carrier_url {
            Some(u) => Some(Carrier::Sandbox(Sandbox::new(u, self.sandbox_carrier_key.clone(), t)?)),
            None => None,
        };
        let aramex = match (&self.aramex_url, &self.aramex_account) {
            (Some(u), Some(a)) => {
                let p: Vec<&str> = a.split(':').collect();
                let [user_name, password, account_number, account_pin, account_entity, account_country_code] = p[..]
                else {
                    bail!("--aramex-account is user:password:number:pin:entity:country");
                };
                let account = AramexAccount {
                    user_name: user_name.into(),
                    password: password.into(),
                    account_number: account_number.into(),
                    account_pin: account_pin.into(),
                    account_entity: account_entity.into(),
                    account_country_code: account_country_code.into(),
                    // The command line names no pickup point; an account made in the console can.
                    pickup: Default::default(),
                };
                Some(Carrier::Aramex(Aramex::new(u, account, t)?))
            }
            (Some(_), None) | (None, Some(_)) => bail!("give both --aramex-url and --aramex-account"),
            (None, None) => None,
        };
        Ok(Carriers {
            sandbox,
            aramex,
            sandbox_webhook_secret: self.sandbox_webhook_secret.clone(),
            ..Default::default()
        })
    }
}

pub use codflow_sandbox_carrier::process::SandboxProcess;

/// A sandbox carrier process (this program's `sandbox-carrier` command) whose clock starts at `start` (now
/// when None) and runs `time_scale` times faster than real time.
pub async fn spawn_sandbox_from(
    time_scale: f64,
    model: Option<serde_json::Value>,
    seed: u64,
    start: Option<time::OffsetDateTime>,
) -> Result<SandboxProcess> {
    let exe = std::env::current_exe().context("cannot find this program to start the sandbox carrier")?;
    Ok(SandboxProcess::spawn(&exe, time_scale, model, seed, start).await?)
}

pub async fn sandbox_carrier(
    listen: SocketAddr,
    seed: u64,
    time_scale: f64,
    model: Option<PathBuf>,
    api_key: Option<String>,
    start: Option<time::OffsetDateTime>,
) -> Result<()> {
    let model = match model {
        Some(p) => {
            let text = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not a sandbox model", p.display()))?
        }
        None => Default::default(),
    };
    let config = codflow_sandbox_carrier::Config { seed, model, time_scale, api_key, start, ..Default::default() };
    codflow_sandbox_carrier::serve(listen, config).await?;
    Ok(())
}

#[derive(clap::Args)]
pub struct QuoteArgs {
    /// A quote request as JSON (the body of POST /api/v1/rates); the flags below build one otherwise.
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long)]
    pub country: Option<String>,
    #[arg(long)]
    pub region: Option<String>,
    #[arg(long)]
    pub city: Option<String>,
    #[arg(long)]
    pub postal_code: Option<String>,
    #[arg(long)]
    pub weight_g: Option<i64>,
    /// LxWxH in cm, e.g. 30x20x10
    #[arg(long)]
    pub dims: Option<String>,
    /// Goods value, e.g. 199.00
    #[arg(long)]
    pub value: Option<String>,
    #[arg(long)]
    pub currency: Option<String>,
    /// Cash to collect at the door, in --currency.
    #[arg(long)]
    pub cod: Option<String>,
    #[arg(long)]
    pub incoterm: Option<String>,
    #[arg(long)]
    pub hs_code: Option<String>,
    #[arg(long)]
    pub batteries: bool,
    #[arg(long)]
    pub strategy: Option<String>,
    /// Print the full result as JSON instead of a table.
    #[arg(long)]
    pub as_json: bool,
}

impl QuoteArgs {
    fn input(&self) -> Result<QuoteInput> {
        if let Some(p) = &self.json {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            return serde_json::from_str(&text).with_context(|| format!("{} is not a quote request", p.display()));
        }
        let need =
            |v: &Option<String>, flag: &str| v.clone().with_context(|| format!("give --{flag} (or --json FILE)"));
        let currency = need(&self.currency, "currency")?;
        let (l, w, h) = match &self.dims {
            Some(d) => {
                let p: Vec<i64> = d
                    .split('x')
                    .map(|x| x.trim().parse())
                    .collect::<Result<_, _>>()
                    .context("--dims is LxWxH in cm")?;
                let [l, w, h] = p[..] else { bail!("--dims is LxWxH in cm") };
                (Some(l), Some(w), Some(h))
            }
            None => (None, None, None),
        };
        let value = need(&self.value, "value")?;
        Ok(QuoteInput {
            destination: DestinationInput {
                country: need(&self.country, "country")?,
                region: self.region.clone(),
                city: self.city.clone(),
                postal_code: self.postal_code.clone(),
            },
            parcels: vec![ParcelInput {
                weight_g: self.weight_g.context("give --weight-g")?,
                length_cm: l,
                width_cm: w,
                height_cm: h,
            }],
            items: self
                .hs_code
                .iter()
                .map(|h| ItemInput {
                    hs_code: Some(h.clone()),
                    value: MoneySpec { amount: value.clone(), currency: currency.clone() },
                })
                .collect(),
            goods_value: MoneySpec { amount: value.clone(), currency: currency.clone() },
            cod_amount: self.cod.clone().map(|a| MoneySpec { amount: a, currency: currency.clone() }),
            incoterm: self.incoterm.clone(),
            contents: Some(ContentsInput { batteries: self.batteries, liquids: false }),
            date: None,
            strategy: self.strategy.clone(),
        })
    }
}

pub async fn quote(app: &App, args: QuoteArgs) -> Result<ExitCode> {
    let input = args.input()?;
    let r = match app.fulfilment().quote(&input).await {
        Ok(r) => r,
        Err(codflow_app::Error::Invalid(e)) => {
            for f in e.0 {
                eprintln!("{}: {}", f.path, f.message);
            }
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    if args.as_json {
        let rows: Vec<serde_json::Value> = r
            .ranking
            .ranked
            .iter()
            .map(|x| {
                let q = &x.quote;
                serde_json::json!({"channel": q.channel.to_string(), "zone": q.zone, "billable_weight_g": q.billable_weight_g,
                    "total": q.total().to_string(), "total_base": q.total_base.to_string(), "transit_days": q.transit_days,
                    "tags": r.tags(q), "expected_profit": x.expected_profit.map(|m| m.to_string())})
            })
            .collect();
        let inel: Vec<serde_json::Value> = r
            .ineligible
            .iter()
            .map(|(c, _, e)| serde_json::json!({"channel": c.to_string(), "reason": e.reason.as_str(), "message": e.message}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"quotes": rows, "ineligible": inel, "why": r.ranking.why})
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<16} {:<12} {:>8} {:>9} {:>8} {:>8} {:>9} {:>8} {:>12} {:>12} {:>4}  tags",
        "channel",
        "zone",
        "bill g",
        "base",
        "fuel+sur",
        "cod fee",
        "duty+tax",
        "ddp fee",
        "total",
        "total base",
        "days"
    );
    for x in &r.ranking.ranked {
        let q = &x.quote;
        let b = q.breakdown;
        let m = |v: i64| codflow_domain::Money::new(v, q.currency).amount_string();
        println!(
            "{:<16} {:<12} {:>8} {:>9} {:>8} {:>8} {:>9} {:>8} {:>12} {:>12} {:>4}  {}",
            q.channel.as_str(),
            q.zone,
            q.billable_weight_g,
            m(b.base),
            m(b.fuel + b.remote_area + b.oversize),
            m(b.cod_fee),
            m(b.duties + b.taxes),
            m(b.ddp_fee),
            q.total().to_string(),
            q.total_base.to_string(),
            q.transit_days,
            r.tags(q).join(",")
        );
    }
    for (c, _, e) in &r.ineligible {
        println!("{:<16} not eligible: {} ({})", c.as_str(), e.message, e.reason.as_str());
    }
    println!("{}", r.ranking.why);
    Ok(ExitCode::SUCCESS)
}

/// Books orders (the given ones, or every allocated order without a shipment) with a progress bar.
pub async fn book(app: &App, orders: Vec<String>, all: bool) -> Result<ExitCode> {
    let ids = if all { app.fulfilment().bookable_orders().await? } else { orders };
    if ids.is_empty() {
        println!("nothing to book");
        return Ok(ExitCode::SUCCESS);
    }
    let interactive = std::io::stderr().is_terminal();
    let bar = indicatif::ProgressBar::new(ids.len() as u64);
    if interactive {
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} booked {msg} ({per_sec}, {eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = std::time::Instant::now();
    let (mut booked, mut failed, mut refused) = (0usize, 0usize, 0usize);
    for chunk in ids.chunks(200) {
        for r in app.fulfilment().book_orders(chunk, Actor::Worker("cli".into())).await {
            match r {
                BookOutcome::Done(s) if s.status == BookingStatus::Booked => booked += 1,
                BookOutcome::Done(s) => {
                    failed += 1;
                    eprintln!("{}: {}", s.order_id, s.last_error.unwrap_or_default());
                }
                BookOutcome::Refused { order, message, .. } => {
                    refused += 1;
                    eprintln!("{order}: {message}");
                }
            }
        }
        bar.inc(chunk.len() as u64);
        bar.set_message(format!("{failed} failed"));
        if !interactive {
            eprintln!("progress: {} of {} orders", booked + failed + refused, ids.len());
        }
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "booked {booked}, failed {failed}, refused {refused} of {} orders in {secs:.1} s ({:.0} orders/s)",
        ids.len(),
        ids.len() as f64 / secs.max(1e-9)
    );
    Ok(if failed + refused == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
