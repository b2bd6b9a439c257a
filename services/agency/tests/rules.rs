//! The rules of issue #13 as the agency applies them to bills, in-process: unfiled refused
//! where the region says so (notice III(5)); the policy edition in force on the admission
//! date; every refusal with its rule, a benefits refusal with `trt_chk_rslt`; a third party's
//! bill advanced with a recovery claim, or refused when the third party pays (Social
//! Insurance Law art. 30(2)); a resident's contribution tier and the year's self-borne expense
//! (seed 004 arts. 14, 20–21).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.

mod support;

use chrono::NaiveDate;
use prost::Message;
use sqlx::Row;
use support::{
    agency, incoming, now, request_message, treatment_catalogue, INSURED, PERSONS, TREATMENT,
};
use yidi_agency::handler::Agency;
use yidi_bus::{topics, LaneHandler, Outgoing};
use yidi_domain::benefit::{self, BenefitRules};
use yidi_domain::claim::BenefitStatus;
use yidi_domain::filing::{self, Episode};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Ratio;
use yidi_sim::registry::{self, SamplePerson};
use yidi_wire::codec::ContentType;
use yidi_wire::convert;
use yidi_wire::v1::{DischargeBill, SettleRequest, SettleResult, SettleStatus};

fn insured() -> RegionCode {
    INSURED.parse().unwrap()
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// A sample person of Tianjin who passes `wanted` (benefits and filing judged for a stay in
/// Guangdong admitted on `admitted`).
fn person_where(
    admitted: NaiveDate,
    wanted: impl Fn(&SamplePerson, BenefitStatus, bool) -> bool,
) -> u64 {
    let regions = yidi_data::insured_regions().unwrap();
    let region = regions.iter().find(|r| r.region == insured()).unwrap();
    (0..PERSONS * 20)
        .find(|index| {
            let person = registry::person(insured(), *index, now().date());
            let status =
                benefit::decide(&person.registration(), &BenefitRules::default(), admitted).status;
            let episode = Episode {
                insured_region: insured(),
                treatment_region: TREATMENT.parse().unwrap(),
                admitted_on: admitted,
                settled_at: now(),
                emergency: false,
            };
            let policy = region.policy(person.scheme).unwrap();
            let filed = filing::decide(
                &person.domain_filings(),
                &episode,
                &region.filing,
                &policy.cross_province,
            )
            .class
            .is_some();
            wanted(&person, status, filed)
        })
        .expect("the sample registry has such a person")
}

/// The agency, with persons up to `index` seeded.
async fn agency_with(name: &str, index: u64) -> (Agency, std::path::PathBuf) {
    let (agency, dir) = agency(name).await;
    let mut tx = agency.store.begin().await.unwrap();
    for extra in PERSONS..=index {
        let person = registry::person(insured(), extra, now().date());
        yidi_agency::store::seed_person(&mut tx, &person).await.unwrap();
    }
    tx.commit().await.unwrap();
    (agency, dir)
}

/// A bill of person `index`, admitted on `admitted`, discharged now, edited by `edit`.
fn bill(
    index: u64,
    sequence: u32,
    admitted: NaiveDate,
    edit: impl Fn(&mut DischargeBill),
) -> Outgoing {
    let catalogue = treatment_catalogue();
    let mut simulator = yidi_sim::Simulator::new(u64::from(sequence) + 7);
    let mut bill =
        yidi_sim::his::discharge(&mut simulator, insured(), index, &catalogue, now(), sequence);
    bill.begntime = format!("{admitted} 09:00:00");
    bill.emergency = false;
    (bill.work_injury, bill.rel_ttp_flag, bill.public_health) = (false, false, false);
    bill.ttp_status.clear();
    edit(&mut bill);
    request_message(&bill, &catalogue)
}

/// The refund (2601) of the bill a settlement request message carries.
fn refund(message: Outgoing) -> Outgoing {
    let request: SettleRequest = incoming(0, message).decode("SettleRequest").unwrap();
    let first = request.bill.unwrap();
    let reversal = convert::reversal_of(&first, format!("{}R", first.msgid), "refund");
    Outgoing::new(
        topics::agency_requests(INSURED),
        &first.mdtrt_id,
        "yidi.v1.Reversal",
        &reversal,
        ContentType::Protobuf,
    )
}

async fn answer(agency: &Agency, message: Outgoing) -> SettleResult {
    let answers = agency.handle(&[incoming(0, message)]).await.unwrap();
    let replies = answers[0].as_ref().unwrap();
    SettleResult::decode(replies[0].payload.as_slice()).unwrap()
}

#[tokio::test]
async fn notice_iii_5_the_unfiled_are_refused_in_a_refusing_region_and_reduced_in_another() {
    let admitted = day("2026-11-10");
    let index =
        person_where(admitted, |_, status, filed| status == BenefitStatus::Active && !filed);
    let (mut refusing, dir) = agency_with("refusing", index).await;
    for policy in &mut refusing.regions[0].schemes {
        policy.cross_province.refuse_unfiled = true;
    }
    let refused = answer(&refusing, bill(index, 1, admitted, |_| ())).await;
    assert_eq!(
        (refused.status, refused.reason.as_str()),
        (i32::from(SettleStatus::Rejected), "not_filed")
    );
    assert!(refused.rule.contains("III(5)"), "{}", refused.rule);

    let (reducing, other_dir) = agency_with("reducing", index).await;
    let settled = answer(&reducing, bill(index, 1, admitted, |_| ())).await;
    assert_eq!(settled.status, i32::from(SettleStatus::Settled), "{}", settled.reason);
    assert_eq!(settled.setlinfo.unwrap().filing_class, "unfiled");
    assert!(settled.rule.is_empty(), "a settlement cites no refusal");
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(other_dir);
}

#[tokio::test]
async fn a_policy_change_effective_mid_month_applies_by_admission_date() {
    let before = day("2026-11-10");
    let index = person_where(before, |_, status, _| status == BenefitStatus::Active);
    let (mut agency, dir) = agency_with("edition", index).await;
    let region = &mut agency.regions[0];
    let scheme = registry::person(insured(), index, now().date()).scheme;
    let mut edition = region.policy(scheme).unwrap().clone();
    for level in &mut edition.levels {
        level.ratio = Ratio::new(level.ratio.value() - rust_decimal::Decimal::new(5, 2)).unwrap();
    }
    edition.effective_from = Some(day("2026-11-15"));
    edition.version = "120000/2026.11-mid-month".into();
    let old_version = region.policy(scheme).unwrap().version.clone();
    region.schemes.push(edition);

    // Discharged the day the next stay is admitted: a stay is paid once, so the two must not
    // share a night (issue #26 §2).
    let old =
        answer(&agency, bill(index, 1, before, |b| b.endtime = "2026-11-16 08:00:00".into())).await;
    assert_eq!(old.status, i32::from(SettleStatus::Settled), "{}", old.reason);
    assert_eq!(old.policy_version, old_version, "admitted before the change: the old edition");
    let new = answer(&agency, bill(index, 2, day("2026-11-16"), |_| ())).await;
    assert_eq!(new.status, i32::from(SettleStatus::Settled), "{}", new.reason);
    assert_eq!(new.policy_version, "120000/2026.11-mid-month", "admitted after: the new one");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_benefits_refusal_says_why_with_trt_chk_rslt_and_its_rule() {
    let admitted = day("2026-11-10");
    let index = person_where(admitted, |_, status, _| status == BenefitStatus::Suspended);
    let person = registry::person(insured(), index, now().date());
    let why = benefit::decide(&person.registration(), &BenefitRules::default(), admitted)
        .reason
        .unwrap()
        .code();
    let (agency, dir) = agency_with("suspended", index).await;
    let refused = answer(&agency, bill(index, 1, admitted, |_| ())).await;
    assert_eq!(refused.reason, "benefits_suspended");
    assert_eq!(refused.trt_chk_rslt, why);
    assert!(refused.rule.contains("arrears"), "{}", refused.rule);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn art_30_2_an_unpaid_third_party_is_advanced_with_a_recovery_claim_a_paying_one_refused() {
    let admitted = day("2026-11-10");
    let index = person_where(admitted, |_, status, _| status == BenefitStatus::Active);
    let (agency, dir) = agency_with("third-party", index).await;
    let message = bill(index, 1, admitted, |bill| {
        bill.rel_ttp_flag = true;
        bill.ttp_status = "unpaid".into();
    });
    let settled = answer(&agency, message.clone()).await;
    assert_eq!(settled.status, i32::from(SettleStatus::Settled), "{}", settled.reason);
    let info = settled.setlinfo.unwrap();
    assert!(info.third_party_recovery);
    let claim = |setl_id: String| {
        let store = agency.store.clone();
        async move {
            sqlx::query("SELECT amount, ttp_status, status FROM recovery_claim WHERE setl_id = $1")
                .bind(setl_id)
                .fetch_one(store.pool())
                .await
                .map(|row| {
                    let text = |i: usize| row.try_get::<String, _>(i).unwrap();
                    (text(0), text(1), text(2))
                })
                .unwrap()
        }
    };
    let opened = claim(info.setl_id.clone()).await;
    assert_eq!(opened, (info.fund_pay_sumamt.clone(), "unpaid".into(), "open".into()));

    // A refund (2601) undoes the advance, and with it the claim.
    assert_eq!(answer(&agency, refund(message)).await.status, i32::from(SettleStatus::Reversed));
    assert_eq!(claim(info.setl_id).await.2, "withdrawn");

    let paid = answer(
        &agency,
        bill(index, 2, admitted, |bill| {
            bill.rel_ttp_flag = true;
            bill.ttp_status = "paid".into();
        }),
    )
    .await;
    assert_eq!(paid.reason, "third_party_liable");
    assert!(paid.rule.contains("art. 30(2)"), "{}", paid.rule);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // One scenario whose steps build on each other, read in order.
async fn seed_004_art_53_a_halted_person_is_refused_until_the_halt_is_lifted() {
    use yidi_wire::v1::{HaltRequest, LiftRequest};
    let admitted = day("2026-11-10");
    let index = person_where(admitted, |_, status, _| status == BenefitStatus::Active);
    let (agency, dir) = agency_with("halt", index).await;
    let psn_no = registry::psn_no(insured(), index);
    let ask = HaltRequest {
        decision_id: "HALT-1".into(),
        psn_no: psn_no.clone(),
        insuplc_admdvs: INSURED.into(),
        begndate: "2026-11-01".into(),
        enddate: "2026-12-31".into(),
        article: "seed 004 art. 53".into(),
        reason: "lent the social security card (art. 52(i))".into(),
    };
    let at = "2026-11-05 09:00:00";
    let halted = yidi_agency::halts::halt(&agency.store, insured(), &ask, at).await.unwrap();
    // The same decision again is the same; its id with other terms is refused.
    assert_eq!(yidi_agency::halts::halt(&agency.store, insured(), &ask, at).await.unwrap(), halted);
    let other = HaltRequest { enddate: "2027-06-30".into(), ..ask.clone() };
    let conflict =
        yidi_agency::halts::halt(&agency.store, insured(), &other, at).await.unwrap_err();
    assert_eq!(conflict.code(), tonic::Code::AlreadyExists);
    // Another region's agency cannot halt this person.
    let beijing = "110000".parse().unwrap();
    let foreign = HaltRequest { decision_id: "HALT-2".into(), ..ask.clone() };
    assert_eq!(
        yidi_agency::halts::halt(&agency.store, beijing, &foreign, at).await.unwrap_err().code(),
        tonic::Code::NotFound
    );

    let refused = answer(&agency, bill(index, 1, admitted, |_| ())).await;
    assert!(refused.reason.starts_with("direct_settlement_halted"), "{}", refused.reason);
    assert!(refused.rule.contains("art. 53"), "{}", refused.rule);
    // A stay admitted before the halt began is not covered by it.
    // (Discharged the day the stay below is admitted: the two share no night.)
    let before = answer(
        &agency,
        bill(index, 2, day("2026-10-20"), |b| b.endtime = format!("{admitted} 08:00:00")),
    )
    .await;
    assert!(!before.reason.starts_with("direct_settlement_halted"), "{}", before.reason);

    let lift = LiftRequest {
        decision_id: "LIFT-1".into(),
        halt_decision_id: "HALT-1".into(),
        insuplc_admdvs: INSURED.into(),
        reason: "repaid with the fine".into(),
    };
    let lifted = yidi_agency::halts::lift(&agency.store, insured(), &lift, at).await.unwrap();
    assert_eq!(lifted.lifted_by, "LIFT-1");
    let again = LiftRequest { decision_id: "LIFT-2".into(), ..lift };
    let twice = yidi_agency::halts::lift(&agency.store, insured(), &again, at).await.unwrap_err();
    assert_eq!(twice.code(), tonic::Code::FailedPrecondition);
    let settled = answer(&agency, bill(index, 3, admitted, |_| ())).await;
    assert_eq!(settled.status, i32::from(SettleStatus::Settled), "{}", settled.reason);
    // Issue #13 §4: the halt and its lifting, each once, were queued for the hub's view.
    let queued: Vec<Vec<u8>> =
        sqlx::query("SELECT payload FROM outbox WHERE topic = $1 ORDER BY id")
            .bind(topics::HUB_SANCTIONS)
            .fetch_all(agency.store.pool())
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<Vec<u8>, _>(0).unwrap())
            .collect();
    let sent: Vec<(String, String, String)> = queued
        .iter()
        .map(|payload| {
            let record = yidi_wire::v1::HaltRecord::decode(payload.as_slice()).unwrap();
            (record.decision_id, record.lifted_by, record.insuplc_admdvs)
        })
        .collect();
    assert_eq!(
        sent,
        [
            ("HALT-1".into(), String::new(), INSURED.into()),
            ("HALT-1".into(), "LIFT-1".into(), INSURED.into())
        ]
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// An admission (2401) of person `index` in `treatment`, holding `hold_amt`.
fn admission(
    index: u64,
    sequence: u32,
    treatment: &str,
    hold_amt: &str,
) -> (DischargeBill, Outgoing) {
    let message = bill(index, sequence, day("2026-11-10"), |bill| {
        bill.admission = true;
        bill.feedetail.clear();
        bill.endtime.clear();
        bill.mdtrtarea_admvs = treatment.into();
        bill.hold_amt = hold_amt.into();
    });
    let request: SettleRequest = incoming(0, message.clone()).decode("SettleRequest").unwrap();
    (request.bill.unwrap(), message)
}

/// National 2401/2404 (issue #13 §2): two provinces admit the same person at once; the second
/// hold is reduced to what the first leaves and a third refused, never double-spent; a
/// discharge is settled within what other stays' holds leave and consumes its own; a
/// cancellation releases a hold.
#[tokio::test]
async fn national_2401_holds_keep_two_provinces_from_spending_one_cap_twice() {
    let admitted = day("2026-11-10");
    let index = person_where(admitted, |person, status, _| {
        status == BenefitStatus::Active && person.scheme == yidi_domain::ids::Scheme::Employee
    });
    let (mut agency, dir) = agency_with("holds", index).await;
    // Three stays held at once, so that the cap, not the count, refuses the third.
    agency.regions[0].holds.per_person = 3;
    for policy in &mut agency.regions[0].schemes {
        policy.annual_cap =
            yidi_domain::money::Amount::new(rust_decimal::Decimal::from(5000)).unwrap();
    }
    let (first, first_message) = admission(index, 1, "440100", "3000");
    let held = answer(&agency, first_message).await;
    assert_eq!(held.status, i32::from(SettleStatus::Admitted), "{} {}", held.reason, held.rule);
    let info = held.admission.unwrap();
    assert_eq!((info.hold_amt.as_str(), info.remaining_cap.as_str()), ("3000.00", "2000.00"));

    let (second, second_message) = admission(index, 2, "310100", "10000");
    let reduced = answer(&agency, second_message).await.admission.unwrap();
    assert_eq!((reduced.hold_amt.as_str(), reduced.remaining_cap.as_str()), ("2000.00", "0.00"));
    let (_, third_message) = admission(index, 3, "110100", "1");
    let refused = answer(&agency, third_message).await;
    assert_eq!(refused.reason, "hold_exhausted");
    assert!(!refused.rule.is_empty());

    // The second stay is discharged: its pooled fund pays at most the 2,000 the first stay's
    // hold leaves, whatever the bill.
    let discharge = bill(index, 4, admitted, |bill| {
        bill.mdtrt_id = second.mdtrt_id.clone();
        for line in &mut bill.feedetail {
            line.pric = "9000".into();
        }
    });
    let settled = answer(&agency, discharge).await;
    assert_eq!(settled.status, i32::from(SettleStatus::Settled), "{}", settled.reason);
    let hifp: rust_decimal::Decimal = settled.setlinfo.unwrap().hifp_pay.parse().unwrap();
    assert!(hifp <= rust_decimal::Decimal::from(2000), "{hifp} spends the first stay's hold");

    // 2404: the first admission cancelled, its hold released; a new admission may hold again.
    let cancel = convert::reversal_of(&first, format!("{}C", first.msgid), "admission cancelled");
    let undo = Outgoing::new(
        topics::agency_requests(INSURED),
        &first.mdtrt_id,
        "yidi.v1.Reversal",
        &cancel,
        ContentType::Protobuf,
    );
    let cancelled = answer(&agency, undo).await;
    assert_eq!(cancelled.status, i32::from(SettleStatus::Reversed), "{}", cancelled.reason);
    let (_, again) = admission(index, 5, "440100", "");
    let again = answer(&agency, again).await;
    assert_eq!(again.status, i32::from(SettleStatus::Admitted), "{}", again.reason);
    let after = again.admission.unwrap();
    assert_eq!(after.hold_amt, format!("{:.2}", rust_decimal::Decimal::from(5000) - hifp));
    let _ = std::fs::remove_dir_all(dir);
}

/// National 2401 (issue #26 §3): a hold is a promise of the person's fund made on a
/// hospital's word, so it is bounded. An admission that declares nothing holds a typical
/// stay, not the whole cap, for weeks; one that declares more than the region's maximum holds
/// the maximum; a person has two stays held at most; and the person's real stay elsewhere is
/// still paid by the pooled fund. The insured agency's own desk lists and releases a hold,
/// recording why; a consumed hold cannot be released, another region's person is not found.
#[tokio::test]
async fn national_2401_a_hospital_of_another_province_cannot_freeze_a_persons_cap() {
    use yidi_domain::hold::{HOLD_MAX, TYPICAL_HOLD};
    let admitted = day("2026-11-10");
    let index = person_where(admitted, |person, status, filed| {
        status == BenefitStatus::Active
            && filed
            && person.scheme == yidi_domain::ids::Scheme::Employee
    });
    let (agency, dir) = agency_with("bounded-holds", index).await;
    let (first, first_message) = admission(index, 1, "440100", "");
    let held = answer(&agency, first_message).await;
    assert_eq!(held.status, i32::from(SettleStatus::Admitted), "{} {}", held.reason, held.rule);
    let info = held.admission.unwrap();
    assert_eq!(info.hold_amt, TYPICAL_HOLD.to_string(), "a typical stay, never the whole cap");
    assert_eq!(info.hold_until, "2026-12-10", "weeks, not half a year");
    let (second, second_message) = admission(index, 2, "310100", "999999");
    let second_info = answer(&agency, second_message).await.admission.unwrap();
    assert_eq!(second_info.hold_amt, HOLD_MAX.to_string(), "the region's maximum");
    let (_, third_message) = admission(index, 3, "110100", "1");
    let refused = answer(&agency, third_message).await;
    assert_eq!(refused.reason, "too_many_holds");
    assert!(refused.rule.contains("2401"), "{}", refused.rule);

    // The person's real stay, discharged before these admissions, is still paid by the fund.
    let elsewhere = answer(
        &agency,
        bill(index, 4, day("2026-10-20"), |bill| {
            bill.endtime = "2026-11-01 08:00:00".into();
            // Above any deductible.
            bill.feedetail.iter_mut().for_each(|line| line.pric = "900".into());
        }),
    )
    .await;
    assert_eq!(elsewhere.status, i32::from(SettleStatus::Settled), "{}", elsewhere.reason);
    assert_ne!(elsewhere.setlinfo.unwrap().hifp_pay, "0.00", "the pooled fund still pays");

    the_desk_releases_a_baseless_hold(&agency, index, &first, &second).await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The insured agency's desk releases `first`'s hold, which it finds baseless, and the
/// person's count of held stays frees; releasing again answers what was recorded; `second`'s
/// hold, once its discharge consumed it, cannot be released; another region's desk finds no
/// such person, and a release without a reason is refused.
async fn the_desk_releases_a_baseless_hold(
    agency: &Agency,
    index: u64,
    first: &DischargeBill,
    second: &DischargeBill,
) {
    use yidi_wire::v1::{HoldQuery, ReleaseHoldRequest};
    let admitted = day("2026-11-10");
    let today = now().date();
    let at = "2026-11-23 10:20:00";
    let release = ReleaseHoldRequest {
        insuplc_admdvs: INSURED.into(),
        psn_no: first.psn_no.clone(),
        mdtrt_id: first.mdtrt_id.clone(),
        reason: "the person was never admitted there (phone call with the hospital)".into(),
    };
    let released =
        yidi_agency::holds::release(&agency.store, insured(), &release, at, today).await.unwrap();
    assert_eq!((released.status.as_str(), released.released_at.as_str()), ("released", at));
    let again =
        yidi_agency::holds::release(&agency.store, insured(), &release, at, today).await.unwrap();
    assert_eq!(again, released, "releasing again answers what was recorded");
    let query = HoldQuery { insuplc_admdvs: INSURED.into(), psn_no: first.psn_no.clone() };
    let listed = yidi_agency::holds::query(&agency.store, insured(), &query, today).await.unwrap();
    let statuses: Vec<(&str, &str)> =
        listed.holds.iter().map(|h| (h.mdtrt_id.as_str(), h.status.as_str())).collect();
    assert!(statuses.contains(&(first.mdtrt_id.as_str(), "released")), "{statuses:?}");
    assert!(statuses.contains(&(second.mdtrt_id.as_str(), "open")), "{statuses:?}");
    let (_, fourth_message) = admission(index, 5, "110100", "1");
    let admitted_again = answer(agency, fourth_message).await;
    assert_eq!(
        admitted_again.status,
        i32::from(SettleStatus::Admitted),
        "{}",
        admitted_again.reason
    );

    // A hold its discharge consumed is spent: the settlement is reversed instead.
    let discharge = bill(index, 6, admitted, |bill| bill.mdtrt_id = second.mdtrt_id.clone());
    let settled = answer(agency, discharge).await;
    assert_eq!(settled.status, i32::from(SettleStatus::Settled), "{}", settled.reason);
    let consumed = ReleaseHoldRequest { mdtrt_id: second.mdtrt_id.clone(), ..release.clone() };
    let error = yidi_agency::holds::release(&agency.store, insured(), &consumed, at, today)
        .await
        .unwrap_err();
    assert_eq!(error.code(), tonic::Code::FailedPrecondition, "{error:?}");
    // Another region's desk finds no such person.
    let beijing: RegionCode = "110000".parse().unwrap();
    let error =
        yidi_agency::holds::release(&agency.store, beijing, &release, at, today).await.unwrap_err();
    assert_eq!(error.code(), tonic::Code::NotFound, "{error:?}");
    let blank = ReleaseHoldRequest { reason: " ".into(), ..release };
    let error =
        yidi_agency::holds::release(&agency.store, insured(), &blank, at, today).await.unwrap_err();
    assert_eq!(error.code(), tonic::Code::InvalidArgument, "{error:?}");
}

/// Seed 004 arts. 14, 20–21: a Tianjin resident who paid tier 3 is settled at tier 3's ratio;
/// the year's self-borne in-scope expense (on which the residents' critical-illness layer is
/// measured, issue #13 §8) is kept with the accumulators and given back by a reversal.
#[tokio::test]
async fn seed_004_art_21_a_residents_tier_sets_the_ratio_and_the_self_borne_total_is_kept() {
    use yidi_domain::benefit::Category;
    let admitted = day("2026-11-10");
    let index = person_where(admitted, |person, status, filed| {
        status == BenefitStatus::Active
            && filed
            && person.category == Category::Resident
            && person.contribution_tier == Some(3)
    });
    let (agency, dir) = agency_with("tier", index).await;
    let message = bill(index, 1, admitted, |_| ());
    let settled = answer(&agency, message.clone()).await;
    assert_eq!(settled.status, i32::from(SettleStatus::Settled), "{}", settled.reason);
    let info = settled.setlinfo.unwrap();
    let regions = yidi_data::insured_regions().unwrap();
    let region = regions.iter().find(|region| region.region == insured()).unwrap();
    let policy = region.policy(yidi_domain::ids::Scheme::Resident).unwrap();
    let level = yidi_domain::ids::HospitalLevel::from_number(info_level(&message)).unwrap();
    let local = policy.local_ratio(level, Some(3));
    assert!(local < policy.level(level).ratio, "tier 3 pays less than the policy's own ratio");
    let class = yidi_domain::filing::FilingClass::parse(&info.filing_class);
    let expected = Ratio::clamped(policy.cross_province.adjust(local.value(), class));
    assert_eq!(info.pool_prop_selfpay, expected.to_string(), "tier 3's ratio, adjusted");

    let selfborne = || {
        let store = agency.store.clone();
        let psn_no = registry::psn_no(insured(), index);
        async move {
            sqlx::query("SELECT inscp_selfborne FROM accumulator WHERE psn_no = $1")
                .bind(psn_no)
                .fetch_one(store.pool())
                .await
                .unwrap()
                .try_get::<String, _>(0)
                .unwrap()
        }
    };
    let inscp: rust_decimal::Decimal = info.inscp_scp_amt.parse().unwrap();
    let hifp: rust_decimal::Decimal = info.hifp_pay.parse().unwrap();
    assert_eq!(selfborne().await, (inscp - hifp).to_string());

    assert_eq!(answer(&agency, refund(message)).await.status, i32::from(SettleStatus::Reversed));
    assert_eq!(selfborne().await, "0.00", "the reversal gives the self-borne expense back");
    let _ = std::fs::remove_dir_all(dir);
}

/// The hospital level the exchange settles a message's bill at.
fn info_level(message: &Outgoing) -> u64 {
    let request: SettleRequest = incoming(0, message.clone()).decode("SettleRequest").unwrap();
    u64::try_from(request.bill.unwrap().hosp_lv).unwrap()
}

/// National 2401 (issue #13 §2): an admission to be paid from the personal account holds the
/// account's balance for its stay; another stay's discharge cannot draw it (its `balc` still
/// shows the whole balance); the holding stay's discharge does.
#[tokio::test]
async fn national_2401_an_admission_holds_the_personal_account_too() {
    let admitted = day("2026-11-10");
    let hundred = yidi_domain::money::Amount::new(rust_decimal::Decimal::from(100)).unwrap();
    let index = person_where(admitted, |person, status, _| {
        status == BenefitStatus::Active
            && person.scheme == yidi_domain::ids::Scheme::Employee
            && person.account_balance > hundred
    });
    let balance = registry::person(insured(), index, now().date()).account_balance;
    let (agency, dir) = agency_with("account-hold", index).await;
    let first = bill(index, 1, admitted, |bill| {
        bill.admission = true;
        bill.feedetail.clear();
        bill.endtime.clear();
        bill.acct_used_flag = true;
    });
    let first_stay: SettleRequest = incoming(0, first.clone()).decode("SettleRequest").unwrap();
    let first_stay = first_stay.bill.unwrap().mdtrt_id;
    let held = answer(&agency, first).await;
    assert_eq!(held.status, i32::from(SettleStatus::Admitted), "{}", held.reason);
    assert_eq!(held.admission.unwrap().acct_hold_amt, balance.to_string());

    // Another stay, discharged the day the first was admitted (they share no night).
    let other = answer(
        &agency,
        bill(index, 2, day("2026-11-01"), |bill| {
            bill.acct_used_flag = true;
            bill.endtime = format!("{admitted} 08:00:00");
        }),
    )
    .await;
    assert_eq!(other.status, i32::from(SettleStatus::Settled), "{}", other.reason);
    let info = other.setlinfo.unwrap();
    assert_eq!(info.acct_pay, "0.00", "the account is held for the first stay");
    assert_eq!(info.balc, balance.to_string(), "balc is the whole balance, held part included");

    let own = answer(
        &agency,
        bill(index, 3, admitted, |bill| {
            bill.mdtrt_id = first_stay.clone();
            bill.acct_used_flag = true;
        }),
    )
    .await;
    assert_eq!(own.status, i32::from(SettleStatus::Settled), "{}", own.reason);
    let info = own.setlinfo.unwrap();
    assert_ne!(info.acct_pay, "0.00", "the holding stay draws the account it held");
    let _ = std::fs::remove_dir_all(dir);
}

/// Issue #26 §7: asked by the hub, the agency states the settlements it made on a day, per
/// insured region and treatment province — a reversed one too, for a day's settlements do not
/// change once it is over — with their ids and fund shares when the detail is asked for.
#[tokio::test]
async fn the_agency_states_a_days_settlements_for_daily_reconciliation() {
    use yidi_wire::v1::{DayStatement, DayStatementRequest};
    let admitted = day("2026-11-10");
    let index = person_where(admitted, |_, status, filed| status == BenefitStatus::Active && filed);
    let (agency, dir) = agency_with("day-statement", index).await;
    let message = bill(index, 1, admitted, |_| ());
    let settled = answer(&agency, message.clone()).await;
    assert_eq!(settled.status, i32::from(SettleStatus::Settled), "{}", settled.reason);
    let info = settled.setlinfo.unwrap();
    assert_eq!(answer(&agency, refund(message)).await.status, i32::from(SettleStatus::Reversed));
    let ask = |day: &str, detail: bool| {
        let request = DayStatementRequest { day: day.into(), detail };
        let message = Outgoing::new(
            topics::agency_requests(INSURED),
            day,
            "yidi.v1.DayStatementRequest",
            &request,
            ContentType::Protobuf,
        );
        let agency = &agency;
        async move {
            let answers = agency.handle(&[incoming(0, message)]).await.unwrap();
            let replies = answers[0].as_ref().unwrap();
            assert_eq!(replies[0].topic, topics::HUB_STATEMENTS);
            DayStatement::decode(replies[0].payload.as_slice()).unwrap()
        }
    };
    // The day the agency's clock settled it on, as the result says.
    let today = info.setl_time[..10].to_owned();
    let stated = ask(&today, true).await;
    assert_eq!((stated.party.as_str(), stated.day.as_str()), ("agency", today.as_str()));
    assert!(stated.region.split(',').any(|r| r == INSURED), "{}", stated.region);
    assert_eq!(stated.rows.len(), 1, "{stated:?}");
    let row = &stated.rows[0];
    assert_eq!((row.insuplc_admdvs.as_str(), row.mdtrtarea_admvs.as_str()), (INSURED, "440000"));
    assert_eq!((row.setl_cnt, row.fund_pay_sumamt.as_str()), (1, info.fund_pay_sumamt.as_str()));
    assert_eq!(row.settlements.len(), 1, "reversed since, still made that day");
    assert_eq!(row.settlements[0].setl_id, info.setl_id);
    let plain = ask(&today, false).await;
    assert!(plain.rows[0].settlements.is_empty());
    assert_eq!(plain.rows[0].digest, row.digest, "the same totals without the detail");
    let before = today.parse::<NaiveDate>().unwrap().pred_opt().unwrap().to_string();
    assert!(ask(&before, false).await.rows.is_empty(), "nothing the day before");
    let _ = std::fs::remove_dir_all(dir);
}
