//! `dtls_ctx`: one DTLS association (a `Box`, owned by the caller), and the drive-loop calls.

use crate::boundary::{
    arg_buf, arg_bytes, arg_out, arg_str, code, guard, guard_or, write_cstr, Outcome,
};
use crate::certificate::hash_alg;
use crate::config::{config_arc, dtls_config};
use crate::event::{dtls_event, to_c};
use crate::result::*;
use dtls_proto::{Connection, Error, Fingerprint, Role};
use std::cell::Cell;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Client role: sends the first flight.
pub const DTLS_ROLE_CLIENT: u32 = 1;
/// Server role: answers ClientHellos.
pub const DTLS_ROLE_SERVER: u32 = 2;

/// One DTLS association, either role. Opaque; from `dtls_ctx_new`, released by
/// `dtls_ctx_free`. May move between threads; used by one thread at a time.
pub struct dtls_ctx {
    conn: Connection,
    /// Set when a call panicked: the engine state may be half-updated, so every later call
    /// (but `dtls_ctx_free`) returns `DTLS_ERR_PANIC`. A `Cell` so `const dtls_ctx *` calls
    /// can poison too.
    poisoned: Cell<bool>,
}

/// Runs `f` on the association inside the panic boundary, poisoning the context on a panic.
///
/// # Safety
/// `ctx` is NULL or a live context not used by anyone else during the call.
unsafe fn with_ctx_mut(
    ctx: *mut dtls_ctx,
    f: impl FnOnce(&mut Connection) -> Outcome,
) -> dtls_result {
    // SAFETY: forwarded to the caller's contract.
    let Some(c) = (unsafe { ctx.as_mut() }) else {
        return DTLS_ERR_NULL_POINTER;
    };
    if c.poisoned.get() {
        return DTLS_ERR_PANIC;
    }
    let dtls_ctx { conn, poisoned } = c;
    match catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(Ok(r)) | Ok(Err(r)) => r,
        Err(_) => {
            poisoned.set(true);
            DTLS_ERR_PANIC
        }
    }
}

/// As [`with_ctx_mut`] for calls that only read the association.
///
/// # Safety
/// `ctx` is NULL or a live context not mutated during the call.
unsafe fn with_ctx(ctx: *const dtls_ctx, f: impl FnOnce(&Connection) -> Outcome) -> dtls_result {
    // SAFETY: forwarded to the caller's contract.
    let Some(c) = (unsafe { ctx.as_ref() }) else {
        return DTLS_ERR_NULL_POINTER;
    };
    if c.poisoned.get() {
        return DTLS_ERR_PANIC;
    }
    match catch_unwind(AssertUnwindSafe(|| f(&c.conn))) {
        Ok(Ok(r)) | Ok(Err(r)) => r,
        Err(_) => {
            c.poisoned.set(true);
            DTLS_ERR_PANIC
        }
    }
}

