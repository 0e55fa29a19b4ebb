//! Many peers on one UDP socket through the C ABI (issue 4, acceptance 3).
//!
//! The server here is written the way a C program would write it (examples-c/multi_server.c is
//! that program): one socket, a table of `dtls_ctx` keyed by the peer's address, and for an
//! address without a context the stateless front door `dtls_server_prefilter` (RFC 6347
//! §4.2.1): ACCEPT creates a context, binds it to the address and feeds it the datagram, REPLY
//! sends the HelloVerifyRequest and keeps nothing, DROP ignores the datagram. Non-DTLS
//! datagrams (RFC 7983) are dropped before any of that.
//!
//! - `thousand_clients_through_one_socket`: 1000 client contexts in this process, each with its
//!   own UDP socket on 127.0.0.1, handshake concurrently (mutual authentication by pinned
//!   fingerprints) through one server socket, echo one message each through the demux and
//!   close. Every one completes. The server's memory for a peer whose cookie has not been
//!   verified is measured with a counting global allocator: zero bytes retained per peer, and
//!   the peer table does not grow.
//! - `spoofed_client_hello_flood_creates_no_state`: 100 000 ClientHellos from distinct forged
//!   source addresses (no cookie, forged cookies, stale cookies, cookies minted for another
//!   address, truncated and mis-shaped ones, non-DTLS) create no context and retain no memory;
//!   a genuine client still gets in afterwards.
//!
//! All clients run in this one thread and the clock is virtual: it only moves (to the earliest
//! `dtls_next_timeout` of any context) when no datagram is in flight, so retransmission covers
//! any datagram the kernel drops under load, and the result does not depend on the speed of the
//! (2-core, shared) machine.

use dtls::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// A counting allocator. The counters are per thread, so the tests of this binary (which the
// harness runs on parallel threads) and the harness itself do not disturb each other's figures.

struct Counting;

thread_local! {
    // `const` initialisers and no destructor: using them never allocates or registers anything,
    // which matters inside the allocator.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
    static FREED: Cell<u64> = const { Cell::new(0) };
    static PEAK_LIVE: Cell<i64> = const { Cell::new(0) };
}

fn note_alloc(size: usize) {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
    let _ = ALLOCATED.try_with(|c| c.set(c.get() + size as u64));
    let live = live_bytes();
    let _ = PEAK_LIVE.try_with(|p| {
        if live > p.get() {
            p.set(live)
        }
    });
}

fn note_free(size: usize) {
    let _ = FREED.try_with(|c| c.set(c.get() + size as u64));
}

/// Bytes this thread allocated and has not freed. It can be negative (a thread may free what
/// another allocated), so only differences are meaningful.
fn live_bytes() -> i64 {
    let a = ALLOCATED.try_with(Cell::get).unwrap_or(0);
    let f = FREED.try_with(Cell::get).unwrap_or(0);
    a as i64 - f as i64
}

// SAFETY: every call is forwarded unchanged to the system allocator; the bookkeeping only
// touches thread-local cells and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: the caller's contract is forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: the caller's contract is forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_free(layout.size());
        // SAFETY: the caller's contract is forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_free(layout.size());
        note_alloc(new_size);
        // SAFETY: the caller's contract is forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// What the current thread allocated while running some code.
#[derive(Debug, Default, Clone, Copy)]
struct Allocs {
    /// Allocation calls (a realloc counts as one).
    calls: u64,
    /// Bytes requested by those calls.
    bytes: u64,
    /// Bytes still allocated afterwards: what the code kept.
    retained: i64,
    /// The most bytes live at once above the starting point.
    peak: i64,
}

impl Allocs {
    fn add(&mut self, o: Allocs) {
        self.calls += o.calls;
        self.bytes += o.bytes;
        self.retained += o.retained;
        self.peak = self.peak.max(o.peak);
    }
}

/// Runs `f` and reports what this thread allocated meanwhile. Nests: an outer measurement's
/// peak still sees the inner one's.
fn measure<R>(f: impl FnOnce() -> R) -> (R, Allocs) {
    let calls0 = ALLOCS.with(Cell::get);
    let bytes0 = ALLOCATED.with(Cell::get);
    let live0 = live_bytes();
    let outer_peak = PEAK_LIVE.with(|p| p.replace(live0));
    let r = f();
    let live1 = live_bytes();
    let peak = PEAK_LIVE.with(Cell::get);
    PEAK_LIVE.with(|p| p.set(outer_peak.max(peak)));
    let a = Allocs {
        calls: ALLOCS.with(Cell::get) - calls0,
        bytes: ALLOCATED.with(Cell::get) - bytes0,
        retained: live1 - live0,
        peak: peak - live0,
    };
    (r, a)
}

/// The instrument itself: a kept allocation is seen as retained, a freed one as transient.
#[test]
fn counting_allocator_counts() {
    let (kept, a) = measure(|| std::hint::black_box(vec![7u8; 100]));
    assert_eq!((a.calls, a.bytes, a.retained, a.peak), (1, 100, 100, 100));
    let ((), b) = measure(|| {
        let (_, inner) = measure(|| drop(std::hint::black_box(vec![1u8; 300])));
        assert_eq!((inner.calls, inner.retained, inner.peak), (1, 0, 300));
        drop(kept);
    });
    assert_eq!((b.calls, b.bytes, b.retained, b.peak), (1, 300, -100, 300));
}

