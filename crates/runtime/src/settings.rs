//! The settings every service has, and connecting to its store and bus with them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use yidi_bus::{Bus, BusConfig, Trust};
use yidi_store::Store;

/// Settings shared by the hub, agencies and exchanges (flattened into each one's settings).
#[derive(Clone, Debug, Deserialize)]
pub struct Common {
    /// The process's name in logs, client ids and dead letters.
    pub name: String,
    pub brokers: String,
    /// Further librdkafka properties (TLS, SASL credentials) for production brokers: held as
    /// secrets, since some are.
    #[serde(default)]
    pub kafka: BTreeMap<String, SecretString>,
    /// `sqlite://…` (default) or `postgres://…`, which may carry a password: never printed
    /// whole ([`Common::database_shown`]).
    pub database: SecretString,
    /// gRPC: the service's API (if any), health and reflection.
    pub grpc: SocketAddr,
    /// Prometheus `/metrics` and the readiness probe `/ready`, over plain HTTP (issue #12);
    /// none when unset. Keep it on a private interface.
    #[serde(default)]
    pub metrics: Option<SocketAddr>,
    /// Partitions of the topics this service creates (default one; see `yidi_bus::topics`).
    #[serde(default)]
    pub partitions: Option<i32>,
    /// Replicas of the topics this service creates (default one; three on a cluster).
    #[serde(default)]
    pub replication: Option<i32>,
    /// `min.insync.replicas` of the topics this service creates (default: the cluster's).
    #[serde(default)]
    pub min_insync_replicas: Option<i32>,
    /// The directory of the network's credentials (`yidi keys init`): this service's
    /// `<name>.key` and `<name>.cert.json`, and `bundle.json`, every party's certificate.
    /// Every message sent is signed with them and every message received verified. The
    /// service logs in to the brokers with `<name>.broker-password` when it is there.
    pub keys: PathBuf,
    /// The zone business dates are reckoned in (an IANA name; default `Asia/Shanghai`).
    #[serde(default = "default_zone")]
    pub time_zone: chrono_tz::Tz,
    /// Set on every process of a role that runs as several (issue #9 §6; agencies and
    /// exchanges, the hub refuses it): each numbers itself
    /// (1, 2, …), they share the role's database and consumer group, and the broker
    /// shares the partitions among them. Unset: the role's only process. Each signs and logs
    /// in as the role (`name`); the instance names its lease and its Kafka client.
    #[serde(default)]
    pub instance: Option<u32>,
}

