//! Result codes, their messages, and the library version.
//!
//! The 1xx..4xx numbers are shared with the engine (`dtls_proto::Error::code()`): a failure
//! reported in a `DTLS_EVENT_FAILED` event, by a call's return value, or by the engine's Rust
//! API carries the same number. Numbers are never reused.

use crate::boundary::guard_or;
use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

/// The result of every fallible call: `DTLS_OK`, `DTLS_EMPTY` or a `DTLS_ERR_*` code.
pub type dtls_result = u32;

/// Success.
pub const DTLS_OK: dtls_result = 0;
/// Nothing to do: no datagram, event or record is waiting (not an error).
pub const DTLS_EMPTY: dtls_result = 1;

// 1xx: API misuse. The association (if any) is unaffected unless stated otherwise.
/// A required pointer argument was NULL.
pub const DTLS_ERR_NULL_POINTER: dtls_result = 100;
/// An argument is out of range (unknown constant, bad length, record larger than the MTU...).
pub const DTLS_ERR_INVALID_ARGUMENT: dtls_result = 101;
/// The output buffer is too small; `*len` holds the size needed and nothing was lost.
pub const DTLS_ERR_BUFFER_TOO_SMALL: dtls_result = 102;
/// Application data or keying material before the handshake completed.
pub const DTLS_ERR_NOT_CONNECTED: dtls_result = 103;
/// The association is closed; no further data.
pub const DTLS_ERR_CLOSED: dtls_result = 104;
/// A bug inside the library panicked; the context is poisoned (only `dtls_ctx_free` works).
pub const DTLS_ERR_PANIC: dtls_result = 105;
/// The exporter needs a completed handshake.
pub const DTLS_ERR_EXPORTER_UNAVAILABLE: dtls_result = 106;
/// A string argument is not valid UTF-8.
pub const DTLS_ERR_UTF8: dtls_result = 107;

// 2xx: local configuration.
/// The configuration cannot work as given (e.g. only DTLS 1.3 requested, a server without
/// a certificate, an unsupported cipher suite).
pub const DTLS_ERR_INVALID_CONFIG: dtls_result = 200;
/// A certificate, key, root certificate or fingerprint string could not be parsed or used.
pub const DTLS_ERR_CERTIFICATE: dtls_result = 201;
/// No way to authenticate the peer: no pinned fingerprint and no root certificates.
pub const DTLS_ERR_NO_VERIFIER: dtls_result = 202;

// 3xx: protocol. The association is dead.
/// The handshake did not complete before its deadline.
pub const DTLS_ERR_HANDSHAKE_TIMEOUT: dtls_result = 300;
/// The peer sent a fatal alert (see `dtls_event.alert`).
pub const DTLS_ERR_ALERT_RECEIVED: dtls_result = 301;
/// The peer broke the protocol; the alert in `dtls_event.alert` was sent.
pub const DTLS_ERR_PEER_MISBEHAVED: dtls_result = 302;
/// No cipher suite, group, signature scheme or version in common with the peer.
pub const DTLS_ERR_NO_COMMON_PARAMETERS: dtls_result = 303;
/// The peer does not support extended_master_secret (RFC 7627), which is required.
pub const DTLS_ERR_EMS_REQUIRED: dtls_result = 304;
/// The keys reached their AEAD usage limit (RFC 9147 §4.5.3): AES-GCM's confidentiality bound,
/// or `DTLS_LIMIT_AUTH_FAILURES` records that failed authentication. Start a new association.
pub const DTLS_ERR_KEY_USAGE_LIMIT: dtls_result = 305;
/// An internal error (a bug or resource failure).
pub const DTLS_ERR_INTERNAL: dtls_result = 399;

// 4xx: peer authentication. The association is dead.
/// The peer's certificate matches none of the pinned fingerprints.
pub const DTLS_ERR_FINGERPRINT_MISMATCH: dtls_result = 400;
/// The peer's certificate chain failed validation (issuer, dates, name, usage).
pub const DTLS_ERR_CERTIFICATE_REJECTED: dtls_result = 401;
/// The peer sent no certificate although one is required.
pub const DTLS_ERR_NO_PEER_CERTIFICATE: dtls_result = 402;
/// A handshake signature did not verify.
pub const DTLS_ERR_BAD_SIGNATURE: dtls_result = 403;
/// The peer's Finished message did not verify.
pub const DTLS_ERR_BAD_FINISHED: dtls_result = 404;

// The names and messages come from the engine's one table (`dtls_proto::error::CODES`), made
// NUL-terminated once and kept for the life of the process.
fn results() -> &'static [(dtls_result, CString, CString)] {
    static T: OnceLock<Vec<(dtls_result, CString, CString)>> = OnceLock::new();
    T.get_or_init(|| {
        dtls_proto::error::CODES
            .iter()
            .filter_map(|(n, name, msg)| {
                Some((*n, CString::new(*name).ok()?, CString::new(*msg).ok()?))
            })
            .collect()
    })
}

