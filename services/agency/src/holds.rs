//! Admission holds (2401) as the insured agency's own desk sees and releases them
//! (`Agency.QueryHolds`, `Agency.ReleaseHold`). A hold is made on a treatment-province
//! hospital's word; the admitting province can cancel it (2404), and so can the person's own
//! agency — on a complaint, or when its desk finds the person was never in that hospital — so
//! that no hospital can keep a person's fund from paying a real stay elsewhere. A release is
//! recorded with when and why; releasing again answers what was recorded; a hold its
//! discharge consumed is spent and cannot be released.

use chrono::NaiveDate;
use tonic::Status;
use yidi_domain::ids::RegionCode;
use yidi_store::{Store, StoreError};
use yidi_wire::v1::{HoldList, HoldQuery, HoldRecord, ReleaseHoldRequest};

use crate::halts::TEXT_MAX;
use crate::store::{self, HoldRow};

fn internal(error: StoreError) -> Status {
    Status::internal(error.to_string())
}

/// The hold as the desk reads it on `today`: an open hold past its last day has `lapsed`.
pub fn record(row: &HoldRow, today: NaiveDate) -> HoldRecord {
    let lapsed = row.status == "open"
        && NaiveDate::parse_from_str(&row.until, "%Y-%m-%d").is_ok_and(|until| until < today);
    HoldRecord {
        mdtrt_id: row.mdtrt_id.clone(),
        msgid: row.msgid.clone(),
        psn_no: row.psn_no.clone(),
        hold_amt: row.held.clone(),
        acct_hold_amt: row.acct_held.clone(),
        admitted_on: row.admitted_on.clone(),
        hold_until: row.until.clone(),
        mdtrtarea_admvs: row.treatment.clone(),
        status: if lapsed { "lapsed".to_owned() } else { row.status.clone() },
        released_at: row.released_at.clone().unwrap_or_default(),
        release_reason: row.release_reason.clone().unwrap_or_default(),
    }
}

/// The person must be one of `region`'s: another region's holds are not found here.
async fn own_person(
    tx: &mut yidi_store::Tx,
    region: RegionCode,
    psn_no: &str,
) -> Result<(), Status> {
    let person = store::load_person(tx, psn_no).await.map_err(internal)?;
    if person.is_some_and(|person| region.covers(person.region)) {
        Ok(())
    } else {
        Err(Status::not_found("psn_no: not enrolled in this region"))
    }
}

/// A person's holds, newest admission first.
pub async fn query(
    store: &Store,
    region: RegionCode,
    request: &HoldQuery,
    today: NaiveDate,
) -> Result<HoldList, Status> {
    let mut tx = store.begin().await.map_err(internal)?;
    own_person(&mut tx, region, &request.psn_no).await?;
    let rows = store::holds_of(&mut tx, &request.psn_no).await.map_err(internal)?;
    Ok(HoldList { holds: rows.iter().map(|row| record(row, today)).collect() })
}

/// Releases the open hold of one stay of a person of `region`, at `at`, for `reason`.
pub async fn release(
    store: &Store,
    region: RegionCode,
    request: &ReleaseHoldRequest,
    at: &str,
    today: NaiveDate,
) -> Result<HoldRecord, Status> {
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > TEXT_MAX {
        return Err(Status::invalid_argument(format!(
            "reason: must not be empty, and at most {TEXT_MAX} characters"
        )));
    }
    let mut tx = store.begin().await.map_err(internal)?;
    own_person(&mut tx, region, &request.psn_no).await?;
    let found = store::hold_of(&mut tx, &request.psn_no, &request.mdtrt_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| Status::not_found("mdtrt_id: the person has no hold for this stay"))?;
    match found.status.as_str() {
        "open" => {}
        "consumed" => {
            return Err(Status::failed_precondition(
                "the stay's discharge settlement consumed the hold: reverse the settlement (2601) instead",
            ))
        }
        // Released before, by the desk or by the admitting province: done already.
        _ => return Ok(record(&found, today)),
    }
    store::release_hold(&mut tx, &request.psn_no, &request.mdtrt_id, at, reason)
        .await
        .map_err(internal)?;
    let released = store::hold_of(&mut tx, &request.psn_no, &request.mdtrt_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| Status::internal("the hold vanished while released"))?;
    tx.commit().await.map_err(|e| internal(e.into()))?;
    tracing::info!(mdtrt_id = %request.mdtrt_id, reason, "admission hold released by the insured agency's desk");
    Ok(record(&released, today))
}
