//! OpenSSL 3 (through the `openssl` crate) as a sans-IO DTLS endpoint over memory: the same
//! credentials and scenario as ours. Leaner than tests/common/ossl.rs on purpose: datagrams
//! move between endpoints in reusable arenas, so that the record benchmark measures OpenSSL,
//! not our harness.
//!
//! Settings follow what WebRTC stacks do with OpenSSL: DTLS 1.2 only, one suite
//! (ECDHE-ECDSA-AES128-GCM-SHA256), one group, ECDSA+SHA256, peer certificate required and
//! accepted by a callback (self-signed) then pinned by SHA-256 fingerprint, no session cache
//! and no tickets (nothing is resumed), and with cookies an HMAC-SHA256 over the peer address.

use super::alloc;
use super::ours::{ServerCost, PEER};
use super::setup::{cpu_time, Arena, Batch, Credentials, Group, RECORD};
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::ssl::{
    ErrorCode, Ssl, SslContext, SslContextBuilder, SslMethod, SslMode, SslOptions,
    SslSessionCacheMode, SslStream, SslVerifyMode, SslVersion,
};
use openssl::x509::X509;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// The datagram transport under `SslStream`: one datagram per `read`, one per `write`
/// (OpenSSL flushes its handshake buffering BIO once per datagram).
#[derive(Default)]
pub struct MemIo {
    rx: Arena,
    rx_next: usize,
    tx: Arena,
}

impl Read for MemIo {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.rx_next >= self.rx.len() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let d = self.rx.get(self.rx_next);
        let n = d.len().min(buf.len());
        buf[..n].copy_from_slice(&d[..n]);
        self.rx_next += 1;
        Ok(n)
    }
}

impl Write for MemIo {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Moves what `from` sent into `to`'s inbox; a swap of buffers when the inbox is drained.
pub fn transfer(from: &mut MemIo, to: &mut MemIo) {
    if to.rx_next >= to.rx.len() {
        to.rx.clear();
        to.rx_next = 0;
        std::mem::swap(&mut from.tx, &mut to.rx);
    } else {
        for i in 0..from.tx.len() {
            to.rx.push(from.tx.get(i));
        }
        from.tx.clear();
    }
}

pub type Stream = SslStream<MemIo>;

/// Shared client and server contexts of one scenario (a server keeps one `SSL_CTX`).
pub struct Ossl {
    cctx: SslContext,
    sctx: SslContext,
    mtu: u32,
    server_fp: Vec<u8>,
    client_fp: Vec<u8>,
}

fn context(
    pem: &(String, String),
    server: bool,
    group: Group,
    cookie: bool,
    release_buffers: bool,
) -> SslContext {
    let mut b = SslContextBuilder::new(SslMethod::dtls()).expect("SSL_CTX");
    b.set_min_proto_version(Some(SslVersion::DTLS1_2)).unwrap();
    b.set_max_proto_version(Some(SslVersion::DTLS1_2)).unwrap();
    let mut opts = SslOptions::NO_QUERY_MTU | SslOptions::NO_TICKET;
    if server && cookie {
        opts |= SslOptions::COOKIE_EXCHANGE;
    }
    b.set_options(opts);
    if release_buffers {
        b.set_mode(SslMode::RELEASE_BUFFERS);
    }
    let cert = X509::from_pem(pem.0.as_bytes()).expect("cert PEM");
    let key = PKey::private_key_from_pem(pem.1.as_bytes()).expect("key PEM");
    b.set_certificate(&cert).unwrap();
    b.set_private_key(&key).unwrap();
    b.check_private_key().unwrap();
    b.set_cipher_list("ECDHE-ECDSA-AES128-GCM-SHA256").unwrap();
    b.set_groups_list(group.openssl()).unwrap();
    b.set_sigalgs_list("ECDSA+SHA256").unwrap();
    // Self-signed peers: accept in the callback, pin the fingerprint after the handshake.
    b.set_verify_callback(
        SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
        |_, _| true,
    );
    if server {
        b.set_session_cache_mode(SslSessionCacheMode::OFF);
        if cookie {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"bench cookie secret");
            let k2 = key.clone();
            b.set_cookie_generate_cb(move |_, out| {
                let tag = ring::hmac::sign(&key, PEER);
                let n = 16.min(out.len());
                out[..n].copy_from_slice(&tag.as_ref()[..n]);
                Ok(n)
            });
            b.set_cookie_verify_cb(move |_, cookie| {
                let tag = ring::hmac::sign(&k2, PEER);
                // A benchmark peer: a plain comparison is enough here.
                cookie == &tag.as_ref()[..16]
            });
        }
    }
    b.build()
}

