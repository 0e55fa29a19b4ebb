//! `Connection`: one DTLS association, driven by JavaScript (socket and clock are the caller's).

use crate::config::Config;
use crate::error::{engine, invalid, millis, whole, Result};
use dtls_proto::{Error, Event, Role};
use napi::bindgen_prelude::{Buffer, BufferSlice, Either, Uint8Array, Uint8ArraySlice};
use napi::Env;
use napi_derive::napi;

/// Optional settings for a new `Connection`.
#[napi(object)]
pub struct ConnectionOptions {
    /// Client: the name sent as SNI and checked against the server's certificate (webpki).
    pub server_name: Option<String>,
    /// Peer certificate fingerprints (`sha-256 AB:CD:...`) pinned for this connection only.
    pub peer_fingerprints: Option<Vec<String>>,
    /// Server: the peer's transport address (any stable encoding, e.g. `"ip:port"`); the
    /// HelloVerifyRequest cookie is bound to it.
    pub peer_address: Option<Either<String, Uint8Array>>,
}

/// What the handshake settled on.
#[napi(object)]
pub struct Negotiated {
    /// Protocol version on the wire (0xfefd for DTLS 1.2).
    pub version: u32,
    /// IANA id of the cipher suite.
    pub cipher_suite: u32,
    /// IANA id of the key-exchange group.
    pub group: u32,
    /// IANA id of the signature scheme the peer authenticated with, when it did.
    pub peer_signature_scheme: Option<u32>,
    /// Whether RFC 7627 extended_master_secret is in use.
    pub extended_master_secret: bool,
    /// IANA id of the SRTP protection profile, when use_srtp was negotiated.
    pub srtp_profile: Option<u32>,
    /// The MKI the server echoed in use_srtp (usually empty).
    pub srtp_mki: Buffer,
    /// The ALPN protocol selected, when any.
    pub alpn: Option<String>,
}

impl From<&dtls_proto::Negotiated> for Negotiated {
    fn from(n: &dtls_proto::Negotiated) -> Self {
        Negotiated {
            version: n.version.get().into(),
            cipher_suite: n.cipher_suite.get().into(),
            group: n.group.get().into(),
            peer_signature_scheme: n.peer_signature_scheme.map(u32::from),
            extended_master_secret: n.extended_master_secret,
            srtp_profile: n.srtp_profile.map(u32::from),
            srtp_mki: Buffer::from(n.srtp_mki.clone()),
            alpn: n
                .alpn
                .as_ref()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
        }
    }
}

/// An event from `pollEvent()`, tagged by `type`.
#[napi(discriminant = "type", discriminant_case = "camelCase")]
pub enum DtlsEvent {
    /// The peer's certificate chain was received and verified (see `peerCertificates()`).
    PeerCertificate,
    /// The handshake completed; application data may flow.
    Connected {
        /// What the handshake settled on.
        negotiated: Negotiated,
    },
    /// The peer closed the association with close_notify.
    CloseNotify,
    /// The association failed; the call that failed threw the same error.
    Failed {
        /// The `DTLS_ERR_*` name of the failure.
        code: String,
        /// Why, in words.
        message: String,
        /// The fatal alert sent to the peer, if any.
        alert: Option<u32>,
    },
}

impl From<Event> for DtlsEvent {
    fn from(ev: Event) -> Self {
        match ev {
            Event::PeerCertificate => DtlsEvent::PeerCertificate,
            Event::Connected(n) => DtlsEvent::Connected {
                negotiated: (&n).into(),
            },
            Event::CloseNotify => DtlsEvent::CloseNotify,
            Event::Failed(e) => failed(&e),
            // `Event` is non_exhaustive: a newer engine's event must not crash an older binding.
            other => DtlsEvent::Failed {
                code: "DTLS_ERR_INTERNAL".into(),
                message: format!("event this binding does not know: {other:?}"),
                alert: None,
            },
        }
    }
}

fn failed(e: &Error) -> DtlsEvent {
    DtlsEvent::Failed {
        code: e.code_name().into(),
        message: e.to_string(),
        alert: e.alert().map(|a| a.get().into()),
    }
}

