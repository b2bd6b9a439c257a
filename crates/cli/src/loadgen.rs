//! `yidi loadgen`: a HIS simulator driving the running network. It streams realistic bills
//! (filed and unfiled persons, suspended ones, catalogue misses, duplicates) to the exchanges'
//! `his.<province>.discharge` topics, reads `his.<province>.settlement`, and prints a live
//! line and final figures: throughput, submit→result latency percentiles, rejections by
//! reason — and, in the same run, the raw broker produce→consume round trip to compare with.

// Timing figures for display are floats; money never is (it is summed as Decimal below).
#![allow(clippy::float_arithmetic)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use yidi_bus::topics;
use yidi_domain::ids::RegionCode;
use yidi_sim::Simulator;
use yidi_wire::codec::{self, ContentType};
use yidi_wire::headers;
use yidi_wire::v1::{SettleResult, SettleStatus};

#[derive(clap::Args, Clone)]
pub struct Args {
    #[arg(long, default_value = "127.0.0.1:19092")]
    brokers: String,
    /// Bills per second.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// Seconds to send for; 0 sends until Ctrl-C.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Treatment provinces (exchanges) to send to.
    #[arg(long, value_delimiter = ',', default_value = "440000,310000,110000,330000")]
    treatment: Vec<String>,
    /// Insured regions (hosted by agencies) whose persons are treated.
    #[arg(long, value_delimiter = ',', default_value = "110000,120000,310000,441900")]
    insured: Vec<String>,
    /// Sample persons per insured region (as seeded by the agencies).
    #[arg(long, default_value_t = 2000)]
    persons: u64,
    /// Percent of bills the HIS sends twice.
    #[arg(long, default_value_t = 2)]
    duplicates: u32,
    /// Percent of bills sent as JSON (the rest as protobuf).
    #[arg(long, default_value_t = 50)]
    json: u32,
    /// Messages of the raw broker round trip measured at the end (0 skips it).
    #[arg(long, default_value_t = 1000)]
    roundtrip: u32,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// What the receiver has seen.
#[derive(Default)]
struct Tally {
    sent: u64,
    results: u64,
    latencies_us: Vec<u64>,
    by_outcome: BTreeMap<String, u64>,
    duplicates_answered: u64,
    funds: rust_decimal::Decimal,
    medfee: rust_decimal::Decimal,
}

type Pending = Arc<Mutex<HashMap<String, Instant>>>;

pub fn run(args: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(drive(args.clone()))
}

fn consumer(brokers: &str, group: &str, topics: &[String]) -> anyhow::Result<StreamConsumer> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "latest")
        .set("session.timeout.ms", "6000")
        .set("fetch.wait.max.ms", "10")
        .create()?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names)?;
    Ok(consumer)
}

/// Waits until the group has its partitions, so nothing produced afterwards is missed.
async fn assigned(consumer: &StreamConsumer, partitions: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await;
        if consumer.assignment().map(|a| a.count()).unwrap_or(0) >= partitions {
            return Ok(());
        }
    }
    Err(anyhow!("the result consumer got no partitions in 30 s: is the network up (`make up`)?"))
}

fn producer(brokers: &str) -> anyhow::Result<FutureProducer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "1")
        .create()?)
}

