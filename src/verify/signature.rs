//! Verifying handshake signatures (ServerKeyExchange, CertificateVerify) with
//! the public key of the peer's end-entity certificate.

use super::VerifyError;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm};
use webpki::ring as alg;
use webpki::EndEntityCert;

/// Candidate webpki algorithms for one TLS scheme (at most two; a Vec keeps
/// the code simple and costs one tiny allocation per handshake signature).
type Algs = Vec<&'static dyn SignatureVerificationAlgorithm>;

/// TLS 1.2 semantics: 0x0403/0x0503 mean "ECDSA with SHA-256/384" on whatever
/// curve the certificate has (P-256 or P-384); RSA PKCS#1 and PSS (rsae) per
/// scheme; Ed25519. `sig` is the DigitallySigned.signature bytes.
pub fn verify_signature(
    end_entity_der: &[u8],
    scheme: u16,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), VerifyError> {
    let algs: Algs = match scheme {
        0x0403 => vec![alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256],
        0x0503 => vec![alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384],
        0x0401 => vec![alg::RSA_PKCS1_2048_8192_SHA256],
        0x0501 => vec![alg::RSA_PKCS1_2048_8192_SHA384],
        0x0601 => vec![alg::RSA_PKCS1_2048_8192_SHA512],
        _ => common(scheme)?,
    };
    verify_with(end_entity_der, algs, msg, sig)
}

/// TLS/DTLS 1.3 semantics (RFC 8446 §4.2.3): ECDSA schemes bind the curve
/// (0x0403 only P-256, 0x0503 only P-384) and RSA PKCS#1 is not allowed for
/// handshake signatures.
pub fn verify_signature_tls13(
    end_entity_der: &[u8],
    scheme: u16,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), VerifyError> {
    let algs: Algs = match scheme {
        0x0403 => vec![alg::ECDSA_P256_SHA256],
        0x0503 => vec![alg::ECDSA_P384_SHA384],
        _ => common(scheme)?,
    };
    verify_with(end_entity_der, algs, msg, sig)
}

