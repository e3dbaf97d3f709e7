//! Tracking end to end against the sandbox carrier as its own process: every parcel's journey polled and
//! pushed, with the order, its cash and its stock following; a bad webhook signature; the failed-delivery
//! link reaching the carrier as an NDR instruction; and each anomaly at its threshold on a frozen clock.

use std::time::Duration as StdDuration;

use codflow_app::App;
use codflow_app::booking::Carriers;
use codflow_app::tracking::IncomingEvent;
use codflow_connectors::carriers::{Carrier, Sandbox};
use codflow_store::Engine;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::BIN;
use crate::booking::{SandboxProc, ready, worker};

codflow_store::on_both_engines!(
    every_journey_polled_from_the_sandbox_moves_the_order_its_cash_and_its_stock,
    pushed_events_arrive_signed_and_a_bad_signature_stores_nothing,
    the_failed_delivery_link_reaches_the_carrier_and_refuses_tampering_and_expiry,
    a_buyers_answer_the_carrier_cannot_take_is_kept_and_the_page_says_so,
    each_anomaly_opens_a_task_at_its_threshold_and_closes_it_on_recovery,
    duplicates_late_events_and_unknown_codes_are_kept_without_moving_the_shipment_back,
    a_damage_claim_for_a_parcel_delivered_outside_the_carriers_window_is_refused_and_nothing_is_written,
);

pub(crate) async fn sandbox_with(time_scale: &str, model: Option<Value>) -> SandboxProc {
    let mut args = vec![
        "sandbox-carrier",
        "--listen",
        "127.0.0.1:0",
        "--seed",
        "11",
        "--exit-with-stdin",
        "--time-scale",
        time_scale,
    ];
    let path = std::env::temp_dir().join(format!("codflow-model-{}.json", codflow_domain::TaskId::generate()));
    let path_str = path.to_string_lossy().into_owned();
    if let Some(m) = model {
        std::fs::write(&path, m.to_string()).unwrap();
        args.extend(["--model", &path_str]);
    }
    let mut child = Command::new(BIN)
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(StdDuration::from_secs(30), lines.next_line()).await.unwrap().unwrap().unwrap();
    let addr = line.rsplit(' ').next().unwrap().to_owned();
    SandboxProc::new(child, format!("http://{addr}"))
}

async fn carrier_view(url: &str, tracking: &str) -> Value {
    reqwest::get(format!("{url}/v1/shipments/{tracking}")).await.unwrap().json().await.unwrap()
}

/// What the carrier's last code means in our taxonomy, for the codes a finished journey ends on.
fn final_status(code: &str) -> &'static str {
    match code {
        "DLV" | "COD" => "delivered",
        "RTD" => "returned",
        "LST" => "lost",
        other => panic!("journey not finished at the carrier: {other}"),
    }
}

pub(crate) async fn book_all(app: &App, ids: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for id in ids {
        let s = app.fulfilment().book_order(&codflow_domain::OrderId::parse(id).unwrap(), worker()).await.unwrap();
        out.push((s.id.to_string(), s.tracking_number.clone().expect("booked")));
    }
    out
}

/// Checks that each shipment ended where the carrier says it did, and that the order, cash and stock
/// followed.
async fn assert_followed(app: &App, carrier_url: &str, shipments: &[(String, String)], ids: &[String]) {
    for ((shp, tn), order) in shipments.iter().zip(ids) {
        let at_carrier = carrier_view(carrier_url, tn).await;
        let expected = final_status(at_carrier["status"].as_str().unwrap());
        let t = app.tracking().tracking(&codflow_domain::ShipmentId::parse(shp).unwrap()).await.unwrap();
        assert_eq!(t.tracked.progress.status.status_str(), expected, "{tn}: {:?}", t.events);
        let o = app.intake().order(&codflow_domain::OrderId::parse(order).unwrap()).await.unwrap();
        match expected {
            "delivered" => {
                assert_eq!(o.status.as_str(), "fulfilled", "{tn}");
                assert_eq!(t.tracked.cod_status.as_str(), "expected", "{tn}");
            }
            "returned" => {
                // Closed only once the warehouse has graded what came back.
                assert_eq!(o.status.as_str(), "fulfilled", "{tn}");
                assert_eq!(t.tracked.cod_status.as_str(), "void", "{tn}");
            }
            _ => assert!(t.tasks.iter().any(|k| k.kind.as_str() == "lost"), "{tn}: {:?}", t.tasks),
        }
        // Every event the carrier has is stored once.
        let evs: Value =
            reqwest::get(format!("{carrier_url}/v1/shipments/{tn}/events")).await.unwrap().json().await.unwrap();
        assert_eq!(t.events.len(), evs["events"].as_array().unwrap().len(), "{tn}");
    }
}

