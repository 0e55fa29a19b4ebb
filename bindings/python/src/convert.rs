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

/// A suite from its IANA or OpenSSL name (case-insensitive): the engine's table.
pub fn suite_from_name(name: &str) -> Option<CipherSuite> {
    dtls_proto::names::suite_from_name(name)
}

/// A suite's IANA name, or `0xNNNN` for one we do not know.
pub fn suite_name(s: CipherSuite) -> String {
    dtls_proto::names::suite_name(s)
        .map(str::to_string)
        .unwrap_or_else(|| format!("0x{:04x}", s.get()))
}

/// A suite's OpenSSL name, when it has one.
pub fn suite_openssl_name(s: CipherSuite) -> Option<&'static str> {
    dtls_proto::names::suite_openssl_name(s)
}

/// A group from one of its names (case-insensitive): the engine's table.
pub fn group_from_name(name: &str) -> Option<NamedGroup> {
    dtls_proto::names::group_from_name(name)
}

/// A group's name (`x25519`, `secp256r1`, ...), or `0xNNNN`.
pub fn group_name(g: NamedGroup) -> String {
    dtls_proto::names::group_name(g)
        .map(str::to_string)
        .unwrap_or_else(|| format!("0x{:04x}", g.get()))
}

/// `DTLSv1.2`, as OpenSSL prints it.
pub fn version_name(v: ProtocolVersion) -> String {
    dtls_proto::names::version_name(v)
        .map(str::to_string)
        .unwrap_or_else(|| format!("0x{:04x}", v.get()))
}

/// A version from `"1.2"`, `"dtls1.2"`, `"DTLSv1.2"` (any case) or its wire value.
pub fn version_from_obj(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<ProtocolVersion> {
    if let Ok(n) = obj.extract::<u16>() {
        return Ok(ProtocolVersion::from(n));
    }
    let s: String = obj.extract()?;
    dtls_proto::names::version_from_name(&s)
        .ok_or_else(|| invalid_argument(py, format!("unknown DTLS version {s:?}")))
}

/// The OpenSSL spelling of an SRTP profile (as `-use_srtp` takes it), or `0xNNNN`.
pub fn srtp_profile_name(id: u16) -> String {
    dtls_proto::srtp::profile(id)
        .map(|p| p.openssl_name.to_string())
        .unwrap_or_else(|| format!("0x{id:04x}"))
}
