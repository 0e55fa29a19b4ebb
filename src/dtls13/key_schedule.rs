//! The (D)TLS 1.3 key schedule (RFC 8446 §7.1), with the label prefix as a parameter: DTLS 1.3
//! replaces "tls13 " with "dtls13" in every HKDF-Expand-Label (RFC 9147 §5.9), and keeping it a
//! parameter lets the RFC 8448 TLS 1.3 traces test every step.
//!
//! Each stage is its own type and is consumed by the next one, so a secret that the schedule has
//! moved past cannot be used again (RFC 8446 §7.1: "Once all the values which are to be derived
//! from a given secret have been computed, that secret SHOULD be erased"):
//!
//! ```text
//! EarlySecret::new ──handshake_secret(ecdhe)──▶ HandshakeSecret ──master_secret()──▶ MasterSecret
//!                                                 │ c/s hs traffic                     │ c/s ap traffic, exp master
//!                                                 ▼                                    ▼
//!                                            TrafficSecret: traffic_keys(), finished_key(), next()
//! ```
//!
//! Every secret is zeroized on drop and printed by `Debug` as its hash only.
#![allow(dead_code)] // wired in by the 1.3 state machine

use crate::crypto::aead::{AeadAlg, NONCE_LEN};
use crate::crypto::hash::{ct_eq, hmac, HashAlg};
use crate::crypto::hkdf;
use crate::crypto::CryptoError;
use zeroize::{Zeroize, Zeroizing};

/// The hash and label prefix of one connection's derivations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kdf {
    hash: HashAlg,
    prefix: &'static [u8],
}

impl Kdf {
    /// DTLS 1.3: HKDF-Expand-Label with the "dtls13" prefix (RFC 9147 §5.9).
    pub const fn dtls13(hash: HashAlg) -> Self {
        Kdf {
            hash,
            prefix: hkdf::DTLS13_LABEL_PREFIX,
        }
    }

    /// Any prefix; `b"tls13 "` reproduces TLS 1.3 (RFC 8446), which the RFC 8448 traces use.
    pub const fn with_prefix(hash: HashAlg, prefix: &'static [u8]) -> Self {
        Kdf { hash, prefix }
    }

    /// The cipher suite's hash.
    pub fn hash(&self) -> HashAlg {
        self.hash
    }

    /// `HKDF-Expand-Label(secret, label, context, out.len())` with this prefix.
    pub fn expand_label(
        &self,
        secret: &[u8],
        label: &[u8],
        context: &[u8],
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        hkdf::expand_label_with_prefix(self.hash, secret, self.prefix, label, context, out)
    }

    /// `Derive-Secret(secret, label, transcript_hash)`: a hash-length Expand-Label.
    fn derive_secret(
        &self,
        secret: &[u8],
        label: &[u8],
        transcript_hash: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut out = Zeroizing::new(vec![0u8; self.hash.output_len()]);
        self.expand_label(secret, label, transcript_hash, &mut out)?;
        Ok(out)
    }

    /// `Derive-Secret(secret, "derived", "")`: the salt of the next Extract. The empty
    /// transcript's hash, not an empty context (RFC 8446 §7.1: Transcript-Hash("")).
    fn derived(&self, secret: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.derive_secret(secret, b"derived", &self.hash.hash(b""))
    }

    fn check_transcript(&self, transcript_hash: &[u8]) -> Result<(), CryptoError> {
        if transcript_hash.len() == self.hash.output_len() {
            Ok(())
        } else {
            Err(CryptoError::BadKey)
        }
    }
}

/// Writes `Name(<hash>)`: the algorithm only, never secret bytes.
macro_rules! redacted_debug {
    ($name:ident) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.kdf.hash)
            }
        }
    };
}

/// The Early Secret, `HKDF-Extract(0, PSK)` (RFC 8446 §7.1).
pub struct EarlySecret {
    kdf: Kdf,
    secret: Zeroizing<Vec<u8>>,
}
redacted_debug!(EarlySecret);

