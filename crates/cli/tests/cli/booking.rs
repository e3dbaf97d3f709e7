//! Booking end to end against the sandbox carrier running as its own process, including a carrier that
//! times out, fails with 500 or answers malformed JSON, and a crash between the carrier's booking and
//! our commit.

use std::time::Duration;

use codflow_app::App;
use codflow_app::booking::{BookingStatus, Carriers};
use codflow_app::documents::{CustomsKind, DocumentSettings, LabelFormat};
use codflow_connectors::carriers::{Carrier, Sandbox};
use codflow_documents::inspect;
use codflow_domain::order::{AddressInput, BuyerInput, LineInput, MoneyInput};
use codflow_domain::rating::{ChannelSpec, DutyRuleSpec};
use codflow_domain::{Actor, Country, OrderInput};
use codflow_store::Engine;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::{BIN, seeded};

codflow_store::on_both_engines!(
    an_order_is_booked_labelled_and_cancelled_with_the_sandbox_carrier,
    a_carrier_that_times_out_fails_or_answers_garbage_never_gets_a_second_booking,
    callers_booking_one_order_at_once_all_get_the_tracking_number,
    a_crash_between_the_carriers_booking_and_our_commit_does_not_book_twice,
    two_booking_workers_on_one_database_never_book_a_shipment_twice,
    a_booked_shipments_pdf_label_scans_and_its_customs_papers_name_the_importer,
    the_carriers_live_rate_is_compared_with_the_rate_card,
    a_stopping_server_records_the_booking_it_has_at_the_carrier_and_exits_in_time,
);

pub struct SandboxProc {
    _child: tokio::process::Child,
    pub url: String,
}

impl SandboxProc {
    pub fn new(child: tokio::process::Child, url: String) -> SandboxProc {
        SandboxProc { _child: child, url }
    }
}

