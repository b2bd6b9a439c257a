//! The hash chain over the persisted event log: each record's hash covers the previous
//! hash, its sequence number, its kind and its body as stored, so a changed, removed or
//! reordered record is found on read.

use sha2::{Digest, Sha256};

use crate::error::ClearingError;

/// The hash before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub seq: i64,
    pub kind: String,
    pub body: String,
    pub prev_hash: String,
    pub hash: String,
}

pub fn hash(prev_hash: &str, seq: i64, kind: &str, body: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [prev_hash.as_bytes(), &seq.to_be_bytes(), kind.as_bytes(), body.as_bytes()] {
        hasher.update(u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// The record that follows `prev` (or starts the chain).
pub fn link(prev: Option<&Record>, kind: &str, body: String) -> Record {
    let (seq, prev_hash) = match prev {
        Some(p) => (p.seq + 1, p.hash.clone()),
        None => (1, GENESIS.to_owned()),
    };
    let hash = hash(&prev_hash, seq, kind, &body);
    Record { seq, kind: kind.to_owned(), body, prev_hash, hash }
}

/// Checks a whole chain read back in `seq` order.
pub fn verify<'a>(records: impl IntoIterator<Item = &'a Record>) -> Result<(), ClearingError> {
    verify_from(GENESIS, 1, records)
}

/// Checks records that continue a chain already verified up to `prev_hash` (the records
/// start at `first_seq`): what a running hub checks of the records written since it started.
pub fn verify_from<'a>(
    prev_hash: &str,
    first_seq: i64,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<(), ClearingError> {
    let mut expected_prev = prev_hash.to_owned();
    for (expected_seq, record) in (first_seq..).zip(records) {
        let broken = |why: &str| ClearingError::Chain { seq: record.seq, why: why.to_owned() };
        if record.seq != expected_seq {
            return Err(broken(&format!("expected #{expected_seq}: a record is missing")));
        }
        if record.prev_hash != expected_prev {
            return Err(broken("does not follow the previous record"));
        }
        if hash(&record.prev_hash, record.seq, &record.kind, &record.body) != record.hash {
            return Err(broken("its content does not match its hash"));
        }
        expected_prev = record.hash.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chain() -> Vec<Record> {
        let a = link(None, "posted", "{\"a\":1}".into());
        let b = link(Some(&a), "posted", "{\"b\":2}".into());
        let c = link(Some(&b), "paid", "{\"c\":3}".into());
        vec![a, b, c]
    }

    #[test]
    fn an_untouched_chain_verifies() {
        verify(&chain()).unwrap();
    }

    #[test]
    fn an_edited_body_a_removed_record_or_a_swap_is_found() {
        let mut edited = chain();
        edited[1].body = "{\"b\":3}".into();
        assert_eq!(verify(&edited).unwrap_err().code(), "CLR_13");

        let mut removed = chain();
        removed.remove(1);
        assert!(verify(&removed).is_err());

        let mut swapped = chain();
        swapped.swap(1, 2);
        assert!(verify(&swapped).is_err());
    }
}
