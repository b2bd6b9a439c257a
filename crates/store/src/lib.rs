//! Storage for yidi's services: SQLite files by default, PostgreSQL when the URL says so,
//! through one API (sqlx `Any`), with the idempotency inbox every consumer uses.
//!
//! Money is stored as decimal text (`"1200.50"`): exact on both backends, and read back
//! through the domain's `Amount`, never as a float.
//!
//! # Layout
//! - [`Store`]: opening, schema, transactions.
//! - [`inbox`]: `(msgid, request_hash, response)` written in the same transaction as an effect.

pub mod inbox;

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
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Database(_) => "STO_01",
            StoreError::Corrupt { .. } => "STO_02",
            StoreError::IdempotencyConflict { .. } => "STO_03",
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
    /// Opens `url` (`sqlite://path/to.db` or `postgres://…`) and applies `schema`, a list of
    /// idempotent statements (`CREATE TABLE IF NOT EXISTS …`).
    pub async fn open(url: &str, schema: &[&'static str]) -> Result<Store, StoreError> {
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
            Backend::Sqlite => options.max_connections(1),
            Backend::Postgres => options.max_connections(8),
        };
        let pool = options.connect(&url).await?;
        if backend == Backend::Sqlite {
            // WAL: readers do not block the writer; NORMAL sync is durable across process
            // crashes (our failure model) and fast.
            sqlx::query("PRAGMA journal_mode=WAL").execute(&pool).await?;
            sqlx::query("PRAGMA synchronous=NORMAL").execute(&pool).await?;
            sqlx::query("PRAGMA busy_timeout=5000").execute(&pool).await?;
        }
        let store = Store { pool, backend };
        for statement in inbox::SCHEMA.iter().chain(schema) {
            sqlx::query(*statement).execute(&store.pool).await?;
        }
        Ok(store)
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
