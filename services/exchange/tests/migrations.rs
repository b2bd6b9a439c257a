//! Versioned migrations (issue #14 §2): an exchange database made by an earlier release —
//! before versioning, and before some of its columns existed — is upgraded at start with its
//! bills kept; the upgrade is recorded, a second start changes nothing, and a database whose
//! recorded migrations this binary does not match is refused rather than run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests panic: a failure should stop with a backtrace.

use yidi_exchange::requests::{self, CHANGES};
use yidi_store::migrate::Change;
use yidi_store::{Row, Store, StoreError};

/// What an earlier release made: the idempotency inbox and the request table as it first
/// was, through the two columns added first — and one bill in it.
fn earlier() -> Vec<&'static str> {
    let mut statements = yidi_store::inbox::SCHEMA.to_vec();
    statements.extend([
        "CREATE TABLE IF NOT EXISTS request (
            msgid TEXT PRIMARY KEY, mdtrt_id TEXT NOT NULL, via TEXT NOT NULL,
            content_type TEXT NOT NULL, result BYTEA, received_at TEXT NOT NULL,
            sends BIGINT NOT NULL DEFAULT 0, delivered BIGINT NOT NULL DEFAULT 0)",
        "ALTER TABLE request ADD COLUMN request_hash TEXT",
        "ALTER TABLE request ADD COLUMN setl_id TEXT",
        "INSERT INTO request (msgid, mdtrt_id, via, content_type, received_at, sends, request_hash)
            VALUES ('H44010000033202611301000000001', 'E1', 'kafka', 'application/json',
                    '2026-11-30 10:00:00', 1, 'abc')",
    ]);
    statements
}

fn schema() -> Vec<&'static str> {
    requests::SCHEMA.iter().chain(yidi_exchange::statement::SCHEMA).copied().collect()
}

async fn versions(store: &Store) -> Vec<i64> {
    let rows = sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(store.pool())
        .await
        .unwrap();
    rows.iter().map(|row| row.try_get::<i64, _>(0).unwrap()).collect()
}

async fn upgrade(url: &str) {
    let made = Store::connect(url).await.unwrap();
    for statement in earlier() {
        sqlx::query(statement).execute(made.pool()).await.unwrap();
    }
    drop(made);

    // This release starts on it: every column the code uses is there, the bill is kept.
    let store = Store::open_migrated(url, &schema(), CHANGES).await.unwrap();
    assert_eq!(
        versions(&store).await,
        [1, 2, 3, 4, 5, 6, 7],
        "adopted as version 1, then the changes"
    );
    let mut tx = store.begin().await.unwrap();
    let known = requests::find(&mut tx, "H44010000033202611301000000001").await.unwrap();
    let known = known.expect("the earlier release's bill survives the upgrade");
    assert!(known.result.is_none() && known.reversed_at.is_none());
    drop(tx);
    drop(store);

    // A second start applies nothing and is not refused.
    let again = Store::open_migrated(url, &schema(), CHANGES).await.unwrap();
    assert_eq!(versions(&again).await, [1, 2, 3, 4, 5, 6, 7]);
    drop(again);

    // A binary whose change 2 differs from the one applied stops at start…
    let edited = [Change { sqlite: "SELECT 1", postgres: "SELECT 1", ..CHANGES[0] }];
    let refused = Store::open_migrated(url, &schema(), &edited).await;
    assert!(matches!(refused, Err(StoreError::Migration(_))), "{refused:?}");
    // …and so does an older one that does not know change 2.
    let older = Store::open_migrated(url, &schema(), &[]).await;
    assert!(matches!(older, Err(StoreError::Migration(_))), "{older:?}");
}

#[tokio::test]
async fn an_exchange_database_of_an_earlier_release_is_upgraded_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("yidi-migrations-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    upgrade(&format!("sqlite://{}", dir.join("exchange.db").display())).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: make test runs it with YIDI_TEST_POSTGRES"]
async fn an_exchange_database_of_an_earlier_release_is_upgraded_on_postgres() {
    let server = std::env::var("YIDI_TEST_POSTGRES")
        .expect("YIDI_TEST_POSTGRES: a postgres:// URL (make test sets it)");
    let url = yidi_store::postgres_database(&server, "yidi_test_migrations").await.unwrap();
    // A fresh start: what an earlier run of this test left is dropped.
    let store = Store::connect(&url).await.unwrap();
    for table in [
        "_sqlx_migrations",
        "request",
        "inbox",
        "outbox",
        "parked",
        "lease",
        "hospital_setl",
        "hospital_agreement",
        "filing_replica",
    ] {
        let drop = format!("DROP TABLE IF EXISTS {table} CASCADE");
        sqlx::query(sqlx::AssertSqlSafe(drop)).execute(store.pool()).await.unwrap();
    }
    drop(store);
    upgrade(&url).await;
}
