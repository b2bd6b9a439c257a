//! Admission holds (national 2401/2402/2404): at admission the insured place holds part of the
//! person's remaining pooled-fund cap for the stay — and, when the person pays from their
//! personal account, the account's balance — so that two hospitals in two provinces can
//! never spend the same cap or the same account twice. The discharge settlement of the stay consumes its hold and
//! is settled within the cap the person's *other* open holds leave; a cancellation (2404)
//! releases it, and so can the insured agency's own desk; a hold its stay abandoned lapses
//! after [`HoldRules::days`].
//!
//! A hold is a promise of someone else's money made on a hospital's word, so it is bounded
//! ([`HoldRules`]): by the amount the admission declares, capped; without one, by a typical
//! stay's amount — never the person's whole cap — for weeks, not months; and a person has
//! only a few open at once. A hospital that admits a person it does not treat cannot so stop
//! that person's fund paying a real stay elsewhere.

use chrono::NaiveDate;

use crate::money::Amount;

/// What an admission without a declared amount holds, when the policy file says nothing: an
/// inpatient stay costs about 10,000 yuan on national average (NHSA statistical bulletins,
/// 2022–2024) and a cross-province one about twice that, most of it the fund's share.
pub const TYPICAL_HOLD: Amount = Amount::from_yuan(20_000);

/// The most one admission holds whatever it declares, when the policy file says nothing: five
/// typical cross-province stays; a costlier one is settled in stages (interim settlement,
/// `mid_setl_flag`) and each stage is admitted again.
pub const HOLD_MAX: Amount = Amount::from_yuan(100_000);

/// How long a hold lasts from admission when nothing consumes or releases it, when the policy
/// file says nothing: an inpatient stay averages about nine days, and national practice is
/// that an admission registration lapses in weeks; a longer stay is still settled, only no
/// longer held for.
pub const HOLD_DAYS: u32 = 30;

/// How many open holds a person may have at once, when the policy file says nothing: one
/// stay, and the next of a same-day transfer.
pub const HOLDS_PER_PERSON: u32 = 2;

/// How an insured region bounds its persons' admission holds (a policy file's `[holds]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldRules {
    /// Held when the admission declares no amount.
    pub typical: Amount,
    /// The most an admission holds, whatever it declares.
    pub max: Amount,
    /// Days from admission a hold lasts (the admission day and `days` after it).
    pub days: u32,
    /// Open holds a person may have at once.
    pub per_person: u32,
}

impl Default for HoldRules {
    fn default() -> Self {
        HoldRules {
            typical: TYPICAL_HOLD,
            max: HOLD_MAX,
            days: HOLD_DAYS,
            per_person: HOLDS_PER_PERSON,
        }
    }
}

/// Hold rules that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HoldRulesError {
    #[error("typical ({typical}) must not exceed max ({max})")]
    TypicalAboveMax { typical: Amount, max: Amount },
    #[error("days must be at least 1")]
    NoDays,
    #[error("per_person must be at least 1")]
    NoHolds,
}

impl HoldRules {
    pub fn check(&self) -> Result<(), HoldRulesError> {
        if self.typical > self.max {
            return Err(HoldRulesError::TypicalAboveMax { typical: self.typical, max: self.max });
        }
        if self.days == 0 {
            return Err(HoldRulesError::NoDays);
        }
        if self.per_person == 0 {
            return Err(HoldRulesError::NoHolds);
        }
        Ok(())
    }

    /// What an admission that declares `requested` may hold at most: the declared amount, or
    /// the typical one, within the maximum.
    pub fn bound(&self, requested: Option<Amount>) -> Amount {
        requested.unwrap_or(self.typical).min(self.max)
    }

    /// The last day a hold made on `admitted_on` holds.
    pub fn until(&self, admitted_on: NaiveDate) -> NaiveDate {
        admitted_on.checked_add_days(chrono::Days::new(u64::from(self.days))).unwrap_or(admitted_on)
    }
}

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
    /// The person has as many open holds of other stays as the rules allow: refused
    /// (`too_many_holds`).
    TooMany,
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

/// How many stays other than `mdtrt_id` hold something open on `day`.
pub fn open_by_others(holds: &[OpenHold], mdtrt_id: &str, day: NaiveDate) -> usize {
    others(holds, mdtrt_id, day).count()
}

