//! Our own private key: loading (PKCS#8, SEC1, PKCS#1), scheme selection and
//! producing handshake signatures (ServerKeyExchange, CertificateVerify).

use super::CryptoError;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;

/// TLS SignatureScheme values (RFC 8446 §4.2.3; the same code points as TLS 1.2
/// SignatureAndHashAlgorithm for the ECDSA and RSA PKCS#1 entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigScheme {
    /// ecdsa_secp256r1_sha256 (0x0403).
    EcdsaP256Sha256,
    /// ecdsa_secp384r1_sha384 (0x0503).
    EcdsaP384Sha384,
    /// ecdsa_secp521r1_sha512 (0x0603): recognised, never produced or verified.
    EcdsaP521Sha512,
    /// rsa_pkcs1_sha256 (0x0401).
    RsaPkcs1Sha256,
    /// rsa_pkcs1_sha384 (0x0501).
    RsaPkcs1Sha384,
    /// rsa_pkcs1_sha512 (0x0601).
    RsaPkcs1Sha512,
    /// rsa_pss_rsae_sha256 (0x0804).
    RsaPssSha256,
    /// rsa_pss_rsae_sha384 (0x0805).
    RsaPssSha384,
    /// rsa_pss_rsae_sha512 (0x0806).
    RsaPssSha512,
    /// ed25519 (0x0807): verify only.
    Ed25519,
}

use SigScheme::*;

/// Schemes we can verify, in our preference order, for the
/// signature_algorithms extension.
pub const SUPPORTED_VERIFY_SCHEMES: &[SigScheme] = &[
    EcdsaP256Sha256,
    EcdsaP384Sha384,
    RsaPssSha256,
    RsaPssSha384,
    RsaPssSha512,
    RsaPkcs1Sha256,
    RsaPkcs1Sha384,
    RsaPkcs1Sha512,
    Ed25519,
];

const P256_SCHEMES: &[SigScheme] = &[EcdsaP256Sha256];
const P384_SCHEMES: &[SigScheme] = &[EcdsaP384Sha384];
const RSA_SCHEMES: &[SigScheme] = &[
    RsaPssSha256,
    RsaPssSha384,
    RsaPssSha512,
    RsaPkcs1Sha256,
    RsaPkcs1Sha384,
    RsaPkcs1Sha512,
];

impl SigScheme {
    /// IANA code point.
    pub fn iana(self) -> u16 {
        match self {
            EcdsaP256Sha256 => 0x0403,
            EcdsaP384Sha384 => 0x0503,
            EcdsaP521Sha512 => 0x0603,
            RsaPkcs1Sha256 => 0x0401,
            RsaPkcs1Sha384 => 0x0501,
            RsaPkcs1Sha512 => 0x0601,
            RsaPssSha256 => 0x0804,
            RsaPssSha384 => 0x0805,
            RsaPssSha512 => 0x0806,
            Ed25519 => 0x0807,
        }
    }

    /// Parses an IANA code point; `None` for schemes we do not know.
    pub fn from_iana(v: u16) -> Option<Self> {
        Some(match v {
            0x0403 => EcdsaP256Sha256,
            0x0503 => EcdsaP384Sha384,
            0x0603 => EcdsaP521Sha512,
            0x0401 => RsaPkcs1Sha256,
            0x0501 => RsaPkcs1Sha384,
            0x0601 => RsaPkcs1Sha512,
            0x0804 => RsaPssSha256,
            0x0805 => RsaPssSha384,
            0x0806 => RsaPssSha512,
            0x0807 => Ed25519,
            _ => return None,
        })
    }

    /// True for the ECDSA schemes.
    pub fn is_ecdsa(self) -> bool {
        matches!(self, EcdsaP256Sha256 | EcdsaP384Sha384 | EcdsaP521Sha512)
    }

    /// True if TLS/DTLS 1.3 allows the scheme in a CertificateVerify: everything but RSA
    /// PKCS#1 v1.5, which RFC 8446 §4.2.3 keeps for certificates only.
    pub fn allowed_in_tls13(self) -> bool {
        !matches!(self, RsaPkcs1Sha256 | RsaPkcs1Sha384 | RsaPkcs1Sha512)
    }

