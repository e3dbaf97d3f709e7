//! The store suite. Every test runs twice, on SQLite and on PostgreSQL, each time on a fresh database.

use codflow_domain::order::{AddressInput, BuyerInput, LineInput, MoneyInput};
use codflow_domain::{
    Country, Currency, Money, Order, OrderInput, OrderStatus, Product, ProductId, ShopCode, Sku, Warehouse,
    WarehouseCode, WarehouseId,
};
use codflow_store::orders::{self, OrderFilter};
use codflow_store::testing::TestDb;
use codflow_store::{Engine, Store, catalogue, commit};
use time::OffsetDateTime;

codflow_store::on_both_engines!(
    migrations_can_run_again_without_changing_anything,
    an_order_reads_back_exactly_as_it_was_written,
    concurrent_inserts_of_one_external_id_store_it_once,
    several_stock_rows_are_reserved_in_one_statement_or_the_shortfall_is_reported,
    concurrent_reservations_never_take_more_than_is_on_hand,
    the_database_refuses_reserving_more_than_is_on_hand,
    listing_filters_and_pages_newest_first,
    releasing_gives_back_exactly_what_was_reserved,
    open_cod_sums_agree_with_the_parcels_at_every_instant_folded_or_not,
    a_remittance_settling_parcels_in_bulk_keeps_the_open_cod_sums_and_leaves_the_trigger_on,
    every_written_out_statement_of_the_store_prepares_against_the_schema,
    wave_tickets_drawn_at_once_by_many_stations_are_all_different,
    table_statistics_are_gathered_on_demand_where_the_planner_uses_them,
    bulk_inserts_keep_every_awkward_value_exactly_and_count_what_they_skip,
    new_orders_go_in_with_their_lines_reservations_and_audits_and_a_duplicate_is_counted_out,
    reservations_of_many_rows_taken_at_once_in_opposite_orders_never_deadlock,
);

async fn fresh(engine: Engine) -> (TestDb, Store) {
    let db = TestDb::new(engine).await;
    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    (db, store)
}

fn sar() -> Currency {
    Currency::parse("SAR").unwrap()
}

fn product(sku: &str) -> Product {
    Product {
        id: ProductId::generate(),
        sku: Sku::parse(sku).unwrap(),
        title: "Lamp".into(),
        unit_weight_g: 420,
        unit_cost: Money::new(1200, Currency::parse("CNY").unwrap()),
        hs_code: None,
        origin_country: None,
        category: Some("home".into()),
    }
}

async fn seed(store: &Store, on_hand: i64) -> (WarehouseId, ProductId) {
    let w = Warehouse {
        id: WarehouseId::generate(),
        code: WarehouseCode::parse("SZ1").unwrap(),
        name: "Shenzhen".into(),
        country: Country::parse("CN").unwrap(),
    };
    let p = product("LAMP-01");
    let mut tx = store.begin().await.unwrap();
    catalogue::insert_warehouse(&mut tx, &w).await.unwrap();
    catalogue::insert_product(&mut tx, &p).await.unwrap();
    assert!(catalogue::set_on_hand(&mut tx, &w.id, &p.id, on_hand).await.unwrap());
    commit(tx).await.unwrap();
    (w.id, p.id)
}

fn order(external_id: &str, country: &str) -> Order {
    let input = OrderInput {
        store: Some("manual".into()),
        external_id: Some(external_id.into()),
        placed_at: Some("2026-11-20T10:00:00Z".into()),
        currency: Some("SAR".into()),
        payment_method: Some("cod".into()),
        buyer: BuyerInput {
            name: Some("Noura".into()),
            phone: Some("+966501234567".into()),
            email: Some("n@example.com".into()),
        },
        shipping_address: AddressInput {
            name: Some("Noura".into()),
            line1: Some("King Fahd Rd 12".into()),
            city: Some("Riyadh".into()),
            region: Some("Riyadh Province".into()),
            postal_code: Some("12211".into()),
            country: Some(country.into()),
            ..Default::default()
        },
        lines: vec![LineInput {
            sku: Some("LAMP-01".into()),
            quantity: Some(2),
            unit_price: Some(MoneyInput { amount: "59.00".into(), currency: None }),
        }],
        shipping_fee: Some(MoneyInput { amount: "10.00".into(), currency: None }),
    };
    // Whole seconds: stored times keep microseconds, so compare like with like.
    let now = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
    input.validate(now).unwrap().into_order(now).unwrap()
}

async fn insert(store: &Store, o: &Order, product: &ProductId) -> bool {
    let mut tx = store.begin().await.unwrap();
    let inserted = orders::insert_orders(&mut tx, &[(o, None)]).await.unwrap() == 1;
    if inserted {
        let lines: Vec<_> = o.lines.iter().map(|l| (&o.id, product, l)).collect();
        orders::insert_lines(&mut tx, &lines).await.unwrap();
    }
    commit(tx).await.unwrap();
    inserted
}

