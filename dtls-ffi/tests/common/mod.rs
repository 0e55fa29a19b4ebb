//! Helpers for the tests that use the built C library (libdtls.so / libdtls.a).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The workspace root (where include/ and examples-c/ live).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directory holding libdtls.so / libdtls.a that cargo built for this test run: cargo
/// builds the library with all its crate types before the integration tests, into the same
/// profile directory as the test binary (target/<profile>/deps/<test>-<hash>). No extra build.
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps dir");
    for dir in [
        deps.to_path_buf(),
        deps.parent().expect("profile dir").to_path_buf(),
    ] {
        if dir.join("libdtls.so").exists() && dir.join("libdtls.a").exists() {
            return dir;
        }
    }
    panic!("libdtls.so/libdtls.a not found next to {}", exe.display());
}

/// A fresh scratch directory for this test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dtls-ffi-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Installs the shared library into `dir` the way a system would: the real file under its
/// SONAME plus the libdtls.so link-time name.
pub fn stage_shared(dir: &Path) {
    let so = lib_dir().join("libdtls.so");
    let soname = format!(
        "libdtls.so.{}.{}",
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    );
    std::fs::copy(&so, dir.join(&soname)).unwrap();
    let link = dir.join("libdtls.so");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&soname, &link).unwrap();
}

/// The native libraries a Rust staticlib needs on Linux (`rustc --print native-static-libs`).
pub const STATIC_DEPS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// The strict flags the issue asks every example to build with.
pub const CFLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"];

/// Runs `cmd` to completion, killing it after `limit`. Panics with its output on failure.
pub fn run_ok(mut cmd: Command, what: &str, limit: Duration) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what}: timed out after {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// True if `prog` can be run.
pub fn have(prog: &str) -> bool {
    Command::new(prog)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}
