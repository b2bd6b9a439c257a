//! The hub's routing, in-process (no broker): every request goes to the agency of its insured
//! province, or is answered by the hub with a reason; nothing is ever sent to a province that
//! has no agency, and what cannot be read is rejected with a stable code (issue #10 §1, §4).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use prost::Message;
use yidi_bus::{topics, Bus, BusConfig, Incoming, Outgoing};
use yidi_clearing::book::Settings;
use yidi_hub::clearing::Desk;
use yidi_hub::route::Hub;
use yidi_runtime::clock::BusinessClock;
use yidi_store::Store;
use yidi_wire::codec::ContentType;
use yidi_wire::headers;
use yidi_wire::v1::{Reversal, SettleResult, SettleStatus};

async fn hub(name: &str) -> (Hub, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("yidi-route-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("hub.db").display());
    let schema: Vec<&str> =
        yidi_hub::record::SCHEMA.iter().chain(yidi_hub::clearing::SCHEMA).copied().collect();
    let store = Store::open(&url, &schema).await.unwrap();
    let desk = Desk::open(store.clone(), Settings::default(), BusinessClock::default(), None)
        .await
        .unwrap();
    let config =
        BusConfig { brokers: "127.0.0.1:1".into(), service: "hub".into(), ..Default::default() };
    let hub = Hub {
        store,
        served: ["440000", "120000"].iter().map(|c| c.parse().unwrap()).collect(),
        suspended: ["120000".parse().unwrap()].into_iter().collect::<BTreeSet<_>>(),
        overdue_suspended: Arc::new(RwLock::new(BTreeSet::new())),
        desk: Arc::new(desk),
        live: Arc::default(),
        bus: Bus::connect(config).unwrap(),
    };
    (hub, dir)
}

fn reversal_to(insured: &str) -> Incoming {
    let reversal = Reversal {
        msgid: "H31000020261129100000000001".into(),
        mdtrt_id: "E1".into(),
        psn_no: "P1".into(),
        insuplc_admdvs: insured.into(),
        mdtrtarea_admvs: "310000".into(),
        omsgid: "H31000020261129095900000001".into(),
        reason: "timeout".into(),
        ..Reversal::default()
    };
    let message = Outgoing::new(
        topics::HUB_REQUESTS,
        "k",
        "yidi.v1.Reversal",
        &reversal,
        ContentType::Protobuf,
    )
    .with_header(headers::MSGID, &reversal.msgid);
    Incoming::read_back(message, 0, 0)
}

#[tokio::test]
async fn a_reversal_for_a_province_without_an_agency_is_answered_by_the_hub_and_sent_nowhere_else()
{
    let (hub, dir) = hub("unroutable").await;
    let replies = hub.route_request(&reversal_to("650000")).unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].topic, topics::exchange_results("310000"));
    let answer = SettleResult::decode(replies[0].payload.as_slice()).unwrap();
    assert_eq!(answer.status, SettleStatus::Rejected as i32);
    assert!(answer.reason.starts_with("unknown_province"), "{}", answer.reason);
    assert_eq!(answer.msgid, "H31000020261129100000000001", "the exchange's waiting call hears it");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_suspended_province_still_takes_reversals_undoing_is_always_allowed() {
    let (hub, dir) = hub("suspended").await;
    let replies = hub.route_request(&reversal_to("120000")).unwrap();
    let topics: Vec<&str> = replies.iter().map(|r| r.topic.as_str()).collect();
    assert_eq!(topics, [topics::agency_requests("120000")]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_unreadable_request_is_rejected_with_a_stable_code() {
    let (hub, dir) = hub("unreadable").await;
    let mut garbage = reversal_to("440000");
    garbage.payload = vec![0xff, 0xff, 0xff];
    let rejection = hub.route_request(&garbage).unwrap_err();
    assert_eq!(rejection.code, "WIRE_01");
    let mut nowhere = reversal_to("not a region");
    nowhere.headers.insert(headers::MSGID.into(), "x".into());
    assert_eq!(hub.route_request(&nowhere).unwrap_err().code, "INVALID_REGION");
    let _ = std::fs::remove_dir_all(&dir);
}
