//! The insured-place policy: deductibles, ratios, caps and layers of one scheme of one region.
//!
//! National principle 参保地政策: whatever the treatment place, the insured place's own
//! deductible, ratios and caps apply, adjusted for cross-province care by filing class
//! (domain.md §4.2).

use chrono::NaiveDate;
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

/// A band of a segmented ratio (issue #13 §8; Beijing's employees: the deductible to 30,000,
/// 30,000 to 40,000, above 40,000): from `from` on, `ratio` applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    pub from: Amount,
    pub ratio: Ratio,
}

/// Checks that bands rise: each `from` above zero and above the one before.
pub fn bands_rise(bands: &[Band]) -> bool {
    let mut last = Amount::ZERO;
    bands.iter().all(|band| {
        let rises = band.from > last;
        last = band.from;
        rises
    })
}

/// The terms of a resident contribution tier (seed 004 art. 14: adults choose the tier they
/// pay; arts. 20–21: the ratio and the cap follow the hospital level and the tier).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierTerms {
    /// Ratios by hospital level, indexed by [`HospitalLevel::index`].
    pub ratios: [Ratio; 3],
    pub annual_cap: Amount,
}

/// How the catastrophic layer measures what it pays on (issue #13 §8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatastrophicTerms {
    /// 大病保险起付线: when set, the layer pays on the in-scope expense the pooled fund left to
    /// the person this year, above this threshold; when not, on the expense above the pooled
    /// fund's cap (`settlement.md` step 6).
    pub threshold: Option<Amount>,
    /// Higher ratios from amounts of that same yearly total (with a threshold only).
    pub bands: Vec<Band>,
    /// The layer is contributory (Tianjin's 大额医疗费救助, seed 004 art. 56): only a person
    /// who paid its contribution draws it.
    pub contributory: bool,
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
    /// The region does not settle the unfiled directly (`unfiled = "refuse"`): the patient
    /// pays in full and claims at home (notice III(5)). `unfiled` is then unused.
    pub refuse_unfiled: bool,
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
    /// The first day this policy applies to an admission (`None`: always, until a later one).
    pub effective_from: Option<NaiveDate>,
    /// Segmented pooled-fund ratios by hospital level: the bands of a stay's in-scope expense
    /// above the first one, which is paid at the level's ratio. Empty: one ratio.
    pub segments: [Vec<Band>; 3],
    pub catastrophic_terms: CatastrophicTerms,
    /// Resident contribution tiers by number; a person without a tier, or in a region
    /// without tiers, has the terms above.
    pub tiers: Vec<(u8, TierTerms)>,
}

impl Policy {
    pub fn level(&self, level: HospitalLevel) -> &LevelTerms {
        &self.levels[level.index()]
    }

    /// The terms of a contribution tier, when this policy has it.
    pub fn tier(&self, tier: Option<u8>) -> Option<&TierTerms> {
        let tier = tier?;
        self.tiers.iter().find(|(number, _)| *number == tier).map(|(_, terms)| terms)
    }

    /// The local ratio at a level for a person of a tier (before uplift and adjustment).
    pub fn local_ratio(&self, level: HospitalLevel, tier: Option<u8>) -> Ratio {
        self.tier(tier).map_or(self.level(level).ratio, |terms| terms.ratios[level.index()])
    }

    /// The pooled fund's yearly cap for a person of a tier.
    pub fn annual_cap_for(&self, tier: Option<u8>) -> Amount {
        self.tier(tier).map_or(self.annual_cap, |terms| terms.annual_cap)
    }

    /// The policy with every yearly cap lowered by `held` (what other stays' admission holds
    /// keep, issue #13 §2), never below zero.
    pub fn with_caps_lowered(&self, held: Amount) -> Policy {
        let mut lowered = self.clone();
        lowered.annual_cap = self.annual_cap.saturating_sub(held);
        for (_, terms) in &mut lowered.tiers {
            terms.annual_cap = terms.annual_cap.saturating_sub(held);
        }
        lowered
    }

    /// Every local ratio this policy can apply at a level: the level's, its bands', its tiers'.
    fn local_ratios(&self, level: HospitalLevel) -> impl Iterator<Item = Ratio> + '_ {
        std::iter::once(self.level(level).ratio)
            .chain(self.segments[level.index()].iter().map(|band| band.ratio))
            .chain(self.tiers.iter().map(move |(_, terms)| terms.ratios[level.index()]))
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
        // Only a refusing table adds to the hash: earlier policies keep their fingerprints.
        if table.refuse_unfiled {
            hash.text("refuse_unfiled");
        }
        if let Some(from) = self.effective_from {
            hash.text(&from.to_string());
        }
        // The terms of issue #13 §8 add to the hash only when a policy has them.
        for (level, bands) in self.segments.iter().enumerate() {
            for band in bands {
                hash.text(&format!("segment {level}"));
                hash.decimal(band.from.value()).decimal(band.ratio.value());
            }
        }
        let terms = &self.catastrophic_terms;
        if let Some(threshold) = terms.threshold {
            hash.text("catastrophic threshold").decimal(threshold.value());
        }
        for band in &terms.bands {
            hash.text("catastrophic band").decimal(band.from.value()).decimal(band.ratio.value());
        }
        if terms.contributory {
            hash.text("catastrophic contributory");
        }
        for (tier, terms) in &self.tiers {
            hash.text(&format!("tier {tier}")).decimal(terms.annual_cap.value());
            for ratio in terms.ratios {
                hash.decimal(ratio.value());
            }
        }
        hash.finish()
    }
}

