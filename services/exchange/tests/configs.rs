//! Every config file shipped for the exchange reads into its settings: a value of the wrong type
//! would stop the service at start, in production where no test runs it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

#[test]
fn every_shipped_exchange_config_reads_into_its_settings() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut read = 0;
    for dir in ["deploy/config/local", "deploy/config/production"] {
        for entry in std::fs::read_dir(repo.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with("exchange") || !name.ends_with(".toml") {
                continue;
            }
            let settings: Result<yidi_exchange::app::Settings, _> =
                yidi_runtime::config::load(Some(&path));
            assert!(settings.is_ok(), "{}: {:?}", path.display(), settings.err());
            read += 1;
        }
    }
    assert!(read >= 2, "local and production configs of the exchange");
}
