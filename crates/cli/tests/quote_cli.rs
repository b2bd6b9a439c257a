//! The `yidi quote` contract of `settlement.md`, through the real binary: input from a file
//! or standard input, one case or an array, and exit 2 with one line naming the field for
//! malformed input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn example(name: &str) -> PathBuf {
    let shared = std::env::var_os("YIDI_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("spec/examples").join(name)
}

fn example_case() -> Value {
    let text = std::fs::read_to_string(example("01-employee-long-term-first-admission.case.json"))
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn quote_stdin(input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yidi"))
        .arg("quote")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Asserts exit 2 with exactly one line on standard error that contains `field`.
fn assert_refused(input: &str, field: &str) {
    let output = quote_stdin(input);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(field), "{stderr:?} names {field:?}");
    assert!(output.stdout.is_empty());
}

fn with(edit: impl FnOnce(&mut Value)) -> String {
    let mut case = example_case();
    edit(&mut case);
    case.to_string()
}

#[test]
fn a_case_file_is_quoted_to_standard_output() {
    let output = Command::new(env!("CARGO_BIN_EXE_yidi"))
        .args(["quote"])
        .arg(example("01-employee-long-term-first-admission.case.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["hifp_pay"], "3277.59");
    assert_eq!(result["psn_cash_pay"], "4462.30");
}

#[test]
fn an_array_gives_an_array_in_the_same_order_and_a_rejection_is_a_result() {
    let suspended = std::fs::read_to_string(example("04-benefits-suspended.case.json")).unwrap();
    let input = format!("[{}, {suspended}, {}]", example_case(), example_case());
    let output = quote_stdin(&input);
    assert_eq!(output.status.code(), Some(0));
    let results: Value = serde_json::from_slice(&output.stdout).unwrap();
    let statuses: Vec<&str> =
        results.as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["settled", "rejected", "settled"]);
    assert_eq!(results[1]["reason"], "benefits_suspended");
}

#[test]
fn json_numbers_are_read_exactly() {
    // settlement.md: "Input may also give JSON numbers"; 333.33 must not pass through a float.
    let input = with(|case| {
        case["lines"][1]["unit_price"] = serde_json::from_str("333.33").unwrap();
        case["lines"][1]["qty"] = serde_json::from_str("3").unwrap();
        case["hospital_level"] = serde_json::from_str("3").unwrap();
        case["policy"]["ratio"]["3"] = serde_json::from_str("0.8").unwrap();
    });
    let output = quote_stdin(&input);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(result["medfee_sumamt"], "8939.89");
    assert_eq!(result["hifp_pay"], "3277.59");
}

#[test]
fn bad_json_is_refused() {
    assert_refused("{\"policy\": ", "invalid JSON");
    assert_refused("", "invalid JSON");
}

#[test]
fn a_missing_field_is_named() {
    assert_refused(&with(|case| drop(case.as_object_mut().unwrap().remove("lines"))), "lines");
    assert_refused(
        &with(|case| drop(case["policy"]["catastrophic"].as_object_mut().unwrap().remove("cap"))),
        "policy.catastrophic.cap",
    );
}

#[test]
fn a_negative_quantity_is_refused() {
    assert_refused(&with(|case| case["lines"][2]["qty"] = "-1".into()), "lines[2].qty");
}

#[test]
fn an_unknown_hospital_level_is_refused() {
    assert_refused(&with(|case| case["hospital_level"] = 4.into()), "hospital_level");
    assert_refused(&with(|case| case["hospital_level"] = "three".into()), "hospital_level");
}

#[test]
fn a_five_digit_region_is_refused() {
    assert_refused(&with(|case| case["policy"]["region"] = "12000".into()), "policy.region");
}

#[test]
fn a_ratio_that_is_not_a_number_is_refused() {
    assert_refused(&with(|case| case["policy"]["ratio"]["3"] = "abc".into()), "policy.ratio.3");
    assert_refused(
        &with(|case| case["catalogue"]["items"]["XB0202"]["self_pay_ratio"] = "abc".into()),
        "catalogue.items.XB0202.self_pay_ratio",
    );
    assert_refused(&with(|case| case["policy"]["ratio"]["1"] = "1.5".into()), "policy.ratio.1");
}

#[test]
fn other_malformed_values_are_refused_with_their_field() {
    assert_refused(&with(|case| case["policy"]["scheme"] = "320".into()), "policy.scheme");
    assert_refused(&with(|case| case["filing"]["type"] = "weekend".into()), "filing.type");
    assert_refused(
        &with(|case| case["person"]["benefit_status"] = "gone".into()),
        "person.benefit_status",
    );
    assert_refused(
        &with(|case| case["person"]["account_balance"] = "1.005".into()),
        "person.account_balance",
    );
    assert_refused(
        &with(|case| case["lines"][0]["unit_price"] = "1e40".into()),
        "lines[0].unit_price",
    );
    assert_refused(&with(|case| case["ytd"]["admissions"] = "-1".into()), "ytd.admissions");
    assert_refused(&with(|case| case["lines"] = "none".into()), "lines");
}

#[test]
fn malformed_extension_fields_are_refused_with_their_field() {
    // spec/settlement-extensions.md: a third party's status needs a third party.
    assert_refused(
        &with(|case| case["flags"] = serde_json::json!({"third_party_status": "paid"})),
        "flags.third_party_status",
    );
    assert_refused(
        &with(|case| {
            case["flags"] = serde_json::json!({"third_party": true, "third_party_status": "soon"})
        }),
        "flags.third_party_status",
    );
    assert_refused(
        &with(|case| case["policy"]["cross_province"]["unfiled"] = "never".into()),
        "policy.cross_province.unfiled",
    );
}

#[test]
fn malformed_policy_terms_of_issue_13_are_refused_with_their_field() {
    use serde_json::json;
    // Bands must rise from above zero; a catastrophic band needs a threshold below it.
    let falling =
        json!({"3": [{"from": "40000", "ratio": "0.95"}, {"from": "30000", "ratio": "0.9"}]});
    assert_refused(&with(|case| case["policy"]["segments"] = falling), "policy.segments.3");
    let level = json!({"4": [{"from": "30000", "ratio": "0.9"}]});
    assert_refused(&with(|case| case["policy"]["segments"] = level), "policy.segments.4");
    assert_refused(
        &with(|case| {
            case["policy"]["catastrophic"]["bands"] = json!([{"from": "50000", "ratio": "0.7"}]);
        }),
        "policy.catastrophic.bands",
    );
    assert_refused(
        &with(|case| {
            case["policy"]["catastrophic"]["threshold"] = "60000".into();
            case["policy"]["catastrophic"]["bands"] = json!([{"from": "50000", "ratio": "0.7"}]);
        }),
        "policy.catastrophic.bands",
    );
    assert_refused(
        &with(|case| case["policy"]["assistance"]["threshold"] = "1000".into()),
        "policy.assistance.threshold",
    );
    // A region with tiers knows every tier it sells.
    let tiers =
        json!({"1": {"ratio": {"1": "0.7", "2": "0.65", "3": "0.6"}, "annual_cap": "200000"}});
    assert_refused(
        &with(|case| {
            case["policy"]["tiers"] = tiers.clone();
            case["person"]["contribution_tier"] = 2.into();
        }),
        "person.contribution_tier",
    );
    let missing_level = json!({"1": {"ratio": {"1": "0.7"}, "annual_cap": "200000"}});
    assert_refused(&with(|case| case["policy"]["tiers"] = missing_level), "policy.tiers.1.ratio.2");
}

#[test]
fn an_error_in_an_array_names_the_case() {
    let bad = with(|case| case["lines"][0]["qty"] = "x".into());
    assert_refused(&format!("[{}, {bad}]", example_case()), "[1].lines[0].qty");
}
