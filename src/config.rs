//! Configuration: built once, shared by every association (`Arc<Config>`).

use crate::cert::{Certificate, Fingerprint};
use crate::error::Error;
use crate::msgs::enums::{CipherSuite, NamedGroup, ProtocolVersion};
use crate::time::WallClock;
use crate::verify::RootStore;
use std::sync::Arc;

/// How the peer is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerVerification {
    /// Pinned fingerprints when the association has any, else the webpki roots.
    #[default]
    Auto,
    /// Only pinned SDP fingerprints.
    Fingerprint,
    /// Only webpki chain (and, for a client, name) validation.
    WebPki,
    /// Accept any certificate. For tests and diagnostics only: it lets anyone in.
    DangerousAcceptAny,
}

/// extended_master_secret policy (RFC 7627).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExtendedMasterSecret {
    /// Offer it and fail the handshake if the peer does not (RFC 7627 §5.2, RFC 7925).
    #[default]
    Require,
    /// Offer it and use it when the peer agrees.
    Request,
    /// Never offer or accept it.
    Disable,
}

/// Whether a server asks for a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// Do not ask (the default). Pinned peer fingerprints still make a server require one:
    /// WebRTC authenticates both ends.
    #[default]
    None,
    /// Ask; an empty Certificate is accepted.
    Request,
    /// Ask; an empty Certificate fails the handshake.
    Require,
}

/// The suites we implement, in our default preference order (RFC 8827 makes the first mandatory).
pub const DEFAULT_CIPHER_SUITES: &[CipherSuite] = &[
    CipherSuite::EcdheEcdsaAes128GcmSha256,
    CipherSuite::EcdheEcdsaAes256GcmSha384,
    CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
    CipherSuite::EcdheRsaAes128GcmSha256,
    CipherSuite::EcdheRsaAes256GcmSha384,
    CipherSuite::EcdheRsaChacha20Poly1305Sha256,
];

pub use crate::dtls13::DEFAULT_SUITES13;

/// The groups we implement, in default preference order.
pub const DEFAULT_GROUPS: &[NamedGroup] = &[
    NamedGroup::X25519,
    NamedGroup::Secp256r1,
    NamedGroup::Secp384r1,
    // DTLS 1.3 only; a 1.2 handshake skips it. Last, so that a server picks it only for a
    // client that offers nothing else, and a client offers its share only when asked to (its
    // 1216 bytes make a ClientHello span two datagrams).
    NamedGroup::X25519MlKem768,
];

/// Immutable settings shared by many associations.
#[derive(Debug)]
pub struct Config {
    pub(crate) versions: Vec<ProtocolVersion>,
    pub(crate) cipher_suites: Vec<CipherSuite>,
    /// The DTLS 1.3 suites, apart: a 1.3 handshake picks only among these.
    pub(crate) suites13: Vec<CipherSuite>,
    pub(crate) groups: Vec<NamedGroup>,
    pub(crate) certificate: Option<Certificate>,
    pub(crate) verification: PeerVerification,
    pub(crate) roots: RootStore,
    pub(crate) fingerprints: Vec<Fingerprint>,
    pub(crate) client_auth: ClientAuth,
    pub(crate) ems: ExtendedMasterSecret,
    pub(crate) cookie_exchange: bool,
    pub(crate) cookie_secret: CookieSecret,
    pub(crate) cookie_lifetime_ms: u64,
    pub(crate) mtu: u16,
    pub(crate) initial_rto_ms: u64,
    pub(crate) max_rto_ms: u64,
    pub(crate) handshake_timeout_ms: u64,
    pub(crate) alpn: Vec<Vec<u8>>,
    pub(crate) srtp_profiles: Vec<u16>,
    pub(crate) srtp_mki: Vec<u8>,
    pub(crate) srtp_accept_mki: bool,
    pub(crate) rng_seed: Option<u64>,
    pub(crate) wall_clock: WallClock,
    pub(crate) limits: Limits,
}

/// The HelloVerifyRequest cookie key: wiped on drop, never printed.
pub(crate) struct CookieSecret(pub(crate) [u8; 32]);

impl Drop for CookieSecret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl std::fmt::Debug for CookieSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSecret(..)")
    }
}

