use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_paths, json_of, order, spawn_app};

codflow_store::on_both_engines!(
    with_no_rules_an_order_is_approved_and_records_the_ruleset_version,
    a_hold_rule_puts_the_order_in_the_queue_with_its_reason_and_approving_allocates_it,
    the_strongest_matching_action_decides_and_every_match_is_stored,
    a_rule_that_fails_at_evaluation_holds_the_order,
    block_cod_holds_for_prepayment_and_approving_makes_the_order_prepaid,
    every_rule_change_makes_a_version_and_orders_record_the_version_that_decided_them,
    bad_rules_are_refused_at_save_time_with_positions_and_paths,
    rules_export_and_import_round_trip_and_a_bad_file_changes_nothing,
    a_template_with_a_list_cancels_cod_orders_to_an_unsupported_region_and_queues_a_message,
    refusals_recorded_for_a_phone_make_the_next_order_from_it_cancelled,
    lists_normalise_entries_import_csv_by_line_and_protect_builtins_and_lists_in_use,
    the_queue_approves_and_cancels_many_and_reports_each_order,
    a_value_rule_needs_an_exchange_rate_and_holds_without_one,
    backtesting_reports_refusals_avoided_and_revenue_forgone,
    the_risk_score_and_its_components_are_on_the_order,
);

async fn create(app: &TestApp, body: &Value) -> Value {
    json_of(app.post("/api/v1/orders", body).await, StatusCode::CREATED).await
}

fn with_phone(mut o: Value, external_id: &str, phone: &str) -> Value {
    o["external_id"] = json!(external_id);
    o["buyer"]["phone"] = json!(phone);
    o
}

async fn with_no_rules_an_order_is_approved_and_records_the_ruleset_version(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let o = create(&app, &order("1", "LAMP-01", 1)).await;
    assert_eq!(o["status"], "allocated");
    assert_eq!(o["review"]["decision"], "approve");
    assert_eq!(o["review"]["ruleset_version"], 0);
    assert_eq!(o["review"]["reasons"], json!(["no rule matched"]));
}

