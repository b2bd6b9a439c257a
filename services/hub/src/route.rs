//! The hub's flows.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use tracing::info;
use yidi_bus::{
    topics, verdict, Bus, Failure, Incoming, LaneAnswer, LaneHandler, Outgoing, Rejection,
    Transient,
};
use yidi_domain::ids::RegionCode;
use yidi_store::Store;
use yidi_wire::codec::ContentType;
use yidi_wire::convert;
use yidi_wire::headers;
use yidi_wire::v1::{
    FilingRecord, HaltRecord, Reversal, SettleRequest, SettleResult, SettleStatus, Statement,
};

use crate::clearing::Desk;
use crate::live::Live;
use crate::record;
use crate::referee::{self, Routed};
use crate::statement;

/// What the hub knows of the provinces.
pub struct Hub {
    pub store: Store,
    /// Insured provinces with an agency on the network.
    pub served: BTreeSet<RegionCode>,
    /// Insured provinces suspended by settings, whatever their clearing.
    pub suspended: BTreeSet<RegionCode>,
    /// Insured provinces the clearing ladder has suspended for overdue funds (N22 point 7).
    pub overdue_suspended: Arc<RwLock<BTreeSet<RegionCode>>>,
    pub desk: Arc<Desk>,
    pub live: Arc<Live>,
    /// Names the hub in dead letters.
    pub bus: Bus,
    /// The national filing database keeps persons as tokens.
    pub tokens: Arc<yidi_trust::token::PersonTokens>,
    /// The treatment provinces' catalogue editions, to check each request's classification.
    pub catalogues: Arc<referee::Catalogues>,
}

fn status_name(status: i32) -> &'static str {
    SettleStatus::try_from(status).map(|s| s.as_str_name()).unwrap_or("SETTLE_STATUS_UNSPECIFIED")
}

fn retry(error: impl ToString) -> Transient {
    Transient::new(error)
}

fn province_of(code: &str) -> Option<RegionCode> {
    code.parse::<RegionCode>().ok().map(RegionCode::province)
}

