//! Settings and the run loop of the hub.

use std::collections::BTreeSet;

use serde::Deserialize;
use tracing::info;
use yidi_bus::topics;
use yidi_domain::ids::RegionCode;
use yidi_runtime::shutdown::Shutdown;

use crate::record;
use crate::route::Hub;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub common: yidi_runtime::settings::Common,
    /// Insured provinces with an agency on the network.
    pub insured_provinces: Vec<String>,
    /// Treatment provinces with an exchange (their result topics are created up front).
    pub treatment_provinces: Vec<String>,
    /// Insured provinces whose direct settlement is suspended.
    #[serde(default)]
    pub suspended: Vec<String>,
}

fn provinces(codes: &[String], field: &str) -> anyhow::Result<BTreeSet<RegionCode>> {
    codes
        .iter()
        .map(|c| {
            c.parse::<RegionCode>()
                .map(RegionCode::province)
                .map_err(|e| anyhow::anyhow!("{field}: {c}: {e}"))
        })
        .collect()
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let served = provinces(&settings.insured_provinces, "insured_provinces")?;
    let suspended = provinces(&settings.suspended, "suspended")?;
    let treatment = provinces(&settings.treatment_provinces, "treatment_provinces")?;
    let (store, bus) = settings.common.connect(record::SCHEMA).await?;
    let mut names = vec![
        topics::HUB_REQUESTS.to_owned(),
        topics::HUB_RESULTS.to_owned(),
        topics::FILING.to_owned(),
        topics::DEAD_LETTER.to_owned(),
    ];
    names.extend(served.iter().map(|p| topics::agency_requests(p.as_str())));
    names.extend(treatment.iter().map(|p| topics::exchange_results(p.as_str())));
    bus.ensure_topics(&names).await?;
    let hub = Hub { store, served, suspended };
    let shutdown = Shutdown::on_signals();
    let health = yidi_runtime::health::serve(settings.common.grpc, None, shutdown.clone());
    let requests = bus.consumer("hub-requests", &[topics::HUB_REQUESTS.to_owned()])?;
    let results = bus.consumer("hub-results", &[topics::HUB_RESULTS.to_owned()])?;
    let filings = bus.consumer("hub-filings", &[topics::FILING.to_owned()])?;
    info!(served = ?hub.served, suspended = ?hub.suspended, "hub ready");
    tokio::join!(
        requests.run(&bus, shutdown.clone().requested(), |m| hub.route_request(&bus, m)),
        results.run(&bus, shutdown.clone().requested(), |m| hub.route_result(&bus, m)),
        filings.run(&bus, shutdown.clone().requested(), |m| hub.record_filing(&bus, m)),
    );
    health.abort();
    Ok(())
}
