//! DTLS 1.3 record protection (RFC 9147 §4, RFC 8446 §5.2–5.4): AEAD over the
//! DTLSInnerPlaintext, and record number encryption (RFC 9147 §4.2.3).
//!
//! The facts each step rests on:
//! - Nonce: the static `iv` XOR the 64-bit record sequence number, left-padded with zeros
//!   (RFC 8446 §5.3). DTLS 1.3 uses the sequence number alone: "In DTLS 1.3 the 64-bit
//!   sequence_number is used as the sequence number for the AEAD computation; unlike DTLS 1.2,
//!   the epoch is not included" (RFC 9147 §4). Each epoch has its own keys, so nonces still
//!   never repeat under one key.
//! - Additional data: "The entire header value shown in Figure 4 (but prior to record number
//!   encryption; see Section 4.2.3)" (RFC 9147 §4): the unified header with the *plaintext*
//!   sequence number bytes, CID and length included. So the sender seals first and masks the
//!   sequence number afterwards; the receiver unmasks in place, and the header bytes it then
//!   holds are exactly the additional data.
//! - Record number mask: AES-ECB(sn_key, ciphertext[0..16]) for AES-GCM suites, the ChaCha20
//!   block with counter ciphertext[0..4] and nonce ciphertext[4..16] for ChaCha20-Poly1305
//!   (RFC 9147 §4.2.3). This is QUIC's header protection construction (RFC 9001 §5.4.3–5.4.4),
//!   which `ring::aead::quic` implements; the tests check it against OpenSSL.
//! - DTLSInnerPlaintext = content || ContentType || zeros (RFC 9147 §4, RFC 8446 §5.4).
//!
//! Sealing and opening work in place on caller buffers, with no allocation per record.

use crate::crypto::aead::{AeadAlg, AeadKey, NONCE_LEN, TAG_LEN};
use crate::crypto::CryptoError;
use crate::msgs::enums::ContentType;
use crate::msgs::record13::{reconstruct_seq, UnifiedHeader, MAX_SENT_HEADER_LEN};
use crate::record::protect12::GCM_SEAL_LIMIT_BLOCKS;
use ring::aead::quic;
use std::ops::Range;
use zeroize::Zeroize;

/// Ciphertext bytes record number encryption samples; shorter records cannot be opened.
pub const SAMPLE_LEN: usize = 16;

/// Largest content of one record (RFC 8446 §5.1: 2^14).
pub const MAX_CONTENT_LEN: usize = 1 << 14;

/// Largest encrypted record (RFC 8446 §5.2: 2^14 + 256).
pub const MAX_ENCRYPTED_LEN: usize = (1 << 14) + 256;

/// Records that may fail authentication under one key before the connection should close, for
/// AES-GCM and ChaCha20-Poly1305 (RFC 9147 §4.5.3: 2^36).
pub const AUTH_FAILURE_LIMIT: u64 = 1 << 36;

/// Why a record could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open13Error {
    /// Too short to sample (RFC 9147 §4.2.3), too long, or failed authentication: drop the
    /// record silently (RFC 9147 §4.5.2). Counted in [`RecordCipher13::auth_failures`].
    Drop,
    /// Authentic, but the inner plaintext holds no non-zero byte, so no content type: a fatal
    /// `unexpected_message` (RFC 8446 §5.4).
    NoContentType,
}

/// A record opened by [`RecordCipher13::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened13 {
    /// The true content type, from inside the protection.
    pub content_type: ContentType,
    /// The full, reconstructed sequence number: feed it to the replay window and, as the new
    /// highest if it is, to the next reconstruction.
    pub seq: u64,
    /// The content within the body, padding and content type stripped.
    pub range: Range<usize>,
}

