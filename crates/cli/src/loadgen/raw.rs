//! The broker alone, measured in the same run as the network: the produce → consume round trip
//! of one 1 KB message at a time, and the highest produce → consume rate on one topic.

// Timing figures for display are floats.
#![allow(clippy::float_arithmetic)]

use std::time::{Duration, Instant};

use crate::broker::Broker;
use anyhow::{anyhow, Context};
use hdrhistogram::Histogram;
use rdkafka::message::Message;
use rdkafka::producer::FutureRecord;
use yidi_bus::topics;

use super::{assigned, consumer, histogram, micros, millis, producer};

/// Messages of the bulk rate run: enough for a steady rate, few enough for a benchmark.
const BULK_MESSAGES: u32 = 20_000;

/// How long either measurement may wait for one message before it gives up.
const MESSAGE_WAIT: Duration = Duration::from_secs(10);

/// Measures and prints the broker's figures; a bulk run the broker cannot finish is reported
/// as such (tansu as published cannot keep up with it), not as a failure of the whole run.
pub async fn measure(broker: &Broker, round_trips: u32) -> anyhow::Result<()> {
    let hist = round_trip(broker, round_trips).await?;
    println!(
        "raw broker: round trip (produce → consume, 1 KB, {round_trips} one at a time) p50 {:.1} ms, p99 {:.1} ms",
        millis(hist.value_at_quantile(0.5)),
        millis(hist.value_at_quantile(0.99)),
    );
    match bulk_rate(broker).await {
        Ok(rate) => {
            println!(
                "raw broker: bulk produce → consume on one topic {rate:.0} messages/s ({BULK_MESSAGES} × 1 KB)"
            );
            // A settlement is six produces and six consumes (HIS → exchange → hub → agency →
            // hub → exchange → HIS), so the broker alone bounds the network at a sixth of this.
            println!(
                "  the broker's own ceiling for six hops a settlement: about {:.0} settlements/s",
                rate / 6.0
            );
        }
        Err(error) => println!("raw broker: bulk produce → consume did not complete: {error:#}"),
    }
    Ok(())
}

async fn fresh_topic(broker: &Broker, purpose: &str) -> anyhow::Result<String> {
    let topic = format!("bench.{purpose}.{}", chrono::Utc::now().timestamp_millis());
    topics::ensure_with(broker.client()?, std::slice::from_ref(&topic), topics::Layout::default())
        .await?;
    Ok(topic)
}

/// One message at a time, 20 a second: the latency of a hop with nothing queued.
async fn round_trip(broker: &Broker, count: u32) -> anyhow::Result<Histogram<u64>> {
    let topic = fresh_topic(broker, "roundtrip").await?;
    let group = format!("roundtrip-{}", std::process::id());
    let consumer = consumer(broker, &group, std::slice::from_ref(&topic))?;
    assigned(&consumer, 1).await?;
    let producer = producer(broker)?;
    let payload = vec![b'x'; 1024];
    let mut latencies = histogram();
    for number in 0..count {
        let key = number.to_string();
        let sent = Instant::now();
        producer
            .send(FutureRecord::to(&topic).key(&key).payload(&payload), MESSAGE_WAIT)
            .await
            .map_err(|(e, _)| anyhow!("round trip: {e}"))?;
        loop {
            let message = tokio::time::timeout(MESSAGE_WAIT, consumer.recv())
                .await
                .context("round trip: no message in 10 s")??;
            if message.key() == Some(key.as_bytes()) {
                break;
            }
        }
        latencies.saturating_record(micros(sent.elapsed()));
        tokio::time::sleep(Duration::from_millis(50).saturating_sub(sent.elapsed())).await;
    }
    Ok(latencies)
}

/// [`BULK_MESSAGES`] of 1 KB produced as fast as the broker takes them while one consumer
/// reads: messages per second from the first send to the last receipt.
async fn bulk_rate(broker: &Broker) -> anyhow::Result<f64> {
    let topic = fresh_topic(broker, "bulk").await?;
    let group = format!("bulk-{}", std::process::id());
    let consumer = consumer(broker, &group, std::slice::from_ref(&topic))?;
    assigned(&consumer, 1).await?;
    let producer = producer(broker)?;
    let started = Instant::now();
    let reader = tokio::spawn(async move {
        for _ in 0..BULK_MESSAGES {
            tokio::time::timeout(MESSAGE_WAIT, consumer.recv())
                .await
                .context("bulk: no message in 10 s")?
                .context("bulk: receiving")?;
        }
        anyhow::Ok(())
    });
    let payload = vec![b'x'; 1024];
    let mut deliveries = Vec::with_capacity(usize::try_from(BULK_MESSAGES).unwrap_or(0));
    for number in 0..BULK_MESSAGES {
        let key = number.to_string();
        let record = FutureRecord::to(&topic).key(&key).payload(&payload);
        match producer.send_result(record) {
            Ok(delivery) => deliveries.push(delivery),
            Err((error, _)) => return Err(anyhow!("bulk: {error}")),
        }
    }
    for delivery in deliveries {
        delivery
            .await
            .map_err(|_| anyhow!("bulk: delivery cancelled"))?
            .map_err(|(e, _)| anyhow!("bulk: {e}"))?;
    }
    reader.await.context("bulk: reader")??;
    Ok(f64::from(BULK_MESSAGES) / started.elapsed().as_secs_f64())
}
