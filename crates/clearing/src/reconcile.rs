//! Reconciliation of a clearing period with a treatment province's exchange (3201 对总账
//! totals, with 3202 对明细账 settlement ids to name the bills behind a difference).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;

/// One side's totals for one insured province.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub settled: i64,
    #[serde(with = "crate::text::amount")]
    pub fund_pay_sumamt: Amount,
    #[serde(with = "crate::text::amount")]
    pub acct_pay: Amount,
    pub reversed: i64,
    #[serde(with = "crate::text::amount")]
    pub refd_fund_pay_sumamt: Amount,
    #[serde(with = "crate::text::amount")]
    pub refd_acct_pay: Amount,
    #[serde(skip)]
    pub setl_ids: BTreeSet<String>,
    #[serde(skip)]
    pub refd_setl_ids: BTreeSet<String>,
}

impl Totals {
    /// Adds the totals of other bills: a statement sent in parts is the sum of its parts.
    pub fn add(&mut self, other: Totals) {
        self.settled += other.settled;
        self.fund_pay_sumamt = self.fund_pay_sumamt + other.fund_pay_sumamt;
        self.acct_pay = self.acct_pay + other.acct_pay;
        self.reversed += other.reversed;
        self.refd_fund_pay_sumamt = self.refd_fund_pay_sumamt + other.refd_fund_pay_sumamt;
        self.refd_acct_pay = self.refd_acct_pay + other.refd_acct_pay;
        self.setl_ids.extend(other.setl_ids);
        self.refd_setl_ids.extend(other.refd_setl_ids);
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    #[serde(with = "crate::text::region")]
    pub insured: RegionCode,
    pub hub: Totals,
    pub exchange: Totals,
}

/// A difference, with the bills only one side has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    #[serde(with = "crate::text::region")]
    pub insured: RegionCode,
    pub field: String,
    pub hub: String,
    pub exchange: String,
    pub only_at_hub: Vec<String>,
    pub only_at_exchange: Vec<String>,
}

/// Compares the hub's ledger with the exchange's statement, insured province by province.
pub fn compare(
    hub: &BTreeMap<RegionCode, Totals>,
    exchange: &BTreeMap<RegionCode, Totals>,
) -> (Vec<Row>, Vec<Mismatch>) {
    let provinces: BTreeSet<RegionCode> = hub.keys().chain(exchange.keys()).copied().collect();
    let empty = Totals::default();
    let mut rows = Vec::new();
    let mut mismatches = Vec::new();
    for insured in provinces {
        let h = hub.get(&insured).unwrap_or(&empty);
        let e = exchange.get(&insured).unwrap_or(&empty);
        let settled_ids = |a: &BTreeSet<String>, b: &BTreeSet<String>| {
            a.difference(b).cloned().collect::<Vec<_>>()
        };
        let fields: [(&str, String, String, bool); 6] = [
            ("fixmedins_setl_cnt", h.settled.to_string(), e.settled.to_string(), false),
            (
                "fund_pay_sumamt",
                h.fund_pay_sumamt.to_string(),
                e.fund_pay_sumamt.to_string(),
                false,
            ),
            ("acct_pay", h.acct_pay.to_string(), e.acct_pay.to_string(), false),
            ("refd_setl_cnt", h.reversed.to_string(), e.reversed.to_string(), true),
            (
                "refd_fund_pay_sumamt",
                h.refd_fund_pay_sumamt.to_string(),
                e.refd_fund_pay_sumamt.to_string(),
                true,
            ),
            ("refd_acct_pay", h.refd_acct_pay.to_string(), e.refd_acct_pay.to_string(), true),
        ];
        for (field, at_hub, at_exchange, reversal) in fields {
            if at_hub != at_exchange {
                let (only_at_hub, only_at_exchange) = if reversal {
                    (
                        settled_ids(&h.refd_setl_ids, &e.refd_setl_ids),
                        settled_ids(&e.refd_setl_ids, &h.refd_setl_ids),
                    )
                } else {
                    (settled_ids(&h.setl_ids, &e.setl_ids), settled_ids(&e.setl_ids, &h.setl_ids))
                };
                mismatches.push(Mismatch {
                    insured,
                    field: field.to_owned(),
                    hub: at_hub,
                    exchange: at_exchange,
                    only_at_hub,
                    only_at_exchange,
                });
            }
        }
        // Same totals from different bills is a difference too.
        if h.setl_ids != e.setl_ids
            && !mismatches.iter().any(|m| m.insured == insured && m.field == "fixmedins_setl_cnt")
        {
            mismatches.push(Mismatch {
                insured,
                field: "setl_ids".to_owned(),
                hub: h.setl_ids.len().to_string(),
                exchange: e.setl_ids.len().to_string(),
                only_at_hub: settled_ids(&h.setl_ids, &e.setl_ids),
                only_at_exchange: settled_ids(&e.setl_ids, &h.setl_ids),
            });
        }
        rows.push(Row { insured, hub: h.clone(), exchange: e.clone() });
    }
    (rows, mismatches)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::text::parse_amount;

    fn totals(ids: &[&str], fund: &str) -> Totals {
        Totals {
            settled: i64::try_from(ids.len()).unwrap(),
            fund_pay_sumamt: parse_amount(fund).unwrap(),
            setl_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            ..Totals::default()
        }
    }

    #[test]
    fn equal_totals_and_bills_reconcile() {
        let p: RegionCode = "310000".parse().unwrap();
        let side = BTreeMap::from([(p, totals(&["A", "B"], "10.00"))]);
        let (rows, mismatches) = compare(&side, &side);
        assert_eq!(rows.len(), 1);
        assert!(mismatches.is_empty());
    }

    #[test]
    fn a_bill_the_exchange_never_delivered_is_named() {
        let p: RegionCode = "310000".parse().unwrap();
        let hub = BTreeMap::from([(p, totals(&["A", "B"], "10.00"))]);
        let exchange = BTreeMap::from([(p, totals(&["A"], "6.00"))]);
        let (_, mismatches) = compare(&hub, &exchange);
        let count = mismatches.iter().find(|m| m.field == "fixmedins_setl_cnt").unwrap();
        assert_eq!((count.hub.as_str(), count.exchange.as_str()), ("2", "1"));
        assert_eq!(count.only_at_hub, ["B"]);
        assert!(mismatches.iter().any(|m| m.field == "fund_pay_sumamt" && m.exchange == "6.00"));
    }

    #[test]
    fn same_totals_from_other_bills_is_a_mismatch() {
        let p: RegionCode = "310000".parse().unwrap();
        let hub = BTreeMap::from([(p, totals(&["A"], "5.00"))]);
        let exchange = BTreeMap::from([(p, totals(&["Z"], "5.00"))]);
        let (_, mismatches) = compare(&hub, &exchange);
        assert_eq!(mismatches.len(), 1);
        assert_eq!(
            (mismatches[0].only_at_hub.clone(), mismatches[0].only_at_exchange.clone()),
            (vec!["A".to_owned()], vec!["Z".to_owned()])
        );
    }
}