/// Schemes with the same meaning in TLS 1.2 and 1.3.
fn common(scheme: u16) -> Result<Algs, VerifyError> {
    Ok(match scheme {
        0x0804 => vec![alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        0x0805 => vec![alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        0x0806 => vec![alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        0x0807 => vec![alg::ED25519],
        // 0x0603 (P-521) has no ring verifier; everything else is unknown.
        _ => return Err(VerifyError::UnsupportedSignatureScheme),
    })
}

/// Tries each candidate; a candidate whose key type does not fit the
/// certificate is skipped, the first that fits decides.
fn verify_with(ee_der: &[u8], algs: Algs, msg: &[u8], sig: &[u8]) -> Result<(), VerifyError> {
    let der = CertificateDer::from(ee_der);
    let ee = EndEntityCert::try_from(&der)?;
    for a in algs {
        #[allow(deprecated)] // webpki 0.103 still defines the unit variant.
        match ee.verify_signature(a, msg, sig) {
            Ok(()) => return Ok(()),
            Err(webpki::Error::UnsupportedSignatureAlgorithmForPublicKey)
            | Err(webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(VerifyError::UnsupportedSignatureScheme)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::sign::{SigScheme, SigningKey};
    use crate::crypto::testdata;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::PrivateKeyDer;

    fn load(cert_pem: &str, key_pem: &str) -> (Vec<u8>, SigningKey) {
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        (cert.to_vec(), SigningKey::from_der(&key).unwrap())
    }

    #[test]
    fn round_trips() {
        for (cert, key) in [
            (testdata::P256_CERT, testdata::P256_SEC1),
            (testdata::P384_CERT, testdata::P384_PKCS8),
            (testdata::RSA_CERT, testdata::RSA_PKCS1),
        ] {
            let (cert, key) = load(cert, key);
            for &scheme in key.schemes() {
                let sig = key.sign(scheme, b"transcript").unwrap();
                assert_eq!(
                    verify_signature(&cert, scheme.iana(), b"transcript", &sig),
                    Ok(())
                );
                assert_eq!(
                    verify_signature(&cert, scheme.iana(), b"transcripT", &sig),
                    Err(VerifyError::BadSignature),
                    "{scheme:?}"
                );
                let strict = verify_signature_tls13(&cert, scheme.iana(), b"transcript", &sig);
                if matches!(
                    scheme,
                    SigScheme::RsaPkcs1Sha256
                        | SigScheme::RsaPkcs1Sha384
                        | SigScheme::RsaPkcs1Sha512
                ) {
                    assert_eq!(strict, Err(VerifyError::UnsupportedSignatureScheme));
                } else {
                    assert_eq!(strict, Ok(()), "{scheme:?}");
                }
            }
        }
    }

    #[test]
    fn tls12_ecdsa_curve_agnostic() {
        // In TLS 1.2, 0x0403 only fixes SHA-256: a P-384 certificate is a fit
        // (so a wrong signature is BadSignature), while TLS 1.3 binds P-256.
        // ring cannot sign P-384/SHA-256, so only the key binding is checked.
        let (cert, key) = load(testdata::P384_CERT, testdata::P384_PKCS8);
        let sig = key.sign(SigScheme::EcdsaP384Sha384, b"m").unwrap();
        assert_eq!(
            verify_signature(&cert, 0x0403, b"m", &sig),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_signature_tls13(&cert, 0x0403, b"m", &sig),
            Err(VerifyError::UnsupportedSignatureScheme)
        );
        let (cert, key) = load(testdata::P256_CERT, testdata::P256_PKCS8);
        let sig = key.sign(SigScheme::EcdsaP256Sha256, b"m").unwrap();
        assert_eq!(
            verify_signature(&cert, 0x0503, b"m", &sig),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify_signature_tls13(&cert, 0x0503, b"m", &sig),
            Err(VerifyError::UnsupportedSignatureScheme)
        );
    }

    #[test]
    fn tls13_ed25519_verify_only() {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["ed".into()])
            .unwrap()
            .self_signed(&kp)
            .unwrap();
        let signer =
            ring::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&kp.serialize_der())
                .unwrap();
        let sig = signer.sign(b"content");
        let der = cert.der().to_vec();
        assert_eq!(
            verify_signature_tls13(&der, 0x0807, b"content", sig.as_ref()),
            Ok(())
        );
        assert_eq!(
            verify_signature_tls13(&der, 0x0807, b"contenT", sig.as_ref()),
            Err(VerifyError::BadSignature)
        );
        // An ECDSA scheme against the Ed25519 key.
        assert_eq!(
            verify_signature_tls13(&der, 0x0403, b"content", sig.as_ref()),
            Err(VerifyError::UnsupportedSignatureScheme)
        );
    }

    /// A whole 1.3 CertificateVerify: our key picks a scheme from the peer's list, signs the
    /// RFC 8446 §4.4.3 content, and the peer's check passes only for the signer's role.
    #[test]
    fn tls13_certificate_verify_end_to_end() {
        use crate::msgs::handshake13::{certificate_verify_content, DigitallySigned};
        use crate::types::Role;
        let peer_offered = [0x0401, 0x0403, 0x0503, 0x0804, 0x0805, 0x0806, 0x0807];
        for (cert, key, want) in [
            (testdata::P256_CERT, testdata::P256_PKCS8, 0x0403),
            (testdata::P384_CERT, testdata::P384_SEC1, 0x0503),
            (testdata::RSA_CERT, testdata::RSA_PKCS1, 0x0804),
        ] {
            let (cert, key) = load(cert, key);
            let scheme = key.choose_scheme_tls13(&peer_offered).unwrap();
            assert_eq!(scheme.iana(), want);
            let hash = [0x5a; 48];
            let content = certificate_verify_content(Role::Client, &hash);
            let cv = DigitallySigned {
                scheme: scheme.iana(),
                signature: key.sign_tls13(scheme, &content).unwrap(),
            };
            let mut body = Vec::new();
            cv.encode(&mut body);
            let cv = DigitallySigned::decode(&body).unwrap();
            assert_eq!(
                verify_signature_tls13(&cert, cv.scheme, &content, &cv.signature),
                Ok(())
            );
            let as_server = certificate_verify_content(Role::Server, &hash);
            assert_eq!(
                verify_signature_tls13(&cert, cv.scheme, &as_server, &cv.signature),
                Err(VerifyError::BadSignature)
            );
        }
    }

    #[test]
    fn mismatches() {
        let (ec_cert, ec_key) = load(testdata::P256_CERT, testdata::P256_PKCS8);
        let (rsa_cert, _) = load(testdata::RSA_CERT, testdata::RSA_PKCS8);
        let sig = ec_key.sign(SigScheme::EcdsaP256Sha256, b"m").unwrap();
        // RSA scheme against an EC certificate and vice versa.
        assert_eq!(
            verify_signature(&ec_cert, 0x0804, b"m", &sig),
            Err(VerifyError::UnsupportedSignatureScheme)
        );
        assert_eq!(
            verify_signature(&rsa_cert, 0x0403, b"m", &sig),
            Err(VerifyError::UnsupportedSignatureScheme)
        );
        assert_eq!(
            verify_signature(&ec_cert, 0x0603, b"m", &sig),
            Err(VerifyError::UnsupportedSignatureScheme)
        );
        assert_eq!(
            verify_signature(&ec_cert, 0xfefe, b"m", &sig),
            Err(VerifyError::UnsupportedSignatureScheme)
        );
        assert_eq!(
            verify_signature(&[0x30, 0x00], 0x0403, b"m", &sig),
            Err(VerifyError::BadEncoding)
        );
        assert_eq!(
            verify_signature(&ec_cert, 0x0403, b"m", b"garbage"),
            Err(VerifyError::BadSignature)
        );
    }
}
