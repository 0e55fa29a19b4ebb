//! `dtls_certificate`: our certificate chain and private key (a `Box`, owned by the caller).

use crate::boundary::{arg_bytes, arg_out, arg_ref, arg_str, guard, write_cstr};
use crate::result::{dtls_result, DTLS_ERR_INVALID_ARGUMENT, DTLS_OK};
use dtls_proto::{Certificate, HashAlg};
use std::ffi::c_char;

/// A certificate chain with its private key. Opaque; created by `dtls_certificate_generate` or
/// `dtls_certificate_from_pem`, released by `dtls_certificate_free`.
pub struct dtls_certificate {
    pub(crate) inner: Certificate,
}

/// SHA-1 (legacy SDP fingerprints only).
pub const DTLS_HASH_SHA1: u32 = 1;
/// SHA-256 (the WebRTC default).
pub const DTLS_HASH_SHA256: u32 = 2;
/// SHA-384.
pub const DTLS_HASH_SHA384: u32 = 3;
/// SHA-512.
pub const DTLS_HASH_SHA512: u32 = 4;

pub(crate) fn hash_alg(hash: u32) -> Result<HashAlg, dtls_result> {
    Ok(match hash {
        DTLS_HASH_SHA1 => HashAlg::Sha1,
        DTLS_HASH_SHA256 => HashAlg::Sha256,
        DTLS_HASH_SHA384 => HashAlg::Sha384,
        DTLS_HASH_SHA512 => HashAlg::Sha512,
        _ => return Err(DTLS_ERR_INVALID_ARGUMENT),
    })
}

fn hand_out(cert: Certificate, out: *mut *mut dtls_certificate) {
    let p = Box::into_raw(Box::new(dtls_certificate { inner: cert }));
    // SAFETY: callers checked `out` non-NULL; it is writable per the API contract.
    unsafe { out.write(p) };
}

/// Generates a self-signed ECDSA P-256 certificate (WebRTC style) whose subject CN and
/// DNS/IP SAN are `common_name`. Peers authenticate it by fingerprint.
///
/// # Safety
/// `common_name` is a NUL-terminated UTF-8 string (borrowed for the call only); `out` is
/// writable. On `DTLS_OK`, `*out` is a new certificate the caller owns and must release with
/// `dtls_certificate_free`. Errors: `DTLS_ERR_NULL_POINTER`, `DTLS_ERR_UTF8`, `DTLS_ERR_CERTIFICATE`.
#[no_mangle]
pub unsafe extern "C" fn dtls_certificate_generate(
    common_name: *const c_char,
    out: *mut *mut dtls_certificate,
) -> dtls_result {
    guard(|| {
        let out = arg_out(out)?;
        // SAFETY: NUL-terminated string per the contract above.
        let cn = unsafe { arg_str(common_name) }?;
        let cert = Certificate::generate(cn).map_err(|e| dtls_proto::Error::from(e).code())?;
        hand_out(cert, out);
        Ok(DTLS_OK)
    })
}

/// Loads a PEM certificate chain (one or more CERTIFICATE blocks, leaf first) and its PEM
/// private key (PKCS#8, SEC1 EC or PKCS#1 RSA), checking that the key belongs to the leaf.
///
/// # Safety
/// `chain_pem`/`key_pem` are readable for `chain_len`/`key_len` bytes (borrowed for the call
/// only; the key bytes are copied and may be wiped afterwards). On `DTLS_OK`, `*out` is a new
/// certificate the caller owns and must release with `dtls_certificate_free`.
/// Errors: `DTLS_ERR_NULL_POINTER`, `DTLS_ERR_CERTIFICATE` (parse error or key mismatch).
#[no_mangle]
pub unsafe extern "C" fn dtls_certificate_from_pem(
    chain_pem: *const u8,
    chain_len: usize,
    key_pem: *const u8,
    key_len: usize,
    out: *mut *mut dtls_certificate,
) -> dtls_result {
    guard(|| {
        let out = arg_out(out)?;
        // SAFETY: readable for the given lengths per the contract above.
        let chain = unsafe { arg_bytes(chain_pem, chain_len) }?;
        // SAFETY: as above.
        let key = unsafe { arg_bytes(key_pem, key_len) }?;
        let cert =
            Certificate::from_pem(chain, key).map_err(|e| dtls_proto::Error::from(e).code())?;
        hand_out(cert, out);
        Ok(DTLS_OK)
    })
}

