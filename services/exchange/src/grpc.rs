//! The `Exchange` gRPC service a HIS calls: 2303 `PreSettle`, 2304 `Settle` with a deadline,
//! 2305/2601 `Reverse`, and `GetSettlement`. Every call comes over TLS with a certificate of
//! the network; only the province's own hospitals (its HIS identity) and its exchange are
//! answered: another province's caller gets `PERMISSION_DENIED` (issue #11 §4).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tonic::{Request, Response, Status};
use tracing::warn;
use yidi_bus::Failure;
use yidi_domain::ids::RegionCode;
use yidi_runtime::health::{caller, Caller};
use yidi_store::StoreError;
use yidi_wire::convert::{self, TIME_FORMAT};
use yidi_wire::v1::exchange_server::Exchange as ExchangeService;
use yidi_wire::v1::{
    DischargeBill, FilingCheck, FilingCheckRequest, GetSettlementRequest, Reversal, SettleResult,
    SettleStatus,
};

use crate::intake::Exchange;
use crate::requests;

/// The gRPC face of an exchange.
pub struct ExchangeApi {
    pub exchange: Arc<Exchange>,
    /// How long `Settle` waits when the call sets no deadline.
    pub default_timeout: Duration,
    sequence: AtomicU32,
}

impl ExchangeApi {
    pub fn new(exchange: Arc<Exchange>, default_timeout: Duration) -> ExchangeApi {
        ExchangeApi { exchange, default_timeout, sequence: AtomicU32::new(0) }
    }

    /// How long to wait for the answer: the call's own deadline (`grpc-timeout`) or the
    /// default, less a margin (a quarter, at most a second) so that the caller receives the
    /// clear `TIMED_OUT` answer — and the reversal is on its way — before its own deadline
    /// cuts the call. Never more than a minute.
    fn deadline<T>(&self, request: &Request<T>) -> Duration {
        let header = request.metadata().get("grpc-timeout").and_then(|value| value.to_str().ok());
        let deadline = header.and_then(parse_grpc_timeout).unwrap_or(self.default_timeout);
        let margin = (deadline / 4).min(Duration::from_secs(1));
        deadline.saturating_sub(margin).min(Duration::from_secs(60))
    }

    /// Submits the bill and waits for its result until `deadline`. For `Settle`
    /// (`reverse_on_timeout`) the bill is recorded with its 2601 reversal: if no result comes
    /// in time the reversal is queued — in the outbox, durably — before the caller is told
    /// "reversed"; a call the caller cancels, or one interrupted by a stop, is reversed by the
    /// exchange's sweep once the deadline has passed (`Exchange::sweep_unanswered`).
    /// The call of `Settle`/`PreSettle` once the caller is admitted (tests call it in-process).
    pub async fn run(
        &self,
        bill: DischargeBill,
        deadline: Duration,
        traceparent: Option<String>,
        reverse_on_timeout: bool,
    ) -> Result<SettleResult, Status> {
        convert::validate_bill(&bill, self.exchange.province)
            .map_err(|error| Status::invalid_argument(error.to_string()))?;
        let exchange = &self.exchange;
        let reversal = reverse_on_timeout.then(|| {
            let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
            let msgid = convert::msgid(&bill.fixmedins_code, exchange.clock.now(), sequence);
            convert::reversal_of(&bill, msgid, "timeout").encode_to_vec()
        });
        let reverse_after = (exchange.clock.now()
            + chrono::Duration::from_std(deadline).unwrap_or_default())
        .format(TIME_FORMAT)
        .to_string();
        let waiter = exchange.wait_for(&bill.msgid);
        let submitted = exchange
            .submit(
                &bill,
                traceparent.as_deref(),
                reversal.as_deref().map(|r| (r, reverse_after.as_str())),
            )
            .await;
        match submitted {
            Ok(()) => {}
            Err(Failure::Rejected(rejection)) => {
                exchange.forget(&bill.msgid);
                return Err(Status::already_exists(rejection.reason));
            }
            Err(Failure::Transient(error)) => {
                exchange.forget(&bill.msgid);
                return Err(Status::unavailable(error.0));
            }
        }
        // The wait and what follows it run on their own: a caller that gives up drops this
        // call, not the reversal that its silence calls for.
        let exchange = Arc::clone(exchange);
        let answer = tokio::spawn(async move {
            if let Some(result) = exchange.answer(&bill.msgid, waiter, deadline).await {
                return Ok(result);
            }
            exchange.forget(&bill.msgid);
            let reversed = if reverse_on_timeout {
                match exchange.reverse_unanswered(&bill.msgid).await {
                    Ok(true) => true,
                    Ok(false) => {
                        // The result came as the wait ended: the caller gets it after all.
                        if let Some(result) = exchange.result_of(&bill.msgid).await {
                            return Ok(result);
                        }
                        true
                    }
                    Err(error) => {
                        warn!(%error, msgid = %bill.msgid, "reversal not queued yet; the sweep queues it");
                        return Err(Status::unavailable(
                            "no answer in time, and the reversal could not be queued yet: it will be; settle again later or ask GetSettlement",
                        ));
                    }
                }
            } else {
                false
            };
            Ok(SettleResult {
                status: i32::from(SettleStatus::TimedOut),
                reason: if reversed {
                    "timeout: no answer in time; the settlement was reversed (2601). Settle again, or the patient pays in full and claims at the insured place".into()
                } else {
                    "timeout: no answer in time; nothing was committed".into()
                },
                answered_by: exchange.name.clone(),
                ..convert::rejected_result(&bill, "timeout", &exchange.name)
            })
        });
        answer.await.map_err(|error| Status::internal(error.to_string()))?
    }
}

