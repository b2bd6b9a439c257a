//! Prepayment (预付金, domain.md §5.2 [R]): the insured province pays each treatment province
//! in advance about two months of its cross-province fund payments, sized from the previous
//! year; a warning and a top-up notice come when usage passes a threshold.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use yidi_domain::money::Amount;

use crate::period::Period;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrepaySettings {
    /// Months of average fund payment a prepayment covers (`prepay_months`).
    pub months: u32,
    /// Usage (outstanding ÷ prepaid) at which a warning and a top-up notice go out.
    pub warn_threshold: Decimal,
    /// The least prepayment of a pair, also what a pair with no history starts with.
    #[serde(with = "crate::text::amount")]
    pub floor: Amount,
}

impl Default for PrepaySettings {
    fn default() -> PrepaySettings {
        PrepaySettings {
            months: 2,
            warn_threshold: Decimal::new(70, 2),
            floor: Amount::round2(Decimal::from(1_000_000)),
        }
    }
}

/// How the year's prepayment was sized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sizing {
    #[serde(with = "crate::text::amount")]
    pub amount: Amount,
    /// `previous_year`, `months_so_far` (the network's first year) or `floor`.
    pub basis: &'static str,
    #[serde(with = "crate::text::amount")]
    pub monthly_average: Amount,
}

/// Sizes a pair's prepayment for `year` from its monthly fund payments: the previous
/// calendar year's average month when there is one; in the first year, the average of the
/// complete months so far before `current`; never under the floor.
pub fn size(
    settings: &PrepaySettings,
    monthly: &BTreeMap<Period, Amount>,
    year: i32,
    current: Period,
) -> Sizing {
    let previous: Amount =
        monthly.iter().filter(|(p, _)| p.year == year - 1).map(|(_, a)| *a).sum();
    let (average, basis) = if !previous.is_zero() {
        (Amount::round2(previous.value() / Decimal::from(12)), "previous_year")
    } else {
        let first = monthly.iter().find(|(_, a)| !a.is_zero()).map(|(p, _)| *p);
        match first {
            Some(first) if first < current => {
                let mut months = 0u32;
                let mut total = Amount::ZERO;
                let mut p = first;
                while p < current {
                    total = total + monthly.get(&p).copied().unwrap_or_default();
                    months += 1;
                    p = p.next();
                }
                (Amount::round2(total.value() / Decimal::from(months.max(1))), "months_so_far")
            }
            _ => (Amount::ZERO, "floor"),
        }
    };
    let sized = Amount::round2(average.value() * Decimal::from(settings.months));
    if sized > settings.floor {
        Sizing { amount: sized, basis, monthly_average: average }
    } else {
        Sizing { amount: settings.floor, basis: "floor", monthly_average: average }
    }
}

/// Usage of a pair's prepayment and the top-up it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// `outstanding ÷ prepaid`, four decimals.
    pub usage: Decimal,
    pub warning: bool,
    /// What brings usage back to the threshold.
    #[serde(with = "crate::text::amount")]
    pub top_up: Amount,
}

pub fn usage(settings: &PrepaySettings, prepaid: Amount, outstanding: Amount) -> Usage {
    if prepaid.is_zero() || prepaid.is_negative() {
        return Usage {
            usage: Decimal::ZERO,
            warning: !outstanding.is_zero(),
            top_up: outstanding,
        };
    }
    let exact = outstanding.value() / prepaid.value();
    let warning = exact >= settings.warn_threshold;
    let usage = exact.round_dp(4);
    let top_up = if warning && !settings.warn_threshold.is_zero() {
        // Round up to the fen so that the topped-up prepayment really meets the threshold.
        let needed = outstanding.value() / settings.warn_threshold - prepaid.value();
        Amount::round2(
            needed.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::AwayFromZero),
        )
    } else {
        Amount::ZERO
    };
    Usage { usage, warning, top_up }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::text::yuan;

    #[test]
    fn a_prepayment_is_two_months_of_last_years_average() {
        let settings = PrepaySettings { floor: yuan("100.00"), ..PrepaySettings::default() };
        let mut monthly = BTreeMap::new();
        monthly.insert("2026-03".parse().unwrap(), yuan("6000.00"));
        monthly.insert("2026-11".parse().unwrap(), yuan("6000.00"));
        let sizing = size(&settings, &monthly, 2027, "2027-02".parse().unwrap());
        assert_eq!((sizing.amount, sizing.basis), (yuan("2000.00"), "previous_year"));
    }

    #[test]
    fn the_first_year_uses_the_complete_months_so_far_and_never_goes_under_the_floor() {
        let settings = PrepaySettings { floor: yuan("100.00"), ..PrepaySettings::default() };
        let mut monthly = BTreeMap::new();
        monthly.insert("2027-01".parse().unwrap(), yuan("300.00"));
        monthly.insert("2027-02".parse().unwrap(), yuan("100.00"));
        let sizing = size(&settings, &monthly, 2027, "2027-03".parse().unwrap());
        assert_eq!((sizing.amount, sizing.basis), (yuan("400.00"), "months_so_far"));
        let sizing = size(&settings, &monthly, 2027, "2027-01".parse().unwrap());
        assert_eq!((sizing.amount, sizing.basis), (yuan("100.00"), "floor"));
    }

    #[test]
    fn usage_past_seventy_percent_warns_and_asks_for_the_top_up_that_restores_it() {
        let settings = PrepaySettings::default();
        let u = usage(&settings, yuan("1000.00"), yuan("800.00"));
        assert!(u.warning);
        assert_eq!(u.top_up, yuan("142.86")); // 800 / 0.7 = 1142.857…
        assert!(!usage(&settings, yuan("1000.00"), yuan("699.99")).warning);
    }
}
