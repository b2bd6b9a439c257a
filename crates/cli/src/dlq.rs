//! `yidi dlq`: the operator's view of the dead-letter topic — what was refused, why, and
//! bringing chosen messages back after a fix — and `park`, setting aside a message that keeps
//! failing so its partition goes on.
//!
//! A replay sends the original message (value, key, headers) to the topic it came from; the
//! services' inboxes answer a message they already handled with its first answer, so a replay
//! is harmless. A payload too large for its dead letter is read again from where it lies and
//! checked against the letter's SHA-256.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args as ClapArgs, Subcommand};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use yidi_bus::topics;

use crate::broker::Broker;
use yidi_wire::codec::{self, ContentType};
use yidi_wire::v1::DeadLetter;

#[derive(ClapArgs)]
pub struct Args {
    #[command(flatten)]
    broker: crate::broker::Broker,
    #[command(subcommand)]
    command: Dlq,
}

#[derive(Subcommand)]
enum Dlq {
    /// Every dead letter, oldest first, and a count by reason code.
    List {
        /// Only this reason code.
        #[arg(long)]
        reason: Option<String>,
    },
    /// One dead letter in full (by its offset in the dead-letter topic).
    Show {
        #[arg(long)]
        offset: i64,
    },
    /// Sends the refused messages at these dead-letter offsets again to their topics.
    Replay {
        #[arg(long = "offset", required = true)]
        offsets: Vec<i64>,
    },
    /// Sets aside a message that keeps failing (a person's decision, never a counter's): the
    /// service dead-letters it as PARKED at its next retry and its partition goes on.
    Park {
        /// The database of the service whose consumer waits (`sqlite://…` or `postgres://…`).
        #[arg(long, env = "YIDI_DATABASE")]
        database: String,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        partition: i32,
        #[arg(long)]
        offset: i64,
        /// Why: it is written into the dead letter.
        #[arg(long)]
        why: String,
        /// Who decided.
        #[arg(long, env = "USER", default_value = "operator")]
        by: String,
    },
}

/// A dead letter and where it is.
struct Letter {
    offset: i64,
    key: Option<Vec<u8>>,
    letter: DeadLetter,
}

/// How long to wait for the broker while reading.
const READ_WAIT: Duration = Duration::from_secs(10);

fn reader(broker: &Broker) -> anyhow::Result<BaseConsumer> {
    broker
        .client()?
        .set("group.id", "yidi-dlq")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .context("connecting to the brokers")
}

