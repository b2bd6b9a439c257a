use std::sync::Mutex;

use super::*;
use crate::client::BusConfig;

fn message(topic: &str, partition: i32, offset: i64) -> Incoming {
    Incoming {
        topic: topic.to_owned(),
        partition,
        offset,
        key: None,
        headers: std::collections::BTreeMap::new(),
        payload: Vec::new(),
        signer: crate::authority::Signer::Unchecked,
    }
}

/// A bus whose producer is never used: creating one does not reach any broker.
fn offline_bus() -> Bus {
    let config =
        BusConfig { brokers: "127.0.0.1:1".into(), service: "test".into(), ..Default::default() };
    Bus::connect(config).unwrap()
}

fn reply_to(incoming: &Incoming) -> Outgoing {
    Outgoing {
        topic: "replies".into(),
        key: format!("{}/{}/{}", incoming.topic, incoming.partition, incoming.offset),
        headers: Vec::new(),
        payload: Vec::new(),
    }
}

#[test]
fn a_batch_splits_into_one_lane_per_partition_keeping_each_partitions_order() {
    let mut batch =
        [message("a", 0, 1), message("b", 0, 7), message("a", 0, 2), message("a", 1, 5)];
    let lanes: Vec<Vec<(String, i32, i64)>> = lanes(&mut batch)
        .into_iter()
        .map(|lane| lane.iter().map(|m| (m.topic.clone(), m.partition, m.offset)).collect())
        .collect();
    assert_eq!(
        lanes,
        vec![
            vec![("a".into(), 0, 1), ("a".into(), 0, 2)],
            vec![("a".into(), 1, 5)],
            vec![("b".into(), 0, 7)],
        ]
    );
}

/// What a test handler saw: each call's (topic, offsets).
type Calls = Mutex<Vec<(String, Vec<i64>)>>;

/// A handler that answers every message, except as told.
#[derive(Default)]
struct Script {
    calls: Calls,
    /// Every lane of more than one message fails as a whole.
    lanes_fail: bool,
    /// This offset fails so many times on its own (a database busy, then back).
    fails: Mutex<Option<(i64, u32)>>,
    /// Any call holding this offset fails, always (a database away for good).
    stuck: Option<i64>,
    /// This offset is rejected (undecodable, say).
    rejected: Option<i64>,
    /// An operator parked the stuck message, with this reason.
    parked: Option<String>,
}

impl LaneHandler for Script {
    async fn handle(&self, lane: &[Incoming]) -> LaneAnswer {
        // The first lane yields while the other runs: lanes are concurrent.
        tokio::task::yield_now().await;
        let offsets = lane.iter().map(|m| m.offset).collect();
        self.calls.lock().unwrap().push((lane[0].topic.clone(), offsets));
        if self.lanes_fail && lane.len() > 1 {
            return Err(Transient("database is locked".into()));
        }
        if lane.iter().any(|m| Some(m.offset) == self.stuck) {
            return Err(Transient("database is unavailable".into()));
        }
        let mut fails = self.fails.lock().unwrap();
        if let Some((offset, left)) = fails.as_mut() {
            if lane.len() == 1 && lane[0].offset == *offset && *left > 0 {
                *left -= 1;
                return Err(Transient("database is locked".into()));
            }
        }
        Ok(lane
            .iter()
            .map(|m| {
                if Some(m.offset) == self.rejected {
                    Err(Rejection::new("WIRE_01", "SettleRequest: invalid wire type"))
                } else {
                    Ok(vec![reply_to(m)])
                }
            })
            .collect())
    }

    async fn parked(&self, _incoming: &Incoming) -> Option<String> {
        self.parked.clone()
    }
}

fn keys(handled: &Handled<'_>) -> Vec<(String, String)> {
    handled.replies.iter().map(|r| (r.message.topic.clone(), r.message.key.clone())).collect()
}

