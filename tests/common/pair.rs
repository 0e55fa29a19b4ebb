//! The engine test harness: one of our clients and one of our servers joined by the simulated
//! network of `link.rs`, on a virtual clock, for a given protocol version. Every engine test
//! (tests/engine/*: engine_pair, limits, robustness, zero_copy, secrets; flood, memory, the
//! impairment matrix, and the engine-to-engine parts of the interop tests) drives its
//! endpoints through this one loop; `poll_all` drains an endpoint for the other drivers
//! (the hostile peer, OpenSSL in memory).
//!
//! The drive loop is the one every user writes: poll every output after each mutation,
//! deliver what the link hands over, call `handle_timeout` when a deadline passes, then jump
//! the clock to the earliest of the next delivery and both deadlines. Every run is bounded by
//! a virtual time limit and an iteration cap, so a stuck engine fails the test instead of
//! hanging it.
//!
//! Versions. A test that holds for every protocol version is an ordinary function of the
//! version, turned into one `#[test]` per version by `version_tests!` (named `<test>::v12`,
//! `<test>::v13`, so a failure names the version); a test may also loop over [`versions()`].
//! Tests of 1.2-only rules (HelloVerifyRequest, ChangeCipherSpec, EMS, the 1.2 record header
//! on the wire) are plain `#[test]`s that use `Version::V12`.
//!
//! ```ignore
//! /// Data crosses a lossy link.
//! fn lossy(v: Version) {
//!     let (c, s) = build(webpki(v));
//!     let mut p = Pair::new(c, s, LinkConfig { loss: 0.2, ..Default::default() });
//!     p.handshake(60_000);
//!     assert_eq!(p.send_and_recv(CLIENT, b"hi", 1_000), [b"hi".to_vec()]);
//! }
//! version_tests!(lossy);
//! ```

use super::fixtures::fixture;
use super::link::{Link, LinkConfig, Side};
use dtls_proto::server::{Admission, ServerFrontDoor};
use dtls_proto::stats::DropCounts;
use dtls_proto::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A protocol version the engine tests run for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// DTLS 1.2 (RFC 6347).
    V12,
    /// DTLS 1.3 (RFC 9147).
    V13,
}

impl Version {
    /// The wire version.
    pub fn protocol(self) -> ProtocolVersion {
        match self {
            Version::V12 => ProtocolVersion::Dtls12,
            Version::V13 => ProtocolVersion::Dtls13,
        }
    }
}

/// The versions every version-neutral engine test runs for.
///
/// DTLS 1.3: when the engine implements it, add `(v13, V13)` to the list in
/// `__each_version!` below. That one line makes both this function and every
/// `version_tests!` cover it.
pub fn versions() -> &'static [Version] {
    crate::__each_version!(__version_list)
}

