//! The one table of names every front end uses: cipher suites, groups and protocol versions
//! (SRTP profiles are in [`crate::srtp`], error names in [`crate::Error::code_name`]), and the
//! version policy. The C, Python and Node layers and the CLIs call these instead of keeping
//! copies, so a name accepted in one language is accepted in all.
//!
//! ```
//! use dtls_proto::names;
//! use dtls_proto::{CipherSuite, NamedGroup, ProtocolVersion};
//! assert_eq!(names::suite_from_name("ECDHE-ECDSA-AES128-GCM-SHA256"),
//!            Some(CipherSuite::EcdheEcdsaAes128GcmSha256));
//! assert_eq!(names::suite_name(CipherSuite::Tls13Aes128GcmSha256), Some("TLS_AES_128_GCM_SHA256"));
//! assert_eq!(names::group_from_name("X25519MLKEM768"), Some(NamedGroup::X25519MlKem768));
//! assert_eq!(names::version_from_name("DTLSv1.3"), Some(ProtocolVersion::Dtls13));
//! assert_eq!(names::versions_from_mask(names::VERSION_BIT_12 | names::VERSION_BIT_13).unwrap(),
//!            vec![ProtocolVersion::Dtls12, ProtocolVersion::Dtls13]);
//! ```

use crate::error::Error;
use crate::msgs::enums::{CipherSuite, NamedGroup, ProtocolVersion};

/// (suite, IANA name, OpenSSL name) of every suite the engine implements. DTLS 1.3 suites
/// carry their IANA name for both (OpenSSL's `-ciphersuites` spells them so).
pub const SUITES: &[(CipherSuite, &str, &str)] = &[
    (
        CipherSuite::EcdheEcdsaAes128GcmSha256,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
    ),
    (
        CipherSuite::EcdheEcdsaAes256GcmSha384,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
    ),
    (
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ),
    (
        CipherSuite::EcdheRsaAes128GcmSha256,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
    ),
    (
        CipherSuite::EcdheRsaAes256GcmSha384,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
    ),
    (
        CipherSuite::EcdheRsaChacha20Poly1305Sha256,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ),
    (
        CipherSuite::Tls13Aes128GcmSha256,
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_128_GCM_SHA256",
    ),
    (
        CipherSuite::Tls13Aes256GcmSha384,
        "TLS_AES_256_GCM_SHA384",
        "TLS_AES_256_GCM_SHA384",
    ),
    (
        CipherSuite::Tls13Chacha20Poly1305Sha256,
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_CHACHA20_POLY1305_SHA256",
    ),
];

/// (group, names accepted; the first is the one we report).
pub const GROUPS: &[(NamedGroup, &[&str])] = &[
    (NamedGroup::X25519, &["x25519"]),
    (
        NamedGroup::Secp256r1,
        &["secp256r1", "p-256", "p256", "prime256v1"],
    ),
    (NamedGroup::Secp384r1, &["secp384r1", "p-384", "p384"]),
    (
        NamedGroup::X25519MlKem768,
        &["X25519MLKEM768", "x25519mlkem768"],
    ),
];

/// A suite from its IANA or OpenSSL name (case-insensitive).
pub fn suite_from_name(name: &str) -> Option<CipherSuite> {
    SUITES
        .iter()
        .find(|(_, iana, ossl)| iana.eq_ignore_ascii_case(name) || ossl.eq_ignore_ascii_case(name))
        .map(|(s, _, _)| *s)
}

/// A suite's IANA name, for suites we implement.
pub fn suite_name(s: CipherSuite) -> Option<&'static str> {
    SUITES
        .iter()
        .find(|(id, _, _)| *id == s)
        .map(|(_, n, _)| *n)
}

/// A suite's OpenSSL name, for suites we implement.
pub fn suite_openssl_name(s: CipherSuite) -> Option<&'static str> {
    SUITES
        .iter()
        .find(|(id, _, _)| *id == s)
        .map(|(_, _, n)| *n)
}

