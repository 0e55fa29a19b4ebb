//! Empty: this crate exists only so `cargo fetch` downloads wolfssl-sys (see Cargo.toml).
