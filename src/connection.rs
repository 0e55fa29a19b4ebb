//! One DTLS association, either role. The caller owns the socket and the clock:
//! feed datagrams in, poll datagrams and events out, and call `handle_timeout` at the deadline.

use crate::cert::Fingerprint;
use crate::config::Config;
use crate::core::Core;
use crate::crypto::rng::Rng;
use crate::dtls12::{client, server};
use crate::error::Error;
use crate::event::{Event, Negotiated};
use crate::handshake::reassembly::{Fragment, Insert};
use crate::msgs::alert::Alert;
use crate::msgs::codec::{Codec, Reader};
use crate::msgs::enums::{AlertDescription, AlertLevel, ContentType, HandshakeType};
use crate::msgs::handshake::{ClientHelloPrefix, HandshakeHeader};
use crate::msgs::record::{RecordHeader, Records, HEADER_LEN};
use crate::stats::Stats;
use crate::time::Millis;
use std::sync::Arc;

/// Which side of the handshake this association plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends the first ClientHello.
    Client,
    /// Answers the peer's ClientHello.
    Server,
}

#[derive(Debug)]
enum State {
    Client(client::ClientState),
    Server(server::ServerState),
    /// Handshake complete.
    Connected,
    /// close_notify received or sent; no further data accepted.
    Closed,
    /// A fatal error ended the association.
    Failed(Error),
    /// Transient placeholder while a state consumes itself.
    Poisoned,
}

/// A DTLS association.
///
/// The drive loop:
///
/// ```
/// use dtls_proto::{Certificate, Config, Connection, Role, PeerVerification};
/// let server_cfg = Config::builder()
///     .certificate(Certificate::generate("server").unwrap())
///     .build().unwrap();
/// let client_cfg = Config::builder()
///     .peer_verification(PeerVerification::DangerousAcceptAny)
///     .build().unwrap();
/// let mut client = Connection::new(client_cfg, Role::Client, None, 0).unwrap();
/// let mut server = Connection::new(server_cfg, Role::Server, None, 0).unwrap();
/// let mut buf = vec![0u8; 1500];
/// for _ in 0..10 {
///     while let Some(n) = client.poll_transmit(0, &mut buf).unwrap() {
///         server.handle_datagram(0, &buf[..n]).unwrap();
///     }
///     while let Some(n) = server.poll_transmit(0, &mut buf).unwrap() {
///         client.handle_datagram(0, &buf[..n]).unwrap();
///     }
/// }
/// assert!(client.is_connected() && server.is_connected());
/// client.send(b"ping").unwrap();
/// let n = client.poll_transmit(0, &mut buf).unwrap().unwrap();
/// server.handle_datagram(0, &buf[..n]).unwrap();
/// let mut app = [0u8; 64];
/// let n = server.recv(&mut app).unwrap().unwrap();
/// assert_eq!(&app[..n], b"ping");
/// ```
pub struct Connection {
    core: Core,
    state: State,
}

