//! bindings/cpp/dtls.hpp: its test program (bindings/cpp/loopback.cpp) compiles as C++17 with
//! `-Wall -Wextra -Werror -pedantic` against the libdtls cargo built for this run, completes the
//! in-memory handshake through the RAII wrapper, and sees a wrong pinned fingerprint as a
//! dtls::Error carrying DTLS_ERR_FINGERPRINT_MISMATCH. It runs three ways, like the C examples:
//! against the shared library, statically linked under ASan+UBSan, and under valgrind.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(300);

fn compile(out: &Path, extra: &[&str]) {
    let cpp = root().join("bindings").join("cpp");
    let mut cxx = Command::new("c++");
    cxx.args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(root().join("include"))
        .arg("-I")
        .arg(&cpp)
        .arg(cpp.join("loopback.cpp"))
        .arg("-o")
        .arg(out)
        .args(extra);
    run_ok(cxx, &format!("c++ loopback.cpp {extra:?}"), LIMIT);
}

fn build_shared(name: &str) -> PathBuf {
    let dir = scratch(name);
    stage_shared(&dir);
    let exe = dir.join(name);
    let l = format!("-L{}", dir.display());
    let rpath = format!("-Wl,-rpath,{}", dir.display());
    compile(&exe, &[&l, "-ldtls", &rpath]);
    exe
}

fn assert_ok(stdout: &[u8]) {
    let stdout = String::from_utf8_lossy(stdout);
    assert!(stdout.contains("cpp loopback: OK"), "{stdout}");
    assert!(
        stdout.contains("wrong fingerprint: DTLS_ERR_FINGERPRINT_MISMATCH"),
        "{stdout}"
    );
}

#[test]
fn cpp_wrapper_loopback() {
    let exe = build_shared("cpp-loopback");
    assert_ok(&run_ok(Command::new(&exe), "loopback-cpp", LIMIT).stdout);
}

#[test]
fn cpp_wrapper_loopback_asan_ubsan_static() {
    let exe = scratch("cpp-loopback-asan").join("loopback-cpp");
    let lib = lib_dir().join("libdtls.a");
    let mut extra = vec![
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        "-fno-omit-frame-pointer",
        "-g",
        lib.to_str().unwrap(),
    ];
    extra.extend_from_slice(STATIC_DEPS);
    compile(&exe, &extra);
    let mut cmd = Command::new(&exe);
    cmd.env("ASAN_OPTIONS", "detect_leaks=1:exitcode=23")
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1");
    assert_ok(&run_ok(cmd, "loopback-cpp (ASan+UBSan)", LIMIT).stdout);
}

#[test]
fn cpp_wrapper_loopback_valgrind() {
    if !have("valgrind") {
        assert!(
            std::env::var_os("CI").is_none(),
            "valgrind is not installed (scripts/test.sh installs it)"
        );
        eprintln!("SKIPPED: valgrind is not installed");
        return;
    }
    let exe = build_shared("cpp-loopback-valgrind");
    let supp = root().join("examples-c").join("valgrind.supp");
    let mut cmd = Command::new("valgrind");
    cmd.args([
        "-q",
        "--error-exitcode=1",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite,possible",
    ])
    .arg(format!("--suppressions={}", supp.display()))
    .arg(&exe);
    assert_ok(&run_ok(cmd, "loopback-cpp (valgrind)", LIMIT).stdout);
}
