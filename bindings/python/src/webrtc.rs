//! The WebRTC / VoIP helpers the C library has, over the engine's own functions: RFC 7983
//! demultiplexing (`dtls_proto::demux`), the DTLS role from `a=setup` (`dtls_proto::sdp`),
//! SDP fingerprints (`dtls_proto::Fingerprint`) and the SRTP profile table
//! (`dtls_proto::srtp::PROFILES`).

use crate::buffers::BytesLike;
use crate::certificate::hash_alg;
use crate::errors::{invalid_argument, IntoPy};
use dtls_proto::demux::{classify, PacketKind};
use dtls_proto::sdp::{self, Setup};
use dtls_proto::{Error, Fingerprint, Role};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt};

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Client => "client",
        Role::Server => "server",
    }
}

/// True when `datagram` is DTLS by RFC 7983 §7 (first byte 20..63), for a socket shared with
/// STUN, RTP/RTCP, ZRTP and TURN. Empty: False.
#[pyfunction]
pub fn is_dtls(datagram: BytesLike) -> bool {
    dtls_proto::demux::is_dtls(&datagram)
}

/// What a datagram on a shared media socket carries, by its first byte (RFC 7983 §7):
/// `"stun"`, `"zrtp"`, `"dtls"`, `"turn-channel"`, `"rtp-rtcp"` or `"unknown"` (drop it).
#[pyfunction]
pub fn packet_kind(datagram: BytesLike) -> &'static str {
    match classify(&datagram) {
        PacketKind::Stun => "stun",
        PacketKind::Zrtp => "zrtp",
        PacketKind::Dtls => "dtls",
        PacketKind::TurnChannel => "turn-channel",
        PacketKind::RtpRtcp => "rtp-rtcp",
        _ => "unknown",
    }
}

/// Answerer: our role (`"client"` or `"server"`) for an offer whose `a=setup` is
/// `offer_setup` (`"actpass"`, `"active"`, `"passive"`, with or without `a=setup:`). An
/// `actpass` offer makes us the client (RFC 8842 §5.3). Put `setup_for_role(role)` in the
/// answer.
#[pyfunction]
pub fn role_for_remote_setup(py: Python<'_>, offer_setup: &str) -> PyResult<&'static str> {
    let setup = Setup::parse(offer_setup).py_err(py)?;
    sdp::role_for_remote_setup(setup).map(role_name).py_err(py)
}

/// Offerer (our offer said `actpass`): our role once the answer's `a=setup` is known:
/// `"active"` makes us the server, `"passive"` the client.
#[pyfunction]
pub fn role_for_answer(py: Python<'_>, answer_setup: &str) -> PyResult<&'static str> {
    let setup = Setup::parse(answer_setup).py_err(py)?;
    sdp::role_for_answer(setup).map(role_name).py_err(py)
}

/// The `a=setup` value announcing `role` (`"client"` -> `"active"`, `"server"` ->
/// `"passive"`).
#[pyfunction]
pub fn setup_for_role(py: Python<'_>, role: &str) -> PyResult<&'static str> {
    let role = match role.to_ascii_lowercase().as_str() {
        "client" => Role::Client,
        "server" => Role::Server,
        _ => {
            return Err(invalid_argument(
                py,
                format!("role must be \"client\" or \"server\", not {role:?}"),
            ))
        }
    };
    Ok(role.setup().as_str())
}

/// Parses an SDP fingerprint (`"sha-256 AB:CD:..."`, with or without `a=fingerprint:`) into
/// `(hash name, digest bytes)`. Raises `InvalidArgumentError`-family errors on a malformed
/// value (unknown hash, bad hex, wrong length).
#[pyfunction]
pub fn parse_sdp_fingerprint<'py>(
    py: Python<'py>,
    value: &str,
) -> PyResult<(String, Bound<'py, PyBytes>)> {
    let fp = Fingerprint::parse_sdp(value)
        .map_err(Error::from)
        .py_err(py)?;
    let sdp = fp.to_sdp();
    let name = sdp.split_once(' ').map(|(n, _)| n).unwrap_or_default();
    Ok((name.to_owned(), PyBytes::new(py, &fp.bytes)))
}

/// The SDP form (`"sha-256 AB:CD:..."`) of a digest made with `algorithm`.
#[pyfunction]
#[pyo3(signature = (algorithm, digest))]
pub fn format_sdp_fingerprint(
    py: Python<'_>,
    algorithm: &str,
    digest: BytesLike,
) -> PyResult<String> {
    let alg = hash_alg(py, algorithm)?;
    if digest.len() != alg.output_len() {
        return Err(invalid_argument(
            py,
            format!(
                "a {algorithm} digest has {} bytes, not {}",
                alg.output_len(),
                digest.len()
            ),
        ));
    }
    Ok(Fingerprint {
        alg,
        bytes: digest.to_vec(),
    }
    .to_sdp())
}

/// True when the DER certificate `der` has the SDP fingerprint `fingerprint` (compared in
/// constant time).
#[pyfunction]
pub fn fingerprint_matches(py: Python<'_>, fingerprint: &str, der: BytesLike) -> PyResult<bool> {
    let fp = Fingerprint::parse_sdp(fingerprint)
        .map_err(Error::from)
        .py_err(py)?;
    Ok(fp.matches(&der))
}

/// One DTLS-SRTP protection profile (RFC 5764 §4.1.2), from the engine's table.
#[pyclass(module = "dtls._native", frozen, eq, hash, get_all)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SrtpProfile {
    /// IANA id, as carried in use_srtp.
    id: u16,
    /// IANA name, e.g. `"SRTP_AES128_CM_HMAC_SHA1_80"`.
    name: &'static str,
    /// OpenSSL's name, e.g. `"SRTP_AES128_CM_SHA1_80"`.
    openssl_name: &'static str,
    /// Master key bytes per direction.
    key_len: usize,
    /// Master salt bytes per direction.
    salt_len: usize,
}

impl SrtpProfile {
    fn from_engine(p: &dtls_proto::srtp::SrtpProfile) -> Self {
        SrtpProfile {
            id: p.id,
            name: p.name,
            openssl_name: p.openssl_name,
            key_len: p.key_len,
            salt_len: p.salt_len,
        }
    }
}

#[pymethods]
impl SrtpProfile {
    fn __repr__(&self) -> String {
        format!(
            "SrtpProfile(id=0x{:04x}, name={:?}, openssl_name={:?}, key_len={}, salt_len={})",
            self.id, self.name, self.openssl_name, self.key_len, self.salt_len
        )
    }
}

/// Every SRTP profile the engine knows, strongest first (its default preference).
#[pyfunction]
pub fn srtp_profiles() -> Vec<SrtpProfile> {
    dtls_proto::srtp::PROFILES
        .iter()
        .map(SrtpProfile::from_engine)
        .collect()
}

/// The profile with IANA id `profile` (an int) or with that IANA or OpenSSL name (a str),
/// or None when the engine does not know it.
#[pyfunction]
pub fn srtp_profile(profile: &Bound<'_, PyAny>) -> PyResult<Option<SrtpProfile>> {
    let id = if profile.is_instance_of::<PyInt>() {
        match profile.extract::<u16>() {
            Ok(id) => id,
            Err(_) => return Ok(None),
        }
    } else {
        let name: &str = profile.extract()?;
        match dtls_proto::srtp::parse_profiles(name).as_deref() {
            Ok([id]) => *id,
            _ => return Ok(None),
        }
    };
    Ok(dtls_proto::srtp::profile(id).map(SrtpProfile::from_engine))
}
