//! Bills in, results out.

use std::collections::HashMap;
use std::sync::Mutex;

use prost::Message;
use tokio::sync::oneshot;
use tracing::{info, warn};
use yidi_bus::{
    topics, verdict, Bus, Failure, Incoming, LaneAnswer, LaneHandler, Outgoing, Rejection,
    Transient,
};
use yidi_domain::fingerprint::Fingerprinter;
use yidi_domain::ids::RegionCode;
use yidi_formats::catalogue_file::TreatmentCatalogue;
use yidi_runtime::clock::BusinessClock;
use yidi_runtime::mask;
use yidi_runtime::outbox::Outbox;
use yidi_store::{Store, Tx};
use yidi_wire::codec::ContentType;
use yidi_wire::convert::{self, TIME_FORMAT};
use yidi_wire::headers;
use yidi_wire::v1::{DischargeBill, Reversal, SettleRequest, SettleResult, SettleStatus};

use crate::requests;

/// How a bill arrived, and so where its result goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// `his.<province>.discharge`: the result goes to `his.<province>.settlement`.
    Kafka(ContentType),
    /// gRPC: the result is the call's reply.
    Grpc,
}

impl Via {
    fn code(self) -> &'static str {
        match self {
            Via::Kafka(_) => "kafka",
            Via::Grpc => "grpc",
        }
    }
}

/// The exchange of one treatment province.
pub struct Exchange {
    pub name: String,
    pub province: RegionCode,
    pub catalogue: TreatmentCatalogue,
    pub store: Store,
    pub bus: Bus,
    /// gRPC calls waiting for the result of a msgid.
    pub waiters: Mutex<HashMap<String, Vec<oneshot::Sender<SettleResult>>>>,
    /// What the exchange originates (gRPC bills, reversals), sent after its commit.
    pub outbox: Outbox,
    /// Request and statement times are business (China) time.
    pub clock: BusinessClock,
    /// First results by outcome and reason (`yidi_results_total`): bills and reversals
    /// answered.
    pub answers: yidi_runtime::metrics::Outcomes,
    /// A bill sent on to the hub → its first result back (`yidi_settlement_seconds`).
    pub settlement_time: yidi_runtime::metrics::Stopwatch,
    /// Designated institutions and their agreements: the level a bill settles at.
    pub hospitals: crate::hospitals::Register,
    /// The insured regions' filing rules and policies, for the pre-admission filing check.
    pub insured: Vec<yidi_domain::policy::InsuredRegion>,
    /// gRPC calls answered before their deadline, by how the answer came ([`Exchange::answer`]).
    pub grpc_answers: yidi_runtime::metrics::Outcomes,
    /// Whether other processes of this exchange share its database and partitions (issue #9
    /// §6, `instance`): the register is then read again when they changed it, and a gRPC call
    /// also looks in the database for a result another process took in.
    pub shared: bool,
}

/// How often a waiting gRPC call looks in the database for its result when other processes of
/// the exchange may have taken it in ([`Exchange::answer`]).
const SHARED_RESULT_LOOK: std::time::Duration = std::time::Duration::from_millis(100);

/// A message's replies, and the result whose gRPC waiters are told once it is committed.
struct Decided {
    replies: Vec<Outgoing>,
    wake: Option<SettleResult>,
    /// A bill sent on to the hub now (its msgid): timed until its result.
    sent: Option<String>,
    /// `wake` is the first result of its msgid: counted.
    first: bool,
}

/// The header a result to the HIS carries its receipt in (`yidi_trust::Receipt`, JSON).
pub const RECEIPT_HEADER: &str = "yidi-receipt";

/// A receipt larger than this (a result of thousands of lines) is not copied into a header.
pub const RECEIPT_HEADER_MAX: usize = 256 * 1024;

/// The receipt of a result the hub forwarded with the agency's signed original, as JSON.
fn receipt_of(incoming: &Incoming) -> Option<String> {
    let yidi_bus::Signer::Verified(_) = &incoming.signer else { return None };
    let hub = yidi_trust::receipt::Signed {
        topic: incoming.topic.clone(),
        headers: incoming.headers.clone(),
    };
    let content_type = incoming.header(headers::CONTENT_TYPE).unwrap_or(headers::PROTOBUF);
    let receipt = yidi_trust::Receipt::of(hub, &incoming.payload, content_type).ok()?;
    serde_json::to_string(&receipt).ok()
}

