//! One payment per stay: which inpatient stays cannot both stand, and which bills are too
//! large to be real.
//!
//! Duplicate claims are the commonest insurance fraud there is: the same stay billed again
//! under a new transaction id, or under a new episode id with the same person and dates. The
//! insured place settles an episode (`mdtrt_id`) once, and a person cannot lie in two
//! hospitals on the same night: a stay whose nights overlap a standing settlement's is
//! refused (`overlapping_stay`). A transfer — discharged from one hospital and admitted to
//! the next on the same day — shares a day but no night, and is not an overlap.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use crate::claim::BillLine;
use crate::money::Amount;

/// The most one fee line may amount to (`cnt` × `pric`), in yuan. The costliest single items
/// settled today are cell and gene therapies (a CAR-T infusion is priced at about 1.2 million
/// yuan); five million leaves room for them and refuses what no catalogue prices — an
/// amount of that size is an error or a forgery, not a bill.
pub const LINE_AMOUNT_MAX: Decimal = Decimal::from_parts(5_000_000, 0, 0, false, 0);

/// The most one inpatient bill may amount to, in yuan. The national average inpatient bill is
/// of the order of ten thousand yuan; the costliest stays (months in intensive care on ECMO,
/// a transplant with its complications) reach a few million. Ten million is above any real
/// stay and far below what the per-field limits allowed (about 1e19).
pub const BILL_TOTAL_MAX: Decimal = Decimal::from_parts(10_000_000, 0, 0, false, 0);

/// An inpatient stay: admitted and discharged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stay {
    pub admitted_at: NaiveDateTime,
    pub discharged_at: NaiveDateTime,
}

impl Stay {
    /// Whether the two stays cannot both be paid: they share a night (one is admitted on a
    /// day before the other's discharge day, and discharged on a day after the other's
    /// admission day), or they are the same stay to the second. Sharing only a day — a
    /// transfer, or two day-cases on one day at different times — is not an overlap.
    pub fn overlaps(&self, other: &Stay) -> bool {
        let (a, b) = (self, other);
        let share_a_night = a.admitted_at.date() < b.discharged_at.date()
            && b.admitted_at.date() < a.discharged_at.date();
        share_a_night || a == b
    }
}

/// A bill larger than a real bill can be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Implausible {
    #[error("feedetail[{index}]: cnt x pric is {amount}; a line is at most {LINE_AMOUNT_MAX}")]
    Line { index: usize, amount: Decimal },
    #[error("feedetail: the bill totals {amount}; a bill is at most {BILL_TOTAL_MAX}")]
    Total { amount: Decimal },
}

impl Implausible {
    /// The field to name to the sender.
    pub fn field(&self) -> String {
        match self {
            Implausible::Line { index, .. } => format!("feedetail[{index}]"),
            Implausible::Total { .. } => "feedetail".to_owned(),
        }
    }
}

/// Checks a bill's lines against [`LINE_AMOUNT_MAX`] and their sum against [`BILL_TOTAL_MAX`].
/// The per-field limits keep every product and sum far inside a `Decimal`, so this cannot
/// overflow.
pub fn plausible(lines: &[BillLine]) -> Result<Amount, Implausible> {
    let mut total = Decimal::ZERO;
    for (index, line) in lines.iter().enumerate() {
        let amount = Amount::round2(line.quantity.value() * line.unit_price.value()).value();
        if amount > LINE_AMOUNT_MAX {
            return Err(Implausible::Line { index, amount });
        }
        total += amount;
    }
    if total > BILL_TOTAL_MAX {
        return Err(Implausible::Total { amount: total });
    }
    Ok(Amount::round2(total))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::catalogue::{Quantity, UnitPrice};

    fn stay(from: &str, to: &str) -> Stay {
        let at = |text: &str| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap();
        Stay { admitted_at: at(from), discharged_at: at(to) }
    }

    /// Issue #26 §2: a person is in one hospital a night; a second stay sharing a night with
    /// a standing one is refused, wherever it was.
    #[test]
    fn stays_that_share_a_night_overlap_and_a_same_day_transfer_does_not() {
        let first = stay("2026-11-01 09:00:00", "2026-11-10 10:00:00");
        assert!(first.overlaps(&stay("2026-11-05 08:00:00", "2026-11-08 17:00:00")), "inside");
        assert!(first.overlaps(&stay("2026-10-28 08:00:00", "2026-11-02 17:00:00")), "before");
        assert!(first.overlaps(&stay("2026-11-09 08:00:00", "2026-11-15 17:00:00")), "after");
        assert!(first.overlaps(&first), "the same stay billed again");
        assert!(
            first.overlaps(&stay("2026-11-01 10:00:00", "2026-11-10 11:00:00")),
            "the same nights at other hours"
        );
        // A transfer: discharged on the 10th, admitted elsewhere on the 10th.
        assert!(!first.overlaps(&stay("2026-11-10 09:00:00", "2026-11-20 10:00:00")));
        assert!(!first.overlaps(&stay("2026-10-20 09:00:00", "2026-11-01 08:00:00")));
        assert!(!first.overlaps(&stay("2026-11-11 09:00:00", "2026-11-20 10:00:00")));
        // A day case inside a stay takes one of its nights' days; at its edge it does not.
        assert!(first.overlaps(&stay("2026-11-05 09:00:00", "2026-11-05 15:00:00")));
        assert!(!first.overlaps(&stay("2026-11-10 11:00:00", "2026-11-10 15:00:00")));
        // The rule is symmetric.
        let later = stay("2026-11-09 08:00:00", "2026-11-15 17:00:00");
        assert_eq!(first.overlaps(&later), later.overlaps(&first));
    }

    fn line(cnt: &str, pric: &str) -> BillLine {
        BillLine {
            code: "X".into(),
            quantity: Quantity::new(cnt.parse().unwrap()).unwrap(),
            unit_price: UnitPrice::new(pric.parse().unwrap()).unwrap(),
        }
    }

    #[test]
    fn a_line_or_a_bill_larger_than_any_real_one_is_implausible_and_names_its_field() {
        let real = [line("1", "1200000.00"), line("30", "2000.00")];
        assert_eq!(plausible(&real).unwrap().to_string(), "1260000.00");
        let line_over = [line("1", "10.00"), line("2", "2500000.01")];
        let error = plausible(&line_over).unwrap_err();
        assert_eq!(error.field(), "feedetail[1]");
        let many = vec![line("1", "4000000.00"); 3];
        let error = plausible(&many).unwrap_err();
        assert!(matches!(error, Implausible::Total { .. }), "{error}");
        assert_eq!(error.field(), "feedetail");
        // At the limits exactly: plausible.
        let at_limits = [line("1", "5000000.00"), line("1", "5000000.00")];
        assert_eq!(plausible(&at_limits).unwrap().value(), BILL_TOTAL_MAX);
    }
}
