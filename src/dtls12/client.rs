//! DTLS 1.2 client.
//!
//! ```text
//!   Client                                   Server
//!   1 ClientHello              -------->
//!                              <--------     HelloVerifyRequest 2   (optional, repeatable)
//!   3 ClientHello (+cookie)    -------->
//!                                            ServerHello         4
//!                                            Certificate
//!                                            ServerKeyExchange
//!                                            CertificateRequest*
//!                              <--------     ServerHelloDone
//!   5 Certificate*
//!     ClientKeyExchange
//!     CertificateVerify*
//!     [ChangeCipherSpec]
//!     Finished                 -------->
//!                                            [ChangeCipherSpec]  6
//!                              <--------     Finished
//! ```

use super::keys::Keys12;
use super::{
    check_peer_finished, decode_err, expect, offered_schemes, scheme_fits, ske_signed_content,
};
use crate::common::Common;
use crate::config::ExtendedMasterSecret;
use crate::crypto::kx::KeyExchange;
use crate::error::Error;
use crate::event::Negotiated;
use crate::handshake::reassembly::Message;
use crate::msgs::codec::Codec;
use crate::msgs::enums::{
    AlertDescription, CipherSuite, ExtensionType, HandshakeType, NamedGroup, ProtocolVersion,
};
use crate::msgs::extensions::{self as ext, Extensions, UseSrtp};
use crate::msgs::handshake::{
    Certificate12, CertificateRequest12, ClientHello, ClientKeyExchange, DigitallySigned,
    HelloVerifyRequest, ServerHello, ServerKeyExchange,
};
use crate::suites::{self, SuiteInfo};
use crate::time::Millis;

/// How many HelloVerifyRequests we follow before giving up on a server (or a forger).
/// Least time between two HelloVerifyRequests we answer, as a share of the initial
/// retransmission timeout. HelloVerifyRequests are unauthenticated: a count limit would let
/// forged ones use it up and then block the genuine one, while an unlimited rate would let a
/// forger make us send a ClientHello per datagram. A genuine one dropped for arriving too soon
/// comes again when our timer resends the ClientHello.
const HVR_MIN_GAP_DIVISOR: u64 = 2;

/// What the ServerHello settled, carried through the rest of the handshake.
#[derive(Debug)]
pub struct Pending {
    client_random: [u8; 32],
    server_random: [u8; 32],
    suite: SuiteInfo,
    ems: bool,
    srtp: Option<(u16, Vec<u8>)>,
    alpn: Option<Vec<u8>>,
    peer_kx: Option<(NamedGroup, Vec<u8>)>,
    peer_scheme: Option<u16>,
    cert_request: Option<CertificateRequest12>,
}

/// Client handshake states, in protocol order.
#[derive(Debug)]
pub enum ClientState {
    AwaitServerHello {
        random: [u8; 32],
        /// When we last answered a HelloVerifyRequest.
        last_hvr: Option<Millis>,
        /// Extension types our ClientHello carried: the only ones a ServerHello may answer.
        offered: Vec<ExtensionType>,
    },
    AwaitCertificate(Box<Pending>),
    AwaitServerKeyExchange(Box<Pending>),
    AwaitCertificateRequestOrDone(Box<Pending>),
    AwaitServerHelloDone(Box<Pending>),
    AwaitFinished(Box<Pending>, Box<Keys12>),
    /// The handshake is complete: the master secret stays for the exporter.
    Done(Box<Keys12>),
}

/// Sends flight 1.
pub fn start(core: &mut Common, now: Millis) -> Result<ClientState, Error> {
    let random = core.random32()?;
    let offered = send_client_hello(core, random, &[], now);
    Ok(ClientState::AwaitServerHello {
        random,
        last_hvr: None,
        offered,
    })
}

