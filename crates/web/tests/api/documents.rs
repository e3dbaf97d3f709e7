use codflow_documents::inspect;
use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{error_paths, json_of, order, spawn_app};

codflow_store::on_both_engines!(
    document_settings_are_validated_saved_and_read_back,
    a_bin_location_is_set_read_cleared_and_audited,
    a_picking_list_walks_bins_then_skus_and_merges_lines_across_orders,
    documents_of_an_unbooked_shipment_are_refused_and_unknown_formats_named,
);

async fn document_settings_are_validated_saved_and_read_back(engine: Engine) {
    let app = spawn_app(engine).await;
    let defaults = json_of(app.get("/api/v1/settings/documents").await, StatusCode::OK).await;
    assert_eq!(defaults["public_base_url"], "http://localhost:8080");
    let bad = json!({"seller_name": "Acme", "eori_number": "12", "ioss_number": "IM12",
                     "vat_numbers": {"XX": "123", "SA": "!"}, "public_base_url": "ftp://x"});
    let e = json_of(app.put("/api/v1/settings/documents", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["vat_numbers.XX"], "countries are checked first");
    let mut bad = bad;
    bad["vat_numbers"] = json!({"SA": "!"});
    let e = json_of(app.put("/api/v1/settings/documents", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["eori_number", "ioss_number", "vat_numbers.SA", "public_base_url"]);
    let good = json!({"seller_name": " Acme Trading ", "seller_address": ["1 Harbour Rd", "", "Shenzhen"],
                      "eori_number": "nl123456789", "ioss_number": "IM5280000001",
                      "vat_numbers": {"SA": "300000000000003"}, "public_base_url": "https://track.acme.example/"});
    let saved = json_of(app.put("/api/v1/settings/documents", &good).await, StatusCode::OK).await;
    assert_eq!(saved["seller_name"], "Acme Trading");
    assert_eq!(saved["seller_address"], json!(["1 Harbour Rd", "Shenzhen"]));
    assert_eq!(saved["eori_number"], "NL123456789");
    assert_eq!(saved["public_base_url"], "https://track.acme.example");
    assert_eq!(json_of(app.get("/api/v1/settings/documents").await, StatusCode::OK).await, saved);
}

async fn a_bin_location_is_set_read_cleared_and_audited(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    assert!(app.stock("LAMP-01").await.get("location").is_none(), "no bin until one is set");
    let s =
        json_of(app.put("/api/v1/stock/SZ1/LAMP-01", &json!({"location": " A-01-03 "})).await, StatusCode::OK).await;
    assert_eq!((s["location"].as_str(), s["on_hand"].as_i64()), (Some("A-01-03"), Some(10)), "the count is kept");
    let e = json_of(
        app.put("/api/v1/stock/SZ1/LAMP-01", &json!({"location": "A;01"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["location"]);
    let e = json_of(app.put("/api/v1/stock/SZ1/LAMP-01", &json!({})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&e), ["on_hand"]);
    let s =
        json_of(app.put("/api/v1/stock/SZ1/LAMP-01", &json!({"on_hand": 12, "location": ""})).await, StatusCode::OK)
            .await;
    assert!(s.get("location").is_none() && s["on_hand"] == 12, "{s}");
    let h = json_of(app.get("/api/v1/stock/SZ1/LAMP-01/history").await, StatusCode::OK).await;
    let moves: Vec<(String, Value, Value)> = h
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "locate")
        .map(|a| (a["action"].as_str().unwrap().to_owned(), a["from_status"].clone(), a["to_status"].clone()))
        .collect();
    assert_eq!(moves.len(), 2, "{h}");
    assert_eq!(moves[1].1, "A-01-03", "{h}");
}

async fn a_picking_list_walks_bins_then_skus_and_merges_lines_across_orders(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 50), ("MUG-02", 50), ("CAP-03", 50)]).await;
    for (sku, bin) in [("LAMP-01", "B-02-1"), ("CAP-03", "A-07-2")] {
        json_of(app.put(&format!("/api/v1/stock/SZ1/{sku}"), &json!({"location": bin})).await, StatusCode::OK).await;
    }
    let mut ids = Vec::new();
    for (ext, sku, qty) in [("P-1", "LAMP-01", 2), ("P-2", "MUG-02", 1), ("P-3", "LAMP-01", 3), ("P-4", "CAP-03", 1)] {
        let o = json_of(app.post("/api/v1/orders", &order(ext, sku, qty)).await, StatusCode::CREATED).await;
        assert_eq!(o["status"], "allocated");
        ids.push(o["id"].as_str().unwrap().to_owned());
    }
    let r = app.post("/api/v1/picking-lists", &json!({"orders": ids})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    let shown: Vec<String> = inspect::pages(&pdf).unwrap().iter().flat_map(|p| inspect::texts(p)).collect();
    let at = |s: &str| shown.iter().position(|t| t == s).unwrap_or_else(|| panic!("{s} not in {shown:?}"));
    assert!(at("A-07-2") < at("B-02-1") && at("B-02-1") < at("(no bin)"), "{shown:?}");
    assert_eq!(shown.iter().filter(|t| *t == "LAMP-01").count(), 1, "one line per bin and SKU");
    assert!(shown.contains(&"P-1, P-3".to_owned()), "{shown:?}");
    assert_eq!(shown[at("LAMP-01") + 2], "5", "2 + 3 lamps: {shown:?}");
    let e = json_of(
        app.post("/api/v1/picking-lists", &json!({"orders": ["ord_nope"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["orders[0]"]);
    json_of(app.post("/api/v1/picking-lists", &json!({"orders": []})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
}

async fn documents_of_an_unbooked_shipment_are_refused_and_unknown_formats_named(engine: Engine) {
    let app = spawn_app(engine).await;
    app.put("/api/v1/settings", &json!({"base_currency": "SAR"})).await;
    let duty =
        json!({"country": "SA", "effective_from": "2025-01-01", "duty_pct": "5", "vat_pct": "15", "source": "test"});
    json_of(app.put("/api/v1/duty-rules", &duty).await, StatusCode::OK).await;
    app.seed(&[("LAMP-01", 50)]).await;
    let channel = json!({"code": "SBX-SA", "name": "Sandbox", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true},
        "rate_card": {"currency": "SAR", "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 3,
            "bands": [{"from_g": 0, "to_g": 30000, "price": "20.00"}]}]}});
    json_of(app.post("/api/v1/channels", &channel).await, StatusCode::CREATED).await;
    let o = json_of(app.post("/api/v1/orders", &order("D-1", "LAMP-01", 1)).await, StatusCode::CREATED).await;
    let s = json_of(
        app.post(&format!("/api/v1/orders/{}/book", o["id"].as_str().unwrap()), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(s["status"], "failed", "no carrier is configured in this test: {s}");
    let sid = s["id"].as_str().unwrap();
    for path in ["label?format=pdf", "label?format=zpl", "commercial-invoice", "packing-list"] {
        let e = json_of(app.get(&format!("/api/v1/shipments/{sid}/{path}")).await, StatusCode::CONFLICT).await;
        assert_eq!(e["code"], "not_booked", "{path}");
    }
    let e =
        json_of(app.get(&format!("/api/v1/shipments/{sid}/label?format=bmp")).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(error_paths(&e), ["format"]);
    let e = json_of(
        app.post("/api/v1/shipments/commercial-invoices", &json!({"shipments": [sid, "shp_nope"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["shipments[1]"]);
}
