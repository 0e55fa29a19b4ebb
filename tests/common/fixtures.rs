//! Paths to and contents of the certificate fixtures in `tests/fixtures/`
//! (regenerate them with `tests/fixtures/make.sh`).

use std::path::PathBuf;

/// Absolute path of a fixture file, e.g. `fixture_path("server.crt")`.
/// Anchored at the crate root so tests work from any working directory.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// Contents of a fixture file, or the I/O error.
pub fn try_fixture(name: &str) -> std::io::Result<Vec<u8>> {
    std::fs::read(fixture_path(name))
}

/// Contents of a fixture file.
///
/// # Panics
/// If the file is missing: that is a broken checkout, not something a test
/// can meaningfully assert on, so it fails the test with the path.
pub fn fixture(name: &str) -> Vec<u8> {
    match try_fixture(name) {
        Ok(b) => b,
        Err(e) => panic!("fixture {}: {e}", fixture_path(name).display()),
    }
}

/// A fixture path as a `String`, for command-line arguments of peers.
pub fn fixture_arg(name: &str) -> String {
    fixture_path(name).to_string_lossy().into_owned()
}