/// One direction's protection for one DTLS 1.3 epoch.
pub struct RecordCipher13 {
    key: AeadKey,
    iv: [u8; NONCE_LEN],
    sn_key: quic::HeaderProtectionKey,
    /// AES blocks sealed so far and the most allowed, as in the DTLS 1.2 cipher (`u64::MAX`
    /// for ChaCha20-Poly1305, whose limit exceeds any sequence number space we use).
    sealed_blocks: u64,
    seal_limit_blocks: u64,
    /// Records that failed to open under this key (RFC 9147 §4.5.3 counts them).
    auth_failures: u64,
}

impl std::fmt::Debug for RecordCipher13 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordCipher13")
            .field("alg", &self.key.alg())
            .finish_non_exhaustive()
    }
}

impl Drop for RecordCipher13 {
    fn drop(&mut self) {
        self.iv.zeroize();
    }
}

impl RecordCipher13 {
    /// A cipher from a traffic secret's `key`, `iv` (12 bytes) and `sn_key` (as long as the AEAD
    /// key). `BadKey` for any wrong length.
    pub fn new(alg: AeadAlg, key: &[u8], iv: &[u8], sn_key: &[u8]) -> Result<Self, CryptoError> {
        let iv: [u8; NONCE_LEN] = iv.try_into().map_err(|_| CryptoError::BadKey)?;
        let (sn_alg, limit) = match alg {
            AeadAlg::Aes128Gcm => (&quic::AES_128, GCM_SEAL_LIMIT_BLOCKS),
            AeadAlg::Aes256Gcm => (&quic::AES_256, GCM_SEAL_LIMIT_BLOCKS),
            AeadAlg::Chacha20Poly1305 => (&quic::CHACHA20, u64::MAX),
        };
        if sn_key.len() != alg.key_len() {
            return Err(CryptoError::BadKey);
        }
        let sn_key =
            quic::HeaderProtectionKey::new(sn_alg, sn_key).map_err(|_| CryptoError::BadKey)?;
        Ok(RecordCipher13 {
            key: AeadKey::new(alg, key)?,
            iv,
            sn_key,
            sealed_blocks: 0,
            seal_limit_blocks: limit,
            auth_failures: 0,
        })
    }

    /// The AEAD of this cipher.
    pub fn alg(&self) -> AeadAlg {
        self.key.alg()
    }

    /// True once three quarters of the confidentiality budget are spent: time for a KeyUpdate.
    pub fn near_limit(&self) -> bool {
        self.seal_limit_blocks != u64::MAX && self.sealed_blocks >= self.seal_limit_blocks / 4 * 3
    }

    /// Records that failed to open under this key; compare with [`AUTH_FAILURE_LIMIT`].
    pub fn auth_failures(&self) -> u64 {
        self.auth_failures
    }

    #[cfg(test)]
    pub(crate) fn set_seal_limit_blocks(&mut self, blocks: u64) {
        self.seal_limit_blocks = blocks;
    }

    /// Bytes of the header [`RecordCipher13::seal`] writes before the content.
    pub const fn header_len() -> usize {
        MAX_SENT_HEADER_LEN
    }

    /// Bytes a record grows by around `content_len` bytes of content with `padding` zeros:
    /// header, content type, padding and tag.
    pub fn overhead(padding: usize) -> usize {
        MAX_SENT_HEADER_LEN + 1 + padding + TAG_LEN
    }

    /// The per-record nonce: the iv XOR the 64-bit sequence number (RFC 8446 §5.3).
    pub fn nonce(&self, seq: u64) -> [u8; NONCE_LEN] {
        let mut n = self.iv;
        for (a, b) in n[NONCE_LEN - 8..].iter_mut().zip(seq.to_be_bytes()) {
            *a ^= b;
        }
        n
    }

    /// The record number mask from the first 16 bytes of `ciphertext` (RFC 9147 §4.2.3); ring
    /// gives five bytes, of which a sequence number uses one or two. `None` if shorter.
    fn mask(&self, ciphertext: &[u8]) -> Option<[u8; 5]> {
        self.sn_key.new_mask(ciphertext.get(..SAMPLE_LEN)?).ok()
    }