/// Creates an association with `role` (`DTLS_ROLE_CLIENT` / `DTLS_ROLE_SERVER`). `server_name`
/// (client only; may be NULL) is sent as SNI and checked against the server certificate in
/// webpki mode. `now_ms` starts the handshake deadline; a client queues its first flight at
/// once (poll it with `dtls_poll_output`).
///
/// # Safety
/// `config` is a live configuration: the context takes its own reference, so the caller may
/// `dtls_config_free` it right after. `server_name` is NULL or a NUL-terminated UTF-8 string
/// (copied). `out` is writable; on `DTLS_OK`, `*out` is a new context the caller owns and must
/// release with `dtls_ctx_free`. Errors: `DTLS_ERR_NULL_POINTER`, `DTLS_ERR_INVALID_ARGUMENT`
/// (role), `DTLS_ERR_UTF8`, `DTLS_ERR_INVALID_CONFIG` (e.g. a server without a certificate).
#[no_mangle]
pub unsafe extern "C" fn dtls_ctx_new(
    config: *const dtls_config,
    role: u32,
    server_name: *const c_char,
    now_ms: u64,
    out: *mut *mut dtls_ctx,
) -> dtls_result {
    guard(|| {
        let out = arg_out(out)?;
        if config.is_null() {
            return Err(DTLS_ERR_NULL_POINTER);
        }
        let role = match role {
            DTLS_ROLE_CLIENT => Role::Client,
            DTLS_ROLE_SERVER => Role::Server,
            _ => return Err(DTLS_ERR_INVALID_ARGUMENT),
        };
        let name = if server_name.is_null() {
            None
        } else {
            // SAFETY: non-NULL and NUL-terminated per the contract above.
            Some(unsafe { arg_str(server_name) }?)
        };
        // SAFETY: non-NULL and live per the contract above.
        let cfg = unsafe { config_arc(config) };
        let conn = Connection::new(cfg, role, name, now_ms).map_err(code)?;
        let ctx = Box::into_raw(Box::new(dtls_ctx {
            conn,
            poisoned: Cell::new(false),
        }));
        // SAFETY: `out` is non-NULL and writable per the contract above.
        unsafe { out.write(ctx) };
        Ok(DTLS_OK)
    })
}

/// Pins a peer certificate fingerprint in SDP form (RFC 8122), `"sha-256 AB:CD:..."` (hash
/// name case-insensitive; sha-1/256/384/512; a leading `a=fingerprint:` is tolerated). Call
/// before the handshake reaches the peer's certificate; any pinned fingerprint may match.
/// A mismatch fails the handshake with `DTLS_ERR_FINGERPRINT_MISMATCH`.
///
/// # Safety
/// `ctx` is a live context; `sdp_fingerprint` a NUL-terminated string (borrowed for the call).
/// Errors: `DTLS_ERR_NULL_POINTER`, `DTLS_ERR_UTF8`, `DTLS_ERR_CERTIFICATE` (malformed).
#[no_mangle]
pub unsafe extern "C" fn dtls_ctx_add_peer_fingerprint(
    ctx: *mut dtls_ctx,
    sdp_fingerprint: *const c_char,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx_mut(ctx, |conn| {
            // SAFETY: NUL-terminated per the contract above.
            let s = arg_str(sdp_fingerprint)?;
            conn.add_peer_fingerprint(s).map_err(code)?;
            Ok(DTLS_OK)
        })
    }
}

/// Server: binds the HelloVerifyRequest cookie to the peer's transport address, in any stable
/// encoding (e.g. the bytes of its `struct sockaddr_in`). Call before feeding its first datagram.
///
/// # Safety
/// `ctx` is a live context; `addr` readable for `len` bytes (copied).
#[no_mangle]
pub unsafe extern "C" fn dtls_ctx_set_peer_address(
    ctx: *mut dtls_ctx,
    addr: *const u8,
    len: usize,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx_mut(ctx, |conn| {
            // SAFETY: readable for `len` bytes per the contract above.
            let addr = arg_bytes(addr, len)?;
            if addr.len() > 256 {
                return Err(DTLS_ERR_INVALID_ARGUMENT);
            }
            conn.set_peer_address(addr);
            Ok(DTLS_OK)
        })
    }
}

/// Changes this association's MTU (e.g. after path MTU discovery); later datagrams,
/// retransmissions included, respect it. Below 128 gives `DTLS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `ctx` is a live context.
#[no_mangle]
pub unsafe extern "C" fn dtls_ctx_set_mtu(ctx: *mut dtls_ctx, mtu: u16) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe { with_ctx_mut(ctx, |conn| conn.set_mtu(mtu).map(|_| DTLS_OK).map_err(code)) }
}

