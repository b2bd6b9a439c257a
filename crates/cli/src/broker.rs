//! How the tools reach the brokers: where they are, and whom to log in as.

use std::path::PathBuf;

use anyhow::Context;
use rdkafka::config::ClientConfig;
use yidi_trust::login::{Login, OPERATOR};

#[derive(clap::Args, Clone, Debug)]
pub struct Broker {
    /// The Kafka brokers.
    #[arg(long, global = true, default_value = "127.0.0.1:19092", env = "YIDI_BROKERS")]
    pub brokers: String,
    /// The network's credentials (`yidi keys init`), where the login's password is.
    #[arg(long, global = true, default_value = ".run/keys", env = "YIDI_KEYS")]
    pub keys: PathBuf,
    /// Whom to log in to the brokers as (`<login>.broker-password` in --keys); without that
    /// file, no login is sent (a broker that asks for none).
    #[arg(long, global = true, default_value = OPERATOR)]
    pub login: String,
}

impl Broker {
    /// The client settings every tool's producer and consumer start from.
    pub fn client(&self) -> anyhow::Result<ClientConfig> {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        let login = Login::load(&self.keys, &self.login)
            .with_context(|| format!("the broker login {:?}", self.login))?;
        if let Some(login) = login {
            yidi_bus::client::sign_in(&mut config, &login);
        }
        Ok(config)
    }
}
