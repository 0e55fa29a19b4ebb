//! The crypto bound, straight from ring: what a handshake cannot go below (one ECDHE key
//! generation + agreement, one ECDSA P-256 signature and one verification per side), and
//! ring's raw AES-128-GCM rate on the same 1200-byte buffers the record benchmark uses.

use super::setup::cpu_time;
use super::setup::{Group, RECORD, SLOT};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, KeyPair};
use ring::{digest, hkdf, hmac};
use std::hint::black_box;
use std::time::Duration;

/// The bytes a ServerKeyExchange signs for P-256: client random, server random, curve
/// params and point (32 + 32 + 4 + 65).
const SIGNED_LEN: usize = 133;

pub struct Bound {
    rng: SystemRandom,
    key: EcdsaKeyPair,
    msg: Vec<u8>,
    sig: Vec<u8>,
    peer_p256: Vec<u8>,
    peer_x25519: Vec<u8>,
}

/// Time per operation of each handshake primitive.
#[derive(Clone, Copy, Debug, Default)]
pub struct PerOp {
    pub kx: Duration,
    pub sign: Duration,
    pub verify: Duration,
}

impl PerOp {
    /// One side's crypto: keygen + agree, one sign, one verify.
    pub fn per_side(&self) -> Duration {
        self.kx + self.sign + self.verify
    }

    /// Handshakes per second with both sides on one core.
    pub fn handshakes_per_sec(&self) -> f64 {
        1.0 / (2.0 * self.per_side().as_secs_f64())
    }
}

fn public(alg: &'static agreement::Algorithm, rng: &SystemRandom) -> Vec<u8> {
    let k = EphemeralPrivateKey::generate(alg, rng).unwrap();
    k.compute_public_key().unwrap().as_ref().to_vec()
}

impl Bound {
    pub fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            pkcs8.as_ref(),
            &rng,
        )
        .unwrap();
        let msg: Vec<u8> = (0..SIGNED_LEN).map(|i| i as u8).collect();
        let sig = key.sign(&rng, &msg).unwrap().as_ref().to_vec();
        Bound {
            peer_p256: public(&agreement::ECDH_P256, &rng),
            peer_x25519: public(&agreement::X25519, &rng),
            rng,
            key,
            msg,
            sig,
        }
    }

    /// One ephemeral key exchange as a handshake side does it: generate, compute the public
    /// value to send, agree with the peer's.
    pub fn kx(&self, group: Group) -> usize {
        let (alg, peer) = match group {
            Group::P256 => (&agreement::ECDH_P256, &self.peer_p256),
            Group::X25519 => (&agreement::X25519, &self.peer_x25519),
            Group::Hybrid => unreachable!("1.2 has no hybrid group: see Bound13"),
        };
        let k = EphemeralPrivateKey::generate(alg, &self.rng).unwrap();
        let public_len = k.compute_public_key().unwrap().as_ref().len();
        let peer = UnparsedPublicKey::new(alg, peer.as_slice());
        agreement::agree_ephemeral(k, &peer, |s| s.len()).unwrap() + public_len
    }

    pub fn sign(&self) -> usize {
        self.key.sign(&self.rng, &self.msg).unwrap().as_ref().len()
    }

    pub fn verify(&self) -> bool {
        let pk = signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_ASN1,
            self.key.public_key().as_ref(),
        );
        pk.verify(&self.msg, &self.sig).is_ok()
    }

    /// Times `n` of each operation.
    pub fn measure(&self, group: Group, n: usize) -> PerOp {
        let n32 = n as u32;
        let t = cpu_time();
        for _ in 0..n {
            black_box(self.kx(group));
        }
        let kx = (cpu_time() - t) / n32;
        let t = cpu_time();
        for _ in 0..n {
            black_box(self.sign());
        }
        let sign = (cpu_time() - t) / n32;
        let t = cpu_time();
        for _ in 0..n {
            assert!(black_box(self.verify()));
        }
        let verify = (cpu_time() - t) / n32;
        PerOp { kx, sign, verify }
    }
}

/// ring's AES-128-GCM sealing and opening 1200-byte records in place, with a 13-byte AAD
/// like DTLS 1.2's: the floor under any record layer built on it.
pub struct RawAead {
    key: LessSafeKey,
    wire: Vec<u8>,
    counter: u64,
}

