//! Shared test infrastructure: certificate fixtures, an in-process OpenSSL
//! DTLS peer, a simulated lossy network and real `openssl` CLI peers.
//! Each integration test uses only some of it, hence the allow.
#![allow(dead_code)]

pub mod fixtures;
pub mod link;
pub mod ossl;
pub mod peers;
pub mod udp_peer;
