//! `Connection` (one association, sans-IO, in aioquic's style) and the objects it hands out:
//! events, `Negotiated`, `SrtpKeyingMaterial`.

use crate::buffers::{view_slice, with_writable, BytesLike};
use crate::config::Config;
use crate::convert::{
    address_bytes, bytes_or_str, group_name, ms_to_seconds, seconds_to_ms, srtp_profile_name,
    string_list, suite_name, suite_openssl_name, version_name,
};
use crate::errors::{engine_err, invalid_argument, IntoPy};
use dtls_proto::{Error, Event, Role};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

/// Starting size of the datagram and record buffers: above the default MTU (1200), grown
/// on demand for a larger one.
const INITIAL_BUFFER: usize = 2048;
/// Largest keying material `export_keying_material` produces (RFC 5705 sets no limit; this
/// only bounds the allocation a caller can ask for).
const MAX_EXPORT: usize = 16 * 1024;

fn repr_bytes(b: &[u8]) -> String {
    let mut s = String::from("b'");
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('\'');
    s
}

/// What the handshake settled on.
#[pyclass(module = "dtls._native", frozen, eq, hash, get_all)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Negotiated {
    /// `"DTLSv1.2"`.
    version: String,
    /// IANA name, e.g. `"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"`.
    cipher_suite: String,
    /// IANA id of the cipher suite.
    cipher_suite_id: u16,
    /// `"x25519"`, `"secp256r1"` or `"secp384r1"`.
    group: String,
    /// IANA code of the signature scheme the peer authenticated with, if it signed.
    peer_signature_scheme: Option<u16>,
    /// Whether RFC 7627 extended_master_secret is in use.
    extended_master_secret: bool,
    /// The SRTP profile in OpenSSL's spelling (`"SRTP_AES128_CM_SHA1_80"`), if negotiated.
    srtp_profile: Option<String>,
    /// IANA id of the SRTP profile, if negotiated.
    srtp_profile_id: Option<u16>,
    /// The MKI the server echoed in use_srtp.
    srtp_mki: Vec<u8>,
    /// The ALPN protocol selected, if any.
    alpn: Option<Vec<u8>>,
}

impl Negotiated {
    fn from_engine(n: &dtls_proto::Negotiated) -> Self {
        Negotiated {
            version: version_name(n.version),
            cipher_suite: suite_name(n.cipher_suite),
            cipher_suite_id: n.cipher_suite.get(),
            group: group_name(n.group),
            peer_signature_scheme: n.peer_signature_scheme,
            extended_master_secret: n.extended_master_secret,
            srtp_profile: n.srtp_profile.map(srtp_profile_name),
            srtp_profile_id: n.srtp_profile,
            srtp_mki: n.srtp_mki.clone(),
            alpn: n.alpn.clone(),
        }
    }
}

#[pymethods]
impl Negotiated {
    /// The cipher suite as OpenSSL names it (`"ECDHE-ECDSA-AES128-GCM-SHA256"`).
    #[getter]
    fn cipher_suite_openssl(&self) -> Option<&'static str> {
        suite_openssl_name(dtls_proto::CipherSuite::from(self.cipher_suite_id))
    }

    fn __repr__(&self) -> String {
        // The names are ASCII without quotes, so Python's repr is just single quotes.
        let opt = |o: &Option<String>| o.as_ref().map_or("None".into(), |s| format!("'{s}'"));
        format!(
            "Negotiated(version='{}', cipher_suite='{}', group='{}', \
             extended_master_secret={}, srtp_profile={}, alpn={})",
            self.version,
            self.cipher_suite,
            self.group,
            if self.extended_master_secret {
                "True"
            } else {
                "False"
            },
            opt(&self.srtp_profile),
            self.alpn.as_deref().map_or("None".into(), repr_bytes),
        )
    }
}

/// Event: the peer's certificate chain was received and verified.
#[pyclass(module = "dtls._native", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PeerCertificate {
    /// The chain as DER certificates, leaf first.
    certificates: Vec<Vec<u8>>,
}

#[pymethods]
impl PeerCertificate {
    #[new]
    fn new(certificates: Vec<PyBackedBytes>) -> Self {
        PeerCertificate {
            certificates: certificates.iter().map(|c| c.to_vec()).collect(),
        }
    }

    /// The chain as DER certificates, leaf first.
    #[getter]
    fn certificates<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.certificates.iter().map(|c| PyBytes::new(py, c)))
    }

    #[classattr]
    fn __match_args__() -> (&'static str,) {
        ("certificates",)
    }

    fn __repr__(&self) -> String {
        format!(
            "PeerCertificate(<{} certificates>)",
            self.certificates.len()
        )
    }
}

