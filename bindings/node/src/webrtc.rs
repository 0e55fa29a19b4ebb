//! The WebRTC / VoIP helpers the C library has, over the engine's own functions: RFC 7983
//! demultiplexing (`dtls_proto::demux`), the DTLS role from `a=setup` (`dtls_proto::sdp`),
//! SDP fingerprints (`dtls_proto::Fingerprint`) and the SRTP profile table
//! (`dtls_proto::srtp::PROFILES`).

use crate::cert::hash_alg;
use crate::error::{engine, invalid, Result};
use dtls_proto::demux::{classify, PacketKind};
use dtls_proto::sdp::{self, Setup};
use dtls_proto::{Error, Fingerprint, Role};
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Client => "client",
        Role::Server => "server",
    }
}

/// True when `datagram` is DTLS by RFC 7983 §7 (first byte 20..63), for a socket shared with
/// STUN, RTP/RTCP, ZRTP and TURN. Empty: false.
#[napi]
pub fn is_dtls(datagram: &[u8]) -> bool {
    dtls_proto::demux::is_dtls(datagram)
}

/// What a datagram on a shared media socket carries, by its first byte (RFC 7983 §7).
/// `'unknown'`: drop it.
#[napi(ts_return_type = "'stun' | 'zrtp' | 'dtls' | 'turn-channel' | 'rtp-rtcp' | 'unknown'")]
pub fn packet_kind(datagram: &[u8]) -> &'static str {
    match classify(datagram) {
        PacketKind::Stun => "stun",
        PacketKind::Zrtp => "zrtp",
        PacketKind::Dtls => "dtls",
        PacketKind::TurnChannel => "turn-channel",
        PacketKind::RtpRtcp => "rtp-rtcp",
        _ => "unknown",
    }
}

/// Answerer: our role for an offer whose `a=setup` is `offerSetup` (`'actpass'`, `'active'`,
/// `'passive'`, with or without `a=setup:`). An `actpass` offer makes us the client (RFC 8842
/// §5.3). Put `setupForRole(role)` in the answer.
#[napi(ts_return_type = "'client' | 'server'")]
pub fn role_for_remote_setup(offer_setup: String) -> Result<&'static str> {
    let setup = Setup::parse(&offer_setup).map_err(engine)?;
    sdp::role_for_remote_setup(setup)
        .map(role_name)
        .map_err(engine)
}

/// Offerer (our offer said `actpass`): our role once the answer's `a=setup` is known:
/// `'active'` makes us the server, `'passive'` the client.
#[napi(ts_return_type = "'client' | 'server'")]
pub fn role_for_answer(answer_setup: String) -> Result<&'static str> {
    let setup = Setup::parse(&answer_setup).map_err(engine)?;
    sdp::role_for_answer(setup).map(role_name).map_err(engine)
}

/// The `a=setup` value announcing `role` in an answer: `'active'` for `'client'`,
/// `'passive'` for `'server'`.
#[napi(ts_return_type = "'active' | 'passive'")]
pub fn setup_for_role(
    #[napi(ts_arg_type = "'client' | 'server'")] role: String,
) -> Result<&'static str> {
    let role = match role.to_ascii_lowercase().as_str() {
        "client" => Role::Client,
        "server" => Role::Server,
        _ => {
            return Err(invalid(format!(
                "role must be 'client' or 'server', got {role:?}"
            )))
        }
    };
    Ok(role.setup().as_str())
}

/// An SDP fingerprint taken apart.
#[napi(object)]
pub struct SdpFingerprint {
    /// `'sha-1'`, `'sha-256'`, `'sha-384'` or `'sha-512'`.
    pub algorithm: String,
    /// The digest.
    pub digest: Buffer,
}

/// Parses an SDP fingerprint (`'sha-256 AB:CD:...'`, with or without `a=fingerprint:`).
/// Throws `DTLS_ERR_CERTIFICATE`-family errors on a malformed value.
#[napi]
pub fn parse_sdp_fingerprint(value: String) -> Result<SdpFingerprint> {
    let fp = Fingerprint::parse_sdp(&value)
        .map_err(Error::from)
        .map_err(engine)?;
    let sdp = fp.to_sdp();
    let algorithm = sdp.split_once(' ').map(|(n, _)| n).unwrap_or_default();
    Ok(SdpFingerprint {
        algorithm: algorithm.to_owned(),
        digest: Buffer::from(fp.bytes.clone()),
    })
}

/// The SDP form (`'sha-256 AB:CD:...'`) of a digest made with `algorithm`.
#[napi]
pub fn format_sdp_fingerprint(
    #[napi(ts_arg_type = "'sha-1' | 'sha-256' | 'sha-384' | 'sha-512'")] algorithm: String,
    digest: &[u8],
) -> Result<String> {
    let alg = hash_alg(Some(&algorithm))?;
    if digest.len() != alg.output_len() {
        return Err(invalid(format!(
            "a {algorithm} digest has {} bytes, got {}",
            alg.output_len(),
            digest.len()
        )));
    }
    Ok(Fingerprint {
        alg,
        bytes: digest.to_vec(),
    }
    .to_sdp())
}

/// True when the DER certificate `der` has the SDP fingerprint `fingerprint` (compared in
/// constant time).
#[napi]
pub fn fingerprint_matches(fingerprint: String, der: &[u8]) -> Result<bool> {
    let fp = Fingerprint::parse_sdp(&fingerprint)
        .map_err(Error::from)
        .map_err(engine)?;
    Ok(fp.matches(der))
}

/// One DTLS-SRTP protection profile (RFC 5764 §4.1.2), from the engine's table.
#[napi(object)]
pub struct SrtpProfile {
    /// IANA id, as carried in use_srtp.
    pub id: u32,
    /// IANA name, e.g. `'SRTP_AES128_CM_HMAC_SHA1_80'`.
    pub name: String,
    /// OpenSSL's name, e.g. `'SRTP_AES128_CM_SHA1_80'`.
    pub openssl_name: String,
    /// Master key bytes per direction.
    pub key_len: u32,
    /// Master salt bytes per direction.
    pub salt_len: u32,
}

fn profile_object(p: &dtls_proto::srtp::SrtpProfile) -> SrtpProfile {
    SrtpProfile {
        id: u32::from(p.id),
        name: p.name.to_owned(),
        openssl_name: p.openssl_name.to_owned(),
        key_len: u32::try_from(p.key_len).unwrap_or(u32::MAX),
        salt_len: u32::try_from(p.salt_len).unwrap_or(u32::MAX),
    }
}

/// Every SRTP profile the engine knows, strongest first (its default preference).
#[napi]
pub fn srtp_profiles() -> Vec<SrtpProfile> {
    dtls_proto::srtp::PROFILES
        .iter()
        .map(profile_object)
        .collect()
}

/// The profile with IANA id `profile` (a number) or with that IANA or OpenSSL name (a
/// string), or `null` when the engine does not know it.
#[napi]
pub fn srtp_profile(profile: Either<f64, String>) -> Option<SrtpProfile> {
    let id = match profile {
        Either::A(n) if n.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(&n) => n as u16,
        Either::A(_) => return None,
        Either::B(name) => match dtls_proto::srtp::parse_profiles(&name).as_deref() {
            Ok([id]) => *id,
            _ => return None,
        },
    };
    dtls_proto::srtp::profile(id).map(profile_object)
}
