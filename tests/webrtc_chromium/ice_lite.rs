//! A minimal ICE-lite WebRTC endpoint on one UDP socket, for the browser tests: STUN binding
//! responses (RFC 8489 with short-term credentials, RFC 8445 §2.5 lite), RFC 7983 demux, and
//! our DTLS engine as the DTLS server with the browser's SDP fingerprint pinned (RFC 8842).
//!
//! It answers one offer from one browser. It does not send checks of its own (a lite agent
//! never does) and keeps no candidate pairs: it answers every authenticated check from wherever
//! it came, and DTLS follows the address that sent the first ClientHello.

use dtls_proto::demux::{classify, PacketKind};
use dtls_proto::{Certificate, Config, Connection, Event, HashAlg, Negotiated, Role};
use ring::hmac;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const MAGIC: u32 = 0x2112_A442;
const BINDING_REQUEST: u16 = 0x0001;
const BINDING_SUCCESS: u16 = 0x0101;
const ATTR_USERNAME: u16 = 0x0006;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
const ATTR_USE_CANDIDATE: u16 = 0x0025;
const ATTR_FINGERPRINT: u16 = 0x8028;
/// RFC 8489 §14.7: the CRC-32 is XORed with this so STUN is not mistaken for other protocols.
const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// What the test needs from the browser's offer.
#[derive(Debug, Clone)]
pub struct Offer {
    pub ice_ufrag: String,
    /// Unused by a lite agent, which sends no checks of its own (RFC 8445 §2.5).
    #[allow(dead_code)]
    pub ice_pwd: String,
    /// The `a=fingerprint` value, e.g. `sha-256 AB:CD:..`.
    pub fingerprint: String,
    pub setup: String,
    pub mid: String,
    /// Payload type of opus/48000/2.
    pub opus_pt: u8,
    /// The offer's id for the `sdes:mid` RTP header extension, echoed in the answer so media
    /// we send back is routed by MID (RFC 8843 §15).
    pub mid_extmap: Option<u8>,
}

impl Offer {
    /// Reads the first (only) audio section of a browser offer. Session-level ICE and
    /// fingerprint attributes count too.
    pub fn parse(sdp: &str) -> Result<Offer, String> {
        let attr = |name: &str| -> Option<String> {
            sdp.lines()
                .map(str::trim)
                .find_map(|l| l.strip_prefix(&format!("a={name}:")).map(str::to_string))
        };
        let need = |name: &str| attr(name).ok_or_else(|| format!("offer has no a={name}"));
        let opus_pt = sdp
            .lines()
            .find_map(|l| {
                let rest = l.trim().strip_prefix("a=rtpmap:")?;
                let (pt, codec) = rest.split_once(' ')?;
                codec
                    .eq_ignore_ascii_case("opus/48000/2")
                    .then(|| pt.parse().ok())?
            })
            .ok_or("offer has no opus/48000/2")?;
        let mid_extmap = sdp.lines().find_map(|l| {
            let rest = l.trim().strip_prefix("a=extmap:")?;
            let (id, uri) = rest.split_once(' ')?;
            (uri.trim() == "urn:ietf:params:rtp-hdrext:sdes:mid")
                .then(|| id.split('/').next()?.parse().ok())?
        });
        Ok(Offer {
            ice_ufrag: need("ice-ufrag")?,
            ice_pwd: need("ice-pwd")?,
            fingerprint: need("fingerprint")?,
            setup: need("setup")?,
            mid: need("mid")?,
            opus_pt,
            mid_extmap,
        })
    }
}

/// Our side of the session description.
#[derive(Debug, Clone)]
pub struct Local {
    pub ice_ufrag: String,
    pub ice_pwd: String,
    /// Our certificate's `sha-256 AB:CD:..`.
    pub fingerprint: String,
    pub addr: SocketAddr,
}

