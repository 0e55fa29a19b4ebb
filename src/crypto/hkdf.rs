//! HKDF (RFC 5869) and the (D)TLS 1.3 `HKDF-Expand-Label` (RFC 8446 §7.1,
//! RFC 9147 §5.9 label prefix "dtls13"), for the DTLS 1.3 key schedule.

use super::hash::HashAlg;
use super::CryptoError;
use ring::hkdf;
use zeroize::Zeroizing;

/// The DTLS 1.3 label prefix (RFC 9147 §5.9); TLS 1.3 uses "tls13 ".
pub const DTLS13_LABEL_PREFIX: &[u8] = b"dtls13";

/// `HKDF-Extract(salt, ikm)`; returns the PRK bytes (hash-length).
/// Extract is exactly HMAC(salt, ikm) (RFC 5869 §2.2); returning bytes lets the
/// key schedule store and feed secrets back in as the next salt.
pub fn extract(alg: HashAlg, salt: &[u8], ikm: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(super::hash::hmac(alg, salt, &[ikm]))
}

/// `HKDF-Expand(prk, info, out.len())` where `info` is the concatenation of parts.
pub fn expand(alg: HashAlg, prk: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<(), CryptoError> {
    let ring_alg = ring_hkdf_alg(alg)?;
    let prk = hkdf::Prk::new_less_safe(ring_alg, prk);
    prk.expand(info, OutLen(out.len()))
        .and_then(|okm| okm.fill(out))
        // Only possible for out.len() > 255 * hash_len.
        .map_err(|_| CryptoError::Unsupported)
}

/// `HKDF-Expand-Label(secret, label, context, out.len())` with the DTLS 1.3
/// prefix: the HkdfLabel struct is `u16 length || u8 len || "dtls13" label ||
/// u8 len || context`.
pub fn expand_label(
    alg: HashAlg,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    expand_label_with_prefix(alg, secret, DTLS13_LABEL_PREFIX, label, context, out)
}

/// As [`expand_label`] with an explicit prefix (b"tls13 " for TLS 1.3 test vectors).
pub fn expand_label_with_prefix(
    alg: HashAlg,
    secret: &[u8],
    prefix: &[u8],
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let full_label_len = prefix.len() + label.len();
    let (Ok(out_len), Ok(label_len), Ok(ctx_len)) = (
        u16::try_from(out.len()),
        u8::try_from(full_label_len),
        u8::try_from(context.len()),
    ) else {
        return Err(CryptoError::Unsupported);
    };
    let out_len = out_len.to_be_bytes();
    let info: [&[u8]; 6] = [&out_len, &[label_len], prefix, label, &[ctx_len], context];
    expand(alg, secret, &info, out)
}

/// `Derive-Secret(secret, label, transcript_hash)`: a hash-length Expand-Label.
pub fn derive_secret(
    alg: HashAlg,
    secret: &[u8],
    label: &[u8],
    transcript_hash: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut out = Zeroizing::new(vec![0u8; alg.output_len()]);
    expand_label(alg, secret, label, transcript_hash, &mut out)?;
    Ok(out)
}

fn ring_hkdf_alg(alg: HashAlg) -> Result<hkdf::Algorithm, CryptoError> {
    match alg {
        HashAlg::Sha1 => Err(CryptoError::Unsupported),
        HashAlg::Sha256 => Ok(hkdf::HKDF_SHA256),
        HashAlg::Sha384 => Ok(hkdf::HKDF_SHA384),
        HashAlg::Sha512 => Ok(hkdf::HKDF_SHA512),
    }
}

/// Output length marker for ring's typed HKDF API.
struct OutLen(usize);

impl hkdf::KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc5869_case1() {
        let ikm = [0x0bu8; 22];
        let salt = unhex("000102030405060708090a0b0c");
        let info = unhex("f0f1f2f3f4f5f6f7f8f9");
        let prk = extract(HashAlg::Sha256, &salt, &ikm);
        assert_eq!(
            prk.as_slice(),
            unhex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5").as_slice()
        );
        let mut okm = [0u8; 42];
        expand(HashAlg::Sha256, &prk, &[&info], &mut okm).unwrap();
        assert_eq!(
            okm.as_slice(),
            unhex(
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
            )
            .as_slice()
        );
    }

    #[test]
    fn tls13_expand_label_rfc8448() {
        // RFC 8448 §3: client_handshake_traffic_secret -> key and iv.
        let secret = unhex("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21");
        let mut key = [0u8; 16];
        expand_label_with_prefix(HashAlg::Sha256, &secret, b"tls13 ", b"key", b"", &mut key)
            .unwrap();
        assert_eq!(
            key.as_slice(),
            unhex("dbfaa693d1762c5b666af5d950258d01").as_slice()
        );
        let mut iv = [0u8; 12];
        expand_label_with_prefix(HashAlg::Sha256, &secret, b"tls13 ", b"iv", b"", &mut iv).unwrap();
        assert_eq!(iv.as_slice(), unhex("5bd3c71b836e0b76bb73265f").as_slice());
    }

    #[test]
    fn too_long_is_error() {
        let mut out = vec![0u8; 255 * 32 + 1];
        assert_eq!(
            expand(HashAlg::Sha256, &[0u8; 32], &[], &mut out),
            Err(CryptoError::Unsupported)
        );
    }
}
