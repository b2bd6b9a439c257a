//! The outbox relay: sends what services queued in their transactions (`yidi_store::outbox`),
//! in order, and removes each message once the broker has it.
//!
//! One relay per process. It waits to be woken after a commit that queued something, and
//! looks anyway every [`IDLE_LOOK`], so a message queued before a crash goes out on restart.
//! A failure to read the store or reach the broker is waited out (capped backoff); a message
//! the broker can never take is dead-lettered with its reason, so it never blocks the rest.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::Notify;
use tracing::{error, warn};
use yidi_bus::{Bus, Incoming, Outgoing};
use yidi_store::outbox::{self, Parcel};
use yidi_store::{Store, StoreError, Tx};

/// The most messages sent in one round.
const ROUND_MAX: i64 = 256;

/// How often an idle relay looks at the table.
const IDLE_LOOK: Duration = Duration::from_secs(1);

/// The longest wait after a failure.
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// A service's outbox: queue in a transaction, wake after the commit.
#[derive(Clone)]
pub struct Outbox {
    store: Store,
    bus: Bus,
    wake: Arc<Notify>,
    /// Messages waiting, as of the relay's last round (a metric).
    depth: Gauge,
}

impl Outbox {
    pub fn new(store: Store, bus: Bus) -> Outbox {
        Outbox { store, bus, wake: Arc::new(Notify::new()), depth: Gauge::default() }
    }

    /// Messages committed and not yet acknowledged by the broker, as of the last round.
    pub fn depth(&self) -> Gauge {
        self.depth.clone()
    }

    /// Queues `message` inside `tx`; call [`Outbox::wake`] after the commit.
    pub async fn put(tx: &mut Tx, message: &Outgoing, at: &str) -> Result<(), StoreError> {
        outbox::put(tx, &message.topic, &message.key, &message.headers, &message.payload, at).await
    }

    /// Tells the relay something was committed.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sends queued messages until `stop` completes.
    pub async fn relay(&self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let mut backoff = Duration::from_millis(100);
        loop {
            let pause = match self.round().await {
                Ok(0) => IDLE_LOOK,
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    Duration::ZERO
                }
                Err(error) => {
                    warn!(%error, retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX), "outbox relay: will try again");
                    let pause = backoff;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    pause
                }
            };
            if pause.is_zero() {
                continue;
            }
            tokio::select! {
                () = &mut stop => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Sends the oldest waiting messages; how many went out (or were dead-lettered).
    async fn round(&self) -> Result<usize, String> {
        let parcels =
            outbox::oldest(self.store.pool(), ROUND_MAX).await.map_err(|e| e.to_string())?;
        // A round that read fewer than it may knows the table held no more; a full round
        // counts what is left.
        let read = i64::try_from(parcels.len()).unwrap_or(i64::MAX);
        if parcels.is_empty() {
            self.depth.set(0);
            return Ok(0);
        }
        let messages: Vec<Outgoing> = parcels.iter().map(message).collect();
        let results = self.bus.send_each(messages.iter()).await;
        // In order: stop at the first failure that may pass, so nothing overtakes it.
        let mut done = Vec::new();
        let mut letters = Vec::new();
        let mut failed = None;
        for (parcel, result) in parcels.iter().zip(results) {
            match result {
                Ok(()) => done.push(parcel.id),
                Err(error) => match error.permanent() {
                    Some(code) => {
                        error!(id = parcel.id, topic = %parcel.topic, code, %error, "outbox message refused by the broker; dead-lettered");
                        letters.push(self.bus.dead_letter(
                            &as_incoming(parcel),
                            code,
                            &error.to_string(),
                        ));
                        done.push(parcel.id);
                    }
                    None => {
                        failed = Some(error.to_string());
                        break;
                    }
                },
            }
        }
        if !letters.is_empty() {
            self.bus.send_all(&letters).await.map_err(|e| e.to_string())?;
        }
        outbox::remove(self.store.pool(), &done).await.map_err(|e| e.to_string())?;
        let sent = i64::try_from(done.len()).unwrap_or(i64::MAX);
        if read < ROUND_MAX {
            self.depth.set(read - sent);
        } else if let Ok(waiting) = outbox::waiting(self.store.pool()).await {
            self.depth.set(waiting);
        }
        match failed {
            Some(error) => Err(error),
            None => Ok(done.len()),
        }
    }
}

fn message(parcel: &Parcel) -> Outgoing {
    Outgoing {
        topic: parcel.topic.clone(),
        key: parcel.key.clone(),
        headers: parcel.headers.clone(),
        payload: parcel.payload.clone(),
    }
}

/// Where a dead-lettered outbox message came from: the outbox, at its id.
fn as_incoming(parcel: &Parcel) -> Incoming {
    Incoming {
        topic: format!("outbox:{}", parcel.topic),
        partition: -1,
        offset: parcel.id,
        key: Some(parcel.key.clone()),
        headers: parcel.headers.iter().cloned().collect::<BTreeMap<_, _>>(),
        payload: parcel.payload.clone(),
        signer: yidi_bus::Signer::Unchecked,
    }
}
