//! The installed C library as a packager and an embedder meet it:
//!
//! - `libdtls.a` exports the C API and nothing else (`nm`), so it links into one program with
//!   another Rust static library (tests/other-staticlib), each keeping its own runtime;
//! - `pkg-config --static --libs dtls-static` alone builds a program that needs no
//!   `libdtls.so` at run time (`ldd`, and the shared library removed before it runs);
//! - the install carries no rpath, and the custom-prefix recipe of the README (an rpath on the
//!   program, or LD_LIBRARY_PATH) runs.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(300);

/// Installs into a fresh prefix under `dir` what cargo built for this run.
fn install(dir: &Path) -> PathBuf {
    let prefix = dir.join("prefix");
    let mut install = Command::new("bash");
    install
        .arg(root().join("dtls-ffi").join("install.sh"))
        .arg(&prefix)
        .env("DTLS_LIB_DIR", lib_dir());
    run_ok(install, "install.sh", LIMIT);
    prefix
}

fn stdout(cmd: Command, what: &str) -> String {
    String::from_utf8(run_ok(cmd, what, LIMIT).stdout).unwrap()
}

/// Defined global (or weak) symbols of an archive, as `nm -g --defined-only` lists them.
fn defined_globals(archive: &Path) -> Vec<String> {
    // Not run_ok: it reads the output only at the end, and cargo's archive lists megabytes.
    let out = Command::new("nm")
        .args(["-g", "--defined-only"])
        .arg(archive)
        .output()
        .expect("nm");
    assert!(
        out.status.success(),
        "nm {}: {}",
        archive.display(),
        out.status
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("ERROR"), "nm complained: {err}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3).then(|| f[2].to_owned())
        })
        .collect()
}

/// Every function `include/dtls.h` declares.
fn header_functions() -> Vec<String> {
    let h = std::fs::read_to_string(root().join("include").join("dtls.h")).unwrap();
    let mut names = Vec::new();
    for line in h
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with(' '))
    {
        if let Some(open) = line.find('(') {
            if let Some(name) = line[..open].split_whitespace().last() {
                let name = name.trim_start_matches('*');
                if name.starts_with("dtls_") {
                    names.push(name.to_owned());
                }
            }
        }
    }
    names
}

fn tools_present() -> bool {
    for t in ["pkg-config", "nm", "ld", "objcopy", "readelf", "ldd"] {
        if !have(t) && t != "ldd" {
            assert!(std::env::var_os("CI").is_none(), "{t} is missing");
            eprintln!("SKIPPED: {t} is not installed");
            return false;
        }
    }
    true
}

#[test]
fn static_archive_exports_only_the_c_api() {
    if !tools_present() {
        return;
    }
    let dir = scratch("static-symbols");
    let prefix = install(&dir);

    // What cargo makes exports its whole dependency graph: the check below can fail.
    let raw = defined_globals(&lib_dir().join("libdtls.a"));
    assert!(
        raw.iter().filter(|s| !s.starts_with("dtls_")).count() > 100,
        "cargo's libdtls.a was expected to export std's and ring's symbols"
    );

    let installed = defined_globals(&prefix.join("lib").join("libdtls.a"));
    let foreign: Vec<_> = installed
        .iter()
        .filter(|s| !s.starts_with("dtls_"))
        .collect();
    assert!(foreign.is_empty(), "libdtls.a exports {foreign:?}");
    let api = header_functions();
    assert!(api.len() > 40, "header parse found only {api:?}");
    for f in &api {
        assert!(
            installed.contains(f),
            "{f} (declared in dtls.h) is not exported"
        );
    }
}

