//! DTLS 1.3 in memory: both roles of our engine against each other, and version negotiation
//! between 1.2-only, 1.3-only and dual-version configurations.

use dtls_proto::{Certificate, Config, Connection, Event, PeerVerification, ProtocolVersion, Role};
use std::sync::Arc;

#[path = "common/impair.rs"]
mod impair;

fn cfg(versions: &[ProtocolVersion], mutual: bool, cookies: bool) -> Arc<Config> {
    let mut b = Config::builder()
        .certificate(Certificate::generate("peer").unwrap())
        .peer_verification(PeerVerification::DangerousAcceptAny)
        .versions(versions)
        .cookie_exchange(cookies)
        .srtp_profiles(&[7, 1]);
    if mutual {
        b = b.client_auth(dtls_proto::ClientAuth::Require);
    }
    b.build().unwrap()
}

/// Runs the handshake to completion (no loss); returns the two connections.
fn connect(c: Arc<Config>, s: Arc<Config>) -> (Connection, Connection) {
    let mut client = Connection::new(c, Role::Client, None, 0).unwrap();
    let mut server = Connection::new(s, Role::Server, None, 0).unwrap();
    server.set_peer_address(b"127.0.0.1:1");
    let mut buf = vec![0u8; 1500];
    for _ in 0..20 {
        while let Some(n) = client.poll_transmit(0, &mut buf).unwrap() {
            server.handle_datagram(0, &buf[..n]).unwrap();
        }
        while let Some(n) = server.poll_transmit(0, &mut buf).unwrap() {
            client.handle_datagram(0, &buf[..n]).unwrap();
        }
    }
    assert!(client.is_connected(), "client not connected: {client:?}");
    assert!(server.is_connected(), "server not connected: {server:?}");
    (client, server)
}

fn exchange(client: &mut Connection, server: &mut Connection) {
    let mut buf = vec![0u8; 1500];
    let mut app = [0u8; 64];
    client.send(b"ping").unwrap();
    let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    server.handle_datagram(0, &buf[..n]).unwrap();
    let m = server.recv(&mut app).unwrap().unwrap();
    assert_eq!(&app[..m], b"ping");
    server.send(b"pong").unwrap();
    let n = server.poll_transmit(0, &mut buf).unwrap().unwrap();
    client.handle_datagram(0, &buf[..n]).unwrap();
    let m = client.recv(&mut app).unwrap().unwrap();
    assert_eq!(&app[..m], b"pong");
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    client
        .export_keying_material(b"EXTRACTOR-test", None, &mut a)
        .unwrap();
    server
        .export_keying_material(b"EXTRACTOR-test", None, &mut b)
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        client.srtp_keying_material().unwrap().material,
        server.srtp_keying_material().unwrap().material
    );
}

const V13: &[ProtocolVersion] = &[ProtocolVersion::Dtls13];
const V12: &[ProtocolVersion] = &[ProtocolVersion::Dtls12];
const BOTH: &[ProtocolVersion] = &[ProtocolVersion::Dtls12, ProtocolVersion::Dtls13];

fn version(c: &Connection) -> ProtocolVersion {
    c.negotiated().unwrap().version
}

#[test]
fn dtls13_handshake_data_exporter_srtp() {
    for (mutual, cookies) in [(false, false), (true, false), (false, true), (true, true)] {
        let (mut c, mut s) = connect(cfg(V13, mutual, cookies), cfg(V13, mutual, cookies));
        assert_eq!(version(&c), ProtocolVersion::Dtls13);
        assert_eq!(version(&s), ProtocolVersion::Dtls13);
        assert_eq!(c.negotiated().unwrap().srtp_profile, Some(7));
        assert_eq!(mutual, !s.peer_certificates().is_empty());
        let mut connected = false;
        while let Some(ev) = c.poll_event() {
            connected |= matches!(ev, Event::Connected(n) if n.version == ProtocolVersion::Dtls13);
        }
        assert!(connected);
        exchange(&mut c, &mut s);
        // The server acknowledged the client's last flight: nothing left to retransmit.
        assert_eq!(c.next_timeout(), None, "client still waits for an ACK");
    }
}

