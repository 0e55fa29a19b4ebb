//! A scripted hostile DTLS 1.3 peer, for the 1.3 state-machine catalogue
//! (`tests/engine/state_machine13.rs`). The 1.3 counterpart of `hostile.rs`, and built the same
//! way: the peer speaks the protocol itself (its own ECDHE, its own key schedule, its own
//! record protection and Finished over the transcript *it* sent), so that when a test omits,
//! repeats or reorders a message, everything the peer sends still authenticates and only the
//! engine's state machine can stop the handshake.
//!
//! Built from the engine's public wire types (`msgs::handshake13`, `msgs::extensions13`,
//! `msgs::record13`, `msgs::ack`), its record protection (`record::protect13`) and its HKDF
//! wrappers (`crypto::hkdf`). The key schedule (RFC 8446 §7.1 with the "dtls13" label prefix of
//! RFC 9147 §5.9) is written here against the RFC rather than borrowed from the engine (it is
//! crate-private anyway), so both sides agreeing is evidence.
//!
//! - [`Peer13`]: record layer (DTLSPlaintext in epoch 0, unified-header DTLSCiphertext in
//!   epochs 2 and 3 with record number encryption), 1.3 transcript (4-byte TLS headers,
//!   RFC 9147 §5.2), and the inbox: reassembled handshake messages, alerts, ACKs, data;
//! - [`HostileServer13`] / [`HostileClient13`]: every 1.3 message built on demand;
//! - the engine under test is `hostile::Sut` (it takes any [`super::hostile::Inbox`]).
#![allow(dead_code)]

use super::hostile::{Inbox, Sut};
use super::pair::{builder, Version};
use dtls_proto::crypto::aead::AeadAlg;
use dtls_proto::crypto::hash::{hmac, HashAlg};
use dtls_proto::crypto::hkdf;
use dtls_proto::crypto::kx::KeyExchange;
use dtls_proto::crypto::sign::SigScheme;
use dtls_proto::msgs::ack::{Ack, RecordNumber};
use dtls_proto::msgs::alert::Alert;
use dtls_proto::msgs::codec::Codec;
use dtls_proto::msgs::enums::{
    AlertDescription, AlertLevel, CipherSuite, ContentType, HandshakeType, KeyUpdateRequest,
    NamedGroup, ProtocolVersion,
};
use dtls_proto::msgs::extensions::Extensions;
use dtls_proto::msgs::extensions13::{
    self as x13, Cookie, KeyShareClientHello, KeyShareEntry, KeyShareHelloRetryRequest,
    KeyShareServerHello, SignatureAlgorithms, SupportedGroups, SupportedVersionsClient,
    SupportedVersionsServer,
};
use dtls_proto::msgs::handshake::{full_message, ClientHello, DigitallySigned, ServerHello};
use dtls_proto::msgs::handshake13::{
    certificate_verify_content, message_hash, transcript_message, Certificate13,
    CertificateRequest13, EncryptedExtensions, KeyUpdate, ServerHello13,
};
use dtls_proto::msgs::record::RecordHeader;
use dtls_proto::msgs::record13::Records13;
use dtls_proto::record::protect13::RecordCipher13;
use dtls_proto::{Certificate, Config, ConfigBuilder, Role};
use std::collections::BTreeMap;
use std::sync::Arc;

#[allow(unused_imports)]
// re-exported for the catalogue; other test binaries include this file too
pub use super::hostile::{cert, fragments, HsMsg};

/// DTLS 1.2 on the wire: the legacy version of 1.3 plaintext records and hellos.
pub const V12: u16 = 0xfefd;
/// The suite the hostile peers use.
pub const SUITE13: CipherSuite = CipherSuite::Tls13Aes128GcmSha256;
/// The group the hostile peers prefer.
pub const GROUP13: NamedGroup = NamedGroup::X25519;
/// The second group (what a HelloRetryRequest asks for).
pub const GROUP13_ALT: NamedGroup = NamedGroup::Secp256r1;
/// The handshake epoch (RFC 9147 §6.1).
pub const EPOCH_HS: u64 = 2;
/// The first application epoch.
pub const EPOCH_APP: u64 = 3;

// ---------------------------------------------------------------------------------------------
// Key schedule (RFC 8446 §7.1; RFC 9147 §5.9 "dtls13" labels; RFC 9147 §4.2.3 "sn" key).

/// HKDF hash and AEAD of [`SUITE13`].
pub const HASH: HashAlg = HashAlg::Sha256;
pub const AEAD: AeadAlg = AeadAlg::Aes128Gcm;

