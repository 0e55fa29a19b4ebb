//! The one public error type. Every `Err` the engine returns is fatal for its association and
//! says exactly why; junk on the wire is never an `Err` (it is dropped and counted).

use crate::cert::CertError;
use crate::msgs::enums::AlertDescription;
use crate::verify::VerifyError;
use std::fmt;

/// Every result code of every front end: (number, C name, description). The one table the C
/// ABI (`dtls_result_str`, `dtls_result_name`), Python and Node read; [`Error::code`] and
/// [`Error::code_name`] agree with it (a test checks). It also lists the codes only a front end
/// produces (a NULL pointer, a panic, bad UTF-8), so that all share one numbering. Numbers are
/// never reused.
pub const CODES: &[(u32, &str, &str)] = &[
    (0, "DTLS_OK", "success"),
    (1, "DTLS_EMPTY", "nothing to do"),
    (
        100,
        "DTLS_ERR_NULL_POINTER",
        "a required pointer argument was NULL",
    ),
    (101, "DTLS_ERR_INVALID_ARGUMENT", "invalid argument"),
    (
        102,
        "DTLS_ERR_BUFFER_TOO_SMALL",
        "buffer too small; *len holds the size needed",
    ),
    (
        103,
        "DTLS_ERR_NOT_CONNECTED",
        "the handshake has not completed",
    ),
    (104, "DTLS_ERR_CLOSED", "the association is closed"),
    (
        105,
        "DTLS_ERR_PANIC",
        "internal panic; the context is poisoned",
    ),
    (
        106,
        "DTLS_ERR_EXPORTER_UNAVAILABLE",
        "exporter unavailable before the handshake completes",
    ),
    (107, "DTLS_ERR_UTF8", "string argument is not valid UTF-8"),
    (200, "DTLS_ERR_INVALID_CONFIG", "invalid configuration"),
    (
        201,
        "DTLS_ERR_CERTIFICATE",
        "certificate, key or fingerprint could not be loaded",
    ),
    (
        202,
        "DTLS_ERR_NO_VERIFIER",
        "no way to authenticate the peer: no fingerprints and no roots",
    ),
    (300, "DTLS_ERR_HANDSHAKE_TIMEOUT", "handshake timed out"),
    (301, "DTLS_ERR_ALERT_RECEIVED", "peer sent a fatal alert"),
    (302, "DTLS_ERR_PEER_MISBEHAVED", "peer broke the protocol"),
    (
        303,
        "DTLS_ERR_NO_COMMON_PARAMETERS",
        "no cipher suite, group or version in common with the peer",
    ),
    (
        304,
        "DTLS_ERR_EMS_REQUIRED",
        "peer does not support extended_master_secret, which is required",
    ),
    (
        305,
        "DTLS_ERR_KEY_USAGE_LIMIT",
        "AEAD key usage limit reached; start a new association",
    ),
    (399, "DTLS_ERR_INTERNAL", "internal error"),
    (
        400,
        "DTLS_ERR_FINGERPRINT_MISMATCH",
        "peer certificate matches no pinned fingerprint",
    ),
    (
        401,
        "DTLS_ERR_CERTIFICATE_REJECTED",
        "peer certificate rejected",
    ),
    (
        402,
        "DTLS_ERR_NO_PEER_CERTIFICATE",
        "peer sent no certificate but one is required",
    ),
    (
        403,
        "DTLS_ERR_BAD_SIGNATURE",
        "peer's handshake signature did not verify",
    ),
    (
        404,
        "DTLS_ERR_BAD_FINISHED",
        "peer's Finished did not verify",
    ),
];

/// The C name and description of a result code, from [`CODES`].
pub fn describe_code(code: u32) -> Option<(&'static str, &'static str)> {
    CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, n, d)| (*n, *d))
}

