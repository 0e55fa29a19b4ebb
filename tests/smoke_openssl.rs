mod common;
use common::{fixtures::fixture, ossl::*};
use dtls_proto::*;

fn chain() -> Vec<u8> {
    let mut c = fixture("server.crt");
    c.extend(fixture("int.crt"));
    c
}

fn drive(engine: &mut Connection, peer: &mut OsslEndpoint) -> Result<(), String> {
    let mut buf = vec![0u8; 2048];
    for _ in 0..50 {
        while let Some(n) = engine
            .poll_transmit(0, &mut buf)
            .map_err(|e| e.to_string())?
        {
            peer.feed(&buf[..n]);
        }
        let _ = peer.step();
        for d in peer.take_output() {
            engine
                .handle_datagram(0, &d)
                .map_err(|e| format!("engine: {e}"))?;
        }
        if engine.is_connected() && peer.is_connected() {
            return Ok(());
        }
    }
    Err(format!("no handshake; peer error {:?}", peer.error()))
}

#[test]
fn engine_client_vs_openssl_server() {
    let mut peer = OsslEndpoint::new(OsslOptions {
        role_server: true,
        cert_chain_pem: Some(chain()),
        key_pem: Some(fixture("server.key")),
        cookie_exchange: true,
        ..Default::default()
    });
    let cfg = Config::builder()
        .root_certificates_pem(&fixture("ca.crt"))
        .build()
        .unwrap();
    let mut c = Connection::new(cfg, Role::Client, Some("dtls-server"), 0).unwrap();
    drive(&mut c, &mut peer).unwrap();
    let mut a = vec![0u8; 32];
    c.export_keying_material(b"EXTRACTOR-dtls_srtp", None, &mut a)
        .unwrap();
    assert_eq!(
        a,
        peer.export_keying_material("EXTRACTOR-dtls_srtp", None, 32)
    );
}

#[test]
fn openssl_client_vs_engine_server() {
    let mut peer = OsslEndpoint::new(OsslOptions {
        role_server: false,
        ca_pem: Some(fixture("ca.crt")),
        verify_peer: true,
        cert_chain_pem: Some([fixture("client.crt"), fixture("int.crt")].concat()),
        key_pem: Some(fixture("client.key")),
        ..Default::default()
    });
    let cert = Certificate::from_pem(&chain(), &fixture("server.key")).unwrap();
    let cfg = Config::builder()
        .certificate(cert)
        .root_certificates_pem(&fixture("ca.crt"))
        .require_client_certificate(true)
        .build()
        .unwrap();
    let mut s = Connection::new(cfg, Role::Server, None, 0).unwrap();
    drive(&mut s, &mut peer).unwrap();
    let mut a = vec![0u8; 32];
    s.export_keying_material(b"EXTRACTOR-dtls_srtp", None, &mut a)
        .unwrap();
    assert_eq!(
        a,
        peer.export_keying_material("EXTRACTOR-dtls_srtp", None, 32)
    );
}
