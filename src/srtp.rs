//! DTLS-SRTP (RFC 5764): protection profiles and the keying material layout of §4.2.

use crate::error::Error;
use zeroize::Zeroizing;

/// One SRTP protection profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrtpProfile {
    /// IANA id, as carried in use_srtp.
    pub id: u16,
    /// IANA name, e.g. `SRTP_AES128_CM_HMAC_SHA1_80`.
    pub name: &'static str,
    /// The name OpenSSL's `SSL_CTX_set_tlsext_use_srtp` takes, e.g. `SRTP_AES128_CM_SHA1_80`.
    pub openssl_name: &'static str,
    /// Master key bytes per direction.
    pub key_len: usize,
    /// Master salt bytes per direction.
    pub salt_len: usize,
}

/// Every profile we know, strongest-first as a default preference.
///
/// The NULL profiles list a zero-length cipher key in RFC 5764 §4.1.2, but libsrtp and
/// OpenSSL-based stacks still derive a 128-bit master key and 112-bit salt for them (the
/// authentication keys come from it), so that is what we export.
pub const PROFILES: &[SrtpProfile] = &[
    SrtpProfile {
        id: 0x0008,
        name: "SRTP_AEAD_AES_256_GCM",
        openssl_name: "SRTP_AEAD_AES_256_GCM",
        key_len: 32,
        salt_len: 12,
    },
    SrtpProfile {
        id: 0x0007,
        name: "SRTP_AEAD_AES_128_GCM",
        openssl_name: "SRTP_AEAD_AES_128_GCM",
        key_len: 16,
        salt_len: 12,
    },
    SrtpProfile {
        id: 0x0001,
        name: "SRTP_AES128_CM_HMAC_SHA1_80",
        openssl_name: "SRTP_AES128_CM_SHA1_80",
        key_len: 16,
        salt_len: 14,
    },
    SrtpProfile {
        id: 0x0002,
        name: "SRTP_AES128_CM_HMAC_SHA1_32",
        openssl_name: "SRTP_AES128_CM_SHA1_32",
        key_len: 16,
        salt_len: 14,
    },
    SrtpProfile {
        id: 0x0005,
        name: "SRTP_NULL_HMAC_SHA1_80",
        openssl_name: "SRTP_NULL_SHA1_80",
        key_len: 16,
        salt_len: 14,
    },
    SrtpProfile {
        id: 0x0006,
        name: "SRTP_NULL_HMAC_SHA1_32",
        openssl_name: "SRTP_NULL_SHA1_32",
        key_len: 16,
        salt_len: 14,
    },
];

/// Looks a profile up by IANA id.
pub fn profile(id: u16) -> Option<&'static SrtpProfile> {
    PROFILES.iter().find(|p| p.id == id)
}

/// Parses a colon-separated profile list in OpenSSL's or IANA's spelling (the string a VoIP
/// stack passes to `SSL_CTX_set_tlsext_use_srtp`).
///
/// ```
/// let ids = dtls_proto::srtp::parse_profiles("SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM").unwrap();
/// assert_eq!(ids, [1, 7]);
/// ```
pub fn parse_profiles(list: &str) -> Result<Vec<u16>, Error> {
    list.split(':')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            PROFILES
                .iter()
                .find(|p| p.openssl_name.eq_ignore_ascii_case(s) || p.name.eq_ignore_ascii_case(s))
                .map(|p| p.id)
                .ok_or(Error::InvalidArgument("unknown SRTP profile name"))
        })
        .collect()
}

/// The exporter label for DTLS-SRTP (RFC 5764 §4.2).
pub const EXPORTER_LABEL: &[u8] = b"EXTRACTOR-dtls_srtp";

/// SRTP master keys and salts for both directions (RFC 5764 §4.2).
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeyingMaterial {
    /// IANA id of the negotiated SRTP protection profile (RFC 5764 §4.1.2).
    pub profile: u16,
    /// The MKI negotiated in use_srtp (often empty).
    pub mki: Vec<u8>,
    /// client key || server key || client salt || server salt, as exported.
    pub material: Zeroizing<Vec<u8>>,
    key_len: usize,
    salt_len: usize,
}

impl std::fmt::Debug for SrtpKeyingMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpKeyingMaterial")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl SrtpKeyingMaterial {
    /// Splits exported material for `profile`; `material` must be `2 * (key + salt)` long.
    pub(crate) fn new(p: &SrtpProfile, mki: Vec<u8>, material: Zeroizing<Vec<u8>>) -> Self {
        SrtpKeyingMaterial {
            profile: p.id,
            mki,
            material,
            key_len: p.key_len,
            salt_len: p.salt_len,
        }
    }

    /// The client's write master key.
    pub fn client_key(&self) -> &[u8] {
        &self.material[..self.key_len]
    }

    /// The server's write master key.
    pub fn server_key(&self) -> &[u8] {
        &self.material[self.key_len..2 * self.key_len]
    }

    /// The client's write master salt.
    pub fn client_salt(&self) -> &[u8] {
        let s = 2 * self.key_len;
        &self.material[s..s + self.salt_len]
    }

    /// The server's write master salt.
    pub fn server_salt(&self) -> &[u8] {
        let s = 2 * self.key_len + self.salt_len;
        &self.material[s..s + self.salt_len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lengths() {
        assert_eq!(parse_profiles("SRTP_AES128_CM_HMAC_SHA1_80").unwrap(), [1]);
        assert!(parse_profiles("SRTP_BOGUS").is_err());
        let p = profile(7).unwrap();
        let m = SrtpKeyingMaterial::new(p, vec![], Zeroizing::new((0..56).collect()));
        assert_eq!(m.client_key(), &(0..16).collect::<Vec<u8>>()[..]);
        assert_eq!(m.server_salt(), &(44..56).collect::<Vec<u8>>()[..]);
        assert_eq!(2 * (profile(8).unwrap().key_len + 12), 88);
    }
}
