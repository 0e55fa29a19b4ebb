//! WebRTC against a real browser: headless Chromium (Debian's `chromium`) with a fake
//! microphone offers a call; our ICE-lite endpoint (ice_lite.rs) answers as the DTLS server (or,
//! with `a=setup:active`, as the DTLS client) with the browser's fingerprint pinned, and the
//! browser's own `getStats()` must say the DTLS transport is connected with the version and
//! SRTP profile negotiated.
//!
//! Needs `chromium` (apt) and Node.js; the driver's npm dependencies are installed from
//! tests/browser/package-lock.json on first use. scripts/test.sh installs Chromium.

mod browser;
mod ice_lite;

use browser::{report_by_id, reports, Browser};
use dtls_proto::ProtocolVersion;
use ice_lite::{answer, server_config, Endpoint, Offer};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// SRTP_AEAD_AES_128_GCM, then SRTP_AES128_CM_HMAC_SHA1_80. The server's order decides, and
/// Chromium lists CM-80 first, so getting GCM proves our order was applied.
const SRTP_PROFILES: &[u16] = &[0x0007, 0x0001];

fn driver_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// The name `getStats()` gives a cipher suite (BoringSSL's `SSL_CIPHER_standard_name`).
fn suite_name(id: u16) -> &'static str {
    match id {
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02c => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xcca9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        _ => "?",
    }
}

/// The name `getStats()` gives an SRTP profile: the IANA name (RFC 5764 §4.1.2, RFC 7714 §14.2).
fn srtp_name(id: u16) -> &'static str {
    dtls_proto::srtp::profile(id).map_or("?", |p| p.name)
}

/// One call: browser offer -> our answer -> connected -> getStats(), checked from both ends.
fn call(versions: &[ProtocolVersion], want_tls_version: &str) {
    call_as(versions, want_tls_version, false);
}

/// [`call`], with us as the DTLS client when `we_client` (`a=setup:active`): the browser's
/// BoringSSL is then the DTLS server.
fn call_as(versions: &[ProtocolVersion], want_tls_version: &str, we_client: bool) {
    let (cfg, our_fp) = server_config(versions, SRTP_PROFILES);
    let mut ep = Endpoint::bind(cfg, our_fp.clone());
    if we_client {
        ep.role = dtls_proto::Role::Client;
    }
    let mut browser = Browser::launch(
        &driver_dir(),
        &["--timeout-ms", "45000", "--hold-ms", "500"],
    );

    let offer_sdp = browser.offer(Duration::from_secs(30));
    let offer = Offer::parse(&offer_sdp).unwrap_or_else(|e| panic!("{e}:\n{offer_sdp}"));
    assert_eq!(
        offer.setup, "actpass",
        "a browser offer leaves the DTLS role open"
    );
    ep.start(&offer, Duration::from_secs(45));
    let setup = if we_client { "active" } else { "passive" };
    let answer_sdp = answer(&offer, &ep.local, "recvonly", setup);
    browser.answer(&answer_sdp);
    let result = browser.result(Duration::from_secs(45));
    let rep = ep.finish();
    let ctx = || format!("endpoint: {rep:#?}\nanswer:\n{answer_sdp}");

    // The endpoint's side: ICE checks authenticated and answered, the browser nominated us,
    // DTLS reached Connected with the browser's certificate as pinned from its offer.
    assert!(rep.stun_answered >= 1, "no STUN check answered; {}", ctx());
    // Chromium nominates (USE-CANDIDATE) with the check after the first success, about 60 ms
    // later here; the driver holds the call for 500 ms, so it has come by now.
    assert!(
        rep.nominated_at_ms.is_some(),
        "the browser never nominated the pair; {}",
        ctx()
    );
    assert!(rep.dtls_error.is_none(), "DTLS error; {}", ctx());
    let neg = rep
        .negotiated
        .as_ref()
        .unwrap_or_else(|| panic!("no Connected; {}", ctx()));
    assert!(rep.peer_cert_matches_offer, "{}", ctx());
    // Our server's stateless cookie exchange ran (a HelloVerifyRequest in 1.2, a
    // HelloRetryRequest with a cookie in 1.3, counted alike), on a ClientHello that Chromium
    // (with its post-quantum key share) sends in two fragments; PEERS.md.
    if !we_client {
        assert!(rep.hello_verify_requests >= 1, "{}", ctx());
    }
    eprintln!(
        "first ClientHello datagram (size, length, fragment): {:?}; HelloVerifyRequests: {}",
        rep.first_client_hello, rep.hello_verify_requests
    );
    let want_version = match want_tls_version {
        "FEFD" => ProtocolVersion::Dtls12,
        _ => ProtocolVersion::Dtls13,
    };
    assert_eq!(neg.version, want_version, "{}", ctx());
    // The server's order decides: ours puts GCM first; BoringSSL's puts CM-80 first.
    let (profile, material_len) = if we_client {
        // 2 x (16-byte key + 14-byte salt) for AES128_CM_HMAC_SHA1_80 (RFC 5764 §4.2).
        (0x0001, 60)
    } else {
        // 2 x (16-byte key + 12-byte salt) for AEAD_AES_128_GCM (RFC 7714 §12).
        (SRTP_PROFILES[0], 56)
    };
    assert_eq!(neg.srtp_profile, Some(profile), "{}", ctx());
    assert_eq!(rep.srtp_key_material_len, material_len, "{}", ctx());

    // The browser's side, from its own getStats().
    let ctx = || format!("{}\nbrowser result: {result:#}", ctx());
    assert_eq!(result["connectionState"], "connected", "{}", ctx());
    let transports = reports(&result, "transport");
    assert_eq!(transports.len(), 1, "BUNDLE gives one transport; {}", ctx());
    let t = transports[0];
    assert_eq!(t["dtlsState"], "connected", "{}", ctx());
    assert_eq!(t["iceState"], "connected", "{}", ctx());
    assert_eq!(
        t["dtlsRole"],
        if we_client { "server" } else { "client" },
        "we answered a=setup:{setup}; {}",
        ctx()
    );
    assert_eq!(
        t["tlsVersion"]
            .as_str()
            .map(str::to_ascii_uppercase)
            .as_deref(),
        Some(want_tls_version),
        "{}",
        ctx()
    );
    assert_eq!(t["srtpCipher"], srtp_name(profile), "{}", ctx());
    assert_eq!(
        t["dtlsCipher"],
        suite_name(neg.cipher_suite.get()),
        "{}",
        ctx()
    );
    // The certificate the browser saw is ours, by the fingerprint we put in the answer.
    let remote_cert = t["remoteCertificateId"]
        .as_str()
        .and_then(|id| report_by_id(&result, id))
        .unwrap_or_else(|| panic!("no remote certificate report; {}", ctx()));
    let fp = format!(
        "{} {}",
        remote_cert["fingerprintAlgorithm"].as_str().unwrap_or(""),
        remote_cert["fingerprint"].as_str().unwrap_or("")
    );
    assert!(
        fp.eq_ignore_ascii_case(&our_fp),
        "{fp} != {our_fp}; {}",
        ctx()
    );
    let pair = t["selectedCandidatePairId"]
        .as_str()
        .and_then(|id| report_by_id(&result, id))
        .unwrap_or_else(|| panic!("no selected candidate pair; {}", ctx()));
    assert_eq!(pair["state"], "succeeded", "{}", ctx());
    let remote = pair["remoteCandidateId"]
        .as_str()
        .and_then(|id| report_by_id(&result, id))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        remote["port"].as_u64(),
        Some(u64::from(ep_port(&answer_sdp))),
        "the pair's remote end is our candidate; {}",
        ctx()
    );
}

