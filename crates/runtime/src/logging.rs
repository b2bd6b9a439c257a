//! Structured logs: `RUST_LOG` filters (default `info`), `YIDI_LOG_FORMAT=json` for JSON lines.

use tracing_subscriber::EnvFilter;

pub fn init(service: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,librdkafka=warn,sqlx=warn"));
    let json = std::env::var("YIDI_LOG_FORMAT").is_ok_and(|format| format == "json");
    // Colours only on a terminal: a log file (scripts/network.sh) gets plain text.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(terminal);
    let result = if json { builder.json().try_init() } else { builder.try_init() };
    if result.is_ok() {
        tracing::info!(service, "starting");
    }
}
