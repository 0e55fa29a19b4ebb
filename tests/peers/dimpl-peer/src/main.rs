//! dimpl_peer: a DTLS 1.2 / 1.3 peer over UDP on dimpl 0.9, for the interop tests in
//! tests/interop_peers.rs. The same flags and the same output lines as tests/peers/pion:
//!
//! ```text
//! listening 127.0.0.1:PORT                          server: the socket is bound
//! connected version=1.3 srtp=0x0007                 (srtp=none without DTLS-SRTP)
//! export HEX                                        EXTRACTOR-dtls_srtp output, upper-case hex
//! recv "TEXT"                                       one application record received
//! sent "TEXT"                                       one application record sent
//! closed                                            close_notify received
//! error: ...                                        fatal; exit status 1
//! ```
//!
//! dimpl's limits show in the flags: it always offers (client) or accepts (server) its three
//! SRTP profiles and cannot be told otherwise, so `-srtp` is checked after the handshake (the
//! negotiated profile must be in the list) instead of configured; its only exporter is the
//! DTLS-SRTP one, so `-export` accepts `EXTRACTOR-dtls_srtp:LEN` with LEN the profile's length;
//! it reports no cipher suite, so `connected` has no `suite=`. `-min 1.2 -max 1.3` uses dimpl's
//! auto-sensing mode (hybrid ClientHello / version from the whole ClientHello).

use dimpl::{Config, Dtls, DtlsCertificate, NamedGroup, Output, ProtocolVersion, SrtpProfile};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::process::exit;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn fail(msg: impl std::fmt::Display) -> ! {
    println!("error: {msg}");
    let _ = std::io::stdout().flush();
    exit(1)
}

struct Args {
    server: bool,
    addr: SocketAddr,
    min: ProtocolVersion,
    max: ProtocolVersion,
    cert: String,
    key: String,
    pin: Option<Vec<u8>>,
    srtp: Option<Vec<u16>>,
    groups: Option<Vec<NamedGroup>>,
    export: Option<(String, usize)>,
    echo: bool,
    send: Option<String>,
    timeout: Duration,
}

