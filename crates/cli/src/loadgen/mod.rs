//! `yidi loadgen`: a HIS simulator driving the running network, and its benchmark.
//!
//! It streams realistic bills (filed and unfiled persons, suspended ones, catalogue misses,
//! duplicates) to the exchanges' `his.<province>.discharge` topics and reads
//! `his.<province>.settlement`. The load is **open loop**: bill *n* of a step is due at
//! `start + n / rate`, is sent then whatever the network is doing, and its latency is counted
//! from that due time, so a stalled network cannot hide its queue by slowing the sender.
//! Latencies go into HDR histograms. With `--steps 50,100,200,…` it runs each rate for
//! `--duration` seconds, waits `--drain` seconds for the last answers, and prints a table:
//! latency, bills lost, and the CPU each process of the network spent per settlement (from
//! `/proc`), then the highest rate sustained with p99 < 1 s and nothing lost. In the same run
//! it measures the broker alone (`raw`) to compare with.

// Timing figures for display are floats; money never is (it is summed as Decimal below).
#![allow(clippy::float_arithmetic)]

mod cpu;
mod raw;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use hdrhistogram::Histogram;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use yidi_bus::topics;

use crate::broker::Broker;
use yidi_domain::ids::RegionCode;
use yidi_formats::catalogue_file::TreatmentCatalogue;
use yidi_sim::Simulator;
use yidi_wire::codec::{self, ContentType};
use yidi_wire::headers;
use yidi_wire::v1::{SettleResult, SettleStatus};

#[derive(clap::Args, Clone)]
pub struct Args {
    #[command(flatten)]
    broker: crate::broker::Broker,
    /// Bills per second (without --steps).
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// Rates to run one after the other, e.g. 50,100,200,500,1000,2000.
    #[arg(long, value_delimiter = ',')]
    steps: Vec<u32>,
    /// Seconds to send for (each step's length with --steps); 0 sends until Ctrl-C.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Seconds to wait for the last answers of a run or step before counting bills as lost.
    #[arg(long, default_value_t = 10)]
    drain: u64,
    /// Seconds to measure the idle network's CPU before sending anything (0 skips it).
    #[arg(long, default_value_t = 0)]
    idle: u64,
    /// Where `scripts/network.sh` keeps the pids of the network's processes.
    #[arg(long, default_value = ".run/pids")]
    pids: PathBuf,
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
    /// Messages of the raw broker round trip measured at the end (0 skips the raw broker).
    #[arg(long, default_value_t = 200)]
    roundtrip: u32,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// p99 under this, and nothing lost, is a sustained step (the national platform's
/// inpatient settlement answers in 0.8 s on average: domain.md §8).
const SUSTAINED_P99: Duration = Duration::from_secs(1);

/// How long the sender waits for the broker to take one bill.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// What the receiver has seen in the current run or step.
struct Tally {
    sent: u64,
    send_failed: u64,
    results: u64,
    latencies: Histogram<u64>,
    /// The latencies since the last live line.
    window: Histogram<u64>,
    by_outcome: BTreeMap<String, u64>,
    duplicates_answered: u64,
    funds: rust_decimal::Decimal,
    medfee: rust_decimal::Decimal,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            sent: 0,
            send_failed: 0,
            results: 0,
            latencies: histogram(),
            window: histogram(),
            by_outcome: BTreeMap::new(),
            duplicates_answered: 0,
            funds: rust_decimal::Decimal::ZERO,
            medfee: rust_decimal::Decimal::ZERO,
        }
    }
}

/// Bills waiting for their result, by msgid, with the time each was due to be sent.
type Pending = Arc<Mutex<HashMap<String, Instant>>>;
type Shared = Arc<Mutex<Tally>>;

/// Microseconds, 1 µs to an hour, three significant digits.
#[allow(clippy::expect_used)] // constant bounds, checked by the test below
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

pub(crate) fn millis(micros: u64) -> f64 {
    Duration::from_micros(micros).as_secs_f64() * 1e3
}

/// Milliseconds of `used` per settlement, for the report.
fn per_settlement(used: Duration, settlements: u64) -> f64 {
    (used / u32::try_from(settlements.max(1)).unwrap_or(u32::MAX)).as_secs_f64() * 1e3
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(drive(args.clone()))
}

/// An outsider's client settings: librdkafka's defaults, a group id, no automatic commits.
fn outsider(broker: &Broker, group: &str) -> anyhow::Result<ClientConfig> {
    let mut config = broker.client()?;
    config.set("group.id", group).set("enable.auto.commit", "false");
    Ok(config)
}