/// Event: the handshake completed; application data may flow.
#[pyclass(module = "dtls._native", frozen, eq, hash, get_all)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Connected {
    /// What was negotiated.
    negotiated: Negotiated,
}

#[pymethods]
impl Connected {
    #[new]
    fn new(negotiated: &Bound<'_, Negotiated>) -> Self {
        Connected {
            negotiated: negotiated.get().clone(),
        }
    }

    #[classattr]
    fn __match_args__() -> (&'static str,) {
        ("negotiated",)
    }

    fn __repr__(&self) -> String {
        format!("Connected(negotiated={})", self.negotiated.__repr__())
    }
}

/// Event: the peer closed the association with close_notify.
#[pyclass(module = "dtls._native", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CloseNotify {}

#[pymethods]
impl CloseNotify {
    #[new]
    fn new() -> Self {
        CloseNotify {}
    }

    #[classattr]
    fn __match_args__(py: Python<'_>) -> Bound<'_, PyTuple> {
        PyTuple::empty(py)
    }

    fn __repr__(&self) -> &'static str {
        "CloseNotify()"
    }
}

/// Event: the association failed. `error` is the same kind of exception the failing call
/// raised (a `DtlsError` with `.code` and `.name`).
#[pyclass(module = "dtls._native", frozen)]
pub struct Failed {
    error: Py<PyAny>,
}

#[pymethods]
impl Failed {
    #[new]
    fn new(error: Py<PyAny>) -> Self {
        Failed { error }
    }

    /// The exception describing the failure.
    #[getter]
    fn error(&self, py: Python<'_>) -> Py<PyAny> {
        self.error.clone_ref(py)
    }

    #[classattr]
    fn __match_args__() -> (&'static str,) {
        ("error",)
    }

    // Equality and hash follow the exception object, as a frozen dataclass's would.
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Failed>()
            .is_ok_and(|o| o.get().error.is(&self.error))
    }

    fn __hash__(&self) -> isize {
        self.error.as_ptr() as isize
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Failed(error={})", self.error.bind(py).repr()?))
    }
}

/// SRTP master keys and salts for both directions (RFC 5764 §4.2).
#[pyclass(module = "dtls._native", frozen, get_all)]
pub struct SrtpKeyingMaterial {
    /// The profile in OpenSSL's spelling, e.g. `"SRTP_AES128_CM_SHA1_80"`.
    profile: String,
    /// Its IANA id.
    profile_id: u16,
    /// The MKI negotiated in use_srtp (often empty).
    mki: Vec<u8>,
    client_key: Vec<u8>,
    server_key: Vec<u8>,
    client_salt: Vec<u8>,
    server_salt: Vec<u8>,
    /// client key || server key || client salt || server salt, as exported.
    material: Vec<u8>,
}

#[pymethods]
impl SrtpKeyingMaterial {
    // Secrets stay out of reprs (and so out of logs).
    fn __repr__(&self) -> String {
        format!("<SrtpKeyingMaterial {}>", self.profile)
    }
}

fn parse_role(py: Python<'_>, role: &str) -> PyResult<Role> {
    match role.to_ascii_lowercase().as_str() {
        "client" => Ok(Role::Client),
        "server" => Ok(Role::Server),
        _ => Err(invalid_argument(
            py,
            format!("role must be \"client\" or \"server\", not {role:?}"),
        )),
    }
}

/// One DTLS association. The caller owns the socket and the clock: feed each received
/// datagram to `receive_datagram`, send everything `datagrams_to_send` returns, call
/// `handle_timer` once `get_timer` passes, and read `next_event` and `recv`.
///
/// Times are seconds on any monotonic clock (`time.monotonic()`, `loop.time()`).
/// A connection may move between threads but must be used by one at a time.
#[pyclass(module = "dtls._native")]
pub struct Connection {
    conn: dtls_proto::Connection,
    /// Datagrams polled in one `datagrams_to_send` call, back to back, and their lengths:
    /// one buffer reused across calls instead of one allocation per datagram.
    out: Vec<u8>,
    out_lens: Vec<usize>,
    /// One datagram as `poll_transmit` writes it, grown on `BufferTooSmall`.
    tx: Vec<u8>,
    /// Receive buffer, grown on `BufferTooSmall`.
    rx: Vec<u8>,
    /// An error `poll_transmit` returned after some datagrams were already polled.
    pending_error: Option<Error>,
}

