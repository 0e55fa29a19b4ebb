//! Regenerates include/dtls.h: `cargo run -p dtls-ffi --example gen-header`.

#[path = "../tools/header.rs"]
mod header;

fn main() {
    let text = header::generate(&header::crate_dir());
    let path = header::header_path();
    std::fs::write(&path, text).expect("include/ is writable");
    println!("wrote {}", path.display());
}
