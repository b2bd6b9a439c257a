//! The exchange's copy of the register of designated institutions (issue #13 §3): the
//! sample register of its province, with the hub's decisions on service agreements applied
//! as they arrive on `exchange.<T>.hospitals` (seed 004 art. 49). A bill is settled at the
//! level the register gives, or refused with the reason the register gives.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use sqlx::Row;
use tracing::info;
use yidi_bus::{Failure, Incoming, Rejection, Transient};
use yidi_domain::hospital::{self, Agreement, Designation, HospitalRefusal};
use yidi_domain::ids::{HospitalLevel, RegionCode};
use yidi_store::{Store, StoreError, Tx};
use yidi_wire::v1::{DischargeBill, HospitalAgreement};

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

/// The register as this exchange knows it.
pub struct Register {
    province: RegionCode,
    base: BTreeMap<String, Designation>,
    /// The latest decision per institution: its agreement and sequence number.
    decided: RwLock<HashMap<String, (Agreement, u64)>>,
}

impl Register {
    /// The sample register of `province` with the decisions stored so far.
    pub async fn load(store: &Store, province: RegionCode) -> Result<Register, StoreError> {
        let base = yidi_sim::hospitals::register(province)
            .into_iter()
            .map(|designation| (designation.code.clone(), designation))
            .collect();
        let rows =
            sqlx::query("SELECT fixmedins_code, agreement, decision_seq FROM hospital_agreement")
                .fetch_all(store.pool())
                .await?;
        let mut decided = HashMap::new();
        for row in rows {
            let code: String = row.try_get(0)?;
            let agreement: String = row.try_get(1)?;
            let seq: i64 = row.try_get(2)?;
            let agreement = Agreement::parse(&agreement).ok_or_else(|| StoreError::Corrupt {
                column: "hospital_agreement.agreement",
                detail: agreement.clone(),
            })?;
            decided.insert(code, (agreement, u64::try_from(seq).unwrap_or(0)));
        }
        Ok(Register { province, base, decided: RwLock::new(decided) })
    }

    /// The institution as the register has it now, its latest agreement decision applied.
    pub fn designation(&self, code: &str) -> Option<Designation> {
        let mut designation = self.base.get(code)?.clone();
        if let Some((agreement, _)) = self.decided.read().ok()?.get(code) {
            designation.agreement = *agreement;
        }
        Some(designation)
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
    ) -> Result<Option<(String, Agreement, u64)>, Failure> {
        let decision = incoming.decode::<HospitalAgreement>("HospitalAgreement")?;
        let refuse = |why: String| Rejection::new("INVALID_AGREEMENT", why);
        let Some(agreement) = Agreement::parse(&decision.agreement) else {
            return Err(refuse(format!("agreement {:?}", decision.agreement)).into());
        };
        if !self.base.contains_key(&decision.fixmedins_code) {
            let why = format!(
                "{:?} is not a designated institution of {}",
                decision.fixmedins_code, self.province
            );
            return Err(refuse(why).into());
        }
        let seq = i64::try_from(decision.decision_seq)
            .map_err(|_| refuse("decision_seq too large".into()))?;
        let stored = sqlx::query(
            "INSERT INTO hospital_agreement
                 (fixmedins_code, agreement, article, reason, decided_at, decision_seq)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (fixmedins_code) DO UPDATE SET agreement = excluded.agreement,
                 article = excluded.article, reason = excluded.reason,
                 decided_at = excluded.decided_at, decision_seq = excluded.decision_seq
             WHERE hospital_agreement.decision_seq < excluded.decision_seq",
        )
        .bind(&decision.fixmedins_code)
        .bind(agreement.code())
        .bind(&decision.article)
        .bind(&decision.reason)
        .bind(&decision.decided_at)
        .bind(seq)
        .execute(&mut **tx)
        .await
        .map_err(|e| Transient::new(StoreError::from(e)))?;
        if stored.rows_affected() == 0 {
            return Ok(None);
        }
        info!(fixmedins_code = %decision.fixmedins_code, agreement = agreement.code(),
              article = %decision.article, "service agreement decision recorded");
        Ok(Some((decision.fixmedins_code, agreement, decision.decision_seq)))
    }

    /// Applies a committed decision to the copy in memory (the later of two wins).
    pub fn apply(&self, (code, agreement, seq): (String, Agreement, u64)) {
        if let Ok(mut decided) = self.decided.write() {
            let newer = decided.get(&code).is_none_or(|(_, known)| *known < seq);
            if newer {
                decided.insert(code, (agreement, seq));
            }
        }
    }
}
