//! Builds the C examples with `-std=c11 -Wall -Wextra -Werror -pedantic` against the libdtls
//! cargo built for this run, and runs each: against the shared library, statically linked under
//! ASan+UBSan, and under valgrind (memcheck, leaks are errors).

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Compiles `src` into `out` with the strict flags plus `extra`.
fn compile(src: &str, out: &std::path::Path, extra: &[&str]) {
    let root = root();
    let mut cc = Command::new("cc");
    cc.args(CFLAGS)
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join(src))
        .arg("-o")
        .arg(out)
        .args(extra);
    run_ok(cc, &format!("cc {src} {extra:?}"), RUN_LIMIT);
}

/// Shared build: links -ldtls from a staged dir (SONAME file + link name), rpath to it.
fn build_shared(src: &str, name: &str) -> std::path::PathBuf {
    let dir = scratch(name);
    stage_shared(&dir);
    let exe = dir.join(name);
    let l = format!("-L{}", dir.display());
    let rpath = format!("-Wl,-rpath,{}", dir.display());
    compile(src, &exe, &[&l, "-ldtls", &rpath]);
    exe
}

#[test]
fn loopback_shared() {
    let exe = build_shared("examples-c/loopback.c", "loopback-shared");
    let out = run_ok(Command::new(&exe), "loopback (shared)", RUN_LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("loopback: OK"), "{stdout}");
    assert!(stdout.contains("version 0xFEFC"), "{stdout}");
}

#[test]
fn loopback_asan_ubsan_static() {
    let dir = scratch("loopback-asan");
    let exe = dir.join("loopback");
    let lib = lib_dir().join("libdtls.a");
    let lib = lib.to_str().unwrap();
    let mut extra = vec![
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        "-fno-omit-frame-pointer",
        "-g",
        lib,
    ];
    extra.extend_from_slice(STATIC_DEPS);
    compile("examples-c/loopback.c", &exe, &extra);
    let mut cmd = Command::new(&exe);
    cmd.env(
        "ASAN_OPTIONS",
        "detect_leaks=1:abort_on_error=0:exitcode=23",
    )
    .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1");
    let out = run_ok(cmd, "loopback (ASan+UBSan, static)", RUN_LIMIT);
    assert!(String::from_utf8_lossy(&out.stdout).contains("loopback: OK"));
}

#[test]
fn loopback_valgrind() {
    if !have("valgrind") {
        // In CI a missing valgrind is a failure (scripts/test.sh should install it); locally
        // it is a loud skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "valgrind is not installed (apt-get install valgrind)"
        );
        eprintln!("SKIPPED loopback_valgrind: valgrind is not installed");
        return;
    }
    let exe = build_shared("examples-c/loopback.c", "loopback-valgrind");
    let supp = root().join("examples-c").join("valgrind.supp");
    let mut cmd = Command::new("valgrind");
    cmd.arg("-q")
        .arg("--error-exitcode=1")
        .arg("--leak-check=full")
        .arg("--errors-for-leak-kinds=definite,possible")
        .arg(format!("--suppressions={}", supp.display()))
        .arg(&exe);
    let out = run_ok(cmd, "loopback (valgrind)", Duration::from_secs(300));
    assert!(String::from_utf8_lossy(&out.stdout).contains("loopback: OK"));
}