fn retry(error: impl ToString) -> Transient {
    Transient::new(error)
}

impl Exchange {
    /// Now in business time, as the messages write it.
    pub fn now(&self) -> String {
        self.clock.now().format(TIME_FORMAT).to_string()
    }

    /// A result for the HIS topic, in the content type the HIS used.
    pub fn to_his(&self, result: &SettleResult, content_type: ContentType) -> Outgoing {
        Outgoing::new(
            topics::his_settlement(self.province.as_str()),
            &result.mdtrt_id,
            "yidi.v1.SettleResult",
            result,
            content_type,
        )
        .with_header(headers::MSGID, &result.msgid)
        .with_header(headers::MDTRT_ID, &result.mdtrt_id)
        .with_header(headers::SENDER, self.province.as_str())
    }

    /// `his.<province>.discharge`: decode, validate, submit. Bad input goes to the dead-letter
    /// topic with the reason, and the HIS is told when the bill can be identified.
    async fn on_discharge(&self, tx: &mut Tx, incoming: &Incoming) -> Result<Decided, Failure> {
        let content_type = incoming.content_type()?;
        let bill = incoming.decode::<DischargeBill>("DischargeBill")?;
        if let Err(error) = convert::validate_bill(&bill, self.province) {
            let reason = error.to_string();
            info!(msgid = %bill.msgid, %reason, "bill refused");
            let mut rejection = Rejection::new("INVALID_BILL", reason.clone());
            if !bill.msgid.is_empty() && !bill.mdtrt_id.is_empty() {
                let result = convert::rejected_result(
                    &bill,
                    &format!("invalid_request: {reason}"),
                    &self.name,
                );
                rejection = rejection.with_reply(self.to_his(&result, content_type));
            }
            return Err(rejection.into());
        }
        let traceparent = incoming.header(headers::TRACEPARENT);
        let at = (i64::from(incoming.partition), incoming.offset);
        self.submit_in(tx, &bill, Via::Kafka(content_type), traceparent, None, Some(at)).await
    }

    /// A gRPC call's bill: recorded, with the request to the hub queued in the outbox in the
    /// same transaction (and, for `Settle`, the reversal that undoes it if the caller is not
    /// answered by `reverse_after`). A bill already answered wakes the caller at once.
    pub async fn submit(
        &self,
        bill: &DischargeBill,
        traceparent: Option<&str>,
        reversal: Option<(&[u8], &str)>,
    ) -> Result<(), Failure> {
        if self.shared {
            self.hospitals.refresh(&self.store).await.map_err(retry)?;
        }
        let mut tx = self.store.begin().await.map_err(retry)?;
        let decided = self.submit_in(&mut tx, bill, Via::Grpc, traceparent, reversal, None).await?;
        let at = self.now();
        for message in &decided.replies {
            Outbox::put(&mut tx, message, &at).await.map_err(retry)?;
        }
        tx.commit().await.map_err(retry)?;
        self.outbox.wake();
        self.after_commit(Decided { replies: Vec::new(), ..decided });
        Ok(())
    }

    /// Queues the reversal of a gRPC settlement whose caller was not answered in time, once:
    /// `true` when it is queued now or was already; `false` when a result came first (the
    /// caller can be given it).
    pub async fn reverse_unanswered(&self, msgid: &str) -> Result<bool, Transient> {
        let mut tx = self.store.begin().await.map_err(retry)?;
        let Some(bytes) = requests::take_reversal(&mut tx, msgid).await.map_err(retry)? else {
            let known = requests::find(&mut tx, msgid).await.map_err(retry)?;
            return Ok(known.is_some_and(|known| known.result.is_none()));
        };
        let reversal = Reversal::decode(bytes.as_slice()).map_err(retry)?;
        let message = reversal_message(&reversal);
        let at = self.now();
        requests::reversal_sent(&mut tx, &reversal.msgid, &reversal.mdtrt_id, &at)
            .await
            .map_err(retry)?;
        Outbox::put(&mut tx, &message, &at).await.map_err(retry)?;
        tx.commit().await.map_err(retry)?;
        self.outbox.wake();
        info!(%msgid, reversal = %reversal.msgid, "caller not answered in time: 2601 reversal queued");
        Ok(true)
    }