/// Processes one whole UDP datagram received at `now_ms`. Junk (malformed, replayed,
/// unauthenticated records) is dropped silently and gives `DTLS_OK`. Any other result but
/// `DTLS_ERR_NULL_POINTER` means the association is dead: a fatal alert may still wait in
/// `dtls_poll_output`, and a `DTLS_EVENT_FAILED` event says the same.
///
/// # Safety
/// `ctx` is a live context; `datagram` readable for `len` bytes (borrowed for the call).
#[no_mangle]
pub unsafe extern "C" fn dtls_feed(
    ctx: *mut dtls_ctx,
    datagram: *const u8,
    len: usize,
    now_ms: u64,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx_mut(ctx, |conn| {
            // SAFETY: readable for `len` bytes per the contract above.
            let d = arg_bytes(datagram, len)?;
            conn.handle_datagram(now_ms, d).map_err(code)?;
            Ok(DTLS_OK)
        })
    }
}

/// Writes the next datagram to send into `buf` and its length to `*len`: `DTLS_OK`, or
/// `DTLS_EMPTY` when nothing is pending. Call until `DTLS_EMPTY` after every feed, timeout,
/// send or close. A datagram never exceeds the MTU, so a buffer of the MTU (1500 bytes) always
/// suffices. If `cap` is too small: `DTLS_ERR_BUFFER_TOO_SMALL` with the size needed in `*len`;
/// the datagram stays queued (nothing is lost) and the call may be repeated with a bigger buffer.
///
/// # Safety
/// `ctx` is a live context; `buf` writable for `cap` bytes; `len` writable.
#[no_mangle]
pub unsafe extern "C" fn dtls_poll_output(
    ctx: *mut dtls_ctx,
    now_ms: u64,
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx_mut(ctx, |conn| {
            let len = arg_out(len)?;
            // SAFETY: writable for `cap` bytes per the contract above.
            let buf = arg_buf(buf, cap)?;
            // SAFETY: `len` non-NULL and writable per the contract above.
            write_len(conn.poll_transmit(now_ms, buf), len)
        })
    }
}

/// Copies the next event into `*event`: `DTLS_OK`, or `DTLS_EMPTY` when none is waiting.
///
/// # Safety
/// `ctx` is a live context; `event` writable.
#[no_mangle]
pub unsafe extern "C" fn dtls_poll_event(
    ctx: *mut dtls_ctx,
    event: *mut dtls_event,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx_mut(ctx, |conn| {
            let event = arg_out(event)?;
            while let Some(ev) = conn.poll_event() {
                if let Some(ev) = to_c(ev) {
                    // SAFETY: `event` non-NULL and writable per the contract above.
                    event.write(ev);
                    return Ok(DTLS_OK);
                }
            }
            Ok(DTLS_EMPTY)
        })
    }
}

/// Writes the next absolute deadline (ms, same clock as `now_ms`) at which
/// `dtls_handle_timeout` must be called to `*deadline_ms` and returns true; returns false (and
/// writes nothing) when no timer runs, or when an argument is NULL or the context poisoned.
///
/// # Safety
/// `ctx` is NULL or a live context (only read); `deadline_ms` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn dtls_next_timeout(ctx: *const dtls_ctx, deadline_ms: *mut u64) -> bool {
    guard_or(false, || {
        if deadline_ms.is_null() {
            return false;
        }
        let mut t = None;
        // SAFETY: `ctx` per the contract above.
        let r = unsafe {
            with_ctx(ctx, |conn| {
                t = conn.next_timeout();
                Ok(DTLS_OK)
            })
        };
        match (r, t) {
            (DTLS_OK, Some(t)) => {
                // SAFETY: non-NULL and writable per the contract above.
                unsafe { deadline_ms.write(t) };
                true
            }
            _ => false,
        }
    })
}

/// Retransmits, or fails the handshake at its deadline, as the clock demands; a call before
/// the deadline is a harmless no-op. Poll output and events afterwards. An error is fatal
/// (`DTLS_ERR_HANDSHAKE_TIMEOUT`, ...).
///
/// # Safety
/// `ctx` is a live context.
#[no_mangle]
pub unsafe extern "C" fn dtls_handle_timeout(ctx: *mut dtls_ctx, now_ms: u64) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx_mut(ctx, |conn| {
            conn.handle_timeout(now_ms).map(|_| DTLS_OK).map_err(code)
        })
    }
}