#[test]
fn version_negotiation_matrix() {
    for (cv, sv, want) in [
        (BOTH, BOTH, ProtocolVersion::Dtls13),
        (BOTH, V12, ProtocolVersion::Dtls12),
        (BOTH, V13, ProtocolVersion::Dtls13),
        (V12, BOTH, ProtocolVersion::Dtls12),
        (V13, BOTH, ProtocolVersion::Dtls13),
    ] {
        for cookies in [false, true] {
            let (mut c, mut s) = connect(cfg(cv, true, cookies), cfg(sv, true, cookies));
            assert_eq!(version(&c), want, "{cv:?} -> {sv:?} cookies {cookies}");
            assert_eq!(version(&s), want, "{cv:?} -> {sv:?} cookies {cookies}");
            exchange(&mut c, &mut s);
        }
    }
}

#[test]
fn key_update_both_directions() {
    let (mut c, mut s) = connect(cfg(V13, false, false), cfg(V13, false, false));
    let mut buf = vec![0u8; 1500];
    for i in 0..50u64 {
        let (a, b) = if i % 2 == 0 {
            (&mut c, &mut s)
        } else {
            (&mut s, &mut c)
        };
        a.key_update(i, i % 3 == 0).unwrap();
        for _ in 0..4 {
            while let Some(n) = a.poll_transmit(i, &mut buf).unwrap() {
                b.handle_datagram(i, &buf[..n]).unwrap();
            }
            while let Some(n) = b.poll_transmit(i, &mut buf).unwrap() {
                a.handle_datagram(i, &buf[..n]).unwrap();
            }
        }
        exchange(&mut c, &mut s);
    }
    assert!(c.stats().key_updates >= 25, "{:?}", c.stats().key_updates);
    assert!(s.stats().key_updates >= 25, "{:?}", s.stats().key_updates);
}

/// Every 1.3 suite with every group, the post-quantum hybrid included; and a server whose
/// groups miss the client's key share, which forces a HelloRetryRequest for the group.
#[test]
fn every_suite_and_group_and_hrr_for_the_group() {
    use dtls_proto::{CipherSuite, NamedGroup};
    let suites = [
        CipherSuite::Tls13Aes128GcmSha256,
        CipherSuite::Tls13Aes256GcmSha384,
        CipherSuite::Tls13Chacha20Poly1305Sha256,
    ];
    let groups = [
        NamedGroup::X25519,
        NamedGroup::Secp256r1,
        NamedGroup::Secp384r1,
        NamedGroup::X25519MlKem768,
    ];
    let build = |suite: CipherSuite, groups: &[NamedGroup]| {
        Config::builder()
            .certificate(Certificate::generate("peer").unwrap())
            .peer_verification(PeerVerification::DangerousAcceptAny)
            .versions(V13)
            .cookie_exchange(false)
            .cipher_suites(&[suite])
            .groups(groups)
            .build()
            .unwrap()
    };
    for suite in suites {
        for group in groups {
            let (mut c, mut s) = connect(build(suite, &[group]), build(suite, &[group]));
            let n = c.negotiated().unwrap().clone();
            assert_eq!((n.cipher_suite, n.group), (suite, group));
            assert_eq!(s.negotiated().unwrap().group, group);
            let mut buf = vec![0u8; 1500];
            let mut app = [0u8; 64];
            c.send(b"x").unwrap();
            let len = c.poll_transmit(0, &mut buf).unwrap().unwrap();
            s.handle_datagram(0, &buf[..len]).unwrap();
            assert_eq!(s.recv(&mut app).unwrap(), Some(1));
        }
    }
    // The client's first share is X25519; the server takes only P-256 or the hybrid.
    for server_group in [NamedGroup::Secp256r1, NamedGroup::X25519MlKem768] {
        let client = build(
            CipherSuite::Tls13Aes128GcmSha256,
            &[NamedGroup::X25519, server_group],
        );
        let server = build(CipherSuite::Tls13Aes128GcmSha256, &[server_group]);
        let (c, s) = connect(client, server);
        assert_eq!(c.negotiated().unwrap().group, server_group);
        assert!(s.stats().hello_verify_requests >= 1, "no HelloRetryRequest");
    }
}

