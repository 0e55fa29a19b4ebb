//! DTLS-SRTP (RFC 5764) against real peers over UDP on 127.0.0.1: the `openssl s_server` /
//! `s_client -dtls1_2 -use_srtp` binaries and GnuTLS's `gnutls-serv` / `gnutls-cli --udp
//! --srtp-profiles`, with our engine in both roles (issue 4, acceptance points 1 and 2).
//!
//! Keys (acceptance 1). For every profile a peer supports and both roles, the SRTP master keys
//! and salts of `Connection::srtp_keying_material()` must equal the peer's own
//! `EXTRACTOR-dtls_srtp` export of `2 * (key + salt)` bytes, split by the RFC 5764 §4.2 layout
//! (client key, server key, client salt, server salt) with the sizes of this file's own
//! profile table (RFC 5764 §4.1.2 / RFC 7714 §12), and the profile must be the one the peer
//! reports and the one in our `Event::Connected`.
//! - OpenSSL prints `Keying material: HEX` (`-keymatexport ... -keymatexportlen N`) and
//!   `SRTP Extension negotiated, profile=NAME`.
//! - gnutls-cli prints `- Key material: hex` and `- SRTP profile: NAME`.
//! - gnutls-serv prints neither in UDP mode (its DTLS loop never calls print_info). For that
//!   column the peer's export is recomputed here from GnuTLS's own master secret (written to
//!   `SSLKEYLOGFILE` by libgnutls) and the hello randoms seen on the wire, with the RFC 5705
//!   exporter over the RFC 5246 §5 PRF. The same recomputation is checked against gnutls-cli's
//!   printed export in every gnutls-cli run, so the helper itself is tested against GnuTLS.
//!
//! Negotiation (acceptance 2): server preference in both roles, what GnuTLS's server does with
//! the client's order, no common profile (the handshake completes without SRTP, §4.1.1), the
//! NULL profiles (off unless configured), and the MKI (§4.1.1, §4.1.3): neither OpenSSL nor
//! GnuTLS offers one as a client; as servers, OpenSSL answers a client's MKI with an empty one
//! and GnuTLS echoes it; engine <-> engine carries it both ways; a server that changes it is
//! refused. Every check also reads the ServerHello's use_srtp off the wire.
//!
//! GnuTLS is optional locally: without `gnutls-cli` those tests print SKIPPED, unless the `CI`
//! environment variable is set, where they fail (scripts/test.sh installs gnutls-bin).
//!
//! Every child process is killed when its `Peer` drops (on every exit path, panics included),
//! every socket read has a timeout and every wait a deadline.

mod common;

use common::fixtures::{fixture, fixture_arg, fixture_path};
use common::pair::{Pair, SERVER};
use common::udp_engine::UdpEngine;
use common::udp_peer::{
    free_udp_port, hex_decode, openssl_s_client_args, openssl_s_server_args, parse_keying_material,
    Peer,
};
use dtls_proto::srtp::parse_profiles;
use dtls_proto::{
    AlertDescription, Certificate, CipherSuite, Config, ConfigBuilder, Connection, Error, Event,
    PeerVerification, ProtocolVersion,
};
use std::cell::Cell;
use std::path::PathBuf;
use std::process::Command;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LABEL: &str = "EXTRACTOR-dtls_srtp";
/// Each run's own budget (handshake plus collecting the peer's output).
const TEST_BUDGET: Duration = Duration::from_secs(10);
/// How long a peer binary gets to print something we wait for.
const PEER_WAIT: Duration = Duration::from_secs(5);
/// Short retransmission timers: a ClientHello sent before the peer's socket exists is
/// retried after 200 ms. The 8 s handshake deadline stays inside the budget.
const TIMERS: (u64, u64, u64) = (200, 1_000, 8_000);
/// Export length for runs where no SRTP profile is expected: the session is still compared.
const PLAIN_EXPORT_LEN: usize = 60;

// ---------------------------------------------------------------------------------------------
// Profiles: the test's own table, independent of src/srtp.rs

/// One SRTP protection profile with its sizes in bytes.
#[derive(Clone, Copy, Debug)]
struct Profile {
    /// IANA id (RFC 5764 §4.1.2, RFC 7714 §14.2).
    id: u16,
    /// OpenSSL's spelling (`-use_srtp`).
    openssl: &'static str,
    /// IANA spelling, which is also GnuTLS's (`--srtp-profiles`).
    iana: &'static str,
    /// Master key length.
    key: usize,
    /// Master salt length.
    salt: usize,
    /// `-keymatexportlen` as the issue states it: 2 * (key + salt).
    export_len: usize,
}

/// RFC 5764 §4.1.2: AES-128 key (128 bits), 112-bit salt.
const CM80: Profile = Profile {
    id: 0x0001,
    openssl: "SRTP_AES128_CM_SHA1_80",
    iana: "SRTP_AES128_CM_HMAC_SHA1_80",
    key: 16,
    salt: 14,
    export_len: 60,
};
const CM32: Profile = Profile {
    id: 0x0002,
    openssl: "SRTP_AES128_CM_SHA1_32",
    iana: "SRTP_AES128_CM_HMAC_SHA1_32",
    key: 16,
    salt: 14,
    export_len: 60,
};
/// RFC 7714 §12: AEAD_AES_128_GCM master key 16 bytes, master salt 12 bytes.
const GCM128: Profile = Profile {
    id: 0x0007,
    openssl: "SRTP_AEAD_AES_128_GCM",
    iana: "SRTP_AEAD_AES_128_GCM",
    key: 16,
    salt: 12,
    export_len: 56,
};
/// RFC 7714 §12: AEAD_AES_256_GCM master key 32 bytes, master salt 12 bytes.
const GCM256: Profile = Profile {
    id: 0x0008,
    openssl: "SRTP_AEAD_AES_256_GCM",
    iana: "SRTP_AEAD_AES_256_GCM",
    key: 32,
    salt: 12,
    export_len: 88,
};
/// RFC 5764 §4.1.2 lists a zero-length cipher key, but GnuTLS and libsrtp (and the engine,
/// see src/srtp.rs) still export a 128-bit key and 112-bit salt for the NULL profiles.
/// OpenSSL does not know the NULL profiles at all.
const NULL80: Profile = Profile {
    id: 0x0005,
    openssl: "SRTP_NULL_SHA1_80",
    iana: "SRTP_NULL_HMAC_SHA1_80",
    key: 16,
    salt: 14,
    export_len: 60,
};

