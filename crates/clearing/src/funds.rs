//! The fund types an advance is owed by: the funds of `fund_pay_sumamt` and the personal
//! account, which the treatment-place hospital also advanced (domain.md §4.1), each cleared
//! and reported apart under its national `fund_pay_type` code (seed 004 art. 44: the
//! employees' and the residents' pooled funds are accounted separately).
//!
//! Entries posted before the pooled funds were split (issue #13 §5) carry both as one
//! `hifp_pay`: the log is hash-chained and never rewritten, so that merged fund stays
//! readable ([`Fund::Hifp`]) and is never posted anew.

use std::collections::BTreeMap;
use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use yidi_domain::money::Amount;

use crate::text::parse_amount;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fund {
    /// 职工统筹 (310100): the employees' pooled fund.
    PoolEmployee,
    /// 居民基本 (390100): the residents' pooled fund.
    PoolResident,
    /// Both pooled funds as one, as entries posted before they were split carry them.
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
    /// In the order an audit deduction takes from them: the pooled funds first.
    pub const ALL: [Fund; 7] = [
        Fund::PoolEmployee,
        Fund::PoolResident,
        Fund::Hifp,
        Fund::Hifob,
        Fund::Hifmi,
        Fund::Maf,
        Fund::Acct,
    ];

    /// The name in the ledger's accounts and records: the 2304 `setlinfo` field the amount
    /// comes from, with the pooled fund's national code where the field serves both schemes.
    pub fn field(self) -> &'static str {
        match self {
            Fund::PoolEmployee => "hifp_pay_310100",
            Fund::PoolResident => "hifp_pay_390100",
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

    /// The national `fund_pay_type` (domain.md §3); the merged pooled fund of old entries
    /// has both codes.
    pub fn code(self) -> &'static str {
        match self {
            Fund::PoolEmployee => "310100",
            Fund::PoolResident => "390100",
            Fund::Hifp => "310100+390100",
            Fund::Hifob => "330100",
            Fund::Hifmi => "390200",
            Fund::Maf => "610100",
            Fund::Acct => "310200",
        }
    }

    /// For people: what the fund is.
    pub fn name(self) -> &'static str {
        match self {
            Fund::PoolEmployee => "employees' pooled fund (职工统筹)",
            Fund::PoolResident => "residents' pooled fund (居民基本)",
            Fund::Hifp => "pooled funds, before they were cleared apart",
            Fund::Hifob => "employees' large-amount layer (职工大额)",
            Fund::Hifmi => "residents' critical illness (居民大病)",
            Fund::Maf => "medical assistance (医疗救助)",
            Fund::Acct => "personal account (个人账户)",
        }
    }

    /// The pooled fund of a scheme (`insutype` 310 or 390).
    pub fn pool_of(insutype: &str) -> Option<Fund> {
        match insutype {
            "310" => Some(Fund::PoolEmployee),
            "390" => Some(Fund::PoolResident),
            _ => None,
        }
    }

    /// Whether this is a pooled fund (either scheme's, or both merged).
    pub fn is_pool(self) -> bool {
        matches!(self, Fund::PoolEmployee | Fund::PoolResident | Fund::Hifp)
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
pub struct Funds([Amount; 7]);

impl Funds {
    pub const ZERO: Funds = Funds([Amount::ZERO; 7]);

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

    /// The pooled fund these amounts were paid from: the one that holds an amount, the
    /// employees' when none does.
    pub fn pool(&self) -> Fund {
        [Fund::PoolEmployee, Fund::PoolResident, Fund::Hifp]
            .into_iter()
            .find(|fund| !self.get(*fund).is_zero())
            .unwrap_or(Fund::PoolEmployee)
    }
}

impl Serialize for Funds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A pooled fund only when it holds something: an entry names its scheme's pool, and
        // new records never carry the merged pool of old ones.
        let map: BTreeMap<&str, String> = self
            .iter()
            .filter(|(fund, amount)| !fund.is_pool() || !amount.is_zero())
            .map(|(f, a)| (f.field(), a.to_string()))
            .collect();
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
        let funds =
            Funds::ZERO.with(Fund::PoolResident, yuan("100.00")).with(Fund::Acct, yuan("50.00"));
        let taken = funds.take(yuan("120.00")).unwrap();
        assert_eq!(taken.get(Fund::PoolResident), yuan("100.00"));
        assert_eq!(taken.get(Fund::Acct), yuan("20.00"));
        assert_eq!(funds.take(yuan("150.01")), None);
    }

    #[test]
    fn an_entry_of_before_the_split_is_read_with_its_merged_pooled_fund() {
        // Issue #13 §5: logs written before the split stay readable as they were hashed.
        let old = r#"{"acct_pay":"1.00","hifmi_pay":"0.00","hifob_pay":"0.00","hifp_pay":"9.00","maf_pay":"0.00"}"#;
        let funds: Funds = serde_json::from_str(old).unwrap();
        assert_eq!((funds.get(Fund::Hifp), funds.pool()), (yuan("9.00"), Fund::Hifp));
        let again = serde_json::to_string(&funds).unwrap();
        assert!(again.contains("\"hifp_pay\":\"9.00\""), "{again}");
        let new =
            serde_json::to_string(&Funds::ZERO.with(Fund::PoolEmployee, yuan("1.00"))).unwrap();
        assert!(!new.contains("\"hifp_pay\""), "{new}");
        assert!(new.contains("\"hifp_pay_310100\":\"1.00\""), "{new}");
    }

    #[test]
    fn every_fund_has_its_national_code() {
        let codes: Vec<&str> = Fund::ALL.iter().map(|fund| fund.code()).collect();
        assert_eq!(
            codes,
            ["310100", "390100", "310100+390100", "330100", "390200", "610100", "310200"]
        );
        assert_eq!(Fund::pool_of("390"), Some(Fund::PoolResident));
    }

    #[test]
    fn funds_round_trip_through_json() {
        let funds = Funds::ZERO.with(Fund::Hifob, yuan("-3.10"));
        let json = serde_json::to_string(&funds).unwrap();
        assert!(json.contains("\"hifob_pay\":\"-3.10\""), "{json}");
        assert_eq!(serde_json::from_str::<Funds>(&json).unwrap(), funds);
    }
}
