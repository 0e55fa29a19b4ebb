//! The record layer on arbitrary bytes: splitting a datagram into records (RFC 6347 §4.1),
//! header round trips, AEAD open on arbitrary bodies, seal/open round trips, and the replay
//! window (RFC 6347 §4.1.2.6).
#![no_main]

use dtls_proto::crypto::aead::AeadAlg;
use dtls_proto::msgs::alert::Alert;
use dtls_proto::msgs::codec::Codec;
use dtls_proto::msgs::record::{RecordHeader, Records, HEADER_LEN, MAX_SEQ};
use dtls_proto::record::protect12::RecordCipher;
use dtls_proto::record::replay::ReplayWindow;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut ciphers = [
        RecordCipher::new(AeadAlg::Aes128Gcm, &[7; 16], &[1; 4]).expect("key"),
        RecordCipher::new(AeadAlg::Chacha20Poly1305, &[9; 32], &[2; 12]).expect("key"),
    ];
    let mut window = ReplayWindow::new();
    let mut consumed = 0usize;
    for (i, (hdr, body, whole)) in Records::new(data).enumerate() {
        // The split is exact: header plus `length` bytes, nothing invented.
        assert_eq!(usize::from(hdr.length), body.len());
        assert_eq!(whole.len(), HEADER_LEN + body.len());
        assert_eq!(&data[consumed..consumed + whole.len()], whole);
        consumed += whole.len();
        assert_eq!(&hdr.to_bytes()[..], &whole[..HEADER_LEN]);
        assert_eq!(RecordHeader::from_bytes(&whole[..HEADER_LEN]), Some(hdr));
        assert!(hdr.seq <= MAX_SEQ);

        if let Some(a) = Alert::from_bytes(body) {
            assert_eq!(&a.to_bytes()[..], body);
        }

        let c = &mut ciphers[i % 2];
        // Opening junk fails cleanly, whatever its length.
        let mut junk = body.to_vec();
        let _ = c.open(&hdr, &mut junk);
        // Sealing the body as plaintext and opening it gives it back.
        if body.len() + c.overhead() <= usize::from(u16::MAX) {
            let mut buf = vec![0u8; HEADER_LEN + body.len() + c.overhead()];
            let p = HEADER_LEN + c.prefix_len();
            buf[p..p + body.len()].copy_from_slice(body);
            let n = c.seal(hdr, &mut buf, body.len()).expect("seal");
            assert_eq!(n, buf.len());
            let sealed = RecordHeader::from_bytes(&buf[..HEADER_LEN]).expect("header");
            assert_eq!(usize::from(sealed.length), n - HEADER_LEN);
            let r = c
                .open(&sealed, &mut buf[HEADER_LEN..])
                .expect("open what we sealed");
            assert_eq!(&buf[HEADER_LEN..][r], body);
            // One flipped bit anywhere in the ciphertext or tag must fail authentication.
            if !body.is_empty() {
                let flip = HEADER_LEN + (usize::from(body[0]) % (n - HEADER_LEN));
                buf[p..p + body.len()].copy_from_slice(body);
                let n2 = c.seal(hdr, &mut buf, body.len()).expect("seal");
                buf[flip] ^= 0x01;
                if flip >= p {
                    assert!(c.open(&sealed, &mut buf[HEADER_LEN..n2]).is_err());
                }
            }
        }

        // Replay window: check, then update only after "authentication".
        let fresh = window.check(hdr.seq);
        if fresh {
            window.update(hdr.seq);
            assert!(!window.check(hdr.seq), "a marked number must be refused");
            assert!(window.highest() >= Some(hdr.seq));
        }
    }
    assert!(consumed <= data.len());
});