impl EarlySecret {
    /// The Early Secret without a PSK: `HKDF-Extract(0, 0)` with hash-length zero strings (RFC
    /// 8446 §7.1: "if PSK is not in use, Early Secret will still be HKDF-Extract(0, 0)").
    pub fn new(kdf: Kdf) -> Self {
        let zeros = [0u8; 64];
        let zeros = &zeros[..kdf.hash.output_len()];
        EarlySecret {
            kdf,
            secret: hkdf::extract(kdf.hash, zeros, zeros),
        }
    }

    /// Adds the (EC)DHE or KEM shared secret: `HKDF-Extract(Derive-Secret(early, "derived", ""),
    /// shared_secret)`.
    pub fn handshake_secret(self, shared_secret: &[u8]) -> Result<HandshakeSecret, CryptoError> {
        let salt = self.kdf.derived(&self.secret)?;
        Ok(HandshakeSecret {
            kdf: self.kdf,
            secret: hkdf::extract(self.kdf.hash, &salt, shared_secret),
        })
    }

    #[cfg(test)]
    fn bytes(&self) -> &[u8] {
        &self.secret
    }
}

/// The Handshake Secret: the source of both handshake traffic secrets.
pub struct HandshakeSecret {
    kdf: Kdf,
    secret: Zeroizing<Vec<u8>>,
}
redacted_debug!(HandshakeSecret);

impl HandshakeSecret {
    /// `client_handshake_traffic_secret`; `transcript_hash` covers ClientHello..ServerHello.
    pub fn client_handshake_traffic_secret(
        &self,
        transcript_hash: &[u8],
    ) -> Result<TrafficSecret, CryptoError> {
        TrafficSecret::derive(self.kdf, &self.secret, b"c hs traffic", transcript_hash)
    }

    /// `server_handshake_traffic_secret`; `transcript_hash` covers ClientHello..ServerHello.
    pub fn server_handshake_traffic_secret(
        &self,
        transcript_hash: &[u8],
    ) -> Result<TrafficSecret, CryptoError> {
        TrafficSecret::derive(self.kdf, &self.secret, b"s hs traffic", transcript_hash)
    }

    /// The Master Secret, `HKDF-Extract(Derive-Secret(hs, "derived", ""), 0)`.
    pub fn master_secret(self) -> Result<MasterSecret, CryptoError> {
        let salt = self.kdf.derived(&self.secret)?;
        let zeros = [0u8; 64];
        Ok(MasterSecret {
            kdf: self.kdf,
            secret: hkdf::extract(self.kdf.hash, &salt, &zeros[..self.kdf.hash.output_len()]),
        })
    }

    #[cfg(test)]
    fn bytes(&self) -> &[u8] {
        &self.secret
    }
}

/// The Master Secret: the source of the application traffic and exporter secrets.
pub struct MasterSecret {
    kdf: Kdf,
    secret: Zeroizing<Vec<u8>>,
}
redacted_debug!(MasterSecret);

impl MasterSecret {
    /// `client_application_traffic_secret_0`; `transcript_hash` covers ClientHello..server
    /// Finished.
    pub fn client_application_traffic_secret(
        &self,
        transcript_hash: &[u8],
    ) -> Result<TrafficSecret, CryptoError> {
        TrafficSecret::derive(self.kdf, &self.secret, b"c ap traffic", transcript_hash)
    }

    /// `server_application_traffic_secret_0`; `transcript_hash` covers ClientHello..server
    /// Finished.
    pub fn server_application_traffic_secret(
        &self,
        transcript_hash: &[u8],
    ) -> Result<TrafficSecret, CryptoError> {
        TrafficSecret::derive(self.kdf, &self.secret, b"s ap traffic", transcript_hash)
    }

    /// `exporter_master_secret`; `transcript_hash` covers ClientHello..server Finished.
    pub fn exporter_master_secret(
        &self,
        transcript_hash: &[u8],
    ) -> Result<ExporterSecret, CryptoError> {
        self.kdf.check_transcript(transcript_hash)?;
        Ok(ExporterSecret {
            kdf: self.kdf,
            secret: self
                .kdf
                .derive_secret(&self.secret, b"exp master", transcript_hash)?,
        })
    }

    #[cfg(test)]
    fn bytes(&self) -> &[u8] {
        &self.secret
    }
}

