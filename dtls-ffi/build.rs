//! Sets the SONAME of libdtls.so. While the major version is 0 every minor release may break
//! the ABI, so the SONAME carries both: `libdtls.so.0.<minor>`; from 1.0 on, `libdtls.so.<major>`.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").unwrap_or_else(|_| "0".into());
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" || os.ends_with("bsd") {
        let soname = if major == "0" {
            format!("libdtls.so.0.{minor}")
        } else {
            format!("libdtls.so.{major}")
        };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    }
}