/// SRTP master keys and salts for both directions (RFC 5764 §4.2).
#[napi(object)]
pub struct SrtpKeyingMaterial {
    /// IANA id of the negotiated profile.
    pub profile: u32,
    /// The negotiated MKI (often empty).
    pub mki: Buffer,
    /// The client's write master key.
    pub client_key: Buffer,
    /// The server's write master key.
    pub server_key: Buffer,
    /// The client's write master salt.
    pub client_salt: Buffer,
    /// The server's write master salt.
    pub server_salt: Buffer,
}

/// Why incoming records were dropped (counters).
#[napi(object)]
pub struct DropCounts {
    /// Truncated or undecodable records.
    pub malformed: f64,
    /// Records that failed AEAD authentication.
    pub auth_failed: f64,
    /// Replayed records or records left of the replay window.
    pub replayed: f64,
    /// Records for an epoch without keys, or with a wrong version.
    pub bad_epoch: f64,
    /// Records not allowed in the current state.
    pub unexpected: f64,
    /// Handshake fragments the reassembler refused.
    pub reassembly: f64,
    /// Records dropped because a bounded queue was full.
    pub overflow: f64,
    /// ClientHellos without a valid cookie.
    pub cookie: f64,
    /// All of the above.
    pub total: f64,
}

/// A snapshot of one connection's counters (numbers, exact below 2^53).
#[napi(object)]
pub struct Stats {
    /// Datagrams handed to `handleDatagram`.
    pub datagrams_in: f64,
    /// Datagrams returned by `pollDatagram`.
    pub datagrams_out: f64,
    /// Records received.
    pub records_in: f64,
    /// Records sent.
    pub records_out: f64,
    /// Bytes received.
    pub bytes_in: f64,
    /// Bytes sent.
    pub bytes_out: f64,
    /// Dropped records, by reason.
    pub dropped: DropCounts,
    /// Flights sent again.
    pub retransmissions: f64,
    /// DTLS 1.3 ACK records sent.
    pub acks_sent: f64,
    /// DTLS 1.3 KeyUpdates that took effect for our sending keys.
    pub key_updates: f64,
    /// HelloVerifyRequests this connection sent (a server doing its own cookie exchange).
    pub hello_verify_requests: f64,
    /// Handshake duration on the caller's clock, once complete.
    pub handshake_duration_ms: Option<f64>,
}

/// One DTLS association. The caller owns the socket and the clock:
/// feed datagrams with `handleDatagram`, send what `pollDatagram` returns, read `pollEvent`
/// and `recv`, and call `handleTimeout` when the `pollTimeout` deadline passes.
#[napi]
pub struct Connection {
    inner: dtls_proto::Connection,
    /// Scratch for `poll_transmit`, grown on `BufferTooSmall` (which keeps the datagram).
    tx: Vec<u8>,
    /// Scratch for `recv`, grown the same way.
    rx: Vec<u8>,
}

/// The caller's `Uint8Array` as a Rust slice to write into.
fn writable<'a>(buf: &'a mut Uint8ArraySlice<'_>) -> &'a mut [u8] {
    // SAFETY: the slice covers exactly the view's bytes, which the JavaScript object keeps
    // alive for this call. JavaScript runs on this thread only and cannot run while we write
    // (the engine calls no JavaScript), so nothing aliases the bytes meanwhile. The one
    // exception is a view over a SharedArrayBuffer written by another thread at the same
    // moment, a race the caller chose, as with any Node API that fills a caller's buffer.
    unsafe { buf.as_mut() }
}

/// A datagram or record length as a JavaScript number (both are far below 2^32).
fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Copies `src` into a new Node `Buffer` (for values returned rarely).
fn buffer(src: &[u8]) -> Buffer {
    Buffer::from(src.to_vec())
}

/// Copies `src` into a new Node `Buffer` allocated by Node itself (`napi_create_buffer_copy`),
/// for the per-datagram and per-record path: cheaper than handing Node a Rust allocation
/// (an external buffer needs a finalizer and a GC callback), and one copy is unavoidable
/// anyway since the engine writes into our reused scratch buffer.
fn node_buffer<'env>(env: &'env Env, src: &[u8]) -> Result<BufferSlice<'env>> {
    BufferSlice::copy_from(env, src).map_err(crate::error::napi)
}