fn nonce(n: u64) -> Nonce {
    let mut b = [0u8; 12];
    b[4..].copy_from_slice(&n.to_be_bytes());
    Nonce::assume_unique_for_key(b)
}

impl RawAead {
    pub fn new(batch: usize) -> Self {
        let key = LessSafeKey::new(UnboundKey::new(&aead::AES_128_GCM, &[7u8; 16]).unwrap());
        let mut wire = vec![0u8; batch * SLOT];
        for slot in wire.chunks_exact_mut(SLOT) {
            slot[..RECORD].copy_from_slice(&super::setup::payload());
        }
        RawAead {
            key,
            wire,
            counter: 0,
        }
    }

    /// Seals `batch` buffers in place, then opens them. Returns (seal time, open time).
    pub fn round(&mut self, batch: usize) -> (Duration, Duration) {
        let aad = [0u8; 13];
        let first = self.counter;
        let t0 = cpu_time();
        for (i, slot) in self.wire.chunks_exact_mut(SLOT).take(batch).enumerate() {
            let (plain, rest) = slot.split_at_mut(RECORD);
            let tag = self
                .key
                .seal_in_place_separate_tag(nonce(first + i as u64), Aad::from(aad), plain)
                .unwrap();
            rest[..16].copy_from_slice(tag.as_ref());
        }
        let t1 = cpu_time();
        for (i, slot) in self.wire.chunks_exact_mut(SLOT).take(batch).enumerate() {
            let n = self
                .key
                .open_in_place(
                    nonce(first + i as u64),
                    Aad::from(aad),
                    &mut slot[..RECORD + 16],
                )
                .unwrap()
                .len();
            debug_assert_eq!(n, RECORD);
        }
        self.counter += batch as u64;
        (t1 - t0, cpu_time() - t1)
    }
}

// --- DTLS 1.3 ------------------------------------------------------------------------------

/// The bytes a DTLS 1.3 CertificateVerify signs: 64 spaces, the 33-byte context string
/// ("TLS 1.3, server CertificateVerify"), a zero byte and the SHA-256 transcript hash
/// (RFC 8446 §4.4.3).
const SIGNED_LEN_13: usize = 64 + 33 + 1 + 32;

/// What a DTLS 1.3 handshake's records amount to, taken from one of our handshakes: the
/// ciphertext length of every protected record (both directions; handshake messages and the
/// ACK) and the transcript's length.
#[derive(Clone, Debug, Default)]
pub struct Shape13 {
    pub protected: Vec<usize>,
    pub transcript_len: usize,
}

/// The crypto bound of a DTLS 1.3 handshake with mutual ECDSA authentication, computed with
/// ring (and RustCrypto's ml-kem for the ML-KEM half of X25519MLKEM768, as the engine does):
/// - the key exchange of both sides (ECDHE: keygen + agree each; the hybrid: the client's
///   ML-KEM key generation and decapsulation, the server's key check and encapsulation, and an
///   X25519 keygen + agree on each side);
/// - per side one ECDSA P-256 signature and one verification (CertificateVerify);
/// - per side the key schedule: 3 HKDF-Extract, 23 HKDF-Expand-Label (2 derived, 5 traffic
///   and exporter secrets, key + iv + sn for 4 traffic secrets, 2 finished keys) and 2 HMACs
///   (our Finished, the peer's), over a running SHA-256 transcript finished at the 6 points
///   the schedule and the CertificateVerify/Finished messages need it;
/// - per side 4 AES-128-GCM keys and 4 record number keys (handshake and application epochs,
///   both directions);
/// - every protected handshake record (and the ACK) sealed once and opened once, each with
///   its record number mask (AES-ECB of a 16-byte sample, ring's `quic` header protection).
pub struct Bound13 {
    base: Bound,
    msg: Vec<u8>,
    sig: Vec<u8>,
    empty_hash: Vec<u8>,
    shape: Shape13,
    transcript: Vec<u8>,
    wire: Vec<u8>,
}

/// Time per handshake of each part of the 1.3 bound.
#[derive(Clone, Copy, Debug, Default)]
pub struct PerOp13 {
    /// Key exchange, both sides together.
    pub kx: Duration,
    pub sign: Duration,
    pub verify: Duration,
    /// Key schedule of one side (HKDF, HMAC, transcript hash).
    pub schedule: Duration,
    /// AEAD and record number key setup of one side.
    pub keys: Duration,
    /// Every protected handshake record sealed and opened (both directions).
    pub records: Duration,
}

