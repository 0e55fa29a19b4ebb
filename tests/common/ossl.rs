//! An in-process OpenSSL DTLS 1.2 endpoint over in-memory datagrams, driven
//! step by step (sans-IO style), so that a test can shuttle datagrams between
//! it and the engine under test in a single thread, with no sockets.
//!
//! OpenSSL's own memory BIO loses datagram boundaries, so this module plugs a
//! tiny `Read + Write` type into `SslStream` instead: each `read()` hands
//! OpenSSL exactly one queued datagram and each `write()` from OpenSSL is
//! recorded as exactly one outgoing datagram. During the handshake OpenSSL
//! puts a buffering BIO in front of ours and flushes it once per datagram
//! (it packs several handshake records up to the MTU), so the boundaries seen
//! here are the ones OpenSSL would have put on the wire.
//!
//! Nothing in here panics on odd input: a bad configuration turns the
//! endpoint into a failed one whose `step()`/`write()` return the error.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::raw::{c_long, c_uint, c_void};
use std::sync::OnceLock;
use std::time::Duration;

use openssl::error::ErrorStack;
use openssl::ex_data::Index;
use openssl::pkey::PKey;
use openssl::ssl::{
    ErrorCode, Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions, SslRef, SslStream,
    SslVerifyMode, SslVersion,
};
use openssl::x509::X509;

/// `DTLS_CTRL_GET_TIMEOUT` from `<openssl/ssl.h>` (the `DTLSv1_get_timeout` macro).
const DTLS_CTRL_GET_TIMEOUT: i32 = 73;
/// `DTLS_CTRL_HANDLE_TIMEOUT` from `<openssl/ssl.h>` (the `DTLSv1_handle_timeout` macro).
const DTLS_CTRL_HANDLE_TIMEOUT: i32 = 74;

/// Largest DTLS record plaintext plus slack; reads use a buffer this big so a
/// whole record always fits (a short buffer would make OpenSSL fail the read).
const READ_BUF: usize = 18 * 1024;

/// Bound on internal driving loops, so a misbehaving peer can never make a
/// test spin forever.
const MAX_LOOP: usize = 1024;

/// `struct timeval` for `DTLSv1_get_timeout`, declared here because the
/// harness may not depend on `libc`. Two `long`s on the Unix targets these
/// tests run on (LP64 Linux/macOS).
#[repr(C)]
struct Timeval {
    tv_sec: c_long,
    tv_usec: c_long,
}

extern "C" {
    // Not bound by openssl-sys either; used to attempt a renegotiation.
    fn SSL_renegotiate(s: *mut openssl_sys::SSL) -> std::os::raw::c_int;
    // Present in libssl since 1.1.1 but not bound by openssl-sys. Linking works
    // because openssl-sys already links libssl into every test binary.
    fn DTLS_set_timer_cb(
        s: *mut openssl_sys::SSL,
        cb: Option<unsafe extern "C" fn(*mut openssl_sys::SSL, c_uint) -> c_uint>,
    );
}

