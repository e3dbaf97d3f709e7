use codflow_domain::Role;
use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::Duration;

use crate::floor::{channel, floor, pack_one, printer};
use crate::helpers::{TestApp, error_paths, json_of};
use crate::returns::events;

codflow_store::on_both_engines!(
    a_lost_parcel_becomes_a_claim_with_its_evidence_pack_and_is_paid_with_the_ledger_balanced,
    a_draft_near_its_accounts_deadline_opens_a_task_and_bad_claims_change_nothing,
    an_approved_claim_paid_on_the_carriers_next_remittance_is_settled_from_its_line,
    a_buyer_signs_a_statement_with_photos_through_the_link_and_it_joins_the_evidence_pack,
    an_approved_claim_credited_on_the_carriers_freight_invoice_is_settled_from_the_credit_line,
    remittance_lines_naming_a_parcel_by_its_orders_reference_alone_are_matched_to_it,
    a_parcel_paid_short_is_completed_by_a_top_up_on_the_next_remittance,
);

async fn as_finance(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.post_as(app.token(Role::Finance), path, body).await
}

/// The sum per account of a shipment's ledger, in minor units.
async fn balances(app: &TestApp, shipment: &str) -> std::collections::BTreeMap<String, i64> {
    let legs = json_of(app.get(&format!("/api/v1/shipments/{shipment}/ledger")).await, StatusCode::OK).await;
    let mut out = std::collections::BTreeMap::new();
    for l in legs.as_array().unwrap() {
        let a = l["amount"]["amount"].as_str().unwrap().replace('.', "").parse::<i64>().unwrap();
        *out.entry(l["account"].as_str().unwrap().to_owned()).or_insert(0) += a;
    }
    out
}

/// A lost parcel's claim, filed and approved at 25.00 SAR: its tracking number, shipment and claim id.
async fn approved_lost_claim(app: &TestApp, ext: &str) -> (String, String, String) {
    let pack = pack_one(app, ext, 1).await;
    let tn = pack["tracking_number"].as_str().unwrap().to_owned();
    let shipment = pack["shipment_id"].as_str().unwrap().to_owned();
    events(app, &tn, &[("PKP", Duration::hours(60)), ("LST", Duration::hours(5))]).await;
    let body = json!({"shipment_id": shipment, "reason": "lost"});
    let c = json_of(as_finance(app, "/api/v1/claims", &body).await, StatusCode::CREATED).await;
    let id = c["id"].as_str().unwrap().to_owned();
    let file = json!({"carrier_ref": format!("K-{ext}")});
    json_of(as_finance(app, &format!("/api/v1/claims/{id}/file"), &file).await, StatusCode::OK).await;
    let approved = json!({"approved": {"amount": "25.00", "currency": "SAR"}});
    json_of(as_finance(app, &format!("/api/v1/claims/{id}/decide"), &approved).await, StatusCode::OK).await;
    (tn, shipment, id)
}

/// Imports one of the sandbox carrier's statements as finance; the import's report.
async fn import(app: &TestApp, csv: String, profile: &str) -> Value {
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("statement.csv"))
        .text("profile", profile.to_owned())
        .text("carrier", "sandbox");
    let r = app
        .client
        .post(app.url("/api/v1/statements"))
        .bearer_auth(app.token(Role::Finance))
        .multipart(form)
        .send()
        .await
        .unwrap();
    json_of(r, StatusCode::CREATED).await
}

