//! Settings and the run loop of an agency process.

use std::collections::BTreeSet;

use serde::Deserialize;
use tracing::info;
use yidi_bus::topics;
use yidi_domain::benefit::BenefitRules;
use yidi_domain::ids::RegionCode;
use yidi_runtime::outbox::Outbox;
use yidi_runtime::shutdown::Shutdown;
use yidi_store::Store;
use yidi_wire::v1::FilingRecord;

use crate::grpc::AgencyApi;
use crate::handler::Agency;
use crate::store;

/// An agency's settings (`deploy/config/agency-*.toml`, `YIDI_<KEY>` overrides).
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub common: yidi_runtime::settings::Common,
    /// Insured regions hosted here (admin-division codes with an embedded policy).
    pub regions: Vec<String>,
    /// Sample persons to seed per region on first start.
    #[serde(default = "default_seed_persons")]
    pub seed_persons: u64,
}

fn default_seed_persons() -> u64 {
    2000
}

/// What `--check-config` checks: every region hosted has an embedded policy, and the
/// credentials can be read.
pub fn check(settings: &Settings) -> anyhow::Result<()> {
    hosted_regions(settings)?;
    settings.common.check()?;
    Ok(())
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let regions = hosted_regions(&settings)?;
    let (store, bus) = settings.common.connect(store::SCHEMA, store::CHANGES, &[]).await?;
    // One writer per process: a second copy of this process on the same database stops here
    // (instances of one role, `instance`, each hold their own).
    let lease = yidi_runtime::lease::Lease::take(&store, &settings.common.process_name()).await?;
    let provinces: BTreeSet<String> =
        regions.iter().map(|r| r.region.province().to_string()).collect();
    let request_topics: Vec<String> =
        provinces.iter().map(|p| topics::agency_requests(p)).collect();
    let mut all_topics = request_topics.clone();
    all_topics.extend([
        topics::HUB_RESULTS.to_owned(),
        topics::FILING.to_owned(),
        topics::HUB_SANCTIONS.to_owned(),
        topics::DEAD_LETTER.to_owned(),
    ]);
    bus.ensure_topics(&all_topics).await?;
    let outbox = Outbox::new(store.clone(), bus.clone());
    for region in &regions {
        let today = settings.common.clock().today();
        seed(&store, &outbox, region.region, settings.seed_persons, today).await?;
    }
    let shutdown = Shutdown::on_signals();
    shutdown.spawn(lease.keep(shutdown.requested()));
    let stop = shutdown.requested();
    shutdown.spawn({
        let outbox = outbox.clone();
        async move { outbox.relay(stop).await }
    });
    let api = AgencyApi {
        regions: regions.clone(),
        store: store.clone(),
        bus: bus.clone(),
        rules: BenefitRules::default(),
        clock: settings.common.clock(),
        outbox: outbox.clone(),
    };
    let routes = tonic::service::Routes::new(yidi_wire::v1::agency_server::AgencyServer::new(api));
    let readiness = yidi_runtime::health::serve(
        settings.common.grpc,
        settings.common.tls()?,
        Some((routes, "yidi.v1.Agency")),
        &shutdown,
    )
    .await?;
    let agency = Agency {
        name: settings.common.name.clone(),
        regions,
        store,
        rules: BenefitRules::default(),
        bus: bus.clone(),
        clock: settings.common.clock(),
        settlements: Default::default(),
    };
    let mut exposition = yidi_runtime::metrics::Exposition::new(&bus, &outbox);
    agency.settlements.register(
        exposition.registry(),
        "settlements",
        "Settlements decided by this agency, by outcome and reason",
    );
    exposition.serve(settings.common.metrics, readiness.clone(), &shutdown).await?;
    let group = format!("agency-{}", provinces.iter().cloned().collect::<Vec<_>>().join("-"));
    let consumer = bus.consumer(&group, &request_topics)?;
    readiness.ready().await;
    info!(name = %settings.common.name, topics = ?request_topics, "agency ready");
    consumer.run(&bus, shutdown.requested(), &agency).await;
    shutdown.finish(yidi_runtime::shutdown::GRACE).await;
    Ok(())
}

/// The insured regions of the settings, each with its embedded policy.
fn hosted_regions(settings: &Settings) -> anyhow::Result<Vec<yidi_domain::policy::InsuredRegion>> {
    let wanted: BTreeSet<RegionCode> = settings
        .regions
        .iter()
        .map(|code| code.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("regions: {e}"))?;
    let regions: Vec<_> =
        yidi_data::insured_regions()?.into_iter().filter(|r| wanted.contains(&r.region)).collect();
    anyhow::ensure!(
        regions.len() == wanted.len(),
        "regions: some have no embedded policy: {:?}",
        settings.regions
    );
    Ok(regions)
}

/// Seeds the sample registry of `region` once, and queues its filings for the hub.
async fn seed(
    store: &Store,
    outbox: &Outbox,
    region: RegionCode,
    count: u64,
    today: chrono::NaiveDate,
) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    let existing = store::person_count(&mut tx, region).await?;
    if existing >= i64::try_from(count).unwrap_or(i64::MAX) {
        return Ok(());
    }
    let mut filings = Vec::new();
    for index in 0..count {
        let person = yidi_sim::registry::person(region, index, today);
        store::seed_person(&mut tx, &person).await?;
        filings.extend(person.filings.iter().map(|filing| FilingRecord {
            filing_id: filing.filing_id.clone(),
            psn_no: person.psn_no.clone(),
            insuplc_admdvs: region.to_string(),
            filing_type: filing.filing_type.code().into(),
            target_admdvs: filing.target.to_string(),
            begndate: filing.begins_on.to_string(),
            enddate: filing.ends_on.map(|d| d.to_string()).unwrap_or_default(),
            filed_at: filing.filed_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            revoked_at: String::new(),
            version: yidi_wire::convert::FILING_FILED,
        }));
    }
    let at = today.to_string();
    for filing in &filings {
        Outbox::put(&mut tx, &crate::grpc::filing_message(filing), &at).await?;
    }
    tx.commit().await?;
    outbox.wake();
    info!(%region, persons = count, filings = filings.len(), "registry seeded and filings queued for the hub");
    Ok(())
}
