//! Serde as text for the domain's types: amounts as `"12.34"`, regions as `"310000"`,
//! periods as `"2026-10"`. The event log is JSON, and money in JSON is a string.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{de, Deserialize, Deserializer, Serializer};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;

use crate::period::Period;

/// A signed amount on the fen grid from text.
pub fn parse_amount(text: &str) -> Result<Amount, String> {
    let value = Decimal::from_str(text).map_err(|_| format!("{text:?} is not a decimal number"))?;
    let magnitude = Amount::new(value.abs()).map_err(|e| format!("{text:?}: {e}"))?;
    Ok(if value.is_sign_negative() { magnitude.negated() } else { magnitude })
}

/// Money in a unit test: `yuan("12.30")`, `yuan("-1.00")`.
#[cfg(test)]
#[allow(clippy::expect_used)]
pub fn yuan(text: &str) -> Amount {
    parse_amount(text).expect("test money")
}

pub mod amount {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Amount, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let text = String::deserialize(d)?;
        parse_amount(&text).map_err(de::Error::custom)
    }
}

pub mod region {
    use super::*;

    pub fn serialize<S: Serializer>(value: &RegionCode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RegionCode, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e| de::Error::custom(format!("{text:?}: {e}")))
    }
}

pub mod period {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Period, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Period, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}
