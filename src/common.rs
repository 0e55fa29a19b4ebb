//! What an association holds besides its version's handshake state: the outgoing flight,
//! reassembly, timers, transcript, record layer, queues, events and counters. Version-neutral
//! on purpose: the DTLS 1.2 and 1.3 machines both drive it.

use crate::cert::Fingerprint;
use crate::config::{Config, PeerVerification};
use crate::crypto::hash::HashAlg;
use crate::crypto::rng::Rng;
use crate::error::Error;
use crate::event::{Event, Negotiated};
use crate::handshake::flight::{Flight, FlightItem};
use crate::handshake::reassembly::{Message, Reassembler};
use crate::handshake::timer::RetransmitTimer;
use crate::handshake::transcript::{HeaderKind, Transcript};
use crate::msgs::ack::RecordNumber;
use crate::msgs::alert::Alert;
use crate::msgs::codec::Codec;
use crate::msgs::enums::{ContentType, HandshakeType};
use crate::record::layer::RecordLayer;
use crate::record::queue::RecordQueue;
use crate::stats::Stats;
use crate::time::Millis;
use crate::types::{Epoch, Role};
use std::collections::VecDeque;
use std::sync::Arc;

/// Where an association stands. The one source of truth: the handshake machines and the
/// facade both read it from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    /// The handshake is under way.
    Handshaking,
    /// The handshake completed; application data flows.
    Connected,
    /// close_notify received or sent; no further data accepted.
    Closed,
    /// A fatal error ended the association. Boxed: failures are rare, and inline the error
    /// would add its size to every association.
    Failed(Box<Error>),
}

/// Everything an association holds besides its handshake state. Deliberately not `Debug`: it
/// holds keys, the transcript and plaintext.
pub(crate) struct Common {
    pub cfg: Arc<Config>,
    pub role: Role,
    pub server_name: Option<String>,
    pub peer_addr: Vec<u8>,
    pub rng: Rng,
    pub status: Status,

    pub flight: Flight,
    pub reasm: Reassembler,
    pub timer: RetransmitTimer,
    /// Handshake messages as hashed and signed.
    pub transcript: Transcript,
    pub send_seq: u16,
    pub hs_deadline: Millis,
    pub started_at: Millis,
    pub last_peer_retransmit_reply: Option<Millis>,
    pub retransmit_requested: bool,
    /// The request comes from authenticated evidence (data from a peer that has finished):
    /// answered sooner than one an unauthenticated retransmission prompts.
    pub retransmit_urgent: bool,
    pub likely_alert: Option<crate::msgs::enums::AlertDescription>,

    pub peer_fingerprints: Vec<Fingerprint>,
    pub peer_certs: Vec<Vec<u8>>,
    pub negotiated: Option<Negotiated>,
    pub close_sent: bool,

    pub records: RecordLayer,
    pub out_datagrams: VecDeque<Vec<u8>>,
    pub app_out: RecordQueue,
    pub app_in: RecordQueue,
    pub events: VecDeque<Event>,
    pub stats: Stats,

    /// Largest datagram we emit; starts at the config's and can shrink (path MTU).
    pub mtu: u16,
}

