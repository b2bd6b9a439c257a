//! Cross-province filing (备案): who is filed, where, for how long, and which row of the
//! insured place's cross-province table applies at settlement.
//!
//! Rules (domain.md §2.1, §4.2; 医保发〔2022〕22号 art. 7, 8, 14, 16):
//! - six filing types: long-term (resettled retiree, long-term resident, posted worker) and
//!   temporary (referral, emergency, other temporary);
//! - long-term filings are open-ended; temporary ones last at least six months, longer where
//!   the insured region says so;
//! - a filing targets a province or a city and then covers every networked hospital there;
//! - an emergency counts as filed (视同已备案) even without a filing;
//! - a filing made after admission still counts if it is made before discharge settlement;
//! - a filing can be revoked; a long-term filing cannot be changed within a lock period [R].

use chrono::{Months, NaiveDate, NaiveDateTime};
use thiserror::Error;

use crate::ids::RegionCode;
use crate::policy::{AdjustmentMode, CrossProvince};

/// The row of the cross-province table a filing maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FilingClass {
    LongTerm,
    Referral,
    Emergency,
    OtherTemporary,
}

impl FilingClass {
    pub fn code(self) -> &'static str {
        match self {
            FilingClass::LongTerm => "long_term",
            FilingClass::Referral => "referral",
            FilingClass::Emergency => "emergency",
            FilingClass::OtherTemporary => "other_temporary",
        }
    }

    pub fn parse(code: &str) -> Option<FilingClass> {
        match code {
            "long_term" => Some(FilingClass::LongTerm),
            "referral" => Some(FilingClass::Referral),
            "emergency" => Some(FilingClass::Emergency),
            "other_temporary" => Some(FilingClass::OtherTemporary),
            _ => None,
        }
    }
}

/// The six filing types of N22 art. 7.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FilingType {
    /// 异地安置退休人员.
    ResettledRetiree,
    /// 异地长期居住人员.
    LongTermResident,
    /// 常驻异地工作人员.
    PostedWorker,
    /// 异地转诊就医人员.
    Referral,
    /// 异地急诊抢救人员.
    Emergency,
    /// 其他临时外出就医人员.
    OtherTemporary,
}

impl FilingType {
    pub const ALL: [FilingType; 6] = [
        FilingType::ResettledRetiree,
        FilingType::LongTermResident,
        FilingType::PostedWorker,
        FilingType::Referral,
        FilingType::Emergency,
        FilingType::OtherTemporary,
    ];

    pub fn class(self) -> FilingClass {
        match self {
            FilingType::ResettledRetiree
            | FilingType::LongTermResident
            | FilingType::PostedWorker => FilingClass::LongTerm,
            FilingType::Referral => FilingClass::Referral,
            FilingType::Emergency => FilingClass::Emergency,
            FilingType::OtherTemporary => FilingClass::OtherTemporary,
        }
    }

    pub fn is_long_term(self) -> bool {
        self.class() == FilingClass::LongTerm
    }

    pub fn code(self) -> &'static str {
        match self {
            FilingType::ResettledRetiree => "resettled_retiree",
            FilingType::LongTermResident => "long_term_resident",
            FilingType::PostedWorker => "posted_worker",
            FilingType::Referral => "referral",
            FilingType::Emergency => "emergency",
            FilingType::OtherTemporary => "other_temporary",
        }
    }

    pub fn parse(code: &str) -> Option<FilingType> {
        FilingType::ALL.into_iter().find(|filing_type| filing_type.code() == code)
    }
}

/// Filing rules of one insured region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilingRules {
    /// How long a temporary filing lasts when no end is asked for, and the least it may last:
    /// "原则上不少于6个月" — never below six.
    pub temporary_validity_months: u32,
    /// A long-term filing cannot be changed or revoked within this many months of filing
    /// ([R] N22; 0 disables the lock).
    pub long_term_lock_months: u32,
    /// Treatment provinces where this region's insured count as filed without filing
    /// (京津冀 视同备案), and the class they then get.
    pub deemed_filed: Vec<RegionCode>,
    pub deemed_class: FilingClass,
}