async fn drive(args: Args) -> anyhow::Result<()> {
    let treatments: Vec<RegionCode> = args
        .treatment
        .iter()
        .map(|t| t.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("--treatment: {e}"))?;
    let insured: Vec<RegionCode> = args
        .insured
        .iter()
        .map(|t| t.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("--insured: {e}"))?;
    let catalogues = yidi_data::treatment_catalogues()?;
    let result_topics: Vec<String> =
        treatments.iter().map(|t| topics::his_settlement(t.as_str())).collect();
    let group =
        format!("loadgen-{}-{}", std::process::id(), chrono::Local::now().timestamp_millis());
    let results = consumer(&args.brokers, &group, &result_topics)?;
    assigned(&results, result_topics.len() * usize::try_from(topics::PARTITIONS).unwrap_or(1))
        .await?;
    let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let receiver = tokio::spawn(receive(results, pending.clone(), tally.clone()));
    let producer = producer(&args.brokers)?;
    let started = Instant::now();
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    let mut simulator = Simulator::new(args.seed);
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let mut ticker = tokio::time::interval(interval);
    let mut report = tokio::time::interval(Duration::from_secs(1));
    let mut sequence: u32 = 0;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = report.tick() => print_line(started, &tally, &pending),
            _ = ticker.tick() => {
                if args.duration > 0 && started.elapsed() >= Duration::from_secs(args.duration) {
                    break;
                }
                sequence = sequence.wrapping_add(1);
                send_one(&args, &producer, &mut simulator, &treatments, &insured, &catalogues, sequence, &pending, &tally).await?;
            }
        }
    }
    let sending = started.elapsed();
    let drain = Instant::now() + Duration::from_secs(15);
    while Instant::now() < drain && pending.lock().map(|p| !p.is_empty()).unwrap_or(false) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    receiver.abort();
    print_final(sending, &tally, &pending);
    if args.roundtrip > 0 {
        raw_round_trip(&args.brokers, args.roundtrip, args.rate).await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn send_one(
    args: &Args,
    producer: &FutureProducer,
    simulator: &mut Simulator,
    treatments: &[RegionCode],
    insured: &[RegionCode],
    catalogues: &[yidi_formats::catalogue_file::TreatmentCatalogue],
    sequence: u32,
    pending: &Pending,
    tally: &Arc<Mutex<Tally>>,
) -> anyhow::Result<()> {
    let treatment =
        treatments[usize::try_from(simulator.below(treatments.len() as u64)).unwrap_or(0)];
    let choices: Vec<&RegionCode> =
        insured.iter().filter(|r| !r.same_province(treatment)).collect();
    let Some(region) =
        choices.get(usize::try_from(simulator.below(choices.len() as u64)).unwrap_or(0))
    else {
        return Ok(());
    };
    let Some(catalogue) = catalogues.iter().find(|c| c.region == treatment) else {
        return Err(anyhow!("no catalogue for {treatment}"));
    };
    let person = simulator.below(args.persons);
    let bill = yidi_sim::his::discharge(
        simulator,
        **region,
        person,
        catalogue,
        chrono::Local::now().naive_local(),
        sequence,
    );
    let content_type =
        if simulator.chance(args.json) { ContentType::Json } else { ContentType::Protobuf };
    let payload = codec::encode(&bill, content_type);
    let copies = if simulator.chance(args.duplicates) { 2 } else { 1 };
    let topic = topics::his_discharge(treatment.as_str());
    if let Ok(mut pending) = pending.lock() {
        pending.insert(bill.msgid.clone(), Instant::now());
    }
    for _ in 0..copies {
        let record_headers = OwnedHeaders::new()
            .insert(Header { key: headers::CONTENT_TYPE, value: Some(content_type.header()) })
            .insert(Header { key: headers::MSGID, value: Some(bill.msgid.as_str()) })
            .insert(Header { key: headers::MDTRT_ID, value: Some(bill.mdtrt_id.as_str()) })
            .insert(Header { key: headers::MSG_TYPE, value: Some("yidi.v1.DischargeBill") });
        let record =
            FutureRecord::to(&topic).key(&bill.mdtrt_id).payload(&payload).headers(record_headers);
        producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| anyhow!("sending a bill: {e}"))?;
        if let Ok(mut tally) = tally.lock() {
            tally.sent += 1;
        }
    }
    Ok(())
}

