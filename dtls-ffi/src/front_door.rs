//! `dtls_server_prefilter`: the stateless front door of a server that serves many peers on one
//! socket. Nothing is allocated for a peer until its ClientHello carries a valid cookie.

use crate::boundary::{arg_buf, arg_bytes, arg_mut, arg_out, arg_ref, guard, guard_or};
use crate::config::{config_arc, dtls_config};
use crate::result::{dtls_result, DTLS_ERR_BUFFER_TOO_SMALL, DTLS_ERR_INVALID_ARGUMENT, DTLS_OK};
use dtls_proto::server::{
    Admission, ServerFrontDoor, Verdict, DEFAULT_HELLO_POOL_BYTES, DEFAULT_MAX_HELLO_LEN,
};

/// The datagram opens with a ClientHello whose cookie is valid (or cookies are off): create a
/// server context, `dtls_ctx_set_peer_address` it with the same address bytes, and feed it this
/// datagram.
pub const DTLS_VERDICT_ACCEPT: u32 = 1;
/// Send the `*reply_len` bytes written to `reply` (a HelloVerifyRequest) back to the peer, and
/// keep nothing.
pub const DTLS_VERDICT_REPLY: u32 = 2;
/// Not a ClientHello this server can use: ignore the datagram.
pub const DTLS_VERDICT_DROP: u32 = 3;
/// A `reply` buffer of this many bytes always holds the HelloVerifyRequest.
pub const DTLS_PREFILTER_REPLY_MAX: usize = 256;

/// Classifies a datagram from a peer that has no context yet, statelessly (RFC 6347 §4.2.1):
/// `*verdict` is `DTLS_VERDICT_ACCEPT`, `_REPLY` or `_DROP`. Route datagrams from peers that have
/// a context straight to `dtls_feed`. Allocates nothing, whatever arrives; the cookie is an HMAC
/// of the peer address and the ClientHello under the config's rotating secret, so a flood of
/// spoofed ClientHellos costs one HMAC each and creates no state.
///
/// `peer_addr` is any stable encoding of the peer's transport address (e.g. its `struct
/// sockaddr_in` bytes), at most 256 bytes. `*reply_len` is set on every `DTLS_OK` (0 unless
/// REPLY).
///
/// # Safety
/// `config` is a live configuration (only read); `peer_addr`/`datagram` are readable for their
/// lengths (borrowed for the call); `reply` is writable for `reply_cap` bytes; `reply_len` and
/// `verdict` are writable. Errors: `DTLS_ERR_NULL_POINTER`, `DTLS_ERR_INVALID_ARGUMENT`
/// (address too long), `DTLS_ERR_BUFFER_TOO_SMALL` (a reply is due and `reply_cap` is below
/// `*reply_len`; `DTLS_PREFILTER_REPLY_MAX` always suffices).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn dtls_server_prefilter(
    config: *const dtls_config,
    now_ms: u64,
    peer_addr: *const u8,
    peer_addr_len: usize,
    datagram: *const u8,
    datagram_len: usize,
    reply: *mut u8,
    reply_cap: usize,
    reply_len: *mut usize,
    verdict: *mut u32,
) -> dtls_result {
    guard(|| {
        // SAFETY: every pointer per the contract above.
        unsafe { arg_ref(config) }?;
        let peer = unsafe { arg_bytes(peer_addr, peer_addr_len) }?;
        let dgram = unsafe { arg_bytes(datagram, datagram_len) }?;
        let out = unsafe { arg_buf(reply, reply_cap) }?;
        let reply_len = arg_out(reply_len)?;
        let verdict = arg_out(verdict)?;
        if peer.len() > 256 {
            return Err(DTLS_ERR_INVALID_ARGUMENT);
        }
        // SAFETY: `config` is live (checked non-NULL above). The Arc clone is a refcount
        // increment, not an allocation.
        let door = ServerFrontDoor::new(unsafe { config_arc(config) });
        let mut hvr = [0u8; DTLS_PREFILTER_REPLY_MAX];
        let (v, n) = match door.prefilter(now_ms, peer, dgram, &mut hvr) {
            Verdict::Accept => (DTLS_VERDICT_ACCEPT, 0),
            Verdict::Reply(n) => (DTLS_VERDICT_REPLY, n),
            Verdict::Drop => (DTLS_VERDICT_DROP, 0),
        };
        if n > out.len() {
            // SAFETY: `reply_len` is writable per the contract above.
            unsafe { reply_len.write(n) };
            return Err(DTLS_ERR_BUFFER_TOO_SMALL);
        }
        out[..n].copy_from_slice(&hvr[..n]);
        // SAFETY: both writable per the contract above.
        unsafe {
            reply_len.write(n);
            verdict.write(v);
        }
        Ok(DTLS_OK)
    })
}

