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

/// AES-GCM's confidentiality limit, in AES blocks. TLS 1.3 (RFC 8446 §5.5, adopted for DTLS by
/// RFC 9147 §4.5.3) allows 2^24.5 full-size records, keeping the adversary's advantage near
/// 2^-57. That bound grows with the total number of blocks encrypted (AEBounds: σ²/2^128), so
/// it is counted in blocks: 2^24.5 records of 2^14 bytes = 1024 blocks each, plus one for the
/// tag. A media stream of 1200-byte records may then seal about 13 times more records.
pub const GCM_SEAL_LIMIT_BLOCKS: u64 = 23_726_566 * 1025;

/// One direction's keys for one epoch.
pub struct RecordCipher {
    key: AeadKey,
    iv: [u8; 12],
    explicit_nonce: bool,
    /// AES blocks sealed so far, and the most allowed (`u64::MAX`: no bound, ChaCha20-Poly1305,
    /// whose limit exceeds the 2^48 sequence numbers).
    sealed_blocks: u64,
    seal_limit_blocks: u64,
    /// Records that failed authentication under this key (RFC 9147 §4.5.3 counts them).
    auth_failures: u64,
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
            sealed_blocks: 0,
            seal_limit_blocks: if explicit_nonce {
                GCM_SEAL_LIMIT_BLOCKS
            } else {
                u64::MAX
            },
            auth_failures: 0,
        })
    }

    /// Records that failed authentication under this key.
    pub fn auth_failures(&self) -> u64 {
        self.auth_failures
    }

    #[cfg(test)]
    pub(crate) fn set_seal_limit_blocks(&mut self, blocks: u64) {
        self.seal_limit_blocks = blocks;
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
    /// Fails with `UsageLimit`, sealing nothing, once the key's confidentiality bound is spent.
    pub fn seal(
        &mut self,
        mut hdr: RecordHeader,
        out: &mut [u8],
        plain_len: usize,
    ) -> Result<usize, CryptoError> {
        let total = HEADER_LEN + plain_len + self.overhead();
        if out.len() < total || total - HEADER_LEN > u16::MAX as usize {
            return Err(CryptoError::SealFailed);
        }
        let blocks = plain_len.div_ceil(16) as u64 + 1;
        match self.sealed_blocks.checked_add(blocks) {
            Some(n) if n <= self.seal_limit_blocks => self.sealed_blocks = n,
            _ => return Err(CryptoError::UsageLimit),
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
    /// A failure counts towards [`RecordCipher::auth_failures`].
    pub fn open(
        &mut self,
        hdr: &RecordHeader,
        body: &mut [u8],
    ) -> Result<std::ops::Range<usize>, CryptoError> {
        if body.len() < self.overhead() {
            self.auth_failures += 1;
            return Err(CryptoError::OpenFailed);
        }
        let mut explicit = hdr.epoch_seq().to_be_bytes();
        if self.explicit_nonce {
            explicit.copy_from_slice(&body[..8]);
        }
        let start = self.prefix_len();
        let plain_len = body.len() - self.overhead();
        let aad = Self::aad(hdr, plain_len);
        match self
            .key
            .open_in_place(self.nonce(explicit), &aad, &mut body[start..])
        {
            Ok(n) => Ok(start..start + n),
            Err(e) => {
                self.auth_failures += 1;
                Err(e)
            }
        }
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
            let mut c = RecordCipher::new(alg, &vec![3; klen], &vec![5; ivlen]).unwrap();
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

#[cfg(test)]
mod usage_limits {
    use super::*;
    use crate::msgs::enums::ContentType;

    fn hdr(seq: u64) -> RecordHeader {
        RecordHeader {
            content_type: ContentType::ApplicationData,
            version: 0xfefd,
            epoch: 1,
            seq,
            length: 0,
        }
    }

    #[test]
    fn gcm_stops_sealing_at_its_block_budget_and_chacha_has_none() {
        let mut gcm = RecordCipher::new(AeadAlg::Aes128Gcm, &[7; 16], &[1; 4]).unwrap();
        // A 100-byte record costs 7 blocks plus one.
        gcm.set_seal_limit_blocks(16);
        let mut buf = [0u8; 200];
        assert!(gcm.seal(hdr(0), &mut buf, 100).is_ok());
        assert!(gcm.seal(hdr(1), &mut buf, 100).is_ok());
        assert_eq!(gcm.seal(hdr(2), &mut buf, 1), Err(CryptoError::UsageLimit));
        assert_eq!(gcm.seal(hdr(3), &mut buf, 0), Err(CryptoError::UsageLimit));
        let chacha = RecordCipher::new(AeadAlg::Chacha20Poly1305, &[7; 32], &[1; 12]).unwrap();
        assert_eq!(chacha.seal_limit_blocks, u64::MAX);
        let fresh = RecordCipher::new(AeadAlg::Aes128Gcm, &[7; 16], &[1; 4]).unwrap();
        assert_eq!(fresh.seal_limit_blocks, 24_319_730_150);
    }

    #[test]
    fn failed_opens_are_counted_per_key() {
        let mut c = RecordCipher::new(AeadAlg::Aes128Gcm, &[7; 16], &[1; 4]).unwrap();
        let mut junk = [0u8; 40];
        assert!(c.open(&hdr(0), &mut junk).is_err());
        assert!(c.open(&hdr(1), &mut junk[..5]).is_err());
        assert_eq!(c.auth_failures(), 2);
        let mut buf = [0u8; 60];
        let n = c.seal(hdr(2), &mut buf, 10).unwrap();
        assert!(c.open(&hdr(2), &mut buf[HEADER_LEN..n]).is_ok());
        assert_eq!(c.auth_failures(), 2);
    }
}
