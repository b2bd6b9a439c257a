//! Faults that are not crashes, end to end over the real broker and binaries (issue #10,
//! "Checked by"), each on a network of its own:
//! - the hub's database held under an exclusive lock for three minutes while bills stream:
//!   every bill completes once the database is back — no bill dead-lettered, none answered
//!   twice — and the agencies' settlements, the hub's ledger and the exchanges' records agree,
//!   with the hub's conservation checks green;
//! - 10,000 random and mutated messages onto every topic a service consumes: no service
//!   crashes, each message is dead-lettered once with its reason, and the next valid bill
//!   settles;
//! - 2,000 bills streamed while the broker, the hub, each agency and an exchange are SIGKILLed
//!   at seeded random moments and restarted: every bill answered exactly once with one
//!   `setl_id`, nothing counted twice, resends answered as the first, the same money
//!   everywhere and the checks green.
//!
//! The networks run one at a time (`SERIAL`): two at once on two cores starve each other.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

#[path = "e2e/his.rs"]
#[allow(dead_code)] // shared with e2e.rs, which uses all of it
mod his;
#[path = "e2e/network.rs"]
#[allow(dead_code)] // shared with e2e.rs, which uses all of it
mod network;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use yidi_sim::Simulator;
use yidi_store::{Row, Store};
use yidi_wire::codec::ContentType;
use yidi_wire::v1::{DischargeBill, SettleStatus};

use his::{bill, His};
use network::{serial, Network, EXCHANGES};

/// How long the hub's database stays locked: longer than any retry budget a counter could
/// have, which is the point.
const OUTAGE: Duration = Duration::from_secs(180);

async fn count(network: &Network, service: &str, sql: &'static str) -> i64 {
    let store = Store::connect(&network.database(service)).await.unwrap();
    sqlx::query(sql).fetch_one(store.pool()).await.unwrap().try_get::<i64, _>(0).unwrap()
}

#[test]
fn bills_stream_through_a_three_minute_hub_database_outage_and_all_complete_once() {
    let _serial = serial();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let network = Network::start();
        // Never dropped: closing its consumers can hang when a test fails mid-way, and then the
        // network (declared first, so dropped after it) would never be stopped.
        let his = std::mem::ManuallyDrop::new(His::connect(&network.client("operator"), &EXCHANGES));
        let mut simulator = Simulator::new(1010);
        let bills: Vec<DischargeBill> = (0..240u32)
            .map(|i| bill(&mut simulator, (i % 4) as usize, u64::from(i / 4), (i / 4) as usize, i))
            .collect();
        let (before, during) = bills.split_at(40);
        for bill in before {
            his.send(bill, ContentType::Protobuf).await;
        }
        // Another process takes the hub's database: every write of the hub waits and fails
        // busy, over and over, for three minutes.
        let hub_db = Store::connect(&network.database("hub")).await.unwrap();
        let mut lock = hub_db.pool().acquire().await.unwrap();
        sqlx::query("BEGIN EXCLUSIVE").execute(&mut *lock).await.unwrap();
        let locked_at = Instant::now();
        println!("faults: hub database locked; streaming {} more bills", during.len());
        for bill in during {
            his.send(bill, ContentType::Protobuf).await;
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        tokio::time::sleep(OUTAGE.saturating_sub(locked_at.elapsed())).await;
        sqlx::query("COMMIT").execute(&mut *lock).await.unwrap();
        drop(lock);
        println!("faults: hub database back after {:?}", locked_at.elapsed());

        let wanted: HashMap<String, usize> = bills.iter().map(|b| (b.msgid.clone(), 1)).collect();
        let results = his.results(&wanted, Duration::from_secs(240)).await;
        let mut settled = 0;
        for bill in &bills {
            let got = results.get(&bill.msgid).unwrap_or_else(|| panic!("no result for {}", bill.msgid));
            assert_eq!(got.len(), 1, "{} got {} results", bill.msgid, got.len());
            assert_ne!(got[0].status, SettleStatus::Unspecified as i32);
            settled += i64::from(got[0].status == SettleStatus::Settled as i32);
        }
        let letters = his.dead_letters(1, Duration::from_secs(2)).await;
        assert!(letters.is_empty(), "a transient fault became a dead letter: {letters:?}");

        same_money_everywhere(&network, settled).await;
        println!(
            "faults: {} bills through a {}-s hub database outage: {settled} settled, each answered once; agencies = hub = exchanges = {settled}; checks green",
            bills.len(),
            OUTAGE.as_secs()
        );
    });
}