/// Queues `data` as one application record (then `dtls_poll_output`). Errors:
/// `DTLS_ERR_NOT_CONNECTED` before the handshake completes, `DTLS_ERR_CLOSED` after close,
/// `DTLS_ERR_INVALID_ARGUMENT` (not fatal) when `len` exceeds `dtls_ctx_max_send_len` or the
/// send queue is full.
///
/// # Safety
/// `ctx` is a live context; `data` readable for `len` bytes (copied).
#[no_mangle]
pub unsafe extern "C" fn dtls_send(ctx: *mut dtls_ctx, data: *const u8, len: usize) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx_mut(ctx, |conn| {
            // SAFETY: readable for `len` bytes per the contract above.
            let d = arg_bytes(data, len)?;
            conn.send(d).map_err(code)?;
            Ok(DTLS_OK)
        })
    }
}

/// Copies the next received application record into `buf` and its length into `*len`:
/// `DTLS_OK`, or `DTLS_EMPTY` when none is waiting. If `cap` is too small:
/// `DTLS_ERR_BUFFER_TOO_SMALL` with the record's size in `*len`; the record stays queued.
///
/// # Safety
/// `ctx` is a live context; `buf` writable for `cap` bytes; `len` writable.
#[no_mangle]
pub unsafe extern "C" fn dtls_recv(
    ctx: *mut dtls_ctx,
    buf: *mut u8,
    cap: usize,
    len: *mut usize,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx_mut(ctx, |conn| {
            let len = arg_out(len)?;
            // SAFETY: writable for `cap` bytes per the contract above.
            let buf = arg_buf(buf, cap)?;
            // SAFETY: `len` non-NULL and writable per the contract above.
            write_len(conn.recv(buf), len)
        })
    }
}

/// Seals `data` as one application record straight into `out` (one datagram, sent as is) and
/// writes its length to `*out_len`: `dtls_send` and `dtls_poll_output` in one call, one copy,
/// no queue, for media and VPN paths. Needs the handshake done and nothing queued by
/// `dtls_send` (`DTLS_ERR_INVALID_ARGUMENT`, not fatal, otherwise). If `cap` is too small:
/// `DTLS_ERR_BUFFER_TOO_SMALL` with the size needed in `*out_len`; nothing changes.
///
/// # Safety
/// `ctx` is a live context; `data` readable for `len` bytes; `out` writable for `cap` bytes
/// and not overlapping `data`; `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn dtls_seal_into(
    ctx: *mut dtls_ctx,
    data: *const u8,
    len: usize,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx_mut(ctx, |conn| {
            let out_len = arg_out(out_len)?;
            // SAFETY: readable / writable for the given lengths per the contract above.
            let d = arg_bytes(data, len)?;
            let buf = arg_buf(out, cap)?;
            // SAFETY: `out_len` non-NULL and writable per the contract above.
            write_len(conn.seal_into(d, buf).map(Some), out_len)
        })
    }
}

