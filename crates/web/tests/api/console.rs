use codflow_app::App;
use codflow_domain::{Actor, Role};
use codflow_store::Engine;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode, redirect};

use crate::helpers::{TestApp, spawn_app};

codflow_store::on_both_engines!(
    a_user_logs_in_searches_orders_exports_them_and_logs_out,
    forms_without_their_csrf_token_are_refused_and_an_expired_session_asks_for_a_new_login,
    a_viewer_sees_orders_but_not_finance_and_a_wrong_password_is_not_told_apart,
    ops_approve_and_cancel_held_orders_in_bulk_from_the_review_queue_page,
    the_working_pages_show_their_tables_and_export_them_as_csv_and_xlsx,
    an_orders_page_tells_its_whole_story_and_rules_are_validated_and_back_tested_from_the_console,
    the_finance_page_names_the_exchange_rate_it_is_missing_until_it_is_added,
);

pub(crate) fn browser() -> Client {
    Client::builder().redirect(redirect::Policy::none()).build().unwrap()
}

/// The value a response sets for a cookie.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap_or("").to_owned()))
}

pub(crate) fn hidden_csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_owned()
}

pub(crate) async fn user(app: &TestApp, name: &str, role: Role) {
    let admin = App::new(app.store.clone());
    admin.admin().create_user(name, "long enough secret", role, Actor::Worker("test".into())).await.unwrap();
}

/// Logs in through the form; the session cookie.
pub(crate) async fn log_in(app: &TestApp, c: &Client, name: &str, password: &str) -> (StatusCode, Option<String>) {
    let form = c.get(app.url("/login")).send().await.unwrap();
    let login_csrf = set_cookie(&form, "codflow_login_csrf").expect("login csrf cookie");
    let page = form.text().await.unwrap();
    assert_eq!(hidden_csrf(&page), login_csrf, "double-submitted");
    let r = c
        .post(app.url("/login"))
        .header(COOKIE, format!("codflow_login_csrf={login_csrf}"))
        .form(&[("username", name), ("password", password), ("csrf", &login_csrf)])
        .send()
        .await
        .unwrap();
    (r.status(), set_cookie(&r, "codflow_session"))
}

