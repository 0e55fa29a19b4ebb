//! The network-impairment matrix (issue 7, part 1): one of our clients and one of our servers
//! driven through the seeded link of `link.rs` on a virtual clock, cell by cell, trial by trial.
//!
//! Shared by the asserting tests (`tests/impairment.rs`) and the reporting tool
//! (`examples/impairment_matrix.rs`). Include it with
//! `#[path = "common/impair.rs"] mod impair;` (or `../tests/common/impair.rs` from an example);
//! it brings its own copy of `link.rs` as `impair::link`.
//!
//! A *cell* fixes the impairments (loss, reordering, duplication, bit corruption, one-way
//! latency and jitter, MTU) and the handshake options (cookie exchange through the stateless
//! `ServerFrontDoor` or inside the `Connection`, client authentication). A *trial* is one
//! handshake in that cell with its own link seed, followed by a short burst of application
//! records both ways. Both roles are ours in every trial, and each role's outcome is recorded.
//!
//! Determinism: the link and the clock are seeded and virtual. The engine's ECDHE keys and
//! ECDSA signatures come from the system RNG even with `rng_seed`, and a DER ECDSA signature is
//! 70 to 72 bytes long, so at a small MTU a flight may occasionally split into a different
//! number of datagrams and shift the link's random draws. Outcomes are therefore reproducible
//! per seed up to that; the assertions only rely on properties that hold for every trial.
//!
//! Ideal time: on a lossless link a handshake completes after 4 one-way trips without the
//! cookie (ClientHello, server flight, client flight, server Finished) and 6 with it
//! (RFC 6347 §4.2.1 adds the HelloVerifyRequest round trip). Each lost flight costs at least
//! one retransmission timeout, starting at the initial RTO and doubling (RFC 6347 §4.2.4.1).
#![allow(dead_code)]

#[path = "fixtures.rs"]
pub mod fixtures;
#[path = "link.rs"]
pub mod link;
#[path = "pair.rs"]
pub mod pair;

use dtls_proto::*;
use link::{Link, LinkConfig, LinkStats, Side};
use pair::{Log, Pair, Version, CLIENT, SERVER};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// Certificate validity is checked against this fixed instant (2030-01-01), not the host's
/// clock, so that a trial does not depend on the day it runs.
const WALL_CLOCK_SECS: u64 = 1_893_456_000;

/// Upper bound on drive-loop iterations per trial: far above what any trial needs (each
/// iteration is one distinct instant with a delivery or a timer), so reaching it means the
/// engine asks for the same instant again and again.
const MAX_ITERATIONS: u64 = 200_000;

/// Gap between two application records a side sends after the handshake.
const APP_GAP_MS: u64 = 20;

/// Retransmission timers and handshake deadline, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    pub initial_rto_ms: u64,
    pub max_rto_ms: u64,
    pub handshake_timeout_ms: u64,
}

impl Timers {
    /// The engine's defaults, which are RFC 6347 §4.2.4.1's: 1 s doubling up to 60 s, and a
    /// 60 s handshake deadline.
    pub const DEFAULT: Timers = Timers {
        initial_rto_ms: 1000,
        max_rto_ms: 60_000,
        handshake_timeout_ms: 60_000,
    };

    /// The RFC's initial RTO with the backoff capped at 4 s, and the same 60 s deadline: 16
    /// transmissions of a flight fit in the deadline instead of 6, which is what makes every
    /// handshake complete at 30 % loss (see `tests/impairment.rs`). RFC 9147 §5.8.2 lets
    /// deployment profiles choose shorter timers (it recommends 400 ms for DTLS-SRTP).
    pub const CAPPED: Timers = Timers {
        initial_rto_ms: 1000,
        max_rto_ms: 4000,
        handshake_timeout_ms: 60_000,
    };

    /// The RTO schedule, `initial, 2*initial, ...` capped at the maximum, as far as the
    /// deadline reaches.
    pub fn schedule(&self) -> Vec<u64> {
        let mut out = Vec::new();
        let (mut rto, mut total) = (self.initial_rto_ms, 0u64);
        while total < self.handshake_timeout_ms && out.len() < 64 {
            out.push(rto);
            total += rto;
            rto = rto.saturating_mul(2).min(self.max_rto_ms);
        }
        out
    }
}

