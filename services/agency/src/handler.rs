//! The agency's message handler: settlement requests and reversals of its own regions.
//!
//! A lane of messages (one request partition, in order) shares one transaction: each message
//! is prefetched (person, contributions, filings, accumulators), decided by the pure domain and
//! persisted with its inbox record; the lane is committed once (group commit) and only then
//! answered. A later message of the lane sees what an earlier one wrote. A replay finds the
//! inbox record and gets the first answer back.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDateTime};
use prost::Message;
use tracing::{info, warn};
use yidi_bus::{
    topics, verdict, Bus, Failure, Incoming, LaneAnswer, LaneHandler, Outgoing, Rejection,
    Transient,
};
use yidi_domain::benefit::{self, BenefitRules, Category};
use yidi_domain::claim::{Claim, Flags, Person};
use yidi_domain::filing::{self, Episode};
use yidi_domain::fingerprint::Fingerprinter;
use yidi_domain::hold;
use yidi_domain::ids::{HospitalLevel, RegionCode, Scheme};
use yidi_domain::money::Amount;
use yidi_domain::policy::{InsuredRegion, Policy};
use yidi_domain::settle::{settle, Outcome};
use yidi_domain::stay::Stay;
use yidi_runtime::clock::BusinessClock;
use yidi_runtime::mask;
use yidi_store::inbox::{self, Seen};
use yidi_store::{Store, StoreError, Tx};
use yidi_wire::codec::ContentType;
use yidi_wire::convert::{self, ResultContext, TIME_FORMAT};
use yidi_wire::headers;
use yidi_wire::v1::{DischargeBill, Reversal, SettleRequest, SettleResult, SettleStatus};

use crate::lane::Prefetched;
use crate::store::{self as tables, NewSettlement, PersonRecord, SettlementRecord};

/// An agency process: the insured regions it hosts and its store.
pub struct Agency {
    pub name: String,
    pub regions: Vec<InsuredRegion>,
    pub store: Store,
    pub rules: BenefitRules,
    /// Names the agency in dead letters.
    pub bus: Bus,
    /// Settlement times are business (China) time.
    pub clock: BusinessClock,
    /// Settlements decided, by outcome and reason (`yidi_settlements_total`).
    pub settlements: yidi_runtime::metrics::Outcomes,
}

fn retry(error: StoreError) -> Transient {
    Transient(format!("store: {error}"))
}

fn reply(incoming: &Incoming, result: &SettleResult) -> Outgoing {
    Outgoing::new(
        topics::HUB_RESULTS,
        &convert::person_key(&result.psn_no),
        "yidi.v1.SettleResult",
        result,
        ContentType::Protobuf,
    )
    .following(incoming)
    .with_header(headers::SENDER, &result.insuplc_admdvs)
    .with_header(headers::RECEIVER, &result.mdtrtarea_admvs)
}

impl Agency {
    /// The hosted region an insured place code belongs to (a city, or its province).
    pub fn region(&self, code: RegionCode) -> Option<&InsuredRegion> {
        self.regions
            .iter()
            .find(|r| r.region == code)
            .or_else(|| self.regions.iter().find(|r| r.region == code.prefecture()))
            .or_else(|| self.regions.iter().find(|r| r.region == code.province()))
    }

    /// What a consumed message is for the agency.
    fn decode(incoming: &Incoming) -> Result<Decoded, Rejection> {
        match incoming.header(headers::MSG_TYPE) {
            Some("yidi.v1.Reversal") => Ok(Decoded::Reverse(incoming.decode("Reversal")?)),
            Some("yidi.v1.DayStatementRequest") => {
                Ok(Decoded::Day(incoming.decode("DayStatementRequest")?))
            }
            Some("yidi.v1.SettleRequest") | None => {
                match incoming.decode::<SettleRequest>("SettleRequest")? {
                    SettleRequest { bill: None, .. } => {
                        Err(Rejection::new("MISSING_BILL", "bill: missing field"))
                    }
                    request => Ok(Decoded::Settle(Box::new(request))),
                }
            }
            Some(other) => Err(Rejection::new(
                "UNKNOWN_MSG_TYPE",
                format!("msg_type {other:?} is not for an agency"),
            )),
        }
    }