    /// True for RSA PKCS#1 v1.5 and RSA-PSS schemes.
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            RsaPkcs1Sha256
                | RsaPkcs1Sha384
                | RsaPkcs1Sha512
                | RsaPssSha256
                | RsaPssSha384
                | RsaPssSha512
        )
    }
}

/// The kind of a private key we can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA on secp256r1.
    EcdsaP256,
    /// ECDSA on secp384r1.
    EcdsaP384,
    /// RSA (2048 to 8192 bits, as ring accepts).
    Rsa,
}

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A loaded private key. `ring` owns the secret; Debug never prints it.
pub struct SigningKey {
    kind: KeyKind,
    inner: Inner,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kind", &self.kind)
            .field("key", &"<redacted>")
            .finish()
    }
}

// DER object identifiers used to wrap a SEC1 key into PKCS#8 (RFC 5915/5958).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

impl SigningKey {
    /// Loads PKCS#8 (EC P-256/P-384, RSA), SEC1 (EC P-256/P-384; must carry
    /// its public key, as OpenSSL writes it) or PKCS#1 (RSA).
    /// `Unsupported` for other algorithms (e.g. Ed25519, P-521), `BadKey` for
    /// malformed input.
    pub fn from_der(key: &PrivateKeyDer<'_>) -> Result<Self, CryptoError> {
        let rng = SystemRandom::new();
        match key {
            PrivateKeyDer::Pkcs8(k) => Self::from_pkcs8(k.secret_pkcs8_der(), rng),
            PrivateKeyDer::Sec1(k) => {
                let der = k.secret_sec1_der();
                for (kind, oid) in [
                    (KeyKind::EcdsaP256, OID_P256),
                    (KeyKind::EcdsaP384, OID_P384),
                ] {
                    let pkcs8 = zeroize::Zeroizing::new(sec1_to_pkcs8(der, oid));
                    if let Ok(k) = EcdsaKeyPair::from_pkcs8(ecdsa_alg(kind), &pkcs8, &rng) {
                        return Ok(Self::ecdsa(kind, k, rng));
                    }
                }
                Err(CryptoError::BadKey)
            }
            PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der())
                .map(|k| Self::rsa(k, rng))
                .map_err(|_| CryptoError::BadKey),
            _ => Err(CryptoError::Unsupported),
        }
    }

    fn from_pkcs8(der: &[u8], rng: SystemRandom) -> Result<Self, CryptoError> {
        for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384] {
            if let Ok(k) = EcdsaKeyPair::from_pkcs8(ecdsa_alg(kind), der, &rng) {
                return Ok(Self::ecdsa(kind, k, rng));
            }
        }
        RsaKeyPair::from_pkcs8(der)
            .map(|k| Self::rsa(k, rng))
            // Well-formed PKCS#8 of another algorithm and garbage look alike here.
            .map_err(|_| CryptoError::Unsupported)
    }

    fn ecdsa(kind: KeyKind, k: EcdsaKeyPair, rng: SystemRandom) -> Self {
        SigningKey {
            kind,
            inner: Inner::Ecdsa(k),
            rng,
        }
    }

    fn rsa(k: RsaKeyPair, rng: SystemRandom) -> Self {
        SigningKey {
            kind: KeyKind::Rsa,
            inner: Inner::Rsa(k),
            rng,
        }
    }

    /// The key's kind.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// Schemes this key can produce, in our preference order.
    pub fn schemes(&self) -> &'static [SigScheme] {
        match self.kind {
            KeyKind::EcdsaP256 => P256_SCHEMES,
            KeyKind::EcdsaP384 => P384_SCHEMES,
            KeyKind::Rsa => RSA_SCHEMES,
        }
    }

    /// The first of our schemes that the peer offered (IANA codes, any order).
    ///
    /// An empty `peer_offered` means the peer sent no signature_algorithms
    /// (TLS 1.2 only). RFC 5246 §7.4.1.4.1 then implies SHA-1, which we never
    /// sign with; we return our first scheme instead and let the peer decide.
    pub fn choose_scheme(&self, peer_offered: &[u16]) -> Option<SigScheme> {
        if peer_offered.is_empty() {
            return self.schemes().first().copied();
        }
        self.schemes()
            .iter()
            .copied()
            .find(|s| peer_offered.contains(&s.iana()))
    }

    /// The first of our schemes usable in a TLS/DTLS 1.3 CertificateVerify that the peer
    /// offered in signature_algorithms (IANA codes, any order).
    ///
    /// Unlike [`SigningKey::choose_scheme`], an empty list gives `None`: a 1.3 peer must send
    /// signature_algorithms (RFC 8446 §4.2.3). PKCS#1 v1.5 is never chosen, and an ECDSA key
    /// only matches the scheme of its own curve (RFC 8446 §4.2.3 binds the curve), which
    /// [`SigningKey::schemes`] already guarantees.
    pub fn choose_scheme_tls13(&self, peer_offered: &[u16]) -> Option<SigScheme> {
        self.schemes()
            .iter()
            .copied()
            .filter(|s| s.allowed_in_tls13())
            .find(|s| peer_offered.contains(&s.iana()))
    }

    /// Signs a TLS/DTLS 1.3 CertificateVerify content with `scheme`: as [`SigningKey::sign`],
    /// but `Unsupported` for the schemes 1.3 forbids there (RSA PKCS#1 v1.5).
    pub fn sign_tls13(&self, scheme: SigScheme, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if !scheme.allowed_in_tls13() {
            return Err(CryptoError::Unsupported);
        }
        self.sign(scheme, msg)
    }

    /// Signs `msg` with `scheme`; ECDSA signatures are ASN.1 DER (the TLS wire form).
    /// `Unsupported` if the scheme is not one of [`SigningKey::schemes`].
    pub fn sign(&self, scheme: SigScheme, msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if !self.schemes().contains(&scheme) {
            return Err(CryptoError::Unsupported);
        }
        match &self.inner {
            Inner::Ecdsa(k) => k
                .sign(&self.rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CryptoError::SignFailed),
            Inner::Rsa(k) => {
                let padding: &'static dyn signature::RsaEncoding = match scheme {
                    RsaPssSha256 => &signature::RSA_PSS_SHA256,
                    RsaPssSha384 => &signature::RSA_PSS_SHA384,
                    RsaPssSha512 => &signature::RSA_PSS_SHA512,
                    RsaPkcs1Sha256 => &signature::RSA_PKCS1_SHA256,
                    RsaPkcs1Sha384 => &signature::RSA_PKCS1_SHA384,
                    RsaPkcs1Sha512 => &signature::RSA_PKCS1_SHA512,
                    _ => return Err(CryptoError::Unsupported),
                };
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(padding, &self.rng, msg, &mut sig)
                    .map_err(|_| CryptoError::SignFailed)?;
                Ok(sig)
            }
        }
    }

    /// Public key bytes as ring gives them: an uncompressed point for ECDSA,
    /// a DER RSAPublicKey for RSA.
    pub fn public_key_der(&self) -> Vec<u8> {
        match &self.inner {
            Inner::Ecdsa(k) => k.public_key().as_ref().to_vec(),
            Inner::Rsa(k) => k.public_key().as_ref().to_vec(),
        }
    }
}

