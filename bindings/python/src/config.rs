//! `Config`: every setting of the engine's `ConfigBuilder` (and of the C ABI's
//! `dtls_config_builder_*`) as a keyword argument.

use crate::certificate::Certificate;
use crate::convert::{
    bytes_or_str, duration_ms, group_from_name, string_list, suite_from_name, type_name,
    version_from_obj,
};
use crate::errors::{invalid_argument, invalid_config, IntoPy};
use dtls_proto::{
    CipherSuite, ClientAuth, Error, ExtendedMasterSecret, Fingerprint, Limits, NamedGroup,
    PeerVerification, WallClock,
};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBool, PyDict, PyString};
use std::sync::Arc;

/// Immutable settings shared by many connections.
///
/// Every argument is keyword-only and optional. Times are in seconds, like everywhere in
/// the Python API.
#[pyclass(module = "dtls._native", frozen)]
pub struct Config {
    pub(crate) inner: Arc<dtls_proto::Config>,
    /// Kept only for `__repr__`.
    summary: String,
}

/// Items of a string (split on `:` and `,`, the OpenSSL list style) or of an iterable.
fn list_items<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Ok(s) = obj.cast::<PyString>() {
        let py = obj.py();
        return Ok(s
            .to_str()?
            .split([':', ','])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| PyString::new(py, p).into_any())
            .collect());
    }
    obj.try_iter()?.collect()
}

fn parse_suites(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Vec<CipherSuite>> {
    list_items(obj)?
        .iter()
        .map(|item| {
            if let Ok(id) = item.extract::<u16>() {
                return Ok(CipherSuite::from(id));
            }
            let name: String = item.extract().map_err(|_| {
                invalid_argument(
                    py,
                    format!(
                        "cipher suites are names or IANA ids, not {}",
                        type_name(py, item)
                    ),
                )
            })?;
            suite_from_name(&name)
                .ok_or_else(|| invalid_argument(py, format!("unknown cipher suite {name:?}")))
        })
        .collect()
}

fn parse_groups(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Vec<NamedGroup>> {
    list_items(obj)?
        .iter()
        .map(|item| {
            if let Ok(id) = item.extract::<u16>() {
                return Ok(NamedGroup::from(id));
            }
            let name: String = item.extract().map_err(|_| {
                invalid_argument(
                    py,
                    format!("groups are names or IANA ids, not {}", type_name(py, item)),
                )
            })?;
            group_from_name(&name)
                .ok_or_else(|| invalid_argument(py, format!("unknown group {name:?}")))
        })
        .collect()
}

/// SRTP profiles from `"SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM"` (OpenSSL's or IANA's
/// spelling) or a sequence of such names and IANA ids.
fn parse_srtp(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Vec<u16>> {
    let mut ids = Vec::new();
    for item in list_items(obj)? {
        if let Ok(id) = item.extract::<u16>() {
            if dtls_proto::srtp::profile(id).is_none() {
                return Err(invalid_argument(
                    py,
                    format!("unknown SRTP profile id {id}"),
                ));
            }
            ids.push(id);
            continue;
        }
        let name: String = item.extract().map_err(|_| {
            invalid_argument(
                py,
                format!(
                    "SRTP profiles are names or IANA ids, not {}",
                    type_name(py, &item)
                ),
            )
        })?;
        let parsed = dtls_proto::srtp::parse_profiles(&name)
            .map_err(|_| invalid_argument(py, format!("unknown SRTP profile {name:?}")))?;
        ids.extend(parsed);
    }
    Ok(ids)
}

fn parse_alpn(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<u8>>> {
    if obj.is_instance_of::<PyString>() {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "alpn must be a sequence of protocol names, not a single str",
        ));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        let p = bytes_or_str(py, "an ALPN protocol", &item?)?;
        if p.is_empty() || p.len() > 255 {
            return Err(invalid_argument(
                py,
                "ALPN protocol names are 1 to 255 bytes long",
            ));
        }
        out.push(p);
    }
    Ok(out)
}

fn parse_verification(py: Python<'_>, s: &str) -> PyResult<PeerVerification> {
    match s.to_ascii_lowercase().replace('-', "_").as_str() {
        "auto" => Ok(PeerVerification::Auto),
        "fingerprint" => Ok(PeerVerification::Fingerprint),
        "webpki" => Ok(PeerVerification::WebPki),
        "dangerous_accept_any" => Ok(PeerVerification::DangerousAcceptAny),
        _ => Err(invalid_argument(
            py,
            format!(
                "unknown verification {s:?} (expected \"auto\", \"fingerprint\", \"webpki\" \
                 or \"dangerous_accept_any\")"
            ),
        )),
    }
}

fn parse_client_auth(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<ClientAuth> {
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(if b.is_true() {
            ClientAuth::Require
        } else {
            ClientAuth::None
        });
    }
    let s: String = obj.extract()?;
    match s.to_ascii_lowercase().as_str() {
        "none" => Ok(ClientAuth::None),
        "request" => Ok(ClientAuth::Request),
        "require" => Ok(ClientAuth::Require),
        _ => Err(invalid_argument(
            py,
            format!("unknown client_auth {s:?} (expected \"none\", \"request\" or \"require\")"),
        )),
    }
}

fn parse_ems(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<ExtendedMasterSecret> {
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(if b.is_true() {
            ExtendedMasterSecret::Require
        } else {
            ExtendedMasterSecret::Disable
        });
    }
    let s: String = obj.extract()?;
    match s.to_ascii_lowercase().as_str() {
        "require" => Ok(ExtendedMasterSecret::Require),
        "request" => Ok(ExtendedMasterSecret::Request),
        "disable" => Ok(ExtendedMasterSecret::Disable),
        _ => Err(invalid_argument(
            py,
            format!(
                "unknown extended_master_secret {s:?} (expected \"require\", \"request\" \
                 or \"disable\")"
            ),
        )),
    }
}

/// A wall clock that asks a Python callable for Unix seconds. Called by the engine only
/// while it validates a certificate chain, possibly with the GIL released, so it attaches
/// itself. A callable that fails reports the error as unraisable and yields 0, which makes
/// every certificate "not yet valid": failing closed.
fn python_wall_clock(f: Py<PyAny>) -> WallClock {
    WallClock::from_fn(move || {
        Python::attach(|py| {
            let bound = f.bind(py);
            match bound.call0().and_then(|v| v.extract::<f64>()) {
                Ok(s) if s.is_finite() && s >= 0.0 => s as u64,
                Ok(_) => 0,
                Err(e) => {
                    e.write_unraisable(py, Some(bound));
                    0
                }
            }
        })
    })
}

/// The names `Config(limits={...})` takes: the fields of the engine's `Limits`.
const LIMIT_NAMES: &[&str] = &[
    "max_handshake_message",
    "max_reassembly_bytes",
    "max_deferred_records",
    "max_queued_records",
    "max_received_records",
    "max_received_bytes",
    "max_cert_chain_len",
    "max_auth_failures",
];

/// The `usize` field of `Limits` called `name`.
fn size_limit<'a>(l: &'a mut Limits, name: &str) -> Option<&'a mut usize> {
    Some(match name {
        "max_handshake_message" => &mut l.max_handshake_message,
        "max_reassembly_bytes" => &mut l.max_reassembly_bytes,
        "max_deferred_records" => &mut l.max_deferred_records,
        "max_queued_records" => &mut l.max_queued_records,
        "max_received_records" => &mut l.max_received_records,
        "max_received_bytes" => &mut l.max_received_bytes,
        "max_cert_chain_len" => &mut l.max_cert_chain_len,
        _ => return None,
    })
}

