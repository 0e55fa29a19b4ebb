//! The DTLS 1.3 machine behind the facade: the client or server state, the application
//! secrets once the handshake is done, acknowledgements (RFC 9147 §7) and KeyUpdate (§8).
//!
//! ```text
//!   handshake:  ClientHello .. {Finished}  ->  {Certificate* CertificateVerify* Finished}
//!               <- [ACK]                       (the client's last flight is acknowledged)
//!   afterwards: [KeyUpdate] -> <- [ACK]        (the sender switches keys once acknowledged)
//! ```

use super::client::{self, ClientState, Established};
use super::server::{self, ServerState};
use super::{cipher_from, decode13};
use crate::common::Common;
use crate::error::Error;
use crate::handshake::reassembly::{Fragment, Insert, Message};
use crate::msgs::ack::{Ack, RecordNumber, MAX_ACK_RECORD_NUMBERS};
use crate::msgs::codec::Codec;
use crate::msgs::codec::Reader;
use crate::msgs::enums::{ContentType, ExtensionType, HandshakeType, KeyUpdateRequest};
use crate::msgs::handshake::HandshakeHeader;
use crate::msgs::handshake13::KeyUpdate;
use crate::time::Millis;
use crate::types::{Epoch, Role};

enum State {
    Client(ClientState),
    Server(ServerState),
    Done,
    Poisoned,
}

/// The server answered a hybrid ClientHello as DTLS 1.2: the facade hands over to the 1.2
/// client with this.
pub(crate) struct Downgrade {
    pub random: [u8; 32],
    pub last_hvr: Option<Millis>,
    pub offered: Vec<ExtensionType>,
    pub server_hello: Message,
}

/// One DTLS 1.3 handshake and the association it leaves.
pub(crate) struct Dtls13 {
    state: State,
    est: Option<Box<Established>>,
    /// Handshake records of the peer's current flight, to acknowledge.
    to_ack: Vec<RecordNumber>,
    /// Our KeyUpdate waits for its ACK before we switch keys (RFC 9147 §8).
    key_update_sent: bool,
    /// When to acknowledge a partly received flight (RFC 9147 §7.1: a quarter of the
    /// retransmission timer after its first record, unless our answering flight goes first).
    ack_due: Option<Millis>,
    /// A record arrived that we cannot decrypt yet: an empty ACK is due at this time unless
    /// the ServerHello turns up first (RFC 9147 §7.1).
    empty_ack_at: Option<Millis>,
}

impl Dtls13 {
    /// A client sends its (possibly hybrid) ClientHello at once.
    pub fn start_client(common: &mut Common, now: Millis, hybrid: bool) -> Result<Self, Error> {
        common
            .transcript
            .set_kind(crate::handshake::transcript::HeaderKind::Tls13);
        Ok(Self::with_state(State::Client(client::start(
            common, now, hybrid,
        )?)))
    }

    /// A server that will choose 1.3.
    fn start_server(common: &mut Common) -> Self {
        common
            .transcript
            .set_kind(crate::handshake::transcript::HeaderKind::Tls13);
        Self::with_state(State::Server(ServerState::AwaitClientHello))
    }

    /// A server that chose 1.3 from a whole ClientHello: handles it.
    pub fn accept_hello(common: &mut Common, now: Millis, msg: Message) -> Result<Self, Error> {
        let mut m = Self::start_server(common);
        m.handle_message(common, now, msg)?;
        Ok(m)
    }

    fn with_state(state: State) -> Self {
        Dtls13 {
            state,
            est: None,
            to_ack: Vec::new(),
            key_update_sent: false,
            ack_due: None,
            empty_ack_at: None,
        }
    }

