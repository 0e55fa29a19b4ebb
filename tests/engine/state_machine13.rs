//! The state-machine catalogue for DTLS 1.3: the patterns of DTLS-Fuzzer / SMBugFinder
//! (Fiterau-Brostean et al.) and TLS-Attacker's 1.3 state-machine work, one test per pattern,
//! against our server and our client.
//!
//! The hostile peer (`tests/common/hostile13.rs`) is a scripted DTLS 1.3 endpoint with real
//! keys: whatever it omits, repeats or reorders, its records open and its Finished verifies
//! over what it sent, so only the engine's state machine can stop a handshake. The rules the
//! tests assert:
//!
//! - a message out of order in a *protected* record (epoch 2 or 3: only the peer holds those
//!   keys) ends the handshake with `unexpected_message` (RFC 8446 §4: "sending handshake
//!   messages in an unexpected order ... MUST abort"; §5: an unexpected record type likewise),
//!   on the wire and in `Event::Failed`;
//! - a HelloRetryRequest or ServerHello that breaks a rule of RFC 8446 §4.1.3/§4.1.4 ends it
//!   with the alert those sections name (they are the awaited message in their place, as in the
//!   1.2 catalogue);
//! - what cannot authenticate (forged unified-header records at any epoch, records of an epoch
//!   whose keys we do not hold yet, plaintext alerts, ACKs naming records never sent) is
//!   dropped and counted, or held until its keys exist, and changes no state: the genuine
//!   handshake then completes (DESIGN.md "forged input is the normal case").
//!
//! Engine deviations these found, fixed with them and kept as regression tests:
//! `client_server_hello_changes_suite_after_hrr` (RFC 8446 §4.1.4),
//! `client_downgrade_sentinel_in_a_dtls12_server_hello` (the DTLS 1.0 sentinel, §4.1.3),
//! `*_application_data_in_the_handshake_epoch*` and
//! `open_in_place_refuses_application_data_in_the_handshake_epoch` (data under handshake keys
//! reached the application), `server_forged_garbage_client_hello2_is_dropped` (a forged
//! plaintext ClientHello ended the handshake), `*_authenticated_warning_level_error_alert_is_fatal`
//! (§6.2) and `client_empty_server_certificate_is_a_decode_error` (§4.4.2.4). Two races the
//! protocol leaves open (a forged HelloRetryRequest or ClientHello1 that beats the genuine one)
//! are ignored tests in `tests/flood.rs`.

use crate::common::hostile::{self, Sut};
use crate::common::hostile13::*;
use dtls_proto::msgs::codec::Codec;
use dtls_proto::msgs::enums::{
    AlertDescription as A, AlertLevel, CipherSuite, ContentType, HandshakeType as H,
    KeyUpdateRequest, ProtocolVersion,
};
use dtls_proto::msgs::handshake::ServerHello;
use dtls_proto::msgs::handshake13::{DOWNGRADE_DTLS10, DOWNGRADE_DTLS12};
use dtls_proto::{ConfigBuilder, Error, PeerVerification};

// ---------------------------------------------------------------------------------------------
// Set-ups.

/// Our server, and a hostile client through the HelloRetryRequest (cookie) and the server's
/// flight, which it verified.
fn server_after_flight(f: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> (Sut, HostileClient13) {
    let scert = cert("dtls-server");
    let mut sut = Sut::server(server_config13(&scert, f));
    let mut c = HostileClient13::new(0xc1);
    c.hello_through(&mut sut);
    assert!(c.hrr_seen, "a HelloRetryRequest with a cookie first");
    assert!(c.server_finished, "the server's flight verified");
    (sut, c)
}

/// Our server requiring a client certificate (any), the hostile client past its flight.
fn server_requiring_cert() -> (Sut, HostileClient13) {
    let (sut, c) = server_after_flight(|b| {
        b.peer_verification(PeerVerification::DangerousAcceptAny)
            .require_client_certificate(true)
    });
    assert!(
        c.cert_requested,
        "CertificateRequest in the server's flight"
    );
    (sut, c)
}

fn connected_server() -> (Sut, HostileClient13) {
    let (mut sut, mut c) = server_after_flight(|b| b);
    let fin = c.finished();
    sut.exchange(&mut c.peer, &fin);
    assert!(sut.connected(), "{:?}", sut.error);
    (sut, c)
}

/// Our client, and a hostile server that read its ClientHello.
fn client_at_hello(f: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> (Sut, HostileServer13) {
    let scert = cert("dtls-server");
    let mut sut = Sut::client(client_config13(&scert, f));
    let mut s = HostileServer13::new(scert, 0x5e);
    sut.flush(&mut s.peer);
    s.read_client_hello();
    (sut, s)
}

/// Our client past the genuine ServerHello.
fn client_after_server_hello() -> (Sut, HostileServer13) {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let sh = s.server_hello();
    sut.exchange(&mut s.peer, &sh);
    assert!(sut.error.is_none(), "{:?}", sut.error);
    (sut, s)
}

fn connected_client() -> (Sut, HostileServer13) {
    let (mut sut, mut s) = client_after_server_hello();
    let fl = s.encrypted_flight(false);
    sut.exchange(&mut s.peer, &fl);
    assert!(sut.connected(), "{:?}", sut.error);
    assert!(s.read_client_flight());
    (sut, s)
}

/// After a HelloRetryRequest naming `GROUP13_ALT`, our client's second ClientHello was read.
fn client_after_hrr() -> (Sut, HostileServer13) {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let hrr = s.hello_retry_request(Some(GROUP13_ALT), Some(b"hostile cookie"));
    let out = sut.exchange(&mut s.peer, &hrr);
    assert!(!out.is_empty(), "a second ClientHello");
    let ch2 = s.read_client_hello();
    assert!(
        s.client_share(GROUP13_ALT).is_some(),
        "a share in the group asked for"
    );
    let cookie = dtls_proto::msgs::extensions13::find::<dtls_proto::msgs::extensions13::Cookie>(
        &ch2.extensions,
    )
    .expect("decodes")
    .expect("the cookie is echoed (RFC 8446 §4.2.2)");
    assert_eq!(cookie.0, b"hostile cookie");
    (sut, s)
}

/// Application data the engine delivered.
fn drain_app(sut: &mut Sut) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(Some(n)) = sut.conn.recv(&mut buf) {
        out.push(buf[..n].to_vec());
    }
    out
}

/// The records (epoch, seq) of the engine's handshake records in `epoch` the peer saw.
fn handshake_records(peer: &Peer13, epoch: u64) -> Vec<(u64, u64)> {
    peer.records
        .iter()
        .filter(|r| r.epoch == epoch && r.content_type == ContentType::Handshake)
        .map(|r| (r.epoch, r.seq))
        .collect()
}

/// A plaintext record or an unauthenticated one changed nothing and was counted.
#[track_caller]
fn assert_no_state_change(sut: &Sut, peer: &Peer13) {
    assert!(sut.error.is_none(), "{:?}", sut.error);
    assert!(sut.failed().is_none());
    assert!(peer.alerts.is_empty(), "alerts {:?}", peer.alerts);
}

// ---------------------------------------------------------------------------------------------
// Baselines: the hostile peer is good enough to complete a handshake, so every failure below
// is the state machine's doing.

#[test]
fn baseline_hostile_client_completes_and_is_acknowledged() {
    let (mut sut, mut c) = connected_server();
    // RFC 9147 §5.8.3/§7: the server acknowledges the client's last flight.
    let fin_records = handshake_records(&c.peer, EPOCH_HS);
    let _ = fin_records;
    let acked = c.peer.acked();
    assert!(!acked.is_empty(), "an ACK of the client's Finished");
    assert!(acked.iter().all(|(e, _)| *e == EPOCH_HS), "{acked:?}");
    // Data both ways under the application keys.
    let d = c.peer.app_data(EPOCH_APP, b"ping");
    sut.exchange(&mut c.peer, &d);
    assert_eq!(drain_app(&mut sut), vec![b"ping".to_vec()]);
    sut.conn.send(b"pong").expect("send");
    sut.flush(&mut c.peer);
    assert_eq!(c.peer.app, vec![b"pong".to_vec()]);
}

#[test]
fn baseline_hostile_server_completes() {
    let (mut sut, mut s) = connected_client();
    sut.conn.send(b"ping").expect("send");
    sut.flush(&mut s.peer);
    assert_eq!(s.peer.app, vec![b"ping".to_vec()]);
    let d = s.peer.app_data(EPOCH_APP, b"pong");
    sut.exchange(&mut s.peer, &d);
    assert_eq!(drain_app(&mut sut), vec![b"pong".to_vec()]);
}

#[test]
fn baseline_client_completes_after_hello_retry_request() {
    let (mut sut, mut s) = client_after_hrr();
    let sh = s.server_hello_in(GROUP13_ALT);
    sut.exchange(&mut s.peer, &sh);
    let fl = s.encrypted_flight(false);
    sut.exchange(&mut s.peer, &fl);
    assert!(sut.connected(), "{:?}", sut.error);
    assert!(s.read_client_flight());
}

#[test]
fn baseline_mutual_authentication() {
    let (mut sut, mut c) = server_requiring_cert();
    let ccert = cert("dtls-client");
    let mut d = c.certificate(ccert.chain());
    d.extend(c.certificate_verify(&ccert));
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);
    assert_eq!(sut.conn.peer_certificates(), ccert.chain());
}

