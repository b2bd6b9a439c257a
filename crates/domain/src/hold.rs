//! Admission holds (national 2401/2402/2404): at admission the insured place holds part of the
//! person's remaining pooled-fund cap for the stay — and, when the person pays from their
//! personal account, the account's balance — so that two hospitals in two provinces can
//! never spend the same cap or the same account twice. The discharge settlement of the stay consumes its hold and
//! is settled within the cap the person's *other* open holds leave; a cancellation (2404)
//! releases it; a hold its stay abandoned lapses after [`HOLD_DAYS`].

use chrono::NaiveDate;

use crate::money::Amount;

/// How long a hold lasts from admission when nothing consumes or releases it: an inpatient
/// stay longer than half a year is settled in stages (interim settlement) anyway.
pub const HOLD_DAYS: u64 = 180;

/// An open hold of one stay (`mdtrt_id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenHold {
    pub mdtrt_id: String,
    pub held: Amount,
    /// The personal account's balance held for the stay.
    pub acct_held: Amount,
    /// The last day it holds.
    pub until: NaiveDate,
}

/// What an admission is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldOutcome {
    /// `held` for this stay; `remaining` of the cap is left after it.
    Held { held: Amount, remaining: Amount },
    /// Other stays' holds take the whole remaining cap: the admission is refused
    /// (`hold_exhausted`) rather than promised money that is promised elsewhere.
    Exhausted,
}

/// The last day a hold made on `admitted_on` holds.
pub fn until(admitted_on: NaiveDate) -> NaiveDate {
    admitted_on.checked_add_days(chrono::Days::new(HOLD_DAYS)).unwrap_or(admitted_on)
}

/// The holds of stays other than `mdtrt_id` still open on `day`.
fn others<'a>(
    holds: &'a [OpenHold],
    mdtrt_id: &'a str,
    day: NaiveDate,
) -> impl Iterator<Item = &'a OpenHold> {
    holds.iter().filter(move |hold| hold.mdtrt_id != mdtrt_id && day <= hold.until)
}

/// What the open holds of stays other than `mdtrt_id` hold of the pooled fund's cap on `day`.
pub fn held_by_others(holds: &[OpenHold], mdtrt_id: &str, day: NaiveDate) -> Amount {
    others(holds, mdtrt_id, day).map(|hold| hold.held).sum()
}

/// What the open holds of stays other than `mdtrt_id` hold of the personal account on `day`.
pub fn account_held_by_others(holds: &[OpenHold], mdtrt_id: &str, day: NaiveDate) -> Amount {
    others(holds, mdtrt_id, day).map(|hold| hold.acct_held).sum()
}

/// The hold an admission gets: what it asks (all that is free when it asks nothing), within
/// the cap left after what was paid this year (`cap_left`) and what other stays hold.
pub fn hold(cap_left: Amount, others: Amount, requested: Option<Amount>) -> HoldOutcome {
    let free = cap_left.saturating_sub(others);
    if free.is_zero() && !others.is_zero() {
        return HoldOutcome::Exhausted;
    }
    let held = requested.map_or(free, |asked| asked.min(free));
    HoldOutcome::Held { held, remaining: free - held }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn yuan(text: &str) -> Amount {
        Amount::new(text.parse().unwrap()).unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn open(mdtrt_id: &str, held: &str, acct_held: &str, until: &str) -> OpenHold {
        OpenHold {
            mdtrt_id: mdtrt_id.into(),
            held: yuan(held),
            acct_held: yuan(acct_held),
            until: day(until),
        }
    }

    #[test]
    fn national_2401_an_admission_holds_what_it_asks_within_what_is_free() {
        assert_eq!(
            hold(yuan("350000"), yuan("0"), Some(yuan("20000"))),
            HoldOutcome::Held { held: yuan("20000"), remaining: yuan("330000") }
        );
        assert_eq!(
            hold(yuan("350000"), yuan("340000"), Some(yuan("20000"))),
            HoldOutcome::Held { held: yuan("10000"), remaining: yuan("0") },
            "reduced to what the other stay leaves"
        );
        assert_eq!(
            hold(yuan("50000"), yuan("0"), None),
            HoldOutcome::Held { held: yuan("50000"), remaining: yuan("0") },
            "asking nothing holds all that is free"
        );
    }

    #[test]
    fn a_second_admission_is_refused_when_others_hold_the_whole_cap() {
        assert_eq!(hold(yuan("50000"), yuan("50000"), Some(yuan("1"))), HoldOutcome::Exhausted);
        // A cap spent by settled bills is no hold: the stay is admitted, holding nothing.
        assert_eq!(
            hold(yuan("0"), yuan("0"), Some(yuan("1"))),
            HoldOutcome::Held { held: yuan("0"), remaining: yuan("0") }
        );
    }

    #[test]
    fn only_other_stays_open_holds_count_and_an_abandoned_one_lapses() {
        let holds =
            [open("A", "30000", "3000", "2027-05-01"), open("B", "5000", "500", "2026-12-01")];
        assert_eq!(held_by_others(&holds, "A", day("2026-11-20")), yuan("5000"));
        assert_eq!(held_by_others(&holds, "C", day("2026-11-20")), yuan("35000"));
        assert_eq!(held_by_others(&holds, "C", day("2026-12-02")), yuan("30000"), "B lapsed");
        assert_eq!(account_held_by_others(&holds, "C", day("2026-11-20")), yuan("3500"));
        assert_eq!(account_held_by_others(&holds, "A", day("2026-12-02")), yuan("0"));
        assert_eq!(until(day("2026-11-20")), day("2027-05-19"));
    }
}
