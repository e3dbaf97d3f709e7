//! The outbox against real receivers: a local SMTP server and a local HTTP server stand in for the mail
//! relay and the SMS provider, and the dispatcher runs with a test-controlled clock.

use codflow_app::notify::{MAX_ATTEMPTS, Senders, dispatch_once};
use codflow_connectors::notify::{HttpSms, SmtpMailer};
use codflow_connectors::sink::{HttpSink, SmtpSink};
use codflow_store::outbox::{self, Channel};
use codflow_store::{Engine, commit};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::helpers::{TestApp, json_of, order, spawn_app};

codflow_store::on_both_engines!(
    each_notification_reaches_the_smtp_server_and_the_sms_provider_exactly_once,
    a_failing_sender_is_retried_with_backoff_and_dead_lettered_after_the_last_attempt,
    a_crash_between_commit_and_send_sends_once_after_restart_never_twice,
);

struct Receivers {
    mail: SmtpSink,
    sms: HttpSink,
    senders: Senders,
}

async fn receivers() -> Receivers {
    let mail = SmtpSink::start().await.unwrap();
    let sms = HttpSink::start().await.unwrap();
    let senders = Senders {
        email: Some(SmtpMailer::new(&mail.url(), "Shop <shop@example.com>").unwrap()),
        sms: Some(HttpSms::new(&sms.url("/Messages.json"), Some("AC1".into()), Some("secret".into()), "SHOP").unwrap()),
    };
    Receivers { mail, sms, senders }
}

/// An app whose only rule cancels every order with a buyer message, and one such order.
async fn cancelled_order(engine: Engine) -> (TestApp, Value) {
    let app = spawn_app(engine).await;
    app.seed(&[("LAMP-01", 10)]).await;
    let rule = json!({"name": "no COD", "condition": "order.cod", "action": "cancel",
                      "reason": "cash on delivery is paused", "notify": "order_cancelled"});
    json_of(app.post("/api/v1/rules", &rule).await, StatusCode::CREATED).await;
    let o = json_of(app.post("/api/v1/orders", &order("1", "LAMP-01", 1)).await, StatusCode::CREATED).await;
    assert_eq!(o["status"], "cancelled");
    (app, o)
}

async fn outbox_of(app: &TestApp) -> Vec<Value> {
    json_of(app.get("/api/v1/notifications").await, StatusCode::OK).await["items"].as_array().unwrap().clone()
}

/// Runs the dispatcher at `now` until nothing more is due, with a bound so a bug cannot loop forever.
async fn drain(app: &TestApp, senders: &Senders, now: OffsetDateTime) -> usize {
    let mut total = 0;
    for _ in 0..20 {
        let n = dispatch_once(&app.store, senders, now).await.unwrap();
        if n == 0 {
            return total;
        }
        total += n;
    }
    panic!("the dispatcher kept finding work");
}

async fn each_notification_reaches_the_smtp_server_and_the_sms_provider_exactly_once(engine: Engine) {
    let (app, o) = cancelled_order(engine).await;
    let r = receivers().await;
    assert_eq!(drain(&app, &r.senders, codflow_app::now()).await, 2);
    let mails = r.mail.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["noura@example.com"]);
    assert_eq!(mails[0].from, "shop@example.com");
    let outbox = outbox_of(&app).await;
    let email = outbox.iter().find(|n| n["channel"] == "email").unwrap();
    assert_eq!(mails[0].header("Message-ID"), Some(format!("<{}@codflow>", email["id"].as_str().unwrap()).as_str()));
    let sms = r.sms.requests();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].method, "POST");
    assert_eq!(sms[0].path, "/Messages.json");
    assert_eq!(sms[0].form("To").as_deref(), Some("+966501234567"));
    assert_eq!(sms[0].form("From").as_deref(), Some("SHOP"));
    // The Saudi buyer's message is Arabic: the seller's English reason is said in Arabic, not quoted.
    let body = sms[0].form("Body").unwrap();
    assert!(body.contains("وفقاً لسياسة المتجر") && !body.contains("cash on delivery is paused"), "{body}");
    assert!(sms[0].header("authorization").unwrap().starts_with("Basic "));
    let sms_row = outbox.iter().find(|n| n["channel"] == "sms").unwrap();
    assert_eq!(sms[0].header("idempotency-key"), sms_row["id"].as_str());
    for n in &outbox {
        assert_eq!(n["status"], "sent");
        assert_eq!(n["attempts"], 1);
        assert_eq!(n["order_id"], o["id"]);
    }
    // Later runs find nothing to send, and a replayed order queues nothing new.
    assert_eq!(drain(&app, &r.senders, codflow_app::now() + Duration::hours(1)).await, 0);
    json_of(app.post("/api/v1/orders", &order("1", "LAMP-01", 1)).await, StatusCode::OK).await;
    assert_eq!(drain(&app, &r.senders, codflow_app::now()).await, 0);
    assert_eq!((r.mail.messages().len(), r.sms.requests().len()), (1, 1));
}