pub async fn sandbox() -> SandboxProc {
    let mut child = Command::new(BIN)
        .args(["sandbox-carrier", "--listen", "127.0.0.1:0", "--seed", "7", "--exit-with-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap().unwrap();
    let addr = line.rsplit(' ').next().unwrap().to_owned();
    SandboxProc { _child: child, url: format!("http://{addr}") }
}

async fn carrier_stats(url: &str) -> Value {
    reqwest::get(format!("{url}/v1/_stats")).await.unwrap().json().await.unwrap()
}

async fn fault(url: &str, kind: &str, delay_ms: u64) {
    let r = reqwest::Client::new()
        .post(format!("{url}/v1/_faults"))
        .json(&json!({"kind": kind, "count": 1, "delay_ms": delay_ms}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

pub(crate) fn worker() -> Actor {
    Actor::Worker("test".into())
}

/// An app with a SAR channel on the sandbox carrier and one allocated order per external id.
pub(crate) async fn ready(
    engine: Engine,
    carrier_url: &str,
    externals: &[&str],
) -> (codflow_store::testing::TestDb, App, Vec<String>) {
    let from_manual: Vec<(&str, &str)> = externals.iter().map(|e| ("manual", *e)).collect();
    ready_in(engine, carrier_url, &from_manual).await
}

/// As [`ready`], with each order's (store, external id).
pub(crate) async fn ready_in(
    engine: Engine,
    carrier_url: &str,
    orders: &[(&str, &str)],
) -> (codflow_store::testing::TestDb, App, Vec<String>) {
    let (db, store) = seeded(engine, &["LAMP-01"]).await;
    let sandbox = Sandbox::new(carrier_url, None, Duration::from_secs(1)).unwrap();
    // Shops with credentials are saved sealed under a fixed test key.
    let app = App::builder(store)
        .carriers(Carriers { sandbox: Some(Carrier::Sandbox(sandbox)), ..Default::default() })
        .secret_key(Some(codflow_app::shops::Sealer::new(&[9; 32])))
        .build();
    app.review().set_base_currency("SAR").await.unwrap();
    let ch: ChannelSpec = serde_json::from_value(json!({
        "code": "SBX-SA", "name": "Sandbox Saudi", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true},
        "rate_card": {"currency": "SAR", "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 3,
            "bands": [{"from_g": 0, "to_g": 30000, "price": "20.00"}]}]}
    }))
    .unwrap();
    app.fulfilment().put_channels(&[ch], worker()).await.unwrap();
    let duty: DutyRuleSpec = serde_json::from_value(
        json!({"country": "SA", "effective_from": "2025-01-01", "duty_pct": "5", "vat_pct": "15"}),
    )
    .unwrap();
    app.fulfilment().put_duty_rules(&[duty], worker()).await.unwrap();
    let mut ids = Vec::new();
    for (store, ext) in orders {
        let input = order_input(store, ext);
        let o = match app.intake().create_order(input, worker()).await.unwrap() {
            codflow_app::orders::IntakeOutcome::Created(o) => o,
            other => panic!("{other:?}"),
        };
        assert_eq!(o.allocation.as_ref().and_then(|a| a.channel.as_ref()).map(|c| c.as_str()), Some("SBX-SA"));
        ids.push(o.id.to_string());
    }
    (db, app, ids)
}

/// A COD order of two lamps to Riyadh from `store` with `ext` as its external id.
pub(crate) fn order_input(store: &str, ext: &str) -> OrderInput {
    OrderInput {
        store: Some((*store).into()),
        external_id: Some((*ext).into()),
        placed_at: Some("2026-11-20T10:00:00Z".into()),
        currency: Some("SAR".into()),
        payment_method: Some("cod".into()),
        buyer: BuyerInput { name: Some("Noura".into()), phone: Some("+966501234567".into()), email: None },
        shipping_address: AddressInput {
            name: Some("Noura".into()),
            line1: Some("King Fahd Rd 12".into()),
            city: Some("Riyadh".into()),
            region: Some("Riyadh Province".into()),
            postal_code: Some("12211".into()),
            country: Some("SA".into()),
            ..Default::default()
        },
        lines: vec![LineInput {
            sku: Some("LAMP-01".into()),
            quantity: Some(2),
            unit_price: Some(MoneyInput { amount: "59.00".into(), currency: None }),
        }],
        shipping_fee: None,
    }
}

async fn an_order_is_booked_labelled_and_cancelled_with_the_sandbox_carrier(engine: Engine) {
    let sb = sandbox().await;
    let (_db, app, ids) = ready(engine, &sb.url, &["E-1"]).await;
    let s = app.fulfilment().book_order(&codflow_domain::OrderId::parse(&ids[0]).unwrap(), worker()).await.unwrap();
    assert_eq!(s.status, BookingStatus::Booked, "{s:?}");
    let tracking = s.tracking_number.clone().unwrap();
    assert!(tracking.starts_with("SB") && tracking.ends_with("CN") && tracking.len() == 13, "{tracking}");
    assert_eq!(s.weight_g, 800);
    // Booking the same order again answers with the same shipment.
    let again = app.fulfilment().book_order(&codflow_domain::OrderId::parse(&ids[0]).unwrap(), worker()).await.unwrap();
    assert_eq!((again.id, again.tracking_number.clone()), (s.id.clone(), Some(tracking.clone())));
    let zpl = app.fulfilment().labels_zpl(&[s.id.to_string()]).await.unwrap();
    assert!(zpl.contains(&format!("^BCN,200,Y,N,N^FD{tracking}^FS")), "{zpl}");
    assert!(zpl.contains("COD SAR 118.00"), "{zpl}");
    assert!(zpl.contains("DDP"));
    let events: Value =
        reqwest::get(format!("{}/v1/shipments/{tracking}/events", sb.url)).await.unwrap().json().await.unwrap();
    assert_eq!(events["events"][0]["code"], "LBL");
    let c = app.fulfilment().cancel_shipment(&s.id, worker()).await.unwrap();
    assert_eq!(c.status, BookingStatus::Cancelled);
    let at_carrier: Value =
        reqwest::get(format!("{}/v1/shipments/{tracking}", sb.url)).await.unwrap().json().await.unwrap();
    assert_eq!(at_carrier["status"], "cancelled");
    assert_eq!(carrier_stats(&sb.url).await["shipments"], 1);
}

async fn callers_booking_one_order_at_once_all_get_the_tracking_number(engine: Engine) {
    let sb = sandbox().await;
    let (_db, app, ids) = ready(engine, &sb.url, &["C-1"]).await;
    // A slow carrier (0.8 s) and four callers at once: one books, the others wait for its answer.
    fault(&sb.url, "timeout", 800).await;
    let id = codflow_domain::OrderId::parse(&ids[0]).unwrap();
    let book = || app.fulfilment().book_order(&id, worker());
    let (a, b, c, d) = tokio::join!(book(), book(), book(), book());
    let mut tracking = Vec::new();
    for r in [a, b, c, d] {
        let s = r.unwrap();
        assert_eq!(s.status, BookingStatus::Booked, "{s:?}");
        tracking.push(s.tracking_number.clone().unwrap());
    }
    tracking.dedup();
    assert_eq!(tracking.len(), 1, "one parcel, one tracking number: {tracking:?}");
    assert_eq!(carrier_stats(&sb.url).await["shipments"], 1);
}

async fn a_carrier_that_times_out_fails_or_answers_garbage_never_gets_a_second_booking(engine: Engine) {
    let sb = sandbox().await;
    let (_db, app, ids) = ready(engine, &sb.url, &["T-1", "T-2", "T-3"]).await;
    for (id, kind) in ids.iter().zip(["timeout", "error", "malformed"]) {
        fault(&sb.url, kind, 3000).await;
        let s = app.fulfilment().book_order(&codflow_domain::OrderId::parse(id).unwrap(), worker()).await.unwrap();
        assert_eq!(s.status, BookingStatus::Pending, "{kind}: {s:?}");
        assert!(s.last_error.as_deref().unwrap_or("").contains("retrying automatically"), "{kind}: {s:?}");
        let o = app.intake().order(&codflow_domain::OrderId::parse(id).unwrap()).await.unwrap();
        assert_eq!(o.status.as_str(), "allocated");
        // The worker retries with the same idempotency key once the backoff has passed.
        let later = codflow_app::now() + time::Duration::minutes(10);
        let n = codflow_app::booking::book_due(&app.store, &test_carriers(&sb.url), later).await.unwrap();
        assert_eq!(n, 1, "{kind}");
        let s = app.fulfilment().shipment(&s.id).await.unwrap();
        assert_eq!(s.status, BookingStatus::Booked, "{kind}: {s:?}");
    }
    let stats = carrier_stats(&sb.url).await;
    // The timeout and the malformed reply each booked on the first call; the 500 booked nothing.
    assert_eq!(stats["shipments"], 3, "{stats}");
    for id in &ids {
        assert_eq!(stats["per_reference"][id], 1, "{stats}");
    }
}

fn test_carriers(url: &str) -> Carriers {
    Carriers {
        sandbox: Some(Carrier::Sandbox(Sandbox::new(url, None, Duration::from_secs(1)).unwrap())),
        ..Default::default()
    }
}

async fn a_crash_between_the_carriers_booking_and_our_commit_does_not_book_twice(engine: Engine) {
    let sb = sandbox().await;
    let (_db, app, ids) = ready(engine, &sb.url, &["C-1"]).await;
    // Queue the booking, then play the part of a worker that made the carrier call and died before
    // recording the answer: the carrier has the booking, we do not.
    let queued = app.fulfilment().queue_bookings(&ids, worker()).await.remove(0).unwrap();
    let key = queued.id.to_string();
    let made: Value = reqwest::Client::new()
        .post(format!("{}/v1/shipments", sb.url))
        .header("Idempotency-Key", &key)
        .json(&json!({"reference": ids[0], "service": "standard",
            "shipper": {"name": "Shenzhen", "city": "Shenzhen", "country": "CN"},
            "consignee": {"name": "Noura", "phone": "+966501234567", "city": "Riyadh", "country": "SA"},
            "pieces": [{"weight_g": 800}], "declared_value": {"amount": "118.00", "currency": "SAR"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let n = codflow_app::booking::book_due(&app.store, &test_carriers(&sb.url), codflow_app::now()).await.unwrap();
    assert_eq!(n, 1);
    let s = app.fulfilment().shipment(&codflow_domain::ShipmentId::parse(&key).unwrap()).await.unwrap();
    assert_eq!(s.status, BookingStatus::Booked);
    assert_eq!(s.tracking_number.as_deref(), made["tracking_number"].as_str());
    assert_eq!(carrier_stats(&sb.url).await["shipments"], 1);
}

async fn two_booking_workers_on_one_database_never_book_a_shipment_twice(engine: Engine) {
    let sb = sandbox().await;
    let externals: Vec<String> = (0..30).map(|i| format!("W-{i}")).collect();
    let refs: Vec<&str> = externals.iter().map(String::as_str).collect();
    let (db, app, ids) = ready(engine, &sb.url, &refs).await;
    for r in app.fulfilment().queue_bookings(&ids, worker()).await {
        assert_eq!(r.unwrap().status, BookingStatus::Pending);
    }
    // A second node: its own connection pool on the same database, its own worker.
    let other = codflow_store::Store::connect(&db.url).await.unwrap();
    let carriers = test_carriers(&sb.url);
    let now = codflow_app::now();
    let (mut a, mut b) = (0, 0);
    loop {
        let (x, y) = tokio::join!(
            codflow_app::booking::book_due(&app.store, &carriers, now),
            codflow_app::booking::book_due(&other, &carriers, now)
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        if x + y == 0 {
            break;
        }
        a += x;
        b += y;
    }
    assert_eq!(a + b, ids.len(), "each booking claimed exactly once ({a} + {b})");
    let stats = carrier_stats(&sb.url).await;
    assert_eq!(stats["shipments"], ids.len(), "{stats}");
    for id in &ids {
        assert_eq!(stats["per_reference"][id], 1, "{stats}");
        let s = app.fulfilment().shipments_of_order(&codflow_domain::OrderId::parse(id).unwrap()).await.unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].status, BookingStatus::Booked);
    }
}

async fn a_booked_shipments_pdf_label_scans_and_its_customs_papers_name_the_importer(engine: Engine) {
    let sb = sandbox().await;
    let (_db, app, ids) = ready(engine, &sb.url, &["F-1", "F-2"]).await;
    let settings = DocumentSettings {
        seller_name: "Acme Trading".into(),
        vat_numbers: [(Country::parse("SA").unwrap(), "300000000000003".into())].into(),
        ioss_number: Some("IM5280000001".into()),
        ..DocumentSettings::default()
    };
    app.fulfilment().set_document_settings(settings, worker()).await.unwrap();
    let mut shipments = Vec::new();
    let mut numbers = Vec::new();
    for id in &ids {
        let s = app.fulfilment().book_order(&codflow_domain::OrderId::parse(id).unwrap(), worker()).await.unwrap();
        numbers.push(Some(s.tracking_number.clone().unwrap()));
        shipments.push(s.id.to_string());
    }
    let one = app.fulfilment().labels(&shipments[..1], LabelFormat::Pdf).await.unwrap();
    assert_eq!(one.content_type, "application/pdf");
    let page = &inspect::pages(&one.bytes).unwrap()[0];
    assert_eq!(inspect::barcode(page), numbers[0], "the bars scan as the carrier's tracking number");
    assert!(inspect::texts(page).contains(&"COD SAR 118.00".to_owned()));
    let batch = app.fulfilment().labels(&shipments, LabelFormat::Pdf).await.unwrap();
    let read: Vec<Option<String>> = inspect::pages(&batch.bytes).unwrap().iter().map(|p| inspect::barcode(p)).collect();
    assert_eq!(read, numbers, "a page per label, in the order asked");
    let invoice = app.fulfilment().customs_documents(&shipments[..1], CustomsKind::CommercialInvoice).await.unwrap();
    let shown: Vec<String> = inspect::pages(&invoice.bytes).unwrap().iter().flat_map(|p| inspect::texts(p)).collect();
    for needle in ["VAT: 300000000000003", "940540", "59.00", "118.00", "Acme Trading"] {
        assert!(shown.iter().any(|t| t.contains(needle)), "{needle} not in {shown:?}");
    }
    assert!(!shown.iter().any(|t| t.contains("IOSS")), "IOSS is for EU destinations only");
    assert!(shown.iter().any(|t| t.starts_with("Terms of delivery: DDP")));
    let packing = app.fulfilment().customs_documents(&shipments, CustomsKind::PackingList).await.unwrap();
    assert_eq!(inspect::pages(&packing.bytes).unwrap().len(), 2, "one packing list per shipment");
}

async fn the_carriers_live_rate_is_compared_with_the_rate_card(engine: Engine) {
    let sb = sandbox().await;
    let (_db, app, _) = ready(engine, &sb.url, &[]).await;
    let input: codflow_app::logistics::QuoteInput = serde_json::from_value(json!({
        "destination": {"country": "SA", "city": "Riyadh", "postal_code": "12211"},
        "parcels": [{"weight_g": 1250, "length_cm": 30, "width_cm": 20, "height_cm": 10}],
        "goods_value": {"amount": "118.00", "currency": "SAR"},
        "cod_amount": {"amount": "118.00", "currency": "SAR"}
    }))
    .unwrap();
    let q = app.fulfilment().carrier_quote("SBX-SA", None, &input).await.unwrap();
    // The sandbox's default lane: 15.00 + 5.00 per started kg (1.25 kg actual beats 1.2 kg volumetric, so
    // 2 kg), and a 2% COD fee on 118.00.
    assert_eq!((q.rate.total.amount.as_str(), q.rate.total.currency.as_str()), ("27.36", "SAR"));
    assert_eq!(q.rate.billable_weight_g, Some(2000));
    let names: Vec<&str> = q.rate.charges.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["freight", "cod_fee"]);
    assert_eq!(q.card_shipping.map(|m| m.amount_string()), Some("20.00".into()), "the card's one band");
    let e = app.fulfilment().carrier_quote("NOPE", None, &input).await.unwrap_err();
    assert!(matches!(e, codflow_app::Error::NotFound("channel")), "{e:?}");
    let mut far = input.clone();
    far.parcels[0].weight_g = 80_000;
    let e = app.fulfilment().carrier_quote("SBX-SA", None, &far).await.unwrap_err();
    assert!(
        matches!(&e, codflow_app::Error::Conflict { kind: codflow_app::ConflictKind::CarrierRefused, message } if message.contains("70 kg")),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_carriers_clock_is_set_to_an_instant_and_pace_and_a_bad_scale_is_refused() {
    let sb = sandbox().await;
    let client = Sandbox::new(&sb.url, None, Duration::from_secs(5)).unwrap();
    let at = time::macros::datetime!(2026-01-15 08:00 UTC);
    // A day per second would be thousands of seconds past `at` by the time the stats answer; real time is not.
    client.set_clock(at, 1.0).await.unwrap();
    let now = carrier_stats(&sb.url).await["now"].as_str().unwrap().to_owned();
    let now = time::OffsetDateTime::parse(&now, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(now >= at && now - at < time::Duration::minutes(1), "{now}");
    let post = |body: Value| {
        let url = format!("{}/v1/_clock", sb.url);
        async move { reqwest::Client::new().post(url).json(&body).send().await.unwrap() }
    };
    for bad in [json!({"at": "2026-01-15T08:00:00Z", "scale": 0}), json!({"at": "2026-01-15T08:00:00Z", "scale": -2})] {
        let r = post(bad).await;
        assert_eq!(r.status(), 422);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["field"], "scale");
    }
    assert_eq!(post(json!({"at": "yesterday", "scale": 1})).await.status(), 422);
    assert_eq!(post(json!({"at": "2026-01-15T08:00:00Z", "scale": 1, "extra": true})).await.status(), 422);
    // Nothing refused moved the clock.
    let again = carrier_stats(&sb.url).await["now"].as_str().unwrap().to_owned();
    let again = time::OffsetDateTime::parse(&again, &time::format_description::well_known::Rfc3339).unwrap();
    assert!(again >= now && again - at < time::Duration::minutes(1), "{again}");
}

async fn a_stopping_server_records_the_booking_it_has_at_the_carrier_and_exits_in_time(engine: Engine) {
    let sb = sandbox().await;
    let (db, app, ids) = ready(engine, &sb.url, &["Z-1"]).await;
    // The carrier books at once and answers three seconds later.
    fault(&sb.url, "timeout", 3_000).await;
    let mut server = Command::new(BIN)
        .args(["serve", "--database-url", &db.url, "--listen", "127.0.0.1:0", "--sandbox-carrier-url", &sb.url])
        .args(["--no-shop-sync"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    crate::read_until(&mut lines, "listening on").await;
    // Queued here; the server's booking worker takes it to the carrier.
    for r in app.fulfilment().queue_bookings(&ids, worker()).await {
        assert_eq!(r.unwrap().status, BookingStatus::Pending);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while carrier_stats(&sb.url).await["create_calls"] != 1 {
        assert!(std::time::Instant::now() < deadline, "the server's worker never called the carrier");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Stopped while the carrier has the booking and has not answered yet.
    let pid = server.id().unwrap().to_string();
    let stopped_at = std::time::Instant::now();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let said = crate::read_until_within(&mut lines, "stopped", Duration::from_secs(20)).await;
    let status = tokio::time::timeout(Duration::from_secs(20), server.wait()).await.expect("exits").unwrap();
    assert!(status.success(), "{status:?} {said:?}");
    assert!(stopped_at.elapsed() < Duration::from_secs(15), "took {:?}", stopped_at.elapsed());
    assert!(said.iter().any(|l| l == "stopped"), "no worker was cut off: {said:?}");
    // The answer that came after the stop was recorded: one booking, with its tracking number.
    let s = app.fulfilment().shipments_of_order(&codflow_domain::OrderId::parse(&ids[0]).unwrap()).await.unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].status, BookingStatus::Booked, "{:?}", s[0]);
    assert!(s[0].tracking_number.is_some());
    assert_eq!(carrier_stats(&sb.url).await["shipments"], 1);
}
