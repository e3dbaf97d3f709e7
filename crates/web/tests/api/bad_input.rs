//! Each bad request gets a clear problem+json naming the field, and writes nothing.

use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use reqwest::multipart::{Form, Part};

use crate::helpers::{TestApp, error_paths, json_of, order, spawn_app};

codflow_store::on_both_engines!(
    malformed_json_is_refused,
    wrong_types_name_the_field,
    unknown_fields_are_refused_rather_than_ignored,
    an_unknown_sku_is_refused,
    zero_and_negative_quantities_are_refused,
    an_unknown_currency_is_refused,
    an_amount_with_more_decimals_than_the_currency_allows_is_refused,
    a_price_in_another_currency_than_the_order_is_refused,
    an_invalid_country_is_refused,
    a_missing_address_field_is_refused,
    a_body_over_the_limit_is_refused_with_413,
    every_class_of_hostile_input_is_refused_naming_where_and_writes_nothing,
);

async fn assert_nothing_written(app: &TestApp) {
    assert!(app.all_orders().await.is_empty(), "a refused order was stored");
    assert_eq!(app.stock("LAMP-01").await["reserved"], 0);
}

async fn refused(engine: Engine, body: Value, expected_paths: &[&str]) -> Value {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let p = json_of(app.post("/api/v1/orders", &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(p["code"], "invalid_input");
    assert_eq!(p["status"], 422);
    assert_eq!(error_paths(&p), expected_paths, "{p}");
    for e in p["errors"].as_array().unwrap() {
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    assert_nothing_written(&app).await;
    p
}

async fn malformed_json_is_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    for body in ["{\"store\": ", "not json", "", "{\"store\": \"a\"", "{\"store\":\"a\"}}"] {
        let p = json_of(app.post_raw("/api/v1/orders", body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(p["code"], "malformed_json", "{body}: {p}");
    }
    assert_nothing_written(&app).await;
}

async fn wrong_types_name_the_field(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["lines"][0]["quantity"] = json!("two");
    let p = refused(engine, body, &["lines[0].quantity"]).await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("invalid type"), "{p}");
    let mut body = order("1", "LAMP-01", 1);
    body["shipping_fee"]["amount"] = json!(10.5);
    refused(engine, body, &["shipping_fee.amount"]).await;
}

async fn unknown_fields_are_refused_rather_than_ignored(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["lines"][0]["quantiy"] = json!(2);
    let p = refused(engine, body, &["lines[0].quantiy"]).await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("quantiy"), "{p}");
}

async fn an_unknown_sku_is_refused(engine: Engine) {
    let p = refused(engine, order("1", "NOPE-99", 1), &["lines[0].sku"]).await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("NOPE-99"));
}

async fn zero_and_negative_quantities_are_refused(engine: Engine) {
    refused(engine, order("1", "LAMP-01", 0), &["lines[0].quantity"]).await;
    refused(engine, order("1", "LAMP-01", -3), &["lines[0].quantity"]).await;
}

async fn an_unknown_currency_is_refused(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["currency"] = json!("XYZ");
    body["lines"][0]["unit_price"]["currency"] = json!("XYZ");
    body["shipping_fee"]["currency"] = json!("XYZ");
    refused(engine, body, &["currency", "lines[0].unit_price.currency", "shipping_fee.currency"]).await;
}

async fn an_amount_with_more_decimals_than_the_currency_allows_is_refused(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["lines"][0]["unit_price"]["amount"] = json!("59.001");
    let p = refused(engine, body, &["lines[0].unit_price.amount"]).await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("2 decimal digits"), "{p}");
}

async fn a_price_in_another_currency_than_the_order_is_refused(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["lines"][0]["unit_price"]["currency"] = json!("AED");
    refused(engine, body, &["lines[0].unit_price.currency"]).await;
}