/// How the server performs the HelloVerifyRequest cookie exchange (RFC 6347 §4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cookie {
    /// No cookie exchange: the server answers the first ClientHello.
    Off,
    /// The stateless `ServerFrontDoor` answers until a ClientHello carries a valid cookie;
    /// only then is a server `Connection` created and fed that datagram.
    FrontDoor,
    /// A server `Connection` exists from the start and checks the cookie itself.
    Engine,
}

impl Cookie {
    fn label(self) -> &'static str {
        match self {
            Cookie::Off => "off",
            Cookie::FrontDoor => "door",
            Cookie::Engine => "conn",
        }
    }
}

/// One cell of the matrix.
#[derive(Clone, Debug)]
pub struct Cell {
    /// Short name of the impairment profile, for the table.
    pub profile: &'static str,
    pub loss: f64,
    pub reorder: f64,
    pub duplicate: f64,
    pub corrupt: f64,
    pub latency_ms: u64,
    pub jitter_ms: u64,
    pub mtu: u16,
    pub cookie: Cookie,
    /// The server requires a client certificate (webpki both ways); otherwise only the
    /// server is authenticated.
    pub client_auth: bool,
    pub timers: Timers,
    /// Application records each side sends once both are connected.
    pub app_records: usize,
    /// When set, the link is replaced at the moment both sides are connected by one that
    /// also flips a bit in this share of datagrams (datagrams still in flight are lost), to
    /// hammer application data with corruption without failing handshakes.
    pub app_phase_corrupt: Option<f64>,
    /// The protocol version both ends run (`ideal_trips` counts DTLS 1.2 flights).
    pub version: Version,
}

impl Default for Cell {
    fn default() -> Self {
        Cell {
            profile: "plain",
            loss: 0.0,
            reorder: 0.0,
            duplicate: 0.0,
            corrupt: 0.0,
            latency_ms: 50,
            jitter_ms: 0,
            mtu: 1200,
            cookie: Cookie::FrontDoor,
            client_auth: true,
            timers: Timers::DEFAULT,
            app_records: 20,
            app_phase_corrupt: None,
            version: Version::V12,
        }
    }
}

/// The impairment profiles of the matrix, applied on top of a loss rate.
pub fn profile(name: &'static str) -> Cell {
    let base = Cell {
        profile: name,
        ..Cell::default()
    };
    match name {
        "plain" => base,
        // Held-back datagrams are overtaken by everything sent within the latency + jitter
        // window after them.
        "reorder" => Cell {
            reorder: 0.2,
            jitter_ms: 20,
            ..base
        },
        "dup" => Cell {
            duplicate: 0.2,
            ..base
        },
        "corrupt" => Cell {
            corrupt: 0.1,
            ..base
        },
        "mixed" => Cell {
            reorder: 0.1,
            duplicate: 0.1,
            jitter_ms: 30,
            ..base
        },
        // A round trip (1.2 s) longer than the initial RTO (1 s): every timed flight is sent
        // twice before its answer can arrive.
        "slow" => Cell {
            latency_ms: 600,
            ..base
        },
        other => panic!("unknown profile {other}"),
    }
}

/// Every profile, in table order.
pub const PROFILES: [&str; 6] = ["plain", "reorder", "dup", "corrupt", "mixed", "slow"];

impl Cell {
    /// A one-line name: profile, loss, MTU, cookie mode and authentication.
    pub fn label(&self) -> String {
        format!(
            "{:<7} loss {:>2}% mtu {:>4} cookie {:<4} {}",
            self.profile,
            (self.loss * 100.0).round() as u32,
            self.mtu,
            self.cookie.label(),
            if self.client_auth { "mutual" } else { "server" }
        )
    }

    /// The link for one trial.
    pub fn link_config(&self, seed: u64) -> LinkConfig {
        LinkConfig {
            loss: self.loss,
            duplicate: self.duplicate,
            reorder: self.reorder,
            corrupt: self.corrupt,
            latency_ms: self.latency_ms,
            jitter_ms: self.jitter_ms,
            mtu: usize::from(self.mtu),
            seed,
        }
    }

