//! Signing what a service sends and admitting what it receives (issue #11 §2).
//!
//! Every message is signed by its sender (`yidi_trust`, SM2 over SM3) over the topic, the
//! signer, the signing time, every header but the signature's own, and the payload. A
//! receiver admits a message only when the signature is its signer's, the signer's certificate
//! is the root's and valid, the signing time is inside the window, and the signer's role may
//! publish on that topic at all. What it says — which region, which province — is the
//! service's to check against the signer's role ([`Incoming::authorize`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use yidi_trust::bundle::Party;
use yidi_trust::envelope::{covered, SIGNATURE_HEADER, SIGNED_AT_HEADER, SIGNER_HEADER};
use yidi_trust::{AuthError, Bundle, Credentials, Envelope, Role};

use crate::failure::Rejection;
use crate::message::{Incoming, Outgoing};
use crate::topics;

/// Who a received message is from, as far as the runtime could tell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Signer {
    /// Not checked: the bus has no trust configured (in-process tests, tools).
    #[default]
    Unchecked,
    /// Not signed, on a topic that takes unsigned messages (a HIS without credentials).
    Anonymous,
    /// Signed, and the signature verified.
    Verified(Party),
}

/// A service's credentials and the network's bundle.
#[derive(Clone, Debug)]
pub struct Trust {
    pub credentials: Arc<Credentials>,
    pub bundle: Arc<Bundle>,
    /// Topics on which a message without a signature is taken (as [`Signer::Anonymous`]):
    /// a HIS's discharges, where hospitals may not hold credentials yet.
    pub unsigned_topics: BTreeSet<String>,
}

