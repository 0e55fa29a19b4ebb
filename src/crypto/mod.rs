//! The one place that calls `ring`: hashes, HMAC, the TLS 1.2 PRF, HKDF, AEAD,
//! ECDHE, our own signatures and randomness. No primitive is implemented here;
//! every module is a thin, allocation-conscious wrapper with a stable API.

pub mod aead;
pub mod hash;
pub mod hkdf;
pub mod kem;
pub mod kx;
pub mod prf;
pub mod rng;
pub mod sign;

#[cfg(test)]
pub(crate) mod testdata;

/// Failure of a cryptographic operation. Deliberately coarse: callers turn it
/// into an alert or a dropped record, and details would only help an attacker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoError {
    /// Our own key material is malformed or of the wrong size/kind.
    BadKey,
    /// The peer's public value is malformed, off-curve or yields a zero secret.
    BadPeerKey,
    /// AEAD encryption failed (e.g. input too long).
    SealFailed,
    /// AEAD authentication failed or the input was shorter than a tag.
    OpenFailed,
    /// The key has sealed as much as its AEAD's confidentiality bound allows.
    UsageLimit,
    /// The algorithm or scheme is not supported by this build.
    Unsupported,
    /// Producing a signature failed.
    SignFailed,
    /// A signature did not verify.
    BadSignature,
    /// The random number source failed.
    Rng,
}

impl std::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            CryptoError::BadKey => "invalid key material",
            CryptoError::BadPeerKey => "invalid peer public key",
            CryptoError::SealFailed => "AEAD seal failed",
            CryptoError::OpenFailed => "AEAD open failed",
            CryptoError::UsageLimit => "AEAD key usage limit reached",
            CryptoError::Unsupported => "unsupported algorithm",
            CryptoError::SignFailed => "signing failed",
            CryptoError::BadSignature => "bad signature",
            CryptoError::Rng => "random number generator failure",
        };
        f.write_str(s)
    }
}

impl std::error::Error for CryptoError {}
