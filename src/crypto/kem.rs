//! (D)TLS 1.3 key shares over one API for ECDHE and KEM groups: X25519, P-256, P-384 and the
//! hybrid X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem-03).
//!
//! TLS 1.3 treats every group as a KEM: the client sends a share and keeps its private state
//! ([`ClientKeyShare`]); the server answers a share in one step ([`respond`]: encapsulate, or
//! for ECDHE generate and agree) and gets the shared secret at once; the client completes with
//! the server's share. The shared secret feeds `EarlySecret::handshake_secret`.
//!
//! X25519MLKEM768 (NamedGroup 0x11EC), draft-ietf-tls-ecdhe-mlkem-03 §3 (the "Client share",
//! "Server share" and "Shared secret" sections):
//! - client share = ML-KEM-768 encapsulation key (1184) || X25519 public (32) = 1216 bytes;
//! - server share = ML-KEM-768 ciphertext (1088) || X25519 public (32) = 1120 bytes;
//! - shared secret = ML-KEM shared secret (32) || X25519 shared secret (32) = 64 bytes.
//!
//! ML-KEM comes from RustCrypto's `ml-kem` (ring has none). Its randomness, the 64-byte key
//! generation seed d || z and the 32-byte encapsulation message m (FIPS 203 §7.1–7.2), is drawn
//! from our [`Rng`] and handed to the crate's seed-taking functions, which is what the crate's
//! own RNG-taking functions do with an RNG's output. The ECDHE halves use ring, which draws from
//! the OS generator itself.

use super::kx::{KeyExchange, KxGroup};
use super::rng::Rng;
use super::CryptoError;
use ml_kem::kem::{Decapsulate, KeyExport};
use ml_kem::ml_kem_768;
use ml_kem::B32;
use zeroize::{Zeroize, Zeroizing};

/// ML-KEM-768 encapsulation key bytes (FIPS 203 Table 3: 384k + 32, k = 3).
pub const MLKEM768_EK_LEN: usize = 1184;
/// ML-KEM-768 ciphertext bytes (FIPS 203 Table 3).
pub const MLKEM768_CT_LEN: usize = 1088;
const X25519_LEN: usize = 32;
const MLKEM_SS_LEN: usize = 32;

/// A group a (D)TLS 1.3 key share can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyShareGroup {
    /// x25519 (29).
    X25519,
    /// secp256r1 (23).
    P256,
    /// secp384r1 (24).
    P384,
    /// X25519MLKEM768 (0x11EC): ML-KEM-768 with X25519.
    X25519MlKem768,
}

impl KeyShareGroup {
    /// Every group, in our order of preference: the post-quantum hybrid first.
    pub const ALL: [KeyShareGroup; 4] = [
        KeyShareGroup::X25519MlKem768,
        KeyShareGroup::X25519,
        KeyShareGroup::P256,
        KeyShareGroup::P384,
    ];

    /// IANA NamedGroup code.
    pub fn iana(self) -> u16 {
        match self {
            KeyShareGroup::X25519MlKem768 => 0x11ec,
            KeyShareGroup::X25519 => KxGroup::X25519.iana(),
            KeyShareGroup::P256 => KxGroup::P256.iana(),
            KeyShareGroup::P384 => KxGroup::P384.iana(),
        }
    }

    /// The group with this IANA NamedGroup code; `None` for groups we do not implement.
    pub fn from_iana(v: u16) -> Option<Self> {
        match v {
            0x11ec => Some(KeyShareGroup::X25519MlKem768),
            _ => KxGroup::from_iana(v).map(Self::from),
        }
    }

    /// Bytes of the client's key_exchange value.
    pub fn client_share_len(self) -> usize {
        match self {
            KeyShareGroup::X25519 => X25519_LEN,
            KeyShareGroup::P256 => 65,
            KeyShareGroup::P384 => 97,
            KeyShareGroup::X25519MlKem768 => MLKEM768_EK_LEN + X25519_LEN,
        }
    }

    /// Bytes of the server's key_exchange value.
    pub fn server_share_len(self) -> usize {
        match self {
            KeyShareGroup::X25519MlKem768 => MLKEM768_CT_LEN + X25519_LEN,
            other => other.client_share_len(),
        }
    }

