//! Multilateral netting (peers.md §5, §7 item 5): bilateral obligations between provinces
//! become one net position per province. Positions sum to zero by construction; the test
//! suite checks it for random ledgers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;

/// What one province owes another in a round (negative when reversals and deductions
/// outweigh the bills: then the creditor owes the debtor back); also what a round took from
/// a pair's prepayment ([`crate::prepay::Draw`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairObligation {
    #[serde(with = "crate::text::region")]
    pub insured: RegionCode,
    #[serde(with = "crate::text::region")]
    pub treatment: RegionCode,
    #[serde(with = "crate::text::amount")]
    pub amount: Amount,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Netting {
    /// Receivable minus payable per province: positive receives, negative pays.
    #[serde(serialize_with = "positions")]
    pub net: BTreeMap<RegionCode, Amount>,
    /// What would move without netting: every bilateral obligation paid on its own.
    #[serde(with = "crate::text::amount")]
    pub gross: Amount,
    /// What moves with netting: the net debtors' payments.
    #[serde(with = "crate::text::amount")]
    pub netted: Amount,
    /// `gross − netted`: liquidity the round does not need.
    #[serde(with = "crate::text::amount")]
    pub saved: Amount,
}

fn positions<S: serde::Serializer>(
    net: &BTreeMap<RegionCode, Amount>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(net.len()))?;
    for (province, amount) in net {
        map.serialize_entry(province.as_str(), &amount.to_string())?;
    }
    map.end()
}

/// Nets the obligations of one round.
pub fn net(obligations: &[PairObligation]) -> Netting {
    let mut net: BTreeMap<RegionCode, Amount> = BTreeMap::new();
    let mut gross = Amount::ZERO;
    for o in obligations {
        *net.entry(o.treatment).or_default() =
            net.get(&o.treatment).copied().unwrap_or_default() + o.amount;
        *net.entry(o.insured).or_default() =
            net.get(&o.insured).copied().unwrap_or_default() - o.amount;
        gross = gross + if o.amount.is_negative() { o.amount.negated() } else { o.amount };
    }
    let netted: Amount = net.values().filter(|a| a.is_negative()).map(|a| a.negated()).sum();
    Netting { net, gross, netted, saved: gross - netted }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::text::parse_amount;

    fn owe(insured: &str, treatment: &str, amount: &str) -> PairObligation {
        PairObligation {
            insured: insured.parse().unwrap(),
            treatment: treatment.parse().unwrap(),
            amount: parse_amount(amount).unwrap(),
        }
    }

    #[test]
    fn a_triangle_nets_to_the_differences_and_saves_the_rest() {
        let netting = net(&[
            owe("110000", "310000", "100.00"),
            owe("310000", "440000", "80.00"),
            owe("440000", "110000", "90.00"),
        ]);
        let at = |p: &str| netting.net[&p.parse::<RegionCode>().unwrap()].to_string();
        assert_eq!(at("110000"), "-10.00");
        assert_eq!(at("310000"), "20.00");
        assert_eq!(at("440000"), "-10.00");
        assert_eq!(netting.gross.to_string(), "270.00");
        assert_eq!(netting.netted.to_string(), "20.00");
        assert_eq!(netting.saved.to_string(), "250.00");
    }
}
