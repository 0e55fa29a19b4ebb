//! `Config`: immutable settings shared by many connections (the engine's `Arc<Config>`).

use crate::cert::Certificate;
use crate::error::{engine, invalid, whole, Result};
use dtls_proto::{
    CipherSuite, ClientAuth, ExtendedMasterSecret, Fingerprint, NamedGroup, PeerVerification,
    WallClock,
};
use napi::bindgen_prelude::{ClassInstance, Either, Uint8Array};
use napi_derive::napi;
use std::sync::Arc;

/// Retransmission timers, in milliseconds.
#[napi(object)]
pub struct TimerOptions {
    /// First retransmission timeout (default 1000).
    pub initial_rto_ms: f64,
    /// Ceiling of the doubling retransmission timeout (default 60000).
    pub max_rto_ms: f64,
    /// The whole handshake must finish within this (default 60000).
    pub handshake_timeout_ms: f64,
}

/// Everything `new Config(...)` accepts; every field is optional.
#[napi(object)]
pub struct ConfigOptions<'env> {
    /// Our certificate and key (required for a server).
    pub certificate: Option<ClassInstance<'env, Certificate>>,
    /// How the peer is authenticated: `'auto'` (default: pinned fingerprints when the
    /// connection has any, else webpki roots), `'fingerprint'`, `'webpki'`, or
    /// `'dangerous-accept-any'` (tests only: it lets anyone in).
    #[napi(ts_type = "'auto' | 'fingerprint' | 'webpki' | 'dangerous-accept-any'")]
    pub peer_verification: Option<String>,
    /// Trust anchors (PEM) for webpki verification.
    pub root_certificates_pem: Option<Either<String, Uint8Array>>,
    /// Peer certificate fingerprints in SDP form (`sha-256 AB:CD:...`) pinned for every
    /// connection made from this config.
    pub peer_fingerprints: Option<Vec<String>>,
    /// Server: ask for a client certificate (`'none'` default, `'request'`, `'require'`).
    #[napi(ts_type = "'none' | 'request' | 'require'")]
    pub client_auth: Option<String>,
    /// Protocol versions to offer or accept: `['1.2', '1.3']` (the default), `['1.2']` or `['1.3']`.
    #[napi(ts_type = "Array<'1.2' | '1.3'>")]
    pub versions: Option<Vec<String>>,
    /// Cipher suites by IANA id, in preference order (default: all six ECDHE AEAD suites).
    pub cipher_suites: Option<Vec<u32>>,
    /// Key-exchange groups by IANA id (29 X25519, 23 P-256, 24 P-384).
    pub groups: Option<Vec<u32>>,
    /// RFC 7627 policy: `'require'` (default), `'request'` or `'disable'`.
    #[napi(ts_type = "'require' | 'request' | 'disable'")]
    pub extended_master_secret: Option<String>,
    /// Server: HelloVerifyRequest cookie exchange (default true).
    pub cookie_exchange: Option<bool>,
    /// Server: the 32-byte secret stateless cookies derive from (default: random).
    pub cookie_secret: Option<Uint8Array>,
    /// Largest datagram sent, IP/UDP headers excluded (default 1200, at least 128).
    pub mtu: Option<f64>,
    /// Retransmission timers.
    pub timers: Option<TimerOptions>,
    /// ALPN protocol names, in preference order.
    pub alpn: Option<Vec<String>>,
    /// SRTP protection profiles for use_srtp, by IANA id or by name
    /// (`'SRTP_AES128_CM_SHA1_80'` or `'SRTP_AES128_CM_HMAC_SHA1_80'`).
    pub srtp_profiles: Option<Vec<Either<u32, String>>>,
    /// Client: the SRTP MKI to offer (RFC 5764 §4.1.1), at most 255 bytes (default none).
    pub srtp_mki: Option<Uint8Array>,
    /// Server: echo a client's MKI (default true) or, if false, answer with none (RFC 5764
    /// §4.1.3), for SRTP stacks that do not use MKIs.
    pub srtp_accept_mki: Option<bool>,
    /// Reproducible randoms. Tests only: never in production.
    pub rng_seed: Option<f64>,
    /// A fixed Unix time in seconds for certificate validity checks instead of the system
    /// clock (tests).
    pub fixed_wall_clock: Option<f64>,
}

/// Immutable settings shared by many connections.
#[napi]
pub struct Config {
    pub(crate) inner: Arc<dtls_proto::Config>,
}

fn u16_id(what: &str, v: u32) -> Result<u16> {
    u16::try_from(v).map_err(|_| invalid(format!("{what} {v} is not a 16-bit IANA id")))
}

