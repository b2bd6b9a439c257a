//! Money and ratios as exact decimals.
//!
//! Every amount in yidi is yuan with at most two decimals (fen). Intermediate products are
//! plain `Decimal`s and become money again only through [`round2`], the one rounding rule of
//! `settlement.md`. Ratios are decimals in [0, 1].

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Sub};

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::ValueError;

/// The largest amount any single money input may hold: one trillion yuan.
///
/// Bounding inputs keeps every sum and product of a bill far below `Decimal::MAX` (about
/// 7.9e28), so arithmetic on validated values cannot overflow and needs no checked variant.
pub const MONEY_MAX: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0); // 1e12

/// Rounds to 0.01 half away from zero: `round2(x)` of `settlement.md`.
pub fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// An amount of money in yuan, exact to the fen.
///
/// NHSA amounts are `Decimal(16,2)`. The value is kept with scale 2 so that it prints as the
/// interface expects (`"1200.00"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Decimal);

impl Amount {
    pub const ZERO: Amount = Amount(Decimal::from_parts(0, 0, 0, false, 2));

    /// Parses a non-negative money input: at most two decimals, at most [`MONEY_MAX`].
    pub fn new(value: Decimal) -> Result<Amount, ValueError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(ValueError::Negative);
        }
        if value.normalize().scale() > 2 {
            return Err(ValueError::SubFen);
        }
        if value > MONEY_MAX {
            return Err(ValueError::TooLarge);
        }
        Ok(Amount::of(value))
    }

    /// Whole yuan, for named constants (at most 42,949,672 yuan; more saturates there).
    pub const fn from_yuan(yuan: u32) -> Amount {
        Amount(Decimal::from_parts(yuan.saturating_mul(100), 0, 0, false, 2))
    }

    /// Wraps a value already known to be on the fen grid (a `round2` result or a sum of
    /// amounts).
    fn of(value: Decimal) -> Amount {
        let mut value = value;
        value.rescale(2);
        debug_assert!(value.scale() == 2);
        Amount(value)
    }

    /// Money from a product: `round2(value)`.
    pub fn round2(value: Decimal) -> Amount {
        Amount::of(round2(value))
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Above zero.
    pub fn is_positive(self) -> bool {
        self.0.is_sign_positive() && !self.0.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// `max(0, self − other)`: what is left under a cap.
    pub fn saturating_sub(self, other: Amount) -> Amount {
        if other >= self {
            Amount::ZERO
        } else {
            self - other
        }
    }

    /// The same amount with the opposite sign, for reversals.
    pub fn negated(self) -> Amount {
        Amount::of(-self.0)
    }
}

impl Add for Amount {
    type Output = Amount;
    fn add(self, other: Amount) -> Amount {
        Amount::of(self.0 + other.0)
    }
}

impl Sub for Amount {
    type Output = Amount;
    fn sub(self, other: Amount) -> Amount {
        Amount::of(self.0 - other.0)
    }
}

impl Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        iter.fold(Amount::ZERO, |total, amount| total + amount)
    }
}

impl fmt::Display for Amount {
    /// Always two decimals, as the national interface prints money.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Integer formatting of the fen count: money is printed for every field of every
        // result, and this is several times faster than the general decimal printer.
        let fen = self.0.mantissa();
        let sign = if fen < 0 { "-" } else { "" };
        let fen = fen.unsigned_abs();
        write!(f, "{sign}{}.{:02}", fen / 100, fen % 100)
    }
}

/// A ratio in [0, 1]: a payment ratio, a pre-self-pay share, a reduction in points (0.10 is
/// ten percentage points).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ratio(Decimal);

impl Ratio {
    pub const ZERO: Ratio = Ratio(Decimal::ZERO);
    pub const ONE: Ratio = Ratio(Decimal::ONE);

    /// Parses a ratio input; it must lie in [0, 1].
    pub fn new(value: Decimal) -> Result<Ratio, ValueError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(ValueError::Negative);
        }
        if value > Decimal::ONE {
            return Err(ValueError::AboveOne);
        }
        Ok(Ratio(value.normalize()))
    }

    /// Clamps any decimal into [0, 1]: step 4 of `settlement.md` clamps the pool ratio.
    pub fn clamped(value: Decimal) -> Ratio {
        Ratio(value.clamp(Decimal::ZERO, Decimal::ONE).normalize())
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// `round2(amount × ratio)`.
    pub fn of(self, amount: Amount) -> Amount {
        Amount::round2(amount.value() * self.0)
    }
}

impl fmt::Display for Ratio {
    /// Trailing zeros removed: `0.85`, `0.7`, `1`, `0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let normal = if self.0.is_zero() { Decimal::ZERO } else { self.0.normalize() };
        write!(f, "{normal}")
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn dec(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn round2_is_half_away_from_zero() {
        assert_eq!(round2(dec("0.005")), dec("0.01"));
        assert_eq!(round2(dec("0.0049")), dec("0.00"));
        assert_eq!(round2(dec("-0.005")), dec("-0.01"));
        assert_eq!(round2(dec("999.995")), dec("1000.00"));
    }

    #[test]
    fn money_prints_two_decimals() {
        assert_eq!(Amount::new(dec("1200")).unwrap().to_string(), "1200.00");
        assert_eq!(Amount::from_yuan(20_000), Amount::new(dec("20000")).unwrap());
        assert_eq!(Amount::from_yuan(20_000).to_string(), "20000.00");
        assert_eq!(Amount::new(dec("0")).unwrap().to_string(), "0.00");
        assert_eq!(Amount::new(dec("-0")).unwrap().to_string(), "0.00");
        assert_eq!(Amount::round2(dec("1.005")).to_string(), "1.01");
    }

    #[test]
    fn money_inputs_are_non_negative_fen_and_bounded() {
        assert_eq!(Amount::new(dec("-1")), Err(ValueError::Negative));
        assert_eq!(Amount::new(dec("1.001")), Err(ValueError::SubFen));
        assert!(Amount::new(dec("1.100")).is_ok());
        assert_eq!(MONEY_MAX, dec("1000000000000"));
        assert_eq!(Amount::new(dec("1000000000000.01")), Err(ValueError::TooLarge));
    }

    #[test]
    fn ratios_print_without_trailing_zeros() {
        assert_eq!(Ratio::new(dec("0.850")).unwrap().to_string(), "0.85");
        assert_eq!(Ratio::clamped(dec("1.05")).to_string(), "1");
        assert_eq!(Ratio::clamped(dec("-0.10")).to_string(), "0");
        assert_eq!(Ratio::new(dec("1.01")), Err(ValueError::AboveOne));
    }

    #[test]
    fn saturating_sub_stops_at_zero() {
        let cap = Amount::new(dec("100")).unwrap();
        let used = Amount::new(dec("150")).unwrap();
        assert_eq!(cap.saturating_sub(used), Amount::ZERO);
        assert_eq!(used.saturating_sub(cap).to_string(), "50.00");
    }
}
