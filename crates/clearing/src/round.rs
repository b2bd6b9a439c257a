//! A monthly clearing round (domain.md §5.2 steps 3–5): the notice of who owes whom with
//! the bills behind every line, confirmation or dispute of named bills, netting, payments.
//!
//! Disputed bills leave the round and move to the next one while the undisputed part settles
//! (peers.md §7 item 5; Reg. 987/2009 art. 66: one dispute must not hold up other claims).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;

use crate::funds::Funds;
use crate::ledger::{Entry, EntryKind, Ledger};
use crate::netting::{self, Netting, PairObligation};
use crate::period::Period;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    pub on: NaiveDate,
    pub disputed: BTreeSet<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Payment {
    #[serde(with = "crate::text::region")]
    pub province: RegionCode,
    #[serde(with = "crate::text::amount")]
    pub amount: Amount,
    pub on: NaiveDate,
    pub reference: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundState {
    /// Notices are out; agencies confirm or dispute.
    Confirming,
    /// Positions are final; net debtors owe their payment by `pay_by`.
    Final,
    /// Every net debtor has paid.
    Paid,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Round {
    pub period: Period,
    pub generated_on: NaiveDate,
    pub confirm_by: NaiveDate,
    pub pay_by: NaiveDate,
    /// Ledger indexes of the entries the notice covered.
    pub entries: Vec<usize>,
    pub confirmations: BTreeMap<RegionCode, Confirmation>,
    pub final_on: Option<NaiveDate>,
    pub payments: Vec<Payment>,
    /// The positions, computed once when the round becomes final: they cannot change after,
    /// and the overdue views ask for them per province and per day.
    pub final_netting: Option<Netting>,
    /// Likewise the pairs and the number of bills, once final.
    pub final_pairs: Option<(Vec<PairObligation>, usize)>,
    /// What was settled first against prepayments when the round became final.
    pub prepay: crate::prepay::PrepayFirst,
}

/// A bill behind a notice line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoticeBill {
    pub setl_id: String,
    pub entry: String,
    pub kind: EntryKind,
    #[serde(with = "crate::text::amount")]
    pub amount: Amount,
}

/// One line of a province's notice: what it owes one province, or is owed by it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoticeLine {
    #[serde(with = "crate::text::region")]
    pub insured: RegionCode,
    #[serde(with = "crate::text::region")]
    pub treatment: RegionCode,
    pub funds: Funds,
    #[serde(with = "crate::text::amount")]
    pub total: Amount,
    pub bills: Vec<NoticeBill>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notice {
    #[serde(with = "crate::text::period")]
    pub period: Period,
    #[serde(with = "crate::text::region")]
    pub province: RegionCode,
    pub generated_on: NaiveDate,
    pub confirm_by: NaiveDate,
    pub pay_by: NaiveDate,
    /// Lines where the province is the insured side.
    pub owing: Vec<NoticeLine>,
    /// Lines where the province is the treatment side.
    pub owed: Vec<NoticeLine>,
    /// Bills it disputed, which move to the next round.
    pub disputed: Vec<String>,
    /// Its net position: positive receives, negative pays.
    #[serde(with = "crate::text::amount")]
    pub net: Amount,
}

impl Round {
    pub fn state(&self) -> RoundState {
        if self.final_on.is_none() {
            RoundState::Confirming
        } else if self.debtors_due().iter().all(|(p, _)| self.outstanding(*p).is_zero()) {
            RoundState::Paid
        } else {
            RoundState::Final
        }
    }

    /// Every bill disputed by any confirmation.
    pub fn disputed(&self) -> BTreeSet<&str> {
        self.confirmations.values().flat_map(|c| c.disputed.iter().map(String::as_str)).collect()
    }

    /// The entries the round settles: all it covered but the disputed bills.
    pub fn included<'a>(&'a self, ledger: &'a Ledger) -> impl Iterator<Item = &'a Entry> + 'a {
        let disputed = self.disputed();
        self.entries
            .iter()
            .filter_map(|&i| ledger.entry(i))
            .filter(move |e| !disputed.contains(e.setl_id.as_str()))
    }

    /// Per pair, what the included entries owe.
    pub fn pair_funds(&self, ledger: &Ledger) -> BTreeMap<(RegionCode, RegionCode), Funds> {
        let mut pairs: BTreeMap<(RegionCode, RegionCode), Funds> = BTreeMap::new();
        for entry in self.included(ledger) {
            let funds = pairs.entry((entry.insured, entry.treatment)).or_default();
            *funds = funds.plus(&entry.obligation());
        }
        pairs
    }

    pub fn obligations(&self, ledger: &Ledger) -> Vec<PairObligation> {
        if let Some((pairs, _)) = &self.final_pairs {
            return pairs.clone();
        }
        self.pair_funds(ledger)
            .into_iter()
            .map(|((insured, treatment), funds)| PairObligation {
                insured,
                treatment,
                amount: funds.total(),
            })
            .collect()
    }

    pub fn netting(&self, ledger: &Ledger) -> Netting {
        match &self.final_netting {
            Some(netting) => netting.clone(),
            None => netting::net(&self.obligations(ledger)),
        }
    }

    /// How many bills the round settles.
    pub fn bill_count(&self, ledger: &Ledger) -> usize {
        if let Some((_, bills)) = &self.final_pairs {
            return *bills;
        }
        self.included(ledger).map(|e| e.setl_id.as_str()).collect::<BTreeSet<_>>().len()
    }

    /// Provinces that owe something in the notice: they are the ones who confirm.
    pub fn debtors(&self, ledger: &Ledger) -> BTreeSet<RegionCode> {
        self.entries.iter().filter_map(|&i| ledger.entry(i)).map(|e| e.insured).collect()
    }

    /// Once final: each net debtor and what it must pay. Nothing is due before.
    pub fn debtors_due(&self) -> Vec<(RegionCode, Amount)> {
        let Some(netting) = &self.final_netting else { return Vec::new() };
        netting
            .net
            .iter()
            .filter(|(_, net)| net.is_negative())
            .map(|(p, net)| (*p, net.negated()))
            .collect()
    }

    pub fn due(&self, province: RegionCode) -> Amount {
        let net = self
            .final_netting
            .as_ref()
            .and_then(|n| n.net.get(&province))
            .copied()
            .unwrap_or_default();
        if net.is_negative() {
            net.negated()
        } else {
            Amount::ZERO
        }
    }

    pub fn paid(&self, province: RegionCode) -> Amount {
        self.payments.iter().filter(|p| p.province == province).map(|p| p.amount).sum()
    }

    pub fn outstanding(&self, province: RegionCode) -> Amount {
        self.due(province).saturating_sub(self.paid(province))
    }

    /// The notice of one province: its lines, each with the bills behind it.
    pub fn notice(&self, province: RegionCode, ledger: &Ledger) -> Notice {
        let mut lines: BTreeMap<(RegionCode, RegionCode), NoticeLine> = BTreeMap::new();
        for entry in self.included(ledger) {
            if entry.insured != province && entry.treatment != province {
                continue;
            }
            let line =
                lines.entry((entry.insured, entry.treatment)).or_insert_with(|| NoticeLine {
                    insured: entry.insured,
                    treatment: entry.treatment,
                    funds: Funds::ZERO,
                    total: Amount::ZERO,
                    bills: Vec::new(),
                });
            let owed = entry.obligation();
            line.funds = line.funds.plus(&owed);
            line.total = line.total + owed.total();
            line.bills.push(NoticeBill {
                setl_id: entry.setl_id.clone(),
                entry: entry.id.clone(),
                kind: entry.kind,
                amount: owed.total(),
            });
        }
        let (owing, owed) = lines.into_values().partition(|l| l.insured == province);
        let disputed = self
            .confirmations
            .get(&province)
            .map(|c| c.disputed.iter().cloned().collect())
            .unwrap_or_default();
        Notice {
            period: self.period,
            province,
            generated_on: self.generated_on,
            confirm_by: self.confirm_by,
            pay_by: self.pay_by,
            owing,
            owed,
            disputed,
            net: self.netting(ledger).net.get(&province).copied().unwrap_or_default(),
        }
    }
}
