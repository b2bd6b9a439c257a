//! A receipt a hospital shows an auditor (issue #11 §3): the insured agency's result exactly as
//! the agency signed it, and the hub's countersignature over it as the hub forwarded it (with
//! the clearing period it stamped). Anyone with the network's bundle checks one offline.

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bundle::{Bundle, Party};
use crate::envelope::Envelope;
use crate::error::AuthError;

/// The header in which the hub forwards what the agency signed (topic and headers, as JSON).
pub const ORIGIN_HEADER: &str = "yidi-origin";

/// One signed message: the topic it was sent to and every header it carried (the signature's
/// own among them). The payload is the receipt's, shared by both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    pub topic: String,
    pub headers: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The result as the agency sent it, byte for byte (base64), and how it is encoded.
    pub payload: String,
    pub content_type: String,
    /// The agency's message.
    pub agency: Signed,
    /// The hub's message forwarding it: its headers carry the agency's in [`ORIGIN_HEADER`].
    pub hub: Signed,
}

/// A receipt whose two signatures verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub agency: Party,
    pub hub: Party,
    pub payload: Vec<u8>,
    pub signed_at: DateTime<Utc>,
}

fn forged(why: impl Into<String>) -> AuthError {
    AuthError::Forged(why.into())
}

impl Signed {
    /// Verifies this message's signature over `payload`, with the certificate as it was on
    /// the day it was signed (a receipt is checked long after; no freshness window applies).
    fn verify(&self, bundle: &Bundle, payload: &[u8]) -> Result<(Party, DateTime<Utc>), AuthError> {
        let (envelope, signature) = Envelope::read(&self.topic, &self.headers, payload)?;
        let at = envelope
            .signed_at
            .parse::<i64>()
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .ok_or_else(|| AuthError::Stale { signed_at: envelope.signed_at.to_owned() })?;
        Ok((bundle.verify_as_of(&envelope, signature, at)?, at))
    }
}

impl Receipt {
    /// The receipt of a result the hub forwarded: `hub` is that message (topic and headers),
    /// `payload` its value, which is the agency's, byte for byte.
    pub fn of(hub: Signed, payload: &[u8], content_type: &str) -> Result<Receipt, AuthError> {
        let origin = hub
            .headers
            .get(ORIGIN_HEADER)
            .ok_or_else(|| forged("the hub's message names no origin"))?;
        let agency: Signed =
            serde_json::from_str(origin).map_err(|e| forged(format!("origin: {e}")))?;
        Ok(Receipt {
            payload: base64::engine::general_purpose::STANDARD.encode(payload),
            content_type: content_type.to_owned(),
            agency,
            hub,
        })
    }

