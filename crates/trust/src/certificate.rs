//! A party's certificate: its name, its role and its public key, signed by the network's root.
//!
//! A plain, readable format (JSON) rather than X.509: what a certificate says here is exactly
//! what the network's rules ask (a name, a role and the regions it covers), and the SM2 X.509
//! tooling for Rust is not yet one a ministry would rest on. The transport's TLS certificates
//! are X.509 and separate.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{SigningKey, VerifyingKey};

use crate::error::TrustError;
use crate::role::Role;

/// The distinguishing identifier every signature of the network uses: GM/T 0009's default.
pub(crate) const DIST_ID: &str = "1234567812345678";

const DATE: &str = "%Y-%m-%d";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub subject: String,
    /// [`Role`] as text.
    pub role: String,
    /// The SM2 public key, SEC1 uncompressed, in hex.
    pub public_key: String,
    /// First and last day of validity (yyyy-MM-dd, UTC).
    pub not_before: String,
    pub not_after: String,
    pub issuer: String,
    /// The issuer's SM2 signature over every field above, in hex (r ‖ s).
    pub signature: String,
}

fn field(bytes: &mut Vec<u8>, value: &str) {
    bytes.extend_from_slice(&u64::try_from(value.len()).unwrap_or(u64::MAX).to_le_bytes());
    bytes.extend_from_slice(value.as_bytes());
}

impl Certificate {
    /// What the issuer signs.
    fn signed_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(256);
        for value in [
            "yidi.certificate.v1",
            &self.subject,
            &self.role,
            &self.public_key,
            &self.not_before,
            &self.not_after,
            &self.issuer,
        ] {
            field(&mut bytes, value);
        }
        bytes
    }

    /// Issues a certificate for `subject`'s public key, signed by `issuer`.
    pub(crate) fn issue(
        issuer: (&str, &SigningKey),
        subject: &str,
        role: &Role,
        public_key: &VerifyingKey,
        valid: (NaiveDate, NaiveDate),
    ) -> Certificate {
        let mut certificate = Certificate {
            subject: subject.to_owned(),
            role: role.to_string(),
            public_key: hex::encode(public_key.to_sec1_bytes()),
            not_before: valid.0.format(DATE).to_string(),
            not_after: valid.1.format(DATE).to_string(),
            issuer: issuer.0.to_owned(),
            signature: String::new(),
        };
        let signature: sm2::dsa::Signature = issuer.1.sign(&certificate.signed_bytes());
        certificate.signature = hex::encode(signature.to_bytes());
        certificate
    }

    pub fn role(&self) -> Result<Role, TrustError> {
        self.role.parse()
    }

    pub fn verifying_key(&self) -> Result<VerifyingKey, TrustError> {
        let invalid = || TrustError::Invalid(format!("public key of {}", self.subject));
        let bytes = hex::decode(&self.public_key).map_err(|_| invalid())?;
        VerifyingKey::from_sec1_bytes(DIST_ID, &bytes).map_err(|_| invalid())
    }

    /// Whether `issuer` signed this certificate.
    pub fn signed_by(&self, issuer: &VerifyingKey) -> bool {
        let Ok(bytes) = hex::decode(&self.signature) else { return false };
        let Ok(signature) = sm2::dsa::Signature::from_slice(&bytes) else { return false };
        issuer.verify(&self.signed_bytes(), &signature).is_ok()
    }

    /// Whether `day` is within the certificate's validity.
    pub fn valid_on(&self, day: NaiveDate) -> bool {
        let parse = |text: &str| NaiveDate::parse_from_str(text, DATE).ok();
        match (parse(&self.not_before), parse(&self.not_after)) {
            (Some(from), Some(to)) => from <= day && day <= to,
            _ => false,
        }
    }
}
