//! Settings and the run loop of an exchange.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use tracing::info;
use yidi_bus::{topics, Bus, BusConfig};
use yidi_domain::ids::RegionCode;
use yidi_runtime::shutdown::Shutdown;
use yidi_store::Store;
use yidi_wire::v1::exchange_server::ExchangeServer;

use crate::grpc::ExchangeApi;
use crate::intake::Exchange;
use crate::requests;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub name: String,
    /// The treatment province served (an embedded catalogue).
    pub province: String,
    pub brokers: String,
    /// Further librdkafka properties (TLS, SASL credentials) for production brokers.
    #[serde(default)]
    pub kafka: std::collections::BTreeMap<String, String>,
    pub database: String,
    /// The `Exchange` gRPC service, with health and reflection.
    pub grpc: SocketAddr,
    /// How long `Settle` waits when the caller sets no deadline.
    #[serde(default = "default_timeout_ms")]
    pub settle_timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    3000
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let province: RegionCode =
        settings.province.parse().map_err(|e| anyhow::anyhow!("province: {e}"))?;
    let catalogue = yidi_data::treatment_catalogues()?
        .into_iter()
        .find(|c| c.region == province)
        .with_context(|| format!("province: no embedded catalogue for {province}"))?;
    let store = Store::open(&settings.database, requests::SCHEMA)
        .await
        .with_context(|| format!("opening {}", settings.database))?;
    let bus = Bus::connect(BusConfig {
        brokers: settings.brokers.clone(),
        service: settings.name.clone(),
        extra: settings.kafka.clone(),
    })?;
    let discharge = topics::his_discharge(province.as_str());
    let results = topics::exchange_results(province.as_str());
    let names = [
        discharge.clone(),
        topics::his_settlement(province.as_str()),
        results.clone(),
        topics::HUB_REQUESTS.to_owned(),
        topics::DEAD_LETTER.to_owned(),
    ];
    bus.ensure_topics(&names).await?;
    let exchange = Arc::new(Exchange {
        name: settings.name.clone(),
        province,
        catalogue,
        store,
        bus: bus.clone(),
        waiters: Mutex::new(HashMap::new()),
    });
    let shutdown = Shutdown::on_signals();
    let api = ExchangeApi::new(exchange.clone(), Duration::from_millis(settings.settle_timeout_ms));
    let grpc = tokio::spawn(serve(settings.grpc, api, shutdown.clone()));
    let bills = bus.consumer(&format!("exchange-{province}-bills"), &[discharge])?;
    let answers = bus.consumer(&format!("exchange-{province}-results"), &[results])?;
    info!(%province, grpc = %settings.grpc, "exchange ready");
    tokio::join!(
        bills.run(&bus, shutdown.clone().requested(), |m| exchange.on_discharge(m)),
        answers.run(&bus, shutdown.clone().requested(), |m| exchange.on_result(m)),
    );
    grpc.abort();
    Ok(())
}

async fn serve(address: SocketAddr, api: ExchangeApi, shutdown: Shutdown) {
    let (reporter, health) = yidi_runtime::health::services();
    reporter.set_serving::<ExchangeServer<ExchangeApi>>().await;
    reporter.set_service_status("", tonic_health::ServingStatus::Serving).await;
    let router = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(ExchangeServer::new(api));
    let router = match yidi_runtime::health::reflection() {
        Ok(reflection) => router.add_service(reflection),
        Err(_) => router,
    };
    if let Err(error) = router.serve_with_shutdown(address, shutdown.requested()).await {
        tracing::error!(%error, %address, "gRPC server stopped");
    }
}