/// Waits until every journey has ended at the carrier (its last scan, cash collected, comes a minute
/// after delivery, so polling never stops at a delivery the carrier has not finished reporting), then polls
/// until every shipment is final here too.
pub(crate) async fn finish_journeys(app: &App, carrier_url: &str, shipments: &[(String, String)]) {
    let deadline = std::time::Instant::now() + StdDuration::from_secs(60);
    for (_, tn) in shipments {
        while !matches!(carrier_view(carrier_url, tn).await["status"].as_str(), Some("COD" | "RTD" | "LST")) {
            assert!(std::time::Instant::now() < deadline, "{tn}: the carrier did not finish the journey");
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    }
    loop {
        app.clock().advance(Duration::hours(6));
        app.tracking().poll_tracking().await.unwrap();
        let mut done = true;
        for (shp, _) in shipments {
            let s = app
                .tracking()
                .tracking(&codflow_domain::ShipmentId::parse(shp).unwrap())
                .await
                .unwrap()
                .tracked
                .progress
                .status;
            done &= s.is_final() || s == codflow_domain::ShipmentStatus::Lost;
        }
        if done {
            break;
        }
        if std::time::Instant::now() > deadline {
            for (shp, _) in shipments {
                let t = app.tracking().tracking(&codflow_domain::ShipmentId::parse(shp).unwrap()).await.unwrap();
                eprintln!("{:?} {:?}", t.tracked, t.events.iter().map(|e| &e.code).collect::<Vec<_>>());
            }
            panic!("journeys did not finish");
        }
    }
}

async fn every_journey_polled_from_the_sandbox_moves_the_order_its_cash_and_its_stock(engine: Engine) {
    // A million times real time: a parcel's whole journey is visible within a second of booking.
    let sb = sandbox_with("1000000", None).await;
    let externals: Vec<String> = (0..8).map(|i| format!("P-{i}")).collect();
    let refs: Vec<&str> = externals.iter().map(String::as_str).collect();
    let (_db, app, ids) = ready(engine, &sb.url, &refs).await;
    let before = app
        .catalogue()
        .stock(&codflow_domain::WarehouseCode::parse("SZ1").unwrap(), &codflow_domain::Sku::parse("LAMP-01").unwrap())
        .await
        .unwrap()
        .level;
    let shipments = book_all(&app, &ids).await;
    finish_journeys(&app, &sb.url, &shipments).await;
    assert_followed(&app, &sb.url, &shipments, &ids).await;
    // Returned parcels are expected back, not restocked: every unit shipped has left the shelf.
    let sz1 = codflow_domain::WarehouseCode::parse("SZ1").unwrap();
    let lamp = codflow_domain::Sku::parse("LAMP-01").unwrap();
    let mut returned = Vec::new();
    for (shp, tn) in &shipments {
        let t = app.tracking().tracking(&codflow_domain::ShipmentId::parse(shp).unwrap()).await.unwrap();
        if t.tracked.progress.status.status_str() == "returned" {
            returned.push(tn.clone());
        }
    }
    assert!(!returned.is_empty(), "the sandbox's seed refuses some parcels");
    let after = app.catalogue().stock(&sz1, &lamp).await.unwrap().level;
    assert_eq!(after.on_hand, before.on_hand - 2 * shipments.len() as i64, "{before:?} → {after:?}");
    assert_eq!(after.reserved, 0);
    // Scanned in and graded sellable, their units go back on the shelf; delivered ones left for good.
    for tn in &returned {
        let (v, fresh) = app.floor().receive_return(&sz1, tn, worker()).await.unwrap();
        assert!(fresh, "{tn}");
        let line = codflow_domain::returns::GradeInput {
            sku: "LAMP-01".into(),
            grade: "sellable".into(),
            quantity: 2,
            ..Default::default()
        };
        app.floor().grade_return(&v.ret.id, &[line], None, worker()).await.unwrap();
    }
    let graded = app.catalogue().stock(&sz1, &lamp).await.unwrap().level;
    assert_eq!(graded.on_hand, before.on_hand - 2 * (shipments.len() - returned.len()) as i64);
    // Polling again changes nothing.
    app.clock().advance(Duration::days(1));
    let again = app.tracking().ingest_events(&[], "poll").await.unwrap();
    assert_eq!(again.new, 0);
}

async fn pushed_events_arrive_signed_and_a_bad_signature_stores_nothing(engine: Engine) {
    let sb = sandbox_with("1000000", None).await;
    let (_db, app, ids) = ready(engine, &sb.url, &["W-1", "W-2", "W-3"]).await;
    let secret = "push-secret-123";
    let sandbox = Sandbox::new(&sb.url, None, StdDuration::from_secs(2)).unwrap();
    let app = App::builder(app.store.clone())
        .carriers(Carriers {
            sandbox: Some(Carrier::Sandbox(sandbox.clone())),
            sandbox_webhook_secret: Some(secret.into()),
            ..Default::default()
        })
        .build();
    let shipments = book_all(&app, &ids).await;

    // A forged push: 401 and nothing stored.
    let body = json!({"tracking_number": shipments[0].1, "reference": "x", "events": [
        {"code": "DLV", "description": "Delivered", "at": "2030-01-01T00:00:00Z"}]})
    .to_string();
    let forged = app
        .tracking()
        .carrier_webhook(
            &codflow_domain::CarrierCode::parse("sandbox").unwrap(),
            &|h: &str| (h == "x-sandbox-signature").then(|| "sha256=00".to_owned()),
            body.as_bytes(),
        )
        .await;
    assert!(matches!(forged, Err(codflow_app::Error::Unauthorized)), "{forged:?}");
    assert!(
        app.tracking()
            .tracking(&codflow_domain::ShipmentId::parse(&shipments[0].0).unwrap())
            .await
            .unwrap()
            .events
            .is_empty()
    );

    // The carrier pushes to a server on the same database.
    let hook_app = App::builder(app.store.clone())
        .carriers(Carriers {
            sandbox: Some(Carrier::Sandbox(sandbox.clone())),
            sandbox_webhook_secret: Some(secret.into()),
            ..Default::default()
        })
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { codflow_web::serve(listener, hook_app).await });
    // A forged push over HTTP is refused the same way.
    let r = reqwest::Client::new()
        .post(format!("http://{hook_addr}/api/v1/webhooks/carriers/sandbox"))
        .header("X-Sandbox-Signature", codflow_sandbox_carrier::signature("wrong-secret", body.as_bytes()))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    sandbox.register_webhook(&format!("http://{hook_addr}/api/v1/webhooks/carriers/sandbox"), secret).await.unwrap();
    let deadline = std::time::Instant::now() + StdDuration::from_secs(60);
    loop {
        let mut done = true;
        for (shp, _) in &shipments {
            let t = app.tracking().tracking(&codflow_domain::ShipmentId::parse(shp).unwrap()).await.unwrap();
            done &= t.tracked.progress.status.is_final() || t.tracked.progress.status.status_str() == "lost";
            done &= t.events.iter().all(|e| e.source == "webhook");
        }
        if done {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "pushes did not finish the journeys");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert_followed(&app, &sb.url, &shipments, &ids).await;
}

/// A sandbox where nobody is ever home, an order booked with it and polled until its parcel fails at the door.
#[allow(clippy::type_complexity)]
async fn failed_at_the_door(
    engine: Engine,
) -> (SandboxProc, codflow_store::testing::TestDb, App, Vec<String>, (String, String)) {
    // Every parcel fails at the door; six simulated hours per second.
    let model = json!({"default": {"delivery_rate": 0.0, "refusal_share": 0.0, "customs_hold_probability": 0.0,
        "loss_rate": 0.0, "transit_days": 1}});
    let sb = sandbox_with("21600", Some(model)).await;
    let (db, app, ids) = ready(engine, &sb.url, &["N-1"]).await;
    let shipments = book_all(&app, &ids).await;
    let (shp, tn) = shipments[0].clone();
    let deadline = std::time::Instant::now() + StdDuration::from_secs(90);
    loop {
        app.clock().advance(Duration::hours(1));
        app.tracking().poll_tracking().await.unwrap();
        let t = app.tracking().tracking(&codflow_domain::ShipmentId::parse(&shp).unwrap()).await.unwrap();
        if t.tracked.progress.status.status_str() == "delivery_failed" {
            assert!(t.tasks.iter().any(|k| k.kind.as_str() == "delivery_failed"), "{:?}", t.tasks);
            break;
        }
        assert!(!t.tracked.progress.status.is_final(), "the parcel finished before failing: {:?}", t.events);
        assert!(std::time::Instant::now() < deadline, "no failed delivery");
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    (sb, db, app, ids, (shp, tn))
}

async fn a_buyers_answer_the_carrier_cannot_take_is_kept_and_the_page_says_so(engine: Engine) {
    let (sb, _db, app, _ids, (shp, _)) = failed_at_the_door(engine).await;
    let token = app.tracking().ndr_link(&codflow_domain::ShipmentId::parse(&shp).unwrap()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let web = app.clone();
    tokio::spawn(async move { codflow_web::serve(listener, web).await });
    // The carrier goes away before the buyer answers.
    drop(sb);
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/ndr/{token}"))
        .form(&[("action", "reattempt"), ("phone", "+966 50 765 4321"), ("cash_ready", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    // The buyer reads Arabic: thanked for an answer kept to pass on, not told the courier has it.
    assert!(page.contains("وصلنا ردك") && page.contains("سينقله فريقنا"), "{page}");
    assert!(!page.contains("وصل ردك إلى شركة الشحن"), "{page}");
    let kept = app.tracking().tracking(&codflow_domain::ShipmentId::parse(&shp).unwrap()).await.unwrap().ndr;
    assert_eq!(kept.len(), 1);
    assert_ne!(kept[0].status, "sent", "{kept:?}");
}

async fn the_failed_delivery_link_reaches_the_carrier_and_refuses_tampering_and_expiry(engine: Engine) {
    let (sb, _db, app, ids, (shp, tn)) = failed_at_the_door(engine).await;
    let (shp, tn) = (&shp, &tn);
    let token = app.tracking().ndr_link(&codflow_domain::ShipmentId::parse(shp).unwrap()).await.unwrap();
    // The buyer's message carries the self-service link.
    let msgs = app.tracking().notifications(Default::default(), 100).await.unwrap().0;
    assert!(msgs.iter().any(|m| m.template == "shipment_delivery_failed" && m.body.contains("/ndr/")), "{msgs:?}");
    let tampered = token.replacen(".1.", ".2.", 1);
    assert!(matches!(app.tracking().ndr_page(&tampered).await, Err(codflow_app::Error::Unauthorized)));
    let page = app.tracking().ndr_page(&token).await.unwrap();
    assert_eq!((page.language, page.cod.map(|m| m.to_string())), ("ar", Some("118.00 SAR".into())));
    let answer = codflow_app::ndr::NdrAnswer {
        action: "reattempt".into(),
        phone: Some("+966 50 765 4321".into()),
        cash_ready: true,
        ..Default::default()
    };
    let r = app.tracking().ndr_answer(&token, answer.clone()).await.unwrap();
    assert_eq!(r.status, "sent", "{r:?}");
    let at_carrier = carrier_view(&sb.url, tn).await;
    assert_eq!(at_carrier["ndr"][0]["action"], "reattempt", "{at_carrier}");
    assert_eq!(at_carrier["ndr"][0]["phone"], "+966 50 765 4321");
    // One answer per failed attempt.
    assert!(matches!(
        app.tracking().ndr_answer(&token, answer).await,
        Err(codflow_app::Error::Conflict { kind: codflow_app::ConflictKind::AlreadyAnswered, .. })
    ));
    assert_eq!(app.tracking().tracking(&codflow_domain::ShipmentId::parse(shp).unwrap()).await.unwrap().ndr.len(), 1);
    // The order shows the answer and what the carrier made of it.
    let on_order = app.channels().order_follow_up(&codflow_domain::OrderId::parse(&ids[0]).unwrap()).await.unwrap().ndr;
    assert_eq!(on_order.len(), 1);
    assert_eq!((on_order[0].shipment_id.as_str(), on_order[0].action.as_str()), (shp.as_str(), "reattempt"));
    assert!(on_order[0].details.contains("+966507654321") || on_order[0].details.contains("765 4321"), "{on_order:?}");
    // A week later the link has expired.
    app.clock().advance(Duration::days(8));
    assert!(matches!(
        app.tracking().ndr_page(&token).await,
        Err(codflow_app::Error::Conflict { kind: codflow_app::ConflictKind::LinkExpired, .. })
    ));
}

fn ev(tn: &str, code: &str, at: OffsetDateTime) -> IncomingEvent {
    IncomingEvent {
        tracking_number: tn.into(),
        carrier: None,
        code: code.into(),
        description: code.into(),
        location: Some("Riyadh".into()),
        at,
    }
}

async fn open_kinds(app: &App, shp: &str) -> Vec<String> {
    let t = app.tracking().tracking(&codflow_domain::ShipmentId::parse(shp).unwrap()).await.unwrap();
    let mut k: Vec<String> =
        t.tasks.iter().filter(|t| t.status.as_str() != "done").map(|t| t.kind.as_str().to_owned()).collect();
    k.sort();
    k
}

async fn each_anomaly_opens_a_task_at_its_threshold_and_closes_it_on_recovery(engine: Engine) {
    // Real time: the carrier's own events stay in the future, so only what the test sends arrives.
    let sb = sandbox_with("1", None).await;
    let (_db, app, ids) = ready(engine, &sb.url, &["A-1", "A-2", "A-3"]).await;
    let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    app.clock().freeze(t0);
    let shipments = book_all(&app, &ids).await;
    let (s1, n1) = &shipments[0];

    // Stuck before pickup: 72 h without a scan.
    app.clock().freeze(t0 + Duration::hours(72) - Duration::seconds(1));
    app.tracking().sweep().await.unwrap();
    assert!(open_kinds(&app, s1).await.is_empty());
    app.clock().freeze(t0 + Duration::hours(72));
    app.tracking().sweep().await.unwrap();
    assert_eq!(open_kinds(&app, s1).await, ["stuck"]);

    // A scan recovers it; then customs holds it.
    let t1 = t0 + Duration::hours(73);
    app.clock().freeze(t1);
    app.tracking()
        .ingest_events(&[ev(n1, "PKP", t1 - Duration::minutes(30)), ev(n1, "CUS-HLD-DOC", t1)], "api")
        .await
        .unwrap();
    assert!(open_kinds(&app, s1).await.is_empty(), "a scan closes the stuck task");
    app.clock().freeze(t1 + Duration::hours(48) - Duration::seconds(1));
    app.tracking().sweep().await.unwrap();
    assert!(open_kinds(&app, s1).await.is_empty());
    app.clock().freeze(t1 + Duration::hours(48));
    app.tracking().sweep().await.unwrap();
    assert_eq!(open_kinds(&app, s1).await, ["customs_held"]);
    let task = app
        .tracking()
        .tracking(&codflow_domain::ShipmentId::parse(s1).unwrap())
        .await
        .unwrap()
        .tasks
        .into_iter()
        .find(|t| t.kind.as_str() == "customs_held")
        .unwrap();
    assert_eq!((task.role.as_str(), task.due_at), ("ops", t1 + Duration::hours(48) + Duration::hours(24)));
    // Released: the task closes itself.
    let t2 = t1 + Duration::hours(50);
    app.clock().freeze(t2);
    app.tracking().ingest_events(&[ev(n1, "CUS-REL", t2)], "api").await.unwrap();
    assert!(open_kinds(&app, s1).await.is_empty());
    let (closed, _, history) = app.tracking().task(&task.id).await.unwrap();
    assert_eq!((closed.status.as_str(), closed.resolution.as_deref()), ("done", Some("recovered")));
    assert!(history.iter().any(|h| h.action == "close"));

    // Late: past pickup + 7 transit days.
    let late_at = t1 - Duration::minutes(30) + Duration::days(7);
    app.clock().freeze(late_at - Duration::seconds(1));
    app.tracking().sweep().await.unwrap();
    assert!(!open_kinds(&app, s1).await.contains(&"late".to_owned()));
    app.clock().freeze(late_at);
    app.tracking().sweep().await.unwrap();
    assert!(open_kinds(&app, s1).await.contains(&"late".to_owned()));

    // Three failed deliveries: two NDR tasks, then a return is expected and finance is told.
    let (s2, n2) = &shipments[1];
    let t3 = late_at + Duration::hours(1);
    app.clock().freeze(t3);
    app.tracking()
        .ingest_events(
            &[
                ev(n2, "PKP", t3 - Duration::hours(5)),
                ev(n2, "OFD", t3 - Duration::hours(4)),
                ev(n2, "NDR-NH", t3 - Duration::hours(3)),
            ],
            "api",
        )
        .await
        .unwrap();
    assert!(open_kinds(&app, s2).await.contains(&"delivery_failed".to_owned()));
    app.tracking()
        .ingest_events(
            &[
                ev(n2, "OFD", t3 - Duration::hours(2)),
                ev(n2, "NDR-NH", t3 - Duration::hours(1) - Duration::minutes(30)),
            ],
            "api",
        )
        .await
        .unwrap();
    app.tracking().ingest_events(&[ev(n2, "OFD", t3 - Duration::hours(1)), ev(n2, "NDR-NH", t3)], "api").await.unwrap();
    let kinds = open_kinds(&app, s2).await;
    assert!(
        kinds.contains(&"return_expected".to_owned()) && !kinds.contains(&"delivery_failed".to_owned()),
        "{kinds:?}"
    );
    let finance = app
        .tracking()
        .tasks(&codflow_app::tasks::TaskQuery { role: Some("finance".into()), ..Default::default() }, 50, None)
        .await
        .unwrap()
        .0;
    assert!(finance.iter().any(|t| t.shipment_id.as_ref().map(|s| s.to_string()) == Some(s2.clone())));

    // Delivered COD not remitted: the channel's 7-day cycle + 3 days grace.
    let (s3, n3) = &shipments[2];
    let t4 = t3 + Duration::hours(1);
    app.clock().freeze(t4);
    app.tracking().ingest_events(&[ev(n3, "PKP", t4 - Duration::hours(2)), ev(n3, "DLV", t4)], "api").await.unwrap();
    app.clock().freeze(t4 + Duration::days(10) - Duration::seconds(1));
    app.tracking().sweep().await.unwrap();
    let k = open_kinds(&app, s3).await;
    assert!(
        k.is_empty(),
        "{k:?} {:?}",
        app.tracking().tracking(&codflow_domain::ShipmentId::parse(s3).unwrap()).await.unwrap().tracked
    );
    app.clock().freeze(t4 + Duration::days(10));
    app.tracking().sweep().await.unwrap();
    assert_eq!(open_kinds(&app, s3).await, ["cod_not_remitted"]);

    // A person takes a task, notes it and closes it; the sweep does not reopen it.
    let t = app.tracking().tracking(&codflow_domain::ShipmentId::parse(s3).unwrap()).await.unwrap().tasks.remove(0);
    let change = codflow_app::tasks::TaskChange {
        status: Some("in_progress".into()),
        assignee: Some("mona".into()),
        ..Default::default()
    };
    app.tracking().update_task(&t.id, change, worker()).await.unwrap();
    app.tracking().add_task_note(&t.id, "called the carrier", worker()).await.unwrap();
    let done = codflow_app::tasks::TaskChange {
        status: Some("done".into()),
        resolution: Some("claim filed".into()),
        ..Default::default()
    };
    app.tracking().update_task(&t.id, done, worker()).await.unwrap();
    app.clock().advance(Duration::days(1));
    app.tracking().sweep().await.unwrap();
    assert!(open_kinds(&app, s3).await.is_empty());
    let (_, notes, history) = app.tracking().task(&t.id).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert!(
        history.iter().any(|h| h.action == "assign") && history.iter().any(|h| h.to_status.as_deref() == Some("done"))
    );
}

async fn duplicates_late_events_and_unknown_codes_are_kept_without_moving_the_shipment_back(engine: Engine) {
    let sb = sandbox_with("1", None).await;
    let (_db, app, ids) = ready(engine, &sb.url, &["D-1"]).await;
    let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    app.clock().freeze(t0);
    let shipments = book_all(&app, &ids).await;
    let (shp, tn) = &shipments[0];
    let at = |h: i64| t0 + Duration::hours(h);
    let batch = [ev(tn, "PKP", at(1)), ev(tn, "DLV", at(30)), ev(tn, "PKP", at(1)), ev(tn, "ZZ-WEIRD", at(20))];
    let r = app.tracking().ingest_events(&batch, "api").await.unwrap();
    assert_eq!((r.new, r.duplicates, r.unmapped), (3, 1, 1), "{r:?}");
    // A late in-transit scan, older than the delivery, does not undo it; a replay adds nothing.
    let r = app.tracking().ingest_events(&[ev(tn, "ARR-HUB", at(10)), ev(tn, "DLV", at(30))], "api").await.unwrap();
    assert_eq!((r.new, r.duplicates), (1, 1));
    let t = app.tracking().tracking(&codflow_domain::ShipmentId::parse(shp).unwrap()).await.unwrap();
    assert_eq!(t.tracked.progress.status.status_str(), "delivered");
    assert_eq!(t.events.len(), 4);
    // The unknown code is listed, and mapping it re-normalises the stored event.
    let unmapped = app.tracking().unmapped_codes().await.unwrap();
    assert_eq!((unmapped[0].code.as_str(), unmapped[0].count), ("ZZ-WEIRD", 1));
    let m = codflow_app::tracking::Mapping {
        carrier: "sandbox".into(),
        code: "ZZ-WEIRD".into(),
        status: codflow_domain::ShipmentStatus::parse("in_transit").unwrap(),
        description: "Sorted at hub".into(),
    };
    assert_eq!(app.tracking().put_carrier_mapping(m, worker()).await.unwrap(), 1);
    assert!(app.tracking().unmapped_codes().await.unwrap().is_empty());
    let t = app.tracking().tracking(&codflow_domain::ShipmentId::parse(shp).unwrap()).await.unwrap();
    assert_eq!(t.tracked.progress.status.status_str(), "delivered");
    assert!(t.events.iter().any(|e| e.code == "ZZ-WEIRD" && e.status.status_str() == "in_transit"));
    // An event for a tracking number nobody has is reported, not stored.
    let r = app.tracking().ingest_events(&[ev("XX000000000XX", "DLV", at(2))], "api").await.unwrap();
    assert_eq!((r.new, r.rejected.len()), (0, 1));
}

/// A `codflow serve` of its own on the test's database, with the sandbox carrier and an SMS receiver.
async fn serve_process(db_url: &str, carrier_url: &str, sms_url: &str) -> tokio::process::Child {
    let mut child = Command::new(BIN)
        .args(["serve", "--database-url", db_url, "--listen", "127.0.0.1:0"])
        .args(["--sandbox-carrier-url", carrier_url, "--sms-url", sms_url])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    crate::read_until(&mut lines, "listening on").await;
    // Keep draining what the server prints so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    child
}

async fn wait_for(store: &codflow_store::Store, what: &str, sql: &str) {
    let deadline = std::time::Instant::now() + StdDuration::from_secs(90);
    while crate::scalar(store, sql).await != 0 {
        assert!(std::time::Instant::now() < deadline, "still waiting for {what}: {sql}");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_poll_each_parcel_once_and_send_each_message_once() {
    let sb = sandbox_with("1000000", None).await;
    let externals: Vec<String> = (0..12).map(|i| format!("TWO-{i}")).collect();
    let refs: Vec<&str> = externals.iter().map(String::as_str).collect();
    let (db, app, ids) = ready(Engine::Postgres, &sb.url, &refs).await;
    // One poll per parcel is due now; the next one would be a week away, so a second poll of any parcel
    // during this test can only be a poll run twice.
    let week = codflow_app::tracking::PollSettings {
        poll_seconds: 7 * 86_400,
        poll_carriers: vec!["sandbox".into()],
        max_age_days: 60,
    };
    app.tracking().set_tracking_settings(week, worker()).await.unwrap();
    let shipments = book_all(&app, &ids).await;
    sqlx::query("UPDATE tracking SET poll_at = 0").execute(app.store.reader()).await.unwrap();
    // Let every journey finish at the carrier first, so the one poll each parcel gets sees all of it.
    let deadline = std::time::Instant::now() + StdDuration::from_secs(30);
    for (_, tn) in &shipments {
        while !matches!(carrier_view(&sb.url, tn).await["status"].as_str(), Some("DLV" | "COD" | "RTD" | "LST")) {
            assert!(std::time::Instant::now() < deadline, "{tn} did not finish at the carrier");
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
    }
    let sms = codflow_connectors::sink::HttpSink::start().await.unwrap();
    let sms_url = sms.url("/sms");
    let _a = serve_process(&db.url, &sb.url, &sms_url).await;
    let _b = serve_process(&db.url, &sb.url, &sms_url).await;

    let soon = codflow_store::micros(OffsetDateTime::now_utc() + Duration::days(1));
    wait_for(
        &app.store,
        "every parcel polled",
        &format!("SELECT COUNT(*) FROM tracking WHERE poll_at IS NOT NULL AND poll_at < {soon}"),
    )
    .await;
    for (shp, tn) in &shipments {
        let at_carrier = carrier_view(&sb.url, tn).await;
        assert_eq!(at_carrier["tracking_requests"], 1, "{tn} polled more than once");
        let t = app.tracking().tracking(&codflow_domain::ShipmentId::parse(shp).unwrap()).await.unwrap();
        assert!(!t.events.is_empty(), "{tn}: nothing applied");
        // Both nodes sweep the same shipments: each anomaly has one task, opened once.
        let mut kinds: Vec<&str> = t.tasks.iter().map(|k| k.kind.as_str()).collect();
        let n = kinds.len();
        kinds.dedup();
        assert_eq!(kinds.len(), n, "{tn}: {:?}", t.tasks);
    }
    let tasks = crate::scalar(&app.store, "SELECT COUNT(*) FROM tasks").await;
    let opened =
        crate::scalar(&app.store, "SELECT COUNT(*) FROM audit_log WHERE entity = 'task' AND action = 'open'").await;
    assert_eq!(opened, tasks);

    // The buyer messages wait for the morning in Riyadh when the test runs at night; send them now.
    let queued = crate::scalar(&app.store, "SELECT COUNT(*) FROM notifications WHERE channel = 'sms'").await;
    assert!(queued >= shipments.len() as i64, "at least a shipped message per parcel: {queued}");
    sqlx::query("UPDATE notifications SET next_attempt_at = 0").execute(app.store.reader()).await.unwrap();
    wait_for(&app.store, "every message sent", "SELECT COUNT(*) FROM notifications WHERE status <> 'sent'").await;
    let received = sms.requests();
    let mut keys: Vec<String> =
        received.iter().map(|r| r.header("idempotency-key").unwrap_or_default().to_owned()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(received.len() as i64, queued, "each message reaches the provider once");
    assert_eq!(keys.len(), received.len(), "no message sent twice");
}

async fn a_damage_claim_for_a_parcel_delivered_outside_the_carriers_window_is_refused_and_nothing_is_written(
    engine: Engine,
) {
    let sb = sandbox_with("1", None).await;
    let (_db, app, ids) = ready(engine, &sb.url, &["CL-1"]).await;
    let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    app.clock().freeze(t0);
    let shipments = book_all(&app, &ids).await;
    let (s1, n1) = &shipments[0];
    let shipment = codflow_domain::ShipmentId::parse(s1).unwrap();
    let t1 = t0 + Duration::hours(30);
    app.clock().freeze(t1);
    app.tracking().ingest_events(&[ev(n1, "PKP", t0 + Duration::hours(2)), ev(n1, "DLV", t1)], "api").await.unwrap();
    // The default window: 30 days from the last scan (the delivery). A second after it, no claim opens.
    app.clock().freeze(t1 + Duration::days(30) + Duration::seconds(1));
    let reason = codflow_domain::claims::ClaimReason::Damaged;
    let refused = app.finance().open_claim(&shipment, reason, None, None, worker()).await.unwrap_err();
    match refused {
        codflow_app::Error::Conflict { kind: codflow_app::ConflictKind::ClaimNotAllowed, message } => {
            assert_eq!(
                message,
                format!("the carrier's window for claims closed on {}", (t1 + Duration::days(30)).date())
            );
        }
        other => panic!("{other:?}"),
    }
    let none = app.finance().claims(&Default::default(), None, 10).await.unwrap();
    assert!(none.is_empty(), "nothing written: {none:?}");
    app.clock().freeze(t1 + Duration::days(29));
    let c = app
        .finance()
        .open_claim(&shipment, reason, None, Some("buyer photographed a cracked lid"), worker())
        .await
        .unwrap();
    assert_eq!(c.deadline, t1 + Duration::days(30));
    // Filing after the deadline is refused too.
    app.clock().freeze(t1 + Duration::days(31));
    let late = app.finance().file_claim(&c.id, "X-1", worker()).await.unwrap_err();
    assert!(matches!(late, codflow_app::Error::Conflict { kind: codflow_app::ConflictKind::ClaimNotAllowed, .. }));
    assert_eq!(app.finance().claim(&c.id).await.unwrap().status, codflow_domain::claims::ClaimStatus::Draft);
}