#[pymethods]
impl Connection {
    /// Creates an association. `role` is `"client"` or `"server"`; `server_name` (client)
    /// is sent as SNI and checked against the server's certificate in webpki mode;
    /// `peer_fingerprints` pins certificates for this association only; `peer_address`
    /// (server) binds the cookie to the peer's transport address.
    #[new]
    #[pyo3(signature = (config, *, role, server_name = None, now = 0.0, peer_fingerprints = None, peer_address = None))]
    fn new(
        py: Python<'_>,
        config: &Bound<'_, Config>,
        role: &str,
        server_name: Option<&str>,
        now: f64,
        peer_fingerprints: Option<&Bound<'_, PyAny>>,
        peer_address: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Connection> {
        let role = parse_role(py, role)?;
        let now = seconds_to_ms(py, now)?;
        let cfg = config.get().inner.clone();
        let mut conn = dtls_proto::Connection::new(cfg, role, server_name, now).py_err(py)?;
        if let Some(fps) = peer_fingerprints {
            for fp in string_list(fps, "peer_fingerprints")? {
                conn.add_peer_fingerprint(&fp).py_err(py)?;
            }
        }
        if let Some(addr) = peer_address {
            conn.set_peer_address(&address_bytes(addr)?);
        }
        Ok(Connection {
            conn,
            out: Vec::new(),
            out_lens: Vec::new(),
            tx: vec![0; INITIAL_BUFFER],
            rx: vec![0; INITIAL_BUFFER],
            pending_error: None,
        })
    }

    /// `"client"` or `"server"`.
    #[getter]
    fn role(&self) -> &'static str {
        match self.conn.role() {
            Role::Client => "client",
            Role::Server => "server",
        }
    }

    /// True once the handshake has completed (until close or failure).
    #[getter]
    fn is_connected(&self) -> bool {
        self.conn.is_connected()
    }

    /// True after close_notify (either way) or a fatal error.
    #[getter]
    fn is_closed(&self) -> bool {
        self.conn.is_closed()
    }

    /// The largest payload `send` accepts with the current MTU and cipher suite.
    #[getter]
    fn max_send_len(&self) -> usize {
        self.conn.max_send_len()
    }

    /// What the handshake negotiated, once it completed.
    #[getter]
    fn negotiated(&self) -> Option<Negotiated> {
        self.conn.negotiated().map(Negotiated::from_engine)
    }

    /// Pins a peer certificate fingerprint in SDP form, `"sha-256 AB:CD:..."`.
    fn add_peer_fingerprint(&mut self, py: Python<'_>, fingerprint: &str) -> PyResult<()> {
        self.conn.add_peer_fingerprint(fingerprint).py_err(py)
    }

    /// Server: binds the cookie to the peer's transport address (bytes, str or an address
    /// tuple; any stable encoding).
    fn set_peer_address(&mut self, address: &Bound<'_, PyAny>) -> PyResult<()> {
        self.conn.set_peer_address(&address_bytes(address)?);
        Ok(())
    }

    /// Changes the MTU (for example after path MTU discovery).
    fn set_mtu(&mut self, py: Python<'_>, mtu: u16) -> PyResult<()> {
        self.conn.set_mtu(mtu).py_err(py)
    }

    /// Processes one whole UDP datagram. Junk is dropped and counted (see `stats()`); an
    /// exception means the association failed (a fatal alert for the peer may be waiting in
    /// `datagrams_to_send`, and a `Failed` event in `next_event`).
    fn receive_datagram(&mut self, py: Python<'_>, data: BytesLike, now: f64) -> PyResult<()> {
        let now = seconds_to_ms(py, now)?;
        let conn = &mut self.conn;
        // Decryption and handshake crypto run without the GIL.
        py.detach(|| conn.handle_datagram(now, &data)).py_err(py)
    }

