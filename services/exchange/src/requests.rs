//! The exchange's record of each bill (by msgid) and the first result it got.

use sqlx::any::AnyRow;
use yidi_store::{Row, StoreError, Tx};

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS request (
    msgid TEXT PRIMARY KEY, mdtrt_id TEXT NOT NULL, via TEXT NOT NULL, content_type TEXT NOT NULL,
    result BYTEA, received_at TEXT NOT NULL,
    sends BIGINT NOT NULL DEFAULT 0, delivered BIGINT NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS request_episode ON request (mdtrt_id)",
];

/// What the exchange knows of a msgid.
#[derive(Clone, Debug)]
pub struct Known {
    pub via: String,
    pub content_type: String,
    pub result: Option<Vec<u8>>,
    /// How many times the HIS sent this bill, and how many results it was given: each send
    /// gets exactly one result, however often the result is redelivered inside the network.
    pub sends: i64,
    pub delivered: i64,
}

impl Known {
    /// From a row of `via, content_type, result, sends, delivered`.
    fn from_row(row: &AnyRow) -> Result<Known, StoreError> {
        Ok(Known {
            via: row.try_get(0)?,
            content_type: row.try_get(1)?,
            result: row.try_get(2)?,
            sends: row.try_get(3)?,
            delivered: row.try_get(4)?,
        })
    }
}

pub async fn find(tx: &mut Tx, msgid: &str) -> Result<Option<Known>, StoreError> {
    let row = sqlx::query(
        "SELECT via, content_type, result, sends, delivered FROM request WHERE msgid = $1",
    )
    .bind(msgid)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(Known::from_row).transpose()
}

/// Records a bill received (`sends` is 1 for a send by the HIS over Kafka, 0 for a gRPC call,
/// which gets its result as the call's reply) and returns what is known of its msgid, this
/// send counted: one statement, the first `via` and content type kept.
pub async fn receive(
    tx: &mut Tx,
    msgid: &str,
    mdtrt_id: &str,
    via: &str,
    content_type: &str,
    sends: i64,
    at: &str,
) -> Result<Known, StoreError> {
    let row = sqlx::query(
        "INSERT INTO request (msgid, mdtrt_id, via, content_type, result, received_at, sends, delivered)
         VALUES ($1, $2, $3, $4, NULL, $5, $6, 0)
         ON CONFLICT (msgid) DO UPDATE SET sends = request.sends + excluded.sends
         RETURNING via, content_type, result, sends, delivered",
    )
    .bind(msgid)
    .bind(mdtrt_id)
    .bind(via)
    .bind(content_type)
    .bind(at)
    .bind(sends)
    .fetch_one(&mut **tx)
    .await?;
    Known::from_row(&row)
}

/// Stores the first result of a msgid (later ones leave it as it is) and counts `deliveries`
/// more results given to the HIS.
pub async fn answer(
    tx: &mut Tx,
    msgid: &str,
    result: &[u8],
    deliveries: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE request SET result = COALESCE(result, $1), delivered = delivered + $2 WHERE msgid = $3",
    )
    .bind(result.to_vec())
    .bind(deliveries)
    .bind(msgid)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The latest result of an episode.
pub async fn by_episode(tx: &mut Tx, mdtrt_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let row = sqlx::query("SELECT result FROM request WHERE mdtrt_id = $1 AND result IS NOT NULL ORDER BY received_at DESC LIMIT 1")
        .bind(mdtrt_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|row| row.try_get(0)).transpose().map_err(Into::into)
}

/// Counts one more result given to the HIS.
pub async fn count_delivery(tx: &mut Tx, msgid: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE request SET delivered = delivered + 1 WHERE msgid = $1")
        .bind(msgid)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
