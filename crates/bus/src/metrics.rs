//! What the Kafka edge counts (issue #12 §2): messages consumed, dead letters by reason, how
//! long a hop takes, how far each consumer is behind, messages waiting out a fault. The
//! families are plain values shared with the process's registry
//! (`yidi_runtime::metrics`), so a test reads them without scraping.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// A topic.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabel {
    pub topic: String,
}

/// A topic partition.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabel {
    pub topic: String,
    pub partition: String,
}

/// A dead letter's reason code (`WIRE_01`, `AUTH_FORGED`, `INVALID_BILL`, …).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

/// The buckets of every latency histogram: 1 ms to ~33 s, doubling — a hop on the
/// one-machine network takes a few milliseconds, a stalled one tens of seconds.
pub fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The Kafka edge's figures of one process.
#[derive(Clone, Debug)]
pub struct BusMetrics {
    /// Messages read, by topic (refused ones included).
    pub consumed: Family<TopicLabel, Counter>,
    /// Dead letters written by this process, by reason.
    pub dead_letters: Family<ReasonLabel, Counter>,
    /// A hop through this process, by the topic read: from the batch's arrival to its replies
    /// acknowledged by the broker (consume → decide → persist → produce).
    pub hop_seconds: Family<TopicLabel, Histogram, fn() -> Histogram>,
    /// Messages not yet handled, by partition: the broker's high watermark less the offset
    /// stored after handling (librdkafka's `consumer_lag_stored`, every few seconds).
    pub lag: Family<PartitionLabel, Gauge>,
    /// Messages now waiting out a transient failure, and those past the alarm.
    pub retrying: Gauge,
    pub alarmed: Gauge,
}

impl Default for BusMetrics {
    fn default() -> BusMetrics {
        BusMetrics::new()
    }
}

impl BusMetrics {
    pub fn new() -> BusMetrics {
        BusMetrics {
            consumed: Family::default(),
            dead_letters: Family::default(),
            hop_seconds: Family::new_with_constructor(latency_histogram),
            lag: Family::default(),
            retrying: Gauge::default(),
            alarmed: Gauge::default(),
        }
    }

    /// Adds these families to `registry` (prefixed `yidi_` by the caller's registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register("consumed_messages", "Messages read, by topic", self.consumed.clone());
        registry.register(
            "dead_letters",
            "Dead letters written, by reason",
            self.dead_letters.clone(),
        );
        registry.register_with_unit(
            "hop",
            "A hop through this process: batch read to replies acknowledged, by topic read",
            Unit::Seconds,
            self.hop_seconds.clone(),
        );
        registry.register(
            "consumer_lag",
            "Messages of a partition not yet handled by this process",
            self.lag.clone(),
        );
        registry.register(
            "retrying_messages",
            "Messages waiting out a transient failure (their partitions wait)",
            self.retrying.clone(),
        );
        registry.register(
            "alarmed_messages",
            "Messages failing past the alarm time (`yidi dlq park` sets them aside)",
            self.alarmed.clone(),
        );
    }

    pub(crate) fn consumed(&self, topic: &str) {
        self.consumed.get_or_create(&TopicLabel { topic: topic.to_owned() }).inc();
    }

    pub(crate) fn dead_lettered(&self, reason: &str) {
        self.dead_letters.get_or_create(&ReasonLabel { reason: reason.to_owned() }).inc();
    }

    pub(crate) fn hop(&self, topic: &str, took: Duration) {
        self.hop_seconds
            .get_or_create(&TopicLabel { topic: topic.to_owned() })
            .observe(took.as_secs_f64());
    }

    /// Takes the lags of librdkafka's statistics.
    pub(crate) fn lags(&self, statistics: &rdkafka::Statistics) {
        for (topic, found) in &statistics.topics {
            for (partition, figures) in &found.partitions {
                // -1 is librdkafka's unassigned pseudo-partition; a lag of -1 is "not known yet".
                if *partition < 0 || figures.consumer_lag_stored < 0 {
                    continue;
                }
                let label =
                    PartitionLabel { topic: topic.clone(), partition: partition.to_string() };
                self.lag.get_or_create(&label).set(figures.consumer_lag_stored);
            }
        }
    }
}

/// The consumer's librdkafka context: hands the statistics to [`BusMetrics`].
pub(crate) struct LagContext {
    pub(crate) metrics: std::sync::Arc<BusMetrics>,
}

impl rdkafka::ClientContext for LagContext {
    fn stats(&self, statistics: rdkafka::Statistics) {
        self.metrics.lags(&statistics);
    }
}

impl rdkafka::consumer::ConsumerContext for LagContext {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letters_are_counted_by_reason_in_the_exposition() {
        let metrics = BusMetrics::new();
        metrics.dead_lettered("AUTH_FORGED");
        metrics.dead_lettered("AUTH_FORGED");
        metrics.dead_lettered("WIRE_01");
        metrics.hop("hub.requests", Duration::from_millis(3));
        let mut registry = Registry::with_prefix("yidi");
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("yidi_dead_letters_total{reason=\"AUTH_FORGED\"} 2"), "{text}");
        assert!(text.contains("yidi_dead_letters_total{reason=\"WIRE_01\"} 1"), "{text}");
        assert!(text.contains("yidi_hop_seconds_count{topic=\"hub.requests\"} 1"), "{text}");
    }

    #[test]
    fn lag_is_read_per_partition_from_librdkafka_statistics() {
        let metrics = BusMetrics::new();
        let statistics = |lags: [(i32, i64); 3]| {
            let mut topic = rdkafka::statistics::Topic::default();
            for (id, lag) in lags {
                let partition = rdkafka::statistics::Partition {
                    partition: id,
                    consumer_lag_stored: lag,
                    ..Default::default()
                };
                topic.partitions.insert(id, partition);
            }
            let mut statistics = rdkafka::Statistics::default();
            statistics.topics.insert("agency.110000.requests".to_owned(), topic);
            statistics
        };
        let lag = |partition: i32| {
            let label = PartitionLabel {
                topic: "agency.110000.requests".to_owned(),
                partition: partition.to_string(),
            };
            metrics.lag.get(&label).map(|gauge| gauge.get())
        };
        metrics.lags(&statistics([(0, 3), (1, 4), (-1, 100)]));
        assert_eq!((lag(0), lag(1)), (Some(3), Some(4)));
        assert_eq!(lag(-1), None, "the unassigned pseudo-partition is not exported");
        metrics.lags(&statistics([(0, 0), (1, -1), (-1, 0)]));
        assert_eq!(lag(0), Some(0));
        assert_eq!(lag(1), Some(4), "a lag not known now keeps the last one known");
    }
}
