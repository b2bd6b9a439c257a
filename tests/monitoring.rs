//! The monitoring shipped in `deploy/prometheus/` (issue #12 §3): Prometheus accepts the
//! scrape configs and the alert rules, the alerts fire as their unit tests say (a province
//! overdue past its warning date, dead letters arriving), and the local scrape config names
//! exactly the metrics addresses of the local network's configs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `promtool args…` in `deploy/prometheus`; its output when it fails.
fn promtool(args: &[&str]) {
    let dir = repo().join("deploy/prometheus");
    let output =
        Command::new("promtool").args(args).current_dir(&dir).output().unwrap_or_else(|e| {
            panic!("promtool (scripts/setup.sh installs Debian's prometheus): {e}")
        });
    assert!(
        output.status.success(),
        "promtool {args:?}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn prometheus_accepts_the_scrape_configs_and_the_alert_rules() {
    promtool(&["check", "config", "local.yml"]);
    promtool(&["check", "config", "production.yml"]);
    promtool(&["check", "rules", "alerts.yml"]);
}

#[test]
fn an_overdue_province_and_a_dead_letter_raise_their_alerts() {
    promtool(&["test", "rules", "alerts_test.yml"]);
}

/// The `metrics` addresses of the configs in `dir`.
fn metrics_addresses(dir: &Path) -> Vec<String> {
    let mut addresses: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "toml"))
        .filter_map(|entry| {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let table: toml::Table = text.parse().unwrap();
            table.get("metrics").and_then(|v| v.as_str()).map(str::to_owned)
        })
        .collect();
    addresses.sort();
    addresses
}

#[test]
fn the_local_scrape_config_names_every_service_of_the_local_network() {
    let wanted = metrics_addresses(&repo().join("deploy/config/local"));
    assert_eq!(wanted.len(), 7, "every local service serves metrics: {wanted:?}");
    let config = std::fs::read_to_string(repo().join("deploy/prometheus/local.yml")).unwrap();
    let mut scraped: Vec<String> = config
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- targets: [\""))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect();
    scraped.sort();
    assert_eq!(scraped, wanted);
}
