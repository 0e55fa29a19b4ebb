//! The per-association memory bounds (`Limits`) and AEAD usage limits hold: what does not fit
//! is dropped and counted, or refused, and the association carries on. (Also one retransmission
//! rule that needs the same two-endpoint harness: data before Finished.)

mod common;

use common::fixtures::fixture;
use dtls_proto::*;
use std::sync::Arc;

fn pair(server_limits: Limits, client_limits: Limits) -> (Connection, Connection) {
    let scert = Certificate::generate("server").unwrap();
    let ccert = Certificate::generate("client").unwrap();
    let sfp = scert.fingerprint(HashAlg::Sha256);
    let cfp = ccert.fingerprint(HashAlg::Sha256);
    let scfg = Config::builder()
        .certificate(scert)
        .peer_fingerprint(cfp)
        .require_client_certificate(true)
        .limits(server_limits)
        .build()
        .unwrap();
    let ccfg = Config::builder()
        .certificate(ccert)
        .peer_fingerprint(sfp)
        .limits(client_limits)
        .build()
        .unwrap();
    (
        Connection::new(ccfg, Role::Client, None, 0).unwrap(),
        Connection::new(scfg, Role::Server, None, 0).unwrap(),
    )
}

/// Moves every pending datagram from `a` to `b`; returns how many.
fn pump(a: &mut Connection, b: &mut Connection) -> usize {
    let mut buf = [0u8; 1500];
    let mut n = 0;
    while let Some(len) = a.poll_transmit(0, &mut buf).unwrap() {
        let _ = b.handle_datagram(0, &buf[..len]);
        n += 1;
    }
    n
}

fn handshake(c: &mut Connection, s: &mut Connection) {
    for _ in 0..20 {
        if pump(c, s) + pump(s, c) == 0 {
            break;
        }
    }
}

#[test]
fn unread_records_beyond_the_limit_are_dropped_and_counted() {
    let limits = Limits {
        max_received_records: 32,
        ..Limits::default()
    };
    let (mut c, mut s) = pair(Limits::default(), limits);
    handshake(&mut c, &mut s);
    assert!(c.is_connected() && s.is_connected());
    for i in 0..40u8 {
        s.send(&[i; 100]).unwrap();
        pump(&mut s, &mut c);
    }
    assert_eq!(c.stats().dropped.overflow, 8);
    let mut buf = [0u8; 200];
    let mut got = Vec::new();
    while let Some(n) = c.recv(&mut buf).unwrap() {
        got.push(buf[..n].to_vec());
    }
    // The first 32 were kept, in order; after reading, new records fit again.
    assert_eq!(got.len(), 32);
    assert!(got.iter().enumerate().all(|(i, r)| r == &[i as u8; 100]));
    s.send(b"again").unwrap();
    pump(&mut s, &mut c);
    assert_eq!(c.recv(&mut buf).unwrap(), Some(5));
}

#[test]
fn unread_bytes_bound_the_receive_queue_too() {
    let limits = Limits {
        max_received_bytes: 16 * 1024,
        ..Limits::default()
    };
    let (mut c, mut s) = pair(Limits::default(), limits);
    handshake(&mut c, &mut s);
    for _ in 0..20 {
        s.send(&[7u8; 1000]).unwrap();
        pump(&mut s, &mut c);
    }
    // 16 records of 1000 bytes fit in 16 KiB; the other 4 are dropped.
    assert_eq!(c.stats().dropped.overflow, 4);
}