    async fn settle(
        &self,
        tx: &mut Tx,
        lane: &mut Prefetched,
        incoming: &Incoming,
        request: &SettleRequest,
        decided: &mut Vec<(i32, String)>,
    ) -> Result<Vec<Outgoing>, Failure> {
        let Some(bill) = &request.bill else {
            return Err(Rejection::new("MISSING_BILL", "bill: missing field").into());
        };
        let request_hash = Fingerprinter::new("bill").bytes(&bill.encode_to_vec()).finish();
        match lane.seen(tx, &bill.msgid, &request_hash).await {
            Ok(Seen::Answered(bytes)) => {
                let mut first = SettleResult::decode(bytes.as_slice())
                    .map_err(|e| Transient(format!("inbox: {e}")))?;
                first.duplicate = true;
                info!(msgid = %bill.msgid, mdtrt_id = %bill.mdtrt_id, "duplicate answered with the first result");
                return Ok(vec![reply(incoming, &first)]);
            }
            Ok(Seen::New) => {}
            Err(StoreError::IdempotencyConflict { msgid }) => {
                warn!(%msgid, "msgid reused for a different bill");
                return Ok(vec![reply(
                    incoming,
                    &convert::rejected_result(bill, "msgid_conflict", &self.name),
                )]);
            }
            Err(error) => return Err(retry(error).into()),
        }
        // A pre-settlement writes nothing: `decide` returns before persisting it.
        let result = self.decide(tx, lane, request).await.map_err(retry)?;
        if !bill.pre_settle {
            let at = self.clock.now().format(TIME_FORMAT).to_string();
            lane.record(tx, &bill.msgid, &request_hash, &result.encode_to_vec(), &at)
                .await
                .map_err(retry)?;
        }
        info!(msgid = %bill.mdtrt_id, psn_no = %mask(&bill.psn_no), insured = %bill.insuplc_admdvs,
              status = result.status, reason = %result.reason, "settlement decided");
        decided.push((result.status, result.reason.clone()));
        Ok(vec![reply(incoming, &result)])
    }

