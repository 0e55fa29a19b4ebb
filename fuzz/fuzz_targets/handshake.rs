//! Handshake fragments and every DTLS 1.2 handshake message decoder on arbitrary bytes. Each
//! fragment body is offered to every decoder; whatever decodes must re-encode to something
//! that decodes to the same value (RFC 5246 §7.4, RFC 6347 §4.2.2, §4.3.2).
#![no_main]

use dtls_proto::msgs::codec::{Codec, Reader};
use dtls_proto::msgs::extensions::{self as ext, Extensions, UseSrtp};
use dtls_proto::msgs::handshake::{
    Certificate12, CertificateRequest12, ClientHello, ClientHelloPrefix, ClientKeyExchange,
    DigitallySigned, HandshakeHeader, HelloVerifyRequest, ServerHello, ServerKeyExchange,
    HANDSHAKE_HEADER_LEN,
};
use libfuzzer_sys::fuzz_target;

macro_rules! round_trip {
    ($t:ty, $body:expr) => {
        if let Ok(v) = <$t>::decode($body) {
            let mut again = Vec::new();
            v.encode(&mut again);
            assert_eq!(<$t>::decode(&again).as_ref(), Ok(&v), stringify!($t));
        }
    };
}

fn all_decoders(body: &[u8]) {
    round_trip!(ClientHello, body);
    round_trip!(ServerHello, body);
    round_trip!(HelloVerifyRequest, body);
    round_trip!(ServerKeyExchange, body);
    round_trip!(CertificateRequest12, body);
    round_trip!(ClientKeyExchange, body);
    round_trip!(DigitallySigned, body);
    if let Ok(c) = Certificate12::decode(body, 10) {
        assert!(c.chain.len() <= 10);
        let mut again = Vec::new();
        c.encode(&mut again);
        assert_eq!(Certificate12::decode(&again, 10), Ok(c));
    }
    if let Some(p) = ClientHelloPrefix::read(body) {
        assert_eq!(p.random.len(), 32);
        // The prefix of a full ClientHello agrees with the full decode.
        if let Ok(ch) = ClientHello::decode(body) {
            assert_eq!(p.version, ch.version.get());
            assert_eq!(p.random, ch.random);
            assert_eq!(p.cookie, &ch.cookie[..]);
        }
    }
    if let Ok(e) = Extensions::read_block(&mut Reader::new(body)) {
        let mut again = Vec::new();
        e.encode_block(&mut again);
        assert_eq!(Extensions::read_block(&mut Reader::new(&again)), Ok(e));
    }
    let _ = ext::read_u16_list(body);
    let _ = ext::read_alpn(body);
    let _ = ext::read_server_name(body);
    let _ = ext::ec_point_formats_ok(body);
    if let Some(s) = UseSrtp::from_bytes(body) {
        assert_eq!(UseSrtp::from_bytes(&s.to_bytes()), Some(s));
    }
}

fuzz_target!(|data: &[u8]| {
    // As a record payload: a run of fragments.
    let mut r = Reader::new(data);
    let mut n = 0;
    while let Some(h) = HandshakeHeader::read(&mut r) {
        assert_eq!(HandshakeHeader::from_bytes(&h.to_bytes()), Some(h));
        assert_eq!(h.to_bytes().len(), HANDSHAKE_HEADER_LEN);
        let Some(frag) = r.take(h.frag_len as usize) else {
            break;
        };
        if h.frag_off == 0 && h.frag_len == h.length {
            all_decoders(frag);
        }
        n += 1;
        if n > 64 {
            break;
        }
    }
    // As a bare message body.
    all_decoders(data);
});
