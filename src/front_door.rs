//! The stateless server front door: HelloVerifyRequest cookies (RFC 6347 §4.2.1).
//!
//! A cookie is an HMAC over the peer's transport address and the ClientHello fields that sit
//! in its first fragment (version, random, session id), keyed by a secret that rotates every
//! `cookie_lifetime`. Nothing is allocated for a peer until its cookie checks out, and a
//! fragmented ClientHello (browsers send 1.4 KB ones in two datagrams) can be answered from its
//! first fragment alone.

use crate::config::Config;
use crate::crypto::hash::{ct_eq, hmac_with_key, HashAlg};
use crate::handshake::reassembly::{Fragment, Insert, Reassembler};
use crate::msgs::codec::{Codec, Reader};
use crate::msgs::enums::{ContentType, HandshakeType, ProtocolVersion};
use crate::msgs::handshake::{ClientHello, ClientHelloPrefix, HandshakeHeader};
use crate::msgs::record::{RecordHeader, Records, HEADER_LEN};
use ring::hmac;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const MAC_LEN: usize = 16;

/// A cookie: the key window's low byte, then the truncated MAC.
pub const COOKIE_LEN: usize = 1 + MAC_LEN;

/// A HelloVerifyRequest datagram's length: record header, handshake header, server_version,
/// the cookie's length byte and the cookie.
pub const HVR_LEN: usize = HEADER_LEN + 12 + 2 + 1 + COOKIE_LEN;

/// A cookie, built on the stack: the front door must not allocate per peer.
pub type Cookie = [u8; COOKIE_LEN];

