//! X.509 path building and name checks with `rustls-webpki` (ring algorithms).

use super::VerifyError;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use std::time::Duration;
use webpki::{EndEntityCert, KeyUsage};

/// Trusted root certificates, kept as owned webpki trust anchors.
#[derive(Clone, Debug, Default)]
pub struct RootStore {
    anchors: Vec<TrustAnchor<'static>>,
}

impl RootStore {
    /// An empty store (trusts nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every parsable CERTIFICATE block of `pem`; returns how many were
    /// added. Unparsable certificates are skipped (bundles often carry a few
    /// oddities); `BadEncoding` only when nothing at all could be added.
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<usize, VerifyError> {
        let mut added = 0;
        for item in CertificateDer::pem_slice_iter(pem) {
            // A PEM framing error leaves the rest of the input unreliable: stop.
            let Ok(der) = item else { break };
            if self.add_der(der.as_ref()).is_ok() {
                added += 1;
            }
        }
        if added == 0 {
            return Err(VerifyError::BadEncoding);
        }
        Ok(added)
    }

    /// Adds one DER certificate as a trust anchor.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), VerifyError> {
        let cert = CertificateDer::from(der);
        let anchor = webpki::anchor_from_trusted_cert(&cert).map_err(VerifyError::from)?;
        self.anchors.push(anchor.to_owned());
        Ok(())
    }

    /// True when no roots were added.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Number of roots.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }
}

/// Verifies a server's chain (`chain[0]` is the end entity, then
/// intermediates in any order) for TLS server authentication at
/// `now_unix_secs`. `server_name` is a DNS name or IP address string; `None`
/// skips the name check (e.g. when the application pins identity otherwise).
pub fn verify_server_chain(
    roots: &RootStore,
    chain: &[Vec<u8>],
    server_name: Option<&str>,
    now_unix_secs: u64,
) -> Result<(), VerifyError> {
    let name = match server_name {
        // A name that is neither a DNS name nor an IP cannot match any cert.
        Some(n) => Some(ServerName::try_from(n).map_err(|_| VerifyError::NameMismatch)?),
        None => None,
    };
    verify(
        roots,
        chain,
        now_unix_secs,
        KeyUsage::server_auth(),
        name.as_ref(),
    )
}

/// Verifies a client's chain for TLS client authentication at `now_unix_secs`.
pub fn verify_client_chain(
    roots: &RootStore,
    chain: &[Vec<u8>],
    now_unix_secs: u64,
) -> Result<(), VerifyError> {
    verify(roots, chain, now_unix_secs, KeyUsage::client_auth(), None)
}

