//! Floods (issue 7, part 4): a million junk, spoofed and replayed datagrams at an established
//! association (each role), at both roles during a handshake, and at the stateless server
//! front door; and unauthenticated alerts at an established association.
//!
//! Forged input is the normal case on UDP (DESIGN.md, "Rules of the house"): whatever an
//! off-path attacker sends, records that are malformed, replayed or fail authentication are
//! dropped and counted (RFC 6347 §4.1.2.7), plaintext alerts are never acted on, the replay
//! window only moves for records that authenticate (RFC 6347 §4.1.2.6), and nothing builds up:
//! no events, no queued output beyond the rate-limited answers to apparent retransmissions, no
//! heap. What is asserted after each flood:
//!
//! - the association is still connected and passes application data both ways (the genuine
//!   peer's next sequence numbers are still inside the replay window);
//! - no event was raised and no application record was delivered by the flood;
//! - the drop counters account for the forged records, kind by kind;
//! - the heap the test thread holds did not grow (a per-thread counting allocator), and the
//!   process RSS (`/proc/self/statm`) grew by less than `RSS_BOUND`.
//!
//! The floods of this file run one at a time (`SERIAL`), so that the process-wide RSS reflects
//! one flood, not several. The mix is seeded: every run sends the same datagrams.

mod common;

use common::alloc::{live, peak, reset_peak, rss};
use common::pair::{self, build, pinned, put_record, record12, Pair, Version};
use dtls_proto::msgs::record13::UnifiedHeader;
use dtls_proto::server::{ServerFrontDoor, Verdict};
use dtls_proto::*;
use std::sync::{Arc, Mutex};

// ---------------------------------------------------------------------------------------------
// Memory accounting: live heap per thread (tests run on parallel threads; each flood runs on
// one), and the process RSS.

#[global_allocator]
static ALLOC: common::alloc::Counting = common::alloc::Counting;

/// Most the process RSS may grow during one flood of a million datagrams. The flood itself
/// allocates nothing per datagram (one reused buffer); what the engine holds is bounded by
/// `Limits` (reassembly 128 KiB, 16 deferred records, 256 queued records each way). A leak of
/// just 16 bytes per datagram would exceed this.
const RSS_BOUND: u64 = 8 * 1024 * 1024;

/// Most the test thread's live heap may grow during a flood, after warm-up: buffers that
/// reach their working size once (the engine's scratch, the RNG state) stay, nothing else.
const HEAP_BOUND: i64 = 64 * 1024;

/// The floods run one at a time so that each RSS measurement sees one flood.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    // A failed flood poisons the lock; the next one may still run.
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------------
// The pair.

/// Datagrams in each flood.
const FLOOD: u64 = 1_000_000;
/// The flood advances the virtual clock by 1 ms every this many datagrams: 10 s per million,
/// so rate-limited answers (the final flight resent to an apparent retransmission at most
/// every initial_rto / 2 = 500 ms) happen a bounded number of times.
const PER_MS: u64 = 100;

const CLIENT_ADDR: &[u8] = pair::CLIENT_ADDR;

/// WebRTC style: pinned fingerprints both ways (so the server requires a client certificate),
/// cookie exchange on (the default), seeded RNGs.
fn configs(v: Version) -> (Arc<Config>, Arc<Config>) {
    build(pinned(v))
}

/// A fresh pair on an instant (lossless, no latency) link.
fn new_pair(v: Version) -> Pair {
    let (c, s) = configs(v);
    Pair::instant(c, s)
}

/// A connected pair: each side reported exactly PeerCertificate then Connected (cleared).
fn connected(v: Version) -> Pair {
    let mut p = new_pair(v);
    p.handshake(10_000);
    for role in [Role::Client, Role::Server] {
        let events = std::mem::take(&mut p.log(role).events);
        assert!(
            matches!(
                events[..],
                [(_, Event::PeerCertificate), (_, Event::Connected(_))]
            ),
            "{role:?}: {events:?}"
        );
    }
    p
}

/// Delivers everything in flight (instantly) until quiet; no side may fail.
fn pump(p: &mut Pair) {
    p.settle();
    assert_eq!((p.c.error(), p.s.error()), (None, None));
}

// ---------------------------------------------------------------------------------------------
// The junk.

/// What a forged datagram is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Random bytes of random length (1..=256).
    Random,
    /// A well-formed record of the current epoch (application data, handshake or alert) with a
    /// random body and a sequence number far ahead: it passes the replay check and fails
    /// authentication. DTLS 1.2: epoch 1; DTLS 1.3: a unified header of epoch 3, whose
    /// (encrypted) sequence number decrypts to anything, so a few land in the replay window.
    BadMac,
    /// A genuine record the peer sent earlier, already delivered: replayed.
    Replay,
    /// A plaintext (epoch 0) fatal alert with a random description.
    Alert,
    /// A genuine ClientHello (without cookie), with a random client random.
    ClientHello,
    /// A genuine HelloVerifyRequest (1.3: HelloRetryRequest) with a random cookie.
    HelloVerify,
    /// An epoch we have no keys for (2..), or the version of another protocol.
    OtherEpoch,
}

