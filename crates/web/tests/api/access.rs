//! Tokens revoked and users disabled take effect at once; logins are throttled.

use std::time::{Duration, Instant};

use codflow_app::App;
use codflow_domain::{Actor, Role, TokenId};
use codflow_store::Engine;
use reqwest::StatusCode;
use reqwest::header::COOKIE;

use crate::console::{browser, log_in, page, user};
use crate::helpers::{json_of, spawn_app};

codflow_store::on_both_engines!(
    a_revoked_token_is_refused_on_its_next_request_even_after_it_was_cached,
    a_token_revoked_by_another_process_stops_working_within_half_a_second,
    a_disabled_user_loses_their_session_at_once_and_cannot_log_in,
    repeated_wrong_passwords_lock_the_username_with_429_and_retry_after,
    only_admins_list_and_revoke_tokens_and_the_secret_is_never_listed,
);

async fn a_revoked_token_is_refused_on_its_next_request_even_after_it_was_cached(engine: Engine) {
    let app = spawn_app(engine).await;
    let ops = app.token(Role::Ops).to_owned();
    assert_eq!(app.get_as(&ops, "/api/v1/orders").await.status(), StatusCode::OK, "cached now");
    let list = json_of(app.get("/api/v1/tokens").await, StatusCode::OK).await;
    let id = list["items"].as_array().unwrap().iter().find(|t| t["role"] == "ops").unwrap()["id"].clone();
    let r = app.client.delete(app.url(&format!("/api/v1/tokens/{}", id.as_str().unwrap()))).bearer_auth(&app.admin);
    assert_eq!(r.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    json_of(app.get_as(&ops, "/api/v1/orders").await, StatusCode::UNAUTHORIZED).await;
    let again = app.client.delete(app.url(&format!("/api/v1/tokens/{}", id.as_str().unwrap()))).bearer_auth(&app.admin);
    json_of(again.send().await.unwrap(), StatusCode::NOT_FOUND).await;
    let list = json_of(app.get("/api/v1/tokens").await, StatusCode::OK).await;
    let t = list["items"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap().clone();
    assert!(t["revoked_at"].is_string(), "{t}");
}

async fn a_token_revoked_by_another_process_stops_working_within_half_a_second(engine: Engine) {
    let app = spawn_app(engine).await;
    let finance = app.token(Role::Finance).to_owned();
    assert_eq!(app.get_as(&finance, "/api/v1/orders").await.status(), StatusCode::OK);
    // Another process over the same database (as `codflow token revoke` is).
    let other = App::new(app.store.clone());
    let id = other.admin().tokens().await.unwrap().into_iter().find(|t| t.role == Role::Finance).unwrap().id;
    other.admin().revoke_token(&id, Actor::Worker("cli".into())).await.unwrap();
    let revoked_at = Instant::now();
    let deadline = revoked_at + Duration::from_secs(5);
    loop {
        let status = app.get_as(&finance, "/api/v1/orders").await.status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "the revoked token still works");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = revoked_at.elapsed();
    assert!(took <= codflow_app::auth::REVOCATION_CHECK + Duration::from_millis(400), "took {took:?}");
    assert!(TokenId::parse(id.as_str()).is_ok());
}

async fn a_disabled_user_loses_their_session_at_once_and_cannot_log_in(engine: Engine) {
    let app = spawn_app(engine).await;
    user(&app, "layla", Role::Ops).await;
    let c = browser();
    let (_, cookie) = log_in(&app, &c, "layla", "long enough secret").await;
    let cookie = format!("codflow_session={}", cookie.expect("a session"));
    assert_eq!(page(&c, &app, &cookie, "/orders").await.0, StatusCode::OK);
    let r = app.post("/api/v1/users/layla/disable", &serde_json::json!({})).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = c.get(app.url("/orders")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the session ended");
    assert_eq!(log_in(&app, &c, "layla", "long enough secret").await.0, StatusCode::UNAUTHORIZED);
    let users = json_of(app.get("/api/v1/users").await, StatusCode::OK).await;
    assert_eq!(users["items"][0]["disabled"], true, "{users}");
    assert_eq!(app.post("/api/v1/users/layla/enable", &serde_json::json!({})).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(log_in(&app, &c, "layla", "long enough secret").await.0, StatusCode::SEE_OTHER);
    json_of(app.post("/api/v1/users/nobody/disable", &serde_json::json!({})).await, StatusCode::NOT_FOUND).await;
}

async fn repeated_wrong_passwords_lock_the_username_with_429_and_retry_after(engine: Engine) {
    let app = spawn_app(engine).await;
    user(&app, "omar", Role::Finance).await;
    let c = browser();
    for _ in 0..codflow_app::throttle::PER_USER {
        assert_eq!(log_in(&app, &c, "omar", "wrong password!!").await.0, StatusCode::UNAUTHORIZED);
    }
    // Locked now: even the right password waits, and the answer says how long.
    let form = c.get(app.url("/login")).send().await.unwrap();
    let csrf = crate::console::hidden_csrf(&form.text().await.unwrap());
    let r = c
        .post(app.url("/login"))
        .header(COOKIE, format!("codflow_login_csrf={csrf}"))
        .form(&[("username", "omar"), ("password", "long enough secret"), ("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(retry, codflow_app::throttle::FIRST_LOCK.as_secs());
    assert!(r.text().await.unwrap().contains("try again in"));
    // Another user is not locked.
    user(&app, "sara", Role::Ops).await;
    assert_eq!(log_in(&app, &c, "sara", "long enough secret").await.0, StatusCode::SEE_OTHER);
}

async fn only_admins_list_and_revoke_tokens_and_the_secret_is_never_listed(engine: Engine) {
    let app = spawn_app(engine).await;
    json_of(app.get_as(app.token(Role::Ops), "/api/v1/tokens").await, StatusCode::FORBIDDEN).await;
    let r = app.client.delete(app.url("/api/v1/tokens/tok_x")).bearer_auth(app.token(Role::Viewer));
    json_of(r.send().await.unwrap(), StatusCode::FORBIDDEN).await;
    let body = app.get("/api/v1/tokens").await.text().await.unwrap();
    for (_, secret) in &app.tokens {
        assert!(!body.contains(secret.as_str()));
    }
    let r = app.client.delete(app.url("/api/v1/tokens/not-an-id")).bearer_auth(&app.admin);
    let p = json_of(r.send().await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(p["errors"][0]["path"], "id");
}