async fn migrations_can_run_again_without_changing_anything(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let (_, p) = seed(&store, 5).await;
    store.migrate().await.expect("second migrate");
    assert!(insert(&store, &order("1", "SA"), &p).await);
    assert_eq!(orders::count(&mut store.read().await.unwrap()).await.unwrap(), 1);
}

async fn an_order_reads_back_exactly_as_it_was_written(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let (_, p) = seed(&store, 5).await;
    let o = order("1001", "SA");
    assert!(insert(&store, &o, &p).await);
    let mut conn = store.read().await.unwrap();
    let back = orders::get(&mut conn, &o.id).await.unwrap().expect("stored");
    assert_eq!(back, o);
    let by_ext = orders::get_by_external(&mut conn, &ShopCode::parse("manual").unwrap(), "1001").await.unwrap();
    assert_eq!(by_ext.map(|o| o.id), Some(o.id));
    assert_eq!(back.total, Money::new(12800, sar()));
}

async fn concurrent_inserts_of_one_external_id_store_it_once(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let (_, p) = seed(&store, 5).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, p) = (store.clone(), p.clone());
            tokio::spawn(async move { insert(&store, &order("dup", "SA"), &p).await })
        })
        .collect();
    let mut inserted = 0;
    for t in tasks {
        inserted += t.await.unwrap() as i32;
    }
    assert_eq!(inserted, 1);
    assert_eq!(orders::count(&mut store.read().await.unwrap()).await.unwrap(), 1);
}

async fn concurrent_reservations_never_take_more_than_is_on_hand(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let (w, p) = seed(&store, 50).await;
    let tasks: Vec<_> = (0..120)
        .map(|_| {
            let (store, w, p) = (store.clone(), w.clone(), p.clone());
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let got = catalogue::try_reserve(&mut tx, &w, &p, 1).await.unwrap();
                commit(tx).await.unwrap();
                got
            })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        granted += t.await.unwrap() as i64;
    }
    assert_eq!(granted, 50);
    let level = catalogue::stock_level(&mut store.read().await.unwrap(), &w, &p).await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved, level.available()), (50, 50, 0));
}

async fn several_stock_rows_are_reserved_in_one_statement_or_the_shortfall_is_reported(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let (w, lamp) = seed(&store, 5).await;
    let shade = product("SHADE-01");
    let mut tx = store.begin().await.unwrap();
    catalogue::insert_product(&mut tx, &shade).await.unwrap();
    assert!(catalogue::set_on_hand(&mut tx, &w, &shade.id, 1).await.unwrap());
    commit(tx).await.unwrap();
    let level = |p: ProductId| {
        let (store, w) = (store.clone(), w.clone());
        async move {
            let l = catalogue::stock_level(&mut store.read().await.unwrap(), &w, &p).await.unwrap().unwrap();
            (l.on_hand, l.reserved)
        }
    };
    // Two units of the shade where there is one: false, and nothing stays taken once rolled back.
    let mut tx = store.begin().await.unwrap();
    assert!(!catalogue::try_reserve_all(&mut tx, &[(&w, &lamp, 2), (&w, &shade.id, 2)]).await.unwrap());
    codflow_store::rollback(tx).await.unwrap();
    assert_eq!((level(lamp.clone()).await, level(shade.id.clone()).await), ((5, 0), (1, 0)));
    // Both there: both taken at once.
    let mut tx = store.begin().await.unwrap();
    assert!(catalogue::try_reserve_all(&mut tx, &[(&w, &lamp, 2), (&w, &shade.id, 1)]).await.unwrap());
    assert!(catalogue::try_reserve_all(&mut tx, &[]).await.unwrap(), "nothing to take is taken");
    commit(tx).await.unwrap();
    assert_eq!((level(lamp.clone()).await, level(shade.id.clone()).await), ((5, 2), (1, 1)));
}

async fn the_database_refuses_reserving_more_than_is_on_hand(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let (w, p) = seed(&store, 3).await;
    let mut tx = store.begin().await.unwrap();
    assert!(catalogue::try_reserve(&mut tx, &w, &p, 3).await.unwrap());
    assert!(!catalogue::try_reserve(&mut tx, &w, &p, 1).await.unwrap());
    commit(tx).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(!catalogue::set_on_hand(&mut tx, &w, &p, 2).await.unwrap(), "a count below the reservations is refused");
    // And should any code write it anyway, the schema itself refuses.
    let err = sqlx::query("UPDATE stock SET on_hand = 2").execute(&mut *tx).await.unwrap_err();
    assert!(codflow_store::Error::from(err).is_check_violation());
    commit(tx).await.unwrap();
    let level = catalogue::stock_level(&mut store.read().await.unwrap(), &w, &p).await.unwrap().unwrap();
    assert_eq!((level.on_hand, level.reserved), (3, 3));
}

