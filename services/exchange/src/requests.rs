//! The exchange's record of each bill (by msgid): the bill's hash, the first result it got,
//! and — for a gRPC `Settle` — the reversal that undoes it if the caller is not answered in
//! time, queued at most once, and the time it was reversed.

use sqlx::any::AnyRow;
use yidi_store::migrate::Change;
use yidi_store::{Row, StoreError, Tx};

pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS request (
    msgid TEXT PRIMARY KEY, mdtrt_id TEXT NOT NULL, via TEXT NOT NULL, content_type TEXT NOT NULL,
    result BYTEA, received_at TEXT NOT NULL,
    sends BIGINT NOT NULL DEFAULT 0, delivered BIGINT NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS request_episode ON request (mdtrt_id)",
    // Added after the first release (Store::open skips a column a database has already).
    "ALTER TABLE request ADD COLUMN request_hash TEXT",
    "ALTER TABLE request ADD COLUMN setl_id TEXT",
    "ALTER TABLE request ADD COLUMN reversed_at TEXT",
    // A gRPC Settle: its 2601 reversal (protobuf), when it is due (the caller's deadline, in
    // business time), and whether it was queued.
    "ALTER TABLE request ADD COLUMN reversal BYTEA",
    "ALTER TABLE request ADD COLUMN reverse_after TEXT",
    "ALTER TABLE request ADD COLUMN reversal_queued BIGINT NOT NULL DEFAULT 0",
    // Where the last counted HIS send lies on the discharge topic: a message read again after
    // a crash (at or before it) is not a new send.
    "ALTER TABLE request ADD COLUMN send_partition BIGINT",
    "ALTER TABLE request ADD COLUMN send_offset BIGINT",
    // Where the result message that last gave the HIS an answer lies on the results topic.
    "ALTER TABLE request ADD COLUMN answer_partition BIGINT",
    "ALTER TABLE request ADD COLUMN answer_offset BIGINT",
    "CREATE INDEX IF NOT EXISTS request_setl ON request (setl_id)",
    // The receipt of the first result (`yidi_trust::Receipt`, JSON): the agency's signed result
    // with the hub's countersignature, for the hospital to show an auditor.
    "ALTER TABLE request ADD COLUMN receipt TEXT",
];

/// The exchange's schema changes since versioning began (version 1 is [`SCHEMA`]).
pub const CHANGES: &[Change] = &[
    Change {
        version: 2,
        description: "index of the gRPC settlements the sweep looks for",
        // The sweep asks every 5 s for unanswered gRPC settlements past their deadline; without
        // it that is a scan of every bill the exchange ever received.
        sqlite: "CREATE INDEX IF NOT EXISTS request_reversal_due ON request (reverse_after)
        WHERE reversal IS NOT NULL AND reversal_queued = 0",
        postgres: "CREATE INDEX IF NOT EXISTS request_reversal_due ON request (reverse_after)
        WHERE reversal IS NOT NULL AND reversal_queued = 0",
    },
    crate::hospitals::CHANGE,
    crate::filings::CHANGE,
    crate::hospitals::REGISTRATIONS,
    crate::filings::VERSIONS,
    crate::daily::CHANGE,
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
    /// The hash of the bill first received under this msgid (none for a record from before
    /// hashes were kept).
    pub request_hash: Option<String>,
    /// When the settlement was reversed, if it was.
    pub reversed_at: Option<String>,
    /// Where the last counted HIS send lies (discharge partition, offset).
    pub send_at: Option<(i64, i64)>,
    /// Where the result message that last gave the HIS an answer lies (results partition,
    /// offset).
    pub answer_at: Option<(i64, i64)>,
    /// The receipt of the first result (`yidi_trust::Receipt`, JSON), once there is one.
    pub receipt: Option<String>,
}

impl Known {
    /// Whether `request_hash` is a different bill from the one first received.
    pub fn conflicts(&self, request_hash: &str) -> bool {
        self.request_hash.as_deref().is_some_and(|first| first != request_hash)
    }