fn derive_secret(secret: &[u8], label: &[u8], th: &[u8]) -> Vec<u8> {
    hkdf::derive_secret(HASH, secret, label, th)
        .expect("derive")
        .to_vec()
}

/// (handshake secret, client_handshake_traffic_secret, server_handshake_traffic_secret) from
/// the (EC)DHE secret and the transcript hash through ServerHello.
pub fn handshake_secrets(shared: &[u8], th: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let zeros = vec![0u8; HASH.output_len()];
    let early = hkdf::extract(HASH, &zeros, &zeros);
    let derived = derive_secret(&early, b"derived", &HASH.hash(b""));
    let hs = hkdf::extract(HASH, &derived, shared).to_vec();
    let c = derive_secret(&hs, b"c hs traffic", th);
    let s = derive_secret(&hs, b"s hs traffic", th);
    (hs, c, s)
}

/// (client_application_traffic_secret_0, server_...) from the handshake secret and the
/// transcript hash through the server Finished.
pub fn application_secrets(hs: &[u8], th: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let zeros = vec![0u8; HASH.output_len()];
    let derived = derive_secret(hs, b"derived", &HASH.hash(b""));
    let master = hkdf::extract(HASH, &derived, &zeros);
    (
        derive_secret(&master, b"c ap traffic", th),
        derive_secret(&master, b"s ap traffic", th),
    )
}

/// The next application traffic secret (RFC 8446 §7.2).
pub fn next_secret(secret: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; HASH.output_len()];
    hkdf::expand_label(HASH, secret, b"traffic upd", b"", &mut out).expect("expand");
    out
}

/// Record protection from a traffic secret: key, iv and the record number key.
pub fn cipher(secret: &[u8]) -> RecordCipher13 {
    let mut key = vec![0u8; AEAD.key_len()];
    let mut iv = [0u8; 12];
    let mut sn = vec![0u8; AEAD.key_len()];
    hkdf::expand_label(HASH, secret, b"key", b"", &mut key).expect("key");
    hkdf::expand_label(HASH, secret, b"iv", b"", &mut iv).expect("iv");
    hkdf::expand_label(HASH, secret, b"sn", b"", &mut sn).expect("sn");
    RecordCipher13::new(AEAD, &key, &iv, &sn).expect("cipher")
}

/// Finished.verify_data over transcript hash `th` with `secret`'s finished_key (RFC 8446 §4.4.4).
pub fn finished_mac(secret: &[u8], th: &[u8]) -> Vec<u8> {
    let mut key = vec![0u8; HASH.output_len()];
    hkdf::expand_label(HASH, secret, b"finished", b"", &mut key).expect("finished key");
    hmac(HASH, &key, &[th])
}

/// A cipher under keys nobody holds: what an off-path forger can make at any epoch.
pub fn forger_cipher(seed: u8) -> RecordCipher13 {
    cipher(&[seed; 32])
}

// ---------------------------------------------------------------------------------------------
// The record layer of a hostile 1.3 endpoint.

/// One record the peer received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec13 {
    pub content_type: ContentType,
    pub epoch: u64,
    pub seq: u64,
    /// The plaintext; `None` when it did not open.
    pub plain: Option<Vec<u8>>,
}

struct Partial {
    msg_type: HandshakeType,
    body: Vec<u8>,
    have: Vec<bool>,
}

struct ReadKey {
    cipher: RecordCipher13,
    highest: Option<u64>,
}

/// Record layer, transcript and inbox of one hostile 1.3 endpoint.
pub struct Peer13 {
    write_seq: BTreeMap<u64, u64>,
    write: BTreeMap<u64, RecordCipher13>,
    read: BTreeMap<u64, ReadKey>,
    /// message_seq of the next message built with [`Peer13::hs`].
    pub next_msg_seq: u16,
    /// The 1.3 transcript: whole messages with 4-byte TLS headers (RFC 9147 §5.2).
    pub transcript: Vec<u8>,
    /// Every record received and parsed, in order.
    pub records: Vec<Rec13>,
    /// Protected records whose epoch we had no keys for yet, opened by [`Peer13::install_read`].
    unopened: Vec<Vec<u8>>,
    partial: BTreeMap<(u64, u16), Partial>,
    /// Complete handshake messages received (retransmissions included).
    pub messages: Vec<HsMsg>,
    /// Alerts received, with their epoch.
    pub alerts: Vec<(u64, Alert)>,
    /// ACKs received, with their epoch.
    pub acks: Vec<(u64, Ack)>,
    /// Application data received.
    pub app: Vec<Vec<u8>>,
}

impl Default for Peer13 {
    fn default() -> Self {
        Self::new()
    }
}

