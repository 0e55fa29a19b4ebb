//! `dtls_config_builder` (a `Box`) and `dtls_config` (an `Arc`, immutable and shared).

use crate::boundary::{arg_bytes, arg_mut, arg_out, arg_ref, arg_str, code, guard, guard_or};
use crate::certificate::dtls_certificate;
use crate::result::{dtls_result, DTLS_ERR_CERTIFICATE, DTLS_ERR_INVALID_ARGUMENT, DTLS_OK};
use dtls_proto::verify::RootStore;
use dtls_proto::{CipherSuite, Config, ConfigBuilder, Fingerprint, PeerVerification};
use std::ffi::c_char;
use std::sync::Arc;

/// Collects settings for a `dtls_config`. Opaque; from `dtls_config_builder_new`, consumed by
/// `dtls_config_builder_build` (or released by `dtls_config_builder_free` if never built).
pub struct dtls_config_builder {
    inner: ConfigBuilder,
}

/// Immutable settings shared by any number of contexts (and threads). Opaque; the pointer is
/// an `Arc<Config>` handed out by `dtls_config_builder_build` and released by `dtls_config_free`.
pub struct dtls_config {
    _private: [u8; 0],
}

/// Version mask bit: DTLS 1.2 (RFC 6347).
pub const DTLS_V1_2: u32 = 1;
const _: () = assert!(DTLS_V1_2 == dtls_proto::names::VERSION_BIT_12);
const _: () = assert!(DTLS_V1_3 == dtls_proto::names::VERSION_BIT_13);
/// Version mask bit: DTLS 1.3 (RFC 9147).
pub const DTLS_V1_3: u32 = 2;

/// Default: pinned fingerprints when the context has any, else the webpki roots.
pub const DTLS_VERIFY_AUTO: u32 = 0;
/// Only pinned SDP fingerprints (`dtls_ctx_add_peer_fingerprint`).
pub const DTLS_VERIFY_FINGERPRINT: u32 = 1;
/// Only X.509 chain validation against the roots (and, for a client, the server name).
pub const DTLS_VERIFY_WEBPKI: u32 = 2;
/// Accept any peer certificate. For tests and diagnostics only: it lets anyone in.
pub const DTLS_VERIFY_DANGEROUS_ACCEPT_ANY: u32 = 3;

/// SRTP protection profile SRTP_AES128_CM_HMAC_SHA1_80 (RFC 5764).
pub const DTLS_SRTP_AES128_CM_SHA1_80: u16 = 0x0001;
/// SRTP protection profile SRTP_AES128_CM_HMAC_SHA1_32 (RFC 5764).
pub const DTLS_SRTP_AES128_CM_SHA1_32: u16 = 0x0002;
/// SRTP protection profile SRTP_AEAD_AES_128_GCM (RFC 7714).
pub const DTLS_SRTP_AEAD_AES_128_GCM: u16 = 0x0007;
/// SRTP protection profile SRTP_AEAD_AES_256_GCM (RFC 7714).
pub const DTLS_SRTP_AEAD_AES_256_GCM: u16 = 0x0008;
/// SRTP protection profile SRTP_NULL_HMAC_SHA1_80 (RFC 5764): no encryption, used only when
/// configured explicitly.
pub const DTLS_SRTP_NULL_SHA1_80: u16 = 0x0005;
/// SRTP protection profile SRTP_NULL_HMAC_SHA1_32 (RFC 5764): no encryption, used only when
/// configured explicitly.
pub const DTLS_SRTP_NULL_SHA1_32: u16 = 0x0006;

/// Applies `f` to the builder (ConfigBuilder methods consume and return it).
fn update(b: &mut dtls_config_builder, f: impl FnOnce(ConfigBuilder) -> ConfigBuilder) {
    let inner = std::mem::take(&mut b.inner);
    b.inner = f(inner);
}

/// Borrows the builder and applies `f`: the common shape of the setters.
///
/// # Safety
/// `b` is NULL or a live builder not used elsewhere during the call.
unsafe fn set(
    b: *mut dtls_config_builder,
    f: impl FnOnce(&mut dtls_config_builder) -> Result<dtls_result, dtls_result>,
) -> dtls_result {
    guard(|| {
        // SAFETY: forwarded to the caller's contract.
        let b = unsafe { arg_mut(b) }?;
        f(b)
    })
}

