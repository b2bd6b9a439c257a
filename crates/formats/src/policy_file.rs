//! Policy files: one TOML file per insured region (`data/policy/<region>-<name>.toml`).
//!
//! ```toml
//! region = "120000"
//! name = "天津市 Tianjin"
//! version = "2024.1"
//! [filing]                 # optional; national defaults otherwise
//! temporary_validity_months = 6
//! [holds]                  # optional; admission holds (2401), national defaults otherwise
//! typical = "20000"        # held when the admission declares no amount
//! max = "100000"           # the most one admission holds
//! days = 30                # how long a hold lasts
//! per_person = 2           # open holds a person may have at once
//! [schemes.310]            # the shape of a quote case's `policy`, without region/scheme
//! annual_cap = "350000"
//! ...
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use yidi_domain::filing::{FilingClass, FilingRules};
use yidi_domain::hold::HoldRules;
use yidi_domain::ids::{RegionCode, Scheme};
use yidi_domain::policy::InsuredRegion;

use crate::dto::{amount, date, region, PolicyDto};
use crate::error::{from_toml, FormatError};
use crate::path::FieldPath;
use crate::scalar::Scalar;

#[derive(Debug, Deserialize)]
struct FilingDto<'a> {
    #[serde(default)]
    temporary_validity_months: Option<u32>,
    #[serde(default)]
    long_term_lock_months: Option<u32>,
    #[serde(default, borrow)]
    deemed_filed: Vec<Scalar<'a>>,
    #[serde(default)]
    deemed_class: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldsDto<'a> {
    #[serde(default, borrow)]
    typical: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    max: Option<Scalar<'a>>,
    #[serde(default)]
    days: Option<u32>,
    #[serde(default)]
    per_person: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct PolicyFileDto<'a> {
    #[serde(borrow)]
    region: Scalar<'a>,
    name: String,
    version: String,
    /// The first admission date the file's policies apply to; absent: from the beginning.
    #[serde(default)]
    effective_from: Option<String>,
    #[serde(default, borrow)]
    filing: Option<FilingDto<'a>>,
    #[serde(default, borrow)]
    holds: Option<HoldsDto<'a>>,
    #[serde(borrow)]
    schemes: BTreeMap<String, PolicyDto<'a>>,
}

/// Reads a policy file's text.
pub fn parse_policy_file(text: &str) -> Result<InsuredRegion, FormatError> {
    let dto: PolicyFileDto = from_toml(text)?;
    let root = FieldPath::ROOT;
    let region_code = region(&dto.region, &root.field("region"))?;
    let filing = match &dto.filing {
        Some(filing) => filing_rules(filing)?,
        None => FilingRules::default(),
    };
    let holds = match &dto.holds {
        Some(holds) => hold_rules(holds)?,
        None => HoldRules::default(),
    };
    let mut schemes = Vec::new();
    let schemes_path = root.field("schemes");
    for (code, scheme_dto) in &dto.schemes {
        let path = schemes_path.field(code);
        let scheme: Scheme = code.parse().map_err(|error| FormatError::invalid(path, error))?;
        let mut policy = scheme_dto.to_policy(&path, Some(region_code), Some(scheme))?;
        check_region(policy.region, region_code, &path)?;
        if policy.effective_from.is_none() {
            policy.effective_from = match &dto.effective_from {
                Some(text) => Some(date(text, &root.field("effective_from"))?),
                None => None,
            };
        }
        policy.check_national_limits().map_err(|breach| {
            FormatError::invalid(path.field("cross_province").field(breach.row.key()), breach)
        })?;
        policy.version = format!("{}/{}+{}", region_code, dto.version, policy.fingerprint());
        schemes.push(policy);
    }
    if schemes.is_empty() {
        return Err(FormatError::invalid("schemes", "a policy file needs at least one scheme"));
    }
    Ok(InsuredRegion { region: region_code, name: dto.name, filing, holds, schemes })
}

/// Several files of one region (one per edition of its policy, each with its
/// `effective_from`) as one region: the policies of all of them, the filing rules and name of
/// the newest. Two policies of one scheme from the same date are an error.
pub fn combine(files: Vec<InsuredRegion>) -> Result<Vec<InsuredRegion>, FormatError> {
    let mut regions: Vec<InsuredRegion> = Vec::new();
    for file in files {
        let Some(found) = regions.iter_mut().find(|region| region.region == file.region) else {
            regions.push(file);
            continue;
        };
        for policy in &file.schemes {
            let clash = found.schemes.iter().any(|other| {
                other.scheme == policy.scheme && other.effective_from == policy.effective_from
            });
            if clash {
                let message = format!(
                    "{} has two policies of scheme {} in force from {}",
                    file.region,
                    policy.scheme.code(),
                    policy.effective_from.map_or("the beginning".to_owned(), |d| d.to_string())
                );
                return Err(FormatError::invalid("effective_from", message));
            }
        }
        let newest = |region: &InsuredRegion| region.schemes.iter().map(|p| p.effective_from).max();
        if newest(&file) > newest(found) {
            found.name.clone_from(&file.name);
            found.filing = file.filing.clone();
            found.holds = file.holds;
        }
        found.schemes.extend(file.schemes);
    }
    Ok(regions)
}

fn check_region(
    found: RegionCode,
    expected: RegionCode,
    path: &FieldPath,
) -> Result<(), FormatError> {
    if found == expected {
        Ok(())
    } else {
        let message = format!("{found} is not the file's region {expected}");
        Err(FormatError::invalid(path.field("region"), message))
    }
}

fn hold_rules(dto: &HoldsDto<'_>) -> Result<HoldRules, FormatError> {
    let defaults = HoldRules::default();
    let path = FieldPath::ROOT.field("holds");
    let rules = HoldRules {
        typical: match &dto.typical {
            Some(text) => amount(text, &path.field("typical"))?,
            None => defaults.typical,
        },
        max: match &dto.max {
            Some(text) => amount(text, &path.field("max"))?,
            None => defaults.max,
        },
        days: dto.days.unwrap_or(defaults.days),
        per_person: dto.per_person.unwrap_or(defaults.per_person),
    };
    rules.check().map_err(|why| FormatError::invalid(path, why))?;
    Ok(rules)
}

fn filing_rules(dto: &FilingDto<'_>) -> Result<FilingRules, FormatError> {
    let defaults = FilingRules::default();
    let filing = FieldPath::ROOT.field("filing");
    let deemed = filing.field("deemed_filed");
    let deemed_filed = dto
        .deemed_filed
        .iter()
        .enumerate()
        .map(|(index, code)| region(code, &deemed.index(index)))
        .collect::<Result<Vec<_>, _>>()?;
    let deemed_class = match dto.deemed_class.as_deref() {
        None => defaults.deemed_class,
        Some(code) => FilingClass::parse(code).ok_or_else(|| {
            FormatError::invalid(
                filing.field("deemed_class"),
                yidi_domain::error::ValueError::UnknownFilingClass,
            )
        })?,
    };
    Ok(FilingRules {
        temporary_validity_months: dto
            .temporary_validity_months
            .unwrap_or(defaults.temporary_validity_months),
        long_term_lock_months: dto.long_term_lock_months.unwrap_or(defaults.long_term_lock_months),
        deemed_filed,
        deemed_class,
    })
}