fn default_zone() -> chrono_tz::Tz {
    crate::clock::DEFAULT_ZONE
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// `url` is kept without its password ([`redacted`]).
    #[error("opening {url}: {source}")]
    Store { url: String, source: yidi_store::StoreError },
    #[error("kafka: {0}")]
    Bus(#[from] yidi_bus::client::BusError),
    #[error("credentials (keys = {dir}): {source}; `yidi keys init` makes them")]
    Trust { dir: PathBuf, source: yidi_trust::TrustError },
}

impl Common {
    /// The database URL as logs and errors may show it: without its password.
    pub fn database_shown(&self) -> String {
        redacted(self.database.expose_secret())
    }

    /// Checks what can be checked before connecting: the credentials of [`Common::keys`]
    /// for this service's name (signing, TLS, broker login) can be read.
    pub fn check(&self) -> Result<(), ConnectError> {
        self.trust(&[])?;
        self.tls()?;
        yidi_trust::Login::load(&self.keys, &self.name)
            .map_err(|source| self.unreadable(source))?;
        Ok(())
    }

    /// This process among its role's: the name, with the instance when there are several.
    /// Its lease is taken under this name, so several instances may share one database.
    pub fn process_name(&self) -> String {
        match &self.instance {
            Some(instance) => format!("{}#{instance}", self.name),
            None => self.name.clone(),
        }
    }

    /// How this process gets its partitions.
    pub fn membership(&self) -> yidi_bus::Membership {
        match &self.instance {
            Some(instance) => yidi_bus::Membership::Group { instance: instance.to_string() },
            None => yidi_bus::Membership::Sole,
        }
    }

    /// The business clock of these settings.
    pub fn clock(&self) -> crate::clock::BusinessClock {
        crate::clock::BusinessClock::new(self.time_zone)
    }

    /// A credential of [`Common::keys`] that cannot be read, naming the folder.
    fn unreadable(&self, source: yidi_trust::TrustError) -> ConnectError {
        ConnectError::Trust { dir: self.keys.clone(), source }
    }

    /// This service's credentials and the network's bundle, from [`Common::keys`]; messages
    /// on `unsigned_topics` are taken unsigned too.
    pub fn trust(&self, unsigned_topics: &[String]) -> Result<Trust, ConnectError> {
        let failed = |source| self.unreadable(source);
        let credentials = yidi_trust::Credentials::load(&self.keys, &self.name).map_err(failed)?;
        let bundle =
            yidi_trust::Bundle::load(&self.keys.join(yidi_trust::keys::BUNDLE)).map_err(failed)?;
        Ok(Trust {
            credentials: Arc::new(credentials),
            bundle: Arc::new(bundle),
            unsigned_topics: unsigned_topics.iter().cloned().collect(),
        })
    }

    /// This service's TLS certificate and the network's TLS root, for its gRPC server
    /// (`<name>.tls.pem`, `<name>.tls.key`, `tls-ca.pem` in [`Common::keys`]).
    pub fn tls(&self) -> Result<tonic::transport::ServerTlsConfig, ConnectError> {
        let files = yidi_trust::tls::TlsFiles::load(&self.keys, &self.name)
            .map_err(|source| self.unreadable(source))?;
        Ok(crate::health::server_tls(&files))
    }

    /// The network's person-token key (`person-token.key` in [`Common::keys`]), for a
    /// service that keeps persons as tokens.
    pub fn person_tokens(&self) -> Result<yidi_trust::token::PersonTokens, ConnectError> {
        yidi_trust::token::PersonTokens::load(&self.keys).map_err(|source| self.unreadable(source))
    }

    /// Opens the store (migrating it to `schema`, version 1, and `changes` after it) and
    /// connects the producer, signing with this service's credentials; messages on
    /// `unsigned_topics` are taken unsigned too.
    pub async fn connect(
        &self,
        schema: &[&'static str],
        changes: &[yidi_store::migrate::Change],
        unsigned_topics: &[String],
    ) -> Result<(Store, Bus), ConnectError> {
        let trust = self.trust(unsigned_topics)?;
        let store = Store::open_migrated(self.database.expose_secret(), schema, changes)
            .await
            .map_err(|source| ConnectError::Store { url: self.database_shown(), source })?;
        let login = yidi_trust::Login::load(&self.keys, &self.name)
            .map_err(|source| self.unreadable(source))?;
        let bus = Bus::connect(BusConfig {
            brokers: self.brokers.clone(),
            service: self.name.clone(),
            extra: self
                .kafka
                .iter()
                .map(|(key, value)| (key.clone(), value.expose_secret().to_owned()))
                .collect(),
            partitions: self.partitions,
            replication: self.replication,
            min_insync_replicas: self.min_insync_replicas,
            login,
            trust: Some(trust),
            membership: self.membership(),
        })?;
        Ok((store, bus))
    }
}

/// `url` with its password, if it has one, replaced by `***`: database URLs appear in errors
/// and logs, passwords never do (issue #11 §6).
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return url.to_owned() };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{redacted, Common};

    fn common(instance: &str) -> Common {
        let file = format!(
            r#"name = "agency-north"
            brokers = "127.0.0.1:9092"
            database = "sqlite://agency-north.db"
            grpc = "127.0.0.1:50061"
            keys = "keys"
            {instance}"#
        );
        use figment::providers::Format as _;
        figment::Figment::new().merge(figment::providers::Toml::string(&file)).extract().unwrap()
    }

    #[test]
    fn a_role_run_as_several_processes_joins_its_group_and_leases_per_instance() {
        // Issue #9 §6: instances share the role's name (credentials, group) but not a lease.
        let sole = common("");
        assert_eq!(sole.process_name(), "agency-north");
        assert_eq!(sole.membership(), yidi_bus::Membership::Sole);
        let second = common("instance = 2");
        assert_eq!(second.process_name(), "agency-north#2");
        assert_eq!(second.membership(), yidi_bus::Membership::Group { instance: "2".into() });
    }

    #[test]
    fn a_database_url_is_shown_without_its_password() {
        assert_eq!(
            redacted("postgres://yidi_hub:s3cr@t@db:5432/hub?sslmode=require"),
            "postgres://yidi_hub:***@db:5432/hub?sslmode=require"
        );
        assert_eq!(redacted("postgres://yidi@postgres/hub"), "postgres://yidi@postgres/hub");
        assert_eq!(redacted("sqlite://.run/data/hub.db"), "sqlite://.run/data/hub.db");
    }
}
