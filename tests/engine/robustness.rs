//! Robustness: a recorded handshake between two of our endpoints, replayed with every
//! truncation, byte flip (and a sample of bit flips), duplicated datagram and swapped pair of
//! datagrams, to both roles; plus a flood of random datagrams at fresh endpoints.
//!
//! The handshake is not bit-for-bit reproducible (ECDHE keys and ECDSA signatures come from
//! the system RNG even with `rng_seed`), so a mutation is applied in flight: each run drives a
//! fresh pair through the same lossless link, and the mutation hits the n-th datagram a side
//! sends. The recorded transcript only fixes which datagrams and lengths there are. Since the
//! link is lossless and the virtual clock deterministic, the n-th datagram is always the same
//! piece of the same flight.
//!
//! What is checked for every run:
//! - nothing panics, and no error is `Internal` or any other kind a peer must not be able to
//!   cause (see `allowed`);
//! - truncations, duplicates and swaps never fail the handshake: a truncated record is dropped
//!   (RFC 6347 §4.1.2.7), a duplicate or reordered datagram is ordinary network behaviour, and
//!   retransmission (RFC 6347 §4.2.4) repairs what was dropped;
//! - a flipped byte inside a protected (epoch > 0) record is dropped as an authentication
//!   failure and never fatal: the handshake completes;
//! - the heap the endpoints hold during a run stays bounded (a per-thread counting allocator).

use crate::common::alloc::{live, peak, reset_peak};
use crate::common::link::{Link, LinkConfig, Side};
use crate::common::pair::*;
use crate::version_tests;
use dtls_proto::msgs::record13::{Header13, RecordCursor};
use dtls_proto::*;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Heap accounting. Tests run on parallel threads, so live bytes are counted per thread: each run
// creates, drives and drops its endpoints on one thread.

// (The counting allocator is installed in main.rs, for the whole binary.)

/// Most heap one handshake run (two endpoints, the link, the logs) may hold above its start.
/// A normal run peaks far below this (see `baseline_handshake_and_transcript`); the margin
/// covers what a hostile run may make an endpoint hold: handshake reassembly (128 KiB by
/// default), 16 deferred records, and bounded queues.
const RUN_HEAP_BOUND: i64 = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The pair and its drive loop.

const MTU: u16 = 500;
/// Handshake deadline; runs stop a little after it, when every handshake has ended.
const DEADLINE_MS: u64 = 8_000;

struct Configs {
    client: Arc<Config>,
    server: Arc<Config>,
}

/// Webpki mutual authentication with two-certificate chains, cookies on, MTU 500 so that the
/// certificates are fragmented, short timers so that repaired runs end quickly.
fn configs(v: Version) -> Configs {
    let client = webpki_client(v, "client")
        .alpn(&[b"webrtc"])
        .srtp_profiles(&[0x0001, 0x0007])
        .mtu(MTU)
        .timers(100, 800, DEADLINE_MS)
        .rng_seed(1)
        .build()
        .unwrap();
    let server = webpki_server(v, "server")
        .alpn(&[b"webrtc"])
        .srtp_profiles(&[0x0007])
        .mtu(MTU)
        .timers(100, 800, DEADLINE_MS)
        .rng_seed(2)
        .build()
        .unwrap();
    Configs { client, server }
}

/// A mutation applied to datagram `index` of side `side`.
type Mutate = Box<dyn FnMut(Vec<u8>) -> Vec<Vec<u8>>>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Both connected, and application data crossed both ways.
    Connected,
    /// At least one side failed; the errors of both sides.
    Failed(Option<Error>, Option<Error>),
}

/// A run: the harness pair with this file's configs, on a lossless link at MTU 500.
fn new_run(cfg: &Configs) -> Pair {
    let link = LinkConfig {
        mtu: usize::from(MTU),
        ..Default::default()
    };
    Pair::new(cfg.client.clone(), cfg.server.clone(), link)
}

/// A tamper hook that applies `m` to datagram `index` of `side`, and lets the rest pass.
fn at(side: Side, index: usize, mut m: Mutate) -> Tamper {
    Box::new(move |s, i, d| {
        if s == side && i == index {
            m(d)
        } else {
            vec![d]
        }
    })
}

