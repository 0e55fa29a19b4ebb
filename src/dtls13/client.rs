//! DTLS 1.3 client (RFC 9147 §5, RFC 8446 §4).
//!
//! ```text
//!   Client                                            Server
//!   ClientHello (+key_share, +supported_versions) -------->
//!                                          <--------  HelloRetryRequest (optional: cookie, group)
//!   ClientHello (+cookie, +key_share)      -------->
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
//!   [Application Data]                     <------->  [Application Data]
//! ```
//!
//! A client that also offers DTLS 1.2 sends one hybrid ClientHello; a HelloVerifyRequest or a
//! DTLS 1.2 ServerHello hands the handshake to the 1.2 client (see `Step::Downgrade`), after
//! checking the downgrade sentinel (RFC 8446 §4.1.3).

use super::key_schedule::{EarlySecret, ExporterSecret, HandshakeSecret, TrafficSecret};
use super::{
    check_certificate_verify, check_finished, cipher_from, decode13, expect13,
    send_certificate_verify, send_finished, ClientShare, Suite13, EPOCH_APPLICATION,
    EPOCH_HANDSHAKE,
};
use crate::common::Common;
use crate::error::Error;
use crate::event::Negotiated;
use crate::handshake::reassembly::Message;
use crate::msgs::enums::{
    AlertDescription, ExtensionType, HandshakeType, NamedGroup, ProtocolVersion,
};
use crate::msgs::extensions::Extensions;
use crate::msgs::extensions13::{
    self as x13, Cookie, ExtensionContext, KeyShareClientHello, KeyShareEntry,
    KeyShareHelloRetryRequest, KeyShareServerHello, SupportedVersionsClient,
    SupportedVersionsServer,
};
use crate::msgs::handshake::{ClientHello, ServerHello};
use crate::msgs::handshake13::{
    Certificate13, CertificateRequest13, EncryptedExtensions, ServerHello13,
};
use crate::time::Millis;
use crate::types::Role;

/// What the ClientHello offered, needed to judge the answer.
#[derive(Debug)]
pub struct Offer {
    random: [u8; 32],
    share: ClientShare,
    /// The extensions our ClientHello carried: the only ones an answer may carry.
    offered: Extensions,
    /// We also offered DTLS 1.2: a 1.2 answer is possible.
    hybrid: bool,
    /// A HelloRetryRequest was answered already (a second one is fatal, RFC 8446 §4.1.4).
    retried: bool,
    /// The suite the HelloRetryRequest chose: the ServerHello must repeat it (RFC 8446 §4.1.4).
    hrr_suite: Option<crate::msgs::enums::CipherSuite>,
    /// When we last answered a HelloVerifyRequest (hybrid only).
    last_hvr: Option<Millis>,
}

/// After ServerHello: the handshake keys and what was settled.
pub struct Handshaking {
    suite: Suite13,
    group: NamedGroup,
    hs: HandshakeSecret,
    client_hs: TrafficSecret,
    server_hs: TrafficSecret,
    srtp: Option<(u16, Vec<u8>)>,
    alpn: Option<Vec<u8>>,
    cert_request: Option<CertificateRequest13>,
    peer_scheme: Option<u16>,
    offered_schemes: Vec<u16>,
}

impl std::fmt::Debug for Handshaking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshaking")
            .field("suite", &self.suite.suite)
            .finish_non_exhaustive()
    }
}

/// Client states, in protocol order.
#[derive(Debug)]
#[allow(clippy::enum_variant_names)] // each names what it awaits, as in the 1.2 machine
pub enum ClientState {
    AwaitServerHello(Box<Offer>),
    AwaitEncryptedExtensions(Box<Handshaking>),
    AwaitCertificateRequestOrCertificate(Box<Handshaking>),
    AwaitCertificate(Box<Handshaking>),
    AwaitCertificateVerify(Box<Handshaking>),
    AwaitFinished(Box<Handshaking>),
}

/// What one message did to the client.
pub enum Step {
    /// The next state.
    Next(ClientState),
    /// The handshake is complete: our last flight is out, the keys below carry data.
    Done(Box<Established>),
    /// The server answered as DTLS 1.2: the 1.2 client continues from its AwaitServerHello.
    Downgrade {
        random: [u8; 32],
        last_hvr: Option<Millis>,
        offered: Vec<ExtensionType>,
    },
}

