//! The state-machine bug catalogue of DTLS-Fuzzer / SMBugFinder (Fiterau-Brostean et al.,
//! USENIX Security 2020 and NDSS 2023), one test per pattern, against our server and our client.
//!
//! The hostile peer (`tests/common/hostile.rs`) is a scripted DTLS 1.2 endpoint with real keys:
//! whatever it omits, repeats or reorders, its Finished still verifies over what it sent, so the
//! only thing that can stop a handshake is the engine's state machine. Each test asserts the
//! RFC-conformant outcome, and never a completed handshake where there must not be one:
//!
//! - a message out of order or malformed in a *protected* record (epoch 1: only the peer can
//!   have sent it) ends the handshake with the fatal alert RFC 5246 §7.2.2 names, on the wire
//!   and in `Event::Failed`;
//! - the same in *plaintext* (epoch 0) is unauthenticated and may be forged by anyone on the
//!   path, so it is discarded without an alert and without a state change (RFC 6347 §4.1.2.7
//!   "invalid records SHOULD be silently discarded, thus preserving the association"; our
//!   DESIGN.md: forged epoch-0 records must not end a handshake). Its message_seq stays free
//!   for the genuine message, which then completes the handshake; without it the handshake
//!   times out, naming the alert TLS would have sent as the likely reason. Semantic failures
//!   of a well-formed message in its place (an empty required Certificate, a bad signature)
//!   stay fatal.
//!
//! RFC references: RFC 5246 §7.2.2 (error alerts), §7.3/§7.4 ("sending handshake messages in an
//! unexpected order results in a fatal error"), §7.4.6 (client Certificate), §7.4.8
//! (CertificateVerify), §7.4.9 (Finished); RFC 6347 §4.1.2.7 (invalid records are silently
//! discarded), §4.2.1 (cookies), §4.2.2 (message_seq), §4.2.4 (retransmission), §4.2.8.
//!
//! Four of these found engine deviations, fixed in 6ef592e and kept as regression tests:
//! `server_finished_without_ccs_never_completes`, `client_finished_without_ccs_never_completes`,
//! `server_closed_by_peer_does_not_retransmit_flight6` and
//! `server_alert_before_its_ccs_is_plaintext`.

use crate::common::hostile::*;
use dtls_proto::msgs::alert::Alert;
use dtls_proto::msgs::codec::Codec;
use dtls_proto::msgs::enums::{
    AlertDescription as A, AlertLevel, ContentType, ExtensionType, HandshakeType as H,
};
use dtls_proto::msgs::handshake::{HelloVerifyRequest, ServerHello};
use dtls_proto::{
    Certificate, ClientAuth, ConfigBuilder, Error, Event, HashAlg, PeerVerification,
    ServerFrontDoor, Verdict,
};

// ---------------------------------------------------------------------------------------------
// Set-ups.

/// Our server, and a hostile client that went through the cookie exchange and read flight 4.
fn server_at_flight5(f: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> (Sut, HostileClient) {
    let scert = cert("dtls-server");
    let mut sut = Sut::server(server_config(&scert, f));
    let mut c = HostileClient::new(0xc1);
    let ch = c.hello();
    let hvr = sut.exchange(&mut c.peer, &ch);
    assert_eq!(hvr.len(), 1, "one HelloVerifyRequest");
    assert!(c.take_cookie());
    let ch2 = c.hello_with_cookie();
    sut.exchange(&mut c.peer, &ch2);
    c.read_server_flight();
    assert!(c.server_hello_done, "server flight 4");
    (sut, c)
}

/// Our server demanding a client certificate pinned to the returned one.
fn client_auth_server() -> (Sut, HostileClient, Certificate) {
    let ccert = cert("dtls-client");
    let fp = ccert.fingerprint(HashAlg::Sha256);
    let (sut, c) = server_at_flight5(|b| b.client_auth(ClientAuth::Require).peer_fingerprint(fp));
    assert!(c.cert_requested, "CertificateRequest sent");
    (sut, c, ccert)
}

/// Our client, and a hostile server that read its ClientHello.
fn client_at_hello(f: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> (Sut, HostileServer) {
    let scert = cert("hostile-server");
    let mut sut = Sut::client(client_config(&scert, f));
    let mut s = HostileServer::new(scert, 0x5e);
    let out = sut.flush(&mut s.peer);
    assert_eq!(out.len(), 1, "flight 1");
    s.read_client_hello();
    (sut, s)
}

/// Our client after its flight 5, which the hostile server has read and verified.
fn client_at_flight6() -> (Sut, HostileServer) {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let f4 = s.flight4(false);
    sut.exchange(&mut s.peer, &f4);
    assert!(s.read_client_flight(), "client Finished verifies");
    (sut, s)
}

/// Client flight 5 without client authentication: ClientKeyExchange, CCS, Finished.
fn flight5(c: &mut HostileClient) -> Vec<u8> {
    let mut d = c.client_key_exchange();
    d.extend(c.peer.ccs());
    d.extend(c.finished());
    d
}

/// A connected pair: our server and the hostile client.
fn connected_server() -> (Sut, HostileClient) {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let d = flight5(&mut c);
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected() && c.server_finished_ok());
    (sut, c)
}

/// A connected pair: our client and the hostile server.
fn connected_client() -> (Sut, HostileServer) {
    let (mut sut, mut s) = client_at_flight6();
    let d = s.ccs_finished();
    sut.exchange(&mut s.peer, &d);
    assert!(sut.connected() && sut.error.is_none());
    (sut, s)
}

/// Application data still flows both ways (the association survived).
#[track_caller]
fn assert_app_data_flows(sut: &mut Sut, peer: &mut Peer) {
    let d = peer.app_data(b"still there?");
    sut.deliver(&d).expect("app data");
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    while let Some(n) = sut.conn.recv(&mut buf).expect("recv") {
        got.push(buf[..n].to_vec());
    }
    assert_eq!(got.last().map(|v| &v[..]), Some(&b"still there?"[..]));
    sut.conn.send(b"yes").expect("send");
    let before = peer.app.len();
    sut.flush(peer);
    assert_eq!(peer.app[before..], [b"yes".to_vec()]);
}

/// A plaintext message was discarded (RFC 6347 §4.1.2.7): no error, no alert, no completion,
/// counted as dropped.
#[track_caller]
fn assert_dropped(sut: &Sut, peer: &Peer) {
    assert!(sut.error.is_none(), "{:?}", sut.error);
    assert!(peer.alerts.is_empty(), "{:?}", peer.alerts);
    assert!(!sut.connected());
    assert!(
        sut.conn.stats().dropped.unexpected >= 1,
        "counted as dropped"
    );
}

/// A plaintext message was discarded and the handshake cannot go on without what it lacks: it
/// times out (no alert: nothing authenticated went wrong), naming as likely reason the alert
/// TLS would have sent (`would_be`).
#[track_caller]
fn assert_dropped_and_stalls(sut: &mut Sut, peer: &mut Peer, would_be: A) {
    assert_dropped(sut, peer);
    sut.run_out_clock(peer);
    assert!(!sut.connected());
    assert_eq!(
        sut.error,
        Some(Error::HandshakeTimeout {
            likely_reason: Some(would_be)
        })
    );
    assert!(peer.alerts.is_empty(), "a timeout sends no alert");
}

fn certificate_body(cert: &Certificate) -> Vec<u8> {
    let mut b = Vec::new();
    dtls_proto::msgs::handshake::Certificate12 {
        chain: cert.chain().to_vec(),
    }
    .encode(&mut b);
    b
}

fn server_hellos(peer: &Peer) -> Vec<Vec<u8>> {
    peer.received(H::ServerHello)
        .iter()
        .map(|m| m.body.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Baselines: the hostile peers complete honest handshakes, so every failure below is the state
// machine's doing.

#[test]
fn baseline_hostile_client_completes_with_our_server() {
    let (mut sut, mut c) = connected_server();
    assert!(c.peer.alerts.is_empty());
    assert_eq!(c.peer.ccs, vec![0], "the server's ChangeCipherSpec");
    assert_app_data_flows(&mut sut, &mut c.peer);
}

#[test]
fn baseline_hostile_client_authenticates_to_our_server() {
    let (mut sut, mut c, ccert) = client_auth_server();
    let mut d = c.certificate(ccert.chain());
    d.extend(c.client_key_exchange());
    d.extend(c.certificate_verify(&ccert));
    d.extend(c.peer.ccs());
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected(), "error {:?}", sut.error);
    assert!(c.server_finished_ok());
    assert_eq!(sut.conn.peer_certificates(), ccert.chain());
}

#[test]
fn baseline_hostile_server_completes_with_our_client() {
    let (mut sut, mut s) = connected_client();
    assert!(s.peer.alerts.is_empty());
    assert_app_data_flows(&mut sut, &mut s.peer);
}

// ---------------------------------------------------------------------------------------------
// Server side.

/// Early Finished: a plaintext Finished where ClientKeyExchange is due (RFC 5246 §7.4: out of
/// order). Discarded, no Finished of ours; the genuine flight 5 under the same message_seq still
/// completes, and without it the handshake times out (likely reason unexpected_message).
#[test]
fn server_early_finished_is_dropped() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let d = c.peer.hs_custom(H::Finished, 2, &[0u8; 12], 0, false);
    sut.exchange(&mut c.peer, &d);
    assert_dropped(&sut, &c.peer);
    assert!(c.peer.received(H::Finished).is_empty());
    let d = flight5(&mut c);
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected() && c.server_finished_ok());

    let (mut sut, mut c) = server_at_flight5(|b| b);
    let d = c.peer.hs_custom(H::Finished, 2, &[0u8; 12], 0, false);
    sut.exchange(&mut c.peer, &d);
    assert_dropped_and_stalls(&mut sut, &mut c.peer, A::UnexpectedMessage);
    assert!(c.peer.received(H::Finished).is_empty());
}