async fn listing_filters_and_pages_newest_first(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let (_, p) = seed(&store, 5).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let o = order(&format!("L{i}"), if i % 2 == 0 { "SA" } else { "AE" });
        ids.push(o.id.clone());
        insert(&store, &o, &p).await;
    }
    let mut conn = store.read().await.unwrap();
    let sa = orders::list(
        &mut conn,
        &OrderFilter { country: Some(Country::parse("SA").unwrap()), ..Default::default() },
        50,
    )
    .await
    .unwrap();
    assert_eq!(sa.len(), 4);
    assert!(sa.iter().all(|o| o.shipping_address.country.code() == "SA"));
    let first = orders::list(&mut conn, &OrderFilter::default(), 3).await.unwrap();
    assert_eq!(first.len(), 4, "one extra row tells there is a next page");
    let newest: Vec<_> = ids.iter().rev().take(3).cloned().collect();
    assert_eq!(first.iter().take(3).map(|o| o.id.clone()).collect::<Vec<_>>(), newest);
    let rest = orders::list(&mut conn, &OrderFilter { before: Some(first[2].id.clone()), ..Default::default() }, 50)
        .await
        .unwrap();
    assert_eq!(rest.len(), 4);
    let none = orders::list(&mut conn, &OrderFilter { status: Some(OrderStatus::Closed), ..Default::default() }, 50)
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn releasing_gives_back_exactly_what_was_reserved(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let (w, p) = seed(&store, 10).await;
    let o = order("R1", "SA");
    insert(&store, &o, &p).await;
    let mut tx = store.begin().await.unwrap();
    assert!(catalogue::try_reserve(&mut tx, &w, &p, 2).await.unwrap());
    orders::insert_reservations(&mut tx, &[(&o.id, &w, &p, 2)], 0).await.unwrap();
    commit(tx).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(orders::release_reservations(&mut tx, &o.id).await.unwrap(), 2);
    assert_eq!(orders::release_reservations(&mut tx, &o.id).await.unwrap(), 0, "a second release gives nothing");
    commit(tx).await.unwrap();
    let level = catalogue::stock_level(&mut store.read().await.unwrap(), &w, &p).await.unwrap().unwrap();
    assert_eq!(level.reserved, 0);
}

/// The open receivables straight from the parcel rows, as the cash page read them before the sums.
async fn owed_from_parcels(store: &Store, now: i64, before: i64) -> Vec<(String, String, String, i64, i64, i64)> {
    let rows = sqlx::query(
        "SELECT carrier, cod_currency, lane_channel, ($1 - delivered_at) / 86400000000 AS days, COUNT(*) AS n, \
                CAST(SUM(cod_minor) AS BIGINT) AS amount FROM tracking \
          WHERE cod_status IN ('expected', 'collected') AND delivered_at IS NOT NULL AND cod_minor > 0 \
            AND delivered_at <= $2 \
          GROUP BY carrier, cod_currency, lane_channel, ($1 - delivered_at) / 86400000000 \
          ORDER BY carrier, cod_currency, lane_channel, days",
    )
    .bind(now)
    .bind(before)
    .fetch_all(&mut *store.read().await.unwrap())
    .await
    .unwrap();
    use sqlx::Row;
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))).collect()
}

async fn travelling_from_parcels(store: &Store) -> Vec<(String, String, String, i64, i64)> {
    let rows = sqlx::query(
        "SELECT cod_currency, lane_channel, lane_country, booked_at / 86400000000 AS day, \
                CAST(SUM(cod_minor) AS BIGINT) AS amount FROM tracking \
          WHERE cod_minor > 0 AND delivered_at IS NULL AND cod_status = 'pending' \
            AND status NOT IN ('returning', 'returned', 'lost', 'damaged', 'cancelled') \
          GROUP BY cod_currency, lane_channel, lane_country, booked_at / 86400000000 \
          ORDER BY cod_currency, lane_channel, lane_country, day",
    )
    .fetch_all(&mut *store.read().await.unwrap())
    .await
    .unwrap();
    use sqlx::Row;
    rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect()
}

async fn assert_sums_agree(store: &Store, instants: &[i64]) {
    use codflow_store::{finance, profit};
    for &now in instants {
        for at_least in [None, Some(3), Some(8)] {
            let before = at_least.map(|d: i64| now - d * 86_400_000_000).unwrap_or(i64::MAX);
            let t = codflow_store::from_micros(now);
            let mut sums: Vec<_> = finance::open_receivables(&mut store.read().await.unwrap(), t, at_least)
                .await
                .unwrap()
                .into_iter()
                .map(|o| (o.carrier, o.currency.code().to_owned(), o.channel, o.days, o.parcels, o.amount_minor))
                .collect();
            sums.sort();
            assert_eq!(sums, owed_from_parcels(store, now, before).await, "owed at {t}, at least {at_least:?} days");
        }
    }
    let mut travelling: Vec<_> = profit::cod_in_transit(&mut store.read().await.unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|(c, ch, co, day, amount)| {
            (
                c.code().to_owned(),
                ch,
                co,
                (day - time::Date::from_calendar_date(1970, time::Month::January, 1).unwrap()).whole_days(),
                amount,
            )
        })
        .collect();
    travelling.sort();
    assert_eq!(travelling, travelling_from_parcels(store).await);
}

