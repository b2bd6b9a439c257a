//! The six examples of `settlement.md` (`../shared/spec/examples/`), field by field.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

mod support;

use std::fs;

use serde_json::Value;
use support::{differences, examples_dir, quote_json};

fn check(name: &str) {
    let dir = examples_dir();
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
fn every_example_in_the_folder_is_checked() {
    let mut names: Vec<String> = fs::read_dir(examples_dir())
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".case.json").map(str::to_owned)
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "a new example appeared: add a test for it");
    names.iter().for_each(|name| check(name));
}
