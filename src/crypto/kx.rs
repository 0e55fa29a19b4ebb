//! Ephemeral ECDHE key exchange (X25519, P-256, P-384) over `ring::agreement`.

use super::CryptoError;
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use ring::rand::SystemRandom;
use zeroize::Zeroizing;

/// Named groups (IANA TLS Supported Groups registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KxGroup {
    /// x25519 (29).
    X25519,
    /// secp256r1 (23).
    P256,
    /// secp384r1 (24).
    P384,
}

impl KxGroup {
    /// IANA NamedGroup code.
    pub fn iana(self) -> u16 {
        match self {
            KxGroup::X25519 => 29,
            KxGroup::P256 => 23,
            KxGroup::P384 => 24,
        }
    }

    /// Parses an IANA NamedGroup code; `None` for groups we do not implement.
    pub fn from_iana(v: u16) -> Option<Self> {
        match v {
            29 => Some(KxGroup::X25519),
            23 => Some(KxGroup::P256),
            24 => Some(KxGroup::P384),
            _ => None,
        }
    }

    fn ring_alg(self) -> &'static agreement::Algorithm {
        match self {
            KxGroup::X25519 => &agreement::X25519,
            KxGroup::P256 => &agreement::ECDH_P256,
            KxGroup::P384 => &agreement::ECDH_P384,
        }
    }
}

/// One side of an ephemeral key exchange; consumed by [`KeyExchange::complete`]
/// so a private key can never be used twice.
pub struct KeyExchange {
    group: KxGroup,
    private: EphemeralPrivateKey,
    public: Vec<u8>,
}

impl std::fmt::Debug for KeyExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyExchange")
            .field("group", &self.group)
            .field("private", &"<redacted>")
            .finish()
    }
}

impl KeyExchange {
    /// Generates a fresh key pair from the OS RNG.
    pub fn generate(group: KxGroup) -> Result<Self, CryptoError> {
        let rng = SystemRandom::new();
        let private =
            EphemeralPrivateKey::generate(group.ring_alg(), &rng).map_err(|_| CryptoError::Rng)?;
        let public = private
            .compute_public_key()
            .map_err(|_| CryptoError::BadKey)?
            .as_ref()
            .to_vec();
        Ok(KeyExchange {
            group,
            private,
            public,
        })
    }

    /// The group of this exchange.
    pub fn group(&self) -> KxGroup {
        self.group
    }

    /// Our public value as sent on the wire: 32 bytes for X25519, an
    /// uncompressed point (0x04 || x || y) for P-256/P-384.
    pub fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// Computes the shared secret (the x-coordinate for NIST curves, as TLS
    /// wants). `BadPeerKey` for malformed or off-curve points and, for X25519,
    /// for low-order points giving an all-zero secret (ring rejects those).
    pub fn complete(self, peer_public: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let peer = UnparsedPublicKey::new(self.group.ring_alg(), peer_public);
        agreement::agree_ephemeral(self.private, &peer, |secret| {
            Zeroizing::new(secret.to_vec())
        })
        .map_err(|_| CryptoError::BadPeerKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [KxGroup; 3] = [KxGroup::X25519, KxGroup::P256, KxGroup::P384];

    #[test]
    fn agreement_matches() {
        for g in ALL {
            let a = KeyExchange::generate(g).unwrap();
            let b = KeyExchange::generate(g).unwrap();
            let expected_pub = match g {
                KxGroup::X25519 => 32,
                KxGroup::P256 => 65,
                KxGroup::P384 => 97,
            };
            assert_eq!(a.public_key().len(), expected_pub);
            let (pa, pb) = (a.public_key().to_vec(), b.public_key().to_vec());
            let sa = a.complete(&pb).unwrap();
            let sb = b.complete(&pa).unwrap();
            assert_eq!(*sa, *sb);
            assert_eq!(sa.len(), if g == KxGroup::P384 { 48 } else { 32 });
            assert_eq!(KxGroup::from_iana(g.iana()), Some(g));
        }
        assert_eq!(KxGroup::from_iana(25), None);
    }

    #[test]
    fn bad_peer_keys() {
        for g in ALL {
            for bad in [&[][..], &[0u8; 7][..], &[0xffu8; 65][..], &[0u8; 97][..]] {
                let kx = KeyExchange::generate(g).unwrap();
                assert_eq!(kx.complete(bad).unwrap_err(), CryptoError::BadPeerKey);
            }
        }
        // X25519 all-zero point is low order: the shared secret would be zero.
        let kx = KeyExchange::generate(KxGroup::X25519).unwrap();
        assert_eq!(
            kx.complete(&[0u8; 32]).unwrap_err(),
            CryptoError::BadPeerKey
        );
    }

    #[test]
    fn debug_redacted() {
        let kx = KeyExchange::generate(KxGroup::X25519).unwrap();
        assert!(format!("{kx:?}").contains("redacted"));
    }
}