impl Peer13 {
    pub fn new() -> Self {
        Peer13 {
            write_seq: BTreeMap::new(),
            write: BTreeMap::new(),
            read: BTreeMap::new(),
            next_msg_seq: 0,
            transcript: Vec::new(),
            records: Vec::new(),
            unopened: Vec::new(),
            partial: BTreeMap::new(),
            messages: Vec::new(),
            alerts: Vec::new(),
            acks: Vec::new(),
            app: Vec::new(),
        }
    }

    /// The transcript hash so far.
    pub fn th(&self) -> Vec<u8> {
        HASH.hash(&self.transcript)
    }

    pub fn install_write(&mut self, epoch: u64, secret: &[u8]) {
        self.write.insert(epoch, cipher(secret));
    }

    /// Installs read keys for `epoch` and opens what waited for them.
    pub fn install_read(&mut self, epoch: u64, secret: &[u8]) {
        self.read.insert(
            epoch,
            ReadKey {
                cipher: cipher(secret),
                highest: None,
            },
        );
        for d in std::mem::take(&mut self.unopened) {
            self.absorb_datagram(&d);
        }
    }

    /// Takes in one datagram the engine sent.
    pub fn absorb_datagram(&mut self, datagram: &[u8]) {
        for rec in Records13::new(datagram, 0) {
            match rec {
                dtls_proto::msgs::record13::Record13::Plaintext {
                    header, fragment, ..
                } => {
                    let plain = fragment.to_vec();
                    self.take(
                        header.content_type,
                        u64::from(header.epoch),
                        header.seq,
                        Some(plain),
                    );
                }
                dtls_proto::msgs::record13::Record13::Ciphertext {
                    header,
                    header_bytes,
                    encrypted,
                } => {
                    let bits = header.epoch_bits;
                    let Some((&epoch, _)) = self
                        .read
                        .iter()
                        .rev()
                        .find(|(e, _)| **e & 3 == u64::from(bits))
                    else {
                        let mut whole = header_bytes.to_vec();
                        whole.extend_from_slice(encrypted);
                        self.unopened.push(whole);
                        continue;
                    };
                    let k = self.read.get_mut(&epoch).expect("present");
                    let mut hb = header_bytes.to_vec();
                    let mut body = encrypted.to_vec();
                    match k.cipher.open(&header, &mut hb, &mut body, k.highest) {
                        Ok(o) => {
                            k.highest = Some(k.highest.map_or(o.seq, |h| h.max(o.seq)));
                            let plain = body[o.range].to_vec();
                            self.take(o.content_type, epoch, o.seq, Some(plain));
                        }
                        Err(_) => self.records.push(Rec13 {
                            content_type: ContentType::from(0),
                            epoch,
                            seq: 0,
                            plain: None,
                        }),
                    }
                }
            }
        }
    }

    fn take(&mut self, ct: ContentType, epoch: u64, seq: u64, plain: Option<Vec<u8>>) {
        self.records.push(Rec13 {
            content_type: ct,
            epoch,
            seq,
            plain: plain.clone(),
        });
        let Some(p) = plain else { return };
        match ct {
            ContentType::Handshake => self.take_fragments(epoch, &p),
            ContentType::Alert => {
                if let Some(a) = Alert::from_bytes(&p) {
                    self.alerts.push((epoch, a));
                }
            }
            ContentType::Ack => {
                if let Ok(a) = Ack::decode(&p, 1024) {
                    self.acks.push((epoch, a));
                }
            }
            ContentType::ApplicationData => self.app.push(p),
            _ => {}
        }
    }

