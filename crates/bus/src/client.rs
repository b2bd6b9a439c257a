//! Producer and consumer configuration, the consumer loop, dead letters.
//!
//! Every rdkafka property that matters is set explicitly (house style rule 6).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::{Offset, TopicPartitionList};
use thiserror::Error;
use tracing::{error, info, warn};
use yidi_wire::codec::ContentType;
use yidi_wire::v1::DeadLetter;

use crate::message::{Incoming, Outgoing};
use crate::producer::{AckingProducer, Record};
use crate::topics;

#[derive(Debug, Error)]
pub enum BusError {
    #[error("kafka client: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("delivery to {topic} failed: {detail}")]
    Delivery { topic: String, detail: String },
}

/// A handler's failure that may pass (a database busy, a broker unreachable): the message is
/// handled again, a bounded number of times, then dead-lettered with the reason.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct HandlerError(pub String);

/// Where the brokers are and who we are.
#[derive(Clone, Debug, Default)]
pub struct BusConfig {
    pub brokers: String,
    /// Names the service in client ids and dead letters (`agency-north`).
    pub service: String,
    /// Further librdkafka properties, e.g. TLS and SASL credentials in production
    /// (`security.protocol`, `ssl.ca.location`, `sasl.username`, …). They cannot override
    /// the delivery guarantees set here.
    pub extra: std::collections::BTreeMap<String, String>,
    /// Partitions of the topics this service creates ([`topics::PARTITIONS`] when unset).
    pub partitions: Option<i32>,
}

impl BusConfig {
    fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        config.set("bootstrap.servers", &self.brokers).set("client.id", &self.service);
        config
    }
}

/// The producer side, cheap to clone.
#[derive(Clone)]
pub struct Bus {
    producer: Arc<AckingProducer>,
    config: BusConfig,
}

/// How long a send may wait for the broker's acknowledgement.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the broker may hold a fetch that found nothing. The broker answers as soon as a
/// record lands (yidi's tansu carries a patch for that, and Apache Kafka long-polls), so this
/// only bounds how often an idle consumer asks: librdkafka's own default.
const FETCH_WAIT_MS: &str = "500";

/// Attempts of one message before it goes to the dead-letter topic.
const HANDLER_ATTEMPTS_MAX: u32 = 12;

impl Bus {
    pub fn connect(config: BusConfig) -> Result<Bus, BusError> {
        let producer = AckingProducer::create(
            config
                .client()
                .set("enable.idempotence", "true")
                .set("acks", "all")
                .set("linger.ms", "1")
                .set("message.timeout.ms", "30000")
                .set("compression.type", "none"),
        )?;
        Ok(Bus { producer: Arc::new(producer), config })
    }

    /// Creates the topics that do not exist yet, with this bus's client settings.
    pub async fn ensure_topics(&self, names: &[String]) -> Result<(), topics::TopicError> {
        let partitions = self.config.partitions.unwrap_or(topics::PARTITIONS);
        topics::ensure_with(self.config.client(), names, partitions).await
    }

    pub fn service(&self) -> &str {
        &self.config.service
    }

