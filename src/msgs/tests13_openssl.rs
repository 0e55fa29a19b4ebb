//! The 1.3 codecs against a second implementation: real TLS 1.3 handshakes between two
//! in-memory OpenSSL endpoints (OpenSSL 3.0 has no DTLS 1.3, but the handshake bodies and the
//! transcript rules are TLS 1.3's). The encrypted flights are opened with the secrets from
//! OpenSSL's key log, every message is decoded with our codecs, and the peers' CertificateVerify
//! signatures and Finished MACs are checked over the transcript we build: that pins the
//! 4-byte transcript header, message_hash after a HelloRetryRequest, the signed content of
//! both roles and our 1.3 signature verification (ECDSA P-256/P-384, RSA-PSS, Ed25519).

use super::enums::ProtocolVersion;
use super::enums::{HandshakeType, NamedGroup, PskKeyExchangeMode};
use super::extensions13::{
    check_permitted, check_solicited, require, Cookie, ExtensionContext, KeyShareClientHello,
    KeyShareHelloRetryRequest, KeyShareServerHello, PskKeyExchangeModes, SignatureAlgorithms,
    SupportedGroups, SupportedVersionsClient, SupportedVersionsServer,
};
use super::handshake::ClientHello;
use super::handshake13::{
    certificate_verify_content, message_hash, Certificate13, CertificateRequest13, DigitallySigned,
    EncryptedExtensions, Finished13, ServerHello13,
};
use crate::crypto::hash::{hmac, HashAlg};
use crate::crypto::hkdf::expand_label_with_prefix;
use crate::crypto::testdata;
use crate::handshake::transcript::{HeaderKind, Transcript};
use crate::types::Role;
use crate::verify::signature::verify_signature_tls13;
use openssl::pkey::PKey;
use openssl::ssl::{ErrorCode, Ssl, SslContext, SslMethod, SslStream, SslVerifyMode, SslVersion};
use openssl::x509::X509;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

const TLS13: ProtocolVersion = ProtocolVersion::Unknown(0x0304);

/// One direction of an in-memory TLS connection: OpenSSL reads from `rx`, and what it
/// writes goes to the peer's `rx` and to `wire`, the record of everything sent.
struct Pipe {
    rx: Rc<RefCell<VecDeque<u8>>>,
    tx: Rc<RefCell<VecDeque<u8>>>,
    wire: Rc<RefCell<Vec<u8>>>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut rx = self.rx.borrow_mut();
        if rx.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(rx.len());
        for (i, b) in rx.drain(..n).enumerate() {
            buf[i] = b;
        }
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx.borrow_mut().extend(buf);
        self.wire.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct Creds {
    cert_pem: String,
    key_pem: String,
}

fn creds(cert_pem: &str, key_pem: &str) -> Creds {
    Creds {
        cert_pem: cert_pem.into(),
        key_pem: key_pem.into(),
    }
}

fn ed25519_creds() -> Creds {
    // OpenSSL 3.0 does not read rcgen's PKCS#8 v2 Ed25519 key; rcgen reads OpenSSL's v1.
    let key = PKey::generate_ed25519().unwrap();
    let key_pem = String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let kp = rcgen::KeyPair::from_pem(&key_pem).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["ed".into()])
        .unwrap()
        .self_signed(&kp)
        .unwrap();
    Creds {
        cert_pem: cert.pem(),
        key_pem,
    }
}

struct Case {
    server: Creds,
    client: Option<Creds>,
    suite: &'static str,
    hash: HashAlg,
    /// Force a HelloRetryRequest: the client's first key share is X25519, the server wants
    /// P-256.
    hrr: bool,
}