fn lookup(result: dtls_result) -> Option<&'static (dtls_result, CString, CString)> {
    results().iter().find(|(r, _, _)| *r == result)
}

/// A short English description of `result`; `"unknown result"` for a number this library
/// does not define.
///
/// Ownership: the string is static (never free it) and NUL-terminated.
#[no_mangle]
pub extern "C" fn dtls_result_str(result: dtls_result) -> *const c_char {
    guard_or(c"unknown result".as_ptr(), || {
        lookup(result).map_or(c"unknown result".as_ptr(), |(_, _, msg)| msg.as_ptr())
    })
}

/// The C name of `result`, e.g. `"DTLS_ERR_FINGERPRINT_MISMATCH"`; `"DTLS_ERR_UNKNOWN"` for a
/// number this library does not define.
///
/// Ownership: the string is static (never free it) and NUL-terminated.
#[no_mangle]
pub extern "C" fn dtls_result_name(result: dtls_result) -> *const c_char {
    guard_or(c"DTLS_ERR_UNKNOWN".as_ptr(), || {
        lookup(result).map_or(c"DTLS_ERR_UNKNOWN".as_ptr(), |(_, name, _)| name.as_ptr())
    })
}

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("package version contains a NUL"),
    };

/// The library version, e.g. `"0.1.0"` (the dtls-ffi package version; compare with the
/// `DTLS_VERSION_*` macros the header was built with).
///
/// Ownership: the string is static (never free it) and NUL-terminated.
#[no_mangle]
pub extern "C" fn dtls_version() -> *const c_char {
    guard_or(VERSION.as_ptr(), || VERSION.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C constants (which cbindgen needs as literals) agree with the engine's table.
    #[test]
    fn constants_match_the_engine_table() {
        let consts: &[(dtls_result, &str)] = &[
            (DTLS_OK, "DTLS_OK"),
            (DTLS_EMPTY, "DTLS_EMPTY"),
            (DTLS_ERR_NULL_POINTER, "DTLS_ERR_NULL_POINTER"),
            (DTLS_ERR_INVALID_ARGUMENT, "DTLS_ERR_INVALID_ARGUMENT"),
            (DTLS_ERR_BUFFER_TOO_SMALL, "DTLS_ERR_BUFFER_TOO_SMALL"),
            (DTLS_ERR_NOT_CONNECTED, "DTLS_ERR_NOT_CONNECTED"),
            (DTLS_ERR_CLOSED, "DTLS_ERR_CLOSED"),
            (DTLS_ERR_PANIC, "DTLS_ERR_PANIC"),
            (
                DTLS_ERR_EXPORTER_UNAVAILABLE,
                "DTLS_ERR_EXPORTER_UNAVAILABLE",
            ),
            (DTLS_ERR_UTF8, "DTLS_ERR_UTF8"),
            (DTLS_ERR_INVALID_CONFIG, "DTLS_ERR_INVALID_CONFIG"),
            (DTLS_ERR_CERTIFICATE, "DTLS_ERR_CERTIFICATE"),
            (DTLS_ERR_NO_VERIFIER, "DTLS_ERR_NO_VERIFIER"),
            (DTLS_ERR_HANDSHAKE_TIMEOUT, "DTLS_ERR_HANDSHAKE_TIMEOUT"),
            (DTLS_ERR_ALERT_RECEIVED, "DTLS_ERR_ALERT_RECEIVED"),
            (DTLS_ERR_PEER_MISBEHAVED, "DTLS_ERR_PEER_MISBEHAVED"),
            (
                DTLS_ERR_NO_COMMON_PARAMETERS,
                "DTLS_ERR_NO_COMMON_PARAMETERS",
            ),
            (DTLS_ERR_EMS_REQUIRED, "DTLS_ERR_EMS_REQUIRED"),
            (DTLS_ERR_KEY_USAGE_LIMIT, "DTLS_ERR_KEY_USAGE_LIMIT"),
            (DTLS_ERR_INTERNAL, "DTLS_ERR_INTERNAL"),
            (
                DTLS_ERR_FINGERPRINT_MISMATCH,
                "DTLS_ERR_FINGERPRINT_MISMATCH",
            ),
            (
                DTLS_ERR_CERTIFICATE_REJECTED,
                "DTLS_ERR_CERTIFICATE_REJECTED",
            ),
            (DTLS_ERR_NO_PEER_CERTIFICATE, "DTLS_ERR_NO_PEER_CERTIFICATE"),
            (DTLS_ERR_BAD_SIGNATURE, "DTLS_ERR_BAD_SIGNATURE"),
            (DTLS_ERR_BAD_FINISHED, "DTLS_ERR_BAD_FINISHED"),
        ];
        for (n, name) in consts {
            assert_eq!(
                dtls_proto::error::describe_code(*n).map(|d| d.0),
                Some(*name)
            );
        }
        assert_eq!(consts.len(), dtls_proto::error::CODES.len());
    }
}