    fn take_fragments(&mut self, epoch: u64, payload: &[u8]) {
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
                    epoch: epoch.min(u64::from(u16::MAX)) as u16,
                    body: p.body,
                });
            }
        }
    }

    fn take_seq(&mut self, epoch: u64) -> u64 {
        let s = self.write_seq.entry(epoch).or_insert(0);
        let v = *s;
        *s += 1;
        v
    }

    /// One record with an explicit sequence number: a DTLSPlaintext record in epoch 0, else a
    /// DTLSCiphertext protected with our keys for `epoch`.
    pub fn record_at(&mut self, ct: ContentType, epoch: u64, seq: u64, payload: &[u8]) -> Vec<u8> {
        if epoch == 0 {
            let hdr = RecordHeader {
                content_type: ct,
                version: V12,
                epoch: 0,
                seq,
                length: payload.len() as u16,
            };
            let mut out = hdr.to_bytes();
            out.extend_from_slice(payload);
            return out;
        }
        let c = self
            .write
            .get_mut(&epoch)
            .unwrap_or_else(|| panic!("the hostile peer has no write keys for epoch {epoch}"));
        seal_with(c, ct, epoch, seq, payload)
    }

    /// One record with the epoch's next sequence number.
    pub fn record(&mut self, ct: ContentType, epoch: u64, payload: &[u8]) -> Vec<u8> {
        let seq = self.take_seq(epoch);
        self.record_at(ct, epoch, seq, payload)
    }

    /// A handshake message in `epoch` with the next message_seq, hashed into the transcript.
    pub fn hs(&mut self, t: HandshakeType, body: &[u8], epoch: u64) -> Vec<u8> {
        let seq = self.next_msg_seq;
        self.next_msg_seq += 1;
        self.hs_custom(t, seq, body, epoch, true)
    }

    /// A handshake message with every field chosen by the caller.
    pub fn hs_custom(
        &mut self,
        t: HandshakeType,
        msg_seq: u16,
        body: &[u8],
        epoch: u64,
        hash: bool,
    ) -> Vec<u8> {
        if hash {
            self.transcript
                .extend_from_slice(&transcript_message(t, body));
        }
        let payload = full_message(t, msg_seq, body);
        self.record(ContentType::Handshake, epoch, &payload)
    }

    /// An alert record.
    pub fn alert(&mut self, level: AlertLevel, desc: AlertDescription, epoch: u64) -> Vec<u8> {
        let a = Alert {
            level,
            description: desc,
        };
        self.record(ContentType::Alert, epoch, &a.to_bytes())
    }

    /// An ACK record listing `rns`.
    pub fn ack(&mut self, epoch: u64, rns: &[(u64, u64)]) -> Vec<u8> {
        let mut body = Vec::new();
        Ack {
            record_numbers: rns
                .iter()
                .map(|&(epoch, sequence_number)| RecordNumber {
                    epoch,
                    sequence_number,
                })
                .collect(),
        }
        .encode(&mut body);
        self.record(ContentType::Ack, epoch, &body)
    }

    /// Application data in `epoch`.
    pub fn app_data(&mut self, epoch: u64, data: &[u8]) -> Vec<u8> {
        self.record(ContentType::ApplicationData, epoch, data)
    }

    /// A KeyUpdate (not hashed: post-handshake messages are not in the transcript).
    pub fn key_update(&mut self, epoch: u64, request: KeyUpdateRequest) -> Vec<u8> {
        let mut body = Vec::new();
        KeyUpdate { request }.encode(&mut body);
        let seq = self.next_msg_seq;
        self.next_msg_seq += 1;
        self.hs_custom(HandshakeType::KeyUpdate, seq, &body, epoch, false)
    }

    pub fn fatal_alerts(&self) -> Vec<(u64, AlertDescription)> {
        self.alerts
            .iter()
            .filter(|(_, a)| a.level == AlertLevel::Fatal)
            .map(|(e, a)| (*e, a.description))
            .collect()
    }

    pub fn received(&self, t: HandshakeType) -> Vec<&HsMsg> {
        self.messages.iter().filter(|m| m.msg_type == t).collect()
    }

    /// Every record number (epoch, seq) the engine acknowledged.
    pub fn acked(&self) -> Vec<(u64, u64)> {
        self.acks
            .iter()
            .flat_map(|(_, a)| a.record_numbers.iter())
            .map(|r| (r.epoch, r.sequence_number))
            .collect()
    }
}

impl Inbox for Peer13 {
    fn absorb(&mut self, datagram: &[u8]) {
        self.absorb_datagram(datagram)
    }
}

/// Seals one DTLSCiphertext record with `c`.
pub fn seal_with(
    c: &mut RecordCipher13,
    ct: ContentType,
    epoch: u64,
    seq: u64,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = vec![0u8; payload.len() + RecordCipher13::overhead(0)];
    let h = RecordCipher13::header_len();
    out[h..h + payload.len()].copy_from_slice(payload);
    let n = c
        .seal(epoch, seq, ct, &mut out, payload.len(), 0)
        .expect("seal");
    out.truncate(n);
    out
}

fn share_for(group: NamedGroup) -> KeyExchange {
    KeyExchange::generate(dtls_proto::suites::kx_group(group).expect("an ECDHE group"))
        .expect("key share")
}

// ---------------------------------------------------------------------------------------------
// The hostile 1.3 server (against our client).

/// A DTLS 1.3 server whose every message is built on demand.
pub struct HostileServer13 {
    pub peer: Peer13,
    pub cert: Certificate,
    pub random: [u8; 32],
    /// The newest ClientHello, decoded.
    pub client_hello: Option<ClientHello>,
    /// A HelloRetryRequest went out: the next ClientHello continues the transcript.
    hrr_sent: bool,
    /// (handshake secret, client hs secret, server hs secret) once ServerHello went out.
    pub hs: Option<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    /// (client app secret, server app secret) once our Finished went out.
    pub app: Option<(Vec<u8>, Vec<u8>)>,
    /// msg_seq of the last client message hashed (the client's flight after ServerHello).
    last_hashed: Option<u16>,
}