/// A group from one of its names (case-insensitive).
pub fn group_from_name(name: &str) -> Option<NamedGroup> {
    GROUPS
        .iter()
        .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
        .map(|(g, _)| *g)
}

/// A group's name (`x25519`, `secp256r1`, `secp384r1`, `X25519MLKEM768`).
pub fn group_name(g: NamedGroup) -> Option<&'static str> {
    GROUPS.iter().find(|(id, _)| *id == g).map(|(_, n)| n[0])
}

/// `DTLSv1.2` / `DTLSv1.3`, as OpenSSL prints them.
pub fn version_name(v: ProtocolVersion) -> Option<&'static str> {
    match v {
        ProtocolVersion::Dtls10 => Some("DTLSv1"),
        ProtocolVersion::Dtls12 => Some("DTLSv1.2"),
        ProtocolVersion::Dtls13 => Some("DTLSv1.3"),
        _ => None,
    }
}

/// A version we implement from `"1.2"`, `"dtls1.2"`, `"DTLSv1.3"` (any case).
pub fn version_from_name(name: &str) -> Option<ProtocolVersion> {
    let lower = name.trim().to_ascii_lowercase();
    let bare = lower.trim_start_matches("dtls").trim_start_matches('v');
    match bare {
        "1.2" => Some(ProtocolVersion::Dtls12),
        "1.3" => Some(ProtocolVersion::Dtls13),
        _ => None,
    }
}

/// The bit of DTLS 1.2 in a version mask (C `DTLS_V1_2`).
pub const VERSION_BIT_12: u32 = 1;
/// The bit of DTLS 1.3 in a version mask (C `DTLS_V1_3`).
pub const VERSION_BIT_13: u32 = 2;

/// The version policy every front end goes through: a mask of [`VERSION_BIT_12`] and
/// [`VERSION_BIT_13`] to the versions enabled. Empty or unknown bits are refused.
pub fn versions_from_mask(mask: u32) -> Result<Vec<ProtocolVersion>, Error> {
    if mask == 0 || mask & !(VERSION_BIT_12 | VERSION_BIT_13) != 0 {
        return Err(Error::InvalidArgument(
            "versions: a non-empty mask of DTLS 1.2 and DTLS 1.3",
        ));
    }
    let mut v = Vec::new();
    if mask & VERSION_BIT_12 != 0 {
        v.push(ProtocolVersion::Dtls12);
    }
    if mask & VERSION_BIT_13 != 0 {
        v.push(ProtocolVersion::Dtls13);
    }
    Ok(v)
}

/// The versions named (`["1.2", "1.3"]`), through the same policy as [`versions_from_mask`].
pub fn versions_from_names<S: AsRef<str>>(names: &[S]) -> Result<Vec<ProtocolVersion>, Error> {
    let mut mask = 0;
    for n in names {
        mask |= match version_from_name(n.as_ref()) {
            Some(ProtocolVersion::Dtls12) => VERSION_BIT_12,
            Some(_) => VERSION_BIT_13,
            None => {
                return Err(Error::InvalidArgument(
                    "unknown DTLS version (use \"1.2\" or \"1.3\")",
                ))
            }
        };
    }
    versions_from_mask(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implemented_suite_and_group_has_a_name() {
        for s in crate::config::DEFAULT_CIPHER_SUITES
            .iter()
            .chain(crate::dtls13::DEFAULT_SUITES13)
        {
            let n = suite_name(*s).unwrap();
            assert_eq!(suite_from_name(n), Some(*s));
            assert_eq!(suite_from_name(suite_openssl_name(*s).unwrap()), Some(*s));
        }
        for g in crate::config::DEFAULT_GROUPS {
            assert_eq!(group_from_name(group_name(*g).unwrap()), Some(*g));
        }
        assert!(versions_from_mask(0).is_err());
        assert!(versions_from_mask(4).is_err());
        assert!(versions_from_names(&["1.4"]).is_err());
        assert_eq!(
            versions_from_names(&["dtls1.3"]).unwrap(),
            vec![ProtocolVersion::Dtls13]
        );
    }
}