#[napi]
impl Connection {
    /// Starts an association. `role` is `'client'` or `'server'`; `now` is the current time in
    /// milliseconds on the caller's monotonic clock (it starts the handshake deadline).
    #[napi(constructor)]
    pub fn new(
        config: &Config,
        #[napi(ts_arg_type = "'client' | 'server'")] role: String,
        now: f64,
        options: Option<ConnectionOptions>,
    ) -> Result<Connection> {
        let role = match role.as_str() {
            "client" => Role::Client,
            "server" => Role::Server,
            other => {
                return Err(invalid(format!(
                    "role must be 'client' or 'server', got {other:?}"
                )))
            }
        };
        let now = millis(now)?;
        let o = options.unwrap_or(ConnectionOptions {
            server_name: None,
            peer_fingerprints: None,
            peer_address: None,
        });
        if role == Role::Server && o.server_name.is_some() {
            return Err(invalid("serverName is for clients only"));
        }
        let mut inner =
            dtls_proto::Connection::new(config.inner.clone(), role, o.server_name.as_deref(), now)
                .map_err(engine)?;
        for fp in o.peer_fingerprints.iter().flatten() {
            inner.add_peer_fingerprint(fp).map_err(engine)?;
        }
        if let Some(addr) = &o.peer_address {
            inner.set_peer_address(match addr {
                Either::A(s) => s.as_bytes(),
                Either::B(b) => b,
            });
        }
        let mtu = usize::from(config.inner.mtu());
        Ok(Connection {
            inner,
            tx: vec![0; mtu.max(256)],
            rx: vec![0; 2048],
        })
    }

    /// Pins a peer certificate fingerprint, `sha-256 AB:CD:...`.
    #[napi]
    pub fn add_peer_fingerprint(&mut self, sdp: String) -> Result<()> {
        self.inner.add_peer_fingerprint(&sdp).map_err(engine)
    }

    /// Server: binds the cookie to the peer's transport address (e.g. `"ip:port"`).
    #[napi]
    pub fn set_peer_address(&mut self, address: Either<String, Uint8Array>) {
        self.inner.set_peer_address(match &address {
            Either::A(s) => s.as_bytes(),
            Either::B(b) => b,
        });
    }

    /// Processes one whole UDP datagram. Junk is dropped and counted, never thrown; a thrown
    /// error is fatal (a fatal alert may still wait in `pollDatagram`).
    #[napi]
    pub fn handle_datagram(&mut self, datagram: &[u8], now: f64) -> Result<()> {
        let now = millis(now)?;
        self.inner.handle_datagram(now, datagram).map_err(engine)
    }

