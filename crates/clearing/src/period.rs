//! The clearing period: a calendar month of the business clock.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use crate::error::ClearingError;

/// `YYYY-MM`. A bill belongs to the period of the business date it was posted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Period {
    pub fn of(date: NaiveDate) -> Period {
        Period { year: date.year(), month: date.month() }
    }

    pub fn next(self) -> Period {
        if self.month == 12 {
            Period { year: self.year + 1, month: 1 }
        } else {
            Period { year: self.year, month: self.month + 1 }
        }
    }

    pub fn previous(self) -> Period {
        if self.month == 1 {
            Period { year: self.year - 1, month: 12 }
        } else {
            Period { year: self.year, month: self.month - 1 }
        }
    }

    /// The given day of this month, or its last day when the month is shorter.
    pub fn day(self, day: u32) -> NaiveDate {
        (1..=day.clamp(1, 31))
            .rev()
            .find_map(|d| NaiveDate::from_ymd_opt(self.year, self.month, d))
            .unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Period {
    type Err = ClearingError;

    fn from_str(text: &str) -> Result<Period, ClearingError> {
        let bad = || ClearingError::Invalid(format!("period {text:?} is not YYYY-MM"));
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let month: u32 = month.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Period { year, month })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn periods_read_and_print_as_yyyy_mm() {
        let p: Period = "2026-12".parse().unwrap();
        assert_eq!(p.to_string(), "2026-12");
        assert_eq!(p.next().to_string(), "2027-01");
        assert_eq!(p.next().previous(), p);
        assert!("2026-13".parse::<Period>().is_err());
        assert!("26-1".parse::<Period>().is_err());
    }

    #[test]
    fn a_day_past_the_end_of_month_is_its_last_day() {
        let p: Period = "2027-02".parse().unwrap();
        assert_eq!(p.day(31), NaiveDate::from_ymd_opt(2027, 2, 28).unwrap());
    }
}
