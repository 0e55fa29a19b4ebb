//! The per-association memory bounds (`Limits`) and AEAD usage limits hold: what does not fit
//! is dropped and counted, or refused, and the association carries on. (Also one retransmission
//! rule that needs the same two-endpoint harness: data before Finished.)

use crate::common::fixtures::fixture;
use crate::common::pair::*;
use crate::version_tests;
use dtls_proto::*;
use std::sync::Arc;

/// An instant pair with pinned fingerprints, the server requiring the client's certificate.
fn pair(v: Version, server_limits: Limits, client_limits: Limits) -> Pair {
    let (c, s) = pinned(v);
    let s = s.require_client_certificate(true).limits(server_limits);
    let c = c.limits(client_limits);
    let (c, s) = build((c, s));
    Pair::instant(c, s)
}

fn unread_records_beyond_the_limit_are_dropped_and_counted(v: Version) {
    let limits = Limits {
        max_received_records: 32,
        ..Limits::default()
    };
    let mut p = pair(v, Limits::default(), limits);
    p.handshake(10_000);
    assert!(p.client.is_connected() && p.server.is_connected());
    for i in 0..40u8 {
        p.server.send(&[i; 100]).unwrap();
        p.transfer(SERVER);
    }
    assert_eq!(p.client.stats().dropped.overflow, 8);
    let mut buf = [0u8; 200];
    let mut got = Vec::new();
    while let Some(n) = p.client.recv(&mut buf).unwrap() {
        got.push(buf[..n].to_vec());
    }
    // The first 32 were kept, in order; after reading, new records fit again.
    assert_eq!(got.len(), 32);
    assert!(got.iter().enumerate().all(|(i, r)| r == &[i as u8; 100]));
    p.server.send(b"again").unwrap();
    p.transfer(SERVER);
    assert_eq!(p.client.recv(&mut buf).unwrap(), Some(5));
}
version_tests!(unread_records_beyond_the_limit_are_dropped_and_counted);

fn unread_bytes_bound_the_receive_queue_too(v: Version) {
    let limits = Limits {
        max_received_bytes: 16 * 1024,
        ..Limits::default()
    };
    let mut p = pair(v, Limits::default(), limits);
    p.handshake(10_000);
    for _ in 0..20 {
        p.server.send(&[7u8; 1000]).unwrap();
        p.transfer(SERVER);
    }
    // 16 records of 1000 bytes fit in 16 KiB; the other 4 are dropped.
    assert_eq!(p.client.stats().dropped.overflow, 4);
}
version_tests!(unread_bytes_bound_the_receive_queue_too);

fn send_queue_bound_refuses_with_an_error_and_loses_nothing(v: Version) {
    let limits = Limits {
        max_queued_records: 4,
        ..Limits::default()
    };
    let mut p = pair(v, Limits::default(), limits);
    p.handshake(10_000);
    for i in 0..4u8 {
        p.client.send(&[i]).unwrap();
    }
    assert!(p.client.send(b"one too many").is_err());
    p.transfer(CLIENT);
    let mut buf = [0u8; 64];
    for i in 0..4u8 {
        assert_eq!(p.server.recv(&mut buf).unwrap(), Some(1));
        assert_eq!(buf[0], i);
    }
    // Once sealed, the queue has room again; the association is still up.
    p.client.send(b"later").unwrap();
    p.transfer(CLIENT);
    assert_eq!(p.server.recv(&mut buf).unwrap(), Some(5));
}
version_tests!(send_queue_bound_refuses_with_an_error_and_loses_nothing);

#[test]
fn a_chain_longer_than_allowed_is_rejected() {
    // The server sends leaf + intermediate: two certificates, one more than the client allows.
    let cert = Certificate::from_pem(&fixture("server-chain.crt"), &fixture("server.key")).unwrap();
    assert_eq!(cert.chain().len(), 2);
    let scfg = Config::builder()
        .certificate(cert)
        .peer_verification(PeerVerification::DangerousAcceptAny)
        .build()
        .unwrap();
    let strict: Arc<Config> = Config::builder()
        .root_certificates_pem(&fixture("ca.crt"))
        .limits(Limits {
            max_cert_chain_len: 1,
            ..Limits::default()
        })
        .build()
        .unwrap();
    let mut p = Pair::instant(strict, scfg);
    let mut failed = None;
    for _ in 0..10 {
        p.transfer(CLIENT);
        p.transfer(SERVER);
        while let Some(ev) = p.client.poll_event() {
            if let Event::Failed(e) = ev {
                failed = Some(e);
            }
        }
    }
    let e = failed.expect("the client must fail on the over-long chain");
    assert!(!p.client.is_connected());
    assert_eq!(e.alert(), Some(AlertDescription::DecodeError), "{e:?}");
}

#[test]
fn limits_below_what_a_handshake_needs_are_refused() {
    for bad in [
        Limits {
            max_handshake_message: 100,
            ..Limits::default()
        },
        Limits {
            max_reassembly_bytes: 1000,
            ..Limits::default()
        },
        Limits {
            max_deferred_records: 0,
            ..Limits::default()
        },
        Limits {
            max_queued_records: 0,
            ..Limits::default()
        },
        Limits {
            max_received_records: 0,
            ..Limits::default()
        },
        Limits {
            max_cert_chain_len: 0,
            ..Limits::default()
        },
    ] {
        let r = Config::builder().limits(bad).build();
        assert!(matches!(r, Err(Error::InvalidConfig(_))), "{bad:?}");
    }
    // The old single-purpose setter keeps reassembly room for the bigger messages.
    let cfg = Config::builder()
        .max_handshake_message(200_000)
        .build()
        .unwrap();
    assert!(cfg.limits().max_reassembly_bytes >= 200_000);
}

