//! AfterShip's trackings and webhooks in the shapes of its Tracking API documents, its protocol served locally
//! (follow on first poll, error classes), and anything else read into checkpoints or clear errors; never a panic.

use std::time::Duration;

use codflow_connectors::carriers::aftership::transformers::{events, read};
use codflow_connectors::carriers::{AfterShip, Carrier, CarrierError, TrackingSource};
use proptest::prelude::*;
use serde_json::json;

const UPDATE: &str = r#"{"event":"tracking_update","event_id":"e1","ts":1772600000,"msg":{"id":"as1","tracking_number":"UG123456789CN","slug":"china-post","tag":"InTransit","subtag":"InTransit_002","checkpoints":[
 {"checkpoint_time":"2026-03-02T09:00:00+08:00","message":"Acceptance","location":"Shenzhen","tag":"InTransit","subtag":"InTransit_002"},
 {"checkpoint_time":"2026-03-01T18:00:00+08:00","message":"Electronic information submitted","location":"","tag":"InfoReceived","subtag":"InfoReceived_001"}]}}"#;

#[test]
fn a_webhook_verifies_and_reads_its_checkpoints_oldest_first() {
    let c = Carrier::AfterShip(AfterShip::new("http://127.0.0.1:9", "k", Duration::from_secs(1)).unwrap());
    let hooks = c.webhooks().unwrap();
    assert_eq!(hooks.signature_header(), "aftership-hmac-sha256");
    let sig = codflow_sandbox_carrier::aftership::signature("s3", UPDATE.as_bytes());
    assert!(hooks.verify("s3", UPDATE.as_bytes(), &sig));
    assert!(!hooks.verify("s4", UPDATE.as_bytes(), &sig));
    let e = hooks.parse_webhook(UPDATE.as_bytes()).unwrap();
    let codes: Vec<&str> = e.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["InfoReceived_001", "InTransit_002"]);
    assert_eq!(e[0].location, None);
}

#[test]
fn meta_codes_and_statuses_map_to_errors() {
    assert_eq!(
        read(401, None, br#"{"meta":{"code":401,"message":"Invalid API key."},"data":{}}"#),
        Err(CarrierError::Unauthorized)
    );
    match read(400, None, br#"{"meta":{"code":4005,"message":"The value of `tracking_number` is invalid."},"data":{}}"#)
        .unwrap_err()
    {
        CarrierError::Rejected { code, field, .. } => {
            assert_eq!((code.as_str(), field.as_deref()), ("4005", Some("tracking_number")))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(read(503, None, b"<html>"), Err(CarrierError::Unavailable(_))));
    assert!(matches!(read(200, None, b"{\"meta\":"), Err(CarrierError::Malformed(_))));
}

#[tokio::test]
async fn a_first_poll_follows_the_number_and_later_polls_read_its_checkpoints() {
    let server = codflow_sandbox_carrier::start(Default::default()).await.unwrap();
    let a = AfterShip::new(
        &format!("{server}/aftership"),
        codflow_sandbox_carrier::aftership::TEST_API_KEY,
        Duration::from_secs(2),
    )
    .unwrap();
    assert!(a.track("UG000000001CN").await.unwrap().is_empty());
    a.register("UG000000001CN").await.unwrap();
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    reqwest::Client::new()
        .post(format!("{server}/v1/_clock"))
        .json(&json!({"at": later, "scale": 1.0}))
        .send()
        .await
        .unwrap();
    let e = a.track("UG000000001CN").await.unwrap();
    assert!(e.len() >= 3 && e.windows(2).all(|w| w[0].at <= w[1].at), "{e:?}");
    let wrong = AfterShip::new(&format!("{server}/aftership"), "wrong", Duration::from_secs(2)).unwrap();
    assert_eq!(wrong.track("UG000000001CN").await.unwrap_err(), CarrierError::Unauthorized);
    for (kind, name) in [("rate_limit", "RateLimited"), ("error", "Unavailable"), ("malformed", "Malformed")] {
        reqwest::Client::new()
            .post(format!("{server}/v1/_faults"))
            .json(&json!({"kind": kind, "endpoint": "aftership"}))
            .send()
            .await
            .unwrap();
        let e = a.track("UG000000001CN").await.unwrap_err();
        assert!(format!("{e:?}").starts_with(name) && e.retryable(), "{kind}: {e:?}");
    }
}

proptest! {
    #[test]
    fn any_reply_or_tracking_reads_or_is_refused(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..300),
                                                   tag in ".{0,20}", at in ".{0,30}") {
        if let Ok(d) = read(status, None, &body) {
            let _ = events(&d);
        }
        let _ = events(&json!({"tracking_number": "N", "checkpoints": [{"tag": tag, "checkpoint_time": at}]}));
    }
}
