//! What each cipher suite and group means to the engine.

use crate::crypto::aead::AeadAlg;
use crate::crypto::hash::HashAlg;
use crate::crypto::kx::KxGroup;
use crate::msgs::enums::{CipherSuite, NamedGroup};

/// How the server authenticates in a DTLS 1.2 ECDHE suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// An ECDSA certificate (ECDHE_ECDSA suites, RFC 8422).
    Ecdsa,
    /// An RSA certificate (ECDHE_RSA suites).
    Rsa,
}

/// The properties of a DTLS 1.2 AEAD suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuiteInfo {
    /// The suite described.
    pub suite: CipherSuite,
    /// The record protection algorithm.
    pub aead: AeadAlg,
    /// The hash behind the PRF and the handshake transcript (RFC 5246 §5).
    pub prf: HashAlg,
    /// The kind of key the server's certificate must carry.
    pub auth: AuthKind,
}

impl SuiteInfo {
    /// fixed_iv_length from the key block (RFC 5288 §3: 4 for GCM; RFC 7905 §2: 12 for ChaCha).
    pub fn fixed_iv_len(&self) -> usize {
        match self.aead {
            AeadAlg::Chacha20Poly1305 => 12,
            _ => 4,
        }
    }
}

/// Looks up a suite we implement.
pub fn info(suite: CipherSuite) -> Option<SuiteInfo> {
    use AeadAlg::*;
    use CipherSuite as S;
    let (aead, prf, auth) = match suite {
        S::EcdheEcdsaAes128GcmSha256 => (Aes128Gcm, HashAlg::Sha256, AuthKind::Ecdsa),
        S::EcdheEcdsaAes256GcmSha384 => (Aes256Gcm, HashAlg::Sha384, AuthKind::Ecdsa),
        S::EcdheEcdsaChacha20Poly1305Sha256 => (Chacha20Poly1305, HashAlg::Sha256, AuthKind::Ecdsa),
        S::EcdheRsaAes128GcmSha256 => (Aes128Gcm, HashAlg::Sha256, AuthKind::Rsa),
        S::EcdheRsaAes256GcmSha384 => (Aes256Gcm, HashAlg::Sha384, AuthKind::Rsa),
        S::EcdheRsaChacha20Poly1305Sha256 => (Chacha20Poly1305, HashAlg::Sha256, AuthKind::Rsa),
        _ => return None,
    };
    Some(SuiteInfo {
        suite,
        aead,
        prf,
        auth,
    })
}

/// True for suites the engine implements.
pub fn is_supported(suite: CipherSuite) -> bool {
    info(suite).is_some()
}

/// The key-exchange implementation of a group, if we have one.
pub fn kx_group(group: NamedGroup) -> Option<KxGroup> {
    match group {
        NamedGroup::X25519 => Some(KxGroup::X25519),
        NamedGroup::Secp256r1 => Some(KxGroup::P256),
        NamedGroup::Secp384r1 => Some(KxGroup::P384),
        _ => None,
    }
}