#[test]
fn links_beside_another_rust_staticlib() {
    if !tools_present() {
        return;
    }
    let dir = scratch("two-staticlibs");
    let prefix = install(&dir);

    // The other library, built with the same toolchain into this run's target directory.
    let target = std::env::current_exe()
        .unwrap()
        .ancestors()
        .nth(3)
        .unwrap()
        .join("other-staticlib");
    let crate_dir = root()
        .join("dtls-ffi")
        .join("tests")
        .join("other-staticlib");
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .args(["build", "--quiet", "--release", "--manifest-path"])
        .arg(crate_dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target);
    run_ok(cargo, "cargo build (other-staticlib)", LIMIT);
    let other = target.join("release").join("libother.a");

    // Both orders: neither archive may satisfy the other's runtime references.
    for (name, first, second) in [
        ("dtls-first", prefix.join("lib/libdtls.a"), other.clone()),
        ("other-first", other.clone(), prefix.join("lib/libdtls.a")),
    ] {
        let exe = dir.join(name);
        let mut cc = Command::new("cc");
        cc.args(CFLAGS)
            .arg(crate_dir.join("both.c"))
            .arg("-I")
            .arg(prefix.join("include"))
            .arg(&first)
            .arg(&second)
            .args(STATIC_DEPS)
            .arg("-o")
            .arg(&exe);
        run_ok(cc, &format!("cc ({name})"), LIMIT);
        let out = stdout(Command::new(&exe), name);
        assert!(
            out.contains("n=4, squares=14; 7/0 -> -1; libdtls 0.1.0; fingerprint of 95 chars"),
            "{name}: {out}"
        );
    }
}

#[test]
fn pkg_config_static_needs_no_shared_library_and_nothing_has_an_rpath() {
    if !tools_present() {
        return;
    }
    let dir = scratch("pkg-static");
    let prefix = install(&dir);
    let lib = prefix.join("lib");
    let pkg = |args: &[&str], module: &str| -> Vec<String> {
        let mut cmd = Command::new("pkg-config");
        cmd.env("PKG_CONFIG_PATH", lib.join("pkgconfig"))
            .args(args)
            .arg(module);
        stdout(cmd, &format!("pkg-config {args:?} {module}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };

    // No rpath in what was installed: not in the library, not in the .pc files.
    let so = std::fs::read_link(lib.join("libdtls.so")).unwrap();
    let mut readelf = Command::new("readelf");
    readelf.arg("-d").arg(lib.join(&so));
    let dynamic = stdout(readelf, "readelf -d libdtls.so");
    assert!(dynamic.contains("SONAME"), "{dynamic}");
    assert!(
        !dynamic.contains("RPATH") && !dynamic.contains("RUNPATH"),
        "{dynamic}"
    );
    for pc in ["dtls.pc", "dtls-static.pc"] {
        let text = std::fs::read_to_string(lib.join("pkgconfig").join(pc)).unwrap();
        assert!(!text.contains("rpath"), "{pc}: {text}");
    }

    // Static: only what pkg-config says, no -Bstatic wrapping.
    let src = dir.join("app.c");
    std::fs::copy(root().join("examples-c").join("loopback.c"), &src).unwrap();
    let stat = dir.join("app-static");
    let mut cc = Command::new("cc");
    cc.args(CFLAGS)
        .arg(&src)
        .arg("-o")
        .arg(&stat)
        .args(pkg(&["--cflags", "--static", "--libs"], "dtls-static"));
    run_ok(cc, "cc $(pkg-config --static --libs dtls-static)", LIMIT);

    // Custom prefix, shared, the README's way: an rpath on the program (not the library).
    let shared = dir.join("app-rpath");
    let mut cc = Command::new("cc");
    cc.args(CFLAGS)
        .arg(&src)
        .arg("-o")
        .arg(&shared)
        .args(pkg(&["--cflags", "--libs"], "dtls"))
        .arg(format!("-Wl,-rpath,{}", lib.display()));
    run_ok(cc, "cc $(pkg-config --libs dtls) -Wl,-rpath", LIMIT);
    let out = stdout(Command::new(&shared), "app (rpath)");
    assert!(out.contains("loopback: OK"), "{out}");

    // Now no libdtls.so anywhere the loader could look: the static program still runs.
    for entry in std::fs::read_dir(&lib).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("libdtls.so")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    let mut ldd = Command::new("ldd");
    ldd.arg(&stat);
    let deps = stdout(ldd, "ldd app-static");
    assert!(!deps.contains("libdtls"), "{deps}");
    let out = stdout(Command::new(&stat), "app (static)");
    assert!(out.contains("loopback: OK"), "{out}");
}
