//! Bills in, results out.

use std::collections::HashMap;
use std::sync::Mutex;

use prost::Message;
use tokio::sync::oneshot;
use tracing::info;
use yidi_bus::{topics, Bus, HandlerError, Incoming, Outgoing};
use yidi_domain::ids::RegionCode;
use yidi_formats::catalogue_file::TreatmentCatalogue;
use yidi_runtime::mask;
use yidi_store::Store;
use yidi_wire::codec::ContentType;
use yidi_wire::convert::{self, TIME_FORMAT};
use yidi_wire::headers;
use yidi_wire::v1::{DischargeBill, SettleRequest, SettleResult};

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
}

fn retry(error: impl ToString) -> HandlerError {
    HandlerError(error.to_string())
}

fn now() -> String {
    chrono::Local::now().format(TIME_FORMAT).to_string()
}

impl Exchange {
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
    pub async fn on_discharge(&self, incoming: Incoming) -> Result<Vec<Outgoing>, HandlerError> {
        let content_type = match incoming.content_type() {
            Ok(content_type) => content_type,
            Err(error) => {
                return Ok(vec![self.bus.dead_letter(&incoming, error.code(), &error.to_string())])
            }
        };
        let bill = match incoming.decode::<DischargeBill>("DischargeBill") {
            Ok(bill) => bill,
            Err(error) => {
                return Ok(vec![self.bus.dead_letter(&incoming, error.code(), &error.to_string())])
            }
        };
        if let Err(error) = convert::validate_bill(&bill, self.province) {
            let reason = error.to_string();
            info!(msgid = %bill.msgid, %reason, "bill refused");
            let mut replies = vec![self.bus.dead_letter(&incoming, "INVALID_BILL", &reason)];
            if !bill.msgid.is_empty() && !bill.mdtrt_id.is_empty() {
                let result = convert::rejected_result(
                    &bill,
                    &format!("invalid_request: {reason}"),
                    &self.name,
                );
                replies.push(self.to_his(&result, content_type));
            }
            return Ok(replies);
        }
        self.submit(&bill, Via::Kafka(content_type), incoming.header(headers::TRACEPARENT)).await
    }

    /// Records a valid bill and sends it to the hub; a bill already answered gets its first
    /// result again (`duplicate`). Each HIS send is counted, so that it gets one result.
    /// The HIS's W3C `traceparent` travels on; a bill without one starts a trace here.
    pub async fn submit(
        &self,
        bill: &DischargeBill,
        via: Via,
        traceparent: Option<&str>,
    ) -> Result<Vec<Outgoing>, HandlerError> {
        let content_type = match via {
            Via::Kafka(content_type) => content_type,
            Via::Grpc => ContentType::Protobuf,
        };
        let mut tx = self.store.begin().await.map_err(retry)?;
        requests::insert(
            &mut tx,
            &bill.msgid,
            &bill.mdtrt_id,
            via.code(),
            content_type.header(),
            &now(),
        )
        .await
        .map_err(retry)?;
        if matches!(via, Via::Kafka(_)) {
            requests::count_send(&mut tx, &bill.msgid).await.map_err(retry)?;
        }
        let known = requests::find(&mut tx, &bill.msgid).await.map_err(retry)?;
        if let Some(bytes) = known.and_then(|known| known.result) {
            let mut first = SettleResult::decode(bytes.as_slice()).map_err(retry)?;
            first.duplicate = true;
            let replies = match via {
                Via::Kafka(content_type) => {
                    requests::count_delivery(&mut tx, &bill.msgid).await.map_err(retry)?;
                    vec![self
                        .to_his(&first, content_type)
                        .with_header(headers::TRACEPARENT, traceparent.unwrap_or_default())]
                }
                Via::Grpc => Vec::new(),
            };
            tx.commit().await.map_err(retry)?;
            self.wake(&first);
            return Ok(replies);
        }
        tx.commit().await.map_err(retry)?;
        let request = SettleRequest {
            bill: Some(bill.clone()),
            lines: convert::classify(bill, &self.catalogue.catalogue),
            catalogue_version: self.catalogue.catalogue.version.clone(),
            exchange: self.province.to_string(),
            requested_at: now(),
        };
        info!(msgid = %bill.msgid, mdtrt_id = %bill.mdtrt_id, psn_no = %mask(&bill.psn_no), insured = %bill.insuplc_admdvs, "bill sent to the hub");
        Ok(vec![Outgoing::new(
            topics::HUB_REQUESTS,
            &bill.mdtrt_id,
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
        )])
    }

    /// `exchange.<province>.results`: keep the first result, tell whoever waits, and give the
    /// HIS one result per send it made — never more, however often the network redelivers.
    pub async fn on_result(&self, incoming: Incoming) -> Result<Vec<Outgoing>, HandlerError> {
        let result = match incoming.decode::<SettleResult>("SettleResult") {
            Ok(result) => result,
            Err(error) => {
                return Ok(vec![self.bus.dead_letter(&incoming, error.code(), &error.to_string())])
            }
        };
        let mut tx = self.store.begin().await.map_err(retry)?;
        requests::set_result(&mut tx, &result.msgid, &result.encode_to_vec())
            .await
            .map_err(retry)?;
        crate::statement::record(&mut tx, &result, incoming.header(headers::CLEARING_PERIOD))
            .await
            .map_err(retry)?;
        let known = requests::find(&mut tx, &result.msgid).await.map_err(retry)?;
        let deliver = known
            .as_ref()
            .is_some_and(|known| known.via == "kafka" && known.delivered < known.sends);
        if deliver {
            requests::count_delivery(&mut tx, &result.msgid).await.map_err(retry)?;
        }
        tx.commit().await.map_err(retry)?;
        self.wake(&result);
        let Some(known) = known.filter(|_| deliver) else {
            // A reversal's answer, a gRPC request, or a copy the HIS already has.
            return Ok(Vec::new());
        };
        let content_type =
            ContentType::from_header(Some(&known.content_type)).unwrap_or(ContentType::Protobuf);
        let mut first = match known.result {
            Some(bytes) => SettleResult::decode(bytes.as_slice()).map_err(retry)?,
            None => result,
        };
        // A later send of the same bill gets the first answer, marked as a repeat.
        first.duplicate = known.delivered > 0;
        Ok(vec![self.to_his(&first, content_type).following(&incoming)])
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
