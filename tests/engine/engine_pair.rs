//! Two of our own endpoints driven through the simulated link of `tests/common/link.rs` on a
//! virtual clock: every suite and group with mutual authentication, a small MTU, loss,
//! reordering and duplication, retransmission timing, the replay window, close_notify, the
//! cookie exchange, events, forged plaintext records, EMS policies, ALPN and use_srtp.
//!
//! The harness (`tests/common/pair.rs`) runs the drive loop every user writes. Tests that hold
//! for every protocol version take the version as a parameter (`version_tests!`); the others
//! check DTLS 1.2 rules or wire bytes.

use crate::common::link::{LinkConfig, Side};
use crate::common::pair::*;
use crate::version_tests;
use dtls_proto::*;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Configurations.

const ALL_SUITES: [CipherSuite; 6] = [
    CipherSuite::EcdheEcdsaAes128GcmSha256,
    CipherSuite::EcdheEcdsaAes256GcmSha384,
    CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
    CipherSuite::EcdheRsaAes128GcmSha256,
    CipherSuite::EcdheRsaAes256GcmSha384,
    CipherSuite::EcdheRsaChacha20Poly1305Sha256,
];

const ALL_GROUPS: [NamedGroup; 3] = [
    NamedGroup::X25519,
    NamedGroup::Secp256r1,
    NamedGroup::Secp384r1,
];

fn is_rsa(suite: CipherSuite) -> bool {
    matches!(
        suite,
        CipherSuite::EcdheRsaAes128GcmSha256
            | CipherSuite::EcdheRsaAes256GcmSha384
            | CipherSuite::EcdheRsaChacha20Poly1305Sha256
    )
}

/// The default pair: ECDSA fixtures, webpki, both sides authenticated.
fn default_pair(v: Version) -> Pair {
    let (c, s) = build(webpki(v));
    Pair::lossless(c, s)
}

/// A connected default pair over a lossless link.
fn connected_pair(v: Version) -> Pair {
    let mut p = default_pair(v);
    p.handshake(10_000);
    p
}

// ---------------------------------------------------------------------------------------------
// Suites, groups, authentication.

/// Every suite with every group, both sides authenticated by webpki (chain to ca.crt, client
/// checks the name "dtls-server"). Both ends offer one suite and one group, so the outcome is
/// forced; the negotiated values and both peer chains are checked.
#[test]
fn every_suite_and_group_with_webpki_mutual_auth() {
    let v = Version::V12;
    for suite in ALL_SUITES {
        for group in ALL_GROUPS {
            let (sleaf, cleaf) = if is_rsa(suite) {
                ("rsa-server", "rsa-client")
            } else {
                ("server", "client")
            };
            let ccfg = webpki_client(v, cleaf)
                .cipher_suites(&[suite])
                .groups(&[group])
                .build()
                .unwrap();
            let scfg = webpki_server(v, sleaf)
                .cipher_suites(&[suite])
                .groups(&[group])
                .build()
                .unwrap();
            let mut p = Pair::lossless(ccfg, scfg);
            p.handshake(10_000);
            for (side, log) in [("client", &p.c), ("server", &p.s)] {
                let n = log
                    .connected()
                    .unwrap_or_else(|| panic!("{side} {suite:?} {group:?}: no Connected event"));
                assert_eq!(n.version, v.protocol(), "{side} {suite:?}");
                assert_eq!(n.cipher_suite, suite, "{side}");
                assert_eq!(n.group, group, "{side} {suite:?}");
                assert!(n.extended_master_secret, "{side}: EMS is the default");
                assert!(n.peer_signature_scheme.is_some(), "{side} {suite:?}");
            }
            assert_eq!(p.client.peer_certificates().len(), 2, "{suite:?} {group:?}");
            assert_eq!(p.server.peer_certificates().len(), 2, "{suite:?} {group:?}");
            assert_eq!(
                p.client.peer_certificates()[0],
                fixture_cert(sleaf).chain()[0]
            );
            assert_eq!(
                p.server.peer_certificates()[0],
                fixture_cert(cleaf).chain()[0]
            );
            // Keys agree: the exporter gives both sides the same bytes.
            let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
            p.client
                .export_keying_material(b"EXTRACTOR-dtls_srtp", None, &mut a)
                .unwrap();
            p.server
                .export_keying_material(b"EXTRACTOR-dtls_srtp", None, &mut b)
                .unwrap();
            assert_eq!(a, b, "{suite:?} {group:?}");
            p.exchange_app_data();
        }
    }
}

/// WebRTC style: self-generated certificates pinned by SHA-256 fingerprint on both sides,
/// once per key type the generator offers and once through the config instead of the
/// association. The server asks for the client certificate because it holds a pin.
fn fingerprint_pinning_with_generated_certificates(v: Version) {
    for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384] {
        for pin_in_config in [false, true] {
            let scert = Certificate::generate_with("server", kind).unwrap();
            let ccert = Certificate::generate_with("client", kind).unwrap();
            let sfp = scert.fingerprint(HashAlg::Sha256);
            let cfp = ccert.fingerprint(HashAlg::Sha256);
            let mut cb = builder(v).certificate(ccert.clone());
            let mut sb = builder(v).certificate(scert.clone());
            if pin_in_config {
                cb = cb
                    .peer_fingerprint(sfp.clone())
                    .peer_verification(PeerVerification::Fingerprint);
                sb = sb
                    .peer_fingerprint(cfp.clone())
                    .peer_verification(PeerVerification::Fingerprint);
            }
            let mut p = Pair::lossless(cb.build().unwrap(), sb.build().unwrap());
            if !pin_in_config {
                p.client.add_peer_fingerprint(&sfp.to_sdp()).unwrap();
                p.server.add_peer_fingerprint(&cfp.to_sdp()).unwrap();
            }
            p.handshake(10_000);
            assert_eq!(p.client.peer_certificates(), scert.chain(), "{kind:?}");
            assert_eq!(p.server.peer_certificates(), ccert.chain(), "{kind:?}");
            p.exchange_app_data();
        }
    }
}
version_tests!(fingerprint_pinning_with_generated_certificates);

/// A pin that matches neither certificate fails the handshake with FingerprintMismatch on the
/// side holding it, and the other side never connects.
fn wrong_fingerprint_fails_the_handshake(v: Version) {
    let scert = Certificate::generate("server").unwrap();
    let ccert = Certificate::generate("client").unwrap();
    let other = Certificate::generate("someone else").unwrap();
    let mut p = Pair::lossless(
        builder(v).certificate(ccert.clone()).build().unwrap(),
        builder(v).certificate(scert).build().unwrap(),
    );
    p.client
        .add_peer_fingerprint(&other.fingerprint(HashAlg::Sha256).to_sdp())
        .unwrap();
    p.server
        .add_peer_fingerprint(&ccert.fingerprint(HashAlg::Sha256).to_sdp())
        .unwrap();
    let done = p.run_until(10_000, |p| p.c.error.is_some());
    assert!(done, "client never failed");
    assert_eq!(p.c.error(), Some(&Error::FingerprintMismatch));
    assert!(!p.server.is_connected());
    assert!(p
        .c
        .events
        .iter()
        .any(|(_, e)| *e == Event::Failed(Error::FingerprintMismatch)));
}
version_tests!(wrong_fingerprint_fails_the_handshake);

