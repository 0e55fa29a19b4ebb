//! Events the engine reports to the application, in order, through `poll_event`.

use crate::error::Error;
use crate::msgs::enums::{CipherSuite, NamedGroup, ProtocolVersion};

/// What the handshake settled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The protocol version.
    pub version: ProtocolVersion,
    /// The cipher suite.
    pub cipher_suite: CipherSuite,
    /// The group of the ephemeral key exchange.
    pub group: NamedGroup,
    /// Signature scheme the peer used to authenticate (IANA code).
    pub peer_signature_scheme: Option<u16>,
    /// Whether the master secret is bound to the handshake transcript (RFC 7627).
    pub extended_master_secret: bool,
    /// IANA id of the SRTP protection profile, when use_srtp was negotiated.
    pub srtp_profile: Option<u16>,
    /// MKI the server echoed in use_srtp.
    pub srtp_mki: Vec<u8>,
    /// The application protocol selected by ALPN (RFC 7301), if any.
    pub alpn: Option<Vec<u8>>,
}

/// An event for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The peer's certificate chain was received and verified (see `peer_certificates`).
    PeerCertificate,
    /// The handshake completed; application data may flow.
    Connected(Negotiated),
    /// The peer closed the association with close_notify.
    CloseNotify,
    /// The association failed; the same error was returned by the call that failed.
    Failed(Error),
}