// ---------------------------------------------------------------------------------------------
// Skipped and reordered messages: our client.

/// Finished without CertificateVerify (the server skips proving it holds its key): RFC 8446
/// §4.4.3 makes CertificateVerify mandatory after a Certificate; out of order, so
/// unexpected_message (§4).
#[test]
fn client_finished_without_certificate_verify() {
    let (mut sut, mut s) = client_after_server_hello();
    let mut d = s.encrypted_extensions();
    d.extend(s.certificate());
    d.extend(s.finished());
    sut.exchange(&mut s.peer, &d);
    assert_fatal13(&sut, &s.peer, A::UnexpectedMessage);
    assert!(
        s.peer.received(H::Finished).is_empty(),
        "no client Finished"
    );
}

/// CertificateVerify without Certificate: nothing to verify it against.
#[test]
fn client_certificate_verify_without_certificate() {
    let (mut sut, mut s) = client_after_server_hello();
    let mut d = s.encrypted_extensions();
    d.extend(s.certificate_verify());
    d.extend(s.finished());
    sut.exchange(&mut s.peer, &d);
    assert_fatal13(&sut, &s.peer, A::UnexpectedMessage);
}

/// No Certificate and no CertificateVerify: a certificate-authenticated handshake cannot skip
/// server authentication (RFC 8446 §4.4.2).
#[test]
fn client_finished_without_any_server_authentication() {
    let (mut sut, mut s) = client_after_server_hello();
    let mut d = s.encrypted_extensions();
    d.extend(s.finished());
    sut.exchange(&mut s.peer, &d);
    assert_fatal13(&sut, &s.peer, A::UnexpectedMessage);
}

/// No EncryptedExtensions (RFC 8446 §4.3.1: it follows ServerHello in every handshake).
#[test]
fn client_certificate_without_encrypted_extensions() {
    let (mut sut, mut s) = client_after_server_hello();
    let mut d = s.certificate();
    d.extend(s.certificate_verify());
    d.extend(s.finished());
    sut.exchange(&mut s.peer, &d);
    assert_fatal13(&sut, &s.peer, A::UnexpectedMessage);
}

/// KeyUpdate before Finished: RFC 8446 §4.6.3 "Implementations that receive a KeyUpdate
/// message prior to receiving a Finished message MUST terminate the connection with an
/// unexpected_message alert."
#[test]
fn client_key_update_before_finished() {
    let (mut sut, mut s) = client_after_server_hello();
    let mut d = s.encrypted_extensions();
    d.extend(s.certificate());
    d.extend(s.certificate_verify());
    d.extend(
        s.peer
            .key_update(EPOCH_HS, KeyUpdateRequest::UpdateRequested),
    );
    sut.exchange(&mut s.peer, &d);
    assert_fatal13(&sut, &s.peer, A::UnexpectedMessage);
}

/// Application data under the handshake keys (epoch 2), before the server's Finished: only the
/// server can have sent it, and RFC 9147 §6.1 puts only handshake messages in epoch 2 (RFC 8446
/// §5: an unexpected record type is fatal, unexpected_message). It must never reach the
/// application.
#[test]
fn client_application_data_in_the_handshake_epoch_before_finished() {
    let (mut sut, mut s) = client_after_server_hello();
    let mut d = s.encrypted_extensions();
    d.extend(s.certificate());
    d.extend(s.certificate_verify());
    d.extend(s.peer.app_data(EPOCH_HS, b"too early"));
    sut.exchange(&mut s.peer, &d);
    assert_fatal13(&sut, &s.peer, A::UnexpectedMessage);
    assert!(drain_app(&mut sut).is_empty());
}

/// The same after the handshake: epoch 2 carries no application data, ever.
#[test]
fn client_application_data_in_the_handshake_epoch_after_finished() {
    let (mut sut, mut s) = connected_client();
    let d = s.peer.app_data(EPOCH_HS, b"wrong epoch");
    sut.exchange(&mut s.peer, &d);
    assert!(
        drain_app(&mut sut).is_empty(),
        "data under handshake keys reached the application"
    );
    assert_fatal_after_connect(&sut, &s.peer, A::UnexpectedMessage);
}

/// Application data of epoch 3 before the server's Finished is what reordering produces (the
/// server may send right after its Finished, RFC 8446 §2): held until the keys exist, then
/// delivered once the Finished checks out.
#[test]
fn client_application_data_before_finished_waits_for_it() {
    let (mut sut, mut s) = client_after_server_hello();
    let mut d = s.encrypted_extensions();
    d.extend(s.certificate());
    d.extend(s.certificate_verify());
    let fin = s.finished();
    d.extend(s.peer.app_data(EPOCH_APP, b"half-rtt"));
    sut.exchange(&mut s.peer, &d);
    assert_no_state_change(&sut, &s.peer);
    assert!(!sut.connected());
    assert!(drain_app(&mut sut).is_empty(), "nothing before Finished");
    sut.exchange(&mut s.peer, &fin);
    assert!(sut.connected(), "{:?}", sut.error);
    assert_eq!(drain_app(&mut sut), vec![b"half-rtt".to_vec()]);
}

