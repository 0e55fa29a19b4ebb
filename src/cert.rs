//! Our certificate (chain + private key): generation (WebRTC style, rcgen),
//! loading from PEM/DER, and SDP fingerprints (RFC 8122) for pinning peers.

use crate::crypto::hash::{ct_eq, HashAlg};
use crate::crypto::sign::{KeyKind, SigningKey};
use crate::verify::verify_signature;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Why a certificate could not be built or a fingerprint parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    /// PEM (or the leaf's DER) could not be parsed.
    Pem(String),
    /// No CERTIFICATE block / empty chain.
    NoCertificate,
    /// No private key block.
    NoPrivateKey,
    /// The key's algorithm or format is not supported.
    UnsupportedKey,
    /// The private key does not belong to the leaf certificate.
    KeyMismatch,
    /// Certificate generation failed.
    Generate(String),
    /// An SDP fingerprint string is malformed.
    BadFingerprint(String),
}

impl std::fmt::Display for CertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertError::Pem(s) => write!(f, "PEM/DER error: {s}"),
            CertError::NoCertificate => f.write_str("no certificate found"),
            CertError::NoPrivateKey => f.write_str("no private key found"),
            CertError::UnsupportedKey => f.write_str("unsupported private key"),
            CertError::KeyMismatch => f.write_str("private key does not match certificate"),
            CertError::Generate(s) => write!(f, "certificate generation failed: {s}"),
            CertError::BadFingerprint(s) => write!(f, "bad fingerprint: {s}"),
        }
    }
}

impl std::error::Error for CertError {}

/// A certificate chain with its private key. Cheap to clone (the key is shared).
#[derive(Clone)]
pub struct Certificate {
    chain: Vec<Vec<u8>>,
    key: Arc<SigningKey>,
    /// The private key as loaded/generated, kept only for [`Certificate::to_pem`].
    key_der: Arc<KeyDer>,
}

/// Secret key bytes with their PEM label; zeroized on drop.
struct KeyDer {
    label: &'static str,
    der: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("chain_len", &self.chain.len())
            .field("fingerprint", &self.fingerprint(HashAlg::Sha256).to_sdp())
            .field("key", &self.key.kind())
            .finish()
    }
}

impl Certificate {
    /// A self-signed ECDSA P-256 certificate (WebRTC style) with subject CN and
    /// a DNS (or IP) SAN equal to `common_name`. Validity is rcgen's default
    /// (1975..4096): peers authenticate it by fingerprint, not by dates.
    pub fn generate(common_name: &str) -> Result<Self, CertError> {
        Self::generate_with(common_name, KeyKind::EcdsaP256)
    }

    /// As [`Certificate::generate`] with an ECDSA P-256 or P-384 key
    /// (`UnsupportedKey` for RSA: generating RSA keys is slow and unneeded).
    pub fn generate_with(common_name: &str, kind: KeyKind) -> Result<Self, CertError> {
        let alg = match kind {
            KeyKind::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyKind::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyKind::Rsa => return Err(CertError::UnsupportedKey),
        };
        let gen_err = |e: rcgen::Error| CertError::Generate(e.to_string());
        let key_pair = rcgen::KeyPair::generate_for(alg).map_err(gen_err)?;
        let mut params =
            rcgen::CertificateParams::new(vec![common_name.to_string()]).map_err(gen_err)?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        let cert = params.self_signed(&key_pair).map_err(gen_err)?;
        let key = PrivateKeyDer::Pkcs8(key_pair.serialize_der().into());
        Self::from_der(vec![cert.der().to_vec()], key)
    }

