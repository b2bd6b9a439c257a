//! Logs and traces of a service process.
//!
//! Logs: `tracing`, `RUST_LOG` filters (default `info`), `YIDI_LOG_FORMAT=json` for JSON lines.
//! Traces (issue #12 §1): when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans are
//! exported over OTLP/gRPC (`opentelemetry-otlp`, batched), named by `OTEL_SERVICE_NAME` or the
//! process's name, with the W3C trace-context propagator on Kafka headers
//! ([`yidi_bus::trace`]) and gRPC metadata; `tracing` spans (the gRPC server's) join them
//! through `tracing-opentelemetry`. Without the setting nothing is built: no provider, no
//! layer, no span.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The OpenTelemetry setting that turns exporting on.
pub const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// What must be flushed before the process ends.
#[must_use = "call shutdown() before the process ends, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still batched. Call it at the end of `main`.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            if let Err(error) = provider.shutdown() {
                tracing::warn!(%error, "trace export: the last spans may be lost");
            }
        }
    }
}

/// Installs logging, and tracing when [`OTLP_ENDPOINT`] is set. Call it inside the Tokio
/// runtime (the OTLP exporter's gRPC channel lives on it).
pub fn init(service: &str) -> Telemetry {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,librdkafka=warn,sqlx=warn"));
    let json = std::env::var("YIDI_LOG_FORMAT").is_ok_and(|format| format == "json");
    // Colours only on a terminal: a log file (scripts/network.sh) gets plain text.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let logs = tracing_subscriber::fmt::layer().with_target(false).with_ansi(terminal);
    // `RUST_LOG` filters the logs only: a span exported for a trace is kept however quiet the
    // log is.
    let logs = if json {
        logs.json().with_filter(filter).boxed()
    } else {
        logs.with_filter(filter).boxed()
    };
    let (provider, failed) = match std::env::var(OTLP_ENDPOINT) {
        Ok(endpoint) if !endpoint.is_empty() => match provider(service) {
            Ok(provider) => (Some(provider), None),
            Err(error) => (None, Some(error)),
        },
        _ => (None, None),
    };
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("yidi"))
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    let installed = tracing_subscriber::registry().with(logs).with(spans).try_init().is_ok();
    if installed {
        tracing::info!(service, tracing = provider.is_some(), "starting");
    }
    if let Some(error) = failed {
        tracing::error!(%error, "{OTLP_ENDPOINT} is set but spans cannot be exported; running without");
    }
    if let Some(provider) = &provider {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        opentelemetry::global::set_tracer_provider(provider.clone());
        yidi_bus::trace::enable();
    }
    Telemetry { provider }
}

/// The OTLP/gRPC exporter from the standard environment, batched.
fn provider(service: &str) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?;
    let name = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| service.to_owned());
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(name).build();
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

/// The span of a request a server handles — a gRPC call (tonic's `trace_fn`), a dashboard
/// request (the hub's `TraceLayer`): the child of the caller's W3C `traceparent` header or
/// metadata, if it sent one.
pub fn request_span<B>(request: &http::Request<B>) -> tracing::Span {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        http.method = %request.method(),
        path = %request.uri().path()
    );
    if yidi_bus::trace::enabled() {
        let carrier: std::collections::BTreeMap<String, String> = request
            .headers()
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("trace"))
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let _ = span.set_parent(yidi_bus::trace::parent_of(&carrier));
    }
    span
}

/// The `traceparent` of the current `tracing` span, for a message it sends (empty when
/// tracing is off).
pub fn current_traceparent() -> String {
    if !yidi_bus::trace::enabled() {
        return String::new();
    }
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    yidi_bus::trace::traceparent_of(&tracing::Span::current().context())
}
