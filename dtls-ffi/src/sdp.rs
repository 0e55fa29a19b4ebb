//! The SDP side of DTLS-SRTP: the role from `a=setup` (RFC 5763 §5, RFC 8842 §5) and
//! fingerprints in the `a=fingerprint` form (RFC 8122).

use crate::boundary::{arg_out, arg_str, guard, guard_or};
use crate::ctx::{DTLS_ROLE_CLIENT, DTLS_ROLE_SERVER};
use crate::result::{dtls_result, DTLS_OK};
use dtls_proto::sdp::{role_for_answer, role_for_remote_setup, Setup};
use dtls_proto::Role;
use std::ffi::c_char;

fn role_code(role: Role) -> u32 {
    match role {
        Role::Client => DTLS_ROLE_CLIENT,
        Role::Server => DTLS_ROLE_SERVER,
    }
}

/// `write` after parsing `setup` and mapping it through `f`.
///
/// # Safety
/// As for the public functions below.
unsafe fn setup_to_role(
    setup: *const c_char,
    role: *mut u32,
    f: fn(Setup) -> Result<Role, dtls_proto::Error>,
) -> dtls_result {
    guard(|| {
        let role = arg_out(role)?;
        // SAFETY: NUL-terminated per the public contracts.
        let s = unsafe { arg_str(setup) }?;
        let r = Setup::parse(s).and_then(f).map_err(|e| e.code())?;
        // SAFETY: writable per the public contracts.
        unsafe { role.write(role_code(r)) };
        Ok(DTLS_OK)
    })
}

/// Answerer: our `DTLS_ROLE_*` for an offer whose `a=setup` is `offer_setup` (`"actpass"`,
/// `"active"` or `"passive"`, with or without `"a=setup:"`). An `actpass` offer makes us the
/// client (RFC 8842 §5.3: the answerer answers `active`). Put `dtls_setup_for_role(*role)` in
/// the answer. One shared configuration serves both roles.
///
/// # Safety
/// `offer_setup` is a NUL-terminated string (borrowed for the call); `role` is writable.
/// Errors: `DTLS_ERR_NULL_POINTER`, `DTLS_ERR_UTF8`, `DTLS_ERR_INVALID_ARGUMENT` (unknown value,
/// or `holdconn`).
#[no_mangle]
pub unsafe extern "C" fn dtls_role_for_remote_setup(
    offer_setup: *const c_char,
    role: *mut u32,
) -> dtls_result {
    // SAFETY: forwarded contract.
    unsafe { setup_to_role(offer_setup, role, role_for_remote_setup) }
}

/// Offerer (our offer said `actpass`): our `DTLS_ROLE_*` once the answer's `a=setup` is
/// `answer_setup`: `"active"` makes us the server, `"passive"` the client.
///
/// # Safety
/// `answer_setup` is a NUL-terminated string (borrowed for the call); `role` is writable.
/// Errors: `DTLS_ERR_NULL_POINTER`, `DTLS_ERR_UTF8`, `DTLS_ERR_INVALID_ARGUMENT` (anything but
/// active or passive).
#[no_mangle]
pub unsafe extern "C" fn dtls_role_for_answer(
    answer_setup: *const c_char,
    role: *mut u32,
) -> dtls_result {
    // SAFETY: forwarded contract.
    unsafe { setup_to_role(answer_setup, role, role_for_answer) }
}

/// The `a=setup` value announcing `role` in an answer: `"active"` for `DTLS_ROLE_CLIENT`,
/// `"passive"` for `DTLS_ROLE_SERVER`, NULL for anything else. The string is static.
#[no_mangle]
pub extern "C" fn dtls_setup_for_role(role: u32) -> *const c_char {
    guard_or(std::ptr::null(), || match role {
        DTLS_ROLE_CLIENT => c"active".as_ptr(),
        DTLS_ROLE_SERVER => c"passive".as_ptr(),
        _ => std::ptr::null(),
    })
}
