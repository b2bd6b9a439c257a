//! Producer and consumer configuration, the consumer loop, dead letters.
//!
//! Every rdkafka property that matters is set explicitly (house style rule 6).

use std::collections::BTreeMap;
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
        topics::ensure_with(self.config.client(), names).await
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

impl Consumer {
    /// Handles messages until `shutdown` completes, then commits the stored offsets. A batch is
    /// what the client has already fetched (up to [`BATCH_MAX`]); it is split into lanes, one
    /// per topic partition: each lane's messages are handled in order, the lanes concurrently
    /// (a slow statement request does not hold up bills). Each message's effect is made
    /// durable by its handler; the replies of the whole batch are then sent together and
    /// acknowledged; only then are the batch's offsets stored. A crash anywhere replays, and
    /// the handlers' inboxes make replays harmless.
    pub async fn run<H, F>(self, bus: &Bus, shutdown: impl Future<Output = ()>, handler: H)
    where
        H: Fn(Incoming) -> F,
        F: Future<Output = Result<Vec<Outgoing>, HandlerError>>,
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
            let replies = handle_batch(bus, &batch, &handler).await;
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

/// One partition's messages of a batch, in their order.
fn lanes(batch: &[Incoming]) -> Vec<Vec<&Incoming>> {
    let mut lanes: BTreeMap<(&str, i32), Vec<&Incoming>> = BTreeMap::new();
    for incoming in batch {
        lanes.entry((incoming.topic.as_str(), incoming.partition)).or_default().push(incoming);
    }
    lanes.into_values().collect()
}

/// Handles a batch: each lane in order, the lanes concurrently; returns every reply, lane by
/// lane. A plain function of the messages and the handler, so it is tested without a broker.
async fn handle_batch<H, F>(bus: &Bus, batch: &[Incoming], handler: &H) -> Vec<Outgoing>
where
    H: Fn(Incoming) -> F,
    F: Future<Output = Result<Vec<Outgoing>, HandlerError>>,
{
    let lanes = lanes(batch).into_iter().map(|lane| async move {
        let mut replies = Vec::new();
        for incoming in lane {
            replies.extend(handle_one(bus, incoming, handler).await);
        }
        replies
    });
    futures_util::future::join_all(lanes).await.into_iter().flatten().collect()
}

/// Handles one message: retries passing failures with backoff, and after the last attempt
/// answers with a dead letter carrying the reason, so nothing is lost or retried forever.
async fn handle_one<H, F>(bus: &Bus, incoming: &Incoming, handler: &H) -> Vec<Outgoing>
where
    H: Fn(Incoming) -> F,
    F: Future<Output = Result<Vec<Outgoing>, HandlerError>>,
{
    let mut backoff = Duration::from_millis(50);
    for attempt in 1..=HANDLER_ATTEMPTS_MAX {
        match handler(incoming.clone()).await {
            Ok(replies) => return replies,
            Err(error) => {
                warn!(attempt, topic = %incoming.topic, offset = incoming.offset, reason = %error, "handling failed; retrying");
                if attempt == HANDLER_ATTEMPTS_MAX {
                    return vec![bus.dead_letter(incoming, "HANDLER_FAILED", &error.0)];
                }
            }
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
        let batch =
            [message("a", 0, 1), message("b", 0, 7), message("a", 0, 2), message("a", 1, 5)];
        let lanes: Vec<Vec<(String, i32, i64)>> = lanes(&batch)
            .into_iter()
            .map(|lane| {
                lane.into_iter().map(|m| (m.topic.clone(), m.partition, m.offset)).collect()
            })
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

    #[tokio::test]
    async fn every_message_of_a_batch_is_handled_once_in_partition_order_and_answered() {
        let bus = offline_bus();
        let batch: Vec<Incoming> = (0..6)
            .map(|offset| message(if offset % 2 == 0 { "even" } else { "odd" }, 0, offset))
            .collect();
        let seen = Mutex::new(Vec::new());
        let handler = |incoming: Incoming| {
            let seen = &seen;
            async move {
                // The first lane yields while the other runs: lanes are concurrent.
                tokio::task::yield_now().await;
                seen.lock().unwrap().push((incoming.topic.clone(), incoming.offset));
                Ok(vec![reply_to(&incoming)])
            }
        };
        let replies = handle_batch(&bus, &batch, &handler).await;
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 6);
        let order = |topic: &str| -> Vec<i64> {
            seen.iter().filter(|(t, _)| t == topic).map(|(_, o)| *o).collect()
        };
        assert_eq!(order("even"), vec![0, 2, 4]);
        assert_eq!(order("odd"), vec![1, 3, 5]);
        let keys: Vec<&str> = replies.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, vec!["even/0/0", "even/0/2", "even/0/4", "odd/0/1", "odd/0/3", "odd/0/5"]);
    }
}