/// Memory bounds for one association. Everything a peer sends before it is authenticated, and
/// everything an application leaves unread, is held within these; what does not fit is dropped
/// and counted in [`crate::Stats`] (or refused with an error, for `send`). The defaults suit a
/// WebRTC or VoIP peer; IoT devices may lower them.
///
/// ```
/// use dtls_proto::config::{Config, Limits};
/// let limits = Limits { max_received_records: 32, ..Limits::default() };
/// let cfg = Config::builder().limits(limits).build().unwrap();
/// assert_eq!(cfg.limits().max_received_records, 32);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest handshake message accepted, in bytes (64 KiB). This also bounds the peer's
    /// certificate chain in size, since the chain travels in one Certificate message.
    pub max_handshake_message: usize,
    /// Bytes of handshake fragments buffered for reassembly at once (128 KiB). Fragments
    /// beyond are dropped; the peer retransmits them.
    pub max_reassembly_bytes: usize,
    /// Records of the next epoch held until its keys are installed (16): a Finished that
    /// overtakes the ChangeCipherSpec, or data that overtakes the Finished.
    pub max_deferred_records: usize,
    /// Application records queued by `send` and not yet sealed into datagrams (256). Beyond,
    /// `send` fails with `InvalidArgument` ("send queue full") until `poll_transmit` drains it;
    /// the association carries on.
    pub max_queued_records: usize,
    /// Received application records not yet read with `recv` (256) ...
    pub max_received_records: usize,
    /// ... and their bytes (256 KiB). Beyond either, new records are dropped and counted.
    pub max_received_bytes: usize,
    /// Certificates in the peer's chain (10).
    pub max_cert_chain_len: usize,
    /// Records that may fail authentication under one key before the association ends with
    /// [`crate::Error::KeyUsageLimit`] (2^36, RFC 9147 §4.5.3 for AES-GCM and
    /// ChaCha20-Poly1305). Each such record is otherwise just dropped and counted; a lower
    /// value trades forgery resistance for exposure to a flood of forged records.
    pub max_auth_failures: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_handshake_message: 64 * 1024,
            max_reassembly_bytes: 128 * 1024,
            max_deferred_records: 16,
            max_queued_records: 256,
            max_received_records: 256,
            max_received_bytes: 256 * 1024,
            max_cert_chain_len: 10,
            max_auth_failures: 1 << 36,
        }
    }
}

impl Config {
    /// Starts a builder with the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::new()
    }

    /// The configured MTU (largest datagram we emit).
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// Whether the server performs the HelloVerifyRequest cookie exchange.
    pub fn cookie_exchange(&self) -> bool {
        self.cookie_exchange
    }

    /// The per-association memory bounds.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// Builds a [`Config`].
