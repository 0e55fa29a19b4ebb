//! Interop over real UDP on 127.0.0.1 with the `openssl s_server -dtls1_2` and
//! `openssl s_client -dtls1_2` binaries, both roles.
//!
//! Our side is the engine driven inside the test process by [`UdpEngine`], a small loop over a
//! `std::net::UdpSocket` whose read timeout follows `Connection::next_timeout()` and whose
//! clock is `Instant` in milliseconds since the engine was created. Every run checks, against
//! what the openssl binary itself prints: the cipher suite, the SRTP profile, the RFC 5705
//! exporter output (`-keymatexport EXTRACTOR-dtls_srtp -keymatexportlen 60`, RFC 5764 §4.2),
//! application data both ways, and a clean close_notify.
//!
//! Every child process is killed when its `Peer` drops, every socket read has a timeout and
//! every wait has a deadline, so a broken handshake fails a test in seconds instead of hanging.

mod common;

use common::fixtures::{fixture, fixture_arg, fixture_path};
use common::udp_engine::UdpEngine;
use common::udp_peer::{
    free_udp_port, openssl_s_client_args, openssl_s_server_args, parse_keying_material, Peer,
};
use dtls_proto::verify::VerifyError;
use dtls_proto::{
    AlertDescription, Certificate, CipherSuite, Config, Error, Event, NamedGroup, PeerVerification,
    ProtocolVersion,
};
use std::time::{Duration, Instant};

const LABEL: &str = "EXTRACTOR-dtls_srtp";
/// RFC 5764 §4.2: 2 * (16-byte key + 14-byte salt) for the AES-CM profiles.
const EXPORT_LEN: usize = 60;
/// Each test's own budget; the harness rule is < 15 s per test.
const TEST_BUDGET: Duration = Duration::from_secs(10);
/// How long an openssl binary gets to print something we wait for.
const PEER_WAIT: Duration = Duration::from_secs(5);
/// Short retransmission timers: a ClientHello sent before the peer's socket exists is
/// retried after 200 ms instead of the default 1 s. The 8 s deadline stays inside the budget.
const TIMERS: (u64, u64, u64) = (200, 1_000, 8_000);

// ---------------------------------------------------------------------------------------------
// Our endpoint over UDP

// (`tests/common/udp_engine.rs`.)

// ---------------------------------------------------------------------------------------------
// Helpers

fn server_chain() -> Vec<u8> {
    [fixture("server.crt"), fixture("int.crt")].concat()
}

fn client_chain() -> Vec<u8> {
    [fixture("client.crt"), fixture("int.crt")].concat()
}

fn leaf_der(pem_name: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(&fixture(pem_name))
        .expect("fixture PEM")
        .to_vec()
}

fn deadline() -> Instant {
    Instant::now() + TEST_BUDGET
}

/// The IANA suite for an OpenSSL cipher name.
fn suite_from_openssl(name: &str) -> Option<CipherSuite> {
    Some(match name {
        "ECDHE-ECDSA-AES128-GCM-SHA256" => CipherSuite::EcdheEcdsaAes128GcmSha256,
        "ECDHE-ECDSA-AES256-GCM-SHA384" => CipherSuite::EcdheEcdsaAes256GcmSha384,
        "ECDHE-ECDSA-CHACHA20-POLY1305" => CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        "ECDHE-RSA-AES128-GCM-SHA256" => CipherSuite::EcdheRsaAes128GcmSha256,
        "ECDHE-RSA-AES256-GCM-SHA384" => CipherSuite::EcdheRsaAes256GcmSha384,
        "ECDHE-RSA-CHACHA20-POLY1305" => CipherSuite::EcdheRsaChacha20Poly1305Sha256,
        _ => return None,
    })
}

/// The cipher openssl reports: `CIPHER is X` (s_server) or `..., Cipher is X` (s_client).
fn openssl_cipher(output: &str) -> Option<String> {
    output.lines().find_map(|l| {
        let i = l.find("CIPHER is ").or_else(|| l.find("Cipher is "))?;
        Some(l[i + 10..].trim().to_string())
    })
}

/// `SRTP Extension negotiated, profile=NAME`.
fn openssl_srtp_profile(output: &str) -> Option<String> {
    output.lines().find_map(|l| {
        l.split_once("SRTP Extension negotiated, profile=")
            .map(|(_, p)| p.trim().to_string())
    })
}

/// Waits for `needle` in the peer's output; fails the test with all of it otherwise.
fn expect_output(peer: &Peer, needle: &str) {
    assert!(
        peer.wait_for(needle, PEER_WAIT),
        "openssl never printed {needle:?}; its output:\n{}",
        peer.output()
    );
}

