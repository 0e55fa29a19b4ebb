//! Message digests, HMAC and constant-time comparison (all via `ring`).

use ring::{digest, hmac};

/// Hash algorithms used by (D)TLS: transcript hashes, PRF/HKDF, fingerprints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-1: only for legacy fingerprints and HMAC; never for signatures.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// Digest length in bytes.
    pub fn output_len(self) -> usize {
        self.digest_alg().output_len()
    }

    /// One-shot digest of `data`.
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.digest_alg(), data).as_ref().to_vec()
    }

    /// Digest of the concatenation of `parts`, without concatenating them first.
    pub fn hash_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        let mut ctx = digest::Context::new(self.digest_alg());
        for p in parts {
            ctx.update(p);
        }
        ctx.finish().as_ref().to_vec()
    }

    /// The `ring` digest algorithm, for callers that keep a running context
    /// (e.g. the handshake transcript).
    pub fn digest_alg(self) -> &'static digest::Algorithm {
        match self {
            HashAlg::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlg::Sha256 => &digest::SHA256,
            HashAlg::Sha384 => &digest::SHA384,
            HashAlg::Sha512 => &digest::SHA512,
        }
    }

    /// The `ring` HMAC algorithm with this hash.
    pub fn hmac_alg(self) -> hmac::Algorithm {
        match self {
            HashAlg::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            HashAlg::Sha256 => hmac::HMAC_SHA256,
            HashAlg::Sha384 => hmac::HMAC_SHA384,
            HashAlg::Sha512 => hmac::HMAC_SHA512,
        }
    }
}

/// A digest kept up to date as data arrives, read as often as needed: the handshake
/// transcript hash, which the extended master secret and both Finished messages each need at a
/// different point (RFC 7627 §3, RFC 5246 §7.4.9).
#[derive(Clone)]
pub struct RunningHash {
    alg: HashAlg,
    ctx: digest::Context,
}

impl std::fmt::Debug for RunningHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningHash")
            .field("alg", &self.alg)
            .finish()
    }
}

impl RunningHash {
    /// Starts with `data` already hashed.
    pub fn new(alg: HashAlg, data: &[u8]) -> Self {
        let mut ctx = digest::Context::new(alg.digest_alg());
        ctx.update(data);
        RunningHash { alg, ctx }
    }

    /// The algorithm.
    pub fn alg(&self) -> HashAlg {
        self.alg
    }

    /// Adds data.
    pub fn update(&mut self, data: &[u8]) {
        self.ctx.update(data);
    }

    /// The digest of everything so far; the hash goes on.
    pub fn current(&self) -> digest::Digest {
        self.ctx.clone().finish()
    }
}

/// HMAC of the concatenation of `parts` under `key`.
pub fn hmac(alg: HashAlg, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let key = hmac::Key::new(alg.hmac_alg(), key);
    hmac_with_key(&key, parts).as_ref().to_vec()
}

/// HMAC with a pre-built key; lets loops (PRF, DRBG) avoid re-deriving the key pads.
pub(crate) fn hmac_with_key(key: &hmac::Key, parts: &[&[u8]]) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(key);
    for p in parts {
        ctx.update(p);
    }
    ctx.sign()
}

/// Constant-time equality for equal-length inputs (MACs, Finished, fingerprints,
/// cookies). A length mismatch returns `false` immediately: lengths are public.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // OR-accumulate the differences so the loop never exits early; black_box
    // keeps the optimiser from turning it back into a short-circuiting compare.
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| std::hint::black_box(acc | (x ^ y)));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn sha256_abc() {
        assert_eq!(
            hex(&HashAlg::Sha256.hash(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            HashAlg::Sha256.hash_parts(&[b"a", b"", b"bc"]),
            HashAlg::Sha256.hash(b"abc")
        );
    }

    #[test]
    fn output_lens() {
        assert_eq!(HashAlg::Sha1.output_len(), 20);
        assert_eq!(HashAlg::Sha256.output_len(), 32);
        assert_eq!(HashAlg::Sha384.output_len(), 48);
        assert_eq!(HashAlg::Sha512.output_len(), 64);
    }

    #[test]
    fn hmac_rfc4231_case2() {
        // RFC 4231 test case 2.
        let tag = hmac(
            HashAlg::Sha256,
            b"Jefe",
            &[b"what do ya want ", b"for nothing?"],
        );
        assert_eq!(
            hex(&tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn ct_eq_works() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }
}
