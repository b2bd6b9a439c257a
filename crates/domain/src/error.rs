//! Errors of the domain, as values.
//!
//! Business refusals (suspended benefits, a work injury) are not errors: they are
//! [`crate::settle::Outcome::Rejected`]. What lives here is input that cannot be a valid
//! domain value.

use thiserror::Error;

/// Why a scalar input is not a valid domain value. The caller names the field.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum ValueError {
    #[error("must not be negative")]
    Negative,
    #[error("must have at most two decimals (fen)")]
    SubFen,
    #[error("must have at most six decimals")]
    TooPrecise,
    #[error("is too large")]
    TooLarge,
    #[error("must not be above 1")]
    AboveOne,
    #[error("must be a 6-digit admin-division code")]
    RegionShape,
    #[error("must be \"310\" (employee) or \"390\" (resident)")]
    UnknownScheme,
    #[error("must be 1, 2 or 3")]
    UnknownHospitalLevel,
    #[error("must be one of A, B, C")]
    UnknownItemClass,
    #[error("must be one of long_term, referral, emergency, other_temporary, or null")]
    UnknownFilingClass,
}

impl ValueError {
    /// A stable code for logs, dead letters and API errors.
    pub fn code(self) -> &'static str {
        match self {
            ValueError::Negative => "VAL_01",
            ValueError::SubFen => "VAL_02",
            ValueError::TooPrecise => "VAL_03",
            ValueError::TooLarge => "VAL_04",
            ValueError::AboveOne => "VAL_05",
            ValueError::RegionShape => "VAL_06",
            ValueError::UnknownScheme => "VAL_07",
            ValueError::UnknownHospitalLevel => "VAL_08",
            ValueError::UnknownItemClass => "VAL_09",
            ValueError::UnknownFilingClass => "VAL_10",
        }
    }
}