/// Configuration for one [`OsslEndpoint`].
#[derive(Clone, Debug)]
pub struct OsslOptions {
    /// `true` for a DTLS server, `false` for a client.
    pub role_server: bool,
    /// PEM certificate chain, leaf first, optionally followed by intermediates.
    pub cert_chain_pem: Option<Vec<u8>>,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1 are all accepted).
    pub key_pem: Option<Vec<u8>>,
    /// PEM trust anchors used to verify the peer (may hold several certs).
    pub ca_pem: Option<Vec<u8>>,
    /// Verify the peer's certificate (a client always gets one from a
    /// certificate-based server; a server then sends CertificateRequest).
    pub verify_peer: bool,
    /// Server only: fail the handshake when the client sends no certificate.
    pub require_peer_cert: bool,
    /// Accept any peer certificate (self-signed, unknown CA...) while still
    /// requesting one: for fingerprint-pinning tests, which then compare
    /// [`OsslEndpoint::peer_certificate_der`] themselves.
    pub accept_any_peer_cert: bool,
    /// OpenSSL cipher list, e.g. `"ECDHE-ECDSA-AES128-GCM-SHA256"`.
    pub cipher_list: Option<String>,
    /// Supported groups, e.g. `"X25519:P-256:P-384"`.
    pub groups: Option<String>,
    /// Server only: send a HelloVerifyRequest (`SSL_OP_COOKIE_EXCHANGE`).
    pub cookie_exchange: bool,
    /// Maximum datagram size OpenSSL may produce. OpenSSL 3.0 refuses values
    /// below its minimum (548), which then shows up as a configuration error.
    pub mtu: u32,
    /// DTLS-SRTP profiles, e.g. `"SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"`.
    pub srtp_profiles: Option<String>,
    /// Signature algorithms, e.g. `"ECDSA+SHA256:RSA-PSS+SHA256"`.
    pub sigalgs: Option<String>,
    /// Initial retransmission timeout in microseconds (default: OpenSSL's 1 s).
    /// OpenSSL's DTLS timer runs on the *real* clock, not a virtual one, so
    /// lossy tests set this low (e.g. 10 000) and sleep that long before
    /// calling [`OsslEndpoint::handle_timeout`]. It doubles on each expiry,
    /// capped at 60 s, like OpenSSL's own timer.
    pub timer_initial_us: Option<u32>,
    /// ALPN protocols in preference order. A client offers them; a server picks the first
    /// of its own that the client offered (`SSL_select_next_proto`), or declines.
    pub alpn: Vec<Vec<u8>>,
}

impl Default for OsslOptions {
    fn default() -> Self {
        OsslOptions {
            role_server: false,
            cert_chain_pem: None,
            key_pem: None,
            ca_pem: None,
            verify_peer: false,
            require_peer_cert: false,
            accept_any_peer_cert: false,
            cipher_list: None,
            groups: None,
            cookie_exchange: false,
            mtu: 1200,
            srtp_profiles: None,
            sigalgs: None,
            timer_initial_us: None,
            alpn: Vec::new(),
        }
    }
}

/// The datagram transport under `SslStream`: a queue in, a queue out.
#[derive(Default)]
struct DgramIo {
    inbox: VecDeque<Vec<u8>>,
    outbox: Vec<Vec<u8>>,
}