    /// One-way trips a lossless handshake needs until both sides are connected.
    pub fn ideal_trips(&self) -> u64 {
        match self.cookie {
            Cookie::Off => 4,
            Cookie::FrontDoor | Cookie::Engine => 6,
        }
    }

    /// Handshake time on a lossless link with this latency: no jitter, no retransmission.
    pub fn ideal_ms(&self) -> u64 {
        self.ideal_trips() * self.latency_ms
    }

    /// Both configurations. Built once per cell: trials share them (`Arc<Config>`).
    pub fn configs(&self) -> Endpoints {
        let t = self.timers;
        let clock = || WallClock::from_fn(|| WALL_CLOCK_SECS);
        let mut c = pair::builder(self.version)
            .root_certificates_pem(&ca_pem())
            .peer_verification(PeerVerification::WebPki)
            .mtu(self.mtu)
            .timers(t.initial_rto_ms, t.max_rto_ms, t.handshake_timeout_ms)
            .wall_clock(clock())
            .rng_seed(1);
        if self.client_auth {
            c = c.certificate(fixture_cert(CLIENT_CRT, CLIENT_KEY));
        }
        let mut s = pair::builder(self.version)
            .certificate(fixture_cert(SERVER_CRT, SERVER_KEY))
            .cookie_exchange(self.cookie != Cookie::Off)
            .cookie_secret([7; 32])
            .mtu(self.mtu)
            .timers(t.initial_rto_ms, t.max_rto_ms, t.handshake_timeout_ms)
            .wall_clock(clock())
            .rng_seed(2);
        if self.client_auth {
            s = s
                .root_certificates_pem(&ca_pem())
                .peer_verification(PeerVerification::WebPki)
                .client_auth(ClientAuth::Require);
        }
        Endpoints {
            client: c.build().expect("client config"),
            server: s.build().expect("server config"),
        }
    }
}

// The fixtures of tests/fixtures (ECDSA P-256 leaves signed by an intermediate), embedded so
// that the reporting tool runs from any directory.
const CA_CRT: &[u8] = include_bytes!("../fixtures/ca.crt");
const INT_CRT: &[u8] = include_bytes!("../fixtures/int.crt");
const SERVER_CRT: &[u8] = include_bytes!("../fixtures/server.crt");
const SERVER_KEY: &[u8] = include_bytes!("../fixtures/server.key");
const CLIENT_CRT: &[u8] = include_bytes!("../fixtures/client.crt");
const CLIENT_KEY: &[u8] = include_bytes!("../fixtures/client.key");

fn ca_pem() -> Vec<u8> {
    CA_CRT.to_vec()
}

/// A leaf sent with the intermediate: a two-certificate chain, so that flights fragment at
/// small MTUs like real ones.
fn fixture_cert(leaf: &[u8], key: &[u8]) -> Certificate {
    let chain = [leaf, INT_CRT].concat();
    Certificate::from_pem(&chain, key).expect("fixture certificate")
}

/// The two configurations of a cell.
#[derive(Clone)]
pub struct Endpoints {
    pub client: Arc<Config>,
    pub server: Arc<Config>,
}

/// What one role did in a trial.
#[derive(Clone, Debug, Default)]
pub struct RoleLog {
    /// Virtual time of the `Connected` event.
    pub connected_at: Option<u64>,
    /// The first error the engine returned, and when.
    pub error: Option<(u64, Error)>,
    /// `Failed` events seen (each must match `error`).
    pub failed_events: usize,
    /// Events of any kind polled after the handshake completed.
    pub late_events: usize,
    /// Application records this side sent, in order.
    pub app_sent: Vec<Vec<u8>>,
    /// Application records this side received, in order.
    pub app_received: Vec<Vec<u8>>,
    /// Engine counters at the end of the trial (`None` for a server that never existed).
    pub stats: Option<Stats>,
}

