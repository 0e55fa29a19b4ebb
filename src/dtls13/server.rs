//! DTLS 1.3 server (RFC 9147 §5, RFC 8446 §4).
//!
//! ```text
//!   Client                                            Server
//!   ClientHello                            -------->
//!                                          <--------  HelloRetryRequest (cookie; group if needed)
//!   ClientHello (+cookie)                  -------->     (stateless: the cookie carries the
//!                                                         hash of ClientHello1 and the group)
//!                                                     ServerHello
//!                                                     {EncryptedExtensions}
//!                                                     {CertificateRequest*}
//!                                                     {Certificate}
//!                                                     {CertificateVerify}
//!                                          <--------  {Finished}
//!   {Certificate*}
//!   {CertificateVerify*}
//!   {Finished}                             -------->
//!                                          <--------  [ACK]
//! ```

use super::key_schedule::{EarlySecret, ExporterSecret, TrafficSecret};
use super::{
    check_certificate_verify, check_finished, cipher_from, decode13, send_certificate_verify,
    send_finished, Suite13, EPOCH_APPLICATION, EPOCH_HANDSHAKE,
};
use crate::common::Common;
use crate::config::Config;
use crate::error::Error;
use crate::event::Negotiated;
use crate::handshake::reassembly::Message;
use crate::msgs::codec::Codec;
use crate::msgs::enums::{
    AlertDescription, ExtensionType, HandshakeType, NamedGroup, ProtocolVersion,
};
use crate::msgs::extensions::{self as ext, Extensions, UseSrtp};
use crate::msgs::extensions13::{
    self as x13, Cookie, KeyShareClientHello, KeyShareEntry, KeyShareHelloRetryRequest,
    KeyShareServerHello, SignatureAlgorithms, SupportedGroups, SupportedVersionsServer,
};
use crate::msgs::handshake::ClientHello;
use crate::msgs::handshake13::{
    Certificate13, CertificateRequest13, EncryptedExtensions, ServerHello13,
};
use crate::time::Millis;
use crate::types::Role;

/// Between our flight and the client's Finished.
pub struct AwaitingClient {
    suite: Suite13,
    group: NamedGroup,
    client_hs: TrafficSecret,
    client_app: TrafficSecret,
    server_app: TrafficSecret,
    exporter: ExporterSecret,
    srtp: Option<(u16, Vec<u8>)>,
    alpn: Option<Vec<u8>>,
    cert_requested: bool,
    peer_scheme: Option<u16>,
    offered_schemes: Vec<u16>,
}

impl std::fmt::Debug for AwaitingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwaitingClient")
            .field("suite", &self.suite.suite)
            .finish_non_exhaustive()
    }
}

/// Server states, in protocol order.
#[derive(Debug)]
#[allow(clippy::enum_variant_names)] // each names what it awaits, as in the 1.2 machine
pub enum ServerState {
    AwaitClientHello,
    AwaitCertificate(Box<AwaitingClient>),
    AwaitCertificateVerify(Box<AwaitingClient>),
    AwaitFinished(Box<AwaitingClient>),
}

/// What one message did to the server.
pub enum Step {
    Next(ServerState),
    Done(Box<super::client::Established>),
}

/// Whether the ClientHello offers DTLS 1.3 (the facade routes on it).
pub fn offers_13(ch: &ClientHello) -> bool {
    matches!(
        x13::find::<x13::SupportedVersionsClient>(&ch.extensions),
        Ok(Some(v)) if v.0.contains(&ProtocolVersion::Dtls13)
    )
}

/// Advances the server by one complete handshake message.
pub fn handle(
    state: ServerState,
    common: &mut Common,
    msg: Message,
    now: Millis,
) -> Result<Step, Error> {
    match state {
        ServerState::AwaitClientHello => on_client_hello(common, &msg, now),
        ServerState::AwaitCertificate(mut a) => {
            super::take_certificate(common, &msg, common.requires_client_cert(), &[])?;
            let next = if common.peer_certs.is_empty() {
                ServerState::AwaitFinished(a)
            } else {
                a.cert_requested = true;
                ServerState::AwaitCertificateVerify(a)
            };
            Ok(Step::Next(next))
        }
        ServerState::AwaitCertificateVerify(mut a) => {
            let scheme = check_certificate_verify(common, a.suite.hash, &msg, &a.offered_schemes)?;
            a.peer_scheme = Some(scheme);
            Ok(Step::Next(ServerState::AwaitFinished(a)))
        }
        ServerState::AwaitFinished(a) => {
            check_finished(common, a.suite.hash, &a.client_hs, &msg)?;
            common
                .records
                .install_read13(EPOCH_APPLICATION, cipher_from(&a.client_app, a.suite.aead)?);
            common.negotiated = Some(Negotiated {
                version: ProtocolVersion::Dtls13,
                cipher_suite: a.suite.suite,
                group: a.group,
                peer_signature_scheme: a.peer_scheme,
                extended_master_secret: true,
                srtp_profile: a.srtp.as_ref().map(|s| s.0),
                srtp_mki: a.srtp.map(|s| s.1).unwrap_or_default(),
                alpn: a.alpn,
            });
            Ok(Step::Done(Box::new(super::client::Established {
                suite: a.suite,
                client_app: a.client_app,
                server_app: a.server_app,
                exporter: a.exporter,
            })))
        }
    }
}