    /// Loads a PEM chain (one or more CERTIFICATE blocks, leaf first) and a PEM
    /// key (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY).
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, CertError> {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CertError::Pem(e.to_string()))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            pem::Error::NoItemsFound => CertError::NoPrivateKey,
            e => CertError::Pem(e.to_string()),
        })?;
        Self::from_der(chain, key)
    }

    /// Builds from DER certificates (leaf first) and a private key. Checks
    /// the key belongs to the leaf by signing a probe and verifying it with
    /// the leaf's public key (`KeyMismatch` otherwise).
    pub fn from_der(chain: Vec<Vec<u8>>, key: PrivateKeyDer<'static>) -> Result<Self, CertError> {
        let leaf = chain.first().ok_or(CertError::NoCertificate)?;
        let signing_key = SigningKey::from_der(&key).map_err(|_| CertError::UnsupportedKey)?;
        let scheme = *signing_key
            .schemes()
            .first()
            .ok_or(CertError::UnsupportedKey)?;
        const PROBE: &[u8] = b"dtls-proto certificate/key match probe";
        let sig = signing_key
            .sign(scheme, PROBE)
            .map_err(|_| CertError::UnsupportedKey)?;
        match verify_signature(leaf, scheme.iana(), PROBE, &sig) {
            Ok(()) => {}
            Err(crate::verify::VerifyError::BadEncoding) => {
                return Err(CertError::Pem("leaf certificate is not valid X.509".into()))
            }
            Err(_) => return Err(CertError::KeyMismatch),
        }
        let key_der = match &key {
            PrivateKeyDer::Pkcs8(k) => ("PRIVATE KEY", k.secret_pkcs8_der()),
            PrivateKeyDer::Sec1(k) => ("EC PRIVATE KEY", k.secret_sec1_der()),
            PrivateKeyDer::Pkcs1(k) => ("RSA PRIVATE KEY", k.secret_pkcs1_der()),
            _ => return Err(CertError::UnsupportedKey),
        };
        let key_der = KeyDer {
            label: key_der.0,
            der: Zeroizing::new(key_der.1.to_vec()),
        };
        Ok(Certificate {
            chain,
            key: Arc::new(signing_key),
            key_der: Arc::new(key_der),
        })
    }

    /// DER certificates, leaf first.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// Our private key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The shared private key, for configs that outlive this value.
    pub fn signing_key_arc(&self) -> Arc<SigningKey> {
        Arc::clone(&self.key)
    }

    /// Fingerprint of the leaf certificate.
    pub fn fingerprint(&self, alg: HashAlg) -> Fingerprint {
        // A Certificate is never built with an empty chain.
        Fingerprint::of(alg, self.chain.first().map_or(&[][..], |c| c.as_slice()))
    }

    /// The chain as PEM and the private key as PEM (in the form it was loaded;
    /// PKCS#8 for generated certificates). For demos and persistence.
    pub fn to_pem(&self) -> (String, Zeroizing<String>) {
        let mut chain = String::new();
        for c in &self.chain {
            pem_block(&mut chain, "CERTIFICATE", c);
        }
        let mut key = Zeroizing::new(String::new());
        pem_block(&mut key, self.key_der.label, &self.key_der.der);
        (chain, key)
    }
}

/// Appends a PEM block (RFC 7468) to `out`. The encoding comes from the `pem` crate (the
/// one rcgen uses), so this crate carries no base64 code of its own.
fn pem_block(out: &mut String, label: &str, der: &[u8]) {
    let cfg = ::pem::EncodeConfig::new().set_line_ending(::pem::LineEnding::LF);
    out.push_str(&::pem::encode_config(&::pem::Pem::new(label, der), cfg));
}

/// A certificate fingerprint (RFC 8122 §5), as exchanged in SDP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// Hash function.
    pub alg: HashAlg,
    /// Digest of the DER certificate.
    pub bytes: Vec<u8>,
}

impl Fingerprint {
    /// Fingerprint of a DER certificate.
    pub fn of(alg: HashAlg, der: &[u8]) -> Self {
        Fingerprint {
            alg,
            bytes: alg.hash(der),
        }
    }

