//! Prepayment (预付金, domain.md §5.2 [R]): the insured province pays each treatment province
//! in advance about two months of its cross-province fund payments, sized from the previous
//! year; a warning and a top-up notice come when usage passes a threshold.
//!
//! Prepay first, clear after (先预付后清算, issue #13 §6): when a round becomes final, each net
//! debtor's position is settled first against its prepayments — pair by pair, each draw at most
//! what the pair owes in the round and what its prepayment holds — and what is drawn is paid
//! out to the net creditors at once, in proportion to their positions. The debtor's payment
//! of the round then refills what was drawn, pair by pair, before anything else; what the
//! prepayments did not cover reaches the creditors when the debtors pay.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;

use crate::netting::PairObligation;
use crate::period::Period;

/// What a round took from one pair's prepayment: an amount of an insured → treatment pair,
/// as an obligation is.
pub type Draw = PairObligation;

/// What a net creditor was paid out of the draws when the round became final.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    #[serde(with = "crate::text::region")]
    pub province: RegionCode,
    #[serde(with = "crate::text::amount")]
    pub amount: Amount,
}

/// A round settled first against prepayments: recorded with the round's final event, so that
/// a replay does not decide it again (and rounds made final before it have none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepayFirst {
    pub draws: Vec<Draw>,
    pub paid_out: Vec<Payout>,
}

impl PrepayFirst {
    pub fn is_empty(&self) -> bool {
        self.draws.is_empty() && self.paid_out.is_empty()
    }

    pub fn drawn(&self) -> Amount {
        self.draws.iter().map(|draw| draw.amount).sum()
    }

    /// What `province` was paid out of the draws.
    pub fn paid_out_to(&self, province: RegionCode) -> Amount {
        self.paid_out.iter().filter(|p| p.province == province).map(|p| p.amount).sum()
    }

    /// How `paid`, what `debtor` has paid of the round, refills its draws: pair by pair in
    /// order, each at most what was drawn from it.
    pub fn refills(&self, debtor: RegionCode, paid: Amount) -> Vec<Draw> {
        let mut left = paid;
        let mut refills = Vec::new();
        for draw in self.draws.iter().filter(|draw| draw.insured == debtor) {
            let amount = draw.amount.min(left);
            left = left - amount;
            refills.push(Draw { amount, ..draw.clone() });
        }
        refills
    }

    /// Checks what a replayed event says: amounts above zero, between two provinces, paid
    /// out no more than was drawn.
    pub fn check(&self) -> Result<(), String> {
        for draw in &self.draws {
            if !draw.amount.is_positive() || draw.insured == draw.treatment {
                return Err(format!("draw {}→{} of {}", draw.insured, draw.treatment, draw.amount));
            }
        }
        let paid: Amount = self.paid_out.iter().map(|p| p.amount).sum();
        if self.paid_out.iter().any(|p| !p.amount.is_positive()) || paid > self.drawn() {
            return Err(format!("{paid} paid out of {} drawn", self.drawn()));
        }
        Ok(())
    }
}

/// Settles a final round first against prepayments: `pairs` are what each insured province
/// owes each treatment province in the round, `net` the positions (negative: pays),
/// `balances` what each pair's prepayment holds now.
pub fn settle_first(
    pairs: &[PairObligation],
    net: &BTreeMap<RegionCode, Amount>,
    balances: &BTreeMap<(RegionCode, RegionCode), Amount>,
) -> PrepayFirst {
    let mut draws = Vec::new();
    for (&debtor, position) in net.iter().filter(|(_, position)| position.is_negative()) {
        let mut need = position.negated();
        for pair in pairs.iter().filter(|pair| pair.insured == debtor) {
            let held = balances.get(&(pair.insured, pair.treatment)).copied().unwrap_or_default();
            let amount = pair.amount.min(held).min(need);
            if amount.is_positive() {
                need = need - amount;
                draws.push(Draw { insured: pair.insured, treatment: pair.treatment, amount });
            }
        }
    }
    let drawn: Amount = draws.iter().map(|draw| draw.amount).sum();
    PrepayFirst { paid_out: pay_out(drawn, net), draws }
}