#[test]
fn send_queue_bound_refuses_with_an_error_and_loses_nothing() {
    let limits = Limits {
        max_queued_records: 4,
        ..Limits::default()
    };
    let (mut c, mut s) = pair(Limits::default(), limits);
    handshake(&mut c, &mut s);
    for i in 0..4u8 {
        c.send(&[i]).unwrap();
    }
    assert!(c.send(b"one too many").is_err());
    pump(&mut c, &mut s);
    let mut buf = [0u8; 64];
    for i in 0..4u8 {
        assert_eq!(s.recv(&mut buf).unwrap(), Some(1));
        assert_eq!(buf[0], i);
    }
    // Once sealed, the queue has room again; the association is still up.
    c.send(b"later").unwrap();
    pump(&mut c, &mut s);
    assert_eq!(s.recv(&mut buf).unwrap(), Some(5));
}

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
    let mut c = Connection::new(strict, Role::Client, Some("dtls-server"), 0).unwrap();
    let mut s = Connection::new(scfg, Role::Server, None, 0).unwrap();
    let mut failed = None;
    for _ in 0..10 {
        pump(&mut c, &mut s);
        pump(&mut s, &mut c);
        while let Some(ev) = c.poll_event() {
            if let Event::Failed(e) = ev {
                failed = Some(e);
            }
        }
    }
    let e = failed.expect("the client must fail on the over-long chain");
    assert!(!c.is_connected());
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
    let limits = Limits {
        max_auth_failures: 5,
        ..Limits::default()
    };
    let (mut c, mut s) = pair(Limits::default(), limits);
    handshake(&mut c, &mut s);
    for i in 0..4 {
        let rec = forged_record(&mut s, 1000 + i);
        c.handle_datagram(0, &rec).unwrap();
    }
    assert!(c.is_connected(), "four forgeries are dropped and counted");
    assert_eq!(c.stats().dropped.auth_failed, 4);
    let rec = forged_record(&mut s, 2000);
    let err = c.handle_datagram(0, &rec).unwrap_err();
    assert!(matches!(err, Error::KeyUsageLimit(_)), "{err:?}");
    assert_eq!(err.code(), 305);
    assert!(!c.is_connected());

    // With the default (2^36, RFC 9147 §4.5.3), a thousand forgeries change nothing.
    let (mut c, mut s) = pair(Limits::default(), Limits::default());
    handshake(&mut c, &mut s);
    for i in 0..1000 {
        let rec = forged_record(&mut s, 5000 + i);
        c.handle_datagram(0, &rec).unwrap();
    }
    assert!(c.is_connected());
    s.send(b"still here").unwrap();
    pump(&mut s, &mut c);
    let mut buf = [0u8; 64];
    assert_eq!(c.recv(&mut buf).unwrap(), Some(10));
}

/// RFC 6347 §4.2.4: data that arrives before the peer's Finished shows the peer has finished
/// and its last flight was lost. The client resends its own last flight at once (prompting
/// the server's), instead of waiting out its retransmission timer.
#[test]
fn data_before_finished_prompts_the_last_flight_at_once() {
    let (mut c, mut s) = pair(Limits::default(), Limits::default());
    let mut buf = [0u8; 1500];
    // Flights 1-4 (with the cookie exchange), then the client's flight 5 reaches the server.
    for _ in 0..4 {
        pump(&mut c, &mut s);
        if s.is_connected() {
            break;
        }
        pump(&mut s, &mut c);
    }
    assert!(s.is_connected() && !c.is_connected());
    // The server's last flight (ChangeCipherSpec, Finished) is lost.
    while s.poll_transmit(0, &mut buf).unwrap().is_some() {}
    s.send(b"early data").unwrap();
    let n = s.poll_transmit(0, &mut buf).unwrap().unwrap();
    let now = 10; // well before the client's first retransmission timeout (1 s)
    c.handle_datagram(now, &buf[..n]).unwrap();
    let resent = c.poll_transmit(now, &mut buf).unwrap();
    assert!(resent.is_some(), "the client waits for its timer");
    assert_eq!(c.stats().retransmissions, 1);
    // The server answers with its last flight again; both are connected, and the early data
    // is delivered.
    s.handle_datagram(now, &buf[..resent.unwrap()]).unwrap();
    pump(&mut c, &mut s);
    pump(&mut s, &mut c);
    assert!(c.is_connected());
    let mut app = [0u8; 64];
    assert_eq!(c.recv(&mut app).unwrap(), Some(10));
}

/// The cookie window is configurable: a ClientHello echoing a cookie from two windows ago is
/// answered with a fresh HelloVerifyRequest, one from the previous window is accepted.
#[test]
fn cookie_lifetime_is_configurable() {
    use dtls_proto::server::{ServerFrontDoor, Verdict};
    assert!(Config::builder().cookie_lifetime_ms(0).build().is_err());
    let scfg = Config::builder()
        .certificate(Certificate::generate("s").unwrap())
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
