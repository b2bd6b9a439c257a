//! The clearing ledger: immutable double-entry records of what insured provinces owe
//! treatment provinces (issue #5 §1; domain.md §5.2).
//!
//! A settled bill posts `S:<setl_id>`; its reversal posts the correcting entry
//! `R:<setl_id>` for what the bill still owed; an audit deduction (拒付, seed 004 arts. 49–53)
//! posts `D:<deduction id>`; a fine on the institution for the fraud behind a recovery
//! (seed 004 art. 49: up to five times the amount recovered) posts `F:<fine id>`, and its
//! withdrawal by a later decision `W:<fine id>`; a deduction's withdrawal posts
//! `U:<deduction id>`. Ids derive from the settlement and deduction ids, so a replayed
//! message posts nothing twice. Entries are never changed: errors are corrected by entries.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use yidi_domain::ids::RegionCode;
use yidi_domain::money::Amount;

use crate::error::ClearingError;
use crate::funds::{Fund, Funds};
use crate::period::Period;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A settled bill: the insured province owes the treatment province its advance.
    Settlement,
    /// The bill was reversed (2305/2601): what it still owed is owed no more.
    Reversal,
    /// Treatment-place supervision refused (part of) the fund share.
    Deduction,
    /// A fine on the treatment place's institution for fraud on a bill (seed 004 art. 49): the
    /// treatment province owes it to the insured province, at most [`FINE_MULTIPLE_MAX`] times
    /// what deductions recovered from the bill. Posted on the pooled fund of the bill's scheme.
    Fine,
    /// A fine withdrawn by a later decision (on appeal, seed 004 arts. 49–53: a sanction is
    /// undone only by a recorded decision): what it took is owed back, once.
    FineWithdrawn,
    /// An audit deduction withdrawn by a later decision: the bill owes again what it took,
    /// once.
    DeductionWithdrawn,
}

/// Seed 004 art. 49: a fine of up to five times the amount defrauded.
pub const FINE_MULTIPLE_MAX: u32 = 5;

/// One leg of an entry. Receivables are positive (debits), payables negative (credits); the
/// legs of an entry sum to zero per fund type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// `receivable/<treatment>/<insured>/<fund>` or `payable/<insured>/<treatment>/<fund>`.
    pub account: String,
    #[serde(with = "crate::text::amount")]
    pub amount: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub kind: EntryKind,
    pub setl_id: String,
    /// The insured province (the debtor of a settlement).
    #[serde(with = "crate::text::region")]
    pub insured: RegionCode,
    /// The treatment province (the creditor of a settlement).
    #[serde(with = "crate::text::region")]
    pub treatment: RegionCode,
    #[serde(with = "crate::text::period")]
    pub period: Period,
    pub posted_on: NaiveDate,
    /// Amounts per fund, never negative; the kind gives the direction.
    pub funds: Funds,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub postings: Vec<Posting>,
}

impl Entry {
    /// What the insured province owes the treatment province because of this entry.
    pub fn obligation(&self) -> Funds {
        match self.kind {
            EntryKind::Settlement | EntryKind::FineWithdrawn | EntryKind::DeductionWithdrawn => {
                self.funds
            }
            EntryKind::Reversal | EntryKind::Deduction | EntryKind::Fine => self.funds.negated(),
        }
    }

    fn build(
        id: String,
        kind: EntryKind,
        bill: &Bill,
        funds: Funds,
        posted_on: NaiveDate,
        reason: &str,
    ) -> Entry {
        let mut entry = Entry {
            id,
            kind,
            setl_id: bill.setl_id.clone(),
            insured: bill.insured,
            treatment: bill.treatment,
            period: Period::of(posted_on),
            posted_on,
            funds,
            reason: reason.to_owned(),
            postings: Vec::new(),
        };
        entry.postings = entry.expected_postings();
        entry
    }

    fn expected_postings(&self) -> Vec<Posting> {
        let owed = self.obligation();
        owed.iter()
            .filter(|(_, amount)| !amount.is_zero())
            .flat_map(|(fund, amount)| {
                [
                    Posting {
                        account: format!("receivable/{}/{}/{fund}", self.treatment, self.insured),
                        amount,
                    },
                    Posting {
                        account: format!("payable/{}/{}/{fund}", self.insured, self.treatment),
                        amount: amount.negated(),
                    },
                ]
            })
            .collect()
    }