/// Early Finished, protected: the client derives keys but withholds its ClientKeyExchange
/// and sends ChangeCipherSpec and an epoch-1 Finished. The server has no epoch-1 keys: the
/// record cannot be read (RFC 6347 §4.1: a future epoch is discarded or buffered), so the
/// handshake must not complete; it times out without a Finished of ours.
#[test]
fn server_early_protected_finished_never_completes() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let _withheld = c.client_key_exchange();
    let mut d = c.peer.ccs();
    d.extend(c.finished());
    let out = sut.exchange(&mut c.peer, &d);
    assert!(out.is_empty(), "no answer to an unreadable Finished");
    sut.run_out_clock(&mut c.peer);
    assert!(!sut.connected());
    assert!(
        matches!(sut.error, Some(Error::HandshakeTimeout { .. })),
        "{:?}",
        sut.error
    );
    assert!(c.peer.received(H::Finished).is_empty());
    assert!(c.peer.ccs.is_empty());
    assert!(c.peer.alerts.is_empty());
}

/// CertificateVerify-less client authentication: Certificate, ClientKeyExchange, CCS,
/// Finished with no CertificateVerify. RFC 5246 §7.4.8: a client that sent a certificate
/// with signing capability sends CertificateVerify right after ClientKeyExchange; anything
/// else is out of order: unexpected_message, and the client is not authenticated.
#[test]
fn server_certificate_verify_less_client_auth_is_unexpected_message() {
    let (mut sut, mut c, ccert) = client_auth_server();
    let mut d = c.certificate(ccert.chain());
    d.extend(c.client_key_exchange());
    d.extend(c.peer.ccs());
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert_fatal(&sut, &c.peer, A::UnexpectedMessage);
    assert!(!c.server_finished_ok());
}

/// Certificate-less client authentication, message omitted: the server requires a certificate
/// and the client skips the Certificate message (RFC 5246 §7.4.6 makes it the first message
/// after ServerHelloDone). The plaintext ClientKeyExchange in its place is discarded and the
/// protected Finished waits behind the gap: no completion, a timeout (likely reason
/// unexpected_message).
#[test]
fn server_certificate_less_client_auth_omitted_never_completes() {
    let (mut sut, mut c, _) = client_auth_server();
    let d = flight5(&mut c);
    sut.exchange(&mut c.peer, &d);
    assert_dropped_and_stalls(&mut sut, &mut c.peer, A::UnexpectedMessage);
    assert!(!c.server_finished_ok());
}

/// Certificate-less client authentication, empty Certificate: RFC 5246 §7.4.6 lets a server
/// that requires one "respond with a fatal handshake_failure alert".
#[test]
fn server_certificate_less_client_auth_empty_is_handshake_failure() {
    let (mut sut, mut c, _) = client_auth_server();
    let mut d = c.certificate(&[]);
    d.extend(flight5(&mut c));
    sut.exchange(&mut c.peer, &d);
    assert_fatal(&sut, &c.peer, A::HandshakeFailure);
    assert!(matches!(sut.error, Some(Error::NoPeerCertificate)));
}

/// With an optional client certificate the Certificate message is still mandatory once
/// requested ("If no suitable certificate is available, the client MUST send a certificate
/// message containing no certificates", RFC 5246 §7.4.6): omitting it never completes, while
/// an empty one completes without client authentication (the control).
#[test]
fn server_optional_client_auth_needs_the_certificate_message() {
    let optional = |b: ConfigBuilder| {
        b.client_auth(ClientAuth::Request)
            .peer_verification(PeerVerification::DangerousAcceptAny)
    };
    let (mut sut, mut c) = server_at_flight5(optional);
    assert!(c.cert_requested);
    let d = flight5(&mut c);
    sut.exchange(&mut c.peer, &d);
    assert_dropped_and_stalls(&mut sut, &mut c.peer, A::UnexpectedMessage);

    let (mut sut, mut c) = server_at_flight5(optional);
    let mut d = c.certificate(&[]);
    d.extend(flight5(&mut c));
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);
    assert!(sut.conn.peer_certificates().is_empty());
    assert!(!sut.events.contains(&Event::PeerCertificate));
}

/// ClientKeyExchange before Certificate (RFC 5246 §7.4.6/§7.3 order): the plaintext
/// ClientKeyExchange where Certificate is due is discarded, and everything behind it waits for
/// the gap: no completion, a timeout (likely reason unexpected_message).
#[test]
fn server_client_key_exchange_before_certificate_never_completes() {
    let (mut sut, mut c, ccert) = client_auth_server();
    let mut d = c.client_key_exchange();
    d.extend(c.certificate(ccert.chain()));
    d.extend(c.certificate_verify(&ccert));
    d.extend(c.peer.ccs());
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert_dropped_and_stalls(&mut sut, &mut c.peer, A::UnexpectedMessage);
    assert!(sut.conn.peer_certificates().is_empty());
}

/// Unauthenticated ClientKeyExchange: the client presents the pinned certificate but cannot
/// prove it holds its key, signing CertificateVerify with another key. RFC 5246 §7.4.8 and
/// §7.2.2: decrypt_error ("unable to correctly verify a signature"); the key exchange stays
/// unauthenticated and the handshake must not complete.
#[test]
fn server_unauthenticated_client_key_exchange_is_decrypt_error() {
    let (mut sut, mut c, ccert) = client_auth_server();
    let mallory = cert("mallory");
    let mut d = c.certificate(ccert.chain());
    d.extend(c.client_key_exchange());
    d.extend(c.certificate_verify(&mallory));
    d.extend(c.peer.ccs());
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert_fatal(&sut, &c.peer, A::DecryptError);
    assert!(matches!(sut.error, Some(Error::BadSignature)));
}

/// An unrequested client Certificate (the server asked for none): RFC 5246 §7.4.6 "This
/// message is only sent if the server requests a certificate". It is discarded rather than
/// taken as authentication nobody asked for, and what follows waits behind the gap.
#[test]
fn server_unrequested_client_certificate_never_completes() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    assert!(!c.cert_requested);
    let ccert = cert("dtls-client");
    let mut d = c.certificate(ccert.chain());
    d.extend(flight5(&mut c));
    sut.exchange(&mut c.peer, &d);
    assert!(!sut.events.contains(&Event::PeerCertificate));
    assert_dropped_and_stalls(&mut sut, &mut c.peer, A::UnexpectedMessage);
}

/// ChangeCipherSpec before CertificateVerify: Certificate, ClientKeyExchange, CCS, then
/// CertificateVerify protected in epoch 1. CertificateVerify belongs before the CCS (RFC 5246
/// §7.3, §7.4.8 "MUST immediately follow the client key exchange message"): unexpected_message.
#[test]
fn server_ccs_before_certificate_verify_is_unexpected_message() {
    let (mut sut, mut c, ccert) = client_auth_server();
    let mut d = c.certificate(ccert.chain());
    d.extend(c.client_key_exchange());
    d.extend(c.peer.ccs());
    let cv = c.certificate_verify_body(&ccert);
    d.extend(c.peer.hs_in(H::CertificateVerify, &cv, 1));
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert_fatal(&sut, &c.peer, A::UnexpectedMessage);
}

/// Finished before ChangeCipherSpec: "It is a fatal error if a Finished message is not preceded
/// by a ChangeCipherSpec message at the appropriate point in the handshake" (RFC 5246 §7.4.9).
/// DTLS may reorder the two (RFC 6347 §4.1 lets a receiver buffer the next epoch), so a
/// Finished ahead of its CCS may wait for it, but a handshake whose peer never sent a CCS must
/// not complete.
#[test]
fn server_finished_without_ccs_never_completes() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let mut d = c.client_key_exchange();
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    sut.run_out_clock(&mut c.peer);
    assert!(
        !sut.connected(),
        "completed without the client's ChangeCipherSpec"
    );
    assert!(!c.server_finished_ok());
}

/// The legitimate side of the previous pattern: a Finished reordered ahead of its CCS (separate
/// datagrams) completes once the CCS arrives (RFC 6347 §4.1 buffering).
#[test]
fn server_finished_reordered_before_ccs_completes() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let cke = c.client_key_exchange();
    let ccs = c.peer.ccs();
    let fin = c.finished();
    sut.exchange(&mut c.peer, &cke);
    sut.exchange(&mut c.peer, &fin);
    assert!(!sut.connected(), "not before the CCS");
    sut.exchange(&mut c.peer, &ccs);
    assert!(sut.connected(), "{:?}", sut.error);
    assert!(c.server_finished_ok());
    assert!(c.peer.alerts.is_empty());
}

/// Multiple ChangeCipherSpec: repeated CCS records (in epoch 0, and one protected in epoch 1
/// after the handshake). In DTLS a repeated CCS is what a retransmitted flight looks like
/// (RFC 6347 §4.2.5 makes it part of the flight), so it is dropped silently; it must not
/// advance the epoch again: data in epoch 1 keeps flowing and a record claiming epoch 2 is
/// discarded (RFC 6347 §4.1.2.7).
#[test]
fn server_multiple_ccs_do_not_advance_the_epoch() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let mut d = c.client_key_exchange();
    d.extend(c.peer.ccs());
    d.extend(c.peer.ccs());
    d.extend(c.peer.ccs());
    d.extend(c.finished());
    d.extend(c.peer.ccs());
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);
    let ccs1 = c.peer.record(ContentType::ChangeCipherSpec, 1, &[1]);
    sut.exchange(&mut c.peer, &ccs1);
    assert!(sut.error.is_none() && c.peer.alerts.is_empty());
    // An epoch-2 record (sealed with the epoch-1 keys, as a client that moved on would).
    let e2 = c
        .peer
        .record(ContentType::ApplicationData, 2, b"from epoch 2");
    sut.exchange(&mut c.peer, &e2);
    let mut buf = [0u8; 64];
    assert_eq!(sut.conn.recv(&mut buf).expect("recv"), None);
    assert!(sut.conn.stats().dropped.bad_epoch >= 1);
    assert_app_data_flows(&mut sut, &mut c.peer);
}