/// Which implementation the peer is, for the name it reports a profile under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Impl {
    OpenSsl,
    GnuTls,
}

impl Profile {
    fn name_for(&self, who: Impl) -> &'static str {
        match who {
            Impl::OpenSsl => self.openssl,
            Impl::GnuTls => self.iana,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Our endpoint over UDP

// (`tests/common/udp_engine.rs`: it keeps every datagram it sent and received, so the hello
// randoms can be read off the wire.)

// ---------------------------------------------------------------------------------------------
// Wire, PRF and output parsing

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The body of the last handshake message of `msg_type` (1 = ClientHello, 2 = ServerHello)
/// found unfragmented in an epoch-0 record of `datagrams`. RFC 6347 §4.3.2: handshake header
/// = type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3), then the body.
fn hello_body(datagrams: &[Vec<u8>], msg_type: u8) -> Option<Vec<u8>> {
    datagrams.iter().rev().find_map(|d| {
        let mut rest = &d[..];
        let mut found = None;
        while rest.len() >= 13 {
            let content_type = rest[0];
            let epoch = u16::from_be_bytes([rest[3], rest[4]]);
            let len = u16::from_be_bytes([rest[11], rest[12]]) as usize;
            let record = rest.get(13..13 + len)?;
            rest = &rest[13 + len..];
            if content_type != 22 || epoch != 0 {
                continue;
            }
            // A record may carry several handshake messages (RFC 6347 §4.2.3).
            let mut msgs = record;
            while msgs.len() >= 12 {
                let frag_len = u32::from_be_bytes([0, msgs[9], msgs[10], msgs[11]]) as usize;
                let Some(frag) = msgs.get(12..12 + frag_len) else {
                    break;
                };
                let whole = msgs[1..4] == msgs[9..12] && msgs[6..9] == [0, 0, 0];
                if msgs[0] == msg_type && whole {
                    found = Some(frag.to_vec());
                }
                msgs = &msgs[12 + frag_len..];
            }
        }
        found
    })
}

/// The 32-byte random of a hello (both start with version(2) random(32)).
fn hello_random(datagrams: &[Vec<u8>], msg_type: u8) -> Option<Vec<u8>> {
    hello_body(datagrams, msg_type).and_then(|b| b.get(2..34).map(<[u8]>::to_vec))
}

/// A decoded use_srtp extension: (profiles, srtp_mki).
type UseSrtp = (Vec<u16>, Vec<u8>);

/// The use_srtp extension of the ServerHello on the wire, decoded (RFC 5764 §4.1.1:
/// profiles<2..2^16-1>, srtp_mki<0..255>): `Err` if there is no parsable ServerHello,
/// `Ok(None)` if it has no use_srtp.
fn server_hello_use_srtp(datagrams: &[Vec<u8>]) -> Result<Option<UseSrtp>, String> {
    fn u16_at(b: &[u8], i: usize) -> Option<usize> {
        Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]) as usize)
    }
    let b = hello_body(datagrams, 2).ok_or("no ServerHello on the wire")?;
    // version(2) random(32) session_id<0..32> cipher_suite(2) compression_method(1)
    let sid_len = *b.get(34).ok_or("short ServerHello")? as usize;
    let mut i = 35 + sid_len + 3;
    let Some(ext_len) = u16_at(&b, i) else {
        return Ok(None); // No extensions at all.
    };
    i += 2;
    let end = i + ext_len;
    while i + 4 <= end {
        let (ty, len) = (u16_at(&b, i).unwrap(), u16_at(&b, i + 2).unwrap());
        let data = b.get(i + 4..i + 4 + len).ok_or("truncated extension")?;
        i += 4 + len;
        if ty == 14 {
            let plen = u16_at(data, 0).ok_or("bad use_srtp")?;
            let profiles = data
                .get(2..2 + plen)
                .ok_or("bad use_srtp")?
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            let mlen = *data.get(2 + plen).ok_or("bad use_srtp")? as usize;
            let mki = data.get(3 + plen..3 + plen + mlen).ok_or("bad use_srtp")?;
            return Ok(Some((profiles, mki.to_vec())));
        }
    }
    Ok(None)
}

/// TLS 1.2 P_hash (RFC 5246 §5).
fn p_hash(alg: ring::hmac::Algorithm, secret: &[u8], seed: &[u8], out: &mut [u8]) {
    let key = ring::hmac::Key::new(alg, secret);
    let mut a = ring::hmac::sign(&key, seed); // A(1)
    for chunk in out.chunks_mut(alg.digest_algorithm().output_len()) {
        let mut ctx = ring::hmac::Context::with_key(&key);
        ctx.update(a.as_ref());
        ctx.update(seed);
        let t = ctx.sign();
        chunk.copy_from_slice(&t.as_ref()[..chunk.len()]);
        a = ring::hmac::sign(&key, a.as_ref());
    }
}

