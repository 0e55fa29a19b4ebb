//! DTLS 1.2 AEAD record protection: nonces per RFC 5288 §3 (AES-GCM, 8-byte explicit nonce) and
//! RFC 7905 §2 (ChaCha20-Poly1305, IV XOR sequence number), additional data per RFC 5246
//! §6.2.3.3 with DTLS's epoch-qualified sequence number (RFC 6347 §4.1.2.1).
//! Sealing and opening happen in place, with no allocation per record.

use crate::crypto::aead::{AeadAlg, AeadKey};
use crate::crypto::CryptoError;
use crate::msgs::record::{RecordHeader, HEADER_LEN};
use zeroize::Zeroize;

/// Authentication tag bytes for every suite we implement.
pub const TAG_LEN: usize = 16;

/// One direction's keys for one epoch.
pub struct RecordCipher {
    key: AeadKey,
    iv: [u8; 12],
    explicit_nonce: bool,
}

impl std::fmt::Debug for RecordCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordCipher")
            .field("alg", &self.key.alg())
            .finish_non_exhaustive()
    }
}

impl Drop for RecordCipher {
    fn drop(&mut self) {
        self.iv.zeroize();
    }
}

impl RecordCipher {
    /// `iv` is the fixed IV from the key block: 4 bytes for GCM, 12 for ChaCha20-Poly1305.
    pub fn new(alg: AeadAlg, key: &[u8], iv: &[u8]) -> Result<Self, CryptoError> {
        let explicit_nonce = alg != AeadAlg::Chacha20Poly1305;
        let want = if explicit_nonce { 4 } else { 12 };
        if iv.len() != want {
            return Err(CryptoError::BadKey);
        }
        let mut fixed = [0u8; 12];
        fixed[..want].copy_from_slice(iv);
        Ok(RecordCipher {
            key: AeadKey::new(alg, key)?,
            iv: fixed,
            explicit_nonce,
        })
    }

    /// Bytes a record grows by: explicit nonce plus tag.
    pub fn overhead(&self) -> usize {
        self.prefix_len() + TAG_LEN
    }

    /// Bytes between the header and the ciphertext.
    pub fn prefix_len(&self) -> usize {
        if self.explicit_nonce {
            8
        } else {
            0
        }
    }

    fn nonce(&self, explicit: [u8; 8]) -> [u8; 12] {
        let mut n = self.iv;
        if self.explicit_nonce {
            n[4..].copy_from_slice(&explicit);
        } else {
            for (a, b) in n[4..].iter_mut().zip(explicit) {
                *a ^= b;
            }
        }
        n
    }

    fn aad(hdr: &RecordHeader, plain_len: usize) -> [u8; 13] {
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&hdr.epoch_seq().to_be_bytes());
        aad[8] = hdr.content_type.get();
        aad[9..11].copy_from_slice(&hdr.version.to_be_bytes());
        aad[11..13].copy_from_slice(&(plain_len as u16).to_be_bytes());
        aad
    }

    /// Seals a record in `out`, whose bytes from `HEADER_LEN + prefix_len()` hold `plain_len`
    /// bytes of plaintext. Writes the header (with its final length), the explicit nonce and the
    /// tag; returns the record's total length. `out` must hold `HEADER_LEN + plain_len + overhead()`.
    pub fn seal(
        &self,
        mut hdr: RecordHeader,
        out: &mut [u8],
        plain_len: usize,
    ) -> Result<usize, CryptoError> {
        let total = HEADER_LEN + plain_len + self.overhead();
        if out.len() < total || total - HEADER_LEN > u16::MAX as usize {
            return Err(CryptoError::SealFailed);
        }
        let explicit = hdr.epoch_seq().to_be_bytes();
        let aad = Self::aad(&hdr, plain_len);
        hdr.length = (total - HEADER_LEN) as u16;
        hdr.write_to(out);
        let start = HEADER_LEN + self.prefix_len();
        if self.explicit_nonce {
            out[HEADER_LEN..start].copy_from_slice(&explicit);
        }
        let tag = self.key.seal_in_place(
            self.nonce(explicit),
            &aad,
            &mut out[start..start + plain_len],
        )?;
        out[start + plain_len..total].copy_from_slice(&tag);
        Ok(total)
    }

    /// Opens a record body (everything after the header) in place; returns the plaintext's
    /// range within `body`.
    pub fn open(
        &self,
        hdr: &RecordHeader,
        body: &mut [u8],
    ) -> Result<std::ops::Range<usize>, CryptoError> {
        if body.len() < self.overhead() {
            return Err(CryptoError::OpenFailed);
        }
        let mut explicit = hdr.epoch_seq().to_be_bytes();
        if self.explicit_nonce {
            explicit.copy_from_slice(&body[..8]);
        }
        let start = self.prefix_len();
        let plain_len = body.len() - self.overhead();
        let aad = Self::aad(hdr, plain_len);
        let n = self
            .key
            .open_in_place(self.nonce(explicit), &aad, &mut body[start..])?;
        Ok(start..start + n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::enums::ContentType;

    #[test]
    fn seal_open_all_suites_and_tamper() {
        for (alg, klen, ivlen) in [
            (AeadAlg::Aes128Gcm, 16, 4),
            (AeadAlg::Aes256Gcm, 32, 4),
            (AeadAlg::Chacha20Poly1305, 32, 12),
        ] {
            let c = RecordCipher::new(alg, &vec![3; klen], &vec![5; ivlen]).unwrap();
            let hdr = RecordHeader {
                content_type: ContentType::ApplicationData,
                version: 0xfefd,
                epoch: 1,
                seq: 42,
                length: 0,
            };
            let mut buf = vec![0u8; 13 + 5 + c.overhead()];
            let p = 13 + c.prefix_len();
            buf[p..p + 5].copy_from_slice(b"hello");
            let n = c.seal(hdr, &mut buf, 5).unwrap();
            assert_eq!(n, buf.len());
            let mut rx = buf.clone();
            let h2 = RecordHeader {
                length: (n - 13) as u16,
                ..hdr
            };
            let r = c.open(&h2, &mut rx[13..]).unwrap();
            assert_eq!(&rx[13..][r], b"hello");
            let mut bad = buf.clone();
            bad[n - 1] ^= 1;
            assert!(c.open(&h2, &mut bad[13..]).is_err());
            let other_seq = RecordHeader { seq: 43, ..h2 };
            let mut rx = buf.clone();
            assert!(c.open(&other_seq, &mut rx[13..]).is_err());
        }
    }
}