pub(crate) fn window_key(cfg: &Config, window: u64) -> hmac::Key {
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

pub(crate) fn window(cfg: &Config, now: u64) -> u64 {
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
    /// Partial ClientHellos for [`ServerFrontDoor::admit`] (empty unless DTLS 1.3 is on).
    pool: HelloPool,
    /// The reassembled ClientHello that [`Admission::Accept`] lends out.
    hello: Vec<u8>,
}

impl ServerFrontDoor {
    /// Uses the config's cookie secret and lifetime, and a ClientHello pool of
    /// [`DEFAULT_HELLO_POOL_BYTES`] (see [`ServerFrontDoor::with_pool`]).
    pub fn new(cfg: Arc<Config>) -> Self {
        Self::with_pool(cfg, DEFAULT_HELLO_POOL_BYTES, DEFAULT_MAX_HELLO_LEN)
    }

    /// Classifies a datagram from `peer` (any stable encoding of its transport address),
    /// statelessly, from the first ClientHello fragment: the DTLS 1.2 front door. A server with
    /// DTLS 1.3 enabled should use [`ServerFrontDoor::admit`] instead: a DTLS 1.3 cookie
    /// commits to the whole ClientHello, and a HelloVerifyRequest would push a client that
    /// offers both versions into a 1.2 handshake our downgrade sentinel then makes it refuse.
    /// Given such a config, this therefore admits every ClientHello's first fragment without a
    /// cookie: the `Connection` runs the cookie exchange itself (HelloRetryRequest or
    /// HelloVerifyRequest), so handshakes work, but state is allocated before the peer's
    /// address is proven.
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
        if !self.cfg.cookie_exchange
            || self.cfg.versions.contains(&ProtocolVersion::Dtls13)
            || verify_cookie(&self.cfg, now, peer, &prefix)
        {
            return Verdict::Accept;
        }
        let cookie = make_cookie(&self.cfg, now, peer, &prefix);
        match write_hello_verify_request(out, hdr.seq, hs.msg_seq, &cookie) {
            Some(n) => Verdict::Reply(n),
            None => Verdict::Drop,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The front door of a server with DTLS 1.3 enabled: reassemble, then decide.
//
// A DTLS 1.3 cookie commits to the hash of the whole ClientHello1 (RFC 8446 §4.4.1) and the
// version offer (supported_versions) may sit in any fragment, so nothing can be decided from a
// first fragment. Partial ClientHellos of peers without a Connection wait in one pool shared by
// all peers, bounded in total and evicted oldest first: a flood from any number of addresses
// costs at most the pool, and only slows genuine clients whose fragments are evicted before
// their last one arrives (their retransmission tries again).
// ---------------------------------------------------------------------------------------------

/// Default byte budget of [`ServerFrontDoor`]'s ClientHello pool: room for some 380
/// ClientHellos of 1.4 KB (a browser's, with an X25519MLKEM768 key share) in reassembly at once.
pub const DEFAULT_HELLO_POOL_BYTES: usize = 1024 * 1024;

/// Default bound on one pooled ClientHello (and the config's `max_handshake_message` bounds it
/// too). Real ones are 0.2 to 2 KB; a few post-quantum key shares still fit.
pub const DEFAULT_MAX_HELLO_LEN: usize = 16 * 1024;

/// What a pool entry costs besides its message bytes and (twice) the peer address, measured
/// (tests/front_door13.rs counts the heap): the reassembler's own map node (a B-tree leaf
/// sized for 11 slots, about 650 bytes), the entry in the pool's B-tree and its index slot
/// (about 250 bytes, more while the index grows), the range list, rounded up. Charged so that
/// the budget bounds the real heap, also for a flood of fragments claiming tiny messages.
pub const HELLO_POOL_ENTRY_OVERHEAD: usize = 1280;

/// How long a partial ClientHello waits for its other fragments. A client sends them back to
/// back, and its retransmission (after a second or so) fills the gaps of the same entry; an
/// entry this old is abandoned, or poisoned by a forged fragment that its genuine bytes now
/// disagree with, so it goes and the next retransmission starts afresh.
pub const HELLO_POOL_MAX_AGE_MS: u64 = 5_000;

/// Peer address encodings longer than this are refused (they would only cost pool space).
const MAX_PEER_LEN: usize = 256;

/// The largest handshake fragment one plaintext record carries (2^14 minus its header).
const MAX_RECORD_FRAGMENT: usize = (1 << 14) - 12;

/// What [`ServerFrontDoor::admit`] says to do with a datagram from an address that has no
/// association yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission<'a> {
    /// The ClientHello carries a valid cookie (or cookies are off): create a server
    /// `Connection`, `set_peer_address` it with the same address bytes, and feed it these
    /// bytes with `handle_datagram`. They are the datagram itself when it held the whole
    /// ClientHello, else a datagram the door built holding the reassembled ClientHello (the
    /// fragments that came before were consumed by the door).
    Accept(&'a [u8]),
    /// Send the `n` bytes written to the output buffer (a HelloVerifyRequest or a
    /// HelloRetryRequest) back to the peer; nothing is kept for it.
    Reply(usize),
    /// Part of a ClientHello, held in the pool until the rest arrives: nothing to do.
    Held,
    /// Not a ClientHello this server can use; ignore it.
    Drop,
}

/// Pool counters, for monitoring and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HelloPoolStats {
    /// Partial ClientHellos held now.
    pub entries: usize,
    /// Bytes charged now (message lengths, twice the address and [`HELLO_POOL_ENTRY_OVERHEAD`]
    /// each);
    /// never above `capacity`.
    pub bytes: usize,
    /// The budget.
    pub capacity: usize,
    /// The most `bytes` has been.
    pub peak_bytes: usize,
    /// Entries evicted (oldest first) to make room for newer ones.
    pub evicted: u64,
    /// Entries dropped after [`HELLO_POOL_MAX_AGE_MS`] without completing.
    pub expired: u64,
    /// Fragments refused: malformed, too large, or disagreeing with what is held.
    pub refused: u64,
}

/// One partial ClientHello.
#[derive(Clone)]
struct Held {
    /// The peer address, then message_seq: the pool's key.
    key: Vec<u8>,
    /// The record sequence number of the first fragment seen, echoed in our answer.
    record_seq: u64,
    /// When the first fragment arrived.
    created: u64,
    reasm: Reassembler,
    charge: usize,
}

/// The shared reassembly pool: entries by arrival number (the first is the oldest, evicted
/// first) and an index by (peer, message_seq), so a flood costs a hash lookup per datagram,
/// not a scan. The index hashes with a per-process random key (SipHash), as its keys come
/// from the network.
#[derive(Clone)]
struct HelloPool {
    entries: BTreeMap<u64, Held>,
    index: HashMap<Vec<u8>, u64>,
    next_id: u64,
    max_hello: usize,
    stats: HelloPoolStats,
}

/// Shows the counters, not the buffered bytes.
impl std::fmt::Debug for HelloPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelloPool")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// What the pool did with a fragment.
enum Pooled {
    /// Held, the message still incomplete.
    Held,
    /// The message is complete (its body and the first fragment's record sequence number).
    Complete(Vec<u8>, u64),
    /// Malformed, too large, or disagreeing with what is held: nothing changed.
    Refused,
}

/// A complete ClientHello out of a datagram or the pool.
struct Complete<'b> {
    body: Cow<'b, [u8]>,
    msg_seq: u16,
    record_seq: u64,
    /// Came whole in this datagram (feed the datagram itself on Accept).
    in_datagram: bool,
}

impl HelloPool {
    fn new(capacity: usize, max_hello: usize) -> Self {
        HelloPool {
            entries: BTreeMap::new(),
            index: HashMap::new(),
            next_id: 0,
            max_hello,
            stats: HelloPoolStats {
                capacity,
                ..HelloPoolStats::default()
            },
        }
    }

    fn remove(&mut self, id: u64) -> Option<Held> {
        let e = self.entries.remove(&id)?;
        self.index.remove(&e.key);
        self.stats.bytes = self.stats.bytes.saturating_sub(e.charge);
        self.stats.entries = self.entries.len();
        Some(e)
    }

    fn oldest(&self) -> Option<(u64, u64)> {
        self.entries
            .first_key_value()
            .map(|(&id, e)| (id, e.created))
    }

    /// Adds a fragment; a completed message leaves the pool.
    fn insert(
        &mut self,
        now: u64,
        peer: &[u8],
        record_seq: u64,
        h: &HandshakeHeader,
        data: &[u8],
    ) -> Pooled {
        // Arrival order is age order: the expired ones come first.
        while let Some((id, created)) = self.oldest() {
            if now.saturating_sub(created) <= HELLO_POOL_MAX_AGE_MS {
                break;
            }
            self.remove(id);
            self.stats.expired += 1;
        }
        if peer.len() > MAX_PEER_LEN {
            self.stats.refused += 1;
            return Pooled::Refused;
        }
        // The key on the stack: looking up allocates nothing.
        let mut key_buf = [0u8; MAX_PEER_LEN + 2];
        let key_len = peer.len() + 2;
        key_buf[..peer.len()].copy_from_slice(peer);
        key_buf[peer.len()..key_len].copy_from_slice(&h.msg_seq.to_be_bytes());
        let key = &key_buf[..key_len];
        let frag = Fragment {
            msg_type: h.msg_type.get(),
            length: h.length,
            msg_seq: h.msg_seq,
            frag_off: h.frag_off,
            frag_len: h.frag_len,
            epoch: 0,
            data,
        };
        let id = match self.index.get(key).copied() {
            Some(id) => {
                let Some(e) = self.entries.get_mut(&id) else {
                    return Pooled::Refused;
                };
                if let Insert::Dropped(_) = e.reasm.insert(frag) {
                    // Disagrees with what is held (RFC 9147 §5.5): keep what came first.
                    self.stats.refused += 1;
                    return Pooled::Refused;
                }
                id
            }
            None => {
                // The reassembler's own header checks, done before anything is evicted for it.
                let length = h.length as usize;
                let well_formed = data.len() == h.frag_len as usize
                    && h.frag_off
                        .checked_add(h.frag_len)
                        .is_some_and(|e| e <= h.length)
                    && h.frag_len > 0
                    && length <= self.max_hello;
                // The key is held twice (entry and index).
                let charge = HELLO_POOL_ENTRY_OVERHEAD + 2 * key_len + length;
                if !well_formed || charge > self.stats.capacity {
                    self.stats.refused += 1;
                    return Pooled::Refused;
                }
                // Oldest first: a flood pushes out older partial ClientHellos, and never more
                // than the budget stays allocated.
                while self.stats.bytes + charge > self.stats.capacity {
                    let Some((oldest, _)) = self.oldest() else {
                        return Pooled::Refused;
                    };
                    self.remove(oldest);
                    self.stats.evicted += 1;
                }
                let mut reasm = Reassembler::new(self.max_hello, self.max_hello, 0);
                reasm.set_next_seq(h.msg_seq);
                if reasm.insert(frag) != Insert::Accepted {
                    self.stats.refused += 1;
                    return Pooled::Refused;
                }
                let id = self.next_id;
                self.next_id += 1;
                self.index.insert(key.to_vec(), id);
                self.entries.insert(
                    id,
                    Held {
                        key: key.to_vec(),
                        record_seq,
                        created: now,
                        reasm,
                        charge,
                    },
                );
                self.stats.bytes += charge;
                self.stats.peak_bytes = self.stats.peak_bytes.max(self.stats.bytes);
                self.stats.entries = self.entries.len();
                id
            }
        };
        let Some(msg) = self.entries.get_mut(&id).and_then(|e| e.reasm.pop()) else {
            return Pooled::Held;
        };
        match self.remove(id) {
            Some(e) => Pooled::Complete(msg.body, e.record_seq),
            None => Pooled::Refused,
        }
    }
}

impl ServerFrontDoor {
    /// A front door whose ClientHello pool (used by [`ServerFrontDoor::admit`] when the config
    /// enables DTLS 1.3) holds at most `pool_bytes` (see [`HelloPoolStats::bytes`]) and
    /// ClientHellos of at most `max_hello_len` bytes (and the config's
    /// `max_handshake_message`).
    pub fn with_pool(cfg: Arc<Config>, pool_bytes: usize, max_hello_len: usize) -> Self {
        let max_hello = max_hello_len.min(cfg.limits.max_handshake_message);
        ServerFrontDoor {
            cfg,
            pool: HelloPool::new(pool_bytes, max_hello),
            hello: Vec::new(),
        }
    }

    /// The pool's counters.
    pub fn pool_stats(&self) -> HelloPoolStats {
        self.pool.stats
    }

    /// Classifies a datagram from `peer` (any stable encoding of its transport address, at
    /// most 256 bytes) that has no association yet; route datagrams of known peers to their
    /// `Connection`.
    ///
    /// With DTLS 1.3 enabled the decision is taken on the whole ClientHello, reassembled in
    /// the door's pool when it spans datagrams: a DTLS 1.3 ClientHello without a cookie gets
    /// a HelloRetryRequest with a stateless cookie (RFC 9147 §5.1), one with a valid cookie is
    /// accepted, a DTLS 1.2 one gets [`ServerFrontDoor::prefilter`]'s HelloVerifyRequest
    /// treatment. Without DTLS 1.3 this is [`ServerFrontDoor::prefilter`]: stateless, decided
    /// from the first fragment.
    ///
    /// ```
    /// use dtls_proto::{Admission, Certificate, Config, Connection, NamedGroup, ProtocolVersion,
    ///     PeerVerification, Role, ServerFrontDoor};
    /// let v13 = [ProtocolVersion::Dtls12, ProtocolVersion::Dtls13];
    /// let groups = [NamedGroup::X25519MlKem768, NamedGroup::X25519];
    /// let scfg = Config::builder().certificate(Certificate::generate("s").unwrap())
    ///     .versions(&v13).groups(&groups).build().unwrap();
    /// let ccfg = Config::builder().peer_verification(PeerVerification::DangerousAcceptAny)
    ///     .versions(&v13).groups(&groups).build().unwrap();
    /// let mut door = ServerFrontDoor::new(scfg.clone());
    /// let mut client = Connection::new(ccfg, Role::Client, None, 0).unwrap();
    /// let (peer, mut buf, mut out) = (b"192.0.2.1:4444", [0u8; 1500], [0u8; 256]);
    /// let mut server: Option<Connection> = None;
    /// for _ in 0..10 {
    ///     while let Some(n) = client.poll_transmit(0, &mut buf).unwrap() {
    ///         if let Some(s) = &mut server {
    ///             s.handle_datagram(0, &buf[..n]).unwrap();
    ///             continue;
    ///         }
    ///         match door.admit(0, peer, &buf[..n], &mut out) {
    ///             Admission::Reply(m) => client.handle_datagram(0, &out[..m]).unwrap(),
    ///             Admission::Accept(hello) => {
    ///                 let mut s = Connection::new(scfg.clone(), Role::Server, None, 0).unwrap();
    ///                 s.set_peer_address(peer);
    ///                 s.handle_datagram(0, hello).unwrap();
    ///                 server = Some(s);
    ///             }
    ///             Admission::Held | Admission::Drop => {}
    ///         }
    ///     }
    ///     while let Some(n) = server.as_mut().and_then(|s| s.poll_transmit(0, &mut buf).unwrap()) {
    ///         client.handle_datagram(0, &buf[..n]).unwrap();
    ///     }
    /// }
    /// assert_eq!(client.negotiated().unwrap().version, ProtocolVersion::Dtls13);
    /// ```
    pub fn admit<'a>(
        &'a mut self,
        now: u64,
        peer: &[u8],
        datagram: &'a [u8],
        out: &mut [u8],
    ) -> Admission<'a> {
        if !self.cfg.versions.contains(&ProtocolVersion::Dtls13) {
            return match self.prefilter(now, peer, datagram, out) {
                Verdict::Accept => Admission::Accept(datagram),
                Verdict::Reply(n) => Admission::Reply(n),
                Verdict::Drop => Admission::Drop,
            };
        }
        let mut held = false;
        let mut complete = None;
        for (hdr, body, _) in Records::new(datagram) {
            if hdr.content_type != ContentType::Handshake
                || hdr.epoch != 0
                || hdr.version >> 8 != 0xfe
            {
                continue;
            }
            let mut r = Reader::new(body);
            while complete.is_none() {
                let Some(hs) = HandshakeHeader::read(&mut r) else {
                    break;
                };
                let Some(frag) = r.take(hs.frag_len as usize) else {
                    break;
                };
                if hs.msg_type != HandshakeType::ClientHello {
                    continue;
                }
                if hs.frag_off == 0 && hs.frag_len == hs.length {
                    complete = Some(Complete {
                        body: Cow::Borrowed(frag),
                        msg_seq: hs.msg_seq,
                        record_seq: hdr.seq,
                        in_datagram: true,
                    });
                } else {
                    match self.pool.insert(now, peer, hdr.seq, &hs, frag) {
                        Pooled::Complete(body, record_seq) => {
                            complete = Some(Complete {
                                body: Cow::Owned(body),
                                msg_seq: hs.msg_seq,
                                record_seq,
                                in_datagram: false,
                            })
                        }
                        Pooled::Held => held = true,
                        Pooled::Refused => {}
                    }
                }
            }
            if complete.is_some() {
                break;
            }
        }
        let Some(c) = complete else {
            return if held {
                Admission::Held
            } else {
                Admission::Drop
            };
        };
        match self.decide(now, peer, &c, out) {
            Verdict::Reply(n) => Admission::Reply(n),
            Verdict::Drop => Admission::Drop,
            Verdict::Accept if c.in_datagram => Admission::Accept(datagram),
            Verdict::Accept => {
                self.hello.clear();
                write_hello_records(&mut self.hello, c.record_seq, c.msg_seq, &c.body);
                Admission::Accept(&self.hello)
            }
        }
    }

    /// The answer to a whole ClientHello.
    fn decide(&self, now: u64, peer: &[u8], c: &Complete<'_>, out: &mut [u8]) -> Verdict {
        let Ok(ch) = ClientHello::decode(&c.body) else {
            return Verdict::Drop;
        };
        if crate::dtls13::server::offers_13(&ch) {
            use crate::dtls13::server::{decide_hello, hello_retry_request_body, HelloAction};
            return match decide_hello(&self.cfg, now, peer, &ch) {
                Ok(HelloAction::Proceed { .. }) => Verdict::Accept,
                Ok(HelloAction::Retry {
                    suite,
                    group,
                    name_group,
                }) => {
                    let hrr = hello_retry_request_body(
                        &self.cfg, now, peer, &ch, &c.body, suite, group, name_group,
                    );
                    match write_handshake_record(
                        out,
                        HandshakeType::ServerHello,
                        c.record_seq,
                        c.msg_seq,
                        &hrr,
                    ) {
                        Some(n) => Verdict::Reply(n),
                        None => Verdict::Drop,
                    }
                }
                // A Connection would answer with an alert; the door keeps quiet and keeps
                // nothing (RFC 9147 §5.1 lets the client start over).
                Err(_) => Verdict::Drop,
            };
        }
        if !self.cfg.versions.contains(&ProtocolVersion::Dtls12) {
            return Verdict::Drop;
        }
        let Some(prefix) = ClientHelloPrefix::read(&c.body) else {
            return Verdict::Drop;
        };
        if !self.cfg.cookie_exchange || verify_cookie(&self.cfg, now, peer, &prefix) {
            return Verdict::Accept;
        }
        let cookie = make_cookie(&self.cfg, now, peer, &prefix);
        match write_hello_verify_request(out, c.record_seq, c.msg_seq, &cookie) {
            Some(n) => Verdict::Reply(n),
            None => Verdict::Drop,
        }
    }
}