async fn an_invalid_country_is_refused(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["shipping_address"]["country"] = json!("Saudi Arabia");
    // The address's national phone number cannot be read without a country either; both are reported.
    refused(engine, body, &["shipping_address.country", "shipping_address.phone"]).await;
}

async fn a_missing_address_field_is_refused(engine: Engine) {
    let mut body = order("1", "LAMP-01", 1);
    body["shipping_address"].as_object_mut().unwrap().remove("city");
    body["shipping_address"]["line1"] = json!("   ");
    let p = refused(engine, body, &["shipping_address.line1", "shipping_address.city"]).await;
    assert_eq!(p["errors"][1]["message"], "is required");
}

async fn a_body_over_the_limit_is_refused_with_413(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let mut body = order("1", "LAMP-01", 1);
    body["buyer"]["name"] = json!("x".repeat(codflow_web::BODY_LIMIT + 10));
    let p = json_of(app.post("/api/v1/orders", &body).await, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(p["code"], "payload_too_large");
    assert_nothing_written(&app).await;
}

/// How a hostile request is sent.
enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
    /// A multipart upload: the file's name and bytes, and the other fields.
    File(&'static str, Vec<u8>, Vec<(&'static str, &'static str)>),
}

/// One row of the matrix: what is sent, the status expected and a text the problem must carry to say where.
struct Case {
    class: &'static str,
    method: reqwest::Method,
    path: String,
    body: Body,
    status: StatusCode,
    names: &'static str,
}

fn case(class: &'static str, method: &str, path: &str, body: Body, status: u16, names: &'static str) -> Case {
    Case {
        class,
        method: method.parse().unwrap(),
        path: path.to_owned(),
        body,
        status: StatusCode::from_u16(status).unwrap(),
        names,
    }
}

/// Everything a refused request could have written, read through the API.
async fn snapshot(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/api/v1/orders",
        "/api/v1/statements",
        "/api/v1/rules",
        "/api/v1/lists",
        "/api/v1/fx-rates",
        "/api/v1/notification-templates",
        "/api/v1/settings/documents",
        "/api/v1/stock/SZ1/LAMP-01",
        "/api/v1/channels",
    ] {
        out.push(json_of(app.get(path).await, StatusCode::OK).await);
    }
    out
}

