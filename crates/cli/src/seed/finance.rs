//! The demo's money: once its parcels have reached their outcomes, the sandbox carrier's own COD remittance
//! and freight invoice are downloaded, given the mistakes real carriers make (a line paid twice, a short
//! payment, a parcel left out, a fee above the contract, the wrong currency, a stranger's parcel; a parcel
//! billed heavier, billed twice, billed less), imported through the built-in profiles, and the remittance
//! is paid out in dollars by a payment platform, so every finance screen has something to show.

use std::time::Duration;

use codflow_connectors::carriers::{Carrier, SettlementReport, SettlementReports};
use codflow_domain::money::{Currency, Money};
use codflow_domain::{Actor, StatementId};
use codflow_store::finance as fstore;
use codflow_store::profit as pstore;
use rust_decimal::Decimal;
use time::OffsetDateTime;

use codflow_app::ConflictKind;
use codflow_app::finance::{ImportRequest, StatementReport};
use codflow_app::{App, Error, Result};

/// What the demo's statements came to.
#[derive(Debug)]
pub struct DemoFinance {
    pub remittance: StatementReport,
    pub payout: Option<StatementReport>,
    pub invoice: StatementReport,
}

type Rows = Vec<Vec<String>>;

fn read_csv(body: &[u8]) -> Result<(Vec<String>, Rows)> {
    let bad = |e: csv::Error| Error::invalid("report", format!("the carrier's report is not CSV: {e}"));
    let mut r = csv::Reader::from_reader(body);
    let header: Vec<String> = r.headers().map_err(bad)?.iter().map(str::to_owned).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        rows.push(rec.map_err(bad)?.iter().map(str::to_owned).collect());
    }
    Ok((header, rows))
}

fn write_csv(header: &[String], rows: &Rows) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing strings to memory cannot fail.
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}

fn col(header: &[String], name: &str) -> Result<usize> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| Error::invalid("report", format!("the carrier's report has no {name} column")))
}

/// Scales the amount in `row[i]` (in the row's currency) by `num / den`.
fn scale(row: &mut [String], i: usize, currency: usize, num: i64, den: i64) -> Result<()> {
    let c = Currency::parse(&row[currency]).map_err(|e| Error::invalid("currency", e.to_string()))?;
    let m = Money::parse(&row[i], c).map_err(|e| Error::invalid("amount", e.to_string()))?;
    row[i] = Money::new(m.minor * num / den, c).amount_string();
    Ok(())
}

/// The sandbox's remittance with one mistake of each kind; it must hold at least seven parcels.
pub fn remittance_with_mistakes(body: &[u8]) -> Result<Vec<u8>> {
    let (header, mut rows) = read_csv(body)?;
    if rows.len() < 7 {
        return Err(Error::invalid("report", "too few parcels collected to show every kind of difference"));
    }
    // The parcel collected first is left out: the one most surely past its settlement cycle.
    let collected = col(&header, "collected_at")?;
    rows.sort_by(|a, b| a[collected].cmp(&b[collected]));
    rows.remove(0);
    let (amount, currency, fee, net, tn) = (
        col(&header, "cod_amount")?,
        col(&header, "currency")?,
        col(&header, "cod_fee")?,
        col(&header, "net_amount")?,
        col(&header, "tracking_number")?,
    );
    // The fee tripled is the largest one, so it stands out above any tolerance whatever parcels came first.
    let biggest_fee = (1..rows.len())
        .max_by_key(|&i| {
            Currency::parse(&rows[i][currency])
                .ok()
                .and_then(|c| Money::parse(&rows[i][fee], c).ok())
                .map(|m| m.minor)
                .unwrap_or(0)
        })
        .unwrap_or(1);
    rows.swap(1, biggest_fee);
    // A short payment: 10% of the cash kept back; and a fee three times the contract's. The net still
    // reads as the amount less the fee, as a carrier's file would.
    scale(&mut rows[0], amount, currency, 9, 10)?;
    scale(&mut rows[1], fee, currency, 3, 1)?;
    for row in &mut rows[..2] {
        let c = Currency::parse(&row[currency]).map_err(|e| Error::invalid("currency", e.to_string()))?;
        let m = |s: &str| Money::parse(s, c).map_err(|e| Error::invalid("amount", e.to_string()));
        row[net] = Money::new(m(&row[amount])?.minor - m(&row[fee])?.minor, c).amount_string();
    }
    // The wrong currency (the figures rewritten in its minor units, so the line still reads).
    let wrong = Currency::parse(if rows[2][currency] == "USD" { "EUR" } else { "USD" })
        .map_err(|e| Error::invalid("currency", e.to_string()))?;
    let was = Currency::parse(&rows[2][currency]).map_err(|e| Error::invalid("currency", e.to_string()))?;
    for i in [amount, fee, net] {
        let m = Money::parse(&rows[2][i], was).map_err(|e| Error::invalid("amount", e.to_string()))?;
        rows[2][i] = Money::new(m.minor, wrong).amount_string();
    }
    rows[2][currency] = wrong.code().to_owned();
    // A parcel of someone else's.
    let mut stranger = rows[3].clone();
    stranger[tn] = "SBXSTRANGER1CN".into();
    // A line paid twice.
    let twice = rows[4].clone();
    rows.push(twice);
    rows.push(stranger);
    Ok(write_csv(&header, &rows))
}

