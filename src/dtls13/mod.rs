//! DTLS 1.3 (RFC 9147): the key schedule, the client and server state machines, and what they
//! share (suites, key shares, the HelloRetryRequest cookie, Finished and CertificateVerify).

pub(crate) mod client;
pub(crate) mod cookie;
pub(crate) mod key_schedule;
pub(crate) mod machine;
pub(crate) mod server;

use crate::common::Common;
use crate::crypto::aead::AeadAlg;
use crate::crypto::hash::HashAlg;
use crate::crypto::kem::{respond, ClientKeyShare, KeyShareGroup};
use crate::crypto::rng::Rng;
use crate::error::Error;
use crate::handshake::reassembly::Message;
use crate::msgs::enums::{AlertDescription, CipherSuite, HandshakeType, NamedGroup};
use crate::msgs::extensions13::DecodeError13;
use crate::record::protect13::RecordCipher13;
use crate::types::{Epoch, Role};
use key_schedule::{Kdf, TrafficSecret};

/// The epoch of the handshake keys (RFC 9147 §6.1: 0 plaintext, 1 early data, 2 handshake).
pub(crate) const EPOCH_HANDSHAKE: Epoch = 2;
/// The epoch of the first application keys.
pub(crate) const EPOCH_APPLICATION: Epoch = 3;

/// The suites of DTLS 1.3 we implement, in our default preference order.
pub const DEFAULT_SUITES13: &[CipherSuite] = &[
    CipherSuite::Tls13Aes128GcmSha256,
    CipherSuite::Tls13Aes256GcmSha384,
    CipherSuite::Tls13Chacha20Poly1305Sha256,
];

/// What a DTLS 1.3 suite names: the AEAD and the hash of the key schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Suite13 {
    pub suite: CipherSuite,
    pub aead: AeadAlg,
    pub hash: HashAlg,
}

impl Suite13 {
    pub fn lookup(suite: CipherSuite) -> Option<Self> {
        let (aead, hash) = match suite {
            CipherSuite::Tls13Aes128GcmSha256 => (AeadAlg::Aes128Gcm, HashAlg::Sha256),
            CipherSuite::Tls13Aes256GcmSha384 => (AeadAlg::Aes256Gcm, HashAlg::Sha384),
            CipherSuite::Tls13Chacha20Poly1305Sha256 => {
                (AeadAlg::Chacha20Poly1305, HashAlg::Sha256)
            }
            _ => return None,
        };
        Some(Suite13 { suite, aead, hash })
    }

    pub fn kdf(&self) -> Kdf {
        Kdf::dtls13(self.hash)
    }
}

/// True for the suites only DTLS 1.3 uses.
pub(crate) fn is_suite13(s: CipherSuite) -> bool {
    Suite13::lookup(s).is_some()
}

/// Record protection for one direction of one epoch from its traffic secret.
pub(crate) fn cipher_from(secret: &TrafficSecret, aead: AeadAlg) -> Result<RecordCipher13, Error> {
    let keys = secret
        .traffic_keys(aead)
        .map_err(|_| Error::Internal("traffic key derivation"))?;
    RecordCipher13::new(aead, &keys.key, &keys.iv, &keys.sn_key)
        .map_err(|_| Error::Internal("record key setup"))
}

/// Our half of a key exchange the client started: the private part waits for the server's share.
pub(crate) struct ClientShare {
    pub group: NamedGroup,
    kx: ClientKeyShare,
}

impl std::fmt::Debug for ClientShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientShare({:?})", self.group)
    }
}

impl ClientShare {
    pub fn generate(group: NamedGroup, rng: &mut Rng) -> Result<Self, Error> {
        let g = KeyShareGroup::from_iana(group.get()).ok_or(Error::Internal("no such group"))?;
        let kx = ClientKeyShare::generate(g, rng).map_err(|_| Error::Internal("key generation"))?;
        Ok(ClientShare { group, kx })
    }

    pub fn public(&self) -> &[u8] {
        self.kx.share()
    }

    /// The shared secret from the server's share.
    pub fn complete(self, server_share: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
        self.kx
            .complete(server_share)
            .map_err(|_| Error::illegal("bad server key share"))
    }
}

/// The server's side of the exchange: its share and the shared secret (for ML-KEM, the
/// encapsulation).
pub(crate) fn server_respond(
    group: NamedGroup,
    client_share: &[u8],
    rng: &mut Rng,
) -> Result<(Vec<u8>, zeroize::Zeroizing<Vec<u8>>), Error> {
    let g = KeyShareGroup::from_iana(group.get()).ok_or(Error::Internal("no such group"))?;
    respond(g, client_share, rng).map_err(|_| Error::illegal("bad client key share"))
}

/// Signature schemes a DTLS 1.3 peer may authenticate with: ours minus RSA PKCS#1 v1.5,
/// which 1.3 forbids in CertificateVerify (RFC 8446 §4.2.3).
pub(crate) fn schemes13() -> Vec<u16> {
    crate::crypto::sign::SUPPORTED_VERIFY_SCHEMES
        .iter()
        .filter(|s| s.allowed_in_tls13())
        .map(|s| s.iana())
        .collect()
}

/// Groups we can do in DTLS 1.3: the ECDHE ones and X25519MLKEM768.
pub(crate) fn group_supported(g: NamedGroup) -> bool {
    KeyShareGroup::from_iana(g.get()).is_some()
}

