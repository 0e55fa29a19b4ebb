//! `ServerFrontDoor`: the stateless cookie check for a server socket shared by many peers.

use crate::buffers::BytesLike;
use crate::config::Config;
use crate::convert::{address_bytes, seconds_to_ms};
use dtls_proto::{Admission, Verdict};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyTuple};

/// A HelloVerifyRequest is about 60 bytes; this leaves room for any cookie length.
const REPLY_CAP: usize = 512;

/// Verdict: the ClientHello carries a valid cookie (or cookies are off). Create
/// `Connection(config, role="server", peer_address=...)` and feed it `datagram`, or, when
/// that is `None` (from `prefilter`), the datagram that was classified.
#[pyclass(module = "dtls._native", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Accept {
    datagram: Option<Vec<u8>>,
}

#[pymethods]
impl Accept {
    #[new]
    #[pyo3(signature = (datagram=None))]
    fn new(datagram: Option<PyBackedBytes>) -> Self {
        Accept {
            datagram: datagram.map(|d| d.to_vec()),
        }
    }

    /// What to feed the new `Connection` (from `admit`: the datagram itself or the
    /// ClientHello the door reassembled), or `None` from `prefilter`.
    #[getter]
    fn datagram<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.datagram.as_deref().map(|d| PyBytes::new(py, d))
    }

    #[classattr]
    fn __match_args__() -> (&'static str,) {
        ("datagram",)
    }

    fn __repr__(&self) -> String {
        match &self.datagram {
            Some(d) => format!("Accept(<{} bytes>)", d.len()),
            None => "Accept()".to_owned(),
        }
    }
}

/// Verdict (`admit` only): part of a ClientHello, held by the front door until the rest
/// arrives; nothing to do.
#[pyclass(module = "dtls._native", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Held {}

#[pymethods]
impl Held {
    #[new]
    fn new() -> Self {
        Held {}
    }

    #[classattr]
    fn __match_args__(py: Python<'_>) -> Bound<'_, PyTuple> {
        PyTuple::empty(py)
    }

    fn __repr__(&self) -> &'static str {
        "Held()"
    }
}

/// Verdict: send `datagram` (a HelloVerifyRequest or HelloRetryRequest) back to the peer; keep no state.
#[pyclass(module = "dtls._native", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reply {
    datagram: Vec<u8>,
}

#[pymethods]
impl Reply {
    #[new]
    fn new(datagram: PyBackedBytes) -> Self {
        Reply {
            datagram: datagram.to_vec(),
        }
    }

    /// The datagram to send back.
    #[getter]
    fn datagram<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.datagram)
    }

    #[classattr]
    fn __match_args__() -> (&'static str,) {
        ("datagram",)
    }

    fn __repr__(&self) -> String {
        format!("Reply(<{} bytes>)", self.datagram.len())
    }
}

/// Verdict: not a ClientHello we can use; ignore the datagram.
#[pyclass(module = "dtls._native", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Drop {}

#[pymethods]
impl Drop {
    #[new]
    fn new() -> Self {
        Drop {}
    }

    #[classattr]
    fn __match_args__(py: Python<'_>) -> Bound<'_, PyTuple> {
        PyTuple::empty(py)
    }

    fn __repr__(&self) -> &'static str {
        "Drop()"
    }
}

/// The front door of a server socket (RFC 6347 §4.2.1, RFC 9147 §5.1): classifies a
/// datagram from an address that has no association yet, before anything is allocated for
/// it. With DTLS 1.3 enabled it reassembles ClientHellos in a pool shared by all peers
/// (bounded in bytes), so `admit` takes `&mut self`.
#[pyclass(module = "dtls._native")]
pub struct ServerFrontDoor {
    inner: dtls_proto::ServerFrontDoor,
}

#[pymethods]
impl ServerFrontDoor {
    /// Uses the config's cookie secret (share it between processes serving one address).
    #[new]
    fn new(config: &Bound<'_, Config>) -> Self {
        ServerFrontDoor {
            inner: dtls_proto::ServerFrontDoor::new(config.get().inner.clone()),
        }
    }

    /// `Accept(datagram)`, `Reply(datagram)`, `Held()` or `Drop()` for a datagram from
    /// `peer` (bytes, str or an address tuple: any stable encoding, the same one given to the
    /// `Connection`). Works for every config; needed for one with DTLS 1.3 enabled.
    fn admit(
        &mut self,
        py: Python<'_>,
        now: f64,
        peer: &Bound<'_, PyAny>,
        datagram: BytesLike,
    ) -> PyResult<Py<PyAny>> {
        let now = seconds_to_ms(py, now)?;
        let peer = address_bytes(peer)?;
        let mut out = [0u8; REPLY_CAP];
        Ok(match self.inner.admit(now, &peer, &datagram, &mut out) {
            Admission::Accept(hello) => Py::new(
                py,
                Accept {
                    datagram: Some(hello.to_vec()),
                },
            )?
            .into_any(),
            Admission::Reply(n) => Py::new(
                py,
                Reply {
                    datagram: out[..n].to_vec(),
                },
            )?
            .into_any(),
            Admission::Held => Py::new(py, Held {})?.into_any(),
            Admission::Drop => Py::new(py, Drop {})?.into_any(),
        })
    }

    /// `(bytes, entries)`: what the ClientHello pool holds now.
    fn pool(&self) -> (usize, usize) {
        let s = self.inner.pool_stats();
        (s.bytes, s.entries)
    }

    /// The DTLS 1.2-only classification from the first fragment: `Accept()`,
    /// `Reply(datagram)` or `Drop()`. With DTLS 1.3 enabled use `admit`.
    fn prefilter(
        &self,
        py: Python<'_>,
        now: f64,
        peer: &Bound<'_, PyAny>,
        datagram: BytesLike,
    ) -> PyResult<Py<PyAny>> {
        let now = seconds_to_ms(py, now)?;
        let peer = address_bytes(peer)?;
        let mut out = [0u8; REPLY_CAP];
        Ok(
            match self.inner.prefilter(now, &peer, &datagram, &mut out) {
                Verdict::Accept => Py::new(py, Accept { datagram: None })?.into_any(),
                Verdict::Reply(n) => Py::new(
                    py,
                    Reply {
                        datagram: out[..n].to_vec(),
                    },
                )?
                .into_any(),
                Verdict::Drop => Py::new(py, Drop {})?.into_any(),
            },
        )
    }

    fn __repr__(&self) -> &'static str {
        "<ServerFrontDoor>"
    }
}