async fn open_cod_sums_agree_with_the_parcels_at_every_instant_folded_or_not(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let (_, product) = seed(&store, 1_000).await;
    for i in 0..60 {
        insert(&store, &order(&format!("{i}"), if i % 4 == 0 { "AE" } else { "SA" }), &product).await;
    }
    let mut tx = store.begin().await.unwrap();
    sqlx::query("UPDATE orders SET status = 'allocated'").execute(&mut *tx).await.unwrap();
    let booked_at = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
    codflow_store::testing::book_allocated(&mut tx, "sandbox", "SBX-SA", "T", booked_at).await.unwrap();
    commit(tx).await.unwrap();
    const H: i64 = 3_600_000_000;
    let base = codflow_store::micros(booked_at) + 3 * 24 * H;
    // Parcels delivered at scattered times of day over two weeks, some remitted, some returned, some moved to
    // another carrier and channel; checked before and after the deltas are folded into the sums.
    let mut delivered = Vec::new();
    for round in 0..3 {
        let mut tx = store.begin().await.unwrap();
        for k in 0..20i64 {
            let n = round * 20 + k;
            let tn = format!("T{n}");
            let at = base + ((n * 7_919) % 14) * 24 * H + ((n * 104_729) % (24 * H));
            let (status, cod, delivered_at) = match (n * 31 + round) % 7 {
                0 => ("returned", "pending", None),
                1 => ("in_transit", "pending", None),
                2 => ("delivered", "remitted", Some(at)),
                3 => ("delivered", "collected", Some(at)),
                _ => ("delivered", "expected", Some(at)),
            };
            let carrier = if n % 5 == 0 { "aramex" } else { "sandbox" };
            sqlx::query(
                "UPDATE tracking SET status = $1, cod_status = $2, delivered_at = $3, carrier = $4, \
                 lane_channel = $5, booked_at = booked_at + $6 WHERE tracking_number = $7",
            )
            .bind(status)
            .bind(cod)
            .bind(delivered_at)
            .bind(carrier)
            .bind(if n % 5 == 0 { "ARX-SA" } else { "SBX-SA" })
            .bind((n % 3) * 24 * H)
            .bind(&tn)
            .execute(&mut *tx)
            .await
            .unwrap();
            if let Some(at) = delivered_at {
                delivered.push(at);
            }
        }
        commit(tx).await.unwrap();
        // Instants at and a microsecond either side of whole days after deliveries, at other times of day too.
        let mut instants = vec![base + 20 * 24 * H, base + 20 * 24 * H + 17 * 60_000_000];
        for &d in delivered.iter().take(6) {
            for days in [3, 8, 11] {
                let at = d + days * 24 * H;
                instants.extend([at - 1, at, at + 1]);
            }
        }
        assert_sums_agree(&store, &instants).await;
        if round != 1 {
            let mut tx = store.begin().await.unwrap();
            assert!(codflow_store::finance::fold_cod_open(&mut tx).await.unwrap() > 0, "deltas to fold");
            commit(tx).await.unwrap();
            assert_sums_agree(&store, &instants).await;
        }
    }
}