    /// Whether the legs are exactly [`Entry::expected_postings`], compared part by part
    /// (this runs for every entry on every start-up, so it does not format strings).
    fn legs_match(&self) -> bool {
        let owed = self.obligation();
        let mut legs = self.postings.iter();
        for (fund, amount) in owed.iter().filter(|(_, a)| !a.is_zero()) {
            let expected = [
                ("receivable", self.treatment, self.insured, amount),
                ("payable", self.insured, self.treatment, amount.negated()),
            ];
            for (side, first, second, value) in expected {
                let Some(leg) = legs.next() else { return false };
                let mut parts = leg.account.split('/');
                let same = parts.next() == Some(side)
                    && parts.next() == Some(first.as_str())
                    && parts.next() == Some(second.as_str())
                    && parts.next() == Some(fund.field())
                    && parts.next().is_none()
                    && leg.amount == value;
                if !same {
                    return false;
                }
            }
        }
        legs.next().is_none()
    }

    /// The double-entry checks: legs sum to zero, and they say what the amounts say.
    pub fn check(&self) -> Result<(), ClearingError> {
        let unbalanced = |why: String| ClearingError::Unbalanced { id: self.id.clone(), why };
        if self.funds.any_negative() {
            return Err(unbalanced("a fund amount is negative".into()));
        }
        if self.insured.same_province(self.treatment) {
            return Err(ClearingError::SameProvince(format!(
                "{}→{}",
                self.insured, self.treatment
            )));
        }
        let sum: Amount = self.postings.iter().map(|p| p.amount).sum();
        if !sum.is_zero() {
            return Err(unbalanced(format!("legs sum to {sum}")));
        }
        if !self.legs_match() {
            return Err(unbalanced("legs do not match the fund amounts".into()));
        }
        if Period::of(self.posted_on) != self.period {
            return Err(unbalanced(format!(
                "period {} is not that of {}",
                self.period, self.posted_on
            )));
        }
        Ok(())
    }
}

/// What the ledger knows of one bill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bill {
    pub setl_id: String,
    pub insured: RegionCode,
    pub treatment: RegionCode,
    /// The advance as settled.
    pub settled: Funds,
    /// What the bill still owes after deductions and reversal.
    pub owed: Funds,
    pub reversed: bool,
    /// Indexes of its entries in the ledger.
    pub entries: Vec<usize>,
}

/// The append-only ledger.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    entries: Vec<Entry>,
    by_id: HashMap<String, usize>,
    bills: HashMap<String, Bill>,
}

