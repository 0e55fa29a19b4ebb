//! The exception hierarchy: one Python class per engine error code, grouped by the code's
//! hundred (1xx API misuse, 2xx local configuration, 3xx protocol, 4xx peer authentication),
//! all under `DtlsError`. Every instance carries `.code` (the `dtls_result` number shared with
//! the C ABI) and `.name` (its C name, e.g. `DTLS_ERR_FINGERPRINT_MISMATCH`).
//!
//! The classes are made at import time with `type(name, bases, ns)` rather than
//! `create_exception!`, because some need two bases (`InvalidArgumentError` is also a
//! `ValueError`, `HandshakeTimeoutError` also a `TimeoutError`) and `create_exception!` takes one.

use dtls_proto::{AlertDescription, Error};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// Where a class sits: its name, parents (the first is a class of this table, or a builtin
/// for `DtlsError`), the code and C name its class attributes carry, and its docstring.
struct ClassSpec {
    name: &'static str,
    parents: &'static [&'static str],
    code: u32,
    code_name: &'static str,
    doc: &'static str,
}

/// Parents are listed before children, so each class can find its bases already made.
/// Builtin bases are spelled `builtins.X`.
const CLASSES: &[ClassSpec] = &[
    ClassSpec {
        name: "DtlsError",
        parents: &["builtins.Exception"],
        code: 0,
        code_name: "DTLS_ERR",
        doc: "Base class of every error raised by the DTLS engine. `.code` is the numeric \
              dtls_result shared with the C ABI, `.name` its C name.",
    },
    ClassSpec {
        name: "UsageError",
        parents: &["DtlsError"],
        code: 0,
        code_name: "DTLS_ERR",
        doc: "The call was not valid for the arguments or the connection's state (codes 1xx).",
    },
    ClassSpec {
        name: "ConfigError",
        parents: &["DtlsError", "builtins.ValueError"],
        code: 0,
        code_name: "DTLS_ERR",
        doc: "The configuration, a certificate or a key cannot work as given (codes 2xx).",
    },
    ClassSpec {
        name: "ProtocolError",
        parents: &["DtlsError"],
        code: 0,
        code_name: "DTLS_ERR",
        doc: "The association failed on the wire (codes 3xx). Any fatal alert for the peer \
              is waiting in datagrams_to_send().",
    },
    ClassSpec {
        name: "AuthenticationError",
        parents: &["DtlsError"],
        code: 0,
        code_name: "DTLS_ERR",
        doc: "The peer could not be authenticated (codes 4xx).",
    },
    ClassSpec {
        name: "InvalidArgumentError",
        parents: &["UsageError", "builtins.ValueError"],
        code: 101,
        code_name: "DTLS_ERR_INVALID_ARGUMENT",
        doc: "An argument is out of range (for example data larger than max_send_len).",
    },
    ClassSpec {
        name: "BufferTooSmallError",
        parents: &["UsageError"],
        code: 102,
        code_name: "DTLS_ERR_BUFFER_TOO_SMALL",
        doc: "An output buffer was too small; nothing was lost.",
    },
    ClassSpec {
        name: "NotConnectedError",
        parents: &["UsageError"],
        code: 103,
        code_name: "DTLS_ERR_NOT_CONNECTED",
        doc: "Application data before the handshake completed.",
    },
    ClassSpec {
        name: "ConnectionClosedError",
        parents: &["UsageError"],
        code: 104,
        code_name: "DTLS_ERR_CLOSED",
        doc: "The association is closed.",
    },
    ClassSpec {
        name: "ExporterUnavailableError",
        parents: &["UsageError"],
        code: 106,
        code_name: "DTLS_ERR_EXPORTER_UNAVAILABLE",
        doc: "Keying material is only available once the handshake has completed.",
    },
    ClassSpec {
        name: "InvalidConfigError",
        parents: &["ConfigError"],
        code: 200,
        code_name: "DTLS_ERR_INVALID_CONFIG",
        doc: "The configuration cannot work as given.",
    },
    ClassSpec {
        name: "CertificateError",
        parents: &["ConfigError"],
        code: 201,
        code_name: "DTLS_ERR_CERTIFICATE",
        doc: "A certificate, key or fingerprint could not be loaded, parsed or generated.",
    },
    ClassSpec {
        name: "NoVerifierError",
        parents: &["ConfigError"],
        code: 202,
        code_name: "DTLS_ERR_NO_VERIFIER",
        doc: "No way to authenticate the peer: no pinned fingerprints and no roots.",
    },
    ClassSpec {
        name: "HandshakeTimeoutError",
        parents: &["ProtocolError", "builtins.TimeoutError"],
        code: 300,
        code_name: "DTLS_ERR_HANDSHAKE_TIMEOUT",
        doc: "The handshake did not complete before its deadline. `.alert` names an \
              unauthenticated fatal alert the peer sent meanwhile, the likely reason.",
    },
    ClassSpec {
        name: "AlertReceivedError",
        parents: &["ProtocolError"],
        code: 301,
        code_name: "DTLS_ERR_ALERT_RECEIVED",
        doc: "The peer sent an authenticated fatal alert, named by `.alert`.",
    },
    ClassSpec {
        name: "PeerMisbehavedError",
        parents: &["ProtocolError"],
        code: 302,
        code_name: "DTLS_ERR_PEER_MISBEHAVED",
        doc: "The peer broke the protocol; the alert named by `.alert` was sent.",
    },
    ClassSpec {
        name: "NoCommonParametersError",
        parents: &["ProtocolError"],
        code: 303,
        code_name: "DTLS_ERR_NO_COMMON_PARAMETERS",
        doc: "No cipher suite, group, signature scheme or version in common with the peer.",
    },
    ClassSpec {
        name: "ExtendedMasterSecretRequiredError",
        parents: &["ProtocolError"],
        code: 304,
        code_name: "DTLS_ERR_EMS_REQUIRED",
        doc: "The peer does not support extended_master_secret, which the config requires.",
    },
    ClassSpec {
        name: "KeyUsageLimitError",
        parents: &["ProtocolError"],
        code: 305,
        code_name: "DTLS_ERR_KEY_USAGE_LIMIT",
        doc: "The keys reached their AEAD usage limit (RFC 9147 section 4.5.3); DTLS 1.2 has \
              no key update, so start a new association.",
    },
    ClassSpec {
        name: "InternalError",
        parents: &["ProtocolError"],
        code: 399,
        code_name: "DTLS_ERR_INTERNAL",
        doc: "A bug or resource failure inside the engine.",
    },
    ClassSpec {
        name: "FingerprintMismatchError",
        parents: &["AuthenticationError"],
        code: 400,
        code_name: "DTLS_ERR_FINGERPRINT_MISMATCH",
        doc: "The peer's certificate matches none of the pinned fingerprints.",
    },
    ClassSpec {
        name: "CertificateRejectedError",
        parents: &["AuthenticationError"],
        code: 401,
        code_name: "DTLS_ERR_CERTIFICATE_REJECTED",
        doc: "The peer's certificate chain failed validation (chain, dates or name).",
    },
    ClassSpec {
        name: "NoPeerCertificateError",
        parents: &["AuthenticationError"],
        code: 402,
        code_name: "DTLS_ERR_NO_PEER_CERTIFICATE",
        doc: "The peer sent no certificate although one is required.",
    },
    ClassSpec {
        name: "BadSignatureError",
        parents: &["AuthenticationError"],
        code: 403,
        code_name: "DTLS_ERR_BAD_SIGNATURE",
        doc: "A handshake signature did not verify.",
    },
    ClassSpec {
        name: "BadFinishedError",
        parents: &["AuthenticationError"],
        code: 404,
        code_name: "DTLS_ERR_BAD_FINISHED",
        doc: "The peer's Finished message did not verify.",
    },
];

