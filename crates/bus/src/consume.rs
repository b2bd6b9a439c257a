//! The consumer loop: batches split into lanes, group commit, failures by kind, replies
//! delivered, offsets stored.
//!
//! A rejected message is dead-lettered at once and the lane goes on. A transient failure is
//! waited out with capped backoff for as long as it takes: the message's partition waits (later
//! messages of the lane are not handled before it), the other lanes go on, and past
//! [`ALARM_AFTER`] the operator is told and may park it. Shutdown interrupts a wait: what was
//! handled is delivered and its offsets stored; the rest is read again on the next start.

use std::future::Future;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::client::{Bus, BusError, Health};
use crate::failure::{LaneAnswer, Rejection, Transient, Verdict};
use crate::message::{Incoming, Outgoing};
use crate::metrics::LagContext;
use crate::topics;
use crate::trace::Hops;

/// The most messages handled between two offset stores. Handling stays in order within each
/// partition; only the replies' acknowledgements are awaited together, so a hop costs one
/// broker round trip per batch rather than per message.
const BATCH_MAX: usize = 256;

/// The first wait after a transient failure; each later wait doubles, up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_millis(50);

/// The longest wait between two attempts: a database back after an outage is noticed within
/// this.
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// A message failing for longer than this is flagged to the operator (an error in the log,
/// [`Health::alarmed`]); from then on the runtime asks whether it was parked (`yidi dlq park`).
pub const ALARM_AFTER: Duration = Duration::from_secs(120);

/// A service's decisions over a lane: the messages of one topic partition, in order. Plain
/// over plain data, so a test calls it in-process without a broker.
pub trait LaneHandler {
    /// Decides `lane` in order and makes the effects of all of it durable together (one
    /// database transaction), or none of them. A rejected message must have written nothing.
    fn handle<'a>(&'a self, lane: &'a [Incoming]) -> impl Future<Output = LaneAnswer> + 'a;

    /// Whether an operator has parked `incoming`, and why: a person's decision to stop waiting
    /// for a message that keeps failing. Asked before each retry once the alarm is raised.
    fn parked<'a>(&'a self, _incoming: &'a Incoming) -> impl Future<Output = Option<String>> + 'a {
        std::future::ready(None)
    }
}

/// A subscribed consumer.
pub struct Consumer {
    inner: StreamConsumer<LagContext>,
    group: String,
    /// Topics this consumer only follows (another service owns them and dead-letters what it
    /// refuses): a message refused at the door here is skipped, not dead-lettered again.
    followed: std::collections::HashSet<String>,
    /// Whether partitions are shared with other processes of the role
    /// ([`crate::client::Membership::Group`]): one may be taken away mid-batch.
    in_group: bool,
}

impl Consumer {
    pub(crate) fn new(inner: StreamConsumer<LagContext>, group: &str) -> Consumer {
        Consumer {
            inner,
            group: group.to_owned(),
            followed: std::collections::HashSet::new(),
            in_group: false,
        }
    }

    pub(crate) fn in_group(mut self) -> Consumer {
        self.in_group = true;
        self
    }

    /// Marks `topics` as followed: what the bus refuses on them (unsigned, forged, not
    /// allowed) is logged and skipped, since the topic's owner dead-letters it once. The
    /// handler decides the same for what it refuses on them.
    #[must_use]
    pub fn following(mut self, topics: &[String]) -> Consumer {
        self.followed.extend(topics.iter().cloned());
        self
    }

    /// Handles messages until `shutdown` completes, then commits the stored offsets. A batch is
    /// what the client has already fetched (up to [`BATCH_MAX`]); it is split into lanes, one
    /// per topic partition, handled concurrently. A lane goes to `handler` whole: it decides
    /// the messages in order and persists them in one transaction (group commit). The replies
    /// of the whole batch are then sent together and acknowledged; only then are the offsets
    /// of the handled messages stored. A crash anywhere replays, and the handlers' inboxes make
    /// replays harmless.
    pub async fn run<H>(self, bus: &Bus, shutdown: impl Future<Output = ()>, handler: &H)
    where
        H: LaneHandler,
    {
        let stop = CancellationToken::new();
        let signal = async {
            shutdown.await;
            stop.cancel();
        };
        tokio::join!(signal, self.consume(bus, &stop, handler));
        if let Err(error) = self.inner.commit_consumer_state(CommitMode::Sync) {
            warn!(%error, "final offset commit failed; the next start replays from the last commit");
        }
        info!(group = %self.group, "stopped consuming");
    }