impl Read for DgramIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inbox.pop_front() {
            // Like a UDP socket: one datagram per read, truncated if the
            // buffer is short (OpenSSL always passes a buffer big enough).
            Some(d) => {
                let n = d.len().min(buf.len());
                buf[..n].copy_from_slice(&d[..n]);
                Ok(n)
            }
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Write for DgramIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outbox.push(buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One OpenSSL DTLS 1.2 client or server, fed and drained by the test.
pub struct OsslEndpoint {
    /// `Err` when the configuration was rejected; every operation reports it.
    stream: Result<SslStream<DgramIo>, String>,
    connected: bool,
    close_notify: bool,
    /// Set once OpenSSL reported a fatal error; later calls repeat it instead
    /// of driving a dead connection.
    failed: Option<String>,
    app_in: VecDeque<Vec<u8>>,
}

/// Raw `SSL*` behind an `SslRef`. The openssl crate's reference types are
/// zero-sized views whose address *is* the C pointer (that is how
/// `ForeignTypeRef::as_ptr` works); casting avoids a dependency on the
/// `foreign-types` crate, which this harness may not use.
fn raw_ssl(ssl: &SslRef) -> *mut openssl_sys::SSL {
    ssl as *const SslRef as *mut openssl_sys::SSL
}

/// Ex-data slot holding the initial timeout for [`timer_cb`].
fn timer_index() -> Option<Index<Ssl, u32>> {
    static IDX: OnceLock<Option<Index<Ssl, u32>>> = OnceLock::new();
    *IDX.get_or_init(|| Ssl::new_ex_index::<u32>().ok())
}

/// `DTLS_timer_cb`: `timer_us` is the current timeout (0 when a flight
/// starts); returns the next one.
unsafe extern "C" fn timer_cb(s: *mut openssl_sys::SSL, timer_us: c_uint) -> c_uint {
    if timer_us != 0 {
        return timer_us.saturating_mul(2).min(60_000_000);
    }
    let initial = timer_index().and_then(|idx| {
        // SAFETY: the openssl crate stores ex-data as `Box<T>`; we stored a
        // `u32` at this index before the handshake started.
        let p = unsafe { openssl_sys::SSL_get_ex_data(s, idx.as_raw()) } as *const u32;
        if p.is_null() {
            None
        } else {
            Some(unsafe { *p })
        }
    });
    initial.unwrap_or(1_000_000).max(1)
}

fn stack_str(e: &ErrorStack) -> String {
    e.to_string()
}

fn ssl_err_str(e: &openssl::ssl::Error) -> String {
    match e.ssl_error() {
        Some(stack) => format!("{e}: {stack}"),
        None => match e.io_error() {
            Some(io) => format!("{e}: io: {io}"),
            None => e.to_string(),
        },
    }
}

fn build_context(opts: &OsslOptions) -> Result<SslContext, String> {
    let ctx_err = |what: &str, e: ErrorStack| format!("{what}: {}", stack_str(&e));
    let mut b = SslContextBuilder::new(SslMethod::dtls()).map_err(|e| ctx_err("ctx", e))?;
    b.set_min_proto_version(Some(SslVersion::DTLS1_2))
        .map_err(|e| ctx_err("min version", e))?;
    b.set_max_proto_version(Some(SslVersion::DTLS1_2))
        .map_err(|e| ctx_err("max version", e))?;
    // In memory there is no socket to query, so OpenSSL must use our MTU.
    let mut options = SslOptions::NO_QUERY_MTU;
    if opts.cookie_exchange {
        options |= SslOptions::COOKIE_EXCHANGE;
    }
    b.set_options(options);

    if let Some(chain) = &opts.cert_chain_pem {
        let certs = X509::stack_from_pem(chain).map_err(|e| ctx_err("cert chain PEM", e))?;
        let mut it = certs.into_iter();
        let leaf = it
            .next()
            .ok_or_else(|| "cert chain PEM holds no certificate".to_string())?;
        b.set_certificate(&leaf).map_err(|e| ctx_err("leaf", e))?;
        for c in it {
            b.add_extra_chain_cert(c)
                .map_err(|e| ctx_err("intermediate", e))?;
        }
    }
    if let Some(key) = &opts.key_pem {
        let k = PKey::private_key_from_pem(key).map_err(|e| ctx_err("key PEM", e))?;
        b.set_private_key(&k).map_err(|e| ctx_err("key", e))?;
        b.check_private_key()
            .map_err(|e| ctx_err("key does not match cert", e))?;
    }
    if let Some(ca) = &opts.ca_pem {
        let certs = X509::stack_from_pem(ca).map_err(|e| ctx_err("CA PEM", e))?;
        for c in certs {
            b.cert_store_mut()
                .add_cert(c)
                .map_err(|e| ctx_err("CA add", e))?;
        }
    }
    if let Some(list) = &opts.cipher_list {
        b.set_cipher_list(list)
            .map_err(|e| ctx_err("cipher list", e))?;
    }
    if let Some(g) = &opts.groups {
        b.set_groups_list(g).map_err(|e| ctx_err("groups", e))?;
    }
    if let Some(s) = &opts.sigalgs {
        b.set_sigalgs_list(s).map_err(|e| ctx_err("sigalgs", e))?;
    }
    if let Some(p) = &opts.srtp_profiles {
        b.set_tlsext_use_srtp(p).map_err(|e| ctx_err("srtp", e))?;
    }
    if !opts.alpn.is_empty() && opts.role_server {
        let ours = opts.alpn.clone();
        b.set_alpn_select_callback(move |_, client| {
            // The answer must borrow from the client's list: walk it for our first choice.
            let mut offered = Vec::new();
            let mut rest = client;
            while let Some((&n, tail)) = rest.split_first() {
                let Some(name) = tail.get(..n as usize) else {
                    break;
                };
                offered.push(name);
                rest = &tail[n as usize..];
            }
            ours.iter()
                .find_map(|p| offered.iter().find(|o| **o == &p[..]).copied())
                .ok_or(openssl::ssl::AlpnError::NOACK)
        });
    } else if !opts.alpn.is_empty() {
        // ALPN wire format: each name behind a one-byte length (RFC 7301 §3.1).
        let wire: Vec<u8> = opts
            .alpn
            .iter()
            .flat_map(|p| std::iter::once(p.len() as u8).chain(p.iter().copied()))
            .collect();
        b.set_alpn_protos(&wire).map_err(|e| ctx_err("alpn", e))?;
    }

    let mut mode = SslVerifyMode::NONE;
    if opts.verify_peer || opts.accept_any_peer_cert {
        mode = SslVerifyMode::PEER;
        if opts.require_peer_cert {
            mode |= SslVerifyMode::FAIL_IF_NO_PEER_CERT;
        }
    }
    if opts.accept_any_peer_cert {
        // Pinning tests check the fingerprint themselves afterwards.
        b.set_verify_callback(mode, |_preverify, _ctx| true);
    } else {
        b.set_verify(mode);
    }

    if opts.cookie_exchange {
        // A per-context random cookie is enough for a test peer: what is
        // under test is the other side's handling of HelloVerifyRequest.
        let mut secret = [0u8; 16];
        openssl::rand::rand_bytes(&mut secret).map_err(|e| ctx_err("rand", e))?;
        b.set_cookie_generate_cb(move |_ssl, out| {
            let n = secret.len().min(out.len());
            out[..n].copy_from_slice(&secret[..n]);
            Ok(n)
        });
        b.set_cookie_verify_cb(move |_ssl, cookie| cookie == secret);
    }
    Ok(b.build())
}

fn build_stream(opts: &OsslOptions) -> Result<SslStream<DgramIo>, String> {
    let ctx = build_context(opts)?;
    let mut ssl = Ssl::new(&ctx).map_err(|e| format!("ssl: {e}"))?;
    ssl.set_mtu(opts.mtu)
        .map_err(|e| format!("mtu {} rejected: {e}", opts.mtu))?;
    if let Some(us) = opts.timer_initial_us {
        let idx = timer_index().ok_or_else(|| "no ex-data index".to_string())?;
        ssl.set_ex_data(idx, us);
        // SAFETY: `ssl` is a live SSL*; the callback only reads ex-data.
        unsafe { DTLS_set_timer_cb(raw_ssl(&ssl), Some(timer_cb)) };
    }
    if opts.role_server {
        ssl.set_accept_state();
    } else {
        ssl.set_connect_state();
    }
    SslStream::new(ssl, DgramIo::default()).map_err(|e| format!("stream: {e}"))
}

impl OsslEndpoint {
    /// Builds an endpoint. Never panics: a rejected configuration yields an
    /// endpoint whose `step()`/`write()` return that error (see [`Self::try_new`]
    /// to get it up front).
    pub fn new(opts: OsslOptions) -> Self {
        OsslEndpoint {
            stream: build_stream(&opts),
            connected: false,
            close_notify: false,
            failed: None,
            app_in: VecDeque::new(),
        }
    }

    /// Like [`Self::new`] but returns the configuration error directly.
    pub fn try_new(opts: OsslOptions) -> Result<Self, String> {
        let ep = Self::new(opts);
        match &ep.stream {
            Ok(_) => Ok(ep),
            Err(e) => Err(e.clone()),
        }
    }

    /// Hand one whole UDP datagram to OpenSSL (processed on the next
    /// `step()`/`read()`).
    pub fn feed(&mut self, datagram: &[u8]) {
        if let Ok(s) = &mut self.stream {
            s.get_mut().inbox.push_back(datagram.to_vec());
        }
    }

    /// Drives the handshake, or once connected the read side (queueing
    /// application data for [`Self::read`]). Returns `Ok(true)` once
    /// connected. Errors carry OpenSSL's error string and are sticky.
    pub fn step(&mut self) -> Result<bool, String> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let s = match &mut self.stream {
            Ok(s) => s,
            Err(e) => return Err(format!("configuration: {e}")),
        };
        if !self.connected {
            match s.do_handshake() {
                Ok(()) => self.connected = true,
                Err(e) => match e.code() {
                    ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => return Ok(false),
                    ErrorCode::ZERO_RETURN => {
                        self.close_notify = true;
                        return Ok(false);
                    }
                    _ => {
                        let msg = ssl_err_str(&e);
                        self.failed = Some(msg.clone());
                        return Err(msg);
                    }
                },
            }
        }
        self.pump_reads()?;
        Ok(true)
    }

    /// Reads every application record OpenSSL can deliver right now.
    fn pump_reads(&mut self) -> Result<(), String> {
        let Ok(s) = &mut self.stream else {
            return Ok(());
        };
        let mut buf = vec![0u8; READ_BUF];
        for _ in 0..MAX_LOOP {
            match s.ssl_read(&mut buf) {
                Ok(n) => self.app_in.push_back(buf[..n].to_vec()),
                Err(e) => match e.code() {
                    ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => return Ok(()),
                    ErrorCode::ZERO_RETURN => {
                        self.close_notify = true;
                        return Ok(());
                    }
                    _ => {
                        let msg = ssl_err_str(&e);
                        self.failed = Some(msg.clone());
                        return Err(msg);
                    }
                },
            }
        }
        Ok(())
    }

    /// Datagrams OpenSSL wants to send, oldest first, one `Vec` per UDP
    /// datagram (boundaries preserved).
    pub fn take_output(&mut self) -> Vec<Vec<u8>> {
        match &mut self.stream {
            Ok(s) => std::mem::take(&mut s.get_mut().outbox),
            Err(_) => Vec::new(),
        }
    }

    /// Whether the handshake has completed.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The sticky fatal error, if OpenSSL reported one.
    pub fn error(&self) -> Option<String> {
        self.failed.clone()
    }

    /// Sends one application record (one datagram appears in `take_output`).
    pub fn write(&mut self, data: &[u8]) -> Result<(), String> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let s = match &mut self.stream {
            Ok(s) => s,
            Err(e) => return Err(format!("configuration: {e}")),
        };
        if !self.connected {
            return Err("not connected".into());
        }
        match s.ssl_write(data) {
            Ok(n) if n == data.len() => Ok(()),
            Ok(n) => Err(format!("short write {n} of {}", data.len())),
            Err(e) => Err(ssl_err_str(&e)),
        }
    }