/// The hold an admission of stay `mdtrt_id` on `day` gets: what it asks (the typical amount
/// when it asks nothing) within the rules' maximum, the cap left after what was paid this year
/// (`cap_left`) and what other stays hold — unless the person has as many other stays held as
/// the rules allow.
pub fn hold(
    rules: &HoldRules,
    cap_left: Amount,
    holds: &[OpenHold],
    mdtrt_id: &str,
    day: NaiveDate,
    requested: Option<Amount>,
) -> HoldOutcome {
    let open = open_by_others(holds, mdtrt_id, day);
    if u32::try_from(open).map_or(true, |open| open >= rules.per_person) {
        return HoldOutcome::TooMany;
    }
    let others = held_by_others(holds, mdtrt_id, day);
    let free = cap_left.saturating_sub(others);
    if free.is_zero() && !others.is_zero() {
        return HoldOutcome::Exhausted;
    }
    let held = rules.bound(requested).min(free);
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

    const TODAY: &str = "2026-11-20";

    /// `hold` under the national default rules for stay "NEW" admitted today.
    fn admit(cap_left: &str, holds: &[OpenHold], requested: Option<&str>) -> HoldOutcome {
        let rules = HoldRules::default();
        hold(&rules, yuan(cap_left), holds, "NEW", day(TODAY), requested.map(yuan))
    }

    #[test]
    fn national_2401_an_admission_holds_what_it_asks_within_what_is_free() {
        assert_eq!(
            admit("350000", &[], Some("20000")),
            HoldOutcome::Held { held: yuan("20000"), remaining: yuan("330000") }
        );
        assert_eq!(
            admit("350000", &[open("A", "340000", "0", "2026-12-01")], Some("20000")),
            HoldOutcome::Held { held: yuan("10000"), remaining: yuan("0") },
            "reduced to what the other stay leaves"
        );
    }

    #[test]
    fn an_admission_that_declares_nothing_holds_a_typical_stay_never_the_whole_cap() {
        assert_eq!(
            admit("350000", &[], None),
            HoldOutcome::Held { held: TYPICAL_HOLD, remaining: yuan("330000") }
        );
        assert_eq!(
            admit("5000", &[], None),
            HoldOutcome::Held { held: yuan("5000"), remaining: yuan("0") },
            "within what is free"
        );
    }

    #[test]
    fn an_admission_declaring_more_than_the_maximum_holds_the_maximum() {
        assert_eq!(
            admit("350000", &[], Some("350000")),
            HoldOutcome::Held { held: HOLD_MAX, remaining: yuan("250000") }
        );
        let strict =
            HoldRules { max: yuan("30000"), typical: yuan("10000"), ..HoldRules::default() };
        let held = hold(&strict, yuan("350000"), &[], "NEW", day(TODAY), Some(yuan("40000")));
        assert_eq!(held, HoldOutcome::Held { held: yuan("30000"), remaining: yuan("320000") });
    }

    #[test]
    fn a_person_has_only_so_many_stays_held_at_once() {
        let two = [open("A", "100", "0", "2026-12-01"), open("B", "100", "0", "2026-12-01")];
        assert_eq!(admit("350000", &two, Some("100")), HoldOutcome::TooMany);
        assert!(
            matches!(admit("350000", &two[..1], Some("100")), HoldOutcome::Held { .. }),
            "one other stay leaves room for a transfer"
        );
        let lapsed = [open("A", "100", "0", "2026-11-01"), open("B", "100", "0", "2026-12-01")];
        assert!(matches!(admit("350000", &lapsed, Some("100")), HoldOutcome::Held { .. }));
        // The stay's own hold, admitted again, is not another stay's.
        let rules = HoldRules::default();
        let again = hold(&rules, yuan("350000"), &two, "A", day(TODAY), Some(yuan("100")));
        assert!(matches!(again, HoldOutcome::Held { .. }));
    }

    #[test]
    fn a_second_admission_is_refused_when_others_hold_the_whole_cap() {
        let whole = [open("A", "50000", "0", "2026-12-01")];
        assert_eq!(admit("50000", &whole, Some("1")), HoldOutcome::Exhausted);
        // A cap spent by settled bills is no hold: the stay is admitted, holding nothing.
        assert_eq!(
            admit("0", &[], Some("1")),
            HoldOutcome::Held { held: yuan("0"), remaining: yuan("0") }
        );
    }

    #[test]
    fn hold_rules_that_cannot_work_are_refused() {
        let rules = HoldRules { typical: yuan("2"), max: yuan("1"), ..HoldRules::default() };
        assert!(matches!(rules.check(), Err(HoldRulesError::TypicalAboveMax { .. })));
        assert_eq!(
            HoldRules { days: 0, ..HoldRules::default() }.check(),
            Err(HoldRulesError::NoDays)
        );
        assert_eq!(
            HoldRules { per_person: 0, ..HoldRules::default() }.check(),
            Err(HoldRulesError::NoHolds)
        );
        assert_eq!(HoldRules::default().check(), Ok(()));
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
        assert_eq!(HoldRules::default().until(day("2026-11-20")), day("2026-12-20"), "weeks");
    }
}