/// The most a cross-province adjustment may take off the local ratio (domain.md §4.2, the
/// 2022 national notice): none for the long-term filed (they settle at the local standard),
/// ten points for referral and emergency, twenty for other temporary care and the unfiled.
pub const NATIONAL_LIMITS: [(FilingClassRow, Decimal); 5] = [
    (FilingClassRow::LongTerm, Decimal::ZERO),
    (FilingClassRow::Referral, Decimal::from_parts(10, 0, 0, false, 2)),
    (FilingClassRow::Emergency, Decimal::from_parts(10, 0, 0, false, 2)),
    (FilingClassRow::OtherTemporary, Decimal::from_parts(20, 0, 0, false, 2)),
    (FilingClassRow::Unfiled, Decimal::from_parts(20, 0, 0, false, 2)),
];

/// A row of the cross-province table, by the name it has in a policy file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilingClassRow {
    LongTerm,
    Referral,
    Emergency,
    OtherTemporary,
    Unfiled,
}

impl FilingClassRow {
    pub fn key(self) -> &'static str {
        match self {
            FilingClassRow::LongTerm => "long_term",
            FilingClassRow::Referral => "referral",
            FilingClassRow::Emergency => "emergency",
            FilingClassRow::OtherTemporary => "other_temporary",
            FilingClassRow::Unfiled => "unfiled",
        }
    }

    fn class(self) -> Option<FilingClass> {
        match self {
            FilingClassRow::LongTerm => Some(FilingClass::LongTerm),
            FilingClassRow::Referral => Some(FilingClass::Referral),
            FilingClassRow::Emergency => Some(FilingClass::Emergency),
            FilingClassRow::OtherTemporary => Some(FilingClass::OtherTemporary),
            FilingClassRow::Unfiled => None,
        }
    }
}

/// A cross-province row that takes more off than the national limit allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "takes {taken} off the local ratio {local} (level {level}{who}); the national limit for \
     {row} is {limit}",
    row = .row.key(),
    who = if *.retiree { ", retiree" } else { "" }
)]
pub struct LimitBreach {
    pub row: FilingClassRow,
    pub level: u8,
    pub retiree: bool,
    pub local: Decimal,
    pub taken: Decimal,
    pub limit: Decimal,
}

impl Policy {
    /// Checks the cross-province table against [`NATIONAL_LIMITS`] at every hospital level,
    /// for every ratio there (bands, tiers), for in-service persons and retirees (a multiplier takes more points off a higher
    /// ratio). A refused unfiled row takes nothing off and is not checked.
    pub fn check_national_limits(&self) -> Result<(), LimitBreach> {
        for (row, limit) in NATIONAL_LIMITS {
            if row == FilingClassRow::Unfiled && self.cross_province.refuse_unfiled {
                continue;
            }
            for (level, hospital) in (1u8..).zip(HospitalLevel::ALL) {
                for ratio in self.local_ratios(hospital) {
                    for retiree in [false, true] {
                        let uplift =
                            if retiree { self.retiree_uplift.value() } else { Decimal::ZERO };
                        let local = (ratio.value() + uplift).min(Decimal::ONE);
                        let adjusted =
                            self.cross_province.adjust(local, row.class()).max(Decimal::ZERO);
                        let taken = (local - adjusted).normalize();
                        if taken > limit {
                            return Err(LimitBreach { row, level, retiree, local, taken, limit });
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Everything an insured region decides: its filing rules and the policy of each scheme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InsuredRegion {
    pub region: RegionCode,
    /// For people: `天津市 Tianjin`.
    pub name: String,
    pub filing: crate::filing::FilingRules,
    /// How its persons' admission holds are bounded.
    pub holds: crate::hold::HoldRules,
    /// Policies by scheme (at most one each).
    pub schemes: Vec<Policy>,
}

impl InsuredRegion {
    /// The newest policy of a scheme (the one in force from the latest date).
    pub fn policy(&self, scheme: Scheme) -> Option<&Policy> {
        self.schemes
            .iter()
            .filter(|policy| policy.scheme == scheme)
            .max_by_key(|policy| policy.effective_from)
    }

    /// The policy of a scheme in force on `day` (the admission date, as the rules say): of
    /// those effective by then, the latest. `None` when the scheme has no policy that early.
    pub fn policy_on(&self, scheme: Scheme, day: NaiveDate) -> Option<&Policy> {
        self.schemes
            .iter()
            .filter(|policy| policy.scheme == scheme)
            .filter(|policy| policy.effective_from.is_none_or(|from| from <= day))
            .max_by_key(|policy| policy.effective_from)
    }
}
