//! A working day in the console, over HTTP on both engines: the review queue paged and filtered in Chinese,
//! phone confirmations deciding orders, bulk actions on every matching order, the task queue worked, the
//! order page's actions, and hostile names shown as text.

use codflow_domain::anomaly::AnomalyKind;
use codflow_domain::{Role, TaskId};
use codflow_store::Engine;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::console::{browser, hidden_csrf, log_in, page, user};
use crate::helpers::{TestApp, spawn_app};

codflow_store::on_both_engines!(
    ops_work_the_whole_review_queue_in_chinese_with_paging_filters_phone_calls_and_approve_all_matching,
    tasks_are_sorted_by_due_counted_by_kind_and_claimed_snoozed_commented_and_closed,
    an_order_page_offers_only_the_actions_its_state_allows_and_records_notes_by_name,
    a_buyer_name_with_a_script_is_text_on_every_page_it_appears_on,
    unknown_pages_and_bad_filters_are_html_pages_that_say_what_is_wrong,
    shipments_are_filtered_and_counted_with_nothing_ticked_and_labels_print_for_every_match,
    stock_is_searched_low_rows_highlighted_and_a_count_adjusted_with_its_reason,
    finance_previews_a_statement_records_it_without_sending_it_again_and_reads_it_by_class,
    the_admin_adds_users_switches_one_off_and_creates_and_revokes_an_api_token_from_settings,
    a_rate_card_is_edited_by_form_and_as_csv_rows_and_the_quote_tester_shows_each_charge,
    the_admin_connects_a_shop_whose_secrets_are_never_shown_back_and_kept_when_left_empty,
    ops_previews_a_buyer_message_before_saving_it_and_tunes_the_tracking_thresholds_of_a_lane,
);

async fn session(app: &TestApp, name: &str, role: Role) -> (reqwest::Client, String) {
    user(app, name, role).await;
    let c = browser();
    let (_, s) = log_in(app, &c, name, "long enough secret").await;
    (c, format!("codflow_session={}", s.expect("a session")))
}

async fn post_form(
    c: &reqwest::Client,
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    c.post(app.url(path)).header(COOKIE, cookie).form(form).send().await.unwrap()
}