/// What the handshake leaves for the connection.
pub struct Established {
    pub suite: Suite13,
    pub client_app: TrafficSecret,
    pub server_app: TrafficSecret,
    pub exporter: ExporterSecret,
}

/// Sends the first ClientHello.
pub fn start(common: &mut Common, now: Millis, hybrid: bool) -> Result<ClientState, Error> {
    let random = common.random32()?;
    let group = first_group(common)?;
    let share = ClientShare::generate(group, &mut common.rng)?;
    let offered = send_client_hello(common, random, &share, &[], None, hybrid, now);
    Ok(ClientState::AwaitServerHello(Box::new(Offer {
        random,
        share,
        offered,
        hybrid,
        retried: false,
        hrr_suite: None,
        last_hvr: None,
    })))
}

fn first_group(common: &Common) -> Result<NamedGroup, Error> {
    common
        .cfg
        .groups
        .iter()
        .copied()
        .find(|g| super::group_supported(*g))
        .ok_or(Error::InvalidConfig("no DTLS 1.3 group configured".into()))
}

/// Builds and sends a ClientHello: the DTLS 1.2 one plus the 1.3 suites and extensions.
/// Returns the extensions it carried.
fn send_client_hello(
    common: &mut Common,
    random: [u8; 32],
    share: &ClientShare,
    legacy_cookie: &[u8],
    cookie13: Option<&[u8]>,
    hybrid: bool,
    now: Millis,
) -> Extensions {
    let mut ch: ClientHello = crate::dtls12::client::client_hello(common, random, legacy_cookie);
    let suites13 = common.cfg.suites13.clone();
    if hybrid {
        // Ours first: the server's order decides, but a 1.3 server picks among these.
        let mut all = suites13;
        all.extend(ch.cipher_suites.iter().copied());
        ch.cipher_suites = all;
    } else {
        ch.cipher_suites = suites13;
        // 1.2-only extensions mean nothing to a 1.3 server; leave them out.
        ch.extensions.0.retain(|e| {
            !matches!(
                e.typ,
                ExtensionType::EcPointFormats
                    | ExtensionType::ExtendedMasterSecret
                    | ExtensionType::RenegotiationInfo
            )
        });
    }
    let mut versions = vec![ProtocolVersion::Dtls13];
    if hybrid {
        versions.push(ProtocolVersion::Dtls12);
    }
    x13::push(&mut ch.extensions, &SupportedVersionsClient(versions));
    x13::push(
        &mut ch.extensions,
        &KeyShareClientHello(vec![KeyShareEntry {
            group: share.group,
            key_exchange: share.public().to_vec(),
        }]),
    );
    if let Some(c) = cookie13 {
        x13::push(&mut ch.extensions, &Cookie(c.to_vec()));
    }
    let mut body = Vec::new();
    ch.encode(&mut body);
    common.new_flight();
    common.send_handshake(HandshakeType::ClientHello, body, 0);
    common.transmit_flight(now, true);
    ch.extensions
}

/// Whether a plaintext message could be the one we wait for; anything else is dropped
/// unanswered (see the 1.2 `precheck`): plaintext is unauthenticated.
pub fn precheck(state: &ClientState, msg: &Message) -> Result<(), Error> {
    let t = HandshakeType::from(msg.msg_type);
    match (state, t) {
        (ClientState::AwaitServerHello(o), HandshakeType::HelloVerifyRequest) if o.hybrid => {
            crate::msgs::handshake::HelloVerifyRequest::decode(&msg.body)
                .map(|_| ())
                .map_err(|_| Error::decode("malformed HelloVerifyRequest"))
        }
        (ClientState::AwaitServerHello(_), HandshakeType::ServerHello) => {
            if ServerHello13::decode(&msg.body).is_ok() || ServerHello::decode(&msg.body).is_ok() {
                Ok(())
            } else {
                Err(Error::decode("malformed ServerHello"))
            }
        }
        _ => Err(Error::unexpected("handshake message out of order")),
    }
}

