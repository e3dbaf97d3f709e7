use codflow_domain::Role;
use codflow_store::Engine;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_paths, json_of, spawn_app};

codflow_store::on_both_engines!(
    a_sellers_profile_is_validated_saved_and_listed_after_the_builtin_ones,
    a_statement_is_previewed_then_recorded_once_and_paged_by_class,
    statements_that_do_not_fit_their_profile_are_refused_with_the_reason,
    hostile_or_wholly_unreadable_statement_files_are_refused_and_record_nothing,
    exchange_rates_are_imported_from_a_file_once_with_bad_lines_named,
    an_xlsx_statement_with_merged_header_cells_is_read_like_a_csv,
    reconciliation_tolerances_are_settings_finance_changes_within_bounds,
    profit_reports_name_bad_filters_and_first_leg_costs_belong_to_known_warehouses,
);

async fn upload(app: &TestApp, token: &str, csv: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    upload_bytes(app, token, csv.as_bytes().to_vec(), "remit.csv", fields).await
}

fn my_profile() -> Value {
    json!({
        "kind": "cod_remittance",
        "columns": {"tracking_number": "AWB", "amount": "Collected", "fee": "Fee", "net": "Paid", "date": "Date"},
        "date_formats": ["DD/MM/YYYY"],
        "number": {"decimal": ",", "thousands": "."},
        "currency": "SAR",
        "deductions_negative": true,
        "delimiter": ";",
        "skip_rows": 1,
        "weight_in_kg": false
    })
}