impl HostileServer13 {
    pub fn new(cert: Certificate, random_byte: u8) -> Self {
        HostileServer13 {
            peer: Peer13::new(),
            cert,
            random: [random_byte; 32],
            client_hello: None,
            hrr_sent: false,
            hs: None,
            app: None,
            last_hashed: None,
        }
    }

    /// Reads the newest ClientHello; after a HelloRetryRequest it joins the transcript after
    /// message_hash and the HRR, otherwise it starts it. Our replies mirror its message_seq.
    pub fn read_client_hello(&mut self) -> ClientHello {
        let m = self
            .peer
            .received(HandshakeType::ClientHello)
            .pop()
            .expect("a ClientHello")
            .clone();
        let ch = ClientHello::decode(&m.body).expect("ClientHello decodes");
        let t = transcript_message(HandshakeType::ClientHello, &m.body);
        if self.hrr_sent {
            self.peer.transcript.extend_from_slice(&t);
        } else {
            self.peer.transcript = t;
        }
        self.peer.next_msg_seq = m.msg_seq;
        self.last_hashed = Some(m.msg_seq);
        self.client_hello = Some(ch.clone());
        ch
    }

    /// The client's key share in `group`, if it sent one.
    pub fn client_share(&self, group: NamedGroup) -> Option<Vec<u8>> {
        let ch = self.client_hello.as_ref()?;
        let ks = x13::find::<KeyShareClientHello>(&ch.extensions).ok()??;
        ks.get(group).map(|e| e.key_exchange.clone())
    }

    /// A HelloRetryRequest naming `group` (if any) and carrying `cookie` (if any); restarts the
    /// transcript with message_hash(ClientHello1) and the HRR (RFC 8446 §4.4.1).
    pub fn hello_retry_request(
        &mut self,
        group: Option<NamedGroup>,
        cookie: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut e = Extensions::default();
        x13::push(&mut e, &SupportedVersionsServer(ProtocolVersion::Dtls13));
        if let Some(g) = group {
            x13::push(&mut e, &KeyShareHelloRetryRequest(g));
        }
        if let Some(c) = cookie {
            x13::push(&mut e, &Cookie(c.to_vec()));
        }
        let sid = self
            .client_hello
            .as_ref()
            .map(|c| c.session_id.clone())
            .unwrap_or_default();
        let mut body = Vec::new();
        ServerHello13::hello_retry_request(sid, SUITE13, e).encode(&mut body);
        if !self.hrr_sent {
            let h = HASH.hash(&self.peer.transcript);
            self.peer.transcript = message_hash(&h);
        }
        self.hrr_sent = true;
        self.peer.hs(HandshakeType::ServerHello, &body, 0)
    }

    /// The ServerHello we would send: DTLS 1.3 in supported_versions, a fresh share in `group`.
    /// Returns it and our key exchange (to complete once the caller is done editing it).
    pub fn server_hello_parts(&mut self, group: NamedGroup) -> (ServerHello13, KeyExchange) {
        let kx = share_for(group);
        let mut e = Extensions::default();
        x13::push(&mut e, &SupportedVersionsServer(ProtocolVersion::Dtls13));
        x13::push(
            &mut e,
            &KeyShareServerHello(KeyShareEntry {
                group,
                key_exchange: kx.public_key().to_vec(),
            }),
        );
        let sid = self
            .client_hello
            .as_ref()
            .map(|c| c.session_id.clone())
            .unwrap_or_default();
        (
            ServerHello13 {
                legacy_version: ProtocolVersion::Dtls12,
                random: self.random,
                legacy_session_id_echo: sid,
                cipher_suite: SUITE13,
                extensions: e,
            },
            kx,
        )
    }

    /// Sends `sh`; when the client has a share in `kx`'s group, derives and installs the
    /// handshake keys (epoch 2) from the transcript through it.
    pub fn send_server_hello(&mut self, sh: &ServerHello13, kx: KeyExchange) -> Vec<u8> {
        let mut body = Vec::new();
        sh.encode(&mut body);
        let rec = self.peer.hs(HandshakeType::ServerHello, &body, 0);
        let group = x13::find::<KeyShareServerHello>(&sh.extensions)
            .ok()
            .flatten()
            .map(|k| k.0.group);
        if let Some(theirs) = group.and_then(|g| self.client_share(g)) {
            if let Ok(shared) = kx.complete(&theirs) {
                let th = self.peer.th();
                let (hs, c, s) = handshake_secrets(&shared, &th);
                self.peer.install_write(EPOCH_HS, &s);
                self.peer.install_read(EPOCH_HS, &c);
                self.hs = Some((hs, c, s));
            }
        }
        rec
    }