// ---------------------------------------------------------------------------------------------
// MTU.

/// MTU 256 on both ends and on the link forces the server's two-certificate chain (and the
/// client's) into many fragments (RFC 6347 §4.2.3). No datagram may exceed 256 bytes, the
/// link must not have dropped any as oversize, and both chains arrive whole.
fn mtu_256_fragments_certificates(v: Version) {
    for (sleaf, cleaf) in [("server", "client"), ("rsa-server", "rsa-client")] {
        let ccfg = webpki_client(v, cleaf).mtu(256).build().unwrap();
        let scfg = webpki_server(v, sleaf).mtu(256).build().unwrap();
        let mut p = Pair::new(
            ccfg,
            scfg,
            LinkConfig {
                mtu: 256,
                ..Default::default()
            },
        );
        p.handshake(10_000);
        assert!(p.max_datagram <= 256, "{sleaf}: {}", p.max_datagram);
        assert_eq!(p.link.stats().oversize, 0);
        // A chain bigger than one datagram means the fragmentation path really ran.
        let chain_len: usize = fixture_cert(sleaf).chain().iter().map(Vec::len).sum();
        assert!(chain_len > 256, "fixture chain unexpectedly small");
        assert_eq!(p.client.peer_certificates(), fixture_cert(sleaf).chain());
        assert_eq!(p.server.peer_certificates(), fixture_cert(cleaf).chain());
        // The largest record `send` accepts still fits one datagram.
        let max = p.client.max_send_len();
        assert!(max > 0 && max < 256);
        let big = vec![0x5a; max];
        p.client.send(&big).unwrap();
        assert!(p.client.send(&vec![0; max + 1]).is_err());
        assert!(p.run_until(p.now + 1_000, |p| !p.s.app.is_empty()));
        assert_eq!(p.s.app, vec![big]);
        assert!(p.max_datagram <= 256);
    }
}
version_tests!(mtu_256_fragments_certificates);

// ---------------------------------------------------------------------------------------------
// Impaired network.

/// 20% loss, reordering, duplication and jitter, 30 seeds: every handshake completes, and
/// application data crosses both ways. DTLS does not retransmit application data, so each
/// side resends its message until the other has it.
fn lossy_reordering_duplicating_link_30_seeds(v: Version) {
    let mut totals = (0, 0, 0);
    let mut retransmissions = 0;
    for seed in 1..=30u64 {
        let ccfg = webpki_client(v, "client")
            .timers(500, 8_000, 60_000)
            .build()
            .unwrap();
        let scfg = webpki_server(v, "server")
            .timers(500, 8_000, 60_000)
            .build()
            .unwrap();
        let mut p = Pair::new(
            ccfg,
            scfg,
            LinkConfig {
                loss: 0.2,
                duplicate: 0.1,
                reorder: 0.1,
                latency_ms: 20,
                jitter_ms: 15,
                seed,
                ..Default::default()
            },
        );
        p.handshake(60_000);
        assert!(p.c.error.is_none() && p.s.error.is_none(), "seed {seed}");
        let (to_server, to_client) = (format!("c2s {seed}"), format!("s2c {seed}"));
        // Records each side sent: one per `send` (DTLS never retransmits application data).
        let (mut c_sent_app, mut s_sent_app) = (0, 0);
        for attempt in 0..100 {
            let c_done = p.s.app.iter().any(|m| *m == to_server.as_bytes());
            let s_done = p.c.app.iter().any(|m| *m == to_client.as_bytes());
            if c_done && s_done {
                break;
            }
            assert!(attempt < 99, "seed {seed}: application data never crossed");
            if !c_done {
                p.client.send(to_server.as_bytes()).unwrap();
                c_sent_app += 1;
            }
            if !s_done {
                p.server.send(to_client.as_bytes()).unwrap();
                s_sent_app += 1;
            }
            p.run_for(100);
        }
        // Nothing but what was sent arrives, and a duplicated record never arrives twice
        // (every resend is a new record, so count records, not contents).
        assert!(
            p.s.app.iter().all(|m| *m == to_server.as_bytes()),
            "seed {seed}"
        );
        assert!(
            p.c.app.iter().all(|m| *m == to_client.as_bytes()),
            "seed {seed}"
        );
        assert!(
            p.s.app.len() <= c_sent_app,
            "seed {seed}: a record arrived twice"
        );
        assert!(
            p.c.app.len() <= s_sent_app,
            "seed {seed}: a record arrived twice"
        );
        let ls = p.link.stats();
        totals.0 += ls.lost;
        totals.1 += ls.duplicated;
        totals.2 += ls.reordered;
        retransmissions += p.client.stats().retransmissions + p.server.stats().retransmissions;
    }
    // The impairments really happened (and forced retransmissions).
    assert!(
        totals.0 > 30 && totals.1 > 10 && totals.2 > 10,
        "{totals:?}"
    );
    assert!(retransmissions > 10, "{retransmissions}");
}
version_tests!(lossy_reordering_duplicating_link_30_seeds);

/// The link also flips bits: corrupt datagrams are dropped and counted, never fatal.
fn corrupting_link_never_kills_the_handshake(v: Version) {
    for seed in 1..=10u64 {
        let ccfg = webpki_client(v, "client")
            .timers(500, 8_000, 60_000)
            .build()
            .unwrap();
        let scfg = webpki_server(v, "server")
            .timers(500, 8_000, 60_000)
            .build()
            .unwrap();
        let mut p = Pair::new(
            ccfg,
            scfg,
            LinkConfig {
                corrupt: 0.1,
                loss: 0.05,
                seed,
                ..Default::default()
            },
        );
        let ok = p.run_until(60_000, |p| {
            (p.client.is_connected() && p.server.is_connected())
                || p.c.error.is_some()
                || p.s.error.is_some()
        });
        // A flipped bit inside a plaintext handshake message can be fatal legitimately (it
        // makes a well-formed but wrong message, RFC 6347 §4.1.2.7 only protects records
        // that fail authentication). What must never happen is an internal error.
        assert!(ok, "seed {seed}: neither completed nor failed");
        for e in [p.c.error(), p.s.error()].into_iter().flatten() {
            assert!(!matches!(e, Error::Internal(_)), "seed {seed}: {e:?}");
        }
    }
}
version_tests!(corrupting_link_never_kills_the_handshake);

// ---------------------------------------------------------------------------------------------
// Retransmission timing (RFC 6347 §4.2.4.1: initial timer 1 s, doubled each time, capped).

