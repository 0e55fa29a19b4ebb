//! The server front door with DTLS 1.3 enabled (`ServerFrontDoor::admit`): ClientHellos are
//! reassembled in one bounded pool shared by all peers and answered from the whole message
//! (HelloRetryRequest with a stateless cookie, or the DTLS 1.2 HelloVerifyRequest), and a
//! ClientHello2 with a valid cookie is handed to a new `Connection`.
//!
//! Run with `--nocapture` to see the flood figures (pool cap, heap, delay).

#[path = "common/alloc.rs"]
#[allow(dead_code)]
mod alloc;

use dtls_proto::server::{
    Admission, ServerFrontDoor, HELLO_POOL_ENTRY_OVERHEAD, HELLO_POOL_MAX_AGE_MS,
};
use dtls_proto::{
    Certificate, Config, Connection, NamedGroup, PeerVerification, ProtocolVersion, Role,
};
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

const V13: &[ProtocolVersion] = &[ProtocolVersion::Dtls13];
const V12: &[ProtocolVersion] = &[ProtocolVersion::Dtls12];
const BOTH: &[ProtocolVersion] = &[ProtocolVersion::Dtls12, ProtocolVersion::Dtls13];
const PEER: &[u8] = b"198.51.100.7:40000";

fn server_cfg(versions: &[ProtocolVersion]) -> Arc<Config> {
    Config::builder()
        .certificate(Certificate::generate("server").unwrap())
        .versions(versions)
        .groups(&[NamedGroup::X25519MlKem768, NamedGroup::X25519])
        .cookie_exchange(true)
        .build()
        .unwrap()
}

/// A browser-like client: 1.3 and 1.2, the hybrid share first, small MTU so that the
/// ClientHello spans several datagrams.
fn client_cfg(versions: &[ProtocolVersion], mtu: u16) -> Arc<Config> {
    Config::builder()
        .peer_verification(PeerVerification::DangerousAcceptAny)
        .versions(versions)
        .groups(&[NamedGroup::X25519MlKem768, NamedGroup::X25519])
        .mtu(mtu)
        .build()
        .unwrap()
}

#[derive(Debug, Default)]
struct Counts {
    /// Record sequence numbers of every epoch-0 record sent to the genuine client, by the
    /// door and by the Connection.
    epoch0_seqs: Vec<u64>,
    held: usize,
    replies: Vec<Vec<u8>>,
    accepts: usize,
    drops: usize,
}

/// A server socket: a front door for unknown peers, a `Connection` once admitted.
struct Server {
    cfg: Arc<Config>,
    door: ServerFrontDoor,
    conn: Option<Connection>,
    counts: Counts,
}

impl Server {
    fn new(cfg: Arc<Config>, pool_bytes: usize) -> Server {
        Server {
            door: ServerFrontDoor::with_pool(cfg.clone(), pool_bytes, 16 * 1024),
            cfg,
            conn: None,
            counts: Counts::default(),
        }
    }

    /// One datagram from `from`; returns a reply for it, if any.
    fn receive(&mut self, now: u64, from: &[u8], d: &[u8], genuine: bool) -> Option<Vec<u8>> {
        if genuine {
            if let Some(c) = &mut self.conn {
                c.handle_datagram(now, d).unwrap();
                return None;
            }
        }
        let mut out = [0u8; 512];
        let cap = self.door.pool_stats().capacity;
        let verdict = self.door.admit(now, from, d, &mut out);
        let reply = match verdict {
            Admission::Accept(hello) => {
                assert!(genuine, "a spoofed fragment was admitted");
                let hello = hello.to_vec();
                let mut c = Connection::new(self.cfg.clone(), Role::Server, None, now).unwrap();
                c.set_peer_address(from);
                c.handle_datagram(now, &hello).unwrap();
                self.conn = Some(c);
                self.counts.accepts += 1;
                None
            }
            Admission::Reply(n) => {
                let r = out[..n].to_vec();
                if genuine {
                    self.counts.epoch0_seqs.extend(epoch0_seqs(&r));
                    self.counts.replies.push(r.clone());
                }
                Some(r)
            }
            Admission::Held => {
                self.counts.held += 1;
                None
            }
            Admission::Drop => {
                self.counts.drops += 1;
                None
            }
        };
        let s = self.door.pool_stats();
        assert!(s.bytes <= cap, "pool over its cap: {s:?}");
        reply
    }
}