    /// The genuine ServerHello in `group`.
    pub fn server_hello_in(&mut self, group: NamedGroup) -> Vec<u8> {
        let (sh, kx) = self.server_hello_parts(group);
        self.send_server_hello(&sh, kx)
    }

    pub fn server_hello(&mut self) -> Vec<u8> {
        self.server_hello_in(GROUP13)
    }

    pub fn encrypted_extensions(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        EncryptedExtensions {
            extensions: Extensions::default(),
        }
        .encode(&mut body);
        self.peer
            .hs(HandshakeType::EncryptedExtensions, &body, EPOCH_HS)
    }

    pub fn certificate_request(&mut self) -> Vec<u8> {
        let mut e = Extensions::default();
        x13::push(
            &mut e,
            &SignatureAlgorithms(vec![SigScheme::EcdsaP256Sha256.iana()]),
        );
        let mut body = Vec::new();
        CertificateRequest13 {
            context: Vec::new(),
            extensions: e,
        }
        .encode(&mut body);
        self.peer
            .hs(HandshakeType::CertificateRequest, &body, EPOCH_HS)
    }

    pub fn certificate(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        Certificate13::encode_chain(&[], self.cert.chain(), &mut body);
        self.peer.hs(HandshakeType::Certificate, &body, EPOCH_HS)
    }

    pub fn certificate_verify(&mut self) -> Vec<u8> {
        let body = certificate_verify_body(&self.cert, Role::Server, &self.peer.th());
        self.peer
            .hs(HandshakeType::CertificateVerify, &body, EPOCH_HS)
    }

    /// Our Finished; derives the application secrets (through it) and installs epoch 3.
    pub fn finished(&mut self) -> Vec<u8> {
        let (hs, _, s) = self.hs.clone().expect("handshake keys");
        let body = finished_mac(&s, &self.peer.th());
        let rec = self.peer.hs(HandshakeType::Finished, &body, EPOCH_HS);
        let (ca, sa) = application_secrets(&hs, &self.peer.th());
        self.peer.install_write(EPOCH_APP, &sa);
        self.peer.install_read(EPOCH_APP, &ca);
        self.app = Some((ca, sa));
        rec
    }

    /// The whole flight after ServerHello in one datagram.
    pub fn encrypted_flight(&mut self, with_cert_request: bool) -> Vec<u8> {
        let mut d = self.encrypted_extensions();
        if with_cert_request {
            d.extend(self.certificate_request());
        }
        d.extend(self.certificate());
        d.extend(self.certificate_verify());
        d.extend(self.finished());
        d
    }

    /// Reads the client's last flight (epoch 2) in message_seq order: hashes Certificate and
    /// CertificateVerify, checks Finished. True when a Finished verified.
    pub fn read_client_flight(&mut self) -> bool {
        for _ in 0..8 {
            let next = self.last_hashed.map_or(0, |l| l + 1);
            let Some(m) = self
                .peer
                .messages
                .iter()
                .find(|m| m.msg_seq == next && u64::from(m.epoch) == EPOCH_HS)
                .cloned()
            else {
                return false;
            };
            if m.msg_type == HandshakeType::Finished {
                let (_, c, _) = self.hs.clone().expect("keys");
                let ok = m.body == finished_mac(&c, &self.peer.th());
                if ok {
                    self.hash(&m);
                }
                return ok;
            }
            self.hash(&m);
        }
        false
    }

    fn hash(&mut self, m: &HsMsg) {
        self.peer
            .transcript
            .extend_from_slice(&transcript_message(m.msg_type, &m.body));
        self.last_hashed = Some(m.msg_seq);
    }
}

/// A CertificateVerify body signed by `cert` as `role` over transcript hash `th`.
pub fn certificate_verify_body(cert: &Certificate, role: Role, th: &[u8]) -> Vec<u8> {
    let scheme = SigScheme::EcdsaP256Sha256;
    let content = certificate_verify_content(role, th);
    let signature = cert
        .signing_key()
        .sign_tls13(scheme, &content)
        .expect("sign");
    let mut body = Vec::new();
    DigitallySigned {
        scheme: scheme.iana(),
        signature,
    }
    .encode(&mut body);
    body
}

// ---------------------------------------------------------------------------------------------
// The hostile 1.3 client (against our server).