fn on_client_hello(common: &mut Common, msg: &Message, now: Millis) -> Result<Step, Error> {
    super::expect13(msg, HandshakeType::ClientHello, 0)?;
    let ch = ClientHello::decode(&msg.body).map_err(crate::dtls12::decode_err)?;
    let cfg = std::sync::Arc::clone(&common.cfg);
    match decide_hello(&cfg, now, &common.peer_addr, &ch)? {
        HelloAction::Retry {
            suite,
            group,
            name_group,
        } => {
            send_hello_retry_request(common, &ch, msg, suite, group, name_group, now);
            Ok(Step::Next(ServerState::AwaitClientHello))
        }
        HelloAction::Proceed {
            suite,
            group,
            retry,
        } => finish_hello(common, &ch, msg, suite, group, retry, now),
    }
}

/// What a server does with a DTLS 1.3 ClientHello, decided from it alone: shared by the
/// `Connection` and the stateless front door so that both answer alike.
pub(crate) enum HelloAction {
    /// Send a HelloRetryRequest (with a cookie; naming `group` if `name_group`).
    Retry {
        suite: Suite13,
        group: NamedGroup,
        name_group: bool,
    },
    /// Answer with a ServerHello in `group`; `retry` is what a valid cookie vouched for.
    Proceed {
        suite: Suite13,
        group: NamedGroup,
        retry: Option<super::cookie::CookieContents>,
    },
}

/// Checks a DTLS 1.3 ClientHello from `peer` against `cfg` and picks the answer. Keeps no
/// state: a ClientHello2 is recognised by its cookie alone.
pub(crate) fn decide_hello(
    cfg: &Config,
    now: Millis,
    peer: &[u8],
    ch: &ClientHello,
) -> Result<HelloAction, Error> {
    let cert = cfg
        .certificate
        .as_ref()
        .ok_or(Error::InvalidConfig("a server needs a certificate".into()))?;
    // RFC 9147 §5.3: legacy_cookie is empty in DTLS 1.3.
    if !ch.cookie.is_empty() {
        return Err(Error::illegal("legacy_cookie in a DTLS 1.3 ClientHello"));
    }
    if ch.compression_methods != [0] {
        return Err(Error::illegal("compression offered in DTLS 1.3"));
    }
    let suite = cfg
        .suites13
        .iter()
        .filter(|s| ch.cipher_suites.contains(s))
        .find_map(|s| Suite13::lookup(*s))
        .ok_or(Error::NoCommonParameters("cipher suite"))?;
    let e = &ch.extensions;
    let client_groups = x13::find::<SupportedGroups>(e).map_err(decode13)?;
    let shares = x13::find::<KeyShareClientHello>(e)
        .map_err(decode13)?
        .ok_or(Error::misbehaved(
            AlertDescription::MissingExtension,
            "no key_share",
        ))?;
    let client_groups = client_groups.map(|g| g.0).unwrap_or_default();
    // Every share must be in supported_groups (RFC 8446 §4.2.8).
    if shares.0.iter().any(|s| !client_groups.contains(&s.group)) {
        return Err(Error::illegal(
            "key share for a group not in supported_groups",
        ));
    }
    let schemes = x13::find::<SignatureAlgorithms>(e)
        .map_err(decode13)?
        .map(|s| s.0)
        .unwrap_or_default();
    let our_scheme = cert.signing_key().choose_scheme_tls13(&schemes);
    if our_scheme.is_none() {
        return Err(Error::NoCommonParameters("signature scheme"));
    }
    // Our preference among the groups both support; a share for it is best, any common group
    // with a share next, else HelloRetryRequest for our preferred common group.
    let common_groups: Vec<NamedGroup> = cfg
        .groups
        .iter()
        .copied()
        .filter(|g| client_groups.contains(g) && super::group_supported(*g))
        .collect();
    let with_share = common_groups
        .iter()
        .copied()
        .find(|g| shares.get(*g).is_some());
    let cookie = x13::find::<Cookie>(e).map_err(decode13)?;

    let retried = match &cookie {
        Some(c) => {
            let Some(contents) = super::cookie::open(cfg, now, peer, &c.0) else {
                return Err(Error::illegal("invalid HelloRetryRequest cookie"));
            };
            if contents.ch1_hash.len() != suite.hash.output_len() {
                return Err(Error::illegal("cookie from another suite"));
            }
            Some(contents)
        }
        None => None,
    };
    Ok(match (retried, with_share) {
        (None, Some(g)) if !cfg.cookie_exchange => HelloAction::Proceed {
            suite,
            group: g,
            retry: None,
        },
        (None, pick) => {
            // Ask again: for a cookie (return routability, RFC 9147 §5.1), and for a share in
            // a group we can use if the client sent none.
            let group = match pick {
                Some(g) => g,
                None => *common_groups
                    .first()
                    .ok_or(Error::NoCommonParameters("key exchange group"))?,
            };
            HelloAction::Retry {
                suite,
                group,
                name_group: pick.is_none(),
            }
        }
        (Some(c), _) => {
            // ClientHello2: the share must be in the group the HRR named (or a group we would
            // have taken from ClientHello1).
            let g = c.group;
            if shares.get(g).is_none() || !common_groups.contains(&g) {
                return Err(Error::illegal(
                    "ClientHello2 lacks the key share we asked for",
                ));
            }
            HelloAction::Proceed {
                suite,
                group: g,
                retry: Some(c),
            }
        }
    })
}

