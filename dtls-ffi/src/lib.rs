//! # libdtls: the C ABI of the `dtls-proto` DTLS engine
//!
//! This crate builds `libdtls.so` / `libdtls.a`; `include/dtls.h` is generated from it by
//! cbindgen (`cargo run -p dtls-ffi --example gen-header`). The conventions (after rustls-ffi):
//!
//! - Every fallible call returns a `dtls_result` (`uint32_t`): 0 = `DTLS_OK`, 1 = `DTLS_EMPTY`
//!   ("nothing to do"), 1xx API misuse, 2xx local configuration, 3xx protocol, 4xx peer
//!   authentication. The 1xx..4xx numbers are the engine's `Error::code()`; they are never reused.
//! - Out-parameters come last and are written only on success. The one documented exception is
//!   `DTLS_ERR_BUFFER_TOO_SMALL`, which writes the needed size to `*len` (and loses nothing).
//! - Every pointer is NULL-checked (`DTLS_ERR_NULL_POINTER`); `_free(NULL)` is a no-op.
//! - Every `extern "C"` body runs inside a panic boundary: a panic returns `DTLS_ERR_PANIC` and
//!   poisons the context, which then refuses every call but `dtls_ctx_free`.
//! - Ownership: `dtls_certificate`, `dtls_config_builder` and `dtls_ctx` are `Box`es owned by the
//!   caller until their `_free`; `dtls_config` is an `Arc` (each `dtls_ctx` keeps its own reference,
//!   so the caller may free its config right after `dtls_ctx_new`).
//! - A `dtls_ctx` may move between threads but must be used by one thread at a time.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

mod boundary;
pub mod certificate;
pub mod config;
pub mod ctx;
pub mod demux;
pub mod event;
pub mod front_door;
pub mod names;
pub mod result;
pub mod sdp;

pub use certificate::*;
pub use config::*;
pub use ctx::*;
pub use demux::*;
pub use event::*;
pub use front_door::*;
pub use result::*;
pub use sdp::*;

// The README's Rust code blocks run as doc tests of this module, which exists only then (the
// other languages' blocks run in scripts/check-snippets.py).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme_snippets {}
