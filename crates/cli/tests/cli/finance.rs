//! COD reconciliation end to end: parcels delivered by the sandbox carrier (its own process), its COD
//! remittance report turned into a statement with one difference of each kind, matched in preview and for
//! real, posted to the ledger, imported once whatever is replayed, and closed by a payment platform's payout
//! through the `codflow reconcile` command.

use std::collections::HashMap;

use codflow_app::finance::ImportRequest;
use codflow_domain::finance::ledger::Account;
use codflow_domain::finance::reconcile::LineClass;
use codflow_domain::money::{Currency, Money};
use codflow_domain::rating::ChannelSpec;
use codflow_domain::{ShipmentId, StatementId};
use codflow_store::Engine;
use serde_json::json;
use time::Duration;
use tokio::process::Command;

use crate::BIN;
use crate::booking::{ready, worker};
use crate::tracking::{book_all, finish_journeys, sandbox_with};

codflow_store::on_both_engines!(
    a_carriers_remittance_is_matched_posted_once_and_closed_by_a_payout_through_the_cli,
    a_freight_invoice_is_audited_against_the_quotes_the_parcels_were_booked_on,
    a_sellers_own_profile_is_managed_from_the_cli_and_reads_a_european_layout,
    a_remittance_paid_into_lianlian_is_read_through_its_signed_api_as_the_payout_that_closes_it,
    a_payoneer_account_export_closes_the_remittances_its_credits_name_and_leaves_the_rest_out,
);

/// A line of the sandbox's remittance report, `remittance` its reference.
fn row(remittance: &str, tn: &str, reference: &str, amount_minor: i64, fee_minor: i64) -> String {
    let m = |v: i64| Money::new(v, Currency::parse("SAR").unwrap()).amount_string();
    format!(
        "{remittance},{tn},{reference},2026-12-01T10:00:00Z,{},SAR,{},{}",
        m(amount_minor),
        m(fee_minor),
        m(amount_minor - fee_minor)
    )
}

