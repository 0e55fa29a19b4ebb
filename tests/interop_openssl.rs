//! Interop of the engine against OpenSSL 3 running in-process (`tests/common/ossl.rs`), in
//! both roles, over in-memory datagrams on a virtual clock (the exchange is lossless, so no
//! timer ever has to fire on either side).
//!
//! Covered: the six ECDHE suites (table-driven, both roles, forced from either side), the
//! three groups, ECDSA P-256, ECDSA P-384 and RSA certificate keys and their signature
//! schemes, the HelloVerifyRequest cookie exchange on and off, mutual authentication by webpki
//! roots and by pinned fingerprints, a fragmented certificate chain at MTU 576, the RFC 5705
//! exporter against `SSL_export_keying_material`, extended master secret on and off,
//! application data and close_notify both ways, duplicates, and the failures a wrong pin or a
//! missing client certificate must produce.
//!
//! The driver (`Session`) shuttles datagrams: our `poll_transmit` -> OpenSSL `feed`, OpenSSL
//! `step`, OpenSSL `take_output` -> our `handle_datagram`, for a bounded number of rounds,
//! recording every datagram each side sent so tests can assert on the wire.

mod common;

use common::fixtures::fixture;
use common::ossl::{dtls_records, OsslEndpoint, OsslOptions};
use common::pair::poll_all;
use dtls_proto::{
    AlertDescription, CipherSuite, Config, ConfigBuilder, Connection, Error, Event, Fingerprint,
    HashAlg, NamedGroup, ProtocolVersion, Role,
};
use openssl::x509::X509;
use std::sync::Arc;

/// Bound on driver rounds. A DTLS 1.2 handshake needs at most 4 round trips (with cookie
/// exchange), so anything near this bound means a stall, not a slow peer.
const MAX_ROUNDS: usize = 32;

/// Big enough for any datagram either side may produce at the MTUs used here.
const BUF: usize = 4096;

/// The SNI / name our clients check: the server fixtures carry `DNS:dtls-server`.
const SERVER_NAME: &str = "dtls-server";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// Key type of a leaf certificate fixture (all are signed by `int`, which `ca` signs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    P256,
    Rsa,
    P384,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::P256 => "",
            Kind::Rsa => "rsa-",
            Kind::P384 => "p384-",
        }
    }
}

/// `(chain PEM = leaf + int, key PEM)` of a CA-issued leaf; `who` is "server" or "client".
fn issued(kind: Kind, who: &str) -> (Vec<u8>, Vec<u8>) {
    let p = kind.prefix();
    let chain = [fixture(&format!("{p}{who}.crt")), fixture("int.crt")].concat();
    (chain, fixture(&format!("{p}{who}.key")))
}

/// `(cert PEM, key PEM)` of the self-signed fixture `selfsigned-{ab}`.
fn selfsigned(ab: &str) -> (Vec<u8>, Vec<u8>) {
    (
        fixture(&format!("selfsigned-{ab}.crt")),
        fixture(&format!("selfsigned-{ab}.key")),
    )
}

/// DER of the first certificate of a PEM blob.
fn leaf_der(pem: &[u8]) -> Vec<u8> {
    X509::from_pem(pem)
        .and_then(|c| c.to_der())
        .expect("fixture PEM parses")
}

/// SDP fingerprint (`sha-256 AB:..`) of the first certificate of a PEM blob.
fn sdp_fingerprint(pem: &[u8]) -> String {
    Fingerprint::of(HashAlg::Sha256, &leaf_der(pem)).to_sdp()
}

/// Our certificate from a PEM chain and key.
fn our_cert(chain: &[u8], key: &[u8]) -> dtls_proto::Certificate {
    dtls_proto::Certificate::from_pem(chain, key).expect("fixture certificate loads")
}

/// OpenSSL server options with the given chain and key (cookie exchange on, like `s_server`).
fn ossl_server(chain: Vec<u8>, key: Vec<u8>) -> OsslOptions {
    OsslOptions {
        role_server: true,
        cert_chain_pem: Some(chain),
        key_pem: Some(key),
        cookie_exchange: true,
        ..Default::default()
    }
}

/// OpenSSL client options verifying the server against `ca.crt`.
fn ossl_client_verifying() -> OsslOptions {
    OsslOptions {
        role_server: false,
        ca_pem: Some(fixture("ca.crt")),
        verify_peer: true,
        ..Default::default()
    }
}

/// Our client config trusting `ca.crt`.
fn our_client() -> ConfigBuilder {
    Config::builder().root_certificates_pem(&fixture("ca.crt"))
}

/// Our server config with a CA-issued certificate of `kind`.
fn our_server(kind: Kind) -> ConfigBuilder {
    let (chain, key) = issued(kind, "server");
    Config::builder().certificate(our_cert(&chain, &key))
}

// ---------------------------------------------------------------------------------------------
// Suites
// ---------------------------------------------------------------------------------------------

/// One row of the suite matrix: our enum value, the IANA name (what OpenSSL's
/// `SSL_CIPHER_standard_name` reports), OpenSSL's own name, and whether it needs an RSA key.
struct SuiteCase {
    suite: CipherSuite,
    iana: &'static str,
    openssl: &'static str,
    rsa: bool,
}

const SUITES: &[SuiteCase] = &[
    SuiteCase {
        suite: CipherSuite::EcdheEcdsaAes128GcmSha256,
        iana: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        openssl: "ECDHE-ECDSA-AES128-GCM-SHA256",
        rsa: false,
    },
    SuiteCase {
        suite: CipherSuite::EcdheEcdsaAes256GcmSha384,
        iana: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        openssl: "ECDHE-ECDSA-AES256-GCM-SHA384",
        rsa: false,
    },
    SuiteCase {
        suite: CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        iana: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        openssl: "ECDHE-ECDSA-CHACHA20-POLY1305",
        rsa: false,
    },
    SuiteCase {
        suite: CipherSuite::EcdheRsaAes128GcmSha256,
        iana: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        openssl: "ECDHE-RSA-AES128-GCM-SHA256",
        rsa: true,
    },
    SuiteCase {
        suite: CipherSuite::EcdheRsaAes256GcmSha384,
        iana: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        openssl: "ECDHE-RSA-AES256-GCM-SHA384",
        rsa: true,
    },
    SuiteCase {
        suite: CipherSuite::EcdheRsaChacha20Poly1305Sha256,
        iana: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        openssl: "ECDHE-RSA-CHACHA20-POLY1305",
        rsa: true,
    },
];

/// IANA name of one of our suites, from the table.
fn iana_name(suite: CipherSuite) -> &'static str {
    SUITES
        .iter()
        .find(|c| c.suite == suite)
        .map_or("<not in table>", |c| c.iana)
}

// ---------------------------------------------------------------------------------------------
// Wire inspection
// ---------------------------------------------------------------------------------------------

/// One plaintext (epoch 0) handshake fragment found in a datagram.
#[derive(Clone, Debug)]
struct HsFragment {
    /// Index of the datagram it travelled in, within one side's transcript.
    datagram: usize,
    msg_type: u8,
    length: usize,
    msg_seq: u16,
    frag_off: usize,
    frag_len: usize,
    /// The fragment's bytes (truncated if the record was).
    data: Vec<u8>,
}

fn u24(b: &[u8]) -> usize {
    (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2])
}

/// Every epoch-0 handshake fragment in `datagrams` (RFC 6347 §4.2.2 header: type(1) length(3)
/// message_seq(2) fragment_offset(3) fragment_length(3)). Encrypted records are skipped.
/// Panics on a datagram that does not split exactly into records: both sides must keep
/// record boundaries intact.
fn handshake_fragments(datagrams: &[Vec<u8>]) -> Vec<HsFragment> {
    let mut out = Vec::new();
    for (i, d) in datagrams.iter().enumerate() {
        assert!(
            dtls_records(d).is_some(),
            "datagram {i} does not parse as DTLS records"
        );
        let mut rest = &d[..];
        while rest.len() >= 13 {
            let epoch = u16::from_be_bytes([rest[3], rest[4]]);
            let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
            let body = &rest[13..13 + len];
            if rest[0] == 22 && epoch == 0 {
                let mut b = body;
                while b.len() >= 12 {
                    let frag_len = u24(&b[9..12]);
                    out.push(HsFragment {
                        datagram: i,
                        msg_type: b[0],
                        length: u24(&b[1..4]),
                        msg_seq: u16::from_be_bytes([b[4], b[5]]),
                        frag_off: u24(&b[6..9]),
                        frag_len,
                        data: b[12..(12 + frag_len).min(b.len())].to_vec(),
                    });
                    b = &b[(12 + frag_len).min(b.len())..];
                }
            }
            rest = &rest[13 + len..];
        }
    }
    out
}

