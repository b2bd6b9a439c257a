//! Graceful shutdown: one cancellation token and one task tracker per process.
//!
//! A stop request (SIGINT, SIGTERM, or the process deciding to end) cancels the token; every
//! background task of the service was spawned through [`Shutdown::spawn`] or
//! [`Shutdown::every`] and ends on its own when it sees the token, so nothing is cut with
//! `abort()` in the middle of a write. [`Shutdown::finish`] then waits for them, for a bounded
//! time: a task that hangs past the grace is named in the log and left to the process's exit.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

/// How long [`Shutdown::finish`] waits for the service's tasks once a stop was requested:
/// the outbox's last round and the servers' open requests, well inside a supervisor's
/// SIGKILL timeout (systemd's default is 90 s).
pub const GRACE: Duration = Duration::from_secs(10);

/// The stop signal of a service and the tasks that must see it.
#[derive(Clone, Debug, Default)]
pub struct Shutdown {
    token: CancellationToken,
    /// Cancelled by [`Shutdown::finish`], after the service's main loop ended: what must
    /// answer while the service drains (the readiness probe saying "stopping") ends here.
    finishing: CancellationToken,
    tasks: TaskTracker,
}

impl Shutdown {
    /// A shutdown requested only by [`Shutdown::request`] (tests, embedded use).
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// A shutdown requested by SIGINT or SIGTERM, or by [`Shutdown::request`].
    pub fn on_signals() -> Shutdown {
        let shutdown = Shutdown::new();
        let token = shutdown.token.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = wait_for_signal() => {
                    tracing::info!("shutdown requested; finishing in-flight work");
                    token.cancel();
                }
                () = token.cancelled() => {}
            }
        });
        shutdown
    }

    /// Asks every task to stop.
    pub fn request(&self) {
        self.token.cancel();
    }

    /// Whether a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when a stop is requested.
    pub fn requested(&self) -> WaitForCancellationFutureOwned {
        self.token.clone().cancelled_owned()
    }

    /// Completes when [`Shutdown::finish`] is called: the main loop has ended.
    pub fn finishing(&self) -> WaitForCancellationFutureOwned {
        self.finishing.clone().cancelled_owned()
    }

    /// Runs `task` as one of the service's tasks: [`Shutdown::finish`] waits for it. The task
    /// must end by itself once [`Shutdown::requested`] completes.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task);
    }

    /// Runs `work` every `period` (first after one period) until a stop is requested; a round
    /// under way when the stop comes is finished, not cut.
    pub fn every<W, F>(&self, period: Duration, mut work: W)
    where
        W: FnMut() -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let token = self.token.clone();
        self.tasks.spawn(async move {
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    () = tokio::time::sleep(period) => work().await,
                }
            }
        });
    }

    /// Requests the stop (if nothing did yet) and waits up to `grace` for every task.
    /// Answers whether they all ended in time.
    pub async fn finish(self, grace: Duration) -> bool {
        self.token.cancel();
        self.finishing.cancel();
        self.tasks.close();
        match tokio::time::timeout(grace, self.tasks.wait()).await {
            Ok(()) => true,
            Err(_) => {
                tracing::warn!(
                    running = self.tasks.len(),
                    grace_seconds = grace.as_secs(),
                    "tasks still running after the shutdown grace; exiting without them"
                );
                false
            }
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_periodic_task_runs_until_the_stop_and_finish_waits_for_it() {
        let shutdown = Shutdown::new();
        let rounds = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&rounds);
        shutdown.every(Duration::from_secs(30), move || {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_secs(95)).await;
        assert_eq!(rounds.load(Ordering::SeqCst), 3);
        assert!(shutdown.clone().finish(GRACE).await);
        assert!(shutdown.is_requested());
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(rounds.load(Ordering::SeqCst), 3, "no round after the stop");
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ignores_the_stop_is_left_after_the_grace() {
        let shutdown = Shutdown::new();
        shutdown.spawn(std::future::pending());
        let stopping = shutdown.requested();
        shutdown.spawn(stopping);
        let started = tokio::time::Instant::now();
        assert!(!shutdown.finish(Duration::from_secs(2)).await);
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }
}