/// 1000 KeyUpdates, alternating direction, under continuous traffic both ways: every record
/// sent arrives (records sealed under the old keys are still opened: the old epoch stays
/// readable until the next update replaces it, RFC 9147 §8).
#[test]
fn thousand_key_updates_under_traffic() {
    let (mut c, mut s) = connect(cfg(V13, false, false), cfg(V13, false, false));
    let mut buf = vec![0u8; 1500];
    let mut app = [0u8; 64];
    let (mut sent, mut got) = ([0u64; 2], [0u64; 2]);
    for i in 0..1000u64 {
        let now = i;
        if i % 2 == 0 {
            c.key_update(now, i % 4 == 0).unwrap();
        } else {
            s.key_update(now, false).unwrap();
        }
        // Data goes out before the update is acknowledged, in the same round trip.
        for _ in 0..3 {
            c.send(format!("c{i}").as_bytes()).unwrap();
            s.send(format!("s{i}").as_bytes()).unwrap();
            sent[0] += 1;
            sent[1] += 1;
            while let Some(n) = c.poll_transmit(now, &mut buf).unwrap() {
                s.handle_datagram(now, &buf[..n]).unwrap();
            }
            while let Some(n) = s.poll_transmit(now, &mut buf).unwrap() {
                c.handle_datagram(now, &buf[..n]).unwrap();
            }
            while s.recv(&mut app).unwrap().is_some() {
                got[0] += 1;
            }
            while c.recv(&mut app).unwrap().is_some() {
                got[1] += 1;
            }
        }
    }
    assert_eq!(got, sent, "records lost across key updates");
    let updates = c.stats().key_updates + s.stats().key_updates;
    assert!(updates >= 1000, "{updates} key updates took effect");
}

/// The server's ACK of the client's last flight is lost: the client resends its Finished (in
/// the handshake epoch) at its timer, and the server, which no longer writes in that epoch but
/// still reads it, acknowledges it again; the client then stops, and drops the handshake keys.
#[test]
fn lost_final_ack_is_answered_again() {
    let mut client = Connection::new(cfg(V13, true, false), Role::Client, None, 0).unwrap();
    let mut server = Connection::new(cfg(V13, true, false), Role::Server, None, 0).unwrap();
    server.set_peer_address(b"127.0.0.1:1");
    let mut buf = vec![0u8; 1500];
    for _ in 0..20 {
        while let Some(n) = client.poll_transmit(0, &mut buf).unwrap() {
            server.handle_datagram(0, &buf[..n]).unwrap();
        }
        if server.is_connected() {
            break;
        }
        while let Some(n) = server.poll_transmit(0, &mut buf).unwrap() {
            client.handle_datagram(0, &buf[..n]).unwrap();
        }
    }
    assert!(client.is_connected() && server.is_connected());
    // The server's ACK goes nowhere.
    let mut lost = 0;
    while server.poll_transmit(0, &mut buf).unwrap().is_some() {
        lost += 1;
    }
    assert_eq!(lost, 1, "one ACK datagram");
    let t = client.next_timeout().expect("the client waits for its ACK");
    client.handle_timeout(t).unwrap();
    let mut resent = 0;
    while let Some(n) = client.poll_transmit(t, &mut buf).unwrap() {
        resent += 1;
        server.handle_datagram(t, &buf[..n]).unwrap();
    }
    assert!(resent > 0, "the client resent its flight");
    let mut acks = 0;
    while let Some(n) = server.poll_transmit(t, &mut buf).unwrap() {
        acks += 1;
        client.handle_datagram(t, &buf[..n]).unwrap();
    }
    assert!(acks > 0, "the server acknowledged the resent flight");
    assert_eq!(
        client.next_timeout(),
        None,
        "the client still waits for an ACK"
    );
    assert!(
        server.stats().acks_sent >= 2,
        "{}",
        server.stats().acks_sent
    );
    exchange(&mut client, &mut server);
}
/// Drains `from`'s datagrams at time `now`.
fn drain(from: &mut Connection, now: u64) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 1500];
    let mut out = Vec::new();
    while let Some(n) = from.poll_transmit(now, &mut buf).unwrap() {
        out.push(buf[..n].to_vec());
    }
    out
}