/// The national minimum of a temporary filing's validity.
pub const TEMPORARY_VALIDITY_MONTHS_MIN: u32 = 6;

impl Default for FilingRules {
    fn default() -> FilingRules {
        FilingRules {
            temporary_validity_months: TEMPORARY_VALIDITY_MONTHS_MIN,
            long_term_lock_months: 6,
            deemed_filed: Vec::new(),
            deemed_class: FilingClass::Referral,
        }
    }
}

/// A filing record as the national filing database keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filing {
    /// The filing's id, unique per insured region.
    pub id: String,
    /// NHSA `psn_no`.
    pub person: String,
    /// NHSA `insuplc_admdvs`.
    pub insured_region: RegionCode,
    pub filing_type: FilingType,
    /// The province or city where the filing is valid.
    pub target: RegionCode,
    pub begins_on: NaiveDate,
    /// `None`: open-ended (long-term filings).
    pub ends_on: Option<NaiveDate>,
    pub filed_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A request to file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilingRequest {
    pub id: String,
    pub person: String,
    pub insured_region: RegionCode,
    pub filing_type: FilingType,
    pub target: RegionCode,
    pub begins_on: NaiveDate,
    /// Only for temporary filings; `None` takes the region's validity.
    pub ends_on: Option<NaiveDate>,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum FilingError {
    #[error("filing target {target} is in the insured province {insured}")]
    NotCrossProvince { insured: RegionCode, target: RegionCode },
    #[error("a long-term filing is open-ended and takes no end date")]
    LongTermWithEnd,
    #[error(
        "a temporary filing must last at least {months} months (ends {ends_on}, at least {least})"
    )]
    TemporaryTooShort { months: u32, ends_on: NaiveDate, least: NaiveDate },
    #[error("long-term filing {id} cannot be changed before {until}")]
    LongTermLocked { id: String, until: NaiveDate },
    #[error("filing {id} is already revoked")]
    AlreadyRevoked { id: String },
    #[error("a date is out of range")]
    DateOutOfRange,
}

impl FilingError {
    pub fn code(&self) -> &'static str {
        match self {
            FilingError::NotCrossProvince { .. } => "FIL_01",
            FilingError::LongTermWithEnd => "FIL_02",
            FilingError::TemporaryTooShort { .. } => "FIL_03",
            FilingError::LongTermLocked { .. } => "FIL_04",
            FilingError::AlreadyRevoked { .. } => "FIL_05",
            FilingError::DateOutOfRange => "FIL_06",
        }
    }
}

fn add_months(date: NaiveDate, months: u32) -> Result<NaiveDate, FilingError> {
    date.checked_add_months(Months::new(months)).ok_or(FilingError::DateOutOfRange)
}

/// Accepts a filing, or says which rule refuses it. `existing` are the person's filings.
pub fn file(
    request: FilingRequest,
    rules: &FilingRules,
    existing: &[Filing],
    now: NaiveDateTime,
) -> Result<Filing, FilingError> {
    if request.insured_region.same_province(request.target) {
        return Err(FilingError::NotCrossProvince {
            insured: request.insured_region,
            target: request.target,
        });
    }
    let ends_on = if request.filing_type.is_long_term() {
        if request.ends_on.is_some() {
            return Err(FilingError::LongTermWithEnd);
        }
        check_long_term_lock(existing, rules, now)?;
        None
    } else {
        let months = rules.temporary_validity_months.max(TEMPORARY_VALIDITY_MONTHS_MIN);
        let least = add_months(request.begins_on, months)?;
        match request.ends_on {
            Some(ends_on) if ends_on < least => {
                return Err(FilingError::TemporaryTooShort { months, ends_on, least });
            }
            Some(ends_on) => Some(ends_on),
            None => Some(least),
        }
    };
    Ok(Filing {
        id: request.id,
        person: request.person,
        insured_region: request.insured_region,
        filing_type: request.filing_type,
        target: request.target,
        begins_on: request.begins_on,
        ends_on,
        filed_at: now,
        revoked_at: None,
    })
}

