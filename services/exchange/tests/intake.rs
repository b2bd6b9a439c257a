//! The exchange's handlers in-process (no broker): a reused msgid is compared with the bill it
//! first carried, a reversal is recorded against the bill it undid, and a gRPC settlement left
//! unanswered has its reversal queued in the outbox exactly once (issue #10 §2, §8).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

use std::collections::HashMap;
use std::sync::Mutex;

use prost::Message;
use std::time::Duration;
use yidi_bus::{topics, Bus, BusConfig, Incoming, LaneHandler, Outgoing};

use chrono::TimeZone;
use yidi_exchange::grpc::ExchangeApi;
use yidi_exchange::intake::Exchange;
use yidi_exchange::requests;
use yidi_runtime::clock::BusinessClock;
use yidi_runtime::outbox::Outbox;
use yidi_store::Store;
use yidi_wire::codec::ContentType;
use yidi_wire::convert;
use yidi_wire::v1::{DischargeBill, Reversal, Setlinfo, SettleResult, SettleStatus};

const TREATMENT: &str = "440000";

async fn exchange(name: &str) -> (Exchange, std::path::PathBuf) {
    exchange_on(name, BusinessClock::default()).await
}

/// An exchange whose business clock is `clock` (a simulated one moves only when told).
async fn exchange_on(name: &str, clock: BusinessClock) -> (Exchange, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("yidi-exchange-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let schema: Vec<&str> =
        requests::SCHEMA.iter().chain(yidi_exchange::statement::SCHEMA).copied().collect();
    let url = format!("sqlite://{}", dir.join("exchange.db").display());
    let store = Store::open_migrated(&url, &schema, requests::CHANGES).await.unwrap();
    let config = BusConfig {
        brokers: "127.0.0.1:1".into(),
        service: "exchange-test".into(),
        ..Default::default()
    };
    let bus = Bus::connect(config).unwrap();
    (process_on(store, bus, &format!("exchange-{name}"), clock, false).await, dir)
}

/// A process of the exchange `name` over `store`; `shared` when other processes of it share
/// the store (issue #9 §6, `instance`).
async fn process_on(
    store: Store,
    bus: Bus,
    name: &str,
    clock: BusinessClock,
    shared: bool,
) -> Exchange {
    let province = TREATMENT.parse().unwrap();
    let catalogue = yidi_data::treatment_catalogues()
        .unwrap()
        .into_iter()
        .find(|c| c.region == province)
        .unwrap();
    let hospitals = yidi_exchange::hospitals::Register::load(&store, province).await.unwrap();
    Exchange {
        hospitals,
        insured: yidi_data::insured_regions().unwrap(),
        name: name.to_owned(),
        province,
        catalogue,
        outbox: Outbox::new(store.clone(), bus.clone()),
        store,
        bus,
        waiters: Mutex::new(HashMap::new()),
        clock,
        answers: Default::default(),
        settlement_time: Default::default(),
        grpc_answers: Default::default(),
        shared,
    }
}

/// A second process of `first`'s exchange on the same database (issue #9 §6, `instance`): both
/// marked shared.
async fn second_process(first: &mut Exchange) -> Exchange {
    first.shared = true;
    process_on(first.store.clone(), first.bus.clone(), &first.name, first.clock.clone(), true).await
}

fn bill(sequence: u32) -> DischargeBill {
    let catalogue = yidi_data::treatment_catalogues()
        .unwrap()
        .into_iter()
        .find(|c| c.region.as_str() == TREATMENT)
        .unwrap();
    let mut simulator = yidi_sim::Simulator::new(u64::from(sequence));
    let now = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap().and_hms_opt(9, 0, 0).unwrap();
    yidi_sim::his::discharge(
        &mut simulator,
        "120000".parse().unwrap(),
        3,
        &catalogue,
        now,
        sequence,
    )
}

/// `bill(sequence)` from the institution `code`, under a msgid of that institution's (a msgid
/// begins with its institution's code).
fn at_hospital(code: &str, sequence: u32) -> DischargeBill {
    let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap().and_hms_opt(9, 0, 0).unwrap();
    DischargeBill {
        fixmedins_code: code.to_owned(),
        msgid: convert::msgid(code, at, sequence),
        ..bill(sequence)
    }
}

fn incoming(message: Outgoing, offset: i64) -> Incoming {
    Incoming::read_back(message, 0, offset)
}

fn discharge(bill: &DischargeBill, offset: i64) -> Incoming {
    incoming(
        Outgoing::new(
            topics::his_discharge(TREATMENT),
            &bill.mdtrt_id,
            "yidi.v1.DischargeBill",
            bill,
            ContentType::Json,
        ),
        offset,
    )
}

async fn outbox_rows(exchange: &Exchange) -> Vec<(String, String)> {
    yidi_store::outbox::oldest(exchange.store.pool(), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|p| {
            let msg_type = p.headers.iter().find(|(n, _)| n == "msg_type").map(|(_, v)| v.clone());
            (p.topic, msg_type.unwrap_or_default())
        })
        .collect()
}

#[tokio::test]
async fn a_msgid_reused_for_a_different_bill_is_refused_and_the_first_bill_kept() {
    let (exchange, dir) = exchange("conflict").await;
    let first = bill(1);
    let mut forged = first.clone();
    forged.feedetail.truncate(1);
    let lane = [discharge(&first, 0), discharge(&forged, 1), discharge(&first, 2)];
    let verdicts = exchange.handle(&lane).await.unwrap();
    let to_hub = verdicts[0].as_ref().unwrap();
    assert_eq!(to_hub[0].topic, topics::HUB_REQUESTS);
    let refused = verdicts[1].as_ref().unwrap_err();
    assert_eq!(refused.code, "MSGID_CONFLICT");
    let told = SettleResult::decode_json_or_proto(&refused.replies[0]);
    assert_eq!(told.status, SettleStatus::Rejected as i32);
    assert!(told.reason.starts_with("msgid_conflict"), "{}", told.reason);
    // The same bill again is a resend, not a conflict: it goes on to the hub.
    assert_eq!(verdicts[2].as_ref().unwrap()[0].topic, topics::HUB_REQUESTS);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Decodes a reply to the HIS in the content type it was sent in.
trait Decode {
    fn decode_json_or_proto(message: &Outgoing) -> SettleResult;
}

impl Decode for SettleResult {
    fn decode_json_or_proto(message: &Outgoing) -> SettleResult {
        let content_type = message.headers.iter().find(|(n, _)| n == "content-type");
        let content_type = ContentType::from_header(content_type.map(|(_, v)| v.as_str())).unwrap();
        yidi_wire::codec::decode(&message.payload, content_type, "SettleResult").unwrap()
    }
}

fn result_of(bill: &DischargeBill, msgid: &str, status: SettleStatus) -> Incoming {
    let result = SettleResult {
        msgid: msgid.to_owned(),
        mdtrt_id: bill.mdtrt_id.clone(),
        psn_no: bill.psn_no.clone(),
        insuplc_admdvs: bill.insuplc_admdvs.clone(),
        mdtrtarea_admvs: bill.mdtrtarea_admvs.clone(),
        status: status as i32,
        setlinfo: Some(Setlinfo { setl_id: format!("S-{}", bill.msgid), ..Setlinfo::default() }),
        ..SettleResult::default()
    };
    incoming(
        Outgoing::new(
            topics::exchange_results(TREATMENT),
            "k",
            "yidi.v1.SettleResult",
            &result,
            ContentType::Protobuf,
        ),
        0,
    )
}

#[tokio::test]
async fn a_grpc_settlement_left_unanswered_is_reversed_once_and_then_reads_reversed() {
    let (exchange, dir) = exchange("unanswered").await;
    let bill = bill(2);
    let reversal = convert::reversal_of(&bill, "H44000020261120090000009999".into(), "timeout");
    let due = "2000-01-01 00:00:00"; // long past: the caller's deadline has gone by
    exchange.submit(&bill, None, Some((reversal.encode_to_vec().as_slice(), due))).await.unwrap();
    assert_eq!(
        outbox_rows(&exchange).await,
        [(topics::HUB_REQUESTS.to_owned(), "yidi.v1.SettleRequest".to_owned())],
        "the bill waits in the outbox, committed with its record"
    );
    // The caller gave up (or the process stopped): the sweep queues the reversal, once.
    assert_eq!(exchange.sweep_unanswered().await.unwrap(), 1);
    assert_eq!(exchange.sweep_unanswered().await.unwrap(), 0);
    assert!(exchange.reverse_unanswered(&bill.msgid).await.unwrap(), "already queued");
    let rows = outbox_rows(&exchange).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].1, "yidi.v1.Reversal");
    let queued = yidi_store::outbox::oldest(exchange.store.pool(), 100).await.unwrap();
    assert_eq!(Reversal::decode(queued[1].payload.as_slice()).unwrap().omsgid, bill.msgid);

    // The late settlement arrives, then the reversal's answer: the bill reads reversed.
    let settled = result_of(&bill, &bill.msgid, SettleStatus::Settled);
    let reversed = result_of(&bill, &reversal.msgid, SettleStatus::Reversed);
    exchange.handle(&[settled, reversed]).await.unwrap();
    let mut tx = exchange.store.begin().await.unwrap();
    let known = requests::find(&mut tx, &bill.msgid).await.unwrap().unwrap();
    assert!(known.result.is_some());
    assert!(known.reversed_at.is_some(), "recorded against the original bill");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_settle_call_cut_short_is_reversed_by_the_sweep_only_once_its_deadline_has_passed() {
    // The business clock is simulated: the test, not the wall clock, says when the deadline
    // of the call (an hour here) has passed.
    let start = chrono::Utc.with_ymd_and_hms(2027, 1, 4, 2, 0, 0).unwrap();
    let clock = BusinessClock::simulated(yidi_runtime::clock::DEFAULT_ZONE, start);
    let (exchange, dir) = exchange_on("deadline", clock.clone()).await;
    let exchange = std::sync::Arc::new(exchange);
    let api = ExchangeApi::new(std::sync::Arc::clone(&exchange), Duration::from_secs(3));
    // The caller stops waiting long before its deadline (it was cancelled, or the process
    // stopped): no result, and no reversal yet.
    let call = api.run(bill(4), Duration::from_secs(3600), None, true);
    assert!(tokio::time::timeout(Duration::from_millis(200), call).await.is_err());
    assert_eq!(exchange.sweep_unanswered().await.unwrap(), 0, "the deadline is an hour away");
    clock.advance(chrono::Duration::minutes(59));
    assert_eq!(exchange.sweep_unanswered().await.unwrap(), 0, "a minute before it");
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(exchange.sweep_unanswered().await.unwrap(), 1, "past it: the 2601 reversal");
    assert_eq!(exchange.sweep_unanswered().await.unwrap(), 0, "queued once");
    let rows = outbox_rows(&exchange).await;
    assert_eq!(
        rows.iter().map(|row| row.1.as_str()).collect::<Vec<_>>(),
        ["yidi.v1.SettleRequest", "yidi.v1.Reversal"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_result_before_the_deadline_leaves_nothing_to_reverse() {
    let (exchange, dir) = exchange("answered").await;
    let bill = bill(3);
    let reversal = convert::reversal_of(&bill, "H44000020261120090000009998".into(), "timeout");
    exchange
        .submit(&bill, None, Some((reversal.encode_to_vec().as_slice(), "2000-01-01 00:00:00")))
        .await
        .unwrap();
    exchange.handle(&[result_of(&bill, &bill.msgid, SettleStatus::Settled)]).await.unwrap();
    assert!(!exchange.reverse_unanswered(&bill.msgid).await.unwrap(), "a result came first");
    assert_eq!(exchange.sweep_unanswered().await.unwrap(), 0);
    assert_eq!(outbox_rows(&exchange).await.len(), 1, "only the bill itself");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_result_for_a_msgid_the_exchange_never_sent_is_refused() {
    let (exchange, dir) = exchange("unknown").await;
    let stranger = bill(4);
    let verdicts = exchange
        .handle(&[result_of(&stranger, &stranger.msgid, SettleStatus::Settled)])
        .await
        .unwrap();
    assert_eq!(verdicts[0].as_ref().unwrap_err().code, "UNKNOWN_MSGID");
    let _ = std::fs::remove_dir_all(&dir);
}

/// After a crash a consumer reads again what it had handled but not yet marked: the HIS
/// gets the same answer again, never a second count and never a loss.
#[tokio::test]
async fn messages_read_again_after_a_crash_are_answered_again_but_never_counted_twice() {
    let (exchange, dir) = exchange("replay").await;
    let bill = bill(5);
    let his = |verdicts: Vec<yidi_bus::Verdict>| -> usize {
        verdicts
            .into_iter()
            .flat_map(|v| v.unwrap())
            .filter(|m| m.topic == topics::his_settlement(TREATMENT))
            .count()
    };
    let counts = |exchange: &Exchange| {
        let store = exchange.store.clone();
        let msgid = bill.msgid.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let known = requests::find(&mut tx, &msgid).await.unwrap().unwrap();
            (known.sends, known.delivered)
        }
    };
    assert_eq!(his(exchange.handle(&[discharge(&bill, 5)]).await.unwrap()), 0);
    let result = result_of(&bill, &bill.msgid, SettleStatus::Settled);
    assert_eq!(his(exchange.handle(std::slice::from_ref(&result)).await.unwrap()), 1);
    assert_eq!(counts(&exchange).await, (1, 1));
    // The result read again: the answer again, not counted.
    assert_eq!(his(exchange.handle(std::slice::from_ref(&result)).await.unwrap()), 1);
    assert_eq!(counts(&exchange).await, (1, 1));
    // The discharge read again: not a new send.
    exchange.handle(&[discharge(&bill, 5)]).await.unwrap();
    assert_eq!(counts(&exchange).await, (1, 1));
    // The HIS really sends it again (a later offset): counted, answered with the first answer.
    assert_eq!(his(exchange.handle(&[discharge(&bill, 9)]).await.unwrap()), 1);
    assert_eq!(counts(&exchange).await, (2, 2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The exchange's database locked by another process: a bill and its result fail as
/// transient (the runtime waits and tries again), never as a rejection the HIS would see;
/// once it is back, each is handled as if nothing had happened.
#[tokio::test]
async fn a_locked_database_is_waited_out_never_turned_into_a_rejection() {
    let (exchange, dir) = exchange("locked").await;
    let bill = bill(6);
    let result = result_of(&bill, &bill.msgid, SettleStatus::Settled);
    // Another process: a pool of its own on the same file.
    let other =
        Store::connect(&format!("sqlite://{}", dir.join("exchange.db").display())).await.unwrap();
    let mut lock = other.pool().acquire().await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut *lock).await.unwrap();
    assert!(exchange.handle(&[discharge(&bill, 0)]).await.is_err(), "the bill: transient");
    sqlx::query("COMMIT").execute(&mut *lock).await.unwrap();
    let to_hub = exchange.handle(&[discharge(&bill, 0)]).await.unwrap();
    assert_eq!(to_hub[0].as_ref().unwrap()[0].topic, topics::HUB_REQUESTS);
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut *lock).await.unwrap();
    assert!(exchange.handle(std::slice::from_ref(&result)).await.is_err(), "the result: transient");
    sqlx::query("COMMIT").execute(&mut *lock).await.unwrap();
    drop(lock);
    let answered = exchange.handle(std::slice::from_ref(&result)).await.unwrap();
    let to_his = answered[0].as_ref().unwrap();
    assert_eq!(to_his[0].topic, topics::his_settlement(TREATMENT));
    let mut tx = exchange.store.begin().await.unwrap();
    let known = requests::find(&mut tx, &bill.msgid).await.unwrap().unwrap();
    assert_eq!((known.sends, known.delivered), (1, 1), "counted once");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A decision of the hub on an institution's service agreement, as the exchange reads it.
fn decision(code: &str, agreement: &str, seq: u64, offset: i64) -> Incoming {
    registration_decision(code, agreement, seq, offset, None)
}

/// A decision that may also register the institution or change its entry.
fn registration_decision(
    code: &str,
    agreement: &str,
    seq: u64,
    offset: i64,
    registration: Option<yidi_wire::v1::Registration>,
) -> Incoming {
    let decision = yidi_wire::v1::HospitalAgreement {
        registration,
        fixmedins_code: code.into(),
        agreement: agreement.into(),
        article: "seed 004 art. 49(ii)".into(),
        reason: "false inpatient stays".into(),
        decided_at: "2026-11-20 10:00:00".into(),
        decision_seq: seq,
        decision_id: format!("D{seq}"),
    };
    incoming(
        Outgoing::new(
            topics::exchange_hospitals(TREATMENT),
            code,
            "yidi.v1.HospitalAgreement",
            &decision,
            ContentType::Protobuf,
        ),
        offset,
    )
}

/// The request the exchange sent the hub for a bill.
fn request_of(replies: &[Outgoing]) -> yidi_wire::v1::SettleRequest {
    assert_eq!(replies[0].topic, topics::HUB_REQUESTS);
    yidi_wire::v1::SettleRequest::decode(replies[0].payload.as_slice()).unwrap()
}

/// Issue #13 §3: the level settled at is the register's, and an institution that is not a
/// designated one of this province is answered by the exchange, not sent on.
#[tokio::test]
async fn bills_settle_at_the_registered_level_and_undesignated_institutions_are_refused() {
    let (exchange, dir) = exchange("register").await;
    let mut claimed = bill(21);
    let registered = yidi_sim::hospitals::find(&claimed.fixmedins_code).unwrap().level.number();
    claimed.hosp_lv = if registered == 3 { 1 } else { 3 };
    let stranger = at_hospital("H44019999999", 22);
    let verdicts =
        exchange.handle(&[discharge(&claimed, 0), discharge(&stranger, 1)]).await.unwrap();
    let sent = request_of(verdicts[0].as_ref().unwrap());
    assert_eq!(sent.bill.unwrap().hosp_lv, i32::from(registered), "the register's level");
    let told = verdicts[1].as_ref().unwrap();
    assert_eq!(told[0].topic, topics::his_settlement(TREATMENT));
    let result = SettleResult::decode_json_or_proto(&told[0]);
    assert_eq!(
        (result.status, result.reason.as_str()),
        (SettleStatus::Rejected as i32, "hospital_not_designated")
    );
    assert!(!result.rule.is_empty());
    // Sent again, the refusal is the first answer again, marked as a repeat.
    let again = exchange.handle(&[discharge(&stranger, 2)]).await.unwrap();
    let repeat = SettleResult::decode_json_or_proto(&again[0].as_ref().unwrap()[0]);
    assert!(repeat.duplicate && repeat.reason == "hospital_not_designated");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Seed 004 art. 49: a suspended agreement stops the institution's bills until a later
/// decision reinstates it; an older decision read late changes nothing; the decisions outlive
/// a restart.
#[tokio::test]
async fn a_suspended_agreement_refuses_bills_until_a_later_decision_reinstates_it() {
    let (exchange, dir) = exchange("agreement").await;
    let first = bill(31);
    let code = first.fixmedins_code.clone();
    let of_the_same = |sequence| at_hospital(&code, sequence);
    let decided = exchange.handle(&[decision(&code, "suspended", 2, 0)]).await.unwrap();
    assert!(decided[0].as_ref().unwrap().is_empty(), "a decision is recorded, not answered");
    let refused = exchange.handle(&[discharge(&first, 0)]).await.unwrap();
    let result = SettleResult::decode_json_or_proto(&refused[0].as_ref().unwrap()[0]);
    assert_eq!(result.reason, "agreement_suspended");
    // An older decision arriving late does not undo the newer one.
    exchange.handle(&[decision(&code, "in_force", 1, 1)]).await.unwrap();
    let restarted =
        yidi_exchange::hospitals::Register::load(&exchange.store, exchange.province).await.unwrap();
    assert_eq!(
        restarted.designation(&code).unwrap().agreement,
        yidi_domain::hospital::Agreement::Suspended,
        "kept across a restart"
    );
    let still = exchange.handle(&[discharge(&of_the_same(32), 1)]).await.unwrap();
    let result = SettleResult::decode_json_or_proto(&still[0].as_ref().unwrap()[0]);
    assert_eq!(result.reason, "agreement_suspended");
    exchange.handle(&[decision(&code, "in_force", 3, 2)]).await.unwrap();
    let reinstated = exchange.handle(&[discharge(&of_the_same(33), 2)]).await.unwrap();
    request_of(reinstated[0].as_ref().unwrap());
    // A decision on an institution that is not this province's is refused.
    let foreign = exchange.handle(&[decision("H11010000000", "ended", 4, 3)]).await.unwrap();
    assert_eq!(foreign[0].as_ref().unwrap_err().code, "INVALID_AGREEMENT");
    let _ = std::fs::remove_dir_all(&dir);
}

fn filing(id: &str, target: &str, revoked_at: &str) -> Incoming {
    let record = yidi_wire::v1::FilingRecord {
        filing_id: id.into(),
        psn_no: "120000198001010011".into(),
        insuplc_admdvs: "120000".into(),
        filing_type: "referral".into(),
        target_admdvs: target.into(),
        begndate: "2026-11-01".into(),
        enddate: "2027-04-30".into(),
        filed_at: "2026-11-01 08:00:00".into(),
        revoked_at: revoked_at.into(),
        version: convert::filing_version(!revoked_at.is_empty()),
    };
    incoming(
        Outgoing::new(topics::FILING, id, "yidi.v1.FilingRecord", &record, ContentType::Protobuf),
        0,
    )
}

/// Issue #13 §1, notice III(5): the filings agencies publish reach the exchange of the
/// province they are valid in, which answers the HIS's pre-admission check from them.
#[tokio::test]
async fn an_agencys_filing_answers_the_his_pre_admission_check_at_the_exchange() {
    let (exchange, dir) = exchange("filings").await;
    let malformed = {
        let mut bad = filing("F-3", "440000", "");
        bad.payload = b"not a filing".to_vec();
        bad
    };
    let verdicts = exchange
        .handle(&[filing("F-1", "440000", ""), filing("F-2", "110000", ""), malformed])
        .await
        .unwrap();
    assert!(verdicts[0].as_ref().unwrap().is_empty() && verdicts[1].as_ref().unwrap().is_empty());
    // A record that does not read is skipped here: the hub, which owns the topic, dead-letters
    // it once.
    assert!(verdicts[2].as_ref().unwrap().is_empty());
    let tianjin = exchange.insured.iter().find(|r| r.region.as_str() == "120000").unwrap().clone();
    let admitted =
        chrono::NaiveDateTime::parse_from_str("2026-11-20 09:00:00", convert::TIME_FORMAT).unwrap();
    let check = |psn_no: &'static str, region: yidi_domain::policy::InsuredRegion| {
        let store = exchange.store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let when = (admitted, admitted, false);
            let person = (psn_no, "120000".parse().unwrap());
            yidi_exchange::filings::check(&mut tx, &region, person, "440100".parse().unwrap(), when)
                .await
                .unwrap()
        }
    };
    let filed = check("120000198001010011", tianjin.clone()).await;
    assert_eq!(
        (filed.filing_class.as_str(), filed.filing_id.as_str(), filed.basis.as_str()),
        ("referral", "F-1", "filed")
    );
    assert!(filed.direct_settlement);
    // Someone with no filing here: settled at the reduced ratio in Tianjin, refused where the
    // region refuses the unfiled.
    let unfiled = check("120000199001010022", tianjin.clone()).await;
    assert_eq!((unfiled.filing_class.as_str(), unfiled.direct_settlement), ("unfiled", true));
    let mut refusing = tianjin.clone();
    refusing.schemes.iter_mut().for_each(|p| p.cross_province.refuse_unfiled = true);
    let refused = check("120000199001010022", refusing).await;
    assert_eq!((refused.direct_settlement, refused.reason.as_str()), (false, "not_filed"));
    assert!(!refused.rule.is_empty());
    // The filing revoked: the replica holds the latest version, and the person is unfiled.
    exchange.handle(&[filing("F-1", "440000", "2026-11-10 10:00:00")]).await.unwrap();
    assert_eq!(check("120000198001010011", tianjin.clone()).await.filing_class, "unfiled");
    // Issue #26 §5: the filing's earlier record replayed (validly signed, inside its window)
    // is older than the revocation and changes nothing, however late it arrives.
    exchange.handle(&[filing("F-1", "440000", "")]).await.unwrap();
    assert_eq!(check("120000198001010011", tianjin).await.filing_class, "unfiled", "replayed");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #13 §3: the hub keeps the register — it registers a new institution (its bills then
/// settle at its registered level), changes an institution's level, and closes one to
/// cross-province settlement; the entries outlive a restart; a registration in another
/// province is refused.
#[tokio::test]
async fn the_hubs_registrations_enter_and_change_the_register() {
    use yidi_wire::v1::Registration;
    let (exchange, dir) = exchange("registrations").await;
    let newcomer = Registration {
        name: "New Bay Hospital".into(),
        admdvs: "440300".into(),
        hosp_lv: 2,
        cross_province: true,
    };
    let mut first = at_hospital("H44030000777", 41);
    first.hosp_lv = 3;
    let refused = exchange.handle(&[discharge(&first, 0)]).await.unwrap();
    let result = SettleResult::decode_json_or_proto(&refused[0].as_ref().unwrap()[0]);
    assert_eq!(result.reason, "hospital_not_designated", "not registered yet");
    let register = |seq, offset, registration| {
        registration_decision("H44030000777", "in_force", seq, offset, Some(registration))
    };
    exchange.handle(&[register(10, 0, newcomer.clone())]).await.unwrap();
    let second = DischargeBill { hosp_lv: 3, ..at_hospital(&first.fixmedins_code, 42) };
    let sent = exchange.handle(&[discharge(&second, 1)]).await.unwrap();
    assert_eq!(request_of(sent[0].as_ref().unwrap()).bill.unwrap().hosp_lv, 2, "registered level");
    let relevelled = Registration { hosp_lv: 3, ..newcomer.clone() };
    exchange.handle(&[register(11, 1, relevelled)]).await.unwrap();
    let restarted =
        yidi_exchange::hospitals::Register::load(&exchange.store, exchange.province).await.unwrap();
    let entry = restarted.designation("H44030000777").unwrap();
    assert_eq!((entry.level.number(), entry.name.as_str()), (3, "New Bay Hospital"));
    // An agreement decision without a registration keeps the entry.
    exchange.handle(&[decision("H44030000777", "in_force", 12, 2)]).await.unwrap();
    assert_eq!(exchange.hospitals.designation("H44030000777").unwrap().level.number(), 3);
    let closed = Registration { cross_province: false, ..newcomer.clone() };
    exchange.handle(&[register(13, 3, closed)]).await.unwrap();
    let late = at_hospital(&first.fixmedins_code, 43);
    let told = exchange.handle(&[discharge(&late, 2)]).await.unwrap();
    let result = SettleResult::decode_json_or_proto(&told[0].as_ref().unwrap()[0]);
    assert_eq!(result.reason, "hospital_not_designated", "closed to cross-province settlement");
    let elsewhere = Registration { admdvs: "310100".into(), ..newcomer };
    let foreign = exchange
        .handle(&[registration_decision("H31010000777", "in_force", 14, 4, Some(elsewhere))])
        .await
        .unwrap();
    assert_eq!(foreign[0].as_ref().unwrap_err().code, "INVALID_REGISTRATION");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #9 §6, seed 004 art. 49: with the exchange run as two processes, a decision on an
/// agreement that one of them took in governs the bills the other settles.
#[tokio::test]
async fn a_decision_one_process_took_in_governs_the_bills_of_the_other() {
    let (mut one, dir) = exchange("shared-register").await;
    let other = second_process(&mut one).await;
    let first = bill(41);
    let code = first.fixmedins_code.clone();
    let of_the_same = |sequence| at_hospital(&code, sequence);
    one.handle(&[decision(&code, "suspended", 2, 0)]).await.unwrap();
    let refused = other.handle(&[discharge(&first, 0)]).await.unwrap();
    let result = SettleResult::decode_json_or_proto(&refused[0].as_ref().unwrap()[0]);
    assert_eq!(result.reason, "agreement_suspended", "the other process read the decision");
    one.handle(&[decision(&code, "in_force", 3, 1)]).await.unwrap();
    let reinstated = other.handle(&[discharge(&of_the_same(42), 1)]).await.unwrap();
    request_of(reinstated[0].as_ref().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #9 §6: a gRPC call waits in the process it reached; when the result is taken in by
/// another process of the exchange, the call reads it from the shared database.
#[tokio::test]
async fn a_grpc_call_gets_the_result_another_process_took_in() {
    let (mut one, dir) = exchange("shared-grpc").await;
    let other = second_process(&mut one).await;
    let bill = bill(43);
    let waiter = one.wait_for(&bill.msgid);
    one.submit(&bill, None, None).await.unwrap();
    other.handle(&[result_of(&bill, &bill.msgid, SettleStatus::Settled)]).await.unwrap();
    let answered = one.answer(&bill.msgid, waiter, Duration::from_secs(30)).await;
    assert_eq!(answered.map(|result| result.status), Some(SettleStatus::Settled as i32));
    assert_eq!(one.grpc_answers.get("shared_database", ""), 1, "read from the database");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #26 §7: asked by the hub, the exchange states the settlements it delivered that
/// were made on a day (by their `setl_time`), per insured region, with their ids and fund
/// shares when the detail is asked for.
#[tokio::test]
async fn the_exchange_states_the_settlements_it_delivered_on_a_day() {
    use yidi_wire::v1::{DayStatement, DayStatementRequest};
    let (exchange, dir) = exchange("day-statement").await;
    let delivered = |setl_id: &str, day: &str| SettleResult {
        insuplc_admdvs: "120000".into(),
        mdtrtarea_admvs: "440100".into(),
        status: SettleStatus::Settled as i32,
        setlinfo: Some(Setlinfo {
            setl_id: setl_id.into(),
            medfee_sumamt: "500.00".into(),
            fund_pay_sumamt: "300.00".into(),
            acct_pay: "0.00".into(),
            setl_time: format!("{day} 23:59:59"),
            ..Setlinfo::default()
        }),
        ..SettleResult::default()
    };
    let mut tx = exchange.store.begin().await.unwrap();
    for (setl_id, day) in [("S-1", "2026-11-23"), ("S-2", "2026-11-24")] {
        yidi_exchange::statement::record(&mut tx, &delivered(setl_id, day), Some("2026-11"))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let ask = DayStatementRequest { day: "2026-11-23".into(), detail: true };
    let message = Outgoing::new(
        topics::exchange_statements(TREATMENT),
        "2026-11-23",
        "yidi.v1.DayStatementRequest",
        &ask,
        ContentType::Protobuf,
    );
    let answers = exchange.handle(&[incoming(message, 0)]).await.unwrap();
    let replies = answers[0].as_ref().unwrap();
    assert_eq!(replies[0].topic, topics::HUB_STATEMENTS);
    let stated = DayStatement::decode(replies[0].payload.as_slice()).unwrap();
    assert_eq!((stated.party.as_str(), stated.region.as_str()), ("exchange", TREATMENT));
    assert_eq!(stated.rows.len(), 1, "{stated:?}");
    let row = &stated.rows[0];
    assert_eq!((row.insuplc_admdvs.as_str(), row.mdtrtarea_admvs.as_str()), ("120000", TREATMENT));
    assert_eq!((row.setl_cnt, row.fund_pay_sumamt.as_str()), (1, "300.00"));
    let ids: Vec<&str> = row.settlements.iter().map(|s| s.setl_id.as_str()).collect();
    assert_eq!(ids, ["S-1"], "the day's, not the next day's");
    let _ = std::fs::remove_dir_all(&dir);
}