/// True when `side` reported Connected and then failed for a reason other than an
/// authenticated alert from its peer: after the handshake only authenticated input may
/// end an association (DESIGN.md, Rules of the house).
fn killed_after_connect(r: &mut Pair, side: Side) -> Option<Error> {
    let evs = r.log(side).event_list();
    let at = evs.iter().position(|e| matches!(e, Event::Connected(_)))?;
    evs[at..].iter().find_map(|e| match e {
        Event::Failed(Error::AlertReceived(_)) => None,
        Event::Failed(e) => Some(e.clone()),
        _ => None,
    })
}

/// Drives the pair until both connected, or both ended, or past the deadline.
fn run(r: &mut Pair) -> Outcome {
    let done = |r: &Pair| {
        let ended = |c: &Connection, l: &Log| c.is_connected() || l.error.is_some();
        r.both_connected() || (ended(&r.client, &r.c) && ended(&r.server, &r.s))
    };
    r.run_until(DEADLINE_MS + 1_000, done);
    assert!(r.max_datagram <= usize::from(MTU), "datagram over the MTU");
    if r.both_connected() {
        exchange_app_data(r);
        return Outcome::Connected;
    }
    Outcome::Failed(r.c.error().cloned(), r.s.error().cloned())
}

/// Proves the keys agree: a record each way over the (now unmutated) link, and nothing else
/// was ever delivered.
fn exchange_app_data(r: &mut Pair) {
    r.client.send(b"ping").unwrap();
    r.server.send(b"pong").unwrap();
    r.run_for(100);
    assert_eq!(r.s.app, vec![b"ping".to_vec()]);
    assert_eq!(r.c.app, vec![b"pong".to_vec()]);
}

/// Errors a peer (or the network) may legitimately cause. Everything else (`Internal`,
/// `InvalidConfig`, API misuse kinds...) means the engine let junk reach where it must not.
fn allowed(e: &Error) -> bool {
    use AlertDescription as A;
    match e {
        Error::PeerMisbehaved { alert, .. } => matches!(
            alert,
            A::DecodeError
                | A::IllegalParameter
                | A::UnexpectedMessage
                | A::HandshakeFailure
                | A::UnsupportedExtension
                | A::ProtocolVersion
                | A::NoApplicationProtocol
                | A::BadCertificate
                | A::DecryptError
                | A::MissingExtension
        ),
        Error::HandshakeTimeout { .. }
        | Error::AlertReceived(_)
        | Error::BadFinished
        | Error::BadSignature
        | Error::CertificateRejected(_)
        | Error::NoCommonParameters(_)
        | Error::ExtendedMasterSecretRequired
        | Error::NoPeerCertificate => true,
        _ => false,
    }
}

/// A short name of an outcome, for the tallies printed with `--nocapture`.
fn outcome_kind(o: &Outcome) -> String {
    match o {
        Outcome::Connected => "connected".into(),
        Outcome::Failed(c, s) => {
            let name = |e: &Option<Error>| match e {
                None => "-".to_string(),
                Some(Error::PeerMisbehaved { alert, reason }) => format!("{alert:?}({reason})"),
                Some(e) => e.code_name().to_string(),
            };
            format!("client {} / server {}", name(c), name(s))
        }
    }
}

/// One recorded datagram: who sent it, its per-side index, its bytes.
#[derive(Debug, Clone)]
struct Sent {
    side: Side,
    index: usize,
    bytes: Vec<u8>,
}

/// A clean handshake's datagrams, per side in sending order (the application data the run
/// ends with is left out: the transcript is what was sent until both connected and the link
/// went quiet, which includes a DTLS 1.3 server's ACK of the client's last flight).
fn record_transcript(cfg: &Configs) -> Vec<Sent> {
    let mut r = new_run(cfg);
    r.run_until(DEADLINE_MS, |r| r.both_connected());
    assert!(r.both_connected());
    r.run_for(200);
    let per_side = |side: Side, sent: &[Vec<u8>]| {
        sent.iter()
            .enumerate()
            .filter(|(_, d)| d[0] != 23)
            .map(|(index, bytes)| Sent {
                side,
                index,
                bytes: bytes.clone(),
            })
            .collect::<Vec<_>>()
    };
    let sent = |log: &Log| log.sent.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>();
    let mut t = per_side(CLIENT, &sent(&r.c));
    t.extend(per_side(SERVER, &sent(&r.s)));
    t
}

