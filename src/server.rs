//! The stateless server front door: HelloVerifyRequest cookies (RFC 6347 §4.2.1).
//!
//! A cookie is an HMAC over the peer's transport address and the ClientHello fields that sit
//! in its first fragment (version, random, session id), keyed by a secret that rotates every
//! `cookie_lifetime`. Nothing is allocated for a peer until its cookie checks out, and a
//! fragmented ClientHello (browsers send 1.4 KB ones in two datagrams) can be answered from its
//! first fragment alone.

use crate::config::Config;
use crate::crypto::hash::{ct_eq, hmac, HashAlg};
use crate::msgs::codec::{Codec, Reader, Writer};
use crate::msgs::enums::{ContentType, HandshakeType, ProtocolVersion};
use crate::msgs::handshake::{ClientHelloPrefix, HandshakeHeader, HelloVerifyRequest};
use crate::msgs::record::{RecordHeader, Records};
use std::sync::Arc;

const MAC_LEN: usize = 16;

fn window_key(cfg: &Config, window: u64) -> Vec<u8> {
    hmac(
        HashAlg::Sha256,
        &cfg.cookie_secret.0,
        &[b"dtls cookie key", &window.to_be_bytes()],
    )
}

fn mac(cfg: &Config, window: u64, peer: &[u8], ch: &ClientHelloPrefix<'_>) -> Vec<u8> {
    let key = window_key(cfg, window);
    let plen = (peer.len() as u32).to_be_bytes();
    let sid = [ch.session_id.len() as u8];
    let mut m = hmac(
        HashAlg::Sha256,
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
    m.truncate(MAC_LEN);
    m
}

fn window(cfg: &Config, now: u64) -> u64 {
    now / cfg.cookie_lifetime_ms.max(1)
}

/// A cookie for this peer and ClientHello at time `now`.
pub fn make_cookie(cfg: &Config, now: u64, peer: &[u8], ch: &ClientHelloPrefix<'_>) -> Vec<u8> {
    let w = window(cfg, now);
    let mut c = vec![w as u8];
    c.extend_from_slice(&mac(cfg, w, peer, ch));
    c
}

/// Checks `ch.cookie`; valid for this window and the previous one.
pub fn verify_cookie(cfg: &Config, now: u64, peer: &[u8], ch: &ClientHelloPrefix<'_>) -> bool {
    if ch.cookie.len() != 1 + MAC_LEN {
        return false;
    }
    let w = window(cfg, now);
    let candidates = [Some(w), w.checked_sub(1)];
    candidates
        .into_iter()
        .flatten()
        .any(|cw| ch.cookie[0] == cw as u8 && ct_eq(&ch.cookie[1..], &mac(cfg, cw, peer, ch)))
}

/// A HelloVerifyRequest datagram answering a ClientHello record. It echoes the record
/// sequence number and message_seq (RFC 6347 §4.2.1) so the server keeps no state.
pub fn hello_verify_request(record_seq: u64, msg_seq: u16, cookie: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    HelloVerifyRequest {
        // RFC 6347 §4.2.1: servers SHOULD use DTLS 1.0 here for compatibility.
        version: ProtocolVersion::Dtls10,
        cookie: cookie.to_vec(),
    }
    .encode(&mut body);
    let mut payload = Vec::with_capacity(12 + body.len());
    HandshakeHeader {
        msg_type: HandshakeType::HelloVerifyRequest,
        length: body.len() as u32,
        msg_seq,
        frag_off: 0,
        frag_len: body.len() as u32,
    }
    .encode(&mut payload);
    payload.extend_from_slice(&body);
    let mut out = Vec::with_capacity(13 + payload.len());
    RecordHeader {
        content_type: ContentType::Handshake,
        version: ProtocolVersion::Dtls10.get(),
        epoch: 0,
        seq: record_seq,
        length: payload.len() as u16,
    }
    .encode(&mut out);
    out.put(&payload);
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
        let hvr = hello_verify_request(
            hdr.seq,
            hs.msg_seq,
            &make_cookie(&self.cfg, now, peer, &prefix),
        );
        match out.get_mut(..hvr.len()) {
            Some(dst) => {
                dst.copy_from_slice(&hvr);
                Verdict::Reply(hvr.len())
            }
            None => Verdict::Drop,
        }
    }
}
