//! The clearing calendar (domain.md §5.2–5.3): notices around the 20th of the month after
//! the period, confirmation within working days, then the transfer deadline.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::period::Period;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Calendar {
    /// Day of the following month the national system generates notices (`clearing_generate_day`).
    pub generate_day: u32,
    /// Working days the agencies have to confirm or dispute (`confirm_deadline_wd`).
    pub confirm_working_days: u32,
    /// Working days after the confirmation deadline to transfer the money (`transfer_deadline_wd`).
    pub transfer_working_days: u32,
    /// Public holidays that are not working days (Saturdays and Sundays never are).
    pub holidays: BTreeSet<NaiveDate>,
}

impl Default for Calendar {
    fn default() -> Calendar {
        Calendar {
            generate_day: 20,
            confirm_working_days: 10,
            transfer_working_days: 15,
            holidays: BTreeSet::new(),
        }
    }
}

impl Calendar {
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&date)
    }

    /// The first working day on or after `date`.
    pub fn working_on_or_after(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while !self.is_working_day(day) {
            day = next(day);
        }
        day
    }

    /// `count` working days after `date`.
    pub fn add_working_days(&self, date: NaiveDate, count: u32) -> NaiveDate {
        let mut day = date;
        let mut left = count;
        while left > 0 {
            day = next(day);
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// When the notices of `period` are generated: the generate day of the next month, moved
    /// to a working day.
    pub fn generate_on(&self, period: Period) -> NaiveDate {
        self.working_on_or_after(period.next().day(self.generate_day))
    }

    /// The confirmation and payment deadlines of a round generated on `generated`.
    pub fn deadlines(&self, generated: NaiveDate) -> (NaiveDate, NaiveDate) {
        let confirm_by = self.add_working_days(generated, self.confirm_working_days);
        (confirm_by, self.add_working_days(confirm_by, self.transfer_working_days))
    }
}

fn next(day: NaiveDate) -> NaiveDate {
    day.checked_add_days(Days::new(1)).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn october_is_noticed_on_november_20th_and_due_fifteen_working_days_after_confirmation() {
        let calendar = Calendar::default();
        let period: Period = "2026-10".parse().unwrap();
        // 2026-11-20 is a Friday.
        assert_eq!(calendar.generate_on(period), date("2026-11-20"));
        let (confirm_by, pay_by) = calendar.deadlines(date("2026-11-20"));
        assert_eq!(confirm_by, date("2026-12-04"));
        assert_eq!(pay_by, date("2026-12-25"));
    }

    #[test]
    fn a_generate_day_on_a_weekend_or_holiday_moves_to_the_next_working_day() {
        let mut calendar = Calendar::default();
        // 2027-02-20 is a Saturday; make the Monday a holiday too.
        calendar.holidays.insert(date("2027-02-22"));
        assert_eq!(calendar.generate_on("2027-01".parse().unwrap()), date("2027-02-23"));
    }
}
