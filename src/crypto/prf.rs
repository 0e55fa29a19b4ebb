//! The TLS 1.2 PRF (RFC 5246 §5): `P_hash(secret, label || seed)` built on HMAC.

use super::hash::{hmac_with_key, HashAlg};
use ring::hmac;

/// Fills `out` with `PRF(secret, label, seed)` where `seed` is the concatenation
/// of `seed` parts (e.g. client_random, server_random). `alg` is the suite's PRF
/// hash, Sha256 or Sha384 for every suite we implement.
pub fn prf(alg: HashAlg, secret: &[u8], label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    let key = hmac::Key::new(alg.hmac_alg(), secret);

    // The HMAC input is always label || seed parts; with A(i) prepended for
    // output blocks. The parts are fed one by one: no concatenation, no allocation.
    let parts = || std::iter::once(label).chain(seed.iter().copied());

    // A(1) = HMAC(secret, A(0)) with A(0) = label || seed.
    let mut first = hmac::Context::with_key(&key);
    parts().for_each(|p| first.update(p));
    let mut a = first.sign();
    for chunk in out.chunks_mut(alg.output_len()) {
        // Output block = HMAC(secret, A(i) || label || seed).
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(a.as_ref());
        parts().for_each(|p| ctx.update(p));
        let block = ctx.sign();
        chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        // A(i+1) = HMAC(secret, A(i)).
        a = hmac_with_key(&key, &[a.as_ref()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls12_prf_sha256_kat() {
        // Widely used TLS 1.2 PRF-SHA256 test vector (IETF TLS WG mailing list).
        let secret = [
            0x9b, 0xbe, 0x43, 0x6b, 0xa9, 0x40, 0xf0, 0x17, 0xb1, 0x76, 0x52, 0x84, 0x9a, 0x71,
            0xdb, 0x35,
        ];
        let seed = [
            0xa0, 0xba, 0x9f, 0x93, 0x6c, 0xda, 0x31, 0x18, 0x27, 0xa6, 0xf7, 0x96, 0xff, 0xd5,
            0x19, 0x8c,
        ];
        let expected: [u8; 100] = [
            0xe3, 0xf2, 0x29, 0xba, 0x72, 0x7b, 0xe1, 0x7b, 0x8d, 0x12, 0x26, 0x20, 0x55, 0x7c,
            0xd4, 0x53, 0xc2, 0xaa, 0xb2, 0x1d, 0x07, 0xc3, 0xd4, 0x95, 0x32, 0x9b, 0x52, 0xd4,
            0xe6, 0x1e, 0xdb, 0x5a, 0x6b, 0x30, 0x17, 0x91, 0xe9, 0x0d, 0x35, 0xc9, 0xc9, 0xa4,
            0x6b, 0x4e, 0x14, 0xba, 0xf9, 0xaf, 0x0f, 0xa0, 0x22, 0xf7, 0x07, 0x7d, 0xef, 0x17,
            0xab, 0xfd, 0x37, 0x97, 0xc0, 0x56, 0x4b, 0xab, 0x4f, 0xbc, 0x91, 0x66, 0x6e, 0x9d,
            0xef, 0x9b, 0x97, 0xfc, 0xe3, 0x4f, 0x79, 0x67, 0x89, 0xba, 0xa4, 0x80, 0x82, 0xd1,
            0x22, 0xee, 0x42, 0xc5, 0xa7, 0x2e, 0x5a, 0x51, 0x10, 0xff, 0xf7, 0x01, 0x87, 0x34,
            0x7b, 0x66,
        ];
        let mut out = [0u8; 100];
        prf(HashAlg::Sha256, &secret, b"test label", &[&seed], &mut out);
        assert_eq!(out, expected);

        // Splitting the seed into parts must not change the output.
        let mut split = [0u8; 100];
        prf(
            HashAlg::Sha256,
            &secret,
            b"test label",
            &[&seed[..5], &seed[5..]],
            &mut split,
        );
        assert_eq!(split, expected);
    }

    #[test]
    fn prefix_property() {
        // P_hash is a stream: a shorter request is a prefix of a longer one.
        let mut long = [0u8; 80];
        let mut short = [0u8; 13];
        prf(HashAlg::Sha384, b"k", b"l", &[b"s"], &mut long);
        prf(HashAlg::Sha384, b"k", b"l", &[b"s"], &mut short);
        assert_eq!(&long[..13], &short);
    }
}
