//! Drivers for our engine (the Rust API): handshakes, records, and associations held at a
//! given stage for the memory figures.

use super::alloc;
use super::setup::{cpu_time, Arena, Batch, Credentials, Group, Version, RECORD, SLOT};
use dtls_proto::{Config, Connection, Event, HashAlg, Role, ServerFrontDoor, Verdict};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Any stable encoding of the client's transport address (binds the cookie).
pub const PEER: &[u8] = b"192.0.2.1:50000";

/// How the server runs the HelloVerifyRequest exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cookie {
    Off,
    /// `ServerFrontDoor::prefilter` answers the first ClientHello; a `Connection` is created
    /// only for the retry that carries a valid cookie (the documented server loop).
    FrontDoor,
    /// The server `Connection` answers with HelloVerifyRequest itself (what the C ABI does).
    InConnection,
}

/// Cost of the server side of one handshake, accumulated around each server call.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerCost {
    pub time: Duration,
    pub allocs: u64,
    pub bytes: u64,
}

impl ServerCost {
    pub fn time<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let s = alloc::snapshot();
        let t = Instant::now();
        let r = f();
        self.time += t.elapsed();
        let (_, n, b) = alloc::snapshot().since(&s);
        self.allocs += n;
        self.bytes += b;
        r
    }
}

pub struct Pair {
    pub client: Connection,
    pub server: Connection,
}

/// Client and server configurations of one scenario.
pub struct Ours {
    pub client: Arc<Config>,
    pub server: Arc<Config>,
    door: Option<ServerFrontDoor>,
    cookie: Cookie,
}

impl Ours {
    /// Mutual authentication by SHA-256 fingerprint, DTLS 1.2, ECDHE-ECDSA-AES128-GCM-SHA256
    /// only. `group: None` keeps the default group list (X25519, P-256, P-384), as the C ABI
    /// does.
    pub fn new(creds: &Credentials, group: Option<Group>, cookie: Cookie, mtu: u16) -> Self {
        Self::with_version(creds, Version::V12, group, cookie, mtu)
    }

    /// The same for either version (1.3: TLS_AES_128_GCM_SHA256 only; with a cookie, the
    /// HelloRetryRequest exchange).
    pub fn with_version(
        creds: &Credentials,
        version: Version,
        group: Option<Group>,
        cookie: Cookie,
        mtu: u16,
    ) -> Self {
        let suites = version.suites();
        let mut c = Config::builder()
            .versions(version.versions())
            .certificate(creds.client.clone())
            .peer_fingerprint(creds.server.fingerprint(HashAlg::Sha256))
            .cipher_suites(suites)
            .mtu(mtu);
        let mut s = Config::builder()
            .versions(version.versions())
            .certificate(creds.server.clone())
            .peer_fingerprint(creds.client.fingerprint(HashAlg::Sha256))
            .cipher_suites(suites)
            .cookie_exchange(cookie != Cookie::Off)
            .mtu(mtu);
        if let Some(g) = group {
            c = c.groups(g.groups());
            s = s.groups(g.groups());
        }
        let server = s.build().expect("server config");
        Ours {
            client: c.build().expect("client config"),
            door: (cookie == Cookie::FrontDoor).then(|| ServerFrontDoor::new(server.clone())),
            server,
            cookie,
        }
    }

    fn new_server(&self) -> Connection {
        let mut s = Connection::new(self.server.clone(), Role::Server, None, 0).expect("server");
        s.set_peer_address(PEER);
        s
    }

