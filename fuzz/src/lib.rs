//! Shared by the fuzz targets (`fuzz_targets/`) and the seed generator
//! (`examples/gen_corpus.rs`): the input framing, the fixed configurations, and an endpoint
//! driver that checks the invariants every engine target asserts.
//!
//! The configurations are fixed (certificates from `tests/fixtures`, seeded randomness, a fixed
//! cookie secret and peer address, time starting at 0) so that a recorded handshake replays:
//! a ClientHello recorded with its cookie passes the cookie check of a fresh server, and a
//! recorded server flight is valid for a fresh client, whose random comes from the same seed
//! (the ServerKeyExchange signature covers it). Seeds therefore reach deep states.

use dtls_proto::{
    AlertDescription, Certificate, ClientAuth, Config, Connection, Error, Event, HashAlg,
    PeerVerification, ProtocolVersion, Role,
};
use std::sync::{Arc, OnceLock};

/// The transport address a server under test binds its cookies to.
pub const PEER_ADDR: &[u8] = b"198.51.100.9:5684";
pub const COOKIE_SECRET: [u8; 32] = [0x42; 32];
pub const SERVER_SEED: u64 = 0x5eed_0001;
pub const CLIENT_SEED: u64 = 0x5eed_0002;
/// MTU with [`F_SMALL_MTU`]: small enough that certificates are fragmented.
pub const SMALL_MTU: u16 = 256;
pub const MTU: u16 = 1200;

/// Flags byte, bit 0: the server does the cookie exchange.
pub const F_COOKIES: u8 = 1;
/// Bit 1: the server requires a client certificate (pinned) and the client has one.
pub const F_CLIENT_AUTH: u8 = 2;
/// Bit 2: MTU [`SMALL_MTU`] instead of [`MTU`].
pub const F_SMALL_MTU: u8 = 4;
pub const FLAG_MASK: u8 = 7;
/// Bit 3: datagrams go through `Connection::open_in_place` and application data out through
/// `Connection::seal_into` (the zero-copy record path) instead of `handle_datagram`/`send`.
pub const F_IN_PLACE: u8 = 8;
/// Bit 4: both configurations speak DTLS 1.3 only (the `*13` targets always set it; the
/// `*_prefix` targets take it from their flags byte like the other bits).
pub const F_V13: u8 = 16;

/// Index of the configuration caches: the configuration bits and the version bit.
fn config_index(flags: u8) -> usize {
    usize::from(flags & FLAG_MASK) | usize::from(flags & F_V13 != 0) << 3
}

fn versions(flags: u8) -> &'static [ProtocolVersion] {
    if flags & F_V13 != 0 {
        &[ProtocolVersion::Dtls13]
    } else {
        &[ProtocolVersion::Dtls12]
    }
}

/// Most items one input may carry (bounds the work per execution).
pub const MAX_ITEMS: usize = 48;

/// One step of an engine target's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// Deliver this datagram.
    Datagram(&'a [u8]),
    /// Advance the virtual clock by this many milliseconds and run the timers.
    Wait(u64),
}

/// Splits an engine target's input: one flags byte (bits 0-2 pick the configuration, bit 3
/// the zero-copy record path, see the `F_*` constants), then items, each a big-endian `u16`
/// `n` followed by `n` datagram bytes when `n < 0x8000`, or meaning "wait
/// `(n & 0x7fff) * 4` ms" otherwise. A short last datagram takes what is left.
pub fn parse(data: &[u8]) -> (u8, Vec<Item<'_>>) {
    let Some((&flags, mut rest)) = data.split_first() else {
        return (0, Vec::new());
    };
    let mut items = Vec::new();
    while rest.len() >= 2 && items.len() < MAX_ITEMS {
        let n = u16::from_be_bytes([rest[0], rest[1]]);
        rest = &rest[2..];
        if n & 0x8000 != 0 {
            items.push(Item::Wait(u64::from(n & 0x7fff) * 4));
        } else {
            let n = usize::from(n).min(rest.len());
            items.push(Item::Datagram(&rest[..n]));
            rest = &rest[n..];
        }
    }
    (flags, items)
}