async fn every_class_of_hostile_input_is_refused_naming_where_and_writes_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let before = snapshot(&app).await;
    let with = |f: &dyn Fn(&mut Value)| {
        let mut o = order("M-1", "LAMP-01", 1);
        f(&mut o);
        Body::Json(o)
    };
    let template = json_of(app.get("/api/v1/notification-templates").await, StatusCode::OK).await;
    let template = template["items"][0]["name"].as_str().unwrap_or("order_held").to_owned();
    let bomb = codflow_sheets::testing::raw_workbook(
        r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>2</v></c></row></sheetData></worksheet>"#,
    );
    let quote = |f: &dyn Fn(&mut Value)| {
        let mut q = json!({"destination": {"country": "SA", "city": "Riyadh"}, "parcels": [{"weight_g": 900}],
            "goods_value": {"amount": "100.00", "currency": "SAR"}, "cod_amount": {"amount": "100.00", "currency": "SAR"}});
        f(&mut q);
        Body::Json(q)
    };
    let orders_csv = |rows: &str| format!("{}\n{rows}\n", crate::imports::HEADER).into_bytes();
    let remittance = |rows: &str| {
        let header = "tracking_number,reference,remittance_ref,collected_at,currency,cod_amount,cod_fee,net_amount";
        format!("{header}\n{rows}\n").into_bytes()
    };
    let wide_header = (0..100_000).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",").into_bytes();
    let cases = [
        // Text: control characters refused naming the field, lengths bounded, dates in range.
        case("text", "POST", "/api/v1/orders", with(&|o| o["buyer"]["name"] = json!("Nou\u{0}ra")), 422, "buyer.name"),
        case(
            "text",
            "POST",
            "/api/v1/orders",
            with(&|o| o["shipping_address"]["city"] = json!("Riy\u{1b}adh")),
            422,
            "shipping_address.city",
        ),
        case(
            "text",
            "POST",
            "/api/v1/orders",
            with(&|o| o["shipping_address"]["line1"] = json!("x".repeat(200_000))),
            422,
            "shipping_address.line1",
        ),
        case(
            "text",
            "POST",
            "/api/v1/orders",
            with(&|o| o["placed_at"] = json!("0000-01-01T00:00:00Z")),
            422,
            "placed_at",
        ),
        case("text", "GET", "/api/v1/orders?q=%00", Body::None, 422, "q"),
        // Query strings are read into each endpoint's parameters: a bad value or one given twice is named.
        case("query", "GET", "/api/v1/orders?limit=lots", Body::None, 422, "\"path\":\"limit\""),
        case(
            "query",
            "GET",
            "/api/v1/orders?status=held&status=allocated",
            Body::None,
            422,
            r#""path":"status","message":"duplicate field `status`""#,
        ),
        // A body missing a field names the field itself.
        case(
            "json",
            "PUT",
            "/api/v1/settlement-profiles/mine",
            Body::Json(json!({"kind": "cod_remittance"})),
            422,
            r#""path":"columns","message":"missing field `columns`""#,
        ),
        case("query", "GET", "/api/v1/dashboards/sums?group=planet", Body::None, 422, "\"path\":\"group\""),
        case(
            "text",
            "PUT",
            "/api/v1/fx-rates",
            Body::Json(json!({"from": "CNY", "to": "SAR", "rate": "0.52", "as_of": "1026-01-01", "source": "bank"})),
            422,
            "as_of",
        ),
        // Files: CSV bounded and named by line; XLSX read sparsely and refused past its limits.
        case("csv", "POST", "/api/v1/imports/orders", Body::File("orders.csv", wide_header, vec![]), 422, "header"),
        case(
            "csv",
            "POST",
            "/api/v1/imports/orders",
            Body::File("orders.csv", orders_csv("M-2,\"2026-11-20T10:00:00Z,SAR"), vec![]),
            // An import goes line by line: its report names the line and the fault; nothing else was in the file.
            200,
            r#"{"line":2,"external_id":null,"field":"placed_at","message":"column 2: the quote opened here is never closed"}"#,
        ),
        case(
            "csv",
            "POST",
            "/api/v1/fx-rates/import",
            Body::File("rates.csv", b"from,to,as_of,rate\nCNY,SAR,1026-01-01,0.52\n".to_vec(), vec![]),
            422,
            "line 2: as_of",
        ),
        case(
            "csv",
            "POST",
            "/api/v1/statements",
            Body::File("r.csv", remittance("SBX1,,R1,2026-07-01,SAR,1\u{0}0,1,9"), vec![("profile", "sandbox-cod")]),
            422,
            "NUL",
        ),
        case(
            "csv",
            "POST",
            "/api/v1/statements",
            Body::File("r.csv", remittance("SBX1,,R1,1026-07-01,SAR,10,1,9"), vec![("profile", "sandbox-cod")]),
            422,
            "line 2",
        ),
        case(
            "xlsx",
            "POST",
            "/api/v1/statements",
            Body::File("bomb.xlsx", bomb, vec![("profile", "sandbox-cod")]),
            422,
            "columns apart",
        ),
        // Languages: the rules language and notification templates.
        case(
            "rules",
            "POST",
            "/api/v1/rules",
            Body::Json(json!({"name": "r", "condition": "order.total >= ((((", "action": "hold", "reason": "x"})),
            422,
            "condition",
        ),
        case(
            "template",
            "PUT",
            &format!("/api/v1/notification-templates/{template}/en"),
            Body::Json(json!({"subject": "Hi", "sms": "x",
            "body": "{% for a in range(9000) %}{% for b in range(9000) %}x{% endfor %}{% endfor %}"})),
            422,
            "body",
        ),
        case(
            "template",
            "PUT",
            &format!("/api/v1/notification-templates/{template}/en"),
            Body::Json(json!({"subject": "Hi", "sms": "x", "body": "y".repeat(100_000)})),
            422,
            "body",
        ),
        // Slicing inside a character panicked here once: answered as a field error now.
        case(
            "panic",
            "PUT",
            "/api/v1/settings/documents",
            Body::Json(json!({"seller_name": "Acme", "eori_number": "DE١٢٣٤٥٦٧٨٩"})),
            422,
            "eori_number",
        ),
        // Quotes: read from memory, refused the same way.
        case(
            "quote",
            "POST",
            "/api/v1/rates",
            quote(&|q| q["destination"]["city"] = json!("Riy\u{0}adh")),
            422,
            "destination.city",
        ),
        case(
            "quote",
            "POST",
            "/api/v1/rates",
            quote(&|q| q["parcels"][0]["weight_g"] = json!("heavy")),
            422,
            "parcels[0].weight_g",
        ),
        case(
            "quote",
            "POST",
            "/api/v1/rates",
            quote(&|q| q["destination"]["postal_code"] = json!("9".repeat(200_000))),
            422,
            "destination.postal_code",
        ),
        case(
            "quote",
            "POST",
            "/api/v1/rates",
            quote(&|q| q["destination"]["country"] = json!(966)),
            422,
            "destination.country",
        ),
        case(
            "quote",
            "POST",
            "/api/v1/rates",
            Body::Raw("application/json", br#"{"destination": {"country": "SA""#.to_vec()),
            422,
            "EOF",
        ),
        // The framework's own refusals are problem+json too.
        case("edge", "GET", "/api/v1/no-such-thing", Body::None, 404, "not_found"),
        case("edge", "DELETE", "/api/v1/orders", Body::None, 405, "method"),
        case("edge", "GET", "/api/v1/orders/%FF%FE", Body::None, 400, "Invalid UTF-8 in `id`"),
        case("edge", "POST", "/api/v1/imports/orders", Body::Json(json!({"file": "orders.csv"})), 415, "multipart"),
        case(
            "edge",
            "POST",
            "/api/v1/imports/orders",
            Body::Raw("multipart/form-data; boundary=zz", b"--zz\r\nnot a part".to_vec()),
            422,
            "incomplete multipart stream",
        ),
        case(
            "edge",
            "POST",
            "/api/v1/orders",
            Body::Raw("application/json", b"{\"store\": \"m\", \"external_id\": \"\\u0000\"}".to_vec()),
            422,
            "external_id",
        ),
    ];
    for c in cases {
        let req = app.client.request(c.method.clone(), app.url(&c.path)).bearer_auth(&app.admin);
        let req = match c.body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Raw(ct, b) => req.header("content-type", ct).body(b),
            Body::File(name, bytes, fields) => {
                let mut form = Form::new().part("file", Part::bytes(bytes).file_name(name));
                for (k, v) in fields {
                    form = form.text(k, v);
                }
                req.multipart(form)
            }
        };
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {} {}: the connection dropped: {e}", c.class, c.method, c.path));
        let (status, ct) = (r.status(), r.headers().get("content-type").cloned());
        let text = r.text().await.unwrap();
        let what = format!("{} {} {}", c.class, c.method, c.path.chars().take(80).collect::<String>());
        assert_eq!(status, c.status, "{what}: {text}");
        if !status.is_success() {
            assert_eq!(ct.as_ref().and_then(|v| v.to_str().ok()), Some("application/problem+json"), "{what}");
        }
        assert!(text.len() < 20_000, "{what}: a {} byte message", text.len());
        assert!(text.contains(c.names), "{what} does not name {:?}: {text}", c.names);
    }
    assert_eq!(snapshot(&app).await, before, "a refused request wrote something");
}