/// Like `dtls_feed`, but when the datagram is a single application record (the steady state
/// of a media flow) it is decrypted where it lies and `*data`/`*data_len` point at the
/// plaintext inside `datagram`: `DTLS_OK`, no copy. Otherwise the datagram is processed as
/// `dtls_feed` would, and the result is `DTLS_EMPTY` (poll events, output and `dtls_recv` as
/// usual). The datagram's bytes are overwritten either way.
///
/// # Safety
/// `ctx` is a live context; `datagram` readable and writable for `len` bytes; `data` and
/// `data_len` writable. `*data` points into `datagram` and is valid as long as it is.
#[no_mangle]
pub unsafe extern "C" fn dtls_open_in_place(
    ctx: *mut dtls_ctx,
    datagram: *mut u8,
    len: usize,
    now_ms: u64,
    data: *mut *const u8,
    data_len: *mut usize,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx_mut(ctx, |conn| {
            let data = arg_out(data)?;
            let data_len = arg_out(data_len)?;
            // SAFETY: readable and writable for `len` bytes per the contract above.
            let d = arg_buf(datagram, len)?;
            match conn.open_in_place(now_ms, d).map_err(code)? {
                Some(plain) => {
                    // SAFETY: both writable per the contract above.
                    data.write(plain.as_ptr());
                    data_len.write(plain.len());
                    Ok(DTLS_OK)
                }
                None => Ok(DTLS_EMPTY),
            }
        })
    }
}

/// Queues close_notify after any queued data (then `dtls_poll_output`); nothing more is sent
/// or accepted afterwards. Calling it again is harmless.
///
/// # Safety
/// `ctx` is a live context.
#[no_mangle]
pub unsafe extern "C" fn dtls_close(ctx: *mut dtls_ctx) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe { with_ctx_mut(ctx, |conn| conn.close().map(|_| DTLS_OK).map_err(code)) }
}

/// Updates our sending keys (DTLS 1.3 KeyUpdate, RFC 9147 §8); with `request_peer` the peer is
/// asked to update its own too. The new keys take over once the peer acknowledges (poll
/// output after this call). `DTLS_ERR_NOT_CONNECTED` before the handshake completes;
/// `DTLS_ERR_INVALID_ARGUMENT` on a DTLS 1.2 association, which has no key update.
///
/// # Safety
/// `ctx` is a live context.
#[no_mangle]
pub unsafe extern "C" fn dtls_key_update(
    ctx: *mut dtls_ctx,
    request_peer: bool,
    now_ms: u64,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx_mut(ctx, |conn| {
            conn.key_update(now_ms, request_peer)
                .map(|_| DTLS_OK)
                .map_err(code)
        })
    }
}

/// Points `*der`/`*len` at certificate `index` (0 = the leaf) of the peer's verified chain:
/// `DTLS_OK`, or `DTLS_EMPTY` when there is no certificate at `index` (yet).
///
/// # Safety
/// `ctx` is a live context (only read); `der` and `len` writable. The bytes belong to the
/// context: valid until the next call that takes a non-const `ctx`, or `dtls_ctx_free`.
#[no_mangle]
pub unsafe extern "C" fn dtls_ctx_peer_certificate(
    ctx: *const dtls_ctx,
    index: usize,
    der: *mut *const u8,
    len: *mut usize,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx(ctx, |conn| {
            let der = arg_out(der)?;
            let len = arg_out(len)?;
            let Some(cert) = conn.peer_certificates().get(index) else {
                return Ok(DTLS_EMPTY);
            };
            // SAFETY: both non-NULL and writable per the contract above.
            der.write(cert.as_ptr());
            len.write(cert.len());
            Ok(DTLS_OK)
        })
    }
}

/// Writes the fingerprint of the peer's leaf certificate with hash `hash` (`DTLS_HASH_*`) as
/// NUL-terminated `"AB:CD:..."`, like `dtls_certificate_fingerprint` (same buffer rules);
/// `DTLS_EMPTY` before the peer's certificate arrived.
///
/// # Safety
/// `ctx` is a live context (only read); `out` writable for `cap` bytes; `len` writable.
#[no_mangle]
pub unsafe extern "C" fn dtls_ctx_peer_fingerprint(
    ctx: *const dtls_ctx,
    hash: u32,
    out: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx(ctx, |conn| {
            arg_out(out)?;
            arg_out(len)?;
            let alg = hash_alg(hash)?;
            let Some(leaf) = conn.peer_certificates().first() else {
                return Ok(DTLS_EMPTY);
            };
            // SAFETY: `out`/`len` writable per the contract above.
            write_cstr(&Fingerprint::of(alg, leaf).to_hex(), out, cap, len)
        })
    }
}