/// Parses the end entity, builds a path to a root, then checks the name.
/// The path is checked first so an untrusted chain reports UnknownIssuer
/// rather than leaking which names it would have matched.
fn verify(
    roots: &RootStore,
    chain: &[Vec<u8>],
    now_unix_secs: u64,
    usage: KeyUsage,
    name: Option<&ServerName<'_>>,
) -> Result<(), VerifyError> {
    let (leaf, rest) = chain.split_first().ok_or(VerifyError::BadEncoding)?;
    let leaf_der = CertificateDer::from(leaf.as_slice());
    let intermediates: Vec<CertificateDer<'_>> = rest
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let ee = EndEntityCert::try_from(&leaf_der)?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(now_unix_secs));
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &roots.anchors,
        &intermediates,
        time,
        usage,
        None,
        None,
    )?;
    if let Some(name) = name {
        ee.verify_is_valid_for_subject_name(name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
        Issuer, KeyPair, KeyUsagePurpose,
    };

    // 2030-01-01, inside the leaf's validity window below.
    const NOW: u64 = 1_893_456_000;

    struct Pki {
        root_pem: String,
        chain: Vec<Vec<u8>>,
    }

    fn ca_params(cn: &str) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p.distinguished_name.push(DnType::CommonName, cn);
        p
    }

    /// root -> intermediate -> leaf for "example.test" and 192.0.2.1, valid 2020..2040.
    fn pki() -> Pki {
        pki_named("Test Root")
    }

    fn pki_named(root_cn: &str) -> Pki {
        let root_key = KeyPair::generate().unwrap();
        let root_params = ca_params(root_cn);
        let root = root_params.self_signed(&root_key).unwrap();
        let root_issuer = Issuer::new(root_params, root_key);

        let int_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let int_params = ca_params("Test Intermediate");
        let int = int_params.signed_by(&int_key, &root_issuer).unwrap();
        let int_issuer = Issuer::new(int_params, int_key);

        let leaf_key = KeyPair::generate().unwrap();
        let mut leaf_params =
            CertificateParams::new(vec!["example.test".into(), "192.0.2.1".into()]).unwrap();
        leaf_params.not_before = date_time_ymd(2020, 1, 1);
        leaf_params.not_after = date_time_ymd(2040, 1, 1);
        leaf_params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let leaf = leaf_params.signed_by(&leaf_key, &int_issuer).unwrap();
        Pki {
            root_pem: root.pem(),
            chain: vec![leaf.der().to_vec(), int.der().to_vec()],
        }
    }

    fn roots(p: &Pki) -> RootStore {
        let mut r = RootStore::new();
        assert_eq!(r.add_pem(p.root_pem.as_bytes()), Ok(1));
        assert_eq!(r.len(), 1);
        r
    }

    #[test]
    fn good_chain() {
        let p = pki();
        let r = roots(&p);
        assert_eq!(
            verify_server_chain(&r, &p.chain, Some("example.test"), NOW),
            Ok(())
        );
        assert_eq!(
            verify_server_chain(&r, &p.chain, Some("192.0.2.1"), NOW),
            Ok(())
        );
        assert_eq!(verify_server_chain(&r, &p.chain, None, NOW), Ok(()));
        assert_eq!(verify_client_chain(&r, &p.chain, NOW), Ok(()));
    }

    #[test]
    fn wrong_name() {
        let p = pki();
        let r = roots(&p);
        for name in ["other.test", "192.0.2.2", "not a name!"] {
            assert_eq!(
                verify_server_chain(&r, &p.chain, Some(name), NOW),
                Err(VerifyError::NameMismatch),
                "{name}"
            );
        }
    }

    #[test]
    fn unknown_root_and_missing_intermediate() {
        let p = pki();
        let other = pki_named("Other Root");
        let r = roots(&other);
        assert_eq!(
            verify_server_chain(&r, &p.chain, Some("example.test"), NOW),
            Err(VerifyError::UnknownIssuer)
        );
        // Same root name, different key: the path is found by name and its
        // signature fails, which webpki (and rustls) report as a bad signature.
        let impostor = pki();
        assert_eq!(
            verify_server_chain(&roots(&impostor), &p.chain, None, NOW),
            Err(VerifyError::BadSignature)
        );
        let r = roots(&p);
        assert_eq!(
            verify_server_chain(&r, &p.chain[..1], Some("example.test"), NOW),
            Err(VerifyError::UnknownIssuer)
        );
        assert_eq!(
            verify_client_chain(&RootStore::new(), &p.chain, NOW),
            Err(VerifyError::UnknownIssuer)
        );
    }

    #[test]
    fn validity_window() {
        let p = pki();
        let r = roots(&p);
        // 2100-01-01 and 2000-01-01.
        assert_eq!(
            verify_server_chain(&r, &p.chain, Some("example.test"), 4_102_444_800),
            Err(VerifyError::Expired)
        );
        assert_eq!(
            verify_server_chain(&r, &p.chain, Some("example.test"), 946_684_800),
            Err(VerifyError::NotYetValid)
        );
    }

    #[test]
    fn bad_input() {
        let p = pki();
        let r = roots(&p);
        assert_eq!(
            verify_server_chain(&r, &[], None, NOW),
            Err(VerifyError::BadEncoding)
        );
        assert_eq!(
            verify_server_chain(&r, &[vec![0x30, 0x00]], None, NOW),
            Err(VerifyError::BadEncoding)
        );
        let mut store = RootStore::new();
        assert!(store.is_empty());
        assert_eq!(store.add_pem(b"no pem here"), Err(VerifyError::BadEncoding));
        assert!(store.add_der(&[1, 2, 3]).is_err());
        // Two roots in one bundle.
        let bundle = format!("{}{}", p.root_pem, pki().root_pem);
        assert_eq!(store.add_pem(bundle.as_bytes()), Ok(2));
    }
}