/// The inverse of [`parse`].
pub fn frame(flags: u8, items: &[Item<'_>]) -> Vec<u8> {
    let mut out = vec![flags];
    for it in items {
        match it {
            Item::Datagram(d) => {
                out.extend_from_slice(&(d.len() as u16).to_be_bytes());
                out.extend_from_slice(d);
            }
            Item::Wait(ms) => {
                let n = 0x8000 | ((ms / 4).min(0x7fff) as u16);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
    }
    out
}

pub const SERVER_CERT_PEM: &[u8] = include_bytes!("../../tests/fixtures/selfsigned-a.crt");
pub const SERVER_KEY_PEM: &[u8] = include_bytes!("../../tests/fixtures/selfsigned-a.key");
pub const CLIENT_CERT_PEM: &[u8] = include_bytes!("../../tests/fixtures/selfsigned-b.crt");
pub const CLIENT_KEY_PEM: &[u8] = include_bytes!("../../tests/fixtures/selfsigned-b.key");

pub fn server_cert() -> Certificate {
    static C: OnceLock<Certificate> = OnceLock::new();
    C.get_or_init(|| Certificate::from_pem(SERVER_CERT_PEM, SERVER_KEY_PEM).expect("fixture"))
        .clone()
}

pub fn client_cert() -> Certificate {
    static C: OnceLock<Certificate> = OnceLock::new();
    C.get_or_init(|| Certificate::from_pem(CLIENT_CERT_PEM, CLIENT_KEY_PEM).expect("fixture"))
        .clone()
}

fn mtu(flags: u8) -> u16 {
    if flags & F_SMALL_MTU != 0 {
        SMALL_MTU
    } else {
        MTU
    }
}

/// The server configuration for `flags` (built once per flags value).
pub fn server_config(flags: u8) -> Arc<Config> {
    static C: [OnceLock<Arc<Config>>; 16] = [const { OnceLock::new() }; 16];
    C[config_index(flags)]
        .get_or_init(|| {
            let mut b = Config::builder()
                .versions(versions(flags))
                .certificate(server_cert())
                .cookie_exchange(flags & F_COOKIES != 0)
                .cookie_secret(COOKIE_SECRET)
                .rng_seed(SERVER_SEED)
                .mtu(mtu(flags))
                .timers(1000, 8000, 30_000);
            if flags & F_CLIENT_AUTH != 0 {
                b = b
                    .client_auth(ClientAuth::Require)
                    .peer_fingerprint(client_cert().fingerprint(HashAlg::Sha256));
            }
            b.build().expect("server config")
        })
        .clone()
}

/// The client configuration for `flags`: pins the server fixture's fingerprint.
pub fn client_config(flags: u8) -> Arc<Config> {
    static C: [OnceLock<Arc<Config>>; 16] = [const { OnceLock::new() }; 16];
    C[config_index(flags)]
        .get_or_init(|| {
            let mut b = Config::builder()
                .versions(versions(flags))
                .peer_verification(PeerVerification::Fingerprint)
                .peer_fingerprint(server_cert().fingerprint(HashAlg::Sha256))
                .rng_seed(CLIENT_SEED)
                .mtu(mtu(flags))
                .timers(1000, 8000, 30_000);
            if flags & F_CLIENT_AUTH != 0 {
                b = b.certificate(client_cert());
            }
            b.build().expect("client config")
        })
        .clone()
}

/// Errors a peer (or the network) may legitimately cause. Anything else (`Internal`,
/// `InvalidConfig`, API-misuse kinds) means junk reached where it must not: a bug.
pub fn peer_caused(e: &Error) -> bool {
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
                // DTLS 1.3 (RFC 8446 §4.2, §4.4.2.4).
                | A::MissingExtension
                | A::CertificateRequired
        ),
        Error::HandshakeTimeout { .. }
        | Error::AlertReceived(_)
        | Error::BadFinished
        | Error::BadSignature
        | Error::CertificateRejected(_)
        | Error::FingerprintMismatch
        | Error::NoCommonParameters(_)
        | Error::ExtendedMasterSecretRequired
        | Error::NoPeerCertificate => true,
        _ => false,
    }
}

/// One engine endpoint under test, with the invariants checked on every call.
pub struct Endpoint {
    pub conn: Connection,
    pub now: u64,
    mtu: usize,
    pub connected: bool,
    pub failed: Option<Error>,
    pub close_notify: bool,
    /// Application data received.
    pub app: Vec<Vec<u8>>,
    /// Use the zero-copy record path ([`F_IN_PLACE`]).
    pub in_place: bool,
}

impl Endpoint {
    pub fn server(flags: u8) -> Self {
        let mut conn =
            Connection::new(server_config(flags), Role::Server, None, 0).expect("server");
        conn.set_peer_address(PEER_ADDR);
        Endpoint::wrap(conn, flags)
    }

    pub fn client(flags: u8) -> Self {
        Endpoint::wrap(
            Connection::new(client_config(flags), Role::Client, None, 0).expect("client"),
            flags,
        )
    }

    pub fn new(role: Role, flags: u8) -> Self {
        match role {
            Role::Client => Endpoint::client(flags),
            Role::Server => Endpoint::server(flags),
        }
    }

    fn wrap(conn: Connection, flags: u8) -> Self {
        Endpoint {
            conn,
            now: 0,
            mtu: usize::from(mtu(flags)),
            connected: false,
            failed: None,
            close_notify: false,
            app: Vec::new(),
            in_place: flags & F_IN_PLACE != 0,
        }
    }

    fn result(&mut self, r: Result<(), Error>) {
        match r {
            Ok(()) => assert!(
                self.failed.is_none(),
                "a call succeeded on an association that failed with {:?}",
                self.failed
            ),
            Err(e) => {
                assert!(peer_caused(&e), "error a peer must not cause: {e:?}");
                if let Some(first) = &self.failed {
                    assert_eq!(first, &e, "a dead association reports its first error");
                }
                self.failed = Some(e);
            }
        }
        self.events();
    }

    fn events(&mut self) {
        while let Some(ev) = self.conn.poll_event() {
            match ev {
                Event::Connected(_) => {
                    assert!(!self.connected, "Connected twice");
                    assert!(self
                        .conn
                        .export_keying_material(b"fuzz", None, &mut [0; 8])
                        .is_ok());
                    self.connected = true;
                }
                Event::Failed(e) => assert!(peer_caused(&e), "Failed({e:?})"),
                Event::CloseNotify => self.close_notify = true,
                _ => {}
            }
        }
    }

    /// Delivers one datagram.
    pub fn feed(&mut self, d: &[u8]) {
        if self.in_place {
            let mut buf = d.to_vec();
            let r = match self.conn.open_in_place(self.now, &mut buf) {
                Ok(Some(plain)) => {
                    assert!(plain.len() <= d.len());
                    self.app.push(plain.to_vec());
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            self.result(r);
            return;
        }
        let r = self.conn.handle_datagram(self.now, d);
        self.result(r);
    }

    /// Sends one application record if the association is up (queued, or with
    /// [`F_IN_PLACE`] sealed straight into a datagram, which must fit the MTU); returns the
    /// datagram when it was sealed directly.
    pub fn send_app(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        if !self.connected || self.failed.is_some() {
            return None;
        }
        if self.in_place {
            let mut out = vec![0u8; 2048];
            match self.conn.seal_into(data, &mut out) {
                Ok(n) => {
                    assert!(n <= self.mtu, "sealed datagram of {n} bytes over the MTU");
                    out.truncate(n);
                    return Some(out);
                }
                Err(e) => assert!(
                    matches!(e, Error::Closed | Error::InvalidArgument(_)) || peer_caused(&e),
                    "seal_into: {e:?}"
                ),
            }
            return None;
        }
        let _ = self.conn.send(data);
        None
    }

    /// Advances the clock and runs the timers.
    pub fn wait(&mut self, ms: u64) {
        self.now += ms;
        let r = self.conn.handle_timeout(self.now);
        self.result(r);
    }

    /// Everything the endpoint wants to send (each datagram within the MTU), after reading
    /// what it received.
    pub fn drain(&mut self) -> Vec<Vec<u8>> {
        let mut app = [0u8; 2048];
        while let Ok(Some(n)) = self.conn.recv(&mut app) {
            self.app.push(app[..n].to_vec());
        }
        let mut out = Vec::new();
        let mut buf = vec![0u8; 4096];
        for _ in 0..512 {
            match self.conn.poll_transmit(self.now, &mut buf) {
                Ok(Some(n)) => {
                    assert!(
                        n <= self.mtu,
                        "datagram of {n} bytes over the MTU {}",
                        self.mtu
                    );
                    out.push(buf[..n].to_vec());
                }
                Ok(None) => break,
                Err(e) => panic!("poll_transmit failed: {e:?}"),
            }
        }
        self.events();
        out
    }
}

/// The handshake between two fresh endpoints, lossless and in order, as the list of
/// (from_client, datagram) in sending order; ends with one application record each way.
pub fn honest_transcript(flags: u8) -> Vec<(bool, Vec<u8>)> {
    let mut c = Endpoint::client(flags);
    let mut s = Endpoint::server(flags);
    let mut log = Vec::new();
    let mut sent_app = false;
    for _ in 0..32 {
        let mut quiet = true;
        for d in c.drain() {
            quiet = false;
            s.feed(&d);
            log.push((true, d));
        }
        for d in s.drain() {
            quiet = false;
            c.feed(&d);
            log.push((false, d));
        }
        if c.connected && s.connected && !sent_app {
            sent_app = true;
            c.conn.send(b"ping from the client").expect("send");
            s.conn.send(b"pong from the server").expect("send");
            quiet = false;
        }
        if quiet {
            break;
        }
    }
    assert!(
        c.connected && s.connected,
        "honest handshake with flags {flags}"
    );
    log
}

/// The "after a valid handshake prefix" targets: a client and a server run an honest,
/// lossless handshake for `data[0] % 24` datagram deliveries; then the endpoint in `sut_role`
/// gets the arbitrary items of `data[1..]` (format of [`parse`]) while the honest traffic
/// still in flight is held back; then the honest exchange resumes (so held and fuzzed
/// traffic interleave as reordering would). Checked, beyond [`Endpoint`]'s invariants:
/// an endpoint that completes has authenticated the honest peer's certificate, and when
/// both complete they share the same keys (equal exporter output).
pub fn run_prefix(sut_role: Role, data: &[u8]) {
    use std::collections::VecDeque;
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let (flags, items) = parse(rest);
    let mut c = Endpoint::client(flags);
    let mut s = Endpoint::server(flags);
    let mut to_s: VecDeque<Vec<u8>> = c.drain().into();
    let mut to_c: VecDeque<Vec<u8>> = VecDeque::new();
    for _ in 0..(k % 24) {
        if let Some(d) = to_s.pop_front() {
            s.feed(&d);
        } else if let Some(d) = to_c.pop_front() {
            c.feed(&d);
        } else {
            break;
        }
        to_s.extend(c.drain());
        to_c.extend(s.drain());
    }
    for it in items {
        let (sut, other_queue) = match sut_role {
            Role::Server => (&mut s, &mut to_c),
            Role::Client => (&mut c, &mut to_s),
        };
        match it {
            Item::Datagram(d) => sut.feed(d),
            Item::Wait(ms) => sut.wait(ms),
        }
        other_queue.extend(sut.drain());
        other_queue.extend(sut.send_app(b"fuzz"));
    }
    for _ in 0..24 {
        let mut moved = false;
        while let Some(d) = to_s.pop_front() {
            s.feed(&d);
            moved = true;
        }
        to_c.extend(s.drain());
        while let Some(d) = to_c.pop_front() {
            c.feed(&d);
            moved = true;
        }
        to_s.extend(c.drain());
        if !moved {
            break;
        }
    }
    if c.connected && c.failed.is_none() {
        assert_eq!(c.conn.peer_certificates(), server_cert().chain());
    }
    if s.connected && s.failed.is_none() && flags & F_CLIENT_AUTH != 0 {
        assert_eq!(s.conn.peer_certificates(), client_cert().chain());
    }
    if c.connected && s.connected && c.failed.is_none() && s.failed.is_none() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        c.conn
            .export_keying_material(b"EXTRACTOR-fuzz", None, &mut a)
            .expect("exporter");
        s.conn
            .export_keying_material(b"EXTRACTOR-fuzz", None, &mut b)
            .expect("exporter");
        assert_eq!(a, b, "both ends completed with different keys");
    }
}
