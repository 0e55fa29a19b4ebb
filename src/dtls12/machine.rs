//! The DTLS 1.2 machine behind the facade: the client or server state, the keys once derived,
//! and the rules only DTLS 1.2 has.
//!
//! ```text
//!   ClientHello -> [HelloVerifyRequest -> ClientHello] -> ServerHello .. ServerHelloDone
//!   -> Certificate* ClientKeyExchange CertificateVerify* [CCS] Finished -> [CCS] Finished
//! ```
//!
//! 1.2-only rules kept here and nowhere else:
//! - a server admits a ClientHello only with a valid HelloVerifyRequest cookie, checked from
//!   its first fragment before any reassembly state exists (RFC 6347 §4.2.1);
//! - the peer's Finished needs its ChangeCipherSpec first (RFC 5246 §7.4.9) and is held if it
//!   overtook it;
//! - renegotiation is refused with a warning (RFC 5746 makes it safe; nobody needs it here);
//! - plaintext handshake records after the handshake can only prompt our last flight again.

use super::client::{self, ClientState};
use super::keys::Keys12;
use super::server::{self, ServerState};
use crate::common::Common;
use crate::error::Error;
use crate::handshake::reassembly::{Fragment, Insert, Message};
use crate::msgs::alert::Alert;
use crate::msgs::codec::{Codec, Reader};
use crate::msgs::enums::{AlertDescription, HandshakeType};
use crate::msgs::handshake::{ClientHelloPrefix, HandshakeHeader};
use crate::time::Millis;
use crate::types::{Epoch, Role};

enum State {
    Client(ClientState),
    Server(ServerState),
    /// Handshake complete.
    Done,
    /// Transient placeholder while a state consumes itself.
    Poisoned,
}

/// One DTLS 1.2 handshake and what it leaves behind.
pub(crate) struct Dtls12 {
    state: State,
    /// The master secret once the handshake is done (the exporter reads it).
    keys: Option<Keys12>,
    /// The peer's ChangeCipherSpec arrived: its Finished may be processed.
    peer_ccs: bool,
    /// A peer Finished that overtook the peer's ChangeCipherSpec, held until the CCS arrives.
    early_finished: Option<Box<Message>>,
    /// A server's ClientHello passed the cookie check.
    cookie_ok: bool,
}

impl Dtls12 {
    /// A client sends its first flight at once; a server waits for a ClientHello.
    pub fn start(common: &mut Common, now: Millis) -> Result<Self, Error> {
        let state = match common.role {
            Role::Client => State::Client(client::start(common, now)?),
            Role::Server => State::Server(ServerState::start()),
        };
        Ok(Dtls12 {
            state,
            keys: None,
            peer_ccs: false,
            early_finished: None,
            cookie_ok: false,
        })
    }

    /// A ChangeCipherSpec record (RFC 6347 §4.1: epoch numbers select keys, but the Finished
    /// still waits for it). A malformed one is junk.
    pub fn handle_ccs(
        &mut self,
        common: &mut Common,
        now: Millis,
        epoch: Epoch,
        payload: &[u8],
    ) -> Result<(), Error> {
        if payload != [1] {
            common.stats.dropped.malformed += 1;
            return Ok(());
        }
        if epoch == 0 && common.is_handshaking() {
            self.peer_ccs = true;
            if let Some(fin) = self.early_finished.take() {
                return self.handle_message(common, now, *fin);
            }
        }
        Ok(())
    }