/// What one handshake left on the wire, and the handshake traffic secrets from the key log.
struct Capture {
    client_wire: Vec<u8>,
    server_wire: Vec<u8>,
    client_hs_secret: Vec<u8>,
    server_hs_secret: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn run(case: &Case) -> Capture {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let ctx = |server: bool| -> SslContext {
        let mut b = SslContext::builder(SslMethod::tls()).unwrap();
        b.set_min_proto_version(Some(SslVersion::TLS1_3)).unwrap();
        b.set_max_proto_version(Some(SslVersion::TLS1_3)).unwrap();
        b.set_ciphersuites(case.suite).unwrap();
        let l = log.clone();
        b.set_keylog_callback(move |_, line| l.lock().unwrap().push(line.to_string()));
        let own = if server {
            Some(&case.server)
        } else {
            case.client.as_ref()
        };
        if let Some(c) = own {
            b.set_certificate(&X509::from_pem(c.cert_pem.as_bytes()).unwrap())
                .unwrap();
            b.set_private_key(&PKey::private_key_from_pem(c.key_pem.as_bytes()).unwrap())
                .unwrap();
        }
        if server {
            if case.client.is_some() {
                b.set_verify_callback(
                    SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
                    |_, _| true,
                );
            }
            if case.hrr {
                b.set_groups_list("P-256").unwrap();
            }
        } else {
            b.set_verify(SslVerifyMode::NONE);
            if case.hrr {
                b.set_groups_list("X25519:P-256").unwrap();
            }
        }
        b.build()
    };
    let (c2s, s2c) = (Rc::default(), Rc::default());
    let (cw, sw) = (Rc::default(), Rc::default());
    let mut client_ssl = Ssl::new(&ctx(false)).unwrap();
    client_ssl.set_connect_state();
    let mut server_ssl = Ssl::new(&ctx(true)).unwrap();
    server_ssl.set_accept_state();
    let mut client = SslStream::new(
        client_ssl,
        Pipe {
            rx: Rc::clone(&s2c),
            tx: Rc::clone(&c2s),
            wire: Rc::clone(&cw),
        },
    )
    .unwrap();
    let mut server = SslStream::new(
        server_ssl,
        Pipe {
            rx: c2s,
            tx: s2c,
            wire: Rc::clone(&sw),
        },
    )
    .unwrap();
    let step = |r: Result<(), openssl::ssl::Error>| match r {
        Ok(()) => true,
        Err(e) if e.code() == ErrorCode::WANT_READ => false,
        Err(e) => panic!("OpenSSL handshake failed: {e}"),
    };
    let mut done = (false, false);
    for _ in 0..20 {
        if done == (true, true) {
            break;
        }
        done.0 = step(client.do_handshake());
        done.1 = step(server.do_handshake());
    }
    assert_eq!(done, (true, true), "handshake did not finish");
    let secret = |label: &str| -> Vec<u8> {
        let lines = log.lock().unwrap();
        let line = lines
            .iter()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{label} not logged"));
        unhex(line.rsplit(' ').next().unwrap())
    };
    let client_wire: Vec<u8> = cw.take();
    let server_wire: Vec<u8> = sw.take();
    Capture {
        client_wire,
        server_wire,
        client_hs_secret: secret("CLIENT_HANDSHAKE_TRAFFIC_SECRET "),
        server_hs_secret: secret("SERVER_HANDSHAKE_TRAFFIC_SECRET "),
    }
}

fn tls13_label(hash: HashAlg, secret: &[u8], label: &[u8], ctx: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    expand_label_with_prefix(hash, secret, b"tls13 ", label, ctx, &mut out).unwrap();
    out
}

/// The handshake messages of one direction, each with its 4-byte header: the plaintext
/// records, then the records under the handshake traffic secret (until one fails to open,
/// which is the first record under the application secret).
fn handshake_messages(wire: &[u8], hash: HashAlg, secret: &[u8], suite: &str) -> Vec<Vec<u8>> {
    let (alg, key_len): (&'static ring::aead::Algorithm, usize) = match suite {
        "TLS_AES_128_GCM_SHA256" => (&ring::aead::AES_128_GCM, 16),
        "TLS_AES_256_GCM_SHA384" => (&ring::aead::AES_256_GCM, 32),
        _ => (&ring::aead::CHACHA20_POLY1305, 32),
    };
    let key = tls13_label(hash, secret, b"key", b"", key_len);
    let iv = tls13_label(hash, secret, b"iv", b"", 12);
    let key = ring::aead::LessSafeKey::new(ring::aead::UnboundKey::new(alg, &key).unwrap());
    let mut stream = Vec::new();
    let mut seq = 0u64;
    let mut rest = wire;
    while rest.len() >= 5 {
        let len = u16::from_be_bytes([rest[3], rest[4]]) as usize;
        let (header, payload) = (&rest[..5], &rest[5..5 + len]);
        rest = &rest[5 + len..];
        match header[0] {
            22 => stream.extend_from_slice(payload),
            23 => {
                let mut nonce = [0u8; 12];
                nonce.copy_from_slice(&iv);
                for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
                    *n ^= s;
                }
                let mut buf = payload.to_vec();
                let Ok(plain) = key.open_in_place(
                    ring::aead::Nonce::assume_unique_for_key(nonce),
                    ring::aead::Aad::from(header),
                    &mut buf,
                ) else {
                    break;
                };
                seq += 1;
                let end = plain.iter().rposition(|b| *b != 0).unwrap();
                if plain[end] == 22 {
                    stream.extend_from_slice(&plain[..end]);
                }
            }
            _ => {} // change_cipher_spec (middlebox compatibility)
        }
    }
    let mut msgs = Vec::new();
    let mut s = &stream[..];
    while s.len() >= 4 {
        let len = u32::from_be_bytes([0, s[1], s[2], s[3]]) as usize;
        msgs.push(s[..4 + len].to_vec());
        s = &s[4 + len..];
    }
    msgs
}