/// Part of a ClientHello, held by the front door until the rest arrives: nothing to do
/// (`dtls_front_door_admit` only).
pub const DTLS_VERDICT_HELD: u32 = 4;
/// An `out` buffer of this many bytes (and at least the datagram's length) always holds what
/// `dtls_front_door_admit` writes: a reply, or a ClientHello of up to 16 KiB in its records.
pub const DTLS_FRONT_DOOR_OUT_MAX: usize = 16 * 1024 + 64;

/// The front door of a server with DTLS 1.3 enabled: it reassembles the ClientHellos of peers
/// without a context in one pool shared by all of them (bounded in bytes, oldest evicted first)
/// and answers each from the whole message. Opaque; from `dtls_front_door_new`, released by
/// `dtls_front_door_free`. May move between threads; used by one thread at a time.
pub struct dtls_front_door {
    door: ServerFrontDoor,
}

/// Creates a front door for `config` whose ClientHello pool holds at most `pool_bytes` (0: the
/// default, 1 MiB: some 380 browser ClientHellos in reassembly at once). With a configuration
/// that does not enable DTLS 1.3 it behaves as `dtls_server_prefilter` and holds nothing.
///
/// # Safety
/// `config` is a live configuration: the door takes its own reference. `out` is writable; on
/// `DTLS_OK`, `*out` is a new front door the caller owns and must release with
/// `dtls_front_door_free`. Errors: `DTLS_ERR_NULL_POINTER`.
#[no_mangle]
pub unsafe extern "C" fn dtls_front_door_new(
    config: *const dtls_config,
    pool_bytes: usize,
    out: *mut *mut dtls_front_door,
) -> dtls_result {
    guard(|| {
        let out = arg_out(out)?;
        // SAFETY: per the contract above.
        unsafe { arg_ref(config) }?;
        // SAFETY: non-NULL and live per the contract above.
        let cfg = unsafe { config_arc(config) };
        let pool = if pool_bytes == 0 {
            DEFAULT_HELLO_POOL_BYTES
        } else {
            pool_bytes
        };
        let door = ServerFrontDoor::with_pool(cfg, pool, DEFAULT_MAX_HELLO_LEN);
        let p = Box::into_raw(Box::new(dtls_front_door { door }));
        // SAFETY: `out` is non-NULL and writable per the contract above.
        unsafe { out.write(p) };
        Ok(DTLS_OK)
    })
}