/// The HelloRetryRequest; the cookie lets us forget everything until ClientHello2.
fn send_hello_retry_request(
    common: &mut Common,
    ch: &ClientHello,
    msg: &Message,
    suite: Suite13,
    group: NamedGroup,
    name_group: bool,
    now: Millis,
) {
    let body = hello_retry_request_body(
        &common.cfg,
        now,
        &common.peer_addr,
        ch,
        &msg.body,
        suite,
        group,
        name_group,
    );
    common.new_flight();
    // Stateless: nothing of this exchange is kept (the transcript restarts from the cookie).
    common.transcript.reset();
    common.reasm.set_next_seq(msg.msg_seq.wrapping_add(1));
    common.send_seq = msg.msg_seq;
    common.send_handshake(HandshakeType::ServerHello, body, 0);
    common.transcript.reset();
    // Not timed: a HelloRetryRequest is answered by the client's retransmission, not ours.
    common.transmit_flight(now, false);
    common.stats.hello_verify_requests += 1;
}

/// The body of the HelloRetryRequest answering `ch` (whose body is `ch_body`), with a cookie
/// committing to the hash of it, `group` and `peer`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn hello_retry_request_body(
    cfg: &Config,
    now: Millis,
    peer: &[u8],
    ch: &ClientHello,
    ch_body: &[u8],
    suite: Suite13,
    group: NamedGroup,
    name_group: bool,
) -> Vec<u8> {
    let header =
        crate::msgs::handshake13::tls_handshake_header(HandshakeType::ClientHello, ch_body.len());
    let ch1_hash = suite.hash.hash_parts(&[&header, ch_body]);
    let cookie = super::cookie::make(cfg, now, peer, group, name_group, &ch1_hash);
    let mut body = Vec::new();
    hello_retry_request(ch, suite, group, name_group, cookie).encode(&mut body);
    body
}

fn hello_retry_request(
    ch: &ClientHello,
    suite: Suite13,
    group: NamedGroup,
    name_group: bool,
    cookie: Vec<u8>,
) -> ServerHello13 {
    let mut ext = Extensions::default();
    x13::push(&mut ext, &SupportedVersionsServer(ProtocolVersion::Dtls13));
    if name_group {
        x13::push(&mut ext, &KeyShareHelloRetryRequest(group));
    }
    x13::push(&mut ext, &Cookie(cookie));
    ServerHello13::hello_retry_request(ch.session_id.clone(), suite.suite, ext)
}

