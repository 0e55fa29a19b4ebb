//! DTLS 1.2 server.
//!
//! ```text
//!   Client                                   Server
//!   1 ClientHello              -------->     (stateless: no cookie -> HelloVerifyRequest,
//!                              <--------      answered by the front door, no state kept)
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
//!
//! The cookie check happens in `Connection::admit_fragment`, before reassembly, so a server
//! state machine only ever sees a ClientHello that carried a valid cookie.

use super::keys::Keys12;
use super::{
    check_peer_finished, decode_err, expect, offered_schemes, scheme_fits, ske_signed_content,
};
use crate::common::Common;
use crate::config::ExtendedMasterSecret;
use crate::crypto::kx::KeyExchange;
use crate::crypto::sign::KeyKind;
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
    EcdheParams, ServerHello, ServerKeyExchange,
};
use crate::suites::{self, AuthKind, SuiteInfo};
use crate::time::Millis;

/// What the ClientHello settled, carried through the rest of the handshake.
pub struct Pending {
    client_random: [u8; 32],
    server_random: [u8; 32],
    suite: SuiteInfo,
    group: NamedGroup,
    kx: Option<KeyExchange>,
    ems: bool,
    srtp: Option<(u16, Vec<u8>)>,
    alpn: Option<Vec<u8>>,
    cert_requested: bool,
    peer_scheme: Option<u16>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("suite", &self.suite.suite)
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

/// Server handshake states, in protocol order.
#[derive(Debug)]
pub enum ServerState {
    AwaitClientHello,
    AwaitClientCertificate(Box<Pending>),
    AwaitClientKeyExchange(Box<Pending>),
    AwaitCertificateVerify(Box<Pending>, Box<Keys12>),
    AwaitFinished(Box<Pending>, Box<Keys12>),
    /// The handshake is complete: the master secret stays for the exporter.
    Done(Box<Keys12>),
}

impl ServerState {
    pub fn start() -> Self {
        ServerState::AwaitClientHello
    }

    /// True until a cookie-verified ClientHello has been accepted.
    pub fn awaiting_hello(&self) -> bool {
        matches!(self, ServerState::AwaitClientHello)
    }
}

/// Whether a plaintext (epoch 0) message could be the one this state waits for: the right
/// type and a body that decodes. Anything else is dropped without touching the state (see
/// `Connection::handle_message`), so a forged or garbled datagram cannot end the handshake.
pub fn precheck(state: &ServerState, msg: &Message) -> Result<(), Error> {
    let t = HandshakeType::from(msg.msg_type);
    let body = &msg.body;
    let ok = match (state, t) {
        (ServerState::AwaitClientHello, HandshakeType::ClientHello) => {
            ClientHello::decode(body).is_ok()
        }
        (ServerState::AwaitClientCertificate(_), HandshakeType::Certificate) => {
            // Structure only: a chain over our length limit is a real answer, refused as such.
            Certificate12::decode(body, usize::MAX).is_ok()
        }
        (ServerState::AwaitClientKeyExchange(_), HandshakeType::ClientKeyExchange) => {
            ClientKeyExchange::decode(body).is_ok()
        }
        (ServerState::AwaitCertificateVerify(..), HandshakeType::CertificateVerify) => {
            DigitallySigned::decode(body).is_ok()
        }
        _ => return Err(Error::unexpected("handshake message out of order")),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::decode("malformed handshake message"))
    }
}

