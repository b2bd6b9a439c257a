//! The national register of designated institutions and the decisions on their service
//! agreements (issue #13 §3–4, seed 004 art. 49): the register is the sample one every party
//! embeds (`yidi_sim::hospitals`); a decision — suspend, end, reinstate — is recorded here with
//! the article it is made under and sent, in the same transaction through the outbox, to the
//! exchange of the institution's province, which refuses the institution's bills from then on.
//! A decision is undone only by a later decision, so every sanction and its lifting stay on
//! record.

use serde::Serialize;
use sqlx::Row;
use thiserror::Error;
use yidi_bus::{topics, Outgoing};
use yidi_domain::hospital::{Agreement, Designation};
use yidi_runtime::outbox::Outbox;
use yidi_store::{Store, StoreError};
use yidi_wire::codec::ContentType;
use yidi_wire::v1::HospitalAgreement;

/// The hub's schema changes after version 1 (`yidi_store::migrate`).
pub const CHANGES: &[yidi_store::migrate::Change] = &[AGREEMENTS, crate::halts::CHANGE];

/// Migration 2: the desk's decisions on agreements.
const AGREEMENTS: yidi_store::migrate::Change = yidi_store::migrate::Change {
    version: 2,
    description: "decisions on designated institutions' service agreements",
    sqlite: "CREATE TABLE IF NOT EXISTS hospital_decision (
        seq BIGINT PRIMARY KEY, decision_id TEXT NOT NULL UNIQUE,
        fixmedins_code TEXT NOT NULL, province TEXT NOT NULL, agreement TEXT NOT NULL,
        article TEXT NOT NULL, reason TEXT NOT NULL, decided_at TEXT NOT NULL)",
    postgres: "CREATE TABLE IF NOT EXISTS hospital_decision (
        seq BIGINT PRIMARY KEY, decision_id TEXT NOT NULL UNIQUE,
        fixmedins_code TEXT NOT NULL, province TEXT NOT NULL, agreement TEXT NOT NULL,
        article TEXT NOT NULL, reason TEXT NOT NULL, decided_at TEXT NOT NULL)",
};

/// The longest article or reason recorded.
pub const TEXT_MAX: usize = 500;

/// What the desk asks: a decision on one institution's agreement.
#[derive(Clone, Debug)]
pub struct Ask {
    /// The desk's own id for the decision: the same id again is the same decision.
    pub decision_id: String,
    pub fixmedins_code: String,
    pub agreement: String,
    pub article: String,
    pub reason: String,
}

/// A decision as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub seq: i64,
    pub decision_id: String,
    pub fixmedins_code: String,
    pub name: String,
    pub province: String,
    pub agreement: String,
    pub article: String,
    pub reason: String,
    pub decided_at: String,
}

