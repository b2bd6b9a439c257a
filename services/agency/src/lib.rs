//! The insured-place agency: hosts one or more insured regions, keeps their registry,
//! filings and accumulators, and settles the requests for them with each region's policy.
//!
//! # Layout
//! - [`handler`]: settlement requests and reversals (prefetch, decide, persist, answer).
//! - [`lane`]: what a lane of requests reads once (inbox records, persons, filings, accumulators).
//! - [`store`]: the agency's tables.
//! - [`halts`]: person-level halts of direct settlement (seed 004 art. 53).
//! - [`grpc`]: the `Agency` gRPC service (filings, registry, halts).
//! - [`app`]: settings and the service's run loop.

pub mod app;
pub mod grpc;
pub mod halts;
pub mod handler;
pub mod holds;
pub mod lane;
pub mod statement;
pub mod store;
