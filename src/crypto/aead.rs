//! AEAD record protection (AES-GCM, ChaCha20-Poly1305) over `ring::aead`.
//! Works in place on caller buffers: no allocation per record.

use super::CryptoError;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};

/// Authentication tag length for every AEAD we support.
pub const TAG_LEN: usize = 16;
/// Nonce length for every AEAD we support.
pub const NONCE_LEN: usize = 12;

/// AEAD algorithms used by our cipher suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadAlg {
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305 (RFC 8439).
    Chacha20Poly1305,
}

impl AeadAlg {
    /// Tag length in bytes.
    pub const TAG_LEN: usize = TAG_LEN;

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        self.ring_alg().key_len()
    }

    fn ring_alg(self) -> &'static aead::Algorithm {
        match self {
            AeadAlg::Aes128Gcm => &aead::AES_128_GCM,
            AeadAlg::Aes256Gcm => &aead::AES_256_GCM,
            AeadAlg::Chacha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }
}

/// A record-protection key. `ring` keeps the expanded key; we never hold raw bytes.
pub struct AeadKey {
    alg: AeadAlg,
    key: LessSafeKey,
}

impl std::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AeadKey({:?})", self.alg)
    }
}

impl AeadKey {
    /// Builds a key; `BadKey` if `key` is not exactly `alg.key_len()` bytes.
    pub fn new(alg: AeadAlg, key: &[u8]) -> Result<Self, CryptoError> {
        let unbound = UnboundKey::new(alg.ring_alg(), key).map_err(|_| CryptoError::BadKey)?;
        Ok(AeadKey {
            alg,
            key: LessSafeKey::new(unbound),
        })
    }

    /// The algorithm of this key.
    pub fn alg(&self) -> AeadAlg {
        self.alg
    }

    /// Encrypts `in_out` in place, returns the tag. The caller guarantees the
    /// nonce is unique per key (record sequence numbers make it so).
    pub fn seal_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; TAG_LEN], CryptoError> {
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
            .map_err(|_| CryptoError::SealFailed)?;
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// `in_out` = ciphertext || tag; decrypts in place and on success returns
    /// the plaintext length (a prefix of `in_out`). On failure the buffer
    /// content is unspecified and must be discarded.
    pub fn open_in_place(
        &self,
        nonce: [u8; NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<usize, CryptoError> {
        if in_out.len() < TAG_LEN {
            return Err(CryptoError::OpenFailed);
        }
        self.key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
            .map(|plain| plain.len())
            .map_err(|_| CryptoError::OpenFailed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [AeadAlg; 3] = [
        AeadAlg::Aes128Gcm,
        AeadAlg::Aes256Gcm,
        AeadAlg::Chacha20Poly1305,
    ];

    fn seal(key: &AeadKey, nonce: [u8; 12], aad: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut buf = msg.to_vec();
        let tag = key.seal_in_place(nonce, aad, &mut buf).unwrap();
        buf.extend_from_slice(&tag);
        buf
    }

    #[test]
    fn round_trip_and_tamper() {
        for alg in ALL {
            let key = AeadKey::new(alg, &vec![7u8; alg.key_len()]).unwrap();
            assert_eq!(key.alg(), alg);
            let nonce = [1u8; 12];
            let ct = seal(&key, nonce, b"hdr", b"hello dtls");
            assert_eq!(ct.len(), 10 + TAG_LEN);
            assert_ne!(&ct[..10], b"hello dtls");

            let mut buf = ct.clone();
            let n = key.open_in_place(nonce, b"hdr", &mut buf).unwrap();
            assert_eq!(&buf[..n], b"hello dtls");

            // Flipped ciphertext bit, flipped tag bit, wrong AAD, wrong nonce.
            let mut bad = ct.clone();
            bad[0] ^= 1;
            assert_eq!(
                key.open_in_place(nonce, b"hdr", &mut bad),
                Err(CryptoError::OpenFailed)
            );
            let mut bad = ct.clone();
            *bad.last_mut().unwrap() ^= 1;
            assert_eq!(
                key.open_in_place(nonce, b"hdr", &mut bad),
                Err(CryptoError::OpenFailed)
            );
            let mut bad = ct.clone();
            assert_eq!(
                key.open_in_place(nonce, b"hdX", &mut bad),
                Err(CryptoError::OpenFailed)
            );
            let mut bad = ct.clone();
            assert_eq!(
                key.open_in_place([2; 12], b"hdr", &mut bad),
                Err(CryptoError::OpenFailed)
            );
            // Shorter than a tag.
            assert_eq!(
                key.open_in_place(nonce, b"", &mut [0u8; 5]),
                Err(CryptoError::OpenFailed)
            );
        }
    }

    #[test]
    fn key_lengths() {
        assert_eq!(AeadAlg::Aes128Gcm.key_len(), 16);
        assert_eq!(AeadAlg::Aes256Gcm.key_len(), 32);
        assert_eq!(AeadAlg::Chacha20Poly1305.key_len(), 32);
        assert!(AeadKey::new(AeadAlg::Aes128Gcm, &[0; 15]).is_err());
        assert!(
            format!("{:?}", AeadKey::new(AeadAlg::Aes128Gcm, &[0; 16]).unwrap())
                .starts_with("AeadKey(Aes128Gcm)")
        );
    }

    #[test]
    fn aes128gcm_kat() {
        // NIST GCM test case 2 (McGrew & Viega): zero key, zero IV, one zero block.
        let key = AeadKey::new(AeadAlg::Aes128Gcm, &[0u8; 16]).unwrap();
        let mut buf = [0u8; 16];
        let tag = key.seal_in_place([0u8; 12], b"", &mut buf).unwrap();
        assert_eq!(
            buf,
            [
                0x03, 0x88, 0xda, 0xce, 0x60, 0xb6, 0xa3, 0x92, 0xf3, 0x28, 0xc2, 0xb9, 0x71, 0xb2,
                0xfe, 0x78
            ]
        );
        assert_eq!(
            tag,
            [
                0xab, 0x6e, 0x47, 0xd4, 0x2c, 0xec, 0x13, 0xbd, 0xf5, 0x3a, 0x67, 0xb2, 0x12, 0x57,
                0xbd, 0xdf
            ]
        );
    }
}