    /// Who is billed, under which region and policy, or the refusal that stops it there:
    /// the bill readable, the region hosted, the person known and theirs, a policy in force on
    /// the admission date, no halt (seed 004 art. 53) covering the admission.
    async fn resolve<'r>(
        &'r self,
        tx: &mut Tx,
        lane: &mut Prefetched,
        bill: &DischargeBill,
        request: &SettleRequest,
    ) -> Result<Result<Resolved<'r>, Box<SettleResult>>, StoreError> {
        let reject =
            |reason: &str| Err(Box::new(convert::rejected_result(bill, reason, &self.name)));
        let Ok(billed) = read_bill(bill, request) else {
            return Ok(reject("invalid_request"));
        };
        let Some(region) = self.region(billed.insured) else {
            return Ok(reject("unknown_region"));
        };
        let Some(person) = lane.person(tx, &bill.psn_no).await? else {
            return Ok(reject("unknown_person"));
        };
        if let Some(reason) = not_theirs(billed.insured, &person, bill) {
            return Ok(reject(reason));
        }
        // The policy and the benefit status are those of the admission date (issue #13:
        // a policy change applies to admissions from its effective date).
        let admitted_on = billed.admitted_at.date();
        let Some(policy) = region.policy_on(person.scheme, admitted_on) else {
            return Ok(reject(&format!("scheme_not_covered: no policy in force on {admitted_on}")));
        };
        let halts: Vec<_> = if lane.restricted(&bill.psn_no) {
            tables::halts_of(tx, &bill.psn_no).await?.iter().map(tables::HaltRow::halt).collect()
        } else {
            Vec::new()
        };
        if let Some(halt) = yidi_domain::sanction::halted(&halts, admitted_on) {
            return Ok(reject(&format!("direct_settlement_halted: decision {}", halt.decision_id)));
        }
        let filings = lane.filings(tx, &bill.psn_no).await?;
        let episode = Episode {
            insured_region: region.region,
            treatment_region: billed.treatment,
            admitted_on,
            settled_at: billed.discharged_at,
            emergency: bill.emergency,
        };
        let class =
            filing::decide(&filings, &episode, &region.filing, &policy.cross_province).class;
        Ok(Ok(Resolved { billed, region, person, policy, class }))
    }

    /// Prefetch, decide, persist (the caller commits).
    async fn decide(
        &self,
        tx: &mut Tx,
        lane: &mut Prefetched,
        request: &SettleRequest,
    ) -> Result<SettleResult, StoreError> {
        let Some(bill) = &request.bill else {
            return Ok(SettleResult::default());
        };
        let mut found = match self.resolve(tx, lane, bill, request).await? {
            Ok(found) => found,
            Err(refused) => return Ok(*refused),
        };
        if bill.admission {
            return self.admit(tx, lane, bill, &found).await;
        }
        if let Some(refused) = self.paid_already(tx, bill, &found).await? {
            return Ok(refused);
        }
        let reject = |reason: &str| convert::rejected_result(bill, reason, &self.name);
        let day = found.billed.discharged_at.date();
        let year = day.year();
        let ytd = lane.accumulators(tx, &bill.psn_no, year).await?;
        // Other stays' open holds (2401) are not this bill's to spend.
        let holds = open_holds(tx, lane, &bill.psn_no, year).await?;
        let others = hold::held_by_others(&holds, &bill.mdtrt_id, day);
        // Most settlements have no other stay open: the policy is then used as it is.
        let capped = if others.is_zero() {
            Cow::Borrowed(found.policy)
        } else {
            Cow::Owned(found.policy.with_caps_lowered(others))
        };
        let (mut claim, benefits) =
            self.claim_of(&found.person, &mut found.billed, found.class, ytd);
        // Nor is the part of the personal account other stays' admissions hold.
        let held = hold::account_held_by_others(&holds, &bill.mdtrt_id, day);
        let withheld = claim.person.account_balance.min(held);
        claim.person.account_balance = claim.person.account_balance - withheld;
        let mut settlement = match settle(&claim, &capped, &found.billed.catalogue) {
            Outcome::Rejected(reason) => {
                let mut result = reject(reason.code());
                // NHSA trt_chk_rslt: why benefits are suspended (arrears, waiting period …).
                result.trt_chk_rslt =
                    benefits.reason.map(|why| why.code().to_owned()).unwrap_or_default();
                return Ok(result);
            }
            Outcome::Settled(settlement) => settlement,
        };
        // `balc` is the account's balance after the bill, the held part included.
        settlement.balc = settlement.balc + withheld;
        let setl_id = convert::setl_id(found.region.region, &bill.msgid);
        let settled_at = self.clock.now();
        let context = ResultContext {
            bill,
            setl_id: setl_id.clone(),
            scheme: found.person.scheme,
            filing_class: found.class.map_or("unfiled", |class| class.code()),
            settled_at,
            answered_by: found.region.region.to_string(),
            status: if bill.pre_settle { SettleStatus::PreSettled } else { SettleStatus::Settled },
        };
        let result = convert::settled_result(&context, &settlement, &request.lines);
        if bill.pre_settle {
            return Ok(result);
        }
        let booked = Booked {
            bill,
            insured: found.region.region.to_string(),
            stay: found.billed.stay(),
            treatment: found.billed.treatment,
            year,
            setl_id,
            settled_at,
        };
        book(tx, lane, &booked, &ytd, &settlement).await?;
        // The stay's own hold, if it was admitted with one, is spent now.
        if lane.restricted(&bill.psn_no) {
            tables::close_hold(tx, tables::HoldKey::Episode(&bill.mdtrt_id), "consumed").await?;
        }
        Ok(result)
    }

    /// One payment per stay: the refusal of a bill whose stay a standing settlement of the
    /// person already pays — the same episode of the same insured region (`duplicate_stay`),
    /// or another episode sharing its nights, at any hospital in any province
    /// (`overlapping_stay`) — answered with that settlement's `setl_id`. A corrected bill is
    /// reversed first (2601/2305), then settled again. The database's unique index on
    /// (insured, mdtrt_id) holds the first rule even against a concurrent lane; this read
    /// gives the sender its answer.
    async fn paid_already(
        &self,
        tx: &mut Tx,
        bill: &DischargeBill,
        found: &Resolved<'_>,
    ) -> Result<Option<SettleResult>, StoreError> {
        let (insured, stay) = (found.region.region.to_string(), found.billed.stay());
        let standing = tables::standing_stays(tx, &bill.psn_no).await?;
        let same_episode =
            |s: &&tables::StandingStay| s.insured == insured && s.mdtrt_id == bill.mdtrt_id;
        let (reason, first) = if let Some(first) = standing.iter().find(same_episode) {
            ("duplicate_stay", first)
        } else if let Some(first) = standing.iter().find(|s| s.stay.overlaps(&stay)) {
            ("overlapping_stay", first)
        } else {
            return Ok(None);
        };
        info!(msgid = %bill.msgid, mdtrt_id = %bill.mdtrt_id, setl_id = %first.setl_id, reason,
              "stay already paid");
        let mut refused = convert::rejected_result(
            bill,
            &format!("{reason}: settled as {} (episode {})", first.setl_id, first.mdtrt_id),
            &self.name,
        );
        refused.setlinfo = Some(yidi_wire::v1::Setlinfo {
            setl_id: first.setl_id.clone(),
            mdtrt_id: first.mdtrt_id.clone(),
            ..Default::default()
        });
        Ok(Some(refused))
    }

    /// 2401: eligibility judged at admission, the filing class that will apply, and a hold
    /// on the pooled fund's remaining cap (`yidi_domain::hold`). Nothing is settled.
    async fn admit(
        &self,
        tx: &mut Tx,
        lane: &mut Prefetched,
        bill: &DischargeBill,
        found: &Resolved<'_>,
    ) -> Result<SettleResult, StoreError> {
        let reject = |reason: &str| convert::rejected_result(bill, reason, &self.name);
        let admitted_on = found.billed.admitted_at.date();
        let benefits = benefit::decide(&found.person.registration, &self.rules, admitted_on);
        if let Some(why) = benefits.reason {
            let mut result = reject("benefits_suspended");
            result.trt_chk_rslt = why.code().to_owned();
            return Ok(result);
        }
        if found.class.is_none() && found.policy.cross_province.refuse_unfiled {
            return Ok(reject("not_filed"));
        }
        let year = admitted_on.year();
        let ytd = lane.accumulators(tx, &bill.psn_no, year).await?;
        let holds = tables::open_holds(tx, &bill.psn_no, year).await?;
        // The person's tier may set their cap (seed 004 art. 21).
        let cap = found.policy.annual_cap_for(found.person.contribution_tier);
        let cap_left = cap.saturating_sub(ytd.pool_paid);
        // What the hospital declares it needs, bounded by the region's rules: a hospital's
        // word holds a typical stay's amount at most, never the person's whole cap.
        let rules = &found.region.holds;
        let asked = bill.hold_amt.parse().ok().and_then(|asked| Amount::new(asked).ok());
        let (held, remaining) =
            match hold::hold(rules, cap_left, &holds, &bill.mdtrt_id, admitted_on, asked) {
                hold::HoldOutcome::Held { held, remaining } => (held, remaining),
                hold::HoldOutcome::Exhausted => return Ok(reject("hold_exhausted")),
                hold::HoldOutcome::TooMany => return Ok(reject("too_many_holds")),
            };
        // The account is held too when the stay is to be paid from it (acct_used_flag),
        // within the same bound.
        let acct_held = if bill.acct_used_flag && found.person.scheme == Scheme::Employee {
            let others = hold::account_held_by_others(&holds, &bill.mdtrt_id, admitted_on);
            found.person.account_balance.saturating_sub(others).min(rules.bound(asked))
        } else {
            Amount::ZERO
        };
        let until = rules.until(admitted_on);
        let treatment = found.billed.treatment.to_string();
        let new = tables::NewHold {
            mdtrt_id: &bill.mdtrt_id,
            msgid: &bill.msgid,
            psn_no: &bill.psn_no,
            year,
            held,
            acct_held,
            admitted_on,
            until,
            treatment: &treatment,
        };
        tables::insert_hold(tx, &new).await?;
        lane.holding(&bill.psn_no);
        let info = yidi_wire::v1::AdmissionInfo {
            filing_class: found.class.map_or("unfiled", |class| class.code()).to_owned(),
            hold_amt: held.to_string(),
            remaining_cap: remaining.to_string(),
            hold_until: until.to_string(),
            acct_hold_amt: acct_held.to_string(),
        };
        Ok(convert::admitted_result(bill, info, &found.region.region.to_string()))
    }

    /// The claim the policy decides: the person's benefit status as judged on the admission
    /// day (as the rules say: a stay begun with benefits keeps them), retiree and account as
    /// on the discharge day, the filing class, the year's accumulators, the bill; and the
    /// benefit decision with its reason.
    fn claim_of(
        &self,
        person: &PersonRecord,
        billed: &mut Billed,
        filing: Option<yidi_domain::filing::FilingClass>,
        ytd: yidi_domain::claim::Accumulators,
    ) -> (Claim, benefit::BenefitDecision) {
        let day = billed.discharged_at.date();
        let decision =
            benefit::decide(&person.registration, &self.rules, billed.admitted_at.date());
        let retiree =
            matches!(person.registration.category, Category::Retiree(r) if r.retired_on <= day);
        let claim = Claim {
            person: Person {
                retiree,
                assistance_eligible: person.assistance_eligible,
                benefit_status: decision.status,
                use_account: billed.acct_used_flag && person.scheme == Scheme::Employee,
                account_balance: person.account_balance,
                contribution_tier: person.contribution_tier,
                large_amount_contributor: person.large_amount_contributor,
            },
            filing,
            hospital_level: billed.hospital_level,
            ytd,
            lines: std::mem::take(&mut billed.lines),
            flags: billed.flags,
        };
        (claim, decision)
    }

    /// 2305/2601: gives back exactly what the settlement took, once.
    async fn reverse(
        &self,
        tx: &mut Tx,
        lane: &mut Prefetched,
        incoming: &Incoming,
        reversal: &Reversal,
    ) -> Result<Vec<Outgoing>, Failure> {
        let request_hash = Fingerprinter::new("reversal").bytes(&reversal.encode_to_vec()).finish();
        let at = self.clock.now().format(TIME_FORMAT).to_string();
        if let Ok(Seen::Answered(bytes)) = lane.seen(tx, &reversal.msgid, &request_hash).await {
            let mut first = SettleResult::decode(bytes.as_slice())
                .map_err(|e| Transient(format!("inbox: {e}")))?;
            first.duplicate = true;
            return Ok(vec![reply(incoming, &first)]);
        }
        if let Some(result) = self.cancel_admission(tx, incoming, reversal).await? {
            lane.record(tx, &reversal.msgid, &request_hash, &result.encode_to_vec(), &at)
                .await
                .map_err(retry)?;
            return Ok(vec![reply(incoming, &result)]);
        }
        let found = tables::find_settlement(tx, &reversal.setl_id, &reversal.omsgid)
            .await
            .map_err(retry)?;
        let mut result = reversed_result(reversal, reversal.reason.clone(), &self.name);
        if let Some(record) = &found {
            refuse_foreign(record, reversal, &result, incoming)?;
        }
        match found {
            Some(record) if !record.reversed => {
                self.undo(tx, &record).await.map_err(retry)?;
                lane.forget(&record.psn_no);
                result.setlinfo = Some(yidi_wire::v1::Setlinfo {
                    setl_id: record.setl_id.clone(),
                    ..Default::default()
                });
                info!(setl_id = %record.setl_id, "settlement reversed; accumulators restored");
            }
            Some(record) => {
                result.setlinfo =
                    Some(yidi_wire::v1::Setlinfo { setl_id: record.setl_id, ..Default::default() });
            }
            None if !reversal.omsgid.is_empty() => {
                // The transaction never arrived (or not yet: it is ordered before us on the
                // same key, so it never will). A late copy must not settle: leave a tombstone.
                let tombstone = SettleResult { msgid: reversal.omsgid.clone(), ..result.clone() };
                lane.record(
                    tx,
                    &reversal.omsgid,
                    inbox::ANY_REQUEST,
                    &tombstone.encode_to_vec(),
                    &at,
                )
                .await
                .map_err(retry)?;
            }
            None => result.reason = "nothing_to_reverse".into(),
        }
        lane.record(tx, &reversal.msgid, &request_hash, &result.encode_to_vec(), &at)
            .await
            .map_err(retry)?;
        Ok(vec![reply(incoming, &result)])
    }

    /// 2404: a 2601 naming an admission's msgid cancels the admission and releases its hold;
    /// `None` when the msgid was no admission. Only the person's own, from the province that
    /// admitted them; a hold the discharge consumed already stays consumed.
    async fn cancel_admission(
        &self,
        tx: &mut Tx,
        incoming: &Incoming,
        reversal: &Reversal,
    ) -> Result<Option<SettleResult>, Failure> {
        if reversal.omsgid.is_empty() {
            return Ok(None);
        }
        let Some((psn_no, treatment, status)) =
            tables::hold_of_admission(tx, &reversal.omsgid).await.map_err(retry)?
        else {
            return Ok(None);
        };
        let same_province = treatment
            .parse::<RegionCode>()
            .ok()
            .zip(reversal.mdtrtarea_admvs.parse::<RegionCode>().ok())
            .is_some_and(|(admitted, asking)| admitted.same_province(asking));
        if psn_no != reversal.psn_no || !same_province {
            let why = "the admission is another person's or another province's";
            // The answer names the reversal's person, episode and regions, as every answer
            // does: the hub holds it to the request it answers.
            let refused = SettleResult {
                status: i32::from(SettleStatus::Rejected),
                reason: format!("reversal_refused: {why}"),
                rule: yidi_domain::refusal::citation("reversal_refused").into(),
                ..reversed_result(reversal, String::new(), &self.name)
            };
            let error = yidi_trust::AuthError::NotAllowed {
                signer: reversal.mdtrtarea_admvs.clone(),
                role: "treatment place".into(),
                what: format!("cancel admission {}: {why}", reversal.omsgid),
            };
            return Err(Rejection::from(error).with_reply(reply(incoming, &refused)).into());
        }
        let released =
            tables::close_hold(tx, tables::HoldKey::Admission(&reversal.omsgid), "released")
                .await
                .map_err(retry)?;
        let reason = if released { reversal.reason.clone() } else { format!("hold_{status}") };
        info!(omsgid = %reversal.omsgid, released, "admission cancelled (2404)");
        Ok(Some(reversed_result(reversal, reason, &self.name)))
    }

    async fn undo(&self, tx: &mut Tx, record: &SettlementRecord) -> Result<(), StoreError> {
        let ytd = tables::load_accumulators(tx, &record.psn_no, record.year).await?;
        let restored = ytd.without(record.totals());
        tables::save_accumulators(tx, &record.psn_no, record.year, &ytd, &restored).await?;
        if let Some(person) = tables::load_person(tx, &record.psn_no).await? {
            tables::set_balance(tx, &record.psn_no, person.account_balance + record.acct_pay)
                .await?;
        }
        tables::mark_reversed(tx, &record.setl_id).await
    }
}