/// The result of one trial.
#[derive(Clone, Debug)]
pub struct Trial {
    pub seed: u64,
    pub client: RoleLog,
    pub server: RoleLog,
    /// When both sides were connected.
    pub completed_at: Option<u64>,
    /// Virtual time at which the trial ended.
    pub ended_at: u64,
    /// The trial ran past the point where every handshake must have ended one way or the
    /// other (a deadline not enforced), or nothing was left to happen while a side was still
    /// mid-handshake.
    pub hung: Option<String>,
    pub iterations: u64,
    /// Link counters over the whole trial, and from the moment the first side was connected
    /// (application data may flow from then on), or the link was replaced
    /// (`app_phase_corrupt`).
    pub link: LinkStats,
    pub link_after_connect: LinkStats,
    /// Front-door verdicts (cookie via the front door only).
    pub door: BTreeMap<&'static str, u64>,
    /// A timeline of the trial, when asked for (see [`trace_trial`]).
    pub trace: Vec<String>,
}

/// How a trial ended, coarsely.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Completed,
    /// Every error on either side is `HandshakeTimeout`.
    Timeout,
    /// Some other failure, by code name(s).
    Failed(String),
    Hung,
}

impl Trial {
    pub fn kind(&self) -> Kind {
        if self.hung.is_some() {
            return Kind::Hung;
        }
        let errors: Vec<&Error> = [&self.client.error, &self.server.error]
            .into_iter()
            .flatten()
            .map(|(_, e)| e)
            .collect();
        if self.completed_at.is_some() && errors.is_empty() {
            return Kind::Completed;
        }
        if !errors.is_empty()
            && errors
                .iter()
                .all(|e| matches!(e, Error::HandshakeTimeout { .. }))
        {
            return Kind::Timeout;
        }
        let mut names: Vec<String> = errors.iter().map(|e| short_error(e)).collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            names.push("no outcome".into());
        }
        Kind::Failed(names.join("+"))
    }

    /// Application records delivered that the peer never sent (a corrupted or forged record
    /// got through), over both directions. Must be zero.
    pub fn foreign_app_records(&self) -> usize {
        foreign(&self.client.app_received, &self.server.app_sent)
            + foreign(&self.server.app_received, &self.client.app_sent)
    }

    /// Application records delivered more than once, over both directions. Must be zero.
    pub fn duplicate_app_records(&self) -> usize {
        dups(&self.client.app_received) + dups(&self.server.app_received)
    }

    /// (sent, delivered) application records over both directions.
    pub fn app_counts(&self) -> (usize, usize) {
        (
            self.client.app_sent.len() + self.server.app_sent.len(),
            self.client.app_received.len() + self.server.app_received.len(),
        )
    }

    /// A one-line account for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "seed {} kind {:?} completed_at {:?} ended_at {} client(conn {:?} err {:?}) \
             server(conn {:?} err {:?}) hung {:?} link {:?}",
            self.seed,
            self.kind(),
            self.completed_at,
            self.ended_at,
            self.client.connected_at,
            self.client.error,
            self.server.connected_at,
            self.server.error,
            self.hung,
            self.link
        )
    }
}

fn short_error(e: &Error) -> String {
    match e {
        Error::PeerMisbehaved { alert, .. } => format!("misbehaved({alert:?})"),
        Error::AlertReceived(a) => format!("alert({a:?})"),
        Error::HandshakeTimeout { .. } => "timeout".into(),
        other => other
            .code_name()
            .trim_start_matches("DTLS_ERR_")
            .to_lowercase(),
    }
}

fn foreign(received: &[Vec<u8>], sent: &[Vec<u8>]) -> usize {
    received.iter().filter(|r| !sent.contains(r)).count()
}

fn dups(received: &[Vec<u8>]) -> usize {
    let mut v: Vec<&Vec<u8>> = received.iter().collect();
    v.sort();
    let n = v.len();
    v.dedup();
    n - v.len()
}

/// One application record: direction, seed and index, padded with a pattern derived from
/// them, so that any corruption that got through would show as a foreign record.
fn app_record(from: Side, seed: u64, i: usize) -> Vec<u8> {
    let mut r = format!("{from:?} seed {seed} record {i} ").into_bytes();
    let mut x = seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    while r.len() < 64 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        r.push((x >> 56) as u8);
    }
    r
}

