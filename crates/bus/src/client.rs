//! Producer and consumer configuration, sends classified by what failed, dead letters.
//!
//! Every rdkafka property that matters is set explicitly (house style rule 6).

use std::sync::Arc;
use std::time::Duration;

use crate::authority::Trust;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};
use sha2::{Digest, Sha256};
use thiserror::Error;
use yidi_wire::codec::ContentType;
use yidi_wire::v1::DeadLetter;

use crate::consume::Consumer;
use crate::limits::{clip, DEAD_LETTER_HEADER_MAX, DEAD_LETTER_PAYLOAD_MAX, MESSAGE_BYTES_MAX};
use crate::message::{Incoming, Outgoing};
use crate::metrics::{BusMetrics, LagContext};
use crate::producer::{AckingProducer, Record};
use crate::topics;
use prometheus_client::metrics::gauge::Gauge;

#[derive(Debug, Error)]
pub enum BusError {
    #[error("kafka client: {0}")]
    Client(#[from] KafkaError),
    #[error("delivery to {topic} failed: {detail}")]
    Delivery {
        topic: String,
        detail: String,
        /// The stable code of a failure that sending again cannot mend (the message is too
        /// large, the topic does not exist, the broker does not allow it); `None` for one
        /// that may pass (the broker away, a timeout).
        permanent: Option<&'static str>,
    },
}

impl BusError {
    /// The reason code when sending again cannot succeed.
    pub fn permanent(&self) -> Option<&'static str> {
        match self {
            BusError::Delivery { permanent, .. } => *permanent,
            BusError::Client(error) => error.rdkafka_error_code().and_then(permanent_code),
        }
    }
}

/// A payload's SHA-256 in hex, as a dead letter names a payload it does not carry.
pub fn payload_sha256(payload: &[u8]) -> String {
    hex::encode(Sha256::digest(payload))
}

/// Kafka's answers that no resend changes, as dead-letter reason codes.
fn permanent_code(code: RDKafkaErrorCode) -> Option<&'static str> {
    use RDKafkaErrorCode as K;
    match code {
        K::MessageSizeTooLarge | K::InvalidMessageSize => Some("MESSAGE_TOO_LARGE"),
        K::UnknownTopic | K::UnknownTopicOrPartition | K::UnknownPartition | K::InvalidTopic => {
            Some("UNKNOWN_TOPIC")
        }
        K::TopicAuthorizationFailed => Some("NOT_ALLOWED"),
        K::InvalidMessage => Some("INVALID_MESSAGE"),
        _ => None,
    }
}

/// How a service's consumer is doing, for logs and the dashboard: messages being handled
/// again after a transient failure, and how many of them are past the alarm. The same gauges
/// are exported as metrics ([`BusMetrics`]).
#[derive(Debug, Default)]
pub struct Health {
    retrying: Gauge,
    alarmed: Gauge,
}

impl Health {
    /// Counts into `metrics`' gauges.
    fn of(metrics: &BusMetrics) -> Health {
        Health { retrying: metrics.retrying.clone(), alarmed: metrics.alarmed.clone() }
    }

    /// Messages now waiting out a transient failure.
    pub fn retrying(&self) -> usize {
        usize::try_from(self.retrying.get()).unwrap_or(0)
    }

    /// Of those, the ones failing for longer than the alarm time.
    pub fn alarmed(&self) -> usize {
        usize::try_from(self.alarmed.get()).unwrap_or(0)
    }

    pub(crate) fn retry_started(&self) {
        self.retrying.inc();
    }

    pub(crate) fn retry_ended(&self, alarmed: bool) {
        self.retrying.dec();
        if alarmed {
            self.alarmed.dec();
        }
    }

    pub(crate) fn alarm(&self) {
        self.alarmed.inc();
    }
}

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
    /// Replicas of each topic this service creates (one when unset: the one-machine broker);
    /// three on a production cluster.
    pub replication: Option<i32>,
    /// `min.insync.replicas` of the topics this service creates (the cluster's default when
    /// unset); two with three replicas.
    pub min_insync_replicas: Option<i32>,
    /// The service's login to the brokers (SASL/SCRAM), when they ask for one.
    pub login: Option<yidi_trust::Login>,
    /// The service's credentials and the network's bundle: every message sent is signed and
    /// every message received is admitted only if its signature verifies. `None` only where
    /// nothing leaves the process (in-process tests, tools).
    pub trust: Option<Trust>,
    /// How this process shares its topics with other processes of its role.
    pub membership: Membership,
}