impl Hub {
    /// The hub's topics, read by its one consumer.
    pub fn topics() -> Vec<String> {
        [
            topics::HUB_REQUESTS,
            topics::HUB_RESULTS,
            topics::FILING,
            topics::HUB_STATEMENTS,
            topics::HUB_SANCTIONS,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Exchange → agency, a lane of requests: each routed (or answered by the hub), and what
    /// was routed recorded in one transaction before anything is sent, so every result that
    /// comes back can be held to the request it answers (`crate::referee`).
    pub async fn route_requests(&self, lane: &[Incoming]) -> LaneAnswer {
        let mut decided: Vec<Result<Routing, Rejection>> =
            lane.iter().map(|incoming| self.route_request(incoming)).collect();
        if decided.iter().any(|d| d.as_ref().is_ok_and(|r| r.routed.is_some())) {
            let at = self.desk.recorded_at();
            let mut tx = self.store.begin().await.map_err(retry)?;
            for (incoming, decision) in lane.iter().zip(decided.iter_mut()) {
                if let Ok(Routing { institution: Some(bill), .. }) = decision {
                    if let Some(answer) = self.registered(&mut tx, incoming, bill).await? {
                        *decision = answer;
                        continue;
                    }
                }
                let Ok(Routing { routed: Some(routed), .. }) = decision else { continue };
                match referee::record(&mut tx, routed, &at).await {
                    Ok(()) => {}
                    Err(referee::RecordError::Conflict) => {
                        *decision = Err(Rejection::new(
                            "MSGID_CONFLICT",
                            "the msgid was routed before for another request",
                        ));
                    }
                    Err(referee::RecordError::Store(error)) => return Err(retry(error)),
                }
            }
            tx.commit().await.map_err(|e| retry(yidi_store::StoreError::from(e)))?;
        }
        Ok(decided
            .into_iter()
            .map(|decision| {
                let routing = decision?;
                if let Some(routed) = &routing.routed {
                    if routed.kind != referee::Kind::Reverse {
                        self.live.requested(&routed.msgid);
                    }
                }
                Ok(routing.replies)
            })
            .collect())
    }

    /// The hub's own register decides which institutions settle directly, and at which level,
    /// whatever the exchange did: a bill of an institution the register does not designate in
    /// the treatment province, or whose agreement the hub suspended or ended, is answered by
    /// the hub with that refusal; one billed at another level than the register's is refused
    /// `LEVEL_MISMATCH`. `None`: the bill goes on.
    async fn registered(
        &self,
        tx: &mut yidi_store::Tx,
        incoming: &Incoming,
        bill: &yidi_wire::v1::DischargeBill,
    ) -> Result<Option<Result<Routing, Rejection>>, Transient> {
        let Some(treatment) = province_of(&bill.mdtrtarea_admvs) else { return Ok(None) };
        let designation =
            crate::hospitals::standing(tx, bill.fixmedins_code.trim()).await.map_err(retry)?;
        let refuse = |reason: &str| {
            let result = convert::rejected_result(bill, reason, "hub");
            to_exchange(incoming, treatment, &result)
        };
        match yidi_domain::hospital::admit(designation.as_ref(), treatment) {
            Ok(level) if i64::from(bill.hosp_lv) == i64::from(level.number()) => Ok(None),
            Ok(level) => Ok(Some(Err(Rejection::new(
                "LEVEL_MISMATCH",
                format!("hosp_lv: {} sent; the register has {}", bill.hosp_lv, level.number()),
            )
            .with_reply(refuse("level_mismatch"))))),
            Err(refusal) => {
                info!(msgid = %bill.msgid, fixmedins_code = %bill.fixmedins_code,
                      reason = refusal.code(), "refused at the hub by its register");
                self.live.answered(&bill.msgid, "REJECTED", refusal.code());
                Ok(Some(Ok(Routing {
                    replies: vec![refuse(refusal.code())],
                    routed: None,
                    institution: None,
                })))
            }
        }
    }

    /// Exchange → agency: route by `insuplc_admdvs`, or answer for the agency. Nothing is sent
    /// to a province without an agency: a bill gets `unknown_province`, a reversal is refused
    /// with the same reason, back to the exchange that sent it. Decides only: the caller
    /// records what is routed (`route_requests`).
    pub fn route_request(&self, incoming: &Incoming) -> Result<Routing, Rejection> {
        let request = Request::read(incoming)?;
        let (insured, treatment) = match &request {
            Request::Settle(settle) => (&settle.bill.insuplc_admdvs, &settle.bill.mdtrtarea_admvs),
            Request::Reverse(reversal) => (&reversal.insuplc_admdvs, &reversal.mdtrtarea_admvs),
        };
        let (Some(insured_province), Some(treatment_province)) =
            (province_of(insured), province_of(treatment))
        else {
            return Err(Rejection::new(
                "INVALID_REGION",
                "insuplc_admdvs or mdtrtarea_admvs is not a region code",
            ));
        };
        // Only the exchange of the treatment province submits its hospitals' bills and reversals.
        incoming.authorize(
            |role| role.treats_in(treatment_province),
            &format!("submit bills or reversals treated in {treatment_province}"),
        )?;
        let overdue_suspended = self
            .overdue_suspended
            .read()
            .map(|set| set.contains(&insured_province))
            .unwrap_or(false);
        let refusal = if self.suspended.contains(&insured_province) || overdue_suspended {
            Some("province_suspended")
        } else if !self.served.contains(&insured_province) {
            Some("unknown_province")
        } else {
            None
        };
        let answered = |replies| Ok(Routing { replies, routed: None, institution: None });
        match (refusal, request) {
            (Some(reason), Request::Settle(settle)) => {
                let bill = &settle.bill;
                info!(msgid = %bill.msgid, %insured_province, reason, "refused at the hub");
                let result = convert::rejected_result(bill, reason, "hub");
                self.live.answered(&bill.msgid, "REJECTED", reason);
                answered(vec![to_exchange(incoming, treatment_province, &result)])
            }
            (_, Request::Reverse(reversal)) if !self.served.contains(&insured_province) => {
                info!(msgid = %reversal.msgid, %insured_province, "reversal refused at the hub: no agency");
                answered(vec![to_exchange(incoming, treatment_province, &no_agency(&reversal))])
            }
            (None, Request::Settle(settle)) => {
                let Settle { bill, request } = *settle;
                referee::check_classification(
                    &request,
                    &bill,
                    treatment_province,
                    &self.catalogues,
                )
                .map_err(|refused| {
                    let result = convert::rejected_result(&bill, "classification_mismatch", "hub");
                    refused.with_reply(to_exchange(incoming, treatment_province, &result))
                })?;
                Ok(Routing {
                    replies: vec![forward(incoming, insured_province)],
                    routed: Some(Routed::of_bill(&bill, &self.tokens)),
                    institution: Some(Box::new(bill)),
                })
            }
            // A suspended province still takes reversals: undoing is always allowed.
            (_, Request::Reverse(reversal)) => Ok(Routing {
                replies: vec![forward(incoming, insured_province)],
                routed: Some(Routed::of_reversal(&reversal, &self.tokens)),
                institution: None,
            }),
        }
    }

    /// Agency → exchange: referee the lane's results (each must answer a request the hub
    /// routed to its sender, `crate::referee`), record those taken (settled bills and
    /// clearing ledger, group committed), then forward each.
    pub async fn route_results(&self, lane: &[Incoming]) -> LaneAnswer {
        // Each message: its decoded result and treatment province, or its rejection.
        let mut decoded: Vec<Result<(SettleResult, RegionCode), Rejection>> = lane
            .iter()
            .map(|incoming| {
                let result = incoming.decode::<SettleResult>("SettleResult")?;
                let treatment = province_of(&result.mdtrtarea_admvs).ok_or_else(|| {
                    Rejection::new("INVALID_REGION", "mdtrtarea_admvs: not a region code")
                })?;
                // Only the agency of the insured region answers for its insured.
                let insured = result.insuplc_admdvs.parse::<RegionCode>().map_err(|_| {
                    Rejection::new("INVALID_REGION", "insuplc_admdvs: not a region code")
                })?;
                incoming.authorize(
                    |role| role.hosts(insured),
                    &format!("issue results for persons insured in {insured}"),
                )?;
                Ok((result, treatment))
            })
            .collect();
        self.referee(&mut decoded).await?;
        let results: Vec<&SettleResult> =
            decoded.iter().filter_map(|d| d.as_ref().ok()).map(|(r, _)| r).collect();
        let mut periods = self.desk.record_results(&results).await.map_err(retry)?.into_iter();
        let mut answers = Vec::with_capacity(lane.len());
        for (incoming, decoded) in lane.iter().zip(decoded) {
            let (result, treatment) = match decoded {
                Ok(decoded) => decoded,
                Err(rejection) => {
                    answers.push(Err(rejection));
                    continue;
                }
            };
            if !result.duplicate {
                self.live.answered(&result.msgid, status_name(result.status), &result.reason);
            }
            let mut out = forward_result(incoming, treatment, &result);
            if let Some(period) = periods.next().flatten() {
                out = out.with_header(headers::CLEARING_PERIOD, &period.to_string());
            }
            answers.push(Ok(vec![out]));
        }
        Ok(answers)
    }

    /// Holds each result of a lane to the request it answers, in order (a later result sees
    /// what an earlier one settled or reversed), and takes each accepted one as its request's
    /// answer in one transaction; a refused one becomes its rejection and touches nothing.
    async fn referee(
        &self,
        decoded: &mut [Result<(SettleResult, RegionCode), Rejection>],
    ) -> Result<(), Transient> {
        let results: Vec<&SettleResult> =
            decoded.iter().filter_map(|d| d.as_ref().ok()).map(|(r, _)| r).collect();
        if results.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin().await.map_err(retry)?;
        let mut known = referee::Known::read(&mut tx, &results).await.map_err(retry)?;
        for decision in decoded.iter_mut() {
            let Ok((result, _)) = decision else { continue };
            let person = self.tokens.token(&result.psn_no);
            let judged = match known.judge(result, &person) {
                Ok(()) => {
                    let answer = referee::answer_hash(result);
                    if !known.holds_to_one(&result.msgid)
                        || referee::take_answer(&mut tx, &result.msgid, &answer)
                            .await
                            .map_err(retry)?
                    {
                        Ok(())
                    } else {
                        Err(Rejection::new(
                            "RESULT_CONFLICT",
                            "the request was answered already, differently",
                        ))
                    }
                }
                Err(refused) => Err(refused),
            };
            if let Err(refused) = judged {
                tracing::warn!(msgid = %result.msgid, code = %refused.code, reason = %refused.reason,
                    "result refused by the referee");
                *decision = Err(refused);
            }
        }
        tx.commit().await.map_err(|e| retry(yidi_store::StoreError::from(e)))?;
        Ok(())
    }

    /// Agency or exchange → hub: a party's statement of a day's settlements (`daily`), kept
    /// for daily reconciliation; where it differs from the ledger, the party is asked for the
    /// settlements themselves.
    pub async fn record_day_statement(
        &self,
        incoming: &Incoming,
    ) -> Result<Vec<Outgoing>, Failure> {
        let received = crate::daily::admit(incoming)?;
        let at = self.desk.recorded_at();
        let mut tx = self.store.begin().await.map_err(retry)?;
        let asks = crate::daily::record(&mut tx, &received, &at).await.map_err(retry)?;
        tx.commit().await.map_err(|e| retry(yidi_store::StoreError::from(e)))?;
        self.desk.forget_daily().await;
        info!(day = %received.day, party = received.party.as_str(), rows = received.rows.len(),
              detail_asked = !asks.is_empty(), "day statement kept");
        Ok(asks)
    }

    /// Exchange → hub: a statement of a clearing period (or one part of it), reconciled
    /// against the ledger once whole.
    pub async fn record_statement(&self, incoming: &Incoming) -> Result<Vec<Outgoing>, Failure> {
        let invalid = |why: statement::Invalid| Rejection::new("INVALID_STATEMENT", why.0);
        let received = incoming.decode::<Statement>("Statement")?;
        let heading = statement::heading(&received).map_err(invalid)?;
        incoming.authorize(
            |role| role.treats_in(heading.treatment),
            &format!("state what was treated in {}", heading.treatment),
        )?;
        // Every part is checked as it arrives, so a bad one is refused on its own.
        let mut totals = statement::totals(&received).map_err(invalid)?;
        if heading.parts > 1 {
            match statement::gather(&self.store, heading, &received).await.map_err(retry)? {
                Some(parts) => totals = statement::whole(&parts).map_err(invalid)?,
                None => {
                    info!(period = %heading.period, treatment = %heading.treatment,
                        part = received.part, parts = heading.parts, "statement part kept");
                    return Ok(Vec::new());
                }
            }
        }
        let (period, treatment) = (heading.period, heading.treatment);
        let event = self.desk.reconcile(period, treatment, &totals).await.map_err(retry)?;
        if heading.parts > 1 {
            statement::forget(&self.store, heading).await.map_err(retry)?;
        }
        if let yidi_clearing::Event::Reconciled { mismatches, .. } = &event {
            if mismatches.is_empty() {
                info!(%period, %treatment, "statement reconciled: balanced");
            } else {
                tracing::warn!(%period, %treatment, mismatches = mismatches.len(), "statement reconciled: mismatches");
            }
        }
        Ok(Vec::new())
    }

    /// Agency → national filing database, the lane in one transaction.
    pub async fn record_filings(&self, lane: &[Incoming]) -> LaneAnswer {
        self.record_each(
            lane,
            |incoming| {
                let filing = incoming.decode::<FilingRecord>("FilingRecord")?;
                // Only the agency of the insured region files for its insured.
                let (filing, insured) = valid_filing(filing)?;
                incoming.authorize(
                    |role| role.hosts(insured),
                    &format!("file for persons insured in {insured}"),
                )?;
                Ok(filing)
            },
            async |tx, filing| record::record_filing(tx, &filing, &self.tokens).await,
        )
        .await
    }

    /// An agency's records, each admitted (read, checked, its sender allowed to speak for
    /// it) or refused, and the admitted ones written in one transaction for the lane.
    async fn record_each<T>(
        &self,
        lane: &[Incoming],
        admit: impl Fn(&Incoming) -> Result<T, Rejection>,
        write: impl AsyncFn(&mut yidi_store::Tx, T) -> Result<(), yidi_store::StoreError>,
    ) -> LaneAnswer {
        let mut tx = self.store.begin().await.map_err(retry)?;
        let mut answers = Vec::with_capacity(lane.len());
        for incoming in lane {
            match admit(incoming) {
                Ok(record) => {
                    write(&mut tx, record).await.map_err(retry)?;
                    answers.push(Ok(Vec::new()));
                }
                Err(rejection) => answers.push(Err(rejection)),
            }
        }
        tx.commit().await.map_err(retry)?;
        Ok(answers)
    }
}

impl Hub {
    /// Agency → hub: person-level halts and their lifting, one transaction for the lane. Only
    /// the agency of the person's insured region speaks for them.
    pub async fn record_halts(&self, lane: &[Incoming]) -> LaneAnswer {
        self.record_each(
            lane,
            |incoming| {
                let halt = incoming.decode::<HaltRecord>("HaltRecord")?;
                let (halt, insured) = crate::halts::valid(halt)?;
                incoming.authorize(
                    |role| role.hosts(insured),
                    &format!("halt direct settlement of persons insured in {insured}"),
                )?;
                Ok(halt)
            },
            async |tx, halt| crate::halts::record(tx, &halt, &self.tokens).await,
        )
        .await
    }
}

impl LaneHandler for Hub {
    /// An operator's `yidi dlq park` of a message that keeps failing.
    async fn parked(&self, incoming: &Incoming) -> Option<String> {
        yidi_runtime::parked(&self.store, incoming).await
    }

    /// A lane is one partition of one of [`Hub::topics`]: to the flow of its topic.
    async fn handle(&self, lane: &[Incoming]) -> LaneAnswer {
        let Some(topic) = lane.first().map(|m| m.topic.as_str()) else {
            return Ok(Vec::new());
        };
        match topic {
            topics::HUB_REQUESTS => self.route_requests(lane).await,
            topics::HUB_RESULTS => self.route_results(lane).await,
            topics::FILING => self.record_filings(lane).await,
            topics::HUB_SANCTIONS => self.record_halts(lane).await,
            topics::HUB_STATEMENTS => {
                let mut answers = Vec::with_capacity(lane.len());
                for incoming in lane {
                    let answer = if incoming.header(yidi_wire::headers::MSG_TYPE)
                        == Some("yidi.v1.DayStatement")
                    {
                        self.record_day_statement(incoming).await
                    } else {
                        self.record_statement(incoming).await
                    };
                    answers.push(verdict(answer)?);
                }
                Ok(answers)
            }
            other => Ok(lane
                .iter()
                .map(|_| {
                    Err(Rejection::new(
                        "UNEXPECTED_TOPIC",
                        format!("the hub does not read {other}"),
                    ))
                })
                .collect()),
        }
    }
}

/// A filing record the national filing database takes: identified, of a person, from an
/// insured region, with dates that read as dates.
fn valid_filing(filing: FilingRecord) -> Result<(FilingRecord, RegionCode), Rejection> {
    let invalid = |why: &str| Rejection::new("INVALID_FILING", why);
    if filing.filing_id.trim().is_empty() || filing.psn_no.trim().is_empty() {
        return Err(invalid("filing_id and psn_no: required"));
    }
    let Ok(insured) = filing.insuplc_admdvs.parse::<RegionCode>() else {
        return Err(invalid("insuplc_admdvs: not a region code"));
    };
    let date = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok();
    if !date(&filing.begndate) || !(filing.enddate.is_empty() || date(&filing.enddate)) {
        return Err(invalid("begndate or enddate: not yyyy-MM-dd"));
    }
    Ok((filing, insured))
}

/// What the hub does with a request: the messages it sends, and what it routed to an agency
/// (to be recorded before they are sent), if it routed it.
pub struct Routing {
    pub replies: Vec<Outgoing>,
    pub routed: Option<Routed>,
    /// A bill to be held to the hub's register before it goes.
    pub institution: Option<Box<yidi_wire::v1::DischargeBill>>,
}

/// A request the hub routes.
enum Request {
    Settle(Box<Settle>),
    Reverse(Reversal),
}

/// A settlement request, its bill taken out.
struct Settle {
    bill: yidi_wire::v1::DischargeBill,
    request: SettleRequest,
}

impl Request {
    fn read(incoming: &Incoming) -> Result<Request, Rejection> {
        if incoming.header(headers::MSG_TYPE) == Some("yidi.v1.Reversal") {
            return Ok(Request::Reverse(incoming.decode("Reversal")?));
        }
        let mut request = incoming.decode::<SettleRequest>("SettleRequest")?;
        match request.bill.take() {
            Some(bill) => Ok(Request::Settle(Box::new(Settle { bill, request }))),
            None => Err(Rejection::new("MISSING_BILL", "bill: missing field")),
        }
    }
}

/// The hub's answer to a reversal for an insured province no agency serves.
fn no_agency(reversal: &Reversal) -> SettleResult {
    SettleResult {
        msgid: reversal.msgid.clone(),
        mdtrt_id: reversal.mdtrt_id.clone(),
        psn_no: reversal.psn_no.clone(),
        insuplc_admdvs: reversal.insuplc_admdvs.clone(),
        mdtrtarea_admvs: reversal.mdtrtarea_admvs.clone(),
        status: i32::from(SettleStatus::Rejected),
        reason: "unknown_province: no agency serves the insured province".into(),
        rule: yidi_domain::refusal::citation("unknown_province").into(),
        answered_by: "hub".into(),
        ..SettleResult::default()
    }
}

/// Forwards a request as it came: same key (the person's: their bills and reversals stay in one
/// partition, in order), same value.
fn forward(incoming: &Incoming, insured_province: RegionCode) -> Outgoing {
    let mut forward = Outgoing {
        topic: topics::agency_requests(insured_province.as_str()),
        key: incoming.key.clone().unwrap_or_default(),
        headers: incoming.headers.clone().into_iter().collect(),
        payload: incoming.payload.clone(),
    };
    forward.headers.retain(|(name, _)| name != headers::RECEIVER);
    forward.with_header(headers::RECEIVER, insured_province.as_str())
}

/// Agency → exchange: the agency's result forwarded byte for byte, with what the agency signed
/// (its topic and headers) in `yidi-origin`: the hub's own signature then countersigns the
/// agency's, and the exchange hands the hospital a receipt an auditor can check offline
/// (`yidi_trust::receipt`).
fn forward_result(incoming: &Incoming, treatment: RegionCode, result: &SettleResult) -> Outgoing {
    let content_type = incoming.header(headers::CONTENT_TYPE).unwrap_or(headers::PROTOBUF);
    let mut forward = Outgoing {
        topic: topics::exchange_results(treatment.as_str()),
        key: convert::person_key(&result.psn_no),
        headers: vec![
            (headers::MSG_TYPE.into(), "yidi.v1.SettleResult".into()),
            (headers::SCHEMA_VERSION.into(), headers::SCHEMA.into()),
            (headers::CONTENT_TYPE.into(), content_type.into()),
        ],
        payload: incoming.payload.clone(),
    }
    .following(incoming)
    .with_header(headers::RECEIVER, treatment.as_str());
    if let yidi_bus::Signer::Verified(_) = &incoming.signer {
        let origin = yidi_trust::receipt::Signed {
            topic: incoming.topic.clone(),
            headers: incoming.headers.clone(),
        };
        if let Ok(origin) = serde_json::to_string(&origin) {
            forward = forward.with_header(yidi_trust::receipt::ORIGIN_HEADER, &origin);
        }
    }
    forward
}

fn to_exchange(incoming: &Incoming, treatment: RegionCode, result: &SettleResult) -> Outgoing {
    Outgoing::new(
        topics::exchange_results(treatment.as_str()),
        &convert::person_key(&result.psn_no),
        "yidi.v1.SettleResult",
        result,
        ContentType::Protobuf,
    )
    .following(incoming)
    .with_header(headers::RECEIVER, treatment.as_str())
}