    /// A HIS's 2305/2601 reversal, queued in the outbox.
    pub async fn queue_reversal(&self, reversal: &Reversal) -> Result<(), Transient> {
        let mut tx = self.store.begin().await.map_err(retry)?;
        let at = self.now();
        requests::reversal_sent(&mut tx, &reversal.msgid, &reversal.mdtrt_id, &at)
            .await
            .map_err(retry)?;
        Outbox::put(&mut tx, &reversal_message(reversal), &at).await.map_err(retry)?;
        tx.commit().await.map_err(retry)?;
        self.outbox.wake();
        Ok(())
    }

    /// Queues the reversals of gRPC settlements past their caller's deadline with no result:
    /// calls that were cancelled, or that waited while the process stopped. How many.
    pub async fn sweep_unanswered(&self) -> Result<usize, Transient> {
        let mut tx = self.store.begin().await.map_err(retry)?;
        let overdue = requests::overdue(&mut tx, &self.now(), 64).await.map_err(retry)?;
        drop(tx);
        let mut queued = 0;
        for msgid in overdue {
            queued += usize::from(self.reverse_unanswered(&msgid).await?);
        }
        Ok(queued)
    }

    /// Records a valid bill and sends it to the hub; a bill already answered gets its first
    /// result again (`duplicate`). Each HIS send is counted, so that it gets one result.
    /// The HIS's W3C `traceparent` travels on; a bill without one starts a trace here.
    async fn submit_in(
        &self,
        tx: &mut Tx,
        bill: &DischargeBill,
        via: Via,
        traceparent: Option<&str>,
        reversal: Option<(&[u8], &str)>,
        kafka_at: Option<(i64, i64)>,
    ) -> Result<Decided, Failure> {
        let content_type = match via {
            Via::Kafka(content_type) => content_type,
            Via::Grpc => ContentType::Protobuf,
        };
        let request_hash = Fingerprinter::new("bill").bytes(&bill.encode_to_vec()).finish();
        let at = self.now();
        // A HIS message read again after a crash was counted the first time.
        let read_again = match (via, kafka_at) {
            (Via::Kafka(_), Some(position)) => requests::find(tx, &bill.msgid)
                .await
                .map_err(retry)?
                .is_some_and(|known| known.counted(position)),
            _ => false,
        };
        let send = match via {
            Via::Kafka(_) if !read_again => Some(kafka_at.unwrap_or((-1, -1))),
            _ => None,
        };
        let received = requests::Received {
            msgid: &bill.msgid,
            mdtrt_id: &bill.mdtrt_id,
            request_hash: &request_hash,
            via: via.code(),
            content_type: content_type.header(),
            send,
            at: &at,
            reversal,
        };
        let known = requests::receive(tx, &received).await.map_err(retry)?;
        if known.conflicts(&request_hash) {
            let reason = "msgid_conflict: the msgid was used before for a different bill";
            info!(msgid = %bill.msgid, "bill refused: {reason}");
            let mut rejection = Rejection::new("MSGID_CONFLICT", reason);
            if let Via::Kafka(content_type) = via {
                let result = convert::rejected_result(bill, reason, &self.name);
                rejection = rejection.with_reply(self.to_his(&result, content_type));
            }
            return Err(rejection.into());
        }
        if let Some(bytes) = known.result {
            let mut first = SettleResult::decode(bytes.as_slice()).map_err(retry)?;
            first.duplicate = true;
            let replies = match via {
                Via::Kafka(content_type) => {
                    // Read again after a crash: the answer given then may not have reached the
                    // HIS; it is given again, not counted again.
                    if !read_again {
                        requests::count_delivery(tx, &bill.msgid).await.map_err(retry)?;
                    }
                    vec![self
                        .to_his(&first, content_type)
                        .with_header(headers::TRACEPARENT, traceparent.unwrap_or_default())]
                }
                Via::Grpc => Vec::new(),
            };
            return Ok(Decided { replies, wake: Some(first), sent: None, first: false });
        }
        match self.hospitals.admit(bill) {
            Ok(level) => Ok(self.send_on(bill, level, traceparent)),
            Err(refusal) => self.refuse_here(tx, bill, via, refusal.code()).await,
        }
    }

