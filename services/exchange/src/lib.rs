//! The hospital exchange of one treatment province.
//!
//! Takes discharge bills from hospital information systems (HIS) over Kafka
//! (`his.<province>.discharge`) and gRPC (`Exchange.Settle`), validates them, classifies each
//! line with the treatment-place catalogue, sends the request to the hub, and returns the
//! result (`his.<province>.settlement`, or the gRPC reply within its deadline). A `Settle`
//! that times out reverses whatever may have happened and says so. After each clearing
//! cut-off it answers the hub's statement request (3201/3202-style reconciliation).
//!
//! # Layout
//! - [`requests`]: the exchange's record of each bill and its first result.
//! - [`intake`]: HIS bills in, results out (Kafka), shared by gRPC.
//! - [`grpc`]: the `Exchange` gRPC service.
//! - [`statement`]: settlements by clearing period, and the statement the hub reconciles.
//! - [`filings`]: the replica of the national filing database, for the HIS's pre-admission
//!   check.
//! - [`hospitals`]: the register of designated institutions and the hub's decisions on their
//!   service agreements: the level a bill settles at, or why it is refused.
//! - [`app`]: settings and the run loop.

pub mod app;
pub mod daily;
pub mod filings;
pub mod grpc;
pub mod hospitals;
pub mod intake;
pub mod requests;
pub mod statement;