async fn held_orders(app: &TestApp, n: usize, country: &str, buyer: &str, first: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in first..first + n {
        let mut body = crate::helpers::order(&format!("H-{i:03}"), "LAMP-1", 1);
        body["shipping_address"]["country"] = country.into();
        body["buyer"]["name"] = buyer.into();
        let o: Value = app.post("/api/v1/orders", &body).await.json().await.unwrap();
        assert_eq!(o["status"], "on_hold", "{o}");
        ids.push(o["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let o: Value = app.get(&format!("/api/v1/orders/{id}")).await.json().await.unwrap();
    o["status"].as_str().unwrap_or_default().to_owned()
}

async fn ops_work_the_whole_review_queue_in_chinese_with_paging_filters_phone_calls_and_approve_all_matching(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-1", 500)]).await;
    app.rule("true", "hold", "address to check").await;
    let sa = held_orders(&app, 55, "SA", "Noura", 0).await;
    let ae = held_orders(&app, 5, "AE", "Omar", 55).await;
    let (c, cookie) = session(&app, "li.ops", Role::Ops).await;
    let (_, orders) = page(&c, &app, &cookie, "/orders").await;
    let r = post_form(
        &c,
        &app,
        &cookie,
        "/preferences/language",
        &[("csrf", &hidden_csrf(&orders)), ("locale", "zh"), ("back", "/review")],
    )
    .await;
    assert_eq!(r.headers()[LOCATION], "/review", "back where the switch was used");

    // Paged with counts, in Chinese.
    let (status, first) = page(&c, &app, &cookie, "/review").await;
    assert_eq!(status, StatusCode::OK);
    assert!(first.contains("<html lang=\"zh-Hans\">") && first.contains("审单队列"), "{first}");
    assert!(first.contains("第 1–50 条，共 60 条"), "{first}");
    assert_eq!(first.matches("name=\"ids\"").count(), 50);
    assert!(first.contains(&sa[0]), "oldest first");
    let next = first.split("id=\"next-page\"").next().and_then(|h| h.rsplit("href=\"").next()).unwrap();
    let next = next.trim_end_matches("\" ").trim_end_matches('"').replace("&amp;", "&");
    let (_, second) = page(&c, &app, &cookie, &format!("/review{next}")).await;
    assert!(second.contains("第 51–60 条，共 60 条"), "{second}");
    assert!(ae.iter().all(|id| second.contains(id.as_str())), "the newest are on the second page");

    // Filters: by country, by reason, by amount (major units in the order's currency), by age.
    let (_, only_ae) = page(&c, &app, &cookie, "/review?country=AE").await;
    assert!(only_ae.contains("第 1–5 条，共 5 条") && !only_ae.contains(&sa[0]), "{only_ae}");
    let (_, by_reason) = page(&c, &app, &cookie, "/review?why=ADDRESS+TO").await;
    assert!(by_reason.contains("共 60 条"), "the reason matches whatever its case");
    let (_, none) = page(&c, &app, &cookie, "/review?why=blacklist").await;
    assert!(none.contains("没有符合条件的记录"), "{none}");
    let (_, cheap) = page(&c, &app, &cookie, "/review?currency=SAR&max_total=10").await;
    assert!(cheap.contains("没有符合条件的记录"), "no order costs 10 SAR or less");
    let (_, old) = page(&c, &app, &cookie, "/review?older_than_days=3650").await;
    assert!(old.contains("没有符合条件的记录"), "none is ten years old");
    let (status, bad) = page(&c, &app, &cookie, "/review?currency=SAR&min_total=ten").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("min_total") && bad.contains("<html"), "{bad}");

    // Phone confirmation: three unanswered calls cancel, a confirmation approves, a refusal cancels.
    let csrf = hidden_csrf(&first);
    let call = |id: String, outcome: &'static str| {
        let (c, app, cookie, csrf) = (&c, &app, &cookie, &csrf);
        async move {
            let path = format!("/orders/{id}/act");
            post_form(c, app, cookie, &path, &[("csrf", csrf), ("action", "call"), ("outcome", outcome), ("note", "")])
                .await
        }
    };
    let (_, due) = page(&c, &app, &cookie, "/review?country=AE&calls=due").await;
    assert!(due.contains("共 5 条"), "never called, so every one is due: {due}");
    for _ in 0..2 {
        assert_eq!(call(ae[0].clone(), "no_answer").await.status(), StatusCode::SEE_OTHER);
        assert_eq!(status_of(&app, &ae[0]).await, "on_hold", "still waiting after fewer than three calls");
    }
    let (_, due) = page(&c, &app, &cookie, "/review?country=AE&calls=due").await;
    assert!(due.contains("共 4 条") && !due.contains(&ae[0]), "called a moment ago, not due again yet: {due}");
    let (_, all_ae) = page(&c, &app, &cookie, "/review?country=AE").await;
    assert!(all_ae.contains("2 · 无人接听"), "the calls so far and the last outcome: {all_ae}");
    let (status, _) = page(&c, &app, &cookie, "/review?calls=sometimes").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    call(ae[0].clone(), "no_answer").await;
    assert_eq!(status_of(&app, &ae[0]).await, "cancelled");
    call(ae[1].clone(), "confirmed").await;
    assert_eq!(status_of(&app, &ae[1]).await, "allocated");
    call(ae[2].clone(), "refused").await;
    assert_eq!(status_of(&app, &ae[2]).await, "cancelled");
    let history: Value = app.get(&format!("/api/v1/orders/{}/history", ae[2])).await.json().await.unwrap();
    assert!(history.to_string().contains("refused by the buyer on the phone"), "{history}");
    let (_, order_page) = page(&c, &app, &cookie, &format!("/orders/{}", ae[0])).await;
    assert_eq!(order_page.matches("无人接听").count(), 3, "each call is on the timeline");
    let r = call(ae[2].clone(), "confirmed").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a decided order takes no more calls");

    // Approve every Saudi order at once, also those on the second page.
    let r = post_form(
        &c,
        &app,
        &cookie,
        "/orders/bulk",
        &[
            ("csrf", &csrf),
            ("action", "approve"),
            ("all_matching", "1"),
            ("filter", "status=on_hold&country=SA"),
            ("back", "/review?country=SA"),
        ],
    )
    .await;
    assert_eq!(r.headers()[LOCATION], "/review?country=SA&done=55&failed=0");
    assert_eq!(status_of(&app, &sa[54]).await, "allocated");
    let (_, rest) = page(&c, &app, &cookie, "/review?done=55&failed=0").await;
    assert!(rest.contains("完成 55 条") && rest.contains("共 2 条"), "the two AE orders left: {rest}");
    // A cancel needs a reason; without one nothing changes.
    let r =
        post_form(&c, &app, &cookie, "/orders/bulk", &[("csrf", &csrf), ("action", "cancel"), ("ids", &ae[3])]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status_of(&app, &ae[3]).await, "on_hold");
}

pub(crate) async fn open_tasks(app: &TestApp, n: usize) -> Vec<TaskId> {
    let now = OffsetDateTime::now_utc();
    let kinds = [AnomalyKind::Stuck, AnomalyKind::CustomsHeld, AnomalyKind::Late];
    let tasks: Vec<codflow_domain::work::Task> = (0..n)
        .map(|i| codflow_domain::work::Task {
            id: TaskId::generate(),
            kind: kinds[i % kinds.len()],
            shipment_id: None,
            order_id: None,
            role: Role::Ops,
            status: codflow_domain::work::TaskStatus::Open,
            title: format!("Parcel {i} needs a look"),
            // The last opened is the most urgent.
            due_at: now + Duration::hours(100 - i as i64),
            assignee: None,
            opened_by: "worker:test".into(),
            resolution: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
        })
        .collect();
    let mut tx = app.store.begin().await.unwrap();
    codflow_store::tasks::open_many(&mut tx, &tasks).await.unwrap();
    codflow_store::commit(tx).await.unwrap();
    tasks.into_iter().map(|t| t.id).collect()
}

async fn tasks_are_sorted_by_due_counted_by_kind_and_claimed_snoozed_commented_and_closed(engine: Engine) {
    let app = spawn_app(engine).await;
    let ids = open_tasks(&app, 60).await;
    let (c, cookie) = session(&app, "mona", Role::Ops).await;
    let (_, list) = page(&c, &app, &cookie, "/tasks").await;
    assert!(list.contains("1–50 of 60"), "{list}");
    let first_row = list.split("<tbody>").nth(1).unwrap();
    assert!(first_row.find("Parcel 59").unwrap() < first_row.find("Parcel 58").unwrap(), "soonest due first");
    assert!(list.contains("stuck 20") && list.contains("held in customs 20") && list.contains("late 20"), "{list}");
    let (_, late) = page(&c, &app, &cookie, "/tasks?kind=late").await;
    assert!(late.contains("1–20 of 20"), "{late}");
    let csrf = hidden_csrf(&list);

    // Claim two at once; they show as mine.
    let r = post_form(
        &c,
        &app,
        &cookie,
        "/tasks/bulk",
        &[
            ("csrf", &csrf),
            ("action", "claim"),
            ("ids", ids[59].as_str()),
            ("ids", ids[58].as_str()),
            ("back", "/tasks"),
        ],
    )
    .await;
    assert_eq!(r.headers()[LOCATION], "/tasks?done=2&failed=0");
    let (_, mine) = page(&c, &app, &cookie, "/tasks?assignee=me").await;
    assert!(mine.contains("1–2 of 2") && mine.contains("in progress"), "{mine}");

    // On the task's page: snooze a day, comment, close with a resolution.
    let path = format!("/tasks/{}/act", ids[59]);
    let before: Value = app.get(&format!("/api/v1/tasks/{}", ids[59])).await.json().await.unwrap();
    post_form(&c, &app, &cookie, &path, &[("csrf", &csrf), ("action", "snooze"), ("hours", "24")]).await;
    let after: Value = app.get(&format!("/api/v1/tasks/{}", ids[59])).await.json().await.unwrap();
    assert_ne!(before["due_at"], after["due_at"], "snoozed");
    let r = post_form(&c, &app, &cookie, &path, &[("csrf", &csrf), ("action", "snooze"), ("hours", "0")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    post_form(&c, &app, &cookie, &path, &[("csrf", &csrf), ("action", "comment"), ("note", "carrier says Monday")])
        .await;
    let r = post_form(&c, &app, &cookie, &path, &[("csrf", &csrf), ("action", "close"), ("resolution", "")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a close says how");
    post_form(&c, &app, &cookie, &path, &[("csrf", &csrf), ("action", "close"), ("resolution", "delivered")]).await;
    let (_, one) = page(&c, &app, &cookie, &format!("/tasks/{}", ids[59])).await;
    assert!(one.contains("carrier says Monday") && one.contains("delivered") && one.contains("snoozed"), "{one}");
    assert!(one.contains("mona"), "people by name");
    let (_, open) = page(&c, &app, &cookie, "/tasks").await;
    assert!(open.contains("of 59"), "the closed task left the active list: {open}");
    // The same snooze over the API.
    let until =
        (OffsetDateTime::now_utc() + Duration::days(2)).format(&time::format_description::well_known::Rfc3339).unwrap();
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/tasks/{}", ids[0])))
        .bearer_auth(&app.admin)
        .json(&serde_json::json!({ "snooze_until": until }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/tasks/{}", ids[0])))
        .bearer_auth(&app.admin)
        .json(&serde_json::json!({ "snooze_until": "tomorrow" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("snooze_until"));
}

async fn an_order_page_offers_only_the_actions_its_state_allows_and_records_notes_by_name(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-1", 10)]).await;
    app.rule("true", "hold", "check").await;
    let ids = held_orders(&app, 1, "SA", "Noura", 0).await;
    let (c, cookie) = session(&app, "ali", Role::Ops).await;
    let (_, held) = page(&c, &app, &cookie, &format!("/orders/{}", ids[0])).await;
    assert!(held.contains("id=\"approve\"") && held.contains("id=\"cancel\"") && held.contains("id=\"call\""));
    assert!(!held.contains("id=\"hold\""), "a held order is not held again");
    let csrf = hidden_csrf(&held);
    let path = format!("/orders/{}/act", ids[0]);
    post_form(&c, &app, &cookie, &path, &[("csrf", &csrf), ("action", "note"), ("note", "buyer prefers evenings")])
        .await;
    post_form(&c, &app, &cookie, &path, &[("csrf", &csrf), ("action", "approve")]).await;
    let (_, allocated) = page(&c, &app, &cookie, &format!("/orders/{}", ids[0])).await;
    assert!(allocated.contains("order-status-allocated"), "{allocated}");
    assert!(
        allocated.contains("id=\"hold\"") && allocated.contains("id=\"book\"") && !allocated.contains("id=\"approve\"")
    );
    assert!(allocated.contains("buyer prefers evenings") && allocated.contains("<td>ali</td>"), "{allocated}");
    assert!(allocated.contains("<td>rule check</td>"), "the rule that held it, by name: {allocated}");
    let r = post_form(&c, &app, &cookie, &path, &[("csrf", "forged"), ("action", "cancel"), ("reason", "x")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, &ids[0]).await, "allocated");
    let (c2, viewer) = session(&app, "vic", Role::Viewer).await;
    let (_, seen) = page(&c2, &app, &viewer, &format!("/orders/{}", ids[0])).await;
    assert!(!seen.contains("id=\"hold\"") && !seen.contains("id=\"note\""), "a viewer only reads");
    let r =
        post_form(&c2, &app, &viewer, &path, &[("csrf", &hidden_csrf(&seen)), ("action", "note"), ("note", "x")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn a_buyer_name_with_a_script_is_text_on_every_page_it_appears_on(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-1", 10)]).await;
    app.rule("true", "hold", "check").await;
    let evil = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>";
    let ids = held_orders(&app, 1, "SA", evil, 0).await;
    let (c, cookie) = session(&app, "sec", Role::Ops).await;
    for path in ["/orders".to_owned(), "/review".to_owned(), format!("/orders/{}", ids[0])] {
        let (status, html) = page(&c, &app, &cookie, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&gt;&lt;img"), "{path}: {html}");
        assert!(!html.contains("<script>alert") && !html.contains("<img src=x"), "{path}");
    }
}

async fn unknown_pages_and_bad_filters_are_html_pages_that_say_what_is_wrong(engine: Engine) {
    let app = spawn_app(engine).await;
    let (c, cookie) = session(&app, "zed", Role::Ops).await;
    let r = c
        .get(app.url("/no-such-page"))
        .header("accept", "text/html")
        .header("accept-language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("此地址没有内容"));
    let r = app.client.get(app.url("/api/v1/no-such")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/problem+json", "the API keeps problem+json");
    // A control character the edge refuses before any page: a page too, naming where it was.
    let r = c
        .get(app.url("/orders?search=a%01b"))
        .header(COOKIE, &cookie)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("control character (in query.search)"));
    let r = app.client.get(app.url("/api/v1/orders?search=a%01b")).header("accept", "text/html").send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    for (path, field) in [
        ("/orders?status=lost", "status"),
        ("/orders?placed_from=yesterday", "placed_from"),
        ("/orders?sort=price", "sort"),
        ("/tasks?kind=nonsense", "kind"),
        ("/orders/ord_nope", ""),
    ] {
        let (status, html) = page(&c, &app, &cookie, path).await;
        assert!(status.is_client_error(), "{path}: {status}");
        assert!(html.starts_with("<!doctype html>") && html.contains(field), "{path}: {html}");
    }
    // Preferences: a bad zone is refused naming it; a good one changes the times shown.
    let (_, prefs) = page(&c, &app, &cookie, "/preferences").await;
    let csrf = hidden_csrf(&prefs);
    let r = post_form(&c, &app, &cookie, "/preferences", &[("csrf", &csrf), ("time_zone", "Mars/Base")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("time_zone"));
    let r = post_form(
        &c,
        &app,
        &cookie,
        "/preferences",
        &[("csrf", &csrf), ("time_zone", "Asia/Shanghai"), ("display_name", "Zed Zhang")],
    )
    .await;
    assert_eq!(r.headers()[LOCATION], "/preferences?saved=1");
    let (_, after) = page(&c, &app, &cookie, "/orders").await;
    assert!(after.contains("Asia/Shanghai") && after.contains(">Zed Zhang</a>"), "{after}");
}

async fn shipments_are_filtered_and_counted_with_nothing_ticked_and_labels_print_for_every_match(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-1", 100)]).await;
    for i in 0..53 {
        let mut body = crate::helpers::order(&format!("S-{i:02}"), "LAMP-1", 1);
        if i % 2 == 1 {
            body["shipping_address"]["country"] = "AE".into();
        }
        assert_eq!(app.post("/api/v1/orders", &body).await.status(), StatusCode::CREATED);
    }
    let mut tx = app.store.begin().await.unwrap();
    let booked =
        codflow_store::testing::book_allocated(&mut tx, "sandbox", "SBX-SA-STD", "SBX", OffsetDateTime::now_utc())
            .await
            .unwrap();
    codflow_store::commit(tx).await.unwrap();
    assert_eq!(booked, 53);
    let (c, cookie) = session(&app, "wei", Role::Warehouse).await;
    let (_, all) = page(&c, &app, &cookie, "/shipments").await;
    assert!(all.contains("1–50 of 53") && all.contains("SBXS-52"), "{all}");
    assert!(!all.contains(" checked"), "nothing is ticked until someone ticks it");
    assert!(all.contains("label created") && all.contains("SAR 69.00") && all.contains("not yet collected"));
    let (_, ae) = page(&c, &app, &cookie, "/shipments?country=ae").await;
    assert!(ae.contains("1–26 of 26"), "{ae}");
    let today = OffsetDateTime::now_utc().date();
    let (_, none) = page(&c, &app, &cookie, &format!("/shipments?booked_to={}", today - Duration::days(2))).await;
    assert!(none.contains("Nothing matches"), "{none}");
    let (status, bad) = page(&c, &app, &cookie, "/shipments?status=teleported").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let csrf = hidden_csrf(&all);
    let r = post_form(
        &c,
        &app,
        &cookie,
        "/shipments/labels",
        &[("csrf", &csrf), ("format", "zpl"), ("all_matching", "1"), ("filter", "country=AE")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let zpl = r.text().await.unwrap();
    assert_eq!(zpl.matches("^XA").count(), 26, "one label per matching parcel");
    let r = post_form(&c, &app, &cookie, "/shipments/labels", &[("csrf", &csrf), ("format", "pdf")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "nothing ticked, nothing printed");
    let (status, csv) = page(&c, &app, &cookie, "/shipments?country=AE&format=csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csv.lines().count(), 27, "every matching row, not one page");
}

async fn stock_is_searched_low_rows_highlighted_and_a_count_adjusted_with_its_reason(engine: Engine) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-1", 40), ("MUG-2", 3), ("CUP_3", 9)]).await;
    let (c, cookie) = session(&app, "wu.wh", Role::Warehouse).await;
    let (_, all) = page(&c, &app, &cookie, "/stock").await;
    assert_eq!(all.matches("<tr class=\"low\">").count(), 1, "only MUG-2 is at five or fewer: {all}");
    let (_, found) = page(&c, &app, &cookie, "/stock?q=mug").await;
    assert!(found.contains("MUG-2") && !found.contains("LAMP-1"), "{found}");
    let (_, literal) = page(&c, &app, &cookie, "/stock?q=P_3").await;
    assert!(literal.contains("CUP_3") && !literal.contains("LAMP-1"), "an underscore is a character, not a wildcard");
    let csrf = hidden_csrf(&all);
    let adjust = |n: &'static str, reason: &'static str| {
        let (c, app, cookie, csrf) = (&c, &app, &cookie, &csrf);
        async move {
            post_form(
                c,
                app,
                cookie,
                "/stock/adjust",
                &[
                    ("csrf", csrf),
                    ("warehouse", "SZ1"),
                    ("sku", "MUG-2"),
                    ("on_hand", n),
                    ("reason", reason),
                    ("back", "/stock?q=mug"),
                ],
            )
            .await
        }
    };
    assert_eq!(adjust("12", "").await.status(), StatusCode::UNPROCESSABLE_ENTITY, "a count needs its reason");
    assert_eq!(adjust("lots", "recount").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = adjust("12", "found a box behind the shelf").await;
    assert_eq!(r.headers()[LOCATION], "/stock?q=mug&saved=1");
    let history: Value = app.get("/api/v1/stock/SZ1/MUG-2/history").await.json().await.unwrap();
    assert!(history.to_string().contains("found a box behind the shelf"), "{history}");
    let (_, after) = page(&c, &app, &cookie, "/stock?q=mug&saved=1").await;
    assert!(after.contains("Saved.") && !after.contains("<tr class=\"low\">"), "{after}");
}

async fn finance_previews_a_statement_records_it_without_sending_it_again_and_reads_it_by_class(engine: Engine) {
    let app = spawn_app(engine).await;
    let profile = serde_json::json!({
        "kind": "cod_remittance",
        "columns": {"tracking_number": "AWB", "amount": "Collected", "fee": "Fee", "net": "Paid", "date": "Date"},
        "date_formats": ["DD/MM/YYYY"], "number": {"decimal": ",", "thousands": "."}, "currency": "SAR",
        "deductions_negative": true, "delimiter": ";", "skip_rows": 1, "weight_in_kg": false
    });
    let r = app.client.put(app.url("/api/v1/settlement-profiles/my-courier")).bearer_auth(&app.admin).json(&profile);
    assert_eq!(r.send().await.unwrap().status(), StatusCode::CREATED);
    let (c, cookie) = session(&app, "fatima", Role::Finance).await;
    let (_, list) = page(&c, &app, &cookie, "/settlements").await;
    assert!(list.contains("No statement recorded yet") && list.contains("my-courier"), "{list}");
    let csrf = hidden_csrf(&list);
    let csv = "My Courier week 48\nAWB;Date;Collected;Fee;Paid\nMC1;01/12/2026;1.250,00;-25,00;1.225,00\n\
               MC2;02/12/2026;99,50;-2,00;97,50\nMC3;31/02/2026;10,00;0;10,00\n";
    let form = |csrf: &str, preview: bool| {
        let mut f = reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .text("profile", "my-courier")
            .text("carrier", "mycourier")
            .part("file", reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("week48.csv"));
        if preview {
            f = f.text("preview", "true");
        }
        f
    };
    let r = c.post(app.url("/settlements/upload")).header(COOKIE, &cookie).multipart(form("forged", true)).send().await;
    assert_eq!(r.unwrap().status(), StatusCode::FORBIDDEN);
    let r = c.post(app.url("/settlements/upload")).header(COOKIE, &cookie).multipart(form(&csrf, true)).send().await;
    let preview = r.unwrap().text().await.unwrap();
    assert!(preview.contains("Nothing is recorded yet: week48.csv"), "{preview}");
    assert!(preview.contains("unknown reference") && preview.contains("SAR 1,349.50"), "summary with its total");
    assert!(preview.contains("matches none of DD/MM/YYYY"), "the unreadable line is named");
    let (_, still) = page(&c, &app, &cookie, "/settlements").await;
    assert!(still.contains("No statement recorded yet"), "a preview records nothing");
    let token = preview.split("name=\"token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let record = |token: String| {
        let form = [("csrf", csrf.clone()), ("token", token)];
        c.post(app.url("/settlements/record")).header(COOKIE, &cookie).form(&form).send()
    };
    let r = record("not-the-token".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let r = record(token.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let at = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(at.starts_with("/settlements/stl_"), "{at}");
    assert_eq!(record(token).await.unwrap().status(), StatusCode::GONE, "a preview is recorded once");
    let (_, one) = page(&c, &app, &cookie, &at).await;
    assert!(one.contains("Statement week48.csv") && one.contains("SAR 1,349.50"), "{one}");
    assert_eq!(one.matches("Dispute packet").count(), 2, "each line needing a decision links its packet");
    let (_, matched) = page(&c, &app, &cookie, &format!("{at}?class=matched")).await;
    assert!(matched.contains("Nothing matches"), "{matched}");
    let (status, _) = page(&c, &app, &cookie, &format!("{at}?class=lost")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, csv_out) = page(&c, &app, &cookie, &format!("{at}?format=csv")).await;
    assert_eq!(csv_out.lines().count(), 3, "{csv_out}");
    let listed: Value = app.get("/api/v1/statements").await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

async fn the_admin_adds_users_switches_one_off_and_creates_and_revokes_an_api_token_from_settings(engine: Engine) {
    let app = spawn_app(engine).await;
    let (c, cookie) = session(&app, "root.admin", Role::Admin).await;
    let (_, settings) = page(&c, &app, &cookie, "/settings").await;
    let csrf = hidden_csrf(&settings);
    let send = |form: &[(&str, &str)]| {
        let mut form = form.to_vec();
        form.push(("csrf", csrf.as_str()));
        c.post(app.url("/settings")).header(COOKIE, &cookie).form(&form).send()
    };
    let r = send(&[("section", "user-create"), ("username", "new.ops"), ("password", "short"), ("role", "ops")])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("password: must be at least 10 characters"));
    let r = send(&[
        ("section", "user-create"),
        ("username", "new.ops"),
        ("password", "long enough secret"),
        ("role", "ops"),
    ]);
    assert_eq!(r.await.unwrap().headers()[LOCATION], "/settings?saved=1");
    let (status, _) = {
        let c2 = browser();
        let (s, _) = log_in(&app, &c2, "new.ops", "long enough secret").await;
        (s, ())
    };
    assert_eq!(status, StatusCode::SEE_OTHER, "the new user logs in");
    send(&[("section", "user-disable"), ("username", "new.ops")]).await.unwrap();
    let c3 = browser();
    let (s, cookie_set) = log_in(&app, &c3, "new.ops", "long enough secret").await;
    assert!(s != StatusCode::SEE_OTHER && cookie_set.is_none(), "a switched-off user cannot log in");
    let r = send(&[("section", "user-disable"), ("username", "root.admin")]).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "nobody switches themselves off");
    // A token's secret is shown once and works; revoked, it stops.
    let shown = send(&[("section", "token-create"), ("name", "erp sync"), ("role", "viewer")]).await.unwrap();
    let shown = shown.text().await.unwrap();
    let secret = shown.split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_owned();
    let r = app.client.get(app.url("/api/v1/orders")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, again) = page(&c, &app, &cookie, "/settings").await;
    assert!(!again.contains(&secret) && again.contains("erp sync"), "the secret is never shown again");
    let tokens: Value = app.get("/api/v1/tokens").await.json().await.unwrap();
    let id = tokens["items"].as_array().unwrap().iter().find(|t| t["name"] == "erp sync").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    send(&[("section", "token-revoke"), ("id", &id)]).await.unwrap();
    let r = app.client.get(app.url("/api/v1/orders")).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The seller's zone and the documents' details.
    let r = send(&[("section", "general"), ("base_currency", "SAR"), ("time_zone", "Asia/Riyadh")]).await.unwrap();
    assert_eq!(r.headers()[LOCATION], "/settings?saved=1");
    let r = send(&[("section", "documents"), ("seller_name", "Lamp Co"), ("vat", "Saudi")]).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (_, ops_view) = page(&c, &app, &cookie, "/orders").await;
    assert!(ops_view.contains("Asia/Riyadh"), "times are now shown in the seller's zone");
    let (c4, ops) = session(&app, "plain.ops", Role::Ops).await;
    assert_eq!(page(&c4, &app, &ops, "/settings").await.0, StatusCode::FORBIDDEN);
}

async fn a_rate_card_is_edited_by_form_and_as_csv_rows_and_the_quote_tester_shows_each_charge(engine: Engine) {
    use serde_json::json;
    let app = spawn_app(engine).await;
    app.put("/api/v1/settings", &json!({"base_currency": "SAR"})).await;
    let duty =
        json!({"country": "SA", "effective_from": "2025-01-01", "duty_pct": "5", "vat_pct": "15", "source": "test"});
    assert_eq!(app.put("/api/v1/duty-rules", &duty).await.status(), StatusCode::OK);
    let channel = json!({"code": "SBX-SA", "name": "Sandbox SA", "carrier": "sandbox", "service": "standard",
        "coverage": {"countries": ["SA"]}, "capabilities": {"cod": true, "ddp": true},
        "rate_card": {"currency": "SAR", "fuel_surcharge_pct": "10", "cod_fee": {"pct": "2", "min": "3.00"},
            "zones": [{"name": "sa", "countries": ["SA"], "transit_days": 3,
            "bands": [{"from_g": 0, "to_g": 500, "price": "20.00"}, {"from_g": 500, "to_g": 30000, "price": "35.00"}]}]}});
    assert_eq!(app.post("/api/v1/channels", &channel).await.status(), StatusCode::CREATED);
    let (c, cookie) = session(&app, "omar", Role::Ops).await;
    let (status, list) = page(&c, &app, &cookie, "/channels").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("href=\"/channels/SBX-SA\"") && list.contains("id=\"rates-upload\""), "{list}");
    let (_, card) = page(&c, &app, &cookie, "/channels/SBX-SA").await;
    assert!(
        card.contains("name=\"z0_b1\" value=\"35.00\"") && card.contains("name=\"fuel_pct\" value=\"10\""),
        "{card}"
    );

    // The form: a new band price, the fuel surcharge cleared, the channel's priority raised.
    let csrf = hidden_csrf(&card);
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Sandbox SA"),
        ("enabled", "1"),
        ("priority", "5"),
        ("cycle", "10"),
        ("fuel_pct", ""),
        ("cod_pct", "2"),
        ("cod_min", "3.00"),
        ("z0_days", "4"),
        ("z0_b0", "20.00"),
        ("z0_b1", "31.50"),
    ];
    let r = post_form(&c, &app, &cookie, "/channels/SBX-SA", &form).await;
    assert_eq!(r.headers()[LOCATION], "/channels/SBX-SA?saved=1");
    let stored: Value = app.get("/api/v1/channels/SBX-SA").await.json().await.unwrap();
    assert_eq!(stored["rate_card"]["zones"][0]["bands"][1]["price"], "31.50");
    assert_eq!(stored["rate_card"]["zones"][0]["transit_days"], 4);
    assert!(stored["rate_card"]["fuel_surcharge_pct"].is_null(), "{stored}");
    assert_eq!((stored["priority"].as_i64(), stored["settlement_cycle_days"].as_i64()), (Some(5), Some(10)));
    // A price that does not read is refused by name and changes nothing.
    let mut bad = form;
    bad[10] = ("z0_b1", "cheap");
    let r = post_form(&c, &app, &cookie, "/channels/SBX-SA", &bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("price"));
    let again: Value = app.get("/api/v1/channels/SBX-SA").await.json().await.unwrap();
    assert_eq!(again, stored);

    // The card's own CSV rows: a band split in two; a row for another channel is refused.
    let (_, card) = page(&c, &app, &cookie, "/channels/SBX-SA").await;
    let rows = card.split("id=\"rows\"").nth(1).unwrap().split('>').nth(1).unwrap().split("</textarea").next().unwrap();
    let rows = rows.replace("&quot;", "\"");
    assert!(rows.starts_with("channel,zone,countries"), "{rows}");
    let split = rows.replace("500,30000,31.50,", "500,2000,31.50,,,,,\nSBX-SA,sa,SA,,,,4,2000,30000,44.00,");
    let r = post_form(&c, &app, &cookie, "/channels/SBX-SA/rows", &[("csrf", &csrf), ("rows", &split)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{split}: {}", r.text().await.unwrap());
    let stored: Value = app.get("/api/v1/channels/SBX-SA").await.json().await.unwrap();
    let bands = &stored["rate_card"]["zones"][0]["bands"];
    assert_eq!(bands.as_array().map(Vec::len), Some(3), "{stored}");
    assert_eq!(bands[2]["price"], "44.00");
    let other = format!("{rows}OTHER,sa,SA,,,,4,0,100,1.00\n");
    let r = post_form(&c, &app, &cookie, "/channels/SBX-SA/rows", &[("csrf", &csrf), ("rows", &other)]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Every card downloads as one CSV and uploads back, all or nothing.
    let (status, csv) = page(&c, &app, &cookie, "/channels/rates.csv").await;
    assert_eq!(status, StatusCode::OK);
    let cheaper = csv.replace(",44.00", ",40.00");
    let part = reqwest::multipart::Part::bytes(cheaper.into_bytes()).file_name("rates.csv");
    let form = reqwest::multipart::Form::new().text("csrf", csrf.clone()).part("file", part);
    let r = c.post(app.url("/channels/rates")).header(COOKIE, &cookie).multipart(form).send().await.unwrap();
    assert_eq!(r.headers()[LOCATION], "/channels?imported=1");
    let stored: Value = app.get("/api/v1/channels/SBX-SA").await.json().await.unwrap();
    assert_eq!(stored["rate_card"]["zones"][0]["bands"][2]["price"], "40.00");
    let broken = reqwest::multipart::Part::bytes(csv.replace(",44.00", ",lots").into_bytes()).file_name("r.csv");
    let form = reqwest::multipart::Form::new().text("csrf", csrf.clone()).part("file", broken);
    let r = c.post(app.url("/channels/rates")).header(COOKIE, &cookie).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refusal = r.text().await.unwrap();
    assert!(refusal.contains("line 4") && refusal.contains("price"), "the refusal names the line: {refusal}");

    // The quote tester: each charge of the card, in its own column.
    let (_, quoted) =
        page(&c, &app, &cookie, "/channels?country=SA&weight_g=700&goods=100.00&cod=150.00&currency=SAR&quote=1").await;
    let table = quoted.split("id=\"quotes\"").nth(1).unwrap_or_else(|| panic!("{quoted}"));
    let row = table.split("<tbody>").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(row.contains("SAR 31.50") && row.contains("SAR 3.00"), "freight and the COD fee's minimum: {row}");
    let (_, bad) = page(&c, &app, &cookie, "/channels?country=SA&weight_g=700&goods=lots&currency=SAR&quote=1").await;
    assert!(bad.contains("id=\"quote-errors\"") && bad.contains("goods_value"), "{bad}");
    // A viewer reads the card but has no form to change it, and a post is refused.
    let (c2, viewer) = session(&app, "vera", Role::Viewer).await;
    let (_, seen) = page(&c2, &app, &viewer, "/channels/SBX-SA").await;
    assert!(!seen.contains("id=\"save-channel\"") && seen.contains("31.50"));
    let r = post_form(&c2, &app, &viewer, "/channels/SBX-SA", &[("csrf", &hidden_csrf(&seen))]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn the_admin_connects_a_shop_whose_secrets_are_never_shown_back_and_kept_when_left_empty(engine: Engine) {
    let app = spawn_app(engine).await;
    let (c, cookie) = session(&app, "ada", Role::Admin).await;
    let (_, chooser) = page(&c, &app, &cookie, "/shops?platform=woocommerce").await;
    assert!(
        chooser.contains("name=\"cred_consumer_key\"") && chooser.contains("name=\"cred_consumer_secret\""),
        "the form asks for the platform's own credentials: {chooser}"
    );
    let csrf = hidden_csrf(&chooser);
    let base = [
        ("csrf", csrf.as_str()),
        ("platform", "woocommerce"),
        ("code", "woo-ae"),
        ("name", "Woo AE"),
        ("base_url", "https://woo.example"),
        ("cred_consumer_key", "ck_visible_nowhere"),
        ("cred_consumer_secret", "cs_visible_nowhere"),
        ("webhook_secret", "whsec_visible_nowhere"),
        ("cod_gateways", "cod, cash"),
        ("push", "1"),
        ("enabled", "1"),
    ];
    // Missing a required credential: refused by name, nothing stored.
    let mut missing = base;
    missing[6] = ("cred_consumer_secret", "");
    let r = post_form(&c, &app, &cookie, "/shops/connect", &missing).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("consumer_secret"));
    assert_eq!(app.get("/api/v1/stores/woo-ae").await.status(), StatusCode::NOT_FOUND);
    let r = post_form(&c, &app, &cookie, "/shops/connect", &base).await;
    assert_eq!(r.headers()[LOCATION], "/shops/woo-ae?saved=1");
    let (_, shop) = page(&c, &app, &cookie, "/shops/woo-ae").await;
    assert!(!shop.contains("visible_nowhere"), "no secret is shown back: {shop}");
    assert!(shop.contains("/api/v1/webhooks/woocommerce/woo-ae") && shop.contains("value=\"cod, cash\""), "{shop}");
    let stored: Value = app.get("/api/v1/stores/woo-ae").await.json().await.unwrap();
    assert_eq!((stored["has_credentials"].as_bool(), stored["has_webhook_secret"].as_bool()), (Some(true), Some(true)));
    // Saving the settings with the secret fields empty keeps the secrets; the name changes.
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Woo Emirates"),
        ("base_url", "https://woo.example"),
        ("cod_gateways", "cod"),
        ("enabled", "1"),
    ];
    let r = post_form(&c, &app, &cookie, "/shops/woo-ae", &form).await;
    assert_eq!(r.headers()[LOCATION], "/shops/woo-ae?saved=1");
    let stored: Value = app.get("/api/v1/stores/woo-ae").await.json().await.unwrap();
    assert_eq!(stored["name"], "Woo Emirates");
    assert_eq!(stored["push_fulfilment"], false, "an unticked box is a no");
    assert_eq!((stored["has_credentials"].as_bool(), stored["has_webhook_secret"].as_bool()), (Some(true), Some(true)));
    // Ops works the shop (pull, replay) but neither connects nor changes one.
    let (c2, ops) = session(&app, "olga", Role::Ops).await;
    let (_, seen) = page(&c2, &app, &ops, "/shops/woo-ae").await;
    assert!(seen.contains("id=\"pull\"") && !seen.contains("id=\"shop-form\""), "{seen}");
    let r = post_form(&c2, &app, &ops, "/shops/woo-ae", &[("csrf", &hidden_csrf(&seen)), ("name", "x")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn ops_previews_a_buyer_message_before_saving_it_and_tunes_the_tracking_thresholds_of_a_lane(engine: Engine) {
    let app = spawn_app(engine).await;
    let (c, cookie) = session(&app, "lina", Role::Ops).await;
    let (status, list) = page(&c, &app, &cookie, "/settings/messages?name=cod_unavailable&language=en").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list.contains("id=\"template-form\"") && list.contains("{{ buyer }}"), "{list}");
    assert!(list.contains("<a href=\"/settings/messages\" aria-current=\"page\">"), "in the navigation: {list}");
    let csrf = hidden_csrf(&list);
    let form = |action: &'static str, body: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", "cod_unavailable".to_owned()),
            ("language", "en".to_owned()),
            ("subject", "Order {{ order }}".to_owned()),
            ("body", body.to_owned()),
            ("sms", "{{ store }}: {{ order }}".to_owned()),
            ("action", action.to_owned()),
        ]
    };
    // A preview writes the sample values in and saves nothing; the form keeps what was typed.
    let r = c
        .post(app.url("/settings/messages"))
        .header(COOKIE, &cookie)
        .form(&form("preview", "Dear {{ buyer }}, <b>{{ total }}</b>"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let shown = r.text().await.unwrap();
    let preview = shown.split("id=\"template-preview\"").nth(1).unwrap_or_else(|| panic!("{shown}"));
    assert!(preview.contains("Dear Noura, &lt;b&gt;129.50 SAR&lt;/b&gt;"), "sample values, escaped: {preview}");
    assert!(shown.contains("Dear {{ buyer }}, &lt;b&gt;{{ total }}&lt;/b&gt;</textarea>"), "the form keeps its text");
    let stored: Value = app.get("/api/v1/notification-templates").await.json().await.unwrap();
    assert!(!stored.to_string().contains("Dear {{ buyer }}"), "a preview saves nothing");
    // A broken template is refused naming its part and line, with the form kept; a good one is saved.
    let r = c
        .post(app.url("/settings/messages"))
        .header(COOKIE, &cookie)
        .form(&form("save", "Hello\n{{ buyer "))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = r.text().await.unwrap();
    let errors = refused.split("id=\"template-errors\"").nth(1).unwrap_or_else(|| panic!("{refused}"));
    assert!(errors.contains("body") && errors.contains("line 2"), "{errors}");
    let r = c
        .post(app.url("/settings/messages"))
        .header(COOKIE, &cookie)
        .form(&form("save", "Dear {{ buyer }}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[LOCATION], "/settings/messages?name=cod_unavailable&language=en&saved=1");
    let stored: Value = app.get("/api/v1/notification-templates").await.json().await.unwrap();
    assert!(stored.to_string().contains("Dear {{ buyer }}"), "{stored}");

    // Thresholds: the defaults, a new lane, a time to act; a bad lane is refused by name and nothing changes.
    let (_, th) = page(&c, &app, &cookie, "/settings/tracking").await;
    assert!(th.contains("name=\"default.customs_held_hours\" type=\"number\" value=\"48\""), "{th}");
    let fields = [
        "customs_held_hours",
        "no_scan_before_pickup_hours",
        "no_scan_in_transit_hours",
        "transit_days",
        "late_grace_hours",
        "failures_before_return",
        "remit_grace_days",
    ];
    let values = ["36", "72", "120", "7", "0", "3", "3"];
    let post = |lane: &'static str| {
        let mut f: Vec<(String, String)> = vec![("csrf".into(), csrf.clone()), ("lane0.key".into(), lane.into())];
        for (name, v) in fields.iter().zip(values) {
            f.push((format!("default.{name}"), v.into()));
            f.push((format!("lane0.{name}"), if *name == "transit_days" { "12".into() } else { v.into() }));
        }
        f.extend([
            ("sla.customs_held".into(), "12".into()),
            ("poll_seconds".into(), "900".into()),
            ("poll_carriers".into(), "sandbox".into()),
            ("max_age_days".into(), "60".into()),
        ]);
        c.post(app.url("/settings/tracking")).header(COOKIE, &cookie).form(&f).send()
    };
    let r = post("Saudi").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("lanes.SAUDI"), "the bad lane is named");
    let before: Value = app.get("/api/v1/tracking/thresholds").await.json().await.unwrap();
    assert_eq!(before["default"]["customs_held_hours"], 48, "nothing saved: {before}");
    let r = post("sa").await.unwrap();
    assert_eq!(r.headers()[LOCATION], "/settings/tracking?saved=1");
    let after: Value = app.get("/api/v1/tracking/thresholds").await.json().await.unwrap();
    assert_eq!(after["default"]["customs_held_hours"], 36, "{after}");
    assert_eq!(after["lanes"]["SA"]["transit_days"], 12, "{after}");
    assert_eq!(after["default"]["sla_hours"]["customs_held"], 12, "{after}");
    let poll: Value = app.get("/api/v1/settings/tracking").await.json().await.unwrap();
    assert_eq!(poll["poll_seconds"], 900);
    // The warehouse neither sees nor changes them.
    let (c2, wh) = session(&app, "wu.wh", Role::Warehouse).await;
    let (status, _) = page(&c2, &app, &wh, "/settings/tracking").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
