//! The test's hospital information system: sends bills, reads results and dead letters.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use yidi_bus::topics;
use yidi_domain::ids::RegionCode;
use yidi_sim::Simulator;
use yidi_wire::codec::{self, ContentType};
use yidi_wire::headers;
use yidi_wire::v1::{DeadLetter, DischargeBill, SettleResult};

pub struct His {
    producer: FutureProducer,
    results: StreamConsumer,
    dead_letters: StreamConsumer,
    /// The receipt (`yidi-receipt` header) of each result read, by msgid.
    receipts: std::sync::Mutex<HashMap<String, String>>,
}

fn consumer(client: &ClientConfig, topics: &[String]) -> StreamConsumer {
    let group = format!(
        "e2e-{}-{}",
        topics.join("-"),
        chrono::Local::now().timestamp_nanos_opt().unwrap_or(0)
    );
    let consumer: StreamConsumer = client
        .clone()
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("fetch.wait.max.ms", "10")
        .create()
        .unwrap();
    // Every partition from the beginning, by assignment rather than a group subscription: a
    // group's state does not survive a broker SIGKILLed under it (tansu 0.6), assignments do.
    let mut assignment = rdkafka::TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
        for found in metadata.topics() {
            for partition in found.partitions() {
                assignment
                    .add_partition_offset(topic, partition.id(), rdkafka::Offset::Beginning)
                    .unwrap();
            }
        }
    }
    consumer.assign(&assignment).unwrap();
    consumer
}

impl His {
    /// A HIS of every province in `exchanges`, reaching the broker with `client` (its address
    /// and login: `Network::client`).
    pub fn connect(client: &ClientConfig, exchanges: &[&str]) -> His {
        let producer = client
            .clone()
            .set("enable.idempotence", "true")
            .set("linger.ms", "1")
            .create()
            .unwrap();
        let result_topics: Vec<String> =
            exchanges.iter().map(|e| topics::his_settlement(e)).collect();
        His {
            producer,
            results: consumer(client, &result_topics),
            dead_letters: consumer(client, &[topics::DEAD_LETTER.to_owned()]),
            receipts: std::sync::Mutex::default(),
        }
    }

    pub async fn send(&self, bill: &DischargeBill, content_type: ContentType) {
        let treatment = format!("{}0000", &bill.mdtrtarea_admvs[..2]);
        self.send_raw(
            &topics::his_discharge(&treatment),
            &bill.mdtrt_id,
            &codec::encode(bill, content_type),
            content_type.header(),
            &bill.msgid,
        )
        .await;
    }

    pub async fn send_raw(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        content_type: &str,
        msgid: &str,
    ) {
        self.send_signed(topic, key, payload, content_type, msgid, None).await;
    }

    /// Sends a message as it is, signed with `signer`'s credentials (when given) as a service
    /// signs: how an insider — or one holding an insider's key — would publish.
    pub async fn send_signed(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
        content_type: &str,
        msgid: &str,
        signer: Option<(&yidi_bus::Trust, chrono::DateTime<chrono::Utc>)>,
    ) {
        let message = yidi_bus::Outgoing {
            topic: topic.to_owned(),
            key: key.to_owned(),
            headers: vec![
                (headers::CONTENT_TYPE.to_owned(), content_type.to_owned()),
                (headers::MSGID.to_owned(), msgid.to_owned()),
            ],
            payload: payload.to_vec(),
        };
        self.publish(&message, signer).await;
    }

    /// Publishes `message`, signed by `signer` at the time given (when given).
    pub async fn publish(
        &self,
        message: &yidi_bus::Outgoing,
        signer: Option<(&yidi_bus::Trust, chrono::DateTime<chrono::Utc>)>,
    ) {
        let signature =
            signer.map(|(trust, at)| trust.sign(message, at).to_vec()).unwrap_or_default();
        let headers = message
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .chain(signature.iter().map(|(name, value)| (*name, value.as_str())))
            .fold(OwnedHeaders::new(), |headers, (key, value)| {
                headers.insert(Header { key, value: Some(value) })
            });
        let record = FutureRecord::to(&message.topic)
            .key(&message.key)
            .payload(&message.payload)
            .headers(headers);
        self.producer.send(record, Duration::from_secs(10)).await.map_err(|(e, _)| e).unwrap();
    }

