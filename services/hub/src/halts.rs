//! Person-level halts of direct settlement (seed 004 art. 53) as the ministry sees them: each
//! agency decides its own persons' halts and their lifting over gRPC, and sends every decision
//! here on `hub.sanctions` through its outbox; the hub keeps them by decision id — the person
//! by token, like the national filing database — so that the dashboard lists every sanction in
//! force or lifted, with its article and finding, beside the institutions' agreements.

use serde::Serialize;
use sqlx::Row;
use yidi_bus::Rejection;
use yidi_domain::ids::RegionCode;
use yidi_store::{Store, StoreError, Tx};
use yidi_trust::token::PersonTokens;
use yidi_wire::v1::HaltRecord;

/// The hub's table of halts (migration 3).
pub const CHANGE: yidi_store::migrate::Change = yidi_store::migrate::Change {
    version: 3,
    description: "person-level halts of direct settlement, as agencies decided them",
    sqlite: "CREATE TABLE IF NOT EXISTS person_halt (
        decision_id TEXT PRIMARY KEY, person TEXT NOT NULL, insured TEXT NOT NULL,
        begndate TEXT NOT NULL, enddate TEXT NOT NULL, article TEXT NOT NULL,
        reason TEXT NOT NULL, decided_at TEXT NOT NULL, lifted_by TEXT NOT NULL,
        lifted_at TEXT NOT NULL, lift_reason TEXT NOT NULL)",
    postgres: "CREATE TABLE IF NOT EXISTS person_halt (
        decision_id TEXT PRIMARY KEY, person TEXT NOT NULL, insured TEXT NOT NULL,
        begndate TEXT NOT NULL, enddate TEXT NOT NULL, article TEXT NOT NULL,
        reason TEXT NOT NULL, decided_at TEXT NOT NULL, lifted_by TEXT NOT NULL,
        lifted_at TEXT NOT NULL, lift_reason TEXT NOT NULL)",
};

/// The most halts the dashboard lists (the newest first).
pub const LISTED_MAX: i64 = 500;

/// A halt record the hub takes: identified, of a person, from a region, with dates that
/// read as dates and its article.
pub fn valid(halt: HaltRecord) -> Result<(HaltRecord, RegionCode), Rejection> {
    let invalid = |why: &str| Rejection::new("INVALID_HALT", why);
    if [&halt.decision_id, &halt.psn_no, &halt.article].iter().any(|t| t.trim().is_empty()) {
        return Err(invalid("decision_id, psn_no and article: required"));
    }
    let Ok(insured) = halt.insuplc_admdvs.parse::<RegionCode>() else {
        return Err(invalid("insuplc_admdvs: not a region code"));
    };
    let date = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok();
    if !date(&halt.begndate) || !(halt.enddate.is_empty() || date(&halt.enddate)) {
        return Err(invalid("begndate or enddate: not yyyy-MM-dd"));
    }
    Ok((halt, insured))
}

/// Records a halt, or its lifting: a record read again changes nothing, and a halt sent
/// again after its lifting does not undo the lifting.
pub async fn record(
    tx: &mut Tx,
    halt: &HaltRecord,
    tokens: &PersonTokens,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO person_halt (decision_id, person, insured, begndate, enddate, article, reason,
             decided_at, lifted_by, lifted_at, lift_reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (decision_id) DO UPDATE SET
             lifted_by = CASE WHEN excluded.lifted_by = '' THEN person_halt.lifted_by ELSE excluded.lifted_by END,
             lifted_at = CASE WHEN excluded.lifted_by = '' THEN person_halt.lifted_at ELSE excluded.lifted_at END,
             lift_reason = CASE WHEN excluded.lifted_by = '' THEN person_halt.lift_reason ELSE excluded.lift_reason END",
    )
    .bind(&halt.decision_id)
    .bind(tokens.token(&halt.psn_no))
    .bind(&halt.insuplc_admdvs)
    .bind(&halt.begndate)
    .bind(&halt.enddate)
    .bind(&halt.article)
    .bind(&halt.reason)
    .bind(&halt.decided_at)
    .bind(&halt.lifted_by)
    .bind(&halt.lifted_at)
    .bind(&halt.lift_reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A halt as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub decision_id: String,
    /// The person's token (the hub does not keep personal numbers).
    pub person: String,
    pub insuplc_admdvs: String,
    pub begndate: String,
    pub enddate: String,
    pub article: String,
    pub reason: String,
    pub decided_at: String,
    /// The lifting decision, empty while the halt stands.
    pub lifted_by: String,
    pub lifted_at: String,
    pub lift_reason: String,
}

/// The halts recorded, the newest decisions first, at most [`LISTED_MAX`].
pub async fn listed(store: &Store) -> Result<Vec<Listed>, StoreError> {
    let rows = sqlx::query(
        "SELECT decision_id, person, insured, begndate, enddate, article, reason, decided_at,
                lifted_by, lifted_at, lift_reason
         FROM person_halt ORDER BY decided_at DESC, decision_id LIMIT $1",
    )
    .bind(LISTED_MAX)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let text = |i: usize| row.try_get::<String, _>(i);
            Ok(Listed {
                decision_id: text(0)?,
                person: text(1)?,
                insuplc_admdvs: text(2)?,
                begndate: text(3)?,
                enddate: text(4)?,
                article: text(5)?,
                reason: text(6)?,
                decided_at: text(7)?,
                lifted_by: text(8)?,
                lifted_at: text(9)?,
                lift_reason: text(10)?,
            })
        })
        .collect()
}