/// Advances the server by one complete handshake message.
pub fn handle(
    state: ServerState,
    core: &mut Common,
    msg: Message,
    now: Millis,
) -> Result<ServerState, Error> {
    match state {
        ServerState::AwaitClientHello => {
            expect(&msg, HandshakeType::ClientHello, 0)?;
            let ch = ClientHello::decode(&msg.body).map_err(decode_err)?;
            core.hash_in(&msg);
            let p = on_client_hello(core, &ch, now)?;
            Ok(if p.cert_requested {
                ServerState::AwaitClientCertificate(p)
            } else {
                ServerState::AwaitClientKeyExchange(p)
            })
        }
        ServerState::AwaitClientCertificate(p) => {
            expect(&msg, HandshakeType::Certificate, 0)?;
            let cert = Certificate12::decode(&msg.body, core.cfg.limits.max_cert_chain_len)
                .map_err(decode_err)?;
            if cert.chain.is_empty() {
                if core.requires_client_cert() {
                    return Err(Error::NoPeerCertificate);
                }
            } else {
                core.verify_peer_chain(&cert.chain)?;
            }
            core.hash_in(&msg);
            Ok(ServerState::AwaitClientKeyExchange(p))
        }
        ServerState::AwaitClientKeyExchange(mut p) => {
            expect(&msg, HandshakeType::ClientKeyExchange, 0)?;
            let cke = ClientKeyExchange::decode(&msg.body).map_err(decode_err)?;
            let kx = p.kx.take().ok_or(Error::Internal("key share used twice"))?;
            let pre_master = kx
                .complete(&cke.public)
                .map_err(|_| Error::illegal("bad client key share"))?;
            core.hash_in(&msg);
            let session_hash = p.ems.then(|| core.transcript_hash(p.suite.prf));
            let keys = Keys12::derive(
                p.suite,
                &pre_master,
                p.client_random,
                p.server_random,
                session_hash.as_deref(),
            );
            let (client_write, server_write) = keys.record_ciphers()?;
            core.records.install_read(1, client_write);
            core.records.install_write(1, server_write);
            let keys = Box::new(keys);
            // A client that sent a certificate must prove it holds the key (RFC 5246 §7.4.8).
            Ok(if core.peer_certs.is_empty() {
                ServerState::AwaitFinished(p, keys)
            } else {
                ServerState::AwaitCertificateVerify(p, keys)
            })
        }
        ServerState::AwaitCertificateVerify(mut p, keys) => {
            expect(&msg, HandshakeType::CertificateVerify, 0)?;
            let cv = DigitallySigned::decode(&msg.body).map_err(decode_err)?;
            if !offered_schemes().contains(&cv.scheme) {
                return Err(Error::illegal(
                    "CertificateVerify with a scheme we did not offer",
                ));
            }
            let leaf = core.peer_certs.first().ok_or(Error::NoPeerCertificate)?;
            crate::verify::verify_signature(
                leaf,
                cv.scheme,
                core.transcript.bytes(),
                &cv.signature,
            )
            .map_err(|_| Error::BadSignature)?;
            p.peer_scheme = Some(cv.scheme);
            core.hash_in(&msg);
            Ok(ServerState::AwaitFinished(p, keys))
        }
        ServerState::AwaitFinished(p, keys) => {
            check_peer_finished(core, &keys, &msg, true)?;
            core.hash_in(&msg);
            let hash = core.transcript_hash(p.suite.prf);
            let ours = keys.verify_data(false, &hash);
            core.new_flight();
            super::send_ccs(core, 0);
            core.send_handshake(HandshakeType::Finished, ours.to_vec(), 1);
            core.transmit_flight(now, false);
            core.negotiated = Some(Negotiated {
                version: ProtocolVersion::Dtls12,
                cipher_suite: p.suite.suite,
                group: p.group,
                peer_signature_scheme: p.peer_scheme,
                extended_master_secret: p.ems,
                srtp_profile: p.srtp.as_ref().map(|s| s.0),
                srtp_mki: p.srtp.map(|s| s.1).unwrap_or_default(),
                alpn: p.alpn,
            });
            Ok(ServerState::Done(keys))
        }
        ServerState::Done(_) => Err(Error::unexpected("message after Finished")),
    }
}