async fn a_failing_sender_is_retried_with_backoff_and_dead_lettered_after_the_last_attempt(engine: Engine) {
    let (app, _) = cancelled_order(engine).await;
    let r = receivers().await;
    r.mail.fail_next(2);
    r.sms.fail_next(usize::MAX);
    let mut now = codflow_app::now();
    drain(&app, &r.senders, now).await;
    let email = |outbox: &[Value]| outbox.iter().find(|n| n["channel"] == "email").unwrap().clone();
    let first = email(&outbox_of(&app).await);
    assert_eq!(first["status"], "pending");
    assert!(first["last_error"].as_str().unwrap().contains("451"), "{first}");
    // Nothing is due again before the backoff has passed.
    assert_eq!(drain(&app, &r.senders, now + Duration::seconds(10)).await, 0);
    for _ in 0..MAX_ATTEMPTS {
        now += Duration::hours(1);
        drain(&app, &r.senders, now).await;
    }
    let outbox = outbox_of(&app).await;
    let sent = email(&outbox);
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent["attempts"], 3, "two refusals, then delivered");
    assert_eq!(r.mail.messages().len(), 1);
    let sms = outbox.iter().find(|n| n["channel"] == "sms").unwrap();
    assert_eq!(sms["status"], "dead");
    assert_eq!(sms["attempts"], MAX_ATTEMPTS);
    assert!(sms["last_error"].as_str().unwrap().contains("HTTP 503"), "{sms}");
    assert!(r.sms.requests().is_empty());
    // A person fixes the provider and puts the message back.
    r.sms.fail_next(0);
    let id = sms["id"].as_str().unwrap();
    assert_eq!(
        app.post(&format!("/api/v1/notifications/{id}/retry"), &json!({})).await.status(),
        StatusCode::NO_CONTENT
    );
    drain(&app, &r.senders, codflow_app::now() + Duration::days(1)).await;
    assert_eq!(r.sms.requests().len(), 1);
    let again = app.post(&format!("/api/v1/notifications/{id}/retry"), &json!({})).await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "only dead messages can be retried");
}

async fn a_crash_between_commit_and_send_sends_once_after_restart_never_twice(engine: Engine) {
    // The decision committed and no dispatcher ran (the process died): the messages wait in the outbox.
    let (app, _) = cancelled_order(engine).await;
    let r = receivers().await;
    assert!(outbox_of(&app).await.iter().all(|n| n["status"] == "pending"));
    // A dispatcher claims the email and dies before sending it.
    let now = codflow_app::now();
    let mut tx = app.store.begin().await.unwrap();
    let claimed = outbox::claim_due(&mut tx, &[Channel::Email], now, now + Duration::minutes(2), 10).await.unwrap();
    commit(tx).await.unwrap();
    assert_eq!(claimed.len(), 1);
    // After the restart the SMS goes at once; the email waits for its lease to run out, then goes once.
    assert_eq!(drain(&app, &r.senders, now + Duration::seconds(1)).await, 1);
    assert_eq!((r.mail.messages().len(), r.sms.requests().len()), (0, 1));
    assert_eq!(drain(&app, &r.senders, now + Duration::minutes(3)).await, 1);
    assert_eq!(drain(&app, &r.senders, now + Duration::hours(3)).await, 0);
    assert_eq!((r.mail.messages().len(), r.sms.requests().len()), (1, 1));
}