/// How a consumer gets its partitions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Membership {
    /// The role's only process: it takes every partition of its topics itself. Offsets are
    /// still committed under the group id, so a restart resumes where the last commit left off.
    #[default]
    Sole,
    /// One of several processes of the role (issue #9 §6), named by `instance`: they join one
    /// consumer group and the broker shares the partitions among them, moving a partition to
    /// the others when a member leaves or stops heartbeating. Ordering per key holds because a
    /// partition has one consumer at a time and messages are keyed by person.
    Group { instance: String },
}

impl BusConfig {
    fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in &self.extra {
            config.set(key, value);
        }
        let client_id = match &self.membership {
            Membership::Sole => self.service.clone(),
            Membership::Group { instance } => format!("{}-{instance}", self.service),
        };
        config.set("bootstrap.servers", &self.brokers).set("client.id", client_id);
        if let Some(login) = &self.login {
            sign_in(&mut config, login);
        }
        config
    }
}

/// Makes `config` log in as `login` (SASL/SCRAM): over plain TCP, as to the one-machine
/// broker, unless `security.protocol` is already set (`SASL_SSL` on a production cluster).
pub fn sign_in(config: &mut ClientConfig, login: &yidi_trust::Login) {
    if config.get("security.protocol").is_none() {
        config.set("security.protocol", "SASL_PLAINTEXT");
    }
    config
        .set("sasl.mechanisms", yidi_trust::login::MECHANISM)
        .set("sasl.username", &login.username)
        .set("sasl.password", login.password());
}

/// The producer side, cheap to clone.
#[derive(Clone)]
pub struct Bus {
    producer: Arc<AckingProducer>,
    config: BusConfig,
    health: Arc<Health>,
    metrics: Arc<BusMetrics>,
}

/// The header of a dead letter that names why (`WIRE_01`, `AUTH_FORGED`, …).
pub const REASON_CODE: &str = "reason_code";

/// How long a send may wait for the broker's acknowledgement.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// How often librdkafka reports a consumer's lag ([`BusMetrics::lag`]): a scrape every 15 s
/// sees figures at most this old.
const STATISTICS_INTERVAL_MS: &str = "5000";

/// How long the broker may hold a fetch that found nothing. The broker answers as soon as a
/// record lands (yidi's tansu carries a patch for that, and Apache Kafka long-polls), so this
/// only bounds how often an idle consumer asks: librdkafka's own default.
const FETCH_WAIT_MS: &str = "500";

impl Bus {
    pub fn connect(config: BusConfig) -> Result<Bus, BusError> {
        let producer = AckingProducer::create(
            config
                .client()
                .set("enable.idempotence", "true")
                .set("acks", "all")
                .set("linger.ms", "1")
                .set("message.timeout.ms", "30000")
                .set("compression.type", "none")
                // librdkafka counts a record's framing too; the limit proper is checked
                // before sending (`limits::fits`).
                .set("message.max.bytes", crate::limits::CLIENT_MESSAGE_BYTES_MAX.to_string()),
        )?;
        let metrics = Arc::new(BusMetrics::new());
        let health = Arc::new(Health::of(&metrics));
        Ok(Bus { producer: Arc::new(producer), config, health, metrics })
    }

    /// Creates the topics that do not exist yet, with this bus's client settings and layout.
    pub async fn ensure_topics(&self, names: &[String]) -> Result<(), topics::TopicError> {
        let layout = topics::Layout {
            partitions: self.config.partitions.unwrap_or(topics::PARTITIONS),
            replication: self.config.replication.unwrap_or(1),
            min_insync_replicas: self.config.min_insync_replicas,
        };
        topics::ensure_with(self.config.client(), names, layout).await
    }

    pub fn service(&self) -> &str {
        &self.config.service
    }

    /// The credentials and bundle this bus signs and admits with, if any.
    pub fn trust(&self) -> Option<&Trust> {
        self.config.trust.as_ref()
    }

    /// How this service's consumer is doing.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// What this process's Kafka edge counts, for its metrics registry.
    pub fn metrics(&self) -> &Arc<BusMetrics> {
        &self.metrics
    }

    /// Sends messages in order and waits until the broker has them all.
    pub async fn send_all(&self, messages: &[Outgoing]) -> Result<(), BusError> {
        self.send_each(messages.iter()).await.into_iter().find_map(Result::err).map_or(Ok(()), Err)
    }