/// Handshake restarted: while flight 4 is outstanding, ClientHellos arrive again: the same
/// one (a retransmission), one with a new random at the old message_seq and one without a
/// cookie. The server must not start over: at most it retransmits the same flight 4 (RFC 6347
/// §4.2.4), and the original handshake then completes.
#[test]
fn server_client_hello_mid_handshake_does_not_restart() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let original = server_hellos(&c.peer);
    assert_eq!(original.len(), 1);
    let cookie = c.cookie.clone();
    let same = c.client_hello_body();
    let mut other = HostileClient::new(0x99);
    other.cookie = cookie;
    let new_random = other.client_hello_body();
    other.cookie.clear();
    let no_cookie = other.client_hello_body();
    for (body, seq) in [(same, 1), (new_random, 1), (no_cookie, 0)] {
        sut.now += 600; // beyond the engine's rate limit on peer-triggered retransmissions
        let d = c.peer.hs_custom(H::ClientHello, seq, &body, 0, false);
        sut.exchange(&mut c.peer, &d);
    }
    let hellos = server_hellos(&c.peer);
    assert!(hellos.len() > 1, "the repeated ClientHello is answered");
    assert!(
        hellos.iter().all(|h| *h == original[0]),
        "every ServerHello is the original one"
    );
    assert!(c.peer.received(H::HelloVerifyRequest).len() == 1);
    let d = flight5(&mut c);
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);
    assert!(c.server_finished_ok());
}

/// Handshake restarted at the next message_seq: a new plaintext ClientHello where
/// ClientKeyExchange is due (RFC 5246 §7.4: out of order) is discarded: no second ServerHello,
/// and the original handshake completes.
#[test]
fn server_client_hello_in_place_of_key_exchange_is_dropped() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let mut other = HostileClient::new(0x77);
    other.cookie = c.cookie.clone();
    let d = c
        .peer
        .hs_custom(H::ClientHello, 2, &other.client_hello_body(), 0, false);
    sut.exchange(&mut c.peer, &d);
    assert_dropped(&sut, &c.peer);
    assert_eq!(server_hellos(&c.peer).len(), 1);
    let d = flight5(&mut c);
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected() && c.server_finished_ok());
    assert_eq!(server_hellos(&c.peer).len(), 1);
}

/// After the handshake an epoch-0 ClientHello (a client that rebooted, or a forger) must not
/// destroy the association (RFC 6347 §4.2.8 "MUST NOT destroy the existing association until
/// the client has demonstrated reachability").
#[test]
fn server_epoch0_client_hello_after_handshake_keeps_the_association() {
    let (mut sut, mut c) = connected_server();
    let mut fresh = HostileClient::new(0x42);
    let d = fresh.hello();
    sut.exchange(&mut c.peer, &d);
    assert!(sut.error.is_none() && sut.conn.is_connected());
    assert!(c.peer.alerts.is_empty());
    assert_app_data_flows(&mut sut, &mut c.peer);
}

/// Invalid Finished as retransmission: a Finished with wrong verify_data must fail the
/// handshake with decrypt_error (RFC 5246 §7.4.9 "Recipients of Finished messages MUST verify
/// that the contents are correct", §7.2.2), not be taken for a retransmission that prompts
/// flight 4 again; a correct Finished afterwards cannot revive the association.
#[test]
fn server_invalid_finished_is_decrypt_error_not_retransmission() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let mut d = c.client_key_exchange();
    d.extend(c.peer.ccs());
    let good = c.finished_body();
    let mut bad = good.clone();
    bad[0] ^= 0x01;
    d.extend(c.peer.hs_in(H::Finished, &bad, 1));
    sut.exchange(&mut c.peer, &d);
    assert_fatal(&sut, &c.peer, A::DecryptError);
    assert!(matches!(sut.error, Some(Error::BadFinished)));
    assert_eq!(server_hellos(&c.peer).len(), 1, "flight 4 not sent again");
    // The real Finished, with a fresh record number, changes nothing.
    let again = c.peer.hs_custom(H::Finished, 3, &good, 1, false);
    assert!(sut.deliver(&again).is_err());
    sut.flush(&mut c.peer);
    assert!(!sut.connected());
    assert!(c.peer.received(H::Finished).is_empty());
}

/// A retransmitted (valid) flight 5 after the handshake is answered with flight 6 again
/// (RFC 6347 §4.2.4): the control for the previous pattern.
#[test]
fn server_retransmitted_flight5_gets_flight6_again() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let d = flight5(&mut c);
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected());
    let finished_before = c.peer.received(H::Finished).len();
    sut.now += 1000;
    let again = flight5_replay(&mut c);
    sut.exchange(&mut c.peer, &again);
    assert_eq!(c.peer.received(H::Finished).len(), finished_before + 1);
    assert!(sut.error.is_none() && c.peer.alerts.is_empty());
}

/// The hostile client's flight 5 once more, as a retransmission: same messages, new records.
fn flight5_replay(c: &mut HostileClient) -> Vec<u8> {
    // From our own transcript: the last two messages hashed are ClientKeyExchange and Finished.
    let t = c.peer.transcript.clone();
    let mut msgs = Vec::new();
    let mut i = 0;
    while i + 12 <= t.len() {
        let len = u32::from_be_bytes([0, t[i + 1], t[i + 2], t[i + 3]]) as usize;
        msgs.push(t[i..i + 12 + len].to_vec());
        i += 12 + len;
    }
    let fin = msgs.pop().expect("Finished");
    let cke = msgs.pop().expect("ClientKeyExchange");
    let mut d = c.peer.record(ContentType::Handshake, 0, &cke);
    d.extend(c.peer.ccs());
    d.extend(c.peer.record(ContentType::Handshake, 1, &fin));
    d
}

/// Non-conforming cookie: a ClientHello whose cookie is not the one the server would compute
/// for it (altered, truncated, oversized, minted for another random, another address, or
/// expired) is treated like one without a cookie (RFC 6347 §4.2.1 "it SHOULD treat it the same
/// as a ClientHello with no cookie"): a fresh HelloVerifyRequest, no ServerHello, no state.
#[test]
fn server_non_conforming_cookies_get_a_new_hello_verify_request() {
    let scert = cert("dtls-server");
    let cfg = server_config(&scert, |b| b);
    // A valid cookie for client random 0xc1 at PEER_ADDR.
    let mut probe = Sut::server(cfg.clone());
    let mut c = HostileClient::new(0xc1);
    let ch = c.hello();
    probe.exchange(&mut c.peer, &ch);
    assert!(c.take_cookie());
    let good = c.cookie.clone();
    let mut flipped = good.clone();
    *flipped.last_mut().expect("cookie") ^= 0x01;
    // (name, cookie, client random, peer address)
    type Variant<'a> = (&'a str, Vec<u8>, [u8; 32], &'a [u8]);
    let mut variants: Vec<Variant> = vec![
        ("flipped", flipped, c.random, PEER_ADDR),
        (
            "truncated",
            good[..good.len() - 1].to_vec(),
            c.random,
            PEER_ADDR,
        ),
        ("extended", [&good[..], &[0]].concat(), c.random, PEER_ADDR),
        ("oversized", vec![0xaa; 255], c.random, PEER_ADDR),
        ("other random", good.clone(), [0x01; 32], PEER_ADDR),
        ("other address", good.clone(), c.random, b"203.0.113.1:4444"),
    ];
    variants.push(("control", good.clone(), c.random, PEER_ADDR));
    for (name, cookie, random, addr) in variants {
        let mut sut = Sut::server(cfg.clone());
        sut.conn.set_peer_address(addr);
        let mut h = HostileClient::new(0);
        h.random = random;
        h.cookie = cookie.clone();
        h.peer.next_msg_seq = 1;
        let body = h.client_hello_body();
        let d = h.peer.hs(H::ClientHello, &body);
        let out = sut.exchange(&mut h.peer, &d);
        if name == "control" {
            assert_eq!(
                server_hellos(&h.peer).len(),
                1,
                "the genuine cookie is accepted"
            );
            continue;
        }
        assert_eq!(out.len(), 1, "{name}: one datagram");
        assert!(server_hellos(&h.peer).is_empty(), "{name}: no ServerHello");
        assert!(h.take_cookie(), "{name}: a HelloVerifyRequest");
        assert_ne!(h.cookie, cookie, "{name}: a fresh cookie");
        assert!(sut.error.is_none() && h.peer.alerts.is_empty(), "{name}");
        // No state was kept: the right cookie for this hello still gets it through.
        let d = h.peer.hs(H::ClientHello, &h.client_hello_body());
        sut.exchange(&mut h.peer, &d);
        assert_eq!(server_hellos(&h.peer).len(), 1, "{name}: then accepted");
    }
    // An expired cookie (two lifetimes later): the stateless front door replies with a new one.
    let door = ServerFrontDoor::new(cfg);
    let mut h = HostileClient::new(0xc1);
    h.cookie = good.clone();
    let d = h.hello();
    let mut out = [0u8; 512];
    assert_eq!(door.prefilter(0, PEER_ADDR, &d, &mut out), Verdict::Accept);
    match door.prefilter(130_000, PEER_ADDR, &d, &mut out) {
        Verdict::Reply(n) => h.peer.absorb(&out[..n]),
        v => panic!("expired cookie: {v:?}"),
    }
    assert!(h.take_cookie() && h.cookie != good);
}