    /// One application record if available (drives reads first, so calling
    /// `step()` beforehand is optional).
    pub fn read(&mut self) -> Option<Vec<u8>> {
        if self.app_in.is_empty() && self.connected && self.failed.is_none() {
            let _ = self.pump_reads();
        }
        self.app_in.pop_front()
    }

    /// Starts a renegotiation: a client sends a new ClientHello, a server a HelloRequest
    /// (both in the current epoch). Errors carry OpenSSL's reason.
    pub fn renegotiate(&mut self) -> Result<(), String> {
        let s = match &mut self.stream {
            Ok(s) => s,
            Err(e) => return Err(format!("configuration: {e}")),
        };
        // SAFETY: the pointer is the live SSL owned by `s`, used on this thread only.
        if unsafe { SSL_renegotiate(raw_ssl(s.ssl())) } != 1 {
            return Err("SSL_renegotiate refused".into());
        }
        match s.do_handshake() {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) => Ok(()),
            Err(e) => Err(ssl_err_str(&e)),
        }
    }

    /// Sends close_notify (visible in `take_output`).
    pub fn shutdown(&mut self) {
        if let Ok(s) = &mut self.stream {
            // The first call only sends; the peer's close_notify is tracked by
            // `received_close_notify`, so the result is not needed here.
            let _ = s.shutdown();
        }
    }

    /// Whether the peer's close_notify alert has been processed. Call
    /// `step()` or `read()` after feeding it.
    pub fn received_close_notify(&self) -> bool {
        if self.close_notify {
            return true;
        }
        match &self.stream {
            Ok(s) => {
                // SAFETY: live SSL*, read-only query.
                let flags = unsafe { openssl_sys::SSL_get_shutdown(raw_ssl(s.ssl())) };
                flags & openssl_sys::SSL_RECEIVED_SHUTDOWN != 0
            }
            Err(_) => false,
        }
    }

    /// RFC 5705 exporter. Returns an empty `Vec` when OpenSSL refuses (not
    /// connected, bad length...), so assert on the length too; see
    /// [`Self::try_export_keying_material`].
    pub fn export_keying_material(
        &self,
        label: &str,
        context: Option<&[u8]>,
        len: usize,
    ) -> Vec<u8> {
        self.try_export_keying_material(label, context, len)
            .unwrap_or_default()
    }

    /// RFC 5705 exporter with the error.
    pub fn try_export_keying_material(
        &self,
        label: &str,
        context: Option<&[u8]>,
        len: usize,
    ) -> Result<Vec<u8>, String> {
        let s = self.stream.as_ref().map_err(|e| e.clone())?;
        if !self.connected {
            return Err("not connected".into());
        }
        let mut out = vec![0u8; len];
        s.ssl()
            .export_keying_material(&mut out, label, context)
            .map_err(|e| stack_str(&e))?;
        Ok(out)
    }

    /// OpenSSL's name of the negotiated cipher, e.g.
    /// `"ECDHE-ECDSA-AES128-GCM-SHA256"`; empty before the handshake.
    pub fn cipher_name(&self) -> String {
        match &self.stream {
            Ok(s) => s
                .ssl()
                .current_cipher()
                .map(|c| c.name().to_string())
                .unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// IANA name of the negotiated cipher, e.g.
    /// `"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"`; empty before the handshake.
    pub fn cipher_standard_name(&self) -> String {
        match &self.stream {
            Ok(s) => s
                .ssl()
                .current_cipher()
                .and_then(|c| c.standard_name())
                .unwrap_or_default()
                .to_string(),
            Err(_) => String::new(),
        }
    }

    /// Negotiated protocol version string, e.g. `"DTLSv1.2"`.
    pub fn version_str(&self) -> String {
        match &self.stream {
            Ok(s) => s.ssl().version_str().to_string(),
            Err(_) => String::new(),
        }
    }

    /// Negotiated DTLS-SRTP profile name, e.g. `"SRTP_AEAD_AES_128_GCM"`.
    pub fn selected_srtp_profile(&self) -> Option<String> {
        let s = self.stream.as_ref().ok()?;
        s.ssl()
            .selected_srtp_profile()
            .map(|p| p.name().to_string())
    }

    /// The ALPN protocol the handshake selected.
    pub fn selected_alpn(&self) -> Option<Vec<u8>> {
        let s = self.stream.as_ref().ok()?;
        s.ssl().selected_alpn_protocol().map(<[u8]>::to_vec)
    }

    /// DER of the peer's leaf certificate.
    pub fn peer_certificate_der(&self) -> Option<Vec<u8>> {
        let s = self.stream.as_ref().ok()?;
        s.ssl().peer_certificate()?.to_der().ok()
    }

    /// DER of every certificate the peer sent. OpenSSL quirk: on a client
    /// this includes the leaf, on a server it does not.
    pub fn peer_cert_chain_der(&self) -> Vec<Vec<u8>> {
        let Ok(s) = &self.stream else {
            return Vec::new();
        };
        match s.ssl().peer_cert_chain() {
            Some(chain) => chain.iter().filter_map(|c| c.to_der().ok()).collect(),
            None => Vec::new(),
        }
    }

    /// `DTLSv1_handle_timeout`: retransmits the last flight if OpenSSL's
    /// (real-time) timer has expired. New datagrams appear in `take_output`.
    /// Note OpenSSL also does this by itself inside `step()`/`read()`.
    pub fn handle_timeout(&mut self) {
        if let Ok(s) = &self.stream {
            // SAFETY: live SSL*; HANDLE_TIMEOUT takes no argument.
            unsafe {
                openssl_sys::SSL_ctrl(
                    raw_ssl(s.ssl()),
                    DTLS_CTRL_HANDLE_TIMEOUT,
                    0,
                    std::ptr::null_mut(),
                );
            }
        }
    }

    /// `DTLSv1_get_timeout`: time left until the retransmission timer fires,
    /// or `None` when no timer is running (e.g. after the handshake).
    pub fn next_timeout(&self) -> Option<Duration> {
        let s = self.stream.as_ref().ok()?;
        let mut tv = Timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        // SAFETY: live SSL*; GET_TIMEOUT writes one `struct timeval`.
        let r = unsafe {
            openssl_sys::SSL_ctrl(
                raw_ssl(s.ssl()),
                DTLS_CTRL_GET_TIMEOUT,
                0,
                &mut tv as *mut Timeval as *mut c_void,
            )
        };
        if r <= 0 {
            return None;
        }
        let secs = u64::try_from(tv.tv_sec).unwrap_or(0);
        let micros = u64::try_from(tv.tv_usec).unwrap_or(0);
        Some(Duration::from_secs(secs) + Duration::from_micros(micros))
    }
}

/// Header of one DTLS record, as parsed by [`dtls_records`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordInfo {
    /// ContentType: 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data.
    pub content_type: u8,
    /// Wire version, 0xfefd for DTLS 1.2.
    pub version: u16,
    pub epoch: u16,
    /// 48-bit sequence number.
    pub seq: u64,
    /// Length of the record body.
    pub len: usize,
    /// For plaintext (epoch 0) handshake records: the first message's
    /// HandshakeType (1 ClientHello, 2 ServerHello, 3 HelloVerifyRequest,
    /// 11 Certificate, 12 ServerKeyExchange, 13 CertificateRequest,
    /// 14 ServerHelloDone, 15 CertificateVerify, 16 ClientKeyExchange).
    pub handshake_type: Option<u8>,
}