/// Drives a client against `server` in virtual time until both are connected (or `limit_ms`
/// passes); before each client datagram reaches the server, `flood` runs (spoofed traffic).
/// Returns the virtual time the handshake took.
fn run(
    client: &mut Connection,
    server: &mut Server,
    limit_ms: u64,
    mut flood: impl FnMut(&mut Server, u64),
) -> Option<u64> {
    let mut now = 0u64;
    let mut buf = vec![0u8; 2048];
    while now <= limit_ms {
        let mut progressed = true;
        while progressed {
            progressed = false;
            while let Some(n) = client.poll_transmit(now, &mut buf).unwrap() {
                progressed = true;
                flood(server, now);
                if let Some(r) = server.receive(now, PEER, &buf[..n], true) {
                    client.handle_datagram(now, &r).unwrap();
                }
            }
            if let Some(s) = &mut server.conn {
                while let Some(n) = s.poll_transmit(now, &mut buf).unwrap() {
                    progressed = true;
                    server.counts.epoch0_seqs.extend(epoch0_seqs(&buf[..n]));
                    client.handle_datagram(now, &buf[..n]).unwrap();
                }
            }
        }
        let server_done = server.conn.as_ref().is_some_and(|s| s.is_connected());
        if client.is_connected() && server_done {
            return Some(now);
        }
        let next = [
            client.next_timeout(),
            server.conn.as_ref().and_then(|s| s.next_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()?;
        now = next.max(now + 1);
        client.handle_timeout(now).unwrap();
        if let Some(s) = &mut server.conn {
            s.handle_timeout(now).unwrap();
        }
    }
    None
}

fn ping(client: &mut Connection, server: &mut Connection) {
    let mut buf = vec![0u8; 2048];
    let mut app = [0u8; 64];
    client.send(b"ping").unwrap();
    let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    server.handle_datagram(0, &buf[..n]).unwrap();
    assert_eq!(server.recv(&mut app).unwrap(), Some(4));
    assert_eq!(&app[..4], b"ping");
}

/// The sequence numbers of the plaintext (DTLSPlaintext, epoch 0) records of a datagram; the
/// scan stops at the first DTLS 1.3 ciphertext record (unified header).
fn epoch0_seqs(d: &[u8]) -> Vec<u64> {
    let mut v = Vec::new();
    let mut off = 0;
    while off + 13 <= d.len() && d[off] & 0xe0 != 0x20 {
        let epoch = u16::from_be_bytes([d[off + 3], d[off + 4]]);
        let mut seq = [0u8; 8];
        seq[2..].copy_from_slice(&d[off + 5..off + 11]);
        let len = u16::from_be_bytes([d[off + 11], d[off + 12]]) as usize;
        if epoch == 0 {
            v.push(u64::from_be_bytes(seq));
        }
        off += 13 + len;
    }
    v
}

/// The handshake message type of a reply datagram (one record, one message).
fn reply_type(r: &[u8]) -> u8 {
    r[13]
}

#[test]
fn fragmented_hybrid_hello_through_the_door_to_a_connection() {
    for server_versions in [V13, BOTH] {
        let cfg = server_cfg(server_versions);
        let mut server = Server::new(cfg, 64 * 1024);
        let mut client = Connection::new(client_cfg(BOTH, 256), Role::Client, None, 0).unwrap();
        let t = run(&mut client, &mut server, 10_000, |_, _| {}).expect("handshake");
        assert_eq!(t, 0, "needed a retransmission without any loss");
        let n = client.negotiated().unwrap();
        assert_eq!(n.version, ProtocolVersion::Dtls13);
        assert_eq!(n.group, NamedGroup::X25519MlKem768);
        // ClientHello1 and ClientHello2 both span several datagrams at MTU 256: all but the
        // last fragment of each were held, one HelloRetryRequest (ServerHello type 2) went
        // out, and the Connection got the whole ClientHello2.
        assert_eq!(server.counts.replies.len(), 1, "{:?}", server.counts);
        assert_eq!(reply_type(&server.counts.replies[0]), 2);
        assert!(server.counts.held >= 2 * 4, "{:?}", server.counts);
        assert_eq!(server.counts.accepts, 1);
        assert_eq!(server.counts.drops, 0);
        // The door's HelloRetryRequest and the Connection's records never share a record
        // number (a client's replay check would drop the later one, RFC 9147 §4.5.1).
        let mut seqs = server.counts.epoch0_seqs.clone();
        assert!(seqs.len() >= 2, "{seqs:?}");
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(
            seqs.len(),
            server.counts.epoch0_seqs.len(),
            "{:?}",
            server.counts.epoch0_seqs
        );
        let s = server.door.pool_stats();
        assert_eq!((s.entries, s.bytes), (0, 0), "entries left behind: {s:?}");
        let mut conn = server.conn.take().unwrap();
        assert_eq!(conn.negotiated().unwrap().version, ProtocolVersion::Dtls13);
        ping(&mut client, &mut conn);
    }
}

#[test]
fn fragments_fed_out_of_order_and_duplicated_still_complete() {
    let cfg = server_cfg(V13);
    let mut door = ServerFrontDoor::with_pool(cfg.clone(), 64 * 1024, 16 * 1024);
    let mut client = Connection::new(client_cfg(V13, 256), Role::Client, None, 0).unwrap();
    let mut buf = vec![0u8; 2048];
    let mut frags = Vec::new();
    while let Some(n) = client.poll_transmit(0, &mut buf).unwrap() {
        frags.push(buf[..n].to_vec());
    }
    assert!(frags.len() >= 5, "ClientHello in {} datagrams", frags.len());
    let mut out = [0u8; 512];
    // Last first, then everything twice: one HelloRetryRequest, when the last gap fills.
    let mut order: Vec<&Vec<u8>> = frags.iter().rev().collect();
    order.extend(frags.iter());
    let mut replies = 0;
    for (i, f) in order.iter().enumerate() {
        match door.admit(0, PEER, f, &mut out) {
            Admission::Reply(n) => {
                replies += 1;
                // The second pass starts a fresh entry: the first was answered and forgotten.
                assert!(
                    i == frags.len() - 1 || i == 2 * frags.len() - 1,
                    "answered at {i}, before the whole ClientHello"
                );
                client.handle_datagram(0, &out[..n]).unwrap();
            }
            Admission::Held => {}
            other => panic!("fragment {i}: {other:?}"),
        }
    }
    // The second pass started a fresh entry (the first was answered and forgotten) and
    // completed it again: a retransmitted ClientHello1 gets its HelloRetryRequest again.
    assert_eq!(replies, 2);
    // A fragment that disagrees with what is held is refused, and the held bytes stay: the
    // genuine rest still completes the ClientHello.
    assert_eq!(door.admit(0, PEER, &frags[1], &mut out), Admission::Held);
    let mut forged = frags[1].clone();
    let last = forged.len() - 1;
    forged[last] ^= 0xff;
    let before = door.pool_stats().refused;
    assert_eq!(door.admit(0, PEER, &forged, &mut out), Admission::Drop);
    assert_eq!(door.pool_stats().refused, before + 1);
    let mut got = None;
    for f in frags.iter().filter(|f| *f != &frags[1]) {
        got = Some(door.admit(0, PEER, f, &mut out));
    }
    assert!(matches!(got, Some(Admission::Reply(_))), "{got:?}");
}

/// The datagrams of a client's first flight.
fn first_flight(versions: &[ProtocolVersion], mtu: u16) -> Vec<Vec<u8>> {
    let mut client = Connection::new(client_cfg(versions, mtu), Role::Client, None, 0).unwrap();
    let mut buf = vec![0u8; 2048];
    let mut v = Vec::new();
    while let Some(n) = client.poll_transmit(0, &mut buf).unwrap() {
        v.push(buf[..n].to_vec());
    }
    v
}

#[test]
fn the_oldest_partial_hello_is_evicted_first() {
    let flights: Vec<_> = (0..3).map(|_| first_flight(V13, 1200)).collect();
    assert!(flights.iter().all(|f| f.len() == 2));
    let peers: [&[u8]; 3] = [b"192.0.2.1:1000", b"192.0.2.2:1000", b"192.0.2.3:1000"];
    let hello_len =
        u32::from_be_bytes([0, flights[0][0][14], flights[0][0][15], flights[0][0][16]]);
    let charge = HELLO_POOL_ENTRY_OVERHEAD + 2 * (peers[0].len() + 2) + hello_len as usize;
    // Room for two partial ClientHellos.
    let mut door = ServerFrontDoor::with_pool(server_cfg(V13), 2 * charge + charge / 2, 16 * 1024);
    let mut out = [0u8; 512];
    for (f, p) in flights.iter().zip(peers) {
        assert_eq!(door.admit(0, p, &f[0], &mut out), Admission::Held);
        assert!(door.pool_stats().bytes <= 2 * charge + charge / 2);
    }
    assert_eq!(
        (door.pool_stats().entries, door.pool_stats().evicted),
        (2, 1)
    );
    // The newest two complete; the oldest was evicted and starts over.
    assert!(matches!(
        door.admit(0, peers[2], &flights[2][1], &mut out),
        Admission::Reply(_)
    ));
    assert!(matches!(
        door.admit(0, peers[1], &flights[1][1], &mut out),
        Admission::Reply(_)
    ));
    assert_eq!(
        door.admit(0, peers[0], &flights[0][1], &mut out),
        Admission::Held
    );
    assert_eq!(door.pool_stats().entries, 1);
}

#[test]
fn a_poisoned_partial_hello_expires_and_the_retransmission_gets_through() {
    let f = first_flight(V13, 1200);
    assert_eq!(f.len(), 2);
    let mut door = ServerFrontDoor::with_pool(server_cfg(V13), 64 * 1024, 16 * 1024);
    let mut out = [0u8; 512];
    // A forged first fragment from the client's address claims another message length: the
    // genuine fragments disagree with the entry it opened and are refused.
    let mut forged = f[0].clone();
    forged[16] ^= 1;
    assert_eq!(door.admit(0, PEER, &forged, &mut out), Admission::Held);
    for now in [0, 1000, 3000] {
        assert_eq!(door.admit(now, PEER, &f[0], &mut out), Admission::Drop);
        assert_eq!(door.admit(now, PEER, &f[1], &mut out), Admission::Drop);
    }
    // Once the entry is older than HELLO_POOL_MAX_AGE_MS it goes; the next retransmission
    // gets its HelloRetryRequest.
    let later = HELLO_POOL_MAX_AGE_MS + 1;
    assert_eq!(door.admit(later, PEER, &f[0], &mut out), Admission::Held);
    assert!(matches!(
        door.admit(later, PEER, &f[1], &mut out),
        Admission::Reply(_)
    ));
    let s = door.pool_stats();
    assert_eq!((s.expired, s.refused, s.entries, s.bytes), (1, 6, 0, 0));
}

#[test]
fn dtls12_client_gets_hello_verify_requests() {
    for mtu in [1200, 256, 128] {
        let frags = first_flight(V12, mtu).len();
        let mut server = Server::new(server_cfg(BOTH), 64 * 1024);
        let mut client = Connection::new(client_cfg(V12, mtu), Role::Client, None, 0).unwrap();
        run(&mut client, &mut server, 10_000, |_, _| {}).expect("handshake");
        assert_eq!(
            client.negotiated().unwrap().version,
            ProtocolVersion::Dtls12
        );
        assert_eq!(server.counts.replies.len(), 1);
        assert_eq!(
            reply_type(&server.counts.replies[0]),
            3,
            "not a HelloVerifyRequest"
        );
        assert_eq!(server.counts.accepts, 1);
        // The 1.2 ClientHello1 is 126 bytes; at MTU 128 the ClientHello2 (with the cookie)
        // is fragmented and went through the pool.
        assert_eq!(frags, 1);
        assert_eq!(
            server.counts.held > 0,
            mtu == 128,
            "MTU {mtu}: {:?}",
            server.counts
        );
    }
    // A 1.2-only config: `admit` is the stateless `prefilter`.
    let mut server = Server::new(server_cfg(V12), 64 * 1024);
    let mut client = Connection::new(client_cfg(V12, 1200), Role::Client, None, 0).unwrap();
    run(&mut client, &mut server, 10_000, |_, _| {}).expect("handshake");
    assert_eq!(reply_type(&server.counts.replies[0]), 3);
    assert_eq!(server.door.pool_stats().peak_bytes, 0);
}

#[test]
fn cookie_from_another_address_is_not_accepted() {
    let mut server = Server::new(server_cfg(V13), 64 * 1024);
    let mut client = Connection::new(client_cfg(V13, 1200), Role::Client, None, 0).unwrap();
    let mut buf = vec![0u8; 2048];
    let mut flight = |client: &mut Connection| {
        let mut v = Vec::new();
        while let Some(n) = client.poll_transmit(0, &mut buf).unwrap() {
            v.push(buf[..n].to_vec());
        }
        v
    };
    let mut hrr = None;
    for d in flight(&mut client) {
        hrr = server.receive(0, PEER, &d, true);
    }
    client.handle_datagram(0, &hrr.unwrap()).unwrap();
    // ClientHello2 (1.4 KB: two datagrams at MTU 1200) from an address the cookie was not
    // issued to: reassembled, then dropped. From the right one: accepted, and what the door
    // hands out is one datagram with the whole ClientHello2.
    let ch2 = flight(&mut client);
    assert_eq!(ch2.len(), 2);
    let mut out = [0u8; 512];
    let other = b"203.0.113.1:1";
    assert_eq!(
        server.door.admit(0, other, &ch2[0], &mut out),
        Admission::Held
    );
    assert_eq!(
        server.door.admit(0, other, &ch2[1], &mut out),
        Admission::Drop
    );
    assert_eq!(
        server.door.admit(0, PEER, &ch2[1], &mut out),
        Admission::Held
    );
    let Admission::Accept(d) = server.door.admit(0, PEER, &ch2[0], &mut out) else {
        panic!("ClientHello2 with a valid cookie not accepted");
    };
    let body: usize = ch2.iter().map(|d| d.len() - 25).sum();
    assert_eq!(d.len(), 25 + body);
    assert_eq!(server.door.pool_stats().entries, 0);
}

/// The first datagram of a fragmented browser-sized ClientHello, to replay from spoofed
/// addresses, with its claimed message length set to `claimed`.
fn spoof_template(claimed: u32) -> Vec<u8> {
    let mut client = Connection::new(client_cfg(BOTH, 256), Role::Client, None, 0).unwrap();
    let mut buf = vec![0u8; 2048];
    let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    let mut d = buf[..n].to_vec();
    d[14..17].copy_from_slice(&claimed.to_be_bytes()[1..]);
    d
}

struct Flood {
    template: Vec<u8>,
    sent: u64,
    per_datagram: u64,
}

impl Flood {
    fn send(&mut self, server: &mut Server, now: u64, count: u64) {
        for _ in 0..count {
            let addr = format!(
                "10.{}.{}.{}:{}",
                (self.sent >> 16) & 255,
                (self.sent >> 8) & 255,
                self.sent & 255,
                1024 + self.sent % 50_000
            );
            // Each spoofed ClientHello looks fresh: vary the random so nothing coalesces.
            if let Some(r) = self.template.get_mut(30..38) {
                r.copy_from_slice(&self.sent.to_be_bytes());
            }
            let r = server.receive(now, addr.as_bytes(), &self.template, false);
            assert!(r.is_none(), "answered a partial ClientHello");
            self.sent += 1;
        }
    }
}

const POOL: usize = 512 * 1024;

#[test]
fn flood_from_100k_addresses_stays_under_the_cap() {
    // The smallest entries there are (1 byte of a 2-byte message) make the most entries.
    let tiny = |claimed: u32| {
        let mut d = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 13];
        d.extend_from_slice(&[1, 0, 0, claimed as u8, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
        d
    };
    for (template, claimed) in [
        (spoof_template(1413), 1413u32),
        (spoof_template(16 * 1024), 16 * 1024),
        (tiny(2), 2),
    ] {
        let mut server = Server::new(server_cfg(BOTH), POOL);
        let mut flood = Flood {
            template,
            sent: 0,
            per_datagram: 0,
        };
        let base = alloc::live();
        alloc::reset_peak();
        let t0 = Instant::now();
        flood.send(&mut server, 0, 100_000);
        let took = t0.elapsed();
        let heap_peak = alloc::peak() - base;
        let s = server.door.pool_stats();
        println!(
            "flood 100k x {} B datagrams claiming {claimed} B: pool cap {} B, peak {} B \
             ({} entries now), evicted {}; heap peak above start {heap_peak} B; {:?} \
             ({:.2} us per datagram)",
            flood.template.len(),
            s.capacity,
            s.peak_bytes,
            s.entries,
            s.evicted,
            took,
            took.as_secs_f64() * 1e6 / 100_000.0
        );
        assert!(s.peak_bytes <= POOL);
        assert_eq!(s.evicted, 100_000 - s.entries as u64);
        let per_entry = HELLO_POOL_ENTRY_OVERHEAD + 2 * (12 + 2) + claimed as usize;
        assert!(s.entries <= POOL / per_entry + 1);
        // The heap the pool really holds stays within its charged bytes (plus a little for
        // the ring's growth).
        assert!(
            heap_peak <= (POOL + POOL / 20) as i64,
            "heap grew {heap_peak} B for a {POOL} B pool"
        );
        assert_eq!(server.counts.accepts, 0);
        drop(server);
        assert!(alloc::live() - base <= 0, "pool memory not returned");
        let _ = flood.per_datagram;
    }
}

#[test]
fn genuine_client_completes_during_the_flood() {
    let mut report = Vec::new();
    for (claimed, per_datagram) in [(1413u32, 0u64), (1413, 10), (1413, 30), (16 * 1024, 2)] {
        let mut server = Server::new(server_cfg(BOTH), POOL);
        let mut flood = Flood {
            template: spoof_template(claimed),
            sent: 0,
            per_datagram,
        };
        let mut client = Connection::new(client_cfg(BOTH, 256), Role::Client, None, 0).unwrap();
        let t0 = Instant::now();
        let virt = run(&mut client, &mut server, 60_000, |srv, now| {
            let k = flood.per_datagram;
            flood.send(srv, now, k);
        });
        let wall = t0.elapsed();
        let virt = virt.unwrap_or_else(|| {
            panic!(
                "no handshake under a flood of {per_datagram} per datagram claiming {claimed}: {:?}",
                server.door.pool_stats()
            )
        });
        assert_eq!(
            client.negotiated().unwrap().version,
            ProtocolVersion::Dtls13
        );
        report.push((
            claimed,
            per_datagram,
            flood.sent,
            virt,
            wall,
            server.door.pool_stats(),
        ));
    }
    for (claimed, k, sent, virt, wall, s) in &report {
        println!(
            "genuine 1.3 client (MTU 256, X25519MLKEM768) with {k} spoofed fragments claiming \
             {claimed} B before each of its datagrams: {sent} spoofed, handshake in {virt} ms \
             virtual, {wall:?} wall; pool peak {} of {} B, evicted {}",
            s.peak_bytes, s.capacity, s.evicted
        );
    }
    assert!(
        report.iter().all(|r| r.3 == 0),
        "a retransmission was needed"
    );

    // Where the flood wins: the most spoofed fragments (claiming 1413 B) between two of the
    // client's datagrams with which its handshake still completes. Oldest-first eviction
    // means a client loses when more new entries arrive between its first and last fragment
    // than the pool holds: about capacity / charge / (fragments - 1).
    for mtu in [1200u16, 256] {
        let frags = first_flight(BOTH, mtu).len() as u64;
        let completes = |k: u64| {
            let mut server = Server::new(server_cfg(BOTH), POOL);
            let mut flood = Flood {
                template: spoof_template(1413),
                sent: 0,
                per_datagram: k,
            };
            let mut client = Connection::new(client_cfg(BOTH, mtu), Role::Client, None, 0).unwrap();
            run(&mut client, &mut server, 5_000, |srv, now| {
                flood.send(srv, now, k)
            })
            .is_some()
        };
        let (mut lo, mut hi) = (0u64, 4096u64);
        assert!(completes(lo));
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if completes(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let entries = (POOL / (HELLO_POOL_ENTRY_OVERHEAD + 2 * (17 + 2) + 1413)) as u64;
        println!(
            "MTU {mtu}: ClientHello in {frags} datagrams; completes with up to {lo} spoofed \
             fragments between two of its datagrams (the pool holds ~{entries} spoofed entries)"
        );
        assert!(lo + 1 >= entries / (frags - 1).max(1) / 2, "threshold {lo}");
    }
}

/// `prefilter` (the 1.2 front door) given a config with both versions: it admits the
/// ClientHello without a HelloVerifyRequest, the Connection runs the cookie exchange, and a
/// client offering both versions completes in 1.3. (A HelloVerifyRequest here would lead the
/// client into a 1.2 handshake whose downgrade sentinel it must refuse.)
#[test]
fn prefilter_with_a_dual_version_config_lets_the_connection_decide() {
    use dtls_proto::{
        Certificate, Config, Connection, PeerVerification, ProtocolVersion, Role, ServerFrontDoor,
        Verdict,
    };
    let cfg = || {
        Config::builder()
            .certificate(Certificate::generate("p").unwrap())
            .peer_verification(PeerVerification::DangerousAcceptAny)
            .versions(&[ProtocolVersion::Dtls12, ProtocolVersion::Dtls13])
            .build()
            .unwrap()
    };
    let scfg = cfg();
    let door = ServerFrontDoor::new(scfg.clone());
    let mut client = Connection::new(cfg(), Role::Client, None, 0).unwrap();
    let mut buf = vec![0u8; 1500];
    let mut out = vec![0u8; 1500];
    let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    assert_eq!(
        door.prefilter(0, b"peer", &buf[..n], &mut out),
        Verdict::Accept
    );
    let mut server = Connection::new(scfg, Role::Server, None, 0).unwrap();
    server.set_peer_address(b"peer");
    server.handle_datagram(0, &buf[..n]).unwrap();
    for _ in 0..10 {
        while let Some(n) = server.poll_transmit(0, &mut buf).unwrap() {
            client.handle_datagram(0, &buf[..n]).unwrap();
        }
        while let Some(n) = client.poll_transmit(0, &mut buf).unwrap() {
            server.handle_datagram(0, &buf[..n]).unwrap();
        }
    }
    assert!(client.is_connected() && server.is_connected());
    assert_eq!(
        client.negotiated().unwrap().version,
        ProtocolVersion::Dtls13
    );
}
