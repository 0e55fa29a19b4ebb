//! The stateless server front door: HelloVerifyRequest cookies (RFC 6347 §4.2.1).
//!
//! A cookie is an HMAC over the peer's transport address and the ClientHello fields that sit
//! in its first fragment (version, random, session id), keyed by a secret that rotates every
//! `cookie_lifetime`. Nothing is allocated for a peer until its cookie checks out, and a
//! fragmented ClientHello (browsers send 1.4 KB ones in two datagrams) can be answered from its
//! first fragment alone.

use crate::config::Config;
use crate::crypto::hash::{ct_eq, hmac_with_key, HashAlg};
use crate::msgs::codec::{Codec, Reader};
use crate::msgs::enums::{ContentType, HandshakeType, ProtocolVersion};
use crate::msgs::handshake::{ClientHelloPrefix, HandshakeHeader};
use crate::msgs::record::{RecordHeader, Records, HEADER_LEN};
use ring::hmac;
use std::sync::Arc;

const MAC_LEN: usize = 16;

/// A cookie: the key window's low byte, then the truncated MAC.
pub const COOKIE_LEN: usize = 1 + MAC_LEN;

/// A HelloVerifyRequest datagram's length: record header, handshake header, server_version,
/// the cookie's length byte and the cookie.
pub const HVR_LEN: usize = HEADER_LEN + 12 + 2 + 1 + COOKIE_LEN;

/// A cookie, built on the stack: the front door must not allocate per peer.
pub type Cookie = [u8; COOKIE_LEN];

fn window_key(cfg: &Config, window: u64) -> hmac::Key {
    let secret = hmac::Key::new(HashAlg::Sha256.hmac_alg(), &cfg.cookie_secret.0);
    let derived = hmac_with_key(&secret, &[b"dtls cookie key", &window.to_be_bytes()]);
    hmac::Key::new(HashAlg::Sha256.hmac_alg(), derived.as_ref())
}

fn mac(cfg: &Config, window: u64, peer: &[u8], ch: &ClientHelloPrefix<'_>) -> [u8; MAC_LEN] {
    let key = window_key(cfg, window);
    let plen = (peer.len() as u32).to_be_bytes();
    let sid = [ch.session_id.len() as u8];
    let tag = hmac_with_key(
        &key,
        &[
            &plen,
            peer,
            &ch.version.to_be_bytes(),
            ch.random,
            &sid,
            ch.session_id,
        ],
    );
    let mut m = [0u8; MAC_LEN];
    m.copy_from_slice(&tag.as_ref()[..MAC_LEN]);
    m
}

fn window(cfg: &Config, now: u64) -> u64 {
    now / cfg.cookie_lifetime_ms.max(1)
}

/// A cookie for this peer and ClientHello at time `now`.
pub fn make_cookie(cfg: &Config, now: u64, peer: &[u8], ch: &ClientHelloPrefix<'_>) -> Cookie {
    let w = window(cfg, now);
    let mut c = [0u8; COOKIE_LEN];
    c[0] = w as u8;
    c[1..].copy_from_slice(&mac(cfg, w, peer, ch));
    c
}

/// Checks `ch.cookie`; valid for this window and the previous one.
pub fn verify_cookie(cfg: &Config, now: u64, peer: &[u8], ch: &ClientHelloPrefix<'_>) -> bool {
    if ch.cookie.len() != COOKIE_LEN {
        return false;
    }
    let w = window(cfg, now);
    let candidates = [Some(w), w.checked_sub(1)];
    candidates
        .into_iter()
        .flatten()
        .any(|cw| ch.cookie[0] == cw as u8 && ct_eq(&ch.cookie[1..], &mac(cfg, cw, peer, ch)))
}

