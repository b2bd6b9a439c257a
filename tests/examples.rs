//! The six examples of `settlement.md` (`../shared/spec/examples/`) and those of its
//! extensions (`spec/examples/`, `spec/settlement-extensions.md`), field by field.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

mod support;

use std::fs;

use serde_json::Value;
use support::{differences, examples_dir, quote_json, repo_root};

fn check(name: &str) {
    check_in(&examples_dir(), name);
}

fn check_extension(name: &str) {
    check_in(&repo_root().join("spec/examples"), name);
}

fn check_in(dir: &std::path::Path, name: &str) {
    let case = fs::read_to_string(dir.join(format!("{name}.case.json"))).unwrap();
    let expected: Value = serde_json::from_str(
        &fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap(),
    )
    .unwrap();
    let actual = quote_json(&case);
    let wrong = differences(&expected, &actual, "");
    assert!(wrong.is_empty(), "{name}:\n{}", wrong.join("\n"));
    if expected["status"] == "rejected" {
        // A rejection carries exactly status and reason.
        assert_eq!(actual, expected, "{name}");
    }
}

#[test]
fn employee_long_term_first_admission() {
    check("01-employee-long-term-first-admission");
}

#[test]
fn employee_retiree_unfiled_repeat() {
    check("02-employee-retiree-unfiled-repeat");
}

#[test]
fn resident_cap_reached_catastrophic_assistance() {
    check("03-resident-cap-reached-catastrophic-assistance");
}

#[test]
fn benefits_suspended() {
    check("04-benefits-suspended");
}

#[test]
fn work_injury() {
    check("05-work-injury");
}

#[test]
fn third_party_temporary() {
    check("06-third-party-temporary");
}

#[test]
fn art_30_2_a_third_party_who_pays_is_refused() {
    check_extension("07-third-party-paid");
}

#[test]
fn art_30_2_an_unidentified_third_party_is_advanced_and_recovered() {
    check_extension("08-third-party-unidentified");
}

#[test]
fn art_30_3_public_health_is_refused() {
    check_extension("09-public-health");
}

#[test]
fn art_30_4_treatment_abroad_is_refused() {
    check_extension("10-abroad");
}

#[test]
fn notice_iii_5_the_unfiled_are_refused_where_the_region_says_so() {
    check_extension("11-unfiled-in-a-refusing-region");
}

#[test]
fn notice_iii_5_the_filed_are_settled_in_a_refusing_region() {
    check_extension("12-filed-in-a-refusing-region");
}

#[test]
fn every_extension_example_is_checked() {
    let dir = repo_root().join("spec/examples");
    let names = case_names(&dir);
    assert_eq!(names.len(), 10, "a new example appeared: add a test for it");
    names.iter().for_each(|name| check_extension(name));
}

fn case_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".case.json").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_example_in_the_folder_is_checked() {
    let names = case_names(&examples_dir());
    assert_eq!(names.len(), 6, "a new example appeared: add a test for it");
    names.iter().for_each(|name| check(name));
}

#[test]
fn segmented_ratios_pay_each_band_at_its_ratio() {
    check_extension("13-segmented-ratios");
}

#[test]
fn a_catastrophic_threshold_counts_the_years_self_borne_expense() {
    check_extension("14-catastrophic-threshold");
}

#[test]
fn seed_004_art_20_21_a_resident_tier_sets_the_ratio_and_cap() {
    check_extension("15-resident-tier");
}

#[test]
fn seed_004_art_56_a_contributory_layer_pays_only_contributors() {
    check_extension("16-contributory-layer-not-paid");
}