/// Writes the largest application payload `dtls_send` accepts now (MTU and suite overhead)
/// to `*len`.
///
/// # Safety
/// `ctx` is a live context (only read); `len` writable.
#[no_mangle]
pub unsafe extern "C" fn dtls_ctx_max_send_len(
    ctx: *const dtls_ctx,
    len: *mut usize,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx(ctx, |conn| {
            let len = arg_out(len)?;
            // SAFETY: non-NULL and writable per the contract above.
            len.write(conn.max_send_len());
            Ok(DTLS_OK)
        })
    }
}

/// RFC 5705 keying material exporter: fills `out[..out_len]` from `label` and, when `context`
/// is non-NULL, `context[..context_len]` (NULL means "no context", which differs from an empty
/// one; `context_len` must then be 0). `DTLS_ERR_EXPORTER_UNAVAILABLE` before the handshake
/// completes; `DTLS_ERR_INVALID_ARGUMENT` for a NULL context with nonzero length or an
/// `out_len` above 65535.
///
/// # Safety
/// `ctx` is a live context (only read); `label` readable for `label_len` bytes; `context`
/// NULL or readable for `context_len` bytes; `out` writable for `out_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn dtls_export_keying_material(
    ctx: *const dtls_ctx,
    label: *const u8,
    label_len: usize,
    context: *const u8,
    context_len: usize,
    out: *mut u8,
    out_len: usize,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx(ctx, |conn| {
            // SAFETY: per the contract above.
            let label = arg_bytes(label, label_len)?;
            let context = if context.is_null() {
                if context_len != 0 {
                    return Err(DTLS_ERR_INVALID_ARGUMENT);
                }
                None
            } else {
                // SAFETY: per the contract above.
                Some(arg_bytes(context, context_len)?)
            };
            if out.is_null() {
                return Err(DTLS_ERR_NULL_POINTER);
            }
            if out_len > 0xFFFF {
                return Err(DTLS_ERR_INVALID_ARGUMENT);
            }
            // Export into our own buffer so `out` is written only on success.
            let mut tmp = vec![0u8; out_len];
            conn.export_keying_material(label, context, &mut tmp)
                .map_err(code)?;
            // SAFETY: `out` non-NULL and writable for `out_len` bytes per the contract above.
            std::ptr::copy_nonoverlapping(tmp.as_ptr(), out, out_len);
            Ok(DTLS_OK)
        })
    }
}

/// DTLS-SRTP keys (RFC 5764 §4.2): writes the negotiated profile to `*profile` and
/// `client_write_key | server_write_key | client_write_salt | server_write_salt` (exporter label
/// `EXTRACTOR-dtls_srtp`, 60 bytes for the AES-CM profiles) to `out`, its length to `*len`.
/// `DTLS_ERR_EXPORTER_UNAVAILABLE` before the handshake completes, `DTLS_EMPTY` when use_srtp
/// was not negotiated, `DTLS_ERR_BUFFER_TOO_SMALL` with the size needed in `*len`.
///
/// # Safety
/// `ctx` is a live context (only read); `profile` and `len` writable; `out` writable for `cap`
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn dtls_srtp_keying_material(
    ctx: *const dtls_ctx,
    profile: *mut u16,
    out: *mut u8,
    cap: usize,
    len: *mut usize,
) -> dtls_result {
    // SAFETY: `ctx` per the contract above.
    unsafe {
        with_ctx(ctx, |conn| {
            let profile = arg_out(profile)?;
            let out = arg_out(out)?;
            let len = arg_out(len)?;
            if !conn.is_connected() {
                return Err(DTLS_ERR_EXPORTER_UNAVAILABLE);
            }
            if conn.negotiated().and_then(|n| n.srtp_profile).is_none() {
                return Ok(DTLS_EMPTY);
            }
            let keys = conn.srtp_keying_material().map_err(code)?;
            let needed = keys.material.len();
            if cap < needed {
                // SAFETY: non-NULL and writable per the contract above.
                len.write(needed);
                return Err(DTLS_ERR_BUFFER_TOO_SMALL);
            }
            // SAFETY: `out` writable for `cap >= needed` bytes; `profile`/`len` writable.
            std::ptr::copy_nonoverlapping(keys.material.as_ptr(), out, needed);
            let p = keys.profile;
            profile.write(p);
            len.write(needed);
            Ok(DTLS_OK)
        })
    }
}