/// Times at which the client emitted a ClientHello, and the time and error of its failure,
/// when the server's answers never arrive.
fn client_hello_schedule(v: Version, ccfg: Arc<Config>) -> (Vec<u64>, u64, Error) {
    let scfg = webpki_server(v, "server").build().unwrap();
    let mut p = Pair::lossless(ccfg, scfg);
    p.tamper = Some(Box::new(
        |side, _, d| {
            if side == SERVER {
                Vec::new()
            } else {
                vec![d]
            }
        },
    ));
    let failed = p.run_until(1_000_000, |p| p.c.error.is_some());
    assert!(failed, "client never gave up");
    let times = p.c.sent.iter().map(|(t, _)| *t).collect::<Vec<_>>();
    // Every datagram it sent is a ClientHello (handshake record, message type 1).
    for (_, d) in &p.c.sent {
        assert_eq!((d[0], d[13]), (22, 1), "not a ClientHello");
    }
    let (t, e) = p.c.error.clone().unwrap();
    assert!(p
        .c
        .events
        .iter()
        .any(|(at, ev)| *at == t && *ev == Event::Failed(e.clone())));
    assert!(
        p.client.next_timeout().is_none(),
        "a failed association has no deadline"
    );
    (times, t, e)
}

fn client_hello_retransmission_default_timers(v: Version) {
    // Defaults: 1 s initial, 60 s max RTO, 60 s handshake deadline.
    let (times, failed_at, err) =
        client_hello_schedule(v, webpki_client(v, "client").build().unwrap());
    assert_eq!(times, [0, 1_000, 3_000, 7_000, 15_000, 31_000]);
    assert_eq!(failed_at, 60_000);
    assert_eq!(
        err,
        Error::HandshakeTimeout {
            likely_reason: None
        }
    );
}
version_tests!(client_hello_retransmission_default_timers);

fn client_hello_retransmission_capped_rto(v: Version) {
    // The RTO doubles to 8 s and stays there: 0 1 3 7 15 23 ... until the 40 s deadline.
    let ccfg = webpki_client(v, "client")
        .timers(1_000, 8_000, 40_000)
        .build()
        .unwrap();
    let (times, failed_at, err) = client_hello_schedule(v, ccfg);
    assert_eq!(
        times,
        [0, 1_000, 3_000, 7_000, 15_000, 23_000, 31_000, 39_000]
    );
    assert_eq!(failed_at, 40_000);
    assert!(matches!(err, Error::HandshakeTimeout { .. }));
}
version_tests!(client_hello_retransmission_capped_rto);

fn client_hello_retransmission_custom_timers(v: Version) {
    // 100 ms initial, 400 ms max, 2 s deadline.
    let ccfg = webpki_client(v, "client")
        .timers(100, 400, 2_000)
        .build()
        .unwrap();
    let (times, failed_at, err) = client_hello_schedule(v, ccfg);
    assert_eq!(times, [0, 100, 300, 700, 1_100, 1_500, 1_900]);
    assert_eq!(failed_at, 2_000);
    assert!(matches!(err, Error::HandshakeTimeout { .. }));
}
version_tests!(client_hello_retransmission_custom_timers);

/// The server's flight 4 follows the same schedule when the client's flight 5 never arrives,
/// counted from when the flight was first sent (the cookie ClientHello arrives at t=30 with
/// 10 ms latency and the HelloVerifyRequest round trip).
#[test]
fn server_flight_retransmission_schedule() {
    let v = Version::V12;
    let ccfg = webpki_client(v, "client").build().unwrap();
    let scfg = webpki_server(v, "server")
        .timers(1_000, 4_000, 20_000)
        .build()
        .unwrap();
    let mut p = Pair::lossless(ccfg, scfg);
    // Only the two ClientHellos get through.
    p.tamper = Some(Box::new(|side, i, d| {
        if side == CLIENT && i >= 2 {
            Vec::new()
        } else {
            vec![d]
        }
    }));
    assert!(p.run_until(100_000, |p| p.s.error.is_some()));
    let mut times = p.s.sent.iter().map(|(t, _)| *t).collect::<Vec<_>>();
    times.dedup();
    // t=10: HelloVerifyRequest; t=30: flight 4; then +1 s, +2 s, +4 s, +4 s ...
    assert_eq!(times, [10, 30, 1_030, 3_030, 7_030, 11_030, 15_030, 19_030]);
    assert_eq!(p.s.error.as_ref().map(|(t, _)| *t), Some(20_000));
    assert!(matches!(p.s.error(), Some(Error::HandshakeTimeout { .. })));
    assert!(
        p.s.sent.len() > times.len(),
        "flight 4 spans several datagrams"
    );
}

/// A plaintext fatal alert is unauthenticated (anyone can forge it): it does not end the
/// handshake, but it is reported as the likely reason when the deadline does.
fn plaintext_alert_is_the_likely_reason_of_a_timeout(v: Version) {
    let ccfg = webpki_client(v, "client")
        .timers(100, 400, 2_000)
        .build()
        .unwrap();
    let mut p = Pair::lossless(ccfg, webpki_server(v, "server").build().unwrap());
    // The network loses everything; the only thing the client ever receives is a forged
    // plaintext handshake_failure alert at t=0.
    p.tamper = Some(Box::new(|_, _, _| Vec::new()));
    p.feed(CLIENT, &record12(21, 0, 0, &[2, 40])).unwrap();
    assert!(
        p.client.next_timeout().is_some(),
        "the alert ended the handshake"
    );
    assert!(p.run_until(10_000, |p| p.c.error.is_some()));
    assert_eq!(
        p.c.error.clone(),
        Some((
            2_000,
            Error::HandshakeTimeout {
                likely_reason: Some(AlertDescription::HandshakeFailure)
            }
        ))
    );
}
version_tests!(plaintext_alert_is_the_likely_reason_of_a_timeout);

// ---------------------------------------------------------------------------------------------
// Record layer: replay window and authentication.

/// Seals `n` application records on `from` and returns their datagrams, not yet delivered.
fn seal_records(p: &mut Pair, from: Side, n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..n {
        p.conn(from).send(format!("record {i}").as_bytes()).unwrap();
        let d = p.take(from);
        assert_eq!(d.len(), 1, "one record, one datagram");
        out.extend(d);
    }
    out
}

fn replayed_record_is_delivered_once(v: Version) {
    let mut p = connected_pair(v);
    let d = seal_records(&mut p, CLIENT, 1).remove(0);
    let before = p.drops(SERVER);
    p.feed(SERVER, &d).unwrap();
    p.feed(SERVER, &d).unwrap();
    assert_eq!(p.s.app, vec![b"record 0".to_vec()]);
    let after = p.drops(SERVER);
    assert_eq!(after.replayed, before.replayed + 1);
    assert_eq!(after.total(), before.total() + 1);
    assert!(p.server.is_connected());
}
version_tests!(replayed_record_is_delivered_once);