/// The one list of enabled versions, as `(test fn name, Version variant)` pairs, handed to
/// the macro `$cb`. Not for direct use: see `versions()` and `version_tests!`.
#[doc(hidden)]
#[macro_export]
macro_rules! __each_version {
    ($cb:ident $($pre:tt)*) => {
        $crate::$cb! { $($pre)* [(v12, V12) (v13, V13)] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __version_list {
    ([$(($f:ident, $v:ident))*]) => {
        &[$(Version::$v),*]
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __version_cases {
    ($name:ident [$(($f:ident, $v:ident))*]) => {
        $(
            #[test]
            fn $f() {
                super::$name(super::Version::$v)
            }
        )*
    };
}

/// One `#[test]` per enabled version for each named `fn name(v: Version)`: a module `name`
/// (modules and functions live in different namespaces) with tests `v12` (and `v13` once
/// enabled), so a failure reads `name::v12`. `Version` must be in scope where it is used.
#[macro_export]
macro_rules! version_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                $crate::__each_version!(__version_cases $name);
            }
        )*
    };
}

/// The client is always end A of the link, the server end B.
pub const CLIENT: Side = Side::A;
/// The server's end of the link.
pub const SERVER: Side = Side::B;

/// The name the client checks in the server's certificate (the fixtures are issued for it).
pub const SERVER_NAME: &str = "dtls-server";

/// The client's transport address as the server sees it (cookie binding).
pub const CLIENT_ADDR: &[u8] = b"192.0.2.1:5000";

/// Upper bound on drive-loop iterations in any one run; far above what a handshake needs.
pub const MAX_ITERATIONS: u64 = 100_000;

// ---------------------------------------------------------------------------------------------
// Configurations.

/// `Config::builder()` for version `v` only.
pub fn builder(v: Version) -> ConfigBuilder {
    Config::builder().versions(&[v.protocol()])
}

/// A fixture leaf sent with the intermediate: a two-certificate chain.
pub fn fixture_cert(leaf: &str) -> Certificate {
    let chain = [fixture(&format!("{leaf}.crt")), fixture("int.crt")].concat();
    Certificate::from_pem(&chain, &fixture(&format!("{leaf}.key"))).unwrap()
}

/// Client side of webpki mutual authentication: our chain, the test root, the server name.
pub fn webpki_client(v: Version, leaf: &str) -> ConfigBuilder {
    builder(v)
        .certificate(fixture_cert(leaf))
        .root_certificates_pem(&fixture("ca.crt"))
        .peer_verification(PeerVerification::WebPki)
}

/// Server side of webpki mutual authentication: a client certificate is required.
pub fn webpki_server(v: Version, leaf: &str) -> ConfigBuilder {
    builder(v)
        .certificate(fixture_cert(leaf))
        .root_certificates_pem(&fixture("ca.crt"))
        .peer_verification(PeerVerification::WebPki)
        .require_client_certificate(true)
}

/// (client, server) with the ECDSA fixtures and webpki mutual authentication.
pub fn webpki(v: Version) -> (ConfigBuilder, ConfigBuilder) {
    (webpki_client(v, "client"), webpki_server(v, "server"))
}

/// (client, server), WebRTC style: freshly generated certificates pinned by SHA-256
/// fingerprint both ways (so the server requires a client certificate), seeded RNGs.
pub fn pinned(v: Version) -> (ConfigBuilder, ConfigBuilder) {
    let scert = Certificate::generate("server").unwrap();
    let ccert = Certificate::generate("client").unwrap();
    let sfp = scert.fingerprint(HashAlg::Sha256);
    let cfp = ccert.fingerprint(HashAlg::Sha256);
    (
        builder(v)
            .certificate(ccert)
            .peer_fingerprint(sfp)
            .rng_seed(1),
        builder(v)
            .certificate(scert)
            .peer_fingerprint(cfp)
            .rng_seed(2),
    )
}

/// (client, server) with generated certificates that neither side verifies.
pub fn accept_any(v: Version) -> (ConfigBuilder, ConfigBuilder) {
    let cfg = |cn: &str| {
        builder(v)
            .certificate(Certificate::generate(cn).unwrap())
            .peer_verification(PeerVerification::DangerousAcceptAny)
    };
    (cfg("client"), cfg("server"))
}

/// Builds both halves of a `(client, server)` pair of builders.
pub fn build(b: (ConfigBuilder, ConfigBuilder)) -> (Arc<Config>, Arc<Config>) {
    (b.0.build().unwrap(), b.1.build().unwrap())
}

/// A fresh client for `cfg` at time `now`, checking the name `SERVER_NAME`.
pub fn new_client(cfg: Arc<Config>, now: u64) -> Connection {
    Connection::new(cfg, Role::Client, Some(SERVER_NAME), now).unwrap()
}

/// A fresh server for `cfg` at time `now`, bound to `CLIENT_ADDR`.
pub fn new_server(cfg: Arc<Config>, now: u64) -> Connection {
    let mut s = Connection::new(cfg, Role::Server, None, now).unwrap();
    s.set_peer_address(CLIENT_ADDR);
    s
}

// ---------------------------------------------------------------------------------------------
// Datagrams.

/// Every datagram `conn` has to send at `now`, or its error.
pub fn poll_all(conn: &mut Connection, now: u64) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 2048];
    // Bounded: a flight is a handful of datagrams, application data one per record.
    for _ in 0..4096 {
        match conn.poll_transmit(now, &mut buf) {
            Ok(Some(n)) => out.push(buf[..n].to_vec()),
            Ok(None) => return Ok(out),
            // The item stays queued: retry with room for it.
            Err(Error::BufferTooSmall { needed }) => buf.resize(needed, 0),
            Err(e) => return Err(e),
        }
    }
    panic!("poll_transmit never ran dry");
}

