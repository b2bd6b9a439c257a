//! Who may say what on the yidi network.
//!
//! Every party — the hub, each agency, each exchange, and optionally each hospital's HIS — holds
//! an SM2 key pair and a certificate the network's root signed: its name, its role (which
//! regions it speaks for) and its public key. Every message a party sends is signed over its
//! payload and the headers that decide its meaning; every receiver checks the signature, the
//! certificate behind it and the signing time before anything else, and then — in the service,
//! which knows what the message says — that the signer may say it.
//!
//! China's commercial cryptography, as the national platform uses it: SM2 signatures
//! (GB/T 32918) over SM3 digests (GB/T 32905), from RustCrypto's `sm2` crate, with the
//! standard's default distinguishing identifier.
//!
//! # Layout
//! - [`role`]: what a party is and which regions it speaks for.
//! - [`certificate`]: a party's public key and role, signed by the root.
//! - [`keys`]: a party's credentials (secret key and certificate) and the files they live in;
//!   [`keys::init`] makes a network's root and every party's credentials.
//! - [`login`]: a party's login to the brokers (SASL/SCRAM), made by [`keys::init`] too.
//! - [`tls`]: the same parties' X.509 certificates for gRPC over TLS, and who a peer is.
//! - [`token`]: personal identifiers as keyed tokens, where a party must not keep them.
//! - [`envelope`]: the bytes a signature covers.
//! - [`bundle`]: the root and every certificate: verifies signatures.
//! - [`receipt`]: an agency's result with the hub's countersignature, checkable offline.
//! - [`error`]: why something is refused, each with a stable `AUTH_*` code.

pub mod bundle;
pub mod certificate;
pub mod envelope;
pub mod error;
pub mod keys;
pub mod login;
pub mod receipt;
pub mod role;
pub mod tls;
pub mod token;

pub use bundle::Bundle;
pub use certificate::Certificate;
pub use envelope::{Envelope, Signature};
pub use error::{AuthError, TrustError};
pub use keys::Credentials;
pub use login::Login;
pub use receipt::Receipt;
pub use role::Role;

/// How long a signed message stays acceptable after it was signed. Longer than any fault the
/// network waits out (a replay inside it meets the receiver's inbox and changes nothing); a
/// message older than this is refused (`AUTH_STALE`) and lands with the dead letters, where a
/// person decides.
pub const SIGNATURE_WINDOW: chrono::Duration = chrono::Duration::days(7);

/// How far ahead of the receiver's clock a signing time may be (clocks drift).
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);
