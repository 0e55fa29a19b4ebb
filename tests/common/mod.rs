//! Shared test infrastructure: certificate fixtures, the engine test harness (`pair`: two of
//! our endpoints over a simulated lossy network, per protocol version), the counting
//! allocator, an in-process OpenSSL DTLS peer and real `openssl` CLI peers.
//! Each integration test uses only some of it, hence the allow.
#![allow(dead_code)]

pub mod alloc;
pub mod fixtures;
pub mod hostile;
pub mod hostile13;
pub mod link;
pub mod ossl;
pub mod pair;
pub mod peers;
pub mod udp_engine;
pub mod udp_peer;
