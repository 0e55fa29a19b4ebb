//! A scripted hostile DTLS 1.2 peer, for the state-machine bug catalogue
//! (`tests/engine/state_machine.rs`).
//!
//! A man-in-the-middle between two honest engines can drop, repeat and reorder messages, but
//! the honest side's Finished then covers a transcript the hostile flight no longer matches:
//! the handshake fails at Finished whatever the state machine did, and the test proves
//! nothing. This peer speaks the protocol itself instead: it does its own ECDHE, derives the
//! keys (RFC 5246 §8.1, RFC 7627 §4 extended master secret), protects epoch-1 records and
//! computes Finished over the transcript *it actually sent* (RFC 6347 §4.2.6). When a test
//! omits, repeats or reorders a message, everything the peer sends still verifies, so the only
//! thing that can stop the handshake is the engine's state machine.
//!
//! It is built from the engine's public wire types (`dtls_proto::msgs`) and its thin crypto
//! wrappers (`crypto::kx`, `crypto::prf`, `record::protect12`), so no second TLS stack is
//! needed. Layers:
//! - [`Peer`]: the record layer and transcript of one hostile endpoint: sequence numbers per
//!   epoch, keys, and what the engine sent it (reassembled handshake messages, decrypted
//!   alerts, ChangeCipherSpecs, application data);
//! - [`HostileClient`] / [`HostileServer`]: the DTLS 1.2 ECDHE_ECDSA messages, each built on
//!   demand so that a test can send them in any order, any number of times, in any epoch;
//! - [`Sut`]: the engine under test on a virtual clock, recording its events and errors (its
//!   output is drained with the harness's `pair::poll_all`).
//!
//! Everything is deterministic in outcome: the engine runs with `rng_seed`, time is virtual.
//! Only key shares and ECDSA signatures draw from the system RNG, which changes bytes but
//! never the path a test takes.
#![allow(dead_code)]

use super::pair::{builder, poll_all, Version};
use dtls_proto::crypto::hash::HashAlg;
use dtls_proto::crypto::kx::KeyExchange;
use dtls_proto::crypto::prf::prf;
use dtls_proto::crypto::sign::SigScheme;
use dtls_proto::msgs::alert::Alert;
use dtls_proto::msgs::codec::Codec;
use dtls_proto::msgs::enums::{
    AlertDescription, AlertLevel, CipherSuite, ContentType, ExtensionType, HandshakeType,
    NamedGroup, ProtocolVersion,
};
use dtls_proto::msgs::extensions::{self as ext, Extensions};
use dtls_proto::msgs::handshake::{
    full_message, Certificate12, CertificateRequest12, ClientHello, ClientKeyExchange,
    DigitallySigned, EcdheParams, HandshakeHeader, HelloVerifyRequest, ServerHello,
    ServerKeyExchange,
};
use dtls_proto::msgs::record::{RecordHeader, Records, HEADER_LEN};
use dtls_proto::record::protect12::RecordCipher;
use dtls_proto::suites::{self, SuiteInfo};
use dtls_proto::{Certificate, Config, ConfigBuilder, Connection, Error, Event, Role};
use std::collections::BTreeMap;
use std::sync::Arc;

/// DTLS 1.2 on the wire.
pub const V12: u16 = 0xfefd;
/// The suite the hostile peers use: ECDHE_ECDSA with AES-128-GCM, mandatory for WebRTC.
pub const SUITE: CipherSuite = CipherSuite::EcdheEcdsaAes128GcmSha256;
/// The group the hostile peers offer and pick.
pub const GROUP: NamedGroup = NamedGroup::X25519;
/// The address the server under test binds its cookies to.
pub const PEER_ADDR: &[u8] = b"192.0.2.7:4444";

// ---------------------------------------------------------------------------------------------
// Wire helpers.

/// One record the peer received, opened when it held the epoch's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    pub content_type: ContentType,
    pub version: u16,
    pub epoch: u16,
    pub seq: u64,
    /// The plaintext (epoch 0, or opened with our keys); `None` when it could not be opened.
    pub plain: Option<Vec<u8>>,
}

/// A complete handshake message the peer received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsMsg {
    pub msg_type: HandshakeType,
    pub msg_seq: u16,
    pub epoch: u16,
    pub body: Vec<u8>,
}

/// The handshake fragments of one record payload, with their bytes. Stops at the first
/// truncated fragment.
pub fn fragments(payload: &[u8]) -> Vec<(HandshakeHeader, Vec<u8>)> {
    let mut r = dtls_proto::msgs::codec::Reader::new(payload);
    let mut out = Vec::new();
    while !r.is_empty() {
        let Some(h) = HandshakeHeader::read(&mut r) else {
            break;
        };
        let Some(data) = r.take(h.frag_len as usize) else {
            break;
        };
        out.push((h, data.to_vec()));
    }
    out
}