/// A consumer as an outsider writes one: librdkafka's defaults but for the group settings.
pub(crate) fn consumer(
    broker: &Broker,
    group: &str,
    topics: &[String],
) -> anyhow::Result<StreamConsumer> {
    let consumer: StreamConsumer = outsider(broker, group)?
        .set("auto.offset.reset", "latest")
        .set("session.timeout.ms", "6000")
        .create()?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names)?;
    Ok(consumer)
}

/// The HIS's reader of its results: every partition of `topics`, from where each ends now.
/// It takes the partitions itself instead of joining a group: a group does not survive a
/// broker SIGKILL under tansu 0.6, and a member that joins again without committed offsets
/// starts at the end and misses every result answered meanwhile (seen: 61 of 1,566 bills
/// counted unanswered while the network had answered all of them). An assigned consumer keeps
/// its position through a broker restart.
fn results_consumer(
    broker: &Broker,
    group: &str,
    topics: &[String],
) -> anyhow::Result<StreamConsumer> {
    let consumer: StreamConsumer = outsider(broker, group)?.create()?;
    let mut assignment = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
        for found in metadata.topics() {
            for partition in found.partitions() {
                let (_, end) =
                    consumer.fetch_watermarks(topic, partition.id(), Duration::from_secs(10))?;
                assignment.add_partition_offset(topic, partition.id(), Offset::Offset(end))?;
            }
        }
    }
    if assignment.count() < topics.len() {
        return Err(anyhow!(
            "the result topics have no partitions: is the network up (`make up`)?"
        ));
    }
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// Waits until the group has its partitions, so nothing produced afterwards is missed.
pub(crate) async fn assigned(consumer: &StreamConsumer, partitions: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await;
        if consumer.assignment().map(|a| a.count()).unwrap_or(0) >= partitions {
            return Ok(());
        }
    }
    Err(anyhow!("the result consumer got no partitions in 30 s: is the network up (`make up`)?"))
}

pub(crate) fn producer(broker: &Broker) -> anyhow::Result<FutureProducer> {
    Ok(broker
        .client()?
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        // Gives up when the sender does, so a bill counted as not sent was not sent.
        .set("message.timeout.ms", SEND_TIMEOUT.as_millis().to_string())
        .create()?)
}

/// Everything a step needs to send bills.
struct Hospitals {
    args: Args,
    producer: FutureProducer,
    simulator: Simulator,
    treatments: Vec<RegionCode>,
    insured: Vec<RegionCode>,
    catalogues: Vec<TreatmentCatalogue>,
    sequence: u32,
    pending: Pending,
    tally: Shared,
}

/// One step's figures.
struct Step {
    rate: u32,
    seconds: f64,
    tally: Tally,
    lost: u64,
    cpu: BTreeMap<String, Duration>,
}

impl Step {
    /// Bills answered (the first answer of each): the settlements the CPU is divided by.
    fn settlements(&self) -> u64 {
        self.tally.latencies.len()
    }

    fn sustained(&self) -> bool {
        self.lost == 0
            && self.tally.send_failed == 0
            && self.settlements() > 0
            && self.tally.latencies.value_at_quantile(0.99) < micros(SUSTAINED_P99)
    }

    fn cpu_ms_per_settlement(&self, roles: &[&str]) -> f64 {
        let used: Duration = self
            .cpu
            .iter()
            .filter(|(name, _)| roles.contains(&cpu::role(name)))
            .map(|(_, used)| *used)
            .sum();
        per_settlement(used, self.settlements())
    }
}

/// A list of region codes from the command line, or an error naming the flag.
fn regions(codes: &[String], flag: &str) -> anyhow::Result<Vec<RegionCode>> {
    codes
        .iter()
        .map(|code| code.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("{flag}: {e}"))
}

pub(crate) fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

