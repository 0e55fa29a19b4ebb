//! `other_describe(n)` writes "n=<n>, squares=<sum of squares below n>" into a caller buffer;
//! `other_checked_div` catches a Rust panic at the C boundary.

use std::collections::HashMap;
use std::ffi::c_char;

/// Writes a NUL-terminated description of `n` into `out` (capacity `cap`); returns its
/// length without the NUL, or -1 when it does not fit.
///
/// # Safety
/// `out` is writable for `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn other_describe(n: u32, out: *mut c_char, cap: usize) -> i64 {
    let squares: HashMap<u32, u64> = (0..n).map(|i| (i, u64::from(i) * u64::from(i))).collect();
    let text = format!("n={n}, squares={}", squares.values().sum::<u64>());
    if out.is_null() || text.len() >= cap {
        return -1;
    }
    // SAFETY: `out` is writable for `cap` > text.len() bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), out.cast(), text.len());
        *out.add(text.len()) = 0;
    }
    text.len() as i64
}

/// `a / b`, or -1 when `b` is 0: the division panics and the panic is caught here.
#[no_mangle]
pub extern "C" fn other_checked_div(a: i32, b: i32) -> i32 {
    std::panic::catch_unwind(|| a / b).unwrap_or(-1)
}