/// A DTLS 1.2 record (RFC 6347 §4.1) with `version` on the wire, appended to `out`.
pub fn put_record(out: &mut Vec<u8>, ct: u8, version: u16, epoch: u16, seq: u64, body: &[u8]) {
    out.push(ct);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&epoch.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes()[2..]);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
}

/// A DTLS 1.2 record (RFC 6347 §4.1), e.g. a forged plaintext one to inject.
pub fn record12(content_type: u8, epoch: u16, seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(13 + payload.len());
    put_record(&mut r, content_type, 0xfefd, epoch, seq, payload);
    r
}

/// A short description of a datagram for traces: its records' content types, epochs and, for
/// plaintext handshake records, message types and fragment offsets (DTLS 1.2 headers).
pub fn describe_datagram(d: &[u8]) -> String {
    let mut out = Vec::new();
    let mut rest = d;
    while rest.len() >= 13 {
        let (ct, epoch) = (rest[0], u16::from_be_bytes([rest[3], rest[4]]));
        let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
        let body = rest.get(13..13 + len).unwrap_or(&[]);
        let what = match (ct, epoch) {
            (22, 0) if body.len() >= 12 => {
                let off = u32::from_be_bytes([0, body[6], body[7], body[8]]);
                format!("hs{}@{}", body[0], off)
            }
            (20, _) => "ccs".into(),
            (21, 0) => "alert".into(),
            (22, _) => format!("hs/e{epoch}"),
            (21, _) => format!("alert/e{epoch}"),
            (23, _) => format!("app/e{epoch}"),
            _ => format!("ct{ct}"),
        };
        out.push(what);
        rest = rest.get(13 + len..).unwrap_or(&[]);
    }
    format!("{}B [{}]", d.len(), out.join(" "))
}

// ---------------------------------------------------------------------------------------------
// The pair.

/// A front door in front of the server (`ServerFrontDoor::admit`): until it accepts a
/// ClientHello, the server does not exist; the accepted ClientHello creates it (at that time)
/// and is its first input.
pub struct Gate {
    pub door: ServerFrontDoor,
    cfg: Arc<Config>,
    /// When the door accepted, i.e. when the server was created.
    pub accepted_at: Option<u64>,
    /// Verdicts so far: "drop", "held", "reply", "accept".
    pub verdicts: BTreeMap<&'static str, u64>,
}

/// The client is end A, the server end B: lets tests that think in roles pass a `Role` where
/// a `Side` is expected.
impl From<Role> for Side {
    fn from(role: Role) -> Side {
        match role {
            Role::Client => CLIENT,
            Role::Server => SERVER,
        }
    }
}

/// Decides the fate of a datagram before it enters the link: it gets the sending side, the
/// per-side index of the datagram and the datagram, and returns what to put on the link
/// instead (nothing to drop it, several to inject records ahead of it).
pub type Tamper = Box<dyn FnMut(Side, usize, Vec<u8>) -> Vec<Vec<u8>>>;

/// What one endpoint did during a run.
#[derive(Default)]
pub struct Log {
    /// Events with the virtual time they were polled at.
    pub events: Vec<(u64, Event)>,
    /// Application records received, in order.
    pub app: Vec<Vec<u8>>,
    /// The first fatal error returned by the engine, with its time.
    pub error: Option<(u64, Error)>,
    /// Every datagram the endpoint emitted, with its time (before any tampering).
    pub sent: Vec<(u64, Vec<u8>)>,
}

impl Log {
    /// The negotiated parameters of the first Connected event.
    pub fn connected(&self) -> Option<&Negotiated> {
        self.events.iter().find_map(|(_, e)| match e {
            Event::Connected(n) => Some(n),
            _ => None,
        })
    }

    /// When the Connected event was polled.
    pub fn connected_at(&self) -> Option<u64> {
        self.events
            .iter()
            .find(|(_, e)| matches!(e, Event::Connected(_)))
            .map(|(t, _)| *t)
    }