/// The sandbox's freight invoice with an overcharge (billed at three times the weight and twice the
/// price), a parcel billed twice, one billed less than quoted and a stranger's parcel.
pub fn invoice_with_mistakes(body: &[u8]) -> Result<Vec<u8>> {
    let (header, mut rows) = read_csv(body)?;
    if rows.len() < 4 {
        return Err(Error::invalid("report", "too few parcels booked to show every kind of difference"));
    }
    let (kg, freight, currency, tn) = (
        col(&header, "billable_kg")?,
        col(&header, "freight")?,
        col(&header, "currency")?,
        col(&header, "tracking_number")?,
    );
    let heavier: i64 = rows[0][kg].parse().map_err(|_| Error::invalid("billable_kg", "is not a whole number"))?;
    rows[0][kg] = (heavier * 3).to_string();
    scale(&mut rows[0], freight, currency, 2, 1)?;
    scale(&mut rows[1], freight, currency, 9, 10)?;
    let twice = rows[2].clone();
    let mut stranger = rows[3].clone();
    stranger[tn] = "SBXSTRANGER2CN".into();
    rows.push(twice);
    rows.push(stranger);
    Ok(write_csv(&header, &rows))
}

/// Waits (up to `wait`) for the demo's COD parcels to stop travelling, then imports the carrier's
/// remittance and invoice with their mistakes and a payout of the remittance in dollars.
pub async fn demo_finance(app: &App, wait: Duration) -> Result<DemoFinance> {
    let carriers = app.fulfilment().carriers();
    let Some(Carrier::Sandbox(sandbox)) = carriers.sandbox.as_ref() else {
        return Err(Error::invalid("carrier", "the demo's money needs the sandbox carrier"));
    };
    // Until nothing travels and the first parcels' cash is past its cycle and grace, so the one the
    // carrier leaves out counts as missing.
    let deadline = tokio::time::Instant::now() + wait;
    let grace = app.finance().reconcile_tolerances().await?.grace_days;
    let longest_cycle = app.fulfilment().channels().await?.iter().map(|c| c.settlement_cycle_days).max().unwrap_or(0);
    loop {
        let mut conn = app.store.read().await?;
        let travelling = pstore::cod_in_transit(&mut conn).await?.len();
        let oldest = fstore::open_receivables(&mut conn, app.clock().now(), None)
            .await?
            .iter()
            .map(|o| o.days)
            .max()
            .unwrap_or(0);
        drop(conn);
        if (travelling == 0 && oldest > longest_cycle + grace) || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (from, to) = (OffsetDateTime::UNIX_EPOCH, OffsetDateTime::now_utc() + time::Duration::days(36_500));
    let carrier_error = |e: codflow_connectors::carriers::CarrierError| Error::Conflict {
        kind: ConflictKind::CarrierUnavailable,
        message: format!("the sandbox carrier's report: {e}"),
    };
    let actor = Actor::Worker("demo".into());
    let import = |body: Vec<u8>, file: &str, profile: &str| {
        let req = ImportRequest { file_name: file.into(), profile: profile.into(), carrier: None, preview: false };
        let actor = actor.clone();
        async move { app.finance().import_statement_owned(body, req, actor).await }
    };
    let cod = sandbox.settlement_report(SettlementReport::CodRemittance, from, to).await.map_err(carrier_error)?;
    let remittance = import(remittance_with_mistakes(&cod)?, "sandbox-remittance.csv", "sandbox-cod").await?;
    let payout = match remittance.statement.as_ref() {
        Some(s) => demo_payout(app, &s.id).await?,
        None => None,
    };
    let payout = match payout {
        Some(body) => Some(import(body, "platform-payout.csv", "generic-payout").await?),
        None => None,
    };
    let bill = sandbox.settlement_report(SettlementReport::FreightInvoice, from, to).await.map_err(carrier_error)?;
    let invoice = import(invoice_with_mistakes(&bill)?, "sandbox-invoice.csv", "sandbox-freight").await?;
    Ok(DemoFinance { remittance, payout, invoice })
}

/// A payment platform's statement paying the remittance out in dollars, a 1% fee kept and a rate a
/// little better than the day's (so the ledger books an FX gain).
async fn demo_payout(app: &App, remittance: &StatementId) -> Result<Option<Vec<u8>>> {
    let lines = app.finance().statement_lines(remittance, None, 0, 100).await?;
    let Some(reference) = lines.iter().find_map(|l| l.reference.clone()) else { return Ok(None) };
    let usd = Currency::parse("USD").map_err(|e| Error::invalid("currency", e.to_string()))?;
    let rates = app.review().fx_rates().await?;
    let today = app.clock().now().date();
    let mut out = String::from("remittance,date,currency,gross,fee,fx_rate,settled,settled_currency\n");
    let mut any = false;
    let paid = fstore::remitted_by_reference(&mut *app.store.read().await?, &[reference.as_str()]).await?;
    for (_, net, _) in paid {
        let rate = rates.iter().filter(|r| r.from == net.currency && r.to == usd).max_by_key(|r| r.as_of);
        let Some(rate) = rate else { continue };
        let fee = Money::new(net.minor / 100, net.currency);
        let applied = (rate.rate * Decimal::new(1004, 3)).round_dp(6);
        let converted = Money::new(net.minor - fee.minor, net.currency);
        let settled = codflow_domain::money::FxRate::new(net.currency, usd, applied, today, "platform")
            .and_then(|r| r.convert(converted))
            .map_err(|e| Error::invalid("fx_rate", e.to_string()))?
            .value;
        out.push_str(&format!(
            "{reference},{today},{},{},{},{applied},{},USD\n",
            net.currency,
            net.amount_string(),
            fee.amount_string(),
            settled.amount_string()
        ));
        any = true;
    }
    Ok(any.then(|| out.into_bytes()))
}