    /// The handshake fragments of one record (plaintext in epoch 0, else decrypted).
    pub fn handle_handshake_record(
        &mut self,
        common: &mut Common,
        now: Millis,
        epoch: Epoch,
        record_seq: u64,
        payload: &[u8],
    ) -> Result<Option<Downgrade>, Error> {
        let epoch16 = epoch.min(u64::from(u16::MAX)) as u16;
        let mut r = Reader::new(payload);
        let mut any = false;
        while !r.is_empty() {
            let Some(h) = HandshakeHeader::read(&mut r) else {
                common.stats.dropped.malformed += 1;
                return Ok(None);
            };
            let Some(data) = r.take(h.frag_len as usize) else {
                common.stats.dropped.malformed += 1;
                return Ok(None);
            };
            if epoch == 0 && !common.is_handshaking() {
                // Plaintext after the handshake can only be a retransmission or a forgery.
                common.stats.dropped.unexpected += 1;
                continue;
            }
            let frag = Fragment {
                msg_type: h.msg_type.get(),
                length: h.length,
                msg_seq: h.msg_seq,
                frag_off: h.frag_off,
                frag_len: h.frag_len,
                epoch: epoch16,
                data,
            };
            match common.reasm.insert(frag) {
                Insert::Accepted => any = true,
                Insert::Old => {
                    common.retransmit_requested = true;
                    // Already processed: the peer missed our answer, or our ACK.
                    if epoch > 0 && self.to_ack.is_empty() && !common.is_handshaking() {
                        self.remember_for_ack(common, epoch, record_seq);
                    }
                }
                Insert::Duplicate => {}
                Insert::Dropped(_) => common.stats.dropped.reassembly += 1,
            }
        }
        if any && (epoch > 0 || common.is_handshaking()) {
            self.remember_for_ack(common, epoch, record_seq);
        }
        let sent_before = common.send_seq;
        let was_handshaking = common.is_handshaking();
        while let Some(msg) = common.reasm.pop() {
            if let Some(d) = self.handle_message(common, now, msg)? {
                return Ok(Some(d));
            }
            if !matches!(
                common.status,
                crate::common::Status::Handshaking | crate::common::Status::Connected
            ) {
                break;
            }
        }
        if common.send_seq != sent_before && was_handshaking {
            // Our answering flight acknowledges the peer's implicitly. (Not after the
            // handshake: a KeyUpdate answering a KeyUpdate acknowledges nothing, RFC 9147 §7.1.)
            // Its capacity goes too: a client's last answering flight ends the handshake, and
            // an established association should not keep the list's room.
            self.to_ack = Vec::new();
            self.ack_due = None;
        }
        if !common.is_handshaking() && !self.to_ack.is_empty() {
            // Whatever completed after the handshake (a KeyUpdate, the client's last flight
            // again) is acknowledged at once (RFC 9147 §7.1).
            self.send_ack(common);
        } else if common.is_handshaking() && !self.to_ack.is_empty() && self.ack_due.is_none() {
            let delay = (common.timer.current_rto() / 4).max(1);
            self.ack_due = Some(now.saturating_add(delay));
        }
        Ok(None)
    }