/// The engine failed an established association with `alert`.
#[track_caller]
fn assert_fatal_after_connect(sut: &Sut, peer: &Peer13, alert: A) {
    let err = sut
        .error
        .as_ref()
        .expect("the engine must fail the association");
    assert_eq!(err.alert(), Some(alert), "{err:?}");
    assert!(sut.conn.is_closed());
    assert_eq!(
        peer.fatal_alerts().iter().map(|a| a.1).collect::<Vec<_>>(),
        vec![alert],
        "{:?}",
        peer.alerts
    );
}

// ---------------------------------------------------------------------------------------------
// HelloRetryRequest and ServerHello rules: our client.

/// A second HelloRetryRequest: RFC 8446 §4.1.4 "If a client receives a second
/// HelloRetryRequest in the same connection ..., it MUST abort the handshake with an
/// unexpected_message alert."
#[test]
fn client_second_hello_retry_request() {
    let (mut sut, mut s) = client_after_hrr();
    let hrr2 = s.hello_retry_request(None, Some(b"another cookie"));
    sut.exchange(&mut s.peer, &hrr2);
    assert_fatal13(&sut, &s.peer, A::UnexpectedMessage);
}

/// A ServerHello in another group than the HelloRetryRequest named: RFC 8446 §4.2.8 "clients
/// MUST check that the selected_group ... is the same as that in the HelloRetryRequest. If this
/// check fails, the client MUST abort the handshake with an illegal_parameter alert."
#[test]
fn client_server_hello_changes_group_after_hrr() {
    let (mut sut, mut s) = client_after_hrr();
    let sh = s.server_hello_in(GROUP13);
    sut.exchange(&mut s.peer, &sh);
    assert_fatal13(&sut, &s.peer, A::IllegalParameter);
}

/// A ServerHello in another suite than the HelloRetryRequest: RFC 8446 §4.1.4 "Upon receiving
/// the ServerHello, clients MUST check that the cipher suite supplied in the ServerHello is the
/// same as that in the HelloRetryRequest and otherwise abort the handshake with an
/// illegal_parameter alert."
#[test]
fn client_server_hello_changes_suite_after_hrr() {
    let (mut sut, mut s) = client_after_hrr();
    let (mut sh, kx) = s.server_hello_parts(GROUP13_ALT);
    sh.cipher_suite = CipherSuite::Tls13Chacha20Poly1305Sha256;
    let d = s.send_server_hello(&sh, kx);
    sut.exchange(&mut s.peer, &d);
    assert_fatal13(&sut, &s.peer, A::IllegalParameter);
}

/// A HelloRetryRequest naming the group the client already sent a share for (RFC 8446 §4.1.4:
/// illegal_parameter).
#[test]
fn client_hello_retry_request_for_the_group_already_shared() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let hrr = s.hello_retry_request(Some(GROUP13), None);
    sut.exchange(&mut s.peer, &hrr);
    assert_fatal13(&sut, &s.peer, A::IllegalParameter);
}

/// A hybrid client (1.2 and 1.3) meets a DTLS 1.2 ServerHello carrying a downgrade sentinel:
/// RFC 8446 §4.1.3 "TLS 1.3 clients receiving a ServerHello indicating TLS 1.2 or below MUST
/// check that the last 8 bytes are not equal to either of these values ... If a match is
/// found, the client MUST abort the handshake with an illegal_parameter alert." (RFC 9147 §5.3
/// maps them to DTLS 1.2 and DTLS 1.0.)
#[test]
fn client_downgrade_sentinel_in_a_dtls12_server_hello() {
    for sentinel in [DOWNGRADE_DTLS12, DOWNGRADE_DTLS10] {
        let scert = cert("dtls-server");
        let cfg = hostile::client_config(&scert, |b| {
            b.versions(&[ProtocolVersion::Dtls12, ProtocolVersion::Dtls13])
        });
        let mut sut = Sut::client(cfg);
        let mut s = hostile::HostileServer::new(scert, 0x5e);
        s.random[24..].copy_from_slice(&sentinel);
        sut.flush(&mut s.peer);
        s.read_client_hello();
        let d = s.flight4(false);
        sut.exchange(&mut s.peer, &d);
        hostile::assert_fatal(&sut, &s.peer, A::IllegalParameter);
    }
}

/// Our dual-version server answering a DTLS 1.2-only client puts the sentinel in its random
/// (RFC 8446 §4.1.3 "MUST"), so that a 1.3 client a man in the middle stripped down notices.
#[test]
fn server_sets_the_downgrade_sentinel_for_a_dtls12_client() {
    let scert = cert("dtls-server");
    let cfg = hostile::server_config(&scert, |b| {
        b.versions(&[ProtocolVersion::Dtls12, ProtocolVersion::Dtls13])
    });
    let mut sut = Sut::server(cfg);
    let mut c = hostile::HostileClient::new(0xc1);
    let ch = c.hello();
    sut.exchange(&mut c.peer, &ch);
    assert!(c.take_cookie());
    let ch2 = c.hello_with_cookie();
    sut.exchange(&mut c.peer, &ch2);
    let sh = c.peer.received(H::ServerHello);
    let sh = ServerHello::decode(&sh.first().expect("a ServerHello").body).expect("decodes");
    assert_eq!(sh.random[24..], DOWNGRADE_DTLS12);
}

/// A 1.3-only client meets a DTLS 1.2 ServerHello: protocol_version (RFC 8446 §4.1.3).
#[test]
fn client_13_only_refuses_a_dtls12_server_hello() {
    let scert = cert("dtls-server");
    let mut sut = Sut::client(client_config13(&scert, |b| b));
    let mut s = hostile::HostileServer::new(scert, 0x5e);
    sut.flush(&mut s.peer);
    s.read_client_hello();
    let d = s.flight4(false);
    sut.exchange(&mut s.peer, &d);
    hostile::assert_fatal(&sut, &s.peer, A::ProtocolVersion);
}

// ---------------------------------------------------------------------------------------------
// Skipped and reordered messages: our server.

/// The client skips its Certificate although one is required: a Finished where the
/// Certificate belongs is out of order (RFC 8446 §4: unexpected_message).
#[test]
fn server_client_certificate_skipped_when_required() {
    let (mut sut, mut c) = server_requiring_cert();
    let fin = c.finished();
    sut.exchange(&mut c.peer, &fin);
    assert_fatal13(&sut, &c.peer, A::UnexpectedMessage);
}

/// An empty client Certificate when one is required: RFC 8446 §4.4.2.4 "the server MAY at its
/// discretion ... abort the handshake with a certificate_required alert".
#[test]
fn server_empty_client_certificate_when_required() {
    let (mut sut, mut c) = server_requiring_cert();
    let mut d = c.certificate(&[]);
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert_fatal13(&sut, &c.peer, A::CertificateRequired);
}

