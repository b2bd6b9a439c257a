//! Overdue clearing funds (N22 point 7, domain.md §5.2): days past due, aging buckets, late
//! interest, and the escalation ladder reminder → warning → suspension → lifted once paid.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use yidi_domain::money::Amount;

/// Where a province stands on the ladder.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Normal,
    Reminder,
    Warning,
    /// Direct settlement for the province's insured is suspended.
    Suspended,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::Normal => "normal",
            Level::Reminder => "reminder",
            Level::Warning => "warning",
            Level::Suspended => "suspended",
        }
    }
}

/// `overdue_action` of domain.md §5.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverdueAction {
    /// Escalate to a warning at most.
    Notify,
    /// Suspend the province's direct settlement at the last step.
    SuspendProvince,
}

/// The escalation ladder [I]: the sanction text is not verified, so every step is a setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ladder {
    pub remind_after_days: i64,
    pub warn_after_days: i64,
    pub suspend_after_days: i64,
    pub action: OverdueAction,
    /// Yearly late interest on overdue amounts, e.g. `0.0365`; none when absent.
    pub interest_rate: Option<Decimal>,
}

impl Default for Ladder {
    fn default() -> Ladder {
        Ladder {
            remind_after_days: 1,
            warn_after_days: 15,
            suspend_after_days: 30,
            action: OverdueAction::SuspendProvince,
            interest_rate: None,
        }
    }
}

impl Ladder {
    /// The level a province is on when its oldest overdue amount is `days` past due.
    pub fn level(&self, days: i64) -> Level {
        if days >= self.suspend_after_days && self.action == OverdueAction::SuspendProvince {
            Level::Suspended
        } else if days >= self.warn_after_days {
            Level::Warning
        } else if days >= self.remind_after_days {
            Level::Reminder
        } else {
            Level::Normal
        }
    }
}

/// The aging buckets of the dashboard: 1–30, 31–60, 61–90, over 90 days past due.
pub const BUCKETS: [&str; 4] = ["1-30", "31-60", "61-90", ">90"];

pub fn bucket(days: i64) -> Option<usize> {
    match days {
        ..=0 => None,
        1..=30 => Some(0),
        31..=60 => Some(1),
        61..=90 => Some(2),
        _ => Some(3),
    }
}

/// Days past `due` on `today` (0 when not yet due).
pub fn days_past(due: NaiveDate, today: NaiveDate) -> i64 {
    (today - due).num_days().max(0)
}

/// Simple late interest on an amount due on `due`, reduced by payments as they came: each day
/// after `due` up to `today` accrues `outstanding × rate / 365` on what was still unpaid at
/// the end of that day. Rounded once, at the end.
pub fn interest(
    due_amount: Amount,
    due: NaiveDate,
    payments: &[(NaiveDate, Amount)],
    today: NaiveDate,
    rate: Decimal,
) -> Amount {
    let mut sorted: Vec<(NaiveDate, Amount)> = payments.to_vec();
    sorted.sort();
    let mut outstanding = due_amount;
    // Payments on or before the due date are not late.
    for (on, amount) in &sorted {
        if *on <= due {
            outstanding = outstanding.saturating_sub(*amount);
        }
    }
    // Σ outstanding × days; `accounted` is the last day already counted.
    let mut weighted = Decimal::ZERO;
    let mut accounted = due;
    for (on, amount) in sorted.iter().filter(|(on, _)| *on > due && *on <= today) {
        let before = on.pred_opt().unwrap_or(*on);
        if before > accounted {
            weighted += outstanding.value() * Decimal::from((before - accounted).num_days());
            accounted = before;
        }
        outstanding = outstanding.saturating_sub(*amount);
    }
    if today > accounted {
        weighted += outstanding.value() * Decimal::from((today - accounted).num_days());
    }
    Amount::round2(weighted * rate / Decimal::from(365))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::text::yuan;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn the_ladder_climbs_with_days_past_due() {
        let ladder = Ladder::default();
        assert_eq!(ladder.level(0), Level::Normal);
        assert_eq!(ladder.level(1), Level::Reminder);
        assert_eq!(ladder.level(15), Level::Warning);
        assert_eq!(ladder.level(30), Level::Suspended);
        let notify = Ladder { action: OverdueAction::Notify, ..Ladder::default() };
        assert_eq!(notify.level(400), Level::Warning);
    }

    #[test]
    fn buckets_are_1_30_31_60_61_90_and_over_90() {
        assert_eq!(bucket(0), None);
        assert_eq!(bucket(30), Some(0));
        assert_eq!(bucket(31), Some(1));
        assert_eq!(bucket(90), Some(2));
        assert_eq!(bucket(91), Some(3));
    }

    #[test]
    fn interest_accrues_daily_on_what_is_still_unpaid() {
        let rate = Decimal::new(365, 4); // 3.65 % a year = 0.01 % a day
                                         // 10,000.00 overdue 10 days: 10 × 1.00.
        assert_eq!(
            interest(yuan("10000.00"), date("2027-01-01"), &[], date("2027-01-11"), rate),
            yuan("10.00")
        );
        // Half paid on day 4: days 1–3 on 10,000, days 4–10 on 5,000 → 3.00 + 3.50.
        let paid = [(date("2027-01-05"), yuan("5000.00"))];
        assert_eq!(
            interest(yuan("10000.00"), date("2027-01-01"), &paid, date("2027-01-11"), rate),
            yuan("6.50")
        );
        // Paid on time: nothing.
        let on_time = [(date("2027-01-01"), yuan("10000.00"))];
        assert_eq!(
            interest(yuan("10000.00"), date("2027-01-01"), &on_time, date("2027-03-01"), rate),
            Amount::ZERO
        );
    }
}