    /// When [`Dtls13::handle_timeout`] must run for a pending acknowledgement.
    pub fn ack_deadline(&self) -> Option<Millis> {
        match (self.ack_due, self.empty_ack_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Acknowledges the partial flight received so far once its timer ran out.
    pub fn handle_timeout(&mut self, common: &mut Common, now: Millis) {
        if self.empty_ack_at.is_some_and(|t| now >= t) {
            self.empty_ack_at = None;
            self.send_empty_ack(common);
        }
        if self.ack_due.is_some_and(|t| now >= t) {
            self.ack_due = None;
            if !self.to_ack.is_empty() {
                let keep = self.to_ack.clone();
                self.send_ack(common);
                // Kept: the rest of the flight may still come and be acknowledged with it.
                self.to_ack = keep;
            }
        }
    }

    fn remember_for_ack(&mut self, common: &Common, epoch: Epoch, seq: u64) {
        // Once our last flight is out, the server's handshake flight is acknowledged by it
        // (RFC 9147 §7.1: ACKs SHOULD NOT be sent for it): an ACK would go out in epoch 3,
        // which the server cannot read before our Finished, and again for every record of a
        // retransmitted server flight, when our Finished is what it lacks. While the flight
        // is still partial, acknowledging what arrived lets the server resend only the rest.
        if common.role == Role::Client
            && epoch == super::EPOCH_HANDSHAKE
            && !common.is_handshaking()
        {
            return;
        }
        let rn = RecordNumber {
            epoch,
            sequence_number: seq,
        };
        if self.to_ack.len() < MAX_ACK_RECORD_NUMBERS && !self.to_ack.contains(&rn) {
            self.to_ack.push(rn);
        }
    }

    /// A protected record arrived for an epoch we have no keys for yet. A client still waiting
    /// for the ServerHello has lost it (the rest of the server's flight got through): RFC 9147
    /// §7.1 has it send an empty ACK, since it cannot acknowledge what it cannot decrypt. Some
    /// servers (wolfSSL) retransmit their flight on that ACK rather than on a repeated
    /// ClientHello, so without it the handshake stalls until the server's own timer, which
    /// our ClientHello retransmissions may keep resetting.
    ///
    /// The ACK waits a quarter of the retransmission timer, as a partial-flight ACK does: a
    /// ServerHello merely reordered behind the rest arrives meanwhile and makes it moot, so a
    /// server is not prompted to resend a flight that got through.
    pub fn record_unreadable(&mut self, common: &Common, now: Millis) {
        if common.is_handshaking()
            && matches!(self.state, State::Client(ClientState::AwaitServerHello(_)))
            && self.empty_ack_at.is_none()
        {
            let delay = (common.timer.current_rto() / 4).max(1);
            self.empty_ack_at = Some(now.saturating_add(delay));
        }
    }

    /// Sends the empty ACK [`Dtls13::record_unreadable`] scheduled, in the clear (our only
    /// write epoch before the ServerHello), if we still wait for the ServerHello.
    fn send_empty_ack(&mut self, common: &mut Common) {
        if !matches!(self.state, State::Client(ClientState::AwaitServerHello(_))) {
            return;
        }
        let mut body = Vec::new();
        Ack {
            record_numbers: Vec::new(),
        }
        .encode(&mut body);
        let epoch = common.records.current_write_epoch();
        let mut d = Vec::new();
        if common
            .seal_record(&mut d, ContentType::Ack, epoch, &body)
            .is_ok()
            && common.out_datagrams.len() < 64
        {
            common.out_datagrams.push_back(d);
            common.stats.acks_sent += 1;
        }
    }

    /// Sends an ACK of the records remembered, in our newest epoch (RFC 9147 §7: never below
    /// the epoch of the records it acknowledges; the peer can read it since it has our keys).
    fn send_ack(&mut self, common: &mut Common) {
        let mut record_numbers = std::mem::take(&mut self.to_ack);
        // One datagram, within the MTU: the newest records first if not all fit (RFC 9147 §7.1:
        // "favor including records which have not yet been acknowledged").
        let epoch = common.records.current_write_epoch();
        let overhead = common.records.overhead_of(epoch).unwrap_or(64);
        let fit = Ack::capacity((common.mtu as usize).saturating_sub(overhead));
        if record_numbers.len() > fit {
            record_numbers.drain(..record_numbers.len() - fit);
        }
        let ack = Ack { record_numbers };
        let mut body = Vec::new();
        ack.encode(&mut body);
        let mut d = Vec::new();
        if common
            .seal_record(&mut d, ContentType::Ack, epoch, &body)
            .is_ok()
            && common.out_datagrams.len() < 64
        {
            common.out_datagrams.push_back(d);
            common.stats.acks_sent += 1;
        }
    }

    fn handle_message(
        &mut self,
        common: &mut Common,
        now: Millis,
        msg: Message,
    ) -> Result<Option<Downgrade>, Error> {
        if msg.epoch == 0 && common.is_handshaking() {
            // Plaintext is unauthenticated: what cannot be the awaited message is dropped and
            // its message_seq freed for the genuine copy (as in DTLS 1.2).
            let fit = match &self.state {
                State::Client(s) => client::precheck(s, &msg),
                State::Server(ServerState::AwaitClientHello) => {
                    if HandshakeType::from(msg.msg_type) != HandshakeType::ClientHello {
                        Err(Error::unexpected("handshake message out of order"))
                    } else if crate::msgs::handshake::ClientHello::decode(&msg.body).is_err() {
                        // A body that does not even parse cannot be the client's: a forger
                        // who guessed message_seq must not end the handshake with it.
                        Err(Error::decode("malformed ClientHello"))
                    } else {
                        Ok(())
                    }
                }
                _ => Err(Error::unexpected(
                    "plaintext handshake message out of order",
                )),
            };
            if let Err(e) = fit {
                common.stats.dropped.unexpected += 1;
                common.reasm.unpop(msg.msg_seq);
                if common.likely_alert.is_none() {
                    common.likely_alert = e.alert();
                }
                return Ok(None);
            }
        }
        let state = std::mem::replace(&mut self.state, State::Poisoned);
        match state {
            State::Client(s) => {
                let was_hello = matches!(s, ClientState::AwaitServerHello(_));
                match client::handle(s, common, msg.clone(), now)? {
                    client::Step::Next(s) => {
                        if was_hello && !matches!(s, ClientState::AwaitServerHello(_)) {
                            // The ServerHello implicitly acknowledges our ClientHello.
                            common.flight.clear();
                            common.timer.stop();
                        }
                        self.state = State::Client(s);
                    }
                    client::Step::Done(est) => {
                        self.est = Some(est);
                        self.state = State::Done;
                        common.on_connected(now);
                    }
                    client::Step::Downgrade {
                        random,
                        last_hvr,
                        offered,
                    } => {
                        self.state = State::Done;
                        return Ok(Some(Downgrade {
                            random,
                            last_hvr,
                            offered,
                            server_hello: msg,
                        }));
                    }
                }
            }
            State::Server(s) => {
                match server::handle(s, common, msg, now)? {
                    server::Step::Next(s) => self.state = State::Server(s),
                    server::Step::Done(est) => {
                        // The client's flight implicitly acknowledges ours; we acknowledge
                        // its last one explicitly, since nothing else answers it.
                        common.flight.clear();
                        common.timer.stop();
                        self.est = Some(est);
                        self.state = State::Done;
                        common.on_connected(now);
                        self.send_ack(common);
                        // Nothing goes out in the handshake epoch again: our flight is done
                        // and ACKs go in the newest epoch (RFC 9147 §7 allows any epoch not
                        // below the acknowledged records'). Its read keys stay, to accept and
                        // acknowledge a resent Finished should this ACK be lost.
                        common.records.retire_write13(super::EPOCH_HANDSHAKE);
                    }
                }
            }
            State::Done => {
                self.state = State::Done;
                self.post_handshake(common, now, &msg)?;
            }
            State::Poisoned => return Err(Error::Internal("handshake state poisoned")),
        }
        Ok(None)
    }

    fn post_handshake(
        &mut self,
        common: &mut Common,
        now: Millis,
        msg: &Message,
    ) -> Result<(), Error> {
        if msg.epoch < 3 {
            common.stats.dropped.unexpected += 1;
            return Ok(());
        }
        match HandshakeType::from(msg.msg_type) {
            // Accepted and ignored until resumption lands.
            HandshakeType::NewSessionTicket => {
                crate::msgs::handshake13::NewSessionTicket13::decode(&msg.body)
                    .map_err(decode13)?;
                Ok(())
            }
            HandshakeType::KeyUpdate => {
                let ku = KeyUpdate::decode(&msg.body).map_err(decode13)?;
                self.peer_key_update(common)?;
                if ku.request == KeyUpdateRequest::UpdateRequested && !self.key_update_sent {
                    self.send_key_update(common, now, KeyUpdateRequest::UpdateNotRequested)?;
                }
                Ok(())
            }
            _ => Err(Error::unexpected("handshake message after the handshake")),
        }
    }

    /// The peer moved to its next application epoch: derive and accept it. The previous read
    /// epoch stays readable for reordered records until the next update replaces it.
    fn peer_key_update(&mut self, common: &mut Common) -> Result<(), Error> {
        let est = self.est.as_mut().ok_or(Error::Internal("no keys"))?;
        let role = common.role;
        let secret = match role {
            Role::Client => &mut est.server_app,
            Role::Server => &mut est.client_app,
        };
        let next = secret.next().map_err(|_| Error::Internal("key update"))?;
        let cipher = cipher_from(&next, est.suite.aead)?;
        *secret = next;
        let epoch = common.records.newest_read_epoch() + 1;
        common.records.install_read13(epoch, cipher);
        Ok(())
    }

    /// Sends KeyUpdate under the current keys; we switch once it is acknowledged.
    pub fn send_key_update(
        &mut self,
        common: &mut Common,
        now: Millis,
        request: KeyUpdateRequest,
    ) -> Result<(), Error> {
        if self.est.is_none() || self.key_update_sent {
            return Ok(());
        }
        let mut body = Vec::new();
        KeyUpdate { request }.encode(&mut body);
        common.new_flight();
        let epoch = common.records.current_write_epoch();
        common.send_handshake(HandshakeType::KeyUpdate, body, epoch);
        common.transmit_flight(now, true);
        self.key_update_sent = true;
        Ok(())
    }

    /// An ACK record (RFC 9147 §7): acknowledged fragments are not sent again; once all of
    /// the flight is acknowledged it is done, and an acknowledged KeyUpdate switches our keys.
    pub fn handle_ack(
        &mut self,
        common: &mut Common,
        now: Millis,
        epoch: Epoch,
        payload: &[u8],
    ) -> Result<(), Error> {
        let Ok(ack) = Ack::decode(payload, MAX_ACK_RECORD_NUMBERS) else {
            common.stats.dropped.malformed += 1;
            return Ok(());
        };
        if epoch == 0 {
            // A plaintext ACK can acknowledge nothing we protected, and anyone can forge it:
            // it is the empty ACK of a client that got our flight without the ServerHello
            // (RFC 9147 §7.1). Our flight goes again, rate-limited like any unauthenticated
            // prompt, instead of after the backed-off timer.
            if common.is_handshaking() {
                common.retransmit_requested = true;
            }
            return Ok(());
        }
        if common.flight.is_empty() {
            return Ok(());
        }
        if !common.flight.ack(&ack.record_numbers) {
            // Part of the flight arrived: send the rest now rather than at the timer
            // (RFC 9147 §7.2), as often as a peer-prompted retransmission may go.
            if common.flight.any_acked() && !common.flight.pending() {
                common.retransmit_on_peer_request(now);
            }
            return Ok(());
        }
        common.flight.clear();
        common.timer.stop();
        if self.key_update_sent {
            self.key_update_sent = false;
            let est = self.est.as_mut().ok_or(Error::Internal("no keys"))?;
            let secret = match common.role {
                Role::Client => &mut est.client_app,
                Role::Server => &mut est.server_app,
            };
            let next = secret.next().map_err(|_| Error::Internal("key update"))?;
            let cipher = cipher_from(&next, est.suite.aead)?;
            *secret = next;
            let epoch = common.records.current_write_epoch() + 1;
            common.records.install_write13(epoch, cipher);
            common.stats.key_updates += 1;
        } else if common.role == Role::Client {
            // The server acknowledged our final flight (RFC 9147 §7.1), so it has our Finished:
            // it will not resend its flight, nor ask for ours, in the handshake epoch. Its two
            // ciphers (~1.7 KiB) go. (The server keeps them: it acknowledges a resent Finished
            // in that epoch should its ACK be lost.)
            common.records.retire13(super::EPOCH_HANDSHAKE);
        }
        Ok(())
    }

    /// True when our keys should be updated now: the current write key is past its share of
    /// the AEAD usage limit (RFC 9147 §4.5.3).
    pub fn wants_key_update(&self, common: &Common) -> bool {
        self.est.is_some() && !self.key_update_sent && common.records.write_near_limit()
    }

    /// RFC 8446 §7.5 exporter.
    pub fn export(
        &self,
        label: &[u8],
        context: Option<&[u8]>,
        out: &mut [u8],
    ) -> Result<(), Error> {
        let est = self.est.as_ref().ok_or(Error::ExporterUnavailable)?;
        est.exporter
            .export(label, context.unwrap_or(&[]), out)
            .map_err(|_| Error::InvalidArgument("exporter output too long"))
    }
}
