//! Carrier accounts as data: a 4PX account created with sealed credentials, tested, and booked and tracked
//! through by a channel, against the 4PX protocol server; bad input refused by field.

use codflow_store::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_paths, json_of, order, spawn_app};

codflow_store::on_both_engines!(
    a_4px_account_is_sealed_tested_and_a_channel_books_and_tracks_through_it,
    a_ninja_van_cod_parcel_is_booked_and_moved_by_its_signed_push,
    a_jnt_cod_parcel_is_booked_with_its_label_and_moved_by_a_form_encoded_push,
    bad_carrier_accounts_are_refused_by_field_and_change_nothing,
    a_lianlian_account_is_tested_and_its_statement_read_with_bad_requests_refused_by_field,
);

fn fourpx_account(server: &str, secret: &str) -> Value {
    json!({"code": "4px-sz", "carrier": "4px", "name": "4PX Shenzhen", "base_url": format!("{server}/4px"),
           "credentials": {"app_key": codflow_sandbox_carrier::fourpx::TEST_APP_KEY, "app_secret": secret}})
}

fn fourpx_channel(account: &str) -> Value {
    json!({
        "code": "4PX-SA", "name": "4PX to Saudi Arabia", "carrier": "4px", "carrier_account": account,
        "service": "standard", "coverage": {"countries": ["SA"]},
        "capabilities": {"cod": false, "ddp": true},
        "rate_card": {"currency": "SAR", "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 7,
            "bands": [{"from_g": 0, "to_g": 5000, "price": "30.00"}]}]}
    })
}

async fn prepaid_order(app: &TestApp) -> String {
    let mut o = order("P-1", "LAMP-01", 1);
    o["payment_method"] = json!("prepaid");
    let o = json_of(app.post("/api/v1/orders", &o).await, StatusCode::CREATED).await;
    o["id"].as_str().unwrap().to_owned()
}

