//! `dtls_event`: plain data, copied out by `dtls_poll_event`.

use dtls_proto::{Error, Event};

/// The handshake completed; `version`, `cipher_suite` and `srtp_profile` say what was agreed.
pub const DTLS_EVENT_CONNECTED: u32 = 1;
/// The peer's certificate chain was received and verified (see `dtls_ctx_peer_certificate`).
pub const DTLS_EVENT_PEER_CERTIFICATE: u32 = 2;
/// The peer closed the association with close_notify. The library has already queued its own
/// close_notify in answer (send what `dtls_poll_output` gives); calling `dtls_close` as well is
/// harmless.
pub const DTLS_EVENT_CLOSE_NOTIFY: u32 = 3;
/// The association failed: `result` says why and `alert` is the alert sent or received (0
/// when none). The same code was returned by the call that failed.
pub const DTLS_EVENT_FAILED: u32 = 4;

/// Protocol version number of DTLS 1.2 on the wire.
pub const DTLS_PROTOCOL_VERSION_1_2: u16 = 0xFEFD;
/// Protocol version number of DTLS 1.3 on the wire.
pub const DTLS_PROTOCOL_VERSION_1_3: u16 = 0xFEFC;

/// One event, plain data (24 bytes). Fields that do not apply to `kind` are zero; `reserved`
/// is zero and keeps room for later fields without an ABI break.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct dtls_event {
    /// `DTLS_EVENT_CONNECTED`, `DTLS_EVENT_PEER_CERTIFICATE`, `DTLS_EVENT_CLOSE_NOTIFY` or
    /// `DTLS_EVENT_FAILED`.
    pub kind: u32,
    /// Why, for `DTLS_EVENT_FAILED` (a `dtls_result`).
    pub result: u32,
    /// 0xFEFD = DTLS 1.2, 0xFEFC = DTLS 1.3 (for `DTLS_EVENT_CONNECTED`).
    pub version: u16,
    /// IANA cipher suite id (for `DTLS_EVENT_CONNECTED`).
    pub cipher_suite: u16,
    /// IANA SRTP protection profile id, 0 when none (for `DTLS_EVENT_CONNECTED`).
    pub srtp_profile: u16,
    /// The TLS alert description sent or received, for `DTLS_EVENT_FAILED` (0 when none).
    pub alert: u8,
    /// Zero.
    pub reserved: [u8; 9],
}

/// The alert behind a failure: the one received, the unauthenticated one seen before a
/// timeout, or the one we sent.
fn failure_alert(e: &Error) -> u8 {
    match e {
        Error::AlertReceived(a) => a.get(),
        Error::HandshakeTimeout {
            likely_reason: Some(a),
        } => a.get(),
        e => e.alert().map_or(0, |a| a.get()),
    }
}

/// The C form of an engine event; `None` for kinds this ABI version does not know (skipped).
pub(crate) fn to_c(ev: Event) -> Option<dtls_event> {
    let mut out = dtls_event::default();
    match ev {
        Event::PeerCertificate => out.kind = DTLS_EVENT_PEER_CERTIFICATE,
        Event::Connected(n) => {
            out.kind = DTLS_EVENT_CONNECTED;
            out.version = n.version.get();
            out.cipher_suite = n.cipher_suite.get();
            out.srtp_profile = n.srtp_profile.unwrap_or(0);
        }
        Event::CloseNotify => out.kind = DTLS_EVENT_CLOSE_NOTIFY,
        Event::Failed(e) => {
            out.kind = DTLS_EVENT_FAILED;
            out.result = e.code();
            out.alert = failure_alert(&e);
        }
        _ => return None,
    }
    Some(out)
}