/// A new long-term filing replaces the current one, which is locked for a while after filing.
fn check_long_term_lock(
    existing: &[Filing],
    rules: &FilingRules,
    now: NaiveDateTime,
) -> Result<(), FilingError> {
    for filing in existing.iter().filter(|f| f.filing_type.is_long_term() && f.revoked_at.is_none())
    {
        let until = add_months(filing.filed_at.date(), rules.long_term_lock_months)?;
        if now.date() < until {
            return Err(FilingError::LongTermLocked { id: filing.id.clone(), until });
        }
    }
    Ok(())
}

/// Revokes a filing at `now`.
pub fn revoke(
    filing: &Filing,
    rules: &FilingRules,
    now: NaiveDateTime,
) -> Result<Filing, FilingError> {
    if filing.revoked_at.is_some() {
        return Err(FilingError::AlreadyRevoked { id: filing.id.clone() });
    }
    if filing.filing_type.is_long_term() {
        check_long_term_lock(std::slice::from_ref(filing), rules, now)?;
    }
    Ok(Filing { revoked_at: Some(now), ..filing.clone() })
}

/// The episode a filing decision is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Episode {
    pub insured_region: RegionCode,
    /// NHSA `mdtrtarea_admvs`.
    pub treatment_region: RegionCode,
    pub admitted_on: NaiveDate,
    /// When discharge settlement happens: filings made up to then count.
    pub settled_at: NaiveDateTime,
    /// Admitted as an emergency (急诊抢救): counts as filed.
    pub emergency: bool,
}

/// Why a class applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilingBasis {
    /// A filing record, by id.
    Filed(String),
    /// An emergency admission counts as filed.
    EmergencyDeemed,
    /// The insured region deems its insured filed in the treatment province.
    RegionDeemed,
    Unfiled,
}

/// The class that applies to an episode (`None`: unfiled) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilingDecision {
    pub class: Option<FilingClass>,
    pub basis: FilingBasis,
}

/// Whether a filing counts for an episode: filed before settlement, not revoked by then, its
/// target covering the treatment place, and its validity overlapping the stay.
pub fn covers(filing: &Filing, episode: &Episode) -> bool {
    let settled_on = episode.settled_at.date();
    filing.insured_region == episode.insured_region
        && filing.filed_at <= episode.settled_at
        && filing.revoked_at.is_none_or(|revoked_at| revoked_at > episode.settled_at)
        && filing.target.covers(episode.treatment_region)
        && filing.begins_on <= settled_on
        && filing.ends_on.is_none_or(|ends_on| ends_on >= episode.admitted_on)
}

/// Decides the class for an episode from the person's filings: of all that apply, the one the
/// insured place's table treats best.
pub fn decide(
    filings: &[Filing],
    episode: &Episode,
    rules: &FilingRules,
    table: &CrossProvince,
) -> FilingDecision {
    let mut candidates: Vec<(FilingClass, FilingBasis)> = filings
        .iter()
        .filter(|filing| covers(filing, episode))
        .map(|filing| (filing.filing_type.class(), FilingBasis::Filed(filing.id.clone())))
        .collect();
    if episode.emergency {
        candidates.push((FilingClass::Emergency, FilingBasis::EmergencyDeemed));
    }
    let treatment_province = episode.treatment_region.province();
    if rules.deemed_filed.contains(&treatment_province) {
        candidates.push((rules.deemed_class, FilingBasis::RegionDeemed));
    }
    let best = candidates.into_iter().min_by_key(|(class, _)| {
        let row = table.row(Some(*class)).value();
        // Points take off: smaller is better. A multiplier keeps: larger is better.
        let badness = match table.mode {
            AdjustmentMode::Points => row,
            AdjustmentMode::Multiplier => -row,
        };
        (badness, *class)
    });
    match best {
        Some((class, basis)) => FilingDecision { class: Some(class), basis },
        None => FilingDecision { class: None, basis: FilingBasis::Unfiled },
    }
}

#[cfg(test)]
mod tests;