/// A TLS ClientHello body in the DTLS form (an empty legacy_cookie after the session id).
fn as_dtls_client_hello(tls_body: &[u8]) -> Vec<u8> {
    let at = 35 + tls_body[34] as usize;
    let mut v = tls_body[..at].to_vec();
    v.push(0);
    v.extend_from_slice(&tls_body[at..]);
    v
}

fn body(msg: &[u8], t: HandshakeType) -> &[u8] {
    assert_eq!(HandshakeType::from(msg[0]), t);
    &msg[4..]
}

fn leaf_der(pem: &str) -> Vec<u8> {
    X509::from_pem(pem.as_bytes()).unwrap().to_der().unwrap()
}

fn check(case: Case) {
    let cap = run(&case);
    let h = case.hash;
    let cmsgs = handshake_messages(&cap.client_wire, h, &cap.client_hs_secret, case.suite);
    let smsgs = handshake_messages(&cap.server_wire, h, &cap.server_hs_secret, case.suite);
    let mut c = cmsgs.iter();
    let mut s = smsgs.iter();
    let mut transcript: Vec<u8> = Vec::new();
    // The engine's own Transcript (4-byte headers, message_hash) fed the same messages must
    // hash the same at every point a signature or MAC covers.
    let mut lt = Transcript::new(HeaderKind::Tls13);
    let both = |t: &mut Vec<u8>, lt: &mut Transcript, msg: &[u8]| {
        t.extend_from_slice(msg);
        lt.add(HandshakeType::from(msg[0]), 0, &msg[4..]);
    };

    let ch1 = c.next().unwrap();
    let ch =
        ClientHello::decode(&as_dtls_client_hello(body(ch1, HandshakeType::ClientHello))).unwrap();
    let e = &ch.extensions;
    assert_eq!(check_permitted(e, ExtensionContext::ClientHello), Ok(()));
    assert!(require::<SupportedVersionsClient>(e)
        .unwrap()
        .0
        .contains(&TLS13));
    assert!(!require::<SignatureAlgorithms>(e).unwrap().0.is_empty());
    assert!(require::<SupportedGroups>(e)
        .unwrap()
        .0
        .contains(&NamedGroup::Secp256r1));
    assert_eq!(
        require::<PskKeyExchangeModes>(e),
        Ok(PskKeyExchangeModes(vec![PskKeyExchangeMode::PskDheKe]))
    );
    let shares = require::<KeyShareClientHello>(e).unwrap();
    assert!(shares.get(NamedGroup::X25519).is_some());
    let mut offered = ch.extensions.clone();

    let mut sh_msg = s.next().unwrap();
    let mut sh = ServerHello13::decode(body(sh_msg, HandshakeType::ServerHello)).unwrap();
    assert_eq!(sh.is_hello_retry_request(), case.hrr);
    if case.hrr {
        let hrr = &sh.extensions;
        assert_eq!(
            check_permitted(hrr, ExtensionContext::HelloRetryRequest),
            Ok(())
        );
        assert_eq!(
            check_solicited(hrr, &offered, ExtensionContext::HelloRetryRequest),
            Ok(())
        );
        assert_eq!(
            require::<KeyShareHelloRetryRequest>(hrr),
            Ok(KeyShareHelloRetryRequest(NamedGroup::Secp256r1))
        );
        // RFC 8446 §4.4.1: ClientHello1 becomes message_hash(Hash(ClientHello1)).
        transcript.extend_from_slice(&message_hash(&h.hash(ch1)));
        lt.add(HandshakeType::ClientHello, 0, &ch1[4..]);
        lt.replace_with_message_hash(h);
        assert_eq!(lt.bytes(), transcript);
        both(&mut transcript, &mut lt, sh_msg);
        let ch2_msg = c.next().unwrap();
        let ch2 = ClientHello::decode(&as_dtls_client_hello(body(
            ch2_msg,
            HandshakeType::ClientHello,
        )))
        .unwrap();
        let shares = require::<KeyShareClientHello>(&ch2.extensions).unwrap();
        assert_eq!(shares.0.len(), 1);
        assert_eq!(shares.0[0].group, NamedGroup::Secp256r1);
        if let Some(cookie) = super::extensions13::find::<Cookie>(hrr).unwrap() {
            assert_eq!(require::<Cookie>(&ch2.extensions), Ok(cookie));
        }
        both(&mut transcript, &mut lt, ch2_msg);
        offered = ch2.extensions.clone();
        sh_msg = s.next().unwrap();
        sh = ServerHello13::decode(body(sh_msg, HandshakeType::ServerHello)).unwrap();
        assert!(!sh.is_hello_retry_request());
    } else {
        both(&mut transcript, &mut lt, ch1);
    }
    both(&mut transcript, &mut lt, sh_msg);
    assert_eq!(sh.legacy_session_id_echo, ch.session_id);
    assert_eq!(
        check_permitted(&sh.extensions, ExtensionContext::ServerHello),
        Ok(())
    );
    assert_eq!(
        check_solicited(&sh.extensions, &offered, ExtensionContext::ServerHello),
        Ok(())
    );
    assert_eq!(
        require::<SupportedVersionsServer>(&sh.extensions),
        Ok(SupportedVersionsServer(TLS13))
    );
    let share = require::<KeyShareServerHello>(&sh.extensions).unwrap().0;
    assert_eq!(
        share.group,
        if case.hrr {
            NamedGroup::Secp256r1
        } else {
            NamedGroup::X25519
        }
    );

    let ee_msg = s.next().unwrap();
    let ee = EncryptedExtensions::decode(body(ee_msg, HandshakeType::EncryptedExtensions)).unwrap();
    assert_eq!(
        check_permitted(&ee.extensions, ExtensionContext::EncryptedExtensions),
        Ok(())
    );
    assert_eq!(
        check_solicited(
            &ee.extensions,
            &offered,
            ExtensionContext::EncryptedExtensions
        ),
        Ok(())
    );
    both(&mut transcript, &mut lt, ee_msg);

    let mut next = s.next().unwrap();
    if case.client.is_some() {
        let cr =
            CertificateRequest13::decode(body(next, HandshakeType::CertificateRequest)).unwrap();
        assert!(cr.context.is_empty());
        assert!(!cr.signature_schemes().unwrap().is_empty());
        assert_eq!(
            check_permitted(&cr.extensions, ExtensionContext::CertificateRequest),
            Ok(())
        );
        both(&mut transcript, &mut lt, next);
        next = s.next().unwrap();
    }

    let server_leaf = leaf_der(&case.server.cert_pem);
    let cert = Certificate13::decode(body(next, HandshakeType::Certificate), 8).unwrap();
    assert!(cert.context.is_empty());
    assert_eq!(cert.chain()[0], &server_leaf[..]);
    both(&mut transcript, &mut lt, next);

    // The server's CertificateVerify over Hash(transcript so far), checked by our 1.3 rules.
    let cv_msg = s.next().unwrap();
    let cv = DigitallySigned::decode(body(cv_msg, HandshakeType::CertificateVerify)).unwrap();
    assert_eq!(lt.hash(h), h.hash(&transcript));
    let content = certificate_verify_content(Role::Server, &h.hash(&transcript));
    assert_eq!(
        verify_signature_tls13(&server_leaf, cv.scheme, &content, &cv.signature),
        Ok(()),
        "server scheme {:04x}",
        cv.scheme
    );
    let wrong = certificate_verify_content(Role::Client, &h.hash(&transcript));
    assert!(verify_signature_tls13(&server_leaf, cv.scheme, &wrong, &cv.signature).is_err());
    both(&mut transcript, &mut lt, cv_msg);

    let finished_ok = |msg: &[u8], secret: &[u8], transcript: &[u8]| {
        let fin = Finished13::decode(body(msg, HandshakeType::Finished), h.output_len()).unwrap();
        let key = tls13_label(h, secret, b"finished", b"", h.output_len());
        assert_eq!(fin.verify_data, hmac(h, &key, &[&h.hash(transcript)]));
    };
    let fin = s.next().unwrap();
    finished_ok(fin, &cap.server_hs_secret, &transcript);
    both(&mut transcript, &mut lt, fin);

    if let Some(client) = &case.client {
        let client_leaf = leaf_der(&client.cert_pem);
        let cert_msg = c.next().unwrap();
        let cert = Certificate13::decode(body(cert_msg, HandshakeType::Certificate), 8).unwrap();
        assert_eq!(cert.chain()[0], &client_leaf[..]);
        both(&mut transcript, &mut lt, cert_msg);
        let cv_msg = c.next().unwrap();
        let cv = DigitallySigned::decode(body(cv_msg, HandshakeType::CertificateVerify)).unwrap();
        assert_eq!(lt.hash(h), h.hash(&transcript));
        let content = certificate_verify_content(Role::Client, &h.hash(&transcript));
        assert_eq!(
            verify_signature_tls13(&client_leaf, cv.scheme, &content, &cv.signature),
            Ok(()),
            "client scheme {:04x}",
            cv.scheme
        );
        both(&mut transcript, &mut lt, cv_msg);
    }
    let fin = c.next().unwrap();
    assert_eq!(lt.hash(h), h.hash(&transcript));
    assert_eq!(lt.bytes(), transcript);
    finished_ok(fin, &cap.client_hs_secret, &transcript);
    assert!(c.next().is_none());
}

