//! The idempotency inbox: each handled message id with the hash of its request and the
//! response it got, inserted in the same transaction as the message's effect.
//!
//! A replay with the same hash gets the stored response; a different request under the same
//! msgid is a conflict (house style rule 5, after formance's ledger and zero2prod).

use std::collections::HashMap;

use sqlx::Row;

use crate::{StoreError, Tx};

pub const SCHEMA: &[&str] = &["CREATE TABLE IF NOT EXISTS inbox (
    msgid TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    response BYTEA NOT NULL,
    created_at TEXT NOT NULL
)"];

/// What the inbox knows of a msgid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    New,
    /// Handled before: here is the first response.
    Answered(Vec<u8>),
}

/// Looks up `msgid` inside `tx`. The same msgid with another request hash is a conflict.
pub async fn check(tx: &mut Tx, msgid: &str, request_hash: &str) -> Result<Seen, StoreError> {
    let row = sqlx::query("SELECT request_hash, response FROM inbox WHERE msgid = $1")
        .bind(msgid)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        return Ok(Seen::New);
    };
    let stored = Stored { request_hash: row.try_get(0)?, response: row.try_get(1)? };
    stored.seen(msgid, request_hash)
}

/// An inbox record as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub request_hash: String,
    pub response: Vec<u8>,
}

impl Stored {
    /// What this record says of `msgid` requested again with `request_hash`.
    pub fn seen(&self, msgid: &str, request_hash: &str) -> Result<Seen, StoreError> {
        if self.request_hash != request_hash && self.request_hash != ANY_REQUEST {
            return Err(StoreError::IdempotencyConflict { msgid: msgid.to_owned() });
        }
        Ok(Seen::Answered(self.response.clone()))
    }
}

/// The records of `msgids`, in one statement (a consumer's lane looks its messages up once).
pub async fn find_many(
    tx: &mut Tx,
    msgids: &[&str],
) -> Result<HashMap<String, Stored>, StoreError> {
    if msgids.is_empty() {
        return Ok(HashMap::new());
    }
    let query = crate::query_in(
        "SELECT msgid, request_hash, response FROM inbox WHERE msgid IN ({list})",
        msgids,
    );
    let mut found = HashMap::new();
    for row in query.fetch_all(&mut **tx).await? {
        let stored = Stored { request_hash: row.try_get(1)?, response: row.try_get(2)? };
        found.insert(row.try_get(0)?, stored);
    }
    Ok(found)
}

/// A hash that matches any request: for tombstones (a reversal that arrived before the
/// transaction it reverses, which must then be answered "reversed" whatever it holds).
pub const ANY_REQUEST: &str = "*";

/// Records the response to `msgid`. Must run in the transaction of the effect.
pub async fn record(
    tx: &mut Tx,
    msgid: &str,
    request_hash: &str,
    response: &[u8],
    at: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO inbox (msgid, request_hash, response, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (msgid) DO NOTHING")
        .bind(msgid)
        .bind(request_hash)
        .bind(response.to_vec())
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