    async fn consume<H>(&self, bus: &Bus, stop: &CancellationToken, handler: &H)
    where
        H: LaneHandler,
    {
        info!(group = %self.group, "consuming");
        loop {
            let first = tokio::select! {
                () = stop.cancelled() => return,
                message = self.inner.recv() => message.map(|m| Incoming::from_kafka(&m)),
            };
            let first = match first {
                Ok(incoming) => incoming,
                Err(error) => {
                    warn!(%error, "receive failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let mut batch = vec![first];
            while batch.len() < BATCH_MAX {
                match tokio::time::timeout(Duration::ZERO, self.inner.recv()).await {
                    Ok(Ok(message)) => batch.push(Incoming::from_kafka(&message)),
                    _ => break,
                }
            }
            let size = batch.len();
            let arrived = Instant::now();
            let mut hops = Hops::open(&batch, std::time::SystemTime::now());
            for incoming in &batch {
                bus.metrics().consumed(&incoming.topic);
            }
            let (mut admitted, refused) = admit(bus, batch, chrono::Utc::now());
            let mut handled = handle_batch(bus, &mut admitted, handler, stop).await;
            for (incoming, error) in &refused {
                if self.followed.contains(&incoming.topic) {
                    warn!(topic = %incoming.topic, offset = incoming.offset, %error,
                          "refused on a followed topic: skipped (its owner dead-letters it)");
                    handled.add(bus, incoming, Ok(Vec::new()));
                } else {
                    handled.add(bus, incoming, Err(error.clone().into()));
                }
            }
            hops.decided();
            let Handled { mut replies, mut done } = handled;
            for reply in &mut replies {
                hops.carry(reply.cause, &mut reply.message);
            }
            // A partition's offsets are stored in its order, refused messages among the rest.
            done.sort_by(|a, b| {
                (a.topic.as_str(), a.partition, a.offset).cmp(&(
                    b.topic.as_str(),
                    b.partition,
                    b.offset,
                ))
            });
            if !deliver(bus, replies, stop).await {
                // Stopped before the broker had every reply: nothing of the batch is marked
                // consumed, and all of it is read again (the inboxes answer repeats).
                return;
            }
            hops.delivered();
            self.store_offsets(bus, &done, arrived.elapsed());
            if done.len() < size {
                return;
            }
        }
    }

    /// Marks `done` consumed (in each partition's order) and times their hop.
    fn store_offsets(&self, bus: &Bus, done: &[&Incoming], took: Duration) {
        for incoming in done {
            bus.metrics().hop(&incoming.topic, took);
            if let Err(error) =
                self.inner.store_offset(&incoming.topic, incoming.partition, incoming.offset)
            {
                if self.in_group {
                    // The partition went to another member while this batch was handled: it
                    // reads from the last commit, and the shared inbox answers repeats.
                    info!(%error, topic = %incoming.topic, partition = incoming.partition, offset = incoming.offset,
                          "offset not stored: the partition was reassigned");
                } else {
                    error!(%error, topic = %incoming.topic, offset = incoming.offset, "storing the offset failed");
                }
            }
        }
    }
}

/// Splits a batch into the messages the bus admits ([`crate::authority`]: each signature
/// verified, each signer allowed on its topic) and the ones it refuses, with why. Without
/// trust configured, every message is admitted unchecked.
fn admit(
    bus: &Bus,
    batch: Vec<Incoming>,
    now: chrono::DateTime<chrono::Utc>,
) -> (Vec<Incoming>, Vec<(Incoming, yidi_trust::AuthError)>) {
    let Some(trust) = bus.trust() else { return (batch, Vec::new()) };
    let mut batch = batch;
    let verdicts =
        crate::authority::on_all_cores(&mut batch, |incoming| trust.admit(incoming, now));
    let mut admitted = Vec::with_capacity(batch.len());
    let mut refused = Vec::new();
    for (incoming, verdict) in batch.into_iter().zip(verdicts) {
        match verdict {
            Ok(()) => admitted.push(incoming),
            Err(error) => refused.push((incoming, error)),
        }
    }
    (admitted, refused)
}

/// A reply and the message it answers (whose dead letter replaces the reply if the reply can
/// never be sent).
#[derive(Debug)]
pub(crate) struct Reply<'b> {
    cause: &'b Incoming,
    message: Outgoing,
}

/// What handling a batch (or a lane) came to: the replies to send, and the messages handled —
/// all of them, unless shutdown interrupted a wait.
#[derive(Debug, Default)]
pub(crate) struct Handled<'b> {
    replies: Vec<Reply<'b>>,
    done: Vec<&'b Incoming>,
}

impl<'b> Handled<'b> {
    fn add(&mut self, bus: &Bus, incoming: &'b Incoming, verdict: Verdict) {
        let messages = match verdict {
            Ok(replies) => replies,
            Err(Rejection { code, reason, mut replies }) => {
                warn!(topic = %incoming.topic, partition = incoming.partition, offset = incoming.offset,
                      code, %reason, "message rejected; dead-lettered");
                replies.push(bus.dead_letter(incoming, code, &reason));
                bus.metrics().dead_lettered(code);
                replies
            }
        };
        self.replies.extend(messages.into_iter().map(|message| Reply { cause: incoming, message }));
        self.done.push(incoming);
    }
}

/// Orders a batch by topic partition (stably: each partition keeps its order) and returns one
/// lane per partition.
fn lanes(batch: &mut [Incoming]) -> Vec<&[Incoming]> {
    batch.sort_by(|a, b| (a.topic.as_str(), a.partition).cmp(&(b.topic.as_str(), b.partition)));
    batch.chunk_by(|a, b| a.topic == b.topic && a.partition == b.partition).collect()
}

/// Handles a batch: each lane whole and in order, the lanes concurrently. A plain function of
/// the messages and the handler, so it is tested without a broker.
async fn handle_batch<'b, H>(
    bus: &Bus,
    batch: &'b mut [Incoming],
    handler: &H,
    stop: &CancellationToken,
) -> Handled<'b>
where
    H: LaneHandler,
{
    let lanes = lanes(batch).into_iter().map(|lane| handle_lane(bus, lane, handler, stop));
    let mut handled = Handled::default();
    for lane in futures_util::future::join_all(lanes).await {
        handled.replies.extend(lane.replies);
        handled.done.extend(lane.done);
    }
    handled
}