    /// One complete handshake in memory. `buf` holds one datagram.
    pub fn handshake(&self, buf: &mut [u8], cost: &mut ServerCost) -> Pair {
        let mut client =
            Connection::new(self.client.clone(), Role::Client, None, 0).expect("client");
        let mut server = match self.cookie {
            Cookie::FrontDoor => None,
            _ => Some(cost.time(|| self.new_server())),
        };
        let mut reply = [0u8; 512];
        for _ in 0..16 {
            while let Some(n) = client.poll_transmit(0, buf).expect("client output") {
                let d = &buf[..n];
                let hvr = cost.time(|| match (&mut server, &self.door) {
                    (Some(s), _) => {
                        s.handle_datagram(0, d).expect("server input");
                        None
                    }
                    (None, Some(door)) => match door.prefilter(0, PEER, d, &mut reply) {
                        Verdict::Accept => {
                            let mut s = self.new_server();
                            s.handle_datagram(0, d).expect("server input");
                            server = Some(s);
                            None
                        }
                        Verdict::Reply(m) => Some(m),
                        Verdict::Drop => panic!("front door dropped a ClientHello"),
                    },
                    (None, None) => unreachable!("no server and no front door"),
                });
                if let Some(m) = hvr {
                    client
                        .handle_datagram(0, &reply[..m])
                        .expect("client input");
                }
            }
            if let Some(s) = server.as_mut() {
                while let Some(n) = cost
                    .time(|| s.poll_transmit(0, buf))
                    .expect("server output")
                {
                    client.handle_datagram(0, &buf[..n]).expect("client input");
                }
            }
            if client.is_connected() && server.as_ref().is_some_and(|s| s.is_connected()) {
                break;
            }
        }
        let mut server = server.expect("server created");
        // DTLS 1.3: the server's ACK of the client's last flight is part of the handshake
        // (without it the client retransmits). Nothing is left to send in 1.2.
        while let Some(n) = cost
            .time(|| server.poll_transmit(0, buf))
            .expect("server output")
        {
            client.handle_datagram(0, &buf[..n]).expect("client input");
        }
        let connected = |c: &mut Connection| {
            let mut ok = false;
            while let Some(ev) = c.poll_event() {
                ok |= matches!(ev, Event::Connected(_));
            }
            ok
        };
        assert!(connected(&mut client), "client did not connect");
        assert!(
            cost.time(|| connected(&mut server)),
            "server did not connect"
        );
        Pair { client, server }
    }

    /// `n` handshakes.
    pub fn handshakes(&self, n: usize) -> Batch {
        let mut buf = vec![0u8; 2048];
        let mut cost = ServerCost::default();
        let (c0, t) = (cpu_time(), Instant::now());
        for _ in 0..n {
            let p = self.handshake(&mut buf, &mut cost);
            drop(p.client);
            cost.time(|| drop(p.server));
        }
        Batch {
            n,
            cpu: cpu_time() - c0,
            wall: t.elapsed(),
            server_wall: cost.time,
        }
    }

    /// A DTLS 1.3 handshake's records, for the crypto bound: the ciphertext length of every
    /// protected record both ways, and the handshake bytes (about the transcript's length).
    /// Needs `Cookie::Off`.
    pub fn shape13(&self) -> super::bound::Shape13 {
        assert_eq!(self.cookie, Cookie::Off);
        let mut client =
            Connection::new(self.client.clone(), Role::Client, None, 0).expect("client");
        let mut server = self.new_server();
        let mut buf = vec![0u8; 2048];
        let mut shape = super::bound::Shape13::default();
        let mut walk = |d: &[u8]| {
            let mut i = 0;
            while i < d.len() {
                let b = d[i];
                if b & 0xe0 == 0x20 {
                    // Unified header (RFC 9147 §4): C, S, L bits; no connection ID here.
                    assert_eq!(b & 0x10, 0, "no CID in the bench");
                    let seq = if b & 0x08 != 0 { 2 } else { 1 };
                    let h = 1 + seq + if b & 0x04 != 0 { 2 } else { 0 };
                    let len = if b & 0x04 != 0 {
                        u16::from_be_bytes([d[i + h - 2], d[i + h - 1]]) as usize
                    } else {
                        d.len() - i - h
                    };
                    shape.protected.push(len);
                    shape.transcript_len += len.saturating_sub(17);
                    i += h + len;
                } else {
                    // DTLSPlaintext: 13-byte header, length last.
                    let len = u16::from_be_bytes([d[i + 11], d[i + 12]]) as usize;
                    shape.transcript_len += len;
                    i += 13 + len;
                }
            }
        };
        for _ in 0..16 {
            while let Some(n) = client.poll_transmit(0, &mut buf).expect("client output") {
                walk(&buf[..n]);
                server.handle_datagram(0, &buf[..n]).expect("server input");
            }
            while let Some(n) = server.poll_transmit(0, &mut buf).expect("server output") {
                walk(&buf[..n]);
                client.handle_datagram(0, &buf[..n]).expect("client input");
            }
            if client.is_connected() && server.is_connected() {
                break;
            }
        }
        while let Some(n) = server.poll_transmit(0, &mut buf).expect("server output") {
            walk(&buf[..n]);
            client.handle_datagram(0, &buf[..n]).expect("client input");
        }
        assert!(client.is_connected() && server.is_connected());
        assert_eq!(
            client.next_timeout(),
            None,
            "1.3 client still waits for an ACK"
        );
        shape
    }

