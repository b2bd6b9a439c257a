//! A service's settings, in layers (`figment`): the TOML file (optional), then `YIDI_*`
//! environment variables for any key — nested keys joined by `__`
//! (`YIDI_CLEARING__LADDER__WARN_AFTER_DAYS=10`) — then the command line's `--set key=value`
//! (dotted keys: `--set clearing.ladder.warn_after_days=10`). A later layer wins.
//!
//! A value reads as TOML would (a number, a boolean, a list `[…]`) or else as text. Secrets
//! (`admin_token`, broker and database passwords) are held in `secrecy` types, which print as
//! `[REDACTED]`, and a database URL is shown without its password ([`crate::settings::redacted`]).

use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Value;
use figment::Figment;
use serde::de::DeserializeOwned;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("reading {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("settings: {0}")]
    Invalid(String),
    #[error("--set {0:?}: expected key=value (a dotted key for a nested one)")]
    Override(String),
}

/// The prefix of the environment variables that set a service's keys.
pub const ENV_PREFIX: &str = "YIDI_";
/// What joins the parts of a nested key in an environment variable's name.
pub const ENV_NESTING: &str = "__";

/// Where the repository ships its services' config files.
pub const SHIPPED: [&str; 2] = ["deploy/config/local", "deploy/config/production"];

/// The command line every service takes for its settings.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Flags {
    /// Settings file (TOML); `YIDI_<KEY>` environment variables override it (`__` joins the
    /// parts of a nested key), and `--set` overrides both.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// `key=value` over the file and the environment; a dotted key for a nested one
    /// (`--set clearing.ladder.warn_after_days=10`). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Reads and checks the settings (and that the credentials can be read), says what is
    /// wrong or that all is well, and exits without starting.
    #[arg(long)]
    pub check_config: bool,
}

impl Flags {
    /// The settings these flags say, from every layer.
    pub fn load<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        load_layered(self.config.as_deref(), &self.set)
    }
}

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

/// Reads settings from `file` (if any), then applies the environment.
pub fn load<T: DeserializeOwned>(file: Option<&Path>) -> Result<T, ConfigError> {
    load_layered(file, &[])
}

/// Reads settings from `file` (if any), then the environment, then `overrides`
/// (`key=value`, the command line's `--set`).
pub fn load_layered<T: DeserializeOwned>(
    file: Option<&Path>,
    overrides: &[String],
) -> Result<T, ConfigError> {
    layers(file, overrides)?.extract().map_err(|error| ConfigError::Invalid(error.to_string()))
}

fn layers(file: Option<&Path>, overrides: &[String]) -> Result<Figment, ConfigError> {
    let mut figment = Figment::new();
    if let Some(path) = file {
        // figment skips a missing file; a service given one that is not there must not start.
        std::fs::metadata(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            detail: error.to_string(),
        })?;
        figment = figment.merge(Toml::file(path));
    }
    figment = figment.merge(Env::prefixed(ENV_PREFIX).split(ENV_NESTING));
    for assignment in overrides {
        let Some((key, text)) = assignment.split_once('=') else {
            return Err(ConfigError::Override(assignment.clone()));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(ConfigError::Override(assignment.clone()));
        }
        let value: Value = text.parse().unwrap_or_else(|_| Value::from(text.to_owned()));
        figment = figment.merge(Serialized::default(key, value));
    }
    Ok(figment)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Ladder {
        warn_after_days: i64,
        suspend_after_days: i64,
    }

    #[derive(Debug, Deserialize)]
    struct Settings {
        name: String,
        grpc: std::net::SocketAddr,
        provinces: Vec<String>,
        ladder: Ladder,
        #[serde(default)]
        kafka: BTreeMap<String, String>,
    }

    /// A settings file written for one test, removed after it.
    struct Temporary(std::path::PathBuf);

    impl Temporary {
        fn with(test: &str, text: &str) -> Temporary {
            let name = format!("yidi-config-{}-{test}.toml", std::process::id());
            let path = std::env::temp_dir().join(name);
            std::fs::write(&path, text).unwrap();
            Temporary(path)
        }
    }

    impl Drop for Temporary {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    const FILE: &str = r#"
        name = "hub"
        grpc = "127.0.0.1:50051"
        provinces = ["110000", "120000"]
        [ladder]
        warn_after_days = 15
        suspend_after_days = 30
        [kafka]
        "security.protocol" = "SASL_SSL"
    "#;

    #[test]
    fn a_nested_key_is_set_from_a_flag_over_the_file() {
        let path = Temporary::with("flag", FILE);
        let overrides = ["ladder.warn_after_days=10".to_owned(), "name=hub-2".to_owned()];
        let settings: Settings = load_layered(Some(&path.0), &overrides).unwrap();
        assert_eq!((settings.ladder.warn_after_days, settings.ladder.suspend_after_days), (10, 30));
        assert_eq!(settings.name, "hub-2");
        assert_eq!(settings.provinces, ["110000", "120000"]);
        assert_eq!(settings.grpc.port(), 50051);
        assert_eq!(settings.kafka["security.protocol"], "SASL_SSL", "a quoted key stays whole");
    }

    #[test]
    fn a_table_of_librdkafka_properties_reads_from_one_variable() {
        // What `YIDI_KAFKA='{"security.protocol"="SSL","sasl.password"="p"}'` carries.
        let value: Value = r#"{"security.protocol"="SSL","sasl.password"="p"}"#.parse().unwrap();
        let figment = Figment::new().merge(Serialized::default("kafka", value));
        let kafka: BTreeMap<String, String> = figment.extract_inner("kafka").unwrap();
        assert_eq!(kafka["security.protocol"], "SSL");
        assert_eq!(kafka["sasl.password"], "p");
    }

    #[test]
    fn a_flag_that_is_not_an_assignment_or_a_value_of_the_wrong_type_is_refused_by_name() {
        let path = Temporary::with("refused", FILE);
        let refused = load_layered::<Settings>(Some(&path.0), &["ladder".to_owned()]);
        assert!(matches!(refused, Err(ConfigError::Override(_))), "{refused:?}");
        let wrong =
            load_layered::<Settings>(Some(&path.0), &["ladder.warn_after_days=soon".into()]);
        let message = wrong.unwrap_err().to_string();
        assert!(message.contains("warn_after_days"), "{message}");
    }

    #[test]
    fn a_missing_file_is_an_error_not_an_empty_layer() {
        let missing = std::path::Path::new("/nonexistent/yidi.toml");
        let error = load_layered::<Settings>(Some(missing), &[]).unwrap_err();
        assert!(matches!(error, ConfigError::Read { .. }), "{error}");
    }
}