impl Ledger {
    /// Every fine posted (seed 004 art. 49), with its withdrawal if a later decision made one.
    pub fn fines(&self) -> Vec<(&Entry, Option<&Entry>)> {
        self.entries
            .iter()
            .filter(|entry| entry.kind == EntryKind::Fine)
            .map(|fine| {
                let fine_id = fine.id.strip_prefix("F:").unwrap_or_default();
                (fine, self.entry_by_id(&format!("W:{fine_id}")))
            })
            .collect()
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn entry(&self, index: usize) -> Option<&Entry> {
        self.entries.get(index)
    }

    pub fn bill(&self, setl_id: &str) -> Option<&Bill> {
        self.bills.get(setl_id)
    }

    pub fn bills(&self) -> impl Iterator<Item = &Bill> {
        self.bills.values()
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).and_then(|&i| self.entries.get(i))
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// The entry a settled bill posts, or `None` when it is already posted (a replay).
    pub fn settlement(
        &self,
        setl_id: &str,
        insured: RegionCode,
        treatment: RegionCode,
        funds: Funds,
        posted_on: NaiveDate,
    ) -> Result<Option<Entry>, ClearingError> {
        let id = format!("S:{setl_id}");
        if self.contains(&id) {
            return Ok(None);
        }
        let bill = Bill {
            setl_id: setl_id.to_owned(),
            insured: insured.province(),
            treatment: treatment.province(),
            settled: funds,
            owed: funds,
            reversed: false,
            entries: Vec::new(),
        };
        let entry = Entry::build(id, EntryKind::Settlement, &bill, funds, posted_on, "");
        entry.check()?;
        Ok(Some(entry))
    }

    /// The correcting entry of a reversal: what the bill still owed. `None` when the reversal
    /// is already posted.
    pub fn reversal(
        &self,
        setl_id: &str,
        posted_on: NaiveDate,
        reason: &str,
    ) -> Result<Option<Entry>, ClearingError> {
        let bill =
            self.bills.get(setl_id).ok_or_else(|| ClearingError::UnknownBill(setl_id.into()))?;
        if bill.reversed {
            return Ok(None);
        }
        let entry = Entry::build(
            format!("R:{setl_id}"),
            EntryKind::Reversal,
            bill,
            bill.owed,
            posted_on,
            reason,
        );
        Ok(Some(entry))
    }

    /// An audit deduction of `amount` from the bill's fund share, the pooled fund first.
    /// `None` when this deduction id is already posted.
    pub fn deduction(
        &self,
        deduction_id: &str,
        setl_id: &str,
        amount: Amount,
        posted_on: NaiveDate,
        reason: &str,
    ) -> Result<Option<Entry>, ClearingError> {
        let id = format!("D:{deduction_id}");
        let Some(bill) = self.new_entry_on(&id, setl_id, amount)? else {
            return Ok(None);
        };
        if bill.reversed {
            return Err(ClearingError::Reversed(setl_id.into()));
        }
        let taken = bill.owed.take(amount).ok_or_else(|| ClearingError::DeductionTooLarge {
            setl_id: setl_id.into(),
            asked: amount.to_string(),
            left: bill.owed.total().to_string(),
        })?;
        Ok(Some(Entry::build(id, EntryKind::Deduction, bill, taken, posted_on, reason)))
    }

    /// The bill a new entry `id` of a positive `amount` is posted on; `None` when `id` is
    /// posted already (a repeat posts nothing).
    fn new_entry_on(
        &self,
        id: &str,
        setl_id: &str,
        amount: Amount,
    ) -> Result<Option<&Bill>, ClearingError> {
        if self.contains(id) {
            return Ok(None);
        }
        if amount.is_negative() || amount.is_zero() {
            return Err(ClearingError::NotPositive(amount.to_string()));
        }
        self.bills.get(setl_id).map(Some).ok_or_else(|| ClearingError::UnknownBill(setl_id.into()))
    }

    /// What deductions recovered from a bill, and what fines were posted on it, so far.
    fn recovered_and_fined(&self, bill: &Bill) -> (Amount, Amount) {
        let mut recovered = Amount::ZERO;
        let mut fined = Amount::ZERO;
        for entry in bill.entries.iter().filter_map(|&i| self.entries.get(i)) {
            match entry.kind {
                EntryKind::Deduction => recovered = recovered + entry.funds.total(),
                EntryKind::Fine => fined = fined + entry.funds.total(),
                EntryKind::FineWithdrawn => fined = fined - entry.funds.total(),
                EntryKind::DeductionWithdrawn => recovered = recovered - entry.funds.total(),
                EntryKind::Settlement | EntryKind::Reversal => {}
            }
        }
        (recovered, fined)
    }

    /// Checks a fine of `amount` on `bill` against [`FINE_MULTIPLE_MAX`] times what was
    /// recovered from it, less the fines already posted.
    fn check_fine(&self, bill: &Bill, amount: Amount) -> Result<(), ClearingError> {
        let (recovered, fined) = self.recovered_and_fined(bill);
        let ceiling =
            Amount::round2(recovered.value() * rust_decimal::Decimal::from(FINE_MULTIPLE_MAX));
        let allowed = ceiling.saturating_sub(fined);
        if amount > allowed {
            return Err(ClearingError::FineTooLarge {
                setl_id: bill.setl_id.clone(),
                asked: amount.to_string(),
                allowed: allowed.to_string(),
            });
        }
        Ok(())
    }

    /// A fine of `amount` on the institution behind bill `setl_id`, within five times what was
    /// recovered from the bill. `None` when this fine id is already posted.
    pub fn fine(
        &self,
        fine_id: &str,
        setl_id: &str,
        amount: Amount,
        posted_on: NaiveDate,
        reason: &str,
    ) -> Result<Option<Entry>, ClearingError> {
        let id = format!("F:{fine_id}");
        let Some(bill) = self.new_entry_on(&id, setl_id, amount)? else {
            return Ok(None);
        };
        self.check_fine(bill, amount)?;
        // On the pooled fund the bill was paid from (its scheme's).
        let funds = Funds::ZERO.with(bill.settled.pool(), amount);
        Ok(Some(Entry::build(id, EntryKind::Fine, bill, funds, posted_on, reason)))
    }

    /// The withdrawal of fine `fine_id` by a later decision: what the fine took, owed back
    /// (`W:<fine id>`). `None` when it is withdrawn already.
    pub fn withdraw_fine(
        &self,
        fine_id: &str,
        posted_on: NaiveDate,
        reason: &str,
    ) -> Result<Option<Entry>, ClearingError> {
        let id = format!("W:{fine_id}");
        if self.contains(&id) {
            return Ok(None);
        }
        let fine = self
            .entry_by_id(&format!("F:{fine_id}"))
            .ok_or_else(|| ClearingError::Invalid(format!("no fine {fine_id} was posted")))?;
        let bill = self
            .bills
            .get(&fine.setl_id)
            .ok_or_else(|| ClearingError::UnknownBill(fine.setl_id.clone()))?;
        Ok(Some(Entry::build(id, EntryKind::FineWithdrawn, bill, fine.funds, posted_on, reason)))
    }

    /// The withdrawal of deduction `deduction_id` by a later decision: the bill owes again
    /// what it took (`U:<deduction id>`). `None` when it is withdrawn already. Refused on a
    /// reversed bill, and while the fines that stand on the bill would pass five times what
    /// the remaining deductions recovered (withdraw those fines first).
    pub fn withdraw_deduction(
        &self,
        deduction_id: &str,
        posted_on: NaiveDate,
        reason: &str,
    ) -> Result<Option<Entry>, ClearingError> {
        let id = format!("U:{deduction_id}");
        if self.contains(&id) {
            return Ok(None);
        }
        let deduction = self.entry_by_id(&format!("D:{deduction_id}")).ok_or_else(|| {
            ClearingError::Invalid(format!("no deduction {deduction_id} was posted"))
        })?;
        let bill = self
            .bills
            .get(&deduction.setl_id)
            .ok_or_else(|| ClearingError::UnknownBill(deduction.setl_id.clone()))?;
        self.check_withdrawable(bill, deduction.funds.total())?;
        let funds = deduction.funds;
        Ok(Some(Entry::build(id, EntryKind::DeductionWithdrawn, bill, funds, posted_on, reason)))
    }

    /// A deduction of `amount` can leave `bill`: it is not reversed, and the fines that stand
    /// stay within five times what is recovered without it.
    fn check_withdrawable(&self, bill: &Bill, amount: Amount) -> Result<(), ClearingError> {
        if bill.reversed {
            return Err(ClearingError::Reversed(bill.setl_id.clone()));
        }
        let (recovered, fined) = self.recovered_and_fined(bill);
        let ceiling = Amount::round2(
            (recovered - amount).value() * rust_decimal::Decimal::from(FINE_MULTIPLE_MAX),
        );
        if fined > ceiling {
            return Err(ClearingError::Invalid(format!(
                "fines of {fined} stand on {}: withdraw them before the deduction",
                bill.setl_id
            )));
        }
        Ok(())
    }

    fn entry_by_id(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).and_then(|&i| self.entries.get(i))
    }