/// Waits (bounded) for the child to exit by itself.
fn wait_exit(peer: &mut Peer, timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if peer.exited() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    peer.exited()
}

/// Starts `openssl s_server` on a free port and waits until it listens.
fn spawn_s_server(extra: &[&str]) -> (Peer, u16) {
    let port = free_udp_port();
    assert_ne!(port, 0, "no free UDP port");
    let mut args = openssl_s_server_args(
        port,
        &fixture_path("server.crt"),
        &fixture_path("server.key"),
        &["-cert_chain", &fixture_arg("int.crt")],
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    let peer = Peer::spawn("openssl", &args);
    assert!(peer.started(), "{}", peer.output());
    expect_output(&peer, "ACCEPT");
    (peer, port)
}

fn our_client_config() -> dtls_proto::ConfigBuilder {
    Config::builder()
        .root_certificates_pem(&fixture("ca.crt"))
        .peer_verification(PeerVerification::WebPki)
        .timers(TIMERS.0, TIMERS.1, TIMERS.2)
}

fn our_server_config() -> dtls_proto::ConfigBuilder {
    let cert = Certificate::from_pem(&server_chain(), &fixture("server.key")).expect("cert");
    Config::builder()
        .certificate(cert)
        .timers(TIMERS.0, TIMERS.1, TIMERS.2)
}

/// The checks every successful run makes, with `peer` being the openssl side.
fn check_session(ours: &mut UdpEngine, peer: &mut Peer, srtp: Option<&str>) {
    let n = ours.conn().negotiated().cloned().expect("negotiated");
    assert_eq!(ours.connected_events(), 1, "one Connected event");
    assert_eq!(n.version, ProtocolVersion::Dtls12);
    // OpenSSL 3.0 offers and accepts RFC 7627; our default requires it.
    assert!(n.extended_master_secret);

    // Same keys on both sides: the exporter (RFC 5705) only agrees if the master secret,
    // both randoms and the PRF hash agree.
    expect_output(peer, "Keying material:");
    let theirs = parse_keying_material(&peer.output()).expect("openssl keying material");
    assert_eq!(theirs.len(), 2 * EXPORT_LEN);
    assert_eq!(
        ours.export(LABEL, EXPORT_LEN)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>(),
        theirs,
        "exported keying material differs"
    );

    let out = peer.output();
    let cipher = openssl_cipher(&out).expect("openssl printed no cipher");
    assert_eq!(
        suite_from_openssl(&cipher),
        Some(n.cipher_suite),
        "openssl says {cipher}, we say {:?}",
        n.cipher_suite
    );
    assert_eq!(openssl_srtp_profile(&out).as_deref(), srtp);
    let srtp_id = srtp.map(|p| match p {
        "SRTP_AES128_CM_SHA1_80" => 0x0001,
        "SRTP_AEAD_AES_128_GCM" => 0x0007,
        other => panic!("unmapped SRTP profile {other}"),
    });
    assert_eq!(n.srtp_profile, srtp_id);

    // Application data both ways.
    let d = deadline();
    ours.send(b"hello from dtls-proto\n");
    expect_output(peer, "hello from dtls-proto");
    peer.write_stdin(b"hello from openssl\n");
    ours.run_until(d, "openssl's data", |e| {
        e.received_text("hello from openssl")
    })
    .unwrap();
    assert_eq!(ours.app_in, b"hello from openssl\n");
}

// ---------------------------------------------------------------------------------------------
// Our client, openssl s_server

#[test]
fn engine_client_vs_s_server_webpki_srtp() {
    let (mut peer, port) = spawn_s_server(&[
        "-use_srtp",
        "SRTP_AES128_CM_SHA1_80",
        "-keymatexport",
        LABEL,
        "-keymatexportlen",
        "60",
    ]);
    let cfg = our_client_config()
        .srtp_profiles(&[0x0007, 0x0001])
        .build()
        .unwrap();
    let mut ours = UdpEngine::client(cfg, Some("dtls-server"), port);
    ours.handshake(deadline())
        .unwrap_or_else(|e| panic!("{e}\nopenssl:\n{}", peer.output()));
    // webpki accepted the chain server.crt <- int.crt <- ca.crt for the name dtls-server.
    assert_eq!(ours.conn().peer_certificates().len(), 2);
    assert_eq!(ours.conn().peer_certificates()[0], leaf_der("server.crt"));
    check_session(&mut ours, &mut peer, Some("SRTP_AES128_CM_SHA1_80"));

    // close_notify ends s_server's only connection (-naccept 1): it shuts down and exits.
    ours.close();
    expect_output(&peer, "CONNECTION CLOSED");
    assert!(wait_exit(&mut peer, PEER_WAIT), "{}", peer.output());
    assert!(!peer.output().contains("ERROR"), "{}", peer.output());
}

/// s_server with `-listen` answers ClientHellos statelessly (DTLSv1_listen, HelloVerifyRequest
/// cookies, RFC 6347 §4.2.1) and demands a client certificate chained to ca.crt.
#[test]
fn engine_client_vs_s_server_listen_mutual_chacha() {
    let ca = fixture_arg("ca.crt");
    let (mut peer, port) = spawn_s_server(&[
        "-listen",
        "-Verify",
        "1",
        "-verify_return_error",
        "-CAfile",
        &ca,
        "-use_srtp",
        "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
        "-keymatexport",
        LABEL,
        "-keymatexportlen",
        "60",
    ]);
    let cert = Certificate::from_pem(&client_chain(), &fixture("client.key")).unwrap();
    let cfg = our_client_config()
        .certificate(cert)
        // A non-default suite, so a wrong key schedule could not hide behind the default.
        .cipher_suites(&[CipherSuite::EcdheEcdsaChacha20Poly1305Sha256])
        // Our order differs from the server's: the server's order wins (RFC 5764 §4.1.1).
        .srtp_profiles(&[0x0001, 0x0007])
        .build()
        .unwrap();
    let mut ours = UdpEngine::client(cfg, Some("dtls-server"), port);
    ours.handshake(deadline())
        .unwrap_or_else(|e| panic!("{e}\nopenssl:\n{}", peer.output()));
    assert_eq!(
        ours.conn().negotiated().unwrap().cipher_suite,
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256
    );
    check_session(&mut ours, &mut peer, Some("SRTP_AEAD_AES_128_GCM"));
    // s_server verified and printed our certificate.
    let out = peer.output();
    assert!(out.contains("depth=0 CN = dtls-client"), "{out}");
    assert!(out.contains("Client certificate"), "{out}");

    ours.close();
    expect_output(&peer, "CONNECTION CLOSED");
    assert!(wait_exit(&mut peer, PEER_WAIT), "{}", peer.output());
}

/// webpki name check: the server's certificate is not valid for the name we asked for.
#[test]
fn engine_client_rejects_wrong_server_name() {
    let (peer, port) = spawn_s_server(&[]);
    let cfg = our_client_config().build().unwrap();
    let mut ours = UdpEngine::client(cfg, Some("not-the-server.example"), port);
    let err = ours
        .handshake(deadline())
        .expect_err("handshake must fail on a name mismatch");
    assert!(err.contains("DTLS_ERR_CERTIFICATE_REJECTED"), "{err}");
    assert!(
        ours.events.iter().any(|e| matches!(
            e,
            Event::Failed(Error::CertificateRejected(VerifyError::NameMismatch))
        )),
        "{:?}",
        ours.events
    );
    // We told s_server why (a fatal bad_certificate alert, sent in the clear at this stage).
    expect_output(&peer, "alert bad certificate");
    assert!(!ours.is_connected());
}

/// s_server requires a client certificate and we have none. OpenSSL's fatal alert comes in
/// the clear (epoch 0), which anyone could forge, so the engine must not act on it at once
/// (DESIGN.md, rules of the house): the handshake ends at its deadline and the alert is
/// reported as the likely reason.
#[test]
fn engine_client_without_certificate_vs_s_server_verify() {
    let ca = fixture_arg("ca.crt");
    let (peer, port) = spawn_s_server(&["-Verify", "1", "-verify_return_error", "-CAfile", &ca]);
    let cfg = Config::builder()
        .root_certificates_pem(&fixture("ca.crt"))
        .timers(200, 1_000, 2_000)
        .build()
        .unwrap();
    let mut ours = UdpEngine::client(cfg, Some("dtls-server"), port);
    let started = Instant::now();
    let err = ours
        .handshake(deadline())
        .expect_err("s_server must refuse a client without a certificate");
    expect_output(&peer, "peer did not return a certificate");
    assert!(err.contains("DTLS_ERR_HANDSHAKE_TIMEOUT"), "{err}");
    let failed = ours.events.iter().find_map(|e| match e {
        Event::Failed(e) => Some(e.clone()),
        _ => None,
    });
    assert_eq!(
        failed,
        Some(Error::HandshakeTimeout {
            likely_reason: Some(AlertDescription::HandshakeFailure)
        }),
        "openssl:\n{}",
        peer.output()
    );
    // Not before the 2 s deadline (it is the deadline that ends it).
    assert!(started.elapsed() >= Duration::from_millis(1_900));
}

// ---------------------------------------------------------------------------------------------
// openssl s_client, our server

fn spawn_s_client(port: u16, extra: &[&str]) -> Peer {
    let ca = fixture_arg("ca.crt");
    let mut args: Vec<&str> = vec![
        "-CAfile",
        &ca,
        "-verify_return_error",
        "-verify_hostname",
        "dtls-server",
        "-keymatexport",
        LABEL,
        "-keymatexportlen",
        "60",
    ];
    args.extend_from_slice(extra);
    let peer = Peer::spawn("openssl", &openssl_s_client_args(port, &args));
    assert!(peer.started(), "{}", peer.output());
    peer
}

/// Our server behind the stateless front door (cookie before any state), webpki on the
/// s_client side (chain and host name).
#[test]
fn s_client_vs_engine_server_front_door() {
    let cfg = our_server_config()
        .srtp_profiles(&[0x0001])
        .build()
        .unwrap();
    let (mut ours, port) = UdpEngine::server(cfg, true);
    let mut peer = spawn_s_client(port, &["-use_srtp", "SRTP_AES128_CM_SHA1_80"]);
    ours.handshake(deadline())
        .unwrap_or_else(|e| panic!("{e}\nopenssl:\n{}", peer.output()));
    // OpenSSL's ClientHello went through one HelloVerifyRequest round.
    assert_eq!(ours.front_door_hvrs, 1);
    assert!(ours.conn().peer_certificates().is_empty());
    check_session(&mut ours, &mut peer, Some("SRTP_AES128_CM_SHA1_80"));
    assert!(peer.output().contains("Verification: OK"));
    assert!(peer.output().contains("Verified peername: dtls-server"));

    // s_client (-ign_eof) ends when the server closes.
    ours.close();
    assert!(wait_exit(&mut peer, PEER_WAIT), "{}", peer.output());
}

/// Mutual authentication with our server: the client's chain must verify against ca.crt.
/// The engine does the cookie exchange itself here, and the group is P-384 by our choice.
#[test]
fn s_client_vs_engine_server_mutual_p384() {
    let cfg = our_server_config()
        .root_certificates_pem(&fixture("ca.crt"))
        .require_client_certificate(true)
        .groups(&[NamedGroup::Secp384r1])
        .build()
        .unwrap();
    let (mut ours, port) = UdpEngine::server(cfg, false);
    let cert = fixture_arg("client.crt");
    let key = fixture_arg("client.key");
    let int = fixture_arg("int.crt");
    let mut peer = spawn_s_client(port, &["-cert", &cert, "-key", &key, "-cert_chain", &int]);
    ours.handshake(deadline())
        .unwrap_or_else(|e| panic!("{e}\nopenssl:\n{}", peer.output()));
    let stats = ours.conn().stats();
    assert_eq!(stats.hello_verify_requests, 1, "{stats:?}");
    assert_eq!(ours.conn().peer_certificates().len(), 2);
    assert_eq!(ours.conn().peer_certificates()[0], leaf_der("client.crt"));
    assert!(ours.events.contains(&Event::PeerCertificate));
    assert_eq!(
        ours.conn().negotiated().unwrap().group,
        NamedGroup::Secp384r1
    );
    check_session(&mut ours, &mut peer, None);
    assert!(
        peer.output().contains("Server Temp Key: ECDH, secp384r1"),
        "{}",
        peer.output()
    );

    ours.close();
    assert!(wait_exit(&mut peer, PEER_WAIT), "{}", peer.output());
}

/// Our server requires a client certificate and s_client has none: we must refuse.
#[test]
fn s_client_without_certificate_vs_engine_server_requiring_one() {
    let cfg = our_server_config()
        .root_certificates_pem(&fixture("ca.crt"))
        .require_client_certificate(true)
        .build()
        .unwrap();
    let (mut ours, port) = UdpEngine::server(cfg, true);
    let peer = spawn_s_client(port, &[]);
    let err = ours
        .handshake(deadline())
        .expect_err("a client without a certificate must be refused");
    assert!(err.contains("DTLS_ERR_NO_PEER_CERTIFICATE"), "{err}");
    // Our fatal alert (handshake_failure) reached s_client.
    expect_output(&peer, "alert handshake failure");
}
