//! Writes the seed corpora of the fuzz targets from real handshake transcripts: engine<->engine
//! (several configurations) and engine<->in-process OpenSSL (tests/common/ossl.rs), both roles.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example gen_corpus [OUT_DIR]   # default fuzz/corpus
//! ```
//!
//! The recordings use the fixed configurations of `dtls_fuzz` (seeded randomness, fixed cookie
//! secret and peer address, time 0), so a recorded ClientHello with its cookie passes a fresh
//! fuzzed server's cookie check, and a recorded server flight is valid for a fresh fuzzed
//! client: the seeds reach the deep states. Kept small on purpose (tens of files per target).

#[path = "../../tests/common/ossl.rs"]
#[allow(dead_code)]
mod ossl;

use dtls_fuzz::{
    frame, honest_transcript, Endpoint, Item, F_CLIENT_AUTH, F_COOKIES, F_IN_PLACE, F_SMALL_MTU,
    F_V13, SERVER_CERT_PEM, SERVER_KEY_PEM,
};
use dtls_proto::msgs::codec::Codec;
use dtls_proto::msgs::enums::ContentType;
use dtls_proto::msgs::handshake::HandshakeHeader;
use dtls_proto::msgs::record::Records;
use ossl::{OsslEndpoint, OsslOptions};
use std::path::{Path, PathBuf};

/// (datagram sent by the client?, bytes) in sending order.
type Log = Vec<(bool, Vec<u8>)>;

/// Our endpoint against OpenSSL, lossless. `ours_is_server` picks the roles.
fn with_openssl(ours_is_server: bool, flags: u8) -> Log {
    let mut peer = OsslEndpoint::new(OsslOptions {
        role_server: !ours_is_server,
        cert_chain_pem: (!ours_is_server).then(|| SERVER_CERT_PEM.to_vec()),
        key_pem: (!ours_is_server).then(|| SERVER_KEY_PEM.to_vec()),
        cookie_exchange: !ours_is_server && flags & F_COOKIES != 0,
        cipher_list: Some("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305".into()),
        ..OsslOptions::default()
    });
    let mut ours = if ours_is_server {
        Endpoint::server(flags)
    } else {
        Endpoint::client(flags)
    };
    let mut log = Log::new();
    // Rounds left once application data was sent (to deliver it both ways).
    let mut tail: Option<u32> = None;
    for _ in 0..64 {
        let peer_ok = peer.step().expect("OpenSSL handshake");
        for d in peer.take_output() {
            ours.feed(&d);
            log.push((ours_is_server, d));
        }
        for d in ours.drain() {
            peer.feed(&d);
            log.push((!ours_is_server, d));
        }
        match tail {
            None if peer_ok && ours.connected => {
                peer.write(b"hello from OpenSSL").expect("write");
                ours.conn.send(b"hello from dtls-proto").expect("send");
                tail = Some(3);
            }
            Some(0) => break,
            Some(n) => tail = Some(n - 1),
            None => {}
        }
    }
    assert!(ours.connected, "handshake with OpenSSL");
    log
}

/// The datagrams one side received.
fn to_side(log: &Log, to_server: bool) -> Vec<Vec<u8>> {
    log.iter()
        .filter(|(from_client, _)| *from_client == to_server)
        .map(|(_, d)| d.clone())
        .collect()
}

fn engine_input(flags: u8, datagrams: &[Vec<u8>]) -> Vec<u8> {
    let items: Vec<Item<'_>> = datagrams.iter().map(|d| Item::Datagram(d)).collect();
    frame(flags, &items)
}

/// Epoch-0 handshake record payloads (runs of fragments).
fn handshake_payloads(datagrams: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for d in datagrams {
        for (h, body, _) in Records::new(d) {
            if h.epoch == 0 && h.content_type == ContentType::Handshake {
                out.push(body.to_vec());
            }
        }
    }
    out
}

/// The fragments of `datagrams` in the reassembly target's input format.
fn reassembly_input(datagrams: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in handshake_payloads(datagrams) {
        let mut r = dtls_proto::msgs::codec::Reader::new(&p);
        while let Some(h) = HandshakeHeader::read(&mut r) {
            let Some(data) = r.take(h.frag_len as usize) else {
                break;
            };
            out.push(0); // op: fragment
            out.push(h.msg_type.get());
            out.extend_from_slice(&(h.length as u16).to_be_bytes());
            out.push((h.msg_seq % 12) as u8);
            out.extend_from_slice(&(h.frag_off as u16).to_be_bytes());
            out.extend_from_slice(&(h.frag_len as u16).to_be_bytes());
            out.push(0); // epoch 0
            out.extend_from_slice(data);
            out.push(4); // op: pop
        }
    }
    out
}

struct Out {
    root: PathBuf,
    files: usize,
}

