//! Versioned schema migrations (sqlx's migrator), applied and checked at start.
//!
//! Version 1 is a service's schema as it stood when versioning began: the store's own tables
//! (inbox, outbox, parked, lease) and the service's, as idempotent statements. Every later
//! change is a [`Change`] with its SQL for each backend, applied once, in order, in a
//! transaction, and recorded with its checksum in `_sqlx_migrations`. At start a database
//! whose recorded migrations were edited since (checksum), or that a newer release migrated
//! past what this binary knows, stops the service with the reason: running on a schema it
//! does not know could lose money.
//!
//! Version 1 itself is applied the way schemas always were — idempotent statements, a column
//! a database already has skipped — and then recorded: the same statements make a new
//! database and adopt one made before versioning (its tables there, no record of
//! migrations). Then the changes run.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr as _};

use crate::{Backend, Store, StoreError};

/// A schema change after version 1, with its SQL for each backend (statements separated
/// by `;`).
#[derive(Clone, Copy, Debug)]
pub struct Change {
    /// 2, 3, …: the order the changes run in, never reused.
    pub version: i64,
    pub description: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// The migrations of a service whose version 1 is `baseline` and whose later changes are
/// `changes`, for `backend`.
pub(crate) fn migrator(
    baseline: &[&'static str],
    changes: &[Change],
    backend: Backend,
) -> Migrator {
    let first = baseline.join(";\n");
    let mut migrations = vec![migration(1, "baseline", first)];
    for change in changes {
        let sql = match backend {
            Backend::Sqlite => change.sqlite,
            Backend::Postgres => change.postgres,
        };
        migrations.push(migration(change.version, change.description, sql.to_owned()));
    }
    Migrator::with_migrations(migrations)
}

fn migration(version: i64, description: &'static str, sql: String) -> Migration {
    Migration::new(
        version,
        Cow::Borrowed(description),
        MigrationType::Simple,
        AssertSqlSafe(sql).into_sql_str(),
        false,
    )
}

/// Whether version 1 is recorded: not in a new database, nor in one made before versioning.
async fn baseline_recorded(store: &Store) -> bool {
    let recorded = sqlx::query("SELECT 1 FROM _sqlx_migrations WHERE version = 1")
        .fetch_optional(store.pool())
        .await;
    matches!(recorded, Ok(Some(_)))
}

/// Applies what `migrator` has that the database has not. Version 1 — in a new database, or
/// one made before versioning — is applied the tolerant way (`baseline`: idempotent
/// statements, a column already there skipped) and then recorded, so the same statements
/// adopt an old database and make a new one; its checksum is checked from then on like every
/// other migration's.
pub(crate) async fn apply<F>(
    store: &Store,
    migrator: &Migrator,
    baseline: F,
) -> Result<(), StoreError>
where
    F: AsyncFnOnce(&Store) -> Result<(), StoreError>,
{
    if !baseline_recorded(store).await {
        baseline(store).await?;
        migrator.skip(store.pool(), Some(1)).await.map_err(StoreError::Migration)?;
    }
    migrator.run(store.pool()).await.map_err(StoreError::Migration)
}