/// Starts a configuration with the defaults: DTLS 1.2 and 1.3, all six ECDHE AEAD suites,
/// X25519/P-256/P-384, extended master secret required, cookie exchange on, MTU 1200,
/// retransmission timeout 1 s doubling to 60 s, 60 s handshake deadline, `DTLS_VERIFY_AUTO`.
///
/// # Safety
/// `out` is writable. On `DTLS_OK`, `*out` is a new builder the caller owns until it passes it
/// to `dtls_config_builder_build` (or `dtls_config_builder_free`).
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_new(
    out: *mut *mut dtls_config_builder,
) -> dtls_result {
    guard(|| {
        let out = arg_out(out)?;
        let b = Box::into_raw(Box::new(dtls_config_builder {
            inner: Config::builder(),
        }));
        // SAFETY: `out` is non-NULL and writable per the contract above.
        unsafe { out.write(b) };
        Ok(DTLS_OK)
    })
}

/// Sets our certificate chain and key. The builder keeps its own copy (the key is shared,
/// not duplicated): the caller still owns `cert` and may free it at once.
///
/// # Safety
/// `b` is a live builder; `cert` a live certificate (only read).
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_certificate(
    b: *mut dtls_config_builder,
    cert: *const dtls_certificate,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            // SAFETY: `cert` is NULL or live per the contract above.
            let cert = arg_ref(cert)?.inner.clone();
            update(b, |c| c.certificate(cert));
            Ok(DTLS_OK)
        })
    }
}

/// Sets the protocol versions, a mask of `DTLS_V1_2` / `DTLS_V1_3` (both: a client offers
/// both and a server accepts either, picking 1.3 when the client offers it). Zero or unknown
/// bits give `DTLS_ERR_INVALID_ARGUMENT` (the engine's `names::versions_from_mask` decides,
/// as it does for Python and Node).
///
/// # Safety
/// `b` is a live builder.
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_versions(
    b: *mut dtls_config_builder,
    mask: u32,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            let versions = dtls_proto::names::versions_from_mask(mask)
                .map_err(|_| DTLS_ERR_INVALID_ARGUMENT)?;
            update(b, |c| c.versions(&versions));
            Ok(DTLS_OK)
        })
    }
}

/// Sets how the peer is authenticated: `DTLS_VERIFY_AUTO` (default), `DTLS_VERIFY_FINGERPRINT`,
/// `DTLS_VERIFY_WEBPKI` or `DTLS_VERIFY_DANGEROUS_ACCEPT_ANY`; anything else gives
/// `DTLS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `b` is a live builder.
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_peer_verification(
    b: *mut dtls_config_builder,
    mode: u32,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            let mode = match mode {
                DTLS_VERIFY_AUTO => PeerVerification::Auto,
                DTLS_VERIFY_FINGERPRINT => PeerVerification::Fingerprint,
                DTLS_VERIFY_WEBPKI => PeerVerification::WebPki,
                DTLS_VERIFY_DANGEROUS_ACCEPT_ANY => PeerVerification::DangerousAcceptAny,
                _ => return Err(DTLS_ERR_INVALID_ARGUMENT),
            };
            update(b, |c| c.peer_verification(mode));
            Ok(DTLS_OK)
        })
    }
}

/// Adds trust anchors from PEM (every parsable CERTIFICATE block; `DTLS_ERR_CERTIFICATE` when
/// none is). May be called several times.
///
/// # Safety
/// `b` is a live builder; `pem` is readable for `len` bytes (copied; borrowed for the call).
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_add_root_certificates_pem(
    b: *mut dtls_config_builder,
    pem: *const u8,
    len: usize,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            // SAFETY: readable for `len` bytes per the contract above.
            let pem = arg_bytes(pem, len)?;
            // Parse first so a bad bundle is reported here, not at build time.
            RootStore::new()
                .add_pem(pem)
                .map_err(|_| DTLS_ERR_CERTIFICATE)?;
            update(b, |c| c.root_certificates_pem(pem));
            Ok(DTLS_OK)
        })
    }
}

