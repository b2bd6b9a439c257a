//! Writes a quote case as JSON, the inverse of [`crate::case`]: for simulators and tools that
//! hand a case to `yidi quote` or to another implementation of `settlement.md`.

use std::collections::BTreeMap;

use serde::Serialize;
use yidi_domain::catalogue::{Catalogue, ItemClass};
use yidi_domain::claim::BenefitStatus;
use yidi_domain::ids::HospitalLevel;
use yidi_domain::policy::{AdjustmentMode, Band, Layer, Policy};

use crate::case::QuoteCase;

#[derive(Serialize)]
struct PairOut {
    first: String,
    repeat: String,
}

#[derive(Serialize)]
struct LayerOut {
    ratio: String,
    cap: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    threshold: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bands: Vec<BandOut>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    contributory: bool,
}

#[derive(Serialize)]
struct BandOut {
    from: String,
    ratio: String,
}

#[derive(Serialize)]
struct TierOut {
    ratio: BTreeMap<String, String>,
    annual_cap: String,
}

#[derive(Serialize)]
struct CrossProvinceOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<&'static str>,
    long_term: String,
    referral: String,
    emergency: String,
    other_temporary: String,
    unfiled: String,
}

#[derive(Serialize)]
struct PolicyOut {
    region: String,
    scheme: &'static str,
    deductible: BTreeMap<String, PairOut>,
    ratio: BTreeMap<String, String>,
    retiree_uplift: String,
    annual_cap: String,
    catastrophic: LayerOut,
    assistance: LayerOut,
    cross_province: CrossProvinceOut,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    segments: BTreeMap<String, Vec<BandOut>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tiers: BTreeMap<String, TierOut>,
}

#[derive(Serialize)]
struct ItemOut {
    class: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    self_pay_ratio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price_cap: Option<String>,
}

#[derive(Serialize)]
struct CatalogueOut {
    items: BTreeMap<String, ItemOut>,
}

#[derive(Serialize)]
struct PersonOut {
    retiree: bool,
    assistance_eligible: bool,
    benefit_status: &'static str,
    use_account: bool,
    account_balance: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    contribution_tier: Option<u8>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    large_amount_contributor: bool,
}

#[derive(Serialize)]
struct FilingOut {
    #[serde(rename = "type")]
    class: Option<&'static str>,
}

#[derive(Serialize)]
struct YtdOut {
    admissions: u32,
    pool_paid: String,
    catastrophic_paid: String,
    assistance_paid: String,
    inscp_selfborne: String,
}

#[derive(Serialize)]
struct LineOut {
    code: String,
    qty: String,
    unit_price: String,
}

#[derive(Serialize)]
struct FlagsOut {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    work_injury: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    third_party: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    third_party_status: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    public_health: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    abroad: bool,
}

/// A case in the JSON shape `yidi quote` reads.
#[derive(Serialize)]
pub struct CaseOut {
    policy: PolicyOut,
    catalogue: CatalogueOut,
    person: PersonOut,
    filing: FilingOut,
    hospital_level: u8,
    ytd: YtdOut,
    lines: Vec<LineOut>,
    flags: FlagsOut,
}

fn layer(layer: &Layer) -> LayerOut {
    LayerOut {
        ratio: layer.ratio.to_string(),
        cap: layer.cap.to_string(),
        threshold: None,
        bands: Vec::new(),
        contributory: false,
    }
}

fn bands(bands: &[Band]) -> Vec<BandOut> {
    bands
        .iter()
        .map(|band| BandOut { from: band.from.to_string(), ratio: band.ratio.to_string() })
        .collect()
}

fn catastrophic(policy: &Policy) -> LayerOut {
    let terms = &policy.catastrophic_terms;
    LayerOut {
        threshold: terms.threshold.map(|threshold| threshold.to_string()),
        bands: bands(&terms.bands),
        contributory: terms.contributory,
        ..layer(&policy.catastrophic)
    }
}

fn tiers(policy: &Policy) -> BTreeMap<String, TierOut> {
    policy
        .tiers
        .iter()
        .map(|(tier, terms)| {
            let ratio = HospitalLevel::ALL
                .into_iter()
                .map(|level| (level.number().to_string(), terms.ratios[level.index()].to_string()))
                .collect();
            (tier.to_string(), TierOut { ratio, annual_cap: terms.annual_cap.to_string() })
        })
        .collect()
}