impl PerOp13 {
    /// Crypto of one whole handshake (both sides).
    pub fn total(&self) -> Duration {
        self.kx + 2 * (self.sign + self.verify + self.schedule + self.keys) + self.records
    }

    pub fn handshakes_per_sec(&self) -> f64 {
        1.0 / self.total().as_secs_f64()
    }
}

/// ring's HKDF output length as a `KeyType`.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn expand_label(prk: &hkdf::Prk, label: &[u8], ctx: &[u8], out: &mut [u8]) {
    let len = (out.len() as u16).to_be_bytes();
    let info: [&[u8]; 6] = [
        &len,
        &[(6 + label.len()) as u8],
        b"dtls13",
        label,
        &[ctx.len() as u8],
        ctx,
    ];
    prk.expand(&info, Len(out.len()))
        .unwrap()
        .fill(out)
        .unwrap();
}

fn prk(secret: &[u8]) -> hkdf::Prk {
    hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, secret)
}

impl Bound13 {
    pub fn new(shape: Shape13) -> Self {
        let base = Bound::new();
        let msg: Vec<u8> = (0..SIGNED_LEN_13).map(|i| i as u8).collect();
        let sig = base.key.sign(&base.rng, &msg).unwrap().as_ref().to_vec();
        let longest = shape.protected.iter().copied().max().unwrap_or(0);
        Bound13 {
            empty_hash: digest::digest(&digest::SHA256, b"").as_ref().to_vec(),
            transcript: (0..shape.transcript_len).map(|i| i as u8).collect(),
            wire: vec![0u8; longest.max(32)],
            shape,
            base,
            msg,
            sig,
        }
    }

    pub fn shape(&self) -> &Shape13 {
        &self.shape
    }

    /// Key exchange of both sides.
    pub fn kx(&self, group: Group) -> usize {
        match group {
            Group::P256 | Group::X25519 => self.base.kx(group) + self.base.kx(group),
            Group::Hybrid => self.hybrid(),
        }
    }

    /// X25519MLKEM768, both sides, as src/crypto/kem.rs does it.
    fn hybrid(&self) -> usize {
        use ml_kem::kem::{Decapsulate, KeyExport};
        use ml_kem::ml_kem_768;
        let rng = &self.base.rng;
        // Client: key generation from a 64-byte seed, and its share.
        let mut seed = [0u8; 64];
        rng.fill(&mut seed).unwrap();
        let dk =
            ml_kem_768::DecapsulationKey::from_seed(ml_kem::Seed::try_from(&seed[..]).unwrap());
        let ek_bytes = dk.encapsulation_key().to_bytes();
        let cx = EphemeralPrivateKey::generate(&agreement::X25519, rng).unwrap();
        let cx_pub = cx.compute_public_key().unwrap();
        // Server: check the encapsulation key, encapsulate, X25519 keygen + agree.
        let key = ml_kem::Key::<ml_kem_768::EncapsulationKey>::try_from(&ek_bytes[..]).unwrap();
        let ek = ml_kem_768::EncapsulationKey::new(&key).unwrap();
        let mut m = [0u8; 32];
        rng.fill(&mut m).unwrap();
        let (ct, k_server) = ek.encapsulate_deterministic(&ml_kem::B32::try_from(&m[..]).unwrap());
        let sx = EphemeralPrivateKey::generate(&agreement::X25519, rng).unwrap();
        let sx_pub = sx.compute_public_key().unwrap();
        let s_len = agreement::agree_ephemeral(
            sx,
            &UnparsedPublicKey::new(&agreement::X25519, cx_pub.as_ref()),
            |s| s.len(),
        )
        .unwrap();
        // Client: decapsulate, X25519 agree.
        let ct = ml_kem_768::Ciphertext::try_from(&ct[..]).unwrap();
        let k_client = dk.decapsulate(&ct);
        assert_eq!(k_client[..], k_server[..]);
        let c_len = agreement::agree_ephemeral(
            cx,
            &UnparsedPublicKey::new(&agreement::X25519, sx_pub.as_ref()),
            |s| s.len(),
        )
        .unwrap();
        s_len + c_len + k_client.len()
    }

    pub fn sign(&self) -> usize {
        self.base
            .key
            .sign(&self.base.rng, &self.msg)
            .unwrap()
            .as_ref()
            .len()
    }