/// Classifies a datagram from a peer that has no context yet; `*verdict` is:
/// - `DTLS_VERDICT_ACCEPT`: the ClientHello's cookie is valid (or cookies are off). Create a
///   server context, `dtls_ctx_set_peer_address` it with the same address bytes, and
///   `dtls_feed` it the `*out_len` bytes written to `out` (the datagram itself, or one the door
///   built holding the ClientHello it reassembled from this and earlier datagrams).
/// - `DTLS_VERDICT_REPLY`: send the `*out_len` bytes written to `out` (a HelloRetryRequest, or
///   a HelloVerifyRequest for a DTLS 1.2 ClientHello) back to the peer.
/// - `DTLS_VERDICT_HELD`: part of a ClientHello, kept in the pool; nothing to do.
/// - `DTLS_VERDICT_DROP`: not a ClientHello this server can use; ignore it.
///
/// Memory before a cookie checks out is the pool's, whatever and from however many addresses
/// arrives. `peer_addr` is any stable encoding of the peer's transport address, at most 256
/// bytes. `*out_len` is set on every `DTLS_OK` (0 for HELD and DROP).
///
/// # Safety
/// `door` is a live front door (used by one thread at a time); `peer_addr`/`datagram` are
/// readable for their lengths (borrowed for the call); `out` is writable for `out_cap` bytes;
/// `out_len` and `verdict` are writable. Errors: `DTLS_ERR_NULL_POINTER`,
/// `DTLS_ERR_INVALID_ARGUMENT` (address too long), `DTLS_ERR_BUFFER_TOO_SMALL` (`*out_len` is
/// what was needed; an accepted ClientHello is then lost and comes again with the client's
/// retransmission; `DTLS_FRONT_DOOR_OUT_MAX` and the datagram's length always suffice).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn dtls_front_door_admit(
    door: *mut dtls_front_door,
    now_ms: u64,
    peer_addr: *const u8,
    peer_addr_len: usize,
    datagram: *const u8,
    datagram_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
    verdict: *mut u32,
) -> dtls_result {
    guard(|| {
        // SAFETY: every pointer per the contract above.
        let door = unsafe { arg_mut(door) }?;
        let peer = unsafe { arg_bytes(peer_addr, peer_addr_len) }?;
        let dgram = unsafe { arg_bytes(datagram, datagram_len) }?;
        let out = unsafe { arg_buf(out, out_cap) }?;
        let out_len = arg_out(out_len)?;
        let verdict = arg_out(verdict)?;
        if peer.len() > 256 {
            return Err(DTLS_ERR_INVALID_ARGUMENT);
        }
        let mut reply = [0u8; DTLS_PREFILTER_REPLY_MAX];
        let (v, bytes): (u32, &[u8]) = match door.door.admit(now_ms, peer, dgram, &mut reply) {
            Admission::Accept(d) => (DTLS_VERDICT_ACCEPT, d),
            Admission::Reply(n) => (DTLS_VERDICT_REPLY, reply.get(..n).unwrap_or_default()),
            Admission::Held => (DTLS_VERDICT_HELD, &[]),
            Admission::Drop => (DTLS_VERDICT_DROP, &[]),
        };
        let n = bytes.len();
        if n > out.len() {
            // SAFETY: `out_len` is writable per the contract above.
            unsafe { out_len.write(n) };
            return Err(DTLS_ERR_BUFFER_TOO_SMALL);
        }
        out[..n].copy_from_slice(bytes);
        // SAFETY: both writable per the contract above.
        unsafe {
            out_len.write(n);
            verdict.write(v);
        }
        Ok(DTLS_OK)
    })
}

/// The pool's state: `*bytes` charged now (never above the `pool_bytes` it was made with) and
/// `*entries` partial ClientHellos held. Either pointer may be NULL.
///
/// # Safety
/// `door` is a live front door; `bytes` and `entries` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn dtls_front_door_pool(
    door: *const dtls_front_door,
    bytes: *mut usize,
    entries: *mut usize,
) -> dtls_result {
    guard(|| {
        // SAFETY: per the contract above.
        let door = unsafe { arg_ref(door) }?;
        let s = door.door.pool_stats();
        // SAFETY: NULL-checked here, writable per the contract above.
        unsafe {
            if !bytes.is_null() {
                bytes.write(s.bytes);
            }
            if !entries.is_null() {
                entries.write(s.entries);
            }
        }
        Ok(DTLS_OK)
    })
}

/// Releases a front door and every ClientHello it holds. `NULL` is a no-op.
///
/// # Safety
/// `door` is NULL or a live front door; it must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn dtls_front_door_free(door: *mut dtls_front_door) {
    guard_or((), || {
        if !door.is_null() {
            // SAFETY: from Box::into_raw in dtls_front_door_new, freed once (contract).
            drop(unsafe { Box::from_raw(door) });
        }
    })
}