/// The classes, in `CLASSES` order, once the module has been imported.
static TYPES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn make_types(py: Python<'_>) -> PyResult<Vec<Py<PyType>>> {
    let builtins = py.import("builtins")?;
    let type_fn = builtins.getattr("type")?;
    let mut made: Vec<Py<PyType>> = Vec::with_capacity(CLASSES.len());
    for spec in CLASSES {
        let mut bases = Vec::with_capacity(spec.parents.len());
        for parent in spec.parents {
            let base = match parent.strip_prefix("builtins.") {
                Some(b) => builtins.getattr(b)?,
                None => {
                    let i = CLASSES
                        .iter()
                        .position(|c| c.name == *parent)
                        .filter(|&i| i < made.len())
                        .ok_or_else(|| {
                            pyo3::exceptions::PyRuntimeError::new_err(format!(
                                "exception table out of order at {}",
                                spec.name
                            ))
                        })?;
                    made[i].bind(py).clone().into_any()
                }
            };
            bases.push(base);
        }
        let ns = PyDict::new(py);
        ns.set_item("__module__", "dtls._native")?;
        ns.set_item("__doc__", spec.doc)?;
        ns.set_item("code", spec.code)?;
        ns.set_item("name", spec.code_name)?;
        ns.set_item("alert", py.None())?;
        let ty = type_fn.call1((spec.name, PyTuple::new(py, bases)?, ns))?;
        made.push(ty.cast_into::<PyType>()?.unbind());
    }
    Ok(made)
}