/// One trial: the harness pair (`pair.rs`; with the front door in front of the server when
/// the cell asks for it) plus the application schedule and the link bookkeeping of a trial.
struct Sim<'a> {
    cell: &'a Cell,
    seed: u64,
    p: Pair,
    /// Application records each side sent, in order: [client, server].
    app_sent: [Vec<Vec<u8>>; 2],
    completed_at: Option<u64>,
    link_at_connect: Option<LinkStats>,
    /// Counters of the handshake link when `app_phase_corrupt` replaced it.
    link_replaced: Option<LinkStats>,
}

/// Runs one trial of `cell` with link seed `seed`.
pub fn run_trial(cell: &Cell, eps: &Endpoints, seed: u64) -> Trial {
    run_trial_with(cell, eps, seed, false)
}

/// Runs one trial and keeps its timeline in `Trial::trace`: every datagram sent (and what
/// the link did to it), delivered, every timer fired, every connection and error.
pub fn trace_trial(cell: &Cell, seed: u64) -> Trial {
    run_trial_with(cell, &cell.configs(), seed, true)
}

fn run_trial_with(cell: &Cell, eps: &Endpoints, seed: u64, trace: bool) -> Trial {
    let (c, s, link) = (
        eps.client.clone(),
        eps.server.clone(),
        cell.link_config(seed),
    );
    let mut p = match cell.cookie {
        Cookie::FrontDoor => Pair::with_front_door(c, s, link),
        Cookie::Off | Cookie::Engine => Pair::new(c, s, link),
    };
    if trace {
        p = p.traced();
    }
    let mut sim = Sim {
        cell,
        seed,
        p,
        app_sent: [Vec::new(), Vec::new()],
        completed_at: None,
        link_at_connect: None,
        link_replaced: None,
    };
    let hung = sim.run();
    sim.finish(hung)
}

fn diff(a: LinkStats, b: LinkStats) -> LinkStats {
    LinkStats {
        sent: a.sent - b.sent,
        lost: a.lost - b.lost,
        duplicated: a.duplicated - b.duplicated,
        corrupted: a.corrupted - b.corrupted,
        reordered: a.reordered - b.reordered,
        oversize: a.oversize - b.oversize,
        delivered: a.delivered - b.delivered,
    }
}

fn sum(a: LinkStats, b: LinkStats) -> LinkStats {
    LinkStats {
        sent: a.sent + b.sent,
        lost: a.lost + b.lost,
        duplicated: a.duplicated + b.duplicated,
        corrupted: a.corrupted + b.corrupted,
        reordered: a.reordered + b.reordered,
        oversize: a.oversize + b.oversize,
        delivered: a.delivered + b.delivered,
    }
}

fn index(side: Side) -> usize {
    match side {
        Side::A => 0,
        Side::B => 1,
    }
}

