//! Structural, deterministic memory properties of the engine (issue 8). Speed is measured by
//! `cargo bench --bench dtls` (docs/performance.md), never asserted here; what is asserted:
//!
//! - no allocation per application record in steady state: send + poll_transmit +
//!   handle_datagram + recv, both directions, one at a time and in bursts;
//! - live heap per established association, per association mid-handshake, and per pending
//!   peer at the stateless front door (which must be exactly 0; the front door does not even
//!   allocate transiently).
//!
//! A counting global allocator with per-thread counters measures this binary: the test
//! harness runs tests on parallel threads, and each test only counts its own thread (the
//! engine starts none). Associations are boxed, so `size_of::<Connection>()` counts too, as
//! it would in a server's map of associations. Per-association bytes are measured by dropping
//! `K` associations and seeing how much heap comes back.
//!
//! Bounds. The targets are <= 4 KiB per established association and <= 24 KiB
//! mid-handshake; for DTLS 1.2 both are met and asserted (about 3.4 KiB per side right after
//! the handshake, 7.5 / 9.5 KiB mid-handshake). Once a 1200-byte record went each way the
//! application queues keep their grown rings (about 6.0 KiB): that figure is asserted with a
//! margin, so that any growth fails. DTLS 1.3 (5.3 / 4.3 KiB) misses the 4 KiB target: its
//! test is ignored with the reason, and today's figures are asserted as a regression bound.
//! Where the bytes go: see docs/performance.md.

mod common;

use common::alloc::{allocs, live};
use common::link::LinkConfig;
use common::pair::{builder, Pair, Version, CLIENT, SERVER};
use dtls_proto::{
    CipherSuite, Config, Connection, HashAlg, NamedGroup, Role, ServerFrontDoor, Verdict,
};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Counting allocator (per thread)
// ---------------------------------------------------------------------------------------------

#[global_allocator]
static ALLOC: common::alloc::Counting = common::alloc::Counting;

/// Live bytes each element held: drop them all and see how much heap comes back (the
/// vector's own storage excluded).
fn bytes_per_item<T>(v: Vec<T>) -> i64 {
    let k = v.len() as i64;
    assert!(k > 0);
    let storage = (v.capacity() * std::mem::size_of::<T>()) as i64;
    let before = live();
    drop(v);
    (before - live() - storage) / k
}

// ---------------------------------------------------------------------------------------------
// Associations
// ---------------------------------------------------------------------------------------------

/// Associations per measurement: enough to average out nothing (the figures are exact per
/// association) but catch anything shared that would be charged to the first one.
const K: usize = 4;

/// The target for an established association.
const TARGET_ESTABLISHED: i64 = 4 * 1024;
/// The target mid-handshake (met).
const TARGET_MID_HANDSHAKE: i64 = 24 * 1024;
/// Measured after one 1200-byte record each way: 6 130 B / 6 101 B (the application queues
/// keep their grown ring buffers). Asserted with a margin of ~17%.
const BOUND_STEADY: i64 = 7 * 1024;
/// DTLS 1.3 today: 5 414 B server, 4 441 B client right after the handshake (ACK delivered;
/// the client then drops the handshake epoch's keys, the server its write key only);
/// asserted with a margin of ~4% while the 4 KiB target is open.
const BOUND_ESTABLISHED_13: i64 = 5 * 1024 + 512;
/// DTLS 1.3 after one 1200-byte record each way: 8 023 B / 6 983 B (the application queues'
/// rings, as in 1.2), with a margin of ~5%.
const BOUND_STEADY_13: i64 = 8 * 1024 + 256;

struct Setup {
    client: Arc<Config>,
    server: Arc<Config>,
}

/// WebRTC-like: self-signed ECDSA P-256 certificates pinned by SHA-256 fingerprint both ways,
/// ECDHE P-256, AES-128-GCM; MTU 1500 so that 1200-byte records fit.
fn setup(cookie: bool) -> Setup {
    setup_v(Version::V12, cookie)
}