/// The lost ServerHello (RFC 9147 §7.1): the rest of the server's flight reaches the client,
/// which cannot decrypt it, so it answers with an empty ACK in the clear; the server takes
/// that as the prompt to send its flight again at once. Seen with wolfSSL's server, which
/// retransmits on this ACK and not on a repeated ClientHello: our client used to stay silent
/// until its own timer and the handshake stalled.
#[test]
fn lost_server_hello_empty_ack_prompts_the_flight() {
    let mut client = Connection::new(cfg(V13, false, false), Role::Client, None, 0).unwrap();
    let mut server = Connection::new(cfg(V13, false, false), Role::Server, None, 0).unwrap();
    server.set_peer_address(b"127.0.0.1:1");
    for d in drain(&mut client, 0) {
        server.handle_datagram(0, &d).unwrap();
    }
    let flight = drain(&mut server, 0);
    let mut stripped = 0;
    for mut d in flight {
        // The ServerHello is the one plaintext handshake record (DTLSPlaintext, 13-byte
        // header); the records after it in the datagram are delivered.
        if d[0] == 0x16 {
            let len = usize::from(u16::from_be_bytes([d[11], d[12]]));
            d.drain(..13 + len);
            stripped += 1;
        }
        if !d.is_empty() {
            client.handle_datagram(0, &d).unwrap();
        }
    }
    assert_eq!(stripped, 1, "one ServerHello");
    // The empty ACK waits a quarter RTO for a merely reordered ServerHello.
    assert!(drain(&mut client, 0).is_empty());
    let at = client.next_timeout().unwrap();
    assert!(at <= 250, "empty ACK due at {at}");
    client.handle_timeout(at).unwrap();
    let answer = drain(&mut client, at);
    // An ACK (content type 26) in epoch 0 with no record numbers, nothing else.
    let want: &[u8] = &[26, 0xfe, 0xfd, 0, 0];
    assert!(
        answer
            .iter()
            .any(|d| d.starts_with(want) && d[11..] == [0, 2, 0, 0]),
        "no empty ACK: {answer:02x?}"
    );
    for d in &answer {
        server.handle_datagram(at, d).unwrap();
    }
    // No server timer has run (its first is at 1000): the flight comes again because of the ACK.
    let again = drain(&mut server, at);
    assert!(
        again.iter().any(|d| d[0] == 0x16),
        "the server did not resend its flight: {again:02x?}"
    );
    for d in again {
        client.handle_datagram(0, &d).unwrap();
    }
    for _ in 0..4 {
        for d in drain(&mut client, 0) {
            server.handle_datagram(0, &d).unwrap();
        }
        for d in drain(&mut server, 0) {
            client.handle_datagram(0, &d).unwrap();
        }
    }
    assert!(client.is_connected() && server.is_connected());
    exchange(&mut client, &mut server);
}

