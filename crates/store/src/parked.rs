//! Messages an operator set aside (`yidi dlq park`): a person's decision that a message that
//! keeps failing should stop holding its partition. The consumer runtime asks, for a message
//! failing past its alarm, whether it is here; if so it is dead-lettered (`PARKED`) with the
//! operator's reason and the partition goes on. `yidi dlq replay` brings it back after a fix.

use sqlx::Row;

use crate::StoreError;

pub const SCHEMA: &[&str] = &["CREATE TABLE IF NOT EXISTS parked (
    topic TEXT NOT NULL, partition_no BIGINT NOT NULL, offset_no BIGINT NOT NULL,
    reason TEXT NOT NULL, parked_by TEXT NOT NULL, parked_at TEXT NOT NULL,
    PRIMARY KEY (topic, partition_no, offset_no))"];

/// Where a message is: its topic, partition and offset.
#[derive(Clone, Copy, Debug)]
pub struct At<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
}

/// Parks the message at `at`; parking it again changes nothing.
pub async fn park(
    pool: &sqlx::AnyPool,
    at: At<'_>,
    reason: &str,
    by: &str,
    when: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO parked (topic, partition_no, offset_no, reason, parked_by, parked_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (topic, partition_no, offset_no) DO NOTHING",
    )
    .bind(at.topic)
    .bind(i64::from(at.partition))
    .bind(at.offset)
    .bind(reason)
    .bind(by)
    .bind(when)
    .execute(pool)
    .await?;
    Ok(())
}

/// Why the message at `at` was parked, and by whom, if it was.
pub async fn find(pool: &sqlx::AnyPool, at: At<'_>) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "SELECT reason, parked_by FROM parked WHERE topic = $1 AND partition_no = $2 AND offset_no = $3",
    )
    .bind(at.topic)
    .bind(i64::from(at.partition))
    .bind(at.offset)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        let (reason, by): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        Ok(format!("parked by {by}: {reason}"))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[tokio::test]
    async fn a_parked_message_is_found_with_who_parked_it_and_why_and_no_other() {
        let dir = std::env::temp_dir().join(format!("yidi-parked-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store =
            Store::open(&format!("sqlite://{}", dir.join("hub.db").display()), &[]).await.unwrap();
        let at = At { topic: "hub.results", partition: 0, offset: 42 };
        assert_eq!(find(store.pool(), at).await.unwrap(), None);
        park(store.pool(), at, "restored from backup", "wang", "2026-11-29T10:00:00Z")
            .await
            .unwrap();
        park(store.pool(), at, "again", "li", "2026-11-29T10:01:00Z").await.unwrap();
        let found = find(store.pool(), at).await.unwrap();
        assert_eq!(found.as_deref(), Some("parked by wang: restored from backup"));
        let next = At { offset: 43, ..at };
        assert_eq!(find(store.pool(), next).await.unwrap(), None);
        std::fs::remove_dir_all(&dir).ok();
    }
}
