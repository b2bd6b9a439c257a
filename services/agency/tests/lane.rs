//! Group commit changes nothing of what is decided: a lane of settlement requests (one request
//! partition, in order) handled in one transaction gets the same answers, and leaves the same
//! accumulators and balances, as the same messages handled one at a time. Within the lane a
//! later message sees what an earlier one wrote: a repeated msgid gets the first answer
//! (`duplicate`), and a 2601 reversal finds the settlement decided just before it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

use prost::Message;
use yidi_agency::handler::Agency;
use yidi_agency::store;
use yidi_bus::{topics, Incoming, LaneHandler, Outgoing};
use yidi_domain::ids::RegionCode;
use yidi_store::Store;
use yidi_wire::codec::ContentType;
use yidi_wire::convert;
use yidi_wire::v1::{SettleRequest, SettleResult, SettleStatus};

mod support;

use support::{agency, incoming, now, request_message, treatment_catalogue, INSURED, PERSONS};

/// The lane: bills of several persons, two of them twice, one bill sent twice, and a 2601
/// reversal of it.
fn lane() -> Vec<Incoming> {
    let catalogue = treatment_catalogue();
    let topic = topics::agency_requests(INSURED);
    let mut simulator = yidi_sim::Simulator::new(11);
    let insured: RegionCode = INSURED.parse().unwrap();
    let mut messages = Vec::new();
    let mut first = None;
    // Persons 1 and 0 are discharged twice: the second bill's accumulators follow from the
    // first (for person 0, from the first as the reversal restored them).
    for (sequence, index) in (0..PERSONS).chain([1, 0]).enumerate() {
        let sequence = u32::try_from(sequence).unwrap();
        let bill =
            yidi_sim::his::discharge(&mut simulator, insured, index, &catalogue, now(), sequence);
        let message = request_message(&bill, &catalogue);
        messages.push(message.clone());
        if first.is_none() {
            first = Some((bill, message));
        }
    }
    let (bill, message) = first.unwrap();
    messages.insert(3, message);
    let reversal = convert::reversal_of(&bill, format!("{}R", bill.msgid), "refund");
    messages.insert(
        5,
        Outgoing::new(&topic, &bill.mdtrt_id, "yidi.v1.Reversal", &reversal, ContentType::Protobuf),
    );
    messages.into_iter().enumerate().map(|(offset, m)| incoming(offset as i64, m)).collect()
}

/// What an answer decides, without the time it was decided at.
fn decided(replies: &[Outgoing]) -> Vec<(String, i32, String, bool, String, String, String)> {
    replies
        .iter()
        .map(|reply| {
            let result = SettleResult::decode(reply.payload.as_slice()).unwrap();
            let info = result.setlinfo.unwrap_or_default();
            (
                result.msgid,
                result.status,
                result.reason,
                result.duplicate,
                info.setl_id,
                info.fund_pay_sumamt,
                info.balc,
            )
        })
        .collect()
}

/// Every person's year-to-date accumulators and account balance.
async fn positions(agency: &Agency) -> Vec<String> {
    let mut tx = agency.store.begin().await.unwrap();
    let mut positions = Vec::new();
    for index in 0..PERSONS {
        let psn_no = yidi_sim::registry::psn_no(INSURED.parse().unwrap(), index);
        let person = store::load_person(&mut tx, &psn_no).await.unwrap().unwrap();
        let ytd = store::load_accumulators(&mut tx, &psn_no, 2026).await.unwrap();
        positions.push(format!("{psn_no} {ytd:?} {}", person.account_balance));
    }
    positions
}