impl LaneHandler for Agency {
    /// An operator's `yidi dlq park` of a message that keeps failing.
    async fn parked(&self, incoming: &Incoming) -> Option<String> {
        yidi_runtime::parked(&self.store, incoming).await
    }

    /// One transaction for the lane: what it needs read once, decided in order, committed
    /// once, then answered.
    async fn handle(&self, lane: &[Incoming]) -> LaneAnswer {
        let decoded: Vec<Result<Decoded, Rejection>> = lane.iter().map(Agency::decode).collect();
        let mut msgids = Vec::new();
        let mut psn_nos = Vec::new();
        for message in &decoded {
            match message {
                Ok(Decoded::Settle(request)) => {
                    if let Some(bill) = &request.bill {
                        msgids.push(bill.msgid.as_str());
                        psn_nos.push(bill.psn_no.as_str());
                    }
                }
                Ok(Decoded::Reverse(reversal)) => {
                    msgids.extend([reversal.msgid.as_str(), reversal.omsgid.as_str()]);
                }
                Ok(Decoded::Day(_)) | Err(_) => {}
            }
        }
        msgids.sort_unstable();
        msgids.dedup();
        psn_nos.sort_unstable();
        psn_nos.dedup();
        let mut tx = self.store.begin().await.map_err(retry)?;
        let mut prefetched = Prefetched::read(&mut tx, &msgids, &psn_nos).await.map_err(retry)?;
        let mut answers = Vec::with_capacity(lane.len());
        let mut decided = Vec::new();
        for (incoming, message) in lane.iter().zip(decoded) {
            answers.push(match message {
                Ok(Decoded::Settle(request)) => verdict(
                    self.settle(&mut tx, &mut prefetched, incoming, &request, &mut decided).await,
                )?,
                Ok(Decoded::Reverse(reversal)) => {
                    verdict(self.reverse(&mut tx, &mut prefetched, incoming, &reversal).await)?
                }
                Ok(Decoded::Day(ask)) => {
                    let now = self.clock.now().format(TIME_FORMAT).to_string();
                    let stated =
                        crate::statement::day(&mut tx, &self.regions, incoming, &ask, &now).await;
                    verdict(stated)?
                }
                Err(rejection) => Err(rejection),
            });
        }
        tx.commit().await.map_err(|e| retry(e.into()))?;
        for (status, reason) in &decided {
            self.settlements.count_status(*status, reason);
        }
        Ok(answers)
    }
}

