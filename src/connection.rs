//! One DTLS association, either role. The caller owns the socket and the clock:
//! feed datagrams in, poll datagrams and events out, and call `handle_timeout` at the deadline.

use crate::cert::Fingerprint;
use crate::common::{Common, Status};
use crate::config::Config;
use crate::crypto::rng::Rng;
use crate::dtls12::machine::Dtls12;
use crate::dtls13::machine::Dtls13;
use crate::error::Error;
use crate::event::{Event, Negotiated};
use crate::handshake::reassembly::{Fragment, Insert};
use crate::msgs::alert::Alert;
use crate::msgs::codec::Codec;
use crate::msgs::codec::Reader;
use crate::msgs::enums::{AlertDescription, AlertLevel, ContentType, ProtocolVersion};
use crate::msgs::handshake::{ClientHello, HandshakeHeader};
use crate::msgs::record::{RecordHeader, Records, HEADER_LEN};
use crate::msgs::record13::{Header13, RecordCursor, UnifiedHeader};
use crate::record::layer::Opened;
use crate::record::protect13::Open13Error;
use crate::stats::Stats;
use crate::time::Millis;
use crate::types::Epoch;
use std::sync::Arc;

pub use crate::types::Role;

/// The version-specific handshake machine behind the facade.
enum Machine {
    /// A server that offers both versions, until a whole ClientHello says which one.
    Pending,
    V12(Dtls12),
    V13(Box<Dtls13>),
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
    common: Common,
    machine: Machine,
}

