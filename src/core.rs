//! State shared by every handshake state machine and the record plumbing: the outgoing
//! flight, reassembly, timers, transcript, epochs and queues. Version-neutral on purpose.

use crate::cert::Fingerprint;
use crate::config::{Config, PeerVerification};
use crate::connection::Role;
use crate::crypto::hash::{HashAlg, RunningHash};
use crate::crypto::rng::Rng;
use crate::dtls12::keys::Keys12;
use crate::error::Error;
use crate::event::{Event, Negotiated};
use crate::handshake::flight::{Flight, FlightItem};
use crate::handshake::reassembly::{Message, Reassembler};
use crate::handshake::timer::RetransmitTimer;
use crate::msgs::alert::Alert;
use crate::msgs::codec::Codec;
use crate::msgs::enums::{ContentType, HandshakeType};
use crate::msgs::handshake::full_message_header;
use crate::msgs::record::{RecordHeader, HEADER_LEN};
use crate::record::epoch::{ReadEpoch, WriteEpoch};
use crate::record::protection::RecordCipher;
use crate::record::queue::RecordQueue;
use crate::stats::Stats;
use crate::time::Millis;
use std::collections::VecDeque;
use std::sync::Arc;

/// Everything an association holds besides its handshake state. Deliberately not `Debug`: it
/// holds keys, the transcript and plaintext.
pub(crate) struct Core {
    pub cfg: Arc<Config>,
    pub role: Role,
    pub server_name: Option<String>,
    pub peer_addr: Vec<u8>,
    pub rng: Rng,

    pub flight: Flight,
    pub reasm: Reassembler,
    pub timer: RetransmitTimer,
    /// Raw handshake messages as hashed and signed (RFC 6347 §4.2.6).
    pub transcript: Vec<u8>,
    /// Its hash, kept running once a reader asked for it (see `transcript_hash`). Boxed: it
    /// lives only through the handshake, and inline it would add 200 bytes to every association.
    pub transcript_hasher: Option<Box<RunningHash>>,
    pub send_seq: u16,
    pub hs_deadline: Millis,
    pub started_at: Millis,
    pub last_peer_retransmit_reply: Option<Millis>,
    pub retransmit_requested: bool,
    /// The request comes from authenticated evidence (data from a peer that has finished):
    /// answered sooner than one an unauthenticated retransmission prompts.
    pub retransmit_urgent: bool,
    /// The epoch our records are in as far as the peer knows: 0 until we send
    /// ChangeCipherSpec, even when the next epoch's keys are installed (a server installs them
    /// at ClientKeyExchange, but its CCS goes out only with its Finished). Alerts use it.
    pub sending_epoch: u16,
    /// The peer's ChangeCipherSpec arrived: its Finished may be processed (RFC 5246 §7.4.9).
    pub peer_ccs: bool,
    /// A peer Finished that overtook the peer's ChangeCipherSpec, held until the CCS arrives.
    pub early_finished: Option<Box<Message>>,
    pub cookie_ok: bool,
    pub likely_alert: Option<crate::msgs::enums::AlertDescription>,

    pub peer_fingerprints: Vec<Fingerprint>,
    pub peer_certs: Vec<Vec<u8>>,
    pub keys: Option<Keys12>,
    pub negotiated: Option<Negotiated>,
    pub connected: bool,
    pub close_sent: bool,
    pub keys_changed: bool,

    /// Write epochs in ascending order; the last one carries application data.
    pub write: Vec<WriteEpoch>,
    /// Read epochs with keys (epoch 0 is plaintext and has none).
    pub read: Vec<ReadEpoch>,
    pub deferred: Vec<Vec<u8>>,
    pub out_datagrams: VecDeque<Vec<u8>>,
    pub app_out: RecordQueue,
    pub app_in: RecordQueue,
    pub events: VecDeque<Event>,
    pub stats: Stats,

    /// Largest datagram we emit; starts at the config's and can shrink (path MTU).
    pub mtu: u16,
}