/// Agencies' settlements = the hub's ledger = the exchanges' records = `settled`, and the
/// hub's conservation checks are green.
async fn same_money_everywhere(network: &Network, settled: i64) {
    let mut agencies = 0;
    for agency in ["agency-north", "agency-south"] {
        agencies +=
            count(network, agency, "SELECT COUNT(*) FROM settlement WHERE reversed = 0").await;
    }
    let hub =
        count(network, "hub", "SELECT COUNT(*) FROM settled_bill WHERE reversed_at IS NULL").await;
    let mut exchanges = 0;
    for exchange in EXCHANGES {
        let name = format!("exchange-{exchange}");
        let store = Store::connect(&network.database(&name)).await.unwrap();
        exchanges += sqlx::query("SELECT COUNT(*) FROM hospital_setl WHERE refd_period IS NULL")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap();
    }
    assert_eq!((agencies, hub, exchanges), (settled, settled, settled));
    let checks: serde_json::Value =
        reqwest::get(format!("http://127.0.0.1:{}/api/checks", network.dashboard))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    for check in checks.as_array().unwrap() {
        assert_eq!(check["ok"], serde_json::json!(true), "{check}");
    }
}

/// Garbage of the kinds a broken or hostile client sends: random bytes, and a valid bill with
/// bytes flipped, cut or inserted, as protobuf or as JSON.
fn garbage(rng: &mut fastrand::Rng, valid: &[Vec<u8>]) -> (Vec<u8>, &'static str) {
    let content_type = if rng.bool() { "application/x-protobuf" } else { "application/json" };
    let bytes = if rng.u8(..) < 96 {
        (0..rng.usize(0..400)).map(|_| rng.u8(..)).collect()
    } else {
        let mut bytes = valid[rng.usize(..valid.len())].clone();
        for _ in 0..rng.usize(1..6) {
            let at = rng.usize(..bytes.len().max(1)).min(bytes.len().saturating_sub(1));
            if let Some(byte) = bytes.get_mut(at) {
                *byte ^= rng.u8(1..);
            }
        }
        bytes.truncate(rng.usize(..=bytes.len()));
        bytes
    };
    (bytes, content_type)
}

