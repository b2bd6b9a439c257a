//! The clearing desk's state as Prometheus gauges (issue #12 §2): overdue money by province
//! and aging bucket, each province's overdue level and how many are suspended, prepayment
//! usage per pair, rounds by state. Read from the desk every [`REFRESH`]: the figures move
//! with the business calendar, not with each message.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use rust_decimal::prelude::ToPrimitive;
use yidi_clearing::overdue::{Level, BUCKETS};
use yidi_clearing::round::RoundState;
use yidi_domain::money::Amount;

use crate::clearing::Desk;

/// How often the gauges are read from the desk (Prometheus scrapes every 15 s).
pub const REFRESH: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Aging {
    province: String,
    bucket: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Province {
    province: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct Pair {
    insured: String,
    treatment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct State {
    state: String,
}

/// The gauges, shared with the registry.
#[derive(Clone, Debug, Default)]
pub struct ClearingGauges {
    overdue_fen: Family<Aging, Gauge>,
    level: Family<Province, Gauge>,
    suspended: Gauge,
    usage: Family<Pair, Gauge<f64, std::sync::atomic::AtomicU64>>,
    rounds: Family<State, Gauge>,
    day_differences: Family<Pair, Gauge>,
}

/// A province's overdue level as a number an alert compares: 0 normal, 1 reminder, 2
/// warning, 3 suspended.
fn level_number(level: Level) -> i64 {
    match level {
        Level::Normal => 0,
        Level::Reminder => 1,
        Level::Warning => 2,
        Level::Suspended => 3,
    }
}

/// An amount in fen: exact, as the ledger keeps it.
fn fen(amount: Amount) -> i64 {
    (amount.value() * rust_decimal::Decimal::ONE_HUNDRED).trunc().to_i64().unwrap_or(i64::MAX)
}

impl ClearingGauges {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "clearing_overdue_fen",
            "Clearing money past due and unpaid, by debtor province and days past due (fen)",
            self.overdue_fen.clone(),
        );
        registry.register(
            "clearing_overdue_level",
            "A province's overdue level: 0 normal, 1 reminder, 2 warning, 3 suspended",
            self.level.clone(),
        );
        registry.register(
            "clearing_suspended_provinces",
            "Provinces whose insured are suspended from direct settlement for overdue funds",
            self.suspended.clone(),
        );
        registry.register(
            "clearing_prepayment_usage_ratio",
            "Money advanced and not yet cleared over the prepayment, per insured and treatment province",
            self.usage.clone(),
        );
        registry.register("clearing_rounds", "Clearing rounds by state", self.rounds.clone());
        registry.register(
            "reconciliation_differences",
            "Days of the latest stated week on which an agency's or an exchange's statement differs from the ledger, per insured region and treatment province",
            self.day_differences.clone(),
        );
    }

    /// Reads the desk's views into the gauges.
    pub async fn refresh(&self, desk: &Desk) {
        let (_, provinces) = desk.overdue().await;
        let mut suspended = 0;
        for province in &provinces {
            let code = province.province.to_string();
            for (bucket, amount) in BUCKETS.iter().zip(province.aging) {
                let label = Aging { province: code.clone(), bucket: (*bucket).to_owned() };
                self.overdue_fen.get_or_create(&label).set(fen(amount));
            }
            let level = level_number(province.level);
            self.level.get_or_create(&Province { province: code }).set(level);
            suspended += i64::from(province.level == Level::Suspended);
        }
        self.suspended.set(suspended);
        for prepayment in desk.prepayments().await {
            let label = Pair {
                insured: prepayment.insured.to_string(),
                treatment: prepayment.treatment.to_string(),
            };
            self.usage.get_or_create(&label).set(prepayment.usage.usage.to_f64().unwrap_or(0.0));
        }
        if let Ok(pairs) = desk.daily_reconciliation().await {
            let mut differing: std::collections::BTreeMap<Pair, i64> = Default::default();
            for pair in &pairs {
                let label = Pair {
                    insured: pair.insured.to_string(),
                    treatment: pair.treatment.to_string(),
                };
                *differing.entry(label).or_default() += i64::from(!pair.agrees);
            }
            for (label, count) in differing {
                self.day_differences.get_or_create(&label).set(count);
            }
        }
        let states = desk.round_states().await;
        for state in [RoundState::Confirming, RoundState::Final, RoundState::Paid] {
            let count = states.iter().filter(|s| **s == state).count();
            let label = State { state: format!("{state:?}").to_lowercase() };
            self.rounds.get_or_create(&label).set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exported_in_whole_fen() {
        let amount = Amount::new("1234.56".parse().unwrap()).unwrap();
        assert_eq!(fen(amount), 123_456);
        assert_eq!(fen(Amount::ZERO), 0);
    }

    #[test]
    fn the_suspended_level_is_the_highest_number() {
        assert_eq!(level_number(Level::Suspended), 3);
        assert!(level_number(Level::Warning) > level_number(Level::Reminder));
    }
}