impl Out {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(name), bytes).expect("write seed");
        self.files += 1;
    }
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    let mut out = Out { root, files: 0 };

    let mut logs: Vec<(String, u8, Log)> = Vec::new();
    for flags in [
        0,
        F_COOKIES,
        F_COOKIES | F_CLIENT_AUTH,
        F_COOKIES | F_SMALL_MTU,
        F_CLIENT_AUTH | F_SMALL_MTU,
    ] {
        logs.push((format!("engine-f{flags}"), flags, honest_transcript(flags)));
    }
    logs.push((
        "openssl-client-f1".into(),
        F_COOKIES,
        with_openssl(true, F_COOKIES),
    ));
    logs.push(("openssl-client-f0".into(), 0, with_openssl(true, 0)));
    logs.push((
        "openssl-server-f1".into(),
        F_COOKIES,
        with_openssl(false, F_COOKIES),
    ));
    logs.push(("openssl-server-f0".into(), 0, with_openssl(false, 0)));

    for (name, flags, log) in &logs {
        let is_openssl_client = name.starts_with("openssl-client");
        let is_openssl_server = name.starts_with("openssl-server");
        let to_server = to_side(log, true);
        let to_client = to_side(log, false);
        // Whole engines: what the endpoint under test received, from the start.
        if !is_openssl_server {
            out.put("engine_server", name, &engine_input(*flags, &to_server));
            out.put("ffi", name, &engine_input(*flags | 0x80, &to_server));
        }
        if !is_openssl_client {
            out.put("engine_client", name, &engine_input(*flags, &to_client));
            out.put(
                "ffi",
                &format!("{name}-c"),
                &engine_input(*flags, &to_client),
            );
        }
        // The zero-copy record path on the same traffic.
        if name.starts_with("engine") && flags & F_CLIENT_AUTH == 0 {
            let f = *flags | F_IN_PLACE;
            out.put(
                "engine_server",
                &format!("{name}-inplace"),
                &engine_input(f, &to_server),
            );
            out.put(
                "engine_client",
                &format!("{name}-inplace"),
                &engine_input(f, &to_client),
            );
            out.put(
                "ffi",
                &format!("{name}-inplace"),
                &engine_input(f | 0x80, &to_server),
            );
        }
        // After a prefix: replays of what the endpoint received (retransmissions, late copies).
        if name.starts_with("engine") {
            for k in [2u8, 5, 23] {
                let mut s = vec![k];
                s.extend(engine_input(*flags, &to_server));
                out.put("engine_server_prefix", &format!("{name}-k{k}"), &s);
                let mut c = vec![k];
                c.extend(engine_input(*flags, &to_client));
                out.put("engine_client_prefix", &format!("{name}-k{k}"), &c);
            }
        }
        // Parsers: datagrams, handshake payloads, fragments.
        let all: Vec<Vec<u8>> = log.iter().map(|(_, d)| d.clone()).collect();
        for (i, d) in all.iter().enumerate().take(4) {
            out.put("record", &format!("{name}-{i}"), d);
        }
        for (i, p) in handshake_payloads(&all).iter().enumerate().take(3) {
            out.put("handshake", &format!("{name}-{i}"), p);
        }
        out.put("reassembly", name, &reassembly_input(&all));
    }
    // DTLS 1.3: engine<->engine transcripts for the `*13` targets (their flags byte keeps the
    // F_V13 bit, which they force anyway).
    for flags in [
        0,
        F_COOKIES,
        F_COOKIES | F_CLIENT_AUTH,
        F_COOKIES | F_SMALL_MTU,
        F_CLIENT_AUTH | F_SMALL_MTU,
    ] {
        let f = flags | F_V13;
        let name = format!("engine13-f{flags}");
        let log = honest_transcript(f);
        let to_server = to_side(&log, true);
        let to_client = to_side(&log, false);
        // Unlike 1.2's, these do not replay past the ServerHello: the ECDHE shares come from
        // the system RNG (ring), and in 1.3 the server's flight is encrypted under keys that
        // depend on the client's share. The `*_prefix` targets (which take F_V13 from their
        // flags byte) reach the deep states instead, after an honest prefix.
        for k in [2u8, 5, 9, 23] {
            let mut sp = vec![k];
            sp.extend(engine_input(f, &to_server));
            out.put("engine_server_prefix", &format!("{name}-k{k}"), &sp);
            let mut cp = vec![k];
            cp.extend(engine_input(f, &to_client));
            out.put("engine_client_prefix", &format!("{name}-k{k}"), &cp);
        }
        out.put("engine_server13", &name, &engine_input(f, &to_server));
        out.put("engine_client13", &name, &engine_input(f, &to_client));
        if flags & F_CLIENT_AUTH == 0 {
            let g = f | F_IN_PLACE;
            let n = format!("{name}-inplace");
            out.put("engine_server13", &n, &engine_input(g, &to_server));
            out.put("engine_client13", &n, &engine_input(g, &to_client));
        }
        let all: Vec<Vec<u8>> = log.iter().map(|(_, d)| d.clone()).collect();
        for (i, d) in all.iter().enumerate().take(6) {
            out.put("record", &format!("{name}-{i}"), d);
        }
    }
    println!(
        "wrote {} seed files under {}",
        out.files,
        out.root.display()
    );
}
