//! End to end, against the real broker the project installs (tansu) and the real service
//! binaries: hub, two agencies hosting four insured regions, four treatment exchanges.
//!
//! Each scenario is a test of its own (`cargo test --test e2e -- grpc` runs the gRPC ones),
//! all over one network that `main` starts on first use and stops after the last, one at a
//! time and in this order (issue #4, "Checked by"; issue #14 §6):
//! 1. 1,000 bills across 4 insured regions and 4 treatment provinces each get exactly one
//!    result, equal to `yidi quote` on the same inputs; suspended persons' rejections reach
//!    the HIS; every answer's receipt verifies; the services' metrics count them; one bill is
//!    one trace, and `yidi trace` and the dashboard say where it is.
//! 2. Every bill sent again: the same results, accumulators counted once.
//! 3. Malformed messages go to the dead-letter topic with the reason; the stream continues.
//! 4. An agency killed with SIGKILL mid-stream and restarted: every bill completes, none is
//!    counted twice.
//! 5. gRPC: settle, pre-settle and look up; a timed-out or abandoned call is reversed.
//! 6. The agency's filing and registry service over gRPC.
//! 7. On a network of its own (issue #9 §6): an agency run as two processes in one consumer
//!    group shares the bills, and one of them killed mid-stream loses nothing; an exchange run
//!    as two answers gRPC calls and applies a suspension in both.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

#[path = "e2e/his.rs"]
mod his;
#[path = "e2e/network.rs"]
#[allow(dead_code)] // shared with faults.rs, which restarts the broker
mod network;
#[path = "e2e/otlp.rs"]
mod otlp;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{Datelike, NaiveDateTime};
use serde_json::Value;
use yidi_domain::benefit::{self, BenefitRules, Category};
use yidi_domain::catalogue::{Catalogue, Quantity, UnitPrice};
use yidi_domain::claim::{Accumulators, BillLine, Claim, Person};
use yidi_domain::filing::{self, Episode};
use yidi_domain::ids::{HospitalLevel, RegionCode, Scheme};
use yidi_formats::case_out::CaseOut;
use yidi_formats::QuoteCase;
use yidi_sim::{registry, Simulator};
use yidi_store::{Row, Store};
use yidi_wire::codec::ContentType;
use yidi_wire::convert::TIME_FORMAT;
use yidi_wire::v1::exchange_client::ExchangeClient;
use yidi_wire::v1::{DischargeBill, GetSettlementRequest, SettleResult, SettleStatus};

use his::{bill, His};
use network::{metric_sum, Network, EXCHANGES};
use otlp::Collector;

