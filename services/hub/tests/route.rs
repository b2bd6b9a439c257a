//! The hub's routing, in-process (no broker): every request goes to the agency of its insured
//! province, or is answered by the hub with a reason; nothing is ever sent to a province that
//! has no agency, and what cannot be read is rejected with a stable code (issue #10 §1, §4).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use prost::Message;
use yidi_bus::{topics, Bus, BusConfig, Incoming, Outgoing};
use yidi_hub::route::Hub;
use yidi_store::Store;
use yidi_wire::codec::ContentType;
use yidi_wire::headers;
use yidi_wire::v1::{Reversal, SettleResult, SettleStatus};

async fn hub(name: &str) -> (Hub, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("yidi-route-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = support::store(&dir).await;
    let desk = support::desk(&store, None).await;
    let config =
        BusConfig { brokers: "127.0.0.1:1".into(), service: "hub".into(), ..Default::default() };
    let hub = Hub {
        store,
        served: ["440000", "120000"].iter().map(|c| c.parse().unwrap()).collect(),
        suspended: ["120000".parse().unwrap()].into_iter().collect::<BTreeSet<_>>(),
        overdue_suspended: Arc::new(RwLock::new(BTreeSet::new())),
        desk: Arc::new(desk),
        live: Arc::default(),
        bus: Bus::connect(config).unwrap(),
        tokens: support::test_tokens(),
        catalogues: Arc::new(yidi_hub::referee::Catalogues::new(
            yidi_data::treatment_catalogues().unwrap(),
        )),
    };
    (hub, dir)
}

fn reversal_to(insured: &str) -> Incoming {
    let reversal = Reversal {
        msgid: "H31000020261129100000000001".into(),
        mdtrt_id: "E1".into(),
        psn_no: "P1".into(),
        insuplc_admdvs: insured.into(),
        mdtrtarea_admvs: "310000".into(),
        omsgid: "H31000020261129095900000001".into(),
        reason: "timeout".into(),
        ..Reversal::default()
    };
    reversal_request(&reversal, 0)
}

/// A reversal as the exchange sends it to the hub, read back at `offset`.
fn reversal_request(reversal: &Reversal, offset: i64) -> Incoming {
    let message = Outgoing::new(
        topics::HUB_REQUESTS,
        "k",
        "yidi.v1.Reversal",
        reversal,
        ContentType::Protobuf,
    )
    .with_header(headers::MSGID, &reversal.msgid);
    Incoming::read_back(message, 0, offset)
}

#[tokio::test]
async fn a_reversal_for_a_province_without_an_agency_is_answered_by_the_hub_and_sent_nowhere_else()
{
    let (hub, dir) = hub("unroutable").await;
    let replies = hub.route_request(&reversal_to("650000")).unwrap().replies;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].topic, topics::exchange_results("310000"));
    let answer = SettleResult::decode(replies[0].payload.as_slice()).unwrap();
    assert_eq!(answer.status, SettleStatus::Rejected as i32);
    assert!(answer.reason.starts_with("unknown_province"), "{}", answer.reason);
    assert_eq!(answer.msgid, "H31000020261129100000000001", "the exchange's waiting call hears it");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_suspended_province_still_takes_reversals_undoing_is_always_allowed() {
    let (hub, dir) = hub("suspended").await;
    let replies = hub.route_request(&reversal_to("120000")).unwrap().replies;
    let topics: Vec<&str> = replies.iter().map(|r| r.topic.as_str()).collect();
    assert_eq!(topics, [topics::agency_requests("120000")]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_unreadable_request_is_rejected_with_a_stable_code() {
    let (hub, dir) = hub("unreadable").await;
    let mut garbage = reversal_to("440000");
    garbage.payload = vec![0xff, 0xff, 0xff];
    let rejection = hub.route_request(&garbage).err().unwrap();
    assert_eq!(rejection.code, "WIRE_01");
    let mut nowhere = reversal_to("not a region");
    nowhere.headers.insert(headers::MSGID.into(), "x".into());
    assert_eq!(hub.route_request(&nowhere).err().unwrap().code, "INVALID_REGION");
    let _ = std::fs::remove_dir_all(&dir);
}

fn statement_part(part: u32, parts: u32, ids: &[&str]) -> Incoming {
    let statement = yidi_wire::v1::Statement {
        setlym: "2026-10".into(),
        clr_optins: "310000".into(),
        rows: vec![yidi_wire::v1::StatementRow {
            insuplc_admdvs: "440000".into(),
            fixmedins_setl_cnt: ids.len() as i64,
            fund_pay_sumamt: format!("{}.00", ids.len() * 10),
            setl_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }],
        stmt_time: "2026-11-01 00:00:00".into(),
        stmt_id: "0123456789abcdef".into(),
        part,
        parts,
    };
    let message = Outgoing::new(
        topics::HUB_STATEMENTS,
        "2026-10",
        "yidi.v1.Statement",
        &statement,
        ContentType::Protobuf,
    );
    Incoming::read_back(message, 0, i64::from(part))
}

#[tokio::test]
async fn a_statement_in_parts_is_reconciled_once_every_part_is_in_whatever_their_order() {
    let (hub, dir) = hub("statement-parts").await;
    for part in [statement_part(3, 3, &["e"]), statement_part(2, 3, &["c", "d"])] {
        hub.record_statement(&part).await.unwrap();
    }
    // A part read again (after a crash) is kept once.
    hub.record_statement(&statement_part(2, 3, &["c", "d"])).await.unwrap();
    assert!(hub.desk.reconciliations(None).await.is_empty(), "two parts of three: not yet");
    hub.record_statement(&statement_part(1, 3, &["a", "b"])).await.unwrap();
    let reconciled = hub.desk.reconciliations(None).await;
    assert_eq!(reconciled.len(), 1);
    let exchange = &reconciled[0].rows[0].exchange;
    assert_eq!((exchange.settled, exchange.fund_pay_sumamt.to_string()), (5, "50.00".to_owned()));
    assert!(!reconciled[0].balanced, "the ledger has none of these bills");
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM statement_part")
        .fetch_one(hub.store.pool())
        .await
        .unwrap();
    assert_eq!(kept, 0, "the parts are forgotten once reconciled");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_statement_part_numbered_outside_its_parts_is_refused() {
    let (hub, dir) = hub("statement-bad-part").await;
    let refused = hub.record_statement(&statement_part(4, 3, &["a"])).await.unwrap_err();
    let yidi_bus::Failure::Rejected(rejection) = refused else { panic!("not a rejection") };
    assert_eq!(rejection.code, "INVALID_STATEMENT");
    let _ = std::fs::remove_dir_all(&dir);
}

fn settled_result(setl_id: &str) -> Incoming {
    let result = SettleResult {
        msgid: format!("M-{setl_id}"),
        mdtrt_id: format!("E-{setl_id}"),
        psn_no: "P1".into(),
        insuplc_admdvs: "440000".into(),
        mdtrtarea_admvs: "310000".into(),
        status: SettleStatus::Settled as i32,
        setlinfo: Some(yidi_wire::v1::Setlinfo {
            setl_id: setl_id.into(),
            medfee_sumamt: "2000.00".into(),
            hifp_pay: "1000.00".into(),
            hifob_pay: "0.00".into(),
            hifmi_pay: "0.00".into(),
            maf_pay: "0.00".into(),
            fund_pay_sumamt: "1000.00".into(),
            acct_pay: "100.00".into(),
            insutype: "310".into(),
            setl_time: "2026-11-23 10:00:00".into(),
            ..Default::default()
        }),
        ..SettleResult::default()
    };
    let message = Outgoing::new(
        topics::HUB_RESULTS,
        "k",
        "yidi.v1.SettleResult",
        &result,
        ContentType::Protobuf,
    )
    .with_header(headers::MSGID, &result.msgid);
    Incoming::read_back(message, 0, 0)
}

/// The hub's database held by another process (issue #10 §1): a result is not recorded, not
/// answered and not rejected; the runtime waits and hands it again, and once the database is
/// back it is posted exactly once, in the ledger and in the book the desk keeps in memory.
#[tokio::test]
async fn a_result_meeting_a_locked_database_is_transient_and_posted_once_when_it_is_back() {
    use yidi_bus::LaneHandler;
    let (hub, dir) = hub("locked").await;
    route(&hub, &bill_request("S1")).await;
    let lane = [settled_result("S1")];
    // Another process: a pool of its own on the same file.
    let other =
        Store::connect(&format!("sqlite://{}", dir.join("hub.db").display())).await.unwrap();
    let mut lock = other.pool().acquire().await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut *lock).await.unwrap();
    assert!(hub.handle(&lane).await.is_err(), "transient: the lane is handed again later");
    assert!(
        hub.record_statement(&statement_part(1, 2, &["a"]))
            .await
            .is_err_and(|f| matches!(f, yidi_bus::Failure::Transient(_))),
        "a statement part cannot be kept: transient"
    );
    sqlx::query("COMMIT").execute(&mut *lock).await.unwrap();
    drop(lock);
    let answers = hub.handle(&lane).await.unwrap();
    assert_eq!(answers[0].as_ref().unwrap()[0].topic, topics::exchange_results("310000"));
    let (bills, _, entries) = hub.desk.ledger_bills().await;
    assert_eq!((bills, entries), (1, 1), "posted once, not once per attempt");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bill that `settled_result(setl_id)` answers, as an exchange sends it to the hub.
fn bill_request(setl_id: &str) -> Incoming {
    let hospital = yidi_sim::hospitals::designation("310000".parse().unwrap(), 7);
    let bill = yidi_wire::v1::DischargeBill {
        msgid: format!("M-{setl_id}"),
        mdtrt_id: format!("E-{setl_id}"),
        psn_no: "P1".into(),
        insutype: "310".into(),
        insuplc_admdvs: "440000".into(),
        mdtrtarea_admvs: "310000".into(),
        fixmedins_code: hospital.code,
        hosp_lv: i32::from(hospital.level.number()),
        feedetail: vec![
            yidi_wire::v1::FeeDetail {
                feedetl_sn: "1".into(),
                med_list_codg: capped_class_b(),
                cnt: "2".into(),
                pric: "30.00".into(),
                ..Default::default()
            },
            yidi_wire::v1::FeeDetail {
                feedetl_sn: "2".into(),
                med_list_codg: "NOT-IN-THE-CATALOGUE".into(),
                cnt: "1".into(),
                pric: "12.50".into(),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let request = yidi_wire::v1::SettleRequest {
        lines: yidi_wire::convert::classify(&bill, &shanghai()),
        catalogue_version: shanghai().version,
        bill: Some(bill),
        ..Default::default()
    };
    let message = Outgoing::new(
        topics::HUB_REQUESTS,
        "k",
        "yidi.v1.SettleRequest",
        &request,
        ContentType::Protobuf,
    )
    .with_header(headers::MSGID, &format!("M-{setl_id}"));
    Incoming::read_back(message, 0, 0)
}

/// An item of Shanghai's catalogue of class B (a self-pay share) with a price cap.
fn capped_class_b() -> String {
    shanghai()
        .items
        .iter()
        .find(|(_, item)| {
            item.price_cap.is_some()
                && matches!(item.class, yidi_domain::catalogue::ItemClass::B { .. })
        })
        .map(|(code, _)| code.clone())
        .expect("Shanghai's catalogue has a capped class-B item")
}

/// Shanghai's published catalogue, with which its exchange classifies.
fn shanghai() -> yidi_domain::catalogue::Catalogue {
    yidi_data::treatment_catalogues()
        .unwrap()
        .into_iter()
        .find(|c| c.region.as_str() == "310000")
        .unwrap()
        .catalogue
}

/// Issue #26 §4: a party without a stake checks the classification. The hub re-derives each
/// line's class, share and cap from the edition the request names; a request classed more
/// generously than the edition — or naming an edition the province never published — is
/// refused naming the first line, and the HIS is told; so is a level other than the
/// register's, and a bill of an institution the hub's register suspended, whatever the
/// exchange did.
#[tokio::test]
#[allow(clippy::too_many_lines)] // One scenario whose steps build on each other, read in order.
async fn the_hub_refuses_a_classification_or_level_other_than_the_catalogues_and_the_registers() {
    let (hub, dir) = hub("classification").await;
    route(&hub, &bill_request("S1")).await;
    let generous = |change: &dyn Fn(&mut yidi_wire::v1::SettleRequest)| {
        let mut request = bill_request("S2");
        let mut decoded = yidi_wire::v1::SettleRequest::decode(request.payload.as_slice()).unwrap();
        change(&mut decoded);
        request.payload = decoded.encode_to_vec();
        request
    };
    let class_a = generous(&|r| {
        r.lines[1].chrgitm_lv = "A".into();
    });
    let answers = hub.route_requests(&[class_a]).await.unwrap();
    let refused = answers[0].as_ref().unwrap_err();
    assert_eq!(refused.code, "CLASSIFICATION_MISMATCH");
    assert!(refused.reason.starts_with("lines[1] (NOT-IN-THE-CATALOGUE)"), "{}", refused.reason);
    assert_eq!(refused.replies[0].topic, topics::exchange_results("310000"), "the HIS is told");
    for (what, change) in [
        (
            "no price cap",
            &(|r: &mut yidi_wire::v1::SettleRequest| r.lines[0].pric_uplmt_amt.clear())
                as &dyn Fn(&mut yidi_wire::v1::SettleRequest),
        ),
        ("no self-pay share", &|r: &mut yidi_wire::v1::SettleRequest| {
            r.lines[0].selfpay_prop.clear()
        }),
        ("class A", &|r: &mut yidi_wire::v1::SettleRequest| r.lines[0].chrgitm_lv = "A".into()),
    ] {
        let answers = hub.route_requests(&[generous(change)]).await.unwrap();
        let refused = answers[0].as_ref().unwrap_err();
        assert_eq!(refused.code, "CLASSIFICATION_MISMATCH", "{what}");
        assert!(refused.reason.starts_with("lines[0]"), "{what}: {}", refused.reason);
    }
    let cheaper = generous(&|r| r.lines[0].pric = "0.01".into());
    assert_eq!(
        hub.route_requests(&[cheaper]).await.unwrap()[0].as_ref().unwrap_err().code,
        "CLASSIFICATION_MISMATCH",
        "the lines the agency settles must be the bill's"
    );
    let unpublished = generous(&|r| r.catalogue_version = "310000-generous".into());
    assert_eq!(
        hub.route_requests(&[unpublished]).await.unwrap()[0].as_ref().unwrap_err().code,
        "CATALOGUE_UNKNOWN"
    );
    let higher = generous(&|r| {
        let bill = r.bill.as_mut().unwrap();
        bill.hosp_lv = if bill.hosp_lv == 3 { 1 } else { 3 };
    });
    let answers = hub.route_requests(&[higher]).await.unwrap();
    assert_eq!(answers[0].as_ref().unwrap_err().code, "LEVEL_MISMATCH");

    // The hub suspends the institution; its exchange has not heard yet and sends its bill.
    let hospital = yidi_sim::hospitals::designation("310000".parse().unwrap(), 7);
    let outbox = yidi_runtime::outbox::Outbox::new(hub.store.clone(), hub.bus.clone());
    let ask = yidi_hub::hospitals::Ask {
        decision_id: "D-1".into(),
        fixmedins_code: hospital.code.clone(),
        agreement: "suspended".into(),
        article: "seed 004 art. 49".into(),
        reason: "fabricated stays".into(),
        registration: None,
    };
    yidi_hub::hospitals::decide(&hub.store, &outbox, &ask, "2026-11-23 10:00:00").await.unwrap();
    let answers = hub.route_requests(&[bill_request("S3")]).await.unwrap();
    let replies = answers[0].as_ref().unwrap();
    assert_eq!(replies[0].topic, topics::exchange_results("310000"), "answered, not routed");
    let answer = SettleResult::decode(replies[0].payload.as_slice()).unwrap();
    assert_eq!(answer.reason, "agreement_suspended");
    // Nor does it take a hold on anyone's fund (2401): an admission is held to the register
    // as a bill is.
    let mut admission = bill_request("S4");
    let mut decoded = yidi_wire::v1::SettleRequest::decode(admission.payload.as_slice()).unwrap();
    decoded.lines.clear();
    if let Some(bill) = decoded.bill.as_mut() {
        (bill.admission, bill.hold_amt) = (true, String::new());
        bill.feedetail.clear();
    }
    admission.payload = decoded.encode_to_vec();
    let answers = hub.route_requests(&[admission]).await.unwrap();
    let replies = answers[0].as_ref().unwrap();
    assert_eq!(replies[0].topic, topics::exchange_results("310000"), "answered, not routed");
    let answer = SettleResult::decode(replies[0].payload.as_slice()).unwrap();
    assert_eq!(answer.reason, "agreement_suspended", "no hold for a suspended institution");
    let routed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM routed_request")
        .fetch_one(hub.store.pool())
        .await
        .unwrap();
    assert_eq!(routed, 1, "only the first, honest request was routed");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Routes `request` through the hub, which records it; it must be sent on to an agency.
async fn route(hub: &Hub, request: &Incoming) {
    let answers = hub.route_requests(std::slice::from_ref(request)).await.unwrap();
    let sent = answers[0].as_ref().unwrap();
    assert!(sent[0].topic.starts_with("agency."), "{}", sent[0].topic);
}

fn signed_by(mut incoming: Incoming, subject: &str, role: &str) -> Incoming {
    incoming.signer = yidi_bus::Signer::Verified(yidi_trust::bundle::Party {
        subject: subject.into(),
        role: role.parse().unwrap(),
    });
    incoming
}

/// Issue #11 §2: only the exchange of the treatment province submits for it, only the agency
/// of the insured region answers for it.
#[tokio::test]
async fn the_hub_takes_requests_only_from_the_treatment_provinces_exchange_and_results_only_from_the_insured_regions_agency(
) {
    let (hub, dir) = hub("authority").await;
    // The reversal is treated in 310000 and insured in 440000.
    let own = signed_by(reversal_to("440000"), "exchange-310000", "exchange:310000");
    assert_eq!(
        hub.route_request(&own).unwrap().replies[0].topic,
        topics::agency_requests("440000")
    );
    let other = signed_by(reversal_to("440000"), "exchange-330000", "exchange:330000");
    assert_eq!(hub.route_request(&other).err().unwrap().code, "AUTH_NOT_ALLOWED");

    // The result is for a person insured in 440000.
    route(&hub, &bill_request("S9")).await;
    let from_north = signed_by(settled_result("S9"), "agency-north", "agency:110000,120000");
    let answers = hub.route_results(&[from_north]).await.unwrap();
    assert_eq!(answers[0].as_ref().unwrap_err().code, "AUTH_NOT_ALLOWED");
    let from_south = signed_by(settled_result("S9"), "agency-south", "agency:440000");
    assert!(hub.route_results(&[from_south]).await.unwrap()[0].is_ok());
    let (bills, _, _) = hub.desk.ledger_bills().await;
    assert_eq!(bills, 1, "only the insured region's agency's result is posted");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #11 §6: the hub keeps persons as keyed tokens, in the settled bills and in the
/// national filing database alike, never the person number.
#[tokio::test]
async fn the_hub_keeps_a_token_for_the_person_never_the_number() {
    use yidi_bus::LaneHandler;
    let (hub, dir) = hub("tokens").await;
    route(&hub, &bill_request("S7")).await;
    hub.handle(&[settled_result("S7")]).await.unwrap();
    let filing = yidi_wire::v1::FilingRecord {
        filing_id: "F1".into(),
        psn_no: "P1".into(),
        insuplc_admdvs: "440000".into(),
        filing_type: "referral".into(),
        target_admdvs: "310000".into(),
        begndate: "2026-11-01".into(),
        filed_at: "2026-11-01 09:00:00".into(),
        ..Default::default()
    };
    let message =
        Outgoing::new(topics::FILING, "k", "yidi.v1.FilingRecord", &filing, ContentType::Protobuf)
            .with_header(headers::MSGID, "F1");
    hub.handle(&[Incoming::read_back(message, 0, 1)]).await.unwrap();
    let store =
        Store::connect(&format!("sqlite://{}", dir.join("hub.db").display())).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    for (table, sql) in [
        ("settled_bill", "SELECT psn_no FROM settled_bill"),
        ("national_filing", "SELECT psn_no FROM national_filing"),
    ] {
        let row = sqlx::query(sql).fetch_one(&mut *tx).await.unwrap();
        let kept: String = yidi_store::Row::try_get(&row, 0).unwrap();
        assert_eq!(kept, support::test_tokens().token("P1"), "{table}");
        assert!(!kept.contains("P1"), "{table} keeps the number");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #26 §5: the national filing database keeps each filing's newest version. The
/// filing's first record, replayed after its revocation (validly signed, inside the signature
/// window), is older and changes nothing; a record from before versions (0) does not undo a
/// versioned one either.
#[tokio::test]
async fn a_replayed_filing_does_not_undo_its_revocation_at_the_hub() {
    use yidi_bus::LaneHandler;
    let (hub, dir) = hub("filing-versions").await;
    let filed = yidi_wire::v1::FilingRecord {
        filing_id: "F9".into(),
        psn_no: "P9".into(),
        insuplc_admdvs: "440000".into(),
        filing_type: "referral".into(),
        target_admdvs: "310000".into(),
        begndate: "2026-11-01".into(),
        enddate: "2027-04-30".into(),
        filed_at: "2026-11-01 09:00:00".into(),
        version: yidi_wire::convert::FILING_FILED,
        ..Default::default()
    };
    let revoked = yidi_wire::v1::FilingRecord {
        revoked_at: "2026-11-10 10:00:00".into(),
        enddate: "2026-11-10".into(),
        version: yidi_wire::convert::FILING_REVOKED,
        ..filed.clone()
    };
    let unversioned = yidi_wire::v1::FilingRecord { version: 0, ..filed.clone() };
    let send = |record: &yidi_wire::v1::FilingRecord, offset| {
        let message = Outgoing::new(
            topics::FILING,
            "k",
            "yidi.v1.FilingRecord",
            record,
            ContentType::Protobuf,
        )
        .with_header(headers::MSGID, "F9");
        Incoming::read_back(message, 0, offset)
    };
    let store =
        Store::connect(&format!("sqlite://{}", dir.join("hub.db").display())).await.unwrap();
    let kept = || async {
        let row = sqlx::query(
            "SELECT revoked_at, enddate, version FROM national_filing WHERE filing_id = 'F9'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        let revoked_at: String = yidi_store::Row::try_get(&row, 0).unwrap();
        let enddate: String = yidi_store::Row::try_get(&row, 1).unwrap();
        let version: i64 = yidi_store::Row::try_get(&row, 2).unwrap();
        (revoked_at, enddate, version)
    };
    hub.handle(&[send(&filed, 1)]).await.unwrap();
    assert_eq!(kept().await, (String::new(), "2027-04-30".to_owned(), 1));
    hub.handle(&[send(&revoked, 2)]).await.unwrap();
    let after_revocation = ("2026-11-10 10:00:00".to_owned(), "2026-11-10".to_owned(), 2);
    assert_eq!(kept().await, after_revocation);
    hub.handle(&[send(&filed, 3)]).await.unwrap();
    assert_eq!(kept().await, after_revocation, "the replayed filing is older");
    hub.handle(&[send(&unversioned, 4)]).await.unwrap();
    assert_eq!(kept().await, after_revocation, "an unversioned record is older still");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Seed 004 art. 53 (issue #13 §4): an agency's halt of a person's direct settlement, and its
/// lifting, reach the ministry's view; a halt read again after its lifting does not undo it,
/// the person is kept as a token, and a record without its article is refused.
#[tokio::test]
async fn an_agencys_halts_and_their_lifting_are_kept_for_the_dashboard() {
    use yidi_bus::LaneHandler;
    let (hub, dir) = hub("halts").await;
    let halt = yidi_wire::v1::HaltRecord {
        decision_id: "HALT-7".into(),
        psn_no: "P7".into(),
        insuplc_admdvs: "440000".into(),
        begndate: "2026-11-01".into(),
        article: "seed 004 art. 53".into(),
        reason: "card lent to another person".into(),
        decided_at: "2026-11-01 09:00:00".into(),
        ..Default::default()
    };
    let lifted = yidi_wire::v1::HaltRecord {
        lifted_by: "LIFT-7".into(),
        lifted_at: "2026-11-20 09:00:00".into(),
        lift_reason: "repaid".into(),
        ..halt.clone()
    };
    let unfounded = yidi_wire::v1::HaltRecord { article: String::new(), ..halt.clone() };
    let message = |record: &yidi_wire::v1::HaltRecord, offset: i64| {
        let message = Outgoing::new(
            topics::HUB_SANCTIONS,
            "k",
            "yidi.v1.HaltRecord",
            record,
            ContentType::Protobuf,
        );
        Incoming::read_back(message, 0, offset)
    };
    let answers = hub
        .handle(&[
            message(&halt, 1),
            message(&lifted, 2),
            message(&halt, 3),
            message(&unfounded, 4),
        ])
        .await
        .unwrap();
    assert!(answers[..3].iter().all(Result::is_ok));
    assert_eq!(answers[3].as_ref().unwrap_err().code, "INVALID_HALT");
    let listed = yidi_hub::halts::listed(&hub.store).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].lifted_by.as_str(), listed[0].article.as_str()),
        ("LIFT-7", "seed 004 art. 53")
    );
    assert_eq!(listed[0].person, support::test_tokens().token("P7"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn with_result(incoming: &Incoming, result: &SettleResult) -> Incoming {
    Incoming { payload: result.encode_to_vec(), ..incoming.clone() }
}

fn decode(incoming: &Incoming) -> SettleResult {
    SettleResult::decode(incoming.payload.as_slice()).unwrap()
}

async fn settled_bills(hub: &Hub) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM settled_bill")
        .fetch_one(hub.store.pool())
        .await
        .unwrap()
}

/// Issue #26 §1: a result is taken only as the answer to a request the hub routed, for the
/// same person, episode and regions, once. An agency that publishes a result for a bill never
/// routed to it, answers another region's bill under a region it hosts, or answers a routed
/// bill a second time with other amounts is refused, and no ledger or table changes.
#[tokio::test]
async fn a_result_stands_only_as_the_one_answer_to_a_request_the_hub_routed() {
    let (hub, dir) = hub("referee").await;
    let south = |incoming| signed_by(incoming, "agency-south", "agency:440000");
    // Never routed.
    let answers = hub.route_results(&[south(settled_result("S1"))]).await.unwrap();
    assert_eq!(answers[0].as_ref().unwrap_err().code, "RESULT_UNROUTED");
    assert_eq!(settled_bills(&hub).await, 0);

    // Routed to 440000; agency-north answers it as 120000's, a region it hosts.
    route(&hub, &bill_request("S1")).await;
    let mut relabelled = decode(&settled_result("S1"));
    relabelled.insuplc_admdvs = "120000".into();
    let north = signed_by(
        with_result(&settled_result("S1"), &relabelled),
        "agency-north",
        "agency:110000,120000",
    );
    let answers = hub.route_results(&[north]).await.unwrap();
    assert_eq!(answers[0].as_ref().unwrap_err().code, "RESULT_MISMATCH");
    assert_eq!(settled_bills(&hub).await, 0);

    // The genuine answer stands, and its redelivery (marked duplicate) is forwarded again.
    let answers = hub.route_results(&[south(settled_result("S1"))]).await.unwrap();
    assert!(answers[0].is_ok());
    let mut repeated = decode(&settled_result("S1"));
    repeated.duplicate = true;
    let again = south(with_result(&settled_result("S1"), &repeated));
    assert!(hub.route_results(&[again]).await.unwrap()[0].is_ok(), "a redelivery");

    // A second, different answer: other amounts.
    let mut richer = decode(&settled_result("S1"));
    let info = richer.setlinfo.as_mut().unwrap();
    info.hifp_pay = "1900.00".into();
    info.fund_pay_sumamt = "1900.00".into();
    let answers =
        hub.route_results(&[south(with_result(&settled_result("S1"), &richer))]).await.unwrap();
    assert_eq!(answers[0].as_ref().unwrap_err().code, "RESULT_CONFLICT");
    let (bills, advance, entries) = hub.desk.ledger_bills().await;
    assert_eq!((bills, entries), (1, 1), "posted once, at the first answer's amounts");
    assert_eq!(advance.to_string(), "1100.00");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #26 §1: a reversal's result undoes only the settlement its routed reversal names, of
/// the same pair of provinces; a reversal no one asked for is refused and the bill stands.
#[tokio::test]
async fn a_reversal_result_stands_only_for_a_routed_reversal_of_a_settlement_the_hub_holds() {
    let (hub, dir) = hub("referee-reversal").await;
    let south = |incoming| signed_by(incoming, "agency-south", "agency:440000");
    for setl_id in ["S1", "S2"] {
        route(&hub, &bill_request(setl_id)).await;
        assert!(hub.route_results(&[south(settled_result(setl_id))]).await.unwrap()[0].is_ok());
    }
    let reversed = |msgid: &str, setl_id: &str| {
        let result = SettleResult {
            msgid: msgid.into(),
            status: SettleStatus::Reversed as i32,
            reason: "refund".into(),
            setlinfo: Some(yidi_wire::v1::Setlinfo {
                setl_id: setl_id.into(),
                ..Default::default()
            }),
            ..decode(&settled_result(setl_id))
        };
        south(with_result(&settled_result(setl_id), &result))
    };
    // Unasked: no reversal was routed under this msgid.
    let answers = hub.route_results(&[reversed("R-UNASKED", "S1")]).await.unwrap();
    assert_eq!(answers[0].as_ref().unwrap_err().code, "RESULT_UNROUTED");
    // Asked for S1 (2601 of M-S1); answered as undoing S2.
    let reversal = Reversal {
        msgid: "R-1".into(),
        mdtrt_id: "E-S2".into(),
        psn_no: "P1".into(),
        insuplc_admdvs: "440000".into(),
        mdtrtarea_admvs: "310000".into(),
        omsgid: "M-S1".into(),
        reason: "refund".into(),
        ..Reversal::default()
    };
    route(&hub, &reversal_request(&reversal, 9)).await;
    let answers = hub.route_results(&[reversed("R-1", "S2")]).await.unwrap();
    assert_eq!(answers[0].as_ref().unwrap_err().code, "RESULT_MISMATCH");
    let (bills, _, entries) = hub.desk.ledger_bills().await;
    assert_eq!((bills, entries), (2, 2), "both bills stand, nothing reversed");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #26 §2, the ledger's line: one standing settlement per insured province's episode,
/// whatever the msgid it came under.
#[tokio::test]
async fn the_hub_posts_one_standing_settlement_per_episode() {
    let (hub, dir) = hub("referee-stay").await;
    let south = |incoming| signed_by(incoming, "agency-south", "agency:440000");
    route(&hub, &bill_request("S1")).await;
    assert!(hub.route_results(&[south(settled_result("S1"))]).await.unwrap()[0].is_ok());
    // The same episode billed again under a new msgid, settled by a careless agency.
    let again = {
        let mut request = bill_request("S2");
        let mut decoded = yidi_wire::v1::SettleRequest::decode(request.payload.as_slice()).unwrap();
        decoded.bill.as_mut().unwrap().mdtrt_id = "E-S1".into();
        request.payload = decoded.encode_to_vec();
        request
    };
    route(&hub, &again).await;
    let mut second = decode(&settled_result("S2"));
    second.mdtrt_id = "E-S1".into();
    let answers =
        hub.route_results(&[south(with_result(&settled_result("S2"), &second))]).await.unwrap();
    assert_eq!(answers[0].as_ref().unwrap_err().code, "RESULT_DUPLICATE_STAY");
    let (bills, _, _) = hub.desk.ledger_bills().await;
    assert_eq!(bills, 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A msgid is one request: the same msgid routed again for another bill is refused.
#[tokio::test]
async fn a_msgid_routed_for_one_bill_is_not_routed_for_another() {
    let (hub, dir) = hub("referee-msgid").await;
    route(&hub, &bill_request("S1")).await;
    route(&hub, &bill_request("S1")).await; // the same request again: routed again
    let mut other = bill_request("S1");
    let mut decoded = yidi_wire::v1::SettleRequest::decode(other.payload.as_slice()).unwrap();
    decoded.bill.as_mut().unwrap().psn_no = "P2".into();
    other.payload = decoded.encode_to_vec();
    let answers = hub.route_requests(&[other]).await.unwrap();
    assert_eq!(answers[0].as_ref().unwrap_err().code, "MSGID_CONFLICT");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue #26 §7: a day's settlements of a pair of provinces, as the ledger holds them, as the
/// insured agency states them and as the treatment province's exchange states them, agree —
/// or the daily conservation check is red, and names the bills behind the difference once the
/// party sends its detail (the hub asks it for that). A party states only what it speaks for.
#[tokio::test]
#[allow(clippy::too_many_lines)] // One scenario whose steps build on each other, read in order.
async fn a_day_is_reconciled_with_what_the_agency_and_the_exchange_each_state() {
    use yidi_bus::LaneHandler;
    use yidi_wire::day::{statement, Held, Settled};
    use yidi_wire::v1::{DayStatement, DayStatementRequest};
    let (hub, dir) = hub("daily").await;
    for id in ["S1", "S2"] {
        route(&hub, &bill_request(id)).await;
        hub.handle(&[settled_result(id)]).await.unwrap();
    }
    let day: chrono::NaiveDate = "2026-11-23".parse().unwrap();
    let held = |ids: &[&str]| -> Vec<Held> {
        ids.iter()
            .map(|id| Held {
                insured: "440000".parse().unwrap(),
                treatment: "310100".parse().unwrap(),
                settled: Settled {
                    setl_id: (*id).into(),
                    fund: yidi_domain::money::Amount::from_yuan(1000),
                },
            })
            .collect()
    };
    let stated = |party: &str, region: &str, ids: &[&str], detail: bool| {
        statement(day, party, region, "2026-11-24 01:00:00", held(ids), detail)
    };
    let send = |statement: &DayStatement| {
        let message = Outgoing::new(
            topics::HUB_STATEMENTS,
            &statement.day,
            "yidi.v1.DayStatement",
            statement,
            ContentType::Protobuf,
        );
        Incoming::read_back(message, 0, 1)
    };
    let daily = |hub: &Hub| {
        let desk = Arc::clone(&hub.desk);
        async move {
            let checks = desk.checks(false).await;
            let check = checks.into_iter().find(|c| c.name == "daily_reconciliation").unwrap();
            (check.ok, check.detail)
        }
    };

    // Both parties state what the ledger holds: nothing asked, green.
    for (party, region) in [("agency", "440000"), ("exchange", "310000")] {
        let answers = hub.handle(&[send(&stated(party, region, &["S1", "S2"], false))]).await;
        assert!(answers.unwrap()[0].as_ref().unwrap().is_empty(), "{party} agrees");
    }
    let (ok, detail) = daily(&hub).await;
    assert!(ok, "{detail}");
    assert!(detail.contains("2 pair-days of 1 days"), "{detail}");

    // The exchange states S1 only: red, and it is asked for its detail.
    let answers = hub.handle(&[send(&stated("exchange", "310000", &["S1"], false))]).await;
    let asks = answers.unwrap().remove(0).unwrap();
    assert_eq!(asks.len(), 1, "{asks:?}");
    assert_eq!(asks[0].topic, topics::exchange_statements("310000"));
    let ask = DayStatementRequest::decode(asks[0].payload.as_slice()).unwrap();
    assert_eq!((ask.day.as_str(), ask.detail), ("2026-11-23", true));
    let (ok, detail) = daily(&hub).await;
    assert!(!ok);
    assert!(
        detail.contains("exchange states 1 bills 1000.00, the ledger 2 bills 2000.00"),
        "{detail}"
    );
    assert!(detail.contains("(bills: asked)"), "{detail}");
    // Its detail names the bill behind it; the agency's detail names one the ledger lacks.
    hub.handle(&[send(&stated("exchange", "310000", &["S1"], true))]).await.unwrap();
    let agency_answers =
        hub.handle(&[send(&stated("agency", "440000", &["S1", "S2", "S9"], true))]).await;
    assert!(agency_answers.unwrap()[0].as_ref().unwrap().is_empty(), "detail asked once a day");
    let (ok, detail) = daily(&hub).await;
    assert!(!ok);
    assert!(
        detail.contains("S2 not stated") && detail.contains("S9 not in the ledger"),
        "{detail}"
    );
    let mut tx = hub.store.begin().await.unwrap();
    let pairs = yidi_hub::daily::reconcile_day(&mut tx, day).await.unwrap();
    drop(tx);
    assert_eq!(pairs.iter().filter(|p| !p.agrees).count(), 2, "{pairs:?}");
    // A party that states the day but leaves out a pair the ledger holds states it empty.
    let mut silent = stated("exchange", "310000", &[], true);
    silent.rows.clear();
    hub.handle(&[send(&silent)]).await.unwrap();
    let (_, detail) = daily(&hub).await;
    assert!(detail.contains("exchange states 0 bills 0.00, the ledger 2 bills"), "{detail}");

    // A party states only what it speaks for.
    let foreign = signed_by(
        send(&stated("agency", "440000", &["S1", "S2"], false)),
        "agency-north",
        "agency:120000",
    );
    let refused = hub.handle(&[foreign]).await.unwrap().remove(0).unwrap_err();
    assert!(refused.code.starts_with("AUTH_"), "{refused:?}");
    let mut outside = stated("agency", "440000", &["S1"], false);
    outside.rows[0].insuplc_admdvs = "120000".into();
    let refused = hub.handle(&[send(&outside)]).await.unwrap().remove(0).unwrap_err();
    assert_eq!(refused.code, "INVALID_STATEMENT");
    let _ = std::fs::remove_dir_all(&dir);
}