    /// The first fatal error.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref().map(|(_, e)| e)
    }

    /// The events without their times.
    pub fn event_list(&self) -> Vec<Event> {
        self.events.iter().map(|(_, e)| e.clone()).collect()
    }
}

/// Two endpoints, a link and a virtual clock.
pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub link: Link,
    /// The virtual clock, in milliseconds.
    pub now: u64,
    /// What the client did.
    pub c: Log,
    /// What the server did.
    pub s: Log,
    /// Largest datagram either side emitted.
    pub max_datagram: usize,
    pub tamper: Option<Tamper>,
    pub iterations: u64,
    /// A front door ahead of the server (see `Pair::with_front_door`).
    pub gate: Option<Gate>,
    /// A timeline of the run when `Some` (see `Pair::traced`): every datagram sent and what
    /// the link did to it, every delivery, timer, error and Connected.
    pub trace: Option<Vec<String>>,
}

impl Pair {
    /// A client and a server created at time 0, joined by a link with `link`'s impairments.
    pub fn new(ccfg: Arc<Config>, scfg: Arc<Config>, link: LinkConfig) -> Pair {
        Pair::from_connections(new_client(ccfg, 0), new_server(scfg, 0), link)
    }

    /// Two given endpoints (the server's peer address already set).
    pub fn from_connections(client: Connection, server: Connection, link: LinkConfig) -> Pair {
        Pair {
            client,
            server,
            link: Link::new(link),
            now: 0,
            c: Log::default(),
            s: Log::default(),
            max_datagram: 0,
            tamper: None,
            iterations: 0,
            gate: None,
            trace: None,
        }
    }

    /// Like `new`, with the server behind a stateless front door: the server connection is
    /// created (at that time) when the door accepts a ClientHello with a valid cookie.
    pub fn with_front_door(ccfg: Arc<Config>, scfg: Arc<Config>, link: LinkConfig) -> Pair {
        let mut p = Pair::new(ccfg, scfg.clone(), link);
        p.gate = Some(Gate {
            door: ServerFrontDoor::new(scfg.clone()),
            cfg: scfg,
            accepted_at: None,
            verdicts: BTreeMap::new(),
        });
        p
    }

    /// Keeps a timeline of the run in `trace`.
    pub fn traced(mut self) -> Pair {
        self.trace = Some(Vec::new());
        self
    }

    fn note(&mut self, what: impl FnOnce() -> String) {
        let now = self.now;
        if let Some(t) = &mut self.trace {
            t.push(format!("{now:>7} {}", what()));
        }
    }

    /// Whether the server exists: always, unless a front door has not accepted yet.
    pub fn server_started(&self) -> bool {
        !matches!(&self.gate, Some(g) if g.accepted_at.is_none())
    }

    fn live(&self, side: Side) -> bool {
        side == CLIENT || self.server_started()
    }

    fn record_error(&mut self, side: Side, e: Error) {
        self.note(|| format!("{side:?} FAILED {e:?}"));
        let now = self.now;
        let log = self.log(side);
        if log.error.is_none() {
            log.error = Some((now, e));
        }
    }

    /// A lossless link with 10 ms one-way latency.
    pub fn lossless(ccfg: Arc<Config>, scfg: Arc<Config>) -> Pair {
        Pair::new(ccfg, scfg, LinkConfig::default())
    }

    /// A lossless link without latency: the clock only moves for timers.
    pub fn instant(ccfg: Arc<Config>, scfg: Arc<Config>) -> Pair {
        Pair::new(
            ccfg,
            scfg,
            LinkConfig {
                latency_ms: 0,
                ..Default::default()
            },
        )
    }

    /// An instant pair of `configs`, connected, with both sides' events checked (the last is
    /// Connected, none is Failed) and cleared.
    pub fn connected(configs: (ConfigBuilder, ConfigBuilder)) -> Pair {
        let (c, s) = build(configs);
        let mut p = Pair::instant(c, s);
        p.handshake(10_000);
        for log in [&mut p.c, &mut p.s] {
            let events = log.event_list();
            assert!(
                matches!(events.last(), Some(Event::Connected(_)))
                    && !events.iter().any(|e| matches!(e, Event::Failed(_))),
                "{events:?}"
            );
            log.events.clear();
        }
        p
    }