/// A traffic secret: handshake or application, one direction, one generation.
pub struct TrafficSecret {
    kdf: Kdf,
    secret: Zeroizing<Vec<u8>>,
}
redacted_debug!(TrafficSecret);

impl TrafficSecret {
    fn derive(
        kdf: Kdf,
        secret: &[u8],
        label: &[u8],
        transcript_hash: &[u8],
    ) -> Result<Self, CryptoError> {
        kdf.check_transcript(transcript_hash)?;
        Ok(TrafficSecret {
            kdf,
            secret: kdf.derive_secret(secret, label, transcript_hash)?,
        })
    }

    /// The record protection keys of this secret: `key` and `iv` (RFC 8446 §7.3) and the record
    /// number encryption key `sn`, as long as the AEAD key (RFC 9147 §4.2.3).
    pub fn traffic_keys(&self, aead: AeadAlg) -> Result<TrafficKeys, CryptoError> {
        let mut key = Zeroizing::new(vec![0u8; aead.key_len()]);
        let mut sn_key = Zeroizing::new(vec![0u8; aead.key_len()]);
        let mut iv = [0u8; NONCE_LEN];
        self.kdf.expand_label(&self.secret, b"key", b"", &mut key)?;
        self.kdf.expand_label(&self.secret, b"iv", b"", &mut iv)?;
        self.kdf
            .expand_label(&self.secret, b"sn", b"", &mut sn_key)?;
        Ok(TrafficKeys {
            aead,
            key,
            iv,
            sn_key,
        })
    }

    /// `finished_key = HKDF-Expand-Label(secret, "finished", "", Hash.length)` (RFC 8446
    /// §4.4.4), from a handshake traffic secret (or the client's, for post-handshake auth).
    pub fn finished_key(&self) -> Result<FinishedKey, CryptoError> {
        let mut key = Zeroizing::new(vec![0u8; self.kdf.hash.output_len()]);
        self.kdf
            .expand_label(&self.secret, b"finished", b"", &mut key)?;
        Ok(FinishedKey { kdf: self.kdf, key })
    }

    /// `application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "",
    /// Hash.length)` (RFC 8446 §7.2), for KeyUpdate. The caller drops `self` once the new keys
    /// are installed.
    pub fn next(&self) -> Result<TrafficSecret, CryptoError> {
        let mut secret = Zeroizing::new(vec![0u8; self.kdf.hash.output_len()]);
        self.kdf
            .expand_label(&self.secret, b"traffic upd", b"", &mut secret)?;
        Ok(TrafficSecret {
            kdf: self.kdf,
            secret,
        })
    }

    /// The secret's bytes, for an SSLKEYLOGFILE-style key log; never log them otherwise.
    pub fn expose_for_key_log(&self) -> &[u8] {
        &self.secret
    }
}

/// One direction's record protection keys for one epoch.
pub struct TrafficKeys {
    /// The AEAD the keys are for.
    pub aead: AeadAlg,
    /// `[sender]_write_key`.
    pub key: Zeroizing<Vec<u8>>,
    /// `[sender]_write_iv`: XORed with the record sequence number into each nonce.
    pub iv: [u8; NONCE_LEN],
    /// `[sender]_sn_key`: record number encryption (RFC 9147 §4.2.3).
    pub sn_key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for TrafficKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrafficKeys({:?})", self.aead)
    }
}

impl Drop for TrafficKeys {
    fn drop(&mut self) {
        self.iv.zeroize();
    }
}

/// The key of a Finished MAC.
pub struct FinishedKey {
    kdf: Kdf,
    key: Zeroizing<Vec<u8>>,
}
redacted_debug!(FinishedKey);

impl FinishedKey {
    /// `verify_data = HMAC(finished_key, Transcript-Hash(Handshake Context, Certificate*,
    /// CertificateVerify*))` (RFC 8446 §4.4.4).
    pub fn verify_data(&self, transcript_hash: &[u8]) -> Vec<u8> {
        hmac(self.kdf.hash, &self.key, &[transcript_hash])
    }

    /// Checks a peer's verify_data in constant time.
    pub fn verify(&self, transcript_hash: &[u8], received: &[u8]) -> bool {
        ct_eq(&self.verify_data(transcript_hash), received)
    }