/// Writes the fingerprint of the leaf certificate with hash `hash` (`DTLS_HASH_*`) as
/// NUL-terminated upper-case hex, `"AB:CD:..."` (the SDP form without the hash name; prepend
/// `"sha-256 "` for `dtls_ctx_add_peer_fingerprint`).
///
/// On `DTLS_OK`, `*len` is the string length without the NUL. When `cap` is too small:
/// `DTLS_ERR_BUFFER_TOO_SMALL`, `*len` = the capacity needed including the NUL, `out` untouched.
/// 96 bytes hold a SHA-256 fingerprint, 192 any of them.
///
/// # Safety
/// `cert` is a live certificate (only read); `out` is writable for `cap` bytes; `len` is
/// writable. Errors: `DTLS_ERR_NULL_POINTER`, `DTLS_ERR_INVALID_ARGUMENT` (unknown hash).
#[no_mangle]
pub unsafe extern "C" fn dtls_certificate_fingerprint(
    cert: *const dtls_certificate,
    hash: u32,
    out: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> dtls_result {
    guard(|| {
        // SAFETY: `cert` is NULL or a live certificate per the contract above.
        let cert = unsafe { arg_ref(cert) }?;
        arg_out(out)?;
        arg_out(len)?;
        let hex = cert.inner.fingerprint(hash_alg(hash)?).to_hex();
        // SAFETY: `out`/`len` writable per the contract above.
        unsafe { write_cstr(&hex, out, cap, len) }
    })
}

/// Writes the fingerprint of the leaf certificate with hash `hash` (`DTLS_HASH_*`) in the form
/// an SDP `a=fingerprint:` attribute carries (RFC 8122): NUL-terminated `"sha-256 AB:CD:..."`.
/// This is also what `dtls_ctx_add_peer_fingerprint` takes on the other side. Same buffer rules
/// as `dtls_certificate_fingerprint`; 208 bytes hold any of them.
///
/// # Safety
/// `cert` is a live certificate (only read); `out` is writable for `cap` bytes; `len` is
/// writable. Errors: `DTLS_ERR_NULL_POINTER`, `DTLS_ERR_INVALID_ARGUMENT` (unknown hash),
/// `DTLS_ERR_BUFFER_TOO_SMALL`.
#[no_mangle]
pub unsafe extern "C" fn dtls_certificate_sdp_fingerprint(
    cert: *const dtls_certificate,
    hash: u32,
    out: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> dtls_result {
    guard(|| {
        // SAFETY: `cert` is NULL or a live certificate per the contract above.
        let cert = unsafe { arg_ref(cert) }?;
        arg_out(out)?;
        arg_out(len)?;
        let sdp = cert.inner.fingerprint(hash_alg(hash)?).to_sdp();
        // SAFETY: `out`/`len` writable per the contract above.
        unsafe { write_cstr(&sdp, out, cap, len) }
    })
}

/// Releases a certificate. Configurations built from it keep their own copy, so it may be
/// freed right after `dtls_config_builder_set_certificate`. `NULL` is a no-op.
///
/// # Safety
/// `cert` is NULL or a certificate from this library not freed before; it must not be used
/// afterwards.
#[no_mangle]
pub unsafe extern "C" fn dtls_certificate_free(cert: *mut dtls_certificate) {
    crate::boundary::guard_or((), || {
        if !cert.is_null() {
            // SAFETY: `cert` came from Box::into_raw in hand_out and is freed once (contract).
            drop(unsafe { Box::from_raw(cert) });
        }
    })
}