async fn drive(args: Args) -> anyhow::Result<()> {
    let treatments = regions(&args.treatment, "--treatment")?;
    let insured = regions(&args.insured, "--insured")?;
    let result_topics: Vec<String> =
        treatments.iter().map(|t| topics::his_settlement(t.as_str())).collect();
    let group = format!("loadgen-{}-{}", std::process::id(), chrono::Utc::now().timestamp_millis());
    let results = results_consumer(&args.broker, &group, &result_topics)?;
    let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
    let tally: Shared = Arc::new(Mutex::new(Tally::new()));
    let receiver = tokio::spawn(receive(results, pending.clone(), tally.clone()));
    let mut hospitals = Hospitals {
        producer: producer(&args.broker)?,
        // The network may hold this registry's stays from an earlier run: each stay billed
        // now begins after this run does, so none is refused as paid already.
        simulator: Simulator::new(args.seed)
            .stays_begin_after(yidi_runtime::clock::BusinessClock::default().now()),
        treatments,
        insured,
        catalogues: yidi_data::treatment_catalogues()?,
        sequence: 0,
        pending,
        tally,
        args: args.clone(),
    };
    // Connect the producer before the schedule starts, so its start-up is not a bill's wait.
    let discharge: Vec<String> =
        hospitals.treatments.iter().map(|t| topics::his_discharge(t.as_str())).collect();
    let client = hospitals.producer.clone();
    tokio::task::spawn_blocking(move || {
        for topic in &discharge {
            rdkafka::producer::Producer::client(&client)
                .fetch_metadata(Some(topic), Duration::from_secs(10))?;
        }
        anyhow::Ok(())
    })
    .await
    .context("connecting the producer")??;
    if args.idle > 0 {
        idle(&args).await;
    }
    if args.steps.is_empty() {
        let step = hospitals.step(args.rate, true).await?;
        print_final(&step);
    } else {
        let mut steps = Vec::new();
        for rate in &args.steps {
            println!("== step: {rate} bills/s for {} s", args.duration);
            let step = hospitals.step(*rate, false).await?;
            print_row_header();
            print_row(&step);
            steps.push(step);
        }
        print_table(&steps);
    }
    receiver.abort();
    if args.roundtrip > 0 {
        raw::measure(&args.broker, args.roundtrip).await?;
    }
    Ok(())
}

/// The network with nothing to do: each process's share of one core.
async fn idle(args: &Args) {
    let before = cpu::Sample::take(&args.pids);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.idle)).await;
    let used = cpu::Sample::take(&args.pids).since(&before);
    let seconds = started.elapsed().as_secs_f64();
    let share = |d: &Duration| d.as_secs_f64() * 100.0 / seconds;
    // The network itself: not this load generator, nor the Prometheus watching it.
    let total: f64 = used
        .iter()
        .filter(|(n, _)| !matches!(n.as_str(), "loadgen" | "prometheus"))
        .map(|(_, d)| share(d))
        .sum();
    let each: Vec<String> = used.iter().map(|(n, d)| format!("{n} {:.1} %", share(d))).collect();
    println!(
        "idle network ({:.0} s, no bills): {total:.1} % of one core — {}",
        seconds,
        each.join(", ")
    );
}

