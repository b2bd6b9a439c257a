//! The network's root and every party's certificate: what a receiver verifies with.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sm2::dsa::signature::Verifier;
use sm2::dsa::VerifyingKey;

use crate::certificate::Certificate;
use crate::envelope::{Envelope, Signature};
use crate::error::{AuthError, TrustError};
use crate::role::Role;
use crate::{CLOCK_SKEW, SIGNATURE_WINDOW};

/// `bundle.json` as written.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BundleFile {
    pub root: Certificate,
    pub certificates: Vec<Certificate>,
}

/// Who signed a message, once verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    pub subject: String,
    pub role: Role,
}

struct Known {
    certificate: Certificate,
    role: Role,
    key: VerifyingKey,
}

/// The bundle, read and checked: every certificate signed by the root it names.
pub struct Bundle {
    root: Certificate,
    known: HashMap<String, Known>,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bundle({} certificates)", self.known.len())
    }
}

impl Bundle {
    pub fn load(path: &Path) -> Result<Bundle, TrustError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TrustError::Io { path: path.to_owned(), source })?;
        let file: BundleFile = serde_json::from_str(&text)
            .map_err(|e| TrustError::File { path: path.to_owned(), detail: e.to_string() })?;
        Bundle::new(file)
    }

    /// Checks that the root signed itself and every certificate; one it did not sign is an
    /// error (a tampered bundle must not start a service), not a certificate to skip.
    pub fn new(file: BundleFile) -> Result<Bundle, TrustError> {
        let root_key = file.root.verifying_key()?;
        if file.root.role()? != Role::Root || !file.root.signed_by(&root_key) {
            return Err(TrustError::Invalid("root certificate: not self-signed as root".into()));
        }
        let mut known = HashMap::new();
        for certificate in file.certificates {
            if certificate.issuer != file.root.subject || !certificate.signed_by(&root_key) {
                return Err(TrustError::Invalid(format!(
                    "certificate of {}: not signed by the root",
                    certificate.subject
                )));
            }
            let role = certificate.role()?;
            let key = certificate.verifying_key()?;
            known.insert(certificate.subject.clone(), Known { certificate, role, key });
        }
        Ok(Bundle { root: file.root, known })
    }

    pub fn root(&self) -> &Certificate {
        &self.root
    }

    /// The certificate of `subject`, if the bundle has one.
    pub fn certificate(&self, subject: &str) -> Option<&Certificate> {
        self.known.get(subject).map(|k| &k.certificate)
    }

    /// Checks that `signature` is `envelope.signer`'s over the envelope, that the signer's
    /// certificate is valid now and that it was signed inside the window.
    pub fn verify(
        &self,
        envelope: &Envelope<'_>,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<Party, AuthError> {
        envelope.fresh(
            now.timestamp_millis(),
            SIGNATURE_WINDOW.num_milliseconds(),
            CLOCK_SKEW.num_milliseconds(),
        )?;
        self.check(envelope, signature, now)
    }

    /// Checks a signature made at `signed_at` with the certificate as it was then: for a
    /// receipt, checked long after; no window applies.
    pub fn verify_as_of(
        &self,
        envelope: &Envelope<'_>,
        signature: &str,
        signed_at: DateTime<Utc>,
    ) -> Result<Party, AuthError> {
        self.check(envelope, signature, signed_at)
    }

    fn check(
        &self,
        envelope: &Envelope<'_>,
        signature: &str,
        on: DateTime<Utc>,
    ) -> Result<Party, AuthError> {
        let known = self
            .known
            .get(envelope.signer)
            .ok_or_else(|| AuthError::UnknownSigner(envelope.signer.to_owned()))?;
        if !known.certificate.valid_on(on.date_naive()) {
            return Err(AuthError::Certificate {
                subject: envelope.signer.to_owned(),
                why: format!(
                    "valid {} to {} only",
                    known.certificate.not_before, known.certificate.not_after
                ),
            });
        }
        let signature: Signature = signature.parse()?;
        known
            .key
            .verify(&envelope.bytes(), &signature.0)
            .map_err(|_| AuthError::Forged(format!("not {}'s signature", envelope.signer)))?;
        Ok(Party { subject: envelope.signer.to_owned(), role: known.role.clone() })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::keys::{init, Credentials, BUNDLE};

    fn network(name: &str) -> (std::path::PathBuf, Bundle) {
        let dir = std::env::temp_dir().join(format!("yidi-trust-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let parties = [
            ("hub".to_owned(), Role::Hub),
            ("agency-north".to_owned(), "agency:110000,120000".parse().unwrap()),
            ("exchange-310000".to_owned(), "exchange:310000".parse().unwrap()),
        ];
        init(&dir, &parties, Utc::now().date_naive()).unwrap();
        let bundle = Bundle::load(&dir.join(BUNDLE)).unwrap();
        (dir, bundle)
    }

    fn envelope<'a>(signer: &'a str, signed_at: &'a str, payload: &'a [u8]) -> Envelope<'a> {
        Envelope {
            topic: "hub.results",
            signer,
            signed_at,
            headers: vec![("msgid", Some("M1")), ("clearing_period", None)],
            payload,
        }
    }

    #[test]
    fn a_signed_message_verifies_as_its_signer_and_nothing_else_does() {
        let (dir, bundle) = network("verify");
        let north = Credentials::load(&dir, "agency-north").unwrap();
        let now = Utc::now();
        let at = now.timestamp_millis().to_string();
        let signed = envelope("agency-north", &at, b"result");
        let signature = north.sign(&signed).to_string();
        let party = bundle.verify(&signed, &signature, now).unwrap();
        assert_eq!(party.role, "agency:110000,120000".parse().unwrap());

        let code = |e: &Envelope<'_>, s: &str| bundle.verify(e, s, now).unwrap_err().code();
        assert_eq!(code(&envelope("agency-north", &at, b"resulT"), &signature), "AUTH_FORGED");
        assert_eq!(
            code(&envelope("hub", &at, b"result"), &signature),
            "AUTH_FORGED",
            "another's name"
        );
        assert_eq!(
            code(&envelope("agency-west", &at, b"result"), &signature),
            "AUTH_UNKNOWN_SIGNER"
        );
        assert_eq!(code(&signed, "00"), "AUTH_FORGED");
        let mut other_topic = signed.clone();
        other_topic.topic = "hub.requests";
        assert_eq!(code(&other_topic, &signature), "AUTH_FORGED", "the topic is signed");
        let mut other_header = signed.clone();
        other_header.headers[1].1 = Some("2026-10");
        assert_eq!(code(&other_header, &signature), "AUTH_FORGED", "an added header is signed");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_message_signed_outside_the_window_is_stale() {
        let (dir, bundle) = network("stale");
        let north = Credentials::load(&dir, "agency-north").unwrap();
        let now = Utc::now();
        for at in [now - SIGNATURE_WINDOW - chrono::Duration::seconds(1), now + CLOCK_SKEW * 2] {
            let at = at.timestamp_millis().to_string();
            let signed = envelope("agency-north", &at, b"result");
            let signature = north.sign(&signed).to_string();
            assert_eq!(bundle.verify(&signed, &signature, now).unwrap_err().code(), "AUTH_STALE");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn init_is_idempotent_and_a_bundle_with_a_certificate_the_root_did_not_sign_is_refused() {
        let (dir, _) = network("init");
        let before = std::fs::read_to_string(dir.join(BUNDLE)).unwrap();
        init(&dir, &[("hub".to_owned(), Role::Hub)], Utc::now().date_naive()).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join(BUNDLE)).unwrap(), before, "nothing changed");
        let mut file: BundleFile = serde_json::from_str(&before).unwrap();
        file.certificates[0].role = "hub".into();
        assert!(Bundle::new(file).is_err(), "a role changed after signing");
        let _ = std::fs::remove_dir_all(dir);
    }
}
