//! What a lane of settlement requests reads once: the inbox records of its msgids, and its
//! persons with their filings and accumulators — five statements for the whole lane instead
//! of five for each bill.
//!
//! The copy is read through, never written back: every write still goes to the store in the
//! lane's transaction, and the copy is brought up to date beside it, so a later message of the
//! lane sees what an earlier one did. What the copy does not hold (a person it did not read, or
//! one a reversal changed and it forgot) is read from the store, inside the same transaction.

use std::collections::{HashMap, HashSet};

use yidi_domain::claim::Accumulators;
use yidi_domain::filing::Filing;
use yidi_domain::money::Amount;
use yidi_store::inbox::{self, Seen, Stored};
use yidi_store::{StoreError, Tx};

use crate::store::{self as tables, PersonRecord};

#[derive(Debug, Default)]
pub struct Prefetched {
    /// The msgids looked up: one missing from `inbox` is new.
    msgids: HashSet<String>,
    inbox: HashMap<String, Stored>,
    /// The persons read: one missing from `persons` is unknown.
    psn_nos: HashSet<String>,
    persons: HashMap<String, PersonRecord>,
    filings: HashMap<String, Vec<Filing>>,
    ytd: HashMap<(String, i32), Accumulators>,
    /// Of the persons read, those with any halt (seed 004 art. 53) or open admission hold:
    /// only theirs are looked up bill by bill.
    restricted: HashSet<String>,
}

impl Prefetched {
    /// Reads the inbox records of `msgids` and the persons `psn_nos` (with filings and every
    /// year's accumulators).
    pub async fn read(
        tx: &mut Tx,
        msgids: &[&str],
        psn_nos: &[&str],
    ) -> Result<Prefetched, StoreError> {
        Ok(Prefetched {
            msgids: msgids.iter().map(|m| (*m).to_owned()).collect(),
            inbox: inbox::find_many(tx, msgids).await?,
            psn_nos: psn_nos.iter().map(|p| (*p).to_owned()).collect(),
            persons: tables::load_persons(tx, psn_nos).await?,
            filings: tables::load_filings_of(tx, psn_nos).await?,
            ytd: tables::load_accumulators_of(tx, psn_nos).await?,
            restricted: tables::halted_or_holding(tx, psn_nos).await?,
        })
    }

    /// Whether bills of `psn_no` must look up halts and holds: a person of the lane with
    /// neither (the usual case) needs no statement for them.
    pub fn restricted(&self, psn_no: &str) -> bool {
        !self.psn_nos.contains(psn_no) || self.restricted.contains(psn_no)
    }

    /// A hold was made for `psn_no` in this lane: their later bills look holds up.
    pub fn holding(&mut self, psn_no: &str) {
        self.restricted.insert(psn_no.to_owned());
    }

    /// [`inbox::check`], from the copy when it holds the msgid.
    pub async fn seen(
        &self,
        tx: &mut Tx,
        msgid: &str,
        request_hash: &str,
    ) -> Result<Seen, StoreError> {
        if !self.msgids.contains(msgid) {
            return inbox::check(tx, msgid, request_hash).await;
        }
        match self.inbox.get(msgid) {
            Some(stored) => stored.seen(msgid, request_hash),
            None => Ok(Seen::New),
        }
    }

    /// [`inbox::record`], and the copy after it (the first record of a msgid stays).
    pub async fn record(
        &mut self,
        tx: &mut Tx,
        msgid: &str,
        request_hash: &str,
        response: &[u8],
        at: &str,
    ) -> Result<(), StoreError> {
        inbox::record(tx, msgid, request_hash, response, at).await?;
        if self.msgids.contains(msgid) {
            self.inbox.entry(msgid.to_owned()).or_insert_with(|| Stored {
                request_hash: request_hash.to_owned(),
                response: response.to_vec(),
            });
        }
        Ok(())
    }

    pub async fn person(
        &self,
        tx: &mut Tx,
        psn_no: &str,
    ) -> Result<Option<PersonRecord>, StoreError> {
        if self.psn_nos.contains(psn_no) {
            return Ok(self.persons.get(psn_no).cloned());
        }
        tables::load_person(tx, psn_no).await
    }

    pub async fn filings(&self, tx: &mut Tx, psn_no: &str) -> Result<Vec<Filing>, StoreError> {
        if self.psn_nos.contains(psn_no) {
            return Ok(self.filings.get(psn_no).cloned().unwrap_or_default());
        }
        tables::load_filings(tx, psn_no).await
    }

    pub async fn accumulators(
        &self,
        tx: &mut Tx,
        psn_no: &str,
        year: i32,
    ) -> Result<Accumulators, StoreError> {
        if self.psn_nos.contains(psn_no) {
            let key = (psn_no.to_owned(), year);
            return Ok(self.ytd.get(&key).copied().unwrap_or_default());
        }
        tables::load_accumulators(tx, psn_no, year).await
    }

    /// Saves a settlement's accumulators (on condition they are still `before`) and account
    /// balance, and the copy after them.
    pub async fn settled(
        &mut self,
        tx: &mut Tx,
        psn_no: &str,
        year: i32,
        (before, ytd): (&Accumulators, &Accumulators),
        balance: Amount,
    ) -> Result<(), StoreError> {
        tables::save_accumulators(tx, psn_no, year, before, ytd).await?;
        tables::set_balance(tx, psn_no, balance).await?;
        if self.psn_nos.contains(psn_no) {
            self.ytd.insert((psn_no.to_owned(), year), *ytd);
            if let Some(person) = self.persons.get_mut(psn_no) {
                person.account_balance = balance;
            }
        }
        Ok(())
    }

    /// Drops a person the copy no longer knows to be current (a reversal changed them in the
    /// store): later messages read them from the store.
    pub fn forget(&mut self, psn_no: &str) {
        self.psn_nos.remove(psn_no);
        self.persons.remove(psn_no);
        self.filings.remove(psn_no);
        self.ytd.retain(|(person, _), _| person != psn_no);
    }
}