/// Advances the client by one complete handshake message.
pub fn handle(
    state: ClientState,
    common: &mut Common,
    msg: Message,
    now: Millis,
) -> Result<Step, Error> {
    match state {
        ClientState::AwaitServerHello(offer) => on_server_hello(common, offer, msg, now),
        ClientState::AwaitEncryptedExtensions(mut h) => {
            expect13(&msg, HandshakeType::EncryptedExtensions, EPOCH_HANDSHAKE)?;
            let ee = EncryptedExtensions::decode(&msg.body).map_err(decode13)?;
            x13::check_permitted(&ee.extensions, ExtensionContext::EncryptedExtensions)
                .map_err(decode13)?;
            let (srtp, alpn) = read_srtp_alpn(common, &ee.extensions)?;
            h.srtp = srtp;
            h.alpn = alpn;
            common.hash_in(&msg);
            Ok(Step::Next(
                ClientState::AwaitCertificateRequestOrCertificate(h),
            ))
        }
        ClientState::AwaitCertificateRequestOrCertificate(mut h) => {
            if HandshakeType::from(msg.msg_type) == HandshakeType::CertificateRequest {
                expect13(&msg, HandshakeType::CertificateRequest, EPOCH_HANDSHAKE)?;
                let cr = CertificateRequest13::decode(&msg.body).map_err(decode13)?;
                cr.signature_schemes().map_err(decode13)?;
                h.cert_request = Some(cr);
                common.hash_in(&msg);
                return Ok(Step::Next(ClientState::AwaitCertificate(h)));
            }
            on_certificate(common, h, &msg)
        }
        ClientState::AwaitCertificate(h) => on_certificate(common, h, &msg),
        ClientState::AwaitCertificateVerify(mut h) => {
            let scheme = check_certificate_verify(common, h.suite.hash, &msg, &h.offered_schemes)?;
            h.peer_scheme = Some(scheme);
            Ok(Step::Next(ClientState::AwaitFinished(h)))
        }
        ClientState::AwaitFinished(h) => on_finished(common, h, &msg, now),
    }
}

fn on_certificate(common: &mut Common, h: Box<Handshaking>, msg: &Message) -> Result<Step, Error> {
    super::take_certificate(common, msg, true, &[])?;
    Ok(Step::Next(ClientState::AwaitCertificateVerify(h)))
}