/// The epoch of each DTLS 1.3 record header starting a datagram (unified header: the low two
/// bits of the first byte), `None` for a plaintext one.
fn first_epoch_bits(d: &[u8]) -> Option<u8> {
    (d[0] & 0xe0 == 0x20).then_some(d[0] & 0x03)
}

/// RFC 9147 §7.1: the server's handshake flight is acknowledged implicitly by the client's
/// last flight, so the client sends no ACK for it: not when it completes (the ACK went out in
/// epoch 3 ahead of the Finished, unreadable to the server), nor when the server repeats its
/// flight because the client's Finished was lost (one ACK per record, while what the server
/// lacks is the Finished, which does go again).
#[test]
fn client_does_not_ack_the_server_flight() {
    let mut client = Connection::new(cfg(V13, true, false), Role::Client, None, 0).unwrap();
    let mut server = Connection::new(cfg(V13, true, false), Role::Server, None, 0).unwrap();
    server.set_peer_address(b"127.0.0.1:1");
    for d in drain(&mut client, 0) {
        server.handle_datagram(0, &d).unwrap();
    }
    let flight = drain(&mut server, 0);
    for d in &flight {
        client.handle_datagram(0, d).unwrap();
    }
    assert!(client.is_connected());
    // The client's last flight, all in epoch 2: lost.
    let last = drain(&mut client, 0);
    assert!(!last.is_empty());
    for d in &last {
        assert_eq!(first_epoch_bits(d), Some(2), "{:02x?}", &d[..8]);
    }
    // The server times out and repeats its flight; the client repeats its own, and only that.
    server.handle_timeout(2_000).unwrap();
    let again = drain(&mut server, 2_000);
    assert!(!again.is_empty());
    let mut answers = Vec::new();
    for d in &again {
        client.handle_datagram(2_000, d).unwrap();
        answers.extend(drain(&mut client, 2_000));
    }
    assert!(
        !answers.is_empty(),
        "the client's last flight did not go again"
    );
    for d in &answers {
        assert_eq!(first_epoch_bits(d), Some(2), "{:02x?}", &d[..8]);
        server.handle_datagram(2_000, d).unwrap();
    }
    assert!(server.is_connected());
    // The server acknowledges the client's last flight.
    for d in drain(&mut server, 2_000) {
        client.handle_datagram(2_000, &d).unwrap();
    }
    exchange(&mut client, &mut server);
}

/// A whole ClientHello in one plaintext record: everything but its extensions (legacy_version
/// to compression methods, the empty DTLS 1.3 legacy_cookie included) and its extensions as
/// (type, data).
fn client_hello_parts(d: &[u8]) -> (Vec<u8>, Vec<(u16, Vec<u8>)>) {
    assert_eq!(d[0], 22, "a plaintext handshake record");
    let body = &d[13 + 12..];
    let mut i = 2 + 32;
    i += 1 + usize::from(body[i]); // session id
    i += 1 + usize::from(body[i]); // legacy cookie
    i += 2 + usize::from(u16::from_be_bytes([body[i], body[i + 1]])); // suites
    i += 1 + usize::from(body[i]); // compression
    let fixed = body[..i].to_vec();
    let end = i + 2 + usize::from(u16::from_be_bytes([body[i], body[i + 1]]));
    let mut exts = Vec::new();
    let mut j = i + 2;
    while j < end {
        let typ = u16::from_be_bytes([body[j], body[j + 1]]);
        let len = usize::from(u16::from_be_bytes([body[j + 2], body[j + 3]]));
        exts.push((typ, body[j + 4..j + 4 + len].to_vec()));
        j += 4 + len;
    }
    (fixed, exts)
}