    /// A bill the exchange answers itself (its institution does not settle directly): the
    /// refusal is its first result, kept like one from the hub, so that a repeat gets it too.
    async fn refuse_here(
        &self,
        tx: &mut Tx,
        bill: &DischargeBill,
        via: Via,
        reason: &str,
    ) -> Result<Decided, Failure> {
        let result = convert::rejected_result(bill, reason, &self.name);
        info!(msgid = %bill.msgid, fixmedins_code = %bill.fixmedins_code, reason, "bill refused at the exchange");
        requests::answer(tx, &bill.msgid, &result.encode_to_vec(), "", None)
            .await
            .map_err(retry)?;
        let replies = match via {
            Via::Kafka(content_type) => {
                requests::count_delivery(tx, &bill.msgid).await.map_err(retry)?;
                vec![self.to_his(&result, content_type)]
            }
            Via::Grpc => Vec::new(),
        };
        Ok(Decided { replies, wake: Some(result), sent: None, first: true })
    }

    /// The bill as a settlement request to the hub at the level the register gives its
    /// institution, keyed by person so that one person's bills stay in order, carrying the
    /// HIS's trace (or starting one).
    fn send_on(
        &self,
        bill: &DischargeBill,
        level: yidi_domain::ids::HospitalLevel,
        traceparent: Option<&str>,
    ) -> Decided {
        let mut bill = bill.clone();
        bill.hosp_lv = i32::from(level.number());
        let bill = &bill;
        let request = SettleRequest {
            bill: Some(bill.clone()),
            lines: convert::classify(bill, &self.catalogue.catalogue),
            catalogue_version: self.catalogue.catalogue.version.clone(),
            exchange: self.province.to_string(),
            requested_at: self.now(),
        };
        info!(msgid = %bill.msgid, mdtrt_id = %bill.mdtrt_id, psn_no = %mask(&bill.psn_no), insured = %bill.insuplc_admdvs, "bill sent to the hub");
        let to_hub = Outgoing::new(
            topics::HUB_REQUESTS,
            &convert::person_key(&bill.psn_no),
            "yidi.v1.SettleRequest",
            &request,
            ContentType::Protobuf,
        )
        .with_header(headers::MSGID, &bill.msgid)
        .with_header(headers::MDTRT_ID, &bill.mdtrt_id)
        .with_header(headers::SENDER, self.province.as_str())
        .with_header(headers::RECEIVER, &bill.insuplc_admdvs)
        .with_header(
            headers::TRACEPARENT,
            &traceparent.map_or_else(|| convert::traceparent(&bill.msgid), str::to_owned),
        );
        Decided { replies: vec![to_hub], wake: None, sent: Some(bill.msgid.clone()), first: false }
    }

    /// `exchange.<province>.results`: keep the first result, tell whoever waits, and give the
    /// HIS one result per send it made — never more, however often the network redelivers.
    async fn on_result(&self, tx: &mut Tx, incoming: &Incoming) -> Result<Decided, Failure> {
        let result = incoming.decode::<SettleResult>("SettleResult")?;
        let known = requests::find(tx, &result.msgid).await.map_err(retry)?;
        if known.is_none() {
            // Every result answers a bill or a reversal this exchange sent and recorded.
            return Err(Rejection::new(
                "UNKNOWN_MSGID",
                format!("a result for msgid {:?}, which this exchange never sent", result.msgid),
            )
            .into());
        }
        crate::statement::record(tx, &result, incoming.header(headers::CLEARING_PERIOD))
            .await
            .map_err(retry)?;
        let position = (i64::from(incoming.partition), incoming.offset);
        // Read again after a crash: its answer may not have reached the HIS; give it again
        // (the same answer, so the HIS can only see a repeat, never a loss).
        let read_again = known.as_ref().is_some_and(|known| known.answered_by(position));
        let deliver = read_again
            || known
                .as_ref()
                .is_some_and(|known| known.via == "kafka" && known.delivered < known.sends);
        let first_result = known.as_ref().is_some_and(|known| known.result.is_none());
        // The first result is kept; each send by the HIS gets one.
        let setl_id = result.setlinfo.as_ref().map_or("", |info| info.setl_id.as_str());
        if !read_again && known.as_ref().is_some_and(|known| known.result.is_none() || deliver) {
            let delivery = deliver.then_some(position);
            requests::answer(tx, &result.msgid, &result.encode_to_vec(), setl_id, delivery)
                .await
                .map_err(retry)?;
        }
        // The first result's receipt is kept (and read back with the record from then on).
        let receipt = match known.as_ref().and_then(|known| known.receipt.clone()) {
            Some(kept) => Some(kept),
            None => {
                let receipt = receipt_of(incoming);
                if let Some(receipt) = &receipt {
                    requests::keep_receipt(tx, &result.msgid, receipt).await.map_err(retry)?;
                }
                receipt
            }
        };
        if result.status == i32::from(SettleStatus::Reversed) && !setl_id.is_empty() {
            // The bill this reversal undid reads reversed from now on (GetSettlement).
            requests::mark_reversed(tx, setl_id, &self.now()).await.map_err(retry)?;
        }
        let Some(known) = known.filter(|_| deliver) else {
            // A reversal's answer, a gRPC request, or a copy the HIS already has.
            return Ok(Decided {
                replies: Vec::new(),
                wake: Some(result),
                sent: None,
                first: first_result,
            });
        };
        let content_type =
            ContentType::from_header(Some(&known.content_type)).unwrap_or(ContentType::Protobuf);
        let mut first = match known.result {
            Some(bytes) => SettleResult::decode(bytes.as_slice()).map_err(retry)?,
            None => result.clone(),
        };
        // A later send of the same bill gets the first answer, marked as a repeat.
        first.duplicate = known.delivered > i64::from(read_again);
        let mut to_his = self.to_his(&first, content_type).following(incoming);
        // The hospital gets the receipt of its first answer beside it, when it fits a header.
        match receipt {
            Some(receipt) if receipt.len() <= RECEIPT_HEADER_MAX => {
                to_his = to_his.with_header(RECEIPT_HEADER, &receipt);
            }
            Some(_) => {
                info!(msgid = %result.msgid, "receipt too large for a header: kept in request.receipt only")
            }
            None => {}
        }
        Ok(Decided { replies: vec![to_his], wake: Some(result), sent: None, first: first_result })
    }