#[napi]
impl Config {
    /// Checks the options and freezes them; throws `DTLS_ERR_INVALID_CONFIG` or
    /// `DTLS_ERR_INVALID_ARGUMENT` with the reason.
    #[napi(constructor)]
    pub fn new(options: Option<ConfigOptions>) -> Result<Config> {
        let mut b = dtls_proto::Config::builder();
        let Some(o) = options else {
            return Ok(Config {
                inner: b.build().map_err(engine)?,
            });
        };
        if let Some(c) = &o.certificate {
            // Cheap: the engine's Certificate shares its key behind an Arc.
            b = b.certificate(c.inner.clone());
        }
        if let Some(v) = o.peer_verification.as_deref() {
            b = b.peer_verification(match v {
                "auto" => PeerVerification::Auto,
                "fingerprint" => PeerVerification::Fingerprint,
                "webpki" => PeerVerification::WebPki,
                "dangerous-accept-any" => PeerVerification::DangerousAcceptAny,
                other => return Err(invalid(format!(
                    "unknown peerVerification {other:?}: expected 'auto', 'fingerprint', 'webpki' or 'dangerous-accept-any'"
                ))),
            });
        }
        if let Some(pem) = &o.root_certificates_pem {
            b = b.root_certificates_pem(match pem {
                Either::A(s) => s.as_bytes(),
                Either::B(b) => b,
            });
        }
        for fp in o.peer_fingerprints.iter().flatten() {
            b = b.peer_fingerprint(Fingerprint::parse_sdp(fp).map_err(|e| engine(e.into()))?);
        }
        if let Some(v) = o.client_auth.as_deref() {
            b = b.client_auth(match v {
                "none" => ClientAuth::None,
                "request" => ClientAuth::Request,
                "require" => ClientAuth::Require,
                other => {
                    return Err(invalid(format!(
                        "unknown clientAuth {other:?}: expected 'none', 'request' or 'require'"
                    )))
                }
            });
        }
        if let Some(v) = &o.versions {
            // The engine's one version policy, as in C and Python.
            let versions = dtls_proto::names::versions_from_names(v)
                .map_err(|_| invalid(format!("versions {v:?}: expected '1.2' and/or '1.3'")))?;
            b = b.versions(&versions);
        }
        if let Some(ids) = &o.cipher_suites {
            let suites = ids
                .iter()
                .map(|&v| u16_id("cipher suite", v).map(CipherSuite::from))
                .collect::<Result<Vec<_>>>()?;
            b = b.cipher_suites(&suites);
        }
        if let Some(ids) = &o.groups {
            let groups = ids
                .iter()
                .map(|&v| u16_id("group", v).map(NamedGroup::from))
                .collect::<Result<Vec<_>>>()?;
            b = b.groups(&groups);
        }
        if let Some(v) = o.extended_master_secret.as_deref() {
            b = b.extended_master_secret(match v {
                "require" => ExtendedMasterSecret::Require,
                "request" => ExtendedMasterSecret::Request,
                "disable" => ExtendedMasterSecret::Disable,
                other => return Err(invalid(format!(
                    "unknown extendedMasterSecret {other:?}: expected 'require', 'request' or 'disable'"
                ))),
            });
        }
        if let Some(on) = o.cookie_exchange {
            b = b.cookie_exchange(on);
        }
        if let Some(secret) = &o.cookie_secret {
            let secret: [u8; 32] = secret[..]
                .try_into()
                .map_err(|_| invalid("cookieSecret must be exactly 32 bytes"))?;
            b = b.cookie_secret(secret);
        }
        if let Some(mtu) = o.mtu {
            let mtu = whole("mtu", mtu, u16::MAX.into())? as u16;
            b = b.mtu(mtu);
        }
        if let Some(t) = &o.timers {
            const MAX: u64 = 24 * 3600 * 1000;
            b = b.timers(
                whole("timers.initialRtoMs", t.initial_rto_ms, MAX)?,
                whole("timers.maxRtoMs", t.max_rto_ms, MAX)?,
                whole("timers.handshakeTimeoutMs", t.handshake_timeout_ms, MAX)?,
            );
        }
        if let Some(protocols) = &o.alpn {
            let p: Vec<&[u8]> = protocols.iter().map(|s| s.as_bytes()).collect();
            b = b.alpn(&p);
        }
        if let Some(list) = &o.srtp_profiles {
            let mut ids = Vec::with_capacity(list.len());
            for p in list {
                match p {
                    Either::A(id) => ids.push(u16_id("SRTP profile", *id)?),
                    Either::B(name) => {
                        ids.extend(dtls_proto::srtp::parse_profiles(name).map_err(engine)?)
                    }
                }
            }
            b = b.srtp_profiles(&ids);
        }
        if let Some(mki) = &o.srtp_mki {
            b = b.srtp_mki(mki);
        }
        if let Some(accept) = o.srtp_accept_mki {
            b = b.srtp_accept_mki(accept);
        }
        if let Some(seed) = o.rng_seed {
            b = b.rng_seed(whole(
                "rngSeed",
                seed,
                crate::error::MAX_SAFE_INTEGER as u64,
            )?);
        }
        if let Some(secs) = o.fixed_wall_clock {
            let secs = whole(
                "fixedWallClock",
                secs,
                crate::error::MAX_SAFE_INTEGER as u64,
            )?;
            b = b.wall_clock(WallClock::from_fn(move || secs));
        }
        Ok(Config {
            inner: b.build().map_err(engine)?,
        })
    }

    /// The configured MTU.
    #[napi(getter)]
    pub fn mtu(&self) -> u32 {
        self.inner.mtu().into()
    }

    /// Whether a server performs the HelloVerifyRequest cookie exchange.
    #[napi(getter)]
    pub fn cookie_exchange(&self) -> bool {
        self.inner.cookie_exchange()
    }
}