/// Whether `caller` speaks for hospitals of `treatment` (the HIS or exchange of its province).
fn admit(caller: &Caller, treatment: RegionCode) -> Result<(), Status> {
    if caller.role.treats_in(treatment) {
        return Ok(());
    }
    Err(Status::permission_denied(format!(
        "{} ({}) does not speak for hospitals of {treatment}",
        caller.subject, caller.role
    )))
}

impl ExchangeApi {
    /// 2303 (`pre_settle`: nothing committed, nothing to reverse on timeout) or 2304.
    async fn call(
        &self,
        request: Request<DischargeBill>,
        pre_settle: bool,
    ) -> Result<Response<SettleResult>, Status> {
        let caller = caller(&request)?;
        admit(&caller, self.exchange.province)?;
        let deadline = self.deadline(&request);
        let traceparent = traceparent_of(&request);
        let mut bill = request.into_inner();
        bill.pre_settle = pre_settle;
        self.run(bill, deadline, traceparent, !pre_settle).await.map(Response::new)
    }
}

/// The trace the bill joins: this call's span when tracing is on (itself the child of the
/// caller's `traceparent`), else the caller's W3C `traceparent` metadata, if any.
fn traceparent_of<T>(request: &Request<T>) -> Option<String> {
    let current = yidi_runtime::telemetry::current_traceparent();
    if !current.is_empty() {
        return Some(current);
    }
    request.metadata().get("traceparent").and_then(|value| value.to_str().ok()).map(str::to_owned)
}

/// Parses gRPC's `grpc-timeout` header: an integer and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(text: &str) -> Option<Duration> {
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    let value: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(value.saturating_mul(3600)),
        "M" => Duration::from_secs(value.saturating_mul(60)),
        "S" => Duration::from_secs(value),
        "m" => Duration::from_millis(value),
        "u" => Duration::from_micros(value),
        "n" => Duration::from_nanos(value),
        _ => return None,
    })
}

fn internal(error: StoreError) -> Status {
    Status::internal(error.to_string())
}

#[tonic::async_trait]
impl ExchangeService for ExchangeApi {
    async fn pre_settle(
        &self,
        request: Request<DischargeBill>,
    ) -> Result<Response<SettleResult>, Status> {
        self.call(request, true).await
    }

    async fn settle(
        &self,
        request: Request<DischargeBill>,
    ) -> Result<Response<SettleResult>, Status> {
        self.call(request, false).await
    }