async fn a_hold_rule_puts_the_order_in_the_queue_with_its_reason_and_approving_allocates_it(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    app.rule("order.item_count >= 3", "hold", "three or more items: confirm by phone").await;
    let small = create(&app, &order("1", "LAMP-01", 1)).await;
    assert_eq!(small["status"], "allocated");
    let big = create(&app, &order("2", "LAMP-01", 3)).await;
    assert_eq!(big["status"], "on_hold");
    assert_eq!(big["review"]["decision"], "hold");
    assert_eq!(big["review"]["reasons"], json!(["three or more items: confirm by phone"]));
    assert_eq!(app.stock("LAMP-01").await["reserved"], 1, "a held order reserves nothing");
    let queue = json_of(app.get("/api/v1/review-queue").await, StatusCode::OK).await;
    let ids: Vec<&str> =
        queue["items"].as_array().unwrap().iter().map(|o| o["external_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["2"]);
    let id = big["id"].as_str().unwrap();
    let r = json_of(
        app.post("/api/v1/review-queue/approve", &json!({"order_ids": [id], "reason": "buyer confirmed"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(r[0]["ok"], true);
    assert_eq!(r[0]["status"], "allocated");
    assert_eq!(app.stock("LAMP-01").await["reserved"], 4);
    let history = json_of(app.get(&format!("/api/v1/orders/{id}/history")).await, StatusCode::OK).await;
    let actions: Vec<&str> = history.as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "review", "approve", "allocate"]);
    assert!(history[1]["actor"].as_str().unwrap().starts_with("rule:rul_"), "{history}");
    assert_eq!(history[2]["reason"], "buyer confirmed");
    let queue = json_of(app.get("/api/v1/review-queue").await, StatusCode::OK).await;
    assert!(queue["items"].as_array().unwrap().is_empty());
}

async fn the_strongest_matching_action_decides_and_every_match_is_stored(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    app.rule("order.cod", "flag", "cash on delivery").await;
    app.rule("dest.country == 'SA'", "hold", "Saudi orders are confirmed").await;
    app.rule("order.item_count > 1", "cancel", "one item per order").await;
    app.rule("dest.country == 'AE'", "cancel", "never matches").await;
    let o = create(&app, &order("1", "LAMP-01", 2)).await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(o["review"]["decision"], "cancel");
    let actions: Vec<&str> =
        o["review"]["matches"].as_array().unwrap().iter().map(|m| m["action"].as_str().unwrap()).collect();
    assert_eq!(actions.len(), 3);
    assert!(actions.contains(&"flag") && actions.contains(&"hold") && actions.contains(&"cancel"));
    assert_eq!(o["review"]["reasons"][0], "one item per order");
    let flagged = create(&app, &order("2", "LAMP-01", 1)).await;
    assert_eq!(flagged["review"]["decision"], "hold");
}

async fn a_rule_that_fails_at_evaluation_holds_the_order(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    app.rule("order.total_minor / (order.item_count - 1) > 0", "approve", "divides by zero for one item").await;
    let o = create(&app, &order("1", "LAMP-01", 1)).await;
    assert_eq!(o["status"], "on_hold");
    let m = &o["review"]["matches"][0];
    assert_eq!(m["action"], "hold");
    assert!(m["error"].as_str().unwrap().contains("division by zero"), "{m}");
}

async fn block_cod_holds_for_prepayment_and_approving_makes_the_order_prepaid(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    app.rule("order.total_minor > 10000", "block_cod", "orders above 100 SAR are paid in advance").await;
    let shop = json!({"code": "manual", "platform": "manual", "name": "Acme Gulf Store"});
    json_of(app.post("/api/v1/stores", &shop).await, StatusCode::CREATED).await;
    let o = create(&app, &order("1", "LAMP-01", 2)).await;
    assert_eq!(o["status"], "on_hold");
    assert_eq!(o["review"]["decision"], "block_cod");
    assert_eq!(o["review"]["prepayment_required"], true);
    assert_eq!(o["payment_method"], "cod");
    let id = o["id"].as_str().unwrap();
    let outbox = json_of(app.get(&format!("/api/v1/notifications?order={id}")).await, StatusCode::OK).await;
    let templates: Vec<&str> =
        outbox["items"].as_array().unwrap().iter().map(|n| n["template"].as_str().unwrap()).collect();
    assert_eq!(templates, ["prepayment_required", "prepayment_required"], "email and SMS tell the buyer why");
    let body = outbox["items"].as_array().unwrap().iter().find(|n| n["channel"] == "sms").unwrap()["body"].clone();
    // A Saudi buyer reads Arabic: the seller's English reason is not quoted into it, the why is said in Arabic.
    let body = body.as_str().unwrap();
    assert!(!body.contains("orders above 100 SAR"), "{body}");
    assert!(body.contains("وفقاً لسياسة المتجر"), "{body}");
    assert!(body.contains("Acme Gulf Store") && !body.contains("manual"), "the shop by its name: {body}");
    let approved = json_of(
        app.post(&format!("/api/v1/orders/{id}/approve"), &json!({"reason": "paid by card"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(approved["status"], "allocated");
    assert_eq!(approved["payment_method"], "prepaid");
    assert_eq!(approved["cod_amount"], json!({"amount": "0.00", "currency": "SAR"}));
    let prepaid = create(&app, &{
        let mut p = order("2", "LAMP-01", 2);
        p["payment_method"] = json!("prepaid");
        p
    })
    .await;
    assert_eq!(prepaid["status"], "allocated", "block_cod does not touch a prepaid order");
}

async fn every_rule_change_makes_a_version_and_orders_record_the_version_that_decided_them(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let rule = app.rule("order.item_count > 5", "hold", "many items").await;
    assert_eq!(rule["ruleset_version"], 1);
    let id = rule["id"].as_str().unwrap();
    let updated = json_of(
        app.put(&format!("/api/v1/rules/{id}"), &json!({"condition": "order.item_count > 1"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["ruleset_version"], 2);
    assert_eq!(updated["reason"], "many items", "fields left out keep their value");
    let o = create(&app, &order("1", "LAMP-01", 2)).await;
    assert_eq!(o["review"]["ruleset_version"], 2);
    assert_eq!(o["review"]["rules"], json!([id]));
    let r = app.delete(&format!("/api/v1/rules/{id}")).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let o = create(&app, &order("2", "LAMP-01", 2)).await;
    assert_eq!(o["review"]["ruleset_version"], 3);
    assert_eq!(o["status"], "allocated");
    let versions = json_of(app.get("/api/v1/rules/versions").await, StatusCode::OK).await;
    let numbers: Vec<i64> =
        versions["items"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [3, 2, 1, 0]);
    let v2 = json_of(app.get("/api/v1/rules/versions/2").await, StatusCode::OK).await;
    assert_eq!(v2["rules"][0]["condition"], "order.item_count > 1");
    assert_eq!(app.get(&format!("/api/v1/rules/{id}")).await.status(), StatusCode::NOT_FOUND);
}

async fn bad_rules_are_refused_at_save_time_with_positions_and_paths(engine: Engine) {
    let app = spawn_app(engine).await;
    let bad = |condition: &str| json!({"name": "x", "condition": condition, "action": "hold", "reason": "x"});
    let p =
        json_of(app.post("/api/v1/rules", &bad("order.total_minor >")).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&p), ["condition"]);
    assert!(p["errors"][0]["message"].as_str().unwrap().starts_with("line 1, column 20"), "{p}");
    let p = json_of(app.post("/api/v1/rules", &bad("order.totl > 1")).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("unknown field 'order.totl'"), "{p}");
    let p =
        json_of(app.post("/api/v1/rules", &bad("in_list('vip', buyer.phone)")).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("unknown list \"vip\""), "{p}");
    let mut notify = bad("order.cod");
    notify["notify"] = json!("no_such_template");
    let p = json_of(app.post("/api/v1/rules", &notify).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&p), ["notify"]);
    let p = json_of(
        app.post("/api/v1/rules", &json!({"name": "x", "condition": "true", "action": "delete", "reason": ""})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(error_paths(&p).contains(&"action".to_owned()) && error_paths(&p).contains(&"reason".to_owned()), "{p}");
    let t = json!({"subject": "Order {{ order }", "body": "Hi {{ buyer }}", "sms": "{{ nobody }}"});
    let p = json_of(
        app.put("/api/v1/notification-templates/cod_unavailable/en", &t).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let paths = error_paths(&p);
    assert!(
        paths.contains(&"subject".to_owned())
            && paths.contains(&"sms".to_owned())
            && !paths.contains(&"body".to_owned()),
        "{p}"
    );
    let ok = json!({"subject": "Order {{ order }}", "body": "Hi {{ buyer }}: {{ reason }}", "sms": "{{ store }}: {{ reason }}"});
    json_of(app.put("/api/v1/notification-templates/cod_unavailable/en", &ok).await, StatusCode::OK).await;
    let v =
        json_of(app.post("/api/v1/rules/validate", &bad("order.skus.exists(s, s == 'A')")).await, StatusCode::OK).await;
    assert_eq!(v["valid"], true);
    let rules = json_of(app.get("/api/v1/rules").await, StatusCode::OK).await;
    assert!(rules["items"].as_array().unwrap().is_empty(), "nothing was saved");
    assert_eq!(rules["ruleset_version"], 0);
}

async fn rules_export_and_import_round_trip_and_a_bad_file_changes_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    app.rule("order.item_count > 5", "hold", "many items").await;
    app.rule("dest.country == 'AE'", "flag", "Emirates").await;
    let file = json_of(app.get("/api/v1/rules/export").await, StatusCode::OK).await;
    assert_eq!(file["version"], 2);
    assert_eq!(file["rules"].as_array().unwrap().len(), 2);
    let mut broken = file.clone();
    broken["rules"][1]["condition"] = json!("dest.country ==");
    let p = json_of(app.post("/api/v1/rules/import", &broken).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&p), ["rules[1].condition"]);
    let mut one = file.clone();
    one["rules"].as_array_mut().unwrap().pop();
    let r = json_of(app.post("/api/v1/rules/import", &one).await, StatusCode::OK).await;
    assert_eq!(r["ruleset_version"], 3);
    let now = json_of(app.get("/api/v1/rules/export").await, StatusCode::OK).await;
    assert_eq!(now["rules"], one["rules"]);
    let r = json_of(app.post("/api/v1/rules/import", &file).await, StatusCode::OK).await;
    assert_eq!(r["ruleset_version"], 4);
    assert_eq!(json_of(app.get("/api/v1/rules/export").await, StatusCode::OK).await["rules"], file["rules"]);
}

async fn a_template_with_a_list_cancels_cod_orders_to_an_unsupported_region_and_queues_a_message(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let added = json_of(
        app.post("/api/v1/lists/cod_unsupported_regions/entries", &json!({"values": ["SA: riyadh province "]})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(added["added"], 1);
    let rule =
        json_of(app.post("/api/v1/rules/templates/cod_unsupported_region", &json!({})).await, StatusCode::CREATED)
            .await;
    assert_eq!(rule["action"], "cancel");
    assert_eq!(rule["notify"], "cod_unavailable");
    let o = create(&app, &order("1", "LAMP-01", 1)).await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(o["review"]["reasons"][0], "cash on delivery is not available in this region");
    assert_eq!(app.stock("LAMP-01").await["reserved"], 0);
    let outbox = json_of(app.get("/api/v1/notifications").await, StatusCode::OK).await;
    let items = outbox["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    for n in items {
        assert_eq!(n["status"], "pending", "no sender is configured in this test");
        assert_eq!(n["language"], "ar", "a Saudi buyer is written to in Arabic");
    }
    let email = items.iter().find(|n| n["channel"] == "email").unwrap();
    assert_eq!(email["recipient"], "noura@example.com");
    assert!(email["body"].as_str().unwrap().contains("Noura Al-Qahtani"));
    let mut prepaid = order("2", "LAMP-01", 1);
    prepaid["payment_method"] = json!("prepaid");
    assert_eq!(create(&app, &prepaid).await["status"], "allocated", "the template only stops COD");
    let p = json_of(
        app.post("/api/v1/rules/templates/region_refusal_rate", &json!({"params": {"max_rate": 2}})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&p), ["params.max_rate"]);
}

async fn refusals_recorded_for_a_phone_make_the_next_order_from_it_cancelled(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 20)]).await;
    json_of(
        app.post("/api/v1/rules/templates/refusing_phone", &json!({"params": {"min_refusals": 2}})).await,
        StatusCode::CREATED,
    )
    .await;
    let phone = "+966509990000";
    let mut ids = Vec::new();
    for n in 0..2 {
        let o = create(&app, &with_phone(order(&format!("r{n}"), "LAMP-01", 1), &format!("r{n}"), phone)).await;
        assert_eq!(o["status"], "allocated");
        ids.push(o["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        let r = json_of(
            app.post(&format!("/api/v1/orders/{id}/outcome"), &json!({"outcome": "refused"})).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(r["recorded"], true);
    }
    let again = json_of(
        app.post(&format!("/api/v1/orders/{}/outcome", ids[0]), &json!({"outcome": "refused"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["recorded"], false, "a replayed outcome counts once");
    let next = create(&app, &with_phone(order("r9", "LAMP-01", 1), "r9", phone)).await;
    assert_eq!(next["status"], "cancelled");
    let other = create(&app, &with_phone(order("ok", "LAMP-01", 1), "ok", "+966501112222")).await;
    assert_eq!(other["status"], "allocated");
    let p = json_of(
        app.post(&format!("/api/v1/orders/{}/outcome", ids[0]), &json!({"outcome": "lost"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&p), ["outcome"]);
}

async fn lists_normalise_entries_import_csv_by_line_and_protect_builtins_and_lists_in_use(engine: Engine) {
    let app = spawn_app(engine).await;
    let r = json_of(
        app.post(
            "/api/v1/lists/blacklisted_phones/entries",
            &json!({"values": ["+966 50 999 0000", "00966509990000"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((r["added"].as_i64(), r["already_present"].as_i64()), (Some(1), Some(0)), "one number written two ways");
    let p = json_of(
        app.post("/api/v1/lists/blacklisted_phones/entries", &json!({"values": ["+966509990001", "call me"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&p), ["values[1]"]);
    let csv = "value,note\n+966509990002,refused twice\nnot a phone,\n";
    let r = app
        .client
        .post(app.url("/api/v1/lists/blacklisted_phones/import"))
        .bearer_auth(&app.admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let p = json_of(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&p), ["line 3: value"]);
    let entries = json_of(app.get("/api/v1/lists/blacklisted_phones/entries").await, StatusCode::OK).await;
    assert_eq!(entries["items"].as_array().unwrap().len(), 1, "a bad file adds nothing");
    let r = app
        .client
        .post(app.url("/api/v1/lists/blacklisted_phones/import"))
        .bearer_auth(&app.admin)
        .body("value,note\n+966509990002,refused twice\n")
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(r, StatusCode::OK).await["added"], 1);
    assert_eq!(app.delete("/api/v1/lists/blacklisted_phones").await.status(), StatusCode::CONFLICT);
    json_of(app.post("/api/v1/lists", &json!({"name": "vip_phones", "kind": "phone"})).await, StatusCode::CREATED)
        .await;
    assert_eq!(
        app.post("/api/v1/lists", &json!({"name": "vip_phones", "kind": "phone"})).await.status(),
        StatusCode::CONFLICT
    );
    app.rule("in_list('vip_phones', buyer.phone)", "approve", "VIP").await;
    let p = json_of(app.delete("/api/v1/lists/vip_phones").await, StatusCode::CONFLICT).await;
    assert_eq!(p["code"], "list_in_use");
    let csv = app.get("/api/v1/lists/blacklisted_phones/export").await;
    assert_eq!(csv.status(), StatusCode::OK);
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "value,note,added_by,created_at");
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[2].starts_with("+966509990002,refused twice,token:tok_"), "{text}");
    let r = app.delete("/api/v1/lists/blacklisted_phones/entries/+966509990002").await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let lists = json_of(app.get("/api/v1/lists").await, StatusCode::OK).await;
    let phones = lists.as_array().unwrap().iter().find(|l| l["name"] == "blacklisted_phones").unwrap();
    assert_eq!(phones["entries"], 1);
}

async fn the_queue_approves_and_cancels_many_and_reports_each_order(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    app.rule("true", "hold", "everything is checked").await;
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(create(&app, &order(&n.to_string(), "LAMP-01", 1)).await["id"].as_str().unwrap().to_owned());
    }
    let queue = json_of(app.get("/api/v1/review-queue?limit=2").await, StatusCode::OK).await;
    let first: Vec<&str> = queue["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(first, [ids[0].as_str(), ids[1].as_str()], "oldest first");
    let next = json_of(
        app.get(&format!("/api/v1/review-queue?limit=2&cursor={}", queue["next_cursor"].as_str().unwrap())).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(next["items"][0]["id"], ids[2].as_str());
    let r = json_of(
        app.post("/api/v1/review-queue/cancel", &json!({"order_ids": [ids[0], ids[1], "ord_nope"], "reason": "fraud"}))
            .await,
        StatusCode::OK,
    )
    .await;
    let oks: Vec<bool> = r.as_array().unwrap().iter().map(|x| x["ok"].as_bool().unwrap()).collect();
    assert_eq!(oks, [true, true, false]);
    assert_eq!(r[2]["error"], "not_found");
    let r = json_of(
        app.post("/api/v1/review-queue/approve", &json!({"order_ids": [ids[0], ids[2]]})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(r[0]["error"], "illegal_transition", "a cancelled order stays cancelled");
    assert_eq!(r[1]["status"], "allocated");
    assert_eq!(app.stock("LAMP-01").await["reserved"], 1);
    let viewer = app.token(codflow_domain::Role::Viewer).to_owned();
    let r = app.post_as(&viewer, "/api/v1/review-queue/approve", &json!({"order_ids": [ids[3]]})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn a_value_rule_needs_an_exchange_rate_and_holds_without_one(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    json_of(
        app.post("/api/v1/rules/templates/high_value", &json!({"params": {"limit": "100.00"}})).await,
        StatusCode::CREATED,
    )
    .await;
    let o = create(&app, &order("1", "LAMP-01", 1)).await;
    assert_eq!(o["status"], "on_hold");
    assert!(o["review"]["matches"][0]["error"].as_str().unwrap().contains("no exchange rate from SAR to USD"), "{o}");
    let rate = json!({"from": "SAR", "rate": "0.2666", "as_of": "2026-11-01", "source": "central bank"});
    json_of(app.put("/api/v1/fx-rates", &rate).await, StatusCode::OK).await;
    // 69.00 SAR is 18.40 USD; seven lamps and the fee (423.00 SAR) are 112.77 USD.
    assert_eq!(create(&app, &order("2", "LAMP-01", 1)).await["status"], "allocated");
    let big = create(&app, &order("3", "LAMP-01", 7)).await;
    assert_eq!(big["status"], "on_hold");
    assert!(big["review"]["matches"][0]["error"].is_null());
    let bad = json!({"from": "SAR", "rate": "-1", "as_of": "2026-13-01", "source": ""});
    let p = json_of(app.put("/api/v1/fx-rates", &bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&p), ["as_of", "source"]);
}

async fn backtesting_reports_refusals_avoided_and_revenue_forgone(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 100)]).await;
    // Riyadh refuses, Jeddah pays. The candidate rule holds Riyadh.
    let mut ids = Vec::new();
    for n in 0..6 {
        let mut o = with_phone(order(&format!("b{n}"), "LAMP-01", 1), &format!("b{n}"), &format!("+96650999100{n}"));
        o["placed_at"] = json!(format!("2026-11-0{}T10:00:00Z", n + 1));
        if n % 2 == 1 {
            o["shipping_address"]["city"] = json!("Jeddah");
            o["shipping_address"]["region"] = json!("Makkah Province");
        }
        ids.push(create(&app, &o).await["id"].as_str().unwrap().to_owned());
    }
    for (n, id) in ids.iter().enumerate() {
        let outcome = if n % 2 == 0 { "refused" } else { "delivered" };
        json_of(app.post(&format!("/api/v1/orders/{id}/outcome"), &json!({"outcome": outcome})).await, StatusCode::OK)
            .await;
    }
    json_of(
        app.put("/api/v1/fx-rates", &json!({"from": "SAR", "rate": "0.25", "as_of": "2026-10-01", "source": "test"}))
            .await,
        StatusCode::OK,
    )
    .await;
    let candidate = json!({"rules": [{"id": "rul_00000000000000000000000001", "name": "Riyadh", "priority": 1, "enabled": true,
        "condition": "dest.region == 'Riyadh Province' || dest.city == 'Jeddah' && order.item_count > 5", "action": "hold", "reason": "Riyadh refuses"}],
        "refusal_cost": {"amount": "20.00", "currency": "USD"}, "margin_percent": "50"});
    let report = json_of(app.post("/api/v1/rules/backtest", &candidate).await, StatusCode::OK).await;
    assert_eq!(report["orders_replayed"], 6);
    assert_eq!((report["refused"].as_i64(), report["delivered"].as_i64()), (Some(3), Some(3)));
    let hold = report["actions"].as_array().unwrap().iter().find(|a| a["action"] == "hold").unwrap();
    assert_eq!(hold["orders"], 3);
    assert_eq!(hold["refusals_avoided"], 3);
    assert_eq!(hold["delivered_revenue_forgone_minor"], 0);
    assert_eq!(hold["net_effect_minor"], 6000, "three refusals at 20.00 USD avoided");
    let everything = json!({"rules": [{"id": "rul_00000000000000000000000002", "name": "all", "priority": 1, "enabled": true,
        "condition": "true", "action": "cancel", "reason": "all"}], "refusal_cost": {"amount": "20.00", "currency": "USD"}, "margin_percent": "50"});
    let report = json_of(app.post("/api/v1/rules/backtest", &everything).await, StatusCode::OK).await;
    let cancel = &report["actions"][0];
    // Three delivered orders of 69.00 SAR = 17.25 USD each: 51.75 USD forgone, half of it profit.
    assert_eq!(cancel["delivered_revenue_forgone_minor"], 5175);
    assert_eq!(cancel["net_effect_minor"], 6000 - 2588);
    let p = json_of(
        app.post("/api/v1/rules/backtest", &json!({"since": "yesterday", "margin_percent": "140"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&p), ["since", "margin_percent"]);
}

async fn the_risk_score_and_its_components_are_on_the_order(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let o = create(&app, &order("1", "LAMP-01", 1)).await;
    let risk = &o["review"]["risk"];
    let score = risk["score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&score));
    let names: Vec<&str> = risk["components"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["buyer_phone", "region", "sku_region", "value_band", "payment_method"]);
    assert_eq!(risk["components"][0]["key"], "phone:+966501234567");
}