/// The answer: ice-lite, our credentials and fingerprint, `a=setup:{setup}` (`passive`: we are
/// the DTLS server; `active`: the client, RFC 5763 §5), one host candidate, opus only.
/// `direction` is `recvonly` or `sendrecv`.
pub fn answer(offer: &Offer, local: &Local, direction: &str, setup: &str) -> String {
    let ip = local.addr.ip();
    let port = local.addr.port();
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push_str("\r\n");
    };
    line("v=0".into());
    line(format!("o=- 4611731400430051336 2 IN IP4 {ip}"));
    line("s=-".into());
    line("t=0 0".into());
    // RFC 8445 §5.3: the lite agent says so at session level.
    line("a=ice-lite".into());
    line(format!("a=group:BUNDLE {}", offer.mid));
    line(format!(
        "m=audio {port} UDP/TLS/RTP/SAVPF {}",
        offer.opus_pt
    ));
    line(format!("c=IN IP4 {ip}"));
    line(format!("a=mid:{}", offer.mid));
    line(format!("a=ice-ufrag:{}", local.ice_ufrag));
    line(format!("a=ice-pwd:{}", local.ice_pwd));
    line(format!("a=fingerprint:{}", local.fingerprint));
    line(format!("a=setup:{setup}"));
    line(format!("a={direction}"));
    line("a=rtcp-mux".into());
    if let Some(id) = offer.mid_extmap {
        line(format!("a=extmap:{id} urn:ietf:params:rtp-hdrext:sdes:mid"));
    }
    line(format!("a=rtpmap:{} opus/48000/2", offer.opus_pt));
    line(format!(
        "a=candidate:1 1 udp 2130706431 {ip} {port} typ host"
    ));
    line("a=end-of-candidates".into());
    s
}

/// A random ICE string of `n` characters from the ice-char set (RFC 8839 §5.4).
pub fn ice_string(n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut raw = vec![0u8; n];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw).expect("system RNG");
    raw.iter()
        .map(|b| CHARS[*b as usize % 64] as char)
        .collect()
}

/// A parsed STUN message: type, transaction id, attributes with their offsets.
struct Stun<'a> {
    msg_type: u16,
    txid: [u8; 12],
    attrs: Vec<(u16, &'a [u8], usize)>,
    raw: &'a [u8],
}

fn parse_stun(b: &[u8]) -> Option<Stun<'_>> {
    if b.len() < 20 || b[0] & 0xc0 != 0 {
        return None;
    }
    let msg_type = u16::from_be_bytes([b[0], b[1]]);
    let len = u16::from_be_bytes([b[2], b[3]]) as usize;
    if u32::from_be_bytes([b[4], b[5], b[6], b[7]]) != MAGIC || len + 20 != b.len() || len % 4 != 0
    {
        return None;
    }
    let mut txid = [0u8; 12];
    txid.copy_from_slice(&b[8..20]);
    let mut attrs = Vec::new();
    let mut off = 20;
    while off + 4 <= b.len() {
        let t = u16::from_be_bytes([b[off], b[off + 1]]);
        let l = u16::from_be_bytes([b[off + 2], b[off + 3]]) as usize;
        let v = b.get(off + 4..off + 4 + l)?;
        attrs.push((t, v, off));
        off += 4 + l.div_ceil(4) * 4;
    }
    (off == b.len()).then_some(Stun {
        msg_type,
        txid,
        attrs,
        raw: b,
    })
}

impl Stun<'_> {
    fn attr(&self, t: u16) -> Option<(&[u8], usize)> {
        self.attrs
            .iter()
            .find(|(at, _, _)| *at == t)
            .map(|(_, v, off)| (*v, *off))
    }
}

/// The message up to `upto`, with its length field rewritten to end `extra` bytes past it:
/// the input to MESSAGE-INTEGRITY and FINGERPRINT (RFC 8489 §14.5, §14.7).
fn covered(msg: &[u8], upto: usize, extra: usize) -> Vec<u8> {
    let mut m = msg[..upto].to_vec();
    let len = (upto + extra - 20) as u16;
    m[2..4].copy_from_slice(&len.to_be_bytes());
    m
}

fn fingerprint_of(m: &[u8]) -> u32 {
    crc32fast::hash(m) ^ FINGERPRINT_XOR
}

/// Checks a request's MESSAGE-INTEGRITY with `pwd` and its FINGERPRINT.
fn stun_authentic(s: &Stun<'_>, key: &hmac::Key) -> bool {
    let Some((mi, mi_off)) = s.attr(ATTR_MESSAGE_INTEGRITY) else {
        return false;
    };
    if hmac::verify(key, &covered(s.raw, mi_off, 24), mi).is_err() {
        return false;
    }
    match s.attr(ATTR_FINGERPRINT) {
        Some((fp, fp_off)) => {
            fp.len() == 4
                && u32::from_be_bytes([fp[0], fp[1], fp[2], fp[3]])
                    == fingerprint_of(&covered(s.raw, fp_off, 8))
        }
        None => true,
    }
}