    /// Whether the HIS message at `position` was counted already: it is read again after a
    /// crash, not sent again by the HIS.
    pub fn counted(&self, position: (i64, i64)) -> bool {
        read_again(self.send_at, position)
    }

    /// Whether the result message at `position` gave the HIS its answer already: it is read
    /// again after a crash.
    pub fn answered_by(&self, position: (i64, i64)) -> bool {
        read_again(self.answer_at, position)
    }
}

impl Known {
    /// From a row of [`COLUMNS`].
    fn from_row(row: &AnyRow) -> Result<Known, StoreError> {
        Ok(Known {
            via: row.try_get(0)?,
            content_type: row.try_get(1)?,
            result: row.try_get(2)?,
            sends: row.try_get(3)?,
            delivered: row.try_get(4)?,
            request_hash: row.try_get(5)?,
            reversed_at: row.try_get(6)?,
            send_at: row.try_get::<Option<i64>, _>(7)?.zip(row.try_get::<Option<i64>, _>(8)?),
            answer_at: row.try_get::<Option<i64>, _>(9)?.zip(row.try_get::<Option<i64>, _>(10)?),
            receipt: row.try_get(11)?,
        })
    }
}

/// Whether a message at `position` (partition, offset) lies at or before `recorded` in the
/// same partition: a consumer reads it again after a crash, it is not new.
fn read_again(recorded: Option<(i64, i64)>, (partition, offset): (i64, i64)) -> bool {
    recorded.is_some_and(|(p, o)| p == partition && o >= offset)
}

/// What [`Known::from_row`] reads.
const COLUMNS: &str =
    "via, content_type, result, sends, delivered, request_hash, reversed_at, send_partition, send_offset,
     answer_partition, answer_offset, receipt";

pub async fn find(tx: &mut Tx, msgid: &str) -> Result<Option<Known>, StoreError> {
    let row =
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM request WHERE msgid = $1")))
            .bind(msgid)
            .fetch_optional(&mut **tx)
            .await?;
    row.as_ref().map(Known::from_row).transpose()
}

/// A bill as received.
pub struct Received<'a> {
    pub msgid: &'a str,
    pub mdtrt_id: &'a str,
    pub request_hash: &'a str,
    /// `kafka` or `grpc`.
    pub via: &'a str,
    pub content_type: &'a str,
    /// A new send by the HIS over Kafka: where it lies (partition, offset), counted as one
    /// send. `None` for a gRPC call (its result is the call's reply) and for a HIS message read
    /// again after a crash.
    pub send: Option<(i64, i64)>,
    pub at: &'a str,
    /// A gRPC `Settle`: the reversal to queue if it is not answered by `reverse_after`.
    pub reversal: Option<(&'a [u8], &'a str)>,
}

/// Records a bill received and returns what is known of its msgid, this send counted: one
/// statement, the first `via`, content type and bill kept. A send of a different bill under a
/// known msgid is not counted (the caller refuses it: [`Known::conflicts`]).
pub async fn receive(tx: &mut Tx, bill: &Received<'_>) -> Result<Known, StoreError> {
    let (reversal, reverse_after) =
        bill.reversal.map_or((None, None), |(r, at)| (Some(r.to_vec()), Some(at)));
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO request (msgid, mdtrt_id, via, content_type, result, received_at, sends, delivered,
                              request_hash, reversal, reverse_after, send_partition, send_offset)
         VALUES ($1, $2, $3, $4, NULL, $5, $6, 0, $7, $8, $9, $10, $11)
         ON CONFLICT (msgid) DO UPDATE SET
             sends = request.sends + CASE
                 WHEN request.request_hash IS NULL OR request.request_hash = excluded.request_hash
                 THEN excluded.sends ELSE 0 END,
             send_partition = COALESCE(excluded.send_partition, request.send_partition),
             send_offset = COALESCE(excluded.send_offset, request.send_offset)
         RETURNING {COLUMNS}"
    )))
    .bind(bill.msgid)
    .bind(bill.mdtrt_id)
    .bind(bill.via)
    .bind(bill.content_type)
    .bind(bill.at)
    .bind(i64::from(bill.send.is_some()))
    .bind(bill.request_hash)
    .bind(reversal)
    .bind(reverse_after)
    .bind(bill.send.map(|(partition, _)| partition))
    .bind(bill.send.map(|(_, offset)| offset))
    .fetch_one(&mut **tx)
    .await?;
    Known::from_row(&row)
}

