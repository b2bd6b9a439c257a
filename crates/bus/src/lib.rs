//! The Kafka edge of every yidi service.
//!
//! At-least-once delivery with exactly-once effect: the producer is idempotent; a consumer
//! hands each lane of a fetched batch (one topic partition's messages, in order) to the
//! service's [`LaneHandler`], which makes their effects durable together (inbox + effects in
//! one database transaction); the replies are sent and acknowledged, and only then are the
//! offsets stored. A crash anywhere replays the messages, and the inbox answers a replay with
//! the first response. Kafka transactions are not used (tansu has none; see ARCHITECTURE.md).
//!
//! # Layout
//! - [`topics`]: topic names and creation.
//! - [`authority`]: signing what is sent, admitting what is received (who may publish where).
//! - [`message`]: incoming and outgoing messages with yidi's headers.
//! - [`client`]: producer and consumer configuration, sends classified by what failed, dead
//!   letters.
//! - [`consume`]: the consumer loop: lanes, group commit, transient failures waited out,
//!   rejections dead-lettered, offsets stored after the replies.
//! - [`failure`]: the two kinds of failure a handler returns.
//! - [`limits`]: message and dead-letter sizes.
//! - [`metrics`]: what the edge counts: messages, dead letters, hop times, lag.
//! - [`producer`]: the idempotent producer whose sends are awaited.
//! - [`trace`]: a span per message per hop, W3C trace context carried on the replies.

pub mod acl;
pub mod authority;
pub mod client;
pub mod consume;
pub mod failure;
pub mod limits;
pub mod message;
pub mod metrics;
pub mod producer;
pub mod topics;
pub mod trace;

pub use authority::{Signer, Trust};
pub use client::{Bus, BusConfig, BusError, Health, Membership};
pub use consume::{Consumer, LaneHandler};
pub use failure::{verdict, Failure, LaneAnswer, Rejection, Transient, Verdict};
pub use message::{Incoming, Outgoing};
pub use metrics::BusMetrics;