/// RFC 5705 §4 without a context: PRF(master_secret, label, client_random + server_random),
/// with the PRF hash of the cipher suite (SHA-384 for the *_SHA384 suites, else SHA-256).
fn rfc5705_export(suite: CipherSuite, ms: &[u8], cr: &[u8], sr: &[u8], len: usize) -> Vec<u8> {
    let alg = if format!("{suite:?}").ends_with("Sha384") {
        ring::hmac::HMAC_SHA384
    } else {
        ring::hmac::HMAC_SHA256
    };
    let seed = [LABEL.as_bytes(), cr, sr].concat();
    let mut out = vec![0u8; len];
    p_hash(alg, ms, &seed, &mut out);
    out
}

/// `SRTP Extension negotiated, profile=NAME` (s_server and s_client).
fn openssl_srtp_profile(output: &str) -> Option<String> {
    output.lines().find_map(|l| {
        l.split_once("SRTP Extension negotiated, profile=")
            .map(|(_, p)| p.trim().to_string())
    })
}

/// gnutls-cli's `- SRTP profile: NAME`.
fn gnutls_srtp_profile(output: &str) -> Option<String> {
    output.lines().find_map(|l| {
        l.trim()
            .strip_prefix("- SRTP profile:")
            .map(|p| p.trim().to_string())
    })
}

/// gnutls-cli's `- Key material: hex`.
fn gnutls_key_material(output: &str) -> Option<Vec<u8>> {
    output.lines().find_map(|l| {
        l.trim()
            .strip_prefix("- Key material:")
            .and_then(hex_decode)
    })
}

/// A file removed on drop (the peers' key logs).
struct TempPath(PathBuf);

