//! `ServerFrontDoor`: the engine's stateless cookie check for many peers on one socket.

use crate::config::Config;
use crate::error::{millis, Result};
use dtls_proto::{ServerFrontDoor as Door, Verdict};
use napi::bindgen_prelude::{Buffer, Either, Uint8Array};
use napi_derive::napi;

/// What to do with a datagram from an address that has no connection yet.
#[napi(discriminant = "verdict", discriminant_case = "camelCase")]
pub enum PrefilterVerdict {
    /// A ClientHello with a valid cookie (or cookies are off): create a server `Connection`
    /// with this `peerAddress` and feed it the datagram.
    Accept,
    /// Send `reply` (a HelloVerifyRequest) back to the peer; keep no state.
    Reply {
        /// The datagram to send back.
        reply: Buffer,
    },
    /// Not a usable ClientHello: ignore it.
    Drop,
}

/// The stateless front door (RFC 6347 §4.2.1 cookies): nothing is allocated for a peer until
/// it proves it can receive at its address.
#[napi]
pub struct ServerFrontDoor {
    inner: Door,
    /// A HelloVerifyRequest is a record header, a handshake header and a 17-byte cookie:
    /// well under 256 bytes. Reused so a flood of ClientHellos allocates only the reply.
    scratch: Vec<u8>,
}

#[napi]
impl ServerFrontDoor {
    /// Uses the config's cookie secret and lifetime.
    #[napi(constructor)]
    pub fn new(config: &Config) -> ServerFrontDoor {
        ServerFrontDoor {
            inner: Door::new(config.inner.clone()),
            scratch: vec![0; 256],
        }
    }

    /// Classifies a datagram from `peerAddress` (the same encoding later given to the
    /// `Connection`, e.g. `"ip:port"`).
    #[napi]
    pub fn prefilter(
        &mut self,
        now: f64,
        peer_address: Either<String, Uint8Array>,
        datagram: &[u8],
    ) -> Result<PrefilterVerdict> {
        let now = millis(now)?;
        let peer: &[u8] = match &peer_address {
            Either::A(s) => s.as_bytes(),
            Either::B(b) => b,
        };
        Ok(
            match self.inner.prefilter(now, peer, datagram, &mut self.scratch) {
                Verdict::Accept => PrefilterVerdict::Accept,
                Verdict::Reply(n) => PrefilterVerdict::Reply {
                    reply: Buffer::from(self.scratch[..n].to_vec()),
                },
                Verdict::Drop => PrefilterVerdict::Drop,
            },
        )
    }
}
