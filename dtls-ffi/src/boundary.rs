//! The panic boundary and the pointer checks every `extern "C"` function goes through.

use crate::result::{
    dtls_result, DTLS_ERR_INVALID_ARGUMENT, DTLS_ERR_NULL_POINTER, DTLS_ERR_PANIC, DTLS_ERR_UTF8,
};
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What an API body returns: `Ok(code)` or `Err(code)` (both become the `dtls_result`), so
/// bodies can use `?` on argument checks and engine calls.
pub(crate) type Outcome = Result<dtls_result, dtls_result>;

/// Runs `f` inside a panic boundary: a panic becomes `DTLS_ERR_PANIC` instead of unwinding into C
/// (which would be undefined behaviour).
pub(crate) fn guard(f: impl FnOnce() -> Outcome) -> dtls_result {
    // AssertUnwindSafe: state a panic may leave half-updated is either dropped (handles the
    // body created) or a context, which the ctx wrappers poison.
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(r)) | Ok(Err(r)) => r,
        Err(_) => DTLS_ERR_PANIC,
    }
}

/// Runs `f` inside a panic boundary, returning `fallback` on a panic. For the few functions
/// that return something other than a `dtls_result`.
pub(crate) fn guard_or<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// The engine error's code (the C ABI shares the engine's numbering).
pub(crate) fn code(e: dtls_proto::Error) -> dtls_result {
    e.code()
}

/// A shared reference to `*p`, or `DTLS_ERR_NULL_POINTER`.
///
/// # Safety
/// `p` is NULL or points to a live, properly aligned `T` that nobody mutates during `'a`.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T) -> Result<&'a T, dtls_result> {
    // SAFETY: forwarded to the caller's contract above.
    unsafe { p.as_ref() }.ok_or(DTLS_ERR_NULL_POINTER)
}

/// An exclusive reference to `*p`, or `DTLS_ERR_NULL_POINTER`.
///
/// # Safety
/// `p` is NULL or points to a live, properly aligned `T` that nothing else touches during `'a`.
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T) -> Result<&'a mut T, dtls_result> {
    // SAFETY: forwarded to the caller's contract above.
    unsafe { p.as_mut() }.ok_or(DTLS_ERR_NULL_POINTER)
}

/// Checks an out-pointer before any work is done, so a NULL one changes nothing.
pub(crate) fn arg_out<T>(p: *mut T) -> Result<*mut T, dtls_result> {
    if p.is_null() {
        Err(DTLS_ERR_NULL_POINTER)
    } else {
        Ok(p)
    }
}

/// `len` bytes at `p`, or `DTLS_ERR_NULL_POINTER` (even for `len == 0`: one rule, no exceptions).
///
/// # Safety
/// `p` is NULL or valid for reads of `len` bytes during `'a`.
pub(crate) unsafe fn arg_bytes<'a>(p: *const u8, len: usize) -> Result<&'a [u8], dtls_result> {
    if p.is_null() {
        return Err(DTLS_ERR_NULL_POINTER);
    }
    if len > isize::MAX as usize {
        return Err(DTLS_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, length bounded by isize::MAX, validity per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A writable buffer of `cap` bytes at `p`, or `DTLS_ERR_NULL_POINTER`.
///
/// # Safety
/// `p` is NULL or valid for writes of `cap` bytes during `'a`, and not aliased. (As in
/// rustls-ffi, the bytes need not be initialised: the engine only writes them.)
pub(crate) unsafe fn arg_buf<'a>(p: *mut u8, cap: usize) -> Result<&'a mut [u8], dtls_result> {
    if p.is_null() {
        return Err(DTLS_ERR_NULL_POINTER);
    }
    if cap > isize::MAX as usize {
        return Err(DTLS_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, length bounded by isize::MAX, validity per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, cap) })
}

/// A NUL-terminated UTF-8 string, or `DTLS_ERR_NULL_POINTER` / `DTLS_ERR_UTF8`.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid during `'a`.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char) -> Result<&'a str, dtls_result> {
    if p.is_null() {
        return Err(DTLS_ERR_NULL_POINTER);
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map_err(|_| DTLS_ERR_UTF8)
}

/// Writes `s` plus a NUL into `out[..cap]` and its length (without the NUL) to `*len`.
/// When `cap` is too small: `DTLS_ERR_BUFFER_TOO_SMALL`, `*len` = the capacity needed
/// (including the NUL), `out` untouched.
///
/// # Safety
/// `out` is NULL or valid for writes of `cap` bytes; `len` is NULL or valid for a write.
pub(crate) unsafe fn write_cstr(s: &str, out: *mut c_char, cap: usize, len: *mut usize) -> Outcome {
    let len = arg_out(len)?;
    let out = arg_out(out)?;
    let needed = s.len() + 1;
    if cap < needed {
        // SAFETY: `len` is non-NULL and writable per the caller's contract.
        unsafe { len.write(needed) };
        return Err(crate::result::DTLS_ERR_BUFFER_TOO_SMALL);
    }
    // SAFETY: `out` holds at least `needed` bytes (checked above) and cannot overlap `s`,
    // which Rust owns.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), out.cast::<u8>(), s.len());
        out.add(s.len()).write(0);
        len.write(s.len());
    }
    Ok(crate::result::DTLS_OK)
}
