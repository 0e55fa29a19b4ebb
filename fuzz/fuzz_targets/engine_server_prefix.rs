//! The whole engine in the server role after a valid handshake prefix with an honest peer
//! engine, then arbitrary datagrams and clock jumps, then the rest of the honest exchange.
//! See `dtls_fuzz::run_prefix` for the format and the invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dtls_fuzz::run_prefix(dtls_proto::Role::Server, data));