/// The answer to a 2305/2601 (or a 2404 cancellation): `REVERSED`, with the reason given.
fn reversed_result(reversal: &Reversal, reason: String, answered_by: &str) -> SettleResult {
    SettleResult {
        msgid: reversal.msgid.clone(),
        mdtrt_id: reversal.mdtrt_id.clone(),
        psn_no: reversal.psn_no.clone(),
        insuplc_admdvs: reversal.insuplc_admdvs.clone(),
        mdtrtarea_admvs: reversal.mdtrtarea_admvs.clone(),
        status: i32::from(SettleStatus::Reversed),
        reason,
        answered_by: answered_by.to_owned(),
        ..SettleResult::default()
    }
}

/// A bill's person, region, policy and filing class, once nothing refused it.
struct Resolved<'r> {
    billed: Billed,
    region: &'r InsuredRegion,
    person: PersonRecord,
    policy: &'r Policy,
    class: Option<yidi_domain::filing::FilingClass>,
}

/// A consumed message, decoded.
enum Decoded {
    Settle(Box<SettleRequest>),
    Reverse(Reversal),
    /// The hub asks for a day's statement (daily reconciliation).
    Day(yidi_wire::v1::DayStatementRequest),
}

/// Whether `reversal` may undo `record`: the same person, treated in the province asking.
fn may_reverse(record: &SettlementRecord, reversal: &Reversal) -> Result<(), &'static str> {
    if record.psn_no != reversal.psn_no {
        return Err("the settlement is another person's");
    }
    let asking = reversal.mdtrtarea_admvs.parse::<RegionCode>().map(RegionCode::province);
    match (&record.treatment, asking) {
        (Some(treated), Ok(asking)) if treated.as_str() != asking.as_str() => {
            Err("the settlement was treated in another province")
        }
        (_, Err(_)) => Err("mdtrtarea_admvs is not a region code"),
        _ => Ok(()),
    }
}

