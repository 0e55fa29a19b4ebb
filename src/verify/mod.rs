//! Peer authentication: X.509 chain and name checks (webpki) and handshake
//! signature verification against the peer's end-entity certificate.
//! Fingerprint pinning lives in [`crate::cert::Fingerprint`].

pub mod chain;
pub mod signature;

pub use chain::*;
pub use signature::*;

/// Why a peer failed authentication. Each maps to the alert we send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// A certificate is not valid DER / X.509.
    BadEncoding,
    /// No path to a trusted root.
    UnknownIssuer,
    /// A certificate's notAfter is in the past.
    Expired,
    /// A certificate's notBefore is in the future.
    NotYetValid,
    /// The end entity is not valid for the expected server name.
    NameMismatch,
    /// A signature (in the chain or on the handshake) did not verify.
    BadSignature,
    /// The signature scheme is unknown, not offered, or does not fit the key.
    UnsupportedSignatureScheme,
    /// The certificate is unusable for this purpose (EKU, critical extension, version).
    UnsupportedCertificate,
    /// The certificate does not match the pinned fingerprint.
    FingerprintMismatch,
    /// Anything else webpki reports, with its description.
    Other(String),
}

impl VerifyError {
    /// The TLS AlertDescription to send for this failure.
    pub fn alert(&self) -> u8 {
        match self {
            VerifyError::BadEncoding => 42,                // bad_certificate
            VerifyError::UnknownIssuer => 48,              // unknown_ca
            VerifyError::Expired => 45,                    // certificate_expired
            VerifyError::NotYetValid => 45, // certificate_expired (as rustls/OpenSSL)
            VerifyError::NameMismatch => 42, // bad_certificate
            VerifyError::BadSignature => 51, // decrypt_error
            VerifyError::UnsupportedSignatureScheme => 40, // handshake_failure
            VerifyError::UnsupportedCertificate => 43, // unsupported_certificate
            VerifyError::FingerprintMismatch => 42, // bad_certificate
            VerifyError::Other(_) => 42,    // bad_certificate
        }
    }
}

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::BadEncoding => f.write_str("malformed certificate"),
            VerifyError::UnknownIssuer => f.write_str("certificate issuer is not trusted"),
            VerifyError::Expired => f.write_str("certificate expired"),
            VerifyError::NotYetValid => f.write_str("certificate not yet valid"),
            VerifyError::NameMismatch => f.write_str("certificate not valid for server name"),
            VerifyError::BadSignature => f.write_str("bad signature"),
            VerifyError::UnsupportedSignatureScheme => f.write_str("unsupported signature scheme"),
            VerifyError::UnsupportedCertificate => f.write_str("unsupported certificate"),
            VerifyError::FingerprintMismatch => f.write_str("certificate fingerprint mismatch"),
            VerifyError::Other(s) => write!(f, "certificate error: {s}"),
        }
    }
}

impl std::error::Error for VerifyError {}

impl From<webpki::Error> for VerifyError {
    #[allow(deprecated)] // webpki 0.103 keeps unit variants next to the *Context ones.
    fn from(e: webpki::Error) -> Self {
        use webpki::Error as E;
        match e {
            E::UnknownIssuer => VerifyError::UnknownIssuer,
            E::CertExpired { .. } => VerifyError::Expired,
            E::CertNotValidYet { .. } => VerifyError::NotYetValid,
            E::CertNotValidForName(_) => VerifyError::NameMismatch,
            E::InvalidSignatureForPublicKey => VerifyError::BadSignature,
            E::UnsupportedSignatureAlgorithm
            | E::UnsupportedSignatureAlgorithmContext(_)
            | E::UnsupportedSignatureAlgorithmForPublicKey
            | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
            | E::SignatureAlgorithmMismatch => VerifyError::UnsupportedSignatureScheme,
            E::BadDer
            | E::BadDerTime
            | E::TrailingData(_)
            | E::MalformedExtensions
            | E::ExtensionValueInvalid
            | E::InvalidCertValidity
            | E::InvalidSerialNumber => VerifyError::BadEncoding,
            E::RequiredEkuNotFound
            | E::RequiredEkuNotFoundContext(_)
            | E::UnsupportedCriticalExtension
            | E::UnsupportedCertVersion
            | E::UnsupportedNameType => VerifyError::UnsupportedCertificate,
            other => VerifyError::Other(format!("{other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_and_mapping() {
        assert_eq!(VerifyError::from(webpki::Error::UnknownIssuer).alert(), 48);
        assert_eq!(
            VerifyError::from(webpki::Error::BadDer),
            VerifyError::BadEncoding
        );
        assert_eq!(VerifyError::BadSignature.alert(), 51);
        assert_eq!(VerifyError::FingerprintMismatch.alert(), 42);
        assert!(matches!(
            VerifyError::from(webpki::Error::CaUsedAsEndEntity),
            VerifyError::Other(_)
        ));
        assert!(!VerifyError::Expired.to_string().is_empty());
    }
}
