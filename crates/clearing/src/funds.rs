//! The fund types an advance is owed by: the four funds of `fund_pay_sumamt` and the
//! personal account, which the treatment-place hospital also advanced (domain.md §4.1).

use std::collections::BTreeMap;
use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use yidi_domain::money::Amount;

use crate::text::parse_amount;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fund {
    /// 统筹基金: the pooled fund (310100 employees', 390100 residents'; cleared together
    /// here, see ARCHITECTURE "Clearing: choices and limits").
    Hifp,
    /// 职工大额医疗费用补助: the employees' large-amount layer (`hifob_pay`, 330100).
    Hifob,
    /// 居民大病保险: residents' critical-illness insurance (`hifmi_pay`, 390200).
    Hifmi,
    /// 医疗救助: medical assistance.
    Maf,
    /// 个人账户: the personal account.
    Acct,
}

impl Fund {
    /// In the order an audit deduction takes from them: the pooled fund first.
    pub const ALL: [Fund; 5] = [Fund::Hifp, Fund::Hifob, Fund::Hifmi, Fund::Maf, Fund::Acct];

    /// The 2304 `setlinfo` field the amount comes from.
    pub fn field(self) -> &'static str {
        match self {
            Fund::Hifp => "hifp_pay",
            Fund::Hifob => "hifob_pay",
            Fund::Hifmi => "hifmi_pay",
            Fund::Maf => "maf_pay",
            Fund::Acct => "acct_pay",
        }
    }

    pub fn from_field(field: &str) -> Option<Fund> {
        Fund::ALL.into_iter().find(|f| f.field() == field)
    }

    fn index(self) -> usize {
        Fund::ALL.iter().position(|fund| *fund == self).unwrap_or(0)
    }
}

impl fmt::Display for Fund {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field())
    }
}

/// An amount per fund type. Signed when it is an obligation (a reversal owes back).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Funds([Amount; 5]);

impl Funds {
    pub const ZERO: Funds = Funds([Amount::ZERO; 5]);

    pub fn get(&self, fund: Fund) -> Amount {
        self.0[fund.index()]
    }

    pub fn with(mut self, fund: Fund, amount: Amount) -> Funds {
        self.0[fund.index()] = amount;
        self
    }

    pub fn total(&self) -> Amount {
        self.0.iter().copied().sum()
    }

    pub fn plus(&self, other: &Funds) -> Funds {
        let mut out = *self;
        for fund in Fund::ALL {
            out.0[fund.index()] = self.get(fund) + other.get(fund);
        }
        out
    }

    pub fn minus(&self, other: &Funds) -> Funds {
        self.plus(&other.negated())
    }

    pub fn negated(&self) -> Funds {
        let mut out = *self;
        for fund in Fund::ALL {
            out.0[fund.index()] = self.get(fund).negated();
        }
        out
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|a| a.is_zero())
    }

    pub fn any_negative(&self) -> bool {
        self.0.iter().any(|a| a.is_negative())
    }

    /// Takes `amount` from the funds in [`Fund::ALL`] order; `None` when they hold less.
    pub fn take(&self, amount: Amount) -> Option<Funds> {
        if amount > self.total() {
            return None;
        }
        let mut left = amount;
        let mut taken = Funds::ZERO;
        for fund in Fund::ALL {
            let part = if self.get(fund) < left { self.get(fund) } else { left };
            taken = taken.with(fund, part);
            left = left - part;
        }
        Some(taken)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Fund, Amount)> + '_ {
        Fund::ALL.into_iter().map(|f| (f, self.get(f)))
    }
}

impl Serialize for Funds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<&str, String> =
            self.iter().map(|(f, a)| (f.field(), a.to_string())).collect();
        map.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Funds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Funds, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(d)?;
        let mut funds = Funds::ZERO;
        for (field, text) in map {
            let fund = Fund::from_field(&field)
                .ok_or_else(|| de::Error::custom(format!("{field}: not a fund type")))?;
            funds = funds.with(fund, parse_amount(&text).map_err(de::Error::custom)?);
        }
        Ok(funds)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::text::yuan;

    #[test]
    fn a_deduction_takes_the_pooled_fund_first() {
        let funds = Funds::ZERO.with(Fund::Hifp, yuan("100.00")).with(Fund::Acct, yuan("50.00"));
        let taken = funds.take(yuan("120.00")).unwrap();
        assert_eq!(taken.get(Fund::Hifp), yuan("100.00"));
        assert_eq!(taken.get(Fund::Acct), yuan("20.00"));
        assert_eq!(funds.take(yuan("150.01")), None);
    }

    #[test]
    fn funds_round_trip_through_json() {
        let funds = Funds::ZERO.with(Fund::Hifob, yuan("-3.10"));
        let json = serde_json::to_string(&funds).unwrap();
        assert!(json.contains("\"hifob_pay\":\"-3.10\""), "{json}");
        assert_eq!(serde_json::from_str::<Funds>(&json).unwrap(), funds);
    }
}