fn get_limit(l: &Limits, name: &str) -> Option<u64> {
    if name == "max_auth_failures" {
        return Some(l.max_auth_failures);
    }
    let mut copy = *l;
    size_limit(&mut copy, name).map(|v| *v as u64)
}

/// Sets a limit from a Python int; `None` when the name is unknown.
fn set_limit(l: &mut Limits, name: &str, value: &Bound<'_, PyAny>) -> Option<PyResult<()>> {
    if name == "max_auth_failures" {
        return Some(value.extract().map(|v| l.max_auth_failures = v));
    }
    size_limit(l, name).map(|field| value.extract().map(|v| *field = v))
}

#[pymethods]
impl Config {
    /// See the class docstring and `_native.pyi` for each argument.
    #[new]
    #[pyo3(signature = (
        *,
        certificate = None,
        peer_fingerprints = None,
        root_certificates_pem = None,
        verification = "auto",
        client_auth = None,
        require_client_certificate = None,
        cipher_suites = None,
        groups = None,
        extended_master_secret = None,
        cookie_exchange = true,
        cookie_secret = None,
        mtu = 1200,
        initial_rto = 1.0,
        max_rto = 60.0,
        handshake_timeout = 60.0,
        alpn = None,
        srtp_profiles = None,
        srtp_mki = None,
        srtp_accept_mki = true,
        rng_seed = None,
        versions = None,
        max_handshake_message = None,
        limits = None,
        wall_clock = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        certificate: Option<&Bound<'_, Certificate>>,
        peer_fingerprints: Option<&Bound<'_, PyAny>>,
        root_certificates_pem: Option<&Bound<'_, PyAny>>,
        verification: &str,
        client_auth: Option<&Bound<'_, PyAny>>,
        require_client_certificate: Option<bool>,
        cipher_suites: Option<&Bound<'_, PyAny>>,
        groups: Option<&Bound<'_, PyAny>>,
        extended_master_secret: Option<&Bound<'_, PyAny>>,
        cookie_exchange: bool,
        cookie_secret: Option<PyBackedBytes>,
        mtu: u16,
        initial_rto: f64,
        max_rto: f64,
        handshake_timeout: f64,
        alpn: Option<&Bound<'_, PyAny>>,
        srtp_profiles: Option<&Bound<'_, PyAny>>,
        srtp_mki: Option<PyBackedBytes>,
        srtp_accept_mki: bool,
        rng_seed: Option<u64>,
        versions: Option<&Bound<'_, PyAny>>,
        max_handshake_message: Option<usize>,
        limits: Option<&Bound<'_, PyDict>>,
        wall_clock: Option<Py<PyAny>>,
    ) -> PyResult<Config> {
        let mut b = dtls_proto::Config::builder();
        let mut summary = Vec::new();
        if let Some(c) = certificate {
            b = b.certificate(c.get().inner.clone());
            summary.push("certificate".to_string());
        }
        if let Some(fps) = peer_fingerprints {
            for fp in string_list(fps, "peer_fingerprints")? {
                let parsed = Fingerprint::parse_sdp(&fp)
                    .map_err(Error::from)
                    .py_err(py)?;
                b = b.peer_fingerprint(parsed);
            }
            summary.push("pinned fingerprints".to_string());
        }
        if let Some(pem) = root_certificates_pem {
            b = b.root_certificates_pem(&bytes_or_str(py, "root_certificates_pem", pem)?);
            summary.push("roots".to_string());
        }
        b = b.peer_verification(parse_verification(py, verification)?);
        if verification != "auto" {
            summary.push(format!("verification={verification}"));
        }
        match (client_auth, require_client_certificate) {
            (Some(_), Some(_)) => {
                return Err(invalid_config(
                    py,
                    "give client_auth or require_client_certificate, not both",
                ))
            }
            (Some(a), None) => b = b.client_auth(parse_client_auth(py, a)?),
            (None, Some(r)) => b = b.require_client_certificate(r),
            (None, None) => {}
        }
        if let Some(s) = cipher_suites {
            b = b.cipher_suites(&parse_suites(py, s)?);
        }
        if let Some(g) = groups {
            b = b.groups(&parse_groups(py, g)?);
        }
        if let Some(e) = extended_master_secret {
            b = b.extended_master_secret(parse_ems(py, e)?);
        }
        b = b.cookie_exchange(cookie_exchange);
        if let Some(secret) = cookie_secret {
            let arr: [u8; 32] = secret[..]
                .try_into()
                .map_err(|_| invalid_argument(py, "cookie_secret must be exactly 32 bytes"))?;
            b = b.cookie_secret(arr);
        }
        b = b.mtu(mtu);
        if mtu != 1200 {
            summary.push(format!("mtu={mtu}"));
        }
        b = b.timers(
            duration_ms(py, "initial_rto", initial_rto)?,
            duration_ms(py, "max_rto", max_rto)?,
            duration_ms(py, "handshake_timeout", handshake_timeout)?,
        );
        if let Some(a) = alpn {
            let protos = parse_alpn(py, a)?;
            let refs: Vec<&[u8]> = protos.iter().map(Vec::as_slice).collect();
            b = b.alpn(&refs);
        }
        if let Some(p) = srtp_profiles {
            let ids = parse_srtp(py, p)?;
            summary.push(format!("srtp={ids:?}"));
            b = b.srtp_profiles(&ids);
        }
        if let Some(mki) = srtp_mki {
            b = b.srtp_mki(&mki);
        }
        b = b.srtp_accept_mki(srtp_accept_mki);
        if let Some(seed) = rng_seed {
            b = b.rng_seed(seed);
            summary.push("seeded rng".to_string());
        }
        if let Some(v) = versions {
            let list = list_items(v)?
                .iter()
                .map(|item| version_from_obj(py, item))
                .collect::<PyResult<Vec<_>>>()?;
            b = b.versions(&list);
        }
        if let Some(m) = max_handshake_message {
            b = b.max_handshake_message(m);
        }
        if let Some(l) = limits {
            let mut current = b.current_limits();
            for (key, value) in l.iter() {
                let name: String = key.extract()?;
                set_limit(&mut current, &name, &value).ok_or_else(|| {
                    invalid_argument(
                        py,
                        format!("unknown limit {name:?} (known: {})", LIMIT_NAMES.join(", ")),
                    )
                })??;
            }
            b = b.limits(current);
        }
        if let Some(f) = wall_clock {
            if !f.bind(py).is_callable() {
                return Err(pyo3::exceptions::PyTypeError::new_err(
                    "wall_clock must be a callable returning Unix seconds",
                ));
            }
            b = b.wall_clock(python_wall_clock(f));
        }
        let inner = b.build().py_err(py)?;
        Ok(Config {
            inner,
            summary: summary.join(", "),
        })
    }

    /// The largest datagram this configuration sends.
    #[getter]
    fn mtu(&self) -> u16 {
        self.inner.mtu()
    }

    /// Whether a server performs the HelloVerifyRequest cookie exchange.
    #[getter]
    fn cookie_exchange(&self) -> bool {
        self.inner.cookie_exchange()
    }

    /// The per-association memory bounds in force, by name.
    #[getter]
    fn limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let l = self.inner.limits();
        let d = PyDict::new(py);
        for name in LIMIT_NAMES {
            if let Some(v) = get_limit(l, name) {
                d.set_item(name, v)?;
            }
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!("<Config {}>", self.summary)
    }
}
