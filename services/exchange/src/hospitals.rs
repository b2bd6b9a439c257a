//! The exchange's copy of the register of designated institutions (issue #13 §3): the
//! sample register of its province, with the hub's decisions applied as they arrive on
//! `exchange.<T>.hospitals` — registrations of new institutions and changes of their level or
//! of their opening for cross-province settlement, and decisions on service agreements (seed
//! 004 art. 49). A bill is settled at the level the register gives, or refused with the
//! reason the register gives.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use sqlx::Row;
use tracing::info;
use yidi_bus::{Failure, Incoming, Rejection, Transient};
use yidi_domain::error::ValueError;
use yidi_domain::hospital::{self, Agreement, Designation, HospitalRefusal};
use yidi_domain::ids::{HospitalLevel, RegionCode};
use yidi_store::{Store, StoreError, Tx};
use yidi_wire::v1::{DischargeBill, HospitalAgreement, Registration};

/// The exchange's schema change for the register (`yidi_store::migrate`).
pub const CHANGE: yidi_store::migrate::Change = yidi_store::migrate::Change {
    version: 3,
    description: "decisions on designated institutions' service agreements",
    sqlite: "CREATE TABLE IF NOT EXISTS hospital_agreement (
        fixmedins_code TEXT PRIMARY KEY, agreement TEXT NOT NULL, article TEXT NOT NULL,
        reason TEXT NOT NULL, decided_at TEXT NOT NULL, decision_seq BIGINT NOT NULL)",
    postgres: "CREATE TABLE IF NOT EXISTS hospital_agreement (
        fixmedins_code TEXT PRIMARY KEY, agreement TEXT NOT NULL, article TEXT NOT NULL,
        reason TEXT NOT NULL, decided_at TEXT NOT NULL, decision_seq BIGINT NOT NULL)",
};

/// The registration columns the hub's decisions add (exchange migration 5).
pub const REGISTRATIONS: yidi_store::migrate::Change = yidi_store::migrate::Change {
    version: 5,
    description: "registrations in the national register of designated institutions",
    sqlite: "ALTER TABLE hospital_agreement ADD COLUMN name TEXT;
        ALTER TABLE hospital_agreement ADD COLUMN admdvs TEXT;
        ALTER TABLE hospital_agreement ADD COLUMN hosp_lv BIGINT;
        ALTER TABLE hospital_agreement ADD COLUMN cross_province BIGINT",
    postgres: "ALTER TABLE hospital_agreement ADD COLUMN name TEXT;
        ALTER TABLE hospital_agreement ADD COLUMN admdvs TEXT;
        ALTER TABLE hospital_agreement ADD COLUMN hosp_lv BIGINT;
        ALTER TABLE hospital_agreement ADD COLUMN cross_province BIGINT",
};

/// The register as this exchange knows it.
pub struct Register {
    province: RegionCode,
    base: BTreeMap<String, Designation>,
    /// The latest decision per institution: its agreement and sequence number.
    decided: RwLock<HashMap<String, (Agreement, u64)>>,
    /// Institutions the hub registered, or whose registered terms it changed.
    registered: RwLock<HashMap<String, Designation>>,
    /// The stored decisions the copy in memory was last read from ([`Register::refresh`]).
    read: std::sync::Mutex<Stored>,
}

/// How many decisions are stored, and the latest one's sequence number: a decision recorded by
/// another process of the role changes one or the other (the hub numbers all its decisions in
/// one sequence).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Stored {
    count: i64,
    latest: i64,
}

/// The stored decisions: each institution's latest agreement, and the registrations.
type Decisions = (HashMap<String, (Agreement, u64)>, HashMap<String, Designation>);

/// A committed decision, to apply to the register in memory.
pub struct Applied {
    code: String,
    agreement: Agreement,
    seq: u64,
    registered: Option<Designation>,
}

impl Register {
    /// The sample register of `province` with the decisions stored so far.
    /// The sample register of `province` with the decisions stored so far.
    pub async fn load(store: &Store, province: RegionCode) -> Result<Register, StoreError> {
        let base = yidi_sim::hospitals::register(province)
            .into_iter()
            .map(|designation| (designation.code.clone(), designation))
            .collect();
        let stored = stored(store).await?;
        let (decided, registered) = decisions(store).await?;
        Ok(Register {
            province,
            base,
            decided: RwLock::new(decided),
            registered: RwLock::new(registered),
            read: std::sync::Mutex::new(stored),
        })
    }