/// Invalid HelloVerifyRequest response, server side: what answers our HelloVerifyRequest must
/// be the same ClientHello with the cookie (RFC 6347 §4.2.1 "the client MUST use the same
/// parameter values"). A changed session_id or version voids the cookie (another
/// HelloVerifyRequest); anything but a ClientHello is dropped without a word: a stateless
/// server has nothing to be unexpected about.
#[test]
fn server_invalid_hello_verify_request_responses() {
    let scert = cert("dtls-server");
    let cfg = server_config(&scert, |b| b);
    let fresh = || {
        let mut sut = Sut::server(cfg.clone());
        let mut c = HostileClient::new(0xc1);
        let ch = c.hello();
        sut.exchange(&mut c.peer, &ch);
        assert!(c.take_cookie());
        (sut, c)
    };
    // Changed session_id / version with the old cookie: a new HelloVerifyRequest.
    for field in ["session_id", "version"] {
        let (mut sut, mut c) = fresh();
        let mut ch = dtls_proto::msgs::handshake::ClientHello::decode(&c.client_hello_body())
            .expect("ClientHello");
        match field {
            "session_id" => ch.session_id = vec![9; 32],
            _ => ch.version = dtls_proto::ProtocolVersion::Dtls10,
        }
        let mut body = Vec::new();
        ch.encode(&mut body);
        let d = c.peer.hs(H::ClientHello, &body);
        let out = sut.exchange(&mut c.peer, &d);
        assert_eq!(out.len(), 1, "{field}");
        assert!(server_hellos(&c.peer).is_empty(), "{field}: no ServerHello");
        assert_eq!(c.peer.received(H::HelloVerifyRequest).len(), 2, "{field}");
    }
    // Not a ClientHello, or not its first fragment: silence and no state.
    for t in [
        H::ServerHello,
        H::ClientKeyExchange,
        H::Certificate,
        H::Finished,
    ] {
        let (mut sut, mut c) = fresh();
        let sent = sut.sent.len();
        let d = c.peer.hs(t, &c.client_hello_body());
        sut.exchange(&mut c.peer, &d);
        assert_silent(&sut, &c.peer, sent);
        let d = c.hello_with_cookie();
        sut.exchange(&mut c.peer, &d);
        assert_eq!(
            server_hellos(&c.peer).len(),
            1,
            "{t:?}: still open for the real one"
        );
    }
    let (mut sut, mut c) = fresh();
    let sent = sut.sent.len();
    let body = c.client_hello_body();
    let mut payload = Vec::new();
    dtls_proto::msgs::handshake::HandshakeHeader {
        msg_type: H::ClientHello,
        length: body.len() as u32,
        msg_seq: 1,
        frag_off: 10,
        frag_len: (body.len() - 10) as u32,
    }
    .encode(&mut payload);
    payload.extend_from_slice(&body[10..]);
    let d = c.peer.record(ContentType::Handshake, 0, &payload);
    sut.exchange(&mut c.peer, &d);
    assert_silent(&sut, &c.peer, sent);
}

/// HelloVerifyRequest retransmission, where the server must keep no state: a ClientHello
/// retransmitted three times gets three HelloVerifyRequests, each echoing the ClientHello's
/// record sequence number and message_seq (RFC 6347 §4.2.1/§4.2.2), all with the same cookie
/// (a function of the hello, not of server state); the server arms no timer for them, and the
/// stateless front door gives the same bytes. The first cookie then works, and the ServerHello
/// reuses the ClientHello's record sequence number (RFC 6347 §4.2.1).
#[test]
fn server_hello_verify_request_retransmission_keeps_no_state() {
    let scert = cert("dtls-server");
    let cfg = server_config(&scert, |b| b);
    let mut sut = Sut::server(cfg.clone());
    let door = ServerFrontDoor::new(cfg);
    let mut c = HostileClient::new(0xc1);
    let body = c.client_hello_body();
    let mut hvrs = Vec::new();
    for rseq in 0..3u64 {
        let d = c.peer.hs_custom(H::ClientHello, 0, &body, 0, false);
        let out = sut.exchange(&mut c.peer, &d);
        assert_eq!(out.len(), 1);
        let recs = records(&out[0]);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].0.seq, rseq, "record sequence number echoed");
        assert_eq!(recs[0].0.epoch, 0);
        let frags = fragments(&recs[0].1);
        assert_eq!(frags.len(), 1);
        assert_eq!(frags[0].0.msg_type, H::HelloVerifyRequest);
        assert_eq!(frags[0].0.msg_seq, 0, "message_seq echoed");
        hvrs.push(HelloVerifyRequest::decode(&frags[0].1).expect("HVR"));
        let mut reply = [0u8; 512];
        match door.prefilter(sut.now, PEER_ADDR, &d, &mut reply) {
            Verdict::Reply(n) => assert_eq!(&reply[..n], &out[0][..], "front door agrees"),
            v => panic!("{v:?}"),
        }
    }
    assert!(
        hvrs.windows(2).all(|w| w[0] == w[1]),
        "same cookie each time"
    );
    assert_eq!(sut.conn.stats().hello_verify_requests, 3);
    assert!(
        sut.advance(&mut c.peer, 3000).is_empty(),
        "no retransmission timer"
    );
    c.cookie = hvrs[0].cookie.clone();
    c.peer.next_msg_seq = 1;
    let d = c.hello_with_cookie();
    let out = sut.exchange(&mut c.peer, &d);
    assert_eq!(server_hellos(&c.peer).len(), 1);
    assert_eq!(
        records(&out[0])[0].0.seq,
        3,
        "ServerHello reuses the record number"
    );
}

/// Crash on ChangeCipherSpec: CCS records (well formed or not) at every stage, in epoch 0 and
/// epoch 1: dropped silently (RFC 6347 §4.1.2.7), never a crash, and the handshake completes.
#[test]
fn server_ccs_anywhere_is_dropped() {
    let variants: [&[u8]; 5] = [&[1], &[], &[2], &[1, 1], &[0]];
    let scert = cert("dtls-server");
    let mut sut = Sut::server(server_config(&scert, |b| b));
    let mut c = HostileClient::new(0xc1);
    let junk = |c: &mut HostileClient| {
        let mut d = Vec::new();
        for v in variants {
            d.extend(c.peer.record(ContentType::ChangeCipherSpec, 0, v));
        }
        d
    };
    let d = junk(&mut c);
    let out = sut.exchange(&mut c.peer, &d);
    assert!(out.is_empty() && sut.error.is_none(), "fresh server");
    let mut d = c.hello();
    d.extend(junk(&mut c));
    sut.exchange(&mut c.peer, &d);
    assert!(c.take_cookie());
    let mut d = junk(&mut c);
    d.extend(c.hello_with_cookie());
    d.extend(junk(&mut c));
    sut.exchange(&mut c.peer, &d);
    c.read_server_flight();
    let mut d = c.client_key_exchange();
    d.extend(junk(&mut c));
    for v in variants {
        d.extend(c.peer.record(ContentType::ChangeCipherSpec, 1, v));
    }
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);
    let mut d = junk(&mut c);
    for v in variants {
        d.extend(c.peer.record(ContentType::ChangeCipherSpec, 1, v));
    }
    sut.exchange(&mut c.peer, &d);
    assert!(sut.error.is_none() && c.peer.alerts.is_empty());
    assert_app_data_flows(&mut sut, &mut c.peer);
}

/// Insecure renegotiation: after the handshake, protected ClientHellos (with and without
/// renegotiation_info, at message_seq 0 as a new handshake starts, and at the next one). We do
/// not renegotiate: a no_renegotiation warning each (RFC 5246 §7.2.2, RFC 5746 §4.4), no
/// ServerHello, and the association carries on.
#[test]
fn server_refuses_renegotiation_with_a_warning() {
    let (mut sut, mut c) = connected_server();
    for (ri, seq) in [(true, 0), (false, 0), (false, 4)] {
        c.renegotiation_info = ri;
        c.random = [seq as u8 + 0x30; 32];
        let body = c.client_hello_body();
        let d = c.peer.hs_custom(H::ClientHello, seq, &body, 1, false);
        let before = c.peer.alerts.len();
        sut.exchange(&mut c.peer, &d);
        assert_eq!(
            c.peer.alerts[before..],
            [(1, Alert::warning(A::NoRenegotiation))],
            "renegotiation_info {ri}, message_seq {seq}"
        );
        assert!(sut.error.is_none() && sut.conn.is_connected());
    }
    assert!(c.peer.received(H::ServerHello).iter().all(|m| m.epoch == 0));
    assert_eq!(server_hellos(&c.peer).len(), 1);
    assert_app_data_flows(&mut sut, &mut c.peer);
}

/// A client that offers neither renegotiation_info nor the SCSV gets no renegotiation_info
/// back (RFC 5746 §3.6) and a normal handshake.
#[test]
fn server_answers_legacy_client_without_renegotiation_info() {
    let scert = cert("dtls-server");
    let mut sut = Sut::server(server_config(&scert, |b| b));
    let mut c = HostileClient::new(0xc1);
    c.renegotiation_info = false;
    let ch = c.hello();
    sut.exchange(&mut c.peer, &ch);
    assert!(c.take_cookie());
    let ch2 = c.hello_with_cookie();
    sut.exchange(&mut c.peer, &ch2);
    c.read_server_flight();
    let sh = ServerHello::decode(&server_hellos(&c.peer)[0]).expect("ServerHello");
    assert!(!sh.extensions.has(ExtensionType::RenegotiationInfo));
    let d = flight5(&mut c);
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected());
}