    /// The two endpoints, for tests that go on without the harness.
    pub fn into_connections(self) -> (Connection, Connection) {
        (self.client, self.server)
    }

    pub fn conn(&mut self, side: impl Into<Side>) -> &mut Connection {
        let side: Side = side.into();
        match side {
            Side::A => &mut self.client,
            Side::B => &mut self.server,
        }
    }

    pub fn log(&mut self, side: impl Into<Side>) -> &mut Log {
        let side: Side = side.into();
        match side {
            Side::A => &mut self.c,
            Side::B => &mut self.s,
        }
    }

    /// Drop counters of `side`.
    pub fn drops(&self, side: impl Into<Side>) -> DropCounts {
        let side: Side = side.into();
        match side {
            Side::A => self.client.stats().dropped,
            Side::B => self.server.stats().dropped,
        }
    }

    /// Datagrams `side` emitted so far.
    pub fn sent(&self, side: impl Into<Side>) -> usize {
        let side: Side = side.into();
        match side {
            Side::A => self.c.sent.len(),
            Side::B => self.s.sent.len(),
        }
    }

    /// Flight retransmissions `side` made so far.
    pub fn retransmissions(&self, side: impl Into<Side>) -> u64 {
        let side: Side = side.into();
        match side {
            Side::A => self.client.stats().retransmissions,
            Side::B => self.server.stats().retransmissions,
        }
    }

    /// Polls every datagram `side` has to send, without putting them on the link.
    pub fn take(&mut self, side: impl Into<Side>) -> Vec<Vec<u8>> {
        let side: Side = side.into();
        let now = self.now;
        let out = match poll_all(self.conn(side), now) {
            Ok(out) => out,
            Err(e) => panic!("{side:?} poll_transmit: {e}"),
        };
        for d in &out {
            self.max_datagram = self.max_datagram.max(d.len());
            self.log(side).sent.push((now, d.clone()));
        }
        out
    }

    /// `from` sends `data` as one record; returns its datagram without delivering it.
    pub fn seal(&mut self, from: impl Into<Side>, data: &[u8]) -> Vec<u8> {
        let from: Side = from.into();
        self.conn(from).send(data).unwrap();
        let mut d = self.take(from);
        assert_eq!(d.len(), 1, "one record, one datagram");
        d.remove(0)
    }

    /// Moves every datagram `from` has to send straight to the other side at the current
    /// time, bypassing the link, and returns how many. Unlike `step`, it reads neither events
    /// nor application data, so tests can see what the receiver holds; a fatal error is
    /// recorded in the receiver's log.
    pub fn transfer(&mut self, from: impl Into<Side>) -> usize {
        let from: Side = from.into();
        let to = from.other();
        let now = self.now;
        let datagrams = self.take(from);
        for d in &datagrams {
            if let Err(e) = self.conn(to).handle_datagram(now, d) {
                self.record_error(to, e);
            }
        }
        datagrams.len()
    }

    /// Flushes both sides' output onto the link and collects events and application data.
    pub fn pump(&mut self) {
        for side in [CLIENT, SERVER] {
            if !self.live(side) {
                continue;
            }
            let first_index = self.log(side).sent.len();
            for (k, d) in self.take(side).into_iter().enumerate() {
                let to_send = match self.tamper.as_mut() {
                    Some(t) => t(side, first_index + k, d),
                    None => vec![d],
                };
                for d in to_send {
                    self.send_on_link(side, d);
                }
            }
            self.collect(side);
        }
    }

    /// Puts a datagram on the link, noting in the trace what the link did with it.
    fn send_on_link(&mut self, from: Side, d: Vec<u8>) {
        if self.trace.is_none() {
            self.link.send(self.now, from, d);
            return;
        }
        let before = self.link.stats();
        let desc = describe_datagram(&d);
        self.link.send(self.now, from, d);
        let after = self.link.stats();
        let mut fate = Vec::new();
        for (n, what) in [
            (after.lost - before.lost, "LOST"),
            (after.oversize - before.oversize, "OVERSIZE"),
            (after.corrupted - before.corrupted, "corrupted"),
            (after.duplicated - before.duplicated, "duplicated"),
            (after.reordered - before.reordered, "held back"),
        ] {
            if n > 0 {
                fate.push(what);
            }
        }
        self.note(|| format!("{from:?} sends {desc} {}", fate.join(" ")));
    }

