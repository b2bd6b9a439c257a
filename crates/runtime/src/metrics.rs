//! A service's Prometheus endpoint (issue #12 §2, §4): `/metrics` (OpenMetrics text of the
//! process's registry) and `/ready` (what [`Readiness`] says), over plain HTTP on the
//! `metrics` address of its settings — a private interface, as the scrape config assumes.
//!
//! The registry holds the Kafka edge's families ([`yidi_bus::BusMetrics`]), the outbox's
//! depth and whatever the service adds; every metric is prefixed `yidi_`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::health::{Readiness, Ready};
use crate::outbox::Outbox;
use crate::shutdown::Shutdown;

/// The content type of the OpenMetrics text exposition, which Prometheus negotiates.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The registry of a process, filled at start and served read-only.
pub struct Exposition {
    registry: Registry,
}

impl Exposition {
    /// A registry with the Kafka edge's and the outbox's figures.
    pub fn new(bus: &yidi_bus::Bus, outbox: &Outbox) -> Exposition {
        let mut registry = Registry::with_prefix("yidi");
        bus.metrics().register(&mut registry);
        registry.register(
            "outbox_depth",
            "Messages committed in the outbox and not yet acknowledged by the broker",
            outbox.depth(),
        );
        Exposition { registry }
    }

    /// Where a service adds its own families.
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The exposition now, as `/metrics` serves it.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "metrics could not be encoded");
        }
        text
    }

    /// Serves `/metrics` and `/ready` on `address` until the service finishes (a scrape and a
    /// readiness probe still answer while it drains). No address, no endpoint.
    pub async fn serve(
        self,
        address: Option<SocketAddr>,
        readiness: Readiness,
        shutdown: &Shutdown,
    ) -> std::io::Result<()> {
        let Some(address) = address else { return Ok(()) };
        let listener = tokio::net::TcpListener::bind(address).await?;
        let exposition = Arc::new(self);
        let router = axum::Router::new()
            .route(
                "/metrics",
                axum::routing::get(move || {
                    let exposition = Arc::clone(&exposition);
                    async move { ([(header::CONTENT_TYPE, OPENMETRICS)], exposition.render()) }
                }),
            )
            .route("/ready", axum::routing::get(move || ready(readiness.clone())));
        tracing::info!(%address, "metrics at http://{address}/metrics");
        let stop = shutdown.finishing();
        shutdown.spawn(async move {
            if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
                tracing::error!(%error, "metrics endpoint stopped");
            }
        });
        Ok(())
    }
}

async fn ready(readiness: Readiness) -> impl IntoResponse {
    match readiness.now() {
        Ready::Serving => (StatusCode::OK, "serving\n"),
        Ready::Starting => (StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
        Ready::Stopping => (StatusCode::SERVICE_UNAVAILABLE, "stopping\n"),
    }
}

/// What a message came to, and why (`SETTLED`/`""`, `REJECTED`/`not_insured`, …).
#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
    pub reason: String,
}

/// Decisions counted by outcome and reason: bills answered, settlements decided. What was
/// counted can be listed ([`Outcomes::all`]), so a dashboard shows the registry's own figures.
#[derive(Clone, Debug, Default)]
pub struct Outcomes {
    family: Family<OutcomeLabel, Counter>,
    seen: Arc<std::sync::Mutex<std::collections::BTreeSet<(String, String)>>>,
}

impl Outcomes {
    /// Registers these counts as `yidi_<name>_total`.
    pub fn register(&self, registry: &mut Registry, name: &str, help: &str) {
        registry.register(name, help, self.family.clone());
    }

    /// Counts one settlement result by its status and reason.
    pub fn count(&self, result: &yidi_wire::v1::SettleResult) {
        self.count_status(result.status, &result.reason);
    }

    /// Counts a settlement status (`yidi.v1.SettleStatus`) and reason.
    pub fn count_status(&self, status: i32, reason: &str) {
        let outcome = yidi_wire::v1::SettleStatus::try_from(status)
            .map_or("UNKNOWN", |status| status.as_str_name());
        self.count_named(outcome, reason);
    }

    /// Counts an outcome named as the wire names it (`SETTLED`, `REJECTED`).
    pub fn count_named(&self, outcome: &str, reason: &str) {
        let label = OutcomeLabel { outcome: outcome.to_owned(), reason: reason.to_owned() };
        if self.family.get(&label).is_none() {
            if let Ok(mut seen) = self.seen.lock() {
                seen.insert((label.outcome.clone(), label.reason.clone()));
            }
        }
        self.family.get_or_create(&label).inc();
    }

