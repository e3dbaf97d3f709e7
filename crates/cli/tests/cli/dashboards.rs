//! The dashboards' sums against independent SQL over the same data, after real journeys with the sandbox
//! carrier process (deliveries, refusals, customs holds), and kept true as orders keep changing.

use std::collections::BTreeMap;

use codflow_domain::kpi::Metrics;
use codflow_store::kpi::Filter;
use codflow_store::{Engine, Store};
use serde_json::json;
use sqlx::Row;

use crate::booking::{order_input, ready, worker};
use crate::tracking::{book_all, finish_journeys, sandbox_with};

codflow_store::on_both_engines!(dashboard_sums_agree_with_sql_over_the_orders_parcels_and_events,);

async fn rows(store: &Store, sql: &str) -> Vec<(String, i64)> {
    let mut conn = store.read().await.unwrap();
    sqlx::query(sql)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get::<String, _>(0).unwrap(), r.try_get::<i64, _>(1).unwrap()))
        .collect()
}

fn by_key(sums: &[(Vec<String>, Metrics)], f: impl Fn(&Metrics) -> i64) -> BTreeMap<String, i64> {
    sums.iter().map(|(k, m)| (k.join("/"), f(m))).filter(|(_, v)| *v != 0).collect()
}

async fn dashboard_sums_agree_with_sql_over_the_orders_parcels_and_events(engine: Engine) {
    // Half the parcels held in customs for a day and a half; a third of failed attempts end in refusal.
    let lane = json!({"delivery_rate": 0.55, "refusal_share": 0.9, "customs_hold_probability": 0.5,
        "customs_hold_hours": 36, "transit_days": 3, "loss_rate": 0.0});
    let model = json!({"default": lane, "countries": {"SA": lane}});
    let sb = sandbox_with("1000000", Some(model)).await;
    let externals: Vec<String> = (0..24).map(|i| format!("D-{i}")).collect();
    let refs: Vec<&str> = externals.iter().map(String::as_str).collect();
    let (_db, app, ids) = ready(engine, &sb.url, &refs).await;
    let shipments = book_all(&app, &ids).await;
    finish_journeys(&app, &sb.url, &shipments).await;

    let refreshed = app.insights().refresh_kpis().await.unwrap();
    assert!(refreshed >= ids.len(), "every order counted once at least: {refreshed}");
    assert_eq!(app.insights().kpi_backlog().await.unwrap(), 0);
    let all = Filter::default();
    let sums = app
        .insights()
        .kpi_sums(&all, &[codflow_domain::kpi::Dim::Country, codflow_domain::kpi::Dim::Channel], false)
        .await
        .unwrap();
    let store = &app.store;

    let orders = rows(
        store,
        "SELECT ship_country || '/' || COALESCE(channel, ''), COUNT(*) FROM orders GROUP BY ship_country, channel",
    )
    .await;
    assert_eq!(by_key(&sums, Metrics::orders), orders.into_iter().collect());
    let shipped = rows(
        store,
        "SELECT o.ship_country || '/' || t.lane_channel, COUNT(*) FROM tracking t JOIN orders o ON o.id = t.order_id \
         WHERE t.status <> 'cancelled' GROUP BY o.ship_country, t.lane_channel",
    )
    .await;
    assert_eq!(by_key(&sums, Metrics::shipped), shipped.into_iter().collect());
    for (outcome, metric) in [("delivered", Metrics::delivered as fn(&Metrics) -> i64), ("refused", Metrics::refused)] {
        let sql = format!(
            "SELECT o.ship_country || '/' || o.channel, COUNT(*) FROM order_outcomes x JOIN orders o ON o.id = x.order_id \
             WHERE x.outcome = '{outcome}' GROUP BY o.ship_country, o.channel"
        );
        let expected: BTreeMap<String, i64> = rows(store, &sql).await.into_iter().collect();
        assert_eq!(by_key(&sums, metric), expected, "{outcome}");
    }
    let held = rows(
        store,
        "SELECT o.ship_country || '/' || t.lane_channel, COUNT(DISTINCT t.shipment_id) FROM tracking t \
         JOIN orders o ON o.id = t.order_id JOIN tracking_events e ON e.shipment_id = t.shipment_id \
         WHERE e.status LIKE 'customs_held%' GROUP BY o.ship_country, t.lane_channel",
    )
    .await;
    let held: BTreeMap<String, i64> = held.into_iter().collect();
    assert!(held.values().sum::<i64>() > 0, "the model held some parcels in customs");
    assert_eq!(by_key(&sums, Metrics::customs_held), held);
    let refused: i64 = by_key(&sums, Metrics::refused).values().sum();
    assert!(refused > 0, "some parcels were refused");

    // Clearance: first customs scan to release, per parcel, computed here from the events.
    let mut conn = store.read().await.unwrap();
    let evs = sqlx::query(
        "SELECT shipment_id, at, status FROM tracking_events WHERE status LIKE 'customs%' ORDER BY shipment_id, at",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let mut per: BTreeMap<String, (i64, Option<i64>)> = BTreeMap::new();
    for r in &evs {
        let (id, at, status): (String, i64, String) = (r.get(0), r.get(1), r.get(2));
        let e = per.entry(id).or_insert((at, None));
        if status == "customs_released" && e.1.is_none() {
            e.1 = Some(at);
        }
    }
    let mut hours: Vec<i64> =
        per.values().filter_map(|(start, end)| end.map(|e| ((e - start) / 60_000_000 + 30) / 60)).collect();
    hours.sort();
    let median = hours[hours.len().div_ceil(2) - 1];
    let clearance = app.insights().kpi_clearance(&all, &[codflow_domain::kpi::Dim::Country]).await.unwrap();
    assert_eq!(clearance.get(&vec!["SA".to_string()]), Some(&(median, hours.len() as i64)));

    // The same sums by SKU and region, and a date range that excludes every order, agree too.
    let by_sku = app
        .insights()
        .kpi_sums(&all, &[codflow_domain::kpi::Dim::Sku, codflow_domain::kpi::Dim::Region], true)
        .await
        .unwrap();
    assert_eq!(by_sku.len(), 1);
    assert_eq!(by_sku[0].0, vec!["LAMP-01".to_string(), "Riyadh Province".to_string()]);
    assert_eq!(by_sku[0].1.refused(), refused);
    // Every order not cancelled counts once in the profit distribution; the buckets below zero are the
    // loss-makers.
    let mut dist = [0i64; 8];
    for (_, m) in &sums {
        for (d, v) in dist.iter_mut().zip(m.profit_distribution()) {
            *d += v;
        }
    }
    let live = count_sql(store, "SELECT 'n', COUNT(*) FROM orders WHERE status <> 'cancelled'").await;
    assert_eq!(dist.iter().sum::<i64>(), live);
    let losses: i64 = sums.iter().map(|s| s.1.loss_orders()).sum();
    assert_eq!(dist[..3].iter().sum::<i64>(), losses);
    // One SKU carries all of its orders' money: the SKU's cost and profit are the lanes' together.
    let lanes_profit: i64 = sums.iter().map(|s| s.1.profit_minor()).sum();
    let lanes_cost: i64 = sums.iter().map(|s| s.1.cost_minor()).sum();
    assert!(lanes_cost > 0, "booked parcels have a landed cost");
    assert_eq!((by_sku[0].1.cost_minor(), by_sku[0].1.profit_minor()), (lanes_cost, lanes_profit));
    let nov20 = codflow_domain::kpi::day_of(time::macros::datetime!(2026-11-20 00:00 UTC));
    let before = Filter { to_day: Some(nov20 - 1), ..Filter::default() };
    assert!(app.insights().kpi_sums(&before, &[codflow_domain::kpi::Dim::Country], false).await.unwrap().is_empty());

    // Refreshing again changes nothing; a new order moves exactly its own counts.
    app.insights().refresh_kpis().await.unwrap();
    let again = app
        .insights()
        .kpi_sums(&all, &[codflow_domain::kpi::Dim::Country, codflow_domain::kpi::Dim::Channel], false)
        .await
        .unwrap();
    assert_eq!(again, sums);
    let created = app.intake().create_order(order_input("manual", "D-extra"), worker()).await.unwrap();
    app.insights().refresh_kpis().await.unwrap();
    let after = app.insights().kpi_sums(&all, &[codflow_domain::kpi::Dim::Country], false).await.unwrap();
    let total = |s: &[(Vec<String>, Metrics)]| s.iter().map(|(_, m)| m.orders()).sum::<i64>();
    assert_eq!(total(&after), total(&sums) + 1, "{created:?}");

    // The figures list their orders: every refused order, and nothing else.
    let (behind, _) = app.insights().orders_behind(&all, Some("refused"), None, 500).await.unwrap();
    assert_eq!(behind.len() as i64, refused);
    let refused_ids: Vec<String> = rows(store, "SELECT order_id, 0 FROM order_outcomes WHERE outcome = 'refused'")
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert!(behind.iter().all(|o| refused_ids.contains(&o.id.to_string())));
}

async fn count_sql(store: &Store, sql: &str) -> i64 {
    rows(store, sql).await.first().map(|r| r.1).unwrap_or(0)
}

/// A short simulation through the real pipeline and a sandbox carrier process of its own fills every
/// dashboard: orders reviewed and booked, parcels delivered and refused, customs holds, statements imported,
/// and the sums agree with the orders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_simulation_drives_every_stage_and_fills_the_dashboards() {
    let db = codflow_store::testing::TestDb::new(Engine::Sqlite).await;
    let out = tokio::process::Command::new(crate::BIN)
        .args(["simulate", "--days", "4", "--orders-per-day", "40", "--seconds-per-day", "1", "--seed", "3"])
        .args(["--database-url", &db.url])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("simulated:    4 days, 160 orders"), "{stdout}");
    let store = Store::connect(&db.url).await.unwrap();
    let count = |sql: &'static str| {
        let store = store.clone();
        async move { rows(&store, sql).await.first().map(|r| r.1).unwrap_or(0) }
    };
    // The simulated days' orders: keyed-in ones numbered S…, the shops' numbered from 1,000,000 as platforms do.
    let from_shops = count(
        "SELECT 'n', COUNT(*) FROM orders WHERE store IN ('shopify-main', 'woo-gulf') AND LENGTH(external_id) = 7",
    )
    .await;
    assert_eq!(count("SELECT 'n', COUNT(*) FROM orders WHERE external_id LIKE 'S%'").await + from_shops, 160);
    assert_eq!(count("SELECT 'n', COUNT(*) FROM orders").await, 160, "nothing but the simulated days' orders");
    // The shops' orders came as signed webhooks, each made into its order exactly once.
    assert!(from_shops > 20, "{from_shops}");
    assert_eq!(
        count("SELECT 'n', COUNT(*) FROM channel_inbox WHERE source = 'webhook' AND outcome = 'created'").await,
        from_shops
    );
    assert_eq!(count("SELECT 'n', COUNT(DISTINCT store_code) FROM channel_inbox").await, 2);
    assert!(count("SELECT 'n', COUNT(*) FROM tracking").await >= 100, "most orders were booked");
    assert!(count("SELECT 'n', COUNT(*) FROM order_outcomes WHERE outcome = 'delivered'").await > 0);
    assert!(count("SELECT 'n', COUNT(*) FROM order_outcomes WHERE outcome = 'refused'").await > 0);
    assert!(
        count("SELECT 'n', COUNT(DISTINCT shipment_id) FROM tracking_events WHERE status LIKE 'customs_held%'").await
            > 0
    );
    assert!(count("SELECT 'n', COUNT(*) FROM statements").await >= 2, "remittance and invoice imported: {stdout}");
    // Refused parcels came back: expected, and most received and graded at the warehouse.
    let returns = count("SELECT 'n', COUNT(*) FROM returns").await;
    let closed = count("SELECT 'n', COUNT(*) FROM returns WHERE status = 'closed'").await;
    assert!(returns > 0 && closed > 0 && closed <= returns, "{returns} returns, {closed} graded: {stdout}");
    let abroad = count("SELECT 'n', COUNT(*) FROM returns WHERE status = 'closed' AND route = 'hold_abroad'").await;
    assert!(
        stdout.contains(&format!(
            "returns:      {} returned parcels received and graded, {abroad} held abroad",
            closed - abroad
        )),
        "{stdout}"
    );
    assert_eq!(count("SELECT 'n', COUNT(*) FROM kpi_dirty").await, 0, "the dashboards caught up");
    let counted = count("SELECT 'n', CAST(SUM(orders) AS BIGINT) FROM kpi_daily").await;
    assert_eq!(counted, count("SELECT 'n', COUNT(*) FROM orders").await);
    // Each day's first parcels went through the pack stations: weighed, most printed, none left held (the
    // supervisor released the one far off its weight: it was already travelling).
    let weighed = count("SELECT 'n', COUNT(*) FROM packs WHERE weight_g IS NOT NULL").await;
    assert!((20..=32).contains(&weighed), "8 a day over 4 days, some parcels moved meanwhile: {weighed}");
    assert_eq!(count("SELECT 'n', COUNT(*) FROM packs WHERE status = 'intercepted'").await, 0);
    assert!(count("SELECT 'n', COUNT(*) FROM packs WHERE outcome = 'released'").await >= 1);
    assert!(count("SELECT 'n', COUNT(DISTINCT station) FROM packs").await == 2);
}