impl Trust {
    /// The signature headers for `message`, signed at `now`.
    pub fn sign(&self, message: &Outgoing, now: DateTime<Utc>) -> [(&'static str, String); 3] {
        let signed_at = now.timestamp_millis().to_string();
        let envelope = Envelope {
            topic: &message.topic,
            signer: self.credentials.subject(),
            signed_at: &signed_at,
            headers: covered(
                message.headers.iter().map(|(name, value)| (name.as_str(), value.as_str())),
            ),
            payload: &message.payload,
        };
        let signature = self.credentials.sign(&envelope).to_string();
        [
            (SIGNER_HEADER, self.credentials.subject().to_owned()),
            (SIGNED_AT_HEADER, signed_at),
            (SIGNATURE_HEADER, signature),
        ]
    }

    /// Admits `incoming` or says why not; on admission, records who signed it.
    pub fn admit(&self, incoming: &mut Incoming, now: DateTime<Utc>) -> Result<(), AuthError> {
        let (envelope, signature) =
            match Envelope::read(&incoming.topic, &incoming.headers, &incoming.payload) {
                Ok(read) => read,
                Err(AuthError::Unsigned) if self.unsigned_topics.contains(&incoming.topic) => {
                    incoming.signer = Signer::Anonymous;
                    return Ok(());
                }
                Err(error) => return Err(error),
            };
        let party = self.bundle.verify(&envelope, signature, now)?;
        if !may_publish(&party.role, &incoming.topic) {
            return Err(AuthError::NotAllowed {
                signer: party.subject,
                role: party.role.to_string(),
                what: format!("publish on {}", incoming.topic),
            });
        }
        incoming.signer = Signer::Verified(party);
        Ok(())
    }
}

/// The fewest messages worth a thread of their own: one SM2 verification is ~0.6 ms, a
/// thread's start some microseconds.
const PER_THREAD_MIN: usize = 4;

/// `work` over each of `items`, in order, on as many of the machine's cores as the items
/// fill: a full batch signed or verified on one core would hold every lane back (SM2 costs
/// ~0.4 ms a signature and ~0.6 ms a verification on the development VM).
pub(crate) fn on_all_cores<T, R>(items: &mut [T], work: impl Fn(&mut T) -> R + Sync) -> Vec<R>
where
    T: Send,
    R: Send,
{
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let threads = cores.min(items.len() / PER_THREAD_MIN).max(1);
    if threads == 1 {
        return items.iter_mut().map(work).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let work = &work;
        let parts: Vec<_> = items
            .chunks_mut(chunk)
            .map(|part| scope.spawn(move || part.iter_mut().map(work).collect::<Vec<R>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    })
}

/// Whether a party in `role` may publish on `topic` at all: exchanges submit to the hub,
/// agencies answer and file to it, only the hub writes to agencies and exchanges, and a
/// HIS writes its own province's discharges. Anyone verified may write a dead letter.
pub fn may_publish(role: &Role, topic: &str) -> bool {
    let province_of = |topic: &str, prefix: &str, suffix: &str| {
        topic
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .and_then(|code| code.parse::<yidi_domain::ids::RegionCode>().ok())
    };
    match topic {
        topics::HUB_REQUESTS => matches!(role, Role::Exchange(_)),
        // An exchange's statements of clearing periods and days; an agency's of days.
        topics::HUB_STATEMENTS => matches!(role, Role::Exchange(_) | Role::Agency(_)),
        topics::HUB_RESULTS | topics::FILING | topics::HUB_SANCTIONS => {
            matches!(role, Role::Agency(_))
        }
        topics::DEAD_LETTER => !matches!(role, Role::Root),
        _ => {
            if province_of(topic, "agency.", ".requests").is_some()
                || province_of(topic, "exchange.", ".results").is_some()
                || province_of(topic, "exchange.", ".statements").is_some()
                || province_of(topic, "exchange.", ".hospitals").is_some()
            {
                return role.is_hub();
            }
            if let Some(province) = province_of(topic, "his.", ".discharge") {
                return matches!(role, Role::His(_)) && role.treats_in(province);
            }
            if let Some(province) = province_of(topic, "his.", ".settlement") {
                return matches!(role, Role::Exchange(_)) && role.treats_in(province);
            }
            false
        }
    }
}

impl Incoming {
    /// Checks that the signer may say what this message says: `allowed` of its role. A
    /// message the runtime did not check (no trust configured) passes; an anonymous one does
    /// not. `what` names the claim in the refusal (`AUTH_NOT_ALLOWED`).
    pub fn authorize(&self, allowed: impl Fn(&Role) -> bool, what: &str) -> Result<(), Rejection> {
        let refuse = |signer: &str, role: String| -> Rejection {
            AuthError::NotAllowed { signer: signer.to_owned(), role, what: what.to_owned() }.into()
        };
        match &self.signer {
            Signer::Unchecked => Ok(()),
            Signer::Anonymous => Err(refuse("an unsigned sender", "none".into())),
            Signer::Verified(party) if allowed(&party.role) => Ok(()),
            Signer::Verified(party) => Err(refuse(&party.subject, party.role.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use yidi_wire::codec::ContentType;
    use yidi_wire::headers;
    use yidi_wire::v1::SettleResult;

    /// A network's credentials in a fresh folder, and the trust of `name` in it.
    fn trust_of(dir: &std::path::Path, name: &str) -> Trust {
        let parties = [
            ("hub".to_owned(), Role::Hub),
            ("agency-north".to_owned(), role("agency:110000,120000")),
            ("exchange-310000".to_owned(), role("exchange:310000")),
        ];
        yidi_trust::keys::init(dir, &parties, Utc::now().date_naive()).unwrap();
        Trust {
            credentials: Arc::new(Credentials::load(dir, name).unwrap()),
            bundle: Arc::new(Bundle::load(&dir.join(yidi_trust::keys::BUNDLE)).unwrap()),
            unsigned_topics: [topics::his_discharge("310000")].into_iter().collect(),
        }
    }

    /// `message` as a receiver reads it, signed by `trust` at `at`.
    fn signed(trust: &Trust, message: Outgoing, at: DateTime<Utc>) -> Incoming {
        let signature = trust.sign(&message, at);
        let message = signature.iter().fold(message, |m, (name, value)| m.with_header(name, value));
        Incoming::read_back(message, 0, 0)
    }

    fn result_message() -> Outgoing {
        let result = SettleResult {
            msgid: "M1".into(),
            insuplc_admdvs: "120000".into(),
            ..Default::default()
        };
        Outgoing::new(
            topics::HUB_RESULTS,
            "k",
            "yidi.v1.SettleResult",
            &result,
            ContentType::Protobuf,
        )
        .with_header(headers::MSGID, "M1")
    }

    #[test]
    fn a_receiver_admits_only_messages_signed_by_a_party_allowed_on_the_topic() {
        let dir = std::env::temp_dir().join(format!("yidi-authority-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (north, shanghai, hub) = (
            trust_of(&dir, "agency-north"),
            trust_of(&dir, "exchange-310000"),
            trust_of(&dir, "hub"),
        );
        let now = Utc::now();
        let refused = |mut incoming: Incoming| hub.admit(&mut incoming, now).unwrap_err().code();

        let mut genuine = signed(&north, result_message(), now);
        hub.admit(&mut genuine, now).unwrap();
        assert!(matches!(&genuine.signer, Signer::Verified(p) if p.subject == "agency-north"));

        let mut tampered = signed(&north, result_message(), now);
        tampered.payload.push(0);
        assert_eq!(refused(tampered), "AUTH_FORGED");
        let mut renamed = signed(&north, result_message(), now);
        renamed.headers.insert(headers::MSGID.into(), "M2".into());
        assert_eq!(refused(renamed), "AUTH_FORGED", "a signed header changed");
        assert_eq!(refused(Incoming::read_back(result_message(), 0, 0)), "AUTH_UNSIGNED");
        assert_eq!(
            refused(signed(&shanghai, result_message(), now)),
            "AUTH_NOT_ALLOWED",
            "an exchange issues no results"
        );
        let old = now - yidi_trust::SIGNATURE_WINDOW - chrono::Duration::minutes(1);
        assert_eq!(refused(signed(&north, result_message(), old)), "AUTH_STALE");

        let mut anonymous = Incoming::read_back(
            Outgoing { topic: topics::his_discharge("310000"), ..result_message() },
            0,
            0,
        );
        hub.admit(&mut anonymous, now).unwrap();
        assert_eq!(anonymous.signer, Signer::Anonymous, "a HIS may send unsigned bills");
        assert!(anonymous.authorize(|_| true, "anything").is_err(), "but claims nothing");
        let _ = std::fs::remove_dir_all(dir);
    }

    fn role(text: &str) -> Role {
        text.parse().unwrap()
    }

    #[test]
    fn work_on_all_cores_comes_back_in_the_order_of_its_items() {
        for count in [0, 1, 3, 4, 9, 257] {
            let mut items: Vec<usize> = (0..count).collect();
            let doubled = on_all_cores(&mut items, |n| *n * 2);
            assert_eq!(doubled, (0..count).map(|n| n * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    fn each_topic_takes_messages_only_from_the_role_that_writes_it() {
        let (hub, north, shanghai, his) =
            (Role::Hub, role("agency:110000,120000"), role("exchange:310000"), role("his:310000"));
        assert!(may_publish(&shanghai, topics::HUB_REQUESTS));
        assert!(!may_publish(&north, topics::HUB_REQUESTS), "an agency submits no bills");
        assert!(may_publish(&north, topics::HUB_RESULTS));
        assert!(may_publish(&north, topics::HUB_SANCTIONS), "an agency halts its own persons");
        assert!(!may_publish(&shanghai, topics::HUB_SANCTIONS));
        assert!(!may_publish(&hub, topics::HUB_SANCTIONS));
        assert!(!may_publish(&shanghai, topics::HUB_RESULTS), "an exchange issues no results");
        assert!(!may_publish(&hub, topics::HUB_RESULTS));
        assert!(may_publish(&hub, &topics::agency_requests("120000")));
        assert!(!may_publish(&shanghai, &topics::agency_requests("120000")), "only the hub routes");
        assert!(may_publish(&hub, &topics::exchange_results("310000")));
        assert!(!may_publish(&north, &topics::exchange_results("310000")));
        assert!(may_publish(&his, &topics::his_discharge("310000")));
        assert!(!may_publish(&his, &topics::his_discharge("440000")), "another province's HIS");
        assert!(!may_publish(&shanghai, "somewhere.else"));
    }
}
