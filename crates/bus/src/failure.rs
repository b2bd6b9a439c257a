//! What can go wrong with a message, in two kinds that the runtime treats differently.
//!
//! A **rejection** is about the message itself (undecodable, invalid, unroutable, oversized,
//! not allowed): handling it again gives the same answer, so it goes to the dead-letter topic at
//! once with a stable reason code and never blocks what follows it. A **transient** failure is
//! about the world (a database locked or away, a broker unreachable, a party not answering):
//! the message is handled again, with capped backoff, for as long as it takes — it is never
//! dead-lettered by a retry counter (a person may park it, `yidi dlq park`).
//!
//! Handlers return [`Failure`] with `?`: decode errors convert into rejections, store errors
//! into transient failures. The dead letter is built by the runtime, in one place.

use thiserror::Error;
use yidi_wire::codec::DecodeError;

use crate::message::Outgoing;

/// A message refused for good.
#[derive(Debug, Error)]
#[error("{code}: {reason}")]
pub struct Rejection {
    /// Stable, for operators and dashboards (`WIRE_01`, `INVALID_BILL`, `UNROUTABLE`).
    pub code: &'static str,
    /// One line naming what is wrong.
    pub reason: String,
    /// Replies sent beside the dead letter, e.g. the rejection a HIS is owed for its bill.
    pub replies: Vec<Outgoing>,
}

impl Rejection {
    pub fn new(code: &'static str, reason: impl Into<String>) -> Rejection {
        Rejection { code, reason: reason.into(), replies: Vec::new() }
    }

    /// The same rejection, with `reply` sent beside the dead letter.
    pub fn with_reply(mut self, reply: Outgoing) -> Rejection {
        self.replies.push(reply);
        self
    }
}

/// A message refused at the door or by a service's authorization rule: its `AUTH_*` code.
impl From<yidi_trust::AuthError> for Rejection {
    fn from(error: yidi_trust::AuthError) -> Rejection {
        Rejection::new(error.code(), error.to_string())
    }
}

impl From<DecodeError> for Rejection {
    fn from(error: DecodeError) -> Rejection {
        Rejection::new(error.code(), error.to_string())
    }
}

/// A failure that passes: the message is handled again until it succeeds.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct Transient(pub String);

impl Transient {
    pub fn new(error: impl ToString) -> Transient {
        Transient(error.to_string())
    }
}

/// Either kind, for `?` in a handler of one message.
#[derive(Debug, Error)]
pub enum Failure {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Transient(#[from] Transient),
}

impl From<DecodeError> for Failure {
    fn from(error: DecodeError) -> Failure {
        Failure::Rejected(error.into())
    }
}

/// One message's outcome in a lane: its replies, or its rejection.
pub type Verdict = Result<Vec<Outgoing>, Rejection>;

/// What a lane handler answers: each message's verdict, in the lane's order, once the effects
/// of the whole lane are durable; or a transient failure when none of them is (the transaction
/// was rolled back), and then every message of the lane is handled again.
pub type LaneAnswer = Result<Vec<Verdict>, Transient>;

/// Splits one message's outcome: a rejection stays with the message, a transient failure fails
/// the lane (its transaction is rolled back and the lane is handled again). Generic over what a
/// message decides, so a handler that acts after its commit can split its decisions too.
pub fn verdict<T>(outcome: Result<T, Failure>) -> Result<Result<T, Rejection>, Transient> {
    match outcome {
        Ok(replies) => Ok(Ok(replies)),
        Err(Failure::Rejected(rejection)) => Ok(Err(rejection)),
        Err(Failure::Transient(transient)) => Err(transient),
    }
}