async fn a_lost_parcel_becomes_a_claim_with_its_evidence_pack_and_is_paid_with_the_ledger_balanced(engine: Engine) {
    let app = crate::helpers::spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    let pack = pack_one(&app, "C-1", 2).await;
    let tn = pack["tracking_number"].as_str().unwrap().to_owned();
    let shipment = pack["shipment_id"].as_str().unwrap().to_owned();
    events(&app, &tn, &[("PKP", Duration::hours(60))]).await;
    // In transit: not lost yet.
    let body = json!({"shipment_id": shipment, "reason": "lost"});
    let e = json_of(as_finance(&app, "/api/v1/claims", &body).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "claim_not_allowed", "{e}");
    assert!(e["detail"].as_str().unwrap().contains("not lost"), "{e}");
    events(&app, &tn, &[("LST", Duration::hours(20))]).await;

    let c = json_of(as_finance(&app, "/api/v1/claims", &body).await, StatusCode::CREATED).await;
    assert_eq!((c["status"].as_str(), c["reason"].as_str()), (Some("draft"), Some("lost")));
    let order =
        json_of(app.get(&format!("/api/v1/orders/{}", pack["order_id"].as_str().unwrap())).await, StatusCode::OK).await;
    assert_eq!(c["claimed"], order["total"], "the declared value by default");
    let id = c["id"].as_str().unwrap().to_owned();
    let e = json_of(as_finance(&app, "/api/v1/claims", &body).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "claim_exists");

    // The evidence pack: a PDF, and a ZIP with it and the timeline.
    let pdf = app.get(&format!("/api/v1/claims/{id}/evidence.pdf")).await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    let zip = app.get(&format!("/api/v1/claims/{id}/evidence.zip")).await;
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let zip = zip.bytes().await.unwrap();
    assert!(zip.starts_with(b"PK"));
    let names = String::from_utf8_lossy(&zip);
    assert!(names.contains("timeline.csv") && names.contains(&format!("claim-{id}.pdf")), "the archive's entries");

    // Filed, reviewed, approved in part, paid.
    let path = |a: &str| format!("/api/v1/claims/{id}/{a}");
    let e = json_of(
        as_finance(&app, &path("paid"), &json!({"amount": {"amount": "1.00", "currency": "SAR"}, "reference": "x"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(e["code"], "illegal_transition");
    let filed =
        json_of(as_finance(&app, &path("file"), &json!({"carrier_ref": "SBX-CLM-9"})).await, StatusCode::OK).await;
    assert_eq!((filed["status"].as_str(), filed["carrier_ref"].as_str()), (Some("filed"), Some("SBX-CLM-9")));
    json_of(as_finance(&app, &path("review"), &json!({})).await, StatusCode::OK).await;
    let claimed = c["claimed"]["amount"].as_str().unwrap().to_owned();
    let too_much = json!({"approved": {"amount": "100000.00", "currency": "SAR"}});
    let e = json_of(as_finance(&app, &path("decide"), &too_much).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(!error_paths(&e).is_empty(), "{e}");
    let decided = json_of(
        as_finance(
            &app,
            &path("decide"),
            &json!({"approved": {"amount": "40.00", "currency": "SAR"}, "note": "capped"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(decided["status"], "partly_approved", "claimed {claimed}");
    let b = balances(&app, &shipment).await;
    assert_eq!((b["claims_receivable"], b["claim_recoveries"]), (4000, -4000));
    let over = json!({"amount": {"amount": "40.01", "currency": "SAR"}, "reference": "TRX-1"});
    json_of(as_finance(&app, &path("paid"), &over).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let paid = json!({"amount": {"amount": "40.00", "currency": "SAR"}, "reference": "TRX-1"});
    let done = json_of(as_finance(&app, &path("paid"), &paid).await, StatusCode::OK).await;
    assert_eq!((done["status"].as_str(), done["payment_ref"].as_str()), (Some("paid"), Some("TRX-1")));
    let b = balances(&app, &shipment).await;
    assert_eq!((b["claims_receivable"], b["bank"], b["claim_recoveries"]), (0, 4000, -4000), "{b:?}");
    assert_eq!(b.values().sum::<i64>(), 0, "the ledger balances: {b:?}");
    let e = json_of(as_finance(&app, &path("paid"), &paid).await, StatusCode::CONFLICT).await;
    assert_eq!(e["code"], "illegal_transition");

    let by = json_of(app.get("/api/v1/claims/by-carrier").await, StatusCode::OK).await;
    assert_eq!(by[0]["carrier"], "sandbox");
    assert_eq!((&by[0]["claims"], &by[0]["paid"]["amount"]), (&json!(1), &json!("40.00")));
    let list = json_of(app.get("/api/v1/claims?status=paid").await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

async fn a_draft_near_its_accounts_deadline_opens_a_task_and_bad_claims_change_nothing(engine: Engine) {
    let app = crate::helpers::spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[]).await;
    // A sandbox account whose claims must be filed within 2 days of booking, used by the channel.
    let account = json!({"code": "sbx-main", "carrier": "sandbox", "name": "Sandbox", "base_url": app.carrier.clone().unwrap(),
        "credentials": {}});
    json_of(app.post("/api/v1/carrier-accounts", &account).await, StatusCode::CREATED).await;
    let window = "/api/v1/carrier-accounts/sbx-main/claim-window";
    assert_eq!(json_of(app.get(window).await, StatusCode::OK).await, json!({"days": 30, "from": "last_scan"}));
    for (bad, field) in [(json!({"days": 0, "from": "booking"}), "days"), (json!({"days": 5, "from": "never"}), "from")]
    {
        let e = json_of(app.put(window, &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_paths(&e), [field]);
    }
    json_of(
        app.put("/api/v1/carrier-accounts/nope/claim-window", &json!({"days": 2, "from": "booking"})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    json_of(app.put(window, &json!({"days": 2, "from": "booking"})).await, StatusCode::OK).await;
    let mut ch = channel("SBX-SA", "20.00", None);
    ch["carrier_account"] = json!("sbx-main");
    json_of(app.post("/api/v1/channels", &ch).await, StatusCode::CREATED).await;

    let pack = pack_one(&app, "C-2", 1).await;
    let tn = pack["tracking_number"].as_str().unwrap().to_owned();
    let shipment = pack["shipment_id"].as_str().unwrap().to_owned();
    events(&app, &tn, &[("PKP", Duration::hours(30)), ("OFD", Duration::hours(5)), ("DLV", Duration::hours(4))]).await;
    // Bad claims: an unknown shipment, a made-up reason, a lost claim for a delivered parcel, a wrong currency.
    let e = json_of(
        as_finance(&app, "/api/v1/claims", &json!({"shipment_id": "shp_nope", "reason": "lost"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["shipment_id"]);
    let e = json_of(
        as_finance(&app, "/api/v1/claims", &json!({"shipment_id": shipment, "reason": "stolen"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["reason"]);
    let e = json_of(
        as_finance(&app, "/api/v1/claims", &json!({"shipment_id": shipment, "reason": "lost"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(e["code"], "claim_not_allowed");
    let usd = json!({"shipment_id": shipment, "reason": "damaged", "amount": {"amount": "5.00", "currency": "USD"}});
    let e = json_of(as_finance(&app, "/api/v1/claims", &usd).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["amount"]);
    let viewer = app
        .post_as(app.token(Role::Viewer), "/api/v1/claims", &json!({"shipment_id": shipment, "reason": "damaged"}))
        .await;
    assert_eq!(viewer.status(), StatusCode::FORBIDDEN);
    assert_eq!(json_of(app.get("/api/v1/claims").await, StatusCode::OK).await["items"], json!([]));

    // Delivered damaged, within the window: a draft due within two days of booking gets its task.
    let body = json!({"shipment_id": shipment, "reason": "damaged", "amount": {"amount": "15.00", "currency": "SAR"}, "note": "buyer sent photos"});
    let c = json_of(as_finance(&app, "/api/v1/claims", &body).await, StatusCode::CREATED).await;
    assert_eq!(c["claimed"], json!({"amount": "15.00", "currency": "SAR"}));
    json_of(app.post("/api/v1/tracking/sweep", &json!({})).await, StatusCode::OK).await;
    let tasks = json_of(app.get("/api/v1/tasks?kind=claim_deadline").await, StatusCode::OK).await;
    let mine: Vec<&Value> =
        tasks["items"].as_array().unwrap().iter().filter(|t| t["kind"] == "claim_deadline").collect();
    assert_eq!(mine.len(), 1, "{tasks}");
    assert_eq!(mine[0]["role"], "finance");
    json_of(app.post("/api/v1/tracking/sweep", &json!({})).await, StatusCode::OK).await;
    let again = json_of(app.get("/api/v1/tasks?kind=claim_deadline").await, StatusCode::OK).await;
    assert_eq!(again["items"].as_array().unwrap().iter().filter(|t| t["kind"] == "claim_deadline").count(), 1);
    // Rejected: nothing owed, nothing posted.
    let id = c["id"].as_str().unwrap();
    json_of(
        as_finance(&app, &format!("/api/v1/claims/{id}/file"), &json!({"carrier_ref": " "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    json_of(
        as_finance(&app, &format!("/api/v1/claims/{id}/file"), &json!({"carrier_ref": "R-1"})).await,
        StatusCode::OK,
    )
    .await;
    let r = json_of(
        as_finance(
            &app,
            &format!("/api/v1/claims/{id}/decide"),
            &json!({"approved": {"amount": "0", "currency": "SAR"}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(r["status"], "rejected");
    assert!(!balances(&app, &shipment).await.contains_key("claims_receivable"));
}

/// Finance works a lost parcel's claim in headless Chromium: opened by tracking number, filed, decided in
/// part and paid, with the carrier's figures on the list.
#[tokio::test]
async fn a_lost_parcels_claim_is_opened_filed_decided_and_paid_at_the_console() {
    use codflow_app::App;
    use codflow_domain::Actor;

    use crate::browser::Browser;

    let app = crate::helpers::spawn_app_with_sandbox(Engine::Sqlite).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    let pack = pack_one(&app, "CB-1", 1).await;
    let tn = pack["tracking_number"].as_str().unwrap().to_owned();
    events(&app, &tn, &[("PKP", Duration::hours(60)), ("LST", Duration::hours(3))]).await;
    App::new(app.store.clone())
        .admin()
        .create_user("zhou.fin", "long enough secret", Role::Finance, Actor::Worker("t".into()))
        .await
        .unwrap();
    let base = app.url("");
    let b = Browser::start().await;
    b.log_in(&base, "zhou.fin", "long enough secret").await;
    b.wait_for_url("/orders").await;
    b.click(&b.find("nav a[href='/claims']").await).await;
    b.wait_for_url("/claims").await;
    b.type_into(&b.find("#open-claim input[name=parcel]").await, &tn).await;
    b.click(&b.find("#open-claim button").await).await;
    b.wait_for_url("saved=1").await;
    assert_eq!(b.attr(&b.find("#claim").await, "data-status").await.as_deref(), Some("draft"));
    let pdf = "const a = document.querySelector('#evidence a[data-doc=pdf]'); \
               return fetch(a.href).then(async r => [r.status, r.headers.get('content-type')]);";
    assert_eq!(b.run(pdf, json!([])).await, json!([200, "application/pdf"]));
    // A link for the buyer's statement; the buyer answers on it (their Arabic page), and it shows on the claim.
    let claim_url = b.run("return location.pathname;", json!([])).await.as_str().unwrap().to_owned();
    b.click(&b.find("#statement-form button").await).await;
    let link = b.attr(&b.find("#statement-link").await, "value").await.unwrap();
    let token_path = &link[link.find("/claim-statement/").unwrap()..];
    b.goto(&format!("{base}{token_path}")).await;
    b.type_into(&b.find("textarea[name=description]").await, "Nobody came; the parcel never reached me.").await;
    b.type_into(&b.find("input[name=signed_name]").await, "Noura Al-Qahtani").await;
    b.click(&b.find("input[name=confirm]").await).await;
    b.screenshot("82-buyer-statement").await;
    b.click(&b.find("button[type=submit]").await).await;
    b.wait_for_text("body", "شكراً").await;
    b.goto(&format!("{base}{claim_url}")).await;
    b.wait_for_text("#statement", "never reached me").await;
    let said = b.text(&b.find("#statement").await).await;
    assert!(
        said.contains("Noura Al-Qahtani") && said.contains(&time::OffsetDateTime::now_utc().year().to_string()),
        "signed, with its time: {said}"
    );
    b.type_into(&b.find("#file-form input[name=carrier_ref]").await, "SBX-77").await;
    b.click(&b.find("#file-form button").await).await;
    b.wait_for_text("#claim", "SBX-77").await;
    b.run("document.querySelector('#decide-form input[name=approved]').value = '30.00'; return true;", json!([])).await;
    b.click(&b.find("#decide-form button").await).await;
    b.wait_for_text("#claim", "30.00").await;
    assert_eq!(b.attr(&b.find("#claim").await, "data-status").await.as_deref(), Some("partly_approved"));
    b.type_into(&b.find("#paid-form input[name=reference]").await, "TRX-9").await;
    b.click(&b.find("#paid-form button").await).await;
    b.wait_for_text("#claim", "TRX-9").await;
    assert_eq!(b.attr(&b.find("#claim").await, "data-status").await.as_deref(), Some("paid"));
    b.screenshot("80-claim-paid").await;
    b.click(&b.find("nav a[href='/claims']").await).await;
    b.wait_for_text("#claims-by-carrier", "sandbox").await;
    assert!(b.text(&b.find("#claims-by-carrier").await).await.contains("30.00"));
    b.screenshot("81-claims").await;
    // The carrier scorecard shows the same recovery beside the carrier's service.
    b.goto(&format!("{base}/dashboards/carriers")).await;
    let scorecard = b.text(&b.find("#carrier-claims").await).await;
    assert!(scorecard.contains("sandbox") && scorecard.contains("30.00"), "{scorecard}");
    b.quit().await;
}

async fn an_approved_claim_paid_on_the_carriers_next_remittance_is_settled_from_its_line(engine: Engine) {
    let app = crate::helpers::spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    let (tn, shipment, id) = approved_lost_claim(&app, "C-9").await;
    let id = id.as_str();

    // The carrier pays it on its COD remittance, as a line for the lost parcel, less a 1.00 handling fee.
    let csv = format!(
        "tracking_number,reference,remittance_ref,collected_at,currency,cod_amount,cod_fee,net_amount\n\
         {tn},,R-77,2026-12-05,SAR,25.00,1.00,24.00\nSBX-NOT-OURS,,R-77,2026-12-05,SAR,10.00,0,10.00\n"
    );
    let report = import(&app, csv, "sandbox-cod").await;
    assert_eq!(report["claims_settled"], 1, "{report}");
    let paid = json_of(app.get(&format!("/api/v1/claims/{id}")).await, StatusCode::OK).await;
    assert_eq!(paid["status"], "paid");
    assert!(paid["payment_ref"].as_str().unwrap().starts_with("statement stl_"), "{paid}");
    let b = balances(&app, &shipment).await;
    // Reconciliation placed the line on the parcel (cash in transit, its fee); the claim took it off the
    // carrier's receivable, which the lost parcel never owed.
    assert_eq!((b["claims_receivable"], b["carrier_receivable"], b["cash_in_transit"]), (0, 0, 2400), "{b:?}");
    assert_eq!(b.values().sum::<i64>(), 0, "{b:?}");
    // The stranger's line still needs a person.
    assert_eq!(report["tasks_opened"], 1, "{report}");
}

async fn remittance_lines_naming_a_parcel_by_its_orders_reference_alone_are_matched_to_it(engine: Engine) {
    let app = crate::helpers::spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    let mut parcels = Vec::new();
    for ext in ["REF-1", "REF-2", "REF-3"] {
        let pack = pack_one(&app, ext, 1).await;
        let tn = pack["tracking_number"].as_str().unwrap().to_owned();
        events(&app, &tn, &[("PKP", Duration::hours(30)), ("OFD", Duration::hours(5)), ("DLV", Duration::hours(4))])
            .await;
        parcels.push((tn, pack["shipment_id"].as_str().unwrap().to_owned()));
    }
    // By tracking number; by the order's reference alone; by a tracking number of no parcel of ours with the
    // order's reference beside it; by a reference of no order of ours.
    let csv = format!(
        "tracking_number,reference,remittance_ref,collected_at,currency,cod_amount,cod_fee,net_amount\n\
         {},,R-5,2026-12-05,SAR,25.00,1.00,24.00\n\
         ,REF-2,R-5,2026-12-05,SAR,25.00,1.00,24.00\n\
         SBX-LOST-LABEL,REF-3,R-5,2026-12-05,SAR,25.00,1.00,24.00\n\
         ,REF-404,R-5,2026-12-05,SAR,25.00,1.00,24.00\n",
        parcels[0].0
    );
    let report = import(&app, csv, "sandbox-cod").await;
    let id = report["statement"]["id"].as_str().unwrap();
    let lines = json_of(app.get(&format!("/api/v1/statements/{id}/lines")).await, StatusCode::OK).await;
    let got: Vec<(i64, Option<&str>)> = lines["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["line"].as_i64().unwrap(), l["shipment_id"].as_str()))
        .collect();
    let want = vec![
        (2, Some(parcels[0].1.as_str())),
        (3, Some(parcels[1].1.as_str())),
        (4, Some(parcels[2].1.as_str())),
        (5, None),
    ];
    assert_eq!(got, want, "{lines}");
    assert_eq!(lines["items"][3]["class"], "unknown_reference");
    // A file naming few parcels by reference (one line in ten): those references are looked up after reading
    // it, not read for every parcel; the line still finds its parcel.
    let mut csv =
        String::from("tracking_number,reference,remittance_ref,collected_at,currency,cod_amount,cod_fee,net_amount\n");
    for _ in 0..9 {
        csv += &format!("{},,R-6,2026-12-12,SAR,1.00,0,1.00\n", parcels[0].0);
    }
    csv += ",REF-2,R-6,2026-12-12,SAR,1.00,0,1.00\n";
    let report = import(&app, csv, "sandbox-cod").await;
    let id = report["statement"]["id"].as_str().unwrap();
    let lines = json_of(app.get(&format!("/api/v1/statements/{id}/lines?limit=20")).await, StatusCode::OK).await;
    let last = &lines["items"][9];
    assert_eq!(
        (last["line"].as_i64(), last["shipment_id"].as_str()),
        (Some(11), Some(parcels[1].1.as_str())),
        "{lines}"
    );
}

async fn a_parcel_paid_short_is_completed_by_a_top_up_on_the_next_remittance(engine: Engine) {
    let app = crate::helpers::spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    let pack = pack_one(&app, "TOP-1", 1).await;
    let tn = pack["tracking_number"].as_str().unwrap().to_owned();
    events(&app, &tn, &[("PKP", Duration::hours(30)), ("OFD", Duration::hours(5)), ("DLV", Duration::hours(4))]).await;
    let header = "tracking_number,reference,remittance_ref,collected_at,currency,cod_amount,cod_fee,net_amount";
    let line_of = |report: &Value| {
        let id = report["statement"]["id"].as_str().unwrap().to_owned();
        let app = &app;
        async move {
            let lines = json_of(app.get(&format!("/api/v1/statements/{id}/lines")).await, StatusCode::OK).await;
            lines["items"][0].clone()
        }
    };
    let first = import(&app, format!("{header}\n{tn},,R-1,2026-12-05,SAR,10.00,0,10.00\n"), "sandbox-cod").await;
    let short = line_of(&first).await;
    assert_eq!(short["class"], "short_paid", "{short}");
    let owed: i64 = short["expected"]["amount"].as_str().unwrap().replace('.', "").parse().unwrap();
    // The rest of the cash on the next week's remittance: with what came before, the parcel is paid.
    let rest = format!("{}.{:02}", (owed - 1_000) / 100, (owed - 1_000) % 100);
    let second = import(&app, format!("{header}\n{tn},,R-2,2026-12-12,SAR,{rest},0,{rest}\n"), "sandbox-cod").await;
    let topped = line_of(&second).await;
    assert_eq!(topped["class"], "matched", "{topped}");
    assert_eq!(topped["difference"]["amount"], "0.00", "{topped}");
    // A third payment for it is one too many.
    let third = import(&app, format!("{header}\n{tn},,R-3,2026-12-19,SAR,1.00,0,1.00\n"), "sandbox-cod").await;
    assert_eq!(line_of(&third).await["class"], "duplicate");
}

async fn a_buyer_signs_a_statement_with_photos_through_the_link_and_it_joins_the_evidence_pack(engine: Engine) {
    use reqwest::multipart::{Form, Part};
    let app = crate::helpers::spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    let pack = pack_one(&app, "ST-1", 1).await;
    let tn = pack["tracking_number"].as_str().unwrap().to_owned();
    let shipment = pack["shipment_id"].as_str().unwrap().to_owned();
    events(&app, &tn, &[("PKP", Duration::hours(30)), ("OFD", Duration::hours(5)), ("DLV", Duration::hours(4))]).await;
    let body = json!({"shipment_id": shipment, "reason": "damaged"});
    let c = json_of(as_finance(&app, "/api/v1/claims", &body).await, StatusCode::CREATED).await;
    let id = c["id"].as_str().unwrap().to_owned();
    json_of(app.get(&format!("/api/v1/claims/{id}/statement")).await, StatusCode::NOT_FOUND).await;

    let r = app.post_as(app.token(Role::Viewer), &format!("/api/v1/claims/{id}/statement-link"), &json!({})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let link = json_of(
        as_finance(&app, &format!("/api/v1/claims/{id}/statement-link"), &json!({})).await,
        StatusCode::CREATED,
    )
    .await;
    let url = link["url"].as_str().unwrap().to_owned();
    let token = url.rsplit('/').next().unwrap().to_owned();
    assert!(url.contains("/claim-statement/claim."), "{url}");
    assert!(link["expires_at"].as_str().unwrap() > "2026", "{link}");
    let page = |path: String, lang: &'static str| app.client.get(app.url(&path)).header("accept-language", lang).send();
    let path = format!("/claim-statement/{token}");

    // The buyer's page: in Arabic from their Saudi address, what the claim is about, no account needed.
    let r = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("dir=\"rtl\"") && html.contains("وصل طردك تالفاً") && html.contains(&tn), "{html}");
    // Tampered, or a failed-delivery style token: refused.
    // The signature's last digit changed (to another digit, whatever it was).
    let flipped = if path.ends_with('0') { '1' } else { '0' };
    let bad = format!("{}{flipped}", &path[..path.len() - 1]);
    assert_eq!(page(bad, "en").await.unwrap().status(), StatusCode::FORBIDDEN);
    let other = format!("/claim-statement/{}", token.replacen("claim.", "", 1));
    assert_eq!(page(other, "en").await.unwrap().status(), StatusCode::FORBIDDEN);

    // Garbage: no words, no name, the box not ticked, a text file as a photo. Named, nothing kept. (The
    // browser asks for Spanish: the page answers in it.)
    let post = |form: Form| app.client.post(app.url(&path)).header("accept-language", "es").multipart(form).send();
    let garbage = Form::new()
        .text("description", "bad")
        .text("signed_name", "")
        .part("photo", Part::bytes(b"not an image".to_vec()).file_name("x.txt"));
    let r = post(garbage).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    for field in ["description", "signed_name", "confirm", "photos[0]"] {
        assert!(html.contains(&format!("<li>{field}:")), "{field} named: {html}");
    }
    assert!(html.contains(">bad</textarea>"), "what the buyer typed is kept");
    json_of(app.get(&format!("/api/v1/claims/{id}/statement")).await, StatusCode::NOT_FOUND).await;

    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let good = || {
        Form::new()
            .text("description", "The box was crushed on one side.\r\nThe lamp's shade is cracked.")
            .text("signed_name", " Noura Al-Qahtani ")
            .text("confirm", "yes")
            .part("photo", Part::bytes(png.clone()).file_name("shade.png"))
    };
    let r = post(good()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("tu declaración está con nuestro equipo"));
    // Once: the page says so, a second answer is refused, and no second link is made.
    let again = page(path.clone(), "en").await.unwrap().text().await.unwrap();
    assert!(again.contains("لدينا إفادتك بالفعل"), "in the buyer's language, Arabic: {again}");
    assert_eq!(post(good()).await.unwrap().status(), StatusCode::CONFLICT);
    let e = json_of(
        as_finance(&app, &format!("/api/v1/claims/{id}/statement-link"), &json!({})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(e["code"], "already_answered");

    let st = json_of(app.get(&format!("/api/v1/claims/{id}/statement")).await, StatusCode::OK).await;
    assert_eq!(
        (st["description"].as_str(), st["signed_name"].as_str(), st["language"].as_str(), st["photos"].as_i64()),
        (
            Some("The box was crushed on one side.\nThe lamp's shade is cracked."),
            Some("Noura Al-Qahtani"),
            Some("es"),
            Some(1)
        )
    );
    let photo = app.get(&format!("/api/v1/claims/{id}/statement/photos/1")).await;
    assert_eq!(photo.headers()["content-type"], "image/png");
    assert_eq!(photo.bytes().await.unwrap().to_vec(), png);
    json_of(app.get(&format!("/api/v1/claims/{id}/statement/photos/2")).await, StatusCode::NOT_FOUND).await;
    // In the evidence pack: the statement in the buyer's words and their photo.
    let zip = app.get(&format!("/api/v1/claims/{id}/evidence.zip")).await.bytes().await.unwrap();
    let names = String::from_utf8_lossy(&zip);
    assert!(names.contains("statement.txt") && names.contains("buyer-photo-1.png"), "the archive's entries");
    let pdf = app.get(&format!("/api/v1/claims/{id}/evidence.pdf")).await.bytes().await.unwrap();
    let page1 = &codflow_documents::inspect::pages(&pdf).unwrap()[0];
    let text = codflow_documents::inspect::texts(page1).join("\n");
    assert!(text.contains("BUYER'S STATEMENT") && text.contains("Noura Al-Qahtani"), "{text}");

    // A claim decided and closed takes no more links.
    let path = |a: &str| format!("/api/v1/claims/{id}/{a}");
    json_of(as_finance(&app, &path("file"), &json!({"carrier_ref": "R-9"})).await, StatusCode::OK).await;
    json_of(
        as_finance(&app, &path("decide"), &json!({"approved": {"amount": "0", "currency": "SAR"}})).await,
        StatusCode::OK,
    )
    .await;
    let by = json_of(app.get("/api/v1/claims/by-carrier").await, StatusCode::OK).await;
    let review = &by[0]["review"];
    assert_eq!(
        (review["decided"].as_i64(), review["decided_within_24h"].as_i64(), review["overdue"].as_i64()),
        (Some(1), Some(1), Some(0)),
        "{by}"
    );
    assert_eq!(review["mean_review_hours"], "0.0");
}

async fn an_approved_claim_credited_on_the_carriers_freight_invoice_is_settled_from_the_credit_line(engine: Engine) {
    let app = crate::helpers::spawn_app_with_sandbox(engine).await;
    let p = printer().await;
    floor(&app, Some(&p.addr), &[channel("SBX-SA", "20.00", None)]).await;
    let (tn, shipment, id) = approved_lost_claim(&app, "C-10").await;
    let id = id.as_str();

    // The carrier's freight invoice bills the parcel's freight and credits the claim on the same number; a
    // credit of another amount is not the claim's.
    let csv = format!(
        "invoice_ref,tracking_number,reference,booked_at,billable_kg,freight,currency\n\
         INV-9,{tn},C-10,2026-12-01,0.5,20.00,SAR\nINV-9,{tn},C-10,2026-12-01,0,-25.00,SAR\n\
         INV-9,{tn},C-10,2026-12-01,0,-3.00,SAR\n"
    );
    let report = import(&app, csv, "sandbox-freight").await;
    assert_eq!(report["claims_settled"], 1, "{report}");
    let paid = json_of(app.get(&format!("/api/v1/claims/{id}")).await, StatusCode::OK).await;
    assert_eq!((paid["status"].as_str(), paid["paid"]["amount"].as_str()), (Some("paid"), Some("25.00")), "{paid}");
    assert!(paid["payment_ref"].as_str().unwrap().starts_with("credit on freight invoice stl_"), "{paid}");
    let b = balances(&app, &shipment).await;
    assert_eq!((b["claims_receivable"], b["bank"], b["claim_recoveries"]), (0, 2500, -2500), "{b:?}");
    assert_eq!(b.values().sum::<i64>(), 0, "{b:?}");
    // The freight line is the parcel's one billing; the unexplained 3.00 credit stays on the report, in our
    // favour (no task).
    let classes: Vec<(&str, i64)> = report["discrepancies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["class"].as_str().unwrap(), d["line"].as_i64().unwrap()))
        .collect();
    assert_eq!(classes, [("undercharged", 3), ("undercharged", 4)], "{report}");
    assert!(report["discrepancies"][1]["expected"].is_null(), "a credit is not compared with the quote");
    assert_eq!(report["tasks_opened"], 0, "{report}");
}