impl Core {
    pub fn new(
        cfg: Arc<Config>,
        role: Role,
        server_name: Option<String>,
        rng: Rng,
        now: Millis,
    ) -> Self {
        let max_msg = cfg.limits.max_handshake_message;
        Core {
            role,
            server_name,
            peer_addr: Vec::new(),
            rng,
            flight: Flight::default(),
            reasm: Reassembler::new(max_msg, cfg.limits.max_reassembly_bytes, 8),
            timer: RetransmitTimer::new(cfg.initial_rto_ms, cfg.max_rto_ms),
            // A handshake with two certificates is about 3 KB: one allocation, not ten.
            transcript: Vec::with_capacity(4096),
            transcript_hasher: None,
            send_seq: 0,
            hs_deadline: now.saturating_add(cfg.handshake_timeout_ms),
            started_at: now,
            last_peer_retransmit_reply: None,
            retransmit_requested: false,
            retransmit_urgent: false,
            sending_epoch: 0,
            peer_ccs: false,
            early_finished: None,
            cookie_ok: false,
            likely_alert: None,
            peer_fingerprints: cfg.fingerprints.clone(),
            peer_certs: Vec::new(),
            keys: None,
            negotiated: None,
            connected: false,
            close_sent: false,
            keys_changed: false,
            // DTLS 1.2 has two write epochs (0 and 1) and one read epoch with keys: exact
            // capacities, since a 600-byte epoch would otherwise get room for four.
            write: {
                let mut w = Vec::with_capacity(2);
                w.push(WriteEpoch::new(0, None));
                w
            },
            read: Vec::with_capacity(1),
            deferred: Vec::new(),
            out_datagrams: VecDeque::new(),
            app_out: RecordQueue::default(),
            app_in: RecordQueue::default(),
            events: VecDeque::new(),
            stats: Stats {
                handshake_started_ms: now,
                ..Stats::default()
            },
            mtu: cfg.mtu,
            cfg,
        }
    }

    /// Adds a message we send to the current flight and the transcript.
    pub fn send_handshake(&mut self, msg_type: HandshakeType, body: Vec<u8>, epoch: u16) {
        let msg_seq = self.send_seq;
        self.send_seq = self.send_seq.wrapping_add(1);
        self.append_transcript(msg_type, msg_seq, &body);
        self.flight.push(FlightItem::Handshake {
            epoch,
            msg_type,
            msg_seq,
            body,
        });
    }

    pub fn send_ccs(&mut self, epoch: u16) {
        self.flight.push(FlightItem::ChangeCipherSpec { epoch });
        self.sending_epoch = epoch + 1;
    }

    /// Adds a received message to the transcript.
    pub fn hash_in(&mut self, msg: &Message) {
        self.append_transcript(HandshakeType::from(msg.msg_type), msg.msg_seq, &msg.body);
    }

    fn append_transcript(&mut self, msg_type: HandshakeType, msg_seq: u16, body: &[u8]) {
        let header = full_message_header(msg_type, msg_seq, body.len());
        self.transcript.extend_from_slice(&header);
        self.transcript.extend_from_slice(body);
        if let Some(h) = &mut self.transcript_hasher {
            h.update(&header);
            h.update(body);
        }
    }

    /// Starts the transcript over (after a HelloVerifyRequest, RFC 6347 §4.2.6).
    pub fn reset_transcript(&mut self) {
        self.transcript.clear();
        self.transcript_hasher = None;
    }

    /// The hash of the transcript so far. The first call hashes it whole; from then on each
    /// message is hashed once as it is added, instead of once per reader (the extended master
    /// secret and both Finished).
    pub fn transcript_hash(&mut self, alg: HashAlg) -> Vec<u8> {
        match &self.transcript_hasher {
            Some(h) if h.alg() == alg => {}
            _ => self.transcript_hasher = Some(Box::new(RunningHash::new(alg, &self.transcript))),
        }
        self.transcript_hasher
            .as_ref()
            .map(|h| h.current().as_ref().to_vec())
            .unwrap_or_default()
    }

    /// Starts building our next flight: the previous one was answered.
    pub fn new_flight(&mut self) {
        self.flight.clear();
        self.timer.reset();
    }

    /// Sends the flight just built. A timed flight is retransmitted until answered; the final
    /// flight is only repeated when the peer repeats its own (RFC 6347 §4.2.4).
    pub fn transmit_flight(&mut self, now: Millis, timed: bool) {
        self.flight.timed = timed;
        self.flight.start();
        if timed {
            self.timer.arm(now);
        } else {
            self.timer.stop();
        }
    }

    /// The peer repeated a flight we already answered: it lost ours, so send it again. Rate
    /// limited so that duplicated datagrams cannot multiply our output.
    pub fn retransmit_on_peer_request(&mut self, now: Millis) {
        if self.flight.is_empty() || self.flight.pending() {
            return;
        }
        // Plaintext prompts can be forged, so they get at most one answer per half initial
        // timeout; authenticated data can not, and each record is a fresh sign that our last
        // flight is missing.
        let divisor = if self.retransmit_urgent { 8 } else { 2 };
        let gap = (self.cfg.initial_rto_ms / divisor).max(1);
        if let Some(last) = self.last_peer_retransmit_reply {
            if now < last.saturating_add(gap) {
                return;
            }
        }
        self.last_peer_retransmit_reply = Some(now);
        self.flight.start();
        self.stats.retransmissions += 1;
        if self.flight.timed {
            self.timer.arm(now);
        }
    }

