//! Errors thrown to JavaScript: plain `Error` objects whose `.code` is a `DTLS_ERR_*` name.
//!
//! napi's own `Error<S>` takes any `S: AsRef<str>` as the code, so every fallible function here
//! returns `Result<T>` with [`Code`] as that parameter and the macro throws it as
//! `new Error(message)` with `.code = S`.

/// The `.code` of an error thrown to JavaScript: the engine's C name, e.g.
/// `DTLS_ERR_FINGERPRINT_MISMATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code(pub &'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// What every fallible binding function returns.
pub type Result<T> = std::result::Result<T, napi::Error<Code>>;

/// An engine error, with its stable name as the code and its `Display` as the message.
pub fn engine(e: dtls_proto::Error) -> napi::Error<Code> {
    napi::Error::new(Code(e.code_name()), e.to_string())
}

/// A caller mistake the engine never sees (bad time value, unknown option string...). The
/// engine's own name is reused so JavaScript sees one code for all argument errors.
pub fn invalid(msg: impl Into<String>) -> napi::Error<Code> {
    napi::Error::new(Code("DTLS_ERR_INVALID_ARGUMENT"), msg.into())
}

/// A failure inside napi itself (creating a JavaScript value), which only running out of
/// memory or a dying environment causes.
pub fn napi(e: napi::Error) -> napi::Error<Code> {
    napi::Error::new(Code("DTLS_ERR_INTERNAL"), e.reason.clone())
}

/// A caller-supplied timestamp (milliseconds on the caller's monotonic clock) as the engine's
/// `u64`. JavaScript numbers are doubles: NaN, infinities and negatives are refused rather than
/// silently saturated, since a wrong clock breaks retransmission in ways that are hard to see.
pub fn millis(now: f64) -> Result<u64> {
    if (0.0..=MAX_SAFE_INTEGER).contains(&now) {
        Ok(now as u64)
    } else {
        Err(invalid(format!(
            "now must be a non-negative finite number of milliseconds, got {now}"
        )))
    }
}

/// `Number.MAX_SAFE_INTEGER`: beyond it a double no longer counts milliseconds exactly.
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A JavaScript number that must be an integer in `0..=max` (a length, an MTU, an IANA id).
pub fn whole(what: &str, v: f64, max: u64) -> Result<u64> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= max as f64 {
        Ok(v as u64)
    } else {
        Err(invalid(format!(
            "{what} must be an integer between 0 and {max}, got {v}"
        )))
    }
}
