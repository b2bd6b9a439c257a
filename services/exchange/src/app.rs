//! Settings and the run loop of an exchange.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use tracing::info;
use yidi_bus::topics;
use yidi_domain::ids::RegionCode;
use yidi_runtime::shutdown::Shutdown;

use crate::grpc::ExchangeApi;
use crate::intake::Exchange;
use crate::requests;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub common: yidi_runtime::settings::Common,
    /// The treatment province served (an embedded catalogue).
    pub province: String,
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
    let schema: Vec<&'static str> =
        requests::SCHEMA.iter().chain(crate::statement::SCHEMA).copied().collect();
    let (store, bus) = settings.common.connect(&schema).await?;
    let discharge = topics::his_discharge(province.as_str());
    let results = topics::exchange_results(province.as_str());
    let names = [
        discharge.clone(),
        topics::his_settlement(province.as_str()),
        results.clone(),
        topics::HUB_REQUESTS.to_owned(),
        topics::DEAD_LETTER.to_owned(),
        topics::exchange_statements(province.as_str()),
        topics::HUB_STATEMENTS.to_owned(),
    ];
    bus.ensure_topics(&names).await?;
    let exchange = Arc::new(Exchange {
        name: settings.common.name.clone(),
        province,
        catalogue,
        store,
        bus: bus.clone(),
        waiters: Mutex::new(HashMap::new()),
        clock: settings.common.clock(),
    });
    let shutdown = Shutdown::on_signals();
    let api = ExchangeApi::new(exchange.clone(), Duration::from_millis(settings.settle_timeout_ms));
    let routes =
        tonic::service::Routes::new(yidi_wire::v1::exchange_server::ExchangeServer::new(api));
    let grpc = yidi_runtime::health::serve(
        settings.common.grpc,
        Some((routes, "yidi.v1.Exchange")),
        shutdown.clone(),
    );
    // One consumer for all of the exchange's topics: every consumer costs the broker a fetch loop.
    let statements = topics::exchange_statements(province.as_str());
    let consumer = bus.consumer(
        &format!("exchange-{province}"),
        &[discharge.clone(), results.clone(), statements.clone()],
    )?;
    info!(%province, grpc = %settings.common.grpc, "exchange ready");
    consumer.run(&bus, shutdown.clone().requested(), exchange.as_ref()).await;
    grpc.abort();
    Ok(())
}
