//! Storage for yidi's services: SQLite files by default, PostgreSQL when the URL says so,
//! through one API (sqlx `Any`), with the idempotency inbox every consumer uses.
//!
//! Money is stored as decimal text (`"1200.50"`): exact on both backends, and read back
//! through the domain's `Amount`, never as a float.
//!
//! # Layout
//! - [`Store`]: opening, transactions.
//! - [`migrate`]: versioned schema migrations, applied and checked at start.
//! - [`inbox`]: `(msgid, request_hash, response)` written in the same transaction as an effect.
//! - [`lease`]: one writer per role: a lease row renewed by the holder's heartbeat.
//! - [`outbox`]: messages a service originates, written in the same transaction as their
//!   effect and sent afterwards by a relay.
//! - [`parked`]: messages an operator set aside, which the consumer stops waiting for.

pub mod inbox;
pub mod lease;
pub mod migrate;
pub mod outbox;
pub mod parked;

use std::time::Duration;

use sqlx::any::{install_default_drivers, AnyArguments, AnyPoolOptions};
use sqlx::{AnyPool, Transaction};
use thiserror::Error;

pub use sqlx::Any;
pub use sqlx::Row;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored value {column} is unreadable: {detail}")]
    Corrupt { column: &'static str, detail: String },
    #[error("msgid {msgid} was already used for a different request")]
    IdempotencyConflict { msgid: String },
    /// A conditional write found the row changed since it was read: another writer got there
    /// first. Nothing was written; read again and decide again.
    #[error("{what} changed since it was read")]
    Changed { what: String },
    /// The schema cannot be brought to this release's: a recorded migration was edited, a
    /// newer release migrated the database past what this one knows, or a change failed.
    #[error("schema migration: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Database(_) => "STO_01",
            StoreError::Corrupt { .. } => "STO_02",
            StoreError::IdempotencyConflict { .. } => "STO_03",
            StoreError::Changed { .. } => "STO_04",
            StoreError::Migration(_) => "STO_05",
        }
    }
}

/// A statement over a list of values: `sql` with `{list}` replaced by one numbered
/// placeholder per value (`$1, $2, …`, the same on both backends), each value bound. The
/// placeholders are the only text ever spliced into a statement, hence `AssertSqlSafe`.
pub fn query_in<'q>(sql: &str, values: &[&'q str]) -> sqlx::query::Query<'q, Any, AnyArguments> {
    let list = (1..=values.len()).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.replace("{list}", &list)));
    for value in values {
        query = query.bind(*value);
    }
    query
}

/// Set on every SQLite connection the pool opens, so a reconnected connection runs with them
/// too. WAL: readers do not block the writer. `synchronous=FULL`: a commit is on disk before
/// it returns, so a settlement that was answered survives a power cut, not only a process
/// crash; with group commit that is one fsync per lane (BENCH.md). `busy_timeout`: another
/// process's lock (a backup, an operator's query) is waited for, and a longer one surfaces as
/// a transient failure that the consumer waits out.
pub const SQLITE_PRAGMAS: &[&str] =
    &["PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA busy_timeout=5000"];

/// The URL of database `name` on the PostgreSQL server that `server_url` reaches, created if
/// it is missing: each service (and each test) has a database of its own, as in production.
pub async fn postgres_database(server_url: &str, name: &str) -> Result<String, StoreError> {
    if name.is_empty()
        || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Corrupt { column: "database name", detail: name.to_owned() });
    }
    let server = Store::connect(server_url).await?;
    let known = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(server.pool())
        .await?;
    if known.is_none() {
        // The name was checked above: lowercase letters, digits and underscores only.
        let create = format!("CREATE DATABASE {name}");
        sqlx::query(sqlx::AssertSqlSafe(create)).execute(server.pool()).await?;
    }
    let (base, query) =
        server_url.split_once('?').map_or((server_url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(prefix, _)| prefix);
    Ok(match query {
        Some(query) => format!("{prefix}/{name}?{query}"),
        None => format!("{prefix}/{name}"),
    })
}