/// How many times a handshake message of `msg_type` was started (fragment offset 0) in
/// `datagrams`: counts ClientHellos and HelloVerifyRequests.
fn count_messages(datagrams: &[Vec<u8>], msg_type: u8) -> usize {
    handshake_fragments(datagrams)
        .iter()
        .filter(|f| f.msg_type == msg_type && f.frag_off == 0)
        .count()
}

/// The body of the first handshake message of `msg_type`, reassembled from its fragments
/// (OpenSSL fills each datagram and splits whatever message crosses the boundary).
/// `None` if absent or incomplete.
fn first_message(datagrams: &[Vec<u8>], msg_type: u8) -> Option<Vec<u8>> {
    let frags = handshake_fragments(datagrams);
    let first = frags.iter().find(|f| f.msg_type == msg_type)?;
    let (seq, length) = (first.msg_seq, first.length);
    let mut body = vec![0u8; length];
    let mut have = vec![false; length];
    for f in frags
        .iter()
        .filter(|f| f.msg_type == msg_type && f.msg_seq == seq)
    {
        let end = f.frag_off + f.data.len();
        body.get_mut(f.frag_off..end)?.copy_from_slice(&f.data);
        have[f.frag_off..end].iter_mut().for_each(|h| *h = true);
    }
    have.iter().all(|h| *h).then_some(body)
}