/// Shows where the association stands, never its keys, transcript or buffered data.
impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.core.role)
            .field("connected", &self.core.connected)
            .field("closed", &self.is_closed())
            .field("negotiated", &self.core.negotiated)
            .field("stats", &self.core.stats)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Creates an association. `server_name` (client only) is sent as SNI and checked against
    /// the server's certificate in webpki mode. `now` starts the handshake deadline.
    pub fn new(
        config: Arc<Config>,
        role: Role,
        server_name: Option<&str>,
        now: Millis,
    ) -> Result<Connection, Error> {
        if role == Role::Server && config.certificate.is_none() {
            return Err(Error::InvalidConfig("a server needs a certificate".into()));
        }
        let rng = match config.rng_seed {
            Some(s) => Rng::seeded(s ^ if role == Role::Client { 0 } else { 0x5eed }),
            None => Rng::system(),
        };
        let mut core = Core::new(config, role, server_name.map(str::to_owned), rng, now);
        let state = match role {
            Role::Client => State::Client(client::start(&mut core, now)?),
            Role::Server => State::Server(server::ServerState::start()),
        };
        Ok(Connection { core, state })
    }

    /// Binds the server's cookie to the peer's transport address (any stable encoding).
    pub fn set_peer_address(&mut self, addr: &[u8]) {
        self.core.peer_addr = addr.to_vec();
    }

    /// Pins a peer certificate fingerprint in SDP form, `"sha-256 AB:CD:..."`.
    pub fn add_peer_fingerprint(&mut self, sdp: &str) -> Result<(), Error> {
        let fp = Fingerprint::parse_sdp(sdp)?;
        self.core.peer_fingerprints.push(fp);
        Ok(())
    }

    /// The role fixed at construction.
    pub fn role(&self) -> Role {
        self.core.role
    }

    /// True once the handshake has completed (and until close or failure).
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Connected)
    }

    /// True after close_notify (either way) or a fatal error.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed | State::Failed(_))
    }

    /// What the handshake negotiated, once complete.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.core.negotiated.as_ref()
    }

    /// The peer's certificate chain (DER, leaf first), once received and verified.
    pub fn peer_certificates(&self) -> &[Vec<u8>] {
        &self.core.peer_certs
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let mut s = self.core.stats.clone();
        s.negotiated = self.core.negotiated.clone();
        s
    }

    /// The largest application payload `send` accepts with the current MTU and suite.
    pub fn max_send_len(&self) -> usize {
        let overhead = self.core.write.last().map_or(0, |w| w.overhead());
        (self.core.mtu as usize).saturating_sub(HEADER_LEN + overhead)
    }

    /// Changes the MTU (for example after path MTU discovery). Later datagrams, flight
    /// retransmissions included, are fragmented to the new size.
    pub fn set_mtu(&mut self, mtu: u16) -> Result<(), Error> {
        if mtu < 128 {
            return Err(Error::InvalidArgument("mtu below 128"));
        }
        self.core.mtu = mtu;
        Ok(())
    }

    fn dead(&self) -> Option<Error> {
        match &self.state {
            State::Failed(e) => Some(e.clone()),
            _ => None,
        }
    }

    /// Processes one whole UDP datagram. Junk is dropped and counted; an `Err` is fatal (a
    /// fatal alert may still wait in `poll_transmit`).
    pub fn handle_datagram(&mut self, now: Millis, datagram: &[u8]) -> Result<(), Error> {
        if let Some(e) = self.dead() {
            return Err(e);
        }
        self.core.stats.datagrams_in += 1;
        self.core.stats.bytes_in += datagram.len() as u64;
        if matches!(self.state, State::Closed) {
            // After close_notify nothing more is accepted or answered, not even a
            // retransmitted flight (RFC 5246 §7.2.1).
            self.core.stats.dropped.unexpected += 1;
            return Ok(());
        }
        self.core.retransmit_requested = false;
        self.core.retransmit_urgent = false;
        let mut records = Records::new(datagram);
        for (hdr, body, whole) in records.by_ref() {
            self.core.stats.records_in += 1;
            if let Err(e) = self.process_record(now, hdr, body, whole) {
                return Err(self.fail(e));
            }
        }
        if records.truncated() {
            self.core.stats.dropped.malformed += 1;
        }
        if self.core.retransmit_requested {
            self.core.retransmit_on_peer_request(now);
        }
        Ok(())
    }

    fn process_record(
        &mut self,
        now: Millis,
        hdr: RecordHeader,
        body: &[u8],
        whole: &[u8],
    ) -> Result<(), Error> {
        // DTLS 1.0's version is allowed in epoch 0 only (HelloVerifyRequest, old ClientHellos).
        let version_ok = hdr.version == 0xfefd || (hdr.epoch == 0 && hdr.version == 0xfeff);
        if !version_ok {
            self.core.stats.dropped.bad_epoch += 1;
            return Ok(());
        }
        if hdr.epoch == 0 {
            return self.dispatch(now, hdr.content_type, 0, hdr.seq, body);
        }
        let Some(idx) = self.core.read.iter().position(|r| r.epoch == hdr.epoch) else {
            let next = self
                .core
                .read
                .last()
                .map_or(1, |r| r.epoch.saturating_add(1));
            if hdr.epoch == next
                && self.core.deferred.len() < self.core.cfg.limits.max_deferred_records
                && !self.is_connected()
            {
                self.core.deferred.push(whole.to_vec());
            } else {
                self.core.stats.dropped.bad_epoch += 1;
            }
            // RFC 6347 §4.2.4: data in the next epoch before its Finished means our peer has
            // finished and its last flight was lost or is late; resend ours now rather than at
            // the next timeout, so the peer resends its own. (Rate-limited like any
            // peer-prompted retransmission.)
            if hdr.content_type == ContentType::ApplicationData && !self.is_connected() {
                self.core.retransmit_requested = true;
            }
            return Ok(());
        };
        // Check the window before spending an AEAD open, update it only after the record
        // authenticates (RFC 6347 §4.1.2.6).
        if !self.core.read[idx].window.check(hdr.seq) {
            self.core.stats.dropped.replayed += 1;
            return Ok(());
        }
        if hdr.content_type == ContentType::ApplicationData {
            return self.receive_app_record(idx, &hdr, body);
        }
        // Finished, alerts, a refused renegotiation: rare, so they are opened in a copy.
        let mut plain = body.to_vec();
        match self.core.read[idx].cipher.open(&hdr, &mut plain) {
            Ok(range) => {
                self.core.read[idx].window.update(hdr.seq);
                self.dispatch(now, hdr.content_type, hdr.epoch, hdr.seq, &plain[range])
            }
            Err(_) => self.auth_failed(idx),
        }
    }

    /// An application record in an epoch with keys: opened in place in the receive queue, so
    /// the steady state copies it once and allocates nothing.
    fn receive_app_record(
        &mut self,
        idx: usize,
        hdr: &RecordHeader,
        body: &[u8],
    ) -> Result<(), Error> {
        // Held until the handshake completes if it arrived ahead of Finished.
        let readable = matches!(
            self.state,
            State::Connected | State::Client(_) | State::Server(_)
        );
        let core = &mut self.core;
        if !readable {
            core.stats.dropped.unexpected += 1;
            return Ok(());
        }
        let limits = &core.cfg.limits;
        let epoch = &mut core.read[idx];
        let payload_len = body.len().saturating_sub(epoch.cipher.overhead());
        if core.app_in.len() >= limits.max_received_records
            || core.app_in.bytes() + payload_len > limits.max_received_bytes
        {
            // Not opened: a record that cannot be kept is not worth an AEAD open, and its
            // sequence number stays unused, so a retransmission could still get in.
            core.stats.dropped.overflow += 1;
            return Ok(());
        }
        let cipher = &mut epoch.cipher;
        match core.app_in.push_opened(body, |slot| cipher.open(hdr, slot)) {
            Ok(_) => {
                epoch.window.update(hdr.seq);
                if !core.connected {
                    // RFC 6347 §4.2.4: authenticated data before the peer's Finished means the
                    // peer has finished and its last flight was lost: resend ours now (the peer
                    // answers with its own) instead of waiting out the backed-off timer.
                    core.retransmit_requested = true;
                    core.retransmit_urgent = true;
                }
                Ok(())
            }
            Err(_) => self.auth_failed(idx),
        }
    }

    /// Counts a record that failed authentication; ends the association only at the AEAD's
    /// forgery limit (RFC 9147 §4.5.3).
    fn auth_failed(&mut self, idx: usize) -> Result<(), Error> {
        self.core.stats.dropped.auth_failed += 1;
        let limit = self.core.cfg.limits.max_auth_failures;
        if self.core.read[idx].cipher.auth_failures() >= limit {
            Err(Error::KeyUsageLimit(
                "too many records failed authentication (RFC 9147 §4.5.3)",
            ))
        } else {
            Ok(())
        }
    }

    fn dispatch(
        &mut self,
        now: Millis,
        ct: ContentType,
        epoch: u16,
        record_seq: u64,
        payload: &[u8],
    ) -> Result<(), Error> {
        match ct {
            ContentType::Handshake => self.handle_handshake_record(now, epoch, record_seq, payload),
            ContentType::ChangeCipherSpec => {
                // The epoch number selects keys, but the peer's Finished still needs its CCS
                // first (RFC 5246 §7.4.9: "A Finished message is always sent immediately after
                // a change cipher spec message"). A malformed one is only junk.
                if payload != [1] {
                    self.core.stats.dropped.malformed += 1;
                    return Ok(());
                }
                if epoch == 0 && !self.core.connected {
                    self.core.peer_ccs = true;
                    if let Some(fin) = self.core.early_finished.take() {
                        return self.handle_message(now, *fin);
                    }
                }
                Ok(())
            }
            ContentType::Alert => self.handle_alert(epoch, payload),
            ContentType::ApplicationData => {
                // Epoch 0: plaintext data is never accepted (receive_app_record takes the rest).
                self.core.stats.dropped.unexpected += 1;
                Ok(())
            }
            _ => {
                self.core.stats.dropped.unexpected += 1;
                Ok(())
            }
        }
    }

    fn handle_alert(&mut self, epoch: u16, payload: &[u8]) -> Result<(), Error> {
        let Some(alert) = Alert::from_bytes(payload) else {
            self.core.stats.dropped.malformed += 1;
            return Ok(());
        };
        if epoch == 0 {
            // Unauthenticated: anyone can forge it. Remember it as the likely reason should
            // the handshake time out, but never act on it.
            if alert.level == AlertLevel::Fatal && !self.is_connected() {
                self.core.likely_alert = Some(alert.description);
            }
            self.core.stats.dropped.unexpected += 1;
            return Ok(());
        }
        if alert.description == AlertDescription::CloseNotify {
            if !matches!(self.state, State::Closed) {
                self.core.events.push_back(Event::CloseNotify);
                if !self.core.close_sent {
                    self.core
                        .queue_alert(Alert::warning(AlertDescription::CloseNotify));
                    self.core.close_sent = true;
                }
                self.state = State::Closed;
            }
            return Ok(());
        }
        if alert.level == AlertLevel::Fatal {
            return Err(Error::AlertReceived(alert.description));
        }
        Ok(())
    }

    fn handle_handshake_record(
        &mut self,
        now: Millis,
        epoch: u16,
        record_seq: u64,
        payload: &[u8],
    ) -> Result<(), Error> {
        let mut r = Reader::new(payload);
        while !r.is_empty() {
            let Some(h) = HandshakeHeader::read(&mut r) else {
                self.core.stats.dropped.malformed += 1;
                return Ok(());
            };
            let Some(data) = r.take(h.frag_len as usize) else {
                self.core.stats.dropped.malformed += 1;
                return Ok(());
            };
            if !self.admit_fragment(now, epoch, record_seq, &h, data) {
                continue;
            }
            let frag = Fragment {
                msg_type: h.msg_type.get(),
                length: h.length,
                msg_seq: h.msg_seq,
                frag_off: h.frag_off,
                frag_len: h.frag_len,
                epoch,
                data,
            };
            match self.core.reasm.insert(frag) {
                Insert::Accepted => {}
                Insert::Old => self.core.retransmit_requested = true,
                Insert::Duplicate => {}
                Insert::Dropped(_) => self.core.stats.dropped.reassembly += 1,
            }
        }
        while let Some(msg) = self.core.reasm.pop() {
            self.handle_message(now, msg)?;
            if self.is_closed() {
                break;
            }
        }
        Ok(())
    }

    /// Decides whether a fragment may enter reassembly. A server's first ClientHello passes
    /// through the stateless cookie check here, before any reassembly state exists for it.
    fn admit_fragment(
        &mut self,
        now: Millis,
        epoch: u16,
        record_seq: u64,
        h: &HandshakeHeader,
        data: &[u8],
    ) -> bool {
        let awaiting_hello =
            matches!(&self.state, State::Server(s) if s.awaiting_hello()) && !self.core.cookie_ok;
        if self.is_connected() && epoch > 0 {
            // A renegotiation restarts message_seq at 0 (RFC 6347 §4.2.2), so it cannot go
            // through reassembly. We refuse it with a warning (RFC 5246 §7.2.2) and carry on.
            let hello = match self.core.role {
                Role::Client => HandshakeType::HelloRequest,
                Role::Server => HandshakeType::ClientHello,
            };
            if h.msg_type == hello {
                self.core.stats.dropped.unexpected += 1;
                if h.frag_off == 0 {
                    self.core
                        .queue_alert(Alert::warning(AlertDescription::NoRenegotiation));
                }
                return false;
            }
        }
        if self.is_connected() && epoch == 0 {
            // Epoch 0 after the handshake can only be a retransmission of the peer's last
            // plaintext messages (or a forgery): it may prompt our last flight again, no more.
            if h.msg_seq < self.core.reasm.next_seq() {
                self.core.retransmit_requested = true;
            }
            self.core.stats.dropped.unexpected += 1;
            return false;
        }
        if !awaiting_hello {
            return true;
        }
        if epoch != 0 || h.msg_type != HandshakeType::ClientHello || h.frag_off != 0 {
            self.core.stats.dropped.unexpected += 1;
            return false;
        }
        let Some(prefix) = ClientHelloPrefix::read(data) else {
            self.core.stats.dropped.malformed += 1;
            return false;
        };
        let cfg = self.core.cfg.clone();
        if cfg.cookie_exchange
            && !crate::server::verify_cookie(&cfg, now, &self.core.peer_addr, &prefix)
        {
            self.core.stats.dropped.cookie += 1;
            if self.core.out_datagrams.len() < 4 {
                let cookie = crate::server::make_cookie(&cfg, now, &self.core.peer_addr, &prefix);
                let hvr = crate::server::hello_verify_request(record_seq, h.msg_seq, &cookie);
                self.core.out_datagrams.push_back(hvr);
                self.core.stats.hello_verify_requests += 1;
            }
            return false;
        }
        self.core.cookie_ok = true;
        self.core.reasm.set_next_seq(h.msg_seq);
        self.core.send_seq = h.msg_seq;
        if let Some(w) = self.core.write.first_mut() {
            w.skip_to(record_seq);
        }
        true
    }

    fn handle_message(
        &mut self,
        now: Millis,
        msg: crate::handshake::reassembly::Message,
    ) -> Result<(), Error> {
        if msg.epoch == 0 && !self.core.connected {
            // Plaintext is unauthenticated: a message that cannot be the one we wait for (out
            // of order, undecodable, a HelloVerifyRequest too many) may be forged, so it is
            // dropped and counted rather than fatal (RFC 6347 §4.1.2.7 lets invalid records be
            // discarded), and its message_seq is freed for the genuine copy. Should the
            // handshake then time out, the alert we would have sent is the likely reason.
            let fit = match &self.state {
                State::Client(s) => client::precheck(s, &self.core, &msg, now),
                State::Server(s) => server::precheck(s, &msg),
                _ => Ok(()),
            };
            if let Err(e) = fit {
                self.core.stats.dropped.unexpected += 1;
                self.core.reasm.unpop(msg.msg_seq);
                if self.core.likely_alert.is_none() {
                    self.core.likely_alert = e.alert();
                }
                return Ok(());
            }
        }
        if HandshakeType::from(msg.msg_type) == HandshakeType::Finished
            && !self.core.peer_ccs
            && !self.core.connected
        {
            // Authenticated, but ahead of the ChangeCipherSpec it must follow: hold it (it may
            // only have overtaken a reordered CCS); should the CCS never come, neither does
            // the handshake's completion.
            self.core.early_finished = Some(Box::new(msg));
            return Ok(());
        }
        let state = std::mem::replace(&mut self.state, State::Poisoned);
        let next = match state {
            State::Client(s) => client::handle(s, &mut self.core, msg, now).map(|s| match s {
                client::ClientState::Done => State::Connected,
                s => State::Client(s),
            }),
            State::Server(s) => server::handle(s, &mut self.core, msg, now).map(|s| match s {
                server::ServerState::Done => State::Connected,
                s => State::Server(s),
            }),
            State::Connected => self.post_handshake(msg).map(|_| State::Connected),
            other => Ok(other),
        };
        match next {
            Ok(s) => {
                let newly_connected = matches!(s, State::Connected) && !self.core.connected;
                self.state = s;
                if newly_connected {
                    // Anything still buffered was queued in plaintext before Finished and
                    // cannot be part of this handshake.
                    self.core.reasm.clear();
                    self.core.on_connected(now);
                    self.replay_deferred(now)?;
                }
                if self.core.keys_changed {
                    self.core.keys_changed = false;
                    self.replay_deferred(now)?;
                }
                Ok(())
            }
            Err(e) => {
                self.state = State::Failed(e.clone());
                Err(e)
            }
        }
    }

    /// Renegotiation is refused (RFC 5746 makes it safe, but nobody needs it for DTLS).
    fn post_handshake(&mut self, msg: crate::handshake::reassembly::Message) -> Result<(), Error> {
        if msg.epoch == 0 {
            // Plaintext after the handshake is unauthenticated: never act on it.
            self.core.stats.dropped.unexpected += 1;
            return Ok(());
        }
        match HandshakeType::from(msg.msg_type) {
            HandshakeType::HelloRequest | HandshakeType::ClientHello => {
                self.core
                    .queue_alert(Alert::warning(AlertDescription::NoRenegotiation));
                Ok(())
            }
            _ => Err(Error::unexpected("handshake message after the handshake")),
        }
    }

    /// Records that arrived before their epoch's keys: process them now.
    fn replay_deferred(&mut self, now: Millis) -> Result<(), Error> {
        let deferred = std::mem::take(&mut self.core.deferred);
        for rec in deferred {
            for (hdr, body, whole) in Records::new(&rec) {
                self.process_record(now, hdr, body, whole)?;
            }
        }
        Ok(())
    }

    /// Marks the association failed, queues the fatal alert, and reports the event.
    fn fail(&mut self, e: Error) -> Error {
        if let Some(alert) = e.alert() {
            self.core.queue_alert(Alert::fatal(alert));
        }
        self.core.flight.clear();
        self.core.timer.stop();
        self.core.events.push_back(Event::Failed(e.clone()));
        self.state = State::Failed(e.clone());
        e
    }

    /// Writes the next datagram into `buf`; `Ok(None)` when nothing is pending. A buffer too
    /// small for the next datagram gives `BufferTooSmall { needed }` and loses nothing.
    pub fn poll_transmit(&mut self, now: Millis, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        let _ = now;
        if let Some(d) = self.core.out_datagrams.front() {
            if d.len() > buf.len() {
                return Err(Error::BufferTooSmall { needed: d.len() });
            }
            let n = d.len();
            buf[..n].copy_from_slice(d);
            self.core.out_datagrams.pop_front();
            self.core.count_out(n);
            return Ok(Some(n));
        }
        if matches!(self.state, State::Failed(_)) {
            return Ok(None);
        }
        if self.core.flight.pending() {
            let d = self.core.build_flight_datagram()?;
            if !d.is_empty() {
                self.core.out_datagrams.push_back(d);
                return self.poll_transmit(now, buf);
            }
        }
        if self.is_connected() {
            if let Some(n) = self.core.seal_next_app(buf)? {
                self.core.count_out(n);
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        let ev = self.core.events.pop_front();
        if self.core.events.is_empty() && self.core.connected {
            // After the handshake events are rare (a close, a failure): give the queue's
            // room back rather than keep it for the association's lifetime.
            self.core.events = std::collections::VecDeque::new();
        }
        ev
    }

    /// The next absolute deadline at which `handle_timeout` must be called.
    pub fn next_timeout(&self) -> Option<Millis> {
        match self.state {
            State::Client(_) | State::Server(_) => {
                let hs = Some(self.core.hs_deadline);
                match self.core.timer.deadline() {
                    Some(t) => hs.map(|h| h.min(t)),
                    None => hs,
                }
            }
            _ => None,
        }
    }

    /// Retransmits or fails the handshake as the clock demands; a no-op before the deadline.
    pub fn handle_timeout(&mut self, now: Millis) -> Result<(), Error> {
        if let Some(e) = self.dead() {
            return Err(e);
        }
        if !matches!(self.state, State::Client(_) | State::Server(_)) {
            return Ok(());
        }
        if now >= self.core.hs_deadline {
            let e = Error::HandshakeTimeout {
                likely_reason: self.core.likely_alert,
            };
            return Err(self.fail(e));
        }
        if self.core.timer.is_expired(now) {
            self.core.reasm.clear_conflicted();
            self.core.timer.backoff();
            self.core.timer.arm(now);
            self.core.flight.start();
            self.core.stats.retransmissions += 1;
        }
        Ok(())
    }

    /// Queues one application record. Fails with `InvalidArgument` (not fatal) when `data`
    /// exceeds [`Connection::max_send_len`].
    pub fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        self.check_sendable(data)?;
        if self.core.app_out.len() >= self.core.cfg.limits.max_queued_records {
            return Err(Error::InvalidArgument(
                "send queue full; poll_transmit first",
            ));
        }
        self.core.app_out.push(data);
        Ok(())
    }

    /// Seals `data` as one application record straight into `out` and returns the datagram's
    /// length: `send` and `poll_transmit` in one call, with one copy and no queue (for
    /// media and VPN paths). Needs the handshake done and nothing waiting in the send queue
    /// (which would otherwise be overtaken); `BufferTooSmall { needed }` changes nothing.
    ///
    /// ```
    /// # use dtls_proto::{Certificate, Config, Connection, Role, PeerVerification};
    /// # let cfg = |c| Config::builder().certificate(Certificate::generate(c).unwrap())
    /// #     .peer_verification(PeerVerification::DangerousAcceptAny).build().unwrap();
    /// # let mut client = Connection::new(cfg("c"), Role::Client, None, 0).unwrap();
    /// # let mut server = Connection::new(cfg("s"), Role::Server, None, 0).unwrap();
    /// # let mut buf = [0u8; 1500];
    /// # for _ in 0..10 {
    /// #     while let Some(n) = client.poll_transmit(0, &mut buf).unwrap() { server.handle_datagram(0, &buf[..n]).unwrap(); }
    /// #     while let Some(n) = server.poll_transmit(0, &mut buf).unwrap() { client.handle_datagram(0, &buf[..n]).unwrap(); }
    /// # }
    /// let mut datagram = [0u8; 1500];
    /// let n = client.seal_into(b"frame", &mut datagram).unwrap();
    /// // ... the datagram crosses the network; the receiver opens it where it lies:
    /// let data = server.open_in_place(0, &mut datagram[..n]).unwrap();
    /// assert_eq!(data, Some(&b"frame"[..]));
    /// ```
    pub fn seal_into(&mut self, data: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.check_sendable(data)?;
        if !self.core.app_out.is_empty() {
            return Err(Error::InvalidArgument(
                "records queued by send come first; poll_transmit them",
            ));
        }
        let n = self.core.seal_app_from(data, out)?;
        self.core.count_out(n);
        Ok(n)
    }

    /// Processes a datagram like `handle_datagram`, but when it is a single application record
    /// (the steady state of a media or VPN flow) opens it where it lies and returns the
    /// plaintext as a slice of `datagram`: no copy and no queue. Returns `Ok(None)` otherwise
    /// (anything received is then available from `recv` and `poll_event` as usual). The
    /// datagram's bytes are overwritten either way.
    pub fn open_in_place<'a>(
        &mut self,
        now: Millis,
        datagram: &'a mut [u8],
    ) -> Result<Option<&'a [u8]>, Error> {
        // The fast path keeps the order of delivery: nothing may wait in the receive queue.
        let fast = matches!(self.state, State::Connected) && self.core.app_in.is_empty();
        let hdr = match Records::new(datagram).next() {
            Some((hdr, body, _))
                if fast
                    && hdr.content_type == ContentType::ApplicationData
                    && hdr.version == 0xfefd
                    && HEADER_LEN + body.len() == datagram.len() =>
            {
                hdr
            }
            _ => return self.handle_datagram(now, datagram).map(|()| None),
        };
        let Some(idx) = self.core.read.iter().position(|r| r.epoch == hdr.epoch) else {
            return self.handle_datagram(now, datagram).map(|()| None);
        };
        let stats = &mut self.core.stats;
        stats.datagrams_in += 1;
        stats.bytes_in += datagram.len() as u64;
        stats.records_in += 1;
        let epoch = &mut self.core.read[idx];
        if !epoch.window.check(hdr.seq) {
            stats.dropped.replayed += 1;
            return Ok(None);
        }
        match epoch.cipher.open(&hdr, &mut datagram[HEADER_LEN..]) {
            Ok(range) => {
                epoch.window.update(hdr.seq);
                Ok(Some(
                    &datagram[HEADER_LEN + range.start..HEADER_LEN + range.end],
                ))
            }
            Err(_) => match self.auth_failed(idx) {
                Ok(()) => Ok(None),
                Err(e) => Err(self.fail(e)),
            },
        }
    }

    /// What `send` and `seal_into` both require: the handshake done, the association open,
    /// and a record that fits the MTU.
    fn check_sendable(&self, data: &[u8]) -> Result<(), Error> {
        match &self.state {
            State::Connected => {}
            State::Failed(e) => return Err(e.clone()),
            State::Closed => return Err(Error::Closed),
            _ => return Err(Error::NotConnected),
        }
        if data.len() > self.max_send_len() {
            return Err(Error::InvalidArgument("record larger than the MTU allows"));
        }
        Ok(())
    }

    /// Copies the next received application record into `buf`; `Ok(None)` when none is
    /// waiting. `BufferTooSmall { needed }` keeps the record.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        if !self.core.connected {
            return Ok(None);
        }
        let Some(needed) = self.core.app_in.front_len() else {
            return Ok(None);
        };
        let Some(n) = self.core.app_in.copy_front(buf) else {
            return Err(Error::BufferTooSmall { needed });
        };
        self.core.app_in.pop_front();
        Ok(Some(n))
    }

    /// Queues close_notify; nothing more is accepted afterwards.
    pub fn close(&mut self) -> Result<(), Error> {
        if let Some(e) = self.dead() {
            return Err(e);
        }
        if !self.core.close_sent {
            if self.is_connected() {
                self.core.flush_app_out();
            }
            self.core
                .queue_alert(Alert::warning(AlertDescription::CloseNotify));
            self.core.close_sent = true;
        }
        self.core.app_out.clear();
        self.core.flight.clear();
        self.core.timer.stop();
        self.state = State::Closed;
        Ok(())
    }

    /// SRTP master keys and salts for the negotiated profile (RFC 5764 §4.2).
    pub fn srtp_keying_material(&self) -> Result<crate::srtp::SrtpKeyingMaterial, Error> {
        let n = self
            .core
            .negotiated
            .as_ref()
            .ok_or(Error::ExporterUnavailable)?;
        let id = n
            .srtp_profile
            .ok_or(Error::InvalidArgument("use_srtp was not negotiated"))?;
        let p = crate::srtp::profile(id)
            .ok_or(Error::Internal("negotiated an unknown SRTP profile"))?;
        let mut out = zeroize::Zeroizing::new(vec![0u8; 2 * (p.key_len + p.salt_len)]);
        self.export_keying_material(crate::srtp::EXPORTER_LABEL, None, &mut out)?;
        Ok(crate::srtp::SrtpKeyingMaterial::new(
            p,
            n.srtp_mki.clone(),
            out,
        ))
    }

    /// RFC 5705 keying material exporter (`EXTRACTOR-dtls_srtp` for DTLS-SRTP).
    pub fn export_keying_material(
        &self,
        label: &[u8],
        context: Option<&[u8]>,
        out: &mut [u8],
    ) -> Result<(), Error> {
        match (&self.core.keys, self.core.connected) {
            (Some(k), true) => k.export(label, context, out),
            _ => Err(Error::ExporterUnavailable),
        }
    }
}