    /// Reads the stored decisions again if another process of the role has recorded one since
    /// they were last read (issue #9 §6: the hub's decisions reach only the process that
    /// consumes them, and every process settles by the register). One small query when
    /// nothing changed. A lone exchange needs none: [`Register::apply`] keeps its copy.
    pub async fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        let now = stored(store).await?;
        if self.read.lock().is_ok_and(|read| *read == now) {
            return Ok(());
        }
        let (decided, registered) = decisions(store).await?;
        if let (Ok(mut held), Ok(mut kept), Ok(mut read)) =
            (self.decided.write(), self.registered.write(), self.read.lock())
        {
            *held = decided;
            *kept = registered;
            *read = now;
        }
        Ok(())
    }

    /// The institution as the register has it now: as the hub last registered it, or as the
    /// sample register has it, with its latest agreement decision applied.
    pub fn designation(&self, code: &str) -> Option<Designation> {
        let registered = self.registered.read().ok()?.get(code).cloned();
        let mut designation = registered.or_else(|| self.base.get(code).cloned())?;
        if let Some((agreement, _)) = self.decided.read().ok()?.get(code) {
            designation.agreement = *agreement;
        }
        Some(designation)
    }

    fn known(&self, code: &str) -> bool {
        self.base.contains_key(code)
            || self.registered.read().is_ok_and(|registered| registered.contains_key(code))
    }

    /// A decision's registration, checked: a city of this province, a level of 1 to 3.
    fn registration(
        &self,
        code: &str,
        registration: &Registration,
        agreement: Agreement,
    ) -> Result<Designation, Rejection> {
        let refuse = |why: String| Rejection::new("INVALID_REGISTRATION", why);
        let region: RegionCode = registration
            .admdvs
            .parse()
            .map_err(|_| refuse(format!("admdvs {:?}", registration.admdvs)))?;
        if !region.same_province(self.province) {
            return Err(refuse(format!("{region} is not in {}", self.province)));
        }
        let level = HospitalLevel::from_number(u64::from(registration.hosp_lv))
            .map_err(|_| refuse(format!("hosp_lv {}", registration.hosp_lv)))?;
        if code.trim().is_empty() || registration.name.trim().is_empty() {
            return Err(refuse("fixmedins_code and name: required".into()));
        }
        Ok(Designation {
            code: code.to_owned(),
            name: registration.name.clone(),
            region,
            level,
            cross_province: registration.cross_province,
            agreement,
        })
    }

    /// The level a bill is settled at, or why its institution does not settle directly.
    pub fn admit(&self, bill: &DischargeBill) -> Result<HospitalLevel, HospitalRefusal> {
        let treatment: RegionCode =
            bill.mdtrtarea_admvs.parse().map_err(|_| HospitalRefusal::NotDesignated)?;
        hospital::admit(self.designation(&bill.fixmedins_code).as_ref(), treatment)
    }

    /// Hub → exchange: records a decision on an institution of this province, if it is newer
    /// than the one stored (a decision read again, or overtaken, changes nothing). Returns
    /// what to apply to the copy in memory once committed.
    pub async fn record(
        &self,
        tx: &mut Tx,
        incoming: &Incoming,
    ) -> Result<Option<Applied>, Failure> {
        let decision = incoming.decode::<HospitalAgreement>("HospitalAgreement")?;
        let refuse = |why: String| Rejection::new("INVALID_AGREEMENT", why);
        let Some(agreement) = Agreement::parse(&decision.agreement) else {
            return Err(refuse(format!("agreement {:?}", decision.agreement)).into());
        };
        let registered = match &decision.registration {
            Some(registration) => {
                Some(self.registration(&decision.fixmedins_code, registration, agreement)?)
            }
            None => None,
        };
        if registered.is_none() && !self.known(&decision.fixmedins_code) {
            let why = format!(
                "{:?} is not a designated institution of {}",
                decision.fixmedins_code, self.province
            );
            return Err(refuse(why).into());
        }
        let seq = i64::try_from(decision.decision_seq)
            .map_err(|_| refuse("decision_seq too large".into()))?;
        // A decision without a registration keeps the registered terms there are.
        let stored = sqlx::query(
            "INSERT INTO hospital_agreement
                 (fixmedins_code, agreement, article, reason, decided_at, decision_seq,
                  name, admdvs, hosp_lv, cross_province)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (fixmedins_code) DO UPDATE SET agreement = excluded.agreement,
                 article = excluded.article, reason = excluded.reason,
                 decided_at = excluded.decided_at, decision_seq = excluded.decision_seq,
                 name = COALESCE(excluded.name, hospital_agreement.name),
                 admdvs = COALESCE(excluded.admdvs, hospital_agreement.admdvs),
                 hosp_lv = COALESCE(excluded.hosp_lv, hospital_agreement.hosp_lv),
                 cross_province = COALESCE(excluded.cross_province, hospital_agreement.cross_province)
             WHERE hospital_agreement.decision_seq < excluded.decision_seq",
        )
        .bind(&decision.fixmedins_code)
        .bind(agreement.code())
        .bind(&decision.article)
        .bind(&decision.reason)
        .bind(&decision.decided_at)
        .bind(seq)
        .bind(registered.as_ref().map(|d| d.name.clone()))
        .bind(registered.as_ref().map(|d| d.region.to_string()))
        .bind(registered.as_ref().map(|d| i64::from(d.level.number())))
        .bind(registered.as_ref().map(|d| i64::from(d.cross_province)))
        .execute(&mut **tx)
        .await
        .map_err(|e| Transient::new(StoreError::from(e)))?;
        if stored.rows_affected() == 0 {
            return Ok(None);
        }
        info!(fixmedins_code = %decision.fixmedins_code, agreement = agreement.code(),
              registered = registered.is_some(), article = %decision.article,
              "register decision recorded");
        Ok(Some(Applied {
            code: decision.fixmedins_code,
            agreement,
            seq: decision.decision_seq,
            registered,
        }))
    }

    /// Applies a committed decision to the copy in memory (the later of two wins).
    pub fn apply(&self, applied: Applied) {
        let Ok(mut decided) = self.decided.write() else { return };
        let newer = decided.get(&applied.code).is_none_or(|(_, known)| *known < applied.seq);
        if !newer {
            return;
        }
        decided.insert(applied.code.clone(), (applied.agreement, applied.seq));
        if let (Some(designation), Ok(mut registered)) =
            (applied.registered, self.registered.write())
        {
            registered.insert(applied.code, designation);
        }
    }
}