    /// Every datagram ready to go out, in order (handshake flights, application records,
    /// alerts). Call after every other call that changes the connection.
    fn datagrams_to_send<'py>(
        &mut self,
        py: Python<'py>,
        now: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        let now = seconds_to_ms(py, now)?;
        if let Some(e) = self.pending_error.take() {
            return Err(engine_err(py, &e));
        }
        let Connection {
            conn,
            out,
            out_lens,
            tx,
            ..
        } = self;
        out.clear();
        out_lens.clear();
        // Sealing (encryption) happens here, without the GIL.
        let result: Result<(), Error> = py.detach(|| loop {
            match conn.poll_transmit(now, tx) {
                Ok(Some(n)) => {
                    out.extend_from_slice(&tx[..n]);
                    out_lens.push(n);
                }
                Ok(None) => return Ok(()),
                // The engine keeps the datagram: grow and poll again.
                Err(Error::BufferTooSmall { needed }) if needed > tx.len() => tx.resize(needed, 0),
                Err(e) => return Err(e),
            }
        });
        if let Err(e) = result {
            if out_lens.is_empty() {
                return Err(engine_err(py, &e));
            }
            // Datagrams polled before the error have left the engine: hand them out now
            // and raise on the next call.
            self.pending_error = Some(e);
        }
        let mut offset = 0;
        let list = PyList::empty(py);
        for &n in out_lens.iter() {
            list.append(PyBytes::new(py, &out[offset..offset + n]))?;
            offset += n;
        }
        Ok(list)
    }

    /// The next deadline (seconds on the caller's clock) at which `handle_timer` must be
    /// called, or None when no timer runs.
    fn get_timer(&self) -> Option<f64> {
        self.conn.next_timeout().map(ms_to_seconds)
    }

    /// Retransmits or fails the handshake as the clock demands; a no-op before the
    /// deadline. Raises `HandshakeTimeoutError` when the handshake deadline has passed.
    fn handle_timer(&mut self, py: Python<'_>, now: f64) -> PyResult<()> {
        let now = seconds_to_ms(py, now)?;
        let conn = &mut self.conn;
        py.detach(|| conn.handle_timeout(now)).py_err(py)
    }

    /// The next event (`PeerCertificate`, `Connected`, `CloseNotify` or `Failed`), or None.
    fn next_event(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let Some(ev) = self.conn.poll_event() else {
            return Ok(None);
        };
        let obj = match ev {
            Event::PeerCertificate => Py::new(
                py,
                PeerCertificate {
                    certificates: self.conn.peer_certificates().to_vec(),
                },
            )?
            .into_any(),
            Event::Connected(n) => Py::new(
                py,
                Connected {
                    negotiated: Negotiated::from_engine(&n),
                },
            )?
            .into_any(),
            Event::CloseNotify => Py::new(py, CloseNotify {})?.into_any(),
            Event::Failed(e) => Py::new(
                py,
                Failed {
                    error: engine_err(py, &e).into_value(py).into_any(),
                },
            )?
            .into_any(),
            // The engine may grow new events; an old binding skips them.
            _ => return self.next_event(py),
        };
        Ok(Some(obj))
    }

    /// Queues `data` as one application record (at most `max_send_len` bytes); it goes out
    /// with the next `datagrams_to_send`.
    fn send(&mut self, py: Python<'_>, data: BytesLike) -> PyResult<()> {
        let conn = &mut self.conn;
        py.detach(|| conn.send(&data)).py_err(py)
    }

    /// The zero-copy send path: seals `data` as one application record straight into the
    /// writable buffer `out` (a `bytearray` is written in place) and returns the datagram's
    /// length; send `out[:n]` yourself. Needs the handshake done and nothing queued by
    /// `send` (send `datagrams_to_send` first). `BufferTooSmallError` changes nothing.
    fn seal_into(
        &mut self,
        py: Python<'_>,
        data: BytesLike,
        out: &Bound<'_, PyAny>,
    ) -> PyResult<usize> {
        let conn = &mut self.conn;
        with_writable(out, |buf| conn.seal_into(&data, buf))?.py_err(py)
    }

    /// The zero-copy receive path: like `receive_datagram`, but a datagram that is a single
    /// application record (the steady state of a media flow) is decrypted where it lies and
    /// its plaintext returned as a `memoryview` into `datagram` (a writable buffer; a
    /// `bytearray` is used in place). Returns None otherwise: anything received is then in
    /// `recv()` and `next_event()` as usual. The datagram's bytes are overwritten either way.
    fn open_in_place<'py>(
        &mut self,
        py: Python<'py>,
        datagram: &Bound<'py, PyAny>,
        now: f64,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let now = seconds_to_ms(py, now)?;
        let conn = &mut self.conn;
        let opened = with_writable(datagram, |buf| {
            let base = buf.as_ptr() as usize;
            conn.open_in_place(now, buf).map(|plain| {
                plain.map(|p| {
                    let start = p.as_ptr() as usize - base;
                    (start, start + p.len())
                })
            })
        })?
        .py_err(py)?;
        opened
            .map(|(start, end)| view_slice(datagram, start, end))
            .transpose()
    }

    /// The next received application record, or None when none is waiting.
    fn recv<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        loop {
            match self.conn.recv(&mut self.rx) {
                Ok(Some(n)) => return Ok(Some(PyBytes::new(py, &self.rx[..n]))),
                Ok(None) => return Ok(None),
                Err(Error::BufferTooSmall { needed }) if needed > self.rx.len() => {
                    self.rx.resize(needed, 0)
                }
                Err(e) => return Err(engine_err(py, &e)),
            }
        }
    }

    /// DTLS 1.3: updates our sending keys (RFC 9147 §8), asking the peer to update its own
    /// when `request_peer` is true; the new keys take over once the peer acknowledges (send
    /// `datagrams_to_send` after this). Raises `NotConnectedError` before the handshake and
    /// `InvalidArgumentError` on a DTLS 1.2 connection.
    #[pyo3(signature = (now, request_peer = false))]
    fn key_update(&mut self, py: Python<'_>, now: f64, request_peer: bool) -> PyResult<()> {
        let now = seconds_to_ms(py, now)?;
        self.conn.key_update(now, request_peer).py_err(py)
    }

    /// Queues close_notify (send it with `datagrams_to_send`); nothing more is accepted.
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        self.conn.close().py_err(py)
    }

    /// RFC 5705 keying material: `length` bytes for `label`, with an optional context.
    #[pyo3(signature = (label, length, context = None))]
    fn export_keying_material<'py>(
        &self,
        py: Python<'py>,
        label: &Bound<'py, PyAny>,
        length: usize,
        context: Option<BytesLike>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let label = bytes_or_str(py, "label", label)?;
        if length == 0 || length > MAX_EXPORT {
            return Err(invalid_argument(
                py,
                format!("length must be between 1 and {MAX_EXPORT}"),
            ));
        }
        let mut out = vec![0u8; length];
        self.conn
            .export_keying_material(&label, context.as_deref(), &mut out)
            .py_err(py)?;
        let b = PyBytes::new(py, &out);
        // The copy in `out` is a secret too.
        out.iter_mut().for_each(|b| *b = 0);
        Ok(b)
    }

    /// SRTP master keys and salts for the negotiated profile (RFC 5764 §4.2).
    fn srtp_keying_material(&self, py: Python<'_>) -> PyResult<SrtpKeyingMaterial> {
        let m = self.conn.srtp_keying_material().py_err(py)?;
        Ok(SrtpKeyingMaterial {
            profile: srtp_profile_name(m.profile),
            profile_id: m.profile,
            mki: m.mki.clone(),
            client_key: m.client_key().to_vec(),
            server_key: m.server_key().to_vec(),
            client_salt: m.client_salt().to_vec(),
            server_salt: m.server_salt().to_vec(),
            material: m.material.to_vec(),
        })
    }

    /// The peer's certificate chain (DER, leaf first), once received and verified.
    fn peer_certificates<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyBytes>> {
        self.conn
            .peer_certificates()
            .iter()
            .map(|c| PyBytes::new(py, c))
            .collect()
    }

    /// Counters: datagrams, records and bytes each way, drops by reason (`dropped_*`),
    /// retransmissions, HelloVerifyRequests, handshake timing (milliseconds).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.conn.stats();
        let d = PyDict::new(py);
        let items: [(&str, u64); 21] = [
            ("datagrams_in", s.datagrams_in),
            ("datagrams_out", s.datagrams_out),
            ("records_in", s.records_in),
            ("records_out", s.records_out),
            ("bytes_in", s.bytes_in),
            ("bytes_out", s.bytes_out),
            ("dropped", s.dropped.total()),
            ("dropped_malformed", s.dropped.malformed),
            ("dropped_auth_failed", s.dropped.auth_failed),
            ("dropped_replayed", s.dropped.replayed),
            ("dropped_bad_epoch", s.dropped.bad_epoch),
            ("dropped_unexpected", s.dropped.unexpected),
            ("dropped_reassembly", s.dropped.reassembly),
            ("dropped_overflow", s.dropped.overflow),
            ("dropped_cookie", s.dropped.cookie),
            ("retransmissions", s.retransmissions),
            ("hello_verify_requests", s.hello_verify_requests),
            ("acks_sent", s.acks_sent),
            ("key_updates", s.key_updates),
            ("handshake_started_ms", s.handshake_started_ms),
            (
                "handshake_duration_ms",
                s.handshake_duration_ms.unwrap_or(0),
            ),
        ];
        for (k, v) in items {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let state = if self.conn.is_connected() {
            "connected"
        } else if self.conn.is_closed() {
            "closed"
        } else {
            "handshaking"
        };
        format!("<Connection {} {}>", self.role(), state)
    }
}
