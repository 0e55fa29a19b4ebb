//! Conversions between Python values and the engine's: times, byte strings, and the names
//! of cipher suites, groups and SRTP profiles.

use crate::errors::invalid_argument;
use dtls_proto::{CipherSuite, NamedGroup, ProtocolVersion};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyString};

/// Largest time we accept, in seconds: beyond 2^53 ms a float no longer holds whole
/// milliseconds, and no monotonic clock gets there.
const MAX_SECONDS: f64 = 9_007_199_254_740.0;

/// Seconds (Python's clocks: `time.monotonic()`, `loop.time()`) to the engine's milliseconds.
///
/// Rounds to the nearest millisecond: a deadline handed out by `get_timer()` as `ms / 1000`
/// comes back as exactly `ms`, whereas truncation could land one millisecond short of it and
/// turn a timer callback into a no-op.
pub fn seconds_to_ms(py: Python<'_>, now: f64) -> PyResult<u64> {
    if !now.is_finite() || !(0.0..=MAX_SECONDS).contains(&now) {
        return Err(invalid_argument(
            py,
            format!("now must be a finite, non-negative number of seconds, not {now}"),
        ));
    }
    Ok((now * 1000.0).round() as u64)
}

/// A duration in seconds to whole milliseconds (at least 1), for the timer settings.
pub fn duration_ms(py: Python<'_>, what: &str, secs: f64) -> PyResult<u64> {
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_SECONDS {
        return Err(invalid_argument(
            py,
            format!("{what} must be a positive number of seconds, not {secs}"),
        ));
    }
    Ok(((secs * 1000.0).round() as u64).max(1))
}

/// Engine milliseconds back to seconds.
pub fn ms_to_seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// Bytes from `bytes`, `bytearray` or `str` (UTF-8), for PEM text, labels and names.
pub fn bytes_or_str(py: Python<'_>, what: &str, obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    if let Ok(b) = obj.extract::<PyBackedBytes>() {
        return Ok(b.to_vec());
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "{what} must be bytes or str, not {}",
        type_name(py, obj)
    )))
}

/// A transport address as the stable bytes cookies are bound to: `bytes` as given, `str`
/// as UTF-8, anything else (an asyncio `(host, port)` tuple) as its `str()`.
pub fn address_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    Ok(obj.str()?.to_str()?.as_bytes().to_vec())
}

/// The strings of an iterable, refusing a lone `str` (which would iterate by character).
pub fn string_list(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<PyString>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{what} must be a sequence of str, not a single str"
        )));
    }
    obj.try_iter()?.map(|item| item?.extract()).collect()
}

/// `type(obj).__name__`, for error messages.
pub fn type_name(_py: Python<'_>, obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

/// (IANA id, IANA name, OpenSSL name) of every suite the engine implements.
const SUITES: &[(u16, &str, &str)] = &[
    (
        0xc02b,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ),
    (
        0xc02c,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    (
        0xcca9,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ),
    (
        0xc02f,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    ),
    (
        0xc030,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
    ),
    (
        0xcca8,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ),
];

/// (IANA id, names accepted, the name we report first).
const GROUPS: &[(u16, &[&str])] = &[
    (29, &["x25519"]),
    (23, &["secp256r1", "p-256", "p256", "prime256v1"]),
    (24, &["secp384r1", "p-384", "p384"]),
];

/// A suite from its IANA or OpenSSL name (case-insensitive).
pub fn suite_from_name(name: &str) -> Option<CipherSuite> {
    SUITES
        .iter()
        .find(|(_, iana, ossl)| iana.eq_ignore_ascii_case(name) || ossl.eq_ignore_ascii_case(name))
        .map(|(id, _, _)| CipherSuite::from(*id))
}

/// A suite's IANA name, or `0xNNNN` for one we do not know.
pub fn suite_name(s: CipherSuite) -> String {
    SUITES
        .iter()
        .find(|(id, _, _)| *id == s.get())
        .map(|(_, iana, _)| iana.to_string())
        .unwrap_or_else(|| format!("0x{:04x}", s.get()))
}

/// A suite's OpenSSL name, when it has one.
pub fn suite_openssl_name(s: CipherSuite) -> Option<&'static str> {
    SUITES
        .iter()
        .find(|(id, _, _)| *id == s.get())
        .map(|(_, _, ossl)| *ossl)
}

/// A group from one of its names (case-insensitive).
pub fn group_from_name(name: &str) -> Option<NamedGroup> {
    let lower = name.to_ascii_lowercase();
    GROUPS
        .iter()
        .find(|(_, names)| names.contains(&lower.as_str()))
        .map(|(id, _)| NamedGroup::from(*id))
}

/// A group's name (`x25519`, `secp256r1`, `secp384r1`), or `0xNNNN`.
pub fn group_name(g: NamedGroup) -> String {
    GROUPS
        .iter()
        .find(|(id, _)| *id == g.get())
        .map(|(_, names)| names[0].to_string())
        .unwrap_or_else(|| format!("0x{:04x}", g.get()))
}

/// `DTLSv1.2`, as OpenSSL prints it.
pub fn version_name(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::Dtls10 => "DTLSv1".into(),
        ProtocolVersion::Dtls12 => "DTLSv1.2".into(),
        ProtocolVersion::Dtls13 => "DTLSv1.3".into(),
        other => format!("0x{:04x}", other.get()),
    }
}

/// A version from `"1.2"`, `"dtls1.2"`, `"DTLSv1.2"` (any case) or its wire value.
pub fn version_from_obj(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<ProtocolVersion> {
    if let Ok(n) = obj.extract::<u16>() {
        return Ok(ProtocolVersion::from(n));
    }
    let s: String = obj.extract()?;
    let lower = s.to_ascii_lowercase();
    let bare = lower
        .trim_start_matches("dtls")
        .trim_start_matches('v')
        .trim();
    match bare {
        "1.2" => Ok(ProtocolVersion::Dtls12),
        "1.3" => Ok(ProtocolVersion::Dtls13),
        _ => Err(invalid_argument(py, format!("unknown DTLS version {s:?}"))),
    }
}

/// The OpenSSL spelling of an SRTP profile (as `-use_srtp` takes it), or `0xNNNN`.
pub fn srtp_profile_name(id: u16) -> String {
    dtls_proto::srtp::profile(id)
        .map(|p| p.openssl_name.to_string())
        .unwrap_or_else(|| format!("0x{id:04x}"))
}