    /// Seals one record in place. `out[header_len()..][..content_len]` holds the content; this
    /// writes the unified header (2-byte sequence number, length), the content type, `padding`
    /// zero bytes and the tag, encrypts the record number, and returns the record's length.
    /// `out` must hold `content_len + overhead(padding)` bytes. Fails with `UsageLimit`, sealing
    /// nothing, once the key's confidentiality budget is spent; `SealFailed` for a short `out`
    /// or more than 2^14 bytes of content.
    pub fn seal(
        &mut self,
        epoch: u64,
        seq: u64,
        content_type: ContentType,
        out: &mut [u8],
        content_len: usize,
        padding: usize,
    ) -> Result<usize, CryptoError> {
        let hdr_len = MAX_SENT_HEADER_LEN;
        let inner_len = content_len
            .checked_add(1)
            .and_then(|n| n.checked_add(padding))
            .ok_or(CryptoError::SealFailed)?;
        let enc_len = inner_len + TAG_LEN;
        let total = hdr_len + enc_len;
        if content_len > MAX_CONTENT_LEN || enc_len > MAX_ENCRYPTED_LEN || out.len() < total {
            return Err(CryptoError::SealFailed);
        }
        // With a 16-byte tag every ciphertext is long enough to sample; the check keeps that
        // true should a shorter-tag AEAD ever be added (RFC 9147 §4.2.3: senders pad).
        debug_assert!(enc_len >= SAMPLE_LEN);
        let blocks = inner_len.div_ceil(16) as u64 + 1;
        match self.sealed_blocks.checked_add(blocks) {
            Some(n) if n <= self.seal_limit_blocks => self.sealed_blocks = n,
            _ => return Err(CryptoError::UsageLimit),
        }
        let (hdr, rest) = out.split_at_mut(hdr_len);
        let header = UnifiedHeader::new(epoch, seq, enc_len as u16);
        header.write_to(hdr).ok_or(CryptoError::SealFailed)?;
        rest[content_len] = content_type.get();
        rest[content_len + 1..inner_len].fill(0);
        let tag = self
            .key
            .seal_in_place(self.nonce(seq), hdr, &mut rest[..inner_len])?;
        rest[inner_len..enc_len].copy_from_slice(&tag);
        let mask = self.mask(&rest[..enc_len]).ok_or(CryptoError::SealFailed)?;
        let at = header.seq_offset();
        for (b, m) in hdr[at..at + header.seq_len()].iter_mut().zip(mask) {
            *b ^= m;
        }
        Ok(total)
    }

    /// Decrypts the record number of a received record in place: unmasks the sequence number
    /// bytes of `header_bytes` (whose parse is `header`) with the mask from `body`, and returns
    /// the plain low bits. Afterwards `header_bytes` is the record's additional data.
    /// `Drop` (counted) for a body shorter than 16 bytes (RFC 9147 §4.2.3: "Receivers MUST
    /// reject shorter records as if they had failed deprotection") or a header that does not
    /// match its parse.
    pub fn decrypt_record_number(
        &mut self,
        header: &UnifiedHeader,
        header_bytes: &mut [u8],
        body: &[u8],
    ) -> Result<u16, Open13Error> {
        let at = header.seq_offset();
        let n = header.seq_len();
        let mask = match self.mask(body) {
            Some(m) if header_bytes.len() == header.len() => m,
            _ => {
                self.auth_failures += 1;
                return Err(Open13Error::Drop);
            }
        };
        let field = &mut header_bytes[at..at + n];
        for (b, m) in field.iter_mut().zip(mask) {
            *b ^= m;
        }
        Ok(if n == 2 {
            u16::from_be_bytes([field[0], field[1]])
        } else {
            u16::from(field[0])
        })
    }