    /// The next datagram to send, or `null` when there is none. Call until `null` after every
    /// other call.
    #[napi]
    pub fn poll_datagram<'env>(
        &mut self,
        env: &'env Env,
        now: f64,
    ) -> Result<Option<BufferSlice<'env>>> {
        let now = millis(now)?;
        loop {
            match self.inner.poll_transmit(now, &mut self.tx) {
                Ok(Some(n)) => return node_buffer(env, &self.tx[..n]).map(Some),
                Ok(None) => return Ok(None),
                // The datagram stays queued; grow and ask again.
                Err(Error::BufferTooSmall { needed }) => self.tx.resize(needed, 0),
                Err(e) => return Err(engine(e)),
            }
        }
    }

    /// Like `pollDatagram`, into `buf` without allocating: the length written, or `null` when
    /// nothing is pending. A `buf` too small for the next datagram throws
    /// `DTLS_ERR_BUFFER_TOO_SMALL` and keeps it (a buffer of the config's MTU always fits).
    #[napi]
    pub fn poll_datagram_into(
        &mut self,
        mut buf: Uint8ArraySlice<'_>,
        now: f64,
    ) -> Result<Option<u32>> {
        let now = millis(now)?;
        match self.inner.poll_transmit(now, writable(&mut buf)) {
            Ok(n) => Ok(n.map(len_u32)),
            Err(e) => Err(engine(e)),
        }
    }

    /// The next event, or `null`.
    #[napi]
    pub fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.inner.poll_event().map(DtlsEvent::from)
    }

    /// The absolute deadline (ms, caller's clock) at which `handleTimeout` must be called, or
    /// `null` when no timer is running (after the handshake).
    #[napi]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.inner.next_timeout().map(|t| t as f64)
    }

    /// Retransmits or fails the handshake as the clock demands; a no-op before the deadline.
    #[napi]
    pub fn handle_timeout(&mut self, now: f64) -> Result<()> {
        let now = millis(now)?;
        self.inner.handle_timeout(now).map_err(engine)
    }

    /// Queues one application record (at most `maxSendLen` bytes); send it with
    /// `pollDatagram`. Throws `DTLS_ERR_NOT_CONNECTED` before the handshake completes and
    /// `DTLS_ERR_CLOSED` after close.
    #[napi]
    pub fn send(&mut self, data: &[u8]) -> Result<()> {
        self.inner.send(data).map_err(engine)
    }

    /// The next received application record, or `null`.
    #[napi]
    pub fn recv<'env>(&mut self, env: &'env Env) -> Result<Option<BufferSlice<'env>>> {
        loop {
            match self.inner.recv(&mut self.rx) {
                Ok(Some(n)) => return node_buffer(env, &self.rx[..n]).map(Some),
                Ok(None) => return Ok(None),
                Err(Error::BufferTooSmall { needed }) => self.rx.resize(needed, 0),
                Err(e) => return Err(engine(e)),
            }
        }
    }

    /// The zero-copy send path: seals `data` as one application record straight into `out`
    /// and returns the datagram's length (send `out.subarray(0, n)`). Needs the handshake done
    /// and nothing queued by `send` (poll it out first). `DTLS_ERR_BUFFER_TOO_SMALL` changes
    /// nothing.
    #[napi]
    pub fn seal_into(&mut self, data: &[u8], mut out: Uint8ArraySlice<'_>) -> Result<u32> {
        self.inner
            .seal_into(data, writable(&mut out))
            .map(len_u32)
            .map_err(engine)
    }

    /// The zero-copy receive path: like `handleDatagram`, but a datagram that is a single
    /// application record (the steady state of a media flow) is decrypted where it lies and
    /// its plaintext returned as a view into `datagram` (a `subarray`, no copy). `null`
    /// otherwise: anything received is then in `recv()` and `pollEvent()` as usual. The
    /// datagram's bytes are overwritten either way.
    #[napi(ts_return_type = "Uint8Array | null")]
    pub fn open_in_place(
        &mut self,
        mut datagram: Uint8ArraySlice<'_>,
        now: f64,
    ) -> Result<Option<Vec<u32>>> {
        // The view itself is made by index.js (`datagram.subarray(start, end)`) from the range
        // returned here: napi cannot hand back a view of a caller's array.
        let now = millis(now)?;
        let buf = writable(&mut datagram);
        let base = buf.as_ptr() as usize;
        let plain = self.inner.open_in_place(now, buf).map_err(engine)?;
        Ok(plain.map(|p| {
            let start = p.as_ptr() as usize - base;
            vec![len_u32(start), len_u32(start + p.len())]
        }))
    }

    /// Like `recv`, into `buf` without allocating: the length written, or `null` when no
    /// record waits. A `buf` too small for the next record throws `DTLS_ERR_BUFFER_TOO_SMALL`
    /// and keeps it.
    #[napi]
    pub fn recv_into(&mut self, mut buf: Uint8ArraySlice<'_>) -> Result<Option<u32>> {
        match self.inner.recv(writable(&mut buf)) {
            Ok(n) => Ok(n.map(len_u32)),
            Err(e) => Err(engine(e)),
        }
    }

    /// DTLS 1.3: updates our sending keys (RFC 9147 §8), asking the peer to update its own when
    /// `requestPeer` is true; the new keys take over once the peer acknowledges (poll
    /// datagrams after this). Throws `DTLS_ERR_NOT_CONNECTED` before the handshake and
    /// `DTLS_ERR_INVALID_ARGUMENT` on a DTLS 1.2 connection.
    #[napi]
    pub fn key_update(&mut self, now: f64, request_peer: Option<bool>) -> Result<()> {
        let now = millis(now)?;
        self.inner
            .key_update(now, request_peer.unwrap_or(false))
            .map_err(engine)
    }

    /// Queues close_notify; nothing more is accepted afterwards. Idempotent.
    #[napi]
    pub fn close(&mut self) -> Result<()> {
        self.inner.close().map_err(engine)
    }

    /// RFC 5705 keying material exporter: `length` bytes for `label` (and `context`).
    #[napi]
    pub fn export_keying_material(
        &self,
        label: String,
        length: f64,
        context: Option<&[u8]>,
    ) -> Result<Buffer> {
        // Bound the allocation: no exporter use needs more than a few hundred bytes.
        let length = whole("length", length, 16 * 1024)? as usize;
        let mut out = vec![0u8; length];
        self.inner
            .export_keying_material(label.as_bytes(), context, &mut out)
            .map_err(engine)?;
        Ok(Buffer::from(out))
    }

    /// SRTP master keys and salts for the negotiated profile (RFC 5764 §4.2).
    #[napi]
    pub fn srtp_keying_material(&self) -> Result<SrtpKeyingMaterial> {
        let m = self.inner.srtp_keying_material().map_err(engine)?;
        Ok(SrtpKeyingMaterial {
            profile: m.profile.into(),
            mki: buffer(&m.mki),
            client_key: buffer(m.client_key()),
            server_key: buffer(m.server_key()),
            client_salt: buffer(m.client_salt()),
            server_salt: buffer(m.server_salt()),
        })
    }

    /// The peer's certificate chain in DER, leaf first (empty until received and verified).
    #[napi]
    pub fn peer_certificates(&self) -> Vec<Buffer> {
        self.inner
            .peer_certificates()
            .iter()
            .map(|c| buffer(c))
            .collect()
    }

    /// What the handshake negotiated, once complete.
    #[napi]
    pub fn negotiated(&self) -> Option<Negotiated> {
        self.inner.negotiated().map(Negotiated::from)
    }

    /// A snapshot of the counters.
    #[napi]
    pub fn stats(&self) -> Stats {
        let s = self.inner.stats();
        let d = &s.dropped;
        Stats {
            datagrams_in: s.datagrams_in as f64,
            datagrams_out: s.datagrams_out as f64,
            records_in: s.records_in as f64,
            records_out: s.records_out as f64,
            bytes_in: s.bytes_in as f64,
            bytes_out: s.bytes_out as f64,
            dropped: DropCounts {
                malformed: d.malformed as f64,
                auth_failed: d.auth_failed as f64,
                replayed: d.replayed as f64,
                bad_epoch: d.bad_epoch as f64,
                unexpected: d.unexpected as f64,
                reassembly: d.reassembly as f64,
                overflow: d.overflow as f64,
                cookie: d.cookie as f64,
                total: d.total() as f64,
            },
            retransmissions: s.retransmissions as f64,
            acks_sent: s.acks_sent as f64,
            key_updates: s.key_updates as f64,
            hello_verify_requests: s.hello_verify_requests as f64,
            handshake_duration_ms: s.handshake_duration_ms.map(|v| v as f64),
        }
    }

    /// `'client'` or `'server'`.
    #[napi(getter, ts_return_type = "'client' | 'server'")]
    pub fn role(&self) -> &'static str {
        match self.inner.role() {
            Role::Client => "client",
            Role::Server => "server",
        }
    }

    /// True once the handshake has completed (and until close or failure).
    #[napi(getter)]
    pub fn is_connected(&self) -> bool {
        self.inner.is_connected()
    }

    /// True after close_notify (either way) or a fatal error.
    #[napi(getter)]
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// The largest payload `send` accepts with the current MTU and cipher suite.
    #[napi(getter)]
    pub fn max_send_len(&self) -> u32 {
        u32::try_from(self.inner.max_send_len()).unwrap_or(u32::MAX)
    }

    /// Changes the MTU (e.g. after path MTU discovery); at least 128.
    #[napi]
    pub fn set_mtu(&mut self, mtu: f64) -> Result<()> {
        let mtu = whole("mtu", mtu, u16::MAX.into())? as u16;
        self.inner.set_mtu(mtu).map_err(engine)
    }
}
