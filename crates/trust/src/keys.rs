//! A party's credentials and the files they live in.
//!
//! A directory holds a network's credentials: `root.cert.json` (and, where certificates are
//! issued, `root.key`), `<subject>.key`, `<subject>.cert.json` and `<subject>.broker-password`
//! (its login to the brokers, [`crate::login`]) for each party, and `bundle.json`, the root
//! with every certificate, which every party reads to verify.
//! Keys are written readable by their owner only.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use sm2::dsa::signature::Signer;
use sm2::dsa::SigningKey;
use sm2::SecretKey;

use crate::bundle::BundleFile;
use crate::certificate::{Certificate, DIST_ID};
use crate::envelope::{Envelope, Signature};
use crate::error::TrustError;
use crate::role::Role;

/// The root's subject name.
pub const ROOT: &str = "root";

/// The bundle's file name in a credentials directory.
pub const BUNDLE: &str = "bundle.json";

/// How long `init` certifies a party for.
pub const VALIDITY_DAYS: i64 = 2 * 365;

/// What a party signs with: its secret key and its certificate.
pub struct Credentials {
    key: SigningKey,
    certificate: Certificate,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        write!(f, "Credentials({})", self.certificate.subject)
    }
}

fn read(path: &Path) -> Result<String, TrustError> {
    std::fs::read_to_string(path).map_err(|source| TrustError::Io { path: path.to_owned(), source })
}

fn write(path: &Path, text: &str, secret: bool) -> Result<(), TrustError> {
    let io = |source| TrustError::Io { path: path.to_owned(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Writes a secret (a key, a password) readable by its owner only.
pub(crate) fn write_secret(path: &Path, text: &str) -> Result<(), TrustError> {
    write(path, text, true)
}

/// Writes what anyone may read (a certificate).
pub(crate) fn write_public(path: &Path, text: &str) -> Result<(), TrustError> {
    write(path, text, false)
}

fn key_path(dir: &Path, subject: &str) -> PathBuf {
    dir.join(format!("{subject}.key"))
}

fn certificate_path(dir: &Path, subject: &str) -> PathBuf {
    dir.join(format!("{subject}.cert.json"))
}

fn read_key(path: &Path) -> Result<SigningKey, TrustError> {
    let invalid = |detail: &str| TrustError::File { path: path.to_owned(), detail: detail.into() };
    let bytes = hex::decode(read(path)?.trim()).map_err(|_| invalid("not hex"))?;
    let secret = SecretKey::from_slice(&bytes).map_err(|_| invalid("not an SM2 secret key"))?;
    SigningKey::new(DIST_ID, &secret).map_err(|_| invalid("not an SM2 signing key"))
}

fn read_certificate(path: &Path) -> Result<Certificate, TrustError> {
    serde_json::from_str(&read(path)?)
        .map_err(|e| TrustError::File { path: path.to_owned(), detail: e.to_string() })
}

fn new_key() -> Result<(SigningKey, String), TrustError> {
    // The operating system's generator (`getrandom`), as `Generate` draws it.
    let secret = <SecretKey as sm2::elliptic_curve::Generate>::generate();
    let key = SigningKey::new(DIST_ID, &secret)
        .map_err(|_| TrustError::Invalid("a fresh SM2 key".into()))?;
    Ok((key, hex::encode(secret.to_bytes())))
}

impl Credentials {
    /// `subject`'s credentials from `dir`; the key must match the certificate.
    pub fn load(dir: &Path, subject: &str) -> Result<Credentials, TrustError> {
        let key = read_key(&key_path(dir, subject))?;
        let certificate = read_certificate(&certificate_path(dir, subject))?;
        if certificate.verifying_key()?.to_sec1_bytes() != key.verifying_key().to_sec1_bytes() {
            return Err(TrustError::File {
                path: certificate_path(dir, subject),
                detail: "the certificate is not for this key".into(),
            });
        }
        Ok(Credentials { key, certificate })
    }

    pub fn subject(&self) -> &str {
        &self.certificate.subject
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    pub fn sign(&self, envelope: &Envelope<'_>) -> Signature {
        Signature(self.key.sign(&envelope.bytes()))
    }
}

/// Makes (or completes) a network's credentials in `dir`: the root, unless it is there, and
/// each party's key and certificate, unless one is there for the same role; each party's broker
/// login and the tools' ([`crate::login::OPERATOR`]), unless there; each party's TLS
/// certificate for gRPC ([`crate::tls`]), unless one is there for the same role; the
/// network's person-token key ([`crate::token`]), unless there. Writes the bundle of every
/// certificate in the directory. Idempotent: run again, it changes nothing.
pub fn init(dir: &Path, parties: &[(String, Role)], today: NaiveDate) -> Result<(), TrustError> {
    std::fs::create_dir_all(dir).map_err(|source| TrustError::Io { path: dir.into(), source })?;
    let valid = (today, today + chrono::Duration::days(VALIDITY_DAYS));
    let root_key = if key_path(dir, ROOT).exists() {
        read_key(&key_path(dir, ROOT))?
    } else {
        let (key, secret) = new_key()?;
        let certificate =
            Certificate::issue((ROOT, &key), ROOT, &Role::Root, key.verifying_key(), valid);
        write(&key_path(dir, ROOT), &secret, true)?;
        write(&certificate_path(dir, ROOT), &to_json(&certificate)?, false)?;
        key
    };
    for (subject, role) in parties {
        if subject == ROOT || subject.contains(['/', '\\']) || subject.starts_with('.') {
            return Err(TrustError::Invalid(format!("party name {subject:?}")));
        }
        crate::login::ensure(dir, subject)?;
        let current = Credentials::load(dir, subject).ok();
        let fine = current.as_ref().is_some_and(|c| {
            c.certificate.role().ok().as_ref() == Some(role)
                && c.certificate.signed_by(root_key.verifying_key())
                && c.certificate.valid_on(today)
        });
        if fine {
            continue;
        }
        let (key, secret) = new_key()?;
        let certificate =
            Certificate::issue((ROOT, &root_key), subject, role, key.verifying_key(), valid);
        write(&key_path(dir, subject), &secret, true)?;
        write(&certificate_path(dir, subject), &to_json(&certificate)?, false)?;
    }
    crate::login::ensure(dir, crate::login::OPERATOR)?;
    crate::token::ensure(dir)?;
    crate::tls::init(dir, parties, today, VALIDITY_DAYS)?;
    write_bundle(dir)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, TrustError> {
    serde_json::to_string_pretty(value).map_err(|e| TrustError::Invalid(e.to_string()))
}

/// Writes `bundle.json`: the root and every party's certificate in `dir`.
fn write_bundle(dir: &Path) -> Result<(), TrustError> {
    let root = read_certificate(&certificate_path(dir, ROOT))?;
    let mut certificates = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|source| TrustError::Io { path: dir.into(), source })?;
    for entry in entries {
        let path = entry.map_err(|source| TrustError::Io { path: dir.into(), source })?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if name.ends_with(".cert.json") && name != format!("{ROOT}.cert.json") {
            certificates.push(read_certificate(&path)?);
        }
    }
    certificates.sort_by(|a, b| a.subject.cmp(&b.subject));
    write(&dir.join(BUNDLE), &to_json(&BundleFile { root, certificates })?, false)
}
