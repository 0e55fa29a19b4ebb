//! The handshake transcript: the messages both sides hash and sign, and its running hash.
//!
//! The versions differ only in the header each message carries here: DTLS 1.2 hashes the
//! 12-byte DTLS header with fragment fields as if unfragmented (RFC 6347 §4.2.6), DTLS 1.3 the
//! 4-byte TLS header (RFC 9147 §5.2), and after a HelloRetryRequest ClientHello1 is replaced by
//! a synthetic `message_hash` message (RFC 8446 §4.4.1).

use crate::crypto::hash::{HashAlg, RunningHash};
use crate::msgs::enums::HandshakeType;
use crate::msgs::handshake::full_message_header;

/// Which header the messages are hashed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKind {
    /// DTLS 1.2: type, length, message_seq, fragment offset 0 and length = length.
    Dtls12,
    /// DTLS 1.3: type and length only.
    Tls13,
}

/// The raw transcript and, once a reader asked for it, its running hash.
pub struct Transcript {
    kind: HeaderKind,
    bytes: Vec<u8>,
    /// Boxed: it lives only through the handshake, and inline it would add 200 bytes to every
    /// association.
    hasher: Option<Box<RunningHash>>,
}

/// Never shows the messages: they include the peer's certificate and our signatures.
impl std::fmt::Debug for Transcript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcript")
            .field("kind", &self.kind)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Transcript {
    /// An empty transcript. A handshake with two certificates is about 3 KB: one allocation,
    /// not ten.
    pub fn new(kind: HeaderKind) -> Self {
        Transcript {
            kind,
            bytes: Vec::with_capacity(4096),
            hasher: None,
        }
    }

    /// The header the messages are hashed with.
    pub fn kind(&self) -> HeaderKind {
        self.kind
    }

    /// Switches the header format (a client that offered both versions learns which one from
    /// the ServerHello); only valid while the transcript holds nothing a header depends on
    /// beyond the messages given again through `add`.
    pub fn set_kind(&mut self, kind: HeaderKind) {
        self.kind = kind;
    }

    /// Appends one whole message.
    pub fn add(&mut self, msg_type: HandshakeType, msg_seq: u16, body: &[u8]) {
        let h12 = full_message_header(msg_type, msg_seq, body.len());
        let header: &[u8] = match self.kind {
            HeaderKind::Dtls12 => &h12,
            // The TLS header is the DTLS one without message_seq and the fragment fields.
            HeaderKind::Tls13 => &h12[..4],
        };
        self.bytes.extend_from_slice(header);
        self.bytes.extend_from_slice(body);
        if let Some(h) = &mut self.hasher {
            h.update(header);
            h.update(body);
        }
    }

    /// Everything so far, as signed by a DTLS 1.2 CertificateVerify.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Starts over (after a HelloVerifyRequest, RFC 6347 §4.2.6).
    pub fn reset(&mut self) {
        self.bytes.clear();
        self.hasher = None;
    }

    /// Replaces everything so far (ClientHello1) by `message_hash` of it (RFC 8446 §4.4.1).
    pub fn replace_with_message_hash(&mut self, alg: HashAlg) {
        let digest = alg.hash(&self.bytes);
        self.bytes.clear();
        self.hasher = None;
        self.bytes.push(HandshakeType::MessageHash.get());
        self.bytes.extend_from_slice(&[0, 0, digest.len() as u8]);
        self.bytes.extend_from_slice(&digest);
    }

    /// The hash of the transcript so far. The first call hashes it whole; from then on each
    /// message is hashed once as it is added, instead of once per reader.
    pub fn hash(&mut self, alg: HashAlg) -> Vec<u8> {
        match &self.hasher {
            Some(h) if h.alg() == alg => {}
            _ => self.hasher = Some(Box::new(RunningHash::new(alg, &self.bytes))),
        }
        self.hasher
            .as_ref()
            .map(|h| h.current().as_ref().to_vec())
            .unwrap_or_default()
    }

    /// Frees the memory once the handshake is over: the transcript is never read again.
    pub fn release(&mut self) {
        self.bytes = Vec::new();
        self.hasher = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_per_version_and_message_hash() {
        let mut t12 = Transcript::new(HeaderKind::Dtls12);
        t12.add(HandshakeType::ClientHello, 3, b"abc");
        assert_eq!(
            t12.bytes(),
            [1, 0, 0, 3, 0, 3, 0, 0, 0, 0, 0, 3, b'a', b'b', b'c']
        );
        let mut t13 = Transcript::new(HeaderKind::Tls13);
        t13.add(HandshakeType::ClientHello, 3, b"abc");
        assert_eq!(t13.bytes(), [1, 0, 0, 3, b'a', b'b', b'c']);
        let ch1 = HashAlg::Sha256.hash(t13.bytes());
        let running = t13.hash(HashAlg::Sha256);
        assert_eq!(running, ch1);
        t13.replace_with_message_hash(HashAlg::Sha256);
        assert_eq!(&t13.bytes()[..4], &[254, 0, 0, 32]);
        assert_eq!(&t13.bytes()[4..], &ch1[..]);
        t13.add(HandshakeType::ServerHello, 0, b"x");
        assert_eq!(t13.hash(HashAlg::Sha256), HashAlg::Sha256.hash(t13.bytes()));
    }
}
