//! The pure domain of yidi: who pays what for a cross-province discharge bill.
//!
//! No I/O, no async, no clock, no randomness: time, policy and accumulators are arguments.
//! Services prefetch what a decision needs, call these functions, then persist and publish.
//!
//! # Layout
//! - [`money`]: `Amount` (yuan to the fen) and `Ratio`, with the one rounding rule.
//! - [`ids`]: admin-division codes, schemes, hospital levels.
//! - [`catalogue`]: the treatment-place catalogue (class A/B/C, price caps).
//! - [`policy`]: the insured-place policy (deductibles, ratios, caps, layers).
//! - [`claim`]: the bill, the person and the year-to-date accumulators.
//! - [`settle`]: the fund-share engine of `settlement.md`.
//! - [`filing`]: filing types, validity, and which cross-province row applies.
//! - [`benefit`]: benefit status from enrolment, contributions and retirement.
//! - [`hold`]: admission holds on the pooled fund's cap (2401/2402/2404).
//! - [`hospital`]: the register of designated institutions and their service agreements.
//! - [`sanction`]: a person-level halt of direct settlement (seed 004 art. 53).
//! - [`stay`]: one payment per stay (overlapping stays), and the bounds of a real bill.
//! - [`refusal`]: every refusal reason of the network and the rule it rests on.
//! - [`error`]: value errors with stable codes.

pub mod benefit;
pub mod catalogue;
pub mod claim;
pub mod error;
pub mod filing;
pub mod fingerprint;
pub mod hold;
pub mod hospital;
pub mod ids;
pub mod money;
pub mod policy;
pub mod refusal;
pub mod sanction;
pub mod settle;
pub mod stay;