/// CertificateVerify without Certificate.
#[test]
fn server_client_certificate_verify_without_certificate() {
    let (mut sut, mut c) = server_requiring_cert();
    let ccert = cert("dtls-client");
    let mut d = c.certificate_verify(&ccert);
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert_fatal13(&sut, &c.peer, A::UnexpectedMessage);
}

/// Finished without CertificateVerify after a non-empty Certificate: the client never proves
/// it holds the key (RFC 8446 §4.4.3).
#[test]
fn server_client_finished_without_certificate_verify() {
    let (mut sut, mut c) = server_requiring_cert();
    let ccert = cert("dtls-client");
    let mut d = c.certificate(ccert.chain());
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert_fatal13(&sut, &c.peer, A::UnexpectedMessage);
    assert!(sut.conn.peer_certificates().is_empty() || !sut.connected());
}

/// KeyUpdate before the client's Finished (RFC 8446 §4.6.3: unexpected_message).
#[test]
fn server_key_update_before_finished() {
    let (mut sut, mut c) = server_after_flight(|b| b);
    let d = c
        .peer
        .key_update(EPOCH_HS, KeyUpdateRequest::UpdateNotRequested);
    sut.exchange(&mut c.peer, &d);
    assert_fatal13(&sut, &c.peer, A::UnexpectedMessage);
}

/// A KeyUpdate in epoch 3 before the client's Finished is held with its epoch (the server reads
/// epoch 3 only after Finished); after Finished it is a legitimate update and is acknowledged.
#[test]
fn server_key_update_of_epoch_3_before_finished_waits() {
    let (mut sut, mut c) = server_after_flight(|b| b);
    // Our Finished takes message_seq n, the KeyUpdate n+1: build Finished first, send it last.
    let fin = c.finished();
    let ku = c
        .peer
        .key_update(EPOCH_APP, KeyUpdateRequest::UpdateNotRequested);
    sut.exchange(&mut c.peer, &ku);
    assert_no_state_change(&sut, &c.peer);
    assert!(!sut.connected());
    sut.exchange(&mut c.peer, &fin);
    assert!(sut.connected(), "{:?}", sut.error);
    assert!(
        c.peer.acked().iter().any(|(e, _)| *e == EPOCH_APP),
        "the KeyUpdate is acknowledged: {:?}",
        c.peer.acked()
    );
}

/// Application data under the client's handshake keys (epoch 2): fatal, never delivered.
#[test]
fn server_application_data_in_the_handshake_epoch() {
    let (mut sut, mut c) = server_after_flight(|b| b);
    let d = c.peer.app_data(EPOCH_HS, b"too early");
    sut.exchange(&mut c.peer, &d);
    assert_fatal13(&sut, &c.peer, A::UnexpectedMessage);
    assert!(drain_app(&mut sut).is_empty());
}

/// The same after the handshake.
#[test]
fn server_application_data_in_the_handshake_epoch_after_finished() {
    let (mut sut, mut c) = connected_server();
    let d = c.peer.app_data(EPOCH_HS, b"wrong epoch");
    sut.exchange(&mut c.peer, &d);
    assert!(
        drain_app(&mut sut).is_empty(),
        "data under handshake keys reached the application"
    );
    assert_fatal_after_connect(&sut, &c.peer, A::UnexpectedMessage);
}

/// Application data of epoch 3 before the client's Finished (reordering): held, delivered only
/// after the Finished verified.
#[test]
fn server_application_data_before_finished_waits_for_it() {
    let (mut sut, mut c) = server_after_flight(|b| b);
    let fin = c.finished();
    let d = c.peer.app_data(EPOCH_APP, b"early");
    sut.exchange(&mut c.peer, &d);
    assert_no_state_change(&sut, &c.peer);
    assert!(drain_app(&mut sut).is_empty());
    sut.exchange(&mut c.peer, &fin);
    assert!(sut.connected(), "{:?}", sut.error);
    assert_eq!(drain_app(&mut sut), vec![b"early".to_vec()]);
}

/// A ClientHello2 whose share is not in the group the HelloRetryRequest named (RFC 8446
/// §4.1.4/§4.2.8: illegal_parameter).
#[test]
fn server_second_client_hello_in_another_group() {
    let scert = cert("dtls-server");
    // Only P-256 on our side: the X25519 share gets a HelloRetryRequest for P-256.
    let mut sut = Sut::server(server_config13(&scert, |b| {
        b.groups(&[GROUP13_ALT]).cookie_exchange(false)
    }));
    let mut c = HostileClient13::new(0xc1);
    let ch = c.client_hello();
    sut.exchange(&mut c.peer, &ch);
    c.read_server_flight();
    assert!(c.hrr_seen);
    assert_eq!(c.group, GROUP13_ALT, "the HRR asks for P-256");
    c.group = GROUP13;
    let ch2 = c.client_hello();
    sut.exchange(&mut c.peer, &ch2);
    assert_fatal13(&sut, &c.peer, A::IllegalParameter);
}

// ---------------------------------------------------------------------------------------------
// Records of an epoch not yet installed.

/// The server's encrypted flight overtakes its ServerHello: the client holds the epoch-2
/// records (it cannot open them yet) and completes once the ServerHello arrives.
#[test]
fn client_records_of_an_epoch_not_yet_installed_are_held() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let sh = s.server_hello();
    let fl = s.encrypted_flight(false);
    let before = sut.sent.len();
    sut.exchange(&mut s.peer, &fl);
    assert_silent13(&sut, &s.peer, before);
    assert!(sut.conn.stats().dropped.auth_failed == 0);
    sut.exchange(&mut s.peer, &sh);
    assert!(sut.connected(), "{:?}", sut.error);
    assert!(s.read_client_flight());
}