/// Maps a "bytes written into the caller's buffer" result: `DTLS_OK` with `*len = n`,
/// `DTLS_EMPTY` when nothing was pending, or `DTLS_ERR_BUFFER_TOO_SMALL` with the size needed in
/// `*len` (the item stays queued).
///
/// # Safety
/// `len` is non-NULL and writable.
unsafe fn write_len(
    r: Result<Option<usize>, Error>,
    len: *mut usize,
) -> Result<dtls_result, dtls_result> {
    let (n, result) = match r {
        Ok(Some(n)) => (n, Ok(DTLS_OK)),
        Ok(None) => return Ok(DTLS_EMPTY),
        Err(Error::BufferTooSmall { needed }) => (needed, Err(DTLS_ERR_BUFFER_TOO_SMALL)),
        Err(e) => return Err(code(e)),
    };
    // SAFETY: per this function's contract.
    unsafe { len.write(n) };
    result
}

/// Releases a context (without sending anything: call `dtls_close` and flush
/// `dtls_poll_output` first for an orderly close). Works on a poisoned context. `NULL` is a no-op.
///
/// # Safety
/// `ctx` is NULL or a live context; it must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn dtls_ctx_free(ctx: *mut dtls_ctx) {
    guard_or((), || {
        if !ctx.is_null() {
            // SAFETY: from Box::into_raw in dtls_ctx_new, freed once (contract).
            drop(unsafe { Box::from_raw(ctx) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_check<T: Send>() {}

    #[test]
    fn ctx_is_send() {
        send_check::<dtls_ctx>();
    }

    /// A panic inside a call returns DTLS_ERR_PANIC and poisons the context: every later call
    /// refuses, but freeing still works.
    /// A client context owned by the caller (free with `dtls_ctx_free`).
    fn fresh_ctx() -> *mut dtls_ctx {
        let cfg = dtls_proto::Config::builder()
            .peer_verification(dtls_proto::PeerVerification::DangerousAcceptAny)
            .build()
            .unwrap();
        let conn = Connection::new(cfg, Role::Client, None, 0).unwrap();
        Box::into_raw(Box::new(dtls_ctx {
            conn,
            poisoned: Cell::new(false),
        }))
    }

    #[test]
    fn panic_poisons_ctx() {
        let ctx = fresh_ctx();
        // SAFETY: `ctx` is live and only used on this thread.
        unsafe {
            assert_eq!(with_ctx_mut(ctx, |_| panic!("boom")), DTLS_ERR_PANIC);
            assert!((*ctx).poisoned.get());
            assert_eq!(dtls_handle_timeout(ctx, 0), DTLS_ERR_PANIC);
            let mut d = 0;
            assert!(!dtls_next_timeout(ctx, &mut d));
            let mut l = 0;
            assert_eq!(dtls_ctx_max_send_len(ctx, &mut l), DTLS_ERR_PANIC);
            dtls_ctx_free(ctx);
        }
        // The const path poisons too.
        let ctx = fresh_ctx();
        // SAFETY: as above.
        unsafe {
            assert_eq!(with_ctx(ctx, |_| panic!("boom")), DTLS_ERR_PANIC);
            assert_eq!(dtls_close(ctx), DTLS_ERR_PANIC);
            dtls_ctx_free(ctx);
        }
    }
}