#[tokio::test]
async fn a_lane_in_one_transaction_decides_exactly_as_its_messages_one_at_a_time() {
    let lane = lane();
    let (grouped, grouped_dir) = agency("grouped").await;
    let answers = grouped.handle(&lane).await.unwrap();
    assert_eq!(answers.len(), lane.len(), "one answer per message");
    let (single, single_dir) = agency("single").await;
    let mut one_by_one = Vec::new();
    for message in &lane {
        let mut answer = single.handle(std::slice::from_ref(message)).await.unwrap();
        assert_eq!(answer.len(), 1);
        one_by_one.push(answer.remove(0));
    }
    let grouped_decisions: Vec<_> = answers.iter().map(|a| decided(a.as_ref().unwrap())).collect();
    let single_decisions: Vec<_> =
        one_by_one.iter().map(|a| decided(a.as_ref().unwrap())).collect();
    assert_eq!(grouped_decisions, single_decisions);
    assert_eq!(positions(&grouped).await, positions(&single).await);

    // Within the lane: the repeated bill got the first answer, and the reversal found it.
    let first = &grouped_decisions[0][0];
    let repeated = &grouped_decisions[3][0];
    assert!(repeated.3, "the second send is marked duplicate");
    assert_eq!((&repeated.0, repeated.1, &repeated.4), (&first.0, first.1, &first.4));
    let reversed = &grouped_decisions[5][0];
    assert_eq!(reversed.1, SettleStatus::Reversed as i32);
    if first.1 == SettleStatus::Settled as i32 {
        assert_eq!(reversed.4, first.4, "the reversal names the settlement it undid");
    }
    let settled =
        grouped_decisions.iter().filter(|d| d[0].1 == SettleStatus::Settled as i32).count();
    assert!(settled >= 2, "the lane settles bills, not only rejects them: {grouped_decisions:?}");
    let _ = std::fs::remove_dir_all(grouped_dir);
    let _ = std::fs::remove_dir_all(single_dir);
}

#[tokio::test]
async fn a_lane_that_meets_a_locked_database_fails_whole_as_transient_and_is_decided_once_after() {
    let lane = lane();
    let (locked, dir) = agency("locked").await;
    let (reference, reference_dir) = agency("unlocked").await;
    let expected: Vec<_> = reference
        .handle(&lane)
        .await
        .unwrap()
        .iter()
        .map(|a| decided(a.as_ref().unwrap()))
        .collect();
    // Another process holds the database: every write waits out the busy timeout and fails.
    // Another process: a pool of its own on the same file.
    let other =
        Store::connect(&format!("sqlite://{}", dir.join("agency.db").display())).await.unwrap();
    let mut lock = other.pool().acquire().await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut *lock).await.unwrap();
    let failed = locked.handle(&lane).await;
    assert!(failed.is_err(), "a locked database is transient, not a rejection of any message");
    sqlx::query("COMMIT").execute(&mut *lock).await.unwrap();
    drop(lock);
    // Handled again once the database is back: decided as if nothing had happened.
    let decided_after: Vec<_> =
        locked.handle(&lane).await.unwrap().iter().map(|a| decided(a.as_ref().unwrap())).collect();
    assert_eq!(decided_after, expected);
    assert_eq!(positions(&locked).await, positions(&reference).await, "nothing counted twice");
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(reference_dir);
}

/// Issue #11 §4: a person is settled under their own region's policy and fund only. An agency
/// hosting Beijing and Tianjin refuses a Tianjin person's bill that claims Beijing as the
/// insured place, and pays nothing.
#[tokio::test]
async fn a_person_billed_under_another_hosted_region_is_refused() {
    let (mut agency, dir) = agency("region-mismatch").await;
    agency.regions = yidi_data::insured_regions()
        .unwrap()
        .into_iter()
        .filter(|r| ["110000", "120000"].contains(&r.region.as_str()))
        .collect();
    let mut request: SettleRequest = lane()[0].decode("SettleRequest").unwrap();
    let bill = request.bill.as_mut().unwrap();
    bill.insuplc_admdvs = "110000".into();
    let key = bill.mdtrt_id.clone();
    let message = Outgoing::new(
        topics::agency_requests("110000"),
        &key,
        "yidi.v1.SettleRequest",
        &request,
        ContentType::Protobuf,
    );
    let before = positions(&agency).await;
    let answers = agency.handle(&[incoming(0, message)]).await.unwrap();
    let decided = decided(answers[0].as_ref().unwrap());
    assert_eq!(decided[0].1, SettleStatus::Rejected as i32);
    assert!(decided[0].2.starts_with("insured_region_mismatch"), "{decided:?}");
    assert_eq!(positions(&agency).await, before, "nothing paid");
    let _ = std::fs::remove_dir_all(dir);
}

/// The one answer `agency` gives to `message` alone.
async fn answer(agency: &Agency, offset: i64, message: Outgoing) -> SettleResult {
    let answers = agency.handle(&[incoming(offset, message)]).await.unwrap();
    let replies = answers.into_iter().next().unwrap().unwrap();
    SettleResult::decode(replies[0].payload.as_slice()).unwrap()
}