    /// Sends messages in order and answers, for each, whether the broker has it. A message
    /// over [`MESSAGE_BYTES_MAX`] is not sent at all: it fails, permanently.
    pub async fn send_each<'m>(
        &self,
        messages: impl ExactSizeIterator<Item = &'m Outgoing>,
    ) -> Vec<Result<(), BusError>> {
        let mut messages: Vec<&Outgoing> = messages.collect();
        // Signed first, on every core, then sent in order.
        let signatures = match &self.config.trust {
            Some(trust) => {
                let now = chrono::Utc::now();
                crate::authority::on_all_cores(&mut messages, |message| {
                    trust.sign(message, now).to_vec()
                })
            }
            None => vec![Vec::new(); messages.len()],
        };
        let mut acks = Vec::with_capacity(messages.len());
        for (message, signature) in messages.into_iter().zip(signatures) {
            if message.size() > MESSAGE_BYTES_MAX {
                acks.push((&message.topic, None));
                continue;
            }
            let record = Record {
                topic: &message.topic,
                key: &message.key,
                payload: &message.payload,
                headers: message.kafka_headers(&signature),
            };
            acks.push((&message.topic, Some(self.producer.send(record, DELIVERY_TIMEOUT).await)));
        }
        let mut results = Vec::with_capacity(acks.len());
        for (topic, ack) in acks {
            let failed = |detail: String, permanent| BusError::Delivery {
                topic: topic.clone(),
                detail,
                permanent,
            };
            let Some(ack) = ack else {
                let detail = format!("over the limit of {MESSAGE_BYTES_MAX} bytes");
                results.push(Err(failed(detail, Some("MESSAGE_TOO_LARGE"))));
                continue;
            };
            // librdkafka reports every message within message.timeout.ms; the margin covers a
            // report that never comes.
            results.push(
                match tokio::time::timeout(DELIVERY_TIMEOUT + Duration::from_secs(5), ack).await {
                    Ok(Ok(Ok(()))) => Ok(()),
                    Ok(Ok(Err(error))) => {
                        let permanent = error.rdkafka_error_code().and_then(permanent_code);
                        Err(failed(error.to_string(), permanent))
                    }
                    Ok(Err(_)) => Err(failed("the producer dropped the message".into(), None)),
                    Err(_) => Err(failed("no acknowledgement from the broker".into(), None)),
                },
            );
        }
        results
    }

    /// The dead letter for `incoming`, with a stable code and a one-line reason. It carries
    /// the payload when that is small ([`DEAD_LETTER_PAYLOAD_MAX`]); a larger one stays where
    /// it is (topic, partition, offset) and the letter carries its SHA-256 and size, so a dead
    /// letter can never itself be too large to send.
    pub fn dead_letter(&self, incoming: &Incoming, code: &str, reason: &str) -> Outgoing {
        let (payload, payload_sha256) = if incoming.payload.len() <= DEAD_LETTER_PAYLOAD_MAX {
            (incoming.payload.clone(), String::new())
        } else {
            (Vec::new(), payload_sha256(&incoming.payload))
        };
        let mut headers: std::collections::HashMap<String, String> =
            incoming.headers.clone().into_iter().collect();
        for value in headers.values_mut() {
            let clipped = clip(value, DEAD_LETTER_HEADER_MAX).len();
            value.truncate(clipped);
        }
        let letter = DeadLetter {
            topic: incoming.topic.clone(),
            partition: incoming.partition,
            offset: incoming.offset,
            reason_code: code.to_owned(),
            reason: clip(reason, DEAD_LETTER_HEADER_MAX).to_owned(),
            msgid: incoming.header(yidi_wire::headers::MSGID).unwrap_or_default().to_owned(),
            service: self.config.service.clone(),
            payload,
            headers,
            refused_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            payload_sha256,
            payload_bytes: i64::try_from(incoming.payload.len()).unwrap_or(i64::MAX),
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
        .with_header(REASON_CODE, code)
        .with_header("reason", clip(reason, DEAD_LETTER_HEADER_MAX))
    }

    /// A consumer in `group` on `topics`.
    pub fn consumer(&self, group: &str, topics: &[String]) -> Result<Consumer, BusError> {
        let context = LagContext { metrics: Arc::clone(&self.metrics) };
        let consumer: StreamConsumer<LagContext> = self
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
            // The consumer's lag per partition, for its metrics.
            .set("statistics.interval.ms", STATISTICS_INTERVAL_MS)
            .create_with_context(context)?;
        if let Membership::Group { .. } = self.config.membership {
            consumer.subscribe(&topics.iter().map(String::as_str).collect::<Vec<_>>())?;
            return Ok(Consumer::new(consumer, group).in_group());
        }
        // The role's only process takes every partition itself instead of joining a group:
        // a restarted process then reads at once, without waiting out its dead predecessor's
        // session in the group.
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
        Ok(Consumer::new(consumer, group))
    }
}
