//! Randomness for randoms, nonces, cookies and timer jitter. `system()` reads
//! the OS generator; `seeded()` is a deterministic HMAC-SHA256 counter-mode
//! generator for reproducible tests (never use it for real connections).

use super::hash::hmac_with_key;
use super::CryptoError;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// A random source; see the module docs.
pub struct Rng {
    inner: Inner,
}

enum Inner {
    System(SystemRandom),
    /// HMAC(key, counter) blocks; key derived from the seed.
    Seeded {
        key: hmac::Key,
        counter: u64,
    },
}

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.inner {
            Inner::System(_) => f.write_str("Rng(system)"),
            // State stays hidden: it determines every future output.
            Inner::Seeded { .. } => f.write_str("Rng(seeded)"),
        }
    }
}

impl Rng {
    /// The operating system's CSPRNG (via `ring::rand::SystemRandom`).
    pub fn system() -> Self {
        Rng {
            inner: Inner::System(SystemRandom::new()),
        }
    }

    /// A deterministic generator: the same seed always yields the same stream.
    /// For tests and reproducible simulations only.
    pub fn seeded(seed: u64) -> Self {
        // Domain-separate the seed so the key is not the raw seed bytes.
        let k = hmac::Key::new(hmac::HMAC_SHA256, b"dtls-proto seeded rng v1");
        let key_bytes = hmac_with_key(&k, &[&seed.to_be_bytes()]);
        Rng {
            inner: Inner::Seeded {
                key: hmac::Key::new(hmac::HMAC_SHA256, key_bytes.as_ref()),
                counter: 0,
            },
        }
    }

    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        match &mut self.inner {
            Inner::System(rng) => rng.fill(out).map_err(|_| CryptoError::Rng),
            Inner::Seeded { key, counter } => {
                for chunk in out.chunks_mut(32) {
                    let block = hmac_with_key(key, &[&counter.to_be_bytes()]);
                    chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
                    *counter = counter.wrapping_add(1);
                }
                Ok(())
            }
        }
    }

    /// A random `u32`, for non-secret uses such as retransmission jitter.
    /// Infallible by design: if the OS generator fails (it does not on
    /// supported platforms), this returns 0 rather than panicking.
    pub fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        match self.fill(&mut b) {
            Ok(()) => u32::from_be_bytes(b),
            Err(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic() {
        let (mut a, mut b, mut c) = (Rng::seeded(1), Rng::seeded(1), Rng::seeded(2));
        let (mut x, mut y, mut z) = ([0u8; 70], [0u8; 70], [0u8; 70]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        c.fill(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_eq!(a.next_u32(), b.next_u32());
        // Successive outputs differ.
        let mut w = [0u8; 70];
        a.fill(&mut w).unwrap();
        assert_ne!(w, x);
    }

    #[test]
    fn system_works() {
        let mut r = Rng::system();
        let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
        r.fill(&mut x).unwrap();
        r.fill(&mut y).unwrap();
        assert_ne!(x, y);
        assert_eq!(format!("{r:?}"), "Rng(system)");
        assert_eq!(format!("{:?}", Rng::seeded(0)), "Rng(seeded)");
    }
}