async fn a_remittance_settling_parcels_in_bulk_keeps_the_open_cod_sums_and_leaves_the_trigger_on(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let (_, product) = seed(&store, 1_000).await;
    for i in 0..30 {
        insert(&store, &order(&format!("{i}"), if i % 3 == 0 { "AE" } else { "SA" }), &product).await;
    }
    let mut tx = store.begin().await.unwrap();
    sqlx::query("UPDATE orders SET status = 'allocated'").execute(&mut *tx).await.unwrap();
    let booked_at = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
    codflow_store::testing::book_allocated(&mut tx, "sandbox", "SBX-SA", "T", booked_at).await.unwrap();
    const H: i64 = 3_600_000_000;
    let base = codflow_store::micros(booked_at) + 3 * 24 * H;
    // Two thirds delivered at scattered hours with their cash expected, the rest still travelling.
    for n in 0..20i64 {
        sqlx::query(
            "UPDATE tracking SET status = 'delivered', cod_status = 'expected', delivered_at = $1 \
             WHERE tracking_number = $2",
        )
        .bind(base + n * 7 * H)
        .bind(format!("T{n}"))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    // A remittance paying twelve delivered parcels (one of them on two lines, one over) and one still
    // travelling; a duplicate line and one for no parcel of ours change nothing. (A short payment stays a
    // receivable for what is left, which the parcel recount here does not model.)
    let id = codflow_domain::StatementId::generate();
    sqlx::query(
        "INSERT INTO statements (id, kind, profile, carrier, file_name, content_hash, lines, errors, as_of, \
         imported_at, imported_by) VALUES ($1, 'cod_remittance', 'sandbox-cod', 'sandbox', 'r.csv', 'h', \
         16, 0, 0, 0, 'test')",
    )
    .bind(id.as_str())
    .execute(&mut *tx)
    .await
    .unwrap();
    let lines: Vec<(i64, String, &str)> = (0..12)
        .map(|n| (n, format!("T{n}"), if n == 4 { "over_paid" } else { "matched" }))
        .chain([
            (12, "T3".to_owned(), "matched"),
            (13, "T25".to_owned(), "matched"),
            (14, "T7".to_owned(), "duplicate"),
            (15, "NOT-OURS".to_owned(), "unknown_reference"),
        ])
        .collect();
    for (line, tn, class) in &lines {
        sqlx::query(
            "INSERT INTO statement_lines (statement_id, line, tracking_number, currency, amount_minor, fee_minor, \
             freight_minor, other_minor, net_minor, class, shipment_id) \
             SELECT $4, $1, $2, 'SAR', 100, 0, 0, 0, 100, $3, \
                    (SELECT shipment_id FROM tracking WHERE tracking_number = $2)",
        )
        .bind(*line)
        .bind(tn)
        .bind(*class)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    commit(tx).await.unwrap();
    let instants = [base + 30 * 24 * H, base + 4 * 24 * H + 1, base + 9 * 24 * H - 1];
    assert_sums_agree(&store, &instants).await;
    let owed_index = || async {
        let sql = "SELECT sql FROM sqlite_master WHERE name = 'tracking_owed_by_hour_of_day'";
        let mut conn = store.read().await.unwrap();
        sqlx::query_scalar::<_, String>(sql).fetch_optional(&mut *conn).await.unwrap()
    };
    let index_before = if engine == Engine::Sqlite { owed_index().await } else { None };
    let mut tx = store.begin().await.unwrap();
    // What the parcels stood at, read in the transaction that moves them, as an import does.
    let parcels = codflow_store::finance::cod_shipments(&mut tx, "sandbox").await.unwrap();
    assert_eq!(parcels.len(), 30);
    assert!(parcels.windows(2).all(|w| w[0].shipment_id.as_str() < w[1].shipment_id.as_str()), "in id order");
    // Their orders' references, asked for by reference (one names no order) or read for all at once.
    let joined = |refs: Vec<(codflow_domain::ShipmentId, String)>| {
        let mut v: Vec<(String, String)> = refs.into_iter().map(|(s, r)| (s.to_string(), r)).collect();
        v.sort();
        v
    };
    let mut by_sql: Vec<(String, String)> = sqlx::query_as(
        "SELECT t.shipment_id, o.external_id FROM tracking t JOIN orders o ON o.id = t.order_id \
         WHERE o.external_id IN ('3', '7') ORDER BY t.shipment_id",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    by_sql.sort();
    assert_eq!(by_sql.len(), 2);
    let asked = codflow_store::finance::cod_order_refs(&mut tx, "sandbox", &["7", "3", "none"]).await.unwrap();
    assert_eq!(joined(asked), by_sql);
    let mut all = Vec::new();
    codflow_store::finance::cod_shipments_into(&mut tx, "sandbox", true, &mut all, |s| (s.shipment_id, s.order_ref))
        .await
        .unwrap();
    let all = joined(all);
    assert_eq!(all.len(), parcels.len());
    assert!(by_sql.iter().all(|r| all.contains(r)));
    assert!(parcels.iter().all(|p| all.iter().any(|(s, _)| s == p.shipment_id.as_str())));
    let mut standings = codflow_store::finance::Standings::default();
    parcels.iter().for_each(|p| standings.push(p));
    let paid = parcels
        .iter()
        .enumerate()
        .filter(|(_, p)| lines.iter().any(|(_, tn, class)| *tn == p.tracking_number && *class != "duplicate"));
    let settling = standings.settling(paid.map(|(i, p)| (i, &p.shipment_id)));
    assert_eq!(settling.travelling.len(), 1, "one parcel paid before its delivery");
    let moved =
        codflow_store::finance::settle_from_lines(&mut tx, &id, "sandbox", &settling, OffsetDateTime::now_utc())
            .await
            .unwrap();
    commit(tx).await.unwrap();
    assert!(moved >= 13, "{moved} rows moved");
    let remitted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tracking WHERE cod_status = 'remitted'")
        .fetch_one(&mut *store.read().await.unwrap())
        .await
        .unwrap();
    assert_eq!(remitted, 13, "twelve delivered and one travelling parcel paid");
    if engine == Engine::Sqlite {
        // Most of the owed parcels moved: the index was set aside for the move and built again as it was.
        assert!(index_before.is_some());
        assert_eq!(owed_index().await, index_before);
    }
    assert_sums_agree(&store, &instants).await;
    // Parcels changed one at a time afterwards are still counted by the trigger.
    let mut tx = store.begin().await.unwrap();
    sqlx::query(
        "UPDATE tracking SET status = 'delivered', cod_status = 'expected', delivered_at = $1 \
         WHERE tracking_number IN ('T21', 'T22')",
    )
    .bind(base + 5 * H)
    .execute(&mut *tx)
    .await
    .unwrap();
    commit(tx).await.unwrap();
    assert_sums_agree(&store, &instants).await;
    let mut tx = store.begin().await.unwrap();
    assert!(codflow_store::finance::fold_cod_open(&mut tx).await.unwrap() > 0, "deltas to fold");
    commit(tx).await.unwrap();
    assert_sums_agree(&store, &instants).await;
}

/// The statements written out whole in the store's source (`sqlx::query("…")`), read from the source itself:
/// with the `Any` driver no query is checked at compile time, so this prepares each against a migrated
/// database instead. A statement built at run time (`format!`) is not seen here; the suites that run it are.
/// One for a single engine says so in a comment on the line above ("PostgreSQL only", "SQLite only").
fn written_out_statements(engine: Engine) -> Vec<(String, String)> {
    let other = match engine {
        Engine::Sqlite => "PostgreSQL only",
        Engine::Postgres => "SQLite only",
    };
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read src") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    files.sort();
    let mut found = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read source");
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for call in ["sqlx::query(", "sqlx::query_as(", "sqlx::query_scalar("] {
            let mut rest = text.as_str();
            while let Some(i) = rest.find(call) {
                let after = rest[i + call.len()..].trim_start();
                let line = text.len() - rest.len() + i;
                let line = text[..line].lines().count();
                let above = text.lines().nth(line.saturating_sub(2)).unwrap_or("");
                if above.contains(other) {
                    rest = &rest[i + call.len()..];
                    continue;
                }
                if let Some(sql) = string_literal(after) {
                    found.push((format!("{name}:{line}"), sql));
                }
                rest = &rest[i + call.len()..];
            }
        }
    }
    found
}

/// The Rust string literal `s` starts with, decoded (escapes and `\` line continuations); None when `s` does
/// not start with one.
fn string_literal(s: &str) -> Option<String> {
    let body = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                '\n' => {
                    let rest: String = chars.clone().collect();
                    let skipped = rest.len() - rest.trim_start().len();
                    for _ in 0..rest[..skipped].chars().count() {
                        chars.next();
                    }
                }
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

async fn every_written_out_statement_of_the_store_prepares_against_the_schema(engine: Engine) {
    use sqlx::Executor;
    let (_db, store) = fresh(engine).await;
    let statements = written_out_statements(engine);
    assert!(
        statements.len() > 100,
        "found only {} statements: is the scan still reading the source?",
        statements.len()
    );
    let mut conn = store.read().await.expect("connection");
    let mut failed = Vec::new();
    for (at, sql) in &statements {
        if let Err(e) = (&mut *conn).prepare(sql.as_str()).await {
            failed.push(format!("{at}: {e}\n    {sql}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} statements do not prepare on {engine:?}:\n{}",
        failed.len(),
        statements.len(),
        failed.join("\n")
    );
}

async fn wave_tickets_drawn_at_once_by_many_stations_are_all_different(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let code = codflow_store::floor::next_wave_code(&mut tx).await.unwrap();
                // Held a moment inside the transaction, as creating the wave does.
                tokio::task::yield_now().await;
                commit(tx).await.unwrap();
                code
            })
        })
        .collect();
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort();
    let expected: Vec<String> = (1..=12).map(|n| format!("W{n:06}")).collect();
    assert_eq!(codes, expected);
}

async fn table_statistics_are_gathered_on_demand_where_the_planner_uses_them(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    seed(&store, 5).await;
    store.analyze().await.unwrap();
    if engine == Engine::Sqlite {
        // Nothing to gather, and nothing written that would steer SQLite's own planner.
        let stat1: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            .fetch_one(store.reader())
            .await
            .unwrap();
        assert_eq!(stat1, 0);
        assert!(store.statistics_kept().await.unwrap());
        return;
    }
    let analyzed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname IN ('products', 'stock') AND last_analyze IS NOT NULL",
    )
    .fetch_one(store.reader())
    .await
    .unwrap();
    assert_eq!(analyzed, 2);
    let on: String = sqlx::query_scalar("SHOW autovacuum").fetch_one(store.reader()).await.unwrap();
    assert_eq!(store.statistics_kept().await.unwrap(), on == "on");
}

async fn bulk_inserts_keep_every_awkward_value_exactly_and_count_what_they_skip(engine: Engine) {
    use codflow_store::bulk::{Val, insert_values, insert_values_counted};
    let (_db, store) = fresh(engine).await;
    let awkward = [
        "plain",
        "quote \" backslash \\ slash / tab \t",
        "line\nfeed\r\nand \u{1f} unit separator",
        "العربية 😀 \u{2028} é",
        "",
        "{\"looks\": [\"like json\"]}",
        "null",
    ];
    // More rows than one statement's parameter budget, so the rows span several statements.
    let n = 3500;
    let head = "INTO audit_log (id, entity, entity_id, action, from_status, to_status, actor, reason, at)";
    let mut vals = Vec::new();
    for i in 0..n {
        let text = awkward[i % awkward.len()];
        vals.extend([
            Val::from(format!("aud_{i:06}")),
            Val::from("bulk"),
            Val::from(text),
            Val::from("check"),
            Val::OptText((i % 2 == 0).then(|| text.to_owned())),
            Val::OptText(None),
            Val::from("system"),
            Val::OptText((i % 3 == 0).then(|| format!("{text}#{i}"))),
            Val::Int([i64::MIN + 1, i64::MAX, 0, -1][i % 4] + if i % 4 < 2 { 0 } else { i as i64 }),
        ]);
    }
    let mut tx = store.begin().await.unwrap();
    assert_eq!(insert_values_counted(&mut tx, head, "", vals.clone()).await.unwrap(), n as u64);
    // Rows whose key exists are skipped and not counted; RETURNING reads back only what was inserted.
    let lists = "INTO list_entries (list_name, value, note, actor, created_at)";
    let entry = |value: &str| {
        [Val::from("blacklisted_phones"), Val::from(value), Val::OptText(None), Val::from("system"), Val::Int(1)]
    };
    let first: Vec<Val> = ["+966500000001", "+966500000002"].iter().flat_map(|v| entry(v)).collect();
    assert_eq!(
        insert_values_counted(&mut tx, lists, "ON CONFLICT (list_name, value) DO NOTHING", first).await.unwrap(),
        2
    );
    let again: Vec<Val> = ["+966500000002", "+966500000003"].iter().flat_map(|v| entry(v)).collect();
    let back = insert_values(&mut tx, lists, "ON CONFLICT (list_name, value) DO NOTHING RETURNING value", again)
        .await
        .unwrap();
    assert_eq!(back.iter().map(|r| sqlx::Row::get::<String, _>(r, "value")).collect::<Vec<_>>(), ["+966500000003"]);
    // Several inserts at once (one statement on PostgreSQL), an empty one among them; and the same over more
    // rows than one statement carries.
    let renamed = |vals: &[Val], prefix: &str| -> Vec<Val> {
        vals.iter()
            .enumerate()
            .map(|(i, v)| match v {
                Val::Text(id) if i % 9 == 0 => Val::from(format!("{prefix}{id}")),
                Val::Text(e) if i % 9 == 1 => Val::from(format!("{e}-{prefix}")),
                v => v.clone(),
            })
            .collect()
    };
    let extra = vec![
        Val::from("blacklisted_phones"),
        Val::from("+966500000009"),
        Val::OptText(None),
        Val::from("system"),
        Val::Int(2),
    ];
    codflow_store::bulk::insert_many(&mut tx, vec![(head, renamed(&vals[..18], "m")), (lists, vec![]), (lists, extra)])
        .await
        .unwrap();
    codflow_store::bulk::insert_many(&mut tx, vec![(head, renamed(&vals, "big")), (lists, vec![])]).await.unwrap();
    commit(tx).await.unwrap();
    use sqlx::Row;
    let mut conn = store.read().await.unwrap();
    let count = |sql: &'static str| sqlx::query(sql);
    let n_of = |r: sqlx::any::AnyRow| r.get::<i64, _>(0);
    let m = count("SELECT COUNT(*) FROM audit_log WHERE entity = 'bulk-m'").fetch_one(&mut *conn).await.unwrap();
    let big = count("SELECT COUNT(*) FROM audit_log WHERE entity = 'bulk-big'").fetch_one(&mut *conn).await.unwrap();
    let listed =
        count("SELECT COUNT(*) FROM list_entries WHERE value LIKE '+9665000000%'").fetch_one(&mut *conn).await.unwrap();
    assert_eq!((n_of(m), n_of(big), n_of(listed)), (2, n as i64, 4));
    let rows = sqlx::query(
        "SELECT id, entity_id, from_status, to_status, reason, at FROM audit_log WHERE entity = 'bulk' ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(rows.len(), n);
    for (i, r) in rows.iter().enumerate() {
        let text = awkward[i % awkward.len()];
        assert_eq!(r.get::<String, _>("id"), format!("aud_{i:06}"));
        assert_eq!(r.get::<String, _>("entity_id"), text, "row {i}");
        assert_eq!(r.get::<Option<String>, _>("from_status"), (i % 2 == 0).then(|| text.to_owned()), "row {i}");
        assert_eq!(r.get::<Option<String>, _>("to_status"), None);
        assert_eq!(r.get::<Option<String>, _>("reason"), (i % 3 == 0).then(|| format!("{text}#{i}")), "row {i}");
        let at = [i64::MIN + 1, i64::MAX, 0, -1][i % 4] + if i % 4 < 2 { 0 } else { i as i64 };
        assert_eq!(r.get::<i64, _>("at"), at, "row {i}");
    }
}

async fn new_orders_go_in_with_their_lines_reservations_and_audits_and_a_duplicate_is_counted_out(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let (w, p) = seed(&store, 50).await;
    let actor = || codflow_domain::Actor::System;
    // What intake writes for a batch: each order, its lines, a reservation and a creation record.
    async fn write(store: &Store, batch: &[&Order], w: &WarehouseId, p: &ProductId, a: codflow_domain::Actor) -> u64 {
        let rows: Vec<_> = batch.iter().map(|o| (*o, Some(w))).collect();
        let lines: Vec<_> = batch.iter().flat_map(|o| o.lines.iter().map(move |l| (&o.id, p, l))).collect();
        let held: Vec<_> = batch.iter().map(|o| (&o.id, w, p, 2)).collect();
        let audits: Vec<_> = batch.iter().map(|o| o.creation_audit(a.clone())).collect();
        let mut tx = store.begin().await.unwrap();
        let n = orders::insert_new(&mut tx, &rows, &lines, &held, 7, &audits).await.unwrap();
        if n == batch.len() as u64 {
            commit(tx).await.unwrap();
        } else {
            codflow_store::rollback(tx).await.unwrap();
        }
        n
    }
    let first = order("1", "SA");
    assert_eq!(write(&store, &[&first], &w, &p, actor()).await, 1);
    // A batch holding a new order and the first one's duplicate: the duplicate's lines and reservation would
    // name an order that was never inserted; they are left out, and the count tells the caller to roll back.
    let (second, again) = (order("2", "SA"), order("1", "SA"));
    assert_eq!(write(&store, &[&second, &again], &w, &p, actor()).await, 1);
    let mut conn = store.read().await.unwrap();
    assert_eq!(orders::count(&mut conn).await.unwrap(), 1);
    let back = orders::get(&mut conn, &first.id).await.unwrap().expect("stored");
    assert_eq!(back.lines, first.lines);
    assert!(orders::get(&mut conn, &second.id).await.unwrap().is_none());
    let held =
        sqlx::query("SELECT order_id, quantity, created_at FROM reservations").fetch_all(&mut *conn).await.unwrap();
    let held: Vec<(String, i64, i64)> = held
        .iter()
        .map(|r| {
            use sqlx::Row;
            (r.get("order_id"), r.get("quantity"), r.get("created_at"))
        })
        .collect();
    assert_eq!(held, vec![(first.id.to_string(), 2, 7)]);
    let audits = orders::audit_of(&mut conn, "order", first.id.as_str()).await.unwrap();
    assert_eq!(audits.len(), 1);
    assert!(orders::audit_of(&mut conn, "order", second.id.as_str()).await.unwrap().is_empty());
    drop(conn);
    // Both new: everything of both goes in.
    let (third, fourth) = (order("3", "SA"), order("4", "SA"));
    assert_eq!(write(&store, &[&third, &fourth], &w, &p, actor()).await, 2);
    let mut conn = store.read().await.unwrap();
    assert_eq!(orders::count(&mut conn).await.unwrap(), 3);
    for o in [&third, &fourth] {
        assert_eq!(orders::get(&mut conn, &o.id).await.unwrap().expect("stored").lines, o.lines);
        assert_eq!(orders::audit_of(&mut conn, "order", o.id.as_str()).await.unwrap().len(), 1);
    }
}

/// Two writers reserving the same hundred stock rows, listed in opposite orders: on PostgreSQL each takes the
/// rows' locks in key order before changing any, so neither can hold one the other waits for while waiting.
async fn reservations_of_many_rows_taken_at_once_in_opposite_orders_never_deadlock(engine: Engine) {
    let (_db, store) = fresh(engine).await;
    let (w, first) = seed(&store, 1000).await;
    let mut ids = vec![first];
    let mut tx = store.begin().await.unwrap();
    for i in 1..100 {
        let p = product(&format!("PART-{i:03}"));
        catalogue::insert_product(&mut tx, &p).await.unwrap();
        assert!(catalogue::set_on_hand(&mut tx, &w, &p.id, 1000).await.unwrap());
        ids.push(p.id);
    }
    commit(tx).await.unwrap();
    const ROUNDS: i64 = 20;
    let writers: Vec<_> = [false, true]
        .into_iter()
        .map(|reversed| {
            let (store, w, mut ids) = (store.clone(), w.clone(), ids.clone());
            if reversed {
                ids.reverse();
            }
            tokio::spawn(async move {
                for _ in 0..ROUNDS {
                    let items: Vec<_> = ids.iter().map(|p| (&w, p, 1)).collect();
                    let mut tx = store.begin().await.unwrap();
                    if engine == Engine::Postgres {
                        // A plan that visits the rows in the order listed (a big stock table gets one), which
                        // is where an update that locked as it went would deadlock. PostgreSQL only.
                        sqlx::query("SET LOCAL enable_hashjoin = off").execute(&mut *tx).await.unwrap();
                        // PostgreSQL only.
                        sqlx::query("SET LOCAL enable_mergejoin = off").execute(&mut *tx).await.unwrap();
                        // PostgreSQL only.
                        sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await.unwrap();
                    }
                    assert!(catalogue::try_reserve_all(&mut tx, &items).await.expect("no deadlock"));
                    commit(tx).await.unwrap();
                }
            })
        })
        .collect();
    for t in writers {
        t.await.unwrap();
    }
    let mut conn = store.read().await.unwrap();
    for p in &ids {
        let level = catalogue::stock_level(&mut conn, &w, p).await.unwrap().unwrap();
        assert_eq!(level.reserved, 2 * ROUNDS);
    }
}