fn done(handled: &Handled<'_>) -> Vec<i64> {
    handled.done.iter().map(|m| m.offset).collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

#[tokio::test]
async fn each_lane_is_handed_over_whole_in_partition_order_and_every_message_answered() {
    let bus = offline_bus();
    let mut batch: Vec<Incoming> = (0..6)
        .map(|offset| message(if offset % 2 == 0 { "even" } else { "odd" }, 0, offset))
        .collect();
    let script = Script::default();
    let handled = handle_batch(&bus, &mut batch, &script, &CancellationToken::new()).await;
    let replied: Vec<String> = keys(&handled).into_iter().map(|(_, key)| key).collect();
    assert_eq!(replied, ["even/0/0", "even/0/2", "even/0/4", "odd/0/1", "odd/0/3", "odd/0/5"]);
    assert_eq!(done(&handled), [0, 2, 4, 1, 3, 5]);
    let mut calls = script.calls.into_inner().unwrap();
    calls.sort();
    assert_eq!(calls, vec![("even".into(), vec![0, 2, 4]), ("odd".into(), vec![1, 3, 5])]);
}

#[tokio::test(start_paused = true)]
async fn a_lane_that_fails_is_handled_again_one_message_at_a_time_in_order() {
    let bus = offline_bus();
    let mut batch: Vec<Incoming> = (0..3).map(|offset| message("t", 0, offset)).collect();
    let script = Script { lanes_fail: true, fails: Mutex::new(Some((1, 1))), ..Script::default() };
    let handled = handle_batch(&bus, &mut batch, &script, &CancellationToken::new()).await;
    let calls: Vec<Vec<i64>> =
        script.calls.into_inner().unwrap().into_iter().map(|c| c.1).collect();
    assert_eq!(calls, vec![vec![0, 1, 2], vec![0], vec![1], vec![1], vec![2]]);
    assert_eq!(
        keys(&handled),
        pairs(&[("replies", "t/0/0"), ("replies", "t/0/1"), ("replies", "t/0/2")])
    );
}

#[tokio::test(start_paused = true)]
async fn a_transient_failure_is_waited_out_however_long_it_lasts_and_never_dead_lettered() {
    let bus = offline_bus();
    let mut batch = vec![message("t", 0, 7)];
    // Ten minutes of failures at the capped backoff, then the database is back.
    let script = Script { fails: Mutex::new(Some((7, 70))), ..Script::default() };
    let started = Instant::now();
    let handled = handle_batch(&bus, &mut batch, &script, &CancellationToken::new()).await;
    assert!(started.elapsed() >= Duration::from_secs(600));
    assert_eq!(keys(&handled), pairs(&[("replies", "t/0/7")]));
    assert_eq!(done(&handled), [7]);
    assert_eq!((bus.health().retrying(), bus.health().alarmed()), (0, 0));
}

#[tokio::test]
async fn a_rejected_message_is_dead_lettered_at_once_with_its_code_and_the_lane_goes_on() {
    let bus = offline_bus();
    let mut batch: Vec<Incoming> = (0..3).map(|offset| message("t", 0, offset)).collect();
    let script = Script { rejected: Some(1), ..Script::default() };
    let handled = handle_batch(&bus, &mut batch, &script, &CancellationToken::new()).await;
    assert_eq!(
        keys(&handled),
        pairs(&[("replies", "t/0/0"), (topics::DEAD_LETTER, "t/0/1"), ("replies", "t/0/2")])
    );
    let header = |name: &str| {
        handled.replies[1].message.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    };
    assert_eq!(header("reason_code").as_deref(), Some("WIRE_01"));
    assert_eq!(header("reason").as_deref(), Some("SettleRequest: invalid wire type"));
    assert_eq!(script.calls.into_inner().unwrap().len(), 1, "one call for the lane: no retries");
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_a_wait_leaving_the_waiting_message_and_those_after_it_unconsumed() {
    let bus = offline_bus();
    let mut batch =
        vec![message("t", 0, 0), message("t", 0, 1), message("t", 0, 2), message("u", 0, 9)];
    let script = Script { stuck: Some(1), ..Script::default() };
    let stop = CancellationToken::new();
    let handled = {
        let work = handle_batch(&bus, &mut batch, &script, &stop);
        tokio::pin!(work);
        tokio::select! {
            _ = &mut work => panic!("a stuck message cannot finish"),
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
        assert_eq!(bus.health().retrying(), 1);
        stop.cancel();
        work.await
    };
    assert_eq!(keys(&handled), pairs(&[("replies", "t/0/0"), ("replies", "u/0/9")]));
    assert_eq!(done(&handled), [0, 9], "offset 1 and 2 are read again on the next start");
    assert_eq!(bus.health().retrying(), 0);
}

#[tokio::test(start_paused = true)]
async fn past_the_alarm_an_operator_may_park_a_message_and_its_partition_goes_on() {
    let bus = offline_bus();
    let mut batch = vec![message("t", 0, 0), message("t", 0, 1)];
    let script = Script {
        stuck: Some(0),
        parked: Some("hub db restored from backup; replay after".into()),
        ..Script::default()
    };
    let started = Instant::now();
    let handled = handle_batch(&bus, &mut batch, &script, &CancellationToken::new()).await;
    assert!(started.elapsed() >= ALARM_AFTER, "never parked before the alarm");
    assert_eq!(keys(&handled), pairs(&[(topics::DEAD_LETTER, "t/0/0"), ("replies", "t/0/1")]));
    let code = handled.replies[0].message.headers.iter().find(|(n, _)| n == "reason_code");
    assert_eq!(code.map(|(_, v)| v.as_str()), Some("PARKED"));
}

/// One reply to each message of `batch`.
fn replies_to(batch: &[Incoming]) -> Vec<Reply<'_>> {
    batch.iter().map(|cause| Reply { cause, message: reply_to(cause) }).collect()
}

fn failed(topic: &str, permanent: Option<&'static str>) -> Result<(), BusError> {
    Err(BusError::Delivery { topic: topic.into(), detail: "refused".into(), permanent })
}

#[test]
fn a_reply_the_broker_can_never_take_becomes_its_causes_dead_letter_and_nothing_waits() {
    let bus = offline_bus();
    let batch: Vec<Incoming> = (0..3).map(|offset| message("t", 0, offset)).collect();
    let replies = replies_to(&batch);
    let results = vec![Ok(()), failed("replies", Some("MESSAGE_TOO_LARGE")), Ok(())];
    let (again, wait) = after_send(&bus, replies, results);
    assert!(!wait);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].message.topic, topics::DEAD_LETTER);
    assert_eq!(again[0].cause.offset, 1);
}

