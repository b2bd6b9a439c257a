//! What the agency's in-process tests share: an agency on a fresh SQLite file with the sample
//! registry of Tianjin seeded, a bus that never reaches a broker, messages read back as if
//! consumed.

#![allow(dead_code)] // Each test file uses its part.

use chrono::NaiveDateTime;
use yidi_agency::handler::Agency;
use yidi_agency::store;
use yidi_bus::{Bus, BusConfig, Incoming, Outgoing};
use yidi_domain::benefit::BenefitRules;
use yidi_domain::ids::RegionCode;
use yidi_store::Store;
use yidi_wire::convert;

pub const INSURED: &str = "120000";
pub const TREATMENT: &str = "440000";
pub const PERSONS: u64 = 12;

pub fn now() -> NaiveDateTime {
    NaiveDateTime::parse_from_str("2026-11-23 10:15:00", convert::TIME_FORMAT).unwrap()
}

/// A bus whose producer is never used: creating one does not reach any broker.
fn offline_bus() -> Bus {
    let config = BusConfig {
        brokers: "127.0.0.1:1".into(),
        service: "agency-test".into(),
        ..Default::default()
    };
    Bus::connect(config).unwrap()
}

pub async fn agency(name: &str) -> (Agency, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("yidi-lane-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("agency.db").display());
    let store = Store::open_migrated(&url, store::SCHEMA, store::CHANGES).await.unwrap();
    let region: RegionCode = INSURED.parse().unwrap();
    let mut tx = store.begin().await.unwrap();
    for index in 0..PERSONS {
        store::seed_person(&mut tx, &yidi_sim::registry::person(region, index, now().date()))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let regions =
        yidi_data::insured_regions().unwrap().into_iter().filter(|r| r.region == region).collect();
    let agency = Agency {
        name: format!("agency-{name}"),
        regions,
        store,
        rules: BenefitRules::default(),
        bus: offline_bus(),
        clock: yidi_runtime::clock::BusinessClock::default(),
        settlements: Default::default(),
    };
    (agency, dir)
}

pub fn incoming(offset: i64, message: Outgoing) -> Incoming {
    Incoming::read_back(message, 0, offset)
}

/// The treatment province's catalogue.
pub fn treatment_catalogue() -> yidi_formats::catalogue_file::TreatmentCatalogue {
    yidi_data::treatment_catalogues()
        .unwrap()
        .into_iter()
        .find(|c| c.region.as_str() == TREATMENT)
        .unwrap()
}

/// The settlement request an exchange makes of `bill`, as a message to the agency.
pub fn request_message(
    bill: &yidi_wire::v1::DischargeBill,
    catalogue: &yidi_formats::catalogue_file::TreatmentCatalogue,
) -> Outgoing {
    let request = yidi_wire::v1::SettleRequest {
        lines: convert::classify(bill, &catalogue.catalogue),
        catalogue_version: catalogue.catalogue.version.clone(),
        exchange: TREATMENT.into(),
        requested_at: "2026-11-23 10:15:01".into(),
        bill: Some(bill.clone()),
    };
    Outgoing::new(
        yidi_bus::topics::agency_requests(INSURED),
        &bill.mdtrt_id,
        "yidi.v1.SettleRequest",
        &request,
        yidi_wire::codec::ContentType::Protobuf,
    )
}