/// The same for either version; DTLS 1.3 with TLS_AES_128_GCM_SHA256.
fn setup_v(v: Version, cookie: bool) -> Setup {
    let scert = dtls_proto::Certificate::generate("server").unwrap();
    let ccert = dtls_proto::Certificate::generate("client").unwrap();
    let suites = match v {
        Version::V12 => [CipherSuite::EcdheEcdsaAes128GcmSha256],
        Version::V13 => [CipherSuite::Tls13Aes128GcmSha256],
    };
    let groups = [NamedGroup::Secp256r1];
    Setup {
        client: builder(v)
            .peer_fingerprint(scert.fingerprint(HashAlg::Sha256))
            .certificate(ccert.clone())
            .cipher_suites(&suites)
            .groups(&groups)
            .mtu(1500)
            .rng_seed(1)
            .build()
            .unwrap(),
        server: builder(v)
            .peer_fingerprint(ccert.fingerprint(HashAlg::Sha256))
            .certificate(scert)
            .cipher_suites(&suites)
            .groups(&groups)
            .cookie_exchange(cookie)
            .mtu(1500)
            .rng_seed(2)
            .build()
            .unwrap(),
    }
}

const PEER: &[u8] = b"192.0.2.1:50000";

/// Boxed, as a server's map of associations holds them.
struct Boxed {
    client: Box<Connection>,
    server: Box<Connection>,
}

impl Setup {
    /// The harness's pair on an instant link, for endpoints as `Boxed` creates them.
    fn start(&self) -> Pair {
        let client = Connection::new(self.client.clone(), Role::Client, None, 0).unwrap();
        let mut server = Connection::new(self.server.clone(), Role::Server, None, 0).unwrap();
        server.set_peer_address(PEER);
        let link = LinkConfig {
            latency_ms: 0,
            ..Default::default()
        };
        Pair::from_connections(client, server, link)
    }

    fn boxed(p: Pair) -> Boxed {
        let (client, server) = p.into_connections();
        Boxed {
            client: Box::new(client),
            server: Box::new(server),
        }
    }

    /// A complete handshake, events drained.
    fn connected(&self) -> Boxed {
        let mut p = self.start();
        p.handshake(10_000);
        // DTLS 1.3: deliver the server's ACK of the client's last flight, which the client
        // otherwise keeps for retransmission (nothing is in flight after a 1.2 handshake).
        p.settle();
        assert!(p.client.next_timeout().is_none() && p.server.next_timeout().is_none());
        Setup::boxed(p)
    }

    /// The server has sent its first flight (ServerHello .. ServerHelloDone) and the client
    /// its answer (Certificate .. Finished); neither has received the other's latest.
    fn mid_handshake(&self) -> Boxed {
        let mut p = self.start();
        p.transfer(CLIENT);
        p.transfer(SERVER);
        let sent = p.take(CLIENT).len();
        assert!(sent > 0, "the client answered");
        assert!(!p.client.is_connected() && !p.server.is_connected());
        Setup::boxed(p)
    }
}

/// One record from `tx` to `rx`, checked.
fn one_record(
    tx: &mut Connection,
    rx: &mut Connection,
    data: &[u8],
    wire: &mut [u8],
    out: &mut [u8],
) {
    tx.send(data).unwrap();
    let n = tx.poll_transmit(0, wire).unwrap().expect("a datagram");
    assert!(tx.poll_transmit(0, wire).unwrap().is_none());
    rx.handle_datagram(0, &wire[..n]).unwrap();
    let m = rx.recv(out).unwrap().expect("a record");
    assert_eq!(&out[..m], data);
    assert!(rx.recv(out).unwrap().is_none());
}

