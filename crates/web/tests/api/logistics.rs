use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of, order, spawn_app};

codflow_store::on_both_engines!(
    a_channel_is_created_read_replaced_exported_and_deleted,
    bad_rate_cards_are_refused_with_the_path_of_every_problem,
    a_rate_card_csv_round_trips_and_bad_rows_name_their_line,
    a_quote_prices_every_channel_tags_the_best_and_says_why_others_cannot_ship,
    an_allocated_order_records_its_channel_ranking_and_why_it_won,
    a_booking_with_no_carrier_configured_fails_with_an_actionable_message_and_can_be_retried,
    a_setting_stored_wrong_is_an_error_not_a_silent_default,
);

/// A SAR card with bands, a remote postcode, a COD fee with minimum and maximum, DDP.
fn channel(code: &str, band_prices: [&str; 3], transit: i64) -> Value {
    json!({
        "code": code, "name": format!("Channel {code}"), "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]},
        "limits": {"max_weight_g": 5000, "cod_max": [{"amount": "3000", "currency": "SAR"}]},
        "capabilities": {"cod": true, "ddp": true},
        "rate_card": {
            "currency": "SAR", "weight_rounding_g": 100, "min_charge": "10.00", "fuel_surcharge_pct": "10",
            "remote_area": {"postcodes": ["13999"], "fee": "5.00"},
            "cod_fee": {"pct": "2", "min": "3.00", "max": "10.00"}, "ddp_fee": "4.00",
            "zones": [{"name": "sa", "countries": ["SA"], "transit_days": transit,
                "bands": [{"from_g": 0, "to_g": 500, "price": band_prices[0]}, {"from_g": 500, "to_g": 1000, "price": band_prices[1]},
                          {"from_g": 1000, "to_g": 5000, "price": band_prices[2]}]}]
        }
    })
}

