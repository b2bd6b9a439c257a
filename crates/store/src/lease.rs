//! One writer per role: a lease row in the service's own database, held by one process and
//! renewed by its heartbeat. A second copy of a service (same role, same database) finds the
//! lease held and refuses to start; a process killed without a goodbye stops renewing, and
//! its lease lapses after its time to live.

use sqlx::Row;

use crate::StoreError;

pub const SCHEMA: &[&str] = &["CREATE TABLE IF NOT EXISTS lease (
    role TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_ms BIGINT NOT NULL)"];

/// Who holds a lease, and until when (Unix milliseconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub holder: String,
    pub expires_ms: i64,
}

/// Takes or renews the lease of `role` for `holder` until `expires_ms`: granted when it is
/// free, lapsed (`now_ms` is past its end) or `holder`'s own. Otherwise, who holds it.
pub async fn take(
    pool: &sqlx::AnyPool,
    role: &str,
    holder: &str,
    now_ms: i64,
    expires_ms: i64,
) -> Result<Result<(), Held>, StoreError> {
    let granted = sqlx::query(
        "INSERT INTO lease (role, holder, expires_ms) VALUES ($1, $2, $3)
         ON CONFLICT (role) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
         WHERE lease.holder = excluded.holder OR lease.expires_ms < $4",
    )
    .bind(role)
    .bind(holder)
    .bind(expires_ms)
    .bind(now_ms)
    .execute(pool)
    .await?
    .rows_affected();
    if granted == 1 {
        return Ok(Ok(()));
    }
    let row = sqlx::query("SELECT holder, expires_ms FROM lease WHERE role = $1")
        .bind(role)
        .fetch_one(pool)
        .await?;
    Ok(Err(Held { holder: row.try_get(0)?, expires_ms: row.try_get(1)? }))
}

/// Gives the lease up, if `holder` has it: the next copy may start at once.
pub async fn release(pool: &sqlx::AnyPool, role: &str, holder: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM lease WHERE role = $1 AND holder = $2")
        .bind(role)
        .bind(holder)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[tokio::test]
    async fn a_second_writer_is_refused_until_the_first_lease_lapses_and_then_the_first_is_out() {
        let dir = std::env::temp_dir().join(format!("yidi-lease-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("agency.db").display());
        let store = Store::open(&url, &[]).await.unwrap();
        let pool = store.pool();
        assert_eq!(take(pool, "agency-north", "a", 1_000, 11_000).await.unwrap(), Ok(()));
        // A second copy on the same database while the first renews: refused.
        let held = take(pool, "agency-north", "b", 2_000, 12_000).await.unwrap();
        assert_eq!(held, Err(Held { holder: "a".into(), expires_ms: 11_000 }));
        assert_eq!(take(pool, "agency-north", "a", 4_000, 14_000).await.unwrap(), Ok(()));
        // The first stops renewing (killed): once its lease has lapsed, the next may take it,
        // and the first, should it come back, finds the lease gone.
        assert_eq!(take(pool, "agency-north", "b", 14_001, 24_001).await.unwrap(), Ok(()));
        let lost = take(pool, "agency-north", "a", 15_000, 25_000).await.unwrap();
        assert_eq!(lost.map_err(|h| h.holder), Err("b".to_owned()));
        // Another role is another lease.
        assert_eq!(take(pool, "hub", "a", 15_000, 25_000).await.unwrap(), Ok(()));
        release(pool, "agency-north", "b").await.unwrap();
        assert_eq!(take(pool, "agency-north", "c", 15_001, 25_001).await.unwrap(), Ok(()));
        std::fs::remove_dir_all(&dir).ok();
    }
}