impl TempPath {
    fn new(what: &str, port: u16) -> Self {
        let p = std::env::temp_dir().join(format!(
            "dtls-srtp-interop-{}-{what}-{port}.keylog",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&p);
        TempPath(p)
    }

    fn arg(&self) -> String {
        format!("SSLKEYLOGFILE={}", self.0.display())
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The master secret libgnutls logged (NSS key log format: `CLIENT_RANDOM <cr> <ms>`) for
/// the connection whose client random is `cr`; waits for the file up to `timeout`.
fn keylog_master_secret(path: &TempPath, cr: &[u8], timeout: Duration) -> Option<Vec<u8>> {
    let want = hex(cr);
    let end = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(&path.0).unwrap_or_default();
        let found = text.lines().find_map(|l| {
            let mut f = l.split_whitespace();
            match (f.next(), f.next(), f.next()) {
                (Some("CLIENT_RANDOM"), Some(r), Some(ms)) if r.eq_ignore_ascii_case(&want) => {
                    hex_decode(ms)
                }
                _ => None,
            }
        });
        if found.is_some() || Instant::now() >= end {
            return found;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------------
// Configs and peers

fn server_chain() -> Vec<u8> {
    [fixture("server.crt"), fixture("int.crt")].concat()
}

fn our_client(profiles: &[u16]) -> ConfigBuilder {
    Config::builder()
        .root_certificates_pem(&fixture("ca.crt"))
        .peer_verification(PeerVerification::WebPki)
        .timers(TIMERS.0, TIMERS.1, TIMERS.2)
        .srtp_profiles(profiles)
}

fn our_server(profiles: &[u16]) -> ConfigBuilder {
    let cert = Certificate::from_pem(&server_chain(), &fixture("server.key")).expect("cert");
    Config::builder()
        .certificate(cert)
        .timers(TIMERS.0, TIMERS.1, TIMERS.2)
        .srtp_profiles(profiles)
}

/// Profile ids from a colon-separated list in OpenSSL's or IANA's spelling: the engine's own
/// parser, fed the very string the peer gets.
fn ids(list: &str) -> Vec<u16> {
    parse_profiles(list).unwrap_or_else(|e| panic!("parse_profiles({list:?}): {e}"))
}

/// Whether the GnuTLS tools are here; if not, fails under CI and skips (loudly) otherwise.
fn gnutls_or_skip(test: &str) -> bool {
    if Command::new("gnutls-cli").arg("--version").output().is_ok()
        && Command::new("gnutls-serv")
            .arg("--version")
            .output()
            .is_ok()
    {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "gnutls-cli/gnutls-serv are not installed (scripts/test.sh installs gnutls-bin)"
    );
    eprintln!(
        "SKIPPED {test}: gnutls-cli/gnutls-serv are not installed (apt-get install gnutls-bin)"
    );
    false
}

/// What one run against a peer binary produced.
struct Run {
    /// Names the cell in every failure message.
    cell: String,
    who: Impl,
    ours: UdpEngine,
    /// The peer's `EXTRACTOR-dtls_srtp` export (printed, or recomputed from its key log).
    theirs: Vec<u8>,
    /// The profile the peer reported; `None` if it printed none. Only meaningful when
    /// `peer_reports_profile`.
    peer_profile: Option<String>,
    /// gnutls-serv does not print the profile it picked.
    peer_reports_profile: bool,
    output: String,
    /// The peer, alive until the run is dropped.
    _peer: Peer,
    _keylog: Option<TempPath>,
}

/// Our client against `openssl s_server -use_srtp <srtp>` (no `-use_srtp` for `None`).
fn vs_openssl_server(cell: &str, cfg: Arc<Config>, srtp: Option<&str>, export_len: usize) -> Run {
    let port = free_udp_port();
    assert_ne!(port, 0, "{cell}: no free UDP port");
    let len = export_len.to_string();
    let int = fixture_arg("int.crt");
    let mut extra = vec![
        "-cert_chain",
        &int,
        "-keymatexport",
        LABEL,
        "-keymatexportlen",
        &len,
    ];
    if let Some(s) = srtp {
        extra.extend(["-use_srtp", s]);
    }
    let args = openssl_s_server_args(
        port,
        &fixture_path("server.crt"),
        &fixture_path("server.key"),
        &extra,
    );
    let mut peer = Peer::spawn("openssl", &args);
    assert!(peer.started(), "{cell}: {}", peer.output());
    assert!(
        peer.wait_for("ACCEPT", PEER_WAIT),
        "{cell}: s_server did not start:\n{}",
        peer.output()
    );
    let deadline = Instant::now() + TEST_BUDGET;
    let mut ours = UdpEngine::client(cfg, Some("dtls-server"), port);
    if let Err(e) = ours.handshake(deadline) {
        panic!(
            "{cell}: {e}\nevents: {:?}\ns_server:\n{}",
            ours.events,
            peer.output()
        );
    }
    // s_server prints the SRTP line before the keying material (print_connection_info).
    assert!(
        ours.serve_until(&mut peer, deadline, |p| p
            .output()
            .contains("Keying material:")),
        "{cell}: s_server printed no keying material:\n{}",
        peer.output()
    );
    let output = peer.output();
    let theirs = parse_keying_material(&output)
        .and_then(|h| hex_decode(&h))
        .unwrap_or_else(|| panic!("{cell}: unparsable keying material:\n{output}"));
    Run {
        cell: cell.into(),
        who: Impl::OpenSsl,
        ours,
        theirs,
        peer_profile: openssl_srtp_profile(&output),
        peer_reports_profile: true,
        output,
        _peer: peer,
        _keylog: None,
    }
}

/// `openssl s_client -use_srtp <srtp>` against our server.
fn vs_openssl_client(cell: &str, cfg: Arc<Config>, srtp: Option<&str>, export_len: usize) -> Run {
    let (mut ours, port) = UdpEngine::server(cfg, false);
    let len = export_len.to_string();
    let ca = fixture_arg("ca.crt");
    let mut extra = vec![
        "-CAfile",
        &ca,
        "-verify_return_error",
        "-verify_hostname",
        "dtls-server",
        "-keymatexport",
        LABEL,
        "-keymatexportlen",
        &len,
    ];
    if let Some(s) = srtp {
        extra.extend(["-use_srtp", s]);
    }
    let mut peer = Peer::spawn("openssl", &openssl_s_client_args(port, &extra));
    assert!(peer.started(), "{cell}: {}", peer.output());
    let deadline = Instant::now() + TEST_BUDGET;
    if let Err(e) = ours.handshake(deadline) {
        panic!(
            "{cell}: {e}\nevents: {:?}\ns_client:\n{}",
            ours.events,
            peer.output()
        );
    }
    // s_client needs our last flight to finish; keep serving until it prints.
    assert!(
        ours.serve_until(&mut peer, deadline, |p| p
            .output()
            .contains("Keying material:")),
        "{cell}: s_client printed no keying material:\n{}",
        peer.output()
    );
    let output = peer.output();
    assert!(output.contains("Verification: OK"), "{cell}:\n{output}");
    let theirs = parse_keying_material(&output)
        .and_then(|h| hex_decode(&h))
        .unwrap_or_else(|| panic!("{cell}: unparsable keying material:\n{output}"));
    Run {
        cell: cell.into(),
        who: Impl::OpenSsl,
        ours,
        theirs,
        peer_profile: openssl_srtp_profile(&output),
        peer_reports_profile: true,
        output,
        _peer: peer,
        _keylog: None,
    }
}

/// Our client against `gnutls-serv --udp --srtp-profiles=<srtp>`. gnutls-serv prints no key
/// material in UDP mode, so its export is recomputed from the master secret it logged.
fn vs_gnutls_server(cell: &str, cfg: Arc<Config>, srtp: &str, export_len: usize) -> Run {
    let port = free_udp_port();
    assert_ne!(port, 0, "{cell}: no free UDP port");
    let keylog = TempPath::new("gnutls-serv", port);
    let args = [
        keylog.arg(),
        "gnutls-serv".into(),
        "--udp".into(),
        "--echo".into(),
        "-p".into(),
        port.to_string(),
        format!("--x509certfile={}", fixture_arg("server-chain.crt")),
        format!("--x509keyfile={}", fixture_arg("server.key")),
        format!("--srtp-profiles={srtp}"),
    ];
    // `env` execs gnutls-serv in place, so the pid Peer kills is gnutls-serv's.
    let peer = Peer::spawn("env", &args);
    assert!(peer.started(), "{cell}: {}", peer.output());
    // Printed unbuffered (stderr) once the sockets are bound; it listens on the wildcard
    // address, and we only ever talk to it over loopback.
    assert!(
        peer.wait_for("listening on IPv4", PEER_WAIT),
        "{cell}: gnutls-serv did not start:\n{}",
        peer.output()
    );
    let deadline = Instant::now() + TEST_BUDGET;
    let mut ours = UdpEngine::client(cfg, Some("dtls-server"), port);
    if let Err(e) = ours.handshake(deadline) {
        panic!(
            "{cell}: {e}\nevents: {:?}\ngnutls-serv:\n{}",
            ours.events,
            peer.output()
        );
    }
    let cr = hello_random(&ours.sent, 1).expect("our ClientHello on the wire");
    let sr = hello_random(&ours.received, 2).expect("gnutls-serv's ServerHello on the wire");
    let ms = keylog_master_secret(&keylog, &cr, PEER_WAIT).unwrap_or_else(|| {
        panic!(
            "{cell}: gnutls-serv logged no master secret for client random {}:\n{}",
            hex(&cr),
            std::fs::read_to_string(&keylog.0).unwrap_or_default()
        )
    });
    let suite = ours.conn().negotiated().expect("negotiated").cipher_suite;
    let theirs = rfc5705_export(suite, &ms, &cr, &sr, export_len);
    Run {
        cell: cell.into(),
        who: Impl::GnuTls,
        ours,
        theirs,
        peer_profile: None,
        peer_reports_profile: false,
        output: peer.output(),
        _peer: peer,
        _keylog: Some(keylog),
    }
}

/// `gnutls-cli --udp --srtp-profiles=<srtp>` against our server.
fn vs_gnutls_client(cell: &str, cfg: Arc<Config>, srtp: &str, export_len: usize) -> Run {
    let (mut ours, port) = UdpEngine::server(cfg, false);
    let keylog = TempPath::new("gnutls-cli", port);
    let args = [
        keylog.arg(),
        "gnutls-cli".into(),
        "--udp".into(),
        "-p".into(),
        port.to_string(),
        "127.0.0.1".into(),
        format!("--x509cafile={}", fixture_arg("ca.crt")),
        "--verify-hostname=dtls-server".into(),
        format!("--srtp-profiles={srtp}"),
        format!("--keymatexport={LABEL}"),
        format!("--keymatexportsize={export_len}"),
        "--priority=NORMAL:-VERS-ALL:+VERS-DTLS1.2".into(),
    ];
    let mut peer = Peer::spawn("env", &args);
    assert!(peer.started(), "{cell}: {}", peer.output());
    let deadline = Instant::now() + TEST_BUDGET;
    if let Err(e) = ours.handshake(deadline) {
        panic!(
            "{cell}: {e}\nevents: {:?}\ngnutls-cli:\n{}",
            ours.events,
            peer.output()
        );
    }
    // gnutls-cli's stdout is block-buffered on a pipe: end its input so it says goodbye and
    // exits, which flushes what it printed after the handshake.
    peer.close_stdin();
    assert!(
        ours.serve_until(&mut peer, deadline, |p| p.exited()),
        "{cell}: gnutls-cli did not exit after EOF:\n{}",
        peer.output()
    );
    let output = peer.output();
    assert!(
        output.contains("Handshake was completed"),
        "{cell}: gnutls-cli:\n{output}"
    );
    let theirs = gnutls_key_material(&output)
        .unwrap_or_else(|| panic!("{cell}: gnutls-cli printed no key material:\n{output}"));
    // The recomputation used for the gnutls-serv column, checked against GnuTLS's own
    // exporter: same master secret, same randoms, same bytes.
    let cr = hello_random(&ours.received, 1).expect("gnutls-cli's ClientHello on the wire");
    let sr = hello_random(&ours.sent, 2).expect("our ServerHello on the wire");
    let ms = keylog_master_secret(&keylog, &cr, PEER_WAIT)
        .unwrap_or_else(|| panic!("{cell}: gnutls-cli logged no master secret"));
    let suite = ours.conn().negotiated().expect("negotiated").cipher_suite;
    assert_eq!(
        hex(&rfc5705_export(suite, &ms, &cr, &sr, export_len)),
        hex(&theirs),
        "{cell}: the test's own RFC 5705 recomputation disagrees with gnutls-cli's exporter \
         (test helper bug, not an engine bug)"
    );
    Run {
        cell: cell.into(),
        who: Impl::GnuTls,
        ours,
        theirs,
        peer_profile: gnutls_srtp_profile(&output),
        peer_reports_profile: true,
        output,
        _peer: peer,
        _keylog: Some(keylog),
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

/// The profile both sides settled on is `want` (or none), our Connected event and
/// `negotiated()` say so, and for a profile the SRTP keys of `srtp_keying_material()` are the
/// peer's export in the RFC 5764 §4.2 layout, with `mki` as the negotiated MKI.
fn check(run: &Run, want: Option<Profile>, mki: &[u8]) {
    let cell = &run.cell;
    let conn = run.ours.conn();
    let n = run
        .ours
        .connected()
        .unwrap_or_else(|| panic!("{cell}: no Connected event: {:?}", run.ours.events));
    assert_eq!(
        conn.negotiated(),
        Some(n),
        "{cell}: negotiated() differs from the Connected event"
    );
    assert_eq!(
        n.srtp_profile,
        want.map(|p| p.id),
        "{cell}: SRTP profile in our Connected event\npeer:\n{}",
        run.output
    );
    if run.peer_reports_profile {
        assert_eq!(
            run.peer_profile.as_deref(),
            want.map(|p| p.name_for(run.who)),
            "{cell}: SRTP profile the peer reports\npeer:\n{}",
            run.output
        );
    }
    assert_eq!(n.srtp_mki, mki, "{cell}: MKI in our Connected event");
    // The ServerHello as it was on the wire (ours or the peer's): RFC 5764 §4.1.1, a single
    // profile and the MKI, or no use_srtp at all when none was chosen.
    let sh = [&run.ours.sent, &run.ours.received]
        .into_iter()
        .find_map(|d| server_hello_use_srtp(d).ok())
        .unwrap_or_else(|| panic!("{cell}: no ServerHello on the wire"));
    assert_eq!(
        sh,
        want.map(|p| (vec![p.id], mki.to_vec())),
        "{cell}: use_srtp in the ServerHello on the wire"
    );

    let Some(p) = want else {
        assert!(
            matches!(conn.srtp_keying_material(), Err(Error::InvalidArgument(_))),
            "{cell}: SRTP keys without a negotiated profile"
        );
        // The session itself is sound: same exporter output on both sides.
        assert_eq!(
            hex(&run.ours.export(LABEL, run.theirs.len())),
            hex(&run.theirs),
            "{cell}: exported keying material differs"
        );
        return;
    };
    assert_eq!(p.export_len, 2 * (p.key + p.salt), "{cell}: profile table");
    let theirs = &run.theirs[..];
    assert_eq!(theirs.len(), p.export_len, "{cell}: peer export length");
    let keys = conn
        .srtp_keying_material()
        .unwrap_or_else(|e| panic!("{cell}: srtp_keying_material: {e}"));
    assert_eq!(keys.profile, p.id, "{cell}: SrtpKeyingMaterial.profile");
    assert_eq!(keys.mki, mki, "{cell}: SrtpKeyingMaterial.mki");
    assert_eq!(
        hex(&keys.material),
        hex(theirs),
        "{cell}: SRTP keying material (len {}) differs from the peer's export",
        p.export_len
    );
    // RFC 5764 §4.2: client_write_SRTP_master_key[key] | server_write_SRTP_master_key[key] |
    // client_write_SRTP_master_salt[salt] | server_write_SRTP_master_salt[salt].
    let (client_key, rest) = theirs.split_at(p.key);
    let (server_key, rest) = rest.split_at(p.key);
    let (client_salt, server_salt) = rest.split_at(p.salt);
    assert_eq!(
        hex(keys.client_key()),
        hex(client_key),
        "{cell}: client key"
    );
    assert_eq!(
        hex(keys.server_key()),
        hex(server_key),
        "{cell}: server key"
    );
    assert_eq!(
        hex(keys.client_salt()),
        hex(client_salt),
        "{cell}: client salt"
    );
    assert_eq!(
        hex(keys.server_salt()),
        hex(server_salt),
        "{cell}: server salt"
    );
}

// ---------------------------------------------------------------------------------------------
// Acceptance 1: keys for every (peer, profile, role) cell

fn cell_openssl_server(p: Profile) {
    let cell = format!("ours client vs openssl s_server, {}", p.openssl);
    let cfg = our_client(&ids(p.openssl)).build().unwrap();
    let run = vs_openssl_server(&cell, cfg, Some(p.openssl), p.export_len);
    check(&run, Some(p), &[]);
}

fn cell_openssl_client(p: Profile) {
    let cell = format!("ours server vs openssl s_client, {}", p.openssl);
    let cfg = our_server(&ids(p.openssl)).build().unwrap();
    let run = vs_openssl_client(&cell, cfg, Some(p.openssl), p.export_len);
    check(&run, Some(p), &[]);
}

fn cell_gnutls_server(p: Profile) {
    let cell = format!("ours client vs gnutls-serv, {}", p.iana);
    if !gnutls_or_skip(&cell) {
        return;
    }
    let cfg = our_client(&ids(p.iana)).build().unwrap();
    let run = vs_gnutls_server(&cell, cfg, p.iana, p.export_len);
    check(&run, Some(p), &[]);
}

fn cell_gnutls_client(p: Profile) {
    let cell = format!("ours server vs gnutls-cli, {}", p.iana);
    if !gnutls_or_skip(&cell) {
        return;
    }
    let cfg = our_server(&ids(p.iana)).build().unwrap();
    let run = vs_gnutls_client(&cell, cfg, p.iana, p.export_len);
    check(&run, Some(p), &[]);
}

/// One test per cell, so cargo reports every failing cell by name.
macro_rules! cells {
    ($($name:ident => $runner:ident($profile:expr);)*) => {
        $(
            #[test]
            fn $name() {
                $runner($profile)
            }
        )*
    };
}

cells! {
    keys_openssl_s_server_cm80_ours_client => cell_openssl_server(CM80);
    keys_openssl_s_server_cm32_ours_client => cell_openssl_server(CM32);
    keys_openssl_s_server_gcm128_ours_client => cell_openssl_server(GCM128);
    keys_openssl_s_server_gcm256_ours_client => cell_openssl_server(GCM256);
    keys_openssl_s_client_cm80_ours_server => cell_openssl_client(CM80);
    keys_openssl_s_client_cm32_ours_server => cell_openssl_client(CM32);
    keys_openssl_s_client_gcm128_ours_server => cell_openssl_client(GCM128);
    keys_openssl_s_client_gcm256_ours_server => cell_openssl_client(GCM256);
    keys_gnutls_serv_cm80_ours_client => cell_gnutls_server(CM80);
    keys_gnutls_serv_cm32_ours_client => cell_gnutls_server(CM32);
    keys_gnutls_cli_cm80_ours_server => cell_gnutls_client(CM80);
    keys_gnutls_cli_cm32_ours_server => cell_gnutls_client(CM32);
}

// ---------------------------------------------------------------------------------------------
// Acceptance 2: negotiation

/// RFC 5764 §4.1.1 leaves the choice to the server. OpenSSL's server takes its own order:
/// our client's first choice (CM-80) loses to the server's (AEAD_AES_256_GCM), and our
/// client accepts any profile it offered.
#[test]
fn negotiation_openssl_server_preference_over_ours() {
    let cell = "preference: ours client [CM80, GCM128, GCM256] vs s_server [GCM256, CM80]";
    let cfg = our_client(&ids(
        "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM:SRTP_AEAD_AES_256_GCM",
    ))
    .build()
    .unwrap();
    let run = vs_openssl_server(
        cell,
        cfg,
        Some("SRTP_AEAD_AES_256_GCM:SRTP_AES128_CM_SHA1_80"),
        GCM256.export_len,
    );
    check(&run, Some(GCM256), &[]);
}

/// As a server we take our own order, not the client's.
#[test]
fn negotiation_our_server_preference_over_openssl_client() {
    let cell = "preference: ours server [GCM128, CM32, CM80] vs s_client [CM80, CM32, GCM128]";
    let cfg = our_server(&[GCM128.id, CM32.id, CM80.id]).build().unwrap();
    let run = vs_openssl_client(
        cell,
        cfg,
        Some("SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32:SRTP_AEAD_AES_128_GCM"),
        GCM128.export_len,
    );
    check(&run, Some(GCM128), &[]);
}

/// GnuTLS's server (3.7) takes the client's order. Our client offers CM-32 first and
/// gets it although gnutls-serv lists CM-80 first: the client's preference is expressed by
/// its order (§4.1.1 "in descending order of preference") and honoured when the server lets it.
#[test]
fn negotiation_client_preference_honoured_by_gnutls_server() {
    let cell = "preference: ours client [CM32, CM80] vs gnutls-serv [CM80, CM32]";
    if !gnutls_or_skip(cell) {
        return;
    }
    let cfg = our_client(&ids(
        "SRTP_AES128_CM_HMAC_SHA1_32:SRTP_AES128_CM_HMAC_SHA1_80",
    ))
    .build()
    .unwrap();
    let run = vs_gnutls_server(
        cell,
        cfg,
        "SRTP_AES128_CM_HMAC_SHA1_80:SRTP_AES128_CM_HMAC_SHA1_32",
        CM32.export_len,
    );
    check(&run, Some(CM32), &[]);
}

/// Our server's order wins over gnutls-cli's.
#[test]
fn negotiation_our_server_preference_over_gnutls_client() {
    let cell = "preference: ours server [CM32, CM80] vs gnutls-cli [CM80, CM32]";
    if !gnutls_or_skip(cell) {
        return;
    }
    let cfg = our_server(&[CM32.id, CM80.id]).build().unwrap();
    let run = vs_gnutls_client(
        cell,
        cfg,
        "SRTP_AES128_CM_HMAC_SHA1_80:SRTP_AES128_CM_HMAC_SHA1_32",
        CM32.export_len,
    );
    check(&run, Some(CM32), &[]);
}

/// RFC 5764 §4.1.1: with no shared profile the server omits use_srtp and the connection
/// falls back to the DTLS cipher suite; our client must complete without SRTP.
#[test]
fn negotiation_no_common_profile_ours_client_vs_openssl_server() {
    let cell = "no common profile: ours client [GCM128] vs s_server [CM80]";
    let cfg = our_client(&[GCM128.id]).build().unwrap();
    let run = vs_openssl_server(cell, cfg, Some(CM80.openssl), PLAIN_EXPORT_LEN);
    check(&run, None, &[]);
}

/// Our server with no shared profile completes without use_srtp.
#[test]
fn negotiation_no_common_profile_ours_server_vs_openssl_client() {
    let cell = "no common profile: ours server [GCM256] vs s_client [CM80, CM32]";
    let cfg = our_server(&[GCM256.id]).build().unwrap();
    let run = vs_openssl_client(
        cell,
        cfg,
        Some("SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32"),
        PLAIN_EXPORT_LEN,
    );
    check(&run, None, &[]);
}

/// A server that does not do DTLS-SRTP at all (no use_srtp in its ServerHello).
#[test]
fn negotiation_openssl_server_without_srtp() {
    let cell = "no SRTP at the server: ours client [CM80] vs s_server (no -use_srtp)";
    let cfg = our_client(&[CM80.id]).build().unwrap();
    let run = vs_openssl_server(cell, cfg, None, PLAIN_EXPORT_LEN);
    check(&run, None, &[]);
}

/// The NULL profiles are off unless configured: gnutls-cli offering only SRTP_NULL_HMAC_SHA1_80
/// to our server configured with the AES profiles gets no SRTP (and the handshake completes).
#[test]
fn negotiation_null_profile_not_chosen_unless_configured_gnutls_client() {
    let cell = "NULL off: ours server [CM80, CM32] vs gnutls-cli [NULL80]";
    if !gnutls_or_skip(cell) {
        return;
    }
    let cfg = our_server(&[CM80.id, CM32.id]).build().unwrap();
    let run = vs_gnutls_client(cell, cfg, NULL80.iana, PLAIN_EXPORT_LEN);
    check(&run, None, &[]);
}

/// ... and chosen when listed; the keys still match GnuTLS's 60-byte export (GnuTLS sizes the
/// NULL profiles as 16-byte key + 14-byte salt, like the engine).
#[test]
fn negotiation_null_profile_when_configured_gnutls_client() {
    let cell = "NULL on: ours server [NULL80] vs gnutls-cli [CM80, NULL80]";
    if !gnutls_or_skip(cell) {
        return;
    }
    let cfg = our_server(&ids("SRTP_NULL_SHA1_80")).build().unwrap();
    let run = vs_gnutls_client(
        cell,
        cfg,
        "SRTP_AES128_CM_HMAC_SHA1_80:SRTP_NULL_HMAC_SHA1_80",
        NULL80.export_len,
    );
    check(&run, Some(NULL80), &[]);
}

// ---------------------------------------------------------------------------------------------
// Acceptance 2: MKI (RFC 5764 §4.1.1, §4.1.3)

const MKI: [u8; 4] = [0xA5, 0x01, 0x02, 0x5A];

/// OpenSSL's server skips the client's MKI and answers with an empty srtp_mki, which
/// §4.1.3 allows ("return an empty srtp_mki value to indicate that it cannot make use of the
/// MKI"); only a *nonzero-length* MKI different from ours must abort the handshake. So our
/// client must complete, with no MKI in use, and the keys must match.
#[test]
fn mki_ours_client_vs_openssl_server_answering_empty() {
    let cell = "MKI: ours client [CM80] with MKI vs s_server";
    let cfg = our_client(&[CM80.id]).srtp_mki(&MKI).build().unwrap();
    let run = vs_openssl_server(cell, cfg, Some(CM80.openssl), CM80.export_len);
    check(&run, Some(CM80), &[]);
}

/// GnuTLS's server (3.7) takes §4.1.3's other option and echoes the client's MKI: it is
/// carried through to our Connected event and SrtpKeyingMaterial, keys still equal.
#[test]
fn mki_ours_client_vs_gnutls_server_echoing() {
    let cell = "MKI: ours client [CM80] with MKI vs gnutls-serv";
    if !gnutls_or_skip(cell) {
        return;
    }
    let cfg = our_client(&[CM80.id]).srtp_mki(&MKI).build().unwrap();
    let run = vs_gnutls_server(cell, cfg, CM80.iana, CM80.export_len);
    check(&run, Some(CM80), &MKI);
}

/// An MKI in our server's config must not leak into the ServerHello: the server echoes the
/// client's MKI or sends an empty one (§4.1.3), never one the client did not offer. OpenSSL's
/// client offers none and aborts on any non-empty answer (bad SRTP MKI value).
#[test]
fn mki_configured_on_ours_server_vs_openssl_client() {
    let cell = "MKI: ours server [CM80] with an MKI configured vs s_client (no MKI)";
    let cfg = our_server(&[CM80.id]).srtp_mki(&MKI).build().unwrap();
    let run = vs_openssl_client(cell, cfg, Some(CM80.openssl), CM80.export_len);
    check(&run, Some(CM80), &[]);
}

/// Two engines in memory on the harness's virtual clock and link (`tests/common/pair.rs`);
/// `tamper` may rewrite the server's datagrams. Runs until both are connected or the client
/// fails; returns (client, server, client events, client result).
fn engine_pair(
    ccfg: Arc<Config>,
    scfg: Arc<Config>,
    mut tamper: impl FnMut(&mut Vec<u8>) + 'static,
) -> (Connection, Connection, Vec<Event>, Result<(), Error>) {
    let mut p = Pair::lossless(ccfg, scfg);
    p.tamper = Some(Box::new(move |side, _, mut d| {
        if side == SERVER {
            tamper(&mut d);
        }
        vec![d]
    }));
    p.run_until(60_000, |p| p.both_connected() || p.c.error.is_some());
    let events = p.c.event_list();
    let result = p.c.error().cloned().map_or(Ok(()), Err);
    let (client, server) = p.into_connections();
    (client, server, events, result)
}

fn pair_configs(mki: &[u8]) -> (Arc<Config>, Arc<Config>) {
    (
        our_client(&[GCM256.id, CM80.id])
            .srtp_mki(mki)
            .build()
            .unwrap(),
        our_server(&[CM80.id, GCM256.id]).build().unwrap(),
    )
}

/// Engine <-> engine: the client's MKI reaches the server (its Negotiated) and comes back in
/// the ServerHello (the client's Negotiated), and both SrtpKeyingMaterial carry it with equal
/// keys.
#[test]
fn mki_engine_pair_carried_both_ways() {
    let (c, s) = pair_configs(&MKI);
    let (client, server, _, r) = engine_pair(c, s, |_| {});
    r.expect("client");
    assert!(client.is_connected() && server.is_connected());
    for (who, conn) in [("client", &client), ("server", &server)] {
        let n = conn.negotiated().unwrap();
        assert_eq!(n.srtp_profile, Some(CM80.id), "{who}: server's order");
        assert_eq!(n.srtp_mki, MKI, "{who}: Negotiated.srtp_mki");
        let k = conn.srtp_keying_material().unwrap();
        assert_eq!(k.mki, MKI, "{who}: SrtpKeyingMaterial.mki");
        assert_eq!(k.material.len(), CM80.export_len, "{who}");
    }
    assert_eq!(
        client.srtp_keying_material().unwrap().material,
        server.srtp_keying_material().unwrap().material
    );
}

/// §4.1.3: "If the client detects a nonzero-length MKI in the server's response that is
/// different than the one the client offered, then the client MUST abort the handshake and
/// SHOULD send an invalid_parameter alert" (TLS has illegal_parameter). The ServerHello's
/// srtp_mki is rewritten in flight to another value of the same length.
#[test]
fn mki_engine_pair_changed_by_server_aborts() {
    // DTLS 1.2 pinned: the rewrite needs the ServerHello's use_srtp in the clear (DTLS 1.3
    // carries it in the encrypted EncryptedExtensions, where tampering fails the AEAD).
    let v12 = [ProtocolVersion::Dtls12];
    let c = our_client(&[GCM256.id, CM80.id])
        .srtp_mki(&MKI)
        .versions(&v12)
        .build()
        .unwrap();
    let s = our_server(&[CM80.id, GCM256.id])
        .versions(&v12)
        .build()
        .unwrap();
    // use_srtp (type 14), ext length 9: profiles<2..> = [CM-80], srtp_mki<0..255> = MKI.
    let mut pattern = vec![0x00, 0x0e, 0x00, 0x09, 0x00, 0x02, 0x00, 0x01, 0x04];
    pattern.extend_from_slice(&MKI);
    let rewritten = Rc::new(Cell::new(0));
    let count = rewritten.clone();
    let (client, _, events, r) = engine_pair(c, s, move |d| {
        if let Some(i) = d.windows(pattern.len()).position(|w| w == pattern) {
            d[i + 9..i + 13].copy_from_slice(&[0xEE; 4]);
            count.set(count.get() + 1);
        }
    });
    assert!(
        rewritten.get() >= 1,
        "the ServerHello's use_srtp was not found"
    );
    match r {
        Err(Error::PeerMisbehaved { alert, .. }) => {
            assert_eq!(alert, AlertDescription::IllegalParameter)
        }
        other => panic!("client must abort on a changed MKI, got {other:?}"),
    }
    assert!(!client.is_connected());
    assert!(!events.iter().any(|e| matches!(e, Event::Connected(_))));
}