/// Byte positions of `d` that lie inside protected records (DTLS 1.2 records of epoch > 0,
/// DTLS 1.3 unified-header records), split into header and body. The engine's own record
/// walker reads both formats.
fn protected_positions(d: &[u8]) -> (Vec<usize>, Vec<usize>) {
    let (mut header, mut body) = (Vec::new(), Vec::new());
    let mut cursor = RecordCursor::new(0);
    while let Some(span) = cursor.next(d) {
        let protected = match span.header {
            Header13::Plaintext(h) => h.epoch > 0,
            Header13::Ciphertext(_) => true,
        };
        if protected {
            header.extend(span.header_range);
            body.extend(span.body_range);
        }
    }
    (header, body)
}

/// What a mutation run left behind for the checks.
struct Report {
    outcome: Outcome,
    /// Drop counters of the endpoint that received the mutated datagram.
    receiver_drops: stats::DropCounts,
    /// Per side (client, server): the error that ended it after it had connected, other than
    /// an authenticated alert.
    killed: [Option<Error>; 2],
}

/// Runs one mutation of datagram `index` of `side` and checks the invariants every run must
/// keep; `must_connect` adds that the handshake completes anyway.
fn run_mutation(cfg: &Configs, side: Side, index: usize, m: Mutate, must_connect: bool) -> Report {
    let what = format!("{side:?} datagram {index}");
    let start = reset_peak();
    let report = {
        let mut r = new_run(cfg);
        r.tamper = Some(at(side, index, m));
        let outcome = run(&mut r);
        for e in [r.c.error(), r.s.error()].into_iter().flatten() {
            assert!(allowed(e), "{what}: unexpected error kind {e:?}");
        }
        for side in [CLIENT, SERVER] {
            let failed = r.log(side).events.iter().find_map(|(_, e)| match e {
                Event::Failed(e) => Some(e.clone()),
                _ => None,
            });
            // The Failed event carries the error the failing call returned.
            let err = r.log(side).error().cloned();
            assert_eq!(failed, err, "{what}: {side:?} Failed event vs Err");
        }
        let killed = [CLIENT, SERVER].map(|side| killed_after_connect(&mut r, side));
        // A failed endpoint stays failed, with the same error.
        if let Some(e) = r.c.error().cloned() {
            assert_eq!(r.client.handle_datagram(r.now, &[0; 20]), Err(e), "{what}");
        }
        if let Some(e) = r.s.error().cloned() {
            assert_eq!(r.server.handle_datagram(r.now, &[0; 20]), Err(e), "{what}");
        }
        let receiver = match side {
            Side::A => &r.server,
            Side::B => &r.client,
        };
        Report {
            outcome,
            receiver_drops: receiver.stats().dropped,
            killed,
        }
    };
    let held = peak() - start;
    assert!(held < RUN_HEAP_BOUND, "{what}: heap peak {held} bytes");
    if must_connect {
        assert_eq!(
            report.outcome,
            Outcome::Connected,
            "{what}: this mutation must not break the handshake"
        );
    }
    report
}

fn tally(name: &str, outcomes: &BTreeMap<String, usize>) {
    let runs: usize = outcomes.values().sum();
    eprintln!("{name}: {runs} runs");
    for (k, n) in outcomes {
        eprintln!("  {n:6}  {k}");
    }
}

/// Where a flipped byte landed, decided on the datagram actually sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    Plaintext,
    ProtectedHeader,
    ProtectedBody,
    /// Past the end of this run's datagram (lengths vary by a byte or two between runs).
    Outside,
}

/// Flips `mask` into byte `pos` and tells where it landed.
fn flip(pos: usize, mask: u8, region: Rc<Cell<Region>>) -> Mutate {
    Box::new(move |mut d| {
        let (header, body) = protected_positions(&d);
        region.set(if pos >= d.len() {
            Region::Outside
        } else if body.contains(&pos) {
            Region::ProtectedBody
        } else if header.contains(&pos) {
            Region::ProtectedHeader
        } else {
            Region::Plaintext
        });
        if let Some(b) = d.get_mut(pos) {
            *b ^= mask;
        }
        vec![d]
    })
}