    /// Sends messages in order and waits until the broker has them all.
    pub async fn send_all(&self, messages: &[Outgoing]) -> Result<(), BusError> {
        let mut acks = Vec::with_capacity(messages.len());
        for message in messages {
            let record = Record {
                topic: &message.topic,
                key: &message.key,
                payload: &message.payload,
                headers: message.kafka_headers(),
            };
            acks.push((&message.topic, self.producer.send(record, DELIVERY_TIMEOUT).await));
        }
        for (topic, ack) in acks {
            let failed = |detail: String| BusError::Delivery { topic: topic.clone(), detail };
            // librdkafka reports every message within message.timeout.ms; the margin covers a
            // report that never comes.
            match tokio::time::timeout(DELIVERY_TIMEOUT + Duration::from_secs(5), ack).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(error))) => return Err(failed(error.to_string())),
                Ok(Err(_)) => return Err(failed("the producer dropped the message".into())),
                Err(_) => return Err(failed("no acknowledgement from the broker".into())),
            }
        }
        Ok(())
    }

    /// The dead letter for `incoming`, with a stable code and a one-line reason.
    pub fn dead_letter(&self, incoming: &Incoming, code: &str, reason: &str) -> Outgoing {
        let letter = DeadLetter {
            topic: incoming.topic.clone(),
            partition: incoming.partition,
            offset: incoming.offset,
            reason_code: code.to_owned(),
            reason: reason.to_owned(),
            msgid: incoming.header(yidi_wire::headers::MSGID).unwrap_or_default().to_owned(),
            service: self.config.service.clone(),
            payload: incoming.payload.clone(),
            headers: incoming.headers.clone().into_iter().collect(),
            refused_at: chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        };
        let key = incoming.key.clone().unwrap_or_else(|| {
            format!("{}/{}/{}", incoming.topic, incoming.partition, incoming.offset)
        });
        Outgoing::new(
            topics::DEAD_LETTER,
            &key,
            "yidi.v1.DeadLetter",
            &letter,
            ContentType::Protobuf,
        )
        .with_header("reason_code", code)
        .with_header("reason", reason)
    }

    /// A consumer in `group` on `topics`.
    pub fn consumer(&self, group: &str, topics: &[String]) -> Result<Consumer, BusError> {
        let consumer: StreamConsumer = self
            .config
            .client()
            .set("group.id", group)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "500")
            // Offsets are stored by hand, after the effect is durable and replies are sent.
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "1000")
            .set("fetch.wait.max.ms", FETCH_WAIT_MS)
            .set("isolation.level", "read_uncommitted")
            .create()?;
        // Each yidi consumer is the only reader of its topics (one process per role and
        // province), so it takes every partition itself instead of joining a group: tansu 0.6
        // keeps a SIGKILLed member in its group, and a restarted process would get nothing.
        // Offsets are still committed under the group id, so a restart resumes where the last
        // commit left off.
        let mut partitions = TopicPartitionList::new();
        for topic in topics {
            let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
            for found in metadata.topics() {
                for partition in found.partitions() {
                    partitions.add_partition_offset(
                        found.name(),
                        partition.id(),
                        Offset::Stored,
                    )?;
                }
            }
        }
        consumer.assign(&partitions)?;
        Ok(Consumer { inner: consumer, group: group.to_owned() })
    }
}

/// A subscribed consumer.
pub struct Consumer {
    inner: StreamConsumer,
    group: String,
}

/// The most messages handled between two offset stores. Handling stays in order within each
/// partition; only the replies' acknowledgements are awaited together, so a hop costs one
/// broker round trip per batch rather than per message.
const BATCH_MAX: usize = 256;

/// What a lane handler answers: the replies of each message, in the lane's order, once the
/// effects of the whole lane are durable; or an error when none of them is (the transaction
/// was rolled back), and then every message of the lane is handled again.
pub type LaneAnswer = Result<Vec<Vec<Outgoing>>, HandlerError>;

/// A service's decisions over a lane: the messages of one topic partition, in order. Plain
/// over plain data, so a test calls it in-process without a broker.
pub trait LaneHandler {
    /// Decides `lane` in order and makes the effects of all of it durable together (one
    /// database transaction), or none of them.
    fn handle<'a>(&'a self, lane: &'a [Incoming]) -> impl Future<Output = LaneAnswer> + 'a;
}

