//! DTLS 1.3 in memory: both roles of our engine against each other, and version negotiation
//! between 1.2-only, 1.3-only and dual-version configurations.

use dtls_proto::{Certificate, Config, Connection, Event, PeerVerification, ProtocolVersion, Role};
use std::sync::Arc;

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
