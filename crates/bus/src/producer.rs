//! An idempotent producer whose sends are awaited, with one polling thread that costs nothing
//! while the service is idle.
//!
//! Why not rdkafka's `FutureProducer`: its polling thread waits on librdkafka's queue in 100 ms
//! windows, and rdkafka rounds what is left of each window down to whole milliseconds, so the
//! last fraction of a millisecond becomes a zero timeout and the thread spins on the clock until
//! the window ends — ten times a second. `perf` put 93 % of an idle service's CPU there (about
//! 1 % of a core per process). This poller waits in one-second windows, so whatever is left of
//! that spin happens once a second.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext};
use rdkafka::ClientContext;
use tokio::sync::oneshot;

/// How long the poller blocks on librdkafka's queue before it looks at the stop flag.
const POLL_WINDOW: Duration = Duration::from_secs(1);

/// How long a send waits for room in librdkafka's queue before it gives up.
const QUEUE_FULL_WAIT: Duration = Duration::from_millis(10);

type Ack = oneshot::Sender<Result<(), KafkaError>>;

/// Routes each delivery report to the send that waits for it.
pub struct Acks;

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = Box<Ack>;

    fn delivery(&self, result: &DeliveryResult<'_>, ack: Box<Ack>) {
        // The waiting send may have given up already; nothing is owed to it then.
        let _ = ack.send(result.as_ref().map(|_| ()).map_err(|(error, _)| error.clone()));
    }
}

/// A record for [`AckingProducer::send`].
pub struct Record<'a> {
    pub topic: &'a str,
    pub key: &'a str,
    pub payload: &'a [u8],
    pub headers: OwnedHeaders,
}

pub struct AckingProducer {
    inner: Arc<BaseProducer<Acks>>,
    stop: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
}

impl AckingProducer {
    pub fn create(config: &ClientConfig) -> Result<AckingProducer, KafkaError> {
        let inner: Arc<BaseProducer<Acks>> = Arc::new(config.create_with_context(Acks)?);
        let stop = Arc::new(AtomicBool::new(false));
        let poller = {
            let (inner, stop) = (Arc::clone(&inner), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("yidi producer poller".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        inner.poll(POLL_WINDOW);
                    }
                })
                .map_err(|error| KafkaError::ClientCreation(error.to_string()))?
        };
        Ok(AckingProducer { inner, stop, poller: Some(poller) })
    }

    /// Queues `record`; the answer resolves when the broker has acknowledged it, or failed.
    /// A full queue is waited out for at most `timeout`.
    pub async fn send(
        &self,
        record: Record<'_>,
        timeout: Duration,
    ) -> oneshot::Receiver<Result<(), KafkaError>> {
        let deadline = Instant::now() + timeout;
        let (ack, answer) = oneshot::channel();
        let mut pending = BaseRecord::with_opaque_to(record.topic, Box::new(ack))
            .key(record.key)
            .payload(record.payload)
            .headers(record.headers);
        loop {
            match self.inner.send(pending) {
                Ok(()) => return answer,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if Instant::now() < deadline =>
                {
                    pending = back;
                    tokio::time::sleep(QUEUE_FULL_WAIT).await;
                }
                Err((error, back)) => {
                    let _ = back.delivery_opaque.send(Err(error));
                    return answer;
                }
            }
        }
    }
}

impl Drop for AckingProducer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Whatever was queued gets its chance to be delivered before the client goes away.
        let _ = self.inner.flush(Duration::from_secs(5));
        if let Some(poller) = self.poller.take() {
            let _ = poller.join();
        }
    }
}