    /// Runs the handshake up to the server's first flight (ServerHello .. ServerHelloDone) and
    /// the client's answer (Certificate .. Finished), both sent and neither answered: each side
    /// then holds everything it keeps mid-handshake. Needs `Cookie::Off`.
    pub fn mid_handshake(&self, buf: &mut [u8], wire: &mut Arena) -> Pair {
        assert_eq!(self.cookie, Cookie::Off);
        let mut client =
            Connection::new(self.client.clone(), Role::Client, None, 0).expect("client");
        let mut server = self.new_server();
        while let Some(n) = client.poll_transmit(0, buf).expect("client output") {
            server.handle_datagram(0, &buf[..n]).expect("server input");
        }
        wire.clear();
        while let Some(n) = server.poll_transmit(0, buf).expect("server output") {
            wire.push(&buf[..n]);
        }
        for i in 0..wire.len() {
            client
                .handle_datagram(0, wire.get(i))
                .expect("client input");
        }
        wire.clear();
        while let Some(n) = client.poll_transmit(0, buf).expect("client output") {
            wire.push(&buf[..n]);
        }
        assert!(!client.is_connected() && !server.is_connected());
        Pair { client, server }
    }
}

/// A connected pair and buffers for the record benchmark (client seals, server opens).
pub struct Records {
    pub pair: Pair,
    wire: Vec<u8>,
    lens: Vec<usize>,
    out: Vec<u8>,
}

impl Records {
    pub fn new(ours: &Ours, batch: usize) -> Self {
        let mut buf = vec![0u8; 2048];
        let pair = ours.handshake(&mut buf, &mut ServerCost::default());
        let mut r = Records {
            pair,
            wire: vec![0u8; batch * SLOT],
            lens: vec![0; batch],
            out: vec![0u8; 2048],
        };
        // Check once, outside the timed loop, that what comes out is what went in.
        let p = super::setup::payload();
        r.pair.client.send(&p).expect("send");
        let n = r.pair.client.poll_transmit(0, &mut buf).unwrap().unwrap();
        r.pair.server.handle_datagram(0, &buf[..n]).unwrap();
        let m = r.pair.server.recv(&mut r.out).unwrap().unwrap();
        assert_eq!(&r.out[..m], &p[..]);
        r
    }

    /// Seals `batch` records of `payload` into datagrams (send + poll_transmit), then opens
    /// them (handle_datagram + recv). Returns (seal time, open time).
    pub fn round(&mut self, payload: &[u8], batch: usize) -> (Duration, Duration) {
        let Records {
            pair,
            wire,
            lens,
            out,
        } = self;
        let t0 = cpu_time();
        for (slot, len) in wire.chunks_exact_mut(SLOT).zip(lens.iter_mut()).take(batch) {
            pair.client.send(payload).expect("send");
            *len = pair
                .client
                .poll_transmit(0, slot)
                .expect("seal")
                .expect("datagram");
        }
        let t1 = cpu_time();
        for (slot, len) in wire.chunks_exact(SLOT).zip(lens.iter()).take(batch) {
            pair.server.handle_datagram(0, &slot[..*len]).expect("open");
            let n = pair.server.recv(out).expect("recv").expect("record");
            debug_assert_eq!(n, RECORD);
        }
        (t1 - t0, cpu_time() - t1)
    }

    /// The same with the zero-copy calls: `seal_into` (one copy, no queue) and
    /// `open_in_place` (no copy; the datagram is decrypted where it lies).
    pub fn round_zero_copy(&mut self, payload: &[u8], batch: usize) -> (Duration, Duration) {
        let Records {
            pair, wire, lens, ..
        } = self;
        let t0 = cpu_time();
        for (slot, len) in wire.chunks_exact_mut(SLOT).zip(lens.iter_mut()).take(batch) {
            *len = pair.client.seal_into(payload, slot).expect("seal");
        }
        let t1 = cpu_time();
        for (slot, len) in wire.chunks_exact_mut(SLOT).zip(lens.iter()).take(batch) {
            let data = pair
                .server
                .open_in_place(0, &mut slot[..*len])
                .expect("open")
                .expect("record");
            debug_assert_eq!(data.len(), RECORD);
        }
        (t1 - t0, cpu_time() - t1)
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