    pub fn install_write(&mut self, epoch: u16, cipher: RecordCipher) {
        self.write.push(WriteEpoch::new(epoch, Some(cipher)));
    }

    pub fn install_read(&mut self, epoch: u16, cipher: RecordCipher) {
        self.read.push(ReadEpoch::new(epoch, cipher));
        self.keys_changed = true;
    }

    fn write_epoch(&mut self, epoch: u16) -> Result<&mut WriteEpoch, Error> {
        self.write
            .iter_mut()
            .find(|w| w.epoch == epoch)
            .ok_or(Error::Internal("no keys for write epoch"))
    }

    /// Appends one protected record to `out`.
    pub fn seal_record(
        &mut self,
        out: &mut Vec<u8>,
        ct: ContentType,
        epoch: u16,
        payload: &[u8],
    ) -> Result<(), Error> {
        let w = self.write_epoch(epoch)?;
        let seq = w
            .take_seq()
            .ok_or(Error::Internal("sequence numbers exhausted"))?;
        let hdr = RecordHeader {
            content_type: ct,
            version: 0xfefd,
            epoch,
            seq,
            length: payload.len() as u16,
        };
        match &mut w.cipher {
            None => {
                hdr.encode(out);
                out.extend_from_slice(payload);
            }
            Some(c) => {
                let start = out.len();
                let total = HEADER_LEN + payload.len() + c.overhead();
                out.resize(start + total, 0);
                let p = start + HEADER_LEN + c.prefix_len();
                out[p..p + payload.len()].copy_from_slice(payload);
                c.seal(hdr, &mut out[start..], payload.len())
                    .map_err(seal_error)?;
            }
        }
        self.stats.records_out += 1;
        Ok(())
    }

    /// Queues an alert at the current write epoch, as its own datagram.
    pub fn queue_alert(&mut self, alert: Alert) {
        // The epoch the peer reads us in: before our ChangeCipherSpec it cannot expect the
        // next epoch's keys, installed or not.
        let epoch = self.sending_epoch;
        let mut d = Vec::new();
        if self
            .seal_record(&mut d, ContentType::Alert, epoch, &alert.to_bytes())
            .is_ok()
            && self.out_datagrams.len() < 64
        {
            self.out_datagrams.push_back(d);
        }
    }

    /// Packs as much of the pending flight as fits one MTU-sized datagram.
    pub fn build_flight_datagram(&mut self) -> Result<Vec<u8>, Error> {
        let mtu = self.mtu as usize;
        let mut d = Vec::with_capacity(mtu);
        while let Some(epoch) = self.flight.next_epoch() {
            let overhead = self.write_epoch(epoch)?.overhead();
            let room = mtu.saturating_sub(d.len() + HEADER_LEN + overhead);
            let Some(piece) = self.flight.next_piece(room) else {
                if d.is_empty() {
                    return Err(Error::InvalidConfig(
                        "MTU too small for a handshake fragment".into(),
                    ));
                }
                break;
            };
            self.seal_record(&mut d, piece.content_type, piece.epoch, &piece.payload)?;
        }
        Ok(d)
    }

    /// Seals every queued application record into its own datagram in `out_datagrams`, so
    /// that they leave before a close_notify queued next.
    pub fn flush_app_out(&mut self) {
        let epoch = self.write.last().map_or(0, |w| w.epoch);
        let mut data = Vec::new();
        while let Some(n) = self.app_out.front_len() {
            data.resize(n, 0);
            self.app_out.copy_front(&mut data);
            self.app_out.pop_front();
            let mut d = Vec::new();
            if epoch > 0
                && self
                    .seal_record(&mut d, ContentType::ApplicationData, epoch, &data)
                    .is_ok()
            {
                self.out_datagrams.push_back(d);
            }
        }
    }

    /// Seals the oldest queued application record straight into the caller's buffer and
    /// dequeues it; `Ok(None)` when nothing is queued. `BufferTooSmall` keeps the record.
    pub fn seal_next_app(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        let Some(len) = self.app_out.front_len() else {
            return Ok(None);
        };
        let Core { write, app_out, .. } = self;
        let n = seal_app(write, len, buf, |dst| {
            app_out.copy_front(dst);
        })?;
        self.app_out.pop_front();
        self.stats.records_out += 1;
        Ok(Some(n))
    }

    /// Seals `data` as one application record straight into `buf`, bypassing the queue.
    pub fn seal_app_from(&mut self, data: &[u8], buf: &mut [u8]) -> Result<usize, Error> {
        let n = seal_app(&mut self.write, data.len(), buf, |dst| {
            dst.copy_from_slice(data)
        })?;
        self.stats.records_out += 1;
        Ok(n)
    }

