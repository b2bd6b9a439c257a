//! One span per message per hop (issue #12 §1), exported over OTLP when the process turned
//! tracing on ([`enable`], by `yidi_runtime::telemetry` when `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set); nothing is built otherwise.
//!
//! A consumed message's span (`consume <topic>`) is the child of the W3C `traceparent` it
//! carries, and every reply it causes carries the span's own context on, so one bill is one
//! trace: HIS → exchange → hub → agency → hub → exchange → HIS. Its children say where the
//! time went: `decide` (the lane decided and persisted in one transaction) and `produce` (the
//! replies sent and acknowledged). The times are the batch's, as the runtime handles a batch
//! together. Attributes: topic, partition, offset, `msgid`, `mdtrt_id`, the sending and
//! receiving regions and the outcome — never a person's number.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{global, Context, KeyValue};
use yidi_wire::headers;

use crate::message::{Incoming, Outgoing};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// The tracer's name in the exported spans' scope.
const TRACER: &str = "yidi";

/// Turns spans on for this process (its tracer provider and W3C propagator are installed).
pub fn enable() {
    ENABLED.store(true, Ordering::Release);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// The headers of a message as the propagator reads them.
struct Reading<'h>(&'h std::collections::BTreeMap<String, String>);

impl Extractor for Reading<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// What the propagator writes (`traceparent`, `tracestate`).
#[derive(Default)]
struct Writing(Vec<(String, String)>);

impl Injector for Writing {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

/// The W3C headers of `context`.
pub fn headers_of(context: &Context) -> Vec<(String, String)> {
    let mut writing = Writing::default();
    global::get_text_map_propagator(|propagator| propagator.inject_context(context, &mut writing));
    writing.0
}

/// The `traceparent` of `context` (empty when it has no valid span).
pub fn traceparent_of(context: &Context) -> String {
    headers_of(context)
        .into_iter()
        .find(|(key, _)| key == headers::TRACEPARENT)
        .map(|(_, value)| value)
        .unwrap_or_default()
}

/// The context a W3C `traceparent` (and `tracestate`) names: a remote parent.
pub fn parent_of(carrier: &std::collections::BTreeMap<String, String>) -> Context {
    global::get_text_map_propagator(|propagator| propagator.extract(&Reading(carrier)))
}

/// Where a message was read: its key among a batch's hops.
type At = (String, i32, i64);

fn at(incoming: &Incoming) -> At {
    (incoming.topic.clone(), incoming.partition, incoming.offset)
}

/// The spans of a batch's messages, by where they were read. Empty when tracing is off.
#[derive(Default)]
pub(crate) struct Hops {
    spans: HashMap<At, Context>,
    /// The messages dead-lettered.
    rejected: std::collections::HashSet<At>,
    arrived: Option<SystemTime>,
    decided: Option<SystemTime>,
}

impl Hops {
    /// Opens a span for each message of `batch`, read at `arrived`.
    pub(crate) fn open(batch: &[Incoming], arrived: SystemTime) -> Hops {
        if !enabled() {
            return Hops::default();
        }
        let tracer = global::tracer(TRACER);
        let spans = batch
            .iter()
            .map(|incoming| {
                let parent = parent_of(&incoming.headers);
                let span = tracer
                    .span_builder(format!("consume {}", incoming.topic))
                    .with_kind(SpanKind::Consumer)
                    .with_start_time(arrived)
                    .with_attributes(attributes(incoming))
                    .start_with_context(&tracer, &parent);
                (at(incoming), parent.with_span(span))
            })
            .collect();
        Hops { spans, arrived: Some(arrived), ..Hops::default() }
    }

    /// The batch is decided and persisted.
    pub(crate) fn decided(&mut self) {
        if !self.spans.is_empty() {
            self.decided = Some(SystemTime::now());
        }
    }

    /// Gives `reply` to `cause` the context of `cause`'s span: the next hop is its child.
    pub(crate) fn carry(&mut self, cause: &Incoming, reply: &mut Outgoing) {
        if self.spans.is_empty() {
            return;
        }
        let Some(context) = self.spans.get(&at(cause)) else { return };
        for (name, value) in headers_of(context) {
            reply.headers.retain(|(key, _)| *key != name);
            reply.headers.push((name, value));
        }
        if reply.topic == crate::topics::DEAD_LETTER {
            let code = reply.headers.iter().find(|(key, _)| key == crate::client::REASON_CODE);
            let code = code.map_or("DEAD_LETTER", |(_, value)| value.as_str()).to_owned();
            let span = context.span();
            span.set_attribute(KeyValue::new("yidi.outcome", code.clone()));
            span.set_status(Status::error(code));
            self.rejected.insert(at(cause));
        }
    }

    /// The replies are acknowledged: each span ends, with its `decide` and `produce` children.
    pub(crate) fn delivered(self) {
        let (Some(arrived), Some(decided)) = (self.arrived, self.decided) else { return };
        let delivered = SystemTime::now();
        let tracer = global::tracer(TRACER);
        for (at, context) in &self.spans {
            if !self.rejected.contains(at) {
                context.span().set_attribute(KeyValue::new("yidi.outcome", "decided"));
            }
            for (name, from, to) in [("decide", arrived, decided), ("produce", decided, delivered)]
            {
                let child = tracer
                    .span_builder(name)
                    .with_kind(SpanKind::Internal)
                    .with_start_time(from)
                    .start_with_context(&tracer, context);
                let child = Context::new().with_span(child);
                child.span().end_with_timestamp(to);
            }
            context.span().end_with_timestamp(delivered);
        }
    }
}

/// What a message's span says of it: where it was read and which bill it is about.
fn attributes(incoming: &Incoming) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new("messaging.system", "kafka"),
        KeyValue::new("messaging.destination.name", incoming.topic.clone()),
        KeyValue::new("messaging.kafka.partition", i64::from(incoming.partition)),
        KeyValue::new("messaging.kafka.offset", incoming.offset),
    ];
    for (header, key) in [
        (headers::MSGID, "yidi.msgid"),
        (headers::MDTRT_ID, "yidi.mdtrt_id"),
        (headers::SENDER, "yidi.sender_region"),
        (headers::RECEIVER, "yidi.receiver_region"),
    ] {
        if let Some(value) = incoming.header(header) {
            attributes.push(KeyValue::new(key, value.to_owned()));
        }
    }
    attributes
}
