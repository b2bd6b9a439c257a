//! What the hub's in-process tests share: a desk on a store, with a test token key.

#![allow(dead_code, clippy::unwrap_used, clippy::as_conversions)] // each test binary uses what it needs

use std::sync::Arc;

use yidi_clearing::book::Settings;
use yidi_hub::clearing::Desk;
use yidi_runtime::clock::BusinessClock;
use yidi_store::Store;
use yidi_trust::token::PersonTokens;
use yidi_wire::v1::{Setlinfo, SettleResult, SettleStatus};

/// A person-token key for tests (production's comes from `yidi keys init`).
pub fn test_tokens() -> Arc<PersonTokens> {
    Arc::new(PersonTokens::new([7; 32]))
}

/// The desk on `store` with default settings, its business clock starting at `start` on a
/// new log.
pub async fn desk(store: &Store, start: Option<chrono::NaiveDate>) -> Desk {
    Desk::open(store.clone(), Settings::default(), BusinessClock::default(), start, test_tokens())
        .await
        .unwrap()
}

/// The hub's tables: its records and the clearing desk's.
pub fn schema() -> Vec<&'static str> {
    yidi_hub::record::SCHEMA.iter().chain(yidi_hub::clearing::SCHEMA).copied().collect()
}

/// A result of `status` for bill `setl_id` of a person insured in `insured`, treated in
/// `treatment`, the pooled fund paying `hifp` and the personal account `acct`.
pub fn result(
    setl_id: &str,
    insured: &str,
    treatment: &str,
    hifp: &str,
    acct: &str,
    status: SettleStatus,
) -> SettleResult {
    SettleResult {
        msgid: format!("M-{setl_id}-{}", status as i32),
        mdtrt_id: format!("E-{setl_id}"),
        psn_no: "P1".into(),
        insuplc_admdvs: insured.into(),
        mdtrtarea_admvs: treatment.into(),
        status: status as i32,
        setlinfo: Some(Setlinfo {
            setl_id: setl_id.into(),
            medfee_sumamt: "20000.00".into(),
            hifp_pay: hifp.into(),
            hifob_pay: "0.00".into(),
            hifmi_pay: "0.00".into(),
            maf_pay: "0.00".into(),
            fund_pay_sumamt: hifp.into(),
            acct_pay: acct.into(),
            insutype: "310".into(),
            setl_time: "2026-11-23 10:00:00".into(),
            ..Setlinfo::default()
        }),
        ..SettleResult::default()
    }
}

/// A bus whose producer is never used: creating one does not reach any broker.
pub fn offline_bus() -> yidi_bus::Bus {
    let config = yidi_bus::BusConfig {
        brokers: "127.0.0.1:1".into(),
        service: "hub-test".into(),
        ..Default::default()
    };
    yidi_bus::Bus::connect(config).unwrap()
}

/// The hub's store in `dir`, migrated as the hub migrates it.
pub async fn store(dir: &std::path::Path) -> Store {
    let url = format!("sqlite://{}", dir.join("hub.db").display());
    Store::open_migrated(&url, &schema(), yidi_hub::hospitals::CHANGES).await.unwrap()
}

/// The dashboard on `store`, with the given tokens and clock kind.
pub async fn dashboard(
    store: Store,
    tokens: (Option<&str>, Option<&str>),
    simulated_clock: bool,
) -> yidi_hub::dashboard::Dashboard {
    let desk = desk(&store, None).await;
    yidi_hub::dashboard::Dashboard {
        desk: Arc::new(desk),
        live: Arc::default(),
        outbox: yidi_runtime::outbox::Outbox::new(store.clone(), offline_bus()),
        store,
        admin_token: tokens.0.map(str::to_owned),
        read_token: tokens.1.map(str::to_owned),
        simulated_clock,
        health: Arc::default(),
        full_checked: std::sync::Mutex::new(None),
    }
}
