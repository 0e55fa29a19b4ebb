//! What both versions negotiate the same way: ALPN (RFC 7301) and use_srtp (RFC 5764). DTLS
//! 1.2 carries the answers in ServerHello, DTLS 1.3 in EncryptedExtensions; the rules are one.

use crate::config::Config;
use crate::error::Error;
use crate::msgs::codec::Codec;
use crate::msgs::enums::{AlertDescription, ExtensionType};
use crate::msgs::extensions::{self as ext, Extensions, UseSrtp};

/// A server's ALPN choice: our first protocol the client offers; none in common is fatal
/// (RFC 7301 §3.2, no_application_protocol).
pub(crate) fn server_alpn(cfg: &Config, e: &Extensions) -> Result<Option<Vec<u8>>, Error> {
    match (e.get(ExtensionType::Alpn), cfg.alpn.is_empty()) {
        (Some(d), false) => {
            let theirs = ext::read_alpn(d).ok_or(Error::decode("bad ALPN"))?;
            let pick = cfg
                .alpn
                .iter()
                .find(|p| theirs.contains(p))
                .ok_or(Error::misbehaved(
                    AlertDescription::NoApplicationProtocol,
                    "no ALPN protocol in common",
                ))?;
            Ok(Some(pick.clone()))
        }
        _ => Ok(None),
    }
}

/// A server's SRTP profile: ours first (RFC 5764 §4.1.1); none in common means no use_srtp,
/// and the handshake goes on. The client's MKI is echoed, or declined with an empty one
/// (§4.1.3).
pub(crate) fn server_srtp(cfg: &Config, e: &Extensions) -> Result<Option<(u16, Vec<u8>)>, Error> {
    Ok(match e.get(ExtensionType::UseSrtp) {
        Some(d) if !cfg.srtp_profiles.is_empty() => {
            let theirs = UseSrtp::from_bytes(d).ok_or(Error::decode("bad use_srtp"))?;
            cfg.srtp_profiles
                .iter()
                .find(|p| theirs.profiles.contains(p))
                .map(|p| {
                    let mki = if cfg.srtp_accept_mki {
                        theirs.mki.clone()
                    } else {
                        Vec::new()
                    };
                    (*p, mki)
                })
        }
        _ => None,
    })
}

/// The server's ALPN answer, checked: one protocol, one we offered.
pub(crate) fn client_alpn(cfg: &Config, e: &Extensions) -> Result<Option<Vec<u8>>, Error> {
    match e.get(ExtensionType::Alpn) {
        None => Ok(None),
        Some(d) => {
            let list = ext::read_alpn(d).ok_or(Error::decode("bad ALPN"))?;
            if list.len() != 1 || !cfg.alpn.contains(&list[0]) {
                return Err(Error::illegal(
                    "server chose an ALPN protocol we did not offer",
                ));
            }
            Ok(list.into_iter().next())
        }
    }
}

/// The server's use_srtp answer, checked (RFC 5764 §4.1.1): exactly one profile, one we
/// offered; the MKI echoed or empty (§4.1.3: the server declines MKIs, as OpenSSL always
/// answers); only a different non-empty MKI is an error.
pub(crate) fn client_srtp(cfg: &Config, e: &Extensions) -> Result<Option<(u16, Vec<u8>)>, Error> {
    match e.get(ExtensionType::UseSrtp) {
        None => Ok(None),
        Some(d) => {
            let s = UseSrtp::from_bytes(d).ok_or(Error::decode("bad use_srtp"))?;
            if s.profiles.len() != 1 || !cfg.srtp_profiles.contains(&s.profiles[0]) {
                return Err(Error::illegal(
                    "server chose an SRTP profile we did not offer",
                ));
            }
            if !s.mki.is_empty() && s.mki != cfg.srtp_mki {
                return Err(Error::illegal("server changed the SRTP MKI"));
            }
            Ok(Some((s.profiles[0], s.mki)))
        }
    }
}
