//! Generates include/dtls.h with the pinned cbindgen crate. Shared by
//! `examples/gen-header.rs` (writes the file) and `tests/header_fresh.rs` (compares).

use std::path::{Path, PathBuf};

/// The dtls-ffi crate directory.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the committed header lives.
pub fn header_path() -> PathBuf {
    crate_dir().join("..").join("include").join("dtls.h")
}

/// The header text for the current sources and package version.
pub fn generate(dir: &Path) -> String {
    let mut config = cbindgen::Config::from_file(dir.join("cbindgen.toml"))
        .expect("dtls-ffi/cbindgen.toml is readable and valid");
    let (major, minor, patch) = (
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_PATCH"),
    );
    config.after_includes = Some(format!(
        "\n/* The version this header belongs to; dtls_version() gives the library's at run time. */\n\
         #define DTLS_VERSION_MAJOR {major}\n\
         #define DTLS_VERSION_MINOR {minor}\n\
         #define DTLS_VERSION_PATCH {patch}\n\
         #define DTLS_VERSION_STRING \"{major}.{minor}.{patch}\"\n"
    ));
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src").join("lib.rs"))
        .generate()
        .expect("cbindgen can parse dtls-ffi/src")
        .write(&mut out);
    String::from_utf8(out).expect("cbindgen writes UTF-8")
}
