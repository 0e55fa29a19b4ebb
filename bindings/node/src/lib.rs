//! Node.js binding (napi-rs) for the `dtls-proto` sans-IO DTLS engine.
//!
//! The JavaScript side owns the socket and the clock, exactly as a Rust caller of the engine
//! does: `lib/dgram.js` drives a [`Connection`] over `node:dgram`. This crate only
//! translates values: `Uint8Array` in, `Buffer` out, engine errors to `Error` objects whose
//! `.code` is the engine's `DTLS_ERR_*` name (the same names the C ABI uses).
//!
//! The TypeScript declarations in `node/index.d.ts` are generated from the `#[napi]` items here
//! (napi-derive's `type-def` output, assembled by `node/scripts/build.js`); a test fails when the
//! committed file is stale.

#![deny(missing_docs)]

mod bench;
mod cert;
mod config;
mod connection;
mod error;
mod server;
mod webrtc;

pub use bench::{bench_engine_handshakes, bench_engine_throughput, BenchResult};
pub use cert::{Certificate, CertificatePem};
pub use config::{Config, ConfigOptions, TimerOptions};
pub use connection::{
    Connection, ConnectionOptions, DropCounts, DtlsEvent, Negotiated, SrtpKeyingMaterial, Stats,
};
pub use server::{PrefilterVerdict, ServerFrontDoor};
pub use webrtc::{
    fingerprint_matches, format_sdp_fingerprint, is_dtls, packet_kind, parse_sdp_fingerprint,
    role_for_answer, role_for_remote_setup, setup_for_role, srtp_profile, srtp_profiles,
    SdpFingerprint, SrtpProfile,
};

use napi_derive::napi;

/// The version of this native module (it is built from the engine in the same tree).
#[napi]
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