pub(crate) fn client_hello(core: &Common, random: [u8; 32], cookie: &[u8]) -> ClientHello {
    let cfg = &core.cfg;
    let mut e = Extensions::default();
    if let Some(name) = &core.server_name {
        // RFC 6066 §3: literal IP addresses are not sent as SNI.
        if name.parse::<std::net::IpAddr>().is_err() {
            e.push(ExtensionType::ServerName, ext::server_name(name));
        }
    }
    // The DTLS 1.3-only groups (X25519MLKEM768) are offered only with 1.3.
    let offer13 = cfg.versions.contains(&ProtocolVersion::Dtls13);
    let groups: Vec<NamedGroup> = cfg
        .groups
        .iter()
        .copied()
        .filter(|g| offer13 || suites::kx_group(*g).is_some())
        .collect();
    e.push(
        ExtensionType::SupportedGroups,
        ext::supported_groups(&groups),
    );
    e.push(ExtensionType::EcPointFormats, ext::ec_point_formats());
    e.push(
        ExtensionType::SignatureAlgorithms,
        ext::u16_list(&offered_schemes()),
    );
    if cfg.ems != ExtendedMasterSecret::Disable {
        e.push(ExtensionType::ExtendedMasterSecret, vec![]);
    }
    e.push(
        ExtensionType::RenegotiationInfo,
        ext::renegotiation_info_initial(),
    );
    if !cfg.alpn.is_empty() {
        e.push(ExtensionType::Alpn, ext::alpn(&cfg.alpn));
    }
    if !cfg.srtp_profiles.is_empty() {
        let s = UseSrtp {
            profiles: cfg.srtp_profiles.clone(),
            mki: cfg.srtp_mki.clone(),
        };
        e.push(ExtensionType::UseSrtp, s.to_bytes());
    }
    ClientHello {
        version: ProtocolVersion::Dtls12,
        random,
        session_id: Vec::new(),
        cookie: cookie.to_vec(),
        cipher_suites: cfg.cipher_suites.clone(),
        compression_methods: vec![0],
        extensions: e,
    }
}

/// Sends a ClientHello as a new flight; returns the extension types it offered.
fn send_client_hello(
    core: &mut Common,
    random: [u8; 32],
    cookie: &[u8],
    now: Millis,
) -> Vec<ExtensionType> {
    let ch = client_hello(core, random, cookie);
    let mut body = Vec::new();
    ch.encode(&mut body);
    core.new_flight();
    core.send_handshake(HandshakeType::ClientHello, body, 0);
    core.transmit_flight(now, true);
    ch.extensions.types().collect()
}

/// Whether a plaintext (epoch 0) message could be the one this state waits for: the right
/// type, a body that decodes, and no HelloVerifyRequest right after another. Anything else is
/// dropped without touching the state, so a forged or garbled datagram cannot end the
/// handshake; the genuine message may still arrive (see `Connection::handle_message`).
pub fn precheck(
    state: &ClientState,
    core: &Common,
    msg: &Message,
    now: Millis,
) -> Result<(), Error> {
    let t = HandshakeType::from(msg.msg_type);
    let body = &msg.body;
    let decodes = |ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(Error::decode("malformed handshake message"))
        }
    };
    match (state, t) {
        (ClientState::AwaitServerHello { last_hvr, .. }, HandshakeType::HelloVerifyRequest) => {
            let gap = core.cfg.initial_rto_ms / HVR_MIN_GAP_DIVISOR;
            if last_hvr.is_some_and(|t| now < t.saturating_add(gap)) {
                return Err(Error::unexpected("HelloVerifyRequests too close together"));
            }
            decodes(HelloVerifyRequest::decode(body).is_ok())
        }
        (ClientState::AwaitServerHello { .. }, HandshakeType::ServerHello) => {
            decodes(ServerHello::decode(body).is_ok())
        }
        (ClientState::AwaitCertificate(_), HandshakeType::Certificate) => {
            decodes(
                // Structure only: a chain over our length limit is a real answer, refused as such.
                Certificate12::decode(body, usize::MAX).is_ok(),
            )
        }
        (ClientState::AwaitServerKeyExchange(_), HandshakeType::ServerKeyExchange) => {
            decodes(ServerKeyExchange::decode(body).is_ok())
        }
        (ClientState::AwaitCertificateRequestOrDone(_), HandshakeType::CertificateRequest) => {
            decodes(CertificateRequest12::decode(body).is_ok())
        }
        (
            ClientState::AwaitCertificateRequestOrDone(_) | ClientState::AwaitServerHelloDone(_),
            HandshakeType::ServerHelloDone,
        ) => decodes(body.is_empty()),
        _ => Err(Error::unexpected("handshake message out of order")),
    }
}