/// RFC 6347 §4.1.2.6: records inside the 64-record window may arrive out of order; records
/// left of it are dropped.
fn replay_window_accepts_reordered_and_drops_very_old(v: Version) {
    let mut p = connected_pair(v);
    let ds = seal_records(&mut p, CLIENT, 100);
    let before = p.drops(SERVER);
    for (i, d) in ds.iter().enumerate() {
        if i != 0 && i != 50 {
            p.feed(SERVER, d).unwrap();
        }
    }
    // 49 behind the newest: inside the window, accepted.
    p.feed(SERVER, &ds[50]).unwrap();
    // 99 behind the newest: left of the window, dropped.
    p.feed(SERVER, &ds[0]).unwrap();
    let mut expected = (1..100)
        .filter(|i| *i != 50)
        .map(|i| format!("record {i}").into_bytes())
        .collect::<Vec<_>>();
    expected.push(b"record 50".to_vec());
    assert_eq!(p.s.app, expected);
    let after = p.drops(SERVER);
    assert_eq!(after.replayed, before.replayed + 1);
    // Replaying any of them again is dropped too.
    p.feed(SERVER, &ds[50]).unwrap();
    p.feed(SERVER, &ds[99]).unwrap();
    assert_eq!(p.drops(SERVER).replayed, before.replayed + 3);
    assert_eq!(p.s.app.len(), 99);
    assert!(p.server.is_connected());
}
version_tests!(replay_window_accepts_reordered_and_drops_very_old);

/// A receiver that never calls `recv` holds at most 256 records and 256 KiB; the rest are
/// dropped and counted as overflow, the association survives, and what was held is intact.
fn unread_application_data_is_bounded(v: Version) {
    for (size, n, kept) in [
        (10usize, 300usize, 256usize),
        (1100, 300, 256 * 1024 / 1100),
    ] {
        let mut p = connected_pair(v);
        let mut ds = Vec::new();
        for i in 0..n {
            let mut rec = vec![(i % 251) as u8; size];
            rec[0] = (i % 256) as u8;
            p.client.send(&rec).unwrap();
            ds.extend(p.take(CLIENT));
        }
        let before = p.drops(SERVER).overflow;
        for d in &ds {
            // Straight to the connection: `feed` would drain it with recv.
            p.server.handle_datagram(p.now, d).unwrap();
        }
        assert_eq!(
            p.drops(SERVER).overflow - before,
            (n - kept) as u64,
            "size {size}"
        );
        let mut buf = vec![0u8; 2048];
        for i in 0..kept {
            let got = p.server.recv(&mut buf).unwrap().expect("held record");
            assert_eq!((got, buf[0]), (size, (i % 256) as u8), "size {size}");
        }
        assert_eq!(p.server.recv(&mut buf).unwrap(), None);
        assert!(p.server.is_connected());
    }
}
version_tests!(unread_application_data_is_bounded);

/// Flipping any byte of a protected record's ciphertext or tag makes it fail authentication:
/// dropped, counted in auth_failed, and the association carries on. The window is not
/// moved by a forgery, so the genuine record is still accepted afterwards.
#[test]
fn tampered_record_is_dropped_and_association_survives() {
    let v = Version::V12;
    let mut p = connected_pair(v);
    let d = seal_records(&mut p, CLIENT, 1).remove(0);
    let before = p.drops(SERVER);
    for i in 13..d.len() {
        let mut bad = d.clone();
        bad[i] ^= 0x01;
        p.feed(SERVER, &bad).unwrap();
    }
    // The sequence number is authenticated too (RFC 5246 §6.2.3.3 additional data).
    let mut bad = d.clone();
    bad[5] ^= 0x80;
    p.feed(SERVER, &bad).unwrap();
    let after = p.drops(SERVER);
    assert_eq!(
        after.auth_failed,
        before.auth_failed + (d.len() - 13) as u64 + 1
    );
    assert!(p.s.app.is_empty());
    assert!(p.server.is_connected());
    p.feed(SERVER, &d).unwrap();
    assert_eq!(p.s.app, vec![b"record 0".to_vec()]);
    p.exchange_app_data();
}

// ---------------------------------------------------------------------------------------------
// close_notify.

fn close_notify_ends_the_association(v: Version) {
    let mut p = connected_pair(v);
    // A record sent before close, delivered only after the close_notify.
    let late = seal_records(&mut p, CLIENT, 1).remove(0);
    p.client.close().unwrap();
    assert!(p.client.is_closed());
    assert_eq!(p.client.send(b"after close"), Err(Error::Closed));
    assert!(p.run_until(p.now + 1_000, |p| p
        .s
        .events
        .iter()
        .any(|(_, e)| *e == Event::CloseNotify)));
    assert!(p.server.is_closed());
    assert!(!p.server.is_connected());
    assert_eq!(p.server.send(b"after close"), Err(Error::Closed));
    // RFC 5246 §7.2.1: the server answers with its own close_notify; the client (already
    // closed) takes it without reporting anything new.
    p.run_for(1_000);
    assert!(p.client.is_closed());
    assert!(!p
        .c
        .events
        .iter()
        .any(|(_, e)| matches!(e, Event::Failed(_))));
    let dropped = p.drops(SERVER).total();
    p.feed(SERVER, &late).unwrap();
    assert!(p.s.app.is_empty(), "data accepted after close_notify");
    assert_eq!(p.drops(SERVER).total(), dropped + 1);
    assert!(p.client.close().is_ok(), "a second close is harmless");
    assert_eq!(
        p.s.events
            .iter()
            .filter(|(_, e)| *e == Event::CloseNotify)
            .count(),
        1
    );
}
version_tests!(close_notify_ends_the_association);

// ---------------------------------------------------------------------------------------------
// Cookie exchange.

#[test]
fn cookie_exchange_on_by_default_and_can_be_switched_off() {
    let v = Version::V12;
    let mut p = connected_pair(v);
    assert_eq!(p.server.stats().hello_verify_requests, 1);
    assert_eq!(p.server.stats().dropped.cookie, 1);
    // ClientHello, HelloVerifyRequest, ClientHello again.
    assert_eq!(p.c.sent[0].1[13], 1);
    assert_eq!(p.s.sent[0].1[13], 3);
    assert_eq!(p.c.sent[1].1[13], 1);
    p.exchange_app_data();

    let ccfg = webpki_client(v, "client").build().unwrap();
    let scfg = webpki_server(v, "server")
        .cookie_exchange(false)
        .build()
        .unwrap();
    let mut p = Pair::lossless(ccfg, scfg);
    p.handshake(10_000);
    assert_eq!(p.server.stats().hello_verify_requests, 0);
    assert_eq!(p.server.stats().dropped.cookie, 0);
    // Without the extra round trip the handshake ends one round trip (20 ms) earlier.
    assert_eq!(p.c.connected_at(), Some(40));
    assert_eq!(
        p.s.sent[0].1[13], 2,
        "the server's first message is ServerHello"
    );
}

// ---------------------------------------------------------------------------------------------
// Events and stats.