async fn receive(consumer: StreamConsumer, pending: Pending, tally: Arc<Mutex<Tally>>) {
    loop {
        let Ok(message) = consumer.recv().await else {
            continue;
        };
        let mut content_type = ContentType::Protobuf;
        let mut msgid = String::new();
        if let Some(found) = message.headers() {
            for header in found.iter() {
                let value = header
                    .value
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                match header.key {
                    headers::CONTENT_TYPE => {
                        content_type =
                            ContentType::from_header(Some(&value)).unwrap_or(ContentType::Protobuf)
                    }
                    headers::MSGID => msgid = value,
                    _ => {}
                }
            }
        }
        let Ok(result) = codec::decode::<SettleResult>(
            message.payload().unwrap_or_default(),
            content_type,
            "SettleResult",
        ) else {
            continue;
        };
        let sent = pending.lock().ok().and_then(|mut p| p.remove(&msgid));
        if let Ok(mut tally) = tally.lock() {
            tally.results += 1;
            if let Some(sent) = sent {
                tally
                    .latencies_us
                    .push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            if result.duplicate {
                tally.duplicates_answered += 1;
            }
            let outcome = match SettleStatus::try_from(result.status) {
                Ok(SettleStatus::Settled) => "settled".to_owned(),
                Ok(SettleStatus::Rejected) => {
                    format!("rejected {}", result.reason.split(':').next().unwrap_or(""))
                }
                Ok(other) => format!("{other:?}").to_lowercase(),
                Err(_) => "unknown".to_owned(),
            };
            *tally.by_outcome.entry(outcome).or_default() += 1;
            if let Some(info) = &result.setlinfo {
                tally.funds +=
                    info.fund_pay_sumamt.parse::<rust_decimal::Decimal>().unwrap_or_default();
                tally.medfee +=
                    info.medfee_sumamt.parse::<rust_decimal::Decimal>().unwrap_or_default();
            }
        }
    }
}

fn percentile(sorted: &[u64], per_mille: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = (sorted.len() * per_mille / 1000).min(sorted.len() - 1);
    Duration::from_micros(sorted[index])
}

fn print_line(started: Instant, tally: &Arc<Mutex<Tally>>, pending: &Pending) {
    let Ok(tally) = tally.lock() else { return };
    let mut sorted = tally.latencies_us.clone();
    sorted.sort_unstable();
    let waiting = pending.lock().map(|p| p.len()).unwrap_or(0);
    let rejected: Vec<String> = tally
        .by_outcome
        .iter()
        .filter(|(k, _)| k.starts_with("rejected"))
        .map(|(k, v)| format!("{}={v}", &k[9..]))
        .collect();
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    println!(
        "{:>4.0}s sent {:>6} results {:>6} ({:>6.1}/s) p50 {:>4} ms p99 {:>4} ms waiting {:>4} rejected [{}]",
        seconds,
        tally.sent,
        tally.results,
        tally.results as f64 / seconds,
        percentile(&sorted, 500).as_millis(),
        percentile(&sorted, 990).as_millis(),
        waiting,
        rejected.join(" ")
    );
}

fn print_final(sending: Duration, tally: &Arc<Mutex<Tally>>, pending: &Pending) {
    let Ok(tally) = tally.lock() else { return };
    let mut sorted = tally.latencies_us.clone();
    sorted.sort_unstable();
    let unanswered = pending.lock().map(|p| p.len()).unwrap_or(0);
    println!(
        "== loadgen: {} bills sent in {:.1} s, {} results, {} unanswered",
        tally.sent,
        sending.as_secs_f64(),
        tally.results,
        unanswered
    );
    println!(
        "settlement round trip (HIS → exchange → hub → agency → hub → exchange → HIS): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&sorted, 500).as_secs_f64() * 1e3,
        percentile(&sorted, 950).as_secs_f64() * 1e3,
        percentile(&sorted, 990).as_secs_f64() * 1e3,
        sorted.last().map_or(0.0, |m| *m as f64 / 1e3)
    );
    for (outcome, count) in &tally.by_outcome {
        println!("  {outcome:<40} {count}");
    }
    println!("  duplicates answered with the first result: {}", tally.duplicates_answered);
    println!(
        "  medical fees {} yuan, funds paid {} yuan",
        tally.medfee.round_dp(2),
        tally.funds.round_dp(2)
    );
}

/// The broker alone: produce → consume latency of 1 KB messages on one topic, same client
/// settings, same machine, same run.
async fn raw_round_trip(brokers: &str, count: u32, rate: u32) -> anyhow::Result<()> {
    let topic = "bench.roundtrip".to_owned();
    topics::ensure(brokers, std::slice::from_ref(&topic)).await?;
    let group =
        format!("roundtrip-{}-{}", std::process::id(), chrono::Local::now().timestamp_millis());
    let consumer = consumer(brokers, &group, std::slice::from_ref(&topic))?;
    assigned(&consumer, usize::try_from(topics::PARTITIONS).unwrap_or(1)).await?;
    let producer = producer(brokers)?;
    let payload = vec![b'x'; 1024];
    let mut latencies = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let pause = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    for number in 0..count {
        let key = number.to_string();
        let sent = Instant::now();
        producer
            .send(FutureRecord::to(&topic).key(&key).payload(&payload), Duration::from_secs(10))
            .await
            .map_err(|(e, _)| anyhow!("{e}"))?;
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), consumer.recv())
                .await
                .context("round trip: no message in 10 s")??;
            if message.key() == Some(key.as_bytes()) {
                break;
            }
        }
        latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
        tokio::time::sleep(pause.saturating_sub(sent.elapsed())).await;
    }
    latencies.sort_unstable();
    println!(
        "raw broker round trip (produce → consume, 1 KB, {count} messages): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        percentile(&latencies, 500).as_secs_f64() * 1e3,
        percentile(&latencies, 950).as_secs_f64() * 1e3,
        percentile(&latencies, 990).as_secs_f64() * 1e3
    );
    Ok(())
}