/// Shows where the association stands, never its keys, transcript or buffered data.
impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.common.role)
            .field("connected", &self.is_connected())
            .field("status", &self.common.status)
            .field("negotiated", &self.common.negotiated)
            .field("stats", &self.common.stats)
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
        let mut common = Common::new(config, role, server_name.map(str::to_owned), rng, now);
        let v12 = common.cfg.versions.contains(&ProtocolVersion::Dtls12);
        let v13 = common.cfg.versions.contains(&ProtocolVersion::Dtls13);
        let machine = match (role, v13) {
            (_, false) => Machine::V12(Dtls12::start(&mut common, now)?),
            (Role::Client, true) => {
                Machine::V13(Box::new(Dtls13::start_client(&mut common, now, v12)?))
            }
            (Role::Server, true) => Machine::Pending,
        };
        Ok(Connection { common, machine })
    }

    /// Binds the server's cookie to the peer's transport address (any stable encoding).
    pub fn set_peer_address(&mut self, addr: &[u8]) {
        self.common.peer_addr = addr.to_vec();
    }

    /// Pins a peer certificate fingerprint in SDP form, `"sha-256 AB:CD:..."`.
    pub fn add_peer_fingerprint(&mut self, sdp: &str) -> Result<(), Error> {
        let fp = Fingerprint::parse_sdp(sdp)?;
        self.common.peer_fingerprints.push(fp);
        Ok(())
    }

    /// The role fixed at construction.
    pub fn role(&self) -> Role {
        self.common.role
    }

    /// True once the handshake has completed (and until close or failure).
    pub fn is_connected(&self) -> bool {
        self.common.is_connected()
    }

    /// True after close_notify (either way) or a fatal error.
    pub fn is_closed(&self) -> bool {
        matches!(self.common.status, Status::Closed | Status::Failed(_))
    }

    /// What the handshake negotiated, once complete.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.common.negotiated.as_ref()
    }

    /// The peer's certificate chain (DER, leaf first), once received and verified.
    pub fn peer_certificates(&self) -> &[Vec<u8>] {
        &self.common.peer_certs
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let mut s = self.common.stats.clone();
        s.negotiated = self.common.negotiated.clone();
        s
    }

    /// The largest application payload `send` accepts with the current MTU and suite.
    pub fn max_send_len(&self) -> usize {
        let overhead = self.common.records.write_overhead();
        (self.common.mtu as usize).saturating_sub(overhead)
    }

    /// Changes the MTU (for example after path MTU discovery). Later datagrams, flight
    /// retransmissions included, are fragmented to the new size.
    pub fn set_mtu(&mut self, mtu: u16) -> Result<(), Error> {
        if mtu < 128 {
            return Err(Error::InvalidArgument("mtu below 128"));
        }
        self.common.mtu = mtu;
        Ok(())
    }

    fn dead(&self) -> Option<Error> {
        match &self.common.status {
            Status::Failed(e) => Some((**e).clone()),
            _ => None,
        }
    }

    /// Processes one whole UDP datagram. Junk is dropped and counted; an `Err` is fatal (a
    /// fatal alert may still wait in `poll_transmit`).
    pub fn handle_datagram(&mut self, now: Millis, datagram: &[u8]) -> Result<(), Error> {
        if let Some(e) = self.dead() {
            return Err(e);
        }
        self.common.stats.datagrams_in += 1;
        self.common.stats.bytes_in += datagram.len() as u64;
        if self.common.status == Status::Closed {
            // After close_notify nothing more is accepted or answered, not even a
            // retransmitted flight (RFC 5246 §7.2.1).
            self.common.stats.dropped.unexpected += 1;
            return Ok(());
        }
        self.common.retransmit_requested = false;
        self.common.retransmit_urgent = false;
        if self.common.cfg.versions.contains(&ProtocolVersion::Dtls13) {
            return self.handle_datagram13(now, datagram);
        }
        let mut records = Records::new(datagram);
        for (hdr, body, whole) in records.by_ref() {
            self.common.stats.records_in += 1;
            if let Err(e) = self
                .process_record(now, hdr, body, whole)
                .and_then(|()| self.replay_deferred(now))
            {
                return Err(self.fail(e));
            }
        }
        if records.truncated() {
            self.common.stats.dropped.malformed += 1;
        }
        if self.common.retransmit_requested {
            self.common.retransmit_on_peer_request(now);
        }
        Ok(())
    }

    /// A datagram when DTLS 1.3 is enabled: DTLSPlaintext records take the 1.2 path (epoch
    /// 0, or a 1.2 association), unified-header records the 1.3 one.
    fn handle_datagram13(&mut self, now: Millis, datagram: &[u8]) -> Result<(), Error> {
        let mut cursor = RecordCursor::new(0);
        while let Some(span) = cursor.next(datagram) {
            self.common.stats.records_in += 1;
            let (Some(hb), Some(body)) = (
                datagram.get(span.header_range.clone()),
                datagram.get(span.body_range.clone()),
            ) else {
                break;
            };
            let r = match span.header {
                Header13::Plaintext(header) => {
                    let whole = &datagram[span.header_range.start..span.body_range.end];
                    self.process_record(now, header, body, whole)
                }
                Header13::Ciphertext(header) => self.process_record13(now, &header, hb, body),
            };
            if let Err(e) = r.and_then(|()| self.replay_deferred(now)) {
                return Err(self.fail(e));
            }
        }
        if cursor.truncated() {
            self.common.stats.dropped.malformed += 1;
        }
        if self.common.retransmit_requested {
            self.common.retransmit_on_peer_request(now);
        }
        Ok(())
    }

    /// A DTLS 1.3 protected record: opened through the record layer's one 1.3 path, into the
    /// receive queue when it may be application data, then dispatched on its inner type.
    fn process_record13(
        &mut self,
        now: Millis,
        header: &UnifiedHeader,
        header_bytes: &[u8],
        encrypted: &[u8],
    ) -> Result<(), Error> {
        if self.common.status == Status::Closed || !matches!(self.machine, Machine::V13(_)) {
            self.common.stats.dropped.unexpected += 1;
            return Ok(());
        }
        let Some(idx) = self.common.records.read_index13(header.epoch_bits) else {
            let max = self.common.cfg.limits.max_deferred_records;
            let mut whole = header_bytes.to_vec();
            whole.extend_from_slice(encrypted);
            if !(self.common.is_handshaking() && self.common.records.defer_any(whole, max)) {
                self.common.stats.dropped.bad_epoch += 1;
            }
            if let Machine::V13(m) = &mut self.machine {
                m.record_unreadable(&self.common, now);
            }
            return Ok(());
        };
        let epoch = self.common.records.read_epoch_at(idx);
        let mut hb = [0u8; 32];
        let Some(hb) = hb.get_mut(..header_bytes.len()) else {
            self.common.stats.dropped.malformed += 1;
            return Ok(());
        };
        hb.copy_from_slice(header_bytes);
        let max_auth = self.common.cfg.limits.max_auth_failures;
        let limits = self.common.cfg.limits;
        // Application data exists only from the first application epoch on (RFC 9147 §6.1:
        // epoch 2 carries the handshake); what opens in an earlier epoch is refused below.
        let app_epoch = epoch >= crate::dtls13::EPOCH_APPLICATION;
        let queue_ok = self.common.is_connected()
            && app_epoch
            && self.common.app_in.len() < limits.max_received_records
            && self.common.app_in.bytes() + encrypted.len() <= limits.max_received_bytes;
        // What opened and was not application data, copied out of the queue's slot.
        let mut other: Option<(ContentType, Vec<u8>)> = None;
        let Common {
            records, app_in, ..
        } = &mut self.common;
        let opened = if queue_ok {
            records.open13_with(idx, header, hb, encrypted, max_auth, |c, seq, aad| {
                let r = app_in.push_opened(encrypted, |slot| {
                    let o = c.open_decrypted(seq, aad, slot).map_err(Some)?;
                    if o.content_type == ContentType::ApplicationData {
                        Ok(o.range)
                    } else {
                        other = Some((o.content_type, slot[o.range].to_vec()));
                        Err(None)
                    }
                });
                match r {
                    Ok(_) | Err(None) => Ok(()),
                    Err(Some(e)) => Err(e),
                }
            })?
        } else {
            records.open13_with(idx, header, hb, encrypted, max_auth, |c, seq, aad| {
                let mut buf = encrypted.to_vec();
                let o = c.open_decrypted(seq, aad, &mut buf)?;
                other = Some((o.content_type, buf[o.range].to_vec()));
                Ok::<(), Open13Error>(())
            })?
        };
        let Some((seq, ())) = self.count(opened) else {
            return Ok(());
        };
        let Some((ct, plain)) = other else {
            return Ok(());
        };
        match ct {
            // Authentic, so only the peer can have sent it: an unexpected record type, fatal
            // (RFC 8446 §5, unexpected_message).
            ContentType::ApplicationData if !app_epoch => {
                Err(Error::unexpected("application data under handshake keys"))
            }
            ContentType::ApplicationData => {
                // Only while the queue had no room: dropped like any overflow.
                self.common.stats.dropped.overflow += 1;
                Ok(())
            }
            ContentType::Ack => {
                let Connection { common, machine } = self;
                match machine {
                    Machine::V13(m) => m.handle_ack(common, now, epoch, &plain),
                    _ => Ok(()),
                }
            }
            ContentType::Alert => self.handle_alert13(epoch, &plain),
            ContentType::Handshake => self.handshake13(now, epoch, seq, &plain),
            _ => {
                self.common.stats.dropped.unexpected += 1;
                Ok(())
            }
        }
    }

    /// A protected DTLS 1.3 alert. RFC 8446 §6.2: error alerts "MUST be treated as error
    /// alerts when received regardless of the AlertLevel"; only the closure alerts
    /// (close_notify, user_canceled, §6.1) may come as warnings.
    fn handle_alert13(&mut self, epoch: Epoch, payload: &[u8]) -> Result<(), Error> {
        if let Some(a) = Alert::from_bytes(payload) {
            let closure = matches!(
                a.description,
                AlertDescription::CloseNotify | AlertDescription::UserCanceled
            );
            if epoch > 0 && !closure {
                return Err(Error::AlertReceived(a.description));
            }
        }
        self.handle_alert(epoch, payload)
    }

    /// Handshake records for the 1.3 machine, and the hand-over to 1.2 when a hybrid
    /// ClientHello was answered by a 1.2 server.
    fn handshake13(
        &mut self,
        now: Millis,
        epoch: Epoch,
        seq: u64,
        payload: &[u8],
    ) -> Result<(), Error> {
        let Connection { common, machine } = self;
        let Machine::V13(m) = machine else {
            return Ok(());
        };
        if let Some(d) = m.handle_handshake_record(common, now, epoch, seq, payload)? {
            let m12 = Dtls12::resume_client(
                common,
                now,
                d.random,
                d.last_hvr,
                d.offered,
                d.server_hello,
            )?;
            *machine = Machine::V12(m12);
        }
        Ok(())
    }

    /// A server that offers both versions reassembles the ClientHello (plaintext, epoch 0)
    /// and picks the version from all of it: `supported_versions` may sit in a later fragment.
    fn pending_hello(&mut self, now: Millis, record_seq: u64, payload: &[u8]) -> Result<(), Error> {
        let mut r = Reader::new(payload);
        while !r.is_empty() {
            let Some(h) = HandshakeHeader::read(&mut r) else {
                self.common.stats.dropped.malformed += 1;
                return Ok(());
            };
            let Some(data) = r.take(h.frag_len as usize) else {
                self.common.stats.dropped.malformed += 1;
                return Ok(());
            };
            if h.msg_type != crate::msgs::enums::HandshakeType::ClientHello {
                self.common.stats.dropped.unexpected += 1;
                continue;
            }
            if self.common.reasm.buffered_bytes() == 0 && h.msg_seq != self.common.reasm.next_seq()
            {
                // A ClientHello2 that a stateless front door admitted starts at message_seq 1
                // (RFC 9147 §5.2); the first ClientHello fragment sets where we start.
                self.common.reasm.set_next_seq(h.msg_seq);
            }
            let frag = Fragment {
                msg_type: h.msg_type.get(),
                length: h.length,
                msg_seq: h.msg_seq,
                frag_off: h.frag_off,
                frag_len: h.frag_len,
                epoch: 0,
                data,
            };
            if let Insert::Dropped(_) = self.common.reasm.insert(frag) {
                self.common.stats.dropped.reassembly += 1;
            }
        }
        let Some(msg) = self.common.reasm.pop() else {
            return Ok(());
        };
        let Ok(ch) = ClientHello::decode(&msg.body) else {
            self.common.stats.dropped.malformed += 1;
            self.common.reasm.unpop(msg.msg_seq);
            return Ok(());
        };
        let v12 = self.common.cfg.versions.contains(&ProtocolVersion::Dtls12);
        self.machine = if crate::dtls13::server::offers_13(&ch) {
            // A ClientHello2 admitted by a stateless front door: its HelloRetryRequest took
            // the record number of ClientHello1, so ours continue from ClientHello2's rather
            // than repeat it (a client's replay window would drop them; RFC 6347 §4.2.1).
            self.common.records.skip_plaintext_seq_to(record_seq);
            Machine::V13(Box::new(Dtls13::accept_hello(&mut self.common, now, msg)?))
        } else if v12 {
            Machine::V12(Dtls12::accept_hello(
                &mut self.common,
                now,
                msg,
                record_seq,
            )?)
        } else {
            return Err(Error::misbehaved(
                AlertDescription::ProtocolVersion,
                "client does not offer DTLS 1.3",
            ));
        };
        Ok(())
    }

    fn process_record(
        &mut self,
        now: Millis,
        hdr: RecordHeader,
        body: &[u8],
        whole: &[u8],
    ) -> Result<(), Error> {
        if self.common.status == Status::Closed {
            // "Any data received after a closure alert is ignored" (RFC 5246 §7.2.1), even
            // later in the datagram that carried it.
            self.common.stats.dropped.unexpected += 1;
            return Ok(());
        }
        // DTLS 1.0's version is allowed in epoch 0 only (HelloVerifyRequest, old ClientHellos).
        let version_ok = hdr.version == ProtocolVersion::Dtls12.get()
            || (hdr.epoch == 0 && hdr.version == ProtocolVersion::Dtls10.get());
        if !version_ok {
            self.common.stats.dropped.bad_epoch += 1;
            return Ok(());
        }
        let epoch = Epoch::from(hdr.epoch);
        if epoch == 0 {
            return self.dispatch(now, hdr.content_type, 0, hdr.seq, body);
        }
        let Some(idx) = self.common.records.read_index(epoch) else {
            let handshaking = self.common.is_handshaking();
            let max = self.common.cfg.limits.max_deferred_records;
            if !(handshaking && self.common.records.defer(epoch, whole, max)) {
                self.common.stats.dropped.bad_epoch += 1;
            }
            // RFC 6347 §4.2.4: data in the next epoch before its Finished means our peer has
            // finished and its last flight was lost or is late; resend ours now rather than at
            // the next timeout, so the peer resends its own. (Rate-limited like any
            // peer-prompted retransmission.)
            if hdr.content_type == ContentType::ApplicationData && handshaking {
                self.common.retransmit_requested = true;
            }
            return Ok(());
        };
        if hdr.content_type == ContentType::ApplicationData {
            return self.receive_app_record(idx, &hdr, body);
        }
        let max_auth = self.common.cfg.limits.max_auth_failures;
        // Finished, alerts, a refused renegotiation: rare, so they are opened in a copy.
        let mut plain = body.to_vec();
        let opened = self
            .common
            .records
            .open_with(idx, hdr.seq, max_auth, |c| c.open(&hdr, &mut plain))?;
        match self.count(opened) {
            Some(range) => self.dispatch(now, hdr.content_type, epoch, hdr.seq, &plain[range]),
            None => Ok(()),
        }
    }

    /// Counts a record that did not open; passes on the result of one that did.
    fn count<T>(&mut self, opened: Opened<T>) -> Option<T> {
        match opened {
            Opened::Ok(v) => Some(v),
            Opened::Replayed => {
                self.common.stats.dropped.replayed += 1;
                None
            }
            Opened::AuthFailed => {
                self.common.stats.dropped.auth_failed += 1;
                None
            }
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
        let common = &mut self.common;
        let limits = &common.cfg.limits;
        let payload_len =
            (HEADER_LEN + body.len()).saturating_sub(common.records.read_overhead(idx));
        if common.app_in.len() >= limits.max_received_records
            || common.app_in.bytes() + payload_len > limits.max_received_bytes
        {
            // Not opened: a record that cannot be kept is not worth an AEAD open, and its
            // sequence number stays unused, so a retransmission could still get in.
            common.stats.dropped.overflow += 1;
            return Ok(());
        }
        let Common {
            records, app_in, ..
        } = common;
        let max_auth = limits.max_auth_failures;
        let opened = records.open_with(idx, hdr.seq, max_auth, |c| {
            app_in.push_opened(body, |slot| c.open(hdr, slot))
        })?;
        if self.count(opened).is_some() && self.common.is_handshaking() {
            // RFC 6347 §4.2.4: authenticated data before the peer's Finished means the peer
            // has finished and its last flight was lost: resend ours now (the peer answers
            // with its own) instead of waiting out the backed-off timer.
            self.common.retransmit_requested = true;
            self.common.retransmit_urgent = true;
        }
        Ok(())
    }

    fn dispatch(
        &mut self,
        now: Millis,
        ct: ContentType,
        epoch: Epoch,
        record_seq: u64,
        payload: &[u8],
    ) -> Result<(), Error> {
        let Connection { common, machine } = self;
        match (ct, machine) {
            (ContentType::Handshake, Machine::V12(m)) => {
                m.handle_handshake_record(common, now, epoch, record_seq, payload)
            }
            (ContentType::Handshake, Machine::V13(_)) if epoch == 0 => {
                self.handshake13(now, epoch, record_seq, payload)
            }
            (ContentType::Ack, Machine::V13(m)) if epoch == 0 => {
                m.handle_ack(common, now, 0, payload)
            }
            (ContentType::Handshake, Machine::Pending) if epoch == 0 => {
                self.pending_hello(now, record_seq, payload)
            }
            (ContentType::ChangeCipherSpec, Machine::V12(m)) => {
                m.handle_ccs(common, now, epoch, payload)
            }
            (ContentType::Alert, _) => self.handle_alert(epoch, payload),
            _ => {
                // Plaintext application data is never accepted (receive_app_record takes the
                // protected kind), and nothing else belongs in a DTLS 1.2 record.
                self.common.stats.dropped.unexpected += 1;
                Ok(())
            }
        }
    }

    fn handle_alert(&mut self, epoch: Epoch, payload: &[u8]) -> Result<(), Error> {
        let Some(alert) = Alert::from_bytes(payload) else {
            self.common.stats.dropped.malformed += 1;
            return Ok(());
        };
        if epoch == 0 {
            // Unauthenticated: anyone can forge it. Remember it as the likely reason should
            // the handshake time out, but never act on it.
            if alert.level == AlertLevel::Fatal && !self.is_connected() {
                self.common.likely_alert = Some(alert.description);
            }
            self.common.stats.dropped.unexpected += 1;
            return Ok(());
        }
        if alert.description == AlertDescription::CloseNotify {
            if self.common.status != Status::Closed {
                self.common.events.push_back(Event::CloseNotify);
                if !self.common.close_sent {
                    self.common
                        .queue_alert(Alert::warning(AlertDescription::CloseNotify));
                    self.common.close_sent = true;
                }
                self.common.status = Status::Closed;
            }
            return Ok(());
        }
        if alert.level == AlertLevel::Fatal {
            return Err(Error::AlertReceived(alert.description));
        }
        Ok(())
    }

    /// Records that arrived before their epoch's keys: process them once keys changed.
    fn replay_deferred(&mut self, now: Millis) -> Result<(), Error> {
        while self.common.records.keys_changed {
            self.common.records.keys_changed = false;
            for rec in self.common.records.take_deferred() {
                if self.common.cfg.versions.contains(&ProtocolVersion::Dtls13) {
                    let mut cursor = RecordCursor::new(0);
                    while let Some(span) = cursor.next(&rec) {
                        let (Some(hb), Some(body)) = (
                            rec.get(span.header_range.clone()),
                            rec.get(span.body_range.clone()),
                        ) else {
                            break;
                        };
                        match span.header {
                            Header13::Plaintext(h) => self.process_record(now, h, body, &rec)?,
                            Header13::Ciphertext(h) => self.process_record13(now, &h, hb, body)?,
                        }
                    }
                    continue;
                }
                for (hdr, body, whole) in Records::new(&rec) {
                    self.process_record(now, hdr, body, whole)?;
                }
            }
        }
        Ok(())
    }

    /// Marks the association failed, queues the fatal alert, and reports the event.
    fn fail(&mut self, e: Error) -> Error {
        if let Some(alert) = e.alert() {
            self.common.queue_alert(Alert::fatal(alert));
        }
        self.common.flight.clear();
        self.common.timer.stop();
        self.common.events.push_back(Event::Failed(e.clone()));
        self.common.status = Status::Failed(Box::new(e.clone()));
        e
    }

    /// Writes the next datagram into `buf`; `Ok(None)` when nothing is pending. A buffer too
    /// small for the next datagram gives `BufferTooSmall { needed }` and loses nothing.
    pub fn poll_transmit(&mut self, now: Millis, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        if let Machine::V13(m) = &mut self.machine {
            // RFC 9147 §4.5.3: update the keys before their usage limit instead of ending.
            if self.common.is_connected() && m.wants_key_update(&self.common) {
                let req = crate::msgs::enums::KeyUpdateRequest::UpdateNotRequested;
                m.send_key_update(&mut self.common, now, req)?;
            }
        }
        if let Some(d) = self.common.out_datagrams.front() {
            if d.len() > buf.len() {
                return Err(Error::BufferTooSmall { needed: d.len() });
            }
            let n = d.len();
            buf[..n].copy_from_slice(d);
            self.common.out_datagrams.pop_front();
            self.common.count_out(n);
            return Ok(Some(n));
        }
        if matches!(self.common.status, Status::Failed(_)) {
            return Ok(None);
        }
        if self.common.flight.pending() {
            let d = self.common.build_flight_datagram()?;
            if !d.is_empty() {
                self.common.out_datagrams.push_back(d);
                return self.poll_transmit(now, buf);
            }
        }
        if self.is_connected() {
            if let Some(n) = self.common.seal_next_app(buf)? {
                self.common.count_out(n);
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        let ev = self.common.events.pop_front();
        if self.common.events.is_empty() && !self.common.is_handshaking() {
            // After the handshake events are rare (a close, a failure): give the queue's
            // room back rather than keep it for the association's lifetime.
            self.common.events = std::collections::VecDeque::new();
        }
        ev
    }

    /// The next absolute deadline at which `handle_timeout` must be called.
    pub fn next_timeout(&self) -> Option<Millis> {
        if self.common.is_connected() {
            // DTLS 1.3: our last flight or a KeyUpdate waits for its ACK (RFC 9147 §5.8).
            return self.common.timer.deadline();
        }
        if !self.common.is_handshaking() {
            return None;
        }
        let hs = self.common.hs_deadline;
        let t = self.common.timer.deadline().map_or(hs, |t| hs.min(t));
        Some(match &self.machine {
            Machine::V13(m) => m.ack_deadline().map_or(t, |a| t.min(a)),
            _ => t,
        })
    }

    /// Retransmits or fails the handshake as the clock demands; a no-op before the deadline.
    pub fn handle_timeout(&mut self, now: Millis) -> Result<(), Error> {
        if let Some(e) = self.dead() {
            return Err(e);
        }
        if self.common.is_connected() {
            if self.common.timer.is_expired(now) {
                self.common.timer.backoff();
                self.common.timer.arm(now);
                self.common.flight.start();
                self.common.stats.retransmissions += 1;
            }
            return Ok(());
        }
        if !self.common.is_handshaking() {
            return Ok(());
        }
        if now >= self.common.hs_deadline {
            let e = Error::HandshakeTimeout {
                likely_reason: self.common.likely_alert,
            };
            return Err(self.fail(e));
        }
        if let Machine::V13(m) = &mut self.machine {
            m.handle_timeout(&mut self.common, now);
        }
        if self.common.timer.is_expired(now) {
            self.common.reasm.clear_conflicted();
            self.common.timer.backoff();
            self.common.timer.arm(now);
            self.common.flight.start();
            self.common.stats.retransmissions += 1;
        }
        Ok(())
    }

    /// Queues one application record. Fails with `InvalidArgument` (not fatal) when `data`
    /// exceeds [`Connection::max_send_len`].
    pub fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        self.check_sendable(data)?;
        if self.common.app_out.len() >= self.common.cfg.limits.max_queued_records {
            return Err(Error::InvalidArgument(
                "send queue full; poll_transmit first",
            ));
        }
        self.common.app_out.push(data);
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
        if !self.common.app_out.is_empty() {
            return Err(Error::InvalidArgument(
                "records queued by send come first; poll_transmit them",
            ));
        }
        let n = self.common.seal_app_from(data, out)?;
        self.common.count_out(n);
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
        let fast = self.common.is_connected() && self.common.app_in.is_empty();
        if fast && matches!(self.machine, Machine::V13(_)) {
            return self.open_in_place13(now, datagram);
        }
        let hdr = match Records::new(datagram).next() {
            Some((hdr, body, _))
                if fast
                    && hdr.content_type == ContentType::ApplicationData
                    && hdr.version == ProtocolVersion::Dtls12.get()
                    && HEADER_LEN + body.len() == datagram.len() =>
            {
                hdr
            }
            _ => return self.handle_datagram(now, datagram).map(|()| None),
        };
        let Some(idx) = self.common.records.read_index(Epoch::from(hdr.epoch)) else {
            return self.handle_datagram(now, datagram).map(|()| None);
        };
        let stats = &mut self.common.stats;
        stats.datagrams_in += 1;
        stats.bytes_in += datagram.len() as u64;
        stats.records_in += 1;
        let body = &mut datagram[HEADER_LEN..];
        let max_auth = self.common.cfg.limits.max_auth_failures;
        let opened = self
            .common
            .records
            .open_with(idx, hdr.seq, max_auth, |c| c.open(&hdr, body));
        match opened {
            Ok(o) => Ok(self
                .count(o)
                .map(|r| &datagram[HEADER_LEN + r.start..HEADER_LEN + r.end])),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The DTLS 1.3 fast path: one unified-header record filling the datagram, opened where
    /// it lies. Anything else, or a record that turns out not to be application data, takes the
    /// ordinary path.
    fn open_in_place13<'a>(
        &mut self,
        now: Millis,
        datagram: &'a mut [u8],
    ) -> Result<Option<&'a [u8]>, Error> {
        let mut cursor = RecordCursor::new(0);
        let span = match cursor.next(datagram) {
            Some(span) if span.body_range.end == datagram.len() => span,
            _ => return self.handle_datagram(now, datagram).map(|()| None),
        };
        let Header13::Ciphertext(header) = span.header else {
            return self.handle_datagram(now, datagram).map(|()| None);
        };
        let Some(idx) = self.common.records.read_index13(header.epoch_bits) else {
            return self.handle_datagram(now, datagram).map(|()| None);
        };
        let stats = &mut self.common.stats;
        stats.datagrams_in += 1;
        stats.bytes_in += datagram.len() as u64;
        stats.records_in += 1;
        let epoch = self.common.records.read_epoch_at(idx);
        let body_start = span.body_range.start;
        let Some((hb, body)) = span.split_mut(datagram) else {
            self.common.stats.dropped.malformed += 1;
            return Ok(None);
        };
        let max_auth = self.common.cfg.limits.max_auth_failures;
        let mut sample = [0u8; crate::record::protect13::SAMPLE_LEN];
        let n = sample.len().min(body.len());
        sample[..n].copy_from_slice(&body[..n]);
        let opened = self.common.records.open13_with(
            idx,
            &header,
            hb,
            &sample[..n],
            max_auth,
            |c, seq, aad| c.open_decrypted(seq, aad, body),
        );
        let opened = match opened {
            Ok(o) => o,
            Err(e) => return Err(self.fail(e)),
        };
        let Some((seq, o)) = self.count(opened) else {
            return Ok(None);
        };
        let range = body_start + o.range.start..body_start + o.range.end;
        if o.content_type == ContentType::ApplicationData {
            if epoch < crate::dtls13::EPOCH_APPLICATION {
                // As in `process_record13`: never data under handshake keys (RFC 9147 §6.1).
                let e = Error::unexpected("application data under handshake keys");
                return Err(self.fail(e));
            }
            return Ok(Some(&datagram[range]));
        }
        let plain = datagram[range].to_vec();
        let r = match o.content_type {
            ContentType::Ack => {
                let Connection { common, machine } = self;
                match machine {
                    Machine::V13(m) => m.handle_ack(common, now, epoch, &plain),
                    _ => Ok(()),
                }
            }
            ContentType::Alert => self.handle_alert13(epoch, &plain),
            ContentType::Handshake => self.handshake13(now, epoch, seq, &plain),
            _ => {
                self.common.stats.dropped.unexpected += 1;
                Ok(())
            }
        };
        match r {
            Ok(()) => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// What `send` and `seal_into` both require: the handshake done, the association open,
    /// and a record that fits the MTU.
    fn check_sendable(&self, data: &[u8]) -> Result<(), Error> {
        match &self.common.status {
            Status::Connected => {}
            Status::Failed(e) => return Err((**e).clone()),
            Status::Closed => return Err(Error::Closed),
            Status::Handshaking => return Err(Error::NotConnected),
        }
        if data.len() > self.max_send_len() {
            return Err(Error::InvalidArgument("record larger than the MTU allows"));
        }
        Ok(())
    }

    /// Copies the next received application record into `buf`; `Ok(None)` when none is
    /// waiting. `BufferTooSmall { needed }` keeps the record.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        if self.common.is_handshaking() {
            return Ok(None);
        }
        let Some(needed) = self.common.app_in.front_len() else {
            return Ok(None);
        };
        let Some(n) = self.common.app_in.copy_front(buf) else {
            return Err(Error::BufferTooSmall { needed });
        };
        self.common.app_in.pop_front();
        Ok(Some(n))
    }

    /// Queues close_notify; nothing more is accepted afterwards.
    pub fn close(&mut self) -> Result<(), Error> {
        if let Some(e) = self.dead() {
            return Err(e);
        }
        if !self.common.close_sent {
            if self.is_connected() {
                self.common.flush_app_out();
            }
            self.common
                .queue_alert(Alert::warning(AlertDescription::CloseNotify));
            self.common.close_sent = true;
        }
        self.common.app_out.clear();
        self.common.flight.clear();
        self.common.timer.stop();
        self.common.status = Status::Closed;
        Ok(())
    }

    /// SRTP master keys and salts for the negotiated profile (RFC 5764 §4.2).
    pub fn srtp_keying_material(&self) -> Result<crate::srtp::SrtpKeyingMaterial, Error> {
        let n = self
            .common
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
        match &self.machine {
            Machine::V12(m) => m.export(label, context, out),
            Machine::V13(m) => m.export(label, context, out),
            Machine::Pending => Err(Error::ExporterUnavailable),
        }
    }

    /// Updates our sending keys (DTLS 1.3, RFC 9147 §8), asking the peer to update its own
    /// when `request_peer` is set. The switch happens once the peer acknowledges. DTLS 1.2 has
    /// no key update: `InvalidArgument`.
    pub fn key_update(&mut self, now: Millis, request_peer: bool) -> Result<(), Error> {
        if !self.is_connected() {
            return Err(Error::NotConnected);
        }
        let req = if request_peer {
            crate::msgs::enums::KeyUpdateRequest::UpdateRequested
        } else {
            crate::msgs::enums::KeyUpdateRequest::UpdateNotRequested
        };
        match &mut self.machine {
            Machine::V13(m) => m.send_key_update(&mut self.common, now, req),
            _ => Err(Error::InvalidArgument("key update needs DTLS 1.3")),
        }
    }
}