    pub fn verify(&self) -> bool {
        let pk = signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_ASN1,
            self.base.key.public_key().as_ref(),
        );
        pk.verify(&self.msg, &self.sig).is_ok()
    }

    /// One side's key schedule over a running transcript hash.
    pub fn schedule(&self) -> u8 {
        // The 6 transcript hashes one side needs (RFC 8446 §7.1, §4.4.3, §4.4.4).
        let mut th = [[0u8; 32]; 6];
        let mut ctx = digest::Context::new(&digest::SHA256);
        let piece = self.transcript.len().div_ceil(6).max(1);
        for (h, part) in th.iter_mut().zip(self.transcript.chunks(piece)) {
            ctx.update(part);
            h.copy_from_slice(ctx.clone().finish().as_ref());
        }
        let zeros = [0u8; 32];
        let shared = [0x5au8; 32];
        let mut s = [0u8; 32];
        let early = hkdf::Salt::new(hkdf::HKDF_SHA256, &zeros).extract(&zeros);
        expand_label(&early, b"derived", &self.empty_hash, &mut s);
        let hs = hkdf::Salt::new(hkdf::HKDF_SHA256, &s).extract(&shared);
        let (mut c_hs, mut s_hs, mut c_ap, mut s_ap, mut exp) =
            ([0u8; 32], [0u8; 32], [0u8; 32], [0u8; 32], [0u8; 32]);
        expand_label(&hs, b"c hs traffic", &th[0], &mut c_hs);
        expand_label(&hs, b"s hs traffic", &th[0], &mut s_hs);
        expand_label(&hs, b"derived", &self.empty_hash, &mut s);
        let ms = hkdf::Salt::new(hkdf::HKDF_SHA256, &s).extract(&zeros);
        expand_label(&ms, b"c ap traffic", &th[3], &mut c_ap);
        expand_label(&ms, b"s ap traffic", &th[3], &mut s_ap);
        expand_label(&ms, b"exp master", &th[3], &mut exp);
        let mut acc = exp[0];
        let (mut key, mut iv, mut sn) = ([0u8; 16], [0u8; 12], [0u8; 16]);
        for secret in [&c_hs, &s_hs, &c_ap, &s_ap] {
            let p = prk(secret);
            expand_label(&p, b"key", b"", &mut key);
            expand_label(&p, b"iv", b"", &mut iv);
            expand_label(&p, b"sn", b"", &mut sn);
            acc ^= key[0] ^ iv[0] ^ sn[0];
        }
        let mut fk = [0u8; 32];
        for (secret, at) in [(&s_hs, 2), (&c_hs, 5)] {
            expand_label(&prk(secret), b"finished", b"", &mut fk);
            let k = hmac::Key::new(hmac::HMAC_SHA256, &fk);
            acc ^= hmac::sign(&k, &th[at]).as_ref()[0];
        }
        acc
    }

    /// One side's record keys: 4 AES-128-GCM keys and 4 record number keys.
    pub fn keys(&self) -> usize {
        let mut n = 0;
        for i in 0..4u8 {
            let k = LessSafeKey::new(UnboundKey::new(&aead::AES_128_GCM, &[i; 16]).unwrap());
            let hp = aead::quic::HeaderProtectionKey::new(&aead::quic::AES_128, &[i; 16]).unwrap();
            n += black_box(&k).algorithm().key_len() + black_box(&hp).algorithm().key_len();
        }
        n
    }

    /// Every protected handshake record sealed (then masked) and opened (mask first).
    pub fn records(&mut self) -> usize {
        let key = LessSafeKey::new(UnboundKey::new(&aead::AES_128_GCM, &[3u8; 16]).unwrap());
        let hp = aead::quic::HeaderProtectionKey::new(&aead::quic::AES_128, &[4u8; 16]).unwrap();
        let mut n = 0;
        for (i, &len) in self.shape.protected.iter().enumerate() {
            let len = len.max(32);
            let buf = &mut self.wire[..len];
            let hdr = [0x2c, 0, i as u8, (len >> 8) as u8, len as u8];
            let tag = key
                .seal_in_place_separate_tag(nonce(i as u64), Aad::from(hdr), &mut buf[..len - 16])
                .unwrap();
            buf[len - 16..].copy_from_slice(tag.as_ref());
            let m1 = hp.new_mask(&buf[..16]).unwrap();
            let m2 = hp.new_mask(&buf[..16]).unwrap();
            assert_eq!(m1, m2);
            n += key
                .open_in_place(nonce(i as u64), Aad::from(hdr), buf)
                .unwrap()
                .len();
        }
        n
    }

    /// Times `n` of each part.
    pub fn measure(&mut self, group: Group, n: usize) -> PerOp13 {
        let n32 = n as u32;
        let time = |f: &mut dyn FnMut()| {
            let t = cpu_time();
            for _ in 0..n {
                f();
            }
            (cpu_time() - t) / n32
        };
        let kx = time(&mut || {
            black_box(self.kx(group));
        });
        let sign = time(&mut || {
            black_box(self.sign());
        });
        let verify = time(&mut || assert!(black_box(self.verify())));
        let schedule = time(&mut || {
            black_box(self.schedule());
        });
        let keys = time(&mut || {
            black_box(self.keys());
        });
        let t = cpu_time();
        for _ in 0..n {
            black_box(self.records());
        }
        let records = (cpu_time() - t) / n32;
        PerOp13 {
            kx,
            sign,
            verify,
            schedule,
            keys,
            records,
        }
    }
}