    #[cfg(test)]
    fn bytes(&self) -> &[u8] {
        &self.key
    }
}

/// The `exporter_master_secret`, for keying material exporters (RFC 8446 §7.5) such as DTLS-SRTP.
pub struct ExporterSecret {
    kdf: Kdf,
    secret: Zeroizing<Vec<u8>>,
}
redacted_debug!(ExporterSecret);

impl ExporterSecret {
    /// `TLS-Exporter(label, context, out.len()) = HKDF-Expand-Label(Derive-Secret(secret, label,
    /// ""), "exporter", Hash(context), out.len())` (RFC 8446 §7.5). An absent context and an
    /// empty one give the same output in 1.3. `Unsupported` for a label over 249 bytes (it would
    /// not fit the HkdfLabel with the prefix) or an output over 65535 bytes.
    pub fn export(&self, label: &[u8], context: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
        let hash = self.kdf.hash;
        let per_label = self
            .kdf
            .derive_secret(&self.secret, label, &hash.hash(b""))?;
        self.kdf
            .expand_label(&per_label, b"exporter", &hash.hash(context), out)
    }

    #[cfg(test)]
    fn bytes(&self) -> &[u8] {
        &self.secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const TLS13: Kdf = Kdf::with_prefix(HashAlg::Sha256, b"tls13 ");

    // RFC 8448 §3 "Simple 1-RTT Handshake", TLS_AES_128_GCM_SHA256 over x25519.
    const ECDHE: &str = "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d";
    /// Transcript-Hash(ClientHello, ServerHello).
    const TH_CH_SH: &str = "860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8";
    /// Transcript-Hash(ClientHello .. CertificateVerify): the server Finished's context.
    const TH_CH_CV: &str = "edb7725fa7a3473b031ec8ef65a2485493900138a2b91291407d7951a06110ed";
    /// Transcript-Hash(ClientHello .. server Finished).
    const TH_CH_SF: &str = "9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13";

    #[test]
    fn rfc8448_simple_1rtt() {
        let early = EarlySecret::new(TLS13);
        assert_eq!(
            early.bytes(),
            unhex("33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a")
        );
        // The "derived" step is internal, but the trace prints it: check it on its own.
        assert_eq!(
            *TLS13.derived(early.bytes()).unwrap(),
            unhex("6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba")
        );

        let hs = early.handshake_secret(&unhex(ECDHE)).unwrap();
        assert_eq!(
            hs.bytes(),
            unhex("1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac")
        );
        let th = unhex(TH_CH_SH);
        let c_hs = hs.client_handshake_traffic_secret(&th).unwrap();
        let s_hs = hs.server_handshake_traffic_secret(&th).unwrap();
        assert_eq!(
            c_hs.expose_for_key_log(),
            unhex("b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21")
        );
        assert_eq!(
            s_hs.expose_for_key_log(),
            unhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
        );

        // {server} derive write traffic keys for handshake data.
        let k = s_hs.traffic_keys(AeadAlg::Aes128Gcm).unwrap();
        assert_eq!(*k.key, unhex("3fce516009c21727d0f2e4e86ee403bc"));
        assert_eq!(k.iv.to_vec(), unhex("5d313eb2671276ee13000b30"));
        // {client} derive write traffic keys for handshake data.
        let k = c_hs.traffic_keys(AeadAlg::Aes128Gcm).unwrap();
        assert_eq!(*k.key, unhex("dbfaa693d1762c5b666af5d950258d01"));
        assert_eq!(k.iv.to_vec(), unhex("5bd3c71b836e0b76bb73265f"));

        // {server} calculate finished.
        let s_fin = s_hs.finished_key().unwrap();
        assert_eq!(
            s_fin.bytes(),
            unhex("008d3b66f816ea559f96b537e885c31fc068bf492c652f01f288a1d8cdc19fc8")
        );
        let s_vd = unhex("9b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718");
        assert_eq!(s_fin.verify_data(&unhex(TH_CH_CV)), s_vd);
        assert!(s_fin.verify(&unhex(TH_CH_CV), &s_vd));
        let mut bad = s_vd.clone();
        bad[31] ^= 1;
        assert!(!s_fin.verify(&unhex(TH_CH_CV), &bad));
        assert!(!s_fin.verify(&unhex(TH_CH_CV), &s_vd[..31]));

        // {client} calculate finished.
        let c_fin = c_hs.finished_key().unwrap();
        assert_eq!(
            c_fin.bytes(),
            unhex("b80ad01015fb2f0bd65ff7d4da5d6bf83f84821d1f87fdc7d3c75b5a7b42d9c4")
        );
        assert_eq!(
            c_fin.verify_data(&unhex(TH_CH_SF)),
            unhex("a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61")
        );

        // The trace's "derived" before the master secret.
        assert_eq!(
            *TLS13.derived(hs.bytes()).unwrap(),
            unhex("43de77e0c77713859a944db9db2590b53190a65b3ee2e4f12dd7a0bb7ce254b4")
        );
        let ms = hs.master_secret().unwrap();
        assert_eq!(
            ms.bytes(),
            unhex("18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919")
        );
        let th = unhex(TH_CH_SF);
        let c_ap = ms.client_application_traffic_secret(&th).unwrap();
        let s_ap = ms.server_application_traffic_secret(&th).unwrap();
        let exp = ms.exporter_master_secret(&th).unwrap();
        assert_eq!(
            c_ap.expose_for_key_log(),
            unhex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5")
        );
        assert_eq!(
            s_ap.expose_for_key_log(),
            unhex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643")
        );
        assert_eq!(
            exp.bytes(),
            unhex("fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50")
        );

        // {server} / {client} derive write traffic keys for application data.
        let k = s_ap.traffic_keys(AeadAlg::Aes128Gcm).unwrap();
        assert_eq!(*k.key, unhex("9f02283b6c9c07efc26bb9f2ac92e356"));
        assert_eq!(k.iv.to_vec(), unhex("cf782b88dd83549aadf1e984"));
        let k = c_ap.traffic_keys(AeadAlg::Aes128Gcm).unwrap();
        assert_eq!(*k.key, unhex("17422dda596ed5d9acd890e3c63f5051"));
        assert_eq!(k.iv.to_vec(), unhex("5b78923dee08579033e523d9"));
    }

    /// HKDF-Expand-Label computed by a second implementation: OpenSSL's HKDF in expand-only
    /// mode, over an HkdfLabel assembled by hand (RFC 8446 §7.1).
    fn openssl_expand_label(
        hash: HashAlg,
        prefix: &[u8],
        secret: &[u8],
        label: &[u8],
        context: &[u8],
        len: usize,
    ) -> Vec<u8> {
        use openssl::md::Md;
        use openssl::pkey::Id;
        use openssl::pkey_ctx::{HkdfMode, PkeyCtx};
        let mut info = (len as u16).to_be_bytes().to_vec();
        info.push((prefix.len() + label.len()) as u8);
        info.extend_from_slice(prefix);
        info.extend_from_slice(label);
        info.push(context.len() as u8);
        info.extend_from_slice(context);
        let mut ctx = PkeyCtx::new_id(Id::HKDF).unwrap();
        ctx.derive_init().unwrap();
        ctx.set_hkdf_md(match hash {
            HashAlg::Sha256 => Md::sha256(),
            HashAlg::Sha384 => Md::sha384(),
            _ => unreachable!(),
        })
        .unwrap();
        ctx.set_hkdf_mode(HkdfMode::EXPAND_ONLY).unwrap();
        ctx.set_hkdf_key(secret).unwrap();
        ctx.add_hkdf_info(&info).unwrap();
        let mut out = vec![0u8; len];
        ctx.derive(Some(&mut out)).unwrap();
        out
    }

    /// RFC 8448 has no record number key, KeyUpdate or exporter output: check those against
    /// OpenSSL's HKDF, for both hashes and both prefixes.
    #[test]
    fn sn_key_update_and_exporter_match_openssl_hkdf() {
        for (hash, aead) in [
            (HashAlg::Sha256, AeadAlg::Aes128Gcm),
            (HashAlg::Sha384, AeadAlg::Aes256Gcm),
            (HashAlg::Sha256, AeadAlg::Chacha20Poly1305),
        ] {
            for prefix in [&b"tls13 "[..], &b"dtls13"[..]] {
                let kdf = Kdf::with_prefix(hash, prefix);
                let n = hash.output_len();
                let th = vec![0x5a; n];
                let ms = EarlySecret::new(kdf)
                    .handshake_secret(&[7u8; 32])
                    .unwrap()
                    .master_secret()
                    .unwrap();
                let ap = ms.client_application_traffic_secret(&th).unwrap();
                let secret = ap.expose_for_key_log().to_vec();
                let ossl = |secret: &[u8], label: &[u8], ctx: &[u8], len| {
                    openssl_expand_label(hash, prefix, secret, label, ctx, len)
                };

                let keys = ap.traffic_keys(aead).unwrap();
                assert_eq!(*keys.sn_key, ossl(&secret, b"sn", b"", aead.key_len()));
                assert_eq!(*keys.key, ossl(&secret, b"key", b"", aead.key_len()));
                assert_ne!(*keys.sn_key, *keys.key);

                let next = ap.next().unwrap();
                assert_eq!(
                    next.expose_for_key_log(),
                    ossl(&secret, b"traffic upd", b"", n)
                );
                // Generation N+2 comes from N+1, not from N.
                assert_eq!(
                    next.next().unwrap().expose_for_key_log(),
                    ossl(next.expose_for_key_log(), b"traffic upd", b"", n)
                );

                let exp = ms.exporter_master_secret(&th).unwrap();
                let mut out = [0u8; 60];
                exp.export(b"EXTRACTOR-dtls_srtp", b"", &mut out).unwrap();
                let per_label = ossl(exp.bytes(), b"EXTRACTOR-dtls_srtp", &hash.hash(b""), n);
                assert_eq!(
                    out.to_vec(),
                    ossl(&per_label, b"exporter", &hash.hash(b""), 60)
                );
                let mut with_ctx = [0u8; 60];
                exp.export(b"EXTRACTOR-dtls_srtp", b"ctx", &mut with_ctx)
                    .unwrap();
                assert_eq!(
                    with_ctx.to_vec(),
                    ossl(&per_label, b"exporter", &hash.hash(b"ctx"), 60)
                );
                assert_ne!(out, with_ctx);
            }
        }
    }

    #[test]
    fn dtls13_prefix_changes_every_output() {
        let dtls = Kdf::dtls13(HashAlg::Sha256);
        let (e_tls, e_dtls) = (EarlySecret::new(TLS13), EarlySecret::new(dtls));
        // Extract has no label: the early secret is the same.
        assert_eq!(e_tls.bytes(), e_dtls.bytes());
        let hs_tls = e_tls.handshake_secret(&unhex(ECDHE)).unwrap();
        let hs_dtls = e_dtls.handshake_secret(&unhex(ECDHE)).unwrap();
        assert_ne!(hs_tls.bytes(), hs_dtls.bytes());
        let th = unhex(TH_CH_SH);
        let a = hs_tls.client_handshake_traffic_secret(&th).unwrap();
        let b = hs_dtls.client_handshake_traffic_secret(&th).unwrap();
        assert_ne!(a.expose_for_key_log(), b.expose_for_key_log());
        // Same secret, different prefix: the keys differ too.
        let same = Kdf::dtls13(HashAlg::Sha256);
        let mut k1 = [0u8; 16];
        let mut k2 = [0u8; 16];
        TLS13
            .expand_label(a.expose_for_key_log(), b"key", b"", &mut k1)
            .unwrap();
        same.expand_label(a.expose_for_key_log(), b"key", b"", &mut k2)
            .unwrap();
        assert_ne!(k1, k2);
        assert_eq!(
            k2.to_vec(),
            openssl_expand_label(
                HashAlg::Sha256,
                b"dtls13",
                a.expose_for_key_log(),
                b"key",
                b"",
                16
            )
        );
    }

    #[test]
    fn sha384_lengths_and_bad_transcripts() {
        let kdf = Kdf::dtls13(HashAlg::Sha384);
        let hs = EarlySecret::new(kdf).handshake_secret(&[1; 48]).unwrap();
        assert_eq!(hs.bytes().len(), 48);
        // A transcript hash of the wrong length is a caller bug, reported, not derived from.
        assert_eq!(
            hs.client_handshake_traffic_secret(&[0; 32]).unwrap_err(),
            CryptoError::BadKey
        );
        let t = hs.server_handshake_traffic_secret(&[0; 48]).unwrap();
        assert_eq!(t.expose_for_key_log().len(), 48);
        assert_eq!(t.finished_key().unwrap().verify_data(&[0; 48]).len(), 48);
        let keys = t.traffic_keys(AeadAlg::Aes256Gcm).unwrap();
        assert_eq!((keys.key.len(), keys.sn_key.len()), (32, 32));
        let ms = hs.master_secret().unwrap();
        assert!(ms.exporter_master_secret(&[0; 47]).is_err());
        let exp = ms.exporter_master_secret(&[0; 48]).unwrap();
        assert_eq!(
            exp.export(&[b'x'; 250], b"", &mut [0u8; 16]),
            Err(CryptoError::Unsupported)
        );
        assert!(exp.export(&[b'x'; 249], b"", &mut [0u8; 16]).is_ok());
    }

    /// The pieces fit: a DTLS 1.3 handshake secret's keys drive record protection, the client's
    /// keys open what the client sealed, and the server's do not.
    #[test]
    fn traffic_keys_drive_record_protection() {
        use crate::msgs::enums::ContentType;
        use crate::msgs::record13::{Header13, RecordCursor};
        use crate::record::protect13::{Open13Error, RecordCipher13};
        let kdf = Kdf::dtls13(HashAlg::Sha384);
        let hs = EarlySecret::new(kdf).handshake_secret(&[9; 64]).unwrap();
        let th = HashAlg::Sha384.hash(b"ClientHello..ServerHello");
        let cipher = |t: &TrafficSecret| {
            let k = t.traffic_keys(AeadAlg::Aes256Gcm).unwrap();
            RecordCipher13::new(k.aead, &k.key, &k.iv, &k.sn_key).unwrap()
        };
        let c = hs.client_handshake_traffic_secret(&th).unwrap();
        let s = hs.server_handshake_traffic_secret(&th).unwrap();
        let (mut tx, mut rx, mut wrong) = (cipher(&c), cipher(&c), cipher(&s));
        let mut rec = vec![0u8; 8 + RecordCipher13::overhead(0)];
        rec[RecordCipher13::header_len()..][..8].copy_from_slice(b"Finished");
        let n = tx
            .seal(2, 0, ContentType::Handshake, &mut rec, 8, 0)
            .unwrap();
        assert_eq!(n, rec.len());
        let span = RecordCursor::new(0).next(&rec).unwrap();
        let Header13::Ciphertext(h) = span.header else {
            panic!("{span:?}")
        };
        let mut copy = rec.clone();
        let (hdr, body) = span.split_mut(&mut copy).unwrap();
        assert_eq!(wrong.open(&h, hdr, body, None), Err(Open13Error::Drop));
        let (hdr, body) = span.split_mut(&mut rec).unwrap();
        let o = rx.open(&h, hdr, body, None).unwrap();
        assert_eq!((o.content_type, o.seq), (ContentType::Handshake, 0));
        assert_eq!(&body[o.range], b"Finished");
    }

    #[test]
    fn debug_never_prints_secrets() {
        let early = EarlySecret::new(TLS13);
        let hs = early.handshake_secret(&unhex(ECDHE)).unwrap();
        let t = hs
            .client_handshake_traffic_secret(&unhex(TH_CH_SH))
            .unwrap();
        let printed = [
            format!("{hs:?}"),
            format!("{t:?}"),
            format!("{:?}", t.traffic_keys(AeadAlg::Aes128Gcm).unwrap()),
            format!("{:?}", t.finished_key().unwrap()),
        ];
        assert_eq!(
            printed,
            [
                "HandshakeSecret(Sha256)",
                "TrafficSecret(Sha256)",
                "TrafficKeys(Aes128Gcm)",
                "FinishedKey(Sha256)"
            ]
        );
    }
}
