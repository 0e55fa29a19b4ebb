//! bindings/cpp/dtls.hpp: its test program (bindings/cpp/loopback.cpp) compiles as C++17 with
//! `-Wall -Wextra -Werror -pedantic` against the libdtls cargo built for this run, completes the
//! in-memory handshake through the RAII wrapper, and sees a wrong pinned fingerprint as a
//! dtls::Error carrying DTLS_ERR_FINGERPRINT_MISMATCH.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn cpp_wrapper_loopback() {
    let dir = scratch("cpp-loopback");
    stage_shared(&dir);
    let exe = dir.join("loopback-cpp");
    let mut cxx = Command::new("c++");
    cxx.args(["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(root().join("include"))
        .arg("-I")
        .arg(root().join("bindings").join("cpp"))
        .arg(root().join("bindings").join("cpp").join("loopback.cpp"))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", dir.display()))
        .arg("-ldtls")
        .arg(format!("-Wl,-rpath,{}", dir.display()));
    run_ok(cxx, "c++ loopback.cpp", Duration::from_secs(120));
    let out = run_ok(Command::new(&exe), "loopback-cpp", Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cpp loopback: OK"), "{stdout}");
    assert!(
        stdout.contains("wrong fingerprint: DTLS_ERR_FINGERPRINT_MISMATCH"),
        "{stdout}"
    );
}