/// Splits a DTLS 1.0/1.2 datagram into record headers (13-byte header
/// format). Returns `None` if it does not parse exactly, so tests can assert
/// that boundaries were kept.
pub fn dtls_records(datagram: &[u8]) -> Option<Vec<RecordInfo>> {
    let mut out = Vec::new();
    let mut rest = datagram;
    while !rest.is_empty() {
        if rest.len() < 13 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
        let body = rest.get(13..13 + len)?;
        let epoch = u16::from_be_bytes([rest[3], rest[4]]);
        let seq = rest[5..11]
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let handshake_type = if rest[0] == 22 && epoch == 0 {
            body.first().copied()
        } else {
            None
        };
        out.push(RecordInfo {
            content_type: rest[0],
            version: u16::from_be_bytes([rest[1], rest[2]]),
            epoch,
            seq,
            len,
            handshake_type,
        });
        rest = &rest[13 + len..];
    }
    Some(out)
}

/// Every datagram each side sent during [`drive_pair`], in order.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    pub client: Vec<Vec<u8>>,
    pub server: Vec<Vec<u8>>,
}

/// Shuttles datagrams between two OpenSSL endpoints (lossless, in order)
/// until both are connected or `max_rounds` passes. Errors name the side
/// that failed ("client: ..." / "server: ..."). Used by the self-tests;
/// handy for OpenSSL-vs-OpenSSL baselines.
pub fn drive_pair(
    client: &mut OsslEndpoint,
    server: &mut OsslEndpoint,
    max_rounds: usize,
) -> Result<Transcript, String> {
    let mut t = Transcript::default();
    for _ in 0..max_rounds {
        let c_ok = client.step().map_err(|e| format!("client: {e}"))?;
        for d in client.take_output() {
            server.feed(&d);
            t.client.push(d);
        }
        let s_ok = server.step().map_err(|e| format!("server: {e}"))?;
        for d in server.take_output() {
            client.feed(&d);
            t.server.push(d);
        }
        if c_ok && s_ok {
            // One more client step so it consumes the server's last flight.
            client.step().map_err(|e| format!("client: {e}"))?;
            return Ok(t);
        }
    }
    Err(format!("no handshake after {max_rounds} rounds"))
}