/// What a settlement request says, read and checked before anything is looked up.
struct Billed {
    insured: RegionCode,
    treatment: RegionCode,
    admitted_at: NaiveDateTime,
    discharged_at: NaiveDateTime,
    lines: Vec<yidi_domain::claim::BillLine>,
    catalogue: yidi_domain::catalogue::Catalogue,
    hospital_level: HospitalLevel,
    flags: Flags,
    acct_used_flag: bool,
}

impl Billed {
    fn stay(&self) -> Stay {
        Stay { admitted_at: self.admitted_at, discharged_at: self.discharged_at }
    }
}

/// The person's open holds (2401) in `year`: read only for a person the lane knows to hold any.
async fn open_holds(
    tx: &mut Tx,
    lane: &Prefetched,
    psn_no: &str,
    year: i32,
) -> Result<Vec<yidi_domain::hold::OpenHold>, StoreError> {
    if lane.restricted(psn_no) {
        tables::open_holds(tx, psn_no, year).await
    } else {
        Ok(Vec::new())
    }
}

/// Regions, times, classified lines and hospital level of a bill; `Err` for anything a
/// valid request cannot carry (the exchange checked it; a forged or damaged one fails here).
fn read_bill(bill: &DischargeBill, request: &SettleRequest) -> Result<Billed, ()> {
    let insured = bill.insuplc_admdvs.parse::<RegionCode>().map_err(|_| ())?;
    let treatment = bill.mdtrtarea_admvs.parse::<RegionCode>().map_err(|_| ())?;
    let admitted_at = NaiveDateTime::parse_from_str(&bill.begntime, TIME_FORMAT).map_err(|_| ())?;
    // A 2401 admission has no discharge yet: its stay is judged as of its admission.
    let discharged_at = if bill.admission && bill.endtime.is_empty() {
        admitted_at
    } else {
        NaiveDateTime::parse_from_str(&bill.endtime, TIME_FORMAT).map_err(|_| ())?
    };
    // An admission carries no lines; a discharge at least one.
    let (lines, catalogue) = if bill.admission && request.lines.is_empty() {
        (Vec::new(), yidi_domain::catalogue::Catalogue::default())
    } else {
        convert::request_lines(&request.lines, &request.catalogue_version).map_err(|_| ())?
    };
    let level = u64::try_from(bill.hosp_lv).map_err(|_| ())?;
    let hospital_level = HospitalLevel::from_number(level).map_err(|_| ())?;
    let flags = convert::flags(bill).map_err(|_| ())?;
    Ok(Billed {
        insured,
        treatment,
        admitted_at,
        discharged_at,
        lines,
        catalogue,
        hospital_level,
        flags,
        acct_used_flag: bill.acct_used_flag,
    })
}

