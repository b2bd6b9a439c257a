//! Person-level halts of direct settlement (seed 004 art. 53), as the agency's own systems
//! decide them over gRPC (`Agency.Halt`, `Agency.Lift`): each a recorded decision with its
//! article and finding, idempotent by its id; a halt ends on its last day or when a later
//! decision lifts it. While a halt covers an admission, the person's bills are refused
//! `direct_settlement_halted`: their benefits continue, by manual claim at home. Every
//! decision is queued for the hub (`hub.sanctions`) in its own transaction, so that the
//! ministry's dashboard lists every sanction (issue #13 §4).

use chrono::NaiveDate;
use tonic::Status;
use yidi_bus::{topics, Outgoing};
use yidi_domain::ids::RegionCode;
use yidi_domain::sanction::Halt;
use yidi_runtime::outbox::Outbox;
use yidi_store::{Store, StoreError};
use yidi_wire::codec::ContentType;
use yidi_wire::convert;
use yidi_wire::v1::{HaltRecord, HaltRequest, LiftRequest};

use crate::store::{self, HaltRow};

/// The longest article, reason or decision id recorded.
pub const TEXT_MAX: usize = 500;

fn internal(error: StoreError) -> Status {
    Status::internal(error.to_string())
}

fn text(field: &str, value: &str) -> Result<String, Status> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > TEXT_MAX {
        return Err(Status::invalid_argument(format!(
            "{field}: must not be empty, and at most {TEXT_MAX} characters"
        )));
    }
    Ok(value.to_owned())
}

fn date(field: &str, value: &str) -> Result<NaiveDate, Status> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| Status::invalid_argument(format!("{field}: must be a date yyyy-MM-dd")))
}

pub fn record(row: &HaltRow, region: RegionCode) -> HaltRecord {
    HaltRecord {
        insuplc_admdvs: region.to_string(),
        decision_id: row.decision_id.clone(),
        psn_no: row.psn_no.clone(),
        begndate: row.begins_on.to_string(),
        enddate: row.ends_on.map(|day| day.to_string()).unwrap_or_default(),
        article: row.article.clone(),
        reason: row.reason.clone(),
        decided_at: row.decided_at.clone(),
        lifted_by: row.lifted_by.clone().unwrap_or_default(),
        lifted_at: row.lifted_at.clone().unwrap_or_default(),
        lift_reason: row.lift_reason.clone().unwrap_or_default(),
    }
}

/// The decision as the hub takes it, keyed by person.
pub fn message(record: &HaltRecord) -> Outgoing {
    Outgoing::new(
        topics::HUB_SANCTIONS,
        &convert::person_key(&record.psn_no),
        "yidi.v1.HaltRecord",
        record,
        ContentType::Protobuf,
    )
    .with_header(yidi_wire::headers::SENDER, &record.insuplc_admdvs)
}

/// Halts direct settlement for a person of `region`, decided at `at`. The same decision
/// again answers what was recorded; its id with other terms is `ALREADY_EXISTS`.
pub async fn halt(
    store: &Store,
    region: RegionCode,
    request: &HaltRequest,
    at: &str,
) -> Result<HaltRecord, Status> {
    let decision_id = text("decision_id", &request.decision_id)?;
    let begins_on = date("begndate", &request.begndate)?;
    let ends_on = match request.enddate.as_str() {
        "" => None,
        text => Some(date("enddate", text)?),
    };
    Halt::new(&decision_id, begins_on, ends_on)
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    let row = HaltRow {
        decision_id,
        psn_no: request.psn_no.clone(),
        begins_on,
        ends_on,
        article: text("article", &request.article)?,
        reason: text("reason", &request.reason)?,
        decided_at: at.to_owned(),
        lifted_by: None,
        lifted_at: None,
        lift_reason: None,
    };
    let mut tx = store.begin().await.map_err(internal)?;
    let person = store::load_person(&mut tx, &row.psn_no).await.map_err(internal)?;
    if !person.is_some_and(|person| region.covers(person.region)) {
        return Err(Status::not_found("psn_no: not enrolled in this region"));
    }
    if let Some(found) = store::find_halt(&mut tx, &row.decision_id).await.map_err(internal)? {
        return if found.same_terms(&row) {
            Ok(record(&found, region))
        } else {
            Err(Status::already_exists(format!(
                "decision {} was made with other terms",
                found.decision_id
            )))
        };
    }
    store::insert_halt(&mut tx, &row).await.map_err(internal)?;
    let halted = record(&row, region);
    Outbox::put(&mut tx, &message(&halted), at).await.map_err(internal)?;
    tx.commit().await.map_err(|e| internal(e.into()))?;
    tracing::info!(decision_id = %row.decision_id, article = %row.article, "direct settlement halted for a person");
    Ok(halted)
}

/// Lifts a halt of a person of `region` by a later decision, once.
pub async fn lift(
    store: &Store,
    region: RegionCode,
    request: &LiftRequest,
    at: &str,
) -> Result<HaltRecord, Status> {
    let decision_id = text("decision_id", &request.decision_id)?;
    let reason = text("reason", &request.reason)?;
    let mut tx = store.begin().await.map_err(internal)?;
    let found = store::find_halt(&mut tx, &request.halt_decision_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| Status::not_found("halt_decision_id: no such halt"))?;
    let person = store::load_person(&mut tx, &found.psn_no).await.map_err(internal)?;
    if !person.is_some_and(|person| region.covers(person.region)) {
        return Err(Status::not_found("halt_decision_id: no such halt in this region"));
    }
    match found.lifted_by.as_deref() {
        Some(by) if by == decision_id => return Ok(record(&found, region)),
        Some(by) => {
            return Err(Status::failed_precondition(format!("the halt was lifted by {by} already")))
        }
        None => {}
    }
    store::lift_halt(&mut tx, &found.decision_id, &decision_id, at, &reason)
        .await
        .map_err(internal)?;
    let lifted = HaltRow {
        lifted_by: Some(decision_id),
        lifted_at: Some(at.to_owned()),
        lift_reason: Some(reason),
        ..found
    };
    let lifted = record(&lifted, region);
    Outbox::put(&mut tx, &message(&lifted), at).await.map_err(internal)?;
    tx.commit().await.map_err(|e| internal(e.into()))?;
    Ok(lifted)
}