/// What `yidi quote` says of each bill, from the same inputs the agency has: the sample
/// person's registry record, filings and (fresh) accumulators, the insured region's policy,
/// the treatment province's catalogue.
fn quote(bills: &[DischargeBill]) -> Vec<Value> {
    let regions = yidi_data::insured_regions().unwrap();
    let catalogues = yidi_data::treatment_catalogues().unwrap();
    let cases: Vec<CaseOut> =
        bills.iter().map(|bill| case_of(bill, &regions, &catalogues)).collect();
    let input = std::env::temp_dir().join(format!("yidi-e2e-cases-{}.json", std::process::id()));
    std::fs::write(&input, serde_json::to_vec(&cases).unwrap()).unwrap();
    let yidi = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("yidi");
    let output = std::process::Command::new(&yidi).arg("quote").arg(&input).output().unwrap();
    let _ = std::fs::remove_file(&input);
    assert!(output.status.success(), "yidi quote: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice::<Vec<Value>>(&output.stdout).unwrap()
}

/// The `yidi quote` case of one bill: the person as the registry seeds them, their filings
/// and fresh accumulators, the insured region's policy, the lines priced by the catalogue.
fn case_of(
    bill: &DischargeBill,
    regions: &[yidi_domain::policy::InsuredRegion],
    catalogues: &[yidi_formats::catalogue_file::TreatmentCatalogue],
) -> CaseOut {
    let insured: RegionCode = bill.insuplc_admdvs.parse().unwrap();
    let region = regions.iter().find(|r| r.region == insured).unwrap();
    let discharged = NaiveDateTime::parse_from_str(&bill.endtime, TIME_FORMAT).unwrap();
    let admitted = NaiveDateTime::parse_from_str(&bill.begntime, TIME_FORMAT).unwrap();
    let index = registry::index_of(insured, &bill.psn_no).unwrap();
    let person =
        registry::person(insured, index, yidi_runtime::clock::BusinessClock::default().today());
    let policy = region.policy_on(person.scheme, admitted.date()).unwrap();
    let day = discharged.date();
    let treatment: RegionCode = bill.mdtrtarea_admvs.parse().unwrap();
    let episode = Episode {
        insured_region: insured,
        treatment_region: treatment,
        admitted_on: admitted.date(),
        settled_at: discharged,
        emergency: bill.emergency,
    };
    let filing_class =
        filing::decide(&person.domain_filings(), &episode, &region.filing, &policy.cross_province)
            .class;
    let (lines, used) = lines_of(bill, treatment, catalogues);
    let claim = Claim {
        person: Person {
            retiree: matches!(person.category, Category::Retiree(r) if r.retired_on <= day),
            assistance_eligible: person.assistance_eligible,
            // Judged on the admission day, as the agency does.
            benefit_status: benefit::decide(
                &person.registration(),
                &BenefitRules::default(),
                admitted.date(),
            )
            .status,
            use_account: bill.acct_used_flag && person.scheme == Scheme::Employee,
            account_balance: person.account_balance,
            contribution_tier: person.contribution_tier,
            large_amount_contributor: person.large_amount_contributor,
        },
        filing: filing_class,
        hospital_level: HospitalLevel::from_number(u64::try_from(bill.hosp_lv).unwrap()).unwrap(),
        ytd: Accumulators::default(),
        lines,
        flags: yidi_wire::convert::flags(bill).unwrap(),
    };
    CaseOut::from_case(&QuoteCase { policy: policy.clone(), catalogue: used, claim })
}

/// A bill's lines, and the part of its treatment province's catalogue they use.
fn lines_of(
    bill: &DischargeBill,
    treatment: RegionCode,
    catalogues: &[yidi_formats::catalogue_file::TreatmentCatalogue],
) -> (Vec<BillLine>, Catalogue) {
    let catalogue =
        &catalogues.iter().find(|c| c.region == treatment.province()).unwrap().catalogue;
    let lines: Vec<BillLine> = bill
        .feedetail
        .iter()
        .map(|fee| BillLine {
            code: fee.med_list_codg.clone(),
            quantity: Quantity::new(fee.cnt.parse().unwrap()).unwrap(),
            unit_price: UnitPrice::new(fee.pric.parse().unwrap()).unwrap(),
        })
        .collect();
    let used = Catalogue {
        version: catalogue.version.clone(),
        items: lines
            .iter()
            .filter_map(|l| catalogue.item(&l.code).map(|i| (l.code.clone(), i.clone())))
            .collect(),
    };
    (lines, used)
}

/// Asserts the network's result equals the quote.
fn assert_same(result: &SettleResult, expected: &Value) {
    if expected["status"] == "rejected" {
        assert_eq!(
            result.status,
            SettleStatus::Rejected as i32,
            "{} expected {expected}",
            result.msgid
        );
        assert_eq!(result.reason, expected["reason"].as_str().unwrap(), "{}", result.msgid);
        // Every refusal says which rule it rests on; one for benefits says why (issue #13 §9).
        assert!(!result.rule.is_empty(), "{} refused without a rule", result.msgid);
        if result.reason == "benefits_suspended" {
            assert!(!result.trt_chk_rslt.is_empty(), "{} without trt_chk_rslt", result.msgid);
        }
        return;
    }
    assert_eq!(
        result.status,
        SettleStatus::Settled as i32,
        "{} was {} {:?}, expected settled",
        result.msgid,
        result.status,
        result.reason
    );
    let info = result.setlinfo.as_ref().unwrap();
    let pairs = [
        ("medfee_sumamt", &info.medfee_sumamt),
        ("fulamt_ownpay_amt", &info.fulamt_ownpay_amt),
        ("overlmt_selfpay", &info.overlmt_selfpay),
        ("preselfpay_amt", &info.preselfpay_amt),
        ("inscp_scp_amt", &info.inscp_scp_amt),
        ("act_pay_dedc", &info.act_pay_dedc),
        ("pool_ratio", &info.pool_prop_selfpay),
        ("hifp_pay", &info.hifp_pay),
        ("hifob_pay", &info.hifob_pay),
        ("hifmi_pay", &info.hifmi_pay),
        ("maf_pay", &info.maf_pay),
        ("fund_pay_sumamt", &info.fund_pay_sumamt),
        ("psn_part_amt", &info.psn_part_amt),
        ("acct_pay", &info.acct_pay),
        ("psn_cash_pay", &info.psn_cash_pay),
        ("balc", &info.balc),
    ];
    for (field, actual) in pairs {
        assert_eq!(expected[field].as_str().unwrap(), actual, "{} {field}", result.msgid);
    }
    assert_eq!(expected["third_party_recovery"].as_bool().unwrap(), info.third_party_recovery);
}

fn once(bills: &[DischargeBill]) -> HashMap<String, usize> {
    bills.iter().map(|b| (b.msgid.clone(), 1)).collect()
}

/// Settled bills recorded by the agencies, and the admissions their accumulators count.
async fn agency_counts(network: &Network) -> (i64, i64) {
    let mut settled = 0;
    let mut admissions = 0;
    for agency in ["agency-north", "agency-south"] {
        let store = Store::connect(&network.database(agency)).await.unwrap();
        let row = sqlx::query("SELECT COUNT(*) FROM settlement WHERE reversed = 0")
            .fetch_one(store.pool())
            .await
            .unwrap();
        settled += row.try_get::<i64, _>(0).unwrap();
        let year = i64::from(yidi_runtime::clock::BusinessClock::default().today().year());
        let row =
            sqlx::query("SELECT COALESCE(SUM(admissions), 0) FROM accumulator WHERE year = $1")
                .bind(year)
                .fetch_one(store.pool())
                .await
                .unwrap();
        admissions += row.try_get::<i64, _>(0).unwrap();
    }
    (settled, admissions)
}

/// The spans of `bill` chained parent to child along `hops` (service, span name), waiting up
/// to 30 s for the services' batched exports.
async fn chain_of(
    collector: &Collector,
    bill: &DischargeBill,
    hops: &[(String, String)],
) -> Vec<otlp::Received> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let spans = collector.spans();
        let first = spans
            .iter()
            .find(|s| s.name == hops[0].1 && s.attributes.get("yidi.msgid") == Some(&bill.msgid));
        let chain: Option<Vec<_>> = first.map(|first| {
            let mut chain = vec![first.clone()];
            for (_, name) in &hops[1..] {
                let parent = chain.last().unwrap();
                match spans.iter().find(|s| s.name == *name && s.parent_span_id == parent.span_id) {
                    Some(child) => chain.push(child.clone()),
                    None => break,
                }
            }
            chain
        });
        match chain {
            Some(chain) if chain.len() == hops.len() => return chain,
            found => assert!(
                std::time::Instant::now() < deadline,
                "no complete trace for {}: {:?}",
                bill.msgid,
                found.map(|c| c
                    .iter()
                    .map(|s| (s.service.clone(), s.name.clone()))
                    .collect::<Vec<_>>())
            ),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// One settled bill is one trace across every hop (issue #12 §1): the spans the services
/// exported to the harness's OTLP receiver chain exchange → hub → agency → hub → exchange,
/// each the child of the one before it and starting after it, with the bill's ids and regions
/// as attributes and no person's number anywhere.
async fn one_trace_per_bill(collector: &Collector, bill: &DischargeBill) {
    let treatment = format!("{}0000", &bill.mdtrtarea_admvs[..2]);
    let insured = format!("{}0000", &bill.insuplc_admdvs[..2]);
    let hops = [
        (format!("exchange-{treatment}"), format!("consume his.{treatment}.discharge")),
        ("hub".to_owned(), "consume hub.requests".to_owned()),
        (String::new(), format!("consume agency.{insured}.requests")),
        ("hub".to_owned(), "consume hub.results".to_owned()),
        (format!("exchange-{treatment}"), format!("consume exchange.{treatment}.results")),
    ];
    let chain = chain_of(collector, bill, &hops).await;
    for ((service, _), span) in hops.iter().zip(&chain) {
        assert_eq!(span.trace_id, chain[0].trace_id, "one trace id across the hops");
        if service.is_empty() {
            assert!(span.service.starts_with("agency-"), "{span:?}");
        } else {
            assert_eq!(&span.service, service);
        }
        assert_eq!(span.attributes.get("yidi.msgid"), Some(&bill.msgid), "{span:?}");
        assert!(span.end >= span.start, "{span:?}");
        assert_eq!(
            span.attributes.get("yidi.outcome").map(String::as_str),
            Some("decided"),
            "{span:?}"
        );
    }
    // The request to the hub names the bill's episode and its insured region.
    assert_eq!(chain[1].attributes.get("yidi.mdtrt_id"), Some(&bill.mdtrt_id));
    assert_eq!(chain[1].attributes.get("yidi.receiver_region"), Some(&bill.insuplc_admdvs));
    for pair in chain.windows(2) {
        assert!(pair[0].start <= pair[1].start, "a parent starts before its child: {pair:?}");
    }
    let all = collector.spans();
    let of_trace: Vec<_> = all.iter().filter(|s| s.trace_id == chain[0].trace_id).collect();
    assert!(
        of_trace.iter().any(|s| s.name == "decide") && of_trace.iter().any(|s| s.name == "produce")
    );
    for span in &of_trace {
        for value in span.attributes.values() {
            assert!(!value.contains(&bill.psn_no), "a person's number in span {span:?}");
        }
    }
    println!(
        "e2e 1: bill {} is one trace of {} spans across {} hops",
        bill.msgid,
        of_trace.len(),
        chain.len()
    );
}

/// `yidi trace` tells a bill's path from the services' own records (issue #12 §6): the
/// exchange received and answered it, the agency of its insured region decided it, the hub
/// entered it in the clearing ledger — each with its time.
fn where_is_my_bill(network: &Network, bill: &DischargeBill) {
    let treatment = format!("exchange-{}0000", &bill.mdtrtarea_admvs[..2]);
    let by_msgid = network.trace(&bill.msgid);
    let line = |service: &str, says: &str| {
        by_msgid.lines().any(|line| line.contains(service) && line.contains(says))
    };
    assert!(line(&treatment, "received over kafka; answered SETTLED setl_id"), "{by_msgid}");
    assert!(line("agency-", "decided: SETTLED setl_id"), "{by_msgid}");
    assert!(line("agency-", "funds' shares recorded, in force"), "{by_msgid}");
    assert!(line("hub", "entered in the clearing ledger"), "{by_msgid}");
    assert!(!by_msgid.contains(&bill.psn_no), "{by_msgid}");
    let by_episode = network.trace(&bill.mdtrt_id);
    let steps = |text: &str| text.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(steps(&by_episode), steps(&by_msgid), "by episode as by msgid");
    // The ministry's dashboard shows the hub's part: the bill in the clearing ledger.
    let (status, body) =
        network::http_get(network.dashboard, &format!("/api/bill?id={}", bill.msgid)).unwrap();
    assert_eq!(status, 200, "{body}");
    let found: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(found["ledger"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(found["ledger"][0]["insured"], bill.insuplc_admdvs.as_str(), "{body}");
    let setl_id = found["ledger"][0]["setl_id"].as_str().unwrap().to_owned();
    assert!(by_msgid.contains(&setl_id), "the dashboard and yidi trace name the same settlement");
    let (status, page) =
        network::http_get(network.dashboard, &format!("/bill?id={}", bill.msgid)).unwrap();
    assert!(status == 200 && page.contains(&setl_id), "{page}");
    println!("e2e 1: yidi trace {}:\n{by_msgid}", bill.msgid);
}

/// Every service's `/metrics` counts what the bills came to (issue #12 §2): the settlements
/// the exchanges answered, the agencies decided and the hub routed equal the settled bills;
/// once all is answered every consumer's lag returns to zero.
fn metrics_agree(network: &Network, settled: usize) {
    let settled = settled as f64;
    let of = |names: &[&str], metric: &str| -> f64 {
        let labels = [("outcome", "SETTLED")];
        names.iter().map(|name| metric_sum(&network.metrics(name), metric, &labels)).sum()
    };
    let exchanges: Vec<String> = EXCHANGES.iter().map(|p| format!("exchange-{p}")).collect();
    let exchanges: Vec<&str> = exchanges.iter().map(String::as_str).collect();
    assert_eq!(
        of(&exchanges, "yidi_results_total"),
        settled,
        "settled bills answered by the exchanges"
    );
    assert_eq!(
        of(&["agency-north", "agency-south"], "yidi_settlements_total"),
        settled,
        "settlements decided by the agencies"
    );
    assert_eq!(of(&["hub"], "yidi_results_total"), settled, "settlements routed by the hub");
    let hub = network.metrics("hub");
    assert!(
        metric_sum(&hub, "yidi_hop_seconds_count", &[("topic", "hub.requests")]) >= 1000.0,
        "{hub}"
    );
    assert!(
        metric_sum(&network.metrics("exchange-440000"), "yidi_settlement_seconds_count", &[]) > 0.0
    );
    // librdkafka reports lag every 5 s: within half a minute every partition reads zero.
    let mut all: Vec<&str> = exchanges.clone();
    all.extend(["hub", "agency-north", "agency-south"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let lags: Vec<(&str, f64)> = all
            .iter()
            .map(|name| (*name, metric_sum(&network.metrics(name), "yidi_consumer_lag", &[])))
            .collect();
        let reported = all.iter().all(|name| network.metrics(name).contains("yidi_consumer_lag{"));
        if reported && lags.iter().all(|(_, lag)| *lag == 0.0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "consumer lag did not return to zero: {lags:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    println!("e2e 1: /metrics of every service agree: {settled} settled; every consumer's lag back to zero");
}

/// The scenarios, in the order they run: each is a test of its own (filter them by name as
/// usual), all over one network, started on first use and stopped after the last.
fn main() {
    let mut args = libtest_mimic::Arguments::from_args();
    // One network: its scenarios take turns (and in this order, for the counts they compare).
    args.test_threads = Some(1);
    let scenarios: [(&str, Scenario); 12] = [
        ("a_thousand_bills_each_get_one_result_equal_to_yidi_quote", |f| Box::pin(thousand(f))),
        ("every_answer_carries_a_receipt_that_verifies_offline", |f| Box::pin(receipts(f))),
        ("every_service_counts_the_settled_bills_in_its_metrics", |f| Box::pin(metrics(f))),
        ("a_settled_bill_is_one_trace_across_its_hops", |f| Box::pin(trace(f))),
        ("yidi_trace_and_the_dashboard_tell_where_a_bill_is", |f| Box::pin(where_is(f))),
        ("every_bill_sent_again_gets_its_first_answer_counted_once", |f| Box::pin(again(f))),
        ("malformed_messages_are_dead_lettered_and_the_stream_goes_on", |f| Box::pin(malformed(f))),
        ("an_agency_killed_mid_stream_settles_every_bill_once", |f| Box::pin(agency_killed(f))),
        ("grpc_settle_pre_settle_and_get_settlement", |f| Box::pin(grpc(f))),
        ("grpc_settle_timed_out_or_abandoned_is_reversed", |f| Box::pin(grpc_timeouts(f))),
        ("a_hospital_whose_agreement_is_suspended_is_refused_until_reinstated", |f| {
            Box::pin(agreement(f))
        }),
        ("two_provinces_admitting_one_person_at_once_never_hold_one_cap_twice", |f| {
            Box::pin(admissions(f))
        }),
    ];
    let mut trials: Vec<libtest_mimic::Trial> = scenarios
        .into_iter()
        .map(|(name, scenario)| {
            libtest_mimic::Trial::test(name, move || {
                let fixture = Fixture::get();
                fixture.runtime.block_on(scenario(fixture));
                Ok(())
            })
        })
        .collect();
    trials.push(libtest_mimic::Trial::test("agency_filings_over_grpc_reach_the_hub", || {
        let fixture = Fixture::get();
        let network = fixture.network();
        fixture.runtime.block_on(filings(&network));
        Ok(())
    }));
    trials.push(libtest_mimic::Trial::test(
        "an_agency_run_as_two_processes_shares_the_bills_and_outlives_one_killed",
        || {
            scaled_agency();
            Ok(())
        },
    ));
    let conclusion = libtest_mimic::run(&args, trials);
    Fixture::stop(conclusion.has_failed());
    conclusion.exit();
}

type Scenario = fn(&'static Fixture) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

/// What the scenarios share: the network, its HIS, the trace receiver, the bill simulator,
/// and the first thousand bills with their results once they were sent.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    collector: Collector,
    network: Mutex<Option<Network>>,
    // Never dropped: closing its consumers can hang when a test fails mid-way, and then the
    // network would never be stopped.
    his: std::mem::ManuallyDrop<His>,
    simulator: Mutex<Simulator>,
    thousand: tokio::sync::OnceCell<Thousand>,
}

/// The first thousand bills, their results and what `yidi quote` says of them.
struct Thousand {
    bills: Vec<DischargeBill>,
    results: HashMap<String, Vec<SettleResult>>,
    expected: Vec<Value>,
    settled: usize,
}

static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();

/// The running network, while a scenario holds it.
struct Running<'a>(std::sync::MutexGuard<'a, Option<Network>>);

impl std::ops::Deref for Running<'_> {
    type Target = Network;
    fn deref(&self) -> &Network {
        self.0.as_ref().expect("the network runs until main stops it")
    }
}

impl std::ops::DerefMut for Running<'_> {
    fn deref_mut(&mut self) -> &mut Network {
        self.0.as_mut().expect("the network runs until main stops it")
    }
}

impl Fixture {
    /// The network, started by the first scenario that asks.
    fn get() -> &'static Fixture {
        FIXTURE.get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
            // The services export their spans to a receiver of the harness's (issue #12 §1).
            // The HIS's consumers and the services' clients live on this runtime.
            let _entered = runtime.enter();
            let (collector, endpoint) = runtime.block_on(Collector::start());
            let network = Network::start_traced(&endpoint);
            let his = His::connect(&network.client("operator"), &EXCHANGES);
            Fixture {
                runtime,
                collector,
                network: Mutex::new(Some(network)),
                his: std::mem::ManuallyDrop::new(his),
                simulator: Mutex::new(Simulator::new(2026)),
                thousand: tokio::sync::OnceCell::new(),
            }
        })
    }

    /// Stops the network's processes, if a scenario started it; after a failure its logs
    /// and data are kept.
    fn stop(failed: bool) {
        if let Some(fixture) = FIXTURE.get() {
            let mut network =
                fixture.network.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(network) = network.as_mut() {
                network.keep_data = failed;
            }
            drop(network.take());
        }
    }

    fn network(&self) -> Running<'_> {
        Running(self.network.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn simulator(&self) -> std::sync::MutexGuard<'_, Simulator> {
        self.simulator.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The first thousand bills, sent once (by whichever scenario needs them first).
    async fn thousand(&self) -> &Thousand {
        self.thousand.get_or_init(|| send_thousand(self)).await
    }
}

/// A thousand bills, one per person, across every insured region and exchange, half as JSON
/// and half as protobuf.
async fn send_thousand(fixture: &Fixture) -> Thousand {
    let bills: Vec<DischargeBill> = {
        let mut simulator = fixture.simulator();
        (0..1000u32)
            .map(|i| bill(&mut simulator, (i % 4) as usize, u64::from(i / 4), (i / 4) as usize, i))
            .collect()
    };
    for (i, bill) in bills.iter().enumerate() {
        let content_type = if i % 2 == 0 { ContentType::Json } else { ContentType::Protobuf };
        fixture.his.send(bill, content_type).await;
    }
    let results = fixture.his.results(&once(&bills), Duration::from_secs(180)).await;
    let expected = quote(&bills);
    let settled = bills
        .iter()
        .filter(|b| {
            results.get(&b.msgid).is_some_and(|r| r[0].status == SettleStatus::Settled as i32)
        })
        .count();
    Thousand { bills, results, expected, settled }
}

/// Scenario 1: every bill gets exactly one result, equal to `yidi quote` on the same inputs;
/// suspended persons' rejections reach the HIS.
async fn thousand(fixture: &'static Fixture) {
    let Thousand { bills, results, expected, settled } = fixture.thousand().await;
    let mut suspended = 0;
    // Notice III(5) (issue #13 §1): Shanghai refuses the unfiled, the other regions reduce.
    let (mut not_filed, mut reduced) = (0, 0);
    for (bill, expected) in bills.iter().zip(expected) {
        let got =
            results.get(&bill.msgid).unwrap_or_else(|| panic!("no result for {}", bill.msgid));
        assert_eq!(got.len(), 1, "{} got {} results", bill.msgid, got.len());
        assert_same(&got[0], expected);
        suspended += usize::from(got[0].reason == "benefits_suspended");
        if got[0].reason == "not_filed" {
            assert_eq!(&bill.insuplc_admdvs[..2], "31", "{} refused unfiled", bill.msgid);
            not_filed += 1;
        }
        reduced += usize::from(
            got[0].setlinfo.as_ref().is_some_and(|info| info.filing_class == "unfiled"),
        );
    }
    assert!(*settled > 700, "only {settled} of 1000 settled");
    assert!(suspended > 0, "no suspended person among 1000: the rejection path went untested");
    assert!(not_filed > 0 && reduced > 0, "unfiled: {not_filed} refused, {reduced} reduced");
    println!("e2e: 1000 bills, {settled} settled, {suspended} refused for suspended benefits, {not_filed} unfiled refused in Shanghai and {reduced} settled at a reduced ratio elsewhere, all equal to yidi quote");
}

/// Every answer carries a receipt that verifies offline against the bundle alone, as the
/// agency's answer countersigned by the hub (issue #11 §3).
async fn receipts(fixture: &'static Fixture) {
    let Thousand { bills, results, .. } = fixture.thousand().await;
    let keys = fixture.network().dir.join("keys");
    let bundle = yidi_trust::Bundle::load(&keys.join(yidi_trust::keys::BUNDLE)).unwrap();
    for (bill, got) in bills.iter().map(|b| (b, &results[&b.msgid][0])) {
        let receipt = fixture
            .his
            .receipt(&bill.msgid)
            .unwrap_or_else(|| panic!("no receipt for {}", bill.msgid));
        let receipt: yidi_trust::Receipt = serde_json::from_str(&receipt).unwrap();
        let verified = receipt.verify(&bundle).unwrap_or_else(|e| panic!("{}: {e}", bill.msgid));
        let signed: SettleResult = yidi_wire::codec::decode(
            &verified.payload,
            ContentType::from_header(Some(&receipt.content_type)).unwrap(),
            "SettleResult",
        )
        .unwrap();
        assert_eq!(signed.setlinfo, got.setlinfo, "{}: the receipt is the answer", bill.msgid);
        assert!(verified.agency.role.hosts(bill.insuplc_admdvs.parse().unwrap()));
    }
    println!("e2e: {} receipts verify against the bundle", bills.len());
}

async fn metrics(fixture: &'static Fixture) {
    let settled = fixture.thousand().await.settled;
    metrics_agree(&fixture.network(), settled);
}

/// The first settled bill of the thousand.
async fn a_settled_bill(fixture: &'static Fixture) -> &'static DischargeBill {
    let Thousand { bills, expected, .. } = fixture.thousand().await;
    bills.iter().zip(expected).find(|(_, e)| e["status"] == "settled").unwrap().0
}

async fn trace(fixture: &'static Fixture) {
    let bill = a_settled_bill(fixture).await;
    one_trace_per_bill(&fixture.collector, bill).await;
}

async fn where_is(fixture: &'static Fixture) {
    let bill = a_settled_bill(fixture).await;
    where_is_my_bill(&fixture.network(), bill);
}

/// Scenario 2: every bill sent again gets the first answer, marked duplicate; nothing is
/// counted twice.
async fn again(fixture: &'static Fixture) {
    let Thousand { bills, results, settled, .. } = fixture.thousand().await;
    let (before, _) = agency_counts(&fixture.network()).await;
    for bill in bills {
        fixture.his.send(bill, ContentType::Protobuf).await;
    }
    let again = fixture.his.results(&once(bills), Duration::from_secs(120)).await;
    for bill in bills {
        let first = &results[&bill.msgid][0];
        let second =
            again.get(&bill.msgid).unwrap_or_else(|| panic!("no second result for {}", bill.msgid));
        assert_eq!(second.len(), 1, "{}", bill.msgid);
        assert!(second[0].duplicate, "{} second answer not marked duplicate", bill.msgid);
        assert_eq!(second[0].status, first.status);
        assert_eq!(
            second[0].setlinfo.as_ref().map(|i| &i.setl_id),
            first.setlinfo.as_ref().map(|i| &i.setl_id)
        );
    }
    let (recorded, admissions) = agency_counts(&fixture.network()).await;
    assert_eq!(recorded, before, "settlements recorded by the agencies did not move");
    assert!(
        recorded >= i64::try_from(*settled).unwrap(),
        "the thousand's settlements are recorded"
    );
    assert_eq!(admissions, recorded, "accumulators count each settled bill once");
    println!("e2e: 1000 duplicates answered with the first result; {recorded} settlements, {admissions} admissions");
}

/// A bill of Tianjin's person `index` treated at hospital `code` (at its registered level).
fn hospital_bill(simulator: &mut Simulator, code: &str, index: u64) -> DischargeBill {
    let sequence = 7100 + u32::try_from(index).unwrap();
    let mut next = bill(simulator, 1, index, 0, sequence);
    let hospital = yidi_sim::hospitals::find(code).unwrap();
    next.fixmedins_code = hospital.code;
    next.hosp_lv = i32::from(hospital.level.number());
    next.msgid = yidi_wire::convert::msgid(
        code,
        yidi_runtime::clock::BusinessClock::default().now(),
        sequence + 1,
    );
    next
}

/// The desk's decision `id` on hospital `code`'s service agreement (seed 004 art. 49), through
/// the hub's API on `dashboard`.
fn decide_agreement(dashboard: u16, code: &str, id: &str, agreement: &str) {
    let body = serde_json::json!({"decision_id": id, "fixmedins_code": code, "agreement": agreement,
        "article": "seed 004 art. 49(ii)", "reason": "false inpatient stays"});
    let (status, answer) =
        network::http_post(dashboard, "/api/hospitals/agreement", &body.to_string()).unwrap();
    assert_eq!(status, 200, "{answer}");
}

/// Bills made by `next` (person `index` up), sent one at a time by `his`, until one is
/// answered `wanted` — the hub's decision travels to the exchange on its own — or a minute
/// passes.
async fn until_answered(
    his: &His,
    mut next: impl FnMut(u64) -> DischargeBill,
    index: &mut u64,
    wanted: impl Fn(&SettleResult) -> bool,
) -> SettleResult {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let next = next(*index);
        *index += 1;
        his.send(&next, ContentType::Json).await;
        let answered =
            his.results(&once(std::slice::from_ref(&next)), Duration::from_secs(30)).await;
        let result = answered[&next.msgid][0].clone();
        if wanted(&result) {
            return result;
        }
        assert!(std::time::Instant::now() < deadline, "never answered as wanted; last {result:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Issue #13 §3–4: the ministry's desk suspends a hospital's service agreement for fraud (seed
/// 004 art. 49); its province's exchange refuses its next bills with the reason and the rule,
/// and the dashboard lists it; a later decision reinstates it and its bills settle again.
async fn agreement(fixture: &'static Fixture) {
    let dashboard = fixture.network().dashboard;
    let code = bill(&mut fixture.simulator(), 1, 1800, 0, 7100).fixmedins_code;
    let of_the_hospital = |index| hospital_bill(&mut fixture.simulator(), &code, index);
    decide_agreement(dashboard, &code, "E2E-1", "suspended");
    let mut index = 1801;
    let refused = until_answered(&fixture.his, of_the_hospital, &mut index, |r| {
        r.reason == "agreement_suspended"
    })
    .await;
    assert!(refused.rule.contains("art. 49"), "{}", refused.rule);
    let (_, listed) = network::http_get(dashboard, "/api/hospitals").unwrap();
    assert!(listed.contains(&code), "{listed}");
    decide_agreement(dashboard, &code, "E2E-2", "in_force");
    let after = until_answered(&fixture.his, of_the_hospital, &mut index, |r| {
        r.status == SettleStatus::Settled as i32
    })
    .await;
    println!(
        "e2e: {code} suspended under seed 004 art. 49: refused ({}); reinstated: settled {}",
        refused.reason, after.msgid
    );
}

/// Issue #13 §2 (national 2401): Guangdong and Shanghai admit the same Tianjin person at
/// once, each asking to hold 300,000 of a cap of 350,000 (employees) or 250,000 (residents):
/// the agency, reading the person's messages in order, holds each at most the region's
/// maximum (issue #26 §3) and reduces or refuses the second when the first leaves too little;
/// together they never hold more than the cap.
async fn admissions(fixture: &'static Fixture) {
    let today = yidi_runtime::clock::BusinessClock::default().today();
    let insured: RegionCode = "120000".parse().unwrap();
    let index = his::active_person(insured, 1950);
    let admit = |pick: usize, sequence: u32| {
        let mut admission = bill(&mut fixture.simulator(), 1, index, pick, sequence);
        admission.admission = true;
        admission.feedetail.clear();
        admission.endtime.clear();
        admission.hold_amt = "300000".into();
        admission
    };
    let (guangdong, shanghai) = (admit(0, 7201), admit(1, 7202));
    assert_ne!(&guangdong.mdtrtarea_admvs[..2], &shanghai.mdtrtarea_admvs[..2]);
    fixture.his.send(&guangdong, ContentType::Json).await;
    fixture.his.send(&shanghai, ContentType::Protobuf).await;
    let both = [guangdong.clone(), shanghai.clone()];
    let answered = fixture.his.results(&once(&both), Duration::from_secs(60)).await;
    let mut held = rust_decimal::Decimal::ZERO;
    let mut admitted = 0;
    for admission in &both {
        let result = &answered[&admission.msgid][0];
        if result.status == SettleStatus::Admitted as i32 {
            admitted += 1;
            held += result
                .admission
                .as_ref()
                .unwrap()
                .hold_amt
                .parse::<rust_decimal::Decimal>()
                .unwrap();
        } else {
            assert_eq!(result.reason, "hold_exhausted", "{result:?}");
        }
    }
    let person = registry::person(insured, index, today);
    let regions = yidi_data::insured_regions().unwrap();
    let cap = regions
        .iter()
        .find(|r| r.region == insured)
        .unwrap()
        .policy(person.scheme)
        .unwrap()
        .annual_cap_for(person.contribution_tier);
    assert!(admitted >= 1, "neither admission was held");
    assert!(held <= cap.value(), "{held} held of a cap of {cap}: double-spent");
    println!(
        "e2e: two provinces admitted one person at once: {admitted} held, {held} of {cap} in all"
    );
}

/// Scenario 3: malformed messages go to the dead-letter topic with the reason; the stream
/// continues.
async fn malformed(fixture: &'static Fixture) {
    let his = &fixture.his;
    let topic = yidi_bus::topics::his_discharge("440000");
    his.send_raw(&topic, "bad-1", b"\xff\x00 not protobuf \x01", "application/x-protobuf", "")
        .await;
    his.send_raw(&topic, "bad-2", b"{\"msgid\": ", "application/json", "").await;
    let (missing, valid) = {
        let mut simulator = fixture.simulator();
        let mut missing = bill(&mut simulator, 1, 1500, 0, 5001);
        missing.insuplc_admdvs.clear();
        (missing, bill(&mut simulator, 1, 1501, 0, 5002))
    };
    his.send(&missing, ContentType::Json).await;
    his.send(&valid, ContentType::Json).await;
    let letters = his.dead_letters(3, Duration::from_secs(60)).await;
    let reasons: Vec<String> =
        letters.iter().map(|l| format!("{} {}", l.reason_code, l.reason)).collect();
    assert_eq!(letters.len(), 3, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("WIRE_01")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("WIRE_02")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("insuplc_admdvs: missing field")), "{reasons:?}");
    let after =
        his.results(&once(&[missing.clone(), valid.clone()]), Duration::from_secs(60)).await;
    assert!(
        after[&missing.msgid][0].reason.starts_with("invalid_request: insuplc_admdvs"),
        "{:?}",
        after[&missing.msgid]
    );
    assert_ne!(after[&valid.msgid][0].status, SettleStatus::Unspecified as i32);
    println!("e2e: dead letters {reasons:?}; the next bill was answered");
}

/// Scenario 4: an agency killed with SIGKILL mid-stream and restarted: every bill completes,
/// none is counted twice.
async fn agency_killed(fixture: &'static Fixture) {
    let (before, _) = agency_counts(&fixture.network()).await;
    let bills: Vec<DischargeBill> = {
        let mut simulator = fixture.simulator();
        (0..400u32)
            .map(|i| {
                bill(
                    &mut simulator,
                    (i % 4) as usize,
                    250 + u64::from(i / 4),
                    (i / 4) as usize,
                    6000 + i,
                )
            })
            .collect()
    };
    for (i, bill) in bills.iter().enumerate() {
        fixture.his.send(bill, ContentType::Protobuf).await;
        if i == 150 {
            fixture.network().kill("agency-north");
        }
        if i == 250 {
            fixture.network().spawn("agency-north");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let results = fixture.his.results(&once(&bills), Duration::from_secs(180)).await;
    let expected = quote(&bills);
    let mut settled = 0;
    for (bill, expected) in bills.iter().zip(&expected) {
        let got = results
            .get(&bill.msgid)
            .unwrap_or_else(|| panic!("no result for {} after the restart", bill.msgid));
        assert_eq!(got.len(), 1, "{} got {} results", bill.msgid, got.len());
        assert_same(&got[0], expected);
        settled += i64::from(got[0].status == SettleStatus::Settled as i32);
    }
    let (after, admissions) = agency_counts(&fixture.network()).await;
    assert_eq!(after - before, settled, "each bill settled once through the crash");
    assert_eq!(admissions, after, "accumulators count each settled bill once");
    println!(
        "e2e: agency killed and restarted mid-stream; 400 bills, {settled} settled, none twice"
    );
}
/// Issue #9 §6, on a network of its own: topics of four partitions, and Beijing's and
/// Tianjin's agency run as two processes (instances 1 and 2 of `agency-north`, one database,
/// one consumer group), Guangdong's exchange likewise. Both agency processes take a share of
/// the bills; instance 2 killed with SIGKILL mid-stream hands its partitions to instance 1 once
/// its session lapses (the broker's carried patch); every bill still gets exactly one result,
/// equal to `yidi quote`, and each settled bill is counted once. Restarted, instance 2 takes a
/// share again. Then the exchange: gRPC calls to one process are answered though the other
/// takes in some of their results, and a hospital's suspension, taken in by one process,
/// refuses its bills in both.
fn scaled_agency() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let _entered = runtime.enter();
    let mut network = Network::start_scaled(4);
    let his = std::mem::ManuallyDrop::new(His::connect(&network.client("operator"), &EXCHANGES));
    let mut simulator = Simulator::new(2027);
    // Regions 0 and 1 are Beijing and Tianjin (agency-north), 2 and 3 agency-south's.
    let stream = |simulator: &mut Simulator, from: u32, count: u32| -> Vec<DischargeBill> {
        (from..from + count)
            .map(|i| {
                bill(simulator, (i % 4) as usize, u64::from(i / 4), (i / 4) as usize, 9000 + i)
            })
            .collect()
    };
    let settled_by = |network: &Network, name: &str| -> f64 {
        metric_sum(&network.metrics(name), "yidi_settlements_total", &[("outcome", "SETTLED")])
    };
    let first = stream(&mut simulator, 0, 400);
    let mut shares = (0.0, 0.0);
    runtime.block_on(async {
        for (i, bill) in first.iter().enumerate() {
            his.send(bill, ContentType::Protobuf).await;
            if i == 200 {
                shares =
                    (settled_by(&network, "agency-north"), settled_by(&network, "agency-north-2"));
                network.kill("agency-north-2");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    assert!(
        shares.0 > 0.0 && shares.1 > 0.0,
        "both instances settle a share before the kill: {shares:?}"
    );
    let results = runtime.block_on(his.results(&once(&first), Duration::from_secs(180)));
    let mut settled = 0;
    for (bill, expected) in first.iter().zip(quote(&first)) {
        let got = results
            .get(&bill.msgid)
            .unwrap_or_else(|| panic!("no result for {} after instance 2 was killed", bill.msgid));
        assert_eq!(got.len(), 1, "{} got {} results", bill.msgid, got.len());
        assert_same(&got[0], &expected);
        settled += i64::from(got[0].status == SettleStatus::Settled as i32);
    }
    let (counted, admissions) = runtime.block_on(agency_counts(&network));
    assert_eq!(counted, settled, "each bill settled once across the two instances and the kill");
    assert_eq!(admissions, counted, "accumulators count each settled bill once");
    // Instance 2 again: the group shares the partitions anew.
    network.spawn("agency-north-2");
    let second = stream(&mut simulator, 400, 200);
    runtime.block_on(async {
        for bill in &second {
            his.send(bill, ContentType::Protobuf).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let results = runtime.block_on(his.results(&once(&second), Duration::from_secs(120)));
    for (bill, expected) in second.iter().zip(quote(&second)) {
        let got = &results[&bill.msgid];
        assert_eq!(got.len(), 1, "{} got {} results", bill.msgid, got.len());
        assert_same(&got[0], &expected);
    }
    // A restarted process counts from zero.
    let again = settled_by(&network, "agency-north-2");
    assert!(again > 0.0, "the restarted instance 2 takes a share again");
    println!(
        "e2e: agency-north as two processes on 4 partitions: {} and {} settled before instance 2 was killed; 400 bills, {settled} settled, none twice; 200 more after its restart, {} by it",
        shares.0, shares.1, again
    );
    runtime.block_on(scaled_exchange(&network, &his, &mut simulator));
}

/// The second half of [`scaled_agency`]: Guangdong's exchange as two processes.
async fn scaled_exchange(network: &Network, his: &His, simulator: &mut Simulator) {
    // gRPC: every call goes to instance 1; results come back keyed by person, so instance 2
    // takes in some of them, and instance 1 reads those from the shared database.
    let channel = network.grpc("exchange-440000", "his-440000").await.unwrap();
    let mut client = ExchangeClient::new(channel);
    // Tianjin's and Shanghai's persons treated in Guangdong (treatment pick 0).
    let bills: Vec<DischargeBill> = (0..24u32)
        .map(|i| bill(simulator, 1 + (i % 2) as usize, 700 + u64::from(i), 0, 9700 + i))
        .collect();
    for (bill, expected) in bills.iter().zip(quote(&bills)) {
        let answer = client.settle(call(bill.clone(), 30)).await.unwrap().into_inner();
        assert_same(&answer, &expected);
    }
    let from_database = metric_sum(
        &network.metrics("exchange-440000"),
        "yidi_grpc_answers_total",
        &[("outcome", "shared_database")],
    );
    assert!(from_database > 0.0, "some answers were taken in by the other process");
    // Seed 004 art. 49: a suspension that one process took in refuses the hospital's bills in
    // both (each bill has its own mdtrt_id, its own partition).
    let code = bills[0].fixmedins_code.clone();
    decide_agreement(network.dashboard, &code, "E2E-SCALED-1", "suspended");
    let mut index = 800;
    until_answered(
        his,
        |i| hospital_bill(simulator, &code, i),
        &mut index,
        |r| r.reason == "agreement_suspended",
    )
    .await;
    let after: Vec<DischargeBill> =
        (index..index + 16).map(|i| hospital_bill(simulator, &code, i)).collect();
    for next in &after {
        his.send(next, ContentType::Json).await;
    }
    let answered = his.results(&once(&after), Duration::from_secs(60)).await;
    for next in &after {
        assert_eq!(answered[&next.msgid][0].reason, "agreement_suspended", "{}", next.msgid);
    }
    decide_agreement(network.dashboard, &code, "E2E-SCALED-2", "in_force");
    println!(
        "e2e: exchange-440000 as two processes: 24 gRPC calls answered, {from_database} read from the shared database; {code} suspended: the next 16 bills refused in both"
    );
}

/// A HIS that sends `traceparent` gets its settlement in its own trace: the exchange's span of
/// the call is the child of the HIS's span, and the hops after it carry the same trace id.
async fn joins_the_callers_trace(
    collector: &Collector,
    bill: &DischargeBill,
    trace: &str,
    span: &str,
) {
    let (trace, span) = (hex::decode(trace).unwrap(), hex::decode(span).unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let spans = collector.spans();
        let call = spans.iter().find(|s| s.trace_id == trace && s.parent_span_id == span);
        let at_hub = spans.iter().find(|s| {
            s.trace_id == trace
                && s.name == "consume hub.requests"
                && s.attributes.get("yidi.msgid") == Some(&bill.msgid)
        });
        if let (Some(call), Some(_)) = (call, at_hub) {
            assert_eq!(call.service, "exchange-440000");
            assert_eq!(
                call.attributes.get("path").map(String::as_str),
                Some("/yidi.v1.Exchange/Settle")
            );
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the gRPC settlement did not join the caller's trace"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Scenario 5, gRPC: `Settle` equals the quote and joins the caller's trace; a repeated call
/// gets the first answer; `GetSettlement` finds it; `PreSettle` commits nothing.
async fn grpc(fixture: &'static Fixture) {
    let collector = &fixture.collector;

    // A Guangdong hospital's system, with its certificate.
    let mut client = guangdong_his(fixture).await;
    // Tianjin (120000) persons are treated in Guangdong (pick 0).
    let first = bill(&mut fixture.simulator(), 1, 1700, 0, 7001);
    // The hospital's system traces its own call: the settlement joins its trace (issue #12 §1).
    let (his_trace, his_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let mut traced = call(first.clone(), 20);
    let traceparent = format!("00-{his_trace}-{his_span}-01");
    traced.metadata_mut().insert("traceparent", traceparent.parse().unwrap());
    let answer = client.settle(traced).await.unwrap().into_inner();
    assert_same(&answer, &quote(std::slice::from_ref(&first))[0]);
    joins_the_callers_trace(collector, &first, his_trace, his_span).await;
    let again = client.settle(call(first.clone(), 20)).await.unwrap().into_inner();
    assert!(again.duplicate);
    assert_eq!(
        again.setlinfo.as_ref().map(|i| &i.setl_id),
        answer.setlinfo.as_ref().map(|i| &i.setl_id)
    );
    let stored = client
        .get_settlement(GetSettlementRequest {
            msgid: first.msgid.clone(),
            mdtrt_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored.status, answer.status);

    let (before, _) = agency_counts(&fixture.network()).await;
    let pre = bill(&mut fixture.simulator(), 1, 1701, 0, 7002);
    let priced = client.pre_settle(call(pre.clone(), 20)).await.unwrap().into_inner();
    assert!(
        priced.status == SettleStatus::PreSettled as i32
            || priced.status == SettleStatus::Rejected as i32,
        "{priced:?}"
    );
    let (after, _) = agency_counts(&fixture.network()).await;
    assert_eq!(after, before, "a pre-settlement commits nothing");
    println!("e2e: gRPC Settle = quote in the caller's trace, duplicate call answered first, PreSettle committed nothing");
}

/// Scenario 5, continued: a `Settle` that times out (its agency is down) is reversed, and so
/// is one whose caller gave up; once the agency is back nothing of either remains.
async fn grpc_timeouts(fixture: &'static Fixture) {
    let mut client = guangdong_his(fixture).await;
    let (before, _) = agency_counts(&fixture.network()).await;
    fixture.network().kill("agency-north");
    let late = (1702..1800)
        .map(|i| bill(&mut fixture.simulator(), 1, i, 0, 7003 + u32::try_from(i).unwrap()))
        .find(|b| quote(std::slice::from_ref(b))[0]["status"] == "settled")
        .unwrap();
    let timed_out = client.settle(call(late.clone(), 2)).await.unwrap().into_inner();
    assert_eq!(timed_out.status, SettleStatus::TimedOut as i32, "{timed_out:?}");
    assert!(timed_out.reason.contains("reversed"), "{}", timed_out.reason);
    // A caller that gives up before its own deadline: the exchange still reverses the bill
    // once the deadline has passed (issue #10: a cancelled call leaves its reversal queued).
    let abandoned = (1800..1900)
        .map(|i| bill(&mut fixture.simulator(), 1, i, 0, 7003 + u32::try_from(i).unwrap()))
        .find(|b| quote(std::slice::from_ref(b))[0]["status"] == "settled")
        .unwrap();
    let gave_up =
        tokio::time::timeout(Duration::from_secs(1), client.settle(call(abandoned.clone(), 4)))
            .await;
    assert!(gave_up.is_err(), "the agency is down: no answer within a second");
    tokio::time::sleep(Duration::from_secs(4)).await;
    fixture.network().spawn("agency-north");
    // Each late bill and its reversal are queued in order on the same key: it settles, then
    // is reversed; the settled count does not move and the accumulators give everything back.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    for msgid in [&late.msgid, &abandoned.msgid] {
        loop {
            let database = fixture.network().database("agency-north");
            let store = Store::connect(&database).await.unwrap();
            let row = sqlx::query("SELECT reversed FROM settlement WHERE msgid = $1")
                .bind(msgid)
                .fetch_optional(store.pool())
                .await
                .unwrap();
            if row.is_some_and(|row| row.try_get::<i64, _>(0).unwrap() == 1) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the unanswered settlement {msgid} was not reversed in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let (settled, admissions) = agency_counts(&fixture.network()).await;
    assert_eq!(settled, before, "the timed-out bills left no settlement");
    assert_eq!(admissions, settled, "their accumulators were given back");
    // The exchange records the reversal against the bill: it reads reversed, not settled.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = client
            .get_settlement(GetSettlementRequest {
                msgid: late.msgid.clone(),
                mdtrt_id: String::new(),
            })
            .await
            .map(tonic::Response::into_inner);
        if now.as_ref().is_ok_and(|r| r.status == SettleStatus::Reversed as i32) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "GetSettlement still reads {now:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("e2e: gRPC timeout and abandoned call reversed, nothing left of them");
}

/// A Guangdong hospital's system, with its certificate.
async fn guangdong_his(fixture: &Fixture) -> ExchangeClient<tonic::transport::Channel> {
    let channel = fixture.network().grpc("exchange-440000", "his-440000").await.unwrap();
    ExchangeClient::new(channel)
}

/// A call with the caller's own deadline.
fn call(bill: DischargeBill, seconds: u64) -> tonic::Request<DischargeBill> {
    let mut request = tonic::Request::new(bill);
    request.set_timeout(Duration::from_secs(seconds));
    request
}

/// Scenario 6, the agency's gRPC filing and registry service: a temporary filing shorter than
/// six months is refused; a valid one is stored, queried, reaches the hub's national filing
/// database, and is revoked; a new enrolee without contributions is not entitled.
async fn filings(network: &Network) {
    use yidi_wire::v1::agency_client::AgencyClient;
    use yidi_wire::v1::{EnrolRequest, FileRequest, FilingQuery, RevokeRequest, StatusQuery};
    // The agency's own systems, with its certificate.
    let mut agency = AgencyClient::new(network.grpc("agency-north", "agency-north").await.unwrap());
    let psn_no = registry::psn_no("120000".parse().unwrap(), 1900);
    let today = yidi_runtime::clock::BusinessClock::default().today();
    let mut request = FileRequest {
        psn_no: psn_no.clone(),
        insuplc_admdvs: "120000".into(),
        filing_type: "referral".into(),
        target_admdvs: "440000".into(),
        begndate: today.to_string(),
        enddate: (today + chrono::Months::new(3)).to_string(),
    };
    let refused = agency.file(request.clone()).await.unwrap_err();
    assert!(refused.message().contains("FIL_03"), "{refused:?}");
    request.enddate.clear();
    let filed = agency.file(request).await.unwrap().into_inner();
    assert_eq!(filed.enddate, (today + chrono::Months::new(6)).to_string());
    let query = FilingQuery { insuplc_admdvs: "120000".into(), psn_no: psn_no.clone() };
    let listed = agency.query_filings(query).await.unwrap().into_inner();
    assert!(listed.filings.iter().any(|f| f.filing_id == filed.filing_id));
    let revoke =
        RevokeRequest { insuplc_admdvs: "120000".into(), filing_id: filed.filing_id.clone() };
    let revoked = agency.revoke(revoke).await.unwrap().into_inner();
    assert!(!revoked.revoked_at.is_empty());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let store = Store::connect(&network.database("hub")).await.unwrap();
        let row = sqlx::query("SELECT revoked_at FROM national_filing WHERE filing_id = $1")
            .bind(&filed.filing_id)
            .fetch_optional(store.pool())
            .await
            .unwrap();
        if row.is_some_and(|row| !row.try_get::<String, _>(0).unwrap().is_empty()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the revocation did not reach the hub");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let enrol = EnrolRequest {
        insuplc_admdvs: "120000".into(),
        psn_no: "12000000NEW000000001".into(),
        insutype: "310".into(),
        category: "employed".into(),
        enrolled_on: today.to_string(),
        ..EnrolRequest::default()
    };
    let newcomer = agency.enrol(enrol).await.unwrap().into_inner();
    assert!(!newcomer.trt_enjymnt_flag, "enrolled without a contribution: {newcomer:?}");
    let query = StatusQuery {
        insuplc_admdvs: "120000".into(),
        psn_no: newcomer.psn_no.clone(),
        on: String::new(),
    };
    let status = agency.status(query).await.unwrap().into_inner();
    assert_eq!(status.trt_chk_rslt, newcomer.trt_chk_rslt);
    println!("e2e 6: short filing refused; filed, listed, revoked, seen by the hub; enrolee not entitled ({})", status.trt_chk_rslt);
    halts(network, &mut agency, today).await;
}

/// Seed 004 art. 53 (issue #13 §4): the agency halts a person's direct settlement and lifts it
/// by a later decision; both reach the ministry's dashboard (`/api/halts`) through the hub.
async fn halts(
    network: &Network,
    agency: &mut yidi_wire::v1::agency_client::AgencyClient<tonic::transport::Channel>,
    today: chrono::NaiveDate,
) {
    use yidi_wire::v1::{HaltRequest, LiftRequest};
    let halt = HaltRequest {
        decision_id: "E2E-HALT-1".into(),
        psn_no: registry::psn_no("120000".parse().unwrap(), 1901),
        insuplc_admdvs: "120000".into(),
        begndate: today.to_string(),
        enddate: String::new(),
        article: "seed 004 art. 53".into(),
        reason: "card lent to another person".into(),
    };
    agency.halt(halt).await.unwrap();
    let lift = LiftRequest {
        decision_id: "E2E-LIFT-1".into(),
        halt_decision_id: "E2E-HALT-1".into(),
        insuplc_admdvs: "120000".into(),
        reason: "repaid, with the fine".into(),
    };
    agency.lift(lift).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let (status, body) = network::http_get(network.dashboard, "/api/halts").unwrap();
        assert_eq!(status, 200, "{body}");
        let listed: Value = serde_json::from_str(&body).unwrap();
        let lifted = listed
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["decision_id"] == "E2E-HALT-1" && h["lifted_by"] == "E2E-LIFT-1");
        if lifted {
            break listed;
        }
        assert!(std::time::Instant::now() < deadline, "the halt did not reach the hub: {listed}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!listed.to_string().contains("12000000000000001901"), "the hub keeps a token");
    println!("e2e 6: a person's halt and its lifting reached the ministry's dashboard");
}
