//! Counters for monitoring, read with `Connection::stats()`.

use crate::event::Negotiated;

/// Why incoming records were dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DropCounts {
    /// Truncated or undecodable records, handshake fragments or alerts.
    pub malformed: u64,
    /// Failed AEAD authentication.
    pub auth_failed: u64,
    /// Seen before, or left of the replay window.
    pub replayed: u64,
    /// An epoch we have no keys for, or a wrong record version.
    pub bad_epoch: u64,
    /// Plaintext (epoch 0) application data, or data in a state that allows none.
    pub unexpected: u64,
    /// Handshake fragments the reassembler refused (inconsistent, conflicting, too large...).
    pub reassembly: u64,
    /// A bounded queue was full.
    pub overflow: u64,
    /// ClientHellos without a valid cookie (answered with HelloVerifyRequest).
    pub cookie: u64,
}

/// A snapshot of one association's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams handed in, junk included.
    pub datagrams_in: u64,
    /// Datagrams handed out (`poll_transmit`, `seal_into`).
    pub datagrams_out: u64,
    /// Records parsed from incoming datagrams, dropped ones included.
    pub records_in: u64,
    /// Records sealed: handshake, alerts and application data.
    pub records_out: u64,
    /// Bytes of all incoming datagrams.
    pub bytes_in: u64,
    /// Bytes of all outgoing datagrams.
    pub bytes_out: u64,
    /// Incoming records dropped, by reason.
    pub dropped: DropCounts,
    /// Flights sent again (timer or peer retransmission).
    pub retransmissions: u64,
    /// HelloVerifyRequests this server sent (the front door's own replies are not counted here;
    /// a client counts none).
    pub hello_verify_requests: u64,
    /// DTLS 1.3 ACK records sent (RFC 9147 §7).
    pub acks_sent: u64,
    /// DTLS 1.3 KeyUpdates that took effect for our sending keys (RFC 9147 §8).
    pub key_updates: u64,
    /// Handshake start, on the caller's clock.
    pub handshake_started_ms: u64,
    /// Milliseconds from start to completion, once complete.
    pub handshake_duration_ms: Option<u64>,
    /// What the handshake negotiated, once complete.
    pub negotiated: Option<Negotiated>,
}

impl DropCounts {
    /// All drops together.
    pub fn total(&self) -> u64 {
        self.malformed
            + self.auth_failed
            + self.replayed
            + self.bad_epoch
            + self.unexpected
            + self.reassembly
            + self.overflow
            + self.cookie
    }
}
