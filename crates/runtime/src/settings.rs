//! The settings every service has, and connecting to its store and bus with them.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Deserialize;
use yidi_bus::{Bus, BusConfig};
use yidi_store::Store;

/// Settings shared by the hub, agencies and exchanges (flattened into each one's settings).
#[derive(Clone, Debug, Deserialize)]
pub struct Common {
    /// The process's name in logs, client ids and dead letters.
    pub name: String,
    pub brokers: String,
    /// Further librdkafka properties (TLS, SASL credentials) for production brokers.
    #[serde(default)]
    pub kafka: BTreeMap<String, String>,
    /// `sqlite://…` (default) or `postgres://…`.
    pub database: String,
    /// gRPC: the service's API (if any), health and reflection.
    pub grpc: SocketAddr,
    /// Partitions of the topics this service creates (default one; see `yidi_bus::topics`).
    #[serde(default)]
    pub partitions: Option<i32>,
    /// Replicas of the topics this service creates (default one; three on a cluster).
    #[serde(default)]
    pub replication: Option<i32>,
    /// The zone business dates are reckoned in (an IANA name; default `Asia/Shanghai`).
    #[serde(default = "default_zone")]
    pub time_zone: chrono_tz::Tz,
}

fn default_zone() -> chrono_tz::Tz {
    crate::clock::DEFAULT_ZONE
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("opening {url}: {source}")]
    Store { url: String, source: yidi_store::StoreError },
    #[error("kafka: {0}")]
    Bus(#[from] yidi_bus::client::BusError),
}

impl Common {
    /// The business clock of these settings.
    pub fn clock(&self) -> crate::clock::BusinessClock {
        crate::clock::BusinessClock::new(self.time_zone)
    }

    /// Opens the store (applying `schema`) and connects the producer.
    pub async fn connect(&self, schema: &[&'static str]) -> Result<(Store, Bus), ConnectError> {
        let store = Store::open(&self.database, schema)
            .await
            .map_err(|source| ConnectError::Store { url: self.database.clone(), source })?;
        let bus = Bus::connect(BusConfig {
            brokers: self.brokers.clone(),
            service: self.name.clone(),
            extra: self.kafka.clone(),
            partitions: self.partitions,
            replication: self.replication,
        })?;
        Ok((store, bus))
    }
}
