//! docs/migrating-from-openssl.md: its C samples compile, link and run.
//!
//! Convention (stated in the guide): every ```c block opens with `/* before */` (OpenSSL) or
//! `/* after */` (libdtls), and they come in before/after pairs. The before blocks, in order,
//! form one OpenSSL program and the after blocks one libdtls program, whose last blocks hold
//! `main`: two calls handshake in memory, pin each other's fingerprint, exchange a message,
//! derive the same SRTP keys and hang up. Both are built with `-std=c11 -Wall -Wextra -Werror
//! -pedantic`; `#line` directives make the compiler point at the guide's own lines.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const GUIDE: &str = "docs/migrating-from-openssl.md";
const LIMIT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Before,
    After,
}

/// The guide's C blocks: side, first line number (1-based, of the code), code.
fn blocks() -> Vec<(Side, usize, String)> {
    let text = std::fs::read_to_string(root().join(GUIDE)).unwrap();
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut open {
            None if line.trim_start().starts_with("```c") => open = Some((i + 2, String::new())),
            None => {}
            Some((start, code)) if line.trim_start().starts_with("```") => {
                let side = if code.starts_with("/* before */") {
                    Side::Before
                } else if code.starts_with("/* after */") {
                    Side::After
                } else {
                    panic!("{GUIDE}:{start}: a C block must open with /* before */ or /* after */")
                };
                out.push((side, *start, std::mem::take(code)));
                open = None;
            }
            Some((_, code)) => {
                code.push_str(line);
                code.push('\n');
            }
        }
    }
    assert!(open.is_none(), "{GUIDE}: unterminated code block");
    out
}

/// One side's program, with `#line` directives back into the guide.
fn program(side: Side) -> String {
    let guide = root().join(GUIDE).canonicalize().unwrap();
    blocks()
        .into_iter()
        .filter(|(s, _, _)| *s == side)
        .map(|(_, line, code)| format!("#line {line} \"{}\"\n{code}", guide.display()))
        .collect()
}

fn write(dir: &Path, name: &str, side: Side) -> PathBuf {
    let src = dir.join(name);
    std::fs::write(&src, program(side)).unwrap();
    src
}

fn pkg_config_openssl() -> Vec<String> {
    let mut cmd = Command::new("pkg-config");
    cmd.args(["--cflags", "--libs", "openssl"]);
    let out = run_ok(cmd, "pkg-config openssl (libssl-dev)", LIMIT);
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect()
}

#[test]
fn samples_come_in_pairs_and_cover_the_openssl_calls() {
    let b = blocks();
    assert!(b.len() >= 20, "only {} C blocks", b.len());
    for pair in b.chunks(2) {
        let sides: Vec<Side> = pair.iter().map(|(s, _, _)| *s).collect();
        assert_eq!(
            sides,
            [Side::Before, Side::After],
            "{GUIDE}:{}: blocks must alternate before/after",
            pair[0].1
        );
    }
    // The calls the issue asks the guide to map, each in a before sample, and what they map
    // to in the after samples.
    let before = program(Side::Before);
    for call in [
        "SSL_CTX_new(DTLS_method())",
        "SSL_CTX_use_certificate(",
        "SSL_CTX_set_tlsext_use_srtp(",
        "SSL_CTX_set_verify(",
        "X509_digest(",
        "SSL_new(",
        "BIO_new(BIO_s_mem())",
        "SSL_do_handshake(",
        "SSL_read(",
        "SSL_write(",
        "DTLSv1_get_timeout(",
        "DTLSv1_handle_timeout(",
        "SSL_get_selected_srtp_profile(",
        "SSL_export_keying_material(",
        "SSL_shutdown(",
    ] {
        assert!(before.contains(call), "no before sample uses {call}");
    }
    let after = program(Side::After);
    for call in [
        "dtls_config_builder_new(",
        "dtls_certificate_generate(",
        "dtls_certificate_sdp_fingerprint(",
        "dtls_config_builder_set_srtp_profiles(",
        "dtls_config_builder_set_peer_verification(",
        "dtls_ctx_add_peer_fingerprint(",
        "dtls_ctx_new(",
        "dtls_feed(",
        "dtls_poll_output(",
        "dtls_poll_event(",
        "dtls_recv(",
        "dtls_send(",
        "dtls_next_timeout(",
        "dtls_handle_timeout(",
        "dtls_srtp_keying_material(",
        "dtls_close(",
        "dtls_role_for_remote_setup(",
        "dtls_role_for_answer(",
        "dtls_is_dtls(",
    ] {
        assert!(after.contains(call), "no after sample uses {call}");
    }
}

#[test]
fn openssl_before_samples_build_and_run() {
    let dir = scratch("guide-before");
    let src = write(&dir, "before.c", Side::Before);
    let exe = dir.join("before");
    let mut cc = Command::new("cc");
    cc.args(CFLAGS)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .args(pkg_config_openssl());
    run_ok(cc, "cc before.c (OpenSSL)", LIMIT);
    let out = run_ok(Command::new(&exe), "before (OpenSSL)", LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("keys agree") && stdout.contains("before: OK"),
        "{stdout}"
    );
}

#[test]
fn dtls_after_samples_build_and_run() {
    let dir = scratch("guide-after");
    stage_shared(&dir);
    let src = write(&dir, "after.c", Side::After);
    let exe = dir.join("after");
    let mut cc = Command::new("cc");
    cc.args(CFLAGS)
        .arg("-I")
        .arg(root().join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", dir.display()))
        .arg("-ldtls")
        .arg(format!("-Wl,-rpath,{}", dir.display()));
    run_ok(cc, "cc after.c (libdtls)", LIMIT);
    let out = run_ok(Command::new(&exe), "after (libdtls)", LIMIT);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("keys agree") && stdout.contains("after: OK"),
        "{stdout}"
    );
}

/// The libdtls program statically linked under ASan+UBSan: the samples free what they create.
#[test]
fn dtls_after_samples_under_asan_ubsan() {
    let dir = scratch("guide-after-asan");
    let src = write(&dir, "after.c", Side::After);
    let exe = dir.join("after");
    let mut cc = Command::new("cc");
    cc.args(CFLAGS)
        .args([
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
            "-g",
        ])
        .arg("-I")
        .arg(root().join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg(lib_dir().join("libdtls.a"))
        .args(STATIC_DEPS);
    run_ok(cc, "cc after.c (ASan)", LIMIT);
    let mut cmd = Command::new(&exe);
    cmd.env("ASAN_OPTIONS", "detect_leaks=1:exitcode=23")
        .env("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1");
    let out = run_ok(cmd, "after (ASan+UBSan)", LIMIT);
    assert!(String::from_utf8_lossy(&out.stdout).contains("after: OK"));
}