    /// Parses an SDP fingerprint value such as `sha-256 AB:CD:...`: hash name
    /// case-insensitive (sha-1, sha-256, sha-384, sha-512), hex in either case,
    /// exactly the digest's byte count. A leading `a=fingerprint:` is tolerated.
    pub fn parse_sdp(s: &str) -> Result<Self, CertError> {
        let bad = |m: &str| CertError::BadFingerprint(m.to_string());
        let s = s.trim();
        let s = s.strip_prefix("a=fingerprint:").unwrap_or(s);
        let mut parts = s.split_ascii_whitespace();
        let (Some(name), Some(hex), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected '<hash> <hex>'"));
        };
        let alg = match name.to_ascii_lowercase().as_str() {
            "sha-1" => HashAlg::Sha1,
            "sha-256" => HashAlg::Sha256,
            "sha-384" => HashAlg::Sha384,
            "sha-512" => HashAlg::Sha512,
            _ => return Err(bad("unknown hash function")),
        };
        let bytes = hex
            .split(':')
            .map(|pair| {
                if pair.len() != 2 || !pair.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return Err(bad("each byte must be two hex digits"));
                }
                u8::from_str_radix(pair, 16).map_err(|_| bad("bad hex"))
            })
            .collect::<Result<Vec<u8>, _>>()?;
        if bytes.len() != alg.output_len() {
            return Err(bad("wrong length for hash function"));
        }
        Ok(Fingerprint { alg, bytes })
    }

    /// Upper-case colon-separated hex, `AB:CD:...`.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(self.bytes.len() * 3);
        for (i, b) in self.bytes.iter().enumerate() {
            if i > 0 {
                s.push(':');
            }
            s.push_str(&format!("{b:02X}"));
        }
        s
    }

    /// The SDP form, `sha-256 AB:CD:...`.
    pub fn to_sdp(&self) -> String {
        let name = match self.alg {
            HashAlg::Sha1 => "sha-1",
            HashAlg::Sha256 => "sha-256",
            HashAlg::Sha384 => "sha-384",
            HashAlg::Sha512 => "sha-512",
        };
        format!("{name} {}", self.to_hex())
    }

    /// True if `der` hashes to this fingerprint (constant-time compare).
    pub fn matches(&self, der: &[u8]) -> bool {
        ct_eq(&self.alg.hash(der), &self.bytes)
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_sdp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::testdata;
    use crate::verify::verify_signature;

    #[test]
    fn shareable_across_threads() {
        fn check<T: Send + Sync>() {}
        check::<Certificate>();
        check::<crate::crypto::sign::SigningKey>();
        check::<crate::crypto::aead::AeadKey>();
        check::<crate::crypto::kx::KeyExchange>();
        check::<crate::crypto::rng::Rng>();
        check::<crate::verify::RootStore>();
    }

    #[test]
    fn generate_and_sign() {
        for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384] {
            let c = Certificate::generate_with("webrtc", kind).unwrap();
            assert_eq!(c.chain().len(), 1);
            assert_eq!(c.signing_key().kind(), kind);
            let scheme = c.signing_key().schemes()[0];
            let sig = c.signing_key().sign(scheme, b"hs").unwrap();
            assert_eq!(
                verify_signature(&c.chain()[0], scheme.iana(), b"hs", &sig),
                Ok(())
            );
            let dbg = format!("{c:?}");
            assert!(dbg.contains("chain_len: 1") && dbg.contains("sha-256"));
        }
        assert_eq!(
            Certificate::generate_with("x", KeyKind::Rsa).unwrap_err(),
            CertError::UnsupportedKey
        );
        // Two generated certs differ.
        let (a, b) = (
            Certificate::generate("a").unwrap(),
            Certificate::generate("a").unwrap(),
        );
        assert_ne!(
            a.fingerprint(HashAlg::Sha256),
            b.fingerprint(HashAlg::Sha256)
        );
    }

    #[test]
    fn pem_round_trip() {
        let c = Certificate::generate("demo").unwrap();
        let (chain, key) = c.to_pem();
        assert!(chain.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = Certificate::from_pem(chain.as_bytes(), key.as_bytes()).unwrap();
        assert_eq!(back.chain(), c.chain());
        assert_eq!(
            back.signing_key().public_key_der(),
            c.signing_key().public_key_der()
        );
    }

    #[test]
    fn base64_padding() {
        for (der, body) in [
            (&b"f"[..], "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
        ] {
            let mut s = String::new();
            pem_block(&mut s, "X", der);
            assert_eq!(s, format!("-----BEGIN X-----\n{body}\n-----END X-----\n"));
        }
    }

    #[test]
    fn from_pem_all_key_formats() {
        for (cert, key) in [
            (testdata::P256_CERT, testdata::P256_PKCS8),
            (testdata::P256_CERT, testdata::P256_SEC1),
            (testdata::P384_CERT, testdata::P384_PKCS8),
            (testdata::P384_CERT, testdata::P384_SEC1),
            (testdata::RSA_CERT, testdata::RSA_PKCS8),
            (testdata::RSA_CERT, testdata::RSA_PKCS1),
        ] {
            let c = Certificate::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
            // to_pem gives back the key in the form it was loaded.
            let (_, key_pem) = c.to_pem();
            assert_eq!(key_pem.trim(), key.trim());
        }
    }

    #[test]
    fn from_pem_errors() {
        let c = testdata::P256_CERT.as_bytes();
        let k = testdata::P256_PKCS8.as_bytes();
        assert_eq!(
            Certificate::from_pem(c, testdata::RSA_PKCS8.as_bytes()).unwrap_err(),
            CertError::KeyMismatch
        );
        assert_eq!(
            Certificate::from_pem(c, testdata::P384_SEC1.as_bytes()).unwrap_err(),
            CertError::KeyMismatch
        );
        assert_eq!(
            Certificate::from_pem(b"", k).unwrap_err(),
            CertError::NoCertificate
        );
        assert_eq!(
            Certificate::from_pem(c, b"nothing").unwrap_err(),
            CertError::NoPrivateKey
        );
        assert_eq!(
            Certificate::from_pem(c, c).unwrap_err(),
            CertError::NoPrivateKey
        );
        assert!(matches!(
            Certificate::from_der(
                vec![vec![0x30, 0]],
                PrivateKeyDer::from_pem_slice(k).unwrap()
            ),
            Err(CertError::Pem(_))
        ));
        let ed = PrivateKeyDer::Pkcs8(
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519)
                .unwrap()
                .serialize_der()
                .into(),
        );
        assert_eq!(
            Certificate::from_der(vec![c.to_vec()], ed).unwrap_err(),
            CertError::UnsupportedKey
        );
    }

    #[test]
    fn fingerprint_format_parse() {
        let c = Certificate::generate("fp").unwrap();
        for alg in [
            HashAlg::Sha1,
            HashAlg::Sha256,
            HashAlg::Sha384,
            HashAlg::Sha512,
        ] {
            let fp = c.fingerprint(alg);
            assert!(fp.matches(&c.chain()[0]));
            assert!(!fp.matches(b"other"));
            let sdp = fp.to_sdp();
            assert_eq!(fp.to_string(), sdp);
            assert_eq!(Fingerprint::parse_sdp(&sdp).unwrap(), fp);
            assert_eq!(Fingerprint::parse_sdp(&sdp.to_lowercase()).unwrap(), fp);
            assert_eq!(Fingerprint::parse_sdp(&sdp.to_uppercase()).unwrap(), fp);
            assert_eq!(
                Fingerprint::parse_sdp(&format!("a=fingerprint:{sdp}\r\n")).unwrap(),
                fp
            );
        }
        let fp = Fingerprint {
            alg: HashAlg::Sha1,
            bytes: (0u8..20).collect(),
        };
        assert_eq!(
            fp.to_hex(),
            "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13"
        );
    }

    #[test]
    fn fingerprint_rejects() {
        let ok32 = vec!["AB"; 32].join(":");
        assert!(Fingerprint::parse_sdp(&format!("sha-256 {ok32}")).is_ok());
        for bad in [
            String::new(),
            "sha-256".to_string(),
            format!("md5 {ok32}"),
            format!("sha256 {ok32}"),
            format!("sha-384 {ok32}"),    // wrong length for hash
            format!("sha-256 {ok32}:AB"), // one byte too many
            format!("sha-256 {}", vec!["AB"; 31].join(":")),
            format!("sha-256 {}", ok32.replacen("AB", "GZ", 1)), // bad hex
            format!("sha-256 {}", ok32.replacen("AB", "A", 1)),  // one digit
            format!("sha-256 {}", ok32.replacen("AB", "+A", 1)), // sign char
            format!("sha-256 {ok32}:"),                          // trailing colon
            format!("sha-256 {ok32} extra"),
            format!("sha-256 {}", ok32.replace(':', "")),
        ] {
            assert!(
                matches!(
                    Fingerprint::parse_sdp(&bad),
                    Err(CertError::BadFingerprint(_))
                ),
                "{bad}"
            );
        }
    }
}