/// A DTLS 1.3 client whose every message is built on demand.
pub struct HostileClient13 {
    pub peer: Peer13,
    pub random: [u8; 32],
    /// The HelloRetryRequest cookie to echo.
    pub cookie: Option<Vec<u8>>,
    /// The group of our key share.
    pub group: NamedGroup,
    kx: Option<KeyExchange>,
    /// Versions offered in supported_versions.
    pub versions: Vec<ProtocolVersion>,
    /// A HelloRetryRequest arrived and was hashed.
    pub hrr_seen: bool,
    /// What the server's flight told us.
    pub cert_requested: bool,
    pub server_finished: bool,
    pub hs: Option<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    pub app: Option<(Vec<u8>, Vec<u8>)>,
    /// message_seq of the next server message to hash.
    next_server_seq: u16,
}

impl HostileClient13 {
    pub fn new(random_byte: u8) -> Self {
        HostileClient13 {
            peer: Peer13::new(),
            random: [random_byte; 32],
            cookie: None,
            group: GROUP13,
            kx: None,
            versions: vec![ProtocolVersion::Dtls13],
            hrr_seen: false,
            cert_requested: false,
            server_finished: false,
            hs: None,
            app: None,
            next_server_seq: 0,
        }
    }

    /// The ClientHello body with the current cookie and a share in the current group.
    pub fn client_hello_body(&mut self) -> Vec<u8> {
        if self.kx.is_none() {
            self.kx = Some(share_for(self.group));
        }
        let share = self.kx.as_ref().expect("share").public_key().to_vec();
        let mut e = Extensions::default();
        x13::push(&mut e, &SupportedVersionsClient(self.versions.clone()));
        x13::push(&mut e, &SupportedGroups(vec![GROUP13, GROUP13_ALT]));
        x13::push(
            &mut e,
            &SignatureAlgorithms(vec![SigScheme::EcdsaP256Sha256.iana()]),
        );
        x13::push(
            &mut e,
            &KeyShareClientHello(vec![KeyShareEntry {
                group: self.group,
                key_exchange: share,
            }]),
        );
        if let Some(c) = &self.cookie {
            x13::push(&mut e, &Cookie(c.clone()));
        }
        let mut body = Vec::new();
        ClientHello {
            version: ProtocolVersion::Dtls12,
            random: self.random,
            session_id: Vec::new(),
            cookie: Vec::new(),
            cipher_suites: vec![SUITE13],
            compression_methods: vec![0],
            extensions: e,
        }
        .encode(&mut body);
        body
    }

    /// A ClientHello with the next message_seq; the first starts the transcript, one after a
    /// HelloRetryRequest continues it.
    pub fn client_hello(&mut self) -> Vec<u8> {
        let body = self.client_hello_body();
        if !self.hrr_seen {
            self.peer.transcript.clear();
        }
        self.next_server_seq = self.peer.next_msg_seq;
        self.peer.hs(HandshakeType::ClientHello, &body, 0)
    }

    /// Reads the server's messages in message_seq order: a HelloRetryRequest (takes its cookie
    /// and group; answer with [`HostileClient13::client_hello`]), or ServerHello (derives the
    /// handshake keys), EncryptedExtensions, CertificateRequest, Certificate,
    /// CertificateVerify and Finished (checked; derives the application keys).
    pub fn read_server_flight(&mut self) {
        for _ in 0..16 {
            let next = self.next_server_seq;
            let Some(m) = self
                .peer
                .messages
                .iter()
                .find(|m| m.msg_seq == next)
                .cloned()
            else {
                return;
            };
            match m.msg_type {
                HandshakeType::ServerHello => {
                    let sh = ServerHello13::decode(&m.body).expect("ServerHello decodes");
                    if sh.is_hello_retry_request() {
                        let h = HASH.hash(&self.peer.transcript);
                        self.peer.transcript = message_hash(&h);
                        self.hash(&m);
                        self.hrr_seen = true;
                        self.cookie = x13::find::<Cookie>(&sh.extensions)
                            .expect("cookie decodes")
                            .map(|c| c.0);
                        if let Some(KeyShareHelloRetryRequest(g)) =
                            x13::find::<KeyShareHelloRetryRequest>(&sh.extensions)
                                .expect("key_share decodes")
                        {
                            self.group = g;
                            self.kx = None;
                        }
                        return;
                    }
                    self.hash(&m);
                    let ks = x13::require::<KeyShareServerHello>(&sh.extensions)
                        .expect("server key share");
                    let kx = self.kx.take().expect("our share");
                    let shared = kx.complete(&ks.0.key_exchange).expect("ECDHE");
                    let (hs, c, s) = handshake_secrets(&shared, &self.peer.th());
                    self.peer.install_write(EPOCH_HS, &c);
                    self.peer.install_read(EPOCH_HS, &s);
                    self.hs = Some((hs, c, s));
                }
                HandshakeType::Finished => {
                    let (hs, _, s) = self.hs.clone().expect("keys");
                    assert_eq!(
                        m.body,
                        finished_mac(&s, &self.peer.th()),
                        "the server Finished verifies"
                    );
                    self.hash(&m);
                    let (ca, sa) = application_secrets(&hs, &self.peer.th());
                    self.peer.install_write(EPOCH_APP, &ca);
                    self.peer.install_read(EPOCH_APP, &sa);
                    self.app = Some((ca, sa));
                    self.server_finished = true;
                    return;
                }
                HandshakeType::CertificateRequest => {
                    self.cert_requested = true;
                    self.hash(&m);
                }
                _ => self.hash(&m),
            }
        }
    }

