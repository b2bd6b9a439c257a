//! The transactional outbox: a message a service originates (not a reply to a consumed one) is
//! written in the same transaction as the effect it announces, and a relay sends it afterwards
//! and removes it once the broker has it. A crash between commit and send loses nothing (the
//! relay finds the row on restart); a crash between send and removal sends it again, which the
//! receivers' inboxes absorb.

use sqlx::Row;

use crate::{Backend, StoreError, Tx};

/// The table, per backend (an increasing id: the relay sends in the order rows were written).
pub fn schema(backend: Backend) -> &'static [&'static str] {
    match backend {
        Backend::Sqlite => &["CREATE TABLE IF NOT EXISTS outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            topic TEXT NOT NULL, msg_key TEXT NOT NULL, headers TEXT NOT NULL,
            payload BYTEA NOT NULL, created_at TEXT NOT NULL)"],
        Backend::Postgres => &["CREATE TABLE IF NOT EXISTS outbox (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            topic TEXT NOT NULL, msg_key TEXT NOT NULL, headers TEXT NOT NULL,
            payload BYTEA NOT NULL, created_at TEXT NOT NULL)"],
    }
}

/// A message waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parcel {
    pub id: i64,
    pub topic: String,
    pub key: String,
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
}

/// Queues a message inside `tx`: it is sent only if `tx` commits.
pub async fn put(
    tx: &mut Tx,
    topic: &str,
    key: &str,
    headers: &[(String, String)],
    payload: &[u8],
    at: &str,
) -> Result<(), StoreError> {
    let headers = serde_json::to_string(headers)
        .map_err(|e| StoreError::Corrupt { column: "outbox.headers", detail: e.to_string() })?;
    sqlx::query(
        "INSERT INTO outbox (topic, msg_key, headers, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(topic)
    .bind(key)
    .bind(headers)
    .bind(payload.to_vec())
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The oldest `limit` messages waiting, in the order they were written.
pub async fn oldest(pool: &sqlx::AnyPool, limit: i64) -> Result<Vec<Parcel>, StoreError> {
    let rows =
        sqlx::query("SELECT id, topic, msg_key, headers, payload FROM outbox ORDER BY id LIMIT $1")
            .bind(limit)
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|row| {
            let headers: String = row.try_get(3)?;
            Ok(Parcel {
                id: row.try_get(0)?,
                topic: row.try_get(1)?,
                key: row.try_get(2)?,
                headers: serde_json::from_str(&headers).map_err(|e| StoreError::Corrupt {
                    column: "outbox.headers",
                    detail: e.to_string(),
                })?,
                payload: row.try_get(4)?,
            })
        })
        .collect()
}

/// Removes messages the broker has.
pub async fn remove(pool: &sqlx::AnyPool, ids: &[i64]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    // Ids are consecutive more often than not: one range per run of them.
    let (first, last) =
        (ids.iter().min().copied().unwrap_or(0), ids.iter().max().copied().unwrap_or(0));
    let consecutive = usize::try_from(last - first + 1).is_ok_and(|span| span == ids.len());
    if consecutive {
        sqlx::query("DELETE FROM outbox WHERE id BETWEEN $1 AND $2")
            .bind(first)
            .bind(last)
            .execute(pool)
            .await?;
    } else {
        for id in ids {
            sqlx::query("DELETE FROM outbox WHERE id = $1").bind(*id).execute(pool).await?;
        }
    }
    Ok(())
}

/// How many messages wait.
pub async fn waiting(pool: &sqlx::AnyPool) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) FROM outbox").fetch_one(pool).await?;
    Ok(row.try_get(0)?)
}
