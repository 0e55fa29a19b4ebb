//! include/dtls.h is committed; this fails when it no longer matches what the pinned cbindgen
//! generates from dtls-ffi/src. Fix: `cargo run -p dtls-ffi --example gen-header`.

#[path = "../tools/header.rs"]
mod header;

#[test]
fn committed_header_is_fresh() {
    let fresh = header::generate(&header::crate_dir());
    // Also write the fresh text next to the build outputs, for a diff when this fails.
    let tmp = std::env::temp_dir().join(format!("dtls-header-{}.h", std::process::id()));
    std::fs::write(&tmp, &fresh).unwrap();
    let committed = std::fs::read_to_string(header::header_path()).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/dtls.h is stale: regenerate with `cargo run -p dtls-ffi --example gen-header` \
         (fresh copy: {})",
        tmp.display()
    );
    let _ = std::fs::remove_file(&tmp);
}

#[test]
fn header_carries_version_macros() {
    let h = std::fs::read_to_string(header::header_path()).unwrap();
    for (name, v) in [
        ("DTLS_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("DTLS_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("DTLS_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(h.contains(&format!("#define {name} {v}\n")), "{name}");
    }
    assert!(h.contains("#ifndef DTLS_H"));
}

/// Every function in the header has a doc comment that says who owns what: the comment block
/// right above each prototype must exist and mention ownership/lifetime words.
#[test]
fn every_function_documented() {
    let h = std::fs::read_to_string(header::header_path()).unwrap();
    let lines: Vec<&str> = h.lines().collect();
    let mut count = 0;
    for (i, l) in lines.iter().enumerate() {
        let is_proto = (l.starts_with("dtls_result dtls_")
            || l.starts_with("void dtls_")
            || l.starts_with("bool dtls_")
            || l.starts_with("const char *dtls_"))
            && l.contains('(');
        if !is_proto {
            continue;
        }
        count += 1;
        let mut doc = String::new();
        let mut j = i;
        while j > 0 && lines[j - 1].starts_with("//") {
            j -= 1;
            doc.insert_str(0, lines[j]);
        }
        assert!(!doc.is_empty(), "undocumented: {l}");
        let d = doc.to_lowercase();
        assert!(
            [
                "owns", "own", "live", "borrowed", "static", "copied", "free", "consume",
                "writable"
            ]
            .iter()
            .any(|w| d.contains(w)),
            "no ownership/lifetime words in the doc of: {l}"
        );
    }
    assert!(count >= 40, "only {count} prototypes found");
}