fn ecdsa_alg(kind: KeyKind) -> &'static signature::EcdsaSigningAlgorithm {
    match kind {
        KeyKind::EcdsaP384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        // Only called with ECDSA kinds; P-256 is the other one.
        _ => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
    }
}

/// Wraps a SEC1 ECPrivateKey into a PKCS#8 v1 PrivateKeyInfo for `curve_oid`,
/// the form ring loads. ring re-checks the curve inside and the key length,
/// so guessing the wrong curve fails cleanly.
fn sec1_to_pkcs8(sec1: &[u8], curve_oid: &[u8]) -> Vec<u8> {
    let mut alg_id = Vec::with_capacity(OID_EC_PUBLIC_KEY.len() + curve_oid.len());
    alg_id.extend_from_slice(OID_EC_PUBLIC_KEY);
    alg_id.extend_from_slice(curve_oid);
    let mut body = vec![0x02, 0x01, 0x00]; // INTEGER 0 (version v1)
    body.extend_from_slice(&der_wrap(0x30, &alg_id));
    body.extend_from_slice(&der_wrap(0x04, sec1));
    let out = der_wrap(0x30, &body);
    zeroize::Zeroize::zeroize(&mut body);
    out
}

/// DER tag-length-value with definite length (short or long form).
fn der_wrap(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8); // < 0x80, fits.
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8); // at most 8 length bytes.
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::testdata;
    use rustls_pki_types::pem::PemObject;

    fn load(pem: &str) -> SigningKey {
        SigningKey::from_der(&PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap()).unwrap()
    }

    fn ring_verify(
        alg: &'static dyn signature::VerificationAlgorithm,
        k: &SigningKey,
        m: &[u8],
        s: &[u8],
    ) -> bool {
        signature::UnparsedPublicKey::new(alg, k.public_key_der())
            .verify(m, s)
            .is_ok()
    }

    #[test]
    fn iana_round_trip() {
        for s in [
            EcdsaP256Sha256,
            EcdsaP384Sha384,
            EcdsaP521Sha512,
            RsaPkcs1Sha256,
            RsaPkcs1Sha384,
            RsaPkcs1Sha512,
            RsaPssSha256,
            RsaPssSha384,
            RsaPssSha512,
            Ed25519,
        ] {
            assert_eq!(SigScheme::from_iana(s.iana()), Some(s));
            assert!(!(s.is_ecdsa() && s.is_rsa()));
        }
        assert_eq!(SigScheme::from_iana(0x0201), None);
    }

    #[test]
    fn ecdsa_generated_round_trip() {
        for (alg, kind, ver) in [
            (
                &rcgen::PKCS_ECDSA_P256_SHA256,
                KeyKind::EcdsaP256,
                &signature::ECDSA_P256_SHA256_ASN1,
            ),
            (
                &rcgen::PKCS_ECDSA_P384_SHA384,
                KeyKind::EcdsaP384,
                &signature::ECDSA_P384_SHA384_ASN1,
            ),
        ] {
            let kp = rcgen::KeyPair::generate_for(alg).unwrap();
            let der = PrivateKeyDer::Pkcs8(kp.serialize_der().into());
            let key = SigningKey::from_der(&der).unwrap();
            assert_eq!(key.kind(), kind);
            let scheme = key.schemes()[0];
            let sig = key.sign(scheme, b"hello").unwrap();
            assert!(ring_verify(ver, &key, b"hello", &sig));
            assert!(!ring_verify(ver, &key, b"hellO", &sig));
            assert_eq!(key.sign(RsaPssSha256, b"x"), Err(CryptoError::Unsupported));
            assert!(format!("{key:?}").contains("redacted"));
        }
    }

    #[test]
    fn loads_all_formats() {
        assert_eq!(load(testdata::P256_PKCS8).kind(), KeyKind::EcdsaP256);
        assert_eq!(load(testdata::P256_SEC1).kind(), KeyKind::EcdsaP256);
        assert_eq!(load(testdata::P384_PKCS8).kind(), KeyKind::EcdsaP384);
        assert_eq!(load(testdata::P384_SEC1).kind(), KeyKind::EcdsaP384);
        assert_eq!(load(testdata::RSA_PKCS8).kind(), KeyKind::Rsa);
        assert_eq!(load(testdata::RSA_PKCS1).kind(), KeyKind::Rsa);
        // SEC1 and PKCS#8 forms are the same key.
        assert_eq!(
            load(testdata::P384_SEC1).public_key_der(),
            load(testdata::P384_PKCS8).public_key_der()
        );
        assert_eq!(
            load(testdata::RSA_PKCS1).public_key_der(),
            load(testdata::RSA_PKCS8).public_key_der()
        );
    }

    #[test]
    fn rejects_garbage() {
        let bad = PrivateKeyDer::Pkcs8(vec![0x30, 0x03, 0x02, 0x01, 0x00].into());
        assert!(SigningKey::from_der(&bad).is_err());
        let bad = PrivateKeyDer::Sec1(vec![1, 2, 3].into());
        assert_eq!(SigningKey::from_der(&bad).unwrap_err(), CryptoError::BadKey);
        let bad = PrivateKeyDer::Pkcs1(vec![1, 2, 3].into());
        assert_eq!(SigningKey::from_der(&bad).unwrap_err(), CryptoError::BadKey);
    }

    #[test]
    fn rsa_all_schemes() {
        let key = load(testdata::RSA_PKCS8);
        let cases: [(SigScheme, &'static dyn signature::VerificationAlgorithm); 6] = [
            (RsaPssSha256, &signature::RSA_PSS_2048_8192_SHA256),
            (RsaPssSha384, &signature::RSA_PSS_2048_8192_SHA384),
            (RsaPssSha512, &signature::RSA_PSS_2048_8192_SHA512),
            (RsaPkcs1Sha256, &signature::RSA_PKCS1_2048_8192_SHA256),
            (RsaPkcs1Sha384, &signature::RSA_PKCS1_2048_8192_SHA384),
            (RsaPkcs1Sha512, &signature::RSA_PKCS1_2048_8192_SHA512),
        ];
        for (scheme, ver) in cases {
            let sig = key.sign(scheme, b"msg").unwrap();
            assert_eq!(sig.len(), 256);
            assert!(ring_verify(ver, &key, b"msg", &sig), "{scheme:?}");
        }
        assert_eq!(
            key.sign(EcdsaP256Sha256, b"x"),
            Err(CryptoError::Unsupported)
        );
    }

    #[test]
    fn choose() {
        let rsa = load(testdata::RSA_PKCS8);
        assert_eq!(rsa.choose_scheme(&[0x0401, 0x0805]), Some(RsaPssSha384));
        assert_eq!(rsa.choose_scheme(&[0x0601]), Some(RsaPkcs1Sha512));
        assert_eq!(rsa.choose_scheme(&[0x0403]), None);
        assert_eq!(rsa.choose_scheme(&[]), Some(RsaPssSha256));
        let ec = load(testdata::P256_PKCS8);
        assert_eq!(ec.choose_scheme(&[0x0804, 0x0403]), Some(EcdsaP256Sha256));
        assert_eq!(ec.choose_scheme(&[0x0503]), None);
    }

    #[test]
    fn choose_and_sign_tls13() {
        let rsa = load(testdata::RSA_PKCS8);
        // PKCS#1 is never picked for 1.3, even when it is all the peer offers.
        assert_eq!(rsa.choose_scheme_tls13(&[0x0401, 0x0501, 0x0601]), None);
        assert_eq!(
            rsa.choose_scheme_tls13(&[0x0401, 0x0806, 0x0805]),
            Some(RsaPssSha384)
        );
        assert_eq!(rsa.choose_scheme_tls13(&[]), None);
        assert_eq!(
            rsa.sign_tls13(RsaPkcs1Sha256, b"m"),
            Err(CryptoError::Unsupported)
        );
        let sig = rsa.sign_tls13(RsaPssSha512, b"m").unwrap();
        assert!(ring_verify(
            &signature::RSA_PSS_2048_8192_SHA512,
            &rsa,
            b"m",
            &sig
        ));
        // ECDSA: the scheme names the curve in 1.3.
        let p256 = load(testdata::P256_PKCS8);
        let p384 = load(testdata::P384_PKCS8);
        assert_eq!(p256.choose_scheme_tls13(&[0x0503]), None);
        assert_eq!(p384.choose_scheme_tls13(&[0x0403]), None);
        assert_eq!(
            p256.choose_scheme_tls13(&[0x0804, 0x0503, 0x0403]),
            Some(EcdsaP256Sha256)
        );
        assert_eq!(
            p384.choose_scheme_tls13(&[0x0403, 0x0503]),
            Some(EcdsaP384Sha384)
        );
        assert_eq!(
            p256.sign_tls13(EcdsaP384Sha384, b"m"),
            Err(CryptoError::Unsupported)
        );
        let sig = p384.sign_tls13(EcdsaP384Sha384, b"m").unwrap();
        assert!(ring_verify(
            &signature::ECDSA_P384_SHA384_ASN1,
            &p384,
            b"m",
            &sig
        ));
        for s in SUPPORTED_VERIFY_SCHEMES {
            assert_eq!(s.allowed_in_tls13(), !(s.is_rsa() && s.iana() & 0xff == 1));
        }
    }

    #[test]
    fn der_lengths() {
        assert_eq!(der_wrap(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = der_wrap(0x04, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }
}