/// Handles a lane in one go; when that fails (nothing of it was persisted), one message at a
/// time, in order, so that a message that keeps failing holds back only its own partition.
async fn handle_lane<'b, H>(
    bus: &Bus,
    lane: &'b [Incoming],
    handler: &H,
    stop: &CancellationToken,
) -> Handled<'b>
where
    H: LaneHandler,
{
    let mut handled = Handled::default();
    if lane.len() > 1 {
        match handler.handle(lane).await {
            Ok(verdicts) if verdicts.len() == lane.len() => {
                for (incoming, verdict) in lane.iter().zip(verdicts) {
                    handled.add(bus, incoming, verdict);
                }
                return handled;
            }
            Ok(verdicts) => error!(
                messages = lane.len(),
                answers = verdicts.len(),
                "a lane handler answered the wrong number of messages; handling them one by one"
            ),
            Err(error) => {
                warn!(messages = lane.len(), reason = %error, "the lane failed as a whole; handling its messages one by one");
            }
        }
    }
    for incoming in lane {
        match handle_one(bus.health(), incoming, handler, stop).await {
            Some(verdict) => handled.add(bus, incoming, verdict),
            None => break,
        }
    }
    handled
}

/// Counts a message in [`Health`] while it waits out a transient failure.
struct Waiting<'h> {
    health: &'h Health,
    alarmed: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.health.retry_ended(self.alarmed);
    }
}

