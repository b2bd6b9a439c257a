//! Personal identifiers outside the insured agency: keyed tokens (issue #11 §6).
//!
//! The hub needs to know that two records are about the same person (the national filing
//! database, the settled bills behind clearing), never who the person is. It keeps
//! `HMAC-SM3(network key, psn_no)` instead of the number: stable across records, useless
//! without the key, and not reversible by trying every plausible person number without it.
//! The key is the network's, made once by `yidi keys init` (`person-token.key`, owner-only)
//! and given to the parties that keep tokens.

use std::path::Path;

use hmac::{Hmac, Mac};
use rand_core::RngCore;
use secrecy::{ExposeSecret, SecretBox};

use crate::error::TrustError;

/// The network's token key in a credentials directory.
pub const KEY_FILE: &str = "person-token.key";

/// Makes person tokens with the network's key.
pub struct PersonTokens {
    key: SecretBox<[u8; 32]>,
}

impl std::fmt::Debug for PersonTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonTokens(..)") // never the key
    }
}

impl PersonTokens {
    pub fn new(key: [u8; 32]) -> PersonTokens {
        PersonTokens { key: SecretBox::new(Box::new(key)) }
    }

    /// The network's key from `dir` (`person-token.key`, 64 hex digits).
    pub fn load(dir: &Path) -> Result<PersonTokens, TrustError> {
        let path = dir.join(KEY_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|source| TrustError::Io { path: path.clone(), source })?;
        let bytes = hex::decode(text.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| TrustError::File { path, detail: "not 32 bytes in hex".into() })?;
        Ok(PersonTokens::new(bytes))
    }

    /// The token of person number `psn_no`: `T` and 64 hex digits.
    pub fn token(&self, psn_no: &str) -> String {
        let Ok(mut mac) = Hmac::<sm3::Sm3>::new_from_slice(self.key.expose_secret()) else {
            unreachable!("HMAC takes a key of any length")
        };
        mac.update(psn_no.as_bytes());
        format!("T{}", hex::encode(mac.finalize().into_bytes()))
    }
}

/// Makes the network's token key in `dir` unless it is there.
pub(crate) fn ensure(dir: &Path) -> Result<(), TrustError> {
    if dir.join(KEY_FILE).exists() {
        return Ok(());
    }
    let mut key = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut key);
    crate::keys::write_secret(&dir.join(KEY_FILE), &hex::encode(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_stable_keyed_and_not_the_number() {
        let tokens = PersonTokens::new([7; 32]);
        let psn_no = "120000000000000000001";
        let token = tokens.token(psn_no);
        assert_eq!(token, tokens.token(psn_no), "the same person, the same token");
        assert_eq!(token.len(), 65);
        assert!(!token.contains(psn_no));
        assert_ne!(token, tokens.token("120000000000000000002"));
        assert_ne!(token, PersonTokens::new([8; 32]).token(psn_no), "another key, another token");
    }

    #[test]
    fn the_key_is_made_once() {
        let dir = std::env::temp_dir().join(format!("yidi-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        ensure(&dir).unwrap();
        let first = PersonTokens::load(&dir).unwrap().token("x");
        ensure(&dir).unwrap();
        assert_eq!(PersonTokens::load(&dir).unwrap().token("x"), first);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
