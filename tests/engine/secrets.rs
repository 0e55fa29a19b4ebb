//! Secrets never show in `Debug` output: the cookie key, private keys, session keys, SRTP
//! keys and buffered application data. (Zeroizing on drop is done by the types holding them:
//! `zeroize::Zeroizing` and explicit `Drop` impls, see src/dtls12/keys.rs, src/config.rs,
//! src/record/protection.rs, src/cert.rs, src/srtp.rs.)

use crate::common::pair::*;
use crate::version_tests;
use dtls_proto::*;

/// Every way `Debug` could print these bytes: decimal list, hex, upper-case hex.
fn leaks(debug: &str, secret: &[u8]) -> bool {
    let dec = secret
        .iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    debug.contains(&dec) || debug.to_lowercase().contains(&hex)
}

fn debug_output_redacts_every_secret(v: Version) {
    let scert = Certificate::generate("server").unwrap();
    let ccert = Certificate::generate("client").unwrap();
    let (_, key_pem) = scert.to_pem();
    let key_b64_line = key_pem.lines().nth(1).unwrap().to_owned();
    let cookie = [0xA7u8; 32];
    let scfg = builder(v)
        .certificate(scert.clone())
        .peer_verification(PeerVerification::DangerousAcceptAny)
        .srtp_profiles(&[0x0001])
        .cookie_secret(cookie)
        .build()
        .unwrap();
    let ccfg = builder(v)
        .certificate(ccert)
        .peer_verification(PeerVerification::DangerousAcceptAny)
        .srtp_profiles(&[0x0001])
        .build()
        .unwrap();
    let cfg_dbg = format!("{scfg:?} {scert:?}");
    assert!(!leaks(&cfg_dbg, &cookie), "cookie secret in {cfg_dbg}");
    assert!(!cfg_dbg.contains(&key_b64_line), "private key in Debug");

    let mut p = Pair::instant(ccfg, scfg);
    p.handshake(10_000);
    let (mut c, mut s) = p.into_connections();
    let mut buf = [0u8; 1500];
    assert!(c.is_connected() && s.is_connected());
    // Unread application data sits in the receiver's queue.
    let plaintext = b"the secret plaintext of the unread record";
    c.send(plaintext).unwrap();
    while let Some(n) = c.poll_transmit(0, &mut buf).unwrap() {
        s.handle_datagram(0, &buf[..n]).unwrap();
    }
    let km = s.srtp_keying_material().unwrap();
    let mut exported = [0u8; 32];
    s.export_keying_material(b"EXTRACTOR-test", None, &mut exported)
        .unwrap();
    let dbg = format!("{s:?} {c:?} {km:?}");
    assert!(!leaks(&dbg, &km.material[..16]), "SRTP key in {dbg}");
    assert!(!leaks(&dbg, &exported[..16]), "exporter output in {dbg}");
    assert!(
        !dbg.contains("secret plaintext") && !leaks(&dbg, &plaintext[..16]),
        "application data in {dbg}"
    );
    // Still useful: it says what was negotiated.
    assert!(dbg.contains("connected: true"), "{dbg}");
}
version_tests!(debug_output_redacts_every_secret);