/// A decode failure of an authenticated or decisive message, as the error that sends its alert.
pub(crate) fn decode13(e: DecodeError13) -> Error {
    let reason = match e {
        DecodeError13::Malformed => "malformed handshake message",
        DecodeError13::DuplicateExtension => "duplicate extension",
        DecodeError13::IllegalParameter(r) => r,
        DecodeError13::UnsupportedExtension(_) => "unsolicited extension",
        DecodeError13::MissingExtension(_) => "missing extension",
    };
    Error::misbehaved(e.alert(), reason)
}

/// Fails unless `msg` is of type `t` in `epoch`.
pub(crate) fn expect13(msg: &Message, t: HandshakeType, epoch: Epoch) -> Result<(), Error> {
    if HandshakeType::from(msg.msg_type) != t {
        return Err(Error::unexpected("handshake message out of order"));
    }
    if u64::from(msg.epoch) != epoch {
        return Err(Error::unexpected("handshake message in the wrong epoch"));
    }
    Ok(())
}

/// Signs the transcript so far as `role`'s CertificateVerify (RFC 8446 §4.4.3) and sends it.
pub(crate) fn send_certificate_verify(
    common: &mut Common,
    hash: HashAlg,
    role: Role,
    peer_schemes: &[u16],
) -> Result<(), Error> {
    let cfg = std::sync::Arc::clone(&common.cfg);
    let cert = cfg
        .certificate
        .as_ref()
        .ok_or(Error::InvalidConfig("a certificate is needed".into()))?;
    let scheme = cert
        .signing_key()
        .choose_scheme_tls13(peer_schemes)
        .ok_or(Error::NoCommonParameters("signature scheme"))?;
    let th = common.transcript_hash(hash);
    let content = crate::msgs::handshake13::certificate_verify_content(role, &th);
    let sig = cert
        .signing_key()
        .sign_tls13(scheme, &content)
        .map_err(|_| Error::Internal("signing failed"))?;
    let mut body = Vec::new();
    crate::msgs::handshake::DigitallySigned {
        scheme: scheme.iana(),
        signature: sig,
    }
    .encode(&mut body);
    common.send_handshake(HandshakeType::CertificateVerify, body, EPOCH_HANDSHAKE);
    Ok(())
}

/// Checks the peer's CertificateVerify against its leaf and the transcript before it; returns
/// the scheme it used.
pub(crate) fn check_certificate_verify(
    common: &mut Common,
    hash: HashAlg,
    msg: &Message,
    offered: &[u16],
) -> Result<u16, Error> {
    expect13(msg, HandshakeType::CertificateVerify, EPOCH_HANDSHAKE)?;
    let cv = crate::msgs::handshake::DigitallySigned::decode(&msg.body)
        .map_err(|_| Error::decode("malformed CertificateVerify"))?;
    if !offered.contains(&cv.scheme) {
        return Err(Error::illegal(
            "CertificateVerify with a scheme we did not offer",
        ));
    }
    let peer = match common.role {
        Role::Client => Role::Server,
        Role::Server => Role::Client,
    };
    let th = common.transcript_hash(hash);
    let content = crate::msgs::handshake13::certificate_verify_content(peer, &th);
    let leaf = common.peer_certs.first().ok_or(Error::NoPeerCertificate)?;
    crate::verify::verify_signature_tls13(leaf, cv.scheme, &content, &cv.signature)
        .map_err(|_| Error::BadSignature)?;
    common.hash_in(msg);
    Ok(cv.scheme)
}

/// Checks the peer's Finished with its handshake traffic secret (RFC 8446 §4.4.4).
pub(crate) fn check_finished(
    common: &mut Common,
    hash: HashAlg,
    peer_secret: &TrafficSecret,
    msg: &Message,
) -> Result<(), Error> {
    expect13(msg, HandshakeType::Finished, EPOCH_HANDSHAKE)?;
    let key = peer_secret
        .finished_key()
        .map_err(|_| Error::Internal("finished key"))?;
    let th = common.transcript_hash(hash);
    if !key.verify(&th, &msg.body) {
        return Err(Error::BadFinished);
    }
    common.hash_in(msg);
    Ok(())
}

/// Sends our Finished over the transcript so far.
pub(crate) fn send_finished(
    common: &mut Common,
    hash: HashAlg,
    our_secret: &TrafficSecret,
) -> Result<(), Error> {
    let key = our_secret
        .finished_key()
        .map_err(|_| Error::Internal("finished key"))?;
    let th = common.transcript_hash(hash);
    common.send_handshake(
        HandshakeType::Finished,
        key.verify_data(&th),
        EPOCH_HANDSHAKE,
    );
    Ok(())
}

/// The peer's certificate chain, verified and recorded.
pub(crate) fn take_certificate(
    common: &mut Common,
    msg: &Message,
    required: bool,
    context: &[u8],
) -> Result<(), Error> {
    expect13(msg, HandshakeType::Certificate, EPOCH_HANDSHAKE)?;
    let cert = crate::msgs::handshake13::Certificate13::decode(
        &msg.body,
        common.cfg.limits.max_cert_chain_len,
    )
    .map_err(decode13)?;
    if cert.context != context {
        return Err(Error::illegal("certificate_request_context mismatch"));
    }
    let chain: Vec<Vec<u8>> = cert.entries.into_iter().map(|e| e.cert_data).collect();
    if chain.is_empty() {
        if required {
            // RFC 8446 §4.4.2.4: an empty server Certificate is a decode_error; a server that
            // requires one refuses an empty client Certificate with certificate_required.
            let alert = match common.role {
                Role::Client => AlertDescription::DecodeError,
                Role::Server => AlertDescription::CertificateRequired,
            };
            return Err(Error::misbehaved(alert, "peer sent no certificate"));
        }
    } else {
        common.verify_peer_chain(&chain)?;
    }
    common.hash_in(msg);
    Ok(())
}