impl Common {
    pub fn new(
        cfg: Arc<Config>,
        role: Role,
        server_name: Option<String>,
        rng: Rng,
        now: Millis,
    ) -> Self {
        let max_msg = cfg.limits.max_handshake_message;
        Common {
            role,
            server_name,
            peer_addr: Vec::new(),
            rng,
            status: Status::Handshaking,
            flight: Flight::default(),
            reasm: Reassembler::new(max_msg, cfg.limits.max_reassembly_bytes, 8),
            timer: RetransmitTimer::new(cfg.initial_rto_ms, cfg.max_rto_ms),
            transcript: Transcript::new(HeaderKind::Dtls12),
            send_seq: 0,
            hs_deadline: now.saturating_add(cfg.handshake_timeout_ms),
            started_at: now,
            last_peer_retransmit_reply: None,
            retransmit_requested: false,
            retransmit_urgent: false,
            likely_alert: None,
            peer_fingerprints: cfg.fingerprints.clone(),
            peer_certs: Vec::new(),
            negotiated: None,
            close_sent: false,
            records: RecordLayer::new(),
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

    /// True once the handshake completed (and until close or failure).
    pub fn is_connected(&self) -> bool {
        self.status == Status::Connected
    }

    /// True while the handshake is under way.
    pub fn is_handshaking(&self) -> bool {
        self.status == Status::Handshaking
    }

    /// Adds a message we send to the current flight and the transcript.
    pub fn send_handshake(&mut self, msg_type: HandshakeType, body: Vec<u8>, epoch: Epoch) {
        let msg_seq = self.send_seq;
        self.send_seq = self.send_seq.wrapping_add(1);
        self.transcript.add(msg_type, msg_seq, &body);
        self.flight.push(FlightItem::Handshake {
            epoch,
            msg_type,
            msg_seq,
            body,
        });
    }

    /// Adds a received message to the transcript.
    pub fn hash_in(&mut self, msg: &Message) {
        self.transcript
            .add(HandshakeType::from(msg.msg_type), msg.msg_seq, &msg.body);
    }

    /// The hash of the transcript so far.
    pub fn transcript_hash(&mut self, alg: HashAlg) -> Vec<u8> {
        self.transcript.hash(alg)
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

    /// Appends one protected record to `out` and counts it.
    pub fn seal_record(
        &mut self,
        out: &mut Vec<u8>,
        ct: ContentType,
        epoch: Epoch,
        payload: &[u8],
    ) -> Result<u64, Error> {
        let seq = self.records.seal_record(out, ct, epoch, payload)?;
        self.stats.records_out += 1;
        Ok(seq)
    }

    /// Queues an alert at the current write epoch, as its own datagram.
    pub fn queue_alert(&mut self, alert: Alert) {
        // The epoch the peer reads us in: before our ChangeCipherSpec it cannot expect the
        // next epoch's keys, installed or not.
        let epoch = match self.transcript.kind() {
            HeaderKind::Dtls12 => Epoch::from(self.records.alert_epoch),
            // DTLS 1.3: the newest keys the peer can read (RFC 9147 §6.1).
            HeaderKind::Tls13 => self.records.current_write_epoch(),
        };
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
        // DTLS 1.3 acknowledges records, so it remembers which fragment went in which.
        let track = self.transcript.kind() == HeaderKind::Tls13;
        while let Some(epoch) = self.flight.next_epoch() {
            let overhead = self.records.overhead_of(epoch)?;
            let room = mtu.saturating_sub(d.len() + overhead);
            let Some(piece) = self.flight.next_piece(room) else {
                if d.is_empty() {
                    return Err(Error::InvalidConfig(
                        "MTU too small for a handshake fragment".into(),
                    ));
                }
                break;
            };
            let seq = self.seal_record(&mut d, piece.content_type, piece.epoch, &piece.payload)?;
            if track {
                let rn = RecordNumber {
                    epoch: piece.epoch,
                    sequence_number: seq,
                };
                self.flight.record_sent(rn, &piece);
            }
        }
        Ok(d)
    }

    /// Seals every queued application record into its own datagram in `out_datagrams`, so
    /// that they leave before a close_notify queued next.
    pub fn flush_app_out(&mut self) {
        let epoch = self.records.current_write_epoch();
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
        let Common {
            records, app_out, ..
        } = self;
        let n = records.seal_app(len, buf, |dst| {
            app_out.copy_front(dst);
        })?;
        self.app_out.pop_front();
        self.stats.records_out += 1;
        Ok(Some(n))
    }

    /// Seals `data` as one application record straight into `buf`, bypassing the queue.
    pub fn seal_app_from(&mut self, data: &[u8], buf: &mut [u8]) -> Result<usize, Error> {
        let n = self
            .records
            .seal_app(data.len(), buf, |dst| dst.copy_from_slice(data))?;
        self.stats.records_out += 1;
        Ok(n)
    }

    pub fn count_out(&mut self, n: usize) {
        self.stats.datagrams_out += 1;
        self.stats.bytes_out += n as u64;
    }

    /// Bookkeeping when the handshake completes.
    pub fn on_connected(&mut self, now: Millis) {
        self.status = Status::Connected;
        // Anything still buffered was queued in plaintext before Finished and cannot be part
        // of this handshake.
        self.reasm.clear();
        // Finished is verified: the transcript is never read again, so its few KB go now
        // rather than living as long as the association.
        self.transcript.release();
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