    /// Appends an entry after every check: balanced legs, a new id, and a bill that can take
    /// it. Used for new entries and for entries read back from storage alike.
    pub fn append(&mut self, entry: Entry) -> Result<usize, ClearingError> {
        entry.check()?;
        if self.contains(&entry.id) {
            return Err(ClearingError::Replay(format!("entry {} posted twice", entry.id)));
        }
        let index = self.entries.len();
        match entry.kind {
            EntryKind::Settlement => {
                if self.bills.contains_key(&entry.setl_id) {
                    return Err(ClearingError::Replay(format!(
                        "bill {} settled twice",
                        entry.setl_id
                    )));
                }
                self.bills.insert(
                    entry.setl_id.clone(),
                    Bill {
                        setl_id: entry.setl_id.clone(),
                        insured: entry.insured,
                        treatment: entry.treatment,
                        settled: entry.funds,
                        owed: entry.funds,
                        reversed: false,
                        entries: vec![index],
                    },
                );
            }
            EntryKind::Reversal | EntryKind::Deduction => {
                let bill = self
                    .bills
                    .get_mut(&entry.setl_id)
                    .ok_or_else(|| ClearingError::UnknownBill(entry.setl_id.clone()))?;
                if bill.reversed {
                    return Err(ClearingError::Reversed(entry.setl_id.clone()));
                }
                if (bill.insured, bill.treatment) != (entry.insured, entry.treatment) {
                    return Err(ClearingError::Replay(format!(
                        "entry {} names another pair",
                        entry.id
                    )));
                }
                let owed = bill.owed.minus(&entry.funds);
                if owed.any_negative() {
                    return Err(ClearingError::DeductionTooLarge {
                        setl_id: entry.setl_id.clone(),
                        asked: entry.funds.total().to_string(),
                        left: bill.owed.total().to_string(),
                    });
                }
                if entry.kind == EntryKind::Reversal {
                    if !owed.is_zero() {
                        return Err(ClearingError::Unbalanced {
                            id: entry.id.clone(),
                            why: "a reversal must clear what the bill still owes".into(),
                        });
                    }
                    bill.reversed = true;
                }
                bill.owed = owed;
                bill.entries.push(index);
            }
            EntryKind::Fine => self.attach_fine(&entry, index)?,
            EntryKind::FineWithdrawn => self.attach_withdrawal(&entry, index)?,
            EntryKind::DeductionWithdrawn => self.attach_deduction_withdrawal(&entry, index)?,
        }
        self.by_id.insert(entry.id.clone(), index);
        self.entries.push(entry);
        Ok(index)
    }