/// Pins a peer fingerprint (`"sha-256 AB:CD:..."`, RFC 8122) for every context made from this
/// configuration (`dtls_ctx_add_peer_fingerprint` pins one per context).
/// `DTLS_ERR_CERTIFICATE` when malformed.
///
/// # Safety
/// `b` is a live builder; `sdp_fingerprint` a NUL-terminated string (borrowed for the call).
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_add_peer_fingerprint(
    b: *mut dtls_config_builder,
    sdp_fingerprint: *const c_char,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            // SAFETY: NUL-terminated per the contract above.
            let s = arg_str(sdp_fingerprint)?;
            let fp = Fingerprint::parse_sdp(s).map_err(|e| dtls_proto::Error::from(e).code())?;
            update(b, |c| c.peer_fingerprint(fp));
            Ok(DTLS_OK)
        })
    }
}

/// Server: require a client certificate (`true`) or ask for none (`false`, the default).
///
/// # Safety
/// `b` is a live builder.
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_require_client_certificate(
    b: *mut dtls_config_builder,
    required: bool,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            update(b, |c| c.require_client_certificate(required));
            Ok(DTLS_OK)
        })
    }
}

/// Server: perform the HelloVerifyRequest cookie exchange (on by default; switch it off behind
/// ICE, where consent checks already prove the address).
///
/// # Safety
/// `b` is a live builder.
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_cookie_exchange(
    b: *mut dtls_config_builder,
    on: bool,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            update(b, |c| c.cookie_exchange(on));
            Ok(DTLS_OK)
        })
    }
}

/// Sets the SRTP protection profiles offered or accepted with use_srtp (RFC 5764), by IANA id
/// (`DTLS_SRTP_*`), in preference order. `n == 0` disables use_srtp. An unknown id gives
/// `DTLS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `b` is a live builder; `profiles` is readable for `n` values (copied; non-NULL even when
/// `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_srtp_profiles(
    b: *mut dtls_config_builder,
    profiles: *const u16,
    n: usize,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            if profiles.is_null() {
                return Err(crate::result::DTLS_ERR_NULL_POINTER);
            }
            if n > 64 {
                return Err(DTLS_ERR_INVALID_ARGUMENT);
            }
            // SAFETY: non-NULL, readable for `n` u16 per the contract above; n is small.
            let list = std::slice::from_raw_parts(profiles, n);
            if list.iter().any(|p| dtls_proto::srtp::profile(*p).is_none()) {
                return Err(DTLS_ERR_INVALID_ARGUMENT);
            }
            update(b, |c| c.srtp_profiles(list));
            Ok(DTLS_OK)
        })
    }
}

/// Sets the SRTP protection profiles from a colon-separated list of names, in preference order:
/// the string a VoIP stack passes to OpenSSL's `SSL_CTX_set_tlsext_use_srtp`, e.g.
/// `"SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"`. OpenSSL's and IANA's spellings are both
/// accepted, case-insensitively. An empty string disables use_srtp.
///
/// # Safety
/// `b` is a live builder; `profiles` a NUL-terminated string (borrowed for the call).
/// Errors: `DTLS_ERR_NULL_POINTER`, `DTLS_ERR_UTF8`, `DTLS_ERR_INVALID_ARGUMENT` (an unknown
/// name; nothing is changed).
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_srtp_profiles_str(
    b: *mut dtls_config_builder,
    profiles: *const std::ffi::c_char,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            // SAFETY: NUL-terminated per the contract above.
            let s = crate::boundary::arg_str(profiles)?;
            let list = dtls_proto::srtp::parse_profiles(s).map_err(|e| e.code())?;
            update(b, |c| c.srtp_profiles(&list));
            Ok(DTLS_OK)
        })
    }
}

/// Client: the SRTP MKI to offer in use_srtp (RFC 5764 §4.1.1), at most 255 bytes; `len == 0`
/// offers none (the default). It is in use only if the server echoes it.
///
/// # Safety
/// `b` is a live builder; `mki` is readable for `len` bytes (copied). Errors:
/// `DTLS_ERR_NULL_POINTER`, `DTLS_ERR_INVALID_ARGUMENT` (longer than 255).
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_srtp_mki(
    b: *mut dtls_config_builder,
    mki: *const u8,
    len: usize,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            // SAFETY: readable for `len` bytes per the contract above.
            let mki = crate::boundary::arg_bytes(mki, len)?;
            if mki.len() > 255 {
                return Err(DTLS_ERR_INVALID_ARGUMENT);
            }
            update(b, |c| c.srtp_mki(mki));
            Ok(DTLS_OK)
        })
    }
}

