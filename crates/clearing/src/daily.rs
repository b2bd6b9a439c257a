//! Daily reconciliation of the three records of every settlement: the hub's ledger, the
//! insured agency's standing settlements and the treatment province's exchange's deliveries.
//!
//! Each party states, for a day and a pair of provinces, the settlements made that day (by
//! the `setl_time` the agency signed into the result, which every party holds alike): how
//! many, what the funds paid in all, and a digest of the sorted list of (`setl_id`, fund
//! share). A party's statement is signed like every message, so a difference names who said
//! what. A day's settlements do not change once the day is over — a later reversal is a
//! record of its own, refereed at the hub and reconciled monthly — so the three must agree
//! exactly; where they do not, the detail (the ids themselves) shows the bills behind it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use yidi_domain::money::Amount;

/// One settlement as a party records it: its id and the funds' share of it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Settled {
    pub setl_id: String,
    #[serde(with = "crate::text::amount")]
    pub fund: Amount,
}

/// What a party states of one day and pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayTotals {
    pub count: u64,
    #[serde(with = "crate::text::amount")]
    pub fund: Amount,
    /// SHA-256, in hex, over the settlements sorted by id: equal lists, equal digests. The
    /// whole digest, not a prefix: a party with a stake must not find another list that
    /// passes for the ledger's.
    pub digest: String,
}

/// The totals of `settled`, in whatever order given.
pub fn totals(settled: &[Settled]) -> DayTotals {
    let mut sorted: Vec<&Settled> = settled.iter().collect();
    sorted.sort();
    let mut hash = Sha256::new();
    hash.update(b"yidi daily settlements");
    let mut fund = Amount::ZERO;
    for one in &sorted {
        let fen = one.fund.to_string();
        for part in [one.setl_id.as_bytes(), fen.as_bytes()] {
            hash.update(u64::try_from(part.len()).unwrap_or(u64::MAX).to_le_bytes());
            hash.update(part);
        }
        fund = fund + one.fund;
    }
    DayTotals {
        count: u64::try_from(sorted.len()).unwrap_or(u64::MAX),
        fund,
        digest: hex::encode(hash.finalize()),
    }
}

/// A bill behind a difference between the ledger and a party's statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Difference {
    /// The party holds a settlement the ledger does not.
    NotInLedger {
        setl_id: String,
        #[serde(with = "crate::text::amount")]
        fund: Amount,
    },
    /// The ledger holds a settlement the party does not state.
    NotStated {
        setl_id: String,
        #[serde(with = "crate::text::amount")]
        fund: Amount,
    },
    /// Both hold it, with other fund shares.
    Amount {
        setl_id: String,
        #[serde(with = "crate::text::amount")]
        ledger: Amount,
        #[serde(with = "crate::text::amount")]
        stated: Amount,
    },
}

/// The bills on which `stated` and `ledger` differ, by id.
pub fn differences(ledger: &[Settled], stated: &[Settled]) -> Vec<Difference> {
    let ours: BTreeMap<&str, Amount> =
        ledger.iter().map(|s| (s.setl_id.as_str(), s.fund)).collect();
    let theirs: BTreeMap<&str, Amount> =
        stated.iter().map(|s| (s.setl_id.as_str(), s.fund)).collect();
    let mut found = Vec::new();
    for (setl_id, fund) in &theirs {
        match ours.get(setl_id) {
            None => found.push(Difference::NotInLedger { setl_id: (*setl_id).into(), fund: *fund }),
            Some(ledger) if ledger != fund => found.push(Difference::Amount {
                setl_id: (*setl_id).into(),
                ledger: *ledger,
                stated: *fund,
            }),
            Some(_) => {}
        }
    }
    for (setl_id, fund) in &ours {
        if !theirs.contains_key(setl_id) {
            found.push(Difference::NotStated { setl_id: (*setl_id).into(), fund: *fund });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn settled(setl_id: &str, fund: &str) -> Settled {
        Settled { setl_id: setl_id.into(), fund: Amount::new(fund.parse().unwrap()).unwrap() }
    }

    #[test]
    fn equal_lists_in_any_order_state_alike() {
        let a = [settled("S1", "100.00"), settled("S2", "250.50")];
        let b = [settled("S2", "250.50"), settled("S1", "100")];
        assert_eq!(totals(&a), totals(&b));
        assert_eq!(totals(&a).count, 2);
        assert_eq!(totals(&a).fund.to_string(), "350.50");
        assert_eq!(totals(&a).digest.len(), 64, "the whole SHA-256");
    }

    #[test]
    fn a_list_with_the_same_count_and_sum_but_other_bills_states_otherwise() {
        let ledger = [settled("S1", "100.00"), settled("S2", "250.00")];
        let swapped = [settled("S1", "250.00"), settled("S2", "100.00")];
        let renamed = [settled("S1", "100.00"), settled("S3", "250.00")];
        assert_eq!((totals(&swapped).count, totals(&swapped).fund), (2, totals(&ledger).fund));
        assert_ne!(totals(&swapped).digest, totals(&ledger).digest);
        assert_ne!(totals(&renamed).digest, totals(&ledger).digest);
    }

    #[test]
    fn the_bills_behind_a_difference_are_named() {
        let ledger = [settled("S1", "100.00"), settled("S2", "250.00"), settled("S4", "9.00")];
        let stated = [settled("S1", "100.00"), settled("S2", "260.00"), settled("S3", "5.00")];
        assert_eq!(
            differences(&ledger, &stated),
            [
                Difference::Amount {
                    setl_id: "S2".into(),
                    ledger: settled("", "250").fund,
                    stated: settled("", "260").fund
                },
                Difference::NotInLedger { setl_id: "S3".into(), fund: settled("", "5").fund },
                Difference::NotStated { setl_id: "S4".into(), fund: settled("", "9").fund },
            ]
        );
        assert!(differences(&ledger, &ledger).is_empty());
    }
}
