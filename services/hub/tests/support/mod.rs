//! What the hub's in-process tests share: a desk on a store, with a test token key.

#![allow(dead_code, clippy::unwrap_used)] // each test binary uses what it needs

use std::sync::Arc;

use yidi_clearing::book::Settings;
use yidi_hub::clearing::Desk;
use yidi_runtime::clock::BusinessClock;
use yidi_store::Store;
use yidi_trust::token::PersonTokens;

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
