use codflow_store::Engine;
use reqwest::StatusCode;

use crate::helpers::{json_of, order, spawn_app};

codflow_store::on_both_engines!(
    health_answers_ok_without_a_token,
    the_openapi_document_describes_every_documented_endpoint,
    the_swagger_page_and_its_assets_are_served_from_the_binary,
    metrics_count_requests_and_orders_by_outcome,
    metrics_need_a_token_on_the_public_listener,
    every_response_carries_the_security_headers,
    unknown_routes_are_problem_json_404,
    a_callers_request_id_is_sent_back_and_a_new_one_made_otherwise,
);

async fn metrics_need_a_token_on_the_public_listener(engine: Engine) {
    let app = spawn_app(engine).await;
    let p = json_of(app.client.get(app.url("/metrics")).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    assert_eq!(p["code"], "unauthorized");
    let r = app.client.get(app.url("/metrics")).bearer_auth("cf_not_a_token").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let viewer = app.token(codflow_domain::Role::Viewer).to_owned();
    let r = app.client.get(app.url("/metrics")).bearer_auth(&viewer).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn every_response_carries_the_security_headers(engine: Engine) {
    let app = spawn_app(engine).await;
    for path in ["/healthz", "/login", "/api/docs", "/api/v1/orders", "/nowhere", "/track/NOPE"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{path}: {csp}");
    }
    // The API docs run no inline script, so the policy does not break them.
    let docs = app.client.get(app.url("/api/docs")).send().await.unwrap().text().await.unwrap();
    assert!(!docs.contains("<script>"), "{docs}");
    let init = app.client.get(app.url("/api/docs/init.js")).send().await.unwrap();
    assert_eq!(init.status(), StatusCode::OK);
    assert!(init.text().await.unwrap().contains("SwaggerUIBundle"));
}

async fn health_answers_ok_without_a_token(engine: Engine) {
    let app = spawn_app(engine).await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("x-request-id"), "every response carries a request id");
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "ok");
}

async fn the_openapi_document_describes_every_documented_endpoint(engine: Engine) {
    let app = spawn_app(engine).await;
    let doc = json_of(app.client.get(app.url("/api/openapi.json")).send().await.unwrap(), StatusCode::OK).await;
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/v1/orders", "post"),
        ("/api/v1/orders", "get"),
        ("/api/v1/orders/{id}", "get"),
        ("/api/v1/orders/{id}/approve", "post"),
        ("/api/v1/orders/{id}/hold", "post"),
        ("/api/v1/orders/{id}/cancel", "post"),
        ("/api/v1/warehouses", "post"),
        ("/api/v1/products", "post"),
        ("/api/v1/products/{sku}", "put"),
        ("/api/v1/stock/{warehouse_code}/{sku}", "put"),
        ("/api/v1/stock/{warehouse_code}/{sku}", "get"),
        ("/api/v1/stock/{warehouse_code}/{sku}/history", "get"),
        ("/api/v1/orders/{id}/history", "get"),
        ("/api/v1/imports/orders", "post"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing from OpenAPI");
    }
    let order_schema = &doc["components"]["schemas"]["OrderDto"]["properties"];
    for field in [
        "id",
        "store",
        "external_id",
        "status",
        "payment_method",
        "total",
        "cod_amount",
        "review",
        "allocation",
        "lines",
        "shipping_address",
        "created_at",
    ] {
        assert!(order_schema.get(field).is_some(), "OrderDto lacks {field}");
    }
    // Bodies are described by their schema, not left open.
    for (path, method, schema) in [
        ("/api/v1/rates", "post", "QuoteInput"),
        ("/api/v1/rates/{channel}/carrier", "post", "QuoteInput"),
        ("/api/v1/rules/import", "post", "RulesFile"),
        ("/api/v1/recommendations/act", "post", "Recommendation"),
        ("/api/v1/settings/scorecard", "put", "ScoreWeights"),
        ("/api/v1/settings/recommendations", "put", "RecommendationThresholds"),
        ("/api/v1/settlement-profiles/{name}", "put", "ProfileBody"),
        ("/api/v1/statements", "post", "StatementUpload"),
        ("/api/v1/imports/orders", "post", "OrdersUpload"),
        ("/api/v1/fx-rates/import", "post", "RatesUpload"),
    ] {
        let content = &paths[path][method]["requestBody"]["content"];
        let body = &content.as_object().and_then(|c| c.values().next()).expect("a request body")["schema"]["$ref"];
        assert_eq!(body, &format!("#/components/schemas/{schema}"), "{method} {path}");
        assert!(doc["components"]["schemas"].get(schema).is_some(), "{schema} is not in the document");
    }
    // Every operation behind a token says it answers 401 and 403; the public ones say they need none.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let public = op["security"] == serde_json::json!([{}]);
            for code in ["401", "403"] {
                let documented = op["responses"].get(code).is_some();
                assert!(public || documented, "{method} {path} does not document {code}");
            }
        }
    }
    for (path, method) in [("/healthz", "get"), ("/api/v1/webhooks/shopify/{store_code}", "post")] {
        assert_eq!(paths[path][method]["security"], serde_json::json!([{}]), "{method} {path} is public");
    }
}

