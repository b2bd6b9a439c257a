//! The policy and catalogue files under `data/`, embedded in every binary so that the whole
//! network runs with no files to install. Services can load other files by path instead.
//!
//! # Layout
//! One function per kind of file; a test checks that every embedded file parses and that
//! the lists match the folders.

use yidi_domain::policy::InsuredRegion;
use yidi_formats::catalogue_file::{parse_catalogue_file, TreatmentCatalogue};
use yidi_formats::policy_file::{combine, parse_policy_file};
use yidi_formats::FormatError;

/// `(file name, text)` of every policy file.
pub const POLICY_FILES: [(&str, &str); 4] = [
    ("110000-beijing.toml", include_str!("../../../data/policy/110000-beijing.toml")),
    ("120000-tianjin.toml", include_str!("../../../data/policy/120000-tianjin.toml")),
    ("310000-shanghai.toml", include_str!("../../../data/policy/310000-shanghai.toml")),
    ("441900-dongguan.toml", include_str!("../../../data/policy/441900-dongguan.toml")),
];

/// `(file name, text)` of every catalogue file.
pub const CATALOGUE_FILES: [(&str, &str); 5] = [
    ("110000.toml", include_str!("../../../data/catalogue/110000.toml")),
    ("120000.toml", include_str!("../../../data/catalogue/120000.toml")),
    ("310000.toml", include_str!("../../../data/catalogue/310000.toml")),
    ("330000.toml", include_str!("../../../data/catalogue/330000.toml")),
    ("440000.toml", include_str!("../../../data/catalogue/440000.toml")),
];

/// An embedded file that does not parse, named.
#[derive(Debug)]
pub struct DataError {
    pub file: &'static str,
    pub error: FormatError,
}

impl std::error::Error for DataError {}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "data/{}: {}", self.file, self.error)
    }
}

/// Every embedded insured region, a region's editions (files with their `effective_from`)
/// combined.
pub fn insured_regions() -> Result<Vec<InsuredRegion>, DataError> {
    let files = POLICY_FILES
        .iter()
        .map(|(file, text)| parse_policy_file(text).map_err(|error| DataError { file, error }))
        .collect::<Result<Vec<_>, _>>()?;
    combine(files).map_err(|error| DataError { file: "policy", error })
}

/// Every embedded treatment-place catalogue.
pub fn treatment_catalogues() -> Result<Vec<TreatmentCatalogue>, DataError> {
    CATALOGUE_FILES
        .iter()
        .map(|(file, text)| parse_catalogue_file(text).map_err(|error| DataError { file, error }))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn folder(name: &str) -> BTreeSet<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data").join(name);
        std::fs::read_dir(path)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|file| file.ends_with(".toml"))
            .collect()
    }

    #[test]
    fn every_data_file_is_embedded() {
        let policies: BTreeSet<String> = POLICY_FILES.iter().map(|(f, _)| f.to_string()).collect();
        let catalogues: BTreeSet<String> =
            CATALOGUE_FILES.iter().map(|(f, _)| f.to_string()).collect();
        assert_eq!(policies, folder("policy"));
        assert_eq!(catalogues, folder("catalogue"));
    }

    #[test]
    fn every_policy_file_parses_with_both_schemes() {
        let regions = insured_regions().unwrap();
        assert!(regions.len() >= 4);
        for region in &regions {
            assert_eq!(region.schemes.len(), 2, "{}", region.name);
            for policy in &region.schemes {
                assert!(policy.version.starts_with(region.region.as_str()));
            }
        }
    }

    #[test]
    fn every_catalogue_has_a_few_hundred_items_of_each_class() {
        for catalogue in treatment_catalogues().unwrap() {
            let items = &catalogue.catalogue.items;
            assert!(items.len() >= 300, "{} has {}", catalogue.region, items.len());
            for letter in ["A", "B", "C"] {
                assert!(items.values().any(|item| item.class.letter() == letter));
            }
            assert!(items.values().any(|item| item.price_cap.is_some()));
        }
    }

    #[test]
    fn tianjin_file_holds_the_values_of_the_settlement_examples() {
        // settlement.md examples 01–06 use Tianjin's employee and resident policy.
        let regions = insured_regions().unwrap();
        let tianjin = regions.iter().find(|r| r.region.as_str() == "120000").unwrap();
        let employee = tianjin.policy(yidi_domain::ids::Scheme::Employee).unwrap();
        assert_eq!(employee.annual_cap.to_string(), "350000.00");
        assert_eq!(employee.levels[2].deductible_first.to_string(), "1700.00");
        assert_eq!(employee.levels[2].ratio.to_string(), "0.8");
        assert_eq!(employee.retiree_uplift.to_string(), "0.05");
        let resident = tianjin.policy(yidi_domain::ids::Scheme::Resident).unwrap();
        assert_eq!(resident.levels[2].ratio.to_string(), "0.65");
        assert_eq!(resident.catastrophic.ratio.to_string(), "0.6");
    }

    #[test]
    fn the_policy_files_carry_the_terms_of_issue_13() {
        use yidi_domain::ids::Scheme;
        let regions = insured_regions().unwrap();
        let region = |code: &str| regions.iter().find(|r| r.region.as_str() == code).unwrap();
        // Beijing's employees: segmented ratios at every level; residents' critical illness
        // from its threshold, in two bands.
        let beijing = region("110000");
        let employee = beijing.policy(Scheme::Employee).unwrap();
        assert!(employee.segments.iter().all(|bands| bands.len() == 2));
        let resident = beijing.policy(Scheme::Resident).unwrap();
        assert_eq!(resident.catastrophic_terms.threshold.unwrap().to_string(), "30404.00");
        assert_eq!(resident.catastrophic_terms.bands.len(), 1);
        // Tianjin: the large-amount layer is contributory (seed 004 art. 56), residents have
        // three contribution tiers (art. 14).
        let tianjin = region("120000");
        assert!(tianjin.policy(Scheme::Employee).unwrap().catastrophic_terms.contributory);
        let resident = tianjin.policy(Scheme::Resident).unwrap();
        assert_eq!(resident.tiers.len(), 3);
        assert_eq!(resident.annual_cap_for(Some(3)).to_string(), "180000.00");
    }
}