    /// Opens a record whose record number is already decrypted (see
    /// [`RecordCipher13::decrypt_record_number`]): `aad` is its header bytes, `seq` the full
    /// sequence number. Strips the padding and returns the content type and content range.
    pub fn open_decrypted(
        &mut self,
        seq: u64,
        aad: &[u8],
        body: &mut [u8],
    ) -> Result<Opened13, Open13Error> {
        if body.len() < SAMPLE_LEN || body.len() > MAX_ENCRYPTED_LEN {
            self.auth_failures += 1;
            return Err(Open13Error::Drop);
        }
        let n = match self.key.open_in_place(self.nonce(seq), aad, body) {
            Ok(n) => n,
            Err(_) => {
                self.auth_failures += 1;
                return Err(Open13Error::Drop);
            }
        };
        // The content type is the last non-zero byte; everything after it is padding
        // (RFC 8446 §5.4). A content longer than 2^14 is a record_overflow in TLS; here the
        // authenticated peer broke the protocol all the same.
        match body[..n].iter().rposition(|&b| b != 0) {
            Some(i) if i <= MAX_CONTENT_LEN => Ok(Opened13 {
                content_type: ContentType::from(body[i]),
                seq,
                range: 0..i,
            }),
            _ => Err(Open13Error::NoContentType),
        }
    }