/// Runs a flip and checks what it must do given where it landed; returns the tally key.
fn check_flip(cfg: &Configs, s: &Sent, pos: usize, mask: u8) -> String {
    let region = Rc::new(Cell::new(Region::Plaintext));
    let report = run_mutation(cfg, s.side, s.index, flip(pos, mask, region.clone()), false);
    let what = format!("{:?} #{} byte {pos} mask {mask:#04x}", s.side, s.index);
    match region.get() {
        // RFC 6347 §4.1.2.7: a record that fails authentication is silently discarded; the
        // flight is repeated and the handshake completes.
        Region::ProtectedBody => {
            assert_eq!(report.outcome, Outcome::Connected, "{what}");
            assert!(
                report.receiver_drops.auth_failed > 0,
                "{what}: not counted as an authentication failure"
            );
            "protected record body: connected".into()
        }
        // A damaged header of a protected record makes it undecryptable, of another epoch,
        // or cut short: dropped in every case.
        Region::ProtectedHeader => {
            assert_eq!(report.outcome, Outcome::Connected, "{what}");
            "protected record header: connected".into()
        }
        Region::Outside => "past the end: connected".into(),
        Region::Plaintext => outcome_kind(&report.outcome),
    }
}

fn baseline_handshake_and_transcript(v: Version) {
    let cfg = configs(v);
    let start = reset_peak();
    let t = record_transcript(&cfg);
    eprintln!("clean handshake heap peak: {} bytes", peak() - start);
    // The shape the mutation tests rely on: both flights 4 and 5 fragmented, and the last
    // flight of each side protected.
    assert!(t.len() >= 8, "{}", t.len());
    for s in &t {
        eprintln!("{:?} #{} {} bytes", s.side, s.index, s.bytes.len());
        assert!(s.bytes.len() <= usize::from(MTU));
    }
    assert!(t
        .iter()
        .any(|s| !protected_positions(&s.bytes).1.is_empty()));
}

/// Every truncation of every datagram: the cut record is dropped, the rest of the datagram is
/// lost with it, and retransmission completes the handshake.
fn every_truncation_of_every_datagram(v: Version) {
    let cfg = configs(v);
    let mut runs = 0;
    for s in record_transcript(&cfg) {
        for len in 0..s.bytes.len() {
            run_mutation(
                &cfg,
                s.side,
                s.index,
                Box::new(move |mut d| {
                    d.truncate(len);
                    vec![d]
                }),
                true,
            );
            runs += 1;
        }
    }
    eprintln!("truncations: {runs} runs, all connected");
}

/// Every byte of every datagram flipped (xor 0xff).
fn every_byte_flip_of_every_datagram(v: Version) {
    let cfg = configs(v);
    let mut outcomes = BTreeMap::new();
    for s in record_transcript(&cfg) {
        for pos in 0..s.bytes.len() {
            *outcomes.entry(check_flip(&cfg, &s, pos, 0xff)).or_insert(0) += 1;
        }
    }
    tally("byte flips", &outcomes);
}

/// Single-bit flips: every bit of every record and handshake header (where the parsing
/// decisions are made), and one bit of every 5th byte elsewhere.
fn sampled_bit_flips(v: Version) {
    let cfg = configs(v);
    let mut outcomes = BTreeMap::new();
    for s in record_transcript(&cfg) {
        let headers = header_positions(&s.bytes);
        for pos in 0..s.bytes.len() {
            let bits: Vec<u8> = if headers.contains(&pos) {
                (0..8).collect()
            } else if pos % 5 == 0 {
                vec![(pos % 8) as u8]
            } else {
                Vec::new()
            };
            for bit in bits {
                *outcomes
                    .entry(check_flip(&cfg, &s, pos, 1 << bit))
                    .or_insert(0) += 1;
            }
        }
    }
    tally("bit flips", &outcomes);
}

/// Byte positions of record headers (both formats) and of the DTLS handshake headers of
/// plaintext handshake records in `d`.
fn header_positions(d: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut cursor = RecordCursor::new(0);
    while let Some(span) = cursor.next(d) {
        let b = span.body_range.clone();
        let first = d[span.header_range.start];
        out.extend(span.header_range);
        if let Header13::Plaintext(h) = span.header {
            if first == 22 && h.epoch == 0 {
                out.extend(b.start..(b.start + 12).min(b.end));
            }
        }
    }
    out
}