/// The SignatureScheme of a ServerKeyExchange for ECDHE (RFC 8422 §5.4: curve_type(1)
/// named_curve(2) point<1..2^8-1>, then the DigitallySigned's scheme(2)).
fn ske_scheme(datagrams: &[Vec<u8>]) -> Option<u16> {
    let b = first_message(datagrams, 12)?;
    let at = 4 + usize::from(*b.get(3)?);
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The SignatureScheme of a CertificateVerify (RFC 5246 §7.4.8: DigitallySigned).
fn certificate_verify_scheme(datagrams: &[Vec<u8>]) -> Option<u16> {
    let b = first_message(datagrams, 15)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// Extension types in the ServerHello (RFC 5246 §7.4.1.3: version(2) random(32)
/// session_id<0..32> cipher_suite(2) compression(1) extensions<0..2^16-1>).
fn server_hello_extensions(datagrams: &[Vec<u8>]) -> Vec<u16> {
    let Some(b) = first_message(datagrams, 2) else {
        return Vec::new();
    };
    let mut at = 34 + 1 + usize::from(b[34]) + 3;
    let mut out = Vec::new();
    if b.len() < at + 2 {
        return out;
    }
    let end = (at + 2 + usize::from(u16::from_be_bytes([b[at], b[at + 1]]))).min(b.len());
    at += 2;
    while at + 4 <= end {
        out.push(u16::from_be_bytes([b[at], b[at + 1]]));
        at += 4 + usize::from(u16::from_be_bytes([b[at + 2], b[at + 3]]));
    }
    out
}

/// extended_master_secret's extension type (RFC 7627 §5.1).
const EXT_EMS: u16 = 23;

/// Plaintext (epoch 0) alert bodies `[level, description]` in `datagrams`.
fn plaintext_alerts(datagrams: &[Vec<u8>]) -> Vec<[u8; 2]> {
    let mut out = Vec::new();
    for d in datagrams {
        let mut rest = &d[..];
        while rest.len() >= 13 {
            let epoch = u16::from_be_bytes([rest[3], rest[4]]);
            let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
            let Some(body) = rest.get(13..13 + len) else {
                break;
            };
            if rest[0] == 21 && epoch == 0 && body.len() == 2 {
                out.push([body[0], body[1]]);
            }
            rest = &rest[13 + len..];
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------------------------

/// Why a drive did not complete.
#[derive(Debug)]
enum Failure {
    /// Our engine failed (its fatal alert, if any, has been delivered to OpenSSL).
    Ours(Error),
    /// OpenSSL failed (its output, e.g. an alert, has been delivered to us).
    Theirs(String),
    /// Nobody failed but the handshake did not complete in `MAX_ROUNDS`.
    Stalled(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Ours(e) => write!(f, "our engine failed: {e} ({})", e.code_name()),
            Failure::Theirs(e) => write!(f, "OpenSSL failed: {e}"),
            Failure::Stalled(why) => write!(f, "handshake stalled: {why}"),
        }
    }
}

/// Our engine and an OpenSSL peer joined by a lossless in-memory link, with both sides'
/// datagrams and our events recorded for later inspection.
struct Session {
    ours: Connection,
    peer: OsslEndpoint,
    /// Our configured MTU: no datagram we emit may exceed it.
    mtu: u16,
    /// Virtual time for the engine; the exchange is lossless so it never needs to move
    /// except in the timeout test.
    now: u64,
    /// Datagrams our engine emitted.
    sent: Vec<Vec<u8>>,
    /// Datagrams OpenSSL emitted.
    received: Vec<Vec<u8>>,
    events: Vec<Event>,
}

impl Session {
    /// Our side with `cfg` in `role` (a client checks the name `dtls-server`), against an
    /// OpenSSL endpoint built from `peer`.
    fn new(cfg: Arc<Config>, role: Role, mut peer: OsslOptions) -> Session {
        // OpenSSL's retransmission timer runs on the real clock. The link is lossless, so a
        // retransmission could only come from this thread being descheduled for a second on
        // a busy machine, and would then upset the wire counts; a 60 s first timeout rules
        // that out.
        peer.timer_initial_us.get_or_insert(60_000_000);
        let name = (role == Role::Client).then_some(SERVER_NAME);
        let mtu = cfg.mtu();
        let ours = Connection::new(cfg, role, name, 0).expect("connection");
        let peer = OsslEndpoint::try_new(peer)
            .unwrap_or_else(|e| panic!("OpenSSL rejected its options: {e}"));
        Session {
            ours,
            peer,
            mtu,
            now: 0,
            sent: Vec::new(),
            received: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Sends everything our engine has queued to OpenSSL.
    fn flush_ours(&mut self) -> Result<(), Error> {
        for d in poll_all(&mut self.ours, self.now)? {
            self.peer.feed(&d);
            self.sent.push(d);
        }
        Ok(())
    }

    /// Delivers everything OpenSSL has queued to our engine. Stops at our first error.
    fn deliver_theirs(&mut self) -> Result<(), Error> {
        let out = self.peer.take_output();
        let first = self.received.len();
        self.received.extend(out);
        for i in first..self.received.len() {
            self.ours.handle_datagram(self.now, &self.received[i])?;
        }
        Ok(())
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.ours.poll_event() {
            self.events.push(e);
        }
    }

    /// One round: our output -> OpenSSL, OpenSSL steps, its output -> us. On a failure the
    /// failing side's last words (its alert) are still delivered so the other side sees them.
    fn round(&mut self) -> Result<(), Failure> {
        let r = self.round_inner();
        self.drain_events();
        r
    }

    fn round_inner(&mut self) -> Result<(), Failure> {
        if let Err(e) = self.flush_ours() {
            return Err(Failure::Ours(e));
        }
        if let Err(e) = self.peer.step() {
            let _ = self.deliver_theirs();
            return Err(Failure::Theirs(e));
        }
        if let Err(e) = self.deliver_theirs() {
            let _ = self.flush_ours();
            let _ = self.peer.step();
            return Err(Failure::Ours(e));
        }
        Ok(())
    }

    /// Runs rounds until both sides report the handshake complete.
    fn handshake(&mut self) -> Result<(), Failure> {
        for _ in 0..MAX_ROUNDS {
            self.round()?;
            if self.ours.is_connected() && self.peer.is_connected() {
                return Ok(());
            }
        }
        Err(Failure::Stalled(format!(
            "ours connected={} theirs connected={} theirs error={:?}",
            self.ours.is_connected(),
            self.peer.is_connected(),
            self.peer.error()
        )))
    }

    /// Like `handshake`, for tests that expect success: panics with the failure.
    fn connect(&mut self, what: &str) {
        if let Err(f) = self.handshake() {
            panic!("{what}: handshake failed: {f}");
        }
    }

    /// A few rounds after the handshake, to carry data, alerts and replies both ways.
    fn settle(&mut self) -> Result<(), Failure> {
        for _ in 0..3 {
            self.round()?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Checks on an established association
// ---------------------------------------------------------------------------------------------

/// Exporter inputs compared against `SSL_export_keying_material`: the DTLS-SRTP label with
/// no context (RFC 5764 §4.2), a custom label with a context, and with an *empty* context,
/// which RFC 5705 §4 distinguishes from no context (the length prefix is still hashed).
const EXPORTS: &[(&str, Option<&[u8]>, usize)] = &[
    ("EXTRACTOR-dtls_srtp", None, 60),
    ("EXPORTER-interop-test", Some(b"interop context"), 48),
    ("EXPORTER-interop-test", None, 48),
    ("EXPORTER-interop-test", Some(b""), 32),
];

/// Everything an established association must agree on with OpenSSL: version, suite (by
/// IANA name on both sides), EMS, one Connected event carrying `negotiated()`, no failure,
/// the exporter, and application data both ways.
fn check_established(s: &mut Session, what: &str) {
    check_established_ems(s, what, true);
}

/// `check_established` with the expected extended_master_secret outcome, checked both in
/// `negotiated()` and on the wire (the server's ServerHello echoes the extension iff both
/// sides use it, RFC 7627 §5.2).
fn check_established_ems(s: &mut Session, what: &str, ems: bool) {
    let neg = s
        .ours
        .negotiated()
        .unwrap_or_else(|| panic!("{what}: no negotiated parameters"))
        .clone();
    assert_eq!(neg.version, ProtocolVersion::Dtls12, "{what}");
    assert_eq!(s.peer.version_str(), "DTLSv1.2", "{what}");
    assert_eq!(
        s.peer.cipher_standard_name(),
        iana_name(neg.cipher_suite),
        "{what}: suite names differ between the two sides"
    );
    assert_eq!(neg.extended_master_secret, ems, "{what}: EMS");
    let server_sent = match s.ours.role() {
        Role::Client => &s.received,
        Role::Server => &s.sent,
    };
    assert_eq!(
        server_hello_extensions(server_sent).contains(&EXT_EMS),
        ems,
        "{what}: EMS in ServerHello"
    );

    let connected: Vec<_> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Connected(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(connected, vec![&neg], "{what}: exactly one Connected event");
    assert!(
        !s.events.iter().any(|e| matches!(e, Event::Failed(_))),
        "{what}: unexpected failure event in {:?}",
        s.events
    );
    assert!(
        !s.ours.peer_certificates().is_empty() || s.ours.role() == Role::Server,
        "{what}: a client always authenticates the server"
    );

    check_exporter(s, what);
    exchange_app_data(s, what);
}

/// Our exporter output equals OpenSSL's for every row of `EXPORTS`, and the context and
/// label really enter the computation.
fn check_exporter(s: &Session, what: &str) {
    let mut outputs = Vec::new();
    for &(label, context, len) in EXPORTS {
        let mut ours = vec![0u8; len];
        s.ours
            .export_keying_material(label.as_bytes(), context, &mut ours)
            .unwrap_or_else(|e| panic!("{what}: our exporter failed: {e}"));
        let theirs = s
            .peer
            .try_export_keying_material(label, context, len)
            .unwrap_or_else(|e| panic!("{what}: OpenSSL exporter failed: {e}"));
        assert_eq!(
            ours, theirs,
            "{what}: exporter differs for label {label:?} context {context:?}"
        );
        outputs.push(ours);
    }
    // Same label with a context, without one, and with an empty one: the PRF output is a
    // stream (RFC 5246 §5), so on equal seeds the first 32 bytes would match whatever the
    // lengths; they differ only if the context really enters the seed.
    assert_ne!(
        outputs[1][..32],
        outputs[2][..32],
        "{what}: context ignored"
    );
    assert_ne!(
        outputs[2][..32],
        outputs[3][..32],
        "{what}: empty context treated as no context"
    );
}

/// Several records each way, including one of the largest size our MTU allows, delivered
/// in order and intact.
fn exchange_app_data(s: &mut Session, what: &str) {
    let max = s.ours.max_send_len();
    assert!(max > 100, "{what}: max_send_len {max} implausibly small");
    let payloads: Vec<Vec<u8>> = [1usize, 17, 100, 999.min(max), max]
        .iter()
        .enumerate()
        .map(|(i, &n)| (0..n).map(|j| (i * 31 + j) as u8).collect())
        .collect();

    // Ours -> OpenSSL.
    for p in &payloads {
        s.ours
            .send(p)
            .unwrap_or_else(|e| panic!("{what}: send: {e}"));
    }
    let before = s.sent.len();
    s.flush_ours()
        .unwrap_or_else(|e| panic!("{what}: flush: {e}"));
    let mtu = usize::from(s.mtu);
    for d in &s.sent[before..] {
        assert!(
            d.len() <= mtu,
            "{what}: datagram of {} > MTU {mtu}",
            d.len()
        );
        let recs = dtls_records(d).expect("our datagram parses");
        assert!(recs.iter().all(|r| r.content_type == 23 && r.epoch == 1));
    }
    s.peer
        .step()
        .unwrap_or_else(|e| panic!("{what}: OpenSSL read failed: {e}"));
    for p in &payloads {
        assert_eq!(
            s.peer.read().as_deref(),
            Some(&p[..]),
            "{what}: OpenSSL got wrong data"
        );
    }
    assert_eq!(s.peer.read(), None, "{what}: OpenSSL got extra data");

    // OpenSSL -> ours.
    for p in payloads.iter().rev() {
        s.peer
            .write(p)
            .unwrap_or_else(|e| panic!("{what}: OpenSSL write: {e}"));
    }
    s.deliver_theirs()
        .unwrap_or_else(|e| panic!("{what}: handle_datagram: {e}"));
    let mut buf = vec![0u8; BUF];
    for p in payloads.iter().rev() {
        let n = s
            .ours
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("{what}: recv: {e}"))
            .unwrap_or_else(|| panic!("{what}: a record from OpenSSL is missing"));
        assert_eq!(&buf[..n], &p[..], "{what}: we got wrong data");
    }
    assert_eq!(s.ours.recv(&mut buf).unwrap(), None, "{what}: extra data");
}

/// The events of kind PeerCertificate / Connected, in order, as short tags.
fn milestones(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::PeerCertificate => Some("cert"),
            Event::Connected(_) => Some("connected"),
            Event::CloseNotify => Some("close"),
            Event::Failed(_) => Some("failed"),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The suite x role matrix
// ---------------------------------------------------------------------------------------------

/// Which side narrows the offer to the one suite under test.
#[derive(Clone, Copy, Debug)]
enum Restrict {
    /// OpenSSL's cipher list holds only the suite; we offer/accept all six.
    Theirs,
    /// Our `cipher_suites` holds only the suite; OpenSSL uses its default list.
    Ours,
}

/// One cell of the matrix: a full handshake with `case.suite` forced from `restrict`'s side,
/// then every check of `check_established`. RSA suites use the rsa-* fixtures.
fn suite_case(role: Role, case: &SuiteCase, restrict: Restrict) {
    let what = format!("{role:?} {} restricted by {restrict:?}", case.iana);
    let kind = if case.rsa { Kind::Rsa } else { Kind::P256 };
    let theirs_list = match restrict {
        Restrict::Theirs => Some(case.openssl.to_string()),
        Restrict::Ours => None,
    };
    let ours_suites = match restrict {
        Restrict::Theirs => dtls_proto::config::DEFAULT_CIPHER_SUITES,
        Restrict::Ours => std::slice::from_ref(&case.suite),
    };
    let (server_chain, _) = issued(kind, "server");
    let mut s = match role {
        Role::Client => {
            let (chain, key) = issued(kind, "server");
            let cfg = our_client().cipher_suites(ours_suites).build().unwrap();
            let peer = OsslOptions {
                cipher_list: theirs_list,
                ..ossl_server(chain, key)
            };
            Session::new(cfg, Role::Client, peer)
        }
        Role::Server => {
            let cfg = our_server(kind).cipher_suites(ours_suites).build().unwrap();
            let peer = OsslOptions {
                cipher_list: theirs_list,
                ..ossl_client_verifying()
            };
            Session::new(cfg, Role::Server, peer)
        }
    };
    s.connect(&what);
    assert_eq!(
        s.ours.negotiated().map(|n| n.cipher_suite),
        Some(case.suite),
        "{what}"
    );
    assert_eq!(s.peer.cipher_standard_name(), case.iana, "{what}");
    // The server's certificate, as each client saw it.
    match role {
        Role::Client => assert_eq!(
            s.ours.peer_certificates().first(),
            Some(&leaf_der(&server_chain)),
            "{what}"
        ),
        Role::Server => assert_eq!(
            s.peer.peer_certificate_der(),
            Some(leaf_der(&server_chain)),
            "{what}"
        ),
    }
    check_established(&mut s, &what);
}

/// One `#[test]` per (suite, role, restricting side), so a failure names its cell.
macro_rules! suite_matrix {
    ($($name:ident: $idx:expr, $role:ident, $restrict:ident;)*) => {
        $(
            #[test]
            fn $name() {
                suite_case(Role::$role, &SUITES[$idx], Restrict::$restrict);
            }
        )*
    };
}

suite_matrix! {
    suite_ecdsa_aes128_client: 0, Client, Theirs;
    suite_ecdsa_aes256_client: 1, Client, Theirs;
    suite_ecdsa_chacha_client: 2, Client, Theirs;
    suite_rsa_aes128_client: 3, Client, Theirs;
    suite_rsa_aes256_client: 4, Client, Theirs;
    suite_rsa_chacha_client: 5, Client, Theirs;
    suite_ecdsa_aes128_server: 0, Server, Theirs;
    suite_ecdsa_aes256_server: 1, Server, Theirs;
    suite_ecdsa_chacha_server: 2, Server, Theirs;
    suite_rsa_aes128_server: 3, Server, Theirs;
    suite_rsa_aes256_server: 4, Server, Theirs;
    suite_rsa_chacha_server: 5, Server, Theirs;
    suite_ecdsa_aes128_client_ours_only: 0, Client, Ours;
    suite_ecdsa_aes256_client_ours_only: 1, Client, Ours;
    suite_ecdsa_chacha_client_ours_only: 2, Client, Ours;
    suite_rsa_aes128_client_ours_only: 3, Client, Ours;
    suite_rsa_aes256_client_ours_only: 4, Client, Ours;
    suite_rsa_chacha_client_ours_only: 5, Client, Ours;
    suite_ecdsa_aes128_server_ours_only: 0, Server, Ours;
    suite_ecdsa_aes256_server_ours_only: 1, Server, Ours;
    suite_ecdsa_chacha_server_ours_only: 2, Server, Ours;
    suite_rsa_aes128_server_ours_only: 3, Server, Ours;
    suite_rsa_aes256_server_ours_only: 4, Server, Ours;
    suite_rsa_chacha_server_ours_only: 5, Server, Ours;
}

/// The table itself must name every suite we implement, once.
#[test]
fn suite_table_covers_every_default_suite() {
    let ours = dtls_proto::config::DEFAULT_CIPHER_SUITES;
    assert_eq!(SUITES.len(), ours.len());
    for s in ours {
        assert_eq!(SUITES.iter().filter(|c| c.suite == *s).count(), 1, "{s:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Cookie exchange (RFC 6347 §4.2.1)
// ---------------------------------------------------------------------------------------------

/// Our client against an OpenSSL server with and without `SSL_OP_COOKIE_EXCHANGE`: the
/// HelloVerifyRequest must really be on the wire (or really absent) and our client must
/// answer it with a second ClientHello.
#[test]
fn cookie_exchange_openssl_server() {
    for cookie in [true, false] {
        let what = format!("OpenSSL server cookie_exchange={cookie}");
        let (chain, key) = issued(Kind::P256, "server");
        let peer = OsslOptions {
            cookie_exchange: cookie,
            ..ossl_server(chain, key)
        };
        let mut s = Session::new(our_client().build().unwrap(), Role::Client, peer);
        s.connect(&what);
        let hvr = usize::from(cookie);
        assert_eq!(count_messages(&s.received, 3), hvr, "{what}: HVRs sent");
        assert_eq!(count_messages(&s.sent, 1), 1 + hvr, "{what}: ClientHellos");
        check_established(&mut s, &what);
    }
}

/// Our server with `.cookie_exchange(true/false)` against an OpenSSL client: counted in
/// our stats, visible on the wire, and answered by OpenSSL with a second ClientHello.
#[test]
fn cookie_exchange_our_server() {
    for cookie in [true, false] {
        let what = format!("our server cookie_exchange={cookie}");
        let cfg = our_server(Kind::P256)
            .cookie_exchange(cookie)
            .build()
            .unwrap();
        let mut s = Session::new(cfg, Role::Server, ossl_client_verifying());
        // The cookie binds the client's address; nothing has been exchanged yet.
        s.ours.set_peer_address(b"127.0.0.1:5684");
        s.connect(&what);
        let hvr = usize::from(cookie);
        assert_eq!(
            s.ours.stats().hello_verify_requests,
            hvr as u64,
            "{what}: stats"
        );
        assert_eq!(count_messages(&s.sent, 3), hvr, "{what}: HVRs on the wire");
        assert_eq!(
            count_messages(&s.received, 1),
            1 + hvr,
            "{what}: ClientHellos"
        );
        check_established(&mut s, &what);
    }
}

// ---------------------------------------------------------------------------------------------
// Mutual authentication
// ---------------------------------------------------------------------------------------------

/// Client certificates of every key type, chain-verified against `ca.crt` on both sides, in
/// both roles: OpenSSL verifies our client certificate, and we verify OpenSSL's.
#[test]
fn mutual_auth_webpki() {
    for kind in [Kind::P256, Kind::Rsa, Kind::P384] {
        let (client_chain, client_key) = issued(kind, "client");
        let (server_chain, server_key) = issued(Kind::P256, "server");

        // Ours is the client; OpenSSL requires and verifies our certificate.
        let what = format!("our {kind:?} client cert -> OpenSSL server");
        let cfg = our_client()
            .certificate(our_cert(&client_chain, &client_key))
            .build()
            .unwrap();
        let peer = OsslOptions {
            ca_pem: Some(fixture("ca.crt")),
            verify_peer: true,
            require_peer_cert: true,
            ..ossl_server(server_chain.clone(), server_key.clone())
        };
        let mut s = Session::new(cfg, Role::Client, peer);
        s.connect(&what);
        assert_eq!(
            s.peer.peer_certificate_der(),
            Some(leaf_der(&client_chain)),
            "{what}"
        );
        // OpenSSL (server side) lists only the intermediate in peer_cert_chain.
        assert_eq!(
            s.peer.peer_cert_chain_der(),
            vec![leaf_der(&fixture("int.crt"))],
            "{what}: our intermediate was not sent"
        );
        assert_eq!(s.ours.peer_certificates().len(), 2, "{what}");
        assert_eq!(s.ours.peer_certificates()[0], leaf_der(&server_chain));
        assert_eq!(milestones(&s.events), ["cert", "connected"], "{what}");
        check_established(&mut s, &what);

        // Ours is the server; we require and verify OpenSSL's certificate.
        let what = format!("OpenSSL {kind:?} client cert -> our server");
        let cfg = our_server(Kind::P256)
            .root_certificates_pem(&fixture("ca.crt"))
            .require_client_certificate(true)
            .build()
            .unwrap();
        let peer = OsslOptions {
            cert_chain_pem: Some(client_chain.clone()),
            key_pem: Some(client_key),
            ..ossl_client_verifying()
        };
        let mut s = Session::new(cfg, Role::Server, peer);
        s.connect(&what);
        assert_eq!(
            s.ours.peer_certificates().first(),
            Some(&leaf_der(&client_chain)),
            "{what}"
        );
        assert_eq!(s.ours.peer_certificates().len(), 2, "{what}");
        assert_eq!(
            s.peer.peer_certificate_der(),
            Some(leaf_der(&server_chain)),
            "{what}"
        );
        assert_eq!(milestones(&s.events), ["cert", "connected"], "{what}");
        check_established(&mut s, &what);
    }
}

/// WebRTC-style mutual authentication by pinned SDP fingerprints with self-signed
/// certificates (RFC 8122 §5), both roles. OpenSSL accepts any certificate and the test
/// checks what it received, which is how a WebRTC stack on OpenSSL pins.
#[test]
fn mutual_auth_pinned_fingerprints() {
    let (a_pem, a_key) = selfsigned("a");
    let (b_pem, b_key) = selfsigned("b");
    for role in [Role::Client, Role::Server] {
        let what = format!("pinned, ours {role:?}");
        let cfg = Config::builder()
            .certificate(our_cert(&a_pem, &a_key))
            .build()
            .unwrap();
        let peer = OsslOptions {
            role_server: role == Role::Client,
            cert_chain_pem: Some(b_pem.clone()),
            key_pem: Some(b_key.clone()),
            accept_any_peer_cert: true,
            require_peer_cert: true,
            cookie_exchange: role == Role::Client,
            ..Default::default()
        };
        let mut s = Session::new(cfg, role, peer);
        s.ours
            .add_peer_fingerprint(&sdp_fingerprint(&b_pem))
            .unwrap();
        s.connect(&what);
        assert_eq!(
            s.ours.peer_certificates().first(),
            Some(&leaf_der(&b_pem)),
            "{what}"
        );
        assert_eq!(
            s.peer.peer_certificate_der(),
            Some(leaf_der(&a_pem)),
            "{what}: OpenSSL did not get our certificate"
        );
        assert_eq!(milestones(&s.events), ["cert", "connected"], "{what}");
        check_established(&mut s, &what);
    }
}

/// A pin that does not match OpenSSL's certificate: we fail with FingerprintMismatch inside
/// the handshake, send a plaintext fatal bad_certificate (RFC 5246 §7.2.2), and OpenSSL
/// fails on it. Both roles.
#[test]
fn wrong_pinned_fingerprint_fails() {
    let (a_pem, a_key) = selfsigned("a");
    let (b_pem, b_key) = selfsigned("b");
    for role in [Role::Client, Role::Server] {
        let what = format!("wrong pin, ours {role:?}");
        // Pinned through the config this time (the other test pins per connection).
        let cfg = Config::builder()
            .certificate(our_cert(&a_pem, &a_key))
            .peer_fingerprint(Fingerprint::of(HashAlg::Sha256, &leaf_der(&a_pem)))
            .build()
            .unwrap();
        let peer = OsslOptions {
            role_server: role == Role::Client,
            cert_chain_pem: Some(b_pem.clone()),
            key_pem: Some(b_key.clone()),
            accept_any_peer_cert: true,
            require_peer_cert: true,
            ..Default::default()
        };
        let mut s = Session::new(cfg, role, peer);
        match s.handshake() {
            Err(Failure::Ours(Error::FingerprintMismatch)) => {}
            other => panic!("{what}: expected our FingerprintMismatch, got {other:?}"),
        }
        assert!(
            s.events
                .contains(&Event::Failed(Error::FingerprintMismatch)),
            "{what}: {:?}",
            s.events
        );
        assert!(!s.ours.is_connected() && s.ours.is_closed(), "{what}");
        assert!(s.ours.peer_certificates().is_empty(), "{what}");
        assert!(
            plaintext_alerts(&s.sent).contains(&[2, AlertDescription::BadCertificate.get()]),
            "{what}: no fatal bad_certificate alert sent"
        );
        let err = s.peer.error().unwrap_or_default();
        assert!(
            !s.peer.is_connected() && err.contains("bad certificate"),
            "{what}: OpenSSL should have failed on our alert, error {err:?}"
        );
    }
}

/// An OpenSSL client without a certificate against our server that requires one: it
/// answers CertificateRequest with an empty Certificate, we fail with NoPeerCertificate and
/// send handshake_failure, which OpenSSL reports.
#[test]
fn openssl_client_without_certificate_rejected() {
    let cfg = our_server(Kind::P256)
        .root_certificates_pem(&fixture("ca.crt"))
        .require_client_certificate(true)
        .build()
        .unwrap();
    let mut s = Session::new(cfg, Role::Server, ossl_client_verifying());
    match s.handshake() {
        Err(Failure::Ours(Error::NoPeerCertificate)) => {}
        other => panic!("expected our NoPeerCertificate, got {other:?}"),
    }
    assert!(s.events.contains(&Event::Failed(Error::NoPeerCertificate)));
    // The client really was asked (CertificateRequest = 13) and really sent an empty
    // Certificate (11) of 3 bytes: certificate_list<0..2^24-1> with no entries.
    assert_eq!(count_messages(&s.sent, 13), 1);
    assert!(handshake_fragments(&s.received)
        .iter()
        .any(|f| f.msg_type == 11 && f.length == 3));
    assert!(
        plaintext_alerts(&s.sent).contains(&[2, AlertDescription::HandshakeFailure.get()]),
        "no fatal handshake_failure alert sent"
    );
    let err = s.peer.error().unwrap_or_default();
    assert!(
        !s.peer.is_connected() && err.contains("handshake failure"),
        "OpenSSL should have failed on our alert, error {err:?}"
    );
}

/// The same client against `ClientAuth::Request`: the empty Certificate is accepted.
#[test]
fn openssl_client_without_certificate_when_only_requested() {
    let cfg = our_server(Kind::P256)
        .root_certificates_pem(&fixture("ca.crt"))
        .client_auth(dtls_proto::ClientAuth::Request)
        .build()
        .unwrap();
    let mut s = Session::new(cfg, Role::Server, ossl_client_verifying());
    s.connect("ClientAuth::Request");
    assert_eq!(count_messages(&s.sent, 13), 1, "CertificateRequest sent");
    assert!(s.ours.peer_certificates().is_empty());
    assert_eq!(milestones(&s.events), ["connected"]);
    check_established(&mut s, "ClientAuth::Request");
}

/// An OpenSSL server that requires a client certificate, and our client that has none.
/// OpenSSL's fatal alert arrives in plaintext (epoch 0), which anyone could forge, so we do
/// not act on it (DESIGN.md, rules of the house); it is reported as the likely reason when
/// the handshake deadline passes.
#[test]
fn openssl_server_requiring_certificate_we_lack() {
    let cfg = our_client().timers(1000, 4000, 10_000).build().unwrap();
    let (chain, key) = issued(Kind::P256, "server");
    let peer = OsslOptions {
        ca_pem: Some(fixture("ca.crt")),
        verify_peer: true,
        require_peer_cert: true,
        ..ossl_server(chain, key)
    };
    let mut s = Session::new(cfg, Role::Client, peer);
    match s.handshake() {
        Err(Failure::Theirs(e)) => assert!(e.contains("certificate"), "{e}"),
        other => panic!("expected OpenSSL to fail, got {other:?}"),
    }
    assert!(
        !s.ours.is_closed(),
        "a plaintext alert must not end the handshake"
    );
    // Walk the virtual clock to the deadline; retransmissions go nowhere.
    let mut fired = None;
    for _ in 0..64 {
        let Some(t) = s.ours.next_timeout() else {
            break;
        };
        s.now = t;
        if let Err(e) = s.ours.handle_timeout(t) {
            fired = Some(e);
            break;
        }
        poll_all(&mut s.ours, s.now).unwrap();
    }
    assert_eq!(
        fired,
        Some(Error::HandshakeTimeout {
            likely_reason: Some(AlertDescription::HandshakeFailure)
        })
    );
    assert_eq!(s.now, 10_000, "failed at the handshake deadline");
}

// ---------------------------------------------------------------------------------------------
// Groups and certificate key types
// ---------------------------------------------------------------------------------------------

/// One group case: our side is restricted to `ours` so the group is forced from our side;
/// OpenSSL offers/accepts `theirs`. OpenSSL (TLS 1.2, RFC 8422 §5.1) also wants an ECDSA
/// certificate's curve among the client's groups, hence `"X25519:P-256"` rather than X25519
/// alone next to a P-256 certificate (PEERS.md), and an RSA certificate where our client
/// offers X25519 only.
struct GroupCase {
    role: Role,
    ours: NamedGroup,
    theirs: &'static str,
    server_cert: Kind,
}

const GROUPS: &[GroupCase] = &[
    GroupCase {
        role: Role::Client,
        ours: NamedGroup::X25519,
        theirs: "X25519:P-256",
        server_cert: Kind::Rsa,
    },
    GroupCase {
        role: Role::Client,
        ours: NamedGroup::Secp256r1,
        theirs: "X25519:P-256",
        server_cert: Kind::P256,
    },
    GroupCase {
        role: Role::Client,
        ours: NamedGroup::Secp384r1,
        theirs: "X25519:P-256:P-384",
        server_cert: Kind::P384,
    },
    GroupCase {
        role: Role::Server,
        ours: NamedGroup::X25519,
        theirs: "X25519:P-256",
        server_cert: Kind::P256,
    },
    GroupCase {
        role: Role::Server,
        ours: NamedGroup::Secp256r1,
        theirs: "X25519:P-256",
        server_cert: Kind::Rsa,
    },
    GroupCase {
        role: Role::Server,
        ours: NamedGroup::Secp384r1,
        theirs: "X25519:P-256:P-384",
        server_cert: Kind::P384,
    },
];

/// Each group in each role, with P-256, P-384 and RSA server keys along the way.
#[test]
fn groups_and_server_key_types() {
    for case in GROUPS {
        let what = format!(
            "ours {:?} group {:?} vs OpenSSL {:?}, {:?} server cert",
            case.role, case.ours, case.theirs, case.server_cert
        );
        let (chain, key) = issued(case.server_cert, "server");
        let mut s = match case.role {
            Role::Client => {
                let cfg = our_client().groups(&[case.ours]).build().unwrap();
                let peer = OsslOptions {
                    groups: Some(case.theirs.into()),
                    ..ossl_server(chain.clone(), key)
                };
                Session::new(cfg, Role::Client, peer)
            }
            Role::Server => {
                let cfg = Config::builder()
                    .certificate(our_cert(&chain, &key))
                    .groups(&[case.ours])
                    .build()
                    .unwrap();
                let peer = OsslOptions {
                    groups: Some(case.theirs.into()),
                    ..ossl_client_verifying()
                };
                Session::new(cfg, Role::Server, peer)
            }
        };
        s.connect(&what);
        let neg = s.ours.negotiated().unwrap();
        assert_eq!(neg.group, case.ours, "{what}");
        // The suite follows the server key type.
        let rsa_suite = iana_name(neg.cipher_suite).contains("_RSA_");
        assert_eq!(rsa_suite, case.server_cert == Kind::Rsa, "{what}");
        match case.role {
            Role::Client => assert_eq!(s.ours.peer_certificates()[0], leaf_der(&chain)),
            Role::Server => assert_eq!(s.peer.peer_certificate_der(), Some(leaf_der(&chain))),
        }
        check_established(&mut s, &what);
    }
}

// ---------------------------------------------------------------------------------------------
// Fragmentation at MTU 576
// ---------------------------------------------------------------------------------------------

/// 576 bytes: the datagram size every IPv4 host must accept (RFC 791). Both MTUs here bound
/// the UDP payload directly; OpenSSL refuses anything below 548.
const SMALL_MTU: u16 = 576;

/// Checks that the Certificate message (type 11) in `datagrams` was split over more than one
/// datagram and that its fragments cover the whole body exactly once (RFC 6347 §4.2.3).
fn assert_certificate_fragmented(datagrams: &[Vec<u8>], what: &str) {
    let mut frags: Vec<HsFragment> = handshake_fragments(datagrams)
        .into_iter()
        .filter(|f| f.msg_type == 11)
        .collect();
    assert!(!frags.is_empty(), "{what}: no Certificate message");
    let seq = frags[0].msg_seq;
    let length = frags[0].length;
    assert!(
        frags.iter().all(|f| f.msg_seq == seq && f.length == length),
        "{what}: Certificate retransmitted or inconsistent: {frags:?}"
    );
    let mut in_datagrams: Vec<usize> = frags.iter().map(|f| f.datagram).collect();
    in_datagrams.dedup();
    assert!(
        in_datagrams.len() > 1,
        "{what}: Certificate ({length} bytes) fit one datagram: {frags:?}"
    );
    frags.sort_by_key(|f| f.frag_off);
    let mut next = 0;
    for f in &frags {
        assert_eq!(f.frag_off, next, "{what}: gap or overlap in {frags:?}");
        next += f.frag_len;
    }
    assert_eq!(next, length, "{what}: fragments do not cover the message");
}

/// Mutual authentication with leaf + intermediate chains (trust anchor `ca.crt`) on both
/// sides at MTU 576, both roles: our Certificate must span several datagrams none larger
/// than 576 bytes, OpenSSL must reassemble it and verify the chain, and we must reassemble
/// and verify OpenSSL's fragmented Certificate.
#[test]
fn certificate_chain_fragmented_at_mtu_576() {
    for role in [Role::Client, Role::Server] {
        let what = format!("MTU {SMALL_MTU}, ours {role:?}");
        let (server_chain, server_key) = issued(Kind::P256, "server");
        let (client_chain, client_key) = issued(Kind::P256, "client");
        let (our_chain, theirs_chain) = match role {
            Role::Client => (&client_chain, &server_chain),
            Role::Server => (&server_chain, &client_chain),
        };
        let mut s = match role {
            Role::Client => {
                let cfg = our_client()
                    .certificate(our_cert(&client_chain, &client_key))
                    .mtu(SMALL_MTU)
                    .build()
                    .unwrap();
                let peer = OsslOptions {
                    ca_pem: Some(fixture("ca.crt")),
                    verify_peer: true,
                    require_peer_cert: true,
                    mtu: u32::from(SMALL_MTU),
                    ..ossl_server(server_chain.clone(), server_key)
                };
                Session::new(cfg, Role::Client, peer)
            }
            Role::Server => {
                let cfg = our_server(Kind::P256)
                    .root_certificates_pem(&fixture("ca.crt"))
                    .require_client_certificate(true)
                    .mtu(SMALL_MTU)
                    .build()
                    .unwrap();
                let peer = OsslOptions {
                    cert_chain_pem: Some(client_chain.clone()),
                    key_pem: Some(client_key),
                    mtu: u32::from(SMALL_MTU),
                    ..ossl_client_verifying()
                };
                Session::new(cfg, Role::Server, peer)
            }
        };
        s.connect(&what);
        // Three certificates: leaf + int on the wire, ca as the anchor on each side.
        assert_eq!(s.ours.peer_certificates().len(), 2, "{what}");
        assert_eq!(s.ours.peer_certificates()[0], leaf_der(theirs_chain));
        assert_eq!(
            s.peer.peer_certificate_der(),
            Some(leaf_der(our_chain)),
            "{what}"
        );
        assert_certificate_fragmented(&s.sent, &format!("{what}: our Certificate"));
        assert_certificate_fragmented(&s.received, &format!("{what}: OpenSSL's Certificate"));
        check_established(&mut s, &what);
        let largest = s.sent.iter().map(Vec::len).max().unwrap_or(0);
        assert!(
            largest <= usize::from(SMALL_MTU),
            "{what}: we emitted a {largest}-byte datagram"
        );
        assert!(
            s.ours.max_send_len() < usize::from(SMALL_MTU),
            "{what}: max_send_len ignores the MTU"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// close_notify (RFC 5246 §7.2.1)
// ---------------------------------------------------------------------------------------------

/// A connected pair, ours in `role`, with default P-256 credentials.
fn connected(role: Role, what: &str) -> Session {
    let mut s = match role {
        Role::Client => {
            let (chain, key) = issued(Kind::P256, "server");
            Session::new(
                our_client().build().unwrap(),
                Role::Client,
                ossl_server(chain, key),
            )
        }
        Role::Server => Session::new(
            our_server(Kind::P256).build().unwrap(),
            Role::Server,
            ossl_client_verifying(),
        ),
    };
    s.connect(what);
    s
}

/// We close after queueing data: OpenSSL reads every record, then sees close_notify; its
/// answering close_notify is harmless to us; nothing more can be sent.
#[test]
fn close_notify_from_us() {
    for role in [Role::Client, Role::Server] {
        let what = format!("we close, ours {role:?}");
        let mut s = connected(role, &what);
        for i in 0..3u8 {
            s.ours.send(&[i; 10]).unwrap();
        }
        s.ours.close().unwrap();
        assert!(s.ours.is_closed(), "{what}");
        assert!(
            matches!(s.ours.send(b"late"), Err(Error::Closed)),
            "{what}: send after close"
        );
        s.flush_ours().unwrap();
        s.peer.step().unwrap();
        for i in 0..3u8 {
            assert_eq!(
                s.peer.read(),
                Some(vec![i; 10]),
                "{what}: data lost at close"
            );
        }
        assert!(s.peer.received_close_notify(), "{what}");
        // OpenSSL answers; we must take it quietly.
        s.peer.shutdown();
        s.settle().unwrap_or_else(|f| panic!("{what}: {f}"));
        assert!(
            !s.events.iter().any(|e| matches!(e, Event::Failed(_))),
            "{what}: {:?}",
            s.events
        );
    }
}

/// OpenSSL closes: we report Event::CloseNotify once, after the data it sent first, answer
/// with our own close_notify, and refuse to send more.
#[test]
fn close_notify_from_openssl() {
    for role in [Role::Client, Role::Server] {
        let what = format!("OpenSSL closes, ours {role:?}");
        let mut s = connected(role, &what);
        s.peer.write(b"last words").unwrap();
        s.peer.shutdown();
        s.settle().unwrap_or_else(|f| panic!("{what}: {f}"));
        assert_eq!(
            milestones(&s.events),
            ["cert", "connected", "close"][(role == Role::Server) as usize..],
            "{what}"
        );
        let mut buf = vec![0u8; BUF];
        let n = s.ours.recv(&mut buf).unwrap();
        assert_eq!(n.map(|n| buf[..n].to_vec()), Some(b"last words".to_vec()));
        assert!(s.ours.is_closed(), "{what}");
        assert!(matches!(s.ours.send(b"late"), Err(Error::Closed)), "{what}");
        assert!(
            s.peer.received_close_notify(),
            "{what}: we did not answer close_notify"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Renegotiation is refused (issue: "a renegotiation attempt is refused with a no_renegotiation
// warning"; RFC 5246 §7.2.2)
// ---------------------------------------------------------------------------------------------

/// OpenSSL starts a renegotiation (HelloRequest from a server, ClientHello from a client,
/// both encrypted at epoch 1). We answer with one epoch-1 alert (the no_renegotiation
/// warning; its level and description are encrypted) and never start a new handshake: no
/// handshake record of ours follows. OpenSSL may then give up with a fatal alert of its own,
/// which is the only way our side may end.
#[test]
fn renegotiation_is_refused() {
    for role in [Role::Client, Role::Server] {
        let what = format!("OpenSSL renegotiates, ours {role:?}");
        let mut s = connected(role, &what);
        let before = s.sent.len();
        s.peer
            .renegotiate()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let _ = s.settle();
        let ours: Vec<_> = s.sent[before..]
            .iter()
            .flat_map(|d| dtls_records(d).expect("our datagram parses"))
            .collect();
        assert!(
            ours.iter().any(|r| r.content_type == 21 && r.epoch == 1),
            "{what}: no alert answered the renegotiation: {ours:?}"
        );
        assert!(
            !ours.iter().any(|r| r.content_type == 22),
            "{what}: we sent handshake records: {ours:?}"
        );
        for e in &s.events {
            if let Event::Failed(err) = e {
                assert!(
                    matches!(err, Error::AlertReceived(_)),
                    "{what}: we failed on our own: {err}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Extended master secret (RFC 7627)
// ---------------------------------------------------------------------------------------------

/// Our EMS policy against OpenSSL 3 (which always offers and accepts EMS). With `Disable`
/// the legacy master secret (RFC 5246 §8.1) is used, and the exporter must still agree.
#[test]
fn extended_master_secret_policies() {
    use dtls_proto::ExtendedMasterSecret as Ems;
    for role in [Role::Client, Role::Server] {
        for (policy, expected) in [
            (Ems::Require, true),
            (Ems::Request, true),
            (Ems::Disable, false),
        ] {
            let what = format!("ours {role:?} EMS {policy:?}");
            let mut s = match role {
                Role::Client => {
                    let (chain, key) = issued(Kind::P256, "server");
                    let cfg = our_client().extended_master_secret(policy).build().unwrap();
                    Session::new(cfg, Role::Client, ossl_server(chain, key))
                }
                Role::Server => {
                    let cfg = our_server(Kind::P256)
                        .extended_master_secret(policy)
                        .build()
                        .unwrap();
                    Session::new(cfg, Role::Server, ossl_client_verifying())
                }
            };
            s.connect(&what);
            check_established_ems(&mut s, &what, expected);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Signature schemes (RFC 5246 §7.4.1.4.1)
// ---------------------------------------------------------------------------------------------

/// One signature-scheme case: OpenSSL's `sigalgs` list narrows what it offers (as client),
/// accepts in CertificateRequest (as server) and signs with. Expected schemes are read off
/// the wire: the server's ServerKeyExchange and, with a client certificate, the client's
/// CertificateVerify. In TLS 1.2, 0x0403/0x0503 mean "ECDSA with SHA-256/384" on any curve,
/// so P-256 keys signing with SHA-384 (and P-384 with SHA-256) must interoperate.
struct SigCase {
    role: Role,
    server: Kind,
    client: Option<Kind>,
    sigalgs: &'static str,
    server_scheme: u16,
    client_scheme: Option<u16>,
}

const SIGS: &[SigCase] = &[
    SigCase {
        role: Role::Client,
        server: Kind::P256,
        client: None,
        sigalgs: "ECDSA+SHA384",
        server_scheme: 0x0503,
        client_scheme: None,
    },
    SigCase {
        role: Role::Client,
        server: Kind::P384,
        client: None,
        sigalgs: "ECDSA+SHA256",
        server_scheme: 0x0403,
        client_scheme: None,
    },
    SigCase {
        role: Role::Client,
        server: Kind::Rsa,
        client: None,
        sigalgs: "rsa_pkcs1_sha256",
        server_scheme: 0x0401,
        client_scheme: None,
    },
    SigCase {
        role: Role::Client,
        server: Kind::Rsa,
        client: Some(Kind::Rsa),
        sigalgs: "rsa_pss_rsae_sha512",
        server_scheme: 0x0806,
        client_scheme: Some(0x0806),
    },
    SigCase {
        role: Role::Client,
        server: Kind::P256,
        client: Some(Kind::Rsa),
        sigalgs: "ECDSA+SHA256:rsa_pkcs1_sha384",
        server_scheme: 0x0403,
        client_scheme: Some(0x0501),
    },
    SigCase {
        role: Role::Server,
        server: Kind::Rsa,
        client: None,
        sigalgs: "rsa_pkcs1_sha384",
        server_scheme: 0x0501,
        client_scheme: None,
    },
    SigCase {
        role: Role::Server,
        server: Kind::Rsa,
        client: Some(Kind::Rsa),
        sigalgs: "rsa_pss_rsae_sha384",
        server_scheme: 0x0805,
        client_scheme: Some(0x0805),
    },
    SigCase {
        role: Role::Server,
        server: Kind::P384,
        client: Some(Kind::P256),
        sigalgs: "ECDSA+SHA384",
        server_scheme: 0x0503,
        client_scheme: Some(0x0503),
    },
    SigCase {
        role: Role::Server,
        server: Kind::P256,
        client: Some(Kind::P384),
        sigalgs: "ECDSA+SHA256",
        server_scheme: 0x0403,
        client_scheme: Some(0x0403),
    },
];

#[test]
fn signature_schemes() {
    for case in SIGS {
        let what = format!(
            "ours {:?}, {:?} server, {:?} client, OpenSSL sigalgs {}",
            case.role, case.server, case.client, case.sigalgs
        );
        let (server_chain, server_key) = issued(case.server, "server");
        let client = case.client.map(|k| issued(k, "client"));
        let mut s = match case.role {
            Role::Client => {
                let mut cfg = our_client();
                if let Some((chain, key)) = &client {
                    cfg = cfg.certificate(our_cert(chain, key));
                }
                let peer = OsslOptions {
                    sigalgs: Some(case.sigalgs.into()),
                    ca_pem: Some(fixture("ca.crt")),
                    verify_peer: client.is_some(),
                    require_peer_cert: client.is_some(),
                    ..ossl_server(server_chain, server_key)
                };
                Session::new(cfg.build().unwrap(), Role::Client, peer)
            }
            Role::Server => {
                let mut cfg = our_server(case.server);
                if client.is_some() {
                    cfg = cfg
                        .root_certificates_pem(&fixture("ca.crt"))
                        .require_client_certificate(true);
                }
                let peer = OsslOptions {
                    sigalgs: Some(case.sigalgs.into()),
                    cert_chain_pem: client.as_ref().map(|c| c.0.clone()),
                    key_pem: client.as_ref().map(|c| c.1.clone()),
                    ..ossl_client_verifying()
                };
                Session::new(cfg.build().unwrap(), Role::Server, peer)
            }
        };
        s.connect(&what);
        let (server_sent, client_sent) = match case.role {
            Role::Client => (&s.received, &s.sent),
            Role::Server => (&s.sent, &s.received),
        };
        assert_eq!(
            ske_scheme(server_sent),
            Some(case.server_scheme),
            "{what}: SKE"
        );
        assert_eq!(
            certificate_verify_scheme(client_sent),
            case.client_scheme,
            "{what}: CertificateVerify"
        );
        // What we report as the peer's scheme is what the peer put on the wire.
        let peer_scheme = match case.role {
            Role::Client => Some(case.server_scheme),
            Role::Server => case.client_scheme,
        };
        assert_eq!(
            s.ours.negotiated().and_then(|n| n.peer_signature_scheme),
            peer_scheme,
            "{what}: negotiated().peer_signature_scheme"
        );
        check_established(&mut s, &what);
    }
}

// ---------------------------------------------------------------------------------------------
// Duplicates from OpenSSL after the handshake
// ---------------------------------------------------------------------------------------------

/// OpenSSL's last handshake flight delivered twice, then an application record twice. The
/// repeated flight is harmless (RFC 6347 §4.2.4: a server answers a repeated final client
/// flight by retransmitting its own, which OpenSSL must take quietly); the repeated record
/// is dropped by the replay window (§4.1.2.6) and counted.
#[test]
fn duplicates_from_openssl_are_harmless() {
    for role in [Role::Client, Role::Server] {
        let what = format!("duplicates, ours {role:?}");
        let mut s = connected(role, &what);
        // OpenSSL's last datagram holds its Finished (flight 5 or 6).
        let last = s.received.last().cloned().expect("OpenSSL sent something");
        let sent_before = s.sent.len();
        s.ours
            .handle_datagram(s.now, &last)
            .unwrap_or_else(|e| panic!("{what}: repeated flight: {e}"));
        s.flush_ours().unwrap();
        if role == Role::Server {
            assert!(
                s.sent.len() > sent_before,
                "{what}: repeated client Finished did not prompt our final flight again"
            );
        }
        s.peer
            .step()
            .unwrap_or_else(|e| panic!("{what}: OpenSSL choked on our retransmission: {e}"));
        assert!(s.ours.is_connected(), "{what}");

        s.peer.write(b"once").unwrap();
        let d = s.peer.take_output();
        assert_eq!(d.len(), 1, "{what}");
        let replayed_before = s.ours.stats().dropped.replayed;
        s.ours.handle_datagram(s.now, &d[0]).unwrap();
        s.ours.handle_datagram(s.now, &d[0]).unwrap();
        let mut buf = vec![0u8; BUF];
        assert_eq!(s.ours.recv(&mut buf).unwrap(), Some(4), "{what}");
        assert_eq!(&buf[..4], b"once");
        assert_eq!(
            s.ours.recv(&mut buf).unwrap(),
            None,
            "{what}: replay delivered"
        );
        assert_eq!(
            s.ours.stats().dropped.replayed,
            replayed_before + 1,
            "{what}: replay not counted"
        );
        s.drain_events();
        check_established(&mut s, &what);
    }
}

// ---------------------------------------------------------------------------------------------
// DTLS-SRTP keys (RFC 5764 §4.2)
// ---------------------------------------------------------------------------------------------

/// For each profile and both roles, the SRTP master keys and salts we hand out equal
/// OpenSSL's `EXTRACTOR-dtls_srtp` export split the same way, and both sides agree on the
/// profile.
#[test]
fn srtp_keying_material_matches_openssl() {
    let profiles = [
        (0x0001u16, "SRTP_AES128_CM_SHA1_80", 60usize),
        (0x0002, "SRTP_AES128_CM_SHA1_32", 60),
        (0x0007, "SRTP_AEAD_AES_128_GCM", 56),
        (0x0008, "SRTP_AEAD_AES_256_GCM", 88),
    ];
    for (id, name, len) in profiles {
        for role in [Role::Client, Role::Server] {
            let what = format!("{name}, ours {role:?}");
            let mut s = match role {
                Role::Client => {
                    let (chain, key) = issued(Kind::P256, "server");
                    let mut peer = ossl_server(chain, key);
                    // A profile OpenSSL prefers but we lack comes first: ours must still win.
                    let other = if id == 1 {
                        "SRTP_AES128_CM_SHA1_32"
                    } else {
                        "SRTP_AES128_CM_SHA1_80"
                    };
                    peer.srtp_profiles = Some(format!("{other}:{name}"));
                    Session::new(
                        our_client().srtp_profiles(&[id]).build().unwrap(),
                        Role::Client,
                        peer,
                    )
                }
                Role::Server => {
                    let mut peer = ossl_client_verifying();
                    let other = if id == 1 {
                        "SRTP_AES128_CM_SHA1_32"
                    } else {
                        "SRTP_AES128_CM_SHA1_80"
                    };
                    peer.srtp_profiles = Some(format!("{other}:{name}"));
                    Session::new(
                        our_server(Kind::P256).srtp_profiles(&[id]).build().unwrap(),
                        Role::Server,
                        peer,
                    )
                }
            };
            s.connect(&what);
            assert_eq!(
                s.peer.selected_srtp_profile().as_deref(),
                Some(name),
                "{what}"
            );
            let keys = s.ours.srtp_keying_material().expect("srtp keys");
            assert_eq!(keys.profile, id, "{what}");
            let theirs = s
                .peer
                .export_keying_material("EXTRACTOR-dtls_srtp", None, len);
            assert_eq!(&keys.material[..], &theirs[..], "{what}");
            let k = (len - 2 * if id >= 7 { 12 } else { 14 }) / 2;
            assert_eq!(keys.client_key(), &theirs[..k], "{what}");
            assert_eq!(keys.server_key(), &theirs[k..2 * k], "{what}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ALPN (RFC 7301)
// ---------------------------------------------------------------------------------------------

/// Both roles: the server's preference decides, both ends report the same protocol, and
/// nothing in common is `no_application_protocol` when we are the server. OpenSSL as a server
/// with nothing in common declines ALPN and the handshake goes on without it.
#[test]
fn alpn_negotiated_with_openssl() {
    let ours: &[&[u8]] = &[b"webrtc", b"c-webrtc"];
    let theirs = vec![b"c-webrtc".to_vec(), b"webrtc".to_vec()];

    let (chain, key) = issued(Kind::P256, "server");
    let mut peer = ossl_server(chain.clone(), key.clone());
    peer.alpn = theirs.clone();
    let mut s = Session::new(our_client().alpn(ours).build().unwrap(), Role::Client, peer);
    s.connect("ALPN, ours client");
    let got = s.ours.negotiated().unwrap().alpn.clone();
    assert_eq!(
        got.as_deref(),
        Some(&b"c-webrtc"[..]),
        "server's order wins"
    );
    assert_eq!(s.peer.selected_alpn(), got);

    let mut peer = ossl_client_verifying();
    peer.alpn = theirs;
    let mut s = Session::new(
        our_server(Kind::P256).alpn(ours).build().unwrap(),
        Role::Server,
        peer,
    );
    s.connect("ALPN, ours server");
    let got = s.ours.negotiated().unwrap().alpn.clone();
    assert_eq!(
        got.as_deref(),
        Some(&b"webrtc"[..]),
        "our (server) order wins"
    );
    assert_eq!(s.peer.selected_alpn(), got);

    let mut peer = ossl_server(chain, key);
    peer.alpn = vec![b"other".to_vec()];
    let mut s = Session::new(our_client().alpn(ours).build().unwrap(), Role::Client, peer);
    s.connect("ALPN, nothing in common, ours client");
    assert_eq!(s.ours.negotiated().unwrap().alpn, None);

    let mut peer = ossl_client_verifying();
    peer.alpn = vec![b"other".to_vec()];
    let mut s = Session::new(
        our_server(Kind::P256).alpn(ours).build().unwrap(),
        Role::Server,
        peer,
    );
    match s.handshake() {
        Err(Failure::Ours(Error::PeerMisbehaved { alert, .. })) => {
            assert_eq!(alert, dtls_proto::AlertDescription::NoApplicationProtocol)
        }
        other => panic!(
            "nothing in common, ours server: {:?}",
            other.err().map(|f| f.to_string())
        ),
    }
}

/// The zero-copy record path against a real peer: records sealed by `seal_into` are read by
/// OpenSSL, and OpenSSL's records open in place with `open_in_place`, in both roles and for
/// an AES-GCM and a ChaCha20 suite (explicit and implicit nonces).
#[test]
fn zero_copy_records_interoperate_with_openssl() {
    let (a_pem, a_key) = selfsigned("a");
    let (b_pem, b_key) = selfsigned("b");
    for suite in [
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
    ] {
        for role in [Role::Client, Role::Server] {
            let what = format!("zero-copy {suite:?}, ours {role:?}");
            let cfg = Config::builder()
                .certificate(our_cert(&a_pem, &a_key))
                .peer_verification(dtls_proto::PeerVerification::DangerousAcceptAny)
                .cipher_suites(&[suite])
                .build()
                .unwrap();
            let peer = OsslOptions {
                role_server: role == Role::Client,
                cert_chain_pem: Some(b_pem.clone()),
                key_pem: Some(b_key.clone()),
                accept_any_peer_cert: true,
                ..Default::default()
            };
            let mut s = Session::new(cfg, role, peer);
            s.connect(&what);
            let mut d = vec![0u8; BUF];
            for n in [0usize, 1, 100, s.ours.max_send_len()] {
                let data: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
                let len = s.ours.seal_into(&data, &mut d).unwrap();
                s.peer.feed(&d[..len]);
                s.peer.step().unwrap();
                assert_eq!(
                    s.peer.read().as_deref(),
                    Some(&data[..]),
                    "{what}: {n} B out"
                );
                if n == 0 {
                    continue; // OpenSSL's SSL_write sends no empty record
                }
                s.peer.write(&data).unwrap();
                let mut got = Vec::new();
                for mut datagram in s.peer.take_output() {
                    if let Some(p) = s.ours.open_in_place(s.now, &mut datagram).unwrap() {
                        got.push(p.to_vec());
                    }
                }
                assert_eq!(got, [data], "{what}: {n} B in, opened in place");
            }
            assert_eq!(s.ours.stats().dropped.auth_failed, 0, "{what}");
        }
    }
}
