//! The bytes a signature covers.

use std::fmt;
use std::str::FromStr;

use crate::error::AuthError;

/// What a signature covers: the topic the message was sent to, who signed it and when, the
/// headers that decide its meaning (in a fixed order, an absent one marked absent), and the
/// payload. Each field is written with its length, so no two envelopes share their bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub topic: &'a str,
    pub signer: &'a str,
    /// Milliseconds since the Unix epoch, as decimal text.
    pub signed_at: &'a str,
    pub headers: Vec<(&'a str, Option<&'a str>)>,
    pub payload: &'a [u8],
}

const DOMAIN: &[u8] = b"yidi.envelope.v1";

/// The headers a signed message carries its signature in: who signed it, when (ms since the
/// Unix epoch), and the SM2 signature in hex. They are the only headers a signature does not
/// cover.
pub const SIGNER_HEADER: &str = "yidi-signer";
pub const SIGNED_AT_HEADER: &str = "yidi-signed-at";
pub const SIGNATURE_HEADER: &str = "yidi-signature";
pub const SIGNATURE_HEADERS: [&str; 3] = [SIGNER_HEADER, SIGNED_AT_HEADER, SIGNATURE_HEADER];

fn field(bytes: &mut Vec<u8>, value: &[u8]) {
    bytes.extend_from_slice(&u64::try_from(value.len()).unwrap_or(u64::MAX).to_le_bytes());
    bytes.extend_from_slice(value);
}

/// The headers a signature covers: all but its own, by name (the last of a repeated name, as
/// a receiver reads them).
pub fn covered<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<(&'a str, Option<&'a str>)> {
    let map: std::collections::BTreeMap<&str, &str> =
        headers.filter(|(name, _)| !SIGNATURE_HEADERS.contains(name)).collect();
    map.into_iter().map(|(name, value)| (name, Some(value))).collect()
}

impl<'a> Envelope<'a> {
    /// What a received message's signature covers, read from its headers, with the signature
    /// itself; [`AuthError::Unsigned`] when a signature header is missing.
    pub fn read(
        topic: &'a str,
        headers: &'a std::collections::BTreeMap<String, String>,
        payload: &'a [u8],
    ) -> Result<(Envelope<'a>, &'a str), AuthError> {
        let [signer, signed_at, signature] =
            SIGNATURE_HEADERS.map(|name| headers.get(name).map(String::as_str));
        let (Some(signer), Some(signed_at), Some(signature)) = (signer, signed_at, signature)
        else {
            return Err(AuthError::Unsigned);
        };
        let headers = covered(headers.iter().map(|(name, value)| (name.as_str(), value.as_str())));
        Ok((Envelope { topic, signer, signed_at, headers, payload }, signature))
    }
}

impl Envelope<'_> {
    pub fn bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.payload.len() + 256);
        field(&mut bytes, DOMAIN);
        field(&mut bytes, self.topic.as_bytes());
        field(&mut bytes, self.signer.as_bytes());
        field(&mut bytes, self.signed_at.as_bytes());
        bytes.extend_from_slice(
            &u64::try_from(self.headers.len()).unwrap_or(u64::MAX).to_le_bytes(),
        );
        for (name, value) in &self.headers {
            field(&mut bytes, name.as_bytes());
            match value {
                Some(value) => {
                    bytes.push(1);
                    field(&mut bytes, value.as_bytes());
                }
                None => bytes.push(0),
            }
        }
        field(&mut bytes, self.payload);
        bytes
    }

    /// The signing time, checked against `now` (ms since the epoch): not older than `window`,
    /// not further ahead than `skew`.
    pub fn fresh(&self, now_ms: i64, window_ms: i64, skew_ms: i64) -> Result<(), AuthError> {
        let stale = || AuthError::Stale { signed_at: self.signed_at.to_owned() };
        let signed_at: i64 = self.signed_at.parse().map_err(|_| stale())?;
        if signed_at < now_ms.saturating_sub(window_ms)
            || signed_at > now_ms.saturating_add(skew_ms)
        {
            return Err(stale());
        }
        Ok(())
    }
}

/// An SM2 signature, written as 128 hex digits (r ‖ s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature(pub(crate) sm2::dsa::Signature);

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0.to_bytes()))
    }
}

impl FromStr for Signature {
    type Err = AuthError;

    fn from_str(text: &str) -> Result<Signature, AuthError> {
        let forged = |why: &str| AuthError::Forged(format!("signature: {why}"));
        let bytes = hex::decode(text).map_err(|_| forged("not hex"))?;
        sm2::dsa::Signature::from_slice(&bytes)
            .map(Signature)
            .map_err(|_| forged("not an SM2 signature"))
    }
}