    /// A fine entry's checks on the way in: its bill and pair, and the five-times rule.
    fn attach_fine(&mut self, entry: &Entry, index: usize) -> Result<(), ClearingError> {
        let bill = self
            .bills
            .get(&entry.setl_id)
            .ok_or_else(|| ClearingError::UnknownBill(entry.setl_id.clone()))?;
        if (bill.insured, bill.treatment) != (entry.insured, entry.treatment) {
            return Err(ClearingError::Replay(format!("entry {} names another pair", entry.id)));
        }
        self.check_fine(bill, entry.funds.total())?;
        if let Some(bill) = self.bills.get_mut(&entry.setl_id) {
            bill.entries.push(index);
        }
        Ok(())
    }

    /// A withdrawal's checks on the way in: it undoes, exactly, a fine posted on its bill.
    fn attach_withdrawal(&mut self, entry: &Entry, index: usize) -> Result<(), ClearingError> {
        let fine_id = entry.id.strip_prefix("W:").unwrap_or_default();
        let fine = self.entry_by_id(&format!("F:{fine_id}"));
        let undoes = fine.is_some_and(|fine| {
            fine.kind == EntryKind::Fine
                && fine.setl_id == entry.setl_id
                && fine.funds == entry.funds
                && (fine.insured, fine.treatment) == (entry.insured, entry.treatment)
        });
        if !undoes {
            return Err(ClearingError::Invalid(format!(
                "{} withdraws no fine of its bill {}",
                entry.id, entry.setl_id
            )));
        }
        if let Some(bill) = self.bills.get_mut(&entry.setl_id) {
            bill.entries.push(index);
        }
        Ok(())
    }

    /// A deduction's withdrawal on the way in: it undoes, exactly, a deduction of its bill,
    /// which owes again what it took.
    fn attach_deduction_withdrawal(
        &mut self,
        entry: &Entry,
        index: usize,
    ) -> Result<(), ClearingError> {
        let deduction_id = entry.id.strip_prefix("U:").unwrap_or_default();
        let undoes = self.entry_by_id(&format!("D:{deduction_id}")).is_some_and(|deduction| {
            deduction.kind == EntryKind::Deduction
                && deduction.setl_id == entry.setl_id
                && deduction.funds == entry.funds
                && (deduction.insured, deduction.treatment) == (entry.insured, entry.treatment)
        });
        let bill = self.bills.get(&entry.setl_id).filter(|_| undoes).ok_or_else(|| {
            ClearingError::Invalid(format!(
                "{} withdraws no deduction of its bill {}",
                entry.id, entry.setl_id
            ))
        })?;
        self.check_withdrawable(bill, entry.funds.total())?;
        if let Some(bill) = self.bills.get_mut(&entry.setl_id) {
            bill.owed = bill.owed.plus(&entry.funds);
            bill.entries.push(index);
        }
        Ok(())
    }

    /// Per fund, what the ledger says is owed across all entries: receivables minus payables
    /// must be zero, and receivables equal the sum of obligations (the read-side check).
    pub fn trial_balance(&self) -> Result<Funds, ClearingError> {
        let mut receivable = Funds::ZERO;
        let mut payable = Funds::ZERO;
        for entry in &self.entries {
            for posting in &entry.postings {
                let fund =
                    posting.account.rsplit('/').next().and_then(Fund::from_field).ok_or_else(
                        || ClearingError::Unbalanced {
                            id: entry.id.clone(),
                            why: format!("account {} names no fund", posting.account),
                        },
                    )?;
                let side = if posting.account.starts_with("receivable/") {
                    &mut receivable
                } else {
                    &mut payable
                };
                *side = side.with(fund, side.get(fund) + posting.amount);
            }
        }
        if !receivable.plus(&payable).is_zero() {
            return Err(ClearingError::Unbalanced {
                id: "ledger".into(),
                why: format!(
                    "receivables {} ≠ payables {}",
                    receivable.total(),
                    payable.total().negated()
                ),
            });
        }
        Ok(receivable)
    }
}
