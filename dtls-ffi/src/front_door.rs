//! `dtls_server_prefilter`: the stateless front door of a server that serves many peers on one
//! socket. Nothing is allocated for a peer until its ClientHello carries a valid cookie.

use crate::boundary::{arg_buf, arg_bytes, arg_out, arg_ref, guard};
use crate::config::{config_arc, dtls_config};
use crate::result::{dtls_result, DTLS_ERR_BUFFER_TOO_SMALL, DTLS_ERR_INVALID_ARGUMENT, DTLS_OK};
use dtls_proto::server::{ServerFrontDoor, Verdict};

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
