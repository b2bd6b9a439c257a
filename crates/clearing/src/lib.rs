//! Inter-provincial clearing, as plain functions on plain data (domain.md §5, issue #5).
//!
//! At discharge the treatment-place hospital advances the funds' share; the insured province
//! owes it. This crate keeps the account of that debt and the monthly cycle that pays it. No
//! I/O and no clock: the business date is an argument, and every change is an [`Event`] the
//! caller persists in order and can replay.
//!
//! # Layout
//! - [`period`]: the clearing month `YYYY-MM`.
//! - [`funds`]: the five fund types a bill's advance is owed by.
//! - [`ledger`]: the append-only double-entry ledger (settlement, reversal, audit deduction).
//! - [`chain`]: the hash chain over the persisted event log.
//! - [`calendar`]: working days and the dates of a clearing round.
//! - [`netting`]: bilateral obligations → multilateral net positions.
//! - [`round`]: a monthly round: notice, confirmation with disputes, payment.
//! - [`overdue`]: days past due, aging buckets, late interest, the escalation ladder.
//! - [`prepay`]: prepayment (预付金) sizing and usage.
//! - [`reconcile`]: the period's totals against a treatment province's exchange (3201/3202).
//! - [`daily`]: a day's settlements of a pair of provinces, as the ledger, the agency and the
//!   exchange each state them.
//! - [`book`]: everything above as one state, changed only by events.
//! - [`error`]: refusals with stable codes.

pub mod book;
pub mod calendar;
pub mod chain;
pub mod daily;
pub mod error;
pub mod funds;
pub mod ledger;
pub mod netting;
pub mod overdue;
pub mod period;
pub mod prepay;
pub mod reconcile;
pub mod round;
pub mod text;

pub use book::{Book, Event};
pub use error::ClearingError;