// ---------------------------------------------------------------------------------------------
// Helpers over the C ABI.

fn ok(r: dtls_result, what: &str) {
    assert_eq!(r, DTLS_OK, "{what}: {}", name(r));
}

fn name(r: dtls_result) -> String {
    // SAFETY: the library returns a static NUL-terminated string for any value.
    unsafe { std::ffi::CStr::from_ptr(dtls_result_name(r)) }
        .to_string_lossy()
        .into_owned()
}

/// A generated certificate and its `"sha-256 AB:.."` fingerprint.
fn certificate(cn: &std::ffi::CStr) -> (*mut dtls_certificate, std::ffi::CString) {
    let mut cert = null_mut();
    let mut fp = [0u8; 208];
    let mut len = 0;
    // SAFETY: valid C string and out-pointers; `fp` is writable for its length.
    unsafe {
        ok(
            dtls_certificate_generate(cn.as_ptr(), &mut cert),
            "generate",
        );
        ok(
            dtls_certificate_sdp_fingerprint(
                cert,
                DTLS_HASH_SHA256,
                fp.as_mut_ptr().cast(),
                fp.len(),
                &mut len,
            ),
            "fingerprint",
        );
    }
    (cert, std::ffi::CString::new(&fp[..len]).unwrap())
}

/// Both sides authenticate each other by pinned fingerprint (the WebRTC model); the server
/// requires the client's certificate. One configuration serves every context of a side.
fn config(
    cert: *const dtls_certificate,
    peer_fp: &std::ffi::CStr,
    server: bool,
) -> *const dtls_config {
    let mut b = null_mut();
    let mut cfg = null();
    // SAFETY: live handles, valid C string, out-pointers.
    unsafe {
        ok(dtls_config_builder_new(&mut b), "builder");
        ok(dtls_config_builder_set_certificate(b, cert), "cert");
        ok(
            dtls_config_builder_set_peer_verification(b, DTLS_VERIFY_FINGERPRINT),
            "verification",
        );
        ok(
            dtls_config_builder_add_peer_fingerprint(b, peer_fp.as_ptr()),
            "pin",
        );
        if server {
            ok(
                dtls_config_builder_set_require_client_certificate(b, true),
                "client auth",
            );
        }
        // dtls_server_prefilter is the DTLS 1.2 front door; its numbers (one
        // HelloVerifyRequest per client, zero bytes before the cookie) are 1.2's.
        ok(dtls_config_builder_set_versions(b, DTLS_V1_2), "versions");
        ok(dtls_config_builder_build(b, &mut cfg), "build");
    }
    cfg
}