impl Consumer {
    /// Handles messages until `shutdown` completes, then commits the stored offsets. A batch is
    /// what the client has already fetched (up to [`BATCH_MAX`]); it is split into lanes, one
    /// per topic partition, handled concurrently. A lane goes to `handler` whole: it decides
    /// the messages in order and persists them in one transaction (group commit). The replies
    /// of the whole batch are then sent together and acknowledged; only then are the batch's
    /// offsets stored. A crash anywhere replays, and the handlers' inboxes make replays
    /// harmless.
    pub async fn run<H>(self, bus: &Bus, shutdown: impl Future<Output = ()>, handler: &H)
    where
        H: LaneHandler,
    {
        tokio::pin!(shutdown);
        info!(group = %self.group, "consuming");
        loop {
            let first = tokio::select! {
                () = &mut shutdown => break,
                message = self.inner.recv() => message.map(|m| Incoming::from_kafka(&m)),
            };
            let first = match first {
                Ok(incoming) => incoming,
                Err(error) => {
                    warn!(%error, "receive failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let mut batch = vec![first];
            while batch.len() < BATCH_MAX {
                match tokio::time::timeout(Duration::ZERO, self.inner.recv()).await {
                    Ok(Ok(message)) => batch.push(Incoming::from_kafka(&message)),
                    _ => break,
                }
            }
            let replies = handle_batch(bus, &mut batch, handler).await;
            deliver(bus, &replies).await;
            for incoming in &batch {
                if let Err(error) =
                    self.inner.store_offset(&incoming.topic, incoming.partition, incoming.offset)
                {
                    error!(%error, topic = %incoming.topic, offset = incoming.offset, "storing the offset failed");
                }
            }
        }
        if let Err(error) = self.inner.commit_consumer_state(CommitMode::Sync) {
            warn!(%error, "final offset commit failed; the next start replays from the last commit");
        }
        info!(group = %self.group, "stopped consuming");
    }
}

/// Orders a batch by topic partition (stably: each partition keeps its order) and returns one
/// lane per partition.
fn lanes(batch: &mut [Incoming]) -> Vec<&[Incoming]> {
    batch.sort_by(|a, b| (a.topic.as_str(), a.partition).cmp(&(b.topic.as_str(), b.partition)));
    batch.chunk_by(|a, b| a.topic == b.topic && a.partition == b.partition).collect()
}

/// Handles a batch: each lane whole and in order, the lanes concurrently; returns every
/// reply, lane by lane. A plain function of the messages and the handler, so it is tested
/// without a broker.
async fn handle_batch<H>(bus: &Bus, batch: &mut [Incoming], handler: &H) -> Vec<Outgoing>
where
    H: LaneHandler,
{
    let lanes = lanes(batch).into_iter().map(|lane| handle_lane(bus, lane, handler));
    futures_util::future::join_all(lanes).await.into_iter().flatten().collect()
}

/// Handles a lane in one go; when that fails (nothing of it was persisted), one message at a
/// time, in order, so that one message that keeps failing costs only itself.
async fn handle_lane<H>(bus: &Bus, lane: &[Incoming], handler: &H) -> Vec<Outgoing>
where
    H: LaneHandler,
{
    if lane.len() > 1 {
        match handler.handle(lane).await {
            Ok(answers) if answers.len() == lane.len() => return answers.concat(),
            Ok(answers) => error!(
                messages = lane.len(),
                answers = answers.len(),
                "a lane handler answered the wrong number of messages; handling them one by one"
            ),
            Err(error) => {
                warn!(messages = lane.len(), reason = %error, "the lane failed as a whole; handling its messages one by one");
            }
        }
    }
    let mut replies = Vec::new();
    for incoming in lane {
        replies.extend(handle_one(bus, incoming, handler).await);
    }
    replies
}

/// Handles one message: retries passing failures with backoff, and after the last attempt
/// answers with a dead letter carrying the reason, so nothing is lost or retried forever.
async fn handle_one<H>(bus: &Bus, incoming: &Incoming, handler: &H) -> Vec<Outgoing>
where
    H: LaneHandler,
{
    let mut backoff = Duration::from_millis(50);
    for attempt in 1..=HANDLER_ATTEMPTS_MAX {
        let failure = match handler.handle(std::slice::from_ref(incoming)).await {
            Ok(mut answers) if answers.len() == 1 => return answers.pop().unwrap_or_default(),
            Ok(answers) => HandlerError(format!("the handler answered {} times", answers.len())),
            Err(error) => error,
        };
        warn!(attempt, topic = %incoming.topic, offset = incoming.offset, reason = %failure, "handling failed; retrying");
        if attempt == HANDLER_ATTEMPTS_MAX {
            return vec![bus.dead_letter(incoming, "HANDLER_FAILED", &failure.0)];
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
    Vec::new()
}

/// Sends a batch's replies until the broker has them all. Offsets wait for this, so a reply is
/// never lost; a resend after a partial failure is a duplicate the receivers' inboxes absorb.
async fn deliver(bus: &Bus, replies: &[Outgoing]) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match bus.send_all(replies).await {
            Ok(()) => return,
            Err(error) => {
                error!(%error, replies = replies.len(), "sending replies failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn message(topic: &str, partition: i32, offset: i64) -> Incoming {
        Incoming {
            topic: topic.to_owned(),
            partition,
            offset,
            key: None,
            headers: std::collections::BTreeMap::new(),
            payload: Vec::new(),
        }
    }

    /// A bus whose producer is never used: creating one does not reach any broker.
    fn offline_bus() -> Bus {
        let config = BusConfig {
            brokers: "127.0.0.1:1".into(),
            service: "test".into(),
            ..Default::default()
        };
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
        /// This offset fails once on its own (a database busy).
        fails_once: Mutex<Option<i64>>,
        /// Any call holding this offset fails (a message that can never be persisted).
        poison: Option<i64>,
    }

    impl LaneHandler for Script {
        async fn handle(&self, lane: &[Incoming]) -> LaneAnswer {
            // The first lane yields while the other runs: lanes are concurrent.
            tokio::task::yield_now().await;
            let offsets = lane.iter().map(|m| m.offset).collect();
            self.calls.lock().unwrap().push((lane[0].topic.clone(), offsets));
            if self.lanes_fail && lane.len() > 1 {
                return Err(HandlerError("database is locked".into()));
            }
            if lane.iter().any(|m| Some(m.offset) == self.poison) {
                return Err(HandlerError("constraint failed".into()));
            }
            let mut fails_once = self.fails_once.lock().unwrap();
            if lane.len() == 1 && *fails_once == Some(lane[0].offset) {
                *fails_once = None;
                return Err(HandlerError("database is locked".into()));
            }
            Ok(lane.iter().map(|m| vec![reply_to(m)]).collect())
        }
    }

    fn keys(replies: &[Outgoing]) -> Vec<(&str, &str)> {
        replies.iter().map(|r| (r.topic.as_str(), r.key.as_str())).collect()
    }

    #[tokio::test]
    async fn each_lane_is_handed_over_whole_in_partition_order_and_every_message_answered() {
        let bus = offline_bus();
        let mut batch: Vec<Incoming> = (0..6)
            .map(|offset| message(if offset % 2 == 0 { "even" } else { "odd" }, 0, offset))
            .collect();
        let script = Script::default();
        let replies = handle_batch(&bus, &mut batch, &script).await;
        let mut calls = script.calls.into_inner().unwrap();
        calls.sort();
        assert_eq!(calls, vec![("even".into(), vec![0, 2, 4]), ("odd".into(), vec![1, 3, 5])]);
        let replied: Vec<&str> = replies.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            replied,
            vec!["even/0/0", "even/0/2", "even/0/4", "odd/0/1", "odd/0/3", "odd/0/5"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lane_that_fails_is_handled_again_one_message_at_a_time_in_order() {
        let bus = offline_bus();
        let mut batch: Vec<Incoming> = (0..3).map(|offset| message("t", 0, offset)).collect();
        let script =
            Script { lanes_fail: true, fails_once: Mutex::new(Some(1)), ..Script::default() };
        let replies = handle_batch(&bus, &mut batch, &script).await;
        let calls: Vec<Vec<i64>> =
            script.calls.into_inner().unwrap().into_iter().map(|c| c.1).collect();
        assert_eq!(calls, vec![vec![0, 1, 2], vec![0], vec![1], vec![1], vec![2]]);
        assert_eq!(
            keys(&replies),
            vec![("replies", "t/0/0"), ("replies", "t/0/1"), ("replies", "t/0/2")]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_message_that_keeps_failing_is_dead_lettered_with_its_reason_and_the_rest_answered() {
        let bus = offline_bus();
        let mut batch: Vec<Incoming> = (0..3).map(|offset| message("t", 0, offset)).collect();
        let script = Script { poison: Some(1), ..Script::default() };
        let replies = handle_batch(&bus, &mut batch, &script).await;
        assert_eq!(
            keys(&replies),
            vec![("replies", "t/0/0"), (topics::DEAD_LETTER, "t/0/1"), ("replies", "t/0/2")]
        );
        let reason = replies[1].headers.iter().find(|(name, _)| name == "reason");
        assert_eq!(reason.map(|(_, value)| value.as_str()), Some("constraint failed"));
        let attempts = script.calls.into_inner().unwrap().iter().filter(|c| c.1 == [1]).count();
        assert_eq!(attempts, HANDLER_ATTEMPTS_MAX as usize);
    }
}
