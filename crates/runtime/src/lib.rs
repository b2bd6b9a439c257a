//! What every yidi service binary shares.
//!
//! # Layout
//! - [`clock`]: the business clock (China time unless the settings say otherwise).
//! - [`config`]: a typed config file with `YIDI_<KEY>` environment overrides.
//! - [`lease`]: one writer per role: take the lease at start, renew it while running.
//! - [`outbox`]: the relay that sends what a service queued in its transactions.
//! - [`telemetry`]: structured `tracing` logs, text or JSON, and OTLP trace export.
//! - [`shutdown`]: SIGINT/SIGTERM as a future.
//! - [`health`]: gRPC health (readiness) and reflection, so `grpcurl` works.
//! - [`metrics`]: the Prometheus endpoint: `/metrics` and `/ready`.
//! - [`mask`]: personal numbers masked for logs.

pub mod clock;
pub mod config;
pub mod health;
pub mod lease;
pub mod metrics;
pub mod outbox;
pub mod settings;
pub mod shutdown;
pub mod telemetry;

/// Masks a personal number for logs: the first four and last two characters stay.
pub fn mask(psn_no: &str) -> String {
    let chars: Vec<char> = psn_no.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 6))
}

/// Why an operator parked `incoming` (`yidi dlq park`), if they did: what a service's
/// `LaneHandler::parked` answers. A store that cannot be read answers no.
pub async fn parked(store: &yidi_store::Store, incoming: &yidi_bus::Incoming) -> Option<String> {
    let at = yidi_store::parked::At {
        topic: &incoming.topic,
        partition: incoming.partition,
        offset: incoming.offset,
    };
    yidi_store::parked::find(store.pool(), at).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    #[test]
    fn personal_numbers_are_masked_in_logs() {
        assert_eq!(super::mask("12000019800101001X"), "1200************1X");
        assert_eq!(super::mask("123"), "***");
    }
}
