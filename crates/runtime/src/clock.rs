//! The business clock: what time it is where the money is decided.
//!
//! Settlement times, filing dates, accumulator years and clearing months are China time
//! (`Asia/Shanghai`) whatever zone the server runs in: a server on UTC would otherwise put a
//! discharge at 02:00 Beijing time on the previous day, and cut every month eight hours early.
//! Services read the clock once per decision and pass the time on as an argument.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

/// The zone of business dates unless the settings say otherwise (`time_zone`).
pub const DEFAULT_ZONE: Tz = chrono_tz::Asia::Shanghai;

/// Wall-clock time in the business zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusinessClock {
    zone: Tz,
}

impl Default for BusinessClock {
    fn default() -> BusinessClock {
        BusinessClock { zone: DEFAULT_ZONE }
    }
}

impl BusinessClock {
    pub fn new(zone: Tz) -> BusinessClock {
        BusinessClock { zone }
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// Now, as a date and time in the business zone.
    pub fn now(&self) -> NaiveDateTime {
        self.at(Utc::now())
    }

    /// Today in the business zone.
    pub fn today(&self) -> NaiveDate {
        self.now().date()
    }

    /// An instant as a date and time in the business zone.
    pub fn at(&self, instant: chrono::DateTime<Utc>) -> NaiveDateTime {
        instant.with_timezone(&self.zone).naive_local()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_discharge_at_two_in_the_morning_beijing_time_is_that_day_not_the_day_before() {
        // 2026-12-01 02:00 in Beijing is 2026-11-30 18:00 UTC: December's business, not November's.
        let instant = Utc.with_ymd_and_hms(2026, 11, 30, 18, 0, 0).unwrap();
        let clock = BusinessClock::default();
        assert_eq!(clock.at(instant).to_string(), "2026-12-01 02:00:00");
        let utc = BusinessClock::new(chrono_tz::UTC);
        assert_eq!(utc.at(instant).to_string(), "2026-11-30 18:00:00");
    }
}
