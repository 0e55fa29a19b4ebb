//! Small types every layer shares. They live here, not in `connection.rs`, so that the
//! handshake machines and the record layer never import the facade that owns them.

/// Which side of the handshake this association plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends the first ClientHello.
    Client,
    /// Answers the peer's ClientHello.
    Server,
}

/// A record epoch. DTLS 1.2 carries 16 bits of it on the wire and DTLS 1.3 two (RFC 9147
/// §4), but both count in a 64-bit space (RFC 9147 §4.2.1), so the engine keeps the full value.
pub type Epoch = u64;
