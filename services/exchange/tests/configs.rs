//! Every config file shipped for the exchange reads into its settings.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::as_conversions)] // Test data is small and made here: counts and indexes fit.

#[test]
fn every_shipped_exchange_config_reads_into_its_settings() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read =
        yidi_runtime::config::read_shipped::<yidi_exchange::app::Settings>(&repo, "exchange");
    assert!(read.as_ref().is_ok_and(|n| *n >= 2), "local and production: {read:?}");
}