#[test]
#[allow(clippy::too_many_lines)] // One scenario whose steps build on each other, read in order.
fn ten_thousand_malformed_messages_are_each_dead_lettered_and_the_next_bill_settles() {
    const MESSAGES: usize = 10_000;
    let _serial = serial();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let network = Network::start();
        // Never dropped: closing its consumers can hang when a test fails mid-way, and then the
        // network (declared first, so dropped after it) would never be stopped.
        let his = std::mem::ManuallyDrop::new(His::connect(&network.client("operator"), &EXCHANGES));
        let mut simulator = Simulator::new(77);
        let valid: Vec<Vec<u8>> = (0..8u32)
            .flat_map(|i| {
                let bill = bill(&mut simulator, (i % 4) as usize, u64::from(i), 0, 90_000 + i);
                [
                    yidi_wire::codec::encode(&bill, ContentType::Protobuf),
                    yidi_wire::codec::encode(&bill, ContentType::Json),
                ]
            })
            .collect();
        // Every topic a service consumes (the filing topic is the hub's; the exchanges follow it
        // and leave its dead letters to the hub, so each message is dead-lettered once).
        let mut consumed = vec![
            yidi_bus::topics::HUB_REQUESTS.to_owned(),
            yidi_bus::topics::HUB_RESULTS.to_owned(),
            yidi_bus::topics::FILING.to_owned(),
            yidi_bus::topics::HUB_STATEMENTS.to_owned(),
            yidi_bus::topics::HUB_SANCTIONS.to_owned(),
        ];
        for exchange in EXCHANGES {
            consumed.push(yidi_bus::topics::his_discharge(exchange));
            consumed.push(yidi_bus::topics::exchange_results(exchange));
            consumed.push(yidi_bus::topics::exchange_statements(exchange));
            consumed.push(yidi_bus::topics::exchange_hospitals(exchange));
        }
        for insured in ["110000", "120000", "310000", "440000"] {
            consumed.push(yidi_bus::topics::agency_requests(insured));
        }
        // Half the garbage is signed by a party allowed on its topic (an insider's bug, or a
        // stolen key): it reaches the decoders. The other half is unsigned and is refused at
        // the door.
        let parties: Vec<yidi_bus::Trust> = ["hub", "agency-north", "exchange-310000"]
            .into_iter()
            .map(String::from)
            .chain(EXCHANGES.iter().map(|e| format!("his-{e}")))
            .map(|name| network.trust(&name))
            .collect();
        let signer_for = |topic: &str| {
            parties.iter().find(|p| {
                let role = p.credentials.certificate().role().unwrap();
                yidi_bus::authority::may_publish(&role, topic)
            })
        };
        let mut rng = fastrand::Rng::with_seed(20261129);
        for n in 0..MESSAGES {
            let topic = &consumed[n % consumed.len()];
            let (bytes, content_type) = garbage(&mut rng, &valid);
            let signer = (n % 2 == 0).then(|| signer_for(topic)).flatten();
            let signer = signer.map(|trust| (trust, chrono::Utc::now()));
            his.send_signed(topic, &format!("fuzz-{n}"), &bytes, content_type, &format!("fuzz-{n}"), signer).await;
        }
        let letters = his.dead_letters(MESSAGES, Duration::from_secs(300)).await;
        let mut by_code: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        let mut sources = std::collections::HashSet::new();
        for letter in &letters {
            assert!(!letter.reason_code.is_empty() && !letter.reason.is_empty(), "{letter:?}");
            *by_code.entry(letter.reason_code.clone()).or_default() += 1;
            assert!(sources.insert((letter.topic.clone(), letter.partition, letter.offset)), "dead-lettered twice: {letter:?}");
        }
        assert_eq!(letters.len(), MESSAGES, "dead letters by reason: {by_code:?}");
        // The operator's view agrees, and a replay of one brings the message back to its topic
        // (refused again: it is still garbage).
        let yidi = |args: &[&str]| {
            let exe = std::env::current_exe().unwrap();
            let bin = exe.parent().and_then(std::path::Path::parent).unwrap().join("yidi");
            let output = std::process::Command::new(bin)
                .arg("dlq")
                .args(args)
                .env("YIDI_BROKERS", &network.brokers)
                .env("YIDI_KEYS", network.dir.join("keys"))
                .output()
                .unwrap();
            assert!(output.status.success(), "yidi dlq {args:?}: {}", String::from_utf8_lossy(&output.stderr));
            String::from_utf8(output.stdout).unwrap()
        };
        let listed = yidi(&["list"]);
        let counted: usize = listed
            .lines()
            .filter_map(|line| line.strip_prefix("# "))
            .filter_map(|line| line.rsplit(": ").next()?.parse::<usize>().ok())
            .sum();
        assert_eq!(counted, MESSAGES, "{}", listed.lines().rev().take(10).collect::<Vec<_>>().join("\n"));
        let shown: serde_json::Value = serde_json::from_str(&yidi(&["show", "--offset", "0"])).unwrap();
        assert!(!shown["reason_code"].as_str().unwrap().is_empty(), "{shown}");
        yidi(&["replay", "--offset", "0"]);
        let replayed = his.dead_letters(1, Duration::from_secs(60)).await;
        assert_eq!(replayed.len(), 1, "the replayed message was refused again");
        assert_eq!(replayed[0].topic, shown["topic"].as_str().unwrap());
        // Every service is still up, and a valid bill goes through.
        let good = bill(&mut simulator, 1, 500, 0, 99_999);
        his.send(&good, ContentType::Json).await;
        let wanted: HashMap<String, usize> = [(good.msgid.clone(), 1)].into_iter().collect();
        let results = his.results(&wanted, Duration::from_secs(120)).await;
        let answer = results.get(&good.msgid).unwrap_or_else(|| panic!("no answer after the garbage"));
        assert_eq!(answer[0].status, SettleStatus::Settled as i32, "{:?}", answer[0]);
        println!("faults: {MESSAGES} malformed messages on {} topics, each dead-lettered once: {by_code:?}; the next bill settled", consumed.len());
    });
}