#[test]
fn events_order_negotiated_and_stats() {
    let v = Version::V12;
    let p = connected_pair(v);
    for (name, log, conn) in [("client", &p.c, &p.client), ("server", &p.s, &p.server)] {
        let kinds = log
            .events
            .iter()
            .map(|(_, e)| match e {
                Event::PeerCertificate => "cert",
                Event::Connected(_) => "connected",
                Event::CloseNotify => "close",
                Event::Failed(_) => "failed",
                _ => "other",
            })
            .collect::<Vec<_>>();
        assert_eq!(kinds, ["cert", "connected"], "{name}");
        let n = log.connected().unwrap();
        assert_eq!(n.version, v.protocol());
        assert_eq!(
            n.cipher_suite,
            CipherSuite::EcdheEcdsaAes128GcmSha256,
            "{name}"
        );
        assert_eq!(n.group, NamedGroup::X25519, "{name}");
        assert_eq!(conn.negotiated(), Some(n));
        let stats = conn.stats();
        assert_eq!(stats.negotiated.as_ref(), Some(n));
        assert_eq!(stats.handshake_started_ms, 0);
        // Both were created at t=0, so the duration is the time Connected appeared.
        assert_eq!(stats.handshake_duration_ms, log.connected_at(), "{name}");
        assert!(stats.datagrams_in > 0 && stats.datagrams_out > 0);
        assert!(stats.records_in > 0 && stats.records_out > 0);
        assert!(stats.bytes_in > 0 && stats.bytes_out > 0);
        assert_eq!(
            stats.retransmissions, 0,
            "{name}: a lossless link needs none"
        );
    }
    // 10 ms each way: CH / HVR / CH / flight 4 / flight 5 / flight 6.
    assert_eq!(p.s.connected_at(), Some(50));
    assert_eq!(p.c.connected_at(), Some(60));
    // The datagram counters match what was seen on the wire.
    assert_eq!(p.client.stats().datagrams_out, p.c.sent.len() as u64);
    assert_eq!(p.server.stats().datagrams_out, p.s.sent.len() as u64);
    assert_eq!(p.server.stats().datagrams_in, p.c.sent.len() as u64);
}

fn stats_before_the_handshake_have_no_duration(v: Version) {
    let ccfg = webpki_client(v, "client").build().unwrap();
    let c = Connection::new(ccfg, Role::Client, Some("dtls-server"), 1234).unwrap();
    let s = c.stats();
    assert_eq!(s.handshake_started_ms, 1234);
    assert_eq!(s.handshake_duration_ms, None);
    assert_eq!(s.negotiated, None);
    assert_eq!(
        c.next_timeout(),
        Some(2234),
        "ClientHello retransmission timer"
    );
}
version_tests!(stats_before_the_handshake_have_no_duration);

// ---------------------------------------------------------------------------------------------
// Forged plaintext records.

/// Epoch-0 application data is never legitimate (RFC 6347 §4.1: data is protected once keys
/// exist, and never before the handshake): dropped and counted, never delivered.
#[test]
fn epoch0_application_data_after_handshake_is_dropped() {
    let v = Version::V12;
    let mut p = connected_pair(v);
    for side in [CLIENT, SERVER] {
        let before = p.drops(side);
        for seq in [0u64, 7, 1 << 40] {
            p.feed(side, &record12(23, 0, seq, b"forged plaintext"))
                .unwrap();
        }
        let after = p.drops(side);
        assert_eq!(after.unexpected, before.unexpected + 3, "{side:?}");
    }
    assert!(p.c.app.is_empty() && p.s.app.is_empty());
    assert!(p.client.is_connected() && p.server.is_connected());
    p.exchange_app_data();
}

/// Forged epoch-0 application data during the handshake is dropped as well.
#[test]
fn epoch0_application_data_during_handshake_is_dropped() {
    let v = Version::V12;
    let mut p = default_pair(v);
    p.tamper = Some(Box::new(|_, i, d| {
        if i < 3 {
            vec![record12(23, 0, 99, b"forged"), d]
        } else {
            vec![d]
        }
    }));
    p.handshake(10_000);
    assert!(p.c.app.is_empty() && p.s.app.is_empty());
    assert!(p.drops(CLIENT).unexpected >= 1 && p.drops(SERVER).unexpected >= 1);
}

/// A plaintext fatal alert injected ahead of each of the first flights, in both directions,
/// does not end the handshake (see the "Rules of the house": it could be forged by anyone).
fn plaintext_fatal_alert_mid_handshake_is_ignored(v: Version) {
    let mut p = default_pair(v);
    p.tamper = Some(Box::new(|_, i, d| {
        if i < 4 {
            // handshake_failure, then bad_record_mac, each as its own datagram.
            vec![
                record12(21, 0, 50, &[2, 40]),
                record12(21, 0, 51, &[2, 20]),
                d,
            ]
        } else {
            vec![d]
        }
    }));
    p.handshake(10_000);
    for log in [&p.c, &p.s] {
        assert!(log.error.is_none());
        assert!(!log
            .events
            .iter()
            .any(|(_, e)| matches!(e, Event::Failed(_))));
    }
    p.exchange_app_data();
}
version_tests!(plaintext_fatal_alert_mid_handshake_is_ignored);

/// A plaintext fatal alert after the handshake does not end the association either.
fn plaintext_fatal_alert_after_handshake_is_ignored(v: Version) {
    let mut p = connected_pair(v);
    p.feed(CLIENT, &record12(21, 0, 1, &[2, 40])).unwrap();
    p.feed(SERVER, &record12(21, 0, 1, &[2, 0])).unwrap();
    assert!(p.client.is_connected() && p.server.is_connected());
    p.exchange_app_data();
}
version_tests!(plaintext_fatal_alert_after_handshake_is_ignored);

// ---------------------------------------------------------------------------------------------
// extended_master_secret (RFC 7627).

fn ems_pair(v: Version, client: ExtendedMasterSecret, server: ExtendedMasterSecret) -> Pair {
    Pair::lossless(
        webpki_client(v, "client")
            .extended_master_secret(client)
            .timers(100, 400, 2_000)
            .build()
            .unwrap(),
        webpki_server(v, "server")
            .extended_master_secret(server)
            .timers(100, 400, 2_000)
            .build()
            .unwrap(),
    )
}

#[test]
fn ems_required_by_client_disabled_by_server() {
    let v = Version::V12;
    let mut p = ems_pair(
        v,
        ExtendedMasterSecret::Require,
        ExtendedMasterSecret::Disable,
    );
    assert!(p.run_until(10_000, |p| p.c.error.is_some()));
    assert_eq!(p.c.error(), Some(&Error::ExtendedMasterSecretRequired));
    assert!(!p.server.is_connected());
}

#[test]
fn ems_required_by_server_disabled_by_client() {
    let v = Version::V12;
    let mut p = ems_pair(
        v,
        ExtendedMasterSecret::Disable,
        ExtendedMasterSecret::Require,
    );
    assert!(p.run_until(10_000, |p| p.s.error.is_some()));
    assert_eq!(p.s.error(), Some(&Error::ExtendedMasterSecretRequired));
    assert!(!p.client.is_connected());
}