    /// What must wait for the commit: the gRPC calls waiting for a result are told, and the
    /// figures counted.
    /// What is counted is counted once committed.
    fn after_commit(&self, decided: Decided) -> Vec<Outgoing> {
        if let Some(msgid) = &decided.sent {
            self.settlement_time.start(msgid);
        }
        if let Some(result) = &decided.wake {
            if decided.first {
                self.answers.count(result);
                self.settlement_time.stop(&result.msgid);
            }
            self.wake(result);
        }
        decided.replies
    }

    /// The first result stored for `msgid`, if any.
    pub async fn result_of(&self, msgid: &str) -> Option<SettleResult> {
        let mut tx = self.store.begin().await.ok()?;
        let known = requests::find(&mut tx, msgid).await.ok()??;
        SettleResult::decode(known.result?.as_slice()).ok()
    }

    /// The result of `msgid` for a waiting gRPC call: as this process is told of it, or, when
    /// other processes share the exchange (`shared`), as it appears in the shared database,
    /// where the process that took it in recorded it; `None` once `deadline` has passed (or
    /// the wait was given up). Counted by how it came (`yidi_grpc_answers_total`).
    pub async fn answer(
        &self,
        msgid: &str,
        waiter: oneshot::Receiver<SettleResult>,
        deadline: std::time::Duration,
    ) -> Option<SettleResult> {
        let told = async { waiter.await.ok().map(|result| (result, "told")) };
        let recorded = async {
            if !self.shared {
                return std::future::pending().await;
            }
            loop {
                tokio::time::sleep(SHARED_RESULT_LOOK).await;
                if let Some(result) = self.result_of(msgid).await {
                    return Some((result, "shared_database"));
                }
            }
        };
        let waited = tokio::time::timeout(deadline, async {
            tokio::select! {
                told = told => told,
                recorded = recorded => recorded,
            }
        });
        let (result, how) = waited.await.ok().flatten()?;
        self.grpc_answers.count_named(how, "");
        Some(result)
    }

    /// Registers a gRPC call waiting for `msgid`.
    pub fn wait_for(&self, msgid: &str) -> oneshot::Receiver<SettleResult> {
        let (sender, receiver) = oneshot::channel();
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.entry(msgid.to_owned()).or_default().push(sender);
        }
        receiver
    }

    pub fn forget(&self, msgid: &str) {
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.remove(msgid);
        }
    }

    fn wake(&self, result: &SettleResult) {
        let senders =
            self.waiters.lock().ok().and_then(|mut waiters| waiters.remove(&result.msgid));
        for sender in senders.into_iter().flatten() {
            let _ = sender.send(result.clone());
        }
    }
}

