//! The national register of designated institutions and the decisions on their service
//! agreements (issue #13 §3–4, seed 004 art. 49): the register starts as the sample one every
//! party embeds (`yidi_sim::hospitals`) and is kept here: a decision may register a new
//! institution or change an institution's registered level or its opening for cross-province
//! settlement, and suspends, ends or reinstates its agreement. Each decision is recorded with
//! the article it is made under and sent, in the same transaction through the outbox, to the
//! exchange of the institution's province, which settles and refuses by it from then on. A
//! decision is undone only by a later decision, so every registration, sanction and lifting
//! stays on record.

use serde::Serialize;
use sqlx::Row;
use thiserror::Error;
use yidi_bus::{topics, Outgoing};
use yidi_domain::hospital::{Agreement, Designation};
use yidi_domain::ids::{HospitalLevel, RegionCode};
use yidi_runtime::outbox::Outbox;
use yidi_store::{Store, StoreError};
use yidi_wire::codec::ContentType;
use yidi_wire::v1::{HospitalAgreement, Registration};

/// The hub's schema changes after version 1 (`yidi_store::migrate`).
pub const CHANGES: &[yidi_store::migrate::Change] = &[
    AGREEMENTS,
    crate::halts::CHANGE,
    REGISTRATIONS,
    crate::referee::CHANGE,
    crate::record::FILING_VERSIONS,
    crate::daily::CHANGE,
];

/// Migration 4: a decision's registration (null: none).
const REGISTRATIONS: yidi_store::migrate::Change = yidi_store::migrate::Change {
    version: 4,
    description: "registrations in the national register of designated institutions",
    sqlite: "ALTER TABLE hospital_decision ADD COLUMN name TEXT;
        ALTER TABLE hospital_decision ADD COLUMN admdvs TEXT;
        ALTER TABLE hospital_decision ADD COLUMN hosp_lv BIGINT;
        ALTER TABLE hospital_decision ADD COLUMN cross_province BIGINT",
    postgres: "ALTER TABLE hospital_decision ADD COLUMN name TEXT;
        ALTER TABLE hospital_decision ADD COLUMN admdvs TEXT;
        ALTER TABLE hospital_decision ADD COLUMN hosp_lv BIGINT;
        ALTER TABLE hospital_decision ADD COLUMN cross_province BIGINT",
};

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
    /// Registers the institution, or changes its registered terms.
    pub registration: Option<Registration>,
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
    /// The registration the decision made, if it made one.
    pub registration: Option<Registered>,
}

/// An institution's registered terms, as a decision set them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Registered {
    pub admdvs: String,
    pub hosp_lv: u32,
    pub cross_province: bool,
}

#[derive(Debug, Error)]
pub enum DecisionError {
    #[error("fixmedins_code {0:?} is not a designated institution (register it first)")]
    UnknownInstitution(String),
    #[error("registration: {0}")]
    Registration(String),
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
    /// Checks the ask against the register as it stands (`known`: the institution's current
    /// entry, if it has one).
    fn check(&self, known: Option<Designation>) -> Result<(Designation, Agreement), DecisionError> {
        let agreement = Agreement::parse(&self.agreement)
            .ok_or_else(|| DecisionError::UnknownAgreement(self.agreement.clone()))?;
        let designation = match &self.registration {
            Some(registration) => self.registered(registration, agreement)?,
            None => known
                .ok_or_else(|| DecisionError::UnknownInstitution(self.fixmedins_code.clone()))?,
        };
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

    /// The entry a registration makes: a 12-character code, a name, a city, a level.
    fn registered(
        &self,
        registration: &Registration,
        agreement: Agreement,
    ) -> Result<Designation, DecisionError> {
        let invalid = |why: String| DecisionError::Registration(why);
        let code = self.fixmedins_code.trim();
        if code.chars().count() != 12 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid(format!("fixmedins_code {code:?} is not 12 letters or digits")));
        }
        let name = registration.name.trim();
        if name.is_empty() || name.chars().count() > TEXT_MAX {
            return Err(invalid(format!("name: 1 to {TEXT_MAX} characters")));
        }
        let region: RegionCode = registration.admdvs.parse().map_err(|_| {
            invalid(format!("admdvs {:?} is not a region code", registration.admdvs))
        })?;
        let level = HospitalLevel::from_number(u64::from(registration.hosp_lv))
            .map_err(|_| invalid(format!("hosp_lv {} is not 1, 2 or 3", registration.hosp_lv)))?;
        Ok(Designation {
            code: code.to_owned(),
            name: name.to_owned(),
            region,
            level,
            cross_province: registration.cross_province,
            agreement,
        })
    }
}