/// A column added to a table after its first release (`ALTER TABLE … ADD COLUMN …` in a
/// schema) that an older database already has: SQLite has no `ADD COLUMN IF NOT EXISTS`.
fn added_already(statement: &str, error: &sqlx::Error) -> bool {
    let alter =
        statement.trim_start().starts_with("ALTER TABLE") && statement.contains("ADD COLUMN");
    let duplicate = match error {
        sqlx::Error::Database(error) => {
            error.code().as_deref() == Some("42701") // PostgreSQL: duplicate_column
                || error.message().contains("duplicate column name")
        }
        _ => false,
    };
    alter && duplicate
}

/// Which database is behind the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool and the backend it talks to.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

pub type Tx = Transaction<'static, Any>;

impl Store {
    /// Opens `url` (`sqlite://path/to.db` or `postgres://…`) and brings its schema to this
    /// release's: version 1 is the store's tables and `schema` (idempotent statements,
    /// `CREATE TABLE IF NOT EXISTS …`), with no later changes ([`Store::open_migrated`]).
    pub async fn open(url: &str, schema: &[&'static str]) -> Result<Store, StoreError> {
        Store::open_migrated(url, schema, &[]).await
    }

    /// Opens `url` and applies the migrations it has not had: version 1, the store's tables
    /// and `schema`, then `changes` in order ([`migrate`]). A database whose recorded
    /// migrations differ from these is refused.
    pub async fn open_migrated(
        url: &str,
        schema: &[&'static str],
        changes: &[migrate::Change],
    ) -> Result<Store, StoreError> {
        let store = Store::connect(url).await?;
        let baseline: Vec<&'static str> = inbox::SCHEMA
            .iter()
            .chain(outbox::schema(store.backend))
            .chain(parked::SCHEMA)
            .chain(lease::SCHEMA)
            .chain(schema)
            .copied()
            .collect();
        let migrator = migrate::migrator(&baseline, changes, store.backend);
        migrate::apply(&store, &migrator, async |store: &Store| {
            for statement in &baseline {
                match sqlx::query(*statement).execute(store.pool()).await {
                    Err(error) if added_already(statement, &error) => {}
                    result => {
                        result?;
                    }
                }
            }
            Ok(())
        })
        .await?;
        Ok(store)
    }

    /// Opens `url` as it is, applying nothing: for reading or repairing a service's database
    /// from outside the service (`yidi trace`, `yidi dlq park`, tests).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("postgres") { Backend::Postgres } else { Backend::Sqlite };
        let url = match backend {
            // Create the file on first use.
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        // SQLite has one writer: one connection serializes writes instead of failing them busy.
        let options = match backend {
            Backend::Sqlite => options.max_connections(1).after_connect(|connection, _| {
                Box::pin(async move {
                    for pragma in SQLITE_PRAGMAS {
                        sqlx::Executor::execute(&mut *connection, *pragma).await?;
                    }
                    Ok(())
                })
            }),
            Backend::Postgres => options.max_connections(8),
        };
        let pool = options.connect(&url).await?;
        Ok(Store { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_sqlite_connection_syncs_fully_even_one_opened_after_a_reconnect() {
        let dir = std::env::temp_dir().join(format!("yidi-pragmas-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("money.db").display());
        let store = Store::open(&url, &[]).await.unwrap();
        for _ in 0..2 {
            let mut connection = store.pool().acquire().await.unwrap();
            let row = sqlx::query("PRAGMA synchronous").fetch_one(&mut *connection).await.unwrap();
            assert_eq!(row.try_get::<i64, _>(0).unwrap(), 2, "2 is FULL");
            let row = sqlx::query("PRAGMA busy_timeout").fetch_one(&mut *connection).await.unwrap();
            assert_eq!(row.try_get::<i64, _>(0).unwrap(), 5000);
            // The pool forgets this connection: the next acquire opens a new one.
            drop(connection.detach());
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
