//! The Kafka edge of every yidi service.
//!
//! At-least-once delivery with exactly-once effect: the producer is idempotent; a consumer
//! handles one message, the handler makes its effect durable (inbox + effect in one database
//! transaction), the replies are sent and acknowledged, and only then is the offset stored.
//! A crash anywhere replays the message, and the inbox answers the replay with the first
//! response. Kafka transactions are not used (tansu has none; see ARCHITECTURE.md).
//!
//! # Layout
//! - [`topics`]: topic names and creation.
//! - [`message`]: incoming and outgoing messages with yidi's headers.
//! - [`client`]: producer and consumer configuration, the consumer loop, dead letters.
//! - [`producer`]: the idempotent producer whose sends are awaited.

pub mod client;
pub mod message;
pub mod producer;
pub mod topics;

pub use client::{Bus, BusConfig, Consumer, HandlerError, LaneAnswer, LaneHandler};
pub use message::{Incoming, Outgoing};
