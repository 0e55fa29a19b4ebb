//! The crypto bound, straight from ring: what a handshake cannot go below (one ECDHE key
//! generation + agreement, one ECDSA P-256 signature and one verification per side), and
//! ring's raw AES-128-GCM rate on the same 1200-byte buffers the record benchmark uses.

use super::setup::cpu_time;
use super::setup::{Group, RECORD, SLOT};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair};
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
