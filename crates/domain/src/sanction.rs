//! A person-level halt of direct settlement (seed 004 art. 53): after an insured person's
//! fraud (art. 52), the insured agency may stop settling their bills directly for a period;
//! their benefits continue, paid by manual claim at home. A halt is lifted only by a recorded
//! decision.

use chrono::NaiveDate;

/// A halt as decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Halt {
    pub decision_id: String,
    pub begins_on: NaiveDate,
    /// The last day of the halt; `None` until lifted.
    pub ends_on: Option<NaiveDate>,
    /// A later decision lifted it.
    pub lifted: bool,
}

/// Why a halt cannot be decided as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HaltError {
    #[error("ends_on is before begins_on")]
    EndsBeforeItBegins,
}

impl Halt {
    /// A halt from `begins_on` to `ends_on` (inclusive, open-ended when `None`).
    pub fn new(
        decision_id: &str,
        begins_on: NaiveDate,
        ends_on: Option<NaiveDate>,
    ) -> Result<Halt, HaltError> {
        if ends_on.is_some_and(|ends_on| ends_on < begins_on) {
            return Err(HaltError::EndsBeforeItBegins);
        }
        Ok(Halt { decision_id: decision_id.to_owned(), begins_on, ends_on, lifted: false })
    }

    /// Whether the halt covers a stay admitted on `day`.
    pub fn covers(&self, day: NaiveDate) -> bool {
        !self.lifted && self.begins_on <= day && self.ends_on.is_none_or(|ends_on| day <= ends_on)
    }
}

/// The halt, if any, that stops direct settlement of a stay admitted on `day`.
pub fn halted(halts: &[Halt], day: NaiveDate) -> Option<&Halt> {
    halts.iter().find(|halt| halt.covers(day))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn seed_004_art_53_a_halt_covers_admissions_within_its_period_only() {
        let halt = Halt::new("H-1", day("2026-11-01"), Some(day("2026-12-31"))).unwrap();
        assert!(!halt.covers(day("2026-10-31")));
        assert!(halt.covers(day("2026-11-01")));
        assert!(halt.covers(day("2026-12-31")));
        assert!(!halt.covers(day("2027-01-01")));
    }

    #[test]
    fn a_lifted_halt_covers_nothing() {
        let mut halt = Halt::new("H-1", day("2026-11-01"), None).unwrap();
        assert_eq!(halted(std::slice::from_ref(&halt), day("2027-06-01")), Some(&halt));
        halt.lifted = true;
        assert_eq!(halted(&[halt], day("2027-06-01")), None);
    }

    #[test]
    fn a_halt_cannot_end_before_it_begins() {
        assert_eq!(
            Halt::new("H-1", day("2026-11-02"), Some(day("2026-11-01"))),
            Err(HaltError::EndsBeforeItBegins)
        );
    }
}