impl Sim<'_> {
    fn log(&self, side: Side) -> &Log {
        match side {
            Side::A => &self.p.c,
            Side::B => &self.p.s,
        }
    }

    fn both_connected(&self) -> bool {
        self.p.c.connected_at().is_some() && self.p.s.connected_at().is_some()
    }

    /// A side is settled when it is connected or failed; a front door that never accepted
    /// holds no handshake.
    fn settled(&self) -> bool {
        let ended = |l: &Log| l.connected_at().is_some() || l.error.is_some();
        ended(&self.p.c) && (!self.p.server_started() || ended(&self.p.s))
    }

    /// Time by which both sides must have settled: the server may start as late as the
    /// client's deadline (front door), then has its own full deadline.
    fn settle_limit(&self) -> u64 {
        2 * self.cell.timers.handshake_timeout_ms + self.cell.timers.max_rto_ms
    }

    /// When the application phase is over, counted from `t0`, when both are connected (the
    /// client is the later one): every record sent, and time for the last ones to cross,
    /// held-back ones included.
    fn app_end(&self, t0: u64) -> u64 {
        let c = self.cell;
        t0 + c.app_records as u64 * APP_GAP_MS + 3 * (c.latency_ms + c.jitter_ms) + 10
    }

    /// When `side` starts sending application data: as soon as it is connected, as a real
    /// application would (so the server's first records race the client's last handshake
    /// messages); with `app_phase_corrupt`, once both are connected and the corrupting link
    /// is in place.
    fn app_start(&self, side: Side) -> Option<u64> {
        if self.cell.app_phase_corrupt.is_some() {
            return self.completed_at;
        }
        let log = self.log(side);
        if log.error.is_some() {
            return None;
        }
        log.connected_at()
    }

    fn send_app(&mut self) {
        let now = self.p.now;
        for side in [CLIENT, SERVER] {
            let Some(t0) = self.app_start(side) else {
                continue;
            };
            let due = ((now - t0) / APP_GAP_MS + 1).min(self.cell.app_records as u64) as usize;
            while self.app_sent[index(side)].len() < due {
                let rec = app_record(side, self.seed, self.app_sent[index(side)].len());
                // Fails only when the association is closed or failed, which is what the
                // trial reports; stop sending from that side.
                if self.p.conn(side).send(&rec).is_err() {
                    break;
                }
                self.app_sent[index(side)].push(rec);
            }
        }
        self.p.pump();
    }

    /// The next application send slot of either side, always after `now`.
    fn next_app_slot(&self) -> Option<u64> {
        [CLIENT, SERVER]
            .into_iter()
            .filter_map(|side| {
                let t0 = self.app_start(side)?;
                let sent = self.app_sent[index(side)].len();
                (sent < self.cell.app_records)
                    .then(|| t0 + ((self.p.now - t0) / APP_GAP_MS + 1) * APP_GAP_MS)
            })
            .min()
    }

    fn state(&self) -> String {
        format!(
            "client conn {:?} err {:?}; server conn {:?} err {:?}",
            self.p.c.connected_at(),
            self.p.c.error,
            self.p.s.connected_at(),
            self.p.s.error
        )
    }

    /// Drives the trial to its end. Returns why it hung, if it did.
    fn run(&mut self) -> Option<String> {
        loop {
            if self.p.iterations >= MAX_ITERATIONS {
                return Some(format!(
                    "iteration cap at t={}: the engine keeps asking for the same instant",
                    self.p.now
                ));
            }
            self.p.step();
            let any_connected =
                self.p.c.connected_at().is_some() || self.p.s.connected_at().is_some();
            if self.link_at_connect.is_none() && any_connected {
                self.link_at_connect = Some(self.p.link.stats());
            }
            if self.completed_at.is_none() && self.both_connected() {
                self.completed_at = Some(self.p.now);
                if let Some(corrupt) = self.cell.app_phase_corrupt {
                    let cfg = LinkConfig {
                        corrupt,
                        ..self.cell.link_config(self.seed ^ 0xa5a5_a5a5)
                    };
                    let old = std::mem::replace(&mut self.p.link, Link::new(cfg));
                    self.link_replaced = Some(old.stats());
                    self.link_at_connect = Some(LinkStats::default());
                }
            }
            let app_end = self.completed_at.map(|t0| self.app_end(t0));
            self.send_app();
            match app_end {
                Some(end) if self.p.now >= end => return None,
                None if self.settled() => return None,
                _ => {}
            }
            if self.p.now > self.settle_limit() {
                return Some(format!(
                    "not settled at t={} ({})",
                    self.p.now,
                    self.state()
                ));
            }
            let next = [
                self.p.next_event(),
                self.next_app_slot(),
                app_end.filter(|&end| end > self.p.now),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) => self.p.now = t.max(self.p.now),
                None => {
                    return Some(format!(
                        "nothing left to happen at t={} but not settled ({})",
                        self.p.now,
                        self.state()
                    ))
                }
            }
        }
    }

    fn finish(self, hung: Option<String>) -> Trial {
        let server_started = self.p.server_started();
        let Sim {
            seed,
            p,
            app_sent: [c_sent, s_sent],
            completed_at,
            link_at_connect,
            link_replaced,
            ..
        } = self;
        let role_log = |log: Log, app_sent: Vec<Vec<u8>>, stats: Option<Stats>| {
            let connected = log
                .events
                .iter()
                .position(|(_, e)| matches!(e, Event::Connected(_)));
            RoleLog {
                connected_at: log.connected_at(),
                failed_events: log
                    .events
                    .iter()
                    .filter(|(_, e)| matches!(e, Event::Failed(_)))
                    .count(),
                late_events: connected.map_or(0, |i| log.events.len() - i - 1),
                error: log.error,
                app_sent,
                app_received: log.app,
                stats,
            }
        };
        let now = p.link.stats();
        let link = match link_replaced {
            Some(old) => sum(old, now),
            None => now,
        };
        let link_after_connect = link_at_connect.map_or(LinkStats::default(), |at| diff(now, at));
        let door = p.gate.map(|g| g.verdicts).unwrap_or_default();
        Trial {
            seed,
            client: role_log(p.c, c_sent, Some(p.client.stats())),
            server: role_log(p.s, s_sent, server_started.then(|| p.server.stats())),
            completed_at,
            ended_at: p.now,
            hung,
            iterations: p.iterations,
            link,
            link_after_connect,
            door,
            trace: p.trace.unwrap_or_default(),
        }
    }
}