/// Invalid decrypt_error alert: decrypt_error is for a failed signature or Finished check
/// (RFC 5246 §7.2.2) and nothing else. An out-of-order plaintext Finished is discarded without
/// an alert; records that fail authentication, during or after the handshake, are dropped
/// without any alert (RFC 6347 §4.1.2.7); a bad key share is illegal_parameter.
#[test]
fn server_sends_decrypt_error_only_for_failed_verification() {
    // Out-of-order Finished (epoch 0, where ClientKeyExchange is due).
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let d = c.peer.hs_custom(H::Finished, 2, &[0u8; 12], 0, false);
    sut.exchange(&mut c.peer, &d);
    assert_dropped(&sut, &c.peer);

    // A Finished in plaintext where the protected one is due; the protected one then completes.
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let mut d = c.client_key_exchange();
    let body = c.finished_body();
    d.extend(c.peer.hs_custom(H::Finished, 3, &body, 0, false));
    sut.exchange(&mut c.peer, &d);
    assert_dropped(&sut, &c.peer);
    let mut d = c.peer.ccs();
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);

    // Undecryptable records during and after the handshake.
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let cke = c.client_key_exchange();
    sut.exchange(&mut c.peer, &cke);
    let mut forged = c.peer.app_data(b"forged");
    *forged.last_mut().expect("tag") ^= 0x80;
    let mut forged_fin = c.peer.hs_custom(H::Finished, 3, &[0; 12], 1, false);
    *forged_fin.last_mut().expect("tag") ^= 0x80;
    let mut d = forged.clone();
    d.extend(forged_fin);
    sut.exchange(&mut c.peer, &d);
    assert!(sut.error.is_none() && c.peer.alerts.is_empty());
    let mut d = c.peer.ccs();
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);
    let mut forged = c.peer.app_data(b"forged");
    *forged.last_mut().expect("tag") ^= 0x80;
    sut.exchange(&mut c.peer, &forged);
    assert!(sut.error.is_none() && c.peer.alerts.is_empty());
    assert!(sut.conn.stats().dropped.auth_failed >= 3);

    // A key share that is not a usable point (X25519's all-zero, low order): illegal_parameter.
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let mut zero_point = vec![32u8];
    zero_point.extend([0u8; 32]);
    let d = c.peer.hs(H::ClientKeyExchange, &zero_point);
    sut.exchange(&mut c.peer, &d);
    assert_fatal(&sut, &c.peer, A::IllegalParameter);
}

/// Internal error on Finished: a malformed or misplaced Finished is the peer's fault, never an
/// internal_error (RFC 5246 §7.2.2: "unrelated to the peer or the correctness of the
/// protocol"). Wrong lengths fail with decode_error or decrypt_error (implementations differ;
/// both are the peer's), and no handshake completes.
#[test]
fn server_malformed_finished_is_never_internal_error() {
    for len in [0usize, 1, 11, 13, 64] {
        let (mut sut, mut c) = server_at_flight5(|b| b);
        let mut d = c.client_key_exchange();
        d.extend(c.peer.ccs());
        d.extend(c.peer.hs_in(H::Finished, &vec![0x5a; len], 1));
        sut.exchange(&mut c.peer, &d);
        let err = sut.error.clone().expect("fails");
        let alert = err.alert().expect("an alert");
        assert!(
            alert == A::DecodeError || alert == A::DecryptError,
            "length {len}: {err:?}"
        );
        assert_fatal(&sut, &c.peer, alert);
    }
}

/// Invalid handshake start: a first message that is not a ClientHello (with cookies on or off)
/// is dropped silently by a server that holds no state yet (RFC 6347 §4.2.1, §4.1.2.7), and a
/// proper handshake on the same association then completes.
#[test]
fn server_ignores_a_handshake_not_starting_with_client_hello() {
    let scert = cert("dtls-server");
    for cookies in [true, false] {
        let cfg = server_config(&scert, |b| b.cookie_exchange(cookies));
        for t in [
            H::HelloRequest,
            H::ServerHello,
            H::HelloVerifyRequest,
            H::Certificate,
            H::ServerKeyExchange,
            H::ServerHelloDone,
            H::CertificateVerify,
            H::ClientKeyExchange,
            H::Finished,
            H::Unknown(99),
        ] {
            let mut sut = Sut::server(cfg.clone());
            let mut c = HostileClient::new(0xc1);
            let d = c.peer.hs(t, &c.client_hello_body());
            let mut d2 = c.peer.hs_custom(t, 1, &[0; 12], 0, false);
            d2.extend(c.peer.record(ContentType::ApplicationData, 0, b"early"));
            sut.exchange(&mut c.peer, &d);
            sut.exchange(&mut c.peer, &d2);
            assert_silent(&sut, &c.peer, 0);
            c.peer.next_msg_seq = 0;
            c.peer.transcript.clear();
            if cookies {
                let ch = c.hello();
                sut.exchange(&mut c.peer, &ch);
                assert!(c.take_cookie());
            }
            let ch = c.hello_with_cookie();
            sut.exchange(&mut c.peer, &ch);
            c.read_server_flight();
            let d = flight5(&mut c);
            sut.exchange(&mut c.peer, &d);
            assert!(sut.connected(), "{t:?} cookies={cookies}: {:?}", sut.error);
        }
    }
}

/// Multiple Certificate: a second client Certificate where ClientKeyExchange is due (RFC 5246
/// §7.4) is discarded, and the rest waits behind the gap: no completion.
#[test]
fn server_multiple_certificates_never_complete() {
    let (mut sut, mut c, ccert) = client_auth_server();
    let mut d = c.certificate(ccert.chain());
    d.extend(c.certificate(ccert.chain()));
    d.extend(c.client_key_exchange());
    d.extend(c.certificate_verify(&ccert));
    d.extend(c.peer.ccs());
    d.extend(c.finished());
    sut.exchange(&mut c.peer, &d);
    assert_dropped_and_stalls(&mut sut, &mut c.peer, A::UnexpectedMessage);
}

/// Continuing after close_notify, server side: after the client's close_notify the server
/// answers with its own (RFC 5246 §7.2.1 "MUST respond with a close_notify alert of its own"),
/// and "any data received after a closure alert is ignored": application data in the same
/// datagram and later, and a retransmitted Finished, change nothing; the server sends nothing
/// more and refuses to send.
#[test]
fn server_ignores_everything_after_close_notify() {
    let (mut sut, mut c) = connected_server();
    let mut d = c.peer.alert(AlertLevel::Warning, A::CloseNotify, 1);
    d.extend(c.peer.app_data(b"after close (same datagram)"));
    sut.exchange(&mut c.peer, &d);
    assert_eq!(
        sut.events
            .iter()
            .filter(|e| **e == Event::CloseNotify)
            .count(),
        1
    );
    assert_eq!(c.peer.alerts, [(1, Alert::warning(A::CloseNotify))]);
    assert!(sut.conn.is_closed());
    let sent = sut.sent.len();
    let mut d = c.peer.app_data(b"after close");
    d.extend(c.peer.alert(AlertLevel::Warning, A::CloseNotify, 1));
    sut.now += 1000;
    sut.exchange(&mut c.peer, &d);
    let mut buf = [0u8; 64];
    assert_eq!(sut.conn.recv(&mut buf).expect("recv"), None);
    assert_eq!(sut.sent.len(), sent, "nothing sent after closing");
    assert_eq!(sut.conn.send(b"x"), Err(Error::Closed));
    assert!(sut.error.is_none());
}

/// Continuing after close_notify, the handshake layer: a retransmitted flight 5 arriving after
/// the client's close_notify is "data received after a closure alert" (RFC 5246 §7.2.1) and must
/// be ignored; the closed server must not answer it with its flight 6 again.
#[test]
fn server_closed_by_peer_does_not_retransmit_flight6() {
    let (mut sut, mut c) = connected_server();
    let d = c.peer.alert(AlertLevel::Warning, A::CloseNotify, 1);
    sut.exchange(&mut c.peer, &d);
    assert!(sut.conn.is_closed());
    let finished = c.peer.received(H::Finished).len();
    let sent = sut.sent.len();
    sut.now += 1000;
    let d = flight5_replay(&mut c);
    sut.exchange(&mut c.peer, &d);
    assert_eq!(
        c.peer.received(H::Finished).len(),
        finished,
        "flight 6 sent again"
    );
    // Any old handshake message does it, e.g. a (renegotiating) ClientHello.
    sut.now += 1000;
    let d = c
        .peer
        .hs_custom(H::ClientHello, 0, &c.client_hello_body(), 1, false);
    sut.exchange(&mut c.peer, &d);
    assert_eq!(sut.sent.len(), sent, "nothing sent after closing");
}