async fn a_sellers_profile_is_validated_saved_and_listed_after_the_builtin_ones(engine: Engine) {
    let app = spawn_app(engine).await;
    let put = |token: String, name: &'static str, body: Value| {
        let app = &app;
        async move {
            app.client
                .put(app.url(&format!("/api/v1/settlement-profiles/{name}")))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let finance = app.token(Role::Finance).to_owned();
    json_of(put(finance.clone(), "my-courier", my_profile()).await, StatusCode::CREATED).await;
    json_of(put(finance.clone(), "my-courier", my_profile()).await, StatusCode::OK).await;
    let r = put(app.token(Role::Ops).to_owned(), "my-courier", my_profile()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = put(finance.clone(), "sandbox-cod", my_profile()).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let mut bad = my_profile();
    bad["columns"] = json!({"amount": "Collected"});
    bad["number"]["thousands"] = json!(",");
    bad["number"]["decimal"] = json!(",");
    let problem = json_of(put(finance.clone(), "broken", bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let paths = error_paths(&problem);
    for p in ["columns.net", "columns", "number.thousands"] {
        assert!(paths.contains(&p.to_owned()), "{p} missing from {paths:?}");
    }
    let list = json_of(app.get("/api/v1/settlement-profiles").await, StatusCode::OK).await;
    let names: Vec<(&str, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["profile"]["name"].as_str().unwrap(), p["builtin"].as_bool().unwrap()))
        .collect();
    let mut want: Vec<(String, bool)> =
        codflow_app::finance::builtin_profiles().into_iter().map(|p| (p.name, true)).collect();
    want.push(("my-courier".into(), false));
    assert!(want.len() >= 6, "remittance, payout and invoice layouts are built in: {want:?}");
    let names: Vec<(String, bool)> = names.into_iter().map(|(n, b)| (n.to_owned(), b)).collect();
    assert_eq!(names, want);
    let r = app
        .client
        .delete(app.url("/api/v1/settlement-profiles/my-courier"))
        .bearer_auth(&finance)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/settlement-profiles/my-courier").await.status(), StatusCode::NOT_FOUND);
}

async fn a_statement_is_previewed_then_recorded_once_and_paged_by_class(engine: Engine) {
    let app = spawn_app(engine).await;
    let finance = app.token(Role::Finance).to_owned();
    json_of(
        app.client
            .put(app.url("/api/v1/settlement-profiles/my-courier"))
            .bearer_auth(&finance)
            .json(&my_profile())
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    // A title row, a BOM, European numbers and negative deductions; no shipment is ours.
    let csv = "\u{feff}My Courier remittance week 48\nAWB;Date;Collected;Fee;Paid\nMC1;01/12/2026;1.250,00;-25,00;1.225,00\n\
               MC2;02/12/2026;99,50;-2,00;97,50\nMC3;31/02/2026;10,00;0;10,00\n";
    let fields = [("profile", "my-courier"), ("carrier", "mycourier"), ("preview", "true")];
    let preview = json_of(upload(&app, &finance, csv, &fields).await, StatusCode::OK).await;
    assert_eq!(preview["preview"], json!(true));
    assert!(preview["statement"].is_null());
    assert_eq!(
        preview["classes"],
        json!([{"class": "unknown_reference", "lines": 2, "amount": {"amount": "1349.50", "currency": "SAR"}}])
    );
    assert_eq!(
        preview["errors"],
        json!([{"line": 5, "field": "date", "message": "\"31/02/2026\" matches none of DD/MM/YYYY"}])
    );
    let listed = json_of(app.get("/api/v1/statements").await, StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]));

    let fields = [("profile", "my-courier"), ("carrier", "mycourier")];
    let done = json_of(upload(&app, &finance, csv, &fields).await, StatusCode::CREATED).await;
    let id = done["statement"]["id"].as_str().unwrap().to_owned();
    assert_eq!(done["tasks_opened"], json!(1), "one task for the lines that name no shipment");
    let again = json_of(upload(&app, &finance, csv, &fields).await, StatusCode::OK).await;
    assert_eq!(again["already_imported"], json!(true));
    assert_eq!(again["statement"]["id"], json!(id));
    assert_eq!(again["classes"], done["classes"]);
    let one = json_of(app.get(&format!("/api/v1/statements/{id}")).await, StatusCode::OK).await;
    assert_eq!(one["error_count"], json!(1));
    let page = json_of(
        app.get(&format!("/api/v1/statements/{id}/lines?class=unknown_reference&limit=1")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"][0]["tracking_number"], json!("MC1"));
    assert_eq!(page["items"][0]["fee"], json!({"amount": "25.00", "currency": "SAR"}));
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = json_of(
        app.get(&format!("/api/v1/statements/{id}/lines?class=unknown_reference&limit=1&cursor={cursor}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(next["items"][0]["tracking_number"], json!("MC2"));
    let r = app.get(&format!("/api/v1/statements/{id}/lines?class=lost")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Each contested line has a dispute packet, as CSV and as PDF, and the statement's packets come in one PDF.
    let r = app.get(&format!("/api/v1/statements/{id}/lines/4/dispute?format=csv")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/csv");
    let packet = r.text().await.unwrap();
    assert!(packet.contains("line,tracking number,MC2\r\n"), "{packet}");
    assert!(packet.contains("finding,,the line names no shipment of ours"), "{packet}");
    let r = app.get(&format!("/api/v1/statements/{id}/disputes")).await;
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pages = codflow_documents::inspect::pages(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(pages.len(), 2, "one page for each of the two unknown lines");
    assert!(codflow_documents::inspect::texts(&pages[1]).join(" ").contains("MC2"));
    let r = app.get(&format!("/api/v1/statements/{id}/lines/99/dispute")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app.get(&format!("/api/v1/statements/{id}/lines/3/dispute?format=doc")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Nothing of ours was paid or is owed, so the ledger and the receivables are empty.
    assert_eq!(json_of(app.get("/api/v1/ledger/balances").await, StatusCode::OK).await, json!([]));
    assert_eq!(json_of(app.get("/api/v1/finance/aging").await, StatusCode::OK).await, json!([]));
}

async fn statements_that_do_not_fit_their_profile_are_refused_with_the_reason(engine: Engine) {
    let app = spawn_app(engine).await;
    let finance = app.token(Role::Finance).to_owned();
    let wrong_header = "tracking,amount\nX,1.00\n";
    let problem = json_of(
        upload(&app, &finance, wrong_header, &[("profile", "sandbox-cod")]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&problem), vec!["file"]);
    assert!(problem.to_string().contains("remittance_ref"), "{problem}");
    let r = upload(&app, &finance, wrong_header, &[("profile", "nope")]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = upload(&app, &finance, wrong_header, &[("profile", "generic-cod")]).await;
    assert_eq!(error_paths(&json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await), vec!["carrier"]);
    let xlsx = "PK\u{3}\u{4}rest of a workbook";
    let r = upload(&app, &finance, xlsx, &[("profile", "sandbox-cod")]).await;
    assert!(json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await.to_string().contains("XLSX"));
    let r = upload(&app, app.token(Role::Warehouse), wrong_header, &[("profile", "sandbox-cod")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = upload(&app, &finance, wrong_header, &[]).await;
    assert_eq!(error_paths(&json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await), vec!["profile"]);
}

async fn upload_bytes(
    app: &TestApp,
    token: &str,
    body: Vec<u8>,
    name: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = Form::new().part("file", Part::bytes(body).file_name(name.to_owned()));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    app.client.post(app.url("/api/v1/statements")).bearer_auth(token).multipart(form).send().await.unwrap()
}

async fn hostile_or_wholly_unreadable_statement_files_are_refused_and_record_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let finance = app.token(Role::Finance).to_owned();
    let fields = [("profile", "my-courier"), ("carrier", "mycourier")];
    app.client
        .put(app.url("/api/v1/settlement-profiles/my-courier"))
        .bearer_auth(&finance)
        .json(&my_profile())
        .send()
        .await
        .unwrap();
    // Every line refused: 422 with each line's reason, not an empty statement.
    let csv = "title\nAWB;Date;Collected;Fee;Paid\nMC1;31/02/2026;10,00;0;10,00\nMC2;01/12/2026;ten;0;10,00\n";
    let p = json_of(upload(&app, &finance, csv, &fields).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let paths = error_paths(&p);
    assert_eq!(paths[0], "file");
    assert!(paths.iter().any(|p| p.starts_with("line 3")) && paths.iter().any(|p| p.starts_with("line 4")), "{p}");
    // A quote never closed is named at its line; the lines after it are still read.
    let csv = "title\nAWB;Date;Collected;Fee;Paid\nMC1;01/12/2026;\"10,00;0;10,00\nMC2;01/12/2026;10,00;0;10,00\n";
    let r = json_of(
        upload(&app, &finance, csv, &[("profile", "my-courier"), ("carrier", "mycourier"), ("preview", "true")]).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(r["errors"][0]["line"], 3, "{r}");
    assert!(r["errors"][0]["message"].as_str().unwrap().contains("never closed"), "{r}");
    assert_eq!(r["lines"], 1, "{r}");
    // A 1 KB workbook with cells at A1 and XFD1048576 is refused without reading the rectangle.
    let sheet = r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>2</v></c></row></sheetData></worksheet>"#;
    let book = codflow_sheets::testing::raw_workbook(sheet);
    let p =
        json_of(upload_bytes(&app, &finance, book, "bomb.xlsx", &fields).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(p.to_string().contains("columns apart"), "{p}");
    // A NUL inside a CSV field is named by its line.
    let csv = "title\nAWB;Date;Collected;Fee;Paid\nMC\u{0}1;01/12/2026;10,00;0;10,00\n";
    let p = json_of(upload(&app, &finance, csv, &fields).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(p.to_string().contains("NUL"), "{p}");
    let listed = json_of(app.get("/api/v1/statements").await, StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]), "nothing was recorded");
    // JSON sent where a file is expected is a problem too.
    let r = app
        .client
        .post(app.url("/api/v1/statements"))
        .bearer_auth(&finance)
        .json(&json!({"profile": "my-courier"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.status().is_client_error());
}

async fn exchange_rates_are_imported_from_a_file_once_with_bad_lines_named(engine: Engine) {
    let app = spawn_app(engine).await;
    let finance = app.token(Role::Finance).to_owned();
    let send = |csv: &'static str, token: String| {
        let form = Form::new().part("file", Part::text(csv).file_name("ecb.csv"));
        app.client.post(app.url("/api/v1/fx-rates/import")).bearer_auth(token).multipart(form).send()
    };
    let csv =
        "\u{feff}from;to;date;rate\nSAR;USD;2026-07-01;0,2666\nSAR;USD;2026-07-02;0.2667\nAED;USD;2026-07-01;0.2723\n";
    let r = json_of(send(csv, finance.clone()).await.unwrap(), StatusCode::OK).await;
    assert_eq!(r["imported"], 2, "{r}");
    assert_eq!((r["errors"][0]["line"].as_i64(), r["errors"][0]["field"].as_str()), (Some(2), Some("rate")), "{r}");
    let listed = json_of(
        app.client.get(app.url("/api/v1/fx-rates")).bearer_auth(&finance).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let rates = listed["items"].as_array().unwrap();
    assert_eq!(rates.len(), 2, "{listed}");
    assert!(rates.iter().all(|r| r["source"] == "ecb.csv"), "{listed}");
    // The same file again replaces the same days: still two rates.
    json_of(send(csv, finance.clone()).await.unwrap(), StatusCode::OK).await;
    let again = json_of(
        app.client.get(app.url("/api/v1/fx-rates")).bearer_auth(&finance).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(again, listed);
    let none = json_of(
        send("from,to,as_of,rate\nSAR,USD,soon,1\n", finance.clone()).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(none.to_string().contains("line 2: as_of"), "{none}");
    let r = send(csv, app.token(Role::Warehouse).to_owned()).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn an_xlsx_statement_with_merged_header_cells_is_read_like_a_csv(engine: Engine) {
    use codflow_sheets::testing::{Cell::*, workbook};
    let app = spawn_app(engine).await;
    let finance = app.token(Role::Finance).to_owned();
    let mut profile = my_profile();
    profile["skip_rows"] = json!(2);
    let r = app.client.put(app.url("/api/v1/settlement-profiles/courier-x")).bearer_auth(&finance).json(&profile);
    json_of(r.send().await.unwrap(), StatusCode::CREATED).await;
    // A title over the width, a two-row header ("AWB" and "Date" merged down, "Amounts" over three columns),
    // real date cells and numbers, one amount typed as text that does not parse.
    let book = workbook(
        &[
            vec![Text("Courier X remittance, week 48"), Empty, Empty, Empty, Empty],
            vec![Text("AWB"), Text("Date"), Text("Amounts"), Empty, Empty],
            vec![Empty, Empty, Text("Collected"), Text("Fee"), Text("Paid")],
            vec![Text("CX1"), Date(46357.0), Number("1250.5"), Number("-25"), Number("1225.5")],
            vec![Text("CX2"), Date(46358.0), Text("12,3,4"), Number("-2"), Number("97.5")],
            vec![Text("CX3"), Text("03/12/2026"), Number("99.5"), Number("-2"), Number("97.5")],
        ],
        &["A1:E1", "A2:A3", "B2:B3", "C2:E2"],
    );
    let form = Form::new()
        .part("file", Part::bytes(book).file_name("week48.xlsx"))
        .text("profile", "courier-x")
        .text("carrier", "courierx")
        .text("preview", "true");
    let r = app.client.post(app.url("/api/v1/statements")).bearer_auth(&finance).multipart(form).send().await.unwrap();
    let report = json_of(r, StatusCode::OK).await;
    assert_eq!(report["lines"], 2, "{report}");
    assert_eq!(
        report["classes"],
        json!([{"class": "unknown_reference", "lines": 2, "amount": {"amount": "1350.00", "currency": "SAR"}}])
    );
    assert_eq!(
        (report["errors"][0]["line"].as_i64(), report["errors"][0]["field"].as_str()),
        (Some(5), Some("amount"))
    );
}

async fn reconciliation_tolerances_are_settings_finance_changes_within_bounds(engine: Engine) {
    let app = spawn_app(engine).await;
    let finance = app.token(Role::Finance).to_owned();
    let defaults = json_of(app.get("/api/v1/finance/tolerances").await, StatusCode::OK).await;
    assert_eq!(defaults, json!({"amount_tolerance_minor": 0, "fee_tolerance_minor": 0, "grace_days": 3}));
    let put = |body: Value, token: String| {
        app.client.put(app.url("/api/v1/finance/tolerances")).bearer_auth(token).json(&body).send()
    };
    let want = json!({"amount_tolerance_minor": 50, "fee_tolerance_minor": 10, "grace_days": 5});
    assert_eq!(json_of(put(want.clone(), finance.clone()).await.unwrap(), StatusCode::OK).await, want);
    assert_eq!(json_of(app.get("/api/v1/finance/tolerances").await, StatusCode::OK).await, want);
    let bad = json!({"amount_tolerance_minor": -1, "fee_tolerance_minor": 0, "grace_days": 400});
    let problem = json_of(put(bad, finance.clone()).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&problem), vec!["amount_tolerance_minor", "grace_days"]);
    assert_eq!(json_of(app.get("/api/v1/finance/tolerances").await, StatusCode::OK).await, want, "nothing changed");
    let r = put(want, app.token(Role::Ops).to_owned()).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn profit_reports_name_bad_filters_and_first_leg_costs_belong_to_known_warehouses(engine: Engine) {
    let app = spawn_app(engine).await;
    let body = json!({"code": "SZ1", "name": "Shenzhen", "country": "CN"});
    json_of(app.post("/api/v1/warehouses", &body).await, StatusCode::CREATED).await;
    assert_eq!(json_of(app.get("/api/v1/finance/first-leg").await, StatusCode::OK).await, json!({"per_kg_minor": {}}));
    let bad = json!({"per_kg_minor": {"SZ1": -5, "NOPE": 100}});
    let problem = json_of(app.put("/api/v1/finance/first-leg", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let mut paths = error_paths(&problem);
    paths.sort();
    assert_eq!(paths, vec!["costs.NOPE", "costs.SZ1"]);
    let good = json!({"per_kg_minor": {"SZ1": 350}});
    assert_eq!(json_of(app.put("/api/v1/finance/first-leg", &good).await, StatusCode::OK).await, good);
    assert_eq!(json_of(app.get("/api/v1/finance/first-leg").await, StatusCode::OK).await, good);

    let problem = json_of(
        app.get("/api/v1/finance/profit?group_by=planet&from=yesterday").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&problem), vec!["group_by"]);
    let problem =
        json_of(app.get("/api/v1/finance/profit?from=yesterday").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&problem), vec!["from"]);
    let empty = json_of(app.get("/api/v1/finance/profit?group_by=sku").await, StatusCode::OK).await;
    assert_eq!((empty["group_by"].as_str(), empty["orders"].as_i64()), (Some("sku"), Some(0)));
    let csv = app.get("/api/v1/finance/profit?group_by=month&format=csv").await;
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("month,orders,settled,loss_making,currency,expected_revenue,"), "{text}");
    let orders = app.get("/api/v1/finance/profit/orders").await.text().await.unwrap();
    assert!(orders.starts_with("order_id,external_id,placed_at,country,region,channel,stage,currency,"), "{orders}");
    let forecast = json_of(app.get("/api/v1/finance/forecast").await, StatusCode::OK).await;
    assert_eq!(forecast, json!({"weeks": [], "overdue": [], "later": []}));
    let problem = json_of(app.get("/api/v1/finance/forecast?weeks=0").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&problem), vec!["weeks"]);
    let problem =
        json_of(app.get("/api/v1/finance/forecast?payment_terms_days=soon").await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(error_paths(&problem), vec!["payment_terms_days"]);
    let csv = app.get("/api/v1/finance/forecast?format=csv").await.text().await.unwrap();
    assert_eq!(csv, "period,currency,delivered_in,in_transit_in,freight_out,net\n");
    let unknown = format!("/api/v1/statements/{}/paid", codflow_domain::StatementId::generate());
    assert_eq!(app.put(&unknown, &json!({"paid_on": "2026-12-01"})).await.status(), StatusCode::NOT_FOUND);
    let problem = json_of(app.put(&unknown, &json!({"paid_on": "soon"})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&problem), vec!["paid_on"]);
    let r = app.get_as(app.token(Role::Warehouse), "/api/v1/finance/profit").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
