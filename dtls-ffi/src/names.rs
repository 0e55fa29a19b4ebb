//! Cipher suite and group names for C, from the engine's one table (`dtls_proto::names`), so
//! a C program, the CLIs, Python and Node accept and print the same names.

use crate::boundary::{arg_out, arg_str, guard, guard_or};
use crate::result::{dtls_result, DTLS_ERR_INVALID_ARGUMENT, DTLS_OK};
use dtls_proto::names;
use dtls_proto::{CipherSuite, NamedGroup};
use std::ffi::{c_char, CString};
use std::sync::OnceLock;

/// (id, NUL-terminated IANA name, NUL-terminated OpenSSL name), built once from the engine's
/// table and kept for the life of the process, so the pointers handed out stay valid.
fn suites() -> &'static [(u16, CString, CString)] {
    static T: OnceLock<Vec<(u16, CString, CString)>> = OnceLock::new();
    T.get_or_init(|| {
        names::SUITES
            .iter()
            .filter_map(|(s, iana, ossl)| {
                Some((
                    s.get(),
                    CString::new(*iana).ok()?,
                    CString::new(*ossl).ok()?,
                ))
            })
            .collect()
    })
}

fn groups() -> &'static [(u16, CString)] {
    static T: OnceLock<Vec<(u16, CString)>> = OnceLock::new();
    T.get_or_init(|| {
        names::GROUPS
            .iter()
            .filter_map(|(g, n)| Some((g.get(), CString::new(n[0]).ok()?)))
            .collect()
    })
}

/// The IANA name of a cipher suite id (`"TLS_AES_128_GCM_SHA256"`, ...); NULL for one the
/// library does not implement. Static string.
#[no_mangle]
pub extern "C" fn dtls_cipher_suite_name(id: u16) -> *const c_char {
    guard_or(std::ptr::null(), || {
        suites()
            .iter()
            .find(|(i, _, _)| *i == id)
            .map_or(std::ptr::null(), |(_, n, _)| n.as_ptr())
    })
}

/// The OpenSSL name of a cipher suite id (`"ECDHE-ECDSA-AES128-GCM-SHA256"`, ...); NULL for
/// one the library does not implement. Static string.
#[no_mangle]
pub extern "C" fn dtls_cipher_suite_openssl_name(id: u16) -> *const c_char {
    guard_or(std::ptr::null(), || {
        suites()
            .iter()
            .find(|(i, _, _)| *i == id)
            .map_or(std::ptr::null(), |(_, _, n)| n.as_ptr())
    })
}

/// The id of a cipher suite from its IANA or OpenSSL name (any case) into `*id`;
/// `DTLS_ERR_INVALID_ARGUMENT` for a name the library does not implement.
///
/// # Safety
/// `name` is a NUL-terminated string; `id` writable.
#[no_mangle]
pub unsafe extern "C" fn dtls_cipher_suite_from_name(
    name: *const c_char,
    id: *mut u16,
) -> dtls_result {
    guard(|| {
        // SAFETY: per the contract above.
        let name = unsafe { arg_str(name) }?;
        let out = arg_out(id)?;
        let s: CipherSuite = names::suite_from_name(name).ok_or(DTLS_ERR_INVALID_ARGUMENT)?;
        // SAFETY: `out` checked non-NULL; writable per the contract.
        unsafe { out.write(s.get()) };
        Ok(DTLS_OK)
    })
}

/// The name of a group id (`"x25519"`, `"secp256r1"`, `"secp384r1"`, `"X25519MLKEM768"`);
/// NULL for one the library does not implement. Static string.
#[no_mangle]
pub extern "C" fn dtls_group_name(id: u16) -> *const c_char {
    guard_or(std::ptr::null(), || {
        groups()
            .iter()
            .find(|(i, _)| *i == id)
            .map_or(std::ptr::null(), |(_, n)| n.as_ptr())
    })
}

/// The id of a group from one of its names (any case: `"P-256"`, `"prime256v1"`, ...) into
/// `*id`; `DTLS_ERR_INVALID_ARGUMENT` for a name the library does not implement.
///
/// # Safety
/// `name` is a NUL-terminated string; `id` writable.
#[no_mangle]
pub unsafe extern "C" fn dtls_group_from_name(name: *const c_char, id: *mut u16) -> dtls_result {
    guard(|| {
        // SAFETY: per the contract above.
        let name = unsafe { arg_str(name) }?;
        let out = arg_out(id)?;
        let g: NamedGroup = names::group_from_name(name).ok_or(DTLS_ERR_INVALID_ARGUMENT)?;
        // SAFETY: `out` checked non-NULL; writable per the contract.
        unsafe { out.write(g.get()) };
        Ok(DTLS_OK)
    })
}