async fn setup(app: &TestApp) {
    let r = app.put("/api/v1/settings", &json!({"base_currency": "SAR"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .put(
            "/api/v1/duty-rules",
            &json!({"country": "SA", "effective_from": "2025-01-01", "duty_pct": "5", "vat_pct": "15",
                    "duty_de_minimis": {"amount": {"amount": "1000", "currency": "SAR"}, "basis": "goods"}, "source": "test"}),
        )
        .await;
    json_of(r, StatusCode::OK).await;
}

async fn a_channel_is_created_read_replaced_exported_and_deleted(engine: Engine) {
    let app = spawn_app(engine).await;
    let c = json_of(
        app.post("/api/v1/channels", &channel("SBX-SA", ["12.00", "20.00", "30.00"], 3)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(c["rate_card"]["zones"][0]["bands"][1]["price"], "20.00");
    let again = json_of(
        app.post("/api/v1/channels", &channel("SBX-SA", ["1.00", "2.00", "3.00"], 3)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(again["code"], "channel_exists");
    let replaced = json_of(
        app.put("/api/v1/channels/SBX-SA", &channel("SBX-SA", ["13.00", "20.00", "30.00"], 2)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(replaced["rate_card"]["zones"][0]["transit_days"], 2);
    let got = json_of(app.get("/api/v1/channels/SBX-SA").await, StatusCode::OK).await;
    assert_eq!(got["rate_card"]["zones"][0]["bands"][0]["price"], "13.00");
    let mismatch = json_of(
        app.put("/api/v1/channels/OTHER", &channel("SBX-SA", ["1.00", "2.00", "3.00"], 2)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(mismatch["errors"][0]["path"], "code");
    let exported = app.get("/api/v1/channels/export?format=json").await.text().await.unwrap();
    let list: Vec<Value> = serde_json::from_str(&exported).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["code"], "SBX-SA");
    assert_eq!(app.delete("/api/v1/channels/SBX-SA").await.status(), StatusCode::NO_CONTENT);
    json_of(app.get("/api/v1/channels/SBX-SA").await, StatusCode::NOT_FOUND).await;
    // The export re-imports as it was.
    let r = app
        .client
        .post(app.url("/api/v1/channels/import"))
        .bearer_auth(&app.admin)
        .header("content-type", "application/json")
        .body(exported)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(r, StatusCode::OK).await["created"], 1);
    let back = json_of(app.get("/api/v1/channels/SBX-SA").await, StatusCode::OK).await;
    assert_eq!(back, got);
    let history = json_of(app.get("/api/v1/channels").await, StatusCode::OK).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
}

async fn bad_rate_cards_are_refused_with_the_path_of_every_problem(engine: Engine) {
    let app = spawn_app(engine).await;
    let mut c = channel("BAD", ["12.00", "20.00", "30.00"], 3);
    c["rate_card"]["zones"][0]["bands"][1]["from_g"] = json!(600);
    c["rate_card"]["zones"][0]["bands"][2]["price"] = json!("-1.00");
    c["rate_card"]["currency"] = json!("ABC");
    let e = json_of(app.post("/api/v1/channels", &c).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let paths: Vec<&str> = e["errors"].as_array().unwrap().iter().map(|x| x["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"rate_card.currency"), "{paths:?}");
    // With the currency unknown no price can be checked; fix it and the band problems show.
    c["rate_card"]["currency"] = json!("SAR");
    let e = json_of(app.post("/api/v1/channels", &c).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let errors = e["errors"].as_array().unwrap();
    let find = |p: &str| errors.iter().find(|x| x["path"] == p).map(|x| x["message"].as_str().unwrap().to_owned());
    assert!(find("rate_card.zones[0].bands[1].from_g").unwrap().contains("gap"), "{errors:?}");
    assert!(find("rate_card.zones[0].bands[2].price").unwrap().contains("negative"), "{errors:?}");
    json_of(app.get("/api/v1/channels/BAD").await, StatusCode::NOT_FOUND).await;
}

async fn a_rate_card_csv_round_trips_and_bad_rows_name_their_line(engine: Engine) {
    let app = spawn_app(engine).await;
    json_of(
        app.post("/api/v1/channels", &channel("SBX-SA", ["12.00", "20.00", "30.00"], 3)).await,
        StatusCode::CREATED,
    )
    .await;
    let csv = app.get("/api/v1/channels/export?format=csv").await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let post_csv = |body: String| {
        app.client
            .post(app.url("/api/v1/channels/import"))
            .bearer_auth(&app.admin)
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    let cheaper = csv.replace(",20.00,", ",18.50,");
    let r = json_of(post_csv(cheaper).await.unwrap(), StatusCode::OK).await;
    assert_eq!((r["channels"].as_i64(), r["rows"].as_i64()), (Some(1), Some(3)));
    let got = json_of(app.get("/api/v1/channels/SBX-SA").await, StatusCode::OK).await;
    assert_eq!(got["rate_card"]["zones"][0]["bands"][1]["price"], "18.50");
    let broken = csv.replace(",18.50,", ",abc,").replace(",20.00,", ",abc,").replace(",500,1000,", ",500,x,");
    let e = json_of(post_csv(broken).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    let paths: Vec<&str> = e["errors"].as_array().unwrap().iter().filter_map(|x| x["path"].as_str()).collect();
    assert!(paths.contains(&"line 3.to_g") && paths.contains(&"line 3.price"), "each bad cell by its line: {e}");
    let unknown = csv.replace("SBX-SA", "NOPE");
    let e = json_of(post_csv(unknown).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(e["errors"][0]["message"].as_str().unwrap().contains("no such channel"), "{e}");
    // Nothing of a refused file lands.
    let still = json_of(app.get("/api/v1/channels/SBX-SA").await, StatusCode::OK).await;
    assert_eq!(still["rate_card"]["zones"][0]["bands"][1]["price"], "18.50");
}

async fn a_quote_prices_every_channel_tags_the_best_and_says_why_others_cannot_ship(engine: Engine) {
    let app = spawn_app(engine).await;
    setup(&app).await;
    json_of(app.post("/api/v1/channels", &channel("CHEAP", ["12.00", "20.00", "30.00"], 5)).await, StatusCode::CREATED)
        .await;
    json_of(app.post("/api/v1/channels", &channel("FAST", ["15.00", "25.00", "35.00"], 1)).await, StatusCode::CREATED)
        .await;
    let mut nocod = channel("NOCOD", ["1.00", "2.00", "3.00"], 1);
    nocod["capabilities"]["cod"] = json!(false);
    json_of(app.post("/api/v1/channels", &nocod).await, StatusCode::CREATED).await;
    let mut noddp = channel("NODDP", ["1.00", "2.00", "3.00"], 1);
    noddp["capabilities"]["ddp"] = json!(false);
    json_of(app.post("/api/v1/channels", &noddp).await, StatusCode::CREATED).await;
    let req = json!({
        "destination": {"country": "SA", "region": "Eastern Province", "city": "Khafji", "postal_code": "13999"},
        "parcels": [{"weight_g": 501}], "goods_value": {"amount": "200.00", "currency": "SAR"},
        "cod_amount": {"amount": "200.00", "currency": "SAR"}, "incoterm": "DDP", "date": "2026-11-20"
    });
    let q = json_of(app.post("/api/v1/rates", &req).await, StatusCode::OK).await;
    let quotes = q["quotes"].as_array().unwrap();
    let cheap = quotes.iter().find(|x| x["channel"] == "CHEAP").unwrap();
    // 501 g → 600 g → 20.00; fuel 2.00; remote 5.00; COD 2 % of 200 = 4.00; DDP fee 4.00; no duty at or below
    // SAR 1000; VAT 15 % of (200 + 27.00 transport) = 34.05: the COD and DDP fees are services, not transport.
    assert_eq!(cheap["billable_weight_g"], 600);
    let b = &cheap["breakdown"];
    for (k, v) in [
        ("base", "20.00"),
        ("fuel", "2.00"),
        ("remote_area", "5.00"),
        ("cod_fee", "4.00"),
        ("ddp_fee", "4.00"),
        ("duties", "0.00"),
        ("taxes", "34.05"),
    ] {
        assert_eq!(b[k]["amount"], v, "{k}: {cheap}");
    }
    assert_eq!(cheap["total"]["amount"], "69.05");
    assert!(cheap["tags"].as_array().unwrap().contains(&json!("cheapest")));
    let fast = quotes.iter().find(|x| x["channel"] == "FAST").unwrap();
    assert!(fast["tags"].as_array().unwrap().contains(&json!("fastest")));
    let reasons: Vec<(String, String)> = q["ineligible"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["channel"].as_str().unwrap().to_owned(), x["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert!(reasons.contains(&("NOCOD".into(), "no_cod".into())), "{reasons:?}");
    assert!(reasons.contains(&("NODDP".into(), "no_ddp".into())), "{reasons:?}");
    let mut heavy = req.clone();
    heavy["parcels"][0]["weight_g"] = json!(5001);
    heavy["cod_amount"]["amount"] = json!("3000.01");
    let q = json_of(app.post("/api/v1/rates", &heavy).await, StatusCode::OK).await;
    assert!(q["quotes"].as_array().unwrap().is_empty());
    let cheap = q["ineligible"].as_array().unwrap().iter().find(|x| x["channel"] == "CHEAP").unwrap().clone();
    assert_eq!(cheap["reason"], "cod_over_limit", "{cheap}");
    heavy["cod_amount"]["amount"] = json!("10.00");
    let q = json_of(app.post("/api/v1/rates", &heavy).await, StatusCode::OK).await;
    let cheap = q["ineligible"].as_array().unwrap().iter().find(|x| x["channel"] == "CHEAP").unwrap().clone();
    assert_eq!(cheap["reason"], "overweight", "{cheap}");
    let mut bad = req.clone();
    bad["parcels"][0]["weight_g"] = json!(0);
    bad["destination"]["country"] = json!("XX");
    let e = json_of(app.post("/api/v1/rates", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    let paths: Vec<&str> = e["errors"].as_array().unwrap().iter().map(|x| x["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["destination.country", "parcels[0].weight_g"]);
}

async fn an_allocated_order_records_its_channel_ranking_and_why_it_won(engine: Engine) {
    let app = spawn_app(engine).await;
    setup(&app).await;
    app.seed(&[("LAMP-01", 50)]).await;
    json_of(app.post("/api/v1/channels", &channel("CHEAP", ["12.00", "20.00", "30.00"], 5)).await, StatusCode::CREATED)
        .await;
    json_of(app.post("/api/v1/channels", &channel("FAST", ["15.00", "25.00", "35.00"], 1)).await, StatusCode::CREATED)
        .await;
    let o = json_of(app.post("/api/v1/orders", &order("A-1", "LAMP-01", 1)).await, StatusCode::CREATED).await;
    assert_eq!(o["status"], "allocated");
    let a = &o["allocation"];
    assert_eq!(a["channel"], "CHEAP", "{a}");
    assert_eq!(a["strategy"], "expected_profit");
    assert_eq!(a["ranking"].as_array().unwrap().len(), 2);
    assert!(a["why"].as_str().unwrap().contains("next best FAST"), "{a}");
    let history =
        json_of(app.get(&format!("/api/v1/orders/{}/history", o["id"].as_str().unwrap())).await, StatusCode::OK).await;
    assert!(history.to_string().contains("highest expected profit"), "{history}");
    let s = json!({"strategy": "fastest", "incoterm": "DDP", "auto_book": false, "delivery_prior_pct": 85});
    json_of(app.put("/api/v1/settings/logistics", &s).await, StatusCode::OK).await;
    let o = json_of(app.post("/api/v1/orders", &order("A-2", "LAMP-01", 1)).await, StatusCode::CREATED).await;
    assert_eq!(o["allocation"]["channel"], "FAST");
    assert!(o["allocation"]["why"].as_str().unwrap().contains("fastest at 1 transit days"), "{}", o["allocation"]);
}

async fn a_booking_with_no_carrier_configured_fails_with_an_actionable_message_and_can_be_retried(engine: Engine) {
    let app = spawn_app(engine).await;
    setup(&app).await;
    app.seed(&[("LAMP-01", 50)]).await;
    json_of(app.post("/api/v1/channels", &channel("CHEAP", ["12.00", "20.00", "30.00"], 5)).await, StatusCode::CREATED)
        .await;
    let o = json_of(app.post("/api/v1/orders", &order("B-1", "LAMP-01", 1)).await, StatusCode::CREATED).await;
    let id = o["id"].as_str().unwrap();
    let s = json_of(app.post(&format!("/api/v1/orders/{id}/book"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(s["status"], "failed", "{s}");
    assert!(s["last_error"].as_str().unwrap().contains("configure the carrier"), "{s}");
    let o = json_of(app.get(&format!("/api/v1/orders/{id}")).await, StatusCode::OK).await;
    assert_eq!(o["status"], "allocated");
    let sid = s["id"].as_str().unwrap();
    let label = json_of(app.get(&format!("/api/v1/shipments/{sid}/label")).await, StatusCode::CONFLICT).await;
    assert_eq!(label["code"], "not_booked");
    let q = json!({"destination": {"country": "SA"}, "parcels": [{"weight_g": 800}],
                   "goods_value": {"amount": "59.00", "currency": "SAR"}});
    let live = json_of(app.post("/api/v1/rates/CHEAP/carrier", &q).await, StatusCode::CONFLICT).await;
    assert_eq!(live["code"], "carrier_not_configured", "{live}");
    json_of(app.post("/api/v1/rates/NOPE/carrier", &q).await, StatusCode::NOT_FOUND).await;
    let again = json_of(app.post(&format!("/api/v1/shipments/{sid}/retry"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(again["status"], "pending");
    let twice =
        json_of(app.post(&format!("/api/v1/shipments/{sid}/retry"), &json!({})).await, StatusCode::CONFLICT).await;
    assert_eq!(twice["code"], "not_failed");
    // Cancelling the order cancels the unbooked shipment with it.
    json_of(
        app.post(&format!("/api/v1/orders/{id}/cancel"), &json!({"reason": "buyer changed mind"})).await,
        StatusCode::OK,
    )
    .await;
    let s = json_of(app.get(&format!("/api/v1/shipments/{sid}")).await, StatusCode::OK).await;
    assert_eq!(s["status"], "cancelled");
    let unallocated =
        json_of(app.post(&format!("/api/v1/orders/{id}/book"), &json!({})).await, StatusCode::CONFLICT).await;
    assert_eq!(unallocated["code"], "not_allocated");
}

async fn a_setting_stored_wrong_is_an_error_not_a_silent_default(engine: Engine) {
    let app = spawn_app(engine).await;
    let before = json_of(app.get("/api/v1/settings/logistics").await, StatusCode::OK).await;
    assert_eq!(before["auto_book"], false);
    // A hand edit leaves a value nothing writes: reading it does not quietly turn it into the default.
    let mut tx = app.store.begin().await.unwrap();
    sqlx::query("UPDATE settings SET value = 'sometimes' WHERE key = 'auto_book'").execute(&mut *tx).await.unwrap();
    codflow_store::commit(tx).await.unwrap();
    let p = json_of(app.get("/api/v1/settings/logistics").await, StatusCode::INTERNAL_SERVER_ERROR).await;
    assert_eq!(p["code"], "internal");
    assert!(!p.to_string().contains("sometimes"), "the stored text stays in the log: {p}");
    // Writing it through the API puts it right.
    let fixed = json!({"strategy": before["strategy"], "incoterm": before["incoterm"], "auto_book": true,
        "delivery_prior_pct": before["delivery_prior_pct"]});
    json_of(app.put("/api/v1/settings/logistics", &fixed).await, StatusCode::OK).await;
    assert_eq!(json_of(app.get("/api/v1/settings/logistics").await, StatusCode::OK).await["auto_book"], true);
}
