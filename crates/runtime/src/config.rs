//! A service's settings: a TOML file (optional) whose top-level keys any `YIDI_<KEY>`
//! environment variable overrides (`YIDI_BROKERS=127.0.0.1:19092`).

use std::path::Path;

use serde::de::DeserializeOwned;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("reading {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("settings: {0}")]
    Invalid(String),
}

/// Where the repository ships its services' config files.
pub const SHIPPED: [&str; 2] = ["deploy/config/local", "deploy/config/production"];

/// Reads every config file shipped under `repo` ([`SHIPPED`]) whose name begins with
/// `prefix` (`hub`, `agency-`) into `T`: how many were read, or the first that does not read.
/// For each service's test: a value of the wrong type would stop the service at start, in
/// production where no test runs it.
pub fn read_shipped<T: DeserializeOwned>(repo: &Path, prefix: &str) -> Result<usize, ConfigError> {
    let mut read = 0;
    for dir in SHIPPED {
        let entries = std::fs::read_dir(repo.join(dir)).map_err(|error| ConfigError::Read {
            path: dir.to_owned(),
            detail: error.to_string(),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n.starts_with(prefix) && n.ends_with(".toml")) {
                load::<T>(Some(&path))?;
                read += 1;
            }
        }
    }
    Ok(read)
}

/// Reads settings from `file` (if any), then applies environment overrides.
pub fn load<T: DeserializeOwned>(file: Option<&Path>) -> Result<T, ConfigError> {
    let mut table = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
                path: path.display().to_string(),
                detail: error.to_string(),
            })?;
            text.parse::<toml::Table>().map_err(|error| ConfigError::Read {
                path: path.display().to_string(),
                detail: error.to_string(),
            })?
        }
        None => toml::Table::new(),
    };
    for (name, value) in std::env::vars() {
        if let Some(key) = name.strip_prefix("YIDI_") {
            // A value that reads as TOML (a number, a list) is taken as such; otherwise text.
            let parsed = format!("v = {value}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value));
            table.insert(key.to_lowercase(), parsed);
        }
    }
    toml::Value::Table(table)
        .try_into()
        .map_err(|error: toml::de::Error| ConfigError::Invalid(error.to_string()))
}
