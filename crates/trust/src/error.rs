//! Why a credential or a message is refused.

use std::path::PathBuf;

/// Credentials that cannot be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("invalid {0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {detail}")]
    File { path: PathBuf, detail: String },
}

/// Why a received message is refused. Each has a stable code, the dead letter's reason code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the message is not signed")]
    Unsigned,
    #[error("signer {0:?} has no certificate in the network's bundle")]
    UnknownSigner(String),
    #[error("the signature does not match the message: {0}")]
    Forged(String),
    #[error("signed at {signed_at}, outside the accepted window")]
    Stale { signed_at: String },
    #[error("the certificate of {subject} is not valid: {why}")]
    Certificate { subject: String, why: String },
    #[error("{signer} ({role}) may not {what}")]
    NotAllowed { signer: String, role: String, what: String },
}

impl AuthError {
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Unsigned => "AUTH_UNSIGNED",
            AuthError::UnknownSigner(_) => "AUTH_UNKNOWN_SIGNER",
            AuthError::Forged(_) => "AUTH_FORGED",
            AuthError::Stale { .. } => "AUTH_STALE",
            AuthError::Certificate { .. } => "AUTH_CERTIFICATE",
            AuthError::NotAllowed { .. } => "AUTH_NOT_ALLOWED",
        }
    }
}
