//! The command line as clap reads it: the commands, their flags and the environment variables behind them.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::{demo, finance, logistics, parse_rfc3339};

pub(crate) const DEFAULT_DB: &str = "sqlite://codflow.db";

#[derive(Parser)]
#[command(name = "codflow", version, about = "Order-to-cash for cross-border DDP + COD sellers")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(clap::Args, Clone)]
pub(crate) struct Db {
    /// sqlite://PATH or postgres://...; DATABASE_URL when absent, else sqlite://codflow.db
    #[arg(long, env = "DATABASE_URL")]
    pub(crate) database_url: Option<String>,
}

impl Db {
    pub(crate) fn url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| DEFAULT_DB.into())
    }
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run the API server (migrations run first).
    Serve(Box<ServeArgs>),
    /// Run the sandbox carrier (docs/SANDBOX_CARRIER.md) until stopped.
    SandboxCarrier {
        #[arg(long, default_value = "127.0.0.1:9090")]
        listen: std::net::SocketAddr,
        /// Outcomes are a function of the seed and the bookings made.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulated seconds per real second (3600 plays an hour of parcel life per second).
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// Outcome figures per destination country (JSON); built-in defaults otherwise.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Require this X-Api-Key on every request.
        #[arg(long, env = "SANDBOX_CARRIER_API_KEY", hide_env_values = true)]
        api_key: Option<String>,
        /// Stop when standard input closes: a parent that starts the carrier and dies (even by SIGKILL)
        /// takes it along instead of leaving it running.
        #[arg(long)]
        exit_with_stdin: bool,
        /// The carrier's clock at start (RFC 3339); now by default.
        #[arg(long, value_parser = parse_rfc3339)]
        start: Option<time::OffsetDateTime>,
    },
    /// Quote a shipment on every channel: costs, duties, transit days, and why channels are ineligible.
    Quote {
        #[command(flatten)]
        args: logistics::QuoteArgs,
        #[command(flatten)]
        db: Db,
    },
    /// Book orders with their channel's carrier (the given orders, or --all allocated ones).
    Book {
        orders: Vec<String>,
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        carriers: logistics::CarrierArgs,
        #[command(flatten)]
        db: Db,
    },
    /// Review rules: export, import, back-test.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Apply the database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: Db,
    },
    /// Manage console users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Reconcile a settlement file (a COD remittance or a payout) against the shipments.
    Reconcile(finance::ReconcileArgs),
    /// Settlement profiles: how a carrier's or platform's files are read.
    Profiles {
        #[command(subcommand)]
        command: finance::ProfilesCommand,
    },
    /// Import data from files.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Replays the last days of a seller's business through the real pipeline: orders of sixteen markets,
    /// review, allocation, booking with a sandbox carrier process, tracking, tasks, remittances and payouts.
    Simulate {
        #[arg(long, default_value_t = 90)]
        days: u32,
        #[arg(long, default_value_t = 2000)]
        orders_per_day: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Real seconds one simulated day takes (at least as long as booking a day's orders).
        #[arg(long, default_value_t = 2.0)]
        seconds_per_day: f64,
        /// Also run a lane through each carrier codflow books with (SMSA to Oman, Naqel to Saudi Arabia, Ninja Van to the Philippines,
        /// J&T to Malaysia, Flash to Thailand, 4PX to Poland, YunExpress to Romania), their protocols served by
        /// the sandbox carrier process.
        #[arg(long)]
        carrier_lanes: bool,
        #[command(flatten)]
        db: Db,
    },
    /// Read a serial scale (MT-SICS or NCI SCP-12) and post its readings for one pack station, for browsers
    /// that cannot read the scale themselves (docs/FLOOR.md).
    ScaleBridge(crate::scale_bridge::BridgeArgs),
}

/// Where buyer notifications go. Without them messages wait in the outbox; `--demo` starts local receivers.
#[derive(clap::Args, Clone, Default)]
pub(crate) struct SenderArgs {
    /// smtp://host:port (plain), smtp://user:pass@host?tls=required (STARTTLS) or smtps://host (TLS)
    #[arg(long, env = "CODFLOW_SMTP_URL")]
    pub(crate) smtp_url: Option<String>,
    #[arg(long, env = "CODFLOW_MAIL_FROM", default_value = "codflow <noreply@codflow.localhost>")]
    pub(crate) mail_from: String,
    /// The SMS provider's message endpoint (a Twilio-style form POST of To, From, Body)
    #[arg(long, env = "CODFLOW_SMS_URL")]
    pub(crate) sms_url: Option<String>,
    #[arg(long, env = "CODFLOW_SMS_USER")]
    pub(crate) sms_user: Option<String>,
    #[arg(long, env = "CODFLOW_SMS_PASSWORD", hide_env_values = true)]
    pub(crate) sms_password: Option<String>,
    #[arg(long, env = "CODFLOW_SMS_FROM", default_value = "codflow")]
    pub(crate) sms_from: String,
}