/// Creates the classes (once) and adds them to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let types = TYPES.get_or_try_init(py, || make_types(py))?;
    for (spec, ty) in CLASSES.iter().zip(types) {
        m.add(spec.name, ty.bind(py))?;
    }
    Ok(())
}

/// The class for a code: the leaf when there is one, else `DtlsError`.
fn class_for(py: Python<'_>, code: u32) -> PyResult<Bound<'_, PyType>> {
    let types = TYPES.get_or_try_init(py, || make_types(py))?;
    let i = CLASSES.iter().position(|c| c.code == code).unwrap_or(0);
    Ok(types[i].bind(py).clone())
}

/// An alert's TLS name, e.g. `bad_certificate` (the engine's variant name in snake case).
pub fn alert_name(a: AlertDescription) -> String {
    if let AlertDescription::Unknown(n) = a {
        return format!("unknown_alert_{n}");
    }
    let debug = format!("{a:?}");
    let mut out = String::with_capacity(debug.len() + 4);
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Builds the exception for an engine error, with `.code`, `.name` and `.alert` set on the
/// instance (the class attributes hold the same values for leaf classes).
pub fn engine_err(py: Python<'_>, e: &Error) -> PyErr {
    let alert = match e {
        Error::AlertReceived(a) | Error::PeerMisbehaved { alert: a, .. } => Some(*a),
        Error::HandshakeTimeout { likely_reason } => *likely_reason,
        _ => e.alert(),
    };
    let message = format!("{e} [{}]", e.code_name());
    build(py, e.code(), e.code_name(), alert.map(alert_name), message)
}

/// An `InvalidArgumentError` (code 101) for a bad value the binding itself detected.
pub fn invalid_argument(py: Python<'_>, message: impl Into<String>) -> PyErr {
    build(py, 101, "DTLS_ERR_INVALID_ARGUMENT", None, message.into())
}

/// An `InvalidConfigError` (code 200) for a setting the binding itself refused.
pub fn invalid_config(py: Python<'_>, message: impl Into<String>) -> PyErr {
    build(py, 200, "DTLS_ERR_INVALID_CONFIG", None, message.into())
}

fn build(
    py: Python<'_>,
    code: u32,
    code_name: &str,
    alert: Option<String>,
    message: String,
) -> PyErr {
    let ty = match class_for(py, code) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let err = PyErr::from_type(ty, (message,));
    let value = err.value(py);
    let set = value
        .setattr("code", code)
        .and_then(|_| value.setattr("name", code_name))
        .and_then(|_| value.setattr("alert", alert));
    match set {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// Maps an engine result into a Python one.
pub trait IntoPy<T> {
    /// Converts the engine's error into the matching exception.
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| engine_err(py, &e))
    }
}