/// `SSL_CTRL_GET_NEGOTIATED_GROUP` (the `SSL_get_negotiated_group` macro of OpenSSL 3).
const SSL_CTRL_GET_NEGOTIATED_GROUP: i32 = 134;

/// NID of the group the handshake used: 415 is P-256 (prime256v1), 1034 is X25519.
pub fn negotiated_group_nid(s: &Stream) -> std::os::raw::c_long {
    // The openssl crate's reference types are zero-sized views whose address is the C pointer.
    let ssl = s.ssl() as *const openssl::ssl::SslRef as *mut openssl_sys::SSL;
    // SAFETY: a live SSL*; this ctrl only reads.
    unsafe { openssl_sys::SSL_ctrl(ssl, SSL_CTRL_GET_NEGOTIATED_GROUP, 0, std::ptr::null_mut()) }
}

/// Drives the handshake one step; true once complete.
fn step(s: &mut Stream) -> bool {
    match s.do_handshake() {
        Ok(()) => true,
        Err(e) if matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) => false,
        Err(e) => panic!("OpenSSL handshake failed: {e}"),
    }
}

fn pinned(s: &Stream, fp: &[u8]) -> bool {
    let cert = s.ssl().peer_certificate().expect("peer certificate");
    cert.digest(MessageDigest::sha256())
        .expect("digest")
        .as_ref()
        == fp
}

impl Ossl {
    pub fn new(creds: &Credentials, group: Group, cookie: bool, mtu: u16) -> Self {
        Self::with_mode(creds, group, cookie, mtu, false)
    }

    /// `release_buffers`: `SSL_MODE_RELEASE_BUFFERS`, which frees idle record buffers (off by
    /// default, and off in most media servers).
    pub fn with_mode(
        creds: &Credentials,
        group: Group,
        cookie: bool,
        mtu: u16,
        release_buffers: bool,
    ) -> Self {
        Ossl {
            cctx: context(&creds.client_pem, false, group, false, release_buffers),
            sctx: context(&creds.server_pem, true, group, cookie, release_buffers),
            mtu: mtu.into(),
            server_fp: creds.server_fp.clone(),
            client_fp: creds.client_fp.clone(),
        }
    }

    fn new_stream(&self, server: bool) -> Stream {
        let mut ssl = Ssl::new(if server { &self.sctx } else { &self.cctx }).expect("SSL");
        ssl.set_mtu(self.mtu).expect("mtu");
        if server {
            ssl.set_accept_state();
        } else {
            ssl.set_connect_state();
        }
        SslStream::new(ssl, MemIo::default()).expect("stream")
    }

    /// One complete handshake, fingerprints checked on both sides.
    pub fn handshake(&self, cost: &mut ServerCost) -> (Stream, Stream) {
        let mut c = self.new_stream(false);
        let mut s = cost.time(|| self.new_stream(true));
        let (mut cdone, mut sdone) = (false, false);
        for _ in 0..16 {
            if !cdone {
                cdone = step(&mut c);
            }
            transfer(c.get_mut(), s.get_mut());
            if !sdone {
                sdone = cost.time(|| step(&mut s));
            }
            transfer(s.get_mut(), c.get_mut());
            if cdone && sdone {
                break;
            }
        }
        assert!(cdone && sdone, "OpenSSL handshake did not complete");
        assert!(pinned(&c, &self.server_fp), "server fingerprint");
        assert!(
            cost.time(|| pinned(&s, &self.client_fp)),
            "client fingerprint"
        );
        (c, s)
    }