    pub fn count_out(&mut self, n: usize) {
        self.stats.datagrams_out += 1;
        self.stats.bytes_out += n as u64;
    }

    /// Bookkeeping when the handshake completes.
    pub fn on_connected(&mut self, now: Millis) {
        self.connected = true;
        // Finished is verified: the transcript is never read again, so its few KB go now
        // rather than living as long as the association.
        self.transcript = Vec::new();
        self.transcript_hasher = None;
        self.stats.handshake_duration_ms = Some(now.saturating_sub(self.started_at));
        if let Some(n) = &self.negotiated {
            self.events.push_back(Event::Connected(n.clone()));
        }
    }

    /// Authenticates the peer's chain inside the handshake: pinned fingerprints or webpki.
    pub fn verify_peer_chain(&mut self, chain: &[Vec<u8>]) -> Result<(), Error> {
        let leaf = chain.first().ok_or(Error::NoPeerCertificate)?;
        let fps = &self.peer_fingerprints;
        let use_fps = match self.cfg.verification {
            PeerVerification::DangerousAcceptAny => None,
            PeerVerification::Fingerprint => Some(true),
            PeerVerification::WebPki => Some(false),
            PeerVerification::Auto => Some(!fps.is_empty()),
        };
        match use_fps {
            None => {}
            Some(true) => {
                if fps.is_empty() {
                    return Err(Error::NoVerifier);
                }
                if !fps.iter().any(|f| f.matches(leaf)) {
                    return Err(Error::FingerprintMismatch);
                }
            }
            Some(false) => {
                if self.cfg.roots.is_empty() {
                    return Err(Error::NoVerifier);
                }
                let now = self.cfg.wall_clock.unix_secs();
                let res = match self.role {
                    Role::Client => crate::verify::verify_server_chain(
                        &self.cfg.roots,
                        chain,
                        self.server_name.as_deref(),
                        now,
                    ),
                    Role::Server => crate::verify::verify_client_chain(&self.cfg.roots, chain, now),
                };
                res.map_err(Error::CertificateRejected)?;
            }
        }
        self.peer_certs = chain.to_vec();
        self.events.push_back(Event::PeerCertificate);
        Ok(())
    }

    /// True when a server must demand a client certificate: configured, or implied by
    /// pinned fingerprints (WebRTC authenticates both ends).
    pub fn wants_client_cert(&self) -> bool {
        use crate::config::ClientAuth;
        self.cfg.client_auth != ClientAuth::None || !self.peer_fingerprints.is_empty()
    }

    pub fn requires_client_cert(&self) -> bool {
        use crate::config::ClientAuth;
        self.cfg.client_auth == ClientAuth::Require || !self.peer_fingerprints.is_empty()
    }

    /// 32 random bytes for a hello.
    pub fn random32(&mut self) -> Result<[u8; 32], Error> {
        let mut r = [0u8; 32];
        self.rng
            .fill(&mut r)
            .map_err(|_| Error::Internal("random generator failed"))?;
        Ok(r)
    }
}

fn seal_error(e: crate::crypto::CryptoError) -> Error {
    match e {
        crate::crypto::CryptoError::UsageLimit => {
            Error::KeyUsageLimit("AES-GCM confidentiality bound spent (RFC 9147 §4.5.3)")
        }
        _ => Error::Internal("seal failed"),
    }
}

/// Seals one application record of `len` bytes into `buf` at the current write epoch: `fill`
/// writes the plaintext where it will be encrypted in place. `BufferTooSmall` touches nothing.
fn seal_app(
    write: &mut [WriteEpoch],
    len: usize,
    buf: &mut [u8],
    fill: impl FnOnce(&mut [u8]),
) -> Result<usize, Error> {
    let w = write.last_mut().ok_or(Error::Internal("no write epoch"))?;
    let needed = HEADER_LEN + len + w.overhead();
    if buf.len() < needed {
        return Err(Error::BufferTooSmall { needed });
    }
    let seq = w
        .take_seq()
        .ok_or(Error::Internal("sequence numbers exhausted"))?;
    let epoch = w.epoch;
    let c = w
        .cipher
        .as_mut()
        .ok_or(Error::Internal("application data without keys"))?;
    let p = HEADER_LEN + c.prefix_len();
    fill(&mut buf[p..p + len]);
    let hdr = RecordHeader {
        content_type: ContentType::ApplicationData,
        version: 0xfefd,
        epoch,
        seq,
        length: 0,
    };
    c.seal(hdr, buf, len).map_err(seal_error)
}
