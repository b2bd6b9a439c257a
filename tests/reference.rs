//! Differential test: `yidi`'s engine against an independent Python implementation of
//! `settlement.md` (`tests/reference/settlement.py`) on thousands of random cases with random
//! policies — caps crossed, layers exhausted, ratios clamped, empty bills — every field to
//! the fen.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

mod support;

use std::process::Command;

use serde_json::Value;
use support::{differences, quote_json, repo_root};

fn reference_pairs(count: u32, seed: u32) -> Vec<Value> {
    let script = repo_root().join("tests/reference/settlement.py");
    let output = Command::new("python3")
        .arg(&script)
        .args(["generate", "--count", &count.to_string(), "--seed", &seed.to_string()])
        .output()
        .expect("python3 runs the reference implementation");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn engine_matches_the_reference_on_random_cases() {
    let mut checked = 0;
    let mut settled = 0;
    for seed in [1, 2, 3] {
        for pair in reference_pairs(1500, seed) {
            let case = serde_json::to_string(&pair["case"]).unwrap();
            let actual = quote_json(&case);
            let wrong = differences(&pair["expected"], &actual, "");
            assert!(wrong.is_empty(), "seed {seed}, case {case}:\n{}", wrong.join("\n"));
            checked += 1;
            settled += usize::from(actual["status"] == "settled");
        }
    }
    assert_eq!(checked, 4500);
    // The generator must exercise the arithmetic, not only refusals.
    assert!(settled > 3500, "only {settled} settled");
}