#[test]
#[allow(clippy::too_many_lines)] // One scenario whose steps build on each other, read in order.
fn two_thousand_bills_through_sigkills_of_the_broker_the_hub_the_agencies_and_an_exchange() {
    const BILLS: u32 = 2_000;
    let _serial = serial();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut network = Network::start();
        // Never dropped: closing its consumers can hang when a test fails mid-way, and then the
        // network (declared first, so dropped after it) would never be stopped.
        let his = std::mem::ManuallyDrop::new(His::connect(&network.client("operator"), &EXCHANGES));
        let mut simulator = Simulator::new(2027);
        let bills: Vec<DischargeBill> = (0..BILLS)
            .map(|i| bill(&mut simulator, (i % 4) as usize, 600 + u64::from(i / 4), (i / 4) as usize, 20_000 + i))
            .collect();
        // The HIS streams at 20 bills/s on its own task: a send waits while the broker is
        // down, and the kills go on regardless.
        let sender = {
            let producer: rdkafka::producer::FutureProducer = network
                .client("operator")
                .set("enable.idempotence", "true")
                .set("linger.ms", "1")
                .create()
                .unwrap();
            let bills = bills.clone();
            tokio::spawn(async move {
                for bill in &bills {
                    let treatment = format!("{}0000", &bill.mdtrtarea_admvs[..2]);
                    let payload = yidi_wire::codec::encode(bill, ContentType::Protobuf);
                    let headers = rdkafka::message::OwnedHeaders::new()
                        .insert(rdkafka::message::Header { key: "content-type", value: Some("application/x-protobuf") })
                        .insert(rdkafka::message::Header { key: "msgid", value: Some(bill.msgid.as_str()) });
                    let topic = yidi_bus::topics::his_discharge(&treatment);
                    let record = rdkafka::producer::FutureRecord::to(&topic)
                        .key(&bill.mdtrt_id)
                        .payload(&payload)
                        .headers(headers);
                    producer.send(record, Duration::from_secs(300)).await.map_err(|(e, _)| e).unwrap();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        // Each victim is killed once, at a seeded random moment of the stream, and restarted
        // a few seconds later.
        let mut rng = fastrand::Rng::with_seed(7);
        let victims = ["broker", "hub", "agency-north", "agency-south", "exchange-440000"];
        let started = Instant::now();
        let mut schedule: Vec<(Duration, &str)> = victims
            .iter()
            .enumerate()
            .map(|(n, v)| (Duration::from_secs(8 + 18 * n as u64 + rng.u64(0..8)), *v))
            .collect();
        schedule.sort();
        for (at, victim) in schedule {
            tokio::time::sleep(at.saturating_sub(started.elapsed())).await;
            let down = Duration::from_millis(rng.u64(1_000..4_000));
            println!("chaos: SIGKILL {victim} at {:?}, down for {down:?}", started.elapsed());
            if victim == "broker" {
                network.kill_broker();
                tokio::time::sleep(down).await;
                network.restart_broker();
            } else {
                network.kill(victim);
                tokio::time::sleep(down).await;
                let name = victims.iter().copied().find(|v| *v == victim).unwrap();
                tokio::task::block_in_place(|| network.spawn(name));
            }
        }
        sender.await.unwrap();
        let wanted: HashMap<String, usize> = bills.iter().map(|b| (b.msgid.clone(), 1)).collect();
        let results = his.results(&wanted, Duration::from_secs(300)).await;
        let mut settled = 0;
        let mut repeats = 0;
        let mut setl_ids = std::collections::HashSet::new();
        for bill in &bills {
            let got = results.get(&bill.msgid).unwrap_or_else(|| panic!("no result for {}", bill.msgid));
            // A crash between an answer and its acknowledgement gives the HIS the same answer
            // again (never a loss, never another answer): one status, one setl_id per bill.
            let setl_id = |r: &yidi_wire::v1::SettleResult| r.setlinfo.as_ref().map(|i| i.setl_id.clone());
            assert!(
                got.iter().all(|r| r.status == got[0].status && setl_id(r) == setl_id(&got[0])),
                "{}: different answers {got:?}",
                bill.msgid
            );
            repeats += got.len() - 1;
            if got[0].status == SettleStatus::Settled as i32 {
                settled += 1;
                let setl_id = got[0].setlinfo.as_ref().map(|i| i.setl_id.clone()).unwrap_or_default();
                assert!(setl_ids.insert(setl_id), "{}: a setl_id given twice", bill.msgid);
            }
        }
        same_money_everywhere(&network, settled).await;
        // Resends are answered as the first.
        let resent = &bills[..100];
        for bill in resent {
            his.send(bill, ContentType::Protobuf).await;
        }
        let wanted: HashMap<String, usize> = resent.iter().map(|b| (b.msgid.clone(), 1)).collect();
        let again = his.results(&wanted, Duration::from_secs(120)).await;
        for bill in resent {
            let first = &results[&bill.msgid][0];
            let second = &again[&bill.msgid];
            assert!(second.iter().all(|r| r.duplicate), "{}", bill.msgid);
            assert_eq!(second[0].setlinfo.as_ref().map(|i| &i.setl_id), first.setlinfo.as_ref().map(|i| &i.setl_id));
        }
        println!(
            "faults: {BILLS} bills through SIGKILLs of {victims:?}: each answered, with one answer ({repeats} repeated to the HIS after a crash), {settled} settled with distinct setl_ids, agencies = hub = exchanges; resends answered as the first"
        );
    });
}