/// Reads `topic` from `from` to its end (every partition), handing each record to `each`.
fn read_topic(
    consumer: &BaseConsumer,
    topic: &str,
    from: Offset,
    mut each: impl FnMut(&rdkafka::message::BorrowedMessage<'_>) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let metadata = consumer.fetch_metadata(Some(topic), READ_WAIT)?;
    let mut assignment = TopicPartitionList::new();
    for found in metadata.topics() {
        for partition in found.partitions() {
            assignment.add_partition_offset(topic, partition.id(), from)?;
        }
    }
    let mut open = assignment.count();
    if open == 0 {
        return Ok(());
    }
    consumer.assign(&assignment)?;
    while open > 0 {
        match consumer.poll(READ_WAIT) {
            None => bail!("{topic}: no answer from the brokers in {READ_WAIT:?}"),
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => open -= 1,
            Some(Err(error)) => return Err(error.into()),
            Some(Ok(message)) => {
                if !each(&message)? {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

fn letters(broker: &Broker) -> anyhow::Result<Vec<Letter>> {
    let consumer = reader(broker)?;
    let mut letters = Vec::new();
    read_topic(&consumer, topics::DEAD_LETTER, Offset::Beginning, |message| {
        let letter: DeadLetter = codec::decode(
            message.payload().unwrap_or_default(),
            ContentType::Protobuf,
            "DeadLetter",
        )
        .with_context(|| format!("dead letter at offset {}", message.offset()))?;
        letters.push(Letter {
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            letter,
        });
        Ok(true)
    })?;
    Ok(letters)
}

/// The refused message's value: from the letter, or read again from where it lies.
fn original_payload(broker: &Broker, letter: &DeadLetter) -> anyhow::Result<Vec<u8>> {
    if letter.payload_sha256.is_empty() {
        return Ok(letter.payload.clone());
    }
    let consumer = reader(broker)?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(
        &letter.topic,
        letter.partition,
        Offset::Offset(letter.offset),
    )?;
    consumer.assign(&assignment)?;
    let message = match consumer.poll(READ_WAIT) {
        Some(Ok(message)) => message,
        Some(Err(error)) => return Err(error.into()),
        None => bail!(
            "{}/{}/{}: no answer from the brokers",
            letter.topic,
            letter.partition,
            letter.offset
        ),
    };
    let payload = message.payload().unwrap_or_default().to_vec();
    let digest = yidi_bus::client::payload_sha256(&payload);
    if message.offset() != letter.offset || digest != letter.payload_sha256 {
        bail!(
            "{}/{}/{}: the message there is not the one refused (retention may have removed it)",
            letter.topic,
            letter.partition,
            letter.offset
        );
    }
    Ok(payload)
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    match &args.command {
        Dlq::List { reason } => list(args, reason.as_deref()),
        Dlq::Show { offset } => show(args, *offset),
        Dlq::Replay { offsets } => replay(args, offsets),
        Dlq::Park { database, topic, partition, offset, why, by } => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
        let store = yidi_store::Store::connect(database).await?;
        let at = yidi_store::parked::At { topic, partition: *partition, offset: *offset };
        let when = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        yidi_store::parked::park(store.pool(), at, why, by, &when).await?;
        println!("{topic}/{partition}/{offset} parked: the service dead-letters it (PARKED) at its next retry");
        anyhow::Ok(())
    })?;
            Ok(())
        }
    }
}

/// `yidi dlq list`: every dead letter (of one reason), then the count by reason.
fn list(args: &Args, reason: Option<&str>) -> anyhow::Result<()> {
    let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
    for Letter { offset, letter, .. } in letters(&args.broker)? {
        if reason.as_ref().is_some_and(|r| *r != letter.reason_code) {
            continue;
        }
        *by_code.entry(letter.reason_code.clone()).or_default() += 1;
        println!(
            "{offset}\t{}\t{}\t{}\t{}/{}/{}\t{}\t{}",
            letter.refused_at,
            letter.service,
            letter.reason_code,
            letter.topic,
            letter.partition,
            letter.offset,
            letter.msgid,
            letter.reason
        );
    }
    if by_code.is_empty() {
        println!("# no dead letters");
    }
    for (code, count) in by_code {
        println!("# {code}: {count}");
    }
    Ok(())
}

/// `yidi dlq show`: one dead letter, its payload as text when it is.
fn show(args: &Args, offset: i64) -> anyhow::Result<()> {
    let found = letters(&args.broker)?.into_iter().find(|l| l.offset == offset);
    let Some(Letter { letter, .. }) = found else { bail!("no dead letter at offset {offset}") };
    let payload = match std::str::from_utf8(&letter.payload) {
        Ok(text) => serde_json::Value::String(text.to_owned()),
        Err(_) => serde_json::Value::String(format!("({} bytes, not text)", letter.payload.len())),
    };
    let shown = serde_json::json!({
        "topic": letter.topic, "partition": letter.partition, "offset": letter.offset,
        "reason_code": letter.reason_code, "reason": letter.reason, "msgid": letter.msgid,
        "service": letter.service, "refused_at": letter.refused_at, "headers": letter.headers,
        "payload": payload, "payload_bytes": letter.payload_bytes,
        "payload_sha256": letter.payload_sha256,
    });
    println!("{}", serde_json::to_string_pretty(&shown)?);
    Ok(())
}

/// `yidi dlq replay`: sends refused messages back to their topic, as they were.
fn replay(args: &Args, offsets: &[i64]) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let producer: FutureProducer = args
        .broker
        .client()?
        .set("enable.idempotence", "true")
        .set("message.max.bytes", yidi_bus::limits::CLIENT_MESSAGE_BYTES_MAX.to_string())
        .create()?;
    let all = letters(&args.broker)?;
    for offset in offsets {
        let Some(found) = all.iter().find(|l| l.offset == *offset) else {
            bail!("no dead letter at offset {offset}");
        };
        let letter = &found.letter;
        if letter.topic.starts_with("outbox:") || letter.partition < 0 {
            bail!("offset {offset}: refused on its way out ({}); nothing to replay", letter.topic);
        }
        let payload = original_payload(&args.broker, letter)?;
        let headers = letter.headers.iter().fold(OwnedHeaders::new(), |h, (key, value)| {
            h.insert(Header { key, value: Some(value) })
        });
        let key = found.key.clone().unwrap_or_default();
        let record = FutureRecord::to(&letter.topic).key(&key).payload(&payload).headers(headers);
        runtime
            .block_on(producer.send(record, Duration::from_secs(30)))
            .map_err(|(error, _)| error)
            .with_context(|| format!("replaying offset {offset} to {}", letter.topic))?;
        println!(
            "replayed dead letter {offset} to {} ({}, msgid {})",
            letter.topic, letter.reason_code, letter.msgid
        );
    }
    Ok(())
}