#[test]
fn openssl_p256_server_aes128() {
    check(Case {
        server: creds(testdata::P256_CERT, testdata::P256_PKCS8),
        client: None,
        suite: "TLS_AES_128_GCM_SHA256",
        hash: HashAlg::Sha256,
        hrr: false,
    });
}

#[test]
fn openssl_rsa_pss_server_hrr_sha384_p384_client() {
    check(Case {
        server: creds(testdata::RSA_CERT, testdata::RSA_PKCS8),
        client: Some(creds(testdata::P384_CERT, testdata::P384_PKCS8)),
        suite: "TLS_AES_256_GCM_SHA384",
        hash: HashAlg::Sha384,
        hrr: true,
    });
}

#[test]
fn openssl_ed25519_server_rsa_client_chacha() {
    check(Case {
        server: ed25519_creds(),
        client: Some(creds(testdata::RSA_CERT, testdata::RSA_PKCS8)),
        suite: "TLS_CHACHA20_POLY1305_SHA256",
        hash: HashAlg::Sha256,
        hrr: false,
    });
}

#[test]
fn openssl_p384_server_p256_client_hrr() {
    check(Case {
        server: creds(testdata::P384_CERT, testdata::P384_PKCS8),
        client: Some(creds(testdata::P256_CERT, testdata::P256_PKCS8)),
        suite: "TLS_AES_128_GCM_SHA256",
        hash: HashAlg::Sha256,
        hrr: true,
    });
}