/// Refuses a reversal of a settlement that is not this person's or was not treated in the
/// province that asks, with the asker told why.
fn refuse_foreign(
    record: &SettlementRecord,
    reversal: &Reversal,
    result: &SettleResult,
    incoming: &Incoming,
) -> Result<(), Failure> {
    // Only what was settled for this person, and treated in the province that asks,
    // may be undone (issue #11 §4): a reversal naming another's settlement is refused
    // with nothing changed, and the asker is told.
    if let Err(why) = may_reverse(record, reversal) {
        let refused = SettleResult {
            status: i32::from(SettleStatus::Rejected),
            reason: format!("reversal_refused: {why}"),
            rule: yidi_domain::refusal::citation("reversal_refused").into(),
            ..result.clone()
        };
        let error = yidi_trust::AuthError::NotAllowed {
            signer: reversal.mdtrtarea_admvs.clone(),
            role: "treatment place".into(),
            what: format!("reverse {}: {why}", record.setl_id),
        };
        return Err(Rejection::from(error).with_reply(reply(incoming, &refused)).into());
    }
    Ok(())
}

/// Why a person cannot be settled on this bill, if they cannot: a person is settled under
/// their own region's policy and fund only (issue #11 §4) — a Tianjin person billed as
/// Beijing's is refused, not paid from Beijing's fund — and under their own scheme.
fn not_theirs(
    insured: RegionCode,
    person: &PersonRecord,
    bill: &DischargeBill,
) -> Option<&'static str> {
    if !insured.covers(person.region) {
        return Some("insured_region_mismatch");
    }
    if bill.insutype != person.scheme.code() {
        return Some("insutype_mismatch");
    }
    None
}