    /// `n` handshakes.
    pub fn handshakes(&self, n: usize) -> Batch {
        let mut cost = ServerCost::default();
        let (c0, t) = (cpu_time(), Instant::now());
        for _ in 0..n {
            let (c, s) = self.handshake(&mut cost);
            drop(c);
            cost.time(|| drop(s));
        }
        Batch {
            n,
            cpu: cpu_time() - c0,
            wall: t.elapsed(),
            server_wall: cost.time,
        }
    }

    /// As `Ours::mid_handshake`: the server has sent its first flight, the client its
    /// answer, neither received. Harness buffers are emptied.
    pub fn mid_handshake(&self) -> (Stream, Stream) {
        let mut c = self.new_stream(false);
        let mut s = self.new_stream(true);
        assert!(!step(&mut c));
        transfer(c.get_mut(), s.get_mut());
        assert!(!step(&mut s));
        transfer(s.get_mut(), c.get_mut());
        assert!(!step(&mut c));
        *c.get_mut() = MemIo::default();
        *s.get_mut() = MemIo::default();
        (c, s)
    }

    /// A server that answered a ClientHello with a HelloVerifyRequest: OpenSSL's
    /// `SSL_accept` keeps a whole `SSL` per such peer (only `DTLSv1_listen` avoids it).
    pub fn pending_peer(&self) -> Stream {
        let mut c = self.new_stream(false);
        let mut s = self.new_stream(true);
        assert!(!step(&mut c));
        transfer(c.get_mut(), s.get_mut());
        assert!(!step(&mut s));
        *s.get_mut() = MemIo::default();
        s
    }
}

/// Empties the harness buffers of an endpoint so that only OpenSSL's state is measured.
pub fn strip(s: &mut Stream) {
    *s.get_mut() = MemIo::default();
}

/// A connected pair for the record benchmark (client seals, server opens).
pub struct Records {
    c: Stream,
    s: Stream,
    out: Vec<u8>,
}

impl Records {
    pub fn new(ossl: &Ossl, batch: usize) -> Self {
        let (mut c, mut s) = ossl.handshake(&mut ServerCost::default());
        strip(&mut c);
        strip(&mut s);
        c.get_mut().tx = Arena::with_capacity(batch);
        s.get_mut().rx = Arena::with_capacity(batch);
        let mut r = Records {
            c,
            s,
            out: vec![0u8; 4096],
        };
        let p = super::setup::payload();
        r.c.ssl_write(&p).expect("write");
        transfer(r.c.get_mut(), r.s.get_mut());
        let n = r.s.ssl_read(&mut r.out).expect("read");
        assert_eq!(&r.out[..n], &p[..]);
        r
    }

    /// Seals `batch` records (`SSL_write`), then opens them (`SSL_read`).
    pub fn round(&mut self, payload: &[u8], batch: usize) -> (Duration, Duration) {
        let t0 = cpu_time();
        for _ in 0..batch {
            let n = self.c.ssl_write(payload).expect("SSL_write");
            debug_assert_eq!(n, payload.len());
        }
        let t1 = cpu_time();
        debug_assert_eq!(self.c.get_ref().tx.len(), batch, "one datagram per record");
        transfer(self.c.get_mut(), self.s.get_mut());
        let t2 = cpu_time();
        for _ in 0..batch {
            let n = self.s.ssl_read(&mut self.out).expect("SSL_read");
            debug_assert_eq!(n, RECORD);
        }
        (t1 - t0, cpu_time() - t2)
    }

    /// Allocations over `n` records after warm-up: (allocations, bytes).
    pub fn allocs_per_record(&mut self, payload: &[u8], n: usize) -> (u64, u64) {
        for _ in 0..64 {
            self.round(payload, 1);
        }
        let s0 = alloc::snapshot();
        for _ in 0..n {
            self.round(payload, 1);
        }
        let (_, a, b) = alloc::snapshot().since(&s0);
        (a, b)
    }
}