fn version(s: &str) -> ProtocolVersion {
    match s {
        "1.2" => ProtocolVersion::DTLS1_2,
        "1.3" => ProtocolVersion::DTLS1_3,
        _ => fail(format!("unknown version {s:?} (1.2 or 1.3)")),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| *c != ':').collect();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn srtp_id(name: &str) -> u16 {
    match name {
        "SRTP_AES128_CM_HMAC_SHA1_80" => 0x0001,
        "SRTP_AES128_CM_HMAC_SHA1_32" => 0x0002,
        "SRTP_AEAD_AES_128_GCM" => 0x0007,
        "SRTP_AEAD_AES_256_GCM" => 0x0008,
        n => {
            let parsed = match n.strip_prefix("0x") {
                Some(h) => u16::from_str_radix(h, 16),
                None => n.parse(),
            };
            parsed.unwrap_or_else(|_| fail(format!("unknown SRTP profile {n:?}")))
        }
    }
}

fn profile_id(p: SrtpProfile) -> u16 {
    match p {
        SrtpProfile::AES128_CM_SHA1_80 => 0x0001,
        SrtpProfile::AEAD_AES_128_GCM => 0x0007,
        SrtpProfile::AEAD_AES_256_GCM => 0x0008,
        _ => 0xffff,
    }
}

fn group(name: &str) -> NamedGroup {
    match name {
        "X25519" => NamedGroup::X25519,
        "P-256" => NamedGroup::Secp256r1,
        "P-384" => NamedGroup::Secp384r1,
        _ => fail(format!("unknown or unsupported group {name:?}")),
    }
}

fn parse_args() -> Args {
    let mut a = Args {
        server: false,
        addr: "127.0.0.1:0".parse().expect("literal"),
        min: ProtocolVersion::DTLS1_2,
        max: ProtocolVersion::DTLS1_3,
        cert: String::new(),
        key: String::new(),
        pin: None,
        srtp: None,
        groups: None,
        export: None,
        echo: false,
        send: None,
        timeout: Duration::from_secs(20),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let flag = flag.trim_start_matches('-').to_string();
        if flag == "echo" {
            a.echo = true;
            continue;
        }
        let v = it
            .next()
            .unwrap_or_else(|| fail(format!("-{flag} needs a value")));
        match flag.as_str() {
            "role" => {
                a.server = match v.as_str() {
                    "server" => true,
                    "client" => false,
                    _ => fail(format!("unknown role {v:?}")),
                }
            }
            "addr" => a.addr = v.parse().unwrap_or_else(|e| fail(format!("-addr: {e}"))),
            "min" => a.min = version(&v),
            "max" => a.max = version(&v),
            "cert" => a.cert = v,
            "key" => a.key = v,
            "pin" => {
                let pin = unhex(&v).filter(|p| p.len() == 32);
                a.pin = Some(pin.unwrap_or_else(|| fail("bad -pin: want 32 bytes of hex")));
            }
            "srtp" => a.srtp = Some(v.split(',').map(srtp_id).collect()),
            "groups" => a.groups = Some(v.split(',').map(group).collect()),
            "export" => {
                let (label, len) = v
                    .split_once(':')
                    .and_then(|(l, n)| Some((l.to_string(), n.parse().ok()?)))
                    .unwrap_or_else(|| fail("bad -export: want LABEL:LEN"));
                if label != "EXTRACTOR-dtls_srtp" {
                    fail("dimpl exports only EXTRACTOR-dtls_srtp");
                }
                a.export = Some((label, len));
            }
            "send" => a.send = Some(v),
            "timeout" => {
                let secs = v.trim_end_matches('s').parse::<f64>();
                a.timeout = Duration::from_secs_f64(
                    secs.unwrap_or_else(|_| fail("bad -timeout: want seconds, e.g. 20s")),
                );
            }
            _ => fail(format!("unknown flag -{flag}")),
        }
    }
    if a.cert.is_empty() || a.key.is_empty() {
        fail("-cert and -key are required (dimpl always authenticates with a certificate)");
    }
    a
}

fn load_certificate(cert: &str, key: &str) -> DtlsCertificate {
    // dimpl sends the leaf only.
    let leaf = CertificateDer::pem_file_iter(cert)
        .ok()
        .and_then(|mut it| it.next())
        .and_then(Result::ok)
        .unwrap_or_else(|| fail(format!("no certificate in {cert}")));
    let key = match PrivateKeyDer::from_pem_file(key) {
        Ok(PrivateKeyDer::Pkcs8(k)) => k.secret_pkcs8_der().to_vec(),
        Ok(PrivateKeyDer::Sec1(k)) => k.secret_sec1_der().to_vec(),
        _ => fail(format!("no PKCS#8 or SEC1 key in {key}")),
    };
    DtlsCertificate {
        certificate: leaf.to_vec(),
        private_key: key,
    }
}

/// The output of one connection, printed once the handshake's events are all in.
#[derive(Default)]
struct State {
    connected: bool,
    announced: bool,
    peer_cert_ok: bool,
    keying: Option<(Vec<u8>, SrtpProfile)>,
    outgoing: Vec<Vec<u8>>,
}

fn main() {
    let args = parse_args();
    let deadline = Instant::now() + args.timeout;

    let mut builder = Config::builder()
        .require_client_certificate(args.pin.is_some())
        .flight_start_rto(Duration::from_millis(200));
    if let Some(g) = &args.groups {
        builder = builder.kx_groups(g);
    }
    let config = Arc::new(
        builder
            .build()
            .unwrap_or_else(|e| fail(format!("config: {e}"))),
    );
    let cert = load_certificate(&args.cert, &args.key);
    let now = Instant::now();
    let mut dtls = match (args.min, args.max) {
        (ProtocolVersion::DTLS1_2, ProtocolVersion::DTLS1_2) => Dtls::new_12(config, cert, now),
        (ProtocolVersion::DTLS1_3, ProtocolVersion::DTLS1_3) => Dtls::new_13(config, cert, now),
        (ProtocolVersion::DTLS1_2, ProtocolVersion::DTLS1_3) => Dtls::new_auto(config, cert, now),
        _ => fail("-min is above -max"),
    };
    dtls.set_active(!args.server);

    let sock = if args.server {
        UdpSocket::bind(args.addr)
    } else {
        UdpSocket::bind("127.0.0.1:0")
    }
    .unwrap_or_else(|e| fail(format!("bind: {e}")));
    let mut peer = if args.server {
        let local = sock.local_addr().unwrap_or_else(|e| fail(e));
        println!("listening {local}");
        let _ = std::io::stdout().flush();
        None
    } else {
        Some(args.addr)
    };

    // dimpl panics on a datagram that arrives before its first timeout call: make that call now.
    if let Err(e) = dtls.handle_timeout(Instant::now()) {
        fail(format!("handle_timeout: {e}"));
    }

    let mut st = State::default();
    if let Some(text) = &args.send {
        st.outgoing.push(text.as_bytes().to_vec());
    }
    let mut out = vec![0u8; 2048];
    let mut rx = vec![0u8; 65_535];
    loop {
        if Instant::now() >= deadline {
            fail(format!("timeout after {:?}", args.timeout));
        }
        // Drain everything the engine has, up to the Timeout that ends each poll cycle.
        let mut wake = deadline;
        loop {
            match dtls.poll_output(&mut out) {
                Output::Packet(p) => {
                    if let Some(to) = peer {
                        let _ = sock.send_to(p, to);
                    }
                }
                Output::BufferTooSmall { needed } => out.resize(needed, 0),
                Output::Timeout(t) => {
                    wake = wake.min(t);
                    break;
                }
                Output::Connected => st.connected = true,
                Output::PeerCert(der) => {
                    let fp = Sha256::digest(der);
                    match &args.pin {
                        Some(pin) if fp.as_slice() != pin.as_slice() => fail(format!(
                            "peer fingerprint {} does not match the pin",
                            hex(&fp)
                        )),
                        _ => st.peer_cert_ok = true,
                    }
                }
                Output::KeyingMaterial(km, profile) => st.keying = Some((km.to_vec(), profile)),
                Output::ApplicationData(data) => {
                    println!("recv {:?}", String::from_utf8_lossy(data));
                    if args.echo {
                        st.outgoing.push(data.to_vec());
                    }
                }
                Output::CloseNotify => {
                    println!("closed");
                    let _ = dtls.close();
                    // Send our own close_notify before leaving.
                    while let Output::Packet(p) = dtls.poll_output(&mut out) {
                        if let Some(to) = peer {
                            let _ = sock.send_to(p, to);
                        }
                    }
                    let _ = std::io::stdout().flush();
                    exit(0);
                }
                _ => {}
            }
        }

        if st.connected && !st.announced {
            st.announced = true;
            if args.pin.is_some() && !st.peer_cert_ok {
                fail("connected without a peer certificate to check against the pin");
            }
            let version = match dtls.protocol_version() {
                Some(ProtocolVersion::DTLS1_2) => "1.2".to_string(),
                Some(ProtocolVersion::DTLS1_3) => "1.3".to_string(),
                v => format!("{v:?}"),
            };
            let srtp = match &st.keying {
                Some((_, p)) => format!("0x{:04x}", profile_id(*p)),
                None => "none".into(),
            };
            println!("connected version={version} srtp={srtp}");
            if let Some(allowed) = &args.srtp {
                let got = st.keying.as_ref().map(|(_, p)| profile_id(*p));
                if !got.is_some_and(|g| allowed.contains(&g)) {
                    fail(format!("SRTP profile {srtp} is not one of -srtp"));
                }
            }
            if let Some((_, len)) = &args.export {
                match &st.keying {
                    Some((km, _)) if km.len() == *len => println!("export {}", hex(km)),
                    Some((km, p)) => fail(format!(
                        "dimpl exports {} bytes for {p}, not {len}",
                        km.len()
                    )),
                    None => fail("no SRTP profile negotiated, so dimpl exports nothing"),
                }
            }
        }
        if st.announced && !st.outgoing.is_empty() {
            for data in std::mem::take(&mut st.outgoing) {
                if let Err(e) = dtls.send_application_data(&data) {
                    fail(format!("send: {e}"));
                }
                println!("sent {:?}", String::from_utf8_lossy(&data));
            }
            let _ = std::io::stdout().flush();
            continue; // Drain the records just queued.
        }
        let _ = std::io::stdout().flush();

        let now = Instant::now();
        let wait = wake
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        let _ = sock.set_read_timeout(Some(wait));
        match sock.recv_from(&mut rx) {
            Ok((n, from)) => {
                if peer.is_none() {
                    peer = Some(from);
                }
                if peer == Some(from) {
                    // dimpl reads the time only from handle_timeout: bring it up to date first.
                    if let Err(e) = dtls.handle_timeout(Instant::now()) {
                        fail(format!("handle_timeout: {e}"));
                    }
                    if let Err(e) = dtls.handle_packet(&rx[..n]) {
                        fail(format!("handle_packet: {e}"));
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                        | std::io::ErrorKind::ConnectionRefused
                ) => {}
            Err(e) => fail(format!("recv: {e}")),
        }
        if Instant::now() >= wake {
            if let Err(e) = dtls.handle_timeout(Instant::now()) {
                fail(format!("handle_timeout: {e}"));
            }
        }
    }
}