fn policy(policy: &Policy) -> PolicyOut {
    let mut deductible = BTreeMap::new();
    let mut ratio = BTreeMap::new();
    for level in HospitalLevel::ALL {
        let terms = policy.level(level);
        let key = level.number().to_string();
        deductible.insert(
            key.clone(),
            PairOut {
                first: terms.deductible_first.to_string(),
                repeat: terms.deductible_repeat.to_string(),
            },
        );
        ratio.insert(key, terms.ratio.to_string());
    }
    let table = &policy.cross_province;
    PolicyOut {
        region: policy.region.to_string(),
        scheme: policy.scheme.code(),
        deductible,
        ratio,
        retiree_uplift: policy.retiree_uplift.to_string(),
        annual_cap: policy.annual_cap.to_string(),
        catastrophic: catastrophic(policy),
        assistance: layer(&policy.assistance),
        cross_province: CrossProvinceOut {
            mode: match table.mode {
                AdjustmentMode::Points => None,
                AdjustmentMode::Multiplier => Some("multiplier"),
            },
            long_term: table.long_term.to_string(),
            referral: table.referral.to_string(),
            emergency: table.emergency.to_string(),
            other_temporary: table.other_temporary.to_string(),
            unfiled: if table.refuse_unfiled {
                "refuse".to_owned()
            } else {
                table.unfiled.to_string()
            },
        },
        segments: HospitalLevel::ALL
            .into_iter()
            .filter(|level| !policy.segments[level.index()].is_empty())
            .map(|level| (level.number().to_string(), bands(&policy.segments[level.index()])))
            .collect(),
        tiers: tiers(policy),
    }
}

fn catalogue(catalogue: &Catalogue) -> CatalogueOut {
    let items = catalogue
        .items
        .iter()
        .map(|(code, item)| {
            let self_pay_ratio = match item.class {
                ItemClass::B { self_pay_ratio } => Some(self_pay_ratio.to_string()),
                ItemClass::A | ItemClass::C => None,
            };
            let out = ItemOut {
                class: item.class.letter(),
                self_pay_ratio,
                price_cap: item.price_cap.map(|cap| cap.value().to_string()),
            };
            (code.clone(), out)
        })
        .collect();
    CatalogueOut { items }
}

impl CaseOut {
    pub fn from_case(case: &QuoteCase) -> CaseOut {
        let claim = &case.claim;
        let person = &claim.person;
        CaseOut {
            policy: policy(&case.policy),
            catalogue: catalogue(&case.catalogue),
            person: PersonOut {
                retiree: person.retiree,
                assistance_eligible: person.assistance_eligible,
                benefit_status: match person.benefit_status {
                    BenefitStatus::Active => "active",
                    BenefitStatus::Suspended => "suspended",
                },
                use_account: person.use_account,
                account_balance: person.account_balance.to_string(),
                contribution_tier: person.contribution_tier,
                large_amount_contributor: person.large_amount_contributor,
            },
            filing: FilingOut { class: claim.filing.map(|class| class.code()) },
            hospital_level: claim.hospital_level.number(),
            ytd: YtdOut {
                admissions: claim.ytd.admissions,
                pool_paid: claim.ytd.pool_paid.to_string(),
                catastrophic_paid: claim.ytd.catastrophic_paid.to_string(),
                assistance_paid: claim.ytd.assistance_paid.to_string(),
                inscp_selfborne: claim.ytd.inscp_selfborne.to_string(),
            },
            lines: claim
                .lines
                .iter()
                .map(|line| LineOut {
                    code: line.code.clone(),
                    qty: line.quantity.value().to_string(),
                    unit_price: line.unit_price.value().to_string(),
                })
                .collect(),
            flags: FlagsOut {
                work_injury: claim.flags.work_injury,
                third_party: claim.flags.third_party,
                third_party_status: claim.flags.third_party_status.code(),
                public_health: claim.flags.public_health,
                abroad: claim.flags.abroad,
            },
        }
    }
}