/// A Binding success response: XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT.
fn binding_success(txid: &[u8; 12], from: SocketAddr, key: &hmac::Key) -> Vec<u8> {
    let mut m = Vec::with_capacity(80);
    m.extend_from_slice(&BINDING_SUCCESS.to_be_bytes());
    m.extend_from_slice(&0u16.to_be_bytes());
    m.extend_from_slice(&MAGIC.to_be_bytes());
    m.extend_from_slice(txid);
    let SocketAddr::V4(v4) = from else {
        unreachable!("the endpoint binds IPv4 loopback only")
    };
    m.extend_from_slice(&ATTR_XOR_MAPPED_ADDRESS.to_be_bytes());
    m.extend_from_slice(&8u16.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    m.extend_from_slice(&(v4.port() ^ (MAGIC >> 16) as u16).to_be_bytes());
    m.extend_from_slice(&(u32::from(*v4.ip()) ^ MAGIC).to_be_bytes());
    let mi_off = m.len();
    let tag = hmac::sign(key, &covered(&m, mi_off, 24));
    m.extend_from_slice(&ATTR_MESSAGE_INTEGRITY.to_be_bytes());
    m.extend_from_slice(&20u16.to_be_bytes());
    m.extend_from_slice(tag.as_ref());
    let fp_off = m.len();
    let crc = fingerprint_of(&covered(&m, fp_off, 8));
    m.extend_from_slice(&ATTR_FINGERPRINT.to_be_bytes());
    m.extend_from_slice(&4u16.to_be_bytes());
    m.extend_from_slice(&crc.to_be_bytes());
    let len = (m.len() - 20) as u16;
    m[2..4].copy_from_slice(&len.to_be_bytes());
    m
}

/// What the endpoint saw, for the test's assertions.
#[derive(Debug, Default)]
pub struct Report {
    /// Binding requests answered (authenticated, addressed to our ufrag).
    pub stun_answered: u32,
    /// Binding requests dropped: bad integrity, wrong username, malformed.
    pub stun_refused: u32,
    /// When the browser first nominated the pair (USE-CANDIDATE), in ms from the start.
    pub nominated_at_ms: Option<u64>,
    /// Datagrams the demux classified as DTLS, and as RTP/RTCP.
    pub dtls_datagrams: u32,
    pub rtp_rtcp_datagrams: u32,
    /// The handshake's outcome.
    pub negotiated: Option<Negotiated>,
    /// The engine error that ended the association, if one did.
    pub dtls_error: Option<String>,
    /// Whether the browser's certificate matched the pinned SDP fingerprint (the engine only
    /// connects when it does; checked here again from the DER).
    pub peer_cert_matches_offer: bool,
    /// Length of the SRTP keying material the engine exported.
    pub srtp_key_material_len: usize,
    /// HelloVerifyRequests our server sent (the 1.2 cookie exchange).
    pub hello_verify_requests: u64,
    /// The browser's first DTLS datagram: its size, and the ClientHello's length and the
    /// length of the fragment it carries (smaller when the ClientHello spans datagrams).
    pub first_client_hello: Option<(usize, u32, u32)>,
}

/// (datagram size, message length, fragment length) of a datagram that opens with a
/// ClientHello fragment (RFC 6347 §4.2.2 handshake header after the 13-byte record header).
fn client_hello_shape(d: &[u8]) -> Option<(usize, u32, u32)> {
    let hs = d.get(13..25)?;
    let u24 = |b: &[u8]| u32::from_be_bytes([0, b[0], b[1], b[2]]);
    (d[0] == 22 && hs[0] == 1).then(|| (d.len(), u24(&hs[1..4]), u24(&hs[9..12])))
}

/// The endpoint, running on its own thread until stopped.
pub struct Endpoint {
    pub local: Local,
    /// Our DTLS role: `Server` unless set before [`Endpoint::start`]. As the client we send
    /// the ClientHello once the browser's first connectivity check has been answered.
    pub role: Role,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Report>>,
    cfg: Arc<Config>,
    socket: Option<UdpSocket>,
}

impl Endpoint {
    /// Binds 127.0.0.1:0 and prepares our certificate and credentials. `cfg` must hold the
    /// certificate whose fingerprint `fingerprint` is.
    pub fn bind(cfg: Arc<Config>, cert_fingerprint: String) -> Endpoint {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        socket
            .set_read_timeout(Some(Duration::from_millis(10)))
            .unwrap();
        Endpoint {
            local: Local {
                ice_ufrag: ice_string(8),
                ice_pwd: ice_string(24),
                fingerprint: cert_fingerprint,
                addr: socket.local_addr().unwrap(),
            },
            role: Role::Server,
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
            cfg,
            socket: Some(socket),
        }
    }

    /// Starts serving the browser that sent `offer`. Runs until [`Endpoint::finish`] or
    /// `limit`, whichever is first.
    pub fn start(&mut self, offer: &Offer, limit: Duration) {
        let socket = self.socket.take().expect("started once");
        let stop = self.stop.clone();
        let cfg = self.cfg.clone();
        let local = self.local.clone();
        let offer = offer.clone();
        let role = self.role;
        self.thread = Some(std::thread::spawn(move || {
            serve(socket, cfg, local, offer, stop, limit, role)
        }));
    }

    /// Stops the endpoint and returns what it saw.
    pub fn finish(mut self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .expect("started")
            .join()
            .expect("endpoint thread panicked")
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Builds a server config for WebRTC: our certificate, the given versions, SRTP profiles in
/// our preference order. Returns the config and our fingerprint for the answer.
pub fn server_config(
    versions: &[dtls_proto::ProtocolVersion],
    srtp_profiles: &[u16],
) -> (Arc<Config>, String) {
    let cert = Certificate::generate("dtls-webrtc-test").unwrap();
    let fp = cert.fingerprint(HashAlg::Sha256).to_sdp();
    let cfg = Config::builder()
        .certificate(cert)
        .versions(versions)
        .srtp_profiles(srtp_profiles)
        .build()
        .unwrap_or_else(|e| panic!("server config for {versions:?}: {e:?}"));
    (cfg, fp)
}

fn serve(
    socket: UdpSocket,
    cfg: Arc<Config>,
    local: Local,
    offer: Offer,
    stop: Arc<AtomicBool>,
    limit: Duration,
    role: Role,
) -> Report {
    let start = Instant::now();
    let now_ms = || start.elapsed().as_millis() as u64;
    // Checks from the browser carry USERNAME "ours:theirs" and are signed with our password.
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        local.ice_pwd.as_bytes(),
    );
    let username = format!("{}:{}", local.ice_ufrag, offer.ice_ufrag);
    let pinned = dtls_proto::Fingerprint::parse_sdp(&offer.fingerprint).expect("offer fingerprint");
    let mut rep = Report::default();
    let mut conn: Option<(Connection, SocketAddr)> = None;
    let mut buf = vec![0u8; 2048];
    let mut out = vec![0u8; 2048];
    while !stop.load(Ordering::SeqCst) && start.elapsed() < limit {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                let d = &buf[..n];
                match classify(d) {
                    PacketKind::Stun => {
                        let ok = parse_stun(d).filter(|s| {
                            s.msg_type == BINDING_REQUEST
                                && s.attr(ATTR_USERNAME).map(|(u, _)| u)
                                    == Some(username.as_bytes())
                                && stun_authentic(s, &key)
                        });
                        match ok {
                            Some(s) => {
                                rep.stun_answered += 1;
                                if s.attr(ATTR_USE_CANDIDATE).is_some() {
                                    rep.nominated_at_ms.get_or_insert(now_ms());
                                }
                                let resp = binding_success(&s.txid, from, &key);
                                let _ = socket.send_to(&resp, from);
                                if role == Role::Client && conn.is_none() {
                                    // The path works: our ClientHello goes out below.
                                    let mut c =
                                        Connection::new(cfg.clone(), Role::Client, None, now_ms())
                                            .expect("client connection");
                                    c.add_peer_fingerprint(&offer.fingerprint)
                                        .expect("pin the offer's fingerprint");
                                    conn = Some((c, from));
                                }
                            }
                            None => rep.stun_refused += 1,
                        }
                    }
                    PacketKind::Dtls => {
                        rep.dtls_datagrams += 1;
                        if conn.is_none() {
                            if role == Role::Client {
                                // Not before our ClientHello.
                                continue;
                            }
                            rep.first_client_hello = client_hello_shape(d);
                        }
                        let (c, peer) = conn.get_or_insert_with(|| {
                            let mut c = Connection::new(cfg.clone(), Role::Server, None, now_ms())
                                .expect("server connection");
                            c.set_peer_address(from.to_string().as_bytes());
                            c.add_peer_fingerprint(&offer.fingerprint)
                                .expect("pin the offer's fingerprint");
                            (c, from)
                        });
                        if *peer == from {
                            if let Err(e) = c.handle_datagram(now_ms(), d) {
                                rep.dtls_error.get_or_insert(format!("{e:?}"));
                            }
                        }
                    }
                    PacketKind::RtpRtcp => rep.rtp_rtcp_datagrams += 1,
                    _ => {}
                }
            }
            // An ICMP port-unreachable for an earlier send (the browser is closing) surfaces
            // on Linux as a refused receive: not this socket's fault.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::ConnectionRefused
                        | std::io::ErrorKind::ConnectionReset
                ) => {}
            Err(e) => panic!("recv_from: {e}"),
        }
        let Some((c, peer)) = conn.as_mut() else {
            continue;
        };
        if c.next_timeout().is_some_and(|t| t <= now_ms()) {
            if let Err(e) = c.handle_timeout(now_ms()) {
                rep.dtls_error.get_or_insert(format!("{e:?}"));
            }
        }
        loop {
            match c.poll_transmit(now_ms(), &mut out) {
                Ok(Some(n)) => {
                    let _ = socket.send_to(&out[..n], *peer);
                }
                Ok(None) => break,
                Err(e) => {
                    rep.dtls_error.get_or_insert(format!("{e:?}"));
                    break;
                }
            }
        }
        while let Some(ev) = c.poll_event() {
            match ev {
                Event::Connected(n) => {
                    rep.peer_cert_matches_offer = c
                        .peer_certificates()
                        .first()
                        .is_some_and(|der| pinned.matches(der));
                    rep.srtp_key_material_len = c
                        .srtp_keying_material()
                        .map(|k| k.client_key().len() * 2 + k.client_salt().len() * 2)
                        .unwrap_or(0);
                    rep.negotiated = Some(n);
                }
                Event::Failed(e) => {
                    rep.dtls_error.get_or_insert(format!("{e:?}"));
                }
                _ => {}
            }
        }
    }
    if let Some((c, _)) = &conn {
        rep.hello_verify_requests = c.stats().hello_verify_requests;
    }
    rep
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5769 §2.1: the sample Binding request, its MESSAGE-INTEGRITY and FINGERPRINT.
    #[test]
    fn rfc5769_sample_request_authenticates() {
        let hex = "000100582112a442 b7e7a701bc34d686fa87dfae \
                   80220010 5354554e207465737420636c69656e74 \
                   00240004 6e0001ff 80290008 932ff9b151263b36 \
                   00060009 6576746a3a68367659202020 \
                   00080014 9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2 \
                   80280004 e57a3bcf";
        let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
        let mut msg: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let key = hmac::Key::new(
            hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            b"VOkJxbRl1RmTxUk/WvJxBt",
        );
        let s = parse_stun(&msg).expect("parses");
        assert_eq!(s.msg_type, BINDING_REQUEST);
        assert_eq!(s.attr(ATTR_USERNAME).unwrap().0, b"evtj:h6vY");
        assert!(stun_authentic(&s, &key));
        // One flipped bit in the transaction id breaks both checks.
        msg[10] ^= 1;
        assert!(!stun_authentic(&parse_stun(&msg).unwrap(), &key));
    }

    /// Our response authenticates under the same checks a browser applies.
    #[test]
    fn binding_success_round_trips() {
        let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, b"password");
        let from: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let m = binding_success(&[7; 12], from, &key);
        let s = parse_stun(&m).unwrap();
        assert_eq!(s.msg_type, BINDING_SUCCESS);
        assert!(stun_authentic(&s, &key));
        let (x, _) = s.attr(ATTR_XOR_MAPPED_ADDRESS).unwrap();
        assert_eq!(u16::from_be_bytes([x[2], x[3]]) ^ 0x2112, 50000);
        assert_eq!(
            &x[4..],
            &(u32::from(std::net::Ipv4Addr::LOCALHOST) ^ MAGIC).to_be_bytes()
        );
    }
}