/// RFC 8446 §4.1.2: after a HelloRetryRequest the client sends the same ClientHello but for
/// the key share and the cookie. A client offering 1.2 and 1.3 dropped its 1.2 suites and
/// extensions and 1.2 from supported_versions in ClientHello2, and pion's 1.3 server refused
/// it ("ClientHello fields changed after HelloRetryRequest", illegal_parameter).
#[test]
fn dual_version_client_hello2_repeats_client_hello1() {
    let mut client = Connection::new(cfg(BOTH, false, false), Role::Client, None, 0).unwrap();
    let mut server = Connection::new(cfg(V13, false, true), Role::Server, None, 0).unwrap();
    server.set_peer_address(b"127.0.0.1:1");
    let ch1 = drain(&mut client, 0);
    assert_eq!(ch1.len(), 1);
    server.handle_datagram(0, &ch1[0]).unwrap();
    for d in drain(&mut server, 0) {
        client.handle_datagram(0, &d).unwrap();
    }
    let ch2 = drain(&mut client, 0);
    assert_eq!(ch2.len(), 1);
    let (fixed1, exts1) = client_hello_parts(&ch1[0]);
    let (fixed2, exts2) = client_hello_parts(&ch2[0]);
    assert_eq!(
        fixed1, fixed2,
        "version, random, session id, suites, compression"
    );
    // key_share (51) may change and cookie (44) is new; nothing else differs.
    let keep = |e: &[(u16, Vec<u8>)]| -> Vec<(u16, Vec<u8>)> {
        e.iter()
            .filter(|(t, _)| *t != 51 && *t != 44)
            .cloned()
            .collect()
    };
    assert_eq!(keep(&exts1), keep(&exts2));
    assert!(
        exts2.iter().any(|(t, _)| *t == 44),
        "ClientHello2 has the cookie"
    );
    // And the handshake completes, in 1.3.
    for d in &ch2 {
        server.handle_datagram(0, d).unwrap();
    }
    for _ in 0..4 {
        for d in drain(&mut server, 0) {
            client.handle_datagram(0, &d).unwrap();
        }
        for d in drain(&mut client, 0) {
            server.handle_datagram(0, &d).unwrap();
        }
    }
    assert_eq!(version(&client), ProtocolVersion::Dtls13);
    exchange(&mut client, &mut server);
}

/// DTLS 1.3 on an impaired link (the simulation of tests/impairment.rs, which runs 1.2):
/// 30 % loss with each of its profiles (reordering, duplication, jitter, a round trip above
/// the RTO), at MTU 200 with client authentication and the HelloRetryRequest cookie. Every
/// trial completes within the deadline, with no application record delivered twice or
/// forged, and no event after Connected. (Bit corruption is left out: a flipped bit in a
/// plaintext ClientHello or ServerHello cannot be told from the real thing before keys exist,
/// and ends the handshake, as in 1.2.)
#[test]
fn dtls13_on_lossy_links_completes() {
    use impair::{profile, run_cell, Cell, Cookie, Kind, Timers};
    for p in ["plain", "reorder", "dup", "mixed", "slow"] {
        let cell = Cell {
            loss: 0.3,
            mtu: 200,
            cookie: Cookie::Engine,
            client_auth: true,
            timers: Timers::CAPPED,
            version: impair::pair::Version::V13,
            ..profile(p)
        };
        let r = run_cell(&cell, 25, 1);
        // Not vacuous: the link did lose datagrams of these handshakes.
        let lost: u64 = r.trials.iter().map(|t| t.link.lost).sum();
        assert!(lost >= 25, "{}: only {lost} datagrams lost", cell.label());
        for t in &r.trials {
            let what = format!("{}: {}", cell.label(), t.describe());
            assert_eq!(t.kind(), Kind::Completed, "{what}");
            assert!(t.completed_at.unwrap_or(u64::MAX) <= cell.timers.handshake_timeout_ms);
            assert_eq!(t.foreign_app_records(), 0, "{what}");
            assert_eq!(t.duplicate_app_records(), 0, "{what}");
            assert_eq!(t.client.late_events + t.server.late_events, 0, "{what}");
            assert_eq!(t.app_counts().0, 2 * cell.app_records, "{what}");
        }
    }
}