/// How many decisions are stored and the latest's sequence number.
async fn stored(store: &Store) -> Result<Stored, StoreError> {
    let row =
        sqlx::query("SELECT COUNT(*), COALESCE(MAX(decision_seq), 0) FROM hospital_agreement")
            .fetch_one(store.pool())
            .await?;
    Ok(Stored { count: row.try_get(0)?, latest: row.try_get(1)? })
}

/// The stored decisions, as the register applies them.
async fn decisions(store: &Store) -> Result<Decisions, StoreError> {
    let rows = sqlx::query(
        "SELECT fixmedins_code, agreement, decision_seq, name, admdvs, hosp_lv, cross_province
         FROM hospital_agreement",
    )
    .fetch_all(store.pool())
    .await?;
    let mut decided = HashMap::new();
    let mut registered = HashMap::new();
    for row in rows {
        let code: String = row.try_get(0)?;
        let agreement: String = row.try_get(1)?;
        let seq: i64 = row.try_get(2)?;
        let agreement = Agreement::parse(&agreement).ok_or_else(|| StoreError::Corrupt {
            column: "hospital_agreement.agreement",
            detail: agreement.clone(),
        })?;
        if let Some(level) = row.try_get::<Option<i64>, _>(5)? {
            let corrupt = |detail: String| StoreError::Corrupt {
                column: "hospital_agreement.registration",
                detail,
            };
            let admdvs: String = row.try_get::<Option<String>, _>(4)?.unwrap_or_default();
            let designation = Designation {
                code: code.clone(),
                name: row.try_get::<Option<String>, _>(3)?.unwrap_or_default(),
                region: admdvs.parse().map_err(|_| corrupt(admdvs.clone()))?,
                level: u64::try_from(level)
                    .map_err(|_| ValueError::UnknownHospitalLevel)
                    .and_then(HospitalLevel::from_number)
                    .map_err(|_| corrupt(level.to_string()))?,
                cross_province: row.try_get::<Option<i64>, _>(6)?.unwrap_or(0) != 0,
                agreement,
            };
            registered.insert(code.clone(), designation);
        }
        decided.insert(code, (agreement, u64::try_from(seq).unwrap_or(0)));
    }
    Ok((decided, registered))
}