#[test]
fn ems_requested_vs_disabled_completes_without_it() {
    let v = Version::V12;
    for (c, s) in [
        (ExtendedMasterSecret::Request, ExtendedMasterSecret::Disable),
        (ExtendedMasterSecret::Disable, ExtendedMasterSecret::Request),
        (ExtendedMasterSecret::Disable, ExtendedMasterSecret::Disable),
    ] {
        let mut p = ems_pair(v, c, s);
        p.handshake(2_000);
        assert!(
            !p.c.connected().unwrap().extended_master_secret,
            "{c:?} {s:?}"
        );
        assert!(
            !p.s.connected().unwrap().extended_master_secret,
            "{c:?} {s:?}"
        );
        p.exchange_app_data();
    }
    let mut p = ems_pair(
        v,
        ExtendedMasterSecret::Request,
        ExtendedMasterSecret::Request,
    );
    p.handshake(2_000);
    assert!(p.c.connected().unwrap().extended_master_secret);
    assert!(p.s.connected().unwrap().extended_master_secret);
}

// ---------------------------------------------------------------------------------------------
// ALPN (RFC 7301) and use_srtp (RFC 5764).

const SRTP_AES128_CM_SHA1_80: u16 = 0x0001;
const SRTP_AES128_CM_SHA1_32: u16 = 0x0002;
const SRTP_AEAD_AES_128_GCM: u16 = 0x0007;

fn alpn_and_srtp_show_up_in_negotiated(v: Version) {
    let ccfg = webpki_client(v, "client")
        .alpn(&[b"webrtc", b"c-webrtc"])
        .srtp_profiles(&[SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_SHA1_80])
        .build()
        .unwrap();
    // The server's preference order decides.
    let scfg = webpki_server(v, "server")
        .alpn(&[b"c-webrtc", b"webrtc"])
        .srtp_profiles(&[SRTP_AES128_CM_SHA1_80, SRTP_AEAD_AES_128_GCM])
        .build()
        .unwrap();
    let mut p = Pair::lossless(ccfg, scfg);
    p.handshake(10_000);
    for n in [p.c.connected().unwrap(), p.s.connected().unwrap()] {
        assert_eq!(n.alpn.as_deref(), Some(&b"c-webrtc"[..]));
        assert_eq!(n.srtp_profile, Some(SRTP_AES128_CM_SHA1_80));
        assert!(n.srtp_mki.is_empty());
    }
}
version_tests!(alpn_and_srtp_show_up_in_negotiated);

/// A NULL profile is negotiated only when both sides list it; the client's MKI comes back,
/// and both ends derive the same RFC 5764 §4.2 keys (60 bytes, as libsrtp expects).
fn null_srtp_profile_with_mki_gives_equal_keys(v: Version) {
    const SRTP_NULL_SHA1_80: u16 = 0x0005;
    let ccfg = webpki_client(v, "client")
        .srtp_profiles(&[SRTP_NULL_SHA1_80])
        .srtp_mki(&[7, 7])
        .build()
        .unwrap();
    let scfg = webpki_server(v, "server")
        .srtp_profiles(&[SRTP_AES128_CM_SHA1_80, SRTP_NULL_SHA1_80])
        .build()
        .unwrap();
    let mut p = Pair::lossless(ccfg, scfg);
    p.handshake(10_000);
    for n in [p.c.connected().unwrap(), p.s.connected().unwrap()] {
        assert_eq!(n.srtp_profile, Some(SRTP_NULL_SHA1_80));
        assert_eq!(n.srtp_mki, [7, 7]);
    }
    let a = p.client.srtp_keying_material().unwrap();
    let b = p.server.srtp_keying_material().unwrap();
    assert_eq!(a.material.len(), 60);
    assert_eq!(a, b);
    assert_eq!(a.client_salt().len(), 14);
}
version_tests!(null_srtp_profile_with_mki_gives_equal_keys);

/// A server set not to use MKIs answers with an empty one (RFC 5764 §4.1.3); the client
/// accepts that, and neither side uses an MKI.
fn server_declines_the_clients_mki(v: Version) {
    let ccfg = webpki_client(v, "client")
        .srtp_profiles(&[SRTP_AES128_CM_SHA1_80])
        .srtp_mki(&[1, 2, 3])
        .build()
        .unwrap();
    let scfg = webpki_server(v, "server")
        .srtp_profiles(&[SRTP_AES128_CM_SHA1_80])
        .srtp_accept_mki(false)
        .build()
        .unwrap();
    let mut p = Pair::lossless(ccfg, scfg);
    p.handshake(10_000);
    for n in [p.c.connected().unwrap(), p.s.connected().unwrap()] {
        assert_eq!(n.srtp_profile, Some(SRTP_AES128_CM_SHA1_80));
        assert!(n.srtp_mki.is_empty(), "{:?}", n.srtp_mki);
    }
    let a = p.client.srtp_keying_material().unwrap();
    assert!(a.mki.is_empty());
    assert_eq!(a, p.server.srtp_keying_material().unwrap());
}
version_tests!(server_declines_the_clients_mki);

fn no_common_srtp_profile_completes_without_srtp(v: Version) {
    let ccfg = webpki_client(v, "client")
        .srtp_profiles(&[SRTP_AEAD_AES_128_GCM])
        .build()
        .unwrap();
    let scfg = webpki_server(v, "server")
        .srtp_profiles(&[SRTP_AES128_CM_SHA1_80, SRTP_AES128_CM_SHA1_32])
        .build()
        .unwrap();
    let mut p = Pair::lossless(ccfg, scfg);
    p.handshake(10_000);
    assert_eq!(p.c.connected().unwrap().srtp_profile, None);
    assert_eq!(p.s.connected().unwrap().srtp_profile, None);
    // Only one side configured: no use_srtp either.
    let ccfg = webpki_client(v, "client")
        .srtp_profiles(&[SRTP_AES128_CM_SHA1_80])
        .alpn(&[b"x"])
        .build()
        .unwrap();
    let mut p = Pair::lossless(ccfg, webpki_server(v, "server").build().unwrap());
    p.handshake(10_000);
    let n = p.c.connected().unwrap();
    assert_eq!((n.srtp_profile, n.alpn.clone()), (None, None));
}
version_tests!(no_common_srtp_profile_completes_without_srtp);

fn no_common_alpn_protocol_fails_with_no_application_protocol(v: Version) {
    let ccfg = webpki_client(v, "client").alpn(&[b"a"]).build().unwrap();
    let scfg = webpki_server(v, "server").alpn(&[b"b"]).build().unwrap();
    let mut p = Pair::lossless(ccfg, scfg);
    assert!(p.run_until(10_000, |p| p.s.error.is_some()));
    assert!(matches!(
        p.s.error(),
        Some(Error::PeerMisbehaved {
            alert: AlertDescription::NoApplicationProtocol,
            ..
        })
    ));
}
version_tests!(no_common_alpn_protocol_fails_with_no_application_protocol);

