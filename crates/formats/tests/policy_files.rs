//! Policy files that carry the law (issue #13 §8): national limits checked on load, editions
//! with their effective dates, a region that refuses the unfiled.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.

use yidi_domain::ids::Scheme;
use yidi_formats::policy_file::{combine, parse_policy_file};

/// A one-scheme policy file with `extra` at the top and `cross` as the cross-province rows.
fn file(extra: &str, cross: &str) -> String {
    format!(
        r#"region = "120000"
name = "天津市 Tianjin"
version = "test"
{extra}
[schemes.310]
annual_cap = "350000"
[schemes.310.deductible]
1 = {{ first = "800", repeat = "240" }}
2 = {{ first = "1100", repeat = "330" }}
3 = {{ first = "1700", repeat = "510" }}
[schemes.310.ratio]
1 = "0.85"
2 = "0.85"
3 = "0.8"
[schemes.310.cross_province]
{cross}
"#
    )
}

const ROWS: &str = r#"long_term = "0"
referral = "0.1"
emergency = "0.1"
other_temporary = "0.2""#;

#[test]
fn a_reduction_beyond_the_national_limit_is_refused_on_load_naming_the_row() {
    let text = file("", &format!("{ROWS}\nunfiled = \"0.25\""));
    let error = parse_policy_file(&text).unwrap_err().to_string();
    assert!(error.contains("schemes.310.cross_province.unfiled"), "{error}");
    assert!(error.contains("national limit for unfiled is 0.20"), "{error}");
}

#[test]
fn unfiled_refuse_is_read_as_a_refusal_not_a_ratio() {
    let region = parse_policy_file(&file("", &format!("{ROWS}\nunfiled = \"refuse\""))).unwrap();
    let policy = region.policy(Scheme::Employee).unwrap();
    assert!(policy.cross_province.refuse_unfiled);
    let reduced = parse_policy_file(&file("", &format!("{ROWS}\nunfiled = \"0.2\""))).unwrap();
    assert!(!reduced.policy(Scheme::Employee).unwrap().cross_province.refuse_unfiled);
    assert_ne!(policy.version, reduced.policy(Scheme::Employee).unwrap().version);
}

#[test]
fn editions_of_a_region_combine_and_apply_by_admission_date() {
    let rows = format!("{ROWS}\nunfiled = \"0.2\"");
    let first = parse_policy_file(&file("", &rows)).unwrap();
    let second = parse_policy_file(&file("effective_from = \"2026-11-15\"", &rows)).unwrap();
    let regions = combine(vec![second, first]).unwrap();
    assert_eq!(regions.len(), 1);
    let region = &regions[0];
    let on = |day: &str| {
        region.policy_on(Scheme::Employee, day.parse().unwrap()).unwrap().effective_from
    };
    assert_eq!(on("2026-11-14"), None);
    assert_eq!(on("2026-11-15"), Some("2026-11-15".parse().unwrap()));
}

#[test]
fn two_editions_from_the_same_day_are_an_error() {
    let rows = format!("{ROWS}\nunfiled = \"0.2\"");
    let one = parse_policy_file(&file("effective_from = \"2026-01-01\"", &rows)).unwrap();
    let two = parse_policy_file(&file("effective_from = \"2026-01-01\"", &rows)).unwrap();
    let error = combine(vec![one, two]).unwrap_err().to_string();
    assert!(error.contains("two policies of scheme 310 in force from 2026-01-01"), "{error}");
}

#[test]
fn an_effective_date_that_is_not_a_date_is_refused() {
    let rows = format!("{ROWS}\nunfiled = \"0.2\"");
    let error =
        parse_policy_file(&file("effective_from = \"15.11.2026\"", &rows)).unwrap_err().to_string();
    assert!(error.contains("effective_from"), "{error}");
}

#[test]
fn a_region_bounds_its_admission_holds_or_has_the_national_defaults() {
    use yidi_domain::hold::{HoldRules, HOLD_DAYS};
    let rows = format!("{ROWS}\nunfiled = \"0.2\"");
    let national = parse_policy_file(&file("", &rows)).unwrap();
    assert_eq!(national.holds, HoldRules::default());
    assert_eq!(national.holds.days, HOLD_DAYS);
    let holds = "[holds]\ntypical = \"15000\"\nmax = \"60000\"\ndays = 21\nper_person = 1";
    let own = parse_policy_file(&file(holds, &rows)).unwrap();
    assert_eq!(own.holds.typical.to_string(), "15000.00");
    assert_eq!(own.holds.max.to_string(), "60000.00");
    assert_eq!((own.holds.days, own.holds.per_person), (21, 1));
    let upside_down = "[holds]\ntypical = \"70000\"\nmax = \"60000\"";
    let error = parse_policy_file(&file(upside_down, &rows)).unwrap_err().to_string();
    assert!(error.contains("holds") && error.contains("must not exceed max"), "{error}");
    let error = parse_policy_file(&file("[holds]\ndays = 0", &rows)).unwrap_err().to_string();
    assert!(error.contains("days must be at least 1"), "{error}");
}
