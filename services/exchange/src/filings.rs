//! The exchange's replica of the national filing database (issue #13 §1, notice III(5)): the
//! filing records agencies publish on `filing`, kept when they are valid in this province, so
//! that a HIS can check before admission (`Exchange.CheckFiling`) whether a person is filed
//! for care here, under which class, and whether the stay will be settled directly. The
//! person is kept by their key (`convert::person_key`), never by `psn_no`.

use chrono::NaiveDateTime;
use sqlx::Row;
use yidi_bus::{Failure, Incoming, Rejection, Transient};
use yidi_domain::filing::{self, Episode, Filing, FilingBasis};
use yidi_domain::ids::RegionCode;
use yidi_domain::policy::InsuredRegion;
use yidi_store::{StoreError, Tx};
use yidi_wire::convert;
use yidi_wire::v1::{FilingCheck, FilingRecord};

/// The exchange's schema change for the replica (`yidi_store::migrate`).
pub const CHANGE: yidi_store::migrate::Change = yidi_store::migrate::Change {
    version: 4,
    description: "replica of the national filing database",
    sqlite: "CREATE TABLE IF NOT EXISTS filing_replica (
        filing_id TEXT PRIMARY KEY, person_key TEXT NOT NULL, record BLOB NOT NULL)",
    postgres: "CREATE TABLE IF NOT EXISTS filing_replica (
        filing_id TEXT PRIMARY KEY, person_key TEXT NOT NULL, record BYTEA NOT NULL)",
};

/// Migration 6: the replica kept by each filing's version.
pub const VERSIONS: yidi_store::migrate::Change = yidi_store::migrate::Change {
    version: 6,
    description: "filing replica kept by each filing's version",
    // Records kept before carry version 0: the first versioned record of the filing replaces
    // them.
    sqlite: "ALTER TABLE filing_replica ADD COLUMN version BIGINT NOT NULL DEFAULT 0",
    postgres: "ALTER TABLE filing_replica ADD COLUMN version BIGINT NOT NULL DEFAULT 0",
};

/// Keeps a filing record valid in `province`: the newest version of a filing
/// (`FilingRecord.version`, which only its agency advances; a revocation is newer than the
/// filing), an older or equal one ignored however late it arrives, so that a replayed filing
/// cannot reinstate a revoked one in `CheckFiling`. Unversioned records (0) replace only
/// unversioned ones, by arrival. Another province's filing is read and passed over.
pub async fn record(tx: &mut Tx, province: RegionCode, incoming: &Incoming) -> Result<(), Failure> {
    let record = incoming.decode::<FilingRecord>("FilingRecord")?;
    let filing = convert::filing_of(&record)
        .map_err(|error| Rejection::new("INVALID_FILING", error.to_string()))?;
    if !filing.target.same_province(province) {
        return Ok(());
    }
    // The record is kept without the person number: the key finds it.
    let kept = FilingRecord { psn_no: String::new(), ..record };
    sqlx::query(
        "INSERT INTO filing_replica (filing_id, person_key, record, version) VALUES ($1, $2, $3, $4)
         ON CONFLICT (filing_id) DO UPDATE SET record = excluded.record, version = excluded.version
         WHERE excluded.version > filing_replica.version
            OR (excluded.version = 0 AND filing_replica.version = 0)",
    )
    .bind(&filing.id)
    .bind(convert::person_key(&filing.person))
    .bind(prost::Message::encode_to_vec(&kept))
    .bind(i64::try_from(kept.version).unwrap_or(i64::MAX))
    .execute(&mut **tx)
    .await
    .map_err(|e| Transient::new(StoreError::from(e)))?;
    Ok(())
}

/// The filings of a person kept here.
async fn filings_of(tx: &mut Tx, psn_no: &str) -> Result<Vec<Filing>, StoreError> {
    let rows = sqlx::query("SELECT record FROM filing_replica WHERE person_key = $1")
        .bind(convert::person_key(psn_no))
        .fetch_all(&mut **tx)
        .await?;
    let mut filings = Vec::with_capacity(rows.len());
    for row in rows {
        let bytes: Vec<u8> = row.try_get(0)?;
        let record = <FilingRecord as prost::Message>::decode(bytes.as_slice()).map_err(|e| {
            StoreError::Corrupt { column: "filing_replica.record", detail: e.to_string() }
        })?;
        let record = FilingRecord { psn_no: psn_no.to_owned(), ..record };
        filings.push(convert::filing_of(&record).map_err(|e| StoreError::Corrupt {
            column: "filing_replica.record",
            detail: e.to_string(),
        })?);
    }
    Ok(filings)
}

/// What applies to a stay of `psn_no`, insured in `region`, admitted at `admitted` in
/// `treatment`, as of `now`: the filing class the insured place's rules give, and whether
/// the region settles it directly.
pub async fn check(
    tx: &mut Tx,
    region: &InsuredRegion,
    (psn_no, insured): (&str, RegionCode),
    treatment: RegionCode,
    (admitted, now, emergency): (NaiveDateTime, NaiveDateTime, bool),
) -> Result<FilingCheck, StoreError> {
    let filings = filings_of(tx, psn_no).await?;
    let episode = Episode {
        insured_region: insured,
        treatment_region: treatment,
        admitted_on: admitted.date(),
        settled_at: now.max(admitted),
        emergency,
    };
    // The person's scheme is the insured place's to know: the newest policy's table ranks
    // the classes (the schemes of the embedded regions rank them alike).
    let Some(policy) = region.schemes.iter().max_by_key(|p| p.effective_from) else {
        return Ok(FilingCheck::default());
    };
    let decided = filing::decide(&filings, &episode, &region.filing, &policy.cross_province);
    let direct = decided.class.is_some() || !policy.cross_province.refuse_unfiled;
    let (basis, filing_id) = match &decided.basis {
        FilingBasis::Filed(id) => ("filed", id.clone()),
        FilingBasis::EmergencyDeemed => ("emergency", String::new()),
        FilingBasis::RegionDeemed => ("region_deemed", String::new()),
        FilingBasis::Unfiled => ("unfiled", String::new()),
    };
    let reason = if direct { "" } else { "not_filed" };
    Ok(FilingCheck {
        filing_class: decided.class.map_or("unfiled", |class| class.code()).to_owned(),
        filing_id,
        basis: basis.to_owned(),
        direct_settlement: direct,
        reason: reason.to_owned(),
        rule: yidi_domain::refusal::citation(reason).to_owned(),
    })
}
