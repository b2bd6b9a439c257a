//! Topic names. Per-province topics keep each agency on its own requests and each exchange on
//! its own results (architecture.md, per-province isolation).

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;

/// HIS → exchange: discharge bills of a treatment province (`his.440000.discharge`).
pub fn his_discharge(treatment_province: &str) -> String {
    format!("his.{treatment_province}.discharge")
}

/// Exchange → HIS: results for a treatment province.
pub fn his_settlement(treatment_province: &str) -> String {
    format!("his.{treatment_province}.settlement")
}

/// Exchange → hub: settlement requests and reversals from every exchange.
pub const HUB_REQUESTS: &str = "hub.requests";

/// Agency → hub: results from every agency.
pub const HUB_RESULTS: &str = "hub.results";

/// Hub → agency: the requests of one insured province.
pub fn agency_requests(insured_province: &str) -> String {
    format!("agency.{insured_province}.requests")
}

/// Hub → exchange: the results for one treatment province.
pub fn exchange_results(treatment_province: &str) -> String {
    format!("exchange.{treatment_province}.results")
}

/// Hub → exchange: statement requests for one treatment province (reconciliation).
pub fn exchange_statements(treatment_province: &str) -> String {
    format!("exchange.{treatment_province}.statements")
}

/// Hub → exchange: decisions on the service agreements of one treatment province's
/// designated institutions, keyed by institution.
pub fn exchange_hospitals(treatment_province: &str) -> String {
    format!("exchange.{treatment_province}.hospitals")
}

/// Exchange → hub: statements of every exchange.
pub const HUB_STATEMENTS: &str = "hub.statements";

/// Agency → hub: filing records (keyed by person).
pub const FILING: &str = "filing";

/// Agency → hub: person-level halts of direct settlement and their lifting (seed 004 art. 53),
/// keyed by person, for the ministry's view of every sanction.
pub const HUB_SANCTIONS: &str = "hub.sanctions";

/// Anything undecodable or invalid, with the reason.
pub const DEAD_LETTER: &str = "deadletter";

/// Partitions of a topic yidi creates, unless the settings say otherwise (`partitions`). One:
/// on the embedded broker each role has one consumer process, and tansu (SQLite) spends per
/// partition on every fetch (measured in BENCH.md). Every message about a person carries the
/// person's key, so any number keeps each person's messages in order.
pub const PARTITIONS: i32 = 1;

#[derive(Debug, thiserror::Error)]
#[error("creating topic {topic}: {detail}")]
pub struct TopicError {
    pub topic: String,
    pub detail: String,
}

/// How the topics a service creates are laid out on the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub partitions: i32,
    /// Copies of each partition: one on the one-machine broker, three on a cluster.
    pub replication: i32,
    /// `min.insync.replicas` of each topic (an `acks=all` send needs this many copies), or
    /// the cluster's default.
    pub min_insync_replicas: Option<i32>,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout { partitions: PARTITIONS, replication: 1, min_insync_replicas: None }
    }
}

/// Creates the topics that do not exist yet (tansu does not create topics on produce), with
/// a full client configuration (TLS, login) and `layout`. A topic that exists keeps what it
/// has.
pub async fn ensure_with(
    config: ClientConfig,
    names: &[String],
    layout: Layout,
) -> Result<(), TopicError> {
    let admin: AdminClient<DefaultClientContext> = config
        .create()
        .map_err(|error| TopicError { topic: String::new(), detail: error.to_string() })?;
    // Every topic takes yidi's largest record, whatever the cluster's default (Apache Kafka's
    // is about 1 MB).
    let max_bytes = crate::limits::CLIENT_MESSAGE_BYTES_MAX.to_string();
    let min_insync = layout.min_insync_replicas.map(|n| n.to_string());
    let topics: Vec<NewTopic> = names
        .iter()
        .map(|name| {
            let topic =
                NewTopic::new(name, layout.partitions, TopicReplication::Fixed(layout.replication))
                    .set("max.message.bytes", &max_bytes);
            match &min_insync {
                Some(n) => topic.set("min.insync.replicas", n),
                None => topic,
            }
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(&topics, &options)
        .await
        .map_err(|error| TopicError { topic: String::new(), detail: error.to_string() })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(TopicError { topic, detail: code.to_string() }),
        }
    }
    Ok(())
}