fn on_server_hello(
    common: &mut Common,
    mut offer: Box<Offer>,
    msg: Message,
    now: Millis,
) -> Result<Step, Error> {
    let t = HandshakeType::from(msg.msg_type);
    if t == HandshakeType::HelloVerifyRequest && offer.hybrid && msg.epoch == 0 {
        // A DTLS 1.2 server's cookie exchange: it may still pick 1.3 from the second
        // ClientHello, which repeats the first with the cookie (RFC 6347 §4.2.1).
        let hvr = crate::msgs::handshake::HelloVerifyRequest::decode(&msg.body)
            .map_err(|_| Error::decode("malformed HelloVerifyRequest"))?;
        common.transcript.reset();
        offer.offered = send_client_hello(
            common,
            offer.random,
            &offer.share,
            &hvr.cookie,
            None,
            true,
            now,
        );
        offer.last_hvr = Some(now);
        return Ok(Step::Next(ClientState::AwaitServerHello(offer)));
    }
    expect13(&msg, HandshakeType::ServerHello, 0)?;
    let sh = ServerHello13::decode(&msg.body).map_err(decode13)?;
    let selected = x13::find::<SupportedVersionsServer>(&sh.extensions).map_err(decode13)?;
    if selected.is_none() {
        // A DTLS 1.2 ServerHello.
        if !offer.hybrid {
            return Err(Error::misbehaved(
                AlertDescription::ProtocolVersion,
                "server chose DTLS 1.2, which we did not offer",
            ));
        }
        // RFC 8446 §4.1.3: a 1.3 client that receives a 1.2 ServerHello checks "that the last
        // 8 bytes are not equal to either of these values" (the DTLS 1.2 and DTLS 1.0 ones).
        crate::msgs::handshake13::check_downgrade(
            &sh.random,
            ProtocolVersion::Dtls12,
            ProtocolVersion::Dtls13,
        )
        .map_err(decode13)?;
        return Ok(Step::Downgrade {
            random: offer.random,
            last_hvr: offer.last_hvr,
            offered: offer.offered.types().collect(),
        });
    }
    if selected != Some(SupportedVersionsServer(ProtocolVersion::Dtls13))
        || sh.legacy_version != ProtocolVersion::Dtls12
    {
        return Err(Error::misbehaved(
            AlertDescription::IllegalParameter,
            "server chose a version we did not offer",
        ));
    }
    let suite = Suite13::lookup(sh.cipher_suite)
        .filter(|s| common.cfg.suites13.contains(&s.suite))
        .ok_or(Error::illegal("server chose a suite we did not offer"))?;
    if !sh.legacy_session_id_echo.is_empty() {
        return Err(Error::illegal("legacy_session_id_echo does not match"));
    }
    if sh.is_hello_retry_request() {
        return on_hello_retry_request(common, offer, &msg, &sh, suite, now);
    }
    // RFC 8446 §4.1.4: "clients MUST check that the cipher suite supplied in the ServerHello is
    // the same as that in the HelloRetryRequest"; the transcript hash already committed to it.
    if offer.hrr_suite.is_some_and(|s| s != suite.suite) {
        return Err(Error::illegal(
            "ServerHello changes the suite of the HelloRetryRequest",
        ));
    }
    x13::check_permitted(&sh.extensions, ExtensionContext::ServerHello).map_err(decode13)?;
    x13::check_solicited(
        &sh.extensions,
        &offer.offered,
        ExtensionContext::ServerHello,
    )
    .map_err(decode13)?;
    let ks = x13::require::<KeyShareServerHello>(&sh.extensions).map_err(decode13)?;
    if ks.0.group != offer.share.group {
        return Err(Error::illegal(
            "server key share in a group we did not send",
        ));
    }
    let group = offer.share.group;
    let secret = offer.share.complete(&ks.0.key_exchange)?;
    if common.transcript.kind() != crate::handshake::transcript::HeaderKind::Tls13 {
        return Err(Error::Internal("transcript kind"));
    }
    common.hash_in(&msg);
    let hs = EarlySecret::new(suite.kdf())
        .handshake_secret(&secret)
        .map_err(|_| Error::Internal("key schedule"))?;
    let th = common.transcript_hash(suite.hash);
    let client_hs = hs
        .client_handshake_traffic_secret(&th)
        .map_err(|_| Error::Internal("key schedule"))?;
    let server_hs = hs
        .server_handshake_traffic_secret(&th)
        .map_err(|_| Error::Internal("key schedule"))?;
    common
        .records
        .install_read13(EPOCH_HANDSHAKE, cipher_from(&server_hs, suite.aead)?);
    common
        .records
        .install_write13(EPOCH_HANDSHAKE, cipher_from(&client_hs, suite.aead)?);
    let offered_schemes = super::schemes13();
    Ok(Step::Next(ClientState::AwaitEncryptedExtensions(Box::new(
        Handshaking {
            suite,
            group,
            hs,
            client_hs,
            server_hs,
            srtp: None,
            alpn: None,
            cert_request: None,
            peer_scheme: None,
            offered_schemes,
        },
    ))))
}

fn on_hello_retry_request(
    common: &mut Common,
    mut offer: Box<Offer>,
    msg: &Message,
    hrr: &ServerHello13,
    suite: Suite13,
    now: Millis,
) -> Result<Step, Error> {
    if offer.retried {
        return Err(Error::unexpected("a second HelloRetryRequest"));
    }
    x13::check_permitted(&hrr.extensions, ExtensionContext::HelloRetryRequest).map_err(decode13)?;
    x13::check_solicited(
        &hrr.extensions,
        &offer.offered,
        ExtensionContext::HelloRetryRequest,
    )
    .map_err(decode13)?;
    let cookie = x13::find::<Cookie>(&hrr.extensions).map_err(decode13)?;
    let group = x13::find::<KeyShareHelloRetryRequest>(&hrr.extensions).map_err(decode13)?;
    // RFC 8446 §4.1.4: an HRR that would not change the ClientHello is an error, and so is a
    // group we did not offer or already sent a share for.
    let new_group = match group {
        Some(KeyShareHelloRetryRequest(g)) => {
            if g == offer.share.group
                || !common.cfg.groups.contains(&g)
                || !super::group_supported(g)
            {
                return Err(Error::illegal(
                    "HelloRetryRequest names a group we cannot use",
                ));
            }
            Some(g)
        }
        None => None,
    };
    if new_group.is_none() && cookie.is_none() {
        return Err(Error::illegal("HelloRetryRequest that changes nothing"));
    }
    // The transcript restarts from message_hash(ClientHello1), then the HRR (RFC 8446 §4.4.1).
    common.transcript.replace_with_message_hash(suite.hash);
    common.hash_in(msg);
    if let Some(g) = new_group {
        offer.share = ClientShare::generate(g, &mut common.rng)?;
    }
    offer.retried = true;
    offer.hrr_suite = Some(suite.suite);
    let cookie = cookie.map(|c| c.0);
    // ClientHello2 is ClientHello1 but for the key share and the cookie (RFC 8446 §4.1.2), so
    // a dual-version offer keeps its 1.2 suites, extensions and supported_versions: pion
    // refuses anything else ("ClientHello fields changed after HelloRetryRequest").
    offer.offered = send_client_hello(
        common,
        offer.random,
        &offer.share,
        &[],
        cookie.as_deref(),
        offer.hybrid,
        now,
    );
    // A 1.3 server has spoken: 1.2 is off the table.
    offer.hybrid = false;
    Ok(Step::Next(ClientState::AwaitServerHello(offer)))
}

