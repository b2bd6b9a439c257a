//! Settings and the run loop of an exchange.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use tracing::{info, warn};
use yidi_bus::topics;
use yidi_domain::ids::RegionCode;
use yidi_runtime::outbox::Outbox;
use yidi_runtime::shutdown::Shutdown;

use crate::grpc::ExchangeApi;
use crate::intake::Exchange;
use crate::requests;
use yidi_formats::catalogue_file::TreatmentCatalogue;

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

/// How often the exchange looks for gRPC settlements left unanswered past their deadline.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// The province served and its embedded catalogue.
fn served(settings: &Settings) -> anyhow::Result<(RegionCode, TreatmentCatalogue)> {
    let province: RegionCode =
        settings.province.parse().map_err(|e| anyhow::anyhow!("province: {e}"))?;
    let catalogue = yidi_data::treatment_catalogues()?
        .into_iter()
        .find(|c| c.region == province)
        .with_context(|| format!("province: no embedded catalogue for {province}"))?;
    Ok((province, catalogue))
}

/// What `--check-config` checks: the province has an embedded catalogue, and the
/// credentials can be read.
pub fn check(settings: &Settings) -> anyhow::Result<()> {
    served(settings)?;
    settings.common.check()?;
    Ok(())
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let (province, catalogue) = served(&settings)?;
    let schema: Vec<&'static str> =
        requests::SCHEMA.iter().chain(crate::statement::SCHEMA).copied().collect();
    let discharge = topics::his_discharge(province.as_str());
    // Hospitals may send unsigned bills (a HIS need not hold credentials yet); a signed one
    // must verify as a HIS of this province.
    let (store, bus) = settings
        .common
        .connect(&schema, requests::CHANGES, std::slice::from_ref(&discharge))
        .await?;
    // One writer per process: a second copy of this process on the same database stops here
    // (instances of one role, `instance`, each hold their own).
    let lease = yidi_runtime::lease::Lease::take(&store, &settings.common.process_name()).await?;
    bus.ensure_topics(&topic_names(province)).await?;
    let outbox = Outbox::new(store.clone(), bus.clone());
    let hospitals = crate::hospitals::Register::load(&store, province).await?;
    let exchange = Arc::new(Exchange {
        name: settings.common.name.clone(),
        province,
        catalogue,
        store,
        bus: bus.clone(),
        outbox: outbox.clone(),
        waiters: Mutex::new(HashMap::new()),
        clock: settings.common.clock(),
        answers: Default::default(),
        settlement_time: Default::default(),
        hospitals,
        insured: yidi_data::insured_regions()?,
        grpc_answers: Default::default(),
        shared: settings.common.instance.is_some(),
    });
    let shutdown = Shutdown::on_signals();
    shutdown.spawn(lease.keep(shutdown.requested()));
    let api = ExchangeApi::new(exchange.clone(), Duration::from_millis(settings.settle_timeout_ms));
    let routes =
        tonic::service::Routes::new(yidi_wire::v1::exchange_server::ExchangeServer::new(api));
    let readiness = yidi_runtime::health::serve(
        settings.common.grpc,
        settings.common.tls()?,
        Some((routes, "yidi.v1.Exchange")),
        &shutdown,
    )
    .await?;
    let mut exposition = yidi_runtime::metrics::Exposition::new(&bus, &outbox);
    register_figures(&mut exposition, &exchange);
    exposition.serve(settings.common.metrics, readiness.clone(), &shutdown).await?;
    let consumer = consumer(&bus, province)?;
    // The relay sends what is queued until it sees the stop.
    let stop = shutdown.requested();
    shutdown.spawn(async move { outbox.relay(stop).await });
    sweep_unanswered(&exchange, &shutdown);
    readiness.ready().await;
    info!(%province, grpc = %settings.common.grpc, "exchange ready");
    consumer.run(&bus, shutdown.requested(), exchange.as_ref()).await;
    shutdown.finish(yidi_runtime::shutdown::GRACE).await;
    Ok(())
}

/// Every topic the exchange reads or writes, created at start.
fn topic_names(province: RegionCode) -> Vec<String> {
    let p = province.as_str();
    vec![
        topics::his_discharge(p),
        topics::his_settlement(p),
        topics::exchange_results(p),
        topics::HUB_REQUESTS.to_owned(),
        topics::DEAD_LETTER.to_owned(),
        topics::exchange_statements(p),
        topics::exchange_hospitals(p),
        topics::HUB_STATEMENTS.to_owned(),
        topics::FILING.to_owned(),
    ]
}

/// One consumer for all of the exchange's topics (every consumer costs the broker a fetch
/// loop): bills, results, statement requests, agreement decisions, and the filing records it
/// follows — the hub owns that topic and dead-letters what it refuses there.
fn consumer(bus: &yidi_bus::Bus, province: RegionCode) -> anyhow::Result<yidi_bus::Consumer> {
    let p = province.as_str();
    let read = [
        topics::his_discharge(p),
        topics::exchange_results(p),
        topics::exchange_statements(p),
        topics::exchange_hospitals(p),
        topics::FILING.to_owned(),
    ];
    Ok(bus
        .consumer(&format!("exchange-{province}"), &read)?
        .following(&[topics::FILING.to_owned()]))
}

/// gRPC settlements whose caller stopped waiting (cancelled, or cut by a stop) are reversed
/// once their deadline has passed.
fn sweep_unanswered(exchange: &Arc<Exchange>, shutdown: &Shutdown) {
    let exchange = Arc::clone(exchange);
    shutdown.every(SWEEP_EVERY, move || {
        let exchange = Arc::clone(&exchange);
        async move {
            match exchange.sweep_unanswered().await {
                Ok(0) => {}
                Ok(queued) => info!(queued, "reversals queued for unanswered gRPC settlements"),
                Err(error) => warn!(%error, "sweep of unanswered gRPC settlements: will try again"),
            }
        }
    });
}

/// The exchange's own figures beside the bus's: first results and settlement time.
fn register_figures(exposition: &mut yidi_runtime::metrics::Exposition, exchange: &Exchange) {
    exchange.answers.register(
        exposition.registry(),
        "results",
        "First results of bills and reversals this exchange sent, by outcome and reason",
    );
    exchange.settlement_time.register(
        exposition.registry(),
        "settlement",
        "A bill sent on to the hub until its first result is back, when this process took the result in",
    );
    exchange.grpc_answers.register(
        exposition.registry(),
        "grpc_answers",
        "gRPC calls answered in time, by how the answer came (outcome: told by this process, or read from the database another process of the exchange recorded it in)",
    );
}