    /// Checks both signatures against `bundle`, and that what the hub countersigned is the
    /// agency's message as the receipt shows it. Who may have said it (the agency of the
    /// result's insured region; the hub) is the caller's to check on the decoded result.
    pub fn verify(&self, bundle: &Bundle) -> Result<Verified, AuthError> {
        let payload = base64::engine::general_purpose::STANDARD
            .decode(&self.payload)
            .map_err(|_| forged("payload: not base64"))?;
        let countersigned = self.hub.headers.get(ORIGIN_HEADER).map(String::as_str);
        if countersigned.map(serde_json::from_str::<Signed>).and_then(Result::ok).as_ref()
            != Some(&self.agency)
        {
            return Err(forged("the hub countersigned another message than the agency's"));
        }
        let content_type = |signed: &Signed| signed.headers.get("content-type").cloned();
        if content_type(&self.agency).as_deref() != Some(self.content_type.as_str()) {
            return Err(forged("content_type: not the one the agency signed"));
        }
        let (agency, signed_at) = self.agency.verify(bundle, &payload)?;
        let (hub, _) = self.hub.verify(bundle, &payload)?;
        if !hub.role.is_hub() {
            return Err(AuthError::NotAllowed {
                signer: hub.subject,
                role: hub.role.to_string(),
                what: "countersign for the hub".into(),
            });
        }
        Ok(Verified { agency, hub, payload, signed_at })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;
    use crate::envelope::{SIGNATURE_HEADER, SIGNED_AT_HEADER, SIGNER_HEADER};
    use crate::keys::{init, Credentials, BUNDLE};
    use crate::role::Role;

    /// `headers` signed by `credentials` on `topic` over `payload`, as the bus signs.
    fn sign(
        credentials: &Credentials,
        topic: &str,
        mut headers: BTreeMap<String, String>,
        payload: &[u8],
    ) -> Signed {
        let at = Utc::now().timestamp_millis().to_string();
        let envelope = Envelope {
            topic,
            signer: credentials.subject(),
            signed_at: &at,
            headers: headers.iter().map(|(n, v)| (n.as_str(), Some(v.as_str()))).collect(),
            payload,
        };
        let signature = credentials.sign(&envelope).to_string();
        headers.insert(SIGNER_HEADER.into(), credentials.subject().into());
        headers.insert(SIGNED_AT_HEADER.into(), at);
        headers.insert(SIGNATURE_HEADER.into(), signature);
        Signed { topic: topic.into(), headers }
    }

    /// A receipt as the network makes one: the agency signs its result, the hub forwards it
    /// with the agency's message in `yidi-origin` and signs that.
    fn network() -> (Bundle, Receipt) {
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("yidi-receipt-{}-{n}", std::process::id()));
        let parties = [
            ("hub".to_owned(), Role::Hub),
            ("agency-north".to_owned(), "agency:110000,120000".parse().unwrap()),
        ];
        init(&dir, &parties, Utc::now().date_naive()).unwrap();
        let bundle = Bundle::load(&dir.join(BUNDLE)).unwrap();
        let payload = b"\x0a\x03M-1 the result".to_vec();
        let agency_headers: BTreeMap<String, String> = [
            ("msgid", "M-1"),
            ("content-type", "application/x-protobuf"),
            ("msg_type", "yidi.v1.SettleResult"),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
        let agency = sign(
            &Credentials::load(&dir, "agency-north").unwrap(),
            "hub.results",
            agency_headers.clone(),
            &payload,
        );
        let mut hub_headers = agency_headers;
        hub_headers.insert("clearing_period".into(), "2026-11".into());
        hub_headers.insert(ORIGIN_HEADER.into(), serde_json::to_string(&agency).unwrap());
        let hub = sign(
            &Credentials::load(&dir, "hub").unwrap(),
            "exchange.440000.results",
            hub_headers,
            &payload,
        );
        let receipt = Receipt::of(hub, &payload, "application/x-protobuf").unwrap();
        let _ = std::fs::remove_dir_all(dir);
        (bundle, receipt)
    }

    /// Every field of a receipt, as a place to change one character.
    fn fields(receipt: &mut Receipt) -> Vec<&mut String> {
        let mut fields = vec![&mut receipt.payload, &mut receipt.content_type];
        for signed in [&mut receipt.agency, &mut receipt.hub] {
            fields.push(&mut signed.topic);
            fields.extend(signed.headers.values_mut());
        }
        fields
    }

    #[test]
    fn a_receipt_made_by_the_network_verifies_as_the_agencys_countersigned_by_the_hub() {
        let (bundle, receipt) = network();
        let verified = receipt.verify(&bundle).unwrap();
        assert_eq!(
            (verified.agency.subject.as_str(), verified.hub.subject.as_str()),
            ("agency-north", "hub")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Issue #11 "Checked by": a receipt with any single field changed is refused.
        #[test]
        fn a_receipt_with_any_one_field_changed_is_refused(field in 0usize..64, at in 0usize..4096, by in 1u8..=255) {
            let (bundle, mut receipt) = network();
            let mut all = fields(&mut receipt);
            let count = all.len();
            let text = &mut all[field % count];
            let mut bytes = std::mem::take(*text).into_bytes();
            if bytes.is_empty() {
                bytes.push(b'x');
            } else {
                let i = at % bytes.len();
                bytes[i] = bytes[i].wrapping_add(by);
            }
            **text = String::from_utf8_lossy(&bytes).into_owned();
            prop_assert!(receipt.verify(&bundle).is_err());
        }
    }
}