const KINDS: [Kind; 7] = [
    Kind::Random,
    Kind::BadMac,
    Kind::Replay,
    Kind::Alert,
    Kind::ClientHello,
    Kind::HelloVerify,
    Kind::OtherEpoch,
];

/// A seeded generator of forged datagrams, written into one reused buffer.
struct Junk {
    version: Version,
    /// 1.3: forged HelloRetryRequests and ClientHellos get an impossible legacy_session_id
    /// length, so that they do not decode (see `million_datagram_flood_during_the_handshake`).
    break_hellos: bool,
    rng: u64,
    client_hello: Vec<u8>,
    hello_verify: Vec<u8>,
    replays: Vec<Vec<u8>>,
    counts: [u64; KINDS.len()],
}

/// Offset of the client random in a ClientHello datagram: record header (13), handshake
/// header (12), client_version (2).
const CH_RANDOM: usize = 13 + 12 + 2;
/// Offset of the cookie bytes in a HelloVerifyRequest datagram: record header, handshake
/// header, server_version (2), cookie length (1).
const HVR_COOKIE: usize = 13 + 12 + 2 + 1;

impl Junk {
    fn new(
        version: Version,
        seed: u64,
        client_hello: Vec<u8>,
        hello_verify: Vec<u8>,
        replays: Vec<Vec<u8>>,
    ) -> Junk {
        assert_eq!(client_hello[13], 1, "a ClientHello");
        // 1.3: a HelloRetryRequest is a ServerHello (RFC 8446 §4.1.4).
        let answer = if version == Version::V12 { 3 } else { 2 };
        assert_eq!(
            hello_verify[13], answer,
            "a HelloVerifyRequest / HelloRetryRequest"
        );
        Junk {
            version,
            break_hellos: false,
            rng: seed,
            client_hello,
            hello_verify,
            replays,
            counts: [0; KINDS.len()],
        }
    }