/// Writes one plaintext epoch-0 record holding a whole handshake message into `out`.
fn write_handshake_record(
    out: &mut [u8],
    msg_type: HandshakeType,
    record_seq: u64,
    msg_seq: u16,
    body: &[u8],
) -> Option<usize> {
    let n = HEADER_LEN + 12 + body.len();
    let out = out.get_mut(..n)?;
    RecordHeader {
        content_type: ContentType::Handshake,
        version: ProtocolVersion::Dtls12.get(),
        epoch: 0,
        seq: record_seq,
        length: u16::try_from(n - HEADER_LEN).ok()?,
    }
    .write_to(out);
    let len = u32::try_from(body.len()).ok()?;
    HandshakeHeader {
        msg_type,
        length: len,
        msg_seq,
        frag_off: 0,
        frag_len: len,
    }
    .write_to(&mut out[HEADER_LEN..HEADER_LEN + 12]);
    out[HEADER_LEN + 12..].copy_from_slice(body);
    Some(n)
}

/// Appends a datagram carrying the ClientHello `body` as epoch-0 records (one unless it
/// exceeds a record), for a new `Connection` to reassemble as if the client had sent it so.
fn write_hello_records(out: &mut Vec<u8>, record_seq: u64, msg_seq: u16, body: &[u8]) {
    let mut off = 0usize;
    for (i, chunk) in body.chunks(MAX_RECORD_FRAGMENT).enumerate() {
        let start = out.len();
        out.resize(start + HEADER_LEN + 12 + chunk.len(), 0);
        let rec = &mut out[start..];
        RecordHeader {
            content_type: ContentType::Handshake,
            version: ProtocolVersion::Dtls12.get(),
            epoch: 0,
            seq: record_seq.wrapping_add(i as u64),
            length: (12 + chunk.len()) as u16,
        }
        .write_to(rec);
        HandshakeHeader {
            msg_type: HandshakeType::ClientHello,
            length: body.len() as u32,
            msg_seq,
            frag_off: off as u32,
            frag_len: chunk.len() as u32,
        }
        .write_to(&mut rec[HEADER_LEN..HEADER_LEN + 12]);
        rec[HEADER_LEN + 12..].copy_from_slice(chunk);
        off += chunk.len();
    }
}