#[test]
fn after_a_transient_failure_everything_from_it_on_is_sent_again_in_order() {
    let bus = offline_bus();
    let batch: Vec<Incoming> = (0..3).map(|offset| message("t", 0, offset)).collect();
    let replies = replies_to(&batch);
    let results = vec![Ok(()), failed("replies", None), Ok(())];
    let (again, wait) = after_send(&bus, replies, results);
    assert!(wait);
    let offsets: Vec<i64> = again.iter().map(|r| r.cause.offset).collect();
    assert_eq!(offsets, [1, 2]);
}

#[test]
fn a_dead_letter_that_cannot_be_sent_is_waited_for_never_replaced() {
    let bus = offline_bus();
    let a = message("t", 0, 0);
    let letter = bus.dead_letter(&a, "WIRE_01", "bad");
    let replies = vec![Reply { cause: &a, message: letter }];
    let (again, wait) =
        after_send(&bus, replies, vec![failed(topics::DEAD_LETTER, Some("UNKNOWN_TOPIC"))]);
    assert!(wait);
    assert_eq!(again[0].message.topic, topics::DEAD_LETTER);
}

#[test]
fn a_large_payload_stays_where_it_is_and_its_dead_letter_carries_its_digest() {
    use prost::Message as _;
    let bus = offline_bus();
    let mut large = message("his.440000.discharge", 0, 3);
    large.payload = vec![b'x'; crate::limits::DEAD_LETTER_PAYLOAD_MAX + 1];
    let letter = bus.dead_letter(&large, "MESSAGE_TOO_LARGE", &"why ".repeat(1000));
    let decoded = yidi_wire::v1::DeadLetter::decode(letter.payload.as_slice()).unwrap();
    assert!(decoded.payload.is_empty());
    assert_eq!(decoded.payload_sha256.len(), 64);
    assert_eq!(decoded.payload_bytes, i64::try_from(large.payload.len()).unwrap());
    assert_eq!((decoded.topic.as_str(), decoded.offset), ("his.440000.discharge", 3));
    assert!(decoded.reason.len() <= crate::limits::DEAD_LETTER_HEADER_MAX);
}