/// Server: whether to use an MKI the client offers (RFC 5764 §4.1.3). `true` (the default)
/// echoes it, and every SRTP packet must then carry it; `false` answers with an empty MKI, for
/// SRTP stacks that do not use MKIs (as OpenSSL's server always does).
///
/// # Safety
/// `b` is a live builder. Errors: `DTLS_ERR_NULL_POINTER`.
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_srtp_accept_mki(
    b: *mut dtls_config_builder,
    accept: bool,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            update(b, |c| c.srtp_accept_mki(accept));
            Ok(DTLS_OK)
        })
    }
}

/// Describes an SRTP profile id: its OpenSSL name (static string) and its master key and salt
/// lengths in bytes (RFC 5764 §4.1.2, RFC 7714 §12), which split the material
/// `dtls_srtp_keying_material` returns: client key, server key, client salt, server salt.
/// Any out-pointer may be NULL to skip it.
///
/// # Safety
/// Each out-pointer is NULL or writable. Errors: `DTLS_ERR_INVALID_ARGUMENT` (unknown id;
/// nothing written).
#[no_mangle]
pub unsafe extern "C" fn dtls_srtp_profile_info(
    id: u16,
    name: *mut *const std::ffi::c_char,
    key_len: *mut usize,
    salt_len: *mut usize,
) -> dtls_result {
    crate::boundary::guard(|| {
        let p = dtls_proto::srtp::profile(id).ok_or(DTLS_ERR_INVALID_ARGUMENT)?;
        // SAFETY: each pointer is NULL (skipped) or writable per the contract above.
        unsafe {
            if let Some(n) = name.as_mut() {
                *n = dtls_srtp_profile_name(id);
            }
            if let Some(k) = key_len.as_mut() {
                *k = p.key_len;
            }
            if let Some(s) = salt_len.as_mut() {
                *s = p.salt_len;
            }
        }
        Ok(DTLS_OK)
    })
}

/// The OpenSSL name of an SRTP profile id (`"SRTP_AES128_CM_SHA1_80"`, ...), as
/// `SSL_get_selected_srtp_profile()->name` gives it; NULL for an unknown id. Static string.
#[no_mangle]
pub extern "C" fn dtls_srtp_profile_name(id: u16) -> *const std::ffi::c_char {
    crate::boundary::guard_or(std::ptr::null(), || {
        let name: &'static std::ffi::CStr = match id {
            DTLS_SRTP_AES128_CM_SHA1_80 => c"SRTP_AES128_CM_SHA1_80",
            DTLS_SRTP_AES128_CM_SHA1_32 => c"SRTP_AES128_CM_SHA1_32",
            DTLS_SRTP_NULL_SHA1_80 => c"SRTP_NULL_SHA1_80",
            DTLS_SRTP_NULL_SHA1_32 => c"SRTP_NULL_SHA1_32",
            DTLS_SRTP_AEAD_AES_128_GCM => c"SRTP_AEAD_AES_128_GCM",
            DTLS_SRTP_AEAD_AES_256_GCM => c"SRTP_AEAD_AES_256_GCM",
            _ => return std::ptr::null(),
        };
        name.as_ptr()
    })
}

/// Sets the cipher suites (IANA ids) in preference order; unsupported ids make
/// `dtls_config_builder_build` fail with `DTLS_ERR_INVALID_CONFIG`. `n == 0` gives
/// `DTLS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `b` is a live builder; `suites` is readable for `n` values (copied).
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_cipher_suites(
    b: *mut dtls_config_builder,
    suites: *const u16,
    n: usize,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            if suites.is_null() {
                return Err(crate::result::DTLS_ERR_NULL_POINTER);
            }
            if n == 0 || n > 64 {
                return Err(DTLS_ERR_INVALID_ARGUMENT);
            }
            // SAFETY: non-NULL, readable for `n` u16 per the contract above; n is small.
            let list: Vec<CipherSuite> = std::slice::from_raw_parts(suites, n)
                .iter()
                .map(|s| CipherSuite::from(*s))
                .collect();
            update(b, |c| c.cipher_suites(&list));
            Ok(DTLS_OK)
        })
    }
}

/// Key-exchange group: X25519 (RFC 7748).
pub const DTLS_GROUP_X25519: u16 = 29;
/// Key-exchange group: NIST P-256 (secp256r1), what WebRTC stacks most often use.
pub const DTLS_GROUP_P256: u16 = 23;
/// Key-exchange group: NIST P-384 (secp384r1).
pub const DTLS_GROUP_P384: u16 = 24;