async fn a_user_logs_in_searches_orders_exports_them_and_logs_out(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-1", 100)]).await;
    for (ext, phone) in [("SHOP-1001", "+966501234567"), ("SHOP-1002", "+966501234999")] {
        let mut body = crate::helpers::order(ext, "LAMP-1", 1);
        body["buyer"]["phone"] = phone.into();
        body["buyer"]["name"] = "Noura <b>".into();
        assert_eq!(app.post("/api/v1/orders", &body).await.status(), StatusCode::CREATED);
    }
    user(&app, "amina", Role::Ops).await;
    let c = browser();
    // Not signed in: sent to the login page.
    let r = c.get(app.url("/orders")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login");
    let (status, session) = log_in(&app, &c, "amina", "long enough secret").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = session.expect("a session cookie");
    let cookie = format!("codflow_session={session}");
    let page = c.get(app.url("/orders")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("SHOP-1001") && page.contains("SHOP-1002"), "{page}");
    assert!(page.contains("id=\"who\">amina</a> · operations"), "{page}");
    assert!(!page.contains("href=\"/finance\""), "ops has no finance link");
    // Search by phone: one order.
    let found = c.get(app.url("/orders?q=%2B966501234999")).header(COOKIE, &cookie).send().await.unwrap();
    let found = found.text().await.unwrap();
    assert!(found.contains("SHOP-1002") && !found.contains("SHOP-1001"), "{found}");
    // The export carries the same filter.
    assert!(found.contains("href=\"/orders.csv?q=%2B966501234999\""), "{found}");
    let csv = c.get(app.url("/orders.csv?q=SHOP-1001")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let csv = csv.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    // Times in the seller's zone (UTC until set), buyer by name, every column a person reads.
    assert!(
        csv.lines().nth(1).unwrap().contains(",SHOP-1001,2026-11-20 10:00,Noura <b>,+966501234567,manual,SA,"),
        "{csv}"
    );
    assert!(found.contains("Noura &lt;b&gt;") && !found.contains("Noura <b>"), "the buyer's name is text");
    // Log out with the page's token: the cookie stops working.
    let r =
        c.post(app.url("/logout")).header(COOKIE, &cookie).form(&[("csrf", hidden_csrf(&page))]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(set_cookie(&r, "codflow_session").as_deref(), Some(""));
    let r = c.get(app.url("/orders")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(r.headers()[LOCATION], "/login?expired=1");
}

async fn the_finance_page_names_the_exchange_rate_it_is_missing_until_it_is_added(engine: Engine) {
    use serde_json::json;
    let app = spawn_app(engine).await;
    app.put("/api/v1/settings", &json!({"base_currency": "SAR"})).await;
    let duty =
        json!({"country": "SA", "effective_from": "2025-01-01", "duty_pct": "5", "vat_pct": "15", "source": "test"});
    assert_eq!(app.put("/api/v1/duty-rules", &duty).await.status(), StatusCode::OK);
    app.seed(&[("LAMP-01", 50)]).await;
    let channel = json!({"code": "SBX-SA", "name": "Sandbox", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true},
        "rate_card": {"currency": "SAR", "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 3,
            "bands": [{"from_g": 0, "to_g": 30000, "price": "20.00"}]}]}});
    assert_eq!(app.post("/api/v1/channels", &channel).await.status(), StatusCode::CREATED);
    let o = crate::helpers::order("FX-1", "LAMP-01", 1);
    let o = crate::helpers::json_of(app.post("/api/v1/orders", &o).await, StatusCode::CREATED).await;
    assert_eq!(o["status"], "allocated", "{o}");
    user(&app, "omar", Role::Finance).await;
    let c = browser();
    let (_, session) = crate::console::log_in(&app, &c, "omar", "long enough secret").await;
    let cookie = format!("codflow_session={}", session.unwrap());
    let page = |c: &Client| {
        let req = c.get(app.url("/finance")).header(COOKIE, &cookie);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    // The lamp costs yuan and the shop counts in riyals: without a rate the order is left out, and the page says
    // which rate to add and from which day.
    let shown = page(&c).await;
    let at = shown.find("id=\"missing-rates\"").unwrap_or_else(|| panic!("{shown}"));
    let notice = &shown[at..at + shown[at..].find("</div>").unwrap()];
    assert!(notice.contains("1 orders are left out"), "{notice}");
    assert!(
        notice.contains("name=\"from\" value=\"CNY\"")
            && notice.contains("name=\"to\" value=\"SAR\"")
            && notice.contains("name=\"as_of\" value=\"2026-11-20\""),
        "the form to add the rate is filled in but for the rate itself: {notice}"
    );
    // A rate that does not read is refused naming it; the rate entered on the page counts the order.
    let csrf = hidden_csrf(&shown);
    let post = |rate: &'static str| {
        let form = [("csrf", csrf.as_str()), ("from", "CNY"), ("to", "SAR"), ("rate", rate), ("as_of", "2026-11-20")];
        c.post(app.url("/finance/fx-rate")).header(COOKIE, &cookie).form(&form).send()
    };
    let r = post("about half").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("rate: must be a decimal number"));
    let r = post("0.52").await.unwrap();
    assert_eq!(r.headers()[LOCATION], "/finance?saved=1");
    let rates: serde_json::Value = app.get("/api/v1/fx-rates").await.json().await.unwrap();
    assert!(rates.to_string().contains("entered by omar"), "the rate says who entered it: {rates}");
    let shown = page(&c).await;
    assert!(!shown.contains("missing-rates") && shown.contains("1 orders; amounts in SAR"), "{shown}");
}

