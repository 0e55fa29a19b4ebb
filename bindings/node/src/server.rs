//! `ServerFrontDoor`: the engine's stateless cookie check for many peers on one socket.

use crate::config::Config;
use crate::error::{millis, Result};
use dtls_proto::{Admission as DoorAdmission, ServerFrontDoor as Door, Verdict};
use napi::bindgen_prelude::{Buffer, Either, Uint8Array};
use napi_derive::napi;

/// The ClientHello pool's state.
#[napi(object)]
pub struct PoolStats {
    /// Bytes charged now.
    pub bytes: u32,
    /// Partial ClientHellos held.
    pub entries: u32,
}

/// What `prefilter` says to do with a datagram from an address that has no connection yet.
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

/// What `ServerFrontDoor.admit` says to do with a datagram from an address that has no
/// connection yet.
#[napi(discriminant = "verdict", discriminant_case = "camelCase")]
pub enum Admission {
    /// A ClientHello with a valid cookie (or cookies are off): create a server `Connection`
    /// with this `peerAddress` and feed it `datagram` (the received datagram, or one holding
    /// the ClientHello the door reassembled from this and earlier datagrams).
    Accept {
        /// What to feed the new `Connection`.
        datagram: Buffer,
    },
    /// Send `reply` (a HelloRetryRequest, or a HelloVerifyRequest for a DTLS 1.2
    /// ClientHello) back to the peer; keep no state.
    Reply {
        /// The datagram to send back.
        reply: Buffer,
    },
    /// Part of a ClientHello, held in the door's pool until the rest arrives: nothing to do.
    Held,
    /// Not a usable ClientHello: ignore it.
    Drop,
}

/// The server front door (RFC 6347 §4.2.1 and RFC 9147 §5.1 cookies): nothing is allocated
/// for a peer until it proves it can receive at its address. With DTLS 1.3 enabled, partial
/// ClientHellos wait in one pool shared by all peers (bounded in bytes, oldest evicted).
#[napi]
pub struct ServerFrontDoor {
    inner: Door,
    /// A HelloVerifyRequest (a 17-byte cookie) and a HelloRetryRequest (its cookie commits to
    /// the ClientHello's hash) are well under 256 bytes. Reused so a flood of ClientHellos allocates only the reply.
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
    /// `Connection`, e.g. `"ip:port"`), for any config; the one to use with DTLS 1.3 enabled.
    #[napi]
    pub fn admit(
        &mut self,
        now: f64,
        peer_address: Either<String, Uint8Array>,
        datagram: &[u8],
    ) -> Result<Admission> {
        let now = millis(now)?;
        let peer: &[u8] = match &peer_address {
            Either::A(s) => s.as_bytes(),
            Either::B(b) => b,
        };
        Ok(
            match self.inner.admit(now, peer, datagram, &mut self.scratch) {
                DoorAdmission::Accept(hello) => Admission::Accept {
                    datagram: Buffer::from(hello.to_vec()),
                },
                DoorAdmission::Reply(n) => Admission::Reply {
                    reply: Buffer::from(self.scratch[..n].to_vec()),
                },
                DoorAdmission::Held => Admission::Held,
                DoorAdmission::Drop => Admission::Drop,
            },
        )
    }

    /// What the ClientHello pool holds now: `{ bytes, entries }`.
    #[napi]
    pub fn pool(&self) -> PoolStats {
        let s = self.inner.pool_stats();
        PoolStats {
            bytes: s.bytes as u32,
            entries: s.entries as u32,
        }
    }

    /// The DTLS 1.2-only classification from the first ClientHello fragment (given a config
    /// with DTLS 1.3 enabled it answers every ClientHello with a HelloVerifyRequest; use
    /// `admit`). Classifies a datagram from `peerAddress` (the same encoding later given to
    /// the `Connection`, e.g. `"ip:port"`).
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
