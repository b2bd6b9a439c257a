//! Why a clearing command was refused. Codes are stable: they reach the admin API.

use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ClearingError {
    #[error("CLR_01 bill {0} is not in the ledger")]
    UnknownBill(String),
    #[error("CLR_02 bill {0} has been reversed")]
    Reversed(String),
    #[error("CLR_03 deduction of {asked} exceeds what bill {setl_id} still owes ({left})")]
    DeductionTooLarge { setl_id: String, asked: String, left: String },
    #[error("CLR_04 {0} is not a cross-province pair")]
    SameProvince(String),
    #[error("CLR_05 no clearing round for {0}")]
    UnknownRound(String),
    #[error("CLR_06 round {0} is already final")]
    RoundFinal(String),
    #[error("CLR_07 round {period}: {province} has already confirmed")]
    AlreadyConfirmed { period: String, province: String },
    #[error("CLR_08 bill {setl_id} is not owed by {province} in round {period}")]
    NotDisputable { setl_id: String, province: String, period: String },
    #[error("CLR_09 round {0} is not final yet: payments wait for confirmation")]
    RoundOpen(String),
    #[error("CLR_10 {province} owes {owed} in round {period}; a payment of {paid} is too much")]
    Overpayment { province: String, period: String, owed: String, paid: String },
    #[error("CLR_11 an amount must be positive: {0}")]
    NotPositive(String),
    #[error("CLR_12 ledger entry {id} does not balance: {why}")]
    Unbalanced { id: String, why: String },
    #[error("CLR_13 event log broken at #{seq}: {why}")]
    Chain { seq: i64, why: String },
    #[error("CLR_14 replayed event does not fit the book: {0}")]
    Replay(String),
    #[error("CLR_15 {0}")]
    Invalid(String),
    #[error("CLR_16 a fine of {asked} on bill {setl_id} exceeds five times what was recovered from it (at most {allowed} more)")]
    FineTooLarge { setl_id: String, asked: String, allowed: String },
}

impl ClearingError {
    /// The stable code (`CLR_xx`).
    pub fn code(&self) -> &'static str {
        match self {
            ClearingError::UnknownBill(_) => "CLR_01",
            ClearingError::Reversed(_) => "CLR_02",
            ClearingError::DeductionTooLarge { .. } => "CLR_03",
            ClearingError::SameProvince(_) => "CLR_04",
            ClearingError::UnknownRound(_) => "CLR_05",
            ClearingError::RoundFinal(_) => "CLR_06",
            ClearingError::AlreadyConfirmed { .. } => "CLR_07",
            ClearingError::NotDisputable { .. } => "CLR_08",
            ClearingError::RoundOpen(_) => "CLR_09",
            ClearingError::Overpayment { .. } => "CLR_10",
            ClearingError::NotPositive(_) => "CLR_11",
            ClearingError::Unbalanced { .. } => "CLR_12",
            ClearingError::Chain { .. } => "CLR_13",
            ClearingError::Replay(_) => "CLR_14",
            ClearingError::Invalid(_) => "CLR_15",
            ClearingError::FineTooLarge { .. } => "CLR_16",
        }
    }
}