/// Issue #26 §2 (NHSA 2304, 2601): a stay is paid once. The same episode billed again under a
/// new msgid is answered `duplicate_stay` with the first `setl_id`; a new episode of the same
/// person sharing the stay's nights is answered `overlapping_stay`, also with it; a transfer
/// admitted on the discharge day settles; a corrected bill settles once the first is reversed.
#[tokio::test]
#[allow(clippy::too_many_lines)] // One scenario whose steps build on each other, read in order.
async fn a_stay_is_paid_once_whatever_msgid_or_episode_it_comes_under() {
    let (agency, dir) = agency("stay").await;
    let catalogue = treatment_catalogue();
    let insured: RegionCode = INSURED.parse().unwrap();
    let mut simulator = yidi_sim::Simulator::new(26);
    let mut offset = 0;
    let mut next = |bill: &yidi_wire::v1::DischargeBill| {
        offset += 1;
        (offset, request_message(bill, &catalogue))
    };
    // The first person whose bill settles.
    let (first, settled) = {
        let mut found = None;
        for index in 0..PERSONS {
            let bill = yidi_sim::his::discharge(
                &mut simulator,
                insured,
                index,
                &catalogue,
                now(),
                u32::try_from(index).unwrap(),
            );
            let (offset, message) = next(&bill);
            let result = answer(&agency, offset, message).await;
            if result.status == SettleStatus::Settled as i32 {
                found = Some((bill, result));
                break;
            }
        }
        found.expect("a bill of the sample persons settles")
    };
    let first_setl_id = settled.setlinfo.as_ref().unwrap().setl_id.clone();
    let renamed =
        |bill: &yidi_wire::v1::DischargeBill, sequence: u32| yidi_wire::v1::DischargeBill {
            msgid: convert::msgid(&bill.fixmedins_code, now(), sequence),
            ..bill.clone()
        };

    let again = renamed(&first, 9001);
    let (offset, message) = next(&again);
    let refused = answer(&agency, offset, message).await;
    assert_eq!(refused.status, SettleStatus::Rejected as i32);
    assert!(refused.reason.starts_with("duplicate_stay"), "{}", refused.reason);
    assert!(!refused.rule.is_empty(), "the refusal cites its rule");
    assert_eq!(refused.setlinfo.as_ref().unwrap().setl_id, first_setl_id);

    let other_episode = yidi_wire::v1::DischargeBill {
        mdtrt_id: format!("{}-B", first.mdtrt_id),
        ..renamed(&first, 9002)
    };
    let (offset, message) = next(&other_episode);
    let refused = answer(&agency, offset, message).await;
    assert!(refused.reason.starts_with("overlapping_stay"), "{}", refused.reason);
    assert_eq!(refused.setlinfo.as_ref().unwrap().setl_id, first_setl_id);

    // A transfer: admitted elsewhere on the discharge day.
    let transfer = yidi_wire::v1::DischargeBill {
        mdtrt_id: format!("{}-T", first.mdtrt_id),
        begntime: first.endtime.clone(),
        endtime: "2026-11-30 10:00:00".into(),
        ..renamed(&first, 9003)
    };
    let (offset, message) = next(&transfer);
    let transferred = answer(&agency, offset, message).await;
    assert!(
        !transferred.reason.contains("stay"),
        "a same-day transfer is no overlap: {}",
        transferred.reason
    );

    // Corrected: reversed (2601), then settled again under its own episode.
    let reversal = convert::reversal_of(&first, format!("{}R", first.msgid), "correction");
    let topic = topics::agency_requests(INSURED);
    let undo = Outgoing::new(
        &topic,
        &first.mdtrt_id,
        "yidi.v1.Reversal",
        &reversal,
        ContentType::Protobuf,
    );
    assert_eq!(answer(&agency, 100, undo).await.status, SettleStatus::Reversed as i32);
    let corrected = renamed(&first, 9004);
    let (offset, message) = next(&corrected);
    let resettled = answer(&agency, offset, message).await;
    assert_eq!(resettled.status, SettleStatus::Settled as i32, "{}", resettled.reason);
    let standing: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM settlement WHERE mdtrt_id = $1 AND reversed = 0")
            .bind(&first.mdtrt_id)
            .fetch_one(agency.store.pool())
            .await
            .unwrap();
    assert_eq!(standing, 1, "one settlement of the stay stands");
    let _ = std::fs::remove_dir_all(dir);
}