    fn hash(&mut self, m: &HsMsg) {
        self.peer
            .transcript
            .extend_from_slice(&transcript_message(m.msg_type, &m.body));
        self.next_server_seq = m.msg_seq + 1;
    }

    /// A client Certificate in epoch 2 with `chain` (empty: "no certificate").
    pub fn certificate(&mut self, chain: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        Certificate13::encode_chain(&[], chain, &mut body);
        self.peer.hs(HandshakeType::Certificate, &body, EPOCH_HS)
    }

    pub fn certificate_verify(&mut self, cert: &Certificate) -> Vec<u8> {
        let body = certificate_verify_body(cert, Role::Client, &self.peer.th());
        self.peer
            .hs(HandshakeType::CertificateVerify, &body, EPOCH_HS)
    }

    /// Our Finished over the transcript so far.
    pub fn finished(&mut self) -> Vec<u8> {
        let (_, c, _) = self.hs.clone().expect("handshake keys");
        let body = finished_mac(&c, &self.peer.th());
        self.peer.hs(HandshakeType::Finished, &body, EPOCH_HS)
    }

    /// First flight, HelloRetryRequest if the server sends one, second ClientHello: returns
    /// with the server's flight read (or whatever it sent instead).
    pub fn hello_through(&mut self, sut: &mut Sut) {
        let ch = self.client_hello();
        sut.exchange(&mut self.peer, &ch);
        self.read_server_flight();
        if self.hrr_seen && self.hs.is_none() {
            let ch2 = self.client_hello();
            sut.exchange(&mut self.peer, &ch2);
            self.read_server_flight();
        }
    }
}

/// Decodes a 1.2 ServerHello body (for the downgrade tests).
pub fn server_hello12(body: &[u8]) -> Option<ServerHello> {
    ServerHello::decode(body).ok()
}

// ---------------------------------------------------------------------------------------------
// Configs.

/// A 1.3 server config: cookies on (a HelloRetryRequest before any state) with a fixed secret,
/// seeded randomness, X25519 then P-256, 1 s first retransmission, 10 s handshake deadline.
pub fn server_config13(
    cert: &Certificate,
    f: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Arc<Config> {
    f(builder(Version::V13)
        .certificate(cert.clone())
        .cookie_secret([7; 32])
        .groups(&[GROUP13, GROUP13_ALT])
        .rng_seed(11)
        .timers(1000, 4000, 10_000))
    .build()
    .expect("server config")
}

/// A 1.3 client config pinning `server`'s fingerprint, X25519 then P-256.
pub fn client_config13(
    server: &Certificate,
    f: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Arc<Config> {
    f(builder(Version::V13)
        .peer_fingerprint(server.fingerprint(HashAlg::Sha256))
        .groups(&[GROUP13, GROUP13_ALT])
        .rng_seed(12)
        .timers(1000, 4000, 10_000))
    .build()
    .expect("client config")
}

/// The engine ended the handshake with fatal `alert`: the error maps to it, `Event::Failed`
/// carries it, the peer received exactly one fatal alert (in any epoch) with it, nothing
/// connected.
#[track_caller]
pub fn assert_fatal13(sut: &Sut, peer: &Peer13, alert: AlertDescription) {
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

/// Nothing happened since `sent_before` datagrams: no error, no event, no alert, no datagram.
#[track_caller]
pub fn assert_silent13(sut: &Sut, peer: &Peer13, sent_before: usize) {
    assert!(sut.error.is_none(), "unexpected error {:?}", sut.error);
    assert!(sut.failed().is_none());
    assert!(peer.fatal_alerts().is_empty(), "alerts {:?}", peer.alerts);
    assert_eq!(sut.sent.len(), sent_before, "the engine answered");
}