/// Every datagram delivered twice, and every datagram delayed behind the next one its sender
/// emits: ordinary network behaviour, so the handshake must complete.
fn every_duplicate_and_every_swap(v: Version) {
    let cfg = configs(v);
    let t = record_transcript(&cfg);
    for s in &t {
        run_mutation(
            &cfg,
            s.side,
            s.index,
            Box::new(|d| vec![d.clone(), d]),
            true,
        );
        // Hold datagram i; send it right after datagram i+1.
        let held = Rc::new(RefCell::new(None));
        let (h1, h2) = (held.clone(), held.clone());
        let mut r = new_run(&cfg);
        let (side, index) = (s.side, s.index);
        r.tamper = Some(Box::new(move |from, i, d| {
            if from != side {
                vec![d]
            } else if i == index {
                *h1.borrow_mut() = Some(d);
                Vec::new()
            } else if i == index + 1 {
                let mut out = vec![d];
                out.extend(h2.borrow_mut().take());
                out
            } else {
                vec![d]
            }
        }));
        assert_eq!(
            run(&mut r),
            Outcome::Connected,
            "{:?} #{} swapped",
            s.side,
            s.index
        );
        assert!(
            held.borrow().is_none(),
            "the held datagram was never released"
        );
    }
}

/// Flips of every bit of the message_seq field of every plaintext handshake fragment. Such a
/// relabelled fragment is indistinguishable from a forged one. Whatever it does to the
/// handshake, it must not end an association once it has connected: epoch-0 input after the
/// handshake is ignored (`admit_fragment`), and that must hold for epoch-0 input buffered
/// during the handshake as well.
fn plaintext_message_seq_flips_never_kill_a_connected_endpoint(v: Version) {
    let cfg = configs(v);
    let mut killed = Vec::new();
    for s in record_transcript(&cfg) {
        for pos in msg_seq_positions(&s.bytes) {
            for bit in 0..8 {
                let region = Rc::new(Cell::new(Region::Plaintext));
                let r = run_mutation(&cfg, s.side, s.index, flip(pos, 1 << bit, region), false);
                for (side, e) in [CLIENT, SERVER].into_iter().zip(r.killed) {
                    if let Some(e) = e {
                        killed.push(format!(
                            "{:?} #{} byte {pos} bit {bit}: {side:?} {e:?}",
                            s.side, s.index
                        ));
                    }
                }
            }
        }
    }
    assert!(killed.is_empty(), "{killed:#?}");
}

