//! DTLS 1.2 (RFC 6347): the client and server handshake state machines and key schedule.

pub mod client;
pub mod keys;
pub(crate) mod machine;
pub mod server;

use crate::common::Common;
use crate::handshake::flight::FlightItem;
use crate::types::Epoch;
use keys::Keys12;

use crate::crypto::sign::SUPPORTED_VERIFY_SCHEMES;
use crate::error::Error;
use crate::handshake::reassembly::Message;
use crate::msgs::enums::{AlertDescription, HandshakeType};
use crate::msgs::handshake::{DecodeError, EcdheParams};
use crate::suites::AuthKind;

/// Signature schemes we offer and accept, as IANA codes.
pub(crate) fn offered_schemes() -> Vec<u16> {
    SUPPORTED_VERIFY_SCHEMES.iter().map(|s| s.iana()).collect()
}

/// Whether a scheme fits the suite's authentication algorithm.
pub(crate) fn scheme_fits(scheme: u16, auth: AuthKind) -> bool {
    let hi = scheme >> 8;
    let lo = scheme & 0xff;
    match auth {
        AuthKind::Ecdsa => lo == 3 && (4..=6).contains(&hi),
        AuthKind::Rsa => (lo == 1 && (4..=6).contains(&hi)) || (hi == 8 && (4..=6).contains(&lo)),
    }
}

/// The bytes a ServerKeyExchange signature covers (RFC 8422 §5.4).
pub(crate) fn ske_signed_content(cr: &[u8; 32], sr: &[u8; 32], params: &EcdheParams) -> Vec<u8> {
    let mut v = Vec::with_capacity(64 + 4 + params.public.len());
    v.extend_from_slice(cr);
    v.extend_from_slice(sr);
    params.encode(&mut v);
    v
}

pub(crate) fn decode_err(e: DecodeError) -> Error {
    match e {
        DecodeError::Malformed => Error::decode("malformed handshake message"),
        DecodeError::DuplicateExtension => {
            Error::misbehaved(AlertDescription::IllegalParameter, "duplicate extension")
        }
    }
}

/// Fails unless `msg` is of type `t` and arrived in `epoch`.
pub(crate) fn expect(msg: &Message, t: HandshakeType, epoch: u16) -> Result<(), Error> {
    if HandshakeType::from(msg.msg_type) != t {
        return Err(Error::unexpected("handshake message out of order"));
    }
    if msg.epoch != epoch {
        return Err(Error::unexpected("handshake message in the wrong epoch"));
    }
    Ok(())
}

/// Checks the peer's Finished (RFC 5246 §7.4.9): epoch 1, and verify_data over everything
/// before it, compared in constant time.
pub(crate) fn check_peer_finished(
    core: &mut Common,
    keys: &Keys12,
    msg: &Message,
    from_client: bool,
) -> Result<(), Error> {
    expect(msg, HandshakeType::Finished, 1)?;
    let hash = core.transcript_hash(keys.prf_hash());
    let expected = keys.verify_data(from_client, &hash);
    if !crate::crypto::hash::ct_eq(&expected, &msg.body) {
        return Err(Error::BadFinished);
    }
    Ok(())
}

/// Queues our ChangeCipherSpec in `epoch`: from here on the peer reads us in the next one,
/// and alerts follow it there.
pub(crate) fn send_ccs(core: &mut Common, epoch: Epoch) {
    core.flight.push(FlightItem::ChangeCipherSpec { epoch });
    core.records.alert_epoch = epoch + 1;
}
