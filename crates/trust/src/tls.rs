//! The same parties on gRPC: X.509 certificates for TLS with client certificates.
//!
//! The network's SM2 certificates sign messages; TLS libraries (rustls) do not speak SM2, so
//! each party also holds an ECDSA P-256 certificate issued by the network's TLS root, made by
//! the same `yidi keys init` from the same list of parties. It names the party (common name,
//! and a DNS name for its host) and its role, as a URI `yidi:<role>` (`yidi:agency:110000,120000`),
//! so a server learns who calls from the certificate its TLS layer verified ([`peer`]).
//!
//! Files in a credentials directory: `tls-ca.pem` (the TLS root's certificate, public, what
//! every party trusts), `tls-ca.key` (only where certificates are issued), and per party
//! `<subject>.tls.pem` and `<subject>.tls.key` (owner-only).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use crate::error::TrustError;
use crate::role::Role;

/// The TLS root's certificate in a credentials directory.
pub const CA_CERTIFICATE: &str = "tls-ca.pem";
const CA_KEY: &str = "tls-ca.key";
/// The URI scheme a certificate's role is written in.
const ROLE_SCHEME: &str = "yidi:";

/// A party's TLS identity and the root it trusts, as PEM text.
#[derive(Clone)]
pub struct TlsFiles {
    pub certificate: String,
    pub key: String,
    pub ca: String,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsFiles(..)") // never the key
    }
}

fn certificate_path(dir: &Path, subject: &str) -> PathBuf {
    dir.join(format!("{subject}.tls.pem"))
}

fn key_path(dir: &Path, subject: &str) -> PathBuf {
    dir.join(format!("{subject}.tls.key"))
}

fn read(path: &Path) -> Result<String, TrustError> {
    std::fs::read_to_string(path).map_err(|source| TrustError::Io { path: path.to_owned(), source })
}

fn failed(what: &str) -> impl Fn(rcgen::Error) -> TrustError + '_ {
    move |error| TrustError::Invalid(format!("{what}: {error}"))
}

impl TlsFiles {
    /// `subject`'s TLS certificate and key, and the TLS root, from `dir`.
    pub fn load(dir: &Path, subject: &str) -> Result<TlsFiles, TrustError> {
        Ok(TlsFiles {
            certificate: read(&certificate_path(dir, subject))?,
            key: read(&key_path(dir, subject))?,
            ca: read(&dir.join(CA_CERTIFICATE))?,
        })
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "yidi network TLS root");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn validity(params: &mut CertificateParams, today: NaiveDate, days: i64) {
    let from = today - chrono::Duration::days(1);
    let to = today + chrono::Duration::days(days);
    let at = |d: NaiveDate| {
        rcgen::date_time_ymd(
            d.year(),
            u8::try_from(d.month()).unwrap_or(1),
            u8::try_from(d.day()).unwrap_or(1),
        )
    };
    params.not_before = at(from);
    params.not_after = at(to);
}

/// Makes the TLS root unless it is there, and each party's TLS certificate unless one with the
/// same role, from the same root, is there.
pub(crate) fn init(
    dir: &Path,
    parties: &[(String, Role)],
    today: NaiveDate,
    days: i64,
) -> Result<(), TrustError> {
    let ca_key_path = dir.join(CA_KEY);
    let (ca_key, fresh_root) = if ca_key_path.exists() {
        let pem = read(&ca_key_path)?;
        (KeyPair::from_pem(&pem).map_err(failed("tls-ca.key"))?, false)
    } else {
        let key = KeyPair::generate().map_err(failed("a TLS root key"))?;
        let mut params = ca_params();
        validity(&mut params, today, days);
        let certificate = params.self_signed(&key).map_err(failed("the TLS root"))?;
        crate::keys::write_secret(&ca_key_path, &key.serialize_pem())?;
        crate::keys::write_public(&dir.join(CA_CERTIFICATE), &certificate.pem())?;
        (key, true)
    };
    let issuer = Issuer::new(ca_params(), &ca_key);
    // A certificate is renewed a month before it lapses, as `yidi keys init` runs again.
    let renew_by = today + chrono::Duration::days(RENEW_DAYS);
    for (subject, role) in parties {
        let current = std::fs::read_to_string(certificate_path(dir, subject)).ok();
        let kept = current.as_deref().and_then(|pem| current_of_pem(pem).ok());
        if !fresh_root
            && kept
                .is_some_and(|(name, r, until)| name == *subject && r == *role && until > renew_by)
        {
            continue;
        }
        let key = KeyPair::generate().map_err(failed("a TLS key"))?;
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, subject.as_str());
        params.distinguished_name = name;
        let ia5 = |text: String| {
            text.clone().try_into().map_err(|_| TrustError::Invalid(format!("TLS name {text:?}")))
        };
        params.subject_alt_names = vec![
            SanType::URI(ia5(format!("{ROLE_SCHEME}{role}"))?),
            SanType::DnsName(ia5(subject.clone())?),
            SanType::DnsName(ia5("localhost".into())?),
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        validity(&mut params, today, days);
        let certificate = params.signed_by(&key, &issuer).map_err(failed(subject))?;
        crate::keys::write_secret(&key_path(dir, subject), &key.serialize_pem())?;
        crate::keys::write_public(&certificate_path(dir, subject), &certificate.pem())?;
    }
    Ok(())
}

/// How long before it lapses a party's TLS certificate is issued anew.
const RENEW_DAYS: i64 = 30;

/// A certificate file's subject, role and last valid day.
fn current_of_pem(pem: &str) -> Result<(String, Role, NaiveDate), TrustError> {
    let invalid = |e: String| TrustError::Invalid(format!("a TLS certificate: {e}"));
    let (_, parsed) =
        x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|e| invalid(e.to_string()))?;
    let certificate = parsed.parse_x509().map_err(|e| invalid(e.to_string()))?;
    let (subject, role) = named(&certificate)?;
    let until = chrono::DateTime::from_timestamp(certificate.validity().not_after.timestamp(), 0)
        .ok_or_else(|| invalid("a validity out of range".into()))?
        .date_naive();
    Ok((subject, role, until))
}