/// use_srtp and ALPN as the server answered them in EncryptedExtensions (RFC 9147 §5: use_srtp
/// moves there in 1.3).
/// The SRTP profile and MKI, and the ALPN protocol, the server chose.
type SrtpAlpn = (Option<(u16, Vec<u8>)>, Option<Vec<u8>>);

fn read_srtp_alpn(common: &Common, e: &Extensions) -> Result<SrtpAlpn, Error> {
    let alpn = crate::negotiate::client_alpn(&common.cfg, e)?;
    let srtp = crate::negotiate::client_srtp(&common.cfg, e)?;
    if e.has(ExtensionType::ServerName) && common.server_name.is_none() {
        return Err(Error::misbehaved(
            AlertDescription::UnsupportedExtension,
            "server_name we did not send",
        ));
    }
    Ok((srtp, alpn))
}

/// The server's Finished: derive the application keys, send our last flight, done.
fn on_finished(
    common: &mut Common,
    h: Box<Handshaking>,
    msg: &Message,
    now: Millis,
) -> Result<Step, Error> {
    let hash = h.suite.hash;
    check_finished(common, hash, &h.server_hs, msg)?;
    // Application secrets and the exporter cover the transcript through the server Finished.
    let th = common.transcript_hash(hash);
    let ms =
        h.hs.master_secret()
            .map_err(|_| Error::Internal("key schedule"))?;
    let ks = |r: Result<TrafficSecret, _>| r.map_err(|_| Error::Internal("key schedule"));
    let client_app = ks(ms.client_application_traffic_secret(&th))?;
    let server_app = ks(ms.server_application_traffic_secret(&th))?;
    let exporter = ms
        .exporter_master_secret(&th)
        .map_err(|_| Error::Internal("key schedule"))?;

    common.new_flight();
    if let Some(cr) = &h.cert_request {
        let cfg = std::sync::Arc::clone(&common.cfg);
        let mut body = Vec::new();
        match cfg.certificate.as_ref() {
            Some(c) => Certificate13::encode_chain(&cr.context, c.chain(), &mut body),
            None => Certificate13::encode_chain(&cr.context, &[], &mut body),
        }
        common.send_handshake(HandshakeType::Certificate, body, EPOCH_HANDSHAKE);
        if cfg.certificate.is_some() {
            let schemes = cr.signature_schemes().map_err(decode13)?;
            send_certificate_verify(common, hash, Role::Client, &schemes)?;
        }
    }
    send_finished(common, hash, &h.client_hs)?;
    // The final flight is retransmitted until the server acknowledges it (RFC 9147 §5.8.2).
    common.transmit_flight(now, true);
    common
        .records
        .install_write13(EPOCH_APPLICATION, cipher_from(&client_app, h.suite.aead)?);
    common
        .records
        .install_read13(EPOCH_APPLICATION, cipher_from(&server_app, h.suite.aead)?);
    common.negotiated = Some(Negotiated {
        version: ProtocolVersion::Dtls13,
        cipher_suite: h.suite.suite,
        group: h.group,
        peer_signature_scheme: h.peer_scheme,
        // 1.3's key schedule always binds the transcript (RFC 8446 §7.1).
        extended_master_secret: true,
        srtp_profile: h.srtp.as_ref().map(|s| s.0),
        srtp_mki: h.srtp.map(|s| s.1).unwrap_or_default(),
        alpn: h.alpn,
    });
    Ok(Step::Done(Box::new(Established {
        suite: h.suite,
        client_app,
        server_app,
        exporter,
    })))
}