/// Why an association failed or an API call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The output buffer cannot hold the next datagram or record; nothing was lost.
    BufferTooSmall {
        /// Bytes the buffer must hold.
        needed: usize,
    },
    /// A caller argument is out of range.
    InvalidArgument(&'static str),
    /// Application data before the handshake completed.
    NotConnected,
    /// The association is closed or failed; no further use.
    Closed,
    /// The configuration cannot work as given.
    InvalidConfig(String),
    /// A certificate or key could not be loaded or generated.
    Certificate(CertError),
    /// The handshake did not complete before its deadline. Carries the likely reason: a
    /// plaintext alert the peer sent meanwhile, or else the alert we would have sent for a
    /// plaintext message we had to drop (plaintext is unauthenticated, so neither ends the
    /// handshake by itself).
    HandshakeTimeout {
        /// The alert most likely behind the stall, if any.
        likely_reason: Option<AlertDescription>,
    },
    /// The peer sent an authenticated fatal alert.
    AlertReceived(AlertDescription),
    /// The peer broke the protocol; `alert` was sent.
    PeerMisbehaved {
        /// The fatal alert we sent.
        alert: AlertDescription,
        /// What exactly was wrong, for logs.
        reason: &'static str,
    },
    /// No cipher suite, group, signature scheme or version in common.
    NoCommonParameters(&'static str),
    /// The peer does not support extended_master_secret and the configuration requires it.
    ExtendedMasterSecretRequired,
    /// The peer's Finished did not verify.
    BadFinished,
    /// The peer's certificate matches none of the pinned fingerprints.
    FingerprintMismatch,
    /// The peer's certificate chain failed validation.
    CertificateRejected(VerifyError),
    /// The peer sent no certificate although one is required.
    NoPeerCertificate,
    /// A handshake signature did not verify.
    BadSignature,
    /// There is no way to authenticate the peer: no pinned fingerprints and no roots.
    NoVerifier,
    /// The exporter needs an established association.
    ExporterUnavailable,
    /// The keys reached their AEAD usage limit (RFC 9147 §4.5.3): too many records sealed for
    /// AES-GCM's confidentiality bound, or too many records failed authentication. DTLS 1.2 has
    /// no key update, so the association ends; start a new one.
    KeyUsageLimit(&'static str),
    /// A bug or resource failure inside the engine.
    Internal(&'static str),
}

impl Error {
    /// The stable numeric code shared with the C ABI (`dtls_result`). Numbers are never reused.
    pub fn code(&self) -> u32 {
        match self {
            Error::InvalidArgument(_) => 101,
            Error::BufferTooSmall { .. } => 102,
            Error::NotConnected => 103,
            Error::Closed => 104,
            Error::ExporterUnavailable => 106,
            Error::InvalidConfig(_) => 200,
            Error::Certificate(_) => 201,
            Error::NoVerifier => 202,
            Error::HandshakeTimeout { .. } => 300,
            Error::AlertReceived(_) => 301,
            Error::PeerMisbehaved { .. } => 302,
            Error::NoCommonParameters(_) => 303,
            Error::ExtendedMasterSecretRequired => 304,
            Error::KeyUsageLimit(_) => 305,
            Error::Internal(_) => 399,
            Error::FingerprintMismatch => 400,
            Error::CertificateRejected(_) => 401,
            Error::NoPeerCertificate => 402,
            Error::BadSignature => 403,
            Error::BadFinished => 404,
        }
    }

    /// The C name of the code, e.g. `DTLS_ERR_FINGERPRINT_MISMATCH`.
    pub fn code_name(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "DTLS_ERR_INVALID_ARGUMENT",
            Error::BufferTooSmall { .. } => "DTLS_ERR_BUFFER_TOO_SMALL",
            Error::NotConnected => "DTLS_ERR_NOT_CONNECTED",
            Error::Closed => "DTLS_ERR_CLOSED",
            Error::ExporterUnavailable => "DTLS_ERR_EXPORTER_UNAVAILABLE",
            Error::InvalidConfig(_) => "DTLS_ERR_INVALID_CONFIG",
            Error::Certificate(_) => "DTLS_ERR_CERTIFICATE",
            Error::NoVerifier => "DTLS_ERR_NO_VERIFIER",
            Error::HandshakeTimeout { .. } => "DTLS_ERR_HANDSHAKE_TIMEOUT",
            Error::AlertReceived(_) => "DTLS_ERR_ALERT_RECEIVED",
            Error::PeerMisbehaved { .. } => "DTLS_ERR_PEER_MISBEHAVED",
            Error::NoCommonParameters(_) => "DTLS_ERR_NO_COMMON_PARAMETERS",
            Error::ExtendedMasterSecretRequired => "DTLS_ERR_EMS_REQUIRED",
            Error::KeyUsageLimit(_) => "DTLS_ERR_KEY_USAGE_LIMIT",
            Error::Internal(_) => "DTLS_ERR_INTERNAL",
            Error::FingerprintMismatch => "DTLS_ERR_FINGERPRINT_MISMATCH",
            Error::CertificateRejected(_) => "DTLS_ERR_CERTIFICATE_REJECTED",
            Error::NoPeerCertificate => "DTLS_ERR_NO_PEER_CERTIFICATE",
            Error::BadSignature => "DTLS_ERR_BAD_SIGNATURE",
            Error::BadFinished => "DTLS_ERR_BAD_FINISHED",
        }
    }

    /// The fatal alert this failure sends to the peer, if any.
    pub fn alert(&self) -> Option<AlertDescription> {
        use AlertDescription as A;
        Some(match self {
            Error::PeerMisbehaved { alert, .. } => *alert,
            Error::NoCommonParameters(_) | Error::ExtendedMasterSecretRequired => {
                A::HandshakeFailure
            }
            Error::BadFinished | Error::BadSignature => A::DecryptError,
            Error::FingerprintMismatch => A::BadCertificate,
            Error::CertificateRejected(v) => A::from(v.alert()),
            Error::NoPeerCertificate => A::HandshakeFailure,
            Error::NoVerifier | Error::Internal(_) => A::InternalError,
            _ => return None,
        })
    }

    pub(crate) fn misbehaved(alert: AlertDescription, reason: &'static str) -> Self {
        Error::PeerMisbehaved { alert, reason }
    }

    pub(crate) fn decode(reason: &'static str) -> Self {
        Error::PeerMisbehaved {
            alert: AlertDescription::DecodeError,
            reason,
        }
    }

    pub(crate) fn unexpected(reason: &'static str) -> Self {
        Error::PeerMisbehaved {
            alert: AlertDescription::UnexpectedMessage,
            reason,
        }
    }

    pub(crate) fn illegal(reason: &'static str) -> Self {
        Error::PeerMisbehaved {
            alert: AlertDescription::IllegalParameter,
            reason,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BufferTooSmall { needed } => {
                write!(f, "buffer too small: {needed} bytes needed")
            }
            Error::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Error::NotConnected => f.write_str("the handshake has not completed"),
            Error::Closed => f.write_str("the association is closed"),
            Error::InvalidConfig(why) => write!(f, "invalid configuration: {why}"),
            Error::Certificate(e) => write!(f, "certificate: {e}"),
            Error::HandshakeTimeout {
                likely_reason: None,
            } => f.write_str("handshake timed out"),
            Error::HandshakeTimeout {
                likely_reason: Some(a),
            } => write!(
                f,
                "handshake timed out (peer sent an unauthenticated {a:?} alert)"
            ),
            Error::AlertReceived(a) => write!(f, "peer sent fatal alert {a:?}"),
            Error::PeerMisbehaved { alert, reason } => {
                write!(f, "peer misbehaved: {reason} (sent {alert:?})")
            }
            Error::NoCommonParameters(what) => write!(f, "no {what} in common with the peer"),
            Error::ExtendedMasterSecretRequired => {
                f.write_str("peer does not support extended_master_secret, which is required")
            }
            Error::BadFinished => f.write_str("peer's Finished did not verify"),
            Error::FingerprintMismatch => {
                f.write_str("peer certificate matches no pinned fingerprint")
            }
            Error::CertificateRejected(e) => write!(f, "peer certificate rejected: {e}"),
            Error::NoPeerCertificate => f.write_str("peer sent no certificate but one is required"),
            Error::BadSignature => f.write_str("peer's handshake signature did not verify"),
            Error::NoVerifier => {
                f.write_str("no way to authenticate the peer: no fingerprints and no roots")
            }
            Error::ExporterUnavailable => {
                f.write_str("exporter unavailable before the handshake completes")
            }
            Error::KeyUsageLimit(what) => write!(f, "AEAD key usage limit reached: {what}"),
            Error::Internal(what) => write!(f, "internal error: {what}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<CertError> for Error {
    fn from(e: CertError) -> Self {
        Error::Certificate(e)
    }
}

#[cfg(test)]
mod code_table {
    use super::*;

    #[test]
    fn every_error_is_in_the_table_under_its_name() {
        let samples = [
            Error::BufferTooSmall { needed: 1 },
            Error::InvalidArgument("x"),
            Error::NotConnected,
            Error::Closed,
            Error::InvalidConfig("x".into()),
            Error::HandshakeTimeout {
                likely_reason: None,
            },
            Error::AlertReceived(AlertDescription::CloseNotify),
            Error::NoCommonParameters("x"),
            Error::ExtendedMasterSecretRequired,
            Error::BadFinished,
            Error::FingerprintMismatch,
            Error::NoPeerCertificate,
            Error::BadSignature,
            Error::NoVerifier,
            Error::ExporterUnavailable,
            Error::KeyUsageLimit("x"),
            Error::Internal("x"),
        ];
        for e in samples {
            assert_eq!(
                describe_code(e.code()).map(|d| d.0),
                Some(e.code_name()),
                "{e:?}"
            );
        }
        let mut numbers: Vec<u32> = CODES.iter().map(|c| c.0).collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), CODES.len(), "a number used twice");
    }
}