/// Per-association bytes of each side, servers first: (server, client).
fn per_side(pairs: Vec<Boxed>) -> (i64, i64) {
    let (clients, servers): (Vec<_>, Vec<_>) =
        pairs.into_iter().map(|p| (p.client, p.server)).unzip();
    let server = bytes_per_item(servers);
    let client = bytes_per_item(clients);
    (server, client)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn no_allocation_per_application_record_in_steady_state() {
    steady_state_allocations(Version::V12);
}

#[test]
fn no_allocation_per_dtls13_application_record_in_steady_state() {
    steady_state_allocations(Version::V13);
}

fn steady_state_allocations(v: Version) {
    let s = setup_v(v, false);
    let mut p = s.connected();
    let big = vec![0xa5u8; 1200];
    let sizes = [1usize, 100, 700, 1200];
    let mut wire = vec![0u8; 1500];
    let mut out = vec![0u8; 1500];
    let burst = 8;

    // One round of every pattern the steady state uses: records of every size both ways, one
    // at a time, and a burst of `burst` sends before any poll (the queues' rings then hold
    // `burst` records, the most this loop ever queues).
    let round = |p: &mut Boxed, wire: &mut [u8], out: &mut [u8]| {
        for &n in &sizes {
            one_record(&mut p.client, &mut p.server, &big[..n], wire, out);
            one_record(&mut p.server, &mut p.client, &big[..n], wire, out);
        }
        for i in 0..burst {
            p.client.send(&big[..sizes[i % sizes.len()]]).unwrap();
        }
        let mut datagrams = [[0u8; 1300]; 8];
        let mut lens = [0usize; 8];
        for (d, l) in datagrams.iter_mut().zip(lens.iter_mut()) {
            *l = p
                .client
                .poll_transmit(0, d)
                .unwrap()
                .expect("queued record");
        }
        for (d, l) in datagrams.iter().zip(lens.iter()) {
            p.server.handle_datagram(0, &d[..*l]).unwrap();
        }
        for i in 0..burst {
            let m = p.server.recv(out).unwrap().expect("record");
            assert_eq!(m, sizes[i % sizes.len()]);
        }
        // Nothing else pending: these calls must not allocate either.
        assert!(p.client.poll_transmit(0, wire).unwrap().is_none());
        assert!(p.server.poll_event().is_none());
        assert!(p.client.next_timeout().is_none());
    };

    // Warm-up: buffers grow to their working size.
    for _ in 0..4 {
        round(&mut p, &mut wire, &mut out);
    }
    let before = allocs();
    let rounds = 50;
    for _ in 0..rounds {
        round(&mut p, &mut wire, &mut out);
    }
    let n = allocs() - before;
    let records = rounds * (2 * sizes.len() + burst);
    assert_eq!(
        n, 0,
        "{v:?}: {n} allocations over {records} application records in steady state (want 0)"
    );
}

/// The zero-copy path (`seal_into`, `open_in_place`) allocates nothing from the first record:
/// it has no queue to grow.
#[test]
fn no_allocation_per_zero_copy_record() {
    zero_copy_allocations(Version::V12);
}

#[test]
fn no_allocation_per_dtls13_zero_copy_record() {
    zero_copy_allocations(Version::V13);
}

fn zero_copy_allocations(v: Version) {
    let s = setup_v(v, false);
    let mut p = s.connected();
    let big = vec![0x5au8; 1200];
    let mut wire = vec![0u8; 1500];
    let before = allocs();
    for i in 0..200usize {
        let n = 1 + i * 6 % 1200;
        let len = p.client.seal_into(&big[..n], &mut wire).unwrap();
        let got = p.server.open_in_place(0, &mut wire[..len]).unwrap();
        assert_eq!(got.map(<[u8]>::len), Some(n));
        let len = p.server.seal_into(&big[..n], &mut wire).unwrap();
        assert!(p
            .client
            .open_in_place(0, &mut wire[..len])
            .unwrap()
            .is_some());
    }
    let n = allocs() - before;
    assert_eq!(
        n, 0,
        "{v:?}: {n} allocations over 400 zero-copy records (want 0)"
    );
}

#[test]
fn heap_per_established_association_is_bounded() {
    established_heap(Version::V12, TARGET_ESTABLISHED, BOUND_STEADY);
}

/// The 4 KiB target for a DTLS 1.3 association: not met (server 5.3 KiB, client
/// 4.3 KiB; see docs/performance.md, "DTLS 1.3": among others the server keeps the handshake
/// epoch's 864-byte read cipher to acknowledge a resent Finished).
#[test]
#[ignore = "issue 12: 1.3 server association holds 5.3 KiB, client 4.3, target 4 (docs/performance.md)"]
fn heap_per_established_dtls13_association_meets_target() {
    established_heap(Version::V13, TARGET_ESTABLISHED, BOUND_STEADY);
}

/// What a 1.3 association holds today, asserted with a small margin so that any growth fails
/// while the target above is open.
#[test]
fn heap_per_established_dtls13_association_is_bounded() {
    established_heap(Version::V13, BOUND_ESTABLISHED_13, BOUND_STEADY_13);
}

fn established_heap(v: Version, target: i64, bound_steady: i64) {
    let s = setup_v(v, false);
    // Build and drop one first: anything initialised lazily (ring's CPU detection, ...) is
    // then not charged to the associations measured.
    drop(s.connected());

    let (server, client) = per_side((0..K).map(|_| s.connected()).collect());
    eprintln!(
        "{v:?} established: server {server} B, client {client} B per association \
         (size_of::<Connection>() = {} B; bound {target} B)",
        std::mem::size_of::<Connection>()
    );
    assert!(
        server <= target && client <= target,
        "{v:?} established association: server {server} B, client {client} B > {target} B"
    );

    let mut wire = vec![0u8; 1500];
    let mut out = vec![0u8; 1500];
    let data = [7u8; 1200];
    let pairs = (0..K)
        .map(|_| {
            let mut p = s.connected();
            one_record(&mut p.client, &mut p.server, &data, &mut wire, &mut out);
            one_record(&mut p.server, &mut p.client, &data, &mut wire, &mut out);
            p
        })
        .collect();
    let (server, client) = per_side(pairs);
    eprintln!("{v:?} after one 1200-byte record each way: server {server} B, client {client} B");
    assert!(
        server <= bound_steady && client <= bound_steady,
        "{v:?} steady-state association: server {server} B, client {client} B > {bound_steady} B"
    );
}

#[test]
fn heap_per_association_mid_handshake_is_bounded() {
    let s = setup(false);
    drop(s.mid_handshake());
    let (server, client) = per_side((0..K).map(|_| s.mid_handshake()).collect());
    eprintln!("mid-handshake: server {server} B, client {client} B per association");
    assert!(
        server <= TARGET_MID_HANDSHAKE && client <= TARGET_MID_HANDSHAKE,
        "mid-handshake association: server {server} B, client {client} B > {TARGET_MID_HANDSHAKE} B"
    );
}

#[test]
fn front_door_keeps_nothing_per_pending_peer() {
    let s = setup(true);
    let mut buf = [0u8; 1500];
    let mut client = Connection::new(s.client.clone(), Role::Client, None, 0).unwrap();
    let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    let hello = buf[..n].to_vec();
    let door = ServerFrontDoor::new(s.server.clone());
    let mut reply = [0u8; 512];
    // Warm-up outside the measurement.
    assert!(matches!(
        door.prefilter(0, PEER, &hello, &mut reply),
        Verdict::Reply(_)
    ));

    let before = live();
    let allocs_before = allocs();
    let mut addr = *b"198.51.100.7:00000";
    for port in 0..64u32 {
        addr[13..].copy_from_slice(&[
            b'0' + (port / 10_000 % 10) as u8,
            b'0' + (port / 1_000 % 10) as u8,
            b'0' + (port / 100 % 10) as u8,
            b'0' + (port / 10 % 10) as u8,
            b'0' + (port % 10) as u8,
        ]);
        assert!(matches!(
            door.prefilter(0, &addr, &hello, &mut reply),
            Verdict::Reply(_)
        ));
    }
    assert_eq!(
        live() - before,
        0,
        "the front door kept heap for peers that have not proved their address"
    );
    // Stronger, and what makes a flood of spoofed ClientHellos cheap: not even transient heap.
    assert_eq!(
        allocs() - allocs_before,
        0,
        "the front door allocated while answering ClientHellos"
    );
}