impl Hospitals {
    /// Sends at `rate` for the configured duration on an open-loop schedule, then waits for
    /// the answers; with `live`, prints a line every second.
    async fn step(&mut self, rate: u32, live: bool) -> anyhow::Result<Step> {
        if let Ok(mut tally) = self.tally.lock() {
            *tally = Tally::new();
        }
        let cpu_before = cpu::Sample::take(&self.args.pids);
        let started = Instant::now();
        let length = Duration::from_secs(self.args.duration);
        let stop = tokio::signal::ctrl_c();
        tokio::pin!(stop);
        let mut report = tokio::time::interval(Duration::from_secs(1));
        let mut number: u64 = 0;
        loop {
            let due = started
                + Duration::from_nanos(
                    number.saturating_mul(1_000_000_000) / u64::from(rate.max(1)),
                );
            if self.args.duration > 0 && due >= started + length {
                break;
            }
            tokio::select! {
                _ = &mut stop => break,
                _ = report.tick(), if live => print_line(started, &self.tally, &self.pending),
                () = tokio::time::sleep_until(due.into()) => {
                    self.send_one(due)?;
                    number += 1;
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let drain = Instant::now() + Duration::from_secs(self.args.drain);
        while Instant::now() < drain && self.pending.lock().map(|p| !p.is_empty()).unwrap_or(false)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let cpu = cpu::Sample::take(&self.args.pids).since(&cpu_before);
        // What is still waiting now is lost for this step; a late answer is not counted.
        let lost = self
            .pending
            .lock()
            .map(|mut p| u64::try_from(p.drain().count()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let tally = self.tally.lock().map(|mut t| std::mem::replace(&mut *t, Tally::new()));
        let tally = tally.map_err(|_| anyhow!("the tally's lock was poisoned"))?;
        Ok(Step { rate, seconds, tally, lost, cpu })
    }

    /// Builds the next bill and hands it to the producer without waiting for the broker: the
    /// schedule, not the network, sets the pace.
    fn send_one(&mut self, due: Instant) -> anyhow::Result<()> {
        let sim = &mut self.simulator;
        let treatment = self.treatments[usize::try_from(
            sim.below(u64::try_from(self.treatments.len()).unwrap_or(0)),
        )
        .unwrap_or(0)];
        let choices: Vec<&RegionCode> =
            self.insured.iter().filter(|r| !r.same_province(treatment)).collect();
        let Some(region) = choices.get(
            usize::try_from(sim.below(u64::try_from(choices.len()).unwrap_or(0))).unwrap_or(0),
        ) else {
            return Ok(());
        };
        let Some(catalogue) = self.catalogues.iter().find(|c| c.region == treatment) else {
            return Err(anyhow!("no catalogue for {treatment}"));
        };
        self.sequence = self.sequence.wrapping_add(1);
        let person = sim.below(self.args.persons);
        let bill = yidi_sim::his::discharge(
            sim,
            **region,
            person,
            catalogue,
            yidi_runtime::clock::BusinessClock::default().now(),
            self.sequence,
        );
        let content_type =
            if sim.chance(self.args.json) { ContentType::Json } else { ContentType::Protobuf };
        let payload = codec::encode(&bill, content_type);
        let copies = if sim.chance(self.args.duplicates) { 2 } else { 1 };
        let topic = topics::his_discharge(treatment.as_str());
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(bill.msgid.clone(), due);
        }
        for _ in 0..copies {
            let record_headers = OwnedHeaders::new()
                .insert(Header { key: headers::CONTENT_TYPE, value: Some(content_type.header()) })
                .insert(Header { key: headers::MSGID, value: Some(bill.msgid.as_str()) })
                .insert(Header { key: headers::MDTRT_ID, value: Some(bill.mdtrt_id.as_str()) })
                .insert(Header { key: headers::MSG_TYPE, value: Some("yidi.v1.DischargeBill") });
            // Keyed by person, as yidi keys everything about a person: one order per person.
            let key = yidi_wire::convert::person_key(&bill.psn_no);
            let record =
                FutureRecord::to(&topic).key(&key).payload(&payload).headers(record_headers);
            let delivery = self.producer.send_result(record).map_err(|(error, _)| error);
            let (tally, pending, msgid) =
                (self.tally.clone(), self.pending.clone(), bill.msgid.clone());
            tokio::spawn(async move {
                let delivered = match delivery {
                    Ok(delivery) => {
                        matches!(tokio::time::timeout(SEND_TIMEOUT, delivery).await, Ok(Ok(Ok(_))))
                    }
                    Err(_) => false,
                };
                if let Ok(mut tally) = tally.lock() {
                    if delivered {
                        tally.sent += 1;
                    } else {
                        tally.send_failed += 1;
                    }
                }
                if !delivered {
                    if let Ok(mut pending) = pending.lock() {
                        pending.remove(&msgid);
                    }
                }
            });
        }
        Ok(())
    }
}

async fn receive(consumer: StreamConsumer, pending: Pending, tally: Shared) {
    loop {
        let Ok(message) = consumer.recv().await else {
            continue;
        };
        let incoming = yidi_bus::Incoming::from_kafka(&message);
        let Ok(result) = incoming.decode::<SettleResult>("SettleResult") else {
            continue;
        };
        let msgid = incoming.header(headers::MSGID).unwrap_or_default();
        let due = pending.lock().ok().and_then(|mut p| p.remove(msgid));
        if let Ok(mut tally) = tally.lock() {
            tally.results += 1;
            if let Some(due) = due {
                let latency = micros(due.elapsed());
                tally.latencies.saturating_record(latency);
                tally.window.saturating_record(latency);
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

fn print_line(started: Instant, tally: &Shared, pending: &Pending) {
    let Ok(mut tally) = tally.lock() else { return };
    let waiting = pending.lock().map(|p| p.len()).unwrap_or(0);
    let rejected: Vec<String> = tally
        .by_outcome
        .iter()
        .filter(|(k, _)| k.starts_with("rejected"))
        .map(|(k, v)| format!("{}={v}", &k[9..]))
        .collect();
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    println!(
        "{:>4.0}s sent {:>6} results {:>6} ({:>6.1}/s) p50 {:>4.0} ms p99 {:>4.0} ms (last second: p99 {:>4.0} ms) waiting {:>4} rejected [{}]",
        seconds,
        tally.sent,
        tally.results,
        f64::from(u32::try_from(tally.results).unwrap_or(u32::MAX)) / seconds,
        millis(tally.latencies.value_at_quantile(0.5)),
        millis(tally.latencies.value_at_quantile(0.99)),
        millis(tally.window.value_at_quantile(0.99)),
        waiting,
        rejected.join(" ")
    );
    tally.window.reset();
}

fn print_final(step: &Step) {
    let tally = &step.tally;
    println!(
        "== loadgen: {} bills sent in {:.1} s ({} failed to send), {} results, {} unanswered",
        tally.sent, step.seconds, tally.send_failed, tally.results, step.lost
    );
    println!(
        "settlement round trip (HIS → exchange → hub → agency → hub → exchange → HIS, from each bill's due time): \
         p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        millis(tally.latencies.value_at_quantile(0.5)),
        millis(tally.latencies.value_at_quantile(0.95)),
        millis(tally.latencies.value_at_quantile(0.99)),
        millis(tally.latencies.max())
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
    print_cpu(step);
}

fn print_cpu(step: &Step) {
    let each: Vec<String> = step
        .cpu
        .iter()
        .map(|(name, used)| format!("{name} {:.3}", per_settlement(*used, step.settlements())))
        .collect();
    println!("  CPU ms per settlement: {}", each.join(", "));
}

fn print_row_header() {
    println!(
        "{:>7} {:>7} {:>7} {:>5} {:>8} {:>8} {:>8} {:>9} | CPU ms/settlement: {:>6} {:>6} {:>6} {:>8} {:>8}",
        "rate/s", "sent", "answered", "lost", "p50 ms", "p99 ms", "max ms", "sustained",
        "broker", "hub", "agency", "exchange", "services"
    );
}

fn print_row(step: &Step) {
    let hist = &step.tally.latencies;
    println!(
        "{:>7} {:>7} {:>8} {:>5} {:>8.1} {:>8.1} {:>8.1} {:>9} | {:>25.3} {:>6.3} {:>6.3} {:>8.3} {:>8.3}",
        step.rate,
        step.tally.sent,
        step.settlements(),
        step.lost + step.tally.send_failed,
        millis(hist.value_at_quantile(0.5)),
        millis(hist.value_at_quantile(0.99)),
        millis(hist.max()),
        if step.sustained() { "yes" } else { "no" },
        step.cpu_ms_per_settlement(&["broker"]),
        step.cpu_ms_per_settlement(&["hub"]),
        step.cpu_ms_per_settlement(&["agency"]),
        step.cpu_ms_per_settlement(&["exchange"]),
        step.cpu_ms_per_settlement(&["hub", "agency", "exchange"]),
    );
}

fn print_table(steps: &[Step]) {
    println!(
        "== steps ({} s each; sustained = p99 < 1 s and nothing lost)",
        steps.first().map_or(0.0, |s| s.seconds).round()
    );
    print_row_header();
    for step in steps {
        print_row(step);
    }
    match steps.iter().filter(|s| s.sustained()).map(|s| s.rate).max() {
        Some(rate) => println!("highest rate sustained: {rate} bills/s"),
        None => println!("highest rate sustained: none of the steps"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_are_kept_from_a_microsecond_to_an_hour_to_three_digits() {
        let mut latencies = histogram();
        latencies.saturating_record(1);
        latencies.saturating_record(3_600_000_000);
        latencies.saturating_record(7_200_000_000);
        assert_eq!(latencies.len(), 3);
        assert!(latencies.max() >= 3_600_000_000);
    }

    fn step(latencies_ms: &[u64], lost: u64) -> Step {
        let mut tally = Tally::new();
        for ms in latencies_ms {
            tally.latencies.saturating_record(ms * 1000);
        }
        Step { rate: 100, seconds: 60.0, tally, lost, cpu: BTreeMap::new() }
    }

    #[test]
    fn a_step_is_sustained_only_with_p99_under_a_second_and_nothing_lost() {
        let fast = [40; 100];
        assert!(step(&fast, 0).sustained());
        assert!(!step(&fast, 1).sustained(), "a lost bill fails the step");
        let mut slow_tail = vec![40; 98];
        slow_tail.extend([1500, 1500]);
        assert!(!step(&slow_tail, 0).sustained(), "p99 of 1.5 s fails the step");
        assert!(!step(&[], 0).sustained(), "a step with no answer sustained nothing");
    }

    #[test]
    fn cpu_per_settlement_adds_the_processes_of_a_role() {
        let mut measured = step(&[40; 1000], 0);
        measured.cpu.insert("agency-north".into(), Duration::from_millis(150));
        measured.cpu.insert("agency-south".into(), Duration::from_millis(50));
        measured.cpu.insert("hub".into(), Duration::from_millis(100));
        assert!((measured.cpu_ms_per_settlement(&["agency"]) - 0.2).abs() < 1e-9);
        assert!((measured.cpu_ms_per_settlement(&["hub", "agency"]) - 0.3).abs() < 1e-9);
    }
}