    async fn reverse(&self, request: Request<Reversal>) -> Result<Response<SettleResult>, Status> {
        let caller = caller(&request)?;
        admit(&caller, self.exchange.province)?;
        let deadline = self.deadline(&request);
        let reversal = request.into_inner();
        convert::check_msgid(&reversal.msgid, "msgid")
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        if reversal.setl_id.is_empty() && reversal.omsgid.is_empty() {
            return Err(Status::invalid_argument("setl_id or omsgid: one is required"));
        }
        let region = |field: &str, code: &str| {
            code.parse::<RegionCode>()
                .map_err(|e| Status::invalid_argument(format!("{field}: {e}")))
        };
        region("insuplc_admdvs", &reversal.insuplc_admdvs)?;
        // A hospital undoes only its own province's settlements.
        admit(&caller, region("mdtrtarea_admvs", &reversal.mdtrtarea_admvs)?)?;
        let waiter = self.exchange.wait_for(&reversal.msgid);
        if let Err(error) = self.exchange.queue_reversal(&reversal).await {
            self.exchange.forget(&reversal.msgid);
            return Err(Status::unavailable(error.0));
        }
        match self.exchange.answer(&reversal.msgid, waiter, deadline).await {
            Some(result) => Ok(Response::new(result)),
            None => {
                self.exchange.forget(&reversal.msgid);
                Err(Status::deadline_exceeded(
                    "no answer in time; the reversal stays queued and takes effect once",
                ))
            }
        }
    }

    /// Notice III(5): before admission, the person's filing for care here and whether the
    /// stay will be settled directly, from the replica of the national filing database.
    async fn check_filing(
        &self,
        request: Request<FilingCheckRequest>,
    ) -> Result<Response<FilingCheck>, Status> {
        admit(&caller(&request)?, self.exchange.province)?;
        let ask = request.into_inner();
        let exchange = &self.exchange;
        let region_of = |field: &str, code: &str| {
            code.parse::<RegionCode>()
                .map_err(|e| Status::invalid_argument(format!("{field}: {e}")))
        };
        let insured = region_of("insuplc_admdvs", &ask.insuplc_admdvs)?;
        let treatment = region_of("mdtrtarea_admvs", &ask.mdtrtarea_admvs)?;
        if !treatment.same_province(exchange.province) {
            return Err(Status::invalid_argument("mdtrtarea_admvs: not this exchange's province"));
        }
        if ask.psn_no.trim().is_empty() {
            return Err(Status::invalid_argument("psn_no: required"));
        }
        let admitted = chrono::NaiveDateTime::parse_from_str(&ask.begntime, TIME_FORMAT)
            .map_err(|_| Status::invalid_argument("begntime: yyyy-MM-dd HH:mm:ss"))?;
        let region =
            exchange.insured.iter().find(|r| r.region.covers(insured)).ok_or_else(|| {
                Status::not_found("insuplc_admdvs: no policy known for that region")
            })?;
        let mut tx = exchange.store.begin().await.map_err(internal)?;
        let when = (admitted, exchange.clock.now(), ask.emergency);
        crate::filings::check(&mut tx, region, (&ask.psn_no, insured), treatment, when)
            .await
            .map(Response::new)
            .map_err(internal)
    }

    async fn get_settlement(
        &self,
        request: Request<GetSettlementRequest>,
    ) -> Result<Response<SettleResult>, Status> {
        // The exchange keeps its own province's bills only: a caller of the province may ask
        // about any of them, no one else about any.
        admit(&caller(&request)?, self.exchange.province)?;
        let query = request.into_inner();
        let mut tx = self.exchange.store.begin().await.map_err(internal)?;
        let known = if query.msgid.is_empty() {
            requests::by_episode(&mut tx, &query.mdtrt_id).await.map_err(internal)?
        } else {
            requests::find(&mut tx, &query.msgid).await.map_err(internal)?
        };
        let known = known.filter(|known| known.result.is_some());
        let Some(known) = known else {
            return Err(Status::not_found("no result for that msgid or mdtrt_id"));
        };
        let bytes = known.result.unwrap_or_default();
        let mut result =
            SettleResult::decode(bytes.as_slice()).map_err(|e| Status::internal(e.to_string()))?;
        if let Some(at) = known.reversed_at {
            // What the bill is now, not only what it first was.
            result.status = i32::from(SettleStatus::Reversed);
            result.reason = format!("reversed at {at}");
        }
        Ok(Response::new(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_are_read_in_their_units() {
        assert_eq!(parse_grpc_timeout("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("x"), None);
        assert_eq!(parse_grpc_timeout(""), None);
    }
}
