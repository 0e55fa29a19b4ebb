//! The SDP side of DTLS-SRTP: which end is the DTLS client, from `a=setup` (RFC 4145, RFC 5763
//! §5, updated by RFC 8842 §5).
//!
//! Fingerprints in and out are [`crate::Fingerprint::parse_sdp`] and
//! [`crate::Fingerprint::to_sdp`]. A media server keeps one [`crate::Config`] and picks the role
//! per association with [`role_for_remote_setup`] when it answers, or [`role_for_answer`] when
//! its offer is answered.

use crate::error::Error;
use crate::types::Role;

/// An `a=setup` attribute value (RFC 4145 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// This end initiates: the DTLS client.
    Active,
    /// This end waits: the DTLS server.
    Passive,
    /// Either (what an offer carries).
    ActPass,
    /// Neither, for now.
    HoldConn,
}

impl Setup {
    /// Parses `active`, `passive`, `actpass` or `holdconn`, with or without a leading
    /// `a=setup:`, case-insensitively.
    pub fn parse(s: &str) -> Result<Setup, Error> {
        let s = s.trim().to_ascii_lowercase();
        Ok(match s.strip_prefix("a=setup:").unwrap_or(&s) {
            "active" => Setup::Active,
            "passive" => Setup::Passive,
            "actpass" => Setup::ActPass,
            "holdconn" => Setup::HoldConn,
            _ => {
                return Err(Error::InvalidArgument(
                    "a=setup must be active, passive, actpass or holdconn",
                ))
            }
        })
    }

    /// The attribute value, as written in SDP.
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }
}

impl Role {
    /// The `a=setup` value that announces this role in an answer.
    pub fn setup(self) -> Setup {
        match self {
            Role::Client => Setup::Active,
            Role::Server => Setup::Passive,
        }
    }
}

/// Our role when we answer an offer whose `a=setup` is `offer`. An `actpass` offer makes us
/// the DTLS client: RFC 8842 §5.3 says the answerer MUST then answer `active`. Put
/// `role.setup()` in the answer.
///
/// ```
/// use dtls_proto::{Role, sdp::{role_for_remote_setup, Setup}};
/// assert_eq!(role_for_remote_setup(Setup::parse("a=setup:actpass").unwrap()).unwrap(), Role::Client);
/// assert_eq!(role_for_remote_setup(Setup::Active).unwrap(), Role::Server);
/// ```
pub fn role_for_remote_setup(offer: Setup) -> Result<Role, Error> {
    match offer {
        Setup::ActPass | Setup::Passive => Ok(Role::Client),
        Setup::Active => Ok(Role::Server),
        Setup::HoldConn => Err(Error::InvalidArgument(
            "a=setup:holdconn: no DTLS association yet",
        )),
    }
}

/// Our role when our offer (which said `actpass`) is answered with `answer`. An answer must
/// pick a side (RFC 5763 §5), so `actpass` and `holdconn` are refused.
pub fn role_for_answer(answer: Setup) -> Result<Role, Error> {
    match answer {
        Setup::Active => Ok(Role::Server),
        Setup::Passive => Ok(Role::Client),
        Setup::ActPass | Setup::HoldConn => Err(Error::InvalidArgument(
            "an answer's a=setup must be active or passive",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_answer_roles_are_complementary() {
        // Whatever the answerer picks, the offerer ends up with the other role.
        for offer in [Setup::ActPass, Setup::Active, Setup::Passive] {
            let answerer = role_for_remote_setup(offer).unwrap();
            let offerer = role_for_answer(answerer.setup()).unwrap();
            assert_ne!(answerer, offerer, "offer {offer:?}");
            if offer != Setup::ActPass {
                // A non-actpass offer fixes the offerer's own role.
                assert_eq!(offerer.setup(), offer);
            }
        }
    }

    #[test]
    fn parsing_and_refusals() {
        assert_eq!(Setup::parse(" A=SETUP:ACTPASS ").unwrap(), Setup::ActPass);
        assert_eq!(Setup::parse("a=setup:ACTPASS").unwrap(), Setup::ActPass);
        assert_eq!(Setup::parse("Passive").unwrap(), Setup::Passive);
        assert!(Setup::parse("sometimes").is_err());
        assert!(role_for_remote_setup(Setup::HoldConn).is_err());
        assert!(role_for_answer(Setup::ActPass).is_err());
        for s in [
            Setup::Active,
            Setup::Passive,
            Setup::ActPass,
            Setup::HoldConn,
        ] {
            assert_eq!(Setup::parse(s.as_str()).unwrap(), s);
        }
    }
}