// ---------------------------------------------------------------------------------------------
// Forged plaintext handshake fragments (found by tests/engine/robustness.rs).

/// A DTLS handshake fragment (RFC 6347 §4.2.2) in an epoch-0 record.
fn forged_fragment(
    record_seq: u64,
    msg_type: u8,
    length: u32,
    msg_seq: u16,
    frag_off: u32,
    body: &[u8],
) -> Vec<u8> {
    let mut h = vec![msg_type];
    h.extend_from_slice(&length.to_be_bytes()[1..]);
    h.extend_from_slice(&msg_seq.to_be_bytes());
    h.extend_from_slice(&frag_off.to_be_bytes()[1..]);
    h.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    h.extend_from_slice(body);
    record12(22, 0, record_seq, &h)
}

/// Runs the default handshake with `forged` delivered to `to` just ahead of the first datagram
/// of the peer's flight carrying index `before` (per-side datagram index of the sender).
fn handshake_with_forgery(v: Version, to: Side, before: usize, forged: Vec<u8>) -> Pair {
    let mut p = Pair::lossless(
        webpki_client(v, "client")
            .timers(100, 400, 5_000)
            .build()
            .unwrap(),
        webpki_server(v, "server")
            .timers(100, 400, 5_000)
            .build()
            .unwrap(),
    );
    let from = to.other();
    p.tamper = Some(Box::new(move |side, i, d| {
        if side == from && i == before {
            vec![forged.clone(), d]
        } else {
            vec![d]
        }
    }));
    p.run_until(20_000, |p| {
        (p.client.is_connected() && p.server.is_connected())
            || p.c.error.is_some()
            || p.s.error.is_some()
    });
    p
}

/// The Rules of the house: a forged epoch-0 record must not be able to end the handshake,
/// including "handshake fragments whose lengths disagree". Here a forged first fragment of
/// the ServerHello (message_seq 1, the server's first after the cookie exchange) announces
/// a different length than the real one; the client keeps it and drops every genuine
/// ServerHello fragment as inconsistent, so the handshake can only time out.
#[test]
fn forged_fragment_with_other_length_does_not_block_the_handshake() {
    let v = Version::V12;
    // Server datagram 1 is the first of flight 4 (datagram 0 is the HelloVerifyRequest).
    let forged = forged_fragment(1, 2, 300, 1, 0, &[0xfe, 0xfd, 0, 0]);
    let p = handshake_with_forgery(v, CLIENT, 1, forged);
    assert_eq!(p.c.error(), None, "server error {:?}", p.s.error());
    assert!(p.client.is_connected() && p.server.is_connected());
}

/// Same for a forged fragment at a future message_seq: the client buffers a partial forged
/// message at the message_seq of the server's Finished (6: ServerHello 1, Certificate 2,
/// ServerKeyExchange 3, CertificateRequest 4, ServerHelloDone 5). The authenticated epoch-1
/// Finished then disagrees in epoch and length with the forged slot and is dropped, on every
/// retransmission: the client can never complete.
#[test]
fn forged_future_fragment_does_not_block_finished() {
    let v = Version::V12;
    let forged = forged_fragment(1, 20, 40, 6, 0, &[1, 2, 3, 4]);
    let p = handshake_with_forgery(v, CLIENT, 1, forged);
    assert_eq!(p.c.error(), None, "server error {:?}", p.s.error());
    assert!(p.client.is_connected() && p.server.is_connected());
}

/// A complete forged epoch-0 message at the message_seq after the client's Finished
/// (CH 0, CH 1, Certificate 2, ClientKeyExchange 3, CertificateVerify 4, Finished 5) is
/// buffered during the handshake and popped right after the server's Finished processing,
/// when the server is already connected. `post_handshake` treats it like an authenticated
/// post-handshake message and kills the association with unexpected_message, though an
/// epoch-0 message after the handshake is otherwise ignored (`admit_fragment`).
#[test]
fn forged_message_buffered_past_finished_does_not_kill_the_association() {
    let v = Version::V12;
    // An empty Certificate (chain length 0), complete in one fragment, msg_seq 6.
    let forged = forged_fragment(1, 11, 3, 6, 0, &[0, 0, 0]);
    // Client datagram 2 is the first of flight 5: the server has taken the ClientHello with
    // the cookie (before that, the cookie check drops anything but a ClientHello).
    let mut p = handshake_with_forgery(v, SERVER, 2, forged);
    p.run_for(1_000);
    assert_eq!(p.s.error(), None);
    assert!(p.client.is_connected() && p.server.is_connected());
}

/// The plaintext renegotiation attempt we can build: a fresh ClientHello (epoch 0) sent to a
/// connected server is ignored, without a new ServerHello, and the association carries on.
/// (A real renegotiation would come at epoch 1, which needs the client's keys: the public API
/// gives no way to produce one, so the refusal path with no_renegotiation is not reached here.)
#[test]
fn plaintext_client_hello_after_handshake_starts_nothing() {
    let v = Version::V12;
    let mut p = connected_pair(v);
    let mut other = Connection::new(
        webpki_client(v, "client").build().unwrap(),
        Role::Client,
        Some("dtls-server"),
        p.now,
    )
    .unwrap();
    let mut buf = [0u8; 1500];
    let n = other.poll_transmit(p.now, &mut buf).unwrap().unwrap();
    let sent_before = p.s.sent.len();
    p.feed(SERVER, &buf[..n]).unwrap();
    p.run_for(1_000);
    assert!(p.server.is_connected());
    for (_, d) in &p.s.sent[sent_before..] {
        assert!(
            !(d[0] == 22 && d[3..5] == [0, 0] && matches!(d[13], 2 | 3)),
            "server answered with a ServerHello or HelloVerifyRequest"
        );
    }
    p.exchange_app_data();
}

// ---------------------------------------------------------------------------------------------
// Fragmented ClientHello through the stateless cookie (browsers send 1.4 KB ClientHellos in two
// datagrams; see PEERS.md). The cookie is issued from, and checked on, the first fragment.
// ---------------------------------------------------------------------------------------------

/// Splits a datagram holding one plaintext record with one whole handshake message into two
/// datagrams, each with one fragment (RFC 6347 §4.2.3).
fn split_handshake(d: &[u8], at: usize) -> [Vec<u8>; 2] {
    let (rec, hs) = d.split_at(13);
    let (hdr, body) = hs.split_at(12);
    assert_eq!(rec[0], 22, "a handshake record");
    assert_eq!(
        body.len(),
        u32::from_be_bytes([0, hdr[1], hdr[2], hdr[3]]) as usize
    );
    let frag = |off: usize, part: &[u8], seq_bump: u8| {
        let mut out = rec.to_vec();
        out[10] = out[10].wrapping_add(seq_bump);
        out[11..13].copy_from_slice(&((12 + part.len()) as u16).to_be_bytes());
        out.extend_from_slice(&hdr[..6]);
        out.extend_from_slice(&(off as u32).to_be_bytes()[1..]);
        out.extend_from_slice(&(part.len() as u32).to_be_bytes()[1..]);
        out.extend_from_slice(part);
        out
    };
    [frag(0, &body[..at], 0), frag(at, &body[at..], 100)]
}

