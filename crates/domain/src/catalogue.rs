//! The treatment-place catalogue: how each bill line is classified.
//!
//! National principle 就医地目录: the payment scope of a line (class 甲/乙/丙, the unit-price
//! ceiling, the class-乙 pre-self-pay share) is the treatment place's, never the insured
//! place's.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::error::ValueError;
use crate::fingerprint::Fingerprinter;
use crate::money::Ratio;

/// The largest unit price or price cap accepted: one billion yuan.
pub const UNIT_PRICE_MAX: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// The largest quantity of one line.
pub const QUANTITY_MAX: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

/// Decimals allowed in a unit price or a quantity. With the bounds above, a line's
/// `qty × unit_price` is exact in a `Decimal` (at most 15 integer and 12 fractional digits).
pub const UNIT_DECIMALS_MAX: u32 = 6;

/// NHSA `chrgitm_lv`: the payment class of a catalogue item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemClass {
    /// 甲类: wholly in the payment scope.
    A,
    /// 乙类: in scope after the patient pays `self_pay_ratio` of it first (先行自付, 1319).
    B { self_pay_ratio: Ratio },
    /// 丙类: outside the scope, wholly paid by the patient.
    C,
}

impl ItemClass {
    /// Builds a class from its letter; class B takes its pre-self-pay share (none set by the
    /// region means no pre-self-pay).
    pub fn parse(letter: &str, self_pay_ratio: Option<Ratio>) -> Result<ItemClass, ValueError> {
        match letter {
            "A" | "甲" => Ok(ItemClass::A),
            "B" | "乙" => {
                Ok(ItemClass::B { self_pay_ratio: self_pay_ratio.unwrap_or(Ratio::ZERO) })
            }
            "C" | "丙" => Ok(ItemClass::C),
            _ => Err(ValueError::UnknownItemClass),
        }
    }

    pub fn letter(self) -> &'static str {
        match self {
            ItemClass::A => "A",
            ItemClass::B { .. } => "B",
            ItemClass::C => "C",
        }
    }
}

/// A price: non-negative, at most [`UNIT_PRICE_MAX`], at most six decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnitPrice(Decimal);

impl UnitPrice {
    pub fn new(value: Decimal) -> Result<UnitPrice, ValueError> {
        bounded_unit(value, UNIT_PRICE_MAX).map(UnitPrice)
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

/// A quantity (NHSA `cnt`): non-negative, at most [`QUANTITY_MAX`], at most six decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(Decimal);

impl Quantity {
    pub fn new(value: Decimal) -> Result<Quantity, ValueError> {
        bounded_unit(value, QUANTITY_MAX).map(Quantity)
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

fn bounded_unit(value: Decimal, max: Decimal) -> Result<Decimal, ValueError> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(ValueError::Negative);
    }
    if value > max {
        return Err(ValueError::TooLarge);
    }
    let value = value.normalize();
    if value.scale() > UNIT_DECIMALS_MAX {
        return Err(ValueError::TooPrecise);
    }
    Ok(value)
}

/// One item of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueItem {
    pub class: ItemClass,
    /// NHSA `pric_uplmt_amt`: the unit-price ceiling; the part of a price above it is
    /// `overlmt_selfpay`.
    pub price_cap: Option<UnitPrice>,
}

/// The catalogue of one treatment place, keyed by national item code (`med_list_codg`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalogue {
    /// Which catalogue this is: a label and a content fingerprint, recorded on each
    /// settlement so an auditor can tell which classification was used.
    pub version: String,
    pub items: BTreeMap<String, CatalogueItem>,
}

impl Catalogue {
    pub fn item(&self, code: &str) -> Option<&CatalogueItem> {
        self.items.get(code)
    }

    /// A short, stable hash of the items, independent of the version label.
    pub fn fingerprint(&self) -> String {
        let mut hash = Fingerprinter::new("catalogue");
        for (code, item) in &self.items {
            hash.text(code);
            match item.class {
                ItemClass::A => hash.tag(b'A'),
                ItemClass::B { self_pay_ratio } => hash.tag(b'B').decimal(self_pay_ratio.value()),
                ItemClass::C => hash.tag(b'C'),
            };
            match item.price_cap {
                Some(cap) => hash.tag(1).decimal(cap.value()),
                None => hash.tag(0),
            };
        }
        hash.finish()
    }
}

impl FromStr for UnitPrice {
    type Err = ValueError;
    fn from_str(text: &str) -> Result<UnitPrice, ValueError> {
        let value = Decimal::from_str(text).map_err(|_| ValueError::TooPrecise)?;
        UnitPrice::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_b_without_a_regional_share_has_no_pre_self_pay() {
        assert_eq!(ItemClass::parse("B", None), Ok(ItemClass::B { self_pay_ratio: Ratio::ZERO }));
        assert_eq!(ItemClass::parse("乙", None).map(ItemClass::letter), Ok("B"));
        assert_eq!(ItemClass::parse("D", None), Err(ValueError::UnknownItemClass));
    }

    #[test]
    fn quantities_are_bounded_and_non_negative() {
        assert_eq!(Quantity::new(Decimal::NEGATIVE_ONE), Err(ValueError::Negative));
        assert_eq!(Quantity::new(Decimal::new(1_000_001, 0)), Err(ValueError::TooLarge));
        assert_eq!(Quantity::new(Decimal::new(1, 7)), Err(ValueError::TooPrecise));
        assert!(Quantity::new(Decimal::new(15, 1)).is_ok());
    }
}