/// Advances the client by one complete handshake message.
pub fn handle(
    state: ClientState,
    core: &mut Common,
    msg: Message,
    now: Millis,
) -> Result<ClientState, Error> {
    match state {
        ClientState::AwaitServerHello {
            random,
            last_hvr: _,
            offered,
        } => {
            if HandshakeType::from(msg.msg_type) == HandshakeType::HelloVerifyRequest
                && msg.epoch == 0
            {
                // `precheck` already refused one that came too soon after the last.
                let hvr = HelloVerifyRequest::decode(&msg.body).map_err(decode_err)?;
                // RFC 6347 §4.2.6: the first ClientHello and the HelloVerifyRequest are not
                // part of the transcript.
                core.transcript.reset();
                let offered = send_client_hello(core, random, &hvr.cookie, now);
                return Ok(ClientState::AwaitServerHello {
                    random,
                    last_hvr: Some(now),
                    offered,
                });
            }
            expect(&msg, HandshakeType::ServerHello, 0)?;
            let sh = ServerHello::decode(&msg.body).map_err(decode_err)?;
            let pending = on_server_hello(core, random, &offered, &sh)?;
            core.hash_in(&msg);
            Ok(ClientState::AwaitCertificate(Box::new(pending)))
        }
        ClientState::AwaitCertificate(p) => {
            expect(&msg, HandshakeType::Certificate, 0)?;
            let cert = Certificate12::decode(&msg.body, core.cfg.limits.max_cert_chain_len)
                .map_err(decode_err)?;
            if cert.chain.is_empty() {
                return Err(Error::NoPeerCertificate);
            }
            core.verify_peer_chain(&cert.chain)?;
            core.hash_in(&msg);
            Ok(ClientState::AwaitServerKeyExchange(p))
        }
        ClientState::AwaitServerKeyExchange(mut p) => {
            expect(&msg, HandshakeType::ServerKeyExchange, 0)?;
            let ske = ServerKeyExchange::decode(&msg.body).map_err(decode_err)?;
            if !core.cfg.groups.contains(&ske.params.group) {
                return Err(Error::illegal("server chose a group we did not offer"));
            }
            if !offered_schemes().contains(&ske.scheme) || !scheme_fits(ske.scheme, p.suite.auth) {
                return Err(Error::illegal(
                    "server signed with a scheme we did not offer",
                ));
            }
            let content = ske_signed_content(&p.client_random, &p.server_random, &ske.params);
            let leaf = core.peer_certs.first().ok_or(Error::NoPeerCertificate)?;
            crate::verify::verify_signature(leaf, ske.scheme, &content, &ske.signature)
                .map_err(|_| Error::BadSignature)?;
            p.peer_kx = Some((ske.params.group, ske.params.public));
            p.peer_scheme = Some(ske.scheme);
            core.hash_in(&msg);
            Ok(ClientState::AwaitCertificateRequestOrDone(p))
        }
        ClientState::AwaitCertificateRequestOrDone(mut p) => {
            if HandshakeType::from(msg.msg_type) == HandshakeType::CertificateRequest {
                expect(&msg, HandshakeType::CertificateRequest, 0)?;
                let cr = CertificateRequest12::decode(&msg.body).map_err(decode_err)?;
                p.cert_request = Some(cr);
                core.hash_in(&msg);
                return Ok(ClientState::AwaitServerHelloDone(p));
            }
            on_server_hello_done(core, p, msg, now)
        }
        ClientState::AwaitServerHelloDone(p) => on_server_hello_done(core, p, msg, now),
        ClientState::AwaitFinished(p, keys) => {
            check_peer_finished(core, &keys, &msg, false)?;
            core.hash_in(&msg);
            core.flight.clear();
            core.timer.stop();
            core.negotiated = Some(Negotiated {
                version: ProtocolVersion::Dtls12,
                cipher_suite: p.suite.suite,
                group: p.peer_kx.as_ref().map_or(NamedGroup::Unknown(0), |k| k.0),
                peer_signature_scheme: p.peer_scheme,
                extended_master_secret: p.ems,
                srtp_profile: p.srtp.as_ref().map(|s| s.0),
                srtp_mki: p.srtp.map(|s| s.1).unwrap_or_default(),
                alpn: p.alpn,
            });
            Ok(ClientState::Done(keys))
        }
        ClientState::Done(_) => Err(Error::unexpected("message after Finished")),
    }
}

