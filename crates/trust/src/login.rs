//! A party's login to the brokers: a SASL/SCRAM user name and password.
//!
//! Signatures decide who may *say* what; a login decides who may reach the brokers at all
//! (issue #11 §5). Each party has its own principal, named as its credentials are
//! (`agency-north`, `his-440000`), plus [`OPERATOR`] for the network's tools. The password
//! lives next to the party's key, `<subject>.broker-password`, readable by its owner only, and
//! is held in memory as a [`SecretString`]: it is never printed or logged.
//!
//! The broker learns each login from the same file (`scripts/broker-logins.sh` on the
//! one-machine broker, `kafka-configs --alter --add-config SCRAM-SHA-512=…` on a cluster).

use std::path::{Path, PathBuf};

use rand_core::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::error::TrustError;

/// The principal of the network's own tools (`yidi loadgen`, `yidi dlq`).
pub const OPERATOR: &str = "operator";

/// The SASL mechanism of every login: SCRAM keeps only a salted verifier on the broker, and
/// never sends the password itself.
pub const MECHANISM: &str = "SCRAM-SHA-512";

/// A principal's name and password.
#[derive(Clone)]
pub struct Login {
    pub username: String,
    password: SecretString,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(f, "Login({})", self.username)
    }
}

/// Where `subject`'s broker password lives in a credentials directory.
pub fn path(dir: &Path, subject: &str) -> PathBuf {
    dir.join(format!("{subject}.broker-password"))
}

impl Login {
    pub fn new(username: &str, password: SecretString) -> Login {
        Login { username: username.to_owned(), password }
    }

    /// `subject`'s login from `dir`, or `None` when it has none there (a broker reached
    /// another way, e.g. with TLS client certificates set in the service's `kafka` settings).
    pub fn load(dir: &Path, subject: &str) -> Result<Option<Login>, TrustError> {
        let file = path(dir, subject);
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let password = text.trim();
                if password.is_empty() {
                    return Err(TrustError::File { path: file, detail: "empty password".into() });
                }
                Ok(Some(Login::new(subject, password.into())))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(TrustError::Io { path: file, source }),
        }
    }

    /// The password, for the client library that sends it (SCRAM proves it, never sends it).
    pub fn password(&self) -> &str {
        self.password.expose_secret()
    }
}

/// Makes `subject`'s broker password in `dir` unless it is there: 32 random bytes in hex.
pub fn ensure(dir: &Path, subject: &str) -> Result<(), TrustError> {
    if Login::load(dir, subject)?.is_some() {
        return Ok(());
    }
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    crate::keys::write_secret(&path(dir, subject), &hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("yidi-login-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(Login::load(&dir, "his-440000").unwrap().is_none());
        ensure(&dir, "his-440000").unwrap();
        let first = Login::load(&dir, "his-440000").unwrap().unwrap();
        ensure(&dir, "his-440000").unwrap();
        let again = Login::load(&dir, "his-440000").unwrap().unwrap();
        assert_eq!(first.password(), again.password());
        assert_eq!(first.password().len(), 64);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path(&dir, "his-440000")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the password is readable by its owner only");
        assert_eq!(format!("{first:?}"), "Login(his-440000)", "never printed");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