/// The stable address encoding handed to the front door and to `dtls_ctx_set_peer_address`:
/// IPv4 octets and port, on the stack (no allocation on the pre-cookie path).
fn addr_bytes(a: &SocketAddr) -> ([u8; 18], usize) {
    let mut b = [0u8; 18];
    match a.ip() {
        IpAddr::V4(ip) => {
            b[..4].copy_from_slice(&ip.octets());
            b[4..6].copy_from_slice(&a.port().to_be_bytes());
            (b, 6)
        }
        IpAddr::V6(ip) => {
            b[..16].copy_from_slice(&ip.octets());
            b[16..].copy_from_slice(&a.port().to_be_bytes());
            (b, 18)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server: one socket, contexts keyed by address, the front door for everybody else.

/// What the server did with one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    NotDtls = 0,
    Fed = 1,
    Replied = 2,
    Dropped = 3,
    Accepted = 4,
}

struct ServerPeer {
    ctx: *mut dtls_ctx,
    connected: bool,
    /// When it last sent us a datagram: a peer silent for `IDLE_MS` is forgotten (its
    /// close_notify may have been lost, or it simply went away).
    last_rx: u64,
}

/// Idle limit for a server context (virtual milliseconds).
const IDLE_MS: u64 = 30_000;

#[derive(Debug, Default)]
struct ServerStats {
    accepted: u64,
    replied: u64,
    dropped: u64,
    not_dtls: u64,
    connected: u64,
    closed: u64,
    idle_removed: u64,
    echoed: u64,
    /// Handshake datagrams deliberately lost (`Server::lose_every`).
    lost: u64,
    /// Allocation figures of every datagram handled for an address with no context that did
    /// not end in ACCEPT: the complete cost of a peer before its cookie checks out.
    pre_cookie: Allocs,
    /// The same, split: datagrams answered with a HelloVerifyRequest, and datagrams dropped.
    pre_cookie_replied: Allocs,
    pre_cookie_dropped: Allocs,
    /// The largest number of bytes any one of those datagrams left behind.
    pre_cookie_max_retained: i64,
}

struct Server {
    cfg: *const dtls_config,
    /// `None` for the flood test, whose forged source addresses must never see a packet.
    sock: Option<UdpSocket>,
    peers: HashMap<SocketAddr, ServerPeer>,
    stats: ServerStats,
    /// Datagrams sent without a socket (the flood test): counted, or recorded when `capture`
    /// is set (recording allocates, so it is off during the flood).
    sunk: u64,
    capture: Option<Vec<(SocketAddr, Vec<u8>)>>,
    /// Loses every n-th handshake datagram the server sends (0: none), so that the clients
    /// can only complete through retransmission in both directions. Application data and
    /// alerts are never lost: DTLS does not retransmit them.
    lose_every: u64,
    handshake_sent: u64,
}

impl Server {
    fn send(&mut self, data: &[u8], to: SocketAddr) {
        // 22: handshake, 20: ChangeCipherSpec (RFC 6347 §4.1).
        if matches!(data.first(), Some(20 | 22)) {
            self.handshake_sent += 1;
            if self.lose_every != 0 && self.handshake_sent % self.lose_every == 0 {
                self.stats.lost += 1;
                return;
            }
        }
        match &self.sock {
            Some(s) => match s.send_to(data, to) {
                Ok(_) => {}
                // A full socket buffer loses the datagram like the network would; the peer's
                // retransmission timer recovers it.
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("server send_to {to}: {e}"),
            },
            None => match &mut self.capture {
                Some(v) => v.push((to, data.to_vec())),
                None => self.sunk += 1,
            },
        }
    }

    /// One datagram from `from`: the demux. Returns what happened.
    fn on_datagram(&mut self, now: u64, from: SocketAddr, data: &[u8]) -> Outcome {
        // RFC 7983: a socket shared with STUN/RTP sees other protocols too.
        // SAFETY: `data` is readable for its length.
        if !unsafe { dtls_is_dtls(data.as_ptr(), data.len()) } {
            self.stats.not_dtls += 1;
            return Outcome::NotDtls;
        }
        if let Some(p) = self.peers.get_mut(&from) {
            p.last_rx = now;
            // SAFETY: a live context owned by the table.
            let r = unsafe { dtls_feed(p.ctx, data.as_ptr(), data.len(), now) };
            assert_eq!(r, DTLS_OK, "server feed from {from}: {}", name(r));
            self.service(now, from);
            return Outcome::Fed;
        }
        let (outcome, allocs) = measure(|| self.front_door(now, from, data));
        if outcome != Outcome::Accepted {
            self.stats.pre_cookie.add(allocs);
            match outcome {
                Outcome::Replied => self.stats.pre_cookie_replied.add(allocs),
                _ => self.stats.pre_cookie_dropped.add(allocs),
            }
            self.stats.pre_cookie_max_retained =
                self.stats.pre_cookie_max_retained.max(allocs.retained);
        } else {
            self.service(now, from);
        }
        outcome
    }

    /// An address without a context: the stateless front door.
    fn front_door(&mut self, now: u64, from: SocketAddr, data: &[u8]) -> Outcome {
        let (addr, alen) = addr_bytes(&from);
        let mut reply = [0u8; DTLS_PREFILTER_REPLY_MAX];
        let (mut n, mut verdict) = (0usize, 0u32);
        // SAFETY: live config; every buffer is valid for the length passed.
        let r = unsafe {
            dtls_server_prefilter(
                self.cfg,
                now,
                addr.as_ptr(),
                alen,
                data.as_ptr(),
                data.len(),
                reply.as_mut_ptr(),
                reply.len(),
                &mut n,
                &mut verdict,
            )
        };
        ok(r, "prefilter");
        match verdict {
            DTLS_VERDICT_REPLY => {
                self.stats.replied += 1;
                self.send(&reply[..n], from);
                Outcome::Replied
            }
            DTLS_VERDICT_DROP => {
                self.stats.dropped += 1;
                Outcome::Dropped
            }
            DTLS_VERDICT_ACCEPT => {
                let mut ctx = null_mut();
                // SAFETY: live config; out-pointer; `addr` readable for `alen`.
                unsafe {
                    ok(
                        dtls_ctx_new(self.cfg, DTLS_ROLE_SERVER, null(), now, &mut ctx),
                        "server ctx",
                    );
                    ok(
                        dtls_ctx_set_peer_address(ctx, addr.as_ptr(), alen),
                        "peer address",
                    );
                    ok(dtls_feed(ctx, data.as_ptr(), data.len(), now), "first feed");
                }
                self.peers.insert(
                    from,
                    ServerPeer {
                        ctx,
                        connected: false,
                        last_rx: now,
                    },
                );
                self.stats.accepted += 1;
                Outcome::Accepted
            }
            v => panic!("unknown verdict {v}"),
        }
    }

    /// Output, events and data of one peer after anything happened to it; removes it when it
    /// closed.
    fn service(&mut self, now: u64, from: SocketAddr) {
        let Some(p) = self.peers.get_mut(&from) else {
            return;
        };
        let ctx = p.ctx;
        let mut remove = false;
        // SAFETY: a live context owned by the table; valid buffers.
        unsafe {
            let mut ev = std::mem::zeroed::<dtls_event>();
            while dtls_poll_event(ctx, &mut ev) == DTLS_OK {
                match ev.kind {
                    DTLS_EVENT_CONNECTED => {
                        p.connected = true;
                        self.stats.connected += 1;
                    }
                    DTLS_EVENT_CLOSE_NOTIFY => {
                        assert!(p.connected, "{from}: close_notify before the handshake");
                        // Answer with our close_notify (flushed below; libdtls has queued it
                        // already, and a second dtls_close is harmless), then forget the peer.
                        ok(dtls_close(ctx), "server close");
                        remove = true;
                    }
                    DTLS_EVENT_FAILED => panic!(
                        "server side of {from} failed: {} alert {}",
                        name(ev.result),
                        ev.alert
                    ),
                    _ => {}
                }
            }
            let mut app = [0u8; 1500];
            let mut len = 0;
            while !remove && dtls_recv(ctx, app.as_mut_ptr(), app.len(), &mut len) == DTLS_OK {
                ok(dtls_send(ctx, app.as_ptr(), len), "echo");
                self.stats.echoed += 1;
            }
            let mut out = [0u8; 1500];
            loop {
                match dtls_poll_output(ctx, now, out.as_mut_ptr(), out.len(), &mut len) {
                    DTLS_OK => self.send(&out[..len], from),
                    DTLS_EMPTY => break,
                    r => panic!("server poll_output for {from}: {}", name(r)),
                }
            }
        }
        if remove {
            let p = self.peers.remove(&from).unwrap();
            // SAFETY: removed from the table, so freed once.
            unsafe { dtls_ctx_free(p.ctx) };
            self.stats.closed += 1;
        }
    }

    /// Reads every datagram waiting on the socket; true if there was any.
    fn drain(&mut self, now: u64) -> bool {
        let mut buf = [0u8; 2048];
        let mut any = false;
        loop {
            let got = self.sock.as_ref().unwrap().recv_from(&mut buf);
            match got {
                Ok((n, from)) => {
                    any = true;
                    self.on_datagram(now, from, &buf[..n]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return any,
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
                Err(e) => panic!("server recv_from: {e}"),
            }
        }
    }

    /// A peer's next deadline: the library's timer or the idle limit, whichever comes first.
    fn deadline(p: &ServerPeer) -> u64 {
        let mut d = u64::MAX;
        // SAFETY: live context; valid out-pointer.
        if !unsafe { dtls_next_timeout(p.ctx, &mut d) } {
            d = u64::MAX;
        }
        d.min(p.last_rx + IDLE_MS)
    }

    /// The earliest deadline of any server context.
    fn next_timeout(&self) -> Option<u64> {
        self.peers.values().map(Self::deadline).min()
    }

    /// Runs every server timer that is due (one scan over all contexts).
    fn handle_timeouts(&mut self, now: u64) {
        let due: Vec<SocketAddr> = self
            .peers
            .iter()
            .filter(|(_, p)| Self::deadline(p) <= now)
            .map(|(a, _)| *a)
            .collect();
        for a in due {
            let p = &self.peers[&a];
            if p.last_rx + IDLE_MS <= now {
                let p = self.peers.remove(&a).unwrap();
                // SAFETY: removed from the table, so freed once.
                unsafe { dtls_ctx_free(p.ctx) };
                self.stats.idle_removed += 1;
                continue;
            }
            // SAFETY: live context.
            let r = unsafe { dtls_handle_timeout(p.ctx, now) };
            assert_eq!(r, DTLS_OK, "server timeout for {a}: {}", name(r));
            self.service(now, a);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for (_, p) in self.peers.drain() {
            // SAFETY: each context is owned by the table and freed once.
            unsafe { dtls_ctx_free(p.ctx) };
        }
        // SAFETY: the server's reference, released once.
        unsafe { dtls_config_free(self.cfg) };
    }
}

// ---------------------------------------------------------------------------------------------
// The clients.

struct Client {
    sock: UdpSocket,
    ctx: *mut dtls_ctx,
    msg: Vec<u8>,
    connected: bool,
    echoed: bool,
}

impl Client {
    /// Feeds what arrived, reacts to events and data, sends what is queued. True if any datagram
    /// moved.
    fn pump(&mut self, now: u64, server: SocketAddr) -> bool {
        let mut moved = false;
        let mut buf = [0u8; 2048];
        if self.echoed {
            // Done (close_notify sent): discard the server's close_notify.
            while self.sock.recv_from(&mut buf).is_ok() {}
            return false;
        }
        loop {
            match self.sock.recv_from(&mut buf) {
                Ok((n, _)) => {
                    moved = true;
                    // SAFETY: live context; `buf` readable for `n`.
                    let r = unsafe { dtls_feed(self.ctx, buf.as_ptr(), n, now) };
                    assert_eq!(r, DTLS_OK, "client feed: {}", name(r));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
                Err(e) => panic!("client recv_from: {e}"),
            }
        }
        // SAFETY: live context; valid buffers.
        unsafe {
            let mut ev = std::mem::zeroed::<dtls_event>();
            while dtls_poll_event(self.ctx, &mut ev) == DTLS_OK {
                match ev.kind {
                    DTLS_EVENT_CONNECTED => {
                        self.connected = true;
                        ok(
                            dtls_send(self.ctx, self.msg.as_ptr(), self.msg.len()),
                            "client send",
                        );
                    }
                    DTLS_EVENT_FAILED => {
                        panic!("client failed: {} alert {}", name(ev.result), ev.alert)
                    }
                    _ => {}
                }
            }
            let mut app = [0u8; 256];
            let mut len = 0;
            if dtls_recv(self.ctx, app.as_mut_ptr(), app.len(), &mut len) == DTLS_OK {
                // The echo must be our own message: the demux routed by address correctly.
                assert_eq!(&app[..len], &self.msg[..], "echo went to the wrong client");
                self.echoed = true;
                ok(dtls_close(self.ctx), "client close");
            }
            loop {
                match dtls_poll_output(self.ctx, now, buf.as_mut_ptr(), buf.len(), &mut len) {
                    DTLS_OK => {
                        moved = true;
                        match self.sock.send_to(&buf[..len], server) {
                            Ok(_) => {}
                            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                            Err(e) => panic!("client send_to: {e}"),
                        }
                    }
                    DTLS_EMPTY => break,
                    r => panic!("client poll_output: {}", name(r)),
                }
            }
        }
        moved
    }

    fn next_timeout(&self) -> Option<u64> {
        if self.echoed {
            return None;
        }
        let mut d = 0;
        // SAFETY: live context; valid out-pointer.
        unsafe { dtls_next_timeout(self.ctx, &mut d) }.then_some(d)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: owned context, freed once.
        unsafe { dtls_ctx_free(self.ctx) };
    }
}

const CLIENTS: usize = 1000;
/// One in this many handshake datagrams from the server is lost.
const LOSE_EVERY: u64 = 7;

#[test]
fn thousand_clients_through_one_socket() {
    let started = Instant::now();
    let (server_cert, server_fp) = certificate(c"many-peers-server");
    let (client_cert, client_fp) = certificate(c"many-peers-client");
    let server_cfg = config(server_cert, &client_fp, true);
    let client_cfg = config(client_cert, &server_fp, false);
    // SAFETY: the configs hold their own copies of the certificates.
    unsafe {
        dtls_certificate_free(server_cert);
        dtls_certificate_free(client_cert);
    }

    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    sock.set_nonblocking(true).unwrap();
    let server_addr = sock.local_addr().unwrap();
    let mut server = Server {
        cfg: server_cfg,
        sock: Some(sock),
        peers: HashMap::new(),
        stats: ServerStats::default(),
        sunk: 0,
        capture: None,
        lose_every: LOSE_EVERY,
        handshake_sent: 0,
    };

    let mut now = 0u64;
    let mut clients: Vec<Client> = (0..CLIENTS)
        .map(|i| {
            let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            sock.set_nonblocking(true).unwrap();
            let mut ctx = null_mut();
            // SAFETY: live config; out-pointer.
            ok(
                unsafe { dtls_ctx_new(client_cfg, DTLS_ROLE_CLIENT, null(), now, &mut ctx) },
                "client ctx",
            );
            Client {
                sock,
                ctx,
                msg: format!("hello from client {i}").into_bytes(),
                connected: false,
                echoed: false,
            }
        })
        .collect();
    // SAFETY: every client context holds its own reference.
    unsafe { dtls_config_free(client_cfg) };

    // Round 1: every client's first ClientHello (no cookie) reaches the server, which answers
    // each from the front door. After it, 1000 peers are pending and the server holds nothing
    // for any of them.
    let table_capacity = server.peers.capacity();
    for c in &mut clients {
        c.pump(now, server_addr);
        server.drain(now);
    }
    std::thread::sleep(Duration::from_millis(20));
    server.drain(now);
    let pending = server.stats.replied;
    let pre = server.stats.pre_cookie;
    eprintln!(
        "after the first flight: {pending} HelloVerifyRequests, {} contexts, table capacity {}; \
         pre-cookie path: {} allocation calls, {} bytes requested, {} bytes retained in total, \
         peak {} bytes live in one datagram",
        server.peers.len(),
        server.peers.capacity(),
        pre.calls,
        pre.bytes,
        pre.retained,
        pre.peak
    );
    // Loopback can drop under a burst; the clients' timers resend what was lost (round 2).
    assert!(
        pending >= CLIENTS as u64 * 9 / 10,
        "only {pending} ClientHellos arrived"
    );
    assert_eq!(server.stats.accepted, 0);
    assert!(server.peers.is_empty(), "state created before a cookie");
    assert_eq!(
        server.peers.capacity(),
        table_capacity,
        "the peer table grew"
    );
    assert_eq!(
        pre.retained, 0,
        "the server kept memory for peers without a cookie"
    );
    assert_eq!(server.stats.pre_cookie_max_retained, 0);

    // Round 2: everybody together until every client has its echo and has closed, and the
    // server has forgotten every peer.
    let (mut advances, mut slept) = (0u32, false);
    loop {
        let mut moved = false;
        for c in &mut clients {
            moved |= c.pump(now, server_addr);
            moved |= server.drain(now);
        }
        if clients.iter().all(|c| c.echoed) && server.peers.is_empty() {
            break;
        }
        if moved {
            slept = false;
            continue;
        }
        if !slept {
            // Quiet: give loopback a moment (delivery is normally immediate) and look again.
            std::thread::sleep(Duration::from_millis(2));
            slept = true;
            continue;
        }
        // Still quiet: nothing is in flight, so let the virtual clock run to the next timer
        // of any context (a retransmission, or the server's idle limit).
        slept = false;
        let next = clients
            .iter()
            .filter_map(Client::next_timeout)
            .chain(server.next_timeout())
            .min()
            .expect("nothing in flight and no timer running");
        advances += 1;
        assert!(
            advances < 200 && started.elapsed() < Duration::from_secs(600),
            "stuck: {}/{CLIENTS} done, {} server contexts, {:?}",
            clients.iter().filter(|c| c.echoed).count(),
            server.peers.len(),
            server.stats
        );
        now = now.max(next);
        for c in &mut clients {
            if c.next_timeout().is_some_and(|d| d <= now) {
                // SAFETY: live context.
                ok(unsafe { dtls_handle_timeout(c.ctx, now) }, "client timeout");
            }
        }
        server.handle_timeouts(now);
    }

    let s = &server.stats;
    eprintln!(
        "{CLIENTS} clients in {:?} (virtual time {now} ms, {advances} timer rounds): {s:?}",
        started.elapsed()
    );
    assert!(clients.iter().all(|c| c.connected && c.echoed));
    assert_eq!(s.connected, CLIENTS as u64);
    assert_eq!(s.accepted, CLIENTS as u64, "one context per client");
    assert_eq!(s.echoed, CLIENTS as u64);
    // A close_notify lost on the way is covered by the idle limit; normally none is.
    assert_eq!(s.closed + s.idle_removed, CLIENTS as u64);
    assert_eq!(s.not_dtls, 0);
    // The losses were real and the retransmission timers (in virtual time) recovered them.
    assert!(
        s.lost > 0 && advances > 0 && now > 0,
        "no loss was exercised"
    );
    // Over the whole run: whatever the front door saw for cookie-less peers, it kept nothing.
    assert_eq!(s.pre_cookie.retained, 0);
    assert_eq!(s.pre_cookie_max_retained, 0);
}

// ---------------------------------------------------------------------------------------------
// The flood.

/// Where the fields of a ClientHello datagram sit (one record, one unfragmented message):
/// record header (13 bytes), handshake header (12), client_version (2), random (32),
/// session_id<0..32>, cookie<0..255>.
struct ChLayout {
    random: usize,
    cookie_len: usize,
}

fn ch_layout(dg: &[u8]) -> ChLayout {
    assert_eq!((dg[0], dg[13]), (22, 1), "not a ClientHello record");
    let random = 13 + 12 + 2;
    let sid_len = dg[random + 32] as usize;
    ChLayout {
        random,
        cookie_len: random + 32 + 1 + sid_len,
    }
}

/// Calls the front door directly (not through the server) and returns its verdict and reply.
fn prefilter(
    cfg: *const dtls_config,
    now: u64,
    from: &SocketAddr,
    dg: &[u8],
) -> (u32, [u8; DTLS_PREFILTER_REPLY_MAX], usize) {
    let (addr, alen) = addr_bytes(from);
    let mut reply = [0u8; DTLS_PREFILTER_REPLY_MAX];
    let (mut n, mut v) = (0, 0);
    // SAFETY: live config; every buffer valid for the length passed.
    let r = unsafe {
        dtls_server_prefilter(
            cfg,
            now,
            addr.as_ptr(),
            alen,
            dg.as_ptr(),
            dg.len(),
            reply.as_mut_ptr(),
            reply.len(),
            &mut n,
            &mut v,
        )
    };
    ok(r, "prefilter");
    (v, reply, n)
}

/// The cookie the front door issues at `now` for `dg` from `from`, as the real owner of that
/// address would receive it in a HelloVerifyRequest (record 13 + handshake 12 + version 2 +
/// cookie length 1, then the cookie).
fn mint_cookie(cfg: *const dtls_config, now: u64, from: &SocketAddr, dg: &[u8], out: &mut [u8]) {
    let (v, reply, n) = prefilter(cfg, now, from, dg);
    assert_eq!(v, DTLS_VERDICT_REPLY);
    assert_eq!(reply[13], 3, "not a HelloVerifyRequest");
    let len = reply[13 + 12 + 2] as usize;
    assert_eq!(len, out.len(), "cookie size changed");
    assert_eq!(n, 13 + 12 + 3 + len);
    out.copy_from_slice(&reply[13 + 12 + 3..n]);
}

/// Flood source `i`: 10.x.y.z, one address per datagram.
fn spoofed(i: u32) -> SocketAddr {
    let [_, a, b, c] = i.to_be_bytes();
    SocketAddr::from(([10, a, b, c], 1024 + (i % 50_000) as u16))
}

const FLOOD: u32 = 100_000;
/// The cookie secret rotates every 60 s (the library default); a cookie is honoured in its
/// own window and the next. The flood runs at 10 minutes.
const LIFETIME_MS: u64 = 60_000;

#[test]
fn spoofed_client_hello_flood_creates_no_state() {
    let started = Instant::now();
    let (server_cert, server_fp) = certificate(c"flood-server");
    let (client_cert, client_fp) = certificate(c"flood-client");
    let server_cfg = config(server_cert, &client_fp, true);
    let client_cfg = config(client_cert, &server_fp, false);
    // SAFETY: the configs hold their own copies of the certificates.
    unsafe {
        dtls_certificate_free(server_cert);
        dtls_certificate_free(client_cert);
    }
    let now = 10 * LIFETIME_MS;
    let attacker = SocketAddr::from(([192, 0, 2, 1], 4444));

    // Genuine material the attacker can obtain from its own address: a ClientHello without a
    // cookie (ch1) and the retry carrying the cookie the server issued to it (ch2).
    let mut client = null_mut();
    let mut buf = [0u8; 1500];
    let mut len = 0;
    // SAFETY: live config and context; valid buffers.
    let (ch1, ch2) = unsafe {
        ok(
            dtls_ctx_new(client_cfg, DTLS_ROLE_CLIENT, null(), now, &mut client),
            "client",
        );
        ok(
            dtls_poll_output(client, now, buf.as_mut_ptr(), buf.len(), &mut len),
            "ch1",
        );
        let ch1 = buf[..len].to_vec();
        let (v, hvr, n) = prefilter(server_cfg, now, &attacker, &ch1);
        assert_eq!(v, DTLS_VERDICT_REPLY);
        ok(dtls_feed(client, hvr.as_ptr(), n, now), "hvr");
        ok(
            dtls_poll_output(client, now, buf.as_mut_ptr(), buf.len(), &mut len),
            "ch2",
        );
        dtls_ctx_free(client);
        (ch1, buf[..len].to_vec())
    };
    let l1 = ch_layout(&ch1);
    let l2 = ch_layout(&ch2);
    let cookie_len = ch2[l2.cookie_len] as usize;
    assert_eq!(ch1[l1.cookie_len], 0);
    assert!(cookie_len > 0);
    let cookie = l2.cookie_len + 1..l2.cookie_len + 1 + cookie_len;
    // Controls: the retry is accepted from the address the cookie was issued to, and a cookie
    // minted (as below) for another address and random is accepted there. So the rejections
    // below are the cookie check at work, not a malformed datagram.
    assert_eq!(
        prefilter(server_cfg, now, &attacker, &ch2).0,
        DTLS_VERDICT_ACCEPT
    );
    {
        let mut dg = ch2.clone();
        dg[l2.random] ^= 0xff;
        let from = spoofed(7);
        let mut c = vec![0u8; cookie_len];
        mint_cookie(server_cfg, now - LIFETIME_MS, &from, &dg, &mut c);
        dg[cookie.clone()].copy_from_slice(&c);
        assert_eq!(
            prefilter(server_cfg, now, &from, &dg).0,
            DTLS_VERDICT_ACCEPT
        );
    }

    let mut server = Server {
        cfg: server_cfg,
        sock: None,
        peers: HashMap::new(),
        stats: ServerStats::default(),
        sunk: 0,
        capture: None,
        lose_every: 0,
        handshake_sent: 0,
    };
    let capacity = server.peers.capacity();
    // Every datagram is built in these buffers (no allocation per datagram by the test).
    let mut dg = Vec::with_capacity(1500);
    let mut c = vec![0u8; cookie_len];
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        // xorshift64: forged bytes, reproducible.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut by_kind = [[0u32; 5]; 8];
    let ((), whole) = measure(|| {
        for i in 0..FLOOD {
            let from = spoofed(i);
            let kind = (i % 8) as usize;
            dg.clear();
            match kind {
                // A fresh ClientHello without a cookie (new random each time).
                0 => {
                    dg.extend_from_slice(&ch1);
                    dg[l1.random..l1.random + 8].copy_from_slice(&next().to_be_bytes());
                }
                // A forged cookie.
                1 => {
                    dg.extend_from_slice(&ch2);
                    for b in &mut dg[cookie.clone()] {
                        *b = next() as u8;
                    }
                }
                // A stale cookie: genuinely issued for this address and ClientHello, two
                // secret rotations ago.
                2 => {
                    dg.extend_from_slice(&ch2);
                    dg[l2.random..l2.random + 8].copy_from_slice(&next().to_be_bytes());
                    mint_cookie(server_cfg, now - 2 * LIFETIME_MS, &from, &dg, &mut c);
                    dg[cookie.clone()].copy_from_slice(&c);
                }
                // The attacker's own valid cookie, replayed from a spoofed address.
                3 => dg.extend_from_slice(&ch2),
                // A cookie valid for this address, on a ClientHello with another random.
                4 => {
                    dg.extend_from_slice(&ch2);
                    mint_cookie(server_cfg, now, &from, &dg, &mut c);
                    dg[cookie.clone()].copy_from_slice(&c);
                    dg[l2.random..l2.random + 8].copy_from_slice(&next().to_be_bytes());
                }
                // Truncated inside the random.
                5 => dg.extend_from_slice(&ch2[..l2.random + 16]),
                // A later fragment of a ClientHello, or a ClientHello in an epoch-1 record.
                6 => {
                    dg.extend_from_slice(&ch2);
                    if i % 16 == 6 {
                        dg[13 + 6..13 + 9].copy_from_slice(&[0, 0, 1]); // fragment_offset 1
                    } else {
                        dg[3..5].copy_from_slice(&[0, 1]); // epoch 1
                    }
                }
                // Not DTLS at all (RFC 7983): a STUN binding request or an RTP packet.
                _ => {
                    let first = if i % 16 == 7 { 0x00 } else { 0x80 };
                    dg.extend_from_slice(&[first, 1, 0, 0]);
                    dg.extend_from_slice(&next().to_be_bytes());
                }
            }
            let outcome = server.on_datagram(now, from, &dg);
            by_kind[kind][outcome as usize] += 1;
        }
    });
    let s = &server.stats;
    let per = |a: Allocs, n: u64| {
        format!(
            "{:.1} allocation calls / {:.0} bytes per datagram, {} bytes retained in total, \
             peak {} bytes live",
            a.calls as f64 / n.max(1) as f64,
            a.bytes as f64 / n.max(1) as f64,
            a.retained,
            a.peak
        )
    };
    eprintln!(
        "{FLOOD} spoofed datagrams in {:?}: {} contexts; {} answered with a \
         HelloVerifyRequest ({}); {} dropped ({}); {} not DTLS; whole flood, including the \
         test's own cookie minting: {} bytes retained",
        started.elapsed(),
        server.peers.len(),
        s.replied,
        per(s.pre_cookie_replied, s.replied),
        s.dropped,
        per(s.pre_cookie_dropped, s.dropped),
        s.not_dtls,
        whole.retained,
    );
    let per_kind = FLOOD / 8;
    for (kind, counts) in by_kind.iter().enumerate() {
        let expect = match kind {
            0..=4 => Outcome::Replied,
            5 | 6 => Outcome::Dropped,
            _ => Outcome::NotDtls,
        };
        assert_eq!(counts[expect as usize], per_kind, "kind {kind}: {counts:?}");
        assert_eq!(
            counts[Outcome::Accepted as usize] + counts[Outcome::Fed as usize],
            0,
            "kind {kind}: {counts:?}"
        );
    }
    assert_eq!(s.accepted, 0);
    assert!(server.peers.is_empty());
    assert_eq!(server.peers.capacity(), capacity, "the peer table grew");
    assert_eq!(s.pre_cookie.retained, 0, "memory kept for spoofed peers");
    assert_eq!(s.pre_cookie_max_retained, 0);
    assert_eq!(whole.retained, 0, "memory kept across the flood");
    assert_eq!(server.sunk, s.replied);

    // After the flood a genuine client still gets in, through the same demux.
    let genuine = SocketAddr::from(([192, 0, 2, 7], 5555));
    let mut client = null_mut();
    // SAFETY: live config; out-pointer.
    ok(
        unsafe { dtls_ctx_new(client_cfg, DTLS_ROLE_CLIENT, null(), now, &mut client) },
        "client",
    );
    // SAFETY: every client handle is freed once; the config reference is released once.
    unsafe { dtls_config_free(client_cfg) };
    let mut connected = false;
    for _ in 0..20 {
        // Client -> server through the demux; the server's answers come back through its
        // transport, which for this test is a recorder.
        // SAFETY: live context; valid buffers.
        while unsafe { dtls_poll_output(client, now, buf.as_mut_ptr(), buf.len(), &mut len) }
            == DTLS_OK
        {
            server.capture = Some(Vec::new());
            server.on_datagram(now, genuine, &buf[..len]);
            for (to, d) in server.capture.take().unwrap() {
                assert_eq!(to, genuine);
                // SAFETY: live context; `d` readable.
                ok(
                    unsafe { dtls_feed(client, d.as_ptr(), d.len(), now) },
                    "feed",
                );
            }
        }
        let mut ev = unsafe { std::mem::zeroed::<dtls_event>() };
        // SAFETY: live context; valid out-pointer.
        while unsafe { dtls_poll_event(client, &mut ev) } == DTLS_OK {
            connected |= ev.kind == DTLS_EVENT_CONNECTED;
        }
        if connected {
            break;
        }
    }
    assert!(connected, "the genuine client did not get through");
    assert_eq!(server.stats.accepted, 1);
    assert_eq!(server.stats.connected, 1);
    assert_eq!(server.peers.len(), 1);
    // SAFETY: freed once.
    unsafe { dtls_ctx_free(client) };
}

/// `dtls_server_prefilter` is documented as "Allocates nothing, whatever arrives": not even a
/// short-lived allocation per ClientHello (the cookie HMAC and the HelloVerifyRequest are built
/// on the stack).
#[test]
fn prefilter_allocates_nothing_as_documented() {
    let (server_cert, _) = certificate(c"alloc-server");
    let (client_cert, _) = certificate(c"alloc-client");
    let (_, any_fp) = certificate(c"alloc-any");
    let server_cfg = config(server_cert, &any_fp, true);
    let client_cfg = config(client_cert, &any_fp, false);
    let mut client = null_mut();
    let mut buf = [0u8; 1500];
    let mut len = 0;
    // SAFETY: live handles; valid buffers; everything freed once.
    unsafe {
        ok(
            dtls_ctx_new(client_cfg, DTLS_ROLE_CLIENT, null(), 0, &mut client),
            "client",
        );
        ok(
            dtls_poll_output(client, 0, buf.as_mut_ptr(), buf.len(), &mut len),
            "ch1",
        );
    }
    let from = SocketAddr::from(([10, 0, 0, 1], 1000));
    let (_, junk) = measure(|| prefilter(server_cfg, 0, &from, b"\x16\xfe\xfd junk"));
    let (_, hello) = measure(|| prefilter(server_cfg, 0, &from, &buf[..len]));
    // SAFETY: each handle freed once.
    unsafe {
        dtls_ctx_free(client);
        dtls_config_free(client_cfg);
        dtls_config_free(server_cfg);
        dtls_certificate_free(server_cert);
        dtls_certificate_free(client_cert);
    }
    assert_eq!(junk.calls, 0, "junk: {junk:?}");
    assert_eq!(hello.calls, 0, "ClientHello: {hello:?}");
}