/// Negotiates from the ClientHello and sends flight 4.
fn on_client_hello(
    core: &mut Common,
    ch: &ClientHello,
    now: Millis,
) -> Result<Box<Pending>, Error> {
    let cfg = core.cfg.clone();
    let cert = cfg
        .certificate
        .clone()
        .ok_or(Error::InvalidConfig("a server needs a certificate".into()))?;
    // DTLS versions count down: 0xfefd is 1.2; anything numerically larger is older.
    if ch.version.get() > ProtocolVersion::Dtls12.get() || ch.version.get() >> 8 != 0xfe {
        return Err(Error::misbehaved(
            AlertDescription::ProtocolVersion,
            "client does not offer DTLS 1.2",
        ));
    }
    if !ch.compression_methods.contains(&0) {
        return Err(Error::illegal("client offers no null compression"));
    }
    let auth = match cert.signing_key().kind() {
        KeyKind::Rsa => AuthKind::Rsa,
        _ => AuthKind::Ecdsa,
    };
    let suite = cfg
        .cipher_suites
        .iter()
        .filter(|s| ch.cipher_suites.contains(s))
        .filter_map(|s| suites::info(*s))
        .find(|i| i.auth == auth)
        .ok_or(Error::NoCommonParameters("cipher suite"))?;

    let e = &ch.extensions;
    let client_groups: Vec<NamedGroup> = match e.get(ExtensionType::SupportedGroups) {
        Some(d) => ext::read_u16_list(d)
            .ok_or(Error::decode("bad supported_groups"))?
            .into_iter()
            .map(NamedGroup::from)
            .collect(),
        // RFC 8422 §4: without the extension, any curve will do; P-256 is universal.
        None => vec![NamedGroup::Secp256r1],
    };
    let group = *cfg
        .groups
        .iter()
        .find(|g| client_groups.contains(g) && suites::kx_group(**g).is_some())
        .ok_or(Error::NoCommonParameters("key exchange group"))?;
    if let Some(ec) = e.get(ExtensionType::EcPointFormats) {
        if !ext::ec_point_formats_ok(ec) {
            return Err(Error::illegal("client cannot use uncompressed points"));
        }
    }
    let client_schemes = match e.get(ExtensionType::SignatureAlgorithms) {
        Some(d) => ext::read_u16_list(d).ok_or(Error::decode("bad signature_algorithms"))?,
        None => Vec::new(),
    };
    let scheme = cert
        .signing_key()
        .choose_scheme(&client_schemes)
        .ok_or(Error::NoCommonParameters("signature scheme"))?;
    if !scheme_fits(scheme.iana(), suite.auth) {
        return Err(Error::NoCommonParameters("signature scheme"));
    }

    let ems = match (e.get(ExtensionType::ExtendedMasterSecret), cfg.ems) {
        (_, ExtendedMasterSecret::Disable) => false,
        (Some(d), _) if !d.is_empty() => {
            return Err(Error::decode("extended_master_secret with data"))
        }
        (Some(_), _) => true,
        (None, ExtendedMasterSecret::Require) => return Err(Error::ExtendedMasterSecretRequired),
        (None, ExtendedMasterSecret::Request) => false,
    };
    let secure_reneg = match e.get(ExtensionType::RenegotiationInfo) {
        Some(ri) if ri != [0] => {
            return Err(Error::misbehaved(
                AlertDescription::HandshakeFailure,
                "renegotiation_info not empty in an initial handshake",
            ))
        }
        Some(_) => true,
        None => ch
            .cipher_suites
            .contains(&CipherSuite::EmptyRenegotiationInfoScsv),
    };
    let alpn = crate::negotiate::server_alpn(&cfg, e)?;
    let srtp = crate::negotiate::server_srtp(&cfg, e)?;

    let mut server_random = core.random32()?;
    if cfg.versions.contains(&ProtocolVersion::Dtls13) {
        // RFC 8446 §4.1.3: a server that could have done 1.3 says so in its random, so that a
        // 1.3 client detects a downgrade by an attacker who stripped 1.3 from its offer.
        server_random[24..].copy_from_slice(&crate::msgs::handshake13::DOWNGRADE_DTLS12);
    }
    let mut sx = Extensions::default();
    if secure_reneg {
        sx.push(
            ExtensionType::RenegotiationInfo,
            ext::renegotiation_info_initial(),
        );
    }
    if ems {
        sx.push(ExtensionType::ExtendedMasterSecret, vec![]);
    }
    if e.has(ExtensionType::EcPointFormats) {
        sx.push(ExtensionType::EcPointFormats, ext::ec_point_formats());
    }
    if let Some(p) = &alpn {
        sx.push(ExtensionType::Alpn, ext::alpn(std::slice::from_ref(p)));
    }
    if let Some((profile, mki)) = &srtp {
        let s = UseSrtp {
            profiles: vec![*profile],
            mki: mki.clone(),
        };
        sx.push(ExtensionType::UseSrtp, s.to_bytes());
    }

    core.new_flight();
    let mut body = Vec::new();
    ServerHello {
        version: ProtocolVersion::Dtls12,
        random: server_random,
        session_id: Vec::new(),
        cipher_suite: suite.suite,
        compression_method: 0,
        extensions: sx,
    }
    .encode(&mut body);
    core.send_handshake(HandshakeType::ServerHello, body, 0);

    let mut body = Vec::new();
    Certificate12::encode_chain(cert.chain(), &mut body);
    core.send_handshake(HandshakeType::Certificate, body, 0);

    let kx_group =
        suites::kx_group(group).ok_or(Error::Internal("group without implementation"))?;
    let kx = KeyExchange::generate(kx_group).map_err(|_| Error::Internal("key generation"))?;
    let params = EcdheParams {
        group,
        public: kx.public_key().to_vec(),
    };
    let content = ske_signed_content(&ch.random, &server_random, &params);
    let signature = cert
        .signing_key()
        .sign(scheme, &content)
        .map_err(|_| Error::Internal("signing failed"))?;
    let mut body = Vec::new();
    ServerKeyExchange {
        params,
        scheme: scheme.iana(),
        signature,
    }
    .encode(&mut body);
    core.send_handshake(HandshakeType::ServerKeyExchange, body, 0);

    let cert_requested = core.wants_client_cert();
    if cert_requested {
        let mut body = Vec::new();
        CertificateRequest12 {
            // ecdsa_sign(64), rsa_sign(1)
            cert_types: vec![64, 1],
            schemes: offered_schemes(),
            authorities: Vec::new(),
        }
        .encode(&mut body);
        core.send_handshake(HandshakeType::CertificateRequest, body, 0);
    }
    core.send_handshake(HandshakeType::ServerHelloDone, Vec::new(), 0);
    core.transmit_flight(now, true);

    Ok(Box::new(Pending {
        client_random: ch.random,
        server_random,
        suite,
        group,
        kx: Some(kx),
        ems,
        srtp,
        alpn,
        cert_requested,
        peer_scheme: None,
    }))
}