/// An institution's entry as the register has it now: its latest registration here, or the
/// sample register's.
async fn entry(tx: &mut yidi_store::Tx, code: &str) -> Result<Option<Designation>, StoreError> {
    let row = sqlx::query(
        "SELECT name, admdvs, hosp_lv, cross_province FROM hospital_decision
         WHERE fixmedins_code = $1 AND hosp_lv IS NOT NULL ORDER BY seq DESC LIMIT 1",
    )
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(yidi_sim::hospitals::find(code)) };
    let corrupt =
        |detail: String| StoreError::Corrupt { column: "hospital_decision.registration", detail };
    let admdvs: String = row.try_get::<Option<String>, _>(1)?.unwrap_or_default();
    let level: i64 = row.try_get::<Option<i64>, _>(2)?.unwrap_or(0);
    Ok(Some(Designation {
        code: code.to_owned(),
        name: row.try_get::<Option<String>, _>(0)?.unwrap_or_default(),
        region: admdvs.parse().map_err(|_| corrupt(admdvs.clone()))?,
        level: u64::try_from(level)
            .ok()
            .and_then(|level| HospitalLevel::from_number(level).ok())
            .ok_or_else(|| corrupt(level.to_string()))?,
        cross_province: row.try_get::<Option<i64>, _>(3)?.unwrap_or(0) != 0,
        agreement: Agreement::InForce,
    }))
}

/// An institution as the hub's register has it now: its entry, under the agreement its
/// latest decision left it (in force when none was ever taken).
pub async fn standing(
    tx: &mut yidi_store::Tx,
    code: &str,
) -> Result<Option<Designation>, StoreError> {
    let Some(mut designation) = entry(tx, code).await? else { return Ok(None) };
    let latest: Option<String> = sqlx::query(
        "SELECT agreement FROM hospital_decision WHERE fixmedins_code = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?
    .map(|row| row.try_get(0))
    .transpose()?;
    if let Some(latest) = latest {
        designation.agreement = Agreement::parse(&latest).ok_or_else(|| StoreError::Corrupt {
            column: "hospital_decision.agreement",
            detail: latest.clone(),
        })?;
    }
    Ok(Some(designation))
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
    let mut tx = store.begin().await?;
    let known = entry(&mut tx, ask.fixmedins_code.trim()).await?;
    let (designation, agreement) = ask.check(known)?;
    if let Some(found) = by_id(&mut tx, &ask.decision_id).await? {
        let same = found.fixmedins_code == ask.fixmedins_code
            && found.agreement == ask.agreement
            && found.article == ask.article
            && found.reason == ask.reason
            && found.registration == ask.registration.as_ref().map(|_| registered(&designation));
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
        registration: ask.registration.as_ref().map(|_| registered(&designation)),
    };
    let made = decision.registration.as_ref();
    sqlx::query(
        "INSERT INTO hospital_decision
             (seq, decision_id, fixmedins_code, province, agreement, article, reason, decided_at,
              name, admdvs, hosp_lv, cross_province)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(decision.seq)
    .bind(&decision.decision_id)
    .bind(&decision.fixmedins_code)
    .bind(&decision.province)
    .bind(&decision.agreement)
    .bind(&decision.article)
    .bind(&decision.reason)
    .bind(&decision.decided_at)
    .bind(&decision.name)
    .bind(made.map(|r| r.admdvs.clone()))
    .bind(made.map(|r| i64::from(r.hosp_lv)))
    .bind(made.map(|r| i64::from(r.cross_province)))
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

fn registered(designation: &Designation) -> Registered {
    Registered {
        admdvs: designation.region.to_string(),
        hosp_lv: u32::from(designation.level.number()),
        cross_province: designation.cross_province,
    }
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
        registration: decision.registration.as_ref().map(|r| Registration {
            name: decision.name.clone(),
            admdvs: r.admdvs.clone(),
            hosp_lv: r.hosp_lv,
            cross_province: r.cross_province,
        }),
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

const COLUMNS: &str = "seq, decision_id, fixmedins_code, province, agreement, article, reason,
     decided_at, name, admdvs, hosp_lv, cross_province";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Decision, StoreError> {
    let code: String = row.try_get(2)?;
    let name: Option<String> = row.try_get(8)?;
    let registration = match row.try_get::<Option<i64>, _>(10)? {
        Some(level) => Some(Registered {
            admdvs: row.try_get::<Option<String>, _>(9)?.unwrap_or_default(),
            hosp_lv: u32::try_from(level).unwrap_or(0),
            cross_province: row.try_get::<Option<i64>, _>(11)?.unwrap_or(0) != 0,
        }),
        None => None,
    };
    Ok(Decision {
        seq: row.try_get(0)?,
        decision_id: row.try_get(1)?,
        registration,
        name: name.or_else(|| yidi_sim::hospitals::find(&code).map(|d| d.name)).unwrap_or_default(),
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
