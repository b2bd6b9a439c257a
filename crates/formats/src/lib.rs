//! The readable forms of yidi's domain data, and their conversion to and from domain values.
//!
//! The domain crate knows no serialization; this crate is where JSON and TOML meet it.
//!
//! # Layout
//! - [`scalar`]: strings or numbers kept as exact text (no float ever).
//! - [`dto`]: the shared shapes of a policy and a catalogue.
//! - [`case`]: the `yidi quote` case (`settlement.md`, "Inputs").
//! - [`result`]: the quote result (`settlement.md`, "Output").
//! - [`policy_file`], [`catalogue_file`]: the TOML data files under `data/`.
//! - [`error`], [`path`]: one-line errors that name the field.

pub mod case;
pub mod case_out;
pub mod catalogue_file;
pub mod dto;
pub mod error;
pub mod path;
pub mod policy_file;
pub mod result;
pub mod scalar;

pub use case::{parse_case, parse_cases, split_cases, Cases, QuoteCase, RawCases};
pub use error::FormatError;
pub use result::ResultJson;

/// Runs the fund-share engine on one case and shapes the result for JSON.
pub fn quote(case: &QuoteCase) -> ResultJson {
    let outcome = yidi_domain::settle::settle(&case.claim, &case.policy, &case.catalogue);
    ResultJson::from_outcome(&outcome, case.policy.scheme)
}