/// The port of the answer's one candidate.
fn ep_port(answer_sdp: &str) -> u16 {
    answer_sdp
        .lines()
        .find_map(|l| l.strip_prefix("a=candidate:"))
        .and_then(|c| c.split_whitespace().nth(5))
        .and_then(|p| p.parse().ok())
        .expect("answer has a candidate")
}

/// Issue 12, acceptance 4: Chromium offers 1.3 and 1.2, our
/// 1.2-only server takes 1.2 (the browser falls back silently).
#[test]
fn chromium_connects_to_our_dtls12_server() {
    call(&[ProtocolVersion::Dtls12], "FEFD");
}

/// Issue 12, acceptance 4: the same call with our server limited to DTLS 1.3. Chromium's
/// ClientHello carries an X25519MLKEM768 share and spans two datagrams (PEERS.md).
#[test]
fn chromium_connects_to_our_dtls13_server() {
    call(&[ProtocolVersion::Dtls13], "FEFC");
}

/// Our server with both versions enabled: Chromium offers both and must land on DTLS 1.3 (the
/// server reassembles the two-datagram ClientHello before it picks the version).
#[test]
fn chromium_connects_to_our_dual_version_server_in_dtls13() {
    call(&[ProtocolVersion::Dtls12, ProtocolVersion::Dtls13], "FEFC");
}

/// Us as the DTLS 1.3 client (`a=setup:active`), Chromium's BoringSSL as the server.
#[test]
fn our_dtls13_client_connects_to_chromium() {
    call_as(&[ProtocolVersion::Dtls13], "FEFC", true);
}

/// Us as a dual-version client: BoringSSL as the server picks 1.3.
#[test]
fn our_dual_version_client_connects_to_chromium_in_dtls13() {
    call_as(
        &[ProtocolVersion::Dtls12, ProtocolVersion::Dtls13],
        "FEFC",
        true,
    );
}

/// Us as a DTLS 1.2 client of BoringSSL.
#[test]
fn our_dtls12_client_connects_to_chromium() {
    call_as(&[ProtocolVersion::Dtls12], "FEFD", true);
}