/// Byte positions of the message_seq fields of plaintext handshake fragments in `d`.
fn msg_seq_positions(d: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut cursor = RecordCursor::new(0);
    while let Some(span) = cursor.next(d) {
        let Header13::Plaintext(h) = span.header else {
            continue;
        };
        if d[span.header_range.start] == 22 && h.epoch == 0 {
            // After the record header, msg_type 1 and length 3: message_seq at 4..6. A record
            // may carry several fragments; walk them.
            let end = span.body_range.end;
            let mut f = span.body_range.start;
            while f + 12 <= end {
                out.extend([f + 4, f + 5]);
                let flen = usize::from(d[f + 9]) << 16
                    | usize::from(d[f + 10]) << 8
                    | usize::from(d[f + 11]);
                f += 12 + flen;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Random datagrams at fresh endpoints.

/// splitmix64, for reproducible junk.
struct Junk(u64);

impl Junk {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize].clone()
    }

    /// Uniformly random bytes, 0 to 1500 of them.
    fn datagram(&mut self) -> Vec<u8> {
        let n = self.below(1501) as usize;
        self.bytes(n)
    }

    /// One to four records with plausible headers (the content types, versions and epochs a
    /// parser branches on) around random or half-plausible bodies: handshake fragments with
    /// random types, lengths, message_seq and offsets, alerts, CCS, data.
    fn structured(&mut self) -> Vec<u8> {
        let mut d = Vec::new();
        for _ in 0..1 + self.below(4) {
            let any = self.next();
            let ct = self.pick(&[20u8, 21, 22, 22, 22, 23, 25, 26, any as u8]);
            let version = self.pick(&[0xfefdu16, 0xfefd, 0xfefd, 0xfefd, 0xfeff, any as u16]);
            let epoch = self.pick(&[0u16, 0, 0, 0, 0, 1, 2, (any >> 16) as u16]);
            let three = self.bytes(3);
            let body = match ct {
                22 if epoch == 0 || self.below(2) == 0 => self.fragment(),
                21 => self.pick(&[vec![2, 40], vec![1, 0], vec![2], three]),
                20 => self.pick(&[vec![1], vec![2], vec![]]),
                _ => {
                    let n = self.below(300) as usize;
                    self.bytes(n)
                }
            };
            let length = if self.below(10) == 0 {
                self.next() as u16
            } else {
                body.len() as u16
            };
            d.push(ct);
            d.extend_from_slice(&version.to_be_bytes());
            d.extend_from_slice(&epoch.to_be_bytes());
            d.extend_from_slice(&self.next().to_be_bytes()[2..]);
            d.extend_from_slice(&length.to_be_bytes());
            d.extend_from_slice(&body);
        }
        d
    }

    fn fragment(&mut self) -> Vec<u8> {
        let any = self.next();
        let u24 = (any >> 8) as u32 & 0xff_ffff;
        let msg_type = self.pick(&[0u8, 1, 2, 3, 4, 11, 12, 13, 14, 15, 16, 20, any as u8]);
        let length = self.pick(&[0u32, 1, 12, 100, 1000, 60_000, 70_000, u24]);
        let msg_seq = self.pick(&[0u16, 1, 2, 3, 4, 5, 6, 7, 9, (any >> 32) as u16]);
        let frag_off = self.pick(&[0u32, 0, 1, 50, length.saturating_sub(10), u24]);
        let small = (any >> 48) as u32 % 200;
        let frag_len = self.pick(&[
            length.saturating_sub(frag_off),
            length.saturating_sub(frag_off).min(50),
            small,
        ]);
        let mut f = vec![msg_type];
        f.extend_from_slice(&length.to_be_bytes()[1..]);
        f.extend_from_slice(&msg_seq.to_be_bytes());
        f.extend_from_slice(&frag_off.to_be_bytes()[1..]);
        f.extend_from_slice(&frag_len.to_be_bytes()[1..]);
        let n = (frag_len as usize).min(1200);
        let body = if msg_type == 1 && frag_off == 0 && n >= 40 {
            // A ClientHello-shaped start, so the cookie check parses it.
            let mut b = vec![0xfe, 0xfd];
            b.extend(self.bytes(32));
            b.push(0);
            b.push(self.pick(&[0u8, 17, 32]));
            b.extend(self.bytes(n - b.len()));
            b
        } else {
            self.bytes(n)
        };
        f.extend(body);
        f
    }
}

/// Most heap a fresh endpoint may hold after any amount of junk: reassembly (128 KiB by
/// default), 16 deferred records, a few queued answers, with room to spare.
const JUNK_HEAP_BOUND: i64 = 512 * 1024;

/// Feeds `n` datagrams to `conn`, draining its output after each as a real driver would, and
/// checks the heap it holds. Returns the errors it gave (the endpoint is recreated by `fresh`
/// after each).
fn flood(
    fresh: &dyn Fn() -> Connection,
    n: usize,
    mut next: impl FnMut() -> Vec<u8>,
) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut buf = vec![0u8; 2048];
    let base = live();
    let mut conn = fresh();
    let mut max_held = 0;
    let mut drops = stats::DropCounts::default();
    let add = |a: &mut stats::DropCounts, b: stats::DropCounts| {
        a.malformed += b.malformed;
        a.auth_failed += b.auth_failed;
        a.replayed += b.replayed;
        a.bad_epoch += b.bad_epoch;
        a.unexpected += b.unexpected;
        a.reassembly += b.reassembly;
        a.overflow += b.overflow;
        a.cookie += b.cookie;
    };
    for i in 0..n {
        // A quarter millisecond apart: retransmission timers fire (100 ms RTO) but the
        // handshake deadline (8 s) is never reached, so no error is a timeout.
        let now = i as u64 / 4;
        let d = next();
        if let Err(e) = conn.handle_datagram(now, &d) {
            assert!(allowed(&e), "datagram {i}: {e:?}");
            errors.push(e);
            add(&mut drops, conn.stats().dropped);
            conn = fresh();
            continue;
        }
        while let Some(_n) = conn.poll_transmit(now, &mut buf).unwrap() {}
        while conn.poll_event().is_some() {}
        while let Some(_n) = conn.recv(&mut buf).unwrap() {}
        if conn.next_timeout().is_some_and(|t| t <= now) {
            conn.handle_timeout(now).unwrap();
        }
        let held = live() - base;
        assert!(
            held < JUNK_HEAP_BOUND,
            "datagram {i}: endpoint holds {held} bytes"
        );
        max_held = max_held.max(held);
    }
    add(&mut drops, conn.stats().dropped);
    eprintln!("{n} datagrams: at most {max_held} bytes held; drops {drops:?}");
    errors
}

fn fresh_client(v: Version) -> impl Fn() -> Connection {
    let cfg = configs(v).client;
    move || new_client(cfg.clone(), 0)
}

fn fresh_server(v: Version) -> impl Fn() -> Connection {
    let cfg = configs(v).server;
    move || new_server(cfg.clone(), 0)
}

/// 10 000 uniformly random datagrams: not one is even a well-formed record of a known
/// version, so both roles drop them all without an error.
fn random_datagrams_at_fresh_endpoints(v: Version) {
    let (c, s) = (fresh_client(v), fresh_server(v));
    for (name, fresh) in [("client", &c as &dyn Fn() -> Connection), ("server", &s)] {
        let mut junk = Junk(0x5eed_0001);
        let errors = flood(fresh, 10_000, || junk.datagram());
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

/// 10 000 structured junk datagrams per role. The server keeps a stateless cookie check in
/// front of everything, so nothing gets through it and it never fails. The client cannot
/// authenticate epoch-0 records: junk that happens to form a complete message where it
/// expects one may fail it, with a protocol error of an expected kind.
fn structured_junk_at_fresh_endpoints(v: Version) {
    let mut junk = Junk(0x5eed_0002);
    let errors = flood(&fresh_server(v), 10_000, || junk.structured());
    assert!(errors.is_empty(), "server: {errors:?}");
    let mut junk = Junk(0x5eed_0003);
    let errors = flood(&fresh_client(v), 10_000, || junk.structured());
    for e in &errors {
        assert!(
            matches!(
                e,
                Error::PeerMisbehaved { .. } | Error::NoCommonParameters(_)
            ),
            "client: {e:?}"
        );
    }
    eprintln!(
        "client: {} of 10000 junk datagrams were fatal",
        errors.len()
    );
}

/// Junk at connected endpoints: epoch-0 input after the handshake and records of unknown or
/// current epochs that do not authenticate are dropped, never fatal, and the association
/// still carries data afterwards.
fn structured_junk_at_connected_endpoints(v: Version) {
    let cfg = configs(v);
    let mut r = new_run(&cfg);
    assert_eq!(run(&mut r), Outcome::Connected);
    let mut junk = Junk(0x5eed_0004);
    let base = live();
    for i in 0..5_000u64 {
        let d = if i % 2 == 0 {
            junk.structured()
        } else {
            junk.datagram()
        };
        let side = if i % 3 == 0 { CLIENT } else { SERVER };
        r.feed_raw(side, &d).unwrap();
        r.pump();
        assert!(live() - base < JUNK_HEAP_BOUND);
    }
    assert!(r.client.is_connected() && r.server.is_connected());
    assert!(r.max_datagram <= usize::from(MTU), "datagram over the MTU");
    let dropped = r.server.stats().dropped.total() + r.client.stats().dropped.total();
    assert!(dropped > 1_000, "{dropped}");
    r.c.app.clear();
    r.s.app.clear();
    r.link = Link::new(LinkConfig::default());
    exchange_app_data(&mut r);
    assert!(r.max_datagram <= usize::from(MTU), "datagram over the MTU");
}

version_tests!(
    baseline_handshake_and_transcript,
    every_truncation_of_every_datagram,
    every_byte_flip_of_every_datagram,
    sampled_bit_flips,
    every_duplicate_and_every_swap,
    plaintext_message_seq_flips_never_kill_a_connected_endpoint,
    random_datagrams_at_fresh_endpoints,
    structured_junk_at_fresh_endpoints,
    structured_junk_at_connected_endpoints,
);
