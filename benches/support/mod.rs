//! Shared pieces of the `dtls` bench binary (a directory without main.rs, so cargo does not
//! take it for a bench target of its own).

pub mod alloc;
pub mod bound;
pub mod ffi;
pub mod mem;
pub mod ossl;
pub mod ours;
pub mod report;
pub mod setup;