impl SenderArgs {
    pub(crate) fn senders(&self) -> Result<codflow_app::notify::Senders> {
        use codflow_connectors::notify::{HttpSms, SmtpMailer};
        Ok(codflow_app::notify::Senders {
            email: self.smtp_url.as_deref().map(|u| SmtpMailer::new(u, &self.mail_from)).transpose()?,
            sms: self
                .sms_url
                .as_deref()
                .map(|u| HttpSms::new(u, self.sms_user.clone(), self.sms_password.clone(), &self.sms_from))
                .transpose()?,
        })
    }
}

/// The key that seals shop credentials at rest. Every node of one database needs the same key.
#[derive(clap::Args, Clone, Default)]
pub(crate) struct SecretArgs {
    /// 64 hex characters (32 bytes).
    #[arg(long, env = "CODFLOW_SECRET_KEY", hide_env_values = true)]
    pub(crate) secret_key: Option<String>,
    /// A file holding the key as 64 hex characters; created with a new random key when missing. Default
    /// for a SQLite database: the database file's path plus `.key`.
    #[arg(long, env = "CODFLOW_SECRET_KEY_FILE")]
    pub(crate) secret_key_file: Option<PathBuf>,
}

impl SecretArgs {
    pub(crate) fn sealer(&self, database_url: &str) -> Result<Option<codflow_app::shops::Sealer>> {
        use codflow_app::shops::Sealer;
        if let Some(k) = &self.secret_key {
            return Sealer::from_hex(k).map(Some).context("CODFLOW_SECRET_KEY must be 64 hex characters");
        }
        let path = match (&self.secret_key_file, database_url.strip_prefix("sqlite://")) {
            (Some(p), _) => p.clone(),
            (None, Some(db)) => PathBuf::from(format!("{}.key", db.split('?').next().unwrap_or(db))),
            (None, None) => return Ok(None),
        };
        if !path.exists() {
            write_private(&path, &Sealer::generate_hex())
                .with_context(|| format!("cannot create the key file {}", path.display()))?;
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        Sealer::from_hex(&text).map(Some).with_context(|| format!("{} must hold 64 hex characters", path.display()))
    }
}

/// Writes a file only its owner can read.
pub(crate) fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)?.write_all(text.as_bytes())
}

#[derive(Subcommand)]
pub(crate) enum RulesCommand {
    /// Write the current rules as a JSON file (stdout when no --output).
    Export {
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        db: Db,
    },
    /// Replace every rule with a file's (all or nothing); makes a new ruleset version.
    Import {
        file: PathBuf,
        #[command(flatten)]
        db: Db,
    },
    /// Replay past orders with known outcomes through a ruleset and report what it would have changed.
    Backtest {
        /// A rules file as written by `rules export`; the current rules when absent.
        #[arg(long)]
        ruleset: Option<PathBuf>,
        /// Only orders placed on or after this day (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// Cost of one refused parcel in the base currency (default 15.00).
        #[arg(long)]
        refusal_cost: Option<String>,
        /// Profit on delivered revenue in percent (default 40).
        #[arg(long)]
        margin_percent: Option<String>,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) db: Db,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: String,
    #[command(flatten)]
    pub(crate) demo: demo::DemoArgs,
    #[command(flatten)]
    pub(crate) senders: SenderArgs,
    #[command(flatten)]
    pub(crate) carriers: logistics::CarrierArgs,
    #[command(flatten)]
    pub(crate) secrets: SecretArgs,
    /// Receive shop webhooks into the inbox but leave processing and pulls to another `codflow serve` on
    /// the same database (a receiver in front of a busy processor).
    #[arg(long)]
    pub(crate) no_shop_sync: bool,
    #[command(flatten)]
    pub(crate) metrics: MetricsArgs,
}

/// Who may read `/metrics`: any API token does; so does this token; and a listener of its own serves it
/// without one.
#[derive(clap::Args)]
pub(crate) struct MetricsArgs {
    /// A bearer token that may read /metrics (for a Prometheus scrape job).
    #[arg(long, env = "CODFLOW_METRICS_TOKEN", hide_env_values = true)]
    pub(crate) metrics_token: Option<String>,
    /// Also serve /metrics, without a token, on this address (one only the monitoring network reaches).
    #[arg(long, env = "CODFLOW_METRICS_LISTEN")]
    pub(crate) metrics_listen: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token; the secret is printed once, alone on the last line.
    Create {
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: Db,
    },
    /// List tokens (id, role, name, created, revoked); secrets are never shown again.
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Revoke a token: it stops working at once (a running server sees it within half a second).
    Revoke {
        id: String,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// Disable a console user: every session ends at once and logins are refused.
    Disable {
        username: String,
        #[command(flatten)]
        db: Db,
    },
    /// Enable a disabled console user again.
    Enable {
        username: String,
        #[command(flatten)]
        db: Db,
    },
    /// Create a console user; the password is read from the first line of standard input (at least ten
    /// characters), so it never appears in the shell's history or the process list.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
pub(crate) enum ImportCommand {
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
    /// Import exchange rates (CSV: from,to,as_of,rate[,source]); a pair's rate for a day is replaced.
    FxRates {
        file: PathBuf,
        #[command(flatten)]
        db: Db,
    },
}