///
/// ```
/// use dtls_proto::{Certificate, Config};
/// let cert = Certificate::generate("example").unwrap();
/// let config = Config::builder().certificate(cert).mtu(1200).build().unwrap();
/// assert_eq!(config.mtu(), 1200);
/// ```
#[derive(Debug)]
pub struct ConfigBuilder {
    c: Config,
    error: Option<String>,
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigBuilder {
    /// Defaults: DTLS 1.2, all six suites, X25519/P-256/P-384, EMS required, cookies on,
    /// MTU 1200, RTO 1 s doubling to 60 s, 60 s handshake deadline.
    pub fn new() -> Self {
        let mut secret = [0u8; 32];
        let error = crate::crypto::rng::Rng::system()
            .fill(&mut secret)
            .err()
            .map(|_| "cannot draw a cookie secret".to_string());
        ConfigBuilder {
            c: Config {
                versions: vec![ProtocolVersion::Dtls12, ProtocolVersion::Dtls13],
                cipher_suites: DEFAULT_CIPHER_SUITES.to_vec(),
                suites13: crate::dtls13::DEFAULT_SUITES13.to_vec(),
                groups: DEFAULT_GROUPS.to_vec(),
                certificate: None,
                verification: PeerVerification::Auto,
                roots: RootStore::new(),
                fingerprints: Vec::new(),
                client_auth: ClientAuth::None,
                ems: ExtendedMasterSecret::Require,
                cookie_exchange: true,
                cookie_secret: CookieSecret(secret),
                cookie_lifetime_ms: 60_000,
                mtu: 1200,
                initial_rto_ms: 1000,
                max_rto_ms: 60_000,
                handshake_timeout_ms: 60_000,
                alpn: Vec::new(),
                srtp_profiles: Vec::new(),
                srtp_mki: Vec::new(),
                srtp_accept_mki: true,
                rng_seed: None,
                wall_clock: WallClock::system(),
                limits: Limits::default(),
            },
            error,
        }
    }

    /// Protocol versions to offer or accept. The default is both DTLS 1.2 and DTLS 1.3: a
    /// client offers both and a server picks 1.3 when the client offers it. A server with
    /// 1.3 enabled that negotiates 1.2 marks its random with the RFC 8446 §4.1.3 downgrade
    /// sentinel. Pass `&[ProtocolVersion::Dtls12]` for a 1.2-only endpoint.
    pub fn versions(mut self, versions: &[ProtocolVersion]) -> Self {
        self.c.versions = versions.to_vec();
        self
    }

    /// Cipher suites in preference order (the server's order decides).
    pub fn cipher_suites(mut self, suites: &[CipherSuite]) -> Self {
        let (v13, v12): (Vec<CipherSuite>, Vec<CipherSuite>) =
            suites.iter().partition(|s| crate::dtls13::is_suite13(**s));
        // A list of one version's suites leaves the other version's defaults alone.
        if !v12.is_empty() || v13.is_empty() {
            self.c.cipher_suites = v12;
        }
        if !v13.is_empty() {
            self.c.suites13 = v13;
        }
        self
    }

    /// Key-exchange groups in preference order.
    pub fn groups(mut self, groups: &[NamedGroup]) -> Self {
        self.c.groups = groups.to_vec();
        self
    }

    /// Our certificate chain and key.
    pub fn certificate(mut self, cert: Certificate) -> Self {
        self.c.certificate = Some(cert);
        self
    }

    /// How to authenticate the peer.
    pub fn peer_verification(mut self, mode: PeerVerification) -> Self {
        self.c.verification = mode;
        self
    }

    /// Adds trust anchors from PEM.
    pub fn root_certificates_pem(mut self, pem: &[u8]) -> Self {
        if let Err(e) = self.c.roots.add_pem(pem) {
            self.error.get_or_insert(format!("root certificates: {e}"));
        }
        self
    }

    /// Pins a peer fingerprint for every association made from this config.
    pub fn peer_fingerprint(mut self, fp: Fingerprint) -> Self {
        self.c.fingerprints.push(fp);
        self
    }

    /// Server: ask for (and optionally require) a client certificate.
    pub fn client_auth(mut self, mode: ClientAuth) -> Self {
        self.c.client_auth = mode;
        self
    }

    /// Server: shorthand for `client_auth(Require)` / `client_auth(None)`.
    pub fn require_client_certificate(self, required: bool) -> Self {
        self.client_auth(if required {
            ClientAuth::Require
        } else {
            ClientAuth::None
        })
    }

    /// extended_master_secret policy.
    pub fn extended_master_secret(mut self, mode: ExtendedMasterSecret) -> Self {
        self.c.ems = mode;
        self
    }

    /// Server: perform the HelloVerifyRequest cookie exchange (on by default; switch off
    /// behind ICE, where consent checks already prove the address).
    pub fn cookie_exchange(mut self, on: bool) -> Self {
        self.c.cookie_exchange = on;
        self
    }

    /// Server: the secret the stateless cookies are derived from. Share it between
    /// processes that serve one address.
    pub fn cookie_secret(mut self, secret: [u8; 32]) -> Self {
        self.c.cookie_secret = CookieSecret(secret);
        self
    }

    /// Server: how long a cookie's key window lasts (60 s). A cookie is accepted in its own
    /// window and the next, so one stays valid between one and two windows. Zero is refused.
    pub fn cookie_lifetime_ms(mut self, ms: u64) -> Self {
        if ms == 0 {
            self.error
                .get_or_insert("cookie lifetime must be positive".into());
        }
        self.c.cookie_lifetime_ms = ms;
        self
    }

    /// Largest datagram we send, IP/UDP headers excluded.
    pub fn mtu(mut self, mtu: u16) -> Self {
        if mtu < 128 {
            self.error.get_or_insert(format!("mtu {mtu} is below 128"));
        }
        self.c.mtu = mtu;
        self
    }

    /// Retransmission timers, in milliseconds.
    pub fn timers(
        mut self,
        initial_rto_ms: u64,
        max_rto_ms: u64,
        handshake_timeout_ms: u64,
    ) -> Self {
        if initial_rto_ms == 0 || max_rto_ms < initial_rto_ms || handshake_timeout_ms == 0 {
            self.error
                .get_or_insert("timers: need 0 < initial <= max and a nonzero deadline".into());
        }
        self.c.initial_rto_ms = initial_rto_ms;
        self.c.max_rto_ms = max_rto_ms;
        self.c.handshake_timeout_ms = handshake_timeout_ms;
        self
    }

    /// ALPN protocols, in preference order.
    pub fn alpn(mut self, protocols: &[&[u8]]) -> Self {
        self.c.alpn = protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// SRTP protection profiles (IANA ids) for use_srtp, in preference order. The NULL
    /// profiles are used only when listed here.
    pub fn srtp_profiles(mut self, profiles: &[u16]) -> Self {
        if profiles.iter().any(|p| crate::srtp::profile(*p).is_none()) {
            self.error
                .get_or_insert("unknown SRTP protection profile".into());
        }
        self.c.srtp_profiles = profiles.to_vec();
        self
    }

    /// Client: the MKI to offer in use_srtp (RFC 5764 §4.1.1); empty by default. A server
    /// answers with the client's MKI or none, see [`ConfigBuilder::srtp_accept_mki`].
    pub fn srtp_mki(mut self, mki: &[u8]) -> Self {
        if mki.len() > 255 {
            self.error
                .get_or_insert("SRTP MKI longer than 255 bytes".into());
        }
        self.c.srtp_mki = mki.to_vec();
        self
    }

    /// Server: whether to use the MKI a client offers (RFC 5764 §4.1.3). `true` (the default)
    /// echoes it, and every SRTP packet must then carry it; `false` answers with an empty MKI,
    /// for SRTP stacks that do not use MKIs (OpenSSL's server always answers this way).
    pub fn srtp_accept_mki(mut self, accept: bool) -> Self {
        self.c.srtp_accept_mki = accept;
        self
    }

    /// Makes randoms and jitter reproducible. For tests only: never in production.
    pub fn rng_seed(mut self, seed: u64) -> Self {
        self.c.rng_seed = Some(seed);
        self
    }

    /// The wall clock used for certificate validity.
    pub fn wall_clock(mut self, clock: WallClock) -> Self {
        self.c.wall_clock = clock;
        self
    }

    /// Largest handshake message accepted (bounds reassembly memory); see [`Limits`].
    pub fn max_handshake_message(mut self, bytes: usize) -> Self {
        let l = &mut self.c.limits;
        l.max_handshake_message = bytes;
        l.max_reassembly_bytes = l.max_reassembly_bytes.max(bytes.saturating_mul(2));
        self
    }

    /// The bounds as set so far (to change one and keep the others).
    pub fn current_limits(&self) -> Limits {
        self.c.limits
    }

    /// All the per-association memory bounds at once.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.c.limits = limits;
        self
    }

    /// Checks the settings and freezes them.
    pub fn build(self) -> Result<Arc<Config>, Error> {
        if let Some(e) = self.error {
            return Err(Error::InvalidConfig(e));
        }
        let c = self.c;
        let l = &c.limits;
        // Each floor is what one honest handshake needs: a certificate chain of a few KiB, a
        // ChangeCipherSpec's worth of reordering, and one record in flight each way.
        if l.max_handshake_message < 4096
            || l.max_reassembly_bytes < l.max_handshake_message
            || l.max_deferred_records < 2
            || l.max_queued_records == 0
            || l.max_received_records == 0
            || l.max_received_bytes < 16 * 1024
            || l.max_cert_chain_len == 0
            || l.max_auth_failures == 0
        {
            return Err(Error::InvalidConfig(
                "limits too small: handshake message >= 4096 and <= reassembly bytes, \
                 deferred records >= 2, queued/received records >= 1, received bytes >= 16384, \
                 chain length >= 1, auth failures >= 1"
                    .into(),
            ));
        }
        if c.versions.is_empty() {
            return Err(Error::InvalidConfig("no protocol version enabled".into()));
        }
        if c.versions
            .iter()
            .any(|v| !matches!(v, ProtocolVersion::Dtls12 | ProtocolVersion::Dtls13))
        {
            return Err(Error::InvalidConfig(
                "versions must be DTLS 1.2 and/or DTLS 1.3".into(),
            ));
        }
        let v12 = c.versions.contains(&ProtocolVersion::Dtls12);
        let v13 = c.versions.contains(&ProtocolVersion::Dtls13);
        if v13 && c.suites13.is_empty() {
            return Err(Error::InvalidConfig(
                "DTLS 1.3 enabled without a DTLS 1.3 cipher suite".into(),
            ));
        }
        if (v12 && c.cipher_suites.is_empty())
            || c.cipher_suites
                .iter()
                .any(|s| !crate::suites::is_supported(*s))
        {
            return Err(Error::InvalidConfig(
                "cipher suite list empty or unsupported".into(),
            ));
        }
        if c.groups.is_empty()
            || c.groups.iter().any(|g| !crate::dtls13::group_supported(*g))
            || (v12
                && !c
                    .groups
                    .iter()
                    .any(|g| crate::suites::kx_group(*g).is_some()))
        {
            return Err(Error::InvalidConfig(
                "group list empty or unsupported".into(),
            ));
        }
        Ok(Arc::new(c))
    }
}