/// A settled bill to write down: which, where, in which year, under which id and time.
struct Booked<'a> {
    bill: &'a DischargeBill,
    /// The hosted region it is settled under.
    insured: String,
    stay: Stay,
    treatment: RegionCode,
    year: i32,
    setl_id: String,
    settled_at: NaiveDateTime,
}

/// Persists a settlement in the lane's transaction: the person's accumulators and balance,
/// and the settlement record.
async fn book(
    tx: &mut Tx,
    lane: &mut Prefetched,
    booked: &Booked<'_>,
    ytd: &yidi_domain::claim::Accumulators,
    settlement: &yidi_domain::settle::Settlement,
) -> Result<(), StoreError> {
    let bill = booked.bill;
    let ytds = (ytd, &settlement.ytd_after);
    lane.settled(tx, &bill.psn_no, booked.year, ytds, settlement.balc).await?;
    let record = SettlementRecord {
        setl_id: booked.setl_id.clone(),
        msgid: bill.msgid.clone(),
        psn_no: bill.psn_no.clone(),
        year: booked.year,
        hifp_pay: settlement.hifp_pay,
        catastrophic_pay: settlement.catastrophic_pay(),
        maf_pay: settlement.maf_pay,
        inscp_selfborne: settlement.totals().inscp_selfborne,
        acct_pay: settlement.acct_pay,
        reversed: false,
        treatment: Some(booked.treatment.province().to_string()),
    };
    let (begntime, endtime) = (
        booked.stay.admitted_at.format(TIME_FORMAT).to_string(),
        booked.stay.discharged_at.format(TIME_FORMAT).to_string(),
    );
    let new = NewSettlement {
        record: &record,
        insured: &booked.insured,
        mdtrt_id: &bill.mdtrt_id,
        begntime: &begntime,
        endtime: &endtime,
        fund_pay_sumamt: settlement.fund_pay_sumamt,
        medfee_sumamt: settlement.buckets.medfee_sumamt,
        settled_at: &booked.settled_at.format(TIME_FORMAT).to_string(),
    };
    tables::insert_settlement(tx, &new).await?;
    if settlement.third_party_recovery {
        let claim = tables::RecoveryClaim {
            setl_id: &booked.setl_id,
            psn_no: &bill.psn_no,
            mdtrt_id: &bill.mdtrt_id,
            amount: settlement.fund_pay_sumamt,
            ttp_status: if bill.ttp_status.is_empty() { "unstated" } else { &bill.ttp_status },
            opened_at: new.settled_at,
        };
        tables::open_recovery_claim(tx, &claim).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn settled(psn_no: &str, treatment: Option<&str>) -> SettlementRecord {
        SettlementRecord {
            setl_id: "120000abc".into(),
            msgid: "M1".into(),
            psn_no: psn_no.into(),
            year: 2026,
            hifp_pay: yidi_domain::money::Amount::ZERO,
            catastrophic_pay: yidi_domain::money::Amount::ZERO,
            maf_pay: yidi_domain::money::Amount::ZERO,
            inscp_selfborne: yidi_domain::money::Amount::ZERO,
            acct_pay: yidi_domain::money::Amount::ZERO,
            reversed: false,
            treatment: treatment.map(str::to_owned),
        }
    }

    fn reversal(psn_no: &str, treatment: &str) -> Reversal {
        Reversal { psn_no: psn_no.into(), mdtrtarea_admvs: treatment.into(), ..Reversal::default() }
    }

    /// Issue #11 §4: a reversal must match the settlement's person and treatment province.
    #[test]
    fn a_reversal_undoes_only_its_own_persons_settlement_treated_in_the_asking_province() {
        let record = settled("P1", Some("440000"));
        assert!(may_reverse(&record, &reversal("P1", "440300")).is_ok());
        assert!(may_reverse(&record, &reversal("P2", "440300")).is_err(), "another person's");
        assert!(may_reverse(&record, &reversal("P1", "310000")).is_err(), "another province's");
        assert!(may_reverse(&record, &reversal("P1", "nowhere")).is_err());
        assert!(
            may_reverse(&settled("P1", None), &reversal("P1", "310000")).is_ok(),
            "a settlement from before provinces were kept is matched by person only"
        );
    }
}