    /// The handshake fragments of one record.
    pub fn handle_handshake_record(
        &mut self,
        common: &mut Common,
        now: Millis,
        epoch: Epoch,
        record_seq: u64,
        payload: &[u8],
    ) -> Result<(), Error> {
        // 1.2 epochs never pass 1; the reassembler keeps 16 bits of them.
        let epoch = epoch.min(u64::from(u16::MAX)) as u16;
        let mut r = Reader::new(payload);
        while !r.is_empty() {
            let Some(h) = HandshakeHeader::read(&mut r) else {
                common.stats.dropped.malformed += 1;
                return Ok(());
            };
            let Some(data) = r.take(h.frag_len as usize) else {
                common.stats.dropped.malformed += 1;
                return Ok(());
            };
            if !self.admit_fragment(common, now, epoch, record_seq, &h, data) {
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
            match common.reasm.insert(frag) {
                Insert::Accepted => {}
                Insert::Old => common.retransmit_requested = true,
                Insert::Duplicate => {}
                Insert::Dropped(_) => common.stats.dropped.reassembly += 1,
            }
        }
        while let Some(msg) = common.reasm.pop() {
            self.handle_message(common, now, msg)?;
            if !matches!(
                common.status,
                crate::common::Status::Handshaking | crate::common::Status::Connected
            ) {
                break;
            }
        }
        Ok(())
    }

    /// Decides whether a fragment may enter reassembly. A server's first ClientHello passes
    /// through the stateless cookie check here, before any reassembly state exists for it.
    fn admit_fragment(
        &mut self,
        common: &mut Common,
        now: Millis,
        epoch: u16,
        record_seq: u64,
        h: &HandshakeHeader,
        data: &[u8],
    ) -> bool {
        let connected = common.is_connected();
        if connected && epoch > 0 {
            // A renegotiation restarts message_seq at 0 (RFC 6347 §4.2.2), so it cannot go
            // through reassembly. We refuse it with a warning (RFC 5246 §7.2.2) and carry on.
            let hello = match common.role {
                Role::Client => HandshakeType::HelloRequest,
                Role::Server => HandshakeType::ClientHello,
            };
            if h.msg_type == hello {
                common.stats.dropped.unexpected += 1;
                if h.frag_off == 0 {
                    common.queue_alert(Alert::warning(AlertDescription::NoRenegotiation));
                }
                return false;
            }
        }
        if connected && epoch == 0 {
            // Epoch 0 after the handshake can only be a retransmission of the peer's last
            // plaintext messages (or a forgery): it may prompt our last flight again, no more.
            if h.msg_seq < common.reasm.next_seq() {
                common.retransmit_requested = true;
            }
            common.stats.dropped.unexpected += 1;
            return false;
        }
        let awaiting_hello =
            matches!(&self.state, State::Server(s) if s.awaiting_hello()) && !self.cookie_ok;
        if !awaiting_hello {
            return true;
        }
        if epoch != 0 || h.msg_type != HandshakeType::ClientHello || h.frag_off != 0 {
            common.stats.dropped.unexpected += 1;
            return false;
        }
        let Some(prefix) = ClientHelloPrefix::read(data) else {
            common.stats.dropped.malformed += 1;
            return false;
        };
        let cfg = common.cfg.clone();
        if cfg.cookie_exchange
            && !crate::front_door::verify_cookie(&cfg, now, &common.peer_addr, &prefix)
        {
            common.stats.dropped.cookie += 1;
            if common.out_datagrams.len() < 4 {
                let cookie = crate::front_door::make_cookie(&cfg, now, &common.peer_addr, &prefix);
                let hvr = crate::front_door::hello_verify_request(record_seq, h.msg_seq, &cookie);
                common.out_datagrams.push_back(hvr);
                common.stats.hello_verify_requests += 1;
            }
            return false;
        }
        self.cookie_ok = true;
        common.reasm.set_next_seq(h.msg_seq);
        common.send_seq = h.msg_seq;
        common.records.skip_plaintext_seq_to(record_seq);
        true
    }

    fn handle_message(
        &mut self,
        common: &mut Common,
        now: Millis,
        msg: Message,
    ) -> Result<(), Error> {
        if msg.epoch == 0 && common.is_handshaking() {
            // Plaintext is unauthenticated: a message that cannot be the one we wait for (out
            // of order, undecodable, a HelloVerifyRequest too many) may be forged, so it is
            // dropped and counted rather than fatal (RFC 6347 §4.1.2.7 lets invalid records be
            // discarded), and its message_seq is freed for the genuine copy. Should the
            // handshake then time out, the alert we would have sent is the likely reason.
            let fit = match &self.state {
                State::Client(s) => client::precheck(s, common, &msg, now),
                State::Server(s) => server::precheck(s, &msg),
                _ => Ok(()),
            };
            if let Err(e) = fit {
                common.stats.dropped.unexpected += 1;
                common.reasm.unpop(msg.msg_seq);
                if common.likely_alert.is_none() {
                    common.likely_alert = e.alert();
                }
                return Ok(());
            }
        }
        if HandshakeType::from(msg.msg_type) == HandshakeType::Finished
            && !self.peer_ccs
            && common.is_handshaking()
        {
            // Authenticated, but ahead of the ChangeCipherSpec it must follow: hold it (it may
            // only have overtaken a reordered CCS); should the CCS never come, neither does
            // the handshake's completion.
            self.early_finished = Some(Box::new(msg));
            return Ok(());
        }
        let state = std::mem::replace(&mut self.state, State::Poisoned);
        let next = match state {
            State::Client(s) => client::handle(s, common, msg, now).map(|s| match s {
                ClientState::Done(keys) => {
                    self.keys = Some(*keys);
                    State::Done
                }
                s => State::Client(s),
            }),
            State::Server(s) => server::handle(s, common, msg, now).map(|s| match s {
                ServerState::Done(keys) => {
                    self.keys = Some(*keys);
                    State::Done
                }
                s => State::Server(s),
            }),
            State::Done => post_handshake(common, &msg).map(|_| State::Done),
            State::Poisoned => Err(Error::Internal("handshake state poisoned")),
        };
        self.state = next?;
        if matches!(self.state, State::Done) && common.is_handshaking() {
            common.on_connected(now);
        }
        Ok(())
    }

    /// RFC 5705 keying material exporter.
    pub fn export(
        &self,
        label: &[u8],
        context: Option<&[u8]>,
        out: &mut [u8],
    ) -> Result<(), Error> {
        match &self.keys {
            Some(k) => k.export(label, context, out),
            None => Err(Error::ExporterUnavailable),
        }
    }
}

/// Renegotiation is refused (RFC 5746 makes it safe, but nobody needs it for DTLS).
fn post_handshake(common: &mut Common, msg: &Message) -> Result<(), Error> {
    if msg.epoch == 0 {
        // Plaintext after the handshake is unauthenticated: never act on it.
        common.stats.dropped.unexpected += 1;
        return Ok(());
    }
    match HandshakeType::from(msg.msg_type) {
        HandshakeType::HelloRequest | HandshakeType::ClientHello => {
            common.queue_alert(Alert::warning(AlertDescription::NoRenegotiation));
            Ok(())
        }
        _ => Err(Error::unexpected("handshake message after the handshake")),
    }
}
