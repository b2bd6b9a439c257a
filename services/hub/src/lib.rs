//! The national hub: routes each request to the agency of its insured province, refuses
//! provinces it does not serve or that are suspended, records every settled bill for
//! clearing, keeps the national filing database, and routes results back to the treatment
//! province's exchange.
//!
//! # Layout
//! - [`route`]: the three message flows (requests, results, filings).
//! - [`record`]: the hub's tables (settled bills, filings).
//! - [`app`]: settings and the run loop.

pub mod app;
pub mod record;
pub mod route;