/// Who a verified TLS peer certificate (DER) names: its subject and role. Only meaningful for
/// a certificate the TLS layer has verified against the network's TLS root.
pub fn peer(der: &[u8]) -> Result<(String, Role), TrustError> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| TrustError::Invalid("peer certificate: not X.509".into()))?;
    named(&certificate)
}

/// The subject and role a parsed certificate names.
fn named(
    certificate: &x509_parser::certificate::X509Certificate<'_>,
) -> Result<(String, Role), TrustError> {
    let invalid = |why: &str| TrustError::Invalid(format!("peer certificate: {why}"));
    let subject = certificate
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .ok_or_else(|| invalid("no common name"))?
        .to_owned();
    let names = certificate
        .subject_alternative_name()
        .map_err(|_| invalid("unreadable names"))?
        .ok_or_else(|| invalid("no alternative names"))?;
    let role = names
        .value
        .general_names
        .iter()
        .find_map(|name| match name {
            x509_parser::extensions::GeneralName::URI(uri) => uri.strip_prefix(ROLE_SCHEME),
            _ => None,
        })
        .ok_or_else(|| invalid("no yidi role"))?
        .parse::<Role>()
        .map_err(|e| invalid(&e.to_string()))?;
    Ok((subject, role))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer_of_pem(pem: &str) -> Result<(String, Role), TrustError> {
        current_of_pem(pem).map(|(subject, role, _)| (subject, role))
    }

    #[test]
    fn a_party_s_tls_certificate_names_it_and_its_role() {
        let dir = std::env::temp_dir().join(format!("yidi-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let parties = vec![
            ("agency-north".to_owned(), "agency:110000,120000".parse::<Role>().unwrap()),
            ("his-440000".to_owned(), "his:440000".parse::<Role>().unwrap()),
        ];
        init(&dir, &parties, today, 730).unwrap();
        let files = TlsFiles::load(&dir, "agency-north").unwrap();
        let (subject, role) = peer_of_pem(&files.certificate).unwrap();
        assert_eq!(subject, "agency-north");
        assert_eq!(role, parties[0].1);
        // Run again, nothing changes; with another role, the certificate is issued anew.
        init(&dir, &parties, today, 730).unwrap();
        assert_eq!(TlsFiles::load(&dir, "agency-north").unwrap().certificate, files.certificate);
        let moved = vec![("agency-north".to_owned(), "agency:110000".parse::<Role>().unwrap())];
        init(&dir, &moved, today, 730).unwrap();
        let again = TlsFiles::load(&dir, "agency-north").unwrap();
        assert_eq!(peer_of_pem(&again.certificate).unwrap().1, moved[0].1);
        // Near its end (two years on), it is issued anew.
        let later = today + chrono::Duration::days(720);
        init(&dir, &moved, later, 730).unwrap();
        let renewed = TlsFiles::load(&dir, "agency-north").unwrap();
        assert_ne!(renewed.certificate, again.certificate);
        assert!(current_of_pem(&renewed.certificate).unwrap().2 > later);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