/// An unfragmented handshake message (header and body) as a record payload.
pub fn hs_payload(msg_type: HandshakeType, msg_seq: u16, body: &[u8]) -> Vec<u8> {
    full_message(msg_type, msg_seq, body)
}

/// The records of a datagram, header and body (which is ciphertext in epochs > 0).
pub fn records(datagram: &[u8]) -> Vec<(RecordHeader, Vec<u8>)> {
    Records::new(datagram)
        .map(|(h, body, _)| (h, body.to_vec()))
        .collect()
}

/// The handshake message types of the epoch-0 records in `datagrams`, in order.
pub fn plaintext_handshake_types(datagrams: &[Vec<u8>]) -> Vec<HandshakeType> {
    let mut out = Vec::new();
    for d in datagrams {
        for (h, body) in records(d) {
            if h.epoch == 0 && h.content_type == ContentType::Handshake {
                out.extend(fragments(&body).into_iter().map(|(f, _)| f.msg_type));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Key schedule (RFC 5246 §6.3, §7.4.9, §8.1; RFC 7627 §4), written against the RFCs rather
// than borrowed from the engine, so that both sides agreeing is evidence.

/// A master secret with what derives from it.
#[derive(Clone)]
pub struct Keys {
    pub suite: SuiteInfo,
    master: [u8; 48],
    pub client_random: [u8; 32],
    pub server_random: [u8; 32],
}

impl Keys {
    /// With `session_hash` (the transcript hash through ClientKeyExchange) the extended
    /// master secret, else the RFC 5246 one.
    pub fn derive(
        suite: SuiteInfo,
        pre_master: &[u8],
        client_random: [u8; 32],
        server_random: [u8; 32],
        session_hash: Option<&[u8]>,
    ) -> Self {
        let mut master = [0u8; 48];
        match session_hash {
            Some(h) => prf(
                suite.prf,
                pre_master,
                b"extended master secret",
                &[h],
                &mut master,
            ),
            None => prf(
                suite.prf,
                pre_master,
                b"master secret",
                &[&client_random, &server_random],
                &mut master,
            ),
        }
        Keys {
            suite,
            master,
            client_random,
            server_random,
        }
    }

    /// (client_write, server_write) record protection.
    pub fn ciphers(&self) -> (RecordCipher, RecordCipher) {
        let klen = self.suite.aead.key_len();
        let ivlen = self.suite.fixed_iv_len();
        let mut block = vec![0u8; 2 * klen + 2 * ivlen];
        prf(
            self.suite.prf,
            &self.master,
            b"key expansion",
            &[&self.server_random, &self.client_random],
            &mut block,
        );
        let (ck, rest) = block.split_at(klen);
        let (sk, rest) = rest.split_at(klen);
        let (civ, siv) = rest.split_at(ivlen);
        (
            RecordCipher::new(self.suite.aead, ck, civ).expect("client write key"),
            RecordCipher::new(self.suite.aead, sk, siv).expect("server write key"),
        )
    }

    /// verify_data over `transcript` (12 bytes).
    pub fn verify_data(&self, client: bool, transcript: &[u8]) -> Vec<u8> {
        let label: &[u8] = if client {
            b"client finished"
        } else {
            b"server finished"
        };
        let h = self.suite.prf.hash(transcript);
        let mut out = vec![0u8; 12];
        prf(self.suite.prf, &self.master, label, &[&h], &mut out);
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The record layer of a hostile endpoint.

#[derive(Debug)]
struct Partial {
    msg_type: HandshakeType,
    body: Vec<u8>,
    have: Vec<bool>,
}

/// Record layer, transcript and inbox of one hostile endpoint.
pub struct Peer {
    is_client: bool,
    write_seq: BTreeMap<u16, u64>,
    /// message_seq of the next message built with [`Peer::hs`].
    pub next_msg_seq: u16,
    /// Handshake messages as hashed (RFC 6347 §4.2.6: full DTLS headers, unfragmented).
    pub transcript: Vec<u8>,
    pub keys: Option<Keys>,
    write: Option<RecordCipher>,
    read: Option<RecordCipher>,
    /// Every record received, in order.
    pub records: Vec<Rec>,
    /// Protected records that arrived before we had keys, replayed by [`Peer::set_keys`].
    unopened: Vec<Vec<u8>>,
    partial: BTreeMap<(u16, u16), Partial>,
    /// Complete handshake messages received, in completion order (retransmissions included).
    pub messages: Vec<HsMsg>,
    /// Alerts received, with the epoch they came in.
    pub alerts: Vec<(u16, Alert)>,
    /// Epochs of the ChangeCipherSpec records received.
    pub ccs: Vec<u16>,
    /// Application data received.
    pub app: Vec<Vec<u8>>,
}

impl Peer {
    pub fn new(is_client: bool) -> Self {
        Peer {
            is_client,
            write_seq: BTreeMap::new(),
            next_msg_seq: 0,
            transcript: Vec::new(),
            keys: None,
            write: None,
            read: None,
            records: Vec::new(),
            unopened: Vec::new(),
            partial: BTreeMap::new(),
            messages: Vec::new(),
            alerts: Vec::new(),
            ccs: Vec::new(),
            app: Vec::new(),
        }
    }

    /// Installs the keys for epoch 1 in both directions and opens what waited for them.
    pub fn set_keys(&mut self, keys: Keys) {
        let (cw, sw) = keys.ciphers();
        if self.is_client {
            self.write = Some(cw);
            self.read = Some(sw);
        } else {
            self.write = Some(sw);
            self.read = Some(cw);
        }
        self.keys = Some(keys);
        for d in std::mem::take(&mut self.unopened) {
            self.absorb(&d);
        }
    }

    /// Takes in one datagram the engine sent.
    pub fn absorb(&mut self, datagram: &[u8]) {
        for (hdr, body, whole) in Records::new(datagram) {
            let plain = if hdr.epoch == 0 {
                Some(body.to_vec())
            } else if let Some(c) = &mut self.read {
                let mut buf = body.to_vec();
                c.open(&hdr, &mut buf).ok().map(|r| buf[r].to_vec())
            } else {
                self.unopened.push(whole.to_vec());
                continue;
            };
            self.records.push(Rec {
                content_type: hdr.content_type,
                version: hdr.version,
                epoch: hdr.epoch,
                seq: hdr.seq,
                plain: plain.clone(),
            });
            let Some(p) = plain else { continue };
            match hdr.content_type {
                ContentType::Handshake => self.take_fragments(hdr.epoch, &p),
                ContentType::Alert => {
                    if let Some(a) = Alert::from_bytes(&p) {
                        self.alerts.push((hdr.epoch, a));
                    }
                }
                ContentType::ChangeCipherSpec => self.ccs.push(hdr.epoch),
                ContentType::ApplicationData => self.app.push(p),
                _ => {}
            }
        }
    }

    fn take_fragments(&mut self, epoch: u16, payload: &[u8]) {
        for (h, data) in fragments(payload) {
            let len = h.length as usize;
            let off = h.frag_off as usize;
            if off + data.len() > len {
                continue;
            }
            let p = self
                .partial
                .entry((epoch, h.msg_seq))
                .or_insert_with(|| Partial {
                    msg_type: h.msg_type,
                    body: vec![0; len],
                    have: vec![false; len],
                });
            if p.body.len() != len || p.msg_type != h.msg_type {
                continue;
            }
            p.body[off..off + data.len()].copy_from_slice(&data);
            p.have[off..off + data.len()]
                .iter_mut()
                .for_each(|b| *b = true);
            if p.have.iter().all(|b| *b) {
                let p = self.partial.remove(&(epoch, h.msg_seq)).expect("present");
                self.messages.push(HsMsg {
                    msg_type: p.msg_type,
                    msg_seq: h.msg_seq,
                    epoch,
                    body: p.body,
                });
            }
        }
    }

    /// The next write sequence number of `epoch`.
    fn take_seq(&mut self, epoch: u16) -> u64 {
        let s = self.write_seq.entry(epoch).or_insert(0);
        let v = *s;
        *s += 1;
        v
    }

    /// One record with an explicit sequence number: plaintext in epoch 0, else protected
    /// with our keys.
    pub fn record_at(&mut self, ct: ContentType, epoch: u16, seq: u64, payload: &[u8]) -> Vec<u8> {
        let hdr = RecordHeader {
            content_type: ct,
            version: V12,
            epoch,
            seq,
            length: payload.len() as u16,
        };
        if epoch == 0 {
            let mut out = hdr.to_bytes();
            out.extend_from_slice(payload);
            return out;
        }
        let c = self
            .write
            .as_mut()
            .expect("the hostile peer has no keys for a protected record yet");
        let mut out = vec![0u8; HEADER_LEN + payload.len() + c.overhead()];
        let p = HEADER_LEN + c.prefix_len();
        out[p..p + payload.len()].copy_from_slice(payload);
        let n = c.seal(hdr, &mut out, payload.len()).expect("seal");
        out.truncate(n);
        out
    }

    /// One record with the epoch's next sequence number.
    pub fn record(&mut self, ct: ContentType, epoch: u16, payload: &[u8]) -> Vec<u8> {
        let seq = self.take_seq(epoch);
        self.record_at(ct, epoch, seq, payload)
    }

    /// A handshake message in `epoch` with the next message_seq, hashed into the transcript.
    pub fn hs_in(&mut self, t: HandshakeType, body: &[u8], epoch: u16) -> Vec<u8> {
        let seq = self.next_msg_seq;
        self.next_msg_seq += 1;
        self.hs_custom(t, seq, body, epoch, true)
    }

    /// A plaintext handshake message with the next message_seq, hashed into the transcript.
    pub fn hs(&mut self, t: HandshakeType, body: &[u8]) -> Vec<u8> {
        self.hs_in(t, body, 0)
    }

    /// A handshake message with every field chosen by the caller.
    pub fn hs_custom(
        &mut self,
        t: HandshakeType,
        msg_seq: u16,
        body: &[u8],
        epoch: u16,
        hash: bool,
    ) -> Vec<u8> {
        let payload = hs_payload(t, msg_seq, body);
        if hash {
            self.transcript.extend_from_slice(&payload);
        }
        self.record(ContentType::Handshake, epoch, &payload)
    }

    /// A ChangeCipherSpec record in epoch 0.
    pub fn ccs(&mut self) -> Vec<u8> {
        self.record(ContentType::ChangeCipherSpec, 0, &[1])
    }

    /// An alert record.
    pub fn alert(&mut self, level: AlertLevel, desc: AlertDescription, epoch: u16) -> Vec<u8> {
        let a = Alert {
            level,
            description: desc,
        };
        self.record(ContentType::Alert, epoch, &a.to_bytes())
    }

    /// An application data record in epoch 1.
    pub fn app_data(&mut self, data: &[u8]) -> Vec<u8> {
        self.record(ContentType::ApplicationData, 1, data)
    }

    /// Fatal alerts received, in order.
    pub fn fatal_alerts(&self) -> Vec<(u16, AlertDescription)> {
        self.alerts
            .iter()
            .filter(|(_, a)| a.level == AlertLevel::Fatal)
            .map(|(e, a)| (*e, a.description))
            .collect()
    }

    /// Received messages of one type.
    pub fn received(&self, t: HandshakeType) -> Vec<&HsMsg> {
        self.messages.iter().filter(|m| m.msg_type == t).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The hostile client (against our server).

/// A DTLS 1.2 client whose every message is built on demand.
pub struct HostileClient {
    pub peer: Peer,
    pub random: [u8; 32],
    pub cookie: Vec<u8>,
    pub cipher_suites: Vec<CipherSuite>,
    /// Offer extended_master_secret (our server requires it by default).
    pub ems: bool,
    /// Offer renegotiation_info (RFC 5746).
    pub renegotiation_info: bool,
    // What the server's flight told us.
    pub server_random: Option<[u8; 32]>,
    pub suite: Option<SuiteInfo>,
    pub server_kx: Option<(NamedGroup, Vec<u8>)>,
    pub cert_requested: bool,
    pub server_hello_done: bool,
    /// message_seq of the last server message hashed.
    last_hashed: Option<u16>,
}

impl HostileClient {
    pub fn new(random_byte: u8) -> Self {
        HostileClient {
            peer: Peer::new(true),
            random: [random_byte; 32],
            cookie: Vec::new(),
            cipher_suites: vec![SUITE],
            ems: true,
            renegotiation_info: true,
            server_random: None,
            suite: None,
            server_kx: None,
            cert_requested: false,
            server_hello_done: false,
            last_hashed: None,
        }
    }

    /// The ClientHello body with the current cookie.
    pub fn client_hello_body(&self) -> Vec<u8> {
        let mut e = Extensions::default();
        e.push(
            ExtensionType::SupportedGroups,
            ext::supported_groups(&[GROUP]),
        );
        e.push(ExtensionType::EcPointFormats, ext::ec_point_formats());
        e.push(
            ExtensionType::SignatureAlgorithms,
            ext::u16_list(&[SigScheme::EcdsaP256Sha256.iana()]),
        );
        if self.ems {
            e.push(ExtensionType::ExtendedMasterSecret, vec![]);
        }
        if self.renegotiation_info {
            e.push(
                ExtensionType::RenegotiationInfo,
                ext::renegotiation_info_initial(),
            );
        }
        let mut body = Vec::new();
        ClientHello {
            version: ProtocolVersion::Dtls12,
            random: self.random,
            session_id: Vec::new(),
            cookie: self.cookie.clone(),
            cipher_suites: self.cipher_suites.clone(),
            compression_methods: vec![0],
            extensions: e,
        }
        .encode(&mut body);
        body
    }

    /// Flight 1: a ClientHello without cookie. It is not part of the transcript (RFC 6347
    /// §4.2.6) but does use up message_seq 0 (RFC 6347 §4.2.2).
    pub fn hello(&mut self) -> Vec<u8> {
        let body = self.client_hello_body();
        let seq = self.peer.next_msg_seq;
        self.peer.next_msg_seq += 1;
        self.peer
            .hs_custom(HandshakeType::ClientHello, seq, &body, 0, false)
    }

    /// Takes the cookie of the newest HelloVerifyRequest received; false when there is none.
    pub fn take_cookie(&mut self) -> bool {
        let Some(m) = self.peer.received(HandshakeType::HelloVerifyRequest).pop() else {
            return false;
        };
        let hvr = HelloVerifyRequest::decode(&m.body).expect("HelloVerifyRequest decodes");
        self.cookie = hvr.cookie;
        true
    }

    /// Flight 3: the ClientHello with the cookie; it starts the transcript.
    pub fn hello_with_cookie(&mut self) -> Vec<u8> {
        self.peer.transcript.clear();
        let body = self.client_hello_body();
        self.peer.hs(HandshakeType::ClientHello, &body)
    }

    /// Reads the server's flight: hashes every new message in message_seq order (skipping
    /// retransmissions) and keeps what the rest of the handshake needs.
    pub fn read_server_flight(&mut self) {
        let mut msgs: Vec<HsMsg> = self
            .peer
            .messages
            .iter()
            .filter(|m| m.epoch == 0 && m.msg_type != HandshakeType::HelloVerifyRequest)
            .filter(|m| Some(m.msg_seq) > self.last_hashed) // None sorts before any Some
            .cloned()
            .collect();
        msgs.sort_by_key(|m| m.msg_seq);
        msgs.dedup_by_key(|m| m.msg_seq);
        for m in msgs {
            match m.msg_type {
                HandshakeType::ServerHello => {
                    let sh = ServerHello::decode(&m.body).expect("ServerHello decodes");
                    self.server_random = Some(sh.random);
                    self.suite = suites::info(sh.cipher_suite);
                }
                HandshakeType::ServerKeyExchange => {
                    let ske = ServerKeyExchange::decode(&m.body).expect("SKE decodes");
                    self.server_kx = Some((ske.params.group, ske.params.public));
                }
                HandshakeType::CertificateRequest => self.cert_requested = true,
                HandshakeType::ServerHelloDone => self.server_hello_done = true,
                _ => {}
            }
            self.peer
                .transcript
                .extend_from_slice(&full_message(m.msg_type, m.msg_seq, &m.body));
            self.last_hashed = Some(m.msg_seq);
        }
    }

    /// A client Certificate message with `chain` (empty for "no certificate").
    pub fn certificate(&mut self, chain: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        Certificate12 {
            chain: chain.to_vec(),
        }
        .encode(&mut body);
        self.peer.hs(HandshakeType::Certificate, &body)
    }

    /// ClientKeyExchange with a fresh key share; derives and installs the epoch-1 keys right
    /// after hashing it (the extended master secret covers the transcript through it).
    pub fn client_key_exchange(&mut self) -> Vec<u8> {
        let (group, server_public) = self.server_kx.clone().expect("server key share");
        let kx = KeyExchange::generate(suites::kx_group(group).expect("group")).expect("kx");
        let mut body = Vec::new();
        ClientKeyExchange {
            public: kx.public_key().to_vec(),
        }
        .encode(&mut body);
        let rec = self.peer.hs(HandshakeType::ClientKeyExchange, &body);
        let pms = kx.complete(&server_public).expect("ECDHE");
        let suite = self.suite.expect("negotiated suite");
        let session_hash = suite.prf.hash(&self.peer.transcript);
        let keys = Keys::derive(
            suite,
            &pms,
            self.random,
            self.server_random.expect("server random"),
            self.ems.then_some(&session_hash[..]),
        );
        self.peer.set_keys(keys);
        rec
    }

    /// A CertificateVerify body signed by `signer` over the transcript so far (RFC 5246
    /// §7.4.8).
    pub fn certificate_verify_body(&self, signer: &Certificate) -> Vec<u8> {
        let scheme = SigScheme::EcdsaP256Sha256;
        let signature = signer
            .signing_key()
            .sign(scheme, &self.peer.transcript)
            .expect("sign");
        let mut body = Vec::new();
        DigitallySigned {
            scheme: scheme.iana(),
            signature,
        }
        .encode(&mut body);
        body
    }

    /// CertificateVerify signed by `signer`, in epoch 0.
    pub fn certificate_verify(&mut self, signer: &Certificate) -> Vec<u8> {
        let body = self.certificate_verify_body(signer);
        self.peer.hs(HandshakeType::CertificateVerify, &body)
    }

    /// The correct verify_data for a client Finished now.
    pub fn finished_body(&self) -> Vec<u8> {
        let keys = self.peer.keys.as_ref().expect("keys");
        keys.verify_data(true, &self.peer.transcript)
    }

    /// The client Finished in epoch 1, over the transcript so far.
    pub fn finished(&mut self) -> Vec<u8> {
        let body = self.finished_body();
        self.peer.hs_in(HandshakeType::Finished, &body, 1)
    }

    /// True when the server sent a Finished (epoch 1) that verifies against our transcript
    /// (which includes our Finished).
    pub fn server_finished_ok(&self) -> bool {
        let Some(keys) = &self.peer.keys else {
            return false;
        };
        let expected = keys.verify_data(false, &self.peer.transcript);
        self.peer
            .received(HandshakeType::Finished)
            .iter()
            .any(|m| m.epoch == 1 && m.body == expected)
    }
}

// ---------------------------------------------------------------------------------------------
// The hostile server (against our client).

/// A DTLS 1.2 server whose every message is built on demand.
pub struct HostileServer {
    pub peer: Peer,
    pub cert: Certificate,
    pub random: [u8; 32],
    pub suite: SuiteInfo,
    kx: Option<KeyExchange>,
    pub client_random: Option<[u8; 32]>,
    /// Whether the ClientHello offered extended_master_secret (we then use it).
    pub ems: bool,
    /// Record sequence number of the newest ClientHello (echoed in a HelloVerifyRequest).
    pub client_hello_record_seq: u64,
    /// The newest ClientHello, decoded.
    pub client_hello: Option<ClientHello>,
    /// message_seq of the last client message hashed.
    last_hashed: Option<u16>,
}

impl HostileServer {
    pub fn new(cert: Certificate, random_byte: u8) -> Self {
        HostileServer {
            peer: Peer::new(false),
            cert,
            random: [random_byte; 32],
            suite: suites::info(SUITE).expect("suite"),
            kx: None,
            client_random: None,
            ems: false,
            client_hello_record_seq: 0,
            client_hello: None,
            last_hashed: None,
        }
    }

    /// Reads the newest ClientHello and restarts the transcript with it (an earlier one was
    /// answered by a HelloVerifyRequest, RFC 6347 §4.2.6).
    pub fn read_client_hello(&mut self) {
        let m = self
            .peer
            .received(HandshakeType::ClientHello)
            .pop()
            .expect("a ClientHello")
            .clone();
        let ch = ClientHello::decode(&m.body).expect("ClientHello decodes");
        self.client_random = Some(ch.random);
        self.ems = ch.extensions.has(ExtensionType::ExtendedMasterSecret);
        self.client_hello_record_seq = self
            .peer
            .records
            .iter()
            .rev()
            .find(|r| r.epoch == 0 && r.content_type == ContentType::Handshake)
            .map_or(0, |r| r.seq);
        self.client_hello = Some(ch);
        self.peer.transcript = full_message(HandshakeType::ClientHello, m.msg_seq, &m.body);
        self.peer.next_msg_seq = m.msg_seq;
        self.last_hashed = Some(m.msg_seq);
    }

    /// A HelloVerifyRequest with `cookie`, echoing the ClientHello's message_seq and record
    /// sequence number (RFC 6347 §4.2.1); not hashed.
    pub fn hello_verify_request(&mut self, cookie: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        HelloVerifyRequest {
            version: ProtocolVersion::Dtls10,
            cookie: cookie.to_vec(),
        }
        .encode(&mut body);
        let seq = self.peer.next_msg_seq;
        let payload = hs_payload(HandshakeType::HelloVerifyRequest, seq, &body);
        let rseq = self.client_hello_record_seq;
        self.peer
            .record_at(ContentType::Handshake, 0, rseq, &payload)
    }

    pub fn server_hello_body(&self) -> Vec<u8> {
        let mut e = Extensions::default();
        e.push(
            ExtensionType::RenegotiationInfo,
            ext::renegotiation_info_initial(),
        );
        if self.ems {
            e.push(ExtensionType::ExtendedMasterSecret, vec![]);
        }
        e.push(ExtensionType::EcPointFormats, ext::ec_point_formats());
        let mut body = Vec::new();
        ServerHello {
            version: ProtocolVersion::Dtls12,
            random: self.random,
            session_id: Vec::new(),
            cipher_suite: self.suite.suite,
            compression_method: 0,
            extensions: e,
        }
        .encode(&mut body);
        body
    }

    pub fn server_hello(&mut self) -> Vec<u8> {
        let body = self.server_hello_body();
        self.peer.hs(HandshakeType::ServerHello, &body)
    }

    pub fn certificate(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        Certificate12 {
            chain: self.cert.chain().to_vec(),
        }
        .encode(&mut body);
        self.peer.hs(HandshakeType::Certificate, &body)
    }

    /// A ServerKeyExchange with a fresh key share, signed over both randoms and the params
    /// (RFC 8422 §5.4). Each call replaces the share the handshake will use.
    pub fn server_key_exchange_body(&mut self) -> Vec<u8> {
        let kx = KeyExchange::generate(suites::kx_group(GROUP).expect("group")).expect("kx");
        let params = EcdheParams {
            group: GROUP,
            public: kx.public_key().to_vec(),
        };
        self.kx = Some(kx);
        let mut signed = Vec::new();
        signed.extend_from_slice(&self.client_random.expect("client random"));
        signed.extend_from_slice(&self.random);
        params.encode(&mut signed);
        let scheme = SigScheme::EcdsaP256Sha256;
        let signature = self.cert.signing_key().sign(scheme, &signed).expect("sign");
        let mut body = Vec::new();
        ServerKeyExchange {
            params,
            scheme: scheme.iana(),
            signature,
        }
        .encode(&mut body);
        body
    }

    pub fn server_key_exchange(&mut self) -> Vec<u8> {
        let body = self.server_key_exchange_body();
        self.peer.hs(HandshakeType::ServerKeyExchange, &body)
    }

    pub fn certificate_request(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        CertificateRequest12 {
            cert_types: vec![64],
            schemes: vec![SigScheme::EcdsaP256Sha256.iana()],
            authorities: Vec::new(),
        }
        .encode(&mut body);
        self.peer.hs(HandshakeType::CertificateRequest, &body)
    }

    pub fn server_hello_done(&mut self) -> Vec<u8> {
        self.peer.hs(HandshakeType::ServerHelloDone, &[])
    }

    /// The usual flight 4 in one datagram.
    pub fn flight4(&mut self, with_cert_request: bool) -> Vec<u8> {
        let mut d = self.server_hello();
        d.extend(self.certificate());
        d.extend(self.server_key_exchange());
        if with_cert_request {
            d.extend(self.certificate_request());
        }
        d.extend(self.server_hello_done());
        d
    }

    /// Reads the client's flight 5 as far as it got: hashes Certificate, ClientKeyExchange and
    /// CertificateVerify in message_seq order (deriving the keys at ClientKeyExchange), then
    /// checks the client Finished. True when that Finished verified and was hashed.
    pub fn read_client_flight(&mut self) -> bool {
        for _ in 0..8 {
            let next = self.last_hashed.map_or(0, |l| l + 1);
            let Some(m) = self
                .peer
                .messages
                .iter()
                .find(|m| m.msg_seq == next)
                .cloned()
            else {
                return false;
            };
            match m.msg_type {
                HandshakeType::ClientKeyExchange => {
                    let cke = ClientKeyExchange::decode(&m.body).expect("CKE decodes");
                    self.hash(&m);
                    let kx = self.kx.take().expect("our key share");
                    let pms = kx.complete(&cke.public).expect("ECDHE");
                    let session_hash = self.suite.prf.hash(&self.peer.transcript);
                    let keys = Keys::derive(
                        self.suite,
                        &pms,
                        self.client_random.expect("client random"),
                        self.random,
                        self.ems.then_some(&session_hash[..]),
                    );
                    self.peer.set_keys(keys);
                }
                HandshakeType::Finished => {
                    let keys = self.peer.keys.as_ref().expect("keys");
                    let ok =
                        m.epoch == 1 && m.body == keys.verify_data(true, &self.peer.transcript);
                    if ok {
                        self.hash(&m);
                    }
                    return ok;
                }
                _ => self.hash(&m),
            }
        }
        false
    }

    fn hash(&mut self, m: &HsMsg) {
        self.peer
            .transcript
            .extend_from_slice(&full_message(m.msg_type, m.msg_seq, &m.body));
        self.last_hashed = Some(m.msg_seq);
    }

    /// The server's final flight: ChangeCipherSpec and Finished.
    pub fn ccs_finished(&mut self) -> Vec<u8> {
        let mut d = self.peer.ccs();
        let body = self
            .peer
            .keys
            .as_ref()
            .expect("keys")
            .verify_data(false, &self.peer.transcript);
        d.extend(self.peer.hs_in(HandshakeType::Finished, &body, 1));
        d
    }
}

// ---------------------------------------------------------------------------------------------
// The engine under test.

/// Whatever takes in the datagrams the engine sends: the 1.2 [`Peer`] here, the 1.3 one in
/// `hostile13.rs`.
pub trait Inbox {
    /// Takes in one datagram the engine sent.
    fn absorb(&mut self, datagram: &[u8]);
}

impl Inbox for Peer {
    fn absorb(&mut self, datagram: &[u8]) {
        Peer::absorb(self, datagram)
    }
}

/// A fresh ECDSA P-256 certificate.
pub fn cert(name: &str) -> Certificate {
    Certificate::generate(name).expect("certificate")
}

/// A server config with the defaults that matter here: cookies on with a fixed secret,
/// seeded randomness, 1 s first retransmission, 10 s handshake deadline.
pub fn server_config(
    cert: &Certificate,
    f: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Arc<Config> {
    f(builder(Version::V12)
        .certificate(cert.clone())
        .cookie_secret([7; 32])
        .rng_seed(11)
        .timers(1000, 4000, 10_000))
    .build()
    .expect("server config")
}

/// A client config pinning `server`'s fingerprint.
pub fn client_config(
    server: &Certificate,
    f: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Arc<Config> {
    f(builder(Version::V12)
        .peer_fingerprint(server.fingerprint(HashAlg::Sha256))
        .rng_seed(12)
        .timers(1000, 4000, 10_000))
    .build()
    .expect("client config")
}

/// The engine under test on a virtual clock.
pub struct Sut {
    pub conn: Connection,
    pub now: u64,
    pub events: Vec<Event>,
    /// The first `Err` any call returned.
    pub error: Option<Error>,
    /// Every datagram the engine sent, in order.
    pub sent: Vec<Vec<u8>>,
}

impl Sut {
    pub fn server(cfg: Arc<Config>) -> Self {
        let mut conn = Connection::new(cfg, Role::Server, None, 0).expect("server");
        conn.set_peer_address(PEER_ADDR);
        Sut::wrap(conn)
    }

    pub fn client(cfg: Arc<Config>) -> Self {
        Sut::wrap(Connection::new(cfg, Role::Client, None, 0).expect("client"))
    }

    fn wrap(conn: Connection) -> Self {
        Sut {
            conn,
            now: 0,
            events: Vec::new(),
            error: None,
            sent: Vec::new(),
        }
    }

    fn collect_events(&mut self) {
        while let Some(e) = self.conn.poll_event() {
            self.events.push(e);
        }
    }

    fn note(&mut self, r: Result<(), Error>) -> Result<(), Error> {
        self.collect_events();
        if let Err(e) = &r {
            self.error.get_or_insert_with(|| e.clone());
        }
        r
    }

    /// Feeds one datagram.
    pub fn deliver(&mut self, datagram: &[u8]) -> Result<(), Error> {
        let r = self.conn.handle_datagram(self.now, datagram);
        self.note(r)
    }

    /// Sends everything pending to `peer`; returns those datagrams.
    pub fn flush(&mut self, peer: &mut impl Inbox) -> Vec<Vec<u8>> {
        let out = match poll_all(&mut self.conn, self.now) {
            Ok(out) => out,
            Err(e) => panic!("poll_transmit: {e}"),
        };
        for d in &out {
            peer.absorb(d);
        }
        self.sent.extend(out.iter().cloned());
        self.collect_events();
        out
    }

    /// Delivers a datagram and collects the answer.
    pub fn exchange(&mut self, peer: &mut impl Inbox, datagram: &[u8]) -> Vec<Vec<u8>> {
        let _ = self.deliver(datagram);
        self.flush(peer)
    }

    /// Moves the clock by `ms`, runs the timers and collects what they sent.
    pub fn advance(&mut self, peer: &mut impl Inbox, ms: u64) -> Vec<Vec<u8>> {
        self.now += ms;
        let r = self.conn.handle_timeout(self.now);
        let _ = self.note(r);
        self.flush(peer)
    }

    /// Runs the clock through every deadline until the engine has none left (bounded):
    /// whatever has not completed by then has timed out.
    pub fn run_out_clock(&mut self, peer: &mut impl Inbox) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for _ in 0..64 {
            let Some(t) = self.conn.next_timeout() else {
                break;
            };
            let step = t.saturating_sub(self.now).max(1);
            out.extend(self.advance(peer, step));
        }
        out
    }

    pub fn connected(&self) -> bool {
        self.events.iter().any(|e| matches!(e, Event::Connected(_)))
    }

    pub fn failed(&self) -> Option<&Error> {
        self.events.iter().find_map(|e| match e {
            Event::Failed(e) => Some(e),
            _ => None,
        })
    }
}

/// The engine ended the handshake with fatal `alert` (RFC 5246 §7.2.2): the failing call
/// returned an error that maps to it, `Event::Failed` carries the same error, the peer
/// received a fatal alert record with that description (in whichever epoch: see
/// `server_alert_before_its_ccs_is_plaintext` in state_machine.rs for the epoch itself), and
/// no handshake completed.
#[track_caller]
pub fn assert_fatal(sut: &Sut, peer: &Peer, alert: AlertDescription) {
    let err = sut
        .error
        .as_ref()
        .expect("the engine must fail the association");
    assert_eq!(err.alert(), Some(alert), "error {err:?}");
    assert_eq!(sut.failed(), Some(err), "Event::Failed with the same error");
    assert!(!sut.connected(), "no Connected event");
    assert!(!sut.conn.is_connected());
    assert!(sut.conn.is_closed());
    assert_eq!(
        peer.fatal_alerts().iter().map(|a| a.1).collect::<Vec<_>>(),
        vec![alert],
        "exactly one fatal alert on the wire; all alerts: {:?}",
        peer.alerts
    );
}

/// Nothing happened: no error, no event, no alert, no datagram.
#[track_caller]
pub fn assert_silent(sut: &Sut, peer: &Peer, sent_before: usize) {
    assert!(sut.error.is_none(), "unexpected error {:?}", sut.error);
    assert!(sut.failed().is_none());
    assert!(!sut.connected());
    assert!(peer.alerts.is_empty(), "alerts {:?}", peer.alerts);
    assert_eq!(sut.sent.len(), sent_before, "the engine answered");
}