    /// splitmix64.
    fn next(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Appends `n` random bytes.
    fn fill(&mut self, out: &mut Vec<u8>, n: usize) {
        let end = out.len() + n;
        while out.len() < end {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(end);
    }

    /// Writes the next forged datagram into `out` and says what it is. Shares: 30 % random,
    /// 20 % bad MAC, 15 % replays, 10 % plaintext alerts, 10 % ClientHellos, 10 %
    /// HelloVerifyRequests, 5 % other epochs.
    fn datagram(&mut self, out: &mut Vec<u8>) -> Kind {
        out.clear();
        let r = self.next() % 100;
        let kind = match r {
            0..=29 => Kind::Random,
            30..=49 => Kind::BadMac,
            50..=64 if !self.replays.is_empty() => Kind::Replay,
            50..=64 => Kind::Random,
            65..=74 => Kind::Alert,
            75..=84 => Kind::ClientHello,
            85..=94 => Kind::HelloVerify,
            _ => Kind::OtherEpoch,
        };
        let x = self.next();
        match kind {
            Kind::Random => {
                let n = 1 + (x % 256) as usize;
                self.fill(out, n);
            }
            Kind::BadMac => {
                let ct = [23u8, 22, 21][(x % 3) as usize];
                // Far right of any window: the replay check passes and the AEAD open fails.
                let seq = (1u64 << 40) | (x >> 24);
                let len = 24 + (x % 100) as usize;
                let mut body = [0u8; 124];
                for chunk in body[..len].chunks_mut(8) {
                    let b = self.next().to_le_bytes();
                    chunk.copy_from_slice(&b[..chunk.len()]);
                }
                if self.version == Version::V12 {
                    put_record(out, ct, 0xfefd, 1, seq, &body[..len]);
                } else {
                    // The content type is inside the encryption in 1.3: only the header shows.
                    let h = UnifiedHeader::new(3, seq, len as u16);
                    let mut hb = [0u8; 8];
                    let n = h.write_to(&mut hb).expect("header");
                    out.extend_from_slice(&hb[..n]);
                    out.extend_from_slice(&body[..len]);
                }
            }
            Kind::Replay => {
                let i = (x % self.replays.len() as u64) as usize;
                out.extend_from_slice(&self.replays[i]);
            }
            Kind::Alert => {
                // Fatal, with any description (handshake_failure, bad_record_mac, ...).
                put_record(out, 21, 0xfefd, 0, x >> 16, &[2, (x >> 8) as u8]);
            }
            Kind::ClientHello => {
                out.extend_from_slice(&self.client_hello);
                let rnd = self.next().to_le_bytes();
                out[CH_RANDOM..CH_RANDOM + 8].copy_from_slice(&rnd);
                if self.break_hellos {
                    out[CH_RANDOM + 32] = 0xff;
                }
            }
            Kind::HelloVerify => {
                out.extend_from_slice(&self.hello_verify);
                let c = self.next().to_le_bytes();
                // 1.3: the cookie extension comes last in our HelloRetryRequest.
                let at = if self.version == Version::V12 {
                    HVR_COOKIE
                } else {
                    out.len() - 8
                };
                let end = (at + 8).min(out.len());
                out[at..end].copy_from_slice(&c[..end - at]);
                if self.break_hellos {
                    // legacy_session_id_echo length: record and handshake headers, version,
                    // random.
                    out[13 + 12 + 2 + 32] = 0xff;
                }
            }
            Kind::OtherEpoch => {
                let (version, epoch) = if x & 1 == 0 {
                    (0xfefd, 2 + (x >> 1) as u16 % 0xfffd)
                } else {
                    // TLS 1.2's version: not DTLS.
                    (0x0303, 1)
                };
                put_record(out, 23, version, epoch, x >> 20, &[0u8; 40]);
            }
        }
        self.counts[KINDS.iter().position(|k| *k == kind).unwrap()] += 1;
        kind
    }

    fn count(&self, kind: Kind) -> u64 {
        self.counts[KINDS.iter().position(|k| *k == kind).unwrap()]
    }
}

/// A genuine ClientHello (the first, without cookie) and the front door's HelloVerifyRequest
/// to it.
fn genuine_hello_and_verify(v: Version) -> (Vec<u8>, Vec<u8>) {
    let (c, s) = configs(v);
    let mut client = Connection::new(c, Role::Client, None, 0).unwrap();
    let mut buf = vec![0u8; 2048];
    let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    let ch = buf[..n].to_vec();
    if v == Version::V13 {
        // The front door does not speak 1.3 yet (it answers with a HelloVerifyRequest, which a
        // 1.3-only client ignores): the server's own stateless HelloRetryRequest.
        let mut server = Connection::new(s, Role::Server, None, 0).unwrap();
        server.set_peer_address(CLIENT_ADDR);
        server.handle_datagram(0, &ch).unwrap();
        let m = server.poll_transmit(0, &mut buf).unwrap().unwrap();
        return (ch, buf[..m].to_vec());
    }
    let door = ServerFrontDoor::new(s);
    let Verdict::Reply(m) = door.prefilter(0, CLIENT_ADDR, &ch, &mut buf) else {
        panic!("the front door must answer a first ClientHello");
    };
    (ch, buf[..m].to_vec())
}

fn drops_delta(after: &Stats, before: &Stats) -> Vec<(&'static str, u64)> {
    let (a, b) = (&after.dropped, &before.dropped);
    vec![
        ("malformed", a.malformed - b.malformed),
        ("auth_failed", a.auth_failed - b.auth_failed),
        ("replayed", a.replayed - b.replayed),
        ("bad_epoch", a.bad_epoch - b.bad_epoch),
        ("unexpected", a.unexpected - b.unexpected),
        ("reassembly", a.reassembly - b.reassembly),
        ("overflow", a.overflow - b.overflow),
        ("cookie", a.cookie - b.cookie),
    ]
}

fn get(d: &[(&'static str, u64)], name: &str) -> u64 {
    d.iter().find(|(n, _)| *n == name).map_or(0, |(_, v)| *v)
}

// ---------------------------------------------------------------------------------------------
// Floods at an established association.

/// A million forged datagrams at one side of an established association; its genuine peer
/// hears whatever it answers. Returns nothing: everything is asserted here.
fn flood_established(v: Version, target: Role) {
    let _guard = serial();
    let mut p = connected(v);
    let peer = match target {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    };
    // Genuine records from the peer, delivered, to be replayed. More than a window (64) of
    // them, so that replays land both inside and left of the window.
    let mut replays = Vec::new();
    for i in 0..200 {
        let d = p.seal(peer, format!("genuine {i}").as_bytes());
        p.feed_raw(target, &d).unwrap();
        replays.push(d);
    }
    assert_eq!(p.recv_all(target).len(), 200);
    let (ch, hvr) = genuine_hello_and_verify(v);
    let mut junk = Junk::new(v, 0x5eed_0000 + target as u64, ch, hvr, replays);

    let before = p.conn(target).stats();
    let mut d = Vec::with_capacity(2048);
    let mut out = vec![0u8; 2048];
    let mut emitted = 0u64;
    let mut to_peer = Vec::new();
    // Warm-up: buffers reach their working size.
    for _ in 0..1000 {
        junk.datagram(&mut d);
        p.feed_raw(target, &d).unwrap();
    }
    let before_warm = p.conn(target).stats();
    let warm = before_warm.datagrams_in - before.datagrams_in;
    let (heap0, rss0) = (live(), rss());
    reset_peak();
    for i in warm..FLOOD {
        if i % PER_MS == 0 {
            p.now += 1;
        }
        let kind = junk.datagram(&mut d);
        // A flood never makes the engine fail: every forged record is dropped.
        if let Err(e) = p.feed_raw(target, &d) {
            panic!("{target:?}: datagram {i} ({kind:?}) was fatal: {e:?}");
        }
        // Answers leave at once, as from a real socket; they are kept (a few) for the peer.
        let now = p.now;
        while let Some(n) = p.conn(target).poll_transmit(now, &mut out).unwrap() {
            emitted += 1;
            if to_peer.len() < 64 {
                to_peer.push(out[..n].to_vec());
            }
        }
        assert!(
            p.conn(target).poll_event().is_none(),
            "{target:?}: an event from forged datagram {i}"
        );
    }
    let heap_growth = live() - heap0;
    let heap_peak = peak() - heap0;
    let rss_growth = rss().zip(rss0).map(|(a, b)| a.saturating_sub(b));
    let after = p.conn(target).stats();

    // Nothing delivered, nothing closed.
    assert!(p.conn(target).is_connected(), "{target:?}");
    assert!(
        p.recv_all(target).is_empty(),
        "{target:?}: forged data delivered"
    );
    assert_eq!(after.datagrams_in - before.datagrams_in, FLOOD);

    // The counters account for the forged records.
    let drops = drops_delta(&after, &before);
    println!(
        "{target:?}: kinds {:?}",
        KINDS.iter().zip(junk.counts).collect::<Vec<_>>()
    );
    println!("{target:?}: drops {drops:?}, answers {emitted}");
    println!(
        "{target:?}: heap growth {heap_growth} B (peak {heap_peak} B), RSS growth {rss_growth:?}"
    );
    if v == Version::V12 {
        assert_eq!(
            get(&drops, "auth_failed"),
            junk.count(Kind::BadMac),
            "{target:?}: every bad-MAC record fails authentication, and nothing else does"
        );
        assert_eq!(
            get(&drops, "replayed"),
            junk.count(Kind::Replay),
            "{target:?}: every replay is caught by the window"
        );
    } else {
        // 1.3: a forged record's sequence number decrypts to a random value (RFC 9147
        // §4.2.3), which may land on one already received (then `replayed` before any AEAD
        // work), and a random datagram whose first byte reads as a unified header of epoch 3
        // reaches the AEAD too. Replays themselves decrypt to their genuine number.
        let (auth, replayed) = (get(&drops, "auth_failed"), get(&drops, "replayed"));
        assert!(
            replayed >= junk.count(Kind::Replay),
            "{target:?}: every replay is caught by the window: {drops:?}"
        );
        assert!(
            auth + replayed >= junk.count(Kind::BadMac) + junk.count(Kind::Replay),
            "{target:?}: every forged record dropped: {drops:?}"
        );
        assert!(
            auth <= junk.count(Kind::BadMac) + junk.count(Kind::Random),
            "{target:?}: nothing genuine fails authentication: {drops:?}"
        );
    }
    assert!(
        get(&drops, "unexpected") >= junk.count(Kind::Alert),
        "{drops:?}"
    );
    assert!(
        get(&drops, "bad_epoch") >= junk.count(Kind::OtherEpoch),
        "{drops:?}"
    );
    assert_eq!(get(&drops, "overflow"), 0, "{drops:?}");

    // The only answers are the server's final flight, resent to apparent retransmissions
    // (forged ClientHellos and HelloVerifyRequests with an old message_seq, RFC 6347 §4.2.4),
    // at most once per initial_rto / 2 (500 ms): about 2 per virtual second of flood, and
    // the client has nothing to resend once connected.
    let seconds = FLOOD / PER_MS / 1000;
    match target {
        Role::Server => assert!(emitted <= 2 * (2 * seconds + 2), "{emitted}"),
        Role::Client => assert_eq!(emitted, 0),
    }

    // No state built up.
    assert!(
        heap_growth <= HEAP_BOUND,
        "{target:?}: heap grew by {heap_growth} B"
    );
    if let Some(g) = rss_growth {
        assert!(g <= RSS_BOUND, "{target:?}: RSS grew by {g} B");
    }

    // The peer takes the answers in its stride: a resent final flight is a duplicate.
    for a in to_peer {
        p.feed_raw(peer, &a).unwrap();
    }
    assert!(p.conn(peer).poll_event().is_none());
    // And the association still works both ways: the genuine peer's next records are right
    // of the window, which the forged sequence numbers (2^40 and more) did not move.
    pump(&mut p);
    p.exchange(50, "after the flood");
    // (The harness moved events into the logs, cleared when the pair connected.)
    pump(&mut p);
    assert!(p.c.events.is_empty() && p.s.events.is_empty());
}

fn million_datagram_flood_at_an_established_server(v: Version) {
    flood_established(v, Role::Server);
}

fn million_datagram_flood_at_an_established_client(v: Version) {
    flood_established(v, Role::Client);
}

version_tests!(
    million_datagram_flood_at_an_established_server,
    million_datagram_flood_at_an_established_client,
    million_datagram_flood_during_the_handshake,
    unauthenticated_alerts_never_close_an_established_association,
    every_forged_datagram_is_counted_as_a_drop,
    forged_garbage_server_hello_does_not_end_the_handshake,
);

// ---------------------------------------------------------------------------------------------
// A flood during the handshake.

/// A handshake in which forged datagrams reach each side before every genuine datagram: a
/// million in all. Each side's answers go to its genuine peer (a connection is bound to one
/// address, so that is where an answer to a spoofed datagram goes). The handshake completes,
/// raises exactly the expected events, and passes data both ways.
///
/// The forged handshake messages carry `message_seq` 0, as a spoofed fresh ClientHello or a
/// HelloVerifyRequest answering one does. (Forgeries that guess the next expected
/// `message_seq` are a different matter: see `forged_*` below.)
fn million_datagram_flood_during_the_handshake(v: Version) {
    let _guard = serial();
    let mut p = new_pair(v);
    let (ch, hvr) = genuine_hello_and_verify(v);
    let mut junk = Junk::new(v, 0xdead_beef, ch, hvr, Vec::new());
    // DTLS 1.3: a well-formed forged HelloRetryRequest that reaches the client before the
    // genuine one is, to the client, the genuine one (plaintext, and message_seq 0 is what it
    // awaits): its ClientHello2 then carries the forger's cookie, which the server must refuse
    // with illegal_parameter (RFC 9147 §5.1). Likewise a well-formed forged ClientHello that
    // reaches the server before the genuine one: the server's HelloRetryRequest then commits to
    // the forged ClientHello1, the genuine one is taken for its retransmission, and the two ends
    // derive different handshake keys. Those races are the protocol's (or the stateful
    // server's), not a flood's: see `forged_hello_retry_request_before_the_genuine_one` and
    // `forged_client_hello_before_the_genuine_one` below. Here the forged hellos do not decode,
    // and must be dropped like any other junk.
    junk.break_hellos = v == Version::V13;
    let mut d = Vec::with_capacity(2048);
    // Genuine datagrams of a lossless handshake: about 6 flights' worth, some carried twice
    // when a forged message prompts a retransmission; the flood is spread over the first ten.
    const PER_GENUINE: u64 = FLOOD / 10;
    let mut sent = 0u64;
    let mut genuine = 0u64;
    let (heap0, rss0) = (live(), rss());
    for _round in 0..100 {
        let c = p.take(Role::Client);
        let s = p.take(Role::Server);
        if c.is_empty() && s.is_empty() {
            break;
        }
        for (to, datagrams) in [(Role::Server, c), (Role::Client, s)] {
            for g in datagrams {
                let n = PER_GENUINE.min(FLOOD - sent);
                for _ in 0..n {
                    if sent % PER_MS == 0 {
                        p.now += 1;
                    }
                    sent += 1;
                    junk.datagram(&mut d);
                    let now = p.now;
                    p.conn(to)
                        .handle_datagram(now, &d)
                        .unwrap_or_else(|e| panic!("{to:?}: forged datagram was fatal: {e:?}"));
                }
                genuine += 1;
                let now = p.now;
                p.conn(to).handle_datagram(now, &g).unwrap();
                // Timers stay quiet: the clock moves 1 ms per 100 datagrams, 1 s per 100 000.
                for role in [Role::Client, Role::Server] {
                    if p.conn(role).next_timeout().is_some_and(|t| t <= now) {
                        p.conn(role).handle_timeout(now).unwrap();
                    }
                }
            }
        }
    }
    // Whatever remains of the budget goes at the connected pair.
    while sent < FLOOD {
        if sent % PER_MS == 0 {
            p.now += 1;
        }
        sent += 1;
        junk.datagram(&mut d);
        let to = if sent % 2 == 0 {
            Role::Client
        } else {
            Role::Server
        };
        let now = p.now;
        p.conn(to).handle_datagram(now, &d).unwrap();
    }
    pump(&mut p);
    let heap_growth = live() - heap0;
    let rss_growth = rss().zip(rss0).map(|(a, b)| a.saturating_sub(b));
    println!(
        "genuine datagrams {genuine}, kinds {:?}, heap growth {heap_growth} B, RSS growth \
         {rss_growth:?}",
        KINDS.iter().zip(junk.counts).collect::<Vec<_>>()
    );
    println!(
        "client drops {:?}\nserver drops {:?}",
        p.client.stats().dropped,
        p.server.stats().dropped
    );
    assert!(p.client.is_connected() && p.server.is_connected());
    for role in [Role::Client, Role::Server] {
        // `pump` moved the events into the logs.
        p.collect(role);
        let events = p.log(role).event_list();
        assert!(
            matches!(events[..], [Event::PeerCertificate, Event::Connected(_)]),
            "{role:?}: {events:?}"
        );
        assert!(
            p.recv_all(role).is_empty(),
            "{role:?}: forged data delivered"
        );
    }
    let (c, s) = (p.client.stats(), p.server.stats());
    assert_eq!(
        c.datagrams_in + s.datagrams_in,
        FLOOD + genuine,
        "{c:?} {s:?}"
    );
    assert!(
        c.dropped.total() + s.dropped.total() >= junk.count(Kind::BadMac),
        "{c:?} {s:?}"
    );
    // The association holds what an established one holds, not a flood's worth.
    assert!(heap_growth <= 256 * 1024, "heap grew by {heap_growth} B");
    if let Some(g) = rss_growth {
        assert!(g <= RSS_BOUND, "RSS grew by {g} B");
    }
    p.exchange(50, "after the handshake flood");
}

// ---------------------------------------------------------------------------------------------
// The front door.

/// A million datagrams at the stateless front door from many spoofed addresses: junk, records
/// of every kind, fresh ClientHellos (answered with a HelloVerifyRequest no larger than the
/// ClientHello: no amplification), ClientHellos with a valid cookie from the right address
/// (accepted), with that cookie from another address or after the cookie expired (answered
/// again, never accepted). Every verdict is exactly the expected one; the door holds no state:
/// the heap it leaves behind after a million calls is what it started with.
/// DTLS 1.2 only until the front door answers a 1.3 ClientHello with a HelloRetryRequest
/// (today it sends a HelloVerifyRequest, which a 1.3-only client ignores).
#[test]
fn million_datagram_flood_at_the_front_door() {
    let v = Version::V12;
    let _guard = serial();
    let (c, s) = configs(v);
    let door = ServerFrontDoor::new(s);
    let mut buf = vec![0u8; 2048];
    // A genuine retry with cookie from CLIENT_ADDR, valid at time 0 (and for the cookie
    // lifetime after; the default lifetime is 60 s and the previous window is accepted).
    let mut client = Connection::new(c, Role::Client, None, 0).unwrap();
    let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    let ch1 = buf[..n].to_vec();
    let Verdict::Reply(m) = door.prefilter(0, CLIENT_ADDR, &ch1, &mut buf) else {
        panic!("no HelloVerifyRequest");
    };
    let hvr = buf[..m].to_vec();
    client.handle_datagram(0, &hvr).unwrap();
    let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    let ch2 = buf[..n].to_vec();
    assert_eq!(
        door.prefilter(0, CLIENT_ADDR, &ch2, &mut buf),
        Verdict::Accept
    );

    let mut junk = Junk::new(
        v,
        0xf00d,
        ch1.clone(),
        hvr,
        vec![record12(23, 1, 5, &[0; 40])],
    );
    let mut d = Vec::with_capacity(2048);
    let mut addr = *b"198.51.100.000:00000";
    #[derive(Default, Debug)]
    struct Verdicts {
        accept: u64,
        reply: u64,
        drop: u64,
    }
    let mut v = Verdicts::default();
    let mut expected = Verdicts::default();
    let mut max_reply_ratio = 0.0f64;
    let warm = |door: &ServerFrontDoor, buf: &mut Vec<u8>| {
        let _ = door.prefilter(0, CLIENT_ADDR, &ch1, buf);
        let _ = door.prefilter(0, CLIENT_ADDR, &ch2, buf);
    };
    warm(&door, &mut buf);
    let (heap0, rss0) = (live(), rss());
    reset_peak();
    for i in 0..FLOOD {
        // The clock runs 1 ms per 100 datagrams (10 s in all), inside one cookie lifetime
        // window and the next, so the genuine retry stays valid.
        let now = i / PER_MS;
        let r = i % 10;
        let (from, want): (&[u8], _) = match r {
            // A valid retry from its own address: accepted.
            0 => {
                d.clear();
                d.extend_from_slice(&ch2);
                (CLIENT_ADDR, Verdict::Accept)
            }
            // The same retry from another (spoofed) address: the cookie does not match.
            1 => {
                d.clear();
                d.extend_from_slice(&ch2);
                addr[11..14].copy_from_slice(format!("{:03}", i % 1000).as_bytes());
                (&addr[..], Verdict::Reply(0))
            }
            // Everything else from a spread of spoofed addresses.
            _ => {
                let kind = junk.datagram(&mut d);
                addr[15..].copy_from_slice(format!("{:05}", i % 100_000).as_bytes());
                let want = match kind {
                    Kind::ClientHello => Verdict::Reply(0),
                    _ => Verdict::Drop,
                };
                (&addr[..], want)
            }
        };
        let got = door.prefilter(now, from, &d, &mut buf);
        match (got, want) {
            (Verdict::Accept, Verdict::Accept) => v.accept += 1,
            (Verdict::Reply(n), Verdict::Reply(_)) => {
                v.reply += 1;
                max_reply_ratio = max_reply_ratio.max(n as f64 / d.len() as f64);
            }
            (Verdict::Drop, Verdict::Drop) => v.drop += 1,
            (got, want) => panic!("datagram {i}: {got:?}, expected {want:?}: {d:02x?}"),
        }
        match want {
            Verdict::Accept => expected.accept += 1,
            Verdict::Reply(_) => expected.reply += 1,
            Verdict::Drop => expected.drop += 1,
        }
    }
    let heap_growth = live() - heap0;
    let heap_peak = peak() - heap0;
    let rss_growth = rss().zip(rss0).map(|(a, b)| a.saturating_sub(b));
    println!(
        "verdicts {v:?}, reply/request at most {max_reply_ratio:.2}, heap growth {heap_growth} \
         B (peak {heap_peak} B), RSS growth {rss_growth:?}"
    );
    assert_eq!(
        (v.accept, v.reply, v.drop),
        (expected.accept, expected.reply, expected.drop)
    );
    assert_eq!(v.accept, FLOOD / 10);
    assert!(v.reply > FLOOD / 10 && v.drop > FLOOD / 2, "{v:?}");
    // No amplification: a HelloVerifyRequest is smaller than the ClientHello it answers
    // (RFC 6347 §4.2.1).
    assert!(max_reply_ratio < 1.0, "{max_reply_ratio}");
    // Stateless: nothing is kept per peer or per datagram. (Temporary buffers come and go
    // within a call.)
    assert_eq!(heap_growth, 0, "the front door kept {heap_growth} B");
    assert!(heap_peak <= 16 * 1024, "peak {heap_peak} B within one call");
    if let Some(g) = rss_growth {
        assert!(g <= RSS_BOUND, "RSS grew by {g} B");
    }
}

// ---------------------------------------------------------------------------------------------
// Unauthenticated alerts.

/// Spoofed alerts never close an established association, in either role: plaintext (epoch
/// 0) fatal alerts of every description, epoch-1 alert records with garbage bodies (long and
/// short), and a genuine close_notify taken from another association (authenticated there,
/// not here). Each is dropped and counted; no event; data still flows both ways.
fn unauthenticated_alerts_never_close_an_established_association(v: Version) {
    // A genuine protected close_notify of another association.
    let mut other = connected(v);
    other.client.close().unwrap();
    let foreign_close = other.take(Role::Client);
    assert_eq!(foreign_close.len(), 1);
    if v == Version::V12 {
        assert_eq!(foreign_close[0][0], 21, "an alert record");
    } else {
        assert_eq!(foreign_close[0][0] & 0xe0, 0x20, "a unified header");
    }

    let mut p = connected(v);
    for target in [Role::Client, Role::Server] {
        let before = p.conn(target).stats();
        let mut forged = Vec::new();
        // Plaintext fatal alerts: every description, and close_notify itself.
        for desc in 0..=255u8 {
            forged.push(record12(21, 0, 1000 + u64::from(desc), &[2, desc]));
        }
        forged.push(record12(21, 0, 7, &[1, 0]));
        let plaintext = forged.len() as u64;
        // Epoch-1 alerts with garbage: a full-size body, and bodies shorter than a tag.
        for (i, len) in [26usize, 40, 2, 0, 8].into_iter().enumerate() {
            let body: Vec<u8> = (0..len).map(|b| (b * 7 + i) as u8).collect();
            forged.push(record12(21, 1, 500 + i as u64, &body));
        }
        forged.push(foreign_close[0].clone());
        for f in &forged {
            p.feed_raw(target, f).unwrap();
        }
        let after = p.conn(target).stats();
        let drops = drops_delta(&after, &before);
        assert!(p.conn(target).is_connected(), "{target:?}");
        assert!(!p.conn(target).is_closed(), "{target:?}");
        assert!(p.conn(target).poll_event().is_none(), "{target:?}");
        assert_eq!(
            after.dropped.total() - before.dropped.total(),
            forged.len() as u64,
            "{target:?}: every forged alert dropped and counted: {drops:?}"
        );
        assert_eq!(get(&drops, "unexpected"), plaintext, "{drops:?}");
        // Nothing to answer either: no alert goes back.
        assert!(p.take(target).is_empty(), "{target:?}");
    }
    p.exchange(10, "after forged alerts");
}

// ---------------------------------------------------------------------------------------------
// Forgeries that guess the next handshake message_seq.

/// An off-path attacker who knows the client's address sends a HelloVerifyRequest with the
/// `message_seq` the client expects next (they are small numbers, 0 and 1 in a cookie
/// exchange). Five of them, each answered by the client with a fresh ClientHello, exhaust
/// the client's HelloVerifyRequest budget (`MAX_HVR`) and end its handshake.
#[test]
fn forged_hello_verify_requests_do_not_end_the_handshake() {
    let mut p = new_pair(Version::V12);
    let (_, hvr) = genuine_hello_and_verify(Version::V12);
    // The client sent ClientHello (message_seq 0); every forged HelloVerifyRequest it accepts
    // makes it send another ClientHello with the next message_seq, which the next forgery
    // echoes, as a server would.
    let _ = p.take(Role::Client);
    for seq in 0..8u16 {
        let mut f = hvr.clone();
        // message_seq: handshake header bytes 4..6, after the 13-byte record header.
        f[13 + 4..13 + 6].copy_from_slice(&seq.to_be_bytes());
        f[HVR_COOKIE] ^= 0xff;
        let r = p.client.handle_datagram(p.now, &f);
        assert!(r.is_ok(), "forged HelloVerifyRequest {seq}: {r:?}");
        let _ = p.take(Role::Client);
    }
    // The genuine server now hears the client's retransmitted ClientHello: the handshake
    // still completes, within the deadline.
    let r = p.drive(60_000);
    assert_eq!(r, (None, None));
    assert!(p.client.is_connected() && p.server.is_connected());
}

/// A forged plaintext handshake message with the expected next `message_seq` and a body that
/// does not parse (here: the client's ServerHello slot, message_seq 1, filled with garbage)
/// reaches the state machine before the genuine one and ends the handshake with a decode
/// error. By the house rules an unauthenticated epoch-0 record must not be able to end the
/// handshake.
fn forged_garbage_server_hello_does_not_end_the_handshake(v: Version) {
    let mut p = new_pair(v);
    // ClientHello -> HelloVerifyRequest -> ClientHello with cookie.
    let c = p.take(Role::Client);
    for d in c {
        p.server.handle_datagram(0, &d).unwrap();
    }
    for d in p.take(Role::Server) {
        p.client.handle_datagram(0, &d).unwrap();
    }
    let ch2 = p.take(Role::Client);
    // Before the server's flight arrives: a ServerHello at message_seq 1 with a garbage body.
    let mut hs = vec![2u8, 0, 0, 40, 0, 1, 0, 0, 0, 0, 0, 40];
    hs.extend_from_slice(&[0xee; 40]);
    let forged = record12(22, 0, 1, &hs);
    let r = p.client.handle_datagram(0, &forged);
    assert!(r.is_ok(), "forged ServerHello: {r:?}");
    for d in ch2 {
        p.server.handle_datagram(0, &d).unwrap();
    }
    // The genuine flight now arrives; the handshake must still complete (at worst after a
    // retransmission), within the deadline.
    let r = p.drive(60_000);
    assert_eq!(r, (None, None));
    assert!(p.client.is_connected() && p.server.is_connected());
}

// ---------------------------------------------------------------------------------------------
// Counting.

/// Every forged datagram of a flood is dropped, so each should show in one `dropped` counter
/// (each of these datagrams holds at most one record). Two kinds are not counted anywhere,
/// only in `datagrams_in`: a datagram whose first record runs past its end (a truncated
/// record, which `DropCounts::malformed` says it counts), and an epoch-0 handshake fragment
/// after the handshake (a forged ClientHello or HelloVerifyRequest), which only prompts the
/// rate-limited resend of the final flight.
fn every_forged_datagram_is_counted_as_a_drop(v: Version) {
    let _guard = serial();
    let mut p = connected(v);
    let (ch, hvr) = genuine_hello_and_verify(v);
    let mut junk = Junk::new(v, 7, ch, hvr, Vec::new());
    let mut d = Vec::new();
    let before = p.server.stats();
    const N: u64 = 10_000;
    for _ in 0..N {
        junk.datagram(&mut d);
        p.feed_raw(Role::Server, &d).unwrap();
    }
    let after = p.server.stats();
    let drops = drops_delta(&after, &before);
    assert_eq!(after.datagrams_in - before.datagrams_in, N);
    // At least one drop per datagram; a random one may count twice (a record with a bad
    // version, then a truncated tail).
    assert!(
        after.dropped.total() - before.dropped.total() >= N,
        "kinds {:?}, drops {drops:?}",
        KINDS.iter().zip(junk.counts).collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------------------------
// The DTLS 1.3 HelloRetryRequest race.

/// DTLS 1.3: one well-formed forged HelloRetryRequest (message_seq 0, a cookie of the forger's)
/// that reaches the client before the server's genuine one. Nothing distinguishes it: it is
/// plaintext (RFC 9147 §5.1) and in its place. The client answers it with a ClientHello2 that
/// carries the forged cookie and then ignores the genuine HRR as a duplicate message_seq 0; the
/// server refuses the forged cookie with illegal_parameter (RFC 9147 §5.1 "MUST"), which the
/// client, by design, does not act on (it is plaintext), so the handshake cannot complete.
///
/// The house rules say a forged epoch-0 record must not end a handshake; this one does, so the
/// property is asserted and the test is ignored until the lead decides the remedy (e.g. the
/// client restarting from ClientHello1 when its ClientHello2 draws no answer, as RFC 9147 §5.1
/// "allows the client to restart the connection from scratch without a cookie").
#[test]
#[ignore = "known: a forged HelloRetryRequest that wins the race ends a DTLS 1.3 handshake"]
fn forged_hello_retry_request_before_the_genuine_one() {
    let v = Version::V13;
    let mut p = new_pair(v);
    let (_, mut hrr) = genuine_hello_and_verify(v);
    let n = hrr.len();
    hrr[n - 8..].copy_from_slice(b"forgery!");
    let ch1 = p.take(Role::Client);
    let r = p.client.handle_datagram(p.now, &hrr);
    assert!(r.is_ok(), "forged HelloRetryRequest: {r:?}");
    for d in ch1 {
        p.server.handle_datagram(p.now, &d).unwrap();
    }
    let r = p.drive(60_000);
    assert_eq!(r, (None, None));
    assert!(p.client.is_connected() && p.server.is_connected());
}

/// DTLS 1.3: one well-formed forged ClientHello (message_seq 0, the client's address, another
/// random) that reaches a server `Connection` before the genuine one. The server answers it
/// with a HelloRetryRequest whose cookie commits to the forged ClientHello1 (RFC 8446 §4.4.1
/// message_hash), takes the genuine ClientHello1 for a retransmission of message_seq 0 and
/// resends that HelloRetryRequest; the client answers it, and from then on the two ends hash
/// different transcripts: the client cannot open the server's epoch-2 flight (it counts
/// auth_failed) and, its ClientHello2 implicitly acknowledged by the ServerHello, stops
/// retransmitting until the handshake deadline. (A stateless front door that answers every
/// ClientHello1 with its own HelloRetryRequest narrows this to the client taking whichever
/// HelloRetryRequest arrives first.) Ignored until the lead decides the remedy.
#[test]
#[ignore = "known: a forged ClientHello1 that wins the race ends a DTLS 1.3 handshake"]
fn forged_client_hello_before_the_genuine_one() {
    let v = Version::V13;
    let mut p = new_pair(v);
    let ch1 = p.take(Role::Client);
    let mut forged = ch1[0].clone();
    forged[CH_RANDOM..CH_RANDOM + 8].copy_from_slice(b"forgery!");
    p.server.handle_datagram(p.now, &forged).unwrap();
    let hrr = p.take(Role::Server);
    for d in ch1 {
        p.server.handle_datagram(p.now, &d).unwrap();
    }
    for d in hrr {
        p.client.handle_datagram(p.now, &d).unwrap();
    }
    let r = p.drive(60_000);
    assert_eq!(r, (None, None));
    assert!(p.client.is_connected() && p.server.is_connected());
}