async fn forms_without_their_csrf_token_are_refused_and_an_expired_session_asks_for_a_new_login(engine: Engine) {
    let app = spawn_app(engine).await;
    user(&app, "omar", Role::Finance).await;
    let c = browser();
    // A login posted without the form's token (a cross-site form) is refused.
    let r = c
        .post(app.url("/login"))
        .form(&[("username", "omar"), ("password", "long enough secret"), ("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&r, "codflow_session").is_none());
    let (_, session) = log_in(&app, &c, "omar", "long enough secret").await;
    let cookie = format!("codflow_session={}", session.unwrap());
    // Logging out with a wrong token does nothing.
    let r = c.post(app.url("/logout")).header(COOKIE, &cookie).form(&[("csrf", "forged")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(c.get(app.url("/finance")).header(COOKIE, &cookie).send().await.unwrap().status(), StatusCode::OK);
    // Past its expiry the session is gone.
    let mut tx = app.store.begin().await.unwrap();
    sqlx::query("UPDATE sessions SET expires_at = 0").execute(&mut *tx).await.unwrap();
    codflow_store::commit(tx).await.unwrap();
    let r = c.get(app.url("/finance")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/login?expired=1");
    let page = c.get(app.url("/login?expired=1")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Your session has ended"), "{page}");
}

async fn a_viewer_sees_orders_but_not_finance_and_a_wrong_password_is_not_told_apart(engine: Engine) {
    let app = spawn_app(engine).await;
    user(&app, "view.only", Role::Viewer).await;
    let c = browser();
    let (wrong_password, s1) = log_in(&app, &c, "view.only", "not the password").await;
    let (no_such_user, s2) = log_in(&app, &c, "nobody", "long enough secret").await;
    assert_eq!((wrong_password, no_such_user), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert!(s1.is_none() && s2.is_none());
    let (_, session) = log_in(&app, &c, "view.only", "long enough secret").await;
    let cookie = format!("codflow_session={}", session.unwrap());
    assert_eq!(c.get(app.url("/orders")).header(COOKIE, &cookie).send().await.unwrap().status(), StatusCode::OK);
    let r = c.get(app.url("/finance")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("not open to your role"));
    // Short passwords and bad usernames are refused when the user is made.
    let admin = App::new(app.store.clone());
    assert!(admin.admin().create_user("someone", "short", Role::Ops, Actor::Worker("t".into())).await.is_err());
    assert!(
        admin
            .admin()
            .create_user("Bad Name", "long enough secret", Role::Ops, Actor::Worker("t".into()))
            .await
            .is_err()
    );
    let again =
        admin.admin().create_user("view.only", "long enough secret", Role::Ops, Actor::Worker("t".into())).await;
    assert!(
        matches!(again, Err(codflow_app::Error::Conflict { kind: codflow_app::ConflictKind::UsernameTaken, .. })),
        "{again:?}"
    );
}

async fn ops_approve_and_cancel_held_orders_in_bulk_from_the_review_queue_page(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-1", 10)]).await;
    app.rule("true", "hold", "everything is checked").await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let o = app.post("/api/v1/orders", &crate::helpers::order(&format!("R-{n}"), "LAMP-1", 1)).await;
        let o: serde_json::Value = o.json().await.unwrap();
        assert_eq!(o["status"], "on_hold");
        ids.push(o["id"].as_str().unwrap().to_owned());
    }
    user(&app, "ops.one", Role::Ops).await;
    user(&app, "fin.one", Role::Finance).await;
    let c = browser();
    let (_, finance) = log_in(&app, &c, "fin.one", "long enough secret").await;
    let r =
        c.get(app.url("/review")).header(COOKIE, format!("codflow_session={}", finance.unwrap())).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "finance does not decide held orders");
    let (_, session) = log_in(&app, &c, "ops.one", "long enough secret").await;
    let cookie = format!("codflow_session={}", session.unwrap());
    let page = c.get(app.url("/review")).header(COOKIE, &cookie).send().await.unwrap().text().await.unwrap();
    assert!(ids.iter().all(|id| page.contains(id.as_str())) && page.contains("everything is checked"), "{page}");
    let csrf = hidden_csrf(&page);
    let post =
        |form: Vec<(&'static str, String)>| c.post(app.url("/review")).header(COOKIE, &cookie).form(&form).send();
    // A forged form changes nothing.
    let r = post(vec![
        ("csrf", "forged".into()),
        ("ids", ids[0].clone()),
        ("action", "approve".into()),
        ("reason", "ok".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("ids", ids[0].clone()),
        ("ids", ids[1].clone()),
        ("action", "approve".into()),
        ("reason", "called the buyer".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/review?done=2&failed=0");
    let r = post(vec![
        ("csrf", csrf),
        ("ids", ids[2].clone()),
        ("action", "cancel".into()),
        ("reason", "fake address".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.headers()[LOCATION], "/review?done=1&failed=0");
    let status = |id: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/orders/{id}")).await.json::<serde_json::Value>().await.unwrap()["status"].clone()
        }
    };
    assert_eq!(status(ids[0].clone()).await, "allocated");
    assert_eq!(status(ids[2].clone()).await, "cancelled");
    // Audited as the person who decided.
    let history: serde_json::Value = app.get(&format!("/api/v1/orders/{}/history", ids[2])).await.json().await.unwrap();
    assert!(history.to_string().contains("user:usr_"), "{history}");
    let page = c.get(app.url("/review")).header(COOKIE, &cookie).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("No order is waiting for review"), "{page}");
}

pub(crate) async fn page(c: &Client, app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    let r = c.get(app.url(path)).header(COOKIE, cookie).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn the_working_pages_show_their_tables_and_export_them_as_csv_and_xlsx(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-1", 40), ("MUG-2", 3)]).await;
    user(&app, "ada", Role::Admin).await;
    user(&app, "wendy", Role::Warehouse).await;
    let c = browser();
    let (_, session) = log_in(&app, &c, "ada", "long enough secret").await;
    let cookie = format!("codflow_session={}", session.unwrap());
    for (path, needle) in [
        ("/stock", "MUG-2"),
        ("/shipments", "Shipments"),
        ("/tasks", "Tasks"),
        ("/settlements", "Settlements"),
        ("/rules", "New rule"),
        ("/channels", "Quote tester"),
    ] {
        let (status, body) = page(&c, &app, &cookie, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(body.contains(needle), "{path}: {needle} missing");
    }
    // Low stock only, as CSV and as XLSX with the same rows.
    let (_, low) = page(&c, &app, &cookie, "/stock?low=5").await;
    assert!(low.contains("MUG-2") && !low.contains("LAMP-1"), "{low}");
    let (status, csv) = page(&c, &app, &cookie, "/stock?low=5&format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        ["warehouse,sku,title,on_hand,reserved,available,bin", "SZ1,MUG-2,Lamp,3,0,3,"]
    );
    let xlsx = c.get(app.url("/stock?low=5&format=xlsx")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(xlsx.headers()["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let rows = codflow_sheets::xlsx_rows(&xlsx.bytes().await.unwrap(), '.').unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].1[..3], ["SZ1".to_string(), "MUG-2".into(), "Lamp".into()]);
    // The orders export as XLSX too, with the page's filter.
    assert_eq!(
        app.post("/api/v1/orders", &crate::helpers::order("X-1", "LAMP-1", 1)).await.status(),
        StatusCode::CREATED
    );
    let xlsx = c.get(app.url("/orders.xlsx?q=X-1")).header(COOKIE, &cookie).send().await.unwrap();
    let rows = codflow_sheets::xlsx_rows(&xlsx.bytes().await.unwrap(), '.').unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].1[1], "X-1");
    // The quote tester explains itself when there is nothing to quote with.
    let (status, quote) =
        page(&c, &app, &cookie, "/channels?country=SA&weight_g=500&goods=100.00&currency=SAR&quote=1").await;
    assert_eq!(status, StatusCode::OK, "{quote}");
    // Finance pages are not the warehouse's; printing labels needs the form's token.
    let (_, session) = log_in(&app, &c, "wendy", "long enough secret").await;
    let wendy = format!("codflow_session={}", session.unwrap());
    assert_eq!(page(&c, &app, &wendy, "/settlements").await.0, StatusCode::FORBIDDEN);
    let r = c
        .post(app.url("/shipments/labels"))
        .header(COOKIE, &wendy)
        .form(&[("csrf", "forged"), ("ids", "shp_x"), ("format", "pdf")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn an_orders_page_tells_its_whole_story_and_rules_are_validated_and_back_tested_from_the_console(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-1", 40)]).await;
    app.rule("true", "hold", "everything is checked").await;
    let o = app.post("/api/v1/orders", &crate::helpers::order("T-1", "LAMP-1", 2)).await;
    let o: serde_json::Value = o.json().await.unwrap();
    let id = o["id"].as_str().unwrap().to_owned();
    let r = app
        .post(&format!("/api/v1/orders/{id}/approve"), &serde_json::json!({"reason": "buyer confirmed by phone"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    user(&app, "olga", Role::Ops).await;
    let c = browser();
    let (_, session) = log_in(&app, &c, "olga", "long enough secret").await;
    let cookie = format!("codflow_session={}", session.unwrap());
    let (status, detail) = page(&c, &app, &cookie, &format!("/orders/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    for needle in ["T-1", "everything is checked", "buyer confirmed by phone", "id=\"timeline\"", "LAMP-1"] {
        assert!(detail.contains(needle), "{needle} missing from {detail}");
    }
    let timeline = &detail[detail.find("id=\"timeline\"").unwrap()..];
    assert!(timeline.find("hold").unwrap() < timeline.find("buyer confirmed").unwrap(), "in time order");
    assert_eq!(page(&c, &app, &cookie, "/orders/ord_nothere").await.0, StatusCode::NOT_FOUND);
    // A rule with a mistake is refused with where it is; a good one is back-tested, then saved.
    let (_, rules) = page(&c, &app, &cookie, "/rules").await;
    let csrf = hidden_csrf(&rules);
    let post = |op: &'static str, condition: &'static str| {
        c.post(app.url("/rules"))
            .header(COOKIE, &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("op", op),
                ("name", "big orders"),
                ("priority", "10"),
                ("action", "flag"),
                ("condition", condition),
                ("reason", "large order"),
            ])
            .send()
    };
    let bad = post("validate", "order.total_base >").await.unwrap().text().await.unwrap();
    assert!(bad.contains("rule-errors") && bad.contains("condition"), "{bad}");
    let good = post("validate", "order.item_count > 5").await.unwrap().text().await.unwrap();
    assert!(good.contains("rule-ok"), "{good}");
    assert!(good.contains("value=\"big orders\"") && good.contains(">order.item_count &gt; 5</textarea>"), "kept");
    let tested = post("backtest", "order.item_count > 5").await.unwrap().text().await.unwrap();
    assert!(
        tested.contains("id=\"backtest\"") && tested.contains("Current rules") && tested.contains("With the change")
    );
    assert!(tested.contains("value=\"big orders\""), "the form keeps its content after a back-test");
    let saved = post("save", "order.item_count > 5").await.unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert!(saved.headers()[LOCATION].to_str().unwrap().starts_with("/rules?saved=rul_"));
    let rules: serde_json::Value = app.get("/api/v1/rules").await.json().await.unwrap();
    let rule = rules["items"].as_array().unwrap().iter().find(|r| r["name"] == "big orders").unwrap().clone();
    let id = rule["id"].as_str().unwrap().to_owned();
    // The builder writes the condition in CEL with amounts in minor units; the rule is edited and switched off.
    let built = c
        .post(app.url("/rules"))
        .header(COOKIE, &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("op", "build"),
            ("name", "gulf big"),
            ("b_countries", "sa ae"),
            ("b_amount", "150"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        built.contains("dest.country in [&quot;SA&quot;, &quot;AE&quot;] &amp;&amp; order.total_base_minor &gt; 15000"),
        "{built}"
    );
    assert!(built.contains("value=\"gulf big\""), "the rest of the form is kept");
    let (_, edit) = page(&c, &app, &cookie, &format!("/rules?edit={id}")).await;
    assert!(edit.contains(&format!("name=\"id\" value=\"{id}\"")) && edit.contains("Edit the rule"), "{edit}");
    let r = c
        .post(app.url("/rules/change"))
        .header(COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str()), ("id", id.as_str()), ("op", "disable")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let rule: serde_json::Value = app.get(&format!("/api/v1/rules/{id}")).await.json().await.unwrap();
    assert_eq!(rule["enabled"], false, "{rule}");
}