    /// Opens a received DTLSCiphertext record in place: record number decryption, sequence
    /// number reconstruction against `highest` (the highest sequence number deprotected so far
    /// in this epoch, RFC 9147 §4.2.2), AEAD open and padding removal. `header_bytes` and `body`
    /// are the record's two parts (e.g. from `RecordSpan::split_mut`); both are modified.
    /// The caller checks the replay window with the returned `seq` and updates it only now
    /// that the record is authentic (RFC 9147 §4.5.1).
    pub fn open(
        &mut self,
        header: &UnifiedHeader,
        header_bytes: &mut [u8],
        body: &mut [u8],
        highest: Option<u64>,
    ) -> Result<Opened13, Open13Error> {
        let bits = self.decrypt_record_number(header, header_bytes, body)?;
        let seq = reconstruct_seq(bits, header.seq_width(), highest);
        self.open_decrypted(seq, header_bytes, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::record13::{Record13, RecordCursor, Records13};
    use openssl::symm::{self, Cipher, Crypter, Mode};

    const SUITES: [(AeadAlg, usize); 3] = [
        (AeadAlg::Aes128Gcm, 16),
        (AeadAlg::Aes256Gcm, 32),
        (AeadAlg::Chacha20Poly1305, 32),
    ];

    fn cipher(alg: AeadAlg, klen: usize) -> RecordCipher13 {
        RecordCipher13::new(alg, &vec![0x11; klen], &[0x22; 12], &vec![0x33; klen]).unwrap()
    }

    fn seal_vec(
        c: &mut RecordCipher13,
        epoch: u64,
        seq: u64,
        ct: ContentType,
        content: &[u8],
        padding: usize,
    ) -> Vec<u8> {
        let mut buf = vec![0u8; content.len() + RecordCipher13::overhead(padding)];
        buf[5..5 + content.len()].copy_from_slice(content);
        let n = c
            .seal(epoch, seq, ct, &mut buf, content.len(), padding)
            .unwrap();
        assert_eq!(n, buf.len());
        buf
    }

    /// Opens the single record of `dg` through the datagram parser, as the record layer will.
    fn open_dg(
        c: &mut RecordCipher13,
        dg: &mut [u8],
        highest: Option<u64>,
    ) -> Result<(Opened13, Vec<u8>), Open13Error> {
        let span = RecordCursor::new(0).next(dg).expect("one record");
        let crate::msgs::record13::Header13::Ciphertext(h) = span.header else {
            panic!("not a ciphertext: {span:?}");
        };
        let (hdr, body) = span.split_mut(dg).unwrap();
        let o = c.open(&h, hdr, body, highest)?;
        let content = body[o.range.clone()].to_vec();
        Ok((o, content))
    }

    #[test]
    fn round_trip_all_suites() {
        for (alg, klen) in SUITES {
            let (mut tx, mut rx) = (cipher(alg, klen), cipher(alg, klen));
            assert_eq!(tx.alg(), alg);
            for (seq, content, padding) in [
                (0u64, &b""[..], 0usize),
                (1, b"x", 0),
                (2, b"hello dtls 1.3", 7),
                (0x1_0005, &[0xa5; 1000][..], 0),
                (0x1_0006, &[0u8; 40][..], 3), // content ending in zeros survives unpadding
                (7, &[9u8; MAX_CONTENT_LEN][..], 0),
            ] {
                let ct = ContentType::ApplicationData;
                let mut rec = seal_vec(&mut tx, 3, seq, ct, content, padding);
                assert_eq!(rec[0], 0b0010_1111, "epoch 3, S and L set");
                let enc_len = u16::from_be_bytes([rec[3], rec[4]]) as usize;
                assert_eq!(enc_len, content.len() + 1 + padding + TAG_LEN);
                let (o, got) = open_dg(&mut rx, &mut rec, seq.checked_sub(1)).unwrap();
                assert_eq!(o.content_type, ct);
                assert_eq!(o.seq, seq);
                assert_eq!(got, content, "{alg:?} seq {seq}");
                // After opening, the header holds the plain sequence number bytes.
                assert_eq!(u16::from_be_bytes([rec[1], rec[2]]), seq as u16);
            }
            assert_eq!(rx.auth_failures(), 0);
            // Too much content is refused.
            let mut big = vec![0u8; MAX_CONTENT_LEN + 1 + RecordCipher13::overhead(0)];
            assert_eq!(
                tx.seal(
                    3,
                    9,
                    ContentType::Handshake,
                    &mut big,
                    MAX_CONTENT_LEN + 1,
                    0
                ),
                Err(CryptoError::SealFailed)
            );
            assert_eq!(
                tx.seal(3, 9, ContentType::Handshake, &mut [0u8; 30], 10, 0),
                Err(CryptoError::SealFailed)
            );
        }
    }

    #[test]
    fn the_sequence_number_is_encrypted_on_the_wire() {
        for (alg, klen) in SUITES {
            let mut tx = cipher(alg, klen);
            let mut differ = 0;
            for seq in 0..64u64 {
                let rec = seal_vec(&mut tx, 2, seq, ContentType::Handshake, b"abc", 0);
                let wire = u16::from_be_bytes([rec[1], rec[2]]);
                let mask = tx.mask(&rec[5..]).unwrap();
                assert_eq!(wire ^ u16::from_be_bytes([mask[0], mask[1]]), seq as u16);
                differ += usize::from(wire != seq as u16);
            }
            assert!(differ > 60, "{alg:?}: {differ}");
        }
    }

    #[test]
    fn tampering_and_wrong_keys_are_dropped_and_counted() {
        for (alg, klen) in SUITES {
            let (mut tx, mut rx) = (cipher(alg, klen), cipher(alg, klen));
            let rec = seal_vec(&mut tx, 2, 41, ContentType::Handshake, b"finished!", 2);
            assert!(open_dg(&mut rx, &mut rec.clone(), Some(40)).is_ok());
            let mut expect_failures = 0;
            // Any flipped bit after the first byte: sequence number (then the nonce or AAD is
            // wrong), length (then the AAD is wrong, or the body is cut), body or tag.
            for i in 1..rec.len() {
                let mut bad = rec.clone();
                bad[i] ^= 0x01;
                if RecordCursor::new(0).next(&bad).is_none() {
                    // A length past the datagram: the parser drops it before any key is used.
                    assert!(i == 3 || i == 4, "{i}");
                    continue;
                }
                let r = open_dg(&mut rx, &mut bad, Some(40));
                assert_eq!(r.unwrap_err(), Open13Error::Drop, "{alg:?} byte {i}");
                expect_failures += 1;
            }
            // Changed epoch bits in the first byte: authenticated as AAD.
            let mut bad = rec.clone();
            bad[0] ^= 0x01;
            assert_eq!(
                open_dg(&mut rx, &mut bad, Some(40)).unwrap_err(),
                Open13Error::Drop
            );
            expect_failures += 1;
            // A sequence number reconstructed into the wrong window: wrong nonce.
            assert_eq!(
                open_dg(&mut rx, &mut rec.clone(), Some(41 + 0x1_0000)).unwrap_err(),
                Open13Error::Drop
            );
            expect_failures += 1;
            // Another key.
            let mut other =
                RecordCipher13::new(alg, &vec![0x12; klen], &[0x22; 12], &vec![0x33; klen])
                    .unwrap();
            assert_eq!(
                open_dg(&mut other, &mut rec.clone(), Some(40)).unwrap_err(),
                Open13Error::Drop
            );
            assert_eq!(other.auth_failures(), 1);
            assert_eq!(rx.auth_failures(), expect_failures);
        }
    }

    #[test]
    fn short_records_cannot_be_opened() {
        let mut rx = cipher(AeadAlg::Aes128Gcm, 16);
        // A minimal header and 15 bytes: nothing to sample.
        let mut dg = vec![0b0010_0010, 0x05];
        dg.extend_from_slice(&[0x77; 15]);
        let rec = Records13::new(&dg, 0).next().unwrap();
        assert!(matches!(rec, Record13::Ciphertext { encrypted, .. } if encrypted.len() == 15));
        assert_eq!(
            open_dg(&mut rx, &mut dg, None).unwrap_err(),
            Open13Error::Drop
        );
        // 16 bytes can be sampled, and then fail authentication.
        dg.push(0);
        assert_eq!(
            open_dg(&mut rx, &mut dg, None).unwrap_err(),
            Open13Error::Drop
        );
        assert_eq!(rx.auth_failures(), 2);
        // A header that does not match its parse is refused rather than sliced.
        let h = UnifiedHeader::new(0, 0, 0);
        assert_eq!(
            rx.decrypt_record_number(&h, &mut [0u8; 3], &[0u8; 16]),
            Err(Open13Error::Drop)
        );
    }

    #[test]
    fn all_zero_inner_plaintext_has_no_content_type() {
        let (mut tx, mut rx) = (
            cipher(AeadAlg::Aes128Gcm, 16),
            cipher(AeadAlg::Aes128Gcm, 16),
        );
        let mut rec = seal_vec(&mut tx, 2, 0, ContentType::Unknown(0), &[0u8; 8], 4);
        assert_eq!(
            open_dg(&mut rx, &mut rec, None).unwrap_err(),
            Open13Error::NoContentType
        );
        // Authentic: not a forgery attempt.
        assert_eq!(rx.auth_failures(), 0);
        // An unknown non-zero type is returned as such, for the caller to refuse.
        let mut rec = seal_vec(&mut tx, 2, 1, ContentType::Unknown(99), b"?", 0);
        let (o, _) = open_dg(&mut rx, &mut rec, Some(0)).unwrap();
        assert_eq!(o.content_type, ContentType::Unknown(99));
    }

    /// The whole record computed by a second implementation: OpenSSL's AEAD with the nonce and
    /// additional data this module claims RFC 9147 requires, then OpenSSL's AES-ECB / ChaCha20
    /// for the record number mask.
    #[test]
    fn records_match_an_openssl_construction() {
        for (alg, klen) in SUITES {
            let key: Vec<u8> = (0..klen as u8).collect();
            let iv: Vec<u8> = (100..112).collect();
            let sn_key: Vec<u8> = (0..klen as u8).map(|b| b ^ 0x5c).collect();
            let mut c = RecordCipher13::new(alg, &key, &iv, &sn_key).unwrap();
            let (epoch, seq) = (6u64, 0x0102_0304_0506_0708u64);
            let content = b"interop is the only test that counts";
            let rec = seal_vec(&mut c, epoch, seq, ContentType::ApplicationData, content, 3);

            let mut nonce = iv.clone();
            for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
                *n ^= s;
            }
            let mut inner = content.to_vec();
            inner.push(23);
            inner.extend_from_slice(&[0; 3]);
            let enc_len = (inner.len() + 16) as u16;
            // 0b001 0 1 1 10: no CID, 16-bit seq, length, epoch 6 & 3; plain seq low bits.
            let aad = [0x2e, 0x07, 0x08, (enc_len >> 8) as u8, enc_len as u8];
            let aead = match alg {
                AeadAlg::Aes128Gcm => Cipher::aes_128_gcm(),
                AeadAlg::Aes256Gcm => Cipher::aes_256_gcm(),
                AeadAlg::Chacha20Poly1305 => Cipher::chacha20_poly1305(),
            };
            let mut tag = [0u8; 16];
            let ct = symm::encrypt_aead(aead, &key, Some(&nonce), &aad, &inner, &mut tag).unwrap();
            let mask = openssl_mask(alg, &sn_key, &ct[..16]);
            let mut expected = aad.to_vec();
            expected[1] ^= mask[0];
            expected[2] ^= mask[1];
            expected.extend_from_slice(&ct);
            expected.extend_from_slice(&tag);
            assert_eq!(rec, expected, "{alg:?}");
        }
    }

    /// The record number mask by OpenSSL: AES-ECB of the sample, or the ChaCha20 keystream under
    /// a 16-byte IV = counter (little-endian, as OpenSSL and RFC 9001 read it) || nonce.
    fn openssl_mask(alg: AeadAlg, sn_key: &[u8], sample: &[u8]) -> Vec<u8> {
        let (cipher, iv, input) = match alg {
            AeadAlg::Aes128Gcm => (Cipher::aes_128_ecb(), None, sample.to_vec()),
            AeadAlg::Aes256Gcm => (Cipher::aes_256_ecb(), None, sample.to_vec()),
            AeadAlg::Chacha20Poly1305 => (Cipher::chacha20(), Some(sample), vec![0u8; 16]),
        };
        let mut c = Crypter::new(cipher, Mode::Encrypt, sn_key, iv).unwrap();
        c.pad(false);
        let mut out = vec![0u8; 32 + 16];
        let n = c.update(&input, &mut out).unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn record_number_masks_match_openssl() {
        let mut rng = crate::crypto::rng::Rng::seeded(9147);
        for (alg, klen) in SUITES {
            for _ in 0..50 {
                let mut sn_key = vec![0u8; klen];
                let mut sample = [0u8; 16];
                rng.fill(&mut sn_key).unwrap();
                rng.fill(&mut sample).unwrap();
                let c = RecordCipher13::new(alg, &vec![0; klen], &[0; 12], &sn_key).unwrap();
                let ours = c.mask(&sample).unwrap();
                assert_eq!(
                    ours[..],
                    openssl_mask(alg, &sn_key, &sample)[..5],
                    "{alg:?}"
                );
            }
        }
        // Fixed values, so a change in either library shows up here too. AES-128 of the zero
        // block under the zero key is FIPS-197's well-known 66e94bd4ef8a2c3b884cfa59ca342b2e.
        let c = RecordCipher13::new(AeadAlg::Aes128Gcm, &[0; 16], &[0; 12], &[0; 16]).unwrap();
        assert_eq!(c.mask(&[0u8; 16]).unwrap(), [0x66, 0xe9, 0x4b, 0xd4, 0xef]);
        // ChaCha20 block, zero key, counter 0, zero nonce (RFC 8439 §A.1 test vector #1).
        let c =
            RecordCipher13::new(AeadAlg::Chacha20Poly1305, &[0; 32], &[0; 12], &[0; 32]).unwrap();
        assert_eq!(c.mask(&[0u8; 16]).unwrap(), [0x76, 0xb8, 0xe0, 0xad, 0xa0]);
        // Counter 1 (RFC 8439 §A.1 test vector #2 starts 9f07e7be).
        let mut sample = [0u8; 16];
        sample[0] = 1;
        assert_eq!(c.mask(&sample).unwrap()[..4], [0x9f, 0x07, 0xe7, 0xbe]);
        assert!(c.mask(&[0u8; 15]).is_none());
    }

    /// Random datagrams through the parser and `open`: no panic, every failure a counted drop.
    #[test]
    fn random_records_never_panic() {
        let mut rng = crate::crypto::rng::Rng::seeded(4);
        let mut rx = cipher(AeadAlg::Chacha20Poly1305, 32);
        let mut dg = [0u8; 80];
        let mut opened = 0;
        for _ in 0..5_000 {
            rng.fill(&mut dg).unwrap();
            dg[0] = 0x20 | (dg[0] & 0x0f);
            let len = 1 + dg[79] as usize % 79;
            let dg = &mut dg[..len];
            let mut cur = RecordCursor::new(0);
            while let Some(span) = cur.next(dg) {
                if let crate::msgs::record13::Header13::Ciphertext(h) = span.header {
                    let (hdr, body) = span.split_mut(dg).unwrap();
                    assert_eq!(
                        rx.open(&h, hdr, body, Some(rng.next_u32().into())),
                        Err(Open13Error::Drop)
                    );
                    opened += 1;
                }
            }
        }
        assert!(opened > 1_000, "{opened}");
        assert_eq!(rx.auth_failures(), opened);
    }

    #[test]
    fn gcm_stops_sealing_at_its_block_budget() {
        let mut gcm = cipher(AeadAlg::Aes128Gcm, 16);
        // 100 bytes of content + type = 7 blocks, plus one for the tag.
        gcm.set_seal_limit_blocks(16);
        let mut buf = [0u8; 200];
        assert!(gcm
            .seal(2, 0, ContentType::ApplicationData, &mut buf, 100, 0)
            .is_ok());
        assert!(gcm
            .seal(2, 1, ContentType::ApplicationData, &mut buf, 100, 0)
            .is_ok());
        assert_eq!(
            gcm.seal(2, 2, ContentType::ApplicationData, &mut buf, 0, 0),
            Err(CryptoError::UsageLimit)
        );
        assert_eq!(
            cipher(AeadAlg::Aes256Gcm, 32).seal_limit_blocks,
            GCM_SEAL_LIMIT_BLOCKS
        );
        assert_eq!(
            cipher(AeadAlg::Chacha20Poly1305, 32).seal_limit_blocks,
            u64::MAX
        );
    }

    #[test]
    fn keys_are_checked_and_never_printed() {
        for (alg, klen) in SUITES {
            assert!(RecordCipher13::new(alg, &vec![0; klen], &[0; 11], &vec![0; klen]).is_err());
            assert!(
                RecordCipher13::new(alg, &vec![0; klen], &[0; 12], &vec![0; klen - 1]).is_err()
            );
            assert!(
                RecordCipher13::new(alg, &vec![0; klen + 1], &[0; 12], &vec![0; klen]).is_err()
            );
        }
        // AES-128 record keys with a 32-byte sn key: the lengths must agree.
        assert!(RecordCipher13::new(AeadAlg::Aes128Gcm, &[0; 16], &[0; 12], &[0; 32]).is_err());
        let c = cipher(AeadAlg::Aes128Gcm, 16);
        assert_eq!(format!("{c:?}"), "RecordCipher13 { alg: Aes128Gcm, .. }");
        // The nonce is iv XOR seq, the epoch plays no part.
        assert_eq!(c.nonce(0), [0x22; 12]);
        let mut n = [0x22u8; 12];
        n[11] ^= 1;
        n[4] ^= 0x80;
        assert_eq!(c.nonce(0x8000_0000_0000_0001), n);
    }
}