/// Continuing after a fatal alert, server side. An authenticated fatal alert during the
/// handshake ends it (RFC 5246 §7.2.2 "Upon transmission or receipt of a fatal alert message,
/// both parties immediately close the connection"): a correct Finished afterwards is refused
/// and nothing is sent back. After the handshake likewise: later data is not delivered.
#[test]
fn server_stops_after_an_authenticated_fatal_alert() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let mut d = c.client_key_exchange();
    d.extend(c.peer.alert(AlertLevel::Fatal, A::HandshakeFailure, 1));
    sut.exchange(&mut c.peer, &d);
    assert_eq!(sut.error, Some(Error::AlertReceived(A::HandshakeFailure)));
    assert_eq!(sut.failed(), sut.error.as_ref());
    let mut d = c.peer.ccs();
    d.extend(c.finished());
    assert!(sut.deliver(&d).is_err());
    sut.flush(&mut c.peer);
    assert!(!sut.connected());
    assert!(c.peer.received(H::Finished).is_empty() && c.peer.alerts.is_empty());

    let (mut sut, mut c) = connected_server();
    let mut d = c.peer.alert(AlertLevel::Fatal, A::InternalError, 1);
    d.extend(c.peer.app_data(b"after the alert"));
    sut.exchange(&mut c.peer, &d);
    assert_eq!(sut.error, Some(Error::AlertReceived(A::InternalError)));
    let d = c.peer.app_data(b"later");
    assert!(sut.deliver(&d).is_err());
    let mut buf = [0u8; 64];
    assert_eq!(sut.conn.recv(&mut buf).expect("recv"), None);
    assert!(sut.conn.send(b"x").is_err());
}

/// A plaintext (epoch 0) fatal alert during the handshake is unauthenticated: anyone can forge
/// it on UDP (RFC 6347 §4.1.2.7 on forgery), so by design it is only remembered as the likely
/// reason. The handshake goes on and completes; had it stalled, the timeout reports the alert.
#[test]
fn server_plaintext_fatal_alert_is_only_a_likely_reason() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let mut d = c.peer.alert(AlertLevel::Fatal, A::HandshakeFailure, 0);
    d.extend(flight5(&mut c));
    sut.exchange(&mut c.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);

    let (mut sut, mut c) = server_at_flight5(|b| b);
    let d = c.peer.alert(AlertLevel::Fatal, A::HandshakeFailure, 0);
    sut.exchange(&mut c.peer, &d);
    sut.run_out_clock(&mut c.peer);
    assert_eq!(
        sut.error,
        Some(Error::HandshakeTimeout {
            likely_reason: Some(A::HandshakeFailure)
        })
    );
}

/// Invalid message_seq, server side: a flight 5 whose messages are numbered past a gap is held
/// (RFC 6347 §4.2.2: "SHOULD queue the message"), not processed; numbered far ahead it is
/// discarded. Either way nothing completes and the deadline ends the handshake.
#[test]
fn server_invalid_message_seq_is_queued_or_discarded_never_processed_early() {
    // A gap: ClientKeyExchange numbered 3 and Finished 4, with nothing at 2.
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let cke = c.client_key_exchange();
    let fin_body = c.finished_body();
    let (h, cke_body) = fragments(&records(&cke)[0].1).remove(0);
    let mut shifted = c
        .peer
        .hs_custom(h.msg_type, h.msg_seq + 1, &cke_body, 0, false);
    shifted.extend(c.peer.ccs());
    shifted.extend(c.peer.hs_custom(H::Finished, 4, &fin_body, 1, false));
    let out = sut.exchange(&mut c.peer, &shifted);
    assert!(out.is_empty() && sut.error.is_none() && !sut.connected());

    // Far ahead: dropped outright.
    let far = c
        .peer
        .hs_custom(H::ClientKeyExchange, 500, &[1, 4], 0, false);
    sut.exchange(&mut c.peer, &far);
    assert!(sut.error.is_none() && !sut.connected());
    // The timeout, not a premature completion, ends it.
    sut.run_out_clock(&mut c.peer);
    assert!(!sut.connected());
    assert!(matches!(sut.error, Some(Error::HandshakeTimeout { .. })));
    assert!(c.peer.received(H::Finished).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Client side.

/// No ServerKeyExchange: an ECDHE suite needs one (RFC 8422 §5.4, RFC 5246 §7.4.3). The
/// plaintext ServerHelloDone in its place is discarded: no flight 5, a timeout (likely reason
/// unexpected_message).
#[test]
fn client_missing_server_key_exchange_never_completes() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let mut d = s.server_hello();
    d.extend(s.certificate());
    d.extend(s.server_hello_done());
    sut.exchange(&mut s.peer, &d);
    assert_dropped_and_stalls(&mut sut, &mut s.peer, A::UnexpectedMessage);
    assert!(s.peer.received(H::ClientKeyExchange).is_empty());
}

/// Several ServerKeyExchange: a second one where CertificateRequest or ServerHelloDone is due is
/// discarded (the first one's key share stays), and what follows waits behind the gap.
#[test]
fn client_second_server_key_exchange_never_completes() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let mut d = s.server_hello();
    d.extend(s.certificate());
    d.extend(s.server_key_exchange());
    d.extend(s.server_key_exchange());
    d.extend(s.server_hello_done());
    sut.exchange(&mut s.peer, &d);
    assert_dropped_and_stalls(&mut sut, &mut s.peer, A::UnexpectedMessage);
    assert!(s.peer.received(H::ClientKeyExchange).is_empty());
}

/// Several CertificateRequest: a second one where ServerHelloDone is due is discarded, and what
/// follows waits behind the gap.
#[test]
fn client_second_certificate_request_never_completes() {
    let ccert = cert("dtls-client");
    let (mut sut, mut s) = client_at_hello(|b| b.certificate(ccert));
    let mut d = s.server_hello();
    d.extend(s.certificate());
    d.extend(s.server_key_exchange());
    d.extend(s.certificate_request());
    d.extend(s.certificate_request());
    d.extend(s.server_hello_done());
    sut.exchange(&mut s.peer, &d);
    assert_dropped_and_stalls(&mut sut, &mut s.peer, A::UnexpectedMessage);
    assert!(s.peer.received(H::Certificate).is_empty());
}

/// ServerHello flight restarted after flight 5: a whole new flight 4 (new random, new key
/// share) numbered from 0 again. Those message_seqs were processed already: RFC 6347 §4.2.2
/// "MUST be discarded", at most prompting flight 5 again (§4.2.4), unchanged, with no new key
/// share; the genuine server Finished then completes.
#[test]
fn client_restarted_server_hello_flight_is_not_followed() {
    let (mut sut, mut s) = client_at_flight6();
    let first_cke = s.peer.received(H::ClientKeyExchange)[0].body.clone();
    let mut evil = HostileServer::new(s.cert.clone(), 0x66);
    evil.client_random = s.client_random;
    evil.ems = s.ems;
    let restarted = [
        (H::ServerHello, evil.server_hello_body()),
        (H::Certificate, certificate_body(&s.cert)),
        (H::ServerKeyExchange, evil.server_key_exchange_body()),
        (H::ServerHelloDone, Vec::new()),
    ];
    let mut d = Vec::new();
    for (seq, (t, body)) in restarted.iter().enumerate() {
        d.extend(s.peer.hs_custom(*t, seq as u16, body, 0, false));
    }
    sut.now += 1000;
    sut.exchange(&mut s.peer, &d);
    assert!(sut.error.is_none(), "{:?}", sut.error);
    let ckes = s.peer.received(H::ClientKeyExchange);
    assert!(ckes.len() >= 2, "flight 5 sent again");
    assert!(ckes.iter().all(|m| m.body == first_cke), "no new key share");
    assert!(
        s.peer.received(H::ClientHello).len() == 1,
        "no new ClientHello"
    );
    let d = s.ccs_finished();
    sut.exchange(&mut s.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);
}

/// ServerHello flight restarted at the next message_seq, where Finished is due or in the middle
/// of flight 4: out of order, discarded without a state change: the genuine messages under the
/// same numbers complete the handshake.
#[test]
fn client_server_hello_out_of_place_is_dropped() {
    let (mut sut, mut s) = client_at_flight6();
    let d = s
        .peer
        .hs_custom(H::ServerHello, 4, &s.server_hello_body(), 0, false);
    sut.exchange(&mut s.peer, &d);
    assert_dropped(&sut, &s.peer);
    let d = s.ccs_finished();
    sut.exchange(&mut s.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);

    let (mut sut, mut s) = client_at_hello(|b| b);
    let mut d = s.server_hello();
    d.extend(s.certificate());
    d.extend(
        s.peer
            .hs_custom(H::ServerHello, 2, &s.server_hello_body(), 0, false),
    );
    sut.exchange(&mut s.peer, &d);
    assert_dropped(&sut, &s.peer);
    let mut d = s.server_key_exchange();
    d.extend(s.server_hello_done());
    sut.exchange(&mut s.peer, &d);
    assert!(s.read_client_flight());
    let d = s.ccs_finished();
    sut.exchange(&mut s.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);
}

/// Finished before ChangeCipherSpec, client side: the server's Finished with no CCS before it
/// (RFC 5246 §7.4.9) must not complete the handshake.
#[test]
fn client_finished_without_ccs_never_completes() {
    let (mut sut, mut s) = client_at_flight6();
    let body = s
        .peer
        .keys
        .as_ref()
        .expect("keys")
        .verify_data(false, &s.peer.transcript);
    let d = s.peer.hs_in(H::Finished, &body, 1);
    sut.exchange(&mut s.peer, &d);
    sut.run_out_clock(&mut s.peer);
    assert!(
        !sut.connected(),
        "completed without the server's ChangeCipherSpec"
    );
}

/// The legitimate side, client: a server Finished that overtakes its CCS is held and completes
/// the handshake once the CCS arrives (RFC 6347 §4.1).
#[test]
fn client_finished_reordered_before_ccs_completes() {
    let (mut sut, mut s) = client_at_flight6();
    let ccs = s.peer.ccs();
    let body = s
        .peer
        .keys
        .as_ref()
        .expect("keys")
        .verify_data(false, &s.peer.transcript);
    let fin = s.peer.hs_in(H::Finished, &body, 1);
    sut.exchange(&mut s.peer, &fin);
    assert!(!sut.connected(), "not before the CCS");
    sut.exchange(&mut s.peer, &ccs);
    assert!(sut.connected(), "{:?}", sut.error);
    assert!(s.peer.alerts.is_empty());
}

