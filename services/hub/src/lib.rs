//! The national hub: routes each request to the agency of its insured province, refuses
//! provinces it does not serve or that are suspended, records every settled bill for
//! clearing, keeps the national filing database, and routes results back to the treatment
//! province's exchange.
//!
//! # Layout
//! - [`route`]: the three message flows (requests, results, filings).
//! - [`record`]: the hub's tables (settled bills, filings).
//! - [`referee`]: results held to the requests the hub routed.
//! - [`hospitals`], [`halts`]: sanctions — institutions' agreements, persons' halts.
//! - [`statement`]: exchanges' statements, gathered from their parts.
//! - [`clearing`]: the clearing desk: event log, business clock, suspended provinces.
//! - [`dashboard`]: the ministry dashboard, its JSON/CSV API and the desk's admin calls.
//! - [`live`]: live settlement rate, latency and rejections.
//! - [`figures`]: the clearing desk's state as Prometheus gauges.
//! - [`app`]: settings and the run loop.

pub mod app;
pub mod clearing;
pub mod daily;
pub mod dashboard;
pub mod figures;
pub mod halts;
pub mod hospitals;
pub mod live;
pub mod record;
pub mod referee;
pub mod route;
pub mod statement;
