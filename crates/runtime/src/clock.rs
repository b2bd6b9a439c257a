//! The business clock: what time it is where the money is decided.
//!
//! Settlement times, filing dates, accumulator years and clearing months are China time
//! (`Asia/Shanghai`) whatever zone the server runs in: a server on UTC would otherwise put a
//! discharge at 02:00 Beijing time on the previous day, and cut every month eight hours early.
//! Services read the clock once per decision and pass the time on as an argument.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

/// The zone of business dates unless the settings say otherwise (`time_zone`).
pub const DEFAULT_ZONE: Tz = chrono_tz::Asia::Shanghai;

/// The time in the business zone, from the system clock or from a simulated one.
///
/// Every service takes one and reads it once per decision; nothing else in a service asks
/// the system for the date. A simulated clock (tests, the demo's fast calendar) stands still
/// until [`BusinessClock::advance`] moves it, and its clones share its time, so a test can
/// hand one to a service and move the service's time from outside.
#[derive(Clone, Debug)]
pub struct BusinessClock {
    zone: Tz,
    source: Source,
}

#[derive(Clone, Debug)]
enum Source {
    System,
    /// Milliseconds since the Unix epoch, shared by every clone.
    Simulated(Arc<AtomicI64>),
}

impl Default for BusinessClock {
    fn default() -> BusinessClock {
        BusinessClock::new(DEFAULT_ZONE)
    }
}

impl PartialEq for BusinessClock {
    fn eq(&self, other: &BusinessClock) -> bool {
        self.zone == other.zone
            && match (&self.source, &other.source) {
                (Source::System, Source::System) => true,
                (Source::Simulated(a), Source::Simulated(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl BusinessClock {
    /// The system clock, read in `zone`.
    pub fn new(zone: Tz) -> BusinessClock {
        BusinessClock { zone, source: Source::System }
    }

    /// A simulated clock in `zone` that stands at `start` until advanced.
    pub fn simulated(zone: Tz, start: DateTime<Utc>) -> BusinessClock {
        let millis = Arc::new(AtomicI64::new(start.timestamp_millis()));
        BusinessClock { zone, source: Source::Simulated(millis) }
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// Whether this clock is simulated (only such a clock can be advanced).
    pub fn is_simulated(&self) -> bool {
        matches!(self.source, Source::Simulated(_))
    }

    /// Moves a simulated clock (and every clone of it) forward by `by`. Answers whether it
    /// moved: the system clock is never moved.
    pub fn advance(&self, by: chrono::Duration) -> bool {
        match &self.source {
            Source::System => false,
            Source::Simulated(millis) => {
                millis.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
                true
            }
        }
    }

    /// Now, as an instant.
    pub fn instant(&self) -> DateTime<Utc> {
        match &self.source {
            Source::System => Utc::now(),
            Source::Simulated(millis) => {
                DateTime::from_timestamp_millis(millis.load(Ordering::SeqCst)).unwrap_or_default()
            }
        }
    }

    /// Now, as a date and time in the business zone.
    pub fn now(&self) -> NaiveDateTime {
        self.at(self.instant())
    }

    /// Today in the business zone.
    pub fn today(&self) -> NaiveDate {
        self.now().date()
    }

    /// An instant as a date and time in the business zone.
    pub fn at(&self, instant: DateTime<Utc>) -> NaiveDateTime {
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

    #[test]
    fn a_simulated_clock_stands_still_until_advanced_and_its_clones_move_with_it() {
        let start = Utc.with_ymd_and_hms(2027, 1, 31, 15, 59, 0).unwrap();
        let clock = BusinessClock::simulated(DEFAULT_ZONE, start);
        let handed_to_a_service = clock.clone();
        assert_eq!(handed_to_a_service.now().to_string(), "2027-01-31 23:59:00");
        assert!(clock.advance(chrono::Duration::minutes(2)));
        assert_eq!(handed_to_a_service.today().to_string(), "2027-02-01");
        assert!(!BusinessClock::default().advance(chrono::Duration::days(1)), "never the system's");
    }
}