fn on_server_hello(
    core: &mut Common,
    client_random: [u8; 32],
    offered: &[ExtensionType],
    sh: &ServerHello,
) -> Result<Pending, Error> {
    let cfg = core.cfg.clone();
    if sh.version != ProtocolVersion::Dtls12 {
        return Err(Error::misbehaved(
            AlertDescription::ProtocolVersion,
            "server chose a version we did not offer",
        ));
    }
    if !cfg.cipher_suites.contains(&sh.cipher_suite)
        || sh.cipher_suite == CipherSuite::EmptyRenegotiationInfoScsv
    {
        return Err(Error::illegal("server chose a suite we did not offer"));
    }
    let suite = suites::info(sh.cipher_suite).ok_or(Error::illegal("unsupported suite"))?;
    if sh.compression_method != 0 {
        return Err(Error::illegal("server chose compression"));
    }
    // RFC 5246 §7.4.1.4: a server may only answer extensions the client offered.
    if sh.extensions.types().any(|t| !offered.contains(&t)) {
        return Err(Error::misbehaved(
            AlertDescription::UnsupportedExtension,
            "server sent an extension we did not offer",
        ));
    }
    let ems = sh.extensions.has(ExtensionType::ExtendedMasterSecret);
    if ems
        && !sh
            .extensions
            .get(ExtensionType::ExtendedMasterSecret)
            .is_some_and(|d| d.is_empty())
    {
        return Err(Error::decode("extended_master_secret with data"));
    }
    if !ems && cfg.ems == ExtendedMasterSecret::Require {
        return Err(Error::ExtendedMasterSecretRequired);
    }
    if let Some(ri) = sh.extensions.get(ExtensionType::RenegotiationInfo) {
        if ri != [0] {
            return Err(Error::misbehaved(
                AlertDescription::HandshakeFailure,
                "renegotiation_info not empty in an initial handshake",
            ));
        }
    }
    if let Some(ec) = sh.extensions.get(ExtensionType::EcPointFormats) {
        if !ext::ec_point_formats_ok(ec) {
            return Err(Error::illegal("server cannot use uncompressed points"));
        }
    }
    let alpn = crate::negotiate::client_alpn(&cfg, &sh.extensions)?;
    let srtp = crate::negotiate::client_srtp(&cfg, &sh.extensions)?;
    Ok(Pending {
        client_random,
        server_random: sh.random,
        suite,
        ems,
        srtp,
        alpn,
        peer_kx: None,
        peer_scheme: None,
        cert_request: None,
    })
}

/// ServerHelloDone: send flight 5.
fn on_server_hello_done(
    core: &mut Common,
    p: Box<Pending>,
    msg: Message,
    now: Millis,
) -> Result<ClientState, Error> {
    expect(&msg, HandshakeType::ServerHelloDone, 0)?;
    if !msg.body.is_empty() {
        return Err(Error::decode("ServerHelloDone with a body"));
    }
    core.hash_in(&msg);
    let (group, peer_public) = p.peer_kx.clone().ok_or(Error::Internal("no key share"))?;
    let kx_group = suites::kx_group(group).ok_or(Error::illegal("unsupported group"))?;
    let kx = KeyExchange::generate(kx_group).map_err(|_| Error::Internal("key generation"))?;

    core.new_flight();
    // The config outlives the handshake: borrow our certificate through it (an Arc clone)
    // rather than copying the chain and key.
    let cfg = std::sync::Arc::clone(&core.cfg);
    let cert = cfg.certificate.as_ref();
    let mut signer = None;
    if let Some(cr) = &p.cert_request {
        let mut body = Vec::new();
        match cert {
            Some(c) => {
                let scheme =
                    c.signing_key()
                        .choose_scheme(&cr.schemes)
                        .ok_or(Error::NoCommonParameters(
                            "signature scheme for our certificate",
                        ))?;
                signer = Some((c, scheme));
                Certificate12::encode_chain(c.chain(), &mut body);
            }
            None => Certificate12::encode_chain(&[], &mut body),
        }
        core.send_handshake(HandshakeType::Certificate, body, 0);
    }
    let mut body = Vec::new();
    ClientKeyExchange {
        public: kx.public_key().to_vec(),
    }
    .encode(&mut body);
    core.send_handshake(HandshakeType::ClientKeyExchange, body, 0);
    let pre_master = kx
        .complete(&peer_public)
        .map_err(|_| Error::illegal("bad server key share"))?;
    let session_hash = p.ems.then(|| core.transcript_hash(p.suite.prf));
    let keys = Keys12::derive(
        p.suite,
        &pre_master,
        p.client_random,
        p.server_random,
        session_hash.as_deref(),
    );
    if let Some((c, scheme)) = signer {
        let sig = c
            .signing_key()
            .sign(scheme, core.transcript.bytes())
            .map_err(|_| Error::Internal("signing failed"))?;
        let mut body = Vec::new();
        DigitallySigned {
            scheme: scheme.iana(),
            signature: sig,
        }
        .encode(&mut body);
        core.send_handshake(HandshakeType::CertificateVerify, body, 0);
    }
    super::send_ccs(core, 0);
    let (client_write, server_write) = keys.record_ciphers()?;
    core.records.install_write(1, client_write);
    core.records.install_read(1, server_write);
    let verify = keys.verify_data(true, &core.transcript_hash(p.suite.prf));
    core.send_handshake(HandshakeType::Finished, verify.to_vec(), 1);
    core.transmit_flight(now, true);
    Ok(ClientState::AwaitFinished(p, Box::new(keys)))
}