/// Shares `drawn` among the net creditors in proportion to their positions, to the fen: each
/// share rounded down, the fen left over given one by one in province order, none above the
/// creditor's position.
fn pay_out(drawn: Amount, net: &BTreeMap<RegionCode, Amount>) -> Vec<Payout> {
    let creditors: Vec<(RegionCode, Amount)> =
        net.iter().filter(|(_, n)| n.is_positive()).map(|(p, n)| (*p, *n)).collect();
    let owed: Amount = creditors.iter().map(|(_, n)| *n).sum();
    if !drawn.is_positive() || !owed.is_positive() {
        return Vec::new();
    }
    let mut shares: Vec<(RegionCode, Amount, Amount)> = creditors
        .iter()
        .map(|&(province, position)| {
            let exact = drawn.value() * position.value() / owed.value();
            let share = Amount::round2(
                exact.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero),
            );
            (province, share.min(position), position)
        })
        .collect();
    let fen = Amount::round2(Decimal::new(1, 2));
    let mut left = drawn - shares.iter().map(|(_, share, _)| *share).sum::<Amount>();
    while left.is_positive() {
        let before = left;
        for (_, share, position) in &mut shares {
            if left.is_positive() && *share < *position {
                *share = *share + fen;
                left = left - fen;
            }
        }
        if left == before {
            break;
        }
    }
    shares
        .into_iter()
        .filter(|(_, share, _)| share.is_positive())
        .map(|(province, amount, _)| Payout { province, amount })
        .collect()
}

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

/// A sizing basis read back from the log, as the name [`size`] gives it.
pub fn basis(text: &str) -> &'static str {
    match text {
        "previous_year" => "previous_year",
        "months_so_far" => "months_so_far",
        "floor" => "floor",
        _ => "recorded",
    }
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

    fn province(code: &str) -> RegionCode {
        code.parse().unwrap()
    }

    fn owes(insured: &str, treatment: &str, amount: &str) -> PairObligation {
        PairObligation {
            insured: province(insured),
            treatment: province(treatment),
            amount: yuan(amount),
        }
    }

    #[test]
    fn a_debtor_is_drawn_pair_by_pair_up_to_its_net_position() {
        // 310000 owes 110000 300.00 and 440000 500.00, is owed 100.00: it pays 700.00 net.
        let pairs = [
            owes("310000", "110000", "300.00"),
            owes("310000", "440000", "500.00"),
            owes("440000", "310000", "100.00"),
        ];
        let net = crate::netting::net(&pairs).net;
        let balances = BTreeMap::from([
            ((province("310000"), province("110000")), yuan("1000.00")),
            ((province("310000"), province("440000")), yuan("1000.00")),
        ]);
        let first = settle_first(&pairs, &net, &balances);
        let drawn: Vec<Amount> = first.draws.iter().map(|d| d.amount).collect();
        assert_eq!(drawn, [yuan("300.00"), yuan("400.00")], "never past the net position");
        assert_eq!(first.paid_out_to(province("440000")), yuan("400.00"));
        assert_eq!(first.paid_out_to(province("110000")), yuan("300.00"));
        // A payment refills pair by pair.
        let refills: Vec<Amount> =
            first.refills(province("310000"), yuan("500.00")).iter().map(|d| d.amount).collect();
        assert_eq!(refills, [yuan("300.00"), yuan("200.00")]);
        assert_eq!(first.check(), Ok(()));
    }

    #[test]
    fn what_is_drawn_is_shared_among_creditors_to_the_fen() {
        let net = BTreeMap::from([
            (province("110000"), yuan("1.00")),
            (province("310000"), yuan("1.00")),
            (province("440000"), yuan("1.00")),
            (province("120000"), yuan("-3.00")),
        ]);
        let paid = pay_out(yuan("1.00"), &net);
        let shares: Vec<Amount> = paid.iter().map(|p| p.amount).collect();
        assert_eq!(shares, [yuan("0.34"), yuan("0.33"), yuan("0.33")]);
        assert_eq!(shares.iter().copied().sum::<Amount>(), yuan("1.00"));
    }
}