    /// A datagram the link delivers to the server while a front door stands before it:
    /// answered, held (part of a ClientHello), dropped, or accepted (which creates the
    /// server). Returns what the server should now take: the datagram itself without a gate
    /// or when it held the whole ClientHello, else the ClientHello the door reassembled.
    fn admit(&mut self, d: Vec<u8>) -> Option<Vec<u8>> {
        let now = self.now;
        let Some(gate) = self.gate.as_mut().filter(|g| g.accepted_at.is_none()) else {
            return Some(d);
        };
        let mut reply = [0u8; 512];
        match gate.door.admit(now, CLIENT_ADDR, &d, &mut reply) {
            Admission::Drop => {
                *gate.verdicts.entry("drop").or_default() += 1;
                None
            }
            Admission::Held => {
                *gate.verdicts.entry("held").or_default() += 1;
                None
            }
            Admission::Reply(n) => {
                *gate.verdicts.entry("reply").or_default() += 1;
                self.send_on_link(SERVER, reply[..n].to_vec());
                None
            }
            Admission::Accept(hello) => {
                let hello = hello.to_vec();
                *gate.verdicts.entry("accept").or_default() += 1;
                gate.accepted_at = Some(now);
                self.server = new_server(gate.cfg.clone(), now);
                Some(hello)
            }
        }
    }

    /// Moves `side`'s pending events and application records into its log.
    pub fn collect(&mut self, side: impl Into<Side>) {
        let side: Side = side.into();
        let now = self.now;
        let mut app = [0u8; 4096];
        while let Some(ev) = self.conn(side).poll_event() {
            if matches!(ev, Event::Connected(_)) {
                self.note(|| format!("{side:?} CONNECTED"));
            }
            self.log(side).events.push((now, ev));
        }
        while let Ok(Some(n)) = self.conn(side).recv(&mut app) {
            let rec = app[..n].to_vec();
            self.log(side).app.push(rec);
        }
    }

    /// Every application record `side` received and nobody took yet.
    pub fn recv_all(&mut self, side: impl Into<Side>) -> Vec<Vec<u8>> {
        let side: Side = side.into();
        self.collect(side);
        std::mem::take(&mut self.log(side).app)
    }

    /// `handle_datagram` on `to` at the current time and nothing else: events and application
    /// data stay in the connection, and an error is only returned.
    pub fn feed_raw(&mut self, to: impl Into<Side>, d: &[u8]) -> Result<(), Error> {
        let now = self.now;
        self.conn(to).handle_datagram(now, d)
    }

    /// Feeds one datagram to `to` at the current time, bypassing the link (to inject forged
    /// or replayed datagrams), recording a fatal error and collecting what it produced.
    pub fn feed(&mut self, to: impl Into<Side>, d: &[u8]) -> Result<(), Error> {
        let to: Side = to.into();
        let now = self.now;
        let r = self.conn(to).handle_datagram(now, d);
        if let Err(e) = &r {
            self.record_error(to, e.clone());
        }
        self.collect(to);
        r
    }

    /// One round at the current time: deliver, fire due timers, flush.
    pub fn step(&mut self) {
        self.iterations += 1;
        self.pump();
        for (to, d) in self.link.deliver(self.now) {
            self.note(|| format!("{to:?} gets {}", describe_datagram(&d)));
            let d = if to == SERVER {
                match self.admit(d) {
                    Some(d) => d,
                    None => continue,
                }
            } else {
                d
            };
            let _ = self.feed(to, &d);
            self.pump();
        }
        for side in [CLIENT, SERVER] {
            let now = self.now;
            if self.live(side) && self.conn(side).next_timeout().is_some_and(|t| t <= now) {
                self.note(|| format!("{side:?} timer"));
                if let Err(e) = self.conn(side).handle_timeout(now) {
                    self.record_error(side, e);
                }
                self.pump();
            }
        }
    }