/// With `--carrier-lanes`, a lane runs through each carrier codflow books with, its protocol served by the
/// simulation's sandbox carrier: every lane books parcels, each booked parcel is followed through its carrier's
/// own tracking (polled, and pushed in Ninja Van's and J&T's formats), and journeys end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulation_with_carrier_lanes_books_and_tracks_through_every_carrier() {
    let db = codflow_store::testing::TestDb::new(Engine::Sqlite).await;
    let out = tokio::process::Command::new(crate::BIN)
        .args(["simulate", "--days", "5", "--orders-per-day", "120", "--seconds-per-day", "1", "--seed", "3"])
        .args(["--carrier-lanes", "--database-url", &db.url])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lanes = stdout.lines().find_map(|l| l.strip_prefix("lanes:")).unwrap_or_else(|| panic!("{stdout}"));
    for lane in lanes.split(',') {
        let (carrier, figures) = lane.trim().split_once(' ').unwrap();
        let n: Vec<usize> = figures.split(['/', ' ']).filter_map(|w| w.parse().ok()).collect();
        let [booked, tracked, finished, pushed] = n[..] else { panic!("{lane}") };
        assert!(booked > 0, "{carrier} booked nothing: {lanes}");
        assert_eq!(tracked, booked, "{carrier}: every parcel followed through the carrier: {lanes}");
        assert!(finished > 0, "{carrier}: journeys end: {lanes}");
        if ["ninjavan", "jnt"].contains(&carrier) {
            assert!(pushed > 0, "{carrier} pushes in its own format: {lanes}");
        }
    }
    assert_eq!(lanes.split(',').count(), 9, "{lanes}");
    let store = Store::connect(&db.url).await.unwrap();
    let unmapped = rows(
        &store,
        "SELECT carrier, COUNT(*) FROM tracking_events WHERE status = 'unknown' AND carrier <> 'sandbox' GROUP BY carrier",
    )
    .await;
    assert!(unmapped.is_empty(), "every scan of every carrier is mapped by default: {unmapped:?}");
}
