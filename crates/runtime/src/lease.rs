//! Holding a service's lease (`yidi_store::lease`) for as long as the process runs.
//!
//! At start a service takes its role's lease, waiting at most [`TAKE_WAIT`] for one that may
//! have lapsed (the previous process was killed); a lease still being renewed by a live copy
//! means another instance is running, and the service refuses to start. While it runs, a
//! heartbeat renews the lease every [`RENEW_EVERY`]; a renewal that finds another holder
//! (this process was cut off longer than the lease lives, and another took over) stops the
//! process at once, before it can write anything more.

use std::time::Duration;

use thiserror::Error;
use tracing::{error, info, warn};
use yidi_store::lease::{self, Held};
use yidi_store::{Store, StoreError};

/// How long a lease lives without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(10);

/// How often the holder renews it.
pub const RENEW_EVERY: Duration = Duration::from_secs(3);

/// How long a starting service waits for a lease to lapse.
pub const TAKE_WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Error)]
pub enum LeaseError {
    #[error("another instance of {role} is running ({holder}); refusing to start a second writer")]
    Held { role: String, holder: String },
    #[error("lease of {role}: {source}")]
    Store { role: String, source: StoreError },
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ttl_ms() -> i64 {
    i64::try_from(LEASE_TTL.as_millis()).unwrap_or(i64::MAX)
}

/// A held lease; renewed by [`Lease::keep`].
pub struct Lease {
    store: Store,
    role: String,
    holder: String,
}

impl Lease {
    /// Takes the lease of `role` in `store`, or says who holds it.
    pub async fn take(store: &Store, role: &str) -> Result<Lease, LeaseError> {
        let holder = format!(
            "{}:{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into()),
            std::process::id(),
            now_ms()
        );
        let failed = |source| LeaseError::Store { role: role.to_owned(), source };
        let started = tokio::time::Instant::now();
        loop {
            let now = now_ms();
            match lease::take(store.pool(), role, &holder, now, now + ttl_ms())
                .await
                .map_err(failed)?
            {
                Ok(()) => {
                    info!(role, holder, "lease taken: this process is the one writer");
                    return Ok(Lease { store: store.clone(), role: role.to_owned(), holder });
                }
                Err(Held { holder: other, .. }) if started.elapsed() >= TAKE_WAIT => {
                    return Err(LeaseError::Held { role: role.to_owned(), holder: other });
                }
                Err(Held { holder: other, expires_ms }) => {
                    warn!(role, holder = %other, expires_in_ms = expires_ms - now, "lease held; waiting to see whether it lapses");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Renews the lease until `stop` completes, then gives it up. Another holder found at a
    /// renewal ends the process (exit code 3): two writers must never run.
    pub async fn keep(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(RENEW_EVERY) => {}
            }
            let now = now_ms();
            match lease::take(self.store.pool(), &self.role, &self.holder, now, now + ttl_ms())
                .await
            {
                Ok(Ok(())) => {}
                Ok(Err(Held { holder, .. })) => {
                    error!(role = %self.role, %holder, "lease lost to another instance; stopping at once");
                    std::process::exit(3);
                }
                // The database away: nobody else can take the lease either; keep trying.
                Err(error) => warn!(role = %self.role, %error, "lease not renewed; will try again"),
            }
        }
        if let Err(error) = lease::release(self.store.pool(), &self.role, &self.holder).await {
            warn!(role = %self.role, %error, "lease not released; it lapses on its own");
        }
    }
}
