//! Scalars that may arrive as JSON strings or numbers (or TOML strings, integers, floats),
//! kept as their exact text.
//!
//! `settlement.md`: money and ratios are strings in JSON, but input may also give numbers.
//! With serde_json's `arbitrary_precision`, a number reaches us as its literal text, so
//! `0.1` stays exactly `0.1` and never passes through a float.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

/// A scalar's text, borrowed from the document where it can be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scalar<'a> {
    pub text: Cow<'a, str>,
}

impl Scalar<'_> {
    /// The scalar as an exact decimal (`"1200.50"`, `1200.5`, `1.2e3`).
    pub fn decimal(&self) -> Result<Decimal, String> {
        let text = self.text.trim();
        let parsed = if text.contains(['e', 'E']) {
            Decimal::from_scientific(text)
        } else {
            Decimal::from_str(text)
        };
        parsed.map_err(|_| format!("{:?} is not a decimal number", self.text))
    }

    /// The scalar as a non-negative whole number.
    pub fn whole(&self) -> Result<u64, String> {
        self.text
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("{:?} is not a whole number", self.text))
    }
}

impl fmt::Display for Scalar<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The key serde_json uses to pass an arbitrary-precision number through `visit_map`.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

struct ScalarVisitor<'a>(std::marker::PhantomData<&'a ()>);

fn owned<'a>(text: String) -> Scalar<'a> {
    Scalar { text: Cow::Owned(text) }
}

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a number")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Scalar<'a>, E> {
        Ok(Scalar { text: Cow::Borrowed(text) })
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Scalar<'a>, E> {
        Ok(owned(text.to_owned()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Scalar<'a>, E> {
        Ok(owned(text))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Scalar<'a>, E> {
        Ok(owned(value.to_string()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Scalar<'a>, E> {
        Ok(owned(value.to_string()))
    }

    /// TOML floats: Rust prints the shortest text that reads back as the same float, which is
    /// the literal the author wrote for any value with fewer than ~15 digits (`0.85`).
    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Scalar<'a>, E> {
        if !value.is_finite() {
            return Err(E::custom("expected a finite number"));
        }
        Ok(owned(value.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'a>, A::Error> {
        match map.next_key::<Cow<'de, str>>()? {
            Some(key) if key == NUMBER_TOKEN => {
                let text: String = map.next_value()?;
                Ok(owned(text))
            }
            _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scalar<'a>, D::Error> {
        deserializer.deserialize_any(ScalarVisitor(std::marker::PhantomData))
    }
}