/// The trials of one cell and their summary.
#[derive(Clone, Debug)]
pub struct CellReport {
    pub cell: Cell,
    pub trials: Vec<Trial>,
}

/// Runs `n` trials of `cell`, seeds `first_seed..first_seed + n`.
pub fn run_cell(cell: &Cell, n: u64, first_seed: u64) -> CellReport {
    let eps = cell.configs();
    let trials = (first_seed..first_seed + n)
        .map(|seed| run_trial(cell, &eps, seed))
        .collect();
    CellReport {
        cell: cell.clone(),
        trials,
    }
}

/// Nearest-rank percentile of sorted values (`p` in 0..=100).
pub fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p as usize * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

impl CellReport {
    pub fn count(&self, kind: &Kind) -> usize {
        self.trials.iter().filter(|t| t.kind() == *kind).count()
    }

    /// Successful handshake times, sorted.
    pub fn times(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .trials
            .iter()
            .filter(|t| t.kind() == Kind::Completed)
            .filter_map(|t| t.completed_at)
            .collect();
        v.sort_unstable();
        v
    }

    pub fn success_rate(&self) -> f64 {
        if self.trials.is_empty() {
            return 0.0;
        }
        self.count(&Kind::Completed) as f64 / self.trials.len() as f64
    }

    /// Timeouts in which the server had completed: only the final flight (the server's
    /// ChangeCipherSpec and Finished, which is not timed, RFC 6347 §4.2.4) kept getting lost,
    /// and only the client's timer could repair it.
    pub fn final_flight_timeouts(&self) -> usize {
        self.trials
            .iter()
            .filter(|t| t.kind() == Kind::Timeout && t.server.connected_at.is_some())
            .count()
    }

    /// Failure kinds other than completion and timeout, with counts.
    pub fn other_failures(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for t in &self.trials {
            match t.kind() {
                Kind::Completed | Kind::Timeout => {}
                Kind::Failed(s) => *m.entry(s).or_default() += 1,
                Kind::Hung => *m.entry("HUNG".to_string()).or_default() += 1,
            }
        }
        m
    }

    /// Mean retransmissions (both roles) per trial.
    pub fn mean_retransmissions(&self) -> f64 {
        if self.trials.is_empty() {
            return 0.0;
        }
        let sum: u64 = self
            .trials
            .iter()
            .map(|t| {
                [&t.client.stats, &t.server.stats]
                    .into_iter()
                    .flatten()
                    .map(|s| s.retransmissions)
                    .sum::<u64>()
            })
            .sum();
        sum as f64 / self.trials.len() as f64
    }

    /// Fraction of the application records sent that were delivered.
    pub fn app_delivery(&self) -> f64 {
        let (s, d) = self.trials.iter().fold((0, 0), |(s, d), t| {
            let (ts, td) = t.app_counts();
            (s + ts, d + td)
        });
        if s == 0 {
            return 0.0;
        }
        d as f64 / s as f64
    }
}