    /// The earliest pending event: a delivery or either side's timer.
    pub fn next_event(&self) -> Option<u64> {
        let server = self
            .server_started()
            .then(|| self.server.next_timeout())
            .flatten();
        [
            self.link.next_delivery(),
            self.client.next_timeout(),
            server,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs until `done` holds, the clock passes `until`, or the iteration cap is hit. Returns
    /// whether `done` held. The clock never passes `until`.
    pub fn run_until(&mut self, until: u64, mut done: impl FnMut(&Pair) -> bool) -> bool {
        loop {
            self.step();
            if done(self) {
                return true;
            }
            assert!(
                self.iterations < MAX_ITERATIONS,
                "iteration cap hit at t={}: the engine keeps asking for the same instant",
                self.now
            );
            match self.next_event() {
                Some(t) if t <= until => self.now = t.max(self.now),
                _ => {
                    if self.now >= until {
                        return false;
                    }
                    self.now = until;
                }
            }
        }
    }

    /// Whether both ends are connected.
    pub fn both_connected(&self) -> bool {
        self.client.is_connected() && self.server.is_connected()
    }

    /// Whether both ends are connected or either has failed.
    pub fn ended(&self) -> bool {
        self.both_connected() || self.c.error.is_some() || self.s.error.is_some()
    }

    /// Runs until both are connected or either fails, or the clock reaches `until`; returns
    /// the first error of each side, `(None, None)` when both connected.
    pub fn drive(&mut self, until: u64) -> (Option<Error>, Option<Error>) {
        self.run_until(until, Pair::ended);
        (self.c.error().cloned(), self.s.error().cloned())
    }

    /// Runs the handshake to completion on both sides by `limit_ms`, or panics with what
    /// happened.
    pub fn handshake(&mut self, limit_ms: u64) {
        let ok = self.run_until(limit_ms, Pair::both_connected);
        assert!(
            ok,
            "no handshake by t={}: client error {:?}, server error {:?}, link {:?}",
            self.now,
            self.c.error(),
            self.s.error(),
            self.link.stats()
        );
    }

    /// Runs (without a goal) until the clock is `ms` later.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.now + ms;
        self.run_until(until, |_| false);
    }

    /// Delivers everything in flight and due now, without moving the clock.
    pub fn settle(&mut self) {
        let now = self.now;
        self.run_until(now, |_| false);
    }

    /// `from` sends `data` as one record, and the pair runs until the other side received a
    /// record, within `limit_ms`; returns what it received (and clears it from the log).
    pub fn send_and_recv(
        &mut self,
        from: impl Into<Side>,
        data: &[u8],
        limit_ms: u64,
    ) -> Vec<Vec<u8>> {
        let from: Side = from.into();
        let to = from.other();
        self.conn(from).send(data).unwrap();
        let until = self.now + limit_ms;
        let ok = self.run_until(until, |p| match to {
            Side::A => !p.c.app.is_empty(),
            Side::B => !p.s.app.is_empty(),
        });
        assert!(ok, "{from:?} -> {to:?}: the record did not arrive");
        std::mem::take(&mut self.log(to).app)
    }

    /// One record each way; both arrive intact and alone (application logs are cleared
    /// first).
    pub fn exchange_app_data(&mut self) {
        self.c.app.clear();
        self.s.app.clear();
        self.client.send(b"hello from the client").unwrap();
        self.server.send(b"hello from the server").unwrap();
        let ok = self.run_until(self.now + 1_000, |p| {
            !p.c.app.is_empty() && !p.s.app.is_empty()
        });
        assert!(ok, "application data did not cross");
        assert_eq!(self.s.app, vec![b"hello from the client".to_vec()]);
        assert_eq!(self.c.app, vec![b"hello from the server".to_vec()]);
    }

    /// `n` records each way, sealed and fed one at a time, all delivered in order.
    pub fn exchange(&mut self, n: usize, tag: &str) {
        for (from, to) in [(CLIENT, SERVER), (SERVER, CLIENT)] {
            let sent: Vec<Vec<u8>> = (0..n)
                .map(|i| format!("{tag} {from:?} {i}").into_bytes())
                .collect();
            for m in &sent {
                let d = self.seal(from, m);
                self.feed(to, &d).unwrap();
            }
            assert_eq!(self.recv_all(to), sent, "{tag}: {from:?} -> {to:?}");
        }
    }
}