/// A genuine application record from `s`, with its sequence number set to `seq` and a
/// ciphertext byte flipped: fresh to the replay window, but it fails authentication.
fn forged_record(s: &mut Connection, seq: u64) -> Vec<u8> {
    s.send(b"genuine").unwrap();
    let mut buf = [0u8; 1500];
    let n = s.poll_transmit(0, &mut buf).unwrap().unwrap();
    let mut rec = buf[..n].to_vec();
    assert_eq!(rec[0], 23, "an application_data record");
    rec[5..11].copy_from_slice(&seq.to_be_bytes()[2..]);
    let last = rec.len() - 1;
    rec[last] ^= 1;
    rec
}

#[test]
fn forged_records_end_the_association_only_at_the_configured_auth_failure_limit() {
    let v = Version::V12;
    let limits = Limits {
        max_auth_failures: 5,
        ..Limits::default()
    };
    let mut p = pair(v, Limits::default(), limits);
    p.handshake(10_000);
    for i in 0..4 {
        let rec = forged_record(&mut p.server, 1000 + i);
        p.client.handle_datagram(0, &rec).unwrap();
    }
    assert!(
        p.client.is_connected(),
        "four forgeries are dropped and counted"
    );
    assert_eq!(p.client.stats().dropped.auth_failed, 4);
    let rec = forged_record(&mut p.server, 2000);
    let err = p.client.handle_datagram(0, &rec).unwrap_err();
    assert!(matches!(err, Error::KeyUsageLimit(_)), "{err:?}");
    assert_eq!(err.code(), 305);
    assert!(!p.client.is_connected());

    // With the default (2^36, RFC 9147 §4.5.3), a thousand forgeries change nothing.
    let mut p = pair(v, Limits::default(), Limits::default());
    p.handshake(10_000);
    for i in 0..1000 {
        let rec = forged_record(&mut p.server, 5000 + i);
        p.client.handle_datagram(0, &rec).unwrap();
    }
    assert!(p.client.is_connected());
    p.server.send(b"still here").unwrap();
    p.transfer(SERVER);
    let mut buf = [0u8; 64];
    assert_eq!(p.client.recv(&mut buf).unwrap(), Some(10));
}

/// RFC 6347 §4.2.4: data that arrives before the peer's Finished shows the peer has finished
/// and its last flight was lost. The client resends its own last flight at once (prompting
/// the server's), instead of waiting out its retransmission timer.
#[test]
fn data_before_finished_prompts_the_last_flight_at_once() {
    let v = Version::V12;
    let mut p = pair(v, Limits::default(), Limits::default());
    // Flights 1-4 (with the cookie exchange), then the client's flight 5 reaches the server.
    for _ in 0..4 {
        p.transfer(CLIENT);
        if p.server.is_connected() {
            break;
        }
        p.transfer(SERVER);
    }
    assert!(p.server.is_connected() && !p.client.is_connected());
    // The server's last flight (ChangeCipherSpec, Finished) is lost.
    assert!(!p.take(SERVER).is_empty());
    let early = p.seal(SERVER, b"early data");
    p.now = 10; // well before the client's first retransmission timeout (1 s)
    p.client.handle_datagram(p.now, &early).unwrap();
    let resent = p.take(CLIENT);
    assert!(!resent.is_empty(), "the client waits for its timer");
    assert_eq!(p.client.stats().retransmissions, 1);
    // The server answers with its last flight again; both are connected, and the early data
    // is delivered.
    for d in &resent {
        p.server.handle_datagram(p.now, d).unwrap();
    }
    p.transfer(CLIENT);
    p.transfer(SERVER);
    assert!(p.client.is_connected());
    let mut app = [0u8; 64];
    assert_eq!(p.client.recv(&mut app).unwrap(), Some(10));
}

/// The cookie window is configurable: a ClientHello echoing a cookie from two windows ago is
/// answered with a fresh HelloVerifyRequest, one from the previous window is accepted.
#[test]
fn cookie_lifetime_is_configurable() {
    use dtls_proto::server::{ServerFrontDoor, Verdict};
    assert!(Config::builder().cookie_lifetime_ms(0).build().is_err());
    // The 1.2 front door (`prefilter`): with DTLS 1.3 enabled it leaves cookies to the
    // Connection, so the server is pinned to 1.2 here.
    let scfg = Config::builder()
        .certificate(Certificate::generate("s").unwrap())
        .versions(&[ProtocolVersion::Dtls12])
        .cookie_lifetime_ms(1000)
        .build()
        .unwrap();
    let door = ServerFrontDoor::new(scfg);
    let ccfg = Config::builder()
        .peer_verification(PeerVerification::DangerousAcceptAny)
        .build()
        .unwrap();
    let mut c = Connection::new(ccfg, Role::Client, None, 0).unwrap();
    let mut buf = [0u8; 1500];
    let mut hvr = [0u8; 256];
    let n = c.poll_transmit(0, &mut buf).unwrap().unwrap();
    let Verdict::Reply(m) = door.prefilter(0, b"peer", &buf[..n], &mut hvr) else {
        panic!("no HelloVerifyRequest");
    };
    c.handle_datagram(0, &hvr[..m]).unwrap();
    let n = c.poll_transmit(0, &mut buf).unwrap().unwrap();
    let ch = buf[..n].to_vec();
    assert_eq!(
        door.prefilter(1500, b"peer", &ch, &mut hvr),
        Verdict::Accept
    );
    assert!(matches!(
        door.prefilter(2500, b"peer", &ch, &mut hvr),
        Verdict::Reply(_)
    ));
}
