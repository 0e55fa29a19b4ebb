//! `dtls-ffi/install.sh PREFIX` lays out a usable installation: a C program built only from the
//! installed files, through `pkg-config --cflags --libs dtls`, links and runs, both against the
//! shared library (found through its SONAME link) and statically (`pkg-config --static`, whose
//! Libs.private must name everything libdtls.a needs).

mod common;

use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

fn pkg_config(prefix: &Path, args: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("pkg-config");
    cmd.env("PKG_CONFIG_PATH", prefix.join("lib").join("pkgconfig"))
        .args(args)
        .arg("dtls");
    let out = run_ok(cmd, &format!("pkg-config {args:?} dtls"), LIMIT);
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn install_then_build_with_pkg_config_shared_and_static() {
    if !have("pkg-config") {
        assert!(std::env::var_os("CI").is_none(), "pkg-config is missing");
        eprintln!("SKIPPED: pkg-config is not installed");
        return;
    }
    let dir = scratch("install");
    let prefix = dir.join("prefix");
    let mut install = Command::new("bash");
    install
        .arg(root().join("dtls-ffi").join("install.sh"))
        .arg(&prefix)
        // Install what cargo built for this run instead of a release build.
        .env("DTLS_LIB_DIR", lib_dir());
    run_ok(install, "install.sh", LIMIT);

    // The layout: real file, SONAME link, link-time name, static lib, headers, .pc file.
    let lib = prefix.join("lib");
    let (maj, min) = (
        env!("CARGO_PKG_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MINOR"),
    );
    let soname = format!("libdtls.so.{maj}.{min}");
    let real = format!("libdtls.so.{}", env!("CARGO_PKG_VERSION"));
    assert!(lib.join(&real).is_file());
    assert_eq!(
        std::fs::read_link(lib.join(&soname)).unwrap(),
        Path::new(&real)
    );
    assert_eq!(
        std::fs::read_link(lib.join("libdtls.so")).unwrap(),
        Path::new(&soname)
    );
    assert!(lib.join("libdtls.a").is_file());
    assert!(prefix.join("include").join("dtls.h").is_file());
    assert_eq!(
        pkg_config(&prefix, &["--modversion"]),
        [env!("CARGO_PKG_VERSION")]
    );
    if root().join("bindings/cpp/dtls.hpp").exists() {
        assert!(prefix.join("include").join("dtls.hpp").is_file());
    }

    // The program: loopback.c copied out of the tree, so only the installed header is found.
    let src = dir.join("app.c");
    std::fs::copy(root().join("examples-c").join("loopback.c"), &src).unwrap();
    let cflags = pkg_config(&prefix, &["--cflags"]);
    assert!(
        cflags.iter().any(|f| f.contains("prefix/include")),
        "{cflags:?}"
    );

    // Shared: the SONAME is what the binary records and what the loader finds.
    let shared = dir.join("app-shared");
    let mut cc = Command::new("cc");
    cc.args(CFLAGS)
        .arg(&src)
        .arg("-o")
        .arg(&shared)
        .args(&cflags)
        .args(pkg_config(&prefix, &["--libs"]));
    run_ok(cc, "cc (shared, pkg-config)", LIMIT);
    let mut run = Command::new(&shared);
    run.env("LD_LIBRARY_PATH", &lib);
    let out = run_ok(run, "app (shared)", LIMIT);
    assert!(String::from_utf8_lossy(&out.stdout).contains("loopback: OK"));
    let mut ldd = Command::new("ldd");
    ldd.arg(&shared).env("LD_LIBRARY_PATH", &lib);
    let deps = String::from_utf8(run_ok(ldd, "ldd", LIMIT).stdout).unwrap();
    assert!(
        deps.contains(&format!("{soname} => {}", lib.join(&soname).display())),
        "{deps}"
    );

    // Static: -ldtls must pick libdtls.a although libdtls.so sits next to it, so it is wrapped
    // in -Bstatic; everything else comes from Libs.private.
    let libs: Vec<String> = pkg_config(&prefix, &["--static", "--libs"])
        .into_iter()
        .flat_map(|f| {
            if f == "-ldtls" {
                vec!["-Wl,-Bstatic".into(), f, "-Wl,-Bdynamic".into()]
            } else {
                vec![f]
            }
        })
        .collect();
    let stat = dir.join("app-static");
    let mut cc = Command::new("cc");
    cc.args(CFLAGS)
        .arg(&src)
        .arg("-o")
        .arg(&stat)
        .args(&cflags)
        .args(&libs);
    run_ok(cc, "cc (static, pkg-config --static)", LIMIT);
    // No LD_LIBRARY_PATH: the static binary needs nothing from PREFIX.
    let out = run_ok(Command::new(&stat), "app (static)", LIMIT);
    assert!(String::from_utf8_lossy(&out.stdout).contains("loopback: OK"));
    let mut ldd = Command::new("ldd");
    ldd.arg(&stat);
    let deps = String::from_utf8(run_ok(ldd, "ldd", LIMIT).stdout).unwrap();
    assert!(!deps.contains("libdtls"), "{deps}");

    // The examples' Makefile builds all three programs from the same installation, shared and
    // static, each in a directory of its own (the Makefile writes into the current directory).
    for (mode, vars) in [("make-shared", &[][..]), ("make-static", &["STATIC=1"][..])] {
        let out_dir = dir.join(mode);
        std::fs::create_dir_all(&out_dir).unwrap();
        let mut make = Command::new("make");
        make.current_dir(&out_dir)
            .arg("-f")
            .arg(root().join("examples-c").join("Makefile"))
            .args(vars)
            .env("PKG_CONFIG_PATH", lib.join("pkgconfig"));
        run_ok(make, &format!("make {vars:?}"), LIMIT);
        for prog in ["client", "server"] {
            assert!(out_dir.join(prog).is_file(), "{mode}: no {prog}");
        }
        let mut run = Command::new(out_dir.join("loopback"));
        run.env("LD_LIBRARY_PATH", &lib);
        let out = run_ok(run, &format!("loopback ({mode})"), LIMIT);
        assert!(String::from_utf8_lossy(&out.stdout).contains("loopback: OK"));
        let mut ldd = Command::new("ldd");
        ldd.arg(out_dir.join("loopback"));
        let deps = String::from_utf8(run_ok(ldd, "ldd", LIMIT).stdout).unwrap();
        assert_eq!(
            deps.contains("libdtls"),
            mode == "make-shared",
            "{mode}: {deps}"
        );
    }
}