async fn reconcile_cli(url: &str, file: &std::path::Path, profile: &str) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(["reconcile", &file.to_string_lossy(), "--profile", profile, "--database-url", url])
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn a_carriers_remittance_is_matched_posted_once_and_closed_by_a_payout_through_the_cli(engine: Engine) {
    let sb = sandbox_with("1000000", None).await;
    let externals: Vec<String> = (0..14).map(|i| format!("F-{i}")).collect();
    let refs: Vec<&str> = externals.iter().map(String::as_str).collect();
    let (db, app, ids) = ready(engine, &sb.url, &refs).await;
    // The contract: the sandbox's own 2% COD fee.
    let ch: ChannelSpec = serde_json::from_value(json!({
        "code": "SBX-SA", "name": "Sandbox Saudi", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true}, "settlement_cycle_days": 7,
        "rate_card": {"currency": "SAR", "cod_fee": {"pct": "2"}, "zones": [{"name": "sa", "countries": ["SA"],
            "transit_days": 3, "bands": [{"from_g": 0, "to_g": 30000, "price": "20.00"}]}]}
    }))
    .unwrap();
    app.fulfilment().put_channels(std::slice::from_ref(&ch), worker()).await.unwrap();
    let shipments = book_all(&app, &ids).await;
    finish_journeys(&app, &sb.url, &shipments).await;
    let mut delivered = Vec::new();
    for (shp, tn) in &shipments {
        let t = app.tracking().tracking(&codflow_domain::ShipmentId::parse(shp).unwrap()).await.unwrap().tracked;
        if t.cod_status.as_str() == "expected" {
            delivered.push((
                ShipmentId::parse(shp).unwrap(),
                tn.clone(),
                t.cod.minor,
                t.progress.delivered_at.unwrap(),
            ));
        }
    }
    assert!(delivered.len() >= 5, "only {} of 14 parcels delivered", delivered.len());

    // The carrier's own report, as it would be downloaded: one line per parcel whose cash it collected.
    let report =
        reqwest::get(format!("{}/v1/reports/cod-remittance?from=2000-01-01T00:00:00Z&to=2200-01-01T00:00:00Z", sb.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    let mut by_tn: HashMap<String, String> = HashMap::new();
    for l in report.lines().skip(1) {
        by_tn.insert(l.split(',').nth(1).unwrap().to_owned(), l.to_owned());
    }
    let header = report.lines().next().unwrap();
    let remittance = report.lines().nth(1).unwrap().split(',').next().unwrap().to_owned();
    assert!(delivered.iter().all(|(_, tn, _, _)| by_tn.contains_key(tn)), "{report}");
    // One difference of each kind: a line paid twice, a short payment, a parcel left out, a tracking number
    // that is not ours, an amount that does not parse.
    let short = &delivered[2];
    let short_fee = (short.2 - 1_000) * 2 / 100;
    let mut lines = vec![header.to_owned(), by_tn[&delivered[0].1].clone(), by_tn[&delivered[1].1].clone()];
    lines.push(by_tn[&delivered[1].1].clone());
    lines.push(row(&remittance, &short.1, "F-short", short.2 - 1_000, short_fee));
    lines.push(row(&remittance, "SBXNOTOURS1", "X-1", 5_000, 100));
    lines.push("SBR-1,SBX-BAD,F-bad,2026-12-01,12.3.4,SAR,0.10,1.00".to_owned());
    for d in &delivered[4..] {
        lines.push(by_tn[&d.1].clone());
    }
    let file = std::env::temp_dir().join(format!("remittance-{}.csv", StatementId::generate()));
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let body = std::fs::read(&file).unwrap();
    // Past every parcel's cycle (7 days) and grace (3): the one left out is missing.
    let last = delivered.iter().map(|d| d.3).max().unwrap();
    app.clock().freeze(last + Duration::days(11));
    // The sweep has claimed the cash of every delivered parcel by now.
    app.tracking().sweep().await.unwrap();
    let claim_open = |i: usize| {
        let app = &app;
        let s = delivered[i].0.to_string();
        async move {
            app.tracking()
                .tracking(&codflow_domain::ShipmentId::parse(&s).unwrap())
                .await
                .unwrap()
                .tasks
                .iter()
                .any(|t| t.kind.as_str() == "cod_not_remitted" && t.status.as_str() != "done")
        }
    };
    assert!(claim_open(0).await && claim_open(3).await);
    // Every delivered parcel's cash is open and, eleven days on, past the 7-day cycle.
    let aging = app.finance().receivables_aging().await.unwrap();
    let total_cod: i64 = delivered.iter().map(|d| d.2).sum();
    assert_eq!(aging.len(), 1, "{aging:?}");
    assert_eq!((aging[0].total.parcels, aging[0].total.amount_minor), (delivered.len() as i64, total_cod));
    assert_eq!(aging[0].overdue, aging[0].total);
    // The forecast expects that cash now, and flags it late.
    let forecast = app.finance().cash_forecast(4, 30).await.unwrap();
    assert_eq!(forecast.overdue.values().map(|f| f.delivered_in).sum::<i64>(), total_cod);
    assert_eq!(forecast.weeks[0].flows.delivered_in, total_cod, "{forecast:?}");
    // The cash page reads both at once, and the same.
    assert_eq!(app.finance().cash_position(4, 30).await.unwrap(), (aging.clone(), forecast.clone()));
    // The overdue cash is recommended for a dispute; acting twice (a double click) opens one task, and the
    // recommendation leaves the list.
    let all = codflow_store::kpi::Filter::default();
    let dispute = app
        .insights()
        .recommendations(&all)
        .await
        .unwrap()
        .into_iter()
        .find(|r| matches!(r, codflow_app::kpi::Recommendation::Dispute { .. }))
        .expect("a dispute is recommended");
    let first = app.insights().act_on(&dispute, worker()).await.unwrap();
    let second = app.insights().act_on(&dispute, worker()).await.unwrap();
    assert_eq!(first, second, "acting again answers what the first act made");
    let rec_left = app.insights().recommendations(&all).await.unwrap();
    assert!(rec_left.iter().all(|r| r.key() != dispute.key()), "{rec_left:?}");
    // The overdue slice the recommendations read agrees with the full aging, also a microsecond either side
    // of the day a parcel passes its cycle (overdue from 8 whole days after delivery on a 7-day cycle).
    let first = delivered.iter().map(|d| d.3).min().unwrap();
    let mut seen = Vec::new();
    for at in [first + Duration::days(8) - Duration::microseconds(1), first + Duration::days(8)] {
        app.clock().freeze(at);
        let full = app.finance().receivables_aging().await.unwrap();
        let overdue = |rows: &[codflow_domain::finance::aging::AgingRow]| {
            rows.iter()
                .filter(|r| r.overdue.parcels > 0)
                .map(|r| (r.carrier.clone(), r.overdue.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(overdue(&app.finance().overdue_receivables().await.unwrap()), overdue(&full), "at {at}");
        seen.push(full.iter().map(|r| r.overdue.parcels).sum::<i64>());
    }
    assert!(seen[0] < seen[1], "the first parcel became overdue at the boundary: {seen:?}");
    app.clock().freeze(last + Duration::days(11));
    let req = |preview| ImportRequest {
        file_name: "remittance.csv".into(),
        profile: "sandbox-cod".into(),
        carrier: None,
        preview,
    };

    let preview = app.finance().import_statement(&body, req(true), worker()).await.unwrap();
    assert!(preview.statement.is_none());
    assert!(app.finance().statements(None, 10).await.unwrap().is_empty(), "a preview records nothing");
    let count = |r: &codflow_app::finance::StatementReport, class: LineClass| {
        r.classes.iter().filter(|c| c.class == class).map(|c| c.lines).sum::<i64>()
    };
    let n = delivered.len() as i64;
    let r = &preview;
    assert_eq!(count(r, LineClass::Matched), n - 2, "{:?}", r.classes);
    assert_eq!(count(r, LineClass::Duplicate), 1);
    assert_eq!(count(r, LineClass::ShortPaid), 1);
    assert_eq!(count(r, LineClass::UnknownReference), 1);
    assert_eq!(r.error_count, 1);
    assert_eq!((r.errors[0].line, r.errors[0].field.as_str()), (7, "amount"), "{:?}", r.errors);
    assert_eq!(r.missing_count, 1);
    assert_eq!(r.missing[0].0, delivered[3].0);

    let done = app.finance().import_statement(&body, req(false), worker()).await.unwrap();
    let stl = done.statement.clone().expect("recorded").id;
    assert_eq!(done.classes, preview.classes);
    assert!(done.tasks_opened >= 3, "short, duplicate and unknown lines each need a decision: {}", done.tasks_opened);
    let cod = |i: usize| {
        let app = &app;
        let s = delivered[i].0.to_string();
        async move {
            app.tracking()
                .tracking(&codflow_domain::ShipmentId::parse(&s).unwrap())
                .await
                .unwrap()
                .tracked
                .cod_status
                .as_str()
                .to_owned()
        }
    };
    assert_eq!(cod(0).await, "remitted");
    assert_eq!(cod(2).await, "short_paid");
    assert_eq!(cod(3).await, "expected", "left out of the statement");
    // Paid parcels' claims close themselves at the next sweep; the one left out stays claimed.
    app.tracking().sweep().await.unwrap();
    assert!(!claim_open(0).await, "paid, its claim closed");
    assert!(claim_open(3).await, "still unpaid, still claimed");
    // Still owed: the parcel left out, and the 10.00 the short payment left, as the ledger's receivable has it.
    let aging = app.finance().receivables_aging().await.unwrap();
    assert_eq!((aging[0].total.parcels, aging[0].total.amount_minor), (2, delivered[3].2 + 1_000), "{aging:?}");
    // The short parcel's ledger explains the difference: 10.00 still owed by the carrier.
    let sar = Currency::parse("SAR").unwrap();
    let totals = codflow_app::finance::totals(&app.finance().shipment_ledger(&short.0).await.unwrap());
    assert_eq!(totals.get(&(Account::CarrierReceivable, sar)), Some(&1_000), "{totals:?}");
    assert_eq!(totals.get(&(Account::CodFees, sar)), Some(&short_fee));
    assert_eq!(totals.get(&(Account::CodSales, sar)), Some(&-short.2));
    // The short line's dispute packet: expected and received, the contract, and the parcel's journey.
    let short_line = app.finance().statement_lines(&stl, Some(LineClass::ShortPaid), 0, 1).await.unwrap()[0].line;
    let csv = String::from_utf8(app.finance().dispute_packet(&stl, short_line, true).await.unwrap().bytes).unwrap();
    assert!(csv.contains(&format!("claim,expected,{}", Money::new(short.2, sar))), "{csv}");
    assert!(csv.contains("terms,,COD fee 2.00% of the cash collected"), "{csv}");
    assert!(csv.contains(",delivered | Delivered |"), "the timeline reaches the delivery: {csv}");
    // The same file again, in process and through the CLI: nothing changes.
    let again = app.finance().import_statement(&body, req(false), worker()).await.unwrap();
    assert!(again.already_imported);
    assert_eq!(again.statement.as_ref().map(|s| &s.id), Some(&stl));
    let (ok, stdout, stderr) = reconcile_cli(&db.url, &file, "sandbox-cod").await;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("was imported before"), "{stdout}");
    assert_eq!(app.finance().statements(None, 10).await.unwrap().len(), 1);
    let posted = app.finance().shipment_ledger(&delivered[0].0).await.unwrap().len();

    // The platform pays the remittance out in dollars, less its fee: cash in transit is cleared to the bank.
    let paid: i64 = app
        .finance()
        .statement_lines(&stl, None, 0, 500)
        .await
        .unwrap()
        .iter()
        .filter(|l| matches!(l.class, LineClass::Matched | LineClass::ShortPaid))
        .map(|l| l.net.minor)
        .sum();
    let fee = 500;
    let settled = ((paid - fee) as i128 * 2666 / 10_000) as i64;
    let payout = format!(
        "remittance,date,currency,gross,fee,fx_rate,settled,settled_currency\n{remittance},2026-12-20,SAR,{},{},0.2666,{},USD\n",
        Money::new(paid, sar).amount_string(),
        Money::new(fee, sar).amount_string(),
        Money::new(settled, Currency::parse("USD").unwrap()).amount_string(),
    );
    // Finance keeps the bank's rates: the one in force on the delivery day values the payout; a later one
    // (nearer the payout) must not, and a bad line is named and skipped.
    let mut delivered_on = Vec::new();
    for d in &delivered {
        let ledger = app.finance().shipment_ledger(&d.0).await.unwrap();
        delivered_on
            .extend(ledger.iter().find(|p| p.account == Account::CarrierReceivable).map(|p| p.posted_at.date()));
    }
    // Without a yuan rate the lamps cannot be valued in riyals: the order is left out of profit, and says why.
    let all = codflow_app::profit::ProfitFilter::default();
    let skipped =
        app.finance().profit_report(&all, codflow_domain::finance::profit::Dimension::Sku, |_| {}).await.unwrap();
    assert_eq!((skipped.orders, skipped.skipped), (0, ids.len() as i64));
    assert!(
        skipped.skipped_orders[0].1.contains("no exchange rate between CNY and SAR"),
        "{:?}",
        skipped.skipped_orders
    );
    // The rate missing is named once, with the earliest day an order needed it.
    let cny = Currency::parse("CNY").unwrap();
    assert_eq!(skipped.missing_rates.len(), 1, "{:?}", skipped.missing_rates);
    let missing = skipped.missing_rates[0];
    assert_eq!((missing.from, missing.to), (cny, sar));
    assert!(missing.earliest <= *delivered_on.iter().min().unwrap(), "{missing:?}");
    let rates = format!(
        "from,to,as_of,rate,source\nSAR,USD,{},0.2650,bank\nSAR,USD,{},0.3000,bank\nSAR,USD,tomorrow,0.3,bank\n\
         CNY,SAR,2026-01-01,0.5200,bank\n",
        delivered_on.iter().min().unwrap().previous_day().unwrap(),
        delivered_on.iter().max().unwrap().next_day().unwrap(),
    );
    let rates_file = std::env::temp_dir().join(format!("rates-{}.csv", StatementId::generate()));
    std::fs::write(&rates_file, rates).unwrap();
    let out = Command::new(BIN)
        .args(["import", "fx-rates", &rates_file.to_string_lossy(), "--database-url", &db.url])
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "some lines were refused: {stdout}{stderr}");
    assert!(stdout.contains("3 rates imported, 1 lines refused"), "{stdout}");
    assert!(stderr.contains("line 4: as_of"), "{stderr}");
    let _ = std::fs::remove_file(&rates_file);
    let payout_file = std::env::temp_dir().join(format!("payout-{}.csv", StatementId::generate()));
    std::fs::write(&payout_file, &payout).unwrap();
    let (ok, stdout, stderr) = reconcile_cli(&db.url, &payout_file, "generic-payout").await;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("matched"), "{stdout}");
    let balances = app.finance().ledger_balances().await.unwrap();
    let balance = |account: Account, currency: &str| {
        balances.iter().filter(|(a, _, c, _)| *a == account && c.code() == currency).map(|(_, _, _, v)| *v).sum::<i64>()
    };
    assert_eq!(balance(Account::CashInTransit, "SAR"), 0, "{balances:?}");
    assert_eq!(balance(Account::Bank, "USD"), settled);
    assert_eq!(balance(Account::PlatformFees, "SAR"), fee);
    // Worth 0.2650 a riyal when delivered, paid at 0.2666: the difference is a gain (a credit).
    let at_delivery = ((paid - fee) as i128 * 2650 + 5_000) / 10_000;
    assert_eq!(balance(Account::FxGainLoss, "USD"), at_delivery as i64 - settled, "{balances:?}");
    assert_eq!(balance(Account::FxExchange, "SAR"), paid - fee);
    assert_eq!(balance(Account::FxExchange, "USD"), -(at_delivery as i64));
    // The platform reports the same transfer again in its next statement: a duplicate, nothing moves.
    let again = payout.replace("2026-12-20", "2026-12-27").into_bytes();
    let req = ImportRequest {
        file_name: "payout-2.csv".into(),
        profile: "generic-payout".into(),
        carrier: None,
        preview: false,
    };
    let r = app.finance().import_statement(&again, req, worker()).await.unwrap();
    assert_eq!(r.classes.iter().map(|c| (c.class, c.lines)).collect::<Vec<_>>(), vec![(LineClass::Duplicate, 1)]);
    assert_eq!(app.finance().ledger_balances().await.unwrap(), balances);
    // Every currency balances over the whole ledger.
    let mut per_currency: HashMap<String, i64> = HashMap::new();
    for (_, _, c, v) in &balances {
        *per_currency.entry(c.code().to_owned()).or_default() += v;
    }
    assert!(per_currency.values().all(|v| *v == 0), "{per_currency:?}");
    assert_eq!(app.finance().shipment_ledger(&delivered[0].0).await.unwrap().len(), posted, "nothing posted twice");

    // Profit per order, in riyals (the base currency): the lamps' cost at the bank's yuan rate, a first leg
    // of 2.00 a kilogram out of Shenzhen, the quote's freight and duties, and what the carrier collected.
    app.finance().set_first_leg_costs(HashMap::from([("SZ1".to_owned(), 200)]), worker()).await.unwrap();
    let order_of = |i: usize| {
        let ids = &ids;
        let shipments = &shipments;
        let s = delivered[i].0.to_string();
        ids[shipments.iter().position(|(shp, _)| *shp == s).unwrap()].clone()
    };
    let paid_line = app.finance().statement_lines(&stl, Some(LineClass::Matched), 0, 500).await.unwrap();
    let line0 = paid_line.iter().find(|l| l.shipment_id.as_ref() == Some(&delivered[0].0)).unwrap();
    let p = app.finance().order_profit(&codflow_domain::OrderId::parse(&order_of(0)).unwrap()).await.unwrap();
    let order = app.intake().order(&codflow_domain::OrderId::parse(&order_of(0)).unwrap()).await.unwrap();
    let quote = order.allocation.unwrap().choice.unwrap().ranking[0].breakdown.unwrap();
    let a = p.actual.expect("settled");
    assert_eq!(serde_json::to_value(p.stage).unwrap(), "settled");
    assert_eq!(a.revenue, delivered[0].2, "the cash collected");
    assert_eq!(a.product_cost, 1_040, "2 × 10.00 CNY at 0.52");
    assert_eq!(a.first_leg, 160, "800 g at 2.00 a kilogram");
    assert_eq!(a.last_mile, quote.base + quote.fuel, "no invoice yet: the quote's freight");
    assert_eq!(a.duties_taxes, quote.duties + quote.taxes);
    assert!(a.duties_taxes > 0, "DDP: duties paid for the buyer");
    // The carrier's fee on the line and this parcel's share of the platform's 5.00, by its cash.
    let platform_share = codflow_domain::finance::profit::allocate(fee, &[line0.net.minor, paid - line0.net.minor])[0];
    assert_eq!(a.cod_fee, line0.fee.minor + platform_share);
    assert!(a.fx > 0, "its share of the payout's gain: {a:?}");
    assert_eq!(a.profit, a.revenue - 1_040 - 160 - a.last_mile - a.duties_taxes - a.cod_fee + a.fx);
    let e = p.expected.expect("allocated with a quote");
    assert_eq!((e.first_leg, e.last_mile), (160, a.last_mile));
    assert!(e.revenue < order.total.minor, "weighed by the chance of delivery");
    // Short paid: revenue is what arrived. Left out of the statement: no actual profit yet.
    assert_eq!(
        app.finance()
            .order_profit(&codflow_domain::OrderId::parse(&order_of(2)).unwrap())
            .await
            .unwrap()
            .actual
            .unwrap()
            .revenue,
        short.2 - 1_000
    );
    let pending = app.finance().order_profit(&codflow_domain::OrderId::parse(&order_of(3)).unwrap()).await.unwrap();
    assert_eq!(serde_json::to_value(pending.stage).unwrap(), "delivered");
    assert!(pending.actual.is_none() && pending.expected.is_some());
    // The report adds up the orders it exports; every order has a row.
    let mut each = Vec::new();
    let by = codflow_domain::finance::profit::Dimension::Country;
    let report = app.finance().profit_report(&Default::default(), by, |p| each.push(p.clone())).await.unwrap();
    assert_eq!((report.orders, report.skipped), (ids.len() as i64, 0), "{:?}", report.skipped_orders);
    assert!(report.missing_rates.is_empty(), "{:?}", report.missing_rates);
    assert_eq!(report.groups.len(), 1);
    let sa = &report.groups[0];
    assert_eq!(sa.key, "SA");
    assert_eq!(sa.actual.profit, each.iter().filter_map(|p| p.actual.map(|a| a.profit)).sum::<i64>());
    assert_eq!(sa.settled, each.iter().filter(|p| p.actual.is_some()).count() as i64);
    let mut csv = codflow_app::profit::OrderProfitCsv::default();
    each.iter().for_each(|p| csv.push(p));
    assert_eq!(String::from_utf8(csv.finish().unwrap()).unwrap().lines().count(), ids.len() + 1);

    // A profile that does not exist is a clear error.
    let (ok, _, stderr) = reconcile_cli(&db.url, &payout_file, "no-such-profile").await;
    assert!(!ok);
    assert!(stderr.contains("settlement profile not found"), "{stderr}");
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(&payout_file);

    // Aging owes what the ledger's receivable holds, the short parcel's missing 10.00 included.
    // The orders behind the aging row are the two still owing, past the cycle as aging counts them.
    let mut owing = vec![order_of(2), order_of(3)];
    owing.sort_by(|a, b| b.cmp(a));
    for past_cycle in [false, true] {
        let (page, next) = app.finance().owed_orders("sandbox", sar, past_cycle, None, 50).await.unwrap();
        assert_eq!(page.iter().map(|o| o.id.to_string()).collect::<Vec<_>>(), owing, "past cycle {past_cycle}");
        assert!(next.is_none());
    }
    let (first, next) = app.finance().owed_orders("sandbox", sar, true, None, 1).await.unwrap();
    let (second, _) = app.finance().owed_orders("sandbox", sar, true, next.as_deref(), 1).await.unwrap();
    assert_eq!([first[0].id.to_string(), second[0].id.to_string()], [owing[0].clone(), owing[1].clone()]);
    assert!(app.finance().owed_orders("other", sar, false, None, 50).await.unwrap().0.is_empty());
    // On a year's settlement cycle nothing is overdue yet, though all of it is still owed.
    let mut yearly = ch.clone();
    yearly.settlement_cycle_days = 365;
    app.fulfilment().put_channels(&[yearly], worker()).await.unwrap();
    assert!(app.finance().owed_orders("sandbox", sar, true, None, 50).await.unwrap().0.is_empty());
    assert_eq!(app.finance().owed_orders("sandbox", sar, false, None, 50).await.unwrap().0.len(), 2);
    app.fulfilment().put_channels(std::slice::from_ref(&ch), worker()).await.unwrap();
    let (aging, ledger) = owed(&app, sar).await;
    assert_eq!(aging, ledger);
    assert!(aging >= 1_000, "{aging}");
    // The carrier tops up the short parcel's missing 10.00 on its next remittance: that completes it (it is
    // no duplicate), the parcel is remitted and nothing is owed on it any more.
    let topup = format!("{header}\n{}\n", row("SBR-TOPUP", &short.1, "F-short", 1_000, 0));
    let req =
        ImportRequest { file_name: "topup.csv".into(), profile: "sandbox-cod".into(), carrier: None, preview: false };
    let r = app.finance().import_statement(topup.as_bytes(), req, worker()).await.unwrap();
    assert_eq!(r.classes.iter().map(|c| (c.class, c.lines)).collect::<Vec<_>>(), vec![(LineClass::Matched, 1)]);
    assert_eq!(cod(2).await, "remitted");
    let totals = codflow_app::finance::totals(&app.finance().shipment_ledger(&short.0).await.unwrap());
    assert_eq!(totals.get(&(Account::CarrierReceivable, sar)).copied().unwrap_or(0), 0, "{totals:?}");
    assert_eq!(owed(&app, sar).await, (aging - 1_000, ledger - 1_000));
    // The same top-up again is a duplicate: the parcel is paid in full.
    let again = topup.replace("SBR-TOPUP", "SBR-TOPUP-2");
    let req =
        ImportRequest { file_name: "topup-2.csv".into(), profile: "sandbox-cod".into(), carrier: None, preview: true };
    let r = app.finance().import_statement(again.as_bytes(), req, worker()).await.unwrap();
    assert_eq!(r.classes.iter().map(|c| (c.class, c.lines)).collect::<Vec<_>>(), vec![(LineClass::Duplicate, 1)]);
}

/// What aging says the carriers owe in `currency`, and what the ledger's receivable holds.
async fn owed(app: &codflow_app::App, currency: Currency) -> (i64, i64) {
    let aging = app.finance().receivables_aging().await.unwrap();
    let ledger = app.finance().ledger_balances().await.unwrap();
    (
        aging.iter().filter(|r| r.currency == currency).map(|r| r.total.amount_minor).sum(),
        ledger.iter().filter(|b| b.0 == Account::CarrierReceivable && b.2 == currency).map(|b| b.3).sum(),
    )
}

async fn a_freight_invoice_is_audited_against_the_quotes_the_parcels_were_booked_on(engine: Engine) {
    let sb = sandbox_with("1000000", None).await;
    let externals: Vec<String> = (0..6).map(|i| format!("V-{i}")).collect();
    let refs: Vec<&str> = externals.iter().map(String::as_str).collect();
    let (db, app, ids) = ready(engine, &sb.url, &refs).await;
    let shipments = book_all(&app, &ids).await;
    // The carrier's own invoice, as downloaded: one line per parcel booked, at its own price list.
    let invoice = reqwest::get(format!(
        "{}/v1/reports/freight-invoice?from=2000-01-01T00:00:00Z&to=2200-01-01T00:00:00Z",
        sb.url
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let header = invoice.lines().next().unwrap().to_owned();
    let by_tn: HashMap<String, String> =
        invoice.lines().skip(1).map(|l| (l.split(',').nth(1).unwrap().to_owned(), l.to_owned())).collect();
    assert_eq!(by_tn.len(), shipments.len(), "{invoice}");
    let tn = |i: usize| shipments[i].1.clone();
    // The sandbox bills 15.00 + 5.00 a started kilogram: 20.00 for these parcels, as the channel's card
    // quoted them. One line of each kind: as quoted, billed at three kilograms, billed twice, not ours,
    // in dollars, below the quote.
    let with = |line: &str, kg: &str, freight: &str, currency: &str| {
        let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
        cells[5] = kg.into();
        cells[6] = freight.into();
        cells[7] = currency.into();
        cells.join(",")
    };
    assert!(by_tn[&tn(0)].ends_with(",1,20.00,SAR"), "{}", by_tn[&tn(0)]);
    let lines = [
        header.clone(),
        by_tn[&tn(0)].clone(),
        with(&by_tn[&tn(1)], "3", "30.00", "SAR"),
        by_tn[&tn(2)].clone(),
        by_tn[&tn(2)].clone(),
        with(&by_tn[&tn(2)], "1", "20.00", "SAR").replace(&tn(2), "SBXNOTOURS9"),
        with(&by_tn[&tn(3)], "1", "5.33", "USD"),
        with(&by_tn[&tn(4)], "1", "18.00", "SAR"),
    ];
    let body = (lines.join("\n") + "\n").into_bytes();
    let req = |preview| ImportRequest {
        file_name: "invoice.csv".into(),
        profile: "sandbox-freight".into(),
        carrier: None,
        preview,
    };
    let preview = app.finance().import_statement(&body, req(true), worker()).await.unwrap();
    assert!(preview.statement.is_none());
    let done = app.finance().import_statement(&body, req(false), worker()).await.unwrap();
    assert_eq!(done.classes, preview.classes);
    let count = |c: LineClass| done.classes.iter().filter(|t| t.class == c).map(|t| t.lines).sum::<i64>();
    use LineClass::*;
    let counts: Vec<i64> =
        [Matched, Overcharged, Duplicate, UnknownReference, CurrencyMismatch, Undercharged].map(count).to_vec();
    assert_eq!(counts, vec![2, 1, 1, 1, 1, 1], "{:?}", done.classes);
    // Overcharge, double billing, the wrong currency and the unknown line each need a decision; a carrier
    // billing less than quoted does not.
    assert_eq!(done.tasks_opened, 4);
    let stl = done.statement.clone().unwrap().id;
    let over = app.finance().statement_lines(&stl, Some(Overcharged), 0, 10).await.unwrap();
    assert_eq!(over.len(), 1);
    assert_eq!(over[0].shipment_id.as_ref().map(|s| s.to_string()), Some(shipments[1].0.clone()));
    assert_eq!(over[0].expected.map(|m| m.minor), Some(2_000));
    assert_eq!(over[0].difference.map(|m| m.minor), Some(1_000));
    // Its dispute packet carries the evidence: weights declared, booked and billed, and the amounts.
    let pdf = app.finance().dispute_packet(&stl, over[0].line, false).await.unwrap();
    let pages = codflow_documents::inspect::pages(&pdf.bytes).unwrap();
    let text = codflow_documents::inspect::texts(&pages[0]).join(" ");
    assert!(text.contains("billed weight 3000 g above the booked billable weight"), "{text}");
    assert!(text.contains("billed 30.00 SAR for a quote of 20.00 SAR"), "{text}");
    let csv = String::from_utf8(app.finance().dispute_packet(&stl, over[0].line, true).await.unwrap().bytes).unwrap();
    assert!(csv.contains("claim,billed weight,3000 g"), "{csv}");
    assert!(csv.contains(&format!("dispute,tracking_number,{}", tn(1))), "{csv}");
    // An invoice moves no COD cash.
    let cod = app
        .tracking()
        .tracking(&codflow_domain::ShipmentId::parse(&shipments[0].0).unwrap())
        .await
        .unwrap()
        .tracked
        .cod_status
        .as_str()
        .to_owned();
    assert_eq!(cod, "pending");
    // The cash forecast: the riyals billed (not the duplicate, the stranger's or the dollar line) fall due
    // 30 days after the invoice came in; the parcels' COD, still in transit, counts at the 85% prior.
    let forecast = app.finance().cash_forecast(12, 30).await.unwrap();
    let sum = |f: &dyn Fn(&codflow_domain::finance::forecast::Flows) -> i64| {
        forecast.weeks.iter().map(|w| f(&w.flows)).sum::<i64>() + forecast.later.values().map(f).sum::<i64>()
    };
    assert_eq!(sum(&|f| f.freight_out), 2_000 + 3_000 + 2_000 + 1_800, "{forecast:?}");
    let due = app.clock().now().date() + Duration::days(30);
    let week = forecast.weeks.iter().find(|w| w.flows.freight_out > 0).unwrap();
    assert!(week.starts <= due && due < week.starts + Duration::days(7), "{forecast:?}");
    let mut cod_total = 0;
    for (shp, _) in &shipments {
        cod_total +=
            app.tracking().tracking(&codflow_domain::ShipmentId::parse(shp).unwrap()).await.unwrap().tracked.cod.minor;
    }
    assert_eq!(sum(&|f| f.in_transit_in), cod_total * 85 / 100);
    assert_eq!(sum(&|f| f.delivered_in), 0, "nothing delivered yet");
    // Paid: it leaves the outflows; marked unpaid again (a mistake undone), it is back.
    app.finance().set_invoice_paid(&stl, Some(app.clock().now().date()), worker()).await.unwrap();
    let paid = app.finance().cash_forecast(12, 30).await.unwrap();
    let still_due = paid.weeks.iter().map(|w| w.flows.freight_out).sum::<i64>()
        + paid.later.values().map(|f| f.freight_out).sum::<i64>();
    assert_eq!(still_due, 0, "{paid:?}");
    assert_eq!(sum(&|f| f.in_transit_in), paid.weeks.iter().map(|w| w.flows.in_transit_in).sum::<i64>());
    app.finance().set_invoice_paid(&stl, None, worker()).await.unwrap();
    assert_eq!(app.finance().cash_forecast(12, 30).await.unwrap(), forecast);
    // Imported once; a later invoice billing a parcel again is caught.
    assert!(app.finance().import_statement(&body, req(false), worker()).await.unwrap().already_imported);
    let again = format!("{header}\n{}\n", by_tn[&tn(0)].replace("SBI-", "SBI2-"));
    let file = std::env::temp_dir().join(format!("invoice-{}.csv", StatementId::generate()));
    std::fs::write(&file, again).unwrap();
    let (ok, stdout, stderr) = reconcile_cli(&db.url, &file, "sandbox-freight").await;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("duplicate"), "{stdout}");
    let _ = std::fs::remove_file(&file);
}

async fn cli(args: &[&str], url: &str) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).args(args).args(["--database-url", url]).output().await.unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn a_sellers_own_profile_is_managed_from_the_cli_and_reads_a_european_layout(engine: Engine) {
    let db = codflow_store::testing::TestDb::new(engine).await;
    let dir = std::env::temp_dir().join(format!("profiles-{}", StatementId::generate()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, body: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        p.to_string_lossy().into_owned()
    };
    // A courier's export: semicolons, decimal commas, thousands dots, deductions as negative numbers,
    // day-first dates with dots or slashes, and a byte-order mark.
    let profile = json!({
        "name": "courier-eu", "kind": "cod_remittance",
        "columns": {"reference": "Batch", "tracking_number": "AWB", "amount": "Collected", "fee": "Fee",
            "net": "Paid", "date": "Date", "currency": "Cur"},
        "date_formats": ["DD.MM.YYYY", "DD/MM/YYYY"],
        "number": {"decimal": ",", "thousands": "."},
        "deductions_negative": true, "delimiter": ";", "skip_rows": 0, "weight_in_kg": false
    });
    let broken = file("broken.json", b"{\"name\": \"x\",\n  \"kind\": }");
    let (code, _, stderr) = cli(&["profiles", "put", &broken], &db.url).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("line 2 column"), "{stderr}");
    let mut unknown = profile.clone();
    unknown["columns"]["weight"] = json!("Kg");
    let (code, _, stderr) =
        cli(&["profiles", "put", &file("unknown.json", unknown.to_string().as_bytes())], &db.url).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("columns"), "the field is named: {stderr}");
    let good = file("courier.json", profile.to_string().as_bytes());
    let (code, stdout, stderr) = cli(&["profiles", "put", &good], &db.url).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("profile courier-eu created"), "{stdout}");
    assert!(cli(&["profiles", "put", &good], &db.url).await.1.contains("replaced"));
    let (_, listed, _) = cli(&["profiles", "list"], &db.url).await;
    let names: Vec<&str> = listed.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert!(names.contains(&"sandbox-cod") && names.contains(&"courier-eu"), "{listed}");
    let (_, shown, _) = cli(&["profiles", "show", "courier-eu"], &db.url).await;
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["number"], profile["number"]);
    assert_eq!(shown["columns"]["amount"], "Collected");
    let (code, _, stderr) = cli(
        &["profiles", "put", &file("builtin.json", json!({"name": "sandbox-cod"}).to_string().as_bytes())],
        &db.url,
    )
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    let (code, _, stderr) = cli(&["profiles", "delete", "sandbox-cod"], &db.url).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("built-in"), "{stderr}");

    // The layout read through the profile: every number and date understood; none of these parcels is
    // ours, so each line is an unknown reference, with its amount as the courier meant it.
    let statement = "\u{feff}Batch;AWB;Date;Cur;Collected;Fee;Paid\n\
                     B-7;AWB001;03.12.2026;SAR;1.234,50;-24,69;1.209,81\n\
                     B-7;AWB002;04/12/2026;SAR;99,00;-1,98;97,02\n";
    let (code, stdout, stderr) = cli(
        &["reconcile", &file("eu.csv", statement.as_bytes()), "--profile", "courier-eu", "--carrier", "courier"],
        &db.url,
    )
    .await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let row: Vec<&str> =
        stdout.lines().find(|l| l.starts_with("unknown_reference")).unwrap_or_default().split_whitespace().collect();
    assert_eq!(row, vec!["unknown_reference", "SAR", "2", "1333.50"], "1,234.50 + 99.00: {stdout}");
    // The same layout with commas: the profile's delimiter does not fit, and says so.
    let commas = statement.replace(';', ",");
    let (code, stdout, stderr) = cli(
        &["reconcile", &file("commas.csv", commas.as_bytes()), "--profile", "courier-eu", "--carrier", "courier"],
        &db.url,
    )
    .await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("column") || stderr.contains("header"), "{stderr}");
    let (code, stdout, _) = cli(&["profiles", "delete", "courier-eu"], &db.url).await;
    assert_eq!(code, Some(0));
    assert!(stdout.contains("deleted"));
    assert_eq!(cli(&["profiles", "show", "courier-eu"], &db.url).await.0, Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A sandbox carrier and an application on `engine` with six COD orders (`prefix-0`…) booked, delivered and their
/// cash collected; with `clock_now` the carrier's clock is set back to now at real speed (its remittance then
/// arrives today). Returns the carrier, the database, the application and the carrier's remittance report,
/// imported already as a `sandbox-cod` statement.
async fn remitted(
    engine: Engine,
    prefix: &str,
    clock_now: bool,
) -> (crate::booking::SandboxProc, codflow_store::testing::TestDb, codflow_app::App, String) {
    let sb = sandbox_with("1000000", None).await;
    let externals: Vec<String> = (0..6).map(|i| format!("{prefix}-{i}")).collect();
    let refs: Vec<&str> = externals.iter().map(String::as_str).collect();
    let (db, app, ids) = ready(engine, &sb.url, &refs).await;
    let shipments = book_all(&app, &ids).await;
    finish_journeys(&app, &sb.url, &shipments).await;
    if clock_now {
        let at = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
        let r = reqwest::Client::new()
            .post(format!("{}/v1/_clock", sb.url))
            .json(&json!({"at": at, "scale": 1.0}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let report =
        reqwest::get(format!("{}/v1/reports/cod-remittance?from=2000-01-01T00:00:00Z&to=2200-01-01T00:00:00Z", sb.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    let req =
        ImportRequest { file_name: "cod.csv".into(), profile: "sandbox-cod".into(), carrier: None, preview: false };
    let imported = app.finance().import_statement(report.as_bytes(), req, worker()).await.unwrap();
    assert!(imported.lines >= 2, "{report}");
    (sb, db, app, report)
}

async fn a_remittance_paid_into_lianlian_is_read_through_its_signed_api_as_the_payout_that_closes_it(engine: Engine) {
    use codflow_domain::carrier_account::CarrierAccountInput;
    use codflow_sandbox_carrier::lianlian as ll;
    let (sb, _db, app, _report) = remitted(engine, "L", true).await;
    let now = time::OffsetDateTime::now_utc();

    let account = |code: &str, private_key: &str, lianlian_key: &str| CarrierAccountInput {
        code: Some(code.into()),
        carrier: Some("lianlian".into()),
        name: Some("LianLian Global".into()),
        environment: Some("test".into()),
        base_url: Some(format!("{}/lianlian", sb.url)),
        credentials: Some(
            [("token", ll::TEST_TOKEN), ("private_key", private_key), ("lianlian_public_key", lianlian_key)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        ),
        webhook_secret: None,
    };
    let fulfilment = app.fulfilment();
    let put = |a| fulfilment.put_carrier_account(None, a, worker());
    put(account("ll-main", ll::TEST_SELLER_PRIVATE_KEY, ll::TEST_LIANLIAN_PUBLIC_KEY)).await.unwrap();
    // Signed with a key LianLian does not hold for the seller; and replies checked against the wrong key.
    put(account("ll-wrong-key", ll::TEST_LIANLIAN_PRIVATE_KEY, ll::TEST_LIANLIAN_PUBLIC_KEY)).await.unwrap();
    put(account("ll-forged", ll::TEST_SELLER_PRIVATE_KEY, ll::TEST_SELLER_PUBLIC_KEY)).await.unwrap();
    let code = |c: &str| codflow_domain::CarrierAccountCode::parse(c).unwrap();
    let test = fulfilment.test_carrier_account(&code("ll-main")).await.unwrap();
    assert_eq!(test.outcome, "connected", "{}", test.message);
    let test = fulfilment.test_carrier_account(&code("ll-wrong-key")).await.unwrap();
    assert_eq!(test.outcome, "credentials_refused", "{}", test.message);

    let (from, to) = (now.date() - Duration::days(1), now.date() + Duration::days(2));
    let finance = app.finance();
    let e = finance.import_platform_statement(&code("ll-forged"), from, to, false, worker()).await.unwrap_err();
    assert!(e.to_string().contains("not signed by LianLian"), "{e}");
    let preview = finance.import_platform_statement(&code("ll-main"), from, to, true, worker()).await.unwrap();
    assert!(preview.statement.is_none(), "a preview records nothing");
    let payout = finance.import_platform_statement(&code("ll-main"), from, to, false, worker()).await.unwrap();
    assert!(payout.statement.is_some() && !payout.already_imported);
    assert_eq!(payout.error_count, 0, "{:?}", payout.errors);
    assert!(payout.lines >= 1);
    assert!(
        payout.classes.iter().all(|c| c.class == LineClass::Matched),
        "each receiving pays its remittance in full, less LianLian's fee: {:?}",
        payout.classes
    );
    // The same period again is the same statement.
    let again = finance.import_platform_statement(&code("ll-main"), from, to, false, worker()).await.unwrap();
    assert!(again.already_imported);
    // The cash moved from in transit to the bank, less LianLian's fee.
    let balances = finance.ledger_balances().await.unwrap();
    let bank: i64 = balances.iter().filter(|b| b.0 == Account::Bank).map(|b| b.3).sum();
    assert!(bank > 0, "{balances:?}");
    // A period with nothing received is said so, and a LianLian outage is a retryable refusal; neither records.
    let empty = finance
        .import_platform_statement(
            &code("ll-main"),
            from - Duration::days(60),
            from - Duration::days(30),
            false,
            worker(),
        )
        .await
        .unwrap_err();
    assert!(
        empty.to_string().contains("invalid") || format!("{empty:?}").contains("no completed receivings"),
        "{empty:?}"
    );
    reqwest::Client::new()
        .post(format!("{}/v1/_faults", sb.url))
        .json(&json!({"kind": "error", "endpoint": "lianlian"}))
        .send()
        .await
        .unwrap();
    let down = finance.import_platform_statement(&code("ll-main"), from, to, true, worker()).await.unwrap_err();
    assert!(format!("{down:?}").contains("CarrierUnavailable"), "{down:?}");
}

/// `1234567.5` as Payoneer writes it: `1,234,567.50`.
fn with_thousands(amount: &str) -> String {
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, "00"));
    let digits: Vec<char> = whole.chars().collect();
    let mut out = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(*c);
    }
    format!("{out}.{frac}")
}

async fn a_payoneer_account_export_closes_the_remittances_its_credits_name_and_leaves_the_rest_out(engine: Engine) {
    let (_sb, db, app, report) = remitted(engine, "P", false).await;
    // What each remittance paid, per currency, as the carrier's report says: what reaches the wallet.
    let mut lines = report.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (rem, cur, net) = (col("remittance_ref"), col("currency"), col("net_amount"));
    let mut paid: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for l in lines.filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = l.split(',').collect();
        let c = Currency::parse(cells[cur]).unwrap();
        let m = Money::parse(cells[net], c).unwrap();
        *paid.entry((cells[rem].to_owned(), cells[cur].to_owned())).or_default() += m.minor;
    }
    assert!(!paid.is_empty());

    let mut csv = String::from(
        "Transaction Date,Transaction Time,Time Zone,Transaction ID,Description,Credit Amount,Debit Amount,Currency,\
         Transfer Amount,Transfer Amount Currency,Status,Running Balance,Additional Description,Store Name,Source,\
         Target,Reference ID\n",
    );
    for (i, ((reference, currency), minor)) in paid.iter().enumerate() {
        let amount = with_thousands(&Money::new(*minor, Currency::parse(currency).unwrap()).amount_string());
        csv.push_str(&format!(
            "12/{:02}/2026,10:15:00,UTC,{},Payment from Sandbox Express,\"{amount}\",,{currency},,,Completed,,\
             \"Payment ref {reference}\",,Sandbox Express,{currency} balance,\n",
            i + 1,
            900_100 + i
        ));
    }
    // A withdrawal to the bank, a Payoneer fee and a transfer still pending: none of them pays a remittance.
    csv.push_str("12/20/2026,11:00:00,UTC,900200,Withdrawal to BANK,,\"5,000.00\",USD,\"36,500.00\",CNY,Completed,,,,USD balance,BANK,WD-1\n");
    csv.push_str("12/21/2026,11:00:00,UTC,900201,Annual account fee,,29.95,USD,,,Completed,,,,USD balance,Payoneer,\n");
    csv.push_str("12/22/2026,11:00:00,UTC,900202,Payment from Sandbox Express,\"1,000.00\",,SAR,,,Pending,,Payment ref REM-LATER,,,,\n");
    let file = std::env::temp_dir().join(format!("payoneer-{}.csv", StatementId::generate()));
    std::fs::write(&file, &csv).unwrap();
    let (ok, stdout, stderr) = reconcile_cli(&db.url, &file, "payoneer-payout").await;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains(&format!("{} lines read, 0 refused, 3 left out by the profile", paid.len())), "{stdout}");
    let again = app
        .finance()
        .import_statement(
            csv.as_bytes(),
            ImportRequest {
                file_name: "again.csv".into(),
                profile: "payoneer-payout".into(),
                carrier: None,
                preview: false,
            },
            worker(),
        )
        .await
        .unwrap();
    assert!(again.already_imported);
    assert_eq!(
        again.classes.iter().map(|c| (c.class, c.lines)).collect::<Vec<_>>(),
        vec![(LineClass::Matched, paid.len() as i64)],
        "each credit closes the remittance its reference names, in full"
    );
    let balances = app.finance().ledger_balances().await.unwrap();
    let bank: i64 = balances.iter().filter(|b| b.0 == Account::Bank).map(|b| b.3).sum();
    let in_transit: i64 = balances.iter().filter(|b| b.0 == Account::CashInTransit).map(|b| b.3).sum();
    assert_eq!(bank, paid.values().sum::<i64>(), "{balances:?}");
    assert_eq!(in_transit, 0, "{balances:?}");
    // Next month's export lists the same credits again: the remittances are paid out already, nothing moves.
    let next = csv.replace("/2026,", "/2027,");
    let req = ImportRequest {
        file_name: "next.csv".into(),
        profile: "payoneer-payout".into(),
        carrier: None,
        preview: false,
    };
    let r = app.finance().import_statement(next.as_bytes(), req, worker()).await.unwrap();
    assert!(!r.already_imported);
    assert_eq!(
        r.classes.iter().map(|c| (c.class, c.lines)).collect::<Vec<_>>(),
        vec![(LineClass::Duplicate, paid.len() as i64)]
    );
    assert_eq!(app.finance().ledger_balances().await.unwrap(), balances);
    let _ = std::fs::remove_file(&file);
}