impl LaneHandler for Exchange {
    /// An operator's `yidi dlq park` of a message that keeps failing.
    async fn parked(&self, incoming: &Incoming) -> Option<String> {
        yidi_runtime::parked(&self.store, incoming).await
    }

    /// Bills and results: the lane in one transaction, answered after its commit. Statement
    /// requests read the store on their own, one at a time.
    async fn handle(&self, lane: &[Incoming]) -> LaneAnswer {
        let Some(topic) = lane.first().map(|m| m.topic.clone()) else {
            return Ok(Vec::new());
        };
        let discharge = topic == topics::his_discharge(self.province.as_str());
        if topic == topics::exchange_hospitals(self.province.as_str()) {
            return self.on_decisions(lane).await;
        }
        if topic == topics::FILING {
            return self.on_filings(lane).await;
        }
        if !discharge && topic != topics::exchange_results(self.province.as_str()) {
            let mut answers = Vec::with_capacity(lane.len());
            for incoming in lane {
                let answer =
                    if incoming.header(headers::MSG_TYPE) == Some("yidi.v1.DayStatementRequest") {
                        crate::daily::on_request(self, incoming).await
                    } else {
                        crate::statement::on_request(self, incoming).await
                    };
                answers.push(verdict(answer)?);
            }
            return Ok(answers);
        }
        if self.shared && discharge {
            self.hospitals.refresh(&self.store).await.map_err(retry)?;
        }
        let mut tx = self.store.begin().await.map_err(retry)?;
        let mut decisions = Vec::with_capacity(lane.len());
        for incoming in lane {
            let decided = if discharge {
                self.on_discharge(&mut tx, incoming).await
            } else {
                self.on_result(&mut tx, incoming).await
            };
            decisions.push(verdict(decided)?);
        }
        tx.commit().await.map_err(retry)?;
        Ok(decisions
            .into_iter()
            .map(|decided| decided.map(|decided| self.after_commit(decided)))
            .collect())
    }
}

impl Exchange {
    /// Agencies' filing records: those valid in this province kept, the lane in one
    /// transaction. Nothing is answered, and a record that does not read is skipped: the hub,
    /// which owns the topic, dead-letters it.
    async fn on_filings(&self, lane: &[Incoming]) -> LaneAnswer {
        let mut tx = self.store.begin().await.map_err(retry)?;
        let mut answers = Vec::with_capacity(lane.len());
        for incoming in lane {
            if let Err(refused) =
                verdict(crate::filings::record(&mut tx, self.province, incoming).await)?
            {
                warn!(offset = incoming.offset, code = refused.code, reason = %refused.reason,
                      "filing record skipped (the hub dead-letters it)");
            }
            answers.push(Ok(Vec::new()));
        }
        tx.commit().await.map_err(retry)?;
        Ok(answers)
    }

    /// The hub's decisions on service agreements: recorded in one transaction, then applied
    /// to the register in memory. Nothing is answered.
    async fn on_decisions(&self, lane: &[Incoming]) -> LaneAnswer {
        let mut tx = self.store.begin().await.map_err(retry)?;
        let mut answers = Vec::with_capacity(lane.len());
        let mut applied = Vec::new();
        for incoming in lane {
            let decided = verdict(self.hospitals.record(&mut tx, incoming).await)?;
            answers.push(decided.map(|decision| {
                applied.extend(decision);
                Vec::new()
            }));
        }
        tx.commit().await.map_err(retry)?;
        applied.into_iter().for_each(|decision| self.hospitals.apply(decision));
        Ok(answers)
    }
}

/// A reversal for the hub, keyed by the person so it follows the settlement it undoes.
pub fn reversal_message(reversal: &Reversal) -> Outgoing {
    Outgoing::new(
        topics::HUB_REQUESTS,
        &convert::person_key(&reversal.psn_no),
        "yidi.v1.Reversal",
        reversal,
        ContentType::Protobuf,
    )
    .with_header(headers::MSGID, &reversal.msgid)
    .with_header(headers::MDTRT_ID, &reversal.mdtrt_id)
    .with_header(headers::SENDER, &reversal.mdtrtarea_admvs)
    .with_header(headers::RECEIVER, &reversal.insuplc_admdvs)
}