    /// Every outcome and reason counted, with its count.
    pub fn all(&self) -> Vec<(OutcomeLabel, u64)> {
        let seen = self.seen.lock().map(|seen| seen.clone()).unwrap_or_default();
        seen.into_iter()
            .map(|(outcome, reason)| {
                let count = self.get(&outcome, &reason);
                (OutcomeLabel { outcome, reason }, count)
            })
            .collect()
    }

    /// How many were counted with `outcome` and `reason`.
    pub fn get(&self, outcome: &str, reason: &str) -> u64 {
        let label = OutcomeLabel { outcome: outcome.to_owned(), reason: reason.to_owned() };
        self.family.get(&label).map_or(0, |counter| counter.get())
    }
}

/// How long messages take from one point to another of a process (a bill sent on → its
/// result back), by msgid. Bounded: past [`STOPWATCH_MAX`] entries those started more than
/// [`STOPWATCH_FORGET`] ago are forgotten (their answer went elsewhere or never came).
#[derive(Clone, Debug)]
pub struct Stopwatch {
    started: Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>>,
    seconds: Histogram,
}

/// The most messages a [`Stopwatch`] times at once.
pub const STOPWATCH_MAX: usize = 100_000;

/// A message not answered within this is no longer timed.
pub const STOPWATCH_FORGET: std::time::Duration = std::time::Duration::from_secs(120);

impl Default for Stopwatch {
    fn default() -> Stopwatch {
        Stopwatch { started: Arc::default(), seconds: yidi_bus::metrics::latency_histogram() }
    }
}

impl Stopwatch {
    pub fn register(&self, registry: &mut Registry, name: &str, help: &str) {
        registry.register_with_unit(
            name,
            help,
            prometheus_client::registry::Unit::Seconds,
            self.seconds.clone(),
        );
    }

    pub fn start(&self, msgid: &str) {
        let Ok(mut started) = self.started.lock() else { return };
        let now = std::time::Instant::now();
        if started.len() >= STOPWATCH_MAX {
            started.retain(|_, at| now.duration_since(*at) < STOPWATCH_FORGET);
        }
        if started.len() < STOPWATCH_MAX {
            started.entry(msgid.to_owned()).or_insert(now);
        }
    }

    /// Observes the time since `msgid` started, if it was timed, and returns it.
    pub fn stop(&self, msgid: &str) -> Option<std::time::Duration> {
        let at = self.started.lock().ok().and_then(|mut started| started.remove(msgid))?;
        let took = at.elapsed();
        self.seconds.observe(took.as_secs_f64());
        Some(took)
    }

    /// How long `msgid` has been timed, while it has not stopped.
    pub fn since(&self, msgid: &str) -> Option<std::time::Duration> {
        let started = self.started.lock().ok()?;
        started.get(msgid).map(std::time::Instant::elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted_by_status_and_reason() {
        let outcomes = Outcomes::default();
        let result =
            |status: yidi_wire::v1::SettleStatus, reason: &str| yidi_wire::v1::SettleResult {
                status: i32::from(status),
                reason: reason.to_owned(),
                ..Default::default()
            };
        outcomes.count(&result(yidi_wire::v1::SettleStatus::Settled, ""));
        outcomes.count(&result(yidi_wire::v1::SettleStatus::Rejected, "not_insured"));
        outcomes.count(&result(yidi_wire::v1::SettleStatus::Rejected, "not_insured"));
        assert_eq!(outcomes.get("SETTLED", ""), 1);
        assert_eq!(outcomes.get("REJECTED", "not_insured"), 2);
        let all: Vec<_> =
            outcomes.all().into_iter().map(|(l, n)| (l.outcome, l.reason, n)).collect();
        assert_eq!(
            all,
            [("REJECTED".into(), "not_insured".into(), 2), ("SETTLED".into(), String::new(), 1)]
        );
        let mut registry = Registry::with_prefix("yidi");
        outcomes.register(&mut registry, "bills", "Bills answered");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("yidi_bills_total{outcome=\"REJECTED\",reason=\"not_insured\"} 2"),
            "{text}"
        );
    }

    #[test]
    fn a_stopwatch_times_only_what_it_started_and_stays_bounded() {
        let stopwatch = Stopwatch::default();
        stopwatch.start("a");
        assert!(stopwatch.since("a").is_some());
        assert!(stopwatch.stop("a").is_some());
        assert_eq!(stopwatch.stop("never-started"), None);
        assert_eq!(stopwatch.stop("a"), None);
        let mut registry = Registry::default();
        stopwatch.register(&mut registry, "settlement", "");
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("settlement_seconds_count 1\n"), "{text}");
        for index in 0..STOPWATCH_MAX + 10 {
            stopwatch.start(&index.to_string());
        }
        assert!(stopwatch.started.lock().unwrap().len() <= STOPWATCH_MAX);
    }
}