/// Handles one message until it is decided: a transient failure is tried again with capped
/// backoff, however long it lasts, unless an operator parks the message. `None` when
/// `stop` interrupted the wait (the message stays unconsumed).
async fn handle_one<H>(
    health: &Health,
    incoming: &Incoming,
    handler: &H,
    stop: &CancellationToken,
) -> Option<Verdict>
where
    H: LaneHandler,
{
    let started = Instant::now();
    let mut backoff = BACKOFF_FIRST;
    let mut waiting: Option<Waiting<'_>> = None;
    loop {
        let attempt = handler.handle(std::slice::from_ref(incoming));
        // The first attempt runs to its end like any lane; a retry gives way to shutdown.
        let answer = if waiting.is_none() {
            attempt.await
        } else {
            tokio::select! {
                () = stop.cancelled() => return None,
                answer = attempt => answer,
            }
        };
        let failure = match answer {
            Ok(mut verdicts) if verdicts.len() == 1 => return verdicts.pop(),
            Ok(verdicts) => {
                Transient(format!("the handler answered {} messages for one", verdicts.len()))
            }
            Err(failure) => failure,
        };
        let waiting = waiting.get_or_insert_with(|| {
            health.retry_started();
            Waiting { health, alarmed: false }
        });
        let failing_for = started.elapsed();
        if failing_for >= ALARM_AFTER && !waiting.alarmed {
            waiting.alarmed = true;
            health.alarm();
            error!(topic = %incoming.topic, partition = incoming.partition, offset = incoming.offset,
                   failing_for_s = failing_for.as_secs(), reason = %failure,
                   "a message keeps failing; its partition waits. `yidi dlq park` sets it aside");
        } else {
            warn!(topic = %incoming.topic, offset = incoming.offset, reason = %failure,
                  retry_in_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX), "transient failure; the message will be handled again");
        }
        if waiting.alarmed {
            if let Some(why) = handler.parked(incoming).await {
                warn!(topic = %incoming.topic, partition = incoming.partition, offset = incoming.offset, %why, "parked by an operator");
                return Some(Err(Rejection::new("PARKED", why)));
            }
        }
        tokio::select! {
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Sends a batch's replies until the broker has every one, or a dead letter in place of one
/// that can never be sent. `false` when `stop` came first. Offsets wait for this, so a reply is
/// never lost; a resend after a partial failure is a duplicate the receivers' inboxes absorb.
async fn deliver(bus: &Bus, mut replies: Vec<Reply<'_>>, stop: &CancellationToken) -> bool {
    let mut backoff = BACKOFF_FIRST * 2;
    while !replies.is_empty() {
        let results = tokio::select! {
            () = stop.cancelled() => return false,
            results = bus.send_each(replies.iter().map(|r| &r.message)) => results,
        };
        let (again, wait) = after_send(bus, replies, results);
        replies = again;
        if wait {
            tokio::select! {
                () = stop.cancelled() => return false,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }
    true
}

/// What is sent again after a send, and whether to wait first. A reply that can never be sent
/// (too large, no such topic, not allowed) is replaced by its cause's dead letter. After a
/// transient failure everything from the first failure on is sent again, in order, so no reply
/// overtakes an earlier one of its partition; with only permanent failures, only the dead
/// letters are sent.
fn after_send<'b>(
    bus: &Bus,
    replies: Vec<Reply<'b>>,
    results: Vec<Result<(), BusError>>,
) -> (Vec<Reply<'b>>, bool) {
    let Some(first_failure) = results.iter().position(Result::is_err) else {
        return (Vec::new(), false);
    };
    let transient = results.iter().any(|result| match result {
        Err(error) => error.permanent().is_none() || is_dead_letter(error),
        Ok(()) => false,
    });
    let mut again = Vec::new();
    for (reply, result) in replies.into_iter().zip(results).skip(first_failure) {
        match result {
            Err(error)
                if error.permanent().is_some() && reply.message.topic != topics::DEAD_LETTER =>
            {
                let code = error.permanent().unwrap_or("UNDELIVERABLE");
                let reason = format!("its reply could not be sent: {error}");
                error!(topic = %reply.cause.topic, partition = reply.cause.partition, offset = reply.cause.offset,
                       code, %reason, "reply refused by the broker; the message is dead-lettered");
                let message = bus.dead_letter(reply.cause, code, &reason);
                bus.metrics().dead_lettered(code);
                again.push(Reply { cause: reply.cause, message });
            }
            Err(error) => {
                warn!(%error, "sending a reply failed; it will be sent again");
                again.push(reply);
            }
            Ok(()) if transient => again.push(reply),
            Ok(()) => {}
        }
    }
    (again, transient)
}

/// A dead letter that cannot be sent is waited for (the operator must mend the topic): a dead
/// letter is never replaced by another.
fn is_dead_letter(error: &BusError) -> bool {
    matches!(error, BusError::Delivery { topic, .. } if topic == topics::DEAD_LETTER)
}

#[cfg(test)]
mod tests;