/// Unrequested Certificate, our client's side: a client holding a certificate sends none unless
/// the server asked (RFC 5246 §7.4.6 "only sent if the server requests a certificate"), so
/// flight 5 is ClientKeyExchange, CCS, Finished; and it authenticates when asked.
#[test]
fn client_sends_no_certificate_unless_requested() {
    let ccert = cert("dtls-client");
    let (mut sut, mut s) = client_at_hello(|b| b.certificate(ccert.clone()));
    let f4 = s.flight4(false);
    let f5 = sut.exchange(&mut s.peer, &f4);
    assert_eq!(plaintext_handshake_types(&f5), [H::ClientKeyExchange]);
    assert!(s.read_client_flight());

    let (mut sut, mut s) = client_at_hello(|b| b.certificate(ccert.clone()));
    let f4 = s.flight4(true);
    let f5 = sut.exchange(&mut s.peer, &f4);
    assert_eq!(
        plaintext_handshake_types(&f5),
        [H::Certificate, H::ClientKeyExchange, H::CertificateVerify]
    );
    assert!(s.read_client_flight());
    let d = s.ccs_finished();
    sut.exchange(&mut s.peer, &d);
    assert!(sut.connected());
}

/// Unrequested (out-of-place) and multiple server Certificates: a Certificate where
/// ServerKeyExchange or ServerHelloDone is due is discarded, and what follows waits behind the
/// gap: no flight 5.
#[test]
fn client_server_certificate_out_of_place_never_completes() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let mut d = s.server_hello();
    d.extend(s.certificate());
    d.extend(s.certificate());
    sut.exchange(&mut s.peer, &d);
    assert_dropped_and_stalls(&mut sut, &mut s.peer, A::UnexpectedMessage);

    let (mut sut, mut s) = client_at_hello(|b| b);
    let mut d = s.server_hello();
    d.extend(s.certificate());
    d.extend(s.server_key_exchange());
    d.extend(s.certificate());
    d.extend(s.server_hello_done());
    sut.exchange(&mut s.peer, &d);
    assert_dropped_and_stalls(&mut sut, &mut s.peer, A::UnexpectedMessage);
    assert!(s.peer.received(H::ClientKeyExchange).is_empty());
}

/// Retransmitted flight 5: on its timer, and when the server repeats flight 4, the client sends
/// flight 5 again whole and unchanged (RFC 6347 §4.2.4: same messages and message_seqs, the CCS
/// included, Finished with the same verify_data) in new records; then it completes. Once
/// complete, a late flight 4 does not move it.
#[test]
fn client_retransmits_flight5_whole_and_unchanged() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let f4 = s.flight4(false);
    let first = sut.exchange(&mut s.peer, &f4);
    assert!(s.read_client_flight());
    let summary = |peer: &Peer, from: usize| -> Vec<(H, u16, u16, Vec<u8>)> {
        peer.messages[from..]
            .iter()
            .map(|m| (m.msg_type, m.msg_seq, m.epoch, m.body.clone()))
            .collect()
    };
    let want = summary(&s.peer, 1);
    assert_eq!(want.len(), 2, "CKE and Finished");
    let n = s.peer.messages.len();
    let timer = sut.advance(&mut s.peer, 1000);
    assert!(!timer.is_empty(), "timer retransmission");
    assert_eq!(summary(&s.peer, n), want);
    assert_eq!(s.peer.ccs, [0, 0], "the CCS is part of the flight");
    let seqs = |ds: &[Vec<u8>]| -> Vec<(u16, u64)> {
        ds.iter()
            .flat_map(|d| records(d))
            .map(|(h, _)| (h.epoch, h.seq))
            .collect()
    };
    assert!(
        seqs(&timer).iter().all(|s| !seqs(&first).contains(s)),
        "new records"
    );
    let n = s.peer.messages.len();
    sut.now += 1000;
    sut.exchange(&mut s.peer, &f4);
    assert_eq!(
        summary(&s.peer, n),
        want,
        "flight 4 repeated: flight 5 again"
    );
    let d = s.ccs_finished();
    sut.exchange(&mut s.peer, &d);
    assert!(sut.connected());
    sut.now += 1000;
    let late = sut.exchange(&mut s.peer, &f4);
    assert!(late.is_empty() && sut.error.is_none() && sut.conn.is_connected());
}

/// Invalid message_seq, client side: a flight 4 numbered from 1 (a gap at 0) is queued and
/// processed only when ServerHello 0 arrives (RFC 6347 §4.2.2); one numbered far ahead is
/// discarded and the handshake times out rather than proceed.
#[test]
fn client_invalid_message_seq_is_queued_or_discarded() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let sh = s.server_hello();
    let mut rest = s.certificate();
    rest.extend(s.server_key_exchange());
    rest.extend(s.server_hello_done());
    let out = sut.exchange(&mut s.peer, &rest);
    assert!(out.is_empty() && sut.error.is_none(), "held, not processed");
    let f5 = sut.exchange(&mut s.peer, &sh);
    assert!(!f5.is_empty());
    assert!(s.read_client_flight());
    let d = s.ccs_finished();
    sut.exchange(&mut s.peer, &d);
    assert!(sut.connected());

    let (mut sut, mut s) = client_at_hello(|b| b);
    let mut d = Vec::new();
    let bodies = [
        (H::ServerHello, s.server_hello_body()),
        (H::Certificate, certificate_body(&s.cert)),
        (H::ServerKeyExchange, s.server_key_exchange_body()),
        (H::ServerHelloDone, Vec::new()),
    ];
    for (i, (t, b)) in bodies.iter().enumerate() {
        d.extend(s.peer.hs_custom(*t, 100 + i as u16, b, 0, false));
    }
    sut.exchange(&mut s.peer, &d);
    sut.run_out_clock(&mut s.peer);
    assert!(!sut.connected());
    assert!(matches!(sut.error, Some(Error::HandshakeTimeout { .. })));
    assert!(s.peer.received(H::ClientKeyExchange).is_empty());
    assert!(s.peer.alerts.is_empty());
}

/// Invalid HelloVerifyRequest response, client side: our answer to a HelloVerifyRequest is the
/// same ClientHello with the cookie (RFC 6347 §4.2.1 "MUST use the same parameter values"), with
/// the next message_seq (§4.2.2 example: seq=1) in a new record; a second HelloVerifyRequest
/// with another cookie gets the same again (§4.2.1 "Clients SHOULD handle this"), and the
/// handshake then completes over the last ClientHello's transcript.
#[test]
fn client_answers_hello_verify_requests_with_the_same_hello() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let first = s.client_hello.clone().expect("ClientHello");
    for (i, cookie) in [vec![0xc0; 20], vec![0x0c; 32]].into_iter().enumerate() {
        // A second HelloVerifyRequest is followed only after a pause (the engine rate-limits
        // them: they are unauthenticated).
        sut.now += 1000;
        let hvr = s.hello_verify_request(&cookie);
        let out = sut.exchange(&mut s.peer, &hvr);
        assert_eq!(out.len(), 1);
        s.read_client_hello();
        let ch = s.client_hello.clone().expect("ClientHello");
        assert_eq!(ch.cookie, cookie);
        assert_eq!(
            dtls_proto::msgs::handshake::ClientHello {
                cookie: Vec::new(),
                ..ch
            },
            first,
            "all but the cookie unchanged"
        );
        let m = s
            .peer
            .received(H::ClientHello)
            .pop()
            .expect("hello")
            .clone();
        assert_eq!(m.msg_seq, i as u16 + 1);
        assert_eq!(records(&out[0])[0].0.seq, i as u64 + 1);
    }
    // A stateless server echoes the ClientHello's message_seq, so its ServerHello is number 2.
    assert_eq!(s.peer.next_msg_seq, 2);
    let f4 = s.flight4(false);
    sut.exchange(&mut s.peer, &f4);
    assert!(s.read_client_flight());
    let d = s.ccs_finished();
    sut.exchange(&mut s.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);
}

/// A HelloVerifyRequest after the ServerHello is out of order: discarded, and the genuine
/// Certificate under its message_seq carries on to completion.
#[test]
fn client_hello_verify_request_after_server_hello_is_dropped() {
    let (mut sut, mut s) = client_at_hello(|b| b);
    let mut d = s.server_hello();
    let mut body = Vec::new();
    HelloVerifyRequest {
        version: dtls_proto::ProtocolVersion::Dtls10,
        cookie: vec![1; 16],
    }
    .encode(&mut body);
    d.extend(s.peer.hs_custom(H::HelloVerifyRequest, 1, &body, 0, false));
    let out = sut.exchange(&mut s.peer, &d);
    assert!(out.is_empty(), "no new ClientHello");
    assert_dropped(&sut, &s.peer);
    let mut d = s.certificate();
    d.extend(s.server_key_exchange());
    d.extend(s.server_hello_done());
    sut.exchange(&mut s.peer, &d);
    assert!(s.read_client_flight());
    let d = s.ccs_finished();
    sut.exchange(&mut s.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);
}

/// Invalid handshake start, client side: a server flight that does not begin with ServerHello
/// (or HelloVerifyRequest) is out of order: discarded, and the genuine ServerHello under the
/// same message_seq then starts the handshake.
#[test]
fn client_flight_not_starting_with_server_hello_is_dropped() {
    for t in [
        H::Certificate,
        H::ServerKeyExchange,
        H::ServerHelloDone,
        H::Finished,
        H::ClientHello,
        H::HelloRequest,
    ] {
        let (mut sut, mut s) = client_at_hello(|b| b);
        let d = s.peer.hs_custom(t, 0, &[], 0, false);
        sut.exchange(&mut s.peer, &d);
        assert_dropped(&sut, &s.peer);
        let f4 = s.flight4(false);
        sut.exchange(&mut s.peer, &f4);
        assert!(s.read_client_flight(), "{t:?}");
        let d = s.ccs_finished();
        sut.exchange(&mut s.peer, &d);
        assert!(sut.connected(), "{t:?}: {:?}", sut.error);
    }
}