/// ServerHello and the rest of our flight, after which we wait for the client's.
fn finish_hello(
    common: &mut Common,
    ch: &ClientHello,
    msg: &Message,
    suite: Suite13,
    group: NamedGroup,
    retry: Option<super::cookie::CookieContents>,
    now: Millis,
) -> Result<Step, Error> {
    let cfg = std::sync::Arc::clone(&common.cfg);
    let e = &ch.extensions;
    let shares = x13::require::<KeyShareClientHello>(e).map_err(decode13)?;
    let share = shares
        .get(group)
        .ok_or(Error::Internal("share vanished"))?
        .key_exchange
        .clone();
    let (our_public, secret) = super::server_respond(group, &share, &mut common.rng)?;

    if let Some(c) = &retry {
        // Rebuild the transcript as both ends see it: message_hash(ClientHello1), then the
        // HelloRetryRequest we sent (RFC 8446 §4.4.1), rebuilt from what the cookie vouches for.
        let cookie = x13::require::<Cookie>(e).map_err(decode13)?.0;
        common.transcript.restart_from_message_hash(&c.ch1_hash);
        let hrr = hello_retry_request(ch, suite, group, c.named_group, cookie);
        let mut body = Vec::new();
        hrr.encode(&mut body);
        common.transcript.add(HandshakeType::ServerHello, 0, &body);
    }
    common.hash_in(msg);

    let srtp = crate::negotiate::server_srtp(&common.cfg, e)?;
    let alpn = crate::negotiate::server_alpn(&common.cfg, e)?;

    let server_random = common.random32()?;
    let mut sx = Extensions::default();
    x13::push(&mut sx, &SupportedVersionsServer(ProtocolVersion::Dtls13));
    x13::push(
        &mut sx,
        &KeyShareServerHello(KeyShareEntry {
            group,
            key_exchange: our_public,
        }),
    );
    let sh = ServerHello13 {
        legacy_version: ProtocolVersion::Dtls12,
        random: server_random,
        legacy_session_id_echo: ch.session_id.clone(),
        cipher_suite: suite.suite,
        extensions: sx,
    };
    common.new_flight();
    common.reasm.set_next_seq(msg.msg_seq.wrapping_add(1));
    common.send_seq = msg.msg_seq;
    let mut body = Vec::new();
    sh.encode(&mut body);
    common.send_handshake(HandshakeType::ServerHello, body, 0);

    let hs = EarlySecret::new(suite.kdf())
        .handshake_secret(&secret)
        .map_err(|_| Error::Internal("key schedule"))?;
    let th = common.transcript_hash(suite.hash);
    let ks = |r: Result<TrafficSecret, _>| r.map_err(|_| Error::Internal("key schedule"));
    let client_hs = ks(hs.client_handshake_traffic_secret(&th))?;
    let server_hs = ks(hs.server_handshake_traffic_secret(&th))?;
    common
        .records
        .install_write13(EPOCH_HANDSHAKE, cipher_from(&server_hs, suite.aead)?);
    common
        .records
        .install_read13(EPOCH_HANDSHAKE, cipher_from(&client_hs, suite.aead)?);

    let mut ee = Extensions::default();
    if let Some(p) = &alpn {
        ee.push(ExtensionType::Alpn, ext::alpn(std::slice::from_ref(p)));
    }
    if let Some((profile, mki)) = &srtp {
        ee.push(
            ExtensionType::UseSrtp,
            UseSrtp {
                profiles: vec![*profile],
                mki: mki.clone(),
            }
            .to_bytes(),
        );
    }
    let mut body = Vec::new();
    EncryptedExtensions { extensions: ee }.encode(&mut body);
    common.send_handshake(HandshakeType::EncryptedExtensions, body, EPOCH_HANDSHAKE);

    let offered_schemes = super::schemes13();
    let cert_requested = common.wants_client_cert();
    if cert_requested {
        let mut cx = Extensions::default();
        x13::push(&mut cx, &SignatureAlgorithms(offered_schemes.clone()));
        let mut body = Vec::new();
        CertificateRequest13 {
            context: Vec::new(),
            extensions: cx,
        }
        .encode(&mut body);
        common.send_handshake(HandshakeType::CertificateRequest, body, EPOCH_HANDSHAKE);
    }
    let cert = cfg
        .certificate
        .as_ref()
        .ok_or(Error::InvalidConfig("a server needs a certificate".into()))?;
    let mut body = Vec::new();
    Certificate13::encode_chain(&[], cert.chain(), &mut body);
    common.send_handshake(HandshakeType::Certificate, body, EPOCH_HANDSHAKE);
    let client_schemes = x13::find::<SignatureAlgorithms>(e)
        .map_err(decode13)?
        .map(|s| s.0)
        .unwrap_or_default();
    send_certificate_verify(common, suite.hash, Role::Server, &client_schemes)?;
    send_finished(common, suite.hash, &server_hs)?;

    let th = common.transcript_hash(suite.hash);
    let ms = hs
        .master_secret()
        .map_err(|_| Error::Internal("key schedule"))?;
    let client_app = ks(ms.client_application_traffic_secret(&th))?;
    let server_app = ks(ms.server_application_traffic_secret(&th))?;
    let exporter = ms
        .exporter_master_secret(&th)
        .map_err(|_| Error::Internal("key schedule"))?;
    common
        .records
        .install_write13(EPOCH_APPLICATION, cipher_from(&server_app, suite.aead)?);
    // Retransmitted until the client's flight arrives (its implicit acknowledgement).
    common.transmit_flight(now, true);
    let a = Box::new(AwaitingClient {
        suite,
        group,
        client_hs,
        client_app,
        server_app,
        exporter,
        srtp,
        alpn,
        cert_requested,
        peer_scheme: None,
        offered_schemes,
    });
    Ok(Step::Next(if cert_requested {
        ServerState::AwaitCertificate(a)
    } else {
        ServerState::AwaitFinished(a)
    }))
}
