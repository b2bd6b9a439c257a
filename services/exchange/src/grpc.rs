//! The `Exchange` gRPC service a HIS calls: 2303 `PreSettle`, 2304 `Settle` with a deadline,
//! 2305/2601 `Reverse`, and `GetSettlement`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tonic::{Request, Response, Status};
use tracing::warn;
use yidi_bus::{topics, Outgoing};
use yidi_store::StoreError;
use yidi_wire::codec::ContentType;
use yidi_wire::convert;
use yidi_wire::headers;
use yidi_wire::v1::exchange_server::Exchange as ExchangeService;
use yidi_wire::v1::{DischargeBill, GetSettlementRequest, Reversal, SettleResult, SettleStatus};

use crate::intake::{Exchange, Via};
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

    async fn run(
        &self,
        bill: DischargeBill,
        deadline: Duration,
        traceparent: Option<String>,
        reverse_on_timeout: bool,
    ) -> Result<SettleResult, Status> {
        convert::validate_bill(&bill, self.exchange.province)
            .map_err(|error| Status::invalid_argument(error.to_string()))?;
        let waiter = self.exchange.wait_for(&bill.msgid);
        let outgoing = self
            .exchange
            .submit(&bill, Via::Grpc, traceparent.as_deref())
            .await
            .map_err(|error| Status::unavailable(error.0))?;
        self.exchange
            .bus
            .send_all(&outgoing)
            .await
            .map_err(|error| Status::unavailable(error.to_string()))?;
        match tokio::time::timeout(deadline, waiter).await {
            Ok(Ok(result)) => Ok(result),
            _ => {
                self.exchange.forget(&bill.msgid);
                if reverse_on_timeout {
                    self.reverse_after_timeout(&bill).await;
                }
                Ok(SettleResult {
                    status: SettleStatus::TimedOut as i32,
                    reason: if reverse_on_timeout {
                        "timeout: no answer in time; the settlement was reversed (2601). Settle again, or the patient pays in full and claims at the insured place".into()
                    } else {
                        "timeout: no answer in time; nothing was committed".into()
                    },
                    answered_by: self.exchange.name.clone(),
                    ..convert::rejected_result(&bill, "", &self.exchange.name)
                })
            }
        }
    }

    /// 2601 on the original msgid: whatever happened, or will, is undone.
    async fn reverse_after_timeout(&self, bill: &DischargeBill) {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let msgid = convert::msgid(&bill.fixmedins_code, self.exchange.clock.now(), sequence);
        let reversal = convert::reversal_of(bill, msgid, "timeout");
        let message = Outgoing::new(
            topics::HUB_REQUESTS,
            &convert::person_key(&bill.psn_no),
            "yidi.v1.Reversal",
            &reversal,
            ContentType::Protobuf,
        )
        .with_header(headers::MSGID, &reversal.msgid)
        .with_header(headers::MDTRT_ID, &reversal.mdtrt_id);
        if let Err(error) = self.exchange.bus.send_all(&[message]).await {
            warn!(%error, msgid = %bill.msgid, "timeout reversal could not be sent; the agency's tombstone will not exist");
        }
    }
}

impl ExchangeApi {
    /// 2303 (`pre_settle`: nothing committed, nothing to reverse on timeout) or 2304.
    async fn call(
        &self,
        request: Request<DischargeBill>,
        pre_settle: bool,
    ) -> Result<Response<SettleResult>, Status> {
        let deadline = self.deadline(&request);
        let traceparent = traceparent_of(&request);
        let mut bill = request.into_inner();
        bill.pre_settle = pre_settle;
        self.run(bill, deadline, traceparent, !pre_settle).await.map(Response::new)
    }
}

/// The caller's W3C `traceparent` metadata, if any.
fn traceparent_of<T>(request: &Request<T>) -> Option<String> {
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
        let deadline = self.deadline(&request);
        let reversal = request.into_inner();
        convert::check_msgid(&reversal.msgid, "msgid")
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        if reversal.setl_id.is_empty() && reversal.omsgid.is_empty() {
            return Err(Status::invalid_argument("setl_id or omsgid: one is required"));
        }
        let waiter = self.exchange.wait_for(&reversal.msgid);
        let message = Outgoing::new(
            topics::HUB_REQUESTS,
            &convert::person_key(&reversal.psn_no),
            "yidi.v1.Reversal",
            &reversal,
            ContentType::Protobuf,
        )
        .with_header(headers::MSGID, &reversal.msgid)
        .with_header(headers::MDTRT_ID, &reversal.mdtrt_id);
        self.exchange
            .bus
            .send_all(&[message])
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        match tokio::time::timeout(deadline, waiter).await {
            Ok(Ok(result)) => Ok(Response::new(result)),
            _ => {
                self.exchange.forget(&reversal.msgid);
                Err(Status::deadline_exceeded(
                    "no answer in time; the reversal stays queued and takes effect once",
                ))
            }
        }
    }

    async fn get_settlement(
        &self,
        request: Request<GetSettlementRequest>,
    ) -> Result<Response<SettleResult>, Status> {
        let query = request.into_inner();
        let mut tx = self.exchange.store.begin().await.map_err(internal)?;
        let bytes = if query.msgid.is_empty() {
            requests::by_episode(&mut tx, &query.mdtrt_id).await.map_err(internal)?
        } else {
            requests::find(&mut tx, &query.msgid)
                .await
                .map_err(internal)?
                .and_then(|known| known.result)
        };
        let bytes =
            bytes.ok_or_else(|| Status::not_found("no result for that msgid or mdtrt_id"))?;
        SettleResult::decode(bytes.as_slice())
            .map(Response::new)
            .map_err(|e| Status::internal(e.to_string()))
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