async fn a_4px_account_is_sealed_tested_and_a_channel_books_and_tracks_through_it(engine: Engine) {
    let server = codflow_sandbox_carrier::start(Default::default()).await.unwrap();
    let app = spawn_app(engine).await;
    let secret = codflow_sandbox_carrier::fourpx::TEST_APP_SECRET;
    let a = json_of(app.post("/api/v1/carrier-accounts", &fourpx_account(&server, secret)).await, StatusCode::CREATED)
        .await;
    assert_eq!(a["environment"], "test");
    assert_eq!(a["has_credentials"], true);
    assert!(!a.to_string().contains(secret), "secrets never come back: {a}");
    let stored: String = sqlx::query_scalar("SELECT credentials FROM carrier_accounts WHERE code = '4px-sz'")
        .fetch_one(&mut *app.store.read().await.unwrap())
        .await
        .unwrap();
    assert!(stored.starts_with("v1:") && !stored.contains(secret), "sealed at rest");
    let t = json_of(app.post("/api/v1/carrier-accounts/4px-sz/test", &json!({})).await, StatusCode::OK).await;
    assert_eq!((t["ok"].clone(), t["outcome"].clone()), (json!(true), json!("connected")), "{t}");

    // A wrong secret is what the test names; the right one again and it connects.
    let wrong =
        json!({"credentials": {"app_key": codflow_sandbox_carrier::fourpx::TEST_APP_KEY, "app_secret": "nope"}});
    json_of(app.put("/api/v1/carrier-accounts/4px-sz", &wrong).await, StatusCode::OK).await;
    let t = json_of(app.post("/api/v1/carrier-accounts/4px-sz/test", &json!({})).await, StatusCode::OK).await;
    assert_eq!(t["outcome"], "credentials_refused", "{t}");
    let right = json!({"name": "4PX SZ", "credentials": {"app_key": codflow_sandbox_carrier::fourpx::TEST_APP_KEY, "app_secret": secret}});
    let a = json_of(app.put("/api/v1/carrier-accounts/4px-sz", &right).await, StatusCode::OK).await;
    assert_eq!(a["name"], "4PX SZ");
    assert_eq!(a["base_url"], format!("{server}/4px"), "left out, kept");

    // A channel names the account; the booking goes to 4PX and its number comes back.
    let put = json!({"base_currency": "SAR"});
    json_of(app.put("/api/v1/settings", &put).await, StatusCode::OK).await;
    let duty = json!({"country": "SA", "effective_from": "2025-01-01", "duty_pct": "5", "vat_pct": "15",
        "duty_de_minimis": {"amount": {"amount": "1000", "currency": "SAR"}, "basis": "goods"}, "source": "test"});
    json_of(app.put("/api/v1/duty-rules", &duty).await, StatusCode::OK).await;
    json_of(app.post("/api/v1/channels", &fourpx_channel("4px-sz")).await, StatusCode::CREATED).await;
    app.seed(&[("LAMP-01", 5)]).await;
    let id = prepaid_order(&app).await;
    let s = json_of(app.post(&format!("/api/v1/orders/{id}/book"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(s["status"], "booked", "{s}");
    let tracking = s["tracking_number"].as_str().unwrap();
    assert!(tracking.starts_with("4PX"), "{tracking}");

    // 4PX's scans, polled, move the parcel by the default mapping.
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{server}/v1/_clock"))
        .json(&json!({"at": later, "scale": 1.0}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    // The first poll is hours after booking; the test brings it to now.
    let mut tx = app.store.begin().await.unwrap();
    sqlx::query("UPDATE tracking SET poll_at = 0").execute(&mut *tx).await.unwrap();
    codflow_store::commit(tx).await.unwrap();
    let polled = json_of(app.post("/api/v1/tracking/poll", &json!({})).await, StatusCode::OK).await;
    assert_eq!(polled["shipments_polled"], 1);
    let sid = s["id"].as_str().unwrap();
    let tr = json_of(app.get(&format!("/api/v1/shipments/{sid}/tracking")).await, StatusCode::OK).await;
    let codes: Vec<&str> = tr["events"].as_array().unwrap().iter().filter_map(|e| e["code"].as_str()).collect();
    assert_eq!(codes, ["FPX_L_RPIF", "FPX_C_SPLS", "FPX_C_ADFF"], "{tr}");
    assert_eq!(tr["status"], "in_transit", "{tr}");
    assert!(tr["picked_up_at"].is_string(), "{tr}");

    // An account a channel books through is not removed.
    let p = json_of(app.delete("/api/v1/carrier-accounts/4px-sz").await, StatusCode::CONFLICT).await;
    assert_eq!(p["code"], "carrier_account_in_use");
}

async fn bad_carrier_accounts_are_refused_by_field_and_change_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let cases = [
        (json!({"code": "x", "carrier": "dhl", "name": "n", "base_url": "https://x"}), "carrier"),
        (
            json!({"code": "bad code", "carrier": "4px", "name": "n", "base_url": "https://x",
                "credentials": {"app_key": "k", "app_secret": "s"}}),
            "code",
        ),
        (
            json!({"code": "a", "carrier": "4px", "name": "n", "base_url": "ftp://x",
                "credentials": {"app_key": "k", "app_secret": "s"}}),
            "base_url",
        ),
        (json!({"code": "a", "carrier": "4px", "name": "n", "base_url": "https://x"}), "credentials"),
        (
            json!({"code": "a", "carrier": "4px", "name": "n", "base_url": "https://x",
                "credentials": {"app_key": "k"}}),
            "credentials.app_secret",
        ),
        (
            json!({"code": "a", "carrier": "4px", "name": "n\u{0}", "base_url": "https://x",
                "credentials": {"app_key": "k", "app_secret": "s"}}),
            "name",
        ),
    ];
    for (body, path) in cases {
        let p = json_of(app.post("/api/v1/carrier-accounts", &body).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(error_paths(&p).contains(&path.to_owned()), "{path}: {p}");
    }
    let r = app.post_raw("/api/v1/carrier-accounts", "{\"code\": ").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "truncated JSON");
    let none = json_of(app.get("/api/v1/carrier-accounts").await, StatusCode::OK).await;
    assert_eq!(none["items"], json!([]), "nothing was written");
    json_of(app.get("/api/v1/carrier-accounts/nope").await, StatusCode::NOT_FOUND).await;
    json_of(app.post("/api/v1/carrier-accounts/nope/test", &json!({})).await, StatusCode::NOT_FOUND).await;
    // A channel naming an account that does not exist is refused by field.
    let p =
        json_of(app.post("/api/v1/channels", &fourpx_channel("ghost")).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_paths(&p), ["carrier_account"], "{p}");
    // Viewers read accounts but do not change them.
    let viewer = app.token(codflow_domain::Role::Viewer).to_owned();
    let r = app.post_as(&viewer, "/api/v1/carrier-accounts", &json!({})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn a_ninja_van_cod_parcel_is_booked_and_moved_by_its_signed_push(engine: Engine) {
    let server = codflow_sandbox_carrier::start(Default::default()).await.unwrap();
    let app = spawn_app(engine).await;
    let account = json!({"code": "nv-my", "carrier": "ninjavan", "name": "Ninja Van Malaysia", "base_url": format!("{server}/ninjavan"),
        "credentials": {"client_id": codflow_sandbox_carrier::ninjavan::TEST_CLIENT_ID,
                        "client_secret": codflow_sandbox_carrier::ninjavan::TEST_CLIENT_SECRET, "country": "my"},
        "webhook_secret": "nv-hook-secret"});
    let a = json_of(app.post("/api/v1/carrier-accounts", &account).await, StatusCode::CREATED).await;
    assert_eq!(a["has_webhook_secret"], true);
    let t = json_of(app.post("/api/v1/carrier-accounts/nv-my/test", &json!({})).await, StatusCode::OK).await;
    assert_eq!(t["outcome"], "connected", "{t}");

    let s = book_malaysian_cod(&app, "NV-MY", "ninjavan", "nv-my", "NV-1").await;
    let tracking = s["tracking_number"].as_str().unwrap().to_owned();
    assert!(tracking.starts_with("NVMY"), "{tracking}");

    // Ninja Van pushes the delivery; signed with the account's secret it moves the parcel, forged it does nothing.
    let body = json!({"tracking_id": tracking, "shipper_order_ref_no": "x", "timestamp": "2026-12-08T14:00:00+08:00",
        "status": "Delivered, Received by Customer", "is_parcel_on_rts_leg": false})
    .to_string();
    let post = |sig: String| {
        app.client
            .post(app.url("/api/v1/webhooks/carriers/ninjavan"))
            .header("X-Ninjavan-Hmac-Sha256", sig)
            .body(body.clone())
            .send()
    };
    let forged = post(codflow_sandbox_carrier::ninjavan::signature("not-the-secret", body.as_bytes())).await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let r = post(codflow_sandbox_carrier::ninjavan::signature("nv-hook-secret", body.as_bytes())).await.unwrap();
    json_of(r, StatusCode::OK).await;
    let again = post(codflow_sandbox_carrier::ninjavan::signature("nv-hook-secret", body.as_bytes())).await.unwrap();
    json_of(again, StatusCode::OK).await;
    let sid = s["id"].as_str().unwrap();
    let tr = json_of(app.get(&format!("/api/v1/shipments/{sid}/tracking")).await, StatusCode::OK).await;
    assert_eq!(tr["status"], "delivered", "{tr}");
    assert_eq!(tr["events"].as_array().unwrap().len(), 1, "a repeated push is one event: {tr}");
    assert_eq!(
        (tr["cod_status"].as_str(), tr["cod"]["amount"].as_str()),
        (Some("expected"), Some("64.00")),
        "cash now owed: {tr}"
    );
}

async fn a_jnt_cod_parcel_is_booked_with_its_label_and_moved_by_a_form_encoded_push(engine: Engine) {
    use codflow_sandbox_carrier::jnt::{TEST_API_ACCOUNT, TEST_CUSTOMER_CODE, TEST_PASSWORD, TEST_PRIVATE_KEY};
    let server = codflow_sandbox_carrier::start(Default::default()).await.unwrap();
    let app = spawn_app(engine).await;
    let account = json!({"code": "jnt-my", "carrier": "jnt", "name": "J&T Malaysia", "base_url": format!("{server}/jnt/my"),
        "credentials": {"api_account": TEST_API_ACCOUNT, "private_key": TEST_PRIVATE_KEY,
                        "customer_code": TEST_CUSTOMER_CODE, "password": TEST_PASSWORD, "country": "my",
                        "sender_phone": "+60355551234", "sender_address": "Lot 5, Jalan Kempas 4", "sender_postcode": "81930"},
        "webhook_secret": TEST_PRIVATE_KEY});
    json_of(app.post("/api/v1/carrier-accounts", &account).await, StatusCode::CREATED).await;
    let t = json_of(app.post("/api/v1/carrier-accounts/jnt-my/test", &json!({})).await, StatusCode::OK).await;
    assert_eq!(t["outcome"], "connected", "{t}");
    let mut wrong = account.clone();
    wrong["code"] = json!("jnt-wrong");
    wrong["credentials"]["private_key"] = json!("not-the-key");
    json_of(app.post("/api/v1/carrier-accounts", &wrong).await, StatusCode::CREATED).await;
    let t = json_of(app.post("/api/v1/carrier-accounts/jnt-wrong/test", &json!({})).await, StatusCode::OK).await;
    assert_eq!(t["outcome"], "credentials_refused", "{t}");

    let s = book_malaysian_cod(&app, "JNT-MY", "jnt", "jnt-my", "JNT-1").await;
    let tracking = s["tracking_number"].as_str().unwrap().to_owned();
    assert!(tracking.starts_with("63"), "a J&T waybill: {tracking}");
    let sid = s["id"].as_str().unwrap();
    let waybill = s["label"]["waybill_pdf_base64"].as_str().unwrap_or_else(|| panic!("J&T's waybill kept: {s}"));
    assert!(waybill.starts_with("JVBERi0"), "J&T's own waybill is a PDF (base64 of %PDF-)");
    let label = app.get(&format!("/api/v1/shipments/{sid}/label?format=pdf")).await;
    assert_eq!(label.status(), StatusCode::OK);

    // J&T pushes the delivery as a form with the digest of its bizContent; forged, nothing moves.
    let biz = json!([{"billCode": tracking, "details": [{"scanTime": "2026-12-08 14:00:00", "desc": "Delivered",
        "scanTypeCode": "100", "scanTypeName": "Delivery Signature", "scanNetworkCity": "Kuala Lumpur"}]}])
    .to_string();
    let body = format!("bizContent={}", urlencode(&biz));
    let post = |digest: String| {
        app.client
            .post(app.url("/api/v1/webhooks/carriers/jnt"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("apiAccount", TEST_API_ACCOUNT)
            .header("digest", digest)
            .body(body.clone())
            .send()
    };
    let forged = post(codflow_sandbox_carrier::jnt::digest(&biz, "not-the-key")).await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let r = json_of(post(codflow_sandbox_carrier::jnt::digest(&biz, TEST_PRIVATE_KEY)).await.unwrap(), StatusCode::OK)
        .await;
    assert_eq!((r["code"].as_str(), r["new"].as_u64()), (Some("1"), Some(1)), "J&T's acknowledgement: {r}");
    let again =
        json_of(post(codflow_sandbox_carrier::jnt::digest(&biz, TEST_PRIVATE_KEY)).await.unwrap(), StatusCode::OK)
            .await;
    assert_eq!(again["duplicates"], 1, "{again}");
    let tr = json_of(app.get(&format!("/api/v1/shipments/{sid}/tracking")).await, StatusCode::OK).await;
    assert_eq!(tr["status"], "delivered", "{tr}");
    assert_eq!(tr["cod_status"], "expected", "cash now owed: {tr}");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn a_lianlian_account_is_tested_and_its_statement_read_with_bad_requests_refused_by_field(engine: Engine) {
    use codflow_sandbox_carrier::lianlian as ll;
    let server = codflow_sandbox_carrier::start(Default::default()).await.unwrap();
    let app = spawn_app(engine).await;
    let account = json!({"code": "ll-main", "carrier": "lianlian", "name": "LianLian Global", "base_url": format!("{server}/lianlian"),
        "credentials": {"token": ll::TEST_TOKEN, "private_key": ll::TEST_SELLER_PRIVATE_KEY,
                        "lianlian_public_key": ll::TEST_LIANLIAN_PUBLIC_KEY}});
    let a = json_of(app.post("/api/v1/carrier-accounts", &account).await, StatusCode::CREATED).await;
    assert_eq!(a["has_credentials"], true);
    assert!(!a.to_string().contains("PRIVATE KEY"), "the key is sealed, never returned: {a}");
    let t = json_of(app.post("/api/v1/carrier-accounts/ll-main/test", &json!({})).await, StatusCode::OK).await;
    assert_eq!(t["outcome"], "connected", "{t}");

    // Signed both ways over HTTP: nothing was received in that period, which is said, and nothing is recorded.
    let app = &app;
    let read = |body: Value| async move { app.post("/api/v1/statements/platform", &body).await };
    let e = json_of(
        read(json!({"account": "ll-main", "from": "2026-01-01", "to": "2026-01-31"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(e.to_string().contains("no completed receivings"), "{e}");
    let e = json_of(
        read(json!({"account": "ll-main", "from": "2026-13-01", "to": "yesterday"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["from", "to"]);
    let e = json_of(
        read(json!({"account": "ll-main", "from": "2026-01-01", "to": "2026-12-31"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["to"], "at most 93 days: {e}");
    let r = read(json!({"account": "nobody", "from": "2026-01-01", "to": "2026-01-31"})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = read(json!({"account": "ll-main", "from": "2026-01-01", "to": "2026-01-31", "extra": 1})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let four = fourpx_account(&server, codflow_sandbox_carrier::fourpx::TEST_APP_SECRET);
    json_of(app.post("/api/v1/carrier-accounts", &four).await, StatusCode::CREATED).await;
    let code = four["code"].as_str().unwrap();
    let e = json_of(
        read(json!({"account": code, "from": "2026-01-01", "to": "2026-01-31"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_paths(&e), ["account"], "not a payment platform: {e}");
    let viewer = app.token(codflow_domain::Role::Viewer).to_owned();
    let r = app
        .post_as(
            &viewer,
            "/api/v1/statements/platform",
            &json!({"account": "ll-main", "from": "2026-01-01", "to": "2026-01-31"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let listed = json_of(app.get("/api/v1/statements").await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "nothing recorded: {listed}");
}

/// A Malaysian COD order (MYR 64 to collect) booked through a new channel of `carrier` on `account`: the booked
/// shipment.
async fn book_malaysian_cod(app: &TestApp, channel: &str, carrier: &str, account: &str, external: &str) -> Value {
    json_of(app.put("/api/v1/settings", &json!({"base_currency": "MYR"})).await, StatusCode::OK).await;
    let duty = json!({"country": "MY", "effective_from": "2025-01-01", "duty_pct": "0", "vat_pct": "10",
        "duty_de_minimis": {"amount": {"amount": "500", "currency": "MYR"}, "basis": "goods"}, "source": "test"});
    json_of(app.put("/api/v1/duty-rules", &duty).await, StatusCode::OK).await;
    let spec = json!({
        "code": channel, "name": channel, "carrier": carrier, "carrier_account": account,
        "service": "standard", "coverage": {"countries": ["MY"]}, "capabilities": {"cod": true, "ddp": true},
        "rate_card": {"currency": "MYR", "zones": [{"name": "my", "countries": ["MY"], "transit_days": 3,
            "bands": [{"from_g": 0, "to_g": 5000, "price": "12.00"}]}]}
    });
    json_of(app.post("/api/v1/channels", &spec).await, StatusCode::CREATED).await;
    app.seed(&[("LAMP-01", 5)]).await;
    let mut o = order(external, "LAMP-01", 1);
    o["currency"] = json!("MYR");
    o["lines"][0]["unit_price"] = json!({"amount": "59.00", "currency": "MYR"});
    o["shipping_fee"] = json!({"amount": "5.00", "currency": "MYR"});
    o["buyer"]["phone"] = json!("+60123456789");
    o["shipping_address"] = json!({"name": "Aisyah", "phone": "+60123456789", "line1": "Jalan Ampang 10", "line2": null,
        "city": "Kuala Lumpur", "region": "WP", "postal_code": "50450", "country": "MY"});
    let o = json_of(app.post("/api/v1/orders", &o).await, StatusCode::CREATED).await;
    let id = o["id"].as_str().unwrap();
    let s = json_of(app.post(&format!("/api/v1/orders/{id}/book"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(s["status"], "booked", "{s}");
    s
}