/// Crash on ChangeCipherSpec, client side: CCS records of every shape at every stage are dropped
/// silently, and the handshake completes.
#[test]
fn client_ccs_anywhere_is_dropped() {
    let variants: [&[u8]; 5] = [&[1], &[], &[2], &[1, 1], &[0]];
    let (mut sut, mut s) = client_at_hello(|b| b);
    let junk = |s: &mut HostileServer, epoch: u16| {
        let mut d = Vec::new();
        for v in variants {
            d.extend(s.peer.record(ContentType::ChangeCipherSpec, epoch, v));
        }
        d
    };
    let d = junk(&mut s, 0);
    assert!(sut.exchange(&mut s.peer, &d).is_empty());
    let mut d = s.server_hello();
    d.extend(junk(&mut s, 0));
    d.extend(s.certificate());
    d.extend(s.server_key_exchange());
    d.extend(junk(&mut s, 0));
    d.extend(s.server_hello_done());
    sut.exchange(&mut s.peer, &d);
    assert!(s.read_client_flight());
    let mut d = junk(&mut s, 0);
    d.extend(junk(&mut s, 1));
    d.extend(s.ccs_finished());
    d.extend(junk(&mut s, 1));
    sut.exchange(&mut s.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);
    assert!(s.peer.alerts.is_empty());
    assert_app_data_flows(&mut sut, &mut s.peer);
}

/// Insecure renegotiation, client side: a protected HelloRequest after the handshake gets a
/// no_renegotiation warning (RFC 5746 §4.2 "Clients that do so MUST respond to such requests
/// with a no_renegotiation alert", RFC 5246 §7.2.2), no ClientHello, and the association goes on.
#[test]
fn client_refuses_hello_request_with_a_warning() {
    let (mut sut, mut s) = connected_client();
    let d = s.peer.hs_custom(H::HelloRequest, 0, &[], 1, false);
    sut.exchange(&mut s.peer, &d);
    assert_eq!(s.peer.alerts, [(1, Alert::warning(A::NoRenegotiation))]);
    assert_eq!(s.peer.received(H::ClientHello).len(), 1);
    assert!(sut.error.is_none() && sut.conn.is_connected());
    assert_app_data_flows(&mut sut, &mut s.peer);
}

/// Continuing after close_notify, client side (RFC 5246 §7.2.1).
#[test]
fn client_ignores_everything_after_close_notify() {
    let (mut sut, mut s) = connected_client();
    let mut d = s.peer.alert(AlertLevel::Warning, A::CloseNotify, 1);
    d.extend(s.peer.app_data(b"after close"));
    sut.exchange(&mut s.peer, &d);
    assert!(sut.events.contains(&Event::CloseNotify));
    assert_eq!(s.peer.alerts, [(1, Alert::warning(A::CloseNotify))]);
    let sent = sut.sent.len();
    let mut d = s.peer.app_data(b"later");
    d.extend(s.peer.hs_custom(H::HelloRequest, 0, &[], 1, false));
    sut.exchange(&mut s.peer, &d);
    let mut buf = [0u8; 64];
    assert_eq!(sut.conn.recv(&mut buf).expect("recv"), None);
    assert_eq!(sut.sent.len(), sent, "nothing sent after closing");
    assert_eq!(sut.conn.send(b"x"), Err(Error::Closed));
}

/// Continuing after a fatal alert, client side: an authenticated fatal alert while the client
/// waits for Finished ends the handshake; the genuine Finished afterwards is refused.
#[test]
fn client_stops_after_an_authenticated_fatal_alert() {
    let (mut sut, mut s) = client_at_flight6();
    let d = s.peer.alert(AlertLevel::Fatal, A::BadCertificate, 1);
    sut.exchange(&mut s.peer, &d);
    assert_eq!(sut.error, Some(Error::AlertReceived(A::BadCertificate)));
    let d = s.ccs_finished();
    assert!(sut.deliver(&d).is_err());
    sut.flush(&mut s.peer);
    assert!(!sut.connected());
    assert!(s.peer.alerts.is_empty(), "no alert in answer to an alert");
}

/// Invalid decrypt_error alert, client side: decrypt_error for a ServerKeyExchange signature or
/// a Finished that does not verify, nothing else. Forged protected records while the client
/// waits for Finished, and an out-of-order plaintext message, are dropped silently (RFC 6347
/// §4.1.2.7).
#[test]
fn client_sends_decrypt_error_only_for_failed_verification() {
    let (mut sut, mut s) = client_at_flight6();
    let mut forged = s.peer.app_data(b"forged");
    *forged.last_mut().expect("tag") ^= 0x80;
    let mut forged_fin = s.peer.hs_custom(H::Finished, 4, &[0; 12], 1, false);
    *forged_fin.last_mut().expect("tag") ^= 0x80;
    forged.extend(forged_fin);
    sut.exchange(&mut s.peer, &forged);
    assert!(sut.error.is_none() && s.peer.alerts.is_empty());
    let d = s.ccs_finished();
    sut.exchange(&mut s.peer, &d);
    assert!(sut.connected(), "{:?}", sut.error);

    // ServerKeyExchange signed by a key other than the certificate's.
    let (mut sut, mut s) = client_at_hello(|b| b);
    let mut d = s.server_hello();
    d.extend(s.certificate());
    s.cert = cert("mallory");
    d.extend(s.server_key_exchange());
    d.extend(s.server_hello_done());
    sut.exchange(&mut s.peer, &d);
    assert_fatal(&sut, &s.peer, A::DecryptError);
    assert!(matches!(sut.error, Some(Error::BadSignature)));

    // A plaintext Finished where ServerKeyExchange is due: discarded, no alert at all.
    let (mut sut, mut s) = client_at_hello(|b| b);
    let mut d = s.server_hello();
    d.extend(s.certificate());
    d.extend(s.peer.hs_custom(H::Finished, 2, &[0; 12], 0, false));
    sut.exchange(&mut s.peer, &d);
    assert_dropped(&sut, &s.peer);
}

/// Internal error on Finished, client side: a malformed server Finished is decode_error or
/// decrypt_error, never internal_error, and no completion.
#[test]
fn client_malformed_finished_is_never_internal_error() {
    for len in [0usize, 11, 13, 48] {
        let (mut sut, mut s) = client_at_flight6();
        let mut d = s.peer.ccs();
        d.extend(s.peer.hs_in(H::Finished, &vec![0xa5; len], 1));
        sut.exchange(&mut s.peer, &d);
        let err = sut.error.clone().expect("fails");
        let alert = err.alert().expect("an alert");
        assert!(
            alert == A::DecodeError || alert == A::DecryptError,
            "length {len}: {err:?}"
        );
        assert_fatal(&sut, &s.peer, alert);
    }
}

// ---------------------------------------------------------------------------------------------
// Where the alerts go.

/// A side that fails before it sent its own ChangeCipherSpec has no current write keys: "Alert
/// messages are encrypted and compressed, as specified by the current connection state" (RFC
/// 5246 §7.2), and the write state changes only once the CCS is sent (§7.1; RFC 6347 §4.1: the
/// epoch is incremented when a ChangeCipherSpec is sent). So its fatal alert must be plaintext
/// in epoch 0, which the peer can read; in epoch 1 a peer that has not switched (OpenSSL, for
/// one, buffers next-epoch records until the CCS it will never get) never sees it.
///
/// Server: a bad client Finished, which arrives before the server's CCS.
#[test]
fn server_alert_before_its_ccs_is_plaintext() {
    let (mut sut, mut c) = server_at_flight5(|b| b);
    let mut d = c.client_key_exchange();
    d.extend(c.peer.ccs());
    let mut bad = c.finished_body();
    bad[0] ^= 1;
    d.extend(c.peer.hs_in(H::Finished, &bad, 1));
    sut.exchange(&mut c.peer, &d);
    assert_eq!(c.peer.fatal_alerts(), [(0, A::DecryptError)]);
}

/// The control: once the client's flight 5 (with its CCS) is out, its alerts are in epoch 1.
#[test]
fn client_alert_after_its_ccs_is_protected() {
    let (mut sut, mut s) = client_at_flight6();
    // With the server's CCS first: a Finished without one is held, not judged.
    let mut d = s.peer.ccs();
    d.extend(s.peer.hs_in(H::Finished, &[0; 12], 1));
    sut.exchange(&mut s.peer, &d);
    assert_eq!(s.peer.fatal_alerts(), [(1, A::DecryptError)]);
}

/// Alerts of a server that fails before ClientKeyExchange are plaintext: an empty Certificate
/// where one is required (handshake_failure, RFC 5246 §7.4.6).
#[test]
fn server_alert_before_key_exchange_is_plaintext() {
    let (mut sut, mut c, _) = client_auth_server();
    let mut d = c.certificate(&[]);
    d.extend(flight5(&mut c));
    sut.exchange(&mut c.peer, &d);
    assert_eq!(c.peer.fatal_alerts(), [(0, A::HandshakeFailure)]);
    let alert_records: Vec<&Rec> = c
        .peer
        .records
        .iter()
        .filter(|r| r.content_type == ContentType::Alert)
        .collect();
    assert_eq!(alert_records.len(), 1);
    assert_eq!(alert_records[0].version, V12);
}