    /// Bytes of the shared secret.
    pub fn shared_secret_len(self) -> usize {
        match self {
            KeyShareGroup::P384 => 48,
            KeyShareGroup::X25519MlKem768 => MLKEM_SS_LEN + X25519_LEN,
            _ => 32,
        }
    }

    fn ecdhe(self) -> KxGroup {
        match self {
            KeyShareGroup::X25519 | KeyShareGroup::X25519MlKem768 => KxGroup::X25519,
            KeyShareGroup::P256 => KxGroup::P256,
            KeyShareGroup::P384 => KxGroup::P384,
        }
    }
}

impl From<KxGroup> for KeyShareGroup {
    fn from(g: KxGroup) -> Self {
        match g {
            KxGroup::X25519 => KeyShareGroup::X25519,
            KxGroup::P256 => KeyShareGroup::P256,
            KxGroup::P384 => KeyShareGroup::P384,
        }
    }
}

enum ClientState {
    Ecdhe(KeyExchange),
    Hybrid {
        mlkem: Box<ml_kem_768::DecapsulationKey>,
        x25519: KeyExchange,
    },
}

/// The client's side of one key share: the share it sends and the private state to complete it.
/// Consumed by [`ClientKeyShare::complete`], so a private key serves one exchange only.
pub struct ClientKeyShare {
    group: KeyShareGroup,
    state: ClientState,
    share: Vec<u8>,
}

impl std::fmt::Debug for ClientKeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKeyShare")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl ClientKeyShare {
    /// A fresh key pair for `group`. `rng` supplies the ML-KEM seed; ECDHE keys come from the OS
    /// generator through ring.
    pub fn generate(group: KeyShareGroup, rng: &mut Rng) -> Result<Self, CryptoError> {
        match group {
            KeyShareGroup::X25519MlKem768 => {
                let mut seed = Zeroizing::new([0u8; 64]);
                rng.fill(&mut seed[..])?;
                Self::hybrid_from_seed(&seed)
            }
            _ => {
                let kx = KeyExchange::generate(group.ecdhe())?;
                let share = kx.public_key().to_vec();
                Ok(ClientKeyShare {
                    group,
                    state: ClientState::Ecdhe(kx),
                    share,
                })
            }
        }
    }

    /// The hybrid share from a given ML-KEM seed d || z (FIPS 203 ML-KEM.KeyGen_internal).
    fn hybrid_from_seed(seed: &[u8; 64]) -> Result<Self, CryptoError> {
        let mut s = ml_kem::Seed::try_from(&seed[..]).map_err(|_| CryptoError::BadKey)?;
        let dk = Box::new(ml_kem_768::DecapsulationKey::from_seed(s));
        s.as_mut_slice().zeroize();
        let x25519 = KeyExchange::generate(KxGroup::X25519)?;
        let mut share = Vec::with_capacity(MLKEM768_EK_LEN + X25519_LEN);
        share.extend_from_slice(&dk.encapsulation_key().to_bytes());
        share.extend_from_slice(x25519.public_key());
        Ok(ClientKeyShare {
            group: KeyShareGroup::X25519MlKem768,
            state: ClientState::Hybrid { mlkem: dk, x25519 },
            share,
        })
    }

    /// The group.
    pub fn group(&self) -> KeyShareGroup {
        self.group
    }

    /// The key_exchange value to send.
    pub fn share(&self) -> &[u8] {
        &self.share
    }

    /// The shared secret from the server's key_exchange value. `BadPeerKey` (an
    /// `illegal_parameter` alert) for a share of the wrong length, an invalid or low-order ECDHE
    /// value (draft-ietf-tls-ecdhe-mlkem-03: "the client MUST check if the ciphertext length
    /// matches the selected group"). A well-sized but forged ML-KEM ciphertext is not detected
    /// here: ML-KEM's implicit rejection (FIPS 203 §6.3) yields an unrelated secret, and the
    /// handshake then fails at Finished.
    pub fn complete(self, server_share: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if server_share.len() != self.group.server_share_len() {
            return Err(CryptoError::BadPeerKey);
        }
        match self.state {
            ClientState::Ecdhe(kx) => kx.complete(server_share),
            ClientState::Hybrid { mlkem, x25519 } => {
                let (ct, x_pub) = server_share.split_at(MLKEM768_CT_LEN);
                let ct =
                    ml_kem_768::Ciphertext::try_from(ct).map_err(|_| CryptoError::BadPeerKey)?;
                let x_secret = x25519.complete(x_pub)?;
                let mut k = mlkem.decapsulate(&ct);
                let mut out = Zeroizing::new(Vec::with_capacity(MLKEM_SS_LEN + X25519_LEN));
                out.extend_from_slice(&k);
                out.extend_from_slice(&x_secret);
                k.as_mut_slice().zeroize();
                Ok(out)
            }
        }
    }
}