/// ring's raw DTLS 1.3 record protection on the same 1200-byte payloads: AES-128-GCM over the
/// content and its content type byte with the 5-byte unified header as additional data, plus
/// the record number mask (ring's `quic::HeaderProtectionKey`, AES-ECB of a 16-byte sample)
/// applied to the header after sealing and computed again before opening.
pub struct RawAead13 {
    key: LessSafeKey,
    hp: aead::quic::HeaderProtectionKey,
    wire: Vec<u8>,
    counter: u64,
}

/// Unified header (epoch 3, 16-bit sequence number, length) + content + type + tag.
const HDR13: usize = 5;
const INNER13: usize = RECORD + 1;

impl RawAead13 {
    pub fn new(batch: usize) -> Self {
        let mut wire = vec![0u8; batch * SLOT];
        for slot in wire.chunks_exact_mut(SLOT) {
            slot[HDR13..HDR13 + RECORD].copy_from_slice(&super::setup::payload());
        }
        RawAead13 {
            key: LessSafeKey::new(UnboundKey::new(&aead::AES_128_GCM, &[7u8; 16]).unwrap()),
            hp: aead::quic::HeaderProtectionKey::new(&aead::quic::AES_128, &[9u8; 16]).unwrap(),
            wire,
            counter: 0,
        }
    }

    /// Seals `batch` records in place (header, content type, AEAD, record number mask), then
    /// opens them (mask, AEAD). Returns (seal time, open time).
    pub fn round(&mut self, batch: usize) -> (Duration, Duration) {
        let first = self.counter;
        let enc_len = (INNER13 + 16) as u16;
        let t0 = cpu_time();
        for (i, slot) in self.wire.chunks_exact_mut(SLOT).take(batch).enumerate() {
            let seq = first + i as u64;
            let (hdr, body) = slot.split_at_mut(HDR13);
            hdr[0] = 0x2f;
            hdr[1..3].copy_from_slice(&(seq as u16).to_be_bytes());
            hdr[3..5].copy_from_slice(&enc_len.to_be_bytes());
            body[RECORD] = 23;
            let aad: [u8; HDR13] = hdr.try_into().unwrap();
            let tag = self
                .key
                .seal_in_place_separate_tag(nonce(seq), Aad::from(aad), &mut body[..INNER13])
                .unwrap();
            body[INNER13..INNER13 + 16].copy_from_slice(tag.as_ref());
            let mask = self.hp.new_mask(&body[..16]).unwrap();
            hdr[1] ^= mask[0];
            hdr[2] ^= mask[1];
        }
        let t1 = cpu_time();
        for (i, slot) in self.wire.chunks_exact_mut(SLOT).take(batch).enumerate() {
            let seq = first + i as u64;
            let (hdr, body) = slot.split_at_mut(HDR13);
            let mask = self.hp.new_mask(&body[..16]).unwrap();
            hdr[1] ^= mask[0];
            hdr[2] ^= mask[1];
            let aad: [u8; HDR13] = hdr.try_into().unwrap();
            let n = self
                .key
                .open_in_place(nonce(seq), Aad::from(aad), &mut body[..INNER13 + 16])
                .unwrap()
                .len();
            debug_assert_eq!(body[n - 1], 23);
        }
        self.counter += batch as u64;
        (t1 - t0, cpu_time() - t1)
    }
}