/// Forged records of epochs whose keys do not exist yet (3, and the low bits of 4..7) are held
/// at most `max_deferred_records` and then fail to open: nothing changes and the genuine
/// handshake completes.
#[test]
fn server_forged_records_of_future_epochs_are_bounded_and_harmless() {
    let (mut sut, mut c) = server_after_flight(|b| b);
    let mut forger = forger_cipher(0x66);
    for i in 0..200u64 {
        let epoch = 3 + (i % 5);
        let d = seal_with(
            &mut forger,
            ContentType::Handshake,
            epoch,
            i,
            b"\x14\0\0\0forged",
        );
        sut.exchange(&mut c.peer, &d);
    }
    assert_no_state_change(&sut, &c.peer);
    let fin = c.finished();
    sut.exchange(&mut c.peer, &fin);
    assert!(sut.connected(), "{:?}", sut.error);
    let st = sut.conn.stats();
    assert!(
        st.dropped.bad_epoch + st.dropped.auth_failed >= 200,
        "every forgery counted: {st:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Forged unified-header records at every epoch.

/// Records under keys nobody holds, with every epoch value the two header bits can name,
/// every content type, short and long: each is dropped and counted, no alert, no state change;
/// before the handshake, during it, and after it.
fn forged_records_at_every_epoch(sut: &mut Sut, peer: &mut Peer13, salt: u64) -> u64 {
    let mut forger = forger_cipher(0x77);
    let mut n = 0;
    for epoch in 0..8u64 {
        for (k, ct) in [
            ContentType::Handshake,
            ContentType::Alert,
            ContentType::Ack,
            ContentType::ApplicationData,
        ]
        .into_iter()
        .enumerate()
        {
            for body in [&b"\x02\x28"[..], &[0x14; 200][..]] {
                let seq = salt + epoch * 100 + k as u64 * 10 + body.len() as u64;
                let d = seal_with(&mut forger, ct, epoch, seq, body);
                let _ = sut.deliver(&d);
                sut.flush(peer);
                n += 1;
            }
        }
        // Shorter than the 16-byte sample: RFC 9147 §4.2.3 "MUST reject".
        let mut d = seal_with(&mut forger, ContentType::Alert, epoch, salt, b"\x02\x28");
        d.truncate(5 + 10);
        d[3..5].copy_from_slice(&10u16.to_be_bytes());
        let _ = sut.deliver(&d);
        sut.flush(peer);
        n += 1;
    }
    n
}

#[test]
fn server_forged_unified_header_records_at_every_epoch() {
    let scert = cert("dtls-server");
    let mut sut = Sut::server(server_config13(&scert, |b| b));
    let mut c = HostileClient13::new(0xc1);
    // Before any ClientHello: nothing to open them with.
    let n = forged_records_at_every_epoch(&mut sut, &mut c.peer, 0);
    assert_no_state_change(&sut, &c.peer);
    assert!(sut.sent.is_empty(), "no answer to forgeries");
    c.hello_through(&mut sut);
    assert!(c.server_finished);
    // Mid-handshake: epoch 2 keys exist, the rest are held or dropped.
    let m = forged_records_at_every_epoch(&mut sut, &mut c.peer, 1000);
    assert_no_state_change(&sut, &c.peer);
    let fin = c.finished();
    sut.exchange(&mut c.peer, &fin);
    assert!(sut.connected(), "{:?}", sut.error);
    // Established.
    let k = forged_records_at_every_epoch(&mut sut, &mut c.peer, 2000);
    assert_no_state_change(&sut, &c.peer);
    assert!(drain_app(&mut sut).is_empty());
    let st = sut.conn.stats();
    let dropped = st.dropped.auth_failed
        + st.dropped.bad_epoch
        + st.dropped.unexpected
        + st.dropped.malformed;
    assert!(
        dropped >= n + m + k - 64,
        "counted: {st:?} of {}",
        n + m + k
    );
    // Still working.
    let d = c.peer.app_data(EPOCH_APP, b"genuine");
    sut.exchange(&mut c.peer, &d);
    assert_eq!(drain_app(&mut sut), vec![b"genuine".to_vec()]);
}

#[test]
fn client_forged_unified_header_records_at_every_epoch() {
    let (mut sut, mut s) = client_after_server_hello();
    let m = forged_records_at_every_epoch(&mut sut, &mut s.peer, 0);
    assert_no_state_change(&sut, &s.peer);
    let fl = s.encrypted_flight(false);
    sut.exchange(&mut s.peer, &fl);
    assert!(sut.connected(), "{:?}", sut.error);
    let k = forged_records_at_every_epoch(&mut sut, &mut s.peer, 5000);
    assert_no_state_change(&sut, &s.peer);
    assert!(drain_app(&mut sut).is_empty());
    let st = sut.conn.stats();
    let dropped = st.dropped.auth_failed
        + st.dropped.bad_epoch
        + st.dropped.unexpected
        + st.dropped.malformed;
    assert!(dropped >= m + k - 64, "counted: {st:?} of {}", m + k);
    let d = s.peer.app_data(EPOCH_APP, b"genuine");
    sut.exchange(&mut s.peer, &d);
    assert_eq!(drain_app(&mut sut), vec![b"genuine".to_vec()]);
}

// ---------------------------------------------------------------------------------------------
// ACKs for records never sent.

/// The client's last flight waits for its ACK (RFC 9147 §5.8.2). An ACK that names only
/// records the client never sent acknowledges nothing: the flight is still retransmitted.
/// The genuine ACK then ends the retransmissions.
#[test]
fn client_ack_for_records_never_sent() {
    let (mut sut, mut s) = connected_client();
    let sent = handshake_records(&s.peer, EPOCH_HS);
    assert!(!sent.is_empty());
    let bogus = s.peer.ack(EPOCH_APP, &[(2, 900), (3, 7), (0, 0), (7, 1)]);
    sut.exchange(&mut s.peer, &bogus);
    assert_no_state_change(&sut, &s.peer);
    assert!(
        sut.conn.next_timeout().is_some(),
        "still waiting for an ACK"
    );
    let out = sut.advance(&mut s.peer, 1500);
    assert!(!out.is_empty(), "the last flight is retransmitted");
    // Now the real one: every record of the flight so far.
    let all = handshake_records(&s.peer, EPOCH_HS);
    let ack = s.peer.ack(EPOCH_APP, &all);
    sut.exchange(&mut s.peer, &ack);
    assert_eq!(sut.conn.next_timeout(), None, "acknowledged: no timer left");
    let out = sut.advance(&mut s.peer, 60_000);
    assert!(out.is_empty(), "nothing retransmitted after the ACK");
    assert!(sut.error.is_none());
}

/// ACKs naming records never sent, during the server's handshake: no state change; the
/// server's flight is retransmitted at its timeout as if they never came.
#[test]
fn server_ack_for_records_never_sent() {
    let (mut sut, mut c) = server_after_flight(|b| b);
    let bogus = c.peer.ack(EPOCH_HS, &[(2, 500), (3, 0), (0, 40)]);
    sut.exchange(&mut c.peer, &bogus);
    // A plaintext one too (RFC 9147 §7 allows epoch-0 ACKs only of epoch-0 records).
    let plain = c.peer.ack(0, &[(2, 0), (2, 1), (2, 2), (2, 3), (2, 4)]);
    sut.exchange(&mut c.peer, &plain);
    assert_no_state_change(&sut, &c.peer);
    let before = c.peer.received(H::Finished).len();
    sut.advance(&mut c.peer, 1500);
    assert!(
        c.peer.received(H::Finished).len() > before,
        "the server flight is retransmitted"
    );
    c.read_server_flight();
    let fin = c.finished();
    sut.exchange(&mut c.peer, &fin);
    assert!(sut.connected(), "{:?}", sut.error);
}

// ---------------------------------------------------------------------------------------------
// Plaintext alerts during the 1.3 handshake.

/// A plaintext fatal alert (anyone can forge one) while the server waits for the client's last
/// flight: not fatal while the client keeps answering; the handshake completes.
#[test]
fn server_plaintext_fatal_alert_does_not_end_the_handshake() {
    let (mut sut, mut c) = server_after_flight(|b| b);
    for desc in [
        A::HandshakeFailure,
        A::CloseNotify,
        A::BadRecordMac,
        A::DecryptError,
    ] {
        let d = c.peer.alert(AlertLevel::Fatal, desc, 0);
        sut.exchange(&mut c.peer, &d);
    }
    assert_no_state_change(&sut, &c.peer);
    let fin = c.finished();
    sut.exchange(&mut c.peer, &fin);
    assert!(sut.connected(), "{:?}", sut.error);
}

/// Same at our client, at every step: after its ClientHello, after ServerHello, after the
/// server's flight (then the association is up: plaintext is dropped, RFC 9147 §4.1).
#[test]
fn client_plaintext_fatal_alerts_do_not_end_the_handshake() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let a = s.peer.alert(AlertLevel::Fatal, A::HandshakeFailure, 0);
    sut.exchange(&mut s.peer, &a);
    let sh = s.server_hello();
    sut.exchange(&mut s.peer, &sh);
    let a = s.peer.alert(AlertLevel::Fatal, A::DecodeError, 0);
    sut.exchange(&mut s.peer, &a);
    assert_no_state_change(&sut, &s.peer);
    let fl = s.encrypted_flight(false);
    sut.exchange(&mut s.peer, &fl);
    assert!(sut.connected(), "{:?}", sut.error);
    let a = s.peer.alert(AlertLevel::Fatal, A::InternalError, 0);
    sut.exchange(&mut s.peer, &a);
    assert!(sut.error.is_none() && !sut.conn.is_closed());
}

/// A plaintext fatal alert and then silence: the handshake ends at its deadline, naming the
/// alert as the likely reason (DESIGN.md "Rules of the house").
#[test]
fn server_plaintext_fatal_alert_then_silence_is_the_likely_reason() {
    let (mut sut, mut c) = server_after_flight(|b| b);
    let d = c.peer.alert(AlertLevel::Fatal, A::HandshakeFailure, 0);
    sut.exchange(&mut c.peer, &d);
    sut.run_out_clock(&mut c.peer);
    assert_eq!(
        sut.error,
        Some(Error::HandshakeTimeout {
            likely_reason: Some(A::HandshakeFailure)
        })
    );
    assert!(c.peer.fatal_alerts().is_empty(), "a timeout sends no alert");
}

/// An authenticated fatal alert (epoch 2) does end the handshake at once.
#[test]
fn server_authenticated_fatal_alert_ends_the_handshake() {
    let (mut sut, mut c) = server_after_flight(|b| b);
    let d = c.peer.alert(AlertLevel::Fatal, A::BadCertificate, EPOCH_HS);
    sut.exchange(&mut c.peer, &d);
    assert_eq!(sut.error, Some(Error::AlertReceived(A::BadCertificate)));
    let fin = c.finished();
    assert!(sut.deliver(&fin).is_err());
    assert!(!sut.connected());
}

// ---------------------------------------------------------------------------------------------
// After the handshake.

/// A KeyUpdate after the handshake is acknowledged and the peer's next epoch opens; one with
/// update_requested is answered by our own KeyUpdate.
#[test]
fn server_key_update_after_handshake() {
    let (mut sut, mut c) = connected_server();
    let ku = c
        .peer
        .key_update(EPOCH_APP, KeyUpdateRequest::UpdateRequested);
    let out = sut.exchange(&mut c.peer, &ku);
    assert!(!out.is_empty());
    assert!(
        c.peer.received(H::KeyUpdate).len() == 1,
        "our KeyUpdate in answer"
    );
    let (ca, _) = c.app.clone().expect("app keys");
    let next = next_secret(&ca);
    c.peer.install_write(EPOCH_APP + 1, &next);
    let d = c.peer.app_data(EPOCH_APP + 1, b"new keys");
    sut.exchange(&mut c.peer, &d);
    assert_eq!(drain_app(&mut sut), vec![b"new keys".to_vec()]);
    assert!(sut.error.is_none());
}

/// A handshake message that has no place after the handshake (a second Finished, a
/// ClientHello) under the application keys: unexpected_message (RFC 8446 §4).
#[test]
fn server_handshake_message_after_the_handshake() {
    let (mut sut, mut c) = connected_server();
    let body = vec![0u8; 32];
    let d = c.peer.hs(H::Finished, &body, EPOCH_APP);
    sut.exchange(&mut c.peer, &d);
    assert_fatal_after_connect(&sut, &c.peer, A::UnexpectedMessage);
}

/// A plaintext handshake message after the handshake is a forgery or a stale retransmission:
/// dropped.
#[test]
fn client_plaintext_server_hello_after_the_handshake_is_dropped() {
    let (mut sut, mut s) = connected_client();
    let sh = s.server_hello();
    let before = sut.conn.stats().dropped.unexpected;
    sut.exchange(&mut s.peer, &sh);
    assert!(sut.error.is_none());
    assert!(sut.conn.stats().dropped.unexpected > before);
}

#[test]
fn encoded_server_hello_is_not_a_12_one() {
    // Guard for the helpers above: a 1.3 ServerHello body decodes as a 1.2 one too, so the
    // downgrade tests must use a real 1.2 server.
    let (_, mut s) = client_at_hello(|b| b);
    let (sh, _) = s.server_hello_parts(GROUP13);
    let mut body = Vec::new();
    sh.encode(&mut body);
    assert!(ServerHello::decode(&body).is_ok());
}

/// The zero-copy path (`open_in_place`) refuses data under handshake keys like `handle_datagram`.
#[test]
fn open_in_place_refuses_application_data_in_the_handshake_epoch() {
    let (mut sut, mut c) = connected_server();
    let mut d = c.peer.app_data(EPOCH_APP, b"fast path");
    let now = sut.now;
    assert_eq!(
        sut.conn.open_in_place(now, &mut d).expect("opens"),
        Some(&b"fast path"[..])
    );
    let mut d = c.peer.app_data(EPOCH_HS, b"wrong epoch");
    let r = sut.conn.open_in_place(now, &mut d);
    let e = r.expect_err("data under handshake keys is fatal");
    assert_eq!(e.alert(), Some(A::UnexpectedMessage));
    assert!(sut.conn.is_closed());
}

/// A forged plaintext ClientHello2 with the message_seq the server expects next (1, after its
/// HelloRetryRequest) and a body that does not parse, before the genuine one: unauthenticated
/// (anyone who knows the client's address can send it), so it is dropped and its message_seq
/// freed for the genuine ClientHello2 (DESIGN.md; the 1.2 client drops a garbage ServerHello
/// the same way, `forged_garbage_server_hello_does_not_end_the_handshake`).
#[test]
fn server_forged_garbage_client_hello2_is_dropped() {
    let scert = cert("dtls-server");
    let mut sut = Sut::server(server_config13(&scert, |b| b));
    let mut c = HostileClient13::new(0xc1);
    let ch = c.client_hello();
    sut.exchange(&mut c.peer, &ch);
    c.read_server_flight();
    assert!(c.hrr_seen);
    let garbage = vec![0xee; 60];
    let forged = c.peer.hs_custom(H::ClientHello, 1, &garbage, 0, false);
    sut.exchange(&mut c.peer, &forged);
    assert_no_state_change(&sut, &c.peer);
    assert!(sut.conn.stats().dropped.unexpected >= 1, "counted");
    let ch2 = c.client_hello();
    sut.exchange(&mut c.peer, &ch2);
    c.read_server_flight();
    assert!(c.server_finished, "the genuine ClientHello2 is answered");
    let fin = c.finished();
    sut.exchange(&mut c.peer, &fin);
    assert!(sut.connected(), "{:?}", sut.error);
}

/// RFC 8446 §6.2: every error alert "MUST be treated as error alerts when received regardless
/// of the AlertLevel", so an authenticated *warning*-level handshake_failure ends a 1.3
/// association; user_canceled (§6.1, a closure alert) does not.
#[test]
fn server_authenticated_warning_level_error_alert_is_fatal() {
    let (mut sut, mut c) = connected_server();
    let d = c
        .peer
        .alert(AlertLevel::Warning, A::UserCanceled, EPOCH_APP);
    sut.exchange(&mut c.peer, &d);
    assert!(sut.error.is_none(), "user_canceled is not an error");
    let d = c
        .peer
        .alert(AlertLevel::Warning, A::HandshakeFailure, EPOCH_APP);
    sut.exchange(&mut c.peer, &d);
    assert_eq!(sut.error, Some(Error::AlertReceived(A::HandshakeFailure)));
    assert!(sut.conn.is_closed());
}

/// The same during the handshake, at our client, in epoch 2.
#[test]
fn client_authenticated_warning_level_error_alert_is_fatal() {
    let (mut sut, mut s) = client_after_server_hello();
    let d = s
        .peer
        .alert(AlertLevel::Warning, A::BadCertificate, EPOCH_HS);
    sut.exchange(&mut s.peer, &d);
    assert_eq!(sut.error, Some(Error::AlertReceived(A::BadCertificate)));
    let fl = s.encrypted_flight(false);
    let _ = sut.deliver(&fl);
    assert!(!sut.connected());
}

/// Ten KeyUpdates in a row from the client (RFC 9147 §8), each followed by data under the new
/// keys: the epoch's two header bits wrap (epoch 4 reads as 0, 5 as 1, ...) and every record
/// still opens under the right keys; each KeyUpdate is acknowledged; old epochs' forgeries and
/// replays are dropped.
#[test]
fn server_follows_repeated_key_updates_across_epoch_bit_wraps() {
    let (mut sut, mut c) = connected_server();
    let (mut secret, _) = c.app.clone().expect("app keys");
    let mut epoch = EPOCH_APP;
    let mut replays = Vec::new();
    for i in 0..10 {
        let ku = c
            .peer
            .key_update(epoch, KeyUpdateRequest::UpdateNotRequested);
        sut.exchange(&mut c.peer, &ku);
        // Its record: the first of epoch 3, then the second of each later epoch (after the
        // data record below).
        let seq = u64::from(i != 0);
        assert!(
            c.peer.acked().contains(&(epoch, seq)),
            "KeyUpdate {i} acknowledged: {:?}",
            c.peer.acked()
        );
        secret = next_secret(&secret);
        epoch += 1;
        c.peer.install_write(epoch, &secret);
        let msg = format!("epoch {epoch}");
        let d = c.peer.app_data(epoch, msg.as_bytes());
        sut.exchange(&mut c.peer, &d);
        assert_eq!(drain_app(&mut sut), vec![msg.into_bytes()], "epoch {epoch}");
        replays.push(d);
    }
    assert_eq!(epoch, EPOCH_APP + 10);
    for d in &replays {
        sut.exchange(&mut c.peer, d);
    }
    assert!(
        drain_app(&mut sut).is_empty(),
        "replays and old epochs are dropped"
    );
    assert!(sut.error.is_none(), "{:?}", sut.error);
}

/// The server's ACK of the client's last flight was lost: the client retransmits its Finished
/// (a new record number, RFC 9147 §5.8.1) and the server acknowledges that record again, so
/// the client can stop (§7.1); the retransmission changes nothing else.
#[test]
fn server_acknowledges_a_retransmitted_client_finished() {
    let (mut sut, mut c) = connected_server();
    let acked_before = c.peer.acked();
    // The client's Finished again: its body is the end of the transcript (4-byte header and
    // a SHA-256 verify_data), its message_seq the last one used.
    let t = c.peer.transcript.clone();
    let body = t[t.len() - 32..].to_vec();
    let seq = c.peer.next_msg_seq - 1;
    let d = c.peer.hs_custom(H::Finished, seq, &body, EPOCH_HS, false);
    sut.exchange(&mut c.peer, &d);
    let new: Vec<_> = c
        .peer
        .acked()
        .into_iter()
        .filter(|r| !acked_before.contains(r))
        .collect();
    assert!(
        !new.is_empty() && new.iter().all(|(e, _)| *e == EPOCH_HS),
        "a new ACK of the retransmitted record: {new:?} (before {acked_before:?})"
    );
    assert!(sut.error.is_none() && sut.conn.is_connected());
}

// ---------------------------------------------------------------------------------------------
// Authentication failures in the server's flight: the alerts RFC 8446 §4.4 names.

/// An empty server Certificate: RFC 8446 §4.4.2.4 "If the server supplies an empty Certificate
/// message, the client MUST abort the handshake with a "decode_error" alert."
#[test]
fn client_empty_server_certificate_is_a_decode_error() {
    let (mut sut, mut s) = client_after_server_hello();
    let mut d = s.encrypted_extensions();
    let mut body = Vec::new();
    dtls_proto::msgs::handshake13::Certificate13::encode_chain(&[], &[], &mut body);
    d.extend(s.peer.hs(H::Certificate, &body, EPOCH_HS));
    sut.exchange(&mut s.peer, &d);
    assert_fatal13(&sut, &s.peer, A::DecodeError);
}

/// A CertificateVerify whose signature does not verify: decrypt_error (RFC 8446 §4.4.3).
#[test]
fn client_bad_certificate_verify_signature() {
    let (mut sut, mut s) = client_after_server_hello();
    let mut d = s.encrypted_extensions();
    d.extend(s.certificate());
    let mut body = certificate_verify_body(&s.cert, dtls_proto::Role::Server, &s.peer.th());
    let n = body.len();
    body[n - 5] ^= 0x40;
    d.extend(s.peer.hs(H::CertificateVerify, &body, EPOCH_HS));
    sut.exchange(&mut s.peer, &d);
    assert_fatal13(&sut, &s.peer, A::DecryptError);
}

/// A CertificateVerify signed over another transcript (here: as the client would sign, the
/// other context string of RFC 8446 §4.4.3): decrypt_error.
#[test]
fn client_certificate_verify_with_the_client_context_string() {
    let (mut sut, mut s) = client_after_server_hello();
    let mut d = s.encrypted_extensions();
    d.extend(s.certificate());
    let body = certificate_verify_body(&s.cert, dtls_proto::Role::Client, &s.peer.th());
    d.extend(s.peer.hs(H::CertificateVerify, &body, EPOCH_HS));
    sut.exchange(&mut s.peer, &d);
    assert_fatal13(&sut, &s.peer, A::DecryptError);
}

/// A Finished that does not verify: decrypt_error (RFC 8446 §4.4.4).
#[test]
fn client_bad_server_finished() {
    let (mut sut, mut s) = client_after_server_hello();
    let mut d = s.encrypted_extensions();
    d.extend(s.certificate());
    d.extend(s.certificate_verify());
    d.extend(s.peer.hs(H::Finished, &[0x5a; 32], EPOCH_HS));
    sut.exchange(&mut s.peer, &d);
    assert_fatal13(&sut, &s.peer, A::DecryptError);
    assert!(s.peer.received(H::Finished).is_empty());
}

/// A client Finished that does not verify, at our server: decrypt_error.
#[test]
fn server_bad_client_finished() {
    let (mut sut, mut c) = server_after_flight(|b| b);
    let d = c.peer.hs(H::Finished, &[0x5a; 32], EPOCH_HS);
    sut.exchange(&mut c.peer, &d);
    assert_fatal13(&sut, &c.peer, A::DecryptError);
}

/// EncryptedExtensions carrying key_share, which belongs to the hellos only: RFC 8446 §4.2 "If
/// an implementation receives an extension which it recognizes and which is not specified for
/// the message in which it appears, it MUST abort the handshake with an "illegal_parameter"
/// alert."
#[test]
fn client_encrypted_extensions_with_a_hello_extension() {
    let (mut sut, mut s) = client_after_server_hello();
    let mut e = dtls_proto::msgs::extensions::Extensions::default();
    dtls_proto::msgs::extensions13::push(
        &mut e,
        &dtls_proto::msgs::extensions13::SupportedVersionsServer(ProtocolVersion::Dtls13),
    );
    let mut body = Vec::new();
    dtls_proto::msgs::handshake13::EncryptedExtensions { extensions: e }.encode(&mut body);
    let d = s.peer.hs(H::EncryptedExtensions, &body, EPOCH_HS);
    sut.exchange(&mut s.peer, &d);
    assert_fatal13(&sut, &s.peer, A::IllegalParameter);
}

/// A forged plaintext fragment that claims the message_seq of the next protected message (a
/// partial "Finished" of another length) is held by reassembly at most until the genuine,
/// authenticated message arrives, which replaces it: the forger cannot block the slot.
#[test]
fn server_forged_plaintext_fragment_in_the_next_slot_does_not_block_it() {
    let (mut sut, mut c) = server_after_flight(|b| b);
    let next = c.peer.next_msg_seq;
    let mut frag = Vec::new();
    dtls_proto::msgs::handshake::HandshakeHeader {
        msg_type: H::Finished,
        length: 500,
        msg_seq: next,
        frag_off: 0,
        frag_len: 10,
    }
    .encode(&mut frag);
    frag.extend_from_slice(&[0x11; 10]);
    let d = c.peer.record(ContentType::Handshake, 0, &frag);
    sut.exchange(&mut c.peer, &d);
    assert_no_state_change(&sut, &c.peer);
    let fin = c.finished();
    sut.exchange(&mut c.peer, &fin);
    assert!(sut.connected(), "{:?}", sut.error);
}

/// The same at our client, in the EncryptedExtensions slot.
#[test]
fn client_forged_plaintext_fragment_in_the_next_slot_does_not_block_it() {
    let (mut sut, mut s) = client_after_server_hello();
    let next = s.peer.next_msg_seq;
    let mut frag = Vec::new();
    dtls_proto::msgs::handshake::HandshakeHeader {
        msg_type: H::EncryptedExtensions,
        length: 900,
        msg_seq: next,
        frag_off: 100,
        frag_len: 10,
    }
    .encode(&mut frag);
    frag.extend_from_slice(&[0x22; 10]);
    let d = s.peer.record(ContentType::Handshake, 0, &frag);
    sut.exchange(&mut s.peer, &d);
    assert_no_state_change(&sut, &s.peer);
    let fl = s.encrypted_flight(false);
    sut.exchange(&mut s.peer, &fl);
    assert!(sut.connected(), "{:?}", sut.error);
}

/// A client Certificate nobody asked for (no CertificateRequest): out of order
/// (RFC 8446 §4.4.2: the client sends one only in response to a CertificateRequest).
#[test]
fn server_unsolicited_client_certificate() {
    let (mut sut, mut c) = server_after_flight(|b| b);
    assert!(!c.cert_requested);
    let ccert = cert("dtls-client");
    let mut d = c.certificate(ccert.chain());
    d.extend(c.certificate_verify(&ccert));
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert_fatal13(&sut, &c.peer, A::UnexpectedMessage);
}

/// A client CertificateVerify in a scheme the server did not offer: illegal_parameter
/// (RFC 8446 §4.4.3). That includes rsa_pkcs1_sha256, which TLS 1.3 forbids in
/// CertificateVerify (§4.2.3 "RSA signatures MUST use an RSASSA-PSS algorithm"), so the 1.3
/// CertificateRequest does not list it.
#[test]
fn server_client_certificate_verify_in_a_scheme_not_offered() {
    for (scheme, alert) in [(0xfefe, A::IllegalParameter), (0x0401, A::IllegalParameter)] {
        let (mut sut, mut c) = server_requiring_cert();
        let ccert = cert("dtls-client");
        let mut d = c.certificate(ccert.chain());
        let mut body = Vec::new();
        dtls_proto::msgs::handshake::DigitallySigned {
            scheme,
            signature: vec![0x33; 64],
        }
        .encode(&mut body);
        d.extend(c.peer.hs(H::CertificateVerify, &body, EPOCH_HS));
        d.extend(c.finished());
        sut.exchange(&mut c.peer, &d);
        assert_fatal13(&sut, &c.peer, alert);
    }
}

/// A HelloRetryRequest with only a cookie (no group): the client repeats its share, echoes
/// the cookie, and completes over the message_hash transcript (RFC 8446 §4.4.1).
#[test]
fn baseline_client_completes_after_a_cookie_only_hello_retry_request() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let hrr = s.hello_retry_request(None, Some(b"only a cookie"));
    sut.exchange(&mut s.peer, &hrr);
    s.read_client_hello();
    assert!(s.client_share(GROUP13).is_some());
    let sh = s.server_hello();
    sut.exchange(&mut s.peer, &sh);
    let fl = s.encrypted_flight(false);
    sut.exchange(&mut s.peer, &fl);
    assert!(sut.connected(), "{:?}", sut.error);
    assert!(s.read_client_flight());
}

/// A HelloRetryRequest for a group the client never listed in supported_groups (RFC 8446
/// §4.1.4: illegal_parameter).
#[test]
fn client_hello_retry_request_for_a_group_not_offered() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let hrr = s.hello_retry_request(Some(dtls_proto::NamedGroup::Secp384r1), None);
    sut.exchange(&mut s.peer, &hrr);
    assert_fatal13(&sut, &s.peer, A::IllegalParameter);
}

/// A HelloRetryRequest that would change nothing (no group, no cookie): illegal_parameter
/// (RFC 8446 §4.1.4).
#[test]
fn client_hello_retry_request_that_changes_nothing() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let hrr = s.hello_retry_request(None, None);
    sut.exchange(&mut s.peer, &hrr);
    assert_fatal13(&sut, &s.peer, A::IllegalParameter);
}