/// Sets the ECDHE groups (IANA ids, `DTLS_GROUP_*`) in preference order; the default is
/// X25519, P-256, P-384. Unsupported ids make `dtls_config_builder_build` fail with
/// `DTLS_ERR_INVALID_CONFIG`; `n == 0` gives `DTLS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `b` is a live builder; `groups` is readable for `n` values (copied).
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_groups(
    b: *mut dtls_config_builder,
    groups: *const u16,
    n: usize,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            if groups.is_null() {
                return Err(crate::result::DTLS_ERR_NULL_POINTER);
            }
            if n == 0 || n > 64 {
                return Err(DTLS_ERR_INVALID_ARGUMENT);
            }
            // SAFETY: non-NULL, readable for `n` u16 per the contract above; n is small.
            let list: Vec<dtls_proto::NamedGroup> = std::slice::from_raw_parts(groups, n)
                .iter()
                .map(|g| dtls_proto::NamedGroup::from(*g))
                .collect();
            update(b, |c| c.groups(&list));
            Ok(DTLS_OK)
        })
    }
}

/// Sets the largest datagram we send (IP/UDP headers excluded). Below 128 gives
/// `DTLS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `b` is a live builder.
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_mtu(
    b: *mut dtls_config_builder,
    mtu: u16,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            if mtu < 128 {
                return Err(DTLS_ERR_INVALID_ARGUMENT);
            }
            update(b, |c| c.mtu(mtu));
            Ok(DTLS_OK)
        })
    }
}

/// `dtls_config_builder_set_limit`: largest handshake message accepted, in bytes (default
/// 65536, at least 4096). It also bounds the peer's certificate chain in size.
pub const DTLS_LIMIT_HANDSHAKE_MESSAGE: u32 = 1;
/// Handshake fragment bytes buffered for reassembly at once (default 131072).
pub const DTLS_LIMIT_REASSEMBLY_BYTES: u32 = 2;
/// Records of the next epoch held until its keys are installed (default 16, at least 2).
pub const DTLS_LIMIT_DEFERRED_RECORDS: u32 = 3;
/// Records queued by `dtls_send` and not yet sealed (default 256); beyond, `dtls_send` fails
/// with `DTLS_ERR_INVALID_ARGUMENT` (not fatal) until `dtls_poll_output` drains the queue.
pub const DTLS_LIMIT_QUEUED_RECORDS: u32 = 4;
/// Received application records not yet read by `dtls_recv` (default 256); beyond, new ones
/// are dropped and counted.
pub const DTLS_LIMIT_RECEIVED_RECORDS: u32 = 5;
/// Their bytes (default 262144, at least 16384).
pub const DTLS_LIMIT_RECEIVED_BYTES: u32 = 6;
/// Certificates accepted in the peer's chain (default 10).
pub const DTLS_LIMIT_CERT_CHAIN_LEN: u32 = 7;
/// Records that may fail authentication under one key before the association ends with
/// `DTLS_ERR_KEY_USAGE_LIMIT` (default 2^36, RFC 9147 §4.5.3). Below that each is dropped and
/// counted.
pub const DTLS_LIMIT_AUTH_FAILURES: u32 = 8;

/// Sets one per-association memory bound, `which` a `DTLS_LIMIT_*`. What a peer sends beyond
/// a bound is dropped and counted; the association carries on. Values below what a handshake
/// needs are refused by `dtls_config_builder_build` with `DTLS_ERR_INVALID_CONFIG`.
///
/// # Safety
/// `b` is a live builder. Errors: `DTLS_ERR_NULL_POINTER`, `DTLS_ERR_INVALID_ARGUMENT`
/// (unknown `which`).
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_limit(
    b: *mut dtls_config_builder,
    which: u32,
    value: usize,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            let mut l = b.inner.current_limits();
            if which == DTLS_LIMIT_AUTH_FAILURES {
                l.max_auth_failures = value as u64;
                update(b, |c| c.limits(l));
                return Ok(DTLS_OK);
            }
            let slot = match which {
                DTLS_LIMIT_HANDSHAKE_MESSAGE => &mut l.max_handshake_message,
                DTLS_LIMIT_REASSEMBLY_BYTES => &mut l.max_reassembly_bytes,
                DTLS_LIMIT_DEFERRED_RECORDS => &mut l.max_deferred_records,
                DTLS_LIMIT_QUEUED_RECORDS => &mut l.max_queued_records,
                DTLS_LIMIT_RECEIVED_RECORDS => &mut l.max_received_records,
                DTLS_LIMIT_RECEIVED_BYTES => &mut l.max_received_bytes,
                DTLS_LIMIT_CERT_CHAIN_LEN => &mut l.max_cert_chain_len,
                _ => return Err(DTLS_ERR_INVALID_ARGUMENT),
            };
            *slot = value;
            update(b, |c| c.limits(l));
            Ok(DTLS_OK)
        })
    }
}