#[derive(Debug, Error)]
pub enum DecisionError {
    #[error("fixmedins_code {0:?} is not a designated institution")]
    UnknownInstitution(String),
    #[error("agreement {0:?} is not in_force, suspended or ended")]
    UnknownAgreement(String),
    #[error("{0} must not be empty, and at most {TEXT_MAX} characters")]
    Text(&'static str),
    #[error("decision {0} was already made with other terms")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Ask {
    fn check(&self) -> Result<(Designation, Agreement), DecisionError> {
        let designation = yidi_sim::hospitals::find(&self.fixmedins_code)
            .ok_or_else(|| DecisionError::UnknownInstitution(self.fixmedins_code.clone()))?;
        let agreement = Agreement::parse(&self.agreement)
            .ok_or_else(|| DecisionError::UnknownAgreement(self.agreement.clone()))?;
        for (field, text) in [
            ("decision_id", &self.decision_id),
            ("article", &self.article),
            ("reason", &self.reason),
        ] {
            if text.trim().is_empty() || text.chars().count() > TEXT_MAX {
                return Err(DecisionError::Text(field));
            }
        }
        Ok((designation, agreement))
    }
}

/// Records a decision and queues it for the institution's exchange, in one transaction. A
/// decision id seen before gives back the decision recorded then (or a conflict, when its
/// terms differ).
pub async fn decide(
    store: &Store,
    outbox: &Outbox,
    ask: &Ask,
    decided_at: &str,
) -> Result<Decision, DecisionError> {
    let (designation, agreement) = ask.check()?;
    let mut tx = store.begin().await?;
    if let Some(found) = by_id(&mut tx, &ask.decision_id).await? {
        let same = found.fixmedins_code == ask.fixmedins_code
            && found.agreement == ask.agreement
            && found.article == ask.article
            && found.reason == ask.reason;
        return if same { Ok(found) } else { Err(DecisionError::Conflict(found.decision_id)) };
    }
    let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM hospital_decision")
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .try_get(0)
        .map_err(StoreError::from)?;
    let province = designation.region.province().to_string();
    let decision = Decision {
        seq,
        decision_id: ask.decision_id.clone(),
        fixmedins_code: designation.code.clone(),
        name: designation.name.clone(),
        province: province.clone(),
        agreement: agreement.code().to_owned(),
        article: ask.article.trim().to_owned(),
        reason: ask.reason.trim().to_owned(),
        decided_at: decided_at.to_owned(),
    };
    sqlx::query(
        "INSERT INTO hospital_decision
             (seq, decision_id, fixmedins_code, province, agreement, article, reason, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(decision.seq)
    .bind(&decision.decision_id)
    .bind(&decision.fixmedins_code)
    .bind(&decision.province)
    .bind(&decision.agreement)
    .bind(&decision.article)
    .bind(&decision.reason)
    .bind(&decision.decided_at)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    Outbox::put(&mut tx, &message(&decision), decided_at).await?;
    tx.commit().await.map_err(StoreError::from)?;
    outbox.wake();
    tracing::info!(fixmedins_code = %decision.fixmedins_code, agreement = %decision.agreement,
                   article = %decision.article, "service agreement decided");
    Ok(decision)
}

/// The decision as the institution's exchange reads it, keyed by institution so that its
/// decisions stay in order.
fn message(decision: &Decision) -> Outgoing {
    let wire = HospitalAgreement {
        fixmedins_code: decision.fixmedins_code.clone(),
        agreement: decision.agreement.clone(),
        article: decision.article.clone(),
        reason: decision.reason.clone(),
        decided_at: decision.decided_at.clone(),
        decision_seq: u64::try_from(decision.seq).unwrap_or(0),
        decision_id: decision.decision_id.clone(),
    };
    Outgoing::new(
        topics::exchange_hospitals(&decision.province),
        &decision.fixmedins_code,
        "yidi.v1.HospitalAgreement",
        &wire,
        ContentType::Protobuf,
    )
    .with_header(yidi_wire::headers::RECEIVER, &decision.province)
}

const COLUMNS: &str =
    "seq, decision_id, fixmedins_code, province, agreement, article, reason, decided_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Decision, StoreError> {
    let code: String = row.try_get(2)?;
    Ok(Decision {
        seq: row.try_get(0)?,
        decision_id: row.try_get(1)?,
        name: yidi_sim::hospitals::find(&code).map(|d| d.name).unwrap_or_default(),
        fixmedins_code: code,
        province: row.try_get(3)?,
        agreement: row.try_get(4)?,
        article: row.try_get(5)?,
        reason: row.try_get(6)?,
        decided_at: row.try_get(7)?,
    })
}

async fn by_id(tx: &mut yidi_store::Tx, decision_id: &str) -> Result<Option<Decision>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM hospital_decision WHERE decision_id = $1"
    )))
    .bind(decision_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every decision, newest first (at most `limit`).
pub async fn history(store: &Store, limit: i64) -> Result<Vec<Decision>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM hospital_decision ORDER BY seq DESC LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The institutions whose latest decision leaves them out of direct settlement.
pub async fn sanctioned(store: &Store) -> Result<Vec<Decision>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM hospital_decision d
         WHERE seq = (SELECT MAX(seq) FROM hospital_decision l
                      WHERE l.fixmedins_code = d.fixmedins_code)
           AND agreement <> 'in_force'
         ORDER BY seq DESC"
    )))
    .fetch_all(store.pool())
    .await?;
    rows.iter().map(from_row).collect()
}
