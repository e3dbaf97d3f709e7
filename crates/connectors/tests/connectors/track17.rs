//! 17TRACK's replies and pushes in the shapes of its v2.2 documents (fixtures in tests/fixtures/17track), its
//! protocol served locally (register, auto-registration on a first poll, error classes), and anything else read
//! into events or clear errors; never a panic.

use std::time::Duration;

use codflow_connectors::carriers::track17::transformers::{accepted_events, push_events, read, rejection, verify};
use codflow_connectors::carriers::{CarrierError, Track17, TrackingSource};
use proptest::prelude::*;
use serde_json::json;

const INFO: &str = include_str!("../fixtures/17track/gettrackinfo_reply.json");
const NOT_REGISTERED: &str = include_str!("../fixtures/17track/not_registered_reply.json");
const PUSH: &str = include_str!("../fixtures/17track/push_tracking_updated.json");

#[test]
fn track_info_reads_every_event_oldest_first_coded_by_sub_status() {
    let data = read(200, None, INFO.as_bytes()).unwrap();
    let e = accepted_events(&data, "RR123456789CN").unwrap();
    let codes: Vec<&str> = e.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["InTransit_PickedUp", "InTransit_CustomsProcessing", "Delivered_Other"]);
    assert_eq!(e[2].at.unix_timestamp(), time::macros::datetime!(2026-03-05 11:20 UTC).unix_timestamp());
    let data = read(200, None, NOT_REGISTERED.as_bytes()).unwrap();
    assert_eq!(rejection(&data, "RR000000000CN").map(|r| r.0), Some(-18019902));
}

#[test]
fn a_push_verifies_with_sha256_of_body_slash_key_and_reads_its_events() {
    let sig = codflow_sandbox_carrier::track17::sign(PUSH.as_bytes(), "key-1");
    assert!(verify("key-1", PUSH.as_bytes(), &sig));
    assert!(verify("key-1", PUSH.as_bytes(), &sig.to_uppercase()), "hex in either case");
    assert!(!verify("key-2", PUSH.as_bytes(), &sig));
    assert!(!verify("key-1", &PUSH.as_bytes()[1..], &sig));
    let e = push_events(PUSH.as_bytes()).unwrap();
    assert_eq!((e[0].code.as_str(), e[0].tracking_number.as_str()), ("DeliveryFailure_Rejected", "RR123456789CN"));
    assert!(push_events(br#"{"event":"TRACKING_STOPPED","data":{"number":"X"}}"#).unwrap().is_empty());
    assert!(push_events(b"{}").is_err());
}

#[tokio::test]
async fn a_first_poll_registers_the_number_and_later_polls_read_its_journey() {
    let server = codflow_sandbox_carrier::start(Default::default()).await.unwrap();
    let t = Track17::new(
        &format!("{server}/17track"),
        codflow_sandbox_carrier::track17::TEST_TOKEN,
        Duration::from_secs(2),
    )
    .unwrap();
    assert!(t.track("YT2600000000001").await.unwrap().is_empty(), "registered, nothing yet");
    t.register("YT2600000000001").await.unwrap();
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    reqwest::Client::new()
        .post(format!("{server}/v1/_clock"))
        .json(&json!({"at": later, "scale": 1.0}))
        .send()
        .await
        .unwrap();
    let e = t.track("YT2600000000001").await.unwrap();
    assert!(e.len() >= 3 && e.windows(2).all(|w| w[0].at <= w[1].at), "{e:?}");
    let wrong = Track17::new(&format!("{server}/17track"), "not-the-token", Duration::from_secs(2)).unwrap();
    assert_eq!(wrong.track("YT2600000000001").await.unwrap_err(), CarrierError::Unauthorized);
    for (kind, name) in [("rate_limit", "RateLimited"), ("error", "Unavailable"), ("malformed", "Malformed")] {
        reqwest::Client::new()
            .post(format!("{server}/v1/_faults"))
            .json(&json!({"kind": kind, "endpoint": "17track"}))
            .send()
            .await
            .unwrap();
        let e = t.track("YT2600000000001").await.unwrap_err();
        assert!(format!("{e:?}").starts_with(name) && e.retryable(), "{kind}: {e:?}");
    }
    assert!(
        codflow_connectors::carriers::Carrier::Track17(t).webhooks().is_some_and(|w| w.signature_header() == "sign")
    );
}

proptest! {
    #[test]
    fn any_reply_reads_to_data_or_an_error(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(d) = read(status, None, &body) {
            let _ = accepted_events(&d, "N");
            let _ = rejection(&d, "N");
        }
        let _ = push_events(&body);
    }

    #[test]
    fn any_event_reads_or_is_refused(stage in ".{0,20}", sub in ".{0,30}", at in ".{0,30}") {
        let p = json!({"event": "TRACKING_UPDATED", "data": {"number": "N", "track_info": {"tracking": {"providers": [
            {"events": [{"stage": stage, "sub_status": sub, "time_iso": at}]}]}}}});
        let _ = push_events(p.to_string().as_bytes());
    }
}
