//! Live settlement figures for the dashboard: rate, latency through the hub (request routed →
//! result back) and rejections by reason, over a sliding window.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Inner {
    /// (when, latency in ms if known, status, reason)
    recent: VecDeque<(Instant, Option<u64>, &'static str, String)>,
}

/// The window's figures, and the registry's: the results since start (`yidi_results_total`
/// of the hub) and the time from a request routed to its result back (`yidi_round_trip_seconds`,
/// whose stopwatch forgets a request unanswered for two minutes), so the panel and `/metrics`
/// say the same.
#[derive(Default)]
pub struct Live {
    window: Mutex<Inner>,
    pub results: yidi_runtime::metrics::Outcomes,
    pub round_trip: yidi_runtime::metrics::Stopwatch,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
    pub window_seconds: u64,
    /// The hub's messages now waiting out a transient fault (database, broker), and how many
    /// of them have failed past the alarm (`yidi dlq park` can set them aside).
    pub retrying: usize,
    pub alarmed: usize,
    /// Results per second over the window.
    pub rate: String,
    pub results_in_window: usize,
    pub latency_p50_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
    /// Since the hub started.
    pub results: u64,
    pub settled: u64,
    pub rejections: BTreeMap<String, u64>,
}

impl Live {
    pub fn requested(&self, msgid: &str) {
        self.round_trip.start(msgid);
    }

    pub fn answered(&self, msgid: &str, status: &'static str, reason: &str) {
        self.results.count_named(status, reason);
        let latency = self
            .round_trip
            .stop(msgid)
            .map(|took| u64::try_from(took.as_millis()).unwrap_or(u64::MAX));
        if let Ok(mut inner) = self.window.lock() {
            let now = Instant::now();
            inner.recent.push_back((now, latency, status, reason.to_owned()));
            while inner.recent.front().is_some_and(|(at, ..)| now.duration_since(*at) > WINDOW) {
                inner.recent.pop_front();
            }
        }
    }

    /// How long ago the hub routed `msgid` to its agency, while no result has come back.
    pub fn in_flight(&self, msgid: &str) -> Option<Duration> {
        self.round_trip.since(msgid)
    }

    pub fn snapshot(&self) -> Snapshot {
        let Ok(inner) = self.window.lock() else { return Snapshot::default() };
        let (mut results, mut settled, mut rejections) = (0, 0, BTreeMap::new());
        for (label, count) in self.results.all() {
            results += count;
            match label.outcome.as_str() {
                "SETTLED" => settled += count,
                "REJECTED" => *rejections.entry(label.reason).or_default() += count,
                _ => {}
            }
        }
        let now = Instant::now();
        let recent: Vec<_> =
            inner.recent.iter().filter(|(at, ..)| now.duration_since(*at) <= WINDOW).collect();
        // The percentile of the load generator's too: an HDR histogram (exact below 2 s).
        let mut latencies = hdrhistogram::Histogram::<u64>::new(3).ok();
        for latency in recent.iter().filter_map(|(_, l, ..)| *l) {
            if let Some(histogram) = latencies.as_mut() {
                histogram.saturating_record(latency);
            }
        }
        let pick = |quantile: f64| {
            latencies.as_ref().filter(|h| !h.is_empty()).map(|h| h.value_at_quantile(quantile))
        };
        let count = recent.len();
        let rate =
            rust_decimal::Decimal::from(count) / rust_decimal::Decimal::from(WINDOW.as_secs());
        Snapshot {
            window_seconds: WINDOW.as_secs(),
            rate: rate.round_dp(2).to_string(),
            results_in_window: count,
            latency_p50_ms: pick(0.5),
            latency_p99_ms: pick(0.99),
            results,
            settled,
            rejections,
            ..Snapshot::default()
        }
    }
}
