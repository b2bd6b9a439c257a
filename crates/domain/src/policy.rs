//! The insured-place policy: deductibles, ratios, caps and layers of one scheme of one region.
//!
//! National principle 参保地政策: whatever the treatment place, the insured place's own
//! deductible, ratios and caps apply, adjusted for cross-province care by filing class
//! (domain.md §4.2).

use rust_decimal::Decimal;

use crate::filing::FilingClass;
use crate::fingerprint::Fingerprinter;
use crate::ids::{HospitalLevel, RegionCode, Scheme};
use crate::money::{Amount, Ratio};

/// Inpatient terms at one hospital level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelTerms {
    /// 起付线 for the first admission of the year.
    pub deductible_first: Amount,
    /// 起付线 for later admissions of the same year.
    pub deductible_repeat: Amount,
    /// 统筹基金支付比例 for an in-service (not retired) person.
    pub ratio: Ratio,
}

/// A layer above the pooled fund (large-amount subsidy, critical-illness insurance) or
/// beside it (medical assistance): a ratio and a yearly cap per person.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Layer {
    pub ratio: Ratio,
    pub cap: Amount,
}

/// How a region lowers its ratio for cross-province care (domain.md §4.2: regions encode it
/// either as points or as a multiplier).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjustmentMode {
    /// `ratio − reduction`: 0.10 takes ten percentage points off (the `settlement.md` rule).
    Points,
    /// `ratio × factor`: 0.90 pays ninety percent of the local ratio.
    Multiplier,
}

/// Cross-province reductions (or factors) by filing class, and for a person with no valid
/// filing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrossProvince {
    pub mode: AdjustmentMode,
    pub long_term: Ratio,
    pub referral: Ratio,
    pub emergency: Ratio,
    pub other_temporary: Ratio,
    pub unfiled: Ratio,
}

impl CrossProvince {
    /// The row that applies to a filing class (`None`: no valid filing).
    pub fn row(&self, filing: Option<FilingClass>) -> Ratio {
        match filing {
            Some(FilingClass::LongTerm) => self.long_term,
            Some(FilingClass::Referral) => self.referral,
            Some(FilingClass::Emergency) => self.emergency,
            Some(FilingClass::OtherTemporary) => self.other_temporary,
            None => self.unfiled,
        }
    }

    /// Applies the row to a local ratio, before clamping.
    pub fn adjust(&self, local: Decimal, filing: Option<FilingClass>) -> Decimal {
        let row = self.row(filing).value();
        match self.mode {
            AdjustmentMode::Points => local - row,
            AdjustmentMode::Multiplier => local * row,
        }
    }
}

/// The inpatient policy of one scheme in one insured region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// NHSA `insuplc_admdvs`: the insured place this policy belongs to.
    pub region: RegionCode,
    pub scheme: Scheme,
    /// Which policy this is: recorded on each settlement for audit.
    pub version: String,
    /// Terms by hospital level, indexed by [`HospitalLevel::index`].
    pub levels: [LevelTerms; 3],
    /// Added to the ratio for retirees.
    pub retiree_uplift: Ratio,
    /// 统筹基金最高支付限额: the pooled fund's yearly maximum per person.
    pub annual_cap: Amount,
    /// Employee large-amount subsidy (职工大额, `hifob_pay`) or resident critical-illness
    /// insurance (居民大病, `hifmi_pay`), by scheme.
    pub catastrophic: Layer,
    /// Medical assistance (医疗救助, `maf_pay`) for eligible persons.
    pub assistance: Layer,
    pub cross_province: CrossProvince,
}

impl Policy {
    pub fn level(&self, level: HospitalLevel) -> &LevelTerms {
        &self.levels[level.index()]
    }

    /// A short, stable hash of the policy's terms, independent of the version label.
    pub fn fingerprint(&self) -> String {
        let mut hash = Fingerprinter::new("policy");
        hash.text(self.region.as_str()).text(self.scheme.code());
        for level in &self.levels {
            hash.decimal(level.deductible_first.value())
                .decimal(level.deductible_repeat.value())
                .decimal(level.ratio.value());
        }
        hash.decimal(self.retiree_uplift.value()).decimal(self.annual_cap.value());
        for layer in [self.catastrophic, self.assistance] {
            hash.decimal(layer.ratio.value()).decimal(layer.cap.value());
        }
        let table = &self.cross_province;
        hash.tag(match table.mode {
            AdjustmentMode::Points => 0,
            AdjustmentMode::Multiplier => 1,
        });
        for row in
            [table.long_term, table.referral, table.emergency, table.other_temporary, table.unfiled]
        {
            hash.decimal(row.value());
        }
        hash.finish()
    }
}

/// Everything an insured region decides: its filing rules and the policy of each scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsuredRegion {
    pub region: RegionCode,
    /// For people: `天津市 Tianjin`.
    pub name: String,
    pub filing: crate::filing::FilingRules,
    /// Policies by scheme (at most one each).
    pub schemes: Vec<Policy>,
}

impl InsuredRegion {
    pub fn policy(&self, scheme: Scheme) -> Option<&Policy> {
        self.schemes.iter().find(|policy| policy.scheme == scheme)
    }
}