    /// Reads results until every msgid in `wanted` has `copies` results, or `timeout`.
    pub async fn results(
        &self,
        wanted: &HashMap<String, usize>,
        timeout: Duration,
    ) -> HashMap<String, Vec<SettleResult>> {
        let mut seen: HashMap<String, Vec<SettleResult>> = HashMap::new();
        let deadline = Instant::now() + timeout;
        let complete = |seen: &HashMap<String, Vec<SettleResult>>| {
            wanted.iter().all(|(msgid, copies)| seen.get(msgid).is_some_and(|r| r.len() >= *copies))
        };
        while Instant::now() < deadline && !complete(&seen) {
            let Ok(Ok(message)) =
                tokio::time::timeout(Duration::from_millis(500), self.results.recv()).await
            else {
                continue;
            };
            let content_type = message.headers().and_then(|h| {
                h.iter()
                    .find(|h| h.key == headers::CONTENT_TYPE)
                    .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
            });
            let content_type = ContentType::from_header(content_type.as_deref()).unwrap();
            let result: SettleResult =
                codec::decode(message.payload().unwrap_or_default(), content_type, "SettleResult")
                    .unwrap();
            self.keep_receipt(&message, &result.msgid);
            seen.entry(result.msgid.clone()).or_default().push(result);
        }
        // A little longer, to catch results beyond the copies wanted.
        let grace = Instant::now() + Duration::from_secs(2);
        while Instant::now() < grace {
            if let Ok(Ok(message)) =
                tokio::time::timeout(Duration::from_millis(200), self.results.recv()).await
            {
                let content_type = message.headers().and_then(|h| {
                    h.iter()
                        .find(|h| h.key == headers::CONTENT_TYPE)
                        .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
                });
                let content_type = ContentType::from_header(content_type.as_deref()).unwrap();
                let result: SettleResult = codec::decode(
                    message.payload().unwrap_or_default(),
                    content_type,
                    "SettleResult",
                )
                .unwrap();
                self.keep_receipt(&message, &result.msgid);
                seen.entry(result.msgid.clone()).or_default().push(result);
            }
        }
        seen
    }

    fn keep_receipt(&self, message: &rdkafka::message::BorrowedMessage<'_>, msgid: &str) {
        let receipt = message.headers().and_then(|h| {
            h.iter()
                .find(|h| h.key == "yidi-receipt")
                .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
        });
        if let (Some(receipt), Ok(mut receipts)) = (receipt, self.receipts.lock()) {
            receipts.entry(msgid.to_owned()).or_insert(receipt);
        }
    }

    /// The receipt that came with `msgid`'s result, if one did.
    pub fn receipt(&self, msgid: &str) -> Option<String> {
        self.receipts.lock().ok()?.get(msgid).cloned()
    }

    /// Dead letters seen within `timeout`, until `count` are there.
    pub async fn dead_letters(&self, count: usize, timeout: Duration) -> Vec<DeadLetter> {
        let mut letters = Vec::new();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && letters.len() < count {
            if let Ok(Ok(message)) =
                tokio::time::timeout(Duration::from_millis(500), self.dead_letters.recv()).await
            {
                letters.push(
                    codec::decode(
                        message.payload().unwrap_or_default(),
                        ContentType::Protobuf,
                        "DeadLetter",
                    )
                    .unwrap(),
                );
            }
        }
        letters
    }
}

/// The first person of `insured` from `from` on whose benefits are active today.
pub fn active_person(insured: RegionCode, from: u64) -> u64 {
    use yidi_domain::benefit::{self, BenefitRules};
    let today = yidi_runtime::clock::BusinessClock::default().today();
    (from..from + 100)
        .find(|index| {
            let person = yidi_sim::registry::person(insured, *index, today);
            benefit::decide(&person.registration(), &BenefitRules::default(), today).status
                == yidi_domain::claim::BenefitStatus::Active
        })
        .expect("the registry has active persons")
}

/// The insured regions the agencies of the test network host.
pub const INSURED: [&str; 4] = ["110000", "120000", "310000", "441900"];

/// The bill of person `index` of `INSURED[region]`, treated in an exchange's province.
pub fn bill(
    simulator: &mut Simulator,
    region: usize,
    index: u64,
    treatment_pick: usize,
    sequence: u32,
) -> DischargeBill {
    let insured: RegionCode = INSURED[region].parse().unwrap();
    let treatments: Vec<&str> = super::network::EXCHANGES
        .iter()
        .copied()
        .filter(|t| !t.parse::<RegionCode>().unwrap().same_province(insured))
        .collect();
    let treatment: RegionCode = treatments[treatment_pick % treatments.len()].parse().unwrap();
    let catalogues = yidi_data::treatment_catalogues().unwrap();
    let catalogue = catalogues.iter().find(|c| c.region == treatment).unwrap();
    yidi_sim::his::discharge(
        simulator,
        insured,
        index,
        catalogue,
        yidi_runtime::clock::BusinessClock::default().now(),
        sequence,
    )
}