/// The server's answer to a client's key share: `(our key_exchange value, shared secret)`.
/// ECDHE: a fresh key pair and the agreement; X25519MLKEM768: encapsulation to the client's
/// ML-KEM key (`rng` supplies m) and a fresh X25519 agreement. `BadPeerKey` (an
/// `illegal_parameter` alert) for a share of the wrong length, an ML-KEM encapsulation key that
/// fails the FIPS 203 §7.2 check ("the server MUST perform the encapsulation key check"), or an
/// invalid or low-order ECDHE value.
pub fn respond(
    group: KeyShareGroup,
    client_share: &[u8],
    rng: &mut Rng,
) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), CryptoError> {
    if client_share.len() != group.client_share_len() {
        return Err(CryptoError::BadPeerKey);
    }
    match group {
        KeyShareGroup::X25519MlKem768 => {
            let mut m = Zeroizing::new([0u8; 32]);
            rng.fill(&mut m[..])?;
            respond_hybrid(client_share, &m)
        }
        _ => {
            let kx = KeyExchange::generate(group.ecdhe())?;
            let share = kx.public_key().to_vec();
            let secret = kx.complete(client_share)?;
            Ok((share, secret))
        }
    }
}

/// X25519MLKEM768 with the encapsulation message `m` given (FIPS 203 ML-KEM.Encaps_internal).
fn respond_hybrid(
    client_share: &[u8],
    m: &[u8; 32],
) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), CryptoError> {
    if client_share.len() != MLKEM768_EK_LEN + X25519_LEN {
        return Err(CryptoError::BadPeerKey);
    }
    let (ek, x_peer) = client_share.split_at(MLKEM768_EK_LEN);
    let ek = ml_kem::Key::<ml_kem_768::EncapsulationKey>::try_from(ek)
        .map_err(|_| CryptoError::BadPeerKey)?;
    // `new` runs the FIPS 203 §7.2 type and modulus checks.
    let ek = ml_kem_768::EncapsulationKey::new(&ek).map_err(|_| CryptoError::BadPeerKey)?;
    // The X25519 half first: a bad peer value fails before any ML-KEM work is spent.
    let kx = KeyExchange::generate(KxGroup::X25519)?;
    let mut share = Vec::with_capacity(MLKEM768_CT_LEN + X25519_LEN);
    let x_pub = kx.public_key().to_vec();
    let x_secret = kx.complete(x_peer)?;
    let mut m = B32::try_from(&m[..]).map_err(|_| CryptoError::Rng)?;
    let (ct, mut k) = ek.encapsulate_deterministic(&m);
    m.as_mut_slice().zeroize();
    share.extend_from_slice(&ct);
    share.extend_from_slice(&x_pub);
    let mut secret = Zeroizing::new(Vec::with_capacity(MLKEM_SS_LEN + X25519_LEN));
    secret.extend_from_slice(&k);
    secret.extend_from_slice(&x_secret);
    k.as_mut_slice().zeroize();
    Ok((share, secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::derive::Deriver;
    use openssl::pkey::{Id, PKey};

    fn sha256(b: &[u8]) -> Vec<u8> {
        crate::crypto::hash::HashAlg::Sha256.hash(b)
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn round_trip_every_group() {
        let mut rng = Rng::system();
        for group in KeyShareGroup::ALL {
            let client = ClientKeyShare::generate(group, &mut rng).unwrap();
            assert_eq!(client.group(), group);
            assert_eq!(client.share().len(), group.client_share_len(), "{group:?}");
            let (server_share, server_secret) = respond(group, client.share(), &mut rng).unwrap();
            assert_eq!(server_share.len(), group.server_share_len(), "{group:?}");
            assert_eq!(server_secret.len(), group.shared_secret_len(), "{group:?}");
            let client_secret = client.complete(&server_share).unwrap();
            assert_eq!(*client_secret, *server_secret, "{group:?}");
            assert_eq!(KeyShareGroup::from_iana(group.iana()), Some(group));
        }
        assert_eq!(
            (
                KeyShareGroup::X25519MlKem768.client_share_len(),
                KeyShareGroup::X25519MlKem768.server_share_len(),
                KeyShareGroup::X25519MlKem768.shared_secret_len()
            ),
            (1216, 1120, 64)
        );
        assert_eq!(KeyShareGroup::X25519MlKem768.iana(), 4588);
        assert_eq!(KeyShareGroup::from_iana(25), None);
        assert_eq!(KeyShareGroup::from_iana(0x11eb), None);
    }

    #[test]
    fn wrong_lengths_and_garbage_are_rejected() {
        let mut rng = Rng::seeded(1);
        for group in KeyShareGroup::ALL {
            let good = ClientKeyShare::generate(group, &mut rng).unwrap();
            let n = group.client_share_len();
            let mut long = good.share().to_vec();
            long.push(0);
            for bad in [&[][..], &good.share()[..n - 1], &long[..], &[0u8; 7][..]] {
                assert_eq!(
                    respond(group, bad, &mut rng).unwrap_err(),
                    CryptoError::BadPeerKey,
                    "{group:?} len {}",
                    bad.len()
                );
            }
            // Right length, garbage: 0xff.. is no P-256/P-384 point, and its 12-bit ML-KEM
            // coefficients (4095) exceed q = 3329, failing the modulus check. Every 32 bytes
            // name an X25519 point, so there take the low-order all-zero one.
            let garbage = if group == KeyShareGroup::X25519 {
                0
            } else {
                0xff
            };
            assert_eq!(
                respond(group, &vec![garbage; n], &mut rng).unwrap_err(),
                CryptoError::BadPeerKey,
                "{group:?}"
            );
            // Server shares of the wrong length.
            let m = group.server_share_len();
            for len in [0, m - 1, m + 1] {
                let c = ClientKeyShare::generate(group, &mut rng).unwrap();
                assert_eq!(
                    c.complete(&vec![1u8; len]).unwrap_err(),
                    CryptoError::BadPeerKey
                );
            }
        }
        // X25519 all-zero (low order) in either half of the hybrid.
        let c = ClientKeyShare::generate(KeyShareGroup::X25519MlKem768, &mut rng).unwrap();
        let mut share = c.share().to_vec();
        share[MLKEM768_EK_LEN..].fill(0);
        assert_eq!(
            respond(KeyShareGroup::X25519MlKem768, &share, &mut rng).unwrap_err(),
            CryptoError::BadPeerKey
        );
        let (mut server_share, _) =
            respond(KeyShareGroup::X25519MlKem768, c.share(), &mut rng).unwrap();
        server_share[MLKEM768_CT_LEN..].fill(0);
        assert_eq!(
            c.complete(&server_share).unwrap_err(),
            CryptoError::BadPeerKey
        );
    }

    #[test]
    fn a_forged_ciphertext_gives_an_unrelated_secret() {
        let mut rng = Rng::system();
        let c = ClientKeyShare::generate(KeyShareGroup::X25519MlKem768, &mut rng).unwrap();
        let (mut server_share, server_secret) =
            respond(KeyShareGroup::X25519MlKem768, c.share(), &mut rng).unwrap();
        server_share[0] ^= 1;
        let client_secret = c.complete(&server_share).unwrap();
        // Implicit rejection: the ML-KEM half differs, the X25519 half still agrees.
        assert_ne!(client_secret[..32], server_secret[..32]);
        assert_eq!(client_secret[32..], server_secret[32..]);
    }

    /// The hybrid layout checked with parts computed outside this module: ML-KEM by the crate
    /// directly, X25519 by OpenSSL. Pins the order of shares and of the shared secret.
    #[test]
    fn hybrid_layout_matches_the_draft() {
        let seed: Vec<u8> = (0u8..64).collect();
        let dk =
            ml_kem_768::DecapsulationKey::from_seed(ml_kem::Seed::try_from(&seed[..]).unwrap());
        let ossl = PKey::generate_x25519().unwrap();
        let mut client_share = dk.encapsulation_key().to_bytes().to_vec();
        client_share.extend_from_slice(&ossl.raw_public_key().unwrap());

        let m = [0x42u8; 32];
        let (server_share, secret) = respond_hybrid(&client_share, &m).unwrap();
        // Server share: ciphertext first, then the X25519 public value.
        let ct = ml_kem_768::Ciphertext::try_from(&server_share[..MLKEM768_CT_LEN]).unwrap();
        let peer =
            PKey::public_key_from_raw_bytes(&server_share[MLKEM768_CT_LEN..], Id::X25519).unwrap();
        let mut d = Deriver::new(&ossl).unwrap();
        d.set_peer(&peer).unwrap();
        let x_secret = d.derive_to_vec().unwrap();
        // Shared secret: ML-KEM first, then X25519.
        assert_eq!(secret[..32], dk.decapsulate(&ct)[..]);
        assert_eq!(secret[32..], x_secret[..]);
        // And the same m gives the same ciphertext: encapsulation used exactly m.
        let ek = ml_kem_768::EncapsulationKey::new(&dk.encapsulation_key().to_bytes()).unwrap();
        assert_eq!(
            ek.encapsulate_deterministic(&B32::from(m)).0[..],
            server_share[..MLKEM768_CT_LEN]
        );

        // Our client completes the same layout.
        let ours = ClientKeyShare::hybrid_from_seed(&seed.clone().try_into().unwrap()).unwrap();
        assert_eq!(
            ours.share()[..MLKEM768_EK_LEN],
            client_share[..MLKEM768_EK_LEN]
        );
        let (share, secret) = respond_hybrid(ours.share(), &m).unwrap();
        assert_eq!(share[..MLKEM768_CT_LEN], server_share[..MLKEM768_CT_LEN]);
        assert_eq!(*ours.complete(&share).unwrap(), *secret);
    }

    /// ML-KEM-768 against a second implementation: OpenSSL 4.0's, through Python's
    /// `cryptography` 48 (`MLKEM768PrivateKey.from_seed_bytes`, `decapsulate`), for seed
    /// d || z = 00 01 .. 3f and m = 80 81 .. 9f:
    ///
    /// ```python
    /// from cryptography.hazmat.primitives.asymmetric import mlkem
    /// sk = mlkem.MLKEM768PrivateKey.from_seed_bytes(bytes(range(64)))
    /// ek = sk.public_key().public_bytes_raw()          # -> EK_SHA256
    /// sk.decapsulate(ct)                               # ct from this crate -> SS
    /// sk.decapsulate(ct with ct[0] ^= 1)               # -> SS_REJECTED
    /// ```
    #[test]
    fn mlkem768_matches_openssl() {
        const EK_SHA256: &str = "0b7934c83125c788995e2ba6bd761e33046b3e40571be53e023309a29f398cc9";
        const CT_SHA256: &str = "1f16e217ad23771f7f72522c602dcf10cd1e2eea2648e72d29c1255a3949c33e";
        const SS: &str = "ef91db44b6cd5b2c50f483481a3d6e2a08cc149764fcb8dc568851332da45ed9";
        const SS_REJECTED: &str =
            "016b585c8abc901fa45387c496d0ed74332aa06501ace2bb65ab9f8458a35bfc";
        let seed: Vec<u8> = (0u8..64).collect();
        let m: [u8; 32] = core::array::from_fn(|i| 0x80 + i as u8);
        let dk =
            ml_kem_768::DecapsulationKey::from_seed(ml_kem::Seed::try_from(&seed[..]).unwrap());
        let ek_bytes = dk.encapsulation_key().to_bytes();
        assert_eq!(sha256(&ek_bytes), unhex(EK_SHA256));
        let ek = ml_kem_768::EncapsulationKey::new(&ek_bytes).unwrap();
        let (ct, ss) = ek.encapsulate_deterministic(&B32::from(m));
        assert_eq!(sha256(&ct), unhex(CT_SHA256));
        assert_eq!(ss[..], unhex(SS)[..]);
        assert_eq!(dk.decapsulate(&ct)[..], unhex(SS)[..]);
        let mut bad = ct;
        bad[0] ^= 1;
        assert_eq!(dk.decapsulate(&bad)[..], unhex(SS_REJECTED)[..]);
    }

    #[test]
    fn debug_is_redacted() {
        let c =
            ClientKeyShare::generate(KeyShareGroup::X25519MlKem768, &mut Rng::seeded(3)).unwrap();
        assert_eq!(
            format!("{c:?}"),
            "ClientKeyShare { group: X25519MlKem768, .. }"
        );
    }
}