/// Writes a HelloVerifyRequest datagram answering a ClientHello record into `out` and returns
/// its length ([`HVR_LEN`]), or `None` when `out` is shorter. It echoes the record sequence
/// number and message_seq (RFC 6347 §4.2.1) so the server keeps no state.
pub fn write_hello_verify_request(
    out: &mut [u8],
    record_seq: u64,
    msg_seq: u16,
    cookie: &Cookie,
) -> Option<usize> {
    let out = out.get_mut(..HVR_LEN)?;
    let body_len = 2 + 1 + COOKIE_LEN;
    // RFC 6347 §4.2.1: servers SHOULD use DTLS 1.0 here for compatibility.
    let version = ProtocolVersion::Dtls10.get();
    RecordHeader {
        content_type: ContentType::Handshake,
        version,
        epoch: 0,
        seq: record_seq,
        length: (HVR_LEN - HEADER_LEN) as u16,
    }
    .write_to(out);
    HandshakeHeader {
        msg_type: HandshakeType::HelloVerifyRequest,
        length: body_len as u32,
        msg_seq,
        frag_off: 0,
        frag_len: body_len as u32,
    }
    .write_to(&mut out[HEADER_LEN..HEADER_LEN + 12]);
    let body = &mut out[HEADER_LEN + 12..];
    body[..2].copy_from_slice(&version.to_be_bytes());
    body[2] = COOKIE_LEN as u8;
    body[3..].copy_from_slice(cookie);
    Some(HVR_LEN)
}

/// [`write_hello_verify_request`] into a new `Vec`, for a `Connection`'s own output queue.
pub fn hello_verify_request(record_seq: u64, msg_seq: u16, cookie: &Cookie) -> Vec<u8> {
    let mut out = vec![0u8; HVR_LEN];
    write_hello_verify_request(&mut out, record_seq, msg_seq, cookie);
    out
}

/// What to do with a datagram from an address that has no association yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The ClientHello carries a valid cookie (or cookies are off): create a server
    /// `Connection`, set its peer address, and feed it this datagram.
    Accept,
    /// Send the `n` bytes written to the output buffer (a HelloVerifyRequest) back to the peer.
    Reply(usize),
    /// Not a ClientHello we can use; ignore it.
    Drop,
}

/// The stateless front door for many peers on one socket.
///
/// ```
/// use dtls_proto::{Certificate, Config, server::{ServerFrontDoor, Verdict}};
/// let cfg = Config::builder().certificate(Certificate::generate("s").unwrap()).build().unwrap();
/// let door = ServerFrontDoor::new(cfg);
/// let mut out = [0u8; 256];
/// assert_eq!(door.prefilter(0, b"10.0.0.1:5000", b"junk", &mut out), Verdict::Drop);
/// ```
#[derive(Debug, Clone)]
pub struct ServerFrontDoor {
    cfg: Arc<Config>,
}

impl ServerFrontDoor {
    /// Uses the config's cookie secret and lifetime.
    pub fn new(cfg: Arc<Config>) -> Self {
        ServerFrontDoor { cfg }
    }

    /// Classifies a datagram from `peer` (any stable encoding of its transport address).
    pub fn prefilter(&self, now: u64, peer: &[u8], datagram: &[u8], out: &mut [u8]) -> Verdict {
        // Only the first record matters: a ClientHello's first fragment opens the datagram.
        let Some((hdr, body, _)) = Records::new(datagram).next() else {
            return Verdict::Drop;
        };
        if hdr.content_type != ContentType::Handshake || hdr.epoch != 0 || hdr.version >> 8 != 0xfe
        {
            return Verdict::Drop;
        }
        let mut r = Reader::new(body);
        let Some(hs) = HandshakeHeader::read(&mut r) else {
            return Verdict::Drop;
        };
        let Some(frag) = r.take(hs.frag_len as usize) else {
            return Verdict::Drop;
        };
        if hs.msg_type != HandshakeType::ClientHello || hs.frag_off != 0 {
            return Verdict::Drop;
        }
        let Some(prefix) = ClientHelloPrefix::read(frag) else {
            return Verdict::Drop;
        };
        if !self.cfg.cookie_exchange || verify_cookie(&self.cfg, now, peer, &prefix) {
            return Verdict::Accept;
        }
        let cookie = make_cookie(&self.cfg, now, peer, &prefix);
        match write_hello_verify_request(out, hdr.seq, hs.msg_seq, &cookie) {
            Some(n) => Verdict::Reply(n),
            None => Verdict::Drop,
        }
    }
}