#[test]
fn fragmented_client_hello_passes_the_stateless_cookie() {
    let v = Version::V12;
    let scfg = webpki_server(v, "server").build().unwrap();
    let mut server = Connection::new(scfg, Role::Server, None, 0).unwrap();
    server.set_peer_address(b"198.51.100.7:5000");
    let mut client = Connection::new(
        webpki_client(v, "client").build().unwrap(),
        Role::Client,
        Some("dtls-server"),
        0,
    )
    .unwrap();
    let mut buf = vec![0u8; 1500];
    let mut out = |c: &mut Connection| {
        let mut v = Vec::new();
        while let Some(n) = c.poll_transmit(0, &mut buf).unwrap() {
            v.push(buf[..n].to_vec());
        }
        v
    };

    // First ClientHello, in two fragments: one HelloVerifyRequest, from the first fragment.
    let ch1 = out(&mut client);
    assert_eq!(ch1.len(), 1);
    let [a, b] = split_handshake(&ch1[0], 40);
    server.handle_datagram(0, &a).unwrap();
    server.handle_datagram(0, &b).unwrap();
    let hvr = out(&mut server);
    assert_eq!(hvr.len(), 1, "exactly one HelloVerifyRequest");
    assert_eq!(hvr[0][13], 3, "HelloVerifyRequest");
    assert_eq!(server.stats().hello_verify_requests, 1);

    // Second ClientHello, fragments out of order: the tail first is dropped (no cookie seen
    // yet), then the head passes the cookie, then the tail completes the message.
    client.handle_datagram(0, &hvr[0]).unwrap();
    let ch2 = out(&mut client);
    // The head must carry version, random, session id and cookie (RFC 6347 §4.2.1): 100 bytes.
    let [a, b] = split_handshake(&ch2[0], 100);
    server.handle_datagram(0, &b).unwrap();
    assert!(
        out(&mut server).is_empty(),
        "a tail fragment alone gets no answer"
    );
    server.handle_datagram(0, &a).unwrap();
    assert!(
        out(&mut server).is_empty(),
        "half a ClientHello gets no answer"
    );
    server.handle_datagram(0, &b).unwrap();
    let flight4 = out(&mut server);
    assert!(
        !flight4.is_empty(),
        "the reassembled ClientHello was answered: {:?}",
        server.stats().dropped
    );
    assert_eq!(flight4[0][13], 2, "ServerHello first");

    // The rest of the handshake.
    let mut to_client = flight4;
    for _ in 0..10 {
        for d in to_client.drain(..) {
            client.handle_datagram(0, &d).unwrap();
        }
        for d in out(&mut client) {
            server.handle_datagram(0, &d).unwrap();
        }
        to_client = out(&mut server);
    }
    assert!(client.is_connected() && server.is_connected());
}

/// The front door answers the head of a fragmented ClientHello, drops its tail, allocates
/// nothing, and accepts the cookie-bearing head of the retry.
#[test]
fn front_door_handles_a_fragmented_client_hello() {
    let v = Version::V12;
    let scfg = webpki_server(v, "server").build().unwrap();
    let door = ServerFrontDoor::new(scfg);
    let peer = b"198.51.100.7:5000";
    let mut client = Connection::new(
        webpki_client(v, "client").build().unwrap(),
        Role::Client,
        Some("dtls-server"),
        0,
    )
    .unwrap();
    let mut buf = vec![0u8; 1500];
    let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    let [a, b] = split_handshake(&buf[..n], 40);
    let mut reply = vec![0u8; 256];
    assert_eq!(door.prefilter(0, peer, &b, &mut reply), Verdict::Drop);
    let Verdict::Reply(len) = door.prefilter(0, peer, &a, &mut reply) else {
        panic!("no HelloVerifyRequest for the head fragment");
    };
    // Another address gets a different cookie, so this one is useless there.
    client.handle_datagram(0, &reply[..len]).unwrap();
    let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
    let [a, b] = split_handshake(&buf[..n], 100);
    assert_eq!(door.prefilter(0, peer, &a, &mut reply), Verdict::Accept);
    assert_eq!(door.prefilter(0, peer, &b, &mut reply), Verdict::Drop);
    assert!(matches!(
        door.prefilter(0, b"203.0.113.9:5000", &a, &mut reply),
        Verdict::Reply(_)
    ));
}

/// RFC 9147 §7 at work: on the same 200 seeds of 20% loss, reordering and duplication, every
/// handshake completes in both versions, and DTLS 1.3 (ACKs: only unacknowledged fragments go
/// again) sends fewer retransmitted datagrams than DTLS 1.2 (whole flights). Retransmitted
/// datagrams are those beyond what the same handshake sends on a clean link, ACKs not counted
/// (they carry no handshake data). MTU 600, so that
/// flights span several datagrams and a partial loss is the common case.
#[test]
fn acks_cut_retransmissions_200_seeds() {
    let setup = |v: Version| {
        let (c, s) = pinned(v);
        let c = c.mtu(600).timers(400, 8_000, 120_000).build().unwrap();
        let s = s.mtu(600).timers(400, 8_000, 120_000).build().unwrap();
        (c, s)
    };
    let run = |v: Version, link: LinkConfig| {
        let (c, s) = setup(v);
        let mut p = Pair::new(c, s, link);
        p.handshake(120_000);
        // Let a last flight and its ACK settle.
        p.run_for(20_000);
        assert!(
            p.c.error.is_none() && p.s.error.is_none(),
            "{v:?} {:?}",
            p.link.stats()
        );
        let acks = p.client.stats().acks_sent + p.server.stats().acks_sent;
        (p.sent(Side::A) + p.sent(Side::B)) as u64 - acks
    };
    let mut extra = [0u64; 2];
    for (i, v) in [Version::V12, Version::V13].into_iter().enumerate() {
        let clean = run(v, LinkConfig::default());
        for seed in 1..=200u64 {
            let sent = run(
                v,
                LinkConfig {
                    loss: 0.2,
                    duplicate: 0.1,
                    reorder: 0.1,
                    latency_ms: 20,
                    jitter_ms: 15,
                    seed,
                    ..Default::default()
                },
            );
            extra[i] += sent.saturating_sub(clean);
        }
    }
    eprintln!(
        "retransmitted datagrams over 200 seeds: DTLS 1.2 {}, DTLS 1.3 {}",
        extra[0], extra[1]
    );
    assert!(extra[1] < extra[0], "1.3 {} >= 1.2 {}", extra[1], extra[0]);
}