/// Sets the retransmission timers in milliseconds: first timeout, its cap (the timeout doubles
/// up to it), and the deadline for the whole handshake. Needs `0 < initial_rto_ms <= max_rto_ms`
/// and `handshake_timeout_ms > 0`, else `DTLS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `b` is a live builder.
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_set_timers(
    b: *mut dtls_config_builder,
    initial_rto_ms: u32,
    max_rto_ms: u32,
    handshake_timeout_ms: u32,
) -> dtls_result {
    // SAFETY: `b` per the contract above.
    unsafe {
        set(b, |b| {
            if initial_rto_ms == 0 || max_rto_ms < initial_rto_ms || handshake_timeout_ms == 0 {
                return Err(DTLS_ERR_INVALID_ARGUMENT);
            }
            update(b, |c| {
                c.timers(
                    initial_rto_ms.into(),
                    max_rto_ms.into(),
                    handshake_timeout_ms.into(),
                )
            });
            Ok(DTLS_OK)
        })
    }
}

/// Freezes the settings into a shared configuration. Consumes `b` whether or not the build
/// succeeds (do not use or free it afterwards), unless an argument is NULL
/// (`DTLS_ERR_NULL_POINTER`, nothing consumed). On `DTLS_OK`, `*out` is a configuration the
/// caller owns one reference to, released with `dtls_config_free`.
/// Errors: `DTLS_ERR_INVALID_CONFIG`, `DTLS_ERR_CERTIFICATE`.
///
/// # Safety
/// `b` is a live builder; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_build(
    b: *mut dtls_config_builder,
    out: *mut *const dtls_config,
) -> dtls_result {
    guard(|| {
        let out = arg_out(out)?;
        if b.is_null() {
            return Err(crate::result::DTLS_ERR_NULL_POINTER);
        }
        // SAFETY: `b` came from Box::into_raw in dtls_config_builder_new and is consumed once.
        let b = unsafe { Box::from_raw(b) };
        let cfg = b.inner.build().map_err(code)?;
        // SAFETY: `out` is non-NULL and writable per the contract above.
        unsafe { out.write(Arc::into_raw(cfg).cast::<dtls_config>()) };
        Ok(DTLS_OK)
    })
}

/// Releases a builder that was never passed to `dtls_config_builder_build`. `NULL` is a no-op.
///
/// # Safety
/// `b` is NULL or a live builder; it must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn dtls_config_builder_free(b: *mut dtls_config_builder) {
    guard_or((), || {
        if !b.is_null() {
            // SAFETY: from Box::into_raw in dtls_config_builder_new, freed once (contract).
            drop(unsafe { Box::from_raw(b) });
        }
    })
}

/// Releases the caller's reference to a configuration. Contexts made from it keep their own,
/// so this may be called right after the last `dtls_ctx_new`. `NULL` is a no-op.
///
/// # Safety
/// `config` is NULL or a configuration from `dtls_config_builder_build` whose reference has not
/// been released before; the caller must not use it afterwards.
#[no_mangle]
pub unsafe extern "C" fn dtls_config_free(config: *const dtls_config) {
    guard_or((), || {
        if !config.is_null() {
            // SAFETY: from Arc::into_raw in dtls_config_builder_build; this releases the
            // caller's one reference (contract).
            drop(unsafe { Arc::from_raw(config.cast::<Config>()) });
        }
    })
}

/// A new `Arc` reference to the configuration behind `config`, leaving the caller's intact.
///
/// # Safety
/// `config` is non-NULL and a live configuration from `dtls_config_builder_build`.
pub(crate) unsafe fn config_arc(config: *const dtls_config) -> Arc<Config> {
    let p = config.cast::<Config>();
    // SAFETY: `p` came from Arc::into_raw and the caller still holds its reference, so the
    // count is >= 1; we add one for the clone we return.
    unsafe {
        Arc::increment_strong_count(p);
        Arc::from_raw(p)
    }
}