/// Column headers of [`format_row`].
pub fn table_header() -> String {
    format!(
        "{:<52} {:>5} {:>7} {:>5} {:>4} {:>8} {:>8} {:>8} {:>7} {:>8} {:>6} {:>6}  other failures",
        "cell",
        "n",
        "ok %",
        "t/o",
        "fin",
        "median",
        "p99",
        "max",
        "ideal",
        "p99-id",
        "rtx",
        "app %"
    )
}

fn ms(v: Option<u64>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

/// One table row: cell, trials, success %, timeouts (and among them those where only the
/// final flight was missing), median / p99 / max handshake time (ms of
/// virtual time), the ideal, p99 above the ideal in initial RTOs, mean retransmissions per
/// trial, application records delivered, and other failure kinds.
pub fn format_row(r: &CellReport) -> String {
    let times = r.times();
    let ideal = r.cell.ideal_ms();
    let p99 = percentile(&times, 99);
    let over = p99.map_or("-".into(), |p| {
        format!(
            "{:.1}",
            p.saturating_sub(ideal) as f64 / r.cell.timers.initial_rto_ms as f64
        )
    });
    let mut other = String::new();
    for (k, n) in r.other_failures() {
        let _ = write!(other, "{k}:{n} ");
    }
    format!(
        "{:<52} {:>5} {:>7.1} {:>5} {:>4} {:>8} {:>8} {:>8} {:>7} {:>8} {:>6.1} {:>6.1}  {}",
        r.cell.label(),
        r.trials.len(),
        100.0 * r.success_rate(),
        r.count(&Kind::Timeout),
        r.final_flight_timeouts(),
        ms(percentile(&times, 50)),
        ms(p99),
        ms(times.last().copied()),
        ideal,
        over,
        r.mean_retransmissions(),
        100.0 * r.app_delivery(),
        other.trim_end()
    )
}

/// The full matrix: every profile x loss 0/10/30/50 % x MTU 200/576/1500 x cookie (none, or
/// through the front door) x authentication (server only, mutual), default (RFC) timers.
pub fn full_matrix() -> Vec<Cell> {
    let mut cells = Vec::new();
    for p in PROFILES {
        for loss in [0.0, 0.1, 0.3, 0.5] {
            for mtu in [200u16, 576, 1500] {
                for cookie in [Cookie::Off, Cookie::FrontDoor] {
                    for client_auth in [false, true] {
                        cells.push(Cell {
                            loss,
                            mtu,
                            cookie,
                            client_auth,
                            ..profile(p)
                        });
                    }
                }
            }
        }
    }
    cells
}

/// A summary of many cells by profile and loss: trials, success %, timeouts, other failures,
/// and the worst successful handshake time.
pub fn summary(reports: &[CellReport]) -> String {
    /// (trials, completed, timeouts, other failures, worst time) per (profile, loss %).
    type Tally = (usize, usize, usize, usize, u64);
    let mut groups: BTreeMap<(usize, u32), Tally> = BTreeMap::new();
    for r in reports {
        let p = PROFILES
            .iter()
            .position(|p| *p == r.cell.profile)
            .unwrap_or(PROFILES.len());
        let g = groups
            .entry((p, (r.cell.loss * 100.0).round() as u32))
            .or_default();
        g.0 += r.trials.len();
        g.1 += r.count(&Kind::Completed);
        g.2 += r.count(&Kind::Timeout);
        g.3 += r.trials.len() - r.count(&Kind::Completed) - r.count(&Kind::Timeout);
        g.4 = g.4.max(r.times().last().copied().unwrap_or(0));
    }
    let mut out = format!(
        "{:<8} {:>5} {:>7} {:>8} {:>9} {:>6} {:>9}\n",
        "profile", "loss", "trials", "ok %", "timeouts", "other", "worst ms"
    );
    for ((p, loss), (n, ok, to, other, worst)) in groups {
        let _ = writeln!(
            out,
            "{:<8} {:>4}% {:>7} {:>8.2} {:>9} {:>6} {:>9}",
            PROFILES.get(p).copied().unwrap_or("?"),
            loss,
            n,
            100.0 * ok as f64 / n.max(1) as f64,
            to,
            other,
            worst
        );
    }
    out
}