async fn the_swagger_page_and_its_assets_are_served_from_the_binary(engine: Engine) {
    let app = spawn_app(engine).await;
    let page = app.client.get(app.url("/api/docs")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/api/docs/init.js") && page.contains("/api/docs/swagger-ui-bundle.js"));
    let init = app.client.get(app.url("/api/docs/init.js")).send().await.unwrap().text().await.unwrap();
    assert!(init.contains("/api/openapi.json"), "{init}");
    assert!(!page.contains("cdn"), "no CDN");
    let js = app.client.get(app.url("/api/docs/swagger-ui-bundle.js")).send().await.unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.text().await.unwrap().len() > 100_000);
}

async fn metrics_count_requests_and_orders_by_outcome(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 1)]).await;
    app.post("/api/v1/orders", &order("1", "LAMP-01", 1)).await;
    app.post("/api/v1/orders", &order("1", "LAMP-01", 1)).await;
    app.post("/api/v1/orders", &order("2", "LAMP-01", 1)).await;
    let text = app.client.get(app.url("/metrics")).bearer_auth(&app.admin).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("codflow_orders_total{outcome=\"allocated\"} 1"), "{text}");
    assert!(text.contains("codflow_orders_total{outcome=\"duplicate\"} 1"), "{text}");
    assert!(text.contains("codflow_orders_total{outcome=\"backordered\"} 1"), "{text}");
    assert!(
        text.contains("codflow_http_requests_total{method=\"POST\",route=\"/api/v1/orders\",status=\"201\"} 2"),
        "{text}"
    );
    // The replay answered 200: a second status of the same route and method counts apart.
    assert!(
        text.contains("codflow_http_requests_total{method=\"POST\",route=\"/api/v1/orders\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("codflow_http_request_duration_seconds_bucket{route=\"/api/v1/orders\",le=\"+Inf\"} 3"),
        "{text}"
    );
}

async fn unknown_routes_are_problem_json_404(engine: Engine) {
    let app = spawn_app(engine).await;
    let p = json_of(app.get("/api/v1/nothing-here").await, StatusCode::NOT_FOUND).await;
    assert_eq!(p["code"], "not_found");
}

async fn a_callers_request_id_is_sent_back_and_a_new_one_made_otherwise(engine: Engine) {
    let app = spawn_app(engine).await;
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let r = app.client.get(app.url("/healthz")).header("x-request-id", "shop-7f3a").send().await.unwrap();
    assert_eq!(id(&r), "shop-7f3a");
    // Errors carry it too: a refusal is what a caller most needs to quote.
    let r = app.client.get(app.url("/api/v1/orders")).header("x-request-id", "shop-7f3b").send().await.unwrap();
    assert_eq!((r.status(), id(&r)), (StatusCode::UNAUTHORIZED, "shop-7f3b".to_owned()));
    let (a, b) = (
        id(&app.client.get(app.url("/healthz")).send().await.unwrap()),
        id(&app.client.get(app.url("/nowhere")).send().await.unwrap()),
    );
    assert!(a.starts_with("req_") && b.starts_with("req_") && a != b, "{a} {b}");
    // An id nobody could use is replaced rather than copied into every log line: too long, or not printable.
    let long = "a".repeat(129);
    let spaced = reqwest::header::HeaderValue::from_static("two words");
    let latin = reqwest::header::HeaderValue::from_bytes(b"\xe9t\xe9").unwrap();
    for given in [reqwest::header::HeaderValue::from_str(&long).unwrap(), spaced, latin] {
        let r = app.client.get(app.url("/healthz")).header("x-request-id", given.clone()).send().await.unwrap();
        assert!(id(&r).starts_with("req_"), "{given:?} came back as {}", id(&r));
    }
    let longest = "b".repeat(128);
    let r = app.client.get(app.url("/healthz")).header("x-request-id", &longest).send().await.unwrap();
    assert_eq!(id(&r), longest);
}