/// Records a reversal the exchange sends, so that its answer is recognised as one of ours.
pub async fn reversal_sent(
    tx: &mut Tx,
    msgid: &str,
    mdtrt_id: &str,
    at: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO request (msgid, mdtrt_id, via, content_type, result, received_at, sends, delivered)
         VALUES ($1, $2, 'reversal', '', NULL, $3, 0, 0) ON CONFLICT (msgid) DO NOTHING",
    )
    .bind(msgid)
    .bind(mdtrt_id)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A gRPC settlement whose caller was not answered in time: its reversal, once. `None` when
/// there is nothing to queue — a result came first, or the reversal is queued already.
pub async fn take_reversal(tx: &mut Tx, msgid: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let row = sqlx::query(
        "UPDATE request SET reversal_queued = 1
         WHERE msgid = $1 AND result IS NULL AND reversal IS NOT NULL AND reversal_queued = 0
         RETURNING reversal",
    )
    .bind(msgid)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| row.try_get(0)).transpose().map_err(Into::into)
}

/// gRPC settlements past their caller's deadline with no result and no reversal queued: a
/// call that was cancelled, or a process that stopped while the call waited.
pub async fn overdue(tx: &mut Tx, now: &str, limit: i64) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT msgid FROM request
         WHERE reversal IS NOT NULL AND reversal_queued = 0 AND result IS NULL AND reverse_after < $1
         ORDER BY reverse_after LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(|row| row.try_get(0).map_err(Into::into)).collect()
}

/// Marks the bill a reversal undid (by its settlement id).
pub async fn mark_reversed(tx: &mut Tx, setl_id: &str, at: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE request SET reversed_at = $1 WHERE setl_id = $2 AND reversed_at IS NULL")
        .bind(at)
        .bind(setl_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stores the first result of a msgid (later ones leave it as it is) and, when the HIS is
/// given an answer, counts it with where the result message that gave it lies.
pub async fn answer(
    tx: &mut Tx,
    msgid: &str,
    result: &[u8],
    setl_id: &str,
    delivery: Option<(i64, i64)>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE request SET result = COALESCE(result, $1), setl_id = COALESCE(setl_id, $2),
                delivered = delivered + $3,
                answer_partition = COALESCE($4, answer_partition),
                answer_offset = COALESCE($5, answer_offset)
         WHERE msgid = $6",
    )
    .bind(result.to_vec())
    .bind((!setl_id.is_empty()).then_some(setl_id))
    .bind(i64::from(delivery.is_some()))
    .bind(delivery.map(|(partition, _)| partition))
    .bind(delivery.map(|(_, offset)| offset))
    .bind(msgid)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Keeps the receipt of `msgid`'s first result (a later one changes nothing).
pub async fn keep_receipt(tx: &mut Tx, msgid: &str, receipt: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE request SET receipt = COALESCE(receipt, $1) WHERE msgid = $2")
        .bind(receipt)
        .bind(msgid)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What is known of the latest answered bill of an episode.
pub async fn by_episode(tx: &mut Tx, mdtrt_id: &str) -> Result<Option<Known>, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM request WHERE mdtrt_id = $1 AND result IS NOT NULL
         ORDER BY received_at DESC LIMIT 1"
    )))
    .bind(mdtrt_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(Known::from_row).transpose()
}

/// Counts one more result given to the HIS.
pub async fn count_delivery(tx: &mut Tx, msgid: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE request SET delivered = delivered + 1 WHERE msgid = $1")
        .bind(msgid)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
